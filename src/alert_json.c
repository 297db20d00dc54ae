/* PostableAlert decoding and GettableAlert encoding for the HTTP API.
 *
 * Decoding keeps Alertmanager's two layers of errors: a body that does not have
 * the schema's shape (not JSON, not an array, a field of the wrong JSON type,
 * labels missing) is refused whole; an alert that has the shape but breaks a
 * rule (bad label name, no labels left after dropping empty values, endsAt
 * before startsAt) is refused alone while the rest are kept. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/json.h"
#include "tocsin/timefmt.h"

/* Label pairs of one alert are collected in a stack array of this size; larger
 * sets use the heap. */
#define DECODE_STACK_LABELS 64

/* ---- a GettableAlert in one pass ----
 * Large GET /api/v2/alerts answers are mostly this function: it sizes the alert's worst case,
 * reserves once, and writes through a pointer. */

static char *w_lit(char *d, const char *lit, size_t n)
{
    memcpy(d, lit, n);
    return d + n;
}
#define W_LIT(d, lit) w_lit((d), (lit), sizeof(lit) - 1)

static char *w_istr(char *d, const char *istr)
{
    size_t n = tn_intern_len(istr);
    if (!tn_intern_json_plain(istr))
        return tn_json_go_string_raw(d, istr, n);
    *d++ = '"';
    d = w_lit(d, istr, n);
    *d++ = '"';
    return d;
}

static char *w_time(char *d, tn_time_t t)
{
    char ts[40];
    size_t n = (size_t)tn_time_format_rfc3339milli(t, ts);
    *d++ = '"';
    d = w_lit(d, ts, n);
    *d++ = '"';
    return d;
}

static char *w_fp(char *d, uint64_t fp)
{
    *d++ = '"';
    tn_fingerprint_format(fp, d); /* writes a NUL after 16 digits: overwritten next */
    d += 16;
    *d++ = '"';
    return d;
}

static char *w_labelset(char *d, tn_labels_t ls)
{
    *d++ = '{';
    for (size_t i = 0; i < ls.n; i++) {
        if (i)
            *d++ = ',';
        d = w_istr(d, ls.v[i].name);
        *d++ = ':';
        d = w_istr(d, ls.v[i].value);
    }
    *d++ = '}';
    return d;
}

static char *w_strings(char *d, const char *const *v, size_t n)
{
    *d++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *d++ = ',';
        d = tn_json_go_string_raw(d, v[i], strlen(v[i]));
    }
    *d++ = ']';
    return d;
}

static size_t bound_labelset(tn_labels_t ls)
{
    size_t n = 2;
    for (size_t i = 0; i < ls.n; i++)
        n += TN_JSON_GO_STRING_MAX(tn_intern_len(ls.v[i].name) + tn_intern_len(ls.v[i].value)) + 4;
    return n;
}

static size_t bound_strings(const char *const *v, size_t n)
{
    size_t b = 2;
    for (size_t i = 0; i < n; i++)
        b += TN_JSON_GO_STRING_MAX(strlen(v[i])) + 1;
    return b;
}

static char *w_alert_status(char *d, const tn_alert_t *a, const char *const *receivers,
                            size_t nreceivers, const api_alert_status_t *st)
{
    d = W_LIT(d, "{\"annotations\":");
    d = w_labelset(d, tn_alert_annotations(a));
    d = W_LIT(d, ",\"endsAt\":");
    d = w_time(d, a->ends_at);
    d = W_LIT(d, ",\"fingerprint\":");
    d = w_fp(d, a->fp);
    d = W_LIT(d, ",\"receivers\":[");
    for (size_t i = 0; i < nreceivers; i++) {
        d = i ? W_LIT(d, ",{\"name\":") : W_LIT(d, "{\"name\":");
        d = tn_json_go_string_raw(d, receivers[i], strlen(receivers[i]));
        *d++ = '}';
    }
    d = W_LIT(d, "],\"startsAt\":");
    d = w_time(d, a->starts_at);
    d = W_LIT(d, ",\"status\":{\"inhibitedBy\":[");
    for (size_t i = 0; i < st->ninhibited; i++) {
        if (i)
            *d++ = ',';
        d = w_fp(d, st->inhibited_by[i]);
    }
    d = W_LIT(d, "],\"mutedBy\":");
    d = w_strings(d, st->muted_by, st->nmuted);
    d = W_LIT(d, ",\"silencedBy\":");
    d = w_strings(d, st->silenced_by, st->nsilenced);
    d = W_LIT(d, ",\"state\":");
    d = tn_json_go_string_raw(d, st->state, strlen(st->state));
    d = W_LIT(d, "},\"updatedAt\":");
    d = w_time(d, a->updated_at);
    if (a->generator_url && tn_intern_len(a->generator_url)) {
        d = W_LIT(d, ",\"generatorURL\":");
        d = w_istr(d, a->generator_url);
    }
    d = W_LIT(d, ",\"labels\":");
    d = w_labelset(d, tn_alert_labels(a));
    *d++ = '}';
    return d;
}

