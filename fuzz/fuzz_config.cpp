// The configuration loaders: the `cwfilter run` CONFIG (metricFilters, metricAlarms, subscriptions,
// smtp, streakAlarms) and the pipeline built from it, PutMetricAlarm / DescribeAlarms JSON,
// describe-metric-filters JSON, metric transformations, subscriptions, SMTP settings, streak
// alarms, dead-letter records and the IaC readers (CloudFormation JSON/YAML, Terraform plan, CDK
// manifest). The first byte selects the loader; the rest is the document. Invariants: nothing
// crashes or throws across the API (bad input is an Error value, never an exception) and every
// error has a message.
#include "fuzz_check.hpp"

#include <cwfilter/alarm.hpp>
#include <cwfilter/iac.hpp>
#include <cwfilter/metric_filter.hpp>
#include <cwfilter/pipeline.hpp>
#include <cwfilter/sinks.hpp>
#include <cwfilter/streak.hpp>

#include <cstdint>
#include <string>
#include <string_view>

using namespace cwfilter;

namespace {

template <typename R>
void check_result(const R& r, const char* what) {
  if (!r.ok()) FUZZ_CHECK(!r.error().message.empty(), "%s: an error without a message", what);
}

// Loader names, in selector order (make_seeds.py writes seeds with the same numbering).
enum Loader : std::uint8_t {
  kRunConfig, kDescribeAlarms, kPutMetricAlarm, kMetricFilters, kMetricTransformations,
  kSubscriptions, kSmtp, kStreakAlarms, kDeadLetter, kIacJson, kIacYaml, kIacPlan, kIacAuto,
  kLoaderCount
};

void run_config(std::string_view text) {
  auto config = parse_pipeline_config(text);
  check_result(config, "parse_pipeline_config");
  if (!config.ok()) return;
  // Building the pipeline validates and compiles everything the config names; a few events then
  // exercise the compiled filters and alarms.
  auto pipeline = Pipeline::create(std::move(config.value()), {}, [](const PipelineNotification&) {});
  check_result(pipeline, "Pipeline::create");
  if (!pipeline.ok()) return;
  LogEvent e;
  e.has_timestamp = true;
  e.timestamp_ms = 1700000000000;
  e.message = R"({"eventName":"ConsoleLogin","errorMessage":"Failed authentication","userIdentity":{"userName":"x"}})";
  for (int i = 0; i < 3; ++i) {
    pipeline->add(e);
    e.timestamp_ms += 60000;
  }
  pipeline->finish();
  const std::string state = pipeline->save_state();
  FUZZ_CHECK(!state.empty(), "empty saved state");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto loader = static_cast<Loader>(data[0] % kLoaderCount);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (loader) {
    case kRunConfig: run_config(text); break;
    case kDescribeAlarms: {
      auto r = alarm::parse_alarms_json(text);
      check_result(r, "parse_alarms_json");
      if (r.ok())
        for (const auto& a : r.value()) check_result(alarm::validate(a), "validate");
      break;
    }
    case kPutMetricAlarm: check_result(alarm::parse_put_metric_alarm(text), "parse_put_metric_alarm"); break;
    case kMetricFilters: {
      auto r = parse_metric_filters(text);
      check_result(r, "parse_metric_filters");
      if (r.ok())
        for (const auto& f : r.value()) check_result(MetricFilter::create(f), "MetricFilter::create");
      break;
    }
    case kMetricTransformations:
      check_result(parse_metric_transformations(text), "parse_metric_transformations");
      break;
    case kSubscriptions: check_result(parse_subscriptions(text), "parse_subscriptions"); break;
    case kSmtp: check_result(parse_smtp_config(text), "parse_smtp_config"); break;
    case kStreakAlarms: check_result(streak::parse_streak_alarms_json(text), "parse_streak_alarms_json"); break;
    case kDeadLetter: check_result(parse_dead_letter_record(text), "parse_dead_letter_record"); break;
    case kIacJson: check_result(iac::check_document("template.json", text), "check_document json"); break;
    case kIacYaml: check_result(iac::check_document("template.yaml", text), "check_document yaml"); break;
    case kIacPlan: check_result(iac::check_document("plan.json", text), "check_document plan"); break;
    case kIacAuto:
      (void)iac::detect("input", text);
      check_result(iac::check_document("input", text), "check_document");
      break;
    case kLoaderCount: break;
  }
  return 0;
}
