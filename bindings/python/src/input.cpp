// Log-event readers: CloudTrail files, JSON lines, text, get/filter-log-events output,
// subscription payloads and Lambda events, from a path or from memory.
#include "common.hpp"

#include <cwfilter/input.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

namespace cwfilter::py {

namespace {

InputOptions input_options(std::string_view format, std::optional<std::string> timestamp_selector) {
  InputOptions options;
  options.format = unwrap(parse_input_format(format));
  options.timestamp_selector = std::move(timestamp_selector);
  return options;
}

std::vector<LogEvent> events_of(Result<InputResult, Error> result, bool strict) {
  InputResult r = unwrap(std::move(result));
  if (strict && !r.malformed.empty()) {
    std::string message = std::to_string(r.malformed.size()) + " malformed record(s); first: " +
                          to_string(r.malformed.front());
    raise_value_error(message);
  }
  return std::move(r.events);
}

bool strict_of(std::string_view errors) {
  if (errors == "strict") return true;
  if (errors == "ignore") return false;
  throw nb::value_error("errors must be 'strict' or 'ignore'");
}

}  // namespace

void bind_input(nb::module_& m) {
  nb::class_<LogEvent>(m, "LogEvent", "One log event read from a file or payload.")
      .def_prop_ro(
          "message", [](const LogEvent& e) { return to_str(e.message); },
          "The event's message (a CloudTrail record as compact JSON, a line, ...).")
      .def_prop_ro(
          "message_bytes", [](const LogEvent& e) { return nb::bytes(e.message.data(), e.message.size()); },
          "The message as bytes.")
      .def_prop_ro(
          "timestamp",
          [](const LogEvent& e) -> std::optional<std::int64_t> {
            if (!e.has_timestamp) return std::nullopt;
            return e.timestamp_ms;
          },
          "Milliseconds since the epoch (CloudTrail eventTime, log-event timestamp), or None.")
      .def_ro("event_id", &LogEvent::event_id, "CloudTrail eventID / CloudWatch eventId, or ''.")
      .def_ro("log_group", &LogEvent::log_group, "The log group when the payload names it, or ''.")
      .def_ro("log_stream", &LogEvent::log_stream, "The log stream when the payload names it, or ''.")
      .def_ro("source", &LogEvent::source, "File path, '-' for stdin, or the buffer's name.")
      .def_ro("record_number", &LogEvent::record_number, "1-based line or record number.")
      .def_prop_ro(
          "format", [](const LogEvent& e) { return std::string(to_string(e.format)); },
          "The format the event was read as.")
      .def("__repr__", [](const LogEvent& e) {
        return "<cwfilter.LogEvent " + e.source + ":" + std::to_string(e.record_number) + ">";
      });

  m.def(
      "read_events",
      [](const std::string& path, std::string_view format, std::optional<std::string> timestamp_selector,
         std::string_view errors) {
        const bool strict = strict_of(errors);
        auto options = input_options(format, std::move(timestamp_selector));
        Result<InputResult, Error> result = Error{};
        {
          nb::gil_scoped_release release;
          result = read_all(path, options);
        }
        return events_of(std::move(result), strict);
      },
      nb::arg("path"), nb::kw_only(), nb::arg("format") = "auto", nb::arg("timestamp_selector") = nb::none(),
      nb::arg("errors") = "strict",
      "Every log event of a file or directory (walked in sorted order; .gz decompressed). "
      "format: 'auto', 'cloudtrail', 'json-lines', 'text', 'log-events', 'subscription', "
      "'lambda'. errors='strict' raises ValueError on malformed records, 'ignore' skips them.");

  m.def(
      "parse_events",
      [](nb::handle data, std::string source_name, std::string_view format,
         std::optional<std::string> timestamp_selector, std::string_view errors) {
        const bool strict = strict_of(errors);
        MessageText text;
        read_message(data, text);
        auto options = input_options(format, std::move(timestamp_selector));
        return events_of(read_all_buffer(text.view, std::move(source_name), options), strict);
      },
      nb::arg("data"), nb::kw_only(), nb::arg("source_name") = "<buffer>", nb::arg("format") = "auto",
      nb::arg("timestamp_selector") = nb::none(), nb::arg("errors") = "strict",
      "Like read_events over in-memory content (str or bytes), e.g. the `event` a Lambda "
      "function receives from a subscription filter, as JSON text.");
}

}  // namespace cwfilter::py
