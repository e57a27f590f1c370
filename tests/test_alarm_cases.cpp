// Every runnable case of spec/cases/alarms.jsonl with `evaluations`, through the library and
// through `cwfilter backtest` (issue 5 "Done when").
#include <catch2/catch.hpp>

#include <cwfilter/alarm.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/notification.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace cwfilter;
using namespace cwfilter::alarm;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Re-serialises JSON text so that two documents with the same keys in the same order and the
// same numbers compare equal as strings.
std::string normalise_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  if (d.HasParseError()) return "<invalid JSON> " + text;
  return to_json(d);
}

struct AlarmCase {
  std::string id;
  std::shared_ptr<rapidjson::Document> doc;  // the whole case
  const rapidjson::Value& get(const char* key) const { return (*doc)[key]; }
  bool has(const char* key) const { return doc->HasMember(key); }
};

std::vector<AlarmCase> runnable_cases() {
  std::vector<AlarmCase> out;
  std::ifstream in(std::string(CWFILTER_SHARED_DIR) + "/spec/cases/alarms.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = std::make_shared<rapidjson::Document>();
    doc->Parse(line.c_str());
    if (doc->HasParseError() || !doc->IsObject()) continue;
    if (!doc->HasMember("evaluations") || !doc->HasMember("alarm")) continue;
    if (doc->HasMember("runnable") && (*doc)["runnable"].IsBool() && !(*doc)["runnable"].GetBool())
      continue;
    out.push_back(AlarmCase{(*doc)["id"].GetString(), doc});
  }
  return out;
}

// The case's alarm as PutMetricAlarm JSON, with AlarmName defaulting to the case id and the
// fields of `changes` (a variant or config_change_before) applied.
std::string alarm_json(const AlarmCase& c, const rapidjson::Value* changes) {
  rapidjson::Document a;
  a.CopyFrom(c.get("alarm"), a.GetAllocator());
  if (!a.HasMember("AlarmName"))
    a.AddMember("AlarmName", rapidjson::Value(c.id.c_str(), a.GetAllocator()), a.GetAllocator());
  if (changes && changes->IsObject()) {
    for (auto it = changes->MemberBegin(); it != changes->MemberEnd(); ++it) {
      rapidjson::Value v;
      v.CopyFrom(it->value, a.GetAllocator());
      if (a.HasMember(it->name)) a[it->name] = v;
      else a.AddMember(rapidjson::Value(it->name, a.GetAllocator()), v, a.GetAllocator());
    }
  }
  return to_json(a);
}

std::int64_t ms(const std::string& iso) {
  auto r = parse_iso_timestamp(iso);
  REQUIRE(r.ok());
  return r.value();
}

