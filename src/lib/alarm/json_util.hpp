// Small JSON writing helpers for the alarm module: AWS's messages are built by hand so that the
// key order and the number format (Java Double.toString) are exactly AWS's.
#pragma once

#include <cwfilter/alarm.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::alarm::detail {

// Appends `text` as a JSON string literal. Like Jackson (AWS's serialiser): escapes '"', '\\'
// and control characters; everything else, non-ASCII included, is written as is.
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Appends dimensions as AWS writes them in alarm messages and history: [{"value":..,"name":..},...].
inline void append_dimensions_json(std::string& out, const std::vector<Dimension>& dimensions) {
  out += '[';
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    if (i) out += ',';
    out += "{\"value\":";
    append_json_string(out, dimensions[i].value);
    out += ",\"name\":";
    append_json_string(out, dimensions[i].name);
    out += '}';
  }
  out += ']';
}

inline std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

inline void append_json_string_array(std::string& out, const std::vector<std::string>& items) {
  out.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, items[i]);
  }
  out.push_back(']');
}

}  // namespace cwfilter::alarm::detail
