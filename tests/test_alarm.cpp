// Alarm configuration, schedule, reason text (golden, alarms.md §9.5), SNS message and
// properties of the evaluator (issue 5).
#include <catch2/catch.hpp>

#include <cwfilter/alarm.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/notification.hpp>

#include <rapidjson/document.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

using namespace cwfilter;
using namespace cwfilter::alarm;

namespace {

std::int64_t t(const char* iso) {
  auto r = parse_iso_timestamp(iso);
  REQUIRE(r.ok());
  return r.value();
}

MetricAlarm make_alarm(std::string_view json) {
  auto a = parse_put_metric_alarm(json);
  INFO(json);
  if (!a) FAIL(a.error().message);
  return a.value();
}

// A source from an explicit bucket-start -> datapoint table (exact bucket starts only).
DatapointSource table_source(std::map<std::int64_t, BucketDatapoint> table) {
  return [table = std::move(table)](std::int64_t start, std::int64_t) -> std::optional<BucketDatapoint> {
    auto it = table.find(start);
    if (it == table.end()) return std::nullopt;
    return it->second;
  };
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("Java Double.toString formatting", "[alarm]") {
  CHECK(format_java_double(21.0) == "21.0");
  CHECK(format_java_double(0.0) == "0.0");
  CHECK(format_java_double(99.83274983791787) == "99.83274983791787");
  CHECK(format_java_double(0.059) == "0.059");
  CHECK(format_java_double(613.0) == "613.0");
  CHECK(format_java_double(-2.5) == "-2.5");
  CHECK(format_java_double(0.001) == "0.001");
  CHECK(format_java_double(1e-4) == "1.0E-4");
  CHECK(format_java_double(9999999.0) == "9999999.0");
  CHECK(format_java_double(1e7) == "1.0E7");
  CHECK(format_java_double(1.25e10) == "1.25E10");
  CHECK(format_java_double(123456.789) == "123456.789");
}

TEST_CASE("timestamps: parsing and AWS formats", "[alarm]") {
  CHECK(format_aws_timestamp(t("2024-10-26T19:00:38.853Z")) == "2024-10-26T19:00:38.853+0000");
  CHECK(format_reason_date(t("2022-07-09T02:34:00Z")) == "09/07/22 02:34:00");
  CHECK(format_iso_timestamp(t("2022-07-09T02:39:54.584+00:00")) == "2022-07-09T02:39:54.584Z");
  CHECK(t("2026-01-01T01:00:00+01:00") == t("2026-01-01T00:00:00Z"));
  CHECK(t("2022-07-09T02:36:47.890000+00:00") == t("2022-07-09T02:36:47.890Z"));
  CHECK_FALSE(parse_iso_timestamp("yesterday").ok());
  CHECK_FALSE(parse_iso_timestamp("2026-13-01T00:00:00Z").ok());
}

TEST_CASE("PutMetricAlarm validation", "[alarm][validation]") {
  const std::string base =
      R"("AlarmName":"a","Namespace":"N","MetricName":"M","Statistic":"Sum","Threshold":1,)"
      R"("ComparisonOperator":"GreaterThanThreshold")";
  auto with = [&](const std::string& extra) {
    return parse_put_metric_alarm("{" + base + "," + extra + "}");
  };
  // The documented Period/span table (case validation-period-and-span), read from the case file.
  std::ifstream in(std::string(CWFILTER_SHARED_DIR) + "/spec/cases/alarms.jsonl");
  int checks = 0;
  for (std::string line; std::getline(in, line);) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    if (d.HasParseError() || !d.HasMember("checks")) continue;
    for (const auto& c : d["checks"].GetArray()) {
      const int p = c["Period"].GetInt(), n = c["EvaluationPeriods"].GetInt();
      auto r = with("\"Period\":" + std::to_string(p) + ",\"EvaluationPeriods\":" + std::to_string(n));
      INFO("Period " << p << " N " << n << (r.ok() ? "" : " -> " + r.error().message));
      CHECK(r.ok() == c["valid"].GetBool());
      ++checks;
    }
  }
  CHECK(checks >= 10);
  auto p45 = with(R"("Period":45,"EvaluationPeriods":1)");
  REQUIRE_FALSE(p45.ok());
  CHECK(p45.error().message.find("Period must be 10, 20, 30 or a multiple of 60") != std::string::npos);
  auto m_gt_n = with(R"("Period":60,"EvaluationPeriods":2,"DatapointsToAlarm":3)");
  REQUIRE_FALSE(m_gt_n.ok());
  CHECK(m_gt_n.error().message.find("DatapointsToAlarm must be less than or equal to EvaluationPeriods") !=
        std::string::npos);
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"ExtendedStatistic":"p99")").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"TreatMissingData":"sometimes")").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"Unit":"Parsecs")").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":0)").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":0)").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"EvaluateLowSampleCountPercentile":"maybe")").ok());
  CHECK_FALSE(with(R"("Period":60,"EvaluationPeriods":1,"AlarmActions":["a","b","c","d","e","f"])").ok());
  CHECK(with(R"("Period":60,"EvaluationPeriods":1,"AlarmActions":["a","b","c","d","e"])").ok());
  CHECK_FALSE(parse_put_metric_alarm(
                  R"({"AlarmName":"a","Namespace":"N","MetricName":"M","Statistic":"Sum","Period":60,)"
                  R"("EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"Above"})")
                  .ok());
  CHECK_FALSE(parse_put_metric_alarm(
                  R"({"AlarmName":"a","Namespace":"N","MetricName":"M","ExtendedStatistic":"p101",)"
                  R"("Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"})")
                  .ok());
  CHECK(parse_put_metric_alarm(
            R"({"AlarmName":"a","Namespace":"N","MetricName":"M","ExtendedStatistic":"p99",)"
            R"("Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"})")
            .ok());
  CHECK_FALSE(parse_put_metric_alarm("{not json").ok());
}

