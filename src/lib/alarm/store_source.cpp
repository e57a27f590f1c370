// Adapter from the metric store (include/cwfilter/metrics.hpp) to the alarm's view of a bucket.
#include <cwfilter/alarm.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace cwfilter::alarm {

namespace {

// Buckets are read a window at a time (MetricStore::query_buckets: one key lookup, one walk over
// the cells) and kept until the store's revision changes. Consecutive reads (backtests walk
// forward one bucket per evaluation) double the window, up to kMaxWindow buckets.
class BucketCache {
 public:
  static constexpr std::size_t kFirstWindow = 16, kMaxWindow = 2048;

  template <typename Compute>
  std::optional<BucketDatapoint> get(const MetricStore& store, const MetricKey& key,
                                     std::optional<StandardUnit> unit, std::int64_t start_ms,
                                     std::int64_t period_ms, bool include_values, Compute&& compute_value) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t revision = store.revision();
    const bool hit = revision == revision_ && period_ms == period_ms_ && start_ms >= first_ms_ &&
                     (start_ms - first_ms_) % period_ms == 0 &&
                     static_cast<std::size_t>((start_ms - first_ms_) / period_ms) < values_.size();
    if (!hit) {
      // A store that changed since the last read (a live pipeline) gets single-bucket reads; a
      // static one (backtests) gets growing windows.
      const bool same = revision == revision_ && period_ms == period_ms_ && !values_.empty();
      const bool sequential =
          same && start_ms == first_ms_ + period_ms * static_cast<std::int64_t>(values_.size());
      window_ = !same ? 1 : sequential ? std::min(window_ * 2, kMaxWindow) : kFirstWindow;
      // A jump also reads a little behind: one evaluation may read its N buckets newest first.
      const std::int64_t behind = same && !sequential ? 4 : 0;
      first_ms_ = start_ms - behind * period_ms;
      period_ms_ = period_ms;
      revision_ = revision;
      auto aggregates = store.query_buckets(key, unit, first_ms_, period_ms, window_, include_values);
      values_.assign(aggregates.size(), std::nullopt);
      for (std::size_t i = 0; i < aggregates.size(); ++i)
        if (aggregates[i])
          if (auto v = compute_value(*aggregates[i])) values_[i] = BucketDatapoint{*v, aggregates[i]->sample_count};
    }
    return values_[static_cast<std::size_t>((start_ms - first_ms_) / period_ms)];
  }

 private:
  std::mutex mutex_;  // a source may be shared by threads
  std::uint64_t revision_ = 0;
  std::int64_t period_ms_ = 0, first_ms_ = 0;
  std::size_t window_ = kFirstWindow;
  std::vector<std::optional<BucketDatapoint>> values_;
};

}  // namespace

DatapointSource store_source(const MetricStore& store, const MetricAlarm& alarm) {
  struct Query {
    MetricKey key;
    std::optional<StandardUnit> unit;
    Statistic statistic;
    BucketCache cache;
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
  // part of a query); the extended statistics need them.
  const bool include_values = q->statistic.is_extended();
  return [q, s, include_values](std::int64_t start_ms, std::int64_t end_ms) -> std::optional<BucketDatapoint> {
    if (end_ms <= start_ms) return std::nullopt;
    // compute() gives nullopt e.g. for a percentile over statistic sets only (DECISIONS 19).
    return q->cache.get(*s, q->key, q->unit, start_ms, end_ms - start_ms, include_values,
                        [&](const Aggregate& a) { return compute(q->statistic, a); });
  };
}

}  // namespace cwfilter::alarm
