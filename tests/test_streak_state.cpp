// Streak state across restarts (issue 11, `run --state`): a replay split into two runs, the second
// resumed from the first's saved state, gives exactly the transitions and notifications of one run.
#include "support.hpp"

#include <cwfilter/pipeline.hpp>
#include <cwfilter/streak.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <random>

using namespace cwfilter;
using namespace cwfilter::streak;

namespace {

constexpr const char* kFailure = R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })";
constexpr const char* kSuccess = R"({ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = "Success") })";
constexpr const char* kTopic = "arn:aws:sns:us-east-1:111122223333:security";
constexpr std::int64_t kT0 = 1793610000000;  // 2026-11-02T09:00:00Z

struct Ev {
  std::string message;
  std::int64_t t = 0;
  std::string id;
};

// Failures, successes and other events of a few users, 5 s apart, then shuffled locally (at most
// 9 places, i.e. < 50 s out of order) so that the reorder buffer holds events at every split.
std::vector<Ev> make_stream(unsigned seed, int n) {
  std::mt19937 rng(seed);
  const char* users[] = {"alice", "bob", "carol", "dave", "erin"};
  std::vector<Ev> out;
  for (int i = 0; i < n; ++i) {
    const std::string user = users[rng() % 5];
    const unsigned kind = rng() % 10;
    std::string m;
    if (kind < 6)
      m = fmt::format(R"({{"eventName":"ConsoleLogin","userIdentity":{{"type":"IAMUser","userName":"{}"}},)"
                      R"("responseElements":{{"ConsoleLogin":"Failure"}},"errorMessage":"Failed authentication"}})",
                      user);
    else if (kind < 8)
      m = fmt::format(R"({{"eventName":"ConsoleLogin","userIdentity":{{"type":"IAMUser","userName":"{}"}},)"
                      R"("responseElements":{{"ConsoleLogin":"Success"}}}})",
                      user);
    else if (kind < 9)
      m = R"({"eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"errorMessage":"Failed authentication"})";
    else
      m = fmt::format(R"({{"eventName":"DescribeInstances","userIdentity":{{"userName":"{}"}}}})", user);
    out.push_back(Ev{m, kT0 + i * 5000LL, fmt::format("ev-{}", i)});
  }
  for (std::size_t i = 0; i + 10 <= out.size(); i += 10) std::shuffle(out.begin() + i, out.begin() + i + 10, rng);
  return out;
}

StreakAlarm alarm_under_test() {
  StreakAlarm a;
  a.alarm_name = "console-login-streak";
  a.log_group_name = "CloudTrail/logs";
  a.failure_pattern = kFailure;
  a.success_pattern = kSuccess;
  a.group_by = {{"$.userIdentity.userName"}};
  a.threshold = 3;
  a.window_seconds = 120;
  a.reset_after_seconds = 90;
  a.alarm_actions = {kTopic};
  a.ok_actions = {kTopic};
  return a;
}

std::string show(const Transition& t) {
  std::string key;
  for (const auto& [r, v] : t.key) key += r + "=" + v + ";";
  return fmt::format("{} {}->{} @{} {} n={} [{}..{}] ids={} s={} | {}", key, alarm::to_string(t.old_state),
                     alarm::to_string(t.new_state), t.time_ms, to_string(t.cause), t.count, t.first_failure_ms,
                     t.last_failure_ms, fmt::join(t.event_ids, ","), t.success_event_id, t.reason);
}

StreakDetector detector(const StreakRule& rule, DetectorOptions o) {
  auto d = StreakDetector::create(rule, o);
  REQUIRE(d.ok());
  return std::move(d.value());
}

void feed(StreakDetector& d, const std::vector<Ev>& evs, std::size_t from, std::size_t to, std::vector<std::string>& out) {
  for (std::size_t i = from; i < to; ++i) {
    d.observe(evs[i].message, evs[i].t, evs[i].id);
    for (const auto& t : d.take_transitions()) out.push_back(show(t));
  }
}