TEST_CASE("DescribeAlarms output is loaded", "[alarm]") {
  auto alarms = parse_alarms_json(R"({"MetricAlarms":[
    {"AlarmName":"cpu-alarm","AlarmArn":"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:cpu-alarm",
     "AlarmConfigurationUpdatedTimestamp":"2022-07-09T02:36:47.890000+00:00","ActionsEnabled":true,
     "OKActions":[],"AlarmActions":["arn:aws:sns:eu-west-1:111122223333:t"],"InsufficientDataActions":[],
     "StateValue":"OK","StateReason":"x","MetricName":"CPUUtilization","Namespace":"AWS/EC2",
     "Statistic":"Average","Dimensions":[{"Name":"InstanceId","Value":"i-1"}],"Period":60,
     "EvaluationPeriods":1,"DatapointsToAlarm":1,"Threshold":80.0,
     "ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"missing"},
    {"AlarmName":"two","MetricName":"M","Namespace":"N","Statistic":"Sum","Period":300,
     "EvaluationPeriods":3,"Threshold":1.0,"ComparisonOperator":"LessThanThreshold"}],
    "CompositeAlarms":[]})");
  REQUIRE(alarms.ok());
  REQUIRE(alarms.value().size() == 2);
  const auto& a = alarms.value()[0];
  CHECK(a.configuration_updated_ms == t("2022-07-09T02:36:47.890Z"));
  const auto id = alarm_identity(a);
  CHECK(id.region == "eu-west-1");
  CHECK(id.account_id == "111122223333");
  CHECK(alarms.value()[1].datapoints_to_alarm_or_default() == 3);
}

TEST_CASE("schedule: evaluation range, instants and bucket anchoring", "[alarm]") {
  auto alarm = [](int period, int n) {
    MetricAlarm a;
    a.period = period;
    a.evaluation_periods = n;
    return a;
  };
  CHECK(evaluation_range(alarm(300, 3)) == 5);  // the only documented value
  CHECK(evaluation_range(alarm(60, 1)) == 6);
  CHECK(evaluation_range(alarm(10, 2)) == 4);
  CHECK(evaluation_range(alarm(3600, 24)) == 26);
  EvaluationOptions fixed;
  fixed.fixed_evaluation_range = 9;
  CHECK(evaluation_range(alarm(60, 3), fixed) == 9);
  CHECK(scheduled_instant(alarm(300, 1), t("2026-01-01T00:04:59.999Z")) == t("2026-01-01T00:04:00Z"));
  CHECK(scheduled_instant(alarm(10, 1), t("2026-01-01T00:04:59Z")) == t("2026-01-01T00:04:50Z"));
  CHECK(scheduled_instant(alarm(86400, 1), t("2026-01-01T05:04:59Z")) == t("2026-01-01T05:04:00Z"));
  CHECK(scheduled_instant(alarm(86400, 2), t("2026-01-01T05:04:59Z")) == t("2026-01-01T05:00:00Z"));
  CHECK(newest_bucket_end(alarm(20, 1), t("2026-01-01T00:00:50Z")) == t("2026-01-01T00:00:40Z"));
  CHECK(newest_bucket_end(alarm(30, 1), t("2026-01-01T00:00:50Z")) == t("2026-01-01T00:00:30Z"));
  CHECK(newest_bucket_end(alarm(300, 1), t("2026-01-01T00:07:00Z")) == t("2026-01-01T00:07:00Z"));
}

