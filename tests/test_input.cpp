// Input readers (include/cwfilter/input.hpp): formats, detection, gzip, limits, malformed records.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <rapidjson/document.h>

#include <cwfilter/input.hpp>

namespace fs = std::filesystem;
using cwfilter::InputFormat;
using cwfilter::InputOptions;
using cwfilter::InputResult;

namespace {

const fs::path kShared = CWFILTER_SHARED_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << data;
}

// One gzip member of `data` (zlib's deflate with the gzip wrapper).
std::string gzip(const std::string& data, int level = Z_DEFAULT_COMPRESSION) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A gzip member of `n` copies of `unit`, compressed chunk by chunk (memory stays small).
std::string gzip_repeated(const std::string& unit, std::size_t n) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string block;
  while (block.size() < (1 << 20)) block += unit;
  std::size_t per_block = block.size() / unit.size();
  std::string out;
  char buf[1 << 16];
  std::size_t left = n;
  while (true) {
    std::size_t k = std::min(left, per_block);
    left -= k;
    z.next_in = reinterpret_cast<Bytef*>(block.data());
    z.avail_in = static_cast<uInt>(k * unit.size());
    int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    if (left == 0) {
      REQUIRE(rc == Z_STREAM_END);
      break;
    }
  }
  deflateEnd(&z);
  return out;
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

InputResult read_buf(const std::string& data, const std::string& name = "buf",
                     const InputOptions& opt = {}) {
  auto r = cwfilter::read_all_buffer(data, name, opt);
  REQUIRE(r.ok());
  return std::move(r).value();
}

