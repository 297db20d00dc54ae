/* Helpers shared by receivers: the HTTP status rule, per-send templates with their fallback
 * text, Go-style JSON members. (Alert order and common labels are the notification's:
 * src/notification.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/version.h"

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
#include <inttypes.h>
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

int tn_rcv_secret(const char *value, const char *file, char **out, char *err, size_t errlen)
{
    if (file && file[0])
        return tn_rcv_read_file(file, out, err, errlen);
    *out = tn_xstrdup(value ? value : "");
    return TN_OK;
}

char *tn_rcv_html_escape(const char *s)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    for (; *s; s++) {
        switch (*s) {
        case '&':
            tn_buf_puts(&b, "&amp;");
            break;
        case '<':
            tn_buf_puts(&b, "&lt;");
            break;
        case '>':
            tn_buf_puts(&b, "&gt;");
            break;
        case '"':
            tn_buf_puts(&b, "&#34;");
            break;
        case '\'':
            tn_buf_puts(&b, "&#39;");
            break;
        default:
            tn_buf_putc(&b, *s);
        }
    }
    char *out = tn_xstrndup(b.data ? b.data : "", b.len);
    tn_buf_free(&b);
    return out;
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

void tn_rcv_json_request(tn_out_request_t *req, const tn_http_config_t *http)
{
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    req->http = http;
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

int tn_rcv_json_float(tn_buf_t *b, double d)
{
    char e[40], digits[24];
    size_t nd = 0;
    if (!isfinite(d))
        return TN_ERR_INVAL;
    if (d == 0)
        return tn_buf_puts(b, signbit(d) ? "-0" : "0");
    /* The shortest digits that read back as d: the correctly rounded ones of the least
     * precision that does, which are Go's (strconv's precision -1). */
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    const char *x = strchr(e, 'e');
    for (const char *q = e; q < x; q++)
        if (*q >= '0' && *q <= '9')
            digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    long exp = strtol(x + 1, NULL, 10);
    int rc = d < 0 ? tn_buf_putc(b, '-') : TN_OK;
    double a = fabs(d);
    if (a < 1e-6 || a >= 1e21) {
        /* Go's 'e' form, its exponent as encoding/json shortens it (e-07 -> e-7). */
        if (rc == TN_OK)
            rc = tn_buf_putc(b, digits[0]);
        if (rc == TN_OK && nd > 1)
            rc = tn_buf_printf(b, ".%.*s", (int)(nd - 1), digits + 1);
        if (rc == TN_OK)
            rc = exp < 0 ? tn_buf_printf(b, "e-%ld", -exp) : tn_buf_printf(b, "e+%02ld", exp);
        return rc;
    }
    if (exp < 0) {
        if (rc == TN_OK)
            rc = tn_buf_puts(b, "0.");
        for (long i = 0; i < -exp - 1 && rc == TN_OK; i++)
            rc = tn_buf_putc(b, '0');
        return rc == TN_OK ? tn_buf_printf(b, "%.*s", (int)nd, digits) : rc;
    }
    for (long i = 0; i <= exp && rc == TN_OK; i++)
        rc = tn_buf_putc(b, (size_t)i < nd ? digits[i] : '0');
    if (rc == TN_OK && (size_t)exp + 1 < nd)
        rc = tn_buf_printf(b, ".%.*s", (int)(nd - (size_t)exp - 1), digits + exp + 1);
    return rc;
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
        return isfinite(d) ? tn_rcv_json_float(b, d) : tn_buf_puts(b, "null");
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

typedef struct rcv_key {
    const char *k;
    size_t i;
} rcv_key_t;

