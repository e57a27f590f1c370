// Streak alarms: "N consecutive failures of one key (user), with no success in between",
// detected per key, in event-time order, at the failure that completes the streak (issue 11).
//
// CloudWatch cannot express this (a metric alarm counts any N failures of anyone in a period and
// fires after the period closes). A streak alarm is fed the same log events as metric filters and
// keeps a little state per key.
//
// Semantics, per key, over the events in event-time order (ties: input order):
//   - an event matching FailurePattern is a failure (also when it matches SuccessPattern too);
//     otherwise an event matching SuccessPattern is a success; otherwise it is ignored (counted);
//   - the key is GroupBy's values read from the event; an event whose key cannot be resolved is
//     ignored (counted); default GroupBy: $.userIdentity.arn, or $.userIdentity.userName when the
//     event has no (or a null / empty / non-scalar) ARN. The two spaces are distinct keys: an IAM
//     user's failures without an ARN (CloudTrail omits it for some failed sign-ins) do not add up
//     with the same user's failures that carry the ARN;
//   - a failure increments the key's count; with Window W, failures more than W seconds before the
//     newest failure no longer count (a failure at f counts at t iff t - f <= W);
//   - reaching Threshold N moves the key to ALARM at that failure's time, once: further failures
//     do not notify again until the key has been OK;
//   - a success resets the count to 0 and, if the key is in ALARM, moves it to OK at its time;
//   - with ResetAfter R, a key in ALARM whose last failure is at f moves to OK at f + R unless
//     another failure arrives before (a failure at exactly f + R comes after the reset); the count
//     restarts from 0. ResetAfter does not touch keys that are not in ALARM (Window does that).
//     A key in ALARM stays there until a success or ResetAfter (Window does not end an ALARM).
//   - every key starts in OK (there is no INSUFFICIENT_DATA: no event = nothing to say).
//
// Out of order input: events are buffered by event time and released when the watermark
// (largest event time seen - max_lateness) passes them, so any arrival order in which no event
// is later than max_lateness behind the newest one gives exactly the in-order result. Only matched
// events (failures and successes, reduced to key + time + event id) are buffered.
//
// Bounds (DetectorOptions): live keys <= max_live_keys; a key's state holds at most Threshold
// failures; keys longer than max_key_bytes are ignored (counted); the reorder buffer holds at most
// max_buffered_events. memory_bound() states the resulting bound and memory_usage() the estimate.
// Everything the bounds change is counted in DetectorStats, never silent.
#pragma once

#include <cwfilter/alarm.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/notification.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/pattern.hpp>
#include <cwfilter/sinks.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::streak {

// Largest Threshold accepted: a key's state keeps up to Threshold failures (time + event id).
inline constexpr int kMaxThreshold = 1000;
// Largest Window / ResetAfter, in seconds (31 days).
inline constexpr std::int64_t kMaxWindowSeconds = 31LL * 24 * 3600;

// One GroupBy item: field references tried in order, the first one present in the event wins
// ("$.a" is one reference; the default item is {"$.userIdentity.arn", "$.userIdentity.userName"}).
using GroupBySelector = std::vector<std::string>;

// A streak alarm as configured (an item of the `streakAlarms` section of a run CONFIG).
struct StreakAlarm {
  std::string alarm_name;                        // AlarmName, 1-255 characters
  std::optional<std::string> alarm_description;  // AlarmDescription, <= 1024 characters
  std::string log_group_name;                    // LogGroupName, 1-512 characters
  std::string failure_pattern;                   // FailurePattern (any filter pattern)
  // SuccessPattern; unset: nothing resets a streak but Window / ResetAfter.
  std::optional<std::string> success_pattern;
  // GroupBy: 1-3 items; empty means the default (see the top of this file).
  std::vector<GroupBySelector> group_by;
  int threshold = 0;                              // Threshold N, 1..kMaxThreshold
  std::optional<std::int64_t> window_seconds;     // Window, 1..kMaxWindowSeconds
  std::optional<std::int64_t> reset_after_seconds;  // ResetAfter, 1..kMaxWindowSeconds
  bool actions_enabled = true;                    // ActionsEnabled
  std::vector<std::string> alarm_actions;         // AlarmActions, <= 5 ARNs
  std::vector<std::string> ok_actions;            // OKActions, <= 5 ARNs

