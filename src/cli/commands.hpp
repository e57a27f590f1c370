// Each subcommand registers itself on the CLI11 app. A callback reports its exit status through
// set_exit_code(); usage errors are CLI11's (exit 2).
#pragma once

#include <CLI/CLI.hpp>

namespace cwfilter::cli {

void set_exit_code(int code);

void register_validate(CLI::App& app);
void register_test(CLI::App& app);
void register_backtest(CLI::App& app);  // src/cli/backtest.cpp
void register_run(CLI::App& app);       // src/cli/run.cpp
void register_explain(CLI::App& app);   // src/cli/explain.cpp
void register_redeliver(CLI::App& app); // src/cli/redeliver.cpp

}  // namespace cwfilter::cli
