// Metric filters: pattern + metric transformation -> datapoints, one event or a batch at a time.
#include "common.hpp"

#include <cwfilter/metric_filter.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

namespace cwfilter::py {

namespace {

std::string json_of(nb::handle obj) {
  if (nb::isinstance<nb::str>(obj)) return text_of(obj);
  if (nb::isinstance<nb::bytes>(obj)) {
    auto b = nb::borrow<nb::bytes>(obj);
    return std::string(b.c_str(), b.size());
  }
  return text_of(nb::module_::import_("json").attr("dumps")(obj));
}

nb::dict transformation_dict(const MetricTransformation& t) {
  nb::dict d;
  d["metricName"] = t.metric_name;
  d["metricNamespace"] = t.metric_namespace;
  d["metricValue"] = t.metric_value;
  if (t.default_value) d["defaultValue"] = *t.default_value;
  if (!t.dimensions.empty()) {
    nb::dict dims;
    for (const auto& [name, ref] : t.dimensions) dims[nb::str(name.c_str(), name.size())] = nb::str(ref.c_str(), ref.size());
    d["dimensions"] = dims;
  }
  d["unit"] = std::string(to_string(t.unit));
  return d;
}

// Timestamps of a batch: None (all 0), one timestamp for all, or one per message.
std::vector<std::int64_t> batch_timestamps(nb::handle timestamps, std::size_t n) {
  if (timestamps.is_none()) return std::vector<std::int64_t>(n, 0);
  if (PyLong_Check(timestamps.ptr()) || PyUnicode_Check(timestamps.ptr()) ||
      nb::hasattr(timestamps, "tzinfo"))
    return std::vector<std::int64_t>(n, to_ms(timestamps));
  std::vector<std::int64_t> out;
  for (nb::handle t : nb::iter(timestamps)) out.push_back(to_ms(t));
  if (out.size() != n) throw nb::value_error("timestamps must have one entry per message");
  return out;
}

}  // namespace

void bind_metric_filter(nb::module_& m) {
  nb::class_<MetricFilterDatapoint>(m, "Datapoint", "One datapoint published by a metric filter.")
      .def_ro("key", &MetricFilterDatapoint::key, "MetricKey: namespace, name, dimensions found in the event.")
      .def_ro("value", &MetricFilterDatapoint::value, "The value.")
      .def_prop_ro(
          "unit", [](const MetricFilterDatapoint& d) { return std::string(to_string(d.unit)); }, "The unit.")
      .def_ro("timestamp", &MetricFilterDatapoint::timestamp_ms, "The event's timestamp, ms.")
      .def_ro("is_default", &MetricFilterDatapoint::is_default,
              "True for the defaultValue published for a non-matching event.")
      .def("__repr__", [](const MetricFilterDatapoint& d) {
        return "<cwfilter.Datapoint " + d.key.metric_namespace() + "/" + d.key.metric_name() + " " +
               std::to_string(d.value) + " @" + std::to_string(d.timestamp_ms) + ">";
      });

  nb::class_<MetricFilterOutcome>(m, "MetricFilterOutcome", "What a metric filter did with one event.")
      .def_ro("matched", &MetricFilterOutcome::matched, "The pattern matched.")
      .def_ro("datapoint", &MetricFilterOutcome::datapoint, "The published Datapoint, or None.")
      .def_ro("skipped_reason", &MetricFilterOutcome::skipped_reason,
              "Why a matching event published nothing (value absent or not numeric), else ''.");

  nb::class_<MetricFilter>(m, "MetricFilter",
                           "A validated metric filter: a pattern plus one metric transformation. "
                           "Immutable, thread-safe.")
      .def(
          "__init__",
          [](MetricFilter* self, const std::string& pattern, nb::handle metric_transformation,
             std::optional<std::string> filter_name, std::optional<std::string> log_group_name,
             bool exact_field_count) {
            auto transformations = unwrap(parse_metric_transformations(json_of(metric_transformation)));
            Options options;
            options.exact_field_count = exact_field_count;
            if (filter_name || log_group_name) {
              MetricFilterDefinition def{filter_name.value_or("test-metric-filter"),
                                         log_group_name.value_or("test-log-group"), pattern,
                                         std::move(transformations)};
              new (self) MetricFilter(unwrap(MetricFilter::create(def, options)));
              return;
            }
            if (transformations.size() != 1)
              raise_value_error("a metric filter takes exactly one metric transformation, got " +
                                std::to_string(transformations.size()));
            new (self) MetricFilter(unwrap(MetricFilter::create(pattern, transformations.front(), options)));
          },
          nb::arg("pattern"), nb::arg("metric_transformation"), nb::kw_only(), nb::arg("filter_name") = nb::none(),
          nb::arg("log_group_name") = nb::none(), nb::arg("exact_field_count") = false,
          "MetricFilter(pattern, metric_transformation): the transformation in PutMetricFilter's "
          "shape ({'metricName', 'metricNamespace', 'metricValue', 'defaultValue', 'dimensions', "
          "'unit'}, or a one-element list, as dicts or JSON text). Validated as AWS does; "
          "ValueError with AWS's message otherwise.")
      .def_static(
          "load",
          [](nb::handle json) {
            std::vector<MetricFilter> out;
            for (const auto& def : unwrap(parse_metric_filters(json_of(json))))
              out.push_back(unwrap(MetricFilter::create(def)));
            return out;
          },
          nb::arg("json"), "Every metric filter of DescribeMetricFilters output (dict or JSON text).")
      .def_prop_ro("pattern", &MetricFilter::pattern, "The compiled Pattern.")
      .def_prop_ro("filter_name", &MetricFilter::filter_name, "filterName.")
      .def_prop_ro("log_group_name", &MetricFilter::log_group_name, "logGroupName.")
      .def_prop_ro(
          "metric_transformation", [](const MetricFilter& f) { return transformation_dict(f.transformation()); },
          "The metric transformation as a dict.")
      .def(
          "evaluate",
          [](const MetricFilter& f, nb::handle message, nb::handle timestamp) {
            MessageText text;
            read_message(message, text);
            return f.evaluate(text.view, to_ms(timestamp));
          },
          nb::arg("message"), nb::arg("timestamp") = 0,
          "What the filter publishes for one log event (a non-matching event yields the "
          "defaultValue when set).")
      .def(
          "datapoints",
          [](const MetricFilter& f, nb::handle messages, nb::handle timestamps) {
            MessageBatch batch = read_messages(messages);
            std::vector<std::int64_t> ts = batch_timestamps(timestamps, batch.views.size());
            std::vector<MetricFilterDatapoint> out;
            {
              nb::gil_scoped_release release;
              for (std::size_t i = 0; i < batch.views.size(); ++i) {
                auto outcome = f.evaluate(batch.views[i], ts[i]);
                if (outcome.datapoint) out.push_back(std::move(*outcome.datapoint));
              }
            }
            return out;
          },
          nb::arg("messages"), nb::arg("timestamps") = nb::none(),
          "The datapoints published for a batch of events, in event order, computed without the "
          "GIL. timestamps: None (0), one timestamp for all, or one per message.")
      .def(
          "publish",
          [](const MetricFilter& f, MetricStore& store, nb::handle messages, nb::handle timestamps) {
            MessageBatch batch = read_messages(messages);
            std::vector<std::int64_t> ts = batch_timestamps(timestamps, batch.views.size());
            std::vector<MetricFilterDatapoint> points;
            {
              nb::gil_scoped_release release;  // matching only; the store is written with the GIL
              for (std::size_t i = 0; i < batch.views.size(); ++i) {
                auto outcome = f.evaluate(batch.views[i], ts[i]);
                if (outcome.datapoint) points.push_back(std::move(*outcome.datapoint));
              }
            }
            std::size_t stored = 0;
            for (const auto& p : points)
              stored += unwrap(store.add_value(p.key, p.unit, p.timestamp_ms, p.value)) == AddOutcome::kStored;
            return stored;
          },
          nb::arg("store"), nb::arg("messages"), nb::arg("timestamps") = nb::none(),
          "Adds the datapoints of a batch of events to `store` (as CloudWatch Logs would publish "
          "them); returns how many were stored (the others were older than the retention).")
      .def("__repr__", [](const MetricFilter& f) {
        return "<cwfilter.MetricFilter " + std::string(nb::repr(to_str(f.pattern().source())).c_str()) + ">";
      });
}

}  // namespace cwfilter::py
