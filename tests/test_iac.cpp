// cwfilter validate over infrastructure code: the fixtures in tests/data/iac were written from the
// patterns of the shared corpus (broken ones included); every finding is asserted with its line and
// column. Also: the SARIF 2.1.0 required fields, github annotations, exit codes, the bare-pattern
// contract, and the lint rules over the corpus's flagged patterns.
#include <catch2/catch.hpp>

#include <cwfilter/iac.hpp>
#include <cwfilter/lint.hpp>
#include <cwfilter/pattern.hpp>

#include "iac/tree.hpp"
#include "support.hpp"

using namespace cwfilter::test;

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <tuple>

namespace {

using cwfilter::iac::Severity;

struct Expected {
  std::string rule;
  std::size_t line, column;
  bool operator<(const Expected& o) const { return std::tie(line, column, rule) < std::tie(o.line, o.column, o.rule); }
  bool operator==(const Expected& o) const { return rule == o.rule && line == o.line && column == o.column; }
};

std::vector<Expected> findings_of(const cwfilter::iac::Report& r, const std::string& file_suffix = "") {
  std::vector<Expected> out;
  for (const auto& f : r.findings) {
    if (!file_suffix.empty() &&
        (f.location.file.size() < file_suffix.size() ||
         f.location.file.compare(f.location.file.size() - file_suffix.size(), file_suffix.size(), file_suffix) != 0))
      continue;
    out.push_back({f.rule, f.location.line, f.location.column});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string fixture(const std::string& rel) { return source_path("tests/data/iac/" + rel); }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun run_cli(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string("cd ") + shell_quote(CWFILTER_SOURCE_DIR) + " && " + shell_quote(CWFILTER_CLI_PATH) +
                          " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace

TEST_CASE("CloudFormation YAML: every finding with line and column", "[iac]") {
  auto r = cwfilter::iac::check_path(fixture("cloudformation/cis-console-logins.yaml"));
  REQUIRE(r.ok());
  std::vector<Expected> want = {
      {"pattern-syntax", 24, 77},                   // ""Failed authentication"": the F after the doubled quote
      {"pattern-syntax", 34, 82},                   // Failed authentication unquoted: the space's next word
      {"cis-console-login-never-matches", 44, 25},  // KICS: $.eventName != ConsoleLogin
      {"mixed-and-or", 56, 77},                     // folded block scalar: the '||' on its own line
      {"not-checkable", 68, 27},                    // !Sub with ${Environment}
      {"not-checkable", 78, 22},                    // !Join
      {"pattern-syntax", 85, 23},                   // '/"levelname": "ERROR"/'
      {"alarm-insufficient-data", 92, 19},          // the seed: no defaultValue, TreatMissingData unset
      {"alarm-unit-mismatch", 98, 13},              // the seed: Unit Count vs None
      {"alarm-metric-not-published", 105, 19},      // RouteTableEventsCount (typo)
      {"alarm-config", 120, 15},                    // Period 45
  };
  std::sort(want.begin(), want.end());
  CHECK(findings_of(*r) == want);
  CHECK(r->patterns.size() == 8);
  CHECK(r->alarms == 3);
  for (const auto& f : r->findings) {
    if (f.rule == "not-checkable") CHECK(f.severity == Severity::kInfo);
    if (f.rule == "pattern-syntax") {
      CHECK(f.severity == Severity::kError);
      REQUIRE(f.compile_error.has_value());
    }
  }
}

TEST_CASE("CloudFormation JSON: positions through JSON escapes", "[iac]") {
  auto r = cwfilter::iac::check_path(fixture("cloudformation/baseline.template.json"));
  REQUIRE(r.ok());
  std::vector<Expected> want = {
      {"pattern-syntax", 9, 169},            // nozaq's lost '}': end of pattern = the closing quote, 6 \" before it
      {"quoted-number-relational", 29, 41},  // "500" after two \" escapes... the value's opening \"
      {"metric-transformation", 42, 26},     // dimensions on a term pattern: the Dimensions value
      {"term-looks-structured", 50, 27},     // "{ $.level = ERROR }" quoted
      {"quoted-number-relational", 61, 73},  // Fn::Sub without ${}: checked as a literal
      {"alarm-config", 73, 30},              // DatapointsToAlarm 6 > EvaluationPeriods 5
  };
  std::sort(want.begin(), want.end());
  CHECK(findings_of(*r) == want);
  // The term with \\\" escapes is valid: RADIUS's "\"authentication_result\": \"Access-Reject\"".
  bool found = false;
  for (const auto& p : r->patterns)
    if (p.pattern == "\"\\\"authentication_result\\\": \\\"Access-Reject\\\"\"") found = p.family.has_value();
  CHECK(found);
}

TEST_CASE("Terraform plan JSON: root and child modules", "[iac]") {
  auto r = cwfilter::iac::check_path(fixture("terraform/plan.json"));
  REQUIRE(r.ok());
  std::vector<Expected> want = {
      {"pattern-syntax", 20, 34},               // =~ from another query language: the '~'
      {"term-looks-structured", 34, 38},        // "NXDOMAIN" OR "SERVFAIL": OR is a term
      {"pattern-syntax", 48, 25},               // %...% OR %...%: '%' in a term
      {"term-looks-structured", 62, 25},        // [TEST]
      {"not-checkable", 91, 9},                 // filter_pattern unknown until apply
      {"alarm-insufficient-data", 119, 35},     // treat_missing_data "missing", no default_value
      {"mixed-and-or", 139, 104},               // module.cis route table trap
      {"alarm-metric-not-published", 151, 32},  // RouteTableChange vs RouteTableChanges
  };
  std::sort(want.begin(), want.end());
  CHECK(findings_of(*r) == want);
  CHECK(r->patterns.size() == 8);  // the heredoc pattern with whitespace is valid and counted
}

TEST_CASE("cdk.out: templates are read through manifest.json", "[iac]") {
  auto r = cwfilter::iac::check_path(fixture("cdk.out"));
  REQUIRE(r.ok());
  std::vector<Expected> want = {{"pattern-syntax", 6, 28}, {"not-checkable", 43, 22}};
  CHECK(findings_of(*r) == want);
  REQUIRE(r->findings.size() == 2);
  CHECK(r->findings[0].location.file.find("MonitoringStack.template.json") != std::string::npos);
  CHECK(r->patterns.size() == 3);
  // "[SUCCESS]" quoted (CDK's rendering) is a term pattern, no warning.
  for (const auto& p : r->patterns)
    if (p.pattern == "\"[SUCCESS]\"") CHECK(p.family == cwfilter::Family::kTerm);
}

TEST_CASE("describe-metric-filters + describe-alarms are cross-checked as one source", "[iac]") {
  auto r = cwfilter::iac::check_paths({fixture("describe/metric-filters.json"), fixture("describe/alarms.json")});
  REQUIRE(r.ok());
  CHECK(findings_of(*r, "alarms.json") == std::vector<Expected>{{"alarm-insufficient-data", 17, 27},
                                                                 {"alarm-unit-mismatch", 22, 21},
                                                                 {"alarm-config", 46, 26}});
  CHECK(findings_of(*r, "metric-filters.json") ==
        std::vector<Expected>{{"cis-console-login-never-matches", 18, 70}, {"metric-transformation", 40, 35}});
  // Alone, the alarms have no filter to be checked against: no cross-check warnings.
  auto alone = cwfilter::iac::check_path(fixture("describe/alarms.json"));
  REQUIRE(alone.ok());
  CHECK(findings_of(*alone) == std::vector<Expected>{{"alarm-config", 46, 26}});
}

TEST_CASE("directories are walked; unknown files skipped; errors for unreadable paths", "[iac]") {
  auto r = cwfilter::iac::check_path(fixture(""));
  REQUIRE(r.ok());
  CHECK(r->files.size() == 7);  // 2 CFN + plan + cdk manifest + its template + 2 describe
  auto missing = cwfilter::iac::check_path(fixture("no-such-file.json"));
  CHECK_FALSE(missing.ok());
  auto unknown = cwfilter::iac::check_document("x.json", R"({"hello": 1})");
  CHECK_FALSE(unknown.ok());
  auto broken = cwfilter::iac::check_document("t.json", "{\n  \"Resources\": {\n    \"A\": [1,\n}");
  REQUIRE(broken.ok());
  REQUIRE(broken->findings.size() == 1);
  CHECK(broken->findings[0].rule == "document-syntax");
  CHECK(broken->findings[0].location.line == 4);
}

TEST_CASE("position mapping: JSON escapes, YAML quoted, plain and block scalars", "[iac]") {
  using namespace cwfilter::iac::detail;
  auto j = parse_json("{\"p\": \"\\u00e9\\\"ab\"}");
  REQUIRE(j.ok());
  const Node* p = j->get("p");
  REQUIRE(p);
  CHECK(p->text == "\xC3\xA9\"ab");
  CHECK(p->position_of(0).column == 8);  // the backslash of \u00e9
  CHECK(p->position_of(1).column == 8);  // second byte of é: same source character
  CHECK(p->position_of(2).column == 14); // \"
  CHECK(p->position_of(3).column == 16); // a
  auto y = parse_yaml("a: 'it''s'\nb: \"x\\\"y\"\nc: plain value\nd: |\n  line1\n  line2\n");
  REQUIRE(y.ok());
  CHECK(y->get("a")->text == "it's");
  CHECK(y->get("a")->position_of(3).column == 9);  // 's' after the doubled quote (cols 7-8)
  CHECK(y->get("b")->position_of(2).column == 8);
  CHECK(y->get("c")->position_of(6).column == 10);
  const Node* d = y->get("d");
  CHECK(d->text == "line1\nline2\n");
  CHECK(d->position_of(6).line == 6);
  CHECK(d->position_of(6).column == 3);
}

// The template reader accepts exactly the \u escapes RapidJSON does (pattern/prefilter_search.cpp's
// decoder reads them with the same helper): a surrogate pair is one character; a lone surrogate or
// bad hex is an error at the escape's backslash.
TEST_CASE("template JSON: \\u escapes, surrogate pairs and lone surrogates", "[iac]") {
  using namespace cwfilter::iac::detail;
  auto pair = parse_json(R"({"p": "a\ud83d\ude00b\u00e9"})");
  REQUIRE(pair.ok());
  CHECK(pair->get("p")->text == "a\xF0\x9F\x98\x80" "b\xC3\xA9");
  CHECK(pair->get("p")->position_of(1).column == 9);  // the pair's first backslash
  CHECK(pair->get("p")->position_of(5).column == 21); // b
  for (const char* bad : {R"({"p": "x\ud800"})", R"({"p": "x\ud800y"})", R"({"p": "x\ud800\u0041"})",
                          R"({"p": "x\udc00"})", R"({"p": "x\ud800\ud800"})"}) {
    INFO(bad);
    auto r = parse_json(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "invalid \\u escape: a UTF-16 surrogate without its pair");
    CHECK(r.error().pos.column == 9);
  }
  for (const char* bad : {R"({"p": "x\u12"})", R"({"p": "x\u12g4"})", R"({"p": "x\ud800\u12"})"}) {
    INFO(bad);
    auto r = parse_json(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "invalid \\u escape");
    CHECK(r.error().pos.column == 9);
  }
}

TEST_CASE("validate --paths: exit codes, strict, formats", "[iac][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cwfilter_iac_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "clean.yaml") << "Resources:\n  F:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n"
                                         "      LogGroupName: g\n      FilterPattern: '{ $.a = 1 }'\n"
                                         "      MetricTransformations:\n        - {MetricName: m, MetricNamespace: n, MetricValue: '1'}\n";
    std::ofstream(dir / "warn.yaml") << "Resources:\n  F:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n"
                                        "      LogGroupName: g\n      FilterPattern: '{ $.a > \"1\" }'\n"
                                        "      MetricTransformations:\n        - {MetricName: m, MetricNamespace: n, MetricValue: '1'}\n";
  }
  CHECK(run_cli("validate --paths " + shell_quote((dir / "clean.yaml").string())).status == 0);
  auto warn = run_cli("validate --paths " + shell_quote((dir / "warn.yaml").string()));
  CHECK(warn.status == 0);
  CHECK(warn.out.find(":6:31: warning:") != std::string::npos);
  CHECK(run_cli("validate --strict --paths " + shell_quote((dir / "warn.yaml").string())).status == 1);
  CHECK(run_cli("validate --paths " + shell_quote((dir / "missing.yaml").string())).status == 2);
  CHECK(run_cli("validate --paths tests/data/iac/terraform/plan.json").status == 1);
  CHECK(run_cli("validate --format xml 'ERROR'").status == 2);
  fs::remove_all(dir);

  auto gh = run_cli("validate --paths --format github tests/data/iac/cloudformation/cis-console-logins.yaml");
  CHECK(gh.status == 1);
  CHECK(gh.out.find("::error file=tests/data/iac/cloudformation/cis-console-logins.yaml,line=24,col=77,title=cwfilter "
                    "pattern-syntax::") != std::string::npos);
  CHECK(gh.out.find("::notice file=tests/data/iac/cloudformation/cis-console-logins.yaml,line=68,col=27,") !=
        std::string::npos);
  CHECK(gh.out.find("::warning file=tests/data/iac/cloudformation/cis-console-logins.yaml,line=98,col=13,") !=
        std::string::npos);
}

TEST_CASE("SARIF output has the 2.1.0 schema's required fields", "[iac][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  auto run = run_cli("validate --paths --format sarif tests/data/iac");
  CHECK(run.status == 1);
  rapidjson::Document doc;
  doc.Parse(run.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  CHECK(std::string(doc["version"].GetString()) == "2.1.0");
  REQUIRE(doc.HasMember("$schema"));
  CHECK(std::string(doc["$schema"].GetString()).find("sarif") != std::string::npos);
  REQUIRE(doc["runs"].IsArray());
  REQUIRE(doc["runs"].Size() == 1);
  const auto& runv = doc["runs"][0];
  const auto& driver = runv["tool"]["driver"];
  CHECK(std::string(driver["name"].GetString()) == "cwfilter");
  std::set<std::string> rule_ids;
  for (const auto& rule : driver["rules"].GetArray()) {
    REQUIRE(rule.HasMember("id"));
    rule_ids.insert(rule["id"].GetString());
  }
  CHECK(rule_ids.count("pattern-syntax"));
  CHECK(rule_ids.count("alarm-unit-mismatch"));
  REQUIRE(runv["results"].IsArray());
  // As many results as findings in the JSON output.
  auto json = run_cli("validate --paths --format json tests/data/iac");
  rapidjson::Document jd;
  jd.Parse(json.out.c_str());
  REQUIRE(jd.IsObject());
  CHECK(runv["results"].Size() == jd["findings"].Size());
  CHECK(runv["results"].Size() >= 30);
  for (const auto& res : runv["results"].GetArray()) {
    REQUIRE(res["ruleId"].IsString());
    CHECK(rule_ids.count(res["ruleId"].GetString()));
    const std::string level = res["level"].GetString();
    CHECK((level == "error" || level == "warning" || level == "note"));
    CHECK(std::string(res["message"]["text"].GetString()).size() > 0);
    REQUIRE(res["locations"].IsArray());
    REQUIRE(res["locations"].Size() >= 1);
    const auto& phys = res["locations"][0]["physicalLocation"];
    CHECK(std::string(phys["artifactLocation"]["uri"].GetString()).rfind("tests/data/iac/", 0) == 0);
    CHECK(phys["region"]["startLine"].GetUint() >= 1);
    CHECK(phys["region"]["startColumn"].GetUint() >= 1);
  }
}

TEST_CASE("validate: the bare-pattern contract is unchanged", "[iac][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  auto ok = run_cli("validate 'ERROR' '[a, b]'");
  CHECK(ok.status == 0);
  CHECK(ok.out == "<argument 1>:1: ok: term pattern\n<argument 2>:1: ok: space-delimited pattern\n");
  auto bad = run_cli("validate '{ $.a = '");
  CHECK(bad.status == 1);
  CHECK(bad.out.rfind("<argument 1>:1:8: error: If a filter pattern starts with '{' it must end with '}'", 0) == 0);
  CHECK(bad.out.find("\n  { $.a = \n         ^") != std::string::npos);
  auto json = run_cli("validate --format json 'ERROR' '{ a'");
  rapidjson::Document d;
  d.Parse(json.out.c_str());
  REQUIRE(d.IsObject());
  CHECK_FALSE(d["valid"].GetBool());
  REQUIRE(d["results"].Size() == 2);
  CHECK(d["results"][0]["valid"].GetBool());
  CHECK(std::string(d["results"][0]["ast"].GetString()) == "(terms (required bare \"ERROR\"))");
  CHECK(d["results"][1]["error"]["column"].GetUint() == 4);
  CHECK(run_cli("validate").status == 2);
}

TEST_CASE("lint over the corpus's flagged patterns", "[iac][lint]") {
  auto records = read_jsonl(shared_path("corpus/patterns.jsonl"));
  REQUIRE(records.size() > 500);
  int traps = 0, broken = 0;
  for (const auto& r : records) {
    std::set<std::string> flags;
    if (r.HasMember("flags") && r["flags"].IsArray())
      for (const auto& f : r["flags"].GetArray()) flags.insert(f.GetString());
    const std::string pattern = r["pattern"].GetString();
    auto compiled = cwfilter::compile(pattern);
    if (flags.count("and_or_precedence_trap")) {
      REQUIRE(compiled.ok());
      bool warned = false;
      for (const auto& w : cwfilter::lint::check_pattern(*compiled)) warned |= w.rule == "mixed-and-or";
      INFO(pattern);
      CHECK(warned);
      ++traps;
    }
    if (flags.count("doubled_quotes") || flags.count("unquoted_value_with_space") || flags.count("no_closing_brace")) {
      INFO(pattern);
      CHECK_FALSE(compiled.ok());
      ++broken;
    }
  }
  CHECK(traps == 11);
  CHECK(broken >= 5);
}

TEST_CASE("lint rules and their offsets", "[iac][lint]") {
  auto warnings = [](const std::string& p) {
    auto c = cwfilter::compile(p);
    REQUIRE(c.ok());
    std::vector<std::pair<std::string, std::size_t>> out;
    for (const auto& w : cwfilter::lint::check_pattern(*c)) out.emplace_back(w.rule, w.offset);
    return out;
  };
  using V = std::vector<std::pair<std::string, std::size_t>>;
  CHECK(warnings("{ $.a = 1 && $.b = 2 || $.c = 3 }") == V{{"mixed-and-or", 21}});
  CHECK(warnings("{ ($.a = 1 && $.b = 2) || $.c = 3 }").empty());
  CHECK(warnings("{ $.a = \"x && y || z\" }").empty());
  CHECK(warnings("[w1 = a || w1 = b && w1 != c, w2]") == V{{"mixed-and-or", 18}});
  CHECK(warnings("{ $.status >= \"500\" }") == V{{"quoted-number-relational", 14}});
  CHECK(warnings("{ $.status >= 500 }").empty());
  CHECK(warnings("\"NXDOMAIN\" OR \"SERVFAIL\"") == V{{"term-looks-structured", 11}});
  CHECK(warnings("?NXDOMAIN ?SERVFAIL").empty());
  CHECK(warnings("[ERROR]") == V{{"term-looks-structured", 0}});
  CHECK(warnings("\"[ERROR]\"").empty());
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }").empty());
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"failed authentication\") }") ==
        V{{"cis-console-login-never-matches", 35}});
  CHECK(warnings("{ ($.eventName = consolelogin) && ($.errorMessage = \"Failed authentication\") }") ==
        V{{"cis-console-login-never-matches", 3}});
  CHECK(warnings("{ $.eventName = ConsoleLogin && $.responseElements.ConsoleLogin = \"Failure\" }").empty());
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != \"Yes\") }").empty());
  // `!=` a value CloudTrail never writes holds for every sign-in: the condition filters nothing.
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != \"yes\") }") ==
        V{{"cis-console-login-never-matches", 35}});
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin != \"failure\") }") ==
        V{{"cis-console-login-never-matches", 35}});
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Y*) }").empty());
  CHECK(warnings("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != \"No\") }").empty());
  auto ne = cwfilter::compile("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != \"yes\") }");
  REQUIRE(ne.ok());
  auto ne_warnings = cwfilter::lint::check_pattern(*ne);
  REQUIRE(ne_warnings.size() == 1);
  CHECK(ne_warnings[0].message.find("always true") != std::string::npos);
  CHECK(ne_warnings[0].message.find("\"Yes\" or \"No\"") != std::string::npos);
  auto eq = cwfilter::compile("{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed = \"no\") }");
  REQUIRE(eq.ok());
  auto eq_warnings = cwfilter::lint::check_pattern(*eq);
  REQUIRE(eq_warnings.size() == 1);
  CHECK(eq_warnings[0].message.find("can never match") != std::string::npos);
}

