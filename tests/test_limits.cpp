// Documented limits (issue 9): SECURITY.md, `cwfilter limits` and `cwfilter run --help` state each
// limit's actual value (so they cannot drift from the code), 1024-character patterns at every
// nesting limit are compiled or rejected with an in-bounds offset, and the dimension cardinality
// of a metric is tracked within its bound.
#include "support.hpp"

#include "cli/util.hpp"
#include "regex/cw_regex.hpp"

#include <cwfilter/metrics.hpp>
#include <cwfilter/pattern.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <sstream>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

std::string command_output(const std::string& args) {
  std::string out;
  std::FILE* p = ::popen((std::string("'") + CWFILTER_CLI_PATH + "' " + args + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Lines of SECURITY.md that name `knob` (its last component, e.g. `max_pattern_length`).
std::vector<std::string> lines_naming(const std::string& text, const std::string& knob) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find(knob) != std::string::npos) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("SECURITY.md, cwfilter limits and run --help state every limit's actual value", "[limits]") {
  const std::string security = test::slurp(test::source_path("SECURITY.md"));
  REQUIRE(!security.empty());
  const auto table = cli::limit_table();
  REQUIRE(table.size() >= 15);
  for (const auto& limit : table) {
    INFO(limit.what << ": " << limit.value << " (" << limit.where << ")");
    // The table row of SECURITY.md that names the knob states the value the code uses.
    auto rows = lines_naming(security, "`" + limit.where + "`");
    REQUIRE(!rows.empty());
    // | what | default | where | at the limit |: the default cell starts with the value, and the
    // value is not the prefix of a larger number (3 versus 30).
    bool stated = false;
    for (const auto& row : rows) {
      std::vector<std::string> cells;
      std::size_t pos = 0;
      while ((pos = row.find('|', pos)) != std::string::npos) {
        std::size_t next = row.find('|', pos + 1);
        if (next == std::string::npos) break;
        std::string cell = row.substr(pos + 1, next - pos - 1);
        cell.erase(0, cell.find_first_not_of(' '));
        cells.push_back(cell);
        pos = next;
      }
      if (cells.size() < 3) continue;
      const std::string& dflt = cells[1];
      stated = stated || (dflt.rfind(limit.value, 0) == 0 &&
                          (dflt.size() == limit.value.size() || !std::isdigit(static_cast<unsigned char>(dflt[limit.value.size()]))));
    }
    CHECK(stated);
  }
  // The listing is generated from the same defaults (spot-check against the constants themselves).
  CHECK(cli::size_text(Options{}.max_event_bytes) == "1 MiB");
  CHECK(cli::count_text(100000) == "100,000");
  CHECK(detail::regex_options().max_mem() == static_cast<std::int64_t>(limits::kMaxRegexProgramBytes));

  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const std::string listing = command_output("limits");
  const std::string help = command_output("run --help");
  for (const auto& limit : table) {
    INFO(limit.where);
    CHECK(listing.find(limit.value + " (" + limit.where + ")") != std::string::npos);
    CHECK(help.find(limit.value + " (" + limit.where + ")") != std::string::npos);
  }
}

namespace {

// Compiles `pattern` (1024 characters unless said otherwise): it either compiles and can be
// matched against `event` (compiled and reference evaluators agree), or is rejected with a message
// and an offset inside the pattern (or at its end).
void compiled_or_rejected(const std::string& pattern, const std::string& event,
                          std::optional<ErrorCode> expected_error = std::nullopt) {
  INFO("pattern of " << pattern.size() << " bytes: " << pattern.substr(0, 60) << "...");
  auto r = compile(pattern);
  if (expected_error) {
    REQUIRE(!r.ok());
    CHECK(r.error().code == *expected_error);
  }
  if (r.ok()) {
    CHECK(r.value().matches(event) == reference::match(r.value().ast(), event).matched);
    return;
  }
  CHECK(!r.error().message.empty());
  // In bounds: a character of the pattern, or its end (an unterminated quote or bracket).
  CHECK(r.error().offset <= pattern.size());
  CHECK(r.error().message.find(std::to_string(r.error().offset)) != std::string::npos);
  CHECK(!format_error(pattern, r.error()).empty());
}

std::string pad_to(std::string pattern, std::size_t size, std::size_t at, char fill) {
  if (pattern.size() < size) pattern.insert(at, size - pattern.size(), fill);
  return pattern;
}

}  // namespace

TEST_CASE("1024-character patterns at every nesting limit are compiled or rejected in bounds", "[limits]") {
  const Options options;
  const std::size_t max_len = options.max_pattern_length;
  REQUIRE(max_len == 1024);

  SECTION("JSON parenthesis nesting: at the limit, one over, and as deep as 1024 characters allow") {
    auto nested = [](std::size_t depth) {
      return "{ " + std::string(depth, '(') + "$.a = 1" + std::string(depth, ')') + " }";
    };
    const std::string event = R"({"a":1})";
    // At the limit: compiles, and matches.
    std::string at_limit = nested(options.max_nesting);
    REQUIRE(at_limit.size() <= max_len);
    auto ok = compile(at_limit);
    REQUIRE(ok.ok());
    CHECK(ok.value().matches(event));
    compiled_or_rejected(nested(options.max_nesting + 1), event, ErrorCode::kNestingTooDeep);
    std::size_t deepest = (max_len - nested(0).size()) / 2;
    std::string full = nested(deepest);
    REQUIRE(full.size() <= max_len);
    REQUIRE(full.size() + 2 > max_len);
    compiled_or_rejected(full, event, ErrorCode::kNestingTooDeep);
    // Unbalanced: only opening parentheses, 1024 characters.
    compiled_or_rejected("{ " + std::string(max_len - 4, '(') + " }", event);
    // One character over the length limit: the length is checked first.
    compiled_or_rejected(pad_to(nested(options.max_nesting), max_len + 1, 2, ' '), event, ErrorCode::kPatternTooLong);
  }

  SECTION("JSON selectors 1024 characters deep") {
    std::string path = "{ $";
    while (path.size() + 9 < max_len) path += ".a";
    std::string pattern = path + " = 1 }";
    pattern = pad_to(pattern, max_len, 2, ' ');
    std::string deep_event;
    std::size_t levels = (path.size() - 3) / 2;
    for (std::size_t i = 0; i < levels; ++i) deep_event += "{\"a\":";
    deep_event += "1" + std::string(levels, '}');
    compiled_or_rejected(pattern, deep_event);
    std::string indexed = "{ $.a";
    while (indexed.size() + 10 < max_len) indexed += "[0]";
    compiled_or_rejected(pad_to(indexed + " = 1 }", max_len, 2, ' '), R"({"a":[[[1]]]})");
    compiled_or_rejected(pad_to("{ $.a[*]" + std::string(max_len, ']'), max_len, 2, ' ').substr(0, max_len), "{}");
  }

  SECTION("space-delimited: as many fields as 1024 characters hold, and unbalanced brackets") {
    std::string fields = "[";
    for (int i = 0; fields.size() + 8 < max_len; ++i) fields += fmt::format("f{},", i);
    fields += "x]";
    fields = pad_to(fields, max_len, 1, ' ');
    compiled_or_rejected(fields, "a b c d e");
    compiled_or_rejected(std::string(max_len, '['), "a b");
    compiled_or_rejected("[" + std::string(max_len - 2, ' ') + "]", "a b");
    std::string conditions = "[a = 1";
    while (conditions.size() + 10 < max_len) conditions += " || a = 1";
    compiled_or_rejected(pad_to(conditions + "]", max_len, 1, ' '), "1 2");
  }

  SECTION("regex: 1024 characters of literal, of groups and of alternatives") {
    compiled_or_rejected("%" + std::string(max_len - 2, 'a') + "%", std::string(2000, 'a'));
    const std::size_t groups = (max_len - 3) / 2;
    compiled_or_rejected("%" + std::string(groups, '(') + "a" + std::string(groups, ')') + "%", "xax");
    std::string alternatives = "%a";
    while (alternatives.size() + 3 < max_len) alternatives += "|a";
    compiled_or_rejected(pad_to(alternatives + "%", max_len, 1, 'a'), "b a");
    std::string repeated = "%";
    while (repeated.size() + 6 < max_len) repeated += "(a*)*";
    compiled_or_rejected(pad_to(repeated + "b%", max_len, 1, 'a'), std::string(10000, 'a'));
    compiled_or_rejected(pad_to("{ $.a = %" + std::string(groups - 6, '(') + "a" + std::string(groups - 6, ')') + "% }",
                                max_len, 2, ' '),
                         R"({"a":"a"})");
  }

  SECTION("terms: one term, quoted, and as many terms as fit") {
    compiled_or_rejected(std::string(max_len, 'a'), std::string(max_len, 'a'));
    compiled_or_rejected("\"" + std::string(max_len - 2, 'b') + "\"", "b");
    std::string terms;
    while (terms.size() + 3 <= max_len) terms += "?a ";
    compiled_or_rejected(pad_to(terms, max_len, 0, ' '), "a");
    std::string excluded;
    while (excluded.size() + 3 <= max_len) excluded += "-a ";
    compiled_or_rejected(pad_to(excluded, max_len, 0, ' '), "b");
    compiled_or_rejected("\"" + std::string(max_len - 1, 'c'), "c");  // unterminated quote
  }
}

TEST_CASE("Dimension cardinality: distinct dimension sets per metric and hour reach the limit once", "[limits]") {
  MetricStoreOptions options;
  options.dimension_sets_per_hour_limit = 10;
  MetricStore store(options);
  const std::int64_t hour = 1793577600000;  // 2026-11-02T00:00:00Z
  auto add = [&](const std::string& ns, const std::string& user, std::int64_t t) {
    REQUIRE(store.add_value(MetricKey(ns, "Failures", {{"User", user}}), StandardUnit::kCount, t, 1).ok());
  };
  // 9 users, each many times: below the limit.
  for (int rep = 0; rep < 3; ++rep)
    for (int u = 0; u < 9; ++u) add("Sec", fmt::format("u{}", u), hour + rep * 60000 + u);
  CHECK(store.dimension_cardinality_excess_count() == 0);
  // The 10th distinct set reaches it; more sets in the same hour are not counted again.
  add("Sec", "u9", hour + 1000);
  REQUIRE(store.dimension_cardinality_excess_count() == 1);
  for (int u = 10; u < 50; ++u) add("Sec", fmt::format("u{}", u), hour + 2000);
  CHECK(store.dimension_cardinality_excess_count() == 1);
  REQUIRE(store.dimension_cardinality_excesses().size() == 1);
  CHECK(store.dimension_cardinality_excesses()[0] == DimensionCardinalityExcess{"Sec", "Failures", hour});
  // The next hour starts from zero; another namespace is another metric.
  for (int u = 0; u < 9; ++u) add("Sec", fmt::format("u{}", u), hour + 3600000 + u);
  CHECK(store.dimension_cardinality_excess_count() == 1);
  for (int u = 0; u < 10; ++u) add("Other", fmt::format("u{}", u), hour + 3600000 + u);
  CHECK(store.dimension_cardinality_excess_count() == 2);
  // Metrics without dimensions are never counted; the data is stored in every case.
  for (int i = 0; i < 100; ++i)
    REQUIRE(store.add_value(MetricKey("Sec", "Plain"), StandardUnit::kCount, hour + i, 1).ok());
  CHECK(store.dimension_cardinality_excess_count() == 2);
  CHECK(store.query(MetricKey("Sec", "Failures", {{"User", "u49"}}), std::nullopt, hour, hour + 3600000)->sum == 1);
  // Bound: only the newest kDimensionTrackingHours hours are tracked; far older ones are not counted.
  REQUIRE(kDimensionTrackingHours == 3);
  add("Sec", "u0", hour + 2 * 3600000);
  for (int u = 0; u < 20; ++u) add("Sec", fmt::format("old{}", u), hour - 10 * 3600000);
  CHECK(store.dimension_cardinality_excess_count() == 2);
  // 0 turns tracking off.
  MetricStoreOptions off;
  off.dimension_sets_per_hour_limit = 0;
  MetricStore untracked(off);
  for (int u = 0; u < 2000; ++u)
    REQUIRE(untracked.add_value(MetricKey("Sec", "F", {{"User", std::to_string(u)}}), StandardUnit::kCount, hour, 1).ok());
  CHECK(untracked.dimension_cardinality_excess_count() == 0);
}

TEST_CASE("cwfilter run reports dimension cardinality on stderr and in the summary", "[limits]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("cwfilter-cardinality-{}", ::getpid());
  fs::create_directories(dir);
  {
    std::ofstream config(dir / "config.json");
    config << R"({"metricFilters":[{"filterName":"per-user","logGroupName":"g",
      "filterPattern":"{ $.eventName = \"ConsoleLogin\" }",
      "metricTransformations":[{"metricName":"Logins","metricNamespace":"Sec","metricValue":"1",
                                "dimensions":{"User":"$.user"}}]}]})";
    std::ofstream input(dir / "in.jsonl");
    // 1,200 users in the first hour (one excess), 10 in the second (none).
    for (int i = 0; i < 1200; ++i)
      input << fmt::format(R"({{"eventName":"ConsoleLogin","user":"u{}","eventTime":"2026-11-02T00:{:02d}:{:02d}Z"}})", i,
                           i / 60 % 60, i % 60)
            << "\n";
    for (int i = 0; i < 10; ++i)
      input << fmt::format(R"({{"eventName":"ConsoleLogin","user":"v{}","eventTime":"2026-11-02T01:30:{:02d}Z"}})", i, i)
            << "\n";
  }
  const std::string base = "run --quiet --dead-letter /dev/null --config '" + (dir / "config.json").string() + "' '" +
                           (dir / "in.jsonl").string() + "'";
  const std::string text = command_output(base);
  CHECK(text.find("warning: metric filter per-user (Sec/Logins) published 1000 distinct dimension value combinations "
                  "in the hour from 2026-11-02T00:00:00Z") != std::string::npos);
  CHECK(text.find("dimension cardinality: 1 metric-hours reached 1000") != std::string::npos);
  const std::string json = command_output(base + " --summary-format json");
  CHECK(json.find(R"("dimensionCardinalityExcesses":1,)") != std::string::npos);
  CHECK(json.find(R"({"filterNames":"per-user","metricNamespace":"Sec","metricName":"Logins","hour":"2026-11-02T00:00:00Z","distinctDimensionSets":1000})") !=
        std::string::npos);
  fs::remove_all(dir);
}