// ---- golden reason text on the real AWS sequences of alarms.md §9.5 ---------------------------

TEST_CASE("golden: partial fill treated as Breaching, OK (observed 2026-08)", "[alarm][golden]") {
  const auto a = make_alarm(
      R"({"AlarmName":"x","Namespace":"N","MetricName":"M","Statistic":"Maximum","Period":60,)"
      R"("EvaluationPeriods":2,"Threshold":1.0,"ComparisonOperator":"GreaterThanOrEqualToThreshold",)"
      R"("TreatMissingData":"breaching"})");
  const auto ev = evaluate(a, AlarmState::initial(), t("2026-08-03T11:43:05Z"),
                           table_source({{t("2026-08-03T11:42:00Z"), {0.0, 1}}}));
  CHECK(ev.state.value == StateValue::kOk);
  CHECK(ev.state.reason ==
        "Threshold Crossed: 1 datapoint [0.0 (03/08/26 11:42:00)] was not greater than or equal to "
        "the threshold (1.0) and 1 missing datapoint was treated as [Breaching].");
}

TEST_CASE("golden: 1 of 20 with 19 filled NonBreaching (observed 2024-03)", "[alarm][golden]") {
  const auto a = make_alarm(
      R"({"AlarmName":"x","Namespace":"N","MetricName":"M","Statistic":"Sum","Period":300,)"
      R"("EvaluationPeriods":20,"DatapointsToAlarm":1,"Threshold":1.0,)"
      R"("ComparisonOperator":"GreaterThanOrEqualToThreshold","TreatMissingData":"notBreaching"})");
  const auto ev = evaluate(a, AlarmState::assumed(StateValue::kOk), t("2024-03-16T12:20:31Z"),
                           table_source({{t("2024-03-16T12:15:00Z"), {613.0, 613}}}));
  CHECK(ev.transition);
  CHECK(ev.state.value == StateValue::kAlarm);
  CHECK(ev.state.reason ==
        "Threshold Crossed: 1 out of the last 20 datapoints [613.0 (16/03/24 12:15:00)] was greater "
        "than or equal to the threshold (1.0) and 19 missing datapoints were treated as "
        "[NonBreaching] (minimum 1 datapoint for OK -> ALARM transition).");
}

