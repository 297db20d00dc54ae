/* GET /api/v2/status and GET /api/v2/receivers, and config.original: the loaded YAML written
 * back with every secret shown as <secret>.
 *
 * The secrets are found from the parsed YAML tree with the same tables the config loader
 * reads: the global field table, each receiver type's field table, and the fixed shape of
 * http_config and tls_config. Keys are kept in the order written; merge keys (<<) are written
 * as they were, their merged mappings read in the context of the mapping they merge into. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "api_internal.h"
#include "tocsin/receiver.h"
#include "tocsin/timefmt.h"
#include "tocsin/version.h"
#include "tocsin/yamltree.h"

/* ---- where secrets are ---- */

enum red_kind {
    RED_NONE,        /* no secrets below (route, inhibit_rules, ...) */
    RED_ROOT,        /* the top-level mapping */
    RED_FIELDS,      /* a mapping described by a field table */
    RED_RECEIVER,    /* one entry of receivers: name plus <type>_configs lists */
    RED_HTTP,        /* http_config */
    RED_TLS,         /* tls_config */
    RED_BASIC,       /* basic_auth */
    RED_AUTHZ,       /* authorization */
    RED_OAUTH2,      /* oauth2 */
    RED_HEADERS,     /* proxy_connect_header / http_headers: every value secret */
    RED_GENERIC,     /* an unknown integration: well-known secret key names */
    RED_SECRET,      /* the node itself is a secret */
    RED_SECRET_LINK, /* a secret that older clients parse as an http(s) URL */
    RED_URL,         /* a URL shown with the password of its user info hidden (proxy_url) */
};

/* Secret URL keys that amtool 0.25 still reads as plain URLs (it re-parses config.original for
 * `config routes`): "<secret>" alone would make it refuse the whole file, so these are shown
 * as a URL whose every part is redacted. */
#define RED_LINK_TEXT "https://secret.invalid/%3Csecret%3E"
static const char *const red_link_keys[][2] = {
    {"webhook", "url"},
};

typedef struct red_ctx {
    enum red_kind kind;
    const tn_field_t *fields; /* RED_FIELDS */
    const char *type;         /* integration name inside <type>_configs, or NULL */
} red_ctx_t;

static const tn_field_t *red_field(const tn_field_t *t, const char *key)
{
    for (; t && t->key; t++)
        if (strcmp(t->key, key) == 0)
            return t;
    return NULL;
}

static red_ctx_t red_of_field(const tn_field_t *f)
{
    switch (f->type) {
    case TN_F_SECRET:
    case TN_F_SECRET_URL:
        return (red_ctx_t){RED_SECRET, NULL, NULL};
    case TN_F_HTTP_CONFIG:
        return (red_ctx_t){RED_HTTP, NULL, NULL};
    case TN_F_TLS_CONFIG:
        return (red_ctx_t){RED_TLS, NULL, NULL};
    case TN_F_STRUCT:
    case TN_F_STRUCT_LIST:
        return (red_ctx_t){RED_FIELDS, f->sub, NULL};
    default:
        return (red_ctx_t){RED_NONE, NULL, NULL};
    }
}