InputResult read_path(const fs::path& p, const InputOptions& opt = {}) {
  auto r = cwfilter::read_all(p, opt);
  INFO(p.string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<std::string> messages(const InputResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.events) out.push_back(e.message);
  return out;
}

std::string all_reasons(const InputResult& r) {
  std::string s;
  for (const auto& m : r.malformed) s += cwfilter::to_string(m) + "\n";
  return s;
}

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("cwfilter_input_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

rapidjson::Document parse_exact(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseNumbersAsStringsFlag>(text.c_str(), text.size());
  return d;
}

// Same members in the same order, recursively; numbers compared as their original text.
bool same_in_order(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.GetType() != b.GetType()) return false;
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (auto i = a.MemberBegin(), j = b.MemberBegin(); i != a.MemberEnd(); ++i, ++j) {
      if (i->name != j->name || !same_in_order(i->value, j->value)) return false;
    }
    return true;
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!same_in_order(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

TEST_CASE("input: every CloudTrail corpus file gives the events its index lists", "[input]") {
  const fs::path dir = kShared / "corpus" / "cloudtrail";
  // Expected counts come from index.jsonl (one row per event) and the README's source table.
  std::map<std::string, int> rows;
  std::map<std::string, bool> valid;
  {
    std::istringstream in(slurp(dir / "index.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      REQUIRE(d.IsObject());
      std::string file = d["file"].GetString();
      rows[file]++;
      valid[file] = d["valid_json"].GetBool();
    }
  }
  int readme_total = 0;
  {
    std::istringstream in(slurp(dir / "README.md"));
    std::string line;
    std::regex row(R"(^\| ([a-z-]+)/ \| (\d+) \| (\d+) \|)");
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, row)) readme_total += std::stoi(m[3]);
    }
  }
  int index_total = 0;
  for (auto& [f, n] : rows) index_total += n;
  CHECK(readme_total == 983);
  CHECK(index_total == readme_total);

  // Doc examples that are not valid JSON as published: what each yields, read by eye. A Records
  // file delivers the complete records before the fault; a single event delivers nothing.
  const std::map<std::string, int> invalid_events = {{"awsdocs/029_aws-cloudtrail_CreateRole.json", 0},
                                                     {"awsdocs/033_aws-cloudtrail_StartLogging.json", 1},
                                                     {"awsdocs/034_aws-cloudtrail_StartLogging.json", 1}};
  int files = 0, delivered = 0, valid_events = 0, invalid_files = 0;
  std::vector<std::string> no_time;
  for (const auto& [file, n] : rows) {
    INFO(file);
    InputResult r = read_path(dir / file);
    ++files;
    delivered += static_cast<int>(r.events.size());
    REQUIRE(r.stats.sources.size() == 1);
    if (valid[file]) {
      CHECK(r.malformed.empty());
      CHECK(static_cast<int>(r.events.size()) == n);
      valid_events += n;
      CHECK(r.stats.sources[0].format == (file.rfind("otrf/", 0) == 0 ? InputFormat::kJsonLines
                                                                      : InputFormat::kCloudTrail));
      for (const auto& e : r.events) {
        // Every eventTime in the corpus parses (the OTRF export kept only logstash's @timestamp).
        if (e.message.find("\"eventTime\":") != std::string::npos && !e.has_timestamp) {
          no_time.push_back(file);
        }
        CHECK(e.message.find('\n') == std::string::npos);
        CHECK(e.record_number >= 1);
      }
    } else {
      ++invalid_files;
      CHECK(r.malformed.size() == 1);
      auto it = invalid_events.find(file);
      CHECK(static_cast<int>(r.events.size()) == (it == invalid_events.end() ? 0 : it->second));
      for (const auto& m : r.malformed) {
        CHECK(m.source == (dir / file).string());
        CHECK(m.line >= 1);
        CHECK(!m.reason.empty());
      }
    }
  }
  // Two Panther fixtures redact eventTime ("redacted", "..."); every other eventTime parses.
  CHECK(no_time == std::vector<std::string>{
                       "panther/320_aws_root_activity_ExternalIdPDirectoryLogin.json",
                       "panther/453_signin_with_aws_cli_prompt_ListApplications.json"});
  CHECK(files == 604);
  CHECK(invalid_files == 21);
  CHECK(valid_events == 962);
  CHECK(delivered == 964);

  // Walking each source directory gives the same totals, in sorted file order.
  int walked = 0, walked_malformed = 0;
  for (const char* sub : {"awsdocs", "otrf", "panther", "stratus-red-team"}) {
    InputResult r = read_path(dir / sub);
    walked += static_cast<int>(r.events.size());
    walked_malformed += static_cast<int>(r.malformed.size());
    std::vector<std::string> order;
    for (const auto& s : r.stats.sources) order.push_back(s.source);
    CHECK(std::is_sorted(order.begin(), order.end()));
  }
  CHECK(walked == delivered);
  CHECK(walked_malformed == 21);

  // The OTRF NDJSON has no eventTime; its time is logstash's @timestamp, read by a selector.
  InputOptions opt;
  opt.timestamp_selector = "$.@timestamp";
  InputResult otrf = read_path(dir / "otrf", opt);
  REQUIRE(otrf.events.size() == 103);
  for (const auto& e : otrf.events) CHECK(e.has_timestamp);
  CHECK(otrf.stats.sources[0].events_without_timestamp == 0);
}

TEST_CASE("input: CloudTrail messages are the records' own bytes, compact, in key order", "[input]") {
  const fs::path dir = kShared / "corpus" / "cloudtrail" / "stratus-red-team";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string text = slurp(entry.path());
    rapidjson::Document doc = parse_exact(text);
    REQUIRE(doc.HasMember("Records"));
    InputResult r = read_path(entry.path());
    REQUIRE(r.events.size() == doc["Records"].Size());
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      const auto& e = r.events[i];
      CHECK(e.record_number == i + 1);
      rapidjson::Document m = parse_exact(e.message);
      REQUIRE(m.IsObject());
      CHECK(same_in_order(m, doc["Records"][static_cast<rapidjson::SizeType>(i)]));
      const auto& rec = doc["Records"][static_cast<rapidjson::SizeType>(i)];
      CHECK(e.timestamp_ms == *cwfilter::parse_iso8601_ms(rec["eventTime"].GetString()));
      if (rec.HasMember("eventID")) CHECK(e.event_id == rec["eventID"].GetString());
      ++checked;
    }
  }
  CHECK(checked == 310);

  // Numbers and escapes are never re-printed; duplicate keys stay.
  std::string hostile =
      R"({"Records":[ {"eventTime" : "2014-03-06T21:22:54Z", "n": 1e400, "z": -0, "f": 1.50,)"
      R"( "s": "a\/b\u00e9", "k": 1, "k": 2 }, 7, {"eventTime":"bad"} ]})";
  InputResult r = read_buf(hostile, "hostile.json");
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].message ==
        R"({"eventTime":"2014-03-06T21:22:54Z","n":1e400,"z":-0,"f":1.50,"s":"a\/b\u00e9","k":1,"k":2})");
  CHECK(r.events[0].timestamp_ms == 1394140974000);
  CHECK(r.events[1].record_number == 3);
  CHECK_FALSE(r.events[1].has_timestamp);
  REQUIRE(r.malformed.size() == 1);
  CHECK(r.malformed[0].record_number == 2);
  CHECK(r.malformed[0].reason.find("not a JSON object") != std::string::npos);
  CHECK(r.stats.sources[0].events_without_timestamp == 1);
}

