/* Template engine, part 3: the function table — Go's text/template built-ins and
 * Alertmanager's template functions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>

#include "template_internal.h"

#define GO_ZERO_UNIX_S INT64_C(-62135596800) /* Go's zero time, 0001-01-01 UTC */
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/timefmt.h"
#include "tocsin/timeinterval.h"

static tv_t buf_out(tt_ctx_t *c, tn_buf_t *b)
{
    tv_t v = tt_buf_value(c, b);
    tn_buf_free(b);
    return v;
}

/* Arguments of html/js/urlquery: one string as is, else fmt.Sprint of all. */
static void eval_args_str(tt_ctx_t *c, tv_t *a, size_t n, tn_buf_t *b)
{
    if (n == 1 && a[0].kind == TV_STR) {
        tn_buf_append(b, a[0].s.p, a[0].s.n);
        return;
    }
    /* text/template's evalArgs prints a nil argument as "<no value>" */
    for (size_t i = 0; i < n; i++)
        if (a[i].kind == TV_NIL)
            a[i] = tv_cstr("<no value>");
    tt_sprint(c, b, a, n, false);
}

/* ---- comparisons ---- */

enum { K_BAD, K_BOOL, K_INT, K_FLOAT, K_STR };
static int basic_kind(const tv_t *v)
{
    switch (v->kind) {
    case TV_BOOL:
        return K_BOOL;
    case TV_INT:
    case TV_DUR:
        return K_INT;
    case TV_FLOAT:
        return K_FLOAT;
    case TV_STR:
        return K_STR;
    default:
        return K_BAD;
    }
}

static int cmp_str(const tv_t *a, const tv_t *b)
{
    size_t n = TN_MIN(a->s.n, b->s.n);
    int r = n ? memcmp(a->s.p, b->s.p, n) : 0;
    if (r)
        return r;
    return a->s.n < b->s.n ? -1 : a->s.n > b->s.n;
}

/* Returns 0 and sets *eq / *lt, or an error. */
static int compare(tt_ctx_t *c, const tv_t *a, const tv_t *b, bool ordered, bool *eq, bool *lt)
{
    int ka = basic_kind(a), kb = basic_kind(b);
    *lt = false;
    if (ka == K_BAD || kb == K_BAD) {
        if (ordered)
            return tt_fail(c, "invalid type for comparison");
        if (a->kind == TV_NIL || b->kind == TV_NIL) {
            *eq = a->kind == b->kind;
            return 0;
        }
        if (a->kind == TV_TIME && b->kind == TV_TIME) {
            *eq = a->tm.t == b->tm.t && a->tm.zone == b->tm.zone;
            return 0;
        }
        if (a->kind == TV_PAIR && b->kind == TV_PAIR) {
            *eq = !strcmp(a->pair.name, b->pair.name) && !strcmp(a->pair.value, b->pair.value);
            return 0;
        }
        return tt_fail(c, "non-comparable type %s", tv_kind_name(ka == K_BAD ? a : b));
    }
    if (ka != kb)
        return tt_fail(c, "incompatible types for comparison");
    switch (ka) {
    case K_BOOL:
        if (ordered)
            return tt_fail(c, "invalid type for comparison");
        *eq = a->b == b->b;
        break;
    case K_INT:
        *eq = a->i == b->i;
        *lt = a->i < b->i;
        break;
    case K_FLOAT:
        *eq = a->f == b->f;
        *lt = a->f < b->f;
        break;
    case K_STR: {
        int r = cmp_str(a, b);
        *eq = r == 0;
        *lt = r < 0;
        break;
    }
    }
    return 0;
}

static int f_eq(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    if (n < 2)
        return tt_fail(c, "missing argument for comparison");
    for (size_t i = 1; i < n; i++) {
        bool eq = false, lt = false;
        int rc = compare(c, &a[0], &a[i], false, &eq, &lt);
        if (rc)
            return rc;
        if (eq) {
            *out = tv_bool(true);
            return 0;
        }
    }
    *out = tv_bool(false);
    return 0;
}

static int f_ne(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    bool eq = false, lt = false;
    int rc = compare(c, &a[0], &a[1], false, &eq, &lt);
    *out = tv_bool(!eq);
    return rc;
}

static int f_ord(tt_ctx_t *c, tv_t *a, int which, tv_t *out)
{
    bool eq = false, lt = false;
    int rc = compare(c, &a[0], &a[1], true, &eq, &lt);
    if (rc)
        return rc;
    switch (which) {
    case 0:
        *out = tv_bool(lt);
        break;
    case 1:
        *out = tv_bool(lt || eq);
        break;
    case 2:
        *out = tv_bool(!lt && !eq);
        break;
    default:
        *out = tv_bool(!lt);
        break;
    }
    return 0;
}
static int f_lt(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return f_ord(c, a, 0, out);
}
static int f_le(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return f_ord(c, a, 1, out);
}
static int f_gt(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return f_ord(c, a, 2, out);
}
static int f_ge(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return f_ord(c, a, 3, out);
}

/* ---- built-ins ---- */

static int f_not(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(c);
    TN_UNUSED(n);
    *out = tv_bool(!tv_truth(&a[0]));
    return 0;
}

static int f_len(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    switch (a[0].kind) {
    case TV_STR:
        *out = tv_int((int64_t)a[0].s.n);
        return 0;
    case TV_LIST:
        *out = tv_int((int64_t)a[0].l->n);
        return 0;
    case TV_KV:
        *out = tv_int((int64_t)a[0].kv.n);
        return 0;
    case TV_DICT:
        *out = tv_int((int64_t)a[0].d->n);
        return 0;
    case TV_NIL:
        return tt_fail(c, "len of nil pointer");
    default:
        return tt_fail(c, "len of type %s", tv_kind_name(&a[0]));
    }
}

static int want_index(tt_ctx_t *c, const tv_t *v, int64_t *i)
{
    if (v->kind != TV_INT)
        return tt_fail(c, "cannot index slice/array with type %s", tv_kind_name(v));
    *i = v->i;
    return 0;
}

static int f_index(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tv_t item = a[0];
    for (size_t k = 1; k < n; k++) {
        int64_t i = 0;
        int rc;
        switch (item.kind) {
        case TV_LIST:
            if ((rc = want_index(c, &a[k], &i)))
                return rc;
            if (i < 0 || (uint64_t)i >= item.l->n)
                return tt_fail(c, "index out of range: %lld", (long long)i);
            item = item.l->v[i];
            break;
        case TV_STR:
            if ((rc = want_index(c, &a[k], &i)))
                return rc;
            if (i < 0 || (uint64_t)i >= item.s.n)
                return tt_fail(c, "index out of range: %lld", (long long)i);
            item = tv_int((unsigned char)item.s.p[i]);
            break;
        case TV_KV:
        case TV_DICT: {
            if (a[k].kind != TV_STR)
                return tt_fail(c,
                               "value has type %s; should "
                               "be string",
                               tv_kind_name(&a[k]));
            char *key = tt_strndup(&c->arena, a[k].s.p, a[k].s.n);
            if (item.kind == TV_KV) {
                const char *v = tn_labels_get(item.kv, key);
                item = tv_cstr(v ? v : "");
            } else {
                tv_t found = {0};
                for (size_t j = 0; j < item.d->n; j++)
                    if (!strcmp(item.d->keys[j], key))
                        found = item.d->vals[j];
                item = found;
            }
            break;
        }
        case TV_NIL:
            return tt_fail(c, "index of untyped nil");
        default:
            return tt_fail(c, "can't index item of type %s", tv_kind_name(&item));
        }
    }
    *out = item;
    return 0;
}

