// Notification delivery ("sinks"): the last stage of the pipeline, where SNS hands an alarm's
// notification to every subscription of the topic the alarm names.
//
// The SNS envelope itself is built by the alarm evaluator; this module receives it ready-made
// (`Notification`) and delivers it per subscription protocol, the way SNS does:
//   http / https   POST of the envelope JSON with SNS's headers (see `sns_http_headers`).
//   email          an RFC 5322 mail whose body is the Message (or `email_text`), with the Subject.
//   email-json     an RFC 5322 mail whose body is the whole envelope JSON, with the Subject.
// plus three local protocols that SNS does not have:
//   stdout         one envelope JSON per line on standard output (endpoint ignored).
//   file           one envelope JSON per line appended to the file named by the endpoint.
//   exec           `/bin/sh -c ENDPOINT` with the envelope on stdin; exit status 0 = delivered.
//
// Failed deliveries (after retries) are appended to a dead-letter file, one JSON record per line,
// and `Dispatcher::redeliver` re-sends them. Nothing is dropped: if even the dead-letter file
// cannot be written, the outcome carries the full record and the error (DeliveryOutcome).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cwfilter/error.hpp>
#include <cwfilter/notification.hpp>

namespace cwfilter {

// One message published to a topic, already rendered by the alarm evaluator.
struct Notification {
  std::string topic_arn;      // the topic published to (selects the subscriptions)
  std::string subject;        // SNS Subject, e.g. `ALARM: "name" in US East (N. Virginia)`
  std::string message;        // SNS Message (for alarms: the alarm JSON serialised as a string)
  std::string envelope_json;  // the full SNS envelope {Type, MessageId, TopicArn, Subject, ...}
  std::string message_id;     // SNS MessageId (a UUID); kept across retries and redelivery
  // Body for the `email` protocol. AWS renders alarm e-mails as prose (alarms.md §9.4); the
  // evaluator may render it here. Empty = the Message itself, which is what SNS mails for
  // messages it does not render.
  std::string email_text;
};

// The alarm evaluator's notification (cwfilter/notification.hpp), ready for delivery.
Notification make_notification(const alarm::SnsNotification& sns);

// One item of ListSubscriptions / ListSubscriptionsByTopic (`{"Subscriptions":[...]}`).
struct Subscription {
  std::string topic_arn;         // TopicArn
  std::string protocol;          // Protocol, lower case (see supported_protocols())
  std::string endpoint;          // Endpoint: URL, e-mail address, path or command
  std::string subscription_arn;  // SubscriptionArn; synthesised (stable) when absent or pending
  std::string owner;             // Owner (informational)
  // AWS lists unconfirmed subscriptions with SubscriptionArn "PendingConfirmation" and does not
  // deliver to them. cwfilter delivers anyway (the point is to see the notification locally) and
  // flags them so that the run summary can say so.
  bool pending_confirmation = false;
  // Subscription attribute RawMessageDelivery (optional "RawMessageDelivery": "true"|true in the
  // item; not part of ListSubscriptions output). http/https/file/stdout/exec then carry the
  // Message alone instead of the envelope, and HTTP adds `x-amz-sns-rawdelivery: true`.
  bool raw_message_delivery = false;
};

// Protocols that cwfilter delivers to, in the order documented above.
const std::vector<std::string_view>& supported_protocols();

// Parses `{"Subscriptions":[...]}` (list-subscriptions output) or a bare array of the same items
// (the `subscriptions` section of a run CONFIG). TopicArn, Protocol and Endpoint are required
// (Endpoint may be empty for stdout); unknown protocols and malformed endpoints are errors that
// name the item, e.g. `Subscriptions[1]: protocol "sqs" is not supported locally (...)`.
Result<std::vector<Subscription>, Error> parse_subscriptions(std::string_view json);
Result<std::vector<Subscription>, Error> load_subscriptions_file(const std::string& path);

// How e-mail is sent.
enum class SmtpTls {
  kNone,              // plain SMTP (the usual local relay or test server)
  kStartTlsIfOffered, // STARTTLS when the server offers it, else plain
  kStartTlsRequired,  // STARTTLS or fail
};  // `smtps://` URLs use implicit TLS whatever this says.

struct SmtpConfig {
  std::string url;   // smtp://host:port or smtps://host:port (libcurl URL)
  // RFC 5322 From, e.g. `AWS Notifications <no-reply@sns.amazonaws.com>` (what SNS uses) or a
  // bare address. The envelope sender (MAIL FROM) is the address part.
  std::string from;
  std::optional<std::string> user;
  std::optional<std::string> password;
  SmtpTls tls = SmtpTls::kNone;
  bool verify_peer = true;  // verify the server certificate when TLS is used
};

// Parses `{"url": ..., "from": ..., "user"?: ..., "password"?: ..., "tls"?: "none"|"starttls"|
// "required", "verifyPeer"?: bool}` (the `smtp` section of a run CONFIG).
Result<SmtpConfig, Error> parse_smtp_config(std::string_view json);

// Retries of one delivery. Defaults follow SNS's default HTTP/S delivery policy in count (1
// attempt + 3 retries, maxDelayTarget 20 s) but back off exponentially from 1 s instead of
// waiting a flat 20 s, so a local run is not held up for a minute per dead endpoint:
// waits 1 s, 2 s, 4 s (then 8, 16, 20, 20 ... with more attempts). No jitter: one process.
struct RetryPolicy {
  int max_attempts = 4;                               // >= 1; 1 = no retry
  std::chrono::milliseconds initial_backoff{1000};    // wait after the first failed attempt
  double backoff_multiplier = 2.0;                    // each further wait is this much longer
  std::chrono::milliseconds max_backoff{20000};       // cap of one wait
};

// The wait after `failed_attempts` (>= 1) failed attempts.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int failed_attempts);

struct DeliveryOptions {
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{5000};   // http(s) and smtp TCP/TLS connect
  // Whole HTTP request or SMTP session. SNS gives an HTTP/S endpoint 15 s to answer.
  std::chrono::milliseconds request_timeout{15000};
  std::chrono::milliseconds exec_timeout{60000};     // an exec command is killed after this
  bool https_verify_peer = true;                     // false accepts self-signed certificates
  std::string ca_file;                               // extra CA bundle for https/smtps (optional)
  bool use_environment_proxy = true;                 // honour http_proxy/https_proxy/no_proxy
  std::optional<SmtpConfig> smtp;                    // required by email / email-json
  // Where undeliverable notifications go (JSON lines, appended; see DeadLetterRecord). Empty:
  // not written, the failed outcomes still carry everything needed to write them elsewhere.
  std::string dead_letter_path;
  std::FILE* stdout_stream = nullptr;                // the `stdout` protocol; nullptr = stdout
};

// The outcome of delivering one notification to one subscription.
struct DeliveryOutcome {
  Subscription subscription;
  bool delivered = false;
  int attempts = 0;
  std::string error;              // the last attempt's error; empty when delivered
  bool dead_lettered = false;     // appended to the dead-letter file
  std::string dead_letter_error;  // why it could not be appended (then the caller must keep it)
  std::string dead_letter_record; // the JSON line written (or that could not be written)
};

struct DeliveryReport {
  std::vector<DeliveryOutcome> outcomes;  // one per subscription of the topic, in config order
  std::size_t delivered() const;
  std::size_t failed() const;
};

// The alarm action's outcome for its history (alarms.md §10 Action items): succeeded when every
// subscription of the topic got the notification (a topic without subscriptions too: SNS accepts
// the publish); else failed, the reason naming the first failed subscription and its error.
alarm::ActionOutcome action_outcome(const DeliveryReport& report);

// Running totals for the run summary.
struct DeliveryStats {
  std::size_t notifications = 0;          // deliver() calls
  std::size_t unrouted_notifications = 0; // topics without any subscription
  std::size_t deliveries = 0;             // notification x subscription pairs attempted
  std::size_t delivered = 0;
  std::size_t failed = 0;
  std::size_t attempts = 0;               // including retries
  std::size_t dead_lettered = 0;
  std::size_t dead_letter_write_errors = 0;
  std::size_t already_delivered = 0;     // deliver_again(): file lines found already written
  std::vector<std::string> errors;        // "<protocol> <endpoint>: <error>", first 100 kept
};

// One line of the dead-letter file, as written and as read back by redeliver():
// {"version":1,"time":ISO-8601 UTC of the last attempt,"firstFailedTime":...,"attempts":N,
//  "lastError":"...","subscription":{"SubscriptionArn","Owner","Protocol","Endpoint","TopicArn",
//  "RawMessageDelivery"},"notification":{"MessageId","TopicArn","Subject","Message","EmailText",
//  "Envelope": the envelope JSON as a string, byte for byte}}
struct DeadLetterRecord {
  Subscription subscription;
  Notification notification;
  std::string last_error;
  int attempts = 0;            // over all delivery passes
  std::string time;            // last attempt
  std::string first_failed_time;
};
std::string to_json_line(const DeadLetterRecord& record);  // without the trailing newline
Result<DeadLetterRecord, Error> parse_dead_letter_record(std::string_view line);

struct RedeliveryReport {
  std::size_t records = 0;       // well-formed records found
  std::size_t delivered = 0;     // removed from the file
  std::size_t still_failing = 0; // kept, with attempts and lastError updated
  std::size_t malformed = 0;     // lines that are not records: kept verbatim, never dropped
  std::vector<DeliveryOutcome> outcomes;
};

// Delivers notifications to the subscriptions of their topic. Deliveries are synchronous and in
// subscription order; a failing endpoint costs at most its retries and timeouts (with the
// defaults: 4 attempts x 15 s + 1 + 2 + 4 s of backoff, about 67 s). Not thread-safe (it keeps
// running totals): use one per thread or lock around it.
class Dispatcher {
 public:
  // Errors: an email/email-json subscription without options.smtp, a bad RetryPolicy.
  static Result<Dispatcher, Error> create(std::vector<Subscription> subscriptions,
                                          DeliveryOptions options);

