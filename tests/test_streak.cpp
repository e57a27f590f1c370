// Streak alarms (issue 11): configuration, semantics, ordering, bounds and notifications.
#include "support.hpp"

#include <cwfilter/input.hpp>
#include <cwfilter/pipeline.hpp>
#include <cwfilter/streak.hpp>

#include "streak/internal.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <random>

using namespace cwfilter;
using namespace cwfilter::streak;

namespace {

constexpr const char* kFailure = R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })";
constexpr const char* kSuccess = R"({ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = "Success") })";
constexpr const char* kTopic = "arn:aws:sns:us-east-1:111122223333:security";
constexpr const char* kOkTopic = "arn:aws:sns:us-east-1:111122223333:security-ok";

StreakAlarm base_alarm(int threshold = 3) {
  StreakAlarm a;
  a.alarm_name = "console-login-streak";
  a.log_group_name = "CloudTrail/logs";
  a.failure_pattern = kFailure;
  a.success_pattern = kSuccess;
  a.group_by = {{"$.userIdentity.userName"}};
  a.threshold = threshold;
  a.alarm_actions = {kTopic};
  a.ok_actions = {kOkTopic};
  return a;
}

StreakRule make_rule(const StreakAlarm& a) {
  auto r = StreakRule::create(a);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

StreakDetector make_detector(const StreakAlarm& a, DetectorOptions o = {}) {
  auto d = StreakDetector::create(make_rule(a), o);
  REQUIRE(d.ok());
  return std::move(d.value());
}

std::string failure_event(const std::string& user) {
  return fmt::format(R"({{"eventName":"ConsoleLogin","userIdentity":{{"type":"IAMUser","userName":"{}"}},)"
                     R"("responseElements":{{"ConsoleLogin":"Failure"}},"errorMessage":"Failed authentication"}})",
                     user);
}
std::string success_event(const std::string& user) {
  return fmt::format(R"({{"eventName":"ConsoleLogin","userIdentity":{{"type":"IAMUser","userName":"{}"}},)"
                     R"("responseElements":{{"ConsoleLogin":"Success"}}}})",
                     user);
}
std::string other_event(const std::string& user) {
  return fmt::format(R"({{"eventName":"DescribeInstances","userIdentity":{{"userName":"{}"}}}})", user);
}

constexpr std::int64_t kT0 = 1793610000000;  // 2026-11-02T09:00:00Z
std::int64_t at(int seconds) { return kT0 + seconds * 1000LL; }

// A compact, comparable rendering of a transition.
std::string show(const Transition& t) {
  std::string ids;
  for (const auto& id : t.event_ids) ids += id + ",";
  std::string key;
  for (const auto& [r, v] : t.key) key += r + "=" + v + ";";
  return fmt::format("{} {}->{} @{} {} n={} [{}..{}] ids={} s={}", key, alarm::to_string(t.old_state),
                     alarm::to_string(t.new_state), t.time_ms, to_string(t.cause), t.count, t.first_failure_ms,
                     t.last_failure_ms, ids, t.success_event_id);
}

// ---- an independent model of the semantics (no buffer, no lists, no bounds) -------------------
struct ModelEvent {
  std::int64_t t;
  char kind;  // 'F' failure, 'S' success
  std::string key;
  std::string id;
};
struct ModelTransition {
  std::string key;
  bool to_alarm;
  std::int64_t time;
  int count;
  std::vector<std::string> ids;
  bool operator==(const ModelTransition&) const = default;
};
// `events` in processing order (event time, ties by input order).
std::vector<ModelTransition> model(const std::vector<ModelEvent>& events, int n, std::optional<std::int64_t> window_ms,
                                   std::optional<std::int64_t> reset_ms, std::optional<std::int64_t> end_ms) {
  struct K {
    bool alarm = false;
    std::vector<std::pair<std::int64_t, std::string>> fails;
    int count = 0;
    std::int64_t last = 0;
  };
  std::map<std::string, K> keys;
  std::vector<ModelTransition> out;
  auto fire_until = [&](std::int64_t t) {
    if (!reset_ms) return;
    for (;;) {  // earliest deadline first
      const std::string* best = nullptr;
      std::int64_t best_deadline = 0;
      for (auto& [k, s] : keys)
        if (s.alarm && s.last + *reset_ms <= t && (!best || s.last + *reset_ms < best_deadline)) {
          best = &k;
          best_deadline = s.last + *reset_ms;
        }
      if (!best) return;
      out.push_back({*best, false, best_deadline, keys[*best].count, {}});
      keys.erase(*best);
    }
  };
  for (const auto& e : events) {
    fire_until(e.t);
    K& s = keys[e.key];
    if (e.kind == 'S') {
      if (s.alarm) out.push_back({e.key, false, e.t, s.count, {}});
      keys.erase(e.key);
      continue;
    }
    s.last = e.t;
    if (s.alarm) {
      ++s.count;
      continue;
    }
    if (window_ms)
      while (!s.fails.empty() && e.t - s.fails.front().first > *window_ms) s.fails.erase(s.fails.begin());
    s.fails.emplace_back(e.t, e.id);
    s.count = static_cast<int>(s.fails.size());
    if (s.count >= n) {
      std::vector<std::string> ids;
      for (auto& f : s.fails) ids.push_back(f.second);
      out.push_back({e.key, true, e.t, s.count, ids});
      s.alarm = true;
      s.fails.clear();
    }
  }
  if (end_ms) fire_until(*end_ms);
  return out;
}

std::vector<ModelTransition> as_model(const std::vector<Transition>& ts) {
  std::vector<ModelTransition> out;
  for (const auto& t : ts)
    out.push_back({t.key.empty() ? "" : t.key[0].second, t.new_state == alarm::StateValue::kAlarm, t.time_ms, t.count,
                   t.event_ids});
  return out;
}

}  // namespace

// ---- configuration -----------------------------------------------------------------------------

TEST_CASE("streak config: a full streakAlarms item parses and validates", "[streak]") {
  const std::string json = R"({"streakAlarms":[{
    "AlarmName":"console-login-streak","AlarmDescription":"3 failed sign-ins in a row",
    "LogGroupName":"aws-cloudtrail-logs","FailurePattern":"{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
    "SuccessPattern":"{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = \"Success\") }",
    "GroupBy":["$.userIdentity.userName"],"Threshold":3,"Window":300,"ResetAfter":900,"ActionsEnabled":true,
    "AlarmActions":["arn:aws:sns:us-east-1:111122223333:security"],"OKActions":[]}]})";
  auto rules = parse_streak_alarms_json(json);
  INFO((rules.ok() ? "" : rules.error().message));
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 1);
  const StreakAlarm& a = (*rules)[0].alarm();
  CHECK(a.alarm_name == "console-login-streak");
  CHECK(a.alarm_description == "3 failed sign-ins in a row");
  CHECK(a.threshold == 3);
  CHECK(a.window_seconds == 300);
  CHECK(a.reset_after_seconds == 900);
  CHECK(a.group_by == std::vector<GroupBySelector>{{"$.userIdentity.userName"}});
  CHECK((*rules)[0].failure_pattern().family() == Family::kJson);
  REQUIRE((*rules)[0].success_pattern() != nullptr);

  // A bare array and a single object are accepted too; GroupBy defaults to ARN, then userName.
  auto single = parse_streak_alarms_json(
      R"({"AlarmName":"a","LogGroupName":"g","FailurePattern":"Failed","Threshold":1})");
  REQUIRE(single.ok());
  CHECK((*single)[0].alarm().group_by_or_default() ==
        std::vector<GroupBySelector>{{"$.userIdentity.arn", "$.userIdentity.userName"}});
  CHECK((*single)[0].success_pattern() == nullptr);
}

