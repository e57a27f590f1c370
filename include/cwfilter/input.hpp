// Log input readers: turn files, directories, stdin and in-memory buffers into CloudWatch Logs
// events, the way each source would have arrived in a log group.
//
// Formats (InputFormat) and how a source is detected when InputOptions::format is kAuto:
//   1. Content starting with the gzip magic 1f 8b is decompressed (concatenated members are
//      read one after the other) and the rest of the rules apply to the decompressed bytes.
//   2. A name ending in .jsonl / .ndjson (optionally .gz) is kJsonLines. After an optional UTF-8
//      BOM and whitespace, content whose first byte is not '{' or '[' is kText, unless the name
//      ends in .json / .json.gz (then it is a JSON document that fails to parse: one malformed
//      record).
//   3. If the first JSON value fits on the first line and another value follows on a later line,
//      the source is kJsonLines. Otherwise it is one JSON document, classified by its top-level
//      keys: "Records" -> kCloudTrail; "messageType" -> kSubscription; "awslogs" -> kLambdaEvent;
//      "events" -> kLogEvents (aws logs get-log-events / filter-log-events output); any other
//      object -> kCloudTrail as a single event; a top-level array -> kCloudTrail, one event per
//      element.
//
// Messages:
//   - kCloudTrail: each record re-serialised as compact JSON, as CloudTrail sends it to
//     CloudWatch Logs: the record's original bytes with insignificant whitespace removed. Key
//     order, duplicate keys, string escapes and number spellings (1.0, 1e400, -0) are kept
//     byte for byte, so no value is ever reformatted by a parse/print round trip (numbers beyond
//     double's range, such as 1e400, are valid JSON and are accepted too).
//   - kJsonLines, kText: the line without its "\n" or "\r\n", byte for byte (NUL bytes and
//     invalid UTF-8 included). Empty lines are no events (CloudWatch rejects empty messages)
//     and are counted in SourceStats::empty_lines.
//   - kLogEvents, kSubscription, kLambdaEvent: the decoded "message" string.
//
// Timestamps (LogEvent::timestamp_ms, milliseconds since the Unix epoch, UTC):
//   - kCloudTrail: the record's "eventTime" (ISO-8601, e.g. 2014-03-06T21:22:54Z).
//   - kLogEvents, kSubscription, kLambdaEvent: the event's "timestamp" (epoch milliseconds).
//   - kJsonLines: InputOptions::timestamp_selector (see there).
//   - kText: none (has_timestamp = false; the caller uses the time of reading).
//   A missing or unparsable time gives has_timestamp = false, never a dropped event; such
//   events are counted in SourceStats::events_without_timestamp.
//
// Errors: bad content is reported per record to a MalformedCallback and counted; the reader goes
// on with the next record where the format allows (lines, array elements) and otherwise stops
// that source after delivering every complete record before the fault. Only a source that
// cannot be opened or read is an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cwfilter/error.hpp>

namespace cwfilter {

enum class InputFormat {
  kAuto,          // detect per source (rules above)
  kCloudTrail,    // {"Records":[...]}, a single event object, or a top-level array of events
  kJsonLines,     // one JSON value per line
  kText,          // plain text, one event per line
  kLogEvents,     // aws logs get-log-events / filter-log-events output {"events":[...]}
  kSubscription,  // subscription-filter payload {"messageType":..., "logEvents":[...]}
  kLambdaEvent,   // {"awslogs":{"data":"<base64 of the gzip subscription payload>"}}
};

// "auto", "cloudtrail", "json-lines", "text", "log-events", "subscription", "lambda".
std::string_view to_string(InputFormat format) noexcept;
Result<InputFormat, Error> parse_input_format(std::string_view name);

struct LogEvent {
  std::int64_t timestamp_ms = 0;  // valid only if has_timestamp
  bool has_timestamp = false;
  std::string message;
  std::string event_id;     // CloudTrail eventID, CloudWatch eventId / subscription id, else ""
  std::string log_group;    // when the payload names it (subscription payloads), else ""
  std::string log_stream;   // subscription logStream / filter-log-events logStreamName, else ""
  std::string source;       // file path as given/walked, "-" for stdin, or the buffer's name
  std::uint64_t record_number = 0;  // 1-based: line for line formats, element of the events /
                                    // Records / logEvents array for documents
  InputFormat format = InputFormat::kAuto;  // the format the event was read as
};

struct MalformedRecord {
  std::string source;
  std::uint64_t record_number = 0;  // 1-based record or line; 0 = the source as a whole
  std::uint64_t line = 0;           // 1-based line of byte_offset in the decoded content; 0 = n/a
  std::uint64_t byte_offset = 0;    // in the decoded content; in the raw file if compressed_offset
  bool compressed_offset = false;   // true for gzip errors (offset in the compressed bytes)
  std::string reason;
};

// "source:line: reason" (or ":record N" / "@offset" when there is no line), for summaries.
std::string to_string(const MalformedRecord& record);

struct InputOptions {
  // kAuto detects per source; anything else forces that format for every source.
  InputFormat format = InputFormat::kAuto;

