// cwfilter in CI and pre-commit: the hook of .pre-commit-hooks.yaml run exactly as pre-commit runs it
// (its `files` / `types` selection, its `entry` with the changed file names appended) over a
// commit that mixes a template with other JSON/YAML files; a bad path among several; and the
// GitHub Actions examples of docs/ci-integration.md and README.md (SARIF written and uploaded even
// when the annotation step fails the job), and SARIF artifact URIs.
#include <catch2/catch.hpp>

#include <cwfilter/iac.hpp>

#include "iac/tree.hpp"
#include "support.hpp"

using namespace cwfilter::test;
using cwfilter::iac::detail::Node;

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct Run {
  int status = -1;
  std::string out;
};

// Runs `command` (a shell command line) in `dir`; stdout only.
Run run_in(const fs::path& dir, const std::string& command) {
  Run r;
  const std::string cmd = "cd " + sh_quote(dir.string()) + " && " + command + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct Hook {
  std::string id, entry, files;
  std::vector<std::string> types, types_or, exclude_types;
};

std::vector<std::string> strings_of(const Node* n) {
  std::vector<std::string> out;
  if (n && n->is_array())
    for (const auto& i : n->items) out.push_back(i.text);
  return out;
}

std::vector<Hook> hooks() {
  auto doc = cwfilter::iac::detail::parse_yaml(slurp(source_path(".pre-commit-hooks.yaml")));
  REQUIRE(doc.ok());
  REQUIRE(doc->is_array());
  std::vector<Hook> out;
  for (const auto& h : doc->items) {
    Hook hook;
    REQUIRE(h.get("id"));
    REQUIRE(h.get("entry"));
    hook.id = h.get("id")->text;
    hook.entry = h.get("entry")->text;
    hook.files = h.get("files") ? h.get("files")->text : "";
    hook.types = strings_of(h.get("types"));
    hook.types_or = strings_of(h.get("types_or"));
    hook.exclude_types = strings_of(h.get("exclude_types"));
    out.push_back(hook);
  }
  return out;
}

// The tags pre-commit's `identify` gives a text file, by extension (the ones these hooks care about;
// `.template` is not a known extension: a text file with no other tag).
std::set<std::string> tags_of(const std::string& name) {
  std::set<std::string> tags = {"file", "text"};
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".json") tags.insert("json");
  if (ext == ".yaml" || ext == ".yml") tags.insert("yaml");
  if (ext == ".md") tags.insert("markdown");
  return tags;
}

// pre-commit's selection: `files` searched (re.search), every `types` tag, one of `types_or`, no
// `exclude_types` (the default `types` is [file]).
bool selects(const Hook& h, const std::string& name) {
  if (!h.files.empty() && !std::regex_search(name, std::regex(h.files))) return false;
  const auto tags = tags_of(name);
  for (const auto& t : h.types)
    if (!tags.count(t)) return false;
  if (!h.types_or.empty() &&
      std::none_of(h.types_or.begin(), h.types_or.end(), [&tags](const std::string& t) { return tags.count(t) > 0; }))
    return false;
  for (const auto& t : h.exclude_types)
    if (tags.count(t)) return false;
  return true;
}

// A commit touching a template with a broken pattern, and the JSON/YAML files every repository has.
struct Commit {
  fs::path dir;
  std::vector<std::string> files;
  Commit() {
    dir = fs::temp_directory_path() / ("cwfilter_precommit_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "infra");
    fs::create_directories(dir / ".github/workflows");
    std::ofstream(dir / "infra/alarms.template")
        << "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Failed:\n    Type: AWS::Logs::MetricFilter\n"
           "    Properties:\n      LogGroupName: app\n      FilterPattern: '{ $.level = ERROR'\n"
           "      MetricTransformations:\n        - {MetricName: m, MetricNamespace: n, MetricValue: '1'}\n";
    std::ofstream(dir / "package.json") << "{\n  \"name\": \"infra\",\n  \"version\": \"1.0.0\"\n}\n";
    std::ofstream(dir / ".github/workflows/ci.yml")
        << "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make test\n";
    std::ofstream(dir / ".pre-commit-config.yaml")
        << "repos:\n  - repo: https://github.com/your-org/cwfilter\n    rev: v0.1.0\n    hooks:\n"
           "      - id: cwfilter-validate\n";
    // tsconfig.json allows comments: not JSON, not a template.
    std::ofstream(dir / "tsconfig.json") << "{\n  // compiler options\n  \"compilerOptions\": {}\n}\n";
    std::ofstream(dir / "README.md") << "# infra\n";
    files = {"infra/alarms.template", "package.json", ".github/workflows/ci.yml", ".pre-commit-config.yaml",
             "tsconfig.json", "README.md"};
  }
  ~Commit() { fs::remove_all(dir); }
};

// The hook's entry as pre-commit runs it: `cwfilter` from PATH (here: the built CLI), then the
// entry's arguments, then the selected file names.
std::string command_of(const Hook& h, const std::vector<std::string>& names) {
  REQUIRE(h.entry.rfind("cwfilter ", 0) == 0);
  std::string cmd = sh_quote(CWFILTER_CLI_PATH) + h.entry.substr(std::string("cwfilter").size());
  for (const auto& n : names) cmd += " " + sh_quote(n);
  return cmd;
}

}  // namespace

