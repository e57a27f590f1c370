// Differential tests (issue 3): the naive reference evaluator (reference::match) and the compiled
// matcher (Pattern::match / matches) must agree on every (pattern, event) pair.
//
// Generated pairs: for each family (term, JSON, space-delimited, regex) a generator writes *valid*
// patterns that exercise every construct of the grammar, and builds events from each pattern's own
// literals and selectors, then mutates them (type changes, missing and duplicate keys, escapes,
// nesting, extra or missing tokens, quoting, tabs) so that both matches and non-matches are common.
// Per pair it checks: compiled == reference (verdict and, for space-delimited patterns, the
// extracted values), matches() == match().matched; per pattern: it compiles, and printing its AST
// and parsing the print gives the same dump. The seed is fixed; CWFILTER_SEED=<n> overrides it and
// CWFILTER_DIFF_PAIRS=<n> changes the number of pairs per family (default 100,000).
//
// Real pairs: every pattern of spec/cases/patterns.jsonl and every distinct compilable pattern of
// corpus/patterns.jsonl against every CloudTrail event of the corpus.
#include "support.hpp"

#include <cwfilter/cwfilter.hpp>
#include <cwfilter/input.hpp>

#include "pattern/value_text.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace cwfilter;

namespace {

// ---- randomness -------------------------------------------------------------------------------

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : g_(seed) {}
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(g_() % n); }
  bool chance(double p) { return static_cast<double>(g_() >> 11) * 0x1.0p-53 < p; }
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::size_t>(hi - lo + 1))); }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
  char pick_char(std::string_view s) { return s[below(s.size())]; }

 private:
  std::mt19937_64 g_;
};

