// The replay pipeline (issue 6). Event time drives everything: every log event goes through the
// metric filters of its log group into the metric store, and every alarm is evaluated at each of
// its scheduled instants once the watermark (newest event time minus the allowed lateness) has
// passed it, so out-of-order records within the lateness give exactly the in-order result.
#include <cwfilter/pipeline.hpp>

#include "pattern/compiled.hpp"
#include "pattern/prefilter.hpp"
#include "streak/internal.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <set>
#include <tuple>

namespace cwfilter {

namespace {

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}

bool is_sns_arn(std::string_view arn) {
  // arn:<partition>:sns:<region>:<account>:<topic>
  std::size_t a = arn.find(':'), b = a == std::string_view::npos ? a : arn.find(':', a + 1);
  return arn.rfind("arn:", 0) == 0 && b != std::string_view::npos && arn.substr(b + 1, 4) == "sns:";
}

std::int64_t floor_to(std::int64_t t, std::int64_t step) { return t - (((t % step) + step) % step); }

std::string describe_unit(StandardUnit u) {
  return u == StandardUnit::kNone ? "None (no unit)" : std::string(to_string(u));
}

}  // namespace

Result<PipelineConfig, Error> parse_pipeline_config(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Error{fmt::format("config: not valid JSON (offset {})", doc.GetErrorOffset())};
  if (!doc.IsObject()) return Error{"config: expected a JSON object with metricFilters, metricAlarms, subscriptions"};
  PipelineConfig cfg;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value& v = it->value;
    if (key == "metricFilters") {
      auto f = parse_metric_filters(to_json(v));
      if (!f.ok()) return Error{"config: " + f.error().message};
      cfg.metric_filters = std::move(f.value());
    } else if (key == "metricAlarms") {
      if (!v.IsArray()) return Error{"config: metricAlarms must be a list of MetricAlarm objects"};
      auto a = alarm::parse_alarms_json(to_json(v));
      if (!a.ok()) return Error{"config: metricAlarms: " + a.error().message};
      cfg.metric_alarms = std::move(a.value());
    } else if (key == "subscriptions") {
      auto s = parse_subscriptions(to_json(v));
      if (!s.ok()) return Error{"config: subscriptions: " + s.error().message};
      cfg.subscriptions = std::move(s.value());
    } else if (key == "smtp") {
      auto s = parse_smtp_config(to_json(v));
      if (!s.ok()) return Error{"config: smtp: " + s.error().message};
      cfg.smtp = std::move(s.value());
    } else if (key == "streakAlarms") {
      if (!v.IsArray()) return Error{"config: streakAlarms must be a list"};
      cfg.streak_alarms_json = to_json(v);
    } else if (key == "Comment" || key == "comment" || key == "$schema") {
      // documentation keys
    } else {
      return Error{fmt::format("config: unknown section \"{}\" (expected metricFilters, metricAlarms, "
                               "subscriptions, smtp, streakAlarms)", key)};
    }
  }
  return cfg;
}

// ---- the pipeline -----------------------------------------------------------------------------

struct Pipeline::Impl {
  PipelineOptions options;
  NotificationHandler on_notification;
  std::string log_group;
  std::vector<MetricFilter> filters;
  struct AlarmSlot {
    alarm::AlarmEvaluator evaluator;
    alarm::DatapointSource source;
    std::int64_t interval_ms = 60000;
    std::int64_t reach_ms = 0;  // how far back one evaluation reads
    std::optional<std::int64_t> next_tick;
    // Minute cells that hold data of the alarm's metric (any dimensions and unit: a superset of
    // what the alarm reads), for skipping evaluations that cannot change anything.
    std::set<std::int64_t> data_cells;
    int quiet_evaluations = 0;  // consecutive evaluations whose range held none of those cells
  };
  std::vector<AlarmSlot> alarms;
  std::vector<streak::StreakDetector> streaks;
  // One raw-bytes check for every pattern of the log group (metric filters, streak failure and
  // success patterns): an event it rejects matches none of them, so no filter or detector reads it
  // (for the seed and its streak alarm: one search for `"ConsoleLogin"` instead of three).
  detail::Prefilter group_prefilter;
  // Per streak detector: its own raw-bytes gate is the group prefilter (the same search), so an
  // event that passed the group's is not searched again.
  std::vector<bool> streak_gate_is_group;
  // Per metric filter: a streak detector (gate_is_group) whose FailurePattern is the filter's
  // pattern, or -1. Its classification of an event is the filter's match verdict, so a filter of
  // the seed and its streak alarm read each sign-in once (the streak must read every one).
  std::vector<int> filter_shares_streak;
  // Per detector, for the current event: its verdict, when observe_gate_passed() gave one.
  std::vector<std::optional<streak::EventClass::Kind>> streak_kinds;
  MetricStore store;
  std::vector<std::string> warnings;
  // The streak detectors' stats are copied in when summary() is read, not after every event.
  mutable PipelineSummary summary;

