/* The config loader: alertmanager.yml through libyaml into one validated, immutable, refcounted
 * snapshot. Strict as Alertmanager is: unknown keys, wrong types and dangling references are
 * errors, each naming file:line:column.
 *
 * Receivers declare their keys as field tables (receiver.h); the generic reader here fills a
 * receiver's struct from its table and frees it by the same table. The global section is read
 * by a table too, so a new global key is one row. */
#include "tocsin/config.h"
#include "tocsin/template.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tocsin/log.h"
#include "tocsin/receiver.h"
#include "tocsin/strtab.h"
#include "tocsin/timeinterval.h"
#include "tocsin/yamltree.h"

#include "config_internal.h"

static const tn_receiver_type_t *const *cfg_test_types;

void tn_config_set_receiver_types_for_test(const struct tn_receiver_type *const *types)
{
    cfg_test_types = types;
}

static const tn_receiver_type_t *cfg_type_find(const char *name)
{
    if (cfg_test_types) {
        for (size_t i = 0; cfg_test_types[i]; i++)
            if (strcmp(cfg_test_types[i]->name, name) == 0)
                return cfg_test_types[i];
        return NULL;
    }
    return tn_receiver_type_find(name);
}

/* Integrations Alertmanager knows; those without a tocsin receiver type are refused by name
 * rather than ignored, so that a config never silently loses a pager. */
static const char *const cfg_known_integrations[] = {
    "discord",  "email",   "incidentio", "pagerduty", "slack",      "webhook",
    "opsgenie", "wechat",  "pushover",   "victorops", "sns",        "telegram",
    "webex",    "msteams", "msteamsv2",  "jira",      "rocketchat", "mattermost",
};

/* ---- global ---- */

#define G(key, type, member, def)                                                                  \
    {                                                                                              \
        key, type, offsetof(tn_global_config_t, member), false, def, NULL, 0, NULL                 \
    }

/* The core's global keys; each receiver type adds its own (tn_receiver_type_t.global_fields). */
static const tn_field_t cfg_global_core[] = {
    G("resolve_timeout", TN_F_DURATION, resolve_timeout, "5m"),
    G("http_config", TN_F_HTTP_CONFIG, http_config, NULL),
    {NULL, 0, 0, false, NULL, NULL, 0, NULL},
};

/* The whole global table: the core's rows, then each registered type's, built once. */
static tn_field_t *cfg_global_fields;
static pthread_once_t cfg_global_once = PTHREAD_ONCE_INIT;

static void cfg_global_build(void)
{
    size_t n = 0;
    for (const tn_field_t *f = cfg_global_core; f->key; f++)
        n++;
    for (size_t i = 0; tn_receiver_types[i]; i++)
        for (const tn_field_t *f = tn_receiver_types[i]->global_fields; f && f->key; f++)
            n++;
    tn_field_t *t = tn_xcalloc(n + 1, sizeof(*t));
    n = 0;
    for (const tn_field_t *f = cfg_global_core; f->key; f++)
        t[n++] = *f;
    for (size_t i = 0; tn_receiver_types[i]; i++)
        for (const tn_field_t *f = tn_receiver_types[i]->global_fields; f && f->key; f++)
            t[n++] = *f;
    cfg_global_fields = t;
}

const struct tn_field *tn_config_global_fields(void)
{
    pthread_once(&cfg_global_once, cfg_global_build);
    return cfg_global_fields;
}

static int cfg_global(cfg_ctx_t *x, tn_ynode_t *n)
{
    tn_global_config_t *g = &x->c->global;
    tn_ynode_t *v;
    int rc;

    x->in_global = true;
    rc = cfg_fields_read(x, n, tn_config_global_fields(), g, "global", NULL);
    x->in_global = false;
    if (rc != TN_OK)
        return rc;
    /* Whether the key was written at all: email's default depends on it. */
    v = tn_yaml_is_map(n) ? tn_yaml_map_get(&x->y, n, "smtp_force_implicit_tls") : NULL;
    g->smtp_force_implicit_tls_set = v && !tn_yaml_is_null(v);
    for (size_t i = 0; tn_receiver_types[i]; i++) {
        const tn_receiver_type_t *t = tn_receiver_types[i];
        const char *key = NULL;
        char err[TN_ERRBUF_SIZE] = "";
        if (t->global_check && t->global_check(g, &key, err, sizeof(err)) != TN_OK) {
            v = key && tn_yaml_is_map(n) ? tn_yaml_map_get(&x->y, n, key) : NULL;
            return tn_yaml_error(&x->y, v ? v : n, "%s", err);
        }
    }
    return TN_OK;
}

