/* Wall and monotonic clocks; the wall clock can be faked by tests. */
#include "tocsin/clock.h"

#include <time.h>

static const tn_time_t *fake_now;

tn_time_t tn_clock_now(void)
{
    if (fake_now)
        return *fake_now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tn_time_t)ts.tv_sec * TN_NS_PER_SEC + ts.tv_nsec;
}

void tn_clock_set_fake(const tn_time_t *t)
{
    fake_now = t;
}

uint64_t tn_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
