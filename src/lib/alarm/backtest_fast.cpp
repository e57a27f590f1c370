// Backtests decided from bucket series (issue 8, target 6: 10,000 alarms x one day of per-minute
// evaluations in under 1 s of CPU).
//
// An evaluation at tick T looks at the R consecutive buckets that end at newest_bucket_end(T)
// (alarms.md §6.2, DECISIONS 15, 17-18). The buckets of all the ticks lie on a few grids of the
// period, one per phase of that end modulo the period (five for a 5-minute alarm evaluated every
// minute), so each grid's datapoints are read once, and prefix counts of real, breaching and
// low-sample datapoints decide alarms.md §7.3/§7.5 in O(1) per tick. An evaluation that changes
// the stored state is handed to evaluate() itself over the same datapoints, which renders the
// reason, StateReasonData and history: every text kept is evaluate()'s own.
#include "alarm/backtest_fast.hpp"

#include "alarm/store_source.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace cwfilter::alarm {

namespace {

constexpr std::string_view kInitialReason = "Unchecked: Initial alarm creation";

std::int64_t floor_mod(std::int64_t a, std::int64_t m) { return ((a % m) + m) % m; }

// The alarm's datapoints of `count` consecutive buckets [first + i x period, first + (i+1) x period).
using Datapoints = std::vector<std::optional<BucketDatapoint>>;
// A window of datapoints inside a series that other alarms may share.
struct SeriesView {
  std::shared_ptr<const Datapoints> data;
  std::size_t offset = 0;
  std::size_t count = 0;
  std::span<const std::optional<BucketDatapoint>> span() const { return {data->data() + offset, count}; }
};
using SeriesReader = std::function<SeriesView(std::int64_t first_ms, std::int64_t period_ms, std::size_t count)>;

SeriesReader reader_of(const DatapointSource& source) {
  if (const auto* store = source.target<detail::StoreDatapointSource>()) {
    return [store](std::int64_t first_ms, std::int64_t period_ms, std::size_t count) {
      auto out = std::make_shared<Datapoints>(count);
      store->store().for_each_bucket(store->key(), store->unit(), first_ms, period_ms, count, store->needs_values(),
                                     [&](std::size_t i, const Aggregate& a) { (*out)[i] = store->datapoint(a); });
      return SeriesView{std::move(out), 0, count};
    };
  }
  return [&source](std::int64_t first_ms, std::int64_t period_ms, std::size_t count) {
    auto out = std::make_shared<Datapoints>(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t start = first_ms + static_cast<std::int64_t>(i) * period_ms;
      (*out)[i] = source(start, start + period_ms);
    }
    return SeriesView{std::move(out), 0, count};
  };
}

// The buckets of the ticks whose newest bucket ends on one phase of the period.
struct Grid {
  std::int64_t phase_ms = 0;
  std::int64_t min_end_ms = 0, max_end_ms = 0;
  std::int64_t first_ms = 0;  // start of bucket 0
  SeriesView series;  // may be shared with other alarms
  std::span<const std::optional<BucketDatapoint>> values() const { return series.span(); }
  // Counts over buckets [0, i): real datapoints, breaching ones, low-sample ones.
  struct Before {
    int real = 0, breaching = 0, low = 0;
  };
  std::vector<Before> before;
  std::vector<int> real_index;  // bucket index of the r-th real datapoint (0-based)

