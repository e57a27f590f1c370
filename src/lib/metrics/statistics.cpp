// CloudWatch statistics over one bucket, exactly (alarms.md §2.2-§2.3, DECISIONS 19).
#include <cwfilter/metrics.hpp>

#include "metrics/exact_sum.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace cwfilter {
namespace {

using detail::ExactSum;
__extension__ typedef unsigned __int128 u128;

// Percent boundaries are stored as percent x 1e10, so a fraction p = percent_e10 / 1e12.
constexpr std::uint64_t kPercentScale = 10'000'000'000ULL;       // 1e10
constexpr std::uint64_t kFractionDen = 100 * kPercentScale;      // 1e12
constexpr std::size_t kMaxDecimals = 10;

// "NN" or "NN.DDD" (at most 10 decimals), 0..100 -> percent x 1e10.
std::optional<std::uint64_t> parse_percent(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (++int_digits > 3) return std::nullopt;
    whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
    ++i;
  }
  if (int_digits == 0) return std::nullopt;
  std::uint64_t frac = 0;
  std::size_t decimals = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++decimals > kMaxDecimals) return std::nullopt;
      frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
      ++i;
    }
    if (decimals == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  for (std::size_t d = decimals; d < kMaxDecimals; ++d) frac *= 10;
  const std::uint64_t v = whole * kPercentScale + frac;
  if (v > 100 * kPercentScale) return std::nullopt;
  return v;
}

// An absolute boundary: [-]digits[.digits][e[+-]digits].
std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  if (s[i] == '-' || s[i] == '+') ++i;
  const std::size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits_start) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t f = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == f) return std::nullopt;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t e = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == e) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
  double v = 0;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

StatisticBound percent_bound(std::uint64_t e10) {
  StatisticBound b;
  b.percent = true;
  b.percent_e10 = e10;
  b.value = static_cast<double>(e10) / static_cast<double>(kPercentScale);
  return b;
}

Error statistic_error(std::string_view text, std::string_view reason) {
  return Error{fmt::format("Invalid statistic '{}': {}", text, reason)};
}

// Nearest-rank position of a fraction p = e10 / 1e12 among n samples, as a rational scaled by
// 1e12: p x n x 1e12 / 1e12 == e10 x n. (Kept scaled so that no rounding happens.)
u128 scaled_position(std::uint64_t percent_e10, std::uint64_t n) {
  return static_cast<u128>(percent_e10) * n;
}
std::uint64_t ceil_rank(std::uint64_t percent_e10, std::uint64_t n) {
  const u128 pos = scaled_position(percent_e10, n);
  return static_cast<std::uint64_t>((pos + kFractionDen - 1) / kFractionDen);
}

// The value of the sample of 1-based rank r (1 <= r <= n).
double value_at_rank(const std::vector<ValueCount>& values, std::uint64_t r) {
  std::uint64_t cum = 0;
  for (const auto& vc : values) {
    cum += vc.count;
    if (cum >= r) return vc.value;
  }
  return values.back().value;
}

// A weight w = q + rem / 1e12, added to sums as w x v with q x v exact.
struct Weight {
  std::uint64_t whole = 0;
  std::uint64_t rem = 0;  // < 1e12
  double as_double() const {
    return static_cast<double>(whole) + static_cast<double>(rem) / static_cast<double>(kFractionDen);
  }
};
Weight to_weight(u128 scaled) {
  return Weight{static_cast<std::uint64_t>(scaled / kFractionDen),
                static_cast<std::uint64_t>(scaled % kFractionDen)};
}
void add_weighted(ExactSum& sum, const Weight& w, double v) {
  if (w.whole) sum.add_product(static_cast<double>(w.whole), v);
  if (w.rem) sum.add(v * (static_cast<double>(w.rem) / static_cast<double>(kFractionDen)));
}

struct Trimmed {
  ExactSum count;  // trimmed count (may be fractional for percent boundaries)
  ExactSum sum;    // trimmed sum
};