// ---- streak alarms in a `cwfilter run` CONFIG (issue 11) -------------------------------------------

namespace {

// 1-based line and column (in bytes; the text is ASCII) of `needle`'s first occurrence, + `skip`.
std::pair<std::size_t, std::size_t> where(const std::string& text, const std::string& needle, std::size_t skip = 0) {
  const std::size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  const std::size_t off = at + skip;
  const std::size_t line_start = text.rfind('\n', off == 0 ? 0 : off - 1);
  const std::size_t line = static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<long>(off), '\n')) + 1;
  const std::size_t column = off - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
  return {line, column};
}

const char* kStreakConfig = R"({
  "subscriptions": [
    {"TopicArn": "arn:aws:sns:us-east-1:111122223333:security", "Protocol": "stdout", "Endpoint": "-"}
  ],
  "metricFilters": [
    {"filterName": "f", "logGroupName": "CloudTrail/logs", "filterPattern": "{ $.eventName = ConsoleLogin }",
     "metricTransformations": [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}]}
  ],
  "metricAlarms": [],
  "streakAlarms": [
    {
      "AlarmName": "good",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.errorMessage = \"Failed authentication\" }",
      "SuccessPattern": "{ $.responseElements.ConsoleLogin = \"Success\" }",
      "Threshold": 3,
      "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:security"]
    },
    {
      "AlarmName": "bad-pattern",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.errorMessage = }",
      "Threshold": 3
    },
    {
      "AlarmName": "bad-threshold",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Threshold": 0
    },
    {
      "AlarmName": "bad-group-by",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "[ip, user, action]",
      "GroupBy": ["$user", "$host"],
      "Threshold": 3
    },
    {
      "AlarmName": "bad-window",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Threshold": 2,
      "Window": 99999999
    },
    {
      "AlarmName": "typo",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Treshold": 2
    },
    {
      "AlarmName": "good",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Threshold": 2,
      "ResetAfter": 0
    },
    {
      "AlarmName": "unsubscribed-elsewhere",
      "LogGroupName": "Other/group",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Threshold": 2,
      "OKActions": ["arn:aws:sns:us-east-1:111122223333:nobody-listens"]
    },
    {
      "AlarmName": "good",
      "LogGroupName": "CloudTrail/logs",
      "FailurePattern": "{ $.eventName = ConsoleLogin }",
      "Threshold": 2
    }
  ]
})";

}  // namespace

