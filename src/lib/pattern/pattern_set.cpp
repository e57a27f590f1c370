// PatternSet: the shared pass over an event for several patterns (include/cwfilter/pattern_set.hpp).
#include <cwfilter/pattern_set.hpp>

#include "pattern/compiled.hpp"
#include "pattern/json_event.hpp"
#include "pattern/byte_scan.hpp"
#include "pattern/prefilter.hpp"
#include "pattern/tokenizer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CWFILTER_TEDDY 1
#endif

namespace cwfilter {
namespace detail {

namespace {

// Finds which of many literals occur in a text in one pass. With SSSE3 (Teddy, as in Hyperscan):
// the literals go into 8 buckets, and for each of their first 4 bytes two 16-entry tables map the
// byte's low and high nibble to the buckets holding that byte there; 16 positions at a time, the
// AND of those lookups leaves the buckets a literal of which may start at each position (no false
// negatives); only those positions go on to the exact check below. JSON literals nearly all start with '"', the
// commonest byte of JSON, so looking at 4 bytes rather than the first one matters. Without SSSE3:
// candidate positions are those whose byte is one of the literals' first bytes (SSE2), where the
// next 4 bytes are hashed into a small bitmap of the literals' first 4 bytes. Literals shorter
// than 4 bytes are searched one by one.
class MultiLiteral {
 public:
  static constexpr unsigned kBits = 12;

  explicit MultiLiteral(const std::vector<std::string>& literals) : literals_(literals) {
    build_teddy();
    std::vector<std::vector<std::uint32_t>> buckets(1u << kBits);
    for (std::uint32_t id = 0; id < literals.size(); ++id) {
      const std::string& lit = literals[id];
      if (lit.size() < 4) {
        short_.push_back(id);
        continue;
      }
      std::uint32_t key;
      std::memcpy(&key, lit.data(), 4);
      std::uint32_t h = hash(key);
      bitmap_[h >> 6] |= std::uint64_t{1} << (h & 63);
      buckets[h].push_back(id);
      const auto first = static_cast<unsigned char>(lit[0]);
      if (!is_first_[first]) {
        is_first_[first] = true;
        firsts_.push_back(static_cast<char>(first));
      }
    }
    offsets_.push_back(0);
    for (const auto& b : buckets) {
      for (auto id : b) {
        std::uint32_t key;
        std::memcpy(&key, literals[id].data(), 4);
        entries_.push_back({key, id});
      }
      offsets_.push_back(static_cast<std::uint32_t>(entries_.size()));
    }
  }

  // found[id] = 1 for every literal that occurs in `text` (found must hold size() zeros); the
  // ids set go to *ids when given. Returns whether `text` holds a backslash (looked for in the
  // same pass: the prefilters' escape rule needs it for nearly every event).
  bool scan(std::string_view text, std::uint8_t* found, std::vector<std::uint32_t>* ids) const {
    Found f{found, ids};
    for (auto id : short_)
      if (contains(text, literals_[id])) f.set(id);
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    auto backslash_from = [&](std::size_t at) { return at < n && std::memchr(p + at, '\\', n - at) != nullptr; };
    if (entries_.empty() || text.size() < 4) return backslash_from(0);
    std::size_t i = 0;
#if CWFILTER_TEDDY
    if (have_ssse3_) {
      bool backslash = false;
      i = have_avx2_ ? scan_teddy_avx2(p, n, f, backslash) : scan_teddy(p, n, f, backslash);
      backslash = backslash || backslash_from(i);
      for (; i + 4 <= n; ++i)
        if (is_first_[p[i]]) check(p, n, i, f);
      return backslash;
    }
#endif
#if defined(__SSE2__)
    if (firsts_.size() <= kMaxFirstBytes) {
      __m128i want[kMaxFirstBytes];
      for (std::size_t k = 0; k < firsts_.size(); ++k) want[k] = _mm_set1_epi8(firsts_[k]);
      for (; i + 16 <= n - 3; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        __m128i m = _mm_cmpeq_epi8(v, want[0]);
        for (std::size_t k = 1; k < firsts_.size(); ++k) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, want[k]));
        auto bits = static_cast<unsigned>(_mm_movemask_epi8(m));
        while (bits) {
          check(p, n, i + static_cast<std::size_t>(__builtin_ctz(bits)), f);
          bits &= bits - 1;
        }
      }
    }
#endif
    for (; i + 4 <= n; ++i)
      if (is_first_[p[i]]) check(p, n, i, f);
    return backslash_from(0);
  }

