// The deliberately naive reference evaluator. It shares only the AST and the regex translation with
// the compiled matcher: JSON is read into full RapidJSON DOMs, fields are found with a plain
// character loop, and every rule of filter-patterns.md is written out again, the slow and obvious
// way. Tests run both on generated and real inputs and demand the same answer.
#include "pattern/huge_numbers.hpp"
#include <cwfilter/pattern.hpp>

#include "regex/cw_regex.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <re2/re2.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace cwfilter::reference {

namespace {

bool is_number_text(const std::string& t) {
  // [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?
  std::size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) i++;
  std::size_t a = i;
  while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) i++;
  bool int_part = i > a;
  if (i < t.size() && t[i] == '.') {
    i++;
    std::size_t b = i;
    while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) i++;
    if (i == b) return false;
  } else if (!int_part) {
    return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    i++;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) i++;
    std::size_t c = i;
    while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) i++;
    if (i == c) return false;
  }
  return i == t.size();
}

bool wildcard_equal(const std::string& pattern, const std::string& s) {
  if (pattern == "*") return true;
  bool lead = pattern.size() >= 2 && pattern[0] == '*';
  bool trail = pattern.size() >= 2 && pattern[pattern.size() - 1] == '*';
  std::string core = pattern.substr(lead ? 1 : 0, pattern.size() - (lead ? 1 : 0) - (trail ? 1 : 0));
  if (lead && trail) return s.find(core) != std::string::npos;
  if (lead) return s.size() >= core.size() && s.compare(s.size() - core.size(), core.size(), core) == 0;
  if (trail) return s.rfind(core, 0) == 0;
  return s == core;
}

bool regex_search(const std::string&, const ast::Value& v, const std::string& subject, ErrorContext ctx) {
  // Translate the body on its own ("%body%"): offsets only matter for errors, which the parser
  // has already excluded.
  std::string alone = "%" + v.text + "%";
  auto t = detail::translate_regex(alone, 1, v.text.size(), ctx);
  if (!t.ok()) return false;
  RE2 re(t.value(), detail::regex_options());
  return RE2::PartialMatch(subject, re);
}

// One comparison between a value given as text (plus "is it a number" info) and a pattern value.
bool compare(const std::string& whole, ast::CmpOp op, const ast::Value& v, const std::string& text,
             bool text_is_number, ErrorContext ctx) {
  if (v.kind == ast::Value::Kind::kRegex) {
    bool r = regex_search(whole, v, text, ctx);
    return op == ast::CmpOp::kNe ? !r : r;
  }
  if (v.kind == ast::Value::Kind::kString) {
    bool r = wildcard_equal(v.text, text);
    return op == ast::CmpOp::kNe ? !r : r;
  }
  if (text_is_number) {
    double a = std::strtod(text.c_str(), nullptr);
    double b = v.number;
    if (op == ast::CmpOp::kEq) return a == b;
    if (op == ast::CmpOp::kNe) return a != b;
    if (op == ast::CmpOp::kLt) return a < b;
    if (op == ast::CmpOp::kLe) return a <= b;
    if (op == ast::CmpOp::kGt) return a > b;
    return a >= b;
  }
  if (op == ast::CmpOp::kEq) return text == v.text;
  if (op == ast::CmpOp::kNe) return text != v.text;
  return false;
}

// ---- JSON -------------------------------------------------------------------------------------
struct Pair {
  const rapidjson::Value* typed;   // from the normal DOM
  const rapidjson::Value* lexical; // same node, numbers kept as strings
};

// Nesting depth counts containers only (`{"a":1}` is 1 deep, `{"a":[1]}` 2), as JsonEvent does.
std::size_t depth_of(const rapidjson::Value& v, std::size_t limit, std::size_t d = 1) {
  if (!v.IsObject() && !v.IsArray()) return d - 1;
  if (d > limit) return d;
  std::size_t m = d;
  if (v.IsObject())
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) m = std::max(m, depth_of(it->value, limit, d + 1));
  if (v.IsArray())
    for (auto& e : v.GetArray()) m = std::max(m, depth_of(e, limit, d + 1));
  return m;
}

