/* PostableAlert decoding and GettableAlert encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/api_internal.h"
#include "tocsin/json.h"
#include "tocsin/timefmt.h"

#define NOW     (INT64_C(1704067200) * TN_NS_PER_SEC) /* 2024-01-01T00:00:00Z */
#define RESOLVE (5 * 60 * TN_NS_PER_SEC)

typedef struct decoded {
    int rc;
    tn_alert_t **alerts;
    size_t n, ninvalid, nfiring, nresolved;
    tn_buf_t err;
} decoded_t;

static void decode(decoded_t *d, const char *body, size_t max)
{
    tn_buf_init(&d->err, 0);
    d->rc = api_decode_alerts(body, strlen(body), NOW, RESOLVE, max, &d->alerts, &d->n,
                              &d->ninvalid, &d->nfiring, &d->nresolved, &d->err);
}

static const char *errstr(decoded_t *d)
{
    return d->err.len ? tn_buf_cstr(&d->err) : "";
}

static void done(decoded_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        tn_alert_unref(d->alerts[i]);
    free(d->alerts);
    tn_buf_free(&d->err);
}

static tn_time_t t(const char *s)
{
    tn_time_t v = 0;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &v), TN_OK);
    return v;
}

static int teardown(void **state)
{
    (void)state;
    tn_labels_set_mode(TN_LABELS_UTF8);
    assert_int_equal(tn_intern_count(), 0); /* every interned string was released */
    return 0;
}

static void test_valid_single(void **state)
{
    (void)state;
    decoded_t d;
    decode(&d,
           "[{\"labels\":{\"job\":\"x\",\"alertname\":\"A\"},"
           "\"annotations\":{\"summary\":\"s\",\"a\":\"\"},"
           "\"startsAt\":\"2023-12-31T23:00:00Z\",\"endsAt\":\"2024-01-01T01:00:00+01:00\","
           "\"generatorURL\":\"http://prom/graph?g0.expr=up%3D%3D0\",\"unknown\":[1,2]}]",
           10);
    assert_int_equal(d.rc, TN_OK);
    assert_string_equal(errstr(&d), "");
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ninvalid, 0);
    tn_alert_t *a = d.alerts[0];
    assert_int_equal(a->nlabels, 2);
    assert_string_equal(a->labels[0].name, "alertname");
    assert_string_equal(a->labels[0].value, "A");
    assert_string_equal(a->labels[1].name, "job");
    assert_int_equal(a->nannotations, 2); /* empty annotation values are kept */
    assert_string_equal(a->annotations[0].name, "a");
    assert_string_equal(a->annotations[0].value, "");
    assert_string_equal(a->generator_url, "http://prom/graph?g0.expr=up%3D%3D0");
    assert_true(a->starts_at == t("2023-12-31T23:00:00Z"));
    assert_true(a->ends_at == t("2024-01-01T00:00:00Z"));
    assert_true(a->updated_at == NOW);
    assert_false(a->timeout);
    assert_true(a->fp == tn_labels_fingerprint(tn_alert_labels(a)));
    /* endsAt == now is not after now: resolved */
    assert_int_equal(d.nresolved, 1);
    assert_int_equal(d.nfiring, 0);
    done(&d);
}

static void test_defaults(void **state)
{
    (void)state;
    decoded_t d;
    decode(&d,
           "[{\"labels\":{\"a\":\"1\"}},"
           "{\"labels\":{\"a\":\"2\"},\"endsAt\":\"2023-12-31T23:00:00Z\"},"
           "{\"labels\":{\"a\":\"3\"},\"startsAt\":\"2024-01-01T00:00:00.123456789+02:30\"},"
           "{\"labels\":{\"a\":\"4\"},\"startsAt\":\"0001-01-01T00:00:00Z\",\"endsAt\":null},"
           "{\"labels\":{\"a\":\"5\"},\"startsAt\":\"2024-01-01T00:00:00.5Z\","
           "\"endsAt\":\"2024-01-01T00:00:00.5Z\"}]",
           0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 5);
    /* nothing given: starts now, ends after resolve_timeout, marked timeout */
    assert_true(d.alerts[0]->starts_at == NOW);
    assert_true(d.alerts[0]->ends_at == NOW + RESOLVE);
    assert_true(d.alerts[0]->timeout);
    /* only endsAt: starts at endsAt */
    assert_true(d.alerts[1]->starts_at == t("2023-12-31T23:00:00Z"));
    assert_true(d.alerts[1]->ends_at == t("2023-12-31T23:00:00Z"));
    assert_false(d.alerts[1]->timeout);
    /* offsets and nanosecond fractions */
    assert_true(d.alerts[2]->starts_at == NOW - (2 * 3600 + 30 * 60) * TN_NS_PER_SEC + 123456789);
    assert_true(d.alerts[2]->ends_at == NOW + RESOLVE);
    /* Go's zero time and null mean "not set" */
    assert_true(d.alerts[3]->starts_at == NOW);
    assert_true(d.alerts[3]->timeout);
    assert_true(d.alerts[4]->ends_at == NOW + TN_NS_PER_SEC / 2);
    assert_int_equal(d.nfiring, 4);
    assert_int_equal(d.nresolved, 1);
    done(&d);
}

