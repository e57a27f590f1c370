// Streak detection's cost on top of the seed's metric filter (issue 11: target < 10% added).
// The CloudTrail corpus stream (issue 8's: every event, shuffled, repeated to >= 64 MB, re-timed 1 s
// apart) through
//   BM_MetricFilterOnly:  the seed metric filter (CIS console sign-in failures);
//   BM_MetricFilterStreak: the same filter plus a streak detector (failure/success patterns,
//                          default GroupBy, Threshold 3, Window 300 s, default lateness).
//   BM_PipelineOnly / BM_PipelineStreak: the same stream replayed through the whole Pipeline
//                          (`cwfilter run`'s engine: filter, store, the seed's alarm evaluated every
//                          minute of event time), without and with the streak alarm.
//   BM_PipelineFilterOnly / BM_PipelineFilterStreak: the same without the metric alarm (the seed's
//                          metric filter alone, then with the streak alarm).
//   BM_ValidateSuccessesOnly: the floor under any exact streak detector: validating the stream's
//                          successful sign-ins (which the baseline never reads) and nothing else.
// The ratios (interleaved passes, medians) are printed at the end, the floor as a share of
// BM_PipelineFilterOnly's replay.
#include <cwfilter/input.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/pipeline.hpp>
#include <cwfilter/streak.hpp>

#include "pattern/json_event.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace cwfilter;

namespace {

constexpr const char* kFailure = R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })";
constexpr const char* kSuccess = R"({ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = "Success") })";

// Issue 8's CloudTrail stream, which issue 11's target names ("the corpus CloudTrail stream"):
// every corpus event, repeated in a fixed shuffled order (bench_patterns' seed) to >= 64 MB, then
// re-timed 1 s apart in stream order.
const std::vector<LogEvent>& stream() {
  static const std::vector<LogEvent> events = [] {
    std::vector<LogEvent> base;
    for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
      auto r = read_all(std::string(CWFILTER_SHARED_DIR) + "/corpus/cloudtrail/" + dir);
      if (!r.ok()) continue;
      for (auto& e : r.value().events) base.push_back(std::move(e));
    }
    std::vector<std::uint32_t> order(base.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937 rng(20260101);
    std::vector<LogEvent> out;
    std::size_t bytes = 0;
    std::int64_t t = 1793610000000;
    while (bytes < (64u << 20) && !base.empty()) {
      std::shuffle(order.begin(), order.end(), rng);
      for (const auto i : order) {
        LogEvent c = base[i];
        c.timestamp_ms = t;
        c.has_timestamp = true;
        t += 1000;
        bytes += c.message.size();
        out.push_back(std::move(c));
      }
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

const char* kPipelineConfig = R"({
  "metricFilters": [{
    "filterName": "failed-console-logins", "logGroupName": "aws-cloudtrail-logs",
    "filterPattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
    "metricTransformations": [{"metricName": "ConsoleSigninFailureCount", "metricNamespace": "CloudTrailMetrics",
                               "metricValue": "1"}]}],
  "metricAlarms": [{
    "AlarmName": "console-signin-failures", "Namespace": "CloudTrailMetrics", "MetricName": "ConsoleSigninFailureCount",
    "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 3,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
    "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:security"]}]STREAK
})";

const char* kStreakSection = R"(,
  "streakAlarms": [{
    "AlarmName": "console-login-streak", "LogGroupName": "aws-cloudtrail-logs",
    "FailurePattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
    "SuccessPattern": "{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = \"Success\") }",
    "Threshold": 3, "Window": 300, "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:security"]}])";

// The config without its metric alarm: the seed's metric filter alone (and the streak alarm).
std::string without_metric_alarm(std::string config) {
  const auto from = config.find(",\n  \"metricAlarms\"");
  const auto to = config.find("}]", config.find("\"AlarmActions\"", from)) + 2;
  return config.erase(from, to - from);
}

// One replay of the stream through a Pipeline; returns the notifications.
std::size_t replay(bool with_streak, bool with_alarm = true) {
  std::string config = kPipelineConfig;
  config.replace(config.find("STREAK"), 6, with_streak ? kStreakSection : "");
  if (!with_alarm) config = without_metric_alarm(config);
  std::size_t notifications = 0;
  auto p = Pipeline::create(parse_pipeline_config(config).value(), {}, [&](const PipelineNotification&) { ++notifications; })
               .value();
  for (const auto& e : stream()) p.add(e);
  p.finish();
  return notifications;
}

// `cwfilter run`'s replay of the corpus CloudTrail files (the four directories, read, decompressed
// and split into events by the input reader, each event into the Pipeline), as a user replays them.
std::size_t replay_files(bool with_streak) {
  std::string config = kPipelineConfig;
  config.replace(config.find("STREAK"), 6, with_streak ? kStreakSection : "");
  std::size_t notifications = 0;
  auto p = Pipeline::create(parse_pipeline_config(config).value(), {}, [&](const PipelineNotification&) { ++notifications; })
               .value();
  auto reader =
      InputReader::create({}, [&](const LogEvent& e) { p.add(e); }, [](const MalformedRecord&) {}).value();
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"})
    (void)reader.read_path(std::string(CWFILTER_SHARED_DIR) + "/corpus/cloudtrail/" + dir);
  p.finish();
  return notifications;
}

