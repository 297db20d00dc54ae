/* Template engine internals shared by template.c (lexer, parser), template_exec.c (executor,
 * data model) and template_funcs.c (function table). */
#ifndef TOCSIN_TEMPLATE_INTERNAL_H
#define TOCSIN_TEMPLATE_INTERNAL_H

#include <pthread.h>

#include "tocsin/labels.h"
#include "tocsin/notification.h"
#include "tocsin/template.h"

/* ---- arena: things that die together (a parsed file, a render) ---- */

typedef struct tt_chunk {
    struct tt_chunk *next;
    size_t used, size;
    _Alignas(16) char data[];
} tt_chunk_t;

typedef struct tt_arena {
    tt_chunk_t *head;
    size_t total; /* bytes handed out */
} tt_arena_t;

void *tt_alloc(tt_arena_t *a, size_t n); /* zeroed */
char *tt_strndup(tt_arena_t *a, const char *s, size_t n);
void tt_arena_free(tt_arena_t *a);
/* Moves every chunk of src into dst. */
void tt_arena_move(tt_arena_t *dst, tt_arena_t *src);

/* ---- values ---- */

enum tv_kind {
    TV_NIL, /* Go's invalid value / nil interface */
    TV_BOOL,
    TV_INT,
    TV_FLOAT,
    TV_STR,
    TV_TIME,
    TV_DUR,
    TV_LIST,
    TV_KV,   /* map[string]string with Alertmanager's KV methods */
    TV_PAIR, /* KV pair: .Name .Value */
    TV_ALERT,
    TV_DATA,
    TV_DICT, /* map[string]any from dict */
    TV_LOC,  /* *time.Location: tm.zone as for TV_TIME */
};

enum { TA_NOTIF, TA_DATA };                                                   /* alert subtypes */
enum { TK_MAP, TK_NIL };                                                      /* KV subtypes */
enum { TS_PLAIN, TS_HTML, TS_URL };                                           /* string subtypes */
enum { TL_ANY, TL_STRSLICE, TL_STRINGS, TL_PAIRS, TL_ALERTS, TL_ALERTSLICE }; /* list types */

typedef struct tv tv_t;
typedef struct tt_list {
    size_t n, cap;
    tv_t *v;
    bool nil; /* a nil slice (explicit data without alerts): JSON null */
} tt_list_t;

typedef struct tt_dict {
    size_t n, cap;
    const char **keys; /* sorted */
    tv_t *vals;
} tt_dict_t;

struct tv {
    uint8_t kind;
    uint8_t sub;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s;
        struct {
            tn_time_t t;
            const char *zone; /* NULL = UTC, else a zone name (tz) */
        } tm;
        tt_list_t *l;
        tn_labels_t kv; /* sorted by name */
        tn_label_t pair;
        const tn_notif_alert_t *alert; /* sub 0 */
        const tn_tmpl_alert_t *xalert; /* sub TA_DATA: explicit data */
        tt_dict_t *d;
    };
};

/* ---- parse tree ---- */

enum tt_node_type {
    TN_LIST,
    TN_TEXT,
    TN_ACTION,
    TN_IF,
    TN_RANGE,
    TN_WITH,
    TN_TEMPLATE,
    TN_BREAK,
    TN_CONTINUE,
    TN_PIPE,
    TN_CMD,
    TN_FIELD, /* .A.B */
    TN_VAR,   /* $x.A.B: idents[0] is the variable */
    TN_CHAIN, /* (pipe).A.B, or a literal followed by fields */
    TN_IDENT, /* function name */
    TN_DOT,
    TN_NIL,
    TN_CONST, /* bool, number or string literal: value in `val` */
};

typedef struct tt_node tt_node_t;
struct tt_node {
    uint8_t type;
    bool assign; /* PIPE: = instead of := */
    int line;
    tt_node_t **kids; /* LIST items, PIPE commands, CMD args */
    size_t nkids;
    const char **idents; /* FIELD/VAR/CHAIN names */
    size_t nidents;
    const char **decl; /* PIPE: declared variables */
    size_t ndecl;
    const char *str; /* TEXT bytes, IDENT/TEMPLATE name */
    size_t slen;
    tt_node_t *pipe;  /* IF/RANGE/WITH/ACTION/TEMPLATE pipeline; CHAIN operand */
    tt_node_t *list;  /* IF/RANGE/WITH body */
    tt_node_t *elist; /* else branch */
    tv_t val;         /* CONST */
    int col;          /* byte offset in its line (Go's ErrorContext column) */
    const char *src;  /* CONST: the literal as written (Go's String() of the node) */
    size_t srclen;
};

