// MetricStore: units, resolution flooring, ranges, statistic sets, retention, PutMetricData input,
// exact sums and the merge property (alarms.md §1-§2, issue 4).
#include <catch2/catch.hpp>

#include <cwfilter/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kSec = 1'000;
constexpr std::int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

const MetricKey kKey("App", "Latency", {{"Service", "api"}});

void put_value(MetricStore& s, std::int64_t ts, double v, StandardUnit unit = StandardUnit::kNone,
               int resolution = kStandardResolution, const MetricKey& key = kKey) {
  auto r = s.add_value(key, unit, ts, v, resolution);
  REQUIRE(r.ok());
  REQUIRE(r.value() == AddOutcome::kStored);
}

std::string error_of(const Result<AddOutcome, Error>& r) { return r.ok() ? "" : r.error().message; }

}  // namespace

TEST_CASE("StandardUnit names round-trip and unknown units are errors", "[metrics]") {
  for (std::size_t i = 0; i < kStandardUnitCount; ++i) {
    const auto unit = static_cast<StandardUnit>(i);
    auto parsed = parse_standard_unit(to_string(unit));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == unit);
  }
  CHECK(to_string(StandardUnit::kBytesPerSecond) == "Bytes/Second");
  CHECK(to_string(StandardUnit::kCountPerSecond) == "Count/Second");
  CHECK(to_string(StandardUnit::kNone) == "None");
  CHECK(parse_standard_unit("Microseconds").value() == StandardUnit::kMicroseconds);
  for (const char* bad : {"", "seconds", "Second", "Bytes/second", "Milliseconds ", "none"}) {
    INFO(bad);
    auto r = parse_standard_unit(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("Invalid unit") == 0);
    CHECK(r.error().message.find("Count/Second") != std::string::npos);
  }
}

TEST_CASE("MetricKey identity ignores dimension order", "[metrics]") {
  const MetricKey a("N", "M", {{"b", "2"}, {"a", "1"}});
  const MetricKey b("N", "M", {{"a", "1"}, {"b", "2"}});
  CHECK(a == b);
  CHECK(a.hash() == b.hash());
  CHECK(a.dimensions().front().name == "a");
  CHECK_FALSE(a == MetricKey("N", "M", {{"a", "1"}}));
  CHECK_FALSE(a == MetricKey("N", "M", {{"a", "1"}, {"b", "3"}}));
  CHECK_FALSE(MetricKey("ab", "c") == MetricKey("a", "bc"));
  CHECK(MetricKey("ab", "c").hash() != MetricKey("a", "bc").hash());

  CHECK_FALSE(validate_metric_key(a).has_value());
  CHECK(validate_metric_key(MetricKey("", "M")).has_value());
  CHECK(validate_metric_key(MetricKey("N", std::string(256, 'x'))).has_value());
  CHECK(validate_metric_key(MetricKey("N", "M", {{":x", "1"}})).has_value());
  CHECK(validate_metric_key(MetricKey("N", "M", {{"x", ""}})).has_value());
  CHECK(validate_metric_key(MetricKey("N", "M", {{"x", "1"}, {"x", "2"}})).has_value());
  CHECK(validate_metric_key(MetricKey("N", "M", {{"x", "caf\xc3\xa9"}})).has_value());
  std::vector<Dimension> many;
  for (int i = 0; i < 31; ++i) many.push_back({"d" + std::to_string(i), "v"});
  CHECK(validate_metric_key(MetricKey("N", "M", many)).has_value());
}

TEST_CASE("standard resolution floors to the minute, high resolution to the second", "[metrics]") {
  MetricStore s;
  put_value(s, kT0 + 10 * kSec, 1);
  put_value(s, kT0 + 50 * kSec + 999, 2);
  put_value(s, kT0 + 65 * kSec, 4);
  // Both first samples live at 00:00:00.
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + 1);
  REQUIRE(a);
  CHECK(a->sample_count == 2);
  CHECK(a->sum == 3);
  // A bucket starting within the minute does not see the minute's standard-resolution data.
  CHECK_FALSE(s.query(kKey, std::nullopt, kT0 + 30 * kSec, kT0 + kMin));
  // [00:00:30, 00:01:30) sees only the 00:01 cell.
  a = s.query(kKey, std::nullopt, kT0 + 30 * kSec, kT0 + 90 * kSec);
  REQUIRE(a);
  CHECK(a->sum == 4);

  MetricStore h;
  put_value(h, kT0 + 10 * kSec + 500, 1, StandardUnit::kNone, kHighResolution);
  put_value(h, kT0 + 50 * kSec, 2, StandardUnit::kNone, kHighResolution);
  a = h.query(kKey, std::nullopt, kT0 + 30 * kSec, kT0 + kMin);
  REQUIRE(a);
  CHECK(a->sum == 2);
  a = h.query(kKey, std::nullopt, kT0 + 10 * kSec, kT0 + 11 * kSec);  // 10.5 s -> 10 s
  REQUIRE(a);
  CHECK(a->sum == 1);
  CHECK_FALSE(h.query(kKey, std::nullopt, kT0 + 11 * kSec, kT0 + 50 * kSec));  // end exclusive
}