static void test_batch(void **state)
{
    (void)state;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_putc(&b, '[');
    for (int i = 0; i < 64; i++)
        tn_buf_printf(&b, "%s{\"labels\":{\"alertname\":\"A\",\"i\":\"%d\"}}", i ? "," : "", i);
    tn_buf_putc(&b, ']');
    decoded_t d;
    decode(&d, tn_buf_cstr(&b), 64);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 64);
    assert_int_equal(d.nfiring, 64);
    for (size_t i = 1; i < d.n; i++)
        assert_true(d.alerts[i]->fp != d.alerts[0]->fp);
    done(&d);
    /* one over the cap refuses the whole request */
    decode(&d, tn_buf_cstr(&b), 63);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.ninvalid, 0);
    assert_string_equal(errstr(&d), "alerts: more than 63 alerts in one request");
    done(&d);
    tn_buf_free(&b);
}

static void test_structural(void **state)
{
    (void)state;
    static const struct {
        const char *body, *err;
    } cases[] = {
        {"", "alerts: request body is required"},
        {" \n", "alerts: request body is required"},
        {"nope", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\"}}", "alerts: invalid JSON at line 1, column "},
        {"{\"labels\":{\"a\":\"b\"}}", "alerts: expected an array of alerts"},
        {"\"x\"", "alerts: expected an array of alerts"},
        {"[1]", "alerts[0]: expected an object"},
        {"[{\"labels\":{\"a\":\"b\"}},null]", "alerts[1]: expected an object"},
        {"[{}]", "alerts[0].labels: required"},
        {"[{\"labels\":null}]", "alerts[0].labels: required"},
        {"[{\"labels\":[]}]", "alerts[0].labels: expected an object of strings"},
        {"[{\"labels\":\"a=b\"}]", "alerts[0].labels: expected an object of strings"},
        {"[{\"labels\":{\"a\":1}}]", "alerts[0].labels[\"a\"]: expected a string"},
        {"[{\"labels\":{\"a\":{\"b\":\"c\"}}}]", "alerts[0].labels[\"a\"]: expected a string"},
        {"[{\"labels\":{\"a\":\"b\"},\"annotations\":{\"x\":true}}]",
         "alerts[0].annotations[\"x\"]: expected a string"},
        {"[{\"labels\":{\"a\":\"b\"},\"annotations\":[\"x\"]}]",
         "alerts[0].annotations: expected an object of strings"},
        {"[{\"labels\":{\"a\":\"b\"},\"startsAt\":5}]",
         "alerts[0].startsAt: expected an RFC 3339 date-time string"},
        {"[{\"labels\":{\"a\":\"b\"},\"endsAt\":\"yesterday\"}]",
         "alerts[0].endsAt: invalid RFC 3339 date-time \"yesterday\""},
        {"[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2024-01-01 00:00:00Z\"}]",
         "alerts[0].startsAt: invalid RFC 3339 date-time \"2024-01-01 00:00:00Z\""},
        {"[{\"labels\":{\"a\":\"b\"},\"generatorURL\":7}]",
         "alerts[0].generatorURL: expected a string"},
        {"[{\"labels\":{\"a\":\"b\"},\"generatorURL\":\"http://x/%zz\"}]",
         "alerts[0].generatorURL: not a valid URI"},
        {"[{\"labels\":{\"a\":\"b\"},\"generatorURL\":\"http://x/\\u0000\"}]",
         "alerts[0].generatorURL: not a valid URI"},
        /* a rule broken by alert 0 does not save the body from alert 1's shape error */
        {"[{\"labels\":{}},{\"labels\":{\"a\":\"b\"},\"startsAt\":[]}]",
         "alerts[1].startsAt: expected an RFC 3339 date-time string"},
        {"[{\"labels\":{\"a\":\"b\"}} x", "alerts: invalid JSON at line 1, column 23: "},
        {"[{\"labels\":{\"a\":\"b\\q\"}}]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\nc\"}}]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\"},\"x\":01}]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\"},\n\"x\":tru}]", "alerts: invalid JSON at line 2, column 5: "},
        {"[{\"labels\":{\"a\":\"b\"},\"x\":[1,]}]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\"},}]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"b\"}},]", "alerts: invalid JSON at line 1, column "},
        {"[{\"labels\":{\"a\":\"\\u12\"}}]", "alerts: invalid JSON at line 1, column "},
        /* the shape error is only reported for a body that is JSON */
        {"[{\"labels\":[1,}]", "alerts: invalid JSON at line 1, column "},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        decoded_t d;
        decode(&d, cases[i].body, 100);
        assert_int_equal(d.rc, TN_ERR_INVAL);
        assert_int_equal(d.n, 0);
        assert_int_equal(d.ninvalid, 0);
        assert_int_equal(d.nfiring + d.nresolved, 0);
        assert_null(d.alerts);
        if (strncmp(errstr(&d), cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, errstr(&d), cases[i].err);
        if (strncmp(cases[i].err, "alerts: invalid JSON", 20) != 0)
            assert_string_equal(errstr(&d), cases[i].err);
        done(&d);
    }
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *body = tn_xmalloc(2 * depth + 1);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    body[2 * depth] = 0;
    decoded_t d;
    decode(&d, body, 100);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 0);
    assert_non_null(strstr(errstr(&d), "invalid JSON"));
    done(&d);
    /* nesting inside an ignored field is refused by the parser too, without a crash */
    memcpy(body, "[{\"x\":", 6);
    decode(&d, body, 100);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    done(&d);
    free(body);
}

