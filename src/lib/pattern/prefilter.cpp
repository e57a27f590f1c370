#include "pattern/prefilter.hpp"
#include "pattern/compiled.hpp"

#include <algorithm>

namespace cwfilter::detail {

namespace {

using Clauses = std::vector<LiteralClause>;

// A string value that no number lexeme, true, false or null can equal, start or end with: only a
// JSON string can carry it, so its quotes may be part of the literal.
bool string_only(std::string_view needle) {
  if (needle.find_first_not_of("0123456789+-.eE") == std::string_view::npos) return false;
  for (std::string_view word : {"true", "false", "null"})
    if (word.find(needle) != std::string_view::npos) return false;
  return true;
}

// The literal a `= "value"` comparison needs, or "" when there is none worth checking.
std::string value_literal(const WildcardText& w, bool json) {
  using K = WildcardText::Kind;
  if (w.kind == K::kAny || w.needle.empty()) return {};
  const bool quote = json && string_only(w.needle);
  switch (w.kind) {
    case K::kExact: return quote ? "\"" + w.needle + "\"" : w.needle;
    case K::kPrefix: return quote ? "\"" + w.needle : w.needle;
    case K::kSuffix: return quote ? w.needle + "\"" : w.needle;
    case K::kContains:
    case K::kAny: return w.needle;
  }
  return {};
}

// The most selective-looking clause: the one whose shortest alternative is longest.
const LiteralClause* best_clause(const Clauses& cs) {
  const LiteralClause* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& c : cs) {
    std::size_t shortest = SIZE_MAX;
    for (const auto& a : c.any_of) shortest = std::min(shortest, a.size());
    if (!best || shortest > best_len) {
      best = &c;
      best_len = shortest;
    }
  }
  return best;
}

// Clauses of a disjunction: one clause made of one clause of each branch, or none when a branch
// has none (that branch may match without any literal).
Clauses disjunction(const std::vector<Clauses>& branches) {
  LiteralClause out;
  for (const auto& b : branches) {
    const LiteralClause* c = best_clause(b);
    if (!c) return {};
    for (const auto& a : c->any_of)
      if (std::find(out.any_of.begin(), out.any_of.end(), a) == out.any_of.end()) out.any_of.push_back(a);
  }
  if (out.any_of.empty()) return {};
  return {out};
}

// The literal one condition needs, or "" when it needs none.
std::string condition_literal(const CompiledJsonNode& n) {
  using CK = ast::JsonCondition::Kind;
  switch (n.cond_kind) {
    case CK::kIsTrue: return "true";
    case CK::kIsFalse: return "false";
    case CK::kIsNull: return "null";
    case CK::kNotExists: return {};
    case CK::kCompare: break;
  }
  // Only `=` with a string value needs a literal (`!=` holds without it; numbers compare by value,
  // so `= 5` also matches 5.0; regexes are left to RE2).
  if (n.op != ast::CmpOp::kEq || n.value.kind != ast::Value::Kind::kString) return {};
  return value_literal(n.value.wildcard, true);
}

Clauses json_clauses(const CompiledJsonNode& n) {
  using EK = ast::JsonExpr::Kind;
  switch (n.kind) {
    case EK::kAnd: {
      Clauses out;
      for (const auto& c : n.children) {
        auto sub = json_clauses(c);
        for (auto& x : sub) out.push_back(std::move(x));
      }
      return out;
    }
    case EK::kOr: {
      // The common shape, an OR of conditions, directly; nested groups through disjunction().
      LiteralClause direct;
      std::vector<Clauses> branches;
      for (const auto& c : n.children) {
        if (c.kind == EK::kCondition) {
          std::string lit = condition_literal(c);
          if (lit.empty()) return {};  // this branch needs no literal: neither does the OR
          if (std::find(direct.any_of.begin(), direct.any_of.end(), lit) == direct.any_of.end())
            direct.any_of.push_back(std::move(lit));
          continue;
        }
        branches.push_back(json_clauses(c));
        if (branches.back().empty()) return {};
      }
      if (branches.empty()) return {std::move(direct)};
      if (!direct.any_of.empty()) branches.push_back({std::move(direct)});
      return disjunction(branches);
    }
    case EK::kCondition: break;
  }
  std::string lit = condition_literal(n);
  if (lit.empty()) return {};
  return {LiteralClause{{std::move(lit)}}};
}

// A space-delimited field's clause: one literal per alternative (conjunction) of its conditions.
Clauses field_clauses(const CompiledField& f) {
  if (f.any_of.empty()) return {};
  std::vector<Clauses> branches;
  for (const auto& conj : f.any_of) {
    Clauses cs;
    for (const auto& c : conj) {
      if (c.op != ast::CmpOp::kEq || c.value.kind != ast::Value::Kind::kString) continue;
      std::string lit = value_literal(c.value.wildcard, false);
      if (!lit.empty()) cs.push_back(LiteralClause{{std::move(lit)}});
    }
    branches.push_back(std::move(cs));
  }
  return disjunction(branches);
}

}  // namespace

