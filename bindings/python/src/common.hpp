// Helpers shared by the binding sources: reading str/bytes without copies, timestamps, errors.
#pragma once

#include <nanobind/nanobind.h>

#include <cwfilter/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cwfilter::py {

namespace nb = nanobind;

// A message as bytes. For str and bytes the view points into the Python object (its UTF-8 cache
// for str), which stays valid as long as the object is alive and needs no GIL to read: both are
// immutable. Other buffers (bytearray, memoryview) are copied into `owned`.
struct MessageText {
  std::string_view view;
  std::string owned;
};

// Raises TypeError for anything but str / bytes / bytearray / memoryview; UnicodeEncodeError for
// a str with lone surrogates.
void read_message(nb::handle obj, MessageText& out);

// A batch of messages, read while holding the GIL so that matching can run without it.
// `keep_alive` owns the references that the views point into.
struct MessageBatch {
  nb::object keep_alive;
  std::vector<std::string_view> views;
  std::vector<std::string> owned;  // copies of mutable buffers (stable addresses: reserved)
};
MessageBatch read_messages(nb::handle messages);

// The UTF-8 text of a str (TypeError for anything else).
std::string text_of(nb::handle obj);

// A str decoded from UTF-8; invalid bytes (possible in bytes messages) become surrogate escapes,
// so `value.encode("utf-8", "surrogateescape")` gives the original bytes back.
nb::str to_str(std::string_view text);

// Milliseconds since the epoch from an int (ms), a datetime (naive = UTC) or an ISO-8601 string.
std::int64_t to_ms(nb::handle when);

[[noreturn]] void raise_value_error(const std::string& message);

template <typename T>
T unwrap(cwfilter::Result<T, cwfilter::Error> result) {
  if (!result.ok()) raise_value_error(result.error().message);
  return std::move(result).value();
}

void bind_pattern(nb::module_& m);
void bind_metrics(nb::module_& m);
void bind_alarm(nb::module_& m);
void bind_input(nb::module_& m);
void bind_metric_filter(nb::module_& m);
void bind_pipeline(nb::module_& m);

}  // namespace cwfilter::py
