// Finds filter patterns, metric transformations and alarms in infrastructure code and checks them
// with the library's own rules (compile, MetricFilter::create, alarm::validate) plus lint.hpp's
// warnings and the alarm <-> metric filter cross-checks.
#include <cwfilter/alarm.hpp>
#include <cwfilter/iac.hpp>
#include <cwfilter/lint.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/streak.hpp>

#include "iac/tree.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace cwfilter::iac {

std::string_view to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "error";
}

std::string_view to_string(SourceKind kind) noexcept {
  switch (kind) {
    case SourceKind::kUnknown: return "unknown";
    case SourceKind::kCloudFormation: return "cloudformation";
    case SourceKind::kTerraformPlan: return "terraform-plan";
    case SourceKind::kCdkManifest: return "cdk-manifest";
    case SourceKind::kDescribeMetricFilters: return "describe-metric-filters";
    case SourceKind::kDescribeAlarms: return "describe-alarms";
  }
  return "unknown";
}

const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      {"pattern-syntax", Severity::kError, "The filter pattern is rejected by CloudWatch Logs."},
      {"metric-transformation", Severity::kError,
       "The metric transformation is rejected by PutMetricFilter (names, value, default, dimensions, unit)."},
      {"alarm-config", Severity::kError, "The alarm is rejected by PutMetricAlarm."},
      {"document-syntax", Severity::kError, "The file does not parse as JSON/YAML."},
      {"not-checkable", Severity::kInfo,
       "The pattern is built by an intrinsic function or known only after apply; it was not checked."},
      {"mixed-and-or", Severity::kWarning,
       "'||' and '&&' mixed without parentheses: '&&' binds tighter, which is rarely what was meant."},
      {"term-looks-structured", Severity::kWarning,
       "A term pattern that looks like JSON or space-delimited syntax (or the reverse): it matches text, not fields."},
      {"cis-console-login-never-matches", Severity::kWarning,
       "A CIS console sign-in pattern with a value CloudTrail never writes: '=' with it never matches the event it "
       "is meant for, '!=' with it always holds and filters nothing."},
      {"quoted-number-relational", Severity::kWarning,
       "A quoted number compared with <, <=, > or >=: relational operators compare unquoted numbers."},
      {"alarm-metric-not-published", Severity::kWarning,
       "The alarm watches a metric that no metric filter of the same source publishes."},
      {"alarm-insufficient-data", Severity::kWarning,
       "The alarm's metric filter has no defaultValue and TreatMissingData is 'missing': the alarm sits in "
       "INSUFFICIENT_DATA whenever nothing matches."},
      {"alarm-unit-mismatch", Severity::kWarning,
       "The alarm's Unit differs from the unit its metric filter publishes: the alarm never sees the data."},
      {"streak-alarm-config", Severity::kError,
       "A streak alarm of a `cwfilter run` CONFIG is rejected (fields, GroupBy, Threshold, Window, ResetAfter, "
       "actions)."},
      {"streak-action-unsubscribed", Severity::kWarning,
       "A streak alarm's action names an SNS topic that no subscription of the CONFIG delivers."},
      {"streak-log-group-not-run", Severity::kWarning,
       "A streak alarm watches a log group that none of the CONFIG's metric filters reads: `cwfilter run` does not "
       "run it."},
  };
  return kRules;
}

void merge(Report& into, Report other) {
  for (auto& f : other.files) into.files.push_back(std::move(f));
  for (auto& p : other.patterns) into.patterns.push_back(std::move(p));
  for (auto& f : other.findings) into.findings.push_back(std::move(f));
  for (auto& s : other.skipped) into.skipped.push_back(std::move(s));
  for (auto& e : other.path_errors) into.path_errors.push_back(std::move(e));
  into.alarms += other.alarms;
}

