// Routing a notification to its topic's subscriptions, retries, dead letters and redelivery.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "sinks/internal.hpp"

namespace cwfilter {

Notification make_notification(const alarm::SnsNotification& sns) {
  Notification n;
  n.topic_arn = sns.topic_arn;
  n.subject = sns.subject;
  n.message = sns.message;
  n.envelope_json = sns.envelope;
  n.message_id = sns.message_id;
  return n;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int failed_attempts) {
  if (failed_attempts < 1) failed_attempts = 1;
  double ms = static_cast<double>(policy.initial_backoff.count()) *
              std::pow(policy.backoff_multiplier, failed_attempts - 1);
  double cap = static_cast<double>(policy.max_backoff.count());
  if (!(ms < cap)) ms = cap;  // also catches inf/NaN
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::size_t DeliveryReport::delivered() const {
  std::size_t n = 0;
  for (const auto& o : outcomes) n += o.delivered ? 1 : 0;
  return n;
}

std::size_t DeliveryReport::failed() const { return outcomes.size() - delivered(); }

namespace {

using sinks::Attempt;

Attempt attempt_once(const Subscription& sub, const Notification& note,
                     const DeliveryOptions& options) {
  const std::string& p = sub.protocol;
  if (p == "http" || p == "https") return sinks::deliver_http(sub, note, options);
  if (p == "email" || p == "email-json") return sinks::deliver_email(sub, note, options);
  if (p == "exec") return sinks::deliver_exec(sub, note, options);
  if (p == "file") return sinks::deliver_file(sub, note);
  if (p == "stdout") return sinks::deliver_stdout(sub, note, options);
  return Attempt::failure(fmt::format("protocol {:?} is not supported", p), false);
}

struct Tried {
  Attempt last;
  int attempts = 0;
};

Tried with_retries(const Subscription& sub, const Notification& note,
                   const DeliveryOptions& options) {
  Tried t;
  for (;;) {
    t.last = attempt_once(sub, note, options);
    ++t.attempts;
    if (t.last.ok || !t.last.retryable || t.attempts >= options.retry.max_attempts) return t;
    std::this_thread::sleep_for(backoff_delay(options.retry, t.attempts));
  }
}

std::string now_iso() { return sinks::iso8601_utc(std::chrono::system_clock::now()); }

}  // namespace

Dispatcher::Dispatcher(std::vector<Subscription> subscriptions, DeliveryOptions options)
    : subscriptions_(std::move(subscriptions)), options_(std::move(options)) {}

Result<Dispatcher, Error> Dispatcher::create(std::vector<Subscription> subscriptions,
                                             DeliveryOptions options) {
  const RetryPolicy& r = options.retry;
  if (r.max_attempts < 1 || r.max_attempts > 1000) {
    return Error{fmt::format("retry: max_attempts must be 1..1000, got {}", r.max_attempts)};
  }
  if (r.initial_backoff.count() < 0 || r.max_backoff.count() < 0 ||
      !(r.backoff_multiplier >= 1.0) || !std::isfinite(r.backoff_multiplier)) {
    return Error{"retry: backoffs must be >= 0 and the multiplier a finite number >= 1"};
  }
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0 ||
      options.exec_timeout.count() <= 0) {
    return Error{"timeouts must be positive"};
  }
  for (const auto& s : subscriptions) {
    if ((s.protocol == "email" || s.protocol == "email-json") && !options.smtp) {
      return Error{fmt::format("subscription {} ({} {}) needs an SMTP server: add an \"smtp\" "
                               "section (url, from)",
                               s.subscription_arn, s.protocol, s.endpoint)};
    }
  }
  return Dispatcher(std::move(subscriptions), std::move(options));
}

DeliveryOutcome Dispatcher::deliver_one(const Subscription& sub, const Notification& note) {
  DeliveryOutcome out;
  out.subscription = sub;
  Tried t = with_retries(sub, note, options_);
  out.attempts = t.attempts;
  out.delivered = t.last.ok;
  stats_.deliveries++;
  stats_.attempts += static_cast<std::size_t>(t.attempts);
  if (out.delivered) {
    stats_.delivered++;
    return out;
  }
  out.error = t.last.error;
  stats_.failed++;
  if (stats_.errors.size() < 100) {
    stats_.errors.push_back(fmt::format("{} {}: {}", sub.protocol, sub.endpoint, out.error));
  }
  DeadLetterRecord record{sub, note, out.error, t.attempts, now_iso(), {}};
  record.first_failed_time = record.time;
  out.dead_letter_record = to_json_line(record);
  if (options_.dead_letter_path.empty()) {
    out.dead_letter_error = "no dead-letter file configured";
  } else {
    out.dead_letter_error = sinks::append_dead_letter(options_.dead_letter_path,
                                                      out.dead_letter_record);
  }
  out.dead_lettered = out.dead_letter_error.empty();
  if (out.dead_lettered) {
    stats_.dead_lettered++;
  } else {
    stats_.dead_letter_write_errors++;
  }
  return out;
}

DeliveryReport Dispatcher::deliver_again(const Notification& notification) {
  DeliveryReport report;
  stats_.notifications++;
  for (const auto& sub : subscriptions_) {
    if (sub.topic_arn != notification.topic_arn) continue;
    if (sub.protocol == "file" && sinks::file_holds_notification(sub, notification)) {
      DeliveryOutcome out;
      out.subscription = sub;
      out.delivered = true;
      stats_.already_delivered++;
      report.outcomes.push_back(std::move(out));
      continue;
    }
    report.outcomes.push_back(deliver_one(sub, notification));
  }
  if (report.outcomes.empty()) stats_.unrouted_notifications++;
  return report;
}

DeliveryReport Dispatcher::deliver(const Notification& notification) {
  DeliveryReport report;
  stats_.notifications++;
  for (const auto& sub : subscriptions_) {
    if (sub.topic_arn == notification.topic_arn) {
      report.outcomes.push_back(deliver_one(sub, notification));
    }
  }
  if (report.outcomes.empty()) stats_.unrouted_notifications++;
  return report;
}

namespace {

// The file's lines (without newline); a missing file has none.
Result<std::vector<std::string>, Error> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return lines;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{fmt::format("cannot read dead-letter file {:?}: {}", path, std::strerror(errno))};
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
  }
  if (in.bad()) return Error{fmt::format("cannot read dead-letter file {:?}", path)};
  return lines;
}

