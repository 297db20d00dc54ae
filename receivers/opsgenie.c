/* Opsgenie (opsgenie_configs): the Alert API v2. While any alert of the group fires, one alert
 * is created under an alias derived from the group key (the SHA-256 of it, as Alertmanager
 * computes it), so that Opsgenie deduplicates repeats; with update_alerts, two more requests
 * replace that alert's message and description. When all are resolved the alert is closed by
 * its alias. Every request of a send is one step: a step that fails retries the whole send
 * from the create, as Alertmanager's notifier does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Opsgenie's limit on an alert's message, in runes. */
#define OG_MAX_MESSAGE_RUNES 130

#define OG_VALID_TYPES "^(team|teams|user|escalation|schedule)$"

typedef struct og_responder {
    char *id, *name, *username, *type;
} og_responder_t;

typedef struct og_conf {
    char *api_key, *api_key_file; /* the file is read again for every send */
    char *api_url;
    char *message, *description, *source;
    tn_strmap_t details;
    char *entity;
    tn_structlist_t responders; /* og_responder_t */
    char *actions, *tags, *note, *priority;
    bool update_alerts;
    tn_http_config_t http_config;
    /* Set by finalize: api_url cut where the request paths go, and its query (or NULL). */
    char *url_base;
    char *url_query;
} og_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(og_conf_t, m)                                      \
    }

static const tn_field_t og_responder_fields[] = {
    {.key = "id", .type = TN_F_STRING, .offset = offsetof(og_responder_t, id)},
    {.key = "name", .type = TN_F_STRING, .offset = offsetof(og_responder_t, name)},
    {.key = "username", .type = TN_F_STRING, .offset = offsetof(og_responder_t, username)},
    {.key = "type", .type = TN_F_STRING, .offset = offsetof(og_responder_t, type)},
    {.key = NULL},
};

static const tn_field_t og_fields[] = {
    F("api_key", TN_F_SECRET, api_key),
    {.key = "api_key_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(og_conf_t, api_key_file),
     .target = "api_key"},
    F("api_url", TN_F_URL, api_url),
    {.key = "message",
     .type = TN_F_STRING,
     .offset = offsetof(og_conf_t, message),
     .def = "{{ template \"opsgenie.default.message\" . }}"},
    {.key = "description",
     .type = TN_F_STRING,
     .offset = offsetof(og_conf_t, description),
     .def = "{{ template \"opsgenie.default.description\" . }}"},
    {.key = "source",
     .type = TN_F_STRING,
     .offset = offsetof(og_conf_t, source),
     .def = "{{ template \"opsgenie.default.source\" . }}"},
    F("details", TN_F_STRING_MAP, details),
    F("entity", TN_F_STRING, entity),
    {.key = "responders",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(og_conf_t, responders),
     .sub = og_responder_fields,
     .elem_size = sizeof(og_responder_t)},
    F("actions", TN_F_STRING, actions),
    F("tags", TN_F_STRING, tags),
    F("note", TN_F_STRING, note),
    F("priority", TN_F_STRING, priority),
    F("update_alerts", TN_F_BOOL, update_alerts),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* ---- configuration ---- */

static const char *og_s(const char *s)
{
    return s ? s : "";
}

/* A responder as Go's %v prints the struct: "{id name username type}". */
static void og_responder_str(const og_responder_t *r, const char *type, char *out, size_t outlen)
{
    snprintf(out, outlen, "{%s %s %s %s}", og_s(r->id), og_s(r->name), og_s(r->username),
             og_s(type));
}

/* Go's text/template builtins and keywords: what parses where Alertmanager checks a templated
 * responder type with a bare template (without its own functions). */
static const char *const og_go_idents[] = {
    "and",    "call",     "html",   "index",   "slice",    "js",  "len",   "not",
    "or",     "print",    "printf", "println", "urlquery", "eq",  "ge",    "gt",
    "le",     "lt",       "ne",     "if",      "else",     "end", "range", "with",
    "define", "template", "block",  "break",   "continue", "nil", "true",  "false",
};

static bool og_ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || (unsigned char)ch >= 0x80;
}

