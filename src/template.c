/* Template engine, part 1: arenas, the lexer and parser of Go's text/template syntax, and the
 * template set (defaults + files from `templates:` globs).
 *
 * Parse-time checks follow Go's: undefined functions and variables, misplaced {{end}} /
 * {{else}} / {{break}}, and bad literals fail the parse with "template: name:line: reason". */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_internal.h"
#include "tocsin/labels.h"

/* ---- arena ---- */

void *tt_alloc(tt_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->size - a->head->used < n) {
        size_t sz = n > 16384 ? n : 16384;
        tt_chunk_t *c = tn_xmalloc(sizeof(*c) + sz);
        c->used = 0;
        c->size = sz;
        c->next = a->head;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *tt_strndup(tt_arena_t *a, const char *s, size_t n)
{
    char *p = tt_alloc(a, n + 1);
    if (n > 0)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void tt_arena_free(tt_arena_t *a)
{
    tt_chunk_t *c = a->head;
    while (c) {
        tt_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

void tt_arena_move(tt_arena_t *dst, tt_arena_t *src)
{
    tt_chunk_t *c = src->head;
    while (c) {
        tt_chunk_t *next = c->next;
        /* keep dst's head chunk first so its free space stays usable */
        if (dst->head) {
            c->next = dst->head->next;
            dst->head->next = c;
        } else {
            c->next = NULL;
            dst->head = c;
        }
        c = next;
    }
    dst->total += src->total;
    src->head = NULL;
    src->total = 0;
}

/* ---- lexer ---- */

enum tok_type {
    T_EOF,
    T_TEXT,
    T_LEFT,
    T_RIGHT,
    T_IDENT,
    T_FIELD,
    T_VAR,
    T_DOT,
    T_STRING,
    T_NUMBER,
    T_CHAR,
    T_BOOL,
    T_NIL,
    T_KW,
    T_PIPE,
    T_LPAREN,
    T_RPAREN,
    T_DECL,
    T_ASSIGN,
    T_COMMA,
};

typedef struct tok {
    uint8_t type;
    bool space; /* whitespace before it inside an action */
    int line;
    int col;       /* byte offset in its line, as Go's ErrorContext counts it */
    const char *p; /* source bytes (for strings: the decoded value) */
    size_t n;
    size_t pos, rawlen; /* the token's bytes in the source */
} tok_t;

typedef struct lexer {
    tt_arena_t *a;
    const char *s;
    size_t len, pos;
    int line;
    size_t line_start; /* offset of the current line's first byte */
    tok_t *toks;
    size_t ntoks, cap;
    char *err;
    size_t errlen;
    const char *name;
} lexer_t;

static int lex_fail(lexer_t *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lex_fail(lexer_t *l, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(l->err, l->errlen, "template: %s:%d: %s", l->name, line, msg);
    return TN_ERR_INVAL;
}

/* Counts the newlines of s[from, to) into the line number and line start. */
static void lex_lines(lexer_t *l, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < l->len; i++)
        if (l->s[i] == '\n') {
            l->line++;
            l->line_start = i + 1;
        }
}

/* Places a token at pos: its column counts from the start of pos's line. */
static void tok_at(lexer_t *l, tok_t *t, size_t pos, size_t rawlen)
{
    t->pos = pos;
    t->rawlen = rawlen;
    size_t start = l->line_start <= pos ? l->line_start : 0;
    if (l->line_start > pos) /* a token before the lexer's current line: look back */
        for (size_t i = pos; i > 0; i--)
            if (l->s[i - 1] == '\n') {
                start = i;
                break;
            }
    t->col = (int)(pos - start);
}

static tok_t *lex_push(lexer_t *l, int type, const char *p, size_t n, bool space, int line)
{
    if (l->ntoks == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->toks = tn_xrealloc(l->toks, l->cap * sizeof(tok_t));
    }
    tok_t *t = &l->toks[l->ntoks++];
    *t = (tok_t){.type = (uint8_t)type, .space = space, .line = line, .p = p, .n = n};
    tok_at(l, t, l->pos, 0);
    return t;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/* Decodes a Go quoted string or char body s[0..n) (without quotes) into b. */
static int unquote(tn_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\') {
            tn_buf_putc(b, c);
            continue;
        }
        if (++i >= n)
            return -1;
        c = s[i];
        switch (c) {
        case 'a':
            tn_buf_putc(b, '\a');
            break;
        case 'b':
            tn_buf_putc(b, '\b');
            break;
        case 'f':
            tn_buf_putc(b, '\f');
            break;
        case 'n':
            tn_buf_putc(b, '\n');
            break;
        case 'r':
            tn_buf_putc(b, '\r');
            break;
        case 't':
            tn_buf_putc(b, '\t');
            break;
        case 'v':
            tn_buf_putc(b, '\v');
            break;
        case '\\':
        case '\'':
        case '"':
            tn_buf_putc(b, c);
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t k = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (size_t j = 1; j <= k; j++) {
                if (i + j >= n || tn_hexval(s[i + j]) < 0)
                    return -1;
                v = v * 16 + (uint32_t)tn_hexval(s[i + j]);
            }
            i += k;
            if (c == 'x')
                tn_buf_putc(b, (char)v);
            else
                tn_utf8_put(b, v);
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                if (i + 2 >= n || s[i + 1] < '0' || s[i + 1] > '7' || s[i + 2] < '0' ||
                    s[i + 2] > '7')
                    return -1;
                int v = (c - '0') * 64 + (s[i + 1] - '0') * 8 + (s[i + 2] - '0');
                if (v > 255)
                    return -1;
                tn_buf_putc(b, (char)v);
                i += 2;
                break;
            }
            return -1;
        }
    }
    return 0;
}

static const char *const lex_keywords[] = {
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", NULL};

/* Lexes the inside of one action starting at l->pos (after "{{" and a trim marker). */
static int lex_action(lexer_t *l, int open_line)
{
    int parens = 0;
    bool space = false;
    for (;;) {
        if (l->pos >= l->len)
            return lex_fail(l, open_line, "unclosed action");
        const char *s = l->s + l->pos;
        size_t left = l->len - l->pos;
        char c = s[0];
        if (is_space(c)) {
            /* " -}}" closes with a right trim marker */
            if (left >= 4 && s[1] == '-' && s[2] == '}' && s[3] == '}') {
                lex_lines(l, l->pos, l->pos + 1);
                lex_push(l, T_RIGHT, "-", 1, true, l->line);
                l->pos += 4;
                return 0;
            }
            lex_lines(l, l->pos, l->pos + 1);
            l->pos++;
            space = true;
            continue;
        }
        if (left >= 2 && c == '}' && s[1] == '}') {
            if (parens > 0)
                return lex_fail(l, l->line, "unclosed left paren");
            lex_push(l, T_RIGHT, "", 0, space, l->line);
            l->pos += 2;
            return 0;
        }
        int line = l->line;
        size_t n = 1;
        if (c == '|') {
            lex_push(l, T_PIPE, s, 1, space, line);
        } else if (c == '(') {
            parens++;
            lex_push(l, T_LPAREN, s, 1, space, line);
        } else if (c == ')') {
            if (--parens < 0)
                return lex_fail(l, line, "unexpected right paren");
            lex_push(l, T_RPAREN, s, 1, space, line);
        } else if (c == ',') {
            lex_push(l, T_COMMA, s, 1, space, line);
        } else if (c == ':' && left >= 2 && s[1] == '=') {
            n = 2;
            lex_push(l, T_DECL, s, 2, space, line);
        } else if (c == '=') {
            lex_push(l, T_ASSIGN, s, 1, space, line);
        } else if (c == '"' || c == '\'') {
            while (n < left && s[n] != c && s[n] != '\n') {
                if (s[n] == '\\' && n + 1 < left)
                    n++;
                n++;
            }
            if (n >= left || s[n] != c)
                return lex_fail(l, line,
                                c == '"' ? "unterminated quoted string"
                                         : "unterminated character constant");
            n++;
            tn_buf_t b;
            tn_buf_init(&b, 0);
            int rc = unquote(&b, s + 1, n - 2);
            tok_t *t = NULL;
            if (rc == 0) {
                if (c == '\'') {
                    uint32_t cp = 0;
                    size_t k =
                        b.len ? tn_utf8_decode((const unsigned char *)b.data, b.len, &cp) : 0;
                    if (b.len == 1 && (unsigned char)b.data[0] >= 0x80)
                        cp = (unsigned char)b.data[0], k = 1;
                    if (k == 0 || k != b.len)
                        rc = -1;
                    else
                        t = lex_push(l, T_CHAR, s, n, space, line), t->n = cp, t->p = NULL;
                } else {
                    t = lex_push(l, T_STRING, tt_strndup(l->a, b.data ? b.data : "", b.len), b.len,
                                 space, line);
                }
            }
            tn_buf_free(&b);
            if (rc != 0)
                return lex_fail(l, line, "malformed %s: %.*s",
                                c == '"' ? "string" : "character constant", (int)TN_MIN(n, 64), s);
        } else if (c == '`') {
            while (n < left && s[n] != '`')
                n++;
            if (n >= left)
                return lex_fail(l, line, "unterminated raw quoted string");
            lex_lines(l, l->pos + 1, l->pos + n);
            n++;
            /* Go drops carriage returns from raw strings */
            tn_buf_t b;
            tn_buf_init(&b, 0);
            for (size_t i = 1; i + 1 < n; i++)
                if (s[i] != '\r')
                    tn_buf_putc(&b, s[i]);
            lex_push(l, T_STRING, tt_strndup(l->a, b.data ? b.data : "", b.len), b.len, space,
                     line);
            tn_buf_free(&b);
        } else if (c == '$') {
            while (n < left && is_alnum((unsigned char)s[n]))
                n++;
            lex_push(l, T_VAR, s, n, space, line);
        } else if (c == '.' && !(left >= 2 && s[1] >= '0' && s[1] <= '9')) {
            if (left >= 2 && is_alnum((unsigned char)s[1])) {
                while (n < left && is_alnum((unsigned char)s[n]))
                    n++;
                lex_push(l, T_FIELD, s + 1, n - 1, space, line);
            } else {
                lex_push(l, T_DOT, s, 1, space, line);
            }
        } else if ((c >= '0' && c <= '9') || c == '.' ||
                   ((c == '-' || c == '+') && left >= 2 &&
                    ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))) {
            while (n < left &&
                   (is_alnum((unsigned char)s[n]) || s[n] == '.' ||
                    ((s[n] == '+' || s[n] == '-') &&
                     (s[n - 1] == 'e' || s[n - 1] == 'E' || s[n - 1] == 'p' || s[n - 1] == 'P'))))
                n++;
            lex_push(l, T_NUMBER, s, n, space, line);
        } else if (is_alnum((unsigned char)c)) {
            while (n < left && is_alnum((unsigned char)s[n]))
                n++;
            int type = T_IDENT;
            if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)))
                type = T_BOOL;
            else if (n == 3 && !memcmp(s, "nil", 3))
                type = T_NIL;
            else
                for (size_t k = 0; lex_keywords[k]; k++)
                    if (strlen(lex_keywords[k]) == n && !memcmp(lex_keywords[k], s, n))
                        type = T_KW;
            lex_push(l, type, s, n, space, line);
        } else {
            return lex_fail(l, line, "unrecognized character in action: %c", c);
        }
        if (l->ntoks > 0 && l->toks[l->ntoks - 1].pos == l->pos)
            l->toks[l->ntoks - 1].rawlen = n;
        l->pos += n;
        space = false;
    }
}

