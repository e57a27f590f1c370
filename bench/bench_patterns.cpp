// Pattern matching throughput (issue 8), with its baselines in the same process:
//   P = parse each event into a RapidJSON DOM and do nothing else (the parse floor);
//   S = std::string_view::find of one literal over the same bytes (the scan limit).
// Workloads from real data: every CloudTrail event of the corpus repeated in a fixed shuffled
// order to >= 64 MB; the 10,000 Apache lines; the VPC flow-log lines. Every benchmark first checks
// its answers against the plain evaluator (the compiled matcher without the issue-8 passes, and
// reference::match on the distinct events) and stops with an error on any difference.
// Report: bytes_per_second and items_per_second (events/s). Prefer the CPU column: the machine
// is shared. See bench/README.md for the targets and how to read the ratios.
#include <benchmark/benchmark.h>

#include <cwfilter/input.hpp>
#include <cwfilter/pattern.hpp>
#include <cwfilter/pattern_set.hpp>

#include "pattern/compiled.hpp"
#include "pattern/json_event.hpp"
#include "pattern/tokenizer.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

std::string shared(const std::string& rel) { return std::string(CWFILTER_SHARED_DIR) + "/" + rel; }

// A stream of events: indices into `distinct`, laid out contiguously in `bytes`.
struct Stream {
  std::vector<std::string> distinct;
  std::vector<std::uint32_t> order;
  std::string bytes;
  std::vector<std::string_view> events;
  std::size_t total = 0;

  void build(std::size_t min_bytes, std::uint32_t seed) {
    std::vector<std::uint32_t> one(distinct.size());
    for (std::uint32_t i = 0; i < one.size(); ++i) one[i] = i;
    std::mt19937 rng(seed);
    std::size_t size = 0;
    while (size < min_bytes) {
      std::shuffle(one.begin(), one.end(), rng);
      for (auto i : one) {
        order.push_back(i);
        size += distinct[i].size();
      }
    }
    bytes.reserve(size);
    std::vector<std::size_t> starts;
    for (auto i : order) {
      starts.push_back(bytes.size());
      bytes += distinct[i];
    }
    for (std::size_t k = 0; k < order.size(); ++k)
      events.emplace_back(bytes.data() + starts[k], distinct[order[k]].size());
    total = bytes.size();
  }
};

std::vector<std::string> cloudtrail_events() {
  std::vector<std::string> out;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(shared(std::string("corpus/cloudtrail/") + dir));
    if (!r.ok()) continue;
    for (auto& e : r.value().events) out.push_back(std::move(e.message));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& path, const char* json_field = nullptr) {
  std::vector<std::string> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    if (json_field) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      if (d.HasParseError() || !d.HasMember(json_field) || !d[json_field].IsString()) continue;
      out.emplace_back(d[json_field].GetString(), d[json_field].GetStringLength());
    } else {
      out.push_back(line);
    }
  }
  return out;
}

// The CIS monitoring filters: for each of the 15 controls, its first `kind: cis` pattern (the
// AWS CloudTrail user guide's wording where it has one).
std::vector<std::pair<std::string, std::string>> cis_filters() {
  std::map<std::string, std::string> by_control;
  std::vector<std::string> order;
  std::ifstream f(shared("corpus/patterns.jsonl"));
  std::string line;
  while (std::getline(f, line)) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    if (d.HasParseError() || !d.HasMember("control_key") || !d["control_key"].IsString()) continue;
    std::string key = d["control_key"].GetString(), pattern = d["pattern"].GetString();
    if (by_control.count(key) || !compile(pattern).ok()) continue;
    by_control[key] = pattern;
    order.push_back(key);
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : order) out.emplace_back(k, by_control[k]);
  return out;
}

const std::string kConsoleLogin = R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })";

