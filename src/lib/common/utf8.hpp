// Appending a code point as UTF-8 (RapidJSON's encoder), for the JSON-escape decoders.
#pragma once

#include <rapidjson/encodings.h>

#include <string>

namespace cwfilter::detail {

inline void append_utf8(std::string& out, unsigned code_point) {
  struct Sink {
    std::string& s;
    void Put(char c) { s += c; }
  } sink{out};
  rapidjson::UTF8<char>::Encode(sink, code_point);
}

}  // namespace cwfilter::detail