  std::optional<std::int64_t> first_event_ms, last_event_ms, max_event_ms;
  std::int64_t evaluated_through = LLONG_MIN;  // every tick <= this has been evaluated
  std::int64_t max_reach_ms = 0;

  // Compact journal of published datapoints, for save_state(): (series, minute cell, value) ->
  // count. Pruned to what an alarm can still read.
  struct JournalKey {
    std::string ns, name;
    std::vector<Dimension> dims;
    StandardUnit unit;
    std::int64_t cell_ms;
    double value;
    // Field by field, dimensions pair by pair (no key strings built: a filter with a
    // defaultValue journals a datapoint for every event).
    bool operator<(const JournalKey& o) const {
      if (const int c = ns.compare(o.ns)) return c < 0;
      if (const int c = name.compare(o.name)) return c < 0;
      for (std::size_t i = 0; i < dims.size() && i < o.dims.size(); ++i) {
        if (const int c = dims[i].name.compare(o.dims[i].name)) return c < 0;
        if (const int c = dims[i].value.compare(o.dims[i].value)) return c < 0;
      }
      if (dims.size() != o.dims.size()) return dims.size() < o.dims.size();
      return std::tie(unit, cell_ms, value) < std::tie(o.unit, o.cell_ms, o.value);
    }
  };
  std::map<JournalKey, std::uint64_t> journal;
  // The oldest cell in the journal (LLONG_MAX when empty): pruning walks the journal only when
  // that cell has left every alarm's reach, once per minute of event time rather than per event.
  std::int64_t journal_oldest_cell = LLONG_MAX;
  void journal_add(JournalKey k, std::uint64_t n) {
    journal_oldest_cell = std::min(journal_oldest_cell, k.cell_ms);
    journal[std::move(k)] += n;
  }

  Impl(PipelineOptions o, NotificationHandler h) : options(std::move(o)), on_notification(std::move(h)), store(options.store) {}

  void publish(const MetricFilterDatapoint& dp) {
    (void)store.add_value(dp.key, dp.unit, dp.timestamp_ms, dp.value);
    for (auto& slot : alarms)
      if (slot.evaluator.alarm().metric_namespace == dp.key.metric_namespace() &&
          slot.evaluator.alarm().metric_name == dp.key.metric_name())
        slot.data_cells.insert(floor_to(dp.timestamp_ms, 60000));
    journal_add(JournalKey{dp.key.metric_namespace(), dp.key.metric_name(), dp.key.dimensions(), dp.unit,
                           floor_to(dp.timestamp_ms, 60000), dp.value},
                1);
  }

  void evaluate_through(std::int64_t t) {
    if (t <= evaluated_through) return;
    for (std::size_t i = 0; i < alarms.size(); ++i) {
      AlarmSlot& slot = alarms[i];
      if (!slot.next_tick) continue;
      while (*slot.next_tick <= t) {
        const std::int64_t tick = *slot.next_tick;
        // Cells the evaluation at `tick` can read: [tick - reach - 1 min, tick) (one extra minute
        // covers buckets that are not minute-aligned).
        auto it = slot.data_cells.lower_bound(tick - slot.reach_ms - 60000);
        const bool quiet = it == slot.data_cells.end() || *it >= tick;
        if (quiet && slot.quiet_evaluations >= 2) {
          // An all-missing range decides the same state every time (alarms.md §7.3 rule 4: it does
          // not depend on the previous state, or keeps it), so after two such evaluations nothing
          // can change until data enters the range: jump to the first tick that can see it.
          std::int64_t target = it == slot.data_cells.end() ? t + 1 : *it + 1;
          std::int64_t steps = (std::max(target, tick + slot.interval_ms) - tick + slot.interval_ms - 1) / slot.interval_ms;
          *slot.next_tick = tick + steps * slot.interval_ms;
          summary.alarms[i].evaluations_skipped += static_cast<std::uint64_t>(steps);
          continue;
        }
        evaluate_one(i, tick);
        slot.quiet_evaluations = quiet ? slot.quiet_evaluations + 1 : 0;
        *slot.next_tick += slot.interval_ms;
      }
      // Cells that no later evaluation can read.
      slot.data_cells.erase(slot.data_cells.begin(), slot.data_cells.lower_bound(*slot.next_tick - slot.reach_ms - 120000));
    }
    evaluated_through = t;
    prune_journal();
  }

