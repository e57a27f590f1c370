// The `%regex%` family cross-checked independently: the reference evaluator (reference.cpp) reuses
// translate_regex and RE2, so it cannot catch a translation mistake. Here generated regexes of the
// dialect (filter-patterns.md §5) and generated messages go both through cwfilter::compile and
// through tests/support/naive_regex.hpp, a backtracking interpreter written from the spec that
// shares no code with src/lib/regex. Standalone `%regex%` patterns, and the same regex as a JSON
// value (`{ $.a = %regex% }`, searched in the string value). Fixed seed: a failure reproduces.
#include "support/naive_regex.hpp"

#include <cwfilter/cwfilter.hpp>

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <random>
#include <string>
#include <vector>

using cwfilter::test::naive_regex::search;

namespace {

// A generated regex branch item: its text and one character (UTF-8) it matches, when known, to
// build messages that match.
struct Atom {
  std::string text;
  std::string sample;  // empty: no sample (anchor, or a negated class)
  bool anchor = false;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

  // A structured regex: 1-3 branches of 1-5 atoms, some quantified. `samples` gets, per branch,
  // a message the branch should match (before anchors are taken into account).
  std::string structured(std::vector<std::string>& samples) {
    std::string re;
    const std::size_t n_branches = 1 + below(chance(0.7) ? 1 : 3);
    for (std::size_t b = 0; b < n_branches; ++b) {
      if (b) re += '|';
      std::string sample;
      const std::size_t n_atoms = 1 + below(5);
      for (std::size_t a = 0; a < n_atoms; ++a) {
        Atom atom = next_atom(a == 0, a + 1 == n_atoms);
        re += atom.text;
        if (atom.anchor) continue;
        std::size_t min = 1, max = 1;
        if (chance(0.4)) re += quantifier(min, max);
        const std::size_t reps = min + below(std::min<std::size_t>(max, min + 2) - min + 1);
        for (std::size_t r = 0; r < reps; ++r) sample += atom.sample.empty() ? std::string("x") : atom.sample;
      }
      samples.push_back(sample);
    }
    return re;
  }

  // A regex of random characters from the dialect's set: odd syntax the structured generator
  // never writes (most are rejected by compile() and skipped).
  std::string raw() {
    static const std::string kChars = "ab1_:#=@/;,- ^$?[]{}|\\*+.dswx0";
    std::string re;
    const std::size_t n = 1 + below(8);
    for (std::size_t i = 0; i < n; ++i) re += kChars[below(kChars.size())];
    return re;
  }

  // A message: random valid UTF-8 (ASCII, control and multi-byte characters), sometimes around `core`.
  // Only valid UTF-8: on an invalid byte the two disagree (RE2 lets no `.`, `[^..]` or `\S` match
  // it; the naive matcher reads it as U+FFFD, as a Java string would hold it). Not settled yet.
  std::string message(const std::string& core) {
    static const std::vector<std::string> kPieces = {
        "a", "b", "c", "A", "B", "x", "0", "1", "9", "_", "-", ":", " ", ".", "*", "[", "]", "{", "}", "|",
        "^", "$", "\\", "\n", "\t", "\r", "\v", "\f", "\xc3\xa9" /* é */, "\xe4\xb8\xad" /* 中 */,
        "\xf0\x9f\x98\x80" /* emoji */, "%", "(", ")", "!", "\"", "'"};
    auto noise = [&](std::size_t max_len) {
      std::string s;
      const std::size_t n = below(max_len + 1);
      for (std::size_t i = 0; i < n; ++i) s += pick(kPieces);
      return s;
    };
    if (core.empty() || chance(0.3)) return noise(12);
    std::string s = core;
    if (chance(0.2) && !s.empty()) {  // a near miss: one ASCII character dropped (UTF-8 stays valid)
      const std::size_t i = below(s.size());
      if (static_cast<unsigned char>(s[i]) < 0x80) s.erase(i, 1);
    }
    if (chance(0.5)) s = noise(4) + s;
    if (chance(0.5)) s += noise(4);
    return s;
  }