TEST_CASE("pre-commit: the hooks pass .template files to cwfilter", "[iac][precommit]") {
  auto hs = hooks();
  REQUIRE(hs.size() == 2);
  for (const auto& h : hs) {
    INFO(h.id);
    CHECK(selects(h, "infra/alarms.template"));
    CHECK(selects(h, "stack.template"));
    CHECK(selects(h, "infra/stack.yaml"));
    CHECK(selects(h, "infra/stack.yml"));
    CHECK(selects(h, "plan.json"));
    CHECK_FALSE(selects(h, "README.md"));
  }
}

TEST_CASE("pre-commit: the hook's exact entry over a commit mixing a template with other files",
          "[iac][precommit][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  Commit commit;
  for (const auto& h : hooks()) {
    INFO(h.id);
    std::vector<std::string> selected;
    for (const auto& f : commit.files)
      if (selects(h, f)) selected.push_back(f);
    CHECK(std::find(selected.begin(), selected.end(), "infra/alarms.template") != selected.end());
    CHECK(std::find(selected.begin(), selected.end(), "package.json") != selected.end());
    CHECK(std::find(selected.begin(), selected.end(), ".github/workflows/ci.yml") != selected.end());
    // The template's error fails the commit (exit 1, not 2): the other files are skipped.
    auto run = run_in(commit.dir, command_of(h, selected));
    INFO(run.out);
    CHECK(run.status == 1);
    CHECK(run.out.find("infra/alarms.template:7:40: error: ") != std::string::npos);
    CHECK(run.out.find("package.json: skipped: not a CloudFormation template") != std::string::npos);
    CHECK(run.out.find(".github/workflows/ci.yml: skipped: ") != std::string::npos);
    CHECK(run.out.find("tsconfig.json: skipped: ") != std::string::npos);
    CHECK(run.out.find("error: cannot parse") == std::string::npos);
    // Without the template, the same commit passes.
    std::vector<std::string> others;
    for (const auto& f : selected)
      if (f != "infra/alarms.template") others.push_back(f);
    auto clean = run_in(commit.dir, command_of(h, others));
    INFO(clean.out);
    CHECK(clean.status == 0);
  }
}

