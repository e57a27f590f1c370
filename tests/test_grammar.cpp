// Grammar analysis (no rule can loop without consuming input) and AST golden dumps.
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/grammar.hpp>

#include <catch2/catch.hpp>
#include <tao/pegtl/contrib/analyze.hpp>

#include <cstdlib>
#include <fstream>

using namespace cwfilter;

TEST_CASE("PEGTL grammar analysis finds no problems", "[grammar]") {
  CHECK(tao::pegtl::analyze<grammar::json::pattern>(-1) == 0);
  CHECK(tao::pegtl::analyze<grammar::space::pattern>(-1) == 0);
  CHECK(tao::pegtl::analyze<grammar::term::pattern>(-1) == 0);
  CHECK(tao::pegtl::analyze<grammar::regex::body>(-1) == 0);
}

// The regex body's syntax, character set included (filter-patterns.md §5.2), is the grammar's own:
// the pure rules accept the dialect and reject the rest without any action or hand-written check.
TEST_CASE("PEGTL regex grammar: the dialect's bodies and nothing else", "[grammar][regex]") {
  auto accepts = [](const std::string& body) {
    tao::pegtl::memory_input in(body, "regex");
    try {
      return tao::pegtl::parse<grammar::regex::body>(in);
    } catch (const tao::pegtl::parse_error&) {
      return false;
    }
  };
  for (const char* ok : {"AUTHORIZED", "gra|ey", "^starting|^initializing|^shutting down", "10\\.10\\.0\\.1",
                         "\\x28", "a{,2}b", "a{2,}", "a{0,1000}", "a{2}?", "a*?", "[^a-z0-9_-]+", "[-a]", "[a-]",
                         "[\\d\\s]", "\\[.\\]", "$", "a$|^b", "[Ee]rror: \\w+ @ /x;#=,", "[z-a]", "a{5,2}"})
    CHECK(accepts(ok));  // the last two are grammatical; their order is checked by the translation
  for (const char* bad : {"", "(foo)", "\\(", "a!", "caf\xc3\xa9", "a\tb", "%", "|a", "a|", "a||b", "*a", "a**",
                          "a*+", "a*??", "^*", "$+", "a{", "a{}", "a{,}", "a{1001}", "a{x}", "a}", "a]", "[]", "[^]",
                          "[a", "[a[b]", "\\", "\\x4", "\\b", "\\t", "\\1", "[\\q]"})
    CHECK_FALSE(accepts(bad));
}

// tests/data/ast_golden.txt: blocks of "pattern: <p>" then "ast: <dump>". Each pattern must parse
// to exactly that dump, and printing the AST back must parse to the same AST.
TEST_CASE("AST golden dumps and round trip", "[grammar][golden]") {
  std::ifstream f(test::source_path("tests/data/ast_golden.txt"));
  REQUIRE(f);
  std::string line, pattern;
  std::size_t checked = 0;
  while (std::getline(f, line)) {
    if (line.rfind("pattern: ", 0) == 0) pattern = line.substr(9);
    if (line.rfind("ast: ", 0) != 0) continue;
    INFO(pattern);
    auto p = parse(pattern);
    REQUIRE(p.ok());
    CHECK(ast::dump(p.value()) == line.substr(5));
    std::string printed = ast::to_pattern(p.value());
    auto again = parse(printed);
    INFO("printed: " << printed);
    REQUIRE(again.ok());
    CHECK(ast::dump(again.value()) == ast::dump(p.value()));
    ++checked;
  }
  CHECK(checked >= 40);
}

// tests/data/error_golden.jsonl: {"pattern", "code", "offset", "message"}: the exact rejection.
TEST_CASE("bad patterns: exact code, offset and message", "[grammar][golden]") {
  auto cases = test::read_jsonl(test::source_path("tests/data/error_golden.jsonl"));
  REQUIRE(cases.size() >= 30);
  for (const auto& c : cases) {
    std::string pattern = test::str(c, "pattern");
    INFO(pattern);
    auto p = compile(pattern);
    REQUIRE_FALSE(p.ok());
    CHECK(std::string(to_string(p.error().code)) == test::str(c, "code"));
    CHECK(p.error().offset == c["offset"].GetUint64());
    CHECK(p.error().message == test::str(c, "message"));
  }
}
