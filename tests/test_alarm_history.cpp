// Alarm history (alarms.md §10, issue 5): the ConfigurationUpdate item of a created alarm, the
// StateUpdate item of a transition and the Action items of executed actions, with their exact
// HistorySummary / HistoryData text; Action outcomes come from the actual delivery (pipeline,
// `cwfilter run --history`), never from the evaluator.
#include "support.hpp"

#include <cwfilter/alarm.hpp>
#include <cwfilter/pipeline.hpp>
#include <cwfilter/sinks.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace cwfilter;
using namespace cwfilter::alarm;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr const char* kTopicA = "arn:aws:sns:eu-north-1:111122223333:a";
constexpr const char* kTopicB = "arn:aws:sns:eu-north-1:111122223333:b";

const char* kAlarmJson = R"({"AlarmName":"errors","AlarmDescription":"Any error","Namespace":"App",
  "MetricName":"Errors","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":1,
  "ComparisonOperator":"GreaterThanOrEqualToThreshold","TreatMissingData":"notBreaching",
  "Dimensions":[{"Name":"Service","Value":"api"}],
  "AlarmActions":["arn:aws:sns:eu-north-1:111122223333:a","arn:aws:sns:eu-north-1:111122223333:b"],
  "OKActions":["arn:aws:sns:eu-north-1:111122223333:ok"]})";

// The created item for kAlarmJson at kT0, character for character (key order of §10; the ARN is
// built from the region and account of the alarm's SNS topics).
const std::string kCreatedData =
    R"({"version":"1.0","type":"Create","createdAlarm":{"alarmName":"errors","alarmDescription":"Any error",)"
    R"("alarmArn":"arn:aws:cloudwatch:eu-north-1:111122223333:alarm:errors",)"
    R"("alarmConfigurationUpdatedTimestamp":"2026-01-01T00:00:00.000+0000","namespace":"App",)"
    R"("metricName":"Errors","statistic":"Sum","period":60,"dimensions":[{"value":"api","name":"Service"}],)"
    R"("threshold":1.0,"comparisonOperator":"GreaterThanOrEqualToThreshold","evaluationPeriods":1,)"
    R"("stateValue":"INSUFFICIENT_DATA","stateUpdatedTimestamp":"2026-01-01T00:00:00.000+0000",)"
    R"("actionsEnabled":true,"alarmActions":["arn:aws:sns:eu-north-1:111122223333:a",)"
    R"("arn:aws:sns:eu-north-1:111122223333:b"],"insufficientDataActions":[],)"
    R"("okactions":["arn:aws:sns:eu-north-1:111122223333:ok"]}})";

MetricAlarm test_alarm() {
  auto a = parse_put_metric_alarm(kAlarmJson);
  REQUIRE(a.ok());
  return a.value();
}

// One datum per listed minute (value 1) of the alarm's metric.
MetricStore store_with(const std::vector<int>& minutes) {
  MetricStore store;
  const MetricKey key("App", "Errors", {{"Service", "api"}});
  for (int m : minutes) REQUIRE(store.add_value(key, StandardUnit::kNone, kT0 + m * 60000 + 10000, 1).ok());
  return store;
}

std::vector<std::string> types(const std::vector<HistoryItem>& items) {
  std::vector<std::string> out;
  for (const auto& h : items) out.push_back(h.history_item_type);
  return out;
}

}  // namespace

TEST_CASE("history: the ConfigurationUpdate item of a created alarm", "[alarm][history]") {
  const MetricAlarm alarm = test_alarm();
  const HistoryItem h = creation_history_item(alarm, AlarmState::initial(kT0), kT0);
  CHECK(h.alarm_name == "errors");
  CHECK(h.alarm_type == "MetricAlarm");
  CHECK(h.timestamp_ms == kT0);
  CHECK(h.history_item_type == "ConfigurationUpdate");
  CHECK(h.history_summary == "Alarm \"errors\" created");
  CHECK(h.history_data == kCreatedData);

  // An AlarmArn given (DescribeAlarms input) is used as is; no description, no key.
  MetricAlarm bare = alarm;
  bare.alarm_description.reset();
  bare.alarm_arn = "arn:aws:cloudwatch:us-west-2:999:alarm:errors";
  const HistoryItem b = creation_history_item(bare, AlarmState::initial(kT0), kT0);
  CHECK(b.history_data.find("alarmDescription") == std::string::npos);
  CHECK(b.history_data.find(R"("alarmArn":"arn:aws:cloudwatch:us-west-2:999:alarm:errors")") != std::string::npos);

  const AlarmEvaluator e = AlarmEvaluator::created(alarm, kT0);
  REQUIRE(e.history().size() == 1);
  CHECK(e.history()[0].history_data == kCreatedData);
  CHECK(e.state().value == StateValue::kInsufficientData);
  CHECK(e.state().updated_ms == kT0);
}