  // Delivers to every subscription whose TopicArn equals notification.topic_arn.
  DeliveryReport deliver(const Notification& notification);
  // The same, for a notification that may already have been delivered before a crash (an outbox
  // kept in `cwfilter run --state`): a `file` subscription whose file already holds the exact
  // line is not appended to again (counted in DeliveryStats::already_delivered), so a file sees
  // each notification once. Other protocols are delivered again: at-least-once with the same
  // MessageId, which is SNS's own guarantee (receivers de-duplicate by MessageId).
  DeliveryReport deliver_again(const Notification& notification);

  // Re-sends every record of a dead-letter file (each to the subscription stored in it, with this
  // dispatcher's options), then rewrites the file atomically (temp file + rename) with the records
  // that still fail. Records appended by a concurrent run meanwhile are kept (the file is re-read
  // under a lock on `<path>.lock` before the rename). A missing file is an empty one. Errors: the
  // file cannot be read or rewritten.
  Result<RedeliveryReport, Error> redeliver(const std::string& dead_letter_path);

  const std::vector<Subscription>& subscriptions() const { return subscriptions_; }
  const DeliveryOptions& options() const { return options_; }
  const DeliveryStats& stats() const { return stats_; }

 private:
  Dispatcher(std::vector<Subscription> subscriptions, DeliveryOptions options);
  DeliveryOutcome deliver_one(const Subscription& subscription, const Notification& notification);

  std::vector<Subscription> subscriptions_;
  DeliveryOptions options_;
  DeliveryStats stats_;
};

// The headers SNS sends with an HTTP/S notification, in SNS's order (Content-Length, Host and
// Connection are added by the transport):
//   x-amz-sns-message-type: Notification, x-amz-sns-message-id, x-amz-sns-topic-arn,
//   x-amz-sns-subscription-arn, [x-amz-sns-rawdelivery: true,] Content-Type: text/plain;
//   charset=UTF-8, User-Agent: Amazon Simple Notification Service Agent.
std::vector<std::pair<std::string, std::string>> sns_http_headers(
    const Subscription& subscription, const Notification& notification);

}  // namespace cwfilter
