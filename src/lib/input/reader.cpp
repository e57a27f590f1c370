// The input readers: detection, line formats and JSON documents (see include/cwfilter/input.hpp).
#include <cwfilter/input.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "pattern/huge_numbers.hpp"
#include "input/byte_source.hpp"
#include "input/text_util.hpp"

namespace cwfilter {

std::string_view to_string(InputFormat format) noexcept {
  switch (format) {
    case InputFormat::kAuto: return "auto";
    case InputFormat::kCloudTrail: return "cloudtrail";
    case InputFormat::kJsonLines: return "json-lines";
    case InputFormat::kText: return "text";
    case InputFormat::kLogEvents: return "log-events";
    case InputFormat::kSubscription: return "subscription";
    case InputFormat::kLambdaEvent: return "lambda";
  }
  return "?";
}

Result<InputFormat, Error> parse_input_format(std::string_view name) {
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kCloudTrail, InputFormat::kJsonLines,
                        InputFormat::kText, InputFormat::kLogEvents, InputFormat::kSubscription,
                        InputFormat::kLambdaEvent}) {
    if (name == to_string(f)) return f;
  }
  return Error{fmt::format("unknown input format '{}' (expected auto, cloudtrail, json-lines, text, "
                           "log-events, subscription or lambda)",
                           name)};
}

std::string to_string(const MalformedRecord& r) {
  std::string where = r.source;
  if (r.line != 0) {
    where += fmt::format(":{}", r.line);
  } else if (r.record_number != 0) {
    where += fmt::format(": record {}", r.record_number);
  } else {
    where += fmt::format(": {}byte {}", r.compressed_offset ? "compressed " : "", r.byte_offset);
  }
  return fmt::format("{}: {}", where, r.reason);
}

namespace {

using input::ByteSource;
using rapidjson::SizeType;

constexpr std::size_t kChunk = 64 * 1024;
constexpr unsigned kJsonFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::uint64_t line_of(std::string_view buf, std::size_t offset) {
  offset = std::min(offset, buf.size());
  return 1 + static_cast<std::uint64_t>(std::count(buf.begin(), buf.begin() + offset, '\n'));
}

enum class NameHint { kNone, kJsonDocument, kJsonLines };

NameHint hint_from_name(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends(".json") || ends(".json.gz")) return NameHint::kJsonDocument;
  if (ends(".jsonl") || ends(".ndjson") || ends(".jsonl.gz") || ends(".ndjson.gz")) {
    return NameHint::kJsonLines;
  }
  return NameHint::kNone;
}

// Everything about the source being read.
struct Context {
  const InputOptions& opt;
  const EventCallback& on_event;
  const MalformedCallback& on_malformed;
  SourceStats& st;
  const std::string& name;
  const std::optional<std::vector<input::SelectorStep>>& selector;  // nullopt: auto eventTime
  bool selector_disabled = false;                                   // timestamp_selector == ""
  std::optional<InputFormat> label;  // format written on events (Lambda payloads)
  std::string reason_prefix;         // "awslogs.data: " for the payload inside a Lambda event

  void event(LogEvent&& e, InputFormat f) {
    ++st.events;
    if (!e.has_timestamp) ++st.events_without_timestamp;
    e.source = name;
    e.format = label.value_or(f);
    on_event(std::move(e));
  }
  void malformed(std::uint64_t record, std::uint64_t line, std::uint64_t offset, bool compressed,
                 std::string reason) {
    ++st.malformed;
    MalformedRecord r;
    r.source = name;
    r.record_number = record;
    r.line = line;
    r.byte_offset = offset;
    r.compressed_offset = compressed;
    r.reason = reason_prefix + std::move(reason);
    on_malformed(r);
  }
};

// ---------------------------------------------------------------------------------------------
// JSON documents: one SAX pass records where each record starts and ends and the few scalar
// members the readers need; messages are then cut from the original bytes.

struct Field {
  std::string key;
  std::string value;
  bool is_string = false;
};

struct Record {
  std::string array_key;  // the root member holding the array; "" for a root array
  std::uint64_t index = 0;  // 1-based within its array
  bool is_object = false;
  bool complete = false;
  std::size_t begin = 0, end = 0;
  std::vector<Field> fields;  // scalar members directly inside the record (wanted keys only)

  const Field* find(std::string_view key) const {
    const Field* found = nullptr;
    for (const Field& f : fields) {
      if (f.key == key) found = &f;  // the last duplicate wins, as in Jackson (AWS's parser)
    }
    return found;
  }
};

