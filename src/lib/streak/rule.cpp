// Streak alarms: configuration (JSON), validation, compiled rule and event classification.
#include "streak/internal.hpp"

#include "pattern/compiled.hpp"
#include "pattern/json_event.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace cwfilter::streak {
namespace {

// AWS lengths count code points.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::optional<Error> check_length(std::string_view what, std::string_view value, std::size_t min, std::size_t max) {
  const std::size_t len = utf8_length(value);
  if (len < min)
    return Error{min == 1 ? fmt::format("{} must not be empty", what)
                          : fmt::format("{} must have at least {} characters", what, min)};
  if (len > max) return Error{fmt::format("{} must have at most {} characters (has {})", what, max, len)};
  return std::nullopt;
}

std::optional<Error> check_actions(std::string_view what, const std::vector<std::string>& actions) {
  // CloudWatch: at most 5 actions per state, each an ARN of 1-1024 characters.
  if (actions.size() > 5) return Error{fmt::format("{} may list at most 5 actions (has {})", what, actions.size())};
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const std::string item = fmt::format("{}[{}]", what, i);
    if (auto e = check_length(item, actions[i], 1, 1024)) return e;
    if (actions[i].rfind("arn:", 0) != 0)
      return Error{fmt::format("{}: '{}' is not an ARN (expected e.g. arn:aws:sns:us-east-1:123456789012:topic)",
                               item, actions[i])};
  }
  return std::nullopt;
}

// The space-delimited field names a pattern defines ("$name"), and its number of fixed fields.
bool space_pattern_has(const Pattern& p, const FieldRef& ref) {
  const auto& cp = p.impl();
  if (ref.kind() == FieldRef::Kind::kPosition) return true;  // any position may exist (ellipsis)
  return std::any_of(cp.fields.begin(), cp.fields.end(), [&](const auto& f) { return f.key == ref.text(); });
}

std::optional<Error> check_ref_fits(const FieldRef& ref, const Pattern& p, std::string_view pattern_name) {
  if (ref.kind() == FieldRef::Kind::kJsonPath) return std::nullopt;  // resolved against the event's JSON
  if (p.family() != Family::kSpaceDelimited)
    return Error{fmt::format("GroupBy '{}' names a space-delimited field, but {} is a {} pattern (use $.path "
                             "for JSON events)",
                             ref.text(), pattern_name, to_string(p.family()))};
  if (!space_pattern_has(p, ref))
    return Error{fmt::format("GroupBy '{}' is not a field of {} ({})", ref.text(), pattern_name, p.source())};
  return std::nullopt;
}

void append_u32(std::string& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out.append(b, 4);
}
std::uint32_t read_u32(std::string_view s, std::size_t at) {
  auto u = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

// A GroupBy value seen in place (the event's bytes or a resolved FieldValue): classify_into
// builds the key from these without copying each value into a string first.
struct ValueView {
  bool present = false;
  FieldValue::Type type = FieldValue::Type::kNull;
  std::string_view text;
};
// A value usable as a key part: like metric-filter dimensions (§7.5), a scalar with text.
bool usable(const ValueView& v) {
  return v.present && v.type != FieldValue::Type::kNull && v.type != FieldValue::Type::kObject &&
         v.type != FieldValue::Type::kArray && !v.text.empty();
}
bool usable(const std::optional<FieldValue>& v) { return v && usable(ValueView{true, v->type, v->text}); }

}  // namespace

detail::Prefilter make_gate(const Pattern& failure, const Pattern* success) {
  if (!success) return failure.impl().prefilter;
  return detail::any_of_prefilters({&failure.impl().prefilter, &success->impl().prefilter});
}

GroupBySelector default_group_by() { return {"$.userIdentity.arn", "$.userIdentity.userName"}; }

std::vector<GroupBySelector> StreakAlarm::group_by_or_default() const {
  if (group_by.empty()) return {default_group_by()};
  return group_by;
}

std::string_view to_string(EventClass::Kind kind) noexcept {
  switch (kind) {
    case EventClass::Kind::kFailure: return "failure";
    case EventClass::Kind::kSuccess: return "success";
    case EventClass::Kind::kIgnored: return "ignored";
  }
  return "ignored";
}