void resolve(Pair at, const std::vector<ast::Step>& steps, std::size_t i, std::vector<Pair>& out) {
  if (i == steps.size()) {
    out.push_back(at);
    return;
  }
  const ast::Step& s = steps[i];
  if (s.kind == ast::Step::Kind::kMember) {
    if (!at.typed->IsObject()) return;
    int found = -1, k = 0;
    for (auto it = at.typed->MemberBegin(); it != at.typed->MemberEnd(); ++it, ++k)
      if (std::string(it->name.GetString(), it->name.GetStringLength()) == s.name) found = k;
    if (found < 0) return;
    resolve({&(at.typed->MemberBegin() + found)->value, &(at.lexical->MemberBegin() + found)->value}, steps, i + 1, out);
  } else if (s.kind == ast::Step::Kind::kIndex) {
    if (!at.typed->IsArray() || s.index >= at.typed->Size()) return;
    resolve({&(*at.typed)[static_cast<rapidjson::SizeType>(s.index)],
             &(*at.lexical)[static_cast<rapidjson::SizeType>(s.index)]}, steps, i + 1, out);
  } else if (s.kind == ast::Step::Kind::kAnyIndex) {
    if (!at.typed->IsArray()) return;
    for (rapidjson::SizeType j = 0; j < at.typed->Size(); ++j)
      resolve({&(*at.typed)[j], &(*at.lexical)[j]}, steps, i + 1, out);
  } else {
    if (!at.typed->IsObject()) return;
    int k = 0;
    for (auto it = at.typed->MemberBegin(); it != at.typed->MemberEnd(); ++it, ++k) {
      bool later_duplicate = false;
      for (auto jt = it + 1; jt != at.typed->MemberEnd(); ++jt)
        if (jt->name == it->name) later_duplicate = true;
      if (!later_duplicate) resolve({&it->value, &(at.lexical->MemberBegin() + k)->value}, steps, i + 1, out);
    }
  }
}

bool eval_condition(const std::string& whole, const ast::JsonCondition& c, Pair root, ErrorContext ctx) {
  std::vector<Pair> nodes;
  resolve(root, c.selector.steps, 0, nodes);
  if (c.kind == ast::JsonCondition::Kind::kNotExists) return nodes.empty();
  for (const Pair& p : nodes) {
    const rapidjson::Value& v = *p.typed;
    bool ok = false;
    if (c.kind == ast::JsonCondition::Kind::kIsNull) ok = v.IsNull();
    else if (c.kind == ast::JsonCondition::Kind::kIsTrue) ok = v.IsBool() && v.GetBool();
    else if (c.kind == ast::JsonCondition::Kind::kIsFalse) ok = v.IsBool() && !v.GetBool();
    else if (v.IsString()) ok = compare(whole, c.op, c.value, std::string(v.GetString(), v.GetStringLength()), false, ctx);
    else if (v.IsNumber())
      ok = compare(whole, c.op, c.value, std::string(p.lexical->GetString(), p.lexical->GetStringLength()),
                   c.value.kind == ast::Value::Kind::kNumber, ctx);
    else if (v.IsBool()) ok = compare(whole, c.op, c.value, v.GetBool() ? "true" : "false", false, ctx);
    if (ok) return true;
  }
  return false;
}

bool eval_expr(const std::string& whole, const ast::JsonExpr& e, Pair root, ErrorContext ctx) {
  if (e.kind == ast::JsonExpr::Kind::kCondition) return eval_condition(whole, e.condition, root, ctx);
  bool is_and = e.kind == ast::JsonExpr::Kind::kAnd;
  for (const auto& c : e.children) {
    bool r = eval_expr(whole, c, root, ctx);
    if (is_and && !r) return false;
    if (!is_and && r) return true;
  }
  return is_and;
}