TEST_CASE("input: ISO-8601 and epoch times", "[input]") {
  using cwfilter::parse_iso8601_ms;
  CHECK(parse_iso8601_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso8601_ms("2014-03-06T21:22:54Z") == 1394140974000);
  CHECK(parse_iso8601_ms("2014-03-06T21:22:54.123Z") == 1394140974123);
  CHECK(parse_iso8601_ms("2014-03-06T21:22:54.1239Z") == 1394140974123);
  CHECK(parse_iso8601_ms("2014-03-06T23:22:54+02:00") == 1394140974000);
  CHECK(parse_iso8601_ms("2014-03-06T20:22:54-0100") == 1394140974000);
  CHECK(parse_iso8601_ms("2014-03-06 21:22:54") == 1394140974000);
  CHECK(parse_iso8601_ms("2024-02-29T00:00:00Z").has_value());
  CHECK_FALSE(parse_iso8601_ms("2023-02-29T00:00:00Z").has_value());
  CHECK_FALSE(parse_iso8601_ms("2014-13-06T21:22:54Z").has_value());
  CHECK_FALSE(parse_iso8601_ms("2014-03-06T21:22:54Zjunk").has_value());
  CHECK_FALSE(parse_iso8601_ms("yesterday").has_value());
  CHECK(parse_iso8601_ms("1969-12-31T23:59:59Z") == -1000);
}