TEST_CASE("golden: all missing, notBreaching and breaching", "[alarm][golden]") {
  const auto nb = make_alarm(
      R"({"AlarmName":"x","Namespace":"N","MetricName":"M","Statistic":"Maximum","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1.0,"ComparisonOperator":"GreaterThanThreshold",)"
      R"("TreatMissingData":"notBreaching"})");
  const auto ev = evaluate(nb, AlarmState::initial(), t("2026-01-01T00:10:00Z"), table_source({}));
  CHECK(ev.state.value == StateValue::kOk);
  CHECK(ev.state.reason ==
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was "
        "treated as [NonBreaching].");

  // aws-observed-breaching-no-data (LocalStack recording of AWS): reason and StateReasonData shape.
  const auto b = make_alarm(
      R"({"AlarmName":"x","Namespace":"test/breaching-alarm","MetricName":"my-metric101",)"
      R"("Dimensions":[{"Name":"InstanceId","Value":"abc"}],"Statistic":"Average","Period":10,)"
      R"("EvaluationPeriods":2,"Threshold":2.0,"ComparisonOperator":"GreaterThanThreshold",)"
      R"("TreatMissingData":"breaching","Unit":"Seconds"})");
  const auto ev2 = evaluate(b, AlarmState::initial(), t("2026-01-01T00:00:13.5Z"), table_source({}));
  CHECK(ev2.state.value == StateValue::kAlarm);
  CHECK(ev2.state.reason ==
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints "
        "were treated as [Breaching].");
  CHECK(ev2.state.reason_data ==
        R"({"version":"1.0","queryDate":"2026-01-01T00:00:13.500+0000","unit":"Seconds",)"
        R"("statistic":"Average","period":10,"recentDatapoints":[],"threshold":2.0,)"
        R"("evaluatedDatapoints":[{"timestamp":"2026-01-01T00:00:00.000+0000"},)"
        R"({"timestamp":"2025-12-31T23:59:50.000+0000"}]})");
}
TEST_CASE("golden: 6 of 6 long form trails the 5 most recent", "[alarm][golden]") {
  const auto a = make_alarm(
      R"({"AlarmName":"x","Namespace":"AWS/SQS","MetricName":"M","Statistic":"Sum","Period":300,)"
      R"("EvaluationPeriods":6,"DatapointsToAlarm":6,"Threshold":0.0,)"
      R"("ComparisonOperator":"LessThanOrEqualToThreshold"})");
  std::map<std::int64_t, BucketDatapoint> table;
  for (int i = 0; i < 6; ++i) table[t("2022-09-29T21:40:00Z") + i * 300000LL] = {0.0, 5};
  const auto ev = evaluate(a, AlarmState::assumed(StateValue::kOk), t("2022-09-29T22:10:04.689Z"),
                           table_source(table));
  CHECK(ev.state.reason ==
        "Threshold Crossed: 6 out of the last 6 datapoints were less than or equal to the threshold "
        "(0.0). The most recent datapoints which crossed the threshold: [0.0 (29/09/22 22:05:00), "
        "0.0 (29/09/22 22:00:00), 0.0 (29/09/22 21:55:00), 0.0 (29/09/22 21:50:00), 0.0 (29/09/22 "
        "21:45:00)] (minimum 6 datapoints for OK -> ALARM transition).");
  // evaluatedDatapoints: all six deciding points, newest first.
  rapidjson::Document d;
  d.Parse(ev.state.reason_data.c_str());
  REQUIRE(d.IsObject());
  CHECK(d["evaluatedDatapoints"].Size() == 6);
  CHECK(std::string(d["evaluatedDatapoints"][0]["timestamp"].GetString()) ==
        "2022-09-29T22:05:00.000+0000");
  CHECK(d["recentDatapoints"].Size() == 6);
}

TEST_CASE("golden: premature alarm prints k < m", "[alarm][golden]") {
  // 2019 AWS row 'X - - - -' (N = M = 3, missing): ALARM although only 1 datapoint breaches.
  const auto a = make_alarm(
      R"({"AlarmName":"x","Namespace":"N","MetricName":"M","Statistic":"Maximum","Period":300,)"
      R"("EvaluationPeriods":3,"DatapointsToAlarm":3,"Threshold":5.0,)"
      R"("ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"missing"})");
  const auto src = table_source({{t("2026-01-01T00:35:00Z"), {10.0, 1}}});
  const auto ev = evaluate(a, AlarmState::assumed(StateValue::kOk), t("2026-01-01T01:00:00Z"), src);
  CHECK(ev.state.value == StateValue::kAlarm);
  CHECK(ev.state.reason ==
        "Threshold Crossed: 1 out of the last 3 datapoints [10.0 (01/01/26 00:35:00)] was greater "
        "than the threshold (5.0) (minimum 3 datapoints for OK -> ALARM transition).");
  // Variant (a): age measured in the last N slots only -> INSUFFICIENT_DATA.
  EvaluationOptions window;
  window.premature_rule = EvaluationOptions::PrematureRule::kWindow;
  CHECK(evaluate(a, AlarmState::assumed(StateValue::kOk), t("2026-01-01T01:00:00Z"), src, window)
            .state.value == StateValue::kInsufficientData);
  // '- - - - X' is not old enough: INSUFFICIENT_DATA (2018 table), "1 datapoint... unknown"
  const auto young = table_source({{t("2026-01-01T00:55:00Z"), {10.0, 1}}});
  const auto ev2 = evaluate(a, AlarmState::assumed(StateValue::kOk), t("2026-01-01T01:00:00Z"), young);
  CHECK(ev2.state.value == StateValue::kInsufficientData);
  CHECK(ev2.state.reason == "Insufficient Data: 2 datapoints were unknown.");
}

