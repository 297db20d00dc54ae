/* Label matchers: parsing the common textual forms, Alertmanager's string form, and matching.
 *
 * Regexes are anchored as ^(?:re)$ and run by PCRE2 under a match and depth limit, so a
 * hostile pattern costs a bounded amount of work (RE2, which Alertmanager uses, is linear by
 * construction; PCRE2 is not). A regex that hits the limit does not match. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tocsin/config.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCHERS_MATCH_LIMIT 200000
#define MATCHERS_DEPTH_LIMIT 10000

/* One loop thread owns all matching, so one match context and one match data block serve
 * every regex. */
static pcre2_match_context *matchers_mctx;
static pcre2_match_data *matchers_mdata;

static void matchers_pcre_setup(void)
{
    if (matchers_mctx)
        return;
    matchers_mctx = pcre2_match_context_create(NULL);
    matchers_mdata = pcre2_match_data_create(1, NULL);
    if (!matchers_mctx || !matchers_mdata)
        abort();
    pcre2_set_match_limit(matchers_mctx, MATCHERS_MATCH_LIMIT);
    pcre2_set_depth_limit(matchers_mctx, MATCHERS_DEPTH_LIMIT);
}

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

static int matchers_compile(tn_matcher_t *m, char *err, size_t errlen)
{
    tn_buf_t pat;
    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    pcre2_code *re;

    tn_buf_init(&pat, 0);
    tn_buf_puts(&pat, "^(?:");
    tn_buf_puts(&pat, m->value);
    tn_buf_puts(&pat, ")$");
    re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len,
                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                           PCRE2_NEVER_BACKSLASH_C,
                       &ecode, &eoff, NULL);
    tn_buf_free(&pat);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ecode, msg, sizeof(msg));
        snprintf(err, errlen, "invalid regular expression \"%s\": %s", m->value, (char *)msg);
        return TN_ERR_INVAL;
    }
    /* JIT is an optimisation only; the interpreter is used when it is unavailable. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    m->re = re;
    return TN_OK;
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
        pcre2_code_free(m->re);
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
    int rc;

    matchers_pcre_setup();
    rc = pcre2_match(m->re, (PCRE2_SPTR)s, strlen(s), 0, 0, matchers_mdata, matchers_mctx);
    /* Errors, including the match limit, count as no match. */
    return rc >= 0;
}

bool tn_matcher_matches(const tn_matcher_t *m, const char *value)
{
    if (!value)
        value = "";
    switch (m->op) {
    case TN_MATCH_EQ:
        return strcmp(value, m->value) == 0;
    case TN_MATCH_NE:
        return strcmp(value, m->value) != 0;
    case TN_MATCH_RE:
        return matchers_re_match(m, value);
    case TN_MATCH_NRE:
        return !matchers_re_match(m, value);
    }
    return false;
}

bool tn_matchers_match(const tn_matchers_t *ms, tn_labels_t ls)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!tn_matcher_matches(&ms->v[i], tn_labels_get(ls, ms->v[i].name)))
            return false;
    return true;
}

/* ---- parsing ---- */

static bool matchers_isspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool matchers_reserved_ascii(char c)
{
    return matchers_isspace(c) || (c && strchr("{}!=~,\\\"'`", c) != NULL);
}

/* Reads a double-quoted string starting at *pp (on the quote) with Go-style escapes for the
 * common cases (\" \\ \n \t \r); other escapes are kept literally. */
static int matchers_read_quoted(const char **pp, tn_buf_t *out)
{
    const char *p = *pp + 1;

    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 'n':
                tn_buf_putc(out, '\n');
                break;
            case 't':
                tn_buf_putc(out, '\t');
                break;
            case 'r':
                tn_buf_putc(out, '\r');
                break;
            case '"':
            case '\\':
                tn_buf_putc(out, *p);
                break;
            default:
                tn_buf_putc(out, '\\');
                tn_buf_putc(out, *p);
            }
            continue;
        }
        tn_buf_putc(out, *p);
    }
    if (*p != '"')
        return TN_ERR_INVAL;
    *pp = p + 1;
    return TN_OK;
}

/* The value part, unescaped as the classic matcher parser does: \n, \" and \\ are escapes, any
 * other backslash is literal, and a double quote may only close a quoted value. */
