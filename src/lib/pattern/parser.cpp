// Parsing: family dispatch (filter-patterns.md §1.1), the PEGTL grammar with actions that build the
// AST, and the semantic checks that a grammar cannot express (quotas, one field per compound
// condition, one ellipsis, relational operators need numbers).
#include "pattern/parser.hpp"

#include "pattern/errors.hpp"
#include "pattern/grammar_errors.hpp"
#include "pattern/value_text.hpp"
#include "regex/cw_regex.hpp"

#include <cwfilter/grammar.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace cwfilter::detail {

namespace pegtl = tao::pegtl;
namespace g = cwfilter::grammar;

namespace {

// Thrown inside the parser only; parse() turns it into a CompileError value.
struct GrammarFailure {
  ErrorCode code;
  std::size_t offset;
  std::string reason;
};

// "three" for 3 (the quotas as AWS's documentation words them), digits from ten on.
std::string count_word(std::size_t n) {
  static constexpr const char* kWords[] = {"zero", "one", "two",   "three", "four",
                                           "five", "six", "seven", "eight", "nine"};
  return n < 10 ? kWords[n] : std::to_string(n);
}

struct ParseState {
  std::string_view whole;  // the pattern as given (offsets are relative to it)
  const Options* options = nullptr;

  std::size_t offset_of(const char* p) const { return static_cast<std::size_t>(p - whole.data()); }

  // values under construction
  ast::Value value;
  ast::CmpOp op = ast::CmpOp::kEq;
  std::size_t op_offset = 0;
  std::size_t regex_count = 0;

  // JSON
  ast::Selector selector;
  ast::JsonCondition condition;
  std::vector<ast::JsonExpr> stack;
  std::vector<std::size_t> marks;
  std::size_t depth = 0;
  std::size_t wildcard_selectors = 0;

  // space-delimited
  ast::SpacePattern space;
  ast::Field field;
  std::vector<ast::FieldCondition> conjunction;
  std::string condition_name;
  std::size_t condition_name_offset = 0;

  // terms
  ast::TermPattern terms;
  ast::Term term;
};

template <typename Rule>
struct action : pegtl::nothing<Rule> {};

// Errors: every must<> failure becomes a GrammarFailure with the message of grammar_errors.hpp.
template <typename Rule>
struct control : pegtl::normal<Rule> {
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input& in, States&&... st) {
    const ParseState& state = std::get<0>(std::tie(st...));
    std::string_view rest(in.current(), static_cast<std::size_t>(in.end() - in.current()));
    GrammarMessage m = grammar_message<Rule>(rest);
    throw GrammarFailure{m.code, state.offset_of(in.current()), std::move(m.reason)};
  }
};

// ---- values -----------------------------------------------------------------------------------

template <>
struct action<g::dquoted> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    std::string_view text = in.string_view();
    s.value = ast::Value{};
    s.value.kind = ast::Value::Kind::kString;
    s.value.text = unescape_quoted(text.substr(1, text.size() - 2));
    s.value.quoted = true;
    s.value.offset = s.offset_of(in.begin());
  }
};

template <>
struct action<g::bare_value> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.value = ast::Value{};
    s.value.text = in.string();
    s.value.offset = s.offset_of(in.begin());
    if (auto n = parse_number_literal(s.value.text)) {
      s.value.kind = ast::Value::Kind::kNumber;
      s.value.number = *n;
    } else {
      s.value.kind = ast::Value::Kind::kString;
    }
  }
};

template <>
struct action<g::regex_body> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.value = ast::Value{};
    s.value.kind = ast::Value::Kind::kRegex;
    s.value.text = in.string();
    s.value.offset = s.offset_of(in.begin());
  }
};

template <>
struct action<g::regex_value> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    if (++s.regex_count > s.options->max_regexes)
      throw GrammarFailure{ErrorCode::kTooManyRegexes, s.offset_of(in.begin()),
                           fmt::format("at most {} regular expressions per pattern", s.options->max_regexes)};
    auto translated = translate_regex(s.whole, s.value.offset, s.value.text.size(), s.options->error_context);
    if (!translated.ok()) {
      const CompileError& e = translated.error();
      // Re-thrown with its own message (it already carries the AWS wording).
      throw e;
    }
  }
};

