// Warnings for valid-but-wrong patterns, and the condition-by-condition explanation of a match.
// Conditions are evaluated one at a time with reference::match on single-condition sub-patterns, so
// the explanation can never disagree with the evaluator about a condition's truth.
#include <cwfilter/lint.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "pattern/huge_numbers.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <optional>

namespace cwfilter::lint {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Pattern-language quoting (only " and \ escaped).
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string value_text(const ast::Value& v) {
  switch (v.kind) {
    case ast::Value::Kind::kNumber: return v.quoted ? quote(v.text) : v.text;
    case ast::Value::Kind::kRegex: return "%" + v.text + "%";
    case ast::Value::Kind::kString: return quote(v.text);
  }
  return v.text;
}

std::string condition_text(const ast::JsonCondition& c) {
  switch (c.kind) {
    case ast::JsonCondition::Kind::kCompare:
      return fmt::format("{} {} {}", c.selector.text, ast::to_string(c.op), value_text(c.value));
    case ast::JsonCondition::Kind::kIsNull: return c.selector.text + " IS NULL";
    case ast::JsonCondition::Kind::kIsTrue: return c.selector.text + " IS TRUE";
    case ast::JsonCondition::Kind::kIsFalse: return c.selector.text + " IS FALSE";
    case ast::JsonCondition::Kind::kNotExists: return c.selector.text + " NOT EXISTS";
  }
  return c.selector.text;
}

bool is_relational(ast::CmpOp op) {
  return op == ast::CmpOp::kLt || op == ast::CmpOp::kLe || op == ast::CmpOp::kGt || op == ast::CmpOp::kGe;
}

ast::Pattern single(const ast::JsonCondition& c) {
  ast::JsonPattern p;
  p.root.kind = ast::JsonExpr::Kind::kCondition;
  p.root.condition = c;
  return p;
}

bool condition_holds(const ast::JsonCondition& c, std::string_view event, const Options& options) {
  return reference::match(single(c), event, options).matched;
}

// ---- mixed && / || ---------------------------------------------------------------------------

void check_mixed_and_or(std::string_view src, Family family, std::vector<Warning>& out) {
  if (family != Family::kJson && family != Family::kSpaceDelimited) return;
  struct Group {
    std::optional<std::size_t> and_at, or_at;
    bool warned = false;
  };
  std::vector<Group> stack(1);
  bool in_quote = false, in_regex = false;
  for (std::size_t i = 0; i < src.size(); ++i) {
    const char c = src[i];
    if (in_quote) {
      if (c == '\\') ++i;
      else if (c == '"') in_quote = false;
      continue;
    }
    if (in_regex) {
      if (c == '\\') ++i;
      else if (c == '%') in_regex = false;
      continue;
    }
    if (c == '"') in_quote = true;
    else if (c == '%') in_regex = true;
    else if (c == '(') stack.emplace_back();
    else if (c == ')' && stack.size() > 1) stack.pop_back();
    else if (c == ',' && family == Family::kSpaceDelimited) stack.back() = Group{};  // next field
    else if ((c == '&' || c == '|') && i + 1 < src.size() && src[i + 1] == c) {
      Group& g = stack.back();
      std::optional<std::size_t>& first = c == '&' ? g.and_at : g.or_at;
      if (!first) first = i;
      if (g.and_at && g.or_at && !g.warned) {
        g.warned = true;
        out.push_back({"mixed-and-or",
                       fmt::format("'{}' mixed with '{}' without parentheses: '&&' binds tighter, so "
                                   "A && B || C means (A && B) || C; add parentheses to say which is meant",
                                   std::string(2, c), c == '&' ? "||" : "&&"),
                       i});
      }
      ++i;
    }
  }
}

// ---- quoted numbers with relational operators ------------------------------------------------------

void check_quoted_numbers(const ast::Pattern& p, std::vector<Warning>& out) {
  auto warn = [&](ast::CmpOp op, const ast::Value& v) {
    if (is_relational(op) && v.quoted && v.kind == ast::Value::Kind::kNumber)
      out.push_back({"quoted-number-relational",
                     fmt::format("the quoted number \"{}\" is compared with '{}': relational operators are "
                                 "documented for unquoted numbers only, and a quoted value is text to AWS; "
                                 "write {} without quotes",
                                 v.text, ast::to_string(op), v.text),
                     v.offset});
  };
  if (const auto* j = std::get_if<ast::JsonPattern>(&p)) {
    std::function<void(const ast::JsonExpr&)> walk = [&](const ast::JsonExpr& e) {
      if (e.kind == ast::JsonExpr::Kind::kCondition) {
        if (e.condition.kind == ast::JsonCondition::Kind::kCompare) warn(e.condition.op, e.condition.value);
      } else {
        for (const auto& c : e.children) walk(c);
      }
    };
    walk(j->root);
  } else if (const auto* s = std::get_if<ast::SpacePattern>(&p)) {
    for (const auto& f : s->fields)
      for (const auto& all : f.any_of)
        for (const auto& c : all) warn(c.op, c.value);
  }
}

// ---- term patterns that look like other families (and the reverse) --------------------------------

void check_family_confusion(const Pattern& pattern, std::vector<Warning>& out) {
  const ast::Pattern& p = pattern.ast();
  if (const auto* t = std::get_if<ast::TermPattern>(&p)) {
    for (const auto& term : t->terms) {
      std::string_view text = term.text;
      const auto b = text.find_first_not_of(" \t");
      if (b == std::string_view::npos) continue;
      text = text.substr(b, text.find_last_not_of(" \t") - b + 1);
      const bool json_like = text.front() == '{' && text.back() == '}' && text.find("$.") != std::string_view::npos;
      const bool space_like = text.front() == '[' && text.back() == ']' &&
                              (text.find(',') != std::string_view::npos || text.find('=') != std::string_view::npos);
      const bool selector_like = text.rfind("$.", 0) == 0 &&
                                 text.find_first_of("=<>") != std::string_view::npos;
      if (term.quoted && (json_like || space_like || selector_like)) {
        out.push_back({"term-looks-structured",
                       fmt::format("this quoted term looks like a {} pattern but is matched as literal text; "
                                   "remove the quotes to write a {} pattern",
                                   space_like ? "space-delimited" : "JSON", space_like ? "space-delimited" : "JSON"),
                       term.offset});
      } else if (!term.quoted && t->terms.size() > 1 && (term.text == "OR" || term.text == "AND" || term.text == "NOT")) {
        out.push_back({"term-looks-structured",
                       fmt::format("'{}' is a term the event must contain, not an operator: use ?A ?B for "
                                   "either term, A B for both, -A to exclude",
                                   term.text),
                       term.offset});
      }
    }
  } else if (const auto* s = std::get_if<ast::SpacePattern>(&p)) {
    if (s->fields.size() == 1 && !s->fields[0].ellipsis && s->fields[0].any_of.empty() &&
        !s->fields[0].name.empty()) {
      const std::string& name = s->fields[0].name;
      const auto start = pattern.source().find('[');
      out.push_back({"term-looks-structured",
                     fmt::format("[{}] is a space-delimited pattern with one unconstrained field named '{}': it "
                                 "matches every non-empty event; to match the text [{}], quote it: \"[{}]\"",
                                 name, name, name, name),
                     start == std::string::npos ? 0 : start});
    }
  }
}

// ---- the CIS console sign-in failure pattern ----------------------------------------------------------

// What CloudTrail writes for a failed console sign-in (an IAM user, wrong password).
constexpr std::string_view kFailedConsoleLogin =
    R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","accountId":"111122223333","userName":"alice"},)"
    R"("eventTime":"2026-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",)"
    R"("awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication",)"
    R"("requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},)"
    R"("additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"No"},)"
    R"("eventID":"00000000-0000-0000-0000-000000000000","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,)"
    R"("recipientAccountId":"111122223333","eventCategory":"Management"})";

