// The whole pipeline (`cwfilter run`): events -> metric filters -> store -> alarms -> notifications.
#include "common.hpp"

#include <cwfilter/pipeline.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <memory>

namespace cwfilter::py {

namespace {

nb::dict notification_dict(const PipelineNotification& n) {
  nb::dict d;
  d["alarm_name"] = n.alarm_name;
  d["new_state"] = std::string(alarm::to_string(n.new_state));
  d["at"] = n.at_ms;
  d["topic_arn"] = n.notification.topic_arn;
  d["subject"] = n.notification.subject;
  d["message"] = n.notification.message;
  d["envelope"] = n.notification.envelope_json;
  d["message_id"] = n.notification.message_id;
  d["kind"] = n.streak ? "streak" : "metric_alarm";
  if (n.streak) {
    // The Message's "Streak" object as data (times in epoch ms, like "at").
    const streak::Transition& t = *n.streak;
    nb::dict s, key;
    for (const auto& [ref, value] : t.key) key[nb::str(ref.c_str(), ref.size())] = value;
    s["key"] = key;
    s["count"] = t.count;
    s["first_failure"] = t.first_failure_ms;
    s["last_failure"] = t.last_failure_ms;
    s["event_ids"] = t.event_ids;
    s["cause"] = std::string(streak::to_string(t.cause));
    s["success_event_id"] = t.success_event_id.empty() ? nb::none() : nb::cast(t.success_event_id);
    s["reason"] = t.reason;
    d["streak"] = s;
  }
  return d;
}

// The C++ pipeline calls its handler synchronously inside add/advance_to/finish, which run with
// the GIL held. Notifications are queued there and handed to Python after the C++ call returns,
// so that a Python exception never unwinds through the pipeline's own frames.
struct PyPipeline {
  std::unique_ptr<Pipeline> pipeline;
  std::shared_ptr<std::vector<PipelineNotification>> queue = std::make_shared<std::vector<PipelineNotification>>();
  nb::object callback;