namespace {

using detail::Node;
using detail::Pos;

// ---- node helpers ---------------------------------------------------------------------------

// An intrinsic function: a YAML short-form tag, or a one-member object {"Ref"|"Fn::*"|"Condition"}.
bool intrinsic_name(const Node& n, std::string* name) {
  if (!n.tag.empty()) {
    if (name) *name = n.tag;
    return true;
  }
  if (n.is_object() && n.members.size() == 1) {
    const std::string& k = n.members[0].first;
    if (k == "Ref" || k.rfind("Fn::", 0) == 0 || k == "Condition") {
      if (name) *name = k;
      return true;
    }
  }
  return false;
}

// A `!Sub "text"` / {"Fn::Sub": "text"} without any ${...} is a literal in disguise: check it.
const Node* literal_sub(const Node& n) {
  if (n.tag == "!Sub" && n.is_string() && n.text.find("${") == std::string::npos) return &n;
  if (n.is_object() && n.members.size() == 1 && n.members[0].first == "Fn::Sub" &&
      n.members[0].second.is_string() && n.members[0].second.text.find("${") == std::string::npos)
    return &n.members[0].second;
  return nullptr;
}

// The scalar text of a value, or nullopt for intrinsics, objects, arrays and null.
std::optional<std::string> scalar(const Node* n) {
  if (!n) return std::nullopt;
  if (const Node* lit = literal_sub(*n)) return lit->text;
  if (intrinsic_name(*n, nullptr)) return std::nullopt;
  if (n->kind == Node::Kind::kString || n->kind == Node::Kind::kNumber || n->kind == Node::Kind::kBool)
    return n->text;
  return std::nullopt;
}

bool is_unknown(const Node* n) { return n && (intrinsic_name(*n, nullptr) && !literal_sub(*n)); }

std::optional<double> to_number(std::string_view s) {
  double d = 0;
  auto first = s.data(), last = s.data() + s.size();
  if (!s.empty() && s[0] == '+') ++first;
  auto [p, ec] = std::from_chars(first, last, d);
  if (ec != std::errc() || p != last || first == last) return std::nullopt;
  return d;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// ---- what the readers collect ----------------------------------------------------------------

struct FilterItem {
  std::string resource;
  Pos resource_pos;
  bool metric = true;        // metric filter (else subscription filter)
  const Node* pattern = nullptr;
  bool pattern_unknown = false;    // intrinsic / known after apply
  std::string pattern_how;         // why not checkable
  std::optional<std::string> filter_name, log_group;
  // transformation (metric filters), API names -> node
  bool has_transformation = false;
  Pos transformation_pos;
  std::map<std::string, const Node*> fields;  // metricName, metricNamespace, metricValue, defaultValue, unit
  std::vector<std::pair<std::string, const Node*>> dimensions;
  const Node* dimensions_node = nullptr;
  std::size_t transformation_count = 1;
};

struct AlarmItem {
  std::string resource;
  Pos pos;
  std::map<std::string, const Node*> fields;  // PutMetricAlarm names -> node
  std::vector<std::pair<std::string, const Node*>> dimensions;  // Name -> value node
  bool metric_math = false;
};

// A streak alarm of a `cwfilter run` CONFIG (issue 11).
struct StreakItem {
  std::string resource;  // "streakAlarms[0] three-failed-sign-ins"
  const Node* node = nullptr;
};

struct Collected {
  std::string group;  // cross-checks only look inside one group
  std::vector<FilterItem> filters;
  std::vector<AlarmItem> alarms;
  std::vector<StreakItem> streaks;
  // A run CONFIG's subscriptions: the topics it delivers (streak actions are checked against them).
  bool has_subscriptions = false;
  std::set<std::string> subscribed_topics;
};

// ---- CloudFormation ---------------------------------------------------------------------------

void read_cfn_filter(const std::string& id, const Node& res, const Node& props, bool metric,
                     Collected& out) {
  FilterItem f;
  f.resource = fmt::format("{} ({})", id, metric ? "AWS::Logs::MetricFilter" : "AWS::Logs::SubscriptionFilter");
  f.resource_pos = res.pos;
  f.metric = metric;
  if (const Node* p = props.get("FilterPattern")) {
    if (const Node* lit = literal_sub(*p)) {
      f.pattern = lit;
    } else if (std::string fn; intrinsic_name(*p, &fn)) {
      f.pattern = p;
      f.pattern_unknown = true;
      f.pattern_how = fmt::format("built by {} when the stack is deployed", fn);
    } else if (p->is_string() || p->kind == Node::Kind::kNumber) {
      f.pattern = p;
    } else {
      f.pattern = p;
      f.pattern_unknown = true;
      f.pattern_how = "not a string";
    }
  }
  f.filter_name = scalar(props.get("FilterName"));
  if (!f.filter_name && !props.get("FilterName")) f.filter_name = id;  // CFN generates one
  f.log_group = scalar(props.get("LogGroupName"));
  if (metric) {
    if (const Node* mts = props.get("MetricTransformations"); mts && mts->is_array() && !mts->items.empty()) {
      const Node& t = mts->items[0];
      f.has_transformation = true;
      f.transformation_count = mts->items.size();
      f.transformation_pos = t.pos;
      static const std::pair<const char*, const char*> kMap[] = {{"MetricName", "metricName"},
                                                                 {"MetricNamespace", "metricNamespace"},
                                                                 {"MetricValue", "metricValue"},
                                                                 {"DefaultValue", "defaultValue"},
                                                                 {"Unit", "unit"}};
      for (auto [cfn, api] : kMap)
        if (const Node* v = t.get(cfn)) f.fields[api] = v;
      if (const Node* d = t.get("Dimensions"); d && d->is_array()) {
        f.dimensions_node = d;
        for (const Node& item : d->items)
          if (auto k = scalar(item.get("Key"))) f.dimensions.emplace_back(*k, item.get("Value"));
      }
    }
  }
  out.filters.push_back(std::move(f));
}

void read_cfn_alarm(const std::string& id, const Node& res, const Node& props, Collected& out) {
  AlarmItem a;
  a.resource = fmt::format("{} (AWS::CloudWatch::Alarm)", id);
  a.pos = res.pos;
  for (const auto& [k, v] : props.members) {
    if (k == "Dimensions") {
      if (v.is_array())
        for (const Node& d : v.items)
          if (auto name = scalar(d.get("Name"))) a.dimensions.emplace_back(*name, d.get("Value"));
      a.fields[k] = &v;
    } else if (k == "Metrics") {
      a.metric_math = true;
    } else {
      a.fields[k] = &v;
    }
  }
  if (!a.fields.count("AlarmName")) a.fields["AlarmName"] = nullptr;  // CFN generates one
  out.alarms.push_back(std::move(a));
}

void read_cloudformation(const Node& root, Collected& out) {
  const Node* resources = root.get("Resources");
  if (!resources || !resources->is_object()) return;
  for (const auto& [id, res] : resources->members) {
    if (!res.is_object()) continue;
    auto type = scalar(res.get("Type"));
    const Node* props = res.get("Properties");
    static const Node kEmpty = [] {
      Node n;
      n.kind = Node::Kind::kObject;
      return n;
    }();
    if (!props || !props->is_object()) props = &kEmpty;
    if (!type) continue;
    if (*type == "AWS::Logs::MetricFilter") read_cfn_filter(id, res, *props, true, out);
    else if (*type == "AWS::Logs::SubscriptionFilter") read_cfn_filter(id, res, *props, false, out);
    else if (*type == "AWS::CloudWatch::Alarm") read_cfn_alarm(id, res, *props, out);
  }
}

// ---- Terraform plan -----------------------------------------------------------------------------

void read_tf_resource(const std::string& address, const std::string& type, const Node& values,
                      Pos pos, Collected& out) {
  if (type == "aws_cloudwatch_log_metric_filter" || type == "aws_cloudwatch_log_subscription_filter") {
    FilterItem f;
    f.resource = address;
    f.resource_pos = pos;
    f.metric = type == "aws_cloudwatch_log_metric_filter";
    const Node* p = values.get(f.metric ? "pattern" : "filter_pattern");
    if (p && p->is_string()) {
      f.pattern = p;
    } else {
      f.pattern_unknown = true;
      f.pattern_how = "known only after apply";
      f.pattern = p;
    }
    f.filter_name = scalar(values.get("name"));
    f.log_group = scalar(values.get("log_group_name"));
    if (f.metric) {
      if (const Node* mts = values.get("metric_transformation"); mts && mts->is_array() && !mts->items.empty()) {
        const Node& t = mts->items[0];
        f.has_transformation = true;
        f.transformation_count = mts->items.size();
        f.transformation_pos = t.pos;
        static const std::pair<const char*, const char*> kMap[] = {
            {"name", "metricName"}, {"namespace", "metricNamespace"}, {"value", "metricValue"},
            {"default_value", "defaultValue"}, {"unit", "unit"}};
        for (auto [tf, api] : kMap)
          if (const Node* v = t.get(tf); v && v->kind != Node::Kind::kNull) {
            // Terraform writes an unset default_value/unit as "".
            if ((std::string_view(tf) == "default_value" || std::string_view(tf) == "unit") && v->is_string() &&
                v->text.empty())
              continue;
            f.fields[api] = v;
          }
        if (const Node* d = t.get("dimensions"); d && d->is_object()) {
          f.dimensions_node = d;
          for (const auto& [k, v] : d->members) f.dimensions.emplace_back(k, &v);
        }
      }
    }
    out.filters.push_back(std::move(f));
  } else if (type == "aws_cloudwatch_metric_alarm") {
    AlarmItem a;
    a.resource = address;
    a.pos = pos;
    static const std::pair<const char*, const char*> kMap[] = {
        {"alarm_name", "AlarmName"}, {"alarm_description", "AlarmDescription"}, {"namespace", "Namespace"},
        {"metric_name", "MetricName"}, {"statistic", "Statistic"}, {"extended_statistic", "ExtendedStatistic"},
        {"period", "Period"}, {"evaluation_periods", "EvaluationPeriods"},
        {"datapoints_to_alarm", "DatapointsToAlarm"}, {"threshold", "Threshold"},
        {"comparison_operator", "ComparisonOperator"}, {"treat_missing_data", "TreatMissingData"},
        {"unit", "Unit"}, {"evaluate_low_sample_count_percentiles", "EvaluateLowSampleCountPercentile"},
        {"actions_enabled", "ActionsEnabled"}, {"ok_actions", "OKActions"}, {"alarm_actions", "AlarmActions"},
        {"insufficient_data_actions", "InsufficientDataActions"}};
    for (auto [tf, api] : kMap) {
      const Node* v = values.get(tf);
      if (!v || v->kind == Node::Kind::kNull) continue;
      if (v->is_string() && v->text.empty()) continue;  // Terraform's "unset"
      if (v->is_array() && v->items.empty()) continue;
      a.fields[api] = v;
    }
    if (const Node* d = values.get("dimensions"); d && d->is_object()) {
      a.fields["Dimensions"] = d;
      for (const auto& [k, v] : d->members) a.dimensions.emplace_back(k, &v);
    }
    if (const Node* mq = values.get("metric_query"); mq && mq->is_array() && !mq->items.empty()) a.metric_math = true;
    out.alarms.push_back(std::move(a));
  }
}

void read_tf_module(const Node& module, Collected& out) {
  if (const Node* rs = module.get("resources"); rs && rs->is_array()) {
    for (const Node& r : rs->items) {
      auto address = scalar(r.get("address"));
      auto type = scalar(r.get("type"));
      auto mode = scalar(r.get("mode"));
      const Node* values = r.get("values");
      if (!address || !type || !values || (mode && *mode != "managed")) continue;
      read_tf_resource(*address, *type, *values, r.pos, out);
    }
  }
  if (const Node* cs = module.get("child_modules"); cs && cs->is_array())
    for (const Node& c : cs->items) read_tf_module(c, out);
}

void read_terraform_plan(const Node& root, Collected& out) {
  if (const Node* pv = root.get("planned_values"); pv && pv->is_object()) {
    if (const Node* rm = pv->get("root_module")) read_tf_module(*rm, out);
    return;
  }
  // `terraform show -json` of a state: {"values": {"root_module": ...}}
  if (const Node* v = root.get("values"); v && v->is_object()) {
    if (const Node* rm = v->get("root_module")) read_tf_module(*rm, out);
    return;
  }
  if (const Node* rc = root.get("resource_changes"); rc && rc->is_array()) {
    for (const Node& r : rc->items) {
      auto address = scalar(r.get("address"));
      auto type = scalar(r.get("type"));
      const Node* change = r.get("change");
      const Node* after = change ? change->get("after") : nullptr;
      if (!address || !type || !after || !after->is_object()) continue;
      read_tf_resource(*address, *type, *after, r.pos, out);
    }
  }
}

// ---- describe-* output --------------------------------------------------------------------------

void read_describe_metric_filters(const Node& root, Collected& out) {
  const Node* list = root.get("metricFilters");
  if (!list || !list->is_array()) return;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const Node& mf = list->items[i];
    FilterItem f;
    f.filter_name = scalar(mf.get("filterName"));
    f.log_group = scalar(mf.get("logGroupName"));
    f.resource = fmt::format("metricFilters[{}] {}", i, f.filter_name.value_or(""));
    f.resource_pos = mf.pos;
    f.pattern = mf.get("filterPattern");
    if (f.pattern && !f.pattern->is_string()) {
      f.pattern_unknown = true;
      f.pattern_how = "not a string";
    }
    if (const Node* mts = mf.get("metricTransformations"); mts && mts->is_array() && !mts->items.empty()) {
      const Node& t = mts->items[0];
      f.has_transformation = true;
      f.transformation_count = mts->items.size();
      f.transformation_pos = t.pos;
      for (const char* k : {"metricName", "metricNamespace", "metricValue", "defaultValue", "unit"})
        if (const Node* v = t.get(k); v && v->kind != Node::Kind::kNull) f.fields[k] = v;
      if (const Node* d = t.get("dimensions"); d && d->is_object()) {
        f.dimensions_node = d;
        for (const auto& [k, v] : d->members) f.dimensions.emplace_back(k, &v);
      }
    }
    out.filters.push_back(std::move(f));
  }
}

void read_describe_alarms(const Node& root, Collected& out, const char* list_key = "MetricAlarms") {
  const Node* list = root.get(list_key);
  if (!list || !list->is_array()) return;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const Node& al = list->items[i];
    if (!al.is_object()) continue;
    AlarmItem a;
    a.resource = fmt::format("{}[{}] {}", list_key, i, scalar(al.get("AlarmName")).value_or(""));
    a.pos = al.pos;
    // Only PutMetricAlarm's inputs: DescribeAlarms adds state and ARN fields.
    static const std::set<std::string> kInputs = {
        "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic",
        "ExtendedStatistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
        "ComparisonOperator", "TreatMissingData", "Unit", "EvaluateLowSampleCountPercentile",
        "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions"};
    for (const auto& [k, v] : al.members) {
      if (k == "Metrics") {
        if (v.is_array() && !v.items.empty()) a.metric_math = true;
        continue;
      }
      if (!kInputs.count(k)) continue;
      if (k == "Dimensions" && v.is_array())
        for (const Node& d : v.items)
          if (auto name = scalar(d.get("Name"))) a.dimensions.emplace_back(*name, d.get("Value"));
      a.fields[k] = &v;
    }
    out.alarms.push_back(std::move(a));
  }
}