static int lex_all(lexer_t *l)
{
    bool trim_next = false;
    while (l->pos < l->len) {
        const char *s = l->s + l->pos;
        size_t left = l->len - l->pos;
        const char *open = NULL;
        for (size_t i = 0; i + 1 < left; i++)
            if (s[i] == '{' && s[i + 1] == '{') {
                open = s + i;
                break;
            }
        size_t tlen = open ? (size_t)(open - s) : left;
        int tline = l->line;
        lex_lines(l, l->pos, l->pos + tlen);
        /* left trim marker of the next action: "{{- " */
        bool ltrim = open && (size_t)(open - l->s) + 3 < l->len + 0 && open[2] == '-' &&
                     (size_t)(open + 3 - l->s) < l->len && is_space(open[3]);
        const char *tp = s;
        size_t tn = tlen;
        if (trim_next)
            while (tn > 0 && is_space(*tp)) {
                tp++;
                tn--;
            }
        if (ltrim)
            while (tn > 0 && is_space(tp[tn - 1]))
                tn--;
        if (tn > 0)
            tok_at(l, lex_push(l, T_TEXT, tp, tn, false, tline), (size_t)(tp - l->s), tn);
        trim_next = false;
        if (!open)
            break;
        l->pos += tlen + 2 + (ltrim ? 2 : 0);
        int oline = l->line;
        if (ltrim)
            lex_lines(l, (size_t)(open + 3 - l->s), (size_t)(open + 4 - l->s));
        /* comments, with optional trim markers: "{{/" "*" ... "*" "/}}" */
        if (l->pos + 1 < l->len && l->s[l->pos] == '/' && l->s[l->pos + 1] == '*') {
            const char *end = NULL;
            for (size_t i = l->pos + 2; i + 1 < l->len; i++)
                if (l->s[i] == '*' && l->s[i + 1] == '/') {
                    end = l->s + i;
                    break;
                }
            if (!end)
                return lex_fail(l, oline, "unclosed comment");
            lex_lines(l, l->pos, (size_t)(end - l->s));
            l->pos = (size_t)(end - l->s) + 2;
            const char *q = l->s + l->pos;
            size_t rest = l->len - l->pos;
            if (rest >= 4 && is_space(q[0]) && q[1] == '-' && q[2] == '}' && q[3] == '}') {
                trim_next = true;
                l->pos += 4;
            } else if (rest >= 2 && q[0] == '}' && q[1] == '}') {
                l->pos += 2;
            } else {
                return lex_fail(l, oline, "comment ends before closing delimiter");
            }
            continue;
        }
        tok_at(l, lex_push(l, T_LEFT, open, 2, false, oline), (size_t)(open - l->s), 2);
        int rc = lex_action(l, oline);
        if (rc)
            return rc;
        trim_next = l->toks[l->ntoks - 1].n == 1;
    }
    lex_push(l, T_EOF, "", 0, false, l->line);
    return 0;
}