// One of a few literals, without building a container.
template <typename T>
T pick_of(Rng& r, std::initializer_list<T> list) {
  return *(list.begin() + static_cast<std::ptrdiff_t>(r.below(list.size())));
}

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* s = std::getenv(name);
  return s && *s ? std::strtoull(s, nullptr, 0) : fallback;
}
std::uint64_t base_seed() { return env_u64("CWFILTER_SEED", 0xC10D'3A7C'4F11'7E25ull); }
std::size_t pairs_per_family() { return static_cast<std::size_t>(env_u64("CWFILTER_DIFF_PAIRS", 100000)); }

const std::vector<std::string> kWords = {"ERROR", "WARN", "INFO", "Exception", "error", "ERRORCODE", "UpdateTrail",
                                         "ConsoleLogin", "Failed", "abc", "a_b", "x1", "404", "500", "200",
                                         "Yes", "YES", "true", "false", "null", "GET", "kms", "Trail", "0", "007"};
const std::vector<std::string> kNoise = {"the", "request", "id=42", ":", "-", "[INFO]", "{", "}", "\"", "é",
                                         "x", "ERR", "Error", "12.5", "user@example.com", "a/b", "%"};

// Pattern whitespace: empty or a run of blanks (the grammar accepts newlines too).
std::string ws(Rng& r, bool allow_empty = true) {
  static const std::vector<std::string> kWs = {" ", " ", " ", "  ", "\t", "\n", " \n "};
  if (allow_empty && r.chance(0.4)) return "";
  return r.pick(kWs);
}

// `"..."` as the pattern language writes it: \" and \\ escaped; sometimes a needless escape before
// a letter (which keeps the letter, §2.1).
std::string pattern_quote(Rng& r, std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    else if (std::isalpha(static_cast<unsigned char>(c)) && r.chance(0.03)) out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// Small text mutations that usually turn a match into a non-match.
std::string mutate_text(Rng& r, std::string s) {
  switch (r.below(5)) {
    case 0:
      if (!s.empty()) s.erase(r.below(s.size()), 1);
      break;
    case 1:
      for (char& c : s)
        if (std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(c ^ 0x20);  // case flip
      break;
    case 2: s.insert(r.below(s.size() + 1), 1, r.pick_char("xZ 9\t_")); break;
    case 3:
      if (!s.empty()) s[r.below(s.size())] = r.pick_char("qQ0.*");
      break;
    default: s = r.pick(kWords); break;
  }
  return s;
}

// ---- regex (§5) -------------------------------------------------------------------------------

struct RxAtom {
  enum class Kind { kLiteral, kAny, kSet };
  Kind kind = Kind::kLiteral;
  std::string literal;  // kLiteral (UTF-8)
  std::string set;      // kSet: the member characters (ASCII)
  bool negated = false;
  int lo = 1, hi = 1;   // repetition (hi capped for sampling)
};
struct RxBranch {
  bool caret = false, dollar = false;
  std::vector<RxAtom> atoms;
};
struct RegexGen {
  std::vector<RxBranch> branches;
  std::string body;
};

const std::string kDigits = "0123456789";
const std::string kWordChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
const std::string kSpaceChars = " \t\n\r\v\f";

std::string complement_of(const std::string& set) {
  std::string out;
  for (int c = 0x09; c < 0x7F; ++c)
    if (set.find(static_cast<char>(c)) == std::string::npos) out.push_back(static_cast<char>(c));
  return out;
}

// One atom as written in the body, with its meaning for sampling.
RxAtom gen_rx_atom(Rng& r, std::string& out) {
  RxAtom a;
  switch (r.below(10)) {
    case 0:
    case 1:
    case 2: {  // plain allowed character (letters, digits, the symbols, space)
      char c = r.pick_char("abcxyzXYZ0159:_#=@/;,- ");
      out.push_back(c);
      a.literal = std::string(1, c);
      break;
    }
    case 3: {  // an escaped operator or symbol: the character itself
      char c = r.pick_char(".[]{}|\\*+?^$:/-#@ ,;=_");
      out += '\\';
      out.push_back(c);
      a.literal = std::string(1, c);
      break;
    }
    case 4: {  // \xhh
      static const std::vector<std::pair<std::string, std::string>> kHex = {
          {"41", "A"}, {"28", "("}, {"29", ")"}, {"3A", ":"}, {"3a", ":"}, {"25", "%"},
          {"22", "\""}, {"20", " "}, {"E9", "\xC3\xA9"}, {"21", "!"}, {"5C", "\\"}};
      const auto& h = r.pick(kHex);
      out += "\\x" + h.first;
      a.literal = h.second;
      break;
    }
    case 5: {
      static const std::vector<std::pair<char, int>> kSets = {{'d', 0}, {'D', 1}, {'w', 2}, {'W', 3}, {'s', 4}, {'S', 5}};
      auto [c, k] = r.pick(kSets);
      out += '\\';
      out.push_back(c);
      a.kind = RxAtom::Kind::kSet;
      a.set = k / 2 == 0 ? kDigits : k / 2 == 1 ? kWordChars : kSpaceChars;
      a.negated = k % 2 == 1;
      break;
    }
    case 6:
      out.push_back('.');
      a.kind = RxAtom::Kind::kAny;
      break;
    default: {  // character class
      a.kind = RxAtom::Kind::kSet;
      std::string written = "[";
      if (r.chance(0.3)) {
        written += '^';
        a.negated = true;
      }
      if (r.chance(0.15)) {
        written += '-';
        a.set += '-';
      }
      int items = r.range(1, 3);
      for (int i = 0; i < items; ++i) {
        switch (r.below(4)) {
          case 0: {
            char c = r.pick_char("abcxyz0123:_#=@/;, .*+?{}|$");
            written.push_back(c);
            a.set.push_back(c);
            break;
          }
          case 1: {
            static const std::vector<std::string> kRanges = {"a-z", "0-9", "A-F", "c-e", "3-5"};
            const auto& rg = r.pick(kRanges);
            written += rg;
            for (char c = rg[0]; c <= rg[2]; ++c) a.set.push_back(c);
            break;
          }
          case 2: {
            char c = r.pick_char("dws");
            written += '\\';
            written.push_back(c);
            a.set += c == 'd' ? kDigits : c == 'w' ? kWordChars : kSpaceChars;
            break;
          }
          default: {
            char c = r.pick_char("]-\\[^");
            written += '\\';
            written.push_back(c);
            a.set.push_back(c);
            break;
          }
        }
      }
      if (r.chance(0.1)) {
        written += '-';
        a.set += '-';
      }
      out += written + "]";
      break;
    }
  }
  // Quantifier.
  if (r.chance(0.3)) {
    switch (r.below(7)) {
      case 0: out += '?'; a.lo = 0; a.hi = 1; break;
      case 1: out += '*'; a.lo = 0; a.hi = 3; break;
      case 2: out += '+'; a.lo = 1; a.hi = 3; break;
      case 3: { int m = r.range(0, 3); out += fmt::format("{{{}}}", m); a.lo = a.hi = m; break; }
      case 4: { int m = r.range(0, 2); out += fmt::format("{{{},}}", m); a.lo = m; a.hi = m + 2; break; }
      case 5: { int n = r.range(1, 3); out += fmt::format("{{,{}}}", n); a.lo = 0; a.hi = n; break; }
      default: { int m = r.range(0, 2), n = m + r.range(0, 2); out += fmt::format("{{{},{}}}", m, n); a.lo = m; a.hi = n; break; }
    }
    if (r.chance(0.1)) out += '?';  // lazy: accepted, same matches
  }
  return a;
}

RegexGen gen_regex(Rng& r) {
  RegexGen g;
  int branches = r.chance(0.75) ? 1 : r.range(2, 3);
  for (int b = 0; b < branches; ++b) {
    if (b) g.body += '|';
    RxBranch br;
    if (r.chance(0.15)) {
      br.caret = true;
      g.body += '^';
    }
    if (r.chance(0.35)) {  // a word from the vocabulary, literally
      std::string w = r.pick(kWords);
      for (char c : w) {
        g.body.push_back(c);
        br.atoms.push_back(RxAtom{RxAtom::Kind::kLiteral, std::string(1, c), "", false, 1, 1});
      }
    }
    int atoms = r.range(1, 4);
    for (int i = 0; i < atoms; ++i) br.atoms.push_back(gen_rx_atom(r, g.body));
    if (r.chance(0.15)) {
      br.dollar = true;
      g.body += '$';
    }
    g.branches.push_back(std::move(br));
  }
  return g;
}

// A string the regex matches in full (one branch, each atom repeated within its bounds).
std::string sample_regex(Rng& r, const RegexGen& g, bool* caret = nullptr, bool* dollar = nullptr) {
  const RxBranch& b = r.pick(g.branches);
  if (caret) *caret = b.caret;
  if (dollar) *dollar = b.dollar;
  std::string out;
  for (const auto& a : b.atoms) {
    int n = r.range(a.lo, std::min(a.hi, a.lo + 3));
    for (int i = 0; i < n; ++i) {
      switch (a.kind) {
        case RxAtom::Kind::kLiteral: out += a.literal; break;
        case RxAtom::Kind::kAny: out.push_back(r.pick_char("aZ9 -_:\t\r!(")); break;
        case RxAtom::Kind::kSet: {
          std::string pool = a.negated ? complement_of(a.set) : a.set;
          if (pool.empty()) pool = "a";
          out.push_back(pool[r.below(pool.size())]);
          break;
        }
      }
    }
  }
  return out;
}

// ---- values shared by JSON and space-delimited patterns (§3.3) ---------------------------------

struct GenValue {
  enum class Kind { kNumber, kBare, kQuoted, kRegex };
  Kind kind = Kind::kBare;
  std::string written;  // as in the pattern
  std::string text;     // number lexeme / decoded string (wildcards included) / regex body
  double number = 0;
  RegexGen regex;
};

std::string gen_number_lexeme(Rng& r) {
  std::string s;
  if (r.chance(0.3)) s += r.chance(0.5) ? "-" : "+";
  static const std::vector<std::string> kInts = {"0", "1", "5", "7", "10", "42", "200", "400", "404", "500", "1000", "00", "123456789"};
  bool frac_only = r.chance(0.08);
  if (!frac_only) s += r.pick(kInts);
  if (frac_only || r.chance(0.25)) (s += '.') += pick_of(r, {"0", "5", "25", "001", "50"});
  if (r.chance(0.2)) {
    s += r.chance(0.5) ? "e" : "E";
    if (r.chance(0.5)) s += r.chance(0.5) ? "-" : "+";
    s += pick_of(r, {"0", "1", "2", "3", "400"});
  }
  return s;
}

std::string gen_string_core(Rng& r, bool bare) {
  if (bare) {
    static const std::vector<std::string> kBare = {"abc", "kms.amazonaws.com", "a-b", "+x", "1.2.3", "ERROR", "Yes",
                                                   "true", "false", "null", "-", "x_y", "a*b", "Trail", "Update",
                                                   "8xlarge", ".", "e5", "0x10", "-a", "1e", "5."};
    return r.chance(0.5) ? r.pick(kWords) : r.pick(kBare);
  }
  static const std::vector<std::string> kQuoted = {"Failed authentication", "", " ", "a\"b", "back\\slash",
                                                   "caf\xC3\xA9", "%bar%", "a,b", "x]y", "{json}", "tab\there",
                                                   "line\nbreak", "404", "1e3", "a*b", "[ERROR]"};
  return r.chance(0.4) ? r.pick(kWords) : r.pick(kQuoted);
}

bool is_bare_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '*' || c == '+' || c == '-';
}

// `numeric_only`: relational operators need a number (bare or quoted).
GenValue gen_value(Rng& r, bool numeric_only, std::size_t& regexes) {
  GenValue v;
  std::size_t kind = numeric_only ? 0 : r.below(10);
  if (kind == 9 && regexes >= 2) kind = 0;
  if (kind <= 2) {
    v.kind = GenValue::Kind::kNumber;
    v.text = gen_number_lexeme(r);
    v.number = std::strtod(v.text.c_str(), nullptr);
    v.written = numeric_only && r.chance(0.1) ? "\"" + v.text + "\"" : v.text;
    return v;
  }
  if (kind == 9) {
    ++regexes;
    v.kind = GenValue::Kind::kRegex;
    v.regex = gen_regex(r);
    v.text = v.regex.body;
    v.written = "%" + v.text + "%";
    return v;
  }
  bool bare = kind <= 5;
  std::string core = gen_string_core(r, bare);
  switch (r.below(6)) {
    case 0: core = core + "*"; break;
    case 1: core = "*" + core; break;
    case 2: core = "*" + core + "*"; break;
    case 3:
      if (r.chance(0.3)) core = "*";
      break;
    default: break;
  }
  if (bare) {
    bool ok = !core.empty();
    for (char c : core) ok = ok && is_bare_char(c);
    if (!ok) bare = false;
  }
  v.kind = bare ? GenValue::Kind::kBare : GenValue::Kind::kQuoted;
  v.text = core;
  v.written = bare ? core : pattern_quote(r, core);
  // A bare value that reads as a number is a number.
  if (bare) {
    if (auto number = detail::parse_number_literal(core)) {
      v.kind = GenValue::Kind::kNumber;
      v.number = *number;
    }
  }
  return v;
}

// A JSON-valid spelling of `d` (or of a nearby number).
std::string json_number(Rng& r, double d) {
  if (std::isinf(d)) return d > 0 ? "1e999" : "-1e999";
  if (std::isnan(d)) return "0";
  switch (r.below(4)) {
    case 0: return fmt::format("{}", d);
    case 1: return fmt::format("{:e}", d);
    case 2:
      if (d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{:.1f}", d);
      return fmt::format("{}", d);
    default: return fmt::format("{:.17g}", d);
  }
}

// Text that satisfies (mostly) or narrowly misses a string / wildcard value.
std::string satisfying_string(Rng& r, const std::string& text) {
  if (text == "*") return r.chance(0.5) ? "" : r.pick(kWords);
  bool lead = text.size() >= 2 && text.front() == '*';
  bool trail = text.size() >= 2 && text.back() == '*';
  std::string core = text.substr(lead ? 1 : 0, text.size() - (lead ? 1 : 0) - (trail ? 1 : 0));
  std::string out = core;
  if (lead) out = (r.chance(0.5) ? r.pick(kWords) : std::string()) + out;
  if (trail) out += r.chance(0.5) ? r.pick(kWords) : std::string();
  return out;
}

// A value's "witness" as text: what an event field should contain to satisfy `op value` (or not).
std::string witness(Rng& r, ast::CmpOp op, const GenValue& v, bool* as_number = nullptr) {
  if (as_number) *as_number = false;
  switch (v.kind) {
    case GenValue::Kind::kRegex: {
      bool caret = false, dollar = false;
      std::string s = sample_regex(r, v.regex, &caret, &dollar);
      if (!caret && r.chance(0.3)) s = r.pick(kWords) + s;
      if (!dollar && r.chance(0.3)) s += r.pick(kWords);
      return r.chance(0.2) ? mutate_text(r, s) : s;
    }
    case GenValue::Kind::kNumber: {
      double d = v.number;
      if (op != ast::CmpOp::kEq && op != ast::CmpOp::kNe && r.chance(0.5))
        d += pick_of<double>(r, {-1, -0.5, 0.5, 1, 1e-9});
      else if (r.chance(0.2))
        d += 1;
      if (as_number) *as_number = true;
      if (r.chance(0.2)) return v.text;  // the literal's own spelling
      return json_number(r, d);
    }
    default: {
      std::string s = satisfying_string(r, v.text);
      return r.chance(0.15) ? mutate_text(r, s) : s;
    }
  }
}

std::string op_text(ast::CmpOp op) { return std::string(ast::to_string(op)); }

ast::CmpOp gen_op(Rng& r, bool& numeric_only) {
  static const std::vector<ast::CmpOp> kOps = {ast::CmpOp::kEq, ast::CmpOp::kEq, ast::CmpOp::kEq, ast::CmpOp::kNe,
                                               ast::CmpOp::kNe, ast::CmpOp::kLt, ast::CmpOp::kLe, ast::CmpOp::kGt,
                                               ast::CmpOp::kGe};
  ast::CmpOp op = r.pick(kOps);
  numeric_only = op != ast::CmpOp::kEq && op != ast::CmpOp::kNe;
  return op;
}

// ---- the checker --------------------------------------------------------------------------------

struct FamilyStats {
  std::size_t patterns = 0, pairs = 0, matched = 0, rejected = 0, disagreements = 0, printer_failures = 0;
  std::vector<std::string> reports;  // the first few problems, in full
};

std::string show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string show_values(const std::vector<std::pair<std::string, std::string>>& v) {
  std::string out = "{";
  for (const auto& [k, x] : v) out += fmt::format("{}={} ", k, show(x));
  return out + "}";
}

// Compiles `text`; checks the printer invariant. Returns nullopt (and records why) if rejected.
std::optional<Pattern> compile_checked(const std::string& text, const Options& options, FamilyStats& st) {
  auto compiled = compile(text, options);
  if (!compiled.ok()) {
    ++st.rejected;
    if (st.reports.size() < 10)
      st.reports.push_back(fmt::format("generated pattern rejected: {}\n    {}", show(text), compiled.error().message));
    return std::nullopt;
  }
  ++st.patterns;
  std::string dumped = ast::dump(compiled->ast());
  std::string printed = ast::to_pattern(compiled->ast());
  auto reparsed = parse(printed, options);
  if (!reparsed.ok() || ast::dump(reparsed.value()) != dumped) {
    ++st.printer_failures;
    if (st.reports.size() < 10)
      st.reports.push_back(fmt::format("printer: {}\n    printed: {}\n    dump:    {}\n    again:   {}", show(text),
                                       show(printed), dumped,
                                       reparsed.ok() ? ast::dump(reparsed.value()) : reparsed.error().message));
  }
  return std::move(compiled.value());
}

void check_pair(const Pattern& p, const std::string& event, FamilyStats& st) {
  ++st.pairs;
  MatchResult compiled = p.match(event);
  bool quick = p.matches(event);
  MatchResult ref = reference::match(p.ast(), event, p.options());
  st.matched += compiled.matched;
  if (quick == compiled.matched && ref.matched == compiled.matched && ref.extracted_values == compiled.extracted_values)
    return;
  ++st.disagreements;
  if (st.reports.size() < 10)
    st.reports.push_back(fmt::format(
        "disagreement\n    pattern:   {}\n    event:     {}\n    options:   exact_field_count={} max_json_depth={} "
        "max_event_bytes={}\n    reference: {} {}\n    match():   {} {}\n    matches(): {}",
        show(p.source()), show(event), p.options().exact_field_count, p.options().max_json_depth,
        p.options().max_event_bytes, ref.matched, show_values(ref.extracted_values), compiled.matched,
        show_values(compiled.extracted_values), quick));
}

void report(const char* family, const FamilyStats& st, double seconds) {
  std::printf("[differential] %-15s %7zu patterns, %7zu pairs, %6.1f%% matched, %zu disagreements, %zu printer "
              "failures, %zu generated patterns rejected, %.1f s\n",
              family, st.patterns, st.pairs, st.pairs ? 100.0 * static_cast<double>(st.matched) / static_cast<double>(st.pairs) : 0.0,
              st.disagreements, st.printer_failures, st.rejected, seconds);
  for (const auto& r : st.reports) std::printf("  %s\n", r.c_str());
  std::fflush(stdout);
}

Options gen_options(Rng& r) {
  Options o;
  if (r.chance(0.25)) o.exact_field_count = true;
  if (r.chance(0.1)) o.max_json_depth = static_cast<std::size_t>(r.range(1, 6));
  if (r.chance(0.04)) o.max_event_bytes = static_cast<std::size_t>(r.range(0, 60));
  return o;
}

// ---- term patterns (§2) -----------------------------------------------------------------------

struct TermGen {
  std::string pattern;
  std::vector<std::pair<ast::Term::Kind, std::string>> terms;  // decoded texts
};

TermGen gen_term_pattern(Rng& r) {
  TermGen g;
  if (r.chance(0.2)) g.pattern += ws(r, false);
  int n = r.range(1, 5);
  for (int i = 0; i < n; ++i) {
    if (i) g.pattern += r.chance(0.8) ? " " : pick_of(r, {"  ", "\t", "\n", " \t "});
    ast::Term::Kind kind = ast::Term::Kind::kRequired;
    double k = static_cast<double>(r.below(100)) / 100.0;
    if (k < 0.25) {
      kind = ast::Term::Kind::kOptional;
      g.pattern += '?';
    } else if (k < 0.45) {
      kind = ast::Term::Kind::kExcluded;
      g.pattern += '-';
    }
    std::string text;
    if (r.chance(0.55)) {
      std::string w = r.pick(kWords);
      bool bare_ok = true;
      for (char c : w) bare_ok = bare_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
      text = bare_ok ? w : "x";
      g.pattern += text;
    } else {
      switch (r.below(8)) {
        case 0: text = std::string(static_cast<std::size_t>(r.range(0, 2)), ' '); break;  // blank: matches all
        case 1: text = "[ERROR]"; break;
        case 2: text = "\"level\":\"" + r.pick(kWords) + "\""; break;
        case 3: text = r.pick(kWords) + " " + r.pick(kWords); break;
        case 4: text = "C:\\temp"; break;
        case 5: text = "caf\xC3\xA9"; break;
        case 6: text = " " + r.pick(kWords); break;
        default: text = r.pick(kWords) + ":" + r.pick(kNoise); break;
      }
      g.pattern += pattern_quote(r, text);
    }
    g.terms.emplace_back(kind, text);
  }
  if (r.chance(0.2)) g.pattern += ws(r, false);
  return g;
}

std::string gen_term_event(Rng& r, const TermGen& g) {
  std::vector<std::string> pieces;
  for (const auto& [kind, text] : g.terms) {
    double p = kind == ast::Term::Kind::kRequired ? 0.8 : kind == ast::Term::Kind::kExcluded ? 0.25 : 0.45;
    if (r.chance(p)) pieces.push_back(r.chance(0.1) ? mutate_text(r, text) : text);
  }
  int noise = r.range(0, 3);
  for (int i = 0; i < noise; ++i) pieces.insert(pieces.begin() + static_cast<std::ptrdiff_t>(r.below(pieces.size() + 1)), r.pick(kNoise));
  std::string out;
  for (const auto& p : pieces) {
    if (!out.empty()) out += pick_of(r, {" ", " ", "", "\t", ",", "\n"});
    out += p;
  }
  if (out.empty() && r.chance(0.5)) out = r.pick(kNoise);
  return out;
}

// ---- JSON patterns (§3) -----------------------------------------------------------------------

struct JNode {
  // Special members defined after the class: clang 14 with libstdc++ 12 otherwise instantiates
  // ~vector<pair<string, JNode>> while JNode is incomplete.
  JNode();
  JNode(const JNode&);
  JNode(JNode&&) noexcept;
  JNode& operator=(const JNode&);
  JNode& operator=(JNode&&) noexcept;
  ~JNode();

  enum class T { kObj, kArr, kStr, kNum, kTrue, kFalse, kNull };
  T t = T::kObj;
  std::string s;  // decoded string / number lexeme
  std::vector<std::pair<std::string, JNode>> members;
  std::vector<JNode> items;
};
JNode::JNode() = default;
JNode::JNode(const JNode&) = default;
JNode::JNode(JNode&&) noexcept = default;
JNode& JNode::operator=(const JNode&) = default;
JNode& JNode::operator=(JNode&&) noexcept = default;
JNode::~JNode() = default;

struct GenStep {
  ast::Step::Kind kind;
  std::string name;
  std::size_t index = 0;
};

struct JsonLeaf {
  std::vector<GenStep> steps;
  ast::JsonCondition::Kind kind = ast::JsonCondition::Kind::kCompare;
  ast::CmpOp op = ast::CmpOp::kEq;
  GenValue value;
};

struct JsonGen {
  std::string pattern;
  std::vector<JsonLeaf> leaves;
  std::size_t regexes = 0, wildcard_selectors = 0;
};

const std::vector<std::string> kPlainNames = {"a", "b", "eventName", "user-id", "x_1", "0", "Key", "errorCode", "arr",
                                              "c"};
const std::vector<std::string> kBracketNames = {"a.b", "cluster.name", "x y", "caf\xC3\xA9", "", "]", "a\"b"};

std::string gen_selector(Rng& r, JsonGen& g, std::vector<GenStep>& steps) {
  std::string out = "$";
  bool wildcard = false;
  int n = r.range(1, 4);
  for (int i = 0; i < n; ++i) {
    std::size_t k = r.below(10);
    bool can_wild = !wildcard && g.wildcard_selectors < 3;
    if (k <= 5 || ((k == 8 || k == 9) && !can_wild)) {
      if (r.chance(0.12)) {
        std::string name = r.pick(kBracketNames);
        out += ".['" + name + "']";
        steps.push_back({ast::Step::Kind::kMember, name, 0});
      } else {
        std::string name = r.pick(kPlainNames);
        out += r.chance(0.05) ? ".['" + name + "']" : "." + name;
        steps.push_back({ast::Step::Kind::kMember, name, 0});
      }
    } else if (k <= 7) {
      std::size_t idx = r.below(3);
      out += fmt::format("[{}]", idx);
      steps.push_back({ast::Step::Kind::kIndex, "", idx});
    } else if (k == 8) {
      out += "[*]";
      steps.push_back({ast::Step::Kind::kAnyIndex, "", 0});
      wildcard = true;
    } else {
      out += ".*";
      steps.push_back({ast::Step::Kind::kAnyMember, "", 0});
      wildcard = true;
    }
  }
  if (wildcard) ++g.wildcard_selectors;
  return out;
}

std::string gen_json_condition(Rng& r, JsonGen& g) {
  JsonLeaf leaf;
  std::string out = gen_selector(r, g, leaf.steps);
  std::size_t k = r.below(12);
  if (k < 8) {
    bool numeric_only = false;
    leaf.op = gen_op(r, numeric_only);
    leaf.value = gen_value(r, numeric_only, g.regexes);
    out += ws(r) + op_text(leaf.op) + ws(r) + leaf.value.written;
  } else {
    static const std::vector<std::pair<ast::JsonCondition::Kind, std::string>> kKw = {
        {ast::JsonCondition::Kind::kIsNull, "IS NULL"}, {ast::JsonCondition::Kind::kIsTrue, "IS TRUE"},
        {ast::JsonCondition::Kind::kIsFalse, "IS FALSE"}, {ast::JsonCondition::Kind::kNotExists, "NOT EXISTS"}};
    const auto& kw = r.pick(kKw);
    leaf.kind = kw.first;
    std::string text = kw.second;
    if (r.chance(0.2)) text.replace(text.find(' '), 1, r.chance(0.5) ? "  " : "\t");
    out += ws(r, false) + text;
  }
  g.leaves.push_back(std::move(leaf));
  return out;
}

// An expression; `need_parens` if the caller binds tighter (an || under &&).
std::string gen_json_expr(Rng& r, JsonGen& g, int depth, bool under_and) {
  if (depth >= 3 || r.chance(depth == 0 ? 0.25 : 0.55)) {
    std::string c = gen_json_condition(r, g);
    return r.chance(0.2) ? "(" + ws(r) + c + ws(r) + ")" : c;
  }
  bool is_and = r.chance(0.5);
  int n = r.range(2, 3);
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ws(r) + (is_and ? "&&" : "||") + ws(r);
    out += gen_json_expr(r, g, depth + 1, is_and);
  }
  if ((!is_and && under_and) || r.chance(0.25)) out = "(" + ws(r) + out + ws(r) + ")";
  return out;
}

JsonGen gen_json_pattern(Rng& r) {
  JsonGen g;
  g.pattern = (r.chance(0.1) ? ws(r, false) : "") + "{" + ws(r) + gen_json_expr(r, g, 0, false) + ws(r) + "}" +
              (r.chance(0.1) ? ws(r, false) : "");
  return g;
}

JNode random_scalar(Rng& r) {
  JNode n;
  switch (r.below(6)) {
    case 0: n.t = JNode::T::kStr; n.s = r.pick(kWords); break;
    case 1: n.t = JNode::T::kNum; n.s = pick_of(r, {"0", "-0", "1", "404", "1e400", "2.5", "1E2", "-7"}); break;
    case 2: n.t = JNode::T::kTrue; break;
    case 3: n.t = JNode::T::kFalse; break;
    case 4: n.t = JNode::T::kNull; break;
    default: n.t = JNode::T::kStr; n.s = r.pick(kNoise); break;
  }
  return n;
}

JNode random_node(Rng& r, int depth) {
  if (depth <= 0 || r.chance(0.6)) return random_scalar(r);
  JNode n;
  n.t = r.chance(0.5) ? JNode::T::kObj : JNode::T::kArr;
  int k = r.range(0, 3);
  for (int i = 0; i < k; ++i) {
    if (n.t == JNode::T::kObj) n.members.emplace_back(r.pick(kPlainNames), random_node(r, depth - 1));
    else n.items.push_back(random_node(r, depth - 1));
  }
  return n;
}

// The node at `steps` from `at`, creating (or converting) containers on the way.
JNode* plant(Rng& r, JNode* at, const std::vector<GenStep>& steps) {
  for (const auto& s : steps) {
    switch (s.kind) {
      case ast::Step::Kind::kMember:
      case ast::Step::Kind::kAnyMember: {
        if (at->t != JNode::T::kObj) *at = JNode{};
        std::string name = s.kind == ast::Step::Kind::kMember ? s.name : r.pick(kPlainNames);
        JNode* found = nullptr;
        for (auto& m : at->members)
          if (m.first == name) found = &m.second;
        if (!found) {
          at->members.emplace_back(name, random_scalar(r));
          found = &at->members.back().second;
        }
        at = found;
        break;
      }
      case ast::Step::Kind::kIndex:
      case ast::Step::Kind::kAnyIndex: {
        if (at->t != JNode::T::kArr) {
          *at = JNode{};
          at->t = JNode::T::kArr;
        }
        std::size_t idx = s.kind == ast::Step::Kind::kIndex ? s.index : r.below(3);
        while (at->items.size() <= idx) at->items.push_back(random_scalar(r));
        at = &at->items[idx];
        break;
      }
    }
  }
  return at;
}

// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0, n = s.size();
  auto digits = [&] {
    std::size_t b = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - b;
  };
  if (i < n && s[i] == '-') ++i;
  if (i < n && s[i] == '0') ++i;
  else if (digits() == 0) return false;
  if (i < n && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

JNode leaf_value(Rng& r, const JsonLeaf& leaf) {
  JNode n;
  using K = ast::JsonCondition::Kind;
  if (leaf.kind == K::kIsNull || leaf.kind == K::kIsTrue || leaf.kind == K::kIsFalse || leaf.kind == K::kNotExists) {
    if (r.chance(0.6)) {
      n.t = leaf.kind == K::kIsNull ? JNode::T::kNull : leaf.kind == K::kIsTrue ? JNode::T::kTrue : JNode::T::kFalse;
      if (leaf.kind == K::kNotExists) n = random_scalar(r);
      return n;
    }
    if (r.chance(0.3)) {
      n.t = JNode::T::kStr;
      n.s = pick_of(r, {"null", "true", "false", ""});
      return n;
    }
    return random_node(r, 2);
  }
  // Type changes: string <-> number <-> bool <-> null <-> array <-> object.
  if (r.chance(0.15)) return random_node(r, 2);
  bool as_number = false;
  std::string w = witness(r, leaf.op, leaf.value, &as_number);
  if ((w == "true" || w == "false") && r.chance(0.5)) {
    n.t = w == "true" ? JNode::T::kTrue : JNode::T::kFalse;
    return n;
  }
  if (w == "null" && r.chance(0.3)) {
    n.t = JNode::T::kNull;
    return n;
  }
  // A witness that is a JSON number can be written as one (string vs number both matter).
  bool json_numeric = is_json_number(w);
  if (json_numeric && (as_number ? r.chance(0.75) : r.chance(0.4))) {
    n.t = JNode::T::kNum;
    n.s = w;
  } else {
    n.t = JNode::T::kStr;
    n.s = w;
  }
  return n;
}

// Adds duplicate keys (last one wins) and noise members in every object, recursively.
void decorate(Rng& r, JNode& n, int depth) {
  if (n.t == JNode::T::kObj) {
    for (auto& m : n.members) decorate(r, m.second, depth + 1);
    if (!n.members.empty() && r.chance(0.1)) {
      std::size_t i = r.below(n.members.size());
      auto copy = std::make_pair(n.members[i].first, random_node(r, 1));
      if (r.chance(0.5)) n.members.push_back(std::move(copy));  // shadows the planted value
      else n.members.insert(n.members.begin() + static_cast<std::ptrdiff_t>(i), std::move(copy));
    }
    if (r.chance(0.3)) n.members.emplace_back(r.pick(kPlainNames) + "_n", random_node(r, 2));
  } else if (n.t == JNode::T::kArr) {
    for (auto& it : n.items) decorate(r, it, depth + 1);
    if (r.chance(0.2)) n.items.push_back(random_node(r, 1));
  }
}

const char* json_ws(Rng& r) {
  if (r.chance(0.8)) return "";
  return pick_of(r, {" ", "\n", "\t", "\r\n", "  "});
}


void write_json_string(Rng& r, const std::string& s, std::string& out) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += r.chance(0.5) ? "\\n" : "\\u000a";
    else if (c == '\t') out += r.chance(0.5) ? "\\t" : "\\u0009";
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else if (c == 0xC3 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA9 && r.chance(0.5)) {
      out += r.chance(0.5) ? "\\u00e9" : "\\u00E9";
      ++i;
    } else if (c == '/' && r.chance(0.3)) out += "\\/";
    else if (std::isalpha(c) && r.chance(0.03)) out += fmt::format("\\u{:04x}", c);
    else out.push_back(static_cast<char>(c));
  }
  out += '"';
}

void write_json(Rng& r, const JNode& n, std::string& out) {
  switch (n.t) {
    case JNode::T::kObj:
      out += '{';
      out += json_ws(r);
      for (std::size_t i = 0; i < n.members.size(); ++i) {
        if (i) ((out += json_ws(r)) += ',') += json_ws(r);
        write_json_string(r, n.members[i].first, out);
        ((out += json_ws(r)) += ':') += json_ws(r);
        write_json(r, n.members[i].second, out);
      }
      (out += json_ws(r)) += '}';
      break;
    case JNode::T::kArr:
      out += '[';
      out += json_ws(r);
      for (std::size_t i = 0; i < n.items.size(); ++i) {
        if (i) ((out += json_ws(r)) += ',') += json_ws(r);
        write_json(r, n.items[i], out);
      }
      (out += json_ws(r)) += ']';
      break;
    case JNode::T::kStr: write_json_string(r, n.s, out); break;
    case JNode::T::kNum: out += n.s; break;
    case JNode::T::kTrue: out += "true"; break;
    case JNode::T::kFalse: out += "false"; break;
    case JNode::T::kNull: out += "null"; break;
  }
}

std::string gen_json_event(Rng& r, const JsonGen& g) {
  JNode root;
  if (r.chance(0.3)) root = random_node(r, 2);
  if (root.t != JNode::T::kObj) root = JNode{};
  for (const auto& leaf : g.leaves) {
    double p = leaf.kind == ast::JsonCondition::Kind::kNotExists ? 0.35 : 0.85;  // else: missing key
    if (!r.chance(p)) continue;
    JNode* slot = plant(r, &root, leaf.steps);
    *slot = leaf_value(r, leaf);
  }
  decorate(r, root, 0);
  if (r.chance(0.05)) {  // deep nesting
    JNode deep = random_scalar(r);
    int levels = r.range(2, 12);
    for (int i = 0; i < levels; ++i) {
      JNode wrap;
      if (r.chance(0.5)) {
        wrap.t = JNode::T::kArr;
        wrap.items.push_back(std::move(deep));
      } else {
        wrap.members.emplace_back("d", std::move(deep));
      }
      deep = std::move(wrap);
    }
    root.members.emplace_back("deep", std::move(deep));
  }
  std::string out = json_ws(r);
  write_json(r, root, out);
  out += json_ws(r);
  if (r.chance(0.06)) {  // not (only) a JSON object
    switch (r.below(6)) {
      case 0: out = "prefix " + out; break;
      case 1: out += " trailing"; break;
      case 2: out = out.substr(0, r.below(out.size() + 1)); break;
      case 3: out = "[" + out + "]"; break;
      case 4: out += out; break;
      default: out.insert(r.below(out.size() + 1), 1, '\0'); break;
    }
  }
  return out;
}

// ---- space-delimited patterns (§4) ------------------------------------------------------------

struct SpaceField {
  bool ellipsis = false;
  std::string name;
  std::vector<std::vector<std::pair<ast::CmpOp, GenValue>>> any_of;
};
struct SpaceGen {
  std::string pattern;
  std::vector<SpaceField> fields;
};

const std::vector<std::string> kFieldNames = {"ip", "user", "status_code", "bytes", "w1", "w2", "a", "b-c", "x_1", "0", "REQ"};

SpaceGen gen_space_pattern(Rng& r) {
  SpaceGen g;
  int n = r.range(0, 7);
  int ellipsis = r.chance(0.5) ? r.range(0, n) : -1;  // index in [0, n]: may be the last
  std::size_t regexes = 0;
  for (int i = 0; i <= n; ++i) {
    SpaceField f;
    if (i == ellipsis) {
      f.ellipsis = true;
      g.fields.push_back(std::move(f));
      continue;
    }
    if (i == n) break;
    std::size_t k = r.below(10);
    if (k == 0) {
      // unnamed (empty) field
    } else if (k <= 4) {
      f.name = r.pick(kFieldNames);
    } else {
      f.name = r.pick(kFieldNames);
      int disj = r.chance(0.7) ? 1 : r.range(2, 3);
      for (int d = 0; d < disj; ++d) {
        int conj = r.chance(0.7) ? 1 : 2;
        std::vector<std::pair<ast::CmpOp, GenValue>> cs;
        for (int c = 0; c < conj; ++c) {
          bool numeric_only = false;
          ast::CmpOp op = gen_op(r, numeric_only);
          cs.emplace_back(op, gen_value(r, numeric_only, regexes));
        }
        f.any_of.push_back(std::move(cs));
      }
    }
    g.fields.push_back(std::move(f));
  }
  std::string out = "[" + ws(r);
  for (std::size_t i = 0; i < g.fields.size(); ++i) {
    if (i) out += ws(r) + "," + ws(r);
    const SpaceField& f = g.fields[i];
    if (f.ellipsis) {
      out += "...";
    } else if (f.any_of.empty()) {
      out += f.name;
    } else {
      for (std::size_t d = 0; d < f.any_of.size(); ++d) {
        if (d) out += ws(r) + "||" + ws(r);
        for (std::size_t c = 0; c < f.any_of[d].size(); ++c) {
          if (c) out += ws(r) + "&&" + ws(r);
          out += f.name + ws(r) + op_text(f.any_of[d][c].first) + ws(r) + f.any_of[d][c].second.written;
        }
      }
    }
  }
  g.pattern = (r.chance(0.1) ? ws(r, false) : "") + out + ws(r) + "]";
  return g;
}

// Writes one event field holding `value`: plain when it can be, else (and sometimes anyway)
// grouped by "..." or [...], which the tokenizer strips.
std::string space_token(Rng& r, const std::string& value) {
  bool needs = value.empty() || value.find_first_of(" \t") != std::string::npos || value[0] == '"' || value[0] == '[';
  bool can_quote = value.find('"') == std::string::npos;
  bool can_bracket = value.find(']') == std::string::npos;
  if ((needs || r.chance(0.15)) && (can_quote || can_bracket)) {
    if (can_quote && (!can_bracket || r.chance(0.6))) return "\"" + value + "\"";
    return "[" + value + "]";
  }
  if (needs) return r.pick(kWords);  // cannot be written as one field
  return value;
}

std::string gen_space_event(Rng& r, const SpaceGen& g) {
  std::vector<std::string> tokens;
  for (const auto& f : g.fields) {
    if (f.ellipsis) {
      int k = r.range(0, 3);
      for (int i = 0; i < k; ++i) tokens.push_back(space_token(r, r.pick(kNoise)));
      continue;
    }
    std::string value;
    if (f.any_of.empty() || r.chance(0.1)) {
      value = r.chance(0.7) ? r.pick(kWords) : r.pick(kNoise);
    } else {
      const auto& conj = r.pick(f.any_of);
      const auto& c = r.pick(conj);
      value = witness(r, c.first, c.second);
    }
    tokens.push_back(space_token(r, value));
  }
  // Extra or missing tokens.
  if (r.chance(0.2)) {
    int extra = r.range(1, 3);
    for (int i = 0; i < extra; ++i) tokens.push_back(space_token(r, r.pick(kNoise)));
  }
  if (!tokens.empty() && r.chance(0.12)) tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(r.below(tokens.size())));
  std::string out = r.chance(0.1) ? pick_of(r, {" ", "\t", "  "}) : "";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) out += r.chance(0.85) ? " " : pick_of(r, {"\t", "  ", " \t"});
    out += tokens[i];
  }
  if (r.chance(0.1)) out += pick_of(r, {" ", "\t"});
  if (r.chance(0.05)) {  // tokenizer corners: unterminated group, quote inside a token, glued groups
    switch (r.below(4)) {
      case 0: out += " \"open"; break;
      case 1: out += " [open"; break;
      case 2: out.insert(r.below(out.size() + 1), "\""); break;
      default: out += "\"glued\"x"; break;
    }
  }
  return out;
}