 private:
  // Where scan() records a literal it found (each id once).
  struct Found {
    std::uint8_t* flags;
    std::vector<std::uint32_t>* ids;
    void set(std::uint32_t id) const {
      if (flags[id]) return;
      flags[id] = 1;
      if (ids) ids->push_back(id);
    }
  };
  static constexpr std::size_t kMaxFirstBytes = 4;
  static constexpr std::size_t kTeddyBytes = 4;  // literal bytes looked at per position

  void build_teddy() {
#if CWFILTER_TEDDY
    have_ssse3_ = __builtin_cpu_supports("ssse3");
    have_avx2_ = have_ssse3_ && __builtin_cpu_supports("avx2");
    // Literals sorted by their first bytes, cut into 8 runs: a bucket's literals look alike, so
    // its nibble tables admit few other byte strings.
    std::vector<std::uint32_t> ids;
    for (std::uint32_t id = 0; id < literals_.size(); ++id)
      if (literals_[id].size() >= kTeddyBytes) ids.push_back(id);
    std::sort(ids.begin(), ids.end(), [&](std::uint32_t a, std::uint32_t b) {
      return literals_[a].compare(0, kTeddyBytes, literals_[b], 0, kTeddyBytes) < 0;
    });
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const std::size_t b = k * 8 / std::max<std::size_t>(ids.size(), 1);
      const std::string& lit = literals_[ids[k]];
      for (std::size_t j = 0; j < kTeddyBytes; ++j) {
        const auto c = static_cast<unsigned char>(lit[j]);
        lo_[j][c & 15] |= static_cast<std::uint8_t>(1u << b);
        hi_[j][c >> 4] |= static_cast<std::uint8_t>(1u << b);
      }
    }
#endif
  }

#if CWFILTER_TEDDY
  // Positions [0, returned) are done; the caller checks the rest one by one. The bucket bits only
  // filter positions: a candidate is settled by check().
  // Bytes [0, returned) were also looked at for a backslash (*backslash set when one is there).
  __attribute__((target("ssse3"))) std::size_t scan_teddy(const unsigned char* p, std::size_t n, const Found& found,
                                                          bool& backslash) const {
    __m128i lo[kTeddyBytes], hi[kTeddyBytes];
    for (std::size_t j = 0; j < kTeddyBytes; ++j) {
      lo[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo_[j]));
      hi[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi_[j]));
    }
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i bs = _mm_set1_epi8('\\');
    __m128i seen = _mm_setzero_si128();
    std::size_t i = 0;
    // Bytes p[i + j .. i + j + 16) for j < kTeddyBytes must be in the text.
    for (; i + 16 + kTeddyBytes - 1 <= n; i += 16) {
      __m128i m = _mm_set1_epi8(static_cast<char>(0xFF));
      for (std::size_t j = 0; j < kTeddyBytes; ++j) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + j));
        if (j == 0) seen = _mm_or_si128(seen, _mm_cmpeq_epi8(v, bs));
        const __m128i l = _mm_shuffle_epi8(lo[j], _mm_and_si128(v, nib));
        const __m128i h = _mm_shuffle_epi8(hi[j], _mm_and_si128(_mm_srli_epi16(v, 4), nib));
        m = _mm_and_si128(m, _mm_and_si128(l, h));
      }
      auto bits = static_cast<unsigned>(~_mm_movemask_epi8(_mm_cmpeq_epi8(m, _mm_setzero_si128()))) & 0xFFFFu;
      // Candidates: the exact 4-byte hash of check() settles them (few literals per hash).
      while (bits) {
        check(p, n, i + static_cast<std::size_t>(__builtin_ctz(bits)), found);
        bits &= bits - 1;
      }
    }
    if (_mm_movemask_epi8(seen)) backslash = true;
    return i;
  }
#endif
#if CWFILTER_TEDDY
  // The same over 32 positions per step (the nibble tables in both 128-bit lanes: AVX2's
  // byte shuffle works within each lane).
  __attribute__((target("avx2"))) std::size_t scan_teddy_avx2(const unsigned char* p, std::size_t n,
                                                              const Found& found, bool& backslash) const {
    __m256i lo[kTeddyBytes], hi[kTeddyBytes];
    for (std::size_t j = 0; j < kTeddyBytes; ++j) {
      lo[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo_[j])));
      hi[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(hi_[j])));
    }
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i bs = _mm256_set1_epi8('\\');
    __m256i seen = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 + kTeddyBytes - 1 <= n; i += 32) {
      __m256i m = _mm256_set1_epi8(static_cast<char>(0xFF));
      for (std::size_t j = 0; j < kTeddyBytes; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + j));
        if (j == 0) seen = _mm256_or_si256(seen, _mm256_cmpeq_epi8(v, bs));
        const __m256i l = _mm256_shuffle_epi8(lo[j], _mm256_and_si256(v, nib));
        const __m256i h = _mm256_shuffle_epi8(hi[j], _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
        m = _mm256_and_si256(m, _mm256_and_si256(l, h));
      }
      auto bits = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256())));
      while (bits) {
        check(p, n, i + static_cast<std::size_t>(__builtin_ctz(bits)), found);
        bits &= bits - 1;
      }
    }
    if (!_mm256_testz_si256(seen, seen)) backslash = true;
    // The last < 32 + 3 bytes: 16 at a time, then the caller's loop.
    return i + scan_teddy(p + i, n - i, found, backslash);
  }
