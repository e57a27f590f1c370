// Error messages for the must<> points of grammar::regex (grammar/cwfilter/grammar.hpp), kept apart
// from the rules, and for the semantic checks the actions of cw_regex.cpp make. A message is a
// function of the body from the failure point on (`rest`); `shift` moves the reported offset
// relative to that point (an escape is reported at its backslash, '%%' at its opening '%').
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/grammar.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace cwfilter::detail {

struct RegexMessage {
  ErrorCode code = ErrorCode::kRegexSyntax;
  std::string reason;
  std::ptrdiff_t shift = 0;
};

constexpr unsigned kRegexMaxRepeat = 1000;  // RE2 rejects larger counts ("invalid repetition size")

inline bool regex_is_alnum(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Why a byte is not allowed in a regex, with the way to match it anyway.
inline std::string invalid_character_reason(unsigned char c) {
  if (c == '(' || c == ')')
    return fmt::format(
        "'(' and ')' are not supported (parentheses cannot group; use \\x{:02X} to match a literal '{}')",
        c, static_cast<char>(c));
  if (c >= 0x80)
    return fmt::format("byte 0x{:02X} is not supported (multi-byte characters cannot appear in a regex)",
                       c);
  if (c == '\t') return "a tab is not supported (use \\x09, or \\s for any whitespace)";
  if (c == '\n') return "a newline is not supported (use \\x0A, or \\s for any whitespace)";
  if (c == '\r') return "a carriage return is not supported (use \\x0D)";
  if (c < 0x20 || c == 0x7F)
    return fmt::format("control character 0x{:02X} is not supported (use \\x{:02X})", c, c);
  return fmt::format("'{}' is not supported (use \\x{:02X} to match it)", static_cast<char>(c), c);
}

// A '{' at rest[0]: {m} {m,} {,n} {m,n}. `spelled` gets the repetition's text when it is one;
// otherwise the reason it is not (counts are checked first, then the form, then their order).
struct BraceForm {
  std::optional<std::string> problem;
  std::string_view spelled;
  std::optional<unsigned> min, max;
  bool comma = false;
};

inline BraceForm read_brace(std::string_view rest) {
  BraceForm b;
  std::size_t i = 1;
  auto read_number = [&](std::optional<unsigned>& value) -> std::string_view {
    const std::size_t start = i;
    unsigned long long v = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      v = std::min<unsigned long long>(v * 10 + static_cast<unsigned>(rest[i] - '0'), 1u << 30);
      ++i;
    }
    if (i > start) value = static_cast<unsigned>(v);
    return rest.substr(start, i - start);
  };
  constexpr std::string_view kForms =
      "'{' must start a repetition {m}, {m,}, {,n} or {m,n} (escape it as \\{ to match a literal '{')";
  const std::string_view min_digits = read_number(b.min);
  if (b.min && *b.min > kRegexMaxRepeat) {
    b.problem = fmt::format("repetition count {} exceeds {}", min_digits, kRegexMaxRepeat);
    return b;
  }
  if (i < rest.size() && rest[i] == ',') {
    b.comma = true;
    ++i;
    const std::string_view max_digits = read_number(b.max);
    if (b.max && *b.max > kRegexMaxRepeat) {
      b.problem = fmt::format("repetition count {} exceeds {}", max_digits, kRegexMaxRepeat);
      return b;
    }
  }
  if (i >= rest.size() || rest[i] != '}' || (!b.min && !b.max)) {  // {} and {,} too
    b.problem = std::string(kForms);
    return b;
  }
  if (b.min && b.max && *b.min > *b.max) {
    b.problem = fmt::format("repetition {{{},{}}} has its minimum above its maximum", *b.min, *b.max);
    return b;
  }
  b.spelled = rest.substr(0, i + 1);
  return b;
}

// The quantifier at rest[0] as written, or the problem of a malformed '{'.
struct SpelledQuantifier {
  std::optional<std::string> problem;
  std::string spelled;
};
inline SpelledQuantifier spell_quantifier(std::string_view rest) {
  if (rest.empty()) return {std::string("unexpected end of the regular expression"), {}};
  if (rest[0] == '{') {
    BraceForm b = read_brace(rest);
    if (b.problem) return {b.problem, {}};
    return {std::nullopt, std::string(b.spelled)};
  }
  return {std::nullopt, std::string(1, rest[0])};
}

// Where a branch may start (or the body go on) but rest[0] cannot: a quantifier with nothing to
// repeat, an unmatched '}' or ']', a malformed '{'.
inline RegexMessage misplaced(std::string_view rest, std::string_view where) {
  if (!rest.empty() && rest[0] == '}')
    return {ErrorCode::kRegexSyntax, "unmatched '}' (escape it as \\} to match a literal '}')", 0};
  if (!rest.empty() && rest[0] == ']')
    return {ErrorCode::kRegexSyntax, "unmatched ']' (escape it as \\] to match a literal ']')", 0};
  if (!rest.empty() && (rest[0] == '{' || rest[0] == '*' || rest[0] == '+' || rest[0] == '?')) {
    SpelledQuantifier q = spell_quantifier(rest);
    if (q.problem) return {ErrorCode::kRegexSyntax, *q.problem, 0};
    return {ErrorCode::kRegexSyntax, fmt::format("quantifier '{}' has nothing to repeat{}", q.spelled, where), 0};
  }
  return {ErrorCode::kRegexSyntax, "unexpected character in the regular expression", 0};
}

// A quantifier where none may stand: after another quantifier, a lazy '?' or an anchor.
inline RegexMessage repeated(std::string_view rest, std::string_view why) {
  SpelledQuantifier q = spell_quantifier(rest);
  if (q.problem) return {ErrorCode::kRegexSyntax, *q.problem, 0};
  return {ErrorCode::kRegexSyntax, fmt::format("quantifier '{}' {}", q.spelled, why), 0};
}

// A backslash at rest[-1] followed by something other than a supported escape.
inline RegexMessage bad_escape(std::string_view rest) {
  if (rest.empty()) return {ErrorCode::kRegexSyntax, "trailing '\\' escapes nothing", -1};
  const auto e = static_cast<unsigned char>(rest[0]);
  if (e == 'x') return {ErrorCode::kRegexSyntax, "'\\x' must be followed by exactly two hex digits (\\xhh)", -1};
  std::string_view hint;
  switch (e) {
    case 't': hint = " (use \\x09, or \\s for any whitespace)"; break;
    case 'n': hint = " (use \\x0A, or \\s for any whitespace)"; break;
    case 'r': hint = " (use \\x0D)"; break;
    case 'f': hint = " (use \\x0C)"; break;
    case 'v': hint = " (use \\x0B)"; break;
    case 'b':
    case 'B': hint = " (word boundaries are not supported)"; break;
    case 'p':
    case 'P': hint = " (Unicode classes are not supported)"; break;
    default:
      if (e >= '0' && e <= '9') hint = " (back-references and octal escapes are not supported)";
      break;
  }
  return {ErrorCode::kRegexSyntax,
          fmt::format("unsupported escape '\\{}'{}; supported: \\d \\D \\s \\S \\w \\W \\xhh "
                      "and a backslash before an operator or symbol",
                      static_cast<char>(e), hint),
          -1};
}

// Semantic checks of the actions (cw_regex.cpp).
inline std::string class_range_at_set(std::string_view range) {
  return fmt::format("range '{}' cannot start or end at a class escape", range);
}
inline std::string class_range_out_of_order(std::string_view range) {
  return fmt::format("range '{}' is out of order", range);
}

// The message for a failed must<Rule> of grammar::regex; `rest` is the body from the failure point.
template <typename Rule>
RegexMessage regex_message(std::string_view rest) {
  namespace r = cwfilter::grammar::regex;
  if constexpr (std::is_same_v<Rule, r::allowed_end>) {
    return {ErrorCode::kRegexInvalidCharacter, invalid_character_reason(static_cast<unsigned char>(rest[0])), 0};
  } else if constexpr (std::is_same_v<Rule, r::not_empty>) {
    return {ErrorCode::kRegexSyntax, "empty regular expression '%%'", -1};
  } else if constexpr (std::is_same_v<Rule, r::first_branch>) {
    if (!rest.empty() && rest[0] == '|')
      return {ErrorCode::kRegexSyntax, "empty alternative before '|' (it would match every message)", 0};
    return misplaced(rest, "");
  } else if constexpr (std::is_same_v<Rule, r::next_branch>) {
    if (rest.empty())
      return {ErrorCode::kRegexSyntax, "empty alternative after '|' (it would match every message)", -1};
    if (rest[0] == '|')
      return {ErrorCode::kRegexSyntax, "empty alternative between '|' and '|' (it would match every message)", 0};
    return misplaced(rest, " after '|'");
  } else if constexpr (std::is_same_v<Rule, r::body_end>) {
    return misplaced(rest, "");
  } else if constexpr (std::is_same_v<Rule, r::after_quantifier>) {
    if (!rest.empty() && rest[0] == '+')
      return {ErrorCode::kRegexSyntax,
              "quantifier '+' follows another quantifier (possessive quantifiers are not supported)", 0};
    return repeated(rest, "follows another quantifier");
  } else if constexpr (std::is_same_v<Rule, r::after_lazy>) {
    return repeated(rest, "follows another quantifier");
  } else if constexpr (std::is_same_v<Rule, r::after_caret>) {
    return repeated(rest, "cannot repeat the anchor '^'");
  } else if constexpr (std::is_same_v<Rule, r::after_dollar>) {
    return repeated(rest, "cannot repeat the anchor '$'");
  } else if constexpr (std::is_same_v<Rule, r::escape_body>) {
    return bad_escape(rest);
  } else if constexpr (std::is_same_v<Rule, r::class_item>) {
    return {ErrorCode::kRegexSyntax, "'[' inside a character class must be escaped as \\[ (classes cannot nest)", 0};
  } else if constexpr (std::is_same_v<Rule, r::class_not_empty>) {
    return {ErrorCode::kRegexSyntax, "empty character class (escape a literal ']' as \\])", 0};
  } else if constexpr (std::is_same_v<Rule, r::class_unterminated>) {
    return {ErrorCode::kRegexSyntax, "unterminated character class: '[' has no matching ']'", 0};
  } else {
    return {ErrorCode::kRegexSyntax, "unexpected character in the regular expression", 0};
  }
}

}  // namespace cwfilter::detail