  int real_before(std::size_t i) const { return before[i].real; }
  int breaching_before(std::size_t i) const { return before[i].breaching; }
  int low_before(std::size_t i) const { return before[i].low; }
  bool breaching_at(std::size_t i) const { return before[i + 1].breaching != before[i].breaching; }
};

struct Verdict {
  bool retained = false;
  StateValue state = StateValue::kInsufficientData;
};

class FastWalk {
 public:
  FastWalk(const MetricAlarm& alarm, const EvaluationOptions& options, SeriesReader read)
      : alarm_(alarm), options_(options), read_(std::move(read)) {
    n_ = alarm.evaluation_periods;
    m_ = alarm.datapoints_to_alarm_or_default();
    range_ = evaluation_range(alarm, options);
    period_ms_ = alarm.period * 1000LL;
    treat_ = alarm.treat_missing_data_or_default();
    // §7.5 (A5), as evaluate().
    if (alarm.metric_namespace == "AWS/DynamoDB" && (!alarm.treat_missing_data || options.dynamodb_always_ignore))
      treat_ = TreatMissingData::kIgnore;
    // §2.3, as evaluate()'s low_sample_ignored().
    if (alarm.extended_statistic && alarm.evaluate_low_sample_count_percentile == "ignore") {
      auto stat = parse_statistic(*alarm.extended_statistic);
      if (stat && stat.value().kind == Statistic::Kind::kPercentile) low_sample_statistic_ = stat.value();
    }
  }

  // Reads the grids of these instants. false when they are too sparse for whole series to pay
  // (or the alarm cannot be laid out), and the caller evaluates tick by tick.
  bool prepare(const std::vector<std::int64_t>& at_ms) {
    if (period_ms_ <= 0 || n_ <= 0 || m_ <= 0 || m_ > n_ || range_ < n_ || at_ms.empty()) return false;
    // A range backtest's instants are every tick in order, and the newest bucket ends at the
    // tick (not for 20/30 s periods): then the phase advances by the interval, tick j is on grid
    // j mod cycle (cycle = lcm(period, step) / step distinct phases), each visit of a grid one
    // lcm(period, step) / period buckets after the previous one, and nothing is kept per tick.
    const std::int64_t step = evaluation_interval_ms(alarm_);
    regular_ = alarm_.period != 20 && alarm_.period != 30 && step > 0 && step <= period_ms_ &&
               floor_mod(at_ms[0], step) == 0;
    for (std::size_t j = 1; regular_ && j < at_ms.size(); ++j) regular_ = at_ms[j] == at_ms[j - 1] + step;
    if (regular_) {
      const std::int64_t lcm = std::lcm(period_ms_, step);
      cycle_ = static_cast<std::size_t>(lcm / step);
      per_visit_ = static_cast<std::size_t>(lcm / period_ms_);
      const std::size_t n = at_ms.size();
      for (std::size_t g = 0; g < std::min(cycle_, n); ++g) {
        Grid& grid = grids_.emplace_back();
        grid.phase_ms = floor_mod(at_ms[g], period_ms_);
        grid.min_end_ms = at_ms[g];
        grid.max_end_ms = at_ms[g + cycle_ * ((n - 1 - g) / cycle_)];
      }
    } else {
      ticks_.reserve(at_ms.size());
      for (const std::int64_t at : at_ms) {
        const std::int64_t tick = scheduled_instant(alarm_, at);
        const std::int64_t end = newest_bucket_end(alarm_, tick);
        const std::int64_t phase = floor_mod(end, period_ms_);
        std::size_t g = 0;
        while (g < grids_.size() && grids_[g].phase_ms != phase) ++g;
        if (g == grids_.size()) {
          Grid& grid = grids_.emplace_back();
          grid.phase_ms = phase;
          grid.min_end_ms = grid.max_end_ms = end;
        }
        grids_[g].min_end_ms = std::min(grids_[g].min_end_ms, end);
        grids_[g].max_end_ms = std::max(grids_[g].max_end_ms, end);
        ticks_.push_back({tick, end, g, 0});
      }
    }
    const std::int64_t window_ms = range_ * period_ms_;
    std::uint64_t total = 0;
    for (const Grid& g : grids_) total += static_cast<std::uint64_t>((g.max_end_ms - g.min_end_ms) / period_ms_ + range_);
    if (total > 2 * static_cast<std::uint64_t>(at_ms.size()) * static_cast<std::uint64_t>(range_) + 4096) return false;
    for (Grid& g : grids_) {
      g.first_ms = g.min_end_ms - window_ms;
      const auto count = static_cast<std::size_t>((g.max_end_ms - g.min_end_ms) / period_ms_ + range_);
      g.series = read_(g.first_ms, period_ms_, count);
      if (!g.series.data || g.series.count != count || g.series.offset + count > g.series.data->size()) return false;
      const double t = alarm_.threshold;
      switch (alarm_.comparison_operator) {
        case ComparisonOperator::kGreaterThanOrEqualToThreshold: count_before(g, [t](double v) { return v >= t; }); break;
        case ComparisonOperator::kGreaterThanThreshold: count_before(g, [t](double v) { return v > t; }); break;
        case ComparisonOperator::kLessThanThreshold: count_before(g, [t](double v) { return v < t; }); break;
        case ComparisonOperator::kLessThanOrEqualToThreshold: count_before(g, [t](double v) { return v <= t; }); break;
        default: count_before(g, [](double) { return false; }); break;  // as evaluate(): band operators are refused by validate()
      }
    }
    if (!regular_)
      for (Tick& t : ticks_)
        t.oldest = static_cast<std::size_t>((t.end_ms - window_ms - grids_[t.grid].first_ms) / period_ms_);
    return true;
  }

