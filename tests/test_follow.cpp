// `cwfilter run --follow` (issue 6): a follower tails a file and evaluates on the wall clock; its
// ALARM notification reaches a `file` subscription; SIGTERM saves its state; a restarted follower
// continues the same windows, neither notifying again nor counting again what it had processed.
//
// The alarms have a 10 s period (high-resolution schedule: evaluated every 10 s of wall clock), so
// a notification follows the data within ~11 s. The metric filter publishes standard-resolution
// datapoints (one-minute cells) and every failure carries the same eventTime, so all of them fall
// in one cell, inside the alarms' 300 s reach for the whole test.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr const char* kTopic = "arn:aws:sns:us-east-1:111122223333:follow-alarms";

std::string iso_now() {
  std::time_t secs = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string login(const std::string& time, const std::string& user, bool failed, int id) {
  return fmt::format(
      R"({{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","accountId":"111122223333","userName":"{}"}},)"
      R"("eventTime":"{}","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",)"
      R"("sourceIPAddress":"198.51.100.7","responseElements":{{"ConsoleLogin":"{}"}},{}"eventID":"follow-{}"}})",
      user, time, failed ? "Failure" : "Success", failed ? R"("errorMessage":"Failed authentication",)" : "", id);
}

// Two alarms on the same failures: 3 or more (fires on the data of the first run), 5 or more
// (fires only once the second run adds two more to the three it must not count again).
void write_config(const fs::path& path, const fs::path& notifications) {
  std::ofstream f(path);
  const char* alarm = R"({{"AlarmName": "{0}", "Namespace": "Sec", "MetricName": "FailedLogins", "Statistic": "Sum",
      "Period": 10, "EvaluationPeriods": 30, "DatapointsToAlarm": 1, "Threshold": {1},
      "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
      "Unit": "Count", "AlarmActions": ["{2}"]}})";
  f << fmt::format(R"({{
  "metricFilters": [
    {{"filterName": "failed-logins", "logGroupName": "CloudTrail/DefaultLogGroup",
      "filterPattern": "{{ $.eventName = \"ConsoleLogin\" && $.errorMessage = \"Failed authentication\" }}",
      "metricTransformations": [{{"metricName": "FailedLogins", "metricNamespace": "Sec", "metricValue": "1", "unit": "Count"}}]}}
  ],
  "metricAlarms": [{0}, {1}],
  "subscriptions": [{{"TopicArn": "{2}", "Protocol": "file", "Endpoint": "{3}"}}]
}})",
                   fmt::format(fmt::runtime(alarm), "three-failures", 3, kTopic),
                   fmt::format(fmt::runtime(alarm), "five-failures", 5, kTopic),
                   kTopic, notifications.string());
}

