// Real-world patterns (shared/corpus/patterns.jsonl) and CloudTrail events (shared/corpus/cloudtrail).
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/input.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>

using namespace cwfilter;

namespace {

std::string escape_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\\') out += "\\\\";
    else out.push_back(c);
  }
  return out;
}

// The event files only (the folder also holds index.jsonl, whose lines look like events).
std::vector<LogEvent> corpus_events() {
  std::vector<LogEvent> out;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
    REQUIRE(r.ok());
    for (auto& e : r.value().events) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

// Every distinct corpus pattern compiles or is rejected with a reason and an offset; the rejected
// ones are listed, with their reasons, in tests/data/corpus_rejections.txt (golden file; each entry
// is justified there by the spec). CWFILTER_UPDATE_GOLDEN=1 rewrites it.
TEST_CASE("corpus patterns: compiled or rejected exactly as the golden list says", "[patterns][corpus]") {
  std::set<std::string> distinct;
  for (const auto& r : test::read_jsonl(test::shared_path("corpus/patterns.jsonl"))) distinct.insert(test::str(r, "pattern"));
  CHECK(distinct.size() == 408);
  std::string actual;
  std::size_t accepted = 0;
  for (const auto& p : distinct) {
    auto c = compile(p);
    if (c.ok()) {
      ++accepted;
      CHECK(reference::match(c->ast(), "{}").matched == c->matches("{}"));
      continue;
    }
    INFO(p);
    CHECK(c.error().offset <= p.size());
    CHECK(c.error().message.find(fmt::format("at offset {}", c.error().offset)) != std::string::npos);
    actual += fmt::format("{}\n  -> {} @{}: {}\n", escape_line(p), to_string(c.error().code), c.error().offset,
                          c.error().message);
  }
  std::string golden_path = test::source_path("tests/data/corpus_rejections.txt");
  if (std::getenv("CWFILTER_UPDATE_GOLDEN")) {
    std::ofstream(golden_path) << actual;
  }
  std::string golden = test::slurp(golden_path);
  // The golden file may carry '#' comment lines (the justification of each rejection).
  std::string golden_entries;
  std::size_t pos = 0;
  while (pos < golden.size()) {
    std::size_t nl = golden.find('\n', pos);
    std::string line = golden.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
    if (line.rfind("#", 0) != 0) golden_entries += line;
    pos = nl == std::string::npos ? golden.size() : nl + 1;
  }
  CHECK(actual == golden_entries);
  CHECK(accepted > 350);
}

// The CIS console-login pattern matches exactly the ConsoleLogin events whose errorMessage is
// "Failed authentication", counted independently from the corpus index.
TEST_CASE("CIS console-login pattern over the CloudTrail corpus", "[patterns][corpus]") {
  auto events = corpus_events();
  REQUIRE(events.size() > 900);
  std::size_t expected = 0;
  for (const auto& r : test::read_jsonl(test::shared_path("corpus/cloudtrail/index.jsonl")))
    if (test::str(r, "eventName") == "ConsoleLogin" && test::str(r, "errorMessage") == "Failed authentication" &&
        r.HasMember("valid_json") && r["valid_json"].GetBool())
      ++expected;
  REQUIRE(expected > 0);
  for (std::string pattern : {R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })",
                              R"({ $.eventName = "ConsoleLogin" && $.errorMessage ="Failed authentication" })",
                              R"({($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")} )"}) {
    auto p = compile(pattern);
    REQUIRE(p.ok());
    std::size_t matched = 0;
    for (const auto& e : events) {
      bool m = p->matches(e.message);
      // Independent check with a plain DOM.
      rapidjson::Document d;
      d.Parse(e.message.c_str(), e.message.size());
      bool want = !d.HasParseError() && d.IsObject() && test::str(d, "eventName") == "ConsoleLogin" &&
                  test::str(d, "errorMessage") == "Failed authentication";
      CHECK(m == want);
      matched += m;
    }
    CHECK(matched == expected);
  }
}