  // Walks the instants prepared from `initial`, recording the changes only (no text rendered);
  // then renders the final state from the last change.
  void walk_changes(const std::vector<std::int64_t>& at_ms, BacktestChanges& out) {
    StateValue value = out.initial.value;
    // The first decided evaluation replaces an unknown or creation reason (as evaluate()).
    bool reason_unknown = out.initial.reason.empty() || out.initial.reason == kInitialReason;
    std::size_t last = at_ms.size();
    std::size_t last_grid = 0;
    TickCursor cursor(*this, at_ms);
    for (std::size_t j = 0; j < at_ms.size(); ++j) {
      const Tick t = cursor.next();
      const Verdict v = decide(grids_[t.grid], t.oldest);
      if (v.retained || (v.state == value && !reason_unknown)) continue;
      out.changes.push_back({at_ms[j], t.tick_ms, value, v.state, v.state != value});
      value = v.state;
      reason_unknown = false;
      last = j;
      last_grid = t.grid;
    }
    out.final_state = out.initial;
    if (last == at_ms.size()) return;
    // A transition sets every field of the state from its own evaluation; a reason refresh is
    // only ever the first change, from the initial state.
    AlarmState before = out.initial;
    const BacktestChange& change = out.changes.back();
    if (change.transition) {
      before.value = change.old_state;
      if (before.reason.empty() || before.reason == kInitialReason) before.reason = "(earlier transition)";
    }
    current_grid_ = &grids_[last_grid];
    out.final_state = evaluate(alarm_, before, at_ms[last], grid_source_, options_).state;
  }

  // Walks the instants prepared, from `state`. For each: sink.unchanged(at, tick, verdict) when
  // the stored state stays as it is, sink.changed(evaluation) otherwise (and on every tick with
  // EvaluationOptions::explain); `state` follows.
  template <typename Sink>
  void walk(const std::vector<std::int64_t>& at_ms, AlarmState& state, Sink& sink) {
    TickCursor cursor(*this, at_ms);
    for (std::size_t j = 0; j < at_ms.size(); ++j) {
      const Tick t = cursor.next();
      const Grid& g = grids_[t.grid];
      const Verdict v = decide(g, t.oldest);
      const bool refresh = state.reason.empty() || state.reason == kInitialReason;
      if (!options_.explain && (v.retained || (v.state == state.value && !refresh))) {
        sink.unchanged(at_ms[j], t.tick_ms, v, state);
        continue;
      }
      current_grid_ = &g;
      Evaluation ev = evaluate(alarm_, state, at_ms[j], grid_source_, options_);
      state = ev.state;
      sink.changed(std::move(ev));
    }
  }

 private:
  struct Tick {
    std::int64_t tick_ms, end_ms;
    std::size_t grid;
    std::size_t oldest;  // index of the tick's oldest bucket in its grid
  };
  // The prepared instants in order: from ticks_, or computed for regular instants.
  class TickCursor {
   public:
    TickCursor(const FastWalk& walk, const std::vector<std::int64_t>& at_ms) : walk_(walk), at_ms_(at_ms) {}
    Tick next() {
      const std::size_t j = j_++;
      if (!walk_.regular_) return walk_.ticks_[j];
      const Tick t{at_ms_[j], at_ms_[j], grid_, oldest_};
      if (++grid_ == walk_.cycle_) {
        grid_ = 0;
        oldest_ += walk_.per_visit_;
      }
      return t;
    }