TEST_CASE("buckets not aligned to the clock (alarm window [16:59, 17:04))", "[metrics]") {
  MetricStore s;
  const std::int64_t t1659 = kT0 + (16 * 60 + 59) * kMin;
  for (int m = -2; m <= 6; ++m) put_value(s, t1659 + m * kMin + 30 * kSec, 1 << (m + 2));
  // Minutes 16:59 .. 17:03 = m 0..4 -> 4 + 8 + 16 + 32 + 64.
  auto a = s.query(kKey, std::nullopt, t1659, t1659 + 5 * kMin);
  REQUIRE(a);
  CHECK(a->sample_count == 5);
  CHECK(a->sum == 124);
  CHECK(a->minimum == 4);
  CHECK(a->maximum == 64);
}

TEST_CASE("a missing bucket is not a zero bucket", "[metrics]") {
  MetricStore s;
  put_value(s, kT0, 0.0);
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(a);
  CHECK(a->sum == 0);
  CHECK(a->sample_count == 1);
  CHECK_FALSE(s.query(kKey, std::nullopt, kT0 + kMin, kT0 + 2 * kMin));
  CHECK_FALSE(s.query(MetricKey("App", "Latency"), std::nullopt, kT0, kT0 + kMin));  // no dims
  CHECK_FALSE(s.query(kKey, std::nullopt, kT0 + kMin, kT0));  // empty range
}

TEST_CASE("data with different units are aggregated separately", "[metrics]") {
  MetricStore s;
  put_value(s, kT0, 5, StandardUnit::kSeconds);
  put_value(s, kT0 + kSec, 5000, StandardUnit::kMilliseconds);
  auto sec = s.query(kKey, StandardUnit::kSeconds, kT0, kT0 + kMin);
  REQUIRE(sec);
  CHECK(sec->sample_count == 1);
  CHECK(sec->sum == 5);
  auto ms = s.query(kKey, StandardUnit::kMilliseconds, kT0, kT0 + kMin);
  REQUIRE(ms);
  CHECK(ms->sum == 5000);
  // The alarms case unit-mismatch: a unit never published has no data (no conversion).
  CHECK_FALSE(s.query(kKey, StandardUnit::kMicroseconds, kT0, kT0 + kMin));
  // Without a unit: every unit together.
  auto all = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(all);
  CHECK(all->sample_count == 2);
  CHECK(all->sum == 5005);
  CHECK(s.units_with_data(kKey, kT0, kT0 + kMin) ==
        std::vector<StandardUnit>{StandardUnit::kSeconds, StandardUnit::kMilliseconds});
  CHECK(s.units_with_data(kKey, kT0 + kMin, kT0 + 2 * kMin).empty());
  CHECK(s.series_count() == 2);
  CHECK(s.keys().size() == 1);
}

TEST_CASE("Values/Counts input", "[metrics]") {
  MetricStore s;
  const double values[] = {1, 2, 3};
  const double counts[] = {2, 0, 1};
  REQUIRE(s.add_values(kKey, StandardUnit::kCount, kT0, values, counts).ok());
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(a);
  CHECK(a->sample_count == 3);  // 2 + 0 + 1
  CHECK(a->sum == 5);           // 1x2 + 3x1
  CHECK(a->minimum == 1);       // a zero count adds nothing, so 2 is not a sample
  CHECK(a->maximum == 3);
  REQUIRE(a->values);
  CHECK(*a->values == std::vector<ValueCount>{{1, 2}, {3, 1}});
  CHECK(compute(parse_statistic("p50").value(), *a) == 1.0);  // 1, 1, 3 -> rank 2

  SECTION("Counts omitted = 1 each") {
    MetricStore t;
    REQUIRE(t.add_values(kKey, StandardUnit::kCount, kT0, values, {}).ok());
    auto b = t.query(kKey, std::nullopt, kT0, kT0 + kMin);
    REQUIRE(b);
    CHECK(b->sample_count == 3);
    CHECK(b->sum == 6);
  }
  SECTION("the percentile-low-sample-ignore case: 500 samples of 500") {
    MetricStore t;
    const double v[] = {500};
    const double c[] = {500};
    REQUIRE(t.add_values(kKey, StandardUnit::kNone, kT0 + 30 * kSec, v, c).ok());
    auto b = t.query(kKey, std::nullopt, kT0, kT0 + kMin);
    REQUIRE(b);
    const Statistic p99 = parse_statistic("p99").value();
    CHECK(compute(p99, *b) == 500.0);
    CHECK(is_low_sample_count(p99, b->sample_count));
  }
  SECTION("fractional counts are summed but have no ranks") {
    MetricStore t;
    const double v[] = {2};
    const double c[] = {0.5};
    REQUIRE(t.add_values(kKey, StandardUnit::kNone, kT0, v, c).ok());
    auto b = t.query(kKey, std::nullopt, kT0, kT0 + kMin);
    REQUIRE(b);
    CHECK(b->sample_count == 0.5);
    CHECK(b->sum == 1.0);
    CHECK_FALSE(b->values);
  }
}

