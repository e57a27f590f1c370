// End-to-end: `cwfilter run` on the bundled example, state restarts, input formats and real
// notification delivery to local servers.
#include "support.hpp"
#include "servers/server_process.hpp"

#include <cwfilter/pipeline.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

using namespace cwfilter;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs the CLI with a shell command line; stdout and stderr captured through files.
Run cli(const std::string& args, const std::string& stdin_file = "") {
  static int n = 0;
  std::string base = fmt::format("/tmp/cwfilter-pipeline-test-{}-{}", ::getpid(), n++);
  std::string cmd = fmt::format("{} {} >{}.out 2>{}.err{}", CWFILTER_CLI_PATH, args, base, base,
                                stdin_file.empty() ? " </dev/null" : " <" + stdin_file);
  Run r;
  int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = test::slurp(base + ".out");
  r.err = test::slurp(base + ".err");
  fs::remove(base + ".out");
  fs::remove(base + ".err");
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    if (nl > pos) out.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string example(const std::string& rel) { return test::source_path("examples/failed-logins/" + rel); }

std::string tmpdir() {
  std::string t = fmt::format("/tmp/cwfilter-pipeline-{}-{}", ::getpid(), std::rand());
  fs::create_directories(t);
  return t;
}

}  // namespace

TEST_CASE("example: the corrected seed setup notifies, the literal one warns", "[pipeline][example]") {
  std::string dl = tmpdir() + "/dl.jsonl";
  Run ok = cli(fmt::format("run --quiet --dead-letter {} --config {} {}", dl, example("config.json"), example("cloudtrail")));
  REQUIRE(ok.status == 0);
  CHECK(ok.out == test::slurp(example("expected-notifications.jsonl")));
  CHECK(ok.out.find("\\\"NewStateValue\\\":\\\"ALARM\\\"") != std::string::npos);
  CHECK(ok.out.find("ALARM: \\\"failed-console-logins\\\"") != std::string::npos);
  CHECK(ok.err.find("warning") == std::string::npos);

  Run seed = cli(fmt::format("run --quiet --dead-letter {} --config {} {}", dl, example("config-literal-seed.json"),
                             example("cloudtrail")));
  REQUIRE(seed.status == 0);
  CHECK(seed.out.empty());
  CHECK(seed.err.find("warning: unit mismatch: alarm \"failed-console-logins\" reads "
                      "CloudTrailMetrics/failed_login_attempt_count with Unit Count, but metric filter "
                      "\"failed-console-logins\" publishes it with Unit None") != std::string::npos);
  CHECK(seed.err.find("final state INSUFFICIENT_DATA") != std::string::npos);
}

TEST_CASE("a --state restart in the middle of a window gives the notifications of one run", "[pipeline][state]") {
  std::string dir = tmpdir();
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(example("cloudtrail")))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 12);
  std::string until = "2026-11-02T10:30:00Z";
  Run whole = cli(fmt::format("run --quiet --dead-letter {0}/dl --until {1} --config {2} {3}", dir, until,
                              example("config.json"), example("cloudtrail")));
  REQUIRE(whole.status == 0);
  REQUIRE(lines(whole.out).size() >= 1);
  // Split after the first file: bob's three failures straddle nothing yet, the window is open.
  for (std::size_t split : {1, 2, 5}) {
    std::string state = fmt::format("{}/state-{}.json", dir, split);
    std::string first, second;
    for (std::size_t i = 0; i < files.size(); ++i) (i < split ? first : second) += " " + files[i].string();
    Run a = cli(fmt::format("run --quiet --dead-letter {}/dl --state {} --config {}{}", dir, state, example("config.json"), first));
    REQUIRE(a.status == 0);
    REQUIRE(fs::exists(state));
    // The restarted run is also given the first files again: they must not count twice.
    Run b = cli(fmt::format("run --quiet --dead-letter {}/dl --state {} --until {} --config {}{}{}", dir, state, until,
                            example("config.json"), first, second));
    REQUIRE(b.status == 0);
    INFO("split after " << split << " files");
    CHECK(a.out + b.out == whole.out);
  }
}

