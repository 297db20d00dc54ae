/* RFC 3339 parsing and Go-compatible formatting. */
#include "tocsin/timefmt.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tn_time_parse_rfc3339(const char *s, size_t len, tn_time_t *out)
{
    int Y, M, D, h, m, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return TN_ERR_INVAL;
    if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &m) || digits(s + 17, 2, &sec))
        return TN_ERR_INVAL;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 59)
        return TN_ERR_INVAL;
    if (D > mdays[M - 1] + (M == 2 && leap(Y)))
        return TN_ERR_INVAL;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return TN_ERR_INVAL;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return TN_ERR_INVAL;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return TN_ERR_INVAL;
    }
    if (i != len)
        return TN_ERR_INVAL;
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - off;
    /* Keep within int64 nanoseconds (years 1678..2262); 0 stays reserved for "unset". */
    if (secs < INT64_MIN / TN_NS_PER_SEC + 1 || secs > INT64_MAX / TN_NS_PER_SEC - 1)
        return TN_ERR_INVAL;
    *out = secs * TN_NS_PER_SEC + frac;
    if (*out == 0)
        *out = 1;
    return TN_OK;
}

static void split(tn_time_t t, int64_t *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s,
                  int64_t *ns)
{
    int64_t secs = t / TN_NS_PER_SEC;
    int64_t rem = t % TN_NS_PER_SEC;
    if (rem < 0) {
        rem += TN_NS_PER_SEC;
        secs--;
    }
    int64_t days = secs / 86400;
    int64_t sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    civil_from_days(days, y, mo, d);
    *h = (int)(sod / 3600);
    *mi = (int)(sod % 3600 / 60);
    *s = (int)(sod % 60);
    *ns = rem;
}

/* Writes n decimal digits of v, zero-padded. */
static char *put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS" into out; returns the length. Hand-written: the API prints three
 * timestamps per alert, and printf dominated large GET /api/v2/alerts answers. */
static int put_datetime(char out[40], int64_t y, unsigned mo, unsigned d, int h, int mi, int s)
{
    if (y < 0 || y > 9999)
        return snprintf(out, 40, "%04d-%02u-%02uT%02d:%02d:%02d", (int)y, mo, d, h, mi, s);
    char *p = put_digits(out, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)h, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)mi, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)s, 2);
    *p = 0;
    return (int)(p - out);
}

void tn_time_format_rfc3339nano(tn_time_t t, char out[40])
{
    if (t == 0) {
        memcpy(out, "0001-01-01T00:00:00Z", 21);
        return;
    }
    int64_t y, ns;
    unsigned mo, d;
    int h, mi, s;
    split(t, &y, &mo, &d, &h, &mi, &s, &ns);
    int n = put_datetime(out, y, mo, d, h, mi, s);
    if (ns) {
        char frac[10];
        put_digits(frac, (unsigned)ns, 9);
        int fl = 9;
        while (fl > 0 && frac[fl - 1] == '0')
            fl--;
        out[n++] = '.';
        memcpy(out + n, frac, (size_t)fl);
        n += fl;
    }
    out[n++] = 'Z';
    out[n] = 0;
}

int tn_time_format_rfc3339milli(tn_time_t t, char out[40])
{
    /* The last seconds printed, per thread: an answer's alerts mostly share their
     * timestamps' seconds (startsAt, endsAt and updatedAt take turns, hence several), and the
     * calendar split was a tenth of a large answer's time. */
    enum { NCACHE = 4 };
    static _Thread_local struct {
        int64_t sec;
        int n;
        char s[40];
    } cache[NCACHE] = {
        {INT64_MIN, 0, ""}, {INT64_MIN, 0, ""}, {INT64_MIN, 0, ""}, {INT64_MIN, 0, ""}};
    static _Thread_local unsigned next;
    if (t == 0) {
        memcpy(out, "0001-01-01T00:00:00.000Z", 25);
        return 24;
    }
    int64_t sec = t / TN_NS_PER_SEC, rem = t % TN_NS_PER_SEC;
    if (rem < 0) {
        rem += TN_NS_PER_SEC;
        sec--;
    }
    int64_t ms = rem / 1000000;
    int n = -1;
    for (unsigned i = 0; i < NCACHE; i++)
        if (cache[i].sec == sec) {
            n = cache[i].n;
            memcpy(out, cache[i].s, (size_t)n);
            break;
        }
    if (n < 0) {
        int64_t y, ns;
        unsigned mo, d;
        int h, mi, s;
        split(t, &y, &mo, &d, &h, &mi, &s, &ns);
        n = put_datetime(out, y, mo, d, h, mi, s);
        unsigned k = next++ % NCACHE;
        memcpy(cache[k].s, out, (size_t)n);
        cache[k].n = n;
        cache[k].sec = sec;
    }
    out[n++] = '.';
    put_digits(out + n, (unsigned)ms, 3);
    n += 3;
    out[n++] = 'Z';
    out[n] = 0;
    return n;
}
