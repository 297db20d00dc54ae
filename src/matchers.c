/* Label matchers: parsing the common textual forms, Alertmanager's string form, and matching.
 *
 * Regexes match as Go's do, whole-value (^(?:re)$), with RE2: linear in the value whatever
 * the pattern, so no regex can stall the loop. RE2's errors are worded as Go's, and the few
 * constructs RE2 takes but Go refuses are refused too. Label values are interned, so each regex
 * matcher keeps its recent answers per interned value: checking the same values again (every
 * flush checks every alert against the silences) costs a pointer compare. */
#include "tocsin/config.h"
#include "tocsin/labels.h"
#include "tocsin/log.h"
#include "tocsin/strtab.h"

#include "matchers_internal.h"
#include "re2_shim.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCHERS_CACHE 32 /* answers kept per regex matcher; a power of two */

/* Compiled patterns, shared by their text: a big config repeats a few regular expressions on
 * many routes, and the fallback mode's two parsers each compile every one. Reloads parse on
 * their own thread, hence the lock. */
typedef struct re_shared {
    char *pattern; /* as RE2 compiled it: ^(?:...)$ */
    size_t refs;
    tn_re2_t *re;
} re_shared_t;

static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *re_shared_key(const void *v)
{
    return ((const re_shared_t *)v)->pattern;
}
static tn_strtab_t re_tab = TN_STRTAB_INIT(re_shared_key);

/* The engine for pattern (NUL-terminated), compiled or shared; NULL with why on a bad one. */
static re_shared_t *re_shared_get(const char *pattern, size_t len, char *why, size_t whylen)
{
    pthread_mutex_lock(&re_lock);
    re_shared_t *e = tn_strtab_get(&re_tab, pattern);
    if (e) {
        e->refs++;
        pthread_mutex_unlock(&re_lock);
        return e;
    }
    pthread_mutex_unlock(&re_lock);
    /* compiled unlocked: another thread may compile the same; the first one in is kept */
    tn_re2_t *re = tn_re2_new(pattern, len, why, whylen);
    if (!re)
        return NULL;
    pthread_mutex_lock(&re_lock);
    e = tn_strtab_get(&re_tab, pattern);
    if (e) {
        tn_re2_free(re);
    } else {
        e = tn_xcalloc(1, sizeof(*e));
        e->pattern = tn_xstrdup(pattern);
        e->re = re;
        tn_strtab_put(&re_tab, e);
    }
    e->refs++;
    pthread_mutex_unlock(&re_lock);
    return e;
}

static void re_shared_put(re_shared_t *e)
{
    pthread_mutex_lock(&re_lock);
    if (--e->refs == 0) {
        tn_strtab_del(&re_tab, e->pattern);
        tn_re2_free(e->re);
        free(e->pattern);
        free(e);
        if (re_tab.count == 0)
            tn_strtab_free(&re_tab);
    }
    pthread_mutex_unlock(&re_lock);
}

/* A compiled regex matcher: the engine and answers for recently seen interned values (each
 * holds a reference, so a pointer cannot be reused for another string while cached). */
typedef struct matcher_re {
    re_shared_t *shared;
    const tn_re2_t *re; /* shared->re */
    bool empty;         /* the answer for a missing label ("") */
    struct {
        const char *istr;
        bool match;
    } cache[MATCHERS_CACHE];
} matcher_re_t;

static const char *matchers_op_str(enum tn_match_op op)
{
    switch (op) {
    case TN_MATCH_EQ:
        return "=";
    case TN_MATCH_NE:
        return "!=";
    case TN_MATCH_RE:
        return "=~";
    case TN_MATCH_NRE:
        return "!~";
    }
    return "?";
}

/* ---- RE2 compatibility ----
 *
 * Alertmanager's regexes are Go's regexp/syntax. RE2 refuses nearly all that Go refuses
 * (backreferences, lookaround, atomic groups, possessive quantifiers, verbs, recursion, repeat
 * counts above 1000) with Go's messages; matchers_go_refuses catches the rest, \C. */

/* What RE2 takes and Go's syntax refuses, once RE2 has accepted re: the any-byte escape \C.
 * Text between \Q and \E is literal. */
static bool matchers_go_refuses(const char *re)
{
    for (const char *p = re; *p; p++) {
        if (*p != '\\' || !p[1])
            continue;
        if (p[1] == 'Q') {
            const char *q = strstr(p + 2, "\\E");
            if (!q)
                return false;
            p = q + 1;
            continue;
        }
        if (p[1] == 'C')
            return true;
        p++;
    }
    return false;
}

/* Copies a Go pattern for RE2, which reads the named group (?<name>re) only in its older
 * spelling (?P<name>re). Escapes, \Q...\E and classes are passed over. */
