/* Alertmanager's matcher parser tables, run against src/matchers.c: matcher/parse/parse_test.go
 * (TestMatchers, TestMatcher) against the UTF-8 syntax alone, matcher/parse/lexer_test.go
 * (TestLexer_*) against its lexer, and matcher/compat/parse_test.go (the fallback parsers of the
 * default mode, and the label-name checks of the classic and UTF-8 modes). Each test is named
 * after the upstream test it ports; each row keeps upstream's name, input, verdict, matchers and
 * error text. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/config.h"
#include "tocsin/labels.h"

#include "../../src/matchers_internal.h"

/* ---- matcher/parse/parse_test.go ---- */

typedef struct {
    enum tn_match_op op;
    const char *name, *value;
} want_t;

typedef struct {
    const char *name, *input;
    want_t m[2];
    size_t n;
    const char *err; /* NULL: accepted */
} mrow_t;

#define EQ(n, v)                                                                                   \
    {                                                                                              \
        TN_MATCH_EQ, n, v                                                                          \
    }
#define NE(n, v)                                                                                   \
    {                                                                                              \
        TN_MATCH_NE, n, v                                                                          \
    }
#define RE(n, v)                                                                                   \
    {                                                                                              \
        TN_MATCH_RE, n, v                                                                          \
    }
#define NRE(n, v)                                                                                  \
    {                                                                                              \
        TN_MATCH_NRE, n, v                                                                         \
    }

#define OK0(nm, in)                                                                                \
    {                                                                                              \
        nm, in, {{0}}, 0, NULL                                                                     \
    }
#define OK1(nm, in, a)                                                                             \
    {                                                                                              \
        nm, in, {a}, 1, NULL                                                                       \
    }
#define OK2(nm, in, a, b)                                                                          \
    {                                                                                              \
        nm, in, {a, b}, 2, NULL                                                                    \
    }
#define ERR(nm, in, e)                                                                             \
    {                                                                                              \
        nm, in, {{0}}, 0, e                                                                        \
    }

static const char *op_name(enum tn_match_op op)
{
    static const char *const names[] = {"=", "!=", "=~", "!~"};
    return (size_t)op < TN_ARRAY_LEN(names) ? names[op] : "?";
}

/* Why one parse does not match the row ("" when it does), in a static buffer so that the caller
 * can free the parse before failing. */
static const char *check_row(const char *what, const mrow_t *r, int rc, const tn_matcher_t *got,
                             size_t ngot, const char *err)
{
    static char why[2 * TN_ERRBUF_SIZE];

    why[0] = 0;
    if (r->err) {
        if (rc == TN_OK)
            snprintf(why, sizeof(why), "%s %s: accepted, want error \"%s\"", what, r->name, r->err);
        else if (strcmp(err, r->err) != 0)
            snprintf(why, sizeof(why), "%s %s: error \"%s\", want \"%s\"", what, r->name, err,
                     r->err);
        return why;
    }
    if (rc != TN_OK) {
        snprintf(why, sizeof(why), "%s %s: refused: %s", what, r->name, err);
        return why;
    }
    if (ngot != r->n) {
        snprintf(why, sizeof(why), "%s %s: %zu matchers, want %zu", what, r->name, ngot, r->n);
        return why;
    }
    for (size_t i = 0; i < r->n; i++) {
        const want_t *w = &r->m[i];
        if (got[i].op != w->op || strcmp(got[i].name, w->name) != 0 ||
            strcmp(got[i].value, w->value) != 0) {
            snprintf(why, sizeof(why), "%s %s: matcher %zu is %s%s\"%s\", want %s%s\"%s\"", what,
                     r->name, i, got[i].name, op_name(got[i].op), got[i].value, w->name,
                     op_name(w->op), w->value);
            break;
        }
    }
    return why;
}

static void run_matchers(const char *what, const mrow_t *rows, size_t n,
                         int (*parse)(const char *, tn_matchers_t *, char *, size_t))
{
    for (size_t i = 0; i < n; i++) {
        tn_matchers_t ms = {0};
        char err[TN_ERRBUF_SIZE] = "";
        int rc = parse(rows[i].input, &ms, err, sizeof(err));
        const char *why = check_row(what, &rows[i], rc, ms.v, ms.n, err);
        tn_matchers_free(&ms);
        if (why[0])
            fail_msg("%s", why);
    }
}

