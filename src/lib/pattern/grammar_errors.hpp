// Error messages for the must<> points of grammar/cwfilter/grammar.hpp, kept apart from the rules.
// A message may depend on the character found where the rule failed (a quote, '@', a lower-case
// keyword, ...), so each entry is a function of that text.
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/grammar.hpp>

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <string_view>

namespace cwfilter::detail {

struct GrammarMessage {
  ErrorCode code;
  std::string reason;
};

// What the pattern holds at `rest`, as a noun phrase: "'@'", "a non-ASCII character", "the end of
// the pattern", ... With article = false the phrase has no article, to follow an adjective or a
// verb: "unquoted non-ASCII character", "unexpected end of the pattern".
inline std::string describe_char(std::string_view rest, bool article = true) {
  const std::string_view a = article ? "a " : "";
  if (rest.empty()) return fmt::format("{}end of the pattern", article ? "the " : "");
  unsigned char c = static_cast<unsigned char>(rest[0]);
  if (c >= 0x80) return fmt::format("{}non-ASCII character", a);
  if (c == '\n') return fmt::format("{}line break", a);
  if (c == '\t') return fmt::format("{}tab", a);
  if (c < 0x20 || c == 0x7f) return fmt::format("control character 0x{:02x}", c);
  return fmt::format("'{}'", static_cast<char>(c));
}

// "unquoted character '@'", "unquoted non-ASCII character", "unquoted control character 0x01".
inline std::string unquoted_char(std::string_view rest) {
  const std::string what = describe_char(rest, false);
  return what.front() == '\'' ? "unquoted character " + what : "unquoted " + what;
}

// "unexpected '='", "unexpected non-ASCII character", "unexpected end of the pattern".
inline std::string unexpected_char(std::string_view rest) { return "unexpected " + describe_char(rest, false); }

inline bool starts_word(std::string_view rest) {
  return !rest.empty() && (std::isalnum(static_cast<unsigned char>(rest[0])) || rest[0] == '_');
}

inline bool starts_with_ci(std::string_view rest, std::string_view word) {
  if (rest.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(rest[i])) != word[i]) return false;
  return rest.size() == word.size() || !std::isalnum(static_cast<unsigned char>(rest[word.size()]));
}

// A value position that holds something other than a legal value.
inline GrammarMessage bad_value(std::string_view rest) {
  if (!rest.empty() && rest[0] == '\'')
    return {ErrorCode::kSingleQuote, "single-quoted string values are not allowed (use double quotes)"};
  if (rest.empty() || rest[0] == '}' || rest[0] == ')' || rest[0] == ']' || rest[0] == ',')
    return {ErrorCode::kSyntax, "expected a value after the operator"};
  if (rest[0] == '=' || rest[0] == '<' || rest[0] == '>' || rest[0] == '!')
    return {ErrorCode::kSyntax, fmt::format("{} (one comparison operator per condition)", unexpected_char(rest))};
  return {ErrorCode::kUnquotedCharacter, fmt::format("{} (quote the value)", unquoted_char(rest))};
}

// What comes after a complete value, condition or group when it is not what the grammar wants.
inline GrammarMessage bad_continuation(std::string_view rest, std::string_view expected) {
  if (!rest.empty() && rest[0] == '\'')
    return {ErrorCode::kSingleQuote, "single-quoted string values are not allowed (use double quotes)"};
  if (starts_word(rest) || (!rest.empty() && rest[0] == '"'))
    return {ErrorCode::kSyntax,
            fmt::format("expected {}; an unquoted value cannot contain spaces (quote the whole value)",
                        expected)};
  if (!rest.empty() && rest[0] == '&' && (rest.size() < 2 || rest[1] != '&'))
    return {ErrorCode::kSyntax, "expected '&&' (a single '&' is not an operator)"};
  if (!rest.empty() && rest[0] == '|' && (rest.size() < 2 || rest[1] != '|'))
    return {ErrorCode::kSyntax, "expected '||' (a single '|' is not an operator)"};
  return {ErrorCode::kSyntax, fmt::format("expected {}, found {}", expected, describe_char(rest))};
}