static void matchers_re2_names(const char *p, tn_buf_t *out)
{
    bool in_class = false;
    while (*p) {
        if (p[0] == '\\' && p[1] == 'Q') {
            const char *e = strstr(p + 2, "\\E");
            size_t n = e ? (size_t)(e + 2 - p) : strlen(p);
            tn_buf_append(out, p, n);
            p += n;
            continue;
        }
        if (p[0] == '\\' && p[1]) {
            tn_buf_append(out, p, 2);
            p += 2;
            continue;
        }
        if (in_class) {
            if (p[0] == '[' && p[1] == ':') {
                const char *e = strstr(p + 2, ":]");
                if (e) {
                    tn_buf_append(out, p, (size_t)(e + 2 - p));
                    p = e + 2;
                    continue;
                }
            }
            if (*p == ']')
                in_class = false;
            tn_buf_putc(out, *p++);
            continue;
        }
        if (*p == '[') {
            in_class = true;
            tn_buf_putc(out, *p++);
            if (*p == '^')
                tn_buf_putc(out, *p++);
            if (*p == ']') /* a leading ] is literal */
                tn_buf_putc(out, *p++);
            continue;
        }
        if (p[0] == '(' && p[1] == '?' && p[2] == '<' && p[3] != '=' && p[3] != '!') {
            tn_buf_puts(out, "(?P<");
            p += 3;
            continue;
        }
        tn_buf_putc(out, *p++);
    }
}

static int matchers_compile(tn_matcher_t *m, char *err, size_t errlen)
{
    tn_buf_t pat;
    /* The value as Go compiles it: "^(?:" value ")$"; RE2's errors are worded as Go's. */
    tn_buf_init(&pat, 0);
    tn_buf_puts(&pat, "^(?:");
    matchers_re2_names(m->value, &pat);
    tn_buf_puts(&pat, ")$");
    char why[256];
    tn_buf_putc(&pat, 0);
    re_shared_t *sh = re_shared_get(pat.data, pat.len - 1, why, sizeof(why));
    tn_buf_free(&pat);
    if (!sh) {
        snprintf(err, errlen, "%s", why);
        return TN_ERR_INVAL;
    }
    if (matchers_go_refuses(m->value)) {
        re_shared_put(sh);
        snprintf(err, errlen, "error parsing regexp: invalid escape sequence: `\\C`");
        return TN_ERR_INVAL;
    }
    matcher_re_t *mr = tn_xcalloc(1, sizeof(*mr));
    mr->shared = sh;
    mr->re = sh->re;
    mr->empty = tn_re2_full_match(sh->re, "", 0);
    m->re = mr;
    return TN_OK;
}

static void matchers_re_free(matcher_re_t *mr)
{
    for (size_t i = 0; i < MATCHERS_CACHE; i++)
        if (mr->cache[i].istr)
            tn_intern_unref(mr->cache[i].istr);
    re_shared_put(mr->shared);
    free(mr);
}

int tn_matcher_init(tn_matcher_t *m, enum tn_match_op op, const char *name, const char *value,
                    char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->op = op;
    m->name = tn_xstrdup(name);
    m->value = tn_xstrdup(value);
    if (op == TN_MATCH_RE || op == TN_MATCH_NRE) {
        int rc = matchers_compile(m, err, errlen);
        if (rc != TN_OK) {
            tn_matcher_free(m);
            return rc;
        }
    }
    return TN_OK;
}

void tn_matcher_free(tn_matcher_t *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->value);
    if (m->re)
        matchers_re_free(m->re);
    memset(m, 0, sizeof(*m));
}

void tn_matchers_free(tn_matchers_t *ms)
{
    if (!ms)
        return;
    for (size_t i = 0; i < ms->n; i++)
        tn_matcher_free(&ms->v[i]);
    free(ms->v);
    ms->v = NULL;
    ms->n = 0;
}

static bool matchers_re_match(const tn_matcher_t *m, const char *s)
{
    const matcher_re_t *mr = m->re;
    return s[0] ? tn_re2_full_match(mr->re, s, strlen(s)) : mr->empty;
}

/* The same for an interned value (or NULL: a missing label), through the answer cache. */
static bool matchers_re_match_interned(const tn_matcher_t *m, const char *istr)
{
    matcher_re_t *mr = m->re;
    if (!istr || !istr[0])
        return mr->empty;
    size_t slot =
        (size_t)(((uintptr_t)istr >> 3) * 0x9E3779B97F4A7C15ull >> 58) & (MATCHERS_CACHE - 1);
    if (mr->cache[slot].istr == istr)
        return mr->cache[slot].match;
    bool match = tn_re2_full_match(mr->re, istr, tn_intern_len(istr));
    if (mr->cache[slot].istr)
        tn_intern_unref(mr->cache[slot].istr);
    mr->cache[slot].istr = tn_intern_ref(istr);
    mr->cache[slot].match = match;
    return match;
}

bool tn_matcher_matches(const tn_matcher_t *m, const char *value)
{
    if (!value)
        value = "";
    switch (m->op) {
    case TN_MATCH_EQ:
        return value[0] == m->value[0] && strcmp(value, m->value) == 0;
    case TN_MATCH_NE:
        return value[0] != m->value[0] || strcmp(value, m->value) != 0;
    case TN_MATCH_RE:
        return matchers_re_match(m, value);
    case TN_MATCH_NRE:
        return !matchers_re_match(m, value);
    }
    return false;
}

