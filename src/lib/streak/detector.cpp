// The streak detector: reorder buffer (exact within max_lateness), per-key state in three
// least-recently-failed lists (single failure / streak in progress / ALARM), ResetAfter deadlines,
// expiry and the live-key cap. Every operation is O(1) amortised per event (O(Threshold) for a
// failure with a Window).
#include "streak/internal.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <utility>

namespace cwfilter::streak {
namespace {

struct Failure {
  std::int64_t t = 0;
  std::string id;
};

enum ListId : std::uint8_t { kSingle = 0, kProgress = 1, kAlarmList = 2, kNoList = 3 };

struct KeyState {
  const std::string* name = nullptr;  // the map's key (stable: unordered_map nodes never move)
  KeyState* prev = nullptr;
  KeyState* next = nullptr;
  std::uint8_t list = kNoList;
  bool in_alarm = false;
  int count = 0;
  std::int64_t first_failure = 0;
  std::int64_t last_failure = 0;
  std::vector<Failure> failures;  // counted failures, oldest first (empty once in ALARM)
};

struct List {
  KeyState* head = nullptr;
  KeyState* tail = nullptr;
};

// A reorder-buffer entry. Its key and event id are in slots[slot], so that the heap moves only
// these few bytes and a released slot's buffers serve the next event (no allocation per event).
struct Pending {
  std::int64_t t = 0;
  std::uint64_t seq = 0;  // input order, for ties
  std::size_t slot = 0;
  bool failure = false;
};
struct Slot {
  std::string key;
  std::string id;
};
// Free slots that keep their buffers for reuse (the others are emptied): in a steady stream an
// event is released for about every one buffered, so a few suffice.
constexpr std::size_t kSpareSlots = 64;
// std::push_heap builds a max-heap: "later" sorts first so that the front is the earliest event.
struct PendingLater {
  bool operator()(const Pending& a, const Pending& b) const noexcept {
    return a.t != b.t ? a.t > b.t : a.seq > b.seq;
  }
};

// Approximate glibc malloc footprint of an allocation of n bytes.
constexpr std::size_t alloc_size(std::size_t n) noexcept { return n == 0 ? 0 : std::max<std::size_t>(32, (n + 8 + 15) & ~std::size_t{15}); }
std::size_t string_heap(const std::string& s) noexcept { return s.capacity() > 15 ? alloc_size(s.capacity() + 1) : 0; }
std::size_t slot_heap(const Slot& s) noexcept { return string_heap(s.key) + string_heap(s.id); }
// to = from, in to's buffer when it is big enough (no allocation), else in a new one of from's
// size (assign() may make it up to twice as big: more than memory_bound() counts for a key or an
// id); heap_bytes follows string_heap(to).
void set_string(std::string& to, std::string_view from, std::size_t& heap_bytes) {
  if (from.size() <= to.capacity()) {
    to.clear();
    to.append(from);
  } else {
    heap_bytes -= string_heap(to);
    to = std::string(from);
    heap_bytes += string_heap(to);
  }
}

using KeyMap = std::unordered_map<std::string, KeyState>;
// A map node: the value, the next pointer and the cached hash (libstdc++).
constexpr std::size_t kNodeBytes = alloc_size(sizeof(KeyMap::value_type) + 2 * sizeof(void*));
// Buckets: libstdc++ keeps <= 1 element per bucket and grows ~2x, never shrinking: <= ~2.2 bucket
// pointers per peak key; 3 to be safe.
constexpr std::size_t kBucketBytesPerKey = 3 * sizeof(void*);

std::string hms_or_date(std::int64_t ms, bool with_date) {
  const std::string s = alarm::format_aws_timestamp(ms);  // yyyy-MM-ddTHH:mm:ss.SSS+0000
  return with_date ? s.substr(0, 10) + " " + s.substr(11, 8) : s.substr(11, 8);
}

}  // namespace

// Documented constants of memory_bound() (see streak.hpp).
struct StreakDetector::State : StreakDetector::Hot {
  StreakRule rule;
  const StreakRule::Impl* impl = nullptr;
  DetectorOptions options;
  std::int64_t window_ms = -1;  // -1: no Window
  std::int64_t reset_ms = -1;   // -1: no ResetAfter

  KeyMap keys;
  List lists[3];
  std::size_t key_heap_bytes = 0;  // strings and failure vectors owned by the keys

