// MetricStore: exact, mergeable per-(series, minute|second) cells with retention (metrics.hpp).
#include <cwfilter/metrics.hpp>

#include "metrics/exact_sum.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace cwfilter {
namespace {

using detail::ExactSum;

constexpr double kMaxMagnitude = 0x1p360;  // PutMetricData: values in [-2^360, 2^360]
constexpr double kMaxWholeCount = 0x1p53;  // counts above this are not exact integers in a double
constexpr std::int64_t kSweepStepMs = 60'000;
constexpr std::int64_t kNoCutoff = std::numeric_limits<std::int64_t>::min();

std::optional<Error> check_value(double v, std::string_view what) {
  if (std::isnan(v)) return Error{fmt::format("{}: NaN is not supported", what)};
  if (std::isinf(v)) return Error{fmt::format("{}: Infinity is not supported", what)};
  if (std::fabs(v) > kMaxMagnitude)
    return Error{fmt::format("{}: {} is outside the range [-2^360, 2^360]", what, v)};
  return std::nullopt;
}

std::optional<Error> check_resolution(int r) {
  if (r != kStandardResolution && r != kHighResolution)
    return Error{fmt::format("StorageResolution must be 1 or 60 (got {})", r)};
  return std::nullopt;
}

std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  std::int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

std::int64_t effective_timestamp(std::int64_t ts_ms, int storage_resolution) {
  return floor_to(ts_ms, storage_resolution == kHighResolution ? 1000 : 60'000);
}

double normalize_zero(double v) { return v == 0.0 ? 0.0 : v; }  // -0.0 -> 0.0

bool is_whole_count(double c) { return c >= 0 && c <= kMaxWholeCount && std::floor(c) == c; }

bool by_value(const ValueCount& a, const ValueCount& b) { return a.value < b.value; }

// Sorts nothing; merges adjacent equal values of [from, end) in place.
void coalesce(std::vector<ValueCount>& v, std::size_t from) {
  if (v.size() - from < 2) return;
  std::size_t w = from;
  for (std::size_t r = from + 1; r < v.size(); ++r) {
    if (v[w].value == v[r].value) {
      v[w].count += v[r].count;
    } else {
      v[++w] = v[r];
    }
  }
  v.resize(w + 1);
}

// Merges consecutive sorted runs of `v` (run i = [bounds[i], bounds[i+1])) pairwise, then
// coalesces equal values: O(n log runs).
void merge_runs(std::vector<ValueCount>& v, std::vector<std::size_t> bounds) {
  while (bounds.size() > 2) {
    std::vector<std::size_t> next;
    next.push_back(bounds[0]);
    for (std::size_t i = 0; i + 2 < bounds.size(); i += 2) {
      std::inplace_merge(v.begin() + static_cast<std::ptrdiff_t>(bounds[i]),
                         v.begin() + static_cast<std::ptrdiff_t>(bounds[i + 1]),
                         v.begin() + static_cast<std::ptrdiff_t>(bounds[i + 2]), by_value);
      next.push_back(bounds[i + 2]);
    }
    if (bounds.size() % 2 == 0) next.push_back(bounds.back());  // odd run count: last run as is
    bounds = std::move(next);
  }
  coalesce(v, 0);
}

// Everything known about one series in one minute (or second).
struct Cell {
  ExactSum sample_count;
  ExactSum sum;
  double minimum = std::numeric_limits<double>::infinity();
  double maximum = -std::numeric_limits<double>::infinity();
  // The raw multiset, kept only while raw: values[0, sorted) ascending with unique values;
  // values[sorted, end) recently added, unsorted, folded in when it grows past a quarter of the
  // sorted part (amortised O(log n) per new distinct value; repeated values are O(log n) in place).
  std::vector<ValueCount> values;
  std::uint32_t sorted = 0;
  bool raw = true;  // every contribution qualifies for the percentile family

  void insert(double v, std::uint64_t count) {
    if (sorted == values.size()) {
      if (values.empty() || values.back().value < v) {
        values.push_back({v, count});
        ++sorted;
        return;
      }
      if (values.back().value == v) {
        values.back().count += count;
        return;
      }
    }
    const auto end = values.begin() + sorted;
    auto it = std::lower_bound(values.begin(), end, ValueCount{v, 0}, by_value);
    if (it != end && it->value == v) {
      it->count += count;
      return;
    }
    if (values.size() > sorted && values.back().value == v) {
      values.back().count += count;
      return;
    }
    values.push_back({v, count});
    if (values.size() - sorted > 32 + sorted / 4) compact();
  }
  void compact() {
    if (sorted == values.size()) return;
    std::sort(values.begin() + sorted, values.end(), by_value);
    merge_runs(values, {0, sorted, values.size()});
    sorted = static_cast<std::uint32_t>(values.size());
  }
  std::vector<ValueCount> canonical_values() const {
    Cell copy;
    copy.values = values;
    copy.sorted = sorted;
    copy.compact();
    return std::move(copy.values);
  }

  void add_raw(double v, std::uint64_t count) {
    sample_count.add(static_cast<double>(count));
    sum.add_product(static_cast<double>(count), v);
    minimum = std::min(minimum, v);
    maximum = std::max(maximum, v);
    if (raw) insert(v, count);
  }
  void mark_not_raw() {
    raw = false;
    sorted = 0;
    std::vector<ValueCount>().swap(values);
  }
  void add_weighted(double v, double count) {  // fractional / huge counts: no ranks
    sample_count.add(count);
    sum.add_product(count, v);
    minimum = std::min(minimum, v);
    maximum = std::max(maximum, v);
    mark_not_raw();
  }
  void add_set(const StatisticSet& s, bool qualifying_sets_have_ranks) {
    if (qualifying_sets_have_ranks && qualifies_for_percentiles(s)) {
      add_raw(normalize_zero(s.minimum), static_cast<std::uint64_t>(s.sample_count));
      return;
    }
    sample_count.add(s.sample_count);
    sum.add(s.sum);
    minimum = std::min(minimum, normalize_zero(s.minimum));
    maximum = std::max(maximum, normalize_zero(s.maximum));
    mark_not_raw();
  }
  void merge(const Cell& o) {
    sample_count.add(o.sample_count);
    sum.add(o.sum);
    minimum = std::min(minimum, o.minimum);
    maximum = std::max(maximum, o.maximum);
    if (raw && o.raw) {
      values.insert(values.end(), o.values.begin(), o.values.end());
      compact();
    } else {
      mark_not_raw();
    }
  }
  bool exactly_equals(const Cell& o) const {
    return minimum == o.minimum && maximum == o.maximum && raw == o.raw &&
           (!raw || canonical_values() == o.canonical_values()) &&
           sample_count.exactly_equals(o.sample_count) && sum.exactly_equals(o.sum);
  }
  std::size_t heap_bytes() const {
    return sample_count.heap_bytes() + sum.heap_bytes() + values.capacity() * sizeof(ValueCount);
  }
};

struct TimedCell {
  std::int64_t t;  // effective timestamp (ms)
  Cell cell;
};

// One series' cells, sorted by effective timestamp: a flat vector (readers walk it without
// chasing nodes; appends, the common case, are amortised O(1); an out-of-order datum inserts).
// Cells older than the cutoff may linger at the front until a sweep erases them (see
// Impl::maybe_sweep); every reader starts at lower_bound(cutoff).
class Cells {
 public:
  using const_iterator = std::vector<TimedCell>::const_iterator;
  const_iterator begin() const noexcept { return v_.begin(); }
  const_iterator end() const noexcept { return v_.end(); }
  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  std::size_t capacity() const noexcept { return v_.capacity(); }
  const_iterator lower_bound(std::int64_t t) const {
    if (v_.empty() || v_.front().t >= t) return v_.begin();  // the common case of a reader from the cutoff
    return std::partition_point(v_.begin(), v_.end(), [t](const TimedCell& c) { return c.t < t; });
  }

  // The cell at t, created when missing.
  Cell& at(std::int64_t t) {
    if (v_.empty() || v_.back().t < t) {
      // Grown by half (not doubled): a long series wastes at most a third of its cells' bytes.
      if (v_.size() == v_.capacity()) v_.reserve(v_.size() + v_.size() / 2 + 1);
      return v_.emplace_back(TimedCell{t, Cell{}}).cell;
    }
    if (v_.back().t == t) return v_.back().cell;
    auto it = v_.begin() + (lower_bound(t) - v_.cbegin());
    if (it->t == t) return it->cell;
    return v_.insert(it, TimedCell{t, Cell{}})->cell;
  }

  // Drops the cells before t. Unless `now`, waits until they are an eighth of the cells (amortised
  // O(1) per cell dropped however long the series); the lingering ones are invisible to readers.
  void erase_before(std::int64_t t, bool now) {
    const auto dead = static_cast<std::size_t>(lower_bound(t) - v_.cbegin());
    if (dead == 0 || (!now && dead * 8 < v_.size())) return;
    v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(dead));
    if (v_.capacity() > 2 * v_.size()) v_.shrink_to_fit();
  }

  // Merges every cell of `other` from `first` on (both sorted) in one pass.
  void merge_from(const_iterator first, const_iterator last) {
    if (first == last) return;
    if (v_.empty() || v_.back().t < first->t) {
      v_.insert(v_.end(), first, last);
      return;
    }
    std::vector<TimedCell> out;
    out.reserve(v_.size() + static_cast<std::size_t>(last - first));
    auto mine = v_.begin();
    while (mine != v_.end() || first != last) {
      if (first == last || (mine != v_.end() && mine->t < first->t)) {
        out.push_back(std::move(*mine++));
      } else if (mine == v_.end() || first->t < mine->t) {
        out.push_back(*first++);
      } else {
        out.push_back(std::move(*mine++));
        out.back().cell.merge((first++)->cell);
      }
    }
    v_ = std::move(out);
  }

 private:
  std::vector<TimedCell> v_;
};

struct UnitSeries {
  StandardUnit unit;
  Cells cells;
};

// All units of one metric key, sorted by unit.
struct KeyEntry {
  std::vector<UnitSeries> units;

