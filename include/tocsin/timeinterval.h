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

/* ---- zones (tz.c) ---- */

/* A loaded time zone: TZif transitions plus the footer rule for instants past the last one. */
typedef struct tn_tz tn_tz_t;

/* Loads "UTC" (or ""), "Local" (TZ, else /etc/localtime, else UTC, as Go does) or an IANA
 * name from $ZONEINFO or /usr/share/zoneinfo. Returns NULL and writes err when the name is
 * invalid or unknown. The caller owns the zone (tn_tz_free). */
tn_tz_t *tn_tz_load(const char *name, char *err, size_t errlen);
/* From TZif bytes in memory (tests, fuzzing); name is copied. */
tn_tz_t *tn_tz_from_tzif(const char *name, const void *data, size_t len, char *err, size_t errlen);
/* From a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" alone. */
tn_tz_t *tn_tz_from_rule(const char *name, const char *rule, char *err, size_t errlen);
/* Zones are refcounted: a config shares one per name among its specs. free drops a reference. */
tn_tz_t *tn_tz_ref(tn_tz_t *tz);
void tn_tz_free(tn_tz_t *tz);
const char *tn_tz_name(const tn_tz_t *tz);
/* Offset from UTC in seconds at the instant unix_sec (east positive). NULL tz is UTC. */
int32_t tn_tz_offset(const tn_tz_t *tz, int64_t unix_sec);
/* The same, and the zone abbreviation in effect ("CET", "+0530" style names as tzdata has
 * them; "" when the zone data has none). NULL tz is UTC. */
int32_t tn_tz_lookup(const tn_tz_t *tz, int64_t unix_sec, const char **abbr);

/* Wall-clock fields of an instant in a zone. */
typedef struct tn_civil {
    int year;
    int month; /* 1..12 */
    int mday;  /* 1..31 */
    int wday;  /* 0 = Sunday */
    int minute_of_day;
    int mdays; /* days in this month */
} tn_civil_t;

/* t in the zone tz (NULL = UTC). */
void tn_tz_civil(const tn_tz_t *tz, tn_time_t t, tn_civil_t *out);

#endif