TEST_CASE("streak config: errors name the item and the problem", "[streak]") {
  auto err = [](const std::string& item_fields) {
    auto r = parse_streak_alarms_json(fmt::format(R"([{{"AlarmName":"ok","LogGroupName":"g","Threshold":3,"FailurePattern":"x"}},{{{}}}])", item_fields));
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  const std::string base = R"("AlarmName":"b","LogGroupName":"g","FailurePattern":"{ $.a = 1 }")";
  CHECK(err(base) == "streakAlarms[1]: Threshold is required");
  CHECK(err(base + R"(,"Threshold":0)") == "streakAlarms[1]: Threshold must be an integer from 1 to 1000 (is 0)");
  CHECK(err(base + R"(,"Threshold":2.5)") == "streakAlarms[1]: Threshold must be an integer");
  CHECK(err(base + R"(,"Treshold":3)").rfind("streakAlarms[1]: unknown key 'Treshold'", 0) == 0);
  CHECK(err(base + R"(,"Threshold":3,"Window":0)").find("Window must be a number of seconds from 1") != std::string::npos);
  CHECK(err(R"("AlarmName":"ok","LogGroupName":"g","FailurePattern":"x","Threshold":3)") ==
        "streakAlarms[1]: AlarmName 'ok' is used by another streak alarm");
  CHECK(err(R"("AlarmName":"b","FailurePattern":"x","Threshold":3)") == "streakAlarms[1]: LogGroupName is required");
  CHECK(err(base + R"(,"Threshold":3,"GroupBy":["$.a","$.b","$.c","$.d"])") ==
        "streakAlarms[1]: GroupBy may have at most 3 items (has 4)");
  CHECK(err(base + R"(,"Threshold":3,"GroupBy":["$user"])").find("names a space-delimited field, but FailurePattern is a json") !=
        std::string::npos);
  CHECK(err(base + R"(,"Threshold":3,"AlarmActions":["sns-topic"])").find("AlarmActions[0]: 'sns-topic' is not an ARN") !=
        std::string::npos);
  // A pattern that does not compile reports the pattern compiler's own message.
  const std::string bad = R"("AlarmName":"b","LogGroupName":"g","Threshold":3,"FailurePattern":"{ $.a = 1 ")";
  auto compiled = compile("{ $.a = 1 ");
  REQUIRE_FALSE(compiled.ok());
  CHECK(err(bad) == "streakAlarms[1]: FailurePattern: " + compiled.error().message);
  CHECK(parse_streak_alarms_json("[").error().message.rfind("streakAlarms: invalid JSON", 0) == 0);
}

TEST_CASE("streak config: space-delimited keys must be fields of both patterns", "[streak]") {
  StreakAlarm a = base_alarm();
  a.failure_pattern = "[ip, user, action = FAIL]";
  a.success_pattern = "[ip, user, action = OK]";
  a.group_by = {{"$user"}};
  auto d = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  for (int i = 0; i < 3; ++i) d.observe(fmt::format("10.0.0.{} bob FAIL", i), at(i), fmt::format("e{}", i));
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].key == std::vector<std::pair<std::string, std::string>>{{"$user", "bob"}});
  CHECK(ts[0].reason == "3 consecutive failures for user=bob between 09:00:00 and 09:00:02 with no success in between");
  a.success_pattern = "[ip, name, action = OK]";
  auto bad = StreakRule::create(a);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "GroupBy '$user' is not a field of SuccessPattern ([ip, name, action = OK])");
}

// ---- semantics ---------------------------------------------------------------------------------

TEST_CASE("streak: a success resets the count", "[streak]") {
  auto d = make_detector(base_alarm(), DetectorOptions{.max_lateness_ms = 0});
  d.observe(failure_event("bob"), at(0), "f1");
  d.observe(failure_event("bob"), at(10), "f2");
  d.observe(success_event("bob"), at(20), "s1");
  d.observe(failure_event("bob"), at(30), "f3");
  d.observe(failure_event("bob"), at(40), "f4");
  CHECK(d.take_transitions().empty());
  auto snap = d.find_key({{"$.userIdentity.userName", "bob"}});
  REQUIRE(snap);
  CHECK(snap->count == 2);
  CHECK(snap->event_ids == std::vector<std::string>{"f3", "f4"});
  d.observe(failure_event("bob"), at(50), "f5");
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].new_state == alarm::StateValue::kAlarm);
  CHECK(ts[0].old_state == alarm::StateValue::kOk);
  CHECK(ts[0].time_ms == at(50));
  CHECK(ts[0].count == 3);
  CHECK(ts[0].first_failure_ms == at(30));
  CHECK(ts[0].event_ids == std::vector<std::string>{"f3", "f4", "f5"});
  CHECK(ts[0].reason ==
        "3 consecutive failures for userName=bob between 09:00:30 and 09:00:50 with no success in between");
  // The success of the key in ALARM moves it to OK at the success's time.
  d.observe(success_event("bob"), at(60), "s2");
  ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].new_state == alarm::StateValue::kOk);
  CHECK(ts[0].old_state == alarm::StateValue::kAlarm);
  CHECK(ts[0].cause == Transition::Cause::kSuccess);
  CHECK(ts[0].time_ms == at(60));
  CHECK(ts[0].success_event_id == "s2");
  CHECK(ts[0].reason == "Success for userName=bob at 09:01:00 ends the streak of 3 consecutive failures between "
                        "09:00:30 and 09:00:50");
  CHECK(d.stats().live_keys == 0);
  CHECK(d.stats().failures == 5);
  CHECK(d.stats().successes == 2);
}

