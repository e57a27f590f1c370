#pragma once

#include <cwfilter/ast.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>

#include <string_view>

namespace cwfilter::detail {

// Family dispatch + grammar + semantic checks. Errors carry offsets into `pattern` as given.
Result<ast::Pattern> parse_pattern(std::string_view pattern, const Options& options);

}  // namespace cwfilter::detail
