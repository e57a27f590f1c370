#include "pattern/errors.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cwfilter::detail {

namespace {
std::string fragment_at(std::string_view pattern, std::size_t offset) {
  if (offset >= pattern.size()) return {};
  std::size_t n = std::min<std::size_t>(16, pattern.size() - offset);
  // Do not cut a UTF-8 sequence in half.
  while (offset + n < pattern.size() && n > 0 &&
         (static_cast<unsigned char>(pattern[offset + n]) & 0xC0) == 0x80)
    --n;
  return std::string(pattern.substr(offset, n));
}
}  // namespace

CompileError make_error_with(ErrorCode code, std::string_view pattern, std::size_t offset,
                             std::string_view aws_message, std::string_view reason) {
  CompileError e;
  e.code = code;
  e.offset = std::min(offset, pattern.size());
  e.fragment = fragment_at(pattern, e.offset);
  e.message = reason.empty() ? fmt::format("{} at offset {}", aws_message, e.offset)
                             : fmt::format("{}: {} at offset {}", aws_message, reason, e.offset);
  return e;
}

CompileError make_error(ErrorCode code, std::string_view pattern, std::size_t offset,
                        std::string_view reason, ErrorContext context) {
  return make_error_with(code, pattern, offset, aws_prefix(context), reason);
}

}  // namespace cwfilter::detail
