// email / email-json: an RFC 5322 message sent through an SMTP server with libcurl.
//
// SNS mails `email` subscribers the Message as plain text and `email-json` subscribers the whole
// envelope JSON, both with the notification's Subject. Bodies are UTF-8 text/plain; long lines
// (alarm JSON is one line of >1000 bytes) and non-ASCII bytes are sent quoted-printable, so that
// no line exceeds RFC 5322's 998-character limit and nothing depends on 8BITMIME.
// Not reproduced: SNS's unsubscribe footer (there is no local unsubscribe URL to point to).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

#include "sinks/internal.hpp"

namespace cwfilter::sinks {
namespace {

bool needs_encoding(std::string_view v) {
  for (unsigned char c : v) {
    if (c >= 0x80 || c < 0x20 || c == 0x7f) return true;
  }
  return v.find("=?") != std::string_view::npos;  // would read as an encoded-word
}

std::string base64(std::string_view in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                      (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                      (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Length of the UTF-8 sequence that starts with `lead` (1 for stray/invalid bytes, which are
// passed through unchanged: base64 carries any byte).
std::size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  if (lead >= 0xE0) return lead <= 0xEF ? 3 : 1;
  if (lead >= 0xC0) return 2;
  return 1;
}

std::string sanitize_header(std::string_view v) {
  std::string out(v);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

std::string msg_id_token(std::string_view id) {
  std::string out;
  for (unsigned char c : id) {
    out += (std::isalnum(c) || c == '-' || c == '.' || c == '_') ? static_cast<char>(c) : '-';
  }
  return out;
}

}  // namespace

std::string encode_header_value(std::string_view value) {
  if (!needs_encoding(value)) return std::string(value);
  // "=?UTF-8?B?" + base64 + "?=" <= 75 characters -> at most 45 bytes of text per word.
  constexpr std::size_t kMaxBytesPerWord = 45;
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    std::size_t end = i;
    while (end < value.size()) {
      std::size_t len = utf8_length(static_cast<unsigned char>(value[end]));
      if (end + len > value.size()) len = value.size() - end;
      if (end + len - i > kMaxBytesPerWord) break;
      end += len;
    }
    if (!out.empty()) out += "\r\n ";  // folding whitespace between encoded-words is ignored
    out += "=?UTF-8?B?" + base64(value.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  std::size_t line_len = 0;
  auto emit = [&](std::string_view piece) {
    if (line_len + piece.size() > 75) {  // 75 + "=" soft break = 76
      out += "=\r\n";
      line_len = 0;
    }
    out += piece;
    line_len += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' ||
                       (text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n');
    if (c == '\n') {
      out += "\r\n";
      line_len = 0;
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF -> one break
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    // A line that would begin with "." is encoded: some relays mangle it despite dot-stuffing.
    if (c == '.' && line_len == 0) literal = false;
    if (literal) {
      char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    } else {
      char enc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      emit(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string address_part(std::string_view mailbox) {
  auto open = mailbox.rfind('<');
  auto close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return std::string(mailbox.substr(open + 1, close - open - 1));
  }
  auto first = mailbox.find_first_not_of(" \t");
  auto last = mailbox.find_last_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(mailbox.substr(first, last - first + 1));
}

std::string render_email(const SmtpConfig& smtp, const Subscription& subscription,
                         const Notification& notification,
                         std::chrono::system_clock::time_point now) {
  const std::string& body_text = subscription.protocol == "email-json"
                                     ? notification.envelope_json
                                     : (notification.email_text.empty() ? notification.message
                                                                        : notification.email_text);
  // From: a non-ASCII display name is encoded, the address is kept as is.
  std::string from = sanitize_header(smtp.from);
  auto lt = from.rfind('<');
  if (lt != std::string::npos && lt > 0 && needs_encoding(std::string_view(from).substr(0, lt))) {
    std::string name = from.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    from = encode_header_value(name) + " " + from.substr(lt);
  }
  std::string id = msg_id_token(notification.message_id.empty() ? "notification"
                                                                : notification.message_id);
  // One mail per subscription: the Message-ID adds a hash of the subscription so that two
  // recipients' copies differ, while a redelivered copy keeps its Message-ID (duplicates detectable).
  std::uint64_t sub_hash = 0xcbf29ce484222325ULL;
  for (std::string_view part : {std::string_view(subscription.subscription_arn),
                                std::string_view(subscription.protocol),
                                std::string_view(subscription.endpoint)}) {
    for (unsigned char c : part) sub_hash = (sub_hash ^ c) * 0x100000001b3ULL;
    sub_hash = (sub_hash ^ 0xff) * 0x100000001b3ULL;
  }
  std::string sub_id = fmt::format("{:016x}", sub_hash);

  bool qp = false;
  std::size_t line = 0;
  for (unsigned char c : body_text) {
    if (c == '\n') {
      line = 0;
      continue;
    }
    if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f || ++line > 998) {
      qp = true;
      break;
    }
  }
  std::string body;
  if (qp) {
    body = quoted_printable(body_text);
  } else {
    for (std::size_t i = 0; i < body_text.size(); ++i) {  // bare LF or CR -> CRLF
      char c = body_text[i];
      if (c == '\r') {
        body += "\r\n";
        if (i + 1 < body_text.size() && body_text[i + 1] == '\n') ++i;
      } else if (c == '\n') {
        body += "\r\n";
      } else {
        body += c;
      }
    }
  }
  if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) body += "\r\n";

  std::string out;
  out += "From: " + from + "\r\n";
  out += "To: " + sanitize_header(subscription.endpoint) + "\r\n";
  out += "Subject: " + encode_header_value(sanitize_header(notification.subject)) + "\r\n";
  out += "Date: " + rfc5322_date(now) + "\r\n";
  out += "Message-ID: <" + id + "." + sub_id + "@cwfilter.localhost>\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += std::string("Content-Transfer-Encoding: ") + (qp ? "quoted-printable" : "7bit") + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t nitems, void* user) {
  auto* up = static_cast<Upload*>(user);
  std::size_t n = std::min(size * nitems, up->data.size() - up->offset);
  std::memcpy(buffer, up->data.data() + up->offset, n);
  up->offset += n;
  return n;
}

}  // namespace

Attempt deliver_email(const Subscription& subscription, const Notification& notification,
                      const DeliveryOptions& options) {
  if (!options.smtp) {
    return Attempt::failure("no SMTP server configured for e-mail delivery", false);
  }
  const SmtpConfig& smtp = *options.smtp;
  ensure_curl_initialized();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Attempt::failure("libcurl: cannot create a handle", true);

  std::string message = render_email(smtp, subscription, notification,
                                     std::chrono::system_clock::now());
  Upload upload{message};
  std::string mail_from = "<" + address_part(smtp.from) + ">";
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(
      curl_slist_append(nullptr, ("<" + subscription.endpoint + ">").c_str()));
  char error_buffer[CURL_ERROR_SIZE] = {0};

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, smtp.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  switch (smtp.tls) {
    case SmtpTls::kNone: curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE)); break;
    case SmtpTls::kStartTlsIfOffered: curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY)); break;
    case SmtpTls::kStartTlsRequired: curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL)); break;
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, smtp.verify_peer ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, smtp.verify_peer ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  if (smtp.user) curl_easy_setopt(c, CURLOPT_USERNAME, smtp.user->c_str());
  if (smtp.password) curl_easy_setopt(c, CURLOPT_PASSWORD, smtp.password->c_str());

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return Attempt::success();
  long reply = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
  std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  // SMTP 4xx replies and network failures are transient; 5xx replies (unknown mailbox, relay
  // denied, bad credentials) will fail the same way again.
  bool retryable = !(reply >= 500 && reply <= 599) && rc != CURLE_LOGIN_DENIED &&
                   rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL;
  return Attempt::failure(fmt::format("SMTP {} to {}: {}{}", smtp.url, subscription.endpoint,
                                      detail, reply ? fmt::format(" (reply {})", reply) : ""),
                          retryable);
}

}  // namespace cwfilter::sinks