// The values CloudTrail writes in the fields the CIS sign-in controls test.
struct KnownField {
  std::string_view selector;
  std::vector<std::string_view> values;
};
const std::vector<KnownField>& known_fields() {
  static const std::vector<KnownField> k = {
      {"$.eventName", {"ConsoleLogin"}},
      {"$.errorMessage", {"Failed authentication"}},
      {"$.responseElements.ConsoleLogin", {"Success", "Failure"}},
      {"$.additionalEventData.MFAUsed", {"Yes", "No"}},
  };
  return k;
}

// The leaves that make `e` false on `event` (the first false child of an AND, every child of an OR).
void false_leaves(const ast::JsonExpr& e, std::string_view event, const Options& o,
                  std::vector<const ast::JsonCondition*>& out) {
  if (e.kind == ast::JsonExpr::Kind::kCondition) {
    if (!condition_holds(e.condition, event, o)) out.push_back(&e.condition);
    return;
  }
  ast::JsonPattern sub;
  for (const auto& c : e.children) {
    sub.root = c;
    const bool holds = reference::match(ast::Pattern(sub), event, o).matched;
    if (e.kind == ast::JsonExpr::Kind::kAnd && !holds) {
      false_leaves(c, event, o, out);
      return;
    }
    if (e.kind == ast::JsonExpr::Kind::kOr) false_leaves(c, event, o, out);
  }
}