static int rcv_cmp_key(const void *a, const void *b)
{
    const rcv_key_t *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    /* Equal keys keep their order (qsort is not stable). */
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

size_t *tn_rcv_sorted_keys(char *const *keys, size_t n)
{
    rcv_key_t *v = tn_xmalloc((n ? n : 1) * sizeof(*v));
    size_t *idx = tn_xmalloc((n ? n : 1) * sizeof(*idx));
    for (size_t i = 0; i < n; i++)
        v[i] = (rcv_key_t){keys[i], i};
    qsort(v, n, sizeof(*v), rcv_cmp_key);
    for (size_t i = 0; i < n; i++)
        idx[i] = v[i].i;
    free(v);
    return idx;
}

int tn_rcv_json_yval(tn_buf_t *b, const tn_yval_t *v, char *err, size_t errlen)
{
    int rc = TN_OK;
    switch (v->kind) {
    case TN_YVAL_NULL:
        return tn_buf_puts(b, "null");
    case TN_YVAL_BOOL:
        return tn_buf_puts(b, v->b ? "true" : "false");
    case TN_YVAL_INT:
        return tn_buf_printf(b, "%" PRId64, v->i);
    case TN_YVAL_UINT:
        return tn_buf_printf(b, "%" PRIu64, v->u);
    case TN_YVAL_FLOAT:
        if (!isfinite(v->f)) {
            snprintf(err, errlen, "json: unsupported value: %s",
                     isnan(v->f) ? "NaN"
                     : v->f > 0  ? "+Inf"
                                 : "-Inf");
            return TN_ERR_INVAL;
        }
        return tn_rcv_json_float(b, v->f);
    case TN_YVAL_STR:
        return tn_json_go_string(b, v->s, strlen(v->s));
    case TN_YVAL_SEQ:
        rc = tn_buf_putc(b, '[');
        for (size_t i = 0; i < v->n && rc == TN_OK; i++) {
            if (i)
                rc = tn_buf_putc(b, ',');
            if (rc == TN_OK)
                rc = tn_rcv_json_yval(b, &v->items[i], err, errlen);
        }
        return rc ? rc : tn_buf_putc(b, ']');
    case TN_YVAL_MAP: {
        size_t *idx = tn_rcv_sorted_keys(v->keys, v->n);
        rc = tn_buf_putc(b, '{');
        for (size_t i = 0; i < v->n && rc == TN_OK; i++) {
            const char *k = v->keys[idx[i]];
            if (i)
                rc = tn_buf_putc(b, ',');
            if (rc == TN_OK)
                rc = tn_json_go_string(b, k, strlen(k));
            if (rc == TN_OK)
                rc = tn_buf_putc(b, ':');
            if (rc == TN_OK)
                rc = tn_rcv_json_yval(b, &v->items[idx[i]], err, errlen);
        }
        free(idx);
        return rc ? rc : tn_buf_putc(b, '}');
    }
    }
    return tn_buf_puts(b, "null");
}

/* A rendered string, as Alertmanager takes it: text that reads as YAML of another kind (a
 * number, a boolean, null, a list, a mapping; JSON among them) is sent as that value, as it
 * was decoded and without templating it again; anything else is the text itself. */
static int rcv_json_rendered(tn_buf_t *b, const char *text, char *err, size_t errlen)
{
    tn_yaml_t y;
    tn_yval_t *v = NULL;
    int rc;
    if (tn_yaml_load(&y, "rendered", text, strlen(text), NULL, 0) == TN_OK) {
        if (tn_yaml_value(&y, tn_yaml_root(&y), &v) != TN_OK)
            v = NULL;
        tn_yaml_free(&y);
    }
    if (v && v->kind != TN_YVAL_STR)
        rc = tn_rcv_json_yval(b, v, err, errlen);
    else
        rc = tn_json_go_string(b, text, strlen(text));
    tn_yval_free(v);
    return rc;
}

int tn_rcv_json_templated(tn_buf_t *b, tn_rcv_tmpl_t *t, const tn_yval_t *v, char *err,
                          size_t errlen)
{
    int rc = TN_OK;
    if (v->kind == TN_YVAL_STR) {
        char *s = tn_rcv_render(t, v->s, 0);
        rc = rcv_json_rendered(b, s, err, errlen);
        free(s);
        return rc;
    }
    if (v->kind == TN_YVAL_SEQ) {
        rc = tn_buf_putc(b, '[');
        for (size_t i = 0; i < v->n && rc == TN_OK; i++) {
            if (i)
                rc = tn_buf_putc(b, ',');
            if (rc == TN_OK)
                rc = tn_rcv_json_templated(b, t, &v->items[i], err, errlen);
        }
        return rc ? rc : tn_buf_putc(b, ']');
    }
    if (v->kind != TN_YVAL_MAP)
        return tn_rcv_json_yval(b, v, err, errlen);
    char **keys = tn_xcalloc(v->n ? v->n : 1, sizeof(*keys));
    for (size_t i = 0; i < v->n; i++)
        keys[i] = tn_rcv_render(t, v->keys[i], 0);
    size_t *idx = tn_rcv_sorted_keys(keys, v->n);
    bool first = true;
    rc = tn_buf_putc(b, '{');
    for (size_t i = 0; i < v->n && rc == TN_OK; i++) {
        /* Keys that render alike are one key of a Go map: the last one written stays. */
        if (i + 1 < v->n && strcmp(keys[idx[i]], keys[idx[i + 1]]) == 0)
            continue;
        rc = tn_rcv_json_key(b, &first, keys[idx[i]]);
        if (rc == TN_OK)
            rc = tn_rcv_json_templated(b, t, &v->items[idx[i]], err, errlen);
    }
    free(idx);
    for (size_t i = 0; i < v->n; i++)
        free(keys[i]);
    free(keys);
    return rc ? rc : tn_buf_putc(b, '}');
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

/* ---- per-send data ---- */

void tn_send_keep(tn_send_t *s, const char *key, const char *value)
{
    tn_strmap_set(&s->keep, key, value);
}

const char *tn_send_stored(const tn_send_t *s, const char *key)
{
    return tn_strmap_get(&s->stored, key);
}