   private:
    const FastWalk& walk_;
    const std::vector<std::int64_t>& at_ms_;
    std::size_t j_ = 0, grid_ = 0, oldest_ = 0;
  };

  // Prefix counts of grid g's datapoints (`breach` tells a breaching value).
  template <typename Breach>
  void count_before(Grid& g, Breach breach) const {
    const std::size_t count = g.series.count;
    const auto values = g.values();
    g.before.resize(count + 1);
    g.real_index.reserve(count);
    Grid::Before b;
    g.before[0] = b;
    const bool low_sample = low_sample_statistic_.has_value();
    for (std::size_t i = 0; i < count; ++i) {
      const auto& v = values[i];
      if (v) {
        ++b.real;
        b.breaching += breach(v->value) ? 1 : 0;
        b.low += low_sample && is_low_sample_count(*low_sample_statistic_, v->sample_count) ? 1 : 0;
        g.real_index.push_back(static_cast<int>(i));
      }
      g.before[i + 1] = b;
    }
  }

  // alarms.md §7.3 over the R buckets [oldest, oldest + R) of grid g, as evaluate()'s decide()
  // and low_sample_ignored() would conclude.
  Verdict decide(const Grid& g, std::size_t oldest) const {
    const std::size_t end = oldest + static_cast<std::size_t>(range_);
    const int real = g.real_before(end) - g.real_before(oldest);
    auto low_sample_from = [&](std::size_t first) { return g.low_before(end) != g.low_before(first); };
    Verdict v;
    if (real >= n_) {  // rules 1 and 2: the newest N real datapoints
      const auto first_used = static_cast<std::size_t>(g.real_index[static_cast<std::size_t>(g.real_before(end) - n_)]);
      const int breaching = g.breaching_before(end) - g.breaching_before(first_used);
      v.state = breaching >= m_ ? StateValue::kAlarm : StateValue::kOk;
      v.retained = low_sample_from(first_used);
      return v;
    }
    if (real == 0) {  // rule 4
      switch (treat_) {
        case TreatMissingData::kIgnore: v.retained = true; break;
        case TreatMissingData::kMissing: v.state = StateValue::kInsufficientData; break;
        case TreatMissingData::kBreaching: v.state = StateValue::kAlarm; break;
        case TreatMissingData::kNotBreaching: v.state = StateValue::kOk; break;
      }
      return v;
    }
    // Rule 3: 0 < real < N, every real datapoint of the range used.
    const int breaching = g.breaching_before(end) - g.breaching_before(oldest);
    if (treat_ == TreatMissingData::kBreaching || treat_ == TreatMissingData::kNotBreaching) {
      const int filled = treat_ == TreatMissingData::kBreaching ? n_ - real : 0;
      v.state = breaching + filled >= m_ ? StateValue::kAlarm : StateValue::kOk;
    } else if (breaching >= m_ || breaching < real) {
      v.state = breaching >= m_ ? StateValue::kAlarm : StateValue::kOk;
    } else {
      // Every real datapoint breaches, fewer than M: the premature-alarm rule (A2).
      bool premature = false;
      bool localstack_ok = false;
      switch (options_.premature_rule) {
        case EvaluationOptions::PrematureRule::kRange: {
          const int oldest_real = g.real_index[static_cast<std::size_t>(g.real_before(oldest))] - static_cast<int>(oldest);
          premature = range_ - oldest_real >= m_;
          break;
        }
        case EvaluationOptions::PrematureRule::kWindow: {
          const std::size_t window_first = end - static_cast<std::size_t>(n_);
          if (g.real_before(end) != g.real_before(window_first)) {
            const int first_in_window =
                g.real_index[static_cast<std::size_t>(g.real_before(window_first))] - static_cast<int>(oldest);
            premature = range_ - first_in_window >= m_;
          }
          break;
        }
        case EvaluationOptions::PrematureRule::kLocalStack: {
          const std::size_t pivot = oldest + static_cast<std::size_t>(range_ - m_);
          premature = g.values()[pivot].has_value() && g.breaching_at(pivot) &&
                      g.real_before(pivot) == g.real_before(oldest);
          localstack_ok = !premature;
          break;
        }
      }
      if (treat_ == TreatMissingData::kIgnore && !localstack_ok) {
        v.retained = true;
        return v;
      }
      v.state = premature ? StateValue::kAlarm : localstack_ok ? StateValue::kOk : StateValue::kInsufficientData;
    }
    v.retained = low_sample_from(oldest);
    return v;
  }

