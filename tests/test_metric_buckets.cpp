// MetricStore::query_buckets / for_each_bucket (one walk over a series' flat cells, exact
// accumulators and run merges reused from bucket to bucket) against MetricStore::query, bucket by
// bucket, on randomized stores: out-of-order inserts, several units, high resolution, Values and
// Counts (whole and fractional), statistic sets (qualifying or not, with and without ranks),
// negative values, extremes (2^360, subnormals), repeated values, retention and expire_before.
// Every field is compared, the sum and count bit for bit (a -0.0 where query gives 0.0 would
// print differently), and so every statistic computed from them.
#include <catch2/catch.hpp>

#include <cwfilter/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

constexpr std::int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same(const std::optional<Aggregate>& got, const std::optional<Aggregate>& want) {
  if (got.has_value() != want.has_value()) return false;
  if (!got) return true;
  return same_bits(got->sample_count, want->sample_count) && same_bits(got->sum, want->sum) &&
         same_bits(got->minimum, want->minimum) && same_bits(got->maximum, want->maximum) &&
         got->values == want->values;
}

double random_value(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: return static_cast<double>(rng() % 5);                          // repeated small integers
    case 1: return -static_cast<double>(rng() % 1000) / 8.0;                // negative, exact
    case 2: return std::ldexp(1.0, 360) * (rng() % 2 ? 1 : -1);             // the extremes
    case 3: return std::ldexp(static_cast<double>(rng() % 1000 + 1), -1074);  // subnormal
    case 4: return 0.1 * static_cast<double>(rng() % 100);                  // inexact sums
    case 5: return std::ldexp(static_cast<double>(rng() % 1000003), static_cast<int>(rng() % 200) - 100);
    default: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
  }
}

void fill(std::mt19937_64& rng, MetricStore& store, const MetricKey& key, int datums, std::int64_t span_ms) {
  const StandardUnit units[] = {StandardUnit::kCount, StandardUnit::kSeconds, StandardUnit::kBytes};
  for (int d = 0; d < datums; ++d) {
    // Mostly forward in time (appends), often out of order (inserts before the newest cell).
    const std::int64_t ts = rng() % 4 == 0 ? kT0 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span_ms))
                                           : kT0 + span_ms * d / datums + static_cast<std::int64_t>(rng() % 90000);
    const StandardUnit unit = units[rng() % 8 == 0 ? 1 + rng() % 2 : 0];
    const int resolution = rng() % 6 == 0 ? kHighResolution : kStandardResolution;
    switch (rng() % 8) {
      case 0: {
        std::vector<double> values, counts;
        const bool with_counts = rng() % 2;
        for (int i = 0, n = 1 + static_cast<int>(rng() % 6); i < n; ++i) {
          values.push_back(random_value(rng));
          if (with_counts) counts.push_back(rng() % 7 == 0 ? 0.5 * static_cast<double>(rng() % 5) : static_cast<double>(rng() % 4));
        }
        (void)store.add_values(key, unit, ts, values, counts, resolution);
        break;
      }
      case 1: {
        StatisticSet set;
        if (rng() % 2) {  // qualifying: n samples of one value
          const double v = static_cast<double>(rng() % 50);
          set = {static_cast<double>(1 + rng() % 4), 0, v, v};
          set.sum = v * set.sample_count;
        } else {
          const double a = random_value(rng), b = random_value(rng);
          set = {1.0 + static_cast<double>(rng() % 3), a + b, std::min(a, b), std::max(a, b)};
        }
        (void)store.add_statistic_set(key, unit, ts, set, resolution);
        break;
      }
      default: (void)store.add_value(key, unit, ts, random_value(rng), resolution); break;
    }
  }
}

