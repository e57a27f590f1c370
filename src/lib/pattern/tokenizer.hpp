// Splits a log event into space-delimited fields (filter-patterns.md §4.2, §9 A12).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace cwfilter::detail {

struct Token {
  std::string_view value;  // with enclosing "..." or [...] removed
  std::size_t begin = 0;   // raw extent in the message, delimiters included
  std::size_t end = 0;
};

// Fields are separated by runs of spaces and tabs; leading and trailing ones are ignored. A field
// that starts with '"' runs to the next '"', one that starts with '[' to the next ']' (both
// delimiters stripped; spaces inside kept). Without the closing delimiter the field runs to the end
// of the message. Quotes and brackets in the middle of a field are ordinary characters; a field
// ends at its closing delimiter even if other characters follow without a space (they start the
// next field).
void tokenize(std::string_view message, std::vector<Token>& out);

}  // namespace cwfilter::detail
