/* Matchers: parsing the common forms, Alertmanager's string form, matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin/config.h"

static void test_parse_format(void **state)
{
    static const struct {
        const char *in;
        enum tn_match_op op;
        const char *name, *value, *formatted;
    } cases[] = {
        {"severity=\"critical\"", TN_MATCH_EQ, "severity", "critical", "severity=\"critical\""},
        {"foo=~\"a|b\"", TN_MATCH_RE, "foo", "a|b", "foo=~\"a|b\""},
        {"foo!=bar", TN_MATCH_NE, "foo", "bar", "foo!=\"bar\""},
        {"  foo !~ \"x.*\"  ", TN_MATCH_NRE, "foo", "x.*", "foo!~\"x.*\""},
        {"foo = bar baz ", TN_MATCH_EQ, "foo", "bar baz", "foo=\"bar baz\""},
        {"foo=\"with \\\"q\\\"\"", TN_MATCH_EQ, "foo", "with \"q\"", "foo=\"with \\\"q\\\"\""},
        {"foo=\"a\\nb\"", TN_MATCH_EQ, "foo", "a\nb", "foo=\"a\\nb\""},
        {"foo=\"a\\\\b\"", TN_MATCH_EQ, "foo", "a\\b", "foo=\"a\\\\b\""},
        {"foo=\"\"", TN_MATCH_EQ, "foo", "", "foo=\"\""},
        {"foo=", TN_MATCH_EQ, "foo", "", "foo=\"\""},
        {"foo=\"a\\tb\"", TN_MATCH_EQ, "foo", "a\\tb", "foo=\"a\\\\tb\""},
        {"\"foo bar\"=\"x\"", TN_MATCH_EQ, "foo bar", "x", "\"foo bar\"=\"x\""},
        {"\"a,b\"!~\"c\\nd\"", TN_MATCH_NRE, "a,b", "c\nd", "\"a,b\"!~\"c\\nd\""},
        {"job=~\"node|prom\"", TN_MATCH_RE, "job", "node|prom", "job=~\"node|prom\""},
        {"__name__=up", TN_MATCH_EQ, "__name__", "up", "__name__=\"up\""},
        {"foo=\"ü\"", TN_MATCH_EQ, "foo", "ü", "foo=\"ü\""},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m;
        char err[256] = "";
        tn_buf_t b;
        if (tn_matcher_parse(cases[i].in, &m, err, sizeof(err)) != TN_OK)
            fail_msg("%s: %s", cases[i].in, err);
        assert_int_equal(m.op, cases[i].op);
        assert_string_equal(m.name, cases[i].name);
        assert_string_equal(m.value, cases[i].value);
        assert_true((m.re != NULL) == (m.op == TN_MATCH_RE || m.op == TN_MATCH_NRE));
        tn_buf_init(&b, 0);
        assert_int_equal(tn_matcher_format(&b, &m), TN_OK);
        assert_string_equal(tn_buf_cstr(&b), cases[i].formatted);
        tn_buf_free(&b);
        tn_matcher_free(&m);
    }
}

static void test_parse_invalid(void **state)
{
    static const char *const cases[] = {
        "foo",       "=bar", "foo=~\"(\"",  "foo=\"a\"b\"", "foo=bar\"",
        "foo=\"bar", "",     "foo=~\"a)\"", "foo bar=baz",
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m;
        char err[256] = "";
        if (tn_matcher_parse(cases[i], &m, err, sizeof(err)) == TN_OK) {
            tn_matcher_free(&m);
            fail_msg("\"%s\" parsed", cases[i]);
        }
        assert_true(err[0] != 0);
    }
}

static void test_parse_list_sort_format(void **state)
{
    tn_matchers_t ms = {0};
    char err[256];
    tn_buf_t b;
    (void)state;

    assert_int_equal(tn_matchers_parse("{b=\"1\", a=~\"x,y\",a=\"z\"}", &ms, err, sizeof(err)),
                     TN_OK);
    assert_int_equal(ms.n, 3);
    assert_string_equal(ms.v[1].value, "x,y");
    tn_matchers_sort(&ms);
    tn_buf_init(&b, 0);
    assert_int_equal(tn_matchers_format(&b, &ms), TN_OK);
    assert_string_equal(tn_buf_cstr(&b), "{a=~\"x,y\",a=\"z\",b=\"1\"}");
    tn_buf_free(&b);
    tn_matchers_free(&ms);

    /* Same name and value: ordered by operator (= before !=). */
    assert_int_equal(tn_matchers_parse("a!=v,a=v", &ms, err, sizeof(err)), TN_OK);
    tn_matchers_sort(&ms);
    tn_buf_init(&b, 0);
    tn_matchers_format(&b, &ms);
    assert_string_equal(tn_buf_cstr(&b), "{a=\"v\",a!=\"v\"}");
    tn_buf_free(&b);
    tn_matchers_free(&ms);

    assert_int_equal(tn_matchers_parse("{}", &ms, err, sizeof(err)), TN_OK);
    assert_int_equal(ms.n, 0);
    tn_buf_init(&b, 0);
    tn_matchers_format(&b, &ms);
    assert_string_equal(tn_buf_cstr(&b), "{}");
    tn_buf_free(&b);
    tn_matchers_free(&ms);

    assert_int_not_equal(tn_matchers_parse("a=b,,c=d", &ms, err, sizeof(err)), TN_OK);
    tn_matchers_free(&ms);
}

