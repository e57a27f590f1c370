// The SNS notification a CloudWatch metric alarm publishes on a transition (alarms.md §8.1,
// spec/sns-alarm-message.json): the Message JSON with AWS's key order, the Subject line and the
// SNS HTTP/SQS envelope. Built here so that sinks only deliver bytes.
#pragma once

#include <cwfilter/alarm.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::alarm {

struct NotificationOptions {
  // Region and account used for AlarmArn, AWSAccountId and Region. Empty: taken from the
  // alarm's AlarmArn (DescribeAlarms input), else from the first SNS topic ARN among its
  // actions, else "us-east-1" / "123456789012".
  std::string region;
  std::string account_id;
  // AlarmConfigurationUpdatedTimestamp when the alarm does not carry one (PutMetricAlarm input):
  // default 0 means "the evaluation instant of the notification".
  std::int64_t configuration_updated_ms = 0;
  // 2026 messages add "ActionExecutedAfterMuteWindow":false (alarm mute rules). Its position in
  // the key order was not observed (the only recording has sorted keys); when enabled it is
  // written after InsufficientDataActions, before Trigger.
  bool include_action_executed_after_mute_window = false;
};

// "US East (N. Virginia)" for "us-east-1"; the code itself when unknown.
std::string region_long_name(std::string_view region);

// Resolved account and region for an alarm (see NotificationOptions).
struct AlarmIdentity {
  std::string region;
  std::string account_id;
  std::string alarm_arn;
};
AlarmIdentity alarm_identity(const MetricAlarm& alarm, const NotificationOptions& options = {});

// `<NEW_STATE>: "<AlarmName>" in <Region long name>`.
std::string notification_subject(const MetricAlarm& alarm, StateValue new_state,
                                  const NotificationOptions& options = {});
// The alarm Message JSON (a compact JSON document; SNS carries it as a string).
std::string alarm_message_json(const MetricAlarm& alarm, const Evaluation& evaluation,
                               const NotificationOptions& options = {});

struct SnsNotification {
  std::string topic_arn;
  std::string message_id;  // the envelope's MessageId
  std::string subject;
  std::string message;   // alarm_message_json
  std::string envelope;  // {Type, MessageId, TopicArn, Subject, Message, Timestamp,
                         //  SignatureVersion, Signature, SigningCertURL, UnsubscribeURL}
};
// One notification per SNS topic among evaluation.actions (empty when no transition). The
// envelope's MessageId is a UUID derived deterministically from topic, alarm and time;
// Signature is a placeholder (AWS signs with its private key: no local signature can verify);
// SigningCertURL and UnsubscribeURL follow AWS's URL shapes for the topic's region, with a
// subscription id derived like MessageId.
std::vector<SnsNotification> sns_notifications(const MetricAlarm& alarm,
                                               const Evaluation& evaluation,
                                               const NotificationOptions& options = {});

}  // namespace cwfilter::alarm