void api_encode_labels(tn_buf_t *out, tn_labels_t ls)
{
    char *tmp, *d = tn_buf_write_begin(out, bound_labelset(ls), &tmp);
    tn_buf_write_end(out, w_labelset(d, ls), tmp);
}

void api_encode_alert_status(tn_buf_t *out, const tn_alert_t *a, const char *const *receivers,
                             size_t nreceivers, const api_alert_status_t *st)
{
    /* the fixed text and three timestamps are under 400 bytes */
    size_t need = 400 + bound_labelset(tn_alert_annotations(a)) +
                  bound_labelset(tn_alert_labels(a)) + bound_strings(receivers, nreceivers) +
                  nreceivers * 10 + st->ninhibited * 19 + bound_strings(st->muted_by, st->nmuted) +
                  bound_strings(st->silenced_by, st->nsilenced) +
                  TN_JSON_GO_STRING_MAX(strlen(st->state)) +
                  (a->generator_url ? TN_JSON_GO_STRING_MAX(tn_intern_len(a->generator_url)) : 0);
    char *tmp, *d = tn_buf_write_begin(out, need, &tmp);
    tn_buf_write_end(out, w_alert_status(d, a, receivers, nreceivers, st), tmp);
}

void api_encode_alert(tn_buf_t *out, const tn_alert_t *a, const char *const *receivers,
                      size_t nreceivers, const char *state)
{
    api_alert_status_t st = {.state = state};
    api_encode_alert_status(out, a, receivers, nreceivers, &st);
}

/* ---- decoding ----
 * A single-pass reader for exactly this schema: strings are used in place when
 * they need no unescaping and interned straight from the body, nothing else is
 * allocated per field. Unknown fields are skipped with a nesting cap. It reads
 * JSON the way Go's decoder does where that is observable: field names match
 * case-insensitively, a repeated key overrides the earlier one, null leaves a
 * field unset, invalid UTF-8 and lone surrogates become U+FFFD. */

#define DECODE_MAX_DEPTH 128
/* Refusals go back to the client and into the log: a refused name is quoted up to this many
 * bytes, and past DECODE_ERR_MAX bytes of messages further refusals are counted, not described
 * (a 64 MiB body of bad names would otherwise come back several times over). */
#define DECODE_QUOTE_MAX 128
#define DECODE_ERR_MAX   (64 * 1024)

typedef struct decode_ctx {
    const char *start, *p, *end;
    tn_buf_t *err;
    size_t nsemantic; /* messages already in err */
    bool err_full;    /* DECODE_ERR_MAX reached */
    bool classic;
    bool bad_utf8;       /* a string had raw bytes that are not UTF-8 (replaced by U+FFFD) */
    tn_buf_t kbuf, vbuf; /* unescaped keys and values */
} decode_ctx_t;

typedef struct pairvec {
    tn_label_t *v;
    size_t n, cap;
    bool bad_utf8; /* a name or value was not UTF-8 */
    bool dup;      /* a name was repeated */
    tn_label_t small[DECODE_STACK_LABELS];
} pairvec_t;

