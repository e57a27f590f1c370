// Metric filters (filter-patterns.md §7). Validation messages follow AWS's wording where it is
// known (§8): the validation-exception form for shape constraints, "Invalid metric transformation"
// and "The specified filter pattern does not support dimensions" for the semantic ones.
#include <cwfilter/metric_filter.hpp>

#include "pattern/value_text.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <cassert>
#include <cmath>

namespace cwfilter {

namespace {

Error validation(std::string_view value, std::string_view member, std::string_view constraint) {
  return Error{fmt::format("1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: {}",
                           value, member, constraint)};
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<Error> check_length(std::string_view value, std::string_view member, std::size_t min,
                                  std::size_t max) {
  std::size_t n = code_points(value);
  if (n < min) return validation(value, member, fmt::format("Member must have length greater than or equal to {}", min));
  if (n > max) return validation(value, member, fmt::format("Member must have length less than or equal to {}", max));
  return std::nullopt;
}

std::optional<Error> check_excluded(std::string_view value, std::string_view member, std::string_view chars,
                                    std::string_view regex_text) {
  if (value.find_first_of(chars) != std::string_view::npos)
    return validation(value, member, fmt::format("Member must satisfy regular expression pattern: {}", regex_text));
  return std::nullopt;
}

std::string get_string(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

Result<MetricTransformation, Error> transformation_from(const rapidjson::Value& v, std::size_t index) {
  if (!v.IsObject()) return Error{fmt::format("metricTransformations[{}] must be an object", index)};
  MetricTransformation t;
  for (const char* key : {"metricName", "metricNamespace", "metricValue"}) {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd())
      return Error{fmt::format("metricTransformations[{}]: {} is required", index, key)};
    if (!it->value.IsString())
      return Error{fmt::format("metricTransformations[{}]: {} must be a string", index, key)};
  }
  t.metric_name = get_string(v, "metricName");
  t.metric_namespace = get_string(v, "metricNamespace");
  t.metric_value = get_string(v, "metricValue");
  if (auto it = v.FindMember("defaultValue"); it != v.MemberEnd() && !it->value.IsNull()) {
    if (it->value.IsNumber()) {
      t.default_value = it->value.GetDouble();
    } else if (it->value.IsString()) {  // the CLI and CloudFormation also pass "0"
      auto n = detail::parse_number_literal(std::string_view(it->value.GetString(), it->value.GetStringLength()));
      if (!n) return Error{fmt::format("metricTransformations[{}]: defaultValue must be a number", index)};
      t.default_value = *n;
    } else {
      return Error{fmt::format("metricTransformations[{}]: defaultValue must be a number", index)};
    }
  }
  if (auto it = v.FindMember("dimensions"); it != v.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsObject())
      return Error{fmt::format("metricTransformations[{}]: dimensions must be an object of name -> field", index)};
    for (auto d = it->value.MemberBegin(); d != it->value.MemberEnd(); ++d) {
      if (!d->value.IsString())
        return Error{fmt::format("metricTransformations[{}]: dimension '{}' must be a string", index, d->name.GetString())};
      t.dimensions.emplace_back(std::string(d->name.GetString(), d->name.GetStringLength()),
                                std::string(d->value.GetString(), d->value.GetStringLength()));
    }
  }
  if (auto it = v.FindMember("unit"); it != v.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsString()) return Error{fmt::format("metricTransformations[{}]: unit must be a string", index)};
    auto unit = parse_standard_unit(std::string_view(it->value.GetString(), it->value.GetStringLength()));
    if (!unit.ok())
      return validation(it->value.GetString(), fmt::format("metricTransformations.{}.member.unit", index + 1),
                        "Member must satisfy enum value set: [Seconds, Microseconds, Milliseconds, Bytes, "
                        "Kilobytes, Megabytes, Gigabytes, Terabytes, Bits, Kilobits, Megabits, Gigabits, "
                        "Terabits, Percent, Count, Bytes/Second, Kilobytes/Second, Megabytes/Second, "
                        "Gigabytes/Second, Terabytes/Second, Bits/Second, Kilobits/Second, Megabits/Second, "
                        "Gigabits/Second, Terabits/Second, Count/Second, None] (unit must be one of the "
                        "StandardUnit enumeration)");
    t.unit = unit.value();
  }
  return t;
}

bool is_field_ref(std::string_view s) { return s.size() >= 2 && s[0] == '$'; }

}  // namespace

Result<std::vector<MetricTransformation>, Error> parse_metric_transformations(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Error{"metric transformations: not valid JSON"};
  std::vector<MetricTransformation> out;
  if (doc.IsObject()) {
    auto t = transformation_from(doc, 0);
    if (!t.ok()) return t.error();
    out.push_back(std::move(t.value()));
    return out;
  }
  if (!doc.IsArray()) return Error{"metric transformations: expected a JSON list of MetricTransformation objects"};
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    auto t = transformation_from(doc[i], i);
    if (!t.ok()) return t.error();
    out.push_back(std::move(t.value()));
  }
  return out;
}

Result<std::vector<MetricFilterDefinition>, Error> parse_metric_filters(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Error{"metric filters: not valid JSON"};
  const rapidjson::Value* list = &doc;
  if (doc.IsObject()) {
    auto it = doc.FindMember("metricFilters");
    if (it == doc.MemberEnd()) return Error{"metric filters: expected {\"metricFilters\": [...]}"};
    list = &it->value;
  }
  if (!list->IsArray()) return Error{"metric filters: metricFilters must be a list"};
  std::vector<MetricFilterDefinition> out;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const auto& f = (*list)[i];
    if (!f.IsObject()) return Error{fmt::format("metricFilters[{}] must be an object", i)};
    MetricFilterDefinition d;
    d.filter_name = get_string(f, "filterName");
    d.log_group_name = get_string(f, "logGroupName");
    auto fp = f.FindMember("filterPattern");
    if (fp == f.MemberEnd() || !fp->value.IsString())
      return Error{fmt::format("metricFilters[{}] ({}): filterPattern is required", i, d.filter_name)};
    d.filter_pattern = get_string(f, "filterPattern");
    auto mts = f.FindMember("metricTransformations");
    if (mts == f.MemberEnd() || !mts->value.IsArray())
      return Error{fmt::format("metricFilters[{}] ({}): metricTransformations must be a list", i, d.filter_name)};
    for (rapidjson::SizeType j = 0; j < mts->value.Size(); ++j) {
      auto t = transformation_from(mts->value[j], j);
      if (!t.ok()) return Error{fmt::format("metricFilters[{}] ({}): {}", i, d.filter_name, t.error().message)};
      d.metric_transformations.push_back(std::move(t.value()));
    }
    out.push_back(std::move(d));
  }
  return out;
}

Result<MetricFilter, Error> MetricFilter::create(std::string_view pattern, const MetricTransformation& t,
                                                 const Options& options) {
  return create(MetricFilterDefinition{"test-metric-filter", "test-log-group", std::string(pattern), {t}}, options);
}

Result<MetricFilter, Error> MetricFilter::create(const MetricFilterDefinition& def, const Options& options) {
  // Shape constraints of PutMetricFilter (§7.1).
  if (auto e = check_length(def.filter_name, "filterName", 1, 512)) return *e;
  if (auto e = check_excluded(def.filter_name, "filterName", ":*", "[^:*]*")) return *e;
  if (auto e = check_length(def.log_group_name, "logGroupName", 1, 512)) return *e;
  for (char c : def.log_group_name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '/' || c == '#'))
      return validation(def.log_group_name, "logGroupName", "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
  if (def.metric_transformations.size() > 1)
    return validation("[...]", "metricTransformations", "Member must have length less than or equal to 1");
  if (def.metric_transformations.empty())
    return validation("[]", "metricTransformations", "Member must have length greater than or equal to 1");
  const MetricTransformation& t = def.metric_transformations[0];
  if (auto e = check_length(t.metric_name, "metricTransformations.1.member.metricName", 1, 255)) return *e;
  if (auto e = check_excluded(t.metric_name, "metricTransformations.1.member.metricName", ":*$", "[^:*$]*")) return *e;
  if (auto e = check_length(t.metric_namespace, "metricTransformations.1.member.metricNamespace", 1, 255)) return *e;
  // AWS accepts ':' in namespaces (an AWS-validated test used one); '*' and '$' stay excluded.
  if (auto e = check_excluded(t.metric_namespace, "metricTransformations.1.member.metricNamespace", "*$", "[^:*$]*")) return *e;
  if (t.metric_namespace.find_first_not_of(' ') == std::string::npos)
    return Error{"Invalid metric transformation: the namespace must contain a non-space character"};
  if (auto e = check_length(t.metric_value, "metricTransformations.1.member.metricValue", 1, 100)) return *e;
  if (t.dimensions.size() > 3)
    return validation("{...}", "metricTransformations.1.member.dimensions", "Member must have length less than or equal to 3");

  Options opts = options;
  opts.error_context = ErrorContext::kMetricFilter;
  auto compiled = compile(def.filter_pattern, opts);
  if (!compiled.ok()) return Error{compiled.error().message};
  MetricFilter f(std::move(compiled.value()));
  f.transformation_ = t;
  f.filter_name_ = def.filter_name;
  f.log_group_name_ = def.log_group_name;
  const Family family = f.pattern_.family();
  const bool structured = family == Family::kJson || family == Family::kSpaceDelimited;

  // metricValue: a number, or a reference of the pattern's kind (§7.2).
  if (is_field_ref(t.metric_value)) {
    auto ref = FieldRef::parse(t.metric_value);
    if (!ref.ok()) return Error{"Invalid metric transformation: " + ref.error().message};
    if (!structured)
      return Error{fmt::format("Invalid metric transformation: metricValue '{}' refers to a field, but a {} pattern "
                               "extracts no fields (use a number such as 1)",
                               t.metric_value, to_string(family))};
    if ((family == Family::kJson) != (ref->kind() == FieldRef::Kind::kJsonPath))
      return Error{fmt::format("Invalid metric transformation: metricValue '{}' does not fit a {} pattern (use {})",
                               t.metric_value, to_string(family),
                               family == Family::kJson ? "$.path" : "$name or $N")};
    f.refs_.push_back(std::move(ref.value()));
    f.value_is_ref_ = true;
  } else if (auto n = detail::parse_number_literal(t.metric_value)) {
    f.literal_value_ = *n;
  } else {
    // AWS's wording (patterns.jsonl invalid-020) first, then the value and the forms that fit.
    return Error{fmt::format("Invalid metric transformation: metricValue must be a number or a $-prefixed field "
                             "reference, not '{}' ($.path for JSON patterns, $name or $N for space-delimited ones)",
                             t.metric_value)};
  }

  // dimensions (§7.3, §7.5).
  if (!t.dimensions.empty()) {
    if (!structured) return Error{"The specified filter pattern does not support dimensions"};
    if (t.default_value)
      return Error{"Invalid metric transformation: dimensions and default value are mutually exclusive properties"};
  }
  for (const auto& [name, value] : t.dimensions) {
    if (auto e = check_length(name, "metricTransformations.1.member.dimensions.key", 1, 255)) return *e;
    if (name.find_first_not_of(" \t") == std::string::npos || name[0] == ':')
      return Error{fmt::format("Invalid metric transformation: dimension name '{}' must contain a non-whitespace "
                               "character and must not start with ':'", name)};
    for (unsigned char c : name)
      if (c >= 0x80) return Error{fmt::format("Invalid metric transformation: dimension name '{}' must be ASCII", name)};
    if (auto e = check_length(value, "metricTransformations.1.member.dimensions.value", 1, 255)) return *e;
    auto ref = FieldRef::parse(value);
    if (!ref.ok())
      return Error{fmt::format("Invalid metric transformation: dimension '{}' must be a field reference, not '{}'", name, value)};
    if ((family == Family::kJson) != (ref->kind() == FieldRef::Kind::kJsonPath))
      return Error{fmt::format("Invalid metric transformation: dimension '{}' value '{}' does not fit a {} pattern",
                               name, value, to_string(family))};
    f.refs_.push_back(std::move(ref.value()));
  }
  return f;
}

