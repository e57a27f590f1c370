// Differential test of the issue-8 optimisation passes: every optimised path gives the answer of
// the plain reference evaluator (reference::match) on every (pattern, event) pair of
//   patterns: every distinct compiling pattern of corpus/patterns.jsonl and spec/cases/patterns.jsonl;
//   events:   every CloudTrail event of the corpus, every event of the spec cases, the Apache and
//             VPC flow-log lines, and adversarial variants made for the prefilter and the sparse
//             JSON scan: JSON escapes that decode to the literal (`\u0043onsoleLogin`), escaped
//             keys, escaped quotes and slashes, duplicate keys (earlier and later, flat and nested),
//             whitespace, invalid JSON (truncated, trailing bytes, NUL byte, too deep).
// Paths checked per pair: Pattern::matches (prefilter + sparse scan + validation), Pattern::match,
// Pattern::match_and_resolve, and the prefilter alone (never rejects a match); per event: a
// PatternSet of all the patterns at once.
#include "support.hpp"

#include <cwfilter/alarm.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/pattern.hpp>
#include <cwfilter/pattern_set.hpp>

#include "pattern/byte_scan.hpp"
#include "pattern/compiled.hpp"
#include "pattern/json_event.hpp"
#include "pattern/prefilter.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

// Calls edit(content, is_key) for every string token of a JSON text and rebuilds it.
std::string map_strings(std::string_view json, const std::function<std::string(std::string_view, bool)>& edit) {
  std::string out;
  std::size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      out += json[i++];
      continue;
    }
    std::size_t j = i + 1;
    while (j < json.size() && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
    if (j >= json.size()) return std::string(json);
    std::string_view content = json.substr(i + 1, j - i - 1);
    std::size_t k = j + 1;
    while (k < json.size() && (json[k] == ' ' || json[k] == '\n' || json[k] == '\t' || json[k] == '\r')) ++k;
    bool is_key = k < json.size() && json[k] == ':';
    out += '"';
    out += edit(content, is_key);
    out += '"';
    i = j + 1;
  }
  return out;
}

// The first ASCII letter as a \u00XX escape (decodes to the same text).
std::string escape_first_letter(std::string_view s) {
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\') return out;  // leave strings that already have escapes alone
    if ((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= 'a' && out[i] <= 'z')) {
      return out.substr(0, i) + fmt::format("\\u{:04X}", static_cast<unsigned>(out[i])) + out.substr(i + 1);
    }
  }
  return out;
}

std::vector<std::string> adversarial(const std::string& e) {
  std::vector<std::string> out;
  if (e.empty() || e.front() != '{' || e.back() != '}') return out;
  out.push_back(map_strings(e, [](std::string_view s, bool key) { return key ? std::string(s) : escape_first_letter(s); }));
  out.push_back(map_strings(e, [](std::string_view s, bool key) { return key ? escape_first_letter(s) : std::string(s); }));
  out.push_back(map_strings(e, [](std::string_view s, bool) {
    std::string r;
    for (char c : s) r += c == '/' ? std::string("\\/") : std::string(1, c);
    return r;
  }));
  out.push_back(map_strings(e, [](std::string_view s, bool key) {
    return key ? std::string(s) : std::string(s) + "\\\"x";
  }));
  const std::string body = e.substr(1, e.size() - 2);
  const std::string dup = R"("eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"type":"Root"},"errorCode":"AccessDenied","eventSource":"s3.amazonaws.com")";
  if (!body.empty()) {
    out.push_back("{" + dup + "," + body + "}");  // earlier duplicates: the event's own win
    out.push_back("{" + body + "," + dup + "}");  // later duplicates win
    out.push_back("{" + body + R"(,"eventName":{"x":1},"userIdentity":[1,2])" + "}");
  }
  out.push_back(map_strings(e, [](std::string_view s, bool) { return std::string(s); }) + " ");
  std::string spaced;
  for (char c : e) {
    spaced += c;
    if (c == ',' || c == ':') spaced += " \n";
  }
  out.push_back(spaced);  // also breaks commas inside strings: still a differential pair
  out.push_back(e.substr(0, e.size() - 1));  // truncated
  out.push_back(e + "x");                    // trailing garbage
  out.push_back(e.substr(0, e.size() - 1) + ",\"nul\":\"a" + std::string(1, '\0') + "b\"}");
  out.push_back(e.substr(0, e.size() - 1) + ",\"deep\":" + std::string(600, '[') + std::string(600, ']') + "}");
  return out;
}

