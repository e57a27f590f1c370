// A position-keeping JSON reader. RapidJSON's DOM does not say where a value was, and the point of
// `cwfilter validate` on templates is to say exactly that, down to the character of a pattern
// inside an escaped JSON string.
#include "iac/tree.hpp"

#include "common/json_escape.hpp"
#include "common/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace cwfilter::iac::detail {

LineIndex::LineIndex(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts_.push_back(i + 1);
}

Pos LineIndex::at(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
  std::size_t start = line_starts_[line - 1];
  // Queries mostly move forward along one line (a one-line Terraform plan): resume from the last.
  std::size_t from = start, column = 1;
  if (last_line_ == line && last_offset_ <= offset && last_offset_ >= start) {
    from = last_offset_;
    column = last_column_;
  }
  for (std::size_t i = from; i < offset; ++i)
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  last_line_ = line;
  last_offset_ = offset;
  last_column_ = column;
  return {line, column};
}

namespace {

constexpr std::size_t kMaxDepth = 512;

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text), index_(text) {}

  Result<Node, ParseFailure> run() {
    Node root;
    skip_ws();
    if (!value(root, 0)) return failure_;
    skip_ws();
    if (i_ != s_.size()) {
      fail("unexpected text after the JSON value");
      return failure_;
    }
    return root;
  }

 private:
  std::string_view s_;
  LineIndex index_;
  std::size_t i_ = 0;
  ParseFailure failure_;

  bool fail(std::string message) {
    failure_ = {std::move(message), index_.at(i_)};
    return false;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  bool value(Node& n, std::size_t depth) {
    if (depth > kMaxDepth) return fail("JSON nested too deeply");
    if (i_ >= s_.size()) return fail("unexpected end of JSON");
    n.begin = i_;
    n.pos = index_.at(i_);
    const char c = s_[i_];
    bool ok = false;
    if (c == '{') ok = object(n, depth);
    else if (c == '[') ok = array(n, depth);
    else if (c == '"') ok = string(n);
    else if (c == 't' || c == 'f' || c == 'n') ok = literal(n);
    else if (c == '-' || (c >= '0' && c <= '9')) ok = number(n);
    else return fail(fmt::format("unexpected character '{}'", c));
    n.end = i_;
    return ok;
  }

  bool literal(Node& n) {
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        n.kind = word == "null" ? Node::Kind::kNull : Node::Kind::kBool;
        n.text = std::string(word);
        return true;
      }
    }
    return fail("invalid literal");
  }

  bool number(Node& n) {
    std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    auto digits = [&] {
      std::size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > d;
    };
    if (!digits()) return fail("invalid number");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return fail("invalid number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return fail("invalid number");
    }
    n.kind = Node::Kind::kNumber;
    n.text = std::string(s_.substr(start, i_ - start));
    return true;
  }

  // Decodes a string; every output byte remembers the position of the source character (the
  // backslash of an escape) it came from.
  bool string_body(std::string& out, std::vector<Pos>* where) {
    ++i_;  // opening quote
    while (true) {
      if (i_ >= s_.size()) return fail("unterminated string");
      const char c = s_[i_];
      const Pos here = where ? index_.at(i_) : Pos{};
      const std::size_t before = out.size();
      if (c == '"') {
        if (where) where->push_back(here);  // the end: the closing quote
        ++i_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return fail("unterminated string");
        const char e = s_[i_ + 1];
        i_ += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            unsigned cp = 0;
            std::size_t consumed = 0;
            switch (cwfilter::detail::read_u_escape(s_, i_, cp, consumed)) {
              case cwfilter::detail::UEscape::kOk: break;
              case cwfilter::detail::UEscape::kBadHex: i_ -= 2; return fail("invalid \\u escape");
              case cwfilter::detail::UEscape::kUnpairedSurrogate:
                i_ -= 2;
                return fail("invalid \\u escape: a UTF-16 surrogate without its pair");
            }
            i_ += consumed;
            cwfilter::detail::append_utf8(out, cp);
            break;
          }
          default: return fail(fmt::format("invalid escape '\\{}'", e));
        }
      } else {
        out += c;
        ++i_;
      }
      if (where)
        for (std::size_t k = before; k < out.size(); ++k) where->push_back(here);
    }
  }

  bool string(Node& n) {
    n.kind = Node::Kind::kString;
    return string_body(n.text, &n.char_pos);
  }

  bool object(Node& n, std::size_t depth) {
    n.kind = Node::Kind::kObject;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    while (true) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name");
      Pos key_pos = index_.at(i_);
      std::string key;
      if (!string_body(key, nullptr)) return false;
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
      ++i_;
      skip_ws();
      Node child;
      if (!value(child, depth + 1)) return false;
      n.members.emplace_back(std::move(key), std::move(child));
      n.key_pos.push_back(key_pos);
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Node& n, std::size_t depth) {
    n.kind = Node::Kind::kArray;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      skip_ws();
      Node child;
      if (!value(child, depth + 1)) return false;
      n.items.push_back(std::move(child));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }
};

}  // namespace

Result<Node, ParseFailure> parse_json(std::string_view text) {
  // A UTF-8 byte-order mark is not JSON but editors write it; skip it like most readers do.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    auto r = parse_json(text.substr(3));
    return r;  // columns on line 1 are off by one character at most; rare enough
  }
  return JsonParser(text).run();
}

}  // namespace cwfilter::iac::detail
