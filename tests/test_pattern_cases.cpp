// The public conformance cases (shared/spec/cases/patterns.jsonl), straight from the data file:
// every pattern compiles (or is rejected), matches as stated, extracts as stated, and the naive
// reference evaluator agrees with the compiled matcher on each of them.
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace cwfilter;

namespace {
std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}
}  // namespace

TEST_CASE("patterns.jsonl: every case with a match verdict", "[patterns][cases]") {
  auto cases = test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"));
  REQUIRE(cases.size() >= 269);
  std::size_t checked = 0;
  for (const auto& c : cases) {
    if (!c.HasMember("match")) continue;
    std::string id = test::str(c, "id"), pattern = test::str(c, "pattern"), event = test::str(c, "event");
    INFO(id << "  pattern: " << pattern << "\n  event: " << event);
    auto compiled = compile(pattern);
    if (!compiled.ok()) FAIL_CHECK("rejected: " << compiled.error().message);
    if (!compiled.ok()) continue;
    MatchResult r = compiled->match(event);
    CHECK(r.matched == c["match"].GetBool());
    CHECK(compiled->matches(event) == r.matched);
    if (c.HasMember("extracted_values") && c["extracted_values"].IsObject()) {
      std::map<std::string, std::string> expected;
      for (auto it = c["extracted_values"].MemberBegin(); it != c["extracted_values"].MemberEnd(); ++it)
        expected[it->name.GetString()] = it->value.GetString();
      CHECK(as_map(r.extracted_values) == expected);
    }
    MatchResult ref = reference::match(compiled->ast(), event);
    CHECK(ref.matched == r.matched);
    CHECK(as_map(ref.extracted_values) == as_map(r.extracted_values));
    ++checked;
  }
  CHECK(checked >= 240);
}

TEST_CASE("patterns.jsonl: every invalid pattern is rejected", "[patterns][cases]") {
  auto cases = test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"));
  std::size_t checked = 0;
  for (const auto& c : cases) {
    if (test::str(c, "family") != "invalid" || c.HasMember("metric_transformation")) continue;
    std::string pattern = test::str(c, "pattern");
    INFO(test::str(c, "id") << "  pattern: " << pattern << "  expected: " << test::str(c, "error"));
    auto compiled = compile(pattern);
    CHECK_FALSE(compiled.ok());
    if (!compiled.ok()) {
      CHECK(compiled.error().offset <= pattern.size());
      CHECK_FALSE(compiled.error().message.empty());
    }
    ++checked;
  }
  CHECK(checked >= 9);
}
