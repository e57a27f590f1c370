// Pattern compilation: never crashes; a rejection's offset is within the pattern and its message
// names the offset; an accepted pattern's AST printed back (ast::to_pattern) parses and compiles to
// the same AST dump. Both error wordings are exercised.
#include "fuzz_check.hpp"

#include <cwfilter/pattern.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

using namespace cwfilter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view pattern(reinterpret_cast<const char*>(data), size);
  Options options;
  options.error_context = size % 2 ? ErrorContext::kFilterLogEvents : ErrorContext::kMetricFilter;
  auto compiled = compile(pattern, options);
  if (!compiled.ok()) {
    const CompileError& e = compiled.error();
    FUZZ_CHECK(e.offset <= pattern.size(), "offset %zu > length %zu", e.offset, pattern.size());
    FUZZ_CHECK(!e.message.empty(), "empty message");
    FUZZ_CHECK(!format_error(pattern, e).empty(), "empty formatted error");
    // parse() agrees with compile() about rejecting.
    FUZZ_CHECK(!parse(pattern, options).ok(), "parse accepts what compile rejects");
    return 0;
  }
  const std::string dumped = ast::dump(compiled->ast());
  const std::string printed = ast::to_pattern(compiled->ast());
  // The printer may add spaces: the length limit is the API's, not the grammar's.
  Options again_options = options;
  again_options.max_pattern_length = std::numeric_limits<std::size_t>::max();
  auto again = compile(printed, again_options);
  FUZZ_CHECK(again.ok(), "printed pattern rejected\n  pattern: %s\n  printed: %s\n  error:   %s",
             std::string(pattern).c_str(), printed.c_str(), again.ok() ? "" : again.error().message.c_str());
  const std::string dumped_again = ast::dump(again->ast());
  FUZZ_CHECK(dumped_again == dumped, "round trip changed the AST\n  pattern: %s\n  printed: %s\n  dump:    %s\n  again:   %s",
             std::string(pattern).c_str(), printed.c_str(), dumped.c_str(), dumped_again.c_str());
  FUZZ_CHECK(again->family() == compiled->family(), "family changed");
  // The empty event and the pattern itself as an event: cheap extra matching coverage.
  (void)compiled->matches("");
  (void)compiled->match(pattern);
  return 0;
}