/* The UTF-8 syntax and its error messages (positions are rune columns), in strict mode. */
static void test_utf8_syntax(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* "name op value|..." joined, or NULL */
        const char *err;  /* expected error, or NULL */
    } cases[] = {
        {"", "", NULL},
        {"{}", "", NULL},
        {"{foo=bar}", "foo=bar|", NULL},
        {"{foo=bar,}", "foo=bar|", NULL},
        {"{foo!=bar}", "foo!=bar|", NULL},
        {"{foo=~[a-z]+}", "foo=~[a-z]+|", NULL},
        {"{foo!~[a-z]+}", "foo!~[a-z]+|", NULL},
        {"{foo=🙂bar}", "foo=🙂bar|", NULL},
        {"foo=bar,", "foo=bar|", NULL},
        {"{\"foo\"=\"bar\"}", "foo=bar|", NULL},
        {"{\"foo\"=~\"\\\\d+\"}", "foo=~\\d+|", NULL},
        {"{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}", "foo=🙂|", NULL},
        {"{\"foo\"=\"\\U0001f642\"}", "foo=🙂|", NULL},
        {"{\"foo\"=\"bar\\t\"}", "foo=bar\t|", NULL},
        {"{\"foo\"=\"\\\"bar\\\"\"}", "foo=\"bar\"|", NULL},
        {"{\"foo\"=\"bar\\\\\"}", "foo=bar\\|", NULL},
        {"{foo=bar,bar!=baz}", "foo=bar|bar!=baz|", NULL},
        {" { foo = \"a b\" , \"a,b}\" !~ \"x|y\" } ", "foo=a b|a,b}!~x|y|", NULL},
        {"{\"ü ñ\"=\"x\"}", "ü ñ=x|", NULL},
        {",", NULL, "0:1: unexpected ,: expected label name"},
        {"{,}", NULL, "1:2: unexpected ,: expected label name"},
        {"{", NULL, "0:1: end of input: expected close brace"},
        {"}", NULL, "0:1: }: expected opening brace"},
        {"foo=bar}", NULL, "0:8: }: expected opening brace"},
        {"{foo=bar", NULL, "0:8: end of input: expected close brace"},
        {"{foo=:\"bar\"}", NULL, "6:11: unexpected \"bar\": expected a comma or close brace"},
        {"{foo=\"bar\\w\"}", NULL, "5:12: \"bar\\w\": invalid input"},
        {"{\"foo\"=~\"\\d+\"}", NULL, "8:13: \"\\d+\": invalid input"},
        {"{foo=bar\\n}", NULL, "8:9: \\: invalid input: expected a comma or close brace"},
        {"{\"foo\"=\"\\xf0\\x9f\"}", NULL, "7:17: \"\\xf0\\x9f\": invalid input"},
        {"foo", NULL, "end of input: expected an operator such as '=', '!=', '=~' or '!~'"},
        {"foo=", NULL, "end of input: expected label value"},
        {"foo!bar", NULL,
         "3:4: !: expected one of '=~': expected an operator such as '=', '!=', '=~' or '!~'"},
        {"foo!", NULL,
         "3:4: unexpected end of input, expected one of '=~': expected an operator such as "
         "'=', '!=', '=~' or '!~'"},
        {"foo=\"bar", NULL, "4:8: \"bar: missing end \": expected label value"},
        {"{foo=bar}}", NULL, "9:10: }: expected end of input"},
        {"foo=bar baz", NULL, "8:11: unexpected baz: expected a comma or close brace"},
        {"foo=bar,,", NULL, "8:9: unexpected ,: expected a matcher or close brace after comma"},
        {"a=\"\\'\"", NULL, "2:6: \"\\'\": invalid input"},
        {"a=\"\\ud800\"", NULL, "2:10: \"\\ud800\": invalid input"},
        {"a=~\"(\"", NULL, "failed to create matcher: "},
    };
    (void)state;
    tn_labels_set_mode(TN_LABELS_UTF8_STRICT);
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matchers_t ms = {0};
        char err[512] = "";
        int rc = tn_matchers_parse(cases[i].in, &ms, err, sizeof(err));
        if (cases[i].err) {
            if (rc == TN_OK)
                fail_msg("%s: accepted", cases[i].in);
            if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
                fail_msg("%s: error %s, want %s", cases[i].in, err, cases[i].err);
        } else {
            tn_buf_t b;
            if (rc != TN_OK)
                fail_msg("%s: %s", cases[i].in, err);
            tn_buf_init(&b, 0);
            for (size_t j = 0; j < ms.n; j++) {
                static const char *const ops[] = {"=", "!=", "=~", "!~"};
                tn_buf_puts(&b, ms.v[j].name);
                tn_buf_puts(&b, ops[ms.v[j].op]);
                tn_buf_puts(&b, ms.v[j].value);
                tn_buf_putc(&b, '|');
            }
            if (strcmp(tn_buf_cstr(&b), cases[i].want) != 0)
                fail_msg("%s: got %s want %s", cases[i].in, tn_buf_cstr(&b), cases[i].want);
            tn_buf_free(&b);
        }
        tn_matchers_free(&ms);
    }
    tn_labels_set_mode(TN_LABELS_UTF8);
}

