// CloudWatch metrics: identity, units, an exact mergeable metric store, and statistics.
//
// alarms.md §1 (raw data), §2 (statistics), DECISIONS 19 (exact nearest-rank percentiles).
//
// Store model
// -----------
// * A series is (MetricKey, StandardUnit). "Metric data points that specify a unit of measure are
//   aggregated separately": query(key, unit) sees only that unit's series; query(key, nullopt)
//   aggregates every unit of the key together (a caller that wants alarms.md A14's "unit with
//   data in the newest bucket" can ask units_with_data() first).
// * Each datum is stored in a cell at its *effective* timestamp: floor(ts, 60 s) for
//   StorageResolution 60 (standard), floor(ts, 1 s) for StorageResolution 1 (high resolution)
//   (alarms.md §1.3). query(start, end) aggregates the cells with start <= t_eff < end, so buckets
//   can start anywhere (alarm buckets end at the evaluation instant, alarms.md §6.2).
//   High-resolution cells are kept at 1-second granularity for the whole retention (AWS rolls
//   them up to 1 minute after 3 hours; minute-aligned queries, which alarms with Period >= 60 use,
//   are unaffected).
// * Retention: a cell is live iff t_eff >= cutoff(), where
//     cutoff() = max(newest effective timestamp ever added - retention, expire_before() floor).
//   Default retention 15 days: CloudWatch keeps 1-minute data 15 days, and PutMetricData accepts
//   timestamps at most 2 weeks old, so nothing AWS would still answer is dropped. Memory is
//   therefore bounded by (series x retention / resolution x distinct values per cell), not by the
//   number of events. Data older than cutoff() is refused with AddOutcome::kExpired.
// * Exactness and merge: a cell holds SampleCount and Sum as exact sums (a set of floating-point
//   partials whose exact real sum is the true total, Shewchuk/fsum style), Minimum, Maximum, and
//   (while every contribution qualifies for the percentile family) the exact multiset of raw
//   values as value -> count. Results are rounded once, correctly, at query time, so the result
//   does not depend on the order in which data arrived or on how a stream was split:
//   merge(store(A), store(B)) == store(A + B) exactly (operator== compares live cells exactly).
// * Missing is not zero: query() returns nullopt when no datum lies in the range.
//
// Thread-safety: const methods may run concurrently; mutation needs external synchronisation.
#pragma once

#include <cwfilter/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter {

// ---------------------------------------------------------------------------------------------
// Units (CloudWatch StandardUnit; never converted).

enum class StandardUnit {
  kSeconds, kMicroseconds, kMilliseconds,
  kBytes, kKilobytes, kMegabytes, kGigabytes, kTerabytes,
  kBits, kKilobits, kMegabits, kGigabits, kTerabits,
  kPercent, kCount,
  kBytesPerSecond, kKilobytesPerSecond, kMegabytesPerSecond, kGigabytesPerSecond,
  kTerabytesPerSecond,
  kBitsPerSecond, kKilobitsPerSecond, kMegabitsPerSecond, kGigabitsPerSecond, kTerabitsPerSecond,
  kCountPerSecond,
  kNone,
};
inline constexpr std::size_t kStandardUnitCount = 27;