template <ast::CmpOp Op>
struct set_op {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.op = Op;
    s.op_offset = s.offset_of(in.begin());
  }
};
template <> struct action<g::op_eq> : set_op<ast::CmpOp::kEq> {};
template <> struct action<g::op_ne> : set_op<ast::CmpOp::kNe> {};
template <> struct action<g::op_lt> : set_op<ast::CmpOp::kLt> {};
template <> struct action<g::op_le> : set_op<ast::CmpOp::kLe> {};
template <> struct action<g::op_gt> : set_op<ast::CmpOp::kGt> {};
template <> struct action<g::op_ge> : set_op<ast::CmpOp::kGe> {};

// Relational operators compare numbers (§3.1: `{ SELECTOR NUMERIC_OPERATOR NUMBER }`). A quoted
// number is accepted and compared as a number (cwfilter validate warns about it).
void check_relational(ParseState& s) {
  if (s.op == ast::CmpOp::kEq || s.op == ast::CmpOp::kNe) return;
  if (s.value.kind == ast::Value::Kind::kNumber) return;
  if (s.value.kind == ast::Value::Kind::kString && s.value.quoted) {
    if (auto n = parse_number_literal(s.value.text)) {
      s.value.kind = ast::Value::Kind::kNumber;
      s.value.number = *n;
      return;
    }
  }
  throw GrammarFailure{ErrorCode::kRelationalNeedsNumber, s.value.offset,
                       fmt::format("'{}' compares numbers; relational operators require a numeric literal",
                                   ast::to_string(s.op))};
}

// ---- JSON -------------------------------------------------------------------------------------

template <>
struct action<g::json::dollar> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.selector = ast::Selector{};
    s.selector.offset = s.offset_of(in.begin());
  }
};
template <>
struct action<g::json::member_name> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.selector.steps.push_back({ast::Step::Kind::kMember, in.string(), 0});
  }
};
template <>
struct action<g::json::bracket_key_text> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.selector.steps.push_back({ast::Step::Kind::kMember, in.string(), 0});
  }
};

void add_wildcard_step(ParseState& s, ast::Step::Kind kind, std::size_t offset) {
  if (s.selector.has_wildcard())
    throw GrammarFailure{ErrorCode::kTooManyWildcardsInSelector, offset,
                         "at most one wildcard selector per property selector (one $.* or [*] per selector)"};
  s.selector.steps.push_back({kind, {}, 0});
}
template <>
struct action<g::json::any_member> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    add_wildcard_step(s, ast::Step::Kind::kAnyMember, s.offset_of(in.begin()));
  }
};
template <>
struct action<g::json::any_index> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    add_wildcard_step(s, ast::Step::Kind::kAnyIndex, s.offset_of(in.begin()));
  }
};
template <>
struct action<g::json::index_digits> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    std::size_t index = 0;
    auto text = in.string_view();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc() || ptr != text.data() + text.size())
      throw GrammarFailure{ErrorCode::kSyntax, s.offset_of(in.begin()), "array index is too large"};
    s.selector.steps.push_back({ast::Step::Kind::kIndex, {}, index});
  }
};
template <>
struct action<g::json::selector> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.selector.text = in.string();
    if (s.selector.has_wildcard() && ++s.wildcard_selectors > s.options->max_wildcard_selectors)
      throw GrammarFailure{ErrorCode::kTooManyWildcardSelectors, s.selector.offset,
                           fmt::format("at most {} wildcard selectors per filter pattern",
                                       count_word(s.options->max_wildcard_selectors))};
    s.condition = ast::JsonCondition{};
    s.condition.selector = std::move(s.selector);
  }
};
template <>
struct action<g::json::comparison> {
  template <typename Input>
  static void apply(const Input&, ParseState& s) {
    check_relational(s);
    s.condition.kind = ast::JsonCondition::Kind::kCompare;
    s.condition.op = s.op;
    s.condition.value = std::move(s.value);
  }
};
template <>
struct action<g::json::kw_null> {
  static void apply0(ParseState& s) { s.condition.kind = ast::JsonCondition::Kind::kIsNull; }
};
template <>
struct action<g::json::kw_true> {
  static void apply0(ParseState& s) { s.condition.kind = ast::JsonCondition::Kind::kIsTrue; }
};
template <>
struct action<g::json::kw_false> {
  static void apply0(ParseState& s) { s.condition.kind = ast::JsonCondition::Kind::kIsFalse; }
};
template <>
struct action<g::json::kw_exists> {
  static void apply0(ParseState& s) { s.condition.kind = ast::JsonCondition::Kind::kNotExists; }
};
template <>
struct action<g::json::condition> {
  static void apply0(ParseState& s) {
    ast::JsonExpr e;
    e.kind = ast::JsonExpr::Kind::kCondition;
    e.condition = std::move(s.condition);
    s.stack.push_back(std::move(e));
  }
};
template <>
struct action<g::json::lparen> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    if (++s.depth > s.options->max_nesting)
      throw GrammarFailure{ErrorCode::kNestingTooDeep, s.offset_of(in.begin()),
                           fmt::format("parentheses nested deeper than {}", s.options->max_nesting)};
  }
};
template <>
struct action<g::json::rparen> {
  static void apply0(ParseState& s) { --s.depth; }
};
template <>
struct action<g::json::and_mark> {
  static void apply0(ParseState& s) { s.marks.push_back(s.stack.size()); }
};
template <>
struct action<g::json::or_mark> {
  static void apply0(ParseState& s) { s.marks.push_back(s.stack.size()); }
};

