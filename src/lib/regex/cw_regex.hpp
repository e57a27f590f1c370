// CloudWatch Logs' restricted regular-expression dialect (`%regex%`, filter-patterns.md §5),
// validated and translated to RE2 syntax with the same meaning. The syntax, the restricted character
// set included, is the PEGTL grammar grammar::regex::body (grammar/cwfilter/grammar.hpp); its error
// messages are in regex_grammar_errors.hpp; cw_regex.cpp holds the translating actions and the two
// checks a grammar cannot make (a repetition's minimum above its maximum, a range's order).
//
// The dialect (what translate_regex accepts; decisions where AWS is silent are marked [D]):
//  * Characters: A-Z a-z 0-9, the symbols `: _ # = @ / ; , -`, the operators `^ $ ? [ ] { } | \ * + .`
//    and the space (§5.2). Everything else is ErrorCode::kRegexInvalidCharacter ("Invalid character(s)
//    in term"), checked on raw bytes before any syntax, so an escaped `\(` is still rejected and every
//    byte >= 0x80 (multi-byte characters) too. [D] Tab, newline and other control characters are
//    rejected: the documented list names no whitespace at all and only the space is seen accepted in
//    practice; `\x09` or `\s` match a tab.
//  * `|` separates whole branches (no groups exist). [D] An empty branch (`|a`, `a|`, `a||b`) is a
//    syntax error, for the same reason `%%` is one (DECISIONS 8): it would match every message.
//  * `?` `*` `+` `{m}` `{m,}` `{,n}` (= `{0,n}`, DECISIONS 8) `{m,n}` repeat the preceding character,
//    `.`, class or escape. [D] m, n <= 1000 (RE2's limit); m <= n. A `{` that does not open one of those
//    forms is an error (it is an operator; `\{` is the literal). A single `?` after a quantifier (lazy
//    `a*?`) is accepted: it cannot change whether a message matches. Any other quantifier after a
//    quantifier (`a**`, `a*+` possessive, `a{2}{3}`), a quantifier with nothing before it (start of
//    the regex or of a branch) and a quantifier on `^`/`$` are errors.
//  * `^` / `$` anchor at the start / end of the whole string searched (not per line, and `$` does not
//    match before a trailing newline). They may appear anywhere, as in every regex engine.
//  * `.` matches any character except `\n` (DECISIONS 8); it does match `\r`.
//  * Classes `[abc]`, `[^abc]`, ranges `a-z`; `-` is literal first or last. [D] Operators other than
//    `]`, `\`, `-` and a leading `^` are literal inside a class. Strict where engines disagree:
//    `[]` / `[^]` (empty class, or a leading `]` as literal) is an error, as is an unescaped `[`
//    inside a class (a nested class in Java, a literal in RE2), an unmatched `]` or `}` outside a
//    class (escape them as `\]`, `\}`), a range that ends at a class escape (`[\d-z]`) and an
//    out-of-order range (`[z-a]`). Escapes work inside classes as outside.
//  * Escapes: `\d` = [0-9], `\D`, `\w` = [A-Za-z0-9_], `\W`, `\s`, `\S`, `\xhh` (exactly two hex
//    digits; the character with that code point, so `\xE9` matches `é`) and a backslash before any
//    allowed non-alphanumeric character (operator, symbol or space), which is that literal character.
//    Every other escape (`\b \B \t \n \r \p \0 \1 \A \z`, ...) is a syntax error (DECISIONS 8).
//    [D] `\s` is [\t\n\v\f\r ] (Java's and POSIX's whitespace, RE2's `[[:space:]]`): the docs'
//    "tab, space and newline" lists examples, and every engine AWS could run includes \r and \f.
//  * Matching is an unanchored, case-sensitive search (§5.3).
//
// The translation only contains ASCII; subjects are searched as UTF-8 (see regex_options()).
#pragma once

#include <cwfilter/error.hpp>
#include <cwfilter/options.hpp>

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace cwfilter::detail {

// Validates the body of a CloudWatch regex (the text between the two '%' signs) and translates it to
// RE2 syntax with the same meaning. `pattern` is the whole filter pattern and `body_offset` the byte
// offset of body[0] within it, so that errors carry offsets into the whole pattern.
//
// Errors: ErrorCode::kRegexInvalidCharacter (AWS message "Invalid character(s) in term") at the first
// character outside the allowed set; ErrorCode::kRegexSyntax (the context's "Invalid ... filter
// pattern" message) at the offending character for structural problems, at the opening '%' for an
// empty body, and at body[0] if RE2 itself rejects the translation (e.g. a program over max_mem).
// On success returns the RE2 pattern text, to be compiled with regex_options() and searched with
// RE2::PartialMatch (unanchored).
Result<std::string, CompileError> translate_regex(std::string_view pattern, std::size_t body_offset,
                                                  std::size_t body_length, ErrorContext context);

// translate_regex and the compiled program in one step (the translation is compiled anyway to
// validate it): search with RE2::PartialMatch(subject, *program). Shared and immutable, so compiled
// patterns can be copied and used from several threads (RE2 is thread-safe for matching).
Result<std::shared_ptr<const RE2>, CompileError> compile_regex(std::string_view pattern,
                                                               std::size_t body_offset,
                                                               std::size_t body_length,
                                                               ErrorContext context);

// The RE2::Options every caller compiles a translation with: UTF-8 subjects (`.` and negated
// classes consume a whole code point, as Java's chars would), case-sensitive, `.` not matching `\n`,
// leftmost-first (not longest) semantics, no captures, errors not logged to stderr, RE2's default
// max_mem (8 MiB).
RE2::Options regex_options();

}  // namespace cwfilter::detail
