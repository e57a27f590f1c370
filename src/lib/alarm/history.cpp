// Alarm history items other than StateUpdate (alarms.md §10): the ConfigurationUpdate item of a
// new alarm and the Action items of executed actions. StateUpdate items are written by the
// evaluator itself (evaluate.cpp); Action items need the outcome of executing the action, which
// only the caller that executes it knows (the pipeline's delivery), so they are recorded here on
// its report.
#include <cwfilter/alarm.hpp>
#include <cwfilter/notification.hpp>

#include "alarm/json_util.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cwfilter::alarm {

namespace {

void append_string_list(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    detail::append_json_string(out, items[i]);
  }
  out += ']';
}

}  // namespace

HistoryItem creation_history_item(const MetricAlarm& alarm, const AlarmState& state, std::int64_t at_ms,
                                  std::string_view alarm_arn) {
  using detail::append_json_string;
  const std::string arn = alarm_arn.empty() ? alarm_identity(alarm).alarm_arn : std::string(alarm_arn);
  // Key order as observed (§10). Unset AlarmDescription is left out (not observed either way).
  std::string o = "{\"version\":\"1.0\",\"type\":\"Create\",\"createdAlarm\":{\"alarmName\":";
  append_json_string(o, alarm.alarm_name);
  if (alarm.alarm_description) {
    o += ",\"alarmDescription\":";
    append_json_string(o, *alarm.alarm_description);
  }
  o += ",\"alarmArn\":";
  append_json_string(o, arn);
  o += ",\"alarmConfigurationUpdatedTimestamp\":";
  append_json_string(o, format_aws_timestamp(alarm.configuration_updated_ms.value_or(at_ms)));
  o += ",\"namespace\":";
  append_json_string(o, alarm.metric_namespace);
  o += ",\"metricName\":";
  append_json_string(o, alarm.metric_name);
  if (alarm.statistic) {
    o += ",\"statistic\":";
    append_json_string(o, *alarm.statistic);
  } else if (alarm.extended_statistic) {
    // Not observed: named after the API field, as in StateReasonData (evaluate.cpp).
    o += ",\"extendedStatistic\":";
    append_json_string(o, *alarm.extended_statistic);
  }
  o += fmt::format(",\"period\":{},\"dimensions\":", alarm.period);
  detail::append_dimensions_json(o, alarm.dimensions);
  o += ",\"threshold\":" + format_java_double(alarm.threshold) + ",\"comparisonOperator\":";
  append_json_string(o, to_string(alarm.comparison_operator));
  o += fmt::format(",\"evaluationPeriods\":{},\"stateValue\":", alarm.evaluation_periods);
  append_json_string(o, to_string(state.value));
  o += ",\"stateUpdatedTimestamp\":";
  append_json_string(o, format_aws_timestamp(state.updated_ms));
  o += alarm.actions_enabled ? ",\"actionsEnabled\":true" : ",\"actionsEnabled\":false";
  o += ",\"alarmActions\":";
  append_string_list(o, alarm.alarm_actions);
  o += ",\"insufficientDataActions\":";
  append_string_list(o, alarm.insufficient_data_actions);
  o += ",\"okactions\":";  // sic: lower case, as AWS writes it
  append_string_list(o, alarm.ok_actions);
  o += "}}";

  HistoryItem h;
  h.alarm_name = alarm.alarm_name;
  h.timestamp_ms = at_ms;
  h.history_item_type = "ConfigurationUpdate";
  h.history_summary = fmt::format("Alarm \"{}\" created", alarm.alarm_name);
  h.history_data = std::move(o);
  return h;
}

HistoryItem action_history_item(const MetricAlarm& alarm, std::string_view action_arn, std::int64_t at_ms,
                                const ActionOutcome& outcome) {
  HistoryItem h;
  h.alarm_name = alarm.alarm_name;
  h.timestamp_ms = at_ms;
  h.history_item_type = "Action";
  h.history_summary = outcome.succeeded
                          ? fmt::format("Successfully executed action {}", action_arn)
                          : fmt::format("Failed to execute action {}. Reason: {}", action_arn, outcome.reason);
  // HistorySummary holds at most 255 characters (§10).
  if (h.history_summary.size() > 255) h.history_summary.resize(255);
  std::string d = outcome.succeeded ? "{\"actionState\":\"Succeeded\"" : "{\"actionState\":\"Failed\"";
  d += ",\"notificationResource\":";
  detail::append_json_string(d, action_arn);
  d += '}';
  h.history_data = std::move(d);
  return h;
}

AlarmEvaluator AlarmEvaluator::created(MetricAlarm alarm, std::int64_t created_ms, EvaluationOptions options,
                                       std::string_view alarm_arn) {
  AlarmEvaluator e(std::move(alarm), AlarmState::initial(created_ms), options);
  e.history_.push_back(creation_history_item(e.alarm_, e.state_, created_ms, alarm_arn));
  return e;
}

void AlarmEvaluator::record_action(std::string_view action_arn, std::int64_t at_ms, const ActionOutcome& outcome) {
  const auto after = std::upper_bound(history_.begin(), history_.end(), at_ms,
                                      [](std::int64_t t, const HistoryItem& h) { return t < h.timestamp_ms; });
  history_.insert(after, action_history_item(alarm_, action_arn, at_ms, outcome));
}

}  // namespace cwfilter::alarm
