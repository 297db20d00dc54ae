/* Template engine, part 2: the executor (Go text/template evaluation rules with
 * missingkey=zero), value printing as Go's fmt prints, html/template-style contextual escaping,
 * and the notification data model. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template_internal.h"
#include "tocsin/json.h"
#include "tocsin/timefmt.h"

#define TT_ARENA_CAP (64u * 1024 * 1024) /* memory one render may use */

enum { EX_OK = 0, EX_BREAK = 1, EX_CONTINUE = 2 };

static char *vfmt(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *m = tn_xmalloc(n > 0 ? (size_t)n + 1 : 1);
    vsnprintf(m, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
    return m;
}

/* An execution error as Go's text/template words it: at the node being evaluated,
 * "template: FILE:LINE:COL: executing "NAME" at <NODE>: MSG", or "template: NAME: MSG" when
 * no node is current. */
int tt_errorf(tt_ctx_t *c, const char *fmt, ...)
{
    if (c->failed)
        return TN_ERR_INVAL;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vfmt(fmt, ap);
    va_end(ap);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    const char *name = c->tname ? c->tname : "";
    if (c->node) {
        tn_buf_printf(&b, "template: %s:%d:%d: executing ", c->tfile ? c->tfile : "", c->node->line,
                      c->node->col);
        tn_go_quote(&b, name, strlen(name));
        tn_buf_puts(&b, " at <");
        tt_node_string(&b, c->node);
        tn_buf_puts(&b, ">: ");
    } else {
        tn_buf_printf(&b, "template: %s: ", name);
    }
    tn_buf_puts(&b, msg);
    snprintf(c->err, c->errlen, "%s", tn_buf_cstr(&b));
    tn_buf_free(&b);
    free(msg);
    c->failed = true;
    return TN_ERR_INVAL;
}

/* An error worded in full by the caller (html/template's escaping errors). */
int tt_rawerrorf(tt_ctx_t *c, const char *fmt, ...)
{
    if (c->failed)
        return TN_ERR_INVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    c->failed = true;
    return TN_ERR_INVAL;
}

/* A template function's own error: the caller reports it as "error calling NAME: MSG". */
int tt_fail(tt_ctx_t *c, const char *fmt, ...)
{
    if (!c->fnerr) {
        va_list ap;
        va_start(ap, fmt);
        c->fnerr = vfmt(fmt, ap);
        va_end(ap);
    }
    return TN_ERR_INVAL;
}

/* ---- values ---- */

tv_t tv_str(const char *p, size_t n)
{
    tv_t v = {.kind = TV_STR};
    v.s.p = p;
    v.s.n = n;
    return v;
}
tv_t tv_cstr(const char *p)
{
    return tv_str(p, strlen(p));
}
tv_t tv_int(int64_t i)
{
    tv_t v = {.kind = TV_INT};
    v.i = i;
    return v;
}
tv_t tv_bool(bool b)
{
    tv_t v = {.kind = TV_BOOL};
    v.b = b;
    return v;
}
tv_t tv_float(double f)
{
    tv_t v = {.kind = TV_FLOAT};
    v.f = f;
    return v;
}

static void *ctx_alloc(tt_ctx_t *c, size_t n)
{
    if (c->arena.total + n > TT_ARENA_CAP)
        tt_rawerrorf(c, "template: render uses more than %u MiB of memory", TT_ARENA_CAP >> 20);
    return tt_alloc(&c->arena, n);
}

tv_t tv_list(tt_ctx_t *c, size_t cap, uint8_t sub)
{
    tv_t v = {.kind = TV_LIST, .sub = sub};
    v.l = ctx_alloc(c, sizeof(tt_list_t));
    v.l->cap = cap ? cap : 4;
    v.l->v = ctx_alloc(c, v.l->cap * sizeof(tv_t));
    return v;
}

void tt_list_push(tt_ctx_t *c, tt_list_t *l, tv_t v)
{
    if (l->n == l->cap) {
        tv_t *nv = ctx_alloc(c, l->cap * 2 * sizeof(tv_t));
        memcpy(nv, l->v, l->n * sizeof(tv_t));
        l->v = nv;
        l->cap *= 2;
    }
    l->v[l->n++] = v;
}

tv_t tt_buf_value(tt_ctx_t *c, tn_buf_t *b)
{
    char *p = ctx_alloc(c, b->len + 1);
    if (b->len)
        memcpy(p, b->data, b->len);
    p[b->len] = 0;
    return tv_str(p, b->len);
}

const char *tv_kind_name(const tv_t *v)
{
    switch (v->kind) {
    case TV_NIL:
        return "<nil>";
    case TV_BOOL:
        return "bool";
    case TV_INT:
        return "int";
    case TV_FLOAT:
        return "float64";
    case TV_STR:
        return v->sub == TS_HTML ? "template.HTML" : v->sub == TS_URL ? "template.URL" : "string";
    case TV_TIME:
        return "time.Time";
    case TV_DUR:
        return "time.Duration";
    case TV_LOC:
        return "*time.Location";
    case TV_LIST:
        switch (v->sub) {
        case TL_STRSLICE:
            return "[]string";
        case TL_STRINGS:
            return "template.Strings";
        case TL_PAIRS:
            return "template.Pairs";
        case TL_ALERTS:
            return "template.Alerts";
        case TL_ALERTSLICE:
            return "[]template.Alert";
        default:
            return "[]interface {}";
        }
    case TV_KV:
        return "template.KV";
    case TV_PAIR:
        return "template.Pair";
    case TV_ALERT:
        return "template.Alert";
    case TV_DATA:
        return v->sub == TA_DATA ? "template.Data" : "*template.Data"; /* render: by value */
    case TV_DICT:
        return "map[string]interface {}";
    }
    return "?";
}

bool tv_truth(const tv_t *v)
{
    switch (v->kind) {
    case TV_NIL:
        return false;
    case TV_BOOL:
        return v->b;
    case TV_INT:
    case TV_DUR:
        return v->i != 0;
    case TV_FLOAT:
        return v->f != 0;
    case TV_STR:
        return v->s.n > 0;
    case TV_LIST:
        return v->l->n > 0;
    case TV_KV:
        return v->kv.n > 0;
    case TV_DICT:
        return v->d->n > 0;
    default:
        return true;
    }
}

int tv_want_str(tt_ctx_t *c, const tv_t *v, const char **p, size_t *n)
{
    if (v->kind != TV_STR)
        return tt_errorf(c, "wrong type for value; expected string; got %s", tv_kind_name(v));
    *p = v->s.p;
    *n = v->s.n;
    return 0;
}

int tv_want_strlist(tt_ctx_t *c, const tv_t *v, tt_list_t **out)
{
    if (v->kind == TV_LIST && (v->sub == TL_STRSLICE || v->sub == TL_STRINGS)) {
        *out = v->l;
        return 0;
    }
    if (v->kind == TV_LIST && v->sub == TL_ANY) {
        for (size_t i = 0; i < v->l->n; i++)
            if (v->l->v[i].kind != TV_STR)
                break;
    }
    return tt_errorf(c, "wrong type for value; expected []string; got %s", tv_kind_name(v));
}

/* KV pairs in Alertmanager's SortedPairs order: alertname first, the rest by name. */
tn_labels_t tt_kv_sorted_pairs(tt_ctx_t *c, tn_labels_t kv)
{
    size_t at = kv.n;
    for (size_t i = 0; i < kv.n; i++)
        if (!strcmp(kv.v[i].name, "alertname"))
            at = i;
    if (at == kv.n || at == 0)
        return kv;
    tn_label_t *v = ctx_alloc(c, kv.n * sizeof(*v));
    v[0] = kv.v[at];
    size_t k = 1;
    for (size_t i = 0; i < kv.n; i++)
        if (i != at)
            v[k++] = kv.v[i];
    return (tn_labels_t){v, kv.n};
}

/* ---- printing as Go's fmt %v ---- */

/* Go's shortest float formatting ('g' with the exponent rule of %v). */
static void fmt_float(tn_buf_t *b, double f, char verb, int prec)
{
    if (isnan(f)) {
        tn_buf_puts(b, "NaN");
        return;
    }
    if (isinf(f)) {
        tn_buf_puts(b, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[64];
    if (prec < 0) {
        /* shortest digits that round-trip */
        int p;
        for (p = 1; p <= 17; p++) {
            snprintf(tmp, sizeof tmp, "%.*e", p - 1, f);
            if (strtod(tmp, NULL) == f)
                break;
        }
        char *e = strchr(tmp, 'e');
        int exp = e ? atoi(e + 1) : 0;
        if (verb == 'e') {
            snprintf(tmp, sizeof tmp, "%.*e", p - 1, f);
        } else if (verb == 'f') {
            int decimals = p - 1 - exp;
            snprintf(tmp, sizeof tmp, "%.*f", decimals < 0 ? 0 : decimals, f);
        } else {
            int eprec = 6; /* strconv's rule for the shortest form */
            if (exp < -4 || exp >= eprec) {
                snprintf(tmp, sizeof tmp, "%.*e", p - 1, f);
            } else {
                int decimals = p - 1 - exp;
                snprintf(tmp, sizeof tmp, "%.*f", decimals < 0 ? 0 : decimals, f);
            }
        }
    } else {
        char fmt[8];
        snprintf(fmt, sizeof fmt, "%%.*%c", verb);
        snprintf(tmp, sizeof tmp, fmt, prec, f);
    }
    /* Go writes exponents with at least two digits, as C does; nothing to change */
    tn_buf_puts(b, tmp);
}

void tt_duration_string(tn_buf_t *b, int64_t d)
{
    if (d == 0) {
        tn_buf_puts(b, "0s");
        return;
    }
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    if (d < 0)
        tn_buf_putc(b, '-');
    if (u < 1000000000ULL) {
        const char *unit;
        uint64_t div;
        if (u < 1000ULL)
            unit = "ns", div = 1;
        else if (u < 1000000ULL)
            unit = "µs", div = 1000;
        else
            unit = "ms", div = 1000000;
        tn_buf_printf(b, "%llu", (unsigned long long)(u / div));
        uint64_t frac = u % div;
        if (frac) {
            char fr[16];
            int w = div == 1000 ? 3 : 6;
            snprintf(fr, sizeof fr, "%0*llu", w, (unsigned long long)frac);
            size_t k = strlen(fr);
            while (k > 0 && fr[k - 1] == '0')
                k--;
            tn_buf_putc(b, '.');
            tn_buf_append(b, fr, k);
        }
        tn_buf_puts(b, unit);
        return;
    }
    uint64_t secs = u / 1000000000ULL, ns = u % 1000000000ULL;
    uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
    if (h)
        tn_buf_printf(b, "%lluh", (unsigned long long)h);
    if (h || m)
        tn_buf_printf(b, "%llum", (unsigned long long)m);
    tn_buf_printf(b, "%llu", (unsigned long long)s);
    if (ns) {
        char fr[16];
        snprintf(fr, sizeof fr, "%09llu", (unsigned long long)ns);
        size_t k = 9;
        while (k > 0 && fr[k - 1] == '0')
            k--;
        tn_buf_putc(b, '.');
        tn_buf_append(b, fr, k);
    }
    tn_buf_putc(b, 's');
}

/* Go's time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST". */
int tt_time_string(tt_ctx_t *c, tn_buf_t *b, const tv_t *t)
{
    return tt_time_format(c, b, "2006-01-02 15:04:05.999999999 -0700 MST", 39, t);
}

static int print_kv(tt_ctx_t *c, tn_buf_t *b, tn_labels_t kv)
{
    kv = tt_kv_sorted_pairs(c, kv);
    for (size_t i = 0; i < kv.n; i++) {
        if (i)
            tn_buf_puts(b, ", ");
        tn_buf_puts(b, kv.v[i].name);
        tn_buf_putc(b, '=');
        tn_buf_puts(b, kv.v[i].value);
    }
    return 0;
}

static tv_t data_field(tt_ctx_t *c, const char *name, bool *ok);

tv_t tt_data_field(tt_ctx_t *c, const char *name, bool *ok)
{
    return data_field(c, name, ok);
}
static int print_depth(tt_ctx_t *c, tn_buf_t *b, const tv_t *v, int depth);

/* template.Data as fmt prints a struct: fields in declaration order, the unexported
 * routeLabelsRendered last; the server passes a *Data (printed &{...}), render a Data. */
static int print_data(tt_ctx_t *c, tn_buf_t *b, const tv_t *v, int depth)
{
    static const char *const f[] = {"Receiver",           "Status",      "Alerts",
                                    "NotificationReason", "GroupLabels", "CommonLabels",
                                    "CommonAnnotations",  "RouteLabels", "ExternalURL"};
    tn_buf_puts(b, v->sub == TA_DATA ? "{" : "&{");
    for (size_t i = 0; i < TN_ARRAY_LEN(f); i++) {
        bool ok;
        tv_t fv = data_field(c, f[i], &ok);
        print_depth(c, b, &fv, depth + 1);
        tn_buf_putc(b, ' ');
    }
    bool rendered = c->data ? c->data->route_labels_rendered : c->n && !c->n->route_labels_raw;
    return tn_buf_puts(b, rendered ? "true}" : "false}");
}

static int print_depth(tt_ctx_t *c, tn_buf_t *b, const tv_t *v, int depth)
{
    switch (v->kind) {
    case TV_NIL:
        return tn_buf_puts(b, "<nil>");
    case TV_BOOL:
        return tn_buf_puts(b, v->b ? "true" : "false");
    case TV_INT:
        return tn_buf_printf(b, "%lld", (long long)v->i);
    case TV_FLOAT:
        fmt_float(b, v->f, 'v', -1);
        return 0;
    case TV_STR:
        return tn_buf_append(b, v->s.p, v->s.n);
    case TV_TIME:
        return tt_time_string(c, b, v);
    case TV_DUR:
        tt_duration_string(b, v->i);
        return 0;
    case TV_LOC:
        return tn_buf_puts(b, v->tm.zone ? v->tm.zone : "UTC");
    case TV_KV:
        return print_kv(c, b, v->kv);
    case TV_PAIR:
        return tn_buf_printf(b, "{%s %s}", v->pair.name, v->pair.value);
    case TV_LIST:
        if (v->sub == TL_PAIRS) {
            tn_labels_t kv = {NULL, v->l->n};
            tn_label_t *p = ctx_alloc(c, (v->l->n + 1) * sizeof(*p));
            for (size_t i = 0; i < v->l->n; i++)
                p[i] = v->l->v[i].pair;
            kv.v = p;
            for (size_t i = 0; i < kv.n; i++) {
                if (i)
                    tn_buf_puts(b, ", ");
                tn_buf_printf(b, "%s=%s", kv.v[i].name, kv.v[i].value);
            }
            return 0;
        }
        tn_buf_putc(b, '[');
        for (size_t i = 0; i < v->l->n; i++) {
            if (i)
                tn_buf_putc(b, ' ');
            print_depth(c, b, &v->l->v[i], depth + 1);
        }
        return tn_buf_putc(b, ']');
    case TV_DICT:
        tn_buf_puts(b, "map[");
        for (size_t i = 0; i < v->d->n; i++) {
            if (i)
                tn_buf_putc(b, ' ');
            tn_buf_puts(b, v->d->keys[i]);
            tn_buf_putc(b, ':');
            print_depth(c, b, &v->d->vals[i], depth + 1);
        }
        return tn_buf_putc(b, ']');
    case TV_ALERT: {
        static const char *const f[] = {"Status", "Labels",       "Annotations", "StartsAt",
                                        "EndsAt", "GeneratorURL", "Fingerprint"};
        tn_buf_putc(b, '{');
        for (size_t i = 0; i < TN_ARRAY_LEN(f); i++) {
            bool ok;
            tv_t fv = tt_alert_field(c, v, f[i], &ok);
            if (i)
                tn_buf_putc(b, ' ');
            print_depth(c, b, &fv, depth + 1);
        }
        return tn_buf_putc(b, '}');
    }
    case TV_DATA:
        return print_data(c, b, v, depth);
    }
    return 0;
}

int tv_print(tt_ctx_t *c, tn_buf_t *b, const tv_t *v, bool top)
{
    if (top && v->kind == TV_NIL)
        return tn_buf_puts(b, "<no value>");
    return print_depth(c, b, v, 0);
}

int tt_sprint(tt_ctx_t *c, tn_buf_t *b, const tv_t *args, size_t n, bool ln)
{
    for (size_t i = 0; i < n; i++) {
        bool is_str = args[i].kind == TV_STR;
        if (i > 0 && (ln || (!is_str && args[i - 1].kind != TV_STR)))
            tn_buf_putc(b, ' ');
        print_depth(c, b, &args[i], 0);
    }
    if (ln)
        tn_buf_putc(b, '\n');
    return 0;
}

/* ---- printf ---- */

static void pad(tn_buf_t *b, const char *s, size_t n, int width, bool minus, bool zero)
{
    size_t len = tn_utf8_count(s, n);
    if (width > 0 && (size_t)width > len && !minus) {
        size_t k = (size_t)width - len;
        if (zero && n > 0 && (s[0] == '-' || s[0] == '+')) {
            tn_buf_putc(b, s[0]);
            s++, n--;
        }
        for (size_t i = 0; i < k; i++)
            tn_buf_putc(b, zero ? '0' : ' ');
    }
    tn_buf_append(b, s, n);
    if (width > 0 && (size_t)width > len && minus)
        for (size_t i = 0; i < (size_t)width - len; i++)
            tn_buf_putc(b, ' ');
}

static void bad_verb(tt_ctx_t *c, tn_buf_t *b, char verb, const tv_t *v)
{
    tn_buf_printf(b, "%%!%c(", verb);
    if (v->kind == TV_NIL) {
        tn_buf_puts(b, "<nil>");
    } else {
        tn_buf_puts(b, tv_kind_name(v));
        tn_buf_putc(b, '=');
        print_depth(c, b, v, 0);
    }
    tn_buf_putc(b, ')');
}

static int fmt_one(tt_ctx_t *c, tn_buf_t *b, char verb, const tv_t *v, bool plus, bool minus,
                   bool sharp, bool zero, bool space, int width, int prec)
{
    tn_buf_t t;
    tn_buf_init(&t, 0);
    bool ok = true;
    switch (verb) {
    case 'v':
    case 's':
        if (verb == 's' &&
            (v->kind == TV_INT || v->kind == TV_FLOAT || v->kind == TV_BOOL || v->kind == TV_NIL)) {
            ok = false;
            break;
        }
        if (verb == 'v' && v->kind == TV_STR && sharp) {
            tn_go_quote(&t, v->s.p, v->s.n);
            break;
        }
        if (v->kind == TV_FLOAT && verb == 'v') {
            fmt_float(&t, v->f, 'v', prec);
            if (plus && v->f >= 0) {
                tn_buf_putc(b, '+');
            }
            break;
        }
        if (v->kind == TV_INT && plus && v->i >= 0)
            tn_buf_putc(&t, '+');
        print_depth(c, &t, v, 0);
        if (prec >= 0 && v->kind == TV_STR) {
            /* precision truncates to that many runes */
            size_t k = 0, runes = 0;
            while (k < t.len && runes < (size_t)prec) {
                k++;
                while (k < t.len && ((unsigned char)t.data[k] & 0xC0) == 0x80)
                    k++;
                runes++;
            }
            t.len = k;
        }
        break;
    case 'd':
        if (v->kind != TV_INT && v->kind != TV_DUR) {
            ok = false;
            break;
        }
        tn_buf_printf(&t, plus ? "%+lld" : space ? "% lld" : "%lld", (long long)v->i);
        break;
    case 'q':
        if (v->kind == TV_STR) {
            tn_go_quote(&t, v->s.p, v->s.n);
        } else if (v->kind == TV_INT) {
            /* strconv.QuoteRune */
            int64_t r = v->i;
            tn_buf_putc(&t, '\'');
            const char *esc = r == 7      ? "\\a"
                              : r == 8    ? "\\b"
                              : r == 12   ? "\\f"
                              : r == 10   ? "\\n"
                              : r == 13   ? "\\r"
                              : r == 9    ? "\\t"
                              : r == 11   ? "\\v"
                              : r == '\\' ? "\\\\"
                              : r == '\'' ? "\\'"
                                          : NULL;
            if (esc)
                tn_buf_puts(&t, esc);
            else if (r >= 32 && r < 127)
                tn_buf_putc(&t, (char)r);
            else if (r < 0x80 && r >= 0)
                tn_buf_printf(&t, "\\x%02x", (unsigned)r);
            else if (r > 0x10FFFF || r < 0)
                tn_buf_puts(&t, "\\ufffd");
            else if (r < 0x10000)
                tn_buf_printf(&t, "\\u%04x", (unsigned)r);
            else
                tn_buf_printf(&t, "\\U%08x", (unsigned)r);
            tn_buf_putc(&t, '\'');
        } else {
            ok = false;
        }
        break;
    case 'x':
    case 'X':
        if (v->kind == TV_STR) {
            const char *hex = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
            if (sharp)
                tn_buf_puts(&t, verb == 'x' ? "0x" : "0X");
            for (size_t i = 0; i < v->s.n; i++) {
                unsigned char ch = (unsigned char)v->s.p[i];
                tn_buf_putc(&t, hex[ch >> 4]);
                tn_buf_putc(&t, hex[ch & 15]);
            }
        } else if (v->kind == TV_INT) {
            uint64_t u = v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
            tn_buf_printf(&t, verb == 'x' ? "%s%s%llx" : "%s%s%llX", v->i < 0 ? "-" : "",
                          sharp ? (verb == 'x' ? "0x" : "0X") : "", (unsigned long long)u);
        } else if (v->kind == TV_FLOAT) {
            tn_buf_printf(&t, verb == 'x' ? "%a" : "%A", v->f);
        } else {
            ok = false;
        }
        break;
    case 'o':
        if (v->kind != TV_INT) {
            ok = false;
            break;
        }
        tn_buf_printf(&t, sharp ? "%#llo" : "%llo", (long long)v->i);
        break;
    case 'b':
        if (v->kind != TV_INT) {
            ok = false;
            break;
        }
        {
            uint64_t u = v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
            char bits[65];
            int k = 64;
            bits[k] = 0;
            do {
                bits[--k] = (char)('0' + (u & 1));
                u >>= 1;
            } while (u);
            if (v->i < 0)
                tn_buf_putc(&t, '-');
            tn_buf_puts(&t, bits + k);
        }
        break;
    case 'c':
        if (v->kind != TV_INT) {
            ok = false;
            break;
        }
        {
            char u8[8];
            tn_buf_t tmp;
            tn_buf_init(&tmp, 0);
            uint32_t cp = (uint32_t)v->i;
            if (cp < 0x80)
                tn_buf_putc(&tmp, (char)cp);
            else if (cp < 0x800)
                tn_buf_putc(&tmp, (char)(0xC0 | (cp >> 6))),
                    tn_buf_putc(&tmp, (char)(0x80 | (cp & 0x3F)));
            else if (cp < 0x10000)
                tn_buf_putc(&tmp, (char)(0xE0 | (cp >> 12))),
                    tn_buf_putc(&tmp, (char)(0x80 | ((cp >> 6) & 0x3F))),
                    tn_buf_putc(&tmp, (char)(0x80 | (cp & 0x3F)));
            else
                tn_buf_putc(&tmp, (char)(0xF0 | (cp >> 18))),
                    tn_buf_putc(&tmp, (char)(0x80 | ((cp >> 12) & 0x3F))),
                    tn_buf_putc(&tmp, (char)(0x80 | ((cp >> 6) & 0x3F))),
                    tn_buf_putc(&tmp, (char)(0x80 | (cp & 0x3F)));
            TN_UNUSED(u8);
            tn_buf_append(&t, tmp.data, tmp.len);
            tn_buf_free(&tmp);
        }
        break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
        if (v->kind != TV_FLOAT) {
            ok = false;
            break;
        }
        {
            char vv = verb == 'F' ? 'f' : verb;
            if (plus && v->f >= 0)
                tn_buf_putc(&t, '+');
            else if (space && v->f >= 0)
                tn_buf_putc(&t, ' ');
            if (prec < 0 && (vv == 'f' || vv == 'e' || vv == 'E'))
                prec = 6;
            fmt_float(&t, v->f, vv, prec);
        }
        break;
    case 't':
        if (v->kind != TV_BOOL) {
            ok = false;
            break;
        }
        tn_buf_puts(&t, v->b ? "true" : "false");
        break;
    case 'T':
        tn_buf_puts(&t, v->kind == TV_NIL ? "<nil>" : tv_kind_name(v));
        break;
    default:
        ok = false;
        break;
    }
    if (!ok) {
        tn_buf_reset(&t);
        bad_verb(c, &t, verb, v);
    }
    pad(b, t.data ? t.data : "", t.len, width, minus,
        zero && !minus && (v->kind == TV_INT || v->kind == TV_FLOAT));
    tn_buf_free(&t);
    return 0;
}

int tt_sprintf(tt_ctx_t *c, tn_buf_t *b, const char *f, size_t flen, const tv_t *args, size_t n)
{
    size_t argi = 0;
    for (size_t i = 0; i < flen;) {
        if (f[i] != '%') {
            tn_buf_putc(b, f[i++]);
            continue;
        }
        i++;
        if (i >= flen) {
            tn_buf_puts(b, "%!(NOVERB)");
            break;
        }
        bool plus = false, minus = false, sharp = false, zero = false, space = false;
        for (; i < flen; i++) {
            char ch = f[i];
            if (ch == '+')
                plus = true;
            else if (ch == '-')
                minus = true;
            else if (ch == '#')
                sharp = true;
            else if (ch == '0')
                zero = true;
            else if (ch == ' ')
                space = true;
            else
                break;
        }
        int width = -1, prec = -1;
        if (i < flen && f[i] == '*') {
            i++;
            /* fmt refuses a width past a million (its tooLarge) */
            if (argi < n && args[argi].kind == TV_INT && args[argi].i >= -1000000 &&
                args[argi].i <= 1000000)
                width = (int)args[argi].i;
            else
                tn_buf_puts(b, "%!(BADWIDTH)");
            argi++;
            if (width < 0 && width != -1)
                minus = true, width = -width;
        } else {
            while (i < flen && f[i] >= '0' && f[i] <= '9') {
                if (width > 1000000) { /* fmt's tooLarge: the rest of the format is lost */
                    i = flen;
                    break;
                }
                width = (width < 0 ? 0 : width) * 10 + (f[i++] - '0');
            }
        }
        if (i < flen && f[i] == '.') {
            i++;
            prec = 0;
            if (i < flen && f[i] == '*') {
                i++;
                if (argi < n && args[argi].kind == TV_INT && args[argi].i >= 0 &&
                    args[argi].i <= 1000000)
                    prec = (int)args[argi].i;
                else
                    tn_buf_puts(b, "%!(BADPREC)");
                argi++;
            } else {
                while (i < flen && f[i] >= '0' && f[i] <= '9') {
                    if (prec > 1000000) {
                        i = flen;
                        break;
                    }
                    prec = prec * 10 + (f[i++] - '0');
                }
            }
        }
        if (i >= flen) {
            tn_buf_puts(b, "%!(NOVERB)");
            break;
        }
        char verb = f[i++];
        if (verb == '%') {
            tn_buf_putc(b, '%');
            continue;
        }
        if (argi >= n) {
            tn_buf_printf(b, "%%!%c(MISSING)", verb);
            continue;
        }
        fmt_one(c, b, verb, &args[argi++], plus, minus, sharp, zero, space, width, prec);
    }
    if (argi < n) {
        tn_buf_puts(b, "%!(EXTRA ");
        for (size_t k = argi; k < n; k++) {
            if (k > argi)
                tn_buf_puts(b, ", ");
            if (args[k].kind == TV_NIL) {
                tn_buf_puts(b, "<nil>");
                continue;
            }
            tn_buf_printf(b, "%s=", tv_kind_name(&args[k]));
            print_depth(c, b, &args[k], 0);
        }
        tn_buf_putc(b, ')');
    }
    return 0;
}

/* ---- time ---- */

#include "tocsin/timeinterval.h"

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

/* Go's zero time is year 1; tocsin's 0 is "unset" and prints as Go's zero time. */
#define GO_ZERO_UNIX INT64_C(-62135596800)

static const tn_tz_t *zones_find(tt_zones_t *z, const char *name, bool *found)
{
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->v[i].name, name)) {
            *found = true;
            return z->v[i].tz;
        }
    *found = false;
    return NULL;
}

static const tn_tz_t *zones_load(tt_zones_t *z, const char *name)
{
    bool found;
    const tn_tz_t *tz = zones_find(z, name, &found);
    if (found)
        return tz;
    char err[TN_ERRBUF_SIZE];
    if (z->n == z->cap) {
        z->cap = z->cap ? 2 * z->cap : 8;
        z->v = tn_xrealloc(z->v, z->cap * sizeof(*z->v));
    }
    z->v[z->n].name = tn_xstrdup(name);
    z->v[z->n].tz = tn_tz_load(name, err, sizeof err); /* a failure is cached too */
    return z->v[z->n++].tz;
}

void tt_zones_free(tt_zones_t *z)
{
    for (size_t i = 0; i < z->n; i++) {
        free(z->v[i].name);
        tn_tz_free(z->v[i].tz);
    }
    free(z->v);
    memset(z, 0, sizeof(*z));
}

const tn_tz_t *tt_zone(tt_ctx_t *c, const char *name)
{
    if (!c || !c->tmpl) {
        if (!c)
            return NULL;
        return zones_load(&c->zones, name);
    }
    tn_tmpl_t *t = (tn_tmpl_t *)c->tmpl; /* the cache is the one mutable part of a set */
    pthread_mutex_lock(&t->zmu);
    const tn_tz_t *tz = zones_load(&t->zones, name);
    pthread_mutex_unlock(&t->zmu);
    return tz;
}

void tt_zones_preload(tn_tmpl_t *t, const char *name)
{
    pthread_mutex_lock(&t->zmu);
    zones_load(&t->zones, name);
    pthread_mutex_unlock(&t->zmu);
}

static int32_t zone_offset(tt_ctx_t *c, const tv_t *t, int64_t sec, const char **abbr, char *abuf)
{
    *abbr = "UTC";
    if (!t->tm.zone)
        return 0;
    int32_t off;
    if (t->tm.zone[0] == '=') {
        off = (int32_t)atoi(t->tm.zone + 1);
        *abbr = "";
    } else {
        off = tn_tz_lookup(tt_zone(c, t->tm.zone), sec, abbr);
    }
    if (!**abbr) {
        /* a zone without an abbreviation prints its offset as -0700, as Go does */
        int a = off < 0 ? -off : off;
        snprintf(abuf, 16, "%c%02d%02d", off < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
        *abbr = abuf;
    }
    return off;
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !memcmp(s, p, k);
}

int tt_time_format(tt_ctx_t *c, tn_buf_t *b, const char *l, size_t n, const tv_t *t)
{
    int64_t sec, nsec;
    if (t->tm.t == 0) {
        sec = GO_ZERO_UNIX;
        nsec = 0;
    } else {
        sec = floor_div(t->tm.t, TN_NS_PER_SEC);
        nsec = t->tm.t - sec * TN_NS_PER_SEC;
    }
    const char *abbr;
    char abuf[16];
    int32_t off = zone_offset(c, t, sec, &abbr, abuf);
    int64_t local = sec + off;
    int64_t days = floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    int y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    int wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
    static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int yday = cum[mo - 1] + d + (leap && mo > 2);
    for (size_t i = 0; i < n;) {
        const char *s = l + i;
        size_t left = n - i;
        size_t k = 0;
#define TOK(str) (has_prefix(s, left, str) && (k = strlen(str)))
        if (TOK("January")) {
            tn_buf_puts(b, month_names[mo - 1]);
        } else if (TOK("Jan")) {
            tn_buf_append(b, month_names[mo - 1], 3);
        } else if (TOK("Monday")) {
            tn_buf_puts(b, day_names[wday]);
        } else if (TOK("Mon")) {
            tn_buf_append(b, day_names[wday], 3);
        } else if (TOK("MST")) {
            tn_buf_puts(b, abbr);
        } else if (TOK("2006")) {
            tn_buf_printf(b, "%04d", y);
        } else if (TOK("002")) {
            tn_buf_printf(b, "%03d", yday);
        } else if (TOK("01")) {
            tn_buf_printf(b, "%02d", mo);
        } else if (TOK("02")) {
            tn_buf_printf(b, "%02d", d);
        } else if (TOK("03")) {
            tn_buf_printf(b, "%02d", hh % 12 == 0 ? 12 : hh % 12);
        } else if (TOK("04")) {
            tn_buf_printf(b, "%02d", mm);
        } else if (TOK("05")) {
            tn_buf_printf(b, "%02d", ss);
        } else if (TOK("06")) {
            tn_buf_printf(b, "%02d", y % 100);
        } else if (TOK("15")) {
            tn_buf_printf(b, "%02d", hh);
        } else if (TOK("__2")) {
            tn_buf_printf(b, "%3d", yday);
        } else if (TOK("_2")) {
            tn_buf_printf(b, "%2d", d);
        } else if (TOK("1")) {
            tn_buf_printf(b, "%d", mo);
        } else if (TOK("2")) {
            tn_buf_printf(b, "%d", d);
        } else if (TOK("3")) {
            tn_buf_printf(b, "%d", hh % 12 == 0 ? 12 : hh % 12);
        } else if (TOK("4")) {
            tn_buf_printf(b, "%d", mm);
        } else if (TOK("5")) {
            tn_buf_printf(b, "%d", ss);
        } else if (TOK("PM")) {
            tn_buf_puts(b, hh >= 12 ? "PM" : "AM");
        } else if (TOK("pm")) {
            tn_buf_puts(b, hh >= 12 ? "pm" : "am");
        } else if ((s[0] == '-' || s[0] == 'Z') &&
                   (TOK("-07:00:00") || TOK("-070000") || TOK("-07:00") || TOK("-0700") ||
                    TOK("-07") || TOK("Z07:00:00") || TOK("Z070000") || TOK("Z07:00") ||
                    TOK("Z0700") || TOK("Z07"))) {
            if (s[0] == 'Z' && off == 0) {
                tn_buf_putc(b, 'Z');
            } else {
                int a = off < 0 ? -off : off;
                bool colon = memchr(s, ':', k) != NULL;
                tn_buf_printf(b, "%c%02d", off < 0 ? '-' : '+', a / 3600);
                if (k > 3 + (s[0] == 'Z' ? 0 : 0) && !(k == 3))
                    tn_buf_printf(b, colon ? ":%02d" : "%02d", (a / 60) % 60);
                if (k == 9 || k == 7)
                    tn_buf_printf(b, colon ? ":%02d" : "%02d", a % 60);
            }
        } else if ((s[0] == '.' || s[0] == ',') && left >= 2 && (s[1] == '0' || s[1] == '9')) {
            char dig = s[1];
            size_t j = 1;
            while (j < left && s[j] == dig)
                j++;
            if (j < left && s[j] >= '0' && s[j] <= '9') {
                tn_buf_putc(b, s[0]);
                i++;
                continue;
            }
            k = j;
            size_t nd = j - 1 > 9 ? 9 : j - 1;
            char fr[16];
            snprintf(fr, sizeof fr, "%09lld", (long long)nsec);
            if (dig == '0') {
                tn_buf_putc(b, s[0]);
                tn_buf_append(b, fr, nd);
            } else {
                size_t m = nd;
                while (m > 0 && fr[m - 1] == '0')
                    m--;
                if (m > 0) {
                    tn_buf_putc(b, s[0]);
                    tn_buf_append(b, fr, m);
                }
            }
        } else {
            k = 1;
            tn_buf_putc(b, s[0]);
        }
#undef TOK
        i += k;
    }
    return 0;
}

/* ---- the notification data model (Alertmanager's template.Data) ----
 * Fields are computed on access from the notification; add new fields here. */

static void data_common(tt_ctx_t *c)
{
    if (c->common_done || !c->n)
        return;
    c->common_done = true;
    for (int k = 0; k < 2; k++) {
        size_t max = 0;
        if (c->n->nalerts > 0)
            max = k ? c->n->alerts[0].alert->nannotations : c->n->alerts[0].alert->nlabels;
        c->common[k] = tn_xcalloc(max + 1, sizeof(tn_label_t));
        c->ncommon[k] = tn_notification_common_labels(c->n, k == 1, c->common[k], max);
    }
}

static tt_list_t *data_alerts(tt_ctx_t *c)
{
    if (!c->alerts) {
        size_t n = c->data ? c->data->nalerts : c->n ? c->n->nalerts : 0;
        tv_t l = tv_list(c, n, TL_ALERTS);
        l.l->nil = c->data && !c->data->alerts;
        for (size_t i = 0; i < n; i++) {
            tv_t a = {.kind = TV_ALERT};
            if (c->data) {
                a.sub = TA_DATA;
                a.xalert = &c->data->alerts[i];
            } else {
                a.alert = &c->n->alerts[i];
            }
            tt_list_push(c, l.l, a);
        }
        c->alerts = l.l;
    }
    return c->alerts;
}

/* Go's regexp.QuoteMeta, which Alertmanager applies to the receiver name. */
static const char *quote_meta(tt_ctx_t *c, const char *s)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    for (; *s; s++) {
        if (strchr("\\.+*?()|[]{}^$", *s))
            tn_buf_putc(&b, '\\');
        tn_buf_putc(&b, *s);
    }
    tv_t v = tt_buf_value(c, &b);
    tn_buf_free(&b);
    return v.s.p;
}

const tn_label_t tn_tmpl_empty_labels[1];

static tv_t kv_value(tn_labels_t ls)
{
    tv_t v = {.kind = TV_KV};
    v.kv = ls;
    return v;
}

/* A KV of explicit data: v NULL is Go's nil map. */
static tv_t xkv_value(tn_labels_t ls)
{
    tv_t v = kv_value(ls);
    v.sub = ls.v ? TK_MAP : TK_NIL;
    return v;
}

/* tocsin extension: a rate-limit summary as maps (keys added in sorted order), nil otherwise. */
static tv_t summary_dict(tt_ctx_t *c, size_t cap)
{
    tv_t v = {.kind = TV_DICT};
    v.d = ctx_alloc(c, sizeof(*v.d));
    v.d->keys = ctx_alloc(c, cap * sizeof(*v.d->keys));
    v.d->vals = ctx_alloc(c, cap * sizeof(*v.d->vals));
    v.d->cap = cap;
    return v;
}

static void summary_put(tv_t *d, const char *k, tv_t val)
{
    d->d->keys[d->d->n] = k;
    d->d->vals[d->d->n++] = val;
}

static tv_t summary_int(size_t n)
{
    return (tv_t){.kind = TV_INT, .i = (int64_t)n};
}

static tv_t kv_value(tn_labels_t ls);

static tv_t summary_value(tt_ctx_t *c, const tn_summary_t *s)
{
    if (!s)
        return (tv_t){0};
    tv_t groups = tv_list(c, s->nlisted_groups, TL_ANY);
    for (size_t i = 0; i < s->nlisted_groups; i++) {
        tv_t g = summary_dict(c, 4);
        summary_put(&g, "Firing", summary_int(s->groups[i].nfiring));
        summary_put(&g, "GroupKey", tv_cstr(s->groups[i].group_key));
        summary_put(&g, "GroupLabels", kv_value(s->groups[i].group_labels));
        summary_put(&g, "Resolved", summary_int(s->groups[i].nresolved));
        tt_list_push(c, groups.l, g);
    }
    tv_t names = tv_list(c, s->nnames, TL_ANY);
    for (size_t i = 0; i < s->nnames; i++) {
        tv_t x = summary_dict(c, 2);
        summary_put(&x, "Alertname", tv_cstr(s->names[i].alertname));
        summary_put(&x, "Count", summary_int(s->names[i].count));
        tt_list_push(c, names.l, x);
    }
    tv_t d = summary_dict(c, 9);
    summary_put(&d, "Alertnames", names);
    summary_put(&d, "Groups", groups);
    summary_put(&d, "HeldAlerts", summary_int(s->nalerts));
    summary_put(&d, "HeldFiring", summary_int(s->nfiring));
    summary_put(&d, "HeldGroups", summary_int(s->ngroups));
    summary_put(&d, "HeldNotifications", summary_int(s->nnotifications));
    summary_put(&d, "HeldResolved", summary_int(s->nresolved));
    summary_put(&d, "Since", (tv_t){.kind = TV_TIME, .tm = {s->since, NULL}});
    summary_put(&d, "Truncated", (tv_t){.kind = TV_BOOL, .b = s->truncated});
    return d;
}

/* Data given field by field (template render): no derivation, no quoting. */
static tv_t explicit_field(tt_ctx_t *c, const tn_tmpl_data_t *d, const char *name, bool *ok)
{
    *ok = true;
    if (!strcmp(name, "Receiver"))
        return tv_cstr(d->receiver ? d->receiver : "");
    if (!strcmp(name, "Status"))
        return tv_cstr(d->status ? d->status : "");
    if (!strcmp(name, "Alerts")) {
        tv_t v = {.kind = TV_LIST, .sub = TL_ALERTS};
        v.l = data_alerts(c);
        return v;
    }
    if (!strcmp(name, "GroupLabels"))
        return xkv_value(d->group_labels);
    if (!strcmp(name, "CommonLabels"))
        return xkv_value(d->common_labels);
    if (!strcmp(name, "CommonAnnotations"))
        return xkv_value(d->common_annotations);
    if (!strcmp(name, "RouteLabels"))
        return xkv_value(d->route_labels);
    if (!strcmp(name, "ExternalURL"))
        return tv_cstr(d->external_url ? d->external_url : "");
    if (!strcmp(name, "NotificationReason"))
        return tv_cstr(d->notification_reason ? d->notification_reason : "");
    /* tocsin's own fields: nil in data given from outside (the defaults test .Ack). */
    if (!strcmp(name, "Ack") || !strcmp(name, "Summary"))
        return (tv_t){0};
    *ok = false;
    return (tv_t){0};
}

static tv_t data_field(tt_ctx_t *c, const char *name, bool *ok)
{
    const tn_notification_t *n = c->n;
    if (c->data)
        return explicit_field(c, c->data, name, ok);
    *ok = true;
    if (!strcmp(name, "Receiver")) {
        if (!c->receiver)
            c->receiver = quote_meta(c, n && n->receiver ? n->receiver : "");
        return tv_cstr(c->receiver);
    }
    if (!strcmp(name, "Status"))
        return tv_cstr(n && n->nfiring > 0 ? "firing" : "resolved");
    if (!strcmp(name, "Alerts")) {
        tv_t v = {.kind = TV_LIST, .sub = TL_ALERTS};
        v.l = data_alerts(c);
        return v;
    }
    if (!strcmp(name, "GroupLabels"))
        return kv_value(n ? n->group_labels : (tn_labels_t){NULL, 0});
    if (!strcmp(name, "CommonLabels") || !strcmp(name, "CommonAnnotations")) {
        data_common(c);
        int k = name[6] == 'A';
        return kv_value((tn_labels_t){c->common[k], c->ncommon[k]});
    }
    if (!strcmp(name, "RouteLabels"))
        return kv_value(n ? n->route_labels : (tn_labels_t){NULL, 0});
    if (!strcmp(name, "ExternalURL"))
        return tv_cstr(n && n->external_url ? n->external_url : "");
    if (!strcmp(name, "NotificationReason"))
        return tv_cstr(n && n->reason ? n->reason : "unknown");
    if (!strcmp(name, "Summary"))
        return summary_value(c, n ? n->summary : NULL);
    if (!strcmp(name, "Ack")) {
        if (!n || !n->ack)
            return (tv_t){0};
        tv_t d = summary_dict(c, 4);
        summary_put(&d, "At", (tv_t){.kind = TV_TIME, .tm = {n->ack->at, NULL}});
        summary_put(&d, "By", tv_cstr(n->ack->by));
        summary_put(&d, "Comment", tv_cstr(n->ack->comment));
        summary_put(&d, "ID", tv_cstr(n->ack->id));
        return d;
    }
    *ok = false;
    return (tv_t){0};
}

static tv_t time_value(tn_time_t t, const char *zone)
{
    tv_t v = {.kind = TV_TIME};
    v.tm.t = t;
    v.tm.zone = zone;
    return v;
}

tv_t tt_alert_field(tt_ctx_t *c, const tv_t *av, const char *name, bool *ok)
{
    *ok = true;
    if (av->sub == TA_DATA) {
        const tn_tmpl_alert_t *x = av->xalert;
        if (!strcmp(name, "Status"))
            return tv_cstr(x->status ? x->status : "");
        if (!strcmp(name, "Labels"))
            return xkv_value(x->labels);
        if (!strcmp(name, "Annotations"))
            return xkv_value(x->annotations);
        if (!strcmp(name, "StartsAt"))
            return time_value(x->starts_at, x->starts_zone);
        if (!strcmp(name, "EndsAt"))
            return time_value(x->ends_at, x->ends_zone);
        if (!strcmp(name, "GeneratorURL"))
            return tv_cstr(x->generator_url ? x->generator_url : "");
        if (!strcmp(name, "Fingerprint"))
            return tv_cstr(x->fingerprint ? x->fingerprint : "");
        *ok = false;
        return (tv_t){0};
    }
    const tn_notif_alert_t *na = av->alert;
    const tn_alert_t *a = na->alert;
    if (!strcmp(name, "Status"))
        return tv_cstr(na->resolved ? "resolved" : "firing");
    if (!strcmp(name, "Labels"))
        return kv_value(tn_alert_labels(a));
    if (!strcmp(name, "Annotations"))
        return kv_value(tn_alert_annotations(a));
    if (!strcmp(name, "StartsAt") || !strcmp(name, "EndsAt"))
        return time_value(name[0] == 'S' ? a->starts_at : (na->resolved ? a->ends_at : 0), NULL);
    if (!strcmp(name, "GeneratorURL"))
        return tv_cstr(a->generator_url ? a->generator_url : "");
    if (!strcmp(name, "Fingerprint")) {
        char *fp = ctx_alloc(c, 17);
        tn_fingerprint_format(a->fp, fp);
        return tv_str(fp, 16);
    }
    *ok = false;
    return (tv_t){0};
}

/* ---- evaluation ----
 * Follows Go's exec.go: c->node is set where Go's state.at() sets it, so errors name the same
 * node, and function arguments are checked against the function's declared types as
 * evalArg / validateType check them. */

static int eval_pipeline(tt_ctx_t *c, const tt_node_t *pipe, const tv_t *dot, tv_t *out);
static int exec_list(tt_ctx_t *c, const tt_node_t *list, const tv_t *dot);
static int eval_arg(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot, char type, tv_t *out);

static void var_push(tt_ctx_t *c, const char *name, tv_t v)
{
    if (c->nvars == c->vcap) {
        c->vcap = c->vcap ? c->vcap * 2 : 32;
        c->vnames = tn_xrealloc(c->vnames, c->vcap * sizeof(char *));
        c->vvals = tn_xrealloc(c->vvals, c->vcap * sizeof(tv_t));
    }
    c->vnames[c->nvars] = name;
    c->vvals[c->nvars++] = v;
}

static tv_t *var_find(tt_ctx_t *c, const char *name, size_t base)
{
    for (size_t i = c->nvars; i-- > base;)
        if (!strcmp(c->vnames[i], name))
            return &c->vvals[i];
    return NULL;
}

static size_t cur_base(tt_ctx_t *c)
{
    return c->vbase;
}

static int node_errorf(tt_ctx_t *c, const char *fmt, const tt_node_t *n)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tt_node_string(&b, n);
    int rc = tt_errorf(c, fmt, tn_buf_cstr(&b));
    tn_buf_free(&b);
    return rc;
}

