// Notification delivery: subscriptions, protocols against real local servers, retries, dead
// letters and redelivery. Servers: tests/servers/*.py on 127.0.0.1, ephemeral ports, bounded life.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include <cwfilter/sinks.hpp>

#include "servers/server_process.hpp"
#include "sinks/internal.hpp"

using namespace cwfilter;
using cwfilter_test::ServerProcess;

namespace {

const char* kTopic = "arn:aws:sns:us-east-1:256867920320:cpu-alerts";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The real notification of sns-alarm-message.json, with the envelope in the HTTP/SQS shape
// (SigningCertURL / UnsubscribeURL) that SNS POSTs.
Notification real_notification() {
  rapidjson::Document spec;
  spec.Parse(slurp(std::string(CWFILTER_SHARED_DIR) + "/spec/sns-alarm-message.json").c_str());
  REQUIRE(spec.IsObject());
  const auto& sns = spec["primary_example"]["lambda_event_record"]["Sns"];
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const char* key : {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                          "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl"}) {
    std::string out_key = key;
    if (out_key == "SigningCertUrl") out_key = "SigningCertURL";
    if (out_key == "UnsubscribeUrl") out_key = "UnsubscribeURL";
    w.Key(out_key.c_str());
    w.String(sns[key].GetString(), sns[key].GetStringLength());
  }
  w.EndObject();
  Notification n;
  n.topic_arn = sns["TopicArn"].GetString();
  n.subject = sns["Subject"].GetString();
  n.message = sns["Message"].GetString();
  n.message_id = sns["MessageId"].GetString();
  n.envelope_json = std::string(buf.GetString(), buf.GetSize());
  return n;
}

// A subscription as the loader makes it from a ListSubscriptions item.
Subscription make_sub(std::string protocol, std::string endpoint, std::string topic = kTopic) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  std::string arn = topic + ":9db69000-6ffd-416b-95fc-ff7b5fbcb768";
  w.StartArray();
  w.StartObject();
  for (auto [key, value] : {std::pair<const char*, std::string*>{"TopicArn", &topic},
                            {"Protocol", &protocol}, {"Endpoint", &endpoint},
                            {"SubscriptionArn", &arn}}) {
    w.Key(key);
    w.String(value->c_str(), static_cast<rapidjson::SizeType>(value->size()));
  }
  w.EndObject();
  w.EndArray();
  auto parsed = parse_subscriptions(buf.GetString());
  INFO(buf.GetString());
  REQUIRE(parsed.ok());
  return parsed.value()[0];
}

// Fast retries so tests do not wait for the production backoff.
DeliveryOptions fast_options(const std::string& dir) {
  DeliveryOptions o;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(50);
  o.retry.max_backoff = std::chrono::milliseconds(200);
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(5000);
  o.use_environment_proxy = false;  // loopback only, whatever the environment says
  o.dead_letter_path = dir + "/dead-letter.jsonl";
  return o;
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

// All values of a header in a recorded [[name, value], ...] list (names case-insensitive).
std::vector<std::string> header_values(const rapidjson::Value& headers, std::string name) {
  std::vector<std::string> out;
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  name = lower(name);
  for (const auto& h : headers.GetArray()) {
    if (lower(h[0].GetString()) == name) out.emplace_back(h[1].GetString());
  }
  return out;
}

std::unique_ptr<ServerProcess> start_server(const std::string& script,
                                            std::vector<std::string> args) {
  std::string error;
  auto server = ServerProcess::start(script, std::move(args), error);
  INFO(error);
  REQUIRE(server != nullptr);
  return server;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Subscriptions

TEST_CASE("list-subscriptions output is loaded", "[sinks]") {
  auto subs = parse_subscriptions(R"({"Subscriptions":[
    {"SubscriptionArn":"arn:aws:sns:us-east-1:123456789012:alerts:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
     "Owner":"123456789012","Protocol":"https","Endpoint":"https://example.com/hook",
     "TopicArn":"arn:aws:sns:us-east-1:123456789012:alerts"},
    {"SubscriptionArn":"PendingConfirmation","Owner":"123456789012","Protocol":"email",
     "Endpoint":"ops@example.com","TopicArn":"arn:aws:sns:us-east-1:123456789012:alerts"},
    {"Protocol":"file","Endpoint":"out.jsonl","TopicArn":"arn:aws:sns:us-east-1:123456789012:other",
     "RawMessageDelivery":"true"}]})");
  REQUIRE(subs.ok());
  REQUIRE(subs->size() == 3);
  const auto& s = subs.value();
  CHECK(s[0].protocol == "https");
  CHECK(s[0].endpoint == "https://example.com/hook");
  CHECK(s[0].owner == "123456789012");
  CHECK(s[0].subscription_arn ==
        "arn:aws:sns:us-east-1:123456789012:alerts:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55");
  CHECK_FALSE(s[0].pending_confirmation);
  CHECK(s[1].pending_confirmation);
  // A pending or missing ARN is replaced by a stable one under the topic.
  CHECK(s[1].subscription_arn.rfind("arn:aws:sns:us-east-1:123456789012:alerts:", 0) == 0);
  CHECK(s[1].subscription_arn.size() == std::string("arn:aws:sns:us-east-1:123456789012:alerts:").size() + 36);
  CHECK(s[2].raw_message_delivery);
  CHECK_FALSE(s[2].pending_confirmation);
  auto again = parse_subscriptions(R"([{"Protocol":"email","Endpoint":"ops@example.com",
      "TopicArn":"arn:aws:sns:us-east-1:123456789012:alerts"},{"Protocol":"email",
      "Endpoint":"dev@example.com","TopicArn":"arn:aws:sns:us-east-1:123456789012:alerts"}])");
  REQUIRE(again.ok());
  CHECK(again.value()[0].subscription_arn == s[1].subscription_arn);  // stable across loads
  CHECK(again.value()[1].subscription_arn != s[1].subscription_arn);  // distinct per endpoint
  // stdout needs no endpoint.
  auto out = parse_subscriptions(R"([{"Protocol":"stdout","TopicArn":"arn:aws:sns:us-east-1:1:t"}])");
  REQUIRE(out.ok());
  CHECK(out.value()[0].endpoint.empty());
}

