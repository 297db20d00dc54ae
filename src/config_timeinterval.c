/* time_intervals and mute_time_intervals: times, weekdays, days of month, months, years and
 * location, with Alertmanager's validation messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "tocsin/timeinterval.h"

void cfg_time_interval_free(tn_time_interval_t *ti)
{
    for (size_t i = 0; i < ti->nspecs; i++) {
        tn_time_interval_spec_t *s = &ti->specs[i];
        free(s->times);
        free(s->weekdays);
        free(s->days_of_month);
        free(s->months);
        free(s->years);
        free(s->location);
        tn_tz_free(s->tz);
    }
    free(ti->specs);
    free(ti->name);
}

/* "HH:MM", 00:00 to 23:59 or 24:00, as minutes of the day. */
static int cfg_parse_hhmm(const char *s, int *out)
{
    if (strcmp(s, "24:00") == 0) {
        *out = 24 * 60;
        return TN_OK;
    }
    if (strlen(s) != 5 || s[2] != ':')
        return TN_ERR_INVAL;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return TN_ERR_INVAL;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return TN_ERR_INVAL;
    *out = h * 60 + m;
    return TN_OK;
}

static int cfg_times(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "times");
    s->times = tn_xcalloc(tn_yaml_seq_len(n) + 1, sizeof(*s->times));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        tn_ypair_t *pairs = NULL;
        const char *st = NULL, *et = NULL;
        int np, rc = TN_OK, start = 0, end = 0;

        np = tn_yaml_mapping(&x->y, it, "times", &pairs);
        if (np < 0)
            return np;
        for (int j = 0; j < np && rc == TN_OK; j++) {
            const char *k = tn_yaml_scalar(pairs[j].key);
            if (strcmp(k, "start_time") == 0 || strcmp(k, "end_time") == 0) {
                rc = cfg_want_scalar(x, pairs[j].value, k, "a string");
                if (rc == TN_OK)
                    *(k[0] == 's' ? &st : &et) = tn_yaml_scalar(pairs[j].value);
            } else {
                rc = tn_yaml_error(&x->y, pairs[j].key, "unknown field \"%s\" in times", k);
            }
        }
        free(pairs);
        if (rc != TN_OK)
            return rc;
        if (!st || !et || !st[0] || !et[0])
            return tn_yaml_error(&x->y, it, "both start and end times must be provided");
        if (cfg_parse_hhmm(st, &start) != TN_OK)
            return tn_yaml_error(&x->y, it, "couldn't parse timestamp %s, invalid format", st);
        if (cfg_parse_hhmm(et, &end) != TN_OK)
            return tn_yaml_error(&x->y, it, "couldn't parse timestamp %s, invalid format", et);
        if (start >= end)
            return tn_yaml_error(&x->y, it, "start time cannot be equal or greater than end time");
        s->times[s->ntimes].start = start;
        s->times[s->ntimes].end = end;
        s->ntimes++;
    }
    return TN_OK;
}

enum cfg_range_kind { CFG_WEEKDAY, CFG_MDAY, CFG_MONTH, CFG_YEAR };

static const char *const cfg_weekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                           "thursday", "friday", "saturday"};
static const char *const cfg_months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};

/* An integer as Go's strconv.Atoi reads it: optional sign, then digits only. Returns NULL, or
 * Go's reason ("invalid syntax", "value out of range"). Values past an int's range but within
 * int64's, which never match a day or a year, are clamped. */