struct Corpus {
  std::vector<Pattern> patterns;
  std::vector<std::string> events;
};

const Corpus& corpus() {
  static const Corpus kCorpus = [] {
    Corpus c;
    std::set<std::string> texts;
    for (const auto& d : test::read_jsonl(test::shared_path("corpus/patterns.jsonl"))) texts.insert(test::str(d, "pattern"));
    std::vector<std::string> spec_events;
    for (const auto& d : test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"))) {
      if (d.HasMember("pattern")) texts.insert(test::str(d, "pattern"));
      if (d.HasMember("event")) spec_events.push_back(test::str(d, "event"));
    }
    for (const auto& t : texts)
      if (auto p = compile(t); p.ok()) c.patterns.push_back(*p);

    std::vector<std::string> cloudtrail;
    for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
      auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
      if (r.ok())
        for (auto& e : r.value().events) cloudtrail.push_back(std::move(e.message));
    }
    c.events = cloudtrail;
    c.events.insert(c.events.end(), spec_events.begin(), spec_events.end());
    for (const auto& d : test::read_jsonl(test::shared_path("corpus/lines/vpc_flow_logs.jsonl")))
      c.events.push_back(test::str(d, "line"));
    for (const auto& d : test::read_jsonl(test::shared_path("corpus/lines/apache_clf_awsdocs.jsonl")))
      c.events.push_back(test::str(d, "line"));
    {
      std::istringstream lines(test::slurp(test::shared_path("corpus/lines/apache_combined_elastic_examples.log")));
      std::string line;
      for (int n = 0; n < 100 && std::getline(lines, line); ++n) c.events.push_back(line);
    }
    // Adversarial variants of the spec events, of every ConsoleLogin event and of every 24th
    // CloudTrail event (all of them would make the Debug run long without adding shapes;
    // CWFILTER_OPTIMISED_ALL=1 takes every CloudTrail event).
    const bool all = std::getenv("CWFILTER_OPTIMISED_ALL") != nullptr;
    for (const auto& e : spec_events)
      for (auto& v : adversarial(e)) c.events.push_back(std::move(v));
    for (std::size_t i = 0; i < cloudtrail.size(); ++i)
      if (all || i % 24 == 0 || cloudtrail[i].find("ConsoleLogin") != std::string::npos)
        for (auto& v : adversarial(cloudtrail[i])) c.events.push_back(std::move(v));
    return c;
  }();
  return kCorpus;
}

}  // namespace

TEST_CASE("optimised paths: adversarial variants are what they claim", "[optimised]") {
  const std::string e = R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication"})";
  auto v = adversarial(e);
  REQUIRE(v.size() > 10);
  CHECK(v[0] == R"({"eventName":"\u0043onsoleLogin","errorMessage":"\u0046ailed authentication"})");
  auto p = compile(R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })").value();
  CHECK(reference::match(p.ast(), v[0]).matched);
  CHECK(p.matches(v[0]));                      // the escape hides the literal from the raw bytes
  CHECK_FALSE(p.impl().prefilter.empty());
  CHECK(p.impl().prefilter.may_match(v[0]));   // ... so the prefilter must let it through
  CHECK_FALSE(p.impl().prefilter.may_match(R"({"eventName":"ConsoleLogout"})"));
  CHECK(p.matches(v[1]));                      // escaped keys
  CHECK_FALSE(p.matches(v[v.size() - 1]));     // deeper than max_json_depth
  CHECK_FALSE(p.matches(v[v.size() - 2]));     // NUL byte
  CHECK_FALSE(p.matches(v[v.size() - 3]));     // trailing garbage
  CHECK_FALSE(p.matches(v[v.size() - 4]));     // truncated
}

