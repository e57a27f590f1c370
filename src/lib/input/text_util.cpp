#include "input/text_util.hpp"

#include <charconv>
#include <cmath>

#include <cwfilter/input.hpp>

namespace cwfilter::input {

std::string minify_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  bool escape = false;
  for (char c : json) {
    if (in_string) {
      out.push_back(c);
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else {
      if (c == '"') in_string = true;
      out.push_back(c);
    }
  }
  return out;
}

bool ValueEndScanner::run(std::string_view buf) {
  while (!done_ && pos_ < buf.size()) {
    char c = buf[pos_++];
    if (c == '\n') newline_ = true;
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string_ = true; break;
      case '{':
      case '[': ++depth_; break;
      case '}':
      case ']':
        if (depth_ > 0 && --depth_ == 0) done_ = true;
        break;
      default: break;
    }
  }
  return done_;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t digits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') { padding = true; continue; }
    else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    else return std::nullopt;
    if (padding) return std::nullopt;  // data after '='
    ++digits;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (digits % 4 == 1) return std::nullopt;  // 6 bits cannot encode a byte
  return out;
}

std::optional<std::int64_t> parse_epoch_ms(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
      return std::nullopt;
    }
  }
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  double ms = std::fabs(v) < 1e11 ? v * 1000.0 : v;
  // JavaScript's Date range (+-8.64e15 ms, years -271821..275760) bounds what is meaningful.
  if (std::fabs(ms) > 8.64e15) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(ms));
}

std::optional<std::vector<SelectorStep>> parse_selector(std::string_view s) {
  if (s.empty() || s[0] != '$') return std::nullopt;
  std::vector<SelectorStep> steps;
  std::size_t i = 1;
  while (i < s.size()) {
    if (s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '.' && s[j] != '[') ++j;
      if (j == i + 1) return std::nullopt;
      steps.push_back({std::string(s.substr(i + 1, j - i - 1))});
      i = j;
    } else if (s[i] == '[') {
      std::size_t j = s.find(']', i);
      if (j == std::string_view::npos || j == i + 1) return std::nullopt;
      std::string_view inner = s.substr(i + 1, j - i - 1);
      if (inner.size() >= 2 && (inner.front() == '"' || inner.front() == '\'') &&
          inner.back() == inner.front()) {
        steps.push_back({std::string(inner.substr(1, inner.size() - 2))});
      } else {
        std::size_t idx = 0;
        auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), idx);
        if (ec != std::errc() || p != inner.data() + inner.size()) return std::nullopt;
        steps.push_back({idx});
      }
      i = j + 1;
    } else {
      return std::nullopt;
    }
  }
  return steps;
}

}  // namespace cwfilter::input

namespace cwfilter {

namespace {
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) noexcept {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  std::size_t i = 10;
  int millis = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
    if (!digits(s, i + 1, 2, hour) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(s, i + 4, 2, minute)) {
      return std::nullopt;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, second)) return std::nullopt;
      i += 3;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        std::size_t j = i + 1;
        int scale = 100;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
          millis += (s[j] - '0') * scale;  // truncated to the millisecond
          scale /= 10;
          ++j;
        }
        if (j == i + 1) return std::nullopt;
        i = j;
      }
    }
  }
  int offset_minutes = 0;
  if (i < s.size()) {
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
      i += 1;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om = 0;
      if (!digits(s, i + 1, 2, oh)) return std::nullopt;
      std::size_t j = i + 3;
      if (j < s.size() && s[j] == ':') ++j;
      if (j < s.size()) {
        if (!digits(s, j, 2, om)) return std::nullopt;
        j += 2;
      }
      if (j != s.size() || oh > 23 || om > 59) return std::nullopt;
      offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
      i = j;
    } else {
      return std::nullopt;
    }
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return secs * 1000 + millis;
}

}  // namespace cwfilter