typedef struct tt_def {
    const char *name;
    const char *file; /* for errors */
    tt_node_t *root;
} tt_def_t;

/* A time zone by name, loaded once; tz NULL = no such zone. */
typedef struct tt_zone {
    char *name;
    struct tn_tz *tz;
} tt_zone_t;

typedef struct tt_zones {
    tt_zone_t *v;
    size_t n, cap;
} tt_zones_t;

struct tn_tmpl {
    tt_arena_t arena;
    tt_def_t *defs;
    size_t ndefs, cap;
    /* Zones the templates use (tz, .In, now's Local): loaded with the set, and any other name
     * on first use, so formatting a time never reads tzdata again. */
    pthread_mutex_t zmu;
    tt_zones_t zones;
};

/* Parses text into a, adding defines to the definition list (grown with
 * tn_xrealloc). The top-level list is returned in *top (NULL when empty). */
int tt_parse(tt_arena_t *a, const char *name, const char *text, size_t len, tt_def_t **defs,
             size_t *ndefs, size_t *cap, tt_node_t **top, char *err, size_t errlen);
const tt_def_t *tt_find(const tt_def_t *defs, size_t n, const char *name);
/* Adds or replaces a definition, as Go does: an empty body never replaces a non-empty one. */
void tt_define(tt_def_t **defs, size_t *ndefs, size_t *cap, const tt_def_t *d);
bool tt_tree_empty(const tt_node_t *n);
/* Go's Node.String(): the node written back as template source, for error messages. */
void tt_node_string(tn_buf_t *b, const tt_node_t *n);
/* tn_tmpl_load; go_names names files in parse errors by base name, as Go does (the server
 * names them by path, which is more useful in its logs). */
tn_tmpl_t *tt_load(char *const *globs, size_t nglobs, bool go_names, char *err, size_t errlen);

/* ---- execution ---- */

typedef struct tt_ctx tt_ctx_t;

typedef int (*tt_func_fn)(tt_ctx_t *c, tv_t *args, size_t nargs, tv_t *out);
/* A function's parameters as Go declares them, one letter each: 's' string, 'S' []string,
 * 'L' []interface {}, 't' time.Time, 'a' interface {}, 'v' reflect.Value (any value); a
 * trailing '*' makes the last one variadic. Arguments are checked against these as Go's
 * text/template checks them, so functions see the types they declare. */
typedef struct tt_func {
    const char *name;
    tt_func_fn fn;
    const char *sig;
} tt_func_t;
const tt_func_t *tt_func_find(const char *name);
bool tt_func_exists(const char *name); /* builtins included */

/* html/template's context (state, attribute delimiter, URL part, JS slash context, attribute
 * and element kinds), with the brace depths of nested JS template-literal ${...}. */
#define TT_JS_BRACES 16
typedef struct tt_hctx {
    uint8_t state, delim, url_part, js_ctx, attr, element;
    uint8_t nbrace;
    int16_t brace[TT_JS_BRACES];
} tt_hctx_t;

/* Render state. */
struct tt_ctx {
    tt_arena_t arena;
    const tn_tmpl_t *tmpl; /* NULL: zones cached per render in `zones` */
    tt_zones_t zones;
    const tn_notification_t *n;
    const tn_tmpl_data_t *data; /* explicit data instead of n */
    const tv_t *dot;            /* tests: executed with this value instead of the data */
    struct tt_rl *rl;           /* route label resolver */
    tn_buf_t *out;
    unsigned flags;
    char *err;
    size_t errlen;
    bool failed;
    char *fnerr; /* a function's error message (tt_fail), heap */
    /* where execution is, for errors: Go's state.node and the executing template */
    const tt_node_t *node;
    const char *tname, *tfile;
    int depth;
    uint64_t iters;
    const tt_def_t *defs1, *defs2; /* inline overlay, then the set */
    size_t ndefs1, ndefs2;
    /* variables */
    const char **vnames;
    tv_t *vvals;
    size_t nvars, vcap;
    size_t vbase; /* variables of the current template start here */
    /* data model, computed once */
    tn_label_t *common[2]; /* common labels, annotations (references held) */
    size_t ncommon[2];
    bool common_done;
    tt_list_t *alerts;
    const char *receiver;
    /* HTML mode: the context the output is in (template_html.c) */
    size_t out_limit;
    tt_hctx_t h;
};