static int f_slice(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tv_t item = a[0];
    size_t len;
    if (item.kind == TV_STR)
        len = item.s.n;
    else if (item.kind == TV_LIST)
        len = item.l->n;
    else
        return tt_fail(c, "can't slice item of type %s", tv_kind_name(&item));
    if (n > 4 || (n == 4 && item.kind == TV_STR))
        return tt_fail(c, "too many slice indexes: %zu", n - 1);
    int64_t idx[3] = {0, (int64_t)len, (int64_t)len};
    for (size_t k = 1; k < n; k++) {
        int rc = want_index(c, &a[k], &idx[k - 1]);
        if (rc)
            return rc;
        if (idx[k - 1] < 0 || (uint64_t)idx[k - 1] > len)
            return tt_fail(c, "index out of range: %lld", (long long)idx[k - 1]);
    }
    if (n < 3)
        idx[1] = (int64_t)len;
    if (idx[0] > idx[1])
        return tt_fail(c, "invalid slice index: %lld > %lld", (long long)idx[0], (long long)idx[1]);
    if (item.kind == TV_STR) {
        *out = tv_str(item.s.p + idx[0], (size_t)(idx[1] - idx[0]));
        out->sub = item.sub;
        return 0;
    }
    tv_t l = tv_list(c, (size_t)(idx[1] - idx[0]) + 1, item.sub);
    for (int64_t i = idx[0]; i < idx[1]; i++)
        tt_list_push(c, l.l, item.l->v[i]);
    *out = l;
    return 0;
}

static int f_print(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tt_sprint(c, &b, a, n, false);
    *out = buf_out(c, &b);
    return 0;
}

static int f_println(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tt_sprint(c, &b, a, n, true);
    *out = buf_out(c, &b);
    return 0;
}

static int f_printf(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    const char *f;
    size_t fl;
    int rc = tv_want_str(c, &a[0], &f, &fl);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tt_sprintf(c, &b, f, fl, a + 1, n - 1);
    *out = buf_out(c, &b);
    return 0;
}

static int f_html(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tn_buf_t in, b;
    tn_buf_init(&in, 0);
    tn_buf_init(&b, 0);
    eval_args_str(c, a, n, &in);
    for (size_t i = 0; i < in.len; i++) {
        switch (in.data[i]) {
        case '<':
            tn_buf_puts(&b, "&lt;");
            break;
        case '>':
            tn_buf_puts(&b, "&gt;");
            break;
        case '&':
            tn_buf_puts(&b, "&amp;");
            break;
        case '"':
            tn_buf_puts(&b, "&#34;");
            break;
        case '\'':
            tn_buf_puts(&b, "&#39;");
            break;
        case 0:
            tn_buf_puts(&b, "\xEF\xBF\xBD");
            break;
        default:
            tn_buf_putc(&b, in.data[i]);
        }
    }
    tn_buf_free(&in);
    *out = buf_out(c, &b);
    return 0;
}

static int f_js(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tn_buf_t in, b;
    tn_buf_init(&in, 0);
    tn_buf_init(&b, 0);
    eval_args_str(c, a, n, &in);
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = (unsigned char)in.data[i];
        switch (ch) {
        case '\\':
            tn_buf_puts(&b, "\\\\");
            break;
        case '\'':
            tn_buf_puts(&b, "\\'");
            break;
        case '"':
            tn_buf_puts(&b, "\\\"");
            break;
        case '<':
            tn_buf_puts(&b, "\\u003C");
            break;
        case '>':
            tn_buf_puts(&b, "\\u003E");
            break;
        case '&':
            tn_buf_puts(&b, "\\u0026");
            break;
        case '=':
            tn_buf_puts(&b, "\\u003D");
            break;
        default:
            if (ch < ' ')
                tn_buf_printf(&b, "\\u%04X", ch);
            else
                tn_buf_putc(&b, (char)ch);
        }
    }
    tn_buf_free(&in);
    *out = buf_out(c, &b);
    return 0;
}

/* Go's url.QueryEscape. */
static void query_escape(tn_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            tn_buf_putc(b, (char)ch);
        else if (ch == ' ')
            tn_buf_putc(b, '+');
        else
            tn_buf_printf(b, "%%%02X", ch);
    }
}

static int f_urlquery(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tn_buf_t in, b;
    tn_buf_init(&in, 0);
    tn_buf_init(&b, 0);
    eval_args_str(c, a, n, &in);
    query_escape(&b, in.data ? in.data : "", in.len);
    tn_buf_free(&in);
    *out = buf_out(c, &b);
    return 0;
}

static int f_call(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    TN_UNUSED(out);
    if (a[0].kind == TV_NIL)
        return tt_fail(c, "call of nil");
    return tt_fail(c, "non-function of type %s", tv_kind_name(&a[0]));
}

/* ---- strings ---- */

/* Set up once for every thread that renders (renders may run concurrently). */
static locale_t utf8_loc;
static void utf8_locale_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, utf8_locale_init);
    return utf8_loc;
}

/* Maps each code point through fn (towupper/towlower); mode 2 = title case words. */
static void case_map(tn_buf_t *b, const char *s, size_t n, int mode)
{
    locale_t loc = utf8_locale();
    bool in_word = false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tn_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) {
            tn_buf_putc(b, s[i]);
            i++;
            in_word = false;
            continue;
        }
        wint_t w = (wint_t)cp, r = w;
        bool alpha =
            loc ? iswalnum_l(w, loc) : (cp < 128 && ((cp | 32) - 'a' < 26 || cp - '0' < 10));
        if (mode == 0)
            r = loc ? towupper_l(w, loc) : (cp < 128 && cp - 'a' < 26 ? w - 32 : w);
        else if (mode == 1)
            r = loc ? towlower_l(w, loc) : (cp < 128 && cp - 'A' < 26 ? w + 32 : w);
        else {
            if (alpha && !in_word)
                r = loc ? towupper_l(w, loc) : (cp < 128 && cp - 'a' < 26 ? w - 32 : w);
            else if (alpha)
                r = loc ? towlower_l(w, loc) : (cp < 128 && cp - 'A' < 26 ? w + 32 : w);
            /* an apostrophe inside a word does not start a new one */
            in_word = alpha || (in_word && (cp == '\'' || cp == 0x2019));
        }
        if (r == w) {
            tn_buf_append(b, s + i, k);
        } else {
            char u[4];
            size_t m;
            uint32_t x = (uint32_t)r;
            if (x < 0x80)
                u[0] = (char)x, m = 1;
            else if (x < 0x800)
                u[0] = (char)(0xC0 | (x >> 6)), u[1] = (char)(0x80 | (x & 0x3F)), m = 2;
            else if (x < 0x10000)
                u[0] = (char)(0xE0 | (x >> 12)), u[1] = (char)(0x80 | ((x >> 6) & 0x3F)),
                u[2] = (char)(0x80 | (x & 0x3F)), m = 3;
            else
                u[0] = (char)(0xF0 | (x >> 18)), u[1] = (char)(0x80 | ((x >> 12) & 0x3F)),
                u[2] = (char)(0x80 | ((x >> 6) & 0x3F)), u[3] = (char)(0x80 | (x & 0x3F)), m = 4;
            tn_buf_append(b, u, m);
        }
        i += k;
    }
}

static int str_fn(tt_ctx_t *c, tv_t *a, int mode, tv_t *out)
{
    const char *s;
    size_t n;
    int rc = tv_want_str(c, &a[0], &s, &n);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    case_map(&b, s, n, mode);
    *out = buf_out(c, &b);
    return 0;
}

static int f_toUpper(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return str_fn(c, a, 0, out);
}
static int f_toLower(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return str_fn(c, a, 1, out);
}
/* Word-break classes of uncased runes as x/text/cases sees them: "mid" runes (MidLetter,
 * MidNumLet, Single_Quote) keep a word going unless doubled; letters, digits, ExtendNumLet
 * and marks keep it going; everything else breaks it. */