static bool red_generic_secret(const char *key)
{
    static const char *const names[] = {
        "password",      "credentials", "bearer_token", "client_secret", "api_key",
        "api_secret",    "token",       "routing_key",  "service_key",   "bot_token",
        "auth_password", "auth_secret", "api_url",      "url",           "webhook_url",
        "key",           "token_id",    "user_key",     "app_token",
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(names); i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

/* The context of the value of `key` in a mapping of context `in`. */
static red_ctx_t red_child(red_ctx_t in, const char *key)
{
    const tn_field_t *f;
    size_t n = strlen(key);
    switch (in.kind) {
    case RED_ROOT:
        if (strcmp(key, "global") == 0)
            return (red_ctx_t){RED_FIELDS, tn_config_global_fields(), NULL};
        if (strcmp(key, "receivers") == 0)
            return (red_ctx_t){RED_RECEIVER, NULL, NULL};
        return (red_ctx_t){RED_NONE, NULL, NULL};
    case RED_RECEIVER:
        if (n > 8 && strcmp(key + n - 8, "_configs") == 0) {
            char type[64];
            snprintf(type, sizeof(type), "%.*s", (int)(n - 8), key);
            const tn_receiver_type_t *t = tn_receiver_type_find(type);
            return t ? (red_ctx_t){RED_FIELDS, t->fields, t->name}
                     : (red_ctx_t){RED_GENERIC, NULL, NULL};
        }
        return (red_ctx_t){RED_NONE, NULL, NULL};
    case RED_FIELDS:
        f = red_field(in.fields, key);
        for (size_t i = 0; f && in.type && i < TN_ARRAY_LEN(red_link_keys); i++)
            if (strcmp(in.type, red_link_keys[i][0]) == 0 && strcmp(key, red_link_keys[i][1]) == 0)
                return (red_ctx_t){RED_SECRET_LINK, NULL, NULL};
        if (f)
            return red_of_field(f);
        /* keys the table does not know are refused at load, except generic ones */
        if (strcmp(key, "http_config") == 0)
            return (red_ctx_t){RED_HTTP, NULL, NULL};
        return (red_ctx_t){RED_NONE, NULL, NULL};
    case RED_HTTP:
        if (strcmp(key, "basic_auth") == 0)
            return (red_ctx_t){RED_BASIC, NULL, NULL};
        if (strcmp(key, "authorization") == 0)
            return (red_ctx_t){RED_AUTHZ, NULL, NULL};
        if (strcmp(key, "oauth2") == 0)
            return (red_ctx_t){RED_OAUTH2, NULL, NULL};
        if (strcmp(key, "tls_config") == 0)
            return (red_ctx_t){RED_TLS, NULL, NULL};
        if (strcmp(key, "bearer_token") == 0)
            return (red_ctx_t){RED_SECRET, NULL, NULL};
        if (strcmp(key, "proxy_connect_header") == 0 || strcmp(key, "http_headers") == 0)
            return (red_ctx_t){RED_HEADERS, NULL, NULL};
        if (strcmp(key, "proxy_url") == 0)
            return (red_ctx_t){RED_URL, NULL, NULL};
        return (red_ctx_t){RED_NONE, NULL, NULL};
    case RED_OAUTH2:
        if (strcmp(key, "proxy_url") == 0)
            return (red_ctx_t){RED_URL, NULL, NULL};
        if (strcmp(key, "client_secret") == 0)
            return (red_ctx_t){RED_SECRET, NULL, NULL};
        if (strcmp(key, "tls_config") == 0)
            return (red_ctx_t){RED_TLS, NULL, NULL};
        if (strcmp(key, "proxy_connect_header") == 0)
            return (red_ctx_t){RED_HEADERS, NULL, NULL};
        return (red_ctx_t){RED_NONE, NULL, NULL};
    case RED_TLS:
        return (red_ctx_t){strcmp(key, "key") == 0 ? RED_SECRET : RED_NONE, NULL, NULL};
    case RED_BASIC:
        return (red_ctx_t){strcmp(key, "password") == 0 ? RED_SECRET : RED_NONE, NULL, NULL};
    case RED_AUTHZ:
        return (red_ctx_t){strcmp(key, "credentials") == 0 ? RED_SECRET : RED_NONE, NULL, NULL};
    case RED_HEADERS:
        return (red_ctx_t){RED_SECRET, NULL, NULL};
    case RED_GENERIC:
        if (strcmp(key, "http_config") == 0)
            return (red_ctx_t){RED_HTTP, NULL, NULL};
        return (red_ctx_t){red_generic_secret(key) ? RED_SECRET : RED_GENERIC, NULL, NULL};
    case RED_NONE:
    case RED_SECRET:
    case RED_SECRET_LINK:
    case RED_URL:
        break;
    }
    return in;
}

/* ---- writing the tree back ---- */

typedef struct red_out {
    yaml_emitter_t em;
    yaml_document_t *doc;
    tn_buf_t *out;
    int rc;
    size_t depth;
} red_out_t;

static int red_write(void *ud, unsigned char *buf, size_t size)
{
    red_out_t *o = ud;
    if (tn_buf_append(o->out, buf, size) != TN_OK) {
        o->rc = TN_ERR_LIMIT;
        return 0;
    }
    return 1;
}

static int red_emit(red_out_t *o, yaml_event_t *ev)
{
    if (!yaml_emitter_emit(&o->em, ev)) {
        if (!o->rc)
            o->rc = TN_ERR_INVAL;
        return o->rc;
    }
    return TN_OK;
}

static int red_scalar(red_out_t *o, const char *text, size_t len, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1, style))
        return TN_ERR_NOMEM;
    return red_emit(o, &ev);
}