TEST_CASE("history: Action items follow their transition's StateUpdate, with the reported outcome",
          "[alarm][history]") {
  const MetricAlarm alarm = test_alarm();
  // Breaching in [00:01, 00:02) only: ALARM at 00:02, OK at 00:08 when that bucket has left the
  // evaluation range (R = 6 periods).
  const MetricStore store = store_with({1});
  AlarmEvaluator e = AlarmEvaluator::created(alarm, kT0);
  const DatapointSource source = store_source(store, alarm);

  const Evaluation to_alarm = e.evaluate(kT0 + 2 * 60000, source);
  REQUIRE(to_alarm.transition);
  // The evaluator says which actions are due; it writes no Action item itself.
  CHECK(to_alarm.actions == std::vector<std::string>{kTopicA, kTopicB});
  CHECK(types(e.history()) == std::vector<std::string>{"ConfigurationUpdate", "StateUpdate"});

  e.record_action(kTopicA, to_alarm.query_ms, ActionOutcome::success());
  const Evaluation to_ok = e.evaluate(kT0 + 8 * 60000, source);
  REQUIRE(to_ok.transition);
  // B's delivery is reported after the next transition: its item still follows A's.
  e.record_action(kTopicB, to_alarm.query_ms, ActionOutcome::failure("Topic not found"));
  e.record_action("arn:aws:sns:eu-north-1:111122223333:ok", to_ok.query_ms, ActionOutcome::success());

  const auto& h = e.history();
  REQUIRE(types(h) == std::vector<std::string>{"ConfigurationUpdate", "StateUpdate", "Action", "Action",
                                                "StateUpdate", "Action"});
  CHECK(h[1].history_summary == "Alarm updated from INSUFFICIENT_DATA to ALARM");
  CHECK(h[2].timestamp_ms == kT0 + 2 * 60000);
  CHECK(h[2].history_summary == "Successfully executed action arn:aws:sns:eu-north-1:111122223333:a");
  CHECK(h[2].history_data == R"({"actionState":"Succeeded","notificationResource":"arn:aws:sns:eu-north-1:111122223333:a"})");
  CHECK(h[3].history_summary ==
        "Failed to execute action arn:aws:sns:eu-north-1:111122223333:b. Reason: Topic not found");
  CHECK(h[3].history_data == R"({"actionState":"Failed","notificationResource":"arn:aws:sns:eu-north-1:111122223333:b"})");
  CHECK(h[4].history_summary == "Alarm updated from ALARM to OK");
  CHECK(h[5].history_summary == "Successfully executed action arn:aws:sns:eu-north-1:111122223333:ok");
  for (const auto& item : h) CHECK(item.alarm_name == "errors");
}