static bool title_mid(uint32_t cp)
{
    static const uint32_t mid[] = {':',    0xB7,   0x387,  0x55F,  0x5F4,  0x2027,
                                   0xFE13, 0xFE55, 0xFF1A, '.',    0x2018, 0x2019,
                                   0x2024, 0xFE52, 0xFF07, 0xFF0E, '\''};
    for (size_t i = 0; i < TN_ARRAY_LEN(mid); i++)
        if (cp == mid[i])
            return true;
    return false;
}

static bool title_nobreak(uint32_t cp, locale_t loc)
{
    if (cp == '_' || cp == 0x202F || cp == 0x203F || cp == 0x2040 || cp == 0x2054 || cp == 0xFE33 ||
        cp == 0xFE34 || (cp >= 0xFE4D && cp <= 0xFE4F) || cp == 0xFF3F)
        return true; /* ExtendNumLet */
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
        (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
        (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200C || cp == 0x200D || cp == 0xAD)
        return true; /* Extend, ZWJ, Format (the common ones) */
    if (cp < 128)
        return ((cp | 32) >= 'a' && (cp | 32) <= 'z') || (cp >= '0' && cp <= '9');
    return loc && iswalnum_l((wint_t)cp, loc);
}

/* Title case of the four Unicode digraphs that have one; towupper elsewhere. */
static uint32_t title_rune(uint32_t cp, locale_t loc)
{
    if (cp >= 0x1C4 && cp <= 0x1CC)
        return cp - (cp - 0x1C4) % 3 + 1;
    if (cp >= 0x1F1 && cp <= 0x1F3)
        return 0x1F2;
    if (cp < 128)
        return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    return loc ? (uint32_t)towupper_l((wint_t)cp, loc) : cp;
}

/* cases.Title(language.Und): the first cased letter of a word is title-cased and the rest of
 * the word lowered. Digits do not start a word ("3rd" -> "3Rd"), '_' does not end one, and a
 * single '.' or '\'' between letters does not either ("example.net" -> "Example.net"). */
static void title_case(tn_buf_t *b, const char *s, size_t n)
{
    locale_t loc = utf8_locale();
    bool mid_word = false, was_mid = false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tn_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) { /* invalid UTF-8 is copied and breaks the word */
            tn_buf_putc(b, s[i++]);
            mid_word = was_mid = false;
            continue;
        }
        bool is_mid = title_mid(cp);
        if (was_mid && is_mid)
            mid_word = false;
        uint32_t up = title_rune(cp, loc);
        uint32_t lo = cp < 128 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp)
                      : loc    ? (uint32_t)towlower_l((wint_t)cp, loc)
                               : cp;
        bool cased =
            up != cp || lo != cp ||
            (cp >= 128 && loc && (iswupper_l((wint_t)cp, loc) || iswlower_l((wint_t)cp, loc)));
        if (cased) {
            uint32_t r = mid_word ? lo : up;
            if (r == cp)
                tn_buf_append(b, s + i, k);
            else
                tn_utf8_put(b, r);
            mid_word = true;
        } else {
            tn_buf_append(b, s + i, k);
            if (!is_mid && !title_nobreak(cp, loc))
                mid_word = false;
        }
        was_mid = is_mid;
        i += k;
    }
}

static int f_title(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    title_case(&b, s, len);
    *out = buf_out(c, &b);
    return 0;
}

static int f_trimSpace(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    if (rc)
        return rc;
    while (len > 0 && strchr(" \t\n\v\f\r", *s) && *s)
        s++, len--;
    while (len > 0 && s[len - 1] && strchr(" \t\n\v\f\r", s[len - 1]))
        len--;
    *out = tv_str(s, len);
    return 0;
}

static int f_join(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *sep;
    size_t seplen;
    tt_list_t *l;
    int rc = tv_want_str(c, &a[0], &sep, &seplen);
    if (rc || (rc = tv_want_strlist(c, &a[1], &l)))
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            tn_buf_append(&b, sep, seplen);
        tn_buf_append(&b, l->v[i].s.p, l->v[i].s.n);
    }
    *out = buf_out(c, &b);
    return 0;
}

static int f_safeHtml(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    *out = tv_str(s, len);
    out->sub = TS_HTML;
    return rc;
}

static int f_safeUrl(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    *out = tv_str(s, len);
    out->sub = TS_URL;
    return rc;
}

static int hex1(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)(ch | 32);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int f_urlUnescape(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            tn_buf_putc(&b, ' ');
        } else if (s[i] == '%') {
            int hi = i + 2 < len + 0 ? hex1(s[i + 1]) : -1;
            int lo = i + 2 < len + 0 ? hex1(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                tn_buf_free(&b);
                return tt_fail(c,
                               "invalid URL escape "
                               "\"%.*s\"",
                               (int)TN_MIN(len - i, 3), s + i);
            }
            tn_buf_putc(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            tn_buf_putc(&b, s[i]);
        }
    }
    *out = buf_out(c, &b);
    return 0;
}

static bool is_word(unsigned char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

/* ---- regular expressions (PCRE2 standing in for Go's RE2 syntax) ---- */

/* Go's regexp/syntax wording of the commonest PCRE2 refusals. */
static const char *re_reason(int ec, const char *pcre_msg)
{
    switch (ec) {
    case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
        return "missing closing )";
    case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
        return "unexpected )";
    case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
        return "missing closing ]";
    case PCRE2_ERROR_END_BACKSLASH:
        return "trailing backslash at end of expression";
    default:
        return pcre_msg;
    }
}

/* must: regexp.MustCompile's panic wording, "regexp: Compile(`P`): ...". */
static pcre2_code *re_compile(tt_ctx_t *c, const char *p, size_t n, bool must)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, n, PCRE2_UTF, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof msg);
        const char *why = re_reason(ec, (const char *)msg);
        int k = (int)TN_MIN(n, 128);
        if (must && !memchr(p, '`', n))
            tt_fail(c, "regexp: Compile(`%.*s`): error parsing regexp: %s: `%.*s`", k, p, why, k,
                    p);
        else
            tt_fail(c, "error parsing regexp: %s: `%.*s`", why, k, p);
    }
    return re;
}

static pcre2_match_context *re_mctx_v;
static void re_mctx_init(void)
{
    re_mctx_v = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(re_mctx_v, 1000000);
    pcre2_set_depth_limit(re_mctx_v, 10000);
}

static pcre2_match_context *re_mctx(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, re_mctx_init);
    return re_mctx_v;
}