void reduce(ParseState& s, ast::JsonExpr::Kind kind) {
  std::size_t mark = s.marks.back();
  s.marks.pop_back();
  if (s.stack.size() - mark < 2) return;
  ast::JsonExpr e;
  e.kind = kind;
  e.children.assign(std::make_move_iterator(s.stack.begin() + static_cast<std::ptrdiff_t>(mark)),
                    std::make_move_iterator(s.stack.end()));
  s.stack.resize(mark);
  s.stack.push_back(std::move(e));
}
template <>
struct action<g::json::and_expr> {
  static void apply0(ParseState& s) { reduce(s, ast::JsonExpr::Kind::kAnd); }
};
template <>
struct action<g::json::expr> {
  static void apply0(ParseState& s) { reduce(s, ast::JsonExpr::Kind::kOr); }
};

// ---- space-delimited --------------------------------------------------------------------------

template <>
struct action<g::space::field_start> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.field = ast::Field{};
    s.field.offset = s.offset_of(in.begin());
    s.conjunction.clear();
  }
};
template <>
struct action<g::space::field_name> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.condition_name = in.string();
    s.condition_name_offset = s.offset_of(in.begin());
  }
};
void finish_space_condition(ParseState& s) {
  check_relational(s);
  if (s.field.any_of.empty() && s.conjunction.empty()) {
    s.field.name = s.condition_name;
  } else if (s.condition_name != s.field.name) {
    throw GrammarFailure{ErrorCode::kCompoundOtherField, s.condition_name_offset,
                         fmt::format("a compound condition may only reference its own field '{}' "
                                     "(found '{}'; field names are case-sensitive)",
                                     s.field.name, s.condition_name)};
  }
  s.conjunction.push_back(ast::FieldCondition{s.op, std::move(s.value)});
}
template <>
struct action<g::space::condition> {
  static void apply0(ParseState& s) { finish_space_condition(s); }
};
template <>
struct action<g::space::more_condition> {
  static void apply0(ParseState& s) { finish_space_condition(s); }
};
template <>
struct action<g::space::or_link> {
  static void apply0(ParseState& s) {
    s.field.any_of.push_back(std::move(s.conjunction));
    s.conjunction.clear();
  }
};
template <>
struct action<g::space::conditions> {
  static void apply0(ParseState& s) {
    s.field.any_of.push_back(std::move(s.conjunction));
    s.conjunction.clear();
  }
};
template <>
struct action<g::space::plain_field> {
  static void apply0(ParseState& s) { s.field.name = s.condition_name; }
};
template <>
struct action<g::space::ellipsis> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    for (const auto& f : s.space.fields)
      if (f.ellipsis)
        throw GrammarFailure{ErrorCode::kMultipleEllipsis, s.offset_of(in.begin()),
                             "more than one ellipsis (at most one '...' per pattern)"};
    s.field.ellipsis = true;
  }
};
template <>
struct action<g::space::field> {
  static void apply0(ParseState& s) { s.space.fields.push_back(std::move(s.field)); }
};

// ---- terms ------------------------------------------------------------------------------------

template <>
struct action<g::term::optional_prefix> {
  static void apply0(ParseState& s) { s.term.kind = ast::Term::Kind::kOptional; }
};
template <>
struct action<g::term::exclude_prefix> {
  static void apply0(ParseState& s) { s.term.kind = ast::Term::Kind::kExcluded; }
};
template <>
struct action<g::term::bare> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    s.term.text = in.string();
    s.term.quoted = false;
  }
};
template <>
struct action<g::term::body> {
  template <typename Input>
  static void apply(const Input& in, ParseState& s) {
    if (in.peek_char() == '"') {
      std::string_view text = in.string_view();
      s.term.text = unescape_quoted(text.substr(1, text.size() - 2));
      s.term.quoted = true;
    }
    s.term.offset = s.offset_of(in.begin());
  }
};
template <>
struct action<g::term::term> {
  static void apply0(ParseState& s) {
    s.terms.terms.push_back(std::move(s.term));
    s.term = ast::Term{};
  }
};