bool tn_matchers_match(const tn_matchers_t *ms, tn_labels_t ls)
{
    for (size_t i = 0; i < ms->n; i++) {
        const tn_matcher_t *m = &ms->v[i];
        const char *v = tn_labels_get(ls, m->name); /* interned */
        bool ok;
        if (m->op == TN_MATCH_RE)
            ok = matchers_re_match_interned(m, v);
        else if (m->op == TN_MATCH_NRE)
            ok = !matchers_re_match_interned(m, v);
        else
            ok = tn_matcher_matches(m, v);
        if (!ok)
            return false;
    }
    return true;
}

/* ---- parsing ---- */

/* Go's unicode.IsSpace. */
static bool matchers_unicode_space(uint32_t c)
{
    switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
        return true;
    }
    return c >= 0x2000 && c <= 0x200a;
}

static bool matchers_reserved(uint32_t c)
{
    return matchers_unicode_space(c) || (c < 0x80 && c && strchr("{}!=~,\\\"'`", (int)c));
}

/* -- the UTF-8 matcher syntax: a lexer of runes with rune columns, and a parser that follows
 * Alertmanager's state machine so that the same inputs fail with the same messages -- */

#define MLEX_EOF 0xffffffffu

static uint32_t mlex_next(tn_mlex_t *l)
{
    uint32_t r;

    if (l->pos >= l->len) {
        l->width = 0;
        return MLEX_EOF;
    }
    r = tn_utf8_rune(l->in + l->pos, l->len - l->pos, &l->width);
    l->pos += l->width;
    l->cols++;
    return r;
}

static void mlex_rewind(tn_mlex_t *l)
{
    l->pos -= l->width;
    if (l->width > 0)
        l->cols--;
}

static tn_mtok_t mlex_emit(tn_mlex_t *l, enum tn_mtok_kind kind)
{
    tn_mtok_t t = {kind, l->start, l->pos, l->column, l->cols};
    l->start = l->pos;
    l->column = l->cols;
    return t;
}

static void mlex_fail(tn_mlex_t *l, const char *what)
{
    l->failed = true;
    snprintf(l->lexerr, sizeof(l->lexerr), "%zu:%zu: %.*s: %s", l->column, l->cols,
             (int)(l->pos - l->start), l->in + l->start, what);
}

static void mlex_fail_expected(tn_mlex_t *l, const char *expected)
{
    l->failed = true;
    if (l->pos >= l->len)
        snprintf(l->lexerr, sizeof(l->lexerr),
                 "%zu:%zu: unexpected end of input, expected one of '%s'", l->column, l->cols,
                 expected);
    else
        snprintf(l->lexerr, sizeof(l->lexerr), "%zu:%zu: %.*s: expected one of '%s'", l->column,
                 l->cols, (int)(l->pos - l->start), l->in + l->start, expected);
}

static bool mlex_accept(tn_mlex_t *l, uint32_t c)
{
    if (mlex_next(l) == c)
        return true;
    mlex_rewind(l);
    return false;
}

/* Returns 0 with *t set (TN_MTOK_EOF at the end), or -1 with the error in l->lexerr. */
int tn_mlex_scan(tn_mlex_t *l, tn_mtok_t *t)
{
    uint32_t r;

    memset(t, 0, sizeof(*t));
    if (l->failed)
        return -1;
    while ((r = mlex_next(l)) != MLEX_EOF) {
        if (r == '{') {
            *t = mlex_emit(l, TN_MTOK_OPEN);
            return 0;
        }
        if (r == '}') {
            *t = mlex_emit(l, TN_MTOK_CLOSE);
            return 0;
        }
        if (r == ',') {
            *t = mlex_emit(l, TN_MTOK_COMMA);
            return 0;
        }
        if (r == '=' || r == '!') {
            mlex_rewind(l);
            if (mlex_accept(l, '!')) {
                if (mlex_accept(l, '=')) {
                    *t = mlex_emit(l, TN_MTOK_NE);
                    return 0;
                }
                if (mlex_accept(l, '~')) {
                    *t = mlex_emit(l, TN_MTOK_NRE);
                    return 0;
                }
                mlex_fail_expected(l, "=~");
                return -1;
            }
            (void)mlex_accept(l, '=');
            *t = mlex_emit(l, mlex_accept(l, '~') ? TN_MTOK_RE : TN_MTOK_EQ);
            return 0;
        }
        if (r == '"') {
            bool esc = false;
            for (r = mlex_next(l); r != MLEX_EOF; r = mlex_next(l)) {
                if (esc) {
                    esc = false;
                } else if (r == '\\') {
                    esc = true;
                } else if (r == '"') {
                    mlex_rewind(l);
                    break;
                }
            }
            if (!mlex_accept(l, '"')) {
                mlex_fail(l, "missing end \"");
                return -1;
            }
            *t = mlex_emit(l, TN_MTOK_QUOTED);
            return 0;
        }
        if (!matchers_reserved(r)) {
            for (r = mlex_next(l); r != MLEX_EOF; r = mlex_next(l)) {
                if (matchers_reserved(r)) {
                    mlex_rewind(l);
                    break;
                }
            }
            *t = mlex_emit(l, TN_MTOK_UNQUOTED);
            return 0;
        }
        if (matchers_unicode_space(r)) {
            l->start = l->pos;
            l->column = l->cols;
            continue;
        }
        mlex_fail(l, "invalid input");
        return -1;
    }
    return 0;
}

