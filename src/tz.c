/* Time zones from the system tzdata: a TZif (RFC 8536) reader and the POSIX TZ rule of its
 * footer. libc only converts through the process-wide TZ, which a daemon evaluating several
 * zones cannot switch, so zones are read and evaluated here. */
#include "tocsin/timeinterval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_FILE_CAP    (1024 * 1024) /* real zone files are a few KiB */
#define TZ_MAX_TRANS   100000

/* One end of the DST period of a POSIX rule. */
typedef struct tz_rule_date {
    char kind; /* 'J' Julian 1..365 without Feb 29, 'D' zero-based day 0..365, 'M' m.w.d */
    int day, week, month;
    int32_t secs; /* local time of day of the change, may be negative or past 24h */
} tz_rule_date_t;

typedef struct tz_rule {
    bool set;
    bool has_dst;
    int32_t std_off, dst_off; /* east positive */
    tz_rule_date_t start, end;
    char std_abbr[16], dst_abbr[16];
} tz_rule_t;

struct tn_tz {
    uint32_t refs;
    char *name;
    int64_t *trans; /* ascending, unix seconds */
    int32_t *trans_off;
    uint16_t *trans_abbr; /* offsets into abbrs */
    size_t ntrans;
    int32_t first_off; /* before the first transition */
    uint16_t first_abbr;
    char *abbrs;    /* the TZif designation strings, NUL-separated ("" when none) */
    tz_rule_t rule; /* past the last transition, when the footer has one */
};

/* ---- calendar arithmetic on a proleptic Gregorian calendar ---- */

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int tz_mdays(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && tz_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of y-m-d (Hinnant's days_from_civil). */
static int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = tz_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = tz_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int tz_wday(int64_t days)
{
    return (int)(((days % 7) + 11) % 7);
}

/* ---- POSIX TZ rules ---- */

static const char *tz_rule_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e && e - p >= 4 ? e + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; returns the end or NULL. */
static const char *tz_rule_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1, part[3] = {0, 0, 0};
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        int v = 0, nd = 0;
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        while (*p >= '0' && *p <= '9' && nd < 3) {
            v = v * 10 + (*p++ - '0');
            nd++;
        }
        if (nd == 0 || (i == 0 && v > max_h) || (i > 0 && v > 59))
            return NULL;
        part[i] = v;
    }
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *tz_rule_num(const char *p, int lo, int hi, int *out)
{
    int v = 0, nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 4) {
        v = v * 10 + (*p++ - '0');
        nd++;
    }
    if (nd == 0 || v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *tz_rule_date(const char *p, tz_rule_date_t *d)
{
    d->secs = 2 * 3600;
    if (*p == 'J') {
        d->kind = 'J';
        p = tz_rule_num(p + 1, 1, 365, &d->day);
    } else if (*p == 'M') {
        d->kind = 'M';
        p = tz_rule_num(p + 1, 1, 12, &d->month);
        if (p && *p == '.')
            p = tz_rule_num(p + 1, 1, 5, &d->week);
        else
            p = NULL;
        if (p && *p == '.')
            p = tz_rule_num(p + 1, 0, 6, &d->day);
        else
            p = NULL;
    } else {
        d->kind = 'D';
        p = tz_rule_num(p, 0, 365, &d->day);
    }
    if (p && *p == '/')
        p = tz_rule_hms(p + 1, 167, &d->secs);
    return p;
}

/* Copies the zone abbreviation between s and its end e (without <>) into out. */
static void tz_rule_abbr(const char *s, const char *e, char out[16])
{
    if (*s == '<')
        s++, e--;
    size_t n = (size_t)(e - s) < 15 ? (size_t)(e - s) : 15;
    memcpy(out, s, n);
    out[n] = 0;
}

static int tz_rule_parse(const char *s, tz_rule_t *r)
{
    const char *p = tz_rule_name(s);
    int32_t off;

    memset(r, 0, sizeof(*r));
    if (!p)
        return TN_ERR_INVAL;
    tz_rule_abbr(s, p, r->std_abbr);
    if (!(p = tz_rule_hms(p, 24, &off)))
        return TN_ERR_INVAL;
    r->std_off = -off; /* POSIX offsets count west */
    r->set = true;
    if (!*p)
        return TN_OK;
    const char *dst = p;
    if (!(p = tz_rule_name(p)))
        return TN_ERR_INVAL;
    tz_rule_abbr(dst, p, r->dst_abbr);
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = tz_rule_hms(p, 24, &off)))
            return TN_ERR_INVAL;
        r->dst_off = -off;
    }
    if (!*p) { /* no dates: the US rules, as POSIX leaves it to the implementation */
        p = "M3.2.0,M11.1.0";
    } else {
        p++;
    }
    if (!(p = tz_rule_date(p, &r->start)) || *p != ',')
        return TN_ERR_INVAL;
    if (!(p = tz_rule_date(p + 1, &r->end)) || *p)
        return TN_ERR_INVAL;
    return TN_OK;
}