  Cells& cells_for(StandardUnit unit) {
    auto it = std::lower_bound(units.begin(), units.end(), unit,
                               [](const UnitSeries& s, StandardUnit u) { return s.unit < u; });
    if (it == units.end() || it->unit != unit) it = units.insert(it, UnitSeries{unit, {}});
    return it->cells;
  }
};

// The raw multiset of a bucket: each cell's values (canonical, ascending), merged.
std::vector<ValueCount> merged_values(const std::vector<const Cell*>& cells) {
  std::vector<ValueCount> merged;
  std::vector<std::size_t> bounds{0};
  for (const Cell* cell : cells) {
    if (cell->sorted == cell->values.size()) {
      merged.insert(merged.end(), cell->values.begin(), cell->values.end());
    } else {
      const auto canonical = cell->canonical_values();
      merged.insert(merged.end(), canonical.begin(), canonical.end());
    }
    bounds.push_back(merged.size());
  }
  merge_runs(merged, std::move(bounds));
  return merged;
}


}  // namespace

bool qualifies_for_percentiles(const StatisticSet& s) noexcept {
  if (!is_whole_count(s.sample_count) || s.sample_count < 1) return false;
  if (s.minimum != s.maximum) return false;
  // Sum == Minimum x SampleCount compared in double arithmetic, as a client or AWS computing the
  // product would (an exact-product test would refuse 3 x 0.1 == 0.30000000000000004).
  return s.minimum * s.sample_count == s.sum;
}

