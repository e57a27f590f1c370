// Numbers beyond double's range (`1e400`) in a JSON event. They are valid JSON, and AWS (Java)
// reads them, but RapidJSON stops with kParseErrorNumberTooBig even when it keeps numbers as
// text. The evaluators parse a copy in which each such number is replaced by an in-range number of
// the same length, then put the original bytes back where the parse kept views of them, so the
// value's text is the original lexeme (compared as ±infinity, docs/decisions.md).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter::detail {

// Length of the JSON number (RFC 8259 grammar) starting at text[i], or 0 when there is none.
inline std::size_t json_number_length(std::string_view text, std::size_t i) {
  const std::size_t start = i, n = text.size();
  auto digit = [&](std::size_t k) { return k < n && text[k] >= '0' && text[k] <= '9'; };
  if (i < n && text[i] == '-') ++i;
  if (!digit(i)) return 0;
  if (text[i] == '0') ++i;
  else
    while (digit(i)) ++i;
  if (i < n && text[i] == '.') {
    if (!digit(i + 1)) return 0;
    ++i;
    while (digit(i)) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    std::size_t k = i + 1;
    if (k < n && (text[k] == '+' || text[k] == '-')) ++k;
    if (!digit(k)) return 0;
    while (digit(k)) ++k;
    i = k;
  }
  return i - start;
}

// Replaces, outside strings, every well-formed JSON number whose value is beyond double's range
// with "0.000…" / "-0.00…" of the same length. Returns the (offset, original text) of each one
// replaced, to be put back with restore_huge_numbers().
inline std::vector<std::pair<std::size_t, std::string>> neutralise_huge_numbers(std::string& text) {
  std::vector<std::pair<std::size_t, std::string>> replaced;
  bool in_string = false, escape = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    const std::size_t len = json_number_length(text, i);
    if (len == 0) continue;  // not a number: the parse reports it
    // Only a whole token: "1e400e5" must stay invalid (its "0.000e5" would be a number).
    const std::size_t after = i + len;
    if (after < text.size() && std::string_view(" \t\n\r,]}").find(text[after]) == std::string_view::npos) {
      i = after - 1;
      continue;
    }
    const std::string token = text.substr(i, len);
    // (An infinite value needs at least 5 characters, "1e309"; "-0.0" is the shortest placeholder.)
    if (len >= 4 && std::isinf(std::strtod(token.c_str(), nullptr))) {
      replaced.emplace_back(i, token);
      std::string placeholder = token[0] == '-' ? "-0." : "0.";
      placeholder.resize(len, '0');
      text.replace(i, len, placeholder);
    }
    i += len - 1;
  }
  return replaced;
}

inline void restore_huge_numbers(char* text, const std::vector<std::pair<std::size_t, std::string>>& replaced) {
  for (const auto& [offset, original] : replaced) original.copy(text + offset, original.size());
}

}  // namespace cwfilter::detail