static int not_a_function(tt_ctx_t *c, const tt_node_t *cmd, const tt_node_t *first, bool has_final)
{
    if ((cmd && cmd->nkids > 1) || has_final)
        return node_errorf(c, "can't give argument to non-function %s", first);
    return 0;
}

/* Go's name of a parameter type letter (tt_func_t.sig). */
static const char *type_name(char t)
{
    switch (t) {
    case 's':
        return "string";
    case 'S':
        return "[]string";
    case 'L':
        return "[]interface {}";
    case 't':
        return "time.Time";
    case 'd':
        return "time.Duration";
    case 'l':
        return "*time.Location";
    case 'v':
        return "reflect.Value";
    default:
        return "interface {}";
    }
}

/* validateType: v must be assignable to parameter type t (0: no check). */
static int validate_type(tt_ctx_t *c, const tv_t *v, char t)
{
    bool ok;
    switch (t) {
    case 0:
    case 'a':
    case 'v':
        return 0;
    case 'S':
        ok = v->kind == TV_NIL ||
             (v->kind == TV_LIST && (v->sub == TL_STRSLICE || v->sub == TL_STRINGS));
        break;
    case 'L':
        ok = v->kind == TV_NIL || (v->kind == TV_LIST && v->sub == TL_ANY);
        break;
    case 'l':
        ok = v->kind == TV_NIL || v->kind == TV_LOC;
        break;
    default:
        if (v->kind == TV_NIL)
            return tt_errorf(c, "invalid value; expected %s", type_name(t));
        ok = t == 's'   ? v->kind == TV_STR && v->sub == TS_PLAIN
             : t == 't' ? v->kind == TV_TIME
             : t == 'd' ? v->kind == TV_DUR
                        : false;
        break;
    }
    if (!ok)
        return tt_errorf(c, "wrong type for value; expected %s; got %s", type_name(t),
                         tv_kind_name(v));
    return 0;
}

