// cwfilter explain: the parsed pattern as a readable tree and, for each message, the outcome and the
// condition(s) that decided it, with a "did you mean" for JSON selectors that find nothing. With
// --streak, one key's story through a streak alarm of a run CONFIG (issue 11).
#include "cli/commands.hpp"
#include "cli/util.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/input.hpp>
#include <cwfilter/lint.hpp>
#include <cwfilter/pipeline.hpp>
#include <cwfilter/streak.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <set>
#include <vector>

namespace cwfilter::cli {

namespace {

struct ExplainArgs {
  std::string pattern;
  bool have_pattern = false;
  std::vector<std::string> message_files;
  std::vector<std::string> messages;  // with --streak: the INPUT paths
  // --streak mode
  std::string config, streak, log_group;
  std::vector<std::string> keys;
};

// ---- explain --streak ------------------------------------------------------------------------
//
// Replays the inputs through one streak alarm, in event-time order (ties: input order), which is
// what `cwfilter run` computes for input within --max-lateness, and prints every event that
// touched the key: failures, successes, and events of that key matching neither pattern (JSON
// GroupBy only), with the count and state after each, and every transition with its reason.

using KeyPairs = std::vector<std::pair<std::string, std::string>>;

std::string key_text(const KeyPairs& key) {
  std::string out;
  for (const auto& [ref, value] : key) out += fmt::format("{}{}={}", out.empty() ? "" : ", ", ref, value);
  return out;
}

// A --key argument: VALUE, or REF=VALUE when REF is one of the item's GroupBy references (IAM user
// names may contain '=', so only a known reference prefix counts as one).
struct KeyWant {
  std::optional<std::string> ref;
  std::string value;
};

bool key_matches(const std::vector<KeyWant>& want, const KeyPairs& key) {
  if (want.size() != key.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (key[i].second != want[i].value || (want[i].ref && *want[i].ref != key[i].first)) return false;
  return true;
}

std::string iso(std::int64_t ms) { return alarm::format_aws_timestamp(ms).substr(0, 23) + "Z"; }

int run_streak(const ExplainArgs& args) {
  auto fail = [](const std::string& m, int code) {
    std::cerr << "cwfilter explain: " << m << "\n";
    return code;
  };
  auto text = read_file(args.config);
  if (!text) return fail("cannot read " + args.config, 2);
  auto config = parse_pipeline_config(*text);
  if (!config.ok()) return fail(args.config + ": " + config.error().message, 1);
  if (config->streak_alarms_json.empty()) return fail(args.config + ": no streakAlarms", 1);
  auto rules = streak::parse_streak_alarms_json(config->streak_alarms_json);
  if (!rules.ok()) return fail(args.config + ": streakAlarms: " + rules.error().message, 1);
  const streak::StreakRule* rule = nullptr;
  std::string names;
  for (const auto& r : rules.value()) {
    if (r.alarm().alarm_name == args.streak) rule = &r;
    names += (names.empty() ? "" : ", ") + r.alarm().alarm_name;
  }
  if (!rule) return fail(fmt::format("no streak alarm named \"{}\" in {} (it has: {})", args.streak, args.config, names), 1);
  const streak::StreakAlarm& a = rule->alarm();
  if (!args.log_group.empty() && args.log_group != a.log_group_name)
    return fail(fmt::format("streak alarm \"{}\" belongs to log group \"{}\", not \"{}\"", a.alarm_name,
                            a.log_group_name, args.log_group), 1);
  const auto group_by = a.group_by_or_default();
  if (args.keys.size() != group_by.size())
    return fail(fmt::format("--key: the alarm groups by {} item{}: give --key once for each, in GroupBy order",
                            group_by.size(), group_by.size() == 1 ? "" : "s"), 2);
  std::vector<KeyWant> want;
  for (std::size_t i = 0; i < args.keys.size(); ++i) {
    KeyWant w{std::nullopt, args.keys[i]};
    for (const auto& ref : group_by[i])
      if (args.keys[i].rfind(ref + "=", 0) == 0) w = KeyWant{ref, args.keys[i].substr(ref.size() + 1)};
    want.push_back(std::move(w));
  }

  // Inputs, in event-time order.
  std::vector<LogEvent> events;
  std::uint64_t other_group = 0;
  std::optional<std::int64_t> newest;
  auto reader = InputReader::create({}, [&](LogEvent&& e) {
    if (!e.log_group.empty() && e.log_group != a.log_group_name) {
      ++other_group;
      return;
    }
    if (!e.has_timestamp) e.timestamp_ms = newest.value_or(0);  // as `run`: where it was read
    newest = std::max(newest.value_or(e.timestamp_ms), e.timestamp_ms);
    e.has_timestamp = true;
    events.push_back(std::move(e));
  }, [](const MalformedRecord&) {});
  if (!reader.ok()) return fail(reader.error().message, 2);
  std::vector<std::string> inputs = args.messages;
  if (inputs.empty()) inputs.push_back("-");
  for (const auto& in : inputs) {
    auto r = in == "-" ? reader->read_stdin() : reader->read_path(in);
    if (!r.ok()) return fail(r.error().message, 2);
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const LogEvent& x, const LogEvent& y) { return x.timestamp_ms < y.timestamp_ms; });

  std::string group_text;
  for (const auto& item : group_by) {
    std::string alts;
    for (const auto& ref : item) alts += (alts.empty() ? "" : " else ") + ref;
    group_text += (group_text.empty() ? "" : ", ") + alts;
  }
  std::cout << fmt::format("streak alarm: {} (log group {})\n", a.alarm_name, a.log_group_name);
  std::cout << fmt::format("  FailurePattern: {}\n", a.failure_pattern);
  std::cout << fmt::format("  SuccessPattern: {}\n", a.success_pattern.value_or("(none: only Window and ResetAfter end a streak)"));
  std::cout << fmt::format("  GroupBy: {}\n", group_text);
  std::cout << fmt::format("  Threshold: {}, Window: {}, ResetAfter: {}\n", a.threshold,
                           a.window_seconds ? fmt::format("{} s", *a.window_seconds) : "none",
                           a.reset_after_seconds ? fmt::format("{} s", *a.reset_after_seconds) : "none");
  std::string want_text;
  for (const auto& w : want) want_text += (want_text.empty() ? "" : ", ") + (w.ref ? *w.ref + "=" : "") + w.value;
  std::cout << "key: " << want_text << "\n";

  // The inputs are sorted, so no lateness is needed: each event is processed as it is observed.
  streak::DetectorOptions dopts;
  dopts.max_lateness_ms = 0;
  auto det = streak::StreakDetector::create(*rule, dopts);
  if (!det.ok()) return fail(det.error().message, 1);
  std::size_t touched = 0;
  std::optional<KeyPairs> seen_key;
  std::set<std::string> other_keys;
  auto print_transition = [&](const streak::Transition& t) {
    std::cout << fmt::format("{}  {} -> {} ({}): {}\n", iso(t.time_ms), alarm::to_string(t.old_state),
                             alarm::to_string(t.new_state), streak::to_string(t.cause), t.reason);
  };
  std::cout << "replaying " << events.size() << " event" << (events.size() == 1 ? "" : "s")
            << " in event-time order (ties: input order)\n";
  auto state_after = [&](const KeyPairs& key) {
    auto snap = det->find_key(key);
    if (!snap) return std::string("count 0, OK");
    return fmt::format("count {}, {}", snap->count, alarm::to_string(snap->state));
  };
  for (const auto& e : events) {
    auto c = rule->classify(e.message, dopts.max_key_bytes);
    std::optional<KeyPairs> key;
    if (c.kind != streak::EventClass::Kind::kIgnored && c.key_resolved && !c.key_too_long) key = c.key;
    else if (c.kind == streak::EventClass::Kind::kIgnored) key = rule->resolve_key(e.message);
    const bool mine = key && key_matches(want, *key);
    if (!mine && key && c.kind == streak::EventClass::Kind::kFailure && other_keys.size() < 1000)
      other_keys.insert(key_text(*key));
    std::optional<streak::KeySnapshot> before;
    if (mine) before = det->find_key(*key);
    det->observe(e);
    auto transitions = det->take_transitions();
    // Deadlines that passed before this event fired first.
    for (const auto& t : transitions)
      if (t.cause == streak::Transition::Cause::kResetAfter && key_matches(want, t.key)) print_transition(t);
    if (mine) {
      ++touched;
      seen_key = key;
      if (touched == 1) std::cout << fmt::format("\nevents of {} (count and state after each):\n", key_text(*key));
      std::string note;
      if (c.kind == streak::EventClass::Kind::kIgnored) {
        note = "matches neither pattern";
      } else if (c.kind == streak::EventClass::Kind::kFailure && before && before->state == alarm::StateValue::kOk) {
        // Failures that left the Window since the key's previous failure.
        auto after = det->find_key(*key);
        const int dropped = before->count + 1 - (after ? after->count : 0);
        if (after && after->state == alarm::StateValue::kOk && dropped > 0)
          note = fmt::format("{} earlier failure{} left the {} s window", dropped, dropped == 1 ? "" : "s",
                             a.window_seconds.value_or(0));
      }
      std::cout << fmt::format("{}  {:<8} {:<20} {}{}\n", iso(e.timestamp_ms), streak::to_string(c.kind),
                               state_after(*key),
                               e.event_id.empty() ? fmt::format("{}#{}", e.source, e.record_number) : e.event_id,
                               note.empty() ? "" : "  (" + note + ")");
    }
    for (const auto& t : transitions)
      if (t.cause != streak::Transition::Cause::kResetAfter && key_matches(want, t.key)) print_transition(t);
  }
  det->flush();
  for (const auto& t : det->take_transitions())
    if (key_matches(want, t.key)) print_transition(t);

  std::cout << fmt::format("\n{} event{} replayed, {} of other log groups skipped; {} touched this key\n",
                           events.size(), events.size() == 1 ? "" : "s", other_group, touched);
  if (!seen_key) {
    std::cout << "no event has this key";
    if (!other_keys.empty()) {
      std::cout << "; keys with failures:";
      std::size_t n = 0;
      for (const auto& k : other_keys) {
        if (n++ == 5) break;
        std::cout << " " << k << ";";
      }
    }
    std::cout << "\n";
    return 0;
  }
  auto snap = det->find_key(*seen_key);
  if (!snap) {
    std::cout << "final state: OK, count 0\n";
  } else {
    std::cout << fmt::format("final state: {}, count {}, failures from {} to {}\n", alarm::to_string(snap->state),
                             snap->count, iso(snap->first_failure_ms), iso(snap->last_failure_ms));
    if (snap->state == alarm::StateValue::kAlarm && a.reset_after_seconds)
      std::cout << fmt::format("  without another failure, ResetAfter returns it to OK at {}\n",
                               iso(snap->last_failure_ms + *a.reset_after_seconds * 1000));
    else if (snap->state == alarm::StateValue::kOk && a.window_seconds)
      std::cout << fmt::format("  these failures stop counting after {}\n",
                               iso(snap->first_failure_ms + *a.window_seconds * 1000));
  }
  return 0;
}

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
  cmd->add_option("--filter-pattern,-p", args->pattern, "The filter pattern (use --filter-pattern=-ERROR for a leading '-')");
  cmd->add_option("--messages-file", args->message_files, "A file with one log message per line ('-' = stdin)")
      ->allow_extra_args(false);
  cmd->add_option("--config", args->config, "With --streak: the `cwfilter run` CONFIG holding the streak alarm")
      ->allow_extra_args(false);
  cmd->add_option("--streak", args->streak,
                  "Show one key's streak: replay the INPUT files through this streak alarm of --config")
      ->allow_extra_args(false);
  cmd->add_option("--key", args->keys, "With --streak: the key's value (VALUE or REF=VALUE), once per GroupBy item")
      ->allow_extra_args(false);
  cmd->add_option("--log-group", args->log_group, "With --streak: the log group the inputs belong to")
      ->allow_extra_args(false);
  cmd->footer(
      "Exit status: 0 pattern valid, 1 pattern invalid (or streak alarm not found/invalid), 2 usage or I/O error.\n"
      "Examples:\n"
      "  cwfilter explain -p '{ $.eventName = ConsoleLogin }' '{\"eventName\":\"ConsoleLogin\"}'\n"
      "  cwfilter explain --config config.json --streak three-failed-sign-ins --key alice cloudtrail/");
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
    const bool streak_mode = !args->streak.empty();
    if (!streak_mode && (!args->config.empty() || !args->keys.empty() || !args->log_group.empty())) {
      std::cerr << "cwfilter explain: --config, --key and --log-group go with --streak\n";
      set_exit_code(2);
      return;
    }
    if (streak_mode && (args->config.empty() || args->keys.empty() || !args->pattern.empty() ||
                        !args->message_files.empty())) {
      std::cerr << "cwfilter explain: --streak needs --config and --key (and no --filter-pattern)\n";
      set_exit_code(2);
      return;
    }
    if (!streak_mode && cmd->count("--filter-pattern") == 0) {
      std::cerr << "cwfilter explain: --filter-pattern is required (or --streak)\n";
      set_exit_code(2);
      return;
    }
    set_exit_code(streak_mode ? run_streak(*args) : run(*args));
  });
}

}  // namespace cwfilter::cli
