// Starts one of the Python test servers in tests/servers/ as a child process, reads the
// "PORT <n>" line it prints once listening, and stops it (SIGTERM, then SIGKILL) on destruction.
// The servers also stop by themselves after their --lifetime.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cwfilter_test {

class ServerProcess {
 public:
  // `script` is a file name in tests/servers/. Returns nullptr (and sets `error`) on failure.
  static std::unique_ptr<ServerProcess> start(const std::string& script,
                                              std::vector<std::string> args, std::string& error) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      error = "pipe failed";
      return nullptr;
    }
    std::vector<std::string> argv_s = {"python3",
                                       std::string(CWFILTER_SOURCE_DIR) + "/tests/servers/" + script};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, "python3", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      error = "cannot start python3";
      return nullptr;
    }
    auto proc = std::unique_ptr<ServerProcess>(new ServerProcess(pid));
    // Python may take seconds to start on a busy machine.
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[64];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (line.rfind("PORT ", 0) != 0) {
      error = "server did not report its port: '" + line + "'";
      return nullptr;
    }
    proc->port_ = std::atoi(line.c_str() + 5);
    return proc;
  }

  ~ServerProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }

  int port() const { return port_; }

 private:
  explicit ServerProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  int port_ = 0;
};

// A loopback port that nothing listens on (bound, then released).
inline int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The non-empty lines of a file (none if it does not exist).
inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Waits until `path` has at least `n` lines (servers write their records before replying, so
// this normally returns at once).
inline std::vector<std::string> wait_for_lines(const std::string& path, std::size_t n,
                                               std::chrono::milliseconds timeout =
                                                   std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto lines = read_lines(path);
    if (lines.size() >= n || std::chrono::steady_clock::now() >= deadline) return lines;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A fresh private directory for one test's files.
inline std::string temp_dir() {
  std::string tmpl = "/tmp/cwfilter-sinks-XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string("/tmp");
}

}  // namespace cwfilter_test