TEST_CASE("streak: interleaved users keep separate counts; other events are ignored", "[streak]") {
  auto d = make_detector(base_alarm(), DetectorOptions{.max_lateness_ms = 0});
  d.observe(failure_event("alice"), at(0), "a1");
  d.observe(failure_event("bob"), at(1), "b1");
  d.observe(other_event("alice"), at(2), "x1");
  d.observe(failure_event("alice"), at(3), "a2");
  d.observe(success_event("carol"), at(4), "c1");
  d.observe(failure_event("bob"), at(5), "b2");
  d.observe(failure_event("alice"), at(6), "a3");
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].key[0].second == "alice");
  CHECK(ts[0].event_ids == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(d.find_key({{"$.userIdentity.userName", "bob"}})->count == 2);
  const auto st = d.stats();
  CHECK(st.events == 7);
  CHECK(st.ignored == 1);
  CHECK(st.failures == 5);
  CHECK(st.successes == 1);
  CHECK(st.live_keys == 2);
  CHECK(st.transitions_to_alarm == 1);
}

TEST_CASE("streak: two keys alarming at the same instant give two transitions and notifications", "[streak]") {
  StreakAlarm a = base_alarm(2);
  auto rule = make_rule(a);
  auto d = make_detector(a);
  for (int i = 0; i < 2; ++i) {
    d.observe(failure_event("alice"), at(i), fmt::format("a{}", i));
    d.observe(failure_event("bob"), at(i), fmt::format("b{}", i));
  }
  d.flush();
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 2);
  CHECK(ts[0].key[0].second == "alice");  // same time: input order
  CHECK(ts[1].key[0].second == "bob");
  CHECK(ts[0].time_ms == ts[1].time_ms);
  auto n0 = notifications(rule, ts[0]);
  auto n1 = notifications(rule, ts[1]);
  REQUIRE(n0.size() == 1);
  REQUIRE(n1.size() == 1);
  CHECK(n0[0].message_id != n1[0].message_id);
  CHECK(n0[0].subject == R"(ALARM: "console-login-streak" in US East (N. Virginia))");
}

TEST_CASE("streak: Window drops failures older than the window before the newest failure", "[streak]") {
  StreakAlarm a = base_alarm();
  a.window_seconds = 60;
  auto d = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  d.observe(failure_event("bob"), at(0), "f0");
  d.observe(failure_event("bob"), at(50), "f50");
  d.observe(failure_event("bob"), at(100), "f100");  // f0 is 100 s old: out
  CHECK(d.take_transitions().empty());
  CHECK(d.find_key({{"$.userIdentity.userName", "bob"}})->event_ids == std::vector<std::string>{"f50", "f100"});
  d.observe(failure_event("bob"), at(110), "f110");
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].event_ids == std::vector<std::string>{"f50", "f100", "f110"});
  CHECK(ts[0].reason == "3 consecutive failures for userName=bob between 09:00:50 and 09:01:50 (within the 60-second "
                        "window) with no success in between");

  // Boundary: a failure exactly Window seconds before the newest one still counts.
  auto e = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  e.observe(failure_event("eve"), at(0), "e0");
  e.observe(failure_event("eve"), at(30), "e30");
  e.observe(failure_event("eve"), at(60), "e60");
  CHECK(e.take_transitions().size() == 1);
  // And a key whose failures all left the window is dropped (exactly: it could never count again).
  e.observe(failure_event("zed"), at(100), "z");
  e.observe(other_event("x"), at(161), "x");
  CHECK(e.stats().evicted_expired == 1);
  CHECK_FALSE(e.find_key({{"$.userIdentity.userName", "zed"}}));
}

TEST_CASE("streak: ResetAfter returns a key to OK after that long without failure", "[streak]") {
  StreakAlarm a = base_alarm();
  a.reset_after_seconds = 300;
  auto d = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  for (int i = 0; i < 3; ++i) d.observe(failure_event("bob"), at(i * 10), fmt::format("f{}", i));
  REQUIRE(d.take_transitions().size() == 1);
  d.observe(failure_event("bob"), at(200), "f3");  // pushes the deadline to 500
  d.observe(other_event("x"), at(400), "x");
  CHECK(d.take_transitions().empty());
  d.advance_to(at(499));
  CHECK(d.take_transitions().empty());
  d.advance_to(at(500));
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].cause == Transition::Cause::kResetAfter);
  CHECK(ts[0].time_ms == at(500));
  CHECK(ts[0].count == 4);
  CHECK(ts[0].last_failure_ms == at(200));
  CHECK(ts[0].reason == "No failure for userName=bob in the 300 seconds after 09:03:20: the streak of 4 consecutive "
                        "failures between 09:00:00 and 09:03:20 is over");
  CHECK(d.stats().live_keys == 0);
  // After the reset the count starts from 0: two more failures do not alarm.
  d.observe(failure_event("bob"), at(600), "g1");
  d.observe(failure_event("bob"), at(610), "g2");
  CHECK(d.take_transitions().empty());

  // A failure exactly at the deadline comes after the reset (a new streak of 1).
  auto e = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  for (int i = 0; i < 3; ++i) e.observe(failure_event("bob"), at(i), "f");
  e.observe(failure_event("bob"), at(2 + 300), "late");
  auto ets = e.take_transitions();
  REQUIRE(ets.size() == 2);
  CHECK(ets[1].new_state == alarm::StateValue::kOk);
  CHECK(e.find_key({{"$.userIdentity.userName", "bob"}})->count == 1);

  // With the default lateness, advance_to waits for the watermark; flush fires up to the clock.
  auto f = make_detector(a);
  for (int i = 0; i < 3; ++i) f.observe(failure_event("bob"), at(i), "f");
  f.advance_to(at(2 + 300));
  CHECK(f.take_transitions().empty());  // still within the lateness: ALARM not even released
  f.flush();
  auto fts = f.take_transitions();
  REQUIRE(fts.size() == 2);
  CHECK(fts[1].time_ms == at(302));
}