TEST_CASE("validate --paths: a bad path is reported and the other paths are still checked", "[iac][cli]") {
  // Library: every path is checked; the bad one is listed.
  auto r = cwfilter::iac::check_paths({source_path("tests/data/iac/no-such-file.json"),
                                       source_path("tests/data/iac/terraform/plan.json")});
  REQUIRE(r.ok());
  REQUIRE(r->path_errors.size() == 1);
  CHECK(r->path_errors[0].path == source_path("tests/data/iac/no-such-file.json"));
  CHECK(r->path_errors[0].reason.find("cannot read") == 0);
  CHECK(r->files.size() == 1);
  CHECK(r->has(cwfilter::iac::Severity::kError));
  // A named file of unknown kind: an error, or skipped with skip_unknown.
  auto unknown = cwfilter::iac::check_paths({source_path("CMakePresets.json")});
  REQUIRE(unknown.ok());
  CHECK(unknown->path_errors.size() == 1);
  CHECK(unknown->skipped.empty());
  cwfilter::iac::CheckOptions skip;
  skip.skip_unknown = true;
  auto skipped = cwfilter::iac::check_paths({source_path("CMakePresets.json")}, skip);
  REQUIRE(skipped.ok());
  CHECK(skipped->path_errors.empty());
  REQUIRE(skipped->skipped.size() == 1);
  CHECK(skipped->skipped[0].path == source_path("CMakePresets.json"));
  // check_path keeps its contract: an Error for its one bad path.
  CHECK_FALSE(cwfilter::iac::check_path(source_path("CMakePresets.json")).ok());
  CHECK(cwfilter::iac::check_path(source_path("CMakePresets.json"), skip).ok());

  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const fs::path root = CWFILTER_SOURCE_DIR;
  const std::string cli = sh_quote(CWFILTER_CLI_PATH);
  // Exit 2 for the missing path, yet plan.json's findings are printed (it is checked after it).
  auto text = run_in(root, cli + " validate --paths no-such-file.json tests/data/iac/terraform/plan.json");
  CHECK(text.status == 2);
  CHECK(text.out.find("tests/data/iac/terraform/plan.json:") != std::string::npos);
  auto json = run_in(root, cli + " validate --paths --format json no-such-file.json CMakePresets.json "
                                 "tests/data/iac/terraform/plan.json");
  CHECK(json.status == 2);
  rapidjson::Document doc;
  doc.Parse(json.out.c_str());
  REQUIRE(doc.IsObject());
  REQUIRE(doc["path_errors"].IsArray());
  CHECK(doc["path_errors"].Size() == 2);
  CHECK(std::string(doc["path_errors"][0]["file"].GetString()) == "no-such-file.json");
  CHECK(std::string(doc["path_errors"][1]["file"].GetString()) == "CMakePresets.json");
  CHECK(doc["skipped"].Size() == 0);
  CHECK(doc["findings"].Size() > 0);
  CHECK_FALSE(doc["valid"].GetBool());
  // --skip-unknown: the unknown file is skipped, the missing one is still an error.
  auto skip_json = run_in(root, cli + " validate --skip-unknown --paths --format json no-such-file.json "
                                      "CMakePresets.json tests/data/iac/terraform/plan.json");
  CHECK(skip_json.status == 2);
  rapidjson::Document sd;
  sd.Parse(skip_json.out.c_str());
  REQUIRE(sd.IsObject());
  CHECK(sd["path_errors"].Size() == 1);
  REQUIRE(sd["skipped"].Size() == 1);
  CHECK(std::string(sd["skipped"][0]["file"].GetString()) == "CMakePresets.json");
  // Only skipped files and findings: exit 1.
  CHECK(run_in(root, cli + " validate --skip-unknown --paths CMakePresets.json tests/data/iac/terraform/plan.json")
            .status == 1);
  auto gh = run_in(root, cli + " validate --paths --format github no-such-file.json tests/data/iac/terraform/plan.json");
  CHECK(gh.status == 2);
  CHECK(gh.out.find("::error file=no-such-file.json,title=cwfilter path::") != std::string::npos);
}

TEST_CASE("SARIF artifact locations: relative under the current directory, file:// URIs elsewhere", "[iac][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const std::string cli = sh_quote(CWFILTER_CLI_PATH);
  // The locations of a run's results, as "uri|uriBaseId" (every result of a one-file run has the same).
  auto locations = [](const std::string& sarif, std::string& root) {
    rapidjson::Document doc;
    doc.Parse(sarif.c_str());
    REQUIRE(doc.IsObject());
    const auto& run = doc["runs"][0];
    REQUIRE(run.HasMember("originalUriBaseIds"));
    root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"].GetString();
    std::set<std::string> out;
    for (const auto& r : run["results"].GetArray()) {
      const auto& a = r["locations"][0]["physicalLocation"]["artifactLocation"];
      out.insert(std::string(a["uri"].GetString()) + "|" + (a.HasMember("uriBaseId") ? a["uriBaseId"].GetString() : ""));
    }
    return out;
  };
  const fs::path source = fs::canonical(CWFILTER_SOURCE_DIR);
  const std::string plan = (source / "tests/data/iac/terraform/plan.json").string();
  std::string root;
  // An absolute path under the current directory: relative to it.
  auto under = run_in(source, cli + " validate --paths --format sarif " + sh_quote(plan));
  CHECK(under.status == 1);
  CHECK(locations(under.out, root) == std::set<std::string>{"tests/data/iac/terraform/plan.json|%SRCROOT%"});
  CHECK(root == "file://" + source.string() + "/");
  // Elsewhere: an absolute file:// URI, percent-encoded, without uriBaseId.
  const fs::path tmp = fs::temp_directory_path() / ("cwfilter_sarif_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "infra/with space");
  fs::create_directories(tmp / "other");
  fs::copy_file(plan, tmp / "infra/with space/plan.json");
  const fs::path t = fs::canonical(tmp);
  auto outside = run_in(t / "other", cli + " validate --paths --format sarif " + sh_quote(plan));
  CHECK(locations(outside.out, root) == std::set<std::string>{"file://" + plan + "|"});
  CHECK(root == "file://" + (t / "other").string() + "/");
  auto up = run_in(t / "other", cli + " validate --paths --format sarif '../infra/with space/plan.json'");
  CHECK(locations(up.out, root) == std::set<std::string>{"file://" + t.string() + "/infra/with%20space/plan.json|"});
  // A relative path under the current directory stays relative.
  auto rel = run_in(t / "infra", cli + " validate --paths --format sarif 'with space/plan.json'");
  CHECK(locations(rel.out, root) == std::set<std::string>{"with%20space/plan.json|%SRCROOT%"});
  auto abs_under = run_in(t / "infra", cli + " validate --paths --format sarif " + sh_quote((t / "infra/with space/plan.json").string()));
  CHECK(locations(abs_under.out, root) == std::set<std::string>{"with%20space/plan.json|%SRCROOT%"});
  fs::remove_all(tmp);
}

namespace {

// The ```yaml blocks of a Markdown file that contain `needle`.
std::vector<std::string> yaml_blocks(const std::string& markdown, const std::string& needle) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = markdown.find("```yaml\n", pos)) != std::string::npos) {
    const std::size_t start = pos + 8;
    const std::size_t end = markdown.find("\n```", start);
    if (end == std::string::npos) break;
    std::string block = markdown.substr(start, end - start + 1);
    if (block.find(needle) != std::string::npos) out.push_back(block);
    pos = end + 4;
  }
  return out;
}

