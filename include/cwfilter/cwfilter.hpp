// Umbrella header: everything a consumer of cwfilter needs.
#pragma once

#include <cwfilter/ast.hpp>
#include <cwfilter/error.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/metrics.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/pattern.hpp>