TEST_CASE("input: gzip single, concatenated, truncated, corrupt and bombs", "[input]") {
  const std::string records1 =
      R"({"Records":[{"eventTime":"2014-03-06T21:22:54Z","eventID":"a"},{"eventTime":"2014-03-06T21:22:55Z","eventID":"b"}]})";
  SECTION("single member .json.gz") {
    InputResult r = read_buf(gzip(records1), "x.json.gz");
    REQUIRE(r.events.size() == 2);
    CHECK(r.stats.sources[0].gzip);
    CHECK(r.stats.sources[0].format == InputFormat::kCloudTrail);
    CHECK(r.events[1].event_id == "b");
    CHECK(r.events[1].timestamp_ms == 1394140975000);
    CHECK(r.malformed.empty());
  }
  SECTION("detected by magic bytes, not by name") {
    InputResult r = read_buf(gzip("one\ntwo\n"), "no-extension");
    CHECK(messages(r) == std::vector<std::string>{"one", "two"});
    CHECK(r.stats.sources[0].gzip);
  }
  SECTION("concatenated members form one stream") {
    std::string data = gzip("a\nb") + gzip("c\nd\n") + gzip("e\n");
    InputResult r = read_buf(data);
    CHECK(messages(r) == std::vector<std::string>{"a", "bc", "d", "e"});
    CHECK(r.malformed.empty());
    CHECK(r.stats.sources[0].bytes_decoded == 9);
    CHECK(r.stats.sources[0].bytes_read == data.size());
  }
  SECTION("a truncated member is reported at its first byte; earlier events are delivered") {
    std::string first = gzip("line 1\nline 2\n");
    std::string second = gzip(std::string(5000, 'x') + "\nline 4\n", 0);  // stored: cut mid-data
    std::string data = first + second.substr(0, second.size() / 2);
    InputResult r = read_buf(data, "cut.log.gz");
    CHECK(messages(r) == std::vector<std::string>{"line 1", "line 2"});
    REQUIRE(r.malformed.size() == 2);
    CHECK(r.malformed[0].line == 3);  // the partial line is not delivered, and not dropped silently
    CHECK(r.malformed[1].compressed_offset);
    CHECK(r.malformed[1].byte_offset == first.size());
    CHECK(r.malformed[1].reason.find("truncated gzip member") != std::string::npos);
    CHECK(r.malformed[1].source == "cut.log.gz");
  }
  SECTION("a truncated CloudTrail file reports the gzip fault only") {
    std::string data = gzip(records1);
    InputResult r = read_buf(data.substr(0, data.size() - 10), "t.json.gz");
    CHECK(r.events.size() <= 2);
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].reason.find("truncated") != std::string::npos);
  }
  SECTION("corrupt data and trailing garbage") {
    std::string data = gzip("a\nb\n");
    std::string corrupt = data;
    corrupt[12] = static_cast<char>(corrupt[12] ^ 0x55);
    corrupt[13] = static_cast<char>(corrupt[13] ^ 0x55);
    InputResult r = read_buf(corrupt);
    CHECK(r.malformed.size() >= 1);
    CHECK(all_reasons(r).find("gzip") != std::string::npos);

    InputResult t = read_buf(data + "garbage");
    CHECK(messages(t) == std::vector<std::string>{"a", "b"});
    REQUIRE(t.malformed.size() == 1);
    CHECK(t.malformed[0].byte_offset == data.size());
    CHECK(t.malformed[0].reason.find("not another gzip member") != std::string::npos);
  }
  SECTION("max_decompressed_bytes bounds a source") {
    InputOptions opt;
    opt.max_decompressed_bytes = 1 << 20;
    std::string data = gzip_repeated("0123456789abcde\n", 1 << 18);  // 4 MiB of 16-byte lines
    InputResult r = read_buf(data, "big.gz", opt);
    CHECK(r.events.size() == (1 << 20) / 16);
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].reason.find("max_decompressed_bytes") != std::string::npos);
    CHECK(r.stats.sources[0].bytes_decoded == (1u << 20));
  }
  SECTION("the ratio guard stops a gzip bomb with default limits") {
    std::string bomb = gzip_repeated(std::string(1024, '\0'), 64 * 1024);  // 64 MiB of zeros
    REQUIRE(bomb.size() < 200 * 1024);
    InputResult r = read_buf(bomb, "bomb.gz");
    CHECK(r.events.empty());
    CHECK(all_reasons(r).find("max_compression_ratio") != std::string::npos);
    CHECK(r.stats.sources[0].bytes_decoded <= InputOptions{}.ratio_guard_min_bytes + (1 << 17));
  }
}

TEST_CASE("input: plain text lines", "[input]") {
  std::string nul("with\0nul", 8);
  std::string data = "first\r\nsecond\n\n" + nul + "\nbad utf8 \xff\xfe\nlone\rcr\nlast";
  InputResult r = read_buf(data, "app.log");
  CHECK(messages(r) == std::vector<std::string>{"first", "second", nul, "bad utf8 \xff\xfe",
                                                "lone\rcr", "last"});
  CHECK(r.stats.sources[0].format == InputFormat::kText);
  CHECK(r.stats.sources[0].empty_lines == 1);
  std::vector<std::uint64_t> numbers;
  for (const auto& e : r.events) {
    numbers.push_back(e.record_number);
    CHECK_FALSE(e.has_timestamp);
    CHECK(e.source == "app.log");
  }
  CHECK(numbers == std::vector<std::uint64_t>{1, 2, 4, 5, 6, 7});
  CHECK(r.malformed.empty());

  SECTION("over-long lines are malformed, with their line number, and reading goes on") {
    InputOptions opt;
    opt.max_event_bytes = 8;
    InputResult s = read_buf("12345678\n123456789\nok\r\n" + std::string(300000, 'y') + "\nend\n" +
                                 std::string(9, 'z'),
                             "x.log", opt);
    CHECK(messages(s) == std::vector<std::string>{"12345678", "ok", "end"});
    REQUIRE(s.malformed.size() == 3);
    CHECK(s.malformed[0].line == 2);
    CHECK(s.malformed[0].byte_offset == 9);
    CHECK(s.malformed[1].line == 4);
    CHECK(s.malformed[1].reason.find("300000 bytes") != std::string::npos);
    CHECK(s.malformed[2].line == 6);
  }
  SECTION("a 1 MiB event is delivered, one byte more is not") {
    std::string ok(1 << 20, 'a');
    InputResult s = read_buf(ok + "\n" + ok + "b\n", "big.log");
    REQUIRE(s.events.size() == 1);
    CHECK(s.events[0].message.size() == (1u << 20));
    REQUIRE(s.malformed.size() == 1);
    CHECK(s.malformed[0].line == 2);
  }
  SECTION("a BOM is not part of the first message") {
    InputResult s = read_buf("\xEF\xBB\xBFhello\n");
    CHECK(messages(s) == std::vector<std::string>{"hello"});
  }
  SECTION("forcing text on JSON content") {
    InputOptions opt;
    opt.format = InputFormat::kText;
    InputResult s = read_buf("{\"a\":\n1}\n", "x.json", opt);
    CHECK(messages(s) == std::vector<std::string>{"{\"a\":", "1}"});
  }
}

