/* Matcher parsing internals, for tests: the lexer of the UTF-8 matcher syntax and that syntax's
 * parser alone (tn_matchers_parse / tn_matcher_parse pick the syntax by the label mode). */
#ifndef TOCSIN_MATCHERS_INTERNAL_H
#define TOCSIN_MATCHERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "tocsin/common.h"
#include "tocsin/config.h"

enum tn_mtok_kind {
    TN_MTOK_EOF = 0,
    TN_MTOK_OPEN,
    TN_MTOK_CLOSE,
    TN_MTOK_COMMA,
    TN_MTOK_EQ,
    TN_MTOK_NE,
    TN_MTOK_RE,
    TN_MTOK_NRE,
    TN_MTOK_QUOTED,
    TN_MTOK_UNQUOTED,
};

/* A token: its kind and where it lies, in bytes and in runes. Its text is in[off..end). The
 * end-of-input token, and the token handed back with an error, are all zeros. */
typedef struct tn_mtok {
    enum tn_mtok_kind kind;
    size_t off, end;     /* bytes */
    size_t col, col_end; /* runes */
} tn_mtok_t;

typedef struct tn_mlex {
    const char *in;
    size_t len;
    size_t start, pos, width;
    size_t column, cols;
    bool failed; /* sticky, as the error is */
    char lexerr[TN_ERRBUF_SIZE];
} tn_mlex_t;

void tn_mlex_init(tn_mlex_t *l, const char *in, size_t len);
/* The next token (TN_MTOK_EOF once the input is used up): 0, or -1 with the error in l->lexerr
 * and *t zeroed. After an error every call fails the same way. */
int tn_mlex_scan(tn_mlex_t *l, tn_mtok_t *t);
/* The same without consuming the token. */
int tn_mlex_peek(tn_mlex_t *l, tn_mtok_t *t);
/* The span from the end of the last token emitted to the cursor (kind TN_MTOK_EOF). */
tn_mtok_t tn_mlex_position(const tn_mlex_t *l);

/* The UTF-8 syntax alone, without the fallback: zero or more matchers appended to out (on
 * error out may hold part of them), or exactly one. */
int tn_matchers_parse_utf8(const char *s, tn_matchers_t *out, char *err, size_t errlen);
int tn_matcher_parse_utf8(const char *s, tn_matcher_t *out, char *err, size_t errlen);

#endif
