// AST debug dump (one line, S-expression; golden tests depend on it) and the printer back to a
// filter pattern (parse(to_pattern(ast)) == ast).
#include <cwfilter/ast.hpp>

#include <fmt/format.h>

#include <cctype>

namespace cwfilter::ast {

std::string_view to_string(CmpOp op) noexcept {
  switch (op) {
    case CmpOp::kEq: return "=";
    case CmpOp::kNe: return "!=";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "?";
}

namespace {

// JSON-style quoting for the dump: stable and unambiguous.
std::string q(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// Quoting as the pattern language writes it: only " and \ are escaped (§2.1).
std::string pattern_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

bool plain_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  return true;
}

std::string selector_text(const Selector& sel) {
  std::string out = "$";
  for (const auto& s : sel.steps) {
    switch (s.kind) {
      case Step::Kind::kMember: out += plain_name(s.name) ? "." + s.name : ".['" + s.name + "']"; break;
      case Step::Kind::kIndex: out += fmt::format("[{}]", s.index); break;
      case Step::Kind::kAnyMember: out += ".*"; break;
      case Step::Kind::kAnyIndex: out += "[*]"; break;
    }
  }
  return out;
}

std::string dump_value(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kString: return fmt::format("({} {})", v.quoted ? "qstring" : "string", q(v.text));
    case Value::Kind::kNumber: return fmt::format("(number {})", q(v.text));
    case Value::Kind::kRegex: return fmt::format("(regex {})", q(v.text));
  }
  return "";
}

std::string print_value(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kString: return v.quoted ? pattern_quote(v.text) : v.text;
    case Value::Kind::kNumber: return v.quoted ? pattern_quote(v.text) : v.text;
    case Value::Kind::kRegex: return "%" + v.text + "%";
  }
  return "";
}

std::string dump_json(const JsonExpr& e) {
  if (e.kind != JsonExpr::Kind::kCondition) {
    std::string out = e.kind == JsonExpr::Kind::kAnd ? "(and" : "(or";
    for (const auto& c : e.children) out += " " + dump_json(c);
    return out + ")";
  }
  const auto& c = e.condition;
  std::string sel = selector_text(c.selector);
  switch (c.kind) {
    case JsonCondition::Kind::kIsNull: return "(is-null " + sel + ")";
    case JsonCondition::Kind::kIsTrue: return "(is-true " + sel + ")";
    case JsonCondition::Kind::kIsFalse: return "(is-false " + sel + ")";
    case JsonCondition::Kind::kNotExists: return "(not-exists " + sel + ")";
    case JsonCondition::Kind::kCompare: break;
  }
  return fmt::format("({} {} {})", to_string(c.op), sel, dump_value(c.value));
}

std::string print_json(const JsonExpr& e) {
  if (e.kind != JsonExpr::Kind::kCondition) {
    std::string out;
    for (const auto& c : e.children) {
      if (!out.empty()) out += e.kind == JsonExpr::Kind::kAnd ? " && " : " || ";
      // Any nested operator keeps its parentheses so that the tree shape round-trips.
      out += c.kind == JsonExpr::Kind::kCondition ? print_json(c) : "(" + print_json(c) + ")";
    }
    return out;
  }
  const auto& c = e.condition;
  std::string sel = selector_text(c.selector);
  switch (c.kind) {
    case JsonCondition::Kind::kIsNull: return sel + " IS NULL";
    case JsonCondition::Kind::kIsTrue: return sel + " IS TRUE";
    case JsonCondition::Kind::kIsFalse: return sel + " IS FALSE";
    case JsonCondition::Kind::kNotExists: return sel + " NOT EXISTS";
    case JsonCondition::Kind::kCompare: break;
  }
  return fmt::format("{} {} {}", sel, to_string(c.op), print_value(c.value));
}

std::string_view term_kind(Term::Kind k) {
  switch (k) {
    case Term::Kind::kRequired: return "required";
    case Term::Kind::kExcluded: return "excluded";
    case Term::Kind::kOptional: return "optional";
  }
  return "";
}

}  // namespace

std::string dump(const Pattern& pattern) {
  return std::visit(
      [](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, MatchAll>) {
          return "(match-all)";
        } else if constexpr (std::is_same_v<T, TermPattern>) {
          std::string out = "(terms";
          for (const auto& t : p.terms)
            out += fmt::format(" ({} {} {})", term_kind(t.kind), t.quoted ? "quoted" : "bare", q(t.text));
          return out + ")";
        } else if constexpr (std::is_same_v<T, JsonPattern>) {
          return "(json " + dump_json(p.root) + ")";
        } else if constexpr (std::is_same_v<T, SpacePattern>) {
          std::string out = "(space";
          for (const auto& f : p.fields) {
            if (f.ellipsis) {
              out += " (ellipsis)";
              continue;
            }
            out += " (field " + q(f.name);
            if (!f.any_of.empty()) {
              out += " (or";
              for (const auto& conj : f.any_of) {
                out += " (and";
                for (const auto& c : conj) out += fmt::format(" ({} {})", to_string(c.op), dump_value(c.value));
                out += ")";
              }
              out += ")";
            }
            out += ")";
          }
          return out + ")";
        } else {
          return "(regex " + q(p.body) + ")";
        }
      },
      pattern);
}

std::string to_pattern(const Pattern& pattern) {
  return std::visit(
      [](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, MatchAll>) {
          return "";
        } else if constexpr (std::is_same_v<T, TermPattern>) {
          std::string out;
          for (const auto& t : p.terms) {
            if (!out.empty()) out += " ";
            out += t.kind == Term::Kind::kOptional ? "?" : t.kind == Term::Kind::kExcluded ? "-" : "";
            out += t.quoted ? pattern_quote(t.text) : t.text;
          }
          return out;
        } else if constexpr (std::is_same_v<T, JsonPattern>) {
          return "{ " + print_json(p.root) + " }";
        } else if constexpr (std::is_same_v<T, SpacePattern>) {
          std::string out = "[";
          for (std::size_t i = 0; i < p.fields.size(); ++i) {
            const Field& f = p.fields[i];
            if (i) out += ", ";
            if (f.ellipsis) {
              out += "...";
              continue;
            }
            if (f.any_of.empty()) {
              out += f.name;
              continue;
            }
            for (std::size_t a = 0; a < f.any_of.size(); ++a) {
              if (a) out += " || ";
              for (std::size_t c = 0; c < f.any_of[a].size(); ++c) {
                if (c) out += " && ";
                out += fmt::format("{} {} {}", f.name, to_string(f.any_of[a][c].op), print_value(f.any_of[a][c].value));
              }
            }
          }
          return out + "]";
        } else {
          return "%" + p.body + "%";
        }
      },
      pattern);
}

}  // namespace cwfilter::ast