TEST_CASE("optimised paths: the prefilter looks behind JSON escapes", "[optimised]") {
  auto p = compile(R"({ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") })").value();
  const auto& pf = p.impl().prefilter;
  // An escape somewhere else (an escaped policy document) no longer lets the event through.
  CHECK_FALSE(pf.may_match(R"({"eventName":"CreateRole","policy":"{\"Effect\":\"Allow\"}"})"));
  CHECK_FALSE(pf.may_match(R"({"eventName":"ConsoleLogin","errorMessage":"Failed\nauthentication"})"));
  // Escapes that decode to the literals are seen through.
  CHECK(pf.may_match(R"({"eventName":"\u0043onsoleLogin","errorMessage":"Failed\u0020authentication"})"));
  CHECK(pf.may_match(R"({"eventName":"Console\u004Cogin","x":"\\","errorMessage":"Failed authentication"})"));
  // With \u escapes, what the decoder does not accept is left to the parser (never rejected here).
  CHECK(pf.may_match(R"({"eventName":"\udc00"})"));
  CHECK(pf.may_match(R"({"eventName":"\ud800x"})"));
  CHECK(pf.may_match(R"({"eventName":"\u12"})"));
  // Without \u, letters are only ever themselves: a literal of letters missing from the raw
  // bytes is missing from every value, whatever the other escapes (even invalid ones).
  CHECK_FALSE(pf.may_match(R"({"eventName":"x\q"})"));
  CHECK_FALSE(pf.may_match("{\"eventName\":\"x\\"));
  // A literal holding a character a short escape stands for is still looked for decoded.
  auto slash = compile(R"({ $.path = "a/b" })").value();
  CHECK(slash.impl().prefilter.may_match(R"({"path":"a\/b"})"));
  CHECK(slash.matches(R"({"path":"a\/b"})"));
  CHECK_FALSE(slash.impl().prefilter.may_match(R"({"path":"a\/c"})"));
  // Surrogate pairs decode to the UTF-8 the pattern holds.
  auto e = compile("{ $.name = \"\xF0\x9F\x98\x80x\" }").value();
  REQUIRE_FALSE(e.impl().prefilter.empty());
  CHECK(e.impl().prefilter.may_match(R"({"name":"\ud83d\ude00x"})"));
  CHECK(e.matches(R"({"name":"\ud83d\ude00x"})"));
  CHECK_FALSE(e.impl().prefilter.may_match(R"({"name":"\ud83d\ude01x"})"));
  CHECK_FALSE(e.matches(R"({"name":"\ud83d\ude01x"})"));
}

TEST_CASE("optimised paths: sparse scan keeps duplicates, wildcards and indexes", "[optimised]") {
  struct Case {
    const char* pattern;
    const char* event;
  };
  const Case cases[] = {
      {R"({ $.a.b = 1 })", R"({"a":{"b":1},"a":{"c":2}})"},
      {R"({ $.a.b = 1 })", R"({"a":{"c":2},"a":{"b":1}})"},
      {R"({ $.a NOT EXISTS })", R"({"b":{"a":1}})"},
      {R"({ $.*.b = 1 })", R"({"x":{"b":1},"x":{"b":2}})"},
      {R"({ $.*.b = 2 })", R"({"x":{"b":1},"x":{"b":2}})"},
      {R"({ $.a[1] = 2 })", R"({"a":[1,2,3]})"},
      {R"({ $.a[2] = 2 })", R"({"a":[1,2,3]})"},
      {R"({ $.a[*].b = "x" })", R"({"a":[{"b":"y"},{"b":"x"}]})"},
      {R"({ $.a[0][1] = 5 })", R"({"a":[[4,5],[6]]})"},
      {R"({ $.a = "x\"y" })", R"({"a":"x\"y"})"},
      {R"({ $.a IS NULL })", R"({"a":null})"},
      {R"({ $.a IS TRUE })", R"({"a" : true , "b":[{"c":"}"}]})"},
      {R"({ $.a = 1 })", R"({"a":1,})"},
      {R"({ $.a = 1 })", R"([{"a":1}])"},
      {R"({ $.a = 1 })", R"(  {"a":1}  )"},
      {R"({ $.a = "*" })", R"({"a":{}})"},
      {R"({ $.b = "q" })", R"({"a":"\\","b":"q"})"},
  };
  for (const auto& c : cases) {
    auto p = compile(c.pattern);
    REQUIRE(p.ok());
    INFO(c.pattern << "  over  " << c.event);
    bool want = reference::match(p->ast(), c.event).matched;
    CHECK(p->matches(c.event) == want);
    PatternSet set({*p});
    CHECK(set.matching(c.event).size() == (want ? 1u : 0u));
  }
}