static int call_method(tt_ctx_t *c, const tv_t *recv, const char *name, tv_t *args, size_t nargs,
                       tv_t *out, bool *found);
static const char *method_sig(const tv_t *recv, const char *name);

/* Evaluates field `name` on recv (Go's evalField). For the last element of a chain the
 * arguments are cmd's kids[1..] and the piped final value. */
static int eval_field(tt_ctx_t *c, const tv_t *dot, const char *name, const tv_t *recv,
                      const tt_node_t *at, const tt_node_t *cmd, const tv_t *final, tv_t *out)
{
    size_t nargnodes = cmd ? cmd->nkids - 1 : 0;
    if (recv->kind == TV_NIL) {
        *out = (tv_t){0};
        return 0; /* missingkey=zero on a nil receiver */
    }
    const char *sig = method_sig(recv, name);
    if (sig) {
        size_t want = strlen(sig), nargs = nargnodes + (final ? 1 : 0);
        if (nargs != want)
            return tt_errorf(c, "wrong number of args for %s: want %zu got %zu", name, want, nargs);
        tv_t args[4];
        for (size_t i = 0; i < nargnodes; i++) {
            int rc = eval_arg(c, cmd->kids[i + 1], dot, sig[i], &args[i]);
            if (rc)
                return rc;
        }
        if (final) {
            int rc = validate_type(c, final, sig[want - 1]);
            if (rc)
                return rc;
            args[nargs - 1] = *final;
        }
        bool found = false;
        int rc = call_method(c, recv, name, args, nargs, out, &found);
        if (rc && !c->failed) {
            c->node = at;
            tt_errorf(c, "error calling %s: %s", name, c->fnerr ? c->fnerr : "failed");
        }
        return rc ? TN_ERR_INVAL : 0;
    }
    bool has_args = nargnodes > 0 || final;
    bool ok = false;
    switch (recv->kind) {
    case TV_DATA:
        *out = data_field(c, name, &ok);
        break;
    case TV_ALERT:
        *out = tt_alert_field(c, recv, name, &ok);
        break;
    case TV_PAIR:
        if (!strcmp(name, "Name"))
            *out = tv_cstr(recv->pair.name), ok = true;
        else if (!strcmp(name, "Value"))
            *out = tv_cstr(recv->pair.value), ok = true;
        break;
    case TV_KV:
    case TV_DICT:
        if (has_args)
            return tt_errorf(c, "%s is not a method but has arguments", name);
        if (recv->kind == TV_KV) {
            const char *v = tn_labels_get(recv->kv, name);
            *out = tv_cstr(v ? v : "");
        } else {
            *out = (tv_t){0};
            for (size_t i = 0; i < recv->d->n; i++)
                if (!strcmp(recv->d->keys[i], name))
                    *out = recv->d->vals[i];
        }
        return 0;
    default:
        break;
    }
    if (!ok)
        return tt_errorf(c, "can't evaluate field %s in type %s", name, tv_kind_name(recv));
    if (has_args)
        return tt_errorf(c, "%s has arguments but cannot be invoked as function", name);
    return 0;
}

