// SNS notification of a metric-alarm transition (alarms.md §8.1, spec/sns-alarm-message.json).
#include <cwfilter/notification.hpp>

#include "alarm/ids.hpp"

#include "alarm/json_util.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace cwfilter::alarm {

namespace detail {
// ARN fields: arn:partition:service:region:account:resource
std::vector<std::string_view> split_arn(std::string_view arn) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const auto colon = arn.find(':', start);
    if (colon == std::string_view::npos) return {};
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(arn.substr(start));
  if (parts[0] != "arn") return {};
  return parts;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ seed;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  // final avalanche (splitmix64)
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// A deterministic, RFC 4122-shaped (version 5 bits) UUID derived from `seed_text`.
std::string derived_uuid(std::string_view seed_text) {
  const std::uint64_t a = fnv1a(seed_text, 0x5ca1ab1e);
  const std::uint64_t b = fnv1a(seed_text, 0xdecafbad);
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     (a & 0x0fff) | 0x5000, ((b >> 48) & 0x3fff) | 0x8000,
                     b & 0xffffffffffffULL);
}

std::string sns_envelope(std::string_view message_id, std::string_view topic_arn, std::string_view region,
                         std::string_view subject, std::string_view message, std::string_view timestamp) {
  const std::string subscription = fmt::format("{}:{}", topic_arn, derived_uuid(topic_arn));
  std::string e = "{\"Type\":\"Notification\",\"MessageId\":";
  append_json_string(e, message_id);
  e += ",\"TopicArn\":";
  append_json_string(e, topic_arn);
  e += ",\"Subject\":";
  append_json_string(e, subject);
  e += ",\"Message\":";
  append_json_string(e, message);
  e += ",\"Timestamp\":";
  append_json_string(e, timestamp);
  e += ",\"SignatureVersion\":\"1\",\"Signature\":";
  append_json_string(e, "CWFILTER-LOCAL-UNSIGNED");
  e += ",\"SigningCertURL\":";
  append_json_string(e, fmt::format("https://sns.{}.amazonaws.com/"
                                    "SimpleNotificationService-00000000000000000000000000000000.pem",
                                    region));
  e += ",\"UnsubscribeURL\":";
  append_json_string(e, fmt::format("https://sns.{}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={}", region,
                                    subscription));
  e += '}';
  return e;
}
}  // namespace detail

