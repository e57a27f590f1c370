// Alarm evaluation at an instant (alarms.md §6-§7, §9, §10; DECISIONS 15-18, 20-21).
#include <cwfilter/alarm.hpp>

#include "alarm/backtest_fast.hpp"
#include "alarm/json_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace cwfilter::alarm {

// ---- schedule -----------------------------------------------------------------------------

namespace {
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 3'600'000;

std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  std::int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

bool multi_day(const MetricAlarm& alarm) {
  return static_cast<std::int64_t>(alarm.period) * alarm.evaluation_periods > 86400;
}
}  // namespace

int evaluation_range(const MetricAlarm& alarm, const EvaluationOptions& options) {
  const int n = alarm.evaluation_periods;
  if (options.fixed_evaluation_range) return std::max(n, *options.fixed_evaluation_range);
  if (alarm.period < 60) return n + 2;
  const int extra = (300 + alarm.period - 1) / alarm.period;  // ceil(300 / P)
  return n + std::max(2, extra);
}

std::int64_t evaluation_interval_ms(const MetricAlarm& alarm) {
  if (alarm.high_resolution()) return 10'000;
  if (multi_day(alarm)) return kHour;
  return kMinute;
}

std::int64_t scheduled_instant(const MetricAlarm& alarm, std::int64_t at_ms) {
  return floor_to(at_ms, evaluation_interval_ms(alarm));
}

std::int64_t newest_bucket_end(const MetricAlarm& alarm, std::int64_t tick_ms) {
  // DECISIONS 18: 20 s and 30 s buckets sit on even divisions of the minute.
  if (alarm.period == 20 || alarm.period == 30) return floor_to(tick_ms, alarm.period * 1000LL);
  return tick_ms;
}

// ---- state --------------------------------------------------------------------------------

AlarmState AlarmState::initial(std::int64_t created_ms) {
  AlarmState s;
  s.updated_ms = created_ms;
  s.transitioned_ms = created_ms;
  return s;
}

AlarmState AlarmState::assumed(StateValue value, std::int64_t at_ms) {
  AlarmState s;
  s.value = value;
  s.reason.clear();
  s.updated_ms = at_ms;
  s.transitioned_ms = at_ms;
  return s;
}

// ---- the decision (§7.3) ------------------------------------------------------------------

namespace {

constexpr std::string_view kInitialReason = "Unchecked: Initial alarm creation";

struct Slot {
  std::int64_t start_ms = 0;
  std::optional<BucketDatapoint> datapoint;
  bool breaching = false;
};

bool breaches(ComparisonOperator op, double v, double t) {
  switch (op) {
    case ComparisonOperator::kGreaterThanOrEqualToThreshold: return v >= t;
    case ComparisonOperator::kGreaterThanThreshold: return v > t;
    case ComparisonOperator::kLessThanThreshold: return v < t;
    case ComparisonOperator::kLessThanOrEqualToThreshold: return v <= t;
    default: return false;  // band operators are refused by validate()
  }
}

std::string_view phrase(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::kGreaterThanOrEqualToThreshold: return "greater than or equal to";
    case ComparisonOperator::kGreaterThanThreshold: return "greater than";
    case ComparisonOperator::kLessThanThreshold: return "less than";
    case ComparisonOperator::kLessThanOrEqualToThreshold: return "less than or equal to";
    default: return "";
  }
}

std::string plural(int n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}
std::string_view was_were(int n) { return n == 1 ? "was" : "were"; }

// What the reason text says; rendered only when the text is needed (a transition, or
// EvaluationOptions::explain), since formatting dominates a backtest's cost otherwise.
struct ReasonSpec {
  enum class Kind { kThreshold, kInsufficientData, kNoDatapoints } kind = Kind::kThreshold;
  std::vector<int> listed;  // kThreshold: datapoints satisfying the new state, newest first
  int fill = 0;             // kThreshold: filled missing datapoints; other kinds: the count
  TreatMissingData treat = TreatMissingData::kMissing;
};

struct Decision {
  bool retained = false;
  StateValue state = StateValue::kInsufficientData;
  ReasonSpec reason;
  std::vector<int> used;          // real slots used, oldest first (recentDatapoints, startDate)
  std::vector<int> evaluated;     // slots, newest first (evaluatedDatapoints)
};