TEST_CASE("optimised paths agree with the reference evaluator on the corpus", "[optimised][differential]") {
  const Corpus& c = corpus();
  REQUIRE(c.patterns.size() > 400);
  REQUIRE(c.events.size() > 3000);
  PatternSet set(c.patterns);
  std::vector<std::optional<FieldValue>> values;
  std::vector<std::size_t> hits, want;
  std::size_t pairs = 0, matched = 0, disagreements = 0, prefiltered = 0, set_disagreements = 0;
  std::vector<FieldRef> refs;
  for (const char* r : {"$.eventName", "$.userIdentity.type", "$1", "$status_code"}) refs.push_back(FieldRef::parse(r).value());
  for (const auto& e : c.events) {
    want.clear();
    for (std::size_t i = 0; i < c.patterns.size(); ++i) {
      const Pattern& p = c.patterns[i];
      const MatchResult ref = reference::match(p.ast(), e, p.options());
      ++pairs;
      matched += ref.matched;
      if (ref.matched) want.push_back(i);
      const bool pf = p.impl().prefilter.may_match(e);
      prefiltered += !pf;
      const bool fast = p.matches(e);
      const MatchResult full = p.match(e);
      const bool resolved = p.match_and_resolve(e, refs, values);
      if (fast != ref.matched || full.matched != ref.matched || resolved != ref.matched ||
          (ref.matched && !pf) || full.extracted_values != ref.extracted_values) {
        if (++disagreements <= 10)
          UNSCOPED_INFO("pattern " << p.source() << "\n  event " << e << "\n  reference " << ref.matched
                                   << " matches " << fast << " match " << full.matched << " resolve "
                                   << resolved << " prefilter " << pf);
      }
    }
    set.matching(e, hits);
    if (hits != want && ++set_disagreements <= 5) UNSCOPED_INFO("PatternSet differs on event " << e);
  }
  WARN(fmt::format("{} pairs, {} matches, {} rejected by the prefilter", pairs, matched, prefiltered));
  CHECK(disagreements == 0);
  CHECK(set_disagreements == 0);
  CHECK(matched > 1000);
  CHECK(prefiltered > pairs / 2);  // the prefilter does work
}

TEST_CASE("optimised paths: validate() accepts exactly what parse() accepts", "[optimised]") {
  detail::JsonEvent a, b;
  std::size_t valid = 0;
  const std::vector<std::string> extra = {"{}", " {} ", "{\"a\":[]}", "{\"a\":-0.5}", "{\"a\":01}", "{\"a\":1e400}",
                                    "{\"a\":1.}", "{\"a\":\"\\u00e9\"}", "{\"a\":tru}", "{\"a\":1,}", "{\"a\" 1}",
                                    "{\"a\":[1,]}", "{\"a\":{\"b\":{}}}", "[]", "{\"a\":\"\x01\"}", "{\"a\":1}}",
                                    "{\"a\":12345678901234567890123}", "{\"a\":\"x\"}\n", "{\"a\":nul}"};
  for (const std::vector<std::string>* set : {&corpus().events, &extra}) {
    for (const auto& e : *set) {
      for (std::size_t depth : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{512}}) {
        INFO(e << " depth " << depth);
        const bool p = a.parse(e, depth);
        CHECK(b.validate(e, depth) == p);
        valid += p;
      }
    }
  }
  CHECK(valid > 1000);
}

