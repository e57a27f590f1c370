// Streak detection's cost on top of the seed's metric filter (issue 11: target < 10% added).
// The CloudTrail corpus stream (every event file, repeated to ~8 MB, re-timed 1 s apart) through
//   BM_MetricFilterOnly:  the seed metric filter (CIS console sign-in failures);
//   BM_MetricFilterStreak: the same filter plus a streak detector (failure/success patterns,
//                          default GroupBy, Threshold 3, Window 300 s, default lateness).
// The ratio is printed at the end.
#include <cwfilter/input.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/streak.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

constexpr const char* kFailure = R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })";
constexpr const char* kSuccess = R"({ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = "Success") })";

const std::vector<LogEvent>& stream() {
  static const std::vector<LogEvent> events = [] {
    std::vector<LogEvent> base;
    for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
      auto r = read_all(std::string(CWFILTER_SHARED_DIR) + "/corpus/cloudtrail/" + dir);
      if (!r.ok()) continue;
      for (auto& e : r.value().events) base.push_back(std::move(e));
    }
    std::vector<LogEvent> out;
    std::size_t bytes = 0;
    std::int64_t t = 1793610000000;
    while (bytes < (8u << 20) && !base.empty())
      for (const auto& e : base) {
        LogEvent c = e;
        c.timestamp_ms = t;
        c.has_timestamp = true;
        t += 1000;
        bytes += c.message.size();
        out.push_back(std::move(c));
      }
    return out;
  }();
  return events;
}

MetricFilter seed_filter() {
  MetricTransformation mt;
  mt.metric_name = "ConsoleSigninFailureCount";
  mt.metric_namespace = "CloudTrailMetrics";
  mt.metric_value = "1";
  return MetricFilter::create(kFailure, mt).value();
}

streak::StreakRule streak_rule() {
  streak::StreakAlarm a;
  a.alarm_name = "console-login-streak";
  a.log_group_name = "aws-cloudtrail-logs";
  a.failure_pattern = kFailure;
  a.success_pattern = kSuccess;
  a.threshold = 3;
  a.window_seconds = 300;
  a.alarm_actions = {"arn:aws:sns:us-east-1:111122223333:security"};
  return streak::StreakRule::create(a).value();
}

std::size_t stream_bytes() {
  std::size_t b = 0;
  for (const auto& e : stream()) b += e.message.size();
  return b;
}

void BM_MetricFilterOnly(benchmark::State& state) {
  const auto filter = seed_filter();
  const auto& events = stream();
  for (auto _ : state) {
    std::size_t published = 0;
    for (const auto& e : events) published += filter.evaluate(e.message, e.timestamp_ms).datapoint.has_value();
    benchmark::DoNotOptimize(published);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
  state.counters["events"] = static_cast<double>(events.size());
}

void BM_MetricFilterStreak(benchmark::State& state) {
  const auto filter = seed_filter();
  const auto rule = streak_rule();
  const auto& events = stream();
  std::size_t transitions = 0;
  for (auto _ : state) {
    auto det = streak::StreakDetector::create(rule).value();
    std::size_t published = 0;
    for (const auto& e : events) {
      published += filter.evaluate(e.message, e.timestamp_ms).datapoint.has_value();
      det.observe(e);
      for (const auto& t : det.take_transitions()) transitions += streak::notifications(rule, t).size();
    }
    det.flush();
    transitions += det.take_transitions().size();
    benchmark::DoNotOptimize(published);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
  state.counters["transitions_per_pass"] =
      static_cast<double>(transitions) / static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

BENCHMARK(BM_MetricFilterOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_MetricFilterStreak)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Interleaved A/B passes (robust to a shared, noisy machine): median per-pass time of each.
void print_ratio() {
  const auto filter = seed_filter();
  const auto rule = streak_rule();
  const auto& events = stream();
  std::vector<double> only, with;
  for (int round = 0; round < 15; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t n = 0;
    for (const auto& e : events) n += filter.evaluate(e.message, e.timestamp_ms).matched;
    auto t1 = std::chrono::steady_clock::now();
    auto det = streak::StreakDetector::create(rule).value();
    for (const auto& e : events) {
      n += filter.evaluate(e.message, e.timestamp_ms).matched;
      det.observe(e);
      det.take_transitions();
    }
    det.flush();
    auto t2 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(n);
    only.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    with.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(only.begin(), only.end());
  std::sort(with.begin(), with.end());
  const double a = only[only.size() / 2], b = with[with.size() / 2];
  std::printf("\nstream: %zu events, %.1f MB\nmedian pass: metric filter %.2f ms, + streak %.2f ms: streak adds %.1f%%\n",
              events.size(), static_cast<double>(stream_bytes()) / (1 << 20), a, b, 100.0 * (b - a) / a);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_ratio();
  return 0;
}
