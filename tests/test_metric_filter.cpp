// Metric filters: the metric_value and transformation-invalid cases of patterns.jsonl, and the
// CloudTrail corpus replayed through every CIS filter of the pattern corpus.
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/metric_filter.hpp>

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <set>

using namespace cwfilter;

namespace {
std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}
// Fills in the names a case leaves out (they do not matter to the value).
std::string complete(const rapidjson::Value& mt) {
  rapidjson::Document d;
  d.CopyFrom(mt, d.GetAllocator());
  auto add = [&](const char* k, const char* v) {
    if (d.IsObject() && !d.HasMember(k)) d.AddMember(rapidjson::StringRef(k), rapidjson::StringRef(v), d.GetAllocator());
  };
  add("metricName", "m");
  add("metricNamespace", "ns");
  if (d.IsArray())
    for (auto& e : d.GetArray()) {
      if (!e.HasMember("metricName")) e.AddMember("metricName", "m", d.GetAllocator());
      if (!e.HasMember("metricNamespace")) e.AddMember("metricNamespace", "ns", d.GetAllocator());
    }
  return to_json(d);
}
}  // namespace

TEST_CASE("patterns.jsonl metric_value cases", "[metricfilter][cases]") {
  std::size_t checked = 0;
  for (const auto& c : test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"))) {
    if (test::str(c, "family") != "metric_value") continue;
    INFO(test::str(c, "id") << " " << test::str(c, "pattern"));
    auto ts = parse_metric_transformations(complete(c["metric_transformation"]));
    REQUIRE(ts.ok());
    MetricFilterDefinition def{"f", "g", test::str(c, "pattern"), ts.value()};
    auto f = MetricFilter::create(def);
    REQUIRE(f.ok());
    auto out = f->evaluate(test::str(c, "event"), 0);
    CHECK(out.matched == c["match"].GetBool());
    if (c["value"].IsNull()) {
      CHECK_FALSE(out.datapoint.has_value());
    } else {
      REQUIRE(out.datapoint.has_value());
      CHECK(out.datapoint->value == c["value"].GetDouble());
    }
    if (c.HasMember("dimensions") && out.datapoint) {
      std::map<std::string, std::string> want, got;
      for (auto it = c["dimensions"].MemberBegin(); it != c["dimensions"].MemberEnd(); ++it)
        want[it->name.GetString()] = it->value.GetString();
      for (const auto& d : out.datapoint->key.dimensions()) got[d.name] = d.value;
      CHECK(got == want);
    }
    ++checked;
  }
  CHECK(checked >= 19);
}