int tn_mlex_peek(tn_mlex_t *l, tn_mtok_t *t)
{
    size_t start = l->start, pos = l->pos, width = l->width, column = l->column, cols = l->cols;
    int rc = tn_mlex_scan(l, t);

    l->start = start;
    l->pos = pos;
    l->width = width;
    l->column = column;
    l->cols = cols;
    return rc;
}

void tn_mlex_init(tn_mlex_t *l, const char *in, size_t len)
{
    memset(l, 0, sizeof(*l));
    l->in = in;
    l->len = len;
}

tn_mtok_t tn_mlex_position(const tn_mlex_t *l)
{
    tn_mtok_t t = {TN_MTOK_EOF, l->start, l->pos, l->column, l->cols};
    return t;
}

/* Go's strconv.Unquote of a double-quoted token, then the UTF-8 check the matcher syntax
 * adds. s[0] and s[len-1] are the quotes. */
static int matchers_go_unquote(const char *s, size_t len, tn_buf_t *out)
{
    size_t i = 1, end = len - 1;

    while (i < end) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            return TN_ERR_INVAL;
        if (c >= 0x80) {
            size_t w;
            tn_utf8_put(out, tn_utf8_rune(s + i, end - i, &w));
            i += w;
            continue;
        }
        if (c != '\\') {
            tn_buf_putc(out, (char)c);
            i++;
            continue;
        }
        if (i + 1 >= end)
            return TN_ERR_INVAL;
        c = (unsigned char)s[i + 1];
        i += 2;
        switch (c) {
        case 'a':
            tn_buf_putc(out, '\a');
            break;
        case 'b':
            tn_buf_putc(out, '\b');
            break;
        case 'f':
            tn_buf_putc(out, '\f');
            break;
        case 'n':
            tn_buf_putc(out, '\n');
            break;
        case 'r':
            tn_buf_putc(out, '\r');
            break;
        case 't':
            tn_buf_putc(out, '\t');
            break;
        case 'v':
            tn_buf_putc(out, '\v');
            break;
        case '\\':
        case '"':
            tn_buf_putc(out, (char)c);
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            if (end - i < n)
                return TN_ERR_INVAL;
            for (size_t k = 0; k < n; k++) {
                int h = tn_hexval(s[i + k]);
                if (h < 0)
                    return TN_ERR_INVAL;
                v = (v << 4) | (uint32_t)h;
            }
            i += n;
            if (c == 'x') {
                tn_buf_putc(out, (char)v);
                break;
            }
            if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return TN_ERR_INVAL;
            tn_utf8_put(out, v);
            break;
        }
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            uint32_t v = (uint32_t)(c - '0');
            if (end - i < 2)
                return TN_ERR_INVAL;
            for (size_t k = 0; k < 2; k++) {
                if (s[i + k] < '0' || s[i + k] > '7')
                    return TN_ERR_INVAL;
                v = v * 8 + (uint32_t)(s[i + k] - '0');
            }
            i += 2;
            if (v > 255)
                return TN_ERR_INVAL;
            tn_buf_putc(out, (char)v);
            break;
        }
        default:
            return TN_ERR_INVAL;
        }
    }
    return tn_utf8_valid(out->data, out->len) ? TN_OK : TN_ERR_INVAL;
}

typedef struct mparser {
    tn_mlex_t l;
    bool open_brace;
    tn_matchers_t *out;
    char *err;
    size_t errlen;
} mparser_t;

static bool mtok_in(const tn_mtok_t *t, const enum tn_mtok_kind *kinds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t->kind == kinds[i])
            return true;
    return false;
}

enum { MP_OK = 0, MP_EOF = 1, MP_ERR = 2 };

/* Peeks a token of one of the kinds. MP_EOF at the end of input; MP_ERR with the lexer's or
 * an "unexpected" message in why. */
static int mparser_expect_peek(mparser_t *p, const enum tn_mtok_kind *kinds, size_t n, tn_mtok_t *t,
                               char *why, size_t whylen)
{
    if (tn_mlex_peek(&p->l, t) != 0) {
        snprintf(why, whylen, "%s", p->l.lexerr);
        return MP_ERR;
    }
    if (t->kind == TN_MTOK_EOF)
        return MP_EOF;
    if (!mtok_in(t, kinds, n)) {
        snprintf(why, whylen, "%zu:%zu: unexpected %.*s", t->col, t->col_end,
                 (int)(t->end - t->off), p->l.in + t->off);
        return MP_ERR;
    }
    return MP_OK;
}

