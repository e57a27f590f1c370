// Filter patterns: compile, match one message, match batches without the GIL.
#include "common.hpp"

#include <cwfilter/pattern.hpp>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <Python.h>

#include <chrono>

namespace cwfilter::py {

namespace {

// Single messages above this size are matched without the GIL; below it, releasing and
// re-acquiring the GIL costs more than the match.
constexpr std::size_t kReleaseGilAbove = 16 * 1024;

// The result of a successful match: what TestMetricFilter reports as extractedValues.
struct PyMatch {
  nb::dict extracted_values;
};

std::string_view error_context_name(ErrorContext context) {
  return context == ErrorContext::kFilterLogEvents ? "filter_log_events" : "metric_filter";
}

ErrorContext parse_error_context(std::string_view name) {
  if (name == "metric_filter") return ErrorContext::kMetricFilter;
  if (name == "filter_log_events") return ErrorContext::kFilterLogEvents;
  throw nb::value_error("error_context must be 'metric_filter' or 'filter_log_events'");
}

nb::dict options_dict(const Options& o) {
  nb::dict d;
  d["exact_field_count"] = o.exact_field_count;
  d["error_context"] = nb::str(error_context_name(o.error_context).data(),
                               error_context_name(o.error_context).size());
  d["max_pattern_length"] = o.max_pattern_length;
  d["max_nesting"] = o.max_nesting;
  d["max_wildcard_selectors"] = o.max_wildcard_selectors;
  d["max_regexes"] = o.max_regexes;
  d["max_json_depth"] = o.max_json_depth;
  d["max_event_bytes"] = o.max_event_bytes;
  return d;
}

bool same_options(const Options& a, const Options& b) {
  return a.exact_field_count == b.exact_field_count && a.error_context == b.error_context &&
         a.max_pattern_length == b.max_pattern_length && a.max_nesting == b.max_nesting &&
         a.max_wildcard_selectors == b.max_wildcard_selectors && a.max_regexes == b.max_regexes &&
         a.max_json_depth == b.max_json_depth && a.max_event_bytes == b.max_event_bytes;
}

// Characters (code points) of the UTF-8 text before byte `offset`: the offset in the Python str.
std::size_t char_offset(std::string_view utf8, std::size_t offset) {
  offset = std::min(offset, utf8.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < offset; ++i) n += (static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80;
  return n;
}

nb::object make_match(const MatchResult& result) {
  if (!result.matched) return nb::none();
  PyMatch match;
  for (const auto& [name, value] : result.extracted_values) match.extracted_values[to_str(name)] = to_str(value);
  return nb::cast(std::move(match));
}

std::string_view field_type_name(FieldValue::Type type) {
  switch (type) {
    case FieldValue::Type::kString: return "string";
    case FieldValue::Type::kNumber: return "number";
    case FieldValue::Type::kTrue: return "true";
    case FieldValue::Type::kFalse: return "false";
    case FieldValue::Type::kNull: return "null";
    case FieldValue::Type::kObject: return "object";
    case FieldValue::Type::kArray: return "array";
  }
  return "string";
}

}  // namespace

void bind_pattern(nb::module_& m) {
  nb::class_<PyMatch>(m, "Match", "A successful match of one log event.")
      .def_prop_ro(
          "extracted_values", [](const PyMatch& self) { return self.extracted_values; },
          "TestMetricFilter's extractedValues: for space-delimited patterns, '$name' / '$N' -> "
          "the field's text, in field order; empty for the other families.")
      .def("__bool__", [](const PyMatch&) { return true; })
      .def("__repr__", [](const PyMatch& self) {
        return "<cwfilter.Match extracted_values=" + std::string(nb::repr(self.extracted_values).c_str()) + ">";
      });

  nb::class_<FieldValue>(m, "FieldValue", "A value read from a log event by a field reference.")
      .def_prop_ro(
          "type", [](const FieldValue& v) { return std::string(field_type_name(v.type)); },
          "'string', 'number', 'true', 'false', 'null', 'object' or 'array'.")
      .def_prop_ro(
          "text", [](const FieldValue& v) { return to_str(v.text); },
          "The decoded string, a number's source text, or 'true'/'false'/'null'.")
      .def("__eq__", [](const FieldValue& a, const FieldValue& b) { return a == b; })
      .def("__repr__", [](const FieldValue& v) {
        return "FieldValue(type=" + std::string(field_type_name(v.type)) +
               ", text=" + std::string(nb::repr(to_str(v.text)).c_str()) + ")";
      });

  nb::class_<Pattern>(m, "Pattern",
                      "A compiled CloudWatch Logs filter pattern. Immutable; safe to share between "
                      "threads. Create with cwfilter.compile().")
      .def_prop_ro(
          "pattern", [](const Pattern& p) { return to_str(p.source()); }, "The pattern as given.")
      .def_prop_ro(
          "family", [](const Pattern& p) { return std::string(to_string(p.family())); },
          "'match-all', 'term', 'json', 'space-delimited' or 'regex'.")
      .def_prop_ro(
          "options", [](const Pattern& p) { return options_dict(p.options()); },
          "The compile options (keyword arguments of cwfilter.compile) as a dict.")
      .def(
          "matches",
          [](const Pattern& p, nb::handle message) {
            MessageText text;
            read_message(message, text);
            if (text.view.size() > kReleaseGilAbove) {
              nb::gil_scoped_release release;
              return p.matches(text.view);
            }
            return p.matches(text.view);
          },
          nb::arg("message"), "True if the log event `message` (str or bytes) matches.")
      .def(
          "match",
          [](const Pattern& p, nb::handle message) {
            MessageText text;
            read_message(message, text);
            MatchResult result;
            if (text.view.size() > kReleaseGilAbove) {
              nb::gil_scoped_release release;
              result = p.match(text.view);
            } else {
              result = p.match(text.view);
            }
            return make_match(result);
          },
          nb::arg("message"), "A Match (with extracted_values) if `message` matches, else None.")
      .def(
          "matches_many",
          [](const Pattern& p, nb::handle messages) {
            MessageBatch batch = read_messages(messages);
            std::vector<char> verdicts(batch.views.size());
            {
              nb::gil_scoped_release release;
              for (std::size_t i = 0; i < batch.views.size(); ++i) verdicts[i] = p.matches(batch.views[i]);
            }
            PyObject* list = PyList_New(static_cast<Py_ssize_t>(verdicts.size()));
            if (!list) throw nb::python_error();
            for (std::size_t i = 0; i < verdicts.size(); ++i) {
              PyObject* b = verdicts[i] ? Py_True : Py_False;
              Py_INCREF(b);
              PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), b);
            }
            return nb::steal<nb::list>(list);
          },
          nb::arg("messages"),
          "[self.matches(m) for m in messages], matched without the GIL. `messages` is any "
          "iterable of str/bytes.")
      .def(
          "filter",
          [](const Pattern& p, nb::handle messages) {
            MessageBatch batch = read_messages(messages);
            std::vector<std::size_t> hits;
            {
              nb::gil_scoped_release release;
              for (std::size_t i = 0; i < batch.views.size(); ++i)
                if (p.matches(batch.views[i])) hits.push_back(i);
            }
            return hits;
          },
          nb::arg("messages"),
          "Indices of the matching messages, ascending, matched without the GIL.")
      .def(
          "match_and_resolve",
          [](const Pattern& p, nb::handle message, const std::vector<std::string>& refs) {
            std::vector<FieldRef> parsed;
            parsed.reserve(refs.size());
            for (const auto& r : refs) parsed.push_back(unwrap(FieldRef::parse(r)));
            MessageText text;
            read_message(message, text);
            std::vector<std::optional<FieldValue>> values;
            bool matched = p.match_and_resolve(text.view, parsed, values);
            values.resize(parsed.size());
            return std::make_pair(matched, values);
          },
          nb::arg("message"), nb::arg("refs"),
          "Matches `message` and resolves field references ('$.path', '$name', '$N') against "
          "the same reading of the event: (matched, [FieldValue or None per ref]).")
      .def("__eq__",
           [](const Pattern& a, nb::handle other) {
             if (!nb::isinstance<Pattern>(other)) return false;
             const Pattern& b = nb::cast<const Pattern&>(other);
             return a.source() == b.source() && same_options(a.options(), b.options());
           })
      .def("__hash__", [](const Pattern& p) { return nb::hash(to_str(p.source())); })
      .def("__repr__",
           [](const Pattern& p) {
             return "cwfilter.compile(" + std::string(nb::repr(to_str(p.source())).c_str()) + ")";
           })
      .def("__reduce__", [](const Pattern& p) {
        // Pickled as its source and options (e.g. to ship it to PySpark executors).
        nb::object rebuild = nb::module_::import_("cwfilter").attr("_compile_from_options");
        return nb::make_tuple(rebuild, nb::make_tuple(to_str(p.source()), options_dict(p.options())));
      });

