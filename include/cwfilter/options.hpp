// One aggregate with every knob and resource limit of the pattern compiler and matcher.
// Defaults model CloudWatch Logs' quotas (filter-patterns.md §1, §3.2, §5.1) and DECISIONS.md.
#pragma once

#include <cstddef>

namespace cwfilter {

// Which API's wording the compiler uses in error messages (filter-patterns.md §8).
enum class ErrorContext {
  kMetricFilter,    // PutMetricFilter: "Invalid metric filter pattern"
  kFilterLogEvents, // FilterLogEvents / TestMetricFilter: "Invalid filter pattern"
};

struct Options {
  // filterPattern length, in bytes (AWS: 1024, the `FilterPattern` shape's maximum).
  std::size_t max_pattern_length = 1024;
  // Parenthesis nesting in a JSON pattern. AWS documents no limit; 1024 characters allow at most
  // ~500, so this only guards the parser's stack.
  std::size_t max_nesting = 256;
  // Wildcard selectors ($.*, [*]) per JSON pattern (AWS quota: 3).
  std::size_t max_wildcard_selectors = 3;
  // %regex% values per JSON or space-delimited pattern (AWS quota: 2).
  std::size_t max_regexes = 2;
  // Deepest JSON nesting of a log event that JSON patterns still read. A deeper event is treated
  // as "not a JSON object": every JSON condition is false (DECISIONS 5). Guards stack and memory.
  std::size_t max_json_depth = 512;
  // Largest log event, in bytes, that is evaluated at all; a larger one matches no pattern
  // (CloudWatch's own maximum event size is 1 MiB, counting 26 bytes of overhead).
  std::size_t max_event_bytes = 1024 * 1024;
  // DECISIONS 1: false = the last field of a space-delimited pattern absorbs the rest of the line
  // (current AWS docs); true = the event must have exactly as many fields (2018-2022 docs).
  bool exact_field_count = false;
  // Wording of error messages.
  ErrorContext error_context = ErrorContext::kMetricFilter;
};

}  // namespace cwfilter