TEST_CASE("StatisticSet input and the percentile qualification rules", "[metrics]") {
  CHECK(qualifies_for_percentiles({1, 7, 7, 7}));        // SampleCount 1, Min = Max = Sum
  CHECK(qualifies_for_percentiles({3, 15, 5, 5}));       // Min = Max, Sum = Min x 3
  CHECK(qualifies_for_percentiles({3, 0.1 * 3, 0.1, 0.1}));
  CHECK_FALSE(qualifies_for_percentiles({2, 3, 1, 2}));  // Min != Max
  CHECK_FALSE(qualifies_for_percentiles({3, 16, 5, 5})); // Sum != Min x SampleCount
  CHECK_FALSE(qualifies_for_percentiles({1, 8, 7, 7}));
  CHECK_FALSE(qualifies_for_percentiles({2.5, 12.5, 5, 5}));  // not a whole number of samples

  // The qualification path of alarms.md §2.2 (an option: by default DECISIONS 19 drops ranks).
  MetricStoreOptions qualifying;
  qualifying.qualifying_statistic_sets_have_ranks = true;
  MetricStore s(qualifying);
  REQUIRE(s.add_statistic_set(kKey, StandardUnit::kNone, kT0, {3, 15, 5, 5}).ok());
  auto q = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(q);
  REQUIRE(q->values);
  CHECK(*q->values == std::vector<ValueCount>{{5, 3}});
  CHECK(compute(parse_statistic("p90").value(), *q) == 5.0);

  // A non-qualifying set in the next minute.
  REQUIRE(s.add_statistic_set(kKey, StandardUnit::kNone, kT0 + kMin, {2, 3, 1, 2}).ok());
  auto n = s.query(kKey, std::nullopt, kT0 + kMin, kT0 + 2 * kMin);
  REQUIRE(n);
  CHECK(n->sample_count == 2);
  CHECK(n->sum == 3);
  CHECK(n->minimum == 1);
  CHECK(n->maximum == 2);
  CHECK_FALSE(n->values);
  CHECK_FALSE(compute(parse_statistic("p50").value(), *n));
  CHECK(compute(parse_statistic("Average").value(), *n) == 1.5);
  // A bucket spanning both minutes has no percentile (DECISIONS 19), but all the standard five.
  auto both = s.query(kKey, std::nullopt, kT0, kT0 + 2 * kMin);
  REQUIRE(both);
  CHECK_FALSE(both->values);
  CHECK(both->sample_count == 5);
  CHECK(both->sum == 18);
  CHECK(both->minimum == 1);
  CHECK(both->maximum == 5);
  // Raw values in the same minute as a non-qualifying set lose their ranks too.
  put_value(s, kT0 + kMin + kSec, 4);
  auto mixed = s.query(kKey, std::nullopt, kT0 + kMin, kT0 + 2 * kMin);
  REQUIRE(mixed);
  CHECK_FALSE(mixed->values);
  CHECK(mixed->sum == 7);
}

