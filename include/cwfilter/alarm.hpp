// CloudWatch metric alarms: configuration (PutMetricAlarm), evaluation at an instant, state,
// reason text, history, and backtesting over a metric store. Spec: alarms.md §4-§10, DECISIONS
// 15-21. Time is always injected (milliseconds since the Unix epoch, UTC): nothing here reads a
// clock, so every replay is deterministic.
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/metrics.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter {

namespace alarm {

enum class StateValue { kOk, kAlarm, kInsufficientData };
std::string_view to_string(StateValue state) noexcept;  // "OK", "ALARM", "INSUFFICIENT_DATA"
Result<StateValue, Error> parse_state_value(std::string_view text);

enum class ComparisonOperator {
  kGreaterThanOrEqualToThreshold,
  kGreaterThanThreshold,
  kLessThanThreshold,
  kLessThanOrEqualToThreshold,
  // Anomaly-band operators: accepted by validation, not evaluated (no band model here).
  kLessThanLowerOrGreaterThanUpperThreshold,
  kLessThanLowerThreshold,
  kGreaterThanUpperThreshold,
};
std::string_view to_string(ComparisonOperator op) noexcept;

enum class TreatMissingData { kMissing, kIgnore, kBreaching, kNotBreaching };
std::string_view to_string(TreatMissingData treat) noexcept;  // "missing", "notBreaching", ...

using cwfilter::Dimension;

// A metric alarm in PutMetricAlarm's shape (alarms.md §4). Optional fields keep "unset" apart
// from a default because AWS prints them differently (SNS Trigger, reason text long/short form).
struct MetricAlarm {
  std::string alarm_name;
  std::optional<std::string> alarm_description;
  std::string metric_namespace;  // "Namespace"
  std::string metric_name;
  std::vector<Dimension> dimensions;
  std::optional<std::string> statistic;           // SampleCount | Average | Sum | Minimum | Maximum
  std::optional<std::string> extended_statistic;  // p99, tm90, TM(10%:90%), IQM, PR(n:m), ...
  int period = 0;                                 // seconds
  int evaluation_periods = 0;                     // N
  std::optional<int> datapoints_to_alarm;         // M; unset means N
  double threshold = 0;
  ComparisonOperator comparison_operator = ComparisonOperator::kGreaterThanThreshold;
  std::optional<TreatMissingData> treat_missing_data;  // unset behaves as missing (but see §7.5)
  std::optional<StandardUnit> unit;  // set: the alarm only sees data of this unit
  std::optional<std::string> evaluate_low_sample_count_percentile;  // "evaluate" | "ignore"
  bool actions_enabled = true;
  std::vector<std::string> ok_actions;
  std::vector<std::string> alarm_actions;
  std::vector<std::string> insufficient_data_actions;
  // Only present when loaded from DescribeAlarms output.
  std::optional<std::string> alarm_arn;
  std::optional<std::int64_t> configuration_updated_ms;  // AlarmConfigurationUpdatedTimestamp

  int datapoints_to_alarm_or_default() const noexcept {
    return datapoints_to_alarm ? *datapoints_to_alarm : evaluation_periods;
  }
  TreatMissingData treat_missing_data_or_default() const noexcept {
    return treat_missing_data ? *treat_missing_data : TreatMissingData::kMissing;
  }
  // Period 10, 20 or 30: evaluated every 10 s (§6.1).
  bool high_resolution() const noexcept { return period > 0 && period < 60; }
};

// AWS's PutMetricAlarm validation (§4): name/description lengths, Period 10/20/30/k*60, span
// limits, 1 <= M <= N, Statistic XOR ExtendedStatistic, action lists <= 5, enum values, ...
// The message is AWS's where known.
Result<MetricAlarm, Error> validate(MetricAlarm alarm);

// Reads alarms from JSON, validated:
//  - a PutMetricAlarm request (`aws cloudwatch put-metric-alarm --cli-input-json` shape);
//  - a DescribeAlarms response (`{"MetricAlarms":[...]}`; composite alarms are skipped);
//  - a bare MetricAlarm object or an array of them.
// The initial state recorded in DescribeAlarms output (StateValue...) is returned separately
// by parse_alarm_states for callers that want to resume from it.
Result<std::vector<MetricAlarm>, Error> parse_alarms_json(std::string_view json);
Result<MetricAlarm, Error> parse_put_metric_alarm(std::string_view json);

// ---- evaluation ---------------------------------------------------------------------------

// Knobs where AWS is ambiguous (alarms.md §13, DECISIONS 15-18). Defaults are DECISIONS'.
struct EvaluationOptions {
  // DECISIONS 15: R = N + max(2, ceil(300/P)) for P >= 60, N + 2 below. Set to force R (>= N).
  std::optional<int> fixed_evaluation_range;
  // alarms.md §7.3 premature-alarm rule: measured over the evaluation range (default), only the
  // last N slots (variant a), or LocalStack's reading (variant b).
  enum class PrematureRule { kRange, kWindow, kLocalStack };
  PrematureRule premature_rule = PrematureRule::kRange;
  // §7.5 (A5): AWS/DynamoDB alarms ignore missing data unless TreatMissingData is set
  // explicitly; true = always ignore (the API reference's reading).
  bool dynamodb_always_ignore = false;
  // Render Evaluation::computed_reason / computed_reason_data on every evaluation. Off, they are
  // only rendered when the stored reason changes (transitions, first evaluation): formatting
  // is most of an evaluation's cost.
  bool explain = false;
};

// Evaluation range R (number of period slots looked at) for an alarm (DECISIONS 15).
int evaluation_range(const MetricAlarm& alarm, const EvaluationOptions& options = {});
// Scheduled evaluation instant at or before `at_ms` (DECISIONS 17): the whole minute, the 10 s
// tick for high-resolution periods, the hour when Period x N exceeds one day.
std::int64_t scheduled_instant(const MetricAlarm& alarm, std::int64_t at_ms);
// Distance between two scheduled instants, in ms (60 000, 10 000 or 3 600 000).
std::int64_t evaluation_interval_ms(const MetricAlarm& alarm);
// End (exclusive) of the newest bucket evaluated at scheduled instant `tick_ms` (§6.2,
// DECISIONS 18): the instant itself, except 20/30 s periods anchored at even divisions of
// the minute.
std::int64_t newest_bucket_end(const MetricAlarm& alarm, std::int64_t tick_ms);

// One aggregated datapoint of one bucket as the alarm sees it: the statistic's value and the
// bucket's SampleCount (printed in evaluatedDatapoints, used by the low-sample rule).
struct BucketDatapoint {
  double value = 0;
  double sample_count = 0;
};
// Supplies the alarm's statistic for the bucket [start_ms, end_ms), or nothing when the bucket
// holds no data of the alarm's metric/unit (a missing datapoint).
using DatapointSource = std::function<std::optional<BucketDatapoint>(std::int64_t start_ms,
                                                                      std::int64_t end_ms)>;
// A source reading `store` for `alarm`'s metric (namespace, name, dimensions), unit and
// statistic. The store must outlive the source.
DatapointSource store_source(const MetricStore& store, const MetricAlarm& alarm);

// What DescribeAlarms shows about the state (§5.5).
struct AlarmState {
  StateValue value = StateValue::kInsufficientData;
  std::string reason = "Unchecked: Initial alarm creation";
  std::string reason_data;  // JSON string; empty when none (creation, SetAlarmState w/o data)
  std::int64_t updated_ms = 0;       // StateUpdatedTimestamp
  std::int64_t transitioned_ms = 0;  // StateTransitionedTimestamp
  // The state of a newly created alarm (DECISIONS 21).
  static AlarmState initial(std::int64_t created_ms = 0);
  // A state given by the user (e.g. `--initial-state OK`) whose reason is unknown: the first
  // evaluation fills the reason in even if the state does not change.
  static AlarmState assumed(StateValue value, std::int64_t at_ms = 0);
};

// One DescribeAlarmHistory item (§10).
struct HistoryItem {
  std::string alarm_name;
  std::string alarm_type = "MetricAlarm";
  std::int64_t timestamp_ms = 0;
  std::string history_item_type;  // StateUpdate | Action | ConfigurationUpdate
  std::string history_summary;
  std::string history_data;       // JSON string
};

// The ConfigurationUpdate item of a newly created alarm (§10): summary `Alarm "NAME" created`,
// HistoryData {"version":"1.0","type":"Create","createdAlarm":{alarmName, alarmDescription,
// alarmArn, alarmConfigurationUpdatedTimestamp, namespace, metricName, statistic, period,
// dimensions, threshold, comparisonOperator, evaluationPeriods, stateValue,
// stateUpdatedTimestamp, actionsEnabled, alarmActions, insufficientDataActions, okactions}}.
// `alarm_arn` empty: the alarm's AlarmArn, else one built as alarm_identity() builds it.
HistoryItem creation_history_item(const MetricAlarm& alarm, const AlarmState& state, std::int64_t at_ms,
                                  std::string_view alarm_arn = {});

// How executing one action of a transition ended. The evaluator only says which actions are due
// (Evaluation::actions); whoever executes them (the pipeline's delivery) knows the outcome.
struct ActionOutcome {
  bool succeeded = true;
  std::string reason;  // why it failed (the text after "Reason: "); empty when it succeeded
  static ActionOutcome success() { return {}; }
  static ActionOutcome failure(std::string why) { return ActionOutcome{false, std::move(why)}; }
};
// The Action item for one executed action (§10): summary `Successfully executed action <arn>` or
// `Failed to execute action <arn>. Reason: <text>`, HistoryData
// {"actionState":"Succeeded"|"Failed","notificationResource":"<arn>"}.
HistoryItem action_history_item(const MetricAlarm& alarm, std::string_view action_arn, std::int64_t at_ms,
                                const ActionOutcome& outcome);

// The outcome of evaluating an alarm once.
struct Evaluation {
  std::int64_t query_ms = 0;  // when the evaluation ran (StateReasonData.queryDate)
  std::int64_t tick_ms = 0;   // the scheduled instant T its buckets are laid out from
  StateValue old_state = StateValue::kInsufficientData;
  AlarmState state;           // the alarm's state after this evaluation
  bool transition = false;    // StateValue changed: history written, actions due
  // The evaluation kept the state without deciding (TreatMissingData=ignore retention, or
  // EvaluateLowSampleCountPercentile=ignore on a low-sample datapoint).
  bool retained = false;
  // What this evaluation found, even when it did not change the stored state (useful to see
  // why an alarm stays where it is). The texts are empty when retained, and when the stored
  // reason did not change unless EvaluationOptions::explain is set.
  StateValue computed_state = StateValue::kInsufficientData;
  std::string computed_reason;
  std::string computed_reason_data;
  // On a transition: the StateUpdate history item, and the ARNs of the new state's action
  // list when ActionsEnabled (DECISIONS 21: only on transitions). These actions are due, not
  // executed: the Action items come from whoever executes them (AlarmEvaluator::record_action).
  std::optional<HistoryItem> history;
  std::vector<std::string> actions;
};

// Evaluates `alarm` once at `at_ms` (an off-tick instant means the scheduled instant at or
// before it, while queryDate keeps `at_ms`), from `current`.
Evaluation evaluate(const MetricAlarm& alarm, const AlarmState& current, std::int64_t at_ms,
                    const DatapointSource& source, const EvaluationOptions& options = {});

// A stateful alarm: configuration + state + history, evaluated on an injected clock.
class AlarmEvaluator {
 public:
  AlarmEvaluator(MetricAlarm alarm, AlarmState initial, EvaluationOptions options = {});
  // PutMetricAlarm of a new alarm at `created_ms`: the initial state (DECISIONS 21) and the
  // ConfigurationUpdate "created" history item. `alarm_arn` as for creation_history_item.
  static AlarmEvaluator created(MetricAlarm alarm, std::int64_t created_ms, EvaluationOptions options = {},
                                std::string_view alarm_arn = {});
  const MetricAlarm& alarm() const noexcept { return alarm_; }
  const AlarmState& state() const noexcept { return state_; }
  // ConfigurationUpdate, StateUpdate and Action items, oldest first.
  const std::vector<HistoryItem>& history() const noexcept { return history_; }
  // PutMetricAlarm on an existing alarm: the configuration is replaced, the state kept (§5.2).
  void update_configuration(MetricAlarm alarm) { alarm_ = std::move(alarm); }
  Evaluation evaluate(std::int64_t at_ms, const DatapointSource& source);
  // Records how executing `action_arn` of the transition at `at_ms` ended: an Action item, placed
  // after the items up to `at_ms` (just after that transition's StateUpdate and the actions
  // recorded for it before), so a delivery reported late still lands where AWS writes it.
  void record_action(std::string_view action_arn, std::int64_t at_ms, const ActionOutcome& outcome);

 private:
  MetricAlarm alarm_;
  AlarmState state_;
  EvaluationOptions options_;
  std::vector<HistoryItem> history_;
};

// ---- backtesting -------------------------------------------------------------------------

struct BacktestSummary {
  std::string alarm_name;
  int evaluations = 0;
  int transitions = 0;
  int times_in_alarm = 0;            // transitions into ALARM
  std::int64_t alarm_duration_ms = 0;  // total time spent in ALARM within the evaluated span
};

// Evaluates at each instant of `at_ms` (in the order given), carrying the state.
std::vector<Evaluation> backtest_at(const MetricAlarm& alarm, AlarmState initial,
                                    const std::vector<std::int64_t>& at_ms,
                                    const DatapointSource& source,
                                    const EvaluationOptions& options = {});
// Evaluates at every scheduled instant in [from_ms, to_ms].
std::vector<Evaluation> backtest_range(const MetricAlarm& alarm, AlarmState initial,
                                       std::int64_t from_ms, std::int64_t to_ms,
                                       const DatapointSource& source,
                                       const EvaluationOptions& options = {});
// Times in ALARM and total time in ALARM. An ALARM period still open at the last evaluation
// is counted up to `end_ms` (default: the last evaluation's instant).
BacktestSummary summarize(const MetricAlarm& alarm, const std::vector<Evaluation>& evaluations,
                          std::optional<std::int64_t> end_ms = std::nullopt);

// ---- backtests that keep only the changes (issue 8) ----------------------------------------
//
// A backtest mostly re-finds the state it is in. These variants decide each evaluation from the
// bucket series read once (one value per bucket of every tick's window), with prefix counts of
// real/breaching datapoints, and record only where the stored state changes, without rendering
// any text; materialise() renders those evaluations (reason, StateReasonData, history) on
// demand. Everything is exactly what backtest_at / backtest_range give for those evaluations
// (tests/test_backtest_fast.cpp).

// An evaluation that changed the stored state: a transition, or the first evaluation of an
// alarm whose reason was unknown or "Unchecked: Initial alarm creation" (DECISIONS 21).
struct BacktestChange {
  std::int64_t query_ms = 0;
  std::int64_t tick_ms = 0;
  StateValue old_state = StateValue::kInsufficientData;
  StateValue new_state = StateValue::kInsufficientData;
  bool transition = false;
};

struct BacktestChanges {
  std::string alarm_name;
  AlarmState initial;
  int evaluations = 0;
  std::int64_t first_query_ms = 0;  // the first and last evaluation instants (evaluations > 0)
  std::int64_t last_query_ms = 0;
  std::vector<BacktestChange> changes;  // in order
  AlarmState final_state;               // rendered (reason, StateReasonData) as evaluate() does
};

// As backtest_at / backtest_range, keeping only the changes.
BacktestChanges backtest_changes_at(const MetricAlarm& alarm, AlarmState initial,
                                    const std::vector<std::int64_t>& at_ms,
                                    const DatapointSource& source,
                                    const EvaluationOptions& options = {});
BacktestChanges backtest_changes_range(const MetricAlarm& alarm, AlarmState initial,
                                       std::int64_t from_ms, std::int64_t to_ms,
                                       const DatapointSource& source,
                                       const EvaluationOptions& options = {});
// Many alarms over one store, each from `initial`: alarms of the same metric and unit share
// their store reads. Results in the order of `alarms`.
std::vector<BacktestChanges> backtest_changes_range(const std::vector<MetricAlarm>& alarms,
                                                    const AlarmState& initial, std::int64_t from_ms,
                                                    std::int64_t to_ms, const MetricStore& store,
                                                    const EvaluationOptions& options = {});
// The Evaluations of the changes, exactly as backtest_at/backtest_range return them (reason,
// StateReasonData, history, actions): evaluate() again at each change, from the state the
// previous change left. `source` must read the data the backtest read.
std::vector<Evaluation> materialise(const MetricAlarm& alarm, const BacktestChanges& backtest,
                                    const DatapointSource& source, const EvaluationOptions& options = {});
// The same summary as summarize() gives for the full backtest.
BacktestSummary summarize(const MetricAlarm& alarm, const BacktestChanges& backtest,
                          std::optional<std::int64_t> end_ms = std::nullopt);

// ---- formatting helpers (exposed for tests and sinks) --------------------------------------

// Java Double.toString, as AWS prints numbers in reasons and StateReasonData: "21.0", "0.059",
// "1.0E7", "1.0E-4".
std::string format_java_double(double value);
// "yyyy-MM-ddTHH:mm:ss.SSS+0000" (StateReasonData, SNS message).
std::string format_aws_timestamp(std::int64_t ms);
// "dd/MM/yy HH:mm:ss" (reason text).
std::string format_reason_date(std::int64_t ms);
// "yyyy-MM-ddTHH:mm:ss.SSSZ" (SNS envelope Timestamp, CLI output).
std::string format_iso_timestamp(std::int64_t ms);
// ISO-8601 UTC, "2026-01-01T00:00:00Z", with optional fraction and +hh:mm / +hhmm offsets.
Result<std::int64_t, Error> parse_iso_timestamp(std::string_view text);

}  // namespace alarm
}  // namespace cwfilter