/* One matcher where one is expected (API filters, amtool arguments), in each mode. */
static void test_single_modes(void **state)
{
    static const struct {
        enum tn_label_mode mode;
        const char *in;
        const char *value; /* NULL = must fail */
        const char *err;
    } cases[] = {
        {TN_LABELS_UTF8_STRICT, "", NULL, "no matchers"},
        {TN_LABELS_UTF8_STRICT, "foo=bar,bar=baz", NULL, "expected 1 matcher, found 2"},
        {TN_LABELS_UTF8_STRICT, "foo=\"\\xf0\\x9f\"", NULL, "4:14: \"\\xf0\\x9f\": invalid input"},
        {TN_LABELS_UTF8_STRICT, "{foo=bar}", NULL, "unexpected open or close brace: {foo=bar}"},
        {TN_LABELS_UTF8_STRICT, "foo=", NULL, "end of input: expected label value"},
        {TN_LABELS_UTF8, "{foo=bar}", NULL, "unexpected open or close brace"},
        {TN_LABELS_UTF8, "foo=", "", NULL},
        {TN_LABELS_UTF8, "foo=a,b", "a,b", NULL},         /* classic reads one matcher */
        {TN_LABELS_UTF8, "foo=\"a\\tb\"", "a\\tb", NULL}, /* disagreement: classic wins */
        {TN_LABELS_UTF8, "foo=\"bar\"", "bar", NULL},
        {TN_LABELS_UTF8, "\"föö bar\"=\"x\"", "x", NULL},
        {TN_LABELS_UTF8, "foo", NULL, "bad matcher format: foo"},
        {TN_LABELS_CLASSIC, "{foo=bar}", NULL, "bad matcher format: {foo=bar}"},
        {TN_LABELS_CLASSIC, "\"foo\"=bar", NULL, "bad matcher format"},
        {TN_LABELS_CLASSIC, "foo=\"a\"b\"", NULL, "matcher value contains unescaped double quote"},
        {TN_LABELS_CLASSIC, "foo=\"bar", NULL, "matcher value contains unescaped double quote"},
        {TN_LABELS_CLASSIC, "a:b = x y \t", "x y", NULL},
        {TN_LABELS_CLASSIC, "foo==bar", "=bar", NULL},
        {TN_LABELS_CLASSIC, "foo=\"a\\qb\\\\\"", "a\\qb\\", NULL},
        {TN_LABELS_CLASSIC, "foo=\xff", NULL, "matcher value not valid UTF-8"},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m;
        char err[512] = "";
        tn_labels_set_mode(cases[i].mode);
        int rc = tn_matcher_parse(cases[i].in, &m, err, sizeof(err));
        if (!cases[i].value) {
            if (rc == TN_OK)
                fail_msg("%s: accepted", cases[i].in);
            if (!strstr(err, cases[i].err))
                fail_msg("%s: error %s, want %s", cases[i].in, err, cases[i].err);
            continue;
        }
        if (rc != TN_OK)
            fail_msg("%s: %s", cases[i].in, err);
        assert_string_equal(m.value, cases[i].value);
        tn_matcher_free(&m);
    }
    /* When both parsers fail, the answer is the classic parser's error alone, word for word. */
    tn_labels_set_mode(TN_LABELS_UTF8);
    {
        tn_matcher_t m;
        char err[512] = "";
        assert_int_not_equal(tn_matcher_parse("foo!bar", &m, err, sizeof(err)), TN_OK);
        assert_string_equal(err, "bad matcher format: foo!bar");
    }
}