std::string describe_key(const std::vector<std::pair<std::string, std::string>>& key) {
  std::string out;
  for (const auto& [ref, value] : key) {
    if (!out.empty()) out += ", ";
    std::string name = ref;
    if (ref.size() > 1 && ref[0] == '$' && (ref[1] == '.' || ref[1] == '[')) {
      auto parsed = FieldRef::parse(ref);
      if (parsed.ok() && !parsed->selector().steps.empty() &&
          parsed->selector().steps.back().kind == ast::Step::Kind::kMember)
        name = parsed->selector().steps.back().name;
    } else if (ref.size() > 1 && ref[0] == '$' && !std::isdigit(static_cast<unsigned char>(ref[1]))) {
      name = ref.substr(1);
    }
    out += name + "=" + value;
  }
  return out;
}

// ---- the compiled rule ---------------------------------------------------------------------

Result<StreakRule, Error> StreakRule::create(StreakAlarm alarm, const Options& options) {
  if (auto e = check_length("AlarmName", alarm.alarm_name, 1, 255)) return *e;
  for (const char c : alarm.alarm_name)
    if (static_cast<unsigned char>(c) < 0x20) return Error{"AlarmName must not contain control characters"};
  if (alarm.alarm_description)
    if (auto e = check_length("AlarmDescription", *alarm.alarm_description, 0, 1024)) return *e;
  if (auto e = check_length("LogGroupName", alarm.log_group_name, 1, 512)) return *e;
  for (const char c : alarm.log_group_name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-/#", c)))
      return Error{fmt::format("LogGroupName '{}' may only contain a-z, A-Z, 0-9, '.', '_', '-', '/' and '#'",
                               alarm.log_group_name)};
  if (alarm.threshold < 1 || alarm.threshold > kMaxThreshold)
    return Error{fmt::format("Threshold must be an integer from 1 to {} (is {})", kMaxThreshold, alarm.threshold)};
  for (auto [name, v] : {std::pair{"Window", alarm.window_seconds}, std::pair{"ResetAfter", alarm.reset_after_seconds}})
    if (v && (*v < 1 || *v > kMaxWindowSeconds))
      return Error{fmt::format("{} must be a number of seconds from 1 to {} (31 days) (is {})", name,
                               kMaxWindowSeconds, *v)};
  if (auto e = check_actions("AlarmActions", alarm.alarm_actions)) return *e;
  if (auto e = check_actions("OKActions", alarm.ok_actions)) return *e;

  auto failure = compile(alarm.failure_pattern, options);
  if (!failure.ok()) return Error{"FailurePattern: " + failure.error().message};
  std::optional<Pattern> success;
  if (alarm.success_pattern) {
    auto s = compile(*alarm.success_pattern, options);
    if (!s.ok()) return Error{"SuccessPattern: " + s.error().message};
    success = std::move(s.value());
  }

  auto impl = std::make_shared<Impl>(Impl{alarm, alarm.group_by_or_default(), failure.value(), success, {}, {}, {}, false, false, {}});
  if (impl->group_by.size() > 3)
    return Error{fmt::format("GroupBy may have at most 3 items (has {})", impl->group_by.size())};
  for (std::size_t i = 0; i < impl->group_by.size(); ++i) {
    const auto& item = impl->group_by[i];
    if (item.empty() || item.size() > 3)
      return Error{fmt::format("GroupBy[{}] must give 1 to 3 field references (has {})", i, item.size())};
    const std::size_t begin = impl->refs.size();
    for (const auto& text : item) {
      auto ref = FieldRef::parse(text);
      if (!ref.ok()) return Error{fmt::format("GroupBy[{}]: {}", i, ref.error().message)};
      if (auto e = check_ref_fits(*ref, impl->failure, "FailurePattern")) return *e;
      if (impl->success)
        if (auto e = check_ref_fits(*ref, *impl->success, "SuccessPattern")) return *e;
      impl->has_json_refs = impl->has_json_refs || ref->kind() == FieldRef::Kind::kJsonPath;
      impl->refs.push_back(std::move(ref.value()));
    }
    impl->items.emplace_back(begin, impl->refs.size());
  }
  impl->gate = make_gate(impl->failure, impl->success ? &*impl->success : nullptr);
  impl->sparse_path = impl->failure.family() == Family::kJson &&
                      (!impl->success || (impl->success->family() == Family::kJson &&
                                          impl->success->options().max_json_depth == impl->failure.options().max_json_depth));
  for (const auto& ref : impl->refs) impl->sparse_path = impl->sparse_path && ref.kind() == FieldRef::Kind::kJsonPath;
  if (impl->sparse_path) {
    detail::add_selectors(impl->failure.impl().json, impl->trie);
    if (impl->success) detail::add_selectors(impl->success->impl().json, impl->trie);
    for (const auto& ref : impl->refs) impl->trie.add(ref.selector());
  }
  return StreakRule(std::move(impl));
}

const StreakAlarm& StreakRule::alarm() const noexcept { return impl_->alarm; }
const Pattern& StreakRule::failure_pattern() const noexcept { return impl_->failure; }
const Pattern* StreakRule::success_pattern() const noexcept { return impl_->success ? &*impl_->success : nullptr; }

EventClass::Kind StreakRule::Impl::classify_into(std::string_view message, std::size_t max_key_bytes,
                                                 std::string& key, int& status, bool gate_passed) const {
  // One raw-bytes check for both patterns: most events go no further (no parse, no allocation).
  if (!gate_passed && !gate.may_match(message)) return EventClass::Kind::kIgnored;
  thread_local std::vector<std::optional<FieldValue>> values;
  thread_local std::vector<ValueView> views;  // per ref: into the event, or into `values`
  EventClass::Kind kind = EventClass::Kind::kIgnored;
  const Pattern* matched = nullptr;
  bool resolved = false;
  if (sparse_path) {
    // JSON patterns and JSON GroupBy: one sparse scan reads what both patterns and the key need
    // (no full parse); a match is confirmed by validating the event, as Pattern::matches does.
    const Options& o = failure.options();
    if (message.size() > o.max_event_bytes) return kind;
    thread_local detail::JsonEvent sparse, check;
    switch (sparse.scan_selected(message, trie)) {
      case detail::JsonEvent::ScanResult::kNotObject: return kind;
      case detail::JsonEvent::ScanResult::kScanned:
        if (detail::eval_json(failure.impl().json, sparse)) kind = EventClass::Kind::kFailure;
        else if (success && detail::eval_json(success->impl().json, sparse)) kind = EventClass::Kind::kSuccess;
        else return kind;
        if (!sparse.scanned_valid(o.max_json_depth) && !check.validate(message, o.max_json_depth))
          return EventClass::Kind::kIgnored;
        views.assign(refs.size(), ValueView{});
        for (std::size_t i = 0; i < refs.size(); ++i)
          sparse.select(refs[i].selector(), [&](std::uint32_t n) {
            if (views[i].present) return;
            const auto& node = sparse.node(n);
            views[i] = ValueView{true, node.type, node.text};  // `sparse` views the message
          });
        resolved = true;
        break;
      case detail::JsonEvent::ScanResult::kUnsure: break;  // escapes: the general path below
    }
  }
  if (resolved) {
    // values and kind are set
  } else if (failure.match_and_resolve(message, refs, values)) {
    kind = EventClass::Kind::kFailure;
    matched = &failure;
  } else if (success && success->match_and_resolve(message, refs, values)) {
    kind = EventClass::Kind::kSuccess;
    matched = &*success;
  } else {
    return kind;
  }
  // A non-JSON pattern resolves no $.path: read the event's JSON for them (matched events only).
  if (!resolved && has_json_refs && matched->family() != Family::kJson) {
    thread_local detail::JsonEvent json;
    const bool parsed = message.size() <= matched->options().max_event_bytes &&
                        json.parse(message, matched->options().max_json_depth);
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].kind() != FieldRef::Kind::kJsonPath) continue;
      values[i].reset();
      if (!parsed) continue;
      json.select(refs[i].selector(), [&](std::uint32_t n) {
        if (values[i]) return;
        const auto& node = json.node(n);
        values[i] = FieldValue{node.type, std::string(node.text)};
      });
    }
  }
  if (!resolved) {
    views.assign(refs.size(), ValueView{});
    for (std::size_t i = 0; i < refs.size(); ++i)
      if (values[i]) views[i] = ValueView{true, values[i]->type, values[i]->text};
  }
  key.clear();
  status = 0;
  for (const auto& [begin, end] : items) {
    std::size_t found = end;
    for (std::size_t r = begin; r < end; ++r)
      if (usable(views[r])) {
        found = r;
        break;
      }
    if (found == end) {
      status = 1;
      return kind;
    }
    const std::string_view text = views[found].text;
    key.push_back(static_cast<char>(found - begin));
    append_u32(key, static_cast<std::uint32_t>(std::min<std::size_t>(text.size(), 0xFFFFFFFFu)));
    if (key.size() + text.size() > max_key_bytes) {
      status = 2;
      return kind;
    }
    key += text;
  }
  return kind;
}