struct DocScan {
  enum class Root { kNone, kObject, kArray, kScalar } root = Root::kNone;
  std::size_t root_begin = 0, root_end = 0;
  std::vector<std::string> root_keys;
  std::vector<Field> root_scalars;
  std::optional<std::string> awslogs_data;
  std::vector<Record> records;
  bool ok = false;
  std::size_t error_offset = 0;
  std::string error;
  std::uint64_t error_record = 0;  // record being read when the error occurred
  rapidjson::ParseErrorCode error_code = rapidjson::kParseErrorNone;

  bool has_key(std::string_view k) const {
    return std::find(root_keys.begin(), root_keys.end(), k) != root_keys.end();
  }
  const Field* root_scalar(std::string_view key) const {
    const Field* found = nullptr;
    for (const Field& f : root_scalars) {
      if (f.key == key) found = &f;
    }
    return found;
  }
};

bool wanted_record_key(std::string_view k) {
  return k == "eventTime" || k == "eventID" || k == "timestamp" || k == "message" || k == "id" ||
         k == "eventId" || k == "logStreamName";
}

class Collector : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Collector> {
 public:
  Collector(rapidjson::MemoryStream& is, DocScan& out, std::size_t base)
      : is_(is), out_(out), base_(base) {}

  bool Null() { return scalar("null", 4, false); }
  bool Bool(bool b) { return b ? scalar("true", 4, false) : scalar("false", 5, false); }
  bool RawNumber(const char* s, SizeType n, bool) { return scalar(s, n, false); }
  bool String(const char* s, SizeType n, bool) { return scalar(s, n, true); }
  bool Key(const char* s, SizeType n, bool) {
    key_.assign(s, n);
    if (stack_.size() == 1 && out_.root == DocScan::Root::kObject) {
      root_key_ = key_;
      if (out_.root_keys.size() < 64) out_.root_keys.push_back(key_);
    }
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(SizeType) { return close(); }
  bool EndArray(SizeType) { return close(); }

  std::uint64_t open_record() const {
    return record_depth_ != 0 && !out_.records.empty() ? out_.records.back().index : 0;
  }

 private:
  // RapidJSON's iterative parser calls Start*/End* before consuming the bracket, the recursive one
  // after: look at the byte to know.
  std::size_t start_offset(char bracket) const {
    return base_ + (is_.Peek() == bracket ? is_.Tell() : is_.Tell() - 1);
  }
  std::size_t end_offset(char bracket) const {
    return base_ + (is_.Peek() == bracket ? is_.Tell() + 1 : is_.Tell());
  }

  void new_record(bool is_object) {
    Record r;
    r.array_key = array_key_;
    r.index = ++element_count_;
    r.is_object = is_object;
    r.complete = !is_object;
    out_.records.push_back(std::move(r));
  }

  bool scalar(const char* s, SizeType n, bool is_string) {
    const std::size_t depth = stack_.size();
    if (depth == 0) {
      out_.root = DocScan::Root::kScalar;
    } else if (depth == record_array_depth_) {
      new_record(false);
    } else if (record_depth_ != 0 && depth == record_depth_) {
      if (wanted_record_key(key_)) {
        out_.records.back().fields.push_back({key_, std::string(s, n), is_string});
      }
    } else if (depth == 1 && out_.root == DocScan::Root::kObject) {
      if (out_.root_scalars.size() < 256) out_.root_scalars.push_back({key_, std::string(s, n), is_string});
    } else if (depth == 2 && in_awslogs_ && key_ == "data" && is_string) {
      out_.awslogs_data = std::string(s, n);
    }
    return true;
  }

  bool open(bool is_object) {
    const std::size_t depth = stack_.size();
    if (depth == 0) {
      out_.root = is_object ? DocScan::Root::kObject : DocScan::Root::kArray;
      out_.root_begin = start_offset(is_object ? '{' : '[');
      if (!is_object) {
        record_array_depth_ = 1;
        array_key_.clear();
        element_count_ = 0;
      }
    } else if (depth == record_array_depth_) {
      new_record(is_object);
      if (is_object) {
        out_.records.back().begin = start_offset('{');
        record_depth_ = depth + 1;
      }
    } else if (depth == 1 && out_.root == DocScan::Root::kObject) {
      if (!is_object) {
        record_array_depth_ = 2;
        array_key_ = root_key_;
        element_count_ = 0;
      } else if (root_key_ == "awslogs") {
        in_awslogs_ = true;
      }
    }
    stack_.push_back(is_object ? '{' : '[');
    return true;
  }

  bool close() {
    const std::size_t depth = stack_.size();
    const char bracket = stack_.back() == '{' ? '}' : ']';
    if (depth == record_depth_) {
      Record& r = out_.records.back();
      r.end = end_offset('}');
      r.complete = true;
      record_depth_ = 0;
    }
    if (depth == record_array_depth_) record_array_depth_ = 0;
    if (depth == 2 && in_awslogs_) in_awslogs_ = false;
    if (depth == 1) out_.root_end = end_offset(bracket);
    stack_.pop_back();
    return true;
  }

  rapidjson::MemoryStream& is_;
  DocScan& out_;
  std::size_t base_;
  std::string key_;
  std::string root_key_;
  std::string array_key_;
  std::vector<char> stack_;  // open containers; heap, so any nesting depth is fine
  std::size_t record_array_depth_ = 0;
  std::size_t record_depth_ = 0;
  std::uint64_t element_count_ = 0;
  bool in_awslogs_ = false;
};

DocScan scan_document_once(std::string_view buf, std::size_t begin) {
  DocScan out;
  rapidjson::MemoryStream ms(buf.data() + begin, buf.size() - begin);
  Collector collector(ms, out, begin);
  rapidjson::Reader reader;
  rapidjson::ParseResult pr = reader.Parse<kJsonFlags>(ms, collector);
  if (pr.IsError()) {
    out.error_offset = begin + pr.Offset();
    out.error = rapidjson::GetParseError_En(pr.Code());
    out.error_code = pr.Code();
    out.error_record = collector.open_record();
  } else if (begin + ms.Tell() != buf.size()) {
    // RapidJSON stops at a NUL byte as if the text ended there.
    out.error_offset = begin + ms.Tell();
    out.error = "NUL byte after the JSON value";
  } else {
    out.ok = true;
  }
  return out;
}

// Numbers beyond double's range (1e400: valid JSON that RapidJSON rejects even when it keeps
// numbers as text) are replaced by in-range numbers of the same length, so offsets stay those of
// the original bytes (the pattern evaluators use the same replacement).
bool blank_huge_numbers(std::string& text) { return !detail::neutralise_huge_numbers(text).empty(); }

DocScan scan_document(std::string_view buf, std::size_t begin) {
  DocScan out = scan_document_once(buf, begin);
  if (out.error_code == rapidjson::kParseErrorNumberTooBig) {
    std::string copy(buf);
    if (blank_huge_numbers(copy)) out = scan_document_once(copy, begin);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

std::optional<std::int64_t> time_from_text(std::string_view text, bool is_string) {
  if (is_string) {
    if (auto iso = parse_iso8601_ms(text)) return iso;
  }
  return input::parse_epoch_ms(text);
}

void set_time(LogEvent& e, std::optional<std::int64_t> t) {
  if (t) {
    e.timestamp_ms = *t;
    e.has_timestamp = true;
  }
}

void deliver_cloudtrail_record(Context& cx, std::string_view buf, std::string_view json,
                               const Record* fields_of, const DocScan& doc, std::uint64_t index) {
  LogEvent e;
  e.message = input::minify_json(json);
  if (e.message.size() > cx.opt.max_event_bytes) {
    cx.malformed(index, line_of(buf, static_cast<std::size_t>(json.data() - buf.data())),
                 static_cast<std::size_t>(json.data() - buf.data()),
                 false,
                 fmt::format("record of {} bytes exceeds max_event_bytes ({})", e.message.size(),
                             cx.opt.max_event_bytes));
    return;
  }
  const Field* time = fields_of != nullptr ? fields_of->find("eventTime") : doc.root_scalar("eventTime");
  const Field* id = fields_of != nullptr ? fields_of->find("eventID") : doc.root_scalar("eventID");
  if (time != nullptr && time->is_string) set_time(e, parse_iso8601_ms(time->value));
  if (id != nullptr && id->is_string) e.event_id = id->value;
  e.record_number = index;
  cx.event(std::move(e), InputFormat::kCloudTrail);
}

void read_stream(Context& cx, ByteSource& raw, NameHint hint, InputFormat forced);

void deliver_log_event(Context& cx, std::string_view buf, const Record& r, InputFormat f,
                       std::string_view log_group, std::string_view log_stream) {
  std::size_t at = r.begin;
  if (!r.is_object) {
    cx.malformed(r.index, 0, 0, false, "log event is not a JSON object");
    return;
  }
  const Field* msg = r.find("message");
  if (msg == nullptr || !msg->is_string) {
    cx.malformed(r.index, line_of(buf, at), at, false, "log event has no \"message\" string");
    return;
  }
  if (msg->value.empty()) {
    cx.malformed(r.index, line_of(buf, at), at, false, "log event has an empty message");
    return;
  }
  if (msg->value.size() > cx.opt.max_event_bytes) {
    cx.malformed(r.index, line_of(buf, at), at, false,
                 fmt::format("message of {} bytes exceeds max_event_bytes ({})", msg->value.size(),
                             cx.opt.max_event_bytes));
    return;
  }
  LogEvent e;
  e.message = msg->value;
  if (const Field* t = r.find("timestamp")) set_time(e, time_from_text(t->value, t->is_string));
  const Field* id = r.find(f == InputFormat::kSubscription ? "id" : "eventId");
  if (id != nullptr) e.event_id = id->value;
  e.log_group = std::string(log_group);
  if (const Field* s = r.find("logStreamName"); s != nullptr && s->is_string) {
    e.log_stream = s->value;
  } else {
    e.log_stream = std::string(log_stream);
  }
  e.record_number = r.index;
  cx.event(std::move(e), f);
}

void process_document(Context& cx, std::string_view buf, std::size_t begin, InputFormat forced,
                      bool stream_faulted) {
  DocScan doc = scan_document(buf, begin);
  const bool is_object = doc.root == DocScan::Root::kObject;

  InputFormat f = forced;
  if (f == InputFormat::kAuto) {
    if (doc.root == DocScan::Root::kArray) f = InputFormat::kCloudTrail;
    else if (!is_object) f = InputFormat::kCloudTrail;
    else if (doc.has_key("Records")) f = InputFormat::kCloudTrail;
    else if (doc.has_key("messageType")) f = InputFormat::kSubscription;
    else if (doc.has_key("awslogs")) f = InputFormat::kLambdaEvent;
    else if (doc.has_key("events")) f = InputFormat::kLogEvents;
    else f = InputFormat::kCloudTrail;
  }
  cx.st.format = cx.label.value_or(f);

  auto records_of = [&](std::string_view key, auto&& each) {
    for (const Record& r : doc.records) {
      if (r.array_key == key && r.complete) each(r);
    }
  };

  switch (f) {
    case InputFormat::kCloudTrail:
      if (doc.root == DocScan::Root::kArray || (is_object && doc.has_key("Records"))) {
        records_of(doc.root == DocScan::Root::kArray ? "" : "Records", [&](const Record& r) {
          if (!r.is_object) {
            cx.malformed(r.index, 0, 0, false, "CloudTrail record is not a JSON object");
          } else {
            deliver_cloudtrail_record(cx, buf, buf.substr(r.begin, r.end - r.begin), &r, doc,
                                      r.index);
          }
        });
      } else if (is_object && doc.ok) {
        deliver_cloudtrail_record(cx, buf, buf.substr(doc.root_begin, doc.root_end - doc.root_begin),
                                  nullptr, doc, 1);
      } else if (doc.ok) {
        cx.malformed(0, 0, begin, false, "JSON document is not an object or array");
      }
      break;
    case InputFormat::kLogEvents:
      if (doc.ok && !(is_object && doc.has_key("events"))) {
        cx.malformed(0, 0, begin, false, "no \"events\" array (get-log-events output expected)");
      }
      records_of("events", [&](const Record& r) {
        deliver_log_event(cx, buf, r, InputFormat::kLogEvents, "", "");
      });
      break;
    case InputFormat::kSubscription: {
      const Field* type = doc.root_scalar("messageType");
      if (!doc.ok && type == nullptr) break;
      if (type == nullptr || !type->is_string) {
        cx.malformed(0, 0, begin, false, "subscription payload without a \"messageType\"");
        break;
      }
      if (type->value == "CONTROL_MESSAGE") {
        ++cx.st.control_messages;  // CloudWatch's health check: no log events
        break;
      }
      if (type->value != "DATA_MESSAGE") {
        cx.malformed(0, 0, begin, false, fmt::format("unknown messageType \"{}\"", type->value));
        break;
      }
      const Field* group = doc.root_scalar("logGroup");
      const Field* stream = doc.root_scalar("logStream");
      records_of("logEvents", [&](const Record& r) {
        deliver_log_event(cx, buf, r, InputFormat::kSubscription, group ? group->value : "",
                          stream ? stream->value : "");
      });
      break;
    }
    case InputFormat::kLambdaEvent: {
      if (!doc.ok) break;
      if (!doc.awslogs_data) {
        cx.malformed(0, 0, begin, false, "Lambda event without an \"awslogs\".\"data\" string");
        break;
      }
      std::optional<std::string> payload = input::decode_base64(*doc.awslogs_data);
      if (!payload) {
        cx.malformed(1, 0, begin, false, "awslogs.data is not valid base64");
        break;
      }
      input::MemorySource inner(*payload);
      Context nested = cx;
      nested.label = InputFormat::kLambdaEvent;
      nested.reason_prefix = cx.reason_prefix + "awslogs.data: ";
      read_stream(nested, inner, NameHint::kNone, InputFormat::kSubscription);
      cx.st.format = InputFormat::kLambdaEvent;
      break;
    }
    default:
      break;
  }

  if (!doc.ok) {
    // A stream that ended on a decoding fault makes the text end early; that fault is the report.
    bool cut_by_fault = stream_faulted && doc.error_offset >= buf.size();
    if (!cut_by_fault) {
      cx.malformed(doc.error_record, line_of(buf, doc.error_offset), doc.error_offset, false,
                   fmt::format("invalid JSON at byte {}: {}", doc.error_offset, doc.error));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Line formats.

const rapidjson::Value* select(const rapidjson::Value& root,
                               const std::vector<input::SelectorStep>& steps) {
  const rapidjson::Value* v = &root;
  for (const auto& step : steps) {
    if (const auto* key = std::get_if<std::string>(&step.key_or_index)) {
      if (!v->IsObject()) return nullptr;
      const rapidjson::Value* found = nullptr;
      for (auto m = v->MemberBegin(); m != v->MemberEnd(); ++m) {
        if (std::string_view(m->name.GetString(), m->name.GetStringLength()) == *key) {
          found = &m->value;  // last duplicate wins
        }
      }
      if (found == nullptr) return nullptr;
      v = found;
    } else {
      std::size_t i = std::get<std::size_t>(step.key_or_index);
      if (!v->IsArray() || i >= v->Size()) return nullptr;
      v = &(*v)[static_cast<SizeType>(i)];
    }
  }
  return v;
}

void deliver_json_line(Context& cx, std::string_view line, std::uint64_t number,
                       std::uint64_t offset) {
  rapidjson::Document d;
  rapidjson::MemoryStream ms(line.data(), line.size());
  d.ParseStream<kJsonFlags, rapidjson::UTF8<>>(ms);
  std::string blanked;
  if (d.GetParseError() == rapidjson::kParseErrorNumberTooBig) {
    blanked = std::string(line);
    if (blank_huge_numbers(blanked)) {
      ms = rapidjson::MemoryStream(blanked.data(), blanked.size());
      d.ParseStream<kJsonFlags, rapidjson::UTF8<>>(ms);
    }
  }
  if (d.HasParseError()) {
    cx.malformed(number, number, offset, false,
                 fmt::format("invalid JSON at column {}: {}", d.GetErrorOffset() + 1,
                             rapidjson::GetParseError_En(d.GetParseError())));
    return;
  }
  if (ms.Tell() != line.size()) {
    cx.malformed(number, number, offset, false,
                 fmt::format("NUL byte after the JSON value at column {}", ms.Tell() + 1));
    return;
  }
  if (!d.IsObject()) {
    cx.malformed(number, number, offset, false, "JSON line is not an object");
    return;
  }
  LogEvent e;
  e.message = std::string(line);
  if (!cx.selector_disabled) {
    static const std::vector<input::SelectorStep> kEventTime = {{std::string("eventTime")}};
    const rapidjson::Value* v = select(d, cx.selector ? *cx.selector : kEventTime);
    if (v != nullptr && v->IsString()) {
      std::string_view text(v->GetString(), v->GetStringLength());
      // Numbers arrive as strings too (kParseNumbersAsStringsFlag): both forms are accepted.
      set_time(e, time_from_text(text, true));
    }
    if (!cx.selector) {
      const rapidjson::Value* id = select(d, {{std::string("eventID")}});
      if (id != nullptr && id->IsString()) e.event_id = id->GetString();
    }
  }
  e.record_number = number;
  cx.event(std::move(e), InputFormat::kJsonLines);
}

void deliver_line(Context& cx, std::string_view line, std::uint64_t number, std::uint64_t offset,
                  bool json) {
  if (line.size() > cx.opt.max_event_bytes) {
    cx.malformed(number, number, offset, false,
                 fmt::format("line of {} bytes exceeds max_event_bytes ({})", line.size(),
                             cx.opt.max_event_bytes));
    return;
  }
  bool blank = json ? std::all_of(line.begin(), line.end(), is_ws) : line.empty();
  if (blank) {
    ++cx.st.empty_lines;
    return;
  }
  if (json) {
    deliver_json_line(cx, line, number, offset);
    return;
  }
  LogEvent e;
  e.message = std::string(line);
  e.record_number = number;
  cx.event(std::move(e), InputFormat::kText);
}

// Splits the decoded stream into lines; `buf` holds what detection already read. Memory stays
// within max_event_bytes + one chunk: an over-long line is counted while it is skipped.
void read_lines(Context& cx, std::string& buf, std::size_t pos, ByteSource& in, bool json) {
  std::uint64_t base = 0;  // decoded offset of buf[0]
  std::uint64_t number = 1;
  std::uint64_t line_start = pos;
  std::uint64_t skipped = 0;  // bytes of an over-long line already dropped
  bool eof = false;
  const std::size_t cap = cx.opt.max_event_bytes + 1;  // +1 for the '\r' of "\r\n"
  std::string chunk(kChunk, '\0');
  for (;;) {
    std::size_t nl = buf.find('\n', pos);
    if (nl != std::string::npos) {
      std::string_view line(buf.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (skipped > 0) {
        cx.malformed(number, number, line_start, false,
                     fmt::format("line of {} bytes exceeds max_event_bytes ({})",
                                 skipped + line.size(), cx.opt.max_event_bytes));
        skipped = 0;
      } else {
        deliver_line(cx, line, number, line_start, json);
      }
      ++number;
      pos = nl + 1;
      line_start = base + pos;
      continue;
    }
    if (eof) break;
    // No newline in what is buffered: drop an over-long partial line, then read more.
    if (buf.size() - pos > cap) {
      skipped += buf.size() - pos;
      pos = buf.size();
    }
    buf.erase(0, pos);
    base += pos;
    pos = 0;
    std::size_t k = in.read(chunk.data(), chunk.size());
    if (k == 0) {
      eof = true;
      continue;
    }
    buf.append(chunk.data(), k);
  }
  std::string_view rest(buf.data() + pos, buf.size() - pos);
  if (skipped > 0 || !rest.empty()) {
    if (in.fault()) {
      cx.malformed(number, number, line_start, false,
                   "incomplete last line: the input ended on a decoding error");
    } else if (skipped > 0) {
      cx.malformed(number, number, line_start, false,
                   fmt::format("line of {} bytes exceeds max_event_bytes ({})",
                               skipped + rest.size(), cx.opt.max_event_bytes));
    } else {
      // Last line without a newline: its "\r" is still a line ending (a CRLF file cut before
      // its final "\n"), as for every other line.
      if (rest.back() == '\r') rest.remove_suffix(1);
      deliver_line(cx, rest, number, line_start, json);
    }
  }
}

// ---------------------------------------------------------------------------------------------

enum class Shape { kText, kLines, kDocument };

// Reads just enough of `in` into `buf` to pick the shape (rules in input.hpp). `start` receives
// the offset after a UTF-8 BOM.
Shape detect(std::string& buf, ByteSource& in, NameHint hint, std::size_t max_line,
             std::size_t& start) {
  std::string chunk(kChunk, '\0');
  auto more = [&]() {
    std::size_t k = in.read(chunk.data(), chunk.size());
    buf.append(chunk.data(), k);
    return k != 0;
  };
  while (buf.size() < 3 && more()) {
  }
  start = buf.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  if (hint == NameHint::kJsonLines) return Shape::kLines;
  const Shape not_json = hint == NameHint::kJsonDocument ? Shape::kDocument : Shape::kText;
  std::size_t i = start;
  for (;;) {
    while (i < buf.size() && is_ws(buf[i])) ++i;
    if (i < buf.size()) break;
    if (!more()) return not_json;
  }
  if (buf[i] != '{' && buf[i] != '[') return not_json;
  input::ValueEndScanner scanner(i);
  while (!scanner.run(buf)) {
    if (scanner.position() - i > max_line || !more()) return Shape::kDocument;
  }
  std::size_t j = scanner.end();
  const Shape after = scanner.newline_inside() ? Shape::kDocument : Shape::kLines;
  for (;;) {
    while (j < buf.size() && (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\r')) ++j;
    if (j < buf.size()) break;
    if (!more()) return Shape::kDocument;
  }
  if (buf[j] != '\n') return after;
  for (;;) {
    while (j < buf.size() && is_ws(buf[j])) ++j;
    if (j < buf.size()) break;
    if (!more()) return Shape::kDocument;
  }
  return after;
}

void read_stream(Context& cx, ByteSource& raw, NameHint hint, InputFormat forced) {
  input::PeekSource peek(raw);
  std::string_view magic = peek.peek(2);
  const bool gzip = magic.size() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
                    static_cast<unsigned char>(magic[1]) == 0x8b;
  std::optional<input::GzipSource> gz;
  if (gzip) {
    cx.st.gzip = true;
    gz.emplace(peek, input::GzipLimits{cx.opt.max_decompressed_bytes, cx.opt.max_compression_ratio,
                                       cx.opt.ratio_guard_min_bytes});
  }
  ByteSource& in = gzip ? static_cast<ByteSource&>(*gz) : peek;

  std::string buf;
  std::size_t start = 0;
  Shape shape;
  if (forced == InputFormat::kText || forced == InputFormat::kJsonLines) {
    shape = forced == InputFormat::kText ? Shape::kText : Shape::kLines;
    detect(buf, in, NameHint::kJsonLines, 0, start);  // only strips the BOM
  } else if (forced != InputFormat::kAuto) {
    shape = Shape::kDocument;
    detect(buf, in, NameHint::kJsonLines, 0, start);
  } else {
    shape = detect(buf, in, hint, cx.opt.max_event_bytes, start);
  }

  bool too_big = false;
  if (shape == Shape::kDocument) {
    std::string chunk(kChunk, '\0');
    while (buf.size() <= cx.opt.max_document_bytes) {
      std::size_t k = in.read(chunk.data(), chunk.size());
      if (k == 0) break;
      buf.append(chunk.data(), k);
    }
    too_big = buf.size() > cx.opt.max_document_bytes;
    if (too_big) {
      cx.st.format = forced == InputFormat::kAuto ? InputFormat::kCloudTrail : forced;
      cx.malformed(0, 0, 0, false,
                   fmt::format("JSON document larger than max_document_bytes ({})",
                               cx.opt.max_document_bytes));
    } else {
      process_document(cx, buf, start, forced, in.fault().has_value());
    }
  } else {
    cx.st.format = cx.label.value_or(shape == Shape::kText ? InputFormat::kText
                                                           : InputFormat::kJsonLines);
    read_lines(cx, buf, start, in, shape == Shape::kLines);
  }

  if (!cx.label) {
    cx.st.bytes_read = raw.bytes_consumed();
    cx.st.bytes_decoded = in.bytes_consumed();
  }
  if (const auto& fault = in.fault(); fault && !fault->io_error && !too_big) {
    cx.malformed(0, 0, fault->offset, fault->compressed_offset, fault->reason);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

InputReader::InputReader(InputOptions options, EventCallback on_event,
                         MalformedCallback on_malformed)
    : options_(std::move(options)),
      on_event_(std::move(on_event)),
      on_malformed_(std::move(on_malformed)) {}

Result<InputReader, Error> InputReader::create(InputOptions options, EventCallback on_event,
                                               MalformedCallback on_malformed) {
  if (options.timestamp_selector && !options.timestamp_selector->empty() &&
      !input::parse_selector(*options.timestamp_selector)) {
    return Error{fmt::format("invalid timestamp selector '{}' (expected $.field, $.a.b or $.a[0])",
                             *options.timestamp_selector)};
  }
  if (options.max_event_bytes == 0 || options.max_decompressed_bytes == 0 ||
      options.max_compression_ratio == 0 || options.max_document_bytes == 0) {
    return Error{"input limits must be greater than zero"};
  }
  if (!on_event) on_event = [](LogEvent&&) {};
  if (!on_malformed) on_malformed = [](const MalformedRecord&) {};
  return InputReader(std::move(options), std::move(on_event), std::move(on_malformed));
}

namespace {
// Reads one source; returns the I/O error that stopped it, if any.
std::optional<std::string> run_source(const InputOptions& opt, const EventCallback& on_event,
                                      const MalformedCallback& on_malformed, InputStats& stats,
                                      const std::string& name, ByteSource& raw, NameHint hint) {
  SourceStats st;
  st.source = name;
  std::optional<std::vector<input::SelectorStep>> selector;
  if (opt.timestamp_selector && !opt.timestamp_selector->empty()) {
    selector = input::parse_selector(*opt.timestamp_selector);
  }
  Context cx{opt, on_event, on_malformed, st, name, selector,
             opt.timestamp_selector && opt.timestamp_selector->empty(), std::nullopt, {}};
  read_stream(cx, raw, hint, opt.format);
  stats.events += st.events;
  stats.malformed += st.malformed;
  stats.sources.push_back(std::move(st));
  if (raw.fault() && raw.fault()->io_error) return raw.fault()->reason;
  return std::nullopt;
}
}  // namespace

void InputReader::read_buffer(std::string_view data, std::string source_name) {
  input::MemorySource raw(data);
  run_source(options_, on_event_, on_malformed_, stats_, source_name, raw,
             hint_from_name(source_name));
}

void InputReader::count_bytes(std::size_t n) {
  bytes_read_ += n;
  if (on_progress_) on_progress_(bytes_read_);
}

Result<bool, Error> InputReader::read_stdin() {
  input::FileSource raw(stdin, false, [this](std::size_t n) { count_bytes(n); });
  const std::string name = "-";
  if (auto err = run_source(options_, on_event_, on_malformed_, stats_, name, raw, NameHint::kNone)) {
    return Error{fmt::format("-: {}", *err)};
  }
  return true;
}

Result<bool, Error> InputReader::read_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::FILE* f = std::fopen(name.c_str(), "rb");
  if (f == nullptr) {
    return Error{fmt::format("{}: cannot open: {}", name, std::strerror(errno))};
  }
  input::FileSource raw(f, true, [this](std::size_t n) { count_bytes(n); });
  if (auto err = run_source(options_, on_event_, on_malformed_, stats_, name, raw,
                            hint_from_name(name))) {
    return Error{fmt::format("{}: {}", name, *err)};
  }
  return true;
}

Result<std::vector<std::string>, Error> InputReader::walk_directory(const std::filesystem::path& path) const {
  // Collect, then sort byte-wise: directory order is file-system dependent, and CloudTrail's
  // layout (.../YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json.gz) then
  // reads in time order.
  std::error_code ec;
  std::vector<std::string> files;
  auto skipped = [&](const std::filesystem::path& p) {
    const std::string base = p.filename().string();
    if (!base.empty() && base[0] == '.') return true;
    return std::find(options_.skip_directory_names.begin(), options_.skip_directory_names.end(),
                     base) != options_.skip_directory_names.end();
  };
  std::filesystem::recursive_directory_iterator it(path, ec), end;
  if (ec) return Error{fmt::format("{}: cannot read directory: {}", path.string(), ec.message())};
  for (; it != end; it.increment(ec)) {
    if (ec) return Error{fmt::format("{}: cannot read directory: {}", path.string(), ec.message())};
    const auto& entry = *it;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      if (skipped(entry.path())) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_regular_file(type_ec) && entry.path().filename().string()[0] != '.') {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<bool, Error> InputReader::read_path(const std::filesystem::path& path) {
  if (path == "-") return read_stdin();
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return read_file(path);
  auto files = walk_directory(path);
  if (!files) return files.error();
  for (const std::string& file : files.value()) {
    auto r = read_file(file);
    if (!r) return r.error();
  }
  return true;
}

Result<std::uint64_t, Error> InputReader::input_size(const std::filesystem::path& path) const {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto files = walk_directory(path);
    if (!files) return files.error();
    std::uint64_t total = 0;
    for (const std::string& file : files.value()) {
      auto size = std::filesystem::file_size(file, ec);
      if (!ec) total += size;  // a file that vanished since the walk is read as an error later
    }
    return total;
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error{fmt::format("{}: cannot get its size: {}", path.string(), ec.message())};
  return static_cast<std::uint64_t>(size);
}

Result<InputResult, Error> read_all(const std::filesystem::path& path, const InputOptions& options) {
  InputResult out;
  auto reader = InputReader::create(
      options, [&](LogEvent&& e) { out.events.push_back(std::move(e)); },
      [&](const MalformedRecord& m) { out.malformed.push_back(m); });
  if (!reader) return reader.error();
  auto r = reader->read_path(path);
  if (!r) return r.error();
  out.stats = reader->stats();
  return out;
}

Result<InputResult, Error> read_all_buffer(std::string_view data, std::string source_name,
                                           const InputOptions& options) {
  InputResult out;
  auto reader = InputReader::create(
      options, [&](LogEvent&& e) { out.events.push_back(std::move(e)); },
      [&](const MalformedRecord& m) { out.malformed.push_back(m); });
  if (!reader) return reader.error();
  reader->read_buffer(data, std::move(source_name));
  out.stats = reader->stats();
  return out;
}

}  // namespace cwfilter