namespace {
Prefilter derive_clauses(const CompiledPattern& cp) {
  Prefilter pf;
  switch (cp.family) {
    case Family::kJson:
      pf.json = true;
      pf.clauses = json_clauses(cp.json);
      break;
    case Family::kSpaceDelimited:
      for (const auto& f : cp.fields) {
        auto cs = field_clauses(f);
        pf.clauses.insert(pf.clauses.end(), cs.begin(), cs.end());
      }
      break;
    case Family::kTerm:
      // The term evaluation is itself a substring search; the literals serve pattern sets.
      if (!cp.required.empty() || !cp.excluded.empty()) {
        for (const auto& t : cp.required)
          if (!t.blank && !t.text.empty()) pf.clauses.push_back(LiteralClause{{t.text}});
      } else {
        LiteralClause any;
        for (const auto& t : cp.optional) {
          if (t.blank || t.text.empty()) return pf;  // occurs in every event
          any.any_of.push_back(t.text);
        }
        if (!any.any_of.empty()) pf.clauses.push_back(std::move(any));
      }
      break;
    case Family::kMatchAll:
    case Family::kRegex: break;
  }
  // Check the most selective clauses first.
  std::stable_sort(pf.clauses.begin(), pf.clauses.end(), [](const LiteralClause& a, const LiteralClause& b) {
    auto shortest = [](const LiteralClause& c) {
      std::size_t s = SIZE_MAX;
      for (const auto& x : c.any_of) s = std::min(s, x.size());
      return s;
    };
    if (a.any_of.size() != b.any_of.size()) return a.any_of.size() < b.any_of.size();
    return shortest(a) > shortest(b);
  });
  return pf;
}
}  // namespace

Prefilter derive_prefilter(const CompiledPattern& cp) {
  Prefilter pf = derive_clauses(cp);
  pf.prepare();
  return pf;
}

Prefilter any_of_prefilters(const std::vector<const Prefilter*>& prefilters) {
  Prefilter out;
  for (const Prefilter* p : prefilters)
    if (p->empty()) {
      out.prepare();
      return out;  // that one may match any event
    }
  if (prefilters.empty()) {
    out.prepare();
    return out;
  }
  for (const Prefilter* p : prefilters) out.json = out.json || p->json;  // a backslash disables rejection
  auto same = [](const LiteralClause& a, const LiteralClause& b) {
    auto x = a.any_of, y = b.any_of;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    return x == y;
  };
  auto required_by = [&](const LiteralClause& c, const Prefilter& p) {
    return std::any_of(p.clauses.begin(), p.clauses.end(), [&](const LiteralClause& pc) { return same(c, pc); });
  };
  auto required_by_all = [&](const LiteralClause& c) {
    return std::all_of(prefilters.begin(), prefilters.end(), [&](const Prefilter* p) { return required_by(c, *p); });
  };
  for (const auto& c : prefilters.front()->clauses)
    if (required_by_all(c)) out.clauses.push_back(c);
  LiteralClause either;
  bool every_one_has_own = true;
  for (const Prefilter* p : prefilters) {
    const LiteralClause* own = nullptr;
    for (const auto& c : p->clauses)
      if (!required_by_all(c)) {
        own = &c;
        break;
      }
    if (!own) {
      every_one_has_own = false;
      break;
    }
    for (const auto& lit : own->any_of)
      if (std::find(either.any_of.begin(), either.any_of.end(), lit) == either.any_of.end()) either.any_of.push_back(lit);
  }
  if (every_one_has_own && !either.any_of.empty()) out.clauses.push_back(std::move(either));
  out.prepare();
  return out;
}

}  // namespace cwfilter::detail
