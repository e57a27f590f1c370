// Private pieces of the sinks module, shared by its .cpp files and its tests.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <cwfilter/sinks.hpp>

namespace cwfilter::sinks {

// The result of one delivery attempt.
struct Attempt {
  bool ok = false;
  bool retryable = false;  // worth trying again (network error, 5xx, 429, SMTP 4xx, exec failure)
  std::string error;
  static Attempt success() { return {true, false, {}}; }
  static Attempt failure(std::string message, bool retryable) {
    return {false, retryable, std::move(message)};
  }
};

// The body an envelope-carrying protocol delivers (raw delivery: the Message alone).
const std::string& payload_of(const Subscription& subscription, const Notification& notification);

// The payload on one line: raw CR/LF (only possible as whitespace between JSON tokens) become
// spaces so that each record stays one JSON line.
std::string one_line(std::string_view payload);

Attempt deliver_http(const Subscription& subscription, const Notification& notification,
                     const DeliveryOptions& options);
Attempt deliver_email(const Subscription& subscription, const Notification& notification,
                      const DeliveryOptions& options);
Attempt deliver_exec(const Subscription& subscription, const Notification& notification,
                     const DeliveryOptions& options);
Attempt deliver_file(const Subscription& subscription, const Notification& notification);
// True if the `file` subscription's file already holds the line deliver_file would append.
bool file_holds_notification(const Subscription& subscription, const Notification& notification);
Attempt deliver_stdout(const Subscription& subscription, const Notification& notification,
                       const DeliveryOptions& options);

// The complete RFC 5322 message (CRLF line ends) for an email / email-json subscription.
std::string render_email(const SmtpConfig& smtp, const Subscription& subscription,
                         const Notification& notification,
                         std::chrono::system_clock::time_point now);

// RFC 2047 "B" encoding of a header value when it is not plain printable ASCII; folded into
// encoded-words of at most 75 characters that never split a UTF-8 sequence.
std::string encode_header_value(std::string_view value);

// Quoted-printable (RFC 2045 §6.7) with CRLF line ends, soft-wrapped at 76 characters.
std::string quoted_printable(std::string_view text);

// `Name <addr>` or `addr` -> `addr`.
std::string address_part(std::string_view mailbox);

// RFC 5322 date-time, e.g. "Sat, 09 Jul 2022 02:39:54 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);
// ISO 8601 UTC with milliseconds, e.g. "2022-07-09T02:39:54.584Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// A stable subscription ARN for items that have none: TopicArn + ":" + a UUID-shaped hash of
// protocol and endpoint (the same on every run, so dead-letter records keep their identity).
std::string synthesize_subscription_arn(std::string_view topic_arn, std::string_view protocol,
                                        std::string_view endpoint);

// Dead-letter file I/O. Appends and rewrites of `path` hold an exclusive flock on `path.lock`
// (a separate file, because rename() replaces the dead-letter file's inode).
class DeadLetterLock {
 public:
  explicit DeadLetterLock(const std::string& path);
  ~DeadLetterLock();
  DeadLetterLock(const DeadLetterLock&) = delete;
  DeadLetterLock& operator=(const DeadLetterLock&) = delete;
  bool locked() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};
// Appends `line` + newline in one write; returns an error message or "".
std::string append_dead_letter(const std::string& path, const std::string& line);

// One global libcurl initialisation (curl_global_init is not thread-safe before 7.84).
void ensure_curl_initialized();

}  // namespace cwfilter::sinks
