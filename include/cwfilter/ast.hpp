// The abstract syntax tree of a filter pattern (filter-patterns.md §2-§5).
// Produced by the grammar, dumped for golden tests, compiled into a Pattern.
#pragma once

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace cwfilter::ast {

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };

// A comparison value: "quoted", bare word, number or %regex% (§3.3).
struct Value {
  enum class Kind { kString, kNumber, kRegex };
  Kind kind = Kind::kString;
  // kString: the decoded text *including* any wildcard '*' at the ends.
  // kNumber: the literal's source text (e.g. "+1000", "1e-3"), compared as text against strings.
  // kRegex: the regex body between the '%' signs, as written.
  std::string text;
  double number = 0;    // kNumber only
  bool quoted = false;  // written as "..."
  std::size_t offset = 0;  // of the value in the pattern
};

// ---- terms (§2) -------------------------------------------------------------------------------
struct Term {
  enum class Kind { kRequired, kExcluded, kOptional };
  Kind kind = Kind::kRequired;
  std::string text;  // quotes removed, escapes resolved
  bool quoted = false;
  std::size_t offset = 0;
};
struct TermPattern {
  std::vector<Term> terms;  // empty: matches everything
};

// ---- JSON (§3) --------------------------------------------------------------------------------
struct Step {
  enum class Kind { kMember, kIndex, kAnyMember, kAnyIndex };
  Kind kind = Kind::kMember;
  std::string name;      // kMember
  std::size_t index = 0; // kIndex
};
struct Selector {
  std::vector<Step> steps;
  std::string text;  // as written, e.g. "$.a[0].b"
  std::size_t offset = 0;
  bool has_wildcard() const noexcept {
    for (const auto& s : steps)
      if (s.kind == Step::Kind::kAnyMember || s.kind == Step::Kind::kAnyIndex) return true;
    return false;
  }
};
struct JsonCondition {
  enum class Kind { kCompare, kIsNull, kIsTrue, kIsFalse, kNotExists };
  Kind kind = Kind::kCompare;
  Selector selector;
  CmpOp op = CmpOp::kEq;  // kCompare only
  Value value;            // kCompare only
};
struct JsonExpr {
  enum class Kind { kCondition, kAnd, kOr };
  Kind kind = Kind::kCondition;
  JsonCondition condition;         // kCondition
  std::vector<JsonExpr> children;  // kAnd / kOr (two or more)
};
struct JsonPattern {
  JsonExpr root;
};

// ---- space-delimited (§4) ---------------------------------------------------------------------
struct FieldCondition {
  CmpOp op = CmpOp::kEq;
  Value value;
};
struct Field {
  bool ellipsis = false;
  std::string name;  // empty: unnamed field
  // Conditions in disjunctive normal form: any_of( all_of(...) ). && binds tighter than ||.
  std::vector<std::vector<FieldCondition>> any_of;
  std::size_t offset = 0;
};
struct SpacePattern {
  std::vector<Field> fields;  // empty: `[]`, matches everything
};

// ---- regex (§5) -------------------------------------------------------------------------------
struct RegexPattern {
  std::string body;  // between the '%' signs
  std::size_t offset = 0;  // of the body
};

// Empty (or blank) pattern: matches every event (§2.6).
struct MatchAll {};

using Pattern = std::variant<MatchAll, TermPattern, JsonPattern, SpacePattern, RegexPattern>;

// Stable, line-oriented debug dump used by the golden tests (tests/data/ast_golden.txt).
std::string dump(const Pattern& pattern);

// Prints an AST back as a filter pattern that compiles to the same AST.
std::string to_pattern(const Pattern& pattern);

std::string_view to_string(CmpOp op) noexcept;

}  // namespace cwfilter::ast
