/* Template engine, part 3: the function table — Go's text/template built-ins and
 * Alertmanager's template functions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>

#include "template_internal.h"
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

static locale_t utf8_locale(void)
{
    static locale_t loc;
    static bool tried;
    if (!tried) {
        tried = true;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return loc;
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

static pcre2_match_context *re_mctx(void)
{
    static pcre2_match_context *m;
    if (!m) {
        m = pcre2_match_context_create(NULL);
        pcre2_set_match_limit(m, 1000000);
        pcre2_set_depth_limit(m, 10000);
    }
    return m;
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
    const char *s;
    size_t len;
    int rc = tv_want_str(c, &a[0], &s, &len);
    *out = tv_cstr(""); /* routes carry no labels in tocsin */
    return rc;
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

/* toDate / mustToDate: the RFC 3339 layouts only. */
static int parse_date(tt_ctx_t *c, tv_t *a, tv_t *out, bool must)
{
    const char *l, *s;
    size_t ln, sn;
    int rc = tv_want_str(c, &a[0], &l, &ln);
    if (rc || (rc = tv_want_str(c, &a[1], &s, &sn)))
        return rc;
    *out = (tv_t){.kind = TV_TIME};
    tn_time_t t;
    char buf[64];
    bool ok = false;
    if (sn < sizeof buf - 16) {
        memcpy(buf, s, sn);
        buf[sn] = 0;
        if (ln == 10 && !memcmp(l, "2006-01-02", 10) && sn == 10) {
            memcpy(buf + 10, "T00:00:00Z", 11);
            sn += 10;
        }
        ok = tn_time_parse_rfc3339(buf, sn, &t) == 0;
    }
    if (ok)
        out->tm.t = t;
    else if (must)
        return tt_fail(c, "parsing time \"%.*s\"", (int)TN_MIN(sn, 64), s);
    return 0;
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

static void json_time(tn_buf_t *b, tn_time_t t)
{
    char ts[40];
    tn_time_format_rfc3339nano(t, ts);
    tn_buf_putc(b, '"');
    tn_buf_puts(b, ts);
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
            /* Go writes e-07 as e-07, e+21 as e+21 */
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
        json_time(b, v->tm.t);
        return 0;
    case TV_KV:
        json_kv(b, v->kv);
        return 0;
    case TV_PAIR:
        tn_buf_puts(b, "{\"Name\":");
        tn_json_go_string(b, v->pair.name, strlen(v->pair.name));
        tn_buf_puts(b, ",\"Value\":");
        tn_json_go_string(b, v->pair.value, strlen(v->pair.value));
        return tn_buf_putc(b, '}');
    case TV_LIST:
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
    case TV_DATA:
        return tn_buf_puts(b, "{}");
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