struct Data {
  Stream cloudtrail, console_events, apache, vpc;
  std::vector<std::pair<std::string, std::string>> cis;
  Data() {
    cloudtrail.distinct = cloudtrail_events();
    cloudtrail.build(64u << 20, 20260101);
    // Every event that passes the console-login prefilter: all ConsoleLogin events.
    auto is_console = compile(R"({ $.eventName = "ConsoleLogin" })").value();
    for (const auto& e : cloudtrail.distinct)
      if (is_console.matches(e)) console_events.distinct.push_back(e);
    console_events.build(16u << 20, 7);
    apache.distinct = lines_of(shared("corpus/lines/apache_combined_elastic_examples.log"));
    apache.build(1, 1);  // the 10,000 lines once, shuffled
    for (auto& l : lines_of(shared("corpus/lines/vpc_flow_logs.jsonl"), "line")) vpc.distinct.push_back(l);
    for (auto& l : lines_of(shared("corpus/lines/vpc_flow_logs_default_format.log")))
      if (l[0] != '#' && l.find("version") != 0) vpc.distinct.push_back(l);
    vpc.build(4u << 20, 3);
    cis = cis_filters();
  }
};

Data& data() {
  static Data d;
  return d;
}

// ---- the plain evaluator: the compiled matcher without the issue-8 passes ----------------------

bool plain_matches(const Pattern& p, std::string_view m) {
  const auto& cp = p.impl();
  if (m.size() > cp.options.max_event_bytes) return false;
  switch (cp.family) {
    case Family::kJson: {
      thread_local detail::JsonEvent ev;
      return ev.parse(m, cp.options.max_json_depth) && detail::eval_json(cp.json, ev);
    }
    case Family::kSpaceDelimited: {
      thread_local std::vector<detail::Token> tokens;
      detail::tokenize(m, tokens);
      return detail::eval_space(cp, m, tokens);
    }
    default: return reference::match(p.ast(), m, p.options()).matched;
  }
}

// Checks `fast` against reference::match on every distinct event and the plain evaluator's count
// over the stream. Returns the stream's match count, or -1 after reporting an error.
template <typename Fast>
long long checked_count(benchmark::State& state, const Stream& s, const Pattern& p, Fast&& fast) {
  std::vector<char> ref(s.distinct.size());
  for (std::size_t i = 0; i < s.distinct.size(); ++i) {
    ref[i] = reference::match(p.ast(), s.distinct[i], p.options()).matched;
    if (ref[i] != plain_matches(p, s.distinct[i]) || ref[i] != fast(s.distinct[i])) {
      state.SkipWithError(("answer differs from the plain evaluator: " + p.source()).c_str());
      return -1;
    }
  }
  long long n = 0;
  for (auto i : s.order) n += ref[i];
  return n;
}

void report(benchmark::State& state, const Stream& s) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.total));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s.events.size()));
  state.counters["events"] = static_cast<double>(s.events.size());
  state.counters["MB"] = static_cast<double>(s.total) / 1e6;
}

Pattern must_compile(const std::string& text) { return compile(text).value(); }

// ---- baselines -------------------------------------------------------------------------------

void baseline_p(benchmark::State& state, const Stream& s) {
  static char pool[1 << 16];
  static char stack[1 << 14];
  std::size_t objects = 0;
  for (auto _ : state) {
    for (auto e : s.events) {
      rapidjson::MemoryPoolAllocator<> values(pool, sizeof pool);
      rapidjson::MemoryPoolAllocator<> parse_stack(stack, sizeof stack);
      rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>, rapidjson::MemoryPoolAllocator<>>
          d(&values, 1024, &parse_stack);
      d.Parse(e.data(), e.size());
      objects += d.IsObject();
    }
  }
  benchmark::DoNotOptimize(objects);
  report(state, s);
}

void baseline_s(benchmark::State& state, const Stream& s, std::string_view literal) {
  std::size_t found = 0;
  for (auto _ : state)
    for (auto e : s.events) found += e.find(literal) != std::string_view::npos;
  benchmark::DoNotOptimize(found);
  report(state, s);
}