TEST_CASE("golden: the SNS message of the 2022 cpu-alarm, byte for byte", "[alarm][golden][sns]") {
  const std::string spec = read_file(std::string(CWFILTER_SHARED_DIR) + "/spec/sns-alarm-message.json");
  rapidjson::Document d;
  d.Parse(spec.c_str());
  REQUIRE(d.IsObject());
  const auto& sns = d["primary_example"]["lambda_event_record"]["Sns"];
  const auto a = make_alarm(
      R"({"AlarmName":"cpu-alarm","Namespace":"AWS/EC2","MetricName":"CPUUtilization",)"
      R"("Dimensions":[{"Name":"InstanceId","Value":"i-0d2ef44803a38dbc6"}],"Statistic":"Average",)"
      R"("Period":60,"EvaluationPeriods":1,"DatapointsToAlarm":1,"Threshold":80.0,)"
      R"("ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"missing",)"
      R"("AlarmActions":["arn:aws:sns:us-east-1:256867920320:cpu-alerts"]})");
  const auto ev = evaluate(a, AlarmState::initial(), t("2022-07-09T02:39:54.536Z"),
                           table_source({{t("2022-07-09T02:34:00Z"), {99.83274983791787, 1}}}));
  REQUIRE(ev.transition);
  NotificationOptions options;
  options.configuration_updated_ms = t("2022-07-09T02:36:47.890Z");
  const auto notes = sns_notifications(a, ev, options);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].message == sns["Message"].GetString());
  CHECK(notes[0].subject == sns["Subject"].GetString());
  CHECK(notes[0].topic_arn == sns["TopicArn"].GetString());
  rapidjson::Document env;
  env.Parse(notes[0].envelope.c_str());
  REQUIRE(env.IsObject());
  const char* keys[] = {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                        "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"};
  int i = 0;
  for (auto it = env.MemberBegin(); it != env.MemberEnd(); ++it, ++i) {
    REQUIRE(i < 10);
    CHECK(std::string(it->name.GetString()) == keys[i]);
  }
  CHECK(i == 10);
  CHECK(std::string(env["Message"].GetString()) == sns["Message"].GetString());
  CHECK(std::string(env["Timestamp"].GetString()) == "2022-07-09T02:39:54.536Z");
  // No transition, no notification.
  const auto again = evaluate(a, ev.state, t("2022-07-09T02:40:54Z"),
                              table_source({{t("2022-07-09T02:34:00Z"), {99.83274983791787, 1}}}));
  CHECK_FALSE(again.transition);
  CHECK(sns_notifications(a, again, options).empty());
}

TEST_CASE("history item and actions on transition only", "[alarm]") {
  const auto a = make_alarm(
      R"({"AlarmName":"h","Namespace":"N","MetricName":"M","Statistic":"Sum","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1.0,"ComparisonOperator":"GreaterThanOrEqualToThreshold",)"
      R"("AlarmActions":["arn:aws:sns:us-east-1:1:t"],"OKActions":["arn:aws:sns:us-east-1:1:ok"]})");
  AlarmEvaluator evaluator(a, AlarmState::initial());
  const auto src = table_source({{t("2026-01-01T00:00:00Z"), {3.0, 3}}});
  const auto e1 = evaluator.evaluate(t("2026-01-01T00:01:00Z"), src);
  CHECK(e1.transition);
  CHECK(e1.actions == std::vector<std::string>{"arn:aws:sns:us-east-1:1:t"});
  REQUIRE(e1.history);
  CHECK(e1.history->history_summary == "Alarm updated from INSUFFICIENT_DATA to ALARM");
  CHECK(e1.history->history_data.rfind(
            R"({"version":"1.0","oldState":{"stateValue":"INSUFFICIENT_DATA","stateReason":"Unchecked: Initial alarm creation"},"newState":{"stateValue":"ALARM","stateReason":"Threshold Crossed: 1 datapoint [3.0 (01/01/26 00:00:00)] was greater than or equal to the threshold (1.0).","stateReasonData":{"version":"1.0")",
            0) == 0);
  // While the datapoint is within the evaluation range (6 slots for N=1, P=60) it is still the
  // newest real datapoint and keeps deciding (rule 2); at 00:07 it has left the range.
  CHECK_FALSE(evaluator.evaluate(t("2026-01-01T00:06:00Z"), src).transition);
  const auto e2 = evaluator.evaluate(t("2026-01-01T00:07:00Z"), src);
  CHECK(e2.state.value == StateValue::kInsufficientData);
  CHECK(e2.actions.empty());  // no InsufficientDataActions
  CHECK(evaluator.history().size() == 2);
  MetricAlarm disabled = a;
  disabled.actions_enabled = false;
  CHECK(evaluate(disabled, AlarmState::initial(), t("2026-01-01T00:01:00Z"), src).actions.empty());
}

