// The backtest fast path (src/lib/alarm/backtest_fast.cpp, issue 8 target 6) against the plain
// evaluator: evaluate() at every instant, state carried, reading buckets through
// MetricStore::query + compute (independent of query_buckets and of the source caches). Every
// field of every Evaluation must be equal, on every case of spec/cases/alarms.jsonl and on
// randomized alarms and series.
#include <catch2/catch.hpp>

#include <cwfilter/alarm.hpp>
#include <cwfilter/metrics.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace cwfilter;
using namespace cwfilter::alarm;

namespace {

MetricStoreOptions unlimited_retention() {
  MetricStoreOptions o;
  o.retention_ms = std::numeric_limits<std::int64_t>::max() / 4;
  return o;
}

// The plain source: one MetricStore::query per bucket.
DatapointSource plain_source(const MetricStore& store, const MetricAlarm& alarm) {
  const MetricKey key(alarm.metric_namespace, alarm.metric_name, alarm.dimensions);
  auto parsed = parse_statistic(alarm.statistic ? *alarm.statistic : alarm.extended_statistic.value_or("Average"));
  REQUIRE(parsed.ok());
  const Statistic statistic = parsed.value();
  const std::optional<StandardUnit> unit = alarm.unit;
  return [&store, key, statistic, unit](std::int64_t start, std::int64_t end) -> std::optional<BucketDatapoint> {
    auto a = store.query(key, unit, start, end, true);
    if (!a) return std::nullopt;
    auto v = compute(statistic, *a);
    if (!v) return std::nullopt;
    return BucketDatapoint{*v, a->sample_count};
  };
}

// The plain backtest: evaluate() at each instant.
std::vector<Evaluation> plain_backtest(const MetricAlarm& alarm, AlarmState state, const std::vector<std::int64_t>& at,
                                       const DatapointSource& source, const EvaluationOptions& options) {
  std::vector<Evaluation> out;
  for (const std::int64_t t : at) {
    out.push_back(evaluate(alarm, state, t, source, options));
    state = out.back().state;
  }
  return out;
}

std::vector<std::int64_t> instants(const MetricAlarm& alarm, std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  const std::int64_t step = evaluation_interval_ms(alarm);
  std::int64_t t = scheduled_instant(alarm, from);
  if (t < from) t += step;
  for (; t <= to; t += step) out.push_back(t);
  return out;
}

// The first field that differs, or "" (one REQUIRE per evaluation keeps the test fast).
std::string state_difference(const AlarmState& a, const AlarmState& b) {
  if (a.value != b.value) return "state.value";
  if (a.reason != b.reason) return "state.reason: " + a.reason + " | " + b.reason;
  if (a.reason_data != b.reason_data) return "state.reason_data: " + a.reason_data + " | " + b.reason_data;
  if (a.updated_ms != b.updated_ms) return "state.updated_ms";
  if (a.transitioned_ms != b.transitioned_ms) return "state.transitioned_ms";
  return "";
}

std::string difference(const Evaluation& a, const Evaluation& b) {
  if (a.query_ms != b.query_ms) return "query_ms";
  if (a.tick_ms != b.tick_ms) return "tick_ms";
  if (a.old_state != b.old_state) return "old_state";
  if (auto d = state_difference(a.state, b.state); !d.empty()) return d;
  if (a.transition != b.transition) return "transition";
  if (a.retained != b.retained) return "retained";
  if (a.computed_state != b.computed_state) return "computed_state";
  if (a.computed_reason != b.computed_reason) return "computed_reason: " + a.computed_reason + " | " + b.computed_reason;
  if (a.computed_reason_data != b.computed_reason_data) return "computed_reason_data";
  if (a.history.has_value() != b.history.has_value()) return "history";
  if (a.history && (a.history->alarm_name != b.history->alarm_name || a.history->timestamp_ms != b.history->timestamp_ms ||
                    a.history->history_item_type != b.history->history_item_type ||
                    a.history->history_summary != b.history->history_summary ||
                    a.history->history_data != b.history->history_data))
    return "history item";
  if (a.actions != b.actions) return "actions";
  return "";
}

void require_same_state(const AlarmState& a, const AlarmState& b) { REQUIRE(state_difference(a, b) == ""); }

void require_same(const Evaluation& a, const Evaluation& b) {
  const std::string d = difference(a, b);
  if (d.empty()) return;
  INFO("query " << format_iso_timestamp(b.query_ms));
  REQUIRE(d == "");
}

bool changes_state(const Evaluation& ev, const AlarmState& before) {
  return ev.transition || ev.state.reason != before.reason || ev.state.reason_data != before.reason_data ||
         ev.state.updated_ms != before.updated_ms;
}

// Every path of the fast backtest against plain_backtest over `at`. Returns the transitions.
int check_backtest(const MetricAlarm& alarm, const AlarmState& initial, const std::vector<std::int64_t>& at,
                   const MetricStore& store, const EvaluationOptions& options, bool range_from_to = false,
                   std::int64_t from = 0, std::int64_t to = 0) {
  const DatapointSource plain = plain_source(store, alarm);
  const auto expected = plain_backtest(alarm, initial, at, plain, options);
  // Through the store source (series read with query_buckets) and through an opaque source.
  const auto fast_store = range_from_to ? backtest_range(alarm, initial, from, to, store_source(store, alarm), options)
                                        : backtest_at(alarm, initial, at, store_source(store, alarm), options);
  const auto fast_plain = backtest_at(alarm, initial, at, plain, options);
  REQUIRE(fast_store.size() == expected.size());
  REQUIRE(fast_plain.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    require_same(fast_store[i], expected[i]);
    require_same(fast_plain[i], expected[i]);
  }
  // The changes-only backtest: the evaluations that changed the state, the final state and
  // the summary.
  std::vector<Evaluation> expected_changes;
  AlarmState state = initial;
  int transitions = 0;
  for (const auto& ev : expected) {
    if (changes_state(ev, state)) expected_changes.push_back(ev);
    transitions += ev.transition ? 1 : 0;
    state = ev.state;
  }
  const BacktestChanges changes = range_from_to
                                      ? backtest_changes_range(alarm, initial, from, to, store_source(store, alarm), options)
                                      : backtest_changes_at(alarm, initial, at, store_source(store, alarm), options);
  REQUIRE(changes.evaluations == static_cast<int>(expected.size()));
  REQUIRE(changes.changes.size() == expected_changes.size());
  for (std::size_t i = 0; i < expected_changes.size(); ++i) {
    const BacktestChange& c = changes.changes[i];
    const Evaluation& e = expected_changes[i];
    const bool same = c.query_ms == e.query_ms && c.tick_ms == e.tick_ms && c.old_state == e.old_state &&
                      c.new_state == e.state.value && c.transition == e.transition;
    INFO("change " << i << " at " << format_iso_timestamp(e.query_ms));
    REQUIRE(same);
  }
  require_same_state(changes.final_state, state);
  const auto rendered = materialise(alarm, changes, plain, options);
  REQUIRE(rendered.size() == expected_changes.size());
  for (std::size_t i = 0; i < expected_changes.size(); ++i) require_same(rendered[i], expected_changes[i]);
  const auto s1 = summarize(alarm, expected);
  const auto s2 = summarize(alarm, changes);
  REQUIRE(s1.evaluations == s2.evaluations);
  REQUIRE(s1.transitions == s2.transitions);
  REQUIRE(s1.times_in_alarm == s2.times_in_alarm);
  REQUIRE(s1.alarm_duration_ms == s2.alarm_duration_ms);
  if (!expected.empty()) {
    const auto e1 = summarize(alarm, expected, expected.back().query_ms + 123456);
    const auto e2 = summarize(alarm, changes, expected.back().query_ms + 123456);
    REQUIRE(e1.alarm_duration_ms == e2.alarm_duration_ms);
  }
  return transitions;
}

// ---- the spec cases -------------------------------------------------------------------------

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// A case's metric_data as PutMetricData (as tests/test_alarm_cases.cpp builds it).
std::string metric_data_json(const rapidjson::Value& c) {
  const auto& alarm = c["alarm"];
  rapidjson::Document d(rapidjson::kObjectType);
  auto& al = d.GetAllocator();
  d.AddMember("Namespace", rapidjson::Value(alarm["Namespace"], al), al);
  rapidjson::Value data(rapidjson::kArrayType);
  const std::string stat = alarm.HasMember("Statistic") ? alarm["Statistic"].GetString() : "";
  for (const auto& m : c["metric_data"].GetArray()) {
    rapidjson::Value datum(rapidjson::kObjectType);
    datum.AddMember("MetricName", rapidjson::Value(alarm["MetricName"], al), al);
    if (alarm.HasMember("Dimensions")) datum.AddMember("Dimensions", rapidjson::Value(alarm["Dimensions"], al), al);
    const char* ts_key = m.HasMember("timestamp") ? "timestamp" : "period_start";
    datum.AddMember("Timestamp", rapidjson::Value(m[ts_key], al), al);
    if (m.HasMember("values")) {
      datum.AddMember("Values", rapidjson::Value(m["values"], al), al);
      if (m.HasMember("counts")) datum.AddMember("Counts", rapidjson::Value(m["counts"], al), al);
    } else if (m.HasMember("sampleCount")) {
      const double v = m["value"].GetDouble();
      const double n = m["sampleCount"].GetDouble();
      rapidjson::Value set(rapidjson::kObjectType);
      const bool sum_like = stat == "Sum";
      set.AddMember("SampleCount", n, al);
      set.AddMember("Sum", sum_like ? v : v * n, al);
      set.AddMember("Minimum", sum_like ? v / n : v, al);
      set.AddMember("Maximum", sum_like ? v / n : v, al);
      datum.AddMember("StatisticValues", set, al);
    } else {
      datum.AddMember("Value", rapidjson::Value(m["value"], al), al);
    }
    if (m.HasMember("unit")) datum.AddMember("Unit", rapidjson::Value(m["unit"], al), al);
    if (m.HasMember("storage_resolution"))
      datum.AddMember("StorageResolution", rapidjson::Value(m["storage_resolution"], al), al);
    data.PushBack(datum, al);
  }
  d.AddMember("MetricData", data, al);
  return to_json(d);
}

}  // namespace