  // Returns a Pattern, or (code, char_offset, byte_offset, fragment, message, formatted) for the
  // Python layer to raise PatternError with (the exception class lives in Python).
  m.def(
      "_compile",
      [](nb::str pattern, bool exact_field_count, std::string_view error_context,
         std::size_t max_pattern_length, std::size_t max_nesting, std::size_t max_wildcard_selectors,
         std::size_t max_regexes, std::size_t max_json_depth, std::size_t max_event_bytes) -> nb::object {
        Options options;
        options.exact_field_count = exact_field_count;
        options.error_context = parse_error_context(error_context);
        options.max_pattern_length = max_pattern_length;
        options.max_nesting = max_nesting;
        options.max_wildcard_selectors = max_wildcard_selectors;
        options.max_regexes = max_regexes;
        options.max_json_depth = max_json_depth;
        options.max_event_bytes = max_event_bytes;
        MessageText text;
        read_message(pattern, text);
        auto compiled = compile(text.view, options);
        if (compiled.ok()) return nb::cast(std::move(compiled).value());
        const CompileError& e = compiled.error();
        return nb::make_tuple(std::string(to_string(e.code)), char_offset(text.view, e.offset), e.offset,
                              to_str(e.fragment), to_str(e.message), to_str(format_error(text.view, e)));
      },
      nb::arg("pattern"), nb::arg("exact_field_count"), nb::arg("error_context"),
      nb::arg("max_pattern_length"), nb::arg("max_nesting"), nb::arg("max_wildcard_selectors"),
      nb::arg("max_regexes"), nb::arg("max_json_depth"), nb::arg("max_event_bytes"));

  m.def(
      "_default_options", [] { return options_dict(Options{}); },
      "The C++ defaults of the compile options.");

  // Benchmark helper: the same loop as matches_many, entirely in C++ over copies of the messages
  // made beforehand; returns (matches, seconds spent in the loop) for `repeat` passes.
  m.def(
      "_bench_count_matches",
      [](const Pattern& p, nb::handle messages, int repeat) {
        MessageBatch batch = read_messages(messages);
        std::vector<std::string> copies(batch.views.begin(), batch.views.end());
        std::size_t count = 0;
        double seconds = 0;
        {
          nb::gil_scoped_release release;
          auto start = std::chrono::steady_clock::now();
          for (int r = 0; r < repeat; ++r)
            for (const auto& s : copies) count += p.matches(s);
          seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
        return std::make_pair(count, seconds);
      },
      nb::arg("pattern"), nb::arg("messages"), nb::arg("repeat") = 1);
}

}  // namespace cwfilter::py