TEST_CASE("input validation", "[metrics]") {
  MetricStore s;
  const double nan = std::nan("");
  const double inf = INFINITY;
  CHECK(error_of(s.add_value(kKey, StandardUnit::kNone, kT0, nan)).find("NaN") != std::string::npos);
  CHECK(error_of(s.add_value(kKey, StandardUnit::kNone, kT0, -inf)).find("Infinity") != std::string::npos);
  CHECK(error_of(s.add_value(kKey, StandardUnit::kNone, kT0, std::ldexp(1.0, 361))).find("2^360") != std::string::npos);
  CHECK(s.add_value(kKey, StandardUnit::kNone, kT0, std::ldexp(1.0, 360)).ok());
  CHECK(s.add_value(kKey, StandardUnit::kNone, kT0, -std::ldexp(1.0, 360)).ok());
  CHECK(error_of(s.add_value(kKey, StandardUnit::kNone, kT0, 1, 30)).find("StorageResolution") != std::string::npos);
  std::vector<double> many(151, 1.0);
  CHECK(error_of(s.add_values(kKey, StandardUnit::kNone, kT0, many, {})).find("150") != std::string::npos);
  std::vector<double> ok150(150, 1.0);
  CHECK(s.add_values(kKey, StandardUnit::kNone, kT0, ok150, {}).ok());
  const double two[] = {1, 2};
  const double one[] = {1};
  const double negative[] = {1, -1};
  const double with_nan[] = {1, nan};
  CHECK(error_of(s.add_values(kKey, StandardUnit::kNone, kT0, two, one)).find("same length") != std::string::npos);
  CHECK(error_of(s.add_values(kKey, StandardUnit::kNone, kT0, two, negative)).find("negative") != std::string::npos);
  CHECK(error_of(s.add_values(kKey, StandardUnit::kNone, kT0, with_nan, {})).find("Values[1]") != std::string::npos);
  CHECK_FALSE(s.add_values(kKey, StandardUnit::kNone, kT0, {}, {}).ok());
  CHECK(error_of(s.add_statistic_set(kKey, StandardUnit::kNone, kT0, {0, 0, 0, 0})).find("SampleCount") != std::string::npos);
  CHECK(error_of(s.add_statistic_set(kKey, StandardUnit::kNone, kT0, {1, 1, 2, 1})).find("Minimum") != std::string::npos);
  CHECK(error_of(s.add_statistic_set(kKey, StandardUnit::kNone, kT0, {1, inf, 1, 1})).find("Sum") != std::string::npos);
  // Rejected input changed nothing: 1 + 1 (the two 2^360 values cancel) + 150 samples.
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(a);
  CHECK(a->sample_count == 152);
  CHECK(a->sum == 150);  // 2^360 - 2^360 + 150 x 1, exactly
}

TEST_CASE("sums are exact, whatever the order", "[metrics]") {
  MetricStore s;
  put_value(s, kT0, 1e100);
  put_value(s, kT0, 1.0);
  put_value(s, kT0, -1e100);
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(a);
  CHECK(a->sum == 1.0);  // naive left-to-right double addition gives 0
  CHECK(a->sample_count == 3);
  // 0.1 ten times is 0.9999999999999999 with naive addition; the exact sum rounds to 1.
  MetricStore t;
  for (int i = 0; i < 10; ++i) put_value(t, kT0, 0.1);
  CHECK(t.query(kKey, std::nullopt, kT0, kT0 + kMin)->sum == 1.0);
}

TEST_CASE("retention drops old cells and refuses old data", "[metrics]") {
  MetricStore s(MetricStoreOptions{10 * kMin});
  CHECK(s.options().retention_ms == 10 * kMin);
  CHECK(s.cutoff() == std::numeric_limits<std::int64_t>::min());
  put_value(s, kT0, 1);
  put_value(s, kT0 + 5 * kMin, 2);
  const std::size_t two_cells = s.memory_usage();
  CHECK(s.cell_count() == 2);
  put_value(s, kT0 + 20 * kMin, 3);  // cutoff -> kT0 + 10 min
  CHECK(s.newest_timestamp() == kT0 + 20 * kMin);
  CHECK(s.cutoff() == kT0 + 10 * kMin);
  CHECK(s.cell_count() == 1);
  CHECK_FALSE(s.query(kKey, std::nullopt, kT0, kT0 + 10 * kMin));
  auto late = s.add_value(kKey, StandardUnit::kNone, kT0 + 9 * kMin, 5);
  REQUIRE(late.ok());
  CHECK(late.value() == AddOutcome::kExpired);
  auto kept = s.add_value(kKey, StandardUnit::kNone, kT0 + 10 * kMin, 5);
  CHECK(kept.value() == AddOutcome::kStored);
  CHECK(s.cell_count() == 2);
  CHECK(s.memory_usage() <= two_cells + 64);

  // Memory stays bounded by retention however many events arrive.
  MetricStore bounded(MetricStoreOptions{10 * kMin});
  std::size_t peak_cells = 0;
  for (int i = 0; i < 5000; ++i) {
    put_value(bounded, kT0 + i * 15 * kSec, i % 7);
    peak_cells = std::max(peak_cells, bounded.cell_count());
  }
  CHECK(peak_cells <= 11);

  SECTION("expire_before raises the floor") {
    s.expire_before(kT0 + 15 * kMin);
    CHECK(s.cutoff() == kT0 + 15 * kMin);
    CHECK(s.cell_count() == 1);
    CHECK(s.add_value(kKey, StandardUnit::kNone, kT0 + 14 * kMin, 1).value() == AddOutcome::kExpired);
    s.expire_before(kT0);  // never lowers
    CHECK(s.cutoff() == kT0 + 15 * kMin);
  }
}