 private:
  Atom next_atom(bool first, bool last) {
    const std::size_t kind = below(100);
    if (kind < 35) {
      static const std::vector<char> kLiterals = {'a', 'b', 'c', 'A', '0', '1', '_', '-', ':', '#', '=',
                                                  '@', '/', ';', ',', ' '};
      const char c = pick(kLiterals);
      return {std::string(1, c), std::string(1, c)};
    }
    if (kind < 45) return {".", pick(std::vector<std::string>{"a", "Z", " ", "\t", "\xc3\xa9", "."})};
    if (kind < 65) return escape();
    if (kind < 88) return character_class();
    if (first && chance(0.5)) return {"^", "", true};
    if (last) return {"$", "", true};
    return {"^", "", true};  // mid-branch anchor: only matches at the very start
  }

  Atom escape() {
    static const std::vector<Atom> kEscapes = {
        {"\\d", "7"},        {"\\D", "a"},  {"\\w", "_"},   {"\\W", "-"},  {"\\s", " "},
        {"\\s", "\t"},       {"\\s", "\n"}, {"\\S", "x"},   {"\\x61", "a"}, {"\\x41", "A"},
        {"\\x20", " "},      {"\\x09", "\t"}, {"\\x0A", "\n"}, {"\\x2e", "."}, {"\\x28", "("},
        {"\\xE9", "\xc3\xa9"}, {"\\.", "."}, {"\\*", "*"},  {"\\[", "["},  {"\\]", "]"},
        {"\\{", "{"},        {"\\}", "}"},  {"\\|", "|"},   {"\\^", "^"},  {"\\$", "$"},
        {"\\\\", "\\"},      {"\\+", "+"},  {"\\?", "?"},   {"\\-", "-"},  {"\\ ", " "},
        {"\\:", ":"},        {"\\/", "/"}};
    return pick(kEscapes);
  }

  Atom character_class() {
    struct Item {
      std::string text, sample;
    };
    static const std::vector<Item> kItems = {
        {"a", "a"},     {"b", "b"},         {"a-c", "b"},     {"0-9", "5"}, {"A-Z", "Q"},  {"\\d", "3"},
        {"\\s", " "},   {"\\w", "w"},       {"\\W", "%"},     {"\\S", "s"}, {"\\D", "d"},  {"\\x41-\\x43", "B"},
        {"\\]", "]"},   {"\\[", "["},       {"\\-", "-"},     {".", "."},   {"*", "*"},    {"$", "$"},
        {"|", "|"},     {"{", "{"},         {" ", " "},       {"_", "_"},   {"\\\\", "\\"}, {"\\x0A", "\n"},
        {"\\xE9", "\xc3\xa9"}, {"#-/", "/"}};
    const bool negated = chance(0.3);
    std::string text = negated ? "[^" : "[";
    std::string sample;
    if (chance(0.1)) text += '-';  // a literal '-' first
    const std::size_t n = 1 + below(3);
    for (std::size_t i = 0; i < n; ++i) {
      const Item& item = pick(kItems);
      text += item.text;
      if (i == 0) sample = item.sample;
    }
    if (chance(0.1)) text += '-';  // a literal '-' last
    if (!negated && chance(0.1)) text += '^';  // '^' not first: literal
    text += ']';
    return {text, negated ? std::string() : sample};
  }

  std::string quantifier(std::size_t& min, std::size_t& max) {
    const std::size_t kind = below(8);
    const std::size_t m = below(4), n = m + below(4);
    std::string q;
    switch (kind) {
      case 0: q = "*", min = 0, max = 3; break;
      case 1: q = "+", min = 1, max = 3; break;
      case 2: q = "?", min = 0, max = 1; break;
      case 3: q = "{" + std::to_string(m) + "}", min = max = m; break;
      case 4: q = "{" + std::to_string(m) + ",}", min = m, max = m + 2; break;
      case 5: q = "{," + std::to_string(n) + "}", min = 0, max = n; break;
      case 6: q = "{" + std::to_string(m) + "," + std::to_string(n) + "}", min = m, max = n; break;
      default: q = "{0," + std::to_string(100 + below(900)) + "}", min = 0, max = 3; break;
    }
    if (chance(0.1)) q += '?';  // lazy
    return q;
  }