// ---- the runs ---------------------------------------------------------------------------------

template <typename GenPattern, typename GenEvent>
FamilyStats run_family(const char* family, std::uint64_t seed, GenPattern&& gen_pattern, GenEvent&& gen_event) {
  constexpr std::size_t kEventsPerPattern = 5;
  Rng r(seed);
  FamilyStats st;
  const std::size_t want = pairs_per_family();
  auto start = std::chrono::steady_clock::now();
  std::size_t attempts = 0;
  while (st.pairs < want && attempts++ < want * 2) {
    Options options = gen_options(r);
    auto g = gen_pattern(r);
    auto compiled = compile_checked(g.pattern, options, st);
    if (!compiled) continue;
    for (std::size_t i = 0; i < kEventsPerPattern && st.pairs < want; ++i) check_pair(*compiled, gen_event(r, g), st);
  }
  report(family, st, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return st;
}

void require_family(const FamilyStats& st) {
  CHECK(st.rejected == 0);
  CHECK(st.printer_failures == 0);
  CHECK(st.disagreements == 0);
  CHECK(st.pairs >= pairs_per_family());
  // Both outcomes are common: the generators are not degenerate.
  CHECK(st.matched * 10 >= st.pairs);
  CHECK((st.pairs - st.matched) * 10 >= st.pairs);
}

struct RegexGenPattern {
  std::string pattern;
  RegexGen regex;
};

}  // namespace

