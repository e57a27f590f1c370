// A log event read as JSON for JSON patterns: a flat node array built by RapidJSON's SAX reader,
// parsed in situ in a reused buffer. Numbers keep their source lexeme (filter-patterns.md §3.4
// rule 10 compares strings against it), duplicate keys keep every occurrence and lookups take the
// last (DECISIONS 10).
#pragma once

#include <cwfilter/ast.hpp>
#include <cwfilter/pattern.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::detail {

struct JsonNode {
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  FieldValue::Type type = FieldValue::Type::kNull;
  std::string_view key;   // member name, when the parent is an object
  std::string_view text;  // decoded string or number lexeme
  std::uint32_t first_child = kNone;
  std::uint32_t next_sibling = kNone;
  std::uint32_t index = 0;  // position in the parent array (a sparse read keeps only some elements)
};

// The selectors a pattern (or a set of patterns) reads, merged into a trie of steps. Node 0 is `$`.
class SelectorTrie {
 public:
  struct Node {
    std::vector<std::pair<ast::Step, std::uint32_t>> children;
    bool terminal = false;  // a selector ends here: the value itself is read
  };
  SelectorTrie() : nodes_(1) {}
  void add(const ast::Selector& selector);
  const Node& node(std::uint32_t i) const { return nodes_[i]; }
  bool empty() const { return nodes_.size() == 1 && !nodes_[0].terminal; }

 private:
  std::vector<Node> nodes_;
};

class JsonEvent {
 public:
  // False when `message` is not entirely one JSON object (then every JSON condition is false,
  // DECISIONS 5), or nests deeper than `max_depth`.
  bool parse(std::string_view message, std::size_t max_depth);

  // True exactly when parse() would succeed, without building nodes.
  bool validate(std::string_view message, std::size_t max_depth);

  // The "parse only what the pattern reads" pass: one scan of `message` that keeps only the nodes
  // on the trie's paths (pointing into `message`, which must outlive the nodes) and skips every
  // other value without validating it. For a message that is valid JSON the nodes select exactly
  // what parse() would select (duplicate keys included: every occurrence is kept, lookups take
  // the last). For an invalid one the result is meaningless; callers therefore trust only a
  // "no match" (the full parse would also say no match: an invalid event matches nothing) and
  // confirm a match with validate(). kUnsure: the scan met something it does not decode (a
  // backslash escape in a read key or string, a malformed token); use parse().
  enum class ScanResult { kScanned, kNotObject, kUnsure };
  ScanResult scan_selected(std::string_view message, const SelectorTrie& trie);
  // After kScanned: true only when validate(message, max_depth) is certainly true. The scan
  // checks, in the same pass, the subset of JSON the validator's fast path accepts (printable ASCII
  // strings with short escapes, plain numbers, true/false/null, the structure, the nesting
  // depth); false means "not known": call validate(). Saves the second pass over matched events.
  bool scanned_valid(std::size_t max_depth) const noexcept { return scan_valid_ && scan_depth_ <= max_depth; }

  const JsonNode& node(std::uint32_t i) const { return nodes_[i]; }
  static constexpr std::uint32_t root() { return 0; }

  // Calls on_node(index) for every node the selector selects (several only with a wildcard).
  template <typename F>
  void select(const ast::Selector& selector, F&& on_node) const {
    select_from(root(), selector.steps.data(), selector.steps.data() + selector.steps.size(), on_node);
  }

  // The text a value node compares as (decoded string, number lexeme, true/false).
  static std::string_view value_text(const JsonNode& n);

 private:
  template <typename F>
  void select_from(std::uint32_t at, const ast::Step* step, const ast::Step* end, F& on_node) const {
    if (step == end) {
      on_node(at);
      return;
    }
    const JsonNode& n = nodes_[at];
    switch (step->kind) {
      case ast::Step::Kind::kMember: {
        if (n.type != FieldValue::Type::kObject) return;
        std::uint32_t found = JsonNode::kNone;
        for (std::uint32_t c = n.first_child; c != JsonNode::kNone; c = nodes_[c].next_sibling)
          if (nodes_[c].key == step->name) found = c;  // last duplicate wins
        if (found != JsonNode::kNone) select_from(found, step + 1, end, on_node);
        return;
      }
      case ast::Step::Kind::kIndex: {
        if (n.type != FieldValue::Type::kArray) return;
        for (std::uint32_t c = n.first_child; c != JsonNode::kNone; c = nodes_[c].next_sibling)
          if (nodes_[c].index == step->index) return select_from(c, step + 1, end, on_node);
        return;
      }
      case ast::Step::Kind::kAnyIndex: {
        if (n.type != FieldValue::Type::kArray) return;
        for (std::uint32_t c = n.first_child; c != JsonNode::kNone; c = nodes_[c].next_sibling)
          select_from(c, step + 1, end, on_node);
        return;
      }
      case ast::Step::Kind::kAnyMember: {
        if (n.type != FieldValue::Type::kObject) return;
        for (std::uint32_t c = n.first_child; c != JsonNode::kNone; c = nodes_[c].next_sibling) {
          bool shadowed = false;  // a later duplicate of this key wins
          for (std::uint32_t d = nodes_[c].next_sibling; d != JsonNode::kNone; d = nodes_[d].next_sibling)
            if (nodes_[d].key == nodes_[c].key) shadowed = true;
          if (!shadowed) select_from(c, step + 1, end, on_node);
        }
        return;
      }
    }
  }

  std::string buffer_;
  std::vector<JsonNode> nodes_;
  bool scan_valid_ = false;     // see scanned_valid()
  std::size_t scan_depth_ = 0;  // the deepest nesting the scan passed (root object = 1)
  friend struct JsonEventBuilder;
  friend class SparseScanner;
};

}  // namespace cwfilter::detail