  std::mt19937 rng_;
};

// {"a": message}, the message as a JSON string.
std::string json_event(const std::string& message) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("a");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return buf.GetString();
}

}  // namespace

TEST_CASE("naive regex matcher: the dialect as §5 describes it", "[regex][naive-regex]") {
  // The test-only matcher itself, on the spec's own examples, before it judges the real one.
  CHECK(search("AUTHORIZED", "[ERROR 401] UNAUTHORIZED REQUEST"));
  CHECK(search("gra|ey", "grey"));
  CHECK(search("gra|ey", "gray"));
  CHECK_FALSE(search("gra|ey", "gry"));
  CHECK(search("10.10.0.1", "10010,051"));
  CHECK_FALSE(search("10\\.10\\.0\\.1", "10010,051"));
  CHECK(search("\\x28", "a(b"));
  CHECK(search("^starting|^initializing|^shutting down", "shutting down now"));
  CHECK_FALSE(search("^starting|^initializing|^shutting down", "now shutting down"));
  CHECK(search("a{,2}b$", "xb"));
  CHECK(search("^a{2,3}$", "aaa"));
  CHECK_FALSE(search("^a{2,3}$", "aaaa"));
  CHECK(search("[^a-c]", "\xc3\xa9"));
  CHECK(search("^.$", "\xc3\xa9"));
  CHECK_FALSE(search("^..$", "\xc3\xa9"));
  CHECK_FALSE(search("a.b", "a\nb"));
  CHECK(search("a\\sb", "a\nb"));
  CHECK(search("[Ee]rror", "error"));
  CHECK_FALSE(search("[Ee]rror", "ERROR"));
  CHECK(search("^\\xE9$", "\xc3\xa9"));
  CHECK(search("[-a]x", "-x"));
  CHECK(search("[a-]x", "-x"));
  CHECK_FALSE(search("a$", "a\n"));
  CHECK(search("a*?b", "b"));
}

TEST_CASE("regex differential: compiled matcher vs the naive matcher on generated regexes",
          "[regex][naive-regex]") {
  Generator gen(20261129);
  std::size_t regexes = 0, raw_regexes = 0, pairs = 0, matched = 0, rejected = 0;
  for (std::size_t round = 0; round < 4500; ++round) {
    std::vector<std::string> samples;
    const bool use_raw = round % 4 == 3;
    const std::string re = use_raw ? gen.raw() : gen.structured(samples);
    const std::string pattern = "%" + re + "%";
    auto compiled = cwfilter::compile(pattern);
    if (!compiled.ok()) {
      ++rejected;
      continue;  // outside the dialect: nothing to compare
    }
    ++regexes;
    raw_regexes += use_raw;
    INFO("regex: " << pattern);
    auto in_json = cwfilter::compile("{ $.a = " + pattern + " }");
    if (!in_json.ok()) {  // a regex the standalone form accepts is a valid JSON value too
      FAIL_CHECK("rejected as a JSON value: " << in_json.error().message);
      continue;
    }
    for (std::size_t m = 0; m < 8; ++m) {
      const std::string core = samples.empty() ? std::string() : samples[m % samples.size()];
      const std::string message = gen.message(core);
      const bool expected = search(re, message);
      const bool actual = compiled->matches(message);
      const bool actual_in_json = m % 2 == 0 && in_json->matches(json_event(message));
      if (expected != actual || (m % 2 == 0 && expected != actual_in_json)) {
        INFO("message: \"" << message << "\"\nnaive: " << expected << "  compiled: " << actual
                            << "  as a JSON value: " << actual_in_json);
        CHECK(expected == actual);
        if (m % 2 == 0) CHECK(expected == actual_in_json);
      }
      ++pairs;
      matched += expected;
    }
  }
  INFO(regexes << " regexes (" << raw_regexes << " raw), " << rejected << " rejected, " << pairs << " pairs, "
               << matched << " matched");
  // The generators must keep exercising the dialect: enough accepted regexes, of both kinds, and
  // both verdicts well represented.
  CHECK(regexes >= 3000);
  CHECK(raw_regexes >= 100);
  CHECK(matched >= pairs / 5);
  CHECK(pairs - matched >= pairs / 5);
}