TEST_CASE("backtest summary: times and duration in ALARM", "[alarm]") {
  const auto a = make_alarm(
      R"({"AlarmName":"s","Namespace":"N","MetricName":"M","Statistic":"Sum","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1.0,"ComparisonOperator":"GreaterThanOrEqualToThreshold",)"
      R"("TreatMissingData":"notBreaching"})");
  MetricStore store;
  const MetricKey key("N", "M");
  // Two episodes: minutes 10-12 and minute 30.
  for (int minute : {10, 11, 12, 30})
    REQUIRE(store.add_value(key, StandardUnit::kNone, t("2026-01-01T00:00:00Z") + minute * 60000LL + 5000, 5.0)
                .ok());
  const auto evs = backtest_range(a, AlarmState::initial(), t("2026-01-01T00:00:00Z"),
                                  t("2026-01-01T01:00:00Z"), store_source(store, a));
  CHECK(evs.size() == 61);
  const auto s = summarize(a, evs);
  CHECK(s.times_in_alarm == 2);
  // A breaching datapoint keeps deciding while it is in the evaluation range (R = 6 slots):
  // ALARM from 00:11 until minute 12 leaves the range at 00:19, and from 00:31 to 00:37.
  CHECK(s.alarm_duration_ms == (8 + 6) * 60000LL);
  CHECK(s.transitions == 5);  // INSUFFICIENT_DATA -> OK first
}

TEST_CASE("unit filtering: an alarm with Unit only sees that unit", "[alarm]") {
  MetricStore store;
  const MetricKey key("N", "Latency");
  REQUIRE(store.add_value(key, StandardUnit::kSeconds, t("2026-01-01T00:00:30Z"), 5.0).ok());
  auto a = make_alarm(
      R"({"AlarmName":"u","Namespace":"N","MetricName":"Latency","Statistic":"Average","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1.0,"ComparisonOperator":"GreaterThanThreshold","Unit":"Milliseconds"})");
  CHECK(evaluate(a, AlarmState::initial(), t("2026-01-01T00:01:00Z"), store_source(store, a)).state.value ==
        StateValue::kInsufficientData);
  a.unit = StandardUnit::kSeconds;
  CHECK(evaluate(a, AlarmState::initial(), t("2026-01-01T00:01:00Z"), store_source(store, a)).state.value ==
        StateValue::kAlarm);
  a.unit.reset();
  CHECK(evaluate(a, AlarmState::initial(), t("2026-01-01T00:01:00Z"), store_source(store, a)).state.value ==
        StateValue::kAlarm);
}

TEST_CASE("DynamoDB alarms ignore missing data unless TreatMissingData is explicit", "[alarm]") {
  auto a = make_alarm(
      R"({"AlarmName":"d","Namespace":"AWS/DynamoDB","MetricName":"ThrottledRequests","Statistic":"Sum",)"
      R"("Period":60,"EvaluationPeriods":1,"Threshold":1.0,"ComparisonOperator":"GreaterThanOrEqualToThreshold"})");
  const auto ok = AlarmState::assumed(StateValue::kOk);
  CHECK(evaluate(a, ok, t("2026-01-01T00:10:00Z"), table_source({})).state.value == StateValue::kOk);
  a.treat_missing_data = TreatMissingData::kBreaching;
  CHECK(evaluate(a, ok, t("2026-01-01T00:10:00Z"), table_source({})).state.value == StateValue::kAlarm);
  EvaluationOptions always;
  always.dynamodb_always_ignore = true;
  CHECK(evaluate(a, ok, t("2026-01-01T00:10:00Z"), table_source({}), always).state.value == StateValue::kOk);
}

// ---- properties -------------------------------------------------------------------------------