void check_cis_console_login(const Pattern& pattern, std::vector<Warning>& out) {
  const auto* j = std::get_if<ast::JsonPattern>(&pattern.ast());
  if (!j) return;
  std::vector<const ast::JsonCondition*> conds;
  std::function<void(const ast::JsonExpr&)> walk = [&](const ast::JsonExpr& e) {
    if (e.kind == ast::JsonExpr::Kind::kCondition) conds.push_back(&e.condition);
    for (const auto& c : e.children) walk(c);
  };
  walk(j->root);
  bool mentions_login = false, about_failure = false;
  for (const auto* c : conds) {
    if (c->kind != ast::JsonCondition::Kind::kCompare) continue;
    const std::string v = lower(c->value.text);
    if (iequals(c->selector.text, "$.eventName") && v.find("consolelogin") != std::string::npos) mentions_login = true;
    if (iequals(c->selector.text, "$.errorMessage") &&
        (v.find("fail") != std::string::npos || v.find("authentication") != std::string::npos))
      about_failure = true;
    if (iequals(c->selector.text, "$.responseElements.ConsoleLogin") && v.find("fail") != std::string::npos)
      about_failure = true;
  }
  if (!mentions_login) return;
  // 1. A value CloudTrail never writes in a field whose values are known (case, spacing, quotes):
  // `=` with it never matches; `!=` with it always holds, so the condition filters nothing
  // (`$.additionalEventData.MFAUsed != "yes"` is true for "Yes" and "No" alike).
  std::size_t before = out.size();
  for (const auto* c : conds) {
    if (c->kind != ast::JsonCondition::Kind::kCompare) continue;
    if (c->op != ast::CmpOp::kEq && c->op != ast::CmpOp::kNe) continue;
    for (const auto& k : known_fields()) {
      if (c->selector.text != k.selector) continue;
      // Whether the value, compared with `=`, equals any value CloudTrail writes.
      bool any = false;
      for (auto value : k.values) {
        const std::string event = "{\"v\":" + std::string(quote(value)) + "}";
        ast::JsonCondition probe = *c;
        probe.op = ast::CmpOp::kEq;
        probe.selector.steps = {ast::Step{ast::Step::Kind::kMember, "v", 0}};
        probe.selector.text = "$.v";
        if (condition_holds(probe, event, pattern.options())) any = true;
      }
      if (!any) {
        std::string values;
        for (auto v : k.values) values += (values.empty() ? "" : " or ") + quote(v);
        const std::string message =
            c->op == ast::CmpOp::kEq
                ? fmt::format("{} can never match: CloudTrail writes {} as {} (exact, case-sensitive)",
                              condition_text(*c), k.selector, values)
                : fmt::format("{} is always true, so it filters nothing: CloudTrail writes {} as {} (exact, "
                              "case-sensitive), never this value",
                              condition_text(*c), k.selector, values);
        out.push_back({"cis-console-login-never-matches", message, c->selector.offset});
      }
    }
  }
  if (out.size() != before || !about_failure) return;
  // 2. A console sign-in failure pattern that does not match a failed console sign-in.
  if (reference::match(pattern.ast(), kFailedConsoleLogin, pattern.options()).matched) return;
  std::vector<const ast::JsonCondition*> culprits;
  false_leaves(j->root, kFailedConsoleLogin, pattern.options(), culprits);
  if (culprits.empty()) return;
  out.push_back({"cis-console-login-never-matches",
                 fmt::format("this console sign-in failure pattern never matches a failed console sign-in "
                             "(eventName \"ConsoleLogin\", errorMessage \"Failed authentication\"): {} is false "
                             "for it",
                             condition_text(*culprits.front())),
                 culprits.front()->selector.offset});
}

// ---- explanation helpers -------------------------------------------------------------------------------

// `numbers_as_text`: the document keeps numbers as string values (EventDoc); an in-situ string
// value starts just after its opening quote, a number at its first digit or sign.
std::string describe_json_value(const rapidjson::Value& v, bool numbers_as_text = false) {
  if (v.IsString() && numbers_as_text && v.GetString()[-1] != '"') return std::string(v.GetString(), v.GetStringLength());
  if (v.IsString()) return quote(std::string_view(v.GetString(), v.GetStringLength()));
  if (v.IsNumber()) {
    if (v.IsInt64()) return std::to_string(v.GetInt64());
    if (v.IsUint64()) return std::to_string(v.GetUint64());
    return fmt::format("{}", v.GetDouble());
  }
  if (v.IsNull()) return "null";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsArray()) return fmt::format("an array of {}", v.Size());
  return "an object";
}

// The node a wildcard-free selector selects, or nullptr.
const rapidjson::Value* resolve(const rapidjson::Value& root, const ast::Selector& sel) {
  const rapidjson::Value* cur = &root;
  for (const auto& s : sel.steps) {
    if (s.kind == ast::Step::Kind::kMember) {
      if (!cur->IsObject()) return nullptr;
      // Duplicate keys: the last one wins (DECISIONS 10).
      const rapidjson::Value* found = nullptr;
      for (auto it = cur->MemberBegin(); it != cur->MemberEnd(); ++it)
        if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == s.name) found = &it->value;
      if (!found) return nullptr;
      cur = found;
    } else if (s.kind == ast::Step::Kind::kIndex) {
      if (!cur->IsArray() || s.index >= cur->Size()) return nullptr;
      cur = &(*cur)[static_cast<rapidjson::SizeType>(s.index)];
    } else {
      return nullptr;
    }
  }
  return cur;
}

void collect_paths(const rapidjson::Value& v, const std::string& prefix, std::vector<std::string>& out, int depth) {
  if (depth > 32 || out.size() > 10000) return;
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string name(it->name.GetString(), it->name.GetStringLength());
      bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
      });
      std::string path = plain ? prefix + "." + name : prefix + ".['" + name + "']";
      out.push_back(path);
      collect_paths(it->value, path, out, depth + 1);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size() && i < 100; ++i) {
      std::string path = fmt::format("{}[{}]", prefix, i);
      out.push_back(path);
      collect_paths(v[i], path, out, depth + 1);
    }
  }
}

// Edit distance counting a transposition of two adjacent characters as one edit ("tpye" -> "type"),
// as typos go (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The segments of a key path as collect_paths writes it: "$.a.['b c'][0]" -> {"a", "['b c']", "[0]"}.
std::vector<std::string> path_segments(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = !p.empty() && p[0] == '$' ? 1 : 0;
  while (i < p.size()) {
    if (p[i] == '.') ++i;
    if (i >= p.size()) break;
    std::size_t end;
    if (p.compare(i, 2, "['") == 0) {
      end = p.find("']", i + 2);
      end = end == std::string_view::npos ? p.size() : end + 2;
    } else if (p[i] == '[') {
      end = p.find(']', i);
      end = end == std::string_view::npos ? p.size() : end + 1;
    } else {
      end = p.find_first_of(".[", i);
      if (end == std::string_view::npos) end = p.size();
    }
    out.emplace_back(p.substr(i, end - i));
    i = end;
  }
  return out;
}

// Whether `tail` equals the last segments of `path` (case-insensitively), `path` being longer.
bool is_proper_tail(const std::vector<std::string>& tail, const std::vector<std::string>& path) {
  if (tail.empty() || tail.size() >= path.size()) return false;
  const std::size_t skip = path.size() - tail.size();
  for (std::size_t i = 0; i < tail.size(); ++i)
    if (!iequals(tail[i], path[skip + i])) return false;
  return true;
}

// How far a segment of the event's path is from the selector's: 0 when equal case-insensitively;
// otherwise the typo distance when it is small enough to be a typo, else nullopt. The rule: array
// indexes are never typos; a key of 1 or 2 characters must match exactly (any other short key is
// as close to it as a typo would be: `$.A` is not `$.b`); a key of 3 to 5 characters may be one
// edit away (a transposition is one edit); a longer key max(2, length/4).
std::optional<std::size_t> segment_distance(const std::string& want, const std::string& have) {
  if (iequals(want, have)) return 0;
  if (want.empty() || want[0] == '[' || have.empty() || have[0] == '[') return std::nullopt;
  const std::size_t length = std::min(want.size(), have.size());
  if (length < 3) return std::nullopt;
  const std::size_t limit = length < 6 ? 1 : std::max<std::size_t>(2, length / 4);
  const std::size_t d = edit_distance(lower(want), lower(have));
  if (d > limit) return std::nullopt;
  return d;
}

// A message read as the engine reads it (pattern/json_event.cpp, reference.cpp), for the paths
// and values explain shows: the bytes as they are, so a byte order mark or a stray byte before
// the '{' makes it non-JSON (not Parse(str, length), whose stream skips a leading BOM byte by
// byte), a NUL byte is never JSON, and a number beyond double's range (1e400) is JSON. Then the
// document is parsed in situ from a copy with such numbers neutralised, numbers kept as text,
// and the original lexemes put back: describe_json_value shows them as they are written.
struct EventDoc {
  rapidjson::Document doc;
  std::string buffer;            // the in-situ text `doc` points into
  bool numbers_as_text = false;  // numbers are string values whose text is their lexeme
};

bool parse_event(std::string_view message, EventDoc& e) {
  if (message.find('\0') != std::string_view::npos) return false;
  e.buffer.assign(message.data(), message.size());
  e.doc.Parse<rapidjson::kParseIterativeFlag>(e.buffer.c_str());
  if (e.doc.GetParseError() == rapidjson::kParseErrorNumberTooBig) {
    const auto replaced = detail::neutralise_huge_numbers(e.buffer);
    e.doc.ParseInsitu<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(e.buffer.data());
    detail::restore_huge_numbers(e.buffer.data(), replaced);
    e.numbers_as_text = true;
  }
  return !e.doc.HasParseError() && e.doc.IsObject();
}

}  // namespace

std::vector<Warning> check_pattern(const Pattern& pattern) {
  std::vector<Warning> out;
  check_mixed_and_or(pattern.source(), pattern.family(), out);
  check_family_confusion(pattern, out);
  check_quoted_numbers(pattern.ast(), out);
  check_cis_console_login(pattern, out);
  std::stable_sort(out.begin(), out.end(), [](const Warning& a, const Warning& b) { return a.offset < b.offset; });
  return out;
}

namespace {

// suggest_paths over an event already parsed (explain has it: no parse per missing selector).
std::vector<std::string> suggest_paths_in(std::string_view selector_text, const rapidjson::Value& doc) {
  std::vector<std::string> paths;
  collect_paths(doc, "$", paths, 0);
  std::vector<std::string> out;
  // 1. The same path but for case.
  for (const auto& p : paths)
    if (iequals(p, selector_text)) out.push_back(p);
  if (!out.empty()) return out;
  // 2. The same path but for a wrapping prefix, either way: `$.errorMessage` when the event has
  // `$.detail.errorMessage` (an EventBridge envelope), or the reverse. The fewest extra segments win.
  const std::vector<std::string> want = path_segments(selector_text);
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const auto& p : paths) {
    const std::vector<std::string> have = path_segments(p);
    if (!is_proper_tail(want, have) && !is_proper_tail(have, want)) continue;
    const std::size_t extra = have.size() > want.size() ? have.size() - want.size() : want.size() - have.size();
    if (extra < best) {
      best = extra;
      out.clear();
    }
    if (extra == best) out.push_back(p);
  }
  if (!out.empty()) return out;
  // 3. A typo: as many segments, each equal or a typo away (segment_distance); the smallest total.
  best = std::numeric_limits<std::size_t>::max();
  for (const auto& p : paths) {
    const std::vector<std::string> have = path_segments(p);
    if (have.size() != want.size()) continue;
    std::size_t total = 0;
    bool close = true;
    for (std::size_t i = 0; i < want.size() && close; ++i) {
      auto d = segment_distance(want[i], have[i]);
      if (d) total += *d;
      else close = false;
    }
    if (!close) continue;
    if (total < best) {
      best = total;
      out.clear();
    }
    if (total == best) out.push_back(p);
  }
  return out;
}

}  // namespace

std::vector<std::string> suggest_paths(std::string_view selector_text, std::string_view message) {
  EventDoc event;
  if (!parse_event(message, event)) return {};
  return suggest_paths_in(selector_text, event.doc);
}

// ---- explain: the tree ------------------------------------------------------------------------------

namespace {

void tree_json(const ast::JsonExpr& e, int depth, std::string& out) {
  const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
  if (e.kind == ast::JsonExpr::Kind::kCondition) {
    out += pad + condition_text(e.condition) + "\n";
    return;
  }
  out += pad + (e.kind == ast::JsonExpr::Kind::kAnd ? "AND (all must hold)" : "OR (any must hold)") + "\n";
  for (const auto& c : e.children) tree_json(c, depth + 1, out);
}

std::string field_condition_text(const ast::Field& f) {
  std::string s;
  for (std::size_t i = 0; i < f.any_of.size(); ++i) {
    if (i) s += " || ";
    for (std::size_t k = 0; k < f.any_of[i].size(); ++k) {
      if (k) s += " && ";
      s += fmt::format("{} {} {}", f.name.empty() ? "_" : f.name, ast::to_string(f.any_of[i][k].op),
                       value_text(f.any_of[i][k].value));
    }
  }
  return s;
}

}  // namespace

std::string explain_tree(const ast::Pattern& pattern) {
  std::string out;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, ast::MatchAll>) {
          out = "match-all pattern (empty): matches every event\n";
        } else if constexpr (std::is_same_v<T, ast::TermPattern>) {
          bool has_ro = false;
          for (const auto& t : p.terms) has_ro |= t.kind != ast::Term::Kind::kOptional;
          out = "term pattern: case-sensitive substrings of the message\n";
          for (const auto& t : p.terms) {
            const char* kind = t.kind == ast::Term::Kind::kRequired   ? "required"
                               : t.kind == ast::Term::Kind::kExcluded ? "excluded"
                                                                      : "optional";
            out += fmt::format("  {} {}{}\n", kind, quote(t.text),
                               t.kind == ast::Term::Kind::kOptional && has_ro
                                   ? " (ignored: the pattern has required or excluded terms)"
                                   : "");
          }
        } else if constexpr (std::is_same_v<T, ast::JsonPattern>) {
          out = "JSON pattern: the whole message must be a JSON object\n";
          tree_json(p.root, 1, out);
        } else if constexpr (std::is_same_v<T, ast::SpacePattern>) {
          out = fmt::format("space-delimited pattern: {} field{}\n", p.fields.size(), p.fields.size() == 1 ? "" : "s");
          for (std::size_t i = 0; i < p.fields.size(); ++i) {
            const auto& f = p.fields[i];
            if (f.ellipsis) out += fmt::format("  field {}: ... (any number of fields)\n", i + 1);
            else if (f.any_of.empty())
              out += fmt::format("  field {}: {} (any value)\n", i + 1, f.name.empty() ? "(unnamed)" : f.name);
            else
              out += fmt::format("  field {}: {}\n", i + 1, field_condition_text(f));
          }
        } else {
          out = fmt::format("regex pattern: %{}% (searched anywhere in the message)\n", p.body);
        }
      },
      pattern);
  return out;
}

// ---- explain: one event -------------------------------------------------------------------------------

namespace {

struct JsonExplainer {
  std::string_view event;
  const EventDoc& doc;
  const Options& options;
  std::string text;
  std::vector<std::string> suggestions;  // one line per missing selector

  std::string leaf(const ast::JsonCondition& c, bool holds) {
    std::string found;
    if (c.selector.has_wildcard()) {
      found = "wildcard selector";
    } else if (const rapidjson::Value* v = resolve(doc.doc, c.selector)) {
      found = fmt::format("{} is {}", c.selector.text, describe_json_value(*v, doc.numbers_as_text));
    } else {
      found = fmt::format("{} not found in the event", c.selector.text);
      auto near = suggest_paths_in(c.selector.text, doc.doc);
      if (!near.empty()) {
        found += fmt::format("; did you mean {}?", near.front());
        suggestions.push_back(fmt::format("{} -> {}", c.selector.text, near.front()));
      }
    }
    return fmt::format("{} -> {} ({})", condition_text(c), holds ? "true" : "false", found);
  }

  // Renders `e` with its truth value; returns it and collects the deciding leaves.
  bool walk(const ast::JsonExpr& e, int depth, std::vector<std::string>& deciding, bool collect) {
    const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
    if (e.kind == ast::JsonExpr::Kind::kCondition) {
      const bool holds = condition_holds(e.condition, event, options);
      std::string line = leaf(e.condition, holds);
      text += pad + line + "\n";
      if (collect) deciding.push_back(line);
      return holds;
    }
    ast::JsonPattern sub;
    sub.root = e;
    const bool holds = reference::match(ast::Pattern(sub), event, options).matched;
    text += pad + fmt::format("{} -> {}\n", e.kind == ast::JsonExpr::Kind::kAnd ? "AND" : "OR", holds ? "true" : "false");
    // AND false: its first false child decides; OR true: its first true child; otherwise all do.
    const bool needle = e.kind == ast::JsonExpr::Kind::kOr;
    const bool single = (e.kind == ast::JsonExpr::Kind::kAnd && !holds) || (e.kind == ast::JsonExpr::Kind::kOr && holds);
    bool decided = false;
    for (const auto& c : e.children) {
      ast::JsonPattern cs;
      cs.root = c;
      const bool child_holds = reference::match(ast::Pattern(cs), event, options).matched;
      bool take = collect && (!single || (!decided && child_holds == needle));
      if (take && single) decided = true;
      walk(c, depth + 1, deciding, take);
    }
    return holds;
  }
};

}  // namespace

