// Metric filters: a filter pattern plus one metric transformation, turning log events into metric
// datapoints exactly as CloudWatch Logs does (filter-patterns.md §7, alarms.md §3, DECISIONS 6, 7).
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/pattern.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter {

// MetricTransformation as PutMetricFilter takes it (API_MetricTransformation).
struct MetricTransformation {
  std::string metric_name;
  std::string metric_namespace;
  std::string metric_value;                 // "1", "$.latency", "$size", "$7"
  std::optional<double> default_value;
  // dimension name -> field reference, in the order given (CloudWatch sorts them for identity)
  std::vector<std::pair<std::string, std::string>> dimensions;
  StandardUnit unit = StandardUnit::kNone;  // AWS default: None
};

// A metric filter as DescribeMetricFilters returns it (one transformation: AWS allows only one).
struct MetricFilterDefinition {
  std::string filter_name;
  std::string log_group_name;
  std::string filter_pattern;
  std::vector<MetricTransformation> metric_transformations;
};

// Reads a JSON list of MetricTransformation objects (`aws logs put-metric-filter
// --metric-transformations` / TestMetricFilter's shape), or a single object. Shape errors only;
// validation against a pattern happens in MetricFilter::create.
Result<std::vector<MetricTransformation>, Error> parse_metric_transformations(std::string_view json);

// Reads DescribeMetricFilters output ({"metricFilters":[...]}) or a bare list of its items.
Result<std::vector<MetricFilterDefinition>, Error> parse_metric_filters(std::string_view json);

// One datapoint published by a metric filter for one log event.
struct MetricFilterDatapoint {
  MetricKey key;  // namespace, name and the dimensions found in the event
  double value = 0;
  StandardUnit unit = StandardUnit::kNone;
  std::int64_t timestamp_ms = 0;
  bool is_default = false;  // the transformation's defaultValue, for a non-matching event
};

struct MetricFilterOutcome {
  bool matched = false;
  std::optional<MetricFilterDatapoint> datapoint;  // none: no match without default, or no value
  // Why a matching event published nothing (non-numeric or absent metric value), for summaries.
  std::string skipped_reason;
};

// A validated, compiled metric filter. Immutable and thread-safe.
class MetricFilter {
 public:
  // Validates names, the transformation and its fit with the pattern, with AWS's messages
  // (filter-patterns.md §7.1-§7.5, §8), and compiles the pattern.
  static Result<MetricFilter, Error> create(const MetricFilterDefinition& definition,
                                            const Options& options = {});
  // For TestMetricFilter-like use without names: a placeholder filter/log-group name.
  static Result<MetricFilter, Error> create(std::string_view pattern,
                                            const MetricTransformation& transformation,
                                            const Options& options = {});

  // Evaluates one log event. Per DECISIONS 7 a non-matching event yields the defaultValue (when
  // set); per DECISIONS 6 a match whose value is missing or not numeric yields nothing.
  MetricFilterOutcome evaluate(std::string_view message, std::int64_t timestamp_ms) const;
  // What evaluate() returns for an event known not to match, without reading it: for callers that
  // rejected the event with a prefilter shared by several filters (the Pipeline does).
  MetricFilterOutcome evaluate_unmatched(std::int64_t timestamp_ms) const;
  // Whether the outcome of a match depends on nothing but the match (a literal metricValue, no
  // dimensions): then evaluate_matched() gives it for an event known to match.
  bool reads_nothing_on_match() const noexcept { return refs_.empty(); }
  // What evaluate() returns for an event known to match; requires reads_nothing_on_match(). For
  // callers that already matched the event with the same pattern (the Pipeline's streak sharing).
  MetricFilterOutcome evaluate_matched(std::int64_t timestamp_ms) const;

  const Pattern& pattern() const noexcept { return pattern_; }
  const MetricTransformation& transformation() const noexcept { return transformation_; }
  const std::string& filter_name() const noexcept { return filter_name_; }
  const std::string& log_group_name() const noexcept { return log_group_name_; }

 private:
  MetricFilter(Pattern pattern) : pattern_(std::move(pattern)) {}
  Pattern pattern_;
  MetricTransformation transformation_;
  std::string filter_name_, log_group_name_;
  std::optional<double> literal_value_;  // metricValue is a number
  std::vector<FieldRef> refs_;           // [metric value ref (if any)] + one per dimension
  bool value_is_ref_ = false;
};

}  // namespace cwfilter