TEST_CASE("streak: one notification per streak, through the topics of the new state", "[streak]") {
  StreakAlarm a = base_alarm();
  auto rule = make_rule(a);
  auto d = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  std::vector<Notification> sent;
  auto pump = [&] {
    for (const auto& t : d.take_transitions())
      for (auto& n : notifications(rule, t)) sent.push_back(std::move(n));
  };
  for (int i = 0; i < 6; ++i) {
    d.observe(failure_event("bob"), at(i), fmt::format("f{}", i));
    pump();
  }
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].topic_arn == kTopic);
  d.observe(success_event("bob"), at(10), "s");
  pump();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].topic_arn == kOkTopic);
  CHECK(sent[1].subject == R"(OK: "console-login-streak" in US East (N. Virginia))");
  for (int i = 0; i < 3; ++i) d.observe(failure_event("bob"), at(20 + i), "g");
  pump();
  CHECK(sent.size() == 3);

  // The envelope carries the Message byte for byte; the Message has CloudWatch's keys in order + Streak.
  rapidjson::Document env;
  env.Parse(sent[0].envelope_json.c_str());
  REQUIRE_FALSE(env.HasParseError());
  CHECK(std::string(env["Type"].GetString()) == "Notification");
  CHECK(std::string(env["Message"].GetString()) == sent[0].message);
  CHECK(std::string(env["MessageId"].GetString()) == sent[0].message_id);
  rapidjson::Document m;
  m.Parse(sent[0].message.c_str());
  REQUIRE_FALSE(m.HasParseError());
  std::vector<std::string> keys;
  for (auto it = m.MemberBegin(); it != m.MemberEnd(); ++it) keys.emplace_back(it->name.GetString());
  CHECK(keys == std::vector<std::string>{"AlarmName", "AlarmDescription", "AWSAccountId",
                                         "AlarmConfigurationUpdatedTimestamp", "NewStateValue", "NewStateReason",
                                         "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "OKActions",
                                         "AlarmActions", "InsufficientDataActions", "Trigger", "Streak"});
  CHECK(m["AlarmDescription"].IsNull());
  CHECK(std::string(m["AWSAccountId"].GetString()) == "111122223333");
  CHECK(std::string(m["AlarmArn"].GetString()) == "arn:aws:cloudwatch:us-east-1:111122223333:alarm:console-login-streak");
  CHECK(std::string(m["StateChangeTime"].GetString()) == "2026-11-02T09:00:02.000+0000");
  CHECK(std::string(m["NewStateValue"].GetString()) == "ALARM");
  CHECK(std::string(m["OldStateValue"].GetString()) == "OK");
  CHECK(m["Trigger"]["Threshold"].GetDouble() == 3.0);
  CHECK(std::string(m["Trigger"]["FailurePattern"].GetString()) == kFailure);
  const auto& s = m["Streak"];
  CHECK(std::string(s["Key"]["$.userIdentity.userName"].GetString()) == "bob");
  CHECK(s["Count"].GetInt() == 3);
  CHECK(std::string(s["FirstFailure"].GetString()) == "2026-11-02T09:00:00.000+0000");
  CHECK(std::string(s["LastFailure"].GetString()) == "2026-11-02T09:00:02.000+0000");
  REQUIRE(s["EventIds"].Size() == 3);
  CHECK(std::string(s["EventIds"][2].GetString()) == "f2");
  rapidjson::Document ok;
  ok.Parse(sent[1].message.c_str());
  CHECK(std::string(ok["Streak"]["EndedBy"].GetString()) == "Success");
  CHECK(ok["Streak"]["Count"].GetInt() == 6);
  CHECK(std::string(ok["Streak"]["SuccessEventId"].GetString()) == "s");

  // ActionsEnabled=false: transitions still happen, nothing is published.
  StreakAlarm quiet = a;
  quiet.actions_enabled = false;
  auto qrule = make_rule(quiet);
  Transition t;
  t.key = {{"$.userIdentity.userName", "bob"}};
  CHECK(notifications(qrule, t).empty());
  CHECK_FALSE(message_json(qrule, t).empty());
}

TEST_CASE("streak: an event whose key cannot be resolved is ignored and counted", "[streak]") {
  StreakAlarm a = base_alarm(1);
  a.group_by.clear();  // default: ARN, else userName
  auto d = make_detector(a, DetectorOptions{.max_lateness_ms = 0});
  d.observe(R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication"})", at(0), "nokey");
  d.observe(R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"arn":null,"userName":""}})",
            at(1), "empty");
  CHECK(d.take_transitions().empty());
  CHECK(d.stats().unresolved_keys == 2);
  d.observe(R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"arn":"arn:aws:iam::1:user/bob","userName":"bob"}})",
            at(2), "arn");
  d.observe(R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"arn":null,"userName":"bob"}})",
            at(3), "name");
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 2);  // two distinct keys (documented): the ARN and the fallback user name
  CHECK(ts[0].key == std::vector<std::pair<std::string, std::string>>{{"$.userIdentity.arn", "arn:aws:iam::1:user/bob"}});
  CHECK(ts[1].key == std::vector<std::pair<std::string, std::string>>{{"$.userIdentity.userName", "bob"}});
  CHECK(ts[0].reason == "1 failure for arn=arn:aws:iam::1:user/bob at 09:00:02");

  // A key over max_key_bytes is counted, not kept.
  auto e = make_detector(a, DetectorOptions{.max_lateness_ms = 0, .max_key_bytes = 64});
  e.observe(failure_event(std::string(100, 'x')), at(0), "long");
  CHECK(e.stats().oversized_keys == 1);
  CHECK(e.stats().live_keys == 0);
}

TEST_CASE("streak: an event matching both patterns is a failure; escaped JSON still matches", "[streak]") {
  StreakAlarm a = base_alarm(1);
  a.success_pattern = "{ $.eventName = ConsoleLogin }";
  auto rule = make_rule(a);
  CHECK(rule.classify(failure_event("bob")).kind == EventClass::Kind::kFailure);
  CHECK(rule.classify(success_event("bob")).kind == EventClass::Kind::kSuccess);
  // The literal prefilter must not hide events whose strings are written with escapes.
  const std::string escaped =
      R"({"eventName":"Console\u004cogin","errorMessage":"Failed\u0020authentication","userIdentity":{"userName":"b\u00f8b"}})";
  auto c = rule.classify(escaped);
  CHECK(c.kind == EventClass::Kind::kFailure);
  REQUIRE(c.key.size() == 1);
  CHECK(c.key[0].second == "b\xc3\xb8" "b");
  CHECK(rule.classify("not json").kind == EventClass::Kind::kIgnored);
}

namespace {
// The prefilter's meaning, spelled out: every clause has a literal in the event, unless a JSON
// prefilter sees a backslash (pattern/prefilter.hpp).
bool naive_may_match(const detail::Prefilter& pf, std::string_view m) {
  for (const auto& c : pf.clauses) {
    bool found = false;
    for (const auto& lit : c.any_of) found = found || m.find(lit) != std::string_view::npos;
    if (!found) return pf.json && m.find('\\') != std::string_view::npos;
  }
  return true;
}
}  // namespace

