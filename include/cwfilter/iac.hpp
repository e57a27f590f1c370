// Filter patterns, metric transformations and alarms found in infrastructure code, checked with
// the library's own rules: CloudFormation templates (JSON and YAML), Terraform plan JSON
// (`terraform show -json`), CDK `cdk.out` trees, and `aws logs describe-metric-filters` /
// `aws cloudwatch describe-alarms` output. Every finding carries the file, line and column of the
// offending character (see Finding::location).
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>
#include <cwfilter/pattern.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cwfilter::iac {

enum class Severity { kError, kWarning, kInfo };
std::string_view to_string(Severity severity) noexcept;  // "error", "warning", "info"

// What kind of document a file is.
enum class SourceKind {
  kUnknown,
  kCloudFormation,         // JSON or YAML template with Resources
  kTerraformPlan,          // terraform show -json
  kCdkManifest,            // cdk.out/manifest.json (its templates are read)
  kDescribeMetricFilters,  // {"metricFilters": [...]}
  kDescribeAlarms,         // {"MetricAlarms": [...]}
};
std::string_view to_string(SourceKind kind) noexcept;

struct Location {
  std::string file;
  std::size_t line = 0;    // 1-based; 0 = unknown
  std::size_t column = 0;  // 1-based, in characters
};

// The rules a finding can come from (stable ids: SARIF ruleId, JSON "rule").
struct Rule {
  std::string_view id;
  Severity default_severity;
  std::string_view description;
};
const std::vector<Rule>& rules();

struct Finding {
  Severity severity = Severity::kError;
  std::string rule;     // a Rule id, e.g. "pattern-syntax", "mixed-and-or"
  std::string message;
  // Where: the offending character of the pattern when the pattern is a single-line scalar (or a
  // JSON string, escapes included); otherwise the start of the pattern string (pattern_offset
  // then says where inside the pattern).
  Location location;
  std::string resource;  // "FailedLogins (AWS::Logs::MetricFilter)", "aws_cloudwatch_metric_alarm.x", ...
  std::string pattern;   // the pattern concerned, when there is one
  std::optional<std::size_t> pattern_offset;
  std::optional<CompileError> compile_error;  // rule "pattern-syntax"
};

// One filter pattern found (checked or not), for summaries and `--format json`.
struct FoundPattern {
  Location location;  // start of the pattern string
  std::string resource;
  std::string pattern;
  bool checkable = true;  // false: built by an intrinsic function / unknown until apply
  std::optional<Family> family;  // when it compiled
};

// A path given to check_paths that was not checked, and why ("cannot read: no such file or
// directory", "not a CloudFormation template, ...").
struct PathIssue {
  std::string path;
  std::string reason;
};

struct Report {
  std::vector<std::string> files;  // every file read
  std::vector<FoundPattern> patterns;
  std::vector<Finding> findings;
  // Files named explicitly whose kind is unknown, with CheckOptions::skip_unknown.
  std::vector<PathIssue> skipped;
  // Paths that could not be read, and (without skip_unknown) named files of unknown kind; every
  // other path was still checked.
  std::vector<PathIssue> path_errors;
  std::size_t alarms = 0;  // alarms found
  bool has(Severity s) const noexcept {
    for (const auto& f : findings)
      if (f.severity == s) return true;
    return false;
  }
};

struct CheckOptions {
  Options pattern_options;  // error wording (metric filter / filter-log-events) and limits
  bool lint = true;         // the warnings of lint.hpp and the alarm/filter cross-checks
  // A file named explicitly that is none of the supported kinds (package.json, a workflow) is
  // skipped (Report::skipped) instead of being a path error; one that does not parse is then
  // reported only when it looks like a template, as in a directory walk. For pre-commit, which
  // names every changed .json/.yaml file.
  bool skip_unknown = false;
};

// Detects what a document is from its content (and name, for YAML). kUnknown when it is none of
// the supported kinds or does not parse.
SourceKind detect(std::string_view file_name, std::string_view text);

// Checks one document. A document that does not parse becomes an error finding ("document-syntax");
// Error only for a document of unknown kind.
Result<Report, Error> check_document(std::string_view file_name, std::string_view text,
                                     const CheckOptions& options = {});

// Checks a file, or every supported file under a directory (recursively, in name order; hidden
// directories, node_modules and .terraform are skipped; unrecognised files are skipped). A cdk.out
// directory is read through its manifest.json. Error: a path that cannot be read, or a file given
// explicitly whose kind is unknown (unless options.skip_unknown).
Result<Report, Error> check_path(const std::string& path, const CheckOptions& options = {});

// Several paths checked as one set: describe-metric-filters and describe-alarms outputs given
// together are cross-checked against each other. A path that cannot be read (or a named file of
// unknown kind, without skip_unknown) does not stop the others: it is listed in
// Report::path_errors, and the Result is always a Report.
Result<Report, Error> check_paths(const std::vector<std::string>& paths, const CheckOptions& options = {});

// Appends `other` to `into` (used to check several paths as one source set).
void merge(Report& into, Report other);

}  // namespace cwfilter::iac