// The SIMD byte-class helpers at every position and length around their 16-byte steps.
TEST_CASE("optimised paths: byte_scan helpers find what a plain loop finds", "[optimised]") {
  namespace bs = detail::byte_scan;
  for (std::size_t n = 0; n <= 40; ++n) {
    for (std::size_t at = 0; at + 1 < n + 1; ++at) {
      std::string s(n, 'a');
      INFO("length " << n << " at " << at);
      if (at + 2 <= n) {
        s[at] = '\\';
        s[at + 1] = 'u';
        CHECK(bs::has_backslash_u(s.data(), s.data() + n));
        s[at + 1] = 'x';
        CHECK_FALSE(bs::has_backslash_u(s.data(), s.data() + n));  // a backslash alone
        s[at] = 'u';
        CHECK_FALSE(bs::has_backslash_u(s.data(), s.data() + n));  // a 'u' alone
      }
      if (at < n) {
        for (char c : {'"', '\\', '\x01', '\x80', '{', '}', '[', ']'}) {
          std::string t(n, 'a');
          t[at] = c;
          const char* end = t.data() + n;
          const bool special = c == '"' || c == '\\' || c == '\x01' || c == '\x80';
          CHECK(bs::string_special(t.data(), end) == (special ? t.data() + at : end));
          CHECK(bs::quote_or_backslash(t.data(), end) == (c == '"' || c == '\\' ? t.data() + at : end));
          CHECK(bs::structural(t.data(), end) == (c == '"' || c == '{' || c == '}' || c == '[' || c == ']' ? t.data() + at : end));
        }
      }
    }
  }
}

// The sparse scan's own validity verdict (scanned_valid) lets a match skip validate(): it must
// never say "valid" for a message parse() rejects, at any depth limit. Corpus events, the extras
// and random byte edits of them (structure, escapes, numbers, controls, non-ASCII), over tries
// that read a member, a nested path with a wildcard, array elements and every member.
TEST_CASE("optimised paths: the sparse scan's validity verdict implies parse()", "[optimised]") {
  std::vector<detail::SelectorTrie> tries;
  for (const char* text : {R"({ $.eventName = "x" })", R"({ ($.userIdentity.arn = "x") && ($.requestParameters.* = "y") })",
                           R"({ $.a[*].b = 1 })", R"({ $.* = 1 })"}) {
    detail::SelectorTrie t;
    detail::add_selectors(compile(text).value().impl().json, t);
    tries.push_back(std::move(t));
  }
  std::vector<std::string> events = {"{}", " {} ", "{\"a\":[]}", "{\"a\":-0.5}", "{\"a\":01}", "{\"a\":1e400}",
                                     "{\"a\":1.}", "{\"a\":\"\\u00e9\"}", "{\"a\":tru}", "{\"a\":1,}", "{\"a\" 1}",
                                     "{\"a\":[1,]}", "{\"a\":{\"b\":{}}}", "{\"a\":\"\x01\"}", "{\"a\":1}}",
                                     "{\"a\":12345678901234567890123}", "{\"a\":\"x\"}\n", "{\"a\":nul}",
                                     "{\"b\":{\"c\":[1,{\"d\":\"\\n\\t\\/\"}]},\"a\":[{\"b\":1}]}", "{\"a\":[[[[1]]]]}",
                                     "{\"b\":\"\\x\"}", "{\"b\":{\"c\":\"\\u0041\"}}", "{\"b\":[\"\xC3\xA9\"]}", "{\"b\":-}",
                                     "{\"b\":[1 2]}", "{\"b\":{\"c\" \"d\"}}", "{\"b\":{\"c\":1,}}", "{\"b\":{,}}"};
  {
    std::size_t i = 0;
    for (const auto& e : corpus().events)
      if (i++ % 3 == 0) events.push_back(e);
  }
  std::mt19937 rng(20261129);
  const std::string alphabet = std::string("\"\\{}[],: 01-.eE+utnrfa/") + '\x01' + '\0' + '\x80' + '\t';
  const std::size_t base = events.size();
  for (std::size_t k = 0; k < base; ++k) {
    const std::string e = events[k];
    if (e.empty() || e.size() > 4000) continue;
    for (int m = 0; m < 12; ++m) {
      std::string v = e;
      const std::size_t at = rng() % v.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: v[at] = c; break;
        case 1: v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: v.erase(at, 1); break;
      }
      events.push_back(std::move(v));
    }
  }
  detail::JsonEvent scan, full;
  std::size_t claimed = 0, wrong = 0, valid_unclaimed = 0;
  for (const auto& e : events) {
    for (const auto& trie : tries) {
      if (scan.scan_selected(e, trie) != detail::JsonEvent::ScanResult::kScanned) continue;
      for (std::size_t depth : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{512}}) {
        const bool ok = full.parse(e, depth);
        if (scan.scanned_valid(depth)) {
          ++claimed;
          if (!ok && ++wrong <= 10) UNSCOPED_INFO("claimed valid at depth " << depth << ": " << e);
        } else {
          valid_unclaimed += ok;
        }
      }
    }
  }
  WARN(fmt::format("{} events, {} valid verdicts, {} valid events left to validate()", events.size(), claimed,
                   valid_unclaimed));
  CHECK(wrong == 0);
  CHECK(claimed > 20000);  // the verdict does work on the corpus
}

