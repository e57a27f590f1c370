// YAML (CloudFormation templates) into the position-keeping tree. yaml-cpp gives each node's start;
// for single-line plain and quoted scalars the position of every character is recomputed from the
// source, so a pattern error points at the exact column. Block and multi-line flow scalars keep
// only their start (their folding makes the mapping ambiguous).
#include "iac/tree.hpp"

#include <yaml-cpp/yaml.h>

namespace cwfilter::iac::detail {

namespace {

// Column math on one source line: positions of a plain scalar's characters.
bool map_plain(std::string_view src, std::size_t pos, const LineIndex& index, const std::string& text,
               std::vector<Pos>& out) {
  if (src.substr(pos, text.size()) != text || text.find('\n') != std::string::npos) return false;
  for (std::size_t i = 0; i <= text.size(); ++i) out.push_back(index.at(pos + i));
  return true;
}

// Double- or single-quoted single-line scalar: decode it again while recording source offsets and
// accept the mapping only if it reproduces yaml-cpp's value.
bool map_quoted(std::string_view src, std::size_t pos, const LineIndex& index, const std::string& text,
                std::vector<Pos>& out) {
  const char q = src[pos];
  std::string decoded;
  std::vector<std::size_t> origin;
  std::size_t i = pos + 1;
  while (i < src.size()) {
    const char c = src[i];
    if (c == '\n' || c == '\r') return false;  // multi-line: folding rules apply, give up
    if (q == '\'' && c == '\'') {
      if (i + 1 < src.size() && src[i + 1] == '\'') {
        decoded += '\'';
        origin.push_back(i);
        i += 2;
        continue;
      }
      break;
    }
    if (q == '"' && c == '"') break;
    if (q == '"' && c == '\\') {
      if (i + 1 >= src.size()) return false;
      const char e = src[i + 1];
      char r = 0;
      switch (e) {
        case '"': r = '"'; break;
        case '\\': r = '\\'; break;
        case '/': r = '/'; break;
        case 't': r = '\t'; break;
        case 'n': r = '\n'; break;
        case 'r': r = '\r'; break;
        case ' ': r = ' '; break;
        case '0': r = '\0'; break;
        default: return false;  // \x, \u, ... : rare in patterns; fall back to the start
      }
      decoded += r;
      origin.push_back(i);
      i += 2;
      continue;
    }
    decoded += c;
    origin.push_back(i);
    ++i;
  }
  if (i >= src.size() || decoded != text) return false;
  for (std::size_t k : origin) out.push_back(index.at(k));
  out.push_back(index.at(i));  // the closing quote
  return true;
}

// Multi-line plain scalars and block scalars (| and >): align the value with the source, one
// character at a time; a line break of the source stands for the '\n' or ' ' it folds into, and
// the indentation after it is skipped. Accepted only if every character is accounted for.
bool map_multiline(std::string_view src, std::size_t pos, const LineIndex& index, const std::string& text,
                   bool block, std::vector<Pos>& out) {
  std::size_t i = pos;
  std::size_t indent = std::string_view::npos;  // block scalars: the content's indentation
  auto skip_indent = [&] {
    std::size_t n = 0;
    while (i < src.size() && (src[i] == ' ' || (!block && src[i] == '\t')) && n < indent) {
      ++i;
      ++n;
    }
  };
  if (block) {
    std::size_t nl = src.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    i = nl + 1;
    std::size_t n = 0;
    while (i + n < src.size() && src[i + n] == ' ') ++n;
    indent = n;
    skip_indent();
  }
  for (std::size_t k = 0; k < text.size(); ++k) {
    const char c = text[k];
    if (i >= src.size()) return false;
    if (src[i] == c && c != '\n') {
      out.push_back(index.at(i++));
      continue;
    }
    if ((c == ' ' || c == '\n') && (src[i] == '\n' || src[i] == '\r')) {
      if (src[i] == '\r') ++i;
      out.push_back(index.at(i++));
      skip_indent();
      continue;
    }
    return false;
  }
  out.push_back(index.at(i));
  return true;
}

Node convert(const YAML::Node& y, std::string_view src, const LineIndex& index, int depth) {
  Node n;
  const YAML::Mark m = y.Mark();
  std::size_t pos = m.pos >= 0 ? static_cast<std::size_t>(m.pos) : 0;
  if (m.line >= 0) n.pos = {static_cast<std::size_t>(m.line) + 1, static_cast<std::size_t>(m.column) + 1};
  const std::string& tag = y.Tag();
  if (!tag.empty() && tag != "?" && tag != "!") n.tag = tag;
  if (depth > 256) return n;
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      n.kind = Node::Kind::kNull;
      break;
    case YAML::NodeType::Scalar: {
      n.kind = Node::Kind::kString;
      n.text = y.Scalar();
      // A tagged scalar (`!Sub "..."`) starts at its tag: find the value after it.
      if (!n.tag.empty() && src.substr(pos, n.tag.size()) == n.tag) {
        pos += n.tag.size();
        while (pos < src.size() && (src[pos] == ' ' || src[pos] == '\t')) ++pos;
      }
      if (pos < src.size()) {
        const char c = src[pos];
        bool ok = false;
        if (c == '"' || c == '\'') ok = map_quoted(src, pos, index, n.text, n.char_pos);
        else if (c != '|' && c != '>') ok = map_plain(src, pos, index, n.text, n.char_pos);
        if (!ok && c != '"' && c != '\'') {
          n.char_pos.clear();
          ok = map_multiline(src, pos, index, n.text, c == '|' || c == '>', n.char_pos);
        }
        if (!ok) n.char_pos.clear();
        else if (c != '|' && c != '>') n.pos = index.at(pos);
      }
      break;
    }
    case YAML::NodeType::Sequence:
      n.kind = Node::Kind::kArray;
      for (const auto& item : y) n.items.push_back(convert(item, src, index, depth + 1));
      break;
    case YAML::NodeType::Map:
      n.kind = Node::Kind::kObject;
      for (const auto& kv : y) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        const YAML::Mark km = kv.first.Mark();
        n.key_pos.push_back(km.line >= 0 ? Pos{static_cast<std::size_t>(km.line) + 1,
                                               static_cast<std::size_t>(km.column) + 1}
                                         : Pos{});
        n.members.emplace_back(std::move(key), convert(kv.second, src, index, depth + 1));
      }
      break;
  }
  return n;
}

}  // namespace

Result<Node, ParseFailure> parse_yaml(std::string_view text) {
  LineIndex index(text);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return convert(root, text, index, 0);
  } catch (const YAML::Exception& e) {
    ParseFailure f{e.msg, {}};
    if (e.mark.line >= 0)
      f.pos = {static_cast<std::size_t>(e.mark.line) + 1, static_cast<std::size_t>(e.mark.column) + 1};
    return f;
  }
}

}  // namespace cwfilter::iac::detail