static void run_matcher(const char *what, const mrow_t *rows, size_t n,
                        int (*parse)(const char *, tn_matcher_t *, char *, size_t))
{
    for (size_t i = 0; i < n; i++) {
        tn_matcher_t m;
        char err[TN_ERRBUF_SIZE] = "";
        int rc = parse(rows[i].input, &m, err, sizeof(err));
        const char *why = check_row(what, &rows[i], rc, &m, rc == TN_OK ? 1 : 0, err);
        tn_matcher_free(&m);
        if (why[0])
            fail_msg("%s", why);
    }
}

/* UTF-8 strict mode is the UTF-8 parser for lists, as upstream's UTF8MatchersParser. */
static int parse_strict_mode(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    tn_labels_set_mode(TN_LABELS_UTF8_STRICT);
    int rc = tn_matchers_parse(s, out, err, errlen);
    tn_labels_set_mode(TN_LABELS_UTF8);
    return rc;
}

static void test_Matchers(void **state)
{
    static const mrow_t rows[] = {
        OK0("no braces", ""),
        OK0("open and closing braces", "{}"),
        OK1("equals", "{foo=bar}", EQ("foo", "bar")),
        OK1("equals with trailing comma", "{foo=bar,}", EQ("foo", "bar")),
        OK1("not equals", "{foo!=bar}", NE("foo", "bar")),
        OK1("match regex", "{foo=~[a-z]+}", RE("foo", "[a-z]+")),
        OK1("doesn't match regex", "{foo!~[a-z]+}", NRE("foo", "[a-z]+")),
        OK1("equals unicode emoji", "{foo=🙂}", EQ("foo", "🙂")),
        OK1("equals unicode sentence", "{foo=🙂bar}", EQ("foo", "🙂bar")),
        OK1("equals without braces", "foo=bar", EQ("foo", "bar")),
        OK1("equals without braces but with trailing comma", "foo=bar,", EQ("foo", "bar")),
        OK1("not equals without braces", "foo!=bar", NE("foo", "bar")),
        OK1("match regex without braces", "foo=~[a-z]+", RE("foo", "[a-z]+")),
        OK1("doesn't match regex without braces", "foo!~[a-z]+", NRE("foo", "[a-z]+")),
        OK1("equals in quotes", "{\"foo\"=\"bar\"}", EQ("foo", "bar")),
        OK1("equals in quotes and with trailing comma", "{\"foo\"=\"bar\",}", EQ("foo", "bar")),
        OK1("not equals in quotes", "{\"foo\"!=\"bar\"}", NE("foo", "bar")),
        OK1("match regex in quotes", "{\"foo\"=~\"[a-z]+\"}", RE("foo", "[a-z]+")),
        OK1("match regex digit in quotes", "{\"foo\"=~\"\\\\d+\"}", RE("foo", "\\d+")),
        OK1("doesn't match regex in quotes", "{\"foo\"!~\"[a-z]+\"}", NRE("foo", "[a-z]+")),
        OK1("equals unicode emoji in quotes", "{\"foo\"=\"🙂\"}", EQ("foo", "🙂")),
        OK1("equals unicode emoji as bytes in quotes", "{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}",
            EQ("foo", "🙂")),
        OK1("equals unicode emoji as code points in quotes", "{\"foo\"=\"\\U0001f642\"}",
            EQ("foo", "🙂")),
        OK1("equals unicode sentence in quotes", "{\"foo\"=\"🙂bar\"}", EQ("foo", "🙂bar")),
        OK1("equals with newline in quotes", "{\"foo\"=\"bar\\n\"}", EQ("foo", "bar\n")),
        OK1("equals with tab in quotes", "{\"foo\"=\"bar\\t\"}", EQ("foo", "bar\t")),
        OK1("equals with escaped quotes in quotes", "{\"foo\"=\"\\\"bar\\\"\"}",
            EQ("foo", "\"bar\"")),
        OK1("equals with escaped backslash in quotes", "{\"foo\"=\"bar\\\\\"}", EQ("foo", "bar\\")),
        OK1("equals without braces in quotes", "\"foo\"=\"bar\"", EQ("foo", "bar")),
        OK1("equals without braces in quotes with trailing comma", "\"foo\"=\"bar\",",
            EQ("foo", "bar")),
        OK2("complex", "{foo=bar,bar!=baz}", EQ("foo", "bar"), NE("bar", "baz")),
        OK2("complex in quotes", "{foo=\"bar\",bar!=\"baz\"}", EQ("foo", "bar"), NE("bar", "baz")),
        OK2("complex without braces", "foo=bar,bar!=baz", EQ("foo", "bar"), NE("bar", "baz")),
        OK2("complex without braces in quotes", "foo=\"bar\",bar!=\"baz\"", EQ("foo", "bar"),
            NE("bar", "baz")),
        ERR("comma", ",", "0:1: unexpected ,: expected label name"),
        ERR("comma in braces", "{,}", "1:2: unexpected ,: expected label name"),
        ERR("open brace", "{", "0:1: end of input: expected close brace"),
        ERR("close brace", "}", "0:1: }: expected opening brace"),
        ERR("no open brace", "foo=bar}", "0:8: }: expected opening brace"),
        ERR("no close brace", "{foo=bar", "0:8: end of input: expected close brace"),
        ERR("invalid input after operator and before quotes", "{foo=:\"bar\"}",
            "6:11: unexpected \"bar\": expected a comma or close brace"),
        ERR("invalid escape sequence", "{foo=\"bar\\w\"}", "5:12: \"bar\\w\": invalid input"),
        ERR("invalid escape sequence regex digits", "{\"foo\"=~\"\\d+\"}",
            "8:13: \"\\d+\": invalid input"),
        ERR("no unquoted escape sequences", "{foo=bar\\n}",
            "8:9: \\: invalid input: expected a comma or close brace"),
        ERR("invalid unicode", "{\"foo\"=\"\\xf0\\x9f\"}", "7:17: \"\\xf0\\x9f\": invalid input"),
    };
    (void)state;
    run_matchers("Matchers", rows, TN_ARRAY_LEN(rows), tn_matchers_parse_utf8);
    run_matchers("utf8-strict-mode", rows, TN_ARRAY_LEN(rows), parse_strict_mode);
}