// ---- cwfilter run CONFIG ------------------------------------------------------------------------------
//
// {"metricFilters": [describe-metric-filters items], "metricAlarms": [describe-alarms items],
//  "subscriptions": [...], "streakAlarms": [...]}. Recognised by streakAlarms, or by metricFilters
// together with the lower-case metricAlarms that only a run CONFIG has. One CONFIG is one source.

bool is_run_config(const Node& root) {
  if (!root.is_object()) return false;
  if (const Node* s = root.get("streakAlarms"); s && s->is_array()) return true;
  const Node* f = root.get("metricFilters");
  const Node* a = root.get("metricAlarms");
  return f && f->is_array() && a && a->is_array();
}

void read_run_config(const Node& root, Collected& out) {
  read_describe_metric_filters(root, out);
  read_describe_alarms(root, out, "metricAlarms");
  if (const Node* subs = root.get("subscriptions"); subs && subs->is_array()) {
    out.has_subscriptions = true;
    for (const Node& sub : subs->items)
      if (auto topic = scalar(sub.get("TopicArn"))) out.subscribed_topics.insert(*topic);
  }
  const Node* list = root.get("streakAlarms");
  if (!list || !list->is_array()) return;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const Node& item = list->items[i];
    const std::string name = item.is_object() ? scalar(item.get("AlarmName")).value_or("") : "";
    out.streaks.push_back(StreakItem{fmt::format("streakAlarms[{}]{}{}", i, name.empty() ? "" : " ", name), &item});
  }
}

// A tree value back to JSON text (numbers keep their lexeme), for the library's own parser.
void write_node(rapidjson::Writer<rapidjson::StringBuffer>& w, const Node& n) {
  switch (n.kind) {
    case Node::Kind::kNull: w.Null(); break;
    case Node::Kind::kBool: w.Bool(n.text == "true"); break;
    case Node::Kind::kNumber: w.RawValue(n.text.data(), n.text.size(), rapidjson::kNumberType); break;
    case Node::Kind::kString: w.String(n.text.data(), static_cast<rapidjson::SizeType>(n.text.size())); break;
    case Node::Kind::kArray:
      w.StartArray();
      for (const Node& item : n.items) write_node(w, item);
      w.EndArray();
      break;
    case Node::Kind::kObject:
      w.StartObject();
      for (const auto& [k, v] : n.members) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        write_node(w, v);
      }
      w.EndObject();
      break;
  }
}

// ---- detection ------------------------------------------------------------------------------------

SourceKind detect_tree(const Node& root) {
  if (!root.is_object()) return SourceKind::kUnknown;
  if (const Node* r = root.get("Resources"); r && r->is_object()) return SourceKind::kCloudFormation;
  if (root.get("planned_values") || root.get("resource_changes") ||
      (root.get("terraform_version") && root.get("values")))
    return SourceKind::kTerraformPlan;
  if (const Node* m = root.get("metricFilters"); m && m->is_array()) return SourceKind::kDescribeMetricFilters;
  if (const Node* m = root.get("MetricAlarms"); m && m->is_array()) return SourceKind::kDescribeAlarms;
  if (const Node* a = root.get("artifacts"); a && a->is_object() && root.get("version"))
    return SourceKind::kCdkManifest;
  return SourceKind::kUnknown;
}

bool looks_json(std::string_view text) {
  std::size_t i = text.find_first_not_of(" \t\r\n");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = text.find_first_not_of(" \t\r\n", 3);
  return i != std::string_view::npos && (text[i] == '{' || text[i] == '[');
}

bool has_extension(std::string_view name, std::initializer_list<std::string_view> exts) {
  for (auto e : exts)
    if (name.size() >= e.size() && iequals(name.substr(name.size() - e.size()), e)) return true;
  return false;
}

Result<Node, detail::ParseFailure> parse_any(std::string_view file_name, std::string_view text) {
  if (looks_json(text) || has_extension(file_name, {".json"})) return detail::parse_json(text);
  return detail::parse_yaml(text);
}

// ---- checking ------------------------------------------------------------------------------------

Location loc(const std::string& file, Pos p) { return {file, p.line, p.column}; }

// PutMetricAlarm JSON for alarm::parse_put_metric_alarm from the collected fields. Values built by
// intrinsic functions get a neutral placeholder so that the rest of the alarm is still checked.
std::string alarm_json(const AlarmItem& a) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  for (const auto& [key, node] : a.fields) {
    if (key == "Dimensions") {
      w.Key("Dimensions");
      w.StartArray();
      for (const auto& [name, value] : a.dimensions) {
        w.StartObject();
        w.Key("Name");
        str(name);
        w.Key("Value");
        str(scalar(value).value_or("unresolved"));
        w.EndObject();
      }
      w.EndArray();
      continue;
    }
    if (key == "AlarmName" && (!node || !scalar(node))) {
      w.Key("AlarmName");
      str("generated-by-cloudformation");
      continue;
    }
    if (!node) continue;
    w.Key(key.c_str());
    if (key == "OKActions" || key == "AlarmActions" || key == "InsufficientDataActions") {
      w.StartArray();
      if (node->is_array())
        for (const Node& item : node->items) str(scalar(&item).value_or("arn:aws:sns:us-east-1:000000000000:unresolved"));
      w.EndArray();
      continue;
    }
    auto text = scalar(node);
    if (key == "Period" || key == "EvaluationPeriods" || key == "DatapointsToAlarm") {
      auto n = text ? to_number(*text) : std::nullopt;
      if (!text) w.Int(key == "Period" ? 60 : 1);
      else if (n && *n == static_cast<double>(static_cast<long long>(*n))) w.Int64(static_cast<long long>(*n));
      else str(*text);  // the library reports the type error
    } else if (key == "Threshold") {
      auto n = text ? to_number(*text) : std::nullopt;
      if (!text) w.Double(0);
      else if (n) w.Double(*n);
      else str(*text);
    } else if (key == "ActionsEnabled") {
      if (text && (*text == "false" || *text == "False")) w.Bool(false);
      else w.Bool(true);
    } else if (!text) {
      // Intrinsic: a placeholder that passes validation for the field.
      if (key == "Statistic") str("Sum");
      else if (key == "ComparisonOperator") str("GreaterThanThreshold");
      else if (key == "TreatMissingData") str("missing");
      else if (key == "Unit") str("None");
      else if (key == "ExtendedStatistic") str("p99");
      else if (key == "EvaluateLowSampleCountPercentile") str("evaluate");
      else str("unresolved");
    } else {
      str(*text);
    }
  }
  w.EndObject();
  return buf.GetString();
}

// The node a library message is about: the first field whose name the message mentions.
const Node* field_in_message(const std::map<std::string, const Node*>& fields, std::string_view message) {
  const Node* best = nullptr;
  std::size_t best_at = std::string_view::npos;
  for (const auto& [key, node] : fields) {
    if (!node) continue;
    std::string_view k = key;
    for (std::size_t i = 0; i + k.size() <= message.size(); ++i) {
      if (iequals(message.substr(i, k.size()), k) &&
          (i + k.size() == message.size() || !std::isalpha(static_cast<unsigned char>(message[i + k.size()])))) {
        if (i < best_at || (i == best_at && best && k.size() > 0)) {
          best_at = i;
          best = node;
        }
        break;
      }
    }
  }
  return best;
}

class Checker {
 public:
  explicit Checker(const CheckOptions& options) : options_(options) {}

  void add(const std::string& file, Collected collected, std::shared_ptr<const Node> root) {
    roots_.push_back(std::move(root));
    for (auto& f : collected.filters) check_filter(file, f);
    for (auto& a : collected.alarms) check_alarm(file, a);
    check_streaks(file, collected);
    report_.alarms += collected.alarms.size() + collected.streaks.size();
    groups_[collected.group].push_back({file, std::move(collected)});
  }

  Report finish() {
    if (options_.lint)
      for (const auto& [group, docs] : groups_) cross_check(docs);
    // Files in the order read, then by position (findings of one file were produced by kind).
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < report_.files.size(); ++i) order.emplace(report_.files[i], i);
    std::stable_sort(report_.findings.begin(), report_.findings.end(), [&](const Finding& a, const Finding& b) {
      auto oa = order.count(a.location.file) ? order[a.location.file] : 0;
      auto ob = order.count(b.location.file) ? order[b.location.file] : 0;
      return std::tie(oa, a.location.line, a.location.column) < std::tie(ob, b.location.line, b.location.column);
    });
    return std::move(report_);
  }

  Report& report() { return report_; }
  const CheckOptions& options() const { return options_; }

 private:
  CheckOptions options_;
  Report report_;
  std::vector<std::shared_ptr<const Node>> roots_;  // keep the trees the items point into
  std::map<std::string, std::vector<std::pair<std::string, Collected>>> groups_;

  void add_finding(Severity severity, std::string rule, std::string message, Location where,
                   std::string resource, std::string pattern = {}, std::optional<std::size_t> offset = {}) {
    Finding f;
    f.severity = severity;
    f.rule = std::move(rule);
    f.message = std::move(message);
    f.location = std::move(where);
    f.resource = std::move(resource);
    f.pattern = std::move(pattern);
    f.pattern_offset = offset;
    report_.findings.push_back(std::move(f));
  }

  void check_filter(const std::string& file, const FilterItem& f) {
    FoundPattern found;
    found.resource = f.resource;
    found.location = loc(file, f.pattern ? f.pattern->pos : f.resource_pos);
    if (f.pattern_unknown) {
      found.checkable = false;
      report_.patterns.push_back(found);
      add_finding(Severity::kInfo, "not-checkable", fmt::format("filter pattern not checkable: {}", f.pattern_how),
                  found.location, f.resource);
      return;
    }
    // A missing FilterPattern is what AWS stores as "" (match everything): it is valid.
    const std::string pattern = f.pattern ? f.pattern->text : std::string();
    found.pattern = pattern;
    auto compiled = compile(pattern, options_.pattern_options);
    if (!compiled) {
      const CompileError& e = compiled.error();
      Finding fi;
      fi.severity = Severity::kError;
      fi.rule = "pattern-syntax";
      fi.message = e.message;
      fi.location = loc(file, f.pattern ? f.pattern->position_of(e.offset) : f.resource_pos);
      fi.resource = f.resource;
      fi.pattern = pattern;
      fi.pattern_offset = e.offset;
      fi.compile_error = e;
      report_.findings.push_back(std::move(fi));
      report_.patterns.push_back(found);
      return;
    }
    found.family = compiled->family();
    report_.patterns.push_back(found);
    if (options_.lint) {
      for (const auto& w : lint::check_pattern(*compiled))
        add_finding(Severity::kWarning, w.rule, w.message,
                    loc(file, f.pattern ? f.pattern->position_of(w.offset) : f.resource_pos), f.resource, pattern,
                    w.offset);
    }
    if (f.metric && f.has_transformation) check_transformation(file, f, pattern);
  }

  void check_transformation(const std::string& file, const FilterItem& f, const std::string& pattern) {
    // Anything built by an intrinsic is not checked; the rest is, with the library's messages.
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
    w.StartObject();
    for (const auto& [key, node] : f.fields) {
      auto text = scalar(node);
      w.Key(key.c_str());
      if (!text) {
        if (key == "defaultValue") w.Double(0);
        else if (key == "unit") str("None");
        else if (key == "metricValue") str("1");
        else str("unresolved");
      } else if (key == "defaultValue") {
        if (auto n = to_number(*text)) w.Double(*n);
        else str(*text);
      } else {
        str(*text);
      }
    }
    if (!f.dimensions.empty() || f.dimensions_node) {
      w.Key("dimensions");
      w.StartObject();
      for (const auto& [k, v] : f.dimensions) {
        w.Key(k.c_str());
        str(scalar(v).value_or("$.unresolved"));
      }
      w.EndObject();
    }
    w.EndObject();
    auto report_error = [&](const std::string& message) {
      std::map<std::string, const Node*> fields(f.fields.begin(), f.fields.end());
      if (f.dimensions_node) fields["dimensions"] = f.dimensions_node;
      const Node* at = field_in_message(fields, message);
      add_finding(Severity::kError, "metric-transformation", message,
                  loc(file, at ? at->pos : f.transformation_pos), f.resource);
    };
    if (f.transformation_count > 1) {
      report_error(fmt::format(
          "1 validation error detected: Value '[...]' at 'metricTransformations' failed to satisfy constraint: "
          "Member must have length less than or equal to 1 ({} given)",
          f.transformation_count));
      return;
    }
    auto ts = parse_metric_transformations(std::string("[") + buf.GetString() + "]");
    if (!ts) {
      report_error(ts.error().message);
      return;
    }
    MetricFilterDefinition def;
    def.filter_name = f.filter_name.value_or("unresolved");
    def.log_group_name = f.log_group.value_or("unresolved");
    def.filter_pattern = pattern;
    def.metric_transformations = std::move(*ts);
    auto created = MetricFilter::create(def, options_.pattern_options);
    if (!created) report_error(created.error().message);
  }

  // A pattern of a streak alarm: compiled and linted like a filter pattern. False when it does not
  // compile (reported with its position).
  bool check_streak_pattern(const std::string& file, const StreakItem& s, const char* field, const Node& p) {
    const std::string resource = fmt::format("{} {}", s.resource, field);
    FoundPattern found;
    found.resource = resource;
    found.location = loc(file, p.pos);
    found.pattern = p.text;
    auto compiled = compile(p.text, options_.pattern_options);
    if (!compiled) {
      const CompileError& e = compiled.error();
      Finding fi;
      fi.severity = Severity::kError;
      fi.rule = "pattern-syntax";
      fi.message = e.message;
      fi.location = loc(file, p.position_of(e.offset));
      fi.resource = resource;
      fi.pattern = p.text;
      fi.pattern_offset = e.offset;
      fi.compile_error = e;
      report_.findings.push_back(std::move(fi));
      report_.patterns.push_back(found);
      return false;
    }
    found.family = compiled->family();
    report_.patterns.push_back(found);
    if (options_.lint)
      for (const auto& w : lint::check_pattern(*compiled))
        add_finding(Severity::kWarning, w.rule, w.message, loc(file, p.position_of(w.offset)), resource, p.text,
                    w.offset);
    return true;
  }

  // Streak alarms are checked by the library that runs them (streak::parse_streak_alarms_json), one
  // item at a time so that each message can be placed on the field it names.
  void check_streaks(const std::string& file, const Collected& c) {
    std::set<std::string> filter_groups;
    for (const auto& f : c.filters)
      if (f.metric && f.log_group) filter_groups.insert(*f.log_group);
    std::map<std::string, std::string> names;  // AlarmName -> first resource
    for (const StreakItem& s : c.streaks) {
      const Node& item = *s.node;
      if (!item.is_object()) {
        add_finding(Severity::kError, "streak-alarm-config", "a streak alarm must be a JSON object", loc(file, item.pos),
                    s.resource);
        continue;
      }
      std::map<std::string, const Node*> fields;
      for (const auto& [k, v] : item.members) fields[k] = &v;
      bool patterns_ok = true;
      for (const char* field : {"FailurePattern", "SuccessPattern"})
        if (const Node* p = item.get(field); p && p->is_string())
          patterns_ok = check_streak_pattern(file, s, field, *p) && patterns_ok;
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      write_node(w, item);
      auto parsed = streak::parse_streak_alarms_json(buf.GetString(), options_.pattern_options);
      if (!parsed) {
        std::string message = parsed.error().message;
        if (auto colon = message.find("]: "); message.rfind("streakAlarms[", 0) == 0 && colon != std::string::npos)
          message.erase(0, colon + 3);
        // Pattern errors were reported above, with their position inside the pattern.
        const bool pattern_error = message.rfind("FailurePattern: ", 0) == 0 || message.rfind("SuccessPattern: ", 0) == 0;
        if (!(pattern_error && !patterns_ok)) {
          const Node* at = field_in_message(fields, message);
          // "GroupBy[1]: ...": the item itself.
          if (const Node* group = item.get("GroupBy"); at && at == group && group->is_array()) {
            // "GroupBy[1]: ..." or "GroupBy '$host' is not ...": the item (or reference) concerned.
            if (std::size_t i = 0; std::sscanf(message.c_str(), "GroupBy[%zu]", &i) == 1 && i < group->items.size())
              at = &group->items[i];
            for (const Node& g : group->items) {
              if (g.is_string() && message.find("'" + g.text + "'") != std::string::npos) at = &g;
              for (const Node& alt : g.items)
                if (alt.is_string() && message.find("'" + alt.text + "'") != std::string::npos) at = &alt;
            }
          }
          add_finding(Severity::kError, "streak-alarm-config", message, loc(file, at ? at->pos : item.pos), s.resource);
        }
        continue;
      }
      const streak::StreakAlarm& a = parsed->front().alarm();
      if (auto [it, fresh] = names.emplace(a.alarm_name, s.resource); !fresh) {
        const Node* at = item.get("AlarmName");
        add_finding(Severity::kError, "streak-alarm-config",
                    fmt::format("AlarmName '{}' is used by another streak alarm ({})", a.alarm_name, it->second),
                    loc(file, at ? at->pos : item.pos), s.resource);
      }
      if (!options_.lint) continue;
      if (!filter_groups.empty() && !filter_groups.count(a.log_group_name)) {
        const Node* at = item.get("LogGroupName");
        add_finding(Severity::kWarning, "streak-log-group-not-run",
                    fmt::format("log group '{}' is read by none of this CONFIG's metric filters, so `cwfilter run` "
                                "(which reads one log group) does not run this streak alarm",
                                a.log_group_name),
                    loc(file, at ? at->pos : item.pos), s.resource);
      }
      if (!c.has_subscriptions || !a.actions_enabled) continue;
      for (const char* field : {"AlarmActions", "OKActions"}) {
        const Node* list = item.get(field);
        if (!list || !list->is_array()) continue;
        for (std::size_t i = 0; i < list->items.size(); ++i) {
          const Node& arn = list->items[i];
          if (!arn.is_string() || arn.text.find(":sns:") == std::string::npos || c.subscribed_topics.count(arn.text))
            continue;
          add_finding(Severity::kWarning, "streak-action-unsubscribed",
                      fmt::format("{}[{}] '{}' is not the TopicArn of any subscription in this CONFIG: its "
                                  "notifications are delivered nowhere",
                                  field, i, arn.text),
                      loc(file, arn.pos), s.resource);
        }
      }
    }
  }

  void check_alarm(const std::string& file, const AlarmItem& a) {
    auto parsed = alarm::parse_put_metric_alarm(alarm_json(a));
    if (!parsed) {
      const Node* at = field_in_message(a.fields, parsed.error().message);
      add_finding(Severity::kError, "alarm-config", parsed.error().message, loc(file, at ? at->pos : a.pos),
                  a.resource);
    }
  }

  struct Published {
    const FilterItem* filter;
    bool name_known;
  };

  void cross_check(const std::vector<std::pair<std::string, Collected>>& docs) {
    std::vector<const FilterItem*> filters;
    for (const auto& [file, c] : docs)
      for (const auto& f : c.filters)
        if (f.metric && f.has_transformation) filters.push_back(&f);
    if (filters.empty()) return;  // the alarms watch something else (no filter in this source)
    for (const auto& [file, c] : docs) {
      for (const auto& a : c.alarms) {
        if (a.metric_math) continue;
        auto get = [&](const char* k) -> const Node* {
          auto it = a.fields.find(k);
          return it == a.fields.end() ? nullptr : it->second;
        };
        auto ns = scalar(get("Namespace"));
        auto name = scalar(get("MetricName"));
        if (!ns || !name || ns->rfind("AWS/", 0) == 0) continue;
        std::vector<const FilterItem*> publishing;
        bool maybe = false;
        for (const FilterItem* f : filters) {
          auto fns = scalar(f->fields.count("metricNamespace") ? f->fields.at("metricNamespace") : nullptr);
          auto fname = scalar(f->fields.count("metricName") ? f->fields.at("metricName") : nullptr);
          if (!fns || !fname) {
            // Built by an intrinsic: could be this metric, unless the part that is known differs.
            if ((!fns || *fns == *ns) && (!fname || *fname == *name)) maybe = true;
            continue;
          }
          if (*fns == *ns && *fname == *name) publishing.push_back(f);
        }
        const Node* name_node = get("MetricName");
        if (publishing.empty()) {
          if (!maybe)
            add_finding(Severity::kWarning, "alarm-metric-not-published",
                        fmt::format("alarm watches {}/{} but no metric filter in this source publishes it", *ns,
                                    *name),
                        loc(file, name_node ? name_node->pos : a.pos), a.resource);
          continue;
        }
        // TreatMissingData unset or 'missing', and no filter emits a defaultValue.
        const Node* treat_node = get("TreatMissingData");
        auto treat = scalar(treat_node);
        bool treat_missing = (!treat_node || (treat && *treat == "missing"));
        bool any_default = false;
        for (const FilterItem* f : publishing)
          if (f->fields.count("defaultValue")) any_default = true;
        if (treat_missing && !any_default)
          add_finding(Severity::kWarning, "alarm-insufficient-data",
                      fmt::format("alarm on {}/{}: the metric filter has no defaultValue and TreatMissingData is "
                                  "'missing', so the alarm sits in INSUFFICIENT_DATA whenever no event matches "
                                  "(set TreatMissingData to notBreaching, or a defaultValue of 0)",
                                  *ns, *name),
                      loc(file, treat_node ? treat_node->pos : (name_node ? name_node->pos : a.pos)), a.resource);
        // Unit: CloudWatch keeps each unit a separate series; an alarm with a Unit sees only that one.
        const Node* unit_node = get("Unit");
        if (auto unit = scalar(unit_node)) {
          bool any_same = false;
          std::string published_units;
          for (const FilterItem* f : publishing) {
            const Node* fu = f->fields.count("unit") ? f->fields.at("unit") : nullptr;
            if (is_unknown(fu)) any_same = true;
            std::string u = scalar(fu).value_or("None");
            if (u == *unit) any_same = true;
            if (!published_units.empty()) published_units += ", ";
            published_units += u;
          }
          if (!any_same)
            add_finding(Severity::kWarning, "alarm-unit-mismatch",
                        fmt::format("alarm reads Unit {} but the metric filter publishes {}/{} with unit {}: the "
                                    "alarm never sees these datapoints and stays in INSUFFICIENT_DATA",
                                    *unit, *ns, *name, published_units),
                        loc(file, unit_node->pos), a.resource);
        }
      }
    }
  }
};

struct Document {
  SourceKind kind = SourceKind::kUnknown;
  std::shared_ptr<Node> root;
  std::optional<detail::ParseFailure> failure;
};

Document load(std::string_view file_name, std::string_view text) {
  Document d;
  auto parsed = parse_any(file_name, text);
  if (!parsed) {
    d.failure = parsed.error();
    return d;
  }
  d.root = std::make_shared<Node>(std::move(*parsed));
  d.kind = detect_tree(*d.root);
  return d;
}

std::optional<std::string> read_whole(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return ss.str();
}

// Adds one document to the checker. Returns false when its kind is unknown.
bool add_document(Checker& checker, const std::string& file, std::string_view text, bool explicit_file,
                  std::set<std::string>& seen, int depth);

bool add_cdk_manifest(Checker& checker, const std::string& file, const Node& root, std::set<std::string>& seen,
                      int depth) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(file).parent_path();
  checker.report().files.push_back(file);
  const Node* artifacts = root.get("artifacts");
  for (const auto& [name, art] : artifacts->members) {
    auto type = scalar(art.get("type"));
    const Node* props = art.get("properties");
    if (!type || !props) continue;
    fs::path target;
    if (*type == "aws:cloudformation:stack") {
      if (auto t = scalar(props->get("templateFile"))) target = dir / *t;
    } else if (*type == "cdk:cloud-assembly" && depth < 8) {
      if (auto d = scalar(props->get("directoryName"))) target = dir / *d / "manifest.json";
    }
    if (target.empty()) continue;
    auto text = read_whole(target);
    if (!text) {
      Finding unreadable;  // built member by member: GCC 12 warns (falsely) of an uninitialised
                           // Location::file when the aggregate is a push_back temporary
      unreadable.rule = "document-syntax";
      unreadable.message = fmt::format("cannot read {} (listed by the manifest)", target.string());
      unreadable.location.file = file;
      unreadable.resource = name;
      checker.report().findings.push_back(std::move(unreadable));
      continue;
    }
    add_document(checker, target.lexically_normal().string(), *text, true, seen, depth + 1);
  }
  return true;
}

bool add_document(Checker& checker, const std::string& file, std::string_view text, bool explicit_file,
                  std::set<std::string>& seen, int depth) {
  if (!seen.insert(file).second) return true;
  Document d = load(file, text);
  if (d.failure) {
    // A file that fails to parse is reported when it was named (unless unknown files are skipped),
    // or when it looks like a template.
    bool looks_relevant = (explicit_file && !checker.options().skip_unknown) ||
                          text.find("AWS::Logs::") != std::string_view::npos ||
                          text.find("AWS::CloudWatch::") != std::string_view::npos ||
                          text.find("aws_cloudwatch_") != std::string_view::npos;
    if (!looks_relevant) return false;
    checker.report().files.push_back(file);
    checker.report().findings.push_back(Finding{Severity::kError, "document-syntax",
                                                fmt::format("cannot parse: {}", d.failure->message),
                                                {file, d.failure->pos.line, d.failure->pos.column}, {}, {}, {}, {}});
    return true;
  }
  Collected c;
  if (is_run_config(*d.root)) {
    read_run_config(*d.root, c);
    c.group = file;
    checker.report().files.push_back(file);
    checker.add(file, std::move(c), d.root);
    return true;
  }
  switch (d.kind) {
    case SourceKind::kUnknown: return false;
    case SourceKind::kCdkManifest: return add_cdk_manifest(checker, file, *d.root, seen, depth);
    case SourceKind::kCloudFormation: read_cloudformation(*d.root, c); c.group = file; break;
    case SourceKind::kTerraformPlan: read_terraform_plan(*d.root, c); c.group = file; break;
    // An account's describe-* dumps are one source: alarms are matched against all its filters.
    case SourceKind::kDescribeMetricFilters: read_describe_metric_filters(*d.root, c); c.group = "<describe>"; break;
    case SourceKind::kDescribeAlarms: read_describe_alarms(*d.root, c); c.group = "<describe>"; break;
  }
  checker.report().files.push_back(file);
  checker.add(file, std::move(c), d.root);
  return true;
}