  const MetricAlarm& alarm_;
  const EvaluationOptions& options_;
  SeriesReader read_;
  int n_ = 0, m_ = 0, range_ = 0;
  std::int64_t period_ms_ = 0;
  TreatMissingData treat_ = TreatMissingData::kMissing;
  std::optional<Statistic> low_sample_statistic_;
  std::vector<Grid> grids_;
  std::vector<Tick> ticks_;  // when not regular_
  bool regular_ = false;
  std::size_t cycle_ = 1, per_visit_ = 1;  // when regular_
  // The datapoints evaluate() reads for a materialised tick: those of the tick's grid.
  const Grid* current_grid_ = nullptr;
  const DatapointSource grid_source_ = [this](std::int64_t start_ms, std::int64_t end_ms) -> std::optional<BucketDatapoint> {
    const Grid& g = *current_grid_;
    if (end_ms - start_ms == period_ms_ && start_ms >= g.first_ms && floor_mod(start_ms - g.first_ms, period_ms_) == 0) {
      const auto i = static_cast<std::size_t>((start_ms - g.first_ms) / period_ms_);
      if (i < g.values().size()) return g.values()[i];
    }
    return read_(start_ms, end_ms - start_ms, 1).span().front();  // not expected: evaluate() reads the tick's window
  };
};

// Every evaluation, as evaluate() returns it.
struct AllSink {
  std::vector<Evaluation>& out;
  void unchanged(std::int64_t at_ms, std::int64_t tick_ms, const Verdict& v, const AlarmState& state) {
    // What evaluate() returns when the stored state does not change and no text is rendered.
    Evaluation& ev = out.emplace_back();
    ev.query_ms = at_ms;
    ev.tick_ms = tick_ms;
    ev.old_state = state.value;
    ev.state = state;
    ev.retained = v.retained;
    ev.computed_state = v.retained ? state.value : v.state;
  }
  void changed(Evaluation ev) { out.push_back(std::move(ev)); }
};

BacktestChanges changes_with(const MetricAlarm& alarm, AlarmState initial, const std::vector<std::int64_t>& at_ms,
                             SeriesReader read, const EvaluationOptions& options) {
  BacktestChanges out;
  out.alarm_name = alarm.alarm_name;
  out.evaluations = static_cast<int>(at_ms.size());
  if (!at_ms.empty()) {
    out.first_query_ms = at_ms.front();
    out.last_query_ms = at_ms.back();
  }
  out.initial = std::move(initial);
  FastWalk walk(alarm, options, read);
  if (walk.prepare(at_ms)) {
    walk.walk_changes(at_ms, out);
    return out;
  }
  const DatapointSource source = [&read](std::int64_t start_ms, std::int64_t end_ms) {
    return read(start_ms, end_ms - start_ms, 1).span().front();
  };
  AlarmState state = out.initial;
  for (auto& ev : detail::backtest_per_tick(alarm, state, at_ms, source, options)) {
    const bool changed = ev.transition || ev.state.reason != state.reason ||
                         ev.state.reason_data != state.reason_data || ev.state.updated_ms != state.updated_ms;
    if (changed) out.changes.push_back({ev.query_ms, ev.tick_ms, ev.old_state, ev.state.value, ev.transition});
    state = std::move(ev.state);
  }
  out.final_state = std::move(state);
  return out;
}

}  // namespace