void BM_P_ParseDom_CloudTrail(benchmark::State& state) { baseline_p(state, data().cloudtrail); }
BENCHMARK(BM_P_ParseDom_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_S_FindConsoleLogin_CloudTrail(benchmark::State& state) {
  baseline_s(state, data().cloudtrail, "ConsoleLogin");
}
BENCHMARK(BM_S_FindConsoleLogin_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_S_FindFailedAuthentication_CloudTrail(benchmark::State& state) {
  baseline_s(state, data().cloudtrail, "Failed authentication");
}
BENCHMARK(BM_S_FindFailedAuthentication_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_P_ParseDom_ConsoleLoginEvents(benchmark::State& state) { baseline_p(state, data().console_events); }
BENCHMARK(BM_P_ParseDom_ConsoleLoginEvents)->Unit(benchmark::kMillisecond);

// ---- one pattern ----------------------------------------------------------------------------

void match_one(benchmark::State& state, const Stream& s, const std::string& text) {
  Pattern p = must_compile(text);
  long long expected = checked_count(state, s, p, [&](std::string_view m) { return p.matches(m); });
  if (expected < 0) return;
  long long n = 0;
  for (auto e : s.events) n += p.matches(e);
  if (n != expected) return state.SkipWithError("stream count differs from the plain evaluator");
  for (auto _ : state) {
    n = 0;
    for (auto e : s.events) n += p.matches(e);
    benchmark::DoNotOptimize(n);
  }
  state.counters["matches"] = static_cast<double>(n);
  report(state, s);
}

void plain_one(benchmark::State& state, const Stream& s, const std::string& text) {
  Pattern p = must_compile(text);
  for (auto _ : state) {
    long long n = 0;
    for (auto e : s.events) n += plain_matches(p, e);
    benchmark::DoNotOptimize(n);
  }
  report(state, s);
}

// Target 1.
void BM_ConsoleLogin_CloudTrail(benchmark::State& state) { match_one(state, data().cloudtrail, kConsoleLogin); }
BENCHMARK(BM_ConsoleLogin_CloudTrail)->Unit(benchmark::kMillisecond);
void BM_ConsoleLogin_CloudTrail_Plain(benchmark::State& state) { plain_one(state, data().cloudtrail, kConsoleLogin); }
BENCHMARK(BM_ConsoleLogin_CloudTrail_Plain)->Unit(benchmark::kMillisecond);

// Target 3: every event passes the prefilter.
void BM_ConsoleLogin_ConsoleLoginEvents(benchmark::State& state) {
  match_one(state, data().console_events, kConsoleLogin);
}
BENCHMARK(BM_ConsoleLogin_ConsoleLoginEvents)->Unit(benchmark::kMillisecond);

// Target 4.
void BM_TermFailedAuthentication_CloudTrail(benchmark::State& state) {
  match_one(state, data().cloudtrail, "\"Failed authentication\"");
}
BENCHMARK(BM_TermFailedAuthentication_CloudTrail)->Unit(benchmark::kMillisecond);

// ---- the 15 CIS filters (target 2) --------------------------------------------------------------

std::vector<Pattern> cis_patterns() {
  std::vector<Pattern> out;
  for (const auto& [k, text] : data().cis) out.push_back(must_compile(text));
  return out;
}

void BM_CIS15_PatternSet_CloudTrail(benchmark::State& state) {
  const Stream& s = data().cloudtrail;
  auto patterns = cis_patterns();
  PatternSet set(patterns);
  std::vector<std::size_t> hits;
  long long expected = 0;
  for (const auto& p : patterns) {
    long long c = checked_count(state, s, p, [&](std::string_view m) { return p.matches(m); });
    if (c < 0) return;
    expected += c;
  }
  for (const auto& e : s.distinct) {
    set.matching(e, hits);
    std::vector<std::size_t> want;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (reference::match(patterns[i].ast(), e).matched) want.push_back(i);
    if (hits != want) return state.SkipWithError("PatternSet differs from the reference evaluator");
  }
  long long n = 0;
  for (auto _ : state) {
    n = 0;
    for (auto e : s.events) {
      set.matching(e, hits);
      n += static_cast<long long>(hits.size());
    }
    benchmark::DoNotOptimize(n);
  }
  if (n != expected) state.SkipWithError("PatternSet stream count differs");
  state.counters["filters"] = static_cast<double>(patterns.size());
  state.counters["matches"] = static_cast<double>(n);
  report(state, s);
}
BENCHMARK(BM_CIS15_PatternSet_CloudTrail)->Unit(benchmark::kMillisecond);

void BM_CIS15_EachPattern_CloudTrail(benchmark::State& state) {
  const Stream& s = data().cloudtrail;
  auto patterns = cis_patterns();
  for (auto _ : state) {
    long long n = 0;
    for (auto e : s.events)
      for (const auto& p : patterns) n += p.matches(e);
    benchmark::DoNotOptimize(n);
  }
  report(state, s);
}
BENCHMARK(BM_CIS15_EachPattern_CloudTrail)->Unit(benchmark::kMillisecond);

// The 15 filters each parsing every event (the plain evaluator).
void BM_CIS15_EachFullParse_CloudTrail(benchmark::State& state) {
  const Stream& s = data().cloudtrail;
  auto patterns = cis_patterns();
  for (auto _ : state) {
    long long n = 0;
    for (auto e : s.events)
      for (const auto& p : patterns) n += plain_matches(p, e);
    benchmark::DoNotOptimize(n);
  }
  report(state, s);
}
BENCHMARK(BM_CIS15_EachFullParse_CloudTrail)->Unit(benchmark::kMillisecond)->Iterations(1);

// ---- compilation (target 5) -----------------------------------------------------------------

void BM_Compile_LongestCIS(benchmark::State& state) {
  std::string longest;
  for (const auto& [k, text] : data().cis)
    if (text.size() > longest.size()) longest = text;
  for (auto _ : state) {
    auto p = compile(longest);
    benchmark::DoNotOptimize(p);
  }
  state.counters["pattern_bytes"] = static_cast<double>(longest.size());
}
BENCHMARK(BM_Compile_LongestCIS)->Unit(benchmark::kMicrosecond);

// The grammar alone (parser.cpp), to show which part of compiling is the passes'.
void BM_ParseOnly_LongestCIS(benchmark::State& state) {
  std::string longest;
  for (const auto& [k, text] : data().cis)
    if (text.size() > longest.size()) longest = text;
  for (auto _ : state) {
    auto p = parse(longest);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_ParseOnly_LongestCIS)->Unit(benchmark::kMicrosecond);

// ---- text logs --------------------------------------------------------------------------------

void BM_Apache_Status4xxHtml(benchmark::State& state) {
  match_one(state, data().apache,
            "[ip, id, user, timestamp, request=\"*.html*\", status_code=4*, bytes]");
}
BENCHMARK(BM_Apache_Status4xxHtml)->Unit(benchmark::kMillisecond);
void BM_Apache_TermGET(benchmark::State& state) { match_one(state, data().apache, "\"GET /presentations\""); }
BENCHMARK(BM_Apache_TermGET)->Unit(benchmark::kMillisecond);
void BM_Apache_S_FindGET(benchmark::State& state) { baseline_s(state, data().apache, "GET /presentations"); }
BENCHMARK(BM_Apache_S_FindGET)->Unit(benchmark::kMillisecond);

void BM_Vpc_RejectSsh(benchmark::State& state) {
  match_one(state, data().vpc,
            "[version, account, eni, source, destination, srcport, destport=\"22\", protocol, packets, "
            "bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]");
}
BENCHMARK(BM_Vpc_RejectSsh)->Unit(benchmark::kMillisecond);
void BM_Vpc_BytesAtLeast400(benchmark::State& state) {
  match_one(state, data().vpc,
            "[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes>=400, "
            "windowstart, windowend, action, flowlogstatus]");
}
BENCHMARK(BM_Vpc_BytesAtLeast400)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
