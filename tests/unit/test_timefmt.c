#include "tn_test.h"

#include <string.h>

#include "tocsin/timefmt.h"

static tn_time_t parse(const char *s)
{
    tn_time_t t = 0;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

static void test_parse_valid(void **state)
{
    (void)state;
    assert_true(parse("2024-05-01T10:00:00Z") == INT64_C(1714557600) * TN_NS_PER_SEC);
    assert_true(parse("2024-05-01T12:00:00+02:00") == INT64_C(1714557600) * TN_NS_PER_SEC);
    assert_true(parse("2024-05-01T09:30:00-00:30") == INT64_C(1714557600) * TN_NS_PER_SEC);
    assert_true(parse("2024-05-01T10:00:00.5Z") == INT64_C(1714557600) * TN_NS_PER_SEC + 500000000);
    assert_true(parse("2024-05-01T10:00:00.123456789Z") ==
                INT64_C(1714557600) * TN_NS_PER_SEC + 123456789);
    /* Digits past nanoseconds are dropped, as Go truncates. */
    assert_true(parse("2024-05-01T10:00:00.1234567891Z") ==
                INT64_C(1714557600) * TN_NS_PER_SEC + 123456789);
    assert_true(parse("2024-02-29t00:00:00z") == INT64_C(1709164800) * TN_NS_PER_SEC);
    assert_true(parse("1969-12-31T23:59:59Z") == -TN_NS_PER_SEC);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-05-01",
        "2024-05-01 10:00:00Z",
        "2024-05-01T10:00:00",
        "2024-13-01T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00+0200",
        "2024-05-01T10:00:00+02:00x",
        "2024-05-01T10:00:60Z",
        "99999-05-01T10:00:00Z",
        "1500-01-01T00:00:00Z", /* outside int64 nanoseconds */
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        tn_time_t t;
        assert_int_equal(tn_time_parse_rfc3339(bad[i], strlen(bad[i]), &t), TN_ERR_INVAL);
    }
}

static void test_format(void **state)
{
    (void)state;
    char out[40];
    tn_time_format_rfc3339nano(0, out);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
    tn_time_format_rfc3339nano(INT64_C(1714557600) * TN_NS_PER_SEC, out);
    assert_string_equal(out, "2024-05-01T10:00:00Z");
    tn_time_format_rfc3339nano(INT64_C(1714557600) * TN_NS_PER_SEC + 120000000, out);
    assert_string_equal(out, "2024-05-01T10:00:00.12Z");
    tn_time_format_rfc3339nano(INT64_C(1714557600) * TN_NS_PER_SEC + 1, out);
    assert_string_equal(out, "2024-05-01T10:00:00.000000001Z");
    tn_time_format_rfc3339nano(-TN_NS_PER_SEC / 2, out);
    assert_string_equal(out, "1969-12-31T23:59:59.5Z");
    tn_time_format_rfc3339milli(INT64_C(1714557600) * TN_NS_PER_SEC + 123456789, out);
    assert_string_equal(out, "2024-05-01T10:00:00.123Z");
    tn_time_format_rfc3339milli(0, out);
    assert_string_equal(out, "0001-01-01T00:00:00.000Z");
    /* The same second again (served from the per-thread cache), then the next one. */
    tn_time_format_rfc3339milli(INT64_C(1714557600) * TN_NS_PER_SEC + 999999999, out);
    assert_string_equal(out, "2024-05-01T10:00:00.999Z");
    tn_time_format_rfc3339milli(INT64_C(1714557601) * TN_NS_PER_SEC, out);
    assert_string_equal(out, "2024-05-01T10:00:01.000Z");
    tn_time_format_rfc3339milli(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    tn_time_format_rfc3339milli(-TN_NS_PER_SEC, out);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    tn_time_format_rfc3339milli(INT64_C(1714557600) * TN_NS_PER_SEC, out);
    assert_string_equal(out, "2024-05-01T10:00:00.000Z");
    /* Round trip. */
    tn_time_t t = parse("2031-07-15T03:04:05.678901234+05:30");
    tn_time_format_rfc3339nano(t, out);
    assert_string_equal(out, "2031-07-14T21:34:05.678901234Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