// Revisions are unique across stores, so a cache keyed by one store's revision never mistakes
// another state (an assigned or merged store) for the one it cached.
std::uint64_t next_revision() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

struct MetricStore::Impl {
  MetricStoreOptions options;
  std::uint64_t revision = next_revision();
  std::unordered_map<MetricKey, KeyEntry> metrics;
  std::optional<std::int64_t> newest;
  std::int64_t floor = kNoCutoff;
  std::int64_t last_sweep_cutoff = kNoCutoff;
  // Dimension cardinality: per metric with dimensions, hour start -> distinct dimension sets (at
  // most the limit each; the newest kDimensionTrackingHours hours).
  struct HourSets {
    std::map<std::int64_t, std::unordered_set<MetricKey>> hours;
  };
  std::unordered_map<MetricKey, HourSets> dimension_tracking;  // keyed by namespace + name only
  std::vector<DimensionCardinalityExcess> excesses;
  std::uint64_t excess_count = 0;

  void track_dimensions(const MetricKey& key, std::int64_t t) {
    const std::size_t limit = options.dimension_sets_per_hour_limit;
    if (limit == 0 || key.dimensions().empty()) return;
    constexpr std::int64_t kHourMs = 3600 * 1000;
    const std::int64_t hour = t - ((t % kHourMs) + kHourMs) % kHourMs;
    auto& hours = dimension_tracking[MetricKey(key.metric_namespace(), key.metric_name())].hours;
    if (hours.size() >= kDimensionTrackingHours && hour < hours.begin()->first) return;  // too old
    auto& sets = hours[hour];
    while (hours.size() > kDimensionTrackingHours) hours.erase(hours.begin());
    if (sets.size() >= limit) return;  // reached already: counted once
    if (!sets.insert(key).second || sets.size() < limit) return;
    ++excess_count;
    if (excesses.size() < kMaxDimensionExcessesKept)
      excesses.push_back({key.metric_namespace(), key.metric_name(), hour});
  }