TEST_CASE("input: JSON lines, timestamps and malformed lines", "[input]") {
  std::string data =
      "{\"eventTime\":\"2014-03-06T21:22:54Z\",\"eventID\":\"e1\",\"timestamp\":1700000000123}\n"
      "{\"timestamp\": 1700000000, \"a\": {\"b\": \"2020-01-01T00:00:00.5Z\"}}\n"
      "not json\n"
      "   \n"
      "[1,2]\n"
      "{\"timestamp\":\"1700000000.25\"} trailing\n"
      "{\"timestamp\":\"1700000000.25\"}\r\n"
      "{\"x\":1}";
  SECTION("default: eventTime when present") {
    InputResult r = read_buf(data, "events.ndjson");
    REQUIRE(r.events.size() == 4);
    CHECK(r.stats.sources[0].format == InputFormat::kJsonLines);
    CHECK(r.events[0].timestamp_ms == 1394140974000);
    CHECK(r.events[0].event_id == "e1");
    CHECK_FALSE(r.events[1].has_timestamp);
    CHECK(r.events[1].message == "{\"timestamp\": 1700000000, \"a\": {\"b\": \"2020-01-01T00:00:00.5Z\"}}");
    CHECK(r.events[2].message == "{\"timestamp\":\"1700000000.25\"}");
    CHECK(r.events[3].record_number == 8);
    std::vector<std::uint64_t> bad;
    for (const auto& m : r.malformed) bad.push_back(m.record_number);
    CHECK(bad == std::vector<std::uint64_t>{3, 5, 6});
    CHECK(r.malformed[1].reason.find("not an object") != std::string::npos);
    CHECK(r.stats.sources[0].empty_lines == 1);
  }
  SECTION("selector $.timestamp: epoch ms, epoch s and fractions") {
    InputOptions opt;
    opt.timestamp_selector = "$.timestamp";
    InputResult r = read_buf(data, "x", opt);  // detected by content
    REQUIRE(r.events.size() == 4);
    CHECK(r.events[0].timestamp_ms == 1700000000123);
    CHECK(r.events[1].timestamp_ms == 1700000000000);
    CHECK(r.events[2].timestamp_ms == 1700000000250);
    CHECK_FALSE(r.events[3].has_timestamp);
    CHECK(r.events[0].event_id.empty());
  }
  SECTION("nested selector with ISO-8601") {
    InputOptions opt;
    opt.timestamp_selector = "$.a.b";
    InputResult r = read_buf(data, "x", opt);
    REQUIRE(r.events.size() == 4);
    CHECK(r.events[1].timestamp_ms == 1577836800500);
    CHECK(r.stats.sources[0].events_without_timestamp == 3);
  }
  SECTION("empty selector: never a timestamp") {
    InputOptions opt;
    opt.timestamp_selector = "";
    InputResult r = read_buf(data, "x", opt);
    for (const auto& e : r.events) CHECK_FALSE(e.has_timestamp);
  }
  SECTION("a bad selector is a configuration error") {
    InputOptions opt;
    opt.timestamp_selector = "timestamp";
    CHECK_FALSE(cwfilter::read_all_buffer(data, "x", opt).ok());
  }
  SECTION("hostile lines: 100,000 levels of nesting, NUL after the value") {
    std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    std::string nul("{\"a\":1}\0x", 9);
    InputResult r = read_buf(deep + "\n" + nul + "\n{\"a\":1e400,\"b\":-0}\n", "h.jsonl");
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].message == "{\"a\":1e400,\"b\":-0}");
    CHECK(r.events[0].message.size() == deep.size());
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].line == 2);
  }
}