/* ---- parser ---- */

typedef struct parser {
    lexer_t lx;
    tt_arena_t *a;
    size_t i;
    const char **vars;
    size_t nvars, vcap;
    int range_depth;
    tt_def_t **defs;
    size_t *ndefs, *cap;
    const char *file;
} parser_t;

static int p_fail(parser_t *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int p_fail(parser_t *p, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->lx.err, p->lx.errlen, "template: %s:%d: %s", p->lx.name, line, msg);
    return TN_ERR_INVAL;
}

static tok_t *peek(parser_t *p)
{
    return &p->lx.toks[p->i];
}
static tok_t *peek2(parser_t *p)
{
    return &p->lx.toks[p->i + 1 < p->lx.ntoks ? p->i + 1 : p->i];
}
static tok_t *next(parser_t *p)
{
    tok_t *t = &p->lx.toks[p->i];
    if (t->type != T_EOF)
        p->i++;
    return t;
}

static bool is_kw(const tok_t *t, const char *kw)
{
    return t->type == T_KW && t->n == strlen(kw) && !memcmp(t->p, kw, t->n);
}

static const char *tok_desc(parser_t *p, const tok_t *t)
{
    switch (t->type) {
    case T_EOF:
        return "EOF";
    case T_RIGHT:
        return "}}";
    case T_STRING:
        return "quoted string";
    default:
        return tt_strndup(p->a, t->p ? t->p : "", t->p ? t->n : 0);
    }
}

static tt_node_t *node(parser_t *p, int type, int line)
{
    tt_node_t *n = tt_alloc(p->a, sizeof(*n));
    n->type = (uint8_t)type;
    n->line = line;
    return n;
}