/* evalFieldChain: the arguments go to the last field only. */
static int eval_chain(tt_ctx_t *c, const tv_t *dot, tv_t recv, const char *const *idents, size_t n,
                      const tt_node_t *at, const tt_node_t *cmd, const tv_t *final, tv_t *out)
{
    for (size_t i = 0; i < n; i++) {
        tv_t next;
        bool last = i + 1 == n;
        int rc =
            eval_field(c, dot, idents[i], &recv, at, last ? cmd : NULL, last ? final : NULL, &next);
        if (rc)
            return rc;
        recv = next;
    }
    *out = recv;
    return 0;
}

/* evalFunction + evalCall. cmd is the command when the function heads one (NULL when it is
 * an argument); errors the function returns are reported at cmd, or at the name. */
static int call_function(tt_ctx_t *c, const tt_node_t *ident, const tt_node_t *cmd, const tv_t *dot,
                         const tv_t *final, tv_t *out)
{
    c->node = ident;
    const char *name = ident->str;
    const tt_func_t *f = tt_func_find(name);
    bool is_andor = !strcmp(name, "and") || !strcmp(name, "or");
    if (!f && !is_andor)
        return tt_errorf(c, "%s is not a defined function", name);
    const char *sig = is_andor ? "vv*" : f->sig;
    size_t nparams = strlen(sig);
    bool variadic = nparams > 0 && sig[nparams - 1] == '*';
    if (variadic)
        nparams--;
    size_t nfixed = variadic ? nparams - 1 : nparams;
    size_t nargnodes = cmd ? cmd->nkids - 1 : 0;
    size_t nargs = nargnodes + (final ? 1 : 0);
    if (variadic && nargs < nfixed)
        return tt_errorf(c, "wrong number of args for %s: want at least %zu got %zu", name, nfixed,
                         nargnodes);
    if (!variadic && nargs != nparams)
        return tt_errorf(c, "wrong number of args for %s: want %zu got %zu", name, nparams, nargs);
        /* the type each argument is checked against */
#define ARG_TYPE(i) ((i) < nfixed ? sig[i] : sig[nparams - 1])
    if (is_andor) { /* lazily: the first deciding argument is the result */
        bool is_and = name[0] == 'a';
        for (size_t i = 0; i < nargnodes; i++) {
            int rc = eval_arg(c, cmd->kids[i + 1], dot, 'v', out);
            if (rc)
                return rc;
            if (tv_truth(out) != is_and)
                return 0;
        }
        if (final)
            *out = *final;
        return 0;
    }
    tv_t *args = ctx_alloc(c, (nargs + 1) * sizeof(tv_t));
    for (size_t i = 0; i < nargnodes; i++) {
        int rc = eval_arg(c, cmd->kids[i + 1], dot, ARG_TYPE(i), &args[i]);
        if (rc)
            return rc;
    }
    if (final) {
        int rc = validate_type(c, final, ARG_TYPE(nargs - 1));
        if (rc)
            return rc;
        args[nargs - 1] = *final;
    }
#undef ARG_TYPE
    if (c->failed)
        return TN_ERR_INVAL;
    *out = (tv_t){0};
    free(c->fnerr);
    c->fnerr = NULL;
    int rc = f->fn(c, args, nargs, out);
    if (rc && !c->failed) {
        c->node = cmd ? cmd : ident;
        tt_errorf(c, "error calling %s: %s", name, c->fnerr ? c->fnerr : "failed");
    }
    return rc ? TN_ERR_INVAL : 0;
}

