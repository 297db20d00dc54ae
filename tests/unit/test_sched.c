#include "tn_test.h"

#include <stdlib.h>
#include <uv.h>

#include "tocsin/clock.h"
#include "tocsin/sched.h"

typedef struct rec {
    int order[64];
    int n;
} rec_t;

typedef struct item {
    tn_sched_entry_t e;
    rec_t *rec;
    int id;
} item_t;

static void fire(void *ud, tn_time_t now)
{
    (void)now;
    item_t *it = ud;
    it->rec->order[it->rec->n++] = it->id;
}

static void test_order_and_cancel(void **state)
{
    (void)state;
    tn_sched_t *s = tn_sched_new(NULL);
    rec_t rec = {0};
    item_t items[10];
    int whens[10] = {50, 10, 30, 10, 90, 70, 20, 60, 40, 80};
    for (int i = 0; i < 10; i++) {
        items[i] = (item_t){.rec = &rec, .id = i};
        tn_sched_entry_init(&items[i].e, fire, &items[i]);
        tn_sched_at(s, &items[i].e, whens[i]);
    }
    tn_sched_cancel(s, &items[2].e); /* 30 */
    tn_sched_at(s, &items[4].e, 5);  /* re-arm earlier */
    assert_int_equal(tn_sched_next(s), 5);
    assert_int_equal(tn_sched_run_until(s, 45), 5);
    int want[] = {4, 1, 3, 6, 8}; /* 5, 10, 10 (FIFO), 20, 40 */
    assert_int_equal(rec.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec.order[i], want[i]);
    assert_int_equal(tn_sched_pending(s), 4);
    assert_false(tn_sched_armed(&items[1].e));
    assert_true(tn_sched_armed(&items[0].e));
    tn_sched_run_until(s, 1000);
    assert_int_equal(rec.n, 9);
    tn_sched_free(s);
}

static tn_sched_t *loop_sched;
static void rearm_self(void *ud, tn_time_t now)
{
    item_t *it = ud;
    it->rec->order[it->rec->n++] = it->id;
    if (it->rec->n < 3)
        tn_sched_at(loop_sched, &it->e, now + 5 * TN_NS_PER_MS);
}

static void test_with_loop(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    loop_sched = tn_sched_new(&loop);
    rec_t rec = {0};
    item_t it = {.rec = &rec, .id = 7};
    tn_sched_entry_init(&it.e, rearm_self, &it);
    uint64_t t0 = tn_clock_mono_ms();
    tn_sched_at(loop_sched, &it.e, tn_clock_now() + 10 * TN_NS_PER_MS);
    while (rec.n < 3)
        uv_run(&loop, UV_RUN_ONCE);
    uint64_t took = tn_clock_mono_ms() - t0;
    assert_true(took >= 19);
    assert_true(took < 2000);
    tn_sched_free(loop_sched);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_cancel),
        cmocka_unit_test(test_with_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