// The alarm's cheap path: store_source (standard statistics read through query_buckets and a
// bucket cache) gives what query + compute give, also when the store changes between reads.
TEST_CASE("optimised paths: store_source equals query + compute", "[optimised][alarm]") {
  MetricStore store;
  const MetricKey key("NS", "M");
  std::mt19937_64 rng(11);
  const std::int64_t t0 = 1767225600000;
  for (int i = 0; i < 600; ++i)
    (void)store.add_value(key, i % 3 ? StandardUnit::kCount : StandardUnit::kSeconds,
                          t0 + static_cast<std::int64_t>(rng() % (120 * 60000)), static_cast<double>(rng() % 1000) / 7.0);
  std::size_t checked = 0;
  for (const char* stat : {"Sum", "Average", "Maximum", "Minimum", "SampleCount", "p90"}) {
    for (std::optional<StandardUnit> unit : {std::optional<StandardUnit>{}, std::optional<StandardUnit>{StandardUnit::kCount}}) {
      for (int period : {60, 300}) {
        alarm::MetricAlarm a;
        a.alarm_name = "a";
        a.metric_namespace = "NS";
        a.metric_name = "M";
        a.unit = unit;
        if (std::string(stat) == "p90") a.extended_statistic = stat;
        else a.statistic = stat;
        a.period = period;
        auto source = alarm::store_source(store, a);
        const Statistic st = parse_statistic(stat).value();
        const std::int64_t p = period * 1000LL;
        // Forward, backward and jumping reads; a write in the middle invalidates the cache.
        std::vector<std::int64_t> starts;
        for (std::int64_t s = t0 - 3 * p; s < t0 + 130 * 60000; s += p) starts.push_back(s);
        for (std::int64_t s = t0 + 100 * 60000; s > t0 - 2 * p; s -= 2 * p) starts.push_back(s);
        // Buckets on shifted grids, as a 5-minute alarm evaluated every minute reads them.
        for (std::int64_t s = t0 - p; s < t0 + 60 * 60000; s += 60000) starts.push_back(s);
        for (std::size_t k = 0; k < starts.size(); ++k) {
          if (k == starts.size() / 2)
            (void)store.add_value(key, StandardUnit::kCount, starts[k] + 1000, 12345.0);
          auto got = source(starts[k], starts[k] + p);
          auto agg = store.query(key, unit, starts[k], starts[k] + p, true);
          std::optional<double> want = agg ? compute(st, *agg) : std::nullopt;
          INFO(stat << " period " << period << " start " << starts[k]);
          REQUIRE(got.has_value() == want.has_value());
          if (got) {
            CHECK(got->value == *want);
            CHECK(got->sample_count == agg->sample_count);
          }
          ++checked;
        }
      }
    }
  }
  CHECK(checked > 1000);
  // query_buckets against query, bucket by bucket.
  auto buckets = store.query_buckets(key, std::nullopt, t0 - 60000, 60000, 130);
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const std::int64_t s = t0 - 60000 + static_cast<std::int64_t>(i) * 60000;
    CHECK(buckets[i] == store.query(key, std::nullopt, s, s + 60000, false));
  }
}

