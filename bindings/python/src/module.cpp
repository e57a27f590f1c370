// The private extension module `cwfilter._cwfilter`. The public, documented API is the package
// `cwfilter` (bindings/python/cwfilter/__init__.py), which re-exports these names.
#include "common.hpp"

#include <cwfilter/alarm.hpp>

#include <Python.h>

namespace cwfilter::py {

void read_message(nb::handle obj, MessageText& out) {
  PyObject* o = obj.ptr();
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(o, &size);
    if (!data) throw nb::python_error();
    out.view = std::string_view(data, static_cast<std::size_t>(size));
    return;
  }
  if (PyBytes_Check(o)) {
    out.view = std::string_view(PyBytes_AS_STRING(o), static_cast<std::size_t>(PyBytes_GET_SIZE(o)));
    return;
  }
  if (PyObject_CheckBuffer(o)) {  // bytearray, memoryview, ...: mutable, so copied
    Py_buffer buffer;
    if (PyObject_GetBuffer(o, &buffer, PyBUF_SIMPLE) != 0) throw nb::python_error();
    out.owned.assign(static_cast<const char*>(buffer.buf), static_cast<std::size_t>(buffer.len));
    PyBuffer_Release(&buffer);
    out.view = out.owned;
    return;
  }
  throw nb::type_error(("a log message must be str or bytes, not " +
                        std::string(Py_TYPE(o)->tp_name)).c_str());
}

MessageBatch read_messages(nb::handle messages) {
  if (PyUnicode_Check(messages.ptr()) || PyBytes_Check(messages.ptr()))
    throw nb::type_error("messages must be a sequence of str/bytes, not a single str/bytes");
  MessageBatch batch;
  PyObject* fast = PySequence_Fast(messages.ptr(), "messages must be an iterable of str/bytes");
  if (!fast) throw nb::python_error();
  batch.keep_alive = nb::steal(fast);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  batch.views.resize(static_cast<std::size_t>(n));
  std::size_t copies = 0;
  for (Py_ssize_t i = 0; i < n; ++i)
    if (!PyUnicode_Check(items[i]) && !PyBytes_Check(items[i])) ++copies;
  batch.owned.reserve(copies);  // no reallocation below: views into `owned` stay valid
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = items[i];
    MessageText text;
    if (PyUnicode_Check(item) || PyBytes_Check(item)) {
      read_message(item, text);
      batch.views[static_cast<std::size_t>(i)] = text.view;
      continue;
    }
    try {
      read_message(item, text);
    } catch (nb::builtin_exception&) {
      throw nb::type_error(("messages[" + std::to_string(i) + "] must be str or bytes, not " +
                            std::string(Py_TYPE(item)->tp_name)).c_str());
    }
    batch.owned.push_back(std::move(text.owned));
    batch.views[static_cast<std::size_t>(i)] = batch.owned.back();
  }
  return batch;
}

std::string text_of(nb::handle obj) {
  if (!PyUnicode_Check(obj.ptr()))
    throw nb::type_error(("expected str, not " + std::string(Py_TYPE(obj.ptr())->tp_name)).c_str());
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
  if (!data) throw nb::python_error();
  return std::string(data, static_cast<std::size_t>(size));
}

nb::str to_str(std::string_view text) {
  PyObject* s = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "surrogateescape");
  if (!s) throw nb::python_error();
  return nb::steal<nb::str>(s);
}

std::int64_t to_ms(nb::handle when) {
  PyObject* o = when.ptr();
  if (PyBool_Check(o)) throw nb::type_error("a timestamp must be int (ms), datetime or str, not bool");
  if (PyLong_Check(o)) return nb::cast<std::int64_t>(when);
  if (PyUnicode_Check(o)) {
    auto parsed = alarm::parse_iso_timestamp(text_of(when));
    if (!parsed.ok()) raise_value_error(parsed.error().message);
    return parsed.value();
  }
  nb::module_ datetime = nb::module_::import_("datetime");
  if (nb::isinstance(when, datetime.attr("datetime"))) {
    nb::object utc = datetime.attr("timezone").attr("utc");
    nb::object dt = nb::borrow(when);
    if (dt.attr("tzinfo").is_none()) dt = dt.attr("replace")(nb::arg("tzinfo") = utc);
    nb::object epoch = datetime.attr("datetime")(1970, 1, 1, nb::arg("tzinfo") = utc);
    nb::object one_ms = datetime.attr("timedelta")(nb::arg("milliseconds") = 1);
    return nb::cast<std::int64_t>((dt - epoch).attr("__floordiv__")(one_ms));
  }
  throw nb::type_error(("a timestamp must be int (milliseconds since the epoch), datetime or an "
                        "ISO-8601 str, not " + std::string(Py_TYPE(o)->tp_name)).c_str());
}

void raise_value_error(const std::string& message) { throw nb::value_error(message.c_str()); }

}  // namespace cwfilter::py

NB_MODULE(_cwfilter, m) {
  m.doc() = "Private extension module of the cwfilter package; use `import cwfilter`.";
  cwfilter::py::bind_pattern(m);
  cwfilter::py::bind_metrics(m);
  cwfilter::py::bind_alarm(m);
  cwfilter::py::bind_input(m);
  cwfilter::py::bind_metric_filter(m);
  cwfilter::py::bind_pipeline(m);
}
