// cwfilter explain: the parsed pattern as a readable tree and, for each message, the outcome and the
// condition(s) that decided it, with a "did you mean" for JSON selectors that find nothing.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/lint.hpp>
#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <memory>
#include <vector>

namespace cwfilter::cli {

namespace {

struct ExplainArgs {
  std::string pattern;
  bool have_pattern = false;
  std::vector<std::string> message_files;
  std::vector<std::string> messages;
};

int run(const ExplainArgs& args) {
  std::vector<std::string> messages = args.messages;
  for (const auto& file : args.message_files) {
    auto text = read_file(file);
    if (!text) {
      std::cerr << "cwfilter explain: cannot read " << file << "\n";
      return 2;
    }
    std::size_t pos = 0;
    while (pos < text->size()) {
      std::size_t nl = text->find('\n', pos);
      std::string l = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      if (!l.empty()) messages.push_back(l);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  auto compiled = compile(args.pattern);
  std::cout << "pattern: " << args.pattern << "\n";
  if (!compiled) {
    std::cout << "error: " << format_error(args.pattern, compiled.error()) << "\n";
    return 1;
  }
  std::cout << lint::explain_tree(compiled->ast());
  for (const auto& w : lint::check_pattern(*compiled))
    std::cout << fmt::format("warning: {} [{}]\n", w.message, w.rule);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto ex = lint::explain_event(*compiled, messages[i]);
    std::cout << fmt::format("\nevent {}: {}\n  message: {}\n", i + 1, ex.matched ? "MATCH" : "NO MATCH", messages[i]);
    std::cout << ex.text;
  }
  return 0;
}

}  // namespace

void register_explain(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  auto* cmd = app.add_subcommand(
      "explain", "Show a filter pattern as a tree and, for each message, which condition decided the outcome");
  // Messages come from the unparsed arguments, verbatim (CLI11 would split "[a, b]" and JSON).
  cmd->allow_extras();
  cmd->positionals_at_end(false);
  cmd->add_option("--filter-pattern,-p", args->pattern, "The filter pattern (use --filter-pattern=-ERROR for a leading '-')")
      ->required();
  cmd->add_option("--messages-file", args->message_files, "A file with one log message per line ('-' = stdin)")
      ->allow_extra_args(false);
  cmd->footer("Exit status: 0 pattern valid, 1 pattern invalid, 2 usage or I/O error.");
  cmd->callback([args, cmd] {
    args->messages.clear();
    for (const auto& a : cmd->remaining()) {
      if (a.rfind("--", 0) == 0 && a.size() > 2 && std::isalpha(static_cast<unsigned char>(a[2]))) {
        std::cerr << "cwfilter explain: unknown option " << a << " (run with --help)\n";
        set_exit_code(2);
        return;
      }
      args->messages.push_back(a);
    }
    set_exit_code(run(*args));
  });
}

}  // namespace cwfilter::cli