/* evalArg: an argument checked against parameter type `type` (0: none). */
static int eval_arg(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot, char type, tv_t *out)
{
    c->node = n;
    int rc;
    switch (n->type) {
    case TN_DOT:
        *out = *dot;
        return validate_type(c, out, type);
    case TN_NIL:
        if (type && strchr("avSLl", type)) {
            *out = (tv_t){0};
            return 0;
        }
        return tt_errorf(c, "cannot assign nil to %s", type_name(type));
    case TN_CONST:
        *out = n->val;
        switch (type) {
        case 0:
        case 'a':
        case 'v':
            return 0;
        case 's':
            if (n->val.kind != TV_STR)
                return node_errorf(c, "expected string; found %s", n);
            return 0;
        case 'd':
            if (n->val.kind != TV_INT)
                return node_errorf(c, "expected integer; found %s", n);
            out->kind = TV_DUR;
            return 0;
        default: {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            tt_node_string(&b, n);
            rc = tt_errorf(c, "can't handle %s for arg of type %s", tn_buf_cstr(&b),
                           type_name(type));
            tn_buf_free(&b);
            return rc;
        }
        }
    case TN_FIELD:
        rc = eval_chain(c, dot, *dot, n->idents, n->nidents, n, NULL, NULL, out);
        break;
    case TN_VAR: {
        tv_t *v = var_find(c, n->idents[0], cur_base(c));
        if (!v)
            return tt_errorf(c, "undefined variable: %s", n->idents[0]);
        rc = eval_chain(c, dot, *v, n->idents + 1, n->nidents - 1, n, NULL, NULL, out);
        break;
    }
    case TN_PIPE:
        rc = eval_pipeline(c, n, dot, out);
        break;
    case TN_CHAIN: {
        tv_t recv;
        if ((rc = eval_arg(c, n->pipe, dot, 0, &recv)))
            return rc;
        rc = eval_chain(c, dot, recv, n->idents, n->nidents, n, NULL, NULL, out);
        break;
    }
    case TN_IDENT:
        rc = call_function(c, n, NULL, dot, NULL, out);
        break;
    default:
        return node_errorf(c, "can't handle %s as an argument", n);
    }
    return rc ? rc : validate_type(c, out, type);
}

