#include "pattern/json_event.hpp"
#include "pattern/byte_scan.hpp"
#include "pattern/huge_numbers.hpp"

#include <rapidjson/reader.h>

#include <algorithm>
#include <cstring>

namespace cwfilter::detail {

struct JsonEventBuilder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonEventBuilder> {
  JsonEvent& ev;
  std::size_t max_depth;
  struct Open {
    std::uint32_t node;
    std::uint32_t last_child;
    std::uint32_t count;
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
      ev.nodes_[idx].index = parent.count++;
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
    open.push_back({idx, JsonNode::kNone, 0});
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return open.pop_back(), true; }
  bool EndArray(rapidjson::SizeType) { return open.pop_back(), true; }
};

namespace {

constexpr unsigned kParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;

// The checks parse() makes before RapidJSON runs.
bool plausible_object(std::string_view message) {
  // A raw NUL byte is never valid JSON, and would end the in-situ buffer early.
  if (message.find('\0') != std::string_view::npos) return false;
  // Cheap rejection: the first non-blank byte must open an object.
  std::size_t i = 0;
  while (i < message.size() && (message[i] == ' ' || message[i] == '\t' || message[i] == '\n' || message[i] == '\r')) ++i;
  return i < message.size() && message[i] == '{';
}

// parse()'s acceptance without its nodes: the same reader, flags and depth rule.
struct DepthChecker : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthChecker> {
  std::size_t max_depth, depth = 0;
  bool root_is_object = false, seen_root = false;
  explicit DepthChecker(std::size_t d) : max_depth(d) {}
  bool Default() { return seen_root = true; }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Default(); }
  bool String(const char*, rapidjson::SizeType, bool) { return Default(); }
  bool StartObject() {
    if (!seen_root) root_is_object = true;
    seen_root = true;
    return depth < max_depth ? (++depth, true) : false;
  }
  bool StartArray() {
    seen_root = true;
    return depth < max_depth ? (++depth, true) : false;
  }
  bool EndObject(rapidjson::SizeType) { return --depth, true; }
  bool EndArray(rapidjson::SizeType) { return --depth, true; }
};

}  // namespace

bool JsonEvent::validate(std::string_view message, std::size_t max_depth) {
  // Fast path: the sparse scan selecting nothing walks the whole event and says whether it lies
  // in a subset of JSON that RapidJSON certainly accepts (scanned_valid); otherwise RapidJSON
  // decides, with the same flags and depth rule as parse().
  static const SelectorTrie kNothing;
  const bool surely_valid = scan_selected(message, kNothing) == ScanResult::kScanned && scanned_valid(max_depth);
  nodes_.clear();
  scan_valid_ = false;  // the verdict belongs to the last scan_selected() only
  if (surely_valid) return true;
  if (!plausible_object(message)) return false;
  buffer_.assign(message.data(), message.size());
  buffer_.push_back('\0');
  DepthChecker checker(max_depth);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(buffer_.data());
  if (reader.Parse<kParseFlags>(stream, checker).IsError()) {
    if (reader.GetParseErrorCode() != rapidjson::kParseErrorNumberTooBig) return false;
    // 1e400: valid JSON (huge_numbers.hpp); check the copy with in-range numbers instead.
    buffer_.assign(message.data(), message.size());
    if (detail::neutralise_huge_numbers(buffer_).empty()) return false;
    buffer_.push_back('\0');
    DepthChecker again(max_depth);
    rapidjson::InsituStringStream retry(buffer_.data());
    if (reader.Parse<kParseFlags>(retry, again).IsError()) return false;
    return again.root_is_object;
  }
  return checker.root_is_object;
}

bool JsonEvent::parse(std::string_view message, std::size_t max_depth) {
  nodes_.clear();
  scan_valid_ = false;
  if (!plausible_object(message)) return false;

  buffer_.assign(message.data(), message.size());
  buffer_.push_back('\0');
  nodes_.reserve(64);
  JsonEventBuilder builder(*this, max_depth);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(buffer_.data());
  if (reader.Parse<kParseFlags>(stream, builder).IsError()) {
    nodes_.clear();
    if (reader.GetParseErrorCode() != rapidjson::kParseErrorNumberTooBig) return false;
    // 1e400: valid JSON (huge_numbers.hpp). Parse a copy with in-range numbers, then put the
    // original lexemes back under the nodes' views (in-situ numbers are views of buffer_ of the
    // token's length; RapidJSON writes no terminator after them).
    buffer_.assign(message.data(), message.size());
    const auto replaced = detail::neutralise_huge_numbers(buffer_);
    if (replaced.empty()) return false;
    buffer_.push_back('\0');
    JsonEventBuilder again(*this, max_depth);
    rapidjson::InsituStringStream retry(buffer_.data());
    if (reader.Parse<kParseFlags>(retry, again).IsError()) {
      nodes_.clear();
      return false;
    }
    detail::restore_huge_numbers(buffer_.data(), replaced);
  }
  return !nodes_.empty() && nodes_[0].type == FieldValue::Type::kObject;
}

