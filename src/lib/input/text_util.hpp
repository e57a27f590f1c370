// Small byte-level helpers of the input readers: JSON minification, an incremental scanner that
// finds where the first JSON value ends, base64, epoch/ISO-8601 times and timestamp selectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cwfilter::input {

// Copies valid JSON text without whitespace outside strings: strings, numbers and key order stay
// byte for byte (CloudTrail's compact form).
std::string minify_json(std::string_view json);

// Finds the end of the JSON value starting at `start` without validating it: tracks brackets and
// strings only (depth is a counter, so any nesting is fine). Resumable as the buffer grows.
class ValueEndScanner {
 public:
  explicit ValueEndScanner(std::size_t start) : pos_(start) {}
  // Scans buf from where it stopped; true once the value's closing bracket has been seen.
  bool run(std::string_view buf);
  std::size_t end() const noexcept { return pos_; }            // one past the value when done
  bool newline_inside() const noexcept { return newline_; }
  std::size_t position() const noexcept { return pos_; }

 private:
  std::size_t pos_;
  std::uint64_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool newline_ = false;
  bool done_ = false;
};

// Standard alphabet; '=' padding optional; whitespace ignored. nullopt on any other byte.
std::optional<std::string> decode_base64(std::string_view text);

// Epoch seconds (|v| < 1e11) or milliseconds, as text ("1700000000", "1.7e12", "-5").
std::optional<std::int64_t> parse_epoch_ms(std::string_view text) noexcept;

// A parsed "$.a.b[0]" selector.
struct SelectorStep {
  std::variant<std::string, std::size_t> key_or_index;
};
std::optional<std::vector<SelectorStep>> parse_selector(std::string_view selector);

}  // namespace cwfilter::input