TEST_CASE("PutMetricData JSON input", "[metrics]") {
  const char* json = R"({
    "Namespace": "App",
    "MetricData": [
      {"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}],
       "Timestamp": "2026-01-01T00:00:30Z", "Value": 7, "Unit": "Milliseconds"},
      {"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}],
       "Timestamp": 1767225650, "Values": [1, 3], "Counts": [2, 1], "Unit": "Milliseconds"},
      {"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}],
       "Timestamp": "2026-01-01T01:01:05+01:00", "Unit": "Milliseconds",
       "StatisticValues": {"SampleCount": 2, "Sum": 30, "Minimum": 10, "Maximum": 20}},
      {"MetricName": "Hits", "Timestamp": "2026-01-01T00:00:01.500Z", "Value": 1,
       "StorageResolution": 1}
    ]})";
  auto req = parse_put_metric_data(json);
  INFO((req ? std::string() : req.error().message));
  REQUIRE(req.ok());
  REQUIRE(req->metric_data.size() == 4);
  CHECK(req->metric_namespace == "App");
  CHECK(req->metric_data[0].timestamp_ms == kT0 + 30 * kSec);
  CHECK(req->metric_data[1].timestamp_ms == kT0 + 50 * kSec);
  CHECK(req->metric_data[2].timestamp_ms == kT0 + 65 * kSec);  // +01:00 offset
  CHECK(req->metric_data[3].timestamp_ms == kT0 + 1500);
  CHECK(req->metric_data[3].storage_resolution == 1);
  CHECK(req->metric_data[3].unit == StandardUnit::kNone);

  MetricStore s;
  auto stored = s.put(req.value());
  REQUIRE(stored.ok());
  CHECK(stored.value() == 4);
  auto m0 = s.query(kKey, StandardUnit::kMilliseconds, kT0, kT0 + kMin);
  REQUIRE(m0);
  CHECK(m0->sample_count == 4);  // 7, 1, 1, 3
  CHECK(m0->sum == 12);
  REQUIRE(m0->values);
  CHECK(*m0->values == std::vector<ValueCount>{{1, 2}, {3, 1}, {7, 1}});
  auto m1 = s.query(kKey, StandardUnit::kMilliseconds, kT0 + kMin, kT0 + 2 * kMin);
  REQUIRE(m1);
  CHECK(m1->average() == 15);
  CHECK_FALSE(m1->values);
  CHECK_FALSE(s.query(kKey, StandardUnit::kNone, kT0, kT0 + kMin));
  auto hits = s.query(MetricKey("App", "Hits"), std::nullopt, kT0 + kSec, kT0 + 2 * kSec);
  REQUIRE(hits);
  CHECK(hits->sum == 1);

  SECTION("a bare MetricDatum array takes the default namespace") {
    PutMetricDataParseOptions opts;
    opts.default_namespace = "Other";
    opts.receipt_time_ms = kT0;
    auto r = parse_put_metric_data(R"([{"MetricName": "M", "Value": 2}])", opts);
    REQUIRE(r.ok());
    CHECK(r->metric_namespace == "Other");
    CHECK(r->metric_data[0].timestamp_ms == kT0);
    CHECK_FALSE(parse_put_metric_data(R"([{"MetricName": "M", "Value": 2}])").ok());
  }
}