/* A node placed where Go places it: at token t. */
static tt_node_t *node_at(parser_t *p, int type, const tok_t *t)
{
    tt_node_t *n = node(p, type, t->line);
    n->col = t->col;
    return n;
}

static void place(tt_node_t *n, const tt_node_t *at)
{
    n->line = at->line;
    n->col = at->col;
}

static void add_kid(parser_t *p, tt_node_t *n, tt_node_t *k)
{
    tt_node_t **v = tt_alloc(p->a, (n->nkids + 1) * sizeof(*v));
    if (n->nkids)
        memcpy(v, n->kids, n->nkids * sizeof(*v));
    v[n->nkids++] = k;
    n->kids = v;
}

static void add_ident(parser_t *p, tt_node_t *n, const char *s, size_t len)
{
    const char **v = tt_alloc(p->a, (n->nidents + 1) * sizeof(*v));
    if (n->nidents)
        memcpy(v, n->idents, n->nidents * sizeof(*v));
    v[n->nidents++] = tt_strndup(p->a, s, len);
    n->idents = v;
}

static void push_var(parser_t *p, const char *name)
{
    if (p->nvars == p->vcap) {
        p->vcap = p->vcap ? p->vcap * 2 : 16;
        p->vars = tn_xrealloc(p->vars, p->vcap * sizeof(char *));
    }
    p->vars[p->nvars++] = name;
}

static bool has_var(parser_t *p, const char *s, size_t n)
{
    for (size_t i = p->nvars; i-- > 0;)
        if (strlen(p->vars[i]) == n && !memcmp(p->vars[i], s, n))
            return true;
    return false;
}

static int parse_pipeline(parser_t *p, const char *ctx, int end, bool decl_ok, tt_node_t **out);

static int parse_number(parser_t *p, tok_t *t, tv_t *v)
{
    char buf[128];
    size_t k = 0;
    for (size_t i = 0; i < t->n && k + 1 < sizeof buf; i++)
        if (t->p[i] != '_')
            buf[k++] = t->p[i];
    buf[k] = 0;
    const char *s = buf;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    int base = 10;
    const char *digits = s;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, digits = s + 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, digits = s + 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, digits = s + 2;
    else if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
        base = 8, digits = s + 1;
    if (*digits) {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(digits, &end, base);
        if (*end == 0 && errno == 0 && u <= (unsigned long long)INT64_MAX + (neg ? 1 : 0)) {
            *v = tv_int(neg ? (int64_t)(0 - u) : (int64_t)u);
            return 0;
        }
    }
    if (base == 10 || base == 8) {
        char *end;
        double f = strtod(buf, &end);
        if (*end == 0 && k > 0) {
            *v = tv_float(f);
            return 0;
        }
    }
    return p_fail(p, t->line, "bad number syntax: \"%.*s\"", (int)TN_MIN(t->n, 64), t->p);
}

/* term: literal, ., .Field, $var, function name, (pipeline) */
static int parse_term(parser_t *p, tt_node_t **out)
{
    tok_t *t = next(p);
    tt_node_t *n = NULL;
    int rc;
    switch (t->type) {
    case T_IDENT:
        if (!tt_func_exists(tt_strndup(p->a, t->p, t->n)))
            return p_fail(p, t->line, "function \"%.*s\" not defined", (int)t->n, t->p);
        n = node_at(p, TN_IDENT, t);
        n->str = tt_strndup(p->a, t->p, t->n);
        break;
    case T_DOT:
        n = node_at(p, TN_DOT, t);
        break;
    case T_NIL:
        n = node_at(p, TN_NIL, t);
        break;
    case T_VAR:
        if (!has_var(p, t->p, t->n))
            return p_fail(p, t->line, "undefined variable \"%.*s\"", (int)t->n, t->p);
        n = node_at(p, TN_VAR, t);
        add_ident(p, n, t->p, t->n);
        break;
    case T_FIELD:
        n = node_at(p, TN_FIELD, t);
        add_ident(p, n, t->p, t->n);
        break;
    case T_BOOL:
    case T_NUMBER:
    case T_CHAR:
    case T_STRING:
        n = node_at(p, TN_CONST, t);
        n->srclen = t->rawlen;
        n->src = tt_strndup(p->a, p->lx.s + t->pos, t->rawlen);
        if (t->type == T_BOOL)
            n->val = tv_bool(t->n == 4);
        else if (t->type == T_CHAR)
            n->val = tv_int((int64_t)t->n);
        else if (t->type == T_STRING)
            n->val = tv_str(t->p, t->n);
        else if ((rc = parse_number(p, t, &n->val)))
            return rc;
        break;
    case T_LPAREN:
        if ((rc = parse_pipeline(p, "parenthesized pipeline", T_RPAREN, true, &n)))
            return rc;
        break;
    default:
        return p_fail(p, t->line, "unexpected %s in operand", tok_desc(p, t));
    }
    /* field chains: .A.B, $x.A, (pipe).A; Go places the chain at its first added field */
    bool chained = false;
    while (peek(p)->type == T_FIELD && !peek(p)->space) {
        tok_t *f = next(p);
        if (n->type == TN_FIELD || n->type == TN_VAR || n->type == TN_CHAIN) {
            if (!chained && n->type != TN_CHAIN)
                n->line = f->line, n->col = f->col;
            add_ident(p, n, f->p, f->n);
        } else if (n->type == TN_PIPE) {
            tt_node_t *c = node_at(p, TN_CHAIN, f);
            c->pipe = n;
            add_ident(p, c, f->p, f->n);
            n = c;
        } else {
            return p_fail(p, f->line, "unexpected . after term \"%s\"", tok_desc(p, t));
        }
        chained = true;
    }
    *out = n;
    return 0;
}

