// cwfilter validate: check filter patterns the way CloudWatch would, with positions and carets.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/cwfilter.hpp>
#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <vector>

namespace cwfilter::cli {

namespace {

struct Item {
  std::string source;
  std::size_t line = 1;  // line of the source where the pattern starts
  std::string pattern;
};

struct ValidateArgs {
  std::vector<std::string> patterns;
  std::vector<std::string> files;
  std::string format = "text";
  std::string context = "metric-filter";
};

// 1-based line and column (in characters) of a byte offset inside a possibly multi-line pattern.
std::pair<std::size_t, std::size_t> line_column(std::string_view p, std::size_t offset) {
  std::size_t line = 0, col = 1;
  for (std::size_t i = 0; i < offset && i < p.size(); ++i) {
    if (p[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return {line, col};
}

int run(const ValidateArgs& args) {
  std::vector<Item> items;
  for (std::size_t i = 0; i < args.patterns.size(); ++i)
    items.push_back({fmt::format("<argument {}>", i + 1), 1, args.patterns[i]});
  for (const auto& file : args.files) {
    auto text = read_file(file);
    if (!text) {
      std::cerr << "cwfilter validate: cannot read " << file << "\n";
      return 2;
    }
    std::size_t line = 0, pos = 0;
    while (pos <= text->size()) {
      std::size_t nl = text->find('\n', pos);
      std::string l = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      ++line;
      // Blank lines separate nothing and are skipped (a blank pattern would be valid anyway).
      if (l.find_first_not_of(" \t") != std::string::npos) items.push_back({file == "-" ? "<stdin>" : file, line, l});
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  if (items.empty()) {
    std::cerr << "cwfilter validate: no pattern given (PATTERN... or --file FILE)\n";
    return 2;
  }
  Options options;
  options.error_context = args.context == "filter-log-events" ? ErrorContext::kFilterLogEvents : ErrorContext::kMetricFilter;

  bool all_valid = true;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  if (args.format == "json") {
    w.StartObject();
    w.Key("results");
    w.StartArray();
  }
  for (const Item& item : items) {
    auto compiled = compile(item.pattern, options);
    if (args.format == "json") {
      w.StartObject();
      w.Key("source"); write_string(w, item.source);
      w.Key("line"); w.Uint64(item.line);
      w.Key("pattern"); write_string(w, item.pattern);
      w.Key("valid"); w.Bool(compiled.ok());
      if (compiled.ok()) {
        w.Key("family"); write_string(w, to_string(compiled->family()));
        w.Key("ast"); write_string(w, ast::dump(compiled->ast()));
      } else {
        const CompileError& e = compiled.error();
        auto [dl, col] = line_column(item.pattern, e.offset);
        w.Key("column"); w.Uint64(col);
        w.Key("error");
        w.StartObject();
        w.Key("code"); write_string(w, to_string(e.code));
        w.Key("offset"); w.Uint64(e.offset);
        w.Key("line"); w.Uint64(item.line + dl);
        w.Key("column"); w.Uint64(col);
        w.Key("fragment"); write_string(w, e.fragment);
        w.Key("message"); write_string(w, e.message);
        w.EndObject();
      }
      w.EndObject();
    } else if (compiled.ok()) {
      std::cout << fmt::format("{}:{}: ok: {} pattern\n", item.source, item.line, to_string(compiled->family()));
    } else {
      const CompileError& e = compiled.error();
      auto [dl, col] = line_column(item.pattern, e.offset);
      std::cout << fmt::format("{}:{}:{}: error: {}\n", item.source, item.line + dl, col,
                               format_error(item.pattern, e).substr(0) /* message + pattern + caret */);
    }
    all_valid = all_valid && compiled.ok();
  }
  if (args.format == "json") {
    w.EndArray();
    w.Key("valid");
    w.Bool(all_valid);
    w.EndObject();
    std::cout << buf.GetString() << "\n";
  }
  return all_valid ? 0 : 1;
}

}  // namespace

void register_validate(CLI::App& app) {
  auto args = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand("validate", "Check filter patterns as CloudWatch would; errors carry line, column and a caret");
  // Patterns are taken from the unparsed arguments: CLI11 reads a positional "[a, b]" as a list and
  // splits it, and space-delimited patterns look exactly like that; "-ERROR" is a pattern too.
  cmd->allow_extras();
  cmd->positionals_at_end(false);
  cmd->add_option("--file", args->files, "A file with one pattern per line ('-' = stdin); blank lines are skipped")
      ->allow_extra_args(false);
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--context", args->context, "Which API's error wording to use")
      ->check(CLI::IsMember({"metric-filter", "filter-log-events"}))
      ->capture_default_str();
  cmd->footer("Exit status: 0 all patterns valid, 1 some pattern invalid, 2 usage or I/O error.");
  cmd->callback([args, cmd] {
    args->patterns.clear();
    for (const auto& a : cmd->remaining()) {
      if (a.rfind("--", 0) == 0 && a.size() > 2 && std::isalpha(static_cast<unsigned char>(a[2]))) {
        std::cerr << "cwfilter validate: unknown option " << a << " (run with --help)\n";
        set_exit_code(2);
        return;
      }
      args->patterns.push_back(a);
    }
    set_exit_code(run(*args));
  });
}

}  // namespace cwfilter::cli