TEST_CASE("streak: the gate (one literal check for both patterns) is sound over the CloudTrail corpus", "[streak]") {
  // (failure, success) pairs: sharing a clause, sharing none, one of them without literals.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {kFailure, kSuccess},
      {R"({ $.eventName = "Console*" || $.errorCode = "AccessDenied" })", R"({ $.errorCode = "*UnauthorizedOperation" })"},
      {R"({ ($.userIdentity.type = "Root") && ($.eventType != "AwsServiceEvent") })", R"({ $.eventName = ConsoleLogin })"},
      {R"({ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" })", R"({ $.eventName = * })"},
      {R"({ $.errorCode = "AccessDenied*" })", ""}};
  std::size_t rejected = 0, events = 0, escaped_rejected = 0;
  std::vector<std::pair<Pattern, std::optional<Pattern>>> compiled;
  for (const auto& [f, s] : pairs) {
    auto cf = compile(f);
    REQUIRE(cf.ok());
    std::optional<Pattern> cs;
    if (!s.empty()) {
      auto c = compile(s);
      REQUIRE(c.ok());
      cs = *c;
    }
    compiled.emplace_back(*cf, cs);
  }
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
    REQUIRE(r.ok());
    for (const auto& e : r->events) {
      ++events;
      for (const auto& [f, s] : compiled) {
        const auto gate = make_gate(f, s ? &*s : nullptr);
        // The anchor-byte search answers exactly as a plain find of the clauses (with escapes in
        // the event, the decoded text decides; the soundness check below covers those).
        if (e.message.find('\\') == std::string::npos) CHECK(naive_may_match(gate, e.message) == gate.may_match(e.message));
        else escaped_rejected += !gate.may_match(e.message);
        if (!gate.may_match(e.message)) {
          ++rejected;
          INFO(f.source() << " / " << (s ? s->source() : "-") << "\n" << e.message);
          CHECK_FALSE(f.matches(e.message));
          CHECK_FALSE((s && s->matches(e.message)));
        }
      }
    }
  }
  CHECK(events > 900);
  CHECK(rejected > events * 3);  // it does reject most events, so the bench gain is real
  CHECK(escaped_rejected > 50);   // ... including events with escapes (27 of the corpus' events)
  // The seed's pair shares `"ConsoleLogin"` (one substring search for nearly every event), then
  // needs one of its own literals.
  const auto seed_gate = make_gate(compiled[0].first, &*compiled[0].second);
  REQUIRE(seed_gate.clauses.size() == 2);
  CHECK(seed_gate.clauses[0].any_of == std::vector<std::string>{"\"ConsoleLogin\""});
  CHECK(seed_gate.clauses[1].any_of == std::vector<std::string>{"\"Failed authentication\"", "\"Success\""});
  // The search at every alignment and length around the SIMD block sizes, with and without escapes.
  const auto& g = seed_gate;
  for (std::size_t pad = 0; pad < 80; ++pad) {
    const std::string filler(pad, 'x');
    for (const std::string& m : {filler + "\"ConsoleLogin\"" + filler + "\"Success\"", filler + "\"ConsoleLogi\"" + filler,
                                 "\"ConsoleLogin\"" + filler + "\"Failed authentication\"", filler})
      CHECK(naive_may_match(g, m) == g.may_match(m));
    CHECK(g.may_match(filler + "\"ConsoleLogin\"" + filler + "\"Success\""));
    CHECK(g.may_match("\"ConsoleLogin\"" + filler + "\"Failed authentication\""));
    CHECK_FALSE(g.may_match("\"ConsoleLogin\"" + filler + "\"Failed authenticatio"));
    CHECK_FALSE(g.may_match(filler + "\"ConsoleLogi\"" + filler));
    CHECK_FALSE(g.may_match(filler + "\"ConsoleLogin" + filler));
    // Escapes: the literals are looked for in the decoded text, wherever the backslash is.
    CHECK(g.may_match(filler + "\"Console\\u004cogin\"" + filler + "\"Success\""));
    CHECK_FALSE(g.may_match(filler + "\"Console\\u004cogin\"" + filler));
    CHECK_FALSE(g.may_match(filler + "\"Console\\nLogin\"" + filler + "\"Success\""));
    CHECK(g.may_match(filler + "\"ConsoleLogin\"" + filler + "\"Succ\\u0065ss\""));
    // Escapes that cannot stand for a letter (no \u): the raw bytes decide, at any alignment.
    CHECK_FALSE(g.may_match(filler + "x\\"));
    CHECK_FALSE(g.may_match("\\\"" + filler + filler + filler));
    CHECK(g.may_match(filler + "\\\"" + filler + "\"ConsoleLogin\"" + filler + "\"Success\""));
    // A \u anywhere: decoded first.
    CHECK(g.may_match(filler + "\\u0022" + filler + "\"ConsoleLogin\"" + filler + "\"Succ\\u0065ss\""));
    CHECK_FALSE(g.may_match(filler));
  }
}