TEST_CASE("validate: streak alarms of a run CONFIG are checked, each finding on its field", "[iac][streak]") {
  const std::string text = kStreakConfig;
  auto r = cwfilter::iac::check_document("config.json", text);
  REQUIRE(r.ok());
  auto at = [&](const char* rule, const std::string& needle, std::size_t skip = 0) {
    auto [line, column] = where(text, needle, skip);
    return Expected{rule, line, column};
  };
  // The pattern error is placed on its character: the compiler's offset inside the string.
  auto bad = cwfilter::compile("{ $.errorMessage = }");
  REQUIRE_FALSE(bad.ok());
  const std::string bad_pattern = "\"{ $.errorMessage = }\"";
  std::vector<Expected> want = {
      at("pattern-syntax", bad_pattern, 1 + bad.error().offset),
      at("streak-alarm-config", "\"Threshold\": 0", 13),
      at("streak-alarm-config", "\"$host\""),
      at("streak-alarm-config", "99999999"),
      at("streak-alarm-config", "\"Treshold\": 2", 12),
      at("streak-alarm-config", "\"ResetAfter\": 0", 14),
      at("streak-log-group-not-run", "\"Other/group\""),
      at("streak-action-unsubscribed", "\"arn:aws:sns:us-east-1:111122223333:nobody-listens\""),
  };
  // The last alarm is valid but reuses the name "good".
  const std::size_t last_good = text.rfind("\"AlarmName\": \"good\"");
  want.push_back(at("streak-alarm-config", text.substr(last_good, 200), 13));
  std::sort(want.begin(), want.end());
  CHECK(findings_of(*r) == want);
  for (const auto& f : r->findings) {
    INFO(f.message);
    CHECK(f.resource.rfind("streakAlarms[", 0) == 0);
  }
  // Messages are the library's, without the item prefix (the resource names the item).
  auto message_of = [&](const std::string& resource_prefix) {
    for (const auto& f : r->findings)
      if (f.resource.rfind(resource_prefix, 0) == 0) return f.message;
    return std::string();
  };
  CHECK(message_of("streakAlarms[2] bad-threshold") == "Threshold must be an integer from 1 to 1000 (is 0)");
  CHECK(message_of("streakAlarms[3] bad-group-by").find("GroupBy '$host' is not a field of FailurePattern") == 0);
  CHECK(message_of("streakAlarms[5] typo").find("unknown key 'Treshold'") == 0);
  CHECK(r->alarms == 9);
  // Patterns of streak alarms are listed like filter patterns.
  std::size_t streak_patterns = 0;
  for (const auto& p : r->patterns) streak_patterns += p.resource.rfind("streakAlarms[", 0) == 0;
  CHECK(streak_patterns == 10);

  // Without lint: only the errors.
  cwfilter::iac::CheckOptions no_lint;
  no_lint.lint = false;
  auto strict = cwfilter::iac::check_document("config.json", text, no_lint);
  REQUIRE(strict.ok());
  CHECK(strict->findings.size() == want.size() - 2);
}

TEST_CASE("validate: the bundled streak CONFIG is clean; a bad one fails the CLI", "[iac][streak][cli]") {
  auto r = cwfilter::iac::check_path(source_path("examples/failed-logins/config-streak.json"));
  REQUIRE(r.ok());
  for (const auto& f : r->findings) INFO(f.rule << ": " << f.message);
  CHECK_FALSE(r->has(Severity::kError));
  CHECK(r->alarms == 2);  // the metric alarm and the streak alarm
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  CHECK(run_cli("validate --paths examples/failed-logins/config-streak.json").status == 0);
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cwfilter_streak_validate_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << kStreakConfig;
  auto out = run_cli("validate --paths --format json " + shell_quote((dir / "config.json").string()));
  fs::remove_all(dir);
  CHECK(out.status == 1);
  rapidjson::Document d;
  d.Parse(out.out.c_str());
  REQUIRE(d.IsObject());
  CHECK_FALSE(d["valid"].GetBool());
  std::size_t streak_errors = 0;
  for (const auto& f : d["findings"].GetArray())
    streak_errors += std::string(f["rule"].GetString()) == "streak-alarm-config";
  CHECK(streak_errors == 6);
}