TEST_CASE("PutMetricData JSON validation errors", "[metrics]") {
  auto error = [](const std::string& data, const PutMetricDataParseOptions& opts = {}) {
    auto r = parse_put_metric_data(R"({"Namespace": "N", "MetricData": [)" + data + "]}", opts);
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  const std::string ts = R"("MetricName": "M", "Timestamp": "2026-01-01T00:00:00Z", )";
  CHECK(error("{" + ts + R"("Value": NaN})").find("MetricData[0].Value: NaN") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": "NaN"})").find("NaN") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": Infinity})").find("Infinity") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1e300})").find("2^360") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1, "Unit": "Secs"})").find("Invalid unit 'Secs'") != std::string::npos);
  CHECK(error("{" + ts + R"("Values": [1, 2], "Counts": [1]})").find("same length") != std::string::npos);
  CHECK(error("{" + ts + R"("Values": [1], "Counts": [-1]})").find("negative") != std::string::npos);
  std::string many = "[";
  for (int i = 0; i < 151; ++i) many += (i ? ",1" : "1");
  many += "]";
  CHECK(error("{" + ts + R"("Values": )" + many + "}").find("at most 150") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1, "Values": [1]})").find("exactly one of") != std::string::npos);
  CHECK(error(R"({"MetricName": "M", "Timestamp": 0})").find("exactly one of") != std::string::npos);
  CHECK(error(R"({"Timestamp": 0, "Value": 1})").find("MetricName is required") != std::string::npos);
  CHECK(error(R"({"MetricName": "M", "Value": 1})").find("Timestamp is required") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1, "Colour": 1})").find("MetricData[0].Colour: unknown field") != std::string::npos);
  CHECK(error(R"({"MetricName": "M", "Timestamp": "yesterday", "Value": 1})").find("ISO-8601") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1, "StorageResolution": 30})").find("1 or 60") != std::string::npos);
  CHECK(error("{" + ts + R"("StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1}})").find("Maximum is required") != std::string::npos);
  CHECK(error("{" + ts + R"("StatisticValues": {"SampleCount": 0, "Sum": 1, "Minimum": 1, "Maximum": 1}})").find("SampleCount") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1, "Dimensions": [{"Name": "a", "Value": ""}]})").find("MetricData[0]: Dimension") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1}, {)" + ts + R"("Value": 2, "Unit": 3})").find("MetricData[1].Unit") != std::string::npos);
  CHECK(error("{" + ts + R"("Value": 1})") == "(accepted)");
  CHECK_FALSE(parse_put_metric_data("{").ok());
  CHECK_FALSE(parse_put_metric_data(R"({"Namespace": "N"})").ok());
  PutMetricDataParseOptions strict;
  strict.reject_reserved_namespace = true;
  CHECK_FALSE(parse_put_metric_data(R"({"Namespace": "AWS/EC2", "MetricData": []})", strict).ok());
  CHECK(parse_put_metric_data(R"({"Namespace": "AWS/EC2", "MetricData": []})").ok());
}

TEST_CASE("put() is all or nothing", "[metrics]") {
  PutMetricDataRequest req;
  req.metric_namespace = "App";
  MetricDatum good;
  good.metric_name = "M";
  good.timestamp_ms = kT0;
  good.value = 1;
  MetricDatum bad = good;
  bad.value = std::nan("");
  req.metric_data = {good, bad};
  MetricStore s;
  auto r = s.put(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("MetricData[1]") == 0);
  CHECK(s.cell_count() == 0);
}

// ---------------------------------------------------------------------------------------------
// Property: merge(store(A), store(B)) == store(A + B) for random streams and random splits.

