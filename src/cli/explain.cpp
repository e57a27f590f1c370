// Not implemented yet: says so instead of doing anything.
#include "cli/commands.hpp"

#include <iostream>

namespace cwfilter::cli {
void register_explain(CLI::App& app) {
  auto* cmd = app.add_subcommand("explain", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([] {
    std::cerr << "cwfilter explain: not implemented yet\n";
    set_exit_code(2);
  });
}
}  // namespace cwfilter::cli
