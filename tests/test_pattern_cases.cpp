// The public conformance cases (shared/spec/cases/patterns.jsonl), straight from the data file:
// every pattern compiles (or is rejected), matches as stated, extracts as stated, and the naive
// reference evaluator agrees with the compiled matcher on each of them.
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string_view>

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

// What an invalid case gives (spec §10): `pattern` and `error` only. No case has an offset or an
// error-code field, so offsets are not checked here (tests/data/error_golden.jsonl pins them, with
// the exact message, for these patterns and more). `error` is read as follows, and each part it
// gives is asserted verbatim:
//  * a leading "InvalidParameterException: " names the exception class, which a CompileError does
//    not carry; it is dropped;
//  * if the rest starts with one of AWS's messages (filter-patterns.md §8), the message must start
//    with it, in the context it names ("Invalid filter pattern" is FilterLogEvents' and
//    TestMetricFilter's wording, every other one is compiled as PutMetricFilter's);
//  * what follows AWS's message as " (text)" is the case's reason, and must appear in the message;
//  * otherwise the whole (AWS message included, as in "Invalid metric filter pattern: single-quoted
//    ...") must appear in the message.
// Cases with a metric_transformation are rejected for the transformation, not the pattern: see
// tests/test_metric_filter.cpp.
TEST_CASE("patterns.jsonl: every invalid pattern is rejected with the case's message", "[patterns][cases]") {
  static constexpr std::string_view kException = "InvalidParameterException: ";
  static constexpr std::string_view kAwsMessages[] = {
      "Invalid metric filter pattern", "Invalid filter pattern", "Invalid character(s) in term",
      "If a filter pattern starts with '{' it must end with '}'"};
  auto cases = test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"));
  std::size_t checked = 0, with_aws_message = 0;
  for (const auto& c : cases) {
    if (test::str(c, "family") != "invalid" || c.HasMember("metric_transformation")) continue;
    const std::string pattern = test::str(c, "pattern");
    std::string error = test::str(c, "error");
    INFO(test::str(c, "id") << "  pattern: " << pattern << "\n  expected: " << error);
    REQUIRE_FALSE(error.empty());
    if (error.rfind(kException, 0) == 0) error.erase(0, kException.size());

    std::string_view aws;
    for (std::string_view m : kAwsMessages)
      if (error.rfind(m, 0) == 0 && m.size() > aws.size()) aws = m;
    Options options;
    if (aws == "Invalid filter pattern") options.error_context = ErrorContext::kFilterLogEvents;

    auto compiled = compile(pattern, options);
    REQUIRE_FALSE(compiled.ok());
    const std::string& message = compiled.error().message;
    INFO("message: " << message);
    CHECK(compiled.error().offset <= pattern.size());

    const std::string rest = error.substr(aws.size());
    if (!aws.empty()) {
      ++with_aws_message;
      CHECK(message.rfind(aws, 0) == 0);
    }
    if (!aws.empty() && rest.size() > 3 && rest.rfind(" (", 0) == 0 && rest.back() == ')') {
      const std::string reason = rest.substr(2, rest.size() - 3);
      CHECK(message.find(reason) != std::string::npos);
    } else {
      CHECK(message.find(error) != std::string::npos);
    }
    ++checked;
  }
  CHECK(checked >= 9);
  CHECK(with_aws_message >= 4);
}