static int mparser_expect(mparser_t *p, const enum tn_mtok_kind *kinds, size_t n, tn_mtok_t *t,
                          char *why, size_t whylen)
{
    int rc = mparser_expect_peek(p, kinds, n, t, why, whylen);
    tn_mtok_t dummy;

    if (rc == MP_OK)
        (void)tn_mlex_scan(&p->l, &dummy);
    return rc;
}

/* The message of a failed expect, followed by what was wanted. */
static int mparser_fail(mparser_t *p, int rc, const char *why, const char *wanted)
{
    snprintf(p->err, p->errlen, "%s: %s", rc == MP_EOF ? "end of input" : why, wanted);
    return TN_ERR_INVAL;
}

static int mparser_eof(mparser_t *p)
{
    tn_mtok_t t;

    if (tn_mlex_scan(&p->l, &t) != 0) {
        snprintf(p->err, p->errlen, "%s: expected end of input", p->l.lexerr);
        return TN_ERR_INVAL;
    }
    if (t.kind != TN_MTOK_EOF) {
        snprintf(p->err, p->errlen, "%zu:%zu: %.*s: expected end of input", t.col, t.col_end,
                 (int)(t.end - t.off), p->l.in + t.off);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static int mparser_close_brace(mparser_t *p)
{
    static const enum tn_mtok_kind close[] = {TN_MTOK_CLOSE};
    char why[TN_ERRBUF_SIZE];
    tn_mtok_t t;
    int rc = mparser_expect(p, close, 1, &t, why, sizeof(why));

    if (p->open_brace && rc != MP_OK) {
        snprintf(p->err, p->errlen, "0:%zu: %s: expected close brace", p->l.cols,
                 rc == MP_EOF ? "end of input" : why);
        return TN_ERR_INVAL;
    }
    if (!p->open_brace && rc == MP_OK) {
        snprintf(p->err, p->errlen, "0:%zu: }: expected opening brace", p->l.cols);
        return TN_ERR_INVAL;
    }
    return mparser_eof(p);
}

static int mparser_token_text(mparser_t *p, const tn_mtok_t *t, tn_buf_t *out)
{
    const char *s = p->l.in + t->off;
    size_t n = t->end - t->off;

    if (t->kind == TN_MTOK_UNQUOTED)
        return tn_buf_append(out, s, n);
    if (matchers_go_unquote(s, n, out) != TN_OK) {
        snprintf(p->err, p->errlen, "%zu:%zu: %.*s: invalid input", t->col, t->col_end, (int)n, s);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static int mparser_matchers(mparser_t *p)
{
    static const enum tn_mtok_kind names[] = {TN_MTOK_QUOTED, TN_MTOK_UNQUOTED};
    static const enum tn_mtok_kind ops[] = {TN_MTOK_EQ, TN_MTOK_NE, TN_MTOK_RE, TN_MTOK_NRE};
    static const enum tn_mtok_kind values[] = {TN_MTOK_UNQUOTED, TN_MTOK_QUOTED};
    static const enum tn_mtok_kind after[] = {TN_MTOK_COMMA, TN_MTOK_CLOSE};
    static const enum tn_mtok_kind comma[] = {TN_MTOK_COMMA};
    static const enum tn_mtok_kind next[] = {TN_MTOK_CLOSE, TN_MTOK_UNQUOTED, TN_MTOK_QUOTED};
    char why[TN_ERRBUF_SIZE], e[TN_ERRBUF_SIZE];
    tn_buf_t name, value;
    tn_mtok_t t;
    int rc;

    tn_buf_init(&name, 0);
    tn_buf_init(&value, 0);
    for (;;) {
        enum tn_match_op op;

        tn_buf_reset(&name);
        tn_buf_reset(&value);
        rc = mparser_expect(p, names, 2, &t, why, sizeof(why));
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected label name");
            break;
        }
        if ((rc = mparser_token_text(p, &t, &name)) != TN_OK)
            break;
        rc = mparser_expect(p, ops, 4, &t, why, sizeof(why));
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected an operator such as '=', '!=', '=~' or '!~'");
            break;
        }
        op = t.kind == TN_MTOK_EQ   ? TN_MATCH_EQ
             : t.kind == TN_MTOK_NE ? TN_MATCH_NE
             : t.kind == TN_MTOK_RE ? TN_MATCH_RE
                                    : TN_MATCH_NRE;
        rc = mparser_expect(p, values, 2, &t, why, sizeof(why));
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected label value");
            break;
        }
        if ((rc = mparser_token_text(p, &t, &value)) != TN_OK)
            break;
        p->out->v = tn_xrealloc(p->out->v, (p->out->n + 1) * sizeof(*p->out->v));
        rc = tn_matcher_init(&p->out->v[p->out->n], op, tn_buf_cstr(&name), tn_buf_cstr(&value), e,
                             sizeof(e));
        if (rc != TN_OK) {
            snprintf(p->err, p->errlen, "failed to create matcher: %s", e);
            break;
        }
        p->out->n++;
        rc = mparser_expect_peek(p, after, 2, &t, why, sizeof(why));
        if (rc == MP_EOF || (rc == MP_OK && t.kind == TN_MTOK_CLOSE)) {
            rc = mparser_close_brace(p);
            break;
        }
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected a comma or close brace");
            break;
        }
        rc = mparser_expect(p, comma, 1, &t, why, sizeof(why));
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected a comma");
            break;
        }
        rc = mparser_expect_peek(p, next, 3, &t, why, sizeof(why));
        if (rc == MP_EOF || (rc == MP_OK && t.kind == TN_MTOK_CLOSE)) {
            rc = mparser_close_brace(p);
            break;
        }
        if (rc != MP_OK) {
            rc = mparser_fail(p, rc, why, "expected a matcher or close brace after comma");
            break;
        }
    }
    tn_buf_free(&name);
    tn_buf_free(&value);
    return rc;
}

