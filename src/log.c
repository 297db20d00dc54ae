/* logfmt / JSON-lines logging on stderr. */
#include "tocsin/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tocsin/clock.h"
#include "tocsin/common.h"
#include "tocsin/labels.h"

static enum tn_log_level min_level = TN_LOG_INFO;
static enum tn_log_format log_format = TN_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tn_log_setup(enum tn_log_level min, enum tn_log_format fmt)
{
    min_level = min;
    log_format = fmt;
}

int tn_log_level_parse(const char *s)
{
    for (size_t i = 0; i < TN_ARRAY_LEN(level_names); i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

bool tn_log_enabled(enum tn_log_level lvl)
{
    return lvl >= min_level;
}

/* Appends v with control characters escaped and invalid UTF-8 replaced by U+FFFD, so that a
 * line is always valid UTF-8 whatever an outside client sent. */
static void put_escaped(tn_buf_t *b, const char *v, bool json)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t len = strlen(v);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            tn_buf_putc(b, '\\');
            tn_buf_putc(b, (char)c);
        } else if (c == '\n' && !json) {
            tn_buf_puts(b, "\\n");
        } else if (c < 0x20 || c == 0x7f) {
            tn_buf_printf(b, "\\u%04x", c);
        } else if (c >= 0x80) {
            uint32_t cp;
            size_t n = tn_utf8_decode(p + i, len - i, &cp);
            if (n) {
                tn_buf_append(b, p + i, n);
                i += n;
            } else {
                tn_buf_puts(b, "\xef\xbf\xbd");
                i++;
            }
            continue;
        } else {
            tn_buf_putc(b, (char)c);
        }
        i++;
    }
}

static void put_logfmt_value(tn_buf_t *b, const char *v)
{
    bool quote = *v == 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && !quote; p++)
        if (*p == ' ' || *p == '=' || *p == '"' || *p < 0x20 || *p >= 0x7f)
            quote = true;
    if (!quote) {
        tn_buf_puts(b, v);
        return;
    }
    tn_buf_putc(b, '"');
    put_escaped(b, v, false);
    tn_buf_putc(b, '"');
}

static void put_json_string(tn_buf_t *b, const char *v)
{
    tn_buf_putc(b, '"');
    put_escaped(b, v, true);
    tn_buf_putc(b, '"');
}

static void put_pair(tn_buf_t *b, bool first, const char *k, const char *v)
{
    if (log_format == TN_LOG_JSON) {
        if (!first)
            tn_buf_putc(b, ',');
        put_json_string(b, k);
        tn_buf_putc(b, ':');
        put_json_string(b, v);
    } else {
        if (!first)
            tn_buf_putc(b, ' ');
        tn_buf_puts(b, k);
        tn_buf_putc(b, '=');
        put_logfmt_value(b, v);
    }
}

void tn_logv(enum tn_log_level lvl, const char *msg, va_list ap)
{
    if (lvl < min_level)
        return;
    tn_time_t now = tn_clock_now();
    time_t secs = (time_t)(now / TN_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[64];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((now % TN_NS_PER_SEC) / TN_NS_PER_MS));

    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (log_format == TN_LOG_JSON)
        tn_buf_putc(&b, '{');
    put_pair(&b, true, "ts", ts);
    put_pair(&b, false, "level", level_names[lvl]);
    put_pair(&b, false, "msg", msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        put_pair(&b, false, k, v ? v : "");
    }
    if (log_format == TN_LOG_JSON)
        tn_buf_putc(&b, '}');
    tn_buf_putc(&b, '\n');
    fwrite(b.data, 1, b.len, stderr);
    tn_buf_free(&b);
}

void tn_log(enum tn_log_level lvl, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    tn_logv(lvl, msg, ap);
    va_end(ap);
}

void tn_log_redact_url(const char *url, char *out, size_t outlen)
{
    if (!outlen)
        return;
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end) {
        snprintf(out, outlen, "<redacted>");
        return;
    }
    const char *host = scheme_end + 3;
    const char *at = NULL;
    const char *end = host;
    while (*end && *end != '/' && *end != '?' && *end != '#') {
        if (*end == '@')
            at = end;
        end++;
    }
    if (at)
        host = at + 1;
    snprintf(out, outlen, "%.*s://%.*s/<redacted>", (int)(scheme_end - url), url, (int)(end - host),
             host);
}