TEST_CASE("numbers beyond double range are JSON, compared as infinity, by every path", "[optimised][json]") {
  struct Case {
    const char* pattern;
    const char* event;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"{ $.a > 5 }", R"({"a":1e400})", true},
      {"{ $.a > 5 }", R"({"a":-1e400})", false},
      {"{ $.a < 5 }", R"({"a":-1E+999})", true},
      {"{ $.b = 1 }", R"({"a":1e400,"b":1})", true},  // the rest of the event is still read
      {"{ $.b = 1 }", R"({"a":[1e400, "x"],"b":1})", true},
      {"{ $.b = 1 }", R"({"a":{"c":-1e400} ,"b":1})", true},
      {"{ $.a = * }", R"({"a":1e400})", true},
      {"{ $.a IS NULL }", R"({"a":1e400})", false},
      {"{ $.b = 1 }", R"({"a":1e400e5,"b":1})", false},  // not a number: still invalid JSON
      {"{ $.b = 1 }", R"({"a":01e400,"b":1})", false},
      {"{ $.b = 1 }", R"({"a":"1e400","b":1})", true},   // inside a string: untouched
      {"{ $.a = \"1e400\" }", R"({"a":"1e400"})", true},
  };
  std::vector<Pattern> compiled;
  for (const auto& c : cases) {
    INFO(c.pattern << " on " << c.event);
    auto p = compile(c.pattern);
    REQUIRE(p.ok());
    CHECK(p->matches(c.event) == c.expected);
    CHECK(p->match(c.event).matched == c.expected);
    CHECK(reference::match(p->ast(), c.event, p->options()).matched == c.expected);
    compiled.push_back(p.value());
  }
  const PatternSet set(compiled);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].pattern << " on " << cases[i].event);
    const auto hits = set.matching(cases[i].event);
    CHECK((std::find(hits.begin(), hits.end(), i) != hits.end()) == cases[i].expected);
  }
}

