// `cwfilter backtest`: what would these alarms have done on this metric history? (issue 5)
#include "cli/commands.hpp"

#include <cwfilter/alarm.hpp>
#include <cwfilter/metrics.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace cwfilter::cli {
namespace {

using namespace cwfilter::alarm;

struct BacktestArgs {
  std::string alarm;
  std::string metric_data;
  std::string initial_state = "INSUFFICIENT_DATA";
  std::vector<std::string> at;
  std::string from;
  std::string to;
  bool summary = false;
};

// "file://path", a plain path, or inline JSON.
Result<std::string, Error> read_argument(const std::string& arg, std::string_view what) {
  std::string_view text = arg;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '['))
    return std::string(text);
  if (text.rfind("file://", 0) == 0) text.remove_prefix(7);
  std::ifstream in{std::string(text), std::ios::binary};
  if (!in) return Error{fmt::format("cannot read {} file '{}'", what, text)};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct MetricRange {
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
  bool any = false;
  void add(std::int64_t t) {
    if (!any || t < first_ms) first_ms = t;
    if (!any || t > last_ms) last_ms = t;
    any = true;
  }
};

Result<std::int64_t, Error> json_time(const rapidjson::Value& v) {
  if (v.IsNumber()) return static_cast<std::int64_t>(v.GetDouble() * 1000);  // epoch seconds
  if (v.IsString()) return parse_iso_timestamp(v.GetString());
  return Error{"a timestamp must be an ISO-8601 string or epoch seconds"};
}

// Loads the metric data for one alarm into `store`.
// A GetMetricData response is taken as one value per bucket, stored under the alarm's metric
// and unit (the response carries neither).
std::optional<Error> load_metric_data(const std::string& json, const MetricAlarm& alarm,
                                      MetricStore& store, MetricRange& range) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError())
    return Error{fmt::format("metric data: {} at offset {}",
                             rapidjson::GetParseError_En(doc.GetParseError()),
                             doc.GetErrorOffset())};
  if (doc.IsObject() && doc.HasMember("MetricDataResults")) {
    const auto& results = doc["MetricDataResults"];
    if (!results.IsArray()) return Error{"MetricDataResults must be a list"};
    std::vector<const rapidjson::Value*> chosen;
    for (const auto& r : results.GetArray()) {
      if (results.Size() == 1) {
        chosen.push_back(&r);
      } else if ((r.HasMember("Label") && r["Label"].IsString() &&
                  alarm.metric_name == r["Label"].GetString()) ||
                 (r.HasMember("Id") && r["Id"].IsString() && alarm.metric_name == r["Id"].GetString())) {
        chosen.push_back(&r);
      }
    }
    if (chosen.empty())
      return Error{fmt::format("GetMetricData response: no MetricDataResults entry has Label or Id "
                               "'{}' (alarm '{}'), and there is more than one",
                               alarm.metric_name, alarm.alarm_name)};
    const MetricKey key(alarm.metric_namespace, alarm.metric_name, alarm.dimensions);
    const StandardUnit unit = alarm.unit.value_or(StandardUnit::kNone);
    const int resolution = alarm.high_resolution() ? kHighResolution : kStandardResolution;
    for (const auto* r : chosen) {
      if (!r->HasMember("Timestamps") || !r->HasMember("Values") || !(*r)["Timestamps"].IsArray() ||
          !(*r)["Values"].IsArray() || (*r)["Timestamps"].Size() != (*r)["Values"].Size())
        return Error{"GetMetricData response: each result needs Timestamps and Values of the "
                     "same length"};
      for (rapidjson::SizeType i = 0; i < (*r)["Values"].Size(); ++i) {
        auto t = json_time((*r)["Timestamps"][i]);
        if (!t) return t.error();
        if (!(*r)["Values"][i].IsNumber())
          return Error{"GetMetricData response: Values must be numbers"};
        auto added = store.add_value(key, unit, t.value(), (*r)["Values"][i].GetDouble(), resolution);
        if (!added) return added.error();
        range.add(t.value());
      }
    }
    return std::nullopt;
  }
  PutMetricDataParseOptions options;
  options.default_namespace = alarm.metric_namespace;
  auto request = parse_put_metric_data(json, options);
  if (!request) return Error{fmt::format("metric data: {}", request.error().message)};
  // A backtest replays history: PutMetricData's 1000-datum limit per request does not apply,
  // but the parser enforces it; callers with more data pass a GetMetricData response or split.
  auto put = store.put(request.value());
  if (!put) return Error{fmt::format("metric data: {}", put.error().message)};
  for (const auto& d : request.value().metric_data) range.add(d.timestamp_ms);
  return std::nullopt;
}

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string evaluation_line(const MetricAlarm& alarm, const Evaluation& ev) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("AlarmName");
  write_string(w, alarm.alarm_name);
  w.Key("Timestamp");
  write_string(w, format_iso_timestamp(ev.query_ms));
  w.Key("StateValue");
  write_string(w, to_string(ev.state.value));
  w.Key("StateReason");
  write_string(w, ev.state.reason);
  w.Key("StateReasonData");
  write_string(w, ev.state.reason_data);
  w.Key("Transition");
  w.Bool(ev.transition);
  w.EndObject();
  return buf.GetString();
}