static void cfg_global_free(tn_global_config_t *g)
{
    cfg_fields_free(tn_config_global_fields(), g);
}

/* ---- receivers ---- */

static void cfg_integration_free(tn_integration_cfg_t *ic)
{
    if (!ic->conf)
        return;
    if (ic->type->conf_free)
        ic->type->conf_free(ic->conf);
    cfg_fields_free(ic->type->fields, ic->conf);
    free(ic->conf);
    ic->conf = NULL;
}

static void cfg_receiver_free(tn_receiver_cfg_t *r)
{
    for (size_t i = 0; i < r->nintegrations; i++)
        cfg_integration_free(&r->integrations[i]);
    free(r->integrations);
    free(r->name);
}

static int cfg_integrations(cfg_ctx_t *x, tn_receiver_cfg_t *r, tn_ynode_t *key, tn_ynode_t *list,
                            const tn_receiver_type_t *type)
{
    static const char *const skip[] = {"send_resolved", NULL};
    char what[128];
    unsigned idx = 0;
    int rc;

    snprintf(what, sizeof(what), "%s_configs", type->name);
    if (tn_yaml_is_null(list))
        return TN_OK;
    if (!tn_yaml_is_seq(list))
        return tn_yaml_error(&x->y, list, "receiver %s: %s: expected a list, got %s", r->name, what,
                             tn_yaml_kind(list));
    TN_UNUSED(key);
    for (size_t i = 0; i < tn_yaml_seq_len(list); i++) {
        tn_ynode_t *item = tn_yaml_seq_item(&x->y, list, i);
        tn_integration_cfg_t *ic;
        tn_ynode_t *sr;

        if (!tn_yaml_is_map(item) && !tn_yaml_is_null(item))
            return tn_yaml_error(&x->y, item, "receiver %s: %s: expected a mapping, got %s",
                                 r->name, what, tn_yaml_kind(item));
        r->integrations =
            tn_xrealloc(r->integrations, (r->nintegrations + 1) * sizeof(*r->integrations));
        ic = &r->integrations[r->nintegrations++];
        memset(ic, 0, sizeof(*ic));
        ic->type = type;
        ic->idx = idx++;
        ic->send_resolved = type->send_resolved_default;
        ic->conf = tn_xcalloc(1, type->conf_size ? type->conf_size : 1);
        sr = tn_yaml_is_map(item) ? tn_yaml_map_get(&x->y, item, "send_resolved") : NULL;
        if (sr && !tn_yaml_is_null(sr)) {
            rc = cfg_want_scalar(x, sr, "send_resolved", "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, sr, "send_resolved", tn_yaml_scalar(sr), tn_yaml_plain(sr),
                                    &ic->send_resolved);
            if (rc != TN_OK)
                return rc;
        }
        rc = cfg_fields_read(x, item, type->fields, ic->conf, what, skip);
        if (rc != TN_OK)
            return rc;
        if (type->finalize) {
            char e[TN_ERRBUF_SIZE] = "";
            if (type->finalize(ic->conf, &x->c->global, e, sizeof(e)) != TN_OK)
                return tn_yaml_error(&x->y, item, "receiver %s: %s: %s", r->name, what,
                                     e[0] ? e : "invalid configuration");
        }
    }
    return TN_OK;
}

tn_pos_t cfg_pos(const tn_ynode_t *n)
{
    return (tn_pos_t){tn_yaml_line(n), tn_yaml_col(n)};
}

