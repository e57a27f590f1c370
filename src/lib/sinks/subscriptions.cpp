// Loading subscriptions (ListSubscriptions items) and the SMTP configuration.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "sinks/internal.hpp"

namespace cwfilter {

const std::vector<std::string_view>& supported_protocols() {
  static const std::vector<std::string_view> kProtocols = {
      "http", "https", "email", "email-json", "stdout", "file", "exec"};
  return kProtocols;
}

namespace {

using rapidjson::Value;

std::string supported_list() {
  std::string out;
  for (auto p : supported_protocols()) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// An addr-spec good enough for an SMTP RCPT TO and a To header: local@domain, nothing that could
// break out of the header or the SMTP command (CR, LF, space, <, >, comma, semicolon, quote).
bool plausible_address(std::string_view a) {
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  if (has_control_or_space(a)) return false;
  return a.find_first_of("<>,;\"()\\") == std::string_view::npos;
}

// arn:<partition>:sns:<region>:<account>:<topic>
bool plausible_topic_arn(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:" || has_control_or_space(arn)) return false;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= arn.size(); ++i) {
    if (i == arn.size() || arn[i] == ':') {
      parts.push_back(arn.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts.size() >= 6 && parts[2] == "sns" && !parts[5].empty();
}

Result<Subscription, Error> parse_item(const Value& item, const std::string& where) {
  if (!item.IsObject()) return Error{where + ": expected an object"};
  Subscription sub;
  bool have_topic = false, have_protocol = false, have_endpoint = false, have_arn = false;
  for (auto it = item.MemberBegin(); it != item.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    const Value& v = it->value;
    auto string_field = [&](std::string& out, bool& seen) -> std::optional<Error> {
      if (seen) return Error{fmt::format("{}: duplicate key \"{}\"", where, key)};
      if (!v.IsString()) return Error{fmt::format("{}: \"{}\" must be a string", where, key)};
      out.assign(v.GetString(), v.GetStringLength());
      seen = true;
      return std::nullopt;
    };
    std::optional<Error> err;
    bool unused = false;
    if (key == "TopicArn") {
      err = string_field(sub.topic_arn, have_topic);
    } else if (key == "Protocol") {
      err = string_field(sub.protocol, have_protocol);
    } else if (key == "Endpoint") {
      err = string_field(sub.endpoint, have_endpoint);
    } else if (key == "SubscriptionArn") {
      err = string_field(sub.subscription_arn, have_arn);
    } else if (key == "Owner") {
      err = string_field(sub.owner, unused);
    } else if (key == "RawMessageDelivery") {
      // get-subscription-attributes gives "true"/"false" strings; accept booleans too.
      if (v.IsBool()) {
        sub.raw_message_delivery = v.GetBool();
      } else if (v.IsString() && (std::string_view(v.GetString()) == "true" ||
                                  std::string_view(v.GetString()) == "false")) {
        sub.raw_message_delivery = std::string_view(v.GetString()) == "true";
      } else {
        err = Error{where + ": \"RawMessageDelivery\" must be true, false, \"true\" or \"false\""};
      }
    }
    // Other keys (e.g. FilterPolicy from other tools) are ignored, as the AWS CLI ignores them.
    if (err) return *err;
  }
  if (!have_topic) return Error{where + ": missing \"TopicArn\""};
  if (!have_protocol) return Error{where + ": missing \"Protocol\""};
  if (!have_endpoint && sub.protocol != "stdout") return Error{where + ": missing \"Endpoint\""};
  if (!plausible_topic_arn(sub.topic_arn)) {
    return Error{fmt::format("{}: \"TopicArn\" {:?} is not an SNS topic ARN "
                             "(arn:aws:sns:REGION:ACCOUNT:NAME)",
                             where, sub.topic_arn)};
  }

  const auto& known = supported_protocols();
  if (std::find(known.begin(), known.end(), sub.protocol) == known.end()) {
    static const std::vector<std::string_view> kAwsOnly = {"sqs", "lambda", "application", "sms",
                                                           "firehose"};
    std::string lower = sub.protocol;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string hint;
    if (std::find(known.begin(), known.end(), lower) != known.end()) {
      hint = fmt::format("; protocols are lower case: \"{}\"", lower);
    } else if (std::find(kAwsOnly.begin(), kAwsOnly.end(), lower) != kAwsOnly.end()) {
      hint = " (an AWS-only protocol: cwfilter cannot deliver to it locally)";
    }
    return Error{fmt::format("{}: protocol {:?} is not supported{}; supported: {}", where,
                             sub.protocol, hint, supported_list())};
  }

  const std::string& p = sub.protocol;
  const std::string& e = sub.endpoint;
  if (p == "http" || p == "https") {
    if (!starts_with_ci(e, p + "://") || e.size() <= p.size() + 3 || has_control_or_space(e)) {
      return Error{fmt::format("{}: a {} endpoint must be a URL starting with {}://, got {:?}",
                               where, p, p, e)};
    }
  } else if (p == "email" || p == "email-json") {
    if (!plausible_address(e)) {
      return Error{fmt::format("{}: {:?} is not an e-mail address", where, e)};
    }
  } else if (p == "file" || p == "exec") {
    if (e.empty() || e.find('\0') != std::string::npos) {
      return Error{fmt::format("{}: a {} endpoint must be a non-empty {}", where, p,
                               p == "file" ? "path" : "command")};
    }
  }

  if (!have_arn || sub.subscription_arn.empty() || sub.subscription_arn == "PendingConfirmation" ||
      sub.subscription_arn == "pending confirmation") {
    sub.pending_confirmation = have_arn && !sub.subscription_arn.empty();
    sub.subscription_arn = sinks::synthesize_subscription_arn(sub.topic_arn, p, e);
  }
  return sub;
}

std::string parse_error_text(const rapidjson::Document& doc) {
  return fmt::format("invalid JSON at offset {}: {}", doc.GetErrorOffset(),
                     rapidjson::GetParseError_En(doc.GetParseError()));
}

}  // namespace

Result<std::vector<Subscription>, Error> parse_subscriptions(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Error{"subscriptions: " + parse_error_text(doc)};
  const Value* items = nullptr;
  std::string prefix = "subscriptions";
  if (doc.IsArray()) {
    items = &doc;
  } else if (doc.IsObject()) {
    auto it = doc.FindMember("Subscriptions");
    if (it == doc.MemberEnd() || !it->value.IsArray()) {
      return Error{"subscriptions: expected {\"Subscriptions\": [...]} (list-subscriptions "
                   "output) or an array of subscriptions"};
    }
    items = &it->value;
    prefix = "Subscriptions";
  } else {
    return Error{"subscriptions: expected an object or an array"};
  }
  std::vector<Subscription> out;
  out.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    auto sub = parse_item((*items)[i], fmt::format("{}[{}]", prefix, i));
    if (!sub) return sub.error();
    out.push_back(std::move(sub).value());
  }
  return out;
}

Result<std::vector<Subscription>, Error> load_subscriptions_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("cannot read subscriptions file {:?}", path)};
  std::ostringstream text;
  text << in.rdbuf();
  auto subs = parse_subscriptions(text.str());
  if (!subs) return Error{path + ": " + subs.error().message};
  return subs;
}

Result<SmtpConfig, Error> parse_smtp_config(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Error{"smtp: " + parse_error_text(doc)};
  if (!doc.IsObject()) return Error{"smtp: expected an object"};
  SmtpConfig cfg;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    const Value& v = it->value;
    auto str = [&]() -> std::optional<std::string> {
      if (!v.IsString()) return std::nullopt;
      return std::string(v.GetString(), v.GetStringLength());
    };
    static const std::vector<std::string_view> kKeys = {"url",      "from", "user",
                                                        "password", "tls",  "verifyPeer"};
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return Error{fmt::format("smtp: unknown key \"{}\" (url, from, user, password, tls, "
                               "verifyPeer)",
                               key)};
    }
    if (key == "verifyPeer") {
      if (!v.IsBool()) return Error{"smtp: \"verifyPeer\" must be true or false"};
      cfg.verify_peer = v.GetBool();
      continue;
    }
    auto s = str();
    if (!s) return Error{fmt::format("smtp: \"{}\" must be a string", key)};
    if (key == "url") {
      cfg.url = *s;
    } else if (key == "from") {
      cfg.from = *s;
    } else if (key == "user") {
      cfg.user = *s;
    } else if (key == "password") {
      cfg.password = *s;
    } else if (key == "tls") {
      if (*s == "none") cfg.tls = SmtpTls::kNone;
      else if (*s == "starttls") cfg.tls = SmtpTls::kStartTlsIfOffered;
      else if (*s == "required") cfg.tls = SmtpTls::kStartTlsRequired;
      else return Error{fmt::format("smtp: \"tls\" must be none, starttls or required, got {:?}", *s)};
    }
  }
  if (!starts_with_ci(cfg.url, "smtp://") && !starts_with_ci(cfg.url, "smtps://")) {
    return Error{fmt::format("smtp: \"url\" must start with smtp:// or smtps://, got {:?}", cfg.url)};
  }
  if (!plausible_address(sinks::address_part(cfg.from)) ||
      cfg.from.find_first_of("\r\n") != std::string::npos) {
    return Error{fmt::format("smtp: \"from\" must be an address or `Name <address>`, got {:?}",
                             cfg.from)};
  }
  return cfg;
}

namespace sinks {

std::string synthesize_subscription_arn(std::string_view topic_arn, std::string_view protocol,
                                        std::string_view endpoint) {
  // Two independent 64-bit FNV-1a hashes make 128 bits shaped like a UUID (version nibble 8 marks
  // it as custom, RFC 9562 §5.8).
  auto fnv = [](std::uint64_t h, std::string_view a, std::string_view b) {
    for (unsigned char c : a) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
    return h;
  };
  std::uint64_t hi = fnv(0xcbf29ce484222325ULL, protocol, endpoint);
  std::uint64_t lo = fnv(0x84222325cbf29ce4ULL, endpoint, protocol);
  hi = (hi & ~0xF000ULL) | 0x8000ULL;
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  return fmt::format("{}:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", topic_arn, hi >> 32,
                     (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

}  // namespace sinks
}  // namespace cwfilter