static int matchers_unescape_value(const char *raw, size_t len, tn_buf_t *out)
{
    bool quoted = false, escaped = false;
    size_t i = 0;

    if (len > 0 && raw[0] == '"') {
        quoted = true;
        i = 1;
    }
    for (; i < len; i++) {
        char c = raw[i];
        if (escaped) {
            escaped = false;
            if (c == 'n') {
                tn_buf_putc(out, '\n');
            } else if (c == '"' || c == '\\') {
                tn_buf_putc(out, c);
            } else {
                tn_buf_putc(out, '\\');
                tn_buf_putc(out, c);
            }
            continue;
        }
        if (c == '\\') {
            if (i < len - 1) {
                escaped = true;
                continue;
            }
            tn_buf_putc(out, '\\');
        } else if (c == '"') {
            if (!quoted || i < len - 1)
                return TN_ERR_INVAL;
            quoted = false;
        } else {
            tn_buf_putc(out, c);
        }
    }
    return quoted ? TN_ERR_INVAL : TN_OK;
}

int tn_matcher_parse(const char *s, tn_matcher_t *out, char *err, size_t errlen)
{
    const char *p = s, *end;
    tn_buf_t name, value;
    enum tn_match_op op;
    int rc = TN_ERR_INVAL;

    tn_buf_init(&name, 0);
    tn_buf_init(&value, 0);
    memset(out, 0, sizeof(*out));
    while (matchers_isspace(*p))
        p++;
    if (*p == '"') {
        if (matchers_read_quoted(&p, &name) != TN_OK)
            goto bad;
    } else {
        const char *n0 = p;
        while (*p && !matchers_reserved_ascii(*p))
            p++;
        tn_buf_append(&name, n0, (size_t)(p - n0));
    }
    if (name.len == 0 || !tn_utf8_valid(name.data, name.len) || memchr(name.data, 0, name.len))
        goto bad;
    while (matchers_isspace(*p))
        p++;
    if (p[0] == '=' && p[1] == '~') {
        op = TN_MATCH_RE;
        p += 2;
    } else if (p[0] == '=') {
        op = TN_MATCH_EQ;
        p += 1;
    } else if (p[0] == '!' && p[1] == '=') {
        op = TN_MATCH_NE;
        p += 2;
    } else if (p[0] == '!' && p[1] == '~') {
        op = TN_MATCH_NRE;
        p += 2;
    } else {
        goto bad;
    }
    while (matchers_isspace(*p))
        p++;
    end = p + strlen(p);
    while (end > p && matchers_isspace(end[-1]))
        end--;
    if (!tn_utf8_valid(p, (size_t)(end - p))) {
        snprintf(err, errlen, "matcher value not valid UTF-8: %s", p);
        goto out;
    }
    if (matchers_unescape_value(p, (size_t)(end - p), &value) != TN_OK) {
        snprintf(err, errlen, "matcher value contains unescaped double quote: %.*s", (int)(end - p),
                 p);
        goto out;
    }
    rc = tn_matcher_init(out, op, tn_buf_cstr(&name), tn_buf_cstr(&value), err, errlen);
    goto out;
bad:
    snprintf(err, errlen, "bad matcher format: %s", s);
out:
    tn_buf_free(&name);
    tn_buf_free(&value);
    return rc;
}

int tn_matchers_parse(const char *s, tn_matchers_t *out, char *err, size_t errlen)
{
    size_t len = strlen(s), start, i;
    bool inq = false, esc = false;
    tn_buf_t tok;
    int rc = TN_OK;

    /* Optional braces, then comma-separated matchers (commas inside quotes do not split). */
    if (len > 0 && s[0] == '{') {
        s++;
        len--;
    }
    if (len > 0 && s[len - 1] == '}')
        len--;
    tn_buf_init(&tok, 0);
    for (start = 0, i = 0; i <= len && rc == TN_OK; i++) {
        bool last = i == len;
        char c = last ? 0 : s[i];

        if (!last && c != ',') {
            if (c == '"') {
                if (!esc)
                    inq = !inq;
                else
                    esc = false;
            } else if (c == '\\') {
                esc = !esc;
            } else {
                esc = false;
            }
            continue;
        }
        if (!last && inq)
            continue;
        tn_buf_reset(&tok);
        tn_buf_append(&tok, s + start, i - start);
        start = i + 1;
        if (last) {
            const char *t = tn_buf_cstr(&tok);
            while (matchers_isspace(*t))
                t++;
            if (*t == 0)
                break;
        }
        out->v = tn_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
        rc = tn_matcher_parse(tn_buf_cstr(&tok), &out->v[out->n], err, errlen);
        if (rc == TN_OK)
            out->n++;
    }
    tn_buf_free(&tok);
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

/* Decodes one UTF-8 code point; returns its length (1 for a bad byte, which yields U+FFFD). */
static size_t matchers_utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        return 3;
    }
    if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
        (s[3] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
              ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        return 4;
    }
    *cp = 0xfffd;
    return 1;
}

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

/* Names that the classic parser could not read back are printed quoted, as Alertmanager does. */
static bool matchers_name_needs_quotes(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;

    while (*p) {
        uint32_t cp;
        size_t n = matchers_utf8_next(p, &cp);
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