static int cfg_receiver(cfg_ctx_t *x, tn_ynode_t *n, tn_receiver_cfg_t *r)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *name;
    int np, rc = TN_OK;

    r->pos = cfg_pos(n);
    np = tn_yaml_mapping(&x->y, n, "receivers", &pairs);
    if (np < 0)
        return np;
    name = cfg_pair_get(pairs, np, "name");
    if (!name || tn_yaml_is_null(name) ||
        (tn_yaml_is_scalar(name) && tn_yaml_scalar(name)[0] == 0)) {
        rc = tn_yaml_error(&x->y, n, "missing name in receiver");
        goto out;
    }
    rc = cfg_want_scalar(x, name, "name", "a string");
    if (rc != TN_OK)
        goto out;
    r->name = tn_xstrdup(tn_yaml_scalar(name));
    if (tn_strtab_get(&x->c->receiver_names, r->name)) {
        rc = tn_yaml_error(&x->y, name, "notification config name \"%s\" is not unique", r->name);
        goto out;
    }
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        size_t klen = strlen(k);
        if (strcmp(k, "name") == 0)
            continue;
        if (strcmp(k, "labels") == 0) {
            tn_strmap_t m;
            rc = cfg_read_strmap(x, pairs[i].value, k, &m);
            for (size_t j = 0; rc == TN_OK && j < m.n; j++)
                if (strcmp(m.keys[j], "name") == 0 && strcmp(m.values[j], r->name) != 0)
                    rc = tn_yaml_error(&x->y, pairs[i].value,
                                       "receiver label \"name\" must match receiver name "
                                       "\"%s\", got \"%s\"",
                                       r->name, m.values[j]);
            cfg_strmap_free(&m);
            continue;
        }
        if (klen > 8 && strcmp(k + klen - 8, "_configs") == 0) {
            char tname[64];
            const tn_receiver_type_t *t;
            bool known = false;

            snprintf(tname, sizeof(tname), "%.*s", (int)(klen - 8), k);
            t = cfg_type_find(tname);
            if (t) {
                rc = cfg_integrations(x, r, pairs[i].key, pairs[i].value, t);
                continue;
            }
            for (size_t j = 0; j < TN_ARRAY_LEN(cfg_known_integrations); j++)
                if (strcmp(cfg_known_integrations[j], tname) == 0)
                    known = true;
            if (known) {
                rc = tn_yaml_error(&x->y, pairs[i].key, "receiver %s: %s is not supported yet",
                                   r->name, k);
                continue;
            }
        }
        rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in receiver %s", k, r->name);
    }
out:
    free(pairs);
    return rc;
}

static int cfg_receivers(cfg_ctx_t *x, tn_ynode_t *n)
{
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "receivers");
    len = tn_yaml_seq_len(n);
    /* allocated once: receiver_names points into it */
    x->c->receivers = tn_xcalloc(len ? len : 1, sizeof(tn_receiver_cfg_t));
    for (size_t i = 0; i < len; i++) {
        tn_receiver_cfg_t r;
        int rc;
        memset(&r, 0, sizeof(r));
        rc = cfg_receiver(x, tn_yaml_seq_item(&x->y, n, i), &r);
        if (rc != TN_OK) {
            cfg_receiver_free(&r);
            return rc;
        }
        x->c->receivers[x->c->nreceivers] = r;
        tn_strtab_put(&x->c->receiver_names, &x->c->receivers[x->c->nreceivers++]);
    }
    return TN_OK;
}

static const char *receiver_name_of(const void *r)
{
    return ((const tn_receiver_cfg_t *)r)->name;
}

const tn_receiver_cfg_t *tn_config_receiver(const tn_config_t *c, const char *name)
{
    return tn_strtab_get(&c->receiver_names, name);
}

/* ---- inhibit rules ---- */

static void cfg_inhibit_free(tn_inhibit_rule_t *ir, bool interned)
{
    tn_matchers_free(&ir->source);
    tn_matchers_free(&ir->target);
    for (size_t i = 0; i < ir->nequal; i++)
        cfg_name_free(ir->equal[i], interned);
    free(ir->equal);
}

static int cfg_inhibit_rule(cfg_ctx_t *x, tn_ynode_t *n, tn_inhibit_rule_t *ir)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    ir->pos = cfg_pos(n);

    /* An empty item ("-" alone) is a rule without matchers, as Alertmanager loads it: every
     * alert matches both sides, and a source never inhibits an alert that also matches the
     * target, so it inhibits nothing. */
    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, "inhibit_rules", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        bool src = strncmp(k, "source_", 7) == 0;
        tn_matchers_t *ms = src ? &ir->source : &ir->target;
        const char *sub = k + 7;

        if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "match") == 0) {
            rc = cfg_match_map(x, v, k, false, ms);
        } else if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "match_re") == 0) {
            rc = cfg_match_map(x, v, k, true, ms);
        } else if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "matchers") == 0) {
            rc = cfg_matchers_list(x, v, k, ms);
        } else if (strcmp(k, "equal") == 0) {
            char **names = NULL;
            size_t nn = 0;
            rc = cfg_read_strlist(x, v, k, &names, &nn);
            for (size_t j = 0; rc == TN_OK && j < nn; j++)
                if (!cfg_label_name_ok(names[j]))
                    rc = tn_yaml_error(&x->y, tn_yaml_seq_item(&x->y, v, j),
                                       "invalid label name \"%s\" in equal list", names[j]);
            if (rc == TN_OK) {
                ir->equal = tn_xcalloc(nn + 1, sizeof(*ir->equal));
                for (size_t j = 0; j < nn; j++)
                    ir->equal[ir->nequal++] = tn_xstrdup(names[j]);
            }
            cfg_strv_free(names, nn);
        } else if (strcmp(k, "name") == 0) {
            rc = cfg_want_scalar(x, v, k, "a string");
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in inhibit rule", k);
        }
    }
    free(pairs);
    return rc;
}

