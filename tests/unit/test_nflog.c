#include "tn_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin/nflog.h"
#include "tocsin/notify.h"

#define S TN_NS_PER_SEC

typedef struct hook_rec {
    int writes;
    char last_key[128];
} hook_rec_t;

static void hook(void *ud, const tn_nflog_entry_t *e)
{
    hook_rec_t *r = ud;
    r->writes++;
    snprintf(r->last_key, sizeof(r->last_key), "%s", e->key);
}

static void test_key_log_get_gc(void **state)
{
    (void)state;
    tn_nflog_t *l = tn_nflog_new();
    hook_rec_t rec = {0};
    tn_nflog_set_hook(l, hook, &rec);
    char *k = tn_nflog_key("{}:{alertname=\"A\"}", "team", "webhook", 1);
    assert_string_equal(k, "{}:{alertname=\"A\"}:team/webhook/1");
    assert_null(tn_nflog_get(l, k));
    uint64_t firing[] = {30, 10, 20};
    size_t empty = tn_nflog_bytes(l);
    tn_nflog_log(l, k, firing, 3, NULL, 0, NULL, 100 * S, 200 * S);
    /* the entry, its key and its hashes */
    assert_true(tn_nflog_bytes(l) >= empty + strlen(k) + 3 * sizeof(uint64_t));
    assert_int_equal(rec.writes, 1);
    assert_string_equal(rec.last_key, k);
    const tn_nflog_entry_t *e = tn_nflog_get(l, k);
    assert_non_null(e);
    assert_int_equal(e->nfiring, 3);
    assert_true(e->firing[0] == 10 && e->firing[2] == 30); /* sorted */
    /* Past its expiry an entry still answers until maintenance drops it, as Alertmanager's
     * log does: a resolve after a short repeat_interval must still see what was sent. */
    assert_non_null(tn_nflog_get(l, k));
    assert_int_equal(tn_nflog_gc(l, 199 * S), 0);
    assert_int_equal(tn_nflog_gc(l, 200 * S), 1);
    assert_null(tn_nflog_get(l, k));

    /* Many keys, then GC of the expired half. */
    char key[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "g%d", i);
        tn_nflog_log(l, key, firing, 1, NULL, 0, NULL, 0, (i % 2 ? 50 : 500) * S);
    }
    assert_int_equal(tn_nflog_count(l), 1000);
    assert_int_equal(tn_nflog_gc(l, 300 * S), 500);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "g%d", i);
        if (i % 2)
            assert_null(tn_nflog_get(l, key));
        else
            assert_non_null(tn_nflog_get(l, key));
    }
    free(k);
    tn_nflog_free(l);
}

static void test_subset(void **state)
{
    (void)state;
    uint64_t set[] = {1, 3, 5, 7};
    uint64_t a[] = {3, 7}, b[] = {3, 4}, c[] = {8};
    assert_true(tn_nflog_is_subset(a, 2, set, 4));
    assert_false(tn_nflog_is_subset(b, 2, set, 4));
    assert_false(tn_nflog_is_subset(c, 1, set, 4));
    assert_true(tn_nflog_is_subset(NULL, 0, set, 4));
    assert_true(tn_nflog_is_subset(NULL, 0, NULL, 0));
}