TEST_CASE("input: get-log-events and filter-log-events output", "[input]") {
  const std::string get = R"({
    "events": [
        {
            "timestamp": 1433190184356,
            "message": "Example Event 1",
            "ingestionTime": 1433190184358
        },
        {
            "timestamp": 1433190184357,
            "message": "Example \"Event\" 2\n",
            "ingestionTime": 1433190184358
        },
        {"timestamp": 1433190184358, "ingestionTime": 1}
    ],
    "nextForwardToken": "f/31961209122447488583055879464742346735121166569214640130",
    "nextBackwardToken": "b/31961209122358285602261756944988674324553373268216709120"
})";
  InputResult r = read_buf(get, "get.json");
  CHECK(r.stats.sources[0].format == InputFormat::kLogEvents);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].message == "Example Event 1");
  CHECK(r.events[0].timestamp_ms == 1433190184356);
  CHECK(r.events[1].message == "Example \"Event\" 2\n");
  CHECK(r.events[1].record_number == 2);
  REQUIRE(r.malformed.size() == 1);
  CHECK(r.malformed[0].record_number == 3);
  CHECK(r.malformed[0].line == 13);

  const std::string filter =
      R"({"events":[{"logStreamName":"s1","timestamp":1433190184356,"message":"ERROR x",)"
      R"("ingestionTime":1433190184358,"eventId":"31953106606966983378809025079804211143289615424298221568"},)"
      R"({"logStreamName":"s2","timestamp":1433190516679,"message":"ERROR y","ingestionTime":1433190516680,)"
      R"("eventId":"31953106606966983378809025079804211143289615424298221569"}],"searchedLogStreams":[]})";
  InputResult f = read_buf(filter, "-");
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[1].log_stream == "s2");
  CHECK(f.events[1].event_id == "31953106606966983378809025079804211143289615424298221569");
  CHECK(f.events[1].timestamp_ms == 1433190516679);
  CHECK(f.malformed.empty());
}

TEST_CASE("input: subscription payloads and the Lambda event", "[input]") {
  const std::string payload =
      R"({"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"CloudTrail/logs",)"
      R"("logStream":"123456789012_CloudTrail_us-east-1","subscriptionFilters":["f"],"logEvents":[)"
      R"({"id":"3195310660696698337880902507980421114328961542429822","timestamp":1432826855000,)"
      R"("message":"{\"eventVersion\":\"1.03\",\"eventName\":\"ConsoleLogin\"}"},)"
      R"({"id":"3195310660696698337880902507980421114328961542429823","timestamp":1432826855001,"message":"x"}]})";
  const std::string control =
      R"({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",)"
      R"("subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,)"
      R"("message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]})";
  SECTION("gzip payload") {
    InputResult r = read_buf(gzip(payload), "payload.gz");
    CHECK(r.stats.sources[0].format == InputFormat::kSubscription);
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[0].message == R"({"eventVersion":"1.03","eventName":"ConsoleLogin"})");
    CHECK(r.events[0].log_group == "CloudTrail/logs");
    CHECK(r.events[0].log_stream == "123456789012_CloudTrail_us-east-1");
    CHECK(r.events[0].event_id == "3195310660696698337880902507980421114328961542429822");
    CHECK(r.events[1].timestamp_ms == 1432826855001);
    CHECK(r.malformed.empty());
  }
  SECTION("control messages carry no events") {
    InputResult r = read_buf(gzip(control));
    CHECK(r.events.empty());
    CHECK(r.malformed.empty());
    CHECK(r.stats.sources[0].control_messages == 1);
  }
  SECTION("Lambda event") {
    std::string event = R"({"awslogs": {"data": ")" + base64(gzip(payload)) + "\"}}";
    InputResult r = read_buf(event, "lambda.json");
    CHECK(r.stats.sources[0].format == InputFormat::kLambdaEvent);
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].message == "x");
    CHECK(r.events[1].format == InputFormat::kLambdaEvent);
    CHECK(r.events[1].log_group == "CloudTrail/logs");
    CHECK(r.malformed.empty());
  }
  SECTION("bad base64 and a truncated payload inside a Lambda event") {
    InputResult bad = read_buf(R"({"awslogs":{"data":"H4sI*AAA"}})");
    CHECK(bad.events.empty());
    REQUIRE(bad.malformed.size() == 1);
    CHECK(bad.malformed[0].reason.find("base64") != std::string::npos);

    std::string gz = gzip(payload);
    InputResult cut = read_buf(R"({"awslogs":{"data":")" + base64(gz.substr(0, gz.size() / 2)) + "\"}}");
    CHECK(cut.events.empty());
    REQUIRE(cut.malformed.size() == 1);
    CHECK(cut.malformed[0].reason.find("awslogs.data: truncated gzip member") != std::string::npos);
  }
  SECTION("unknown messageType") {
    InputResult r = read_buf(R"({"messageType":"OTHER","logEvents":[]})");
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].reason.find("OTHER") != std::string::npos);
  }
}