bool skipped_directory(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  return (name.size() > 1 && name[0] == '.' && name != "..") || name == "node_modules" || name == ".terraform" ||
         name.rfind("asset.", 0) == 0;
}

constexpr std::string_view kUnknownKind =
    "not a CloudFormation template, Terraform plan JSON, cdk.out manifest, or describe-metric-filters / "
    "describe-alarms output";

// Checks one path; a problem with it (or with a file under it) is recorded in the report's
// path_errors and the rest goes on.
void add_path(Checker& checker, const std::string& path, std::set<std::string>& seen) {
  namespace fs = std::filesystem;
  auto path_error = [&checker](const std::string& p, std::string reason) {
    checker.report().path_errors.push_back(PathIssue{p, std::move(reason)});
  };
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return path_error(path, "cannot read: no such file or directory");
  if (fs::is_directory(st)) {
    // A cdk.out directory: its manifest lists the templates.
    if (fs::exists(fs::path(path) / "manifest.json") && fs::exists(fs::path(path) / "cdk.out")) {
      auto text = read_whole(fs::path(path) / "manifest.json");
      if (text) {
        add_document(checker, (fs::path(path) / "manifest.json").lexically_normal().string(), *text, true, seen, 0);
        return;
      }
    }
    std::vector<fs::path> entries;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
    if (ec) return path_error(path, fmt::format("cannot read directory: {}", ec.message()));
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) {
      std::error_code ec2;
      if (fs::is_directory(e, ec2)) {
        if (!skipped_directory(e)) add_path(checker, e.string(), seen);
      } else if (has_extension(e.filename().string(), {".json", ".yaml", ".yml", ".template"})) {
        auto text = read_whole(e);
        if (!text) {
          path_error(e.string(), "cannot read");
          continue;
        }
        add_document(checker, e.lexically_normal().string(), *text, false, seen, 0);
      }
    }
    return;
  }
  auto text = read_whole(path);
  if (!text) return path_error(path, "cannot read");
  if (add_document(checker, fs::path(path).lexically_normal().string(), *text, true, seen, 0)) return;
  if (checker.options().skip_unknown)
    checker.report().skipped.push_back(PathIssue{path, std::string(kUnknownKind)});
  else
    path_error(path, std::string(kUnknownKind));
}

}  // namespace

SourceKind detect(std::string_view file_name, std::string_view text) {
  auto parsed = parse_any(file_name, text);
  if (!parsed) return SourceKind::kUnknown;
  return detect_tree(*parsed);
}

Result<Report, Error> check_document(std::string_view file_name, std::string_view text, const CheckOptions& options) {
  Checker checker(options);
  std::set<std::string> seen;
  if (!add_document(checker, std::string(file_name), text, true, seen, 0))
    return Error{fmt::format("{}: not a supported document", file_name)};
  return checker.finish();
}

Result<Report, Error> check_paths(const std::vector<std::string>& paths, const CheckOptions& options) {
  Checker checker(options);
  std::set<std::string> seen;
  for (const auto& p : paths) add_path(checker, p, seen);
  return checker.finish();
}

Result<Report, Error> check_path(const std::string& path, const CheckOptions& options) {
  auto report = check_paths({path}, options);
  if (report && !report->path_errors.empty())
    return Error{fmt::format("{}: {}", report->path_errors.front().path, report->path_errors.front().reason)};
  return report;
}

}  // namespace cwfilter::iac