  void evaluate_one(std::size_t index, std::int64_t tick) {
    AlarmSlot& slot = alarms[index];
    alarm::Evaluation ev = slot.evaluator.evaluate(tick, slot.source);
    AlarmSummary& s = summary.alarms[index];
    ++s.evaluations;
    s.final_state = std::string(alarm::to_string(slot.evaluator.state().value));
    if (!ev.transition) return;
    ++s.transitions;
    ++s.transitions_to[std::string(alarm::to_string(ev.state.value))];
    for (const auto& arn : ev.actions)
      if (!is_sns_arn(arn)) ++summary.non_sns_actions;
    for (const auto& sns : alarm::sns_notifications(slot.evaluator.alarm(), ev, options.notification)) {
      ++s.notifications;
      ++summary.notifications;
      if (on_notification)
        on_notification(PipelineNotification{slot.evaluator.alarm().alarm_name, ev.state.value, tick, make_notification(sns)});
    }
  }

  void prune_journal() {
    if (evaluated_through == LLONG_MIN) return;
    std::int64_t keep_from = evaluated_through - max_reach_ms - 60000;
    if (journal_oldest_cell >= keep_from) return;
    journal_oldest_cell = LLONG_MAX;
    for (auto it = journal.begin(); it != journal.end();) {
      if (it->first.cell_ms < keep_from) {
        it = journal.erase(it);
      } else {
        journal_oldest_cell = std::min(journal_oldest_cell, it->first.cell_ms);
        ++it;
      }
    }
  }

  // Streak transitions become notifications as soon as the detector releases them.
  void drain_streaks() {
    for (std::size_t i = 0; i < streaks.size(); ++i) {
      auto& det = streaks[i];
      if (!det.has_transitions()) continue;
      for (const auto& t : det.take_transitions()) {
        for (auto& n : streak::notifications(det.rule(), t, options.notification)) {
          ++summary.streaks[i].notifications;
          ++summary.notifications;
          if (on_notification) on_notification(PipelineNotification{t.alarm_name, t.new_state, t.time_ms, std::move(n), t});
        }
      }
    }
  }