static int f_match(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *p, *s;
    size_t pn, sn;
    int rc = tv_want_str(c, &a[0], &p, &pn);
    if (rc || (rc = tv_want_str(c, &a[1], &s, &sn)))
        return rc;
    pcre2_code *re = re_compile(c, p, pn, false);
    if (!re)
        return TN_ERR_INVAL;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int r = pcre2_match(re, (PCRE2_SPTR)s, sn, 0, 0, md, re_mctx());
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (r < 0 && r != PCRE2_ERROR_NOMATCH)
        return tt_fail(c, "regexp match failed (%d)", r);
    *out = tv_bool(r >= 0);
    return 0;
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; a name is the longest run of letters,
 * digits and underscores; unknown groups expand to nothing. */
static void re_expand(tn_buf_t *b, pcre2_code *re, const char *subj, PCRE2_SIZE *ov, int ngroups,
                      const char *t, size_t tn)
{
    for (size_t i = 0; i < tn; i++) {
        if (t[i] != '$' || i + 1 >= tn) {
            tn_buf_putc(b, t[i]);
            continue;
        }
        if (t[i + 1] == '$') {
            tn_buf_putc(b, '$');
            i++;
            continue;
        }
        size_t start, end, next;
        if (t[i + 1] == '{') {
            start = i + 2;
            end = start;
            while (end < tn && (is_word((unsigned char)t[end])))
                end++;
            if (end == start || end >= tn || t[end] != '}') {
                tn_buf_putc(b, '$');
                continue;
            }
            next = end + 1;
        } else {
            start = i + 1;
            end = start;
            while (end < tn && is_word((unsigned char)t[end]))
                end++;
            if (end == start) {
                tn_buf_putc(b, '$');
                continue;
            }
            next = end;
        }
        int group = -1;
        bool digits = true;
        for (size_t k = start; k < end; k++)
            digits = digits && t[k] >= '0' && t[k] <= '9';
        if (digits) {
            long v = 0;
            for (size_t k = start; k < end && v < 100000; k++)
                v = v * 10 + (t[k] - '0');
            group = (int)v;
        } else {
            char name[64];
            if (end - start < sizeof name) {
                memcpy(name, t + start, end - start);
                name[end - start] = 0;
                group = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
                if (group < 0)
                    group = -1;
            }
        }
        if (group >= 0 && group < ngroups && ov[2 * group] != PCRE2_UNSET)
            tn_buf_append(b, subj + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
        i = next - 1;
    }
}

static int f_reReplaceAll(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *p, *r, *s;
    size_t pn, rn, sn;
    int rc = tv_want_str(c, &a[0], &p, &pn);
    if (rc || (rc = tv_want_str(c, &a[1], &r, &rn)) || (rc = tv_want_str(c, &a[2], &s, &sn)))
        return rc;
    pcre2_code *re = re_compile(c, p, pn, true);
    if (!re)
        return TN_ERR_INVAL;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    uint32_t ng;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &ng);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    size_t pos = 0, copied = 0;
    bool last_empty_at = false;
    size_t last_end = (size_t)-1;
    while (pos <= sn) {
        int m = pcre2_match(re, (PCRE2_SPTR)s, sn, pos, 0, md, re_mctx());
        if (m < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        /* as Go: an empty match right after the previous match is skipped */
        if (!(me == ms && ms == last_end)) {
            tn_buf_append(&b, s + copied, ms - copied);
            re_expand(&b, re, s, ov, (int)ng + 1, r, rn);
            copied = me;
        }
        last_end = me;
        if (me > ms) {
            pos = me;
        } else {
            /* advance one UTF-8 character */
            size_t k = pos + 1;
            while (k < sn && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++;
            pos = k;
        }
        TN_UNUSED(last_empty_at);
    }
    if (copied < sn)
        tn_buf_append(&b, s + copied, sn - copied);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    *out = buf_out(c, &b);
    return 0;
}

static int f_stringSlice(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tv_t l = tv_list(c, n, TL_STRSLICE);
    for (size_t i = 0; i < n; i++) {
        if (a[i].kind != TV_STR)
            return tt_fail(c, "expected string; found %s", tv_kind_name(&a[i]));
        tt_list_push(c, l.l, a[i]);
    }
    *out = l;
    return 0;
}

static int f_routeLabels(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return tt_route_label(c, a[0].s.p, a[0].s.n, out);
}

/* ---- time ---- */

static int want_time(tt_ctx_t *c, const tv_t *v)
{
    if (v->kind != TV_TIME)
        return tt_fail(c, "expected time.Time; found %s", tv_kind_name(v));
    return 0;
}

static int f_date(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *f;
    size_t fl;
    int rc = tv_want_str(c, &a[0], &f, &fl);
    if (rc || (rc = want_time(c, &a[1])))
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tt_time_format(c, &b, f, fl, &a[1]);
    *out = buf_out(c, &b);
    return 0;
}

static int f_tz(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *name;
    size_t nl;
    int rc = tv_want_str(c, &a[0], &name, &nl);
    if (rc || (rc = want_time(c, &a[1])))
        return rc;
    char *z = tt_strndup(&c->arena, name, nl);
    if (*z && strcmp(z, "UTC") && !tt_zone(c, z))
        return tt_fail(c, "unknown time zone %s", z);
    *out = a[1];
    out->tm.zone = (!*z || !strcmp(z, "UTC")) ? NULL : z;
    return 0;
}

static int f_now(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(c);
    TN_UNUSED(a);
    TN_UNUSED(n);
    *out = (tv_t){.kind = TV_TIME};
    out->tm.t = tn_clock_now();
    out->tm.zone = "Local";
    return 0;
}

static int f_since(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    int rc = want_time(c, &a[0]);
    if (rc)
        return rc;
    *out = (tv_t){.kind = TV_DUR};
    out->i = tn_clock_now() - a[0].tm.t;
    return 0;
}

static int f_humanizeDuration(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    double v;
    switch (a[0].kind) {
    case TV_FLOAT:
        v = a[0].f;
        break;
    case TV_INT:
        v = (double)a[0].i;
        break;
    case TV_DUR:
        v = (double)a[0].i / 1e9;
        break;
    case TV_STR: {
        char *s = tt_strndup(&c->arena, a[0].s.p, a[0].s.n), *end;
        v = strtod(s, &end);
        if (!*s || *end)
            return tt_fail(c,
                           "strconv.ParseFloat: "
                           "parsing \"%s\": invalid syntax",
                           s);
        break;
    }
    default:
        return tt_fail(c, "can't convert %s to float", tv_kind_name(&a[0]));
    }
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (isnan(v) || isinf(v)) {
        tn_buf_puts(&b, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0) {
        tn_buf_puts(&b, "0s");
    } else if (fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        v = fabs(v);
        /* Beyond int64 the conversion is undefined in C: clamp (such durations are nonsense). */
        int64_t d = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
        int64_t s = d % 60, m = d / 60 % 60, h = d / 3600 % 24, days = d / 86400;
        if (days)
            tn_buf_printf(&b, "%s%lldd %lldh %lldm %llds", sign, (long long)days, (long long)h,
                          (long long)m, (long long)s);
        else if (h)
            tn_buf_printf(&b, "%s%lldh %lldm %llds", sign, (long long)h, (long long)m,
                          (long long)s);
        else if (m)
            tn_buf_printf(&b, "%s%lldm %llds", sign, (long long)m, (long long)s);
        else
            tn_buf_printf(&b, "%s%.4gs", sign, v);
    } else {
        static const char *const pre[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
        const char *prefix = "";
        for (size_t i = 0; i < TN_ARRAY_LEN(pre) && fabs(v) < 1; i++) {
            prefix = pre[i];
            v *= 1000;
        }
        tn_buf_printf(&b, "%.4g%ss", v, prefix);
    }
    *out = buf_out(c, &b);
    return 0;
}

/* ---- Go's time.ParseInLocation(layout, value, time.UTC), for toDate / mustToDate ---- */

enum {
    P_NONE,
    P_LONGMONTH,
    P_MONTH,
    P_NUMMONTH,
    P_ZEROMONTH,
    P_LONGWEEKDAY,
    P_WEEKDAY,
    P_DAY,
    P_UNDERDAY,
    P_ZERODAY,
    P_UNDERYEARDAY,
    P_ZEROYEARDAY,
    P_HOUR,
    P_HOUR12,
    P_ZEROHOUR12,
    P_MINUTE,
    P_ZEROMINUTE,
    P_SECOND,
    P_ZEROSECOND,
    P_LONGYEAR,
    P_YEAR,
    P_PM,
    P_pm,
    P_TZ,
    P_ISO_SECONDS_TZ, /* Z070000 */
    P_ISO_TZ,         /* Z0700 */
    P_ISO_SHORT_TZ,   /* Z07 */
    P_ISO_COLON_TZ,   /* Z07:00 */
    P_ISO_COLON_SECONDS_TZ,
    P_NUM_TZ,
    P_NUM_SECONDS_TZ,
    P_NUM_SHORT_TZ,
    P_NUM_COLON_TZ,
    P_NUM_COLON_SECONDS_TZ,
    P_FRAC0, /* .000 */
    P_FRAC9, /* .999 */
};

static bool p_lower(const char *s, size_t n)
{
    return n > 0 && s[0] >= 'a' && s[0] <= 'z';
}

static bool p_digit(const char *s, size_t n, size_t i)
{
    return i < n && s[i] >= '0' && s[i] <= '9';
}

/* nextStdChunk: the first layout element of l[0..n) at *at, its length in *len; P_NONE when
 * there is none (*at = n). */
static int p_chunk(const char *l, size_t n, size_t *at, size_t *len, int *digits)
{
#define HAS(i, s) (n - (i) >= sizeof(s) - 1 && !memcmp(l + (i), s, sizeof(s) - 1))
#define RET(std, off, k)                                                                           \
    do {                                                                                           \
        *at = (off);                                                                               \
        *len = (k);                                                                                \
        return (std);                                                                              \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        switch (l[i]) {
        case 'J':
            if (HAS(i, "January"))
                RET(P_LONGMONTH, i, 7);
            if (HAS(i, "Jan") && !p_lower(l + i + 3, n - i - 3))
                RET(P_MONTH, i, 3);
            break;
        case 'M':
            if (HAS(i, "Monday"))
                RET(P_LONGWEEKDAY, i, 6);
            if (HAS(i, "Mon") && !p_lower(l + i + 3, n - i - 3))
                RET(P_WEEKDAY, i, 3);
            if (HAS(i, "MST"))
                RET(P_TZ, i, 3);
            break;
        case '0':
            if (i + 1 < n && l[i + 1] >= '1' && l[i + 1] <= '6') {
                static const int zx[] = {P_ZEROMONTH,  P_ZERODAY,    P_ZEROHOUR12,
                                         P_ZEROMINUTE, P_ZEROSECOND, P_YEAR};
                RET(zx[l[i + 1] - '1'], i, 2);
            }
            if (HAS(i, "002"))
                RET(P_ZEROYEARDAY, i, 3);
            break;
        case '1':
            if (HAS(i, "15"))
                RET(P_HOUR, i, 2);
            RET(P_NUMMONTH, i, 1);
        case '2':
            if (HAS(i, "2006"))
                RET(P_LONGYEAR, i, 4);
            RET(P_DAY, i, 1);
        case '_':
            if (HAS(i, "_2006"))
                RET(P_LONGYEAR, i + 1, 4); /* a literal '_' and the year */
            if (HAS(i, "_2"))
                RET(P_UNDERDAY, i, 2);
            if (HAS(i, "__2"))
                RET(P_UNDERYEARDAY, i, 3);
            break;
        case '3':
            RET(P_HOUR12, i, 1);
        case '4':
            RET(P_MINUTE, i, 1);
        case '5':
            RET(P_SECOND, i, 1);
        case 'P':
            if (HAS(i, "PM"))
                RET(P_PM, i, 2);
            break;
        case 'p':
            if (HAS(i, "pm"))
                RET(P_pm, i, 2);
            break;
        case '-':
            if (HAS(i, "-070000"))
                RET(P_NUM_SECONDS_TZ, i, 7);
            if (HAS(i, "-07:00:00"))
                RET(P_NUM_COLON_SECONDS_TZ, i, 9);
            if (HAS(i, "-0700"))
                RET(P_NUM_TZ, i, 5);
            if (HAS(i, "-07:00"))
                RET(P_NUM_COLON_TZ, i, 6);
            if (HAS(i, "-07"))
                RET(P_NUM_SHORT_TZ, i, 3);
            break;
        case 'Z':
            if (HAS(i, "Z070000"))
                RET(P_ISO_SECONDS_TZ, i, 7);
            if (HAS(i, "Z07:00:00"))
                RET(P_ISO_COLON_SECONDS_TZ, i, 9);
            if (HAS(i, "Z0700"))
                RET(P_ISO_TZ, i, 5);
            if (HAS(i, "Z07:00"))
                RET(P_ISO_COLON_TZ, i, 6);
            if (HAS(i, "Z07"))
                RET(P_ISO_SHORT_TZ, i, 3);
            break;
        case '.':
        case ',':
            if (i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
                size_t j = i + 1;
                while (j < n && l[j] == l[i + 1])
                    j++;
                if (!p_digit(l, n, j)) {
                    *digits = (int)(j - i - 1);
                    RET(l[i + 1] == '0' ? P_FRAC0 : P_FRAC9, i, j - i);
                }
            }
            break;
        }
    }
    *at = n;
    *len = 0;
    return P_NONE;
#undef HAS
#undef RET
}

/* getnum / getnum3: 1-2 (3) digits, exactly 2 (3) when fixed. */
static bool p_num(const char **v, size_t *vn, bool fixed, int max, int *out)
{
    const char *s = *v;
    size_t n = *vn;
    int k = 0, x = 0;
    while (k < max && p_digit(s, n, (size_t)k))
        x = x * 10 + (s[k++] - '0');
    if (k == 0 || (fixed && k < max))
        return false;
    *out = x;
    *v += k;
    *vn -= (size_t)k;
    return true;
}

static bool p_lookup(const char *const *tab, size_t ntab, size_t cut, const char **v, size_t *vn,
                     int *out)
{
    for (size_t i = 0; i < ntab; i++) {
        size_t k = cut ? cut : strlen(tab[i]);
        if (*vn >= k && !strncasecmp(*v, tab[i], k)) {
            *out = (int)i;
            *v += k;
            *vn -= k;
            return true;
        }
    }
    return false;
}

/* The time package's quote(). */
static void p_quote(tn_buf_t *b, const char *s, size_t n)
{
    tn_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80 || ch < ' ')
            tn_buf_printf(b, "\\x%02x", ch);
        else {
            if (ch == '"' || ch == '\\')
                tn_buf_putc(b, '\\');
            tn_buf_putc(b, (char)ch);
        }
    }
    tn_buf_putc(b, '"');
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool p_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int p_days_in(int m, int y)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && p_leap(y) ? 29 : d[m - 1];
}

/* Fills *out (a time.Time) or writes Go's ParseError text into err. */
static bool go_time_parse(tt_ctx_t *c, const char *layout, size_t ln, const char *value, size_t vn,
                          tv_t *out, tn_buf_t *err)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    const char *l = layout, *v = value;
    size_t lnr = ln, vnr = vn;
    int year = 0, month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0, nsec = 0;
    int zoff = 0;
    bool have_off = false, am = false, pm = false;
    const char *range = NULL;
    for (;;) {
        size_t at, clen;
        int digits = 0;
        int std = p_chunk(l, lnr, &at, &clen, &digits);
        /* skip the literal prefix: a space matches any run of spaces */
        const char *pre = l;
        size_t pn = at;
        while (pn > 0) {
            if (pre[0] == ' ') {
                if (vnr > 0 && v[0] != ' ')
                    break;
                while (pn > 0 && pre[0] == ' ')
                    pre++, pn--;
                while (vnr > 0 && v[0] == ' ')
                    v++, vnr--;
                continue;
            }
            if (vnr == 0 || v[0] != pre[0])
                break;
            pre++, pn--, v++, vnr--;
        }
        if (pn > 0) {
            tn_buf_puts(err, "parsing time ");
            p_quote(err, value, vn);
            tn_buf_puts(err, " as ");
            p_quote(err, layout, ln);
            tn_buf_puts(err, ": cannot parse ");
            p_quote(err, v, vnr);
            tn_buf_puts(err, " as ");
            p_quote(err, l, at);
            return false;
        }
        if (std == P_NONE) {
            if (vnr) {
                tn_buf_puts(err, "parsing time ");
                p_quote(err, value, vn);
                tn_buf_puts(err, ": extra text: ");
                p_quote(err, v, vnr);
                return false;
            }
            break;
        }
        const char *elem = l + at;
        l += at + clen;
        lnr -= at + clen;
        const char *hold = v;
        size_t holdn = vnr;
        bool ok = true;
        int x;
        switch (std) {
        case P_YEAR:
            ok = vnr >= 2 && p_digit(v, vnr, 0) && p_digit(v, vnr, 1);
            if (ok) {
                year = (v[0] - '0') * 10 + (v[1] - '0');
                year += year >= 69 ? 1900 : 2000;
                v += 2, vnr -= 2;
            }
            break;
        case P_LONGYEAR:
            ok = vnr >= 4;
            for (int k = 0; ok && k < 4; k++)
                ok = p_digit(v, vnr, (size_t)k);
            if (ok) {
                year = atoi(tt_strndup(&c->arena, v, 4));
                v += 4, vnr -= 4;
            }
            break;
        case P_MONTH:
        case P_LONGMONTH:
            ok = p_lookup(months, 12, std == P_MONTH ? 3 : 0, &v, &vnr, &month);
            month++;
            break;
        case P_NUMMONTH:
        case P_ZEROMONTH:
            ok = p_num(&v, &vnr, std == P_ZEROMONTH, 2, &month);
            if (ok && (month <= 0 || month > 12))
                range = "month";
            break;
        case P_WEEKDAY:
        case P_LONGWEEKDAY:
            ok = p_lookup(days, 7, std == P_WEEKDAY ? 3 : 0, &v, &vnr, &x);
            break;
        case P_DAY:
        case P_UNDERDAY:
        case P_ZERODAY:
            if (std == P_UNDERDAY && vnr > 0 && v[0] == ' ')
                v++, vnr--;
            ok = p_num(&v, &vnr, std == P_ZERODAY, 2, &day);
            break;
        case P_UNDERYEARDAY:
        case P_ZEROYEARDAY:
            for (int k = 0; k < 2 && std == P_UNDERYEARDAY; k++)
                if (vnr > 0 && v[0] == ' ')
                    v++, vnr--;
            ok = p_num(&v, &vnr, std == P_ZEROYEARDAY, 3, &yday);
            break;
        case P_HOUR:
            ok = p_num(&v, &vnr, false, 2, &hour);
            if (hour < 0 || hour >= 24)
                range = "hour";
            break;
        case P_HOUR12:
        case P_ZEROHOUR12:
            ok = p_num(&v, &vnr, std == P_ZEROHOUR12, 2, &hour);
            if (hour < 0 || hour > 12)
                range = "hour";
            break;
        case P_MINUTE:
        case P_ZEROMINUTE:
            ok = p_num(&v, &vnr, std == P_ZEROMINUTE, 2, &min);
            if (min < 0 || min >= 60)
                range = "minute";
            break;
        case P_SECOND:
        case P_ZEROSECOND:
            ok = p_num(&v, &vnr, std == P_ZEROSECOND, 2, &sec);
            if (!ok)
                break;
            if (sec < 0 || sec >= 60) {
                range = "second";
                break;
            }
            /* a fraction the layout does not name is read anyway */
            if (vnr >= 2 && (v[0] == '.' || v[0] == ',') && p_digit(v, vnr, 1)) {
                size_t a2, l2;
                int d2 = 0;
                int next = p_chunk(l, lnr, &a2, &l2, &d2);
                if (!((next == P_FRAC0 || next == P_FRAC9) && a2 == 0)) {
                    size_t k = 2;
                    while (p_digit(v, vnr, k))
                        k++;
                    int64_t ns = 0;
                    for (size_t q = 1; q < 10; q++)
                        ns = ns * 10 + (q < k ? v[q] - '0' : 0);
                    nsec = (int)ns;
                    v += k, vnr -= k;
                }
            }
            break;
        case P_PM:
        case P_pm:
            ok = vnr >= 2;
            if (ok) {
                bool up = std == P_PM;
                if (!strncmp(v, up ? "PM" : "pm", 2))
                    pm = true;
                else if (!strncmp(v, up ? "AM" : "am", 2))
                    am = true;
                else
                    ok = false;
                if (ok)
                    v += 2, vnr -= 2;
            }
            break;
        case P_FRAC0:
        case P_FRAC9: {
            size_t k;
            if (std == P_FRAC0) {
                k = 1 + (size_t)digits;
                ok = vnr >= k && (v[0] == '.' || v[0] == ',');
                for (size_t q = 1; ok && q < k; q++)
                    ok = p_digit(v, vnr, q);
            } else {
                if (vnr < 2 || (v[0] != '.' && v[0] != ',') || !p_digit(v, vnr, 1))
                    break; /* omitted */
                k = 1;
                while (p_digit(v, vnr, k))
                    k++;
            }
            if (ok) {
                int64_t ns = 0;
                for (size_t q = 1; q < 10; q++)
                    ns = ns * 10 + (q < k ? v[q] - '0' : 0);
                nsec = (int)ns;
                v += k, vnr -= k;
            }
            break;
        }
        case P_TZ:
            if (vnr >= 3 && !memcmp(v, "UTC", 3)) {
                v += 3, vnr -= 3;
                have_off = true;
                zoff = 0;
                break;
            } else {
                /* three to five upper-case letters (four or five ending in T), or GMT+h */
                size_t k = 0;
                while (k < vnr && k < 6 && v[k] >= 'A' && v[k] <= 'Z')
                    k++;
                if (vnr >= 3 && !memcmp(v, "GMT", 3)) {
                    k = 3;
                    if (k < vnr && (v[k] == '+' || v[k] == '-') && p_digit(v, vnr, k + 1)) {
                        size_t e = k + 1;
                        int h = 0;
                        while (p_digit(v, vnr, e))
                            h = h * 10 + (v[e++] - '0');
                        if (h <= 23) {
                            zoff = (v[k] == '-' ? -h : h) * 3600;
                            have_off = true;
                            k = e;
                        }
                    }
                } else if (vnr >= 4 && (!memcmp(v, "ChST", 4) || !memcmp(v, "MeST", 4))) {
                    k = 4;
                } else if (k == 5   ? v[4] != 'T'
                           : k == 4 ? v[3] != 'T' && memcmp(v, "WITA", 4)
                                    : k != 3) {
                    ok = false;
                }
                if (ok)
                    v += k, vnr -= k; /* a zone name alone: its offset is unknown, so UTC */
            }
            break;
        default: { /* numeric zone offsets */
            bool iso = std >= P_ISO_SECONDS_TZ && std <= P_ISO_COLON_SECONDS_TZ;
            if (iso && vnr >= 1 && v[0] == 'Z') {
                v++, vnr--;
                have_off = true;
                zoff = 0;
                break;
            }
            bool colon = std == P_ISO_COLON_TZ || std == P_NUM_COLON_TZ;
            bool colsec = std == P_ISO_COLON_SECONDS_TZ || std == P_NUM_COLON_SECONDS_TZ;
            bool sec7 = std == P_ISO_SECONDS_TZ || std == P_NUM_SECONDS_TZ;
            bool shrt = std == P_ISO_SHORT_TZ || std == P_NUM_SHORT_TZ;
            size_t need = colon ? 6 : colsec ? 9 : sec7 ? 7 : shrt ? 3 : 5;
            if (vnr < need || (colon && v[3] != ':') || (colsec && (v[3] != ':' || v[6] != ':'))) {
                ok = false;
                break;
            }
            const char *hh = v + 1, *mm = colon || colsec ? v + 4 : v + 3,
                       *ss = colsec ? v + 7 : v + 5;
            int h2 = 0, m2 = 0, s2 = 0;
            const char *p;
            size_t pnn = 2;
            p = hh;
            ok = p_num(&p, &pnn, true, 2, &h2);
            if (ok && !shrt) {
                p = mm, pnn = 2;
                ok = p_num(&p, &pnn, true, 2, &m2);
            }
            if (ok && (colsec || sec7)) {
                p = ss, pnn = 2;
                ok = p_num(&p, &pnn, true, 2, &s2);
            }
            if (h2 > 24)
                range = "time zone offset hour";
            if (m2 > 60)
                range = "time zone offset minute";
            if (s2 > 60)
                range = "time zone offset second";
            zoff = (h2 * 60 + m2) * 60 + s2;
            if (v[0] == '-')
                zoff = -zoff;
            else if (v[0] != '+')
                ok = false;
            have_off = true;
            v += need, vnr -= need;
            break;
        }
        }
        if (range) {
            tn_buf_puts(err, "parsing time ");
            p_quote(err, value, vn);
            tn_buf_printf(err, ": %s out of range", range);
            return false;
        }
        if (!ok) {
            tn_buf_puts(err, "parsing time ");
            p_quote(err, value, vn);
            tn_buf_puts(err, " as ");
            p_quote(err, layout, ln);
            tn_buf_puts(err, ": cannot parse ");
            p_quote(err, hold, holdn);
            tn_buf_puts(err, " as ");
            p_quote(err, elem, clen);
            return false;
        }
    }
    if (pm && hour < 12)
        hour += 12;
    else if (am && hour == 12)
        hour = 0;
    const char *msg = NULL;
    if (yday >= 0) {
        int m = 0, d = 0, yd = yday;
        if (p_leap(year)) {
            if (yd == 31 + 29)
                m = 2, d = 29;
            else if (yd > 31 + 29)
                yd--;
        }
        if (yd < 1 || yd > 365) {
            msg = "day-of-year out of range";
        } else {
            if (m == 0) {
                static const int before[] = {0,   31,  59,  90,  120, 151, 181,
                                             212, 243, 273, 304, 334, 365};
                m = (yd - 1) / 31 + 1;
                if (before[m] < yd)
                    m++;
                d = yd - before[m - 1];
            }
            if (month >= 0 && month != m)
                msg = "day-of-year does not match month";
            else if (day >= 0 && day != d)
                msg = "day-of-year does not match day";
            month = m;
            day = d;
        }
    } else {
        if (month < 0)
            month = 1;
        if (day < 0)
            day = 1;
    }
    if (!msg && (day < 1 || day > p_days_in(month, year)))
        msg = "day out of range";
    if (msg) {
        tn_buf_puts(err, "parsing time ");
        p_quote(err, value, vn);
        tn_buf_printf(err, ": %s", msg);
        return false;
    }
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    if (have_off)
        secs -= zoff;
    *out = (tv_t){.kind = TV_TIME};
    if (secs == GO_ZERO_UNIX_S && nsec == 0 && !zoff)
        return true; /* Go's zero time */
    if (secs <= INT64_MIN / TN_NS_PER_SEC + 1 || secs >= INT64_MAX / TN_NS_PER_SEC - 1) {
        tn_buf_puts(err, "parsing time ");
        p_quote(err, value, vn);
        tn_buf_puts(err, ": year outside tocsin's time range (1678-2262)");
        return false;
    }
    out->tm.t = secs * TN_NS_PER_SEC + nsec;
    if (have_off && zoff) {
        char z[24];
        snprintf(z, sizeof z, "=%d", zoff);
        out->tm.zone = tt_strndup(&c->arena, z, strlen(z));
    }
    return true;
}

/* toDate / mustToDate: Go's time.ParseInLocation with UTC; toDate gives the zero time on
 * failure. */
static int parse_date(tt_ctx_t *c, tv_t *a, tv_t *out, bool must)
{
    tn_buf_t err;
    tn_buf_init(&err, 0);
    bool ok = go_time_parse(c, a[0].s.p, a[0].s.n, a[1].s.p, a[1].s.n, out, &err);
    int rc = 0;
    if (!ok) {
        *out = (tv_t){.kind = TV_TIME};
        if (must)
            rc = tt_fail(c, "%s", tn_buf_cstr(&err));
    }
    tn_buf_free(&err);
    return rc;
}
static int f_toDate(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return parse_date(c, a, out, false);
}
static int f_mustToDate(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    return parse_date(c, a, out, true);
}

/* ---- JSON (Go's encoding/json of the template values) ---- */

static void json_kv(tn_buf_t *b, tn_labels_t kv)
{
    tn_buf_putc(b, '{');
    for (size_t i = 0; i < kv.n; i++) {
        if (i)
            tn_buf_putc(b, ',');
        tn_json_go_string(b, kv.v[i].name, strlen(kv.v[i].name));
        tn_buf_putc(b, ':');
        tn_json_go_string(b, kv.v[i].value, strlen(kv.v[i].value));
    }
    tn_buf_putc(b, '}');
}

/* time.Time's MarshalJSON: RFC 3339 with nanoseconds, in the time's zone. */
static void json_time(tt_ctx_t *c, tn_buf_t *b, const tv_t *t)
{
    static const char layout[] = "2006-01-02T15:04:05.999999999Z07:00";
    tn_buf_putc(b, '"');
    tt_time_format(c, b, layout, sizeof layout - 1, t);
    tn_buf_putc(b, '"');
}

int tt_json(tt_ctx_t *c, tn_buf_t *b, const tv_t *v)
{
    switch (v->kind) {
    case TV_NIL:
        return tn_buf_puts(b, "null");
    case TV_BOOL:
        return tn_buf_puts(b, v->b ? "true" : "false");
    case TV_INT:
    case TV_DUR:
        return tn_buf_printf(b, "%lld", (long long)v->i);
    case TV_FLOAT: {
        if (isnan(v->f) || isinf(v->f))
            return tt_fail(c, "json: unsupported value");
        double a = fabs(v->f);
        char tmp[64];
        int p;
        for (p = 1; p <= 17; p++) {
            snprintf(tmp, sizeof tmp, "%.*g", p, v->f);
            if (strtod(tmp, NULL) == v->f)
                break;
        }
        if (a != 0 && (a < 1e-6 || a >= 1e21)) {
            snprintf(tmp, sizeof tmp, "%.*e", p - 1, v->f);
            /* encoding/json shortens e-07 to e-7 (and keeps e+21) */
            size_t tl = strlen(tmp);
            if (tl >= 4 && tmp[tl - 4] == 'e' && tmp[tl - 3] == '-' && tmp[tl - 2] == '0') {
                tmp[tl - 2] = tmp[tl - 1];
                tmp[tl - 1] = 0;
            }
        } else {
            snprintf(tmp, sizeof tmp, "%.*g", p, v->f);
            if (strchr(tmp, 'e')) {
                int digits = p;
                char *e = strchr(tmp, 'e');
                int exp = atoi(e + 1);
                int dec = digits - 1 - exp;
                snprintf(tmp, sizeof tmp, "%.*f", dec < 0 ? 0 : dec, v->f);
            }
        }
        return tn_buf_puts(b, tmp);
    }
    case TV_STR:
        return tn_json_go_string(b, v->s.p, v->s.n);
    case TV_TIME:
        json_time(c, b, v);
        return 0;
    case TV_LOC:
        return tn_buf_puts(b, "{}");
    case TV_KV:
        if (v->sub == TK_NIL)
            return tn_buf_puts(b, "null");
        json_kv(b, v->kv);
        return 0;
    case TV_PAIR:
        tn_buf_puts(b, "{\"Name\":");
        tn_json_go_string(b, v->pair.name, strlen(v->pair.name));
        tn_buf_puts(b, ",\"Value\":");
        tn_json_go_string(b, v->pair.value, strlen(v->pair.value));
        return tn_buf_putc(b, '}');
    case TV_LIST:
        if (v->l->nil)
            return tn_buf_puts(b, "null");
        tn_buf_putc(b, '[');
        for (size_t i = 0; i < v->l->n; i++) {
            if (i)
                tn_buf_putc(b, ',');
            tt_json(c, b, &v->l->v[i]);
        }
        return tn_buf_putc(b, ']');
    case TV_DICT:
        tn_buf_putc(b, '{');
        for (size_t i = 0; i < v->d->n; i++) {
            if (i)
                tn_buf_putc(b, ',');
            tn_json_go_string(b, v->d->keys[i], strlen(v->d->keys[i]));
            tn_buf_putc(b, ':');
            tt_json(c, b, &v->d->vals[i]);
        }
        return tn_buf_putc(b, '}');
    case TV_ALERT: {
        static const char *const f[] = {"Status", "Labels",       "Annotations", "StartsAt",
                                        "EndsAt", "GeneratorURL", "Fingerprint"};
        static const char *const k[] = {"status", "labels",       "annotations", "startsAt",
                                        "endsAt", "generatorURL", "fingerprint"};
        tn_buf_putc(b, '{');
        for (size_t i = 0; i < TN_ARRAY_LEN(f); i++) {
            bool ok;
            tv_t fv = tt_alert_field(c, v, f[i], &ok);
            tn_buf_printf(b, "%s\"%s\":", i ? "," : "", k[i]);
            tt_json(c, b, &fv);
        }
        return tn_buf_putc(b, '}');
    }
    case TV_DATA: {
        static const char *const f[] = {"Receiver",           "Status",      "Alerts",
                                        "NotificationReason", "GroupLabels", "CommonLabels",
                                        "CommonAnnotations",  "RouteLabels", "ExternalURL"};
        static const char *const k[] = {"receiver",
                                        "status",
                                        "alerts",
                                        "notification_reason",
                                        "groupLabels",
                                        "commonLabels",
                                        "commonAnnotations",
                                        "routeLabels",
                                        "externalURL"};
        tn_buf_putc(b, '{');
        for (size_t i = 0; i < TN_ARRAY_LEN(f); i++) {
            bool ok;
            tv_t fv = tt_data_field(c, f[i], &ok);
            tn_buf_printf(b, "%s\"%s\":", i ? "," : "", k[i]);
            tt_json(c, b, &fv);
        }
        return tn_buf_putc(b, '}');
    }
    }
    return 0;
}

static int f_toJson(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    int rc = tt_json(c, &b, &a[0]);
    *out = buf_out(c, &b);
    return rc;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int f_base64encode(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)u[i + 1] << 8;
        if (i + 2 < len)
            v |= u[i + 2];
        tn_buf_putc(&b, b64url[v >> 18]);
        tn_buf_putc(&b, b64url[(v >> 12) & 63]);
        tn_buf_putc(&b, i + 1 < len ? b64url[(v >> 6) & 63] : '=');
        tn_buf_putc(&b, i + 2 < len ? b64url[v & 63] : '=');
    }
    *out = buf_out(c, &b);
    return 0;
}

static int f_base64decode(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    TN_UNUSED(n);
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    if (rc)
        return rc;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    uint32_t acc = 0;
    int bits = 0;
    size_t i;
    for (i = 0; i < len && s[i] != '='; i++) {
        const char *p = memchr(b64url, s[i], 64);
        if (!p || !s[i]) {
            tn_buf_free(&b);
            return tt_fail(c, "illegal base64 data at input byte %zu", i);
        }
        acc = (acc << 6) | (uint32_t)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            tn_buf_putc(&b, (char)((acc >> bits) & 0xFF));
        }
    }
    if (len % 4 != 0) {
        tn_buf_free(&b);
        return tt_fail(c, "illegal base64 data at input byte %zu", len - len % 4);
    }
    *out = buf_out(c, &b);
    return 0;
}

