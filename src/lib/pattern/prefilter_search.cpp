// The prefilter's substring search: two "anchor" bytes of each literal (its rarest, as far apart
// as possible) compared 16 or 32 positions at a time, candidates verified with memcmp; the same
// pass notes whether the event holds a backslash (then a JSON prefilter must not reject). A
// CloudTrail event that lacks `"ConsoleLogin"` is rejected in one pass over its bytes, where
// memmem for the literal plus memchr for the backslash took two (and ~3x the time).
#include "pattern/byte_scan.hpp"
#include "pattern/prefilter.hpp"

#include "common/json_escape.hpp"
#include "common/utf8.hpp"


#include <algorithm>
#include <cassert>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CWFILTER_PREFILTER_X86 1
#endif

namespace cwfilter::detail {
namespace {

// How common a byte is in JSON / text logs: quotes, separators, spaces, lowercase letters and
// digits are everywhere; capitals and most punctuation are rarer.
constexpr int commonness_of(unsigned char c) {
  if (c == '"' || c == ':' || c == ',' || c == ' ' || c == '{' || c == '}' || (c >= 'a' && c <= 'z')) return 3;
  if ((c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '/') return 2;
  return 1;
}
struct CommonnessTable {
  unsigned char v[256];
  constexpr CommonnessTable() : v() {
    for (int c = 0; c < 256; ++c) v[c] = static_cast<unsigned char>(commonness_of(static_cast<unsigned char>(c)));
  }
};
constexpr CommonnessTable kCommonness;  // a table: compiling a 20-literal pattern reads ~1,000 bytes
int commonness(unsigned char c) { return kCommonness.v[c]; }

// Searches `needle` in `hay` from the anchors; adds to *backslash whether hay has a '\\' (only
// where it has looked, which is everything when the needle is absent).
#if CWFILTER_PREFILTER_X86
__attribute__((target("avx2"))) bool find_avx2(std::string_view hay, const Prefilter::Needle& nd, bool& backslash) {
  const std::size_t m = nd.text.size(), n = hay.size();
  const char* p = hay.data();
  const __m256i va = _mm256_set1_epi8(nd.text[nd.a]), vb = _mm256_set1_epi8(nd.text[nd.b]);
  const __m256i bs = _mm256_set1_epi8('\\');
  __m256i seen = _mm256_setzero_si256();
  std::size_t i = 0;
  // Positions i .. i+31 are candidate starts; bytes [i, i+32) are scanned for backslashes.
  for (; i + m + 32 <= n + 1 && i + 32 <= n; i += 32) {
    const __m256i block = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    seen = _mm256_or_si256(seen, _mm256_cmpeq_epi8(block, bs));
    const __m256i ca = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + nd.a)), va);
    const __m256i cb = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + nd.b)), vb);
    auto bits = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_and_si256(ca, cb)));
    while (bits) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(bits));
      if (std::memcmp(p + at, nd.text.data(), m) == 0) return true;
      bits &= bits - 1;
    }
  }
  if (!_mm256_testz_si256(seen, seen)) backslash = true;
  // The rest: positions from i, and the backslash check of bytes [i, n).
  if (!backslash && std::memchr(p + i, '\\', n - i)) backslash = true;
  for (; i + m <= n; ++i)
    if (p[i + nd.a] == nd.text[nd.a] && p[i + nd.b] == nd.text[nd.b] && std::memcmp(p + i, nd.text.data(), m) == 0)
      return true;
  return false;
}

bool find_sse2(std::string_view hay, const Prefilter::Needle& nd, bool& backslash) {
  const std::size_t m = nd.text.size(), n = hay.size();
  const char* p = hay.data();
  const __m128i va = _mm_set1_epi8(nd.text[nd.a]), vb = _mm_set1_epi8(nd.text[nd.b]);
  const __m128i bs = _mm_set1_epi8('\\');
  __m128i seen = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + m + 16 <= n + 1 && i + 16 <= n; i += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    seen = _mm_or_si128(seen, _mm_cmpeq_epi8(block, bs));
    const __m128i ca = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + nd.a)), va);
    const __m128i cb = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + nd.b)), vb);
    auto bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(ca, cb)));
    while (bits) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(bits));
      if (std::memcmp(p + at, nd.text.data(), m) == 0) return true;
      bits &= bits - 1;
    }
  }
  if (_mm_movemask_epi8(seen)) backslash = true;
  if (!backslash && std::memchr(p + i, '\\', n - i)) backslash = true;
  for (; i + m <= n; ++i)
    if (p[i + nd.a] == nd.text[nd.a] && p[i + nd.b] == nd.text[nd.b] && std::memcmp(p + i, nd.text.data(), m) == 0)
      return true;
  return false;
}

const bool kHaveAvx2 = __builtin_cpu_supports("avx2");
#endif

bool find(std::string_view hay, const Prefilter::Needle& nd, bool& backslash) {
  if (nd.text.size() > hay.size()) {
    if (!backslash && std::memchr(hay.data(), '\\', hay.size())) backslash = true;
    return false;
  }
#if CWFILTER_PREFILTER_X86
  return kHaveAvx2 ? find_avx2(hay, nd, backslash) : find_sse2(hay, nd, backslash);
#else
  if (hay.find(nd.text) != std::string_view::npos) return true;
  if (!backslash && std::memchr(hay.data(), '\\', hay.size())) backslash = true;
  return false;
#endif
}

}  // namespace

