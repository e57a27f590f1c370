// The whole pipeline: log events -> metric filters -> metric store -> alarms -> notifications,
// replayed in event time exactly as CloudWatch would have evaluated it had the events arrived at
// their timestamps (issue 6). Used by `cwfilter run` and the Python Pipeline.
#pragma once

#include <cwfilter/alarm.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/notification.hpp>
#include <cwfilter/sinks.hpp>
#include <cwfilter/streak.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter {

// The `cwfilter run` CONFIG: AWS-shaped sections.
struct PipelineConfig {
  std::vector<MetricFilterDefinition> metric_filters;  // "metricFilters": DescribeMetricFilters items
  std::vector<alarm::MetricAlarm> metric_alarms;       // "metricAlarms": DescribeAlarms MetricAlarms items
  std::vector<Subscription> subscriptions;             // "subscriptions": ListSubscriptions items
  std::optional<SmtpConfig> smtp;                      // "smtp": {"url", "from", ...}
  std::string streak_alarms_json;                      // "streakAlarms" (raw JSON list), if any
};

// Reads the CONFIG document. Unknown top-level keys are an error (a typo must not silently
// disable a section).
Result<PipelineConfig, Error> parse_pipeline_config(std::string_view json);

struct PipelineOptions {
  // The log group the events belong to; empty = the only log group the filters name.
  std::string log_group;
  // Records may arrive this much out of event-time order and still give the in-order result
  // (CloudTrail delivers within about 15 minutes). Evaluations wait for this watermark.
  std::int64_t max_lateness_ms = 15 * 60 * 1000;
  // Events before `from` / at or after `until` are skipped (counted). `until` also ends the
  // evaluation; default: the last event plus the longest evaluation range of any alarm.
  std::optional<std::int64_t> from_ms, until_ms;
  alarm::EvaluationOptions evaluation;
  alarm::NotificationOptions notification;
  MetricStoreOptions store;
};

struct FilterSummary {
  std::string filter_name;
  std::uint64_t events = 0, matches = 0, datapoints = 0, default_datapoints = 0, values_skipped = 0;
};
struct AlarmSummary {
  std::string alarm_name;
  std::uint64_t evaluations = 0, transitions = 0, notifications = 0;
  // Scheduled instants not evaluated because the evaluation range held no data and the state
  // could not change (long quiet stretches of a replay).
  std::uint64_t evaluations_skipped = 0;
  std::map<std::string, std::uint64_t> transitions_to;  // "ALARM" -> n
  std::string final_state;
};
struct StreakSummary {
  std::string alarm_name;
  streak::DetectorStats stats;
  std::uint64_t notifications = 0;
};
struct PipelineSummary {
  std::uint64_t events = 0;
  std::uint64_t events_skipped_time = 0;    // outside --from/--until
  std::uint64_t events_late = 0;            // older than the watermark when they arrived
  std::uint64_t events_other_log_group = 0; // payloads naming another log group
  std::vector<FilterSummary> filters;
  std::vector<AlarmSummary> alarms;
  std::vector<StreakSummary> streaks;  // streakAlarms (issue 11)
  std::uint64_t notifications = 0;
  std::uint64_t non_sns_actions = 0;  // EC2 / Auto Scaling / Lambda actions: reported, not run
};

// What the pipeline hands to its notification handler, besides the delivery-ready message.
struct PipelineNotification {
  std::string alarm_name;
  alarm::StateValue new_state = alarm::StateValue::kInsufficientData;
  std::int64_t at_ms = 0;
  Notification notification;
  // Set for a streak alarm's notification (issue 11): the transition it reports (the Message's
  // "Streak" object, as data).
  std::optional<streak::Transition> streak;
};
using NotificationHandler = std::function<void(const PipelineNotification&)>;

class Pipeline {
 public:
  static Result<Pipeline, Error> create(PipelineConfig config, PipelineOptions options,
                                        NotificationHandler on_notification);
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  // Configuration problems that are valid AWS but will not do what the user expects (the seed's
  // unit mismatch, an alarm on a metric no filter publishes, ...).
  const std::vector<std::string>& warnings() const noexcept;
  const std::string& log_group() const noexcept;

  // One log event in event time (timestamp_ms must be set). Evaluates every alarm instant that
  // the new watermark passes.
  void add(const LogEvent& event);
  // Moves event time forward without an event (follow mode: the wall clock).
  void advance_to(std::int64_t now_ms);
  // End of input: evaluates up to `until` (see PipelineOptions).
  void finish();

  const PipelineSummary& summary() const noexcept;
  const MetricStore& store() const noexcept;
  std::vector<std::pair<std::string, alarm::AlarmState>> alarm_states() const;

  // The metric alarms' DescribeAlarmHistory items (alarms.md §10), oldest first: each alarm's
  // ConfigurationUpdate "created" item when its clock starts (at its first scheduled instant),
  // a StateUpdate per transition, and the Action items reported with record_action. Not kept in
  // save_state(): a resumed run has the history since its restart.
  std::vector<alarm::HistoryItem> alarm_history() const;
  // Reports how executing an action of a metric alarm's transition ended: the delivery of a
  // notification handed to the NotificationHandler (whose alarm_name, at_ms and
  // notification.topic_arn identify it), done by whoever delivers it, now or later. Writes the
  // alarm's Action history item. Returns false for a name that is not a metric alarm here.
  bool record_action(std::string_view alarm_name, std::string_view action_arn, std::int64_t at_ms,
                     const alarm::ActionOutcome& outcome);

  // Everything needed to resume after a restart: alarm states, evaluation cursors, watermark and
  // the metric datapoints still inside any alarm's reach. JSON text.
  std::string save_state() const;
  Result<bool, Error> restore_state(std::string_view state);

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwfilter
