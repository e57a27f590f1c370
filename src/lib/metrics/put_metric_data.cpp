// PutMetricData request JSON -> PutMetricDataRequest, with AWS's validation (alarms.md §1.2).
#include <cwfilter/metrics.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <limits>

namespace cwfilter {
namespace {

constexpr double kMaxMagnitude = 0x1p360;

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// YYYY-MM-DD[(T|t| )hh:mm[:ss[.fff...]]][Z|z|(+|-)hh[:]mm]; no zone = UTC.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::size_t i = 10;
  std::int64_t millis = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    ++i;
    if (!digits(s, i, 2, hour) || i + 2 >= s.size() || s[i + 2] != ':' ||
        !digits(s, i + 3, 2, minute))
      return std::nullopt;
    i += 5;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, second)) return std::nullopt;
      i += 3;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        std::size_t n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          if (n < 3) millis = millis * 10 + (s[i] - '0');
          ++n;
          ++i;
        }
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n) millis *= 10;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      const int sign = s[i] == '-' ? -1 : 1;
      int oh, om = 0;
      if (!digits(s, i + 1, 2, oh)) return std::nullopt;
      i += 3;
      if (i < s.size() && s[i] == ':') ++i;
      if (i < s.size()) {
        if (!digits(s, i, 2, om)) return std::nullopt;
        i += 2;
      }
      offset_min = sign * (oh * 60 + om);
    }
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

using Value = rapidjson::Value;

std::optional<Error> read_number(const Value& v, std::string_view where, double& out) {
  if (v.IsNumber()) {
    out = v.GetDouble();
  } else if (v.IsString()) {  // "NaN", "Infinity" as the AWS CLI would pass them through
    std::string_view s(v.GetString(), v.GetStringLength());
    if (s == "NaN") return Error{fmt::format("{}: NaN is not supported", where)};
    if (s == "Infinity" || s == "-Infinity")
      return Error{fmt::format("{}: Infinity is not supported", where)};
    return Error{fmt::format("{}: expected a number", where)};
  } else {
    return Error{fmt::format("{}: expected a number", where)};
  }
  if (std::isnan(out)) return Error{fmt::format("{}: NaN is not supported", where)};
  if (std::isinf(out)) return Error{fmt::format("{}: Infinity is not supported", where)};
  if (std::fabs(out) > kMaxMagnitude)
    return Error{fmt::format("{}: {} is outside the range [-2^360, 2^360]", where, out)};
  return std::nullopt;
}

std::optional<Error> read_string(const Value& v, std::string_view where, std::string& out) {
  if (!v.IsString()) return Error{fmt::format("{}: expected a string", where)};
  out.assign(v.GetString(), v.GetStringLength());
  return std::nullopt;
}