// metric_data of a case as a PutMetricData request for the alarm's metric.
// {value, sampleCount} is a recorded datapoint (AWS's evaluatedDatapoints): a statistic set
// whose alarm statistic equals `value` with that SampleCount.
std::string metric_data_json(const AlarmCase& c) {
  const auto& alarm = c.get("alarm");
  rapidjson::Document d(rapidjson::kObjectType);
  auto& al = d.GetAllocator();
  d.AddMember("Namespace", rapidjson::Value(alarm["Namespace"], al), al);
  rapidjson::Value data(rapidjson::kArrayType);
  const std::string stat = alarm.HasMember("Statistic") ? alarm["Statistic"].GetString() : "";
  for (const auto& m : c.get("metric_data").GetArray()) {
    rapidjson::Value datum(rapidjson::kObjectType);
    datum.AddMember("MetricName", rapidjson::Value(alarm["MetricName"], al), al);
    if (alarm.HasMember("Dimensions"))
      datum.AddMember("Dimensions", rapidjson::Value(alarm["Dimensions"], al), al);
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

// Backtests replay history of any age: no retention cut-off.
MetricStoreOptions unlimited_retention() {
  MetricStoreOptions o;
  o.retention_ms = std::numeric_limits<std::int64_t>::max() / 4;
  return o;
}

MetricStore store_for(const AlarmCase& c) {
  MetricStore store(unlimited_retention());
  auto request = parse_put_metric_data(metric_data_json(c));
  INFO(metric_data_json(c));
  REQUIRE(request.ok());
  auto put = store.put(request.value());
  REQUIRE(put.ok());
  return store;
}

AlarmState state_before(const AlarmCase& c) {
  if (c.has("state_before") && c.get("state_before").IsString()) {
    auto s = parse_state_value(c.get("state_before").GetString());
    REQUIRE(s.ok());
    return AlarmState::assumed(s.value());
  }
  return AlarmState::initial();
}

bool is_state_name(const rapidjson::Value& v) {
  return v.IsString() && parse_state_value(v.GetString()).ok();
}

}  // namespace

TEST_CASE("alarms.jsonl: every runnable case through the library", "[alarm][cases]") {
  const auto cases = runnable_cases();
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.id) {
      // Catch2 runs one section per pass of the test case, so the count is per case: every
      // evaluation of the case must carry a state to compare and be compared.
      int checked = 0;
      const MetricStore store = store_for(c);
      auto base = parse_put_metric_alarm(alarm_json(c, nullptr));
      INFO(alarm_json(c, nullptr));
      REQUIRE(base.ok());
      MetricAlarm alarm = base.value();
      AlarmState state = state_before(c);
      for (const auto& e : c.get("evaluations").GetArray()) {
        const std::string at = e["at"].GetString();
        INFO("at " << at);
        Evaluation ev;
        if (e.HasMember("variant")) {
          auto variant = parse_put_metric_alarm(alarm_json(c, &e["variant"]));
          REQUIRE(variant.ok());
          ev = evaluate(variant.value(), state_before(c), ms(at),
                        store_source(store, variant.value()));
        } else {
          if (e.HasMember("config_change_before")) {
            auto changed = parse_put_metric_alarm(alarm_json(c, &e["config_change_before"]));
            REQUIRE(changed.ok());
            alarm = changed.value();
          }
          ev = evaluate(alarm, state, ms(at), store_source(store, alarm));
          state = ev.state;
        }
        if (is_state_name(e["expected_state"])) {
          CHECK(std::string(to_string(ev.state.value)) == e["expected_state"].GetString());
          ++checked;
        }
        if (e.HasMember("expected_reason"))
          CHECK(ev.state.reason == e["expected_reason"].GetString());
        if (e.HasMember("expected_reason_data"))
          CHECK(normalise_json(ev.state.reason_data) == to_json(e["expected_reason_data"]));
        if (e.HasMember("expected_sns_publishes"))
          CHECK(static_cast<int>(sns_notifications(alarm, ev).size()) ==
                e["expected_sns_publishes"].GetInt());
      }
      CHECK(checked == static_cast<int>(c.get("evaluations").Size()));
    }
  }
}

// ---- the same cases through the CLI -----------------------------------------------------------

namespace {

struct CliRun {
  int exit_code = -1;
  std::vector<std::string> lines;
  std::string err;
};

CliRun run_cli(const std::string& args) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() / "cwfilter_alarm_cli";
  std::filesystem::create_directories(dir);
  const auto out_path = dir / ("out" + std::to_string(++counter) + ".txt");
  const auto err_path = dir / ("err" + std::to_string(counter) + ".txt");
  const std::string cmd = std::string("'") + CWFILTER_CLI_PATH + "' backtest " + args + " >'" +
                          out_path.string() + "' 2>'" + err_path.string() + "'";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream out(read_file(out_path.string()));
  for (std::string line; std::getline(out, line);)
    if (!line.empty()) r.lines.push_back(line);
  r.err = read_file(err_path.string());
  return r;
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto dir = std::filesystem::temp_directory_path() / "cwfilter_alarm_cli";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

}  // namespace

