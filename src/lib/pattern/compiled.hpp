// The compiled, immutable form of a pattern. Everything that can be decided from the pattern alone
// is decided here once (wildcard kinds, numbers, RE2 programs); per-event work is in matcher.cpp.
#pragma once

#include <cwfilter/pattern.hpp>

#include "pattern/json_event.hpp"
#include "pattern/prefilter.hpp"
#include "pattern/tokenizer.hpp"
#include "pattern/value_text.hpp"

#include <re2/re2.h>

#include <memory>
#include <string>
#include <vector>

namespace cwfilter::detail {

struct CompiledValue {
  ast::Value::Kind kind = ast::Value::Kind::kString;
  WildcardText wildcard;          // kString
  std::string literal;            // kNumber: source text, compared against non-numeric text
  double number = 0;              // kNumber
  std::shared_ptr<const RE2> re;  // kRegex
};

// Compares a present value (string, number lexeme or boolean text) against a compiled value.
// `numeric` is the value's number when it has one (JSON number, or a numeric space field).
bool compare_value(ast::CmpOp op, const CompiledValue& v, std::string_view text,
                   const double* numeric);

struct CompiledJsonNode {
  ast::JsonExpr::Kind kind = ast::JsonExpr::Kind::kCondition;
  ast::JsonCondition::Kind cond_kind = ast::JsonCondition::Kind::kCompare;
  const ast::Selector* selector = nullptr;  // points into CompiledPattern::ast
  ast::CmpOp op = ast::CmpOp::kEq;
  CompiledValue value;
  std::vector<CompiledJsonNode> children;
};

struct CompiledFieldCondition {
  ast::CmpOp op = ast::CmpOp::kEq;
  CompiledValue value;
};
struct CompiledField {
  bool ellipsis = false;
  std::string key;  // "$name", or empty for an unnamed field (keyed by position)
  std::vector<std::vector<CompiledFieldCondition>> any_of;
};

struct CompiledTerm {
  ast::Term::Kind kind = ast::Term::Kind::kRequired;
  std::string text;
  bool blank = false;  // a blank quoted term occurs in every event (§2.2)
};

struct CompiledPattern {
  std::string source;
  Options options;
  ast::Pattern ast;
  Family family = Family::kMatchAll;

  std::vector<CompiledTerm> required, excluded, optional;  // kTerm
  CompiledJsonNode json;                                   // kJson
  std::vector<CompiledField> fields;                       // kSpaceDelimited
  std::size_t ellipsis_index = SIZE_MAX;                   // kSpaceDelimited
  std::size_t fixed_fields = 0;                            // non-ellipsis fields
  std::shared_ptr<const RE2> regex;                        // kRegex

  // Optimisation passes (issue 8); none changes an answer.
  Prefilter prefilter;   // literals every matching event contains
  SelectorTrie trie;     // kJson: the selectors the pattern reads, for the sparse scan
};

// The compiled matcher's evaluation over an already read event (shared with PatternSet).
bool eval_json(const CompiledJsonNode& c, const JsonEvent& ev);
bool eval_space(const CompiledPattern& cp, std::string_view message, const std::vector<Token>& tokens);
bool eval_terms(const CompiledPattern& cp, std::string_view message);
// Every selector of a JSON expression, added to `trie`.
void add_selectors(const CompiledJsonNode& c, SelectorTrie& trie);

// RE2 for a CloudWatch regex body that the parser has already validated.
std::shared_ptr<const RE2> compile_validated_regex(std::string_view pattern, std::size_t body_offset,
                                                   std::size_t body_length, ErrorContext context);

}  // namespace cwfilter::detail
