// Small helpers shared by the subcommands: AWS CLI style `file://` arguments and JSON output.
#pragma once

#include <CLI/CLI.hpp>

#include <cwfilter/input.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/sinks.hpp>
#include <cwfilter/streak.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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

// ---- Limits ----
// One resource limit: what, its value as SECURITY.md writes it, the knob, what happens at it.
// Built from the default option structs themselves, so `cwfilter limits`, `cwfilter run --help`
// and the test that checks SECURITY.md (tests/test_limits.cpp) cannot drift from the code.
struct LimitInfo {
  std::string what, value, where, at_limit;
};

// 1 MiB, 512 MiB, 1 GiB; other sizes in bytes.
inline std::string size_text(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}
// 1024, 100,000 (thousands separators from 10,000 on, as SECURITY.md writes them).
inline std::string count_text(std::uint64_t n) {
  std::string digits = std::to_string(n);
  if (n < 10000) return digits;
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

inline std::vector<LimitInfo> limit_table() {
  const Options pattern;
  const InputOptions input;
  const MetricStoreOptions store;
  const streak::DetectorOptions streak;
  const DeliveryOptions delivery;
  auto secs = [](std::chrono::milliseconds ms) { return std::to_string(ms.count() / 1000) + " s"; };
  return {
      {"filter pattern length", count_text(pattern.max_pattern_length) + " characters", "Options::max_pattern_length",
       "compile error"},
      {"parenthesis nesting in a pattern", count_text(pattern.max_nesting), "Options::max_nesting", "compile error"},
      {"wildcard selectors per JSON pattern", count_text(pattern.max_wildcard_selectors),
       "Options::max_wildcard_selectors", "compile error"},
      {"regexes per pattern", count_text(pattern.max_regexes), "Options::max_regexes", "compile error"},
      {"regex program memory", size_text(limits::kMaxRegexProgramBytes), "limits::kMaxRegexProgramBytes",
       "compile error; matching is linear time (RE2)"},
      {"JSON nesting of an event read by JSON patterns", count_text(pattern.max_json_depth), "Options::max_json_depth",
       "every JSON condition is false for that event"},
      {"event size evaluated by a pattern", size_text(pattern.max_event_bytes), "Options::max_event_bytes",
       "the event matches no pattern"},
      {"line / record size read from input", size_text(input.max_event_bytes), "InputOptions::max_event_bytes",
       "malformed record, counted"},
      {"decompressed bytes per source", size_text(input.max_decompressed_bytes), "InputOptions::max_decompressed_bytes",
       "the source stops, malformed record"},
      {"gzip compression ratio (bomb guard)",
       count_text(input.max_compression_ratio) + ":1 after " + size_text(input.ratio_guard_min_bytes),
       "InputOptions::max_compression_ratio", "the source stops, malformed record"},
      {"one JSON document", size_text(input.max_document_bytes), "InputOptions::max_document_bytes", "malformed record"},
      {"metric data kept", std::to_string(store.retention_ms / (24 * 3600 * 1000)) + " days",
       "MetricStoreOptions::retention_ms", "older data is refused"},
      {"distinct dimension sets per metric and hour", count_text(store.dimension_sets_per_hour_limit),
       "MetricStoreOptions::dimension_sets_per_hour_limit",
       "warning (CloudWatch Logs may disable the filter); data still published"},
      {"hours of dimension tracking per metric", count_text(kDimensionTrackingHours), "kDimensionTrackingHours",
       "older datapoints are not counted"},
      {"streak keys with state", count_text(streak.max_live_keys), "streak::DetectorOptions::max_live_keys",
       "keys evicted, counted"},
      {"streak key length", std::to_string(streak.max_key_bytes) + " bytes", "streak::DetectorOptions::max_key_bytes",
       "event ignored, counted"},
      {"streak reorder buffer", count_text(streak.max_buffered_events) + " events",
       "streak::DetectorOptions::max_buffered_events", "oldest released early, counted"},
      {"notification delivery attempts", std::to_string(delivery.retry.max_attempts), "RetryPolicy::max_attempts",
       "dead-letter file; cwfilter redeliver"},
      {"HTTP request / SMTP session time", secs(delivery.request_timeout), "DeliveryOptions::request_timeout",
       "attempt failed, retried"},
      {"exec command time", secs(delivery.exec_timeout), "DeliveryOptions::exec_timeout", "killed, attempt failed"},
      {"state file size", size_text(limits::kMaxStateFileBytes), "limits::kMaxStateFileBytes",
       "not written (exit 2) / not read"},
  };
}

inline std::string limits_text() {
  std::string out = "Limits (defaults; SECURITY.md says more):\n";
  for (const auto& l : limit_table()) out += "  " + l.what + ": " + l.value + " (" + l.where + "): " + l.at_limit + "\n";
  return out;
}

// `cwfilter limits` (src/cli/run.cpp).
void register_limits(CLI::App& app);

}  // namespace cwfilter::cli
