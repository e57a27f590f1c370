// Compile once, match many: the compiled filter pattern.
#pragma once

#include <cwfilter/ast.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter {

enum class Family { kMatchAll, kTerm, kJson, kSpaceDelimited, kRegex };
std::string_view to_string(Family family) noexcept;

// A value taken from a log event: a JSON node or a space-delimited field.
struct FieldValue {
  enum class Type { kString, kNumber, kTrue, kFalse, kNull, kObject, kArray };
  Type type = Type::kString;
  std::string text;  // decoded string, or a number's source lexeme, or "true"/"false"/"null"
  bool operator==(const FieldValue&) const = default;
};

// A reference to a value of an event, as used by metricValue and dimensions (filter-patterns.md
// §7.2, §7.5): `$.path` (JSON selector, no wildcard), `$name` or `$N` (space-delimited field).
class FieldRef {
 public:
  enum class Kind { kJsonPath, kName, kPosition };
  static Result<FieldRef, Error> parse(std::string_view text);

  Kind kind() const noexcept { return kind_; }
  const std::string& text() const noexcept { return text_; }
  const ast::Selector& selector() const noexcept { return selector_; }  // kJsonPath
  std::size_t position() const noexcept { return position_; }           // kPosition, 1-based

 private:
  Kind kind_ = Kind::kName;
  std::string text_;
  ast::Selector selector_;
  std::size_t position_ = 0;
};

// The outcome of matching one event, with TestMetricFilter's extractedValues.
struct MatchResult {
  bool matched = false;
  // Space-delimited patterns only (DECISIONS 13): "$name" / "$N" -> field value, in field order.
  std::vector<std::pair<std::string, std::string>> extracted_values;
};

namespace detail {
struct CompiledPattern;
}

// An immutable compiled pattern. Cheap to copy (shared), safe to use from many threads at once.
class Pattern {
 public:
  Family family() const noexcept;
  const std::string& source() const noexcept;  // the pattern as given
  const ast::Pattern& ast() const noexcept;
  const Options& options() const noexcept;

  bool matches(std::string_view message) const;
  MatchResult match(std::string_view message) const;

  // Matches `message` and resolves `refs` against the same reading of the event (one parse).
  // values[i] is empty when refs[i] is absent from the event (or the family cannot resolve it).
  bool match_and_resolve(std::string_view message, std::span<const FieldRef> refs,
                         std::vector<std::optional<FieldValue>>& values) const;

  explicit Pattern(std::shared_ptr<const detail::CompiledPattern> impl) : impl_(std::move(impl)) {}
  const detail::CompiledPattern& impl() const noexcept { return *impl_; }

 private:
  std::shared_ptr<const detail::CompiledPattern> impl_;
};

// Parses and compiles a filter pattern. Never throws for bad input: returns a CompileError.
Result<Pattern> compile(std::string_view pattern, const Options& options = {});

// Parses only (grammar + semantic checks), for tools that want the AST.
Result<ast::Pattern> parse(std::string_view pattern, const Options& options = {});

// The deliberately naive reference evaluator: walks the AST over a full RapidJSON DOM / a plain
// token vector. Used only to cross-check the compiled matcher.
namespace reference {
MatchResult match(const ast::Pattern& pattern, std::string_view message, const Options& options = {});
}

// Renders `error` for humans: the message, the pattern and a caret line under the offset.
std::string format_error(std::string_view pattern, const CompileError& error);

}  // namespace cwfilter