/* Local midnight (as days since the epoch) of a rule date in year y. */
static int64_t tz_rule_day(const tz_rule_date_t *d, int64_t y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    switch (d->kind) {
    case 'J':
        return jan1 + d->day - 1 + (tz_leap(y) && d->day >= 60);
    case 'D':
        return jan1 + d->day;
    default: {
        int64_t first = tz_days_from_civil(y, d->month, 1);
        int mday = 1 + (d->day - tz_wday(first) + 7) % 7 + (d->week - 1) * 7;
        while (mday > tz_mdays(y, d->month))
            mday -= 7;
        return first + mday - 1;
    }
    }
}

static int32_t tz_rule_offset(const tz_rule_t *r, int64_t t, const char **abbr)
{
    *abbr = r->std_abbr;
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    int m, d;
    tz_civil_from_days(tz_floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* The start is announced in standard time, the end in daylight time. */
    int64_t start = tz_rule_day(&r->start, y) * 86400 + r->start.secs - r->std_off;
    int64_t end = tz_rule_day(&r->end, y) * 86400 + r->end.secs - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    if (dst)
        *abbr = r->dst_abbr;
    return dst ? r->dst_off : r->std_off;
}

/* ---- TZif ---- */

static uint32_t tz_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tz_be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

typedef struct tz_hdr {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tz_hdr_t;

static int tz_hdr(const uint8_t *p, size_t len, tz_hdr_t *h, int *version)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return TN_ERR_INVAL;
    *version = p[4] ? p[4] - '0' : 1;
    h->isutcnt = tz_be32(p + 20);
    h->isstdcnt = tz_be32(p + 24);
    h->leapcnt = tz_be32(p + 28);
    h->timecnt = tz_be32(p + 32);
    h->typecnt = tz_be32(p + 36);
    h->charcnt = tz_be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > TZ_MAX_TRANS ||
        h->leapcnt > TZ_MAX_TRANS || h->charcnt > 65536 ||
        (h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
        return TN_ERR_INVAL;
    return TN_OK;
}

static size_t tz_block_len(const tz_hdr_t *h, size_t tsize)
{
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static tn_tz_t *tz_new(const char *name)
{
    tn_tz_t *tz = tn_xcalloc(1, sizeof(*tz));
    tz->refs = 1;
    tz->name = tn_xstrdup(name);
    tz->abbrs = tn_xstrdup("UTC"); /* until a zone file says otherwise */
    return tz;
}

tn_tz_t *tn_tz_from_tzif(const char *name, const void *data, size_t len, char *err, size_t errlen)
{
    const uint8_t *p = data;
    tz_hdr_t h;
    int version;
    size_t tsize = 4, blen;
    tn_tz_t *tz = NULL;

    if (tz_hdr(p, len, &h, &version) != TN_OK)
        goto bad;
    blen = tz_block_len(&h, 4);
    if (version >= 2) {
        /* Skip the 32-bit block: the 64-bit one after it covers all instants. */
        if (len - 44 < blen)
            goto bad;
        p += 44 + blen;
        len -= 44 + blen;
        if (tz_hdr(p, len, &h, &version) != TN_OK)
            goto bad;
        tsize = 8;
        blen = tz_block_len(&h, 8);
    }
    if (len - 44 < blen)
        goto bad;

    const uint8_t *times = p + 44, *idx = times + (size_t)h.timecnt * tsize,
                  *types = idx + h.timecnt;
    tz = tz_new(name);
    tz->ntrans = h.timecnt;
    tz->trans = tn_xcalloc(h.timecnt + 1, sizeof(*tz->trans));
    tz->trans_off = tn_xcalloc(h.timecnt + 1, sizeof(*tz->trans_off));
    tz->trans_abbr = tn_xcalloc(h.timecnt + 1, sizeof(*tz->trans_abbr));
    const uint8_t *chars = types + (size_t)h.typecnt * 6;
    free(tz->abbrs);
    tz->abbrs = tn_xcalloc(h.charcnt + 1, 1); /* NUL-terminated even if the file is not */
    memcpy(tz->abbrs, chars, h.charcnt);
    for (uint32_t i = 0; i < h.typecnt; i++) {
        /* ttinfo: int32 utoff, uint8 isdst, uint8 desigidx */
        int32_t off = (int32_t)tz_be32(types + 6 * i);
        if (off < -25 * 3600 || off > 26 * 3600 || types[6 * i + 5] > h.charcnt)
            goto bad;
    }
    for (uint32_t i = 0; i < h.timecnt; i++) {
        tz->trans[i] = tsize == 8 ? tz_be64(times + 8 * i) : (int32_t)tz_be32(times + 4 * i);
        if (idx[i] >= h.typecnt || (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
            goto bad;
        tz->trans_off[i] = (int32_t)tz_be32(types + 6 * idx[i]);
        tz->trans_abbr[i] = types[6 * idx[i] + 5];
    }
    tz->first_off = (int32_t)tz_be32(types);
    tz->first_abbr = types[5];

    if (version >= 2) {
        const char *f = (const char *)p + 44 + blen, *fend = (const char *)p + len;
        if (f < fend && *f == '\n') {
            const char *nl = memchr(f + 1, '\n', (size_t)(fend - f - 1));
            if (nl && nl > f + 1) {
                char *rule = tn_xstrndup(f + 1, (size_t)(nl - f - 1));
                int rc = tz_rule_parse(rule, &tz->rule);
                free(rule);
                if (rc != TN_OK)
                    goto bad;
            }
        }
    }
    return tz;
bad:
    snprintf(err, errlen, "invalid time zone data for %s", name);
    tn_tz_free(tz);
    return NULL;
}

tn_tz_t *tn_tz_from_rule(const char *name, const char *rule, char *err, size_t errlen)
{
    tn_tz_t *tz = tz_new(name);
    if (tz_rule_parse(rule, &tz->rule) != TN_OK) {
        snprintf(err, errlen, "invalid time zone rule %s", rule);
        tn_tz_free(tz);
        return NULL;
    }
    tz->first_off = tz->rule.std_off;
    tz->abbrs[0] = 0;
    return tz;
}

static tn_tz_t *tz_load_file(const char *name, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    tn_tz_t *tz = NULL;
    uint8_t *buf;
    size_t n;

    if (!f) {
        snprintf(err, errlen, "unknown time zone %s", name);
        return NULL;
    }
    buf = tn_xmalloc(TZ_FILE_CAP);
    n = fread(buf, 1, TZ_FILE_CAP, f);
    if (ferror(f) || n == TZ_FILE_CAP)
        snprintf(err, errlen, "unknown time zone %s", name);
    else
        tz = tn_tz_from_tzif(name, buf, n, err, errlen);
    fclose(f);
    free(buf);
    return tz;
}

/* Names are relative paths inside the zone directory, as Go accepts them. */
static bool tz_name_ok(const char *s)
{
    if (s[0] == '/' || s[0] == '\\' || strstr(s, "..") || strchr(s, '\\'))
        return false;
    return strlen(s) < 256;
}

tn_tz_t *tn_tz_load(const char *name, char *err, size_t errlen)
{
    if (!name[0] || strcmp(name, "UTC") == 0)
        return tz_new("UTC");
    if (strcmp(name, "Local") == 0) {
        const char *env = getenv("TZ");
        tn_tz_t *tz = NULL;
        char e[TN_ERRBUF_SIZE];
        if (!env) {
            tz = tz_load_file("Local", "/etc/localtime", e, sizeof(e));
        } else {
            if (env[0] == ':')
                env++;
            if (env[0] == '/')
                tz = tz_load_file("Local", env, e, sizeof(e));
            else if (env[0] && strcmp(env, "UTC") != 0 && tz_name_ok(env))
                tz = tn_tz_load(env, e, sizeof(e));
        }
        if (!tz) /* Go falls back to UTC, named Local */
            tz = tz_new("Local");
        free(tz->name);
        tz->name = tn_xstrdup("Local");
        return tz;
    }
    if (!tz_name_ok(name)) {
        snprintf(err, errlen, "invalid time zone name %s", name);
        return NULL;
    }
    const char *dir = getenv("ZONEINFO");
    char *path = tn_xasprintf("%s/%s", dir && dir[0] ? dir : TZ_DEFAULT_DIR, name);
    tn_tz_t *tz = tz_load_file(name, path, err, errlen);
    free(path);
    return tz;
}

tn_tz_t *tn_tz_ref(tn_tz_t *tz)
{
    tz->refs++;
    return tz;
}

void tn_tz_free(tn_tz_t *tz)
{
    if (!tz || --tz->refs > 0)
        return;
    free(tz->trans);
    free(tz->trans_off);
    free(tz->trans_abbr);
    free(tz->abbrs);
    free(tz->name);
    free(tz);
}

const char *tn_tz_name(const tn_tz_t *tz)
{
    return tz ? tz->name : "UTC";
}

int32_t tn_tz_offset(const tn_tz_t *tz, int64_t unix_sec)
{
    const char *abbr;
    return tn_tz_lookup(tz, unix_sec, &abbr);
}

int32_t tn_tz_lookup(const tn_tz_t *tz, int64_t unix_sec, const char **abbr)
{
    *abbr = "UTC";
    if (!tz)
        return 0;
    if (tz->ntrans == 0) {
        if (tz->rule.set)
            return tz_rule_offset(&tz->rule, unix_sec, abbr);
        *abbr = tz->abbrs + tz->first_abbr;
        return tz->first_off;
    }
    if (unix_sec < tz->trans[0]) {
        *abbr = tz->abbrs + tz->first_abbr;
        return tz->first_off;
    }
    if (unix_sec >= tz->trans[tz->ntrans - 1] && tz->rule.set)
        return tz_rule_offset(&tz->rule, unix_sec, abbr);
    /* last transition at or before unix_sec */
    size_t lo = 0, hi = tz->ntrans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= unix_sec)
            lo = mid;
        else
            hi = mid;
    }
    *abbr = tz->abbrs + tz->trans_abbr[lo];
    return tz->trans_off[lo];
}

void tn_tz_civil(const tn_tz_t *tz, tn_time_t t, tn_civil_t *out)
{
    int64_t sec = tz_floor_div(t, TN_NS_PER_SEC);
    int64_t local = sec + tn_tz_offset(tz, sec);
    int64_t days = tz_floor_div(local, 86400), y;
    int64_t sod = local - days * 86400;

    tz_civil_from_days(days, &y, &out->month, &out->mday);
    out->year = (int)y;
    out->wday = tz_wday(days);
    out->minute_of_day = (int)(sod / 60);
    out->mdays = tz_mdays(y, out->month);
}