TEST_CASE("backtest fast path: every case of alarms.jsonl, at every tick around its data", "[alarm][backtest_fast]") {
  std::ifstream in(std::string(CWFILTER_SHARED_DIR) + "/spec/cases/alarms.jsonl");
  int cases = 0, transitions = 0;
  for (std::string line; std::getline(in, line);) {
    rapidjson::Document c;
    c.Parse(line.c_str());
    if (c.HasParseError() || !c.IsObject() || !c.HasMember("alarm") || !c.HasMember("metric_data")) continue;
    rapidjson::Document a;
    a.CopyFrom(c["alarm"], a.GetAllocator());
    if (!a.HasMember("AlarmName")) a.AddMember("AlarmName", rapidjson::Value(c["id"], a.GetAllocator()), a.GetAllocator());
    auto alarm = parse_put_metric_alarm(to_json(a));
    if (!alarm) continue;
    auto request = parse_put_metric_data(metric_data_json(c));
    if (!request) continue;
    MetricStore store(unlimited_retention());
    REQUIRE(store.put(request.value()).ok());
    INFO(c["id"].GetString());
    const auto first = store.query(MetricKey(alarm.value().metric_namespace, alarm.value().metric_name,
                                             alarm.value().dimensions),
                                   std::nullopt, std::numeric_limits<std::int64_t>::min() / 4,
                                   std::numeric_limits<std::int64_t>::max() / 4);
    // The span: from a range before the first datum to a range after the last one.
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    for (const auto& d : request.value().metric_data) {
      lo = std::min(lo, d.timestamp_ms);
      hi = std::max(hi, d.timestamp_ms);
    }
    if (c.HasMember("evaluations"))
      for (const auto& e : c["evaluations"].GetArray())
        if (e.HasMember("at") && e["at"].IsString())
          if (auto t = parse_iso_timestamp(e["at"].GetString())) {
            lo = std::min(lo, t.value());
            hi = std::max(hi, t.value());
          }
    if (lo > hi) continue;
    const std::int64_t reach = (evaluation_range(alarm.value()) + 2) * alarm.value().period * 1000LL;
    const std::int64_t from = lo - reach, to = hi + reach;
    const auto at = instants(alarm.value(), from, to);
    for (const AlarmState& initial : {AlarmState::initial(from - 1), AlarmState::assumed(StateValue::kOk),
                                      AlarmState::assumed(StateValue::kAlarm)})
      transitions += check_backtest(alarm.value(), initial, at, store, {}, true, from, to);
    EvaluationOptions window, localstack, explain;
    window.premature_rule = EvaluationOptions::PrematureRule::kWindow;
    localstack.premature_rule = EvaluationOptions::PrematureRule::kLocalStack;
    explain.explain = true;
    for (const auto& options : {window, localstack, explain})
      check_backtest(alarm.value(), AlarmState::initial(), at, store, options, true, from, to);
    (void)first;
    ++cases;
  }
  CHECK(cases >= 30);
  CHECK(transitions > 0);
}