bool decode_json_escapes(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const void* hit = std::memchr(in.data() + i, '\\', in.size() - i);
    const std::size_t bs = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - in.data()) : in.size();
    out.append(in.data() + i, bs - i);
    if (bs == in.size()) break;
    if (bs + 1 >= in.size()) return false;
    const char c = in[bs + 1];
    i = bs + 2;
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp = 0;
        std::size_t consumed = 0;
        if (read_u_escape(in, i, cp, consumed) != UEscape::kOk) return false;
        i += consumed;
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

bool plain_literal(std::string_view lit) {
  if (!lit.empty() && lit.front() == '"') lit.remove_prefix(1);
  if (!lit.empty() && lit.back() == '"') lit.remove_suffix(1);
  for (char c : lit)
    if (c == '"' || c == '\\' || c == '/' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

namespace {

// A JSON event with escapes, which the raw search could not reject: the clauses again over the
// decoded text (rare: CloudTrail events with escaped policy documents, ~3%).

bool may_match_decoded(std::string_view message, const std::vector<LiteralClause>& clauses,
                       bool missing_is_plain) noexcept {
  try {
    // Most escapes in logs are \" and \\ (escaped JSON documents): when the missing clause's
    // literals cannot hide behind those, the event is rejected without decoding it.
    if (missing_is_plain && !byte_scan::has_backslash_u(message.data(), message.data() + message.size()))
      return false;
    thread_local std::string decoded;
    if (!decode_json_escapes(message, decoded)) return true;
    const std::string_view text(decoded);
    for (const auto& clause : clauses) {
      bool found = false;
      for (const auto& lit : clause.any_of)
        if (text.find(lit) != std::string_view::npos) {
          found = true;
          break;
        }
      if (!found) return false;
    }
    return true;
  } catch (...) {
    return true;  // out of memory: never reject what may match
  }
}

}  // namespace

void Prefilter::prepare() {
  search_.clear();
  plain_search_.clear();
  search_.reserve(clauses.size());
  for (std::size_t ci = 0; ci < clauses.size(); ++ci) {
    const auto& clause = clauses[ci];
    std::vector<Needle> any_of;
    any_of.reserve(clause.any_of.size());
    for (const auto& lit : clause.any_of) {
      if (lit.empty()) {  // an empty literal is in every event: the clause always holds
        any_of.clear();
        break;
      }
      Needle nd{lit, 0, 0};
      // Anchors: the rarest byte (its first occurrence), then the rarest of the others, farthest
      // from it. One pass records each commonness level's first and last position.
      std::size_t first[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX}, last[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
      for (std::size_t k = 0; k < lit.size(); ++k) {
        const int c = commonness(static_cast<unsigned char>(lit[k]));
        if (first[c] == SIZE_MAX) first[c] = k;
        last[c] = k;
      }
      int best = 1;
      while (first[best] == SIZE_MAX) ++best;
      nd.a = first[best];
      nd.b = nd.a;  // until another position is found (a 1-byte literal has none)
      // The second anchor: of the rarest level with a position other than a, the one farthest
      // from a (a level's farthest position is its first or its last; ties keep the earlier).
      for (int c = best; c <= 3 && nd.b == nd.a; ++c)
        for (const std::size_t k : {first[c], last[c]}) {
          if (k == SIZE_MAX || k == nd.a) continue;
          const auto dist = [&](std::size_t x) { return x > nd.a ? x - nd.a : nd.a - x; };
          if (nd.b == nd.a || dist(k) > dist(nd.b)) nd.b = k;
        }
      any_of.push_back(nd);
    }
    if (!any_of.empty()) {
      search_.push_back(std::move(any_of));
      plain_search_.push_back(
          std::all_of(clause.any_of.begin(), clause.any_of.end(), [](const std::string& l) { return plain_literal(l); }));
    }
  }
  prepared_ = true;
}

Prefilter::Prefilter(const Prefilter& o) : clauses(o.clauses), json(o.json) {
  if (o.prepared_) prepare();  // the needles view this object's own literals
}

Prefilter& Prefilter::operator=(const Prefilter& o) {
  if (this != &o) {
    clauses = o.clauses;
    json = o.json;
    search_.clear();
    prepared_ = false;
    if (o.prepared_) prepare();
  }
  return *this;
}

bool Prefilter::may_match(std::string_view message) const noexcept {
  assert(prepared_ || clauses.empty());
  bool backslash = false;
  for (std::size_t k = 0; k < search_.size(); ++k) {
    bool found = false;
    for (const auto& nd : search_[k])
      if (find(message, nd, backslash)) {
        found = true;
        break;
      }
    // Missing: certain for an event without escapes (pattern/prefilter.hpp); with escapes, the
    // literals are looked for in the decoded text.
    if (!found) return json && backslash && may_match_decoded(message, clauses, plain_search_[k]);
  }
  return true;
}

}  // namespace cwfilter::detail