  std::vector<Pending> heap;
  std::vector<Slot> slots;               // of heap entries, and free ones
  std::vector<std::size_t> free_spare;   // free slots keeping their buffers (<= kSpareSlots)
  std::vector<std::size_t> free_empty;   // free slots without buffers
  std::size_t pending_heap_bytes = 0;    // the slots' string buffers
  std::uint64_t seq = 0;

  // Hot: stats, out (transitions queued), have_time / max_seen, have_clock / clock, the quiet
  // watermarks, max_lateness_ms and max_buffered_events (copies of the options').
  std::string scratch_key;

  State(StreakRule r, DetectorOptions o) : rule(std::move(r)), impl(&rule.impl()), options(o) {
    max_lateness_ms = options.max_lateness_ms;
    max_buffered_events = options.max_buffered_events;
    const auto& a = rule.alarm();
    if (a.window_seconds) window_ms = *a.window_seconds * 1000;
    if (a.reset_after_seconds) reset_ms = *a.reset_after_seconds * 1000;
  }

  // ---- lists ----
  void unlink(KeyState& k) {
    if (k.list == kNoList) return;
    List& l = lists[k.list];
    (k.prev ? k.prev->next : l.head) = k.next;
    (k.next ? k.next->prev : l.tail) = k.prev;
    k.prev = k.next = nullptr;
    k.list = kNoList;
  }
  void push_back(KeyState& k, std::uint8_t id) {
    unlink(k);
    List& l = lists[id];
    k.prev = l.tail;
    k.next = nullptr;
    (l.tail ? l.tail->next : l.head) = &k;
    l.tail = &k;
    k.list = id;
  }

  // ---- memory ----
  static std::size_t footprint(const KeyState& k) {
    std::size_t n = string_heap(*k.name) + alloc_size(k.failures.capacity() * sizeof(Failure));
    for (const auto& f : k.failures) n += string_heap(f.id);
    return n;
  }

  // ---- key table ----
  void erase(KeyState& k) {
    unlink(k);
    key_heap_bytes -= footprint(k);
    keys.erase(keys.find(*k.name));
    stats.live_keys = keys.size();
  }

  void make_room() {
    if (keys.size() < options.max_live_keys) return;
    KeyState* victim = lists[kSingle].head;
    if (!victim) victim = lists[kProgress].head;
    if (!victim) victim = lists[kAlarmList].head;
    if (!victim) return;
    ++stats.evicted_at_capacity;
    if (victim->in_alarm) ++stats.evicted_in_alarm;
    else if (victim->count >= 2) ++stats.evicted_with_progress;
    erase(*victim);
  }

  Transition make_transition(const KeyState& k, alarm::StateValue from, alarm::StateValue to, Transition::Cause cause,
                             std::int64_t at) const {
    Transition t;
    t.alarm_name = rule.alarm().alarm_name;
    t.key = impl->decode_key(*k.name);
    t.old_state = from;
    t.new_state = to;
    t.cause = cause;
    t.time_ms = at;
    t.count = k.count;
    t.first_failure_ms = k.first_failure;
    t.last_failure_ms = k.last_failure;
    return t;
  }

  std::string span_text(std::int64_t first, std::int64_t last) const {
    const bool dates = alarm::format_aws_timestamp(first).substr(0, 10) != alarm::format_aws_timestamp(last).substr(0, 10);
    return fmt::format("{} and {}", hms_or_date(first, dates), hms_or_date(last, dates));
  }

  void emit_alarm(KeyState& k, std::int64_t at) {
    Transition t = make_transition(k, alarm::StateValue::kOk, alarm::StateValue::kAlarm, Transition::Cause::kThreshold, at);
    for (auto& f : k.failures) t.event_ids.push_back(std::move(f.id));
    const std::string who = describe_key(t.key);
    const auto& a = rule.alarm();
    if (t.count == 1)
      t.reason = fmt::format("1 failure for {} at {}", who, hms_or_date(at, false));
    else
      t.reason = fmt::format("{} consecutive failures for {} between {}{}{}", t.count, who,
                             span_text(t.first_failure_ms, t.last_failure_ms),
                             a.window_seconds ? fmt::format(" (within the {}-second window)", *a.window_seconds) : "",
                             a.success_pattern ? " with no success in between" : "");
    ++stats.transitions_to_alarm;
    out.push_back(std::move(t));
  }