// The message for a failed must<Rule>; `rest` is the pattern from the failure point on.
template <typename Rule>
GrammarMessage grammar_message(std::string_view rest) {
  namespace g = cwfilter::grammar;
  namespace j = cwfilter::grammar::json;
  namespace s = cwfilter::grammar::space;
  namespace t = cwfilter::grammar::term;
  if constexpr (std::is_same_v<Rule, g::dq_close>) {
    return {ErrorCode::kUnterminatedQuote, "unterminated double-quoted string"};
  } else if constexpr (std::is_same_v<Rule, g::regex_close>) {
    return {ErrorCode::kRegexSyntax, "unterminated regular expression (no closing '%')"};
  } else if constexpr (std::is_same_v<Rule, j::value> || std::is_same_v<Rule, s::value>) {
    return bad_value(rest);
  } else if constexpr (std::is_same_v<Rule, j::value_end> || std::is_same_v<Rule, s::value_end>) {
    if (starts_word(rest) || (!rest.empty() && rest[0] == '"'))
      return {ErrorCode::kSyntax,
              fmt::format("{} right after the value (a doubled quote \"\" ends the string early)",
                          unexpected_char(rest))};
    return bad_value(rest);
  } else if constexpr (std::is_same_v<Rule, j::bracket_key_close>) {
    return {ErrorCode::kSyntax, "expected \"']\" to close the bracketed member name"};
  } else if constexpr (std::is_same_v<Rule, j::dot_step_body>) {
    return {ErrorCode::kSyntax,
            fmt::format("expected a member name, '*' or ['name'] after '.', found {}", describe_char(rest))};
  } else if constexpr (std::is_same_v<Rule, j::index_body>) {
    return {ErrorCode::kSyntax,
            fmt::format("expected an array index or '*' followed by ']', found {}", describe_char(rest))};
  } else if constexpr (std::is_same_v<Rule, j::first_step>) {
    return {ErrorCode::kSyntax, "a selector needs a member or index after '$' (e.g. $.eventName)"};
  } else if constexpr (std::is_same_v<Rule, j::is_what>) {
    if (starts_with_ci(rest, "NOT"))
      return {ErrorCode::kUnsupportedKeyword, "IS NOT is not supported (use != or NOT EXISTS)"};
    if (starts_with_ci(rest, "NULL") || starts_with_ci(rest, "TRUE") || starts_with_ci(rest, "FALSE"))
      return {ErrorCode::kUnsupportedKeyword, "keywords must be written in upper case"};
    return {ErrorCode::kSyntax, "expected NULL, TRUE or FALSE after IS"};
  } else if constexpr (std::is_same_v<Rule, j::kw_exists>) {
    return {ErrorCode::kSyntax, "expected EXISTS after NOT"};
  } else if constexpr (std::is_same_v<Rule, j::condition_rest>) {
    if (starts_with_ci(rest, "EXISTS"))
      return {ErrorCode::kUnsupportedKeyword, "EXISTS is not supported (only NOT EXISTS)"};
    if (starts_with_ci(rest, "IS") || starts_with_ci(rest, "NOT"))
      return {ErrorCode::kUnsupportedKeyword, "keywords must be written in upper case"};
    if (!rest.empty() && rest[0] == '!')
      return {ErrorCode::kSyntax, "expected '!=' ('!' alone is not an operator)"};
    return {ErrorCode::kSyntax,
            fmt::format("expected a comparison operator (=, !=, <, <=, >, >=), IS NULL, IS TRUE, "
                        "IS FALSE or NOT EXISTS after the selector, found {}",
                        describe_char(rest))};
  } else if constexpr (std::is_same_v<Rule, j::unary> || std::is_same_v<Rule, j::expr> ||
                       std::is_same_v<Rule, j::and_expr>) {
    if (starts_word(rest) || (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')))
      return {ErrorCode::kSelectorWithoutDollar,
              "a selector must start with '$' (e.g. $.eventName); JSON patterns cannot hold text terms"};
    return {ErrorCode::kSyntax,
            fmt::format("expected a condition such as $.field = value, found {}", describe_char(rest))};
  } else if constexpr (std::is_same_v<Rule, j::rparen>) {
    return bad_continuation(rest, "'&&', '||' or ')'");
  } else if constexpr (std::is_same_v<Rule, j::rbrace>) {
    return bad_continuation(rest, "'&&', '||' or '}'");
  } else if constexpr (std::is_same_v<Rule, j::end>) {
    return {ErrorCode::kMixedFamilies,
            "unexpected text after the closing '}' (JSON selectors cannot be combined with text terms)"};
  } else if constexpr (std::is_same_v<Rule, s::more_condition>) {
    return {ErrorCode::kSyntax,
            fmt::format("expected a condition 'field op value' after '&&' / '||', found {}",
                        describe_char(rest))};
  } else if constexpr (std::is_same_v<Rule, s::rbracket>) {
    if (starts_word(rest))
      return {ErrorCode::kSyntax, "expected ',' or ']'; fields are separated by commas"};
    if (!rest.empty() && rest[0] == '.')
      return {ErrorCode::kSyntax, "an ellipsis is written '...' and stands alone in its field"};
    return bad_continuation(rest, "',' or ']'");
  } else if constexpr (std::is_same_v<Rule, s::end>) {
    return {ErrorCode::kSyntax, "unexpected text after the closing ']'"};
  } else if constexpr (std::is_same_v<Rule, t::body>) {
    if (rest.empty() || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r')
      return {ErrorCode::kLonePrefix, "'?' or '-' must be followed directly by a term"};
    return {ErrorCode::kUnquotedCharacter,
            fmt::format("{} (a non-alphanumeric term must be double-quoted; only letters, digits and '_' may stand unquoted)",
                        unquoted_char(rest))};
  } else if constexpr (std::is_same_v<Rule, t::term_end>) {
    return {ErrorCode::kUnquotedCharacter,
            fmt::format("{} (a non-alphanumeric term must be double-quoted; only letters, digits and '_' may stand unquoted)",
                        unquoted_char(rest))};
  } else if constexpr (std::is_same_v<Rule, t::end>) {
    return {ErrorCode::kUnquotedCharacter, fmt::format("{} (quote the term)", unquoted_char(rest))};
  } else {
    return {ErrorCode::kSyntax, unexpected_char(rest)};
  }
}

}  // namespace cwfilter::detail