#endif
  bool have_ssse3_ = false;
  bool have_avx2_ = false;
  alignas(16) std::uint8_t lo_[kTeddyBytes][16] = {};
  alignas(16) std::uint8_t hi_[kTeddyBytes][16] = {};

  static std::uint32_t hash(std::uint32_t x) { return (x * 2654435761u) >> (32 - kBits); }

  // Position i (with i + 4 <= n) against the literals whose first 4 bytes hash like p[i..i+4).
  void check(const unsigned char* p, std::size_t n, std::size_t i, const Found& found) const {
    std::uint32_t x;
    std::memcpy(&x, p + i, 4);
    const std::uint32_t h = hash(x);
    if (!((bitmap_[h >> 6] >> (h & 63)) & 1)) return;
    for (std::uint32_t e = offsets_[h]; e < offsets_[h + 1]; ++e) {
      if (entries_[e].key != x) continue;
      const std::string& lit = literals_[entries_[e].id];
      if (lit.size() > n - i) continue;
      std::size_t k = 4;
      while (k < lit.size() && p[i + k] == static_cast<unsigned char>(lit[k])) ++k;
      if (k == lit.size()) found.set(entries_[e].id);
    }
  }
  struct Entry {
    std::uint32_t key;
    std::uint32_t id;
  };
  std::vector<std::string> literals_;
  std::uint64_t bitmap_[(1u << kBits) / 64] = {};
  std::vector<std::uint32_t> offsets_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> short_;
  bool is_first_[256] = {};
  std::vector<char> firsts_;
};

}  // namespace

struct PatternSetImpl {
  std::vector<Pattern> patterns;
  // Every literal of every pattern's prefilter: the shared scan finds them all at once.
  std::vector<std::string> literals;
  std::vector<std::vector<std::vector<std::uint32_t>>> clauses;  // per pattern, as literal ids
  std::vector<std::uint8_t> literal_plain;  // per literal: plain_literal()
  // The clauses of all patterns numbered as bits: a literal found sets the bits of the clauses it
  // satisfies (`literal_bits`, `words` 64-bit words per literal), and a pattern's prefilter holds
  // when every bit of its mask is set. Per event that is a few ORs and one compare per pattern,
  // instead of walking every clause's literal list. A pattern's clauses never straddle a word;
  // one with more than 64 clauses has several words (`wide`).
  std::size_t words = 0;
  std::vector<std::uint64_t> literal_bits;
  struct Need {
    std::uint32_t word;
    std::uint64_t mask;
  };
  // What the per-event loop reads of each pattern, in one flat array (no pointer chase per pattern).
  struct Info {
    Family family = Family::kMatchAll;
    std::size_t max_event_bytes = 0;
    bool prefiltered = false;  // has clauses in the shared scan
    bool json_escapes = false;  // its prefilter must not reject an event with a backslash outright
    Need need{0, 0};              // its clauses' bits, when they fit in one word
    std::vector<Need> wide_need;  // instead, for a pattern with more than 64 clauses
  };
  std::vector<Info> info;
  // The patterns without clauses, ascending: the only candidates of an event in which the shared
  // scan finds no literal and no backslash (most events), so the loop skips the others unseen.
  std::vector<std::size_t> unfiltered;
  std::size_t max_prefiltered_bytes = 0;  // the largest max_event_bytes of a pattern with clauses
  std::unique_ptr<MultiLiteral> scanner;
  SelectorTrie trie;  // the union of every JSON pattern's selectors
  bool any_json = false;