static void test_Matcher(void **state)
{
    static const mrow_t rows[] = {
        OK1("equals", "{foo=bar}", EQ("foo", "bar")),
        OK1("equals with trailing comma", "{foo=bar,}", EQ("foo", "bar")),
        OK1("not equals", "{foo!=bar}", NE("foo", "bar")),
        OK1("match regex", "{foo=~[a-z]+}", RE("foo", "[a-z]+")),
        OK1("doesn't match regex", "{foo!~[a-z]+}", NRE("foo", "[a-z]+")),
        OK1("equals unicode emoji", "{foo=🙂}", EQ("foo", "🙂")),
        OK1("equals unicode emoji as bytes in quotes", "{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}",
            EQ("foo", "🙂")),
        OK1("equals unicode emoji as code points in quotes", "{\"foo\"=\"\\U0001f642\"}",
            EQ("foo", "🙂")),
        OK1("equals unicode sentence", "{foo=🙂bar}", EQ("foo", "🙂bar")),
        OK1("equals without braces", "foo=bar", EQ("foo", "bar")),
        OK1("equals without braces but with trailing comma", "foo=bar,", EQ("foo", "bar")),
        OK1("not equals without braces", "foo!=bar", NE("foo", "bar")),
        OK1("match regex without braces", "foo=~[a-z]+", RE("foo", "[a-z]+")),
        OK1("doesn't match regex without braces", "foo!~[a-z]+", NRE("foo", "[a-z]+")),
        OK1("equals in quotes", "{\"foo\"=\"bar\"}", EQ("foo", "bar")),
        OK1("equals in quotes and with trailing comma", "{\"foo\"=\"bar\",}", EQ("foo", "bar")),
        OK1("not equals in quotes", "{\"foo\"!=\"bar\"}", NE("foo", "bar")),
        OK1("match regex in quotes", "{\"foo\"=~\"[a-z]+\"}", RE("foo", "[a-z]+")),
        OK1("doesn't match regex in quotes", "{\"foo\"!~\"[a-z]+\"}", NRE("foo", "[a-z]+")),
        OK1("equals unicode emoji in quotes", "{\"foo\"=\"🙂\"}", EQ("foo", "🙂")),
        OK1("equals unicode sentence in quotes", "{\"foo\"=\"🙂bar\"}", EQ("foo", "🙂bar")),
        OK1("equals with newline in quotes", "{\"foo\"=\"bar\\n\"}", EQ("foo", "bar\n")),
        OK1("equals with tab in quotes", "{\"foo\"=\"bar\\t\"}", EQ("foo", "bar\t")),
        OK1("equals with escaped quotes in quotes", "{\"foo\"=\"\\\"bar\\\"\"}",
            EQ("foo", "\"bar\"")),
        OK1("equals with escaped backslash in quotes", "{\"foo\"=\"bar\\\\\"}", EQ("foo", "bar\\")),
        OK1("equals without braces in quotes", "\"foo\"=\"bar\"", EQ("foo", "bar")),
        OK1("equals without braces in quotes with trailing comma", "\"foo\"=\"bar\",",
            EQ("foo", "bar")),
        ERR("no input", "", "no matchers"),
        ERR("open and closing braces", "{}", "no matchers"),
        ERR("two or more returns error", "foo=bar,bar=baz", "expected 1 matcher, found 2"),
        ERR("invalid unicode", "foo=\"\\xf0\\x9f\"", "4:14: \"\\xf0\\x9f\": invalid input"),
    };
    (void)state;
    run_matcher("Matcher", rows, TN_ARRAY_LEN(rows), tn_matcher_parse_utf8);
}