/* evalCommand */
static int eval_command(tt_ctx_t *c, const tt_node_t *cmd, const tv_t *dot, const tv_t *final,
                        tv_t *out)
{
    const tt_node_t *first = cmd->kids[0];
    int rc;
    switch (first->type) {
    case TN_FIELD:
        c->node = first;
        return eval_chain(c, dot, *dot, first->idents, first->nidents, first, cmd, final, out);
    case TN_VAR: {
        c->node = first;
        tv_t *v = var_find(c, first->idents[0], cur_base(c));
        if (!v)
            return tt_errorf(c, "undefined variable: %s", first->idents[0]);
        if (first->nidents == 1) {
            if ((rc = not_a_function(c, cmd, first, final != NULL)))
                return rc;
            *out = *v;
            return 0;
        }
        return eval_chain(c, dot, *v, first->idents + 1, first->nidents - 1, first, cmd, final,
                          out);
    }
    case TN_CHAIN: {
        c->node = first;
        tv_t recv;
        if ((rc = eval_arg(c, first->pipe, dot, 0, &recv)))
            return rc;
        return eval_chain(c, dot, recv, first->idents, first->nidents, first, cmd, final, out);
    }
    case TN_IDENT:
        return call_function(c, first, cmd, dot, final, out);
    case TN_PIPE:
        if ((rc = not_a_function(c, cmd, first, final != NULL)))
            return rc;
        return eval_pipeline(c, first, dot, out);
    default:
        c->node = first;
        if ((rc = not_a_function(c, cmd, first, final != NULL)))
            return rc;
        if (first->type == TN_NIL)
            return tt_errorf(c, "nil is not a command");
        return eval_arg(c, first, dot, 0, out);
    }
}

static int eval_pipeline(tt_ctx_t *c, const tt_node_t *pipe, const tv_t *dot, tv_t *out)
{
    c->node = pipe;
    tv_t v = {0};
    bool have = false;
    for (size_t i = 0; i < pipe->nkids; i++) {
        tv_t next;
        int rc = eval_command(c, pipe->kids[i], dot, have ? &v : NULL, &next);
        if (rc)
            return rc;
        if (c->failed)
            return TN_ERR_INVAL;
        v = next;
        have = true;
    }
    for (size_t i = 0; i < pipe->ndecl; i++) {
        if (pipe->assign) {
            tv_t *slot = var_find(c, pipe->decl[i], cur_base(c));
            if (slot)
                *slot = v;
        } else {
            var_push(c, pipe->decl[i], v);
        }
    }
    *out = v;
    return 0;
}

/* ---- methods of the data model types ---- */

static tv_t strings_of(tt_ctx_t *c, tn_labels_t kv, bool names)
{
    tv_t l = tv_list(c, kv.n, TL_STRINGS);
    for (size_t i = 0; i < kv.n; i++)
        tt_list_push(c, l.l, tv_cstr(names ? kv.v[i].name : kv.v[i].value));
    return l;
}

static tn_labels_t pairs_labels(tt_ctx_t *c, const tt_list_t *l)
{
    tn_label_t *v = ctx_alloc(c, (l->n + 1) * sizeof(*v));
    for (size_t i = 0; i < l->n; i++)
        v[i] = l->v[i].pair;
    return (tn_labels_t){v, l->n};
}

static int want_args(tt_ctx_t *c, const char *name, size_t nargs, size_t want)
{
    if (nargs != want)
        return tt_errorf(c, "wrong number of args for %s: want %zu got %zu", name, want, nargs);
    return 0;
}

/* ---- methods of time.Time and time.Duration ---- */

typedef __int128 i128;
#define DUR_MAX INT64_MAX
#define DUR_MIN INT64_MIN

/* Nanoseconds since the Unix epoch, with 0 as Go's zero time (year 1). */
static i128 abs_ns(const tv_t *t)
{
    return t->tm.t == 0 ? (i128)GO_ZERO_UNIX * TN_NS_PER_SEC : (i128)t->tm.t;
}

static int64_t sat_dur(i128 d)
{
    return d > DUR_MAX ? DUR_MAX : d < DUR_MIN ? DUR_MIN : (int64_t)d;
}

/* A Duration argument: a duration, or an integer constant as text/template converts one. */
static int want_dur(tt_ctx_t *c, const char *fn, const tv_t *v, int64_t *d)
{
    if (v->kind != TV_DUR && v->kind != TV_INT)
        return tt_errorf(c, "wrong type for value; expected time.Duration; got %s",
                         tv_kind_name(v));
    TN_UNUSED(fn);
    *d = v->i;
    return 0;
}

static int want_time_arg(tt_ctx_t *c, const tv_t *v)
{
    if (v->kind != TV_TIME)
        return tt_errorf(c, "wrong type for value; expected time.Time; got %s", tv_kind_name(v));
    return 0;
}

static int time_result(tt_ctx_t *c, const tv_t *recv, i128 ns, tv_t *out)
{
    if (ns == (i128)GO_ZERO_UNIX * TN_NS_PER_SEC)
        ns = 0;
    else if (ns > INT64_MAX || ns < INT64_MIN || ns == 0)
        /* tocsin keeps times as int64 nanoseconds (years 1678..2262) and 0 for Go's zero */
        return tt_errorf(c, "time out of range");
    *out = *recv;
    out->tm.t = (int64_t)ns;
    return 0;
}

static tv_t str_value(tt_ctx_t *c, tn_buf_t *b)
{
    tv_t v = tt_buf_value(c, b);
    tn_buf_free(b);
    return v;
}

static int time_method(tt_ctx_t *c, const tv_t *recv, const char *name, tv_t *args, size_t nargs,
                       tv_t *out, bool *found)
{
    int rc;
    i128 t = abs_ns(recv);
    int64_t unix_s =
        (int64_t)(t >= 0 ? t / TN_NS_PER_SEC : -((-t + TN_NS_PER_SEC - 1) / TN_NS_PER_SEC));
    static const char *const one_arg[] = {"Format", "Sub",   "Add",      "After", "Before",
                                          "Equal",  "Round", "Truncate", "In",    NULL};
    static const char *const no_arg[] = {"Unix", "UnixMilli", "UnixMicro", "UnixNano", "IsZero",
                                         "UTC",  "Local",     "String",    "Location", NULL};
    size_t want = 2;
    for (size_t i = 0; one_arg[i]; i++)
        if (!strcmp(name, one_arg[i]))
            want = 1;
    for (size_t i = 0; no_arg[i]; i++)
        if (!strcmp(name, no_arg[i]))
            want = 0;
    if (want == 2) {
        *found = false;
        return 0;
    }
    if ((rc = want_args(c, name, nargs, want)))
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (!strcmp(name, "Format")) {
        const char *lay = "";
        size_t llen = 0;
        if ((rc = tv_want_str(c, &args[0], &lay, &llen)))
            return rc;
        tt_time_format(c, &b, lay, llen, recv);
        *out = str_value(c, &b);
    } else if (!strcmp(name, "Sub")) {
        if ((rc = want_time_arg(c, &args[0])))
            return rc;
        *out = (tv_t){.kind = TV_DUR, .i = sat_dur(t - abs_ns(&args[0]))};
    } else if (!strcmp(name, "After") || !strcmp(name, "Before") || !strcmp(name, "Equal")) {
        if ((rc = want_time_arg(c, &args[0])))
            return rc;
        i128 u = abs_ns(&args[0]);
        *out = tv_bool(name[0] == 'A' ? t > u : name[0] == 'B' ? t < u : t == u);
    } else if (!strcmp(name, "Add") || !strcmp(name, "Round") || !strcmp(name, "Truncate")) {
        int64_t d = 0;
        if ((rc = want_dur(c, name, &args[0], &d)))
            return rc;
        if (name[0] == 'A')
            return time_result(c, recv, t + d, out);
        if (d <= 0) {
            *out = *recv;
            return 0;
        }
        /* Go rounds relative to the zero time, in absolute (zone-free) time */
        i128 since_zero = t - (i128)GO_ZERO_UNIX * TN_NS_PER_SEC;
        i128 r = since_zero % d;
        i128 res = t - r;
        if (name[0] == 'R' && (uint64_t)r + (uint64_t)r >= (uint64_t)d)
            res += d;
        return time_result(c, recv, res, out);
    } else if (!strcmp(name, "In")) {
        if (args[0].kind != TV_LOC)
            return tt_errorf(c, "wrong type for value; expected *time.Location; got %s",
                             tv_kind_name(&args[0]));
        *out = *recv;
        out->tm.zone = args[0].tm.zone;
    } else if (!strcmp(name, "Location")) {
        *out = (tv_t){.kind = TV_LOC};
        out->tm.zone = recv->tm.zone;
    } else if (!strcmp(name, "Unix")) {
        *out = tv_int(unix_s);
    } else if (!strcmp(name, "UnixMilli") || !strcmp(name, "UnixMicro")) {
        int64_t div = !strcmp(name, "UnixMilli") ? TN_NS_PER_MS : 1000;
        *out = tv_int((int64_t)(t >= 0 ? t / div : -((-t + div - 1) / div)));
    } else if (!strcmp(name, "UnixNano")) {
        *out = tv_int(recv->tm.t == 0 ? INT64_MIN : recv->tm.t); /* undefined in Go too */
    } else if (!strcmp(name, "IsZero")) {
        *out = tv_bool(recv->tm.t == 0);
    } else if (!strcmp(name, "UTC") || !strcmp(name, "Local")) {
        *out = *recv;
        out->tm.zone = name[0] == 'U' ? NULL : "Local";
    } else {
        tt_time_string(c, &b, recv);
        *out = str_value(c, &b);
    }
    return 0;
}

static bool less_than_half(int64_t x, int64_t y)
{
    return (uint64_t)x + (uint64_t)x < (uint64_t)y;
}

static int64_t dur_round(int64_t d, int64_t m)
{
    if (m <= 0)
        return d;
    int64_t r = d % m;
    if (d < 0) {
        r = -r;
        if (less_than_half(r, m))
            return d + r;
        int64_t d1 = (int64_t)((uint64_t)d - (uint64_t)m + (uint64_t)r);
        return d1 < d ? d1 : DUR_MIN;
    }
    if (less_than_half(r, m))
        return d - r;
    int64_t d1 = (int64_t)((uint64_t)d + (uint64_t)m - (uint64_t)r);
    return d1 > d ? d1 : DUR_MAX;
}

static int dur_method(tt_ctx_t *c, const tv_t *recv, const char *name, tv_t *args, size_t nargs,
                      tv_t *out, bool *found)
{
    int rc;
    int64_t d = recv->i;
    if (!strcmp(name, "Round") || !strcmp(name, "Truncate")) {
        int64_t m = 0;
        if ((rc = want_args(c, name, nargs, 1)) || (rc = want_dur(c, name, &args[0], &m)))
            return rc;
        *out = (tv_t){.kind = TV_DUR,
                      .i = name[0] == 'R' ? dur_round(d, m)
                           : m <= 0       ? d
                                          : d - d % m};
        return 0;
    }
    static const char *const no_arg[] = {"Hours",        "Minutes",      "Seconds",
                                         "Milliseconds", "Microseconds", "Nanoseconds",
                                         "String",       "Abs",          NULL};
    bool known = false;
    for (size_t i = 0; no_arg[i]; i++)
        known |= !strcmp(name, no_arg[i]);
    if (!known) {
        *found = false;
        return 0;
    }
    if ((rc = want_args(c, name, nargs, 0)))
        return rc;
    if (!strcmp(name, "Hours") || !strcmp(name, "Minutes") || !strcmp(name, "Seconds")) {
        /* whole units plus the fraction, as Go computes them */
        int64_t unit = name[0] == 'H'   ? 3600 * TN_NS_PER_SEC
                       : name[0] == 'M' ? 60 * TN_NS_PER_SEC
                                        : TN_NS_PER_SEC;
        *out = tv_float((double)(d / unit) + (double)(d % unit) / (double)unit);
    } else if (!strcmp(name, "Milliseconds")) {
        *out = tv_int(d / TN_NS_PER_MS);
    } else if (!strcmp(name, "Microseconds")) {
        *out = tv_int(d / 1000);
    } else if (!strcmp(name, "Nanoseconds")) {
        *out = tv_int(d);
    } else if (!strcmp(name, "Abs")) {
        *out = (tv_t){.kind = TV_DUR, .i = d >= 0 ? d : d == DUR_MIN ? DUR_MAX : -d};
    } else {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tt_duration_string(&b, d);
        *out = str_value(c, &b);
    }
    return 0;
}

