// `cwfilter test --metric-transformations` (issue 4 "Done when"): every metric_value case of
// spec/cases/patterns.jsonl through the built CLI, checked against the case's expected value,
// unit and dimensions (not against another implementation), in the response shape issue 4 gives:
// `{"eventNumber": n, "value": v, "unit": "...", "dimensions": {...}}` and nothing else. The
// invalid-transformation cases exit 1 with AWS's message.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

using namespace cwfilter;

namespace {

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}

// The names a case leaves out (they do not matter to the value): the list form the CLI takes.
std::string transformations_json(const rapidjson::Value& mt) {
  rapidjson::Document d;
  d.CopyFrom(mt, d.GetAllocator());
  if (!d.IsArray()) {
    rapidjson::Value one;
    one.CopyFrom(d, d.GetAllocator());
    d.SetArray();
    d.PushBack(one, d.GetAllocator());
  }
  for (auto& e : d.GetArray()) {
    if (!e.HasMember("metricName")) e.AddMember("metricName", "m", d.GetAllocator());
    if (!e.HasMember("metricNamespace")) e.AddMember("metricNamespace", "ns", d.GetAllocator());
  }
  return to_json(d);
}

std::filesystem::path work_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "cwfilter_cli_metric_data";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto path = work_dir() / name;
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// `cwfilter test` on one case: pattern, messages and transformations passed as files, so that no
// shell quoting is involved.
CliRun run_test(const std::string& id, const std::string& pattern, const std::string& messages_json,
                const std::string& transformations) {
  rapidjson::Document input(rapidjson::kObjectType);
  input.AddMember("filterPattern", rapidjson::Value(pattern.c_str(), input.GetAllocator()), input.GetAllocator());
  const std::string input_path = write_temp(id + ".input.json", to_json(input));
  const std::string messages_path = write_temp(id + ".messages.json", messages_json);
  const std::string mt_path = write_temp(id + ".mt.json", transformations);
  const std::string out_path = (work_dir() / (id + ".out")).string();
  const std::string err_path = (work_dir() / (id + ".err")).string();
  const std::string cmd = std::string("'") + CWFILTER_CLI_PATH + "' test --cli-input-json 'file://" + input_path +
                          "' --log-event-messages 'file://" + messages_path + "' --metric-transformations 'file://" +
                          mt_path + "' >'" + out_path + "' 2>'" + err_path + "'";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = test::slurp(out_path);
  r.err = test::slurp(err_path);
  return r;
}

// `expected` with "[...]" standing for text the case elides (a rendered value): every other piece
// must appear in `text`, in order.
bool contains_message(const std::string& text, const std::string& expected) {
  std::size_t at = 0, from = 0;
  while (true) {
    const std::size_t hole = expected.find("[...]", from);
    const std::string piece = expected.substr(from, hole == std::string::npos ? std::string::npos : hole - from);
    const std::size_t found = text.find(piece, at);
    if (found == std::string::npos) return false;
    at = found + piece.size();
    if (hole == std::string::npos) return true;
    from = hole + 5;
  }
}

}  // namespace

TEST_CASE("cwfilter test --metric-transformations: every metric_value case", "[metricfilter][cases][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) {
    WARN("CWFILTER_CLI_PATH is empty (CLI not built): skipping");
    return;
  }
  const auto cases = test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"));
  std::size_t expected_cases = 0, checked = 0, with_datapoint = 0;
  for (const auto& c : cases) expected_cases += test::str(c, "family") == "metric_value";
  REQUIRE(expected_cases >= 19);
  for (const auto& c : cases) {
    if (test::str(c, "family") != "metric_value") continue;
    const std::string id = test::str(c, "id");
    const auto& mt = c["metric_transformation"];
    // The case's event, then one that nothing in the case matches: with a defaultValue it
    // publishes that value as event 2, without one nothing.
    rapidjson::Document messages(rapidjson::kArrayType);
    messages.PushBack(rapidjson::Value(c["event"], messages.GetAllocator()), messages.GetAllocator());
    messages.PushBack("zzz", messages.GetAllocator());
    const CliRun r = run_test(id, test::str(c, "pattern"), to_json(messages), transformations_json(mt));
    INFO(id << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    rapidjson::Document out;
    out.Parse(r.out.c_str());
    REQUIRE(out.IsObject());
    REQUIRE(out.HasMember("matches"));
    // The match side agrees with the case.
    bool first_matched = false;
    for (const auto& m : out["matches"].GetArray()) first_matched |= m["eventNumber"].GetInt() == 1;
    CHECK(first_matched == c["match"].GetBool());

    REQUIRE(out.HasMember("metricData"));
    REQUIRE(out["metricData"].IsArray());
    const auto& data = out["metricData"];
    // Expected entries: event 1 per the case; event 2 ("zzz") only through defaultValue.
    struct Want {
      int event;
      double value;
    };
    std::vector<Want> want;
    if (!c["value"].IsNull()) want.push_back({1, c["value"].GetDouble()});
    if (mt.IsObject() && mt.HasMember("defaultValue")) want.push_back({2, mt["defaultValue"].GetDouble()});
    REQUIRE(data.Size() == want.size());
    const std::string unit = mt.HasMember("unit") ? mt["unit"].GetString() : "None";
    for (rapidjson::SizeType i = 0; i < data.Size(); ++i) {
      const auto& e = data[i];
      INFO("entry " << to_json(e));
      REQUIRE(e.IsObject());
      // Exactly issue 4's keys, in its order.
      std::vector<std::string> keys;
      for (auto it = e.MemberBegin(); it != e.MemberEnd(); ++it) keys.emplace_back(it->name.GetString());
      CHECK(keys == std::vector<std::string>{"eventNumber", "value", "unit", "dimensions"});
      CHECK(e["eventNumber"].GetInt() == want[i].event);
      REQUIRE(e["value"].IsNumber());
      CHECK(e["value"].GetDouble() == want[i].value);
      CHECK(std::string(e["unit"].GetString()) == unit);
      std::map<std::string, std::string> got_dims, want_dims;
      for (auto it = e["dimensions"].MemberBegin(); it != e["dimensions"].MemberEnd(); ++it)
        got_dims[it->name.GetString()] = it->value.GetString();
      if (want[i].event == 1 && c.HasMember("dimensions"))
        for (auto it = c["dimensions"].MemberBegin(); it != c["dimensions"].MemberEnd(); ++it)
          want_dims[it->name.GetString()] = it->value.GetString();
      CHECK(got_dims == want_dims);
    }
    with_datapoint += !c["value"].IsNull();
    ++checked;
  }
  CHECK(checked == expected_cases);
  CHECK(with_datapoint >= 15);
}

TEST_CASE("cwfilter test --metric-transformations: invalid transformations exit 1 with AWS's message",
          "[metricfilter][cases][cli]") {
  if (std::string(CWFILTER_CLI_PATH).empty()) return;
  const auto cases = test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl"));
  std::size_t expected_cases = 0, checked = 0;
  for (const auto& c : cases)
    expected_cases += test::str(c, "family") == "invalid" && c.HasMember("metric_transformation");
  REQUIRE(expected_cases >= 4);
  for (const auto& c : cases) {
    if (test::str(c, "family") != "invalid" || !c.HasMember("metric_transformation")) continue;
    const std::string id = test::str(c, "id");
    const CliRun r = run_test(id, test::str(c, "pattern"), "[\"x\"]", transformations_json(c["metric_transformation"]));
    INFO(id << "\nexpected: " << test::str(c, "error") << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(contains_message(r.err, test::str(c, "error")));
    ++checked;
  }
  CHECK(checked == expected_cases);
}