TEST_CASE("differential: term patterns", "[differential]") {
  auto st = run_family("term", base_seed() ^ 1, gen_term_pattern, gen_term_event);
  require_family(st);
}

TEST_CASE("differential: JSON patterns", "[differential]") {
  auto st = run_family("json", base_seed() ^ 2, gen_json_pattern, gen_json_event);
  require_family(st);
}

TEST_CASE("differential: space-delimited patterns", "[differential]") {
  auto st = run_family("space-delimited", base_seed() ^ 3, gen_space_pattern, gen_space_event);
  require_family(st);
}

TEST_CASE("differential: regex patterns", "[differential]") {
  auto gen = [](Rng& r) {
    RegexGenPattern g;
    g.regex = gen_regex(r);
    g.pattern = (r.chance(0.1) ? " " : "") + ("%" + g.regex.body + "%");
    return g;
  };
  auto event = [](Rng& r, const RegexGenPattern& g) {
    bool caret = false, dollar = false;
    std::string s = sample_regex(r, g.regex, &caret, &dollar);
    if (r.chance(0.5)) s = r.pick(kNoise) + (r.chance(0.5) ? " " : "\n") + s;
    if (r.chance(0.5)) s += (r.chance(0.8) ? " " : "\n") + r.pick(kNoise);
    if (r.chance(0.25)) s = mutate_text(r, s);
    return s;
  };
  auto st = run_family("regex", base_seed() ^ 4, gen, event);
  require_family(st);
}

