/* PostableAlert decoding and GettableAlert encoding for the HTTP API.
 *
 * Decoding keeps Alertmanager's two layers of errors: a body that does not have the schema's
 * shape (not JSON, not an array, a field of the wrong JSON type, labels missing) is refused
 * whole; an alert that has the shape but breaks a rule (bad label name, no labels left after
 * dropping empty values, endsAt before startsAt) is refused alone while the rest are kept. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/timefmt.h"

/* Labels of one alert are interned into a stack array of this size; larger sets use the heap. */
#define DECODE_STACK_LABELS 64

/* ---- JSON string output, Go style ---- */

void api_json_string(tn_buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0;
    tn_buf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c < 0x80) {
            i++;
            continue;
        }
        if (c < 0x80) {
            tn_buf_append(out, s + start, i - start);
            switch (c) {
            case '"':
                tn_buf_puts(out, "\\\"");
                break;
            case '\\':
                tn_buf_puts(out, "\\\\");
                break;
            case '\n':
                tn_buf_puts(out, "\\n");
                break;
            case '\r':
                tn_buf_puts(out, "\\r");
                break;
            case '\t':
                tn_buf_puts(out, "\\t");
                break;
            case '\b':
                tn_buf_puts(out, "\\b");
                break;
            case '\f':
                tn_buf_puts(out, "\\f");
                break;
            default: {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                tn_buf_append(out, e, sizeof(e));
            }
            }
            start = ++i;
            continue;
        }
        /* multi-byte: pass valid sequences through, except U+2028 and U+2029 */
        size_t n = 0;
        uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        }
        bool ok = n && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                ok = false;
            else
                cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = false;
        if (ok && cp != 0x2028 && cp != 0x2029) {
            i += n;
            continue;
        }
        tn_buf_append(out, s + start, i - start);
        if (ok) {
            tn_buf_puts(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
            i += n;
        } else {
            tn_buf_puts(out, "\\ufffd");
            i++;
        }
        start = i;
    }
    tn_buf_append(out, s + start, len - start);
    tn_buf_putc(out, '"');
}

static void json_istr(tn_buf_t *out, const char *istr)
{
    api_json_string(out, istr, tn_intern_len(istr));
}

static void json_time(tn_buf_t *out, tn_time_t t)
{
    char ts[40];
    tn_time_format_rfc3339milli(t, ts);
    tn_buf_putc(out, '"');
    tn_buf_puts(out, ts);
    tn_buf_putc(out, '"');
}

/* Label sets are stored sorted by name, which is the order Go writes map keys in. */
static void json_labelset(tn_buf_t *out, tn_labels_t ls)
{
    tn_buf_putc(out, '{');
    for (size_t i = 0; i < ls.n; i++) {
        if (i)
            tn_buf_putc(out, ',');
        json_istr(out, ls.v[i].name);
        tn_buf_putc(out, ':');
        json_istr(out, ls.v[i].value);
    }
    tn_buf_putc(out, '}');
}

void api_encode_alert(tn_buf_t *out, const tn_alert_t *a, const char *const *receivers,
                      size_t nreceivers, const char *state)
{
    char fp[17];
    tn_fingerprint_format(a->fp, fp);
    tn_buf_puts(out, "{\"annotations\":");
    json_labelset(out, tn_alert_annotations(a));
    tn_buf_puts(out, ",\"endsAt\":");
    json_time(out, a->ends_at);
    tn_buf_puts(out, ",\"fingerprint\":\"");
    tn_buf_puts(out, fp);
    tn_buf_puts(out, "\",\"receivers\":[");
    for (size_t i = 0; i < nreceivers; i++) {
        tn_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        api_json_string(out, receivers[i], strlen(receivers[i]));
        tn_buf_putc(out, '}');
    }
    tn_buf_puts(out, "],\"startsAt\":");
    json_time(out, a->starts_at);
    tn_buf_puts(out, ",\"status\":{\"inhibitedBy\":[],\"mutedBy\":[],\"silencedBy\":[],\"state\":");
    api_json_string(out, state, strlen(state));
    tn_buf_puts(out, "},\"updatedAt\":");
    json_time(out, a->updated_at);
    if (a->generator_url && tn_intern_len(a->generator_url)) {
        tn_buf_puts(out, ",\"generatorURL\":");
        json_istr(out, a->generator_url);
    }
    tn_buf_puts(out, ",\"labels\":");
    json_labelset(out, tn_alert_labels(a));
    tn_buf_putc(out, '}');
}