/* ---- matcher/parse/lexer_test.go ---- */

typedef struct {
    enum tn_mtok_kind kind;
    const char *value;
    size_t off, end, col, col_end;
} wtok_t;

typedef struct {
    const char *name, *input;
    wtok_t t[2];
    size_t n;
    const char *err; /* NULL: end of input after the tokens */
} lrow_t;

#define T(k, v, os, oe, cs, ce)                                                                    \
    {                                                                                              \
        TN_MTOK_##k, v, os, oe, cs, ce                                                             \
    }

static const wtok_t zero_tok = {TN_MTOK_EOF, "", 0, 0, 0, 0};

static void expect_tok(const char *what, const tn_mlex_t *l, const tn_mtok_t *got, const wtok_t *w)
{
    size_t n = got->end - got->off;
    if (got->kind != w->kind || n != strlen(w->value) ||
        memcmp(l->in + got->off, w->value, n) != 0 || got->off != w->off || got->end != w->end ||
        got->col != w->col || got->col_end != w->col_end)
        fail_msg("%s: token %d '%.*s' %zu:%zu cols %zu:%zu, want %d '%s' %zu:%zu cols %zu:%zu",
                 what, (int)got->kind, (int)n, l->in + got->off, got->off, got->end, got->col,
                 got->col_end, (int)w->kind, w->value, w->off, w->end, w->col, w->col_end);
}

static void expect_lex_error(const char *what, const tn_mlex_t *l, int rc, const tn_mtok_t *t,
                             const char *want)
{
    if (rc == 0)
        fail_msg("%s: no error, want \"%s\"", what, want);
    expect_tok(what, l, t, &zero_tok);
    if (strcmp(l->lexerr, want) != 0)
        fail_msg("%s: error \"%s\", want \"%s\"", what, l->lexerr, want);
}

