// Alarm side of issue 8 (target 6: 10,000 alarms x one day of per-minute data in under 1 s of
// CPU). The store holds one day of per-minute data for 1,000 metrics; 10,000 alarms (10 per
// metric: Sum/Average/Maximum/p90, periods 60/300, N 1-5) read it. Three readings:
//   - StoreReadsDay: every bucket of the day that a one-day backtest reads, for all 10,000 alarms,
//     through store_source (the part of the target that lives in the metric store);
//   - StoreReadsDay_WithValues: the same reads building the raw-value multiset for every bucket
//     (the path before issue 8: every query collected values, even for Sum/Average/Maximum);
//   - EvaluateOnce: each alarm evaluated once at the end of the day (alarm::evaluate);
//   - BacktestDay/N: one-day backtests (1,440 evaluations each) of N alarms; the counter
//     projected_10k_cpu_s extrapolates to 10,000 alarms.
// And one Pipeline replay (BM_Pipeline_DimensionedLongReach): a metric filter with a dimension per
// eventName beside an alarm reading 24 hours, so the Pipeline's save_state journal holds a day of
// cells (it was walked whole for every event).
// Every benchmark first checks the cheap path against the full query on a sample of buckets.
#include <benchmark/benchmark.h>

#include <cwfilter/alarm.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/pipeline.hpp>

#include <random>
#include <string>
#include <vector>

using namespace cwfilter;
using namespace cwfilter::alarm;

namespace {

constexpr std::int64_t kDayStart = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kDayMs = 86400000;
constexpr int kMetrics = 1000;
constexpr int kAlarms = 10000;

struct Fixture {
  MetricStore store;
  std::vector<MetricAlarm> alarms;
  std::vector<DatapointSource> sources;
  std::vector<Statistic> statistics;

