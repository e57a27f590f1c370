// Several filter patterns evaluated together over each event: the metric filters of one log group.
// One pass per event shares the work the patterns have in common: a single multi-literal scan of
// the raw bytes serves every pattern's prefilter, one sparse JSON read extracts the union of the
// selectors, one tokenization serves the space-delimited patterns. Answers are exactly those of
// calling Pattern::matches on each pattern.
#pragma once

#include <cwfilter/pattern.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace cwfilter {

namespace detail {
struct PatternSetImpl;
}

// Immutable once built; cheap to copy (shared); safe to use from many threads at once (scratch
// buffers are per thread).
class PatternSet {
 public:
  explicit PatternSet(std::vector<Pattern> patterns);

  std::size_t size() const noexcept;
  const Pattern& pattern(std::size_t i) const;

  // The indices i, ascending, for which pattern(i).matches(message) is true. `out` is cleared.
  void matching(std::string_view message, std::vector<std::size_t>& out) const;
  std::vector<std::size_t> matching(std::string_view message) const;

 private:
  std::shared_ptr<const detail::PatternSetImpl> impl_;
};

}  // namespace cwfilter