namespace {

std::string pipeline_config(const std::string& dir) {
  return fmt::format(R"({{
  "metricFilters": [{{"filterName": "errors", "logGroupName": "app", "filterPattern": "ERROR",
    "metricTransformations": [{{"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}}]}}],
  "metricAlarms": [{{"AlarmName": "errors", "Namespace": "App", "MetricName": "Errors", "Statistic": "Sum",
    "Period": 60, "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching", "AlarmActions": ["{1}", "{2}"]}}],
  "subscriptions": [
    {{"TopicArn": "{1}", "Protocol": "file", "Endpoint": "{0}/a.jsonl"}},
    {{"TopicArn": "{2}", "Protocol": "exec", "Endpoint": "echo refused >&2; exit 3"}}]
}})",
                     dir, kTopicA, kTopicB);
}

std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("cwfilter-history-{}-{}", ::getpid(), name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("history: the pipeline records each delivery's outcome as an Action item", "[alarm][history][pipeline]") {
  const std::string dir = temp_dir("lib");
  auto cfg = parse_pipeline_config(pipeline_config(dir));
  REQUIRE(cfg.ok());
  DeliveryOptions delivery;
  delivery.retry.max_attempts = 1;
  delivery.dead_letter_path = dir + "/dead-letter.jsonl";
  auto dispatcher = Dispatcher::create(cfg->subscriptions, delivery);
  REQUIRE(dispatcher.ok());
  PipelineOptions options;
  options.max_lateness_ms = 0;
  options.until_ms = kT0 + 10 * 60000;
  Pipeline* running = nullptr;
  int delivered = 0;
  auto p = Pipeline::create(cfg.value(), options, [&](const PipelineNotification& n) {
    const DeliveryReport report = dispatcher->deliver(n.notification);
    ++delivered;
    REQUIRE(running->record_action(n.alarm_name, n.notification.topic_arn, n.at_ms, action_outcome(report)));
  });
  REQUIRE(p.ok());
  running = &p.value();
  LogEvent e;
  e.message = "ERROR boom";
  e.timestamp_ms = kT0 + 30000;
  e.has_timestamp = true;
  p->add(e);
  p->finish();
  CHECK(delivered == 2);
  CHECK_FALSE(p->record_action("no-such-alarm", kTopicA, kT0, ActionOutcome::success()));

  const auto h = p->alarm_history();
  // 00:00 (nothing yet, notBreaching): OK; 00:01: ALARM, both topics; 00:07, when the datum has
  // left the evaluation range: OK (no OKActions).
  REQUIRE(types(h) == std::vector<std::string>{"ConfigurationUpdate", "StateUpdate", "StateUpdate", "Action",
                                                "Action", "StateUpdate"});
  // Created at the first scheduled instant, which is when the replay starts evaluating it.
  CHECK(h[0].timestamp_ms == kT0);
  CHECK(h[0].history_summary == "Alarm \"errors\" created");
  CHECK(h[1].timestamp_ms == kT0);
  CHECK(h[1].history_summary == "Alarm updated from INSUFFICIENT_DATA to OK");
  CHECK(h[2].timestamp_ms == kT0 + 60000);
  CHECK(h[2].history_summary == "Alarm updated from OK to ALARM");
  CHECK(h[3].timestamp_ms == kT0 + 60000);
  CHECK(h[3].history_summary == std::string("Successfully executed action ") + kTopicA);
  CHECK(h[3].history_data == fmt::format(R"({{"actionState":"Succeeded","notificationResource":"{}"}})", kTopicA));
  CHECK(h[4].timestamp_ms == kT0 + 60000);
  CHECK_THAT(h[4].history_summary,
             Catch::StartsWith(std::string("Failed to execute action ") + kTopicB + ". Reason: exec ") &&
                 Catch::Contains("exit status 3"));
  CHECK(h[4].history_data == fmt::format(R"({{"actionState":"Failed","notificationResource":"{}"}})", kTopicB));
  CHECK(h[5].timestamp_ms == kT0 + 7 * 60000);
  CHECK(h[5].history_summary == "Alarm updated from ALARM to OK");
}

TEST_CASE("history: cwfilter run --history writes the items, Action outcomes from the delivery",
          "[alarm][history][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  for (const bool stateful : {false, true}) {
    DYNAMIC_SECTION((stateful ? "with --state (delivered after the commit)" : "delivered at once")) {
      const std::string dir = temp_dir(stateful ? "cli-state" : "cli");
      std::ofstream(dir + "/config.json") << pipeline_config(dir);
      std::ofstream(dir + "/events.jsonl") << R"({"time":"2026-01-01T00:00:30Z","msg":"ERROR boom"})" << "\n";
      const std::string cmd = fmt::format(
          "'{}' run --quiet --max-attempts 1 --dead-letter {}/dl.jsonl --config {}/config.json "
          "--input-format json-lines --timestamp-field '$.time' --until 2026-01-01T00:10:00Z "
          "--history {}/history.jsonl {} {}/events.jsonl >{}/out 2>{}/err",
          CWFILTER_CLI_PATH, dir, dir, dir, stateful ? "--state " + dir + "/state.json" : std::string(), dir,
          dir, dir);
      const int rc = std::system(cmd.c_str());
      INFO(cmd << "\n" << test::slurp(dir + "/err"));
      // Exit 1: a notification was not delivered (topic b).
      CHECK((WIFEXITED(rc) ? WEXITSTATUS(rc) : -1) == 1);
      std::vector<rapidjson::Document> lines = test::read_jsonl(dir + "/history.jsonl");
      REQUIRE(lines.size() == 6);
      std::vector<std::string> got;
      for (const auto& l : lines) {
        REQUIRE(l.IsObject());
        CHECK(test::str(l, "AlarmName") == "errors");
        CHECK(test::str(l, "AlarmType") == "MetricAlarm");
        got.push_back(test::str(l, "HistoryItemType") + " " + test::str(l, "Timestamp"));
      }
      CHECK(got == std::vector<std::string>{"ConfigurationUpdate 2026-01-01T00:00:00.000Z",
                                            "StateUpdate 2026-01-01T00:00:00.000Z",
                                            "StateUpdate 2026-01-01T00:01:00.000Z",
                                            "Action 2026-01-01T00:01:00.000Z", "Action 2026-01-01T00:01:00.000Z",
                                            "StateUpdate 2026-01-01T00:07:00.000Z"});
      CHECK(test::str(lines[3], "HistorySummary") == std::string("Successfully executed action ") + kTopicA);
      CHECK_THAT(test::str(lines[4], "HistorySummary"),
                 Catch::StartsWith(std::string("Failed to execute action ") + kTopicB + ". Reason: exec "));
      CHECK(test::str(lines[4], "HistoryData") ==
            fmt::format(R"({{"actionState":"Failed","notificationResource":"{}"}})", kTopicB));
      CHECK(test::slurp(dir + "/a.jsonl").find("\"TopicArn\":\"" + std::string(kTopicA)) != std::string::npos);
    }
  }
}