// Every bucket of every grid compared with query(); for_each_bucket visits exactly the non-empty
// buckets, in order.
std::size_t compare_grids(std::mt19937_64& rng, const MetricStore& store, const MetricKey& key, std::int64_t span_ms) {
  std::size_t buckets = 0;
  const std::int64_t periods[] = {1000, 10000, 60000, 60000, 300000, 300000, 420013, 3600000};
  const std::optional<StandardUnit> units[] = {std::nullopt, StandardUnit::kCount, StandardUnit::kSeconds,
                                               StandardUnit::kNone};
  for (int q = 0; q < 20; ++q) {
    const std::int64_t period = periods[rng() % 8];
    const std::int64_t start = kT0 - 3 * period + static_cast<std::int64_t>(rng() % 600000) -
                               (rng() % 4 == 0 ? 0 : static_cast<std::int64_t>(rng() % 60000));
    const auto count = static_cast<std::size_t>(std::min<std::int64_t>(600, span_ms / period + 6));
    const auto unit = units[rng() % 4];
    const bool values = rng() % 2;
    INFO("period " << period << " start " << start << " count " << count << " values " << values);
    const auto got = store.query_buckets(key, unit, start, period, count, values);
    REQUIRE(got.size() == count);
    std::vector<std::size_t> visited;
    store.for_each_bucket(key, unit, start, period, count, values, [&](std::size_t i, const Aggregate& a) {
      visited.push_back(i);
      REQUIRE(i < count);
      if (!same(a, got[i])) FAIL_CHECK("for_each_bucket differs from query_buckets at bucket " << i);
    });
    std::size_t v = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t s = start + static_cast<std::int64_t>(i) * period;
      const auto want = store.query(key, unit, s, s + period, values);
      if (!same(got[i], want)) {
        FAIL_CHECK("query_buckets differs from query at bucket " << i << ": sum " << (got[i] ? got[i]->sum : 0.0)
                                                                 << " vs " << (want ? want->sum : 0.0));
        continue;
      }
      if (want) {
        REQUIRE(v < visited.size());
        CHECK(visited[v++] == i);
        ++buckets;
      }
    }
    CHECK(v == visited.size());
  }
  return buckets;
}

}  // namespace

TEST_CASE("query_buckets and for_each_bucket equal query, bucket by bucket", "[metrics][optimised]") {
  std::mt19937_64 rng(20261129);
  std::size_t buckets = 0;
  for (int round = 0; round < 12; ++round) {
    MetricStoreOptions options;
    options.qualifying_statistic_sets_have_ranks = round % 2;
    if (round % 3 == 2) options.retention_ms = 3 * 3600000LL;
    MetricStore store(options);
    const MetricKey key("NS", "M", {{"D", std::to_string(round)}});
    const std::int64_t span = round % 4 == 0 ? 36 * 3600000LL : 6 * 3600000LL;
    fill(rng, store, key, round % 4 == 0 ? 5000 : 1500, span);
    (void)store.add_value(MetricKey("NS", "Other"), StandardUnit::kNone, kT0, 1.0);
    INFO("round " << round);
    buckets += compare_grids(rng, store, key, span);
    // A raised floor in the middle of the data, then more (also older) data.
    store.expire_before(kT0 + span / 3 + static_cast<std::int64_t>(rng() % 60000));
    fill(rng, store, key, 300, span);
    buckets += compare_grids(rng, store, key, span);
    // A copy and a merge of two halves read the same.
    MetricStore a(options), b(options);
    fill(rng, a, key, 400, span);
    fill(rng, b, key, 400, span);
    MetricStore ab = a;
    ab.merge(b);
    buckets += compare_grids(rng, ab, key, span);
  }
  CHECK(buckets > 20000);
}

TEST_CASE("for_each_bucket: empty, out-of-range and reentrant walks", "[metrics][optimised]") {
  MetricStore store;
  const MetricKey key("NS", "M");
  for (int i = 0; i < 100; ++i) (void)store.add_value(key, StandardUnit::kCount, kT0 + i * 60000LL, 1.0 * i);
  int calls = 0;
  const auto count_calls = [&](std::size_t, const Aggregate&) { ++calls; };
  store.for_each_bucket(MetricKey("NS", "Absent"), std::nullopt, kT0, 60000, 10, false, count_calls);
  store.for_each_bucket(key, StandardUnit::kSeconds, kT0, 60000, 10, false, count_calls);
  store.for_each_bucket(key, std::nullopt, kT0 - 600000, 60000, 10, false, count_calls);  // ends at kT0
  store.for_each_bucket(key, std::nullopt, kT0, 0, 10, false, count_calls);
  store.for_each_bucket(key, std::nullopt, kT0, 60000, 0, false, count_calls);
  CHECK(calls == 0);
  CHECK(store.query_buckets(key, std::nullopt, kT0, 0, 3).size() == 3);
  // A visitor that reads the store again (same thread) sees its own walk's answers.
  std::size_t inner = 0;
  store.for_each_bucket(key, std::nullopt, kT0, 300000, 20, true, [&](std::size_t i, const Aggregate& outer) {
    const double sum_before = outer.sum;
    const auto values_before = *outer.values;
    store.for_each_bucket(key, std::nullopt, kT0, 60000, 100, true, [&](std::size_t, const Aggregate&) { ++inner; });
    CHECK(outer.sum == sum_before);
    CHECK(*outer.values == values_before);
    const std::int64_t s = kT0 + static_cast<std::int64_t>(i) * 300000;
    CHECK(outer == *store.query(key, std::nullopt, s, s + 300000));
  });
  CHECK(inner == 20 * 100);
}