// "v (dd/MM/yy HH:mm:ss)"
std::string datapoint_text(const Slot& s) {
  return fmt::format("{} ({})", format_java_double(s.datapoint->value),
                     format_reason_date(s.start_ms));
}

// §9.1 "Threshold Crossed" reason for a decided state.
// listed: the real datapoints satisfying the new state's condition, newest first.
std::string threshold_reason(const MetricAlarm& alarm, const std::vector<Slot>& slots,
                             StateValue state, const std::vector<int>& listed, int fill,
                             TreatMissingData treat) {
  const int n = alarm.evaluation_periods;
  const int k = static_cast<int>(listed.size());
  const bool long_form = alarm.datapoints_to_alarm.has_value();
  const int m = state == StateValue::kAlarm ? alarm.datapoints_to_alarm_or_default()
                                            : n - alarm.datapoints_to_alarm_or_default() + 1;
  const std::string head = long_form ? fmt::format("{} out of the last {} datapoints", k, n)
                                     : plural(k, "datapoint");
  const std::string negation = state == StateValue::kOk ? "not " : "";
  const std::string threshold = format_java_double(alarm.threshold);
  std::string fill_text;
  if (fill > 0)
    fill_text = fmt::format(" and {} {} treated as [{}]", plural(fill, "missing datapoint"),
                            was_were(fill),
                            treat == TreatMissingData::kBreaching ? "Breaching" : "NonBreaching");
  std::string minimum;
  if (long_form)
    minimum = fmt::format(" (minimum {} for {} transition)", plural(m, "datapoint"),
                          state == StateValue::kAlarm ? "OK -> ALARM" : "ALARM -> OK");
  std::vector<std::string> items;
  // A12: inline up to 3 datapoints; beyond, the 5 most recent trail the sentence.
  const std::size_t shown = k <= 3 ? listed.size() : std::min<std::size_t>(listed.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) items.push_back(datapoint_text(slots[listed[i]]));
  if (k <= 3)
    return fmt::format("Threshold Crossed: {} [{}] {} {}{} the threshold ({}){}{}.", head,
                       fmt::join(items, ", "), was_were(k), negation, phrase(alarm.comparison_operator),
                       threshold, fill_text, minimum);
  return fmt::format(
      "Threshold Crossed: {} {} {}{} the threshold ({}){}. The most recent datapoints which "
      "crossed the threshold: [{}]{}.",
      head, was_were(k), negation, phrase(alarm.comparison_operator), threshold, fill_text,
      fmt::join(items, ", "), minimum);
}