/* Finds a function name in the actions of text (already parsed) that a bare Go template does
 * not know, and words the error as Go's parser does. */
static bool og_unknown_func(const char *text, char *err, size_t errlen)
{
    int line = 1;
    for (const char *p = text; *p;) {
        if (p[0] != '{' || p[1] != '{') {
            line += *p++ == '\n';
            continue;
        }
        p += 2;
        const char *cmt = p + (*p == '-' && p[1] == ' ' ? 2 : 0);
        if (cmt[0] == '/' && cmt[1] == '*') {
            const char *e = strstr(cmt, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        while (*p && !(p[0] == '}' && p[1] == '}')) {
            char ch = *p;
            if (ch == '"' || ch == '\'' || ch == '`') {
                p++;
                while (*p && *p != ch) {
                    if (ch != '`' && *p == '\\' && p[1])
                        p++;
                    line += *p++ == '\n';
                }
                if (*p)
                    p++;
            } else if (ch == '.' || ch == '$' || isdigit((unsigned char)ch)) {
                /* A field, a variable or a number, with what follows it. */
                p++;
                while (og_ident_char(*p) || (isdigit((unsigned char)ch) && *p == '.'))
                    p++;
            } else if (og_ident_char(ch)) {
                const char *s = p;
                while (og_ident_char(*p))
                    p++;
                bool known = false;
                for (size_t i = 0; i < TN_ARRAY_LEN(og_go_idents) && !known; i++)
                    known = strlen(og_go_idents[i]) == (size_t)(p - s) &&
                            strncmp(og_go_idents[i], s, (size_t)(p - s)) == 0;
                if (!known) {
                    snprintf(err, errlen, "template: :%d: function \"%.*s\" not defined", line,
                             (int)(p - s), s);
                    return true;
                }
            } else {
                line += *p++ == '\n';
            }
        }
        if (*p)
            p += 2;
    }
    return false;
}

static int og_check_responder(const og_responder_t *r, char *err, size_t errlen)
{
    char shown[512];
    if (!tn_receiver_set(r->id) && !tn_receiver_set(r->username) && !tn_receiver_set(r->name)) {
        og_responder_str(r, r->type, shown, sizeof(shown));
        snprintf(err, errlen,
                 "opsGenieConfig responder %s has to have at least one of id, username or name "
                 "specified",
                 shown);
        return TN_ERR_INVAL;
    }
    const char *type = og_s(r->type);
    if (strstr(type, "{{")) {
        /* Templated: rendered per send, so only its syntax can be checked now. */
        char perr[TN_ERRBUF_SIZE] = "";
        tn_tmpl_t *t = tn_tmpl_new();
        int rc = tn_tmpl_add(t, "", type, strlen(type), perr, sizeof(perr));
        tn_tmpl_free(t);
        if (rc == TN_OK && og_unknown_func(type, perr, sizeof(perr)))
            rc = TN_ERR_INVAL;
        if (rc != TN_OK) {
            og_responder_str(r, type, shown, sizeof(shown));
            snprintf(err, errlen,
                     "opsGenieConfig responder %s type contains invalid template syntax: %s", shown,
                     perr);
            return TN_ERR_INVAL;
        }
        return TN_OK;
    }
    /* Compared in lower case; the type is still sent as written, as Alertmanager sends it. */
    static const char *const valid[] = {"team", "teams", "user", "escalation", "schedule"};
    char *lower = tn_xstrdup(type);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool ok = false;
    for (size_t i = 0; i < TN_ARRAY_LEN(valid) && !ok; i++)
        ok = strcmp(lower, valid[i]) == 0;
    if (!ok) {
        og_responder_str(r, lower, shown, sizeof(shown));
        snprintf(err, errlen,
                 "opsGenieConfig responder %s type does not match valid options " OG_VALID_TYPES,
                 shown);
    }
    free(lower);
    return ok ? TN_OK : TN_ERR_INVAL;
}

/* Splits api_url into what the request paths follow (its path ended by '/', as Alertmanager
 * ends it) and its query. The fragment is never sent. */
static void og_split_url(og_conf_t *c)
{
    const char *u = c->api_url;
    const char *auth = strstr(u, "://");
    auth = auth ? auth + 3 : u;
    size_t path = strcspn(auth, "/?#") + (size_t)(auth - u);
    size_t end = path + strcspn(u + path, "?#");
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_append(&b, u, end);
    if (end == path || u[end - 1] != '/')
        tn_buf_putc(&b, '/');
    c->url_base = tn_xstrdup(tn_buf_cstr(&b));
    tn_buf_free(&b);
    if (u[end] == '?') {
        size_t q = strcspn(u + end + 1, "#");
        if (q)
            c->url_query = tn_xstrndup(u + end + 1, q);
    }
}

static int og_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    og_conf_t *c = conf;
    for (size_t i = 0; i < c->responders.n; i++) {
        int rc = og_check_responder(&((og_responder_t *)c->responders.v)[i], err, errlen);
        if (rc != TN_OK)
            return rc;
    }
    if (!tn_receiver_set(c->api_url)) {
        if (!tn_receiver_set(g->opsgenie_api_url)) {
            snprintf(err, errlen, "no global OpsGenie URL set");
            return TN_ERR_INVAL;
        }
        free(c->api_url);
        c->api_url = tn_xstrdup(g->opsgenie_api_url);
    }
    og_split_url(c);
    /* The integration's own key (inline or file) wins; else both global settings apply. */
    if (!tn_receiver_set(c->api_key) && !tn_receiver_set(c->api_key_file)) {
        free(c->api_key);
        free(c->api_key_file);
        c->api_key = g->opsgenie_api_key ? tn_xstrdup(g->opsgenie_api_key) : NULL;
        c->api_key_file = g->opsgenie_api_key_file ? tn_xstrdup(g->opsgenie_api_key_file) : NULL;
        if (!tn_receiver_set(c->api_key) && !tn_receiver_set(c->api_key_file)) {
            snprintf(err, errlen, "no global OpsGenie API Key set either inline or in a file");
            return TN_ERR_INVAL;
        }
    }
    return TN_OK;
}

static void og_conf_free(void *conf)
{
    og_conf_t *c = conf;
    free(c->url_base);
    free(c->url_query);
    c->url_base = c->url_query = NULL;
}

/* ---- one send ---- */

/* What the steps of one attempt share: the key and the texts the create sent. */
typedef struct og_carry {
    char *key;
    char *alias;
    char *message, *description;
    unsigned nsteps;
} og_carry_t;

static void og_carry_free(void *p)
{
    og_carry_t *k = p;
    if (!k)
        return;
    if (k->key) {
        memset(k->key, 0, strlen(k->key));
        free(k->key);
    }
    free(k->alias);
    free(k->message);
    free(k->description);
    free(k);
}

typedef struct og_msg {
    tn_buf_t *b;
    int rc;
} og_msg_t;

static void og_raw(og_msg_t *m, const char *s)
{
    if (m->rc == TN_OK)
        m->rc = tn_buf_puts(m->b, s);
}

static void og_key(og_msg_t *m, bool *first, const char *k)
{
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_key(m->b, first, k);
}

static void og_str(og_msg_t *m, bool *first, const char *k, const char *v, bool omit)
{
    if (m->rc == TN_OK)
        m->rc = omit ? tn_rcv_json_str_omit(m->b, first, k, v) : tn_rcv_json_str(m->b, first, k, v);
}

static void og_json_string(og_msg_t *m, const char *s, size_t len)
{
    if (m->rc == TN_OK)
        m->rc = tn_json_go_string(m->b, s, len);
}

static bool og_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Alertmanager's safeSplit: the text trimmed of white space, split at sep, empty parts
 * dropped (the parts themselves are not trimmed). Calls fn for each part. */
static void og_split(const char *s, char sep, void (*fn)(void *ud, const char *p, size_t n),
                     void *ud)
{
    size_t a = 0, z = strlen(s);
    while (a < z && og_space(s[a]))
        a++;
    while (z > a && og_space(s[z - 1]))
        z--;
    while (a < z) {
        const char *e = memchr(s + a, sep, z - a);
        size_t n = e ? (size_t)(e - (s + a)) : z - a;
        if (n)
            fn(ud, s + a, n);
        a += n + 1;
    }
}

typedef struct og_list {
    og_msg_t *m;
    bool *first;
    const char *key;
    bool any;
} og_list_t;

static void og_list_item(void *ud, const char *p, size_t n)
{
    og_list_t *l = ud;
    if (!l->any)
        og_key(l->m, l->first, l->key);
    og_raw(l->m, l->any ? "," : "[");
    og_json_string(l->m, p, n);
    l->any = true;
}

/* A comma-separated text as a JSON list; left out when it has no part (omitempty). */
static void og_list(og_msg_t *m, bool *first, const char *key, const char *text)
{
    og_list_t l = {.m = m, .first = first, .key = key};
    og_split(text, ',', og_list_item, &l);
    if (l.any)
        og_raw(m, "]");
}

typedef struct og_resp_out {
    og_msg_t *m;
    bool *first;
    bool any;
    tn_rcv_tmpl_t *t;
} og_resp_out_t;

static void og_responder_json(og_resp_out_t *o, const char *id, const char *name,
                              const char *username, const char *type)
{
    bool f = true;
    if (!o->any)
        og_key(o->m, o->first, "responders");
    og_raw(o->m, o->any ? ",{" : "[{");
    og_str(o->m, &f, "id", id, true);
    og_str(o->m, &f, "name", name, true);
    og_str(o->m, &f, "username", username, true);
    og_str(o->m, &f, "type", type, false);
    og_raw(o->m, "}");
    o->any = true;
}

/* One team of a "teams" responder; each name is rendered once more, as Alertmanager does. */
static void og_team(void *ud, const char *p, size_t n)
{
    og_resp_out_t *o = ud;
    char *text = tn_xstrndup(p, n);
    char *name = tn_rcv_render(o->t, text, 0);
    og_responder_json(o, NULL, name, NULL, "team");
    free(name);
    free(text);
}

static void og_responders(og_msg_t *m, bool *first, const og_conf_t *c, tn_rcv_tmpl_t *t)
{
    og_resp_out_t o = {.m = m, .first = first, .t = t};
    for (size_t i = 0; i < c->responders.n; i++) {
        const og_responder_t *r = &((const og_responder_t *)c->responders.v)[i];
        char *id = tn_rcv_render(t, r->id, 0);
        char *name = tn_rcv_render(t, r->name, 0);
        char *username = tn_rcv_render(t, r->username, 0);
        char *type = tn_rcv_render(t, r->type, 0);
        /* A responder that renders empty is dropped (responders filled from labels). */
        if (id[0] || name[0] || username[0] || type[0]) {
            if (strcmp(type, "teams") == 0)
                og_split(name, ',', og_team, &o);
            else
                og_responder_json(&o, id, name, username, type);
        }
        free(id);
        free(name);
        free(username);
        free(type);
    }
    if (o.any)
        og_raw(m, "]");
}

static int og_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The common labels, then the rendered details over them; Go writes the map sorted. */
static void og_details(og_msg_t *m, const og_conf_t *c, const tn_notification_t *n,
                       tn_rcv_tmpl_t *t)
{
    size_t cap = n->nalerts ? n->alerts[0].alert->nlabels : 0;
    tn_label_t *common = tn_xmalloc((cap ? cap : 1) * sizeof(*common));
    size_t ncommon = tn_notification_common_labels(n, false, common, cap);
    tn_strmap_t d = {0};
    for (size_t i = 0; i < ncommon; i++)
        tn_strmap_set(&d, common[i].name, common[i].value);
    for (size_t i = 0; i < c->details.n; i++) {
        char *v = tn_rcv_render(t, c->details.values[i], 0);
        tn_strmap_set(&d, c->details.keys[i], v);
        free(v);
    }
    const char **keys = tn_xmalloc((d.n ? d.n : 1) * sizeof(*keys));
    for (size_t i = 0; i < d.n; i++)
        keys[i] = d.keys[i];
    qsort(keys, d.n, sizeof(*keys), og_cmp_str);
    bool first = true;
    og_raw(m, "{");
    for (size_t i = 0; i < d.n; i++)
        og_str(m, &first, keys[i], tn_strmap_get(&d, keys[i]), false);
    og_raw(m, "}");
    free(keys);
    tn_strmap_free(&d);
    for (size_t i = 0; i < ncommon; i++) {
        tn_intern_unref(common[i].name);
        tn_intern_unref(common[i].value);
    }
    free(common);
}

/* The create request's body; keeps the message and description for the update steps. */
static int og_create(tn_buf_t *b, const og_conf_t *c, const tn_notification_t *n, og_carry_t *k,
                     tn_rcv_tmpl_t *t)
{
    og_msg_t m = {.b = b, .rc = TN_OK};
    bool first = true;
    k->message = tn_rcv_render_main(t, c->message, 0);
    if (tn_rcv_truncate_runes(&k->message, OG_MAX_MESSAGE_RUNES))
        tn_log(TN_LOG_WARN, "Truncated message", "integration", "opsgenie", "aggrGroup",
               og_s(n->group_key), "max_runes", TN_STR(OG_MAX_MESSAGE_RUNES), NULL);
    k->description = tn_rcv_render(t, c->description, 0);
    char *source = tn_rcv_render(t, c->source, 0);

    og_raw(&m, "{");
    og_str(&m, &first, "alias", k->alias, false);
    og_str(&m, &first, "message", k->message, false);
    og_str(&m, &first, "description", k->description, true);
    og_key(&m, &first, "details");
    og_details(&m, c, n, t);
    og_str(&m, &first, "source", source, false);
    og_responders(&m, &first, c, t);
    char *v = tn_rcv_render(t, c->tags, 0);
    og_list(&m, &first, "tags", v);
    free(v);
    v = tn_rcv_render(t, c->note, 0);
    og_str(&m, &first, "note", v, true);
    free(v);
    v = tn_rcv_render(t, c->priority, 0);
    og_str(&m, &first, "priority", v, true);
    free(v);
    v = tn_rcv_render(t, c->entity, 0);
    og_str(&m, &first, "entity", v, true);
    free(v);
    v = tn_rcv_render(t, c->actions, 0);
    og_list(&m, &first, "actions", v);
    free(v);
    og_raw(&m, "}\n");
    free(source);
    return m.rc;
}

/* The key, rendered as a template (Alertmanager does): a key that fails to render fails the
 * send, since nothing could be delivered without it. */
static int og_api_key(const og_conf_t *c, const tn_notification_t *n, char **out, char *err,
                      size_t errlen)
{
    char *raw = NULL;
    bool file = tn_receiver_set(c->api_key_file);
    if (file) {
        char ferr[TN_ERRBUF_SIZE];
        if (tn_rcv_read_file(c->api_key_file, &raw, ferr, sizeof(ferr)) != TN_OK) {
            snprintf(err, errlen, "read key_file error: %s", ferr);
            return TN_ERR_IO;
        }
    } else {
        raw = tn_xstrdup(og_s(c->api_key));
    }
    tn_buf_t b;
    char terr[TN_ERRBUF_SIZE] = "";
    tn_buf_init(&b, TN_TMPL_MAX_OUTPUT + 1);
    int rc = raw[0] ? tn_tmpl_render(tn_rcv_templates(n), raw, n, 0, &b, terr, sizeof(terr)) : 0;
    memset(raw, 0, strlen(raw));
    free(raw);
    if (rc < 0) {
        if (b.data)
            memset(b.data, 0, b.len);
        tn_buf_free(&b);
        snprintf(err, errlen, "templating error: %s", terr[0] ? terr : "template failed");
        return TN_ERR_INVAL;
    }
    const char *s = b.data ? b.data : "";
    size_t a = 0, z = b.len;
    if (file) {
        while (a < z && og_space(s[a]))
            a++;
        while (z > a && og_space(s[z - 1]))
            z--;
    }
    /* A header value takes no control character but a tab (Go's client refuses the request;
     * sent, a line break would start a header of the key's making). */
    bool bad = false;
    for (size_t i = a; i < z && !bad; i++)
        bad = ((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f;
    if (!bad)
        *out = tn_xstrndup(s + a, z - a);
    if (b.data)
        memset(b.data, 0, b.len);
    tn_buf_free(&b);
    if (bad) {
        snprintf(err, errlen, "invalid header field value for \"Authorization\"");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* api_url's query with identifierType=alias set, sorted by key as Go's Values.Encode writes
 * it (the other pairs are kept as written). */
static void og_query_alias(tn_buf_t *u, const og_conf_t *c)
{
    const char *set = "identifierType=alias";
    if (!c->url_query) {
        tn_buf_putc(u, '?');
        tn_buf_puts(u, set);
        return;
    }
    size_t cap = 2;
    for (const char *p = c->url_query; *p; p++)
        cap += *p == '&';
    char **parts = tn_xcalloc(cap, sizeof(*parts));
    size_t np = 0;
    char *q = tn_xstrdup(c->url_query);
    for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        size_t klen = strcspn(tok, "=");
        if (strchr(tok, ';') ||
            (klen == strlen("identifierType") && strncmp(tok, "identifierType", klen) == 0))
            continue; /* Go drops pairs with ';'; the alias pair replaces any earlier one */
        parts[np++] = tok;
    }
    parts[np++] = (char *)set;
    /* Stable insertion sort by key: pairs of one key keep their order. */
    for (size_t i = 1; i < np; i++)
        for (size_t j = i; j > 0; j--) {
            size_t la = strcspn(parts[j - 1], "="), lb = strcspn(parts[j], "=");
            int d = strncmp(parts[j - 1], parts[j], la < lb ? la : lb);
            if (d < 0 || (d == 0 && la <= lb))
                break;
            char *tmp = parts[j];
            parts[j] = parts[j - 1];
            parts[j - 1] = tmp;
        }
    for (size_t i = 0; i < np; i++) {
        tn_buf_putc(u, i ? '&' : '?');
        tn_buf_puts(u, parts[i]);
    }
    free(parts);
    free(q);
}

/* {api_url}v2/alerts[/{alias}/{what}?identifierType=alias] */
static void og_url(tn_out_request_t *req, const og_conf_t *c, const char *alias, const char *what)
{
    tn_buf_t u;
    tn_buf_init(&u, 0);
    tn_buf_puts(&u, c->url_base);
    tn_buf_puts(&u, "v2/alerts");
    if (what) {
        tn_buf_printf(&u, "/%s/%s", alias, what);
        og_query_alias(&u, c);
    } else if (c->url_query) {
        tn_buf_putc(&u, '?');
        tn_buf_puts(&u, c->url_query);
    }
    tn_out_request_set_url(req, tn_buf_cstr(&u));
    tn_buf_free(&u);
}

/* {"message": ...} or {"description": ...}, left out when empty as Alertmanager's is. */
static int og_update_body(tn_buf_t *b, const char *key, const char *value)
{
    og_msg_t m = {.b = b, .rc = TN_OK};
    bool first = true;
    og_raw(&m, "{");
    og_str(&m, &first, key, value, true);
    og_raw(&m, "}\n");
    return m.rc;
}

static int og_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const og_conf_t *c = s->ic->conf;
    const tn_notification_t *n = s->n;
    og_carry_t *k = s->carry;
    int rc = TN_OK;

    tn_buf_reset(&req->body);
    if (s->step == 0) {
        if (k) {
            s->carry = NULL;
            og_carry_free(k);
        }
        k = tn_xcalloc(1, sizeof(*k));
        s->carry = k;
        s->carry_free = og_carry_free;
        rc = og_api_key(c, n, &k->key, err, errlen);
        if (rc != TN_OK)
            return rc;
        char alias[65];
        tn_rcv_sha256_hex(og_s(n->group_key), alias);
        k->alias = tn_xstrdup(alias);
        tn_rcv_tmpl_t t;
        tn_rcv_tmpl_init(&t, n, "opsgenie");
        if (tn_rcv_firing(n)) {
            k->nsteps = c->update_alerts ? 3 : 1;
            rc = og_create(&req->body, c, n, k, &t);
            og_url(req, c, k->alias, NULL);
        } else {
            og_msg_t m = {.b = &req->body, .rc = TN_OK};
            bool first = true;
            char *source = tn_rcv_render(&t, c->source, 0);
            k->nsteps = 1;
            og_raw(&m, "{");
            og_str(&m, &first, "source", source, false);
            og_raw(&m, "}\n");
            free(source);
            rc = m.rc;
            og_url(req, c, k->alias, "close");
        }
    } else if (k && s->step < k->nsteps) {
        bool msg = s->step == 1;
        free(req->method);
        req->method = tn_xstrdup("PUT");
        rc = og_update_body(&req->body, msg ? "message" : "description",
                            msg ? k->message : k->description);
        og_url(req, c, k->alias, msg ? "message" : "description");
    } else {
        snprintf(err, errlen, "opsgenie: no request for step %u", s->step);
        return TN_ERR_INVAL;
    }
    if (rc != TN_OK) {
        snprintf(err, errlen, "opsgenie request too large");
        return rc;
    }
    size_t alen = strlen("GenieKey ") + strlen(k->key) + 1;
    char *auth = tn_xmalloc(alen);
    snprintf(auth, alen, "GenieKey %s", k->key);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "Authorization", auth);
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    memset(auth, 0, alen);
    free(auth);
    req->http = &c->http_config;
    return TN_OK;
}

static void og_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    /* 5xx and 429 are retried; the retry starts again with the create. */
    o->result = tn_receiver_classify_http(resp, true, &o->reason, o->err, sizeof(o->err));
    const og_carry_t *k = s->carry;
    if (o->result == TN_SEND_DONE && k && s->step + 1 < k->nsteps)
        o->result = TN_SEND_NEXT;
}

/* Its keys under global:. */
static const tn_field_t opsgenie_global_fields[] = {
    TN_GLOBAL_FIELD("opsgenie_api_url", TN_F_URL, opsgenie_api_url, "https://api.opsgenie.com/"),
    TN_GLOBAL_FIELD("opsgenie_api_key", TN_F_SECRET, opsgenie_api_key, NULL),
    TN_GLOBAL_FILE("opsgenie_api_key_file", opsgenie_api_key_file, "opsgenie_api_key"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_opsgenie = {
    .name = "opsgenie",
    .conf_size = sizeof(og_conf_t),
    .fields = og_fields,
    .global_fields = opsgenie_global_fields,
    .send_resolved_default = true,
    .finalize = og_finalize,   /* responders, global URL and key, api_url ended by '/' */
    .conf_free = og_conf_free, /* the split api_url */
    .build = og_build,         /* create (+ message, description updates) or close */
    .classify = og_classify,   /* retry 5xx and 429; NEXT between the update steps */
};