std::string_view JsonEvent::value_text(const JsonNode& n) { return n.text; }

// ---- selector trie and the sparse scan ---------------------------------------------------------

namespace {
bool same_step(const ast::Step& a, const ast::Step& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == ast::Step::Kind::kMember) return a.name == b.name;
  if (a.kind == ast::Step::Kind::kIndex) return a.index == b.index;
  return true;
}
}  // namespace

void SelectorTrie::add(const ast::Selector& selector) {
  std::uint32_t at = 0;
  for (const auto& step : selector.steps) {
    std::uint32_t next = JsonNode::kNone;
    for (const auto& [s, child] : nodes_[at].children)
      if (same_step(s, step)) next = child;
    if (next == JsonNode::kNone) {
      next = static_cast<std::uint32_t>(nodes_.size());
      nodes_[at].children.emplace_back(step, next);
      nodes_.emplace_back();
    }
    at = next;
  }
  nodes_[at].terminal = true;
}

namespace {

// What may end a scalar.
struct ScanTables {
  bool scalar_end[256] = {};
  ScanTables() {
    for (unsigned char c : std::string_view(",}] \t\r\n")) scalar_end[c] = true;
  }
};
const ScanTables kTables;

inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// a == b for member names, inline: an event's keys are compared with every member step of the
// live trie nodes, and many CloudTrail keys share a length ("eventName", "eventTime", "awsRegion"),
// where a memcmp call per pair cost more than the rest of the comparison.
inline bool same_key(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    if (load8(x) != load8(y) || load8(x + n - 8) != load8(y + n - 8)) return false;
    return n <= 16 || std::memcmp(x + 8, y + 8, n - 16) == 0;
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

// Up to this many trie nodes may be live at one value (several only with wildcards).
constexpr std::size_t kMaxLive = 16;
struct Live {
  std::uint32_t ids[kMaxLive];
  std::size_t n = 0;
};

}  // namespace

class SparseScanner {
 public:
  SparseScanner(JsonEvent& ev, const SelectorTrie& trie, std::string_view m)
      : ev_(ev), trie_(trie), p_(m.data()), end_(m.data() + m.size()) {}

  JsonEvent::ScanResult run() {
    ev_.nodes_.clear();
    ev_.scan_valid_ = false;
    ev_.scan_depth_ = 0;
    skip_ws();
    if (p_ == end_ || *p_ != '{') return JsonEvent::ScanResult::kNotObject;
    Live root;
    root.ids[root.n++] = 0;
    ev_.nodes_.push_back(JsonNode{FieldValue::Type::kObject, {}, {}, JsonNode::kNone, JsonNode::kNone, 0});
    if (!container(0, root)) return JsonEvent::ScanResult::kUnsure;
    skip_ws();
    ev_.scan_valid_ = valid_ && p_ == end_;  // nothing but blanks after the root object
    ev_.scan_depth_ = max_depth_seen_;
    return JsonEvent::ScanResult::kScanned;
  }

 private:
  void skip_ws() {
    // Minified events have no blanks: one compare settles the common case (blanks are <= ' ').
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' && is_ws(*p_)) ++p_;
  }

  // p_ just after an opening quote: moves past the closing quote. `escaped` reports a backslash.
  // While the event is still surely valid, also checks the string is (printable ASCII, short
  // escapes); anything else only clears valid_ (the validator decides).
  bool skip_string(bool* escaped = nullptr) {
    bool saw_backslash = false;
    while (true) {
      const char* q = valid_ ? byte_scan::string_special(p_, end_) : byte_scan::quote_or_backslash(p_, end_);
      if (q == end_) return false;
      if (*q == '"') {
        p_ = q + 1;
        if (escaped) *escaped = saw_backslash;
        return true;
      }
      if (*q != '\\') {  // a control or non-ASCII byte
        valid_ = false;
        p_ = q + 1;
        continue;
      }
      // A backslash escapes the next byte (an escaped quote does not end the string).
      saw_backslash = true;
      if (end_ - q < 2) return false;
      if (valid_) {
        const char e = q[1];
        valid_ = e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't';
      }
      p_ = q + 2;
    }
  }

