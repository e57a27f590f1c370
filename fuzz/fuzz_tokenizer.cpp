// The space-delimited event tokenizer (src/lib/pattern/tokenizer.hpp), checked against its
// documented contract: tokens are in order and do not overlap; only spaces and tabs lie between
// them; a token starting with '"' or '[' runs to the next closing delimiter (or the end) and its
// value is what lies between; any other token is a maximal run of non-separators.
#include "fuzz_check.hpp"

#include "pattern/tokenizer.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view m(reinterpret_cast<const char*>(data), size);
  auto is_sep = [](char c) { return c == ' ' || c == '\t'; };
  std::vector<cwfilter::detail::Token> tokens;
  tokens.push_back({"stale", 1, 2});  // tokenize() must clear its output
  cwfilter::detail::tokenize(m, tokens);
  std::size_t pos = 0;
  for (const auto& t : tokens) {
    FUZZ_CHECK(t.begin >= pos && t.begin < t.end && t.end <= m.size(), "bad extent [%zu, %zu) after %zu", t.begin,
               t.end, pos);
    for (std::size_t i = pos; i < t.begin; ++i) FUZZ_CHECK(is_sep(m[i]), "non-separator skipped at %zu", i);
    FUZZ_CHECK(!is_sep(m[t.begin]), "token starts with a separator at %zu", t.begin);
    // The value is a view into the message, inside the raw extent.
    FUZZ_CHECK(t.value.data() >= m.data() + t.begin && t.value.data() + t.value.size() <= m.data() + t.end,
               "value outside its extent");
    const char open = m[t.begin];
    if (open == '"' || open == '[') {
      const char close = open == '"' ? '"' : ']';
      const std::size_t j = m.find(close, t.begin + 1);
      if (j == std::string_view::npos) {
        FUZZ_CHECK(t.end == m.size() && t.value == m.substr(t.begin + 1), "unterminated group");
      } else {
        FUZZ_CHECK(t.end == j + 1 && t.value == m.substr(t.begin + 1, j - t.begin - 1), "group at %zu", t.begin);
      }
    } else {
      FUZZ_CHECK(t.value == m.substr(t.begin, t.end - t.begin), "plain token value");
      for (char c : t.value) FUZZ_CHECK(!is_sep(c), "separator inside a plain token");
      FUZZ_CHECK(t.end == m.size() || is_sep(m[t.end]), "plain token ends early at %zu", t.end);
    }
    pos = t.end;
  }
  for (std::size_t i = pos; i < m.size(); ++i) FUZZ_CHECK(is_sep(m[i]), "trailing non-separator at %zu", i);
  return 0;
}
