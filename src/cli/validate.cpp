// cwfilter validate: check filter patterns the way CloudWatch would, with positions and carets —
// bare patterns, pattern files, and (with --paths) the patterns, metric transformations and alarms
// of CloudFormation / Terraform plan / cdk.out / describe-* files, for CI (text, json, github, sarif).
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/iac.hpp>
#include <cwfilter/lint.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
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
  std::vector<std::string> patterns;  // or paths, with --paths
  std::vector<std::string> files;
  std::string format = "text";
  std::string context = "metric-filter";
  bool paths = false;
  bool strict = false;
  bool no_lint = false;
  bool skip_unknown = false;
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

// One checked pattern for the "results" of --format json and the "ok" lines of text output.
struct Result_ {
  iac::Location location;
  std::string resource;
  std::string pattern;
  bool checkable = true;
  bool bare = false;  // from the command line or --file (legacy output)
  std::optional<Pattern> compiled;
  std::optional<CompileError> error;
};

struct Outcome {
  std::vector<Result_> results;
  std::vector<iac::Finding> findings;
  std::vector<iac::PathIssue> skipped;      // --skip-unknown: named files that are none of the kinds read
  std::vector<iac::PathIssue> path_errors;  // not checked (exit 2); the other paths were
  std::size_t files = 0, alarms = 0;
};

void check_bare(const Item& item, const Options& options, bool lint, Outcome& out) {
  Result_ r;
  r.bare = true;
  r.pattern = item.pattern;
  r.location = {item.source, item.line, 1};
  auto compiled = compile(item.pattern, options);
  auto at = [&](std::size_t offset) {
    auto [dl, col] = line_column(item.pattern, offset);
    return iac::Location{item.source, item.line + dl, col};
  };
  if (!compiled) {
    r.error = compiled.error();
    iac::Finding f;
    f.severity = iac::Severity::kError;
    f.rule = "pattern-syntax";
    f.message = compiled.error().message;
    f.location = at(compiled.error().offset);
    f.pattern = item.pattern;
    f.pattern_offset = compiled.error().offset;
    f.compile_error = compiled.error();
    out.findings.push_back(std::move(f));
  } else {
    r.compiled = *compiled;
    if (lint)
      for (const auto& w : lint::check_pattern(*compiled)) {
        iac::Finding f;
        f.severity = iac::Severity::kWarning;
        f.rule = w.rule;
        f.message = w.message;
        f.location = at(w.offset);
        f.pattern = item.pattern;
        f.pattern_offset = w.offset;
        out.findings.push_back(std::move(f));
      }
  }
  out.results.push_back(std::move(r));
}

// ---- renderers ----------------------------------------------------------------------------------

std::string caret_block(const iac::Finding& f, std::string_view headline) {
  if (f.pattern.empty() && !f.pattern_offset) return std::string(headline);
  CompileError e;
  e.offset = f.pattern_offset.value_or(0);
  e.message = std::string(headline);
  return format_error(f.pattern, e);
}

std::string headline(const iac::Finding& f) {
  std::string s = f.message;
  if (f.rule != "pattern-syntax") s += fmt::format(" [{}]", f.rule);
  if (!f.resource.empty()) s += fmt::format(" in {}", f.resource);
  return s;
}

void print_text(const Outcome& out, bool summary) {
  // Legacy order for bare patterns: each pattern's line (ok or error), then its warnings.
  for (const auto& r : out.results) {
    if (!r.bare) continue;
    if (r.compiled)
      std::cout << fmt::format("{}:{}: ok: {} pattern\n", r.location.file, r.location.line,
                               to_string(r.compiled->family()));
    for (const auto& f : out.findings) {
      if (f.location.file != r.location.file || f.pattern != r.pattern || f.resource != "") continue;
      if (f.location.line < r.location.line ||
          f.location.line > r.location.line + static_cast<std::size_t>(std::count(r.pattern.begin(), r.pattern.end(), '\n')))
        continue;
      std::cout << fmt::format("{}:{}:{}: {}: {}\n", f.location.file, f.location.line, f.location.column,
                               to_string(f.severity), caret_block(f, headline(f)));
    }
  }
  for (const auto& f : out.findings) {
    bool from_bare = false;
    for (const auto& r : out.results)
      if (r.bare && r.location.file == f.location.file && r.pattern == f.pattern && f.resource.empty()) from_bare = true;
    if (from_bare) continue;
    std::string where = f.location.line ? fmt::format("{}:{}:{}", f.location.file, f.location.line, f.location.column)
                                        : f.location.file;
    std::cout << fmt::format("{}: {}: {}\n", where, to_string(f.severity), caret_block(f, headline(f)));
  }
  for (const auto& s : out.skipped) std::cout << fmt::format("{}: skipped: {}\n", s.path, s.reason);
  if (summary) {
    std::size_t e = 0, w = 0, i = 0, patterns = 0;
    for (const auto& f : out.findings)
      (f.severity == iac::Severity::kError ? e : f.severity == iac::Severity::kWarning ? w : i)++;
    for (const auto& r : out.results) patterns += r.bare ? 0 : 1;
    std::cout << fmt::format("{} file{}, {} pattern{}, {} alarm{}: {} error{}, {} warning{}, {} not checkable{}\n",
                             out.files, out.files == 1 ? "" : "s", patterns, patterns == 1 ? "" : "s", out.alarms,
                             out.alarms == 1 ? "" : "s", e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", i,
                             out.skipped.empty() ? std::string() : fmt::format(", {} skipped", out.skipped.size()));
  }
}