namespace {

struct Event {
  int kind;  // 0 value, 1 values/counts, 2 statistic set
  MetricKey key;
  StandardUnit unit;
  std::int64_t ts;
  int resolution;
  std::vector<double> values;
  std::vector<double> counts;
  StatisticSet set;
};

void apply(MetricStore& s, const Event& e) {
  Result<AddOutcome, Error> r = AddOutcome::kStored;
  if (e.kind == 0) r = s.add_value(e.key, e.unit, e.ts, e.values[0], e.resolution);
  if (e.kind == 1) r = s.add_values(e.key, e.unit, e.ts, e.values, e.counts, e.resolution);
  if (e.kind == 2) r = s.add_statistic_set(e.key, e.unit, e.ts, e.set, e.resolution);
  REQUIRE(r.ok());
}

std::vector<Event> random_stream(std::mt19937_64& rng, bool dyadic) {
  const MetricKey keys[] = {MetricKey("N", "A"), MetricKey("N", "A", {{"d", "1"}}),
                            MetricKey("N", "B", {{"d", "2"}, {"c", "x"}})};
  const StandardUnit units[] = {StandardUnit::kNone, StandardUnit::kSeconds, StandardUnit::kCount};
  std::uniform_int_distribution<int> n_events(1, 120);
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_int_distribution<std::int64_t> ts(0, 90 * kMin);
  std::uniform_real_distribution<double> real(-1e3, 1e3);
  std::uniform_int_distribution<int> small(0, 64);
  auto value = [&]() {
    // Dyadic values (multiples of 1/8 below 2^10) add exactly in any order: a naive reference.
    if (dyadic) return small(rng) / 8.0;
    switch (pick(rng) % 4) {
      case 0: return real(rng);
      case 1: return real(rng) * 1e12;
      case 2: return static_cast<double>(small(rng));
      default: return real(rng) * 1e-9;
    }
  };
  std::vector<Event> out;
  const int n = n_events(rng);
  for (int i = 0; i < n; ++i) {
    Event e{0, keys[pick(rng) % 3], units[pick(rng) % 3], kT0 + ts(rng),
            pick(rng) < 20 ? kHighResolution : kStandardResolution, {}, {}, {}};
    const int r = pick(rng);
    if (r < 60) {
      e.kind = 0;
      e.values = {value()};
    } else if (r < 85) {
      e.kind = 1;
      const int k = 1 + pick(rng) % 5;
      for (int j = 0; j < k; ++j) {
        e.values.push_back(value());
        e.counts.push_back(static_cast<double>(pick(rng) % 4));
      }
      if (!dyadic && pick(rng) < 10) e.counts[0] = 0.25;  // fractional count
    } else {
      e.kind = 2;
      const double v = value();
      const double c = 1 + pick(rng) % 4;
      if (pick(rng) < 50) {
        e.set = {c, v * c, v, v};  // qualifies
      } else {
        const double w = v + 1;
        e.set = {c + 1, v * c + w, v, w};  // does not qualify
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_CASE("merge(store(A), store(B)) == store(A + B) for random splits", "[metrics]") {
  std::mt19937_64 rng(20261129);
  std::uniform_int_distribution<int> pick(0, 99);
  const MetricKey probe_keys[] = {MetricKey("N", "A"), MetricKey("N", "A", {{"d", "1"}}),
                                  MetricKey("N", "B", {{"c", "x"}, {"d", "2"}})};
  const std::optional<StandardUnit> probe_units[] = {std::nullopt, StandardUnit::kNone,
                                                     StandardUnit::kSeconds, StandardUnit::kCount};
  for (int iter = 0; iter < 400; ++iter) {
    INFO("iteration " << iter);
    const auto events = random_stream(rng, false);
    // Retention shorter than the stream's span in some iterations, so eviction takes part.
    const MetricStoreOptions opts{pick(rng) < 50 ? 45 * kMin : 15LL * 24 * 60 * kMin};
    MetricStore whole(opts), a(opts), b(opts);
    const bool interleave = pick(rng) < 50;
    const std::size_t split = std::uniform_int_distribution<std::size_t>(0, events.size())(rng);
    for (std::size_t i = 0; i < events.size(); ++i) {
      apply(whole, events[i]);
      const bool to_a = interleave ? pick(rng) < 50 : i < split;
      apply(to_a ? a : b, events[i]);
    }
    MetricStore merged = a;
    merged.merge(b);
    CHECK(merged == whole);
    MetricStore merged_other_way = b;
    merged_other_way.merge(a);
    CHECK(merged_other_way == whole);
    CHECK(merged.cell_count() == whole.cell_count());
    CHECK(merged.series_count() == whole.series_count());
    // Queries over random ranges agree exactly (bit for bit).
    for (int q = 0; q < 8; ++q) {
      const std::int64_t start = kT0 + std::uniform_int_distribution<std::int64_t>(-kMin, 90 * kMin)(rng);
      const std::int64_t end = start + std::uniform_int_distribution<std::int64_t>(1, 30 * kMin)(rng);
      const auto& key = probe_keys[pick(rng) % 3];
      const auto& unit = probe_units[pick(rng) % 4];
      CHECK(merged.query(key, unit, start, end) == whole.query(key, unit, start, end));
    }
  }
  // The comparison can fail: one extra sample breaks equality.
  MetricStore x, y;
  REQUIRE(x.add_value(kKey, StandardUnit::kNone, kT0, 1).ok());
  REQUIRE(y.add_value(kKey, StandardUnit::kNone, kT0, 1).ok());
  CHECK(x == y);
  REQUIRE(y.add_value(kKey, StandardUnit::kNone, kT0, 1e-300).ok());
  CHECK_FALSE(x == y);  // sum differs by 1e-300: exact comparison sees it
}

TEST_CASE("store queries agree with a naive reference on exactly-summable data", "[metrics]") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> pick(0, 99);
  for (int iter = 0; iter < 300; ++iter) {
    INFO("iteration " << iter);
    const auto events = random_stream(rng, true);
    MetricStore s;
    for (const auto& e : events) apply(s, e);
    const MetricKey key = events[pick(rng) % events.size()].key;
    const std::int64_t start = kT0 + std::uniform_int_distribution<std::int64_t>(0, 80 * kMin)(rng);
    const std::int64_t end = start + std::uniform_int_distribution<std::int64_t>(1, 20 * kMin)(rng);
    const std::optional<StandardUnit> unit =
        pick(rng) < 50 ? std::nullopt : std::optional<StandardUnit>(events[0].unit);
    // Reference, straight from the events.
    double count = 0, sum = 0, mn = INFINITY, mx = -INFINITY;
    bool raw = true, any = false;
    std::map<double, std::uint64_t> values;
    for (const auto& e : events) {
      if (!(e.key == key) || (unit && e.unit != *unit)) continue;
      const std::int64_t step = e.resolution == 1 ? kSec : kMin;
      const std::int64_t eff = e.ts - (e.ts % step);
      if (eff < start || eff >= end) continue;
      if (e.kind == 0 || e.kind == 1) {
        for (std::size_t i = 0; i < e.values.size(); ++i) {
          const double c = e.kind == 0 ? 1 : e.counts[i];
          if (c == 0) continue;
          any = true;
          count += c;
          sum += c * e.values[i];
          mn = std::min(mn, e.values[i]);
          mx = std::max(mx, e.values[i]);
          values[e.values[i]] += static_cast<std::uint64_t>(c);
        }
        if (e.kind == 1 && std::all_of(e.counts.begin(), e.counts.end(), [](double c) { return c == 0; }))
          continue;
      } else {
        any = true;
        count += e.set.sample_count;
        sum += e.set.sum;
        mn = std::min(mn, e.set.minimum);
        mx = std::max(mx, e.set.maximum);
        // DECISIONS 19 (the store's default): a statistic set never carries ranks.
        constexpr bool kSetsKeepRanks = false;
        if (kSetsKeepRanks && e.set.minimum == e.set.maximum && e.set.minimum * e.set.sample_count == e.set.sum) {
          values[e.set.minimum] += static_cast<std::uint64_t>(e.set.sample_count);
        } else {
          raw = false;
        }
      }
    }
    const auto got = s.query(key, unit, start, end);
    REQUIRE(got.has_value() == any);
    if (!any) continue;
    CHECK(got->sample_count == count);
    CHECK(got->sum == sum);
    CHECK(got->minimum == mn);
    CHECK(got->maximum == mx);
    REQUIRE(got->values.has_value() == raw);
    if (raw) {
      std::vector<ValueCount> expected;
      for (const auto& [v, c] : values) expected.push_back({v, c});
      CHECK(*got->values == expected);
    }
  }
}

TEST_CASE("many distinct values in one cell keep an exact multiset", "[metrics]") {
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<int> v(0, 2000);
  std::map<double, std::uint64_t> expected;
  MetricStore s;
  for (int i = 0; i < 20000; ++i) {
    const double x = v(rng) / 4.0;
    ++expected[x];
    put_value(s, kT0 + (i % 60) * kSec, x);
    if (i % 7 == 0) put_value(s, kT0 + kMin, x);  // a second cell, merged at query time
    if (i % 7 == 0) ++expected[x];
  }
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + 2 * kMin);
  REQUIRE(a);
  REQUIRE(a->values);
  std::vector<ValueCount> want;
  for (const auto& [x, c] : expected) want.push_back({x, c});
  CHECK(*a->values == want);
  // Without values: the same five statistics, no multiset.
  auto lean = s.query(kKey, std::nullopt, kT0, kT0 + 2 * kMin, false);
  REQUIRE(lean);
  CHECK_FALSE(lean->values);
  CHECK(lean->sum == a->sum);
  CHECK(lean->sample_count == a->sample_count);
  // Merging a copy with itself doubles every count.
  MetricStore twice = s;
  twice.merge(s);
  auto d = twice.query(kKey, std::nullopt, kT0, kT0 + 2 * kMin);
  REQUIRE(d);
  REQUIRE(d->values);
  CHECK(d->values->size() == want.size());
  CHECK(d->values->front().count == 2 * want.front().count);
  CHECK(d->sample_count == 2 * a->sample_count);
}

TEST_CASE("default: statistic sets never carry ranks (DECISIONS 19); option: qualifying ones do", "[metrics]") {
  MetricStoreOptions strict;
  strict.qualifying_statistic_sets_have_ranks = false;
  MetricStore s(strict);
  REQUIRE(s.add_statistic_set(kKey, StandardUnit::kNone, kT0, {3, 15, 5, 5}).ok());
  auto a = s.query(kKey, std::nullopt, kT0, kT0 + kMin);
  REQUIRE(a);
  CHECK_FALSE(a->values);
  CHECK(a->sum == 15);
  CHECK_FALSE(compute(parse_statistic("p50").value(), *a));
  MetricStoreOptions qualifying;
  qualifying.qualifying_statistic_sets_have_ranks = true;
  MetricStore lenient(qualifying);
  REQUIRE(lenient.add_statistic_set(kKey, StandardUnit::kNone, kT0, {3, 15, 5, 5}).ok());
  CHECK(compute(parse_statistic("p50").value(), *lenient.query(kKey, std::nullopt, kT0, kT0 + kMin)) == 5.0);
}
