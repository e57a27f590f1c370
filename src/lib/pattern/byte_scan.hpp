// Finding the next byte of a class 16 bytes at a time (SSE2, part of every x86-64 CPU; a plain
// loop elsewhere). JSON strings are most of an event's bytes, and the sparse scan and the
// validator used to walk them one byte at a time (or one memchr call per string, whose set-up
// dominates for the short strings of CloudTrail).
#pragma once

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cwfilter::detail::byte_scan {

#if defined(__SSE2__)
inline unsigned lowest_bit(unsigned m) noexcept { return static_cast<unsigned>(__builtin_ctz(m)); }
#endif

// The first '"' or '\\' in [p, end), or end.
inline const char* quote_or_backslash(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
    if (m) return p + lowest_bit(m);
  }
#endif
  for (; p < end; ++p)
    if (*p == '"' || *p == '\\') return p;
  return end;
}

// The first byte of a JSON string body that ends the plain run: '"', '\\', a control byte (< 0x20)
// or a non-ASCII byte (>= 0x80), or end.
inline const char* string_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" covers both control and non-ASCII.
    const __m128i special =
        _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (m) return p + lowest_bit(m);
  }
#endif
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
}

// The first of '"', '{', '}', '[', ']' in [p, end), or end (skipping a container's insides).
inline const char* structural(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  // '[' 0x5B and '{' 0x7B differ only in bit 5, as do ']' 0x5D and '}' 0x7D.
  const __m128i bit5 = _mm_set1_epi8(0x20), open = _mm_set1_epi8(0x7B), close = _mm_set1_epi8(0x7D),
                quote = _mm_set1_epi8('"');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i folded = _mm_or_si128(v, bit5);
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)),
                                     _mm_cmpeq_epi8(v, quote));
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (m) return p + lowest_bit(m);
  }
#endif
  for (; p < end; ++p) {
    const char c = *p;
    if (c == '"' || c == '{' || c == '}' || c == '[' || c == ']') return p;
  }
  return end;
}

// Whether "\\u" occurs in [p, end) (a \u escape, or an escaped backslash before a 'u': callers
// only need "maybe"). glibc's memmem walks a 2-byte needle about a byte at a time, and escaped
// JSON documents are full of other backslashes, so memchr stops too often.
inline bool has_backslash_u(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\'), u = _mm_set1_epi8('u');
  for (; end - p >= 17; p += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
    if (_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, backslash), _mm_cmpeq_epi8(b, u)))) return true;
  }
#endif
  for (; end - p >= 2; ++p)
    if (p[0] == '\\' && p[1] == 'u') return true;
  return false;
}

}  // namespace cwfilter::detail::byte_scan
