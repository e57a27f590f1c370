// cwfilter: CloudWatch Logs metric filters and CloudWatch alarms, locally and exactly.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cstdio>

namespace cwfilter::cli {
namespace {
int g_exit_code = 0;
}
void set_exit_code(int code) { g_exit_code = code; }
}  // namespace cwfilter::cli

int main(int argc, char** argv) {
  CLI::App app{"cwfilter: run CloudWatch Logs metric filters and CloudWatch alarms locally, exactly"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cwfilter 0.1.0"));
  cwfilter::cli::register_validate(app);
  cwfilter::cli::register_test(app);
  cwfilter::cli::register_backtest(app);
  cwfilter::cli::register_run(app);
  cwfilter::cli::register_explain(app);
  cwfilter::cli::register_redeliver(app);
  cwfilter::cli::register_limits(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error
  }
  return cwfilter::cli::g_exit_code;
}
