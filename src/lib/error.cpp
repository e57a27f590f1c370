#include <cwfilter/error.hpp>

namespace cwfilter {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kPatternTooLong: return "pattern-too-long";
    case ErrorCode::kMissingClosingBrace: return "missing-closing-brace";
    case ErrorCode::kMissingClosingBracket: return "missing-closing-bracket";
    case ErrorCode::kSyntax: return "syntax";
    case ErrorCode::kUnquotedCharacter: return "unquoted-character";
    case ErrorCode::kSingleQuote: return "single-quote";
    case ErrorCode::kSelectorWithoutDollar: return "selector-without-dollar";
    case ErrorCode::kUnsupportedKeyword: return "unsupported-keyword";
    case ErrorCode::kTooManyWildcardsInSelector: return "too-many-wildcards-in-selector";
    case ErrorCode::kTooManyWildcardSelectors: return "too-many-wildcard-selectors";
    case ErrorCode::kTooManyRegexes: return "too-many-regexes";
    case ErrorCode::kRelationalNeedsNumber: return "relational-needs-number";
    case ErrorCode::kRegexInvalidCharacter: return "regex-invalid-character";
    case ErrorCode::kRegexSyntax: return "regex-syntax";
    case ErrorCode::kMultipleEllipsis: return "multiple-ellipsis";
    case ErrorCode::kCompoundOtherField: return "compound-other-field";
    case ErrorCode::kUnterminatedQuote: return "unterminated-quote";
    case ErrorCode::kLonePrefix: return "lone-prefix";
    case ErrorCode::kNestingTooDeep: return "nesting-too-deep";
    case ErrorCode::kMixedFamilies: return "mixed-families";
  }
  return "unknown";
}

}  // namespace cwfilter
