// Placeholder until the alarm evaluator lands: says so instead of doing anything.
#include "cli/commands.hpp"

#include <iostream>

namespace cwfilter::cli {
void register_backtest(CLI::App& app) {
  auto* cmd = app.add_subcommand("backtest", "Replay metric data through alarms (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([] {
    std::cerr << "cwfilter backtest: not implemented yet\n";
    set_exit_code(2);
  });
}
}  // namespace cwfilter::cli