// PatternSet numbers every pattern's literal clauses as bits in 64-bit words: a pattern whose
// clauses would straddle a word starts a new one, and a pattern with more than 64 clauses spans
// several. Each clause here is one `=` string comparison, so the counts are exact.
TEST_CASE("PatternSet: clause bits across words and patterns with more than 64 clauses", "[optimised]") {
  auto conjunction = [](std::size_t from, std::size_t count) {
    std::string p = "{";
    for (std::size_t k = from; k < from + count; ++k) p += fmt::format("{}$.k{}=v{}", k == from ? "" : "&&", k, k);
    return p + "}";
  };
  auto event_with = [](std::size_t count, std::size_t missing) {
    std::string e = "{";
    for (std::size_t k = 0; k < count; ++k)
      e += fmt::format("{}\"k{}\":\"{}\"", k ? "," : "", k, k == missing ? std::string("other") : fmt::format("v{}", k));
    return e + "}";
  };
  // 40 + 30 straddle the first word; 70 clauses need two words of their own; 1 + 63 fill one.
  const std::vector<std::pair<std::size_t, std::size_t>> shapes = {{0, 40}, {40, 30}, {0, 70}, {69, 1}, {1, 63}};
  std::vector<Pattern> patterns;
  for (const auto& [from, count] : shapes) {
    auto p = compile(conjunction(from, count));
    REQUIRE(p.ok());
    REQUIRE(p->impl().prefilter.clauses.size() == count);
    patterns.push_back(p.value());
  }
  const PatternSet set(patterns);
  std::vector<std::size_t> hits;
  std::size_t matched = 0;
  for (std::size_t missing : {std::size_t{999}, std::size_t{0}, std::size_t{39}, std::size_t{40}, std::size_t{63},
                              std::size_t{64}, std::size_t{69}}) {
    const std::string e = event_with(70, missing);
    INFO("missing k" << missing);
    std::vector<std::size_t> want;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (reference::match(patterns[i].ast(), e).matched) want.push_back(i);
    set.matching(e, hits);
    CHECK(hits == want);
    matched += want.size();
    // The same with the missing value hidden behind an escape: the decoded path decides.
    if (missing < 70) {
      std::string escaped = e;
      const std::string plain = fmt::format("\"k{}\":\"other\"", missing);
      escaped.replace(escaped.find(plain), plain.size(), fmt::format("\"k{}\":\"\\u0076{}\"", missing, missing));
      want.clear();
      for (std::size_t i = 0; i < patterns.size(); ++i)
        if (reference::match(patterns[i].ast(), escaped).matched) want.push_back(i);
      set.matching(escaped, hits);
      CHECK(hits == want);
      CHECK(want.size() == patterns.size());  // \u0076 is "v": every pattern matches again
    }
  }
  // Per event: all 5; k0 missing: 3; k39: 2; k40: 2; k63: 2; k64: 3; k69: 2.
  CHECK(matched == 5 + 3 + 2 + 2 + 2 + 3 + 2);
}

// An event in which the shared scan finds no literal and no backslash visits only the patterns
// without clauses (in order); one with a backslash visits all of them (a literal may be escaped).
TEST_CASE("PatternSet: events with no literal found still reach the patterns without clauses", "[optimised]") {
  std::vector<Pattern> patterns;
  for (const char* text : {R"({ $.eventName = "ConsoleLogin" })", R"({ $.n > 5 })", "%^\\{%", R"([a, b = "x*"])",
                           R"({ $.n > 5 && $.eventName = ConsoleLogin })", "", R"({ $.n NOT EXISTS })"}) {
    auto p = compile(text);
    REQUIRE(p.ok());
    patterns.push_back(p.value());
  }
  const PatternSet set(patterns);
  std::vector<std::size_t> hits;
  for (const char* e : {R"({"n":7})", R"({"n":3})", R"({"n":7,"eventName":"ConsoleLogin"})",
                        R"({"n":7,"eventName":"Console\u004cogin"})", R"({"n":7,"eventName":"x\"y"})", "a xyz",
                        "a b", R"({"m":"\u0041"})"}) {
    INFO(e);
    std::vector<std::size_t> want;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (reference::match(patterns[i].ast(), e).matched) want.push_back(i);
    set.matching(e, hits);
    CHECK(hits == want);
    CHECK(!want.empty());
  }
}

// A byte before the opening brace, even a UTF-8 byte order mark, makes the message not a JSON
// object for every path. (fuzz_match found the reference evaluator accepting "\xBB{...}": RapidJSON's
// Parse(str, length) drops a leading 0xEF, 0xBB and 0xBF one by one.)
TEST_CASE("a JSON event with a byte order mark or a stray byte before it is not JSON", "[optimised][json]") {
  auto p = compile("{ $.val = * }");
  REQUIRE(p.ok());
  const std::string body = R"({"val": 1, "value": 7})";
  CHECK(p->matches(body));
  CHECK(reference::match(p->ast(), body).matched);
  for (const char* prefix : {"\xEF\xBB\xBF", "\xBB", "\xEF", "\xBF", "\xEF\xBB", "\xBB\xBF"}) {
    const std::string e = prefix + body;
    INFO(e);
    CHECK_FALSE(p->matches(e));
    CHECK_FALSE(p->match(e).matched);
    CHECK_FALSE(reference::match(p->ast(), e).matched);
    CHECK(PatternSet({*p}).matching(e).empty());
  }
}
