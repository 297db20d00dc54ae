/* Durations: Prometheus model.Duration parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "tocsin/config.h"

#define MS  INT64_C(1000000)
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HR  (60 * MIN)
#define DAY (24 * HR)

static void test_parse_valid(void **state)
{
    static const struct {
        const char *in;
        tn_duration_t want;
    } cases[] = {
        {"0", 0},
        {"0s", 0},
        {"1h30m", HR + 30 * MIN},
        {"90s", 90 * SEC},
        {"1d", DAY},
        {"1w", 7 * DAY},
        {"1y", 365 * DAY},
        {"500ms", 500 * MS},
        {"5m", 5 * MIN},
        {"4h", 4 * HR},
        {"1y2w3d4h5m6s7ms", 365 * DAY + 14 * DAY + 3 * DAY + 4 * HR + 5 * MIN + 6 * SEC + 7 * MS},
        {"100d", 100 * DAY},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_duration_t d = -1;
        char err[128] = "";
        int rc = tn_duration_parse(cases[i].in, &d, err, sizeof(err));
        if (rc != TN_OK)
            fail_msg("%s: %s", cases[i].in, err);
        assert_int_equal(d, cases[i].want);
    }
}

static void test_parse_invalid(void **state)
{
    static const char *const cases[] = {
        "",
        "1",
        "h",
        "1x",
        "1m1h",
        "1h1h",
        "-1s",
        "1.5h",
        " 1s",
        "1s ",
        "1S",
        "1hm",
        "ms",
        "1h 30m",
        "00",
        "1µs",
        "1ns",
        "1us",
        "9999999999999999999999y",
        "300y",
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_duration_t d = 0;
        char err[128] = "";
        if (tn_duration_parse(cases[i], &d, err, sizeof(err)) == TN_OK)
            fail_msg("\"%s\" parsed as %lld", cases[i], (long long)d);
        assert_true(err[0] != 0);
    }
}

static void test_format(void **state)
{
    static const struct {
        tn_duration_t d;
        const char *want;
    } cases[] = {
        {0, "0s"},           {5 * MIN, "5m"},        {90 * MIN, "1h30m"},
        {90 * SEC, "1m30s"}, {1500 * MS, "1s500ms"}, {7 * DAY, "1w"},
        {8 * DAY, "8d"},     {14 * DAY, "2w"},       {365 * DAY, "1y"},
        {366 * DAY, "366d"}, {4 * HR, "4h"},         {DAY + HR + MIN + SEC + MS, "1d1h1m1s1ms"},
        {999999, "0s"}, /* below a millisecond */
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char out[32];
        tn_duration_format(cases[i].d, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_roundtrip(void **state)
{
    static const char *const cases[] = {"1h30m", "5m", "1w", "2y", "1d12h", "250ms", "45s"};
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_duration_t d;
        char err[128], out[32];
        assert_int_equal(tn_duration_parse(cases[i], &d, err, sizeof(err)), TN_OK);
        tn_duration_format(d, out);
        assert_string_equal(out, cases[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
