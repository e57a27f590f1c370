// Shared helpers and the local protocols: stdout and file.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "sinks/internal.hpp"

namespace cwfilter::sinks {

const std::string& payload_of(const Subscription& subscription, const Notification& notification) {
  return subscription.raw_message_delivery ? notification.message : notification.envelope_json;
}

std::string one_line(std::string_view payload) {
  std::string out(payload);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

namespace {
std::tm utc_tm(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = utc_tm(t);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  std::tm tm = utc_tm(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
            1000;
  if (ms < 0) ms += 1000;
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {
// write(2) until done; EINTR-safe.
bool write_all(int fd, const char* data, std::size_t size, std::string& error) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

Attempt deliver_file(const Subscription& subscription, const Notification& notification) {
  // O_APPEND and one write() per record: concurrent writers (two runs, or redeliver) interleave
  // whole lines, not bytes. The record reaches the kernel before we report success.
  std::string line = one_line(payload_of(subscription, notification));
  line += '\n';
  int fd = ::open(subscription.endpoint.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Attempt::failure(
        fmt::format("cannot open {:?} for appending: {}", subscription.endpoint,
                    std::strerror(errno)),
        false);
  }
  std::string error;
  bool ok = write_all(fd, line.data(), line.size(), error);
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = std::strerror(errno);
  }
  if (!ok) {
    return Attempt::failure(fmt::format("cannot append to {:?}: {}", subscription.endpoint, error),
                            false);
  }
  return Attempt::success();
}

bool file_holds_notification(const Subscription& subscription, const Notification& notification) {
  // Read line by line: only done for notifications redelivered after a restart, so the cost of
  // reading the whole file is paid rarely. A file that cannot be read holds nothing.
  const std::string wanted = one_line(payload_of(subscription, notification));
  std::FILE* f = std::fopen(subscription.endpoint.c_str(), "rb");
  if (!f) return false;
  std::string line;
  bool found = false;
  int c;
  while (!found && (c = std::fgetc(f)) != EOF) {
    if (c == '\n') {
      found = line == wanted;
      line.clear();
    } else if (line.size() <= wanted.size()) {
      line.push_back(static_cast<char>(c));
    }
  }
  std::fclose(f);
  return found;  // a last line without '\n' was a torn write: not delivered
}

Attempt deliver_stdout(const Subscription& subscription, const Notification& notification,
                       const DeliveryOptions& options) {
  std::FILE* out = options.stdout_stream ? options.stdout_stream : stdout;
  std::string line = one_line(payload_of(subscription, notification));
  line += '\n';
  // One fwrite per line and a flush: a reader piping our stdout sees each notification at once.
  if (std::fwrite(line.data(), 1, line.size(), out) != line.size() || std::fflush(out) != 0) {
    return Attempt::failure(fmt::format("cannot write to standard output: {}",
                                        std::strerror(errno)),
                            false);
  }
  return Attempt::success();
}

}  // namespace cwfilter::sinks