  std::int64_t cutoff() const {
    std::int64_t c = floor;
    if (newest) {
      const std::int64_t rel = *newest < kNoCutoff + options.retention_ms ? kNoCutoff
                                                                           : *newest - options.retention_ms;
      c = std::max(c, rel);
    }
    return c;
  }

  // Drops dead cells once the cutoff has moved by a minute or more since the last sweep, from each
  // series once they are an eighth of its cells (Cells::erase_before), so memory stays bounded by
  // retention + 1 minute + 1/8. Dead cells that are still present are ignored by every reader
  // (query, operator==), so the lag is invisible.
  void maybe_sweep(bool force) {
    const std::int64_t c = cutoff();
    if (c == kNoCutoff) return;
    if (!force && last_sweep_cutoff != kNoCutoff && c - last_sweep_cutoff < kSweepStepMs) return;
    last_sweep_cutoff = c;
    for (auto it = metrics.begin(); it != metrics.end();) {
      auto& units = it->second.units;
      for (auto& s : units) s.cells.erase_before(c, force);
      std::erase_if(units, [](const UnitSeries& s) { return s.cells.empty(); });
      it = units.empty() ? metrics.erase(it) : std::next(it);
    }
  }

  // Finds (or creates) the cell for a datum; nullptr when the datum is older than the cutoff.
  Cell* cell_for(const MetricKey& key, StandardUnit unit, std::int64_t ts_ms, int resolution) {
    const std::int64_t t = effective_timestamp(ts_ms, resolution);
    if (!newest || t > *newest) newest = t;
    if (t < cutoff()) return nullptr;
    track_dimensions(key, t);
    return &metrics[key].cells_for(unit).at(t);
  }
};

MetricStore::MetricStore(MetricStoreOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (impl_->options.retention_ms < 0) impl_->options.retention_ms = 0;
}
MetricStore::MetricStore(const MetricStore& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
MetricStore& MetricStore::operator=(const MetricStore& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
MetricStore::MetricStore(MetricStore&&) noexcept = default;
MetricStore& MetricStore::operator=(MetricStore&&) noexcept = default;
MetricStore::~MetricStore() = default;

const MetricStoreOptions& MetricStore::options() const noexcept { return impl_->options; }

Result<AddOutcome, Error> MetricStore::add_value(const MetricKey& key, StandardUnit unit,
                                                 std::int64_t timestamp_ms, double value,
                                                 int storage_resolution) {
  impl_->revision = next_revision();
  if (auto e = check_value(value, "Value")) return *e;
  if (auto e = check_resolution(storage_resolution)) return *e;
  Cell* cell = impl_->cell_for(key, unit, timestamp_ms, storage_resolution);
  if (!cell) return AddOutcome::kExpired;
  cell->add_raw(normalize_zero(value), 1);
  impl_->maybe_sweep(false);
  return AddOutcome::kStored;
}

Result<AddOutcome, Error> MetricStore::add_values(const MetricKey& key, StandardUnit unit,
                                                  std::int64_t timestamp_ms,
                                                  std::span<const double> values,
                                                  std::span<const double> counts,
                                                  int storage_resolution) {
  impl_->revision = next_revision();
  if (values.empty()) return Error{"Values: at least one value is required"};
  if (values.size() > 150)
    return Error{fmt::format("Values: at most 150 values are allowed (got {})", values.size())};
  if (!counts.empty() && counts.size() != values.size())
    return Error{fmt::format("Counts must have the same length as Values ({} counts, {} values)",
                             counts.size(), values.size())};
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (auto e = check_value(values[i], fmt::format("Values[{}]", i))) return *e;
  }
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (auto e = check_value(counts[i], fmt::format("Counts[{}]", i))) return *e;
    if (counts[i] < 0) return Error{fmt::format("Counts[{}]: {} is negative", i, counts[i])};
  }
  if (auto e = check_resolution(storage_resolution)) return *e;
  bool any = false;
  for (double c : counts) any = any || c > 0;
  if (!counts.empty() && !any) return AddOutcome::kStored;  // only zero counts: no sample at all
  Cell* cell = impl_->cell_for(key, unit, timestamp_ms, storage_resolution);
  if (!cell) return AddOutcome::kExpired;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double c = counts.empty() ? 1.0 : counts[i];
    if (c == 0) continue;
    const double v = normalize_zero(values[i]);
    if (is_whole_count(c)) {
      cell->add_raw(v, static_cast<std::uint64_t>(c));
    } else {
      cell->add_weighted(v, c);
    }
  }
  impl_->maybe_sweep(false);
  return AddOutcome::kStored;
}

