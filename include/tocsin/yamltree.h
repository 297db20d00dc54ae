/* A thin layer over libyaml's document API for the config loader: node kinds, null and
 * scalar reading, mappings with merge keys (<<) expanded and duplicate keys refused, and
 * errors that name file:line:column (1-based). Aliases are shared nodes, as libyaml loads them. */
#ifndef TOCSIN_YAMLTREE_H
#define TOCSIN_YAMLTREE_H

#include <yaml.h>

#include "tocsin/common.h"

typedef yaml_node_t tn_ynode_t;

typedef struct tn_yaml {
    yaml_document_t doc;
    bool loaded;
    const char *file; /* borrowed; used in messages */
    char *err;        /* caller's buffer */
    size_t errlen;
} tn_yaml_t;

typedef struct tn_ypair {
    tn_ynode_t *key; /* a scalar */
    tn_ynode_t *value;
} tn_ypair_t;

/* Parses one document. On a syntax error writes "file:line:col: message" and returns
 * TN_ERR_INVAL. err must outlive y. A second document in the stream is an error. */
int tn_yaml_load(tn_yaml_t *y, const char *file, const char *text, size_t len, char *err,
                 size_t errlen);
void tn_yaml_free(tn_yaml_t *y);
/* NULL for an empty document. */
tn_ynode_t *tn_yaml_root(tn_yaml_t *y);

/* Writes "file:line:col: message" for node `at` (NULL: line 1 col 1) into the error buffer and
 * returns TN_ERR_INVAL. */
int tn_yaml_error(tn_yaml_t *y, const tn_ynode_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tn_yaml_line(const tn_ynode_t *n);
int tn_yaml_col(const tn_ynode_t *n);

/* A plain ~, null, Null, NULL or empty scalar (quoted "" is a string, not null). */
bool tn_yaml_is_null(const tn_ynode_t *n);
bool tn_yaml_is_scalar(const tn_ynode_t *n);
bool tn_yaml_is_map(const tn_ynode_t *n);
bool tn_yaml_is_seq(const tn_ynode_t *n);
/* Scalar text (NUL-terminated) or NULL when n is not a scalar. */
const char *tn_yaml_scalar(const tn_ynode_t *n);
/* True when the scalar was written without quotes (bools and nulls are plain only). */
bool tn_yaml_plain(const tn_ynode_t *n);
/* "a mapping", "a sequence", "a string": for type errors. */
const char *tn_yaml_kind(const tn_ynode_t *n);

/* Pairs of a mapping in document order, merge keys expanded (explicit keys win, then earlier
 * merged maps). Duplicate or non-scalar keys are errors. *out is a new array the caller frees;
 * returns the count or a negative error code. */
int tn_yaml_map_pairs(tn_yaml_t *y, tn_ynode_t *map, tn_ypair_t **out);
/* The error for node n where a list was expected: "<what>: expected a list, got <kind>". */
int tn_yaml_list_error(tn_yaml_t *y, tn_ynode_t *n, const char *what);
/* tn_yaml_map_pairs for a node that must be a mapping: anything else is the error
 * "<what>: expected a mapping, got <kind>" at the node. */
int tn_yaml_mapping(tn_yaml_t *y, tn_ynode_t *n, const char *what, tn_ypair_t **out);
/* Value of key in a mapping (merge keys honoured), or NULL. Null values are returned as is. */
tn_ynode_t *tn_yaml_map_get(tn_yaml_t *y, tn_ynode_t *map, const char *key);
size_t tn_yaml_seq_len(const tn_ynode_t *n);
tn_ynode_t *tn_yaml_seq_item(tn_yaml_t *y, const tn_ynode_t *n, size_t i);

/* ---- values: a node as Go's YAML v2 reader decodes it into interface{} ---- */

typedef enum tn_yval_kind {
    TN_YVAL_NULL,
    TN_YVAL_BOOL,
    TN_YVAL_INT,   /* fits int64 */
    TN_YVAL_UINT,  /* above INT64_MAX */
    TN_YVAL_FLOAT, /* may be NaN or an infinity (.nan, .inf) */
    TN_YVAL_STR,
    TN_YVAL_SEQ,
    TN_YVAL_MAP,
} tn_yval_kind_t;

typedef struct tn_yval {
    tn_yval_kind_t kind;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    char *s;               /* STR */
    struct tn_yval *items; /* SEQ: the n items; MAP: the n values */
    char **keys;           /* MAP: the n keys in document order (merge keys expanded) */
    size_t n;
} tn_yval_t;

/* Decodes node n (NULL: null) into a new tree in *out, freed with tn_yval_free. Plain scalars
 * resolve as yaml.v2 resolves them: null (~, null, empty), booleans (true, yes, on, y, and
 * their negatives, in three cases), integers (signs, 0x, 0o, 0b, leading-0 octal, _ ignored),
 * floats (1.5, 1e3, .inf, .nan); anything else, and every quoted or block scalar, is a string.
 * A mapping keeps only the keys that resolve to strings, as Alertmanager drops the others.
 * Mapping errors (duplicate keys, bad merges) are tn_yaml_map_pairs's. */
int tn_yaml_value(tn_yaml_t *y, tn_ynode_t *n, tn_yval_t **out);
void tn_yval_free(tn_yval_t *v);

#endif
