// cwfilter explain: golden outputs (tests/data/explain/*.txt) for the cases in
// tests/data/explain/cases.jsonl, run through the CLI; plus the key-path suggestion itself.
// Regenerate after a deliberate change with CWFILTER_UPDATE_GOLDEN=1 (then review the diff).
#include <catch2/catch.hpp>

#include <cwfilter/lint.hpp>
#include <cwfilter/pattern.hpp>

#include "support.hpp"

using namespace cwfilter::test;

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

namespace {

std::string quote_arg(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::pair<int, std::string> explain_cli(const std::string& args) {
  const std::string cmd = quote_arg(CWFILTER_CLI_PATH) + " explain " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (!p) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("explain golden outputs", "[explain]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  auto cases = read_jsonl(source_path("tests/data/explain/cases.jsonl"));
  REQUIRE(cases.size() >= 8);
  const bool update = std::getenv("CWFILTER_UPDATE_GOLDEN") != nullptr;
  for (const auto& c : cases) {
    const std::string name = c["name"].GetString();
    // "--filter-pattern=" with an empty value would make CLI11 take the next argument.
    std::string args = "--filter-pattern " + quote_arg(c["pattern"].GetString());
    for (const auto& m : c["messages"].GetArray()) args += " " + quote_arg(m.GetString());
    auto [status, out] = explain_cli(args);
    const std::string golden_path = source_path("tests/data/explain/" + name + ".txt");
    if (update) std::ofstream(golden_path, std::ios::binary) << out;
    INFO("case " << name);
    CHECK(status == c["exit"].GetInt());
    CHECK(out == slurp(golden_path));
  }
}

TEST_CASE("explain suggests the nearest key path", "[explain]") {
  const std::string event = R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"type":"IAMUser"}})";
  CHECK(cwfilter::lint::suggest_paths("$.errormessage", event) == std::vector<std::string>{"$.errorMessage"});
  CHECK(cwfilter::lint::suggest_paths("$.userIdentity.tpye", event) == std::vector<std::string>{"$.userIdentity.type"});
  CHECK(cwfilter::lint::suggest_paths("$.eventNam", event) == std::vector<std::string>{"$.eventName"});
  CHECK(cwfilter::lint::suggest_paths("$.somethingElse", event).empty());
  CHECK(cwfilter::lint::suggest_paths("$.a", "not json").empty());
  // A wrapping prefix, either way, wins over a typo; the fewest extra segments first.
  const std::string wrapped = R"({"errorMessages":[],"detail":{"errorMessage":"x","inner":{"errorMessage":"y"}}})";
  CHECK(cwfilter::lint::suggest_paths("$.errorMessage", wrapped) == std::vector<std::string>{"$.detail.errorMessage"});
  CHECK(cwfilter::lint::suggest_paths("$.detail.userIdentity.type", event) ==
        std::vector<std::string>{"$.userIdentity.type"});
  // Keys of one or two characters are never typos of each other; three may be one edit away.
  const std::string short_keys = R"({"b":1,"ab":2,"user":"u","list":[1,2]})";
  CHECK(cwfilter::lint::suggest_paths("$.A", short_keys).empty());
  CHECK(cwfilter::lint::suggest_paths("$.a", short_keys).empty());
  CHECK(cwfilter::lint::suggest_paths("$.ac", short_keys).empty());
  CHECK(cwfilter::lint::suggest_paths("$.AB", short_keys) == std::vector<std::string>{"$.ab"});
  CHECK(cwfilter::lint::suggest_paths("$.usr", short_keys) == std::vector<std::string>{"$.user"});
  CHECK(cwfilter::lint::suggest_paths("$.uesr", short_keys) == std::vector<std::string>{"$.user"});
  CHECK(cwfilter::lint::suggest_paths("$.list[5]", short_keys).empty());
  auto p = cwfilter::compile(R"({ $.errormessage = "Failed authentication" })");
  REQUIRE(p.ok());
  auto ex = cwfilter::lint::explain_event(*p, event);
  CHECK_FALSE(ex.matched);
  CHECK(ex.text.find("did you mean $.errorMessage?") != std::string::npos);
}

TEST_CASE("explain's outcome agrees with the matcher on the corpus doc cases", "[explain]") {
  auto cases = read_jsonl(shared_path("corpus/doc_cases.jsonl"));
  int checked = 0;
  for (const auto& c : cases) {
    if (!c.HasMember("pattern") || !c.HasMember("event") || !c["event"].IsString()) continue;
    auto p = cwfilter::compile(c["pattern"].GetString());
    if (!p) continue;
    auto ex = cwfilter::lint::explain_event(*p, c["event"].GetString());
    CHECK(ex.matched == p->matches(c["event"].GetString()));
    CHECK(ex.text.find("decided by:") != std::string::npos);
    ++checked;
  }
  CHECK(checked > 50);
}

