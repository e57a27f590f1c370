// cwfilter run: CloudTrail / log files -> metric filters -> alarms -> notifications, locally.
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/options.hpp>
#include <cwfilter/pipeline.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <fcntl.h>
#include <sys/ioctl.h>
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
  bool no_progress = false;
  std::string summary_format = "text";
  int max_attempts = 4;
  std::uint64_t checkpoint_records = 10000;
  std::string history;
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

// One DescribeAlarmHistory item as a JSON line (AlarmHistoryItems[] shape; Timestamp ISO-8601).
std::string history_line(const alarm::HistoryItem& h) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  auto text = [&](const std::string& v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
  w.StartObject();
  w.Key("AlarmName"); text(h.alarm_name);
  w.Key("AlarmType"); text(h.alarm_type);
  w.Key("Timestamp"); text(alarm::format_iso_timestamp(h.timestamp_ms));
  w.Key("HistoryItemType"); text(h.history_item_type);
  w.Key("HistorySummary"); text(h.history_summary);
  w.Key("HistoryData"); text(h.history_data);
  w.EndObject();
  return b.GetString();
}

int fail(const std::string& m, int code = 2) {
  std::cerr << "cwfilter run: " << m << "\n";
  return code;
}

// State file (--state): the pipeline's state, per input source the records already processed,
// the newest event time (untimed records are placed there) and an outbox of notifications not
// yet known to be delivered, all written together and atomically (temp file, fsync, rename, fsync
// of the directory), so that a SIGKILL at any point leaves either the previous or the next state.
//
// Guarantee: input is at-least-once (records after the last commit are read again on restart and
// replayed into the restored pipeline, which reproduces exactly what was lost) and notifications
// are delivered after the commit that produced them. A notification in the outbox of a restored
// state may or may not have been delivered before the crash: it is delivered again with
// Dispatcher::deliver_again, which skips `file` subscriptions whose file already holds it, so a
// notification file ends up as one uninterrupted run writes it; other protocols may see it twice,
// with the same MessageId (SNS's own at-least-once contract).
struct RunState {
  std::map<std::string, std::uint64_t> records_done;  // source -> records processed
  // --follow: followed file -> bytes processed (complete lines, whether read at start or followed
  // since). A restarted follower continues each file from there instead of reading it again.
  std::map<std::string, std::uint64_t> follow_offsets;
  std::optional<std::int64_t> newest_event_ms;
  std::vector<Notification> outbox;
};

void write_notification(JsonWriter& w, const Notification& n) {
  w.StartObject();
  w.Key("TopicArn"); write_string(w, n.topic_arn);
  w.Key("Subject"); write_string(w, n.subject);
  w.Key("Message"); write_string(w, n.message);
  w.Key("Envelope"); write_string(w, n.envelope_json);
  w.Key("MessageId"); write_string(w, n.message_id);
  w.Key("EmailText"); write_string(w, n.email_text);
  w.EndObject();
}

std::optional<Notification> read_notification(const rapidjson::Value& v) {
  if (!v.IsObject()) return std::nullopt;
  auto text = [&](const char* key, std::string& out) {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString()) return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  Notification n;
  if (!text("TopicArn", n.topic_arn) || !text("Subject", n.subject) || !text("Message", n.message) ||
      !text("Envelope", n.envelope_json) || !text("MessageId", n.message_id) || !text("EmailText", n.email_text))
    return std::nullopt;
  return n;
}

bool write_state(const std::string& path, const Pipeline& pipeline, const RunState& state) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  w.Key("pipeline");
  std::string ps = pipeline.save_state();
  w.RawValue(ps.c_str(), ps.size(), rapidjson::kObjectType);
  w.Key("inputs");
  w.StartObject();
  for (const auto& [src, n] : state.records_done) {
    write_string(w, src);
    w.Uint64(n);
  }
  w.EndObject();
  if (!state.follow_offsets.empty()) {
    w.Key("followOffsets");
    w.StartObject();
    for (const auto& [file, offset] : state.follow_offsets) {
      write_string(w, file);
      w.Uint64(offset);
    }
    w.EndObject();
  }
  if (state.newest_event_ms) {
    w.Key("newestEventMs");
    w.Int64(*state.newest_event_ms);
  }
  w.Key("outbox");
  w.StartArray();
  for (const auto& n : state.outbox) write_notification(w, n);
  w.EndArray();
  w.EndObject();
  if (b.GetSize() > limits::kMaxStateFileBytes) return false;  // would not be read back
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(b.GetString(), 1, b.GetSize(), f) == b.GetSize();
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return false;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return false;
  // The rename itself is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