Decision decide(const MetricAlarm& alarm, const std::vector<Slot>& slots, TreatMissingData treat, const EvaluationOptions& options) {
  const int r_count = static_cast<int>(slots.size());
  const int n = alarm.evaluation_periods;
  const int m = alarm.datapoints_to_alarm_or_default();
  std::vector<int> real;  // oldest first
  for (int i = 0; i < r_count; ++i)
    if (slots[i].datapoint) real.push_back(i);
  Decision d;

  auto newest_first = [](std::vector<int> v) {
    std::reverse(v.begin(), v.end());
    return v;
  };
  auto select = [&](const std::vector<int>& from, bool want_breaching) {
    std::vector<int> out;
    for (auto it = from.rbegin(); it != from.rend(); ++it)
      if (slots[*it].breaching == want_breaching) out.push_back(*it);
    return out;  // newest first
  };
  auto newest_missing = [&](int count) {
    std::vector<int> out;
    for (int i = r_count - 1; i >= 0 && static_cast<int>(out.size()) < count; --i)
      if (!slots[i].datapoint) out.push_back(i);
    return out;  // newest first
  };
  auto newest_slots = [&](int count) {
    std::vector<int> out;
    for (int i = r_count - 1; i >= 0 && static_cast<int>(out.size()) < count; --i) out.push_back(i);
    return out;
  };
  // The deciding subset (A13): the M newest breaching entries for ALARM, the N-M+1 newest
  // non-breaching ones for OK; `filled` entries count as `filled_breaching`.
  auto deciding = [&](const std::vector<int>& real_used, const std::vector<int>& filled,
                      bool filled_breaching, StateValue state) {
    const bool want = state == StateValue::kAlarm;
    const int take = want ? m : n - m + 1;
    std::vector<int> all = real_used;
    if (filled_breaching == want) all.insert(all.end(), filled.begin(), filled.end());
    std::sort(all.begin(), all.end());  // slot order = time order
    std::vector<int> out;
    for (auto it = all.rbegin(); it != all.rend() && static_cast<int>(out.size()) < take; ++it) {
      const bool is_filled = !slots[*it].datapoint;
      const bool b = is_filled ? filled_breaching : slots[*it].breaching;
      if (b == want) out.push_back(*it);
    }
    return out;
  };

  // Rules 1 and 2: at least N real datapoints -> the newest N of them, no filling.
  if (static_cast<int>(real.size()) >= n) {
    std::vector<int> e(real.end() - n, real.end());
    const int b = static_cast<int>(std::count_if(e.begin(), e.end(),
                                                 [&](int i) { return slots[i].breaching; }));
    d.state = b >= m ? StateValue::kAlarm : StateValue::kOk;
    d.used = e;
    d.reason = {ReasonSpec::Kind::kThreshold, select(e, d.state == StateValue::kAlarm), 0, treat};
    d.evaluated = deciding(e, {}, false, d.state);
    return d;
  }
  // Rule 4: nothing at all.
  if (real.empty()) {
    d.evaluated = newest_slots(n);
    switch (treat) {
      case TreatMissingData::kIgnore: d.retained = true; return d;
      case TreatMissingData::kMissing:
        d.state = StateValue::kInsufficientData;
        d.reason = {ReasonSpec::Kind::kInsufficientData, {}, n, treat};
        return d;
      case TreatMissingData::kBreaching:
      case TreatMissingData::kNotBreaching: {
        const bool breaching = treat == TreatMissingData::kBreaching;
        d.state = breaching ? StateValue::kAlarm : StateValue::kOk;
        d.reason = {ReasonSpec::Kind::kNoDatapoints, {}, n, treat};
        return d;
      }
    }
  }
  // Rule 3: 0 < real < N.
  const int f = n - static_cast<int>(real.size());
  const int b = static_cast<int>(std::count_if(real.begin(), real.end(),
                                               [&](int i) { return slots[i].breaching; }));
  d.used = real;
  if (treat == TreatMissingData::kBreaching || treat == TreatMissingData::kNotBreaching) {
    const bool filled_breaching = treat == TreatMissingData::kBreaching;
    const int breaching_total = b + (filled_breaching ? f : 0);
    d.state = breaching_total >= m ? StateValue::kAlarm : StateValue::kOk;
    d.reason = {ReasonSpec::Kind::kThreshold, select(real, d.state == StateValue::kAlarm), f, treat};
    d.evaluated = deciding(real, newest_missing(f), filled_breaching, d.state);
    return d;
  }
  // missing | ignore (A3, A4)
  const bool any_ok = b < static_cast<int>(real.size());
  if (b >= m || any_ok) {
    d.state = b >= m ? StateValue::kAlarm : StateValue::kOk;
    d.reason = {ReasonSpec::Kind::kThreshold, select(real, d.state == StateValue::kAlarm), 0, treat};
    d.evaluated = deciding(real, {}, false, d.state);
    return d;
  }
  // Every available datapoint breaches, but fewer than M: the premature-alarm rule (A2).
  bool premature = false;
  bool localstack_ok = false;
  switch (options.premature_rule) {
    case EvaluationOptions::PrematureRule::kRange:
      premature = r_count - real.front() >= m;
      break;
    case EvaluationOptions::PrematureRule::kWindow: {
      const auto first_in_window =
          std::find_if(real.begin(), real.end(), [&](int i) { return i >= r_count - n; });
      premature = first_in_window != real.end() && r_count - *first_in_window >= m;
      break;
    }
    case EvaluationOptions::PrematureRule::kLocalStack: {
      const int pivot = r_count - m;
      premature = pivot >= 0 && slots[pivot].datapoint && slots[pivot].breaching &&
                  std::all_of(slots.begin(), slots.begin() + pivot,
                              [](const Slot& s) { return !s.datapoint; });
      localstack_ok = !premature;
      break;
    }
  }
  if (treat == TreatMissingData::kIgnore && !localstack_ok) {
    d.retained = true;
    return d;
  }
  if (premature) {
    d.state = StateValue::kAlarm;
    d.reason = {ReasonSpec::Kind::kThreshold, select(real, true), 0, treat};
    d.evaluated = newest_first(real);
    return d;
  }
  if (localstack_ok) {
    d.state = StateValue::kOk;
    d.reason = {ReasonSpec::Kind::kThreshold, {}, 0, treat};
    d.evaluated = {};
    return d;
  }
  d.state = StateValue::kInsufficientData;
  d.reason = {ReasonSpec::Kind::kInsufficientData, {}, f, treat};
  d.evaluated = newest_slots(n);
  return d;
}