void write_finding_json(JsonWriter& w, const iac::Finding& f) {
  w.StartObject();
  w.Key("severity"); write_string(w, to_string(f.severity));
  w.Key("rule"); write_string(w, f.rule);
  w.Key("message"); write_string(w, f.message);
  w.Key("file"); write_string(w, f.location.file);
  w.Key("line"); w.Uint64(f.location.line);
  w.Key("column"); w.Uint64(f.location.column);
  if (!f.resource.empty()) { w.Key("resource"); write_string(w, f.resource); }
  if (!f.pattern.empty() || f.pattern_offset) { w.Key("pattern"); write_string(w, f.pattern); }
  if (f.pattern_offset) { w.Key("offset"); w.Uint64(*f.pattern_offset); }
  w.EndObject();
}

void print_json(const Outcome& out, bool valid) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("results");
  w.StartArray();
  for (const auto& r : out.results) {
    w.StartObject();
    w.Key("source"); write_string(w, r.location.file);
    w.Key("line"); w.Uint64(r.location.line);
    if (!r.bare) { w.Key("column"); w.Uint64(r.location.column); }
    if (!r.resource.empty()) { w.Key("resource"); write_string(w, r.resource); }
    w.Key("pattern"); write_string(w, r.pattern);
    if (!r.checkable) {
      w.Key("checkable"); w.Bool(false);
      w.Key("valid"); w.Null();
      w.EndObject();
      continue;
    }
    w.Key("valid"); w.Bool(!r.error.has_value());
    if (r.compiled) {
      w.Key("family"); write_string(w, to_string(r.compiled->family()));
      w.Key("ast"); write_string(w, ast::dump(r.compiled->ast()));
    } else if (r.error) {
      const CompileError& e = *r.error;
      auto [dl, col] = line_column(r.pattern, e.offset);
      if (r.bare) { w.Key("column"); w.Uint64(col); }
      w.Key("error");
      w.StartObject();
      w.Key("code"); write_string(w, to_string(e.code));
      w.Key("offset"); w.Uint64(e.offset);
      // Bare patterns: line/column within the source of the pattern; files: the finding's.
      std::size_t line = r.location.line + dl, column = col;
      if (!r.bare)
        for (const auto& f : out.findings)
          if (f.rule == "pattern-syntax" && f.resource == r.resource && f.pattern == r.pattern) {
            line = f.location.line;
            column = f.location.column;
          }
      w.Key("line"); w.Uint64(line);
      w.Key("column"); w.Uint64(column);
      w.Key("fragment"); write_string(w, e.fragment);
      w.Key("message"); write_string(w, e.message);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("findings");
  w.StartArray();
  for (const auto& f : out.findings) write_finding_json(w, f);
  w.EndArray();
  auto issues = [&w](const char* key, const std::vector<iac::PathIssue>& list) {
    w.Key(key);
    w.StartArray();
    for (const auto& s : list) {
      w.StartObject();
      w.Key("file"); write_string(w, s.path);
      w.Key("reason"); write_string(w, s.reason);
      w.EndObject();
    }
    w.EndArray();
  };
  issues("skipped", out.skipped);
  issues("path_errors", out.path_errors);
  w.Key("valid");
  w.Bool(valid);
  w.EndObject();
  std::cout << buf.GetString() << "\n";
}

// GitHub workflow commands: data escapes %, CR, LF; properties also ':' and ','.
std::string gh_data(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}
std::string gh_property(std::string_view s) {
  std::string out;
  for (char c : gh_data(s)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

void print_github(const Outcome& out) {
  for (const auto& e : out.path_errors)
    std::cout << fmt::format("::error file={},title={}::{}\n", gh_property(e.path), gh_property("cwfilter path"),
                             gh_data(e.path + ": " + e.reason));
  for (const auto& f : out.findings) {
    const char* cmd = f.severity == iac::Severity::kError ? "error" : f.severity == iac::Severity::kWarning ? "warning" : "notice";
    std::string props;
    if (!f.location.file.empty() && f.location.file[0] != '<') {
      props = "file=" + gh_property(f.location.file);
      if (f.location.line) props += fmt::format(",line={}", f.location.line);
      if (f.location.column) props += fmt::format(",col={}", f.location.column);
      props += ",";
    }
    props += "title=" + gh_property("cwfilter " + f.rule);
    std::string msg = headline(f);
    if (!f.pattern.empty()) msg += "\n" + f.pattern;
    std::cout << fmt::format("::{} {}::{}\n", cmd, props, gh_data(msg));
  }
}

// Percent-encodes a path for a URI ('/' kept; ':' too, except in a relative reference, where a
// first segment with ':' would read as a scheme).
std::string uri_of(std::string_view path, bool relative) {
  std::string out;
  for (unsigned char c : path) {
    if (c == '\\') out += '/';
    else if (std::isalnum(c) || std::string_view("-._~/").find(static_cast<char>(c)) != std::string_view::npos ||
             (c == ':' && !relative))
      out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// A file's SARIF artifactLocation: relative to the current directory (uriBaseId %SRCROOT%, which
// originalUriBaseIds maps to it) when the file is under it, whether it was given as an absolute or
// a relative path; otherwise an absolute file:// URI, without uriBaseId.
struct ArtifactUri {
  std::string uri;
  bool relative = false;
};
ArtifactUri artifact_uri(const std::string& file, const std::filesystem::path& cwd) {
  namespace fs = std::filesystem;
  const fs::path p(file);
  const fs::path abs = (p.is_absolute() ? p : cwd / p).lexically_normal();
  const fs::path rel = abs.lexically_relative(cwd);
  if (!rel.empty() && *rel.begin() != ".." && rel != ".") return {uri_of(rel.generic_string(), true), true};
  return {"file://" + uri_of(abs.generic_string(), false), false};
}

void print_sarif(const Outcome& out) {
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec).lexically_normal();
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  const auto& rules = iac::rules();
  auto level = [](iac::Severity s) { return s == iac::Severity::kError ? "error" : s == iac::Severity::kWarning ? "warning" : "note"; };
  w.StartObject();
  w.Key("$schema"); write_string(w, "https://json.schemastore.org/sarif-2.1.0.json");
  w.Key("version"); write_string(w, "2.1.0");
  w.Key("runs");
  w.StartArray();
  w.StartObject();
  w.Key("tool");
  w.StartObject();
  w.Key("driver");
  w.StartObject();
  w.Key("name"); write_string(w, "cwfilter");
  w.Key("version"); write_string(w, "0.1.0");
  w.Key("informationUri"); write_string(w, "https://github.com/cwfilter/cwfilter");
  w.Key("rules");
  w.StartArray();
  for (const auto& r : rules) {
    w.StartObject();
    w.Key("id"); write_string(w, r.id);
    w.Key("shortDescription"); w.StartObject(); w.Key("text"); write_string(w, r.description); w.EndObject();
    w.Key("defaultConfiguration"); w.StartObject(); w.Key("level"); write_string(w, level(r.default_severity)); w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  if (!ec) {
    w.Key("originalUriBaseIds");
    w.StartObject();
    w.Key("%SRCROOT%");
    w.StartObject();
    std::string root = "file://" + uri_of(cwd.generic_string(), false);
    if (root.back() != '/') root += '/';
    w.Key("uri"); write_string(w, root);
    w.EndObject();
    w.EndObject();
  }
  w.Key("results");
  w.StartArray();
  for (const auto& f : out.findings) {
    w.StartObject();
    w.Key("ruleId"); write_string(w, f.rule);
    for (std::size_t i = 0; i < rules.size(); ++i)
      if (rules[i].id == f.rule) { w.Key("ruleIndex"); w.Uint64(i); }
    w.Key("level"); write_string(w, level(f.severity));
    w.Key("message"); w.StartObject(); w.Key("text"); write_string(w, headline(f)); w.EndObject();
    w.Key("locations");
    w.StartArray();
    w.StartObject();
    w.Key("physicalLocation");
    w.StartObject();
    w.Key("artifactLocation");
    w.StartObject();
    if (f.location.file.empty() || f.location.file[0] == '<') {
      w.Key("uri"); write_string(w, "cwfilter-argument");
    } else if (ec) {
      w.Key("uri"); write_string(w, uri_of(f.location.file, !std::filesystem::path(f.location.file).is_absolute()));
    } else {
      const ArtifactUri a = artifact_uri(f.location.file, cwd);
      w.Key("uri"); write_string(w, a.uri);
      if (a.relative) { w.Key("uriBaseId"); write_string(w, "%SRCROOT%"); }
    }
    w.EndObject();
    w.Key("region");
    w.StartObject();
    w.Key("startLine"); w.Uint64(std::max<std::size_t>(1, f.location.line));
    w.Key("startColumn"); w.Uint64(std::max<std::size_t>(1, f.location.column));
    w.EndObject();
    w.EndObject();
    if (!f.resource.empty()) {
      w.Key("logicalLocations");
      w.StartArray(); w.StartObject(); w.Key("name"); write_string(w, f.resource); w.EndObject(); w.EndArray();
    }
    w.EndObject();
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  std::cout << buf.GetString() << "\n";
}

int run(const ValidateArgs& args) {
  std::vector<Item> items;
  if (!args.paths)
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
  if (items.empty() && !(args.paths && !args.patterns.empty())) {
    std::cerr << "cwfilter validate: no pattern given (PATTERN..., --file FILE, or --paths PATH...)\n";
    return 2;
  }
  Options options;
  options.error_context = args.context == "filter-log-events" ? ErrorContext::kFilterLogEvents : ErrorContext::kMetricFilter;

  Outcome out;
  for (const Item& item : items) check_bare(item, options, !args.no_lint, out);
  if (args.paths && !args.patterns.empty()) {
    iac::CheckOptions co;
    co.pattern_options = options;
    co.lint = !args.no_lint;
    co.skip_unknown = args.skip_unknown;
    // A bad path does not stop the others (report->path_errors; exit 2 below).
    auto report = iac::check_paths(args.patterns, co);
    if (!report) {
      std::cerr << "cwfilter validate: " << report.error().message << "\n";
      return 2;
    }
    out.files = report->files.size();
    out.alarms = report->alarms;
    for (const auto& p : report->patterns) {
      Result_ r;
      r.location = p.location;
      r.resource = p.resource;
      r.pattern = p.pattern;
      r.checkable = p.checkable;
      if (p.checkable) {
        auto c = compile(p.pattern, options);
        if (c) r.compiled = *c;
        else r.error = c.error();
      }
      out.results.push_back(std::move(r));
    }
    for (auto& f : report->findings) out.findings.push_back(std::move(f));
    out.skipped = std::move(report->skipped);
    out.path_errors = std::move(report->path_errors);
    for (const auto& e : out.path_errors) std::cerr << "cwfilter validate: " << e.path << ": " << e.reason << "\n";
  }
  if (args.strict)
    for (auto& f : out.findings)
      if (f.severity == iac::Severity::kWarning) f.severity = iac::Severity::kError;

  bool valid = out.path_errors.empty();
  for (const auto& f : out.findings) valid = valid && f.severity != iac::Severity::kError;
  if (args.format == "json") print_json(out, valid);
  else if (args.format == "github") print_github(out);
  else if (args.format == "sarif") print_sarif(out);
  else print_text(out, args.paths);
  if (!out.path_errors.empty()) return 2;
  return valid ? 0 : 1;
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
  cmd->add_option("--format", args->format, "Output format: text, json, github (workflow annotations), sarif (2.1.0)")
      ->check(CLI::IsMember({"text", "json", "github", "sarif"}))
      ->capture_default_str();
  cmd->add_option("--context", args->context, "Which API's error wording to use")
      ->check(CLI::IsMember({"metric-filter", "filter-log-events"}))
      ->capture_default_str();
  cmd->add_flag("--paths", args->paths,
                "The arguments are files or directories: CloudFormation (JSON/YAML), Terraform plan JSON, "
                "cdk.out, describe-metric-filters / describe-alarms output");
  cmd->add_flag("--strict", args->strict, "Warnings are errors (exit 1)");
  cmd->add_flag("--skip-unknown", args->skip_unknown,
                "With --paths: a named file that is none of the kinds read (package.json, a workflow) is "
                "reported as skipped instead of being an error (exit 2); for pre-commit");
  cmd->add_flag("--no-lint", args->no_lint, "Only errors: no warnings about valid-but-suspicious patterns and alarms");
  cmd->footer(
      "Exit status: 0 no errors (warnings allowed unless --strict), 1 errors found, 2 usage or I/O error\n"
      "(every other path is still checked and reported).\n"
      "Examples:\n"
      "  cwfilter validate '{ $.eventName = ConsoleLogin }'\n"
      "  cwfilter validate --paths --format github infra/ plan.json cdk.out");
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