  void emit_ok(const KeyState& k, std::int64_t at, Transition::Cause cause, std::string success_id) {
    Transition t = make_transition(k, alarm::StateValue::kAlarm, alarm::StateValue::kOk, cause, at);
    const std::string who = describe_key(t.key);
    const std::string streak = fmt::format("{} consecutive failure{} between {}", t.count, t.count == 1 ? "" : "s",
                                           span_text(t.first_failure_ms, t.last_failure_ms));
    if (cause == Transition::Cause::kSuccess)
      t.reason = fmt::format("Success for {} at {} ends the streak of {}", who, hms_or_date(at, false), streak);
    else
      t.reason = fmt::format("No failure for {} in the {} seconds after {}: the streak of {} is over", who,
                             rule.alarm().reset_after_seconds.value_or(0), hms_or_date(t.last_failure_ms, false),
                             streak);
    t.success_event_id = std::move(success_id);
    ++stats.transitions_to_ok;
    out.push_back(std::move(t));
  }

  // Lets time reach t: ResetAfter deadlines <= t fire (before any event at t), keys that can no
  // longer matter (or idle beyond max_idle_ms) go.
  void advance_internal(std::int64_t t) {
    if (have_clock && t < clock) t = clock;
    for (KeyState* k = lists[kAlarmList].head; k; k = lists[kAlarmList].head) {
      if (reset_ms >= 0) {
        if (k->last_failure + reset_ms > t) break;
        emit_ok(*k, k->last_failure + reset_ms, Transition::Cause::kResetAfter, {});
        erase(*k);
      } else if (options.max_idle_ms > 0 && t - k->last_failure > options.max_idle_ms) {
        ++stats.evicted_idle_in_alarm;
        erase(*k);
      } else {
        break;
      }
    }
    const std::int64_t limit = window_ms >= 0 ? window_ms : options.max_idle_ms;
    if (limit > 0 || window_ms >= 0) {
      for (std::uint8_t id : {kSingle, kProgress})
        for (KeyState* k = lists[id].head; k && t - k->last_failure > limit; k = lists[id].head) {
          ++(window_ms >= 0 ? stats.evicted_expired : stats.evicted_idle);
          erase(*k);
        }
    }
    clock = t;
    have_clock = true;
  }

  void on_failure(std::string&& key, std::int64_t t, std::string&& id) {
    auto it = keys.find(key);
    if (it == keys.end()) {
      make_room();
      it = keys.try_emplace(std::move(key)).first;
      it->second.name = &it->first;
      stats.live_keys = keys.size();
      stats.peak_live_keys = std::max<std::uint64_t>(stats.peak_live_keys, keys.size());
    } else {
      key_heap_bytes -= footprint(it->second);
    }
    KeyState& k = it->second;
    k.last_failure = t;
    if (k.in_alarm) {
      ++k.count;
      push_back(k, kAlarmList);
      key_heap_bytes += footprint(k);
      return;
    }
    if (window_ms >= 0) {
      auto keep = std::find_if(k.failures.begin(), k.failures.end(), [&](const Failure& f) { return t - f.t <= window_ms; });
      k.failures.erase(k.failures.begin(), keep);
    }
    k.failures.push_back(Failure{t, std::move(id)});
    k.count = static_cast<int>(k.failures.size());
    k.first_failure = k.failures.front().t;
    if (k.count >= rule.alarm().threshold) {
      emit_alarm(k, t);
      k.in_alarm = true;
      std::vector<Failure>().swap(k.failures);
      push_back(k, kAlarmList);
    } else {
      push_back(k, k.count == 1 ? kSingle : kProgress);
    }
    key_heap_bytes += footprint(k);
  }

  void on_success(const std::string& key, std::int64_t t, std::string&& id) {
    auto it = keys.find(key);
    if (it == keys.end()) return;  // count already 0, state OK: nothing to reset
    if (it->second.in_alarm) emit_ok(it->second, t, Transition::Cause::kSuccess, std::move(id));
    erase(it->second);
  }

  // ---- reorder buffer ----
  void push_pending(std::int64_t t, bool failure, std::string_view key, std::string_view id) {
    std::size_t i;
    if (!free_spare.empty()) {
      i = free_spare.back();
      free_spare.pop_back();
    } else if (!free_empty.empty()) {
      i = free_empty.back();
      free_empty.pop_back();
    } else {
      i = slots.size();
      slots.emplace_back();
    }
    Slot& s = slots[i];
    set_string(s.key, key, pending_heap_bytes);
    set_string(s.id, id, pending_heap_bytes);
    heap.push_back(Pending{t, seq++, i, failure});
    std::push_heap(heap.begin(), heap.end(), PendingLater{});
  }