/* ---- decoding ---- */

typedef struct decode_ctx {
    tn_buf_t *err;
    size_t nsemantic; /* messages already in err */
    bool classic;
} decode_ctx_t;

/* Replaces whatever err held with one message for the whole body. */
static int decode_fail(decode_ctx_t *d, const char *msg)
{
    tn_buf_reset(d->err);
    tn_buf_puts(d->err, msg);
    return TN_ERR_INVAL;
}

static void decode_semantic(decode_ctx_t *d, size_t idx, const char *field, const char *msg,
                            const char *quoted, size_t qlen)
{
    if (d->nsemantic++)
        tn_buf_puts(d->err, "; ");
    tn_buf_printf(d->err, "alerts[%zu].%s: %s", idx, field, msg);
    if (quoted) {
        tn_buf_putc(d->err, ' ');
        tn_go_quote(d->err, quoted, qlen);
    }
}

/* Go's zero time, which clients send to mean "not set" (it is out of our int64 range). */
static bool decode_is_zero_time(const char *s, size_t len)
{
    static const char zero[] = "0001-01-01T00:00:00";
    if (len < sizeof(zero) - 1 || memcmp(s, zero, sizeof(zero) - 1) != 0)
        return false;
    size_t i = sizeof(zero) - 1;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] == '0')
            i++;
    }
    return (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) ||
           (i + 6 == len && (strncmp(s + i, "+00:00", 6) == 0 || strncmp(s + i, "-00:00", 6) == 0));
}

static int decode_time(decode_ctx_t *d, size_t idx, const char *field, const json_t *v,
                       tn_time_t *out)
{
    *out = 0;
    if (!v || json_is_null(v))
        return TN_OK;
    char msg[160];
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "alerts[%zu].%s: expected an RFC 3339 date-time string", idx,
                 field);
        return decode_fail(d, msg);
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (decode_is_zero_time(s, len))
        return TN_OK;
    if (tn_time_parse_rfc3339(s, len, out) != TN_OK) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tn_buf_printf(&b, "alerts[%zu].%s: invalid RFC 3339 date-time ", idx, field);
        tn_go_quote(&b, s, len > 64 ? 64 : len);
        decode_fail(d, tn_buf_cstr(&b));
        tn_buf_free(&b);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static bool decode_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The "uri" format check, as lenient as Go's url.Parse: no control characters, well-formed
 * percent escapes, and no empty scheme before "://". */
static bool decode_uri_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c == '%' && (i + 2 >= len || !decode_hex(s[i + 1]) || !decode_hex(s[i + 2])))
            return false;
    }
    return !(len > 0 && s[0] == ':');
}

/* Checks that a label-set object holds only strings (or nulls, which Go reads as ""). */
static int decode_check_set(decode_ctx_t *d, size_t idx, const char *field, json_t *obj)
{
    if (!json_is_object(obj)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "alerts[%zu].%s: expected an object of strings", idx, field);
        return decode_fail(d, msg);
    }
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        json_t *v = json_object_iter_value(it);
        if (json_is_string(v) || json_is_null(v))
            continue;
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tn_buf_printf(&b, "alerts[%zu].%s[", idx, field);
        size_t klen = json_object_iter_key_len(it);
        tn_go_quote(&b, json_object_iter_key(it), klen > 64 ? 64 : klen);
        tn_buf_puts(&b, "]: expected a string");
        decode_fail(d, tn_buf_cstr(&b));
        tn_buf_free(&b);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static void decode_pair(void *it, const char **name, size_t *nlen, const char **val, size_t *vlen)
{
    json_t *v = json_object_iter_value(it);
    *name = json_object_iter_key(it);
    *nlen = json_object_iter_key_len(it);
    *val = json_is_string(v) ? json_string_value(v) : "";
    *vlen = json_is_string(v) ? json_string_length(v) : 0;
}

/* Semantic checks of a label set; drop_empty is Alertmanager's removal of empty label values.
 * Returns the number of pairs kept, or -1 after recording a message. */
