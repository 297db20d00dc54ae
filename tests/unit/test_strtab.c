#include "tn_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/common.h"
#include "tocsin/strtab.h"

typedef struct item {
    char key[16];
    int v;
} item_t;

static const char *item_key(const void *p)
{
    return ((const item_t *)p)->key;
}

static void test_fnv1a(void **state)
{
    (void)state;
    /* FNV-1a 64's published values */
    assert_true(tn_str_hash("") == UINT64_C(0xcbf29ce484222325));
    assert_true(tn_str_hash("a") == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(tn_str_hash("foobar") == UINT64_C(0x85944171f73967e8));
    assert_true(tn_fnv1a("foobar", 6) == tn_str_hash("foobar"));
}

static void test_put_get_del(void **state)
{
    (void)state;
    tn_strtab_t t = TN_STRTAB_INIT(item_key);
    assert_null(tn_strtab_get(&t, "x"));
    tn_strtab_del(&t, "x"); /* empty: nothing to do */
    enum { N = 1000 };
    item_t *items = tn_xcalloc(N, sizeof(*items));
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
        items[i].v = i;
        tn_strtab_put(&t, &items[i]);
    }
    assert_int_equal(t.count, N);
    assert_true(t.count * 4 <= t.cap * 3); /* grown, load under 3/4 */
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        item_t *it = tn_strtab_get(&t, k);
        assert_non_null(it);
        assert_int_equal(it->v, i);
    }
    /* a value with the same key replaces the old one, the count unchanged */
    item_t again = {.key = "k7", .v = -7};
    tn_strtab_put(&t, &again);
    assert_int_equal(t.count, N);
    assert_int_equal(((item_t *)tn_strtab_get(&t, "k7"))->v, -7);
    /* deleting every other key keeps the rest reachable (runs are re-inserted) */
    for (int i = 0; i < N; i += 2) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        tn_strtab_del(&t, k);
        tn_strtab_del(&t, k); /* twice: the second finds nothing */
    }
    assert_int_equal(t.count, N / 2);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        if (i % 2)
            assert_non_null(tn_strtab_get(&t, k));
        else
            assert_null(tn_strtab_get(&t, k));
    }
    tn_strtab_free(&t);
    assert_int_equal(t.cap, 0);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a),
        cmocka_unit_test(test_put_get_del),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