  void process(const Pending& p) {
    Slot& s = slots[p.slot];
    pending_heap_bytes -= slot_heap(s);
    advance_internal(p.t);
    // The key's buffer goes to the key table when the key is new, the id's to the key's failures
    // or the OK transition; what is left stays with the slot (up to kSpareSlots free slots).
    if (p.failure) on_failure(std::move(s.key), p.t, std::move(s.id));
    else on_success(s.key, p.t, std::move(s.id));
    if (free_spare.size() < kSpareSlots) {
      free_spare.push_back(p.slot);
    } else {
      std::string().swap(s.key);
      std::string().swap(s.id);
      free_empty.push_back(p.slot);
    }
    pending_heap_bytes += slot_heap(s);
  }

  Pending pop() {
    std::pop_heap(heap.begin(), heap.end(), PendingLater{});
    const Pending p = heap.back();
    heap.pop_back();
    stats.buffered = heap.size();
    return p;
  }

  void release(std::int64_t watermark) {
    // Most events move the watermark without reaching anything (no buffered event due, no key
    // expiring): then only the clock moves, as advance_internal would leave it. Kept small so
    // that it inlines into every observe path; the rest is release_due().
    if (advance_quietly(watermark)) [[likely]] return;
    release_due(watermark);
  }
  __attribute__((noinline)) void release_due(std::int64_t watermark) {
    while (!heap.empty() && heap.front().t <= watermark) {
      Pending p = pop();
      process(p);
    }
    advance_internal(watermark);
    compute_quiet();
  }

  // The earliest watermark at which release() has something to do: the first buffered event's
  // time, and the earliest time (after clamping to the clock) at which a list head expires, is
  // evicted or fires ResetAfter (advance_internal's conditions, solved for t).
  // (quiet_heap_until, quiet_keys_until: in Hot.)
  void compute_quiet() {
    quiet_heap_until = heap.empty() ? std::numeric_limits<std::int64_t>::max() : heap.front().t;
    std::int64_t d = std::numeric_limits<std::int64_t>::max();
    if (const KeyState* k = lists[kAlarmList].head) {
      if (reset_ms >= 0) d = std::min(d, k->last_failure + reset_ms);
      else if (options.max_idle_ms > 0) d = std::min(d, k->last_failure + options.max_idle_ms + 1);
    }
    const std::int64_t limit = window_ms >= 0 ? window_ms : options.max_idle_ms;
    if (limit > 0 || window_ms >= 0)
      for (std::uint8_t id : {kSingle, kProgress})
        if (const KeyState* k = lists[id].head) d = std::min(d, k->last_failure + limit + 1);
    quiet_keys_until = d;
  }
  // Keys or the buffer changed outside release(): the next release() takes the full path.
  void invalidate_quiet() {
    quiet_heap_until = std::numeric_limits<std::int64_t>::min();
    quiet_keys_until = std::numeric_limits<std::int64_t>::min();
  }

  EventClass::Kind observe(std::string_view message, std::int64_t t, std::string_view event_id, bool gate_passed = false) {
    int status = 0;
    const auto kind = impl->classify_into(message, options.max_key_bytes, scratch_key, status, gate_passed);
    observe_classified(kind, status, t, event_id);
    return kind;
  }

  // An event at time t has been seen: the newest time, and what the watermark releases.
  void see(std::int64_t t) {
    if (!have_time || t > max_seen) {
      max_seen = t;
      have_time = true;
    }
    release(max_seen - options.max_lateness_ms);
  }

  // `scratch_key` holds the key of a failure or success.
  void observe_classified(EventClass::Kind kind, int status, std::int64_t t, std::string_view event_id) {
    ++stats.events;
    if (kind == EventClass::Kind::kIgnored) {
      ++stats.ignored;
    } else if (status == 1) {
      ++stats.unresolved_keys;
    } else if (status == 2) {
      ++stats.oversized_keys;
    } else {
      std::int64_t at = t;
      if (have_clock && at < clock) {  // later than max_lateness: placed at the watermark
        ++stats.late_events;
        at = clock;
      }
      ++(kind == EventClass::Kind::kFailure ? stats.failures : stats.successes);
      push_pending(at, kind == EventClass::Kind::kFailure, scratch_key, event_id.substr(0, options.max_event_id_bytes));
      quiet_heap_until = std::min(quiet_heap_until, at);
      stats.buffered = heap.size();
      stats.peak_buffered = std::max<std::uint64_t>(stats.peak_buffered, heap.size());
    }
    see(t);
    while (heap.size() > options.max_buffered_events) {
      ++stats.forced_releases;
      Pending p = pop();
      process(p);
      invalidate_quiet();
    }
  }