static long decode_validate_set(decode_ctx_t *d, size_t idx, const char *field, json_t *obj,
                                bool drop_empty)
{
    long n = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *name, *val;
        size_t nlen, vlen;
        decode_pair(it, &name, &nlen, &val, &vlen);
        if (drop_empty && vlen == 0)
            continue;
        if (!tn_label_name_valid(name, nlen, d->classic)) {
            decode_semantic(d, idx, field,
                            drop_empty ? "invalid label name" : "invalid annotation name", name,
                            nlen);
            return -1;
        }
        /* Strings are C strings from here on; a NUL would silently cut them. */
        if (memchr(val, 0, vlen)) {
            decode_semantic(d, idx, field, "value contains a NUL character for", name, nlen);
            return -1;
        }
        n++;
    }
    if (n > UINT16_MAX) {
        decode_semantic(d, idx, field, "too many pairs", NULL, 0);
        return -1;
    }
    return n;
}

static void decode_intern_set(json_t *obj, bool drop_empty, tn_label_t *out)
{
    size_t n = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *name, *val;
        size_t nlen, vlen;
        decode_pair(it, &name, &nlen, &val, &vlen);
        if (drop_empty && vlen == 0)
            continue;
        out[n].name = tn_intern(name, nlen);
        out[n].value = tn_intern(val, vlen);
        n++;
    }
}

typedef struct decode_fields {
    json_t *labels, *annotations, *starts_at, *ends_at, *generator_url;
} decode_fields_t;

/* Go matches JSON keys to struct fields case-insensitively, the last one winning. */
static void decode_fields(json_t *obj, decode_fields_t *f)
{
    memset(f, 0, sizeof(*f));
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        switch (json_object_iter_key_len(it)) {
        case 6:
            if (strcasecmp(k, "labels") == 0)
                f->labels = v;
            else if (strcasecmp(k, "endsAt") == 0)
                f->ends_at = v;
            break;
        case 8:
            if (strcasecmp(k, "startsAt") == 0)
                f->starts_at = v;
            break;
        case 11:
            if (strcasecmp(k, "annotations") == 0)
                f->annotations = v;
            break;
        case 12:
            if (strcasecmp(k, "generatorURL") == 0)
                f->generator_url = v;
            break;
        }
    }
}

/* Decodes alert idx. Returns TN_ERR_INVAL for a shape error (message in err, nothing else to
 * do), TN_OK with *out set, or TN_OK with *out NULL when the alert broke a rule. */
static int decode_one(decode_ctx_t *d, size_t idx, json_t *obj, tn_time_t now,
                      tn_duration_t resolve_timeout, tn_alert_t **out, bool *firing)
{
    *out = NULL;
    char msg[128];
    if (!json_is_object(obj)) {
        snprintf(msg, sizeof(msg), "alerts[%zu]: expected an object", idx);
        return decode_fail(d, msg);
    }
    decode_fields_t f;
    decode_fields(obj, &f);
    if (!f.labels || json_is_null(f.labels)) {
        snprintf(msg, sizeof(msg), "alerts[%zu].labels: required", idx);
        return decode_fail(d, msg);
    }
    if (decode_check_set(d, idx, "labels", f.labels))
        return TN_ERR_INVAL;
    if (json_is_null(f.annotations))
        f.annotations = NULL;
    if (f.annotations && decode_check_set(d, idx, "annotations", f.annotations))
        return TN_ERR_INVAL;
    tn_time_t starts, ends;
    if (decode_time(d, idx, "startsAt", f.starts_at, &starts) ||
        decode_time(d, idx, "endsAt", f.ends_at, &ends))
        return TN_ERR_INVAL;
    const char *url = NULL;
    size_t url_len = 0;
    if (f.generator_url && !json_is_null(f.generator_url)) {
        if (!json_is_string(f.generator_url)) {
            snprintf(msg, sizeof(msg), "alerts[%zu].generatorURL: expected a string", idx);
            return decode_fail(d, msg);
        }
        url = json_string_value(f.generator_url);
        url_len = json_string_length(f.generator_url);
        if (!decode_uri_ok(url, url_len)) {
            snprintf(msg, sizeof(msg), "alerts[%zu].generatorURL: not a valid URI", idx);
            return decode_fail(d, msg);
        }
    }

    /* Defaults, then the rules, in the order Alertmanager applies them. */
    bool timeout = false;
    if (!starts)
        starts = ends ? ends : now;
    if (!ends) {
        timeout = true;
        ends = now + resolve_timeout;
    }
    *firing = ends > now;
    if (ends < starts) {
        decode_semantic(d, idx, "endsAt", "start time must be before end time", NULL, 0);
        return TN_OK;
    }
    long nl = decode_validate_set(d, idx, "labels", f.labels, true);
    if (nl < 0)
        return TN_OK;
    if (nl == 0) {
        decode_semantic(d, idx, "labels", "at least one label pair required", NULL, 0);
        return TN_OK;
    }
    long na = f.annotations ? decode_validate_set(d, idx, "annotations", f.annotations, false) : 0;
    if (na < 0)
        return TN_OK;

    tn_label_t stack[DECODE_STACK_LABELS];
    size_t total = (size_t)nl + (size_t)na;
    tn_label_t *pairs = total <= DECODE_STACK_LABELS ? stack : tn_xmalloc(total * sizeof(*pairs));
    decode_intern_set(f.labels, true, pairs);
    if (na)
        decode_intern_set(f.annotations, false, pairs + nl);
    tn_alert_t *a = tn_alert_new(pairs, (size_t)nl, pairs + nl, (size_t)na,
                                 url_len ? tn_intern(url, url_len) : NULL);
    if (pairs != stack)
        free(pairs);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = now;
    a->timeout = timeout;
    *out = a;
    return TN_OK;
}

