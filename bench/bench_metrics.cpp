// Metric store throughput (datapoints aggregated per second) and memory per active metric series.
#include <benchmark/benchmark.h>

#include <cwfilter/metrics.hpp>

#include <random>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

constexpr std::int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kMin = 60'000;

std::vector<MetricKey> make_keys(int n) {
  std::vector<MetricKey> keys;
  for (int i = 0; i < n; ++i)
    keys.emplace_back("CISBenchmark", "failed_login_attempt_count",
                      std::vector<Dimension>{{"userName", "user-" + std::to_string(i)}});
  return keys;
}

// Metric-filter-like stream: value 1, 100 datapoints per second of event time, round-robin over
// `series` keys.
void BM_AddValue_Count(benchmark::State& state) {
  const auto keys = make_keys(static_cast<int>(state.range(0)));
  MetricStore store;
  std::int64_t ts = kT0;
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = store.add_value(keys[i % keys.size()], StandardUnit::kCount, ts, 1.0);
    benchmark::DoNotOptimize(r);
    ++i;
    ts += 10;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(i));
  state.counters["cells"] = static_cast<double>(store.cell_count());
}
BENCHMARK(BM_AddValue_Count)->Arg(1)->Arg(100)->Arg(10000);

// Latency-like stream: distinct random values (raw multiset grows per cell), 1000 per second.
void BM_AddValue_Latency(benchmark::State& state) {
  const auto keys = make_keys(static_cast<int>(state.range(0)));
  MetricStore store;
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(3.0, 1.0);
  std::vector<double> values(1 << 16);
  for (auto& v : values) v = latency(rng);
  std::int64_t ts = kT0;
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = store.add_value(keys[i % keys.size()], StandardUnit::kMilliseconds, ts,
                             values[i & (values.size() - 1)]);
    benchmark::DoNotOptimize(r);
    ++i;
    ts += 1;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(i));
}
BENCHMARK(BM_AddValue_Latency)->Arg(1)->Arg(100);

// A 5-minute alarm bucket of a latency metric (60 000 samples) and its p99.
void BM_Query_P99_5min(benchmark::State& state) {
  const auto keys = make_keys(1);
  MetricStore store;
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> latency(3.0, 1.0);
  for (int i = 0; i < 60'000; ++i)
    (void)store.add_value(keys[0], StandardUnit::kMilliseconds, kT0 + i * 5, latency(rng));
  const Statistic p99 = parse_statistic("p99").value();
  for (auto _ : state) {
    auto agg = store.query(keys[0], StandardUnit::kMilliseconds, kT0, kT0 + 5 * kMin);
    benchmark::DoNotOptimize(compute(p99, *agg));
  }
  state.SetItemsProcessed(state.iterations() * 60'000);
}
BENCHMARK(BM_Query_P99_5min);

// Memory per active series: `series` metric-filter series (value 1, a few matches per minute) over
// `minutes` of data. Reports bytes per series and per one-minute cell.
void BM_MemoryPerSeries(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const int minutes = static_cast<int>(state.range(1));
  const auto keys = make_keys(series);
  std::size_t bytes = 0;
  std::size_t cells = 0;
  for (auto _ : state) {
    MetricStore store;
    for (int m = 0; m < minutes; ++m)
      for (int s = 0; s < series; ++s)
        for (int k = 0; k < 3; ++k)
          (void)store.add_value(keys[s], StandardUnit::kCount, kT0 + m * kMin + k * 1000, 1.0);
    bytes = store.memory_usage();
    cells = store.cell_count();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / series;
  state.counters["bytes_per_cell"] = static_cast<double>(bytes) / static_cast<double>(cells);
  state.counters["cells"] = static_cast<double>(cells);
}
BENCHMARK(BM_MemoryPerSeries)
    ->Args({1000, 1})        // 1000 series active in one minute
    ->Args({100, 60})        // one hour
    ->Args({1, 15 * 24 * 60})  // one series over the full 15-day retention
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
