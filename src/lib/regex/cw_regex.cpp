// Translation of CloudWatch's `%regex%` dialect to RE2. The dialect and every decision taken where
// AWS is silent are listed in cw_regex.hpp; filter-patterns.md §5, §9 A9 and DECISIONS 8 are the spec.
// The syntax, the character set included, is grammar::regex (grammar/cwfilter/grammar.hpp); the
// actions below translate what it accepts and make the checks a grammar cannot (repetition and
// range order); messages are in regex_grammar_errors.hpp.
#include "regex/cw_regex.hpp"

#include "pattern/errors.hpp"
#include "regex/regex_grammar_errors.hpp"

#include <cwfilter/grammar.hpp>
#include <fmt/format.h>
#include <tao/pegtl.hpp>

#include <algorithm>
#include <memory>
#include <optional>

namespace cwfilter::detail {

namespace {

namespace pegtl = tao::pegtl;
namespace rg = cwfilter::grammar::regex;

constexpr std::string_view kInvalidCharacterMessage = "Invalid character(s) in term";

unsigned hex_value(unsigned char c) {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

// A literal character written into RE2 syntax outside a class.
void append_literal(std::string& out, unsigned char c) {
  if (std::string_view("\\.+*?()|[]{}^$").find(static_cast<char>(c)) != std::string_view::npos) {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < 0x20 || c >= 0x7F) {
    out += fmt::format("\\x{:02X}", c);
  } else {
    out += static_cast<char>(c);
  }
}

// A literal character written into RE2 syntax inside a class.
void append_class_literal(std::string& out, unsigned char c) {
  if (regex_is_alnum(c) || c == '_' || c == ' ') {
    out += static_cast<char>(c);
  } else if (c < 0x20 || c >= 0x7F) {
    out += fmt::format("\\x{:02X}", c);
  } else {  // ASCII punctuation: RE2 accepts a backslash before any of it
    out += '\\';
    out += static_cast<char>(c);
  }
}

// Thrown inside the parse only (PEGTL's must<> raises); translate_and_compile turns it into a
// CompileError. `offset` is relative to the body.
struct RegexFailure {
  ErrorCode code;
  std::ptrdiff_t offset;
  std::string reason;
};

struct TranslateState {
  const char* body_begin = nullptr;
  std::string out;
  std::ptrdiff_t offset_of(const char* p) const { return p - body_begin; }
};

template <typename Rule>
struct control : pegtl::normal<Rule> {
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input& in, States&&... st) {
    const TranslateState& state = std::get<0>(std::tie(st...));
    std::string_view rest(in.current(), static_cast<std::size_t>(in.end() - in.current()));
    RegexMessage m = regex_message<Rule>(rest);
    throw RegexFailure{m.code, state.offset_of(in.current()) + m.shift, std::move(m.reason)};
  }
};

// One escape or character as written in a class or at the top level (text begins at it).
struct Item {
  char set = 0;         // 'd', 'D', 'w', 'W', 's', 'S' for a class escape
  unsigned value = 0;   // the character otherwise
  bool hex = false;     // written \xhh
  std::size_t length = 1;
};
Item read_item(std::string_view text) {
  Item item;
  if (text[0] != '\\') {
    item.value = static_cast<unsigned char>(text[0]);
    return item;
  }
  const char e = text[1];
  item.length = 2;
  if (std::string_view("dDwWsS").find(e) != std::string_view::npos) {
    item.set = e;
  } else if (e == 'x') {
    item.hex = true;
    item.length = 4;
    item.value = hex_value(static_cast<unsigned char>(text[2])) * 16 + hex_value(static_cast<unsigned char>(text[3]));
  } else {
    item.value = static_cast<unsigned char>(e);
  }
  return item;
}

// \s is [\t\n\v\f\r ] (see cw_regex.hpp), \d \D \w \W are RE2's own.
std::string set_text(char set, bool in_class) {
  if (set == 's') return in_class ? "[:space:]" : "[[:space:]]";
  if (set == 'S') return in_class ? "[:^space:]" : "[[:^space:]]";
  return std::string("\\") + set;
}

template <typename Rule>
struct action : pegtl::nothing<Rule> {};

template <>
struct action<rg::literal> {
  template <typename Input>
  static void apply(const Input& in, TranslateState& s) {
    append_literal(s.out, static_cast<unsigned char>(*in.begin()));
  }
};
template <>
struct action<rg::dot> {
  static void apply0(TranslateState& s) { s.out += '.'; }
};
template <>
struct action<rg::caret> {
  static void apply0(TranslateState& s) { s.out += '^'; }
};
template <>
struct action<rg::dollar> {
  static void apply0(TranslateState& s) { s.out += '$'; }
};
template <>
struct action<rg::alternation> {
  static void apply0(TranslateState& s) { s.out += '|'; }
};
template <>
struct action<rg::escape> {
  template <typename Input>
  static void apply(const Input& in, TranslateState& s) {
    const std::string_view text = in.string_view();
    const Item item = read_item(text);
    if (item.set)
      s.out += set_text(item.set, false);
    else if (item.hex)
      s.out += text;  // keep \xhh as written
    else
      append_literal(s.out, static_cast<unsigned char>(item.value));
  }
};
template <>
struct action<rg::simple_quantifier> {
  template <typename Input>
  static void apply(const Input& in, TranslateState& s) {
    s.out += *in.begin();
  }
};
template <>
struct action<rg::lazy> {
  static void apply0(TranslateState& s) { s.out += '?'; }
};
template <>
struct action<rg::brace> {
  template <typename Input>
  static void apply(const Input& in, TranslateState& s) {
    const BraceForm b = read_brace(in.string_view());
    if (b.problem) throw RegexFailure{ErrorCode::kRegexSyntax, s.offset_of(in.begin()), *b.problem};
    if (!b.comma)
      s.out += fmt::format("{{{}}}", *b.min);
    else if (!b.max)
      s.out += fmt::format("{{{},}}", *b.min);
    else
      s.out += fmt::format("{{{},{}}}", b.min.value_or(0), *b.max);  // {,n} = {0,n} (DECISIONS 8)
  }
};
template <>
struct action<rg::class_open> {
  static void apply0(TranslateState& s) { s.out += '['; }
};
template <>
struct action<rg::class_negate> {
  static void apply0(TranslateState& s) { s.out += '^'; }
};
template <>
struct action<rg::class_close> {
  static void apply0(TranslateState& s) { s.out += ']'; }
};
template <>
struct action<rg::class_member> {
  static void append(std::string& out, const Item& item, std::string_view text) {
    if (item.set)
      out += set_text(item.set, true);
    else if (item.hex)
      out += text.substr(0, 4);
    else
      append_class_literal(out, static_cast<unsigned char>(item.value));
  }
  template <typename Input>
  static void apply(const Input& in, TranslateState& s) {
    const std::string_view text = in.string_view();
    const Item lo = read_item(text);
    if (lo.length == text.size()) {
      append(s.out, lo, text);
      return;
    }
    const std::string_view hi_text = text.substr(lo.length + 1);  // after the '-'
    const Item hi = read_item(hi_text);
    if (lo.set || hi.set)
      throw RegexFailure{ErrorCode::kRegexSyntax, s.offset_of(in.begin()) + static_cast<std::ptrdiff_t>(lo.length),
                         class_range_at_set(text)};
    if (lo.value > hi.value)
      throw RegexFailure{ErrorCode::kRegexSyntax, s.offset_of(in.begin()), class_range_out_of_order(text)};
    append(s.out, lo, text);
    s.out += '-';
    append(s.out, hi, hi_text);
  }
};

}  // namespace

RE2::Options regex_options() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_case_sensitive(true);
  options.set_dot_nl(false);        // '.' never matches '\n' (DECISIONS 8)
  options.set_never_nl(false);      // but \s, [^a] and \x0A may
  options.set_posix_syntax(false);  // Perl classes \d \w \s; ^ $ are whole-text anchors
  options.set_longest_match(false);
  options.set_literal(false);
  options.set_never_capture(true);  // the dialect has no groups
  options.set_log_errors(false);    // errors are reported as values
  return options;
}