MetricFilterOutcome MetricFilter::evaluate_unmatched(std::int64_t timestamp_ms) const {
  MetricFilterOutcome out;
  const MetricTransformation& t = transformation_;
  if (t.default_value) {  // DECISIONS 7: once per non-matching event
    out.datapoint =
        MetricFilterDatapoint{MetricKey(t.metric_namespace, t.metric_name), *t.default_value, t.unit, timestamp_ms, true};
  }
  return out;
}

MetricFilterOutcome MetricFilter::evaluate_matched(std::int64_t timestamp_ms) const {
  assert(refs_.empty() && literal_value_);
  MetricFilterOutcome out;
  out.matched = true;
  const MetricTransformation& t = transformation_;
  out.datapoint = MetricFilterDatapoint{MetricKey(t.metric_namespace, t.metric_name), *literal_value_, t.unit,
                                        timestamp_ms, false};
  return out;
}

MetricFilterOutcome MetricFilter::evaluate(std::string_view message, std::int64_t timestamp_ms) const {
  MetricFilterOutcome out;
  std::vector<std::optional<FieldValue>> values;
  out.matched = pattern_.match_and_resolve(message, refs_, values);
  const MetricTransformation& t = transformation_;
  if (!out.matched) return evaluate_unmatched(timestamp_ms);
  if (refs_.empty()) return evaluate_matched(timestamp_ms);
  double value = 0;
  std::size_t next = 0;
  if (value_is_ref_) {
    const auto& v = values[next++];
    std::optional<double> number;
    if (v && (v->type == FieldValue::Type::kNumber || v->type == FieldValue::Type::kString))
      number = detail::parse_number_literal(v->text);
    if (!v) {
      out.skipped_reason = fmt::format("{} is absent from the event", t.metric_value);
    } else if (!number || !std::isfinite(*number)) {
      out.skipped_reason = fmt::format("{} is not a finite number", t.metric_value);
    }
    if (!out.skipped_reason.empty()) return out;  // DECISIONS 6: a match, but nothing published
    value = *number;
  } else {
    value = *literal_value_;
  }
  std::vector<Dimension> dims;
  for (const auto& d : t.dimensions) {
    const auto& v = values[next++];
    // §7.5: a dimension is published only when its value is found in the event.
    if (!v || v->type == FieldValue::Type::kNull || v->type == FieldValue::Type::kObject ||
        v->type == FieldValue::Type::kArray || v->text.empty())
      continue;
    dims.push_back(Dimension{d.first, v->text});
  }
  out.datapoint = MetricFilterDatapoint{MetricKey(t.metric_namespace, t.metric_name, std::move(dims)), value, t.unit,
                                        timestamp_ms, false};
  return out;
}

}  // namespace cwfilter
