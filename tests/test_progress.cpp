// Progress bar of `cwfilter run` (issue 6: "a progress bar on stderr for long replays when stderr
// is a terminal"): the reader's byte counts it is built on, the bar under a pseudo-terminal, and
// no bar when stderr is a file or with --no-progress.
#include "support.hpp"

#include <cwfilter/input.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kExample = cwfilter::test::source_path("examples/failed-logins");

std::uint64_t sum_of_file_sizes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

[[noreturn]] void exec_cli(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

struct PtyRun {
  int status = -1;
  std::string terminal;  // everything written to the pseudo-terminal (stderr only)
  std::string stdout_text;
};

// Runs the CLI with stderr on a pseudo-terminal of 100 columns, stdout to a file.
PtyRun run_on_pty(const std::vector<std::string>& args, const fs::path& dir) {
  PtyRun out;
  const fs::path stdout_file = dir / "stdout";
  winsize ws{};
  ws.ws_col = 100;
  ws.ws_row = 30;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    exec_cli(args);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) out.terminal.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;  // EIO: the child closed the terminal (it exited)
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out.stdout_text = cwfilter::test::slurp(stdout_file.string());
  return out;
}

// The percentages of the bar frames, in order.
std::vector<int> percentages(const std::string& text) {
  std::vector<int> out;
  for (std::size_t at = text.find('%'); at != std::string::npos; at = text.find('%', at + 1)) {
    std::size_t b = at;
    while (b > 0 && std::isdigit(static_cast<unsigned char>(text[b - 1]))) --b;
    if (b < at) out.push_back(std::stoi(text.substr(b, at - b)));
  }
  return out;
}

fs::path scratch(const char* name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("cwfilter-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("InputReader counts the raw bytes it reads: compressed bytes for .gz, up to input_size", "[progress]") {
  const fs::path dir = kExample + "/cloudtrail";
  std::vector<std::uint64_t> reported;
  auto reader = cwfilter::InputReader::create({}, nullptr, nullptr);
  REQUIRE(reader.ok());
  reader->set_progress_callback([&](std::uint64_t bytes) { reported.push_back(bytes); });

  const std::uint64_t expected = sum_of_file_sizes(dir);
  auto size = reader->input_size(dir);
  REQUIRE(size.ok());
  CHECK(size.value() == expected);
  REQUIRE(reader->read_path(dir).ok());

  CHECK(reader->bytes_read() == expected);
  REQUIRE(!reported.empty());
  CHECK(std::is_sorted(reported.begin(), reported.end()));
  CHECK(reported.back() == expected);
  // One report at least per file: a directory replay moves the bar file by file or faster.
  std::uint64_t decoded = 0;
  for (const auto& s : reader->stats().sources) decoded += s.bytes_decoded;
  CHECK(reported.size() >= reader->stats().sources.size());
  CHECK(decoded > expected);  // what was counted is the compressed size, not the decoded one

  // A file: its size. A missing path: an error.
  auto config_size = reader->input_size(kExample + "/config.json");
  REQUIRE(config_size.ok());
  CHECK(config_size.value() == fs::file_size(kExample + "/config.json"));
  CHECK(!reader->input_size(kExample + "/no-such-file.json").ok());
}

TEST_CASE("run draws a progress bar on a terminal, ending at 100% and cleared", "[progress]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) {
    WARN("CWFILTER_CLI_PATH is empty (CLI not built): skipped");
    return;
  }
  const fs::path dir = scratch("progress-pty");
  const std::vector<std::string> args = {CWFILTER_CLI_PATH, "run", "--dead-letter", (dir / "dl.jsonl").string(),
                                         "--config", kExample + "/config.json", kExample + "/cloudtrail"};
  PtyRun r = run_on_pty(args, dir);
  INFO("terminal output: " << r.terminal);
  REQUIRE(r.status == 0);
  // The replay itself ran: the example's ALARM notification on stdout.
  CHECK(r.stdout_text.find("ALARM") != std::string::npos);

  const std::string& t = r.terminal;
  const std::size_t summary = t.find("cwfilter run: summary");
  REQUIRE(summary != std::string::npos);
  const std::string before = t.substr(0, summary);
  // Frames are redrawn in place: each starts with a carriage return and erases the line.
  CHECK(before.find("\r\x1b[K[") != std::string::npos);
  const std::vector<int> pcts = percentages(before);
  REQUIRE(!pcts.empty());
  CHECK(std::is_sorted(pcts.begin(), pcts.end()));
  CHECK(pcts.back() == 100);
  // The final frame: a full bar, 100%, nothing left to wait for.
  const std::size_t last = before.rfind("\r\x1b[K[");
  REQUIRE(last != std::string::npos);
  const std::string frame = before.substr(last + 4);
  CHECK(frame.find('.') > frame.find(']'));  // no unfilled cell before the bar's end
  CHECK(frame.find("100%") != std::string::npos);
  CHECK(frame.find(" events") != std::string::npos);
  CHECK(frame.find("ETA 0:00") != std::string::npos);
  // Cleared before the summary, and never wider than the terminal.
  CHECK(before.size() >= 4);
  CHECK(before.substr(before.size() - 4) == "\r\x1b[K");
  for (std::size_t at = before.find("\r\x1b[K"); at != std::string::npos; at = before.find("\r\x1b[K", at + 1)) {
    const std::size_t next = before.find('\r', at + 1);
    const std::size_t len = (next == std::string::npos ? before.size() : next) - at - 4;
    CHECK(len < 100);
  }
  fs::remove_all(dir);
}

TEST_CASE("run shows no progress with --no-progress or when stderr is not a terminal", "[progress]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) {
    WARN("CWFILTER_CLI_PATH is empty (CLI not built): skipped");
    return;
  }
  const fs::path dir = scratch("progress-off");
  const std::vector<std::string> base = {CWFILTER_CLI_PATH, "run", "--dead-letter", (dir / "dl.jsonl").string(),
                                         "--config", kExample + "/config.json"};

  SECTION("--no-progress on a terminal") {
    auto args = base;
    args.push_back("--no-progress");
    args.push_back(kExample + "/cloudtrail");
    PtyRun r = run_on_pty(args, dir);
    INFO("terminal output: " << r.terminal);
    REQUIRE(r.status == 0);
    CHECK(r.terminal.find("cwfilter run: summary") != std::string::npos);
    CHECK(r.terminal.find("\x1b[K") == std::string::npos);
    CHECK(percentages(r.terminal).empty());
  }

  SECTION("stderr redirected to a file") {
    auto args = base;
    args.push_back(kExample + "/cloudtrail");
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int out = ::open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      exec_cli(args);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const std::string err = cwfilter::test::slurp((dir / "stderr").string());
    INFO("stderr: " << err);
    CHECK(err.find("cwfilter run: summary") != std::string::npos);
    CHECK(err.find('\r') == std::string::npos);
    CHECK(err.find('\x1b') == std::string::npos);
    CHECK(percentages(err).empty());
  }
  fs::remove_all(dir);
}
