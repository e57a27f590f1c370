// Translation of CloudWatch's `%regex%` dialect to RE2. The dialect and every decision taken where
// AWS is silent are listed in cw_regex.hpp; filter-patterns.md §5, §9 A9 and DECISIONS 8 are the spec.
#include "regex/cw_regex.hpp"

#include "pattern/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace cwfilter::detail {

namespace {

constexpr std::string_view kInvalidCharacterMessage = "Invalid character(s) in term";
constexpr unsigned kMaxRepeat = 1000;  // RE2 rejects larger counts ("invalid repetition size")

bool is_alnum(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_symbol(unsigned char c) {  // §5.2 symbols, plus the space seen accepted in practice
  return std::string_view(":_#=@/;,- ").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_operator(unsigned char c) {
  return std::string_view("^$?[]{}|\\*+.").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_allowed(unsigned char c) { return is_alnum(c) || is_symbol(c) || is_operator(c); }
bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
unsigned hex_value(unsigned char c) {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

// Why a byte is not allowed, with the way to match it anyway.
std::string invalid_character_reason(unsigned char c) {
  if (c == '(' || c == ')')
    return fmt::format(
        "'(' and ')' are not supported (parentheses cannot group; use \\x{:02X} to match a literal '{}')",
        c, static_cast<char>(c));
  if (c >= 0x80)
    return fmt::format("byte 0x{:02X} is not supported (multi-byte characters cannot appear in a regex)",
                       c);
  if (c == '\t') return "a tab is not supported (use \\x09, or \\s for any whitespace)";
  if (c == '\n') return "a newline is not supported (use \\x0A, or \\s for any whitespace)";
  if (c == '\r') return "a carriage return is not supported (use \\x0D)";
  if (c < 0x20 || c == 0x7F)
    return fmt::format("control character 0x{:02X} is not supported (use \\x{:02X})", c, c);
  return fmt::format("'{}' is not supported (use \\x{:02X} to match it)", static_cast<char>(c), c);
}

// A literal character written into RE2 syntax outside a class.
void append_literal(std::string& out, unsigned char c) {
  if (std::string_view("\\.+*?()|[]{}^$").find(static_cast<char>(c)) != std::string_view::npos) {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < 0x20 || c >= 0x7F) {
    out += fmt::format("\\x{:02X}", c);
  } else {
    out += static_cast<char>(c);
  }
}

// A literal character written into RE2 syntax inside a class.
void append_class_literal(std::string& out, unsigned char c) {
  if (is_alnum(c) || c == '_' || c == ' ') {
    out += static_cast<char>(c);
  } else if (c < 0x20 || c >= 0x7F) {
    out += fmt::format("\\x{:02X}", c);
  } else {  // ASCII punctuation: RE2 accepts a backslash before any of it
    out += '\\';
    out += static_cast<char>(c);
  }
}

class Translator {
 public:
  Translator(std::string_view pattern, std::size_t body_offset, std::string_view body,
             ErrorContext context)
      : pattern_(pattern), base_(body_offset), body_(body), context_(context) {}

  // Translates the body into out_; returns the first error found.
  std::optional<CompileError> run() {
    if (auto e = check_characters()) return e;
    if (body_.empty())
      return make_error(ErrorCode::kRegexSyntax, pattern_, base_ > 0 ? base_ - 1 : 0,
                        "empty regular expression '%%'", context_);
    while (pos_ < body_.size()) {
      if (auto e = step()) return e;
    }
    if (branch_empty_)
      return syntax(body_.size() - 1, "empty alternative after '|' (it would match every message)");
    return std::nullopt;
  }

  std::string take() { return std::move(out_); }

 private:
  // What the last item of the current branch was, for quantifier checks.
  enum class Last { kNothing, kAtom, kAnchor, kQuantifier, kLazy };

  // One class item: a single character (value, as written in RE2) or a class escape (\d, \s, ...).
  struct ClassItem {
    bool is_set = false;
    unsigned value = 0;
    std::string text;
    std::size_t begin = 0;
    std::size_t end = 0;  // one past the item
  };

  CompileError syntax(std::size_t body_pos, std::string_view reason) const {
    return make_error(ErrorCode::kRegexSyntax, pattern_, base_ + body_pos, reason, context_);
  }

  // Validation is on raw characters before any syntax (§5.2): an escaped '(' is still rejected.
  std::optional<CompileError> check_characters() const {
    for (std::size_t i = 0; i < body_.size(); ++i) {
      auto c = static_cast<unsigned char>(body_[i]);
      if (!is_allowed(c))
        return make_error_with(ErrorCode::kRegexInvalidCharacter, pattern_, base_ + i,
                               kInvalidCharacterMessage, invalid_character_reason(c));
    }
    return std::nullopt;
  }

  std::optional<CompileError> step() {
    const char c = body_[pos_];
    switch (c) {
      case '|':
        if (branch_empty_)
          return syntax(pos_, pos_ == 0 ? "empty alternative before '|' (it would match every message)"
                                        : "empty alternative between '|' and '|' (it would match every message)");
        out_ += '|';
        branch_empty_ = true;
        last_ = Last::kNothing;
        ++pos_;
        return std::nullopt;
      case '*':
      case '+':
      case '?':
        return quantifier(pos_, pos_ + 1, std::string(1, c));
      case '{':
        return brace_quantifier();
      case '}':
        return syntax(pos_, "unmatched '}' (escape it as \\} to match a literal '}')");
      case ']':
        return syntax(pos_, "unmatched ']' (escape it as \\] to match a literal ']')");
      case '[':
        return character_class();
      case '\\':
        return escape();
      case '^':
      case '$':
        out_ += c;
        ++pos_;
        atom_done(Last::kAnchor);
        return std::nullopt;
      case '.':
        out_ += '.';
        ++pos_;
        atom_done(Last::kAtom);
        return std::nullopt;
      default:
        append_literal(out_, static_cast<unsigned char>(c));
        ++pos_;
        atom_done(Last::kAtom);
        return std::nullopt;
    }
  }

  void atom_done(Last kind) {
    last_ = kind;
    branch_empty_ = false;
  }

  // `text` (already normalised RE2 syntax) repeats the previous item; body_[begin, end) spells it.
  std::optional<CompileError> quantifier(std::size_t begin, std::size_t end, const std::string& text) {
    const std::string_view spelled = body_.substr(begin, end - begin);
    switch (last_) {
      case Last::kAtom:
        last_ = Last::kQuantifier;
        break;
      case Last::kQuantifier:
        if (spelled == "?") {  // lazy: same set of matching messages, so accepted
          last_ = Last::kLazy;
          break;
        }
        return syntax(begin, fmt::format("quantifier '{}' follows another quantifier{}", spelled,
                                         spelled == "+" ? " (possessive quantifiers are not supported)"
                                                        : ""));
      case Last::kLazy:
        return syntax(begin, fmt::format("quantifier '{}' follows another quantifier", spelled));
      case Last::kAnchor:
        return syntax(begin, fmt::format("quantifier '{}' cannot repeat the anchor '{}'", spelled,
                                         body_[begin - 1]));
      case Last::kNothing:
        return syntax(begin, fmt::format("quantifier '{}' has nothing to repeat{}", spelled,
                                         begin == 0 ? "" : " after '|'"));
    }
    out_ += text;
    pos_ = end;
    return std::nullopt;
  }

  // {m} {m,} {,n} {m,n}; anything else starting with '{' is an error.
  std::optional<CompileError> brace_quantifier() {
    const std::size_t open = pos_;
    std::size_t i = open + 1;
    // Reads optional digits at i into value; returns them as written (empty if none).
    auto read_number = [&](std::optional<unsigned>& value) -> std::string_view {
      const std::size_t start = i;
      unsigned long long v = 0;
      while (i < body_.size() && body_[i] >= '0' && body_[i] <= '9') {
        v = std::min<unsigned long long>(v * 10 + static_cast<unsigned>(body_[i] - '0'), 1u << 30);
        ++i;
      }
      if (i > start) value = static_cast<unsigned>(v);
      return body_.substr(start, i - start);
    };
    constexpr std::string_view kForms =
        "'{' must start a repetition {m}, {m,}, {,n} or {m,n} (escape it as \\{ to match a literal '{')";
    std::optional<unsigned> min;
    std::optional<unsigned> max;
    bool comma = false;
    const std::string_view min_digits = read_number(min);
    if (min && *min > kMaxRepeat)
      return syntax(open, fmt::format("repetition count {} exceeds {}", min_digits, kMaxRepeat));
    if (i < body_.size() && body_[i] == ',') {
      comma = true;
      ++i;
      const std::string_view max_digits = read_number(max);
      if (max && *max > kMaxRepeat)
        return syntax(open, fmt::format("repetition count {} exceeds {}", max_digits, kMaxRepeat));
    }
    if (i >= body_.size() || body_[i] != '}') return syntax(open, kForms);
    if (!min && !max) return syntax(open, kForms);  // {} and {,}
    if (min && max && *min > *max)
      return syntax(open, fmt::format("repetition {{{},{}}} has its minimum above its maximum", *min, *max));
    std::string text;
    if (!comma)
      text = fmt::format("{{{}}}", *min);
    else if (!max)
      text = fmt::format("{{{},}}", *min);
    else
      text = fmt::format("{{{},{}}}", min.value_or(0), *max);  // {,n} = {0,n} (DECISIONS 8)
    return quantifier(open, i + 1, text);
  }

  // Escape outside a class; pos_ is at the backslash.
  std::optional<CompileError> escape() {
    ClassItem item;
    if (auto e = parse_escape(pos_, item)) return e;
    if (item.is_set)
      out_ += item.text;
    else if (item.text.rfind("\\x", 0) == 0)
      out_ += item.text;  // keep \xhh as written
    else
      append_literal(out_, static_cast<unsigned char>(item.value));
    pos_ = item.end;
    atom_done(Last::kAtom);
    return std::nullopt;
  }

  // Parses the escape starting at body_[at] == '\\' into item (shared by classes and the top level).
  // For a set, item.text is the class syntax to use outside a class; set_in_class() adapts it.
  std::optional<CompileError> parse_escape(std::size_t at, ClassItem& item) const {
    item.begin = at;
    if (at + 1 >= body_.size()) return syntax(at, "trailing '\\' escapes nothing");
    const auto e = static_cast<unsigned char>(body_[at + 1]);
    item.end = at + 2;
    switch (e) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        item.is_set = true;
        item.text = fmt::format("\\{}", static_cast<char>(e));
        return std::nullopt;
      case 's':  // [\t\n\v\f\r ], see cw_regex.hpp
        item.is_set = true;
        item.text = "[[:space:]]";
        return std::nullopt;
      case 'S':
        item.is_set = true;
        item.text = "[[:^space:]]";
        return std::nullopt;
      case 'x': {
        if (at + 3 >= body_.size() || !is_hex(static_cast<unsigned char>(body_[at + 2])) ||
            !is_hex(static_cast<unsigned char>(body_[at + 3])))
          return syntax(at, "'\\x' must be followed by exactly two hex digits (\\xhh)");
        item.value = hex_value(static_cast<unsigned char>(body_[at + 2])) * 16 +
                     hex_value(static_cast<unsigned char>(body_[at + 3]));
        item.text = std::string(body_.substr(at, 4));
        item.end = at + 4;
        return std::nullopt;
      }
      default:
        break;
    }
    if (is_alnum(e)) {
      std::string_view hint;
      switch (e) {
        case 't': hint = " (use \\x09, or \\s for any whitespace)"; break;
        case 'n': hint = " (use \\x0A, or \\s for any whitespace)"; break;
        case 'r': hint = " (use \\x0D)"; break;
        case 'f': hint = " (use \\x0C)"; break;
        case 'v': hint = " (use \\x0B)"; break;
        case 'b':
        case 'B': hint = " (word boundaries are not supported)"; break;
        case 'p':
        case 'P': hint = " (Unicode classes are not supported)"; break;
        default:
          if (e >= '0' && e <= '9') hint = " (back-references and octal escapes are not supported)";
          break;
      }
      return syntax(at, fmt::format("unsupported escape '\\{}'{}; supported: \\d \\D \\s \\S \\w \\W \\xhh "
                                    "and a backslash before an operator or symbol",
                                    static_cast<char>(e), hint));
    }
    // Any other allowed character (operator, symbol, space) escaped is itself.
    item.value = e;
    return std::nullopt;
  }

  static std::string set_in_class(const std::string& text) {
    if (text == "[[:space:]]") return "[:space:]";
    if (text == "[[:^space:]]") return "[:^space:]";
    return text;  // \d \D \w \W work inside RE2 classes as they are
  }

  // One class item at body_[at]; at < body_.size(), body_[at] != ']'.
  std::optional<CompileError> parse_class_item(std::size_t at, ClassItem& item) const {
    const auto c = static_cast<unsigned char>(body_[at]);
    if (c == '\\') return parse_escape(at, item);
    if (c == '[')
      return syntax(at, "'[' inside a character class must be escaped as \\[ (classes cannot nest)");
    item.begin = at;
    item.end = at + 1;
    item.value = c;
    return std::nullopt;
  }

  static void append_item(std::string& out, const ClassItem& item) {
    if (item.is_set)
      out += set_in_class(item.text);
    else if (item.text.rfind("\\x", 0) == 0)
      out += item.text;
    else
      append_class_literal(out, static_cast<unsigned char>(item.value));
  }

  // [...] or [^...]; pos_ is at '['.
  std::optional<CompileError> character_class() {
    const std::size_t open = pos_;
    std::size_t i = open + 1;
    std::string text = "[";
    if (i < body_.size() && body_[i] == '^') {
      text += '^';
      ++i;
    }
    bool empty = true;
    for (;;) {
      if (i >= body_.size())
        return syntax(open, "unterminated character class: '[' has no matching ']'");
      if (body_[i] == ']') {
        if (empty)
          return syntax(i, "empty character class (escape a literal ']' as \\])");
        ++i;
        break;
      }
      ClassItem lo;
      if (auto e = parse_class_item(i, lo)) return e;
      i = lo.end;
      // A '-' followed by something other than ']' makes a range.
      if (i + 1 < body_.size() && body_[i] == '-' && body_[i + 1] != ']') {
        const std::size_t dash = i;
        ClassItem hi;
        if (auto e = parse_class_item(dash + 1, hi)) return e;
        if (lo.is_set || hi.is_set)
          return syntax(dash, fmt::format("range '{}' cannot start or end at a class escape",
                                          body_.substr(lo.begin, hi.end - lo.begin)));
        if (lo.value > hi.value)
          return syntax(lo.begin, fmt::format("range '{}' is out of order",
                                              body_.substr(lo.begin, hi.end - lo.begin)));
        append_item(text, lo);
        text += '-';
        append_item(text, hi);
        i = hi.end;
      } else {
        append_item(text, lo);
      }
      empty = false;
    }
    text += ']';
    out_ += text;
    pos_ = i;
    atom_done(Last::kAtom);
    return std::nullopt;
  }

  std::string_view pattern_;
  std::size_t base_;
  std::string_view body_;
  ErrorContext context_;
  std::size_t pos_ = 0;
  std::string out_;
  Last last_ = Last::kNothing;
  bool branch_empty_ = true;
};

}  // namespace

RE2::Options regex_options() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_case_sensitive(true);
  options.set_dot_nl(false);        // '.' never matches '\n' (DECISIONS 8)
  options.set_never_nl(false);      // but \s, [^a] and \x0A may
  options.set_posix_syntax(false);  // Perl classes \d \w \s; ^ $ are whole-text anchors
  options.set_longest_match(false);
  options.set_literal(false);
  options.set_never_capture(true);  // the dialect has no groups
  options.set_log_errors(false);    // errors are reported as values
  return options;
}

namespace {

// Translation plus the compiled program that proves it is valid.
struct Translated {
  std::string text;
  std::shared_ptr<const RE2> program;
};

Result<Translated, CompileError> translate_and_compile(std::string_view pattern, std::size_t body_offset,
                                                       std::size_t body_length, ErrorContext context) {
  body_offset = std::min(body_offset, pattern.size());
  body_length = std::min(body_length, pattern.size() - body_offset);
  Translator translator(pattern, body_offset, pattern.substr(body_offset, body_length), context);
  if (auto error = translator.run()) return std::move(*error);
  Translated result;
  result.text = translator.take();
  // The translation should always compile; this catches RE2's own limits (program size).
  auto program = std::make_shared<const RE2>(result.text, regex_options());
  if (!program->ok())
    return make_error(ErrorCode::kRegexSyntax, pattern, body_offset,
                      fmt::format("RE2 rejected the translated expression: {}", program->error()),
                      context);
  result.program = std::move(program);
  return result;
}

}  // namespace

Result<std::string, CompileError> translate_regex(std::string_view pattern, std::size_t body_offset,
                                                  std::size_t body_length, ErrorContext context) {
  auto translated = translate_and_compile(pattern, body_offset, body_length, context);
  if (!translated) return translated.error();
  return std::move(translated.value().text);
}

Result<std::shared_ptr<const RE2>, CompileError> compile_regex(std::string_view pattern,
                                                               std::size_t body_offset,
                                                               std::size_t body_length,
                                                               ErrorContext context) {
  auto translated = translate_and_compile(pattern, body_offset, body_length, context);
  if (!translated) return translated.error();
  return std::move(translated.value().program);
}

}  // namespace cwfilter::detail