  explicit PatternSetImpl(std::vector<Pattern> ps) : patterns(std::move(ps)) {
    for (const auto& p : patterns) {
      const CompiledPattern& cp = p.impl();
      std::vector<std::vector<std::uint32_t>> mine;
      // Term patterns evaluate by substring search anyway; their literals would only add work.
      if (cp.family == Family::kJson || cp.family == Family::kSpaceDelimited)
        for (const auto& clause : cp.prefilter.clauses) {
          std::vector<std::uint32_t> ids;
          for (const auto& lit : clause.any_of) ids.push_back(literal_id(lit));
          mine.push_back(std::move(ids));
        }
      clauses.push_back(std::move(mine));
      if (cp.family == Family::kJson) {
        any_json = true;
        add_selectors(cp.json, trie);
      }
    }
    // Bit numbers: a pattern with <= 64 clauses starts a new word rather than straddle one.
    std::vector<std::size_t> first_bit;
    std::size_t bit = 0;
    for (const auto& mine : clauses) {
      if (mine.size() <= 64 && bit % 64 + mine.size() > 64) bit = (bit / 64 + 1) * 64;
      first_bit.push_back(bit);
      bit += mine.size();
    }
    words = (bit + 63) / 64;
    literal_bits.assign(literals.size() * words, 0);
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      const CompiledPattern& cp = patterns[i].impl();
      Info in;
      in.family = cp.family;
      in.max_event_bytes = cp.options.max_event_bytes;
      in.prefiltered = !clauses[i].empty();
      in.json_escapes = cp.prefilter.json;
      const bool wide = clauses[i].size() > 64;
      std::size_t b = first_bit[i];
      for (const auto& clause : clauses[i]) {
        const auto word = static_cast<std::uint32_t>(b / 64);
        const std::uint64_t mask = std::uint64_t{1} << (b % 64);
        if (wide) {
          if (in.wide_need.empty() || in.wide_need.back().word != word) in.wide_need.push_back({word, 0});
          in.wide_need.back().mask |= mask;
        } else {
          in.need.word = word;
          in.need.mask |= mask;
        }
        for (auto id : clause) literal_bits[id * words + word] |= mask;
        ++b;
      }
      if (in.prefiltered) max_prefiltered_bytes = std::max(max_prefiltered_bytes, in.max_event_bytes);
      else unfiltered.push_back(i);
      info.push_back(std::move(in));
    }
    scanner = std::make_unique<MultiLiteral>(literals);
  }

  std::uint32_t literal_id(const std::string& lit) {
    for (std::uint32_t i = 0; i < literals.size(); ++i)
      if (literals[i] == lit) return i;
    literals.push_back(lit);
    literal_plain.push_back(plain_literal(lit) ? 1 : 0);
    return static_cast<std::uint32_t>(literals.size() - 1);
  }
};

}  // namespace detail

PatternSet::PatternSet(std::vector<Pattern> patterns)
    : impl_(std::make_shared<detail::PatternSetImpl>(std::move(patterns))) {}

std::size_t PatternSet::size() const noexcept { return impl_->patterns.size(); }

const Pattern& PatternSet::pattern(std::size_t i) const { return impl_->patterns.at(i); }

std::vector<std::size_t> PatternSet::matching(std::string_view message) const {
  std::vector<std::size_t> out;
  matching(message, out);
  return out;
}