// Samples kept by the boundaries. Samples are laid out on the rank axis, the sample of rank r
// occupying (r-1, r]; percent boundaries cut that axis at p x n (partially covered boundary
// samples count fractionally), absolute boundaries keep a < v <= b.
Trimmed trim(const Statistic& st, const std::vector<ValueCount>& values, std::uint64_t n) {
  const u128 lo = st.lower && st.lower->percent ? scaled_position(st.lower->percent_e10, n) : 0;
  const u128 hi = st.upper && st.upper->percent ? scaled_position(st.upper->percent_e10, n)
                                                : static_cast<u128>(n) * kFractionDen;
  Trimmed out;
  u128 cum = 0;
  for (const auto& vc : values) {
    const u128 begin = cum;
    cum += static_cast<u128>(vc.count) * kFractionDen;
    const u128 end = cum;
    if (st.lower && !st.lower->percent && !(vc.value > st.lower->value)) continue;
    if (st.upper && !st.upper->percent && !(vc.value <= st.upper->value)) continue;
    const u128 a = std::max(begin, lo);
    const u128 b = std::min(end, hi);
    if (b <= a) continue;
    const Weight w = to_weight(b - a);
    if (w.whole) out.count.add(static_cast<double>(w.whole));
    if (w.rem) out.count.add(static_cast<double>(w.rem) / static_cast<double>(kFractionDen));
    add_weighted(out.sum, w, vc.value);
  }
  return out;
}

// Winsorized mean: samples below the lower boundary take its value, samples above the upper
// boundary take its value. Percent boundary values are the nearest-rank percentiles.
double winsorized_mean(const Statistic& st, const std::vector<ValueCount>& values, std::uint64_t n) {
  const u128 full = static_cast<u128>(n) * kFractionDen;
  const u128 lo = st.lower && st.lower->percent ? scaled_position(st.lower->percent_e10, n) : 0;
  const u128 hi = st.upper && st.upper->percent ? scaled_position(st.upper->percent_e10, n) : full;
  ExactSum sum;
  if (lo > 0) {
    const double edge = value_at_rank(values, std::max<std::uint64_t>(1, ceil_rank(st.lower->percent_e10, n)));
    add_weighted(sum, to_weight(lo), edge);
  }
  if (hi < full) {
    const double edge = value_at_rank(values, std::max<std::uint64_t>(1, ceil_rank(st.upper->percent_e10, n)));
    add_weighted(sum, to_weight(full - hi), edge);
  }
  u128 cum = 0;
  for (const auto& vc : values) {
    const u128 begin = cum;
    cum += static_cast<u128>(vc.count) * kFractionDen;
    const u128 a = std::max(begin, lo);
    const u128 b = std::min(cum, hi);
    if (b <= a) continue;
    double v = vc.value;
    if (st.lower && !st.lower->percent) v = std::max(v, st.lower->value);
    if (st.upper && !st.upper->percent) v = std::min(v, st.upper->value);
    add_weighted(sum, to_weight(b - a), v);
  }
  return sum.value() / static_cast<double>(n);
}

}  // namespace

