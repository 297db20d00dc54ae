#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/ack.h"
#include "tocsin/clock.h"
#include "tocsin/labels.h"

#define S TN_NS_PER_SEC

static tn_alert_t *mk(const char *name, tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[1] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)}};
    tn_alert_t *a = tn_alert_new(l, 1, NULL, 0, NULL);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = starts;
    return a;
}

typedef struct hook_log {
    int puts, dels;
} hook_log_t;

static void hook(void *ud, const tn_ack_t *ack, bool deleted)
{
    hook_log_t *h = ud;
    (void)ack;
    if (deleted)
        h->dels++;
    else
        h->puts++;
}

static void test_ack_covers_one_occurrence(void **state)
{
    (void)state;
    tn_time_t now = tn_clock_now();
    tn_acks_t *acks = tn_acks_new();
    hook_log_t log = {0};
    tn_acks_set_hook(acks, hook, &log);
    tn_alert_store_t *st = tn_alert_store_new();
    tn_alert_t *a = mk("A", now - 10 * S, now + 3600 * S), *b = mk("B", now, now - 1);
    assert_int_equal(tn_alert_store_put(st, tn_alert_ref(a)), TN_OK);
    tn_alert_t *v[] = {a, b};
    const tn_ack_t *ack;
    char err[256];
    assert_int_equal(tn_acks_add(acks, "alice", "on it", 0, v, 2, now, &ack, err, sizeof(err)),
                     TN_OK);
    /* The resolved one is left out. */
    assert_int_equal(ack->ntargets, 1);
    assert_string_equal(ack->by, "alice");
    assert_int_equal(strlen(ack->id), 36);
    assert_int_equal(log.puts, 1);
    assert_ptr_equal(tn_acks_of(acks, a, now), ack);
    assert_null(tn_acks_of(acks, b, now));
    /* Another occurrence of the same alert (a new startsAt) is not covered. */
    tn_alert_t *a2 = mk("A", now + 5 * S, now + 3600 * S);
    assert_null(tn_acks_of(acks, a2, now + 6 * S));
    /* Resolved: not covered, and maintenance ends the ack. */
    tn_alert_t *ar = mk("A", now - 10 * S, now - 1);
    ar->updated_at = now;
    assert_null(tn_acks_of(acks, ar, now + 2 * S));
    assert_int_equal(tn_alert_store_put(st, tn_alert_ref(ar)), TN_OK);
    assert_int_equal(tn_acks_gc(acks, st, now + 2 * S), 1);
    assert_int_equal(tn_acks_count(acks), 0);
    assert_int_equal(log.dels, 1);
    tn_alert_unref(a);
    tn_alert_unref(a2);
    tn_alert_unref(ar);
    tn_alert_unref(b);
    tn_alert_store_free(st);
    tn_acks_free(acks);
}