// The Pipeline checks one prefilter for all its patterns (metric filters, streak failure and
// success) and skips the rest for an event it rejects: every count, datapoint and transition must
// be what evaluating each consumer on its own gives.
TEST_CASE("streak: the Pipeline's shared prefilter changes no answer", "[streak][pipeline]") {
  const char* full_config = R"({
    "metricFilters": [
      {"filterName": "seed", "logGroupName": "ct", "filterPattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
       "metricTransformations": [{"metricName": "F", "metricNamespace": "N", "metricValue": "1"}]},
      {"filterName": "root", "logGroupName": "ct", "filterPattern": "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS }",
       "metricTransformations": [{"metricName": "R", "metricNamespace": "N", "metricValue": "1", "defaultValue": 0}]},
      {"filterName": "denied", "logGroupName": "ct", "filterPattern": "AccessDenied",
       "metricTransformations": [{"metricName": "D", "metricNamespace": "N", "metricValue": "1", "defaultValue": 0}]}],
    "streakAlarms": [{"AlarmName": "s", "LogGroupName": "ct",
      "FailurePattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
      "SuccessPattern": "{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = \"Success\") }",
      "Threshold": 2, "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:t"]}]})";
  // The seed's filter alone beside its streak alarm: the group prefilter is then the detector's own
  // gate and the filter takes the detector's verdict (same pattern) instead of evaluating.
  const char* seed_config = R"({
    "metricFilters": [
      {"filterName": "seed", "logGroupName": "ct", "filterPattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
       "metricTransformations": [{"metricName": "F", "metricNamespace": "N", "metricValue": "1", "defaultValue": 0}]}],
    "streakAlarms": [{"AlarmName": "s", "LogGroupName": "ct",
      "FailurePattern": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }",
      "SuccessPattern": "{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = \"Success\") }",
      "Threshold": 2, "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:t"]}]})";
  for (const char* config : {full_config, seed_config}) {
    INFO(config);

    std::vector<LogEvent> events;
    for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
      auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
      REQUIRE(r.ok());
      for (auto& e : r->events) events.push_back(std::move(e));
    }
    // Escaped variants too: the shared prefilter decodes escapes before it rejects.
    const std::size_t n = events.size();
    for (std::size_t i = 0; i < n; i += 3) {
      LogEvent e = events[i];
      for (const char* from : {"\"ConsoleLogin\"", "\"Success\"", "\"Root\""}) {
        const auto at = e.message.find(from);
        if (at != std::string::npos) e.message.replace(at + 1, 1, fmt::format("\\u{:04x}", static_cast<int>(e.message[at + 1])));
      }
      events.push_back(std::move(e));
    }
    std::int64_t t = 1793610000000;
    for (auto& e : events) {
      e.timestamp_ms = t += 7000;
      e.has_timestamp = true;
    }
    auto cfg = parse_pipeline_config(config);
    REQUIRE(cfg.ok());
    std::size_t pipeline_notifications = 0;
    auto p = Pipeline::create(*cfg, {}, [&](const PipelineNotification&) { ++pipeline_notifications; });
    REQUIRE(p.ok());
    for (const auto& e : events) p->add(e);
    p->finish();

    // The same consumers, each on every event.
    std::vector<MetricFilter> filters;
    for (const auto& d : cfg->metric_filters) filters.push_back(MetricFilter::create(d).value());
    auto rules = parse_streak_alarms_json(cfg->streak_alarms_json);
    REQUIRE(rules.ok());
    auto det = StreakDetector::create(rules->front()).value();
    std::vector<FilterSummary> expected(filters.size());
    std::vector<double> expected_sum(filters.size(), 0.0);
    std::size_t transitions = 0;
    for (const auto& e : events) {
      for (std::size_t i = 0; i < filters.size(); ++i) {
        auto out = filters[i].evaluate(e.message, e.timestamp_ms);
        expected[i].matches += out.matched;
        expected[i].datapoints += out.datapoint.has_value();
        expected[i].default_datapoints += out.datapoint && out.datapoint->is_default;
        if (out.datapoint) expected_sum[i] += out.datapoint->value;
      }
      det.observe(e);
      for (const auto& tr : det.take_transitions()) transitions += tr.new_state == alarm::StateValue::kAlarm;
    }
    det.flush();
    for (const auto& tr : det.take_transitions()) transitions += tr.new_state == alarm::StateValue::kAlarm;
    const auto& sum = p->summary();
    REQUIRE(sum.filters.size() == cfg->metric_filters.size());
    for (std::size_t i = 0; i < filters.size(); ++i) {
      INFO(sum.filters[i].filter_name);
      CHECK(sum.filters[i].events == events.size());
      CHECK(sum.filters[i].matches == expected[i].matches);
      CHECK(sum.filters[i].datapoints == expected[i].datapoints);
      CHECK(sum.filters[i].default_datapoints == expected[i].default_datapoints);
      // What reached the store: the datapoints' values too (each filter has its own metric).
      const auto& tr = filters[i].transformation();
      const auto agg = p->store().query(MetricKey(tr.metric_namespace, tr.metric_name), std::nullopt,
                                        events.front().timestamp_ms - 3600000, events.back().timestamp_ms + 3600000);
      REQUIRE(agg.has_value());
      CHECK(agg->sample_count == static_cast<double>(expected[i].datapoints));
      CHECK(agg->sum == expected_sum[i]);
    }
    CHECK(expected[0].matches >= 9);  // 8 corpus events + escaped variants
    if (expected.size() > 1) CHECK(expected[1].default_datapoints > events.size() / 2);
    REQUIRE(sum.streaks.size() == 1);
    const auto& st = sum.streaks[0].stats;
    const auto want = det.stats();
    CHECK(st.events == want.events);
    CHECK(st.failures == want.failures);
    CHECK(st.successes == want.successes);
    CHECK(st.ignored == want.ignored);
    CHECK(st.unresolved_keys == want.unresolved_keys);
    CHECK(want.successes > 50);
    CHECK(transitions > 0);
    CHECK(sum.streaks[0].notifications == transitions);  // one SNS topic, AlarmActions only
  }
}

// ---- ordering ------------------------------------------------------------------------------------

TEST_CASE("streak: out-of-order input within the lateness gives exactly the in-order transitions", "[streak]") {
  std::mt19937_64 rng(20261102);
  for (int round = 0; round < 20; ++round) {
    StreakAlarm a = base_alarm(2 + round % 3);
    if (round % 2) a.window_seconds = 120;
    if (round % 4 < 2) a.reset_after_seconds = 300;
    const std::int64_t lateness = 15 * 60 * 1000;
    // 600 events of 8 users over ~3 hours, distinct times (ties would legitimately depend on order).
    struct E {
      std::int64_t t;
      std::string msg, id;
      char kind;
      std::string user;
    };
    std::vector<E> events;
    std::int64_t t = kT0;
    for (int i = 0; i < 600; ++i) {
      t += 1 + static_cast<std::int64_t>(rng() % 10000);
      const std::string user = fmt::format("user{}", rng() % 8);
      const auto r = rng() % 10;
      const char kind = r < 6 ? 'F' : r < 8 ? 'S' : 'N';
      std::string msg = kind == 'F' ? failure_event(user) : kind == 'S' ? success_event(user) : other_event(user);
      events.push_back({t, msg, fmt::format("id{}", i), kind, user});
    }
    auto run = [&](const std::vector<E>& order, std::int64_t late_ms) {
      DetectorOptions o;
      o.max_lateness_ms = late_ms;
      auto d = make_detector(a, o);
      for (const auto& e : order) d.observe(e.msg, e.t, e.id);
      d.flush();
      CHECK(d.stats().late_events == 0);
      return d.take_transitions();
    };
    const auto in_order = run(events, 0);
    // Arrival = event time + a random delay up to the lateness: never later than allowed.
    std::vector<std::pair<std::int64_t, std::size_t>> arrival;
    for (std::size_t i = 0; i < events.size(); ++i)
      arrival.emplace_back(events[i].t + static_cast<std::int64_t>(rng() % (lateness + 1)), i);
    std::sort(arrival.begin(), arrival.end());
    std::vector<E> shuffled;
    for (const auto& [_, i] : arrival) shuffled.push_back(events[i]);
    REQUIRE(shuffled.size() == events.size());
    const auto out_of_order = run(shuffled, lateness);
    std::vector<std::string> a1, a2;
    for (const auto& x : in_order) a1.push_back(show(x));
    for (const auto& x : out_of_order) a2.push_back(show(x));
    CHECK(a1 == a2);
    // And both agree with the independent model.
    std::vector<ModelEvent> me;
    for (const auto& e : events)
      if (e.kind != 'N') me.push_back({e.t, e.kind, e.user, e.id});
    const auto want = model(me, a.threshold, a.window_seconds ? std::optional<std::int64_t>(*a.window_seconds * 1000) : std::nullopt,
                            a.reset_after_seconds ? std::optional<std::int64_t>(*a.reset_after_seconds * 1000) : std::nullopt,
                            events.back().t);
    CHECK(as_model(in_order) == want);
    CHECK(!want.empty());
  }
}

TEST_CASE("streak: events later than the lateness are clamped to the watermark and counted", "[streak]") {
  auto d = make_detector(base_alarm(2), DetectorOptions{.max_lateness_ms = 60'000});
  d.observe(failure_event("bob"), at(1000), "new");
  d.observe(failure_event("bob"), at(0), "old");  // 1000 s behind: beyond 60 s
  d.flush();
  const auto ts = d.take_transitions();
  CHECK(d.stats().late_events == 1);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].event_ids == std::vector<std::string>{"old", "new"});  // clamped to 940 s, before "new"
  CHECK(ts[0].first_failure_ms == at(940));
}