/* The UTF-8 syntax: {a="b", "c d"=~e} with optional braces. Appends to out; on error out
 * may hold part of the matchers. */
static int matchers_parse_utf8(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    mparser_t p = {.out = out, .err = err, .errlen = errlen};
    tn_mtok_t t;

    tn_mlex_init(&p.l, s, strlen(s));
    if (tn_mlex_peek(&p.l, &t) != 0) {
        snprintf(err, errlen, "%s", p.l.lexerr);
        return TN_ERR_INVAL;
    }
    if (t.kind == TN_MTOK_EOF)
        return mparser_eof(&p);
    if (t.kind == TN_MTOK_OPEN) {
        p.open_brace = true;
        (void)tn_mlex_scan(&p.l, &t);
        if (tn_mlex_peek(&p.l, &t) != 0) {
            snprintf(err, errlen, "%s", p.l.lexerr);
            return TN_ERR_INVAL;
        }
        if (t.kind == TN_MTOK_EOF)
            return mparser_close_brace(&p);
    }
    if (t.kind == TN_MTOK_CLOSE)
        return mparser_close_brace(&p);
    return mparser_matchers(&p);
}

/* -- the classic syntax -- */

/* Go regexp's \s: ASCII space, \t, \n, \f, \r (not \v). */
static bool matchers_re_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool matchers_classic_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* One matcher: name, operator, value with OpenMetrics escapes (\n \" \\; other backslashes are
 * literal), the value optionally in double quotes, whitespace around each part ignored. */
static int matchers_parse_classic_one(const char *s, tn_matcher_t *out, char *err, size_t errlen)
{
    const char *p = s, *n0, *n1, *raw, *end;
    enum tn_match_op op;
    bool quoted = false, escaped = false;
    tn_buf_t name, value;
    size_t rawlen;
    int rc = TN_ERR_INVAL;

    memset(out, 0, sizeof(*out));
    tn_buf_init(&name, 0);
    tn_buf_init(&value, 0);
    while (matchers_re_space(*p))
        p++;
    n0 = p;
    if (!matchers_classic_name_char(*p, true))
        goto bad;
    while (matchers_classic_name_char(*p, false))
        p++;
    n1 = p;
    while (matchers_re_space(*p))
        p++;
    if (p[0] == '=' && p[1] == '~') {
        op = TN_MATCH_RE;
        p += 2;
    } else if (p[0] == '=') {
        op = TN_MATCH_EQ;
        p++;
    } else if (p[0] == '!' && p[1] == '=') {
        op = TN_MATCH_NE;
        p += 2;
    } else if (p[0] == '!' && p[1] == '~') {
        op = TN_MATCH_NRE;
        p += 2;
    } else {
        goto bad;
    }
    while (matchers_re_space(*p))
        p++;
    raw = p;
    end = p + strlen(p);
    while (end > raw && matchers_re_space(end[-1]))
        end--;
    rawlen = (size_t)(end - raw);
    p = raw;
    if (p < end && *p == '"') {
        quoted = true;
        p++;
    }
    if (!tn_utf8_valid(p, (size_t)(end - p))) {
        snprintf(err, errlen, "matcher value not valid UTF-8: %.*s", (int)rawlen, raw);
        goto out;
    }
    for (; p < end; p++) {
        if (escaped) {
            escaped = false;
            if (*p == 'n') {
                tn_buf_putc(&value, '\n');
            } else if (*p == '"' || *p == '\\') {
                tn_buf_putc(&value, *p);
            } else {
                tn_buf_putc(&value, '\\');
                tn_buf_putc(&value, *p);
            }
        } else if (*p == '\\') {
            if (p + 1 < end)
                escaped = true;
            else
                tn_buf_putc(&value, '\\');
        } else if (*p == '"') {
            if (!quoted || p + 1 < end)
                break;
            quoted = false;
        } else {
            tn_buf_putc(&value, *p);
        }
    }
    if (p < end || quoted) {
        snprintf(err, errlen, "matcher value contains unescaped double quote: %.*s", (int)rawlen,
                 raw);
        goto out;
    }
    tn_buf_append(&name, n0, (size_t)(n1 - n0));
    rc = tn_matcher_init(out, op, tn_buf_cstr(&name), tn_buf_cstr(&value), err, errlen);
    goto out;
bad:
    snprintf(err, errlen, "bad matcher format: %s", s);
out:
    tn_buf_free(&name);
    tn_buf_free(&value);
    return rc;
}

