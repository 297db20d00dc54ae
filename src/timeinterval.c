/* Time intervals: whether an instant falls in a named interval, and a route's mute decision
 * from its active_time_intervals and mute_time_intervals (the zones are loaded by config). */
#include "tocsin/timeinterval.h"

#include <string.h>

/* An absent field (no list) matches everything; a present one needs one matching range. */
static bool ti_in_ranges(const tn_time_range_t *rs, size_t n, int v)
{
    if (!rs)
        return true;
    for (size_t i = 0; i < n; i++)
        if (v >= rs[i].start && v <= rs[i].end)
            return true;
    return false;
}

static int ti_clamp(int v, int lo, int hi)
{
    return v <= lo ? lo : v >= hi ? hi : v;
}

/* Negative days count from the month's end (-1 = last day); a range that starts past the end
 * of a short month does not match in it, and its end is clamped to the month, as Alertmanager
 * does. */
static bool ti_in_mdays(const tn_time_range_t *rs, size_t n, const tn_civil_t *c)
{
    if (!rs)
        return true;
    for (size_t i = 0; i < n; i++) {
        int b = rs[i].start < 0 ? c->mdays + rs[i].start + 1 : rs[i].start;
        int e = rs[i].end < 0 ? c->mdays + rs[i].end + 1 : rs[i].end;
        if (b > c->mdays)
            continue;
        b = ti_clamp(b, -c->mdays, c->mdays);
        e = ti_clamp(e, -c->mdays, c->mdays);
        if (c->mday >= b && c->mday <= e)
            return true;
    }
    return false;
}

static bool ti_spec_contains(const tn_time_interval_spec_t *s, tn_time_t t)
{
    tn_civil_t c;
    tn_tz_civil(s->tz, t, &c);
    if (s->times) {
        bool in = false;
        for (size_t i = 0; i < s->ntimes && !in; i++)
            in = c.minute_of_day >= s->times[i].start && c.minute_of_day < s->times[i].end;
        if (!in)
            return false;
    }
    return ti_in_mdays(s->days_of_month, s->ndays_of_month, &c) &&
           ti_in_ranges(s->months, s->nmonths, c.month) &&
           ti_in_ranges(s->weekdays, s->nweekdays, c.wday) &&
           ti_in_ranges(s->years, s->nyears, c.year);
}

bool tn_time_interval_contains(const tn_time_interval_t *ti, tn_time_t t)
{
    for (size_t i = 0; i < ti->nspecs; i++)
        if (ti_spec_contains(&ti->specs[i], t))
            return true;
    return false;
}

/* Names resolve through the route's pointers when config filled them, else by lookup. */
static const tn_time_interval_t *ti_find(const tn_config_t *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->ntime_intervals; i++)
        if (strcmp(cfg->time_intervals[i].name, name) == 0)
            return &cfg->time_intervals[i];
    return NULL;
}

static const tn_time_interval_t *ti_route_interval(const tn_config_t *cfg,
                                                   const tn_time_interval_t *const *resolved,
                                                   char *const *names, size_t i)
{
    if (resolved && resolved[i])
        return resolved[i];
    return ti_find(cfg, names[i]);
}

bool tn_route_time_muted(const tn_config_t *cfg, const tn_route_t *r, tn_time_t now,
                         const char **name_out)
{
    if (name_out)
        *name_out = NULL;
    if (!r)
        return false;
    /* Active intervals first: outside all of them the route is muted by them. */
    if (r->nactive_time_intervals > 0) {
        bool active = false;
        for (size_t i = 0; i < r->nactive_time_intervals && !active; i++) {
            const tn_time_interval_t *ti =
                ti_route_interval(cfg, r->active_tis, r->active_time_intervals, i);
            active = ti && tn_time_interval_contains(ti, now);
        }
        if (!active) {
            if (name_out)
                *name_out = r->active_time_intervals[0];
            return true;
        }
    }
    for (size_t i = 0; i < r->nmute_time_intervals; i++) {
        const tn_time_interval_t *ti =
            ti_route_interval(cfg, r->mute_tis, r->mute_time_intervals, i);
        if (ti && tn_time_interval_contains(ti, now)) {
            if (name_out)
                *name_out = r->mute_time_intervals[i];
            return true;
        }
    }
    return false;
}
