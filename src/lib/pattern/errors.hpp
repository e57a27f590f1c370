// Building CompileErrors with AWS's wording plus cwfilter's precise reason (DECISIONS 14).
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>

#include <string>
#include <string_view>

namespace cwfilter::detail {

// "Invalid metric filter pattern" or "Invalid filter pattern", by API (filter-patterns.md §8).
inline std::string_view aws_prefix(ErrorContext context) {
  return context == ErrorContext::kMetricFilter ? "Invalid metric filter pattern"
                                                : "Invalid filter pattern";
}

// message = "<aws>: <reason> at offset <offset>", fragment = up to 16 bytes of the pattern at offset.
CompileError make_error(ErrorCode code, std::string_view pattern, std::size_t offset,
                        std::string_view reason, ErrorContext context);

// Same, with an explicit AWS message instead of the context's prefix (e.g.
// "Invalid character(s) in term" for regexes, or the missing-brace message).
CompileError make_error_with(ErrorCode code, std::string_view pattern, std::size_t offset,
                             std::string_view aws_message, std::string_view reason);

}  // namespace cwfilter::detail
