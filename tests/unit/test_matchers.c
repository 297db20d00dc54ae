/* Matchers: parsing the common forms, Alertmanager's string form, matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
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

static void test_hostile_regex_is_bounded(void **state)
{
    tn_matcher_t m = mk(TN_MATCH_RE, "l", "(a+)+b");
    char subject[64];
    struct timespec t0, t1;
    (void)state;

    memset(subject, 'a', sizeof(subject) - 1);
    subject[sizeof(subject) - 1] = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(tn_matcher_matches(&m, subject));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    tn_matcher_free(&m);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