Result<AddOutcome, Error> MetricStore::add_statistic_set(const MetricKey& key, StandardUnit unit,
                                                         std::int64_t timestamp_ms,
                                                         const StatisticSet& set,
                                                         int storage_resolution) {
  impl_->revision = next_revision();
  if (auto e = check_value(set.sample_count, "StatisticValues.SampleCount")) return *e;
  if (auto e = check_value(set.sum, "StatisticValues.Sum")) return *e;
  if (auto e = check_value(set.minimum, "StatisticValues.Minimum")) return *e;
  if (auto e = check_value(set.maximum, "StatisticValues.Maximum")) return *e;
  if (!(set.sample_count > 0))
    return Error{fmt::format("StatisticValues.SampleCount must be positive (got {})",
                             set.sample_count)};
  if (set.minimum > set.maximum)
    return Error{fmt::format("StatisticValues.Minimum ({}) is greater than Maximum ({})",
                             set.minimum, set.maximum)};
  if (auto e = check_resolution(storage_resolution)) return *e;
  Cell* cell = impl_->cell_for(key, unit, timestamp_ms, storage_resolution);
  if (!cell) return AddOutcome::kExpired;
  cell->add_set(set, impl_->options.qualifying_statistic_sets_have_ranks);
  impl_->maybe_sweep(false);
  return AddOutcome::kStored;
}

namespace {
std::optional<Error> validate_datum(const std::string& ns, const MetricDatum& d) {
  if (auto e = validate_metric_key(MetricKey(ns, d.metric_name, d.dimensions))) return e;
  const int forms = (d.value ? 1 : 0) + (d.values.empty() ? 0 : 1) + (d.statistic_values ? 1 : 0);
  if (forms != 1)
    return Error{"exactly one of Value, Values or StatisticValues must be specified"};
  if (!d.counts.empty() && d.values.empty()) return Error{"Counts given without Values"};
  if (auto e = check_resolution(d.storage_resolution)) return e;
  // The per-form checks are the add_* ones; run them against a scratch store.
  return std::nullopt;
}
}  // namespace

Result<std::size_t, Error> MetricStore::put(const PutMetricDataRequest& request) {
  if (request.metric_data.size() > 1000)
    return Error{fmt::format("MetricData: at most 1000 items are allowed (got {})",
                             request.metric_data.size())};
  // Validate everything against a copy-free scratch store first (all or nothing).
  MetricStore scratch(MetricStoreOptions{std::numeric_limits<std::int64_t>::max()});
  for (std::size_t i = 0; i < request.metric_data.size(); ++i) {
    const auto& d = request.metric_data[i];
    if (auto e = validate_datum(request.metric_namespace, d))
      return Error{fmt::format("MetricData[{}]: {}", i, e->message)};
    const MetricKey probe("p", "p");
    Result<AddOutcome, Error> r = AddOutcome::kStored;
    if (d.value) {
      r = scratch.add_value(probe, d.unit, 0, *d.value, d.storage_resolution);
    } else if (!d.values.empty()) {
      r = scratch.add_values(probe, d.unit, 0, d.values, d.counts, d.storage_resolution);
    } else {
      r = scratch.add_statistic_set(probe, d.unit, 0, *d.statistic_values, d.storage_resolution);
    }
    if (!r) return Error{fmt::format("MetricData[{}].{}", i, r.error().message)};
  }
  std::size_t stored = 0;
  for (const auto& d : request.metric_data) {
    const MetricKey key(request.metric_namespace, d.metric_name, d.dimensions);
    Result<AddOutcome, Error> r = AddOutcome::kStored;
    if (d.value) {
      r = add_value(key, d.unit, d.timestamp_ms, *d.value, d.storage_resolution);
    } else if (!d.values.empty()) {
      r = add_values(key, d.unit, d.timestamp_ms, d.values, d.counts, d.storage_resolution);
    } else {
      r = add_statistic_set(key, d.unit, d.timestamp_ms, *d.statistic_values, d.storage_resolution);
    }
    if (r && r.value() == AddOutcome::kStored) ++stored;
  }
  return stored;
}

