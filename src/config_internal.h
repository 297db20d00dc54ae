/* Shared by the config loader's files (not a public header): the load context and the readers
 * one part of the loader uses from another. Each file reads one part of alertmanager.yml:
 *   config.c               the document, global, receivers, inhibit rules, the snapshot
 *   config_fields.c        files and scalars, and the generic field-table reader (receiver.h)
 *   config_http.c          http_config and tls_config (also under global and receivers)
 *   config_route.c         matchers lists, legacy match/match_re, and the route tree
 *   config_timeinterval.c  time_intervals and mute_time_intervals */
#ifndef TOCSIN_CONFIG_INTERNAL_H
#define TOCSIN_CONFIG_INTERNAL_H

#include "tocsin/config.h"
#include "tocsin/receiver.h"
#include "tocsin/yamltree.h"

#define CFG_MAX_FILE        (16u << 20) /* config files larger than this are refused */
#define CFG_MAX_SECRET_FILE (1u << 20)
#define CFG_MAX_ROUTE_DEPTH 64

typedef struct cfg_ctx {
    tn_yaml_t y;
    const char *dir; /* directory of the file, for relative paths; NULL = leave them */
    tn_config_t *c;
    bool in_global; /* reading the global section: http_config defaults are the built-in ones */
    unsigned route_counter;
    struct tn_tz **zones; /* loaded so far, a reference each: one read per zone per config */
    size_t nzones;
    unsigned flags;     /* TN_CFG_* */
    tn_buf_t *warnings; /* TN_CFG_CHECK_ONLY: one line per secret file that cannot be read */
} cfg_ctx_t;

/* config_fields.c: reading files and scalars, and the generic field-table reader */
void cfg_fields_free(const tn_field_t *fields, void *base);
int cfg_fields_read(cfg_ctx_t *x, tn_ynode_t *n, const tn_field_t *fields, void *base,
                    const char *what, const char *const *skip);
tn_ynode_t *cfg_pair_get(tn_ypair_t *pairs, int n, const char *key);
int cfg_parse_bool(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s, bool plain,
                   bool *out);
int cfg_parse_duration(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s,
                       tn_duration_t *out);
char *cfg_path_resolve(const cfg_ctx_t *x, const char *p);
int cfg_read_all(const char *path, size_t cap, char **out, size_t *outlen, char *err,
                 size_t errlen);
int cfg_read_secret_file(cfg_ctx_t *x, tn_ynode_t *at, const char *path, char **out);
int cfg_read_strlist(cfg_ctx_t *x, tn_ynode_t *n, const char *key, char ***out, size_t *outn);
int cfg_read_strmap(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_strmap_t *m);
void cfg_strmap_free(tn_strmap_t *m);
void cfg_strv_free(char **v, size_t n);
const char *cfg_url_syntax(const char *s);
int cfg_want_scalar(cfg_ctx_t *x, tn_ynode_t *n, const char *key, const char *what);

/* config_http.c: http_config and tls_config */
int cfg_http_config(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h);
void cfg_http_defaults(tn_http_config_t *h);
int cfg_take_str(cfg_ctx_t *x, tn_ynode_t *v, const char *key, char **out);
int cfg_tls_config(cfg_ctx_t *x, tn_ynode_t *n, tn_tls_config_t *t);

/* config_route.c: matchers lists and the route tree */
bool cfg_label_name_ok(const char *s);
int cfg_match_map(cfg_ctx_t *x, tn_ynode_t *n, const char *key, bool re, tn_matchers_t *ms);
int cfg_matchers_list(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_matchers_t *ms);
void cfg_name_free(const char *s, bool interned);
int cfg_route(cfg_ctx_t *x, tn_ynode_t *n, tn_route_t *parent, size_t sibling, int depth,
              tn_route_t **out);
void cfg_route_free(tn_route_t *r, bool interned);

/* config_timeinterval.c: time_intervals and mute_time_intervals */
const tn_time_interval_t *cfg_time_interval_find(const tn_config_t *c, const char *name);
void cfg_time_interval_free(tn_time_interval_t *ti);
int cfg_time_intervals(cfg_ctx_t *x, tn_ynode_t *n, bool legacy);

/* config.c: global, receivers, inhibit rules, the snapshot */
tn_pos_t cfg_pos(const tn_ynode_t *n);

#endif