// Progress on stderr while it is a terminal (issue 6). A replay of files and directories, whose
// size is known up front, shows a bar of the raw bytes read (compressed bytes for .gz) out of the
// inputs' total size, the percentage, the events read and their rate, and the time left; stdin and
// --follow, whose size is unknown, show the event count and rate. Redrawn in place (\r) at most
// 10 times a second; finish() draws the final state and clears the line, as clear() does before
// anything else is printed.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  void set_total(std::optional<std::uint64_t> total_bytes) {
    total_ = total_bytes;
    start_ = std::chrono::steady_clock::now();  // rates and time left count from the first read
  }
  void event(const std::string& source) {
    ++events_;
    if (!enabled_ || !due()) return;
    if (!total_) source_ = source;
    draw(false);
  }
  void bytes(std::uint64_t bytes_read) {
    bytes_ = bytes_read;
    draw(false);
  }
  void finish() {
    if (enabled_ && total_) draw(true);
    clear();
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  static std::string rate_text(double per_second) {
    if (per_second >= 1e6) return fmt::format("{:.1f}M", per_second / 1e6);
    if (per_second >= 1e4) return fmt::format("{:.0f}k", per_second / 1e3);
    if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
    return fmt::format("{:.0f}", per_second);
  }
  static std::string size_text(std::uint64_t n) {
    if (n >= (std::uint64_t{1} << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
    if (n >= (std::uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
    if (n >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
    return fmt::format("{} B", n);
  }
  static std::string duration_text(double seconds) {
    auto s = static_cast<std::uint64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02d}", s / 60, s % 60);
  }
  static std::size_t columns() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
  }

  // At most 10 frames a second, a redraw after clear() included.
  bool due() const { return std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(100); }

  void draw(bool final_frame) {
    if (!enabled_ || (!final_frame && !due())) return;
    const auto t = std::chrono::steady_clock::now();
    last_ = t;
    const double elapsed = std::chrono::duration<double>(t - start_).count();
    const std::string rate = elapsed > 0 ? rate_text(static_cast<double>(events_) / elapsed) : "-";
    const std::size_t width = columns() - 1;  // the last column would wrap on some terminals
    std::string line;
    if (total_) {
      const std::uint64_t total = std::max(*total_, bytes_);  // a file grown since it was measured
      const double fraction = total ? static_cast<double>(bytes_) / static_cast<double>(total) : 1.0;
      // Only a complete read shows 100%.
      const unsigned percent = bytes_ >= total ? 100u : std::min(99u, static_cast<unsigned>(fraction * 100));
      std::string eta = "--:--";
      if (bytes_ >= total) eta = duration_text(0);
      else if (bytes_ > 0 && elapsed >= 0.5) eta = duration_text(elapsed * (1 - fraction) / fraction);
      const std::string text = fmt::format(" {:3d}% {}/{}  {} events  {}/s  ETA {}", percent, size_text(bytes_),
                                           size_text(total), events_, rate, eta);
      if (width >= text.size() + 12) {
        const std::size_t bar = std::min<std::size_t>(40, width - text.size() - 2);
        const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar));
        line = "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + text;
      } else {
        line = text;
      }
    } else {
      line = fmt::format("cwfilter run: {} events  {}/s", events_, rate);
      if (!source_.empty())
        line += "  " + (source_.size() > 50 ? "..." + source_.substr(source_.size() - 47) : source_);
    }
    if (line.size() > width) line.resize(width);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    shown_ = true;
  }

  bool enabled_;
  bool shown_ = false;
  std::optional<std::uint64_t> total_;
  std::uint64_t bytes_ = 0;
  std::uint64_t events_ = 0;
  std::string source_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_ = start_ - std::chrono::seconds(1);  // the first frame is due
};

// Dimension cardinality (MetricStoreOptions::dimension_sets_per_hour_limit): CloudWatch Logs may
// disable such a filter; cwfilter keeps publishing and says so on stderr and in the summary.
struct CardinalityReport {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> filters;  // metric -> filter names
  std::uint64_t warned = 0;

  std::string filter_names(const DimensionCardinalityExcess& x) const {
    auto it = filters.find({x.metric_namespace, x.metric_name});
    if (it == filters.end()) return "(no filter)";
    std::string names;
    for (const auto& n : it->second) names += (names.empty() ? "" : ", ") + n;
    return names;
  }
  std::string describe(const DimensionCardinalityExcess& x, std::size_t limit) const {
    return fmt::format("metric filter {} ({}/{}) published {} distinct dimension value combinations in the hour from "
                       "{}; CloudWatch Logs may disable the filter at this point (cwfilter keeps publishing)",
                       filter_names(x), x.metric_namespace, x.metric_name, limit, iso_hour(x.hour_start_ms));
  }
  static std::string iso_hour(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:00:00Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
  }
  // Prints the excesses not yet reported.
  void warn_new(const MetricStore& store) {
    const auto& list = store.dimension_cardinality_excesses();
    const std::uint64_t count = store.dimension_cardinality_excess_count();
    for (std::uint64_t i = warned; i < count && i < list.size(); ++i)
      std::cerr << "cwfilter run: warning: " << describe(list[i], store.options().dimension_sets_per_hour_limit) << "\n";
    if (count > list.size() && warned < count && count - 1 == list.size())
      std::cerr << "cwfilter run: warning: further dimension cardinality excesses are counted, not listed\n";
    warned = count;
  }
};

// One summary entry per source: --follow reads each file and stdin in many chunks.
std::vector<SourceStats> merged_sources(const InputStats& in) {
  std::vector<SourceStats> out;
  std::map<std::string, std::size_t> index;
  for (const auto& src : in.sources) {
    auto [it, fresh] = index.emplace(src.source, out.size());
    if (fresh) {
      out.push_back(src);
      continue;
    }
    SourceStats& m = out[it->second];
    m.events += src.events;
    m.malformed += src.malformed;
    m.events_without_timestamp += src.events_without_timestamp;
    m.empty_lines += src.empty_lines;
    m.control_messages += src.control_messages;
    m.bytes_read += src.bytes_read;
    m.bytes_decoded += src.bytes_decoded;
  }
  return out;
}

void print_summary(const RunArgs& args, const Pipeline& p, const InputStats& in, const std::vector<MalformedRecord>& bad,
                   const DeliveryStats* delivery, const CardinalityReport& cardinality) {
  const MetricStore& store = p.store();
  const std::size_t dimension_limit = store.options().dimension_sets_per_hour_limit;
  const PipelineSummary& s = p.summary();
  if (args.summary_format == "json") {
    rapidjson::StringBuffer b;
    JsonWriter w(b);
    w.StartObject();
    w.Key("logGroup"); write_string(w, p.log_group());
    w.Key("inputs");
    w.StartArray();
    for (const auto& src : merged_sources(in)) {
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
    w.Key("dimensionCardinalityExcesses"); w.Uint64(store.dimension_cardinality_excess_count());
    w.Key("dimensionCardinality");
    w.StartArray();
    for (const auto& x : store.dimension_cardinality_excesses()) {
      w.StartObject();
      w.Key("filterNames"); write_string(w, cardinality.filter_names(x));
      w.Key("metricNamespace"); write_string(w, x.metric_namespace);
      w.Key("metricName"); write_string(w, x.metric_name);
      w.Key("hour"); write_string(w, CardinalityReport::iso_hour(x.hour_start_ms));
      w.Key("distinctDimensionSets"); w.Uint64(dimension_limit);
      w.EndObject();
    }
    w.EndArray();
    w.Key("warnings");
    w.StartArray();
    for (const auto& wn : p.warnings()) write_string(w, wn);
    for (const auto& x : store.dimension_cardinality_excesses()) write_string(w, cardinality.describe(x, dimension_limit));
    w.EndArray();
    w.EndObject();
    std::cerr << b.GetString() << "\n";
    return;
  }
  std::cerr << "cwfilter run: summary (log group " << p.log_group() << ")\n";
  for (const auto& src : merged_sources(in))
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
  if (store.dimension_cardinality_excess_count())
    std::cerr << fmt::format("  dimension cardinality: {} metric-hours reached {} distinct dimension value combinations "
                             "(CloudWatch Logs may disable such filters)\n",
                             store.dimension_cardinality_excess_count(), dimension_limit);
  for (const auto& x : store.dimension_cardinality_excesses()) std::cerr << "    " << cardinality.describe(x, dimension_limit) << "\n";
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
  if (config.metric_filters.empty() && config.streak_alarms_json.empty())
    return fail("no metric filters or streak alarms (give --config or --metric-filters)");

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

  // With --state, notifications wait in the outbox until the state that produced them is
  // committed (see RunState); without it they are delivered at once.
  RunState state;
  const bool stateful = !args.state.empty();
  Progress progress(!args.no_progress && ::isatty(STDERR_FILENO));
  const std::vector<MetricFilterDefinition> pipeline_filters = config.metric_filters;
  // Each delivery's outcome becomes the alarm's Action history item (alarms.md §10). Outbox
  // entries carry the alarm and instant of their transition alongside (streak notifications and
  // an outbox restored after a crash have none: no history item).
  struct ActionOrigin {
    std::string alarm_name;
    std::int64_t at_ms = 0;
  };
  std::vector<std::optional<ActionOrigin>> outbox_origins;
  Pipeline* running = nullptr;
  auto record = [&](const std::optional<ActionOrigin>& origin, const Notification& n, const DeliveryReport& report) {
    if (origin && running) running->record_action(origin->alarm_name, n.topic_arn, origin->at_ms, action_outcome(report));
  };
  auto pipeline = Pipeline::create(std::move(config), options, [&](const PipelineNotification& n) {
    std::optional<ActionOrigin> origin;
    if (!n.streak) origin = ActionOrigin{n.alarm_name, n.at_ms};
    if (stateful) {
      state.outbox.push_back(n.notification);
      outbox_origins.push_back(std::move(origin));
    } else {
      progress.clear();  // a stdout subscription may write to the same terminal
      record(origin, n.notification, dispatcher->deliver(n.notification));
    }
  });
  if (!pipeline.ok()) return fail(pipeline.error().message, 1);
  running = &pipeline.value();
  for (const auto& w : pipeline->warnings()) std::cerr << "cwfilter run: warning: " << w << "\n";

  // Dimension cardinality: which filters publish each dimensioned metric (for the report).
  CardinalityReport cardinality;
  for (const auto& f : pipeline_filters)
    for (const auto& t : f.metric_transformations)
      if (!t.dimensions.empty()) cardinality.filters[{t.metric_namespace, t.metric_name}].push_back(f.filter_name);

  // ---- state ----
  std::map<std::string, std::uint64_t> done;  // source -> records already processed
  std::vector<Notification> restored_outbox;
  std::map<std::string, std::uint64_t> restored_follow_offsets;
  if (stateful && std::filesystem::exists(args.state)) {
    std::error_code size_error;
    auto size = std::filesystem::file_size(args.state, size_error);
    if (!size_error && size > limits::kMaxStateFileBytes)
      return fail(fmt::format("state file {} is larger than {} bytes (limits::kMaxStateFileBytes)", args.state,
                              limits::kMaxStateFileBytes), 1);
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
        if (it->value.IsUint64()) done[it->name.GetString()] = it->value.GetUint64();
    if (d.HasMember("followOffsets") && d["followOffsets"].IsObject())
      for (const auto& m : d["followOffsets"].GetObject())
        if (m.value.IsUint64()) restored_follow_offsets[m.name.GetString()] = m.value.GetUint64();
    if (d.HasMember("newestEventMs") && d["newestEventMs"].IsInt64()) state.newest_event_ms = d["newestEventMs"].GetInt64();
    if (d.HasMember("outbox") && d["outbox"].IsArray())
      for (const auto& item : d["outbox"].GetArray()) {
        auto n = read_notification(item);
        if (!n) return fail("state file " + args.state + ": malformed outbox notification", 1);
        restored_outbox.push_back(std::move(*n));
      }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  // ---- input ----
  std::vector<MalformedRecord> malformed;
  state.records_done = done;
  std::map<std::string, std::uint64_t>& seen = state.records_done;
  std::optional<std::int64_t>& newest_ts = state.newest_event_ms;
  bool state_write_failed = false;
  // Commit: the state with the outbox, then deliver the outbox, then the state without it (so a
  // crash between delivery and the second write redelivers, never loses).
  std::uint64_t records_since_commit = 0;
  auto last_commit = std::chrono::steady_clock::now();
  auto commit = [&] {
    records_since_commit = 0;
    last_commit = std::chrono::steady_clock::now();
    if (!write_state(args.state, *pipeline, state)) state_write_failed = true;
    if (state.outbox.empty()) return;
    std::vector<Notification> sending;
    sending.swap(state.outbox);
    std::vector<std::optional<ActionOrigin>> origins;
    origins.swap(outbox_origins);
    origins.resize(sending.size());
    progress.clear();  // a stdout subscription may write to the same terminal
    for (std::size_t i = 0; i < sending.size(); ++i) record(origins[i], sending[i], dispatcher->deliver(sending[i]));
    if (!write_state(args.state, *pipeline, state)) state_write_failed = true;
  };
  if (!restored_outbox.empty()) {
    // Notifications committed before a crash, perhaps delivered already (see RunState).
    for (const auto& n : restored_outbox) dispatcher->deliver_again(n);
    if (!write_state(args.state, *pipeline, state)) state_write_failed = true;
  }
  auto on_event = [&](LogEvent&& e) {
    const bool followed = e.source.size() > 7 && e.source.compare(e.source.size() - 7, 7, "+follow") == 0;
    // After SIGINT/SIGTERM nothing more of a replay is processed: the rest is read again on
    // restart. A followed chunk is processed whole: the follow offset committed is its end.
    if (g_stop && !followed) return;
    // Records already processed before a restart are skipped. Followed data arrives in chunks
    // numbered from 1 each: it is not de-duplicated by record number but by the follow offsets.
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
    progress.event(e.source);
    if (pipeline->store().dimension_cardinality_excess_count() != cardinality.warned) {
      progress.clear();
      cardinality.warn_new(pipeline->store());
    }
    // Periodic commits during a replay bound the work a SIGKILL loses; a notification commits at
    // once so that it is not held back.
    if (stateful && (!state.outbox.empty() || ++records_since_commit >= args.checkpoint_records ||
                     std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)))
      commit();
  };
  InputOptions in_opts;
  auto fmt_parsed = parse_input_format(args.input_format);
  if (!fmt_parsed.ok()) return fail("--input-format: " + fmt_parsed.error().message);
  in_opts.format = fmt_parsed.value();
  if (!args.timestamp_field.empty()) in_opts.timestamp_selector = args.timestamp_field;
  auto reader = InputReader::create(in_opts, on_event, [&](const MalformedRecord& m) { malformed.push_back(m); });
  if (!reader.ok()) return fail(reader.error().message);
  if (args.inputs.empty()) args.inputs.push_back("-");
  // The bar needs the total size: known for a replay of files and directories, not for stdin or
  // --follow (a counter then).
  if (!args.follow && std::find(args.inputs.begin(), args.inputs.end(), "-") == args.inputs.end()) {
    std::optional<std::uint64_t> total = 0;
    for (const auto& in : args.inputs) {
      auto size = reader->input_size(in);
      if (!size) {  // not a regular file (a FIFO): size unknown
        total.reset();
        break;
      }
      *total += size.value();
    }
    progress.set_total(total);
  }
  reader->set_progress_callback([&](std::uint64_t bytes) { progress.bytes(bytes); });

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
  // --follow: regular files are followed from the bytes processed (see RunState::follow_offsets).
  std::map<std::string, std::uint64_t> follow_offsets;
  state.follow_offsets = restored_follow_offsets;  // kept for the files not followed this time
  for (const auto& in : args.inputs) {
    if (g_stop) break;
    if (in == "-" && follow_stdin) continue;
    const bool follow_file = args.follow && in != "-" && std::filesystem::is_regular_file(in);
    if (auto saved = restored_follow_offsets.find(in); follow_file && saved != restored_follow_offsets.end()) {
      // A restarted follower: what the previous one processed is in the restored state.
      follow_offsets[in] = saved->second;
      continue;
    }
    const std::size_t sources_before = reader->stats().sources.size();
    auto r = in == "-" ? reader->read_stdin() : reader->read_path(in);
    if (!r.ok()) {
      progress.clear();
      std::cerr << "cwfilter run: " << r.error().message << "\n";
      status = 2;
    } else if (follow_file) {
      // Followed from where the reader stopped: what was appended since is not skipped.
      const auto& sources = reader->stats().sources;
      follow_offsets[in] = sources.size() > sources_before ? sources.back().bytes_read : 0;
    }
  }
  if (args.follow && !g_stop) {
    // Follow: keep reading the complete lines appended to regular files (at most kFollowChunk per
    // file and round), evaluating on the wall clock.
    constexpr std::uint64_t kFollowChunk = std::uint64_t{8} << 20;
    for (const auto& [path, offset] : follow_offsets) state.follow_offsets[path] = offset;
    while (!g_stop) {
      bool behind = false;
      for (auto& [path, off] : follow_offsets) {
        std::error_code ec;
        const std::uint64_t size = std::filesystem::file_size(path, ec);
        if (ec) continue;
        if (size < off) state.follow_offsets[path] = off = 0;  // truncated / rotated: start over
        if (size == off) continue;
        std::ifstream f(path, std::ios::binary);
        f.seekg(static_cast<std::streamoff>(off));
        std::string chunk(std::min(size - off, kFollowChunk), '\0');
        f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        chunk.resize(static_cast<std::size_t>(f.gcount()));
        std::size_t cut = chunk.rfind('\n');
        if (cut == std::string::npos) {
          // An incomplete last line waits for its end; a line longer than kFollowChunk (beyond
          // max_event_bytes anyway) is handed over as it is, to be reported as malformed.
          if (chunk.size() < kFollowChunk) continue;
          cut = chunk.size() - 1;
        }
        reader->read_buffer(std::string_view(chunk).substr(0, cut + 1), path + "+follow");
        off += cut + 1;
        state.follow_offsets[path] = off;
        behind = behind || chunk.size() == kFollowChunk;
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
      if (stateful) commit();
      // About a second between rounds, ended early by a signal.
      for (int i = 0; i < 10 && !behind && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  progress.finish();
  // End of input. Without --state the replay is complete: evaluate up to --until (default: the
  // last event plus the longest evaluation range). With --state a later run continues the same
  // stream, so only what the watermark has passed is evaluated, unless --until says where it ends.
  if (!g_stop && !args.follow && (args.state.empty() || !args.until.empty())) pipeline->finish();
  if (stateful) commit();
  if (state_write_failed) {
    std::cerr << "cwfilter run: cannot write state file " << args.state << "\n";
    status = 2;
  }
  if (!args.history.empty()) {
    std::ofstream out(args.history, std::ios::binary | std::ios::trunc);
    for (const auto& h : pipeline->alarm_history()) out << history_line(h) << "\n";
    out.flush();
    if (!out) {
      std::cerr << "cwfilter run: cannot write history file " << args.history << "\n";
      status = 2;
    }
  }
  cardinality.warn_new(pipeline->store());
  print_summary(args, *pipeline, reader->stats(), malformed, &dispatcher->stats(), cardinality);
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
                  "Commit metric and alarm state, input positions and undelivered notifications here atomically "
                  "(every --checkpoint-records records, every second, before each notification and at exit); "
                  "resume from it at start. With --state a run ends at the watermark unless --until is given");
  cmd->add_option("--checkpoint-records", args->checkpoint_records,
                  "With --state: commit at least every this many records")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
      ->capture_default_str();
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
  cmd->add_flag("--no-progress,--quiet", args->no_progress,
                "No progress on stderr. Without it, when stderr is a terminal, a replay of files and directories "
                "shows a progress bar (bytes read of the inputs' total size, compressed bytes for .gz, events/s, "
                "time left) and stdin or --follow an event counter, redrawn in place and cleared at the end");
  cmd->add_option("--history", args->history,
                  "Write the metric alarms' history here at the end, one DescribeAlarmHistory item per line "
                  "(ConfigurationUpdate, StateUpdate, and Action items with each delivery's outcome)");
  cmd->add_option("--summary-format", args->summary_format, "Summary on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("inputs", args->inputs, "Files, directories (walked) or - for stdin")->allow_extra_args(true);
  cmd->footer("Exit status: 0 ok, 1 invalid configuration or a notification not delivered, 2 usage or I/O error.\n\n" +
              limits_text());
  cmd->callback([args] { set_exit_code(run(*args)); });
}

void register_limits(CLI::App& app) {
  auto* cmd = app.add_subcommand("limits", "List every resource limit, its default and what happens at it");
  cmd->callback([] { std::cout << limits_text(); });
}

}  // namespace cwfilter::cli