static void test_needs_update_table(void **state)
{
    (void)state;
    uint64_t f12[] = {1, 2}, f1[] = {1}, r3[] = {3};
    tn_nflog_entry_t e = {.timestamp = 1000 * S, .firing = f12, .nfiring = 2};
    tn_duration_t rep = 100 * S;
    /* No entry: notify only if something fires. */
    assert_int_equal(tn_notify_needs_update(NULL, f1, 1, NULL, 0, true, rep, 1000 * S),
                     TN_REASON_FIRST);
    assert_int_equal(tn_notify_needs_update(NULL, NULL, 0, r3, 1, true, rep, 1000 * S),
                     TN_REASON_NONE);
    /* A firing alert not notified before. */
    uint64_t f4[] = {4};
    assert_int_equal(tn_notify_needs_update(&e, f4, 1, NULL, 0, true, rep, 1001 * S),
                     TN_REASON_NEW_ALERTS);
    /* Subset of what fired before: nothing new until repeat. */
    assert_int_equal(tn_notify_needs_update(&e, f1, 1, NULL, 0, true, rep, 1050 * S),
                     TN_REASON_NONE);
    assert_int_equal(tn_notify_needs_update(&e, f1, 1, NULL, 0, true, rep, 1101 * S),
                     TN_REASON_REPEAT);
    assert_int_equal(tn_notify_needs_update(&e, f1, 1, NULL, 0, true, rep, 1100 * S),
                     TN_REASON_NONE);
    /* A newly resolved alert, with and without send_resolved. */
    assert_int_equal(tn_notify_needs_update(&e, f1, 1, r3, 1, true, rep, 1050 * S),
                     TN_REASON_NEW_RESOLVED);
    assert_int_equal(tn_notify_needs_update(&e, f1, 1, r3, 1, false, rep, 1050 * S),
                     TN_REASON_NONE);
    /* Everything resolved after something fired. */
    assert_int_equal(tn_notify_needs_update(&e, NULL, 0, f12, 2, false, rep, 1050 * S),
                     TN_REASON_ALL_RESOLVED);
    /* Entry with nothing firing, then something fires: a first notification again. */
    tn_nflog_entry_t empty = {.timestamp = 1000 * S};
    assert_int_equal(tn_notify_needs_update(&empty, f1, 1, NULL, 0, true, rep, 1001 * S),
                     TN_REASON_FIRST);
    assert_int_equal(tn_notify_needs_update(&empty, NULL, 0, r3, 1, true, rep, 1001 * S),
                     TN_REASON_NONE);
}

static void test_snapshot_roundtrip_and_damage(void **state)
{
    (void)state;
    char dir[] = "/tmp/tn-nflog-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/nflog", dir);
    char err[256];

    tn_nflog_t *l = tn_nflog_new();
    assert_int_equal(tn_nflog_load(l, path, 0, err, sizeof(err)), TN_OK); /* missing: fine */
    uint64_t f[] = {5, 1}, r[] = {9};
    tn_nflog_log(l, "g1:r/webhook/0", f, 2, r, 1, NULL, 100 * S, 1000 * S);
    tn_nflog_log(l, "g2:r/webhook/0", NULL, 0, NULL, 0, NULL, 100 * S, 150 * S);
    assert_int_equal(tn_nflog_save(l, path, err, sizeof(err)), TN_OK);
    tn_nflog_free(l);

    l = tn_nflog_new();
    assert_int_equal(tn_nflog_load(l, path, 200 * S, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_nflog_count(l), 1); /* g2 had expired */
    const tn_nflog_entry_t *e = tn_nflog_get(l, "g1:r/webhook/0");
    assert_non_null(e);
    assert_int_equal(e->timestamp, 100 * S);
    assert_int_equal(e->nfiring, 2);
    assert_true(e->firing[0] == 1 && e->firing[1] == 5);
    assert_int_equal(e->nresolved, 1);
    tn_nflog_free(l);

    /* A truncated file is an error that names the file, not a silent loss. */
    assert_int_equal(truncate(path, 20), 0);
    l = tn_nflog_new();
    assert_int_equal(tn_nflog_load(l, path, 0, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, path));
    tn_nflog_free(l);
    FILE *fp = fopen(path, "wb");
    fputs("garbage", fp);
    fclose(fp);
    l = tn_nflog_new();
    assert_int_equal(tn_nflog_load(l, path, 0, err, sizeof(err)), TN_ERR_INVAL);
    tn_nflog_free(l);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_log_get_gc),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_needs_update_table),
        cmocka_unit_test(test_snapshot_roundtrip_and_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