/* An execution error at the current node, worded as Go's (see template_exec.c). */
int tt_errorf(tt_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error written as given (html/template's). */
int tt_rawerrorf(tt_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A function's failure: reported by the caller as "error calling NAME: MSG". */
int tt_fail(tt_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* value helpers used by funcs */
tv_t tv_str(const char *p, size_t n);
tv_t tv_cstr(const char *p);
tv_t tv_int(int64_t i);
tv_t tv_bool(bool b);
tv_t tv_float(double f);
tv_t tv_list(tt_ctx_t *c, size_t cap, uint8_t sub);
void tt_list_push(tt_ctx_t *c, tt_list_t *l, tv_t v);
const char *tv_kind_name(const tv_t *v);
bool tv_truth(const tv_t *v);
/* fmt's %v, as fmt.Sprint prints one operand (nil as "<nil>"). */
int tv_print(tt_ctx_t *c, tn_buf_t *b, const tv_t *v, bool top);
/* arg as a string (strings only; an error otherwise). */
int tv_want_str(tt_ctx_t *c, const tv_t *v, const char **p, size_t *n);
int tv_want_strlist(tt_ctx_t *c, const tv_t *v, tt_list_t **out);
/* Go's fmt.Sprint over args. */
int tt_sprint(tt_ctx_t *c, tn_buf_t *b, const tv_t *args, size_t n, bool ln);
int tt_sprintf(tt_ctx_t *c, tn_buf_t *b, const char *f, size_t flen, const tv_t *args, size_t n);
/* Copies a buffer's content into the render arena as a string value. */
tv_t tt_buf_value(tt_ctx_t *c, tn_buf_t *b);
tn_labels_t tt_kv_sorted_pairs(tt_ctx_t *c, tn_labels_t kv); /* alertname first */
int tt_time_string(tt_ctx_t *c, tn_buf_t *b, const tv_t *t);
/* The zone `name` from the set's cache (loading it there once), NULL if there is none such. */
const struct tn_tz *tt_zone(tt_ctx_t *c, const char *name);
void tt_zones_free(tt_zones_t *z);
void tt_zones_preload(tn_tmpl_t *t, const char *name);
void tt_duration_string(tn_buf_t *b, int64_t d);
int tt_json(tt_ctx_t *c, tn_buf_t *b, const tv_t *v);
tv_t tt_alert_field(tt_ctx_t *c, const tv_t *alert, const char *name, bool *ok);
tv_t tt_data_field(tt_ctx_t *c, const char *name, bool *ok); /* .Receiver, .Alerts, ... */
int tt_time_format(tt_ctx_t *c, tn_buf_t *b, const char *layout, size_t llen, const tv_t *t);
/* routeLabels: the named route label, rendered as a template unless already rendered. */
int tt_route_label(tt_ctx_t *c, const char *name, size_t len, tv_t *out);
/* HTML mode (template_html.c): template text through the context tracker, an action escaped
 * for its context, and the check at the end that the output ends in a text context. */
int tt_html_text(tt_ctx_t *c, const char *s, size_t n);
int tt_html_action(tt_ctx_t *c, const tt_node_t *action, const tv_t *dot);
int tt_html_end(tt_ctx_t *c);
/* For template_html.c: output (capped) and evaluation. */
int tt_out(tt_ctx_t *c, const char *s, size_t n);
int tt_eval_pipeline(tt_ctx_t *c, const tt_node_t *pipe, const tv_t *dot, tv_t *out);
int tt_eval_arg(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot, tv_t *out);
/* Renders text executed with dot (NULL: data) — for tests, which build their own values. */
int tt_render_value(const tn_tmpl_t *t, const char *text, const tv_t *dot,
                    const tn_tmpl_data_t *data, unsigned flags, tn_buf_t *out, char *err,
                    size_t errlen);

#endif