static int cfg_inhibit_rules(cfg_ctx_t *x, tn_ynode_t *n)
{
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "inhibit_rules");
    len = tn_yaml_seq_len(n);
    x->c->inhibit_rules = tn_xcalloc(len + 1, sizeof(tn_inhibit_rule_t));
    for (size_t i = 0; i < len; i++) {
        x->c->ninhibit_rules++;
        int rc = cfg_inhibit_rule(x, tn_yaml_seq_item(&x->y, n, i),
                                  &x->c->inhibit_rules[x->c->ninhibit_rules - 1]);
        if (rc != TN_OK)
            return rc;
    }
    return TN_OK;
}

/* ---- the snapshot ---- */

static void cfg_free(tn_config_t *c)
{
    if (!c)
        return;
    cfg_route_free(c->route, c->names_interned);
    for (size_t i = 0; i < c->nreceivers; i++)
        cfg_receiver_free(&c->receivers[i]);
    free(c->receivers);
    tn_strtab_free(&c->receiver_names);
    for (size_t i = 0; i < c->ninhibit_rules; i++)
        cfg_inhibit_free(&c->inhibit_rules[i], c->names_interned);
    free(c->inhibit_rules);
    for (size_t i = 0; i < c->ntime_intervals; i++)
        cfg_time_interval_free(&c->time_intervals[i]);
    free(c->time_intervals);
    cfg_strv_free(c->templates, c->ntemplates);
    tn_tmpl_free(c->tmpl);
    cfg_global_free(&c->global);
    free(c->path);
    free(c->original);
    free(c);
}

static const char *cfg_intern_plain(const char *plain)
{
    const char *s = tn_intern_cstr(plain);
    free((char *)plain);
    return s;
}

static void cfg_route_intern(tn_route_t *r)
{
    for (size_t i = 0; i < r->nlabels; i++) {
        r->labels[i].name = cfg_intern_plain(r->labels[i].name);
        r->labels[i].value = cfg_intern_plain(r->labels[i].value);
    }
    for (size_t i = 0; i < r->ngroup_by; i++) {
        const char *plain = r->group_by[i];
        r->group_by[i] = tn_intern_cstr(plain);
        free((char *)plain);
    }
    for (size_t i = 0; i < r->nchildren; i++)
        cfg_route_intern(r->children[i]);
}

void tn_config_intern(tn_config_t *c)
{
    if (c->names_interned)
        return;
    if (c->route)
        cfg_route_intern(c->route);
    for (size_t i = 0; i < c->ninhibit_rules; i++) {
        tn_inhibit_rule_t *ir = &c->inhibit_rules[i];
        for (size_t j = 0; j < ir->nequal; j++) {
            const char *plain = ir->equal[j];
            ir->equal[j] = tn_intern_cstr(plain);
            free((char *)plain);
        }
    }
    c->names_interned = true;
}

tn_config_t *tn_config_ref(tn_config_t *c)
{
    if (c)
        c->refs++;
    return c;
}

void tn_config_unref(tn_config_t *c)
{
    if (c && --c->refs == 0)
        cfg_free(c);
}

static const char *const cfg_top_keys[] = {
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "time_intervals",
    "mute_time_intervals",
    "tracing",
    "event_recorder",
    NULL,
};