std::string stats_text(const DetectorStats& s) {
  return fmt::format("{} {} {} {} {} {} {} {} {} {} {}", s.events, s.failures, s.successes, s.ignored, s.unresolved_keys,
                     s.late_events, s.live_keys, s.buffered, s.transitions_to_alarm, s.transitions_to_ok,
                     s.evicted_at_capacity + s.evicted_expired);
}

const char* kConfig = R"({
  "metricFilters": [{
    "filterName": "failed-console-logins", "logGroupName": "CloudTrail/logs",
    "filterPattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
    "metricTransformations": [{"metricName": "failed", "metricNamespace": "CloudTrailMetrics", "metricValue": "1"}]}],
  "metricAlarms": [{
    "AlarmName": "failed-console-logins", "Namespace": "CloudTrailMetrics", "MetricName": "failed",
    "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 3,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
    "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:security"]}],
  "streakAlarms": [{
    "AlarmName": "console-login-streak", "LogGroupName": "CloudTrail/logs",
    "FailurePattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
    "SuccessPattern": "{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = \"Success\") }",
    "GroupBy": ["$.userIdentity.userName"], "Threshold": 3, "Window": 120, "ResetAfter": 90,
    "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:security"],
    "OKActions": ["arn:aws:sns:us-east-1:111122223333:security"]}]
})";

Pipeline make_pipeline(std::vector<std::string>& sink, const std::string& config = kConfig) {
  auto cfg = parse_pipeline_config(config);
  REQUIRE(cfg.ok());
  PipelineOptions o;
  o.max_lateness_ms = 60000;
  auto p = Pipeline::create(std::move(cfg.value()), o, [&sink](const PipelineNotification& n) {
    sink.push_back(n.alarm_name + " " + n.notification.message_id + " " + n.notification.message);
  });
  REQUIRE(p.ok());
  return std::move(p.value());
}

LogEvent log_event(const Ev& e) {
  LogEvent l;
  l.message = e.message;
  l.timestamp_ms = e.t;
  l.has_timestamp = true;
  l.event_id = e.id;
  return l;
}

std::string without_member(const std::string& json, const char* member) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  d.RemoveMember(member);
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  d.Accept(w);
  return b.GetString();
}

}  // namespace

TEST_CASE("streak state: a detector split at any point and restored gives the transitions of one run", "[streak][state]") {
  const auto rule = StreakRule::create(alarm_under_test()).value();
  DetectorOptions o;
  o.max_lateness_ms = 60000;
  o.max_live_keys = 3;  // evictions happen, so the saved eviction order matters
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto evs = make_stream(seed, 400);
    std::vector<std::string> whole;
    auto one = detector(rule, o);
    feed(one, evs, 0, evs.size(), whole);
    one.flush();
    for (const auto& t : one.take_transitions()) whole.push_back(show(t));
    REQUIRE(one.stats().transitions_to_alarm >= 3);
    REQUIRE(one.stats().transitions_to_ok >= 2);
    REQUIRE(one.stats().evicted_at_capacity >= 1);

    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{95}, std::size_t{200},
                              std::size_t{313}, evs.size() - 1, evs.size()}) {
      INFO("seed " << seed << ", split after " << split << " events");
      std::vector<std::string> got;
      std::string saved;
      {
        auto first = detector(rule, o);
        feed(first, evs, 0, split, got);
        saved = first.save_state();
      }
      auto second = detector(rule, o);
      auto restored = second.restore_state(saved);
      REQUIRE(restored.ok());
      CHECK(restored.value());
      CHECK(second.save_state() == saved);  // a round trip loses nothing
      feed(second, evs, split, evs.size(), got);
      second.flush();
      for (const auto& t : second.take_transitions()) got.push_back(show(t));
      CHECK(got == whole);
      CHECK(stats_text(second.stats()) == stats_text(one.stats()));
    }
  }
}

