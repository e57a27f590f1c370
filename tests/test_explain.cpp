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
