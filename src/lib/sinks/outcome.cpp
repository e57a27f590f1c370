// A delivery report as the alarm action's outcome, for the alarm's Action history item.
#include <cwfilter/sinks.hpp>

#include <fmt/format.h>

namespace cwfilter {

alarm::ActionOutcome action_outcome(const DeliveryReport& report) {
  const std::size_t failed = report.failed();
  if (failed == 0) return alarm::ActionOutcome::success();
  for (const auto& o : report.outcomes) {
    if (o.delivered) continue;
    std::string reason = fmt::format("{} {}: {}", o.subscription.protocol, o.subscription.endpoint,
                                     o.error.empty() ? "not delivered" : o.error);
    if (failed > 1) reason += fmt::format(" ({} of {} subscriptions failed)", failed, report.outcomes.size());
    return alarm::ActionOutcome::failure(std::move(reason));
  }
  return alarm::ActionOutcome::failure("not delivered");
}

}  // namespace cwfilter