TEST_CASE("alarms.jsonl: every runnable case through cwfilter backtest", "[alarm][cases][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) {
    WARN("CWFILTER_CLI_PATH is empty (CLI not built): skipping the CLI cases");
    return;
  }
  const auto cases = runnable_cases();
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.id) {
      const std::string data = write_temp(c.id + ".data.json", metric_data_json(c));
      const std::string initial =
          c.has("state_before") ? c.get("state_before").GetString() : "INSUFFICIENT_DATA";
      // Consecutive evaluations without a variant run in one invocation (state carried); a
      // config change starts a new invocation from the last state; a variant runs alone.
      struct Segment {
        const rapidjson::Value* changes = nullptr;
        std::string initial;
        std::vector<const rapidjson::Value*> evaluations;
        bool variant = false;
      };
      std::vector<Segment> segments;
      const rapidjson::Value* current_changes = nullptr;
      for (const auto& e : c.get("evaluations").GetArray()) {
        if (e.HasMember("variant")) {
          segments.push_back(Segment{&e["variant"], initial, {&e}, true});
          continue;
        }
        if (e.HasMember("config_change_before") || segments.empty() || segments.back().variant ||
            current_changes != (segments.empty() ? nullptr : segments.back().changes)) {
          if (e.HasMember("config_change_before")) current_changes = &e["config_change_before"];
          segments.push_back(Segment{current_changes, "", {}, false});
        }
        segments.back().evaluations.push_back(&e);
      }
      std::string carried = initial;
      bool first_plain = true;
      for (auto& seg : segments) {
        const std::string alarm_path =
            write_temp(c.id + ".alarm.json", alarm_json(c, seg.changes));
        std::string args = "--alarm file://" + alarm_path + " --metric-data file://" + data;
        args += " --initial-state " + (seg.variant ? initial : (first_plain ? initial : carried));
        for (const auto* e : seg.evaluations) args += std::string(" --at ") + (*e)["at"].GetString();
        const CliRun r = run_cli(args);
        INFO(args << "\n" << r.err);
        REQUIRE(r.exit_code == 0);
        REQUIRE(r.lines.size() == seg.evaluations.size());
        for (std::size_t i = 0; i < r.lines.size(); ++i) {
          const auto& e = *seg.evaluations[i];
          rapidjson::Document out;
          out.Parse(r.lines[i].c_str());
          INFO(r.lines[i]);
          REQUIRE(out.IsObject());
          REQUIRE(out.HasMember("StateValue"));
          if (is_state_name(e["expected_state"]))
            CHECK(std::string(out["StateValue"].GetString()) == e["expected_state"].GetString());
          if (e.HasMember("expected_reason") && (first_plain || seg.variant))
            CHECK(std::string(out["StateReason"].GetString()) == e["expected_reason"].GetString());
          if (e.HasMember("expected_reason_data") && (first_plain || seg.variant))
            CHECK(normalise_json(out["StateReasonData"].GetString()) ==
                  to_json(e["expected_reason_data"]));
          if (!seg.variant) carried = out["StateValue"].GetString();
        }
        // --summary takes the changes-only backtest: it must count what the evaluations show.
        const CliRun summary = run_cli(args + " --summary");
        REQUIRE(summary.exit_code == 0);
        REQUIRE(summary.lines.size() == 1);
        rapidjson::Document sum;
        sum.Parse(summary.lines[0].c_str());
        INFO(summary.lines[0]);
        REQUIRE(sum.IsObject());
        int transitions = 0, into_alarm = 0;
        for (const auto& line : r.lines) {
          rapidjson::Document out;
          out.Parse(line.c_str());
          if (out["Transition"].GetBool()) {
            ++transitions;
            into_alarm += std::string(out["StateValue"].GetString()) == "ALARM";
          }
        }
        CHECK(sum["Evaluations"].GetInt() == static_cast<int>(r.lines.size()));
        CHECK(sum["Transitions"].GetInt() == transitions);
        CHECK(sum["TimesInAlarm"].GetInt() == into_alarm);
        if (!seg.variant) first_plain = false;
      }
    }
  }
}

// A GetMetricData response as --metric-data (issue 5: "MetricDataResults[].Timestamps/Values,
// taken as one value per bucket"): the cases whose data are plain values, given as GetMetricData
// returns them (newest first, with the alarm's metric under its Label and another metric beside
// it), must give the cases' expected states and texts.
TEST_CASE("alarms.jsonl: cwfilter backtest over a GetMetricData response", "[alarm][cases][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  int cases_run = 0;
  for (const auto& c : runnable_cases()) {
    const auto& alarm = c.get("alarm");
    // Plain values only: GetMetricData gives one number per timestamp, no sample counts, value
    // lists or units (the data is stored under the alarm's unit, so unit cases are left out).
    bool plain = !alarm.HasMember("Unit") &&
                 !(alarm.HasMember("Statistic") && std::string(alarm["Statistic"].GetString()) == "SampleCount");
    std::vector<std::pair<std::int64_t, double>> points;
    for (const auto& m : c.get("metric_data").GetArray()) {
      if (!m.HasMember("value") || !m["value"].IsNumber() || m.HasMember("sampleCount") ||
          m.HasMember("values") || m.HasMember("unit") || m.HasMember("storage_resolution")) {
        plain = false;
        break;
      }
      const char* ts_key = m.HasMember("timestamp") ? "timestamp" : "period_start";
      points.emplace_back(ms(m[ts_key].GetString()), m["value"].GetDouble());
    }
    for (const auto& e : c.get("evaluations").GetArray())
      plain = plain && !e.HasMember("variant") && !e.HasMember("config_change_before");
    if (!plain || points.empty()) continue;
    DYNAMIC_SECTION(c.id) {
      // Newest first, as GetMetricData's default ScanBy (TimestampDescending) returns them.
      std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      std::string timestamps, values, other_values;
      for (const auto& p : points) {
        if (!timestamps.empty()) timestamps += ',', values += ',', other_values += ',';
        timestamps += '"' + format_iso_timestamp(p.first) + '"';
        values += format_java_double(p.second);
        other_values += format_java_double(p.second + 1e6);
      }
      const std::string metric = alarm["MetricName"].GetString();
      const std::string response =
          R"({"MetricDataResults":[{"Id":"other","Label":"SomethingElse","Timestamps":[)" + timestamps +
          R"(],"Values":[)" + other_values + R"(],"StatusCode":"Complete"},{"Id":"m1","Label":")" + metric +
          R"(","Timestamps":[)" + timestamps + R"(],"Values":[)" + values +
          R"(],"StatusCode":"Complete"}],"Messages":[]})";
      const std::string data = write_temp(c.id + ".gmd.json", response);
      const std::string alarm_path = write_temp(c.id + ".gmd-alarm.json", alarm_json(c, nullptr));
      std::string args = "--alarm file://" + alarm_path + " --metric-data file://" + data;
      if (c.has("state_before")) args += std::string(" --initial-state ") + c.get("state_before").GetString();
      for (const auto& e : c.get("evaluations").GetArray()) args += std::string(" --at ") + e["at"].GetString();
      const CliRun r = run_cli(args);
      INFO(args << "\n" << response << "\n" << r.err);
      REQUIRE(r.exit_code == 0);
      const auto& evaluations = c.get("evaluations");
      REQUIRE(r.lines.size() == evaluations.Size());
      for (rapidjson::SizeType i = 0; i < evaluations.Size(); ++i) {
        const auto& e = evaluations[i];
        rapidjson::Document out;
        out.Parse(r.lines[i].c_str());
        INFO(r.lines[i]);
        REQUIRE(out.IsObject());
        CHECK(std::string(out["StateValue"].GetString()) == e["expected_state"].GetString());
        if (e.HasMember("expected_reason"))
          CHECK(std::string(out["StateReason"].GetString()) == e["expected_reason"].GetString());
        if (e.HasMember("expected_reason_data"))
          CHECK(normalise_json(out["StateReasonData"].GetString()) == to_json(e["expected_reason_data"]));
      }
    }
    ++cases_run;
  }
  CHECK(cases_run >= 20);
}

