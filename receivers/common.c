/* Helpers shared by receivers: the HTTP status rule, per-send templates with their fallback
 * text, Go-style JSON members. (Alert order and common labels are the notification's:
 * src/notification.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"

#include "tocsin/log.h"
#include "tocsin/utf8.h"

/* ---- reply classification ---- */

/* Alertmanager's failure reason for a status code. */
static const char *http_reason(long status)
{
    if (status == 401 || status == 403)
        return "authError";
    if (status == 429)
        return "rateLimited";
    if (status / 100 == 4)
        return "clientError";
    if (status / 100 == 5)
        return "serverError";
    return "other";
}

enum tn_send_result tn_receiver_classify_http(const tn_out_response_t *resp, bool retry_429,
                                              const char **reason, char *err, size_t errlen)
{
    if (resp->curl_code != 0) {
        /* Transport trouble (refused, reset, timeout): worth another try. */
        *reason = "other";
        snprintf(err, errlen, "%s", resp->error ? resp->error : "transfer failed");
        return TN_SEND_RETRY;
    }
    if (resp->status / 100 == 2) {
        *reason = NULL;
        if (errlen)
            err[0] = 0;
        return TN_SEND_DONE;
    }
    *reason = http_reason(resp->status);
    if (resp->body_len)
        snprintf(err, errlen, "unexpected status code %ld: %.*s", resp->status, (int)resp->body_len,
                 resp->body);
    else
        snprintf(err, errlen, "unexpected status code %ld", resp->status);
    if (resp->status / 100 == 5 || (retry_429 && resp->status == 429))
        return TN_SEND_RETRY;
    return TN_SEND_FAIL;
}

/* ---- per-send templates ---- */

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

/* Rendered texts are capped by the engine; a send never needs more. */
#define RCV_FILE_CAP (64 * 1024)

void tn_rcv_tmpl_init(tn_rcv_tmpl_t *t, const tn_notification_t *n, const char *integration)
{
    t->n = n;
    t->integration = integration;
    t->failures = 0;
}

const tn_tmpl_t *tn_rcv_templates(const tn_notification_t *n)
{
    return n->config ? n->config->tmpl : NULL;
}

static char *rcv_render(tn_rcv_tmpl_t *t, const char *text, unsigned flags, bool *failed)
{
    tn_buf_t out;
    char err[TN_ERRBUF_SIZE] = "";
    *failed = false;
    if (!text || !text[0])
        return tn_xstrdup("");
    tn_buf_init(&out, TN_TMPL_MAX_OUTPUT + 1);
    int rc = tn_tmpl_render(tn_rcv_templates(t->n), text, t->n, flags, &out, err, sizeof(err));
    if (rc < 0) {
        /* Once per send: later failures are usually the same broken template. */
        if (t->failures++ == 0)
            tn_log(TN_LOG_ERROR, "Error on rendering template; sending the fallback text",
                   "receiver", t->n->receiver ? t->n->receiver : "", "integration", t->integration,
                   "aggrGroup", t->n->group_key ? t->n->group_key : "", "err",
                   err[0] ? err : "template failed", NULL);
        tn_buf_free(&out);
        *failed = true;
        return tn_xstrdup("");
    }
    char *s = tn_xstrndup(out.data ? out.data : "", out.len);
    tn_buf_free(&out);
    return s;
}

char *tn_rcv_render(tn_rcv_tmpl_t *t, const char *text, unsigned flags)
{
    bool failed;
    return rcv_render(t, text, flags, &failed);
}

char *tn_rcv_render_main(tn_rcv_tmpl_t *t, const char *text, unsigned flags)
{
    bool failed;
    char *s = rcv_render(t, text, flags, &failed);
    if (!failed)
        return s;
    free(s);
    return tn_rcv_fallback_text(t->n);
}

bool tn_rcv_firing(const tn_notification_t *n)
{
    for (size_t i = 0; i < n->nalerts; i++)
        if (!n->alerts[i].resolved)
            return true;
    return false;
}

char *tn_rcv_fallback_text(const tn_notification_t *n)
{
    tn_buf_t b;
    size_t firing = 0;
    for (size_t i = 0; i < n->nalerts; i++)
        firing += !n->alerts[i].resolved;
    tn_buf_init(&b, 0);
    if (firing)
        tn_buf_printf(&b, "[FIRING:%zu]", firing);
    else
        tn_buf_puts(&b, "[RESOLVED]");
    for (size_t i = 0; i < n->group_labels.n; i++) {
        tn_buf_putc(&b, ' ');
        tn_buf_puts(&b, n->group_labels.v[i].value);
    }
    char *s = tn_xstrndup(b.data, b.len);
    tn_buf_free(&b);
    return s;
}

/* ---- text helpers ---- */

size_t tn_rcv_runes(const char *s)
{
    return tn_utf8_count(s, strlen(s));
}

