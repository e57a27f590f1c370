// AST -> CompiledPattern, and the compiled matcher (filter-patterns.md §2.2-§2.3, §3.4, §4.3-§4.5, §5).
#include "pattern/compiled.hpp"
#include "pattern/json_event.hpp"
#include "pattern/parser.hpp"
#include "pattern/prefilter.hpp"
#include "pattern/tokenizer.hpp"
#include "regex/cw_regex.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace cwfilter {

using detail::CompiledPattern;

std::string_view to_string(Family family) noexcept {
  switch (family) {
    case Family::kMatchAll: return "match-all";
    case Family::kTerm: return "term";
    case Family::kJson: return "json";
    case Family::kSpaceDelimited: return "space-delimited";
    case Family::kRegex: return "regex";
  }
  return "unknown";
}

namespace detail {

std::shared_ptr<const RE2> compile_validated_regex(std::string_view pattern, std::size_t body_offset,
                                                   std::size_t body_length, ErrorContext context) {
  auto re = compile_regex(pattern, body_offset, body_length, context);
  return re.ok() ? re.value() : nullptr;
}

bool compare_value(ast::CmpOp op, const CompiledValue& v, std::string_view text, const double* numeric) {
  using ast::CmpOp;
  switch (v.kind) {
    case ast::Value::Kind::kRegex: {
      bool found = RE2::PartialMatch(text, *v.re);
      return op == CmpOp::kNe ? !found : found;
    }
    case ast::Value::Kind::kString: {
      bool eq = v.wildcard.matches(text);
      return op == CmpOp::kNe ? !eq : eq;  // relational with strings is rejected by the parser
    }
    case ast::Value::Kind::kNumber: {
      if (numeric) {
        double a = *numeric, b = v.number;
        switch (op) {
          case CmpOp::kEq: return a == b;
          case CmpOp::kNe: return a != b;
          case CmpOp::kLt: return a < b;
          case CmpOp::kLe: return a <= b;
          case CmpOp::kGt: return a > b;
          case CmpOp::kGe: return a >= b;
        }
      }
      // A number literal against text: = / != compare the literal's source text (§3.4 rule 10),
      // relational operators are false.
      if (op == CmpOp::kEq) return text == v.literal;
      if (op == CmpOp::kNe) return text != v.literal;
      return false;
    }
  }
  return false;
}

namespace {

CompiledValue compile_value(const ast::Value& value, const CompiledPattern& cp) {
  CompiledValue v;
  v.kind = value.kind;
  switch (value.kind) {
    case ast::Value::Kind::kString: v.wildcard = WildcardText::from(value.text); break;
    case ast::Value::Kind::kNumber:
      v.literal = value.text;
      v.number = value.number;
      break;
    case ast::Value::Kind::kRegex:
      v.re = compile_validated_regex(cp.source, value.offset, value.text.size(), cp.options.error_context);
      break;
  }
  return v;
}

CompiledJsonNode compile_json(const ast::JsonExpr& e, const CompiledPattern& cp) {
  CompiledJsonNode n;
  n.kind = e.kind;
  if (e.kind == ast::JsonExpr::Kind::kCondition) {
    n.cond_kind = e.condition.kind;
    n.selector = &e.condition.selector;
    n.op = e.condition.op;
    if (n.cond_kind == ast::JsonCondition::Kind::kCompare) n.value = compile_value(e.condition.value, cp);
  } else {
    n.children.reserve(e.children.size());
    for (const auto& c : e.children) n.children.push_back(compile_json(c, cp));
  }
  return n;
}

// ---- evaluation -------------------------------------------------------------------------------

double lexeme_number(std::string_view lexeme) {
  char buf[64];
  if (lexeme.size() < sizeof buf) {
    std::memcpy(buf, lexeme.data(), lexeme.size());
    buf[lexeme.size()] = '\0';
    return std::strtod(buf, nullptr);
  }
  return std::strtod(std::string(lexeme).c_str(), nullptr);
}

bool node_satisfies(const CompiledJsonNode& c, const JsonNode& n) {
  using T = FieldValue::Type;
  using K = ast::JsonCondition::Kind;
  switch (c.cond_kind) {
    case K::kIsNull: return n.type == T::kNull;
    case K::kIsTrue: return n.type == T::kTrue;
    case K::kIsFalse: return n.type == T::kFalse;
    case K::kNotExists: return false;  // handled by the caller
    case K::kCompare: break;
  }
  // §3.4 rules 5 and 7: objects, arrays and null never satisfy a comparison, != included.
  if (n.type == T::kNull || n.type == T::kObject || n.type == T::kArray) return false;
  if (n.type == T::kNumber) {
    double d = lexeme_number(n.text);
    return compare_value(c.op, c.value, n.text, &d);
  }
  return compare_value(c.op, c.value, n.text, nullptr);
}

}  // namespace

bool eval_json(const CompiledJsonNode& c, const JsonEvent& ev) {
  switch (c.kind) {
    case ast::JsonExpr::Kind::kAnd:
      for (const auto& ch : c.children)
        if (!eval_json(ch, ev)) return false;
      return true;
    case ast::JsonExpr::Kind::kOr:
      for (const auto& ch : c.children)
        if (eval_json(ch, ev)) return true;
      return false;
    case ast::JsonExpr::Kind::kCondition: break;
  }
  if (c.cond_kind == ast::JsonCondition::Kind::kNotExists) {
    bool any = false;
    ev.select(*c.selector, [&](std::uint32_t) { any = true; });
    return !any;
  }
  // DECISIONS 9: existential over the selected nodes.
  bool result = false;
  ev.select(*c.selector, [&](std::uint32_t i) {
    if (!result && node_satisfies(c, ev.node(i))) result = true;
  });
  return result;
}

void add_selectors(const CompiledJsonNode& c, SelectorTrie& trie) {
  if (c.kind == ast::JsonExpr::Kind::kCondition) {
    trie.add(*c.selector);
    return;
  }
  for (const auto& ch : c.children) add_selectors(ch, trie);
}

namespace {

bool field_satisfies(const CompiledField& f, std::string_view value) {
  if (f.any_of.empty()) return true;
  auto num = parse_number_literal(value);
  const double* numeric = num ? &*num : nullptr;
  for (const auto& conj : f.any_of) {
    bool all = true;
    for (const auto& c : conj)
      if (!compare_value(c.op, c.value, value, numeric)) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

// Aligns the pattern's fields with the event's tokens (§4.3) and reports each field's value.
// Returns false when the event has too few (or, with exact_field_count, too many) fields.
template <typename OnField>
bool align(const CompiledPattern& cp, std::string_view message, const std::vector<Token>& tokens,
           OnField&& on_field) {
  const std::size_t n = tokens.size(), k = cp.fixed_fields;
  if (cp.fields.empty()) {
    for (std::size_t i = 0; i < n; ++i) on_field(nullptr, i + 1, tokens[i].value);
    return true;
  }
  if (n < k) return false;
  if (cp.ellipsis_index == SIZE_MAX) {
    if (cp.options.exact_field_count && n != k) return false;
    for (std::size_t i = 0; i + 1 < k; ++i) on_field(&cp.fields[i], i + 1, tokens[i].value);
    // DECISIONS 1: the last field absorbs the rest of the line.
    std::string_view last = n == k ? tokens[k - 1].value
                                   : message.substr(tokens[k - 1].begin, tokens[n - 1].end - tokens[k - 1].begin);
    on_field(&cp.fields[k - 1], k, last);
    return true;
  }
  const std::size_t before = cp.ellipsis_index, after = k - before;
  for (std::size_t i = 0; i < before; ++i) on_field(&cp.fields[i], i + 1, tokens[i].value);
  for (std::size_t i = before; i < n - after; ++i) on_field(nullptr, i + 1, tokens[i].value);
  for (std::size_t j = 0; j < after; ++j) {
    std::size_t t = n - after + j;
    on_field(&cp.fields[before + 1 + j], t + 1, tokens[t].value);
  }
  return true;
}

}  // namespace

bool eval_terms(const CompiledPattern& cp, std::string_view m) {
  auto occurs = [&](const CompiledTerm& t) { return t.blank || contains(m, t.text); };
  if (!cp.required.empty() || !cp.excluded.empty()) {
    for (const auto& t : cp.required)
      if (!occurs(t)) return false;
    for (const auto& t : cp.excluded)
      if (occurs(t)) return false;
    return true;  // DECISIONS 3: '?' terms are ignored here
  }
  for (const auto& t : cp.optional)
    if (occurs(t)) return true;
  return cp.optional.empty();
}

bool eval_space(const CompiledPattern& cp, std::string_view message, const std::vector<Token>& tokens) {
  bool ok = true;
  bool aligned = align(cp, message, tokens, [&](const CompiledField* f, std::size_t, std::string_view v) {
    if (ok && f && !field_satisfies(*f, v)) ok = false;
  });
  return aligned && ok;
}

namespace {

struct Scratch {
  JsonEvent json;
  JsonEvent sparse;  // nodes point into the message being matched
  std::vector<Token> tokens;
};
Scratch& scratch() {
  thread_local Scratch s;  // per-thread buffers; the compiled pattern itself is never written
  return s;
}

std::optional<FieldValue> json_ref_value(const JsonEvent& ev, const ast::Selector& sel) {
  std::optional<FieldValue> out;
  ev.select(sel, [&](std::uint32_t i) {
    if (out) return;
    const JsonNode& n = ev.node(i);
    out = FieldValue{n.type, std::string(n.text)};
  });
  return out;
}

}  // namespace

}  // namespace detail

// ---- public API -------------------------------------------------------------------------------

Result<ast::Pattern> parse(std::string_view pattern, const Options& options) {
  return detail::parse_pattern(pattern, options);
}

Result<Pattern> compile(std::string_view pattern, const Options& options) {
  auto parsed = detail::parse_pattern(pattern, options);
  if (!parsed.ok()) return parsed.error();
  auto cp = std::make_shared<CompiledPattern>();
  cp->source = std::string(pattern);
  cp->options = options;
  cp->ast = std::move(parsed.value());
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, ast::MatchAll>) {
          cp->family = Family::kMatchAll;
        } else if constexpr (std::is_same_v<T, ast::TermPattern>) {
          cp->family = Family::kTerm;
          for (const auto& t : node.terms) {
            detail::CompiledTerm ct{t.kind, t.text,
                                    t.quoted && t.text.find_first_not_of(" \t") == std::string::npos};
            auto& bucket = t.kind == ast::Term::Kind::kRequired   ? cp->required
                           : t.kind == ast::Term::Kind::kExcluded ? cp->excluded
                                                                  : cp->optional;
            bucket.push_back(std::move(ct));
          }
        } else if constexpr (std::is_same_v<T, ast::JsonPattern>) {
          cp->family = Family::kJson;
          cp->json = detail::compile_json(node.root, *cp);
        } else if constexpr (std::is_same_v<T, ast::SpacePattern>) {
          cp->family = Family::kSpaceDelimited;
          for (std::size_t i = 0; i < node.fields.size(); ++i) {
            const ast::Field& f = node.fields[i];
            detail::CompiledField cf;
            cf.ellipsis = f.ellipsis;
            if (!f.name.empty()) cf.key = "$" + f.name;
            for (const auto& conj : f.any_of) {
              std::vector<detail::CompiledFieldCondition> cc;
              for (const auto& c : conj) cc.push_back({c.op, detail::compile_value(c.value, *cp)});
              cf.any_of.push_back(std::move(cc));
            }
            if (f.ellipsis) cp->ellipsis_index = i;
            cp->fields.push_back(std::move(cf));
          }
          cp->fixed_fields = cp->fields.size() - (cp->ellipsis_index == SIZE_MAX ? 0 : 1);
        } else {
          cp->family = Family::kRegex;
          cp->regex = detail::compile_validated_regex(cp->source, node.offset, node.body.size(), options.error_context);
        }
      },
      cp->ast);
  cp->prefilter = detail::derive_prefilter(*cp);
  if (cp->family == Family::kJson) detail::add_selectors(cp->json, cp->trie);
  return Pattern(std::move(cp));
}

