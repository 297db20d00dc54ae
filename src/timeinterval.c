/* Time intervals: evaluation of time_intervals against an instant (stub). */
#include "tocsin/timeinterval.h"

bool tn_time_interval_contains(const tn_time_interval_t *ti, tn_time_t t)
{
    TN_UNUSED(ti);
    TN_UNUSED(t);
    return false;
}

bool tn_route_time_muted(const tn_config_t *cfg, const tn_route_t *r, tn_time_t now,
                         const char **name_out)
{
    TN_UNUSED(cfg);
    TN_UNUSED(r);
    TN_UNUSED(now);
    if (name_out)
        *name_out = NULL;
    return false;
}