/* The parameters (tt_func_t.sig letters) of method `name` of recv's type; NULL if it has no
 * such method. */
static const char *method_sig(const tv_t *recv, const char *name)
{
    static const struct {
        uint8_t kind, sub; /* sub 255: any */
        const char *name, *sig;
    } m[] = {
        {TV_KV, 255, "SortedPairs", ""},
        {TV_KV, 255, "Names", ""},
        {TV_KV, 255, "Values", ""},
        {TV_KV, 255, "String", ""},
        {TV_KV, 255, "Remove", "S"},
        {TV_LIST, TL_PAIRS, "Names", ""},
        {TV_LIST, TL_PAIRS, "Values", ""},
        {TV_LIST, TL_PAIRS, "String", ""},
        {TV_LIST, TL_STRINGS, "Join", "s"},
        {TV_LIST, TL_ALERTS, "Firing", ""},
        {TV_LIST, TL_ALERTS, "Resolved", ""},
        {TV_TIME, 255, "Format", "s"},
        {TV_TIME, 255, "Sub", "t"},
        {TV_TIME, 255, "Add", "d"},
        {TV_TIME, 255, "After", "t"},
        {TV_TIME, 255, "Before", "t"},
        {TV_TIME, 255, "Equal", "t"},
        {TV_TIME, 255, "Round", "d"},
        {TV_TIME, 255, "Truncate", "d"},
        {TV_TIME, 255, "In", "l"},
        {TV_TIME, 255, "Unix", ""},
        {TV_TIME, 255, "UnixMilli", ""},
        {TV_TIME, 255, "UnixMicro", ""},
        {TV_TIME, 255, "UnixNano", ""},
        {TV_TIME, 255, "IsZero", ""},
        {TV_TIME, 255, "UTC", ""},
        {TV_TIME, 255, "Local", ""},
        {TV_TIME, 255, "String", ""},
        {TV_TIME, 255, "Location", ""},
        {TV_DUR, 255, "Round", "d"},
        {TV_DUR, 255, "Truncate", "d"},
        {TV_DUR, 255, "Hours", ""},
        {TV_DUR, 255, "Minutes", ""},
        {TV_DUR, 255, "Seconds", ""},
        {TV_DUR, 255, "Milliseconds", ""},
        {TV_DUR, 255, "Microseconds", ""},
        {TV_DUR, 255, "Nanoseconds", ""},
        {TV_DUR, 255, "String", ""},
        {TV_DUR, 255, "Abs", ""},
        {TV_LOC, 255, "String", ""},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(m); i++)
        if (m[i].kind == recv->kind && (m[i].sub == 255 || m[i].sub == recv->sub) &&
            !strcmp(m[i].name, name))
            return m[i].sig;
    return NULL;
}

static int call_method(tt_ctx_t *c, const tv_t *recv, const char *name, tv_t *args, size_t nargs,
                       tv_t *out, bool *found)
{
    int rc;
    *found = true;
    if (recv->kind == TV_KV) {
        if (!strcmp(name, "SortedPairs") || !strcmp(name, "Names") || !strcmp(name, "Values") ||
            !strcmp(name, "String")) {
            if ((rc = want_args(c, name, nargs, 0)))
                return rc;
            tn_labels_t sp = tt_kv_sorted_pairs(c, recv->kv);
            if (name[0] == 'N' || name[0] == 'V') {
                *out = strings_of(c, sp, name[0] == 'N');
            } else if (name[1] == 't') {
                tn_buf_t b;
                tn_buf_init(&b, 0);
                print_kv(c, &b, recv->kv);
                *out = tt_buf_value(c, &b);
                tn_buf_free(&b);
            } else {
                tv_t l = tv_list(c, sp.n, TL_PAIRS);
                for (size_t i = 0; i < sp.n; i++) {
                    tv_t p = {.kind = TV_PAIR};
                    p.pair = sp.v[i];
                    tt_list_push(c, l.l, p);
                }
                *out = l;
            }
            return 0;
        }
        if (!strcmp(name, "Remove")) {
            tt_list_t *keys;
            if ((rc = want_args(c, name, nargs, 1)) || (rc = tv_want_strlist(c, &args[0], &keys)))
                return rc;
            tn_label_t *v = ctx_alloc(c, (recv->kv.n + 1) * sizeof(*v));
            size_t k = 0;
            for (size_t i = 0; i < recv->kv.n; i++) {
                bool drop = false;
                for (size_t j = 0; j < keys->n && !drop; j++)
                    drop = keys->v[j].s.n == strlen(recv->kv.v[i].name) &&
                           !memcmp(keys->v[j].s.p, recv->kv.v[i].name, keys->v[j].s.n);
                if (!drop)
                    v[k++] = recv->kv.v[i];
            }
            *out = kv_value((tn_labels_t){v, k});
            return 0;
        }
    } else if (recv->kind == TV_LIST && recv->sub == TL_PAIRS &&
               (!strcmp(name, "Names") || !strcmp(name, "Values") || !strcmp(name, "String"))) {
        if ((rc = want_args(c, name, nargs, 0)))
            return rc;
        tn_labels_t kv = pairs_labels(c, recv->l);
        if (name[0] == 'S') {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            print_depth(c, &b, recv, 0);
            *out = tt_buf_value(c, &b);
            tn_buf_free(&b);
        } else {
            *out = strings_of(c, kv, name[0] == 'N');
        }
        return 0;
    } else if (recv->kind == TV_LIST && recv->sub == TL_STRINGS && !strcmp(name, "Join")) {
        const char *sep = "";
        size_t seplen = 0;
        if ((rc = want_args(c, name, nargs, 1)) || (rc = tv_want_str(c, &args[0], &sep, &seplen)))
            return rc;
        tn_buf_t b;
        tn_buf_init(&b, 0);
        for (size_t i = 0; i < recv->l->n; i++) {
            if (i)
                tn_buf_append(&b, sep, seplen);
            tn_buf_append(&b, recv->l->v[i].s.p, recv->l->v[i].s.n);
        }
        *out = tt_buf_value(c, &b);
        tn_buf_free(&b);
        return 0;
    } else if (recv->kind == TV_LIST && recv->sub == TL_ALERTS &&
               (!strcmp(name, "Firing") || !strcmp(name, "Resolved"))) {
        if ((rc = want_args(c, name, nargs, 0)))
            return rc;
        bool want_resolved = name[0] == 'R';
        tv_t l = tv_list(c, recv->l->n, TL_ALERTSLICE);
        for (size_t i = 0; i < recv->l->n; i++) {
            const tv_t *a = &recv->l->v[i];
            /* explicit data filters by the status string, as Alerts.Firing does */
            bool keep = a->sub == TA_DATA
                            ? a->xalert->status &&
                                  !strcmp(a->xalert->status, want_resolved ? "resolved" : "firing")
                            : a->alert->resolved == want_resolved;
            if (keep)
                tt_list_push(c, l.l, *a);
        }
        *out = l;
        return 0;
    } else if (recv->kind == TV_TIME) {
        return time_method(c, recv, name, args, nargs, out, found);
    } else if (recv->kind == TV_DUR) {
        return dur_method(c, recv, name, args, nargs, out, found);
    } else if (recv->kind == TV_LOC && !strcmp(name, "String")) {
        if ((rc = want_args(c, name, nargs, 0)))
            return rc;
        *out = tv_cstr(recv->tm.zone ? recv->tm.zone : "UTC");
        return 0;
    }
    *found = false;
    return 0;
}

/* ---- output: text as written; in HTML mode through template_html.c ---- */

int tt_out(tt_ctx_t *c, const char *s, size_t n)
{
    if (c->out->len + n > c->out_limit)
        return tt_rawerrorf(c, "template: output exceeds %d bytes", TN_TMPL_MAX_OUTPUT);
    if (tn_buf_append(c->out, s, n))
        return tt_rawerrorf(c, "template: output buffer full");
    return 0;
}

int tt_eval_pipeline(tt_ctx_t *c, const tt_node_t *pipe, const tv_t *dot, tv_t *out)
{
    return eval_pipeline(c, pipe, dot, out);
}

int tt_eval_arg(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot, tv_t *out)
{
    return eval_arg(c, n, dot, 'a', out);
}

/* printValue: fmt.Fprint of the value; an invalid (nil) one is "<no value>". */
static int out_value(tt_ctx_t *c, const tv_t *v)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tv_print(c, &b, v, true);
    int rc = tt_out(c, b.data ? b.data : "", b.len);
    tn_buf_free(&b);
    return rc;
}

/* ---- statements ---- */

static int exec_template(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot)
{
    c->node = n;
    const tt_def_t *d = tt_find(c->defs1, c->ndefs1, n->str);
    if (!d)
        d = tt_find(c->defs2, c->ndefs2, n->str);
    if (!d) {
        tn_buf_t q;
        tn_buf_init(&q, 0);
        tn_go_quote(&q, n->str, strlen(n->str));
        int rc = (c->flags & TN_TMPL_HTML)
                     /* html/template finds it missing while escaping, before executing */
                     ? tt_rawerrorf(c, "html/template:%s:%d:%d: no such template %s",
                                    c->tfile ? c->tfile : "", n->line, n->col, tn_buf_cstr(&q))
                     : tt_errorf(c, "template %s not defined", tn_buf_cstr(&q));
        tn_buf_free(&q);
        return rc;
    }
    if (c->depth >= TN_TMPL_MAX_DEPTH)
        return tt_errorf(c, "exceeded maximum template depth (%d)", TN_TMPL_MAX_DEPTH);
    tv_t arg = {0};
    if (n->pipe) {
        int rc = eval_pipeline(c, n->pipe, dot, &arg);
        if (rc)
            return rc;
    }
    size_t saved_base = c->vbase, saved_n = c->nvars;
    const char *saved_name = c->tname, *saved_file = c->tfile;
    c->depth++;
    c->vbase = c->nvars;
    c->tname = d->name;
    c->tfile = d->file;
    var_push(c, "$", arg);
    int rc = d->root ? exec_list(c, d->root, &arg) : 0;
    c->nvars = saved_n;
    c->vbase = saved_base;
    c->tname = saved_name;
    c->tfile = saved_file;
    c->depth--;
    return rc < 0 ? rc : 0;
}