std::optional<Aggregate> MetricStore::query(const MetricKey& key, std::optional<StandardUnit> unit,
                                            std::int64_t start_ms, std::int64_t end_ms,
                                            bool include_values) const {
  auto it = impl_->metrics.find(key);
  if (it == impl_->metrics.end()) return std::nullopt;
  const std::int64_t from = std::max(start_ms, impl_->cutoff());
  if (from >= end_ms) return std::nullopt;
  ExactSum count, sum;
  double minimum = std::numeric_limits<double>::infinity();
  double maximum = -std::numeric_limits<double>::infinity();
  bool raw = include_values;
  bool any = false;
  std::vector<const Cell*> cells;
  for (const auto& series : it->second.units) {
    if (unit && series.unit != *unit) continue;
    for (auto c = series.cells.lower_bound(from); c != series.cells.end() && c->t < end_ms; ++c) {
      const Cell& cell = c->cell;
      any = true;
      count.add(cell.sample_count);
      sum.add(cell.sum);
      minimum = std::min(minimum, cell.minimum);
      maximum = std::max(maximum, cell.maximum);
      raw = raw && cell.raw;
      if (raw) cells.push_back(&cell);
    }
  }
  if (!any) return std::nullopt;
  Aggregate out;
  out.sample_count = count.value();
  out.sum = sum.value();
  out.minimum = minimum;
  out.maximum = maximum;
  if (raw) out.values = merged_values(cells);
  return out;
}

std::vector<StandardUnit> MetricStore::units_with_data(const MetricKey& key, std::int64_t start_ms,
                                                       std::int64_t end_ms) const {
  std::vector<StandardUnit> out;
  auto it = impl_->metrics.find(key);
  if (it == impl_->metrics.end()) return out;
  const std::int64_t from = std::max(start_ms, impl_->cutoff());
  for (const auto& series : it->second.units) {
    auto c = series.cells.lower_bound(from);
    if (c != series.cells.end() && c->t < end_ms) out.push_back(series.unit);
  }
  return out;
}

std::vector<MetricKey> MetricStore::keys() const {
  std::vector<MetricKey> out;
  const std::int64_t c = impl_->cutoff();
  for (const auto& [key, entry] : impl_->metrics) {
    for (const auto& s : entry.units) {
      if (s.cells.lower_bound(c) != s.cells.end()) {
        out.push_back(key);
        break;
      }
    }
  }
  return out;
}

void MetricStore::merge(const MetricStore& other) {
  impl_->revision = next_revision();
  if (this == &other) {
    const MetricStore copy(other);
    merge(copy);
    return;
  }
  Impl& me = *impl_;
  const Impl& them = *other.impl_;
  if (them.newest && (!me.newest || *them.newest > *me.newest)) me.newest = them.newest;
  me.floor = std::max(me.floor, them.floor);
  const std::int64_t c = me.cutoff();
  for (const auto& [key, entry] : them.metrics) {
    for (const auto& s : entry.units) {
      auto first = s.cells.lower_bound(c);
      if (first == s.cells.end()) continue;
      me.metrics[key].cells_for(s.unit).merge_from(first, s.cells.end());
    }
  }
  me.maybe_sweep(false);
}

void MetricStore::expire_before(std::int64_t ts_ms) {
  impl_->revision = next_revision();
  impl_->floor = std::max(impl_->floor, ts_ms);
  impl_->maybe_sweep(true);
}

std::int64_t MetricStore::cutoff() const noexcept { return impl_->cutoff(); }
std::uint64_t MetricStore::revision() const noexcept { return impl_ ? impl_->revision : 0; }

namespace {

// What a bucket walk accumulates, reused from bucket to bucket (and across the calls of one
// thread), so that a walk allocates nothing per bucket.
struct BucketBuilder {
  detail::ExactAccumulator count, sum;
  double minimum = std::numeric_limits<double>::infinity();
  double maximum = -std::numeric_limits<double>::infinity();
  bool raw = true;
  // The raw values as sorted runs (run i = values[bounds[i], bounds[i+1])), and merge scratch.
  std::vector<ValueCount> values, scratch;
  std::vector<std::size_t> bounds{0}, scratch_bounds;
  Aggregate aggregate;
  std::vector<ValueCount> stash;  // aggregate.values' buffer while the bucket has none