static void pairvec_init(pairvec_t *pv)
{
    pv->v = pv->small;
    pv->n = 0;
    pv->cap = DECODE_STACK_LABELS;
    pv->bad_utf8 = false;
    pv->dup = false;
}

static void pairvec_push(pairvec_t *pv, const char *name, const char *value)
{
    if (pv->n == pv->cap) {
        pv->cap *= 2;
        if (pv->v == pv->small) {
            pv->v = tn_xmalloc(pv->cap * sizeof(tn_label_t));
            memcpy(pv->v, pv->small, pv->n * sizeof(tn_label_t));
        } else {
            pv->v = tn_xrealloc(pv->v, pv->cap * sizeof(tn_label_t));
        }
    }
    pv->v[pv->n++] = (tn_label_t){name, value};
}

static void pairvec_free(pairvec_t *pv)
{
    for (size_t i = 0; i < pv->n; i++) {
        tn_intern_unref(pv->v[i].name);
        tn_intern_unref(pv->v[i].value);
    }
    if (pv->v != pv->small)
        free(pv->v);
    pairvec_init(pv);
}

typedef struct pair_pos {
    tn_label_t l;
    size_t pos;
} pair_pos_t;

static int pair_pos_cmp(const void *x, const void *y)
{
    const pair_pos_t *a = x, *b = y;
    if (a->l.name != b->l.name)
        return (uintptr_t)a->l.name < (uintptr_t)b->l.name ? -1 : 1;
    return a->pos < b->pos ? -1 : 1;
}

/* A repeated name keeps its last value (interned strings compare by pointer) and marks the
 * set, which validation then refuses;
 * with drop_empty, pairs whose final value is empty go too. Order is not kept:
 * tn_alert_new sorts. */
static void pairvec_settle(pairvec_t *pv, bool drop_empty)
{
    size_t out = 0;
    if (pv->n <= DECODE_STACK_LABELS) {
        for (size_t i = 0; i < pv->n; i++) {
            tn_label_t cur = pv->v[i];
            size_t j = 0;
            while (j < out && pv->v[j].name != cur.name)
                j++;
            if (j < out) {
                pv->dup = true;
                tn_intern_unref(pv->v[j].value);
                tn_intern_unref(cur.name);
                pv->v[j].value = cur.value;
            } else {
                pv->v[out++] = cur;
            }
        }
    } else {
        /* big sets: sort by (name, position) so duplicates are adjacent, last one
         * last */
        pair_pos_t *t = tn_xmalloc(pv->n * sizeof(*t));
        for (size_t i = 0; i < pv->n; i++)
            t[i] = (pair_pos_t){pv->v[i], i};
        qsort(t, pv->n, sizeof(*t), pair_pos_cmp);
        for (size_t i = 0; i < pv->n; i++) {
            if (i + 1 < pv->n && t[i + 1].l.name == t[i].l.name) {
                pv->dup = true;
                tn_intern_unref(t[i].l.name);
                tn_intern_unref(t[i].l.value);
                continue;
            }
            pv->v[out++] = t[i].l;
        }
        free(t);
    }
    pv->n = out;
    if (!drop_empty)
        return;
    out = 0;
    for (size_t i = 0; i < pv->n; i++) {
        if (tn_intern_len(pv->v[i].value) == 0) {
            tn_intern_unref(pv->v[i].name);
            tn_intern_unref(pv->v[i].value);
        } else {
            pv->v[out++] = pv->v[i];
        }
    }
    pv->n = out;
}

/* ---- errors ---- */