static void test_Lexer_Scan(void **state)
{
    static const lrow_t rows[] = {
        {"no input", "", {{0}}, 0, NULL},
        {"open brace", "{", {T(OPEN, "{", 0, 1, 0, 1)}, 1, NULL},
        {"open brace with leading space", " {", {T(OPEN, "{", 1, 2, 1, 2)}, 1, NULL},
        {"close brace", "}", {T(CLOSE, "}", 0, 1, 0, 1)}, 1, NULL},
        {"close brace with leading space", " }", {T(CLOSE, "}", 1, 2, 1, 2)}, 1, NULL},
        {"open and closing braces",
         "{}",
         {T(OPEN, "{", 0, 1, 0, 1), T(CLOSE, "}", 1, 2, 1, 2)},
         2,
         NULL},
        {"open and closing braces with space",
         "{ }",
         {T(OPEN, "{", 0, 1, 0, 1), T(CLOSE, "}", 2, 3, 2, 3)},
         2,
         NULL},
        {"unquoted", "hello", {T(UNQUOTED, "hello", 0, 5, 0, 5)}, 1, NULL},
        {"unquoted with underscore",
         "hello_world",
         {T(UNQUOTED, "hello_world", 0, 11, 0, 11)},
         1,
         NULL},
        {"unquoted with colon", "hello:world", {T(UNQUOTED, "hello:world", 0, 11, 0, 11)}, 1, NULL},
        {"unquoted with numbers",
         "hello0123456789",
         {T(UNQUOTED, "hello0123456789", 0, 15, 0, 15)},
         1,
         NULL},
        {"unquoted can start with underscore",
         "_hello",
         {T(UNQUOTED, "_hello", 0, 6, 0, 6)},
         1,
         NULL},
        {"unquoted separated with space",
         "hello world",
         {T(UNQUOTED, "hello", 0, 5, 0, 5), T(UNQUOTED, "world", 6, 11, 6, 11)},
         2,
         NULL},
        {"newline before unquoted is skipped",
         "\nhello",
         {T(UNQUOTED, "hello", 1, 6, 1, 6)},
         1,
         NULL},
        {"newline after unquoted is skipped",
         "hello\n",
         {T(UNQUOTED, "hello", 0, 5, 0, 5)},
         1,
         NULL},
        {"carriage return before unquoted is skipped",
         "\rhello",
         {T(UNQUOTED, "hello", 1, 6, 1, 6)},
         1,
         NULL},
        {"space before unquoted is skipped", " hello", {T(UNQUOTED, "hello", 1, 6, 1, 6)}, 1, NULL},
        {"space after unquoted is skipped", "hello ", {T(UNQUOTED, "hello", 0, 5, 0, 5)}, 1, NULL},
        {"newline between two unquoted is skipped",
         "hello\nworld",
         {T(UNQUOTED, "hello", 0, 5, 0, 5), T(UNQUOTED, "world", 6, 11, 6, 11)},
         2,
         NULL},
        {"unquoted $", "$", {T(UNQUOTED, "$", 0, 1, 0, 1)}, 1, NULL},
        {"unquoted emoji", "🙂", {T(UNQUOTED, "🙂", 0, 4, 0, 1)}, 1, NULL},
        {"unquoted unicode", "Σ", {T(UNQUOTED, "Σ", 0, 2, 0, 1)}, 1, NULL},
        {"unquoted unicode sentence",
         "hello🙂Σ world",
         {T(UNQUOTED, "hello🙂Σ", 0, 11, 0, 7), T(UNQUOTED, "world", 12, 17, 8, 13)},
         2,
         NULL},
        {"unquoted unicode sentence with unicode space",
         "hello🙂Σ\u202fworld",
         {T(UNQUOTED, "hello🙂Σ", 0, 11, 0, 7), T(UNQUOTED, "world", 14, 19, 8, 13)},
         2,
         NULL},
        {"quoted", "\"hello\"", {T(QUOTED, "\"hello\"", 0, 7, 0, 7)}, 1, NULL},
        {"quoted with unicode",
         "\"hello 🙂\"",
         {T(QUOTED, "\"hello 🙂\"", 0, 12, 0, 9)},
         1,
         NULL},
        {"quoted with space",
         "\"hello world\"",
         {T(QUOTED, "\"hello world\"", 0, 13, 0, 13)},
         1,
         NULL},
        {"quoted with unicode space",
         "\"hello\u202fworld\"",
         {T(QUOTED, "\"hello\u202fworld\"", 0, 15, 0, 13)},
         1,
         NULL},
        {"quoted with newline",
         "\"hello\nworld\"",
         {T(QUOTED, "\"hello\nworld\"", 0, 13, 0, 13)},
         1,
         NULL},
        {"quoted with tab",
         "\"hello\tworld\"",
         {T(QUOTED, "\"hello\tworld\"", 0, 13, 0, 13)},
         1,
         NULL},
        {"quoted with regex digit character class",
         "\"\\d+\"",
         {T(QUOTED, "\"\\d+\"", 0, 5, 0, 5)},
         1,
         NULL},
        {"quoted with escaped regex digit character class",
         "\"\\\\d+\"",
         {T(QUOTED, "\"\\\\d+\"", 0, 6, 0, 6)},
         1,
         NULL},
        {"quoted with escaped quotes",
         "\"hello \\\"world\\\"\"",
         {T(QUOTED, "\"hello \\\"world\\\"\"", 0, 17, 0, 17)},
         1,
         NULL},
        {"quoted with escaped backslash",
         "\"hello world\\\\\"",
         {T(QUOTED, "\"hello world\\\\\"", 0, 15, 0, 15)},
         1,
         NULL},
        {"quoted escape sequence", "\"\\n\"", {T(QUOTED, "\"\\n\"", 0, 4, 0, 4)}, 1, NULL},
        {"equals operator", "=", {T(EQ, "=", 0, 1, 0, 1)}, 1, NULL},
        {"not equals operator", "!=", {T(NE, "!=", 0, 2, 0, 2)}, 1, NULL},
        {"matches regex operator", "=~", {T(RE, "=~", 0, 2, 0, 2)}, 1, NULL},
        {"not matches regex operator", "!~", {T(NRE, "!~", 0, 2, 0, 2)}, 1, NULL},
        {"invalid operator", "!", {{0}}, 0, "0:1: unexpected end of input, expected one of '=~'"},
        {"another invalid operator", "~", {{0}}, 0, "0:1: ~: invalid input"},
        {"unexpected ! after operator",
         "=!",
         {T(EQ, "=", 0, 1, 0, 1)},
         1,
         "1:2: unexpected end of input, expected one of '=~'"},
        {"unexpected !! after operator",
         "!=!!",
         {T(NE, "!=", 0, 2, 0, 2)},
         1,
         "2:3: !: expected one of '=~'"},
        {"unexpected ! after unquoted",
         "hello!",
         {T(UNQUOTED, "hello", 0, 5, 0, 5)},
         1,
         "5:6: unexpected end of input, expected one of '=~'"},
        {"invalid escape sequence", "\\n", {{0}}, 0, "0:1: \\: invalid input"},
        {"invalid escape sequence before unquoted", "\\nhello", {{0}}, 0, "0:1: \\: invalid input"},
        {"invalid escape sequence after unquoted",
         "hello\\n",
         {T(UNQUOTED, "hello", 0, 5, 0, 5)},
         1,
         "5:6: \\: invalid input"},
        {"another invalid escape sequence after unquoted",
         "hello\\r",
         {T(UNQUOTED, "hello", 0, 5, 0, 5)},
         1,
         "5:6: \\: invalid input"},
        {"unterminated quoted", "\"hello", {{0}}, 0, "0:6: \"hello: missing end \""},
        {"unterminated quoted with escaped quote",
         "\"hello\\\"",
         {{0}},
         0,
         "0:8: \"hello\\\": missing end \""},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(rows); i++) {
        const lrow_t *r = &rows[i];
        tn_mlex_t l;
        tn_mtok_t t;
        int rc;

        tn_mlex_init(&l, r->input, strlen(r->input));
        for (size_t k = 0; k < r->n; k++) {
            rc = tn_mlex_scan(&l, &t);
            if (rc != 0)
                fail_msg("%s: token %zu: %s", r->name, k, l.lexerr);
            expect_tok(r->name, &l, &t, &r->t[k]);
        }
        rc = tn_mlex_scan(&l, &t);
        if (r->err) {
            expect_lex_error(r->name, &l, rc, &t, r->err);
        } else {
            if (rc != 0)
                fail_msg("%s: at the end: %s", r->name, l.lexerr);
            expect_tok(r->name, &l, &t, &zero_tok);
        }
    }
}

