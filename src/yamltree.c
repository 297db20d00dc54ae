/* YAML documents for the config loader: libyaml's node tree with positions, merge keys and
 * strict mappings. */
#include "tocsin/yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Merge keys may nest (a merged map merging another); cap it so a cycle cannot recurse. */
#define YAML_MERGE_DEPTH 16
/* Aliases make the document a graph that the readers walk as a tree: a few lines can spell out
 * billions of nodes, or a node that contains itself. The tree is measured once after loading
 * and refused beyond these. */
#define YAML_MAX_DEPTH       1000
#define YAML_MAX_ALIAS_NODES 1000000 /* nodes aliases may add to the tree */

enum { YAML_NODE_NEW, YAML_NODE_BUSY, YAML_NODE_DONE };

typedef struct yaml_measure {
    tn_yaml_t *y;
    unsigned char *state; /* by node id - 1 */
    uint64_t *size;       /* nodes in the tree under a node, itself included; saturates */
    uint64_t cap;
} yaml_measure_t;

static int yaml_measure_node(yaml_measure_t *m, int id, int depth, uint64_t *out)
{
    tn_ynode_t *n = yaml_document_get_node(&m->y->doc, id);
    size_t i = (size_t)id - 1;
    uint64_t total = 1, sub;
    int rc;

    if (!n)
        return tn_yaml_error(m->y, NULL, "yaml: dangling node reference");
    if (m->state[i] == YAML_NODE_DONE) {
        *out = m->size[i];
        return TN_OK;
    }
    if (m->state[i] == YAML_NODE_BUSY)
        return tn_yaml_error(m->y, n, "yaml: anchored value contains an alias to itself");
    if (depth > YAML_MAX_DEPTH)
        return tn_yaml_error(m->y, n, "yaml: nested deeper than %d levels", YAML_MAX_DEPTH);
    m->state[i] = YAML_NODE_BUSY;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            if ((rc = yaml_measure_node(m, *it, depth + 1, &sub)) != TN_OK)
                return rc;
            total = TN_MIN(total + sub, m->cap);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            if ((rc = yaml_measure_node(m, p->key, depth + 1, &sub)) != TN_OK)
                return rc;
            total = TN_MIN(total + sub, m->cap);
            if ((rc = yaml_measure_node(m, p->value, depth + 1, &sub)) != TN_OK)
                return rc;
            total = TN_MIN(total + sub, m->cap);
        }
    }
    m->state[i] = YAML_NODE_DONE;
    m->size[i] = total;
    *out = total;
    return TN_OK;
}

/* Refuses documents whose aliases form a cycle or expand too far, and absurd nesting. */
static int yaml_check_aliases(tn_yaml_t *y)
{
    size_t nnodes = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
    yaml_measure_t m = {.y = y};
    uint64_t total = 0;
    int rc;

    if (nnodes == 0)
        return TN_OK;
    m.state = tn_xcalloc(nnodes, sizeof(*m.state));
    m.size = tn_xcalloc(nnodes, sizeof(*m.size));
    m.cap = (uint64_t)nnodes + YAML_MAX_ALIAS_NODES + 1;
    rc = yaml_measure_node(&m, 1, 0, &total);
    if (rc == TN_OK && total >= m.cap)
        rc = tn_yaml_error(y, tn_yaml_root(y),
                           "yaml: aliases expand the document beyond %d extra nodes",
                           YAML_MAX_ALIAS_NODES);
    free(m.state);
    free(m.size);
    return rc;
}

