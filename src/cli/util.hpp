// Small helpers shared by the subcommands: AWS CLI style `file://` arguments and JSON output.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace cwfilter::cli {

// Reads a whole file ("-" = stdin). nullopt when it cannot be read.
inline std::optional<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// An AWS CLI parameter value: `file://PATH` means the file's content, anything else is literal.
inline std::optional<std::string> argument_text(const std::string& arg, std::string* error) {
  if (arg.rfind("file://", 0) == 0) {
    auto text = read_file(arg.substr(7));
    if (!text && error) *error = "cannot read " + arg.substr(7);
    return text;
  }
  return arg;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace cwfilter::cli
