// cwfilter redeliver: re-sends the notifications kept in a dead-letter file.
#include "cli/commands.hpp"

#include <cwfilter/sinks.hpp>

#include <iostream>

namespace cwfilter::cli {
void register_redeliver(CLI::App& app) {
  struct Args {
    std::string dead_letter;
    std::string subscriptions;
    std::string smtp_url, smtp_from;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("redeliver", "Re-send the notifications of a dead-letter file; those that fail again stay in it");
  cmd->add_option("dead_letter_file", args->dead_letter, "The dead-letter file written by `cwfilter run`")->required();
  cmd->add_option("--smtp-url", args->smtp_url, "SMTP server for email / email-json records (smtp://host:port)");
  cmd->add_option("--smtp-from", args->smtp_from, "Sender address for e-mail");
  cmd->footer("Exit status: 0 every record delivered, 1 some still failing, 2 usage or I/O error.");
  cmd->callback([args] {
    DeliveryOptions options;
    options.dead_letter_path = args->dead_letter;
    if (!args->smtp_url.empty()) {
      SmtpConfig smtp;
      smtp.url = args->smtp_url;
      smtp.from = args->smtp_from;
      options.smtp = smtp;
    }
    auto dispatcher = Dispatcher::create({}, options);
    if (!dispatcher.ok()) {
      std::cerr << "cwfilter redeliver: " << dispatcher.error().message << "\n";
      set_exit_code(2);
      return;
    }
    auto report = dispatcher->redeliver(args->dead_letter);
    if (!report.ok()) {
      std::cerr << "cwfilter redeliver: " << report.error().message << "\n";
      set_exit_code(2);
      return;
    }
    std::cerr << "cwfilter redeliver: " << report->records << " records, " << report->delivered << " delivered, "
              << report->still_failing << " still failing, " << report->malformed << " malformed (kept)\n";
    set_exit_code(report->still_failing == 0 ? 0 : 1);
  });
}
}  // namespace cwfilter::cli
