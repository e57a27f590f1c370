// CloudWatch `%regex%` dialect: validation, translation to RE2, matching (filter-patterns.md §5,
// DECISIONS 8). Decisions where AWS is silent are documented in src/lib/regex/cw_regex.hpp.
#include "regex/cw_regex.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <re2/re2.h>

#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

using cwfilter::CompileError;
using cwfilter::ErrorCode;
using cwfilter::ErrorContext;
using cwfilter::detail::regex_options;
using cwfilter::detail::translate_regex;

namespace {

// Translates a standalone pattern "%body%" (body at offset 1).
cwfilter::Result<std::string, CompileError> translate_body(std::string_view body) {
  const std::string pattern = "%" + std::string(body) + "%";
  return translate_regex(pattern, 1, body.size(), ErrorContext::kMetricFilter);
}

// Does the CloudWatch regex `body` find a match in `subject`? Fails the test if the body is rejected.
bool search(std::string_view body, std::string_view subject) {
  auto translated = translate_body(body);
  INFO("body: " << body);
  if (!translated.ok()) FAIL("rejected: " << translated.error().message);
  RE2 re(translated.value(), regex_options());
  REQUIRE(re.ok());
  return RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), re);
}

std::string trim_ascii(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

TEST_CASE("regex bodies translate to the expected RE2 text", "[regex]") {
  struct Row {
    const char* body;
    const char* re2;
  };
  const Row rows[] = {
      {"AUTHORIZED", "AUTHORIZED"},
      {"^[hc]at", "^[hc]at"},
      {"[hc]at$", "[hc]at$"},
      {"colou?r", "colou?r"},
      {"a{3,5}", "a{3,5}"},
      {"a{3,}", "a{3,}"},
      {"a{,2}b", "a{0,2}b"},               // {,n} = {0,n} (DECISIONS 8)
      {"a{007}", "a{7}"},                  // counts normalised
      {"gra|ey", "gra|ey"},
      {"\\[.\\]", "\\[.\\]"},              // escaped operators stay escaped
      {"10\\.10", "10\\.10"},
      {"\\x28", "\\x28"},                  // \xhh kept
      {"\\d\\D\\w\\W", "\\d\\D\\w\\W"},
      {"\\s\\S", "[[:space:]][[:^space:]]"},
      {"[\\s\\d]", "[[:space:]\\d]"},
      {"[a\\S]", "[a[:^space:]]"},
      {"\\:\\_\\#\\=\\@\\/\\;\\,\\-\\ ", ":_#=@/;,- "},  // escaped symbols are themselves
      {"\\{\\}\\|\\*\\+\\?\\^\\$\\\\", "\\{\\}\\|\\*\\+\\?\\^\\$\\\\"},
      {"[.$*+?{}|^]", "[\\.\\$\\*\\+\\?\\{\\}\\|\\^]"},  // operators are literal inside a class
      {"[^a-z_ ]", "[^a-z_ ]"},
      {"[-a]", "[\\-a]"},
      {"[a-]", "[a\\-]"},
      {"[\\]\\[]", "[\\]\\[]"},
      {"[\\x41-\\x43]", "[\\x41-\\x43]"},
      {"a*?b+?", "a*?b+?"},                // lazy quantifiers accepted
      {"^starting|^shutting down", "^starting|^shutting down"},
      {"Status: timeout", "Status: timeout"},
      {"#=@/;,", "#=@/;,"},
  };
  for (const auto& row : rows) {
    INFO("body: " << row.body);
    auto translated = translate_body(row.body);
    REQUIRE(translated.ok());
    CHECK(translated.value() == row.re2);
  }
}

TEST_CASE("regex bodies match subjects like CloudWatch", "[regex]") {
  struct Row {
    const char* body;
    std::string subject;
    bool match;
  };
  const Row rows[] = {
      {"AUTHORIZED", "[ERROR 401] UNAUTHORIZED REQUEST", true},  // unanchored search
      {"^[hc]at", "the cat", false},
      {"^[hc]at", "hat trick", true},
      {"[hc]at$", "the hat", true},
      {"[hc]at$", "the hat\n", false},         // $ is the end of the string, not before a final \n
      {"^b", "a\nb", false},                   // ^ is not per line
      {"a$", "a\nb", false},
      {"a.b", "a\nb", false},                  // . does not match \n (DECISIONS 8)
      {"a.b", "a\rb", true},
      {"^.$", "\xC3\xA9", true},               // . is one UTF-8 character
      {"^[^a]$", "\xC3\xA9", true},
      {"\\xE9", "caf\xC3\xA9", true},          // \xhh is the code point
      {"a{,2}b", "b", true},
      {"^a{,2}b", "aaab", false},
      {"a{3,5}", "aa", false},
      {"a{3}", "baaab", true},
      {"gra|ey", "grey", true},
      {"gra|ey", "gruy", false},
      {"abcc|ab[^c]$", "aba", true},
      {"abcc|ab[^c]$", "aac", false},
      {"\\[.\\]", "[ ]", true},
      {"\\[.\\]", "[ab]", false},
      {"10.10.0.1", "10010,051", true},
      {"10\\.10\\.0\\.1", "10010,051", false},
      {"\\x28", "f(x)", true},
      {"\\x3A", "a:b", true},
      {"\\d", "abc", false},
      {"\\d", "a1", true},
      {"\\D", "123", false},
      {"\\s", "a\tb", true},
      {"\\s", "a\nb", true},
      {"\\s", "a\rb", true},                   // \s includes \r \f \v (decision)
      {"\\s", "a\vb", true},
      {"\\s", "ab", false},
      {"\\S", "   ", false},
      {"\\w", "...", false},
      {"\\w", "_", true},
      {"\\W", "abc_123", false},
      {"\\w", "\xC3\xA9", false},              // \w is ASCII only
      {"[Ee]rror|[Ff]ail", "ERROR", false},    // case sensitive
      {"[Ee]rror|[Ff]ail", "Fail", true},
      {"[.]", "a", false},                     // '.' literal inside a class
      {"[$]", "cost $5", true},
      {"[a-]", "-", true},
      {"a*?b", "xb", true},
      {"\\$", "US$", true},
      {"\\\\", "C:\\dir", true},
      {"\\ ", "a b", true},
      {"^", "", true},
      {"Task timed out after|^REPORT\\s.+\\sStatus: timeout",
       "REPORT RequestId: 1 Duration: 3000.00 ms Status: timeout", true},
  };
  for (const auto& row : rows) {
    INFO("body: " << row.body << "  subject: " << row.subject);
    CHECK(search(row.body, row.subject) == row.match);
  }
}

TEST_CASE("bad regex bodies are rejected with the right code and offset", "[regex]") {
  struct Row {
    const char* body;
    ErrorCode code;
    std::size_t offset;  // into "%body%"
  };
  constexpr auto kChar = ErrorCode::kRegexInvalidCharacter;
  constexpr auto kSyntax = ErrorCode::kRegexSyntax;
  const Row rows[] = {
      {"(foo)", kChar, 1},
      {"foo\\(", kChar, 5},          // escaped '(' is still rejected
      {"a)", kChar, 2},
      {"something!", kChar, 10},
      {"a%b", kChar, 2},
      {"it's", kChar, 3},
      {"\"q\"", kChar, 1},
      {"caf\xC3\xA9", kChar, 4},     // multi-byte character, first byte
      {"a\tb", kChar, 2},            // tab (decision)
      {"a\nb", kChar, 2},
      {"a&b", kChar, 2},
      {"[(]", kChar, 2},             // inside a class too
      {"[a", kSyntax, 1},             // unterminated class
      {"", kSyntax, 0},              // %% (DECISIONS 8): reported at the opening '%'
      {"[]", kSyntax, 2},
      {"[^]", kSyntax, 3},
      {"a]", kSyntax, 2},
      {"a}", kSyntax, 2},
      {"a{2,1}", kSyntax, 2},
      {"a{", kSyntax, 2},
      {"a{}", kSyntax, 2},
      {"a{,}", kSyntax, 2},
      {"a{x}", kSyntax, 2},
      {"a{1,2", kSyntax, 2},
      {"a{1001}", kSyntax, 2},
      {"a{99999999999999999999}", kSyntax, 2},
      {"*a", kSyntax, 1},
      {"a|+b", kSyntax, 3},
      {"{2}", kSyntax, 1},
      {"a**", kSyntax, 3},
      {"a*+", kSyntax, 3},           // possessive
      {"a{2}{3}", kSyntax, 5},
      {"a*??", kSyntax, 4},
      {"^*", kSyntax, 2},
      {"a$+", kSyntax, 3},
      {"abc\\", kSyntax, 4},         // trailing backslash
      {"\\b", kSyntax, 1},
      {"a\\t", kSyntax, 2},
      {"\\n", kSyntax, 1},
      {"\\B", kSyntax, 1},
      {"\\p", kSyntax, 1},
      {"\\1", kSyntax, 1},
      {"\\x4", kSyntax, 1},
      {"\\x4g", kSyntax, 1},
      {"\\x", kSyntax, 1},
      {"[z-a]", kSyntax, 2},
      {"[\\d-z]", kSyntax, 4},
      {"[a[b]", kSyntax, 3},
      {"[a\\q]", kSyntax, 3},
      {"|a", kSyntax, 1},
      {"a|", kSyntax, 2},
      {"a||b", kSyntax, 3},
  };
  for (const auto& row : rows) {
    INFO("body: " << row.body);
    auto translated = translate_body(row.body);
    REQUIRE_FALSE(translated.ok());
    CHECK(translated.error().code == row.code);
    CHECK(translated.error().offset == row.offset);
  }
}

TEST_CASE("regex error messages carry AWS's wording and the reason", "[regex]") {
  auto paren = translate_body("(foo)");
  REQUIRE_FALSE(paren.ok());
  CHECK(paren.error().message ==
        "Invalid character(s) in term: '(' and ')' are not supported (parentheses cannot group; use \\x28 to "
        "match a literal '(') at offset 1");
  CHECK(paren.error().fragment == "(foo)%");

  const std::string pattern = "%a{2,1}%";
  auto metric = translate_regex(pattern, 1, 6, ErrorContext::kMetricFilter);
  REQUIRE_FALSE(metric.ok());
  CHECK(metric.error().message.rfind("Invalid metric filter pattern: ", 0) == 0);
  auto logs = translate_regex(pattern, 1, 6, ErrorContext::kFilterLogEvents);
  REQUIRE_FALSE(logs.ok());
  CHECK(logs.error().message.rfind("Invalid filter pattern: ", 0) == 0);
  CHECK(logs.error().message.find("at offset 2") != std::string::npos);

  auto huge = translate_body("a{99999999999999999999}");
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().message ==
        "Invalid metric filter pattern: repetition count 99999999999999999999 exceeds 1000 at offset 2");
  auto tab = translate_body("a\\tb");
  REQUIRE_FALSE(tab.ok());
  CHECK(tab.error().message.find("unsupported escape '\\t'") != std::string::npos);
}

