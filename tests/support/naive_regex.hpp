// A deliberately naive matcher for CloudWatch's `%regex%` dialect (filter-patterns.md §5 and the
// decisions listed in src/lib/regex/cw_regex.hpp), for tests only: a backtracking interpreter that
// reads the pattern text directly, shares no code with src/lib/regex (no translation, no RE2), and
// so checks the compiled matcher independently.
//
// It expects a body the dialect accepts (filter with cwfilter::compile first) and does not
// validate: on other input its answer means nothing.
//
// Semantics implemented (each from §5.3 or cw_regex.hpp):
//  * Unanchored, case-sensitive search; `|` splits the whole expression into branches.
//  * The subject is read as UTF-8 code points: `.`, a negated class and `\D \W \S` consume one
//    code point; `\xhh` is the code point hh (so `\xE9` matches "é").
//  * `.` matches anything but '\n'; `^` / `$` match only at the very start / end of the subject.
//  * `\d` [0-9], `\w` [A-Za-z0-9_], `\s` [\t\n\v\f\r ]; `\X` for any other non-alphanumeric X is X.
//  * Classes `[...]` / `[^...]` with ranges; `-` first or last is literal; escapes as outside.
//  * `?` `*` `+` `{m}` `{m,}` `{,n}` `{m,n}` repeat the preceding single-character atom; a `?`
//    right after a quantifier (lazy) changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::test::naive_regex {

namespace detail {

// UTF-8 decoding; a byte that does not start a valid sequence is taken as one code point
// U+FFFD (the tests only generate valid UTF-8).
inline std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = true;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
inline bool is_word(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}
inline bool is_space(char32_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }  // \t \n \v \f \r

class Matcher {
 public:
  Matcher(std::string_view branch, const std::vector<char32_t>& subject)
      : re_(branch), s_(subject), failed_((branch.size() + 1) * (subject.size() + 1), false) {}

  bool match_at(std::size_t p) { return match_here(0, p); }

 private:
  // An escape at re_[i] == '\\': sets `end` past it; either `set` ('d', 'D', 'w', 'W', 's', 'S')
  // or the literal code point `cp`.
  struct Escape {
    char set = 0;
    char32_t cp = 0;
    std::size_t end = 0;
  };

  Escape read_escape(std::size_t i) const {
    Escape e;
    const char c = re_[i + 1];
    if (c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S') {
      e.set = c;
      e.end = i + 2;
    } else if (c == 'x') {
      e.cp = static_cast<char32_t>(hex_digit(re_[i + 2]) * 16 + hex_digit(re_[i + 3]));
      e.end = i + 4;
    } else {
      e.cp = static_cast<unsigned char>(c);
      e.end = i + 2;
    }
    return e;
  }

  static bool in_set(char set, char32_t c) {
    switch (set) {
      case 'd': return is_digit(c);
      case 'D': return !is_digit(c);
      case 'w': return is_word(c);
      case 'W': return !is_word(c);
      case 's': return is_space(c);
      case 'S': return !is_space(c);
      default: return false;
    }
  }

  // One class item at re_[i] (not the closing ']'): a set escape, or a single code point.
  struct Item {
    char set = 0;
    char32_t cp = 0;
    std::size_t end = 0;
  };
  Item read_item(std::size_t i) const {
    if (re_[i] == '\\') {
      Escape e = read_escape(i);
      return {e.set, e.cp, e.end};
    }
    return {0, static_cast<unsigned char>(re_[i]), i + 1};
  }

  // The class starting at re_[open] == '['; sets `end` past its ']' and returns whether c is in it.
  bool class_matches(std::size_t open, char32_t c, std::size_t& end) const {
    std::size_t i = open + 1;
    bool negated = false;
    if (re_[i] == '^') {
      negated = true;
      ++i;
    }
    bool found = false;
    while (re_[i] != ']') {
      Item lo = read_item(i);
      i = lo.end;
      if (re_[i] == '-' && i + 1 < re_.size() && re_[i + 1] != ']') {
        Item hi = read_item(i + 1);
        i = hi.end;
        if (c >= lo.cp && c <= hi.cp) found = true;
      } else if (lo.set ? in_set(lo.set, c) : c == lo.cp) {
        found = true;
      }
    }
    end = i + 1;
    return found != negated;
  }