namespace {

// A random alarm valid for PutMetricAlarm, and random sparse data for it.
MetricAlarm random_alarm(std::mt19937& rng, int id) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  MetricAlarm a;
  a.alarm_name = "random-" + std::to_string(id);
  a.metric_namespace = pick(6) == 0 ? "AWS/DynamoDB" : "Test";
  a.metric_name = "M";
  if (pick(3) == 0) a.dimensions = {{"Host", "h" + std::to_string(pick(2))}};
  const char* stats[] = {"SampleCount", "Sum", "Average", "Minimum", "Maximum"};
  const char* extended[] = {"p90", "p50", "p10", "p99", "tm90", "IQM", "TC(10%:90%)", "PR(:50)", "wm90", "p100"};
  if (pick(3) == 0) {
    a.extended_statistic = extended[pick(10)];
    if (pick(2) == 0) a.evaluate_low_sample_count_percentile = pick(2) == 0 ? "ignore" : "evaluate";
  } else {
    a.statistic = stats[pick(5)];
  }
  const int periods[] = {10, 20, 30, 60, 60, 60, 120, 300, 300, 3600, 21600};
  a.period = periods[pick(11)];
  const int max_n = std::max(1, std::min(8, (a.period < 3600 ? 86400 : 604800) / a.period));
  a.evaluation_periods = 1 + pick(max_n);
  if (pick(3) != 0) a.datapoints_to_alarm = 1 + pick(a.evaluation_periods);
  a.threshold = pick(10) * 10 + (pick(4) == 0 ? 0.5 : 0);
  const ComparisonOperator ops[] = {ComparisonOperator::kGreaterThanOrEqualToThreshold,
                                    ComparisonOperator::kGreaterThanThreshold, ComparisonOperator::kLessThanThreshold,
                                    ComparisonOperator::kLessThanOrEqualToThreshold};
  a.comparison_operator = ops[pick(4)];
  const TreatMissingData treats[] = {TreatMissingData::kMissing, TreatMissingData::kIgnore,
                                     TreatMissingData::kBreaching, TreatMissingData::kNotBreaching};
  if (pick(5) != 0) a.treat_missing_data = treats[pick(4)];
  if (pick(6) == 0) a.unit = pick(2) == 0 ? StandardUnit::kCount : StandardUnit::kSeconds;
  a.alarm_actions = {"arn:aws:sns:us-east-1:123456789012:alarm"};
  a.ok_actions = {"arn:aws:sns:us-east-1:123456789012:ok"};
  if (pick(4) == 0) a.actions_enabled = false;
  return a;
}