/* A URL with the password in its user info replaced by "xxxxx", as Go's URL.Redacted() shows
 * it: http://u:xxxxx@proxy:3128. */
static int red_url(red_out_t *o, const char *u, size_t len, yaml_scalar_style_t style)
{
    const char *end = u + len, *auth = NULL;
    for (const char *p = u; p + 3 <= end; p++)
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            auth = p + 3;
            break;
        }
    const char *auth_end = auth;
    while (auth_end && auth_end < end && !strchr("/?#", *auth_end))
        auth_end++;
    const char *at = NULL;
    for (const char *p = auth; p && p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        return red_scalar(o, u, len, style);
    tn_buf_t b;
    tn_buf_init(&b, len + 8);
    tn_buf_append(&b, u, (size_t)(colon + 1 - u));
    tn_buf_puts(&b, "xxxxx");
    tn_buf_append(&b, at, (size_t)(end - at));
    int rc = red_scalar(o, b.data, b.len, style);
    tn_buf_free(&b);
    return rc;
}

static int red_node(red_out_t *o, yaml_node_t *n, red_ctx_t ctx);

static int red_pairs(red_out_t *o, yaml_node_t *map, red_ctx_t ctx)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(o->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(o->doc, p->value);
        if (!k || !v)
            return TN_ERR_INVAL;
        red_ctx_t child = ctx;
        if (k->type == YAML_SCALAR_NODE) {
            const char *key = (const char *)k->data.scalar.value;
            /* a merge key brings pairs into this very mapping */
            if (strcmp(key, "<<") != 0 || !tn_yaml_plain(k))
                child = red_child(ctx, key);
        } else {
            child = (red_ctx_t){RED_SECRET, NULL, NULL}; /* odd keys: show nothing below */
        }
        int rc = red_node(o, k, (red_ctx_t){RED_NONE, NULL, NULL});
        if (rc == TN_OK)
            rc = red_node(o, v, child);
        if (rc)
            return rc;
    }
    return TN_OK;
}

static int red_node(red_out_t *o, yaml_node_t *n, red_ctx_t ctx)
{
    yaml_event_t ev;
    int rc = TN_OK;
    if (++o->depth > 2000) {
        o->depth--;
        return TN_ERR_LIMIT;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (ctx.kind == RED_SECRET && n->data.scalar.length && !tn_yaml_is_null(n))
            rc = red_scalar(o, "<secret>", 8, YAML_ANY_SCALAR_STYLE);
        else if (ctx.kind == RED_SECRET_LINK && n->data.scalar.length && !tn_yaml_is_null(n))
            rc = red_scalar(o, RED_LINK_TEXT, strlen(RED_LINK_TEXT), YAML_ANY_SCALAR_STYLE);
        else if (ctx.kind == RED_URL)
            rc = red_url(o, (const char *)n->data.scalar.value, n->data.scalar.length,
                         n->data.scalar.style);
        else
            rc = red_scalar(o, (const char *)n->data.scalar.value, n->data.scalar.length,
                            n->data.scalar.style);
        break;
    case YAML_SEQUENCE_NODE:
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, n->data.sequence.style) ||
            red_emit(o, &ev)) {
            rc = o->rc ? o->rc : TN_ERR_NOMEM;
            break;
        }
        /* a list keeps the context of its key: receivers, *_configs, headers' values */
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == TN_OK && it < n->data.sequence.items.top; it++) {
            yaml_node_t *c = yaml_document_get_node(o->doc, *it);
            rc = c ? red_node(o, c, ctx) : TN_ERR_INVAL;
        }
        if (rc == TN_OK && yaml_sequence_end_event_initialize(&ev))
            rc = red_emit(o, &ev);
        break;
    case YAML_MAPPING_NODE:
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, n->data.mapping.style) ||
            red_emit(o, &ev)) {
            rc = o->rc ? o->rc : TN_ERR_NOMEM;
            break;
        }
        rc = red_pairs(o, n,
                       ctx.kind == RED_SECRET || ctx.kind == RED_SECRET_LINK
                           ? (red_ctx_t){RED_HEADERS, NULL, NULL}
                           : ctx);
        if (rc == TN_OK && yaml_mapping_end_event_initialize(&ev))
            rc = red_emit(o, &ev);
        break;
    default:
        rc = TN_ERR_INVAL;
    }
    o->depth--;
    return rc;
}

