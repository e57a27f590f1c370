// SNS notifications of streak transitions: the CloudWatch alarm message's keys, in AWS's order,
// with Trigger describing the streak rule and a "Streak" object (see streak.hpp).
#include "streak/internal.hpp"

#include "alarm/ids.hpp"
#include "alarm/json_util.hpp"

#include <fmt/format.h>

namespace cwfilter::streak {
namespace {

using alarm::detail::append_json_string;
using alarm::detail::append_json_string_array;

// The metric-alarm shell that alarm_identity / notification_subject need.
alarm::MetricAlarm shell(const StreakAlarm& a) {
  alarm::MetricAlarm m;
  m.alarm_name = a.alarm_name;
  m.alarm_description = a.alarm_description;
  m.actions_enabled = a.actions_enabled;
  m.alarm_actions = a.alarm_actions;
  m.ok_actions = a.ok_actions;
  return m;
}

using alarm::detail::derived_uuid;
using alarm::detail::split_arn;

std::string encoded_key_text(const Transition& t) {
  std::string s;
  for (const auto& [ref, value] : t.key) s += fmt::format("{}={};", ref, value);
  return s;
}

}  // namespace

std::string message_json(const StreakRule& rule, const Transition& t, const alarm::NotificationOptions& options) {
  const StreakAlarm& a = rule.alarm();
  const alarm::AlarmIdentity id = alarm::alarm_identity(shell(a), options);
  std::string o = "{\"AlarmName\":";
  append_json_string(o, a.alarm_name);
  o += ",\"AlarmDescription\":";
  if (a.alarm_description) append_json_string(o, *a.alarm_description);
  else o += "null";
  o += ",\"AWSAccountId\":";
  append_json_string(o, id.account_id);
  o += ",\"AlarmConfigurationUpdatedTimestamp\":";
  append_json_string(o, alarm::format_aws_timestamp(options.configuration_updated_ms ? options.configuration_updated_ms
                                                                                       : t.time_ms));
  o += ",\"NewStateValue\":";
  append_json_string(o, alarm::to_string(t.new_state));
  o += ",\"NewStateReason\":";
  append_json_string(o, t.reason);
  o += ",\"StateChangeTime\":";
  append_json_string(o, alarm::format_aws_timestamp(t.time_ms));
  o += ",\"Region\":";
  append_json_string(o, alarm::region_long_name(id.region));
  o += ",\"AlarmArn\":";
  append_json_string(o, id.alarm_arn);
  o += ",\"OldStateValue\":";
  append_json_string(o, alarm::to_string(t.old_state));
  o += ",\"OKActions\":";
  append_json_string_array(o, a.ok_actions);
  o += ",\"AlarmActions\":";
  append_json_string_array(o, a.alarm_actions);
  o += ",\"InsufficientDataActions\":[]";
  // Trigger: a streak has no metric; it carries the rule instead, keeping the metric Trigger's
  // ComparisonOperator / Threshold keys (Threshold as Java prints a double, like CloudWatch).
  o += ",\"Trigger\":{\"StreakType\":\"ConsecutiveFailures\",\"LogGroupName\":";
  append_json_string(o, a.log_group_name);
  o += ",\"FailurePattern\":";
  append_json_string(o, a.failure_pattern);
  o += ",\"SuccessPattern\":";
  if (a.success_pattern) append_json_string(o, *a.success_pattern);
  else o += "null";
  o += ",\"GroupBy\":[";
  const auto group_by = a.group_by_or_default();
  for (std::size_t i = 0; i < group_by.size(); ++i) {
    if (i) o += ',';
    if (group_by[i].size() == 1) append_json_string(o, group_by[i][0]);
    else append_json_string_array(o, group_by[i]);
  }
  o += "],\"ComparisonOperator\":\"GreaterThanOrEqualToThreshold\",\"Threshold\":";
  o += alarm::format_java_double(a.threshold);
  o += ",\"Window\":";
  o += a.window_seconds ? std::to_string(*a.window_seconds) : "null";
  o += ",\"ResetAfter\":";
  o += a.reset_after_seconds ? std::to_string(*a.reset_after_seconds) : "null";
  o += "},\"Streak\":{\"Key\":{";
  for (std::size_t i = 0; i < t.key.size(); ++i) {
    if (i) o += ',';
    append_json_string(o, t.key[i].first);
    o += ':';
    append_json_string(o, t.key[i].second);
  }
  o += fmt::format("}},\"Count\":{},\"FirstFailure\":", t.count);
  append_json_string(o, alarm::format_aws_timestamp(t.first_failure_ms));
  o += ",\"LastFailure\":";
  append_json_string(o, alarm::format_aws_timestamp(t.last_failure_ms));
  o += ",\"EventIds\":";
  append_json_string_array(o, t.event_ids);
  if (t.new_state == alarm::StateValue::kOk) {
    o += ",\"EndedBy\":";
    append_json_string(o, to_string(t.cause));
    if (t.cause == Transition::Cause::kSuccess) {
      o += ",\"SuccessEventId\":";
      append_json_string(o, t.success_event_id);
    }
  }
  o += "}}";
  return o;
}

std::vector<Notification> notifications(const StreakRule& rule, const Transition& t,
                                        const alarm::NotificationOptions& options) {
  std::vector<Notification> out;
  const StreakAlarm& a = rule.alarm();
  if (!a.actions_enabled) return out;
  const auto& actions = t.new_state == alarm::StateValue::kAlarm ? a.alarm_actions : a.ok_actions;
  if (actions.empty()) return out;
  const alarm::MetricAlarm m = shell(a);
  const std::string subject = alarm::notification_subject(m, t.new_state, options);
  const std::string message = message_json(rule, t, options);
  const std::string timestamp = alarm::format_iso_timestamp(t.time_ms);
  const std::string key_text = encoded_key_text(t);
  for (const auto& arn : actions) {
    const auto parts = split_arn(arn);
    if (parts.empty() || parts[2] != "sns") continue;  // only SNS topics carry notifications
    const std::string_view region = parts[3];
    Notification n;
    n.topic_arn = arn;
    n.subject = subject;
    n.message = message;
    n.message_id = derived_uuid(fmt::format("streak|{}|{}|{}|{}|{}", arn, a.alarm_name, key_text, t.time_ms,
                                            alarm::to_string(t.new_state)));
    n.envelope_json = alarm::detail::sns_envelope(n.message_id, arn, region, subject, message, timestamp);
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace cwfilter::streak