TEST_CASE("property: with TreatMissingData set, re-evaluating at the same instant never changes "
          "the state",
          "[alarm][property]") {
  std::mt19937 rng(20261129);
  const TreatMissingData treats[] = {TreatMissingData::kMissing, TreatMissingData::kIgnore,
                                     TreatMissingData::kBreaching, TreatMissingData::kNotBreaching};
  const StateValue states[] = {StateValue::kOk, StateValue::kAlarm, StateValue::kInsufficientData};
  const int periods[] = {10, 60, 300};
  const std::int64_t at = t("2026-01-01T12:00:00Z");
  for (int iteration = 0; iteration < 3000; ++iteration) {
    MetricAlarm a;
    a.alarm_name = "p";
    a.metric_namespace = "N";
    a.metric_name = "M";
    a.statistic = "Maximum";
    a.period = periods[rng() % 3];
    a.evaluation_periods = 1 + static_cast<int>(rng() % 6);
    if (rng() % 2) a.datapoints_to_alarm = 1 + static_cast<int>(rng() % a.evaluation_periods);
    a.threshold = 5.0;
    a.comparison_operator = ComparisonOperator::kGreaterThanThreshold;
    a.treat_missing_data = treats[rng() % 4];
    std::map<std::int64_t, BucketDatapoint> table;
    const std::int64_t end = newest_bucket_end(a, scheduled_instant(a, at));
    for (int k = 0; k < evaluation_range(a); ++k) {
      const unsigned kind = rng() % 3;  // missing, breaching, not breaching
      if (kind) table[end - (k + 1) * a.period * 1000LL] = {kind == 1 ? 10.0 : 1.0, 1};
    }
    const auto src = table_source(table);
    const auto first = evaluate(a, AlarmState::assumed(states[rng() % 3]), at, src);
    const auto second = evaluate(a, first.state, at, src);
    INFO("iteration " << iteration << " treat " << to_string(*a.treat_missing_data));
    CHECK_FALSE(second.transition);
    CHECK(second.state.value == first.state.value);
    CHECK(second.state.reason == first.state.reason);
  }
}

TEST_CASE("property: breaching data for N periods puts the alarm in ALARM", "[alarm][property]") {
  std::mt19937 rng(7);
  const TreatMissingData treats[] = {TreatMissingData::kMissing, TreatMissingData::kIgnore,
                                     TreatMissingData::kBreaching, TreatMissingData::kNotBreaching};
  const StateValue states[] = {StateValue::kOk, StateValue::kAlarm, StateValue::kInsufficientData};
  const char* ops[] = {"GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
                       "LessThanOrEqualToThreshold"};
  for (int iteration = 0; iteration < 500; ++iteration) {
    const int period = (rng() % 2) ? 60 : 300;
    const int n = 1 + static_cast<int>(rng() % 5);
    const int op = static_cast<int>(rng() % 4);
    const bool greater = op < 2;
    std::string json = R"({"AlarmName":"b","Namespace":"N","MetricName":"M","Statistic":"Sum",)";
    json += "\"Period\":" + std::to_string(period) + ",\"EvaluationPeriods\":" + std::to_string(n);
    if (rng() % 2) json += ",\"DatapointsToAlarm\":" + std::to_string(1 + rng() % n);
    json += ",\"Threshold\":50,\"ComparisonOperator\":\"" + std::string(ops[op]) + "\"";
    if (rng() % 5) json += ",\"TreatMissingData\":\"" + std::string(to_string(treats[rng() % 4])) + "\"";
    json += "}";
    const auto a = make_alarm(json);
    // Raw data through the store: one datum per minute for N periods before T, all breaching.
    MetricStore store;
    const MetricKey key("N", "M");
    const std::int64_t at = t("2026-03-01T08:00:00Z") + static_cast<std::int64_t>(rng() % 3600) * 1000;
    const std::int64_t tick = scheduled_instant(a, at);
    for (std::int64_t m = tick - static_cast<std::int64_t>(n) * period * 1000; m < tick; m += 60000)
      REQUIRE(store.add_value(key, StandardUnit::kNone, m + 1000, greater ? 100.0 : 0.0).ok());
    const auto ev = evaluate(a, AlarmState::assumed(states[rng() % 3]), at, store_source(store, a));
    INFO(json);
    CHECK(ev.state.value == StateValue::kAlarm);
  }
}
