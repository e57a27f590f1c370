// The raw-bytes prefilter (issue 8): literals that every matching event must contain, derived from
// the AST, checked on the event's bytes before any parse. It never rejects an event that matches.
//
// Why it is safe:
// - Term and space-delimited patterns compare raw substrings of the event (terms are found in the
//   message; fields are slices of it), so a literal a condition needs is in the raw bytes.
// - JSON patterns compare *decoded* values. Without any backslash in the event, every decoded
//   string is the raw bytes between its quotes, and numbers and true/false/null are their source
//   text, so the literal is again in the raw bytes. With a backslash anywhere (`\u0043onsoleLogin`,
//   `\"`, `\/`) the literal may hide behind an escape: then a missing literal is looked for again
//   in the event with its escapes decoded (where every decoded string V stands as `"V"`), and an
//   escape JSON does not allow (or an unpaired surrogate) never rejects.
//   A value that can only be a string (it is not a number lexeme nor part of true/false/null)
//   is searched with its quotes (`"ConsoleLogin"`, `"AccessDenied` for a prefix, `Operation"` for a
//   suffix), which is far more selective than the bare word.
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::detail {

struct CompiledPattern;

// One alternative of a clause must occur in the event.
struct LiteralClause {
  std::vector<std::string> any_of;
};

struct Prefilter {
  std::vector<LiteralClause> clauses;  // all must hold; empty: every event may match
  bool json = false;                   // a backslash in the event disables rejection

  Prefilter() = default;
  // A copy is prepared again (its needles view its own literals); a move keeps them valid (the
  // literal strings do not move).
  Prefilter(const Prefilter& o);
  Prefilter& operator=(const Prefilter& o);
  Prefilter(Prefilter&&) noexcept = default;
  Prefilter& operator=(Prefilter&&) noexcept = default;

  bool empty() const noexcept { return clauses.empty(); }
  // Builds the search for `clauses` (prefilter_search.cpp); call it again after changing them.
  void prepare();
  // False only when the event certainly does not match. Needs prepare().
  bool may_match(std::string_view message) const noexcept;

  // A literal with its two anchor bytes (the rarest, far apart), compared 16/32 positions at a time.
  struct Needle {
    std::string_view text;  // one of `clauses`' literals
    std::size_t a = 0, b = 0;
  };

 private:
  std::vector<std::vector<Needle>> search_;  // per clause (always-true ones dropped): its needles
  std::vector<bool> plain_search_;  // per search_ entry: no literal a short JSON escape can hide
  bool prepared_ = false;
};

// The literals of a compiled pattern (its AST and family are read; nothing else). Prepared.
Prefilter derive_prefilter(const CompiledPattern& cp);

// The event with every JSON escape replaced by what it stands for, everything else copied: each
// decoded string value V of the event is then in `out` as `"V"`, so a literal missing from `out`
// is missing from every value. False when an escape is not one JSON allows (or a surrogate is
// unpaired): such an event is left to the parser.
bool decode_json_escapes(std::string_view in, std::string& out);

// True when the short escapes (\" \\ \/ \b \f \n \r \t) cannot produce any byte of the literal
// between its delimiting quotes: then, in an event without \u escapes, the literal's raw bytes are
// the only way a decoded value can hold it (its raw absence is final).
bool plain_literal(std::string_view lit);

// A prefilter for "at least one of these patterns matches" (one search for several consumers of
// the same events): the clauses every one of them requires and, when each has a clause of its own,
// one more clause "a literal of the first own clause of any of them" ((a && x) || (a && y) implies
// a && (x || y)). Empty (every event may match) when one of them is empty or the list is. Prepared.
Prefilter any_of_prefilters(const std::vector<const Prefilter*>& prefilters);

// The same search (same clauses, literals in the same order, same escape rule): may_match gives
// the same answer for every event.
inline bool same_search(const Prefilter& a, const Prefilter& b) noexcept {
  if (a.json != b.json || a.clauses.size() != b.clauses.size()) return false;
  for (std::size_t i = 0; i < a.clauses.size(); ++i)
    if (a.clauses[i].any_of != b.clauses[i].any_of) return false;
  return true;
}

// Fast substring test: memchr for one byte; memchr of the first byte and a compare
// (std::string_view::find, no set-up) for short texts (log lines) and for needles whose first
// byte is rare in logs (capitals, digits, punctuation); otherwise glibc's memmem, whose skip
// table pays off on long texts where the first byte is common ('"', ' ', lowercase).
inline bool contains(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  if (needle.size() == 1) return std::memchr(haystack.data(), needle[0], haystack.size()) != nullptr;
  const char first = needle[0];
  const bool common_first = first == '"' || first == ' ' || (first >= 'a' && first <= 'z');
  if (haystack.size() < 512 || !common_first) return haystack.find(needle) != std::string_view::npos;
  return ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

}  // namespace cwfilter::detail