  // A scalar's lexeme that the validator's fast path accepts: true/false/null, or a number with
  // at most 15 digits on each side of the point and no exponent: RapidJSON refuses some
  // exponents and huge mantissas, even with numbers kept as strings.
  static bool surely_valid_scalar(const char* s, const char* e) {
    const std::string_view t(s, static_cast<std::size_t>(e - s));
    if (t == "true" || t == "false" || t == "null") return true;
    const char* p = s;
    if (p < e && *p == '-') ++p;
    auto digits = [&](std::size_t max) {
      const char* d = p;
      while (p < e && *p >= '0' && *p <= '9') ++p;
      return p > d && static_cast<std::size_t>(p - d) <= max;
    };
    if (p == e) return false;
    if (*p == '0') {
      ++p;
    } else if (!digits(15)) {
      return false;
    }
    if (p < e && *p == '.') {
      ++p;
      if (!digits(15)) return false;
    }
    return p == e;
  }

  // p_ at the '{' or '[' of a container nobody reads, while valid_: walks it checking the
  // validator's fast-path grammar, depth included. False when it meets anything else (the caller
  // then skips it structurally); true leaves p_ just past its end, where the structural skip would.
  bool skip_container_validating() {
    constexpr std::size_t kMaxTracked = 64;
    std::uint64_t kinds = 0;  // open containers, 1 = object
    std::size_t d = 0;
    bool expect_value = true, in_key = false;
    while (true) {
      if (expect_value) {
        skip_ws();
        if (p_ == end_) return false;
        if (in_key) {
          if (*p_ != '"') return false;
          ++p_;
          if (!skip_string() || !valid_) return false;
          skip_ws();
          if (p_ == end_ || *p_ != ':') return false;
          ++p_;
          skip_ws();
          if (p_ == end_) return false;
          in_key = false;
        }
        const char c = *p_;
        if (c == '{' || c == '[') {
          if (d >= kMaxTracked) return false;
          kinds = (kinds << 1) | (c == '{' ? 1u : 0u);
          ++d;
          max_depth_seen_ = std::max(max_depth_seen_, depth_ + d);
          ++p_;
          skip_ws();
          if (p_ < end_ && *p_ == (c == '{' ? '}' : ']')) {
            ++p_;
            --d;
            kinds >>= 1;
            expect_value = false;
            if (d == 0) return true;
          } else {
            in_key = c == '{';
          }
          continue;
        }
        if (c == '"') {
          ++p_;
          if (!skip_string() || !valid_) return false;
        } else {
          const char* s = p_;
          while (p_ < end_ && !kTables.scalar_end[static_cast<unsigned char>(*p_)]) ++p_;
          if (p_ == s || !surely_valid_scalar(s, p_)) return false;
        }
        expect_value = false;
        continue;
      }
      skip_ws();
      if (p_ == end_) return false;
      const bool object = kinds & 1u;
      if (*p_ == ',') {
        ++p_;
        expect_value = true;
        in_key = object;
        continue;
      }
      if (*p_ != (object ? '}' : ']')) return false;
      ++p_;
      --d;
      kinds >>= 1;
      if (d == 0) return true;
    }
  }