/* Classic lists: commas inside quotes kept, an empty element refused, a trailing one not. */
static void test_classic_list(void **state)
{
    tn_matchers_t ms = {0};
    char err[512];
    (void)state;

    tn_labels_set_mode(TN_LABELS_CLASSIC);
    assert_int_equal(tn_matchers_parse("{a=\"x,\\\"y\", b=~c.*,}", &ms, err, sizeof(err)), TN_OK);
    assert_int_equal(ms.n, 2);
    assert_string_equal(ms.v[0].value, "x,\"y");
    assert_string_equal(ms.v[1].value, "c.*");
    tn_matchers_free(&ms);
    assert_int_not_equal(tn_matchers_parse("a=b,,c=d", &ms, err, sizeof(err)), TN_OK);
    assert_string_equal(err, "bad matcher format: ");
    tn_matchers_free(&ms);
    assert_int_equal(tn_matchers_parse("", &ms, err, sizeof(err)), TN_OK);
    assert_int_equal(ms.n, 0);
    tn_labels_set_mode(TN_LABELS_UTF8);
}

/* Regexes mean what Go's RE2 means: PCRE2-only constructs are refused. */
static void test_re2_compat(void **state)
{
    static const struct {
        const char *re;
        bool ok;
        const char *subject;
        bool match;
    } cases[] = {
        {"(a)\\1", false, NULL, false},
        {"(?=a)a", false, NULL, false},
        {"(?!a)b", false, NULL, false},
        {"(?<=a)b", false, NULL, false},
        {"(?<!a)b", false, NULL, false},
        {"(?>a+)", false, NULL, false},
        {"a++", false, NULL, false},
        {"a*+", false, NULL, false},
        {"a{2}+", false, NULL, false},
        {"a**", false, NULL, false},
        {"a{1001}", false, NULL, false},
        {"(*UTF)a", false, NULL, false},
        {"(?R)", false, NULL, false},
        {"(?#c)a", false, NULL, false},
        {"(?x)a b", false, NULL, false},
        {"\\k<n>", false, NULL, false},
        {"\\Z", false, NULL, false},
        {"\\h", false, NULL, false},
        {"a\\Kb", false, NULL, false},
        {"[\\b]", false, NULL, false},
        {"(?i)CRIT", true, "crit", true},
        {"(?P<x>a)b", true, "ab", true},
        {"(?<x>a)b", true, "ab", true},
        {"(?i:A)b", true, "ab", true},
        {"a{2,3}?", true, "aa", true},
        {"a{1000}", true, "a", false},
        {"x{", true, "x{", true},
        {"\\v", true, "\v", true},
        {"\\v", true, "\n", false},
        {"[\\d\\-]+", true, "1-2", true},
        {"[[:alpha:]]+", true, "abc", true},
        {"\\Q(?=\\E", true, "(?=", true},
        {"\\.\\*", true, ".*", true},
        {"^a$|b", true, "b", true},
        {"\\pL+", true, "ü", true},
        {"\\x{1F642}", true, "🙂", true},
        {"\\0", true, "", false},
        {"\\12", true, "\n", true}, /* octal, as in Go */
        {"a\\Cb", false, NULL, false},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m;
        char err[512] = "";
        int rc = tn_matcher_init(&m, TN_MATCH_RE, "l", cases[i].re, err, sizeof(err));
        if ((rc == TN_OK) != cases[i].ok)
            fail_msg("%s: rc %d (%s)", cases[i].re, rc, err);
        if (rc != TN_OK) {
            assert_non_null(strstr(err, "error parsing regexp: "));
            continue;
        }
        if (tn_matcher_matches(&m, cases[i].subject) != cases[i].match)
            fail_msg("%s vs %s", cases[i].re, cases[i].subject);
        tn_matcher_free(&m);
    }
}