std::optional<Error> write_atomically(const std::string& path, const std::string& content) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{fmt::format("cannot create {:?}: {}", tmp, std::strerror(errno))};
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e{fmt::format("cannot write {:?}: {}", tmp, std::strerror(errno))};
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e{fmt::format("cannot sync {:?}: {}", tmp, std::strerror(errno))};
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e{fmt::format("cannot replace {:?}: {}", path, std::strerror(errno))};
    ::unlink(tmp.c_str());
    return e;
  }
  // Make the rename itself durable.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

}  // namespace

Result<RedeliveryReport, Error> Dispatcher::redeliver(const std::string& dead_letter_path) {
  RedeliveryReport report;
  std::vector<std::string> lines;
  {
    sinks::DeadLetterLock lock(dead_letter_path);
    if (!lock.locked()) return Error{lock.error()};
    auto read = read_lines(dead_letter_path);
    if (!read) return read.error();
    lines = std::move(read).value();
  }
  // Sending happens without the lock (it may take minutes); a concurrent run keeps appending.
  std::map<std::string, int> delivered;               // line -> copies delivered
  std::multimap<std::string, std::string> replaced;   // line -> updated line
  for (const auto& line : lines) {
    auto parsed = parse_dead_letter_record(line);
    if (!parsed) {
      report.malformed++;
      continue;
    }
    report.records++;
    DeadLetterRecord record = std::move(parsed).value();
    Tried t = with_retries(record.subscription, record.notification, options_);
    DeliveryOutcome out;
    out.subscription = record.subscription;
    out.attempts = t.attempts;
    out.delivered = t.last.ok;
    if (t.last.ok) {
      report.delivered++;
      delivered[line]++;
    } else {
      report.still_failing++;
      out.error = t.last.error;
      record.attempts += t.attempts;
      record.last_error = t.last.error;
      record.time = now_iso();
      if (record.first_failed_time.empty()) record.first_failed_time = record.time;
      out.dead_letter_record = to_json_line(record);
      out.dead_lettered = true;
      replaced.emplace(line, out.dead_letter_record);
    }
    report.outcomes.push_back(std::move(out));
  }

  sinks::DeadLetterLock lock(dead_letter_path);
  if (!lock.locked()) return Error{lock.error()};
  auto current = read_lines(dead_letter_path);
  if (!current) return current.error();
  if (lines.empty() && current.value().empty()) return report;  // nothing to rewrite
  std::string content;
  for (const auto& line : current.value()) {
    auto d = delivered.find(line);
    if (d != delivered.end() && d->second > 0) {
      d->second--;
      continue;
    }
    auto r = replaced.find(line);
    if (r != replaced.end()) {
      content += r->second;
      replaced.erase(r);
    } else {
      content += line;  // malformed, or appended meanwhile: kept verbatim
    }
    content += '\n';
  }
  if (auto err = write_atomically(dead_letter_path, content)) return *err;
  return report;
}

}  // namespace cwfilter