std::string summary_line(const BacktestSummary& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("AlarmName");
  write_string(w, s.alarm_name);
  w.Key("Evaluations");
  w.Int(s.evaluations);
  w.Key("Transitions");
  w.Int(s.transitions);
  w.Key("TimesInAlarm");
  w.Int(s.times_in_alarm);
  w.Key("SecondsInAlarm");
  w.Int64(s.alarm_duration_ms / 1000);
  w.EndObject();
  return buf.GetString();
}

// Exit statuses (README, --help): 1 for invalid input (an alarm or metric data file AWS would
// reject), 2 for a usage or I/O error (an option's value malformed, options that do not go
// together, a file that cannot be read).
constexpr int kInvalidInput = 1;
constexpr int kUsageError = 2;

int run_backtest(const BacktestArgs& args) {
  auto fail = [](const std::string& message, int code = kInvalidInput) {
    std::cerr << "cwfilter backtest: " << message << "\n";
    return code;
  };
  auto alarm_text = read_argument(args.alarm, "--alarm");
  if (!alarm_text) return fail(alarm_text.error().message, kUsageError);
  auto alarms = parse_alarms_json(alarm_text.value());
  if (!alarms) return fail(alarms.error().message);
  auto data_text = read_argument(args.metric_data, "--metric-data");
  if (!data_text) return fail(data_text.error().message, kUsageError);
  auto initial = parse_state_value(args.initial_state);
  if (!initial) return fail("--initial-state: " + initial.error().message, kUsageError);

  std::vector<std::int64_t> at;
  for (const auto& t : args.at) {
    auto v = parse_iso_timestamp(t);
    if (!v) return fail("--at: " + v.error().message, kUsageError);
    at.push_back(v.value());
  }
  std::optional<std::int64_t> from, to;
  if (!args.from.empty()) {
    auto v = parse_iso_timestamp(args.from);
    if (!v) return fail("--from: " + v.error().message, kUsageError);
    from = v.value();
  }
  if (!args.to.empty()) {
    auto v = parse_iso_timestamp(args.to);
    if (!v) return fail("--to: " + v.error().message, kUsageError);
    to = v.value();
  }
  if (from.has_value() != to.has_value()) return fail("--from and --to go together", kUsageError);
  if (from && !at.empty()) return fail("give either --at or --from/--to, not both", kUsageError);
  if (from && *from > *to) return fail("--from is after --to", kUsageError);

  std::string out;
  for (const auto& alarm : alarms.value()) {
    // A backtest replays history of any age: no retention cut-off (AWS's 15 days would drop
    // the older half of a long replay).
    MetricStoreOptions store_options;
    store_options.retention_ms = std::numeric_limits<std::int64_t>::max() / 4;
    MetricStore store(store_options);
    MetricRange range;
    if (auto e = load_metric_data(data_text.value(), alarm, store, range)) return fail(e->message);
    const AlarmState state = initial.value() == StateValue::kInsufficientData
                                 ? AlarmState::initial()
                                 : AlarmState::assumed(initial.value());
    const DatapointSource source = store_source(store, alarm);
    // The summary needs only the state changes: the backtest that keeps only those renders no
    // text for the evaluations that change nothing (issue 8), and summarises the same.
    std::int64_t f = 0, t = 0;
    std::optional<std::int64_t> end;
    if (at.empty()) {
      if (from) {
        f = *from;
        t = *to;
      } else if (range.any) {
        // Default span: from the first datum until the last one has left the evaluation range.
        f = range.first_ms;
        t = range.last_ms + static_cast<std::int64_t>(evaluation_range(alarm)) * alarm.period * 1000;
      } else {
        return fail("no metric data: give --at or --from/--to");
      }
      end = t;
    }
    if (args.summary) {
      const BacktestChanges changes = at.empty() ? backtest_changes_range(alarm, state, f, t, source)
                                                 : backtest_changes_at(alarm, state, at, source);
      out += summary_line(summarize(alarm, changes, end));
      out += '\n';
    } else {
      const std::vector<Evaluation> evaluations =
          at.empty() ? backtest_range(alarm, state, f, t, source) : backtest_at(alarm, state, at, source);
      for (const auto& ev : evaluations) {
        out += evaluation_line(alarm, ev);
        out += '\n';
      }
    }
  }
  std::cout << out << std::flush;
  return 0;
}

}  // namespace