pid_t spawn(const std::vector<std::string>& args, const fs::path& dir, const char* name) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open((dir / (std::string(name) + ".stdout")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((dir / (std::string(name) + ".stderr")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int terminate(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Polls `done` every 50 ms; false after `timeout`.
bool wait_until(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

struct Received {
  std::string alarm, state, reason;
};

std::vector<Received> notifications(const fs::path& file) {
  std::vector<Received> out;
  for (const auto& envelope : cwfilter::test::read_jsonl(file.string())) {
    rapidjson::Document m;
    const std::string text = cwfilter::test::str(envelope, "Message");
    m.Parse(text.c_str(), text.size());
    if (m.HasParseError()) continue;
    out.push_back({cwfilter::test::str(m, "AlarmName"), cwfilter::test::str(m, "NewStateValue"),
                   cwfilter::test::str(m, "NewStateReason")});
  }
  return out;
}

std::size_t count(const std::vector<Received>& list, const std::string& alarm) {
  std::size_t n = 0;
  for (const auto& r : list) n += r.alarm == alarm;
  return n;
}

// The bytes of `input` the follower has processed, as its state file says (0 if not yet written).
std::uint64_t follow_offset(const fs::path& state, const fs::path& input) {
  rapidjson::Document d;
  const std::string text = cwfilter::test::slurp(state.string());
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("followOffsets")) return 0;
  const auto& offsets = d["followOffsets"];
  auto it = offsets.FindMember(input.string().c_str());
  return it != offsets.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

// From a state file: the alarm's state, and how many failures its metric datapoints hold.
struct Saved {
  std::string three_failures_state;
  std::uint64_t failures = 0;
};
Saved saved_state(const fs::path& state) {
  Saved out;
  rapidjson::Document d;
  const std::string text = cwfilter::test::slurp(state.string());
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("pipeline")) return out;
  const auto& p = d["pipeline"];
  if (p.HasMember("alarms") && p["alarms"].IsArray())
    for (const auto& a : p["alarms"].GetArray())
      if (cwfilter::test::str(a, "AlarmName") == "three-failures") out.three_failures_state = cwfilter::test::str(a, "StateValue");
  if (p.HasMember("datapoints") && p["datapoints"].IsArray())
    for (const auto& dp : p["datapoints"].GetArray())
      if (cwfilter::test::str(dp, "name") == "FailedLogins" && dp.HasMember("n") && dp["n"].IsUint64())
        out.failures += dp["n"].GetUint64();
  return out;
}

// Appends a line to the followed file. The pause after it lets the follower (one round a second)
// take most lines in rounds of their own; nothing depends on it.
void append(const fs::path& input, const std::string& line) {
  {
    std::ofstream f(input, std::ios::app | std::ios::binary);
    f << line << "\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
}

}  // namespace

TEST_CASE("run --follow notifies on the wall clock, and a restarted follower continues without double counting",
          "[follow]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) {
    WARN("CWFILTER_CLI_PATH is empty (CLI not built): skipped");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("cwfilter-follow-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path input = dir / "trail.jsonl", state = dir / "state.json", out = dir / "notifications.jsonl";
  write_config(dir / "config.json", out);
  const std::string t0 = iso_now();
  {
    std::ofstream f(input);
    f << login(t0, "alice", false, 0) << "\n";  // read at start, before following
  }
  const std::vector<std::string> args = {CWFILTER_CLI_PATH, "run",  "--follow",  "--state",
                                         state.string(),    "--config", (dir / "config.json").string(),
                                         "--dead-letter",   (dir / "dl.jsonl").string(), input.string()};
  INFO("files kept in " << dir.string() << " if a check fails");

  // First follower: three failures appended one by one -> three-failures goes to ALARM.
  pid_t first = spawn(args, dir, "first");
  // The first commit of the state file: the file has been read, it is now followed.
  REQUIRE(wait_until([&] { return fs::exists(state); }, std::chrono::seconds(10)));
  for (int i = 1; i <= 3; ++i) append(input, login(t0, "bob", true, i));
  REQUIRE(wait_until([&] { return count(notifications(out), "three-failures") == 1; }, std::chrono::seconds(20)));
  auto received = notifications(out);
  REQUIRE(received.size() == 1);
  CHECK(received[0].state == "ALARM");
  CHECK(received[0].reason.find("[3.0 (") != std::string::npos);

  // SIGTERM: a clean exit with the state saved (alarm state, data, how far the file was read).
  const auto state_time = fs::last_write_time(state);
  REQUIRE(terminate(first) == 0);
  CHECK(fs::last_write_time(state) >= state_time);
  const std::string saved = cwfilter::test::slurp(state.string());
  rapidjson::Document d;
  d.Parse(saved.c_str(), saved.size());
  REQUIRE(!d.HasParseError());
  REQUIRE(d.HasMember("pipeline"));
  CHECK(follow_offset(state, input) == fs::file_size(input));
  CHECK(d["outbox"].IsArray());
  CHECK(d["outbox"].Empty());
  CHECK(saved_state(state).three_failures_state == "ALARM");
  CHECK(saved_state(state).failures == 3);

  // Second follower on the same file and state: two more failures make five, so five-failures
  // goes to ALARM with exactly 5 -- 6 or more would mean the first three were counted again,
  // no notification that they were lost. three-failures, still in ALARM, does not notify again.
  pid_t second = spawn(args, dir, "second");
  for (int i = 4; i <= 5; ++i) append(input, login(t0, "bob", true, i));
  REQUIRE(wait_until([&] { return count(notifications(out), "five-failures") >= 1; }, std::chrono::seconds(20)));
  REQUIRE(terminate(second) == 0);
  received = notifications(out);
  CHECK(count(received, "three-failures") == 1);
  REQUIRE(count(received, "five-failures") == 1);
  CHECK(received.size() == 2);
  for (const auto& r : received)
    if (r.alarm == "five-failures") {
      CHECK(r.state == "ALARM");
      CHECK(r.reason.find("[5.0 (") != std::string::npos);
    }
  CHECK(saved_state(state).failures == 5);
  CHECK(saved_state(state).three_failures_state == "ALARM");
  CHECK(!fs::exists(dir / "dl.jsonl"));
  const std::string second_err = cwfilter::test::slurp((dir / "second.stderr").string());
  INFO("second follower's stderr: " << second_err);
  // Its summary counts only the two lines it read.
  CHECK(second_err.find("events: 2 ") != std::string::npos);
  fs::remove_all(dir);
}