static void test_semantic(void **state)
{
    (void)state;
    tn_labels_set_mode(TN_LABELS_CLASSIC);
    decoded_t d;
    decode(&d,
           "[{\"labels\":{\"alertname\":\"ok1\"}},"
           "{\"labels\":{\"1x\":\"v\"}},"
           "{\"labels\":{\"a\":\"\",\"b\":null}},"
           "{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2024-01-01T00:00:01Z\","
           "\"endsAt\":\"2024-01-01T00:00:00Z\"},"
           "{\"labels\":{\"a\":\"b\"},\"annotations\":{\"bad-name\":\"x\"}},"
           "{\"labels\":{\"alertname\":\"ok2\",\"1y\":\"\"}},"
           "{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2024-01-01T00:06:00Z\"}]",
           100);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ninvalid, 5);
    assert_string_equal(tn_alert_name(d.alerts[0]), "ok1");
    /* the empty value of an invalid name is dropped before names are checked */
    assert_string_equal(tn_alert_name(d.alerts[1]), "ok2");
    assert_int_equal(d.alerts[1]->nlabels, 1);
    assert_string_equal(
        errstr(&d),
        "alerts[1].labels: invalid label set: invalid label name \"1x\"; "
        "alerts[2].labels: at least one label pair required; "
        "alerts[3].endsAt: start time must be before end time; "
        "alerts[4].annotations: invalid annotations: invalid annotation name \"bad-name\"; "
        "alerts[6].endsAt: start time must be before end time");
    /* invalid alerts count as received too */
    assert_int_equal(d.nfiring + d.nresolved, 7);
    assert_int_equal(d.nresolved, 1);
    done(&d);
}

static void test_label_modes(void **state)
{
    (void)state;
    const char *body = "[{\"labels\":{\"1x\":\"v\",\"k\\u00f6\":\"w\",\"a.b\":\"c\"}}]";
    decoded_t d;
    decode(&d, body, 0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.alerts[0]->nlabels, 3);
    assert_string_equal(d.alerts[0]->labels[2].name, "k\xc3\xb6");
    done(&d);
    tn_labels_set_mode(TN_LABELS_CLASSIC);
    decode(&d, body, 0);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.ninvalid, 1);
    assert_string_equal(errstr(&d),
                        "alerts[0].labels: invalid label set: invalid label name \"1x\"");
    done(&d);
    /* the empty name is never valid */
    tn_labels_set_mode(TN_LABELS_UTF8);
    decode(&d, "[{\"labels\":{\"\":\"v\"}}]", 0);
    assert_int_equal(d.ninvalid, 1);
    assert_string_equal(errstr(&d), "alerts[0].labels: invalid label set: invalid label name \"\"");
    done(&d);
}

