// Adapter from the metric store (include/cwfilter/metrics.hpp) to the alarm's view of a bucket.
#include "alarm/store_source.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace cwfilter::alarm {

namespace detail {

// Buckets are read a window at a time (MetricStore::for_each_bucket: one key lookup, one walk over
// the cells) and kept until the store's revision changes. Buckets lie on a grid of the period
// whose phase is the evaluation tick's (a 5-minute alarm evaluated every minute reads five
// interleaved grids), so each grid is cached on its own. Consecutive reads on a grid (backtests
// walk forward one bucket per evaluation) double its window, up to kMaxWindow buckets.
class BucketCache {
 public:
  static constexpr std::size_t kFirstWindow = 16;
  static constexpr std::size_t kMaxWindow = 256;  // small enough to stay off mmap'd allocations
  static constexpr std::size_t kMaxGrids = 8;

  template <typename Compute>
  std::optional<BucketDatapoint> get(const MetricStore& store, const MetricKey& key,
                                     std::optional<StandardUnit> unit, std::int64_t start_ms,
                                     std::int64_t period_ms, bool include_values, Compute&& compute_value) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t revision = store.revision();
    if (revision != revision_) {
      grids_.clear();
      revision_ = revision;
    }
    const std::int64_t phase = ((start_ms % period_ms) + period_ms) % period_ms;
    Grid* grid = nullptr;
    for (auto& g : grids_)
      if (g.period_ms == period_ms && g.phase_ms == phase) grid = &g;
    if (!grid) {
      if (grids_.size() == kMaxGrids) grids_.erase(grids_.begin());
      grid = &grids_.emplace_back();
      grid->period_ms = period_ms;
      grid->phase_ms = phase;
    }
    const bool hit = !grid->values.empty() && start_ms >= grid->first_ms &&
                     static_cast<std::size_t>((start_ms - grid->first_ms) / period_ms) < grid->values.size();
    if (!hit) {
      const bool fresh = grid->values.empty();
      const bool sequential =
          !fresh && start_ms == grid->first_ms + period_ms * static_cast<std::int64_t>(grid->values.size());
      // A new grid reads one bucket (a store that changes between reads, as in a live pipeline,
      // never pays for a window); a jump reads a window, a little behind as well (one evaluation
      // may read its N buckets newest first).
      grid->window = fresh ? 1 : sequential ? std::min(grid->window * 2, kMaxWindow) : kFirstWindow;
      grid->first_ms = start_ms - (fresh || sequential ? 0 : 4) * period_ms;
      grid->values.assign(grid->window, std::nullopt);
      store.for_each_bucket(key, unit, grid->first_ms, period_ms, grid->window, include_values,
                            [&](std::size_t i, const Aggregate& a) {
                              if (auto v = compute_value(a)) grid->values[i] = BucketDatapoint{*v, a.sample_count};
                            });
    }
    return grid->values[static_cast<std::size_t>((start_ms - grid->first_ms) / period_ms)];
  }

 private:
  struct Grid {
    std::int64_t period_ms = 0, phase_ms = 0, first_ms = 0;
    std::size_t window = 1;
    std::vector<std::optional<BucketDatapoint>> values;
  };
  std::mutex mutex_;  // a source may be shared by threads
  std::uint64_t revision_ = 0;
  std::vector<Grid> grids_;
};

class StoreDatapointSource::Cache : public BucketCache {};

StoreDatapointSource::StoreDatapointSource(const MetricStore& store, const MetricAlarm& alarm)
    : store_(&store),
      // An alarm with Unit sees only that unit's series (a wrong unit leaves it without data).
      // Without Unit, every unit of the metric is aggregated together: AWS calls this case
      // "not defined" (alarms.md A14).
      key_(alarm.metric_namespace, alarm.metric_name, alarm.dimensions),
      unit_(alarm.unit),
      cache_(std::make_shared<Cache>()) {
  auto parsed = parse_statistic(alarm.statistic ? *alarm.statistic
                                                 : alarm.extended_statistic.value_or("Average"));
  if (parsed) statistic_ = parsed.value();
}

std::optional<BucketDatapoint> StoreDatapointSource::datapoint(const std::optional<Aggregate>& aggregate) const {
  if (!aggregate) return std::nullopt;
  return datapoint(*aggregate);
}

std::optional<BucketDatapoint> StoreDatapointSource::datapoint(const Aggregate& aggregate) const {
  // compute() gives nullopt e.g. for a percentile over statistic sets only (DECISIONS 19).
  if (auto v = compute(statistic_, aggregate)) return BucketDatapoint{*v, aggregate.sample_count};
  return std::nullopt;
}

std::optional<BucketDatapoint> StoreDatapointSource::operator()(std::int64_t start_ms, std::int64_t end_ms) const {
  if (end_ms <= start_ms) return std::nullopt;
  return cache_->get(*store_, key_, unit_, start_ms, end_ms - start_ms, needs_values(),
                     [&](const Aggregate& a) { return compute(statistic_, a); });
}

}  // namespace detail

DatapointSource store_source(const MetricStore& store, const MetricAlarm& alarm) {
  return detail::StoreDatapointSource(store, alarm);
}

}  // namespace cwfilter::alarm