  // group_by, or the default when empty.
  std::vector<GroupBySelector> group_by_or_default() const;
};

// The default GroupBy item.
GroupBySelector default_group_by();

class StreakRule;

// Reads streak alarms, PascalCase keys as above ("GroupBy": ["$.a", ["$.b", "$.c"]], seconds as
// integers; null = unset for the optional ones). Accepts a JSON array of alarm objects, an object
// {"streakAlarms": [...]} or a single alarm object. Unknown keys are errors (a misspelt
// "Treshold" must not pass silently); AlarmNames must be distinct. Every alarm is validated and
// compiled (once); messages name the item: `streakAlarms[1]: Threshold must be ...`.
Result<std::vector<StreakRule>, Error> parse_streak_alarms_json(std::string_view json,
                                                                const Options& options = {});

// What one event is to a rule (before ordering): what `explain` shows.
struct EventClass {
  enum class Kind { kIgnored, kFailure, kSuccess };
  Kind kind = Kind::kIgnored;
  bool key_resolved = false;  // false for kIgnored, or when GroupBy found nothing
  bool key_too_long = false;  // resolved, but longer than DetectorOptions::max_key_bytes
  std::vector<std::pair<std::string, std::string>> key;  // (reference used, value) per GroupBy item
  std::string encoded_key;                                // the identity used internally
};
std::string_view to_string(EventClass::Kind kind) noexcept;  // "ignored", "failure", "success"

// A validated streak alarm with its patterns compiled once. Immutable; cheap to copy (shared);
// classify() is safe from many threads at once.
class StreakRule {
 public:
  // Validates (messages as parse_streak_alarms_json's, without the item prefix) and compiles.
  // A pattern that does not compile gives "FailurePattern: " + its CompileError message.
  static Result<StreakRule, Error> create(StreakAlarm alarm, const Options& options = {});

  const StreakAlarm& alarm() const noexcept;
  const Pattern& failure_pattern() const noexcept;
  const Pattern* success_pattern() const noexcept;  // nullptr when unset

