#include "pattern/value_text.hpp"

#include <cctype>
#include <cstdlib>

namespace cwfilter::detail {

std::string unescape_quoted(std::string_view content) {
  // Most quoted values have no backslash: one copy (compiling a long CIS pattern unescapes ~20).
  std::size_t i = content.find('\\');
  if (i == std::string_view::npos) return std::string(content);
  std::string out(content.substr(0, i));
  out.reserve(content.size());
  for (; i < content.size(); ++i) {
    if (content[i] == '\\' && i + 1 < content.size()) ++i;
    out.push_back(content[i]);
  }
  return out;
}

std::optional<double> parse_number_literal(std::string_view t) {
  std::size_t i = 0, n = t.size();
  auto digits = [&] {
    std::size_t s = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    return i - s;
  };
  if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
  std::size_t int_digits = digits();
  if (i < n && t[i] == '.') {
    ++i;
    if (digits() == 0) return std::nullopt;  // "5." and "." are not numbers
  } else if (int_digits == 0) {
    return std::nullopt;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return std::nullopt;
  }
  if (i != n) return std::nullopt;
  // strtod needs a terminated string; literals are short.
  std::string copy(t);
  return std::strtod(copy.c_str(), nullptr);
}

WildcardText WildcardText::from(std::string_view v) {
  WildcardText w;
  if (v == "*") {
    w.kind = Kind::kAny;
    return w;
  }
  bool lead = v.size() >= 2 && v.front() == '*';
  bool trail = v.size() >= 2 && v.back() == '*';
  if (lead && trail) {
    w.kind = Kind::kContains;
    w.needle = std::string(v.substr(1, v.size() - 2));
  } else if (lead) {
    w.kind = Kind::kSuffix;
    w.needle = std::string(v.substr(1));
  } else if (trail) {
    w.kind = Kind::kPrefix;
    w.needle = std::string(v.substr(0, v.size() - 1));
  } else {
    w.kind = Kind::kExact;
    w.needle = std::string(v);
  }
  return w;
}

bool WildcardText::matches(std::string_view s) const noexcept {
  switch (kind) {
    case Kind::kAny: return true;
    case Kind::kExact: return s == needle;
    case Kind::kPrefix: return s.substr(0, needle.size()) == needle;
    case Kind::kSuffix: return s.size() >= needle.size() && s.substr(s.size() - needle.size()) == needle;
    case Kind::kContains: return s.find(needle) != std::string_view::npos;
  }
  return false;
}

}  // namespace cwfilter::detail