// ---- space-delimited --------------------------------------------------------------------------
struct Field {
  std::string value;
  std::size_t start, stop;  // raw extent
};

std::vector<Field> split(const std::string& m) {
  std::vector<Field> out;
  std::size_t i = 0;
  while (i < m.size()) {
    if (m[i] == ' ' || m[i] == '\t') {
      i++;
      continue;
    }
    Field f;
    f.start = i;
    if (m[i] == '"' || m[i] == '[') {
      char close = m[i] == '"' ? '"' : ']';
      std::size_t j = i + 1;
      while (j < m.size() && m[j] != close) j++;
      f.value = m.substr(i + 1, j - i - 1);
      f.stop = j < m.size() ? j + 1 : j;
      i = f.stop;
    } else {
      std::size_t j = i;
      while (j < m.size() && m[j] != ' ' && m[j] != '\t') j++;
      f.value = m.substr(i, j - i);
      f.stop = j;
      i = j;
    }
    out.push_back(f);
  }
  return out;
}

bool field_ok(const std::string& whole, const ast::Field& f, const std::string& value, ErrorContext ctx) {
  if (f.any_of.empty()) return true;
  bool numeric = is_number_text(value);
  for (const auto& conj : f.any_of) {
    bool all = true;
    for (const auto& c : conj) all = all && compare(whole, c.op, c.value, value, numeric && c.value.kind == ast::Value::Kind::kNumber, ctx);
    if (all) return true;
  }
  return false;
}

}  // namespace