TEST_CASE("pipeline library: JSON lines and out-of-order input within the lateness", "[pipeline]") {
  auto cfg = parse_pipeline_config(test::slurp(example("config.json")));
  REQUIRE(cfg.ok());
  auto events = read_all(example("cloudtrail"));
  REQUIRE(events.ok());
  auto run_with = [&](std::vector<LogEvent> evs) {
    std::vector<std::string> got;
    auto p = Pipeline::create(cfg.value(), PipelineOptions{}, [&](const PipelineNotification& n) {
      got.push_back(n.alarm_name + "@" + std::to_string(n.at_ms) + " " + std::string(alarm::to_string(n.new_state)));
    });
    REQUIRE(p.ok());
    for (const auto& e : evs) p->add(e);
    p->finish();
    return got;
  };
  auto in_order = run_with(events.value().events);
  REQUIRE(in_order.size() == 2);
  // Reverse every block of 5 events (all within 15 minutes of each other): same notifications.
  auto shuffled = events.value().events;
  for (std::size_t i = 0; i + 5 <= shuffled.size(); i += 5) std::reverse(shuffled.begin() + i, shuffled.begin() + i + 5);
  CHECK(run_with(shuffled) == in_order);

  // The same events as JSON lines through the CLI.
  std::string dir = tmpdir();
  {
    std::ofstream f(dir + "/events.jsonl");
    for (const auto& e : events.value().events) f << e.message << "\n";
  }
  Run r = cli(fmt::format("run --quiet --dead-letter {0}/dl --config {1} {0}/events.jsonl", dir, example("config.json")));
  REQUIRE(r.status == 0);
  CHECK(r.out == test::slurp(example("expected-notifications.jsonl")));
}

TEST_CASE("pipeline: subscription-filter payloads and the Lambda event", "[pipeline]") {
  auto events = read_all(example("cloudtrail"));
  REQUIRE(events.ok());
  std::string payload = R"({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"CloudTrail/DefaultLogGroup","logStream":"s","subscriptionFilters":["f"],"logEvents":[)";
  bool first = true;
  int id = 0;
  for (const auto& e : events.value().events) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.String(e.message.c_str());
    payload += fmt::format("{}{{\"id\":\"{}\",\"timestamp\":{},\"message\":{}}}", first ? "" : ",", ++id, e.timestamp_ms, b.GetString());
    first = false;
  }
  payload += "]}";
  std::string dir = tmpdir();
  gzFile gz = gzopen((dir + "/payload.gz").c_str(), "wb");
  gzwrite(gz, payload.data(), static_cast<unsigned>(payload.size()));
  gzclose(gz);
  Run r = cli(fmt::format("run --quiet --dead-letter {0}/dl --config {1} {0}/payload.gz", dir, example("config.json")));
  REQUIRE(r.status == 0);
  CHECK(r.out == test::slurp(example("expected-notifications.jsonl")));
}

TEST_CASE("pipeline: webhook to a local HTTP server, dead letter when it is down", "[pipeline][sinks]") {
  std::string dir = tmpdir();
  std::string error;
  auto server = cwfilter_test::ServerProcess::start("http_recorder.py", {"--record", dir + "/requests.jsonl", "--lifetime", "60"}, error);
  REQUIRE(server);
  auto cfg_text = test::slurp(example("config.json"));
  auto with_endpoint = [&](const std::string& url) {
    rapidjson::Document d;
    d.Parse(cfg_text.c_str());
    auto& sub = d["subscriptions"][0];
    sub["Protocol"].SetString("http");
    sub["Endpoint"].SetString(url.c_str(), static_cast<rapidjson::SizeType>(url.size()), d.GetAllocator());
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    d.Accept(w);
    return std::string(b.GetString());
  };
  std::ofstream(dir + "/up.json") << with_endpoint(fmt::format("http://127.0.0.1:{}/hook", server->port()));
  Run up = cli(fmt::format("run --quiet --dead-letter {0}/dl-up --config {0}/up.json {1}", dir, example("cloudtrail")));
  CHECK(up.status == 0);
  auto reqs = cwfilter_test::wait_for_lines(dir + "/requests.jsonl", 2);
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].find("x-amz-sns-message-type") != std::string::npos);
  CHECK(reqs[0].find("failed-console-logins") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/dl-up"));

  // A closed port: every notification lands in the dead-letter file, exit status 1.
  std::ofstream(dir + "/down.json") << with_endpoint("http://127.0.0.1:9/hook");
  Run down = cli(fmt::format("run --quiet --max-attempts 2 --dead-letter {0}/dl-down --config {0}/down.json {1}", dir, example("cloudtrail")));
  CHECK(down.status == 1);
  CHECK(lines(test::slurp(dir + "/dl-down")).size() == 2);
}