  // Classifies one message (matching, then resolving GroupBy against the same parse).
  // max_key_bytes: see DetectorOptions.
  EventClass classify(std::string_view message, std::size_t max_key_bytes = 512) const;
  // The GroupBy values of an event whatever it matches (`explain` also lists a key's events that
  // match neither pattern). JSON references only: nullopt when a GroupBy item is a space-delimited
  // field (fields exist only for events a pattern matched) or finds no usable value.
  std::optional<std::vector<std::pair<std::string, std::string>>> resolve_key(std::string_view message) const;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit StreakRule(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

struct DetectorOptions {
  // Events may arrive up to this much (event time) behind the newest event seen and still be
  // placed exactly. Later events are processed at the watermark (their time clamped up to it)
  // and counted in DetectorStats::late_events.
  std::int64_t max_lateness_ms = 15 * 60 * 1000;
  // Hard cap on keys with state. A new key at the cap evicts, in this order of preference, the
  // least recently failed key with a count of 1, then the least recently failed key with a
  // larger count, then the least recently failed key in ALARM (counted in
  // DetectorStats::evicted_at_capacity / evicted_with_progress / evicted_in_alarm): a flood of
  // single failures under new names evicts itself before it evicts a streak in progress.
  std::size_t max_live_keys = 100'000;
  // Keys whose state can no longer matter are dropped at once (no Window: never; Window W: no
  // failure for more than W). Keys that could still matter but have had no failure for max_idle_ms
  // are forgotten too (no Window; or in ALARM without ResetAfter: no OK is sent, counted in
  // evicted_idle_in_alarm). 0 = never forget such keys (only the cap bounds them).
  std::int64_t max_idle_ms = 24LL * 3600 * 1000;
  // A key (the GroupBy values, encoded) longer than this is ignored and counted in
  // DetectorStats::oversized_keys. IAM user names are <= 64 bytes, ARNs in practice < 300.
  std::size_t max_key_bytes = 512;
  // Event ids kept for the Streak notification are truncated to this many bytes.
  std::size_t max_event_id_bytes = 128;
  // Reorder-buffer cap (matched events only). Beyond it the oldest buffered event is released
  // early (moving the watermark up to it), counted in DetectorStats::forced_releases.
  std::size_t max_buffered_events = 100'000;
};

// One state change of one key.
struct Transition {
  std::string alarm_name;
  std::vector<std::pair<std::string, std::string>> key;  // (reference, value) per GroupBy item
  alarm::StateValue old_state = alarm::StateValue::kOk;
  alarm::StateValue new_state = alarm::StateValue::kAlarm;
  enum class Cause { kThreshold, kSuccess, kResetAfter };
  Cause cause = Cause::kThreshold;
  std::int64_t time_ms = 0;           // StateChangeTime: the failure / success / f + ResetAfter
  // ALARM: the N failures that made the streak (Count = N). OK: the whole streak, failures after
  // the ALARM included (Count >= N); FirstFailure is the streak's first counted failure.
  int count = 0;
  std::int64_t first_failure_ms = 0;
  std::int64_t last_failure_ms = 0;
  std::vector<std::string> event_ids;  // ALARM: the N failures' ids in time order; OK: empty
  std::string success_event_id;        // OK by a success: that event's id
  std::string reason;                  // NewStateReason
};
std::string_view to_string(Transition::Cause cause) noexcept;  // "Threshold", "Success", "ResetAfter"

struct DetectorStats {
  std::uint64_t events = 0;            // observe() calls
  std::uint64_t failures = 0;          // events classified as failures with a usable key
  std::uint64_t successes = 0;         // likewise successes
  std::uint64_t ignored = 0;           // matched neither pattern
  std::uint64_t unresolved_keys = 0;   // matched, but GroupBy found no value
  std::uint64_t oversized_keys = 0;    // matched, key longer than max_key_bytes
  std::uint64_t events_without_timestamp = 0;  // LogEvent without time: taken at the clock
  std::uint64_t late_events = 0;       // later than max_lateness: clamped to the watermark
  std::uint64_t forced_releases = 0;   // released early because the buffer was full
  std::uint64_t buffered = 0;          // in the reorder buffer now
  std::uint64_t peak_buffered = 0;
  std::uint64_t live_keys = 0;         // keys with state now
  std::uint64_t peak_live_keys = 0;
  std::uint64_t evicted_expired = 0;   // dropped because their failures left the Window (exact)
  std::uint64_t evicted_idle = 0;      // forgotten after max_idle_ms (not in ALARM)
  std::uint64_t evicted_idle_in_alarm = 0;  // forgotten after max_idle_ms while in ALARM
  std::uint64_t evicted_at_capacity = 0;    // evicted by max_live_keys, all kinds
  std::uint64_t evicted_with_progress = 0;  // ... of which had 2+ failures (not in ALARM)
  std::uint64_t evicted_in_alarm = 0;       // ... of which were in ALARM
  std::uint64_t transitions_to_alarm = 0;
  std::uint64_t transitions_to_ok = 0;
};

// A key's state, for `explain` and tests.
struct KeySnapshot {
  std::vector<std::pair<std::string, std::string>> key;
  alarm::StateValue state = alarm::StateValue::kOk;
  int count = 0;                       // counted failures (in the window, or since the ALARM)
  std::int64_t first_failure_ms = 0;
  std::int64_t last_failure_ms = 0;
  std::vector<std::string> event_ids;  // counted failures' ids (before the ALARM)
};

// The streak detector of one rule. Not thread-safe; deterministic (time comes from the events
// and advance_to, never from a clock).
//
// Typical use:
//   auto det = StreakDetector::create(rule);
//   for (each event) { det->observe(event); for (auto& t : det->take_transitions()) deliver(t); }
//   det->flush(); for (auto& t : det->take_transitions()) deliver(t);
class StreakDetector {
 public:
  // Error: a zero max_live_keys / max_key_bytes / max_buffered_events or a negative duration.
  static Result<StreakDetector, Error> create(StreakRule rule, DetectorOptions options = {});

  StreakDetector(StreakDetector&&) noexcept;
  StreakDetector& operator=(StreakDetector&&) noexcept;
  ~StreakDetector();

  // Feeds one event (its timestamp_ms; an event without one is taken at the detector's clock,
  // the largest time seen so far). Transitions that become certain are queued.
  void observe(const LogEvent& event);
  void observe(std::string_view message, std::int64_t time_ms, std::string_view event_id = {});
  // What observe() does with an event known to match neither pattern, without reading it: for
  // callers that rejected it with a prefilter shared with other consumers (the Pipeline does, for
  // nearly every event: hence inline, for the usual case of an event that releases nothing).
  void observe_ignored(const LogEvent& event);
  // observe() for an event that already passed a prefilter implying this rule's own raw-bytes
  // check (the Pipeline's group prefilter when it is the same search): that check is not run
  // twice. The answer is observe()'s (the check only ever rejects events that cannot match).
  // Returns the event's class: kFailure exactly when FailurePattern matches it (key resolved or
  // not), so a caller holding a metric filter with the same pattern can reuse the verdict.
  EventClass::Kind observe_gate_passed(const LogEvent& event);
  // The clock reached now_ms without events (live input, or the end of a replay window): releases
  // what the watermark (now_ms - max_lateness) passes and fires ResetAfter deadlines up to it.
  void advance_to(std::int64_t now_ms);
  // End of input: releases every buffered event, then fires ResetAfter deadlines up to the
  // largest time seen (advance_to() first to let time run further). Observing may go on after.
  void flush();

  // Transitions queued since the last call, in event-time order.
  std::vector<Transition> take_transitions();
  bool has_transitions() const noexcept;

  const StreakRule& rule() const noexcept;
  const DetectorOptions& options() const noexcept;
  DetectorStats stats() const;
  // Estimated bytes held (key table, per-key failures, reorder buffer), and its documented bound:
  // max_live_keys * (kKeyOverheadBytes + max_key_bytes + Threshold * (kFailureBytes +
  // max_event_id_bytes)) + max_buffered_events * (kBufferedBytes + max_key_bytes +
  // max_event_id_bytes). Constants are in streak.cpp; memory_usage() <= memory_bound() always.
  std::size_t memory_usage() const;
  std::size_t memory_bound() const;

  // Snapshot of one key's state (key values in GroupBy order; the reference used may be any of an
  // item's alternatives), or of every live key (sorted by key).
  std::optional<KeySnapshot> find_key(const std::vector<std::pair<std::string, std::string>>& key) const;
  std::vector<KeySnapshot> snapshot() const;

  // The whole state (per-key streaks in eviction order, the reorder buffer, clocks, counters) as
  // JSON text, for `run --state`: a detector restored from it continues exactly as the saved one
  // would have (transitions not yet taken are not part of the state: take them first).
  std::string save_state() const;
  // Replaces the state with a saved one. false (state left empty): the state was saved for a
  // different rule (patterns, GroupBy, Threshold, Window or ResetAfter changed), so its streaks
  // do not apply. Error: not a streak detector state.
  Result<bool, Error> restore_state(std::string_view state);

  struct State;

 private:
  // The part of State that observe_ignored() and has_transitions() read inline (internal: State
  // derives from it; everything else is in detector.cpp).
  struct Hot {
    DetectorStats stats;
    std::vector<Transition> out;  // queued transitions
    bool have_time = false;       // max_seen valid
    bool have_clock = false;      // clock valid: the time the state has advanced to
    std::int64_t max_seen = 0;
    std::int64_t clock = 0;
    // release() has nothing to do below these watermarks (see State::compute_quiet).
    std::int64_t quiet_heap_until = std::numeric_limits<std::int64_t>::min();
    std::int64_t quiet_keys_until = std::numeric_limits<std::int64_t>::min();
    std::int64_t max_lateness_ms = 0;         // DetectorOptions'
    std::uint64_t max_buffered_events = 0;  // DetectorOptions'

    // State::release()'s quiet path: when the watermark reaches nothing due (no buffered event,
    // no key expiring), only the clock moves. False, changing nothing, otherwise.
    bool advance_quietly(std::int64_t watermark) noexcept {
      const std::int64_t t = have_clock && watermark < clock ? clock : watermark;
      if (!(watermark < quiet_heap_until && t < quiet_keys_until)) return false;
      clock = t;
      have_clock = true;
      return true;
    }
  };
  explicit StreakDetector(std::unique_ptr<State> state);
  void observe_ignored_general(const LogEvent& event);
  std::unique_ptr<State> state_;
  Hot* hot_ = nullptr;  // state_, as its Hot part
};

inline void StreakDetector::observe_ignored(const LogEvent& event) {
  // observe()'s path for an ignored event when it moves only the clock: the counts, the newest
  // time, and a watermark below everything due (State::release's quiet check). Anything else
  // (no timestamp, something due, a buffer over its cap after a restore) takes the general path.
  Hot& h = *hot_;
  if (event.has_timestamp && h.stats.buffered <= h.max_buffered_events) [[likely]] {
    const std::int64_t seen = h.have_time && h.max_seen >= event.timestamp_ms ? h.max_seen : event.timestamp_ms;
    if (h.advance_quietly(seen - h.max_lateness_ms)) [[likely]] {
      ++h.stats.events;
      ++h.stats.ignored;
      h.max_seen = seen;
      h.have_time = true;
      return;
    }
  }
  observe_ignored_general(event);
}

inline bool StreakDetector::has_transitions() const noexcept { return !hot_->out.empty(); }

// The SNS notifications of a transition, one per SNS topic of the new state's action list when
// ActionsEnabled (ALARM: AlarmActions, OK: OKActions). Message: the CloudWatch alarm message's keys
// in AWS's order (AlarmName, AlarmDescription, AWSAccountId, AlarmConfigurationUpdatedTimestamp,
// NewStateValue, NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue, OKActions,
// AlarmActions, InsufficientDataActions, Trigger) plus "Streak". Trigger describes the rule:
//   {"StreakType":"ConsecutiveFailures","LogGroupName","FailurePattern","SuccessPattern" (null
//    when unset),"GroupBy":[...as configured, default included...],"ComparisonOperator":
//    "GreaterThanOrEqualToThreshold","Threshold":3.0,"Window":seconds|null,"ResetAfter":...|null}
// Streak: {"Key":{ref:value,...},"Count","FirstFailure","LastFailure","EventIds":[...]} and, for
// OK, "EndedBy":"Success"|"ResetAfter" (+ "SuccessEventId"). Times as StateChangeTime. Region,
// account and AlarmArn as for metric alarms (NotificationOptions, else the first SNS topic ARN).
// MessageId is a UUID derived from topic, alarm, key, state and time (distinct per key).
std::vector<Notification> notifications(const StreakRule& rule, const Transition& transition,
                                        const alarm::NotificationOptions& options = {});
// The Message alone (also for ActionsEnabled=false or non-SNS actions, e.g. to print it).
std::string message_json(const StreakRule& rule, const Transition& transition,
                         const alarm::NotificationOptions& options = {});

}  // namespace cwfilter::streak