TEST_CASE("regex offsets are relative to the whole pattern", "[regex]") {
  // A regex embedded in a JSON pattern: body "Tr(ail" starts at offset 10.
  const std::string pattern = "{ $.a = %Tr(ail% }";
  auto translated = translate_regex(pattern, 9, 6, ErrorContext::kMetricFilter);
  REQUIRE_FALSE(translated.ok());
  CHECK(translated.error().code == ErrorCode::kRegexInvalidCharacter);
  CHECK(translated.error().offset == 11);

  const std::string ok_pattern = "[w1=%WARN%, w2]";
  auto ok = translate_regex(ok_pattern, 5, 4, ErrorContext::kMetricFilter);
  REQUIRE(ok.ok());
  CHECK(ok.value() == "WARN");
}

TEST_CASE("regex: a backtracking-hostile expression runs in linear time", "[regex]") {
  const std::string subject(1 << 20, 'a');
  CHECK_FALSE(search("a*a*a*a*a*a*a*a*a*a*b", subject));
  CHECK_FALSE(search("^.*.*.*.*.*=$", subject));
  CHECK(search("a*a*a*a*a*a*a*a*a*a*$", subject));
}

TEST_CASE("regex cases of the spec's patterns.jsonl", "[regex]") {
  const std::string path = std::string(CWFILTER_SHARED_DIR) + "/spec/cases/patterns.jsonl";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  int matched_cases = 0;
  int invalid_cases = 0;
  while (std::getline(in, line)) {
    if (trim_ascii(line).empty()) continue;
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    REQUIRE_FALSE(doc.HasParseError());
    const std::string family = doc["family"].GetString();
    const std::string raw_pattern = doc["pattern"].GetString();
    const std::string pattern = trim_ascii(raw_pattern);
    // Only standalone %...% patterns; regexes inside JSON / space patterns belong to the compiler.
    if (pattern.size() < 2 || pattern.front() != '%' || pattern.back() != '%') continue;
    if (family != "regex" && family != "invalid") continue;
    const std::size_t body_offset = raw_pattern.find('%') + 1;
    INFO(doc["id"].GetString() << ": " << raw_pattern);
    auto translated =
        translate_regex(raw_pattern, body_offset, pattern.size() - 2, ErrorContext::kMetricFilter);
    if (family == "invalid") {
      CHECK_FALSE(translated.ok());
      ++invalid_cases;
      continue;
    }
    REQUIRE(translated.ok());
    RE2 re(translated.value(), regex_options());
    REQUIRE(re.ok());
    const std::string event = doc["event"].GetString();
    INFO("event: " << event);
    CHECK(RE2::PartialMatch(event, re) == doc["match"].GetBool());
    ++matched_cases;
  }
  // The public share holds ~50 standalone regex cases; guard against silently skipping them all.
  CHECK(matched_cases >= 40);
  CHECK(invalid_cases >= 1);
}

