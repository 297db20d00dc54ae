#include "tn_test.h"

#include <string.h>

#include "tocsin/alert.h"
#include "tocsin/clock.h"
#include "tocsin/metrics.h"

#define S TN_NS_PER_SEC

static tn_time_t now;

static tn_alert_t *mk(const char *name, const char *summary, tn_time_t starts, tn_time_t ends,
                      tn_time_t updated, bool timeout)
{
    tn_label_t l[] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                      {tn_intern_cstr("job"), tn_intern_cstr("api")}};
    tn_label_t an[] = {{tn_intern_cstr("summary"), tn_intern_cstr(summary)}};
    tn_alert_t *a = tn_alert_new(l, 2, an, 1, NULL);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = updated;
    a->timeout = timeout;
    return a;
}

static int setup(void **state)
{
    (void)state;
    now = 1000 * S;
    tn_clock_set_fake(&now);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tn_clock_set_fake(NULL);
    assert_int_equal(tn_intern_count(), 0);
    return 0;
}

static void test_new_sorts_and_fingerprints(void **state)
{
    (void)state;
    tn_alert_t *a = mk("X", "s", 1, 0, 1, false);
    assert_string_equal(a->labels[0].name, "alertname");
    assert_string_equal(tn_alert_name(a), "X");
    assert_true(a->fp == tn_labels_fingerprint(tn_alert_labels(a)));
    tn_alert_t *c = tn_alert_clone(a);
    assert_true(c->fp == a->fp);
    assert_ptr_equal(c->labels[0].value, a->labels[0].value);
    tn_alert_unref(c);
    tn_alert_unref(a);
}

static void test_merge_rules(void **state)
{
    (void)state;
    /* Older stored version started earlier: earliest startsAt wins, newest annotations win. */
    tn_alert_t *old = mk("X", "old", 900 * S, 1300 * S, 950 * S, true);
    tn_alert_t *in = mk("X", "new", 990 * S, 1290 * S, 1000 * S, true);
    tn_alert_t *m = tn_alert_merge(old, in);
    assert_int_equal(m->starts_at, 900 * S);
    assert_string_equal(m->annotations[0].value, "new");
    /* Old endsAt was a timeout: it does not extend the new one. */
    assert_int_equal(m->ends_at, 1290 * S);
    tn_alert_unref(m);
    tn_alert_unref(old);

    /* A non-timeout later endsAt of the stored version rules. */
    old = mk("X", "old", 900 * S, 1500 * S, 950 * S, false);
    m = tn_alert_merge(old, in);
    assert_int_equal(m->ends_at, 1500 * S);
    tn_alert_unref(m);
    tn_alert_unref(old);

    /* Both resolved: the latest explicit resolve time wins. */
    old = mk("X", "old", 900 * S, 999 * S, 950 * S, false);
    tn_alert_t *res = mk("X", "new", 900 * S, 990 * S, 1000 * S, false);
    m = tn_alert_merge(old, res);
    assert_int_equal(m->ends_at, 999 * S);
    tn_alert_unref(m);
    tn_alert_unref(old);
    tn_alert_unref(res);
    tn_alert_unref(in);
}

typedef struct seen {
    int calls;
    tn_alert_t *last, *last_old;
} seen_t;

static void listener(void *ud, tn_alert_t *a, tn_alert_t *old)
{
    seen_t *s = ud;
    s->calls++;
    s->last = a;
    s->last_old = old;
}