TEST_CASE("bad subscription JSON is an error that says what is wrong", "[sinks]") {
  auto error_of = [](const std::string& json) {
    auto r = parse_subscriptions(json);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  const std::string t = R"("TopicArn":"arn:aws:sns:us-east-1:1:t")";
  CHECK_THAT(error_of("{\"Subscriptions\":[ "), Catch::Contains("invalid JSON"));
  CHECK_THAT(error_of("42"), Catch::Contains("expected an object or an array"));
  CHECK_THAT(error_of("{\"Items\":[]}"), Catch::Contains("Subscriptions"));
  CHECK_THAT(error_of("[{" + t + ",\"Endpoint\":\"x\"}]"), Catch::Contains("missing \"Protocol\""));
  CHECK_THAT(error_of("[{\"Protocol\":\"file\",\"Endpoint\":\"x\"}]"),
             Catch::Contains("missing \"TopicArn\""));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"file\"}]"), Catch::Contains("missing \"Endpoint\""));
  std::string sqs = error_of("[{" + t + ",\"Protocol\":\"sqs\",\"Endpoint\":\"arn:aws:sqs:us-east-1:1:q\"}]");
  CHECK_THAT(sqs, Catch::Contains("[0]") && Catch::Contains("\"sqs\"") &&
                      Catch::Contains("not supported") && Catch::Contains("email-json"));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"carrier-pigeon\",\"Endpoint\":\"x\"}]"),
             Catch::Contains("\"carrier-pigeon\""));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"EMAIL\",\"Endpoint\":\"a@b.c\"}]"),
             Catch::Contains("lower case"));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"https\",\"Endpoint\":\"http://x/\"}]"),
             Catch::Contains("https://"));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"email\",\"Endpoint\":\"a@b.c\\r\\nBcc: x@y\"}]"),
             Catch::Contains("not an e-mail address"));
  CHECK_THAT(error_of("[{\"TopicArn\":\"alerts\",\"Protocol\":\"file\",\"Endpoint\":\"x\"}]"),
             Catch::Contains("not an SNS topic ARN"));
  CHECK_THAT(error_of("[{" + t + "," + t + ",\"Protocol\":\"file\",\"Endpoint\":\"x\"}]"),
             Catch::Contains("duplicate"));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"file\",\"Endpoint\":7}]"),
             Catch::Contains("must be a string"));
  CHECK_THAT(error_of("[{" + t + ",\"Protocol\":\"file\",\"Endpoint\":\"x\"}, 3]"),
             Catch::Contains("[1]: expected an object"));
  auto missing = load_subscriptions_file("/nonexistent/subscriptions.json");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/subscriptions.json"));
}

