/* Deadline scheduler: a binary min-heap of entries behind one uv_timer_t. */
#include "tocsin/sched.h"

#include <stdlib.h>
#include <uv.h>

#include "tocsin/clock.h"

struct tn_sched {
    tn_sched_entry_t **heap;
    size_t n, cap;
    uint64_t seq;
    uv_loop_t *loop;
    uv_timer_t timer;
    bool running; /* inside run_until: defer re-arming the uv timer */
};

static bool before(const tn_sched_entry_t *a, const tn_sched_entry_t *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void place(tn_sched_t *s, size_t i, tn_sched_entry_t *e)
{
    s->heap[i] = e;
    e->idx = (ptrdiff_t)i;
}

static void sift_up(tn_sched_t *s, size_t i)
{
    tn_sched_entry_t *e = s->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(e, s->heap[p]))
            break;
        place(s, i, s->heap[p]);
        i = p;
    }
    place(s, i, e);
}

static void sift_down(tn_sched_t *s, size_t i)
{
    tn_sched_entry_t *e = s->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        tn_sched_entry_t *best = e;
        if (l < s->n && before(s->heap[l], best))
            m = l, best = s->heap[l];
        if (l + 1 < s->n && before(s->heap[l + 1], best))
            m = l + 1, best = s->heap[l + 1];
        if (m == i)
            break;
        place(s, i, best);
        i = m;
    }
    place(s, i, e);
}

static void heap_remove(tn_sched_t *s, tn_sched_entry_t *e)
{
    size_t i = (size_t)e->idx;
    e->idx = -1;
    s->n--;
    if (i == s->n)
        return;
    tn_sched_entry_t *last = s->heap[s->n];
    place(s, i, last);
    if (i > 0 && before(last, s->heap[(i - 1) / 2]))
        sift_up(s, i);
    else
        sift_down(s, i);
}

static void on_timer(uv_timer_t *t);

static void rearm(tn_sched_t *s)
{
    if (!s->loop || s->running)
        return;
    if (s->n == 0) {
        uv_timer_stop(&s->timer);
        return;
    }
    tn_time_t now = tn_clock_now();
    tn_time_t when = s->heap[0]->when;
    uint64_t ms = 0;
    if (when > now) {
        /* Round up so we never wake a hair early and spin. */
        ms = (uint64_t)((when - now + TN_NS_PER_MS - 1) / TN_NS_PER_MS);
    }
    uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    tn_sched_t *s = t->data;
    tn_sched_run_until(s, tn_clock_now());
}

tn_sched_t *tn_sched_new(uv_loop_t *loop)
{
    tn_sched_t *s = tn_xcalloc(1, sizeof(*s));
    s->loop = loop;
    if (loop) {
        uv_timer_init(loop, &s->timer);
        s->timer.data = s;
    }
    return s;
}

static void on_close(uv_handle_t *h)
{
    tn_sched_t *s = h->data;
    free(s->heap);
    free(s);
}

void tn_sched_free(tn_sched_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        s->heap[i]->idx = -1;
    s->n = 0;
    if (s->loop) {
        uv_close((uv_handle_t *)&s->timer, on_close);
    } else {
        free(s->heap);
        free(s);
    }
}

void tn_sched_entry_init(tn_sched_entry_t *e, tn_sched_fn fn, void *ud)
{
    e->when = 0;
    e->idx = -1;
    e->seq = 0;
    e->fn = fn;
    e->ud = ud;
}

void tn_sched_at(tn_sched_t *s, tn_sched_entry_t *e, tn_time_t when)
{
    if (e->idx >= 0)
        heap_remove(s, e);
    e->when = when;
    e->seq = s->seq++;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->heap = tn_xrealloc(s->heap, s->cap * sizeof(*s->heap));
    }
    place(s, s->n, e);
    s->n++;
    sift_up(s, s->n - 1);
    if (s->heap[0] == e)
        rearm(s);
}

void tn_sched_cancel(tn_sched_t *s, tn_sched_entry_t *e)
{
    if (e->idx < 0)
        return;
    bool was_first = s->heap[0] == e;
    heap_remove(s, e);
    if (was_first)
        rearm(s);
}

size_t tn_sched_run_until(tn_sched_t *s, tn_time_t now)
{
    size_t fired = 0;
    bool nested = s->running;
    s->running = true;
    while (s->n && s->heap[0]->when <= now) {
        tn_sched_entry_t *e = s->heap[0];
        heap_remove(s, e);
        fired++;
        e->fn(e->ud, now);
    }
    if (!nested) {
        s->running = false;
        rearm(s);
    }
    return fired;
}

tn_time_t tn_sched_next(tn_sched_t *s)
{
    return s->n ? s->heap[0]->when : INT64_MAX;
}

size_t tn_sched_pending(tn_sched_t *s)
{
    return s->n;
}