namespace {

// Translation plus the compiled program that proves it is valid.
struct Translated {
  std::string text;
  std::shared_ptr<const RE2> program;
};

Result<Translated, CompileError> translate_and_compile(std::string_view pattern, std::size_t body_offset,
                                                       std::size_t body_length, ErrorContext context) {
  body_offset = std::min(body_offset, pattern.size());
  body_length = std::min(body_length, pattern.size() - body_offset);
  // The body is validated and translated by one parse of grammar::regex::body (with the actions
  // above); every error carries an offset into the whole pattern.
  const std::string_view body = pattern.substr(body_offset, body_length);
  TranslateState state;
  state.body_begin = body.data();
  try {
    pegtl::memory_input<pegtl::tracking_mode::lazy> in(body.data(), body.data() + body.size(), "regex");
    if (!pegtl::parse<rg::body, action, control>(in, state))  // every failure raises; kept as a guard
      return make_error(ErrorCode::kRegexSyntax, pattern, body_offset, "unexpected input", context);
  } catch (const RegexFailure& f) {
    const auto at = static_cast<std::size_t>(
        std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(body_offset) + f.offset));
    if (f.code == ErrorCode::kRegexInvalidCharacter)
      return make_error_with(f.code, pattern, at, kInvalidCharacterMessage, f.reason);
    return make_error(f.code, pattern, at, f.reason, context);
  }
  Translated result;
  result.text = std::move(state.out);
  // The translation should always compile; this catches RE2's own limits (program size).
  auto program = std::make_shared<const RE2>(result.text, regex_options());
  if (!program->ok())
    return make_error(ErrorCode::kRegexSyntax, pattern, body_offset,
                      fmt::format("RE2 rejected the translated expression: {}", program->error()),
                      context);
  result.program = std::move(program);
  return result;
}

}  // namespace

Result<std::string, CompileError> translate_regex(std::string_view pattern, std::size_t body_offset,
                                                  std::size_t body_length, ErrorContext context) {
  auto translated = translate_and_compile(pattern, body_offset, body_length, context);
  if (!translated) return translated.error();
  return std::move(translated.value().text);
}

Result<std::shared_ptr<const RE2>, CompileError> compile_regex(std::string_view pattern,
                                                               std::size_t body_offset,
                                                               std::size_t body_length,
                                                               ErrorContext context) {
  auto translated = translate_and_compile(pattern, body_offset, body_length, context);
  if (!translated) return translated.error();
  return std::move(translated.value().program);
}

}  // namespace cwfilter::detail