/* A list: one optional '{' and '}' trimmed, split at commas outside double quotes (a quote
 * after a backslash does not count), a trailing comma allowed. */
static int matchers_parse_classic(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    size_t len = strlen(s), i = 0;
    bool inq = false, esc = false;
    tn_buf_t tok;
    int rc = TN_OK;

    if (len > 0 && s[0] == '{') {
        s++;
        len--;
    }
    if (len > 0 && s[len - 1] == '}')
        len--;
    tn_buf_init(&tok, 0);
    for (;;) {
        bool last = i >= len;
        uint32_t r = 0;
        size_t w = 0;

        if (!last) {
            r = tn_utf8_rune(s + i, len - i, &w);
            i += w;
            if (r != ',' || inq) {
                if (r == '"') {
                    if (!esc)
                        inq = !inq;
                    else
                        esc = false;
                } else if (r == '\\') {
                    esc = !esc;
                } else if (r != ',') {
                    esc = false;
                }
                /* Go's range loop hands U+FFFD for a bad byte, and that is what is kept. */
                tn_utf8_put(&tok, r);
                continue;
            }
        } else {
            const char *t = tn_buf_cstr(&tok), *te = t + tok.len;
            bool blank = true;
            while (t < te && blank) {
                size_t tw;
                blank = matchers_unicode_space(tn_utf8_rune(t, (size_t)(te - t), &tw));
                t += tw;
            }
            if (blank)
                break;
        }
        out->v = tn_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
        rc = matchers_parse_classic_one(tn_buf_cstr(&tok), &out->v[out->n], err, errlen);
        if (rc != TN_OK)
            break;
        out->n++;
        tn_buf_reset(&tok);
        if (last)
            break;
    }
    tn_buf_free(&tok);
    return rc;
}

/* -- choosing the syntax, as Alertmanager's feature flags do -- */

static bool matchers_same(const tn_matchers_t *a, const tn_matchers_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].op != b->v[i].op || strcmp(a->v[i].name, b->v[i].name) != 0 ||
            strcmp(a->v[i].value, b->v[i].value) != 0)
            return false;
    return true;
}

static void matchers_append(tn_matchers_t *dst, tn_matchers_t *src)
{
    if (src->n == 0)
        return;
    dst->v = tn_xrealloc(dst->v, (dst->n + src->n + 1) * sizeof(*dst->v));
    memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
    dst->n += src->n;
    free(src->v);
    src->v = NULL;
    src->n = 0;
}

/* The classic parse of a whole input: one matcher, or a list. */
static int matchers_parse_classic_any(const char *s, bool single, tn_matchers_t *out, char *err,
                                      size_t errlen)
{
    if (!single)
        return matchers_parse_classic(s, out, err, errlen);
    out->v = tn_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    if (matchers_parse_classic_one(s, &out->v[out->n], err, errlen) != TN_OK)
        return TN_ERR_INVAL;
    out->n++;
    return TN_OK;
}

/* The UTF-8 parse; a single matcher must be exactly one. */
static int matchers_parse_utf8_any(const char *s, bool single, tn_matchers_t *out, char *err,
                                   size_t errlen)
{
    int rc = matchers_parse_utf8(s, out, err, errlen);

    if (rc == TN_OK && single && out->n != 1) {
        if (out->n == 0)
            snprintf(err, errlen, "no matchers");
        else
            snprintf(err, errlen, "expected 1 matcher, found %zu", out->n);
        rc = TN_ERR_INVAL;
    }
    return rc;
}

int tn_matchers_parse_utf8(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    return matchers_parse_utf8_any(s, false, out, err, errlen);
}

int tn_matcher_parse_utf8(const char *s, tn_matcher_t *out, char *err, size_t errlen)
{
    tn_matchers_t ms = {0};
    int rc = matchers_parse_utf8_any(s, true, &ms, err, errlen);

    memset(out, 0, sizeof(*out));
    if (rc == TN_OK) {
        *out = ms.v[0];
        ms.n = 0;
    }
    tn_matchers_free(&ms);
    return rc;
}

/* Default mode: the UTF-8 syntax, falling back to the classic one (with a warning) when only
 * the classic one accepts the input or the two disagree, as Alertmanager does. Classic and
 * UTF-8 strict modes use one syntax only. */