static void test_nul(void **state)
{
    (void)state;
    decoded_t d;
    decode(&d,
           "[{\"labels\":{\"a\":\"x\\u0000y\"}},"
           "{\"labels\":{\"a\\u0000\":\"x\"}},"
           "{\"labels\":{\"a\":\"b\"},\"annotations\":{\"s\":\"\\u0000\"}},"
           "{\"labels\":{\"a\":\"\\u00e9\"}}]",
           0);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    if (d.n != 1)
        fail_msg("%s", errstr(&d));
    assert_int_equal(d.ninvalid, 3);
    assert_string_equal(d.alerts[0]->labels[0].value, "\xc3\xa9");
    assert_string_equal(errstr(&d),
                        "alerts[0].labels: value contains a NUL character for \"a\"; "
                        "alerts[1].labels: invalid label set: invalid label name \"a\\x00\"; "
                        "alerts[2].annotations: value contains a NUL character for "
                        "\"s\"");
    done(&d);
}

/* A refused name is quoted only in part, and a body of many refusals gets a bounded message:
 * the message goes back to the client and into the log. */
static void test_error_size(void **state)
{
    (void)state;
    decoded_t d;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_set_mode(TN_LABELS_CLASSIC); /* teardown restores UTF-8 names */
    /* a 100 KB invalid name, cut after 128 bytes on a character boundary (é is 2 bytes) */
    tn_buf_puts(&b, "[{\"labels\":{\"1");
    for (int i = 0; i < 50000; i++)
        tn_buf_puts(&b, "\xc3\xa9");
    tn_buf_puts(&b, "\":\"v\"}}]");
    decode(&d, tn_buf_cstr(&b), 0);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.ninvalid, 1);
    tn_buf_t want;
    tn_buf_init(&want, 0);
    tn_buf_puts(&want, "alerts[0].labels: invalid label set: invalid label name \"1");
    for (int i = 0; i < 63; i++)
        tn_buf_puts(&want, "\xc3\xa9");
    tn_buf_puts(&want, "\"...");
    assert_string_equal(errstr(&d), tn_buf_cstr(&want));
    tn_buf_free(&want);
    done(&d);

    /* 5000 refused alerts with 100-byte names: the message stops growing near 64 KiB, every
     * refusal is still counted */
    tn_buf_reset(&b);
    tn_buf_putc(&b, '[');
    for (int i = 0; i < 5000; i++) {
        tn_buf_puts(&b, i ? ",{\"labels\":{\"-" : "{\"labels\":{\"-");
        for (int k = 0; k < 99; k++)
            tn_buf_putc(&b, 'x');
        tn_buf_puts(&b, "\":\"v\"}}");
    }
    tn_buf_puts(&b, ",{\"labels\":{\"ok\":\"v\"}}]");
    decode(&d, tn_buf_cstr(&b), 0);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ninvalid, 5000);
    assert_true(d.err.len > 60 * 1024);
    assert_true(d.err.len < 66 * 1024);
    const char *tail = "; ... (more invalid alerts)";
    assert_string_equal(errstr(&d) + d.err.len - strlen(tail), tail);
    done(&d);
    tn_buf_free(&b);
}

static void test_string_escapes(void **state)
{
    (void)state;
    decoded_t d;
    /* escapes, surrogate pairs; a lone surrogate escape becomes U+FFFD as in Go */
    decode(&d,
           "[{\"labels\":{\"a\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\","
           "\"b\":\"\\ud83d\\udd25\\u00e9\\u20AC\","
           "\"d\":\"\\ud800z\","
           "\"lab\\u0065l\":\"\xe2\x82\xac\"}}]",
           0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 1);
    tn_labels_t ls = tn_alert_labels(d.alerts[0]);
    assert_string_equal(tn_labels_get(ls, "a"), "q\"\\/\b\f\n\r\t");
    assert_string_equal(tn_labels_get(ls, "b"), "\xf0\x9f\x94\xa5\xc3\xa9\xe2\x82\xac");
    assert_string_equal(tn_labels_get(ls, "d"), "\xef\xbf\xbdz");
    assert_string_equal(tn_labels_get(ls, "label"), "\xe2\x82\xac");
    done(&d);
    /* raw bytes that are not UTF-8 make the alert invalid (Go would replace them) */
    decode(&d, "[{\"labels\":{\"a\":\"1\"}},{\"labels\":{\"c\":\"x\xffy\xc3\"}}]", 0);
    assert_int_equal(d.rc, TN_ERR_INVAL);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ninvalid, 1);
    assert_non_null(strstr(errstr(&d), "alerts[1].labels: invalid UTF-8"));
    done(&d);
    /* a repeated key makes the alert invalid */
    decode(&d, "[{\"labels\":{\"a\":\"1\",\"b\":\"x\",\"a\":\"\"}}]", 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.ninvalid, 1);
    assert_non_null(strstr(errstr(&d), "alerts[0].labels: a name appears more than once"));
    done(&d);
}