TEST_CASE("example: the streak alarm beside the CloudWatch-exact alarm", "[pipeline][streak][example]") {
  std::string dl = tmpdir() + "/dl.jsonl";
  Run r = cli(fmt::format("run --quiet --dead-letter {} --config {} {}", dl, example("config-streak.json"), example("cloudtrail")));
  REQUIRE(r.status == 0);
  auto out = lines(r.out);
  REQUIRE(out.size() == 3);
  std::vector<std::string> seen;
  for (const auto& l : out) {
    rapidjson::Document env;
    env.Parse(l.c_str());
    REQUIRE(env.IsObject());
    rapidjson::Document msg;
    msg.Parse(env["Message"].GetString());
    REQUIRE(msg.IsObject());
    seen.push_back(std::string(env["Timestamp"].GetString()) + " " + msg["AlarmName"].GetString() + " " +
                   msg["NewStateValue"].GetString());
    if (std::string(msg["AlarmName"].GetString()) == "three-consecutive-failed-sign-ins") {
      REQUIRE(msg.HasMember("Streak"));
      CHECK(msg["Streak"]["Count"].GetInt() == 3);
    }
  }
  CHECK(seen == std::vector<std::string>{
                    "2026-11-02T09:02:40.000Z three-consecutive-failed-sign-ins ALARM",  // at bob's third failure
                    "2026-11-02T09:03:00.000Z failed-console-logins ALARM",              // next minute tick
                    "2026-11-02T09:08:00.000Z failed-console-logins ALARM"});
  // The CloudWatch-exact notifications are the same as without the streak alarm.
  auto plain = lines(test::slurp(example("expected-notifications.jsonl")));
  CHECK(out[1] == plain[0]);
  CHECK(out[2] == plain[1]);
}

// All corpus CloudTrail events through every compiling CIS metric filter of the pattern corpus,
// each with an alarm built from the record's own alarm settings (or the common CIS setup); the
// run's summary counts are checked against counts made here with the reference evaluator.
TEST_CASE("replay of the CloudTrail corpus through the CIS filters and alarms", "[pipeline][corpus]") {
  std::string dir = tmpdir();
  rapidjson::Document cfg(rapidjson::kObjectType);
  auto& A = cfg.GetAllocator();
  rapidjson::Value filters(rapidjson::kArrayType), alarms(rapidjson::kArrayType);
  std::vector<std::pair<std::string, Pattern>> compiled;  // filter name -> pattern
  std::set<std::string> seen;
  for (const auto& r : test::read_jsonl(test::shared_path("corpus/patterns.jsonl"))) {
    if (test::str(r, "kind") != "cis") continue;
    std::string pattern = test::str(r, "pattern");
    if (!seen.insert(pattern).second || !compile(pattern).ok()) continue;
    std::string name = fmt::format("cis-{}", compiled.size() + 1);
    compiled.emplace_back(name, *compile(pattern));
    rapidjson::Value f(rapidjson::kObjectType), mt(rapidjson::kObjectType), mts(rapidjson::kArrayType);
    f.AddMember("filterName", rapidjson::Value(name.c_str(), A), A);
    f.AddMember("logGroupName", "CloudTrail/logs", A);
    f.AddMember("filterPattern", rapidjson::Value(pattern.c_str(), A), A);
    mt.AddMember("metricName", rapidjson::Value(name.c_str(), A), A);
    mt.AddMember("metricNamespace", "CISBenchmark", A);
    mt.AddMember("metricValue", "1", A);
    mts.PushBack(mt, A);
    f.AddMember("metricTransformations", mts, A);
    filters.PushBack(f, A);
    const rapidjson::Value* al = r.HasMember("alarm") && r["alarm"].IsObject() ? &r["alarm"] : nullptr;
    auto num = [&](const char* k, int dflt) { return al && al->HasMember(k) && (*al)[k].IsNumber() ? (*al)[k].GetInt() : dflt; };
    rapidjson::Value a(rapidjson::kObjectType);
    a.AddMember("AlarmName", rapidjson::Value(name.c_str(), A), A);
    a.AddMember("Namespace", "CISBenchmark", A);
    a.AddMember("MetricName", rapidjson::Value(name.c_str(), A), A);
    a.AddMember("Statistic", "Sum", A);
    a.AddMember("Period", num("period", 300), A);
    a.AddMember("EvaluationPeriods", num("evaluation_periods", 1), A);
    a.AddMember("Threshold", num("threshold", 1), A);
    a.AddMember("ComparisonOperator", "GreaterThanOrEqualToThreshold", A);
    a.AddMember("TreatMissingData", "notBreaching", A);
    alarms.PushBack(a, A);
  }
  REQUIRE(compiled.size() >= 100);
  cfg.AddMember("metricFilters", filters, A);
  cfg.AddMember("metricAlarms", alarms, A);
  {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    cfg.Accept(w);
    std::ofstream(dir + "/cis.json") << b.GetString();
  }
  std::string inputs;
  std::vector<LogEvent> events;
  for (const char* sub : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    inputs += " " + test::shared_path(std::string("corpus/cloudtrail/") + sub);
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + sub));
    REQUIRE(r.ok());
    for (auto& e : r.value().events) events.push_back(std::move(e));
  }
  Run run = cli(fmt::format("run --quiet --summary-format json --dead-letter {0}/dl --config {0}/cis.json{1}", dir, inputs));
  REQUIRE(run.status == 0);
  rapidjson::Document summary;
  std::string last_line = lines(run.err).back();
  summary.Parse(last_line.c_str());
  REQUIRE(summary.IsObject());
  CHECK(summary["events"].GetUint64() == events.size());
  REQUIRE(summary["filters"].Size() == compiled.size());
  std::size_t total_matches = 0;
  for (rapidjson::SizeType i = 0; i < summary["filters"].Size(); ++i) {
    const auto& f = summary["filters"][i];
    REQUIRE(std::string(f["filterName"].GetString()) == compiled[i].first);
    std::uint64_t expected = 0;
    for (const auto& e : events) expected += reference::match(compiled[i].second.ast(), e.message).matched;
    INFO(compiled[i].first << ": " << compiled[i].second.source());
    CHECK(f["matches"].GetUint64() == expected);
    CHECK(f["datapoints"].GetUint64() == expected);
    total_matches += expected;
  }
  CHECK(total_matches > 0);
  // Every alarm with data went to ALARM at least once (threshold 1 in 300 s is the CIS setup).
  std::size_t alarmed = 0;
  for (const auto& a : summary["alarms"].GetArray())
    alarmed += a["transitionsTo"].HasMember("ALARM") && a["transitionsTo"]["ALARM"].GetUint64() > 0;
  CHECK(alarmed > 0);
  CHECK(summary["notifications"].GetUint64() == 0);  // no AlarmActions configured
}

