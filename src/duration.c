/* Durations in Prometheus' model.Duration syntax: units from biggest to smallest, each at most
 * once ("1w2d3h4m5s6ms"), a bare "0" allowed, a year being 365 days. */
#include "tocsin/config.h"

#include <stdio.h>
#include <string.h>

#define DUR_MS   (TN_NS_PER_MS)
#define DUR_SEC  (TN_NS_PER_SEC)
#define DUR_MIN  (60 * DUR_SEC)
#define DUR_HOUR (60 * DUR_MIN)
#define DUR_DAY  (24 * DUR_HOUR)
#define DUR_WEEK (7 * DUR_DAY)
#define DUR_YEAR (365 * DUR_DAY)

static const struct {
    const char *name;
    uint64_t mult; /* nanoseconds */
} duration_units[] = {
    /* Order is the order units must appear in. */
    {"y", DUR_YEAR}, {"w", DUR_WEEK}, {"d", DUR_DAY}, {"h", DUR_HOUR},
    {"m", DUR_MIN},  {"s", DUR_SEC},  {"ms", DUR_MS},
};

static bool duration_isdigit(char c)
{
    return c >= '0' && c <= '9';
}

int tn_duration_parse(const char *s, tn_duration_t *out, char *err, size_t errlen)
{
    const char *p = s;
    uint64_t total = 0;
    size_t next_unit = 0; /* index of the smallest unit still allowed */

    if (strcmp(s, "0") == 0) {
        *out = 0;
        return TN_OK;
    }
    if (*s == 0) {
        snprintf(err, errlen, "empty duration string");
        return TN_ERR_INVAL;
    }
    while (*p) {
        uint64_t v = 0;
        bool overflow = false;
        const char *u;
        size_t ulen, i;

        if (!duration_isdigit(*p))
            goto bad;
        for (; duration_isdigit(*p); p++) {
            if (v > (UINT64_MAX - 9) / 10)
                overflow = true;
            else
                v = v * 10 + (uint64_t)(*p - '0');
        }
        for (u = p; *p && !duration_isdigit(*p); p++)
            ;
        ulen = (size_t)(p - u);
        if (ulen == 0 || overflow)
            goto bad;
        for (i = 0; i < TN_ARRAY_LEN(duration_units); i++)
            if (strlen(duration_units[i].name) == ulen &&
                memcmp(duration_units[i].name, u, ulen) == 0)
                break;
        if (i == TN_ARRAY_LEN(duration_units)) {
            snprintf(err, errlen, "unknown unit \"%.*s\" in duration \"%s\"", (int)ulen, u, s);
            return TN_ERR_INVAL;
        }
        if (i < next_unit)
            goto bad;
        next_unit = i + 1;
        if (v > (UINT64_C(1) << 63) / duration_units[i].mult)
            goto range;
        total += v * duration_units[i].mult;
        if (total > (uint64_t)INT64_MAX)
            goto range;
    }
    *out = (tn_duration_t)total;
    return TN_OK;
bad:
    snprintf(err, errlen, "not a valid duration string: \"%s\"", s);
    return TN_ERR_INVAL;
range:
    snprintf(err, errlen, "duration out of range: \"%s\"", s);
    return TN_ERR_INVAL;
}

void tn_duration_format(tn_duration_t d, char out[32])
{
    /* Milliseconds like Prometheus; years and weeks only when they divide evenly, since
     * "90d" reads better than "12w6d". */
    int64_t ms = d / DUR_MS;
    size_t len = 0;

    out[0] = 0;
    if (ms == 0) {
        memcpy(out, "0s", 3);
        return;
    }
    for (size_t i = 0; i < TN_ARRAY_LEN(duration_units); i++) {
        int64_t mult = (int64_t)(duration_units[i].mult / (uint64_t)DUR_MS);
        bool exact_only = i < 2;
        int64_t v;
        int n;

        if (exact_only && ms % mult != 0)
            continue;
        v = ms / mult;
        if (v <= 0)
            continue;
        n = snprintf(out + len, 32 - len, "%lld%s", (long long)v, duration_units[i].name);
        if (n < 0 || (size_t)n >= 32 - len)
            return;
        len += (size_t)n;
        ms -= v * mult;
    }
}