TEST_CASE("SMTP configuration is parsed and checked", "[sinks]") {
  auto cfg = parse_smtp_config(R"({"url":"smtp://127.0.0.1:2525","from":"AWS Notifications <no-reply@sns.amazonaws.com>",
                                   "user":"u","password":"p","tls":"required","verifyPeer":false})");
  REQUIRE(cfg.ok());
  CHECK(cfg->url == "smtp://127.0.0.1:2525");
  CHECK(cfg->user == std::optional<std::string>("u"));
  CHECK(cfg->tls == SmtpTls::kStartTlsRequired);
  CHECK_FALSE(cfg->verify_peer);
  CHECK(sinks::address_part(cfg->from) == "no-reply@sns.amazonaws.com");
  CHECK_FALSE(parse_smtp_config(R"({"url":"http://x","from":"a@b.c"})").ok());
  CHECK_FALSE(parse_smtp_config(R"({"url":"smtp://x","from":"nobody"})").ok());
  CHECK_FALSE(parse_smtp_config(R"({"url":"smtp://x","from":"a@b.c","tls":"maybe"})").ok());
  CHECK_THAT(parse_smtp_config(R"({"url":"smtp://x","from":"a@b.c","port":25})").error().message,
             Catch::Contains("unknown key \"port\""));
}

TEST_CASE("a dispatcher refuses e-mail subscriptions without an SMTP server", "[sinks]") {
  auto r = Dispatcher::create({make_sub("email", "ops@example.com")}, DeliveryOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("SMTP") && Catch::Contains("ops@example.com"));
  DeliveryOptions bad;
  bad.retry.max_attempts = 0;
  CHECK_FALSE(Dispatcher::create({}, bad).ok());
}

TEST_CASE("the alarm evaluator's notification converts field by field", "[sinks]") {
  alarm::SnsNotification sns{kTopic, "id-1", "ALARM: \"a\" in EU (Ireland)", "{\"AlarmName\":\"a\"}",
                             "{\"Type\":\"Notification\"}"};
  Notification n = make_notification(sns);
  CHECK(n.topic_arn == sns.topic_arn);
  CHECK(n.message_id == sns.message_id);
  CHECK(n.subject == sns.subject);
  CHECK(n.message == sns.message);
  CHECK(n.envelope_json == sns.envelope);
  CHECK(n.email_text.empty());
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

TEST_CASE("backoff grows exponentially up to its cap", "[sinks]") {
  RetryPolicy defaults;
  CHECK(defaults.max_attempts == 4);
  CHECK(backoff_delay(defaults, 1) == std::chrono::milliseconds(1000));
  CHECK(backoff_delay(defaults, 2) == std::chrono::milliseconds(2000));
  CHECK(backoff_delay(defaults, 3) == std::chrono::milliseconds(4000));
  CHECK(backoff_delay(defaults, 5) == std::chrono::milliseconds(16000));
  CHECK(backoff_delay(defaults, 6) == std::chrono::milliseconds(20000));
  CHECK(backoff_delay(defaults, 500) == std::chrono::milliseconds(20000));
}

TEST_CASE("SNS HTTP headers, in SNS's order", "[sinks]") {
  Notification n = real_notification();
  Subscription s = make_sub("https", "https://example.com/");
  auto h = sns_http_headers(s, n);
  REQUIRE(h.size() == 6);
  CHECK(h[0] == std::pair<std::string, std::string>{"x-amz-sns-message-type", "Notification"});
  CHECK(h[1] == std::pair<std::string, std::string>{"x-amz-sns-message-id",
                                                    "38215f29-2ef3-5368-8518-046bc249b66b"});
  CHECK(h[2].second == kTopic);
  CHECK(h[3].second == std::string(kTopic) + ":9db69000-6ffd-416b-95fc-ff7b5fbcb768");
  CHECK(h[4] == std::pair<std::string, std::string>{"Content-Type", "text/plain; charset=UTF-8"});
  CHECK(h[5] == std::pair<std::string, std::string>{"User-Agent",
                                                    "Amazon Simple Notification Service Agent"});
  s.raw_message_delivery = true;
  auto raw = sns_http_headers(s, n);
  REQUIRE(raw.size() == 7);
  CHECK(raw[4] == std::pair<std::string, std::string>{"x-amz-sns-rawdelivery", "true"});
}

TEST_CASE("RFC 2047 subjects and quoted-printable bodies", "[sinks]") {
  CHECK(sinks::encode_header_value("ALARM: \"cpu\" in EU (Ireland)") ==
        "ALARM: \"cpu\" in EU (Ireland)");
  CHECK(sinks::encode_header_value("é") == "=?UTF-8?B?w6k=?=");
  // A long non-ASCII subject: several encoded-words, each <= 75 characters, none splitting a
  // UTF-8 sequence (each word decodes on its own to whole characters).
  std::string subject = "ALARM: \"";
  for (int i = 0; i < 30; ++i) subject += "日本";
  subject += "\" in Asia Pacific (Tokyo)";
  std::string encoded = sinks::encode_header_value(subject);
  std::size_t words = 0, pos = 0;
  while (pos < encoded.size()) {
    std::size_t end = encoded.find("\r\n ", pos);
    std::string word = encoded.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    CHECK(word.size() <= 75);
    CHECK(word.rfind("=?UTF-8?B?", 0) == 0);
    ++words;
    pos = end == std::string::npos ? encoded.size() : end + 3;
  }
  CHECK(words >= 3);
  // Quoted-printable: lines of at most 76 characters, '=' and non-ASCII escaped.
  std::string text = std::string(300, 'x') + "=é\nsecond line \n.dot";
  std::string qp = sinks::quoted_printable(text);
  std::istringstream lines(qp);
  std::string line;
  while (std::getline(lines, line)) CHECK(line.size() <= 77);  // 76 + the '\r'
  CHECK_THAT(qp, Catch::Contains("=3D=C3=A9\r\nsecond line=20\r\n=2Edot"));
  CHECK(sinks::rfc5322_date(std::chrono::system_clock::time_point(std::chrono::seconds(1657334394))) ==
        "Sat, 09 Jul 2022 02:39:54 +0000");
  CHECK(sinks::iso8601_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(1657334394584))) ==
        "2022-07-09T02:39:54.584Z");
}

TEST_CASE("dead-letter records round-trip exactly", "[sinks]") {
  DeadLetterRecord r;
  r.subscription = make_sub("http", "http://127.0.0.1:9/x");
  r.notification = real_notification();
  r.notification.message += std::string("\0\n\x01 ü", 6);  // hostile bytes survive
  r.last_error = "POST http://127.0.0.1:9/x: Connection refused";
  r.attempts = 4;
  r.time = "2024-01-01T00:00:00.000Z";
  r.first_failed_time = "2023-12-31T23:00:00.000Z";
  std::string line = to_json_line(r);
  CHECK(line.find('\n') == std::string::npos);
  auto back = parse_dead_letter_record(line);
  REQUIRE(back.ok());
  CHECK(back->notification.envelope_json == r.notification.envelope_json);
  CHECK(back->notification.message == r.notification.message);
  CHECK(back->notification.message_id == r.notification.message_id);
  CHECK(back->subscription.subscription_arn == r.subscription.subscription_arn);
  CHECK(back->subscription.endpoint == r.subscription.endpoint);
  CHECK(back->attempts == 4);
  CHECK(back->last_error == r.last_error);
  CHECK(back->first_failed_time == r.first_failed_time);
  CHECK(to_json_line(back.value()) == line);
  CHECK_FALSE(parse_dead_letter_record("{\"version\":2}").ok());
  CHECK_FALSE(parse_dead_letter_record("not json").ok());
}

// ---------------------------------------------------------------------------------------------
// HTTP

TEST_CASE("http: POSTs the envelope with SNS's headers", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/requests.jsonl";
  auto server = start_server("http_recorder.py", {"--record", record, "--lifetime", "30"});
  Notification n = real_notification();
  std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/sns/hook?token=abc";
  Subscription plain = make_sub("http", url);
  Subscription raw = plain;
  raw.raw_message_delivery = true;
  auto dispatcher = Dispatcher::create({plain, raw}, fast_options(dir));
  REQUIRE(dispatcher.ok());
  DeliveryReport report = dispatcher->deliver(n);
  REQUIRE(report.outcomes.size() == 2);
  INFO(report.outcomes[0].error);
  CHECK(report.delivered() == 2);
  CHECK(report.outcomes[0].attempts == 1);

  auto lines = cwfilter_test::wait_for_lines(record, 2);
  REQUIRE(lines.size() == 2);
  auto req = parse_json(lines[0]);
  CHECK(std::string(req["method"].GetString()) == "POST");
  CHECK(std::string(req["path"].GetString()) == "/sns/hook?token=abc");
  CHECK(std::string(req["version"].GetString()) == "HTTP/1.1");
  std::string body = req["body"].GetString();
  CHECK(body == n.envelope_json);
  const auto& h = req["headers"];
  CHECK(header_values(h, "x-amz-sns-message-type") == std::vector<std::string>{"Notification"});
  CHECK(header_values(h, "x-amz-sns-message-id") ==
        std::vector<std::string>{"38215f29-2ef3-5368-8518-046bc249b66b"});
  CHECK(header_values(h, "x-amz-sns-topic-arn") == std::vector<std::string>{kTopic});
  CHECK(header_values(h, "x-amz-sns-subscription-arn") ==
        std::vector<std::string>{plain.subscription_arn});
  CHECK(header_values(h, "Content-Type") == std::vector<std::string>{"text/plain; charset=UTF-8"});
  CHECK(header_values(h, "User-Agent") ==
        std::vector<std::string>{"Amazon Simple Notification Service Agent"});
  CHECK(header_values(h, "Content-Length") ==
        std::vector<std::string>{std::to_string(n.envelope_json.size())});
  CHECK(header_values(h, "Host") ==
        std::vector<std::string>{"127.0.0.1:" + std::to_string(server->port())});
  CHECK(header_values(h, "x-amz-sns-rawdelivery").empty());
  CHECK(header_values(h, "Expect").empty());  // libcurl's 100-continue is off, as with SNS
  CHECK(header_values(h, "Accept").empty());

  auto raw_req = parse_json(lines[1]);
  CHECK(std::string(raw_req["body"].GetString()) == n.message);
  CHECK(header_values(raw_req["headers"], "x-amz-sns-rawdelivery") ==
        std::vector<std::string>{"true"});
  CHECK(dispatcher->stats().delivered == 2);
  CHECK(cwfilter_test::read_lines(dir + "/dead-letter.jsonl").empty());
}

TEST_CASE("https: TLS with certificate verification", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                    " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                    ">/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    WARN("openssl is not available: https test skipped");
    return;
  }
  std::string record = dir + "/requests.jsonl";
  auto server = start_server("http_recorder.py", {"--record", record, "--lifetime", "30",
                                                  "--tls-cert", cert, "--tls-key", key});
  Notification n = real_notification();
  Subscription sub = make_sub("https", "https://127.0.0.1:" + std::to_string(server->port()) + "/h");
  DeliveryOptions options = fast_options(dir);
  options.retry.max_attempts = 1;

  // The system CAs do not know a self-signed certificate: refused, as SNS would.
  auto strict = Dispatcher::create({sub}, options);
  REQUIRE(strict.ok());
  auto refused = strict->deliver(n);
  REQUIRE(refused.outcomes.size() == 1);
  CHECK_FALSE(refused.outcomes[0].delivered);
  CHECK(refused.outcomes[0].dead_lettered);

  // Trusting that certificate (ca_file) delivers with verification on.
  options.ca_file = cert;
  auto trusting = Dispatcher::create({sub}, options);
  REQUIRE(trusting.ok());
  auto ok = trusting->deliver(n);
  INFO(ok.outcomes[0].error);
  CHECK(ok.delivered() == 1);

  // Or verification off.
  options.ca_file.clear();
  options.https_verify_peer = false;
  auto lax = Dispatcher::create({sub}, options);
  REQUIRE(lax.ok());
  CHECK(lax->deliver(n).delivered() == 1);

  auto lines = cwfilter_test::wait_for_lines(record, 2);
  REQUIRE(lines.size() == 2);
  auto req = parse_json(lines[0]);
  CHECK(std::string(req["body"].GetString()) == n.envelope_json);
  CHECK(header_values(req["headers"], "x-amz-sns-message-type") ==
        std::vector<std::string>{"Notification"});
}

TEST_CASE("http: 500, 500, 200 is delivered on the third attempt after backing off", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/requests.jsonl";
  auto server = start_server("http_recorder.py",
                             {"--record", record, "--statuses", "500,500,200", "--lifetime", "30"});
  Notification n = real_notification();
  auto dispatcher = Dispatcher::create(
      {make_sub("http", "http://127.0.0.1:" + std::to_string(server->port()) + "/")},
      fast_options(dir));
  REQUIRE(dispatcher.ok());
  auto start = std::chrono::steady_clock::now();
  DeliveryReport report = dispatcher->deliver(n);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(report.outcomes.size() == 1);
  CHECK(report.outcomes[0].delivered);
  CHECK(report.outcomes[0].attempts == 3);
  CHECK(elapsed >= std::chrono::milliseconds(50 + 100));  // the two backoffs were waited
  auto lines = cwfilter_test::wait_for_lines(record, 3);
  REQUIRE(lines.size() == 3);
  for (const auto& line : lines) {  // every retry is the same message with the same id
    auto req = parse_json(line);
    CHECK(std::string(req["body"].GetString()) == n.envelope_json);
    CHECK(header_values(req["headers"], "x-amz-sns-message-id") ==
          std::vector<std::string>{n.message_id});
  }
  CHECK(dispatcher->stats().attempts == 3);
  CHECK(cwfilter_test::read_lines(dir + "/dead-letter.jsonl").empty());
}

TEST_CASE("http: a 4xx answer is not retried and is dead-lettered", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/requests.jsonl";
  auto server = start_server("http_recorder.py",
                             {"--record", record, "--statuses", "404", "--lifetime", "30"});
  auto dispatcher = Dispatcher::create(
      {make_sub("http", "http://127.0.0.1:" + std::to_string(server->port()) + "/missing")},
      fast_options(dir));
  REQUIRE(dispatcher.ok());
  DeliveryReport report = dispatcher->deliver(real_notification());
  REQUIRE(report.outcomes.size() == 1);
  CHECK_FALSE(report.outcomes[0].delivered);
  CHECK(report.outcomes[0].attempts == 1);
  CHECK_THAT(report.outcomes[0].error, Catch::Contains("HTTP 404"));
  CHECK(report.outcomes[0].dead_lettered);
  CHECK(cwfilter_test::read_lines(dir + "/dead-letter.jsonl").size() == 1);
}

TEST_CASE("http: a closed port fails fast into the dead-letter file; redeliver sends it later",
          "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string dead = dir + "/dead-letter.jsonl";
  int port = cwfilter_test::closed_port();
  Notification n = real_notification();
  Subscription sub = make_sub("http", "http://127.0.0.1:" + std::to_string(port) + "/hook");
  DeliveryOptions options = fast_options(dir);
  auto dispatcher = Dispatcher::create({sub}, options);
  REQUIRE(dispatcher.ok());

  auto start = std::chrono::steady_clock::now();
  DeliveryReport report = dispatcher->deliver(n);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  REQUIRE(report.outcomes.size() == 1);
  const DeliveryOutcome& out = report.outcomes[0];
  CHECK_FALSE(out.delivered);
  CHECK(out.attempts == 3);
  CHECK(out.dead_lettered);
  CHECK_THAT(out.error, Catch::Contains(std::to_string(port)));
  CHECK(dispatcher->stats().dead_lettered == 1);
  CHECK(dispatcher->stats().failed == 1);
  REQUIRE(dispatcher->stats().errors.size() == 1);

  auto lines = cwfilter_test::read_lines(dead);
  REQUIRE(lines.size() == 1);
  auto rec = parse_dead_letter_record(lines[0]);
  REQUIRE(rec.ok());
  CHECK(rec->attempts == 3);
  CHECK(rec->notification.envelope_json == n.envelope_json);
  CHECK(rec->notification.message_id == n.message_id);
  CHECK(rec->subscription.endpoint == sub.endpoint);
  CHECK(rec->subscription.subscription_arn == sub.subscription_arn);
  CHECK(rec->last_error == out.error);
  CHECK(rec->time.size() == 24);
  struct stat st{};
  REQUIRE(::stat(dead.c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);  // notifications can name users: private to the owner

  // A line that is not a record is kept verbatim through redelivery, never dropped.
  { std::ofstream(dead, std::ios::app) << "garbage that is not a record\n"; }

  // Still down: the record stays, with the attempts of this pass added.
  auto still = dispatcher->redeliver(dead);
  REQUIRE(still.ok());
  CHECK(still->records == 1);
  CHECK(still->still_failing == 1);
  CHECK(still->malformed == 1);
  lines = cwfilter_test::read_lines(dead);
  REQUIRE(lines.size() == 2);
  auto rec2 = parse_dead_letter_record(lines[0]);
  REQUIRE(rec2.ok());
  CHECK(rec2->attempts == 6);
  CHECK(rec2->first_failed_time == rec->first_failed_time);
  CHECK(lines[1] == "garbage that is not a record");

  // The endpoint comes up: redelivery sends it and leaves only the garbage line.
  std::string record = dir + "/requests.jsonl";
  auto server = start_server("http_recorder.py", {"--record", record, "--port",
                                                   std::to_string(port), "--lifetime", "30"});
  auto done = dispatcher->redeliver(dead);
  REQUIRE(done.ok());
  CHECK(done->delivered == 1);
  CHECK(done->still_failing == 0);
  CHECK(cwfilter_test::read_lines(dead) == std::vector<std::string>{"garbage that is not a record"});
  auto reqs = cwfilter_test::wait_for_lines(record, 1);
  REQUIRE(reqs.size() == 1);
  auto req = parse_json(reqs[0]);
  CHECK(std::string(req["body"].GetString()) == n.envelope_json);
  CHECK(header_values(req["headers"], "x-amz-sns-message-id") ==
        std::vector<std::string>{n.message_id});
  CHECK(header_values(req["headers"], "x-amz-sns-subscription-arn") ==
        std::vector<std::string>{sub.subscription_arn});

  // Once the garbage is gone the file is empty (it stays, empty).
  { std::ofstream(dead, std::ios::trunc) << lines[0] << "\n"; }
  auto last = dispatcher->redeliver(dead);
  REQUIRE(last.ok());
  CHECK(last->delivered == 1);
  CHECK(slurp(dead).empty());
  // No temporary files are left behind.
  CHECK(cwfilter_test::read_lines(dead + ".tmp." + std::to_string(::getpid())).empty());
}

TEST_CASE("redeliver keeps records appended while it was sending", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string dead = dir + "/dead-letter.jsonl";
  std::string out_file = dir + "/delivered.jsonl";
  Notification n = real_notification();
  // An exec subscription that appends a record for another notification to the dead-letter file
  // while it is being redelivered (as a concurrent `cwfilter run` would), then succeeds.
  DeadLetterRecord other{make_sub("file", out_file), n, "earlier failure", 1,
                         "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"};
  other.notification.message_id = "other-message";
  std::string other_line = to_json_line(other);
  std::ofstream(dir + "/other.line") << other_line << "\n";
  DeadLetterRecord rec{make_sub("exec", "cat " + dir + "/other.line >> " + dead), n, "failed", 2,
                       "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"};
  std::ofstream(dead) << to_json_line(rec) << "\n";
  auto dispatcher = Dispatcher::create({}, fast_options(dir));
  REQUIRE(dispatcher.ok());
  auto r = dispatcher->redeliver(dead);
  REQUIRE(r.ok());
  CHECK(r->delivered == 1);
  CHECK(cwfilter_test::read_lines(dead) == std::vector<std::string>{other_line});
  // A missing dead-letter file is an empty one and is not created.
  auto none = dispatcher->redeliver(dir + "/none.jsonl");
  REQUIRE(none.ok());
  CHECK(none->records == 0);
  struct stat st{};
  CHECK(::stat((dir + "/none.jsonl").c_str(), &st) != 0);
}

// ---------------------------------------------------------------------------------------------
// E-mail

TEST_CASE("email and email-json are sent through SMTP with RFC 5322 headers", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/mail.jsonl";
  auto server = start_server("smtp_recorder.py", {"--record", record, "--lifetime", "30",
                                                  "--auth", "alice:s3cret"});
  DeliveryOptions options = fast_options(dir);
  options.smtp = SmtpConfig{"smtp://127.0.0.1:" + std::to_string(server->port()),
                            "AWS Notifications <no-reply@sns.amazonaws.com>",
                            "alice", "s3cret", SmtpTls::kNone, true};
  Notification n = real_notification();
  Subscription text = make_sub("email", "ops@example.com");
  Subscription json = make_sub("email-json", "robot@example.com");
  auto dispatcher = Dispatcher::create({text, json}, options);
  REQUIRE(dispatcher.ok());
  DeliveryReport report = dispatcher->deliver(n);
  REQUIRE(report.outcomes.size() == 2);
  INFO(report.outcomes[0].error << " / " << report.outcomes[1].error);
  CHECK(report.delivered() == 2);

  auto mails = cwfilter_test::wait_for_lines(record, 2);
  REQUIRE(mails.size() == 2);
  auto m = parse_json(mails[0]);
  CHECK(std::string(m["mail_from"].GetString()) == "no-reply@sns.amazonaws.com");
  REQUIRE(m["rcpt_to"].Size() == 1);
  CHECK(std::string(m["rcpt_to"][0].GetString()) == "ops@example.com");
  REQUIRE(m["auth"].IsArray());
  CHECK(std::string(m["auth"][0].GetString()) == "alice");
  const auto& h = m["headers"];
  CHECK(header_values(h, "From") ==
        std::vector<std::string>{"AWS Notifications <no-reply@sns.amazonaws.com>"});
  CHECK(header_values(h, "To") == std::vector<std::string>{"ops@example.com"});
  CHECK(header_values(h, "Subject") == std::vector<std::string>{n.subject});
  REQUIRE(header_values(h, "Date").size() == 1);
  CHECK_THAT(header_values(h, "Date")[0], Catch::Matches(R"(\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000)"));
  REQUIRE(header_values(h, "Message-ID").size() == 1);
  CHECK_THAT(header_values(h, "Message-ID")[0],
             Catch::StartsWith("<38215f29-2ef3-5368-8518-046bc249b66b.") && Catch::EndsWith(">"));
  CHECK(header_values(h, "MIME-Version") == std::vector<std::string>{"1.0"});
  CHECK_THAT(header_values(h, "Content-Type")[0], Catch::Contains("text/plain") && Catch::Contains("UTF-8"));
  // The body is the Message (decoded by Python's email package), on one logical line.
  CHECK(std::string(m["body"].GetString()) == n.message + "\n");
  // Every line of the wire format stays within RFC 5322's limit.
  std::istringstream wire(m["data"].GetString());
  std::string line;
  while (std::getline(wire, line)) CHECK(line.size() <= 998);

  auto j = parse_json(mails[1]);
  CHECK(std::string(j["rcpt_to"][0].GetString()) == "robot@example.com");
  CHECK(header_values(j["headers"], "Subject") == std::vector<std::string>{n.subject});
  CHECK(std::string(j["body"].GetString()) == n.envelope_json + "\n");
  CHECK(header_values(j["headers"], "Message-ID") != header_values(h, "Message-ID"));
}

TEST_CASE("email: a non-ASCII subject is RFC 2047-encoded and decodes back", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/mail.jsonl";
  auto server = start_server("smtp_recorder.py", {"--record", record, "--lifetime", "30"});
  DeliveryOptions options = fast_options(dir);
  options.smtp = SmtpConfig{"smtp://127.0.0.1:" + std::to_string(server->port()),
                            "cwfilter@localhost", std::nullopt, std::nullopt, SmtpTls::kNone, true};
  Notification n = real_notification();
  n.subject = "ALARM: \"Échecs de connexion — 東京\" in Asia Pacific (Tokyo)";
  n.email_text = "Line one\nLine two with ü\n.starts with a dot\n";
  auto dispatcher = Dispatcher::create({make_sub("email", "ops@example.com")}, options);
  REQUIRE(dispatcher.ok());
  auto report = dispatcher->deliver(n);
  INFO(report.outcomes[0].error);
  REQUIRE(report.delivered() == 1);
  auto mails = cwfilter_test::wait_for_lines(record, 1);
  REQUIRE(mails.size() == 1);
  auto m = parse_json(mails[0]);
  CHECK(header_values(m["headers"], "Subject") == std::vector<std::string>{n.subject});
  CHECK(header_values(m["headers"], "From") == std::vector<std::string>{"cwfilter@localhost"});
  std::string data = m["data"].GetString();
  CHECK_THAT(data, Catch::Contains("Subject: =?UTF-8?B?"));
  CHECK_THAT(data, Catch::Contains("Content-Transfer-Encoding: quoted-printable"));
  CHECK(std::string(m["body"].GetString()) == n.email_text);  // email_text replaces the Message
  CHECK(m["auth"].IsNull());
}

TEST_CASE("email: a 5xx SMTP reply is not retried and is dead-lettered", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string record = dir + "/mail.jsonl";
  auto server = start_server("smtp_recorder.py",
                             {"--record", record, "--lifetime", "30", "--reject-rcpt", "550"});
  DeliveryOptions options = fast_options(dir);
  options.smtp = SmtpConfig{"smtp://127.0.0.1:" + std::to_string(server->port()),
                            "cwfilter@localhost", std::nullopt, std::nullopt, SmtpTls::kNone, true};
  auto dispatcher = Dispatcher::create({make_sub("email", "nobody@example.com")}, options);
  REQUIRE(dispatcher.ok());
  auto report = dispatcher->deliver(real_notification());
  REQUIRE(report.outcomes.size() == 1);
  CHECK_FALSE(report.outcomes[0].delivered);
  CHECK(report.outcomes[0].attempts == 1);
  CHECK_THAT(report.outcomes[0].error, Catch::Contains("550"));
  CHECK(cwfilter_test::read_lines(dir + "/dead-letter.jsonl").size() == 1);
  CHECK(cwfilter_test::read_lines(record).empty());
}

// ---------------------------------------------------------------------------------------------
// Local protocols

TEST_CASE("file: one envelope JSON per line, appended", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::string path = dir + "/notifications.jsonl";
  Notification n = real_notification();
  Notification pretty = n;
  pretty.envelope_json = "{\n  \"Type\": \"Notification\",\n  \"MessageId\": \"m2\"\n}\n";
  auto other_topic = make_sub("file", dir + "/other.jsonl", "arn:aws:sns:us-east-1:1:other");
  auto dispatcher = Dispatcher::create({make_sub("file", path), other_topic}, fast_options(dir));
  REQUIRE(dispatcher.ok());
  CHECK(dispatcher->deliver(n).delivered() == 1);
  CHECK(dispatcher->deliver(pretty).delivered() == 1);
  auto lines = cwfilter_test::read_lines(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == n.envelope_json);
  auto second = parse_json(lines[1]);
  CHECK(std::string(second["MessageId"].GetString()) == "m2");
  CHECK(cwfilter_test::read_lines(dir + "/other.jsonl").empty());  // other topic: not delivered

  Notification unrouted = n;
  unrouted.topic_arn = "arn:aws:sns:us-east-1:1:nobody-listens";
  CHECK(dispatcher->deliver(unrouted).outcomes.empty());
  CHECK(dispatcher->stats().unrouted_notifications == 1);
  CHECK(dispatcher->stats().notifications == 3);

  // If even the dead-letter file cannot be written, the outcome keeps the record and says why.
  DeliveryOptions no_dead = fast_options(dir);
  no_dead.dead_letter_path = dir + "/missing-dir/dead.jsonl";
  auto lost = Dispatcher::create({make_sub("file", dir + "/no/such/dir/x.jsonl")}, no_dead);
  REQUIRE(lost.ok());
  auto kept = lost->deliver(n);
  REQUIRE(kept.outcomes.size() == 1);
  CHECK_FALSE(kept.outcomes[0].dead_lettered);
  CHECK_THAT(kept.outcomes[0].dead_letter_error, Catch::Contains("missing-dir"));
  auto kept_record = parse_dead_letter_record(kept.outcomes[0].dead_letter_record);
  REQUIRE(kept_record.ok());
  CHECK(kept_record->notification.envelope_json == n.envelope_json);
  CHECK(lost->stats().dead_letter_write_errors == 1);

  // An unwritable path fails once (no retry) into the dead-letter file.
  auto bad = Dispatcher::create({make_sub("file", dir + "/no/such/dir/x.jsonl")}, fast_options(dir));
  REQUIRE(bad.ok());
  auto report = bad->deliver(n);
  REQUIRE(report.outcomes.size() == 1);
  CHECK_FALSE(report.outcomes[0].delivered);
  CHECK(report.outcomes[0].attempts == 1);
  CHECK(report.outcomes[0].dead_lettered);
}

TEST_CASE("stdout: one envelope JSON per line", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  DeliveryOptions options = fast_options(dir);
  options.stdout_stream = out;
  auto subs = parse_subscriptions(std::string(R"([{"Protocol":"stdout","TopicArn":")") + kTopic + "\"}]");
  REQUIRE(subs.ok());
  auto dispatcher = Dispatcher::create(subs.value(), options);
  REQUIRE(dispatcher.ok());
  Notification n = real_notification();
  CHECK(dispatcher->deliver(n).delivered() == 1);
  CHECK(dispatcher->deliver(n).delivered() == 1);
  std::rewind(out);
  std::string text;
  char buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, out)) > 0) text.append(buf, got);
  std::fclose(out);
  CHECK(text == n.envelope_json + "\n" + n.envelope_json + "\n");
}

TEST_CASE("exec: the envelope on stdin, exit status decides", "[sinks]") {
  std::string dir = cwfilter_test::temp_dir();
  Notification n = real_notification();
  DeliveryOptions options = fast_options(dir);
  options.retry.max_attempts = 2;

  SECTION("success: stdin and the SNS_* environment") {
    std::string cmd = "cat > " + dir + "/stdin.json && printf '%s|%s' \"$SNS_MESSAGE_ID\" "
                      "\"$SNS_TOPIC_ARN\" > " + dir + "/env.txt";
    auto dispatcher = Dispatcher::create({make_sub("exec", cmd)}, options);
    REQUIRE(dispatcher.ok());
    auto report = dispatcher->deliver(n);
    INFO(report.outcomes[0].error);
    CHECK(report.delivered() == 1);
    CHECK(slurp(dir + "/stdin.json") == n.envelope_json);
    CHECK(slurp(dir + "/env.txt") == n.message_id + "|" + kTopic);
  }
  SECTION("a non-zero exit is a failure, retried, with the command's stderr") {
    std::string cmd = "echo attempt >> " + dir + "/count; echo 'webhook said no' >&2; exit 3";
    auto dispatcher = Dispatcher::create({make_sub("exec", cmd)}, options);
    REQUIRE(dispatcher.ok());
    auto report = dispatcher->deliver(n);
    REQUIRE(report.outcomes.size() == 1);
    CHECK_FALSE(report.outcomes[0].delivered);
    CHECK(report.outcomes[0].attempts == 2);
    CHECK_THAT(report.outcomes[0].error, Catch::Contains("exit status 3") &&
                                             Catch::Contains("webhook said no"));
    CHECK(cwfilter_test::read_lines(dir + "/count").size() == 2);
    CHECK(report.outcomes[0].dead_lettered);
  }
  SECTION("a command that ignores its stdin and succeeds is delivered (no SIGPIPE)") {
    Notification big = n;
    big.envelope_json.assign(4 * 1024 * 1024, 'x');  // far beyond the pipe buffer
    auto dispatcher = Dispatcher::create({make_sub("exec", "exit 0")}, options);
    REQUIRE(dispatcher.ok());
    CHECK(dispatcher->deliver(big).delivered() == 1);
  }
  SECTION("a command that runs too long is killed") {
    options.exec_timeout = std::chrono::milliseconds(300);
    options.retry.max_attempts = 1;
    auto dispatcher = Dispatcher::create({make_sub("exec", "sleep 20; sleep 20")}, options);
    REQUIRE(dispatcher.ok());
    auto start = std::chrono::steady_clock::now();
    auto report = dispatcher->deliver(n);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK_FALSE(report.outcomes[0].delivered);
    CHECK_THAT(report.outcomes[0].error, Catch::Contains("killed after 300 ms"));
  }
}