// Steps of an Actions workflow, or of a bare list of steps (the README's short copy).
std::vector<Node> steps_of(const std::string& yaml) {
  // A bare, indented step list: parse it as a sequence.
  auto doc = cwfilter::iac::detail::parse_yaml(yaml);
  REQUIRE(doc.ok());
  if (doc->is_array()) return doc->items;
  const Node* jobs = doc->get("jobs");
  REQUIRE(jobs);
  REQUIRE(!jobs->members.empty());
  const Node* steps = jobs->members.front().second.get("steps");
  REQUIRE(steps);
  return steps->items;
}

// Whether a step runs after an earlier step failed the job.
bool runs_after_failure(const Node& step) {
  const Node* cond = step.get("if");
  if (!cond) return false;
  return cond->text.find("always()") != std::string::npos || cond->text.find("failure()") != std::string::npos ||
         cond->text.find("!cancelled()") != std::string::npos;
}

void check_actions_example(const std::vector<Node>& steps) {
  auto run_of = [](const Node& s) { return s.get("run") ? s.get("run")->text : std::string(); };
  auto uses_of = [](const Node& s) { return s.get("uses") ? s.get("uses")->text : std::string(); };
  std::size_t annotate = steps.size(), sarif = steps.size(), upload = steps.size();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (run_of(steps[i]).find("--format github") != std::string::npos) annotate = i;
    if (run_of(steps[i]).find("--format sarif") != std::string::npos) sarif = i;
    if (uses_of(steps[i]).rfind("github/codeql-action/upload-sarif", 0) == 0) upload = i;
  }
  REQUIRE(annotate < steps.size());
  REQUIRE(sarif < steps.size());
  REQUIRE(upload < steps.size());
  CHECK(sarif < upload);
  // The annotation step exits 1 on findings: the SARIF steps must run anyway.
  CHECK((sarif < annotate || runs_after_failure(steps[sarif])));
  CHECK((upload < annotate || runs_after_failure(steps[upload])));
  // Exit 1 (findings) must not stop the SARIF step before the upload; exit 2 should.
  const std::string cmd = run_of(steps[sarif]);
  CHECK((cmd.find("|| [ $? -eq 1 ]") != std::string::npos || runs_after_failure(steps[upload])));
}

}  // namespace

TEST_CASE("GitHub Actions examples upload the SARIF when there are findings", "[iac][docs]") {
  SECTION("docs/ci-integration.md") {
    auto blocks = yaml_blocks(slurp(source_path("docs/ci-integration.md")), "upload-sarif");
    REQUIRE(blocks.size() == 1);
    check_actions_example(steps_of(blocks[0]));
  }
  SECTION("README.md") {
    auto blocks = yaml_blocks(slurp(source_path("README.md")), "upload-sarif");
    REQUIRE(blocks.size() == 1);
    // The README's copy is a list of steps, indented as in a workflow.
    std::string block = blocks[0];
    check_actions_example(steps_of(block));
  }
}

TEST_CASE("the pre-commit snippets of the docs are the hooks' definitions", "[iac][docs]") {
  const std::string docs = slurp(source_path("docs/ci-integration.md"));
  const std::string readme = slurp(source_path("README.md"));
  for (const auto& h : hooks()) {
    INFO(h.id);
    CHECK(docs.find("entry: " + h.entry + "\n") != std::string::npos);
    CHECK(readme.find(h.id) != std::string::npos);
  }
  CHECK(readme.find("--skip-unknown") != std::string::npos);
  CHECK(docs.find("types_or: [json, yaml]\n") == std::string::npos);
}