static void test_store_put_merge_replace_gc(void **state)
{
    (void)state;
    tn_alert_store_t *st = tn_alert_store_new();
    seen_t seen = {0};
    tn_alert_store_set_listener(st, listener, &seen);

    assert_int_equal(tn_alert_store_put(st, mk("X", "a", 900 * S, 1300 * S, 900 * S, true)), 0);
    assert_int_equal(tn_alert_store_count(st), 1);
    assert_null(seen.last_old);
    uint64_t fp = seen.last->fp;

    /* Overlapping update: merged (startsAt kept from the first). */
    tn_alert_store_put(st, mk("X", "b", 950 * S, 1350 * S, 1000 * S, true));
    tn_alert_t *cur = tn_alert_store_get(st, fp);
    assert_int_equal(cur->starts_at, 900 * S);
    assert_string_equal(cur->annotations[0].value, "b");
    assert_int_equal(seen.calls, 2);
    assert_int_equal(tn_alert_store_count(st), 1);

    /* Resolve it, then re-fire after the end: a new occurrence, not merged. */
    now = 1100 * S;
    tn_alert_store_put(st, mk("X", "b", 900 * S, 1050 * S, 1100 * S, false));
    assert_int_equal(tn_alert_store_get(st, fp)->ends_at, 1050 * S);
    tn_alert_store_put(st, mk("X", "c", 1080 * S, 1400 * S, 1101 * S, true));
    assert_int_equal(tn_alert_store_get(st, fp)->starts_at, 1080 * S);

    size_t f, r;
    tn_alert_store_counts(st, now, &f, &r);
    assert_int_equal(f, 1);
    assert_int_equal(r, 0);

    /* Many alerts, then GC of the resolved ones. */
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "A%d", i);
        tn_alert_store_put(st, mk(name, "x", 1000 * S, (i % 2 ? 1050 : 2000) * S, now, false));
    }
    assert_int_equal(tn_alert_store_count(st), 5001);
    /* A second listener sees the same calls; GC reports removals with alert = NULL. */
    seen_t seen2 = {0};
    tn_alert_store_add_listener(st, listener, &seen2);
    size_t calls_before = seen.calls;
    assert_int_equal(tn_alert_store_gc(st, now, NULL, NULL), 2500);
    assert_int_equal(tn_alert_store_count(st), 2501);
    assert_int_equal(seen.calls - calls_before, 2500);
    assert_int_equal(seen2.calls, 2500);
    assert_null(seen2.last);
    assert_non_null(seen2.last_old);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "A%d", i);
        tn_label_t l[] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                          {tn_intern_cstr("job"), tn_intern_cstr("api")}};
        uint64_t h = tn_labels_fingerprint((tn_labels_t){l, 2});
        for (int k = 0; k < 2; k++) {
            tn_intern_unref(l[k].name);
            tn_intern_unref(l[k].value);
        }
        if (i % 2)
            assert_null(tn_alert_store_get(st, h));
        else
            assert_non_null(tn_alert_store_get(st, h));
    }
    tn_alert_store_set_limit(st, 2501);
    tn_metric_child_t *capped =
        tn_metric_plain(tn_metric_counter("tocsin_alerts_limited_total", "", NULL));
    double capped0 = tn_metric_value(capped);
    assert_int_equal(tn_alert_store_put(st, mk("new", "x", now, 0, now, false)), TN_ERR_LIMIT);
    assert_true(tn_metric_value(capped) == capped0 + 1);
    /* An update of an alert already held is no new alert: not refused, not counted. */
    assert_int_equal(tn_alert_store_put(st, mk("A0", "y", 1000 * S, 2000 * S, now, false)), TN_OK);
    assert_true(tn_metric_value(capped) == capped0 + 1);
    tn_alert_store_free(st);
}

static void test_name_limiter_gc(void **state)
{
    (void)state;
    tn_name_limiter_t *l = tn_name_limiter_new(1);
    assert_true(tn_name_limiter_admit(l, "A", 1, 100, 10));
    assert_false(tn_name_limiter_admit(l, "A", 2, 100, 10));
    for (int i = 0; i < 40; i++) {
        char name[8];
        snprintf(name, sizeof(name), "N%d", i);
        assert_true(tn_name_limiter_admit(l, name, 7, 50, 10));
    }
    tn_name_limiter_gc(l, 60);
    /* The N* names ended and went; A stays and still refuses a second alert. */
    assert_false(tn_name_limiter_admit(l, "A", 2, 100, 60));
    assert_true(tn_name_limiter_admit(l, "N3", 8, 100, 60));
    tn_name_limiter_free(l);
}

/* tn_alert_bytes counts every live version, stored or not, and the store's table. */
static void test_alert_bytes(void **state)
{
    (void)state;
    size_t before = tn_alert_bytes(NULL);
    tn_alert_t *a = mk("Bytes", "s", now, 0, now, false);
    size_t one = tn_alert_bytes(NULL) - before;
    assert_true(one >= sizeof(tn_alert_t) + 3 * sizeof(tn_label_t));
    tn_alert_t *b = tn_alert_clone(a);
    /* the allocator may size the copy's block differently; it counts all the same */
    assert_true(tn_alert_bytes(NULL) - before >= one + sizeof(tn_alert_t) + 3 * sizeof(tn_label_t));
    tn_alert_store_t *st = tn_alert_store_new();
    assert_true(tn_alert_bytes(st) >= tn_alert_bytes(NULL) + 1024 * sizeof(void *));
    tn_alert_store_free(st);
    tn_alert_unref(b);
    tn_alert_unref(a);
    assert_int_equal(tn_alert_bytes(NULL), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_limiter_gc),
        cmocka_unit_test_setup_teardown(test_alert_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_sorts_and_fingerprints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_put_merge_replace_gc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