TEST_CASE("example: per-user alarms through a User dimension", "[pipeline][example]") {
  std::string dl = tmpdir() + "/dl.jsonl";
  Run r = cli(fmt::format("run --quiet --dead-letter {} --config {} {}", dl, example("config-per-user.json"), example("cloudtrail")));
  REQUIRE(r.status == 0);
  auto out = lines(r.out);
  REQUIRE_FALSE(out.empty());
  for (const auto& l : out) {
    rapidjson::Document env;
    env.Parse(l.c_str());
    rapidjson::Document msg;
    msg.Parse(env["Message"].GetString());
    // Only bob failed three times; alice, carol and dave never alarm.
    CHECK(std::string(msg["AlarmName"].GetString()) == "failed-console-logins-bob");
    CHECK(std::string(msg["NewStateValue"].GetString()) == "ALARM");
    CHECK(std::string(msg["Trigger"]["Dimensions"][0]["value"].GetString()) == "bob");
  }
  CHECK(r.err.find("alarm failed-console-logins-alice:") != std::string::npos);
  CHECK(r.err.find("warning") == std::string::npos);
}

TEST_CASE("pipeline: e-mail notifications delivered to a local SMTP server", "[pipeline][sinks]") {
  std::string dir = tmpdir();
  std::string error;
  auto server = cwfilter_test::ServerProcess::start("smtp_recorder.py", {"--record", dir + "/mail.jsonl", "--lifetime", "60"}, error);
  REQUIRE(server);
  rapidjson::Document d;
  std::string cfg_text = test::slurp(example("config.json"));
  d.Parse(cfg_text.c_str());
  auto& A = d.GetAllocator();
  auto& sub = d["subscriptions"][0];
  sub["Protocol"].SetString("email");
  sub["Endpoint"].SetString("security@example.com");
  rapidjson::Value smtp(rapidjson::kObjectType);
  std::string url = fmt::format("smtp://127.0.0.1:{}", server->port());
  smtp.AddMember("url", rapidjson::Value(url.c_str(), A), A);
  smtp.AddMember("from", "AWS Notifications <no-reply@sns.amazonaws.com>", A);
  d.AddMember("smtp", smtp, A);
  {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    d.Accept(w);
    std::ofstream(dir + "/mail.json") << b.GetString();
  }
  Run r = cli(fmt::format("run --quiet --dead-letter {0}/dl --config {0}/mail.json {1}", dir, example("cloudtrail")));
  CHECK(r.status == 0);
  auto mails = cwfilter_test::wait_for_lines(dir + "/mail.jsonl", 2);
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].find("security@example.com") != std::string::npos);
  CHECK(mails[0].find("failed-console-logins") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/dl"));
}