static int parse_command(parser_t *p, int end, tt_node_t **out)
{
    tt_node_t *cmd = node_at(p, TN_CMD, peek(p));
    for (;;) {
        tok_t *t = peek(p);
        if (t->type == end || t->type == T_PIPE)
            break;
        if (t->type == T_EOF || t->type == T_RIGHT || t->type == T_RPAREN)
            return p_fail(p, t->line, "unexpected %s in operand", tok_desc(p, t));
        if (cmd->nkids > 0 && !t->space && t->type != T_LPAREN)
            return p_fail(p, t->line, "unexpected %s in operand", tok_desc(p, t));
        tt_node_t *arg = NULL;
        int rc = parse_term(p, &arg);
        if (rc)
            return rc;
        add_kid(p, cmd, arg);
    }
    if (cmd->nkids == 0)
        return p_fail(p, peek(p)->line, "missing value for command");
    *out = cmd;
    return 0;
}

static int parse_pipeline(parser_t *p, const char *ctx, int end, bool decl_ok, tt_node_t **out)
{
    tt_node_t *pipe = node_at(p, TN_PIPE, peek(p));
    bool in_range = !strcmp(ctx, "range");
    /* declarations: $x := / $x = / $i, $v := */
    if (decl_ok && peek(p)->type == T_VAR &&
        (peek2(p)->type == T_DECL || peek2(p)->type == T_ASSIGN ||
         (peek2(p)->type == T_COMMA && in_range))) {
        const char *names[2];
        size_t nn = 0;
        for (;;) {
            tok_t *v = next(p);
            names[nn++] = tt_strndup(p->a, v->p, v->n);
            tok_t *op = next(p);
            if (op->type == T_COMMA) {
                if (nn == 2 || peek(p)->type != T_VAR)
                    return p_fail(p, op->line, "too many declarations in %s", ctx);
                continue;
            }
            if (op->type == T_ASSIGN) {
                pipe->assign = true;
                for (size_t i = 0; i < nn; i++)
                    if (!has_var(p, names[i], strlen(names[i])))
                        return p_fail(p, v->line, "undefined variable \"%s\"", names[i]);
            } else if (op->type != T_DECL) {
                return p_fail(p, op->line, "unexpected %s in %s", tok_desc(p, op), ctx);
            }
            break;
        }
        pipe->decl = tt_alloc(p->a, nn * sizeof(char *));
        for (size_t i = 0; i < nn; i++) {
            pipe->decl[i] = names[i];
            if (!pipe->assign)
                push_var(p, names[i]);
        }
        pipe->ndecl = nn;
    }
    for (;;) {
        tt_node_t *cmd = NULL;
        if (peek(p)->type == end && pipe->nkids == 0)
            return p_fail(p, peek(p)->line, "missing value for %s", ctx);
        int rc = parse_command(p, end, &cmd);
        if (rc)
            return rc;
        if (pipe->nkids > 0) {
            uint8_t t0 = cmd->kids[0]->type;
            if (t0 == TN_CONST || t0 == TN_DOT || t0 == TN_NIL)
                return p_fail(p, cmd->line, "non executable command in pipeline stage %zu",
                              pipe->nkids + 1);
        }
        add_kid(p, pipe, cmd);
        tok_t *t = next(p);
        if (t->type == end)
            break;
        if (t->type != T_PIPE)
            return p_fail(p, t->line, "unexpected %s in %s", tok_desc(p, t), ctx);
    }
    *out = pipe;
    return 0;
}

static int expect_right(parser_t *p, const char *ctx)
{
    tok_t *t = next(p);
    if (t->type != T_RIGHT)
        return p_fail(p, t->line, "unexpected %s in %s", tok_desc(p, t), ctx);
    return 0;
}

/* Parses items until {{end}}, {{else}} or EOF; *stop gets the keyword token seen (the
 * tokens "{{ end" / "{{ else" are consumed, the rest of the action is not). */
static int parse_list(parser_t *p, bool top, tt_node_t **out, tok_t **stop);

static int parse_template_name(parser_t *p, const char *ctx, const char **name)
{
    tok_t *t = next(p);
    if (t->type != T_STRING)
        return p_fail(p, t->line, "unexpected \"%s\" in %s", tok_desc(p, t), ctx);
    *name = tt_strndup(p->a, t->p, t->n);
    return 0;
}

static int parse_define_body(parser_t *p, const char *name, int line, tt_node_t **root)
{
    /* a definition starts a fresh variable scope holding only $ */
    const char **saved = p->vars;
    size_t saved_n = p->nvars, saved_cap = p->vcap;
    int saved_range = p->range_depth;
    p->vars = NULL;
    p->nvars = p->vcap = 0;
    p->range_depth = 0;
    push_var(p, "$");
    tok_t *stop = NULL;
    int rc = parse_list(p, false, root, &stop);
    free(p->vars);
    p->vars = saved;
    p->nvars = saved_n;
    p->vcap = saved_cap;
    p->range_depth = saved_range;
    if (rc)
        return rc;
    if (!stop || !is_kw(stop, "end"))
        return p_fail(p, stop ? stop->line : line, "unexpected %s in define clause",
                      stop ? "{{else}}" : "EOF");
    if ((rc = expect_right(p, "end")))
        return rc;
    tt_def_t d = {.name = name, .file = p->file, .root = *root};
    tt_define(p->defs, p->ndefs, p->cap, &d);
    return 0;
}