std::optional<Error> read_datum(const Value& obj, const std::string& where,
                                const PutMetricDataParseOptions& options, MetricDatum& d) {
  if (!obj.IsObject()) return Error{fmt::format("{}: expected a MetricDatum object", where)};
  bool has_name = false, has_ts = false;
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    const std::string_view key(m->name.GetString(), m->name.GetStringLength());
    const std::string field = fmt::format("{}.{}", where, key);
    const Value& v = m->value;
    if (key == "MetricName") {
      if (auto e = read_string(v, field, d.metric_name)) return e;
      has_name = true;
    } else if (key == "Dimensions") {
      if (!v.IsArray()) return Error{fmt::format("{}: expected an array", field)};
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        const std::string dw = fmt::format("{}[{}]", field, i);
        const Value& dv = v[i];
        if (!dv.IsObject() || !dv.HasMember("Name") || !dv.HasMember("Value") || dv.MemberCount() != 2)
          return Error{fmt::format("{}: expected {{\"Name\": ..., \"Value\": ...}}", dw)};
        Dimension dim;
        if (auto e = read_string(dv["Name"], dw + ".Name", dim.name)) return e;
        if (auto e = read_string(dv["Value"], dw + ".Value", dim.value)) return e;
        d.dimensions.push_back(std::move(dim));
      }
    } else if (key == "Timestamp") {
      if (v.IsNumber()) {
        const double secs = v.GetDouble();
        if (!std::isfinite(secs) || std::fabs(secs) > 1e14)
          return Error{fmt::format("{}: not a valid epoch time in seconds", field)};
        d.timestamp_ms = static_cast<std::int64_t>(std::floor(secs * 1000.0));
      } else if (v.IsString()) {
        auto ms = parse_iso8601_ms(std::string_view(v.GetString(), v.GetStringLength()));
        if (!ms)
          return Error{fmt::format("{}: '{}' is not an ISO-8601 timestamp", field, v.GetString())};
        d.timestamp_ms = *ms;
      } else {
        return Error{fmt::format("{}: expected an ISO-8601 string or epoch seconds", field)};
      }
      has_ts = true;
    } else if (key == "Value") {
      double x;
      if (auto e = read_number(v, field, x)) return e;
      d.value = x;
    } else if (key == "Values" || key == "Counts") {
      if (!v.IsArray()) return Error{fmt::format("{}: expected an array of numbers", field)};
      auto& out = key == "Values" ? d.values : d.counts;
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        double x;
        if (auto e = read_number(v[i], fmt::format("{}[{}]", field, i), x)) return e;
        out.push_back(x);
      }
    } else if (key == "StatisticValues") {
      if (!v.IsObject()) return Error{fmt::format("{}: expected an object", field)};
      StatisticSet s;
      const std::pair<const char*, double*> parts[] = {{"SampleCount", &s.sample_count},
                                                       {"Sum", &s.sum},
                                                       {"Minimum", &s.minimum},
                                                       {"Maximum", &s.maximum}};
      for (const auto& [name, target] : parts) {
        if (!v.HasMember(name))
          return Error{fmt::format("{}: {} is required", field, name)};
        if (auto e = read_number(v[name], fmt::format("{}.{}", field, name), *target)) return e;
      }
      if (v.MemberCount() != 4)
        return Error{fmt::format("{}: only SampleCount, Sum, Minimum and Maximum are allowed", field)};
      d.statistic_values = s;
    } else if (key == "Unit") {
      std::string u;
      if (auto e = read_string(v, field, u)) return e;
      auto unit = parse_standard_unit(u);
      if (!unit) return Error{fmt::format("{}: {}", field, unit.error().message)};
      d.unit = unit.value();
    } else if (key == "StorageResolution") {
      if (!v.IsInt() || (v.GetInt() != 1 && v.GetInt() != 60))
        return Error{fmt::format("{}: must be 1 or 60", field)};
      d.storage_resolution = v.GetInt();
    } else {
      return Error{fmt::format("{}: unknown field", field)};
    }
  }
  if (!has_name) return Error{fmt::format("{}: MetricName is required", where)};
  if (!has_ts) {
    if (!options.receipt_time_ms)
      return Error{fmt::format("{}: Timestamp is required (no receipt time was given)", where)};
    d.timestamp_ms = *options.receipt_time_ms;
  }
  const int forms = (d.value ? 1 : 0) + (d.values.empty() ? 0 : 1) + (d.statistic_values ? 1 : 0);
  if (forms != 1)
    return Error{fmt::format("{}: exactly one of Value, Values or StatisticValues must be specified", where)};
  if (!d.counts.empty() && d.values.empty())
    return Error{fmt::format("{}: Counts given without Values", where)};
  if (d.values.size() > 150)
    return Error{fmt::format("{}.Values: at most 150 values are allowed (got {})", where, d.values.size())};
  if (!d.counts.empty() && d.counts.size() != d.values.size())
    return Error{fmt::format("{}: Counts must have the same length as Values ({} counts, {} values)",
                             where, d.counts.size(), d.values.size())};
  for (std::size_t i = 0; i < d.counts.size(); ++i)
    if (d.counts[i] < 0)
      return Error{fmt::format("{}.Counts[{}]: {} is negative", where, i, d.counts[i])};
  if (d.statistic_values) {
    const auto& s = *d.statistic_values;
    if (!(s.sample_count > 0))
      return Error{fmt::format("{}.StatisticValues.SampleCount must be positive", where)};
    if (s.minimum > s.maximum)
      return Error{fmt::format("{}.StatisticValues: Minimum is greater than Maximum", where)};
  }
  return std::nullopt;
}

}  // namespace

Result<PutMetricDataRequest, Error> parse_put_metric_data(std::string_view json,
                                                          const PutMetricDataParseOptions& options) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNanAndInfFlag | rapidjson::kParseFullPrecisionFlag>(json.data(),
                                                                                json.size());
  if (doc.HasParseError())
    return Error{fmt::format("PutMetricData JSON: {} at offset {}",
                             rapidjson::GetParseError_En(doc.GetParseError()), doc.GetErrorOffset())};
  PutMetricDataRequest req;
  const Value* data = nullptr;
  if (doc.IsArray()) {
    req.metric_namespace = options.default_namespace;
    data = &doc;
  } else if (doc.IsObject()) {
    for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
      const std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (key == "Namespace") {
        if (auto e = read_string(m->value, "Namespace", req.metric_namespace)) return *e;
      } else if (key == "MetricData") {
        if (!m->value.IsArray()) return Error{"MetricData: expected an array"};
        data = &m->value;
      } else {
        return Error{fmt::format("{}: unknown field (expected Namespace and MetricData)", key)};
      }
    }
    if (!data) return Error{"MetricData is required"};
    if (!doc.HasMember("Namespace")) req.metric_namespace = options.default_namespace;
  } else {
    return Error{"PutMetricData JSON: expected {\"Namespace\": ..., \"MetricData\": [...]} or an array"};
  }
  if (req.metric_namespace.empty()) return Error{"Namespace is required"};
  if (options.reject_reserved_namespace && req.metric_namespace.starts_with("AWS/"))
    return Error{fmt::format("Namespace '{}': namespaces starting with AWS/ are reserved for AWS",
                             req.metric_namespace)};
  if (data->Size() > 1000)
    return Error{fmt::format("MetricData: at most 1000 items are allowed (got {})", data->Size())};
  for (rapidjson::SizeType i = 0; i < data->Size(); ++i) {
    MetricDatum d;
    const std::string where = fmt::format("MetricData[{}]", i);
    if (auto e = read_datum((*data)[i], where, options, d)) return *e;
    if (auto e = validate_metric_key(MetricKey(req.metric_namespace, d.metric_name, d.dimensions)))
      return Error{fmt::format("{}: {}", where, e->message)};
    req.metric_data.push_back(std::move(d));
  }
  return req;
}

}  // namespace cwfilter
