// Small text rules shared by the parser and both evaluators.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cwfilter::detail {

// Content of a "double-quoted" term or value: \" and \\ are escapes; a backslash before any other
// character keeps that character (filter-patterns.md §2.1, [UNDOC] rule).
std::string unescape_quoted(std::string_view content);

// A number as the pattern language writes it: [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?
// (§3.3). Used both for literals in patterns and for space-delimited field values (§4.4).
std::optional<double> parse_number_literal(std::string_view text);

// A value string with CloudWatch's '*' wildcard (§3.3): "*" matches anything; a leading '*' is a
// suffix match, a trailing '*' a prefix match, both a substring match; inner '*' are literal.
struct WildcardText {
  enum class Kind { kExact, kAny, kPrefix, kSuffix, kContains };
  Kind kind = Kind::kExact;
  std::string needle;
  static WildcardText from(std::string_view value);
  bool matches(std::string_view subject) const noexcept;
};

}  // namespace cwfilter::detail
