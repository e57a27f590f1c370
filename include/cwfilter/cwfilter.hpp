// Umbrella header: everything a consumer of cwfilter needs.
#pragma once

#include <cwfilter/ast.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/pattern.hpp>