Family Pattern::family() const noexcept { return impl_->family; }
const std::string& Pattern::source() const noexcept { return impl_->source; }
const ast::Pattern& Pattern::ast() const noexcept { return impl_->ast; }
const Options& Pattern::options() const noexcept { return impl_->options; }

bool Pattern::matches(std::string_view message) const {
  const CompiledPattern& cp = *impl_;
  if (message.size() > cp.options.max_event_bytes) return false;
  switch (cp.family) {
    case Family::kMatchAll: return true;
    case Family::kTerm: return detail::eval_terms(cp, message);
    case Family::kRegex: return RE2::PartialMatch(message, *cp.regex);
    case Family::kJson: {
      if (!cp.prefilter.may_match(message)) return false;
      auto& s = detail::scratch();
      switch (s.sparse.scan_selected(message, cp.trie)) {
        case detail::JsonEvent::ScanResult::kNotObject: return false;
        case detail::JsonEvent::ScanResult::kScanned:
          // Exact for valid JSON; a match still needs the event to be valid JSON as a whole.
          return detail::eval_json(cp.json, s.sparse) && (s.sparse.scanned_valid(cp.options.max_json_depth) ||
                                                          s.json.validate(message, cp.options.max_json_depth));
        case detail::JsonEvent::ScanResult::kUnsure: break;
      }
      return s.json.parse(message, cp.options.max_json_depth) && detail::eval_json(cp.json, s.json);
    }
    case Family::kSpaceDelimited: {
      if (!cp.prefilter.may_match(message)) return false;
      auto& s = detail::scratch();
      detail::tokenize(message, s.tokens);
      return detail::eval_space(cp, message, s.tokens);
    }
  }
  return false;
}