void PatternSet::matching(std::string_view message, std::vector<std::size_t>& out) const {
  using detail::JsonEvent;
  const detail::PatternSetImpl& s = *impl_;
  out.clear();
  struct Scratch {
    // `found` is all zeros between events but for the ids in `found_ids` (reset lazily).
    std::vector<std::uint8_t> found, found_decoded;
    std::vector<std::uint32_t> found_ids;
    std::vector<std::uint64_t> have;  // clause bits satisfied in the raw event
    std::string decoded;
    JsonEvent sparse, full;
    std::vector<detail::Token> tokens;
  };
  thread_local Scratch t;

  // Each shared step runs at most once, and only when a pattern needs it.
  bool backslash = false;
  int has_u = -1;  // the event holds "\u"
  int decoded = -1;  // -1: not tried; 0: the escapes could not be decoded; 1: t.decoded holds them
  bool scanned_json = false;
  JsonEvent::ScanResult scan = JsonEvent::ScanResult::kUnsure;
  std::size_t parsed_depth = SIZE_MAX, validated_depth = SIZE_MAX;
  bool parsed_ok = false, validated_ok = false;
  bool tokenized = false;

  // The pattern's clauses over the raw event (the shared scan has run).
  auto raw_pass = [&](const detail::PatternSetImpl::Info& in) {
    if (in.wide_need.empty()) return (t.have[in.need.word] & in.need.mask) == in.need.mask;
    for (const auto& n : in.wide_need)
      if ((t.have[n.word] & n.mask) != n.mask) return false;
    return true;
  };
  // A JSON pattern whose literals are not all in the raw bytes of an event with a backslash: they
  // may hide behind escapes.
  auto escaped_pass = [&](std::size_t i) {
    const auto& clauses = s.clauses[i];
    // Most escapes are \" and \\ (escaped JSON documents): a missing clause whose literals no short
    // escape can hide stays missing in an event without \u, with no decoding (as Prefilter does).
    if (has_u < 0) has_u = detail::byte_scan::has_backslash_u(message.data(), message.data() + message.size());
    if (has_u == 0)
      for (const auto& clause : clauses) {
        bool any = false, plain = true;
        for (auto id : clause) {
          any = any || t.found[id];
          plain = plain && s.literal_plain[id];
        }
        if (!any && plain) return false;
      }
    // A JSON pattern's literal may hide behind an escape: its clauses again over the decoded event
    // (decoded and scanned once per event; an escape JSON lacks never rejects).
    if (decoded < 0) {
      decoded = detail::decode_json_escapes(message, t.decoded) ? 1 : 0;
      if (decoded == 1) {
        t.found_decoded.assign(s.literals.size(), 0);
        (void)s.scanner->scan(t.decoded, t.found_decoded.data(), nullptr);
      }
    }
    if (decoded == 0) return true;
    for (const auto& clause : clauses) {
      bool any = false;
      for (auto id : clause) any = any || t.found_decoded[id];
      if (!any) return false;
    }
    return true;
  };
  auto full_parse = [&](std::size_t depth) {
    if (parsed_depth != depth) {
      parsed_ok = t.full.parse(message, depth);
      parsed_depth = depth;
    }
    return parsed_ok;
  };
  auto valid = [&](std::size_t depth) {
    if (validated_depth != depth) {
      validated_ok = t.full.validate(message, depth);
      validated_depth = depth;
      parsed_depth = SIZE_MAX;  // validate() leaves no nodes
    }
    return validated_ok;
  };

  // The shared scan first, whenever some pattern with clauses takes an event this size (so it has
  // run for every pattern the loop below prefilters): when it finds nothing (no literal, no
  // backslash) no pattern with clauses can match, and only the others are visited.
  const bool scan_first = s.unfiltered.size() < s.patterns.size() && message.size() <= s.max_prefiltered_bytes;
  if (scan_first) {
    if (t.found.size() != s.literals.size()) {
      t.found.assign(s.literals.size(), 0);
    } else {
      for (auto id : t.found_ids) t.found[id] = 0;
    }
    t.found_ids.clear();
    t.found_ids.reserve(s.literals.size());  // scan() must not throw halfway (the zeros invariant)
    backslash = s.scanner->scan(message, t.found.data(), &t.found_ids);
    t.have.assign(s.words, 0);
    for (auto id : t.found_ids)
      for (std::size_t w = 0; w < s.words; ++w) t.have[w] |= s.literal_bits[id * s.words + w];
  }
  const bool nothing_found = scan_first && t.found_ids.empty() && !backslash;
  const std::size_t candidates = nothing_found ? s.unfiltered.size() : s.patterns.size();
  for (std::size_t c = 0; c < candidates; ++c) {
    const std::size_t i = nothing_found ? s.unfiltered[c] : c;
    const auto& in = s.info[i];
    if (message.size() > in.max_event_bytes) continue;
    if (in.prefiltered && !raw_pass(in) && !(in.json_escapes && backslash && escaped_pass(i))) continue;
    const detail::CompiledPattern& cp = s.patterns[i].impl();
    bool match = false;
    switch (in.family) {
      case Family::kMatchAll: match = true; break;
      case Family::kTerm: match = detail::eval_terms(cp, message); break;
      case Family::kRegex: match = RE2::PartialMatch(message, *cp.regex); break;
      case Family::kSpaceDelimited:
        if (!tokenized) {
          detail::tokenize(message, t.tokens);
          tokenized = true;
        }
        match = detail::eval_space(cp, message, t.tokens);
        break;
      case Family::kJson: {
        if (!scanned_json) {
          scan = t.sparse.scan_selected(message, s.trie);
          scanned_json = true;
        }
        if (scan == JsonEvent::ScanResult::kNotObject) break;
        // The sparse read settles "no match"; a match is confirmed by the full parse, which also
        // checks that the whole event is valid JSON within this pattern's depth limit.
        if (scan == JsonEvent::ScanResult::kScanned) {
          match = detail::eval_json(cp.json, t.sparse) &&
                  (t.sparse.scanned_valid(cp.options.max_json_depth) || valid(cp.options.max_json_depth));
          break;
        }
        match = full_parse(cp.options.max_json_depth) && detail::eval_json(cp.json, t.full);
        break;
      }
    }
    if (match) out.push_back(i);
  }
}

}  // namespace cwfilter
