// Matching: the input is `pattern NUL event` (without a NUL byte the whole input is both). When the
// pattern compiles, the compiled matcher and the naive reference evaluator must agree on the event
// (verdict and extracted values), matches() must equal match().matched, and match_and_resolve()
// must agree too. Runs under two option sets (defaults; exact field count with a shallow JSON
// depth limit and a small event size limit).
#include "fuzz_check.hpp"

#include <cwfilter/pattern.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace cwfilter;

namespace {

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') out.push_back(static_cast<char>(c));
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

void check(std::string_view pattern, std::string_view event, const Options& options) {
  auto compiled = compile(pattern, options);
  if (!compiled.ok()) return;
  const MatchResult got = compiled->match(event);
  const MatchResult want = reference::match(compiled->ast(), event, options);
  FUZZ_CHECK(got.matched == want.matched && got.extracted_values == want.extracted_values,
             "compiled and reference disagree\n  pattern:   %s\n  event:     %s\n  compiled:  %d\n  reference: %d",
             printable(pattern).c_str(), printable(event).c_str(), got.matched, want.matched);
  FUZZ_CHECK(compiled->matches(event) == got.matched, "matches() != match().matched\n  pattern: %s\n  event: %s",
             printable(pattern).c_str(), printable(event).c_str());

  static const std::vector<FieldRef> refs = [] {
    std::vector<FieldRef> out;
    for (const char* text : {"$.eventName", "$.a[0].b", "$1", "$3", "$status_code", "$ip"})
      if (auto r = FieldRef::parse(text); r.ok()) out.push_back(r.value());
    return out;
  }();
  std::vector<std::optional<FieldValue>> values;
  const bool resolved = compiled->match_and_resolve(event, refs, values);
  FUZZ_CHECK(resolved == got.matched, "match_and_resolve() != match()\n  pattern: %s\n  event: %s",
             printable(pattern).c_str(), printable(event).c_str());
  FUZZ_CHECK(values.size() == refs.size(), "values not sized to refs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view pattern = nul == std::string_view::npos ? input : input.substr(0, nul);
  const std::string_view event = nul == std::string_view::npos ? input : input.substr(nul + 1);
  check(pattern, event, Options{});
  Options strict;
  strict.exact_field_count = true;
  strict.max_json_depth = 4;
  strict.max_event_bytes = 64;
  check(pattern, event, strict);
  return 0;
}