// Every pattern of the public conformance cases and every compilable corpus pattern, against every
// CloudTrail event of the corpus (event files only; index.jsonl is an index).
TEST_CASE("differential: spec and corpus patterns over the CloudTrail corpus", "[differential][corpus]") {
  std::vector<std::string> events;
  for (const char* dir : {"awsdocs", "panther", "stratus-red-team", "otrf"}) {
    auto r = read_all(test::shared_path(std::string("corpus/cloudtrail/") + dir));
    REQUIRE(r.ok());
    for (auto& e : r.value().events) events.push_back(std::move(e.message));
  }
  REQUIRE(events.size() > 900);

  auto run = [&](const char* name, const std::set<std::string>& patterns, std::size_t min_patterns) {
    FamilyStats st;
    auto start = std::chrono::steady_clock::now();
    std::vector<Pattern> compiled_patterns;
    for (const auto& text : patterns) {
      auto compiled = compile(text);
      if (!compiled.ok()) continue;
      ++st.patterns;
      compiled_patterns.push_back(*compiled);
    }
    // Events outer: the reference evaluator then parses each event once for all patterns.
    for (const auto& e : events)
      for (const auto& p : compiled_patterns) check_pair(p, e, st);
    report(name, st, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    CHECK(st.disagreements == 0);
    CHECK(st.patterns >= min_patterns);
    CHECK(st.matched > 0);
  };

  std::set<std::string> spec_patterns;
  for (const auto& c : test::read_jsonl(test::shared_path("spec/cases/patterns.jsonl")))
    if (c.HasMember("pattern")) spec_patterns.insert(test::str(c, "pattern"));
  run("spec x cloudtrail", spec_patterns, 120);

  std::set<std::string> corpus_patterns;
  for (const auto& c : test::read_jsonl(test::shared_path("corpus/patterns.jsonl")))
    corpus_patterns.insert(test::str(c, "pattern"));
  run("corpus x cloudtrail", corpus_patterns, 350);
}
