// A small document tree shared by the JSON and YAML readers: every value keeps where it starts in
// the file, and a string keeps where each of its bytes came from, so that an offset inside a
// filter pattern can be reported as a line and column of the file.
#pragma once

#include <cwfilter/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter::iac::detail {

struct Pos {
  std::size_t line = 0;    // 1-based; 0 = unknown
  std::size_t column = 0;  // 1-based, in characters (UTF-8 code points)
};

struct Node {
  // Special members are defined after the class: clang 14 with libstdc++ 12 otherwise instantiates
  // ~vector<pair<string, Node>> while Node is still incomplete (gcc accepts either way).
  Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;
  ~Node();

  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // string (decoded), number lexeme, "true"/"false"; YAML scalars are kString
  std::string tag;   // YAML short-form tag ("!Sub", "!Ref", ...); empty when none
  Pos pos;           // where the value starts (the opening quote of a quoted string)
  // For strings: char_pos[i] is the position of the source character that produced text[i], plus
  // one entry for the end. Empty when the mapping is not exact (multi-line or block scalars).
  std::vector<Pos> char_pos;
  std::size_t begin = 0, end = 0;  // byte range of the value in the document (JSON only)
  std::vector<std::pair<std::string, Node>> members;  // kObject, in document order
  std::vector<Pos> key_pos;                           // kObject: where each key starts
  std::vector<Node> items;                            // kArray

  bool is_string() const noexcept { return kind == Kind::kString; }
  bool is_object() const noexcept { return kind == Kind::kObject; }
  bool is_array() const noexcept { return kind == Kind::kArray; }
  const Node* get(std::string_view key) const noexcept {
    for (const auto& [k, v] : members)
      if (k == key) return &v;
    return nullptr;
  }
  // Position of byte `offset` of a string's text: exact when known, else the string's start.
  Pos position_of(std::size_t offset) const noexcept {
    if (!char_pos.empty()) return char_pos[offset < char_pos.size() ? offset : char_pos.size() - 1];
    return pos;
  }
};

inline Node::Node() = default;
inline Node::Node(const Node&) = default;
inline Node::Node(Node&&) noexcept = default;
inline Node& Node::operator=(const Node&) = default;
inline Node& Node::operator=(Node&&) noexcept = default;
inline Node::~Node() = default;

struct ParseFailure {
  std::string message;
  Pos pos;
};

Result<Node, ParseFailure> parse_json(std::string_view text);
Result<Node, ParseFailure> parse_yaml(std::string_view text);

// Line and column (1-based, column in code points) of every byte offset of a text, cheaply.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  Pos at(std::size_t offset) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> line_starts_;
  // The last answer: parsing queries offsets in increasing order, so each query resumes there.
  mutable std::size_t last_line_ = 0, last_offset_ = 0, last_column_ = 1;
};

}  // namespace cwfilter::iac::detail