std::string render_reason(const MetricAlarm& alarm, const std::vector<Slot>& slots,
                          const Decision& d) {
  const ReasonSpec& r = d.reason;
  switch (r.kind) {
    case ReasonSpec::Kind::kInsufficientData:
      return fmt::format("Insufficient Data: {} {} unknown.", plural(r.fill, "datapoint"),
                         was_were(r.fill));
    case ReasonSpec::Kind::kNoDatapoints:
      return fmt::format(
          "Threshold Crossed: no datapoints were received for {} and {} {} treated as [{}].",
          plural(r.fill, "period"), plural(r.fill, "missing datapoint"), was_were(r.fill),
          r.treat == TreatMissingData::kBreaching ? "Breaching" : "NonBreaching");
    case ReasonSpec::Kind::kThreshold: break;
  }
  return threshold_reason(alarm, slots, d.state, r.listed, r.fill, r.treat);
}

// §9.2 StateReasonData.
std::string reason_data(const MetricAlarm& alarm, const std::vector<Slot>& slots,
                        const Decision& d, std::int64_t query_ms) {
  std::string out = "{\"version\":\"1.0\",\"queryDate\":";
  detail::append_json_string(out, format_aws_timestamp(query_ms));
  if (!d.used.empty()) {
    out += ",\"startDate\":";
    detail::append_json_string(out, format_aws_timestamp(slots[d.used.front()].start_ms));
  }
  if (alarm.unit) {
    out += ",\"unit\":";
    detail::append_json_string(out, to_string(*alarm.unit));
  }
  if (alarm.statistic) {
    out += ",\"statistic\":";
    detail::append_json_string(out, *alarm.statistic);
  } else if (alarm.extended_statistic) {
    // Not observed: the key name for percentile alarms is inferred from the API field.
    out += ",\"extendedStatistic\":";
    detail::append_json_string(out, *alarm.extended_statistic);
  }
  out += fmt::format(",\"period\":{},\"recentDatapoints\":[", alarm.period);
  for (std::size_t i = 0; i < d.used.size(); ++i) {
    if (i) out += ',';
    out += format_java_double(slots[d.used[i]].datapoint->value);
  }
  out += "],\"threshold\":" + format_java_double(alarm.threshold) + ",\"evaluatedDatapoints\":[";
  for (std::size_t i = 0; i < d.evaluated.size(); ++i) {
    const Slot& s = slots[d.evaluated[i]];
    if (i) out += ',';
    out += "{\"timestamp\":";
    detail::append_json_string(out, format_aws_timestamp(s.start_ms));
    if (s.datapoint)
      out += fmt::format(",\"sampleCount\":{},\"value\":{}",
                         format_java_double(s.datapoint->sample_count),
                         format_java_double(s.datapoint->value));
    out += '}';
  }
  out += "]}";
  return out;
}

std::string state_history_data(const AlarmState& old_state, const AlarmState& new_state) {
  auto state_object = [](const AlarmState& s) {
    std::string o = "{\"stateValue\":";
    detail::append_json_string(o, to_string(s.value));
    o += ",\"stateReason\":";
    detail::append_json_string(o, s.reason);
    if (!s.reason_data.empty()) o += ",\"stateReasonData\":" + s.reason_data;  // an object here
    o += '}';
    return o;
  };
  return "{\"version\":\"1.0\",\"oldState\":" + state_object(old_state) +
         ",\"newState\":" + state_object(new_state) + "}";
}