// AWS spelling: "Seconds", "Bytes/Second", "Count/Second", "None", ...
std::string_view to_string(StandardUnit unit) noexcept;
// Case-sensitive, as AWS's enum validation is. Unknown -> Error naming the accepted values.
Result<StandardUnit, Error> parse_standard_unit(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Metric identity (alarms.md §1.1): namespace, name and the exact set of dimensions.

struct Dimension {
  std::string name;
  std::string value;
  bool operator==(const Dimension&) const = default;
};

class MetricKey {
 public:
  MetricKey() = default;
  // Dimensions are sorted by name (then value) so that equality ignores the order given.
  MetricKey(std::string metric_namespace, std::string metric_name,
            std::vector<Dimension> dimensions = {});

  const std::string& metric_namespace() const noexcept { return namespace_; }
  const std::string& metric_name() const noexcept { return name_; }
  const std::vector<Dimension>& dimensions() const noexcept { return dimensions_; }

  bool operator==(const MetricKey&) const = default;
  std::size_t hash() const noexcept;

 private:
  std::string namespace_;
  std::string name_;
  std::vector<Dimension> dimensions_;  // sorted by name
};

// PutMetricData's shape constraints (alarms.md §1.1): namespace and name 1-255 characters, at most
// 30 dimensions, unique names of 1-255 characters not starting with ':', values of 1-1024
// characters, ASCII, not only whitespace. nullopt when valid.
std::optional<Error> validate_metric_key(const MetricKey& key);

// ---------------------------------------------------------------------------------------------
// Input data.

// PutMetricData StatisticValues.
struct StatisticSet {
  double sample_count = 0;
  double sum = 0;
  double minimum = 0;
  double maximum = 0;
};

// alarms.md §2.2: a statistic set feeds the percentile family only when it is equivalent to raw
// samples: Min == Max and Sum == Min x SampleCount (SampleCount 1 with Min = Max = Sum is a
// special case), with a whole-number SampleCount. The product is compared as a double.
// A qualifying set contributes SampleCount raw samples of Min.
bool qualifies_for_percentiles(const StatisticSet& set) noexcept;

inline constexpr int kStandardResolution = 60;  // StorageResolution 60: one-minute cells
inline constexpr int kHighResolution = 1;       // StorageResolution 1: one-second cells

// One MetricDatum of a PutMetricData request, after parsing. Exactly one of value /
// values(+counts) / statistic_values is set.
struct MetricDatum {
  std::string metric_name;
  std::vector<Dimension> dimensions;
  std::int64_t timestamp_ms = 0;  // milliseconds since the epoch (UTC)
  std::optional<double> value;
  std::vector<double> values;
  std::vector<double> counts;  // empty = 1 each; otherwise same length as values
  std::optional<StatisticSet> statistic_values;
  StandardUnit unit = StandardUnit::kNone;
  int storage_resolution = kStandardResolution;
};

struct PutMetricDataRequest {
  std::string metric_namespace;
  std::vector<MetricDatum> metric_data;
};

struct PutMetricDataParseOptions {
  // Namespace used for a bare MetricDatum array (required then).
  std::string default_namespace;
  // Timestamp for data without one (AWS: time of receipt). Without it, a missing Timestamp is an
  // error.
  std::optional<std::int64_t> receipt_time_ms;
  // AWS refuses namespaces starting with "AWS/" in PutMetricData. Off by default so that recorded
  // AWS metrics (AWS/EC2 ...) can be replayed locally.
  bool reject_reserved_namespace = false;
};

// Parses and validates a PutMetricData request as JSON: {"Namespace": "...", "MetricData": [...]}
// or a bare [MetricDatum, ...] array. MetricDatum fields: MetricName, Dimensions [{Name, Value}],
// Timestamp (ISO-8601 string, or a number = epoch seconds), Value | Values (+ Counts) |
// StatisticValues {SampleCount, Sum, Minimum, Maximum}, Unit, StorageResolution (1 | 60).
// Validation as AWS: NaN/Infinity rejected, |v| <= 2^360, at most 150 Values and Counts of the same
// length, at most 1000 MetricData. Errors name the offending field, e.g. "MetricData[2].Values: ...".
Result<PutMetricDataRequest, Error> parse_put_metric_data(std::string_view json,
                                                          const PutMetricDataParseOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Aggregates and the store.

struct ValueCount {
  double value = 0;
  std::uint64_t count = 0;
  bool operator==(const ValueCount&) const = default;
};

// Everything in one bucket [start, end) of one metric (one unit, or all units).
struct Aggregate {
  double sample_count = 0;  // > 0: an Aggregate is never returned for an empty bucket
  double sum = 0;           // correctly rounded exact sum
  double minimum = 0;
  double maximum = 0;
  // The raw samples, ascending by value, counts > 0; present iff every contribution was a raw
  // value (Value, Values/Counts with whole counts) or a qualifying StatisticSet (§2.2).
  std::optional<std::vector<ValueCount>> values;

  double average() const noexcept { return sum / sample_count; }
  bool operator==(const Aggregate&) const = default;
};

struct MetricStoreOptions {
  // See "Retention" above. 15 days by default.
  std::int64_t retention_ms = 15LL * 24 * 3600 * 1000;
  // DECISIONS 19 (which overrides alarms.md §2.2): "a bucket fed only by statistic sets has no
  // percentile", so by default every statistic set removes ranks from its cell. true = alarms.md
  // §2.2's reading: a qualifying StatisticSet counts as SampleCount raw samples of its Minimum.
  bool qualifying_statistic_sets_have_ranks = false;
  // Dimension cardinality (DECISIONS: docs/decisions.md "Dimension cardinality"). CloudWatch Logs
  // "might disable a metric filter if it generates 1,000 different name/value pairs for your
  // specified dimensions within one hour" (PutMetricFilter). The store counts, per metric
  // (namespace + name) that has dimensions, the distinct dimension sets per UTC clock hour of the
  // datapoints' timestamps, and records each (metric, hour) that reaches this many. Data is still
  // stored (cwfilter reports, it does not disable). 0 = no tracking.
  std::size_t dimension_sets_per_hour_limit = 1000;
};

// A metric that reached MetricStoreOptions::dimension_sets_per_hour_limit distinct dimension sets
// within one clock hour.
struct DimensionCardinalityExcess {
  std::string metric_namespace;
  std::string metric_name;
  std::int64_t hour_start_ms = 0;  // the UTC hour [hour_start_ms, + 1 h)
  bool operator==(const DimensionCardinalityExcess&) const = default;
};

// Bounds of the tracking, so that hostile dimension values cannot grow memory: per metric, only
// the newest kDimensionTrackingHours hours are tracked (older datapoints are not counted), each
// holds at most the limit's sets, and at most kMaxDimensionExcessesKept excesses are listed (all
// are counted).
inline constexpr std::size_t kDimensionTrackingHours = 3;
inline constexpr std::size_t kMaxDimensionExcessesKept = 1000;

enum class AddOutcome {
  kStored,
  kExpired,  // older than cutoff(): dropped, as AWS drops data beyond its retention
};

class MetricStore {
 public:
  explicit MetricStore(MetricStoreOptions options = {});
  MetricStore(const MetricStore& other);
  MetricStore& operator=(const MetricStore& other);
  MetricStore(MetricStore&&) noexcept;
  MetricStore& operator=(MetricStore&&) noexcept;
  ~MetricStore();

  const MetricStoreOptions& options() const noexcept;

  // One sample. storage_resolution is 60 or 1. Errors: NaN/Inf, |value| > 2^360, bad resolution.
  Result<AddOutcome, Error> add_value(const MetricKey& key, StandardUnit unit,
                                      std::int64_t timestamp_ms, double value,
                                      int storage_resolution = kStandardResolution);
  // Values/Counts: count_i samples of values[i]; counts empty = all 1. Counts must be >= 0;
  // a zero count adds nothing; a fractional count is summed exactly but makes the cell
  // ineligible for percentiles (only whole samples have ranks).
  Result<AddOutcome, Error> add_values(const MetricKey& key, StandardUnit unit,
                                       std::int64_t timestamp_ms, std::span<const double> values,
                                       std::span<const double> counts,
                                       int storage_resolution = kStandardResolution);
  // StatisticValues. SampleCount must be > 0 and Minimum <= Maximum.
  Result<AddOutcome, Error> add_statistic_set(const MetricKey& key, StandardUnit unit,
                                              std::int64_t timestamp_ms, const StatisticSet& set,
                                              int storage_resolution = kStandardResolution);
  // A parsed request: every datum is validated before any is stored (all or nothing).
  // Returns how many datums were stored (the others had expired).
  Result<std::size_t, Error> put(const PutMetricDataRequest& request);

  // Aggregate of the live cells with start_ms <= t_eff < end_ms; nullopt when there is none.
  // include_values = false skips collecting the raw multiset (Aggregate::values stays nullopt):
  // cheaper when only SampleCount/Sum/Average/Minimum/Maximum are wanted.
  std::optional<Aggregate> query(const MetricKey& key, std::optional<StandardUnit> unit,
                                 std::int64_t start_ms, std::int64_t end_ms,
                                 bool include_values = true) const;
  // The aggregates of `count` consecutive buckets [start + i x period, start + (i+1) x period),
  // each exactly what query(key, unit, ..., include_values) returns for it (nullopt for an empty
  // bucket), in one lookup of the key and one walk over its cells.
  std::vector<std::optional<Aggregate>> query_buckets(const MetricKey& key, std::optional<StandardUnit> unit,
                                                      std::int64_t start_ms, std::int64_t period_ms,
                                                      std::size_t count, bool include_values = false) const;
  // Calls visit(i, aggregate) for every non-empty bucket i of query_buckets(...), in increasing
  // i, with what query_buckets returns for it. The aggregate lives only during the call. Nothing
  // is allocated per bucket: for reads that compute a statistic from each bucket and keep that.
  void for_each_bucket(const MetricKey& key, std::optional<StandardUnit> unit, std::int64_t start_ms,
                       std::int64_t period_ms, std::size_t count, bool include_values,
                       const std::function<void(std::size_t, const Aggregate&)>& visit) const;
  // Changes whenever the content may have changed (every add, put, merge, expire_before); unique
  // across stores. Caches of query results compare it.
  std::uint64_t revision() const noexcept;

  // Units that have live data for `key` in [start_ms, end_ms), in StandardUnit order.
  std::vector<StandardUnit> units_with_data(const MetricKey& key, std::int64_t start_ms,
                                            std::int64_t end_ms) const;
  // Every metric key with live data (unordered).
  std::vector<MetricKey> keys() const;

  // Adds every live cell of `other`. The result's cutoff is the larger of the two.
  void merge(const MetricStore& other);

  // Raises the retention floor: cells with t_eff < ts_ms are dropped now and refused later.
  void expire_before(std::int64_t ts_ms);
  // Current cutoff (INT64_MIN when nothing has been added nor expired).
  std::int64_t cutoff() const noexcept;
  // Newest effective timestamp ever added (nullopt when none).
  std::optional<std::int64_t> newest_timestamp() const noexcept;

  std::size_t series_count() const noexcept;  // live (key, unit) series
  std::size_t cell_count() const noexcept;    // live cells over all series
  // Estimated heap + object bytes held by the store.
  std::size_t memory_usage() const noexcept;

  // Dimension cardinality (MetricStoreOptions::dimension_sets_per_hour_limit): every (metric,
  // hour) that reached the limit, in the order they did (first kMaxDimensionExcessesKept), and
  // how many did. merge() does not carry them over.
  const std::vector<DimensionCardinalityExcess>& dimension_cardinality_excesses() const noexcept;
  std::uint64_t dimension_cardinality_excess_count() const noexcept;

  // Exact comparison of the live content (cells, cutoff, newest timestamp), independent of the
  // order data arrived in or of internal representation.
  bool operator==(const MetricStore& other) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Statistics (alarms.md §2.2, DECISIONS 19).

// A boundary of TM/WM/TC/TS/PR, or the pNN of a percentile.
struct StatisticBound {
  bool percent = false;  // "10%" (rank-based) versus "10" (a metric value)
  double value = 0;      // the number as written (percent or metric value)
  // Percent boundaries exactly: value = percent_e10 / 1e10 (at most 10 decimals).
  std::uint64_t percent_e10 = 0;
  bool operator==(const StatisticBound&) const = default;
};

struct Statistic {
  enum class Kind {
    kSampleCount, kSum, kAverage, kMinimum, kMaximum,  // the standard five
    kPercentile,      // pNN: upper = NN%
    kTrimmedMean,     // TM(a:b), tmNN = TM(:NN%), IQM = TM(25%:75%)
    kWinsorizedMean,  // WM(a:b), wmNN
    kTrimmedCount,    // TC(a:b), tcNN
    kTrimmedSum,      // TS(a:b), tsNN
    kPercentileRank,  // PR(a:b), absolute boundaries only
  };
  Kind kind = Kind::kAverage;
  std::optional<StatisticBound> lower;  // absent = no lower boundary
  std::optional<StatisticBound> upper;  // absent = no upper boundary
  std::string name;                     // as written, e.g. "p99.9", "TM(10%:90%)", "IQM"

  bool is_extended() const noexcept { return kind >= Kind::kPercentile; }
  bool operator==(const Statistic&) const = default;
};

// Parses "SampleCount" | "Sum" | "Average" | "Minimum" | "Maximum" | "IQM" | pNN | tmNN | wmNN |
// tcNN | tsNN (NN in 0..100, at most 10 decimals) | TM/WM/TC/TS(a:b) with a, b each optional
// (not both), each "N%" or an absolute number | PR(a:b) (absolute only). Case-sensitive.
// Boundary checks: percents in 0..100, lower < upper when both are of the same kind.
Result<Statistic, Error> parse_statistic(std::string_view text);

// PutMetricAlarm's ExtendedStatistic restrictions on top of parse_statistic (alarms.md §2.2):
// pNN, tmNN, tcNN, tsNN, wmNN, IQM, PR(n:m), and TC/TM/TS/WM(X%:X%) with both X in 10..90.
// The standard five are not extended statistics and are refused here.
std::optional<Error> validate_alarm_extended_statistic(const Statistic& statistic);

// The statistic over one bucket. nullopt when AWS would publish no value:
// - percentile family without raw values (non-qualifying statistic set) or with a negative value;
// - TM with no sample inside the boundaries. (TC and TS then give 0; PR gives 0.)
// pNN is exact nearest rank: the sample of rank max(1, ceil(NN/100 x n)) (1-based, ascending).
// Absolute boundaries keep a < v <= b (lower exclusive, upper inclusive); WM clamps v to [a, b].
// Percent boundaries trim by rank, as "remove the lowest a% and the highest (100-b)%": the sorted
// samples are laid on the rank axis, sample r covering (r-1, r], and the axis is cut at a/100 x n
// and b/100 x n; a sample cut by a boundary counts with the covered fraction (so TC(10%:90%) of
// n samples is 0.8 n, and TS = TM x TC holds, as AWS documents; AWS also says TC may be
// fractional). WM gives the trimmed-off mass the value of the nearest-rank percentile at that
// boundary. Sums are exact and rounded once (the boundary fractions are rounded to double).
std::optional<double> compute(const Statistic& statistic, const Aggregate& aggregate);

// alarms.md §2.3: the sample count below which a percentile datapoint is "low-sample":
// 10 / (1 - p) for 0.5 <= p < 1, 10 / p for 0 < p < 0.5 (p = NN / 100). nullopt for non-percentile
// statistics and for p0 / p100 (no threshold).
std::optional<double> low_sample_count_threshold(const Statistic& statistic);
// sample_count < threshold, compared exactly (no rounding of 10 / (1 - p)).
bool is_low_sample_count(const Statistic& statistic, double sample_count);

}  // namespace cwfilter

template <>
struct std::hash<cwfilter::MetricKey> {
  std::size_t operator()(const cwfilter::MetricKey& key) const noexcept { return key.hash(); }
};