  void reset() {
    count.clear();
    sum.clear();
    minimum = std::numeric_limits<double>::infinity();
    maximum = -std::numeric_limits<double>::infinity();
    raw = true;
    values.clear();
    bounds.resize(1);
  }
  void add(const Cell& cell, bool include_values) {
    count.add(cell.sample_count);
    sum.add(cell.sum);
    minimum = std::min(minimum, cell.minimum);
    maximum = std::max(maximum, cell.maximum);
    if (!include_values || !raw) return;
    raw = cell.raw;
    if (!raw) return;
    // The cell's sorted prefix is one run; its unsorted tail, sorted here, another (equal values
    // across runs or inside the tail are coalesced after the merge).
    values.insert(values.end(), cell.values.begin(), cell.values.begin() + cell.sorted);
    bounds.push_back(values.size());
    if (cell.sorted < cell.values.size()) {
      values.insert(values.end(), cell.values.begin() + cell.sorted, cell.values.end());
      std::sort(values.begin() + static_cast<std::ptrdiff_t>(bounds.back()), values.end(), by_value);
      bounds.push_back(values.size());
    }
  }
  // The runs merged pairwise through `scratch`, then equal values coalesced: the bucket's
  // canonical multiset (what merged_values gives).
  void merge_values() {
    while (bounds.size() > 2) {
      scratch.resize(values.size());
      scratch_bounds.assign(1, 0);
      std::size_t i = 0;
      for (; i + 2 < bounds.size(); i += 2) {
        std::merge(values.begin() + static_cast<std::ptrdiff_t>(bounds[i]),
                   values.begin() + static_cast<std::ptrdiff_t>(bounds[i + 1]),
                   values.begin() + static_cast<std::ptrdiff_t>(bounds[i + 1]),
                   values.begin() + static_cast<std::ptrdiff_t>(bounds[i + 2]),
                   scratch.begin() + static_cast<std::ptrdiff_t>(bounds[i]), by_value);
        scratch_bounds.push_back(bounds[i + 2]);
      }
      if (i + 1 < bounds.size()) {  // an odd run left: copied as is
        std::copy(values.begin() + static_cast<std::ptrdiff_t>(bounds[i]), values.end(),
                  scratch.begin() + static_cast<std::ptrdiff_t>(bounds[i]));
        scratch_bounds.push_back(bounds.back());
      }
      values.swap(scratch);
      bounds.swap(scratch_bounds);
    }
    coalesce(values, 0);
  }
  const Aggregate& finish(bool include_values) {
    aggregate.sample_count = count.value_and_clear();
    aggregate.sum = sum.value_and_clear();
    aggregate.minimum = minimum;
    aggregate.maximum = maximum;
    if (include_values && raw) {
      merge_values();
      if (!aggregate.values) aggregate.values.emplace(std::move(stash));
      aggregate.values->swap(values);
    } else if (aggregate.values) {
      stash = std::move(*aggregate.values);
      aggregate.values.reset();
    }
    return aggregate;
  }
};

}  // namespace

void MetricStore::for_each_bucket(const MetricKey& key, std::optional<StandardUnit> unit, std::int64_t start_ms,
                                  std::int64_t period_ms, std::size_t count, bool include_values,
                                  const std::function<void(std::size_t, const Aggregate&)>& visit) const {
  if (period_ms <= 0 || count == 0) return;
  auto it = impl_->metrics.find(key);
  if (it == impl_->metrics.end()) return;
  const std::int64_t end_ms = start_ms + period_ms * static_cast<std::int64_t>(count);
  // The same cells query() reads for each bucket: start <= t < end and t >= cutoff.
  const std::int64_t from = std::max(start_ms, impl_->cutoff());
  if (from >= end_ms) return;
  struct Cursor {
    Cells::const_iterator at, end;
  };
  // One cursor per series read (one, unless the unit is open and the key has several units).
  std::array<Cursor, kStandardUnitCount> cursors;
  std::size_t n = 0;
  for (const auto& series : it->second.units) {
    if (unit && series.unit != *unit) continue;
    auto first = series.cells.lower_bound(from);
    if (first != series.cells.end() && first->t < end_ms && n < cursors.size())
      cursors[n++] = Cursor{first, series.cells.end()};
  }
  if (n == 0) return;
  // One builder per thread, reused; a visitor that walks again (same thread) gets its own.
  thread_local BucketBuilder shared;
  thread_local bool shared_busy = false;
  std::optional<BucketBuilder> own;
  BucketBuilder& b = shared_busy ? own.emplace() : shared;
  const bool owns_shared = !shared_busy;
  shared_busy = true;
  struct Release {
    bool active;
    ~Release() {
      if (active) shared_busy = false;
    }
  } release{owns_shared};
  if (n == 1) {
    Cursor& c = cursors[0];
    while (c.at != c.end && c.at->t < end_ms) {
      const auto i = static_cast<std::size_t>((c.at->t - start_ms) / period_ms);
      const std::int64_t bucket_end = start_ms + period_ms * static_cast<std::int64_t>(i + 1);
      b.reset();
      do {
        b.add(c.at->cell, include_values);
        ++c.at;
      } while (c.at != c.end && c.at->t < bucket_end);
      visit(i, b.finish(include_values));
    }
    return;
  }
  const std::span<Cursor> several(cursors.data(), n);
  for (;;) {
    std::int64_t next = end_ms;
    for (const Cursor& c : several)
      if (c.at != c.end) next = std::min(next, c.at->t);
    if (next >= end_ms) return;
    const auto i = static_cast<std::size_t>((next - start_ms) / period_ms);
    const std::int64_t bucket_end = start_ms + period_ms * static_cast<std::int64_t>(i + 1);
    b.reset();
    for (Cursor& c : several)
      for (; c.at != c.end && c.at->t < bucket_end; ++c.at) b.add(c.at->cell, include_values);
    visit(i, b.finish(include_values));
  }
}

