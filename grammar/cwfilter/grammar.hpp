// The CloudWatch Logs filter-pattern grammar as pure PEGTL rules (filter-patterns.md §2.1, §3.1,
// §4.1, §5). No actions and no messages here: AST construction lives in
// src/lib/pattern/parser.cpp and error messages in src/lib/pattern/grammar_errors.hpp, keyed by
// the rules below that appear inside must<> (each such rule has a name of its own).
//
// The family (term / JSON / space-delimited / regex) is chosen before parsing (§1.1); each family
// has its own top rule, applied to the pattern with its surrounding whitespace trimmed. The body of
// every `%regex%` (standalone, JSON value or space-delimited condition) is regex::body.
#pragma once

#include <tao/pegtl.hpp>

namespace cwfilter::grammar {

namespace pegtl = tao::pegtl;
using pegtl::alnum;
using pegtl::any;
using pegtl::at;
using pegtl::digit;
using pegtl::eof;
using pegtl::rep_min_max;
using pegtl::xdigit;
using pegtl::if_must;
using pegtl::must;
using pegtl::not_at;
using pegtl::not_one;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::seq;
using pegtl::sor;
using pegtl::star;
using pegtl::string;
using pegtl::success;

// ---- shared pieces ----------------------------------------------------------------------------
// Whitespace between tokens. Newlines are accepted: real patterns are written as multi-line YAML
// and heredoc strings (corpus flag contains_newline).
struct blank : one<' ', '\t', '\n', '\r', '\f', '\v'> {};
struct ws : star<blank> {};

// "double quoted": \" and \\ are escapes; any other backslash keeps the next character (§2.1).
struct dq_escape : seq<one<'\\'>, any> {};
struct dq_char : sor<dq_escape, not_one<'"', '\\'>> {};
struct dq_content : star<dq_char> {};
struct dq_close : one<'"'> {};  // must: an unterminated quote
struct dquoted : seq<one<'"'>, dq_content, must<dq_close>> {};

// %regex%: the body runs to the next '%' ('%' itself is not a legal regex character, §5.2). The
// body's own syntax is regex::body below, applied to it by translate_regex (src/lib/regex/).
struct regex_body : star<not_one<'%'>> {};
struct regex_close : one<'%'> {};  // must
struct regex_value : seq<one<'%'>, regex_body, must<regex_close>> {};

// Unquoted values: letters, digits and _ . * + - (§3.3 rule).
struct bare_value : plus<sor<alnum, one<'_', '.', '*', '+', '-'>>> {};

struct op_ne : string<'!', '='> {};
struct op_le : string<'<', '='> {};
struct op_ge : string<'>', '='> {};
struct op_eq : one<'='> {};
struct op_lt : one<'<'> {};
struct op_gt : one<'>'> {};
struct cmpop : sor<op_ne, op_le, op_ge, op_eq, op_lt, op_gt> {};

struct and_op : string<'&', '&'> {};
struct or_op : string<'|', '|'> {};

// ---- JSON patterns (§3.1) ---------------------------------------------------------------------
namespace json {

struct value : sor<dquoted, regex_value, bare_value> {};  // must: a value after the operator
// What may follow a value: a value ends at whitespace, a parenthesis, the brace or an operator.
struct value_end : at<sor<blank, one<')', '}', '&', '|'>, eof>> {};  // must

struct member_name : plus<sor<alnum, one<'_', '-'>>> {};
struct any_member : one<'*'> {};
struct bracket_key_text : star<not_one<'\''>> {};
struct bracket_key_close : seq<one<'\''>, one<']'>> {};  // must
struct bracket_key : seq<one<'['>, one<'\''>, bracket_key_text, must<bracket_key_close>> {};
struct dot_step_body : sor<any_member, bracket_key, member_name> {};  // must
struct dot_step : seq<one<'.'>, must<dot_step_body>> {};
struct any_index : one<'*'> {};
struct index_digits : plus<digit> {};
struct index_body : seq<sor<any_index, index_digits>, one<']'>> {};  // must
struct index_step : seq<one<'['>, must<index_body>> {};
struct step : sor<dot_step, index_step> {};
struct dollar : one<'$'> {};
struct first_step : step {};  // must: '$' alone is not a selector
struct selector : seq<dollar, must<first_step>, star<step>> {};

struct kw_null : string<'N', 'U', 'L', 'L'> {};
struct kw_true : string<'T', 'R', 'U', 'E'> {};
struct kw_false : string<'F', 'A', 'L', 'S', 'E'> {};
struct is_what : sor<kw_null, kw_true, kw_false> {};  // must
struct is_clause : seq<string<'I', 'S'>, plus<blank>, must<is_what>> {};
struct kw_exists : string<'E', 'X', 'I', 'S', 'T', 'S'> {};  // must
struct not_exists : seq<string<'N', 'O', 'T'>, plus<blank>, must<kw_exists>> {};
struct comparison : seq<cmpop, ws, must<value>, must<value_end>> {};
struct condition_rest : sor<comparison, is_clause, not_exists> {};  // must
struct condition : seq<selector, ws, must<condition_rest>> {};

struct expr;
struct lparen : one<'('> {};
struct rparen : one<')'> {};  // must
struct group : seq<lparen, ws, must<expr>, ws, must<rparen>> {};
struct unary : sor<group, condition> {};  // must (after && and ||)
struct and_mark : success {};
struct and_expr : seq<and_mark, unary, star<ws, and_op, ws, must<unary>>> {};
struct or_mark : success {};
struct expr : seq<or_mark, and_expr, star<ws, or_op, ws, must<and_expr>>> {};  // must
struct rbrace : one<'}'> {};  // must
struct end : eof {};          // must: nothing after the closing brace
struct pattern : seq<one<'{'>, ws, must<expr>, ws, must<rbrace>, must<end>> {};

}  // namespace json

// ---- space-delimited patterns (§4.1) ----------------------------------------------------------
namespace space {

struct value : sor<dquoted, regex_value, bare_value> {};  // must
struct value_end : at<sor<blank, one<',', ']', '&', '|'>, eof>> {};  // must
struct field_name : plus<sor<alnum, one<'_', '-'>>> {};
struct ellipsis : string<'.', '.', '.'> {};
struct condition : seq<field_name, ws, cmpop, ws, must<value>, must<value_end>> {};
struct and_link : and_op {};
struct or_link : or_op {};
struct more_condition : seq<field_name, ws, cmpop, ws, must<value>, must<value_end>> {};  // must
struct conditions : seq<condition, star<ws, sor<and_link, or_link>, ws, must<more_condition>>> {};
struct plain_field : field_name {};
struct empty_field : success {};
struct field_start : success {};
struct field : seq<field_start, sor<ellipsis, conditions, plain_field, empty_field>> {};
struct field_sep : one<','> {};
struct rbracket : one<']'> {};  // must
struct end : eof {};            // must
struct pattern
    : seq<one<'['>, ws, field, star<ws, field_sep, ws, field>, ws, must<rbracket>, must<end>> {};

}  // namespace space

// ---- term patterns (§2.1) ---------------------------------------------------------------------
namespace term {

struct bare : plus<sor<alnum, one<'_'>>> {};
struct optional_prefix : one<'?'> {};
struct exclude_prefix : one<'-'> {};
struct body : sor<dquoted, bare> {};  // must (after a prefix: no space allowed)
struct term_end : at<sor<blank, eof>> {};  // must: terms are separated by whitespace
struct term : seq<opt<sor<optional_prefix, exclude_prefix>>, must<body>, must<term_end>> {};
struct terms : seq<term, star<plus<blank>, term>> {};
struct end : eof {};  // must
struct pattern : seq<ws, opt<terms>, ws, must<end>> {};

}  // namespace term

// ---- regular expressions: the body between the '%' signs (§5) ----------------------------------
// Semantics that a grammar cannot express (a repetition's minimum above its maximum, a class range
// in the wrong order or ending at a class escape) are checked by the actions in
// src/lib/regex/cw_regex.cpp; messages are in src/lib/regex/regex_grammar_errors.hpp.
namespace regex {

// §5.2: letters, digits, the symbols `: _ # = @ / ; , -`, the space (accepted in practice), and the
// operators. Checked on the raw characters before any syntax: an escaped `\(` is still rejected.
struct symbol : one<':', '_', '#', '=', '@', '/', ';', ',', '-', ' '> {};
struct operator_char : one<'^', '$', '?', '[', ']', '{', '}', '|', '\\', '*', '+', '.'> {};
struct allowed_char : sor<alnum, symbol, operator_char> {};
struct allowed_end : eof {};  // must: the first character outside the set
struct characters : seq<star<allowed_char>, must<allowed_end>> {};

// Escapes: \d \D \w \W \s \S, \xhh, and a backslash before any allowed non-alphanumeric character.
struct set_escape : one<'d', 'D', 'w', 'W', 's', 'S'> {};
struct hex_escape : seq<one<'x'>, xdigit, xdigit> {};
struct literal_escape : sor<symbol, operator_char> {};
struct escape_body : sor<set_escape, hex_escape, literal_escape> {};  // must

// Character classes [...] / [^...]: items are single characters or escapes, `a-z` a range; `-`
// is literal first or last; `[` must be escaped; `[]` and `[^]` are empty, not a literal `]`.
struct class_open : one<'['> {};
struct class_negate : one<'^'> {};
struct class_close : one<']'> {};
struct class_escape : seq<one<'\\'>, must<escape_body>> {};
struct class_literal : not_one<']', '[', '\\'> {};
struct class_item : sor<class_escape, class_literal> {};  // must: fails on a nested '['
struct range_dash : seq<one<'-'>, not_at<sor<class_close, eof>>> {};
struct class_member : seq<not_at<sor<class_close, eof>>, must<class_item>, opt<range_dash, must<class_item>>> {};
struct class_not_empty : not_at<class_close> {};  // must
struct class_body : seq<class_open, opt<class_negate>, must<class_not_empty>, plus<class_member>, class_close> {};
struct class_unterminated : pegtl::failure {};  // must: reached (back at '[') when no ']' closes the class
struct char_class : seq<at<class_open>, sor<class_body, must<class_unterminated>>> {};

// Repetitions: ? * + {m} {m,} {,n} {m,n} with counts up to 1000 (RE2's limit), then an optional
// lazy '?'. Nothing else may repeat a repetition, an anchor, or nothing.
struct count : seq<at<digit>, star<one<'0'>>, opt<sor<string<'1', '0', '0', '0'>, rep_min_max<1, 3, digit>>>,
                   not_at<digit>> {};
struct brace : seq<one<'{'>, sor<seq<count, opt<one<','>, opt<count>>>, seq<one<','>, count>>, one<'}'>> {};
struct simple_quantifier : one<'?', '*', '+'> {};
struct quantifier : sor<simple_quantifier, brace> {};
struct lazy : one<'?'> {};
struct after_quantifier : not_at<quantifier> {};  // must
struct after_lazy : not_at<quantifier> {};        // must
struct quantified : seq<quantifier, sor<seq<lazy, must<after_lazy>>, must<after_quantifier>>> {};

struct caret : one<'^'> {};
struct dollar : one<'$'> {};
struct after_caret : not_at<quantifier> {};   // must
struct after_dollar : not_at<quantifier> {};  // must
struct dot : one<'.'> {};
struct literal : sor<alnum, symbol> {};
struct escape : seq<one<'\\'>, must<escape_body>> {};
struct atom : sor<literal, dot, escape, char_class> {};
struct piece : sor<seq<caret, must<after_caret>>, seq<dollar, must<after_dollar>>, seq<atom, opt<quantified>>> {};

// Branches: `|` splits the whole expression (no groups); no branch may be empty.
struct branch : plus<piece> {};
struct first_branch : branch {};  // must
struct next_branch : branch {};   // must (after '|')
struct alternation : one<'|'> {};
struct not_empty : not_at<eof> {};  // must: '%%'
struct body_end : eof {};           // must: a character no piece can start with
struct body : seq<at<characters>, must<not_empty>, must<first_branch>, star<alternation, must<next_branch>>,
                  must<body_end>> {};

}  // namespace regex

}  // namespace cwfilter::grammar