TEST_CASE("input: detection and document faults", "[input]") {
  SECTION("a .json file that is not JSON is one malformed record") {
    InputResult r = read_buf("\"eventVersion\": \"1.05\",\n}\n", "frag.json");
    CHECK(r.events.empty());
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].line == 1);
  }
  SECTION("the same bytes without the extension are text") {
    InputResult r = read_buf("\"eventVersion\": \"1.05\",\n}\n", "frag");
    CHECK(r.events.size() == 2);
  }
  SECTION("a pretty document followed by more text is malformed, not JSON lines") {
    InputResult r = read_buf("{\n \"a\": 1\n},\n ... more ...\n", "x");
    CHECK(r.events.empty());
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].line == 3);
  }
  SECTION("a single event object; a top-level array") {
    InputResult one = read_buf("{ \"eventTime\": \"2014-03-06T21:22:54Z\", \"x\": [1, 2] }\n");
    REQUIRE(one.events.size() == 1);
    CHECK(one.events[0].message == R"({"eventTime":"2014-03-06T21:22:54Z","x":[1,2]})");
    CHECK(one.events[0].timestamp_ms == 1394140974000);
    InputResult arr = read_buf("[{\"a\":1},\n{\"a\":2}]");
    CHECK(messages(arr) == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"});
  }
  SECTION("a syntax error inside Records keeps the earlier records") {
    InputResult r = read_buf("{\"Records\":[{\"a\":1},\n{\"a\":2},\n{\"a\":}]}", "x.json");
    CHECK(messages(r) == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"});
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].record_number == 3);
    CHECK(r.malformed[0].line == 3);
  }
  SECTION("a document nested 100,000 deep does not crash") {
    std::string deep = "{\"Records\":[{\"a\":" + std::string(100000, '[') +
                       std::string(100000, ']') + "}]}";
    InputResult r = read_buf(deep);
    REQUIRE(r.events.size() == 1);
    InputResult cut = read_buf(deep.substr(0, 150000));
    CHECK(cut.events.empty());
    CHECK(cut.malformed.size() == 1);
  }
  SECTION("max_document_bytes") {
    InputOptions opt;
    opt.max_document_bytes = 100;
    InputResult r = read_buf("{\"Records\":[" + std::string(200, ' ') + "]}", "x", opt);
    REQUIRE(r.malformed.size() == 1);
    CHECK(r.malformed[0].reason.find("max_document_bytes") != std::string::npos);
  }
  SECTION("formats by name") {
    CHECK(cwfilter::parse_input_format("json-lines").value() == InputFormat::kJsonLines);
    CHECK_FALSE(cwfilter::parse_input_format("xml").ok());
  }
}

