// Adapter from the metric store (include/cwfilter/metrics.hpp) to the alarm's view of a bucket.
#include <cwfilter/alarm.hpp>

#include <memory>

namespace cwfilter::alarm {

DatapointSource store_source(const MetricStore& store, const MetricAlarm& alarm) {
  struct Query {
    MetricKey key;
    std::optional<StandardUnit> unit;
    Statistic statistic;
  };
  auto q = std::make_shared<Query>();
  q->key = MetricKey(alarm.metric_namespace, alarm.metric_name, alarm.dimensions);
  // An alarm with Unit sees only that unit's series (a wrong unit leaves it without data).
  // Without Unit, every unit of the metric is aggregated together: AWS calls this case
  // "not defined" (alarms.md A14).
  q->unit = alarm.unit;
  auto parsed = parse_statistic(alarm.statistic ? *alarm.statistic
                                                 : alarm.extended_statistic.value_or("Average"));
  if (parsed) q->statistic = parsed.value();
  const MetricStore* s = &store;
  // The standard five need no raw values: skip building the per-bucket multiset (the expensive
  // part of a query); the extended statistics need it.
  const bool need_values = q->statistic.is_extended();
  return [q, s, need_values](std::int64_t start_ms, std::int64_t end_ms) -> std::optional<BucketDatapoint> {
    auto aggregate = s->query(q->key, q->unit, start_ms, end_ms, need_values);
    if (!aggregate) return std::nullopt;
    auto value = compute(q->statistic, *aggregate);
    if (!value) return std::nullopt;  // e.g. a percentile over statistic sets only (DECISIONS 19)
    return BucketDatapoint{*value, aggregate->sample_count};
  };
}

}  // namespace cwfilter::alarm