template <typename TopRule>
void run(std::string_view trimmed, ParseState& state) {
  pegtl::memory_input<pegtl::tracking_mode::lazy> in(trimmed.data(), trimmed.data() + trimmed.size(),
                                                     "pattern");
  if (!pegtl::parse<TopRule, action, control>(in, state))
    throw GrammarFailure{ErrorCode::kSyntax, state.offset_of(in.current()), "unexpected input"};
}

// Whether a pattern that starts with '{' but does not end with '}' is a whole JSON pattern followed
// by more text (`{ $.a = 1 } ?ERROR`), rather than an unclosed one.
bool json_then_text(std::string_view trimmed, std::string_view whole, const Options& options) {
  const std::size_t close = trimmed.rfind('}');
  if (close == std::string_view::npos) return false;
  ParseState probe;
  probe.whole = whole;
  probe.options = &options;
  try {
    run<g::json::pattern>(trimmed.substr(0, close + 1), probe);
    return true;
  } catch (const GrammarFailure&) {
  } catch (const CompileError&) {
  } catch (const pegtl::parse_error&) {
  }
  return false;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

Result<ast::Pattern> parse_pattern(std::string_view pattern, const Options& options) {
  // §1.2: the API's length limit, counted in characters (A16), checked before parsing.
  if (count_code_points(pattern) > options.max_pattern_length) {
    std::string aws = fmt::format(
        "1 validation error detected: Value '{}...' at 'filterPattern' failed to satisfy constraint: "
        "Member must have length less than or equal to {}",
        pattern.substr(0, 32), options.max_pattern_length);
    return make_error_with(ErrorCode::kPatternTooLong, pattern, options.max_pattern_length, aws,
                           fmt::format("the pattern has {} characters", count_code_points(pattern)));
  }
  // DECISIONS 11: surrounding whitespace is trimmed before the family is chosen.
  std::size_t b = 0, e = pattern.size();
  while (b < e && is_ascii_space(pattern[b])) ++b;
  while (e > b && is_ascii_space(pattern[e - 1])) --e;
  std::string_view p = pattern.substr(b, e - b);

  ParseState state;
  state.whole = pattern;
  state.options = &options;
  try {
    if (p.empty()) return ast::Pattern{ast::MatchAll{}};
    if (p.front() == '{') {
      if (p.back() != '}')
        return make_error_with(ErrorCode::kMissingClosingBrace, pattern, e,
                               "If a filter pattern starts with '{' it must end with '}'",
                               json_then_text(p, pattern, options)
                                   ? "JSON selectors cannot be combined with text terms"
                                   : "");
      run<g::json::pattern>(p, state);
      return ast::Pattern{ast::JsonPattern{std::move(state.stack.back())}};
    }
    if (p.front() == '[') {
      if (p.back() != ']')
        return make_error(ErrorCode::kMissingClosingBracket, pattern, e,
                          "a pattern that starts with '[' must end with ']'", options.error_context);
      run<g::space::pattern>(p, state);
      // `[]` and `[ ]` parse as one empty field; they mean "no fields".
      if (state.space.fields.size() == 1 && state.space.fields[0].name.empty() &&
          !state.space.fields[0].ellipsis && state.space.fields[0].any_of.empty())
        state.space.fields.clear();
      return ast::Pattern{std::move(state.space)};
    }
    if (p.size() >= 2 && p.front() == '%' && p.back() == '%') {
      ast::RegexPattern r{std::string(p.substr(1, p.size() - 2)), b + 1};
      auto translated = translate_regex(pattern, r.offset, r.body.size(), options.error_context);
      if (!translated.ok()) return translated.error();
      return ast::Pattern{std::move(r)};
    }
    run<g::term::pattern>(p, state);
    if (state.terms.terms.empty()) return ast::Pattern{ast::MatchAll{}};
    return ast::Pattern{std::move(state.terms)};
  } catch (const GrammarFailure& f) {
    return make_error(f.code, pattern, f.offset, f.reason, options.error_context);
  } catch (const CompileError& ce) {
    return ce;
  } catch (const pegtl::parse_error& pe) {
    // Only reachable for a must<> without an entry in grammar_errors.hpp.
    std::size_t off = pe.positions().empty() ? 0 : pe.positions().front().byte + b;
    return make_error(ErrorCode::kSyntax, pattern, off, pe.message(), options.error_context);
  }
}

}  // namespace cwfilter::detail