static void test_big_label_set(void **state)
{
    (void)state;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "[{\"labels\":{");
    for (int i = 0; i < 200; i++)
        tn_buf_printf(&b, "\"l%d\":\"v%d\",", i, i);
    tn_buf_puts(&b, "\"z\":\"\"},\"annotations\":{");
    for (int i = 0; i < 100; i++)
        tn_buf_printf(&b, "%s\"a%d\":\"v\"", i ? "," : "", i);
    tn_buf_puts(&b, "}}]");
    decoded_t d;
    decode(&d, tn_buf_cstr(&b), 0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.alerts[0]->nlabels, 200);
    assert_int_equal(d.alerts[0]->nannotations, 100);
    assert_string_equal(tn_labels_get(tn_alert_labels(d.alerts[0]), "l150"), "v150");
    done(&d);
    /* a repeated name in a big set (the sorted path) is found too */
    tn_buf_reset(&b);
    tn_buf_puts(&b, "[{\"labels\":{");
    for (int i = 0; i < 300; i++)
        tn_buf_printf(&b, "%s\"l%d\":\"v%d\"", i ? "," : "", i % 200, i);
    tn_buf_puts(&b, "}}]");
    decode(&d, tn_buf_cstr(&b), 0);
    assert_int_equal(d.n, 0);
    assert_non_null(strstr(errstr(&d), "more than once"));
    done(&d);
    tn_buf_free(&b);
}

/* Label and annotation counts have a cap; over it the alert is refused, the batch goes on. */
static void test_pair_caps(void **state)
{
    (void)state;
    const char *fields[] = {"labels", "annotations"};
    for (int f = 0; f < 2; f++) {
        for (int n = TN_ALERT_MAX_PAIRS; n <= TN_ALERT_MAX_PAIRS + 1; n++) {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            tn_buf_printf(&b, "[{\"labels\":{\"alertname\":\"ok\"}},{\"labels\":{%s",
                          f == 0 ? "" : "\"alertname\":\"big\"},\"annotations\":{");
            for (int i = 0; i < n; i++)
                tn_buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
            tn_buf_puts(&b, "}}]");
            decoded_t d;
            decode(&d, tn_buf_cstr(&b), 0);
            if (n == TN_ALERT_MAX_PAIRS) {
                assert_int_equal(d.rc, TN_OK);
                assert_int_equal(d.n, 2);
            } else {
                assert_int_equal(d.rc, TN_ERR_INVAL);
                assert_int_equal(d.n, 1);
                assert_int_equal(d.ninvalid, 1);
                char want[64];
                snprintf(want, sizeof(want), "alerts[1].%s: more than %d", fields[f],
                         TN_ALERT_MAX_PAIRS);
                assert_non_null(strstr(errstr(&d), want));
            }
            done(&d);
            tn_buf_free(&b);
        }
    }
}

static void test_misc_shapes(void **state)
{
    (void)state;
    decoded_t d;
    decode(&d, "null", 0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 0);
    done(&d);
    decode(&d, "[]", 0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 0);
    done(&d);
    /* field names match case-insensitively */
    decode(&d, "[{\"LABELS\":{\"a\":\"2\"},\"EndsAt\":\"2023-01-01T00:00:00Z\"}]", 0);
    assert_int_equal(d.rc, TN_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.alerts[0]->labels[0].value, "2");
    assert_true(d.alerts[0]->ends_at == t("2023-01-01T00:00:00Z"));
    done(&d);
    /* the public wrapper */
    tn_alert_t **out;
    size_t n, ninv;
    tn_buf_t err;
    tn_buf_init(&err, 0);
    const char *body = "[{\"labels\":{\"a\":\"1\"}},{\"labels\":{}}]";
    assert_int_equal(
        tn_api_decode_alerts(body, strlen(body), NOW, RESOLVE, 0, &out, &n, &ninv, &err),
        TN_ERR_INVAL);
    assert_int_equal(n, 1);
    assert_int_equal(ninv, 1);
    tn_alert_unref(out[0]);
    free(out);
    tn_buf_free(&err);
}

