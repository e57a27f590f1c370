// Number and date formats AWS uses in alarm reasons, StateReasonData and SNS messages.
#include <cwfilter/alarm.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace cwfilter::alarm {
namespace {

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, UTC).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month, day, hour, minute, second, millis;
};

Civil civil_from_ms(std::int64_t ms) {
  std::int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  std::int64_t rem = ms - days * 86400000;
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  Civil c{y + (m <= 2), m, d, 0, 0, 0, 0};
  c.hour = static_cast<unsigned>(rem / 3600000);
  c.minute = static_cast<unsigned>(rem / 60000 % 60);
  c.second = static_cast<unsigned>(rem / 1000 % 60);
  c.millis = static_cast<unsigned>(rem % 1000);
  return c;
}

}  // namespace

std::string format_java_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits (what Java's Double.toString gives since JDK 19).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  if (sci[0] == '-') {
    out.push_back('-');
    sci.erase(0, 1);
  }
  const auto e_pos = sci.find('e');
  std::string digits;
  for (std::size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  const int exponent = std::atoi(sci.c_str() + e_pos + 1);
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    } else {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    }
  } else {
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? digits.substr(1) : std::string("0");
    out += 'E';
    out += std::to_string(exponent);
  }
  return out;
}

std::string format_aws_timestamp(std::int64_t ms) {
  const Civil c = civil_from_ms(ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", c.year, c.month, c.day,
                     c.hour, c.minute, c.second, c.millis);
}

std::string format_reason_date(std::int64_t ms) {
  const Civil c = civil_from_ms(ms);
  return fmt::format("{:02}/{:02}/{:02} {:02}:{:02}:{:02}", c.day, c.month,
                     static_cast<int>(((c.year % 100) + 100) % 100), c.hour, c.minute, c.second);
}

std::string format_iso_timestamp(std::int64_t ms) {
  const Civil c = civil_from_ms(ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, c.millis);
}

Result<std::int64_t, Error> parse_iso_timestamp(std::string_view text) {
  auto fail = [&] {
    return Error{fmt::format("invalid timestamp '{}': expected ISO-8601 UTC such as "
                             "2026-01-01T00:05:00Z",
                             text)};
  };
  std::size_t i = 0;
  auto read_int = [&](std::size_t n, int& out) {
    if (i + n > text.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char ch = text[i + k];
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + (ch - '0');
    }
    out = v;
    i += n;
    return true;
  };
  auto expect = [&](char ch) {
    if (i < text.size() && text[i] == ch) {
      ++i;
      return true;
    }
    return false;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_int(4, year) || !expect('-') || !read_int(2, month) || !expect('-') ||
      !read_int(2, day))
    return fail();
  std::int64_t frac_ms = 0;
  std::int64_t offset_s = 0;
  if (i < text.size()) {
    if (!(expect('T') || expect('t') || expect(' '))) return fail();
    if (!read_int(2, hour) || !expect(':') || !read_int(2, minute)) return fail();
    if (expect(':') && !read_int(2, second)) return fail();
    if (expect('.') || expect(',')) {
      int scale = 100;
      bool any = false;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        frac_ms += (text[i] - '0') * scale;  // digits beyond milliseconds are truncated
        scale /= 10;
        ++i;
        any = true;
      }
      if (!any) return fail();
    }
    if (i < text.size()) {
      if (expect('Z') || expect('z')) {
      } else if (text[i] == '+' || text[i] == '-') {
        const int sign = text[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0, om = 0;
        if (!read_int(2, oh)) return fail();
        expect(':');
        if (i < text.size() && !read_int(2, om)) return fail();
        offset_s = sign * (oh * 3600 + om * 60);
      } else {
        return fail();
      }
    }
    if (i != text.size()) return fail();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return fail();
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month),
                                            static_cast<unsigned>(day));
  return (days * 86400 + hour * 3600 + minute * 60 + second - offset_s) * 1000 + frac_ms;
}

}  // namespace cwfilter::alarm