  // Where JSON lines take their time. std::nullopt (default): the top-level "eventTime" if the
  // line has one (CloudTrail events as NDJSON), else none. "" : never (time of reading).
  // Otherwise a selector "$.a.b" / "$.a[0].b". The value may be
  //   - a string in ISO-8601 (YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh:mm|+hhmm|-...]; no zone = UTC),
  //   - a number or a string of digits: epoch seconds if |v| < 1e11 (before year 5138), else
  //     epoch milliseconds (1e11 ms is March 1973); fractions of seconds are kept to the ms.
  // A missing or unparsable value gives has_timestamp = false (counted, not malformed).
  std::optional<std::string> timestamp_selector;

  // Largest message delivered, in bytes (CloudWatch Logs' maximum event size, 1 MiB). A longer
  // line or record is a malformed record; a long line is skipped without being buffered.
  std::size_t max_event_bytes = 1024 * 1024;

  // Most bytes one source may decompress to, summed over its gzip members (and over the gzip
  // payload inside a Lambda event). Beyond it the source stops with a malformed record.
  std::uint64_t max_decompressed_bytes = std::uint64_t{1} << 30;  // 1 GiB
  // Gzip-bomb guard: once a source has decompressed more than ratio_guard_min_bytes, its output
  // may be at most max_compression_ratio times the compressed bytes consumed. Real CloudTrail and
  // log files compress 5-50x; deflate's ceiling is ~1032x.
  std::uint64_t max_compression_ratio = 250;
  std::uint64_t ratio_guard_min_bytes = std::uint64_t{16} << 20;  // 16 MiB

  // Largest JSON document (CloudTrail file, events output, payload) held in memory, in bytes.
  // Line formats stream and are not bound by it.
  std::size_t max_document_bytes = std::size_t{512} << 20;  // 512 MiB

  // Directories: names skipped while walking (CloudTrail digest files are not log events).
  // Hidden entries (name starting with '.') are always skipped.
  std::vector<std::string> skip_directory_names = {"CloudTrail-Digest"};
};

struct SourceStats {
  std::string source;
  InputFormat format = InputFormat::kAuto;  // detected (or forced) format
  bool gzip = false;
  std::uint64_t events = 0;
  std::uint64_t malformed = 0;
  std::uint64_t events_without_timestamp = 0;
  std::uint64_t empty_lines = 0;
  std::uint64_t control_messages = 0;  // subscription CONTROL_MESSAGE payloads (no events)
  std::uint64_t bytes_read = 0;        // raw bytes of the source
  std::uint64_t bytes_decoded = 0;     // after decompression
};

struct InputStats {
  std::vector<SourceStats> sources;  // in reading order
  std::uint64_t events = 0;
  std::uint64_t malformed = 0;
};

using EventCallback = std::function<void(LogEvent&& event)>;
using MalformedCallback = std::function<void(const MalformedRecord& record)>;

// Streams events to callbacks, one source at a time, in order. Not thread-safe; cheap to create.
// The callbacks run synchronously inside the read_* calls.
class InputReader {
 public:
  // Error if the options are inconsistent (bad timestamp_selector, a zero limit).
  static Result<InputReader, Error> create(InputOptions options, EventCallback on_event,
                                           MalformedCallback on_malformed);

  // A file, or a directory walked recursively in byte-wise sorted path order (CloudTrail's S3
  // layout AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz sorts by time). "-" is
  // stdin. Error only if the path cannot be opened or read.
  Result<bool, Error> read_path(const std::filesystem::path& path);
  Result<bool, Error> read_stdin();
  // In-memory content named `source_name` (what fuzz targets use). Never fails.
  void read_buffer(std::string_view data, std::string source_name);

  const InputStats& stats() const noexcept { return stats_; }
  const InputOptions& options() const noexcept { return options_; }

  // Progress of read_path / read_stdin, for progress displays: the raw bytes read so far from
  // files and stdin by this reader (for gzip files the compressed bytes, so it ends at the file
  // sizes), read_buffer data not included. It runs ahead of the events delivered by at most one
  // read chunk (64 KiB), or by the whole document for JSON documents, which are read before their
  // records are delivered. The callback, if set, runs inside the read_* calls after every chunk.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  using ProgressCallback = std::function<void(std::uint64_t bytes_read)>;
  void set_progress_callback(ProgressCallback on_progress) { on_progress_ = std::move(on_progress); }
  // What read_path(path) will read, in raw bytes: the file's size, or the sum of the sizes of the
  // files a directory walk reads. Error if the path cannot be examined or walked.
  Result<std::uint64_t, Error> input_size(const std::filesystem::path& path) const;

 private:
  InputReader(InputOptions options, EventCallback on_event, MalformedCallback on_malformed);
  Result<bool, Error> read_file(const std::filesystem::path& path);
  Result<std::vector<std::string>, Error> walk_directory(const std::filesystem::path& dir) const;
  void count_bytes(std::size_t n);

  InputOptions options_;
  EventCallback on_event_;
  MalformedCallback on_malformed_;
  InputStats stats_;
  std::uint64_t bytes_read_ = 0;
  ProgressCallback on_progress_;
};

// Convenience: everything one path (or buffer) yields, collected in memory.
struct InputResult {
  std::vector<LogEvent> events;
  std::vector<MalformedRecord> malformed;
  InputStats stats;
};
Result<InputResult, Error> read_all(const std::filesystem::path& path,
                                    const InputOptions& options = {});
Result<InputResult, Error> read_all_buffer(std::string_view data, std::string source_name,
                                           const InputOptions& options = {});

// Helpers shared with the pipeline and tests.
// ISO-8601 as described for timestamp_selector -> epoch ms.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) noexcept;

}  // namespace cwfilter