TEST_CASE("streak state: a state saved under another rule is not applied; malformed state is an error", "[streak][state]") {
  auto a = alarm_under_test();
  const auto rule = StreakRule::create(a).value();
  auto d = detector(rule, {});
  d.observe(make_stream(1, 1)[0].message, kT0, "x");
  for (int i = 0; i < 2; ++i)
    d.observe(R"({"eventName":"ConsoleLogin","userIdentity":{"userName":"zoe"},"errorMessage":"Failed authentication"})",
              kT0 + i, "f");
  d.flush();
  REQUIRE(d.find_key({{"$.userIdentity.userName", "zoe"}}).has_value());
  const std::string saved = d.save_state();

  a.threshold = 4;
  auto other = detector(StreakRule::create(a).value(), {});
  auto r = other.restore_state(saved);
  REQUIRE(r.ok());
  CHECK_FALSE(r.value());
  CHECK(other.snapshot().empty());

  auto same = detector(rule, {});
  CHECK_FALSE(same.restore_state("{}").ok());
  CHECK_FALSE(same.restore_state("not json").ok());
  CHECK_FALSE(same.restore_state(R"({"version":2})").ok());
  std::string broken = saved;
  broken.replace(broken.find("\"keys\":["), 8, "\"keys\":[7,");
  CHECK_FALSE(same.restore_state(broken).ok());
  REQUIRE(same.restore_state(saved).ok());
  auto zoe = same.find_key({{"$.userIdentity.userName", "zoe"}});
  REQUIRE(zoe.has_value());
  CHECK(zoe->count == 2);
}

TEST_CASE("streak state: Pipeline --state split runs give the notifications of one run", "[streak][state][pipeline]") {
  const auto evs = make_stream(7, 300);
  std::vector<std::string> whole;
  {
    auto p = make_pipeline(whole);
    for (const auto& e : evs) p.add(log_event(e));
    p.finish();
    REQUIRE(p.summary().streaks.size() == 1);
    REQUIRE(p.summary().streaks[0].stats.transitions_to_alarm >= 2);
  }
  const auto streak_count = std::count_if(whole.begin(), whole.end(),
                                          [](const std::string& s) { return s.rfind("console-login-streak ", 0) == 0; });
  REQUIRE(streak_count >= 3);
  for (std::size_t split : {std::size_t{1}, std::size_t{50}, std::size_t{151}, std::size_t{299}}) {
    INFO("split after " << split << " events");
    std::vector<std::string> got;
    std::string state;
    {
      auto p = make_pipeline(got);
      for (std::size_t i = 0; i < split; ++i) p.add(log_event(evs[i]));
      state = p.save_state();  // `run --state` ends at the watermark: no finish()
    }
    auto p = make_pipeline(got);
    REQUIRE(p.restore_state(state).ok());
    CHECK(p.warnings().empty());
    for (std::size_t i = split; i < evs.size(); ++i) p.add(log_event(evs[i]));
    p.finish();
    CHECK(got == whole);
    CHECK(p.summary().streaks[0].notifications ==
          static_cast<std::uint64_t>(streak_count));
  }
}

TEST_CASE("streak state: a state file without streak state still loads", "[streak][state][pipeline]") {
  const auto evs = make_stream(3, 60);
  std::vector<std::string> sink;
  std::string state;
  {
    auto p = make_pipeline(sink);
    for (const auto& e : evs) p.add(log_event(e));
    state = p.save_state();
  }
  REQUIRE(state.find("\"streaks\":[{") != std::string::npos);
  const std::string old = without_member(state, "streaks");
  REQUIRE(old.find("streaks") == std::string::npos);
  auto p = make_pipeline(sink);
  auto r = p.restore_state(old);
  INFO((r.ok() ? "" : r.error().message));
  CHECK(r.ok());
  // The alarm state came back; the streak detector starts empty.
  CHECK(p.summary().streaks[0].stats.live_keys == 0);

  // And a streak alarm whose rule changed starts afresh, with a warning.
  std::string changed = kConfig;
  changed.replace(changed.find("\"Threshold\": 3, \"Window\""), 14, "\"Threshold\": 4");
  std::vector<std::string> sink2;
  auto q = make_pipeline(sink2, changed);
  REQUIRE(q.restore_state(state).ok());
  REQUIRE(q.warnings().size() == 1);
  CHECK(q.warnings()[0].find("changed since the state was saved") != std::string::npos);
}