Result<Statistic, Error> parse_statistic(std::string_view text) {
  Statistic st;
  st.name = std::string(text);
  using K = Statistic::Kind;
  if (text == "SampleCount") { st.kind = K::kSampleCount; return st; }
  if (text == "Sum") { st.kind = K::kSum; return st; }
  if (text == "Average") { st.kind = K::kAverage; return st; }
  if (text == "Minimum") { st.kind = K::kMinimum; return st; }
  if (text == "Maximum") { st.kind = K::kMaximum; return st; }
  if (text == "IQM") {
    st.kind = K::kTrimmedMean;
    st.lower = percent_bound(25 * kPercentScale);
    st.upper = percent_bound(75 * kPercentScale);
    return st;
  }
  if (text.empty()) return statistic_error(text, "empty");

  struct Prefix { std::string_view lower, upper; K kind; };
  static constexpr Prefix kPrefixes[] = {
      {"tm", "TM", K::kTrimmedMean}, {"wm", "WM", K::kWinsorizedMean},
      {"tc", "TC", K::kTrimmedCount}, {"ts", "TS", K::kTrimmedSum},
      {"", "PR", K::kPercentileRank},
  };
  // Lower case with one number: pNN, tmNN, wmNN, tcNN, tsNN = X(:NN%).
  if (text[0] == 'p' || text[0] == 't' || text[0] == 'w') {
    std::string_view number;
    if (text[0] == 'p') {
      st.kind = K::kPercentile;
      number = text.substr(1);
    } else {
      const Prefix* found = nullptr;
      for (const auto& p : kPrefixes)
        if (!p.lower.empty() && text.starts_with(p.lower)) found = &p;
      if (!found) return statistic_error(text, "unknown statistic");
      st.kind = found->kind;
      number = text.substr(2);
    }
    auto e10 = parse_percent(number);
    if (!e10)
      return statistic_error(text, "expected a number from 0 to 100 with at most 10 decimal places");
    st.upper = percent_bound(*e10);
    return st;
  }
  // Upper case with a range: TM(a:b), WM, TC, TS, PR.
  for (const auto& p : kPrefixes) {
    if (!text.starts_with(p.upper)) continue;
    std::string_view rest = text.substr(2);
    if (rest.size() < 3 || rest.front() != '(' || rest.back() != ')')
      return statistic_error(text, fmt::format("expected {}(lower:upper)", p.upper));
    rest = rest.substr(1, rest.size() - 2);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos)
      return statistic_error(text, "expected a ':' between the two boundaries");
    st.kind = p.kind;
    auto parse_bound = [&](std::string_view b) -> Result<std::optional<StatisticBound>, Error> {
      if (b.empty()) return std::optional<StatisticBound>();
      if (b.back() == '%') {
        if (p.kind == K::kPercentileRank)
          return statistic_error(text, "PR boundaries are metric values, not percentages");
        auto e10 = parse_percent(b.substr(0, b.size() - 1));
        if (!e10)
          return statistic_error(
              text, fmt::format("'{}' is not a percentage from 0% to 100% with at most 10 decimal places", b));
        return std::optional<StatisticBound>(percent_bound(*e10));
      }
      auto v = parse_number(b);
      if (!v) return statistic_error(text, fmt::format("'{}' is not a number", b));
      StatisticBound bound;
      bound.value = *v;
      return std::optional<StatisticBound>(bound);
    };
    auto lower = parse_bound(rest.substr(0, colon));
    if (!lower) return lower.error();
    auto upper = parse_bound(rest.substr(colon + 1));
    if (!upper) return upper.error();
    st.lower = lower.value();
    st.upper = upper.value();
    if (!st.lower && !st.upper) return statistic_error(text, "at least one boundary is required");
    if (st.lower && st.upper && st.lower->percent == st.upper->percent) {
      const bool ordered = st.lower->percent ? st.lower->percent_e10 < st.upper->percent_e10
                                             : st.lower->value < st.upper->value;
      if (!ordered)
        return statistic_error(text, "the lower boundary must be less than the upper boundary");
    }
    return st;
  }
  return statistic_error(text, "unknown statistic");
}

std::optional<Error> validate_alarm_extended_statistic(const Statistic& st) {
  auto err = [&](std::string_view reason) {
    return Error{fmt::format("Invalid ExtendedStatistic '{}': {}", st.name, reason)};
  };
  if (!st.is_extended())
    return err("SampleCount, Sum, Average, Minimum and Maximum go in Statistic, not ExtendedStatistic");
  if (st.name == "IQM") return std::nullopt;
  if (st.kind == Statistic::Kind::kPercentile) return std::nullopt;
  if (st.kind == Statistic::Kind::kPercentileRank) return std::nullopt;  // PR(n:m)
  const bool lower_case = !st.name.empty() && st.name[0] >= 'a' && st.name[0] <= 'z';
  if (lower_case) return std::nullopt;  // tm90, tc90, ts90, wm90
  // TC/TM/TS/WM(X%:X%) with X between 10 and 90 inclusive.
  auto in_range = [](const std::optional<StatisticBound>& b) {
    return b && b->percent && b->percent_e10 >= 10 * kPercentScale &&
           b->percent_e10 <= 90 * kPercentScale;
  };
  if (!in_range(st.lower) || !in_range(st.upper))
    return err("ranges must be (X%:X%) with both X between 10 and 90 inclusive");
  return std::nullopt;
}