int api_decode_alerts(const char *body, size_t len, tn_time_t now, tn_duration_t resolve_timeout,
                      size_t max_alerts, tn_alert_t ***out, size_t *nout, size_t *ninvalid,
                      size_t *nfiring, size_t *nresolved, tn_buf_t *err)
{
    decode_ctx_t d = {.err = err, .classic = tn_labels_mode() == TN_LABELS_CLASSIC};
    *out = NULL;
    *nout = *ninvalid = *nfiring = *nresolved = 0;
    tn_buf_reset(err);
    size_t i = 0, n = 0;
    tn_alert_t **alerts = NULL;
    int rc = TN_ERR_INVAL;
    bool whole = true; /* until the loop ends, an error refuses the whole body */
    json_error_t jerr;
    json_t *root = NULL;
    size_t skip = 0;
    while (skip < len &&
           (body[skip] == ' ' || body[skip] == '\t' || body[skip] == '\n' || body[skip] == '\r'))
        skip++;
    if (skip == len) {
        decode_fail(&d, "alerts: request body is required");
        goto out;
    }
    root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        tn_buf_reset(err);
        tn_buf_printf(err, "alerts: invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                      jerr.text);
        goto out;
    }
    if (json_is_null(root)) { /* Go reads null as an empty list */
        whole = false;
        rc = TN_OK;
        goto out;
    }
    if (!json_is_array(root)) {
        decode_fail(&d, "alerts: expected an array of alerts");
        goto out;
    }
    n = json_array_size(root);
    if (max_alerts && n > max_alerts) {
        tn_buf_printf(err, "alerts: too many alerts in one request (%zu, the limit is %zu)", n,
                      max_alerts);
        goto out;
    }
    alerts = tn_xmalloc((n ? n : 1) * sizeof(*alerts));
    for (i = 0; i < n; i++) {
        bool firing = false;
        size_t before = d.nsemantic;
        if (decode_one(&d, i, json_array_get(root, i), now, resolve_timeout, &alerts[*nout],
                       &firing))
            goto out;
        *(firing ? nfiring : nresolved) += 1;
        if (d.nsemantic != before)
            (*ninvalid)++;
        else
            (*nout)++;
    }
    whole = false;
    rc = *ninvalid ? TN_ERR_INVAL : TN_OK;
out:
    if (rc != TN_OK && whole) {
        /* the body as a whole was refused: nothing decoded counts */
        for (size_t k = 0; k < *nout; k++)
            tn_alert_unref(alerts[k]);
        *nout = *ninvalid = *nfiring = *nresolved = 0;
    }
    if (*nout == 0) {
        free(alerts);
        alerts = NULL;
    }
    *out = alerts;
    json_decref(root);
    return rc;
}

int tn_api_decode_alerts(const char *body, size_t len, tn_time_t now, tn_duration_t resolve_timeout,
                         size_t max_alerts, tn_alert_t ***out, size_t *nout, size_t *ninvalid,
                         tn_buf_t *err)
{
    size_t firing, resolved;
    return api_decode_alerts(body, len, now, resolve_timeout, max_alerts, out, nout, ninvalid,
                             &firing, &resolved, err);
}
