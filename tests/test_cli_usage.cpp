// Exit statuses of the CLI (README "Exit status", every subcommand's --help): 0 success,
// 1 invalid input (a pattern, a configuration), 2 usage or I/O error. Scripts and CI checks tell
// "the pattern is wrong" from "the command line is wrong" by them, so both are pinned here.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

std::filesystem::path work_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "cwfilter_cli_usage";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string write_file(const std::string& name, const std::string& content) {
  const auto path = work_dir() / name;
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

// Runs `cwfilter ARGS` with stdin from /dev/null (a usage error must not wait for input).
Run cli(const std::string& args) {
  static int counter = 0;
  const auto out = work_dir() / ("out" + std::to_string(++counter));
  const auto err = work_dir() / ("err" + std::to_string(counter));
  const std::string cmd = quote(CWFILTER_CLI_PATH) + " " + args + " </dev/null >" + quote(out.string()) + " 2>" +
                          quote(err.string());
  const int raw = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("cli: cwfilter test without a pattern is a usage error (exit 2)", "[cli][usage]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;

  SECTION("no option at all") {
    Run r = cli("test");
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(contains(r.err, "--filter-pattern is required"));
    CHECK(r.out.empty());
  }
  SECTION("messages but no --filter-pattern") {
    Run r = cli("test --log-event-messages ERROR");
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(contains(r.err, "--filter-pattern is required"));
  }
  SECTION("--cli-input-json without filterPattern") {
    const auto input = write_file("no_pattern.json", R"({"logEventMessages": ["ERROR x"]})");
    Run r = cli("test --cli-input-json " + quote("file://" + input));
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(contains(r.err, "--filter-pattern is required"));
  }
  SECTION("a file:// argument that cannot be read is an I/O error") {
    const std::string missing = (work_dir() / "does-not-exist.json").string();
    CHECK(cli("test --cli-input-json " + quote("file://" + missing)).status == 2);
    CHECK(cli("test --filter-pattern ERROR --log-event-messages " + quote("file://" + missing)).status == 2);
  }
  SECTION("the other statuses stay as they are") {
    Run ok = cli("test --filter-pattern ERROR --log-event-messages 'ERROR x' 'INFO y'");
    INFO(ok.err);
    CHECK(ok.status == 0);
    CHECK(contains(ok.out, R"("eventNumber":1)"));
    // An invalid pattern is invalid input, not a usage error.
    CHECK(cli("test --filter-pattern '{ $.a = ' --log-event-messages x").status == 1);
    const auto input = write_file("pattern_in_json.json", R"({"filterPattern": "ERROR", "logEventMessages": ["ERROR"]})");
    CHECK(cli("test --cli-input-json " + quote("file://" + input)).status == 0);
    const auto bad = write_file("not_json.json", "not json");
    CHECK(cli("test --cli-input-json " + quote("file://" + bad)).status == 1);
  }
}

TEST_CASE("cli: cwfilter backtest option mistakes are usage errors (exit 2)", "[cli][usage]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const auto alarm = write_file(
      "alarm.json",
      R"({"AlarmName":"a","Namespace":"N","MetricName":"M","Statistic":"Sum","Period":60,)"
      R"("EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"})");
  const auto data = write_file(
      "data.json", R"({"Namespace":"N","MetricData":[{"MetricName":"M","Timestamp":"2026-01-01T00:00:30Z","Value":5}]})");
  const std::string base = "backtest --alarm " + quote("file://" + alarm) + " --metric-data " + quote("file://" + data);

  Run ok = cli(base + " --at 2026-01-01T00:01:00Z");
  INFO(ok.err);
  REQUIRE(ok.status == 0);

  CHECK(cli(base + " --from 2026-01-01T00:01:00Z").status == 2);  // --from without --to
  CHECK(cli(base + " --at 2026-01-01T00:01:00Z --from 2026-01-01T00:01:00Z --to 2026-01-01T00:02:00Z").status == 2);
  CHECK(cli(base + " --from 2026-01-01T00:02:00Z --to 2026-01-01T00:01:00Z").status == 2);
  CHECK(cli(base + " --at yesterday").status == 2);
  CHECK(cli(base + " --initial-state MAYBE").status == 2);
  CHECK(cli("backtest --alarm " + quote("file://" + (work_dir() / "missing.json").string()) + " --metric-data " +
            quote("file://" + data))
            .status == 2);
  // An alarm AWS would reject is invalid input.
  const auto bad_alarm = write_file("bad_alarm.json", R"({"AlarmName":"a"})");
  CHECK(cli("backtest --alarm " + quote("file://" + bad_alarm) + " --metric-data " + quote("file://" + data)).status ==
        1);
}

TEST_CASE("cli: every subcommand without its required input is a usage error (exit 2)", "[cli][usage]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  CHECK(cli("").status == 2);
  CHECK(cli("validate").status == 2);
  CHECK(cli("test").status == 2);
  CHECK(cli("backtest").status == 2);
  CHECK(cli("run").status == 2);
  CHECK(cli("explain").status == 2);
  CHECK(cli("redeliver").status == 2);
  CHECK(cli("no-such-subcommand").status == 2);
}
