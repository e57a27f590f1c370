// The dead-letter file: one JSON record per undeliverable (notification, subscription) pair.
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/file.h>
#include <unistd.h>

#include "sinks/internal.hpp"

namespace cwfilter {

namespace {

template <typename W>
void put(W& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::string to_json_line(const DeadLetterRecord& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  put(w, "time", r.time);
  put(w, "firstFailedTime", r.first_failed_time);
  w.Key("attempts");
  w.Int(r.attempts);
  put(w, "lastError", r.last_error);
  w.Key("subscription");
  w.StartObject();
  put(w, "SubscriptionArn", r.subscription.subscription_arn);
  put(w, "Owner", r.subscription.owner);
  put(w, "Protocol", r.subscription.protocol);
  put(w, "Endpoint", r.subscription.endpoint);
  put(w, "TopicArn", r.subscription.topic_arn);
  w.Key("RawMessageDelivery");
  w.Bool(r.subscription.raw_message_delivery);
  w.EndObject();
  w.Key("notification");
  w.StartObject();
  put(w, "MessageId", r.notification.message_id);
  put(w, "TopicArn", r.notification.topic_arn);
  put(w, "Subject", r.notification.subject);
  put(w, "Message", r.notification.message);
  put(w, "EmailText", r.notification.email_text);
  put(w, "Envelope", r.notification.envelope_json);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<DeadLetterRecord, Error> parse_dead_letter_record(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Error{"dead-letter record: not a JSON object"};
  }
  auto version = doc.FindMember("version");
  if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != 1) {
    return Error{"dead-letter record: missing or unsupported \"version\" (expected 1)"};
  }
  DeadLetterRecord r;
  std::string missing;
  auto get = [&](const rapidjson::Value& obj, const char* key, std::string& out, bool required) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsString()) {
      if (required && missing.empty()) missing = key;
      return;
    }
    out.assign(it->value.GetString(), it->value.GetStringLength());
  };
  get(doc, "time", r.time, false);
  get(doc, "firstFailedTime", r.first_failed_time, false);
  get(doc, "lastError", r.last_error, false);
  auto attempts = doc.FindMember("attempts");
  if (attempts != doc.MemberEnd() && attempts->value.IsInt()) r.attempts = attempts->value.GetInt();
  auto sub = doc.FindMember("subscription");
  auto note = doc.FindMember("notification");
  if (sub == doc.MemberEnd() || !sub->value.IsObject() || note == doc.MemberEnd() ||
      !note->value.IsObject()) {
    return Error{"dead-letter record: missing \"subscription\" or \"notification\""};
  }
  get(sub->value, "SubscriptionArn", r.subscription.subscription_arn, false);
  get(sub->value, "Owner", r.subscription.owner, false);
  get(sub->value, "Protocol", r.subscription.protocol, true);
  get(sub->value, "Endpoint", r.subscription.endpoint, true);
  get(sub->value, "TopicArn", r.subscription.topic_arn, true);
  auto raw = sub->value.FindMember("RawMessageDelivery");
  if (raw != sub->value.MemberEnd() && raw->value.IsBool()) {
    r.subscription.raw_message_delivery = raw->value.GetBool();
  }
  get(note->value, "MessageId", r.notification.message_id, false);
  get(note->value, "TopicArn", r.notification.topic_arn, true);
  get(note->value, "Subject", r.notification.subject, false);
  get(note->value, "Message", r.notification.message, true);
  get(note->value, "EmailText", r.notification.email_text, false);
  get(note->value, "Envelope", r.notification.envelope_json, true);
  if (!missing.empty()) {
    return Error{fmt::format("dead-letter record: missing string \"{}\"", missing)};
  }
  return r;
}

namespace sinks {

DeadLetterLock::DeadLetterLock(const std::string& path) {
  std::string lock_path = path + ".lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = fmt::format("cannot open lock file {:?}: {}", lock_path, std::strerror(errno));
    return;
  }
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    error_ = fmt::format("cannot lock {:?}: {}", lock_path, std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return;
  }
}

DeadLetterLock::~DeadLetterLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::string append_dead_letter(const std::string& path, const std::string& line) {
  DeadLetterLock lock(path);
  if (!lock.locked()) return lock.error();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fmt::format("cannot open dead-letter file {:?}: {}", path, std::strerror(errno));
  }
  std::string data = line + "\n";
  const char* p = data.data();
  std::size_t left = data.size();
  std::string error;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("cannot write dead-letter file {:?}: {}", path, std::strerror(errno));
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // fsync: a dead letter is the last copy of a notification; it must survive a crash or SIGKILL.
  if (error.empty() && ::fsync(fd) != 0) {
    error = fmt::format("cannot sync dead-letter file {:?}: {}", path, std::strerror(errno));
  }
  ::close(fd);
  return error;
}

}  // namespace sinks
}  // namespace cwfilter
