// MetricAlarm: enum spellings, PutMetricAlarm validation (alarms.md §4) and JSON loading.
#include <cwfilter/alarm.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <limits>

namespace cwfilter::alarm {

std::string_view to_string(StateValue state) noexcept {
  switch (state) {
    case StateValue::kOk: return "OK";
    case StateValue::kAlarm: return "ALARM";
    case StateValue::kInsufficientData: return "INSUFFICIENT_DATA";
  }
  return "INSUFFICIENT_DATA";
}

Result<StateValue, Error> parse_state_value(std::string_view text) {
  if (text == "OK") return StateValue::kOk;
  if (text == "ALARM") return StateValue::kAlarm;
  if (text == "INSUFFICIENT_DATA") return StateValue::kInsufficientData;
  return Error{fmt::format("invalid state '{}': expected OK, ALARM or INSUFFICIENT_DATA", text)};
}

std::string_view to_string(ComparisonOperator op) noexcept {
  switch (op) {
    case ComparisonOperator::kGreaterThanOrEqualToThreshold: return "GreaterThanOrEqualToThreshold";
    case ComparisonOperator::kGreaterThanThreshold: return "GreaterThanThreshold";
    case ComparisonOperator::kLessThanThreshold: return "LessThanThreshold";
    case ComparisonOperator::kLessThanOrEqualToThreshold: return "LessThanOrEqualToThreshold";
    case ComparisonOperator::kLessThanLowerOrGreaterThanUpperThreshold:
      return "LessThanLowerOrGreaterThanUpperThreshold";
    case ComparisonOperator::kLessThanLowerThreshold: return "LessThanLowerThreshold";
    case ComparisonOperator::kGreaterThanUpperThreshold: return "GreaterThanUpperThreshold";
  }
  return "";
}

std::string_view to_string(TreatMissingData treat) noexcept {
  switch (treat) {
    case TreatMissingData::kMissing: return "missing";
    case TreatMissingData::kIgnore: return "ignore";
    case TreatMissingData::kBreaching: return "breaching";
    case TreatMissingData::kNotBreaching: return "notBreaching";
  }
  return "missing";
}

namespace {

constexpr std::string_view kOperators[] = {
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
    "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold", "GreaterThanUpperThreshold"};

// botocore/Coral wording for shape constraints.
Error constraint(std::string_view value, std::string_view member, std::string_view rule) {
  return Error{fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must {}",
      value, member, rule)};
}

bool has_control_character(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Characters, not bytes: AWS lengths count Unicode code points.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::optional<Error> check_length(std::string_view value, std::string_view member, std::size_t min,
                                  std::size_t max) {
  const std::size_t len = utf8_length(value);
  if (len < min)
    return constraint(value, member, fmt::format("have length greater than or equal to {}", min));
  if (len > max)
    return constraint(value, member, fmt::format("have length less than or equal to {}", max));
  return std::nullopt;
}

std::optional<Error> check_actions(const std::vector<std::string>& actions,
                                   std::string_view member) {
  if (actions.size() > 5)
    return constraint(fmt::format("[{}]", fmt::join(actions, ", ")), member,
                      "have length less than or equal to 5");
  for (std::size_t i = 0; i < actions.size(); ++i)
    if (auto e = check_length(actions[i], fmt::format("{}.{}.member", member, i + 1), 1, 1024))
      return e;
  return std::nullopt;
}

}  // namespace

Result<MetricAlarm, Error> validate(MetricAlarm alarm) {
  if (auto e = check_length(alarm.alarm_name, "alarmName", 1, 255)) return *e;
  if (has_control_character(alarm.alarm_name))
    return Error{fmt::format("AlarmName '{}' must not contain ASCII control characters",
                             alarm.alarm_name)};
  if (alarm.alarm_description)
    if (auto e = check_length(*alarm.alarm_description, "alarmDescription", 0, 1024)) return *e;
  if (auto e = check_length(alarm.metric_namespace, "namespace", 1, 255)) return *e;
  if (alarm.metric_namespace[0] == ':')
    return constraint(alarm.metric_namespace, "namespace",
                      "satisfy regular expression pattern: [^:].*");
  if (auto e = check_length(alarm.metric_name, "metricName", 1, 255)) return *e;
  if (alarm.dimensions.size() > 30)
    return constraint(fmt::format("{} dimensions", alarm.dimensions.size()), "dimensions",
                      "have length less than or equal to 30");
  for (std::size_t i = 0; i < alarm.dimensions.size(); ++i) {
    const auto& d = alarm.dimensions[i];
    if (auto e = check_length(d.name, fmt::format("dimensions.{}.member.name", i + 1), 1, 255))
      return *e;
    if (auto e = check_length(d.value, fmt::format("dimensions.{}.member.value", i + 1), 1, 1024))
      return *e;
    for (std::size_t j = 0; j < i; ++j)
      if (alarm.dimensions[j].name == d.name)
        return Error{fmt::format("The dimension name '{}' is specified more than once", d.name)};
  }
  if (alarm.statistic.has_value() == alarm.extended_statistic.has_value())
    return Error{"Exactly one of Statistic or ExtendedStatistic must be specified"};
  if (alarm.statistic) {
    const auto& s = *alarm.statistic;
    if (s != "SampleCount" && s != "Average" && s != "Sum" && s != "Minimum" && s != "Maximum")
      return constraint(s, "statistic",
                        "satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, Average]");
  } else {
    auto parsed = parse_statistic(*alarm.extended_statistic);
    if (!parsed) return Error{fmt::format("Invalid ExtendedStatistic '{}': {}",
                                          *alarm.extended_statistic, parsed.error().message)};
    if (auto e = validate_alarm_extended_statistic(parsed.value()))
      return Error{fmt::format("Invalid ExtendedStatistic '{}': {}", *alarm.extended_statistic,
                               e->message)};
  }
  if (alarm.period < 1)
    return constraint(std::to_string(alarm.period), "period",
                      "have value greater than or equal to 1");
  if (!(alarm.period == 10 || alarm.period == 20 || alarm.period == 30 || alarm.period % 60 == 0))
    return Error{"Period must be 10, 20, 30 or a multiple of 60"};
  if (alarm.evaluation_periods < 1)
    return constraint(std::to_string(alarm.evaluation_periods), "evaluationPeriods",
                      "have value greater than or equal to 1");
  const std::int64_t span = static_cast<std::int64_t>(alarm.period) * alarm.evaluation_periods;
  // 2025-05 limits (alarms.md §4): 7 days in general, 1 day while Period < 1 hour. The wording
  // extends AWS's historical one-day message.
  if (alarm.period < 3600 && span > 86400)
    return Error{"Metrics cannot be checked across more than a day "
                 "(EvaluationPeriods * Period must be <= 86400)"};
  if (span > 604800)
    return Error{"Metrics cannot be checked across more than a week "
                 "(EvaluationPeriods * Period must be <= 604800)"};
  if (alarm.datapoints_to_alarm) {
    if (*alarm.datapoints_to_alarm < 1)
      return constraint(std::to_string(*alarm.datapoints_to_alarm), "datapointsToAlarm",
                        "have value greater than or equal to 1");
    if (*alarm.datapoints_to_alarm > alarm.evaluation_periods)
      return Error{"DatapointsToAlarm must be less than or equal to EvaluationPeriods"};
  }
  if (!std::isfinite(alarm.threshold))
    return Error{"Threshold must be a finite number"};
  switch (alarm.comparison_operator) {
    case ComparisonOperator::kLessThanLowerOrGreaterThanUpperThreshold:
    case ComparisonOperator::kLessThanLowerThreshold:
    case ComparisonOperator::kGreaterThanUpperThreshold:
      return Error{fmt::format(
          "ComparisonOperator {} is only valid for anomaly detection alarms (ThresholdMetricId), "
          "which cwfilter does not evaluate",
          to_string(alarm.comparison_operator))};
    default: break;
  }
  if (alarm.evaluate_low_sample_count_percentile &&
      *alarm.evaluate_low_sample_count_percentile != "evaluate" &&
      *alarm.evaluate_low_sample_count_percentile != "ignore")
    return Error{fmt::format(
        "EvaluateLowSampleCountPercentile must be 'evaluate' or 'ignore', not '{}'",
        *alarm.evaluate_low_sample_count_percentile)};
  if (auto e = check_actions(alarm.ok_actions, "oKActions")) return *e;
  if (auto e = check_actions(alarm.alarm_actions, "alarmActions")) return *e;
  if (auto e = check_actions(alarm.insufficient_data_actions, "insufficientDataActions")) return *e;
  return alarm;
}

// ---- JSON ---------------------------------------------------------------------------------

namespace {

using Value = rapidjson::Value;

Result<std::string, Error> get_string(const Value& v, std::string_view field) {
  if (!v.IsString()) return Error{fmt::format("{} must be a string", field)};
  return std::string(v.GetString(), v.GetStringLength());
}

Result<int, Error> get_int(const Value& v, std::string_view field) {
  if (v.IsInt()) return v.GetInt();
  if (v.IsNumber()) {
    const double d = v.GetDouble();
    if (d == std::floor(d) && std::fabs(d) < 2147483648.0) return static_cast<int>(d);
  }
  return Error{fmt::format("{} must be an integer", field)};
}

Result<std::vector<std::string>, Error> get_string_list(const Value& v, std::string_view field) {
  if (!v.IsArray()) return Error{fmt::format("{} must be a list of strings", field)};
  std::vector<std::string> out;
  for (const auto& item : v.GetArray()) {
    if (!item.IsString()) return Error{fmt::format("{} must be a list of strings", field)};
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

Result<MetricAlarm, Error> alarm_from_object(const Value& obj, std::string_view where) {
  if (!obj.IsObject()) return Error{fmt::format("{}: an alarm must be a JSON object", where)};
  MetricAlarm a;
  bool has_period = false, has_eval = false, has_threshold = false, has_op = false;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    const Value& v = it->value;
    auto fail = [&](const Error& e) { return Error{fmt::format("{}: {}", where, e.message)}; };
#define CW_TAKE(expr, target)             \
  do {                                    \
    auto r_ = (expr);                     \
    if (!r_) return fail(r_.error());     \
    target = std::move(r_.value());       \
  } while (0)
    if (key == "AlarmName") {
      CW_TAKE(get_string(v, key), a.alarm_name);
    } else if (key == "AlarmDescription") {
      if (!v.IsNull()) {
        std::string s;
        CW_TAKE(get_string(v, key), s);
        a.alarm_description = std::move(s);
      }
    } else if (key == "Namespace") {
      CW_TAKE(get_string(v, key), a.metric_namespace);
    } else if (key == "MetricName") {
      CW_TAKE(get_string(v, key), a.metric_name);
    } else if (key == "Dimensions") {
      if (!v.IsArray()) return fail(Error{"Dimensions must be a list of {Name, Value}"});
      for (const auto& d : v.GetArray()) {
        if (!d.IsObject() || !d.HasMember("Name") || !d.HasMember("Value") ||
            !d["Name"].IsString() || !d["Value"].IsString())
          return fail(Error{"Dimensions must be a list of {\"Name\": string, \"Value\": string}"});
        a.dimensions.push_back(Dimension{d["Name"].GetString(), d["Value"].GetString()});
      }
    } else if (key == "Statistic") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      a.statistic = std::move(s);
    } else if (key == "ExtendedStatistic") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      a.extended_statistic = std::move(s);
    } else if (key == "Period") {
      CW_TAKE(get_int(v, key), a.period);
      has_period = true;
    } else if (key == "EvaluationPeriods") {
      CW_TAKE(get_int(v, key), a.evaluation_periods);
      has_eval = true;
    } else if (key == "DatapointsToAlarm") {
      int m = 0;
      CW_TAKE(get_int(v, key), m);
      a.datapoints_to_alarm = m;
    } else if (key == "Threshold") {
      if (!v.IsNumber()) return fail(Error{"Threshold must be a number"});
      a.threshold = v.GetDouble();
      has_threshold = true;
    } else if (key == "ComparisonOperator") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      bool found = false;
      for (std::size_t i = 0; i < std::size(kOperators); ++i)
        if (kOperators[i] == s) {
          a.comparison_operator = static_cast<ComparisonOperator>(i);
          found = true;
        }
      if (!found)
        return fail(constraint(s, "comparisonOperator",
                               fmt::format("satisfy enum value set: [{}]",
                                           fmt::join(kOperators, ", "))));
      has_op = true;
    } else if (key == "TreatMissingData") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      if (s == "missing") a.treat_missing_data = TreatMissingData::kMissing;
      else if (s == "ignore") a.treat_missing_data = TreatMissingData::kIgnore;
      else if (s == "breaching") a.treat_missing_data = TreatMissingData::kBreaching;
      else if (s == "notBreaching") a.treat_missing_data = TreatMissingData::kNotBreaching;
      else
        return fail(Error{fmt::format(
            "Invalid value '{}' for TreatMissingData: expected breaching, notBreaching, ignore or "
            "missing",
            s)});
    } else if (key == "Unit") {
      if (!v.IsNull()) {
        std::string s;
        CW_TAKE(get_string(v, key), s);
        auto u = parse_standard_unit(s);
        if (!u) return fail(u.error());
        a.unit = u.value();
      }
    } else if (key == "EvaluateLowSampleCountPercentile") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      if (!s.empty()) a.evaluate_low_sample_count_percentile = std::move(s);
    } else if (key == "ActionsEnabled") {
      if (!v.IsBool()) return fail(Error{"ActionsEnabled must be true or false"});
      a.actions_enabled = v.GetBool();
    } else if (key == "OKActions") {
      CW_TAKE(get_string_list(v, key), a.ok_actions);
    } else if (key == "AlarmActions") {
      CW_TAKE(get_string_list(v, key), a.alarm_actions);
    } else if (key == "InsufficientDataActions") {
      CW_TAKE(get_string_list(v, key), a.insufficient_data_actions);
    } else if (key == "AlarmArn") {
      std::string s;
      CW_TAKE(get_string(v, key), s);
      a.alarm_arn = std::move(s);
    } else if (key == "AlarmConfigurationUpdatedTimestamp") {
      if (v.IsNumber()) {
        a.configuration_updated_ms = static_cast<std::int64_t>(std::llround(v.GetDouble() * 1000));
      } else if (v.IsString()) {
        auto t = parse_iso_timestamp(v.GetString());
        if (!t) return fail(t.error());
        a.configuration_updated_ms = t.value();
      }
    } else if (key == "Metrics" || key == "ThresholdMetricId" || key == "EvaluationCriteria") {
      return fail(Error{fmt::format(
          "{} (metric-math, anomaly-detection and PromQL alarms) is not supported: cwfilter "
          "evaluates single-metric alarms",
          key)});
    } else if (key == "EvaluationWindow") {
      if (v.IsObject() && v.HasMember("WallClockWindow"))
        return fail(Error{"EvaluationWindow.WallClockWindow is not supported: cwfilter evaluates "
                          "sliding windows"});
    }
    // Anything else (Tags, DescribeAlarms state fields, EvaluationState, ...) is ignored.