std::optional<double> compute(const Statistic& st, const Aggregate& agg) {
  using K = Statistic::Kind;
  if (!(agg.sample_count > 0)) return std::nullopt;
  switch (st.kind) {
    case K::kSampleCount: return agg.sample_count;
    case K::kSum: return agg.sum;
    case K::kAverage: return agg.sum / agg.sample_count;
    case K::kMinimum: return agg.minimum;
    case K::kMaximum: return agg.maximum;
    default: break;
  }
  // Percentile family: raw samples only, none negative (alarms.md §2.2).
  if (!agg.values || agg.values->empty()) return std::nullopt;
  const auto& values = *agg.values;
  if (values.front().value < 0) return std::nullopt;
  std::uint64_t n = 0;
  for (const auto& vc : values) n += vc.count;
  switch (st.kind) {
    case K::kPercentile:
      if (!st.upper || !st.upper->percent) return std::nullopt;
      return value_at_rank(values, std::max<std::uint64_t>(1, ceil_rank(st.upper->percent_e10, n)));
    case K::kPercentileRank: {
      std::uint64_t k = 0;
      for (const auto& vc : values) {
        if (st.lower && !(vc.value > st.lower->value)) continue;
        if (st.upper && !(vc.value <= st.upper->value)) continue;
        k += vc.count;
      }
      return 100.0 * static_cast<double>(k) / static_cast<double>(n);
    }
    case K::kTrimmedCount: return trim(st, values, n).count.value();
    case K::kTrimmedSum: return trim(st, values, n).sum.value();
    case K::kTrimmedMean: {
      const Trimmed t = trim(st, values, n);
      const double count = t.count.value();
      if (count == 0) return std::nullopt;
      return t.sum.value() / count;
    }
    case K::kWinsorizedMean: return winsorized_mean(st, values, n);
    default: return std::nullopt;
  }
}

std::optional<double> low_sample_count_threshold(const Statistic& st) {
  if (st.kind != Statistic::Kind::kPercentile || !st.upper) return std::nullopt;
  const std::uint64_t num = st.upper->percent_e10;  // p = num / 1e12
  if (num == 0 || num >= kFractionDen) return std::nullopt;
  const double den = static_cast<double>(kFractionDen);
  if (2 * num >= kFractionDen) return 10.0 * den / static_cast<double>(kFractionDen - num);
  return 10.0 * den / static_cast<double>(num);
}

bool is_low_sample_count(const Statistic& st, double sample_count) {
  if (st.kind != Statistic::Kind::kPercentile || !st.upper) return false;
  const std::uint64_t num = st.upper->percent_e10;
  if (num == 0 || num >= kFractionDen) return false;
  // sample_count < 10 / (1 - p)  <=>  sample_count x (1e12 - num) < 10 x 1e12, and likewise for
  // 10 / p; exact for whole sample counts.
  const std::uint64_t factor = 2 * num >= kFractionDen ? kFractionDen - num : num;
  if (sample_count >= 0 && sample_count < 0x1p63 && std::floor(sample_count) == sample_count) {
    return static_cast<u128>(static_cast<std::uint64_t>(sample_count)) * factor <
           static_cast<u128>(10) * kFractionDen;
  }
  return static_cast<long double>(sample_count) * factor <
         10.0L * static_cast<long double>(kFractionDen);
}

}  // namespace cwfilter