/* if / range / with, after the keyword. */
static int parse_control(parser_t *p, int type, const char *ctx, int line, tt_node_t **out)
{
    size_t mark = p->nvars;
    tt_node_t *n = node(p, type, line);
    int rc = parse_pipeline(p, ctx, T_RIGHT, true, &n->pipe);
    if (rc)
        return rc;
    place(n, n->pipe);
    if (type == TN_RANGE)
        p->range_depth++;
    tok_t *stop = NULL;
    rc = parse_list(p, false, &n->list, &stop);
    if (type == TN_RANGE)
        p->range_depth--;
    if (rc)
        goto out;
    if (!stop) {
        rc = p_fail(p, peek(p)->line, "unexpected EOF");
        goto out;
    }
    if (is_kw(stop, "else")) {
        tok_t *t = peek(p);
        if (type != TN_RANGE && (is_kw(t, "if") || is_kw(t, "with"))) {
            /* {{else if x}} is {{else}}{{if x}}..{{end}} sharing the outer {{end}} */
            next(p);
            bool is_if = is_kw(t, "if");
            tt_node_t *nested;
            rc = parse_control(p, is_if ? TN_IF : TN_WITH, is_if ? "if" : "with", t->line, &nested);
            if (rc)
                goto out;
            n->elist = node(p, TN_LIST, t->line);
            add_kid(p, n->elist, nested);
            *out = n;
            goto out;
        }
        if ((rc = expect_right(p, "else")))
            goto out;
        rc = parse_list(p, false, &n->elist, &stop);
        if (rc)
            goto out;
        if (!stop || !is_kw(stop, "end")) {
            rc = p_fail(p, stop ? stop->line : peek(p)->line, "expected end; found %s",
                        stop ? "{{else}}" : "EOF");
            goto out;
        }
    }
    rc = expect_right(p, "end");
    *out = n;
out:
    p->nvars = mark;
    return rc;
}

static int parse_action(parser_t *p, bool top, tt_node_t **out, tok_t **stop)
{
    tok_t *t = peek(p);
    int line = t->line;
    *out = NULL;
    if (t->type == T_KW) {
        if (is_kw(t, "end") || is_kw(t, "else")) {
            next(p);
            if (top)
                return p_fail(p, line, "unexpected {{%s}}", is_kw(t, "end") ? "end" : "else");
            *stop = t;
            return 0;
        }
        next(p);
        if (is_kw(t, "if"))
            return parse_control(p, TN_IF, "if", line, out);
        if (is_kw(t, "range"))
            return parse_control(p, TN_RANGE, "range", line, out);
        if (is_kw(t, "with"))
            return parse_control(p, TN_WITH, "with", line, out);
        if (is_kw(t, "break") || is_kw(t, "continue")) {
            bool brk = is_kw(t, "break");
            if (p->range_depth == 0)
                return p_fail(p, line, "{{%s}} outside {{range}}", brk ? "break" : "continue");
            int rc = expect_right(p, brk ? "break" : "continue");
            if (rc)
                return rc;
            *out = node_at(p, brk ? TN_BREAK : TN_CONTINUE, t);
            return 0;
        }
        if (is_kw(t, "template") || is_kw(t, "block")) {
            bool block = is_kw(t, "block");
            const char *ctx = block ? "block clause" : "template clause";
            tt_node_t *n = node_at(p, TN_TEMPLATE, peek(p));
            int rc = parse_template_name(p, ctx, &n->str);
            if (rc)
                return rc;
            if (peek(p)->type != T_RIGHT || block) {
                if ((rc = parse_pipeline(p, ctx, T_RIGHT, false, &n->pipe)))
                    return rc;
            } else {
                next(p);
            }
            if (block) {
                tt_node_t *root;
                if ((rc = parse_define_body(p, n->str, line, &root)))
                    return rc;
            }
            *out = n;
            return 0;
        }
        if (is_kw(t, "define")) {
            if (!top)
                return p_fail(p, line, "unexpected <define> in command");
            const char *name;
            int rc = parse_template_name(p, "define clause", &name);
            if (rc || (rc = expect_right(p, "define clause")))
                return rc;
            tt_node_t *root;
            return parse_define_body(p, name, line, &root);
        }
    }
    tt_node_t *n = node(p, TN_ACTION, line);
    int rc = parse_pipeline(p, "command", T_RIGHT, true, &n->pipe);
    if (rc)
        return rc;
    place(n, n->pipe);
    *out = n;
    return 0;
}

static int parse_list(parser_t *p, bool top, tt_node_t **out, tok_t **stop)
{
    tt_node_t *list = node(p, TN_LIST, peek(p)->line);
    *stop = NULL;
    for (;;) {
        tok_t *t = next(p);
        if (t->type == T_EOF) {
            if (!top)
                return p_fail(p, t->line, "unexpected EOF");
            break;
        }
        if (t->type == T_TEXT) {
            tt_node_t *n = node_at(p, TN_TEXT, t);
            n->str = tt_strndup(p->a, t->p, t->n);
            n->slen = t->n;
            add_kid(p, list, n);
            continue;
        }
        if (t->type != T_LEFT)
            return p_fail(p, t->line, "unexpected %s", tok_desc(p, t));
        tt_node_t *n;
        int rc = parse_action(p, top, &n, stop);
        if (rc)
            return rc;
        if (*stop)
            break;
        if (n)
            add_kid(p, list, n);
    }
    *out = list;
    return 0;
}