std::vector<std::pair<std::string, std::string>> StreakRule::Impl::decode_key(std::string_view encoded) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = 0;
  for (const auto& [begin, end] : items) {
    if (at + 5 > encoded.size()) break;
    const auto alt = static_cast<std::size_t>(static_cast<unsigned char>(encoded[at]));
    const std::uint32_t len = read_u32(encoded, at + 1);
    at += 5;
    out.emplace_back(begin + alt < end ? refs[begin + alt].text() : std::string("?"),
                     std::string(encoded.substr(at, len)));
    at += len;
  }
  return out;
}

std::optional<std::string> StreakRule::Impl::encode_key(
    const std::vector<std::pair<std::string, std::string>>& key) const {
  if (key.size() != items.size()) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto [begin, end] = items[i];
    std::size_t alt = end;
    for (std::size_t r = begin; r < end; ++r)
      if (refs[r].text() == key[i].first) alt = r;
    if (alt == end) return std::nullopt;
    out.push_back(static_cast<char>(alt - begin));
    append_u32(out, static_cast<std::uint32_t>(key[i].second.size()));
    out += key[i].second;
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> StreakRule::resolve_key(std::string_view message) const {
  const Impl& m = *impl_;
  for (const auto& ref : m.refs)
    if (ref.kind() != FieldRef::Kind::kJsonPath) return std::nullopt;
  detail::JsonEvent json;
  if (message.size() > m.failure.options().max_event_bytes || !json.parse(message, m.failure.options().max_json_depth))
    return std::nullopt;
  std::vector<std::pair<std::string, std::string>> key;
  for (const auto& [begin, end] : m.items) {
    std::optional<FieldValue> found;
    for (std::size_t r = begin; r < end && !found; ++r) {
      std::optional<FieldValue> v;
      json.select(m.refs[r].selector(), [&](std::uint32_t n) {
        if (v) return;
        const auto& node = json.node(n);
        v = FieldValue{node.type, std::string(node.text)};
      });
      if (usable(v)) key.emplace_back(m.refs[r].text(), (found = std::move(v))->text);
    }
    if (!found) return std::nullopt;
  }
  return key;
}

EventClass StreakRule::classify(std::string_view message, std::size_t max_key_bytes) const {
  EventClass out;
  int status = 0;
  out.kind = impl_->classify_into(message, max_key_bytes, out.encoded_key, status);
  if (out.kind == EventClass::Kind::kIgnored) return out;
  if (status == 1) {
    out.encoded_key.clear();
    return out;
  }
  out.key_resolved = true;
  if (status == 2) {
    out.key_too_long = true;
    out.encoded_key.clear();
    return out;
  }
  out.key = impl_->decode_key(out.encoded_key);
  return out;
}

// ---- JSON configuration --------------------------------------------------------------------

namespace {

Result<std::string, Error> get_string(const rapidjson::Value& v, std::string_view name) {
  if (!v.IsString()) return Error{fmt::format("{} must be a string", name)};
  return std::string(v.GetString(), v.GetStringLength());
}

Result<std::int64_t, Error> get_integer(const rapidjson::Value& v, std::string_view name) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsDouble() && v.GetDouble() == static_cast<double>(static_cast<std::int64_t>(v.GetDouble())) &&
      std::abs(v.GetDouble()) < 9e15)
    return static_cast<std::int64_t>(v.GetDouble());
  return Error{fmt::format("{} must be an integer", name)};
}