std::vector<Evaluation> detail::backtest_all(const MetricAlarm& alarm, AlarmState initial,
                                             const std::vector<std::int64_t>& at_ms, const DatapointSource& source,
                                             const EvaluationOptions& options) {
  FastWalk walk(alarm, options, reader_of(source));
  if (!walk.prepare(at_ms)) return backtest_per_tick(alarm, std::move(initial), at_ms, source, options);
  std::vector<Evaluation> out;
  out.reserve(at_ms.size());
  AllSink sink{out};
  walk.walk(at_ms, initial, sink);
  return out;
}

BacktestChanges backtest_changes_at(const MetricAlarm& alarm, AlarmState initial, const std::vector<std::int64_t>& at_ms,
                                    const DatapointSource& source, const EvaluationOptions& options) {
  return changes_with(alarm, std::move(initial), at_ms, reader_of(source), options);
}

BacktestChanges backtest_changes_range(const MetricAlarm& alarm, AlarmState initial, std::int64_t from_ms,
                                       std::int64_t to_ms, const DatapointSource& source,
                                       const EvaluationOptions& options) {
  return changes_with(alarm, std::move(initial), detail::scheduled_instants(alarm, from_ms, to_ms), reader_of(source),
                      options);
}

std::vector<BacktestChanges> backtest_changes_range(const std::vector<MetricAlarm>& alarms, const AlarmState& initial,
                                                    std::int64_t from_ms, std::int64_t to_ms, const MetricStore& store,
                                                    const EvaluationOptions& options) {
  std::vector<BacktestChanges> out(alarms.size());
  // Alarms of one metric read the same buckets (same period and phase) and differ only in the
  // statistic computed from each aggregate: the aggregates are queried once per metric.
  std::unordered_map<MetricKey, std::vector<std::size_t>> by_metric;
  for (std::size_t i = 0; i < alarms.size(); ++i)
    by_metric[MetricKey(alarms[i].metric_namespace, alarms[i].metric_name, alarms[i].dimensions)].push_back(i);
  for (const auto& by_metric_entry : by_metric) {
    // Not a structured binding: the lambdas below capture the key (clang 14 cannot capture one).
    const auto& key = by_metric_entry.first;
    const auto& members = by_metric_entry.second;
    std::vector<detail::StoreDatapointSource> sources;
    sources.reserve(members.size());
    for (const std::size_t i : members) sources.emplace_back(store, alarms[i]);
    // Alarms of one period and tick span read windows that end at the same bucket and differ
    // only in their evaluation range: each read reaches back the longest range of the group,
    // and every alarm takes its window from it.
    std::unordered_map<int, std::int64_t> longest_range;
    for (const std::size_t i : members) {
      auto& r = longest_range[alarms[i].period];
      r = std::max<std::int64_t>(r, evaluation_range(alarms[i], options));
    }
    // Alarms of the same statistic (and unit) share the datapoints computed from the buckets.
    struct Series {
      std::optional<StandardUnit> unit;
      std::string statistic;
      std::int64_t first_ms, period_ms, end_ms;
      std::shared_ptr<const Datapoints> datapoints;
    };
    std::vector<Series> series;
    for (std::size_t k = 0; k < members.size(); ++k) {
      const detail::StoreDatapointSource& source = sources[k];
      const std::int64_t slack = longest_range[alarms[members[k]].period];
      const SeriesReader read = [&, slack](std::int64_t first_ms, std::int64_t period_ms, std::size_t count) {
        const std::int64_t end_ms = first_ms + period_ms * static_cast<std::int64_t>(count);
        auto view = [&](const Series& s) {
          return SeriesView{s.datapoints, static_cast<std::size_t>((first_ms - s.first_ms) / period_ms), count};
        };
        for (const Series& s : series)
          if (s.unit == source.unit() && s.period_ms == period_ms && s.end_ms == end_ms && s.first_ms <= first_ms &&
              s.statistic == source.statistic().name)
            return view(s);
        // A walk over the buckets computes the datapoints of every statistic that this unit's
        // alarms of this period still need (raw values only when one of them needs them).
        const std::int64_t read_first = first_ms - slack * period_ms;
        const std::size_t read_count = count + static_cast<std::size_t>(slack);
        std::vector<const detail::StoreDatapointSource*> wanted{&source};
        for (std::size_t j = 0; j < members.size(); ++j) {
          const detail::StoreDatapointSource& other = sources[j];
          if (other.unit() != source.unit() || alarms[members[j]].period * 1000LL != period_ms) continue;
          const std::string& name = other.statistic().name;
          if (std::any_of(wanted.begin(), wanted.end(), [&](const auto* w) { return w->statistic().name == name; }))
            continue;
          if (std::any_of(series.begin(), series.end(), [&](const Series& s) {
                return s.unit == source.unit() && s.period_ms == period_ms && s.end_ms == end_ms &&
                       s.first_ms <= first_ms && s.statistic == name;
              }))
            continue;
          wanted.push_back(&other);
        }
        const bool values =
            std::any_of(wanted.begin(), wanted.end(), [](const auto* w) { return w->needs_values(); });
        std::vector<std::shared_ptr<Datapoints>> data;
        data.reserve(wanted.size());
        for (std::size_t w = 0; w < wanted.size(); ++w) data.push_back(std::make_shared<Datapoints>(read_count));
        store.for_each_bucket(key, source.unit(), read_first, period_ms, read_count, values,
                              [&](std::size_t i, const Aggregate& a) {
                                for (std::size_t w = 0; w < wanted.size(); ++w) (*data[w])[i] = wanted[w]->datapoint(a);
                              });
        const std::size_t mine = series.size();
        for (std::size_t w = 0; w < wanted.size(); ++w)
          series.push_back(
              Series{source.unit(), wanted[w]->statistic().name, read_first, period_ms, end_ms, std::move(data[w])});
        return view(series[mine]);
      };
      const MetricAlarm& alarm = alarms[members[k]];
      out[members[k]] = changes_with(alarm, initial, detail::scheduled_instants(alarm, from_ms, to_ms), read, options);
    }
  }
  return out;
}