  // Skips one value (p_ at its first byte) without reading it.
  bool skip_value() {
    if (p_ == end_) return false;
    char c = *p_;
    if (c == '"') {
      ++p_;
      return skip_string();
    }
    if (c == '{' || c == '[') {
      if (valid_) {
        const char* start = p_;
        if (skip_container_validating()) return true;
        valid_ = false;  // not the fast-path subset (or not JSON): skip it as before, unvalidated
        p_ = start;
      }
      std::size_t depth = 0;
      while (p_ < end_) {
        const char* q = byte_scan::structural(p_, end_);
        if (q == end_) return false;
        const char b = *q;
        p_ = q + 1;
        if (b == '"') {
          if (!skip_string()) return false;
        } else if (b == '{' || b == '[') {
          ++depth;
        } else if (--depth == 0) {
          return true;
        }
      }
      return false;
    }
    const char* s = p_;
    while (p_ < end_ && !kTables.scalar_end[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == s) return false;
    if (valid_ && !surely_valid_scalar(s, p_)) valid_ = false;
    return true;
  }

  // Appends a node as the next child of `parent`.
  std::uint32_t add(std::uint32_t parent, std::uint32_t& last_child, FieldValue::Type type,
                    std::string_view key, std::string_view text, std::uint32_t index) {
    auto idx = static_cast<std::uint32_t>(ev_.nodes_.size());
    ev_.nodes_.push_back(JsonNode{type, key, text, JsonNode::kNone, JsonNode::kNone, index});
    if (last_child == JsonNode::kNone)
      ev_.nodes_[parent].first_child = idx;
    else
      ev_.nodes_[last_child].next_sibling = idx;
    last_child = idx;
    return idx;
  }

  // Reads a value that some trie node reaches (p_ at its first byte) as a child of `parent`.
  bool read_value(std::uint32_t parent, std::uint32_t& last_child, std::string_view key,
                  std::uint32_t index, const Live& live) {
    bool descend = false;
    for (std::size_t i = 0; i < live.n; ++i) descend = descend || !trie_.node(live.ids[i]).children.empty();
    char c = *p_;
    if (c == '{' || c == '[') {
      auto type = c == '{' ? FieldValue::Type::kObject : FieldValue::Type::kArray;
      std::uint32_t idx = add(parent, last_child, type, key, {}, index);
      if (!descend) return skip_value();
      return container(idx, live);
    }
    if (c == '"') {
      ++p_;
      const char* s = p_;
      bool escaped = false;
      if (!skip_string(&escaped) || escaped) return false;
      add(parent, last_child, FieldValue::Type::kString, key, std::string_view(s, static_cast<std::size_t>(p_ - 1 - s)), index);
      return true;
    }
    const char* s = p_;
    if (!skip_value()) return false;
    std::string_view text(s, static_cast<std::size_t>(p_ - s));
    FieldValue::Type type;
    if (text == "true") type = FieldValue::Type::kTrue;
    else if (text == "false") type = FieldValue::Type::kFalse;
    else if (text == "null") type = FieldValue::Type::kNull;
    else if (c == '-' || (c >= '0' && c <= '9')) type = FieldValue::Type::kNumber;
    else return false;
    add(parent, last_child, type, key, text, index);
    return true;
  }

  // p_ at the '{' or '[' of node `idx`, which `live` trie nodes reach: reads its members/elements.
  bool container(std::uint32_t idx, const Live& live) {
    ++depth_;
    max_depth_seen_ = std::max(max_depth_seen_, depth_);
    const bool ok = container_body(idx, live);
    --depth_;
    return ok;
  }

  bool container_body(std::uint32_t idx, const Live& live) {
    const bool object = *p_ == '{';
    const char close = object ? '}' : ']';
    ++p_;
    std::uint32_t last_child = JsonNode::kNone;
    skip_ws();
    if (p_ < end_ && *p_ == close) {
      ++p_;
      return true;
    }
    for (std::uint32_t index = 0;; ++index) {
      std::string_view key;
      Live next;
      if (object) {
        if (p_ == end_ || *p_ != '"') return false;
        ++p_;
        const char* s = p_;
        bool escaped = false;
        if (!skip_string(&escaped) || escaped) return false;  // an escaped key could spell a name
        key = std::string_view(s, static_cast<std::size_t>(p_ - 1 - s));
        skip_ws();
        if (p_ == end_ || *p_ != ':') return false;
        ++p_;
        for (std::size_t i = 0; i < live.n; ++i)
          for (const auto& [step, child] : trie_.node(live.ids[i]).children)
            if (step.kind == ast::Step::Kind::kAnyMember ||
                (step.kind == ast::Step::Kind::kMember && same_key(step.name, key))) {
              if (next.n == kMaxLive) return false;
              next.ids[next.n++] = child;
            }
      } else {
        for (std::size_t i = 0; i < live.n; ++i)
          for (const auto& [step, child] : trie_.node(live.ids[i]).children)
            if (step.kind == ast::Step::Kind::kAnyIndex ||
                (step.kind == ast::Step::Kind::kIndex && step.index == index)) {
              if (next.n == kMaxLive) return false;
              next.ids[next.n++] = child;
            }
      }
      skip_ws();
      if (p_ == end_) return false;
      if (next.n == 0) {
        if (!skip_value()) return false;
      } else if (!read_value(idx, last_child, key, index, next)) {
        return false;
      }
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        skip_ws();
        continue;
      }
      if (*p_ == close) {
        ++p_;
        return true;
      }
      return false;
    }
  }

  JsonEvent& ev_;
  const SelectorTrie& trie_;
  const char* p_;
  const char* end_;
  bool valid_ = true;                // everything passed so far is in the validator's fast subset
  std::size_t depth_ = 0;            // containers open at p_ (root object = 1)
  std::size_t max_depth_seen_ = 0;
};

JsonEvent::ScanResult JsonEvent::scan_selected(std::string_view message, const SelectorTrie& trie) {
  return SparseScanner(*this, trie, message).run();
}

}  // namespace cwfilter::detail
