#include "pattern/json_event.hpp"

#include <rapidjson/reader.h>

namespace cwfilter::detail {

struct JsonEventBuilder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonEventBuilder> {
  JsonEvent& ev;
  std::size_t max_depth;
  struct Open {
    std::uint32_t node;
    std::uint32_t last_child;
  };
  std::vector<Open> open;
  std::string_view pending_key;

  JsonEventBuilder(JsonEvent& e, std::size_t depth) : ev(e), max_depth(depth) {}

  std::uint32_t add(FieldValue::Type type, std::string_view text) {
    auto idx = static_cast<std::uint32_t>(ev.nodes_.size());
    JsonNode n;
    n.type = type;
    n.text = text;
    n.key = pending_key;
    pending_key = {};
    ev.nodes_.push_back(n);
    if (!open.empty()) {
      Open& parent = open.back();
      if (parent.last_child == JsonNode::kNone)
        ev.nodes_[parent.node].first_child = idx;
      else
        ev.nodes_[parent.last_child].next_sibling = idx;
      parent.last_child = idx;
    }
    return idx;
  }
  bool Null() { return add(FieldValue::Type::kNull, "null"), true; }
  bool Bool(bool b) { return add(b ? FieldValue::Type::kTrue : FieldValue::Type::kFalse, b ? "true" : "false"), true; }
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    return add(FieldValue::Type::kNumber, std::string_view(s, len)), true;
  }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    return add(FieldValue::Type::kString, std::string_view(s, len)), true;
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    pending_key = std::string_view(s, len);
    return true;
  }
  bool StartObject() { return start(FieldValue::Type::kObject); }
  bool StartArray() { return start(FieldValue::Type::kArray); }
  bool start(FieldValue::Type type) {
    if (open.size() >= max_depth) return false;
    std::uint32_t idx = add(type, {});
    open.push_back({idx, JsonNode::kNone});
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return open.pop_back(), true; }
  bool EndArray(rapidjson::SizeType) { return open.pop_back(), true; }
};

bool JsonEvent::parse(std::string_view message, std::size_t max_depth) {
  nodes_.clear();
  // A raw NUL byte is never valid JSON, and would end the in-situ buffer early.
  if (message.find('\0') != std::string_view::npos) return false;
  // Cheap rejection: the first non-blank byte must open an object.
  std::size_t i = 0;
  while (i < message.size() && (message[i] == ' ' || message[i] == '\t' || message[i] == '\n' || message[i] == '\r')) ++i;
  if (i == message.size() || message[i] != '{') return false;

  buffer_.assign(message.data(), message.size());
  buffer_.push_back('\0');
  nodes_.reserve(64);
  JsonEventBuilder builder(*this, max_depth);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(buffer_.data());
  constexpr unsigned kFlags =
      rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;
  if (reader.Parse<kFlags>(stream, builder).IsError()) {
    nodes_.clear();
    return false;
  }
  return !nodes_.empty() && nodes_[0].type == FieldValue::Type::kObject;
}

std::string_view JsonEvent::value_text(const JsonNode& n) { return n.text; }

}  // namespace cwfilter::detail