TEST_CASE("pipeline state: a member of the wrong type is an error, never an assertion", "[state][pipeline]") {
  const auto evs = make_stream(5, 120);
  std::vector<std::string> sink;
  std::string state;
  {
    auto p = make_pipeline(sink);
    for (const auto& e : evs) p.add(log_event(e));
    state = p.save_state();
  }
  rapidjson::Document original;
  original.Parse(state.c_str());
  REQUIRE(original.IsObject());
  REQUIRE(original["alarms"].IsArray());
  REQUIRE(!original["alarms"].Empty());
  REQUIRE(original["datapoints"].IsArray());
  REQUIRE(!original["datapoints"].Empty());
  // Every member of the first alarm and of the first datapoint, in turn, replaced by an array
  // (a type no member but "dims" has): restoring must not crash; the members the state cannot do without
  // make it an error.
  for (const char* section : {"alarms", "datapoints"}) {
    std::vector<std::string> members;
    for (const auto& m : original[section][0].GetObject()) members.emplace_back(m.name.GetString());
    REQUIRE(members.size() >= 3);
    for (const auto& member : members) {
      INFO(section << "[0]." << member);
      rapidjson::Document d;
      d.CopyFrom(original, d.GetAllocator());
      d[section][0].FindMember(member.c_str())->value.SetArray();
      rapidjson::StringBuffer out;
      rapidjson::Writer<rapidjson::StringBuffer> w(out);
      d.Accept(w);
      auto p = make_pipeline(sink);
      auto r = p.restore_state(out.GetString());
      const bool required = member == "StateValue" || member == "StateReason" || member == "ns" ||
                            member == "name" || member == "unit" || member == "t" || member == "v" ||
                            member == "n";  // "dims" as [] is a datapoint without dimensions
      if (required) CHECK_FALSE(r.ok());
    }
  }
  // A dimension that is not a string.
  rapidjson::Document d;
  d.CopyFrom(original, d.GetAllocator());
  auto& dims = d["datapoints"][0]["dims"];
  dims.SetArray();
  dims.PushBack(1, d.GetAllocator()).PushBack(2, d.GetAllocator());
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  d.Accept(w);
  auto p = make_pipeline(sink);
  CHECK_FALSE(p.restore_state(out.GetString()).ok());
}

TEST_CASE("streak alarms without metric filters: the log group is theirs, notifications as with filters",
          "[streak][pipeline]") {
  const std::string streak_only = without_member(without_member(kConfig, "metricFilters"), "metricAlarms");
  REQUIRE(streak_only.find("metricFilters") == std::string::npos);
  REQUIRE(streak_only.find("streakAlarms") != std::string::npos);
  const auto evs = make_stream(11, 200);
  std::vector<std::string> with_filters, alone;
  {
    auto p = make_pipeline(with_filters);
    for (const auto& e : evs) p.add(log_event(e));
    p.finish();
  }
  auto p = make_pipeline(alone, streak_only);
  CHECK(p.log_group() == "CloudTrail/logs");
  for (const auto& e : evs) p.add(log_event(e));
  p.finish();
  std::vector<std::string> streak_lines;
  for (const auto& s : with_filters)
    if (s.rfind("console-login-streak ", 0) == 0) streak_lines.push_back(s);
  REQUIRE_FALSE(streak_lines.empty());
  CHECK(alone == streak_lines);
}