/* Replaces whatever err held with one message for the whole body. */
static int decode_fail(decode_ctx_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int decode_fail(decode_ctx_t *d, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tn_buf_reset(d->err);
    tn_buf_puts(d->err, msg);
    return TN_ERR_INVAL;
}

static int decode_syntax(decode_ctx_t *d, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = d->start; q < d->p && q < d->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return decode_fail(d, "alerts: invalid JSON at line %d, column %d: %s", line, col, what);
}

static void decode_semantic(decode_ctx_t *d, size_t idx, const char *field, const char *msg,
                            const char *quoted, size_t qlen)
{
    if (d->err_full) {
        d->nsemantic++;
        return;
    }
    if (d->err->len >= DECODE_ERR_MAX) {
        tn_buf_puts(d->err, "; ... (more invalid alerts)");
        d->err_full = true;
        d->nsemantic++;
        return;
    }
    if (d->nsemantic++)
        tn_buf_puts(d->err, "; ");
    tn_buf_printf(d->err, "alerts[%zu].%s: %s", idx, field, msg);
    if (quoted) {
        size_t n = qlen;
        if (n > DECODE_QUOTE_MAX) { /* cut on a character boundary */
            n = DECODE_QUOTE_MAX;
            while (n > 0 && ((unsigned char)quoted[n] & 0xc0) == 0x80)
                n--;
        }
        tn_buf_putc(d->err, ' ');
        tn_go_quote(d->err, quoted, n);
        if (n < qlen)
            tn_buf_puts(d->err, "...");
    }
}

/* ---- lexing ---- */

static void jp_ws(decode_ctx_t *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static bool jp_peek(decode_ctx_t *d, char c)
{
    jp_ws(d);
    return d->p < d->end && *d->p == c;
}

static int jp_hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Reads the string at d->p (which is '"'). The result points into the body when
 * nothing needed rewriting, else into buf. */
static int jp_string(decode_ctx_t *d, tn_buf_t *buf, const char **out, size_t *outlen)
{
    const char *s = ++d->p;
    bool copying = false;
    tn_buf_reset(buf);
    while (d->p < d->end) {
        unsigned char c = (unsigned char)*d->p;
        if (c == '"') {
            if (copying) {
                tn_buf_append(buf, s, (size_t)(d->p - s));
                *out = tn_buf_cstr(buf);
                *outlen = buf->len;
            } else {
                *out = s;
                *outlen = (size_t)(d->p - s);
            }
            d->p++;
            return TN_OK;
        }
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            d->p++;
            continue;
        }
        if (c < 0x20)
            return decode_syntax(d, "control character in string");
        /* the slow path: copy what was plain so far, then rewrite */
        tn_buf_append(buf, s, (size_t)(d->p - s));
        copying = true;
        if (c >= 0x80) {
            uint32_t cp;
            size_t n = tn_utf8_decode((const unsigned char *)d->p, (size_t)(d->end - d->p), &cp);
            if (n) {
                tn_buf_append(buf, d->p, n);
                d->p += n;
            } else {
                tn_utf8_put(buf, 0xfffd);
                d->bad_utf8 = true;
                d->p++;
            }
            s = d->p;
            continue;
        }
        /* backslash */
        if (d->end - d->p < 2)
            return decode_syntax(d, "unterminated string");
        char e = d->p[1];
        d->p += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            tn_buf_putc(buf, e);
            break;
        case 'b':
            tn_buf_putc(buf, '\b');
            break;
        case 'f':
            tn_buf_putc(buf, '\f');
            break;
        case 'n':
            tn_buf_putc(buf, '\n');
            break;
        case 'r':
            tn_buf_putc(buf, '\r');
            break;
        case 't':
            tn_buf_putc(buf, '\t');
            break;
        case 'u': {
            int cp = d->end - d->p >= 4 ? jp_hex4(d->p) : -1;
            if (cp < 0)
                return decode_syntax(d, "invalid \\u escape");
            d->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && d->end - d->p >= 6 && d->p[0] == '\\' &&
                d->p[1] == 'u') {
                int lo = jp_hex4(d->p + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    d->p += 6;
                }
            }
            tn_utf8_put(buf, cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : (uint32_t)cp);
            break;
        }
        default:
            d->p -= 1;
            return decode_syntax(d, "invalid escape in string");
        }
        s = d->p;
    }
    return decode_syntax(d, "unterminated string");
}

static bool jp_literal(decode_ctx_t *d, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        return false;
    d->p += n;
    return true;
}