std::vector<Evaluation> materialise(const MetricAlarm& alarm, const BacktestChanges& backtest,
                                    const DatapointSource& source, const EvaluationOptions& options) {
  // Between two changes the stored state does not change, so each change's evaluation starts
  // from the state the previous one left.
  std::vector<Evaluation> out;
  out.reserve(backtest.changes.size());
  AlarmState state = backtest.initial;
  for (const auto& change : backtest.changes) {
    out.push_back(evaluate(alarm, state, change.query_ms, source, options));
    state = out.back().state;
  }
  return out;
}

BacktestSummary summarize(const MetricAlarm& alarm, const BacktestChanges& backtest, std::optional<std::int64_t> end_ms) {
  // summarize(alarm, evaluations) reads only transitions, the first evaluation's old state and
  // the last evaluation's instant.
  BacktestSummary s;
  s.alarm_name = alarm.alarm_name;
  s.evaluations = backtest.evaluations;
  if (backtest.evaluations == 0) return s;
  // A flag and a time rather than an optional: GCC 12 -O2 warns (falsely) that the optional's
  // value may be read uninitialised.
  bool in_alarm = backtest.initial.value == StateValue::kAlarm;
  std::int64_t alarm_since = backtest.first_query_ms;
  for (const auto& ev : backtest.changes) {
    if (!ev.transition) continue;
    ++s.transitions;
    if (ev.new_state == StateValue::kAlarm) {
      ++s.times_in_alarm;
      in_alarm = true;
      alarm_since = ev.query_ms;
    } else if (in_alarm) {
      s.alarm_duration_ms += ev.query_ms - alarm_since;
      in_alarm = false;
    }
  }
  if (in_alarm) {
    const std::int64_t end = end_ms ? *end_ms : backtest.last_query_ms;
    s.alarm_duration_ms += std::max<std::int64_t>(0, end - alarm_since);
  }
  return s;
}

}  // namespace cwfilter::alarm