  void start_clock(std::int64_t ts) {
    for (auto& slot : alarms)
      if (!slot.next_tick) {
        slot.next_tick = alarm::scheduled_instant(slot.evaluator.alarm(), ts);
        // The replay creates the alarm at its first scheduled instant: the initial state and the
        // ConfigurationUpdate "created" history item (alarms.md §10) carry that time.
        const std::string arn = alarm::alarm_identity(slot.evaluator.alarm(), options.notification).alarm_arn;
        slot.evaluator = alarm::AlarmEvaluator::created(slot.evaluator.alarm(), *slot.next_tick, options.evaluation, arn);
      }
  }
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

Result<Pipeline, Error> Pipeline::create(PipelineConfig config, PipelineOptions options,
                                         NotificationHandler on_notification) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(on_notification));
  Impl& p = *impl;

  std::vector<streak::StreakRule> streak_rules;
  if (!config.streak_alarms_json.empty()) {
    auto rules = streak::parse_streak_alarms_json(config.streak_alarms_json);
    if (!rules.ok()) return Error{"streakAlarms: " + rules.error().message};
    streak_rules = std::move(rules.value());
  }

  // Which log group the events belong to: the metric filters' (a configuration of streak alarms
  // only: theirs).
  std::set<std::string> groups;
  for (const auto& f : config.metric_filters) groups.insert(f.log_group_name);
  if (config.metric_filters.empty())
    for (const auto& rule : streak_rules) groups.insert(rule.alarm().log_group_name);
  if (!p.options.log_group.empty()) {
    p.log_group = p.options.log_group;
    if (!config.metric_filters.empty() && !groups.count(p.log_group))
      p.warnings.push_back(fmt::format("no metric filter belongs to log group \"{}\"", p.log_group));
  } else if (groups.size() == 1) {
    p.log_group = *groups.begin();
  } else if (groups.size() > 1) {
    std::string list;
    for (const auto& g : groups) list += (list.empty() ? "" : ", ") + g;
    return Error{fmt::format("the {} name {} log groups ({}); say which one the input belongs to "
                             "with --log-group", config.metric_filters.empty() ? "streak alarms" : "metric filters",
                             groups.size(), list)};
  }

  for (const auto& def : config.metric_filters) {
    if (def.log_group_name != p.log_group) continue;
    auto f = MetricFilter::create(def);
    if (!f.ok()) return Error{fmt::format("metric filter \"{}\": {}", def.filter_name, f.error().message)};
    p.summary.filters.push_back(FilterSummary{def.filter_name});
    p.filters.push_back(std::move(f.value()));
  }

  for (auto& a : config.metric_alarms) {
    // What the filters of this log group publish, for the checks below.
    std::vector<const MetricFilter*> publishers;
    for (const auto& f : p.filters)
      if (f.transformation().metric_namespace == a.metric_namespace && f.transformation().metric_name == a.metric_name)
        publishers.push_back(&f);
    if (publishers.empty()) {
      p.warnings.push_back(fmt::format("alarm \"{}\" watches {}/{}, which no metric filter of log group \"{}\" "
                                       "publishes: it can only see data put there otherwise",
                                       a.alarm_name, a.metric_namespace, a.metric_name, p.log_group));
    } else {
      std::set<std::string> alarm_dims;
      for (const auto& d : a.dimensions) alarm_dims.insert(d.name);
      for (const MetricFilter* f : publishers) {
        if (a.unit && *a.unit != f->transformation().unit) {
          p.warnings.push_back(fmt::format(
              "unit mismatch: alarm \"{}\" reads {}/{} with Unit {}, but metric filter \"{}\" publishes it with Unit "
              "{}. CloudWatch aggregates each unit separately, so this alarm never sees the filter's data and stays "
              "in INSUFFICIENT_DATA (alarms.md §4). Set \"unit\": \"{}\" on the metric transformation, or remove "
              "Unit from the alarm.",
              a.alarm_name, a.metric_namespace, a.metric_name, to_string(*a.unit), f->filter_name(),
              describe_unit(f->transformation().unit), to_string(*a.unit)));
        }
        std::set<std::string> filter_dims;
        for (const auto& d : f->transformation().dimensions) filter_dims.insert(d.first);
        if (alarm_dims != filter_dims && !(alarm_dims.empty() && filter_dims.empty())) {
          p.warnings.push_back(fmt::format(
              "alarm \"{}\" names dimensions {{{}}} but metric filter \"{}\" publishes {{{}}}: a metric is identified "
              "by its exact dimensions, so the alarm only sees datapoints whose dimensions are exactly its own",
              a.alarm_name, fmt::join(alarm_dims, ", "), f->filter_name(), fmt::join(filter_dims, ", ")));
        }
      }
    }
    Impl::AlarmSlot slot{alarm::AlarmEvaluator(a, alarm::AlarmState::initial(0), p.options.evaluation), {},
                         alarm::evaluation_interval_ms(a), 0, std::nullopt};
    slot.reach_ms = static_cast<std::int64_t>(alarm::evaluation_range(a, p.options.evaluation)) * a.period * 1000LL;
    p.max_reach_ms = std::max(p.max_reach_ms, slot.reach_ms);
    p.summary.alarms.push_back(AlarmSummary{a.alarm_name});
    p.summary.alarms.back().final_state = "INSUFFICIENT_DATA";
    p.alarms.push_back(std::move(slot));
  }
  {
    for (auto& rule : streak_rules) {
      if (rule.alarm().log_group_name != p.log_group) {
        p.warnings.push_back(fmt::format("streak alarm \"{}\" belongs to log group \"{}\", not \"{}\": not run",
                                         rule.alarm().alarm_name, rule.alarm().log_group_name, p.log_group));
        continue;
      }
      streak::DetectorOptions dopts;
      dopts.max_lateness_ms = p.options.max_lateness_ms;
      auto det = streak::StreakDetector::create(std::move(rule), dopts);
      if (!det.ok()) return Error{"streakAlarms: " + det.error().message};
      p.summary.streaks.push_back(StreakSummary{det->rule().alarm().alarm_name});
      p.streaks.push_back(std::move(det.value()));
    }
  }
  {
    std::vector<const detail::Prefilter*> consumers;
    for (const auto& f : p.filters) consumers.push_back(&f.pattern().impl().prefilter);
    for (const auto& det : p.streaks) {
      consumers.push_back(&det.rule().failure_pattern().impl().prefilter);
      if (const Pattern* s = det.rule().success_pattern()) consumers.push_back(&s->impl().prefilter);
    }
    p.group_prefilter = detail::any_of_prefilters(consumers);
    for (const auto& det : p.streaks)
      p.streak_gate_is_group.push_back(detail::same_search(p.group_prefilter, det.rule().impl().gate));
    for (const auto& f : p.filters) {
      int shared = -1;
      for (std::size_t i = 0; i < p.streaks.size() && shared < 0; ++i) {
        const Pattern& failure = p.streaks[i].rule().failure_pattern();
        if (p.streak_gate_is_group[i] && failure.source() == f.pattern().source() &&
            failure.options() == f.pattern().options())
          shared = static_cast<int>(i);
      }
      p.filter_shares_streak.push_back(shared);
    }
    p.streak_kinds.assign(p.streaks.size(), std::nullopt);
  }
  // Sources point into the store, which lives in the heap-allocated Impl: stable from here on.
  for (auto& slot : p.alarms) slot.source = alarm::store_source(p.store, slot.evaluator.alarm());
  return Pipeline(std::move(impl));
}

