// The store-backed DatapointSource as a named type, so that backtests can recognise it inside a
// DatapointSource and read whole bucket series at once instead of one bucket per call.
#pragma once

#include <cwfilter/alarm.hpp>

#include <memory>
#include <vector>

namespace cwfilter::alarm::detail {

class StoreDatapointSource {
 public:
  StoreDatapointSource(const MetricStore& store, const MetricAlarm& alarm);
  // One bucket, through a per-grid window cache (see store_source.cpp).
  std::optional<BucketDatapoint> operator()(std::int64_t start_ms, std::int64_t end_ms) const;

  const MetricStore& store() const noexcept { return *store_; }
  const MetricKey& key() const noexcept { return key_; }
  std::optional<StandardUnit> unit() const noexcept { return unit_; }
  const Statistic& statistic() const noexcept { return statistic_; }
  // Whether the statistic needs the raw values (percentile family); the standard five do not,
  // and skipping the per-bucket multiset is most of a query's saving.
  bool needs_values() const noexcept { return statistic_.is_extended(); }
  // The alarm's datapoint of a bucket from its aggregate (nullopt: no value, e.g. a percentile
  // over statistic sets only, DECISIONS 19).
  std::optional<BucketDatapoint> datapoint(const std::optional<Aggregate>& aggregate) const;
  std::optional<BucketDatapoint> datapoint(const Aggregate& aggregate) const;

  class Cache;

 private:
  const MetricStore* store_;
  MetricKey key_;
  std::optional<StandardUnit> unit_;
  Statistic statistic_;
  std::shared_ptr<Cache> cache_;  // shared by copies (std::function copies its target)
};

}  // namespace cwfilter::alarm::detail