#undef CW_TAKE
  }
  auto missing = [&](std::string_view member) {
    return Error{fmt::format("{}: 1 validation error detected: Value null at '{}' failed to "
                             "satisfy constraint: Member must not be null",
                             where, member)};
  };
  if (a.alarm_name.empty() && !obj.HasMember("AlarmName")) return missing("alarmName");
  if (a.metric_name.empty() && !obj.HasMember("MetricName"))
    return Error{fmt::format("{}: One of MetricName or Metrics must be specified", where)};
  if (a.metric_namespace.empty() && !obj.HasMember("Namespace")) return missing("namespace");
  if (!has_period) return Error{fmt::format("{}: Period must be specified", where)};
  if (!has_eval) return missing("evaluationPeriods");
  if (!has_threshold)
    return Error{fmt::format("{}: Threshold must be specified for a static-threshold alarm",
                             where)};
  if (!has_op) return missing("comparisonOperator");
  auto valid = validate(std::move(a));
  if (!valid) return Error{fmt::format("{}: {}", where, valid.error().message)};
  return valid;
}

}  // namespace

Result<std::vector<MetricAlarm>, Error> parse_alarms_json(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    return Error{fmt::format("alarm JSON: {} at offset {}",
                             rapidjson::GetParseError_En(doc.GetParseError()),
                             doc.GetErrorOffset())};
  std::vector<MetricAlarm> alarms;
  auto add_all = [&](const Value& array, std::string_view name) -> std::optional<Error> {
    for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
      auto a = alarm_from_object(array[i], fmt::format("{}[{}]", name, i));
      if (!a) return a.error();
      alarms.push_back(std::move(a.value()));
    }
    return std::nullopt;
  };
  if (doc.IsArray()) {
    if (auto e = add_all(doc, "alarms")) return *e;
  } else if (doc.IsObject() && doc.HasMember("MetricAlarms")) {
    if (!doc["MetricAlarms"].IsArray()) return Error{"MetricAlarms must be a list"};
    if (auto e = add_all(doc["MetricAlarms"], "MetricAlarms")) return *e;
  } else if (doc.IsObject()) {
    auto a = alarm_from_object(doc, "PutMetricAlarm");
    if (!a) return a.error();
    alarms.push_back(std::move(a.value()));
  } else {
    return Error{"alarm JSON must be a PutMetricAlarm request or a DescribeAlarms response"};
  }
  if (alarms.empty()) return Error{"no metric alarm found in the alarm JSON"};
  return alarms;
}

Result<MetricAlarm, Error> parse_put_metric_alarm(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    return Error{fmt::format("alarm JSON: {} at offset {}",
                             rapidjson::GetParseError_En(doc.GetParseError()),
                             doc.GetErrorOffset())};
  return alarm_from_object(doc, "PutMetricAlarm");
}

}  // namespace cwfilter::alarm