const std::vector<std::string>& Pipeline::warnings() const noexcept { return impl_->warnings; }
const std::string& Pipeline::log_group() const noexcept { return impl_->log_group; }
const PipelineSummary& Pipeline::summary() const noexcept {
  for (std::size_t i = 0; i < impl_->streaks.size(); ++i) impl_->summary.streaks[i].stats = impl_->streaks[i].stats();
  return impl_->summary;
}
const MetricStore& Pipeline::store() const noexcept { return impl_->store; }

std::vector<std::pair<std::string, alarm::AlarmState>> Pipeline::alarm_states() const {
  std::vector<std::pair<std::string, alarm::AlarmState>> out;
  for (const auto& s : impl_->alarms) out.emplace_back(s.evaluator.alarm().alarm_name, s.evaluator.state());
  return out;
}

std::vector<alarm::HistoryItem> Pipeline::alarm_history() const {
  std::vector<alarm::HistoryItem> out;
  for (const auto& s : impl_->alarms) out.insert(out.end(), s.evaluator.history().begin(), s.evaluator.history().end());
  // Oldest first across alarms; each alarm's own order (StateUpdate, then its Action items) kept.
  std::stable_sort(out.begin(), out.end(),
                   [](const alarm::HistoryItem& a, const alarm::HistoryItem& b) { return a.timestamp_ms < b.timestamp_ms; });
  return out;
}

bool Pipeline::record_action(std::string_view alarm_name, std::string_view action_arn, std::int64_t at_ms,
                             const alarm::ActionOutcome& outcome) {
  for (auto& s : impl_->alarms)
    if (s.evaluator.alarm().alarm_name == alarm_name) {
      s.evaluator.record_action(action_arn, at_ms, outcome);
      return true;
    }
  return false;
}

