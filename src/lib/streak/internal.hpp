// Streak alarms: the compiled rule shared by the detector and the notification builder.
#pragma once

#include <cwfilter/streak.hpp>

#include "pattern/json_event.hpp"
#include "pattern/prefilter.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter::streak {

// The streak's gate: literals every event matching the FailurePattern *or* the SuccessPattern
// contains (pattern/prefilter.hpp any_of_prefilters: for the seed, `"ConsoleLogin"` and then
// `"Failed authentication"` or `"Success"`), checked once on the raw bytes. An event the gate
// rejects is ignored without any parse; nearly every event of a CloudTrail stream is.
detail::Prefilter make_gate(const Pattern& failure, const Pattern* success);

struct StreakRule::Impl {
  StreakAlarm alarm;
  std::vector<GroupBySelector> group_by;  // resolved (default applied)
  Pattern failure;
  std::optional<Pattern> success;
  detail::Prefilter gate;  // see make_gate
  std::vector<FieldRef> refs;                                // every alternative, flattened
  std::vector<std::pair<std::size_t, std::size_t>> items;   // per GroupBy item: [begin, end) in refs
  bool has_json_refs = false;
  // Both patterns JSON and every GroupBy reference a $.path: classified from one sparse scan over
  // `trie` (both patterns' selectors and the GroupBy references), confirmed by validation.
  bool sparse_path = false;
  detail::SelectorTrie trie;

  // Hot path: classifies `message`; on failure/success writes the encoded key to `key`.
  // Returns the kind; `status` is 0 ok, 1 unresolved, 2 too long (meaningful for failure/success).
  // `gate_passed`: the caller already ran a prefilter that implies `gate` (the Pipeline's group
  // prefilter when it equals it), so it is not searched again. Skipping it never changes an answer
  // (the gate only rejects events that cannot match); it only saves a second search.
  EventClass::Kind classify_into(std::string_view message, std::size_t max_key_bytes, std::string& key,
                                 int& status, bool gate_passed = false) const;
  // (reference, value) pairs of an encoded key.
  std::vector<std::pair<std::string, std::string>> decode_key(std::string_view encoded) const;
  // Encodes (reference, value) pairs given by a caller; nullopt when they do not fit GroupBy.
  std::optional<std::string> encode_key(const std::vector<std::pair<std::string, std::string>>& key) const;
};

// "userName=alice, sourceIPAddress=1.2.3.4": the last member name of a JSON selector, the name of
// a $name field, "$3" for positions.
std::string describe_key(const std::vector<std::pair<std::string, std::string>>& key);

}  // namespace cwfilter::streak
