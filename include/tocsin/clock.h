/* The one place where wall-clock time is read, so tests can drive it. */
#ifndef TOCSIN_CLOCK_H
#define TOCSIN_CLOCK_H

#include "tocsin/common.h"

tn_time_t tn_clock_now(void);
/* Tests: make tn_clock_now() return *t (read on every call). NULL restores the real clock. */
void tn_clock_set_fake(const tn_time_t *t);

/* Monotonic milliseconds for timeouts and latency measurement (never faked). */
uint64_t tn_clock_mono_ms(void);

#endif
