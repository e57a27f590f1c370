// CloudWatch statistics (alarms.md §2.2-§2.3, DECISIONS 19) on small multisets checked by hand.
#include <catch2/catch.hpp>

#include <cwfilter/metrics.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

Statistic stat(const std::string& name) {
  auto r = parse_statistic(name);
  INFO(name << ": " << (r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

// An aggregate of raw samples (value, count), as the store would return it.
Aggregate raw(std::vector<ValueCount> values) {
  Aggregate a;
  a.minimum = values.front().value;
  a.maximum = values.back().value;
  for (const auto& vc : values) {
    a.sample_count += static_cast<double>(vc.count);
    a.sum += vc.value * static_cast<double>(vc.count);
  }
  a.values = std::move(values);
  return a;
}

std::optional<double> calc(const std::string& name, const Aggregate& a) {
  return compute(stat(name), a);
}

// 1, 2, ..., n once each.
Aggregate one_to(int n) {
  std::vector<ValueCount> v;
  for (int i = 1; i <= n; ++i) v.push_back({static_cast<double>(i), 1});
  return raw(v);
}

}  // namespace

TEST_CASE("standard statistics of 1..10", "[statistics]") {
  const Aggregate a = one_to(10);
  CHECK(calc("SampleCount", a) == 10.0);
  CHECK(calc("Sum", a) == 55.0);       // 1+...+10
  CHECK(calc("Average", a) == 5.5);    // 55 / 10
  CHECK(calc("Minimum", a) == 1.0);
  CHECK(calc("Maximum", a) == 10.0);
}

TEST_CASE("nearest-rank percentiles of 1..10", "[statistics]") {
  const Aggregate a = one_to(10);
  CHECK(calc("p50", a) == 5.0);     // rank ceil(0.5 x 10) = 5
  CHECK(calc("p90", a) == 9.0);     // rank 9
  CHECK(calc("p95", a) == 10.0);    // rank ceil(9.5) = 10
  CHECK(calc("p10", a) == 1.0);     // rank 1
  CHECK(calc("p0", a) == 1.0);      // rank max(1, 0) = 1: the minimum
  CHECK(calc("p0.0", a) == 1.0);
  CHECK(calc("p100", a) == 10.0);   // rank 10: the maximum
  CHECK(calc("p55.5", a) == 6.0);   // rank ceil(5.55) = 6
  CHECK(calc("p20", a) == 2.0);     // rank exactly 2
  // 0.7 x 10 is 7.000000000000001 in doubles: a floating-point rank would give rank 8.
  CHECK(calc("p70", a) == 7.0);
  CHECK(calc("p99.9999999999", a) == 10.0);  // rank ceil(9.999999999999) = 10
  CHECK(calc("p0.0000000001", a) == 1.0);     // rank ceil(1e-11) = 1
}

TEST_CASE("percentile ranks are computed exactly", "[statistics]") {
  const Aggregate a = one_to(100);
  // 0.07 x 100 = 7.000000000000001 and 0.14 x 100 = 14.000000000000002 in doubles.
  CHECK(calc("p7", a) == 7.0);
  CHECK(calc("p14", a) == 14.0);
  CHECK(calc("p29", a) == 29.0);      // 0.29 x 100 = 28.999999999999996 in doubles
  CHECK(calc("p99.5", a) == 100.0);   // ceil(99.5)
  CHECK(calc("p0.5", a) == 1.0);      // ceil(0.5)
}

TEST_CASE("trimmed statistics of 1..10", "[statistics]") {
  const Aggregate a = one_to(10);
  // tm90 = TM(:90%): cut at 9 -> samples 1..9, sum 45, count 9.
  CHECK(calc("tm90", a) == 5.0);
  CHECK(calc("tc90", a) == 9.0);
  CHECK(calc("ts90", a) == 45.0);
  // TM(10%:90%): cut (1, 9] -> 2..9, sum 44, count 8.
  CHECK(calc("TM(10%:90%)", a) == 5.5);
  CHECK(calc("TC(10%:90%)", a) == 8.0);
  CHECK(calc("TS(10%:90%)", a) == 44.0);
  // IQM = TM(25%:75%): cut at 2.5 and 7.5: half of 3, all of 4..7, half of 8:
  // count 0.5 + 4 + 0.5 = 5, sum 1.5 + 22 + 4 = 27.5, mean 5.5.
  CHECK(calc("IQM", a) == 5.5);
  CHECK(calc("TC(25%:75%)", a) == 5.0);
  CHECK(calc("TS(25%:75%)", a) == 27.5);
  // Absolute boundaries: lower exclusive, upper inclusive: TM(3:8) keeps 4..8 (sum 30, count 5).
  CHECK(calc("TM(3:8)", a) == 6.0);
  CHECK(calc("TC(3:8)", a) == 5.0);
  CHECK(calc("TS(3:8)", a) == 30.0);
  CHECK(calc("TC(:3)", a) == 3.0);    // 1, 2, 3
  CHECK(calc("TC(8:)", a) == 2.0);    // 9, 10
  // Nothing inside: TM has no value, TC and TS are 0.
  CHECK_FALSE(calc("TM(100:200)", a).has_value());
  CHECK(calc("TC(100:200)", a) == 0.0);
  CHECK(calc("TS(100:200)", a) == 0.0);
  // Mixed: above the value 2 and within the lowest 50% (cut at rank 5): 3, 4, 5.
  CHECK(calc("TS(2:50%)", a) == 12.0);
}

TEST_CASE("winsorized means of 1..10", "[statistics]") {
  const Aggregate a = one_to(10);
  // wm90: the sample above rank 9 (10) takes P90 = 9: (45 + 9) / 10 = 5.4.
  CHECK(calc("wm90", a) == Approx(5.4).epsilon(0));
  CHECK(calc("wm90", a) == 54.0 / 10.0);
  // WM(10%:90%): 1 stays 1 (P10 = 1), 10 becomes 9: (1 + 44 + 9) / 10.
  CHECK(calc("WM(10%:90%)", a) == 54.0 / 10.0);
  // WM(2:5) clamps to [2, 5]: 2+2+3+4+5+5x5 = 41.
  CHECK(calc("WM(2:5)", a) == 41.0 / 10.0);
  CHECK(calc("wm100", a) == 5.5);  // nothing clamped
}

TEST_CASE("percentile ranks PR(a:b)", "[statistics]") {
  const Aggregate a = one_to(10);
  CHECK(calc("PR(:3)", a) == 30.0);    // 1, 2, 3
  CHECK(calc("PR(3:8)", a) == 50.0);   // 4..8
  CHECK(calc("PR(0:10)", a) == 100.0);
  CHECK(calc("PR(10:)", a) == 0.0);    // lower boundary is exclusive
  CHECK(calc("PR(0.5:1)", a) == 10.0);
}

TEST_CASE("statistics of a multiset with repeated values", "[statistics]") {
  // 1, 1, 1, 5, 10, 10, 100 (n = 7, sum 3 + 5 + 20 + 100 = 128).
  const Aggregate b = raw({{1, 3}, {5, 1}, {10, 2}, {100, 1}});
  CHECK(calc("SampleCount", b) == 7.0);
  CHECK(calc("Sum", b) == 128.0);
  CHECK(calc("p50", b) == 5.0);     // rank ceil(3.5) = 4
  CHECK(calc("p90", b) == 100.0);   // rank ceil(6.3) = 7
  CHECK(calc("p85", b) == 10.0);    // rank ceil(5.95) = 6
  CHECK(calc("p42", b) == 1.0);     // rank ceil(2.94) = 3
  // tm90: cut at 6.3: ranks 1..6 (sum 28) and 0.3 of the 100 (30): sum 58, count 6.3.
  CHECK(calc("tc90", b) == Approx(6.3));
  CHECK(calc("ts90", b) == Approx(58.0));
  CHECK(calc("tm90", b) == Approx(58.0 / 6.3));
  // TS = TM x TC (AWS's definition).
  CHECK(*calc("ts90", b) == Approx(*calc("tm90", b) * *calc("tc90", b)));
  CHECK(calc("TM(1:)", b) == 125.0 / 4.0);  // 5, 10, 10, 100
  CHECK(calc("TC(1:10)", b) == 3.0);        // 5, 10, 10
  CHECK(calc("TM(:100)", b) == 128.0 / 7.0);  // upper boundary inclusive
  CHECK(calc("PR(:1)", b) == 300.0 / 7.0);
  // WM(:50%): cut at 3.5, P50 = 5: 1+1+1 + 0.5x5 below, 3.5 x 5 above -> 23 / 7.
  CHECK(calc("WM(:50%)", b) == Approx(23.0 / 7.0));
}

TEST_CASE("percentile family needs raw, non-negative samples", "[statistics]") {
  SECTION("a negative value makes every percentile-family statistic unavailable") {
    const Aggregate a = raw({{-1, 1}, {2, 1}});
    for (const char* name : {"p50", "tm90", "wm90", "tc90", "ts90", "IQM", "PR(:1)", "TC(0:5)"}) {
      INFO(name);
      CHECK_FALSE(calc(name, a).has_value());
    }
    CHECK(calc("Sum", a) == 1.0);
    CHECK(calc("Minimum", a) == -1.0);
    CHECK(calc("Average", a) == 0.5);
  }
  SECTION("zero is not negative") {
    const Aggregate a = raw({{0, 2}, {4, 2}});
    CHECK(calc("p50", a) == 0.0);
    CHECK(calc("p51", a) == 4.0);
  }
  SECTION("no raw values (non-qualifying statistic set)") {
    Aggregate a;
    a.sample_count = 2;
    a.sum = 3;
    a.minimum = 1;
    a.maximum = 2;
    CHECK_FALSE(calc("p50", a).has_value());
    CHECK_FALSE(calc("TC(:5)", a).has_value());
    CHECK(calc("Average", a) == 1.5);
    CHECK(calc("Maximum", a) == 2.0);
  }
}

TEST_CASE("parse_statistic accepts the documented names", "[statistics]") {
  using K = Statistic::Kind;
  CHECK(stat("SampleCount").kind == K::kSampleCount);
  CHECK(stat("Sum").kind == K::kSum);
  CHECK(stat("Average").kind == K::kAverage);
  CHECK(stat("Minimum").kind == K::kMinimum);
  CHECK(stat("Maximum").kind == K::kMaximum);
  CHECK_FALSE(stat("Average").is_extended());

  const Statistic p = stat("p99.9");
  CHECK(p.kind == K::kPercentile);
  CHECK(p.is_extended());
  REQUIRE(p.upper);
  CHECK(p.upper->percent);
  CHECK(p.upper->percent_e10 == 999'000'000'000ULL);
  CHECK_FALSE(p.lower);

  const Statistic iqm = stat("IQM");
  CHECK(iqm.kind == K::kTrimmedMean);
  CHECK(iqm.lower->percent_e10 == 250'000'000'000ULL);
  CHECK(iqm.upper->percent_e10 == 750'000'000'000ULL);

  const Statistic tm = stat("TM(150:1000)");
  CHECK(tm.kind == K::kTrimmedMean);
  CHECK_FALSE(tm.lower->percent);
  CHECK(tm.lower->value == 150.0);
  CHECK(tm.upper->value == 1000.0);

  const Statistic tc = stat("TC(0.005:0.030)");
  CHECK(tc.kind == K::kTrimmedCount);
  CHECK(tc.lower->value == 0.005);
  CHECK(tc.upper->value == 0.030);

  CHECK(stat("tm99").upper->percent_e10 == 990'000'000'000ULL);
  CHECK(stat("wm98").kind == K::kWinsorizedMean);
  CHECK(stat("ts90").kind == K::kTrimmedSum);
  CHECK(stat("TS(80%:)").lower->percent_e10 == 800'000'000'000ULL);
  CHECK_FALSE(stat("TS(80%:)").upper);
  CHECK(stat("PR(:300)").kind == K::kPercentileRank);
  CHECK(stat("PR(100:2000)").lower->value == 100.0);
  CHECK(stat("p95.0123456789").upper->percent_e10 == 950'123'456'789ULL);
  CHECK(stat("p99.9").name == "p99.9");
}

TEST_CASE("parse_statistic rejects malformed names", "[statistics]") {
  for (const char* bad : {"", "average", "SUM", "P99", "p", "p101", "p100.1", "p99.12345678901",
                          "p-1", "p99.", "p.5", "p 99", "tm", "tm101", "TM99", "TM(10%:90%",
                          "TM(:)", "TM(90%:10%)", "TM(50%:50%)", "TM(200:100)", "TM(10%;90%)",
                          "TM(a:b)", "PR(10%:20%)", "TM(10%%:20%)", "TC(101%:)", "IQM2", "xyz",
                          "Tm(1:2)"}) {
    INFO("'" << bad << "'");
    auto r = parse_statistic(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().message.find("Invalid statistic") == 0);
  }
}

TEST_CASE("PutMetricAlarm ExtendedStatistic restrictions", "[statistics]") {
  auto alarm_ok = [](const std::string& name) {
    return !validate_alarm_extended_statistic(stat(name)).has_value();
  };
  for (const char* good : {"p90", "p99.9", "p0.0", "p100", "tm90", "tc90", "ts90", "wm90", "IQM",
                           "PR(100:2000)", "PR(:300)", "TM(10%:90%)", "TC(10%:90%)",
                           "TS(25%:75%)", "WM(10.5%:89.5%)"}) {
    INFO(good);
    CHECK(alarm_ok(good));
  }
  for (const char* bad : {"Sum", "Average", "TM(5%:95%)", "TM(10%:91%)", "TM(150:1000)",
                          "TC(10%:)", "WM(:90%)", "TS(10%:500)"}) {
    INFO(bad);
    CHECK_FALSE(alarm_ok(bad));
  }
}

TEST_CASE("low-sample-count thresholds (alarms.md 2.3)", "[statistics]") {
  CHECK(low_sample_count_threshold(stat("p99")) == 1000.0);   // 10 / (1 - 0.99)
  CHECK(low_sample_count_threshold(stat("p90")) == 100.0);    // 10 / 0.1
  CHECK(low_sample_count_threshold(stat("p50")) == 20.0);     // 10 / 0.5
  CHECK(low_sample_count_threshold(stat("p10")) == 100.0);    // 10 / 0.1 (p < 0.5)
  CHECK(low_sample_count_threshold(stat("p99.9")) == Approx(10000.0));
  CHECK_FALSE(low_sample_count_threshold(stat("p0")).has_value());
  CHECK_FALSE(low_sample_count_threshold(stat("p100")).has_value());
  CHECK_FALSE(low_sample_count_threshold(stat("tm99")).has_value());
  CHECK_FALSE(low_sample_count_threshold(stat("Average")).has_value());

  // The case percentile-low-sample-ignore: 500 samples for p99 is low.
  CHECK(is_low_sample_count(stat("p99"), 500));
  CHECK(is_low_sample_count(stat("p99"), 999));
  CHECK_FALSE(is_low_sample_count(stat("p99"), 1000));  // 10/(1-0.99) is 1000.0000000000009 in doubles
  CHECK(is_low_sample_count(stat("p10"), 99));
  CHECK_FALSE(is_low_sample_count(stat("p10"), 100));
  CHECK(is_low_sample_count(stat("p50"), 19.5));
  CHECK_FALSE(is_low_sample_count(stat("p50"), 20));
  CHECK_FALSE(is_low_sample_count(stat("Sum"), 1));
}