std::vector<std::optional<Aggregate>> MetricStore::query_buckets(const MetricKey& key,
                                                                 std::optional<StandardUnit> unit,
                                                                 std::int64_t start_ms, std::int64_t period_ms,
                                                                 std::size_t count, bool include_values) const {
  std::vector<std::optional<Aggregate>> out(count);
  for_each_bucket(key, unit, start_ms, period_ms, count, include_values,
                  [&out](std::size_t i, const Aggregate& a) { out[i] = a; });
  return out;
}
std::optional<std::int64_t> MetricStore::newest_timestamp() const noexcept { return impl_->newest; }

const std::vector<DimensionCardinalityExcess>& MetricStore::dimension_cardinality_excesses() const noexcept {
  return impl_->excesses;
}
std::uint64_t MetricStore::dimension_cardinality_excess_count() const noexcept { return impl_->excess_count; }

std::size_t MetricStore::series_count() const noexcept {
  std::size_t n = 0;
  const std::int64_t c = impl_->cutoff();
  for (const auto& [key, entry] : impl_->metrics)
    for (const auto& s : entry.units) n += s.cells.lower_bound(c) != s.cells.end() ? 1 : 0;
  return n;
}

std::size_t MetricStore::cell_count() const noexcept {
  std::size_t n = 0;
  const std::int64_t c = impl_->cutoff();
  for (const auto& [key, entry] : impl_->metrics)
    for (const auto& s : entry.units)
      n += static_cast<std::size_t>(std::distance(s.cells.lower_bound(c), s.cells.end()));
  return n;
}

std::size_t MetricStore::memory_usage() const noexcept {
  std::size_t bytes = sizeof(MetricStore) + sizeof(Impl);
  const auto& m = impl_->metrics;
  bytes += m.bucket_count() * sizeof(void*);
  for (const auto& [key, entry] : m) {
    // unordered_map node: next pointer + cached hash + key + value.
    bytes += 2 * sizeof(void*) + sizeof(MetricKey) + sizeof(KeyEntry);
    bytes += key.metric_namespace().capacity() + key.metric_name().capacity();
    bytes += key.dimensions().capacity() * sizeof(Dimension);
    for (const auto& d : key.dimensions()) bytes += d.name.capacity() + d.value.capacity();
    bytes += entry.units.capacity() * sizeof(UnitSeries);
    for (const auto& s : entry.units) {
      bytes += s.cells.capacity() * sizeof(TimedCell);
      for (const auto& c : s.cells) bytes += c.cell.heap_bytes();
    }
  }
  return bytes;
}

bool MetricStore::operator==(const MetricStore& other) const {
  const Impl& a = *impl_;
  const Impl& b = *other.impl_;
  if (a.newest != b.newest || a.cutoff() != b.cutoff()) return false;
  const std::int64_t c = a.cutoff();
  // Compare live cells in both directions (dead cells may linger until the next sweep).
  auto live_cells = [c](const Cells& cells) {
    return std::make_pair(cells.lower_bound(c), cells.end());
  };
  auto contains_all = [&](const Impl& x, const Impl& y, bool compare_cells) {
    for (const auto& [key, entry] : x.metrics) {
      auto yit = y.metrics.find(key);
      for (const auto& s : entry.units) {
        auto [first, last] = live_cells(s.cells);
        if (first == last) continue;
        if (yit == y.metrics.end()) return false;
        const auto& yunits = yit->second.units;
        auto ys = std::find_if(yunits.begin(), yunits.end(),
                               [&](const UnitSeries& u) { return u.unit == s.unit; });
        if (ys == yunits.end()) return false;
        auto [yfirst, ylast] = live_cells(ys->cells);
        if (std::distance(first, last) != std::distance(yfirst, ylast)) return false;
        for (auto i = first, j = yfirst; i != last; ++i, ++j) {
          if (i->t != j->t) return false;
          if (compare_cells && !i->cell.exactly_equals(j->cell)) return false;
        }
      }
    }
    return true;
  };
  return contains_all(a, b, true) && contains_all(b, a, false);
}

}  // namespace cwfilter