TEST_CASE("input: directories in CloudTrail's S3 layout, and stdin", "[input]") {
  TempDir tmp;
  const fs::path base = tmp.path / "AWSLogs" / "123456789012";
  auto file_for = [&](const std::string& day, const std::string& stamp, int n) {
    std::string records = "{\"Records\":[";
    for (int i = 0; i < n; ++i) {
      records += (i ? "," : "") + std::string("{\"eventTime\":\"2024-01-") + day + "T" + stamp +
                 ":0" + std::to_string(i) + "Z\",\"eventID\":\"" + day + stamp + std::to_string(i) +
                 "\"}";
    }
    records += "]}";
    return gzip(records);
  };
  // Written out of order; read back in path order, which is time order.
  write_file(base / "CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0000Z_b.json.gz",
             file_for("02", "00:00", 2));
  write_file(base / "CloudTrail/us-east-1/2024/01/01/123456789012_CloudTrail_us-east-1_20240101T0010Z_a.json.gz",
             file_for("01", "00:10", 1));
  write_file(base / "CloudTrail/us-east-1/2024/01/01/123456789012_CloudTrail_us-east-1_20240101T0005Z_c.json.gz",
             file_for("01", "00:05", 3));
  write_file(base / "CloudTrail-Digest/us-east-1/2024/01/01/digest.json.gz",
             gzip("{\"awsAccountId\":\"123456789012\",\"logFiles\":[]}"));
  write_file(base / "CloudTrail/us-east-1/2024/01/01/.hidden.json.gz", file_for("01", "00:00", 1));

  InputResult r = read_path(tmp.path);
  REQUIRE(r.events.size() == 6);
  CHECK(r.stats.sources.size() == 3);
  std::int64_t last = 0;
  for (const auto& e : r.events) {
    CHECK(e.timestamp_ms >= last);
    last = e.timestamp_ms;
    CHECK(e.source.find("CloudTrail-Digest") == std::string::npos);
  }
  CHECK(r.events[0].event_id == "0100:050");
  CHECK(r.malformed.empty());

  SECTION("a missing path is an error") {
    CHECK_FALSE(cwfilter::read_all(tmp.path / "missing.json").ok());
  }
  SECTION("stdin is source \"-\"") {
    write_file(tmp.path / "stdin.txt", "from stdin\n{not json\n");
    REQUIRE(std::freopen((tmp.path / "stdin.txt").c_str(), "rb", stdin) != nullptr);
    InputResult s = read_path("-");
    REQUIRE(s.events.size() == 2);
    CHECK(s.events[0].source == "-");
    CHECK(s.events[1].message == "{not json");
  }
}

TEST_CASE("input: the lines corpus", "[input]") {
  const fs::path dir = kShared / "corpus" / "lines";
  std::map<std::string, int> expected;
  {
    std::istringstream in(slurp(dir / "README.md"));
    std::string line;
    std::regex row(R"(^\| ([A-Za-z0-9_.]+) \| (\d+) \|)");
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, row)) expected[m[1]] = std::stoi(m[2]);
    }
  }
  REQUIRE(expected.size() == 5);
  for (const auto& [file, n] : expected) {
    INFO(file);
    InputResult r = read_path(dir / file);
    CHECK(r.malformed.empty());
    CHECK(static_cast<int>(r.events.size()) == n);
    const bool jsonl = file.size() > 6 && file.substr(file.size() - 6) == ".jsonl";
    CHECK(r.stats.sources[0].format == (jsonl ? InputFormat::kJsonLines : InputFormat::kText));
    // As plain text the same files give one event per line too.
    InputOptions text;
    text.format = InputFormat::kText;
    CHECK(static_cast<int>(read_path(dir / file, text).events.size()) == n);
  }
}

TEST_CASE("input: a last line without newline loses its CR like every other line (fuzz finding)", "[input]") {
  for (const char* name : {"t.log", "t.jsonl"}) {
    INFO(name);
    InputResult only_cr = read_buf("\r", name);
    CHECK(only_cr.events.empty());
    CHECK(only_cr.malformed.empty());
    const bool jsonl = std::string(name) == "t.jsonl";
    const std::string last = jsonl ? "{\"b\":2}" : "second";
    InputResult r = read_buf((jsonl ? std::string("{\"a\":1}") : std::string("first")) + "\r\n" + last + "\r", name);
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].message == last);
  }
}
