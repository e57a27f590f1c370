// The 10,000 real Apache combined-format lines (shared/corpus/lines) through the tokenizer and the
// Apache patterns of the documentation and the pattern corpus.
#include "support.hpp"

#include "pattern/tokenizer.hpp"

#include <cwfilter/cwfilter.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>

using namespace cwfilter;

namespace {
std::vector<std::string> apache_lines() {
  std::vector<std::string> out;
  std::ifstream f(test::shared_path("corpus/lines/apache_combined_elastic_examples.log"));
  std::string line;
  while (std::getline(f, line)) out.push_back(line);
  return out;
}
}  // namespace

// Field counts checked against an independent reading of the combined log format:
// host ident authuser [date] "request" status bytes "referer" "user-agent".
TEST_CASE("tokenizer field counts on 10,000 Apache combined lines", "[patterns][apache]") {
  auto lines = apache_lines();
  REQUIRE(lines.size() == 10000);
  const std::regex combined(R"re(^(\S+) (\S+) (\S+) \[([^\]]*)\] "([^"]*)" (\S+) (\S+) "([^"]*)" "([^"]*)"$)re");
  std::vector<detail::Token> tokens;
  std::size_t checked = 0, irregular = 0;
  for (const auto& l : lines) {
    detail::tokenize(l, tokens);
    std::smatch m;
    if (!std::regex_match(l, m, combined)) {
      ++irregular;  // e.g. a request line holding a quote: the tokenizer still must not crash
      continue;
    }
    INFO(l);
    REQUIRE(tokens.size() == 9);
    for (std::size_t i = 0; i < 9; ++i) CHECK(tokens[i].value == m[i + 1].str());
    ++checked;
  }
  CHECK(checked >= 9900);
  CHECK(irregular < 100);
}

TEST_CASE("Apache patterns over 10,000 real lines: compiled == reference, extracted values", "[patterns][apache]") {
  auto lines = apache_lines();
  std::set<std::string> patterns = {"[ip, user, username, timestamp, request, status_code, bytes]",
                                    "[ip, id, user, timestamp, request, status_code=4*, size]",
                                    "[..., status_code = 4* && status_code != 403, bytes]",
                                    "[ip, user, ..., status_code = 2*, bytes > 1000]"};
  for (const auto& r : test::read_jsonl(test::shared_path("corpus/patterns.jsonl")))
    if (test::str(r, "kind") == "apache") patterns.insert(test::str(r, "pattern"));
  REQUIRE(patterns.size() >= 15);
  for (const auto& text : patterns) {
    auto p = compile(text);
    INFO(text);
    REQUIRE(p.ok());
    std::size_t matched = 0;
    for (const auto& l : lines) {
      MatchResult a = p->match(l);
      MatchResult b = reference::match(p->ast(), l);
      REQUIRE(a.matched == b.matched);
      REQUIRE(a.extracted_values == b.extracted_values);
      matched += a.matched;
    }
    if (text == "[ip, user, username, timestamp, request, status_code, bytes]") {
      // 7 fields on 9-field lines: the last field absorbs the rest (DECISIONS 1), every line matches.
      CHECK(matched == lines.size());
      auto r = p->match(lines[0]);
      REQUIRE(r.extracted_values.size() == 7);
      CHECK(r.extracted_values[6].first == "$bytes");
      CHECK(r.extracted_values[6].second.rfind("203023 \"http://semicomplete.com/", 0) == 0);
    }
  }
  // Exact-count option (the 2018-2022 reading): 7 fields never match 9-field lines.
  Options exact;
  exact.exact_field_count = true;
  auto seven = compile("[ip, user, username, timestamp, request, status_code, bytes]", exact);
  REQUIRE(seven.ok());
  CHECK_FALSE(seven->matches(lines[0]));
  auto nine = compile("[ip, ident, user, timestamp, request, status, bytes, referer, agent]", exact);
  REQUIRE(nine.ok());
  CHECK(nine->matches(lines[0]));
}