static int exec_node(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot)
{
    int rc = 0;
    tv_t v;
    c->node = n;
    switch (n->type) {
    case TN_TEXT:
        if (c->flags & TN_TMPL_HTML)
            return tt_html_text(c, n->str, n->slen);
        return tt_out(c, n->str, n->slen);
    case TN_ACTION:
        if (c->flags & TN_TMPL_HTML)
            return tt_html_action(c, n, dot);
        rc = eval_pipeline(c, n->pipe, dot, &v);
        if (rc)
            return rc;
        c->node = n;
        if (n->pipe->ndecl == 0)
            return out_value(c, &v);
        return 0;
    case TN_IF:
    case TN_WITH: {
        size_t mark = c->nvars;
        rc = eval_pipeline(c, n->pipe, dot, &v);
        if (rc == 0) {
            if (tv_truth(&v))
                rc = exec_list(c, n->list, n->type == TN_WITH ? &v : dot);
            else if (n->elist)
                rc = exec_list(c, n->elist, dot);
        }
        c->nvars = mark;
        return rc;
    }
    case TN_RANGE: {
        size_t mark = c->nvars;
        tt_node_t pipe = *n->pipe;
        pipe.ndecl = 0; /* range variables are set per element */
        rc = eval_pipeline(c, &pipe, dot, &v);
        if (rc)
            goto range_out;
        size_t count = 0;
        if (v.kind == TV_LIST)
            count = v.l->n;
        else if (v.kind == TV_KV)
            count = v.kv.n;
        else if (v.kind == TV_DICT)
            count = v.d->n;
        else if (v.kind == TV_INT)
            count = v.i > 0 ? (size_t)v.i : 0;
        else if (v.kind != TV_NIL) {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            tv_print(c, &b, &v, false);
            rc = tt_errorf(c, "range can't iterate over %s", tn_buf_cstr(&b));
            tn_buf_free(&b);
            goto range_out;
        }
        for (size_t i = 0; i < count; i++) {
            if (++c->iters > TN_TMPL_MAX_ITERS) {
                rc = tt_rawerrorf(c, "template: more than %d range iterations", TN_TMPL_MAX_ITERS);
                goto range_out;
            }
            tv_t key, elem;
            if (v.kind == TV_LIST) {
                key = tv_int((int64_t)i);
                elem = v.l->v[i];
            } else if (v.kind == TV_KV) {
                key = tv_cstr(v.kv.v[i].name);
                elem = tv_cstr(v.kv.v[i].value);
            } else if (v.kind == TV_DICT) {
                key = tv_cstr(v.d->keys[i]);
                elem = v.d->vals[i];
            } else {
                key = elem = tv_int((int64_t)i);
            }
            if (n->pipe->ndecl == 1) {
                var_push(c, n->pipe->decl[0], elem);
            } else if (n->pipe->ndecl == 2) {
                var_push(c, n->pipe->decl[0], key);
                var_push(c, n->pipe->decl[1], elem);
            }
            rc = exec_list(c, n->list, &elem);
            c->nvars = mark;
            if (rc == EX_BREAK) {
                rc = 0;
                break;
            }
            if (rc == EX_CONTINUE)
                rc = 0;
            if (rc)
                goto range_out;
        }
        if (count == 0 && n->elist)
            rc = exec_list(c, n->elist, dot);
    range_out:
        c->nvars = mark;
        return rc;
    }
    case TN_TEMPLATE:
        return exec_template(c, n, dot);
    case TN_BREAK:
        return EX_BREAK;
    case TN_CONTINUE:
        return EX_CONTINUE;
    case TN_LIST:
        return exec_list(c, n, dot);
    default:
        return tt_errorf(c, "unknown node");
    }
}

static int exec_list(tt_ctx_t *c, const tt_node_t *list, const tv_t *dot)
{
    for (size_t i = 0; i < list->nkids; i++) {
        int rc = exec_node(c, list->kids[i], dot);
        if (rc)
            return rc;
    }
    return 0;
}

/* Route labels (Alertmanager's routeLabels): one resolver per top-level render, shared by the
 * renders of the labels it runs, so each label renders once and a label reached again while
 * it renders is reported as a cycle rather than recursing. */
typedef struct tt_rl {
    const char **names; /* memo: name -> rendered value (heap) */
    char **vals;
    size_t nmemo, memocap;
    const char **stack; /* labels being rendered */
    size_t nstack, stackcap;
} tt_rl_t;

typedef struct render_args {
    const tn_tmpl_t *t;
    const char *text;
    size_t len;
    const tn_notification_t *n;
    const tn_tmpl_data_t *data;
    const tv_t *dot; /* the value executed with; NULL: the data */
    unsigned flags;
    tn_buf_t *out;
    char *err;
    size_t errlen;
    tt_rl_t *rl; /* NULL: a top-level render */
    int depth;
} render_args_t;

static int render_with(const render_args_t *ra);

static void rl_free(tt_rl_t *rl)
{
    for (size_t i = 0; i < rl->nmemo; i++)
        free(rl->vals[i]);
    free(rl->names);
    free(rl->vals);
    free(rl->stack);
    free(rl);
}

int tt_route_label(tt_ctx_t *c, const char *name, size_t len, tv_t *out)
{
    *out = tv_cstr("");
    tn_labels_t ls = {NULL, 0};
    bool rendered = true;
    if (c->data && (!c->dot || c->dot->kind == TV_DATA)) {
        ls = c->data->route_labels;
        rendered = c->data->route_labels_rendered;
    } else if (c->n && (!c->dot || c->dot->kind == TV_DATA)) {
        ls = c->n->route_labels;
        rendered = !c->n->route_labels_raw;
    }
    const tn_label_t *l = NULL;
    for (size_t i = 0; i < ls.n && !l; i++)
        if (strlen(ls.v[i].name) == len && !memcmp(ls.v[i].name, name, len))
            l = &ls.v[i];
    if (!l)
        return 0;
    if (rendered) {
        *out = tv_cstr(l->value);
        return 0;
    }
    tt_rl_t *rl = c->rl;
    for (size_t i = 0; i < rl->nmemo; i++)
        if (rl->names[i] == l->name) {
            *out = tv_cstr(rl->vals[i]);
            return 0;
        }
    for (size_t i = 0; i < rl->nstack; i++)
        if (rl->stack[i] == l->name) {
            tn_buf_t b;
            tn_buf_init(&b, 0);
            for (size_t k = 0; k < rl->nstack; k++)
                tn_buf_printf(&b, "%s -> ", rl->stack[k]);
            tn_buf_puts(&b, l->name);
            int rc = tt_fail(c, "route label cycle detected: %s", tn_buf_cstr(&b));
            tn_buf_free(&b);
            return rc;
        }
    if (c->depth + 1 >= TN_TMPL_MAX_DEPTH)
        return tt_fail(c, "exceeded maximum template depth (%d)", TN_TMPL_MAX_DEPTH);
    if (rl->nstack == rl->stackcap) {
        rl->stackcap = rl->stackcap ? 2 * rl->stackcap : 8;
        rl->stack = tn_xrealloc(rl->stack, rl->stackcap * sizeof(*rl->stack));
    }
    rl->stack[rl->nstack++] = l->name;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    char err[TN_ERRBUF_SIZE];
    render_args_t ra = {.t = c->tmpl,
                        .text = l->value,
                        .len = strlen(l->value),
                        .n = c->n,
                        .data = c->data,
                        .dot = c->dot,
                        .flags = c->flags,
                        .out = &b,
                        .err = err,
                        .errlen = sizeof err,
                        .rl = rl,
                        .depth = c->depth + 1};
    int rc = render_with(&ra);
    rl->nstack--;
    if (rc) {
        tn_buf_free(&b);
        return tt_fail(c, "%s", err);
    }
    if (rl->nmemo == rl->memocap) {
        rl->memocap = rl->memocap ? 2 * rl->memocap : 8;
        rl->names = tn_xrealloc(rl->names, rl->memocap * sizeof(*rl->names));
        rl->vals = tn_xrealloc(rl->vals, rl->memocap * sizeof(*rl->vals));
    }
    rl->names[rl->nmemo] = l->name;
    rl->vals[rl->nmemo++] = tn_xstrndup(b.data ? b.data : "", b.len);
    *out = tt_buf_value(c, &b);
    tn_buf_free(&b);
    return 0;
}

static int render_with(const render_args_t *ra)
{
    if (!ra->text || !ra->len)
        return 0;
    tt_ctx_t *c = tn_xcalloc(1, sizeof(*c));
    c->tmpl = ra->t;
    c->n = ra->n;
    c->data = ra->data;
    c->dot = ra->dot;
    c->out = ra->out;
    c->out_limit = ra->out->len + TN_TMPL_MAX_OUTPUT;
    c->flags = ra->flags;
    c->err = ra->err;
    c->errlen = ra->errlen;
    c->tname = c->tfile = "";
    c->depth = ra->depth;
    c->rl = ra->rl ? ra->rl : tn_xcalloc(1, sizeof(tt_rl_t));
    char *err = ra->err;
    size_t errlen = ra->errlen;
    if (errlen)
        err[0] = 0;
    tt_def_t *defs = NULL;
    size_t ndefs = 0, cap = 0;
    tt_node_t *top = NULL;
    int rc = tt_parse(&c->arena, "", ra->text, ra->len, &defs, &ndefs, &cap, &top, err, errlen);
    if (rc == 0) {
        c->defs1 = defs;
        c->ndefs1 = ndefs;
        if (ra->t) {
            c->defs2 = ra->t->defs;
            c->ndefs2 = ra->t->ndefs;
        }
        tv_t dot = {.kind = TV_DATA, .sub = c->data ? TA_DATA : TA_NOTIF};
        if (ra->dot)
            dot = *ra->dot;
        var_push(c, "$", dot);
        rc = top ? exec_list(c, top, &dot) : 0;
        if (rc > 0)
            rc = 0;
        if (rc == 0 && !c->failed)
            rc = tt_html_end(c);
        if (c->failed && rc == 0)
            rc = TN_ERR_INVAL;
    }
    free(defs);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < c->ncommon[k]; i++) {
            tn_intern_unref(c->common[k][i].name);
            tn_intern_unref(c->common[k][i].value);
        }
        free(c->common[k]);
    }
    free(c->vnames);
    free(c->vvals);
    free(c->fnerr);
    if (!ra->rl)
        rl_free(c->rl);
    tt_zones_free(&c->zones);
    tt_arena_free(&c->arena);
    free(c);
    return rc < 0 ? rc : 0;
}

static int render(const tn_tmpl_t *t, const char *text, const struct tn_notification *n,
                  const tn_tmpl_data_t *data, unsigned flags, tn_buf_t *out, char *err,
                  size_t errlen)
{
    render_args_t ra = {.t = t,
                        .text = text,
                        .len = text ? strlen(text) : 0,
                        .n = n,
                        .data = data,
                        .flags = flags,
                        .out = out,
                        .err = err,
                        .errlen = errlen};
    return render_with(&ra);
}

int tt_render_value(const tn_tmpl_t *t, const char *text, const tv_t *dot,
                    const tn_tmpl_data_t *data, unsigned flags, tn_buf_t *out, char *err,
                    size_t errlen)
{
    render_args_t ra = {.t = t,
                        .text = text,
                        .len = text ? strlen(text) : 0,
                        .data = data,
                        .dot = dot,
                        .flags = flags,
                        .out = out,
                        .err = err,
                        .errlen = errlen};
    return render_with(&ra);
}

int tn_tmpl_render(const tn_tmpl_t *t, const char *text, const struct tn_notification *n,
                   unsigned flags, tn_buf_t *out, char *err, size_t errlen)
{
    return render(t, text, n, NULL, flags, out, err, errlen);
}

int tn_tmpl_render_data(const tn_tmpl_t *t, const char *text, const tn_tmpl_data_t *d,
                        unsigned flags, tn_buf_t *out, char *err, size_t errlen)
{
    return render(t, text, NULL, d, flags, out, err, errlen);
}

size_t tn_tmpl_render_route_labels(const tn_tmpl_t *t, const tn_notification_t *n, tn_label_t *out,
                                   tn_tmpl_label_err_fn on_err, void *ud)
{
    tn_notification_t raw = *n;
    raw.route_labels_raw = true;
    /* one resolver for all the labels: each renders once, and routeLabels inside a value
     * gets the other label's render */
    tt_rl_t *rl = tn_xcalloc(1, sizeof(*rl));
    size_t k = 0;
    for (size_t i = 0; i < raw.route_labels.n; i++) {
        const tn_label_t *l = &raw.route_labels.v[i];
        tn_buf_t b;
        tn_buf_init(&b, 0);
        char err[TN_ERRBUF_SIZE] = "";
        /* the label through routeLabels itself, so that it is memoised and on the stack */
        tn_buf_t call;
        tn_buf_init(&call, 0);
        tn_buf_puts(&call, "{{ routeLabels ");
        tn_go_quote(&call, l->name, strlen(l->name));
        tn_buf_puts(&call, " }}");
        render_args_t ra = {.t = t,
                            .text = tn_buf_cstr(&call),
                            .len = call.len,
                            .n = &raw,
                            .out = &b,
                            .err = err,
                            .errlen = sizeof err,
                            .rl = rl};
        if (render_with(&ra) == 0) {
            out[k].name = tn_intern_ref(l->name);
            out[k].value = tn_intern(b.data ? b.data : "", b.len);
            k++;
        } else if (on_err) {
            on_err(ud, l->name, l->value, err);
        }
        tn_buf_free(&call);
        tn_buf_free(&b);
    }
    rl_free(rl);
    return k;
}
