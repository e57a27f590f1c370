// exec: `/bin/sh -c ENDPOINT` with the envelope (or raw Message) on stdin.
//
// The command's stdout goes to our stderr (our stdout may carry the `stdout` protocol's JSON
// lines); its stderr is captured (last 2 KiB) for the error message and also echoed to our
// stderr. Environment: ours plus SNS_TOPIC_ARN, SNS_MESSAGE_ID, SNS_SUBJECT and
// SNS_SUBSCRIPTION_ARN. Exit status 0 = delivered; anything else, a signal or the timeout (the
// command's process group is then killed with SIGKILL) = a failed attempt, retried like a
// network error.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinks/internal.hpp"

extern char** environ;

namespace cwfilter::sinks {
namespace {

constexpr std::size_t kStderrTail = 2048;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string env_value(std::string_view v) {
  std::string out(v);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

}  // namespace

Attempt deliver_exec(const Subscription& subscription, const Notification& notification,
                     const DeliveryOptions& options) {
  int in_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    return Attempt::failure(fmt::format("exec: pipe: {}", std::strerror(errno)), true);
  }
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Attempt::failure(fmt::format("exec: pipe: {}", std::strerror(errno)), true);
  }
  Fd err_read{err_pipe[0]}, err_write{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default SIGPIPE handling and an empty signal mask, whatever ours are.
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  // Its own process group, so that a timeout kills the whole pipeline the shell started.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("SNS_", 0) == 0) continue;  // ours replace any inherited ones
    env_strings.emplace_back(kv);
  }
  env_strings.push_back("SNS_TOPIC_ARN=" + env_value(notification.topic_arn));
  env_strings.push_back("SNS_MESSAGE_ID=" + env_value(notification.message_id));
  env_strings.push_back("SNS_SUBJECT=" + env_value(notification.subject));
  env_strings.push_back("SNS_SUBSCRIPTION_ARN=" + env_value(subscription.subscription_arn));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string command = subscription.endpoint;
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char* argv[] = {sh, dash_c, command.data(), nullptr};
  pid_t pid = -1;
  int spawn_rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawn_rc != 0) {
    return Attempt::failure(fmt::format("exec: cannot start /bin/sh: {}", std::strerror(spawn_rc)),
                            true);
  }
  in_read.reset();
  err_write.reset();
  ::fcntl(in_write.fd, F_SETFL, ::fcntl(in_write.fd, F_GETFL) | O_NONBLOCK);

  // Block SIGPIPE in this thread while writing: a command that does not read its stdin must not
  // kill us. A pending SIGPIPE is consumed before the mask is restored.
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);

  const std::string& payload = payload_of(subscription, notification);
  std::size_t written = 0;
  std::string stderr_tail;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + options.exec_timeout;
  if (payload.empty()) in_write.reset();
  while (in_write.fd >= 0 || err_read.fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    int in_index = -1, err_index = -1;
    if (in_write.fd >= 0) {
      in_index = n;
      fds[n++] = {in_write.fd, POLLOUT, 0};
    }
    if (err_read.fd >= 0) {
      err_index = n;
      fds[n++] = {err_read.fd, POLLIN, 0};
    }
    int rc = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (in_index >= 0 && fds[in_index].revents) {
      ssize_t w = ::write(in_write.fd, payload.data() + written, payload.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      // EPIPE: the command exited or closed stdin without reading everything; its exit status
      // decides whether that is a failure.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == payload.size()) {
        in_write.reset();
      }
    }
    if (err_index >= 0 && fds[err_index].revents) {
      char buf[4096];
      ssize_t r = ::read(err_read.fd, buf, sizeof buf);
      if (r > 0) {
        (void)!::write(STDERR_FILENO, buf, static_cast<std::size_t>(r));
        stderr_tail.append(buf, static_cast<std::size_t>(r));
        if (stderr_tail.size() > kStderrTail) {
          stderr_tail.erase(0, stderr_tail.size() - kStderrTail);
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        err_read.reset();
      }
    }
  }
  in_write.reset();
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  int status = 0;
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Attempt::failure(fmt::format("exec {:?}: killed after {} ms", subscription.endpoint,
                                        options.exec_timeout.count()),
                            true);
  }
  // stderr reached EOF: the command (and whatever inherited its stderr) is done or closing;
  // wait for the exit status within the remaining time.
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      return Attempt::failure(fmt::format("exec: waitpid: {}", std::strerror(errno)), true);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return Attempt::failure(fmt::format("exec {:?}: killed after {} ms", subscription.endpoint,
                                          options.exec_timeout.count()),
                              true);
    }
    ::usleep(2000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Attempt::success();
  for (char& ch : stderr_tail) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  while (!stderr_tail.empty() && stderr_tail.back() == ' ') stderr_tail.pop_back();
  std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                      : fmt::format("killed by signal {}", WTERMSIG(status));
  return Attempt::failure(fmt::format("exec {:?}: {}{}{}", subscription.endpoint, how,
                                      stderr_tail.empty() ? "" : ": ", stderr_tail),
                          true);
}

}  // namespace cwfilter::sinks