void Pipeline::add(const LogEvent& e) {
  Impl& p = *impl_;
  if (!e.log_group.empty() && !p.log_group.empty() && e.log_group != p.log_group) {
    ++p.summary.events_other_log_group;
    return;
  }
  if ((p.options.from_ms && e.timestamp_ms < *p.options.from_ms) ||
      (p.options.until_ms && e.timestamp_ms >= *p.options.until_ms)) {
    ++p.summary.events_skipped_time;
    return;
  }
  ++p.summary.events;
  if (!p.first_event_ms) {
    p.first_event_ms = e.timestamp_ms;
    p.start_clock(p.options.from_ms ? std::min(*p.options.from_ms, e.timestamp_ms) : e.timestamp_ms);
  }
  // Data for a bucket that was already evaluated arrives too late to change that evaluation (as
  // with CloudWatch); it still lands in its bucket for later evaluations.
  if (e.timestamp_ms < p.evaluated_through) ++p.summary.events_late;
  p.last_event_ms = e.timestamp_ms;
  const bool may_match = p.group_prefilter.may_match(e.message);
  // Streak detectors classify first: a filter sharing a detector's FailurePattern takes its verdict.
  // (observe_ignored and has_transitions are inline: most events only move a detector's clock.)
  bool streak_transitions = false;
  for (std::size_t i = 0; i < p.streaks.size(); ++i) {
    auto& det = p.streaks[i];
    p.streak_kinds[i].reset();
    if (!may_match) det.observe_ignored(e);
    else if (p.streak_gate_is_group[i]) p.streak_kinds[i] = det.observe_gate_passed(e);
    else det.observe(e);
    streak_transitions |= det.has_transitions();
  }
  for (std::size_t i = 0; i < p.filters.size(); ++i) {
    // A filter sharing a detector's FailurePattern takes its verdict: not a failure is no match; a
    // failure is a match, whose outcome needs no second read when the filter reads nothing.
    const int shared = p.filter_shares_streak[i];
    // The detector's stored verdict, not a copy: GCC 12 -O2 warned (falsely) that a copied
    // optional's value may be read uninitialised.
    const bool has_verdict = shared >= 0 && p.streak_kinds[shared].has_value();
    const bool failure = has_verdict && *p.streak_kinds[shared] == streak::EventClass::Kind::kFailure;
    const MetricFilter& f = p.filters[i];
    MetricFilterOutcome out;
    if (!may_match || (has_verdict && !failure)) out = f.evaluate_unmatched(e.timestamp_ms);
    else if (failure && f.reads_nothing_on_match()) out = f.evaluate_matched(e.timestamp_ms);
    else out = f.evaluate(e.message, e.timestamp_ms);
    FilterSummary& s = p.summary.filters[i];
    ++s.events;
    s.matches += out.matched;
    if (!out.skipped_reason.empty()) ++s.values_skipped;
    if (out.datapoint) {
      ++s.datapoints;
      s.default_datapoints += out.datapoint->is_default;
      p.publish(*out.datapoint);
    }
  }
  if (streak_transitions) p.drain_streaks();
  if (!p.max_event_ms || e.timestamp_ms > *p.max_event_ms) {
    p.max_event_ms = e.timestamp_ms;
    p.evaluate_through(*p.max_event_ms - p.options.max_lateness_ms);
  }
}

void Pipeline::advance_to(std::int64_t now_ms) {
  Impl& p = *impl_;
  if (!p.first_event_ms) p.start_clock(now_ms);
  p.evaluate_through(now_ms - p.options.max_lateness_ms);
  for (auto& det : p.streaks) det.advance_to(now_ms);
  p.drain_streaks();
}

void Pipeline::finish() {
  Impl& p = *impl_;
  std::int64_t until;
  if (p.options.until_ms) until = *p.options.until_ms;
  else if (p.max_event_ms) until = *p.max_event_ms + p.max_reach_ms;
  else return;  // no event, no explicit end: nothing to evaluate
  if (!p.first_event_ms) p.start_clock(p.options.from_ms.value_or(until));
  p.evaluate_through(until);
  for (auto& det : p.streaks) det.flush();
  p.drain_streaks();
}

