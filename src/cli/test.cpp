// cwfilter test: a local `aws logs test-metric-filter`, same options, same response.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/metric_filter.hpp>

#include <cmath>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <iostream>
#include <vector>

namespace cwfilter::cli {

namespace {

struct TestArgs {
  std::optional<std::string> filter_pattern;
  std::vector<std::string> messages;
  std::optional<std::string> cli_input_json;
  std::optional<std::string> metric_transformations;
};

bool read_string_array(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (!v.IsArray()) return false;
  for (const auto& m : v.GetArray()) {
    if (!m.IsString()) return false;
    out.emplace_back(m.GetString(), m.GetStringLength());
  }
  return true;
}

// Exit statuses (README, --help): 1 for an invalid pattern or invalid input, 2 for a usage or I/O
// error (a required option missing, a file:// argument that cannot be read).
constexpr int kInvalidInput = 1;
constexpr int kUsageError = 2;

int fail(const std::string& message, int code = kInvalidInput) {
  std::cerr << "cwfilter test: " << message << "\n";
  return code;
}

constexpr const char* kNoPattern = "--filter-pattern is required (or filterPattern in --cli-input-json)";

int run(const TestArgs& args) {
  std::optional<std::string> pattern = args.filter_pattern;
  std::vector<std::string> messages;
  std::optional<std::string> transformations = args.metric_transformations;
  std::string error;

  // Checked before anything is read: without a pattern, stdin would be read for nothing.
  if (!pattern && !args.cli_input_json) return fail(kNoPattern, kUsageError);
  if (args.cli_input_json) {
    auto text = argument_text(*args.cli_input_json, &error);
    if (!text) return fail(error, kUsageError);
    rapidjson::Document doc;
    doc.Parse(text->c_str(), text->size());
    if (doc.HasParseError() || !doc.IsObject()) return fail("--cli-input-json is not a JSON object");
    if (doc.HasMember("filterPattern")) {
      if (!doc["filterPattern"].IsString()) return fail("filterPattern must be a string");
      if (!pattern) pattern = std::string(doc["filterPattern"].GetString(), doc["filterPattern"].GetStringLength());
    }
    if (doc.HasMember("logEventMessages") && !read_string_array(doc["logEventMessages"], messages))
      return fail("logEventMessages must be an array of strings");
    if (doc.HasMember("metricTransformations") && !transformations) {
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      doc["metricTransformations"].Accept(w);
      transformations = b.GetString();
    }
  }
  if (!pattern) return fail(kNoPattern, kUsageError);
  if (!args.messages.empty()) {
    messages.clear();
    if (args.messages.size() == 1 && args.messages[0].rfind("file://", 0) == 0) {
      auto text = argument_text(args.messages[0], &error);
      if (!text) return fail(error, kUsageError);
      rapidjson::Document doc;
      doc.Parse(text->c_str(), text->size());
      if (doc.HasParseError() || !read_string_array(doc, messages))
        return fail(args.messages[0] + " must hold a JSON array of strings");
    } else {
      messages = args.messages;
    }
  } else if (messages.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      messages.push_back(line);
    }
  }

  Options options;
  options.error_context = ErrorContext::kFilterLogEvents;
  auto compiled = compile(*pattern, options);
  if (!compiled.ok()) {
    std::cerr << format_error(*pattern, compiled.error()) << "\n";
    return 1;
  }
  std::optional<MetricFilter> filter;
  if (transformations) {
    auto text = argument_text(*transformations, &error);
    if (!text) return fail(error, kUsageError);
    auto parsed = parse_metric_transformations(*text);
    if (!parsed.ok()) return fail(parsed.error().message);
    MetricFilterDefinition def{"test-metric-filter", "test-log-group", *pattern, parsed.value()};
    auto created = MetricFilter::create(def, options);
    if (!created.ok()) return fail(created.error().message);
    filter = std::move(created.value());
  }

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("matches");
  w.StartArray();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    MatchResult r = compiled->match(messages[i]);
    if (!r.matched) continue;
    w.StartObject();
    w.Key("eventNumber");
    w.Uint64(i + 1);  // DECISIONS 13: 1-based, as the AWS CLI returns it
    w.Key("eventMessage");
    write_string(w, messages[i]);
    w.Key("extractedValues");
    w.StartObject();
    for (const auto& [k, v] : r.extracted_values) {
      write_string(w, k);
      write_string(w, v);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  if (filter) {
    // One entry per published datapoint, in event order (defaultValue entries included).
    w.Key("metricData");
    w.StartArray();
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto outcome = filter->evaluate(messages[i], 0);
      if (!outcome.datapoint) continue;
      const auto& dp = *outcome.datapoint;
      w.StartObject();
      w.Key("eventNumber");
      w.Uint64(i + 1);
      w.Key("value");
      if (dp.value == static_cast<double>(static_cast<std::int64_t>(dp.value)) && std::abs(dp.value) < 1e15)
        w.Int64(static_cast<std::int64_t>(dp.value));
      else
        w.Double(dp.value);
      w.Key("unit");
      write_string(w, to_string(dp.unit));
      w.Key("dimensions");
      w.StartObject();
      for (const auto& d : dp.key.dimensions()) {
        write_string(w, d.name);
        write_string(w, d.value);
      }
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  std::cout << buf.GetString() << "\n";
  return 0;
}

}  // namespace

void register_test(CLI::App& app) {
  auto args = std::make_shared<TestArgs>();
  auto* cmd = app.add_subcommand("test", "Test a filter pattern on log event messages, like `aws logs test-metric-filter`");
  cmd->add_option("--filter-pattern", args->filter_pattern, "The filter pattern");
  cmd->add_option("--log-event-messages", args->messages,
                  "Messages, or file://F holding a JSON array of strings (default: one message per line on stdin)")
      ->allow_extra_args(false)  // keep "[INFO] ..." messages whole (CLI11 splits "[a,b]" otherwise)
      ->expected(1, 1 << 20);
  cmd->add_option("--cli-input-json", args->cli_input_json,
                  "file://F with {\"filterPattern\": ..., \"logEventMessages\": [...]}");
  cmd->add_option("--metric-transformations", args->metric_transformations,
                  "JSON list with one MetricTransformation, or file://F");
  cmd->footer("Prints the TestMetricFilter response JSON. Exit status: 0 valid pattern, 1 invalid pattern or input, 2 usage or I/O error.");
  cmd->callback([args] { set_exit_code(run(*args)); });
}

}  // namespace cwfilter::cli