int api_config_redacted(const tn_config_t *cfg, tn_buf_t *out)
{
    if (!cfg || !cfg->original)
        return TN_OK;
    char err[TN_ERRBUF_SIZE];
    tn_yaml_t y;
    size_t before = out->len;
    int rc = tn_yaml_load(&y, cfg->path ? cfg->path : "config", cfg->original,
                          strlen(cfg->original), err, sizeof(err));
    if (rc)
        return rc;
    yaml_node_t *root = tn_yaml_root(&y);
    if (!root)
        goto done;
    red_out_t o = {.doc = &y.doc, .out = out};
    if (!yaml_emitter_initialize(&o.em)) {
        rc = TN_ERR_NOMEM;
        goto done;
    }
    yaml_emitter_set_output(&o.em, red_write, &o);
    yaml_emitter_set_unicode(&o.em, 1);
    yaml_emitter_set_width(&o.em, -1);
    yaml_emitter_set_indent(&o.em, 2);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = red_emit(&o, &ev);
    if (rc == TN_OK) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        rc = red_emit(&o, &ev);
    }
    if (rc == TN_OK)
        rc = red_node(&o, root, (red_ctx_t){RED_ROOT, NULL, NULL});
    if (rc == TN_OK) {
        yaml_document_end_event_initialize(&ev, 1);
        rc = red_emit(&o, &ev);
    }
    if (rc == TN_OK) {
        yaml_stream_end_event_initialize(&ev);
        rc = red_emit(&o, &ev);
    }
    yaml_emitter_delete(&o.em);
done:
    tn_yaml_free(&y);
    if (rc) {
        out->len = before;
        return rc;
    }
    return TN_OK;
}

/* ---- GET /api/v2/status ---- */

void api_status(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    const tn_api_deps_t *d = api_deps(api);
    const tn_config_t *cfg = d->config ? d->config(d->ud) : NULL;
    char up[40];
    tn_time_format_rfc3339milli(api_started(api), up);
    tn_buf_t yaml;
    tn_buf_init(&yaml, 0);
    if (api_config_redacted(cfg, &yaml) != TN_OK)
        tn_buf_reset(&yaml); /* never the raw text: it holds the secrets */
    tn_buf_t *b = &rep->body;
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_puts(b, "{\"cluster\":");
    if (api_deps(api)->cluster_status)
        api_deps(api)->cluster_status(api_deps(api)->ud, b);
    else
        tn_buf_puts(b, "{\"peers\":[],\"status\":\"disabled\"}");
    tn_buf_puts(b, ",\"config\":{\"original\":");
    tn_json_go_string(b, yaml.data ? yaml.data : "", yaml.len);
    const tn_build_info_t *bi = api_deps(api)->build_info;
    const char *info[][2] = {
        {"branch", bi ? bi->branch : ""},     {"buildDate", bi ? bi->date : ""},
        {"buildUser", bi ? bi->user : ""},    {"goVersion", bi ? bi->compiler : ""},
        {"revision", bi ? bi->revision : ""}, {"version", TN_VERSION},
    };
    tn_buf_printf(b, "},\"uptime\":\"%s\",\"versionInfo\":{", up);
    for (size_t i = 0; i < TN_ARRAY_LEN(info); i++) {
        tn_buf_printf(b, "%s\"%s\":", i ? "," : "", info[i][0]);
        tn_json_go_string(b, info[i][1], strlen(info[i][1]));
    }
    tn_buf_puts(b, "}}\n");
    tn_buf_free(&yaml);
}

/* ---- GET /api/v2/receivers ---- */

void api_receivers_list(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    const tn_api_deps_t *d = api_deps(api);
    const tn_config_t *cfg = d->config ? d->config(d->ud) : NULL;
    tn_buf_t *b = &rep->body;
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_putc(b, '[');
    for (size_t i = 0; cfg && i < cfg->nreceivers; i++) {
        tn_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        const char *n = cfg->receivers[i].name;
        tn_json_go_string(b, n, strlen(n));
        tn_buf_putc(b, '}');
    }
    tn_buf_puts(b, "]\n");
}
