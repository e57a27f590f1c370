// Backtests decided from bucket series read once (issue 8, target 6). See backtest_fast.cpp.
#pragma once

#include <cwfilter/alarm.hpp>

#include <vector>

namespace cwfilter::alarm::detail {

// The plain backtest: evaluate() at each instant through a per-bucket cache (evaluate.cpp).
std::vector<Evaluation> backtest_per_tick(const MetricAlarm& alarm, AlarmState initial,
                                          const std::vector<std::int64_t>& at_ms,
                                          const DatapointSource& source, const EvaluationOptions& options);

// Every evaluation, as backtest_per_tick returns them; falls back to it when the instants are
// too sparse for reading whole series to pay.
std::vector<Evaluation> backtest_all(const MetricAlarm& alarm, AlarmState initial,
                                     const std::vector<std::int64_t>& at_ms, const DatapointSource& source,
                                     const EvaluationOptions& options);

// The scheduled instants in [from_ms, to_ms] (backtest_range).
std::vector<std::int64_t> scheduled_instants(const MetricAlarm& alarm, std::int64_t from_ms, std::int64_t to_ms);

}  // namespace cwfilter::alarm::detail