TEST_CASE("compile_regex returns the program translate_regex validates", "[regex]") {
  const std::string pattern = "%^REPORT\\s.+\\sStatus: timeout$%";
  auto program = cwfilter::detail::compile_regex(pattern, 1, pattern.size() - 2,
                                                 ErrorContext::kMetricFilter);
  REQUIRE(program.ok());
  CHECK(RE2::PartialMatch("REPORT RequestId: 1 Status: timeout", *program.value()));
  CHECK_FALSE(RE2::PartialMatch("REPORT RequestId: 1 Status: timeout\n", *program.value()));
  CHECK_FALSE(RE2::PartialMatch(" REPORT x Status: timeout", *program.value()));

  const std::string bad = "%a{2,1}%";
  auto rejected = cwfilter::detail::compile_regex(bad, 1, 6, ErrorContext::kMetricFilter);
  REQUIRE_FALSE(rejected.ok());
  auto also_rejected = translate_regex(bad, 1, 6, ErrorContext::kMetricFilter);
  REQUIRE_FALSE(also_rejected.ok());
  CHECK(rejected.error().code == ErrorCode::kRegexSyntax);
  CHECK(rejected.error().message == also_rejected.error().message);
}

TEST_CASE("regex: RE2's program-size limit is reported as a syntax error", "[regex]") {
  // 100 x ".{1000}" stays under 1024 bytes but compiles to a program far above RE2's max_mem.
  std::string body;
  for (int i = 0; i < 100; ++i) body += ".{1000}";
  auto translated = translate_body(body);
  REQUIRE_FALSE(translated.ok());
  CHECK(translated.error().code == ErrorCode::kRegexSyntax);
  CHECK(translated.error().offset == 1);
  CHECK(translated.error().message.find("RE2 rejected") != std::string::npos);
}