namespace {
using detail::derived_uuid;
using detail::split_arn;


constexpr std::string_view kDefaultRegion = "us-east-1";
constexpr std::string_view kDefaultAccount = "123456789012";


std::string upper_statistic(std::string_view s) {
  if (s == "SampleCount") return "SAMPLE_COUNT";
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string region_long_name(std::string_view region) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 37> kNames{{
      {"us-east-1", "US East (N. Virginia)"},
      {"us-east-2", "US East (Ohio)"},
      {"us-west-1", "US West (N. California)"},
      {"us-west-2", "US West (Oregon)"},
      {"af-south-1", "Africa (Cape Town)"},
      {"ap-east-1", "Asia Pacific (Hong Kong)"},
      {"ap-east-2", "Asia Pacific (Taipei)"},
      {"ap-south-1", "Asia Pacific (Mumbai)"},
      {"ap-south-2", "Asia Pacific (Hyderabad)"},
      {"ap-southeast-1", "Asia Pacific (Singapore)"},
      {"ap-southeast-2", "Asia Pacific (Sydney)"},
      {"ap-southeast-3", "Asia Pacific (Jakarta)"},
      {"ap-southeast-4", "Asia Pacific (Melbourne)"},
      {"ap-southeast-5", "Asia Pacific (Malaysia)"},
      {"ap-southeast-7", "Asia Pacific (Thailand)"},
      {"ap-northeast-1", "Asia Pacific (Tokyo)"},
      {"ap-northeast-2", "Asia Pacific (Seoul)"},
      {"ap-northeast-3", "Asia Pacific (Osaka)"},
      {"ca-central-1", "Canada (Central)"},
      {"ca-west-1", "Canada West (Calgary)"},
      {"eu-central-1", "EU (Frankfurt)"},
      {"eu-central-2", "EU (Zurich)"},
      {"eu-west-1", "EU (Ireland)"},
      {"eu-west-2", "EU (London)"},
      {"eu-west-3", "EU (Paris)"},
      {"eu-north-1", "EU (Stockholm)"},
      {"eu-south-1", "EU (Milan)"},
      {"eu-south-2", "EU (Spain)"},
      {"il-central-1", "Israel (Tel Aviv)"},
      {"me-south-1", "Middle East (Bahrain)"},
      {"me-central-1", "Middle East (UAE)"},
      {"mx-central-1", "Mexico (Central)"},
      {"sa-east-1", "South America (Sao Paulo)"},
      {"us-gov-west-1", "AWS GovCloud (US-West)"},
      {"us-gov-east-1", "AWS GovCloud (US-East)"},
      {"cn-north-1", "China (Beijing)"},
      {"cn-northwest-1", "China (Ningxia)"},
  }};
  for (const auto& [code, name] : kNames)
    if (code == region) return std::string(name);
  return std::string(region);
}

AlarmIdentity alarm_identity(const MetricAlarm& alarm, const NotificationOptions& options) {
  AlarmIdentity id;
  id.region = options.region;
  id.account_id = options.account_id;
  auto fill_from = [&](std::string_view arn) {
    const auto parts = split_arn(arn);
    if (parts.empty()) return;
    if (id.region.empty() && !parts[3].empty()) id.region = parts[3];
    if (id.account_id.empty() && !parts[4].empty()) id.account_id = parts[4];
  };
  if (alarm.alarm_arn) fill_from(*alarm.alarm_arn);
  for (const auto* list : {&alarm.alarm_actions, &alarm.ok_actions, &alarm.insufficient_data_actions})
    for (const auto& arn : *list)
      if (arn.rfind("arn:aws", 0) == 0 && arn.find(":sns:") != std::string::npos) fill_from(arn);
  if (id.region.empty()) id.region = kDefaultRegion;
  if (id.account_id.empty()) id.account_id = kDefaultAccount;
  id.alarm_arn = alarm.alarm_arn ? *alarm.alarm_arn
                                 : fmt::format("arn:aws:cloudwatch:{}:{}:alarm:{}", id.region,
                                               id.account_id, alarm.alarm_name);
  return id;
}

std::string notification_subject(const MetricAlarm& alarm, StateValue new_state,
                                  const NotificationOptions& options) {
  const AlarmIdentity id = alarm_identity(alarm, options);
  return fmt::format("{}: \"{}\" in {}", to_string(new_state), alarm.alarm_name,
                     region_long_name(id.region));
}

std::string alarm_message_json(const MetricAlarm& alarm, const Evaluation& evaluation,
                               const NotificationOptions& options) {
  using detail::append_json_string;
  const AlarmIdentity id = alarm_identity(alarm, options);
  std::string o = "{\"AlarmName\":";
  append_json_string(o, alarm.alarm_name);
  o += ",\"AlarmDescription\":";
  if (alarm.alarm_description) append_json_string(o, *alarm.alarm_description);
  else o += "null";
  o += ",\"AWSAccountId\":";
  append_json_string(o, id.account_id);
  const std::int64_t configured =
      alarm.configuration_updated_ms
          ? *alarm.configuration_updated_ms
          : (options.configuration_updated_ms ? options.configuration_updated_ms
                                              : evaluation.query_ms);
  o += ",\"AlarmConfigurationUpdatedTimestamp\":";
  append_json_string(o, format_aws_timestamp(configured));
  o += ",\"NewStateValue\":";
  append_json_string(o, to_string(evaluation.state.value));
  o += ",\"NewStateReason\":";
  append_json_string(o, evaluation.state.reason);
  o += ",\"StateChangeTime\":";
  append_json_string(o, format_aws_timestamp(evaluation.query_ms));
  o += ",\"Region\":";
  append_json_string(o, region_long_name(id.region));
  o += ",\"AlarmArn\":";
  append_json_string(o, id.alarm_arn);
  o += ",\"OldStateValue\":";
  append_json_string(o, to_string(evaluation.old_state));
  o += ",\"OKActions\":";
  detail::append_json_string_array(o, alarm.ok_actions);
  o += ",\"AlarmActions\":";
  detail::append_json_string_array(o, alarm.alarm_actions);
  o += ",\"InsufficientDataActions\":";
  detail::append_json_string_array(o, alarm.insufficient_data_actions);
  if (options.include_action_executed_after_mute_window)
    o += ",\"ActionExecutedAfterMuteWindow\":false";
  o += ",\"Trigger\":{\"MetricName\":";
  append_json_string(o, alarm.metric_name);
  o += ",\"Namespace\":";
  append_json_string(o, alarm.metric_namespace);
  if (alarm.statistic) {
    o += ",\"StatisticType\":\"Statistic\",\"Statistic\":";
    append_json_string(o, upper_statistic(*alarm.statistic));
  } else {
    o += ",\"StatisticType\":\"ExtendedStatistic\",\"ExtendedStatistic\":";
    append_json_string(o, alarm.extended_statistic.value_or(""));
  }
  o += ",\"Unit\":";
  if (alarm.unit) append_json_string(o, to_string(*alarm.unit));
  else o += "null";
  o += ",\"Dimensions\":";
  detail::append_dimensions_json(o, alarm.dimensions);
  o += fmt::format(",\"Period\":{},\"EvaluationPeriods\":{}", alarm.period,
                   alarm.evaluation_periods);
  if (alarm.datapoints_to_alarm) o += fmt::format(",\"DatapointsToAlarm\":{}", *alarm.datapoints_to_alarm);
  o += ",\"ComparisonOperator\":";
  append_json_string(o, to_string(alarm.comparison_operator));
  o += ",\"Threshold\":" + format_java_double(alarm.threshold);
  o += ",\"TreatMissingData\":";
  append_json_string(o, alarm.treat_missing_data ? to_string(*alarm.treat_missing_data) : "");
  o += ",\"EvaluateLowSampleCountPercentile\":";
  append_json_string(o, alarm.evaluate_low_sample_count_percentile.value_or(""));
  o += "}}";
  return o;
}

std::vector<SnsNotification> sns_notifications(const MetricAlarm& alarm,
                                               const Evaluation& evaluation,
                                               const NotificationOptions& options) {
  std::vector<SnsNotification> out;
  if (!evaluation.transition) return out;
  const std::string subject = notification_subject(alarm, evaluation.state.value, options);
  const std::string message = alarm_message_json(alarm, evaluation, options);
  const std::string timestamp = format_iso_timestamp(evaluation.query_ms);
  for (const auto& arn : evaluation.actions) {
    const auto parts = split_arn(arn);
    if (parts.empty() || parts[2] != "sns") continue;  // EC2/Auto Scaling/Lambda... actions
    const std::string_view region = parts[3];
    SnsNotification n;
    n.topic_arn = arn;
    n.subject = subject;
    n.message = message;
    n.message_id = derived_uuid(fmt::format("{}|{}|{}|{}", arn, alarm.alarm_name,
                                            evaluation.query_ms, to_string(evaluation.state.value)));
    n.envelope = detail::sns_envelope(n.message_id, arn, region, subject, message, timestamp);
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace cwfilter::alarm
