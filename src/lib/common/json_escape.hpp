// Reading a JSON `\u` escape, shared by the prefilter's escape decoder (pattern/prefilter_search.cpp)
// and the position-keeping template reader (iac/json_tree.cpp), so both accept exactly what
// RapidJSON accepts: four hex digits, and a high surrogate only when a `\u` low surrogate follows.
#pragma once

#include <cstddef>
#include <string_view>

namespace cwfilter::detail {

enum class UEscape { kOk, kBadHex, kUnpairedSurrogate };

// `s[at]` is just after "\u". On kOk, `code_point` is the character and `consumed` the bytes read
// after "\u" (4, or 10 for a surrogate pair).
inline UEscape read_u_escape(std::string_view s, std::size_t at, unsigned& code_point, std::size_t& consumed) {
  auto hex4 = [&](std::size_t from, unsigned& out) {
    if (from + 4 > s.size()) return false;
    out = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char h = s[from + k];
      unsigned d;
      if (h >= '0' && h <= '9') d = static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') d = static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = static_cast<unsigned>(h - 'A' + 10);
      else return false;
      out = out * 16 + d;
    }
    return true;
  };
  unsigned cp = 0;
  if (!hex4(at, cp)) return UEscape::kBadHex;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return UEscape::kUnpairedSurrogate;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    unsigned lo = 0;
    if (at + 6 > s.size() || s[at + 4] != '\\' || s[at + 5] != 'u') return UEscape::kUnpairedSurrogate;
    if (!hex4(at + 6, lo)) return UEscape::kBadHex;
    if (lo < 0xDC00 || lo > 0xDFFF) return UEscape::kUnpairedSurrogate;
    code_point = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    consumed = 10;
    return UEscape::kOk;
  }
  code_point = cp;
  consumed = 4;
  return UEscape::kOk;
}

}  // namespace cwfilter::detail