static void test_json_string(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\s/", 6, "\"q\\\"b\\\\s/\""},
        {"\n\r\t\b\f\x01\x1f\x7f", 8, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\""},
        {"<a href=\"x\">&", 13, "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5\""},
        {"\xe2\x80\xa8\xe2\x80\xa9", 6, "\"\\u2028\\u2029\""},
        {"a\xff"
         "b\xc3",
         4, "\"a\\ufffdb\\ufffd\""},
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate is not UTF-8 */
        {"n\0l", 3, "\"n\\u0000l\""},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tn_json_go_string(&b, cases[i].in, cases[i].len);
        assert_string_equal(tn_buf_cstr(&b), cases[i].want);
        tn_buf_free(&b);
    }
}

static void test_encode(void **state)
{
    (void)state;
    decoded_t d;
    decode(&d,
           "[{\"labels\":{\"job\":\"j<1>\",\"alertname\":\"A\"},\"annotations\":{\"s\":\"x\\ny\"},"
           "\"startsAt\":\"2023-12-31T23:00:00.123456Z\",\"generatorURL\":\"http://g/?a=1&b=2\"},"
           "{\"labels\":{\"a\":\"b\"}}]",
           0);
    assert_int_equal(d.n, 2);
    char fp[17];
    tn_fingerprint_format(d.alerts[0]->fp, fp);
    const char *rcv[] = {"team-a", "default"};
    tn_buf_t b;
    tn_buf_init(&b, 0);
    api_encode_alert(&b, d.alerts[0], rcv, 2, "active");
    char *want =
        tn_xasprintf("{\"annotations\":{\"s\":\"x\\ny\"},\"endsAt\":\"2024-01-01T00:05:00.000Z\","
                     "\"fingerprint\":\"%s\",\"receivers\":[{\"name\":\"team-a\"},"
                     "{\"name\":\"default\"}],\"startsAt\":\"2023-12-31T23:00:00.123Z\","
                     "\"status\":{\"inhibitedBy\":[],\"mutedBy\":[],\"silencedBy\":[],"
                     "\"state\":\"active\"},\"updatedAt\":\"2024-01-01T00:00:00.000Z\","
                     "\"generatorURL\":\"http://g/?a=1\\u0026b=2\","
                     "\"labels\":{\"alertname\":\"A\",\"job\":\"j\\u003c1\\u003e\"}}",
                     fp);
    assert_string_equal(tn_buf_cstr(&b), want);
    free(want);
    /* no annotations, no generatorURL, no receivers */
    tn_buf_reset(&b);
    tn_fingerprint_format(d.alerts[1]->fp, fp);
    api_encode_alert(&b, d.alerts[1], NULL, 0, "suppressed");
    want = tn_xasprintf("{\"annotations\":{},\"endsAt\":\"2024-01-01T00:05:00.000Z\","
                        "\"fingerprint\":\"%s\",\"receivers\":[],"
                        "\"startsAt\":\"2024-01-01T00:00:00.000Z\","
                        "\"status\":{\"inhibitedBy\":[],\"mutedBy\":[],\"silencedBy\":[],"
                        "\"state\":\"suppressed\"},\"updatedAt\":\"2024-01-01T00:00:00.000Z\","
                        "\"labels\":{\"a\":\"b\"}}",
                        fp);
    assert_string_equal(tn_buf_cstr(&b), want);
    free(want);
    tn_buf_free(&b);
    done(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_valid_single, teardown),
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_batch, teardown),
        cmocka_unit_test_teardown(test_structural, teardown),
        cmocka_unit_test_teardown(test_deep_nesting, teardown),
        cmocka_unit_test_teardown(test_semantic, teardown),
        cmocka_unit_test_teardown(test_label_modes, teardown),
        cmocka_unit_test_teardown(test_nul, teardown),
        cmocka_unit_test_teardown(test_error_size, teardown),
        cmocka_unit_test_teardown(test_string_escapes, teardown),
        cmocka_unit_test_teardown(test_big_label_set, teardown),
        cmocka_unit_test_teardown(test_pair_caps, teardown),
        cmocka_unit_test_teardown(test_misc_shapes, teardown),
        cmocka_unit_test_teardown(test_json_string, teardown),
        cmocka_unit_test_teardown(test_encode, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