void fill_random_series(std::mt19937& rng, MetricStore& store, std::int64_t from, std::int64_t to, bool high_resolution) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Runs of dense data, gaps, and single points: every rule of §7.3 comes up.
  const int density = pick(4);
  const std::int64_t step = high_resolution && pick(2) ? 5000 : 60000;
  for (std::int64_t t = from; t < to; t += step) {
    const bool present = density == 0 ? pick(12) == 0 : density == 1 ? pick(3) == 0 : density == 2 ? pick(3) != 0 : (t / 600000) % 3 != 0;
    if (!present) continue;
    MetricKey key("Test", "M");
    if (pick(4) == 0) key = MetricKey("Test", "M", {{"Host", "h0"}});
    if (pick(8) == 0) key = MetricKey("AWS/DynamoDB", "M");
    const StandardUnit unit = pick(5) == 0 ? StandardUnit::kSeconds : StandardUnit::kCount;
    const int resolution = high_resolution ? kHighResolution : kStandardResolution;
    const std::int64_t ts = t + pick(static_cast<int>(step));
    const int kind = pick(10);
    if (kind == 0) {
      StatisticSet set{static_cast<double>(1 + pick(5)), 0, 0, 0};
      set.minimum = pick(100);
      set.maximum = set.minimum + pick(20);
      set.sum = set.minimum * set.sample_count + pick(2) * (set.maximum - set.minimum);
      REQUIRE(store.add_statistic_set(key, unit, ts, set, resolution).ok());
    } else if (kind == 1) {
      std::vector<double> values;
      for (int i = 0, n = 1 + pick(30); i < n; ++i) values.push_back(pick(100) - (pick(20) == 0 ? 5 : 0));
      REQUIRE(store.add_values(key, unit, ts, values, {}, resolution).ok());
    } else {
      REQUIRE(store.add_value(key, unit, ts, pick(100) + (pick(3) == 0 ? 0.25 : 0.0), resolution).ok());
    }
  }
}

}  // namespace

