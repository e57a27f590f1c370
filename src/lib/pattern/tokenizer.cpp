#include "pattern/tokenizer.hpp"

namespace cwfilter::detail {

namespace {
inline bool is_sep(char c) { return c == ' ' || c == '\t'; }
}  // namespace

void tokenize(std::string_view m, std::vector<Token>& out) {
  out.clear();
  std::size_t i = 0, n = m.size();
  while (true) {
    while (i < n && is_sep(m[i])) ++i;
    if (i >= n) return;
    std::size_t begin = i;
    char open = m[i];
    if (open == '"' || open == '[') {
      char close = open == '"' ? '"' : ']';
      std::size_t j = m.find(close, i + 1);
      if (j == std::string_view::npos) {
        out.push_back({m.substr(i + 1), begin, n});
        return;
      }
      out.push_back({m.substr(i + 1, j - i - 1), begin, j + 1});
      i = j + 1;
      continue;
    }
    while (i < n && !is_sep(m[i])) ++i;
    out.push_back({m.substr(begin, i - begin), begin, i});
  }
}

}  // namespace cwfilter::detail