/* Refusals worded as Go's regexp/syntax words them (the fragment it quotes included). */
static void test_regex_errors_as_go(void **state)
{
    static const struct {
        const char *re, *err;
    } cases[] = {
        {"(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"},
        {"(?=a)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
        {"(?!a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"},
        {"(?<=a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
        {"(?<!a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
        {"(?>a+)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`"},
        {"a++", "error parsing regexp: invalid nested repetition operator: `++`"},
        {"a*+", "error parsing regexp: invalid nested repetition operator: `*+`"},
        {"a{2}+", "error parsing regexp: invalid nested repetition operator: `{2}+`"},
        {"a**", "error parsing regexp: invalid nested repetition operator: `**`"},
        {"a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"},
        {"(*UTF)a", "error parsing regexp: missing argument to repetition operator: `*`"},
        {"(?R)", "error parsing regexp: invalid or unsupported Perl syntax: `(?R`"},
        {"(?#c)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?#`"},
        {"(?x)a b", "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"},
        {"\\k<n>", "error parsing regexp: invalid escape sequence: `\\k`"},
        {"\\Z", "error parsing regexp: invalid escape sequence: `\\Z`"},
        {"\\h", "error parsing regexp: invalid escape sequence: `\\h`"},
        {"a\\Kb", "error parsing regexp: invalid escape sequence: `\\K`"},
        {"[\\b]", "error parsing regexp: invalid escape sequence: `\\b`"},
        {"[a-z", "error parsing regexp: missing closing ]: `[a-z)$`"},
        {"(a", "error parsing regexp: missing closing ): `^(?:(a)$`"},
        {"a)", "error parsing regexp: unexpected ): `^(?:a))$`"},
        {"[z-a]", "error parsing regexp: invalid character class range: `z-a`"},
        {"[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`"},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m;
        char err[512] = "";
        assert_int_not_equal(tn_matcher_init(&m, TN_MATCH_RE, "l", cases[i].re, err, sizeof(err)),
                             TN_OK);
        if (strcmp(err, cases[i].err))
            fail_msg("%s: got %s, want %s", cases[i].re, err, cases[i].err);
    }
}

static tn_matcher_t mk(enum tn_match_op op, const char *name, const char *value)
{
    tn_matcher_t m;
    char err[256];
    if (tn_matcher_init(&m, op, name, value, err, sizeof(err)) != TN_OK)
        fail_msg("%s", err);
    return m;
}

static void test_match(void **state)
{
    static const struct {
        enum tn_match_op op;
        const char *value, *input; /* input NULL = label missing */
        bool want;
    } cases[] = {
        {TN_MATCH_EQ, "a", "a", true},
        {TN_MATCH_EQ, "a", "b", false},
        {TN_MATCH_EQ, "", NULL, true},
        {TN_MATCH_EQ, "a", NULL, false},
        {TN_MATCH_NE, "a", NULL, true},
        {TN_MATCH_NE, "a", "a", false},
        {TN_MATCH_RE, "a|b", "a", true},
        {TN_MATCH_RE, "a|b", "b", true},
        {TN_MATCH_RE, "a|b", "ab", false},
        {TN_MATCH_RE, "a", "xa", false},
        {TN_MATCH_RE, "a", "a\n", false},
        {TN_MATCH_RE, ".*", NULL, true},
        {TN_MATCH_RE, ".+", NULL, false},
        {TN_MATCH_NRE, ".+", NULL, true},
        {TN_MATCH_NRE, "prod.*", "production", false},
        {TN_MATCH_RE, "ü+", "üü", true},
        {TN_MATCH_RE, "(?i)CRIT", "crit", true},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m = mk(cases[i].op, "l", cases[i].value);
        if (tn_matcher_matches(&m, cases[i].input) != cases[i].want)
            fail_msg("case %zu: %s vs %s", i, cases[i].value,
                     cases[i].input ? cases[i].input : "(missing)");
        tn_matcher_free(&m);
    }
}

static void test_matchers_match_labels(void **state)
{
    tn_label_t pairs[2];
    tn_labels_t ls;
    tn_matchers_t ms = {0};
    char err[256];
    (void)state;

    pairs[0].name = tn_intern_cstr("severity");
    pairs[0].value = tn_intern_cstr("critical");
    pairs[1].name = tn_intern_cstr("alertname");
    pairs[1].value = tn_intern_cstr("Down");
    assert_int_equal(tn_labels_sort(pairs, 2), TN_OK);
    ls.v = pairs;
    ls.n = 2;
    assert_int_equal(
        tn_matchers_parse("severity=~\"crit.*\",alertname!=Up,team=\"\"", &ms, err, sizeof(err)),
        TN_OK);
    assert_true(tn_matchers_match(&ms, ls));
    tn_matchers_free(&ms);
    assert_int_equal(tn_matchers_parse("severity=~\"crit.*\",team!=\"\"", &ms, err, sizeof(err)),
                     TN_OK);
    assert_false(tn_matchers_match(&ms, ls));
    tn_matchers_free(&ms);
    for (int i = 0; i < 2; i++) {
        tn_intern_unref(pairs[i].name);
        tn_intern_unref(pairs[i].value);
    }
}

/* A backtracking engine takes exponential time on these, or gives up and calls it "no match"
 * (which let a silence fail to mute). The answers must be right, and a timed-out engine would
 * fail the CTest timeout long before. */
static void test_hostile_regex_is_bounded(void **state)
{
    static const struct {
        const char *re;
        char fill, last;
        bool want;
    } cases[] = {
        {"(a+)+$", 'a', '!', false},   {"(a+)+$", 'a', 'a', true}, {"(a+)+b", 'a', 'b', true},
        {"(a|aa)*c", 'a', 'b', false}, {"(.*)*x", 'y', 'x', true}, {"(a*)*b", 'a', 'a', false},
    };
    (void)state;
    char *subject = malloc(20002);
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_matcher_t m = mk(TN_MATCH_RE, "v", cases[i].re);
        memset(subject, cases[i].fill, 20000);
        subject[20000] = cases[i].last;
        subject[20001] = 0;
        for (int k = 0; k < 100; k++)
            if (tn_matcher_matches(&m, subject) != cases[i].want)
                fail_msg("%s against %c...%c", cases[i].re, cases[i].fill, cases[i].last);
        /* 10,000 label sets with one interned value: the cached answer */
        tn_label_t l = {tn_intern_cstr("v"), tn_intern_cstr(subject)};
        tn_matchers_t ms = {&m, 1};
        for (int k = 0; k < 10000; k++)
            assert_true(tn_matchers_match(&ms, (tn_labels_t){&l, 1}) == cases[i].want);
        tn_intern_unref(l.name);
        tn_intern_unref(l.value);
        tn_matcher_free(&m);
    }
    free(subject);
}

/* A cached answer belongs to one string: it holds a reference, so when the value is gone and
 * another string takes its place the answer is computed again. */
static void test_regex_cache_follows_values(void **state)
{
    (void)state;
    tn_matcher_t m = mk(TN_MATCH_RE, "v", "a.*");
    tn_matchers_t ms = {&m, 1};
    const char *name = tn_intern_cstr("v");
    for (int round = 0; round < 200; round++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%c%d", round % 2 ? 'a' : 'b', round);
        tn_label_t l = {name, tn_intern_cstr(buf)};
        assert_true(tn_matchers_match(&ms, (tn_labels_t){&l, 1}) == (round % 2 == 1));
        assert_true(tn_matchers_match(&ms, (tn_labels_t){&l, 1}) == (round % 2 == 1));
        tn_intern_unref(l.value);
    }
    /* a missing label matches as "" */
    tn_label_t other = {tn_intern_cstr("w"), tn_intern_cstr("a")};
    assert_false(tn_matchers_match(&ms, (tn_labels_t){&other, 1}));
    tn_intern_unref(other.name);
    tn_intern_unref(other.value);
    tn_intern_unref(name);
    tn_matcher_free(&m);
}

/* Matchers with the same pattern share one compiled engine: each keeps working when the
 * others are freed, in either order (ASan sees a use after free). */
static void test_shared_patterns(void **state)
{
    (void)state;
    char err[256];
    tn_matcher_t a, b, c;
    assert_int_equal(tn_matcher_init(&a, TN_MATCH_RE, "sev", "critical|warning", err, sizeof err),
                     TN_OK);
    assert_int_equal(tn_matcher_init(&b, TN_MATCH_NRE, "x", "critical|warning", err, sizeof err),
                     TN_OK);
    tn_matcher_free(&a);
    assert_true(tn_matcher_matches(&b, "info"));
    assert_false(tn_matcher_matches(&b, "warning"));
    assert_int_equal(tn_matcher_init(&c, TN_MATCH_RE, "sev", "critical|warning", err, sizeof err),
                     TN_OK);
    assert_true(tn_matcher_matches(&c, "critical"));
    assert_false(tn_matcher_matches(&c, "critical2"));
    tn_matcher_free(&b);
    assert_true(tn_matcher_matches(&c, "warning"));
    tn_matcher_free(&c);
    /* a bad pattern is refused each time, shared or not */
    for (int i = 0; i < 2; i++)
        assert_int_equal(tn_matcher_init(&a, TN_MATCH_RE, "x", "(", err, sizeof err), TN_ERR_INVAL);
    /* \C compiles in RE2 but Go refuses it: the refusal gives the shared engine back */
    for (int i = 0; i < 2; i++)
        assert_int_equal(tn_matcher_init(&a, TN_MATCH_RE, "x", "a\\C", err, sizeof err),
                         TN_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_list_sort_format),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_matchers_match_labels),
        cmocka_unit_test(test_hostile_regex_is_bounded),
        cmocka_unit_test(test_regex_cache_follows_values),
        cmocka_unit_test(test_utf8_syntax),
        cmocka_unit_test(test_single_modes),
        cmocka_unit_test(test_classic_list),
        cmocka_unit_test(test_re2_compat),
        cmocka_unit_test(test_regex_errors_as_go),
        cmocka_unit_test(test_shared_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