// The explanation reads the message as the matcher does. Before, it parsed with RapidJSON's
// Parse(str, length), which skips a leading byte order mark and refuses 1e400: a BOM event was
// walked as JSON under a NO MATCH, and a 1e400 event that matched was "not a JSON object".
TEST_CASE("explain reads a message exactly as the matcher does (BOM, stray byte, NUL, 1e400)", "[explain]") {
  auto p = cwfilter::compile(R"({ ($.b = 2) && ($.a > 5) })");
  REQUIRE(p.ok());
  for (const std::string prefix : {std::string("\xEF\xBB\xBF"), std::string("\xBB"), std::string("x")}) {
    const std::string event = prefix + R"({"a":7,"b":2})";
    auto ex = cwfilter::lint::explain_event(*p, event);
    CHECK_FALSE(ex.matched);
    CHECK(ex.text.find("not a JSON object") != std::string::npos);
    CHECK(ex.text.find("$.a is") == std::string::npos);
  }
  const std::string with_nul = std::string(R"({"a":7,"b":2})") + '\0';
  CHECK(cwfilter::lint::explain_event(*p, with_nul).text.find("not a JSON object") != std::string::npos);

  const std::string huge = R"({"a":1e400,"b":2.0,"c":"1e400"})";
  auto ex = cwfilter::lint::explain_event(*p, huge);
  CHECK(ex.matched == p->matches(huge));
  CHECK(ex.matched);
  CHECK(ex.text.find("not a JSON object") == std::string::npos);
  CHECK(ex.text.find("($.a is 1e400)") != std::string::npos);  // the lexeme, not a string
  CHECK(ex.text.find("($.b is 2.0)") != std::string::npos);
  CHECK(cwfilter::lint::suggest_paths("$.C", huge) == std::vector<std::string>{"$.c"});
  auto q = cwfilter::compile(R"({ $.c = "1e400" })");
  REQUIRE(q.ok());
  CHECK(cwfilter::lint::explain_event(*q, huge).text.find(R"(($.c is "1e400"))") != std::string::npos);
}

// explain --streak (issue 11): one key's story through a streak alarm, golden outputs. Run from the
// repository root so that the paths in the output are relative.
TEST_CASE("explain --streak golden outputs", "[explain][streak]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  struct Case {
    const char* golden;
    std::string args;
    int exit;
  };
  const std::string example = "--config examples/failed-logins/config-streak.json --streak three-consecutive-failed-sign-ins ";
  const std::string mine = "--config tests/data/explain/streak-config.json --streak two-failed-sign-ins ";
  const std::vector<Case> cases = {
      // Window, an ignored event of the key, out-of-order input, ALARM, ResetAfter, success, new streak.
      {"streak-window-reset.txt", mine + "--key mallory tests/data/explain/streak-events.jsonl", 0},
      {"streak-other-key.txt", mine + "--key '$.userIdentity.userName=trent' tests/data/explain/streak-events.jsonl", 0},
      {"streak-unknown-key.txt", mine + "--key nobody tests/data/explain/streak-events.jsonl", 0},
      {"streak-example-bob.txt", example + "--key arn:aws:iam::111122223333:user/bob examples/failed-logins/cloudtrail", 0},
      {"streak-no-such-alarm.txt", "--config tests/data/explain/streak-config.json --streak nope --key x "
                                   "tests/data/explain/streak-events.jsonl", 1},
      {"streak-key-count.txt", mine + "--key a --key b tests/data/explain/streak-events.jsonl", 2},
      {"streak-log-group.txt", mine + "--log-group Other --key a tests/data/explain/streak-events.jsonl", 1},
  };
  const bool update = std::getenv("CWFILTER_UPDATE_GOLDEN") != nullptr;
  for (const auto& c : cases) {
    const std::string cmd = "cd " + quote_arg(CWFILTER_SOURCE_DIR) + " && " + quote_arg(CWFILTER_CLI_PATH) +
                            " explain " + c.args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = pclose(p);
    const std::string golden_path = source_path(std::string("tests/data/explain/") + c.golden);
    if (update) std::ofstream(golden_path, std::ios::binary) << out;
    INFO("case " << c.golden << "\n" << out);
    CHECK((WIFEXITED(st) ? WEXITSTATUS(st) : -1) == c.exit);
    CHECK(out == slurp(golden_path));
  }
  // The golden files say what they should (so that a regenerated golden cannot silently go wrong).
  const std::string mallory = slurp(source_path("tests/data/explain/streak-window-reset.txt"));
  CHECK(mallory.find("count 2, ALARM       e05") != std::string::npos);
  CHECK(mallory.find("ALARM -> OK (ResetAfter)") != std::string::npos);
  CHECK(mallory.find("e02  (matches neither pattern)") != std::string::npos);
  CHECK(mallory.find("e04  (1 earlier failure left the 60 s window)") != std::string::npos);
  CHECK(mallory.find("count 0, OK          e10") != std::string::npos);
  const std::string bob = slurp(source_path("tests/data/explain/streak-example-bob.txt"));
  CHECK(bob.find("OK -> ALARM (Threshold): 3 consecutive failures for arn=arn:aws:iam::111122223333:user/bob") !=
        std::string::npos);
}
