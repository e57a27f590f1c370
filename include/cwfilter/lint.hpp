// Warnings for filter patterns that are valid but almost certainly not what was meant, and the
// condition-by-condition explanation behind `cwfilter explain`.
#pragma once

#include <cwfilter/pattern.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::lint {

struct Warning {
  std::string rule;     // "mixed-and-or", "term-looks-structured", "cis-console-login-never-matches",
                        // "quoted-number-relational"
  std::string message;
  std::size_t offset = 0;  // byte offset in the pattern as given
};

// Pattern-only warnings (the alarm/metric cross-checks live in iac.hpp).
std::vector<Warning> check_pattern(const Pattern& pattern);

// The parsed pattern as an indented, readable tree (one node per line).
std::string explain_tree(const ast::Pattern& pattern);

// For one log event: the outcome and the conditions that decided it, one per line; a JSON selector
// that finds nothing gets the nearest key path of the event as a suggestion.
struct Explanation {
  bool matched = false;
  std::string text;
};
Explanation explain_event(const Pattern& pattern, std::string_view message);

// Key paths of a JSON event ("$.a", "$.a.b", "$.list[0]") nearest to `selector`: the same path
// but for case; else the same path but for a wrapping prefix (`$.errorMessage` when the event has
// `$.detail.errorMessage`, or the reverse; fewest extra segments first); else a path with as many
// segments, each equal or a typo away (keys of 1-2 characters must be equal, 3-5 characters may
// be 1 edit away, longer ones max(2, length/4); a transposition is one edit; indexes must be equal).
// Empty when none is close or the event is not JSON.
std::vector<std::string> suggest_paths(std::string_view selector_text, std::string_view message);

}  // namespace cwfilter::lint