Result<std::vector<std::string>, Error> get_string_list(const rapidjson::Value& v, std::string_view name) {
  if (!v.IsArray()) return Error{fmt::format("{} must be an array of strings", name)};
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    if (!v[i].IsString()) return Error{fmt::format("{}[{}] must be a string", name, i)};
    out.emplace_back(v[i].GetString(), v[i].GetStringLength());
  }
  return out;
}

Result<StreakAlarm, Error> parse_alarm_object(const rapidjson::Value& v) {
  if (!v.IsObject()) return Error{"a streak alarm must be a JSON object"};
  StreakAlarm a;
  bool has_name = false, has_group = false, has_failure = false, has_threshold = false, has_log_group = false;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    const auto& val = it->value;
    auto take_string = [&](std::string& into) -> std::optional<Error> {
      auto s = get_string(val, key);
      if (!s.ok()) return s.error();
      into = std::move(s.value());
      return std::nullopt;
    };
    std::optional<Error> err;
    if (key == "AlarmName") {
      err = take_string(a.alarm_name);
      has_name = true;
    } else if (key == "AlarmDescription") {
      if (!val.IsNull()) {
        std::string d;
        err = take_string(d);
        a.alarm_description = std::move(d);
      }
    } else if (key == "LogGroupName") {
      err = take_string(a.log_group_name);
      has_log_group = true;
    } else if (key == "FailurePattern") {
      err = take_string(a.failure_pattern);
      has_failure = true;
    } else if (key == "SuccessPattern") {
      if (!val.IsNull()) {
        std::string s;
        err = take_string(s);
        a.success_pattern = std::move(s);
      }
    } else if (key == "GroupBy") {
      has_group = true;
      if (!val.IsArray()) {
        err = Error{"GroupBy must be an array of field references (or of arrays of alternatives)"};
      } else {
        for (rapidjson::SizeType i = 0; i < val.Size() && !err; ++i) {
          if (val[i].IsString()) {
            a.group_by.push_back({std::string(val[i].GetString(), val[i].GetStringLength())});
          } else {
            auto list = get_string_list(val[i], fmt::format("GroupBy[{}]", i));
            if (!list.ok()) err = list.error();
            else a.group_by.push_back(std::move(list.value()));
          }
        }
        if (!err && a.group_by.empty()) err = Error{"GroupBy must have 1 to 3 items (omit it for the default)"};
      }
    } else if (key == "Threshold") {
      auto n = get_integer(val, key);
      if (!n.ok()) err = n.error();
      else if (*n < 1 || *n > kMaxThreshold)
        err = Error{fmt::format("Threshold must be an integer from 1 to {} (is {})", kMaxThreshold, *n)};
      else a.threshold = static_cast<int>(*n);
      has_threshold = true;
    } else if (key == "Window" || key == "ResetAfter") {
      if (!val.IsNull()) {
        auto n = get_integer(val, key);
        if (!n.ok()) err = n.error();
        else (key == "Window" ? a.window_seconds : a.reset_after_seconds) = *n;
      }
    } else if (key == "ActionsEnabled") {
      if (!val.IsBool()) err = Error{"ActionsEnabled must be true or false"};
      else a.actions_enabled = val.GetBool();
    } else if (key == "AlarmActions" || key == "OKActions") {
      auto list = get_string_list(val, key);
      if (!list.ok()) err = list.error();
      else (key == "AlarmActions" ? a.alarm_actions : a.ok_actions) = std::move(list.value());
    } else {
      err = Error{fmt::format(
          "unknown key '{}' (expected AlarmName, AlarmDescription, LogGroupName, FailurePattern, SuccessPattern, "
          "GroupBy, Threshold, Window, ResetAfter, ActionsEnabled, AlarmActions, OKActions)",
          key)};
    }
    if (err) return *err;
  }
  (void)has_group;
  if (!has_name) return Error{"AlarmName is required"};
  if (!has_log_group) return Error{"LogGroupName is required"};
  if (!has_failure) return Error{"FailurePattern is required"};
  if (!has_threshold) return Error{"Threshold is required"};
  return a;
}

}  // namespace