// Percentile alarms with EvaluateLowSampleCountPercentile=ignore (§2.3, A9).
bool low_sample_ignored(const MetricAlarm& alarm, const std::vector<Slot>& slots,
                        const std::vector<int>& used) {
  if (!alarm.extended_statistic || alarm.evaluate_low_sample_count_percentile != "ignore")
    return false;
  auto stat = parse_statistic(*alarm.extended_statistic);
  if (!stat || stat.value().kind != Statistic::Kind::kPercentile) return false;
  for (int i : used)
    if (is_low_sample_count(stat.value(), slots[i].datapoint->sample_count)) return true;
  return false;
}

}  // namespace

Evaluation evaluate(const MetricAlarm& alarm, const AlarmState& current, std::int64_t at_ms,
                    const DatapointSource& source, const EvaluationOptions& options) {
  Evaluation ev;
  ev.query_ms = at_ms;
  ev.tick_ms = scheduled_instant(alarm, at_ms);
  ev.old_state = current.value;
  ev.state = current;

  const int range = evaluation_range(alarm, options);
  const std::int64_t period_ms = alarm.period * 1000LL;
  const std::int64_t end = newest_bucket_end(alarm, ev.tick_ms);
  std::vector<Slot> slots(static_cast<std::size_t>(range));
  for (int i = 0; i < range; ++i) {
    const int k = range - 1 - i;  // k = 0 is the newest bucket
    Slot& s = slots[static_cast<std::size_t>(i)];
    s.start_ms = end - (k + 1) * period_ms;
    s.datapoint = source(s.start_ms, s.start_ms + period_ms);
    if (s.datapoint)
      s.breaching = breaches(alarm.comparison_operator, s.datapoint->value, alarm.threshold);
  }

  TreatMissingData treat = alarm.treat_missing_data_or_default();
  // §7.5 (A5): DynamoDB alarms ignore missing data unless told otherwise.
  if (alarm.metric_namespace == "AWS/DynamoDB" &&
      (!alarm.treat_missing_data || options.dynamodb_always_ignore))
    treat = TreatMissingData::kIgnore;

  Decision d = decide(alarm, slots, treat, options);
  if (!d.retained && low_sample_ignored(alarm, slots, d.used)) d.retained = true;
  if (d.retained) {
    ev.retained = true;
    ev.computed_state = current.value;
    return ev;
  }
  ev.computed_state = d.state;
  const bool refresh = d.state == current.value &&
                       (current.reason.empty() || current.reason == kInitialReason);
  if (d.state != current.value || refresh || options.explain) {
    ev.computed_reason = render_reason(alarm, slots, d);
    ev.computed_reason_data = reason_data(alarm, slots, d, at_ms);
  }

  if (d.state != current.value) {
    ev.transition = true;
    ev.state.value = d.state;
    ev.state.reason = ev.computed_reason;
    ev.state.reason_data = ev.computed_reason_data;
    ev.state.updated_ms = at_ms;
    ev.state.transitioned_ms = at_ms;
    HistoryItem h;
    h.alarm_name = alarm.alarm_name;
    h.timestamp_ms = at_ms;
    h.history_item_type = "StateUpdate";
    h.history_summary =
        fmt::format("Alarm updated from {} to {}", to_string(current.value), to_string(d.state));
    h.history_data = state_history_data(current, ev.state);
    ev.history = std::move(h);
    if (alarm.actions_enabled) {
      switch (d.state) {
        case StateValue::kOk: ev.actions = alarm.ok_actions; break;
        case StateValue::kAlarm: ev.actions = alarm.alarm_actions; break;
        case StateValue::kInsufficientData: ev.actions = alarm.insufficient_data_actions; break;
      }
    }
  } else if (refresh) {
    // The first evaluation of a new alarm replaces "Unchecked: Initial alarm creation" even when
    // it stays INSUFFICIENT_DATA (observed 2024: "Insufficient Data: 1 datapoint was unknown."
    // with the evaluation's queryDate). Not a transition: no history, no actions.
    ev.state.reason = ev.computed_reason;
    ev.state.reason_data = ev.computed_reason_data;
    ev.state.updated_ms = at_ms;
  }
  return ev;
}

