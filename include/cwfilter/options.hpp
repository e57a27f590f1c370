// One aggregate with every knob and resource limit of the pattern compiler and matcher.
// Defaults model CloudWatch Logs' quotas (filter-patterns.md §1, §3.2, §5.1) and DECISIONS.md.
//
// Every resource limit of cwfilter, and where it lives (SECURITY.md lists what happens at each;
// `cwfilter limits` prints the actual values from these same defaults, and tests/test_limits.cpp
// checks that SECURITY.md and the listing agree with them):
//   pattern length, nesting, wildcards, regexes,
//   JSON depth and event size of the matcher ..... Options (below)
//   regex program size ........................... kMaxRegexProgramBytes (below)
//   input line/record size, decompression bound,
//   gzip ratio guard, JSON document size ......... InputOptions (cwfilter/input.hpp)
//   metric retention, dimension cardinality ..... MetricStoreOptions (cwfilter/metrics.hpp)
//   streak keys, key length, reorder buffer ..... streak::DetectorOptions (cwfilter/streak.hpp)
//   delivery attempts and timeouts ............... DeliveryOptions (cwfilter/sinks.hpp)
//   `cwfilter run --state` file size ............. limits::kMaxStateFileBytes (below)
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

  bool operator==(const Options&) const = default;
};

namespace limits {
// RE2 program memory per %regex% (regex_options()); a larger program is a compile error.
inline constexpr std::size_t kMaxRegexProgramBytes = std::size_t{8} << 20;  // 8 MiB
// Largest `cwfilter run --state` file read or written. The state holds the datapoints still in an
// alarm's reach, so it only grows this large under extreme dimension cardinality; a larger state
// is not written (the run reports an I/O error, exit status 2) and not read (refused at start).
inline constexpr std::size_t kMaxStateFileBytes = std::size_t{256} << 20;  // 256 MiB
}  // namespace limits

}  // namespace cwfilter