static int jp_number(decode_ctx_t *d)
{
    const char *p = d->p;
    if (p < d->end && *p == '-')
        p++;
    if (p < d->end && *p == '0') {
        p++;
    } else if (p < d->end && *p >= '1' && *p <= '9') {
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return decode_syntax(d, "invalid value");
    }
    if (p < d->end && *p == '.') {
        const char *q = ++p;
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
        if (p == q)
            return decode_syntax(d, "invalid number");
    }
    if (p < d->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < d->end && (*p == '+' || *p == '-'))
            p++;
        const char *q = p;
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
        if (p == q)
            return decode_syntax(d, "invalid number");
    }
    d->p = p;
    return TN_OK;
}

/* Skips one value of any type. */
static int jp_skip(decode_ctx_t *d, int depth)
{
    const char *s;
    size_t n;
    jp_ws(d);
    if (d->p >= d->end)
        return decode_syntax(d, "unexpected end of input");
    switch (*d->p) {
    case '"':
        return jp_string(d, &d->vbuf, &s, &n);
    case '{':
    case '[': {
        char close = *d->p == '{' ? '}' : ']';
        bool obj = close == '}';
        if (depth >= DECODE_MAX_DEPTH)
            return decode_syntax(d, "nesting too deep");
        d->p++;
        if (jp_peek(d, close)) {
            d->p++;
            return TN_OK;
        }
        for (;;) {
            if (obj) {
                if (!jp_peek(d, '"'))
                    return decode_syntax(d, "expected a string key");
                if (jp_string(d, &d->kbuf, &s, &n))
                    return TN_ERR_INVAL;
                if (!jp_peek(d, ':'))
                    return decode_syntax(d, "expected ':'");
                d->p++;
            }
            if (jp_skip(d, depth + 1))
                return TN_ERR_INVAL;
            jp_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                continue;
            }
            if (d->p < d->end && *d->p == close) {
                d->p++;
                return TN_OK;
            }
            return decode_syntax(d, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    case 't':
        return jp_literal(d, "true") ? TN_OK : decode_syntax(d, "invalid value");
    case 'f':
        return jp_literal(d, "false") ? TN_OK : decode_syntax(d, "invalid value");
    case 'n':
        return jp_literal(d, "null") ? TN_OK : decode_syntax(d, "invalid value");
    default:
        return jp_number(d);
    }
}

/* Object iteration: call with *first true; returns 1 with the key read and d->p
 * at the value, 0 at the closing brace, or TN_ERR_INVAL. */
static int jp_next_key(decode_ctx_t *d, bool *first, const char **key, size_t *klen)
{
    jp_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    if (!*first) {
        if (d->p >= d->end || *d->p != ',')
            return decode_syntax(d, "expected ',' or '}'");
        d->p++;
        jp_ws(d);
    }
    *first = false;
    if (d->p >= d->end || *d->p != '"')
        return decode_syntax(d, "expected a string key");
    if (jp_string(d, &d->kbuf, key, klen))
        return TN_ERR_INVAL;
    if (!jp_peek(d, ':'))
        return decode_syntax(d, "expected ':'");
    d->p++;
    jp_ws(d);
    if (d->p >= d->end)
        return decode_syntax(d, "unexpected end of input");
    return 1;
}

static bool jp_null(decode_ctx_t *d)
{
    return d->p < d->end && *d->p == 'n' && jp_literal(d, "null");
}

/* A value of the wrong type: the syntax is checked first so a broken body reads
 * as such. */
static int decode_type_error(decode_ctx_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int decode_type_error(decode_ctx_t *d, const char *fmt, ...)
{
    if (jp_skip(d, 0))
        return TN_ERR_INVAL;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return decode_fail(d, "%s", msg);
}

/* ---- fields ---- */

/* Go's zero time, which clients send to mean "not set" (it is out of our int64
 * range). */
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

static int decode_time(decode_ctx_t *d, size_t idx, const char *field, tn_time_t *out)
{
    if (jp_null(d)) {
        *out = 0;
        return TN_OK;
    }
    if (*d->p != '"')
        return decode_type_error(d, "alerts[%zu].%s: expected an RFC 3339 date-time string", idx,
                                 field);
    const char *s;
    size_t len;
    if (jp_string(d, &d->vbuf, &s, &len))
        return TN_ERR_INVAL;
    *out = 0;
    if (decode_is_zero_time(s, len))
        return TN_OK;
    if (tn_time_parse_rfc3339(s, len, out) != TN_OK) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tn_buf_printf(&b, "alerts[%zu].%s: invalid RFC 3339 date-time ", idx, field);
        tn_go_quote(&b, s, len > 64 ? 64 : len);
        decode_fail(d, "%s", tn_buf_cstr(&b));
        tn_buf_free(&b);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static bool decode_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The "uri" format check, as lenient as Go's url.Parse: no control characters,
 * well-formed percent escapes, and no empty scheme before ':'. */
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

/* Reads a label-set object into pv (interned; null values read as ""). */
static int decode_set(decode_ctx_t *d, size_t idx, const char *field, pairvec_t *pv)
{
    if (*d->p != '{')
        return decode_type_error(d, "alerts[%zu].%s: expected an object of strings", idx, field);
    d->p++;
    bool first = true;
    const char *k, *v;
    size_t klen, vlen;
    int rc;
    d->bad_utf8 = false;
    while ((rc = jp_next_key(d, &first, &k, &klen)) == 1) {
        const char *name = tn_intern(k, klen);
        if (jp_null(d)) {
            pairvec_push(pv, name, tn_intern("", 0));
            continue;
        }
        if (*d->p != '"') {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            tn_buf_printf(&b, "alerts[%zu].%s[", idx, field);
            tn_go_quote(&b, name, klen > 64 ? 64 : klen);
            tn_buf_puts(&b, "]: expected a string");
            tn_intern_unref(name);
            rc = decode_type_error(d, "%s", tn_buf_cstr(&b));
            tn_buf_free(&b);
            return rc;
        }
        if (jp_string(d, &d->vbuf, &v, &vlen)) {
            tn_intern_unref(name);
            return TN_ERR_INVAL;
        }
        pairvec_push(pv, name, tn_intern(v, vlen));
        pv->bad_utf8 |= d->bad_utf8;
    }
    return rc;
}

/* Semantic checks of a settled set. Returns false after recording a message. */
static size_t decode_name_max = 1024, decode_label_max = 64 * 1024,
              decode_annotation_max = 1024 * 1024;

void tn_api_set_value_limits(size_t name_max, size_t label_value_max, size_t annotation_value_max)
{
    decode_name_max = name_max;
    decode_label_max = label_value_max;
    decode_annotation_max = annotation_value_max;
}

static bool decode_validate_set(decode_ctx_t *d, size_t idx, const char *field, const pairvec_t *pv,
                                bool labels)
{
    /* JSON text is UTF-8; Go would quietly turn bad bytes into U+FFFD, tocsin refuses. */
    if (pv->bad_utf8) {
        decode_semantic(d, idx, field, "invalid UTF-8 in a name or value", NULL, 0);
        return false;
    }
    /* Go keeps the last of repeated keys without a word; a repeat is almost always a bug. */
    if (pv->dup) {
        decode_semantic(d, idx, field, "a name appears more than once", NULL, 0);
        return false;
    }
    for (size_t i = 0; i < pv->n; i++) {
        const char *name = pv->v[i].name;
        size_t nlen = tn_intern_len(name);
        if (!tn_label_name_valid(name, nlen, d->classic)) {
            decode_semantic(d, idx, field,
                            labels ? "invalid label set: invalid label name"
                                   : "invalid annotations: invalid annotation name",
                            name, nlen);
            return false;
        }
        if (decode_name_max && nlen > decode_name_max) {
            char why[96];
            snprintf(why, sizeof(why),
                     "%s name longer than %zu bytes:", labels ? "label" : "annotation",
                     decode_name_max);
            decode_semantic(d, idx, field, why, name, nlen);
            return false;
        }
        size_t vmax = labels ? decode_label_max : decode_annotation_max;
        if (vmax && tn_intern_len(pv->v[i].value) > vmax) {
            char why[96];
            snprintf(why, sizeof(why), "value longer than %zu bytes for", vmax);
            decode_semantic(d, idx, field, why, name, nlen);
            return false;
        }
        /* strings are C strings from here on; a NUL would silently cut them */
        if (memchr(pv->v[i].value, 0, tn_intern_len(pv->v[i].value))) {
            decode_semantic(d, idx, field, "value contains a NUL character for", name, nlen);
            return false;
        }
    }
    if (pv->n > UINT16_MAX) {
        decode_semantic(d, idx, field, "too many pairs", NULL, 0);
        return false;
    }
    return true;
}

typedef struct decode_alert {
    pairvec_t labels, annotations;
    bool has_labels;
    tn_time_t starts, ends;
    const char *url; /* interned */
} decode_alert_t;

static int decode_field(decode_ctx_t *d, size_t idx, const char *k, size_t klen, decode_alert_t *a)
{
    if (klen == 6 && strncasecmp(k, "labels", 6) == 0) {
        if (jp_null(d))
            return TN_OK;
        a->has_labels = true;
        return decode_set(d, idx, "labels", &a->labels);
    }
    if (klen == 11 && strncasecmp(k, "annotations", 11) == 0)
        return jp_null(d) ? TN_OK : decode_set(d, idx, "annotations", &a->annotations);
    if (klen == 8 && strncasecmp(k, "startsAt", 8) == 0)
        return decode_time(d, idx, "startsAt", &a->starts);
    if (klen == 6 && strncasecmp(k, "endsAt", 6) == 0)
        return decode_time(d, idx, "endsAt", &a->ends);
    if (klen == 12 && strncasecmp(k, "generatorURL", 12) == 0) {
        tn_intern_unref(a->url);
        a->url = NULL;
        if (jp_null(d))
            return TN_OK;
        if (*d->p != '"')
            return decode_type_error(d, "alerts[%zu].generatorURL: expected a string", idx);
        const char *s;
        size_t len;
        if (jp_string(d, &d->vbuf, &s, &len))
            return TN_ERR_INVAL;
        if (!decode_uri_ok(s, len))
            return decode_fail(d, "alerts[%zu].generatorURL: not a valid URI", idx);
        if (len)
            a->url = tn_intern(s, len);
        return TN_OK;
    }
    return jp_skip(d, 1);
}

/* Decodes alert idx at d->p. Returns TN_ERR_INVAL for a shape error (message in
 * err), TN_OK with *out set, or TN_OK with *out NULL when the alert broke a
 * rule. */
static int decode_one(decode_ctx_t *d, size_t idx, tn_time_t now, tn_duration_t resolve_timeout,
                      tn_alert_t **out, bool *firing)
{
    *out = NULL;
    if (*d->p != '{')
        return decode_type_error(d, "alerts[%zu]: expected an object", idx);
    d->p++;
    decode_alert_t a = {.url = NULL};
    pairvec_init(&a.labels);
    pairvec_init(&a.annotations);
    bool first = true;
    const char *k;
    size_t klen;
    int rc;
    while ((rc = jp_next_key(d, &first, &k, &klen)) == 1)
        if ((rc = decode_field(d, idx, k, klen, &a)))
            break;
    if (rc == TN_OK && !a.has_labels)
        rc = decode_fail(d, "alerts[%zu].labels: required", idx);
    if (rc)
        goto out;

    /* Defaults, then the rules, in the order Alertmanager applies them. */
    bool timeout = false;
    if (!a.starts)
        a.starts = a.ends ? a.ends : now;
    if (!a.ends) {
        timeout = true;
        a.ends = now + resolve_timeout;
    }
    *firing = a.ends > now;
    pairvec_settle(&a.labels, true);
    pairvec_settle(&a.annotations, false);
    if (a.ends < a.starts) {
        decode_semantic(d, idx, "endsAt", "start time must be before end time", NULL, 0);
        goto out;
    }
    if (a.labels.n == 0) {
        decode_semantic(d, idx, "labels", "at least one label pair required", NULL, 0);
        goto out;
    }
    if (a.labels.n > TN_ALERT_MAX_PAIRS) {
        decode_semantic(d, idx, "labels", "more than " TN_STR(TN_ALERT_MAX_PAIRS) " labels", NULL,
                        0);
        goto out;
    }
    if (a.annotations.n > TN_ALERT_MAX_PAIRS) {
        decode_semantic(d, idx, "annotations",
                        "more than " TN_STR(TN_ALERT_MAX_PAIRS) " annotations", NULL, 0);
        goto out;
    }
    if (!decode_validate_set(d, idx, "labels", &a.labels, true) ||
        !decode_validate_set(d, idx, "annotations", &a.annotations, false))
        goto out;
    /* tn_alert_new takes over every string reference */
    tn_alert_t *al = tn_alert_new(a.labels.v, a.labels.n, a.annotations.v, a.annotations.n, a.url);
    a.labels.n = a.annotations.n = 0;
    a.url = NULL;
    al->starts_at = a.starts;
    al->ends_at = a.ends;
    al->updated_at = now;
    al->timeout = timeout;
    *out = al;
out:
    pairvec_free(&a.labels);
    pairvec_free(&a.annotations);
    tn_intern_unref(a.url);
    return rc;
}

int api_decode_alerts(const char *body, size_t len, tn_time_t now, tn_duration_t resolve_timeout,
                      size_t max_alerts, tn_alert_t ***out, size_t *nout, size_t *ninvalid,
                      size_t *nfiring, size_t *nresolved, tn_buf_t *err)
{
    decode_ctx_t d = {
        .start = body,
        .p = body,
        .end = body + len,
        .err = err,
        .classic = tn_labels_mode() == TN_LABELS_CLASSIC,
    };
    tn_buf_init(&d.kbuf, 0);
    tn_buf_init(&d.vbuf, 0);
    *out = NULL;
    *nout = *ninvalid = *nfiring = *nresolved = 0;
    tn_buf_reset(err);
    tn_alert_t **alerts = NULL;
    size_t alloc = 0;
    int rc = TN_ERR_INVAL;
    bool whole = true; /* until the end, an error refuses the whole body */
    jp_ws(&d);
    if (d.p == d.end) {
        decode_fail(&d, "alerts: request body is required");
        goto out;
    }
    if (jp_null(&d)) { /* Go reads null as an empty list */
        jp_ws(&d);
        if (d.p != d.end) {
            decode_syntax(&d, "unexpected data after the value");
            goto out;
        }
        whole = false;
        rc = TN_OK;
        goto out;
    }
    if (*d.p != '[') {
        decode_type_error(&d, "alerts: expected an array of alerts");
        goto out;
    }
    d.p++;
    if (jp_peek(&d, ']')) {
        d.p++;
    } else {
        for (size_t i = 0;; i++) {
            if (max_alerts && i == max_alerts) {
                decode_fail(&d, "alerts: more than %zu alerts in one request", max_alerts);
                goto out;
            }
            jp_ws(&d);
            if (d.p == d.end) {
                decode_syntax(&d, "unexpected end of input");
                goto out;
            }
            if (*nout == alloc) {
                alloc = alloc ? alloc * 2 : 8;
                alerts = tn_xrealloc(alerts, alloc * sizeof(*alerts));
            }
            bool firing = false;
            size_t before = d.nsemantic;
            if (decode_one(&d, i, now, resolve_timeout, &alerts[*nout], &firing))
                goto out;
            *(firing ? nfiring : nresolved) += 1;
            if (d.nsemantic != before)
                (*ninvalid)++;
            else
                (*nout)++;
            jp_ws(&d);
            if (d.p < d.end && *d.p == ',') {
                d.p++;
                continue;
            }
            if (d.p < d.end && *d.p == ']') {
                d.p++;
                break;
            }
            decode_syntax(&d, "expected ',' or ']'");
            goto out;
        }
    }
    jp_ws(&d);
    if (d.p != d.end) {
        decode_syntax(&d, "unexpected data after the value");
        goto out;
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
    tn_buf_free(&d.kbuf);
    tn_buf_free(&d.vbuf);
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