static const char *cfg_atoi(const char *s, int *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    bool neg = *s == '-';
    uint64_t v = 0;
    bool big = false;
    if (!*p)
        return "invalid syntax";
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return "invalid syntax";
        if (v > (UINT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (big || v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return "value out of range";
    if (v > 1000000000)
        v = 1000000000;
    *out = neg ? -(int)v : (int)v;
    return NULL;
}

static int cfg_range_member(cfg_ctx_t *x, tn_ynode_t *at, enum cfg_range_kind kind, const char *s,
                            int *out)
{
    switch (kind) {
    case CFG_WEEKDAY:
        for (int i = 0; i < 7; i++)
            if (strcmp(s, cfg_weekdays[i]) == 0) {
                *out = i;
                return TN_OK;
            }
        return tn_yaml_error(&x->y, at, "%s is not a valid weekday", s);
    case CFG_MONTH:
        for (int i = 0; i < 12; i++)
            if (strcmp(s, cfg_months[i]) == 0) {
                *out = i + 1;
                return TN_OK;
            }
        /* Numbers out of 1..12 are accepted (and never match), as Alertmanager does. */
        if (cfg_atoi(s, out))
            return tn_yaml_error(&x->y, at, "%s is not a valid month", s);
        return TN_OK;
    case CFG_MDAY:
    case CFG_YEAR: {
        /* worded as Go's strconv.Atoi, which Alertmanager reports as it is */
        const char *why = cfg_atoi(s, out);
        if (why)
            return tn_yaml_error(&x->y, at, "strconv.Atoi: parsing \"%s\": %s", s, why);
        return TN_OK;
    }
    }
    return TN_ERR_INVAL;
}

static int cfg_range(cfg_ctx_t *x, tn_ynode_t *at, enum cfg_range_kind kind, const char *in,
                     tn_time_range_t *r)
{
    char *s = tn_xstrdup(in), *colon;
    int rc;

    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    colon = strchr(s, ':');
    if (colon) {
        *colon = 0;
        if (strchr(colon + 1, ':')) {
            rc = tn_yaml_error(&x->y, at, "couldn't parse range %s, invalid format", in);
            goto out;
        }
        rc = cfg_range_member(x, at, kind, s, &r->start);
        if (rc == TN_OK)
            rc = cfg_range_member(x, at, kind, colon + 1, &r->end);
    } else {
        rc = cfg_range_member(x, at, kind, s, &r->start);
        r->end = r->start;
    }
    if (rc != TN_OK)
        goto out;
    switch (kind) {
    case CFG_WEEKDAY:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "start day cannot be before end day");
        break;
    case CFG_MDAY: {
        int b = r->start, e = r->end;
        if (b == 0 || b < -31 || b > 31)
            rc = tn_yaml_error(&x->y, at, "%d is not a valid day of the month: out of range", b);
        else if (e == 0 || e < -31 || e > 31)
            rc = tn_yaml_error(&x->y, at, "%d is not a valid day of the month: out of range", e);
        else if (b < 0 && e > 0)
            rc = tn_yaml_error(&x->y, at, "end day must be negative if start day is negative");
        else if ((b < 0 ? 28 + b : b) > (e < 0 ? 28 + e : e))
            rc = tn_yaml_error(&x->y, at, "end day %d is always before start day %d", e, b);
        break;
    }
    case CFG_MONTH:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "end month %s is before start month %s",
                               r->end >= 1 && r->end <= 12 ? cfg_months[r->end - 1] : "",
                               r->start >= 1 && r->start <= 12 ? cfg_months[r->start - 1] : "");
        break;
    case CFG_YEAR:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "end year %d is before start year %d", r->end, r->start);
        break;
    }
out:
    free(s);
    return rc;
}

static int cfg_ranges(cfg_ctx_t *x, tn_ynode_t *n, const char *key, enum cfg_range_kind kind,
                      tn_time_range_t **out, size_t *outn)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, key);
    *out = tn_xcalloc(tn_yaml_seq_len(n) + 1, sizeof(**out));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        int rc = cfg_want_scalar(x, it, key, "a string");
        if (rc == TN_OK)
            rc = cfg_range(x, it, kind, tn_yaml_scalar(it), &(*out)[*outn]);
        if (rc != TN_OK)
            return rc;
        (*outn)++;
    }
    return TN_OK;
}

/* The zone is loaded here, once per config snapshot, and evaluated without the file system. */
static int cfg_location(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    const char *name;
    char err[TN_ERRBUF_SIZE];
    int rc = cfg_want_scalar(x, n, "location", "a string");
    if (rc != TN_OK)
        return rc;
    name = tn_yaml_scalar(n);
    tn_tz_free(s->tz);
    s->tz = NULL;
    for (size_t i = 0; i < x->nzones && !s->tz; i++)
        if (strcmp(tn_tz_name(x->zones[i]), name[0] ? name : "UTC") == 0)
            s->tz = tn_tz_ref(x->zones[i]);
    if (!s->tz) {
        s->tz = tn_tz_load(name, err, sizeof(err));
        if (!s->tz)
            return tn_yaml_error(&x->y, n, "%s", err);
        x->zones = tn_xrealloc(x->zones, (x->nzones + 1) * sizeof(*x->zones));
        x->zones[x->nzones++] = tn_tz_ref(s->tz);
    }
    free(s->location);
    s->location = tn_xstrdup(name[0] ? name : "UTC");
    return TN_OK;
}