static int matchers_parse_mode(const char *s, bool single, tn_matchers_t *out, char *err,
                               size_t errlen)
{
    tn_matchers_t u = {0}, c = {0};
    char ue[TN_ERRBUF_SIZE] = "", ce[TN_ERRBUF_SIZE] = "";
    int urc, crc, rc = TN_OK;
    bool use_classic = false;

    switch (tn_labels_mode()) {
    case TN_LABELS_CLASSIC:
        rc = matchers_parse_classic_any(s, single, &c, err, errlen);
        use_classic = true;
        break;
    case TN_LABELS_UTF8_STRICT:
        rc = matchers_parse_utf8_any(s, single, &u, err, errlen);
        break;
    default:
        urc = matchers_parse_utf8_any(s, single, &u, ue, sizeof(ue));
        crc = matchers_parse_classic_any(s, single, &c, ce, sizeof(ce));
        if (urc != TN_OK && crc != TN_OK) {
            /* Alertmanager answers with the classic parser's error alone. */
            snprintf(err, errlen, "%s", ce);
            rc = TN_ERR_INVAL;
        } else if (urc != TN_OK) {
            tn_log(TN_LOG_WARN,
                   "Matchers input is not valid in the UTF-8 matcher syntax; parsed with the "
                   "classic syntax instead. Double-quote regular expressions and values and "
                   "escape backslashes to make it compatible.",
                   "input", s, "err", ue, NULL);
            use_classic = true;
        } else if (crc == TN_OK && !matchers_same(&u, &c)) {
            tn_log(TN_LOG_WARN, "Matchers input has disagreement; using the classic parse", "input",
                   s, NULL);
            use_classic = true;
        }
    }
    if (rc == TN_OK)
        matchers_append(out, use_classic ? &c : &u);
    tn_matchers_free(&u);
    tn_matchers_free(&c);
    return rc;
}

int tn_matchers_parse(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    return matchers_parse_mode(s, false, out, err, errlen);
}

int tn_matcher_parse(const char *s, tn_matcher_t *out, char *err, size_t errlen)
{
    tn_matchers_t ms = {0};
    size_t len = strlen(s);
    int rc;

    memset(out, 0, sizeof(*out));
    if (tn_labels_mode() != TN_LABELS_CLASSIC && len > 0 && (s[0] == '{' || s[len - 1] == '}')) {
        snprintf(err, errlen, "unexpected open or close brace: %s", s);
        return TN_ERR_INVAL;
    }
    rc = matchers_parse_mode(s, true, &ms, err, errlen);
    if (rc == TN_OK) {
        *out = ms.v[0];
        ms.n = 0;
    }
    tn_matchers_free(&ms);
    return rc;
}

/* ---- ordering and formatting ---- */

static int matchers_cmp(const void *a, const void *b)
{
    const tn_matcher_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->value, y->value);
    if (c)
        return c;
    return (int)x->op - (int)y->op;
}

void tn_matchers_sort(tn_matchers_t *ms)
{
    if (ms->n > 1)
        qsort(ms->v, ms->n, sizeof(*ms->v), matchers_cmp);
}

/* Names that the classic parser could not read back are printed quoted, as Alertmanager does. */
static bool matchers_name_needs_quotes(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;

    while (*p) {
        uint32_t cp;
        size_t n;
        cp = tn_utf8_rune((const char *)p, strlen((const char *)p), &n);
        if (matchers_unicode_space(cp) || (cp < 0x80 && strchr("{}!=~,\\\"'`", (int)cp)))
            return true;
        p += n;
    }
    return false;
}

int tn_matcher_format(tn_buf_t *out, const tn_matcher_t *m)
{
    size_t mark = out->len;
    int rc;

    if (matchers_name_needs_quotes(m->name)) {
        rc = tn_go_quote(out, m->name, strlen(m->name));
        if (rc == TN_OK)
            rc = tn_buf_puts(out, matchers_op_str(m->op));
        if (rc == TN_OK)
            rc = tn_go_quote(out, m->value, strlen(m->value));
        goto out;
    }
    rc = tn_buf_puts(out, m->name);
    if (rc == TN_OK)
        rc = tn_buf_puts(out, matchers_op_str(m->op));
    if (rc == TN_OK)
        rc = tn_buf_putc(out, '"');
    /* OpenMetrics escaping: only backslash, newline and double quote. */
    for (const char *p = m->value; rc == TN_OK && *p; p++) {
        if (*p == '\\')
            rc = tn_buf_puts(out, "\\\\");
        else if (*p == '\n')
            rc = tn_buf_puts(out, "\\n");
        else if (*p == '"')
            rc = tn_buf_puts(out, "\\\"");
        else
            rc = tn_buf_putc(out, *p);
    }
    if (rc == TN_OK)
        rc = tn_buf_putc(out, '"');
out:
    if (rc != TN_OK)
        out->len = mark;
    return rc;
}

int tn_matchers_format(tn_buf_t *out, const tn_matchers_t *ms)
{
    size_t mark = out->len;
    int rc = tn_buf_putc(out, '{');

    for (size_t i = 0; rc == TN_OK && i < ms->n; i++) {
        if (i > 0)
            rc = tn_buf_putc(out, ',');
        if (rc == TN_OK)
            rc = tn_matcher_format(out, &ms->v[i]);
    }
    if (rc == TN_OK)
        rc = tn_buf_putc(out, '}');
    if (rc != TN_OK)
        out->len = mark;
    return rc;
}