Explanation explain_event(const Pattern& pattern, std::string_view message) {
  Explanation ex;
  ex.matched = pattern.matches(message);
  const Options& options = pattern.options();
  std::string& out = ex.text;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, ast::MatchAll>) {
          out += "  decided by: the empty pattern matches every event\n";
        } else if constexpr (std::is_same_v<T, ast::TermPattern>) {
          bool has_ro = false;
          for (const auto& t : p.terms) has_ro |= t.kind != ast::Term::Kind::kOptional;
          std::vector<std::string> deciding;
          for (const auto& t : p.terms) {
            ast::TermPattern one;
            ast::Term probe = t;
            probe.kind = ast::Term::Kind::kRequired;
            one.terms.push_back(probe);
            const bool occurs = reference::match(ast::Pattern(one), message, options).matched;
            const bool ignored = t.kind == ast::Term::Kind::kOptional && has_ro;
            out += fmt::format("  {} {}: {}{}\n",
                               t.kind == ast::Term::Kind::kRequired   ? "required"
                               : t.kind == ast::Term::Kind::kExcluded ? "excluded"
                                                                      : "optional",
                               quote(t.text), occurs ? "occurs" : "does not occur", ignored ? " (ignored)" : "");
            if (ignored) continue;
            const std::string what = fmt::format("{} {} {}", t.kind == ast::Term::Kind::kExcluded ? "excluded" : "term",
                                                 quote(t.text), occurs ? "occurs" : "does not occur");
            if (t.kind == ast::Term::Kind::kRequired && !occurs) deciding.push_back(what);
            if (t.kind == ast::Term::Kind::kExcluded && occurs) deciding.push_back(what);
            if (t.kind == ast::Term::Kind::kOptional && occurs) deciding.push_back(what);
          }
          if (ex.matched && has_ro)
            out += "  decided by: every required term occurs and no excluded term does\n";
          else if (ex.matched && deciding.empty())
            out += "  decided by: the pattern has no terms\n";
          else if (!ex.matched && !has_ro)
            out += "  decided by: none of the optional terms occurs\n";
          else if (!deciding.empty())
            out += "  decided by: " + deciding.front() + "\n";
        } else if constexpr (std::is_same_v<T, ast::JsonPattern>) {
          EventDoc doc;
          if (!parse_event(message, doc)) {
            out += "  decided by: the message is not a JSON object, so every JSON condition is false\n";
            return;
          }
          JsonExplainer je{message, doc, options, {}, {}};
          std::vector<std::string> deciding;
          je.walk(p.root, 1, deciding, true);
          out += je.text;
          for (const auto& d : deciding) out += "  decided by: " + d + "\n";
        } else if constexpr (std::is_same_v<T, ast::SpacePattern>) {
          // Alignment first: the same fields without conditions.
          ast::SpacePattern bare = p;
          for (auto& f : bare.fields) f.any_of.clear();
          auto aligned = reference::match(ast::Pattern(bare), message, options);
          if (!aligned.matched) {
            std::size_t need = 0;
            for (const auto& f : p.fields) need += f.ellipsis ? 0 : 1;
            out += fmt::format("  decided by: the event has fewer fields than the pattern's {}\n", need);
            return;
          }
          for (const auto& [k, v] : aligned.extracted_values) out += fmt::format("  {} = {}\n", k, quote(v));
          bool told = false;
          for (std::size_t i = 0; i < p.fields.size(); ++i) {
            if (p.fields[i].any_of.empty()) continue;
            ast::SpacePattern one = bare;
            one.fields[i].any_of = p.fields[i].any_of;
            const bool holds = reference::match(ast::Pattern(one), message, options).matched;
            out += fmt::format("  field {}: {} -> {}\n", i + 1, field_condition_text(p.fields[i]), holds ? "true" : "false");
            if (!holds && !told) {
              out += fmt::format("  decided by: field {} ({})\n", i + 1, field_condition_text(p.fields[i]));
              told = true;
            }
          }
          if (!told) out += "  decided by: every field's conditions hold\n";
        } else {
          out += fmt::format("  decided by: the regex %{}% {}\n", p.body,
                             ex.matched ? "finds a match" : "finds no match");
        }
      },
      pattern.ast());
  return ex;
}

}  // namespace cwfilter::lint