  Fixture() {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> value(0, 100);
    for (int m = 0; m < kMetrics; ++m) {
      const MetricKey key("Bench", "M" + std::to_string(m));
      for (int minute = 0; minute < 1440; ++minute)
        (void)store.add_value(key, StandardUnit::kCount, kDayStart + minute * 60000LL + 1000, value(rng));
    }
    const char* stats[] = {"Sum", "Average", "Maximum", nullptr};
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
      a.threshold = 50 + (i % 7) * 10;
      a.comparison_operator = ComparisonOperator::kGreaterThanThreshold;
      alarms.push_back(a);
      statistics.push_back(parse_statistic(stat ? stat : "p90").value());
      sources.push_back(store_source(store, alarms.back()));
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// The source's answer must equal the full query (values included) followed by compute().
bool check_sources(benchmark::State& state) {
  Fixture& f = fixture();
  for (int i = 0; i < kAlarms; i += 97) {
    const auto& a = f.alarms[static_cast<std::size_t>(i)];
    const std::int64_t period = a.period * 1000LL;
    for (std::int64_t s = kDayStart - period; s < kDayStart + kDayMs + period; s += period * 7) {
      auto got = f.sources[static_cast<std::size_t>(i)](s, s + period);
      auto agg = f.store.query(MetricKey(a.metric_namespace, a.metric_name, a.dimensions), a.unit, s, s + period, true);
      std::optional<double> want = agg ? compute(f.statistics[static_cast<std::size_t>(i)], *agg) : std::nullopt;
      if (got.has_value() != want.has_value() || (got && (got->value != *want || got->sample_count != agg->sample_count))) {
        state.SkipWithError("store_source differs from the full query");
        return false;
      }
    }
  }
  return true;
}

void BM_Alarms10k_StoreReadsDay(benchmark::State& state) {
  Fixture& f = fixture();
  if (!check_sources(state)) return;
  std::int64_t reads = 0;
  for (auto _ : state) {
    double sink = 0;
    for (std::size_t i = 0; i < f.alarms.size(); ++i) {
      const std::int64_t period = f.alarms[i].period * 1000LL;
      for (std::int64_t s = kDayStart; s < kDayStart + kDayMs; s += period) {
        auto d = f.sources[i](s, s + period);
        if (d) sink += d->value;
        ++reads;
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(reads);
  state.counters["alarms"] = kAlarms;
}
BENCHMARK(BM_Alarms10k_StoreReadsDay)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_Alarms10k_StoreReadsDay_WithValues(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<MetricKey> keys;
  for (const auto& a : f.alarms) keys.emplace_back(a.metric_namespace, a.metric_name, a.dimensions);
  std::int64_t reads = 0;
  for (auto _ : state) {
    double sink = 0;
    for (std::size_t i = 0; i < f.alarms.size(); ++i) {
      const std::int64_t period = f.alarms[i].period * 1000LL;
      for (std::int64_t s = kDayStart; s < kDayStart + kDayMs; s += period) {
        auto agg = f.store.query(keys[i], f.alarms[i].unit, s, s + period, true);
        if (agg)
          if (auto v = compute(f.statistics[i], *agg)) sink += *v;
        ++reads;
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(reads);
}
BENCHMARK(BM_Alarms10k_StoreReadsDay_WithValues)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->Iterations(1);

void BM_Alarms10k_EvaluateOnce(benchmark::State& state) {
  Fixture& f = fixture();
  if (!check_sources(state)) return;
  const std::int64_t at = kDayStart + 1439 * 60000LL;
  for (auto _ : state) {
    for (std::size_t i = 0; i < f.alarms.size(); ++i) {
      auto ev = evaluate(f.alarms[i], AlarmState::initial(), at, f.sources[i]);
      benchmark::DoNotOptimize(ev);
    }
  }
  state.SetItemsProcessed(state.iterations() * kAlarms);
}
BENCHMARK(BM_Alarms10k_EvaluateOnce)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_Alarms_BacktestDay(benchmark::State& state) {
  Fixture& f = fixture();
  const auto count = static_cast<std::size_t>(state.range(0));
  std::int64_t evaluations = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < count; ++i) {
      auto evs = backtest_range(f.alarms[i], AlarmState::initial(), kDayStart, kDayStart + 1439 * 60000LL,
                                f.sources[i]);
      evaluations += static_cast<std::int64_t>(evs.size());
      benchmark::DoNotOptimize(evs);
    }
  }
  state.SetItemsProcessed(evaluations);
  state.counters["projected_10k_cpu_s"] = benchmark::Counter(
      static_cast<double>(count) / static_cast<double>(kAlarms), benchmark::Counter::kIsIterationInvariantRate |
                                                                     benchmark::Counter::kInvert);
}
BENCHMARK(BM_Alarms_BacktestDay)->Arg(200)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace


namespace {

void BM_Pipeline_DimensionedLongReach(benchmark::State& state) {
  const char* config = R"({
    "metricFilters": [{"filterName": "by-name", "logGroupName": "ct", "filterPattern": "{ $.eventName = * }",
      "metricTransformations": [{"metricName": "Calls", "metricNamespace": "CT", "metricValue": "1",
                                 "dimensions": {"EventName": "$.eventName"}}]}],
    "metricAlarms": [{"AlarmName": "calls", "Namespace": "CT", "MetricName": "Calls",
      "Dimensions": [{"Name": "EventName", "Value": "ConsoleLogin"}], "Statistic": "Sum", "Period": 3600,
      "EvaluationPeriods": 24, "Threshold": 1000000, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}]})";
  std::vector<LogEvent> base;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(std::string(CWFILTER_SHARED_DIR) + "/corpus/cloudtrail/" + dir);
    if (r.ok())
      for (auto& e : r.value().events) base.push_back(std::move(e));
  }
  std::vector<LogEvent> events;  // 8 copies, one per second of event time
  std::int64_t t = kDayStart;
  for (int k = 0; k < 8; ++k)
    for (auto e : base) {
      e.timestamp_ms = t += 1000;
      e.has_timestamp = true;
      events.push_back(std::move(e));
    }
  auto cfg = parse_pipeline_config(config);
  if (!cfg.ok()) return state.SkipWithError("config");
  std::uint64_t datapoints = 0;
  for (auto _ : state) {
    auto p = Pipeline::create(*cfg, {}, nullptr);
    if (!p.ok()) return state.SkipWithError("create");
    for (const auto& e : events) p->add(e);
    p->finish();
    datapoints = p->summary().filters[0].datapoints;
  }
  state.counters["events"] = static_cast<double>(events.size());
  state.counters["datapoints"] = static_cast<double>(datapoints);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
}
BENCHMARK(BM_Pipeline_DimensionedLongReach)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
