/* Zones: TZif reading, footer rules, DST transitions in three zones, civil
 * fields, and a sweep that compares every offset with the C library's reading
 * of the same zone files. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin/timefmt.h"
#include "tocsin/timeinterval.h"

static int64_t secs(const char *s)
{
    tn_time_t t = 0;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t / TN_NS_PER_SEC;
}

static tn_tz_t *load(const char *name)
{
    char err[TN_ERRBUF_SIZE] = "";
    tn_tz_t *tz = tn_tz_load(name, err, sizeof(err));
    if (!tz)
        fail_msg("load %s: %s", name, err);
    return tz;
}

static void test_utc_and_civil(void **state)
{
    (void)state;
    tn_civil_t c;
    tn_tz_t *utc = load("UTC");
    assert_string_equal(tn_tz_name(utc), "UTC");
    assert_int_equal(tn_tz_offset(utc, secs("2024-07-01T00:00:00Z")), 0);

    tn_tz_civil(utc, secs("2024-02-29T12:34:56Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.year, 2024);
    assert_int_equal(c.month, 2);
    assert_int_equal(c.mday, 29);
    assert_int_equal(c.wday, 4); /* Thursday */
    assert_int_equal(c.minute_of_day, 12 * 60 + 34);
    assert_int_equal(c.mdays, 29);

    tn_tz_civil(NULL, secs("2023-02-28T23:59:59Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.mdays, 28);
    assert_int_equal(c.wday, 2);
    tn_tz_civil(NULL, secs("1900-02-01T00:00:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.mdays, 28); /* century, not a leap year */
    tn_tz_civil(NULL, secs("2000-02-01T00:00:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.mdays, 29);
    /* Before the epoch, partial seconds still floor to the previous minute. */
    tn_tz_civil(NULL, -1, &c);
    assert_int_equal(c.year, 1969);
    assert_int_equal(c.month, 12);
    assert_int_equal(c.mday, 31);
    assert_int_equal(c.wday, 3);
    assert_int_equal(c.minute_of_day, 23 * 60 + 59);
    tn_tz_free(utc);
}

static void test_dst_transitions(void **state)
{
    (void)state;
    static const struct {
        const char *zone, *at;
        int32_t off;
    } cases[] = {
        /* Berlin: spring forward 2024-03-31 02:00 CET, fall back 2024-10-27 03:00
           CEST */
        {"Europe/Berlin", "2024-03-31T00:59:59Z", 3600},
        {"Europe/Berlin", "2024-03-31T01:00:00Z", 7200},
        {"Europe/Berlin", "2024-10-27T00:59:59Z", 7200},
        {"Europe/Berlin", "2024-10-27T01:00:00Z", 3600},
        {"Europe/Berlin", "1950-01-01T00:00:00Z", 3600},
        /* New York: 2024-03-10 02:00 EST, 2024-11-03 02:00 EDT */
        {"America/New_York", "2024-03-10T06:59:59Z", -5 * 3600},
        {"America/New_York", "2024-03-10T07:00:00Z", -4 * 3600},
        {"America/New_York", "2024-11-03T05:59:59Z", -4 * 3600},
        {"America/New_York", "2024-11-03T06:00:00Z", -5 * 3600},
        /* Sydney, southern: DST ends 2024-04-07 03:00 AEDT, starts 2024-10-06
           02:00 AEST */
        {"Australia/Sydney", "2024-04-06T15:59:59Z", 11 * 3600},
        {"Australia/Sydney", "2024-04-06T16:00:00Z", 10 * 3600},
        {"Australia/Sydney", "2024-10-05T15:59:59Z", 10 * 3600},
        {"Australia/Sydney", "2024-10-05T16:00:00Z", 11 * 3600},
        {"Australia/Sydney", "2025-01-01T00:00:00Z", 11 * 3600},
        /* Far future: only the footer rule knows these. */
        {"Europe/Berlin", "2100-07-01T00:00:00Z", 7200},
        {"Europe/Berlin", "2100-12-01T00:00:00Z", 3600},
        {"Europe/Berlin", "2100-03-28T00:59:59Z", 3600},
        {"Europe/Berlin", "2100-03-28T01:00:00Z", 7200},
        {"America/New_York", "2100-03-14T06:59:59Z", -5 * 3600},
        {"America/New_York", "2100-03-14T07:00:00Z", -4 * 3600},
        {"Australia/Sydney", "2100-06-01T00:00:00Z", 10 * 3600},
        {"Australia/Sydney", "2100-12-01T00:00:00Z", 11 * 3600},
        {"Asia/Kolkata", "2024-01-01T00:00:00Z", 19800},
        {"Asia/Kathmandu", "2024-01-01T00:00:00Z", 20700},
        {"Etc/GMT+5", "2024-01-01T00:00:00Z", -5 * 3600},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_tz_t *tz = load(cases[i].zone);
        int32_t got = tn_tz_offset(tz, secs(cases[i].at));
        if (got != cases[i].off)
            fail_msg("%s at %s: offset %d, want %d", cases[i].zone, cases[i].at, (int)got,
                     (int)cases[i].off);
        tn_tz_free(tz);
    }
}

static void test_civil_across_dst(void **state)
{
    (void)state;
    tn_civil_t c;
    tn_tz_t *ny = load("America/New_York");
    /* 01:59:59 EST then 03:00:00 EDT: 02:xx never shows on the wall clock. */
    tn_tz_civil(ny, secs("2024-03-10T06:59:59Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.minute_of_day, 1 * 60 + 59);
    tn_tz_civil(ny, secs("2024-03-10T07:00:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.minute_of_day, 3 * 60);
    /* 01:30 happens twice in November. */
    tn_tz_civil(ny, secs("2024-11-03T05:30:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.minute_of_day, 90);
    tn_tz_civil(ny, secs("2024-11-03T06:30:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.minute_of_day, 90);
    /* Local date differs from the UTC date. */
    tn_tz_civil(ny, secs("2024-03-01T03:00:00Z") * TN_NS_PER_SEC, &c);
    assert_int_equal(c.month, 2);
    assert_int_equal(c.mday, 29);
    assert_int_equal(c.mdays, 29);
    assert_int_equal(c.wday, 4);
    tn_tz_free(ny);
}

static void test_rules(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_tz_t *tz = tn_tz_from_rule("x", "CET-1CEST,M3.5.0,M10.5.0/3", err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(tn_tz_offset(tz, secs("2030-03-31T00:59:59Z")), 3600);
    assert_int_equal(tn_tz_offset(tz, secs("2030-03-31T01:00:00Z")), 7200);
    assert_int_equal(tn_tz_offset(tz, secs("2030-10-27T00:59:59Z")), 7200);
    assert_int_equal(tn_tz_offset(tz, secs("2030-10-27T01:00:00Z")), 3600);
    tn_tz_free(tz);

    tz = tn_tz_from_rule("x", "AEST-10AEDT,M10.1.0,M4.1.0/3", err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(tn_tz_offset(tz, secs("2030-01-15T00:00:00Z")), 11 * 3600);
    assert_int_equal(tn_tz_offset(tz, secs("2030-07-15T00:00:00Z")), 10 * 3600);
    tn_tz_free(tz);

    /* Quoted names, minutes, no DST. */
    tz = tn_tz_from_rule("x", "<+0330>-3:30", err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(tn_tz_offset(tz, 0), 3 * 3600 + 1800);
    tn_tz_free(tz);

    /* DST without dates: the US rules; Julian days with explicit times. */
    tz = tn_tz_from_rule("x", "EST5EDT", err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(tn_tz_offset(tz, secs("2030-07-01T00:00:00Z")), -4 * 3600);
    assert_int_equal(tn_tz_offset(tz, secs("2030-01-01T00:00:00Z")), -5 * 3600);
    tn_tz_free(tz);
    tz = tn_tz_from_rule("x", "XST3XDT,J60/0,J300/0", err, sizeof(err));
    assert_non_null(tz);
    /* J60 is March 1st even in a leap year */
    assert_int_equal(tn_tz_offset(tz, secs("2028-02-29T12:00:00Z")), -3 * 3600);
    assert_int_equal(tn_tz_offset(tz, secs("2028-03-01T12:00:00Z")), -2 * 3600);
    tn_tz_free(tz);

    const char *bad[] = {"",
                         "C",
                         "CET",
                         "CET-1CEST,M3.5.0",
                         "CET-1CEST,M13.5.0,M10.5.0",
                         "CET-1CEST,M3.6.0,M10.5.0",
                         "CET-99",
                         "<+03",
                         "CET-1CEST,J0,J10",
                         "CET-1CEST,M3.5.0,M10.5.0/3x"};
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        tz = tn_tz_from_rule("x", bad[i], err, sizeof(err));
        if (tz)
            fail_msg("rule \"%s\" accepted", bad[i]);
        assert_true(err[0] != 0);
    }
}

static void test_names(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    const char *bad[] = {"Nowhere/Atlantis",        "../../etc/passwd", "/etc/localtime",
                         "Europe/../Europe/Berlin", "europe/berlin",    "Europe"};
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        tn_tz_t *tz = tn_tz_load(bad[i], err, sizeof(err));
        if (tz)
            fail_msg("zone \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err, bad[i]));
    }
    tn_tz_t *tz = load("");
    assert_string_equal(tn_tz_name(tz), "UTC");
    tn_tz_free(tz);
}

static void test_local(void **state)
{
    (void)state;
    char *saved = getenv("TZ") ? tn_xstrdup(getenv("TZ")) : NULL;
    setenv("TZ", "America/New_York", 1);
    tn_tz_t *tz = load("Local");
    assert_string_equal(tn_tz_name(tz), "Local");
    assert_int_equal(tn_tz_offset(tz, secs("2024-07-01T00:00:00Z")), -4 * 3600);
    tn_tz_free(tz);
    setenv("TZ", ":Europe/Berlin", 1);
    tz = load("Local");
    assert_int_equal(tn_tz_offset(tz, secs("2024-07-01T00:00:00Z")), 7200);
    tn_tz_free(tz);
    setenv("TZ", "", 1); /* empty TZ is UTC */
    tz = load("Local");
    assert_int_equal(tn_tz_offset(tz, secs("2024-07-01T00:00:00Z")), 0);
    tn_tz_free(tz);
    setenv("TZ", "No/Such_Zone", 1); /* unreadable: UTC, as Go falls back */
    tz = load("Local");
    assert_int_equal(tn_tz_offset(tz, secs("2024-07-01T00:00:00Z")), 0);
    tn_tz_free(tz);
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = tn_xmalloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Every prefix and a few corruptions of a real file: refused or read, never a
 * crash. */
static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    size_t len;
    uint8_t *data = read_file("/usr/share/zoneinfo/America/New_York", &len);
    tn_tz_t *tz = tn_tz_from_tzif("x", data, len, err, sizeof(err));
    assert_non_null(tz);
    tn_tz_free(tz);
    for (size_t n = 0; n < len; n++) {
        tz = tn_tz_from_tzif("x", data, n, err, sizeof(err));
        tn_tz_free(tz);
    }
    assert_null(tn_tz_from_tzif("x", data, 43, err, sizeof(err)));
    for (size_t i = 0; i < len; i += 7) {
        uint8_t *copy = tn_xmalloc(len);
        memcpy(copy, data, len);
        copy[i] ^= 0xA5;
        tz = tn_tz_from_tzif("x", copy, len, err, sizeof(err));
        if (tz)
            (void)tn_tz_offset(tz, secs("2024-01-01T00:00:00Z"));
        tn_tz_free(tz);
        free(copy);
    }
    free(data);
}

/* The C library reads the same files; within this test process only, switch TZ
 * to ask it. */
static void test_sweep_against_libc(void **state)
{
    (void)state;
    const char *zones[] = {"Europe/Berlin", "America/New_York",  "Australia/Sydney",
                           "Europe/London", "America/Sao_Paulo", "Pacific/Chatham",
                           "Asia/Tehran",   "Africa/Casablanca", "America/Santiago",
                           "Pacific/Apia",  "Europe/Dublin",     "Australia/Lord_Howe"};
    char *saved = getenv("TZ") ? tn_xstrdup(getenv("TZ")) : NULL;
    for (size_t z = 0; z < TN_ARRAY_LEN(zones); z++) {
        tn_tz_t *tz = load(zones[z]);
        char *env = tn_xasprintf(":%s", zones[z]);
        setenv("TZ", env, 1);
        tzset();
        /* 1900..2060 every 7 hours 13 minutes: lands on every weekday and hour. */
        for (int64_t t = secs("1901-12-14T00:00:00Z"); t < secs("2060-01-01T00:00:00Z");
             t += 7 * 3600 + 13 * 60) {
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            int32_t off = tn_tz_offset(tz, t);
            if (off != tm.tm_gmtoff)
                fail_msg("%s at %lld: %d, libc %ld", zones[z], (long long)t, (int)off,
                         (long)tm.tm_gmtoff);
            tn_civil_t c;
            tn_tz_civil(tz, t * TN_NS_PER_SEC, &c);
            assert_int_equal(c.year, tm.tm_year + 1900);
            assert_int_equal(c.month, tm.tm_mon + 1);
            assert_int_equal(c.mday, tm.tm_mday);
            assert_int_equal(c.wday, tm.tm_wday);
            assert_int_equal(c.minute_of_day, tm.tm_hour * 60 + tm.tm_min);
        }
        free(env);
        tn_tz_free(tz);
    }
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_and_civil),
        cmocka_unit_test(test_dst_transitions),
        cmocka_unit_test(test_civil_across_dst),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_sweep_against_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