void register_backtest(CLI::App& app) {
  auto args = std::make_shared<BacktestArgs>();
  auto* cmd = app.add_subcommand(
      "backtest",
      "Replay metric data through CloudWatch alarms, exactly as CloudWatch evaluates them");
  cmd->footer(
      "Evaluates each alarm of A (a PutMetricAlarm request JSON or a DescribeAlarms response)\n"
      "over the metric data D (a PutMetricData request, a bare MetricDatum array, or a\n"
      "GetMetricData response taken as one value per bucket). TIME is ISO-8601 UTC.\n"
      "--at evaluates at the scheduled instant at or before each TIME, in order, carrying the\n"
      "state; --from/--to at every scheduled instant between them (every minute; every 10 s\n"
      "for 10/20/30 s periods; hourly when Period x EvaluationPeriods exceeds a day). Without\n"
      "either: from the first datum until the last has left the evaluation range.\n"
      "An off-tick --at TIME is when the evaluation ran: its buckets are those of the scheduled\n"
      "instant before it (--at 00:06:30 reads the buckets ending at 00:06:00), while Timestamp\n"
      "and StateReasonData.queryDate show TIME itself, as AWS's queryDate shows the actual\n"
      "evaluation time, 0-65 s after the scheduled instant (alarms.md 6.2, 9.2).\n"
      "Output: one JSON object per evaluation and line: {AlarmName, Timestamp, StateValue,\n"
      "StateReason, StateReasonData, Transition}. With --summary: one line per alarm instead,\n"
      "{AlarmName, Evaluations, Transitions, TimesInAlarm, SecondsInAlarm}.\n"
      "Exit status: 0 on success, 1 on invalid input, 2 on usage errors.\n");
  cmd->add_option("--alarm", args->alarm, "file://A: PutMetricAlarm JSON or DescribeAlarms output")
      ->required();
  cmd->add_option("--metric-data", args->metric_data,
                  "file://D: PutMetricData request, MetricDatum array or GetMetricData response")
      ->required();
  cmd->add_option("--initial-state", args->initial_state,
                  "State before the first evaluation: OK, ALARM or INSUFFICIENT_DATA (default; "
                  "a newly created alarm)");
  cmd->add_option("--at", args->at, "Evaluate at the scheduled instant at or before TIME "
                                    "(repeatable, in order); Timestamp and queryDate show TIME");
  cmd->add_option("--from", args->from, "Evaluate at every scheduled instant from TIME ...");
  cmd->add_option("--to", args->to, "... to TIME (inclusive)");
  cmd->add_flag("--summary", args->summary,
                "Print per alarm how many times it went to ALARM and for how long in total");
  cmd->callback([args] { set_exit_code(run_backtest(*args)); });
}

}  // namespace cwfilter::cli