static void test_ack_expiry_delete_and_takeover(void **state)
{
    (void)state;
    tn_time_t now = tn_clock_now();
    tn_acks_t *acks = tn_acks_new();
    tn_alert_store_t *st = tn_alert_store_new();
    tn_alert_t *a = mk("A", now, now + 3600 * S), *b = mk("B", now, now + 3600 * S);
    assert_int_equal(tn_alert_store_put(st, tn_alert_ref(a)), TN_OK);
    assert_int_equal(tn_alert_store_put(st, tn_alert_ref(b)), TN_OK);
    tn_alert_t *both[] = {a, b}, *only_b[] = {b};
    const tn_ack_t *first, *second;
    char err[256];
    assert_int_equal(
        tn_acks_add(acks, "x", "", now + 60 * S, both, 2, now, &first, err, sizeof(err)), TN_OK);
    assert_non_null(tn_acks_of(acks, a, now + 59 * S));
    assert_null(tn_acks_of(acks, a, now + 60 * S));
    /* B moves to a newer ack; A stays with the first. */
    assert_int_equal(tn_acks_add(acks, "y", "mine", 0, only_b, 1, now, &second, err, sizeof(err)),
                     TN_OK);
    char first_id[37];
    memcpy(first_id, first->id, 37);
    assert_ptr_equal(tn_acks_of(acks, b, now), second);
    assert_string_equal(tn_acks_of(acks, a, now)->id, first_id);
    /* Expired: maintenance drops the first ack and keeps the second. */
    assert_int_equal(tn_acks_gc(acks, st, now + 61 * S), 1);
    assert_null(tn_acks_get(acks, first_id));
    assert_ptr_equal(tn_acks_of(acks, b, now + 61 * S), second);
    char second_id[37];
    memcpy(second_id, second->id, 37);
    assert_int_equal(tn_acks_delete(acks, second_id, NULL, NULL), TN_OK);
    assert_int_equal(tn_acks_delete(acks, second_id, NULL, NULL), TN_ERR_NOTFOUND);
    assert_null(tn_acks_of(acks, b, now));
    /* Nothing firing: refused. */
    tn_alert_t *r = mk("R", now - 10 * S, now - S), *rv[] = {r};
    assert_int_equal(tn_acks_add(acks, "z", "", 0, rv, 1, now, &first, err, sizeof(err)),
                     TN_ERR_INVAL);
    assert_non_null(strstr(err, "no firing alert"));
    tn_alert_unref(r);
    tn_alert_unref(a);
    tn_alert_unref(b);
    tn_alert_store_free(st);
    tn_acks_free(acks);
}

static void test_ack_end_alert(void **state)
{
    (void)state;
    tn_time_t now = tn_clock_now();
    tn_acks_t *acks = tn_acks_new();
    hook_log_t log = {0};
    tn_acks_set_hook(acks, hook, &log);
    tn_alert_t *a = mk("A", now, now + 3600 * S), *b = mk("B", now, now + 3600 * S);
    tn_alert_t *v[] = {a, b};
    const tn_ack_t *ack;
    char err[256];
    assert_int_equal(tn_acks_add(acks, "x", "", 0, v, 2, now, &ack, err, sizeof(err)), TN_OK);
    tn_acks_end_alert(acks, a->fp);
    assert_null(tn_acks_of(acks, a, now));
    assert_ptr_equal(tn_acks_of(acks, b, now), ack);
    assert_int_equal(ack->ntargets, 1);
    assert_int_equal(log.puts, 2);
    tn_acks_end_alert(acks, a->fp); /* nothing left for it: no change */
    assert_int_equal(log.puts, 2);
    tn_acks_end_alert(acks, b->fp);
    assert_int_equal(tn_acks_count(acks), 0);
    assert_int_equal(log.dels, 1);
    tn_alert_unref(a);
    tn_alert_unref(b);
    tn_acks_free(acks);
}

static void test_ack_load_replaces(void **state)
{
    (void)state;
    tn_acks_t *acks = tn_acks_new();
    hook_log_t log = {0};
    tn_acks_set_hook(acks, hook, &log);
    tn_ack_target_t t[2] = {{1, 5}, {2, 6}};
    tn_ack_t in = {.id = "00000000-0000-4000-8000-000000000001",
                   .by = "peer",
                   .comment = "c",
                   .created_at = 7,
                   .targets = t,
                   .ntargets = 2};
    tn_acks_load(acks, &in);
    in.ntargets = 1;
    in.by = "peer2";
    tn_acks_load(acks, &in);
    assert_int_equal(tn_acks_count(acks), 1);
    const tn_ack_t *got = tn_acks_get(acks, in.id);
    assert_string_equal(got->by, "peer2");
    assert_int_equal(got->ntargets, 1);
    /* Loading does not echo through the hook. */
    assert_int_equal(log.puts + log.dels, 0);
    tn_acks_unload(acks, in.id);
    assert_int_equal(tn_acks_count(acks), 0);
    tn_acks_free(acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_covers_one_occurrence),
        cmocka_unit_test(test_ack_expiry_delete_and_takeover),
        cmocka_unit_test(test_ack_end_alert),
        cmocka_unit_test(test_ack_load_replaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