// An off-tick --at (docs/decisions.md): the buckets are those of the scheduled instant at or
// before it, while Timestamp and queryDate show the instant given (AWS's queryDate is the actual
// evaluation time, 0-65 s after the tick: alarms.md §6.2, §9.2).
TEST_CASE("cwfilter backtest --at between ticks: the tick's buckets, the given queryDate", "[alarm][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const std::string alarm = write_temp(
      "offtick.alarm.json",
      R"({"AlarmName":"offtick","Namespace":"ns","MetricName":"m","Statistic":"Sum","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold"})");
  const std::string data = write_temp(
      "offtick.data.json",
      R"({"Namespace":"ns","MetricData":[{"MetricName":"m","Timestamp":"2026-01-01T00:05:10Z","Value":1}]})");
  const CliRun r = run_cli("--alarm file://" + alarm + " --metric-data file://" + data +
                           " --at 2026-01-01T00:06:30Z --at 2026-01-01T00:06:59Z --at 2026-01-01T00:07:00Z");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.lines.size() == 3);
  const char* expected_time[] = {"2026-01-01T00:06:30.000Z", "2026-01-01T00:06:59.000Z", "2026-01-01T00:07:00.000Z"};
  for (int i = 0; i < 3; ++i) {
    rapidjson::Document out;
    out.Parse(r.lines[i].c_str());
    INFO(r.lines[i]);
    REQUIRE(out.IsObject());
    CHECK(std::string(out["Timestamp"].GetString()) == expected_time[i]);
  }
  // 00:06:30 and 00:06:59 both read [00:05, 00:06), the bucket of the datum: ALARM. (A state
  // that does not change keeps its reason and StateReasonData, as DescribeAlarms shows them.)
  rapidjson::Document first;
  first.Parse(r.lines[0].c_str());
  CHECK(std::string(first["StateValue"].GetString()) == "ALARM");
  CHECK(first["Transition"].GetBool());
  // The transition's StateReasonData: queryDate is the --at instant, the datapoint the 00:05 bucket.
  rapidjson::Document reason_data;
  reason_data.Parse(first["StateReasonData"].GetString());
  REQUIRE(reason_data.IsObject());
  CHECK(std::string(reason_data["queryDate"].GetString()) == "2026-01-01T00:06:30.000+0000");
  CHECK(std::string(reason_data["startDate"].GetString()) == "2026-01-01T00:05:00.000+0000");
  CHECK(std::string(first["StateReason"].GetString()) ==
        "Threshold Crossed: 1 datapoint [1.0 (01/01/26 00:05:00)] was greater than or equal to the threshold (1.0).");
  rapidjson::Document second;
  second.Parse(r.lines[1].c_str());
  CHECK(std::string(second["StateValue"].GetString()) == "ALARM");
  CHECK_FALSE(second["Transition"].GetBool());
}
