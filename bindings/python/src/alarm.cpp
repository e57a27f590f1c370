// Metric alarms: configuration, evaluation over a MetricStore, backtesting, SNS notifications.
#include "common.hpp"

#include <cwfilter/alarm.hpp>
#include <cwfilter/notification.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

namespace cwfilter::py {

namespace {

using namespace cwfilter::alarm;

std::string json_text(nb::handle obj) {
  if (nb::isinstance<nb::str>(obj)) return text_of(obj);
  if (nb::isinstance<nb::bytes>(obj)) {
    auto b = nb::borrow<nb::bytes>(obj);
    return std::string(b.c_str(), b.size());
  }
  return text_of(nb::module_::import_("json").attr("dumps")(obj));
}

std::string state_name(StateValue v) { return std::string(to_string(v)); }

AlarmState state_of(nb::handle obj) {
  if (obj.is_none()) return AlarmState::initial();
  if (nb::isinstance<AlarmState>(obj)) return nb::cast<AlarmState>(obj);
  return AlarmState::assumed(unwrap(parse_state_value(text_of(obj))));
}

nb::dict dims_dict(const std::vector<Dimension>& dims) {
  nb::dict d;
  for (const auto& dim : dims) d[nb::str(dim.name.c_str(), dim.name.size())] = nb::str(dim.value.c_str(), dim.value.size());
  return d;
}

nb::object history_dict(const std::optional<HistoryItem>& h) {
  if (!h) return nb::none();
  nb::dict d;
  d["AlarmName"] = h->alarm_name;
  d["AlarmType"] = h->alarm_type;
  d["Timestamp"] = h->timestamp_ms;
  d["HistoryItemType"] = h->history_item_type;
  d["HistorySummary"] = h->history_summary;
  d["HistoryData"] = h->history_data;
  return d;
}

std::vector<std::int64_t> instants(nb::handle at) {
  std::vector<std::int64_t> out;
  for (nb::handle t : nb::iter(at)) out.push_back(to_ms(t));
  return out;
}

}  // namespace

void bind_alarm(nb::module_& m) {
  nb::class_<MetricAlarm>(m, "MetricAlarm",
                          "A validated CloudWatch metric alarm in PutMetricAlarm's shape.")
      .def(
          "__init__",
          [](MetricAlarm* self, nb::handle config) {
            new (self) MetricAlarm(unwrap(parse_put_metric_alarm(json_text(config))));
          },
          nb::arg("config"),
          "MetricAlarm(config): a PutMetricAlarm request as a dict or JSON text (the "
          "`put-metric-alarm --cli-input-json` shape), validated as AWS does (ValueError).")
      .def_static(
          "load", [](nb::handle json) { return unwrap(parse_alarms_json(json_text(json))); }, nb::arg("json"),
          "Every metric alarm of a DescribeAlarms response, a PutMetricAlarm request, a MetricAlarm "
          "object or a list of them (dict/list or JSON text).")
      .def_ro("alarm_name", &MetricAlarm::alarm_name, "AlarmName.")
      .def_ro("alarm_description", &MetricAlarm::alarm_description, "AlarmDescription or None.")
      .def_ro("namespace", &MetricAlarm::metric_namespace, "Namespace.")
      .def_ro("metric_name", &MetricAlarm::metric_name, "MetricName.")
      .def_prop_ro(
          "dimensions", [](const MetricAlarm& a) { return dims_dict(a.dimensions); }, "Dimensions as a dict.")
      .def_ro("statistic", &MetricAlarm::statistic, "Statistic or None.")
      .def_ro("extended_statistic", &MetricAlarm::extended_statistic, "ExtendedStatistic or None.")
      .def_ro("period", &MetricAlarm::period, "Period in seconds.")
      .def_ro("evaluation_periods", &MetricAlarm::evaluation_periods, "EvaluationPeriods (N).")
      .def_prop_ro("datapoints_to_alarm", &MetricAlarm::datapoints_to_alarm_or_default,
                   "DatapointsToAlarm (M; N when unset).")
      .def_ro("threshold", &MetricAlarm::threshold, "Threshold.")
      .def_prop_ro(
          "comparison_operator", [](const MetricAlarm& a) { return std::string(to_string(a.comparison_operator)); },
          "ComparisonOperator, e.g. 'GreaterThanThreshold'.")
      .def_prop_ro(
          "treat_missing_data",
          [](const MetricAlarm& a) { return std::string(to_string(a.treat_missing_data_or_default())); },
          "TreatMissingData ('missing' when unset).")
      .def_prop_ro(
          "unit",
          [](const MetricAlarm& a) -> std::optional<std::string> {
            if (!a.unit) return std::nullopt;
            return std::string(to_string(*a.unit));
          },
          "Unit or None.")
      .def_ro("actions_enabled", &MetricAlarm::actions_enabled, "ActionsEnabled.")
      .def_ro("ok_actions", &MetricAlarm::ok_actions, "OKActions.")
      .def_ro("alarm_actions", &MetricAlarm::alarm_actions, "AlarmActions.")
      .def_ro("insufficient_data_actions", &MetricAlarm::insufficient_data_actions, "InsufficientDataActions.")
      .def_prop_ro(
          "evaluation_range", [](const MetricAlarm& a) { return evaluation_range(a); },
          "How many period slots an evaluation looks at (DECISIONS 15).")
      .def("__repr__", [](const MetricAlarm& a) {
        return "<cwfilter.MetricAlarm " + std::string(nb::repr(nb::str(a.alarm_name.c_str())).c_str()) + ">";
      });

  nb::class_<AlarmState>(m, "AlarmState", "An alarm's state as DescribeAlarms shows it.")
      .def_static(
          "initial", [](nb::handle at) { return AlarmState::initial(to_ms(at)); }, nb::arg("created") = 0,
          "The state of a newly created alarm: INSUFFICIENT_DATA, 'Unchecked: Initial alarm creation'.")
      .def_static(
          "assumed",
          [](std::string_view value, nb::handle at) {
            return AlarmState::assumed(unwrap(parse_state_value(value)), to_ms(at));
          },
          nb::arg("value"), nb::arg("at") = 0,
          "A state given by the user ('OK', 'ALARM', 'INSUFFICIENT_DATA') with an unknown reason.")
      .def_prop_ro(
          "value", [](const AlarmState& s) { return state_name(s.value); }, "StateValue.")
      .def_ro("reason", &AlarmState::reason, "StateReason.")
      .def_ro("reason_data", &AlarmState::reason_data, "StateReasonData (JSON text; '' when none).")
      .def_ro("updated_ms", &AlarmState::updated_ms, "StateUpdatedTimestamp (ms).")
      .def_ro("transitioned_ms", &AlarmState::transitioned_ms, "StateTransitionedTimestamp (ms).")
      .def("__repr__", [](const AlarmState& s) { return "<cwfilter.AlarmState " + state_name(s.value) + ">"; });

  nb::class_<Evaluation>(m, "Evaluation", "The outcome of evaluating an alarm once.")
      .def_ro("query_ms", &Evaluation::query_ms, "When the evaluation ran (queryDate), ms.")
      .def_ro("tick_ms", &Evaluation::tick_ms, "The scheduled instant its buckets are laid out from, ms.")
      .def_prop_ro(
          "old_state", [](const Evaluation& e) { return state_name(e.old_state); }, "StateValue before.")
      .def_ro("state", &Evaluation::state, "The AlarmState after this evaluation.")
      .def_ro("transition", &Evaluation::transition, "True if StateValue changed.")
      .def_ro("retained", &Evaluation::retained, "True if the evaluation kept the state without deciding.")
      .def_prop_ro(
          "computed_state", [](const Evaluation& e) { return state_name(e.computed_state); },
          "What this evaluation found, even when the stored state did not change.")
      .def_ro("computed_reason", &Evaluation::computed_reason, "The reason text found.")
      .def_ro("computed_reason_data", &Evaluation::computed_reason_data, "The StateReasonData found.")
      .def_prop_ro(
          "history", [](const Evaluation& e) { return history_dict(e.history); },
          "On a transition, the StateUpdate history item as a DescribeAlarmHistory dict; else None.")
      .def_ro("actions", &Evaluation::actions, "ARNs of the actions due (transitions only).")
      .def("__repr__", [](const Evaluation& e) {
        return "<cwfilter.Evaluation " + format_iso_timestamp(e.query_ms) + " " + state_name(e.old_state) + " -> " +
               state_name(e.state.value) + ">";
      });

  nb::class_<BacktestSummary>(m, "BacktestSummary", "Times in ALARM and total time in ALARM.")
      .def_ro("alarm_name", &BacktestSummary::alarm_name, "AlarmName.")
      .def_ro("evaluations", &BacktestSummary::evaluations, "Number of evaluations.")
      .def_ro("transitions", &BacktestSummary::transitions, "Number of state changes.")
      .def_ro("times_in_alarm", &BacktestSummary::times_in_alarm, "Transitions into ALARM.")
      .def_ro("alarm_duration_ms", &BacktestSummary::alarm_duration_ms, "Total time in ALARM, ms.");

  m.def(
      "evaluate",
      [](const MetricAlarm& alarm, const MetricStore& store, nb::handle at, nb::handle state) {
        return evaluate(alarm, state_of(state), to_ms(at), store_source(store, alarm));
      },
      nb::arg("alarm"), nb::arg("store"), nb::arg("at"), nb::arg("state") = nb::none(),
      "Evaluates `alarm` once at `at` over `store`, from `state` (an AlarmState, a state name, "
      "or None for a new alarm).");

  m.def(
      "backtest",
      [](const MetricAlarm& alarm, const MetricStore& store, nb::handle at, nb::handle start, nb::handle end,
         nb::handle initial_state) {
        const AlarmState initial = state_of(initial_state);
        if (!at.is_none()) {
          if (!start.is_none() || !end.is_none()) throw nb::type_error("give either `at` or `start`/`end`");
          return backtest_at(alarm, initial, instants(at), store_source(store, alarm));
        }
        if (start.is_none() || end.is_none()) throw nb::type_error("give `at` or both `start` and `end`");
        return backtest_range(alarm, initial, to_ms(start), to_ms(end), store_source(store, alarm));
      },
      nb::arg("alarm"), nb::arg("store"), nb::arg("at") = nb::none(), nb::kw_only(), nb::arg("start") = nb::none(),
      nb::arg("end") = nb::none(), nb::arg("initial_state") = nb::none(),
      "Replays `alarm` over `store`: at each instant of `at` (in order), or at every scheduled "
      "instant in [start, end]; the state is carried. Returns the Evaluations.");

  m.def(
      "summarize",
      [](const MetricAlarm& alarm, const std::vector<Evaluation>& evaluations, nb::handle end) {
        std::optional<std::int64_t> end_ms;
        if (!end.is_none()) end_ms = to_ms(end);
        return summarize(alarm, evaluations, end_ms);
      },
      nb::arg("alarm"), nb::arg("evaluations"), nb::arg("end") = nb::none(),
      "Times in ALARM and total time in ALARM over a backtest; an open ALARM period is counted "
      "up to `end` (default: the last evaluation).");

  m.def(
      "sns_notifications",
      [](const MetricAlarm& alarm, const Evaluation& evaluation, std::string region, std::string account_id) {
        NotificationOptions options;
        options.region = std::move(region);
        options.account_id = std::move(account_id);
        nb::list out;
        for (const auto& n : sns_notifications(alarm, evaluation, options)) {
          nb::dict d;
          d["topic_arn"] = n.topic_arn;
          d["message_id"] = n.message_id;
          d["subject"] = n.subject;
          d["message"] = n.message;
          d["envelope"] = n.envelope;
          out.append(d);
        }
        return out;
      },
      nb::arg("alarm"), nb::arg("evaluation"), nb::kw_only(), nb::arg("region") = "", nb::arg("account_id") = "",
      "The SNS notifications of an evaluation (one per SNS topic among its actions; none "
      "without a transition): dicts with topic_arn, message_id, subject, message, envelope.");

  nb::class_<AlarmEvaluator>(m, "AlarmEvaluator", "A stateful alarm evaluated on an injected clock.")
      .def(
          "__init__",
          [](AlarmEvaluator* self, const MetricAlarm& alarm, nb::handle initial_state) {
            new (self) AlarmEvaluator(alarm, state_of(initial_state));
          },
          nb::arg("alarm"), nb::arg("initial_state") = nb::none(),
          "AlarmEvaluator(alarm, initial_state=None): initial_state is an AlarmState, a state name "
          "or None (a new alarm).")
      .def_prop_ro("alarm", &AlarmEvaluator::alarm, "The alarm's configuration.")
      .def_prop_ro("state", &AlarmEvaluator::state, "The current AlarmState.")
      .def_prop_ro(
          "history",
          [](const AlarmEvaluator& e) {
            nb::list out;
            for (const auto& h : e.history()) out.append(history_dict(h));
            return out;
          },
          "History items as DescribeAlarmHistory dicts, oldest first: ConfigurationUpdate (for an "
          "evaluator made with created()), StateUpdate per transition, Action per record_action().")
      .def_static(
          "created",
          [](const MetricAlarm& alarm, nb::handle at) { return AlarmEvaluator::created(alarm, to_ms(at)); },
          nb::arg("alarm"), nb::arg("at"),
          "A new alarm created at `at`: the initial state and its ConfigurationUpdate history item.")
      .def(
          "record_action",
          [](AlarmEvaluator& e, std::string_view arn, nb::handle at, bool succeeded, std::string reason) {
            e.record_action(arn, to_ms(at), succeeded ? ActionOutcome::success() : ActionOutcome::failure(std::move(reason)));
          },
          nb::arg("action_arn"), nb::arg("at"), nb::kw_only(), nb::arg("succeeded") = true, nb::arg("reason") = "",
          "Records how executing an action of the transition at `at` ended (an Action history item); "
          "the evaluator only says which actions are due (Evaluation.actions).")
      .def("update_configuration", &AlarmEvaluator::update_configuration, nb::arg("alarm"),
           "PutMetricAlarm on an existing alarm: the configuration is replaced, the state kept.")
      .def(
          "evaluate",
          [](AlarmEvaluator& e, nb::handle at, const MetricStore& store) {
            return e.evaluate(to_ms(at), store_source(store, e.alarm()));
          },
          nb::arg("at"), nb::arg("store"), "Evaluates at `at` over `store`, carrying the state.");

  m.def(
      "parse_timestamp", [](nb::handle t) { return to_ms(t); }, nb::arg("timestamp"),
      "Milliseconds since the epoch from an int (ms), a datetime (naive = UTC) or ISO-8601 text.");
  m.def("format_timestamp", &format_iso_timestamp, nb::arg("ms"), "'yyyy-MM-ddTHH:mm:ss.SSSZ'.");
}

}  // namespace cwfilter::py