// ---- bounds --------------------------------------------------------------------------------------

TEST_CASE("streak: the live-key cap evicts single failures first and counts every eviction", "[streak]") {
  auto d = make_detector(base_alarm(3), DetectorOptions{.max_lateness_ms = 0, .max_live_keys = 3});
  d.observe(failure_event("bob"), at(0), "b1");
  d.observe(failure_event("bob"), at(1), "b2");  // bob: a streak in progress
  for (int i = 0; i < 10; ++i) d.observe(failure_event(fmt::format("spray{}", i)), at(2 + i), "s");
  CHECK(d.stats().live_keys == 3);
  CHECK(d.stats().evicted_at_capacity == 8);
  CHECK(d.stats().evicted_with_progress == 0);
  d.observe(failure_event("bob"), at(20), "b3");
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].key[0].second == "bob");
}

TEST_CASE("streak: 1,000,000 attacker-chosen user names keep memory under the documented bound", "[streak][memory]") {
  StreakAlarm a = base_alarm(3);
  a.window_seconds = 3600;
  a.group_by.clear();  // the default GroupBy
  // The defaults (100,000 live keys, 512-byte keys, 100,000 buffered events) but no lateness, so
  // that the test stays fast in Debug (the buffer bound is tested separately below).
  DetectorOptions o;
  o.max_lateness_ms = 0;
  auto d = make_detector(a, o);
  const std::size_t bound = d.memory_bound();
  INFO("documented bound: " << bound << " bytes");
  CHECK(bound < std::size_t{400} << 20);
  // bob starts a streak, then a flood of single failures under fresh (long) names, 1 ms apart.
  d.observe(failure_event("bob"), at(0), "b1");
  d.observe(failure_event("bob"), at(1), "b2");
  std::size_t peak = 0;
  const std::string flood = failure_event(std::string(60, 'a') + "@");
  const std::string prefix = flood.substr(0, flood.find('@')), suffix = flood.substr(flood.find('@') + 1);
  for (int i = 0; i < 1'000'000; ++i) {
    const std::string msg = prefix + std::to_string(10'000'000 + i) + suffix;
    d.observe(msg, kT0 + 2000 + i, {});
    if (i % 4096 == 0) peak = std::max(peak, d.memory_usage());
  }
  peak = std::max(peak, d.memory_usage());
  d.observe(failure_event("bob"), kT0 + 2000 + 1'000'000, "b3");
  d.flush();
  const auto st = d.stats();
  INFO("peak estimate " << peak << " bytes, live keys " << st.peak_live_keys);
  CHECK(peak <= bound);
  CHECK(st.peak_live_keys <= o.max_live_keys);
  CHECK(st.live_keys <= o.max_live_keys);
  CHECK(st.evicted_at_capacity > 800'000);
  CHECK(st.evicted_with_progress == 0);  // the flood evicted itself, not bob's streak
  CHECK(st.failures == 1'000'003);
  CHECK(peak < std::size_t{120} << 20);
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].key[0].second == "bob");
  CHECK(ts[0].event_ids == std::vector<std::string>{"b1", "b2", "b3"});
}

TEST_CASE("streak: a full reorder buffer releases early and says so", "[streak]") {
  auto d = make_detector(base_alarm(3), DetectorOptions{.max_buffered_events = 10});
  for (int i = 0; i < 50; ++i) d.observe(failure_event(fmt::format("u{}", i)), at(i), "x");
  CHECK(d.stats().forced_releases == 40);
  CHECK(d.stats().peak_buffered == 11);
  CHECK(d.memory_usage() <= d.memory_bound());
  CHECK_FALSE(StreakDetector::create(make_rule(base_alarm()), DetectorOptions{.max_live_keys = 0}).ok());
}

TEST_CASE("streak: a reorder-buffer entry reusing a released one's space holds only its own key and id", "[streak]") {
  // A buffered event's key and id live in buffers that a released event leaves behind: a shorter
  // key or id written there must not keep any of the longer one's bytes.
  auto d = make_detector(base_alarm(2), DetectorOptions{.max_lateness_ms = 60'000});
  const std::string long_name(60, 'z');
  const std::string long_id(100, 'i');
  d.observe(success_event(long_name), at(0), long_id);  // no state for it: its buffers stay
  d.observe(failure_event(long_name + "2"), at(1), long_id + "2");
  d.observe(other_event("x"), at(70), "o");  // releases both
  CHECK(d.stats().buffered == 0);
  d.observe(failure_event("bob"), at(71), "b1");
  d.observe(success_event("al"), at(72), "s");
  CHECK(d.stats().buffered == 2);
  CHECK(d.memory_usage() <= d.memory_bound());
  rapidjson::Document state;
  state.Parse(d.save_state().c_str());
  REQUIRE(state.IsObject());
  REQUIRE(state["pending"].IsArray());
  std::vector<std::string> pending;
  for (const auto& p : state["pending"].GetArray())
    pending.push_back(fmt::format("{}={} {}", p["key"][0][0].GetString(), p["key"][0][1].GetString(), p["id"].GetString()));
  std::sort(pending.begin(), pending.end());
  CHECK(pending == std::vector<std::string>{"$.userIdentity.userName=al s", "$.userIdentity.userName=bob b1"});
  d.observe(failure_event("bob"), at(73), "b2");
  d.flush();
  auto ts = d.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(show(ts[0]).starts_with("$.userIdentity.userName=bob; OK->ALARM"));
  CHECK(ts[0].event_ids == std::vector<std::string>{"b1", "b2"});
  const auto snap = d.find_key({{"$.userIdentity.userName", long_name + "2"}});
  REQUIRE(snap);
  CHECK(snap->event_ids == std::vector<std::string>{long_id + "2"});
  CHECK(d.memory_usage() <= d.memory_bound());
}

// ---- real data -----------------------------------------------------------------------------------

TEST_CASE("streak: CloudTrail corpus ConsoleLogin events, counted independently", "[streak][corpus]") {
  std::vector<LogEvent> events;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
    REQUIRE(r.ok());
    for (auto& e : r.value().events) events.push_back(std::move(e));
  }
  REQUIRE(events.size() > 900);
  // Independent classification with a plain DOM.
  std::size_t want_f = 0, want_s = 0, want_unresolved = 0;
  std::vector<ModelEvent> me;
  for (std::size_t i = 0; i < events.size(); ++i) {
    rapidjson::Document doc;
    doc.Parse(events[i].message.c_str(), events[i].message.size());
    if (doc.HasParseError() || !doc.IsObject() || test::str(doc, "eventName") != "ConsoleLogin") continue;
    const bool f = test::str(doc, "errorMessage") == "Failed authentication";
    const bool s = doc.HasMember("responseElements") && test::str(doc["responseElements"], "ConsoleLogin") == "Success";
    if (!f && !s) continue;
    std::string key;
    if (doc.HasMember("userIdentity")) {
      key = test::str(doc["userIdentity"], "arn");
      if (key.empty()) key = test::str(doc["userIdentity"], "userName");
    }
    if (key.empty()) {
      ++want_unresolved;
      continue;
    }
    ++(f ? want_f : want_s);
    me.push_back({events[i].timestamp_ms, f ? 'F' : 'S', key, events[i].event_id});
  }
  REQUIRE(want_f >= 8);
  REQUIRE(want_s > 40);

  for (int threshold : {1, 2, 3}) {
    StreakAlarm a = base_alarm(threshold);
    a.group_by.clear();
    // As read (files in path order, times all over the years): counts are exact, order is not.
    {
      auto d = make_detector(a);
      for (const auto& e : events) d.observe(e);
      d.flush();
      const auto st = d.stats();
      CHECK(st.failures == want_f);
      CHECK(st.successes == want_s);
      CHECK(st.unresolved_keys == want_unresolved);
      CHECK(st.ignored + st.failures + st.successes + st.unresolved_keys == events.size());
      CHECK(st.late_events > 0);  // reported, never silent
      CHECK(st.evicted_idle + st.evicted_idle_in_alarm > 0);  // years apart: forgotten, and counted
    }
    // Sorted by event time (stable): transitions equal the independent model's.
    std::vector<const LogEvent*> sorted;
    for (const auto& e : events) sorted.push_back(&e);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const LogEvent* x, const LogEvent* y) { return x->timestamp_ms < y->timestamp_ms; });
    std::vector<ModelEvent> ms = me;
    std::stable_sort(ms.begin(), ms.end(), [](const auto& x, const auto& y) { return x.t < y.t; });
    // max_idle_ms = 0: never forget a key (the corpus spans years; the default forgets after a day).
    auto d = make_detector(a, DetectorOptions{.max_idle_ms = 0});
    for (const auto* e : sorted) d.observe(*e);
    d.flush();
    CHECK(d.stats().late_events == 0);
    CHECK(d.stats().evicted_idle + d.stats().evicted_idle_in_alarm == 0);
    const auto got = as_model(d.take_transitions());
    const auto want = model(ms, threshold, std::nullopt, std::nullopt, std::nullopt);
    CHECK(got == want);
    const auto alarms = std::count_if(want.begin(), want.end(), [](const auto& t) { return t.to_alarm; });
    CHECK(alarms >= 1);  // at 3: anaya fails 3 times (the events carry no ARN)
  }
}

