// Alarm evaluation throughput (issue 8 target: 10,000 alarms x one day of per-minute data in
// under 1 s of CPU). The store holds one day of per-minute data for 1,000 metrics; 10,000 alarms
// (10 per metric: Sum/Average/Maximum/p90, periods 60/300, N 1-5, all TreatMissingData modes)
// read it.
#include <benchmark/benchmark.h>

#include <cwfilter/alarm.hpp>
#include <cwfilter/metrics.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace cwfilter;
using namespace cwfilter::alarm;

namespace {

constexpr std::int64_t kDayStart = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int kMetrics = 1000;
constexpr int kAlarms = 10000;

struct Fixture {
  MetricStore store;
  std::vector<MetricAlarm> alarms;
  std::vector<DatapointSource> sources;

  Fixture() {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> value(0, 100);
    for (int m = 0; m < kMetrics; ++m) {
      const MetricKey key("Bench", "M" + std::to_string(m));
      for (int minute = 0; minute < 1440; ++minute)
        (void)store.add_value(key, StandardUnit::kCount, kDayStart + minute * 60000LL + 1000,
                              value(rng));
    }
    const char* stats[] = {"Sum", "Average", "Maximum", nullptr};
    const TreatMissingData treats[] = {TreatMissingData::kMissing, TreatMissingData::kIgnore,
                                       TreatMissingData::kBreaching, TreatMissingData::kNotBreaching};
    for (int i = 0; i < kAlarms; ++i) {
      MetricAlarm a;
      a.alarm_name = "alarm-" + std::to_string(i);
      a.metric_namespace = "Bench";
      a.metric_name = "M" + std::to_string(i % kMetrics);
      const char* stat = stats[i % 4];
      if (stat) a.statistic = stat;
      else a.extended_statistic = "p90";
      a.period = (i % 3 == 0) ? 300 : 60;
      a.evaluation_periods = 1 + i % 5;
      if (i % 2) a.datapoints_to_alarm = 1 + (i / 2) % a.evaluation_periods;
      a.threshold = 50 + (i % 7) * 10;
      a.comparison_operator = ComparisonOperator::kGreaterThanThreshold;
      a.treat_missing_data = treats[i % 4];
      alarms.push_back(std::move(a));
    }
    for (const auto& a : alarms) sources.push_back(store_source(store, a));
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Every alarm evaluated once, at the end of the day.
void BM_EvaluateAllAlarmsOnce(benchmark::State& state) {
  Fixture& f = fixture();
  const std::int64_t at = kDayStart + 1439 * 60000LL;
  for (auto _ : state) {
    for (std::size_t i = 0; i < f.alarms.size(); ++i) {
      auto ev = evaluate(f.alarms[i], AlarmState::initial(), at, f.sources[i]);
      benchmark::DoNotOptimize(ev);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(f.alarms.size()));
}
BENCHMARK(BM_EvaluateAllAlarmsOnce)->Unit(benchmark::kMillisecond);

// A one-day backtest (1,440 per-minute evaluations, state carried) of `range(0)` alarms; items =
// evaluations. The 10,000-alarm day is items/s / 14.4M.
void BM_BacktestDay(benchmark::State& state) {
  Fixture& f = fixture();
  const auto count = static_cast<std::size_t>(state.range(0));
  std::int64_t evaluations = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < count; ++i) {
      auto evs = backtest_range(f.alarms[i], AlarmState::initial(), kDayStart,
                                kDayStart + 1439 * 60000LL, f.sources[i]);
      evaluations += static_cast<std::int64_t>(evs.size());
      benchmark::DoNotOptimize(evs);
    }
  }
  state.SetItemsProcessed(evaluations);
}
BENCHMARK(BM_BacktestDay)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// Target 6 in full: the one-day backtest of all 10,000 alarms (14.4 M evaluations), keeping only
// the evaluations that change a state (backtest_changes_range; each alarm's bucket series read
// once, alarms of one metric sharing the store reads). Checked first against backtest_range on
// a sample of alarms.
void BM_BacktestDayAllAlarmsChanges(benchmark::State& state) {
  Fixture& f = fixture();
  const std::int64_t from = kDayStart, to = kDayStart + 1439 * 60000LL;
  {
    const auto all = backtest_changes_range(f.alarms, AlarmState::initial(), from, to, f.store);
    for (std::size_t i = 0; i < f.alarms.size(); i += 97) {
      const auto evs = backtest_range(f.alarms[i], AlarmState::initial(), from, to, f.sources[i]);
      std::size_t transitions = 0;
      for (const auto& ev : evs) transitions += ev.transition ? 1 : 0;
      std::size_t changes_transitions = 0;
      for (const auto& c : all[i].changes) changes_transitions += c.transition ? 1 : 0;
      if (transitions != changes_transitions || all[i].final_state.reason != evs.back().state.reason ||
          static_cast<std::size_t>(all[i].evaluations) != evs.size()) {
        state.SkipWithError("backtest_changes_range differs from backtest_range");
        return;
      }
    }
  }
  std::int64_t evaluations = 0, transitions = 0;
  for (auto _ : state) {
    const auto all = backtest_changes_range(f.alarms, AlarmState::initial(), from, to, f.store);
    for (const auto& b : all) {
      evaluations += b.evaluations;
      transitions += static_cast<std::int64_t>(b.changes.size());
    }
    benchmark::DoNotOptimize(all);
  }
  state.SetItemsProcessed(evaluations);
  state.counters["changes_per_run"] =
      benchmark::Counter(static_cast<double>(transitions), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_BacktestDayAllAlarmsChanges)->Unit(benchmark::kMillisecond);

// The store reads alone of that backtest: per metric, one whole-day query_buckets per bucket grid
// (one for the 60 s alarms, five phases for the 300 s ones), raw values for the p90 metrics.
void BM_StoreReadsDay(benchmark::State& state) {
  Fixture& f = fixture();
  std::int64_t buckets = 0;
  for (auto _ : state) {
    for (int m = 0; m < kMetrics; ++m) {
      const MetricKey key("Bench", "M" + std::to_string(m));
      const bool values = m % 4 == 3;  // alarms of metric m all have statistic m % 4 (p90 is 3)
      auto day = f.store.query_buckets(key, std::nullopt, kDayStart - 6 * 60000LL, 60000, 1446, values);
      buckets += static_cast<std::int64_t>(day.size());
      benchmark::DoNotOptimize(day);
      for (int phase = 0; phase < 5; ++phase) {
        auto grid = f.store.query_buckets(key, std::nullopt, kDayStart - (5 * 300 - phase * 60) * 1000LL, 300000, 293, values);
        buckets += static_cast<std::int64_t>(grid.size());
        benchmark::DoNotOptimize(grid);
      }
    }
  }
  state.SetItemsProcessed(buckets);
}
BENCHMARK(BM_StoreReadsDay)->Unit(benchmark::kMillisecond);

// The same grids read as the backtest reads them: MetricStore::for_each_bucket, each bucket's
// statistic computed on the spot (no Aggregate kept, nothing allocated per bucket).
void BM_StoreWalksDay(benchmark::State& state) {
  Fixture& f = fixture();
  const Statistic stats[] = {parse_statistic("Sum").value(), parse_statistic("Average").value(),
                             parse_statistic("Maximum").value(), parse_statistic("p90").value()};
  std::vector<std::optional<double>> day(1446), grid(293);
  std::int64_t buckets = 0;
  for (auto _ : state) {
    for (int m = 0; m < kMetrics; ++m) {
      const MetricKey key("Bench", "M" + std::to_string(m));
      const Statistic& statistic = stats[m % 4];  // alarms of metric m all have statistic m % 4
      const bool values = statistic.is_extended();
      std::fill(day.begin(), day.end(), std::nullopt);
      f.store.for_each_bucket(key, std::nullopt, kDayStart - 6 * 60000LL, 60000, day.size(), values,
                              [&](std::size_t i, const Aggregate& a) { day[i] = compute(statistic, a); });
      buckets += static_cast<std::int64_t>(day.size());
      benchmark::DoNotOptimize(day.data());
      for (int phase = 0; phase < 5; ++phase) {
        std::fill(grid.begin(), grid.end(), std::nullopt);
        f.store.for_each_bucket(key, std::nullopt, kDayStart - (5 * 300 - phase * 60) * 1000LL, 300000, grid.size(),
                                values, [&](std::size_t i, const Aggregate& a) { grid[i] = compute(statistic, a); });
        buckets += static_cast<std::int64_t>(grid.size());
        benchmark::DoNotOptimize(grid.data());
      }
    }
  }
  state.SetItemsProcessed(buckets);
}
BENCHMARK(BM_StoreWalksDay)->Unit(benchmark::kMillisecond);

// The same, alarm by alarm through their own store sources (no sharing of reads between alarms).
void BM_BacktestDayChangesPerAlarm(benchmark::State& state) {
  Fixture& f = fixture();
  const auto count = static_cast<std::size_t>(state.range(0));
  std::int64_t evaluations = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < count; ++i) {
      auto b = backtest_changes_range(f.alarms[i], AlarmState::initial(), kDayStart, kDayStart + 1439 * 60000LL,
                                      f.sources[i]);
      evaluations += b.evaluations;
      benchmark::DoNotOptimize(b);
    }
  }
  state.SetItemsProcessed(evaluations);
}
BENCHMARK(BM_BacktestDayChangesPerAlarm)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