MatchResult Pattern::match(std::string_view message) const {
  MatchResult r;
  const CompiledPattern& cp = *impl_;
  if (cp.family != Family::kSpaceDelimited || message.size() > cp.options.max_event_bytes) {
    r.matched = matches(message);
    return r;
  }
  if (!cp.prefilter.may_match(message)) return r;
  auto& s = detail::scratch();
  detail::tokenize(message, s.tokens);
  bool ok = true;
  bool aligned = detail::align(cp, message, s.tokens,
                               [&](const detail::CompiledField* f, std::size_t pos, std::string_view v) {
                                 if (ok && f && !detail::field_satisfies(*f, v)) ok = false;
                                 std::string key = f && !f->key.empty() ? f->key : fmt::format("${}", pos);
                                 r.extracted_values.emplace_back(std::move(key), std::string(v));
                               });
  r.matched = aligned && ok;
  if (!r.matched) r.extracted_values.clear();
  return r;
}

bool Pattern::match_and_resolve(std::string_view message, std::span<const FieldRef> refs,
                                std::vector<std::optional<FieldValue>>& values) const {
  const CompiledPattern& cp = *impl_;
  values.assign(refs.size(), std::nullopt);
  if (cp.family == Family::kJson) {
    if (message.size() > cp.options.max_event_bytes) return false;
    if (!cp.prefilter.may_match(message)) return false;
    auto& s = detail::scratch();
    // The sparse scan settles the common "no match" without building the whole event.
    const auto scan = s.sparse.scan_selected(message, cp.trie);
    if (scan == detail::JsonEvent::ScanResult::kNotObject ||
        (scan == detail::JsonEvent::ScanResult::kScanned && !detail::eval_json(cp.json, s.sparse)))
      return false;
    // Nothing to resolve (a metric filter publishing a literal value without dimensions): the
    // scan's match stands once the event is known to be valid JSON, as in matches().
    if (refs.empty() && scan == detail::JsonEvent::ScanResult::kScanned)
      return s.sparse.scanned_valid(cp.options.max_json_depth) || s.json.validate(message, cp.options.max_json_depth);
    if (!s.json.parse(message, cp.options.max_json_depth) || !detail::eval_json(cp.json, s.json)) return false;
    for (std::size_t i = 0; i < refs.size(); ++i)
      if (refs[i].kind() == FieldRef::Kind::kJsonPath) values[i] = detail::json_ref_value(s.json, refs[i].selector());
    return true;
  }
  if (cp.family == Family::kSpaceDelimited) {
    MatchResult r = match(message);
    if (!r.matched) return false;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].kind() == FieldRef::Kind::kJsonPath) continue;
      for (const auto& [k, v] : r.extracted_values)
        if (k == refs[i].text()) values[i] = FieldValue{FieldValue::Type::kString, v};
    }
    return true;
  }
  return matches(message);
}

