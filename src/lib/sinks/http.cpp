// http / https: one POST of the envelope, with SNS's headers (docs: "HTTP/HTTPS headers").
#include <algorithm>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

#include "sinks/internal.hpp"

namespace cwfilter {

std::vector<std::pair<std::string, std::string>> sns_http_headers(
    const Subscription& subscription, const Notification& notification) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"x-amz-sns-message-type", "Notification"},
      {"x-amz-sns-message-id", notification.message_id},
      {"x-amz-sns-topic-arn", notification.topic_arn},
      {"x-amz-sns-subscription-arn", subscription.subscription_arn},
  };
  if (subscription.raw_message_delivery) h.emplace_back("x-amz-sns-rawdelivery", "true");
  h.emplace_back("Content-Type", "text/plain; charset=UTF-8");
  h.emplace_back("User-Agent", "Amazon Simple Notification Service Agent");
  return h;
}

namespace sinks {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

// The response body is not used; read at most this much of it (an error page for the message).
constexpr std::size_t kMaxResponseBody = 512;

std::size_t keep_head(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  std::size_t n = size * nmemb;
  if (body->size() < kMaxResponseBody) body->append(data, std::min(n, kMaxResponseBody - body->size()));
  return n;
}

bool header_value_ok(std::string_view v) {
  // A value with CR/LF would inject headers; ARNs and UUIDs never contain them.
  return v.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

Attempt deliver_http(const Subscription& subscription, const Notification& notification,
                     const DeliveryOptions& options) {
  ensure_curl_initialized();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Attempt::failure("libcurl: cannot create a handle", true);

  curl_slist* raw_list = nullptr;
  for (const auto& [name, value] : sns_http_headers(subscription, notification)) {
    if (!header_value_ok(value)) {
      return Attempt::failure(fmt::format("header {} contains a line break", name), false);
    }
    raw_list = curl_slist_append(raw_list, fmt::format("{}: {}", name, value).c_str());
  }
  // SNS's request has exactly these headers plus Content-Length, Host, Connection; remove the
  // ones libcurl adds on its own (Accept, Expect: 100-continue for large bodies).
  raw_list = curl_slist_append(raw_list, "Connection: Keep-Alive");
  raw_list = curl_slist_append(raw_list, "Accept:");
  raw_list = curl_slist_append(raw_list, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_list);

  const std::string& body = payload_of(subscription, notification);
  std::string response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, subscription.endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // SNS does not follow redirects
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);        // thread-safe timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_head);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options.https_verify_peer ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options.https_verify_peer ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  if (!options.use_environment_proxy) curl_easy_setopt(c, CURLOPT_PROXY, "");

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    // Connection refused, DNS, TLS, timeout: the endpoint is unavailable, which SNS retries.
    std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    bool retryable = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT;
    return Attempt::failure(fmt::format("POST {}: {}", subscription.endpoint, detail), retryable);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status <= 299) return Attempt::success();
  // SNS retries server-side errors (5xx) and throttling (429); other 4xx are client-side errors
  // that it does not retry (they go straight to the dead-letter queue). 1xx/3xx: not delivered,
  // and no retry will change that.
  bool retryable = status >= 500 || status == 429;
  for (char& ch : response) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return Attempt::failure(fmt::format("POST {}: HTTP {}{}{}", subscription.endpoint, status,
                                      response.empty() ? "" : ": ", response),
                          retryable);
}

}  // namespace sinks
}  // namespace cwfilter