/* ---- list, append, dict ---- */

static int f_list(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    tv_t l = tv_list(c, n, TL_ANY);
    for (size_t i = 0; i < n; i++)
        tt_list_push(c, l.l, a[i]);
    *out = l;
    return 0;
}

static int f_append(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    if (a[0].kind != TV_LIST || a[0].sub != TL_ANY) {
        if (a[0].kind != TV_NIL)
            return tt_fail(c,
                           "wrong type for value; expected "
                           "[]interface {}; got %s",
                           tv_kind_name(&a[0]));
    }
    size_t have = a[0].kind == TV_LIST ? a[0].l->n : 0;
    tv_t l = tv_list(c, have + n, TL_ANY);
    for (size_t i = 0; i < have; i++)
        tt_list_push(c, l.l, a[0].l->v[i]);
    for (size_t i = 1; i < n; i++)
        tt_list_push(c, l.l, a[i]);
    *out = l;
    return 0;
}

static int f_dict(tt_ctx_t *c, tv_t *a, size_t n, tv_t *out)
{
    if (n % 2)
        return tt_fail(c, "dict requires an even number of "
                          "arguments");
    tt_dict_t *d = tt_alloc(&c->arena, sizeof(*d));
    d->keys = tt_alloc(&c->arena, (n / 2 + 1) * sizeof(char *));
    d->vals = tt_alloc(&c->arena, (n / 2 + 1) * sizeof(tv_t));
    for (size_t i = 0; i < n; i += 2) {
        if (a[i].kind != TV_STR)
            return tt_fail(c, "dict keys must be strings");
        const char *k = tt_strndup(&c->arena, a[i].s.p, a[i].s.n);
        /* keep keys sorted (Go prints and ranges maps in key order); later keys replace */
        size_t at = 0;
        while (at < d->n && strcmp(d->keys[at], k) < 0)
            at++;
        if (at < d->n && !strcmp(d->keys[at], k)) {
            d->vals[at] = a[i + 1];
            continue;
        }
        memmove(d->keys + at + 1, d->keys + at, (d->n - at) * sizeof(char *));
        memmove(d->vals + at + 1, d->vals + at, (d->n - at) * sizeof(tv_t));
        d->keys[at] = k;
        d->vals[at] = a[i + 1];
        d->n++;
    }
    *out = (tv_t){.kind = TV_DICT};
    out->d = d;
    return 0;
}

