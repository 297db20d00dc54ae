/* Time intervals: whether an instant falls in a named interval, and the mute decision of a
 * route's mute_time_intervals / active_time_intervals. Zones come from the system tzdata
 * through a small TZif reader (tz.c); the process TZ is never switched. */
#ifndef TOCSIN_TIMEINTERVAL_H
#define TOCSIN_TIMEINTERVAL_H

#include "tocsin/common.h"
#include "tocsin/config.h"

/* Whether t falls in the interval (any of its specs). */
bool tn_time_interval_contains(const tn_time_interval_t *ti, tn_time_t t);

/* Alertmanager's route semantics at now: true when the route's notifications must not go out
 * (inside a mute_time_interval, or outside every active_time_interval). name_out (may be NULL)
 * gets the name of the interval that decided, for logs/mutedBy. */
bool tn_route_time_muted(const tn_config_t *cfg, const tn_route_t *r, tn_time_t now,
                         const char **name_out);

#endif