TEST_CASE("patterns.jsonl invalid cases with a metric transformation", "[metricfilter][cases]") {
  std::size_t checked = 0;
  for (const auto& c : test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"))) {
    if (test::str(c, "family") != "invalid" || !c.HasMember("metric_transformation")) continue;
    INFO(test::str(c, "id") << " expected: " << test::str(c, "error"));
    auto ts = parse_metric_transformations(complete(c["metric_transformation"]));
    bool rejected = !ts.ok();
    if (!rejected) {
      auto f = MetricFilter::create(MetricFilterDefinition{"f", "g", test::str(c, "pattern"), ts.value()});
      rejected = !f.ok();
      if (!f.ok()) INFO("message: " << f.error().message);
    }
    CHECK(rejected);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("metric filter validation messages", "[metricfilter]") {
  MetricTransformation t{"m", "ns", "1", std::nullopt, {}, StandardUnit::kNone};
  auto with = [&](auto edit, std::string pattern = "{ $.a = 1 }") {
    MetricTransformation c = t;
    edit(c);
    return MetricFilter::create(pattern, c);
  };
  CHECK(with([](auto&) {}).ok());
  CHECK(with([](auto& c) { c.metric_value = "length"; }).error().message.find("must be a number") != std::string::npos);
  CHECK(with([](auto& c) { c.metric_name = "a:b"; }).error().message.find("[^:*$]*") != std::string::npos);
  CHECK(with([](auto& c) { c.metric_namespace = "A.B-c_d/1#2:ns"; }).ok());  // ':' accepted (AWS-validated)
  CHECK(with([](auto& c) { c.dimensions = {{"d", "$.a"}}; }, "ERROR").error().message ==
        "The specified filter pattern does not support dimensions");
  CHECK(with([](auto& c) { c.dimensions = {{"d", "$.a"}}; c.default_value = 0; }).error().message ==
        "Invalid metric transformation: dimensions and default value are mutually exclusive properties");
  CHECK_FALSE(with([](auto& c) { c.dimensions = {{"a", "$.a"}, {"b", "$.b"}, {"c", "$.c"}, {"d", "$.d"}}; }).ok());
  CHECK_FALSE(with([](auto& c) { c.metric_value = "$size"; }).ok());          // $name on a JSON pattern
  CHECK_FALSE(with([](auto& c) { c.metric_value = "$.size"; }, "[a, size]").ok());
  CHECK(with([](auto& c) { c.metric_value = "$size"; }, "[a, size]").ok());
  CHECK_FALSE(with([](auto& c) { c.metric_value = "$.x"; }, "ERROR").ok());
  CHECK(parse_metric_transformations(R"([{"metricName":"m","metricNamespace":"n","metricValue":"1","unit":"Bananas"}])")
            .error().message.find("StandardUnit") != std::string::npos);
  CHECK_FALSE(MetricFilter::create(MetricFilterDefinition{"f", "g", "x", {t, t}}).ok());
  CHECK_FALSE(MetricFilter::create(MetricFilterDefinition{"a:b", "g", "x", {t}}).ok());
  CHECK_FALSE(MetricFilter::create(MetricFilterDefinition{"f", "bad group!", "x", {t}}).ok());
}

TEST_CASE("metric filter evaluation: values, defaults, dimensions", "[metricfilter]") {
  MetricTransformation t{"m", "ns", "$.latency", 0.0, {}, StandardUnit::kMilliseconds};
  auto f = MetricFilter::create("{ $.latency = * }", t);
  REQUIRE(f.ok());
  auto a = f->evaluate(R"({"latency": 50})", 60000);
  REQUIRE(a.datapoint);
  CHECK(a.datapoint->value == 50);
  CHECK(a.datapoint->unit == StandardUnit::kMilliseconds);
  CHECK(a.datapoint->timestamp_ms == 60000);
  CHECK_FALSE(a.datapoint->is_default);
  auto b = f->evaluate(R"({"other": 1})", 0);  // no match: the default, once per event
  REQUIRE(b.datapoint);
  CHECK(b.datapoint->is_default);
  CHECK(b.datapoint->value == 0);
  auto c = f->evaluate(R"({"latency": "slow"})", 0);  // match, no value: nothing (DECISIONS 6)
  CHECK(c.matched);
  CHECK_FALSE(c.datapoint);
  CHECK_FALSE(c.skipped_reason.empty());
  auto d = f->evaluate(R"({"latency": "12.5"})", 0);  // a numeric string publishes its number
  REQUIRE(d.datapoint);
  CHECK(d.datapoint->value == 12.5);

  MetricTransformation u{"m", "ns", "1", std::nullopt, {{"User", "$.userIdentity.userName"}}, StandardUnit::kCount};
  auto g = MetricFilter::create(R"({ $.eventName = ConsoleLogin })", u);
  REQUIRE(g.ok());
  auto e = g->evaluate(R"({"eventName":"ConsoleLogin","userIdentity":{"userName":"alice"}})", 0);
  REQUIRE(e.datapoint);
  REQUIRE(e.datapoint->key.dimensions().size() == 1);
  CHECK(e.datapoint->key.dimensions()[0].value == "alice");
  auto h = g->evaluate(R"({"eventName":"ConsoleLogin","userIdentity":{}})", 0);
  REQUIRE(h.datapoint);
  CHECK(h.datapoint->key.dimensions().empty());  // §7.5: absent values are not published
}

// Every corpus CloudTrail event through every CIS filter of the pattern corpus (with its own
// transformation), aggregated into a MetricStore; the per-minute Sums must equal a count made here
// with the reference evaluator.
TEST_CASE("CloudTrail corpus through the CIS metric filters: per-minute sums", "[metricfilter][corpus]") {
  std::vector<LogEvent> events;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
    REQUIRE(r.ok());
    for (auto& e : r.value().events) events.push_back(std::move(e));
  }
  std::set<std::pair<std::string, std::string>> seen;
  struct Case {
    MetricFilter filter;
    double value;
    MetricStore store{MetricStoreOptions{.retention_ms = std::int64_t{1} << 60}};  // the corpus spans years
    std::map<std::int64_t, double> expected;  // minute -> sum, counted with the reference evaluator
  };
  std::vector<Case> cases;
  for (const auto& rec : test::read_jsonl(test::shared_path("corpus/patterns.jsonl"))) {
    if (test::str(rec, "kind") != "cis") continue;
    std::string pattern = test::str(rec, "pattern");
    std::string value = rec.HasMember("metric_value") && rec["metric_value"].IsString() ? test::str(rec, "metric_value") : "1";
    if (!seen.insert({pattern, value}).second) continue;
    MetricTransformation t{"CISMetric", "CISNamespace", value, std::nullopt, {}, StandardUnit::kNone};
    auto f = MetricFilter::create(MetricFilterDefinition{"cis", "CloudTrail/logs", pattern, {t}});
    if (!f.ok()) continue;  // the corpus' broken CIS patterns (see corpus_rejections.txt)
    cases.push_back(Case{std::move(f.value()), std::stod(value)});
  }
  std::size_t filters = cases.size(), datapoints = 0;
  // Events outer, filters inner: the reference evaluator parses each event once.
  for (const auto& e : events) {
    if (!e.has_timestamp) continue;
    for (auto& c : cases) {
      auto out = c.filter.evaluate(e.message, e.timestamp_ms);
      if (out.datapoint) {
        REQUIRE(c.store.add_value(out.datapoint->key, out.datapoint->unit, out.datapoint->timestamp_ms, out.datapoint->value).ok());
        ++datapoints;
      }
      if (reference::match(c.filter.pattern().ast(), e.message).matched) {
        std::int64_t minute = e.timestamp_ms - ((e.timestamp_ms % 60000) + 60000) % 60000;
        c.expected[minute] += c.value;
      }
    }
  }
  MetricKey key("CISNamespace", "CISMetric");
  for (const auto& c : cases) {
    std::size_t minutes_with_data = 0;
    for (const auto& [minute, sum] : c.expected) {
      INFO(c.filter.pattern().source() << " minute " << minute);
      auto agg = c.store.query(key, std::nullopt, minute, minute + 60000);
      REQUIRE(agg);
      CHECK(agg->sum == sum);
      ++minutes_with_data;
    }
    // Nothing was published where the reference saw no match.
    std::size_t stored_minutes = 0;
    for (const auto& e : events)
      if (e.has_timestamp && c.store.query(key, std::nullopt, e.timestamp_ms - ((e.timestamp_ms % 60000) + 60000) % 60000,
                                           e.timestamp_ms - ((e.timestamp_ms % 60000) + 60000) % 60000 + 60000))
        ++stored_minutes;
    std::size_t expected_minutes = 0;
    for (const auto& e : events)
      if (e.has_timestamp && c.expected.count(e.timestamp_ms - ((e.timestamp_ms % 60000) + 60000) % 60000)) ++expected_minutes;
    CHECK(stored_minutes == expected_minutes);
    (void)minutes_with_data;
  }
  CHECK(filters >= 100);
  CHECK(datapoints > 0);
}