  KeySnapshot snapshot_of(const KeyState& k) const {
    KeySnapshot s;
    s.key = impl->decode_key(*k.name);
    s.state = k.in_alarm ? alarm::StateValue::kAlarm : alarm::StateValue::kOk;
    s.count = k.count;
    s.first_failure_ms = k.first_failure;
    s.last_failure_ms = k.last_failure;
    for (const auto& f : k.failures) s.event_ids.push_back(f.id);
    return s;
  }
};

std::string_view to_string(Transition::Cause cause) noexcept {
  switch (cause) {
    case Transition::Cause::kThreshold: return "Threshold";
    case Transition::Cause::kSuccess: return "Success";
    case Transition::Cause::kResetAfter: return "ResetAfter";
  }
  return "Threshold";
}

Result<StreakDetector, Error> StreakDetector::create(StreakRule rule, DetectorOptions options) {
  if (options.max_lateness_ms < 0) return Error{"max lateness must not be negative"};
  if (options.max_idle_ms < 0) return Error{"max idle time must not be negative"};
  if (options.max_live_keys == 0) return Error{"the live-key cap must be at least 1"};
  if (options.max_key_bytes == 0) return Error{"the key size limit must be at least 1 byte"};
  if (options.max_buffered_events == 0) return Error{"the reorder buffer must hold at least 1 event"};
  return StreakDetector(std::make_unique<State>(std::move(rule), options));
}

StreakDetector::StreakDetector(std::unique_ptr<State> state) : state_(std::move(state)), hot_(state_.get()) {}
StreakDetector::StreakDetector(StreakDetector&& other) noexcept
    : state_(std::move(other.state_)), hot_(std::exchange(other.hot_, nullptr)) {}
StreakDetector& StreakDetector::operator=(StreakDetector&& other) noexcept {
  state_ = std::move(other.state_);
  hot_ = std::exchange(other.hot_, nullptr);
  return *this;
}
StreakDetector::~StreakDetector() = default;

void StreakDetector::observe(const LogEvent& event) {
  if (!event.has_timestamp) ++state_->stats.events_without_timestamp;
  const std::int64_t t = event.has_timestamp ? event.timestamp_ms : (state_->have_time ? state_->max_seen : 0);
  state_->observe(event.message, t, event.event_id);
}

EventClass::Kind StreakDetector::observe_gate_passed(const LogEvent& event) {
  if (!event.has_timestamp) ++state_->stats.events_without_timestamp;
  const std::int64_t t = event.has_timestamp ? event.timestamp_ms : (state_->have_time ? state_->max_seen : 0);
  return state_->observe(event.message, t, event.event_id, true);
}

void StreakDetector::observe(std::string_view message, std::int64_t time_ms, std::string_view event_id) {
  state_->observe(message, time_ms, event_id);
}

// observe_ignored() when the inline path does not apply (streak.hpp).
void StreakDetector::observe_ignored_general(const LogEvent& event) {
  State& s = *state_;
  if (event.has_timestamp && s.heap.size() <= s.options.max_buffered_events) [[likely]] {
    // observe_classified's path for an ignored event (the counts, then see()), without its
    // branches for classified events.
    ++s.stats.events;
    ++s.stats.ignored;
    s.see(event.timestamp_ms);
    return;
  }
  if (!event.has_timestamp) ++state_->stats.events_without_timestamp;
  const std::int64_t t = event.has_timestamp ? event.timestamp_ms : (state_->have_time ? state_->max_seen : 0);
  state_->observe_classified(EventClass::Kind::kIgnored, 0, t, event.event_id);
}

void StreakDetector::advance_to(std::int64_t now_ms) {
  State& s = *state_;
  if (!s.have_time || now_ms > s.max_seen) {
    s.max_seen = now_ms;
    s.have_time = true;
  }
  s.release(s.max_seen - s.options.max_lateness_ms);
}

void StreakDetector::flush() {
  State& s = *state_;
  if (s.have_time) s.release(s.max_seen);
}

std::vector<Transition> StreakDetector::take_transitions() {
  std::vector<Transition> out;
  out.swap(state_->out);
  return out;
}

const StreakRule& StreakDetector::rule() const noexcept { return state_->rule; }
const DetectorOptions& StreakDetector::options() const noexcept { return state_->options; }
DetectorStats StreakDetector::stats() const { return state_->stats; }

std::size_t StreakDetector::memory_usage() const {
  const State& s = *state_;
  return sizeof(State) + s.keys.size() * kNodeBytes + s.keys.bucket_count() * sizeof(void*) + s.key_heap_bytes +
         alloc_size(s.heap.capacity() * sizeof(Pending)) + alloc_size(s.slots.capacity() * sizeof(Slot)) +
         alloc_size(s.free_spare.capacity() * sizeof(std::size_t)) +
         alloc_size(s.free_empty.capacity() * sizeof(std::size_t)) + s.pending_heap_bytes;
}

std::size_t StreakDetector::memory_bound() const {
  const State& s = *state_;
  const auto n = static_cast<std::size_t>(s.rule.alarm().threshold);
  const std::size_t id_bytes = alloc_size(s.options.max_event_id_bytes + 1);
  const std::size_t key_bytes = alloc_size(s.options.max_key_bytes + 1);
  const std::size_t per_key =
      kNodeBytes + kBucketBytesPerKey + key_bytes + alloc_size(2 * n * sizeof(Failure)) + n * id_bytes;
  // The buffer holds at most max_buffered_events + 1 events; so many slots at most, each free
  // list as many entries; a vector's capacity is under twice its largest size. A slot's key and
  // id buffers hold at most max_key_bytes and max_event_id_bytes (set_string).
  const std::size_t buffered = s.options.max_buffered_events + 1;
  return sizeof(State) + 64 + s.options.max_live_keys * per_key + alloc_size(2 * buffered * sizeof(Pending)) +
         alloc_size(2 * buffered * sizeof(Slot)) + 2 * alloc_size(2 * buffered * sizeof(std::size_t)) +
         buffered * (key_bytes + id_bytes);
}

std::optional<KeySnapshot> StreakDetector::find_key(const std::vector<std::pair<std::string, std::string>>& key) const {
  auto encoded = state_->impl->encode_key(key);
  if (!encoded) return std::nullopt;
  auto it = state_->keys.find(*encoded);
  if (it == state_->keys.end()) return std::nullopt;
  return state_->snapshot_of(it->second);
}

std::vector<KeySnapshot> StreakDetector::snapshot() const {
  std::vector<KeySnapshot> out;
  out.reserve(state_->keys.size());
  for (const auto& [name, k] : state_->keys) out.push_back(state_->snapshot_of(k));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

// ---- state (run --state) ----------------------------------------------------------------------
//
// {"version":1,"rule":{...what the streaks depend on...},"seq":n,"maxSeen":t,"clock":t,
//  "keys":[{"key":[[ref,value],...],"alarm":bool,"count":n,"first":t,"last":t,"failures":[[t,id],...]}],
//  "pending":[{"t":t,"seq":n,"failure":bool,"key":[[ref,value],...],"id":"..."}],"stats":{...}}
// Keys are saved decoded (the internal encoding is not a file format) and in list order (single
// failure, in progress, ALARM; least recently failed first), which is the eviction and ResetAfter
// order, so a restored detector evicts and resets exactly as the saved one would have.

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_key(Writer& w, const std::vector<std::pair<std::string, std::string>>& key) {
  w.StartArray();
  for (const auto& [ref, value] : key) {
    w.StartArray();
    write_string(w, ref);
    write_string(w, value);
    w.EndArray();
  }
  w.EndArray();
}

// What a key's streak means depends on: a state saved under another rule does not apply.
void write_rule(Writer& w, const StreakRule& rule) {
  const auto& a = rule.alarm();
  w.StartObject();
  w.Key("FailurePattern");
  write_string(w, a.failure_pattern);
  w.Key("SuccessPattern");
  if (a.success_pattern) write_string(w, *a.success_pattern);
  else w.Null();
  w.Key("GroupBy");
  w.StartArray();
  for (const auto& item : rule.impl().group_by) {
    w.StartArray();
    for (const auto& ref : item) write_string(w, ref);
    w.EndArray();
  }
  w.EndArray();
  w.Key("Threshold");
  w.Int(a.threshold);
  w.Key("Window");
  if (a.window_seconds) w.Int64(*a.window_seconds);
  else w.Null();
  w.Key("ResetAfter");
  if (a.reset_after_seconds) w.Int64(*a.reset_after_seconds);
  else w.Null();
  w.EndObject();
}

std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  Writer w(b);
  v.Accept(w);
  return b.GetString();
}

// The counters, by name (a table keeps save and restore in step).
struct StatField {
  const char* name;
  std::uint64_t DetectorStats::*field;
};
constexpr StatField kStatFields[] = {
    {"events", &DetectorStats::events},
    {"failures", &DetectorStats::failures},
    {"successes", &DetectorStats::successes},
    {"ignored", &DetectorStats::ignored},
    {"unresolvedKeys", &DetectorStats::unresolved_keys},
    {"oversizedKeys", &DetectorStats::oversized_keys},
    {"eventsWithoutTimestamp", &DetectorStats::events_without_timestamp},
    {"lateEvents", &DetectorStats::late_events},
    {"forcedReleases", &DetectorStats::forced_releases},
    {"peakBuffered", &DetectorStats::peak_buffered},
    {"peakLiveKeys", &DetectorStats::peak_live_keys},
    {"evictedExpired", &DetectorStats::evicted_expired},
    {"evictedIdle", &DetectorStats::evicted_idle},
    {"evictedIdleInAlarm", &DetectorStats::evicted_idle_in_alarm},
    {"evictedAtCapacity", &DetectorStats::evicted_at_capacity},
    {"evictedWithProgress", &DetectorStats::evicted_with_progress},
    {"evictedInAlarm", &DetectorStats::evicted_in_alarm},
    {"transitionsToAlarm", &DetectorStats::transitions_to_alarm},
    {"transitionsToOk", &DetectorStats::transitions_to_ok},
};

std::optional<std::vector<std::pair<std::string, std::string>>> read_key(const rapidjson::Value& v) {
  if (!v.IsArray()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& part : v.GetArray()) {
    if (!part.IsArray() || part.Size() != 2 || !part[0].IsString() || !part[1].IsString()) return std::nullopt;
    out.emplace_back(std::string(part[0].GetString(), part[0].GetStringLength()),
                     std::string(part[1].GetString(), part[1].GetStringLength()));
  }
  return out;
}

}  // namespace

