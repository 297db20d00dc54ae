/* Deadline scheduler: many timers on one libuv timer (a min-heap by wall-clock deadline).
 *
 * Dispatch groups and notification retries schedule here instead of owning a uv_timer each,
 * which keeps 100k groups cheap and lets unit tests drive time with tn_sched_run_until()
 * without a loop. */
#ifndef TOCSIN_SCHED_H
#define TOCSIN_SCHED_H

#include "tocsin/common.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct tn_sched tn_sched_t;

typedef void (*tn_sched_fn)(void *ud, tn_time_t now);

/* An entry is embedded in its owner; idx is managed by the scheduler (-1 when not armed). */
typedef struct tn_sched_entry {
    tn_time_t when;
    ptrdiff_t idx;
    uint64_t seq; /* FIFO order among equal deadlines */
    tn_sched_fn fn;
    void *ud;
} tn_sched_entry_t;

/* loop may be NULL: then nothing fires by itself and tests call tn_sched_run_until(). */
tn_sched_t *tn_sched_new(uv_loop_t *loop);
/* Closes the uv timer; the struct is freed in its close callback (or at once without a loop).
 * Armed entries are dropped without firing. */
void tn_sched_free(tn_sched_t *s);

void tn_sched_entry_init(tn_sched_entry_t *e, tn_sched_fn fn, void *ud);
/* Arms (or re-arms) e to fire at `when` (wall clock, tn_clock_now() time base). */
void tn_sched_at(tn_sched_t *s, tn_sched_entry_t *e, tn_time_t when);
void tn_sched_cancel(tn_sched_t *s, tn_sched_entry_t *e);
static inline bool tn_sched_armed(const tn_sched_entry_t *e)
{
    return e->idx >= 0;
}
/* Fires, in deadline order, every entry due at or before now. Entries armed by callbacks for a
 * time <= now fire in the same call. Returns how many fired. */
size_t tn_sched_run_until(tn_sched_t *s, tn_time_t now);
/* Deadline of the earliest armed entry, or INT64_MAX. */
tn_time_t tn_sched_next(tn_sched_t *s);
size_t tn_sched_pending(tn_sched_t *s);

#endif