Result<FieldRef, Error> FieldRef::parse(std::string_view text) {
  FieldRef ref;
  ref.text_ = std::string(text);
  if (text.size() >= 2 && text[0] == '$' && (text[1] == '.' || text[1] == '[')) {
    // Reuse the JSON grammar: `{ <selector> NOT EXISTS }` parses exactly the selector syntax.
    auto parsed = detail::parse_pattern(fmt::format("{{{} NOT EXISTS}}", text), Options{});
    if (!parsed.ok() || !std::holds_alternative<ast::JsonPattern>(parsed.value()))
      return Error{fmt::format("'{}' is not a valid JSON field reference", text)};
    const auto& root = std::get<ast::JsonPattern>(parsed.value()).root;
    if (root.kind != ast::JsonExpr::Kind::kCondition)
      return Error{fmt::format("'{}' is not a valid JSON field reference", text)};
    ref.selector_ = root.condition.selector;
    if (ref.selector_.has_wildcard())
      return Error{fmt::format("'{}': a field reference cannot contain a wildcard", text)};
    ref.kind_ = Kind::kJsonPath;
    return ref;
  }
  if (text.size() >= 2 && text[0] == '$') {
    std::string_view name = text.substr(1);
    bool digits = true, valid = true;
    for (char c : name) {
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    }
    if (!valid) return Error{fmt::format("'{}' is not a valid field reference", text)};
    if (digits) {
      ref.kind_ = Kind::kPosition;
      ref.position_ = static_cast<std::size_t>(std::strtoull(std::string(name).c_str(), nullptr, 10));
      if (ref.position_ == 0) return Error{fmt::format("'{}': field positions start at $1", text)};
    } else {
      ref.kind_ = Kind::kName;
    }
    return ref;
  }
  return Error{fmt::format("'{}' is not a field reference ($.path, $name or $N)", text)};
}