/* Go's Node.String(): the node written back as template source. */
void tt_node_string(tn_buf_t *b, const tt_node_t *n)
{
    static const char *const kw[] = {[TN_IF] = "if", [TN_RANGE] = "range", [TN_WITH] = "with"};
    if (!n)
        return;
    switch (n->type) {
    case TN_LIST:
        for (size_t i = 0; i < n->nkids; i++)
            tt_node_string(b, n->kids[i]);
        return;
    case TN_TEXT:
        tn_buf_append(b, n->str, n->slen);
        return;
    case TN_ACTION:
        tn_buf_puts(b, "{{");
        tt_node_string(b, n->pipe);
        tn_buf_puts(b, "}}");
        return;
    case TN_IF:
    case TN_RANGE:
    case TN_WITH:
        tn_buf_printf(b, "{{%s ", kw[n->type]);
        tt_node_string(b, n->pipe);
        tn_buf_puts(b, "}}");
        tt_node_string(b, n->list);
        if (n->elist) {
            tn_buf_puts(b, "{{else}}");
            tt_node_string(b, n->elist);
        }
        tn_buf_puts(b, "{{end}}");
        return;
    case TN_TEMPLATE:
        tn_buf_puts(b, "{{template ");
        tn_go_quote(b, n->str, strlen(n->str));
        if (n->pipe) {
            tn_buf_putc(b, ' ');
            tt_node_string(b, n->pipe);
        }
        tn_buf_puts(b, "}}");
        return;
    case TN_BREAK:
        tn_buf_puts(b, "{{break}}");
        return;
    case TN_CONTINUE:
        tn_buf_puts(b, "{{continue}}");
        return;
    case TN_PIPE:
        for (size_t i = 0; i < n->ndecl; i++)
            tn_buf_printf(b, "%s%s", i ? ", " : "", n->decl[i]);
        if (n->ndecl)
            tn_buf_puts(b, n->assign ? " = " : " := ");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                tn_buf_puts(b, " | ");
            tt_node_string(b, n->kids[i]);
        }
        return;
    case TN_CMD:
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                tn_buf_putc(b, ' ');
            bool paren = n->kids[i]->type == TN_PIPE;
            if (paren)
                tn_buf_putc(b, '(');
            tt_node_string(b, n->kids[i]);
            if (paren)
                tn_buf_putc(b, ')');
        }
        return;
    case TN_FIELD:
        for (size_t i = 0; i < n->nidents; i++)
            tn_buf_printf(b, ".%s", n->idents[i]);
        return;
    case TN_VAR:
        for (size_t i = 0; i < n->nidents; i++)
            tn_buf_printf(b, "%s%s", i ? "." : "", n->idents[i]);
        return;
    case TN_CHAIN:
        if (n->pipe && n->pipe->type == TN_PIPE) {
            tn_buf_putc(b, '(');
            tt_node_string(b, n->pipe);
            tn_buf_putc(b, ')');
        } else {
            tt_node_string(b, n->pipe);
        }
        for (size_t i = 0; i < n->nidents; i++)
            tn_buf_printf(b, ".%s", n->idents[i]);
        return;
    case TN_IDENT:
        tn_buf_puts(b, n->str);
        return;
    case TN_DOT:
        tn_buf_putc(b, '.');
        return;
    case TN_NIL:
        tn_buf_puts(b, "nil");
        return;
    case TN_CONST:
        tn_buf_append(b, n->src ? n->src : "", n->srclen);
        return;
    }
}

bool tt_tree_empty(const tt_node_t *n)
{
    if (!n)
        return true;
    if (n->type == TN_TEXT) {
        for (size_t i = 0; i < n->slen; i++)
            if (!is_space(n->str[i]))
                return false;
        return true;
    }
    if (n->type != TN_LIST)
        return false;
    for (size_t i = 0; i < n->nkids; i++)
        if (!tt_tree_empty(n->kids[i]))
            return false;
    return true;
}

const tt_def_t *tt_find(const tt_def_t *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(defs[i].name, name))
            return &defs[i];
    return NULL;
}

void tt_define(tt_def_t **defs, size_t *ndefs, size_t *cap, const tt_def_t *d)
{
    for (size_t i = 0; i < *ndefs; i++)
        if (!strcmp((*defs)[i].name, d->name)) {
            if (tt_tree_empty(d->root) && !tt_tree_empty((*defs)[i].root))
                return;
            (*defs)[i] = *d;
            return;
        }
    if (*ndefs == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *defs = tn_xrealloc(*defs, *cap * sizeof(tt_def_t));
    }
    (*defs)[(*ndefs)++] = *d;
}

int tt_parse(tt_arena_t *a, const char *name, const char *text, size_t len, tt_def_t **defs,
             size_t *ndefs, size_t *cap, tt_node_t **top, char *err, size_t errlen)
{
    parser_t p = {0};
    p.lx = (lexer_t){
        .a = a, .s = text, .len = len, .line = 1, .err = err, .errlen = errlen, .name = name};
    p.a = a;
    p.defs = defs;
    p.ndefs = ndefs;
    p.cap = cap;
    p.file = tt_strndup(a, name, strlen(name));
    int rc = lex_all(&p.lx);
    if (rc == 0) {
        push_var(&p, "$");
        tok_t *stop = NULL;
        rc = parse_list(&p, true, top, &stop);
    }
    free(p.lx.toks);
    free(p.vars);
    return rc;
}