static int cfg_load(cfg_ctx_t *x, tn_ynode_t *root)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    tn_ynode_t *route;

    if (root && !tn_yaml_is_map(root) && !tn_yaml_is_null(root))
        return tn_yaml_error(&x->y, root, "config: expected a mapping, got %s", tn_yaml_kind(root));
    np = tn_yaml_map_pairs(&x->y, root, &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        bool ok = false;
        for (size_t j = 0; cfg_top_keys[j]; j++)
            if (strcmp(k, cfg_top_keys[j]) == 0)
                ok = true;
        if (!ok)
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in config", k);
        else if ((strcmp(k, "tracing") == 0 || strcmp(k, "event_recorder") == 0) &&
                 !tn_yaml_is_null(pairs[i].value) && !tn_yaml_is_map(pairs[i].value))
            rc = tn_yaml_error(&x->y, pairs[i].value, "%s: expected a mapping, got %s", k,
                               tn_yaml_kind(pairs[i].value));
    }
    /* Order matters: receivers use global defaults; routes name receivers and intervals. */
    if (rc == TN_OK)
        rc = cfg_global(x, cfg_pair_get(pairs, np, "global"));
    if (rc == TN_OK)
        rc = cfg_receivers(x, cfg_pair_get(pairs, np, "receivers"));
    if (rc == TN_OK)
        rc = cfg_time_intervals(x, cfg_pair_get(pairs, np, "mute_time_intervals"), true);
    if (rc == TN_OK)
        rc = cfg_time_intervals(x, cfg_pair_get(pairs, np, "time_intervals"), false);
    if (rc == TN_OK)
        rc = cfg_inhibit_rules(x, cfg_pair_get(pairs, np, "inhibit_rules"));
    if (rc == TN_OK) {
        tn_ynode_t *t = cfg_pair_get(pairs, np, "templates");
        char **v = NULL;
        size_t nv = 0;
        rc = cfg_read_strlist(x, t, "templates", &v, &nv);
        x->c->templates = tn_xcalloc(nv + 1, sizeof(char *));
        for (size_t i = 0; i < nv; i++)
            x->c->templates[x->c->ntemplates++] = cfg_path_resolve(x, v[i]);
        cfg_strv_free(v, nv);
    }
    if (rc == TN_OK) {
        route = cfg_pair_get(pairs, np, "route");
        if (!route || tn_yaml_is_null(route))
            rc = tn_yaml_error(&x->y, root, "no route provided in config");
        else
            rc = cfg_route(x, route, NULL, 0, 0, &x->c->route);
        x->c->nroutes = x->route_counter;
    }
    free(pairs);
    return rc;
}

tn_config_t *tn_config_load_string(const char *name, const char *text, size_t len, char *err,
                                   size_t errlen)
{
    return tn_config_load_string_ex(name, text, len, 0, NULL, err, errlen);
}

tn_config_t *tn_config_load_string_ex(const char *name, const char *text, size_t len,
                                      unsigned flags, tn_buf_t *warnings, char *err, size_t errlen)
{
    cfg_ctx_t x;
    tn_config_t *c = tn_xcalloc(1, sizeof(*c));
    c->receiver_names = TN_STRTAB_INIT(receiver_name_of);
    const char *slash = strrchr(name, '/');
    char *dir = NULL;
    int rc;

    memset(&x, 0, sizeof(x));
    c->refs = 1;
    c->path = tn_xstrdup(name);
    c->original = tn_xstrndup(text, len);
    c->hash = tn_fnv1a(text, len);
    if (slash)
        dir = tn_xstrndup(name, slash == name ? 1 : (size_t)(slash - name));
    x.dir = dir;
    x.c = c;
    x.flags = flags;
    x.warnings = warnings;
    if (err && errlen)
        err[0] = 0;
    if (memchr(text, 0, len)) {
        snprintf(err, errlen, "%s:1:1: config contains a NUL byte", name);
        rc = TN_ERR_INVAL;
        goto out;
    }
    rc = tn_yaml_load(&x.y, c->path, c->original, len, err, errlen);
    if (rc != TN_OK)
        goto out;
    rc = cfg_load(&x, tn_yaml_root(&x.y));
    tn_yaml_free(&x.y);
    if (rc == TN_OK) {
        /* templates last: a file that fails to parse fails the load with file:line */
        c->tmpl = tn_tmpl_load(c->templates, c->ntemplates, err, errlen);
        if (!c->tmpl)
            rc = TN_ERR_INVAL;
    }
out:
    for (size_t i = 0; i < x.nzones; i++)
        tn_tz_free(x.zones[i]);
    free(x.zones);
    free(dir);
    if (rc != TN_OK) {
        cfg_free(c);
        return NULL;
    }
    if (!(flags & TN_CFG_NO_INTERN))
        tn_config_intern(c);
    return c;
}

tn_config_t *tn_config_load_file(const char *path, char *err, size_t errlen)
{
    return tn_config_load_file_ex(path, 0, NULL, err, errlen);
}

tn_config_t *tn_config_load_file_ex(const char *path, unsigned flags, tn_buf_t *warnings, char *err,
                                    size_t errlen)
{
    char *text;
    size_t len;
    char e[TN_ERRBUF_SIZE];
    tn_config_t *c;

    if (cfg_read_all(path, CFG_MAX_FILE, &text, &len, e, sizeof(e)) != TN_OK) {
        snprintf(err, errlen, "%s:1:1: %s", path, e);
        return NULL;
    }
    c = tn_config_load_string_ex(path, text, len, flags, warnings, err, errlen);
    free(text);
    return c;
}
