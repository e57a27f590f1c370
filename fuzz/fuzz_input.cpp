// The input readers over an in-memory buffer (read_all_buffer), once per InputFormat and, for
// format detection, under three source names. Never crashes, hangs or allocates without bound (the
// limits below are small so that gzip bombs and huge documents hit them quickly), and the result
// is consistent: counts match the callbacks, every message respects the event size limit, line
// formats never deliver an empty message or one with a line break.
#include "fuzz_check.hpp"

#include <cwfilter/input.hpp>

#include <cstdint>
#include <string>
#include <string_view>

using namespace cwfilter;

namespace {

bool is_gzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

void check(std::string_view data, InputFormat format, const char* name) {
  InputOptions options;
  options.format = format;
  options.max_event_bytes = 64 * 1024;
  options.max_decompressed_bytes = 8u << 20;
  options.ratio_guard_min_bytes = 1u << 20;
  options.max_document_bytes = 8u << 20;
  auto result = read_all_buffer(data, name, options);
  FUZZ_CHECK(result.ok(), "read_all_buffer failed: %s", result.ok() ? "" : result.error().message.c_str());
  const InputResult& r = result.value();
  FUZZ_CHECK(r.stats.events == r.events.size(), "events counted %llu, delivered %zu",
             static_cast<unsigned long long>(r.stats.events), r.events.size());
  FUZZ_CHECK(r.stats.malformed == r.malformed.size(), "malformed counted %llu, reported %zu",
             static_cast<unsigned long long>(r.stats.malformed), r.malformed.size());
  FUZZ_CHECK(r.stats.sources.size() == 1, "%zu sources for one buffer", r.stats.sources.size());
  for (const LogEvent& e : r.events) {
    FUZZ_CHECK(e.message.size() <= options.max_event_bytes, "message of %zu bytes", e.message.size());
    FUZZ_CHECK(e.record_number >= 1, "record number 0");
    FUZZ_CHECK(e.format != InputFormat::kAuto, "event without a format");
    FUZZ_CHECK(e.source == name, "source renamed");
    if ((e.format == InputFormat::kText || e.format == InputFormat::kJsonLines)) {
      FUZZ_CHECK(!e.message.empty(), "empty line delivered as an event (format %s)", std::string(to_string(e.format)).c_str());
      FUZZ_CHECK(e.message.find('\n') == std::string::npos, "line event contains a newline");
    }
  }
  for (const MalformedRecord& m : r.malformed) FUZZ_CHECK(!m.reason.empty(), "malformed record without a reason");
  if (format == InputFormat::kText && !is_gzip(data)) {
    // Text: the events are exactly the non-empty lines (without "\n" / "\r\n"), unless too long.
    // A UTF-8 byte order mark at the start of the input is not part of the first line.
    std::size_t lines = 0, pos = data.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
    while (pos < data.size()) {
      std::size_t nl = data.find('\n', pos);
      std::size_t end = nl == std::string_view::npos ? data.size() : nl;
      std::size_t len = end - pos;
      if (len > 0 && data[end - 1] == '\r') --len;
      if (len > 0) ++lines;
      pos = end + 1;
    }
    FUZZ_CHECK(r.events.size() + r.malformed.size() == lines, "%zu lines, %zu events + %zu malformed", lines,
               r.events.size(), r.malformed.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (InputFormat f : {InputFormat::kCloudTrail, InputFormat::kJsonLines, InputFormat::kText, InputFormat::kLogEvents,
                        InputFormat::kSubscription, InputFormat::kLambdaEvent})
    check(input, f, "fuzz-input");
  for (const char* name : {"fuzz-input", "fuzz-input.json", "fuzz-input.jsonl.gz"}) check(input, InputFormat::kAuto, name);
  return 0;
}
