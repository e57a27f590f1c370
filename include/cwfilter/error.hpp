// Errors and the Result type used for everything that reads user input.
// Bad user input is a value (CompileError / Error), never an exception.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cwfilter {

// What went wrong in a filter pattern. Stable: tools and tests key on it.
enum class ErrorCode {
  kPatternTooLong,            // > Options::max_pattern_length (AWS: 1024)
  kMissingClosingBrace,       // '{' without a final '}'
  kMissingClosingBracket,     // '[' without a final ']'
  kSyntax,                    // anything the grammar does not accept (see the message)
  kUnquotedCharacter,         // a character that must be double-quoted
  kSingleQuote,               // 'value' (only "value" is accepted)
  kSelectorWithoutDollar,     // { status = 1 }
  kUnsupportedKeyword,        // IS NOT, EXISTS, lower-case keywords, ...
  kTooManyWildcardsInSelector,// $.a[*].b[*]
  kTooManyWildcardSelectors,  // > 3 selectors with a wildcard
  kTooManyRegexes,            // > 2 %regex% in one JSON / space-delimited pattern
  kRelationalNeedsNumber,     // { $.a > abc }
  kRegexInvalidCharacter,     // AWS "Invalid character(s) in term"
  kRegexSyntax,               // unbalanced class, bad repetition, unknown escape, %%
  kMultipleEllipsis,          // [..., a, ...]
  kCompoundOtherField,        // [a = 1 && b = 2]
  kUnterminatedQuote,         // "abc
  kLonePrefix,                // '?' or '-' with no term
  kNestingTooDeep,            // > Options::max_nesting parentheses
  kMixedFamilies,             // { ... } ?ERROR
};

// Short stable name of a code, e.g. "unquoted-character".
std::string_view to_string(ErrorCode code) noexcept;

struct CompileError {
  ErrorCode code = ErrorCode::kSyntax;
  std::size_t offset = 0;  // byte offset into the pattern as given (before trimming)
  std::string fragment;    // the offending text (a few bytes starting at offset)
  std::string message;     // AWS message, cwfilter's reason and the offset (DECISIONS 14)
};

// A generic error for non-pattern input (configurations, transformations, files).
struct Error {
  std::string message;
};

// Either a value or an error. Small stand-in for std::expected (C++23).
template <typename T, typename E = CompileError>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const& { return std::get<1>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

}  // namespace cwfilter