std::string format_error(std::string_view pattern, const CompileError& error) {
  // Show the line of the pattern that holds the offset, with a caret under it (columns count
  // code points, so the caret lines up under multi-byte characters too).
  std::size_t off = std::min(error.offset, pattern.size());
  std::size_t line_start = pattern.rfind('\n', off == 0 ? 0 : off - 1);
  line_start = (line_start == std::string_view::npos || off == 0) ? 0 : line_start + 1;
  if (off > 0 && pattern[off - 1] == '\n') line_start = off;
  std::size_t line_end = pattern.find('\n', off);
  if (line_end == std::string_view::npos) line_end = pattern.size();
  std::string_view line = pattern.substr(line_start, line_end - line_start);
  std::size_t col = 0;
  for (std::size_t i = line_start; i < off; ++i)
    col += (static_cast<unsigned char>(pattern[i]) & 0xC0) != 0x80;
  std::string caret(col, ' ');
  for (std::size_t i = line_start, c = 0; i < off && c < col; ++i) {
    if (pattern[i] == '\t') caret[c] = '\t';
    c += (static_cast<unsigned char>(pattern[i]) & 0xC0) != 0x80;
  }
  return fmt::format("{}\n  {}\n  {}^", error.message, line, caret);
}

}  // namespace cwfilter