std::string Pipeline::save_state() const {
  const Impl& p = *impl_;
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("evaluatedThrough");
  w.Int64(p.evaluated_through);
  if (p.first_event_ms) { w.Key("firstEvent"); w.Int64(*p.first_event_ms); }
  if (p.max_event_ms) { w.Key("maxEvent"); w.Int64(*p.max_event_ms); }
  if (p.last_event_ms) { w.Key("lastEvent"); w.Int64(*p.last_event_ms); }
  w.Key("alarms");
  w.StartArray();
  for (std::size_t i = 0; i < p.alarms.size(); ++i) {
    const auto& slot = p.alarms[i];
    const auto& st = slot.evaluator.state();
    const auto& sum = p.summary.alarms[i];
    w.StartObject();
    w.Key("AlarmName"); w.String(slot.evaluator.alarm().alarm_name.c_str());
    w.Key("StateValue"); w.String(std::string(alarm::to_string(st.value)).c_str());
    w.Key("StateReason"); w.String(st.reason.c_str());
    w.Key("StateReasonData"); w.String(st.reason_data.c_str());
    w.Key("StateUpdated"); w.Int64(st.updated_ms);
    w.Key("StateTransitioned"); w.Int64(st.transitioned_ms);
    if (slot.next_tick) { w.Key("nextTick"); w.Int64(*slot.next_tick); }
    w.Key("evaluations"); w.Uint64(sum.evaluations);
    // The quiet-stretch skipping (evaluate_through) resumes where it was, so counts match one run.
    w.Key("quietEvaluations"); w.Int(slot.quiet_evaluations);
    w.Key("evaluationsSkipped"); w.Uint64(sum.evaluations_skipped);
    w.Key("transitions"); w.Uint64(sum.transitions);
    w.Key("notifications"); w.Uint64(sum.notifications);
    w.EndObject();
  }
  w.EndArray();
  w.Key("datapoints");
  w.StartArray();
  for (const auto& [k, count] : p.journal) {
    w.StartObject();
    w.Key("ns"); w.String(k.ns.c_str());
    w.Key("name"); w.String(k.name.c_str());
    w.Key("dims");
    w.StartArray();
    for (const auto& d : k.dims) { w.String(d.name.c_str()); w.String(d.value.c_str()); }
    w.EndArray();
    w.Key("unit"); w.String(std::string(to_string(k.unit)).c_str());
    w.Key("t"); w.Int64(k.cell_ms);
    w.Key("v"); w.Double(k.value);
    w.Key("n"); w.Uint64(count);
    w.EndObject();
  }
  w.EndArray();
  // Streak alarms (issue 11): each detector's per-key streaks and reorder buffer. State files
  // written before streak alarms existed have no "streaks": they load, and the streaks start empty.
  w.Key("streaks");
  w.StartArray();
  for (std::size_t i = 0; i < p.streaks.size(); ++i) {
    const std::string state = p.streaks[i].save_state();
    w.StartObject();
    w.Key("AlarmName"); w.String(p.streaks[i].rule().alarm().alarm_name.c_str());
    w.Key("notifications"); w.Uint64(p.summary.streaks[i].notifications);
    w.Key("state"); w.RawValue(state.data(), state.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return b.GetString();
}

Result<bool, Error> Pipeline::restore_state(std::string_view text) {
  Impl& p = *impl_;
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("version") || !d["version"].IsInt() || d["version"].GetInt() != 1)
    return Error{"state file: not a cwfilter state (version 1)"};
  // Every member is type-checked before it is read: a hand-edited or corrupt state file is an
  // error, never a RapidJSON assertion.
  auto i64 = [](const rapidjson::Value& o, const char* k) -> std::optional<std::int64_t> {
    auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
    return it->value.GetInt64();
  };
  auto u64 = [](const rapidjson::Value& o, const char* k) -> std::optional<std::uint64_t> {
    auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsUint64()) return std::nullopt;
    return it->value.GetUint64();
  };
  auto str = [](const rapidjson::Value& o, const char* k) -> std::optional<std::string> {
    auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  p.evaluated_through = i64(d, "evaluatedThrough").value_or(LLONG_MIN);
  p.first_event_ms = i64(d, "firstEvent");
  p.max_event_ms = i64(d, "maxEvent");
  p.last_event_ms = i64(d, "lastEvent");
  if (d.HasMember("alarms") && d["alarms"].IsArray()) {
    for (const auto& a : d["alarms"].GetArray()) {
      if (!a.IsObject() || !a.HasMember("AlarmName") || !a["AlarmName"].IsString()) continue;
      std::string name = a["AlarmName"].GetString();
      for (std::size_t i = 0; i < p.alarms.size(); ++i) {
        auto& slot = p.alarms[i];
        if (slot.evaluator.alarm().alarm_name != name) continue;
        const auto state_value = str(a, "StateValue");
        const auto reason = str(a, "StateReason");
        const auto reason_data = str(a, "StateReasonData");
        if (!state_value || !reason || !reason_data)
          return Error{"state file: alarm " + name + " has no StateValue, StateReason or StateReasonData string"};
        alarm::AlarmState st;
        auto sv = alarm::parse_state_value(*state_value);
        if (!sv.ok()) return Error{"state file: " + sv.error().message};
        st.value = sv.value();
        st.reason = *reason;
        st.reason_data = *reason_data;
        st.updated_ms = i64(a, "StateUpdated").value_or(0);
        st.transitioned_ms = i64(a, "StateTransitioned").value_or(0);
        slot.evaluator = alarm::AlarmEvaluator(slot.evaluator.alarm(), st, p.options.evaluation);
        slot.next_tick = i64(a, "nextTick");
        auto& sum = p.summary.alarms[i];
        sum.evaluations = u64(a, "evaluations").value_or(0);
        if (a.HasMember("quietEvaluations") && a["quietEvaluations"].IsInt())
          slot.quiet_evaluations = a["quietEvaluations"].GetInt();
        if (auto skipped = u64(a, "evaluationsSkipped")) sum.evaluations_skipped = *skipped;
        sum.transitions = u64(a, "transitions").value_or(0);
        sum.notifications = u64(a, "notifications").value_or(0);
        sum.final_state = std::string(alarm::to_string(st.value));
      }
    }
  }
  if (d.HasMember("datapoints") && d["datapoints"].IsArray()) {
    for (const auto& dp : d["datapoints"].GetArray()) {
      const auto bad = Error{"state file: a datapoint is malformed"};
      if (!dp.IsObject()) return bad;
      const auto dims_it = dp.FindMember("dims");
      const auto ns = str(dp, "ns");
      const auto metric_name = str(dp, "name");
      const auto unit_name = str(dp, "unit");
      const auto t = i64(dp, "t");
      const auto n = u64(dp, "n");
      const auto v_it = dp.FindMember("v");
      if (dims_it == dp.MemberEnd() || !dims_it->value.IsArray() || !ns || !metric_name || !unit_name || !t || !n ||
          v_it == dp.MemberEnd() || !v_it->value.IsNumber())
        return bad;
      std::vector<Dimension> dims;
      const auto& arr = dims_it->value;
      for (rapidjson::SizeType i = 0; i + 1 < arr.Size(); i += 2) {
        if (!arr[i].IsString() || !arr[i + 1].IsString()) return bad;
        dims.push_back({arr[i].GetString(), arr[i + 1].GetString()});
      }
      auto unit = parse_standard_unit(*unit_name);
      if (!unit.ok()) return Error{"state file: " + unit.error().message};
      MetricKey key(*ns, *metric_name, dims);
      double v = v_it->value.GetDouble();
      double value_list[1] = {v};
      double counts[1] = {static_cast<double>(*n)};
      (void)p.store.add_values(key, unit.value(), *t, value_list, counts);
      for (auto& slot : p.alarms)
        if (slot.evaluator.alarm().metric_namespace == key.metric_namespace() &&
            slot.evaluator.alarm().metric_name == key.metric_name())
          slot.data_cells.insert(floor_to(*t, 60000));
      p.journal_add(Impl::JournalKey{key.metric_namespace(), key.metric_name(), key.dimensions(), unit.value(), *t, v},
                    *n);
    }
  }
  if (auto it = d.FindMember("streaks"); it != d.MemberEnd() && it->value.IsArray()) {
    for (const auto& item : it->value.GetArray()) {
      if (!item.IsObject() || !item.HasMember("AlarmName") || !item["AlarmName"].IsString() || !item.HasMember("state"))
        return Error{"state file: a streak alarm's state is malformed"};
      const std::string name = item["AlarmName"].GetString();
      for (std::size_t i = 0; i < p.streaks.size(); ++i) {
        if (p.streaks[i].rule().alarm().alarm_name != name) continue;
        auto restored = p.streaks[i].restore_state(to_json(item["state"]));
        if (!restored.ok()) return Error{fmt::format("state file: streak alarm \"{}\": {}", name, restored.error().message)};
        if (!restored.value()) {
          // Changed patterns, GroupBy, Threshold, Window or ResetAfter: old streaks mean nothing.
          p.warnings.push_back(fmt::format("streak alarm \"{}\" changed since the state was saved: its streaks "
                                           "start afresh", name));
          continue;
        }
        if (item.HasMember("notifications") && item["notifications"].IsUint64())
          p.summary.streaks[i].notifications = item["notifications"].GetUint64();
        p.summary.streaks[i].stats = p.streaks[i].stats();
      }
    }
  }
  return true;
}

}  // namespace cwfilter
