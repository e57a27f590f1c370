// Helpers shared by the C++ tests: reading the team's JSONL case files.
#pragma once

#include <rapidjson/document.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cwfilter::test {

inline std::string shared_path(const std::string& rel) { return std::string(CWFILTER_SHARED_DIR) + "/" + rel; }
inline std::string source_path(const std::string& rel) { return std::string(CWFILTER_SOURCE_DIR) + "/" + rel; }

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every line of a JSONL file as a parsed document (empty lines skipped).
inline std::vector<rapidjson::Document> read_jsonl(const std::string& path) {
  std::vector<rapidjson::Document> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    if (!d.HasParseError()) out.push_back(std::move(d));
  }
  return out;
}

inline std::string str(const rapidjson::Value& v, const char* key, const std::string& dflt = "") {
  if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString()) return dflt;
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

}  // namespace cwfilter::test