// ---- stateful evaluator and backtests ---------------------------------------------------------

AlarmEvaluator::AlarmEvaluator(MetricAlarm alarm, AlarmState initial, EvaluationOptions options)
    : alarm_(std::move(alarm)), state_(std::move(initial)), options_(options) {}

Evaluation AlarmEvaluator::evaluate(std::int64_t at_ms, const DatapointSource& source) {
  Evaluation ev = alarm::evaluate(alarm_, state_, at_ms, source, options_);
  state_ = ev.state;
  if (ev.history) history_.push_back(*ev.history);
  return ev;
}

std::vector<Evaluation> backtest_at(const MetricAlarm& alarm, AlarmState initial,
                                    const std::vector<std::int64_t>& at_ms,
                                    const DatapointSource& source,
                                    const EvaluationOptions& options) {
  return detail::backtest_all(alarm, std::move(initial), at_ms, source, options);
}

std::vector<Evaluation> detail::backtest_per_tick(const MetricAlarm& alarm, AlarmState initial,
                                                  const std::vector<std::int64_t>& at_ms,
                                                  const DatapointSource& source,
                                                  const EvaluationOptions& options) {
  std::vector<Evaluation> out;
  out.reserve(at_ms.size());
  AlarmState state = std::move(initial);
  // Successive instants share all but one bucket (per-minute ticks, P = 60 s) or most of them:
  // each bucket is read from the source once. Valid because the period is fixed here.
  std::unordered_map<std::int64_t, std::optional<BucketDatapoint>> cache;
  const DatapointSource cached = [&](std::int64_t start, std::int64_t end) {
    if (cache.size() > 65536) cache.clear();
    auto [it, inserted] = cache.try_emplace(start);
    if (inserted) it->second = source(start, end);
    return it->second;
  };
  for (const std::int64_t t : at_ms) {
    out.push_back(evaluate(alarm, state, t, cached, options));
    state = out.back().state;
  }
  return out;
}

std::vector<Evaluation> backtest_range(const MetricAlarm& alarm, AlarmState initial,
                                       std::int64_t from_ms, std::int64_t to_ms,
                                       const DatapointSource& source,
                                       const EvaluationOptions& options) {
  return backtest_at(alarm, std::move(initial), detail::scheduled_instants(alarm, from_ms, to_ms), source,
                     options);
}

std::vector<std::int64_t> detail::scheduled_instants(const MetricAlarm& alarm, std::int64_t from_ms,
                                                     std::int64_t to_ms) {
  std::vector<std::int64_t> instants;
  const std::int64_t step = evaluation_interval_ms(alarm);
  std::int64_t t = scheduled_instant(alarm, from_ms);
  if (t < from_ms) t += step;
  if (t <= to_ms && step > 0) instants.reserve(static_cast<std::size_t>((to_ms - t) / step + 1));
  for (; t <= to_ms; t += step) instants.push_back(t);
  return instants;
}

BacktestSummary summarize(const MetricAlarm& alarm, const std::vector<Evaluation>& evaluations,
                          std::optional<std::int64_t> end_ms) {
  // The summary reads only the transitions, the first evaluation's old state and the last
  // evaluation's instant: the same as a changes-only backtest's (backtest_fast.cpp).
  BacktestChanges changes;
  changes.alarm_name = alarm.alarm_name;
  changes.evaluations = static_cast<int>(evaluations.size());
  if (!evaluations.empty()) {
    changes.initial.value = evaluations.front().old_state;
    changes.first_query_ms = evaluations.front().query_ms;
    changes.last_query_ms = evaluations.back().query_ms;
  }
  for (const auto& ev : evaluations) {
    if (!ev.transition) continue;
    BacktestChange c;
    c.query_ms = ev.query_ms;
    c.old_state = ev.old_state;
    c.new_state = ev.state.value;
    c.transition = true;
    changes.changes.push_back(c);
  }
  return summarize(alarm, changes, end_ms);
}

}  // namespace cwfilter::alarm