/* No more tokens once an error has occurred. */
static void test_Lexer_ScanError(void **state)
{
    tn_mlex_t l;
    tn_mtok_t t;
    (void)state;
    tn_mlex_init(&l, "\"hello", 6);
    for (int i = 0; i < 10; i++)
        expect_lex_error("ScanError", &l, tn_mlex_scan(&l, &t), &t, "0:6: \"hello: missing end \"");
}

static void test_Lexer_Peek(void **state)
{
    static const wtok_t hello = T(UNQUOTED, "hello", 0, 5, 0, 5);
    static const wtok_t world = T(UNQUOTED, "world", 6, 11, 6, 11);
    tn_mlex_t l;
    tn_mtok_t t;
    (void)state;
    tn_mlex_init(&l, "hello world", 11);
    /* peek returns the first token, and scan then returns it too */
    assert_int_equal(tn_mlex_peek(&l, &t), 0);
    expect_tok("peek 1", &l, &t, &hello);
    assert_int_equal(tn_mlex_scan(&l, &t), 0);
    expect_tok("scan 1", &l, &t, &hello);
    /* peek returns the second token until the next scan */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(tn_mlex_peek(&l, &t), 0);
        expect_tok("peek 2", &l, &t, &world);
    }
    assert_int_equal(tn_mlex_scan(&l, &t), 0);
    expect_tok("scan 2", &l, &t, &world);
    /* nothing further to peek */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(tn_mlex_peek(&l, &t), 0);
        expect_tok("peek end", &l, &t, &zero_tok);
    }
}