TEST_CASE("streak: the bundled failed-logins example alarms exactly once, for bob", "[streak][example]") {
  auto r = read_all(test::source_path("examples/failed-logins/cloudtrail"));
  REQUIRE(r.ok());
  REQUIRE(r->events.size() > 40);
  StreakAlarm a = base_alarm(3);
  a.group_by.clear();
  a.window_seconds = 300;
  auto rule = make_rule(a);
  auto d = make_detector(a);
  std::vector<Transition> all;
  for (const auto& e : r->events) {
    d.observe(e);
    for (auto& t : d.take_transitions()) all.push_back(std::move(t));
  }
  d.flush();
  for (auto& t : d.take_transitions()) all.push_back(std::move(t));
  REQUIRE(all.size() == 1);
  const Transition& t = all[0];
  CHECK(t.new_state == alarm::StateValue::kAlarm);
  CHECK(t.key == std::vector<std::pair<std::string, std::string>>{{"$.userIdentity.arn", "arn:aws:iam::111122223333:user/bob"}});
  CHECK(t.time_ms == at(160));  // 09:02:40
  CHECK(t.reason == "3 consecutive failures for arn=arn:aws:iam::111122223333:user/bob between 09:01:10 and "
                    "09:02:40 (within the 300-second window) with no success in between");
  const auto st = d.stats();
  CHECK(st.failures == 6);   // bob x3, alice, carol, dave
  CHECK(st.successes == 1);  // alice
  CHECK(st.transitions_to_alarm == 1);
  CHECK(st.live_keys <= 3);
  auto ns = notifications(rule, t);
  REQUIRE(ns.size() == 1);
  CHECK(ns[0].message.find(R"("Streak":{"Key":{"$.userIdentity.arn":"arn:aws:iam::111122223333:user/bob"},"Count":3,)") !=
        std::string::npos);
}

TEST_CASE("streak: the one-scan classification agrees with the patterns and a full parse on the corpus", "[streak][corpus]") {
  // Several rules: seed pair with the default GroupBy; other JSON pairs with GroupBy alternatives
  // and two items; a rule whose success pattern is a term (the general path).
  struct Spec {
    const char* failure;
    const char* success;
    std::vector<GroupBySelector> group_by;
  };
  const std::vector<Spec> specs = {
      {kFailure, kSuccess, {}},
      {R"({ $.errorCode = "AccessDenied*" || $.errorCode = "*UnauthorizedOperation" })",
       R"({ $.eventName = "Get*" && $.errorCode NOT EXISTS })",
       {{"$.userIdentity.arn", "$.userIdentity.principalId"}, {"$.sourceIPAddress"}}},
      {R"({ $.userIdentity.type = "Root" })", R"({ $.eventType = "AwsConsoleSignIn" })", {{"$.recipientAccountId"}}},
      {R"({ $.eventName = ConsoleLogin })", "Success", {{"$.userIdentity.userName"}}},
  };
  std::size_t matched = 0, events = 0;
  for (const auto& spec : specs) {
    StreakAlarm a = base_alarm(3);
    a.failure_pattern = spec.failure;
    a.success_pattern = spec.success;
    a.group_by = spec.group_by;
    const auto rule = make_rule(a);
    const Pattern& f = rule.failure_pattern();
    const Pattern* s = rule.success_pattern();
    for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
      auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
      REQUIRE(r.ok());
      for (const auto& e : r->events) {
        ++events;
        const auto c = rule.classify(e.message);
        const auto want_kind = f.matches(e.message)               ? EventClass::Kind::kFailure
                               : (s && s->matches(e.message)) ? EventClass::Kind::kSuccess
                                                              : EventClass::Kind::kIgnored;
        INFO(spec.failure << "\n" << e.message);
        REQUIRE(c.kind == want_kind);
        if (c.kind == EventClass::Kind::kIgnored) continue;
        ++matched;
        const auto key = rule.resolve_key(e.message);  // full parse
        CHECK(c.key_resolved == key.has_value());
        if (key) CHECK(c.key == *key);
      }
    }
  }
  CHECK(events > 3000);
  CHECK(matched > 200);
}