Result<std::vector<StreakRule>, Error> parse_streak_alarms_json(std::string_view json, const Options& options) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    return Error{fmt::format("streakAlarms: invalid JSON at offset {}: {}", doc.GetErrorOffset(),
                             rapidjson::GetParseError_En(doc.GetParseError()))};
  const rapidjson::Value* list = &doc;
  if (doc.IsObject() && doc.HasMember("streakAlarms")) list = &doc["streakAlarms"];
  std::vector<StreakRule> out;
  std::set<std::string> names;
  auto add = [&](const rapidjson::Value& item, const std::string& where) -> std::optional<Error> {
    auto a = parse_alarm_object(item);
    if (!a.ok()) return Error{where + ": " + a.error().message};
    auto rule = StreakRule::create(a.value(), options);
    if (!rule.ok()) return Error{where + ": " + rule.error().message};
    if (!names.insert(a->alarm_name).second)
      return Error{fmt::format("{}: AlarmName '{}' is used by another streak alarm", where, a->alarm_name)};
    out.push_back(std::move(rule.value()));
    return std::nullopt;
  };
  if (list->IsArray()) {
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
      if (auto e = add((*list)[i], fmt::format("streakAlarms[{}]", i))) return *e;
  } else if (list->IsObject()) {
    if (auto e = add(*list, "streakAlarms[0]")) return *e;
  } else {
    return Error{"streakAlarms must be an array of streak alarm objects"};
  }
  return out;
}

}  // namespace cwfilter::streak