/* ---- the template set ---- */

tn_tmpl_t *tn_tmpl_new(void)
{
    tn_tmpl_t *t = tn_xcalloc(1, sizeof(tn_tmpl_t));
    pthread_mutex_init(&t->zmu, NULL);
    return t;
}

/* Loads the zones named by constants in `tz "Zone"` calls, so renders find them cached. */
static void preload_zones(tn_tmpl_t *t, const tt_node_t *n)
{
    if (!n)
        return;
    if (n->type == TN_CMD && n->nkids >= 2 && n->kids[0]->type == TN_IDENT &&
        !strcmp(n->kids[0]->str, "tz") && n->kids[1]->type == TN_CONST &&
        n->kids[1]->val.kind == TV_STR && n->kids[1]->val.s.n > 0 && n->kids[1]->val.s.n < 256 &&
        !memchr(n->kids[1]->val.s.p, 0, n->kids[1]->val.s.n)) {
        char name[256];
        memcpy(name, n->kids[1]->val.s.p, n->kids[1]->val.s.n);
        name[n->kids[1]->val.s.n] = 0;
        tt_zones_preload(t, name);
    }
    for (size_t i = 0; i < n->nkids; i++)
        preload_zones(t, n->kids[i]);
    preload_zones(t, n->pipe);
    preload_zones(t, n->list);
    preload_zones(t, n->elist);
}

/* Parses into a scratch arena and definition list so that a failure leaves t unchanged. */
static int tmpl_add(tn_tmpl_t *t, const char *errname, const char *tname, const char *text,
                    size_t len, char *err, size_t errlen)
{
    tt_arena_t a = {0};
    size_t nd = t->ndefs, cap = nd + 16;
    tt_def_t *defs = tn_xmalloc(cap * sizeof(tt_def_t));
    if (nd)
        memcpy(defs, t->defs, nd * sizeof(tt_def_t));
    tt_node_t *top = NULL;
    int rc = tt_parse(&a, errname, text, len, &defs, &nd, &cap, &top, err, errlen);
    if (rc) {
        free(defs);
        tt_arena_free(&a);
        return rc;
    }
    /* the file's own top-level text is a template named after the file, as Go does */
    if (tname && *tname) {
        tt_def_t d = {.name = tt_strndup(&a, tname, strlen(tname)), .file = errname, .root = top};
        d.file = tt_strndup(&a, errname, strlen(errname));
        tt_define(&defs, &nd, &cap, &d);
    }
    free(t->defs);
    t->defs = defs;
    t->ndefs = nd;
    t->cap = cap;
    tt_arena_move(&t->arena, &a);
    return 0;
}

int tn_tmpl_add(tn_tmpl_t *t, const char *name, const char *text, size_t len, char *err,
                size_t errlen)
{
    return tmpl_add(t, name, name, text, len, err, errlen);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return TN_ERR_IO;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        tn_buf_append(&b, tmp, n);
    int rc = ferror(f) ? TN_ERR_IO : 0;
    fclose(f);
    tn_buf_cstr(&b);
    *out = b.data ? b.data : tn_xstrdup("");
    *len = b.len;
    return rc;
}

tn_tmpl_t *tn_tmpl_load(char *const *globs, size_t nglobs, char *err, size_t errlen)
{
    return tt_load(globs, nglobs, false, err, errlen);
}

tn_tmpl_t *tt_load(char *const *globs, size_t nglobs, bool go_names, char *err, size_t errlen)
{
    tn_tmpl_t *t = tn_tmpl_new();
    if (tmpl_add(t, "default.tmpl", NULL, tn_tmpl_default_text, strlen(tn_tmpl_default_text), err,
                 errlen)) {
        tn_tmpl_free(t);
        return NULL;
    }
    for (size_t i = 0; i < nglobs; i++) {
        glob_t g;
        int grc = glob(globs[i], 0, NULL, &g);
        if (grc == GLOB_NOMATCH)
            continue; /* an empty match is allowed: files may appear later */
        if (grc != 0) {
            snprintf(err, errlen, "template glob %s: cannot be expanded", globs[i]);
            tn_tmpl_free(t);
            return NULL;
        }
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
        for (size_t j = 0; j < g.gl_pathc; j++) {
            const char *path = g.gl_pathv[j];
            char *text;
            size_t len;
            if (read_file(path, &text, &len)) {
                snprintf(err, errlen, "%s: cannot read template file", path);
                free(text);
                globfree(&g);
                tn_tmpl_free(t);
                return NULL;
            }
            const char *base = strrchr(path, '/');
            base = base ? base + 1 : path;
            int rc = tmpl_add(t, go_names ? base : path, base, text, len, err, errlen);
            free(text);
            if (rc) {
                globfree(&g);
                tn_tmpl_free(t);
                return NULL;
            }
        }
        globfree(&g);
    }
    tt_zones_preload(t, "Local"); /* now, and times shown in the local zone */
    for (size_t i = 0; i < t->ndefs; i++)
        preload_zones(t, t->defs[i].root);
    return t;
}

void tn_tmpl_free(tn_tmpl_t *t)
{
    if (!t)
        return;
    tt_arena_free(&t->arena);
    free(t->defs);
    tt_zones_free(&t->zones);
    pthread_mutex_destroy(&t->zmu);
    free(t);
}