void BM_PipelineOnly(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay(false));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
}
void BM_PipelineStreak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay(true));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
}

void BM_PipelineFilterOnly(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay(false, false));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
}
void BM_PipelineFilterStreak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay(true, false));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes()));
}

// The floor under the streak's cost: the successful sign-ins of the stream, which the baseline
// never reads and the streak must validate whole (a success resets its key and is counted, and a
// JSON pattern matches only valid JSON), validated and nothing else.
const std::vector<std::string_view>& successes() {
  static const std::vector<std::string_view> out = [] {
    auto failure = compile(kFailure).value();
    auto success = compile(kSuccess).value();
    std::vector<std::string_view> v;
    for (const auto& e : stream())
      if (!failure.matches(e.message) && success.matches(e.message)) v.push_back(e.message);
    return v;
  }();
  return out;
}
std::size_t validate_successes() {
  thread_local detail::JsonEvent json;
  std::size_t valid = 0;
  for (const auto m : successes()) valid += json.validate(m, Options{}.max_json_depth);
  return valid;
}
void BM_ValidateSuccessesOnly(benchmark::State& state) {
  // Every one matched a JSON pattern, so every one is valid.
  if (validate_successes() != successes().size()) return state.SkipWithError("a matched success failed validation");
  for (auto _ : state) benchmark::DoNotOptimize(validate_successes());
  state.counters["events"] = static_cast<double>(successes().size());
}

void BM_ReplayFilesOnly(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay_files(false));
}
void BM_ReplayFilesStreak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(replay_files(true));
}

BENCHMARK(BM_MetricFilterOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_MetricFilterStreak)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_PipelineOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_PipelineStreak)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_PipelineFilterOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_PipelineFilterStreak)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ValidateSuccessesOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReplayFilesOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReplayFilesStreak)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Interleaved A/B passes (robust to a shared, noisy machine): median per-pass time of each.
void print_ratio() {
  const auto filter = seed_filter();
  const auto rule = streak_rule();
  const auto& events = stream();
  std::vector<double> only, with;
  streak::DetectorStats last;
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
    last = det.stats();
    benchmark::DoNotOptimize(n);
    only.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    with.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  // Interleaved passes of `alone` and `with`: both vectors of per-pass milliseconds.
  auto interleave = [](auto alone, auto with, std::vector<double>& t_alone, std::vector<double>& t_with) {
    for (int round = 0; round < 15; ++round) {
      auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(alone());
      auto t1 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(with());
      auto t2 = std::chrono::steady_clock::now();
      t_alone.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      t_with.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  };
  std::vector<double> p_only, p_with, n_only, n_with, f_only, f_with;
  interleave([] { return replay(false); }, [] { return replay(true); }, p_only, p_with);
  interleave([] { return replay(false, false); }, [] { return replay(true, false); }, n_only, n_with);
  interleave([] { return replay_files(false); }, [] { return replay_files(true); }, f_only, f_with);
  std::vector<double> v_base, v_floor;
  interleave([] { return replay(false, false); }, [] { return validate_successes(); }, v_base, v_floor);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double a = median(only), b = median(with), pa = median(p_only), pb = median(p_with);
  std::printf("\nstream: %zu events, %.1f MB (%zu streak notifications per replay)\n", events.size(),
              static_cast<double>(stream_bytes()) / (1 << 20), replay(true) - replay(false));
  std::printf("streak events: %llu failures, %llu successes, %llu ignored, %llu without a key\n",
              static_cast<unsigned long long>(last.failures), static_cast<unsigned long long>(last.successes),
              static_cast<unsigned long long>(last.ignored), static_cast<unsigned long long>(last.unresolved_keys));
  std::printf("median pass: metric filter %.2f ms, + streak %.2f ms: streak adds %.1f%%\n", a, b, 100.0 * (b - a) / a);
  std::printf("median replay through Pipeline: filter + alarm %.2f ms, + streak alarm %.2f ms: streak adds %.1f%%\n", pa,
              pb, 100.0 * (pb - pa) / pa);
  const double na = median(n_only), nb = median(n_with);
  std::printf("median replay through Pipeline without the metric alarm: filter %.2f ms, + streak alarm %.2f ms: "
              "streak adds %.1f%%\n", na, nb, 100.0 * (nb - na) / na);
  const double fa = median(f_only), fb = median(f_with);
  std::printf("median replay of the corpus files (read + Pipeline): filter + alarm %.2f ms, + streak alarm %.2f ms: "
              "streak adds %.1f%%\n", fa, fb, 100.0 * (fb - fa) / fa);
  const double va = median(v_base), vb = median(v_floor);
  std::printf("floor: validating the %zu successful sign-ins alone %.2f ms = %.1f%% of the filter-alone replay "
              "(%.2f ms)\n", successes().size(), vb, 100.0 * vb / va, va);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // CWFILTER_BENCH_NO_RATIO=1 skips the interleaved passes (for profiling one benchmark alone).
  if (const char* v = std::getenv("CWFILTER_BENCH_NO_RATIO"); !v || std::string_view(v) != "1") print_ratio();
  return 0;
}