MatchResult match(const ast::Pattern& pattern, std::string_view message_view, const Options& options) {
  MatchResult r;
  std::string message(message_view);
  if (message.size() > options.max_event_bytes) return r;
  std::string whole;  // unused by the naive evaluator; kept for the helpers' signatures
  ErrorContext ctx = options.error_context;

  if (std::holds_alternative<ast::MatchAll>(pattern)) {
    r.matched = true;
  } else if (auto* t = std::get_if<ast::TermPattern>(&pattern)) {
    std::vector<const ast::Term*> req, exc, opt;
    for (const auto& term : t->terms)
      (term.kind == ast::Term::Kind::kRequired ? req : term.kind == ast::Term::Kind::kExcluded ? exc : opt).push_back(&term);
    auto occurs = [&](const ast::Term* term) {
      bool blank = term->quoted && term->text.find_first_not_of(" \t") == std::string::npos;
      return blank || message.find(term->text) != std::string::npos;
    };
    if (!req.empty() || !exc.empty()) {
      r.matched = true;
      for (auto* x : req) r.matched = r.matched && occurs(x);
      for (auto* x : exc) r.matched = r.matched && !occurs(x);
    } else {
      for (auto* x : opt) r.matched = r.matched || occurs(x);
    }
  } else if (auto* rx = std::get_if<ast::RegexPattern>(&pattern)) {
    ast::Value v{ast::Value::Kind::kRegex, rx->body, 0, false, 1};
    r.matched = regex_search(whole, v, message, ctx);
  } else if (auto* j = std::get_if<ast::JsonPattern>(&pattern)) {
    if (message.find('\0') != std::string::npos) return r;
    // The two DOMs of the last message are kept per thread: tests that run many patterns over
    // one event then parse it once. (A cache only; every evaluation still walks the full DOM.)
    struct LastEvent {
      std::string message;
      std::size_t depth_limit = 0;
      bool usable = false;
      rapidjson::Document typed, lexical;
      std::string lexical_buffer;  // in-situ text of `lexical` when the event holds huge numbers
    };
    thread_local LastEvent last;
    if (last.message != message || last.depth_limit != options.max_json_depth || last.message.empty()) {
      last.message = message;
      last.depth_limit = options.max_json_depth;
      // Parse(str) reads to the terminating NUL (the message has none before it). Not
      // Parse(str, length): its UTF-8 memory stream drops a leading 0xEF, 0xBB and 0xBF one by one
      // (RapidJSON's BOM skip), so "\xBB{...}" would parse, where the engine reads the message's
      // bytes as they are and sees no JSON object.
      last.typed.Parse<rapidjson::kParseIterativeFlag>(message.c_str());
      last.lexical.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(message.c_str());
      if (last.typed.GetParseError() == rapidjson::kParseErrorNumberTooBig) {
        // 1e400 (huge_numbers.hpp): the typed DOM of a copy with in-range numbers gives the
        // types; the lexical DOM is parsed in situ from such a copy and gets its original
        // lexemes back (the comparisons read numbers from their lexemes).
        std::string copy = message;
        const auto replaced = detail::neutralise_huge_numbers(copy);
        last.typed.Parse<rapidjson::kParseIterativeFlag>(copy.c_str());
        last.lexical_buffer = copy;
        last.lexical.ParseInsitu<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(
            last.lexical_buffer.data());
        detail::restore_huge_numbers(last.lexical_buffer.data(), replaced);
      }
      last.usable = !last.typed.HasParseError() && last.typed.IsObject() && !last.lexical.HasParseError() &&
                    depth_of(last.typed, options.max_json_depth) <= options.max_json_depth;
    }
    if (!last.usable) return r;
    r.matched = eval_expr(whole, j->root, Pair{&last.typed, &last.lexical}, ctx);
  } else if (auto* s = std::get_if<ast::SpacePattern>(&pattern)) {
    std::vector<Field> tokens = split(message);
    std::vector<std::pair<std::string, std::string>> values;
    auto key = [](const ast::Field* f, std::size_t pos) {
      return f && !f->name.empty() ? "$" + f->name : fmt::format("${}", pos);
    };
    bool ok = true;
    if (s->fields.empty()) {
      for (std::size_t i = 0; i < tokens.size(); i++) values.emplace_back(key(nullptr, i + 1), tokens[i].value);
    } else {
      int ellipsis = -1;
      for (std::size_t i = 0; i < s->fields.size(); i++)
        if (s->fields[i].ellipsis) ellipsis = static_cast<int>(i);
      std::size_t k = s->fields.size() - (ellipsis >= 0 ? 1 : 0);
      if (tokens.size() < k) return r;
      if (ellipsis < 0 && options.exact_field_count && tokens.size() != k) return r;
      // assignment[i] = the pattern field for token i (nullptr: covered by the ellipsis)
      std::vector<const ast::Field*> assignment(tokens.size(), nullptr);
      if (ellipsis < 0) {
        for (std::size_t i = 0; i < k; i++) assignment[i] = &s->fields[i];
        std::string last = tokens.size() == k ? tokens[k - 1].value
                                              : message.substr(tokens[k - 1].start, tokens.back().stop - tokens[k - 1].start);
        for (std::size_t i = 0; i + 1 < k; i++) {
          ok = ok && field_ok(whole, s->fields[i], tokens[i].value, ctx);
          values.emplace_back(key(&s->fields[i], i + 1), tokens[i].value);
        }
        ok = ok && field_ok(whole, s->fields[k - 1], last, ctx);
        values.emplace_back(key(&s->fields[k - 1], k), last);
      } else {
        std::size_t e = static_cast<std::size_t>(ellipsis);
        std::size_t after = k - e;
        for (std::size_t i = 0; i < tokens.size(); i++) {
          const ast::Field* f = nullptr;
          if (i < e) f = &s->fields[i];
          else if (i >= tokens.size() - after) f = &s->fields[e + 1 + (i - (tokens.size() - after))];
          if (f) ok = ok && field_ok(whole, *f, tokens[i].value, ctx);
          values.emplace_back(key(f, i + 1), tokens[i].value);
        }
      }
    }
    r.matched = ok;
    if (ok) r.extracted_values = std::move(values);
  }
  return r;
}

}  // namespace cwfilter::reference