bool tn_rcv_truncate_runes(char **sp, size_t max)
{
    char *s = *sp;
    if (tn_rcv_runes(s) <= max)
        return false;
    size_t keep = max <= 3 ? max : max - 1;
    size_t len = 0, total = strlen(s);
    for (size_t i = 0, w; i < keep && len < total; i++, len += w)
        tn_utf8_rune(s + len, total - len, &w);
    /* The marker may be longer than what it replaces (one short rune): a new string. */
    char *out = tn_xmalloc(len + 4);
    memcpy(out, s, len);
    if (max > 3) {
        memcpy(out + len, TN_RCV_TRUNC_MARK, 3);
        len += 3;
    }
    out[len] = 0;
    free(s);
    *sp = out;
    return true;
}

int tn_rcv_read_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return TN_ERR_IO;
    }
    char *data = tn_xmalloc(RCV_FILE_CAP + 1);
    size_t n = fread(data, 1, RCV_FILE_CAP + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || n > RCV_FILE_CAP) {
        snprintf(err, errlen, "read %s: %s", path, bad ? "read error" : "file too large");
        free(data);
        return TN_ERR_IO;
    }
    data[n] = 0;
    size_t a = 0;
    while (a < n && isspace((unsigned char)data[a]))
        a++;
    while (n > a && isspace((unsigned char)data[n - 1]))
        n--;
    *out = tn_xstrndup(data + a, n - a);
    free(data);
    return TN_OK;
}

void tn_rcv_sha256_hex(const char *s, char out[65])
{
    unsigned char h[32];
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256((const unsigned char *)s, strlen(s), h, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)s, strlen(s), h, 0);
#endif
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    out[64] = 0;
}

void tn_rcv_set_timeout(tn_out_request_t *req, tn_duration_t timeout)
{
    if (timeout > 0) {
        uint64_t ms = (uint64_t)(timeout / TN_NS_PER_MS);
        req->timeout_ms = ms ? ms : 1;
    }
}

/* ---- JSON members ---- */

int tn_rcv_json_key(tn_buf_t *b, bool *first, const char *key)
{
    int rc = *first ? TN_OK : tn_buf_putc(b, ',');
    *first = false;
    if (rc == TN_OK)
        rc = tn_json_go_string(b, key, strlen(key));
    return rc ? rc : tn_buf_putc(b, ':');
}

int tn_rcv_json_str(tn_buf_t *b, bool *first, const char *key, const char *v)
{
    int rc = tn_rcv_json_key(b, first, key);
    if (!v)
        v = "";
    return rc ? rc : tn_json_go_string(b, v, strlen(v));
}

int tn_rcv_json_str_omit(tn_buf_t *b, bool *first, const char *key, const char *v)
{
    return v && v[0] ? tn_rcv_json_str(b, first, key, v) : TN_OK;
}

static int rcv_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A decoded value written back as Go's encoder writes it (maps with sorted keys). */
static int rcv_json_value(tn_buf_t *b, json_t *v, int depth)
{
    int rc = TN_OK;
    if (depth > 64)
        return tn_buf_puts(b, "null");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = tn_xmalloc((n ? n : 1) * sizeof(*keys));
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) keys[k++] = key;
        qsort(keys, k, sizeof(*keys), rcv_cmp_str);
        rc = tn_buf_putc(b, '{');
        for (size_t i = 0; i < k && rc == TN_OK; i++) {
            if (i)
                rc = tn_buf_putc(b, ',');
            if (rc == TN_OK)
                rc = tn_json_go_string(b, keys[i], strlen(keys[i]));
            if (rc == TN_OK)
                rc = tn_buf_putc(b, ':');
            if (rc == TN_OK)
                rc = rcv_json_value(b, json_object_get(v, keys[i]), depth + 1);
        }
        free(keys);
        return rc ? rc : tn_buf_putc(b, '}');
    }
    case JSON_ARRAY:
        rc = tn_buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v) && rc == TN_OK; i++) {
            if (i)
                rc = tn_buf_putc(b, ',');
            if (rc == TN_OK)
                rc = rcv_json_value(b, json_array_get(v, i), depth + 1);
        }
        return rc ? rc : tn_buf_putc(b, ']');
    case JSON_STRING:
        return tn_json_go_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return tn_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            return tn_buf_puts(b, "null");
        if (d == floor(d) && fabs(d) < 1e21)
            return tn_buf_printf(b, "%.0f", d);
        char tmp[40];
        for (int p = 1; p <= 17; p++) {
            snprintf(tmp, sizeof(tmp), "%.*g", p, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        return tn_buf_puts(b, tmp);
    }
    case JSON_TRUE:
        return tn_buf_puts(b, "true");
    case JSON_FALSE:
        return tn_buf_puts(b, "false");
    case JSON_NULL:
        return tn_buf_puts(b, "null");
    }
    return tn_buf_puts(b, "null");
}

int tn_rcv_json_inline(tn_buf_t *b, const char *text)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    /* Empty, ~ and null decode to nothing in YAML: Go writes null. */
    if (!*p || strcmp(p, "~") == 0)
        return tn_buf_puts(b, "null");
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!v || json_is_string(v)) {
        json_decref(v);
        return tn_json_go_string(b, text, strlen(text));
    }
    int rc = rcv_json_value(b, v, 0);
    json_decref(v);
    return rc;
}

int tn_receiver_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};
    for (size_t i = 0; i < TN_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return TN_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return TN_OK;
        }
    }
    return TN_ERR_INVAL;
}