  // Delivers the queued notifications: to the callback, or returned as a list when there is none.
  nb::list drain() {
    std::vector<PipelineNotification> pending;
    pending.swap(*queue);
    nb::list out;
    for (const auto& n : pending) {
      nb::dict d = notification_dict(n);
      if (callback.is_valid() && !callback.is_none()) callback(d);
      else out.append(d);
    }
    return out;
  }
};

LogEvent event_of(nb::handle message, nb::handle timestamp) {
  LogEvent e;
  MessageText text;
  read_message(message, text);
  e.message.assign(text.view);
  e.timestamp_ms = to_ms(timestamp);
  e.has_timestamp = true;
  return e;
}

std::string json_text(nb::handle obj) {
  if (nb::isinstance<nb::str>(obj)) return text_of(obj);
  return text_of(nb::module_::import_("json").attr("dumps")(obj));
}

}  // namespace

void bind_pipeline(nb::module_& m) {
  nb::class_<PyPipeline>(m, "Pipeline",
                         "The whole `cwfilter run` pipeline, fed log events in event time: metric "
                         "filters -> metric store -> alarms -> SNS notifications, as CloudWatch "
                         "would have evaluated them.")
      .def(
          "__init__",
          [](PyPipeline* self, nb::handle config, nb::handle on_notification, std::string log_group,
             std::optional<std::int64_t> max_lateness_ms, nb::handle start, nb::handle until) {
            PipelineConfig parsed = unwrap(parse_pipeline_config(json_text(config)));
            PipelineOptions options;
            options.log_group = std::move(log_group);
            if (max_lateness_ms) options.max_lateness_ms = *max_lateness_ms;
            if (!start.is_none()) options.from_ms = to_ms(start);
            if (!until.is_none()) options.until_ms = to_ms(until);
            new (self) PyPipeline();
            auto queue = self->queue;
            auto created = Pipeline::create(std::move(parsed), std::move(options),
                                            [queue](const PipelineNotification& n) { queue->push_back(n); });
            if (!created.ok()) {
              self->~PyPipeline();
              raise_value_error(created.error().message);
            }
            self->pipeline = std::make_unique<Pipeline>(std::move(created).value());
            self->callback = nb::borrow(on_notification);
          },
          nb::arg("config"), nb::arg("on_notification") = nb::none(), nb::kw_only(), nb::arg("log_group") = "",
          nb::arg("max_lateness_ms") = nb::none(), nb::arg("start") = nb::none(), nb::arg("until") = nb::none(),
          "Pipeline(config, on_notification=None): config is the `cwfilter run` CONFIG as a dict "
          "or JSON text (metricFilters, metricAlarms, subscriptions, ...). on_notification(dict) "
          "is called for each notification (alarm_name, new_state, at, topic_arn, subject, "
          "message, envelope, message_id, kind = 'metric_alarm' or 'streak', and for streak alarms "
          "streak = {key, count, first_failure, last_failure, event_ids, cause, success_event_id, "
          "reason}); without it, add/advance_to/finish return them.")
      .def_prop_ro(
          "warnings", [](const PyPipeline& p) { return p.pipeline->warnings(); },
          "Valid configurations that will not do what one expects (e.g. a unit mismatch).")
      .def_prop_ro(
          "log_group", [](const PyPipeline& p) { return p.pipeline->log_group(); }, "The log group fed.")
      .def(
          "add",
          [](PyPipeline& p, nb::handle message, nb::handle timestamp, std::string event_id) {
            LogEvent e = event_of(message, timestamp);
            e.event_id = std::move(event_id);
            p.pipeline->add(e);
            return p.drain();
          },
          nb::arg("message"), nb::arg("timestamp"), nb::kw_only(), nb::arg("event_id") = "",
          "Feeds one log event (its timestamp in event time; event_id: what a streak alarm's "
          "notification lists in EventIds); evaluates every alarm instant the watermark passes. "
          "Returns the notifications when there is no callback.")
      .def(
          "add_many",
          [](PyPipeline& p, nb::handle events) {
            nb::list out;
            for (nb::handle item : nb::iter(events)) {
              nb::object message, timestamp;
              std::string event_id;
              if (nb::hasattr(item, "message_bytes") && nb::hasattr(item, "timestamp")) {
                message = item.attr("message_bytes");
                timestamp = item.attr("timestamp");
                if (nb::hasattr(item, "event_id")) event_id = nb::cast<std::string>(item.attr("event_id"));
              } else {
                message = item[0];
                timestamp = item[1];
              }
              LogEvent e = event_of(message, timestamp);
              e.event_id = std::move(event_id);
              p.pipeline->add(e);
              for (nb::handle n : p.drain()) out.append(n);
            }
            return out;
          },
          nb::arg("events"), "Feeds (message, timestamp) pairs or LogEvents (with their event_id), in order.")
      .def(
          "advance_to",
          [](PyPipeline& p, nb::handle now) {
            p.pipeline->advance_to(to_ms(now));
            return p.drain();
          },
          nb::arg("now"), "Moves event time forward without an event.")
      .def(
          "finish",
          [](PyPipeline& p) {
            p.pipeline->finish();
            return p.drain();
          },
          "End of input: evaluates up to `until` (default: the last event plus the longest "
          "evaluation range of any alarm).")
      .def_prop_ro(
          "store", [](const PyPipeline& p) { return MetricStore(p.pipeline->store()); },
          "A copy of the pipeline's MetricStore.")
      .def(
          "alarm_states",
          [](const PyPipeline& p) {
            nb::dict d;
            for (const auto& [name, state] : p.pipeline->alarm_states()) d[nb::str(name.c_str(), name.size())] = state;
            return d;
          },
          "{alarm name: AlarmState}.")
      .def(
          "history",
          [](const PyPipeline& p) {
            nb::list out;
            for (const auto& h : p.pipeline->alarm_history()) {
              nb::dict d;
              d["AlarmName"] = h.alarm_name;
              d["AlarmType"] = h.alarm_type;
              d["Timestamp"] = h.timestamp_ms;
              d["HistoryItemType"] = h.history_item_type;
              d["HistorySummary"] = h.history_summary;
              d["HistoryData"] = h.history_data;
              out.append(d);
            }
            return out;
          },
          "The metric alarms' DescribeAlarmHistory items as dicts, oldest first (ConfigurationUpdate "
          "when an alarm's clock starts, StateUpdate per transition, Action per record_action()).")
      .def(
          "record_action",
          [](PyPipeline& p, std::string_view alarm_name, std::string_view action_arn, nb::handle at, bool succeeded,
             std::string reason) {
            return p.pipeline->record_action(alarm_name, action_arn, to_ms(at),
                                             succeeded ? alarm::ActionOutcome::success()
                                                       : alarm::ActionOutcome::failure(std::move(reason)));
          },
          nb::arg("alarm_name"), nb::arg("action_arn"), nb::arg("at"), nb::kw_only(), nb::arg("succeeded") = true,
          nb::arg("reason") = "",
          "Reports how delivering a notification ended (its alarm_name, topic_arn and at): the "
          "alarm's Action history item. False for a name that is not a metric alarm.")
      .def(
          "summary",
          [](const PyPipeline& p) {
            const PipelineSummary& s = p.pipeline->summary();
            nb::dict d;
            d["events"] = s.events;
            d["events_skipped_time"] = s.events_skipped_time;
            d["events_late"] = s.events_late;
            d["events_other_log_group"] = s.events_other_log_group;
            d["notifications"] = s.notifications;
            d["non_sns_actions"] = s.non_sns_actions;
            nb::list filters, alarms;
            for (const auto& f : s.filters) {
              nb::dict x;
              x["filter_name"] = f.filter_name;
              x["events"] = f.events;
              x["matches"] = f.matches;
              x["datapoints"] = f.datapoints;
              x["default_datapoints"] = f.default_datapoints;
              x["values_skipped"] = f.values_skipped;
              filters.append(x);
            }
            for (const auto& a : s.alarms) {
              nb::dict x;
              x["alarm_name"] = a.alarm_name;
              x["evaluations"] = a.evaluations;
              x["transitions"] = a.transitions;
              x["notifications"] = a.notifications;
              nb::dict to;
              for (const auto& [k, v] : a.transitions_to) to[nb::str(k.c_str(), k.size())] = v;
              x["transitions_to"] = to;
              x["final_state"] = a.final_state;
              alarms.append(x);
            }
            nb::list streaks;
            for (const auto& st : s.streaks) {
              nb::dict x;
              x["alarm_name"] = st.alarm_name;
              x["notifications"] = st.notifications;
              x["failures"] = st.stats.failures;
              x["successes"] = st.stats.successes;
              x["ignored"] = st.stats.ignored;
              x["unresolved_keys"] = st.stats.unresolved_keys;
              x["late_events"] = st.stats.late_events;
              x["live_keys"] = st.stats.live_keys;
              x["peak_live_keys"] = st.stats.peak_live_keys;
              x["transitions_to_alarm"] = st.stats.transitions_to_alarm;
              x["transitions_to_ok"] = st.stats.transitions_to_ok;
              streaks.append(x);
            }
            d["filters"] = filters;
            d["alarms"] = alarms;
            d["streaks"] = streaks;
            return d;
          },
          "Counts per filter and per alarm, as `cwfilter run` prints them.")
      .def(
          "save_state", [](const PyPipeline& p) { return p.pipeline->save_state(); },
          "Everything needed to resume after a restart, as JSON text.")
      .def(
          "restore_state", [](PyPipeline& p, const std::string& state) { unwrap(p.pipeline->restore_state(state)); },
          nb::arg("state"), "Resumes from save_state() output.");
}

}  // namespace cwfilter::py
