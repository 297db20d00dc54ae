/* The notification module: Alertmanager's alert order (stable) and the labels and annotations
 * common to a notification's alerts, with the interned references they hand out. */
#include "tn_test.h"

#include <string.h>

#include "tocsin/alert.h"
#include "tocsin/notification.h"
#include "tocsin/timefmt.h"

/* ---- building blocks ---- */

static tn_time_t ts(const char *s)
{
    tn_time_t t;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

/* kv: NULL-terminated name, value, name, value, ... */
static size_t pairs(const char *const *kv, tn_label_t *out)
{
    size_t n = 0;
    for (; kv && kv[0]; kv += 2, n++) {
        out[n].name = tn_intern_cstr(kv[0]);
        out[n].value = tn_intern_cstr(kv[1]);
    }
    return n;
}

static tn_alert_t *mk_alert(const char *const *labels, const char *const *annotations,
                            const char *starts)
{
    tn_label_t l[16], a[16];
    size_t nl = pairs(labels, l), na = pairs(annotations, a);
    tn_alert_t *al = tn_alert_new(l, nl, a, na, NULL);
    al->starts_at = ts(starts);
    return al;
}

typedef struct notif {
    tn_notif_alert_t alerts[8];
    tn_alert_t *owned[8];
    size_t n;
    tn_notification_t nt;
} notif_t;

static void notif_add(notif_t *n, tn_alert_t *a, bool resolved)
{
    n->owned[n->n] = a;
    n->alerts[n->n] = (tn_notif_alert_t){a, resolved};
    n->n++;
}

static void notif_finish(notif_t *n)
{
    tn_notif_alerts_sort(n->alerts, n->n);
    n->nt = (tn_notification_t){
        .receiver = "team-X.ops",
        .group_key = "{}:{alertname=\"HighLatency\"}",
        .alerts = n->alerts,
        .nalerts = n->n,
    };
}

static void notif_free(notif_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        tn_alert_unref(n->owned[i]);
}

static void unref_pairs(tn_label_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(v[i].name);
        tn_intern_unref(v[i].value);
    }
}

static const char *const LA[] = {"alertname", "HighLatency", "job",  "node", "instance",
                                 "a:9100",    "severity",    "page", NULL};
static const char *const LC[] = {"alertname", "HighLatency", "job",    "node", "instance",
                                 "c:9100",    "severity",    "ticket", NULL};
static const char *const AB[] = {"summary", "slow", "runbook", "http://rb", NULL};

/* ---- order ---- */

static void test_sort(void **state)
{
    (void)state;
    size_t interned = tn_intern_count();
    static const char *const j2i1[] = {"alertname", "Z", "job", "b", "instance", "1", NULL};
    static const char *const j1i2[] = {"alertname", "Z", "job", "a", "instance", "2", NULL};
    static const char *const j1i1[] = {"alertname", "Z", "job", "a", "instance", "1", NULL};
    static const char *const j1[] = {"alertname", "A", "job", "a", NULL};
    static const char *const none_b[] = {"alertname", "B", NULL};
    static const char *const none_a[] = {"alertname", "A", "x", "y", NULL};
    static const char *const none_c[] = {"alertname", "C", NULL};
    notif_t n = {0};
    notif_add(&n, mk_alert(none_c, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(none_a, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(none_b, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(j2i1, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(j1, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(j1i2, NULL, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(j1i1, NULL, "2024-01-01T00:00:00Z"), false);
    tn_notif_alerts_sort(n.alerts, n.n);
    /* job a (with instance 1, 2, then without instance), job b, then no job: fewer labels
     * first, then by label values. */
    const char *const want[] = {"1/a", "2/a", "-/a", "1/b", "B", "C", "A"};
    for (size_t i = 0; i < n.n; i++) {
        tn_labels_t ls = tn_alert_labels(n.alerts[i].alert);
        const char *job = tn_labels_get(ls, "job"), *inst = tn_labels_get(ls, "instance");
        char got[32];
        if (job)
            snprintf(got, sizeof(got), "%s/%s", inst ? inst : "-", job);
        else
            snprintf(got, sizeof(got), "%s", tn_labels_get(ls, "alertname"));
        assert_string_equal(got, want[i]);
    }

    /* Stable: equal keys keep their order. */
    tn_notif_alert_t dup[3] = {{n.owned[0], false}, {n.owned[0], true}, {n.owned[0], false}};
    tn_notif_alerts_sort(dup, 3);
    assert_false(dup[0].resolved);
    assert_true(dup[1].resolved);

    /* Fewer than two: nothing to order, the one element untouched. */
    tn_notif_alerts_sort(NULL, 0);
    tn_notif_alert_t one = {n.owned[1], true};
    tn_notif_alerts_sort(&one, 1);
    assert_ptr_equal(one.alert, n.owned[1]);
    assert_true(one.resolved);
    notif_free(&n);
    assert_int_equal(tn_intern_count(), interned);
}

/* ---- common labels ---- */

static void test_common_labels(void **state)
{
    (void)state;
    size_t interned = tn_intern_count();
    notif_t n = {0};
    notif_add(&n, mk_alert(LA, AB, "2024-01-01T00:00:00Z"), false);
    notif_add(&n, mk_alert(LC, AB, "2024-01-01T00:00:00Z"), false);
    notif_finish(&n);
    tn_label_t out[8];
    size_t k = tn_notification_common_labels(&n.nt, false, out, 8);
    assert_int_equal(k, 2);
    assert_string_equal(out[0].name, "alertname");
    assert_string_equal(out[1].name, "job");
    unref_pairs(out, k);
    k = tn_notification_common_labels(&n.nt, true, out, 8);
    assert_int_equal(k, 2);
    assert_string_equal(out[0].name, "runbook");
    assert_string_equal(out[1].value, "slow");
    unref_pairs(out, k);
    n.nt.nalerts = 0;
    assert_int_equal(tn_notification_common_labels(&n.nt, false, out, 8), 0);
    notif_free(&n);
    /* The pairs handed out are references of their own: once unref'd, nothing is left. */
    assert_int_equal(tn_intern_count(), interned);
}

static void test_common_labels_cap(void **state)
{
    (void)state;
    size_t interned = tn_intern_count();
    notif_t n = {0};
    notif_add(&n, mk_alert(LA, AB, "2024-01-01T00:00:00Z"), false);
    notif_finish(&n);
    /* One alert: all its labels are common, cut at max (in label order). */
    tn_label_t out[8];
    size_t k = tn_notification_common_labels(&n.nt, false, out, 8);
    assert_int_equal(k, 4);
    unref_pairs(out, k);
    k = tn_notification_common_labels(&n.nt, false, out, 1);
    assert_int_equal(k, 1);
    assert_string_equal(out[0].name, "alertname");
    assert_string_equal(out[0].value, "HighLatency");
    unref_pairs(out, k);
    assert_int_equal(tn_notification_common_labels(&n.nt, true, out, 0), 0);
    notif_free(&n);
    assert_int_equal(tn_intern_count(), interned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_common_labels),
        cmocka_unit_test(test_common_labels_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