TEST_CASE("backtest fast path: randomized alarms and series", "[alarm][backtest_fast]") {
  std::mt19937 rng(20261129);
  constexpr std::int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z
  int transitions = 0;
  for (int round = 0; round < 120; ++round) {
    MetricAlarm alarm = random_alarm(rng, round);
    INFO("round " << round << " period " << alarm.period << " N " << alarm.evaluation_periods << " M "
                  << alarm.datapoints_to_alarm_or_default());
    auto valid = validate(alarm);
    if (!valid) continue;
    alarm = valid.value();
    MetricStore store(unlimited_retention());
    const std::int64_t span = alarm.period >= 3600 ? 3LL * 86400000 : alarm.period >= 60 ? 6LL * 3600000 : 1800000;
    fill_random_series(rng, store, kStart, kStart + span, alarm.high_resolution());
    EvaluationOptions options;
    const int o = static_cast<int>(rng() % 8);
    if (o == 1) options.premature_rule = EvaluationOptions::PrematureRule::kWindow;
    if (o == 2) options.premature_rule = EvaluationOptions::PrematureRule::kLocalStack;
    if (o == 3) options.fixed_evaluation_range = alarm.evaluation_periods + static_cast<int>(rng() % 4);
    if (o == 4) options.dynamodb_always_ignore = true;
    if (o == 5) options.explain = true;
    const AlarmState initial = rng() % 3 == 0 ? AlarmState::assumed(rng() % 2 ? StateValue::kOk : StateValue::kAlarm)
                                              : AlarmState::initial(kStart - 1);
    const std::int64_t from = kStart - static_cast<std::int64_t>(rng() % 600000);
    const std::int64_t to = kStart + span + evaluation_range(alarm, options) * alarm.period * 1000LL;
    transitions += check_backtest(alarm, initial, instants(alarm, from, to), store, options, true, from, to);
    // Instants given one by one: off-tick, repeated, out of order, and sparse.
    std::vector<std::int64_t> at;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 200); i < n; ++i)
      at.push_back(from + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(to - from)));
    if (rng() % 2) std::sort(at.begin(), at.end());
    if (!at.empty() && rng() % 2) at.push_back(at.back());
    check_backtest(alarm, initial, at, store, options);
  }
  CHECK(transitions > 50);
}

TEST_CASE("backtest fast path: many alarms over one store share reads, same answers", "[alarm][backtest_fast]") {
  std::mt19937 rng(7);
  constexpr std::int64_t kStart = 1767225600000;
  MetricStore store(unlimited_retention());
  fill_random_series(rng, store, kStart, kStart + 4 * 3600000LL, false);
  std::vector<MetricAlarm> alarms;
  for (int i = 0; alarms.size() < 60; ++i) {
    MetricAlarm a = random_alarm(rng, i);
    if (a.period < 60 || a.period > 300) continue;
    if (auto v = validate(a)) alarms.push_back(v.value());
  }
  const std::int64_t from = kStart, to = kStart + 5 * 3600000LL;
  const auto all = backtest_changes_range(alarms, AlarmState::initial(), from, to, store);
  REQUIRE(all.size() == alarms.size());
  for (std::size_t i = 0; i < alarms.size(); ++i) {
    const auto one = backtest_changes_range(alarms[i], AlarmState::initial(), from, to,
                                            plain_source(store, alarms[i]));
    REQUIRE(all[i].alarm_name == alarms[i].alarm_name);
    REQUIRE(all[i].evaluations == one.evaluations);
    REQUIRE(all[i].changes.size() == one.changes.size());
    for (std::size_t k = 0; k < one.changes.size(); ++k) {
      REQUIRE(all[i].changes[k].query_ms == one.changes[k].query_ms);
      REQUIRE(all[i].changes[k].new_state == one.changes[k].new_state);
      REQUIRE(all[i].changes[k].transition == one.changes[k].transition);
    }
    require_same_state(all[i].final_state, one.final_state);
    const auto a = materialise(alarms[i], all[i], store_source(store, alarms[i]));
    const auto b = materialise(alarms[i], one, plain_source(store, alarms[i]));
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) require_same(a[k], b[k]);
  }
}