/* No more tokens once an error has occurred, peeking either. */
static void test_Lexer_PeekError(void **state)
{
    tn_mlex_t l;
    tn_mtok_t t;
    (void)state;
    tn_mlex_init(&l, "\"hello", 6);
    for (int i = 0; i < 10; i++)
        expect_lex_error("PeekError", &l, tn_mlex_peek(&l, &t), &t, "0:6: \"hello: missing end \"");
}

static void test_Lexer_Pos(void **state)
{
    static const wtok_t start = {TN_MTOK_EOF, "", 0, 0, 0, 0};
    tn_mlex_t l;
    tn_mtok_t t, pos;
    (void)state;
    tn_mlex_init(&l, "hello🙂", strlen("hello🙂"));
    /* the start position is all zeros */
    pos = tn_mlex_position(&l);
    assert_int_equal(pos.kind, start.kind);
    assert_int_equal(pos.off, 0);
    assert_int_equal(pos.end, 0);
    assert_int_equal(pos.col, 0);
    assert_int_equal(pos.col_end, 0);
    assert_int_equal(tn_mlex_scan(&l, &t), 0);
    /* then the offset and column of the end */
    pos = tn_mlex_position(&l);
    assert_int_equal(pos.off, 9);
    assert_int_equal(pos.end, 9);
    assert_int_equal(pos.col, 6);
    assert_int_equal(pos.col_end, 6);
    /* and it does not move once the input is used up */
    assert_int_equal(tn_mlex_scan(&l, &t), 0);
    assert_int_equal(t.kind, TN_MTOK_EOF);
    pos = tn_mlex_position(&l);
    assert_int_equal(pos.off, 9);
    assert_int_equal(pos.end, 9);
    assert_int_equal(pos.col, 6);
    assert_int_equal(pos.col_end, 6);
}

/* ---- matcher/compat/parse_test.go ---- */

