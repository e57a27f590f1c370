// cwfilter run: CloudTrail / log files -> metric filters -> alarms -> notifications, locally.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/pipeline.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace cwfilter::cli {

namespace {

struct RunArgs {
  std::string config, metric_filters, alarms, subscriptions;
  std::string log_group;
  bool follow = false;
  std::string state;
  std::string from, until;
  std::string max_lateness;
  std::string input_format = "auto";
  std::string timestamp_field;
  std::string dead_letter = "cwfilter-dead-letter.jsonl";
  bool quiet = false;
  std::string summary_format = "text";
  int max_attempts = 4;
  std::vector<std::string> inputs;
};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "900", "900s", "15m", "1h" -> milliseconds.
std::optional<std::int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end);
  double mult = unit.empty() || unit == "s" ? 1000 : unit == "ms" ? 1 : unit == "m" ? 60000 : unit == "h" ? 3600000 : -1;
  if (mult < 0 || v < 0 || end == text.c_str()) return std::nullopt;
  return static_cast<std::int64_t>(v * mult);
}

int fail(const std::string& m, int code = 2) {
  std::cerr << "cwfilter run: " << m << "\n";
  return code;
}

// State file: the pipeline's state plus, per input source, the records already processed, written
// together and atomically (temp file, fsync, rename) so that a restart neither loses nor double-
// counts events.
bool write_state(const std::string& path, const Pipeline& pipeline, const std::map<std::string, std::uint64_t>& done) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  w.Key("pipeline");
  std::string ps = pipeline.save_state();
  w.RawValue(ps.c_str(), ps.size(), rapidjson::kObjectType);
  w.Key("inputs");
  w.StartObject();
  for (const auto& [src, n] : done) {
    write_string(w, src);
    w.Uint64(n);
  }
  w.EndObject();
  w.EndObject();
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(b.GetString(), 1, b.GetSize(), f) == b.GetSize();
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void tick(std::uint64_t events, const std::string& source) {
    if (!enabled_ || (events & 1023) != 0) return;
    auto t = std::chrono::steady_clock::now();
    if (t - last_ < std::chrono::milliseconds(200)) return;
    last_ = t;
    std::string s = source.size() > 50 ? "..." + source.substr(source.size() - 47) : source;
    std::fprintf(stderr, "\r\033[Kcwfilter run: %llu events  %s", static_cast<unsigned long long>(events), s.c_str());
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

void print_summary(const RunArgs& args, const Pipeline& p, const InputStats& in, const std::vector<MalformedRecord>& bad,
                   const DeliveryStats* delivery) {
  const PipelineSummary& s = p.summary();
  if (args.summary_format == "json") {
    rapidjson::StringBuffer b;
    JsonWriter w(b);
    w.StartObject();
    w.Key("logGroup"); write_string(w, p.log_group());
    w.Key("inputs");
    w.StartArray();
    for (const auto& src : in.sources) {
      w.StartObject();
      w.Key("source"); write_string(w, src.source);
      w.Key("format"); write_string(w, to_string(src.format));
      w.Key("events"); w.Uint64(src.events);
      w.Key("malformed"); w.Uint64(src.malformed);
      w.EndObject();
    }
    w.EndArray();
    w.Key("malformed");
    w.StartArray();
    for (const auto& m : bad) write_string(w, to_string(m));
    w.EndArray();
    w.Key("events"); w.Uint64(s.events);
    w.Key("eventsLate"); w.Uint64(s.events_late);
    w.Key("eventsSkippedTime"); w.Uint64(s.events_skipped_time);
    w.Key("eventsOtherLogGroup"); w.Uint64(s.events_other_log_group);
    w.Key("filters");
    w.StartArray();
    for (const auto& f : s.filters) {
      w.StartObject();
      w.Key("filterName"); write_string(w, f.filter_name);
      w.Key("events"); w.Uint64(f.events);
      w.Key("matches"); w.Uint64(f.matches);
      w.Key("datapoints"); w.Uint64(f.datapoints);
      w.Key("defaultDatapoints"); w.Uint64(f.default_datapoints);
      w.Key("valuesSkipped"); w.Uint64(f.values_skipped);
      w.EndObject();
    }
    w.EndArray();
    w.Key("alarms");
    w.StartArray();
    for (const auto& a : s.alarms) {
      w.StartObject();
      w.Key("alarmName"); write_string(w, a.alarm_name);
      w.Key("evaluations"); w.Uint64(a.evaluations);
      w.Key("evaluationsSkipped"); w.Uint64(a.evaluations_skipped);
      w.Key("transitions"); w.Uint64(a.transitions);
      w.Key("transitionsTo");
      w.StartObject();
      for (const auto& [k, v] : a.transitions_to) { write_string(w, k); w.Uint64(v); }
      w.EndObject();
      w.Key("notifications"); w.Uint64(a.notifications);
      w.Key("finalState"); write_string(w, a.final_state);
      w.EndObject();
    }
    w.EndArray();
    w.Key("notifications"); w.Uint64(s.notifications);
    if (delivery) {
      w.Key("delivered"); w.Uint64(delivery->delivered);
      w.Key("deliveryFailed"); w.Uint64(delivery->failed);
      w.Key("deadLettered"); w.Uint64(delivery->dead_lettered);
    }
    w.Key("warnings");
    w.StartArray();
    for (const auto& wn : p.warnings()) write_string(w, wn);
    w.EndArray();
    w.EndObject();
    std::cerr << b.GetString() << "\n";
    return;
  }
  std::cerr << "cwfilter run: summary (log group " << p.log_group() << ")\n";
  for (const auto& src : in.sources)
    std::cerr << fmt::format("  input {}: {} events ({}){}\n", src.source, src.events, to_string(src.format),
                             src.malformed ? fmt::format(", {} malformed", src.malformed) : "");
  for (const auto& m : bad) std::cerr << "  malformed: " << to_string(m) << "\n";
  std::cerr << fmt::format("  events: {} ({} late, {} outside --from/--until, {} of other log groups)\n", s.events,
                           s.events_late, s.events_skipped_time, s.events_other_log_group);
  for (const auto& f : s.filters)
    std::cerr << fmt::format("  metric filter {}: {} matches, {} datapoints ({} default values), {} matches without a "
                             "numeric value\n",
                             f.filter_name, f.matches, f.datapoints, f.default_datapoints, f.values_skipped);
  for (const auto& a : s.alarms) {
    std::string to;
    for (const auto& [k, v] : a.transitions_to) to += fmt::format("{}{} to {}", to.empty() ? "" : ", ", v, k);
    std::cerr << fmt::format("  alarm {}: {} evaluations ({} quiet ones skipped), {} transitions{}, {} notifications, "
                             "final state {}\n",
                             a.alarm_name, a.evaluations, a.evaluations_skipped, a.transitions,
                             to.empty() ? "" : " (" + to + ")", a.notifications, a.final_state);
  }
  for (const auto& st : s.streaks)
    std::cerr << fmt::format("  streak alarm {}: {} failures, {} successes, {} ignored, {} without a key, {} to ALARM, "
                             "{} to OK, {} notifications, {} live keys (peak {}), {} late\n",
                             st.alarm_name, st.stats.failures, st.stats.successes, st.stats.ignored,
                             st.stats.unresolved_keys, st.stats.transitions_to_alarm, st.stats.transitions_to_ok,
                             st.notifications, st.stats.live_keys, st.stats.peak_live_keys, st.stats.late_events);
  if (delivery)
    std::cerr << fmt::format("  notifications: {} sent, {} deliveries ok, {} failed, {} dead-lettered\n",
                             s.notifications, delivery->delivered, delivery->failed, delivery->dead_lettered);
  if (s.non_sns_actions)
    std::cerr << fmt::format("  {} non-SNS alarm actions (EC2, Auto Scaling, Lambda, ...) were not run\n", s.non_sns_actions);
}

int run(RunArgs args) {
  // ---- configuration ----
  PipelineConfig config;
  std::string error;
  if (!args.config.empty()) {
    auto text = read_file(args.config);
    if (!text) return fail("cannot read " + args.config);
    auto c = parse_pipeline_config(*text);
    if (!c.ok()) return fail(args.config + ": " + c.error().message, 1);
    config = std::move(c.value());
  }
  if (!args.metric_filters.empty()) {
    auto text = read_file(args.metric_filters);
    if (!text) return fail("cannot read " + args.metric_filters);
    auto f = parse_metric_filters(*text);
    if (!f.ok()) return fail(args.metric_filters + ": " + f.error().message, 1);
    for (auto& d : f.value()) config.metric_filters.push_back(std::move(d));
  }
  if (!args.alarms.empty()) {
    auto text = read_file(args.alarms);
    if (!text) return fail("cannot read " + args.alarms);
    auto a = alarm::parse_alarms_json(*text);
    if (!a.ok()) return fail(args.alarms + ": " + a.error().message, 1);
    for (auto& d : a.value()) config.metric_alarms.push_back(std::move(d));
  }
  if (!args.subscriptions.empty()) {
    auto s = load_subscriptions_file(args.subscriptions);
    if (!s.ok()) return fail(args.subscriptions + ": " + s.error().message, 1);
    for (auto& d : s.value()) config.subscriptions.push_back(std::move(d));
  }
  if (config.metric_filters.empty()) return fail("no metric filters (give --config or --metric-filters)");

  PipelineOptions options;
  options.log_group = args.log_group;
  if (!args.max_lateness.empty()) {
    auto d = parse_duration(args.max_lateness);
    if (!d) return fail("--max-lateness: expected a duration such as 900, 900s, 15m or 1h");
    options.max_lateness_ms = *d;
  } else if (args.follow) {
    options.max_lateness_ms = 0;  // live: evaluate on the wall clock, as CloudWatch does
  }
  for (auto [text, target] : {std::pair{&args.from, &options.from_ms}, std::pair{&args.until, &options.until_ms}}) {
    if (text->empty()) continue;
    auto t = alarm::parse_iso_timestamp(*text);
    if (!t.ok()) return fail(*text + ": " + t.error().message);
    *target = t.value();
  }

  DeliveryOptions delivery;
  delivery.smtp = config.smtp;
  delivery.dead_letter_path = args.dead_letter;
  delivery.retry.max_attempts = args.max_attempts;
  auto dispatcher = Dispatcher::create(config.subscriptions, delivery);
  if (!dispatcher.ok()) return fail(dispatcher.error().message, 1);

  auto pipeline = Pipeline::create(std::move(config), options, [&](const PipelineNotification& n) {
    dispatcher->deliver(n.notification);
  });
  if (!pipeline.ok()) return fail(pipeline.error().message, 1);
  for (const auto& w : pipeline->warnings()) std::cerr << "cwfilter run: warning: " << w << "\n";

  // ---- state ----
  std::map<std::string, std::uint64_t> done;  // source -> records already processed
  if (!args.state.empty() && std::filesystem::exists(args.state)) {
    auto text = read_file(args.state);
    if (!text) return fail("cannot read state file " + args.state);
    rapidjson::Document d;
    d.Parse(text->c_str(), text->size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("pipeline"))
      return fail("state file " + args.state + " is not a cwfilter state file", 1);
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    d["pipeline"].Accept(w);
    auto r = pipeline->restore_state(b.GetString());
    if (!r.ok()) return fail(r.error().message, 1);
    if (d.HasMember("inputs") && d["inputs"].IsObject())
      for (auto it = d["inputs"].MemberBegin(); it != d["inputs"].MemberEnd(); ++it)
        done[it->name.GetString()] = it->value.GetUint64();
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  // ---- input ----
  Progress progress(!args.quiet && ::isatty(STDERR_FILENO));
  std::vector<MalformedRecord> malformed;
  std::map<std::string, std::uint64_t> seen = done;
  std::uint64_t events = 0;
  std::optional<std::int64_t> newest_ts;
  auto on_event = [&](LogEvent&& e) {
    // Records already processed before a restart are skipped. Followed data arrives in chunks
    // numbered from 1 each, so it is not de-duplicated by record number.
    const bool followed = e.source.size() > 7 && e.source.compare(e.source.size() - 7, 7, "+follow") == 0;
    if (!followed) {
      std::uint64_t& last = seen[e.source];
      if (e.record_number <= done[e.source]) return;  // processed before the restart
      last = std::max(last, e.record_number);
    }
    // No time in the record (text lines, a redacted eventTime): in a replay it belongs where it was
    // read, just after the newest event so far; before any event, or when following, it is now.
    if (!e.has_timestamp) e.timestamp_ms = (newest_ts && !args.follow) ? *newest_ts : now_ms();
    newest_ts = std::max(newest_ts.value_or(e.timestamp_ms), e.timestamp_ms);
    pipeline->add(e);
    progress.tick(++events, e.source);
  };
  InputOptions in_opts;
  auto fmt_parsed = parse_input_format(args.input_format);
  if (!fmt_parsed.ok()) return fail("--input-format: " + fmt_parsed.error().message);
  in_opts.format = fmt_parsed.value();
  if (!args.timestamp_field.empty()) in_opts.timestamp_selector = args.timestamp_field;
  auto reader = InputReader::create(in_opts, on_event, [&](const MalformedRecord& m) { malformed.push_back(m); });
  if (!reader.ok()) return fail(reader.error().message);
  if (args.inputs.empty()) args.inputs.push_back("-");

  int status = 0;
  // Following stdin: a thread reads lines as they come; the loop below hands them over every
  // second and evaluates on the wall clock in between.
  std::mutex stdin_mutex;
  std::string stdin_pending;
  std::atomic<bool> stdin_open{false};
  std::thread stdin_thread;
  const bool follow_stdin = args.follow && std::find(args.inputs.begin(), args.inputs.end(), "-") != args.inputs.end();
  if (follow_stdin) {
    stdin_open = true;
    stdin_thread = std::thread([&] {
      std::string line;
      while (!g_stop && std::getline(std::cin, line)) {
        std::lock_guard<std::mutex> lock(stdin_mutex);
        stdin_pending += line;
        stdin_pending += '\n';
      }
      stdin_open = false;
    });
    stdin_thread.detach();  // a blocked read must not keep the process alive at exit
  }
  for (const auto& in : args.inputs) {
    if (g_stop) break;
    if (in == "-" && follow_stdin) continue;
    auto r = in == "-" ? reader->read_stdin() : reader->read_path(in);
    if (!r.ok()) {
      progress.clear();
      std::cerr << "cwfilter run: " << r.error().message << "\n";
      status = 2;
    }
  }
  if (args.follow && !g_stop) {
    // Follow: keep reading what is appended to regular files, evaluating on the wall clock.
    std::map<std::string, std::uintmax_t> offsets;
    for (const auto& in : args.inputs)
      if (in != "-" && std::filesystem::is_regular_file(in)) offsets[in] = std::filesystem::file_size(in);
    std::map<std::string, std::string> partial;
    while (!g_stop) {
      for (auto& [path, off] : offsets) {
        std::error_code ec;
        auto size = std::filesystem::file_size(path, ec);
        if (ec || size <= off) {
          if (!ec && size < off) off = 0;  // truncated / rotated: start over
          continue;
        }
        std::ifstream f(path, std::ios::binary);
        f.seekg(static_cast<std::streamoff>(off));
        std::string chunk(size - off, '\0');
        f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        off = size;
        std::string& buf = partial[path];
        buf += chunk;
        std::size_t cut = buf.rfind('\n');
        if (cut == std::string::npos) continue;
        reader->read_buffer(std::string_view(buf).substr(0, cut + 1), path + "+follow");
        buf.erase(0, cut + 1);
      }
      if (follow_stdin) {
        std::string chunk;
        {
          std::lock_guard<std::mutex> lock(stdin_mutex);
          chunk.swap(stdin_pending);
        }
        if (!chunk.empty()) reader->read_buffer(chunk, "-+follow");
      }
      pipeline->advance_to(now_ms());
      if (!args.state.empty()) write_state(args.state, *pipeline, seen);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  progress.clear();
  // End of input. Without --state the replay is complete: evaluate up to --until (default: the
  // last event plus the longest evaluation range). With --state a later run continues the same
  // stream, so only what the watermark has passed is evaluated, unless --until says where it ends.
  if (!g_stop && !args.follow && (args.state.empty() || !args.until.empty())) pipeline->finish();
  if (!args.state.empty() && !write_state(args.state, *pipeline, seen)) {
    std::cerr << "cwfilter run: cannot write state file " << args.state << "\n";
    status = 2;
  }
  print_summary(args, *pipeline, reader->stats(), malformed, &dispatcher->stats());
  if (dispatcher->stats().failed > 0) status = std::max(status, 1);
  return status;
}

}  // namespace

void register_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run metric filters and alarms over log files and deliver the notifications");
  cmd->add_option("--config", args->config, "JSON with metricFilters, metricAlarms, subscriptions, smtp");
  cmd->add_option("--metric-filters", args->metric_filters, "describe-metric-filters output");
  cmd->add_option("--alarms", args->alarms, "describe-alarms output (or a put-metric-alarm request)");
  cmd->add_option("--subscriptions", args->subscriptions, "list-subscriptions output");
  cmd->add_option("--log-group", args->log_group, "The log group the inputs belong to (default: the only one the filters name)");
  cmd->add_flag("--follow", args->follow, "Keep reading appended lines and evaluate on the wall clock (Ctrl-C ends)");
  cmd->add_option("--state", args->state,
                  "Save metric and alarm state (and input positions) here on exit and on signals; resume from it "
                  "at start. With --state a run ends at the watermark unless --until is given");
  cmd->add_option("--from", args->from, "Skip events before this ISO-8601 time");
  cmd->add_option("--until", args->until, "Skip events from this ISO-8601 time on, and evaluate up to it");
  cmd->add_option("--max-lateness", args->max_lateness,
                  "How far out of order records may arrive (default 15m for files, 0 with --follow)");
  cmd->add_option("--input-format", args->input_format,
                  "auto, cloudtrail, json-lines, text, log-events, subscription, lambda");
  cmd->add_option("--timestamp-field", args->timestamp_field, "JSON lines: selector of the event time, e.g. $.time");
  cmd->add_option("--dead-letter", args->dead_letter, "Where undeliverable notifications are kept")->capture_default_str();
  cmd->add_option("--max-attempts", args->max_attempts, "Delivery attempts per notification and subscription")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No progress line on stderr");
  cmd->add_option("--summary-format", args->summary_format, "Summary on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("inputs", args->inputs, "Files, directories (walked) or - for stdin")->allow_extra_args(true);
  cmd->footer("Exit status: 0 ok, 1 invalid configuration or a notification not delivered, 2 usage or I/O error.");
  cmd->callback([args] { set_exit_code(run(*args)); });
}

}  // namespace cwfilter::cli