static int cfg_time_spec(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    np = tn_yaml_mapping(&x->y, n, "time_intervals", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "times") == 0)
            rc = cfg_times(x, v, s);
        else if (strcmp(k, "weekdays") == 0)
            rc = cfg_ranges(x, v, k, CFG_WEEKDAY, &s->weekdays, &s->nweekdays);
        else if (strcmp(k, "days_of_month") == 0)
            rc = cfg_ranges(x, v, k, CFG_MDAY, &s->days_of_month, &s->ndays_of_month);
        else if (strcmp(k, "months") == 0)
            rc = cfg_ranges(x, v, k, CFG_MONTH, &s->months, &s->nmonths);
        else if (strcmp(k, "years") == 0)
            rc = cfg_ranges(x, v, k, CFG_YEAR, &s->years, &s->nyears);
        else if (strcmp(k, "location") == 0)
            rc = tn_yaml_is_null(v) ? TN_OK : cfg_location(x, v, s);
        else
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in time interval", k);
    }
    free(pairs);
    return rc;
}

static int cfg_time_interval(cfg_ctx_t *x, tn_ynode_t *n, bool legacy, tn_time_interval_t *ti)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *name = NULL;
    int np, rc = TN_OK;

    ti->pos = cfg_pos(n);
    np = tn_yaml_mapping(&x->y, n, "time interval", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "name") == 0) {
            name = v;
            rc = cfg_take_str(x, v, k, &ti->name);
        } else if (strcmp(k, "time_intervals") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            if (!tn_yaml_is_seq(v)) {
                rc = tn_yaml_list_error(&x->y, v, "time_intervals");
                break;
            }
            ti->specs = tn_xcalloc(tn_yaml_seq_len(v) + 1, sizeof(*ti->specs));
            for (size_t j = 0; j < tn_yaml_seq_len(v) && rc == TN_OK; j++) {
                ti->nspecs++;
                rc = cfg_time_spec(x, tn_yaml_seq_item(&x->y, v, j), &ti->specs[j]);
            }
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in %s", k,
                               legacy ? "mute_time_intervals" : "time_intervals");
        }
    }
    free(pairs);
    if (rc != TN_OK)
        return rc;
    if (!ti->name || !ti->name[0])
        return tn_yaml_error(&x->y, n, "missing name in %s",
                             legacy ? "mute time interval" : "time interval");
    for (size_t i = 0; i < x->c->ntime_intervals; i++)
        if (strcmp(x->c->time_intervals[i].name, ti->name) == 0)
            return tn_yaml_error(&x->y, name, "%s \"%s\" is not unique",
                                 legacy ? "mute time interval" : "time interval", ti->name);
    return TN_OK;
}

int cfg_time_intervals(cfg_ctx_t *x, tn_ynode_t *n, bool legacy)
{
    const char *key = legacy ? "mute_time_intervals" : "time_intervals";
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, key);
    len = tn_yaml_seq_len(n);
    x->c->time_intervals = tn_xrealloc(x->c->time_intervals, (x->c->ntime_intervals + len + 1) *
                                                                 sizeof(tn_time_interval_t));
    for (size_t i = 0; i < len; i++) {
        tn_time_interval_t ti;
        int rc;
        memset(&ti, 0, sizeof(ti));
        rc = cfg_time_interval(x, tn_yaml_seq_item(&x->y, n, i), legacy, &ti);
        if (rc != TN_OK) {
            cfg_time_interval_free(&ti);
            return rc;
        }
        x->c->time_intervals[x->c->ntime_intervals++] = ti;
    }
    return TN_OK;
}

const tn_time_interval_t *cfg_time_interval_find(const tn_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->ntime_intervals; i++)
        if (strcmp(c->time_intervals[i].name, name) == 0)
            return &c->time_intervals[i];
    return NULL;
}