/* The default mode (no classic-mode, no utf8-strict-mode) is upstream's fallback parser. */
static void test_FallbackMatcherParser(void **state)
{
    static const mrow_t rows[] = {
        OK1("input is accepted", "foo=bar", EQ("foo", "bar")),
        ERR("input is accepted in neither", "foo!bar", "bad matcher format: foo!bar"),
        OK1("input is accepted in matchers/parse but not pkg/labels", "foo🙂=bar",
            EQ("foo🙂", "bar")),
        OK1("input is accepted in pkg/labels but not matchers/parse", "foo=!bar\\n",
            EQ("foo", "!bar\n")),
        /* \xf0\x9f\x99\x82 is 🙂 to the UTF-8 parser and four escapes kept as they are to the
         * classic one; on disagreement the classic parse wins. */
        OK1("input causes disagreement", "foo=\"\\xf0\\x9f\\x99\\x82\"",
            EQ("foo", "\\xf0\\x9f\\x99\\x82")),
    };
    (void)state;
    tn_labels_set_mode(TN_LABELS_UTF8);
    run_matcher("FallbackMatcherParser", rows, TN_ARRAY_LEN(rows), tn_matcher_parse);
}

static void test_FallbackMatchersParser(void **state)
{
    static const mrow_t rows[] = {
        OK2("input is accepted", "{foo=bar,bar=baz}", EQ("foo", "bar"), EQ("bar", "baz")),
        ERR("input is accepted in neither", "{foo!bar}", "bad matcher format: foo!bar"),
        OK2("input is accepted in matchers/parse but not pkg/labels", "{foo🙂=bar,bar=baz🙂}",
            EQ("foo🙂", "bar"), EQ("bar", "baz🙂")),
        OK2("is accepted in pkg/labels but not matchers/parse", "{foo=!bar,bar=$baz\\n}",
            EQ("foo", "!bar"), EQ("bar", "$baz\n")),
        OK1("input causes disagreement", "{foo=\"\\xf0\\x9f\\x99\\x82\"}",
            EQ("foo", "\\xf0\\x9f\\x99\\x82")),
    };
    (void)state;
    tn_labels_set_mode(TN_LABELS_UTF8);
    run_matchers("FallbackMatchersParser", rows, TN_ARRAY_LEN(rows), tn_matchers_parse);
}

typedef struct {
    const char *name, *input;
    bool valid;
} nrow_t;

static void run_names(const char *what, const nrow_t *rows, size_t n, bool classic)
{
    for (size_t i = 0; i < n; i++)
        if (tn_label_name_valid(rows[i].input, strlen(rows[i].input), classic) != rows[i].valid)
            fail_msg("%s %s: \"%s\" is %s", what, rows[i].name, rows[i].input,
                     rows[i].valid ? "refused" : "accepted");
}

static void test_IsValidClassicLabelName(void **state)
{
    static const nrow_t rows[] = {
        {"foo is accepted", "foo", true},
        {"starts with underscore and ends with number is accepted", "_foo1", true},
        {"empty is not accepted", "", false},
        {"starts with number is not accepted", "0foo", false},
        {"contains emoji is not accepted", "foo🙂", false},
    };
    (void)state;
    run_names("IsValidClassicLabelName", rows, TN_ARRAY_LEN(rows), true);
}

static void test_IsValidUTF8LabelName(void **state)
{
    static const nrow_t rows[] = {
        {"foo is accepted", "foo", true},
        {"starts with underscore and ends with number is accepted", "_foo1", true},
        {"starts with number is accepted", "0foo", true},
        {"contains emoji is accepted", "foo🙂", true},
        {"empty is not accepted", "", false},
    };
    (void)state;
    run_names("IsValidUTF8LabelName", rows, TN_ARRAY_LEN(rows), false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Matchers),
        cmocka_unit_test(test_Matcher),
        cmocka_unit_test(test_Lexer_Scan),
        cmocka_unit_test(test_Lexer_ScanError),
        cmocka_unit_test(test_Lexer_Peek),
        cmocka_unit_test(test_Lexer_PeekError),
        cmocka_unit_test(test_Lexer_Pos),
        cmocka_unit_test(test_FallbackMatcherParser),
        cmocka_unit_test(test_FallbackMatchersParser),
        cmocka_unit_test(test_IsValidClassicLabelName),
        cmocka_unit_test(test_IsValidUTF8LabelName),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