std::string StreakDetector::save_state() const {
  const State& s = *state_;
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("rule");
  write_rule(w, s.rule);
  w.Key("seq");
  w.Uint64(s.seq);
  if (s.have_time) {
    w.Key("maxSeen");
    w.Int64(s.max_seen);
  }
  if (s.have_clock) {
    w.Key("clock");
    w.Int64(s.clock);
  }
  w.Key("keys");
  w.StartArray();
  for (const List& list : s.lists) {
    for (const KeyState* k = list.head; k; k = k->next) {
      w.StartObject();
      w.Key("key");
      write_key(w, s.impl->decode_key(*k->name));
      w.Key("alarm");
      w.Bool(k->in_alarm);
      w.Key("count");
      w.Int(k->count);
      w.Key("first");
      w.Int64(k->first_failure);
      w.Key("last");
      w.Int64(k->last_failure);
      w.Key("failures");
      w.StartArray();
      for (const auto& f : k->failures) {
        w.StartArray();
        w.Int64(f.t);
        write_string(w, f.id);
        w.EndArray();
      }
      w.EndArray();
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("pending");
  w.StartArray();
  for (const Pending& p : s.heap) {
    const Slot& slot = s.slots[p.slot];
    w.StartObject();
    w.Key("t");
    w.Int64(p.t);
    w.Key("seq");
    w.Uint64(p.seq);
    w.Key("failure");
    w.Bool(p.failure);
    w.Key("key");
    write_key(w, s.impl->decode_key(slot.key));
    w.Key("id");
    write_string(w, slot.id);
    w.EndObject();
  }
  w.EndArray();
  w.Key("stats");
  w.StartObject();
  for (const auto& f : kStatFields) {
    w.Key(f.name);
    w.Uint64(s.stats.*f.field);
  }
  w.EndObject();
  w.EndObject();
  return b.GetString();
}

Result<bool, Error> StreakDetector::restore_state(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("version") || !d["version"].IsInt() ||
      d["version"].GetInt() != 1)
    return Error{"streak state: not a streak detector state (version 1)"};
  auto fresh = std::make_unique<State>(state_->rule, state_->options);
  State& s = *fresh;
  {
    rapidjson::StringBuffer b;
    Writer w(b);
    write_rule(w, s.rule);
    if (!d.HasMember("rule") || json_text(d["rule"]) != b.GetString()) {
      state_ = std::move(fresh);
      hot_ = state_.get();
      return false;
    }
  }
  auto i64 = [](const rapidjson::Value& o, const char* k) -> std::optional<std::int64_t> {
    auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
    return it->value.GetInt64();
  };
  const Error bad{"streak state: malformed"};
  if (auto v = d.FindMember("seq"); v != d.MemberEnd() && v->value.IsUint64()) s.seq = v->value.GetUint64();
  if (auto t = i64(d, "maxSeen")) {
    s.have_time = true;
    s.max_seen = *t;
  }
  if (auto t = i64(d, "clock")) {
    s.have_clock = true;
    s.clock = *t;
  }
  if (auto it = d.FindMember("keys"); it != d.MemberEnd()) {
    if (!it->value.IsArray()) return bad;
    for (const auto& item : it->value.GetArray()) {
      if (!item.IsObject() || !item.HasMember("key") || !item.HasMember("failures") || !item["failures"].IsArray())
        return bad;
      auto key = read_key(item["key"]);
      if (!key) return bad;
      auto encoded = s.impl->encode_key(*key);
      if (!encoded) return bad;  // the rule is the same, so its keys must encode
      auto [pos, inserted] = s.keys.try_emplace(std::move(*encoded));
      if (!inserted) return bad;
      KeyState& k = pos->second;
      k.name = &pos->first;
      k.in_alarm = item.HasMember("alarm") && item["alarm"].IsBool() && item["alarm"].GetBool();
      k.count = item.HasMember("count") && item["count"].IsInt() ? item["count"].GetInt() : 0;
      k.first_failure = i64(item, "first").value_or(0);
      k.last_failure = i64(item, "last").value_or(0);
      for (const auto& f : item["failures"].GetArray()) {
        if (!f.IsArray() || f.Size() != 2 || !f[0].IsInt64() || !f[1].IsString()) return bad;
        k.failures.push_back(Failure{f[0].GetInt64(), std::string(f[1].GetString(), f[1].GetStringLength())});
      }
      // The list follows from the state (see on_failure); saved lists were written in order.
      s.push_back(k, k.in_alarm ? kAlarmList : k.count == 1 ? kSingle : kProgress);
      s.key_heap_bytes += State::footprint(k);
    }
  }
  if (auto it = d.FindMember("pending"); it != d.MemberEnd()) {
    if (!it->value.IsArray()) return bad;
    for (const auto& item : it->value.GetArray()) {
      if (!item.IsObject() || !item.HasMember("key") || !item.HasMember("id") || !item["id"].IsString() ||
          !item.HasMember("seq") || !item["seq"].IsUint64())
        return bad;
      auto key = read_key(item["key"]);
      auto encoded = key ? s.impl->encode_key(*key) : std::nullopt;
      if (!encoded) return bad;
      Slot slot{std::move(*encoded), std::string(item["id"].GetString(), item["id"].GetStringLength())};
      s.pending_heap_bytes += slot_heap(slot);
      s.heap.push_back(Pending{i64(item, "t").value_or(0), item["seq"].GetUint64(), s.slots.size(),
                               item.HasMember("failure") && item["failure"].IsBool() && item["failure"].GetBool()});
      s.slots.push_back(std::move(slot));
    }
    std::make_heap(s.heap.begin(), s.heap.end(), PendingLater{});
  }
  if (auto it = d.FindMember("stats"); it != d.MemberEnd() && it->value.IsObject())
    for (const auto& f : kStatFields)
      if (auto v = it->value.FindMember(f.name); v != it->value.MemberEnd() && v->value.IsUint64())
        s.stats.*f.field = v->value.GetUint64();
  s.stats.live_keys = s.keys.size();
  s.stats.buffered = s.heap.size();
  state_ = std::move(fresh);
  hot_ = state_.get();
  return true;
}

}  // namespace cwfilter::streak