int tn_yaml_line(const tn_ynode_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

int tn_yaml_col(const tn_ynode_t *n)
{
    return n ? (int)n->start_mark.column + 1 : 1;
}

int tn_yaml_error(tn_yaml_t *y, const tn_ynode_t *at, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!y->err || y->errlen == 0)
        return TN_ERR_INVAL;
    n = snprintf(y->err, y->errlen, "%s:%d:%d: ", y->file, tn_yaml_line(at), tn_yaml_col(at));
    if (n >= 0 && (size_t)n < y->errlen) {
        va_start(ap, fmt);
        vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TN_ERR_INVAL;
}

/* Builds the document from parser events rather than with yaml_parser_load, so that nesting
 * is refused when it is read: libyaml's scanner costs O(depth) per token, and a document
 * nested 100,000 deep took seconds before the tree could be measured. */
typedef struct yaml_anchor {
    char *name;
    int id;
} yaml_anchor_t;

typedef struct yaml_composer {
    tn_yaml_t *y;
    yaml_parser_t *p;
    int stack[YAML_MAX_DEPTH + 1];       /* open collections, by node id */
    int pending_key[YAML_MAX_DEPTH + 1]; /* a mapping's key waiting for its value, or 0 */
    int depth;
    yaml_anchor_t *anchors;
    size_t nanchors, anchors_alloc;
} yaml_composer_t;

static int yaml_parse_error(tn_yaml_t *y, yaml_parser_t *p)
{
    if (!y->err || y->errlen == 0)
        return TN_ERR_INVAL;
    snprintf(y->err, y->errlen, "%s:%zu:%zu: yaml: %s%s%s", y->file, p->problem_mark.line + 1,
             p->problem_mark.column + 1, p->problem ? p->problem : "syntax error",
             p->context ? " " : "", p->context ? p->context : "");
    return TN_ERR_INVAL;
}

static int yaml_mark_error(tn_yaml_t *y, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int yaml_mark_error(tn_yaml_t *y, const yaml_mark_t *m, const char *fmt, ...)
{
    va_list ap;
    if (!y->err || y->errlen == 0)
        return TN_ERR_INVAL;
    int n = snprintf(y->err, y->errlen, "%s:%zu:%zu: yaml: ", y->file, m->line + 1, m->column + 1);
    if (n >= 0 && (size_t)n < y->errlen) {
        va_start(ap, fmt);
        vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TN_ERR_INVAL;
}

/* An anchor defined twice names the later node, as Go's YAML reader has it. */
static void yaml_anchor_set(yaml_composer_t *c, const char *name, int id)
{
    for (size_t i = 0; i < c->nanchors; i++)
        if (!strcmp(c->anchors[i].name, name)) {
            c->anchors[i].id = id;
            return;
        }
    if (c->nanchors == c->anchors_alloc) {
        c->anchors_alloc = c->anchors_alloc ? c->anchors_alloc * 2 : 8;
        c->anchors = tn_xrealloc(c->anchors, c->anchors_alloc * sizeof(*c->anchors));
    }
    c->anchors[c->nanchors].name = tn_xstrdup(name);
    c->anchors[c->nanchors++].id = id;
}

static int yaml_anchor_get(const yaml_composer_t *c, const char *name)
{
    for (size_t i = c->nanchors; i-- > 0;)
        if (!strcmp(c->anchors[i].name, name))
            return c->anchors[i].id;
    return 0;
}

/* Hangs node `id` under the open collection, if any. */
static int yaml_attach(yaml_composer_t *c, int id)
{
    yaml_document_t *d = &c->y->doc;
    if (c->depth == 0)
        return TN_OK; /* the root */
    int parent = c->stack[c->depth - 1];
    yaml_node_t *pn = yaml_document_get_node(d, parent);
    int ok;
    if (pn->type == YAML_SEQUENCE_NODE) {
        ok = yaml_document_append_sequence_item(d, parent, id);
    } else if (!c->pending_key[c->depth - 1]) {
        c->pending_key[c->depth - 1] = id;
        ok = 1;
    } else {
        ok = yaml_document_append_mapping_pair(d, parent, c->pending_key[c->depth - 1], id);
        c->pending_key[c->depth - 1] = 0;
    }
    return ok ? TN_OK : TN_ERR_NOMEM;
}

static void yaml_set_marks(yaml_document_t *d, int id, const yaml_event_t *e)
{
    yaml_node_t *n = yaml_document_get_node(d, id);
    n->start_mark = e->start_mark;
    n->end_mark = e->end_mark;
}

static const yaml_char_t *yaml_event_tag(const yaml_char_t *tag)
{
    return tag && strcmp((const char *)tag, "!") ? tag : NULL;
}

/* Reads one document's nodes, after its DOCUMENT-START event, up to its DOCUMENT-END. */
static int yaml_compose_nodes(yaml_composer_t *c)
{
    yaml_document_t *d = &c->y->doc;
    yaml_event_t e;
    int rc = TN_OK;

    for (;;) {
        int id = 0;
        const yaml_char_t *anchor = NULL;
        if (!yaml_parser_parse(c->p, &e))
            return yaml_parse_error(c->y, c->p);
        switch (e.type) {
        case YAML_DOCUMENT_END_EVENT:
            yaml_event_delete(&e);
            return TN_OK;
        case YAML_ALIAS_EVENT:
            id = yaml_anchor_get(c, (const char *)e.data.alias.anchor);
            if (!id)
                rc = yaml_mark_error(c->y, &e.start_mark, "unknown anchor \"%s\" referenced",
                                     (const char *)e.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            anchor = e.data.scalar.anchor;
            id = yaml_document_add_scalar(d, yaml_event_tag(e.data.scalar.tag), e.data.scalar.value,
                                          (int)e.data.scalar.length, e.data.scalar.style);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (c->depth >= YAML_MAX_DEPTH) {
                rc = yaml_mark_error(c->y, &e.start_mark, "nested deeper than %d levels",
                                     YAML_MAX_DEPTH);
                break;
            }
            if (e.type == YAML_SEQUENCE_START_EVENT) {
                anchor = e.data.sequence_start.anchor;
                id = yaml_document_add_sequence(d, yaml_event_tag(e.data.sequence_start.tag),
                                                e.data.sequence_start.style);
            } else {
                anchor = e.data.mapping_start.anchor;
                id = yaml_document_add_mapping(d, yaml_event_tag(e.data.mapping_start.tag),
                                               e.data.mapping_start.style);
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            int done = c->stack[--c->depth];
            yaml_node_t *n = yaml_document_get_node(d, done);
            n->end_mark = e.end_mark;
            rc = yaml_attach(c, done);
            yaml_event_delete(&e);
            if (rc != TN_OK)
                return rc;
            continue;
        }
        default:
            break;
        }
        if (rc == TN_OK && !id)
            rc = TN_ERR_NOMEM;
        if (rc == TN_OK && e.type != YAML_ALIAS_EVENT) {
            yaml_set_marks(d, id, &e);
            if (anchor)
                yaml_anchor_set(c, (const char *)anchor, id);
        }
        if (rc == TN_OK) {
            if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) {
                c->stack[c->depth] = id;
                c->pending_key[c->depth++] = 0;
            } else {
                rc = yaml_attach(c, id);
            }
        }
        yaml_event_delete(&e);
        if (rc != TN_OK)
            return rc;
    }
}

int tn_yaml_load(tn_yaml_t *y, const char *file, const char *text, size_t len, char *err,
                 size_t errlen)
{
    yaml_parser_t parser;
    yaml_composer_t *c;
    yaml_event_t e;
    int rc = TN_OK;

    memset(y, 0, sizeof(*y));
    y->file = file;
    y->err = err;
    y->errlen = errlen;
    if (!yaml_parser_initialize(&parser))
        return TN_ERR_NOMEM;
    if (!yaml_document_initialize(&y->doc, NULL, NULL, NULL, 1, 1)) {
        yaml_parser_delete(&parser);
        return TN_ERR_NOMEM;
    }
    y->loaded = true;
    c = tn_xcalloc(1, sizeof(*c));
    c->y = y;
    c->p = &parser;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    /* stream start, then at most one document with content */
    for (bool first = true; rc == TN_OK;) {
        if (!yaml_parser_parse(&parser, &e)) {
            rc = yaml_parse_error(y, &parser);
            break;
        }
        yaml_event_type_t t = e.type;
        yaml_mark_t at = e.start_mark;
        yaml_event_delete(&e);
        if (t == YAML_STREAM_END_EVENT)
            break;
        if (t != YAML_DOCUMENT_START_EVENT)
            continue;
        if (first) {
            first = false;
            rc = yaml_compose_nodes(c);
            if (rc == TN_OK && yaml_document_get_root_node(&y->doc))
                rc = yaml_check_aliases(y);
            continue;
        }
        /* a later document must be empty */
        if (!yaml_parser_parse(&parser, &e)) {
            rc = yaml_parse_error(y, &parser);
            break;
        }
        t = e.type;
        at = e.start_mark;
        yaml_event_delete(&e);
        if (t != YAML_DOCUMENT_END_EVENT)
            rc = yaml_mark_error(y, &at, "expected a single YAML document");
    }
    for (size_t i = 0; i < c->nanchors; i++)
        free(c->anchors[i].name);
    free(c->anchors);
    free(c);
    yaml_parser_delete(&parser);
    if (rc != TN_OK)
        tn_yaml_free(y);
    return rc;
}

void tn_yaml_free(tn_yaml_t *y)
{
    if (y->loaded)
        yaml_document_delete(&y->doc);
    y->loaded = false;
}

tn_ynode_t *tn_yaml_root(tn_yaml_t *y)
{
    return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

bool tn_yaml_is_scalar(const tn_ynode_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

bool tn_yaml_is_map(const tn_ynode_t *n)
{
    return n && n->type == YAML_MAPPING_NODE;
}

bool tn_yaml_is_seq(const tn_ynode_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE;
}

bool tn_yaml_plain(const tn_ynode_t *n)
{
    return tn_yaml_is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

const char *tn_yaml_scalar(const tn_ynode_t *n)
{
    return tn_yaml_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

bool tn_yaml_is_null(const tn_ynode_t *n)
{
    const char *s;

    if (!n)
        return true;
    if (!tn_yaml_plain(n))
        return false;
    s = tn_yaml_scalar(n);
    return s[0] == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

const char *tn_yaml_kind(const tn_ynode_t *n)
{
    if (!n || tn_yaml_is_null(n))
        return "null";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

size_t tn_yaml_seq_len(const tn_ynode_t *n)
{
    if (!tn_yaml_is_seq(n))
        return 0;
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

tn_ynode_t *tn_yaml_seq_item(tn_yaml_t *y, const tn_ynode_t *n, size_t i)
{
    if (i >= tn_yaml_seq_len(n))
        return NULL;
    return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

static bool yaml_is_merge_key(const tn_ynode_t *k)
{
    return tn_yaml_plain(k) && strcmp(tn_yaml_scalar(k), "<<") == 0;
}

static bool yaml_have_key(const tn_ypair_t *v, size_t n, const char *key, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tn_yaml_scalar(v[i].key), key) == 0) {
            if (at)
                *at = i;
            return true;
        }
    }
    return false;
}

/* Appends pairs of map to *v. Explicit keys of one mapping must be unique; merged keys only
 * fill keys not already present (explicit=false). */
static int yaml_collect(tn_yaml_t *y, tn_ynode_t *map, tn_ypair_t **v, size_t *n, size_t *alloc,
                        bool explicit, int depth)
{
    yaml_node_pair_t *p;
    size_t first = *n;

    if (depth > YAML_MERGE_DEPTH)
        return tn_yaml_error(y, map, "merge keys nested too deeply");
    /* Explicit keys first, so that they win over merged ones wherever << appears. */
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        tn_ynode_t *k = yaml_document_get_node(&y->doc, p->key);
        tn_ynode_t *val = yaml_document_get_node(&y->doc, p->value);
        size_t at;

        if (!tn_yaml_is_scalar(k))
            return tn_yaml_error(y, k, "mapping keys must be strings");
        if (yaml_is_merge_key(k))
            continue;
        /* *v is NULL until the first pair: no pointer arithmetic on it. */
        if (*v && yaml_have_key(*v + first, *n - first, tn_yaml_scalar(k), &at)) {
            if (explicit)
                return tn_yaml_error(y, k, "key \"%s\" already set in mapping (line %d)",
                                     tn_yaml_scalar(k), tn_yaml_line((*v)[first + at].key));
            continue;
        }
        if (!explicit && yaml_have_key(*v, first, tn_yaml_scalar(k), NULL))
            continue;
        if (*n == *alloc) {
            *alloc = *alloc ? *alloc * 2 : 8;
            *v = tn_xrealloc(*v, *alloc * sizeof(**v));
        }
        (*v)[*n].key = k;
        (*v)[*n].value = val;
        (*n)++;
    }
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        tn_ynode_t *k = yaml_document_get_node(&y->doc, p->key);
        tn_ynode_t *val = yaml_document_get_node(&y->doc, p->value);
        int rc;

        if (!yaml_is_merge_key(k))
            continue;
        if (tn_yaml_is_map(val)) {
            rc = yaml_collect(y, val, v, n, alloc, false, depth + 1);
            if (rc < 0)
                return rc;
        } else if (tn_yaml_is_seq(val)) {
            for (size_t i = 0; i < tn_yaml_seq_len(val); i++) {
                tn_ynode_t *m = tn_yaml_seq_item(y, val, i);
                if (!tn_yaml_is_map(m))
                    return tn_yaml_error(y, m,
                                         "map merge requires a mapping or a list of "
                                         "mappings");
                rc = yaml_collect(y, m, v, n, alloc, false, depth + 1);
                if (rc < 0)
                    return rc;
            }
        } else {
            return tn_yaml_error(y, val, "map merge requires a mapping or a list of mappings");
        }
    }
    return TN_OK;
}

int tn_yaml_map_pairs(tn_yaml_t *y, tn_ynode_t *map, tn_ypair_t **out)
{
    tn_ypair_t *v = NULL;
    size_t n = 0, alloc = 0;
    int rc;

    *out = NULL;
    if (!tn_yaml_is_map(map))
        return 0;
    rc = yaml_collect(y, map, &v, &n, &alloc, true, 0);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return (int)n;
}

tn_ynode_t *tn_yaml_map_get(tn_yaml_t *y, tn_ynode_t *map, const char *key)
{
    tn_ypair_t *v;
    tn_ynode_t *res = NULL;
    int n;
    char *saved = y->err;

    /* Lookups never report: errors surface when the mapping is read whole. */
    y->err = NULL;
    n = tn_yaml_map_pairs(y, map, &v);
    y->err = saved;
    for (int i = 0; i < n; i++) {
        if (strcmp(tn_yaml_scalar(v[i].key), key) == 0) {
            res = v[i].value;
            break;
        }
    }
    free(v);
    return res;
}

int tn_yaml_list_error(tn_yaml_t *y, tn_ynode_t *n, const char *what)
{
    return tn_yaml_error(y, n, "%s: expected a list, got %s", what, tn_yaml_kind(n));
}

int tn_yaml_mapping(tn_yaml_t *y, tn_ynode_t *n, const char *what, tn_ypair_t **out)
{
    if (!tn_yaml_is_map(n))
        return tn_yaml_error(y, n, "%s: expected a mapping, got %s", what, tn_yaml_kind(n));
    return tn_yaml_map_pairs(y, n, out);
}

/* ---- values ---- */

/* Go's strconv.ParseUint(s, 0, 64): 0b, 0o, 0x prefixes, a leading 0 for octal. */
static bool yval_parse_uint(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    unsigned base = 10;
    uint64_t v = 0;

    if (len == 0)
        return false;
    if (s[0] == '0') {
        char p = (char)(s[1] | 0x20);
        if (len >= 3 && (p == 'b' || p == 'o' || p == 'x')) {
            base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
            s += 2;
        } else {
            base = 8;
            s += 1;
        }
    }
    for (; *s; s++) {
        char c = (char)(*s | 0x20);
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (c >= 'a' && c <= 'z')
            d = (unsigned)(c - 'a') + 10;
        else
            return false;
        if (d >= base || v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static bool yval_parse_int(const char *s, int64_t *out)
{
    bool neg = s[0] == '-';
    uint64_t u;

    if (s[0] == '+' || s[0] == '-')
        s++;
    if (!yval_parse_uint(s, &u))
        return false;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

static const char *yval_digits(const char *p)
{
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

/* yaml.v2's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, read as Go's
 * ParseFloat reads it (an overflow is no float). */
static bool yval_parse_float(const char *s, double *out)
{
    const char *p = s, *q;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '.') {
        q = yval_digits(p + 1);
        if (q == p + 1)
            return false;
    } else {
        q = yval_digits(p);
        if (q == p)
            return false;
        if (*q == '.')
            q = yval_digits(q + 1);
    }
    if (*q == 'e' || *q == 'E') {
        p = q + 1;
        if (*p == '+' || *p == '-')
            p++;
        q = yval_digits(p);
        if (q == p)
            return false;
    }
    if (*q)
        return false;
    errno = 0;
    double d = strtod(s, NULL);
    if (errno == ERANGE && isinf(d))
        return false;
    *out = d;
    return true;
}

static bool yval_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* A plain scalar's value, as yaml.v2's resolver gives it for an interface{}. */
static void yval_resolve(const char *s, tn_yval_t *v)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON"};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                     "False", "FALSE", "off", "Off", "OFF"};
    static const char *const null[] = {"", "~", "null", "Null", "NULL"};
    static const char *const nan[] = {".nan", ".NaN", ".NAN"};
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF"};

    if (yval_in(s, null, TN_ARRAY_LEN(null))) {
        v->kind = TN_YVAL_NULL;
    } else if (yval_in(s, yes, TN_ARRAY_LEN(yes)) || yval_in(s, no, TN_ARRAY_LEN(no))) {
        v->kind = TN_YVAL_BOOL;
        v->b = yval_in(s, yes, TN_ARRAY_LEN(yes));
    } else if (yval_in(s, nan, TN_ARRAY_LEN(nan))) {
        v->kind = TN_YVAL_FLOAT;
        v->f = NAN;
    } else if (yval_in(s, inf, TN_ARRAY_LEN(inf)) || yval_in(s, ninf, TN_ARRAY_LEN(ninf))) {
        v->kind = TN_YVAL_FLOAT;
        v->f = yval_in(s, inf, TN_ARRAY_LEN(inf)) ? INFINITY : -INFINITY;
    } else if (s[0] == '.') {
        if (yval_parse_float(s, &v->f))
            v->kind = TN_YVAL_FLOAT;
    } else if (strchr("+-0123456789", s[0])) {
        /* Underscores are digit separators here. */
        size_t len = strlen(s), k = 0;
        char *plain = tn_xmalloc(len + 1);
        for (size_t i = 0; i < len; i++)
            if (s[i] != '_')
                plain[k++] = s[i];
        plain[k] = 0;
        if (yval_parse_int(plain, &v->i))
            v->kind = TN_YVAL_INT;
        else if (yval_parse_uint(plain, &v->u))
            v->kind = TN_YVAL_UINT;
        else if (yval_parse_float(plain, &v->f))
            v->kind = TN_YVAL_FLOAT;
        free(plain);
    }
    if (v->kind == TN_YVAL_STR)
        v->s = tn_xstrdup(s);
}

static void yval_clear(tn_yval_t *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++) {
        yval_clear(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

void tn_yval_free(tn_yval_t *v)
{
    if (!v)
        return;
    yval_clear(v);
    free(v);
}

static int yval_fill(tn_yaml_t *y, tn_ynode_t *n, tn_yval_t *v)
{
    memset(v, 0, sizeof(*v));
    if (!n) {
        v->kind = TN_YVAL_NULL;
        return TN_OK;
    }
    if (n->type == YAML_SCALAR_NODE) {
        v->kind = TN_YVAL_STR;
        if (tn_yaml_plain(n))
            yval_resolve(tn_yaml_scalar(n), v);
        else
            v->s = tn_xstrdup(tn_yaml_scalar(n));
        return TN_OK;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t len = tn_yaml_seq_len(n);
        v->kind = TN_YVAL_SEQ;
        v->items = tn_xcalloc(len ? len : 1, sizeof(*v->items));
        for (size_t i = 0; i < len; i++) {
            /* Counted first, so that a failure frees the partly filled item too. */
            v->n++;
            int rc = yval_fill(y, tn_yaml_seq_item(y, n, i), &v->items[i]);
            if (rc != TN_OK)
                return rc;
        }
        return TN_OK;
    }
    tn_ypair_t *pairs;
    int np = tn_yaml_map_pairs(y, n, &pairs);
    v->kind = TN_YVAL_MAP;
    if (np < 0)
        return np;
    v->items = tn_xcalloc(np ? (size_t)np : 1, sizeof(*v->items));
    v->keys = tn_xcalloc(np ? (size_t)np : 1, sizeof(*v->keys));
    int rc = TN_OK;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        if (tn_yaml_plain(pairs[i].key)) {
            tn_yval_t kv = {.kind = TN_YVAL_STR};
            yval_resolve(k, &kv);
            bool str = kv.kind == TN_YVAL_STR;
            yval_clear(&kv);
            if (!str)
                continue;
        }
        v->keys[v->n] = tn_xstrdup(k);
        v->n++;
        rc = yval_fill(y, pairs[i].value, &v->items[v->n - 1]);
    }
    free(pairs);
    return rc;
}

int tn_yaml_value(tn_yaml_t *y, tn_ynode_t *n, tn_yval_t **out)
{
    tn_yval_t *v = tn_xmalloc(sizeof(*v));
    int rc = yval_fill(y, n, v);
    if (rc != TN_OK) {
        tn_yval_free(v);
        v = NULL;
    }
    *out = v;
    return rc;
}