  // Where the atom starting at re_[i] ends.
  std::size_t atom_end(std::size_t i) const {
    std::size_t end = i + 1;
    if (re_[i] == '\\') end = read_escape(i).end;
    if (re_[i] == '[') class_matches(i, 0, end);
    return end;
  }

  // Whether the single-character atom at re_[i] matches code point c.
  bool atom_matches(std::size_t i, char32_t c) const {
    if (re_[i] == '.') return c != '\n';
    if (re_[i] == '[') {
      std::size_t end = 0;
      return class_matches(i, c, end);
    }
    if (re_[i] == '\\') {
      Escape e = read_escape(i);
      return e.set ? in_set(e.set, c) : c == e.cp;
    }
    return c == static_cast<unsigned char>(re_[i]);
  }

  // A quantifier at re_[i], if any: [min, max] and where it ends (a lazy '?' included).
  void read_quantifier(std::size_t i, std::size_t& min, std::size_t& max, std::size_t& end) const {
    min = max = 1;
    end = i;
    if (i >= re_.size()) return;
    constexpr std::size_t kMany = std::numeric_limits<std::size_t>::max();
    const char q = re_[i];
    if (q == '?' || q == '*' || q == '+') {
      min = q == '+' ? 1 : 0;
      max = q == '?' ? 1 : kMany;
      end = i + 1;
    } else if (q == '{') {
      std::size_t j = i + 1;
      auto number = [&](bool& present) {
        std::size_t v = 0;
        present = false;
        while (re_[j] >= '0' && re_[j] <= '9') {
          v = v * 10 + static_cast<std::size_t>(re_[j] - '0');
          present = true;
          ++j;
        }
        return v;
      };
      bool has_min = false, has_max = false;
      const std::size_t m = number(has_min);
      if (re_[j] == ',') {
        ++j;
        const std::size_t n = number(has_max);
        min = has_min ? m : 0;
        max = has_max ? n : kMany;
      } else {
        min = max = m;
      }
      end = j + 1;  // past '}'
    } else {
      return;
    }
    if (end < re_.size() && re_[end] == '?') ++end;  // lazy: same verdict
  }

  bool match_here(std::size_t i, std::size_t p) {
    if (i == re_.size()) return true;
    const std::size_t key = i * (s_.size() + 1) + p;
    if (failed_[key]) return false;
    bool ok = false;
    if (re_[i] == '^') {
      ok = p == 0 && match_here(i + 1, p);
    } else if (re_[i] == '$') {
      ok = p == s_.size() && match_here(i + 1, p);
    } else {
      std::size_t min = 1, max = 1, next = 0;
      read_quantifier(atom_end(i), min, max, next);
      std::size_t k = 0;
      while (k < max && p + k < s_.size() && atom_matches(i, s_[p + k])) ++k;
      for (std::size_t c = k + 1; !ok && c-- > min;) ok = match_here(next, p + c);
    }
    if (!ok) failed_[key] = true;
    return ok;
  }

  std::string_view re_;
  const std::vector<char32_t>& s_;
  std::vector<bool> failed_;  // (pattern position, subject position) pairs known not to match
};

// The top-level branches of `re`: split at each '|' outside a class and not escaped.
inline std::vector<std::string_view> branches(std::string_view re) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      ++i;  // the escaped character (\xhh's digits are never '|', '[' or ']')
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      if (i + 1 < re.size() && re[i + 1] == '^') ++i;
    } else if (c == '|') {
      out.push_back(re.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(re.substr(start));
  return out;
}

}  // namespace detail

// Whether the regex body `re` (the text between the '%' signs) matches somewhere in `subject`.
inline bool search(std::string_view re, std::string_view subject) {
  const std::vector<char32_t> s = detail::code_points(subject);
  for (std::string_view branch : detail::branches(re)) {
    detail::Matcher m(branch, s);
    for (std::size_t p = 0; p <= s.size(); ++p)
      if (m.match_at(p)) return true;
  }
  return false;
}

}  // namespace cwfilter::test::naive_regex