/* ---- the table ---- */

static const tt_func_t tt_funcs[] = {
    {"and", NULL, "vv*"},
    {"or", NULL, "vv*"},
    {"not", f_not, "v"},
    {"len", f_len, "v"},
    {"index", f_index, "vv*"},
    {"slice", f_slice, "vv*"},
    {"eq", f_eq, "vv*"},
    {"ne", f_ne, "vv"},
    {"lt", f_lt, "vv"},
    {"le", f_le, "vv"},
    {"gt", f_gt, "vv"},
    {"ge", f_ge, "vv"},
    {"print", f_print, "a*"},
    {"printf", f_printf, "sa*"},
    {"println", f_println, "a*"},
    {"urlquery", f_urlquery, "a*"},
    {"html", f_html, "a*"},
    {"js", f_js, "a*"},
    {"call", f_call, "vv*"},
    {"toUpper", f_toUpper, "s"},
    {"toLower", f_toLower, "s"},
    {"title", f_title, "s"},
    {"trimSpace", f_trimSpace, "s"},
    {"join", f_join, "sS"},
    {"match", f_match, "ss"},
    {"safeHtml", f_safeHtml, "s"},
    {"safeUrl", f_safeUrl, "s"},
    {"urlUnescape", f_urlUnescape, "s"},
    {"reReplaceAll", f_reReplaceAll, "sss"},
    {"stringSlice", f_stringSlice, "s*"},
    {"routeLabels", f_routeLabels, "s"},
    {"date", f_date, "st"},
    {"tz", f_tz, "st"},
    {"now", f_now, ""},
    {"since", f_since, "t"},
    {"humanizeDuration", f_humanizeDuration, "a"},
    {"toDate", f_toDate, "ss"},
    {"mustToDate", f_mustToDate, "ss"},
    {"toJson", f_toJson, "a"},
    {"base64encode", f_base64encode, "s"},
    {"base64decode", f_base64decode, "s"},
    {"list", f_list, "a*"},
    {"append", f_append, "La*"},
    {"dict", f_dict, "a*"},
};

const tt_func_t *tt_func_find(const char *name)
{
    for (size_t i = 0; i < TN_ARRAY_LEN(tt_funcs); i++)
        if (!strcmp(tt_funcs[i].name, name))
            return tt_funcs[i].fn ? &tt_funcs[i] : NULL;
    return NULL;
}

bool tt_func_exists(const char *name)
{
    for (size_t i = 0; i < TN_ARRAY_LEN(tt_funcs); i++)
        if (!strcmp(tt_funcs[i].name, name))
            return true;
    return false;
}
