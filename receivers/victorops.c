/* VictorOps (victorops_configs): the REST endpoint of the generic alert integration. One JSON
 * object per notification, posted to api_url + api_key + "/" + routing_key, identified by the
 * SHA-256 of the group key so that a group's CRITICAL and RECOVERY meet in one incident. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* VictorOps' limit on state_message, in runes. */
#define VO_MAX_STATE_MESSAGE 20480

#define VO_TRIGGER "CRITICAL"
#define VO_RESOLVE "RECOVERY"

typedef struct vo_conf {
    char *api_key, *api_key_file; /* the file is read again for every send */
    char *api_url;                /* ends with "/" after finalize */
    char *routing_key, *message_type, *state_message, *entity_display_name, *monitoring_tool;
    tn_strmap_t custom_fields;
    tn_http_config_t http_config;
} vo_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(vo_conf_t, m)                                      \
    }
#define FD(k, m, d)                                                                                \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(vo_conf_t, m), .def = d                  \
    }

static const tn_field_t vo_fields[] = {
    F("api_key", TN_F_SECRET, api_key),
    {.key = "api_key_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(vo_conf_t, api_key_file),
     .target = "api_key"},
    F("api_url", TN_F_URL, api_url),
    F("routing_key", TN_F_STRING, routing_key),
    FD("message_type", message_type, VO_TRIGGER),
    FD("state_message", state_message, "{{ template \"victorops.default.state_message\" . }}"),
    FD("entity_display_name", entity_display_name,
       "{{ template \"victorops.default.entity_display_name\" . }}"),
    FD("monitoring_tool", monitoring_tool,
       "{{ template \"victorops.default.monitoring_tool\" . }}"),
    F("custom_fields", TN_F_STRING_MAP, custom_fields),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* Keys the message sets itself (and two VictorOps reserves): refused as custom fields. */
static const char *const vo_reserved[] = {
    "routing_key",     "message_type", "state_message", "entity_display_name",
    "monitoring_tool", "entity_id",    "entity_state",
};

/* Where the path of an absolute URL starts and ends (before '?' or '#'). */
static void vo_url_path(const char *url, size_t *start, size_t *end)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p += strcspn(p, "/?#");
    *start = (size_t)(p - url);
    *end = *start + strcspn(p, "?#");
}

static int vo_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    vo_conf_t *c = conf;
    if (!tn_receiver_set(c->routing_key)) {
        snprintf(err, errlen, "missing Routing key in VictorOps config");
        return TN_ERR_INVAL;
    }
    for (size_t i = 0; i < TN_ARRAY_LEN(vo_reserved); i++) {
        if (tn_strmap_get(&c->custom_fields, vo_reserved[i])) {
            snprintf(err, errlen,
                     "victorOps config contains custom field %s which cannot be used as it "
                     "conflicts with the fixed/static fields",
                     vo_reserved[i]);
            return TN_ERR_INVAL;
        }
    }
    if (!tn_receiver_set(c->api_url)) {
        if (!tn_receiver_set(g->victorops_api_url)) {
            snprintf(err, errlen, "no global VictorOps URL set");
            return TN_ERR_INVAL;
        }
        free(c->api_url);
        c->api_url = tn_xstrdup(g->victorops_api_url);
    }
    /* The key and the routing key are appended to the path: it ends with a slash. */
    size_t ps, pe;
    vo_url_path(c->api_url, &ps, &pe);
    if (pe == ps || c->api_url[pe - 1] != '/') {
        size_t len = strlen(c->api_url);
        char *u = tn_xmalloc(len + 2);
        memcpy(u, c->api_url, pe);
        u[pe] = '/';
        memcpy(u + pe + 1, c->api_url + pe, len - pe + 1);
        free(c->api_url);
        c->api_url = u;
    }
    /* The integration's key (inline or file) as a pair, else the global pair. */
    if (!tn_receiver_set(c->api_key) && !tn_receiver_set(c->api_key_file)) {
        if (tn_receiver_set(g->victorops_api_key)) {
            free(c->api_key);
            c->api_key = tn_xstrdup(g->victorops_api_key);
        }
        if (tn_receiver_set(g->victorops_api_key_file)) {
            free(c->api_key_file);
            c->api_key_file = tn_xstrdup(g->victorops_api_key_file);
        }
    }
    if (!tn_receiver_set(c->api_key) && !tn_receiver_set(c->api_key_file)) {
        snprintf(err, errlen, "no global VictorOps API Key set");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- the URL ---- */

static int vo_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the decoded path s[0..n) (%XX to bytes; the config loader checked the escapes). */
static void vo_path_decode(tn_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = vo_hex(s[i + 1])) >= 0 &&
            (l = vo_hex(s[i + 2])) >= 0) {
            tn_buf_putc(b, (char)(h * 16 + l));
            i += 2;
        } else {
            tn_buf_putc(b, s[i]);
        }
    }
}

/* Go's URL path escaping: letters, digits, "-_.~" and "$&+,/:;=@" stay, the rest is %XX. */
static void vo_path_escape(tn_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr("-_.~$&+,/:;=@", c)))
            tn_buf_putc(out, (char)c);
        else
            tn_buf_printf(out, "%%%02X", c);
    }
}

/* api_url with key/routing appended to its path, as Go re-encodes a modified URL path. */
static char *vo_url(const char *api_url, const char *key, const char *routing)
{
    size_t ps, pe;
    tn_buf_t path, out;
    vo_url_path(api_url, &ps, &pe);
    tn_buf_init(&path, 0);
    vo_path_decode(&path, api_url + ps, pe - ps);
    tn_buf_puts(&path, key);
    tn_buf_putc(&path, '/');
    tn_buf_puts(&path, routing);
    tn_buf_init(&out, 0);
    tn_buf_printf(&out, "%.*s", (int)ps, api_url);
    vo_path_escape(&out, path.data, path.len);
    tn_buf_puts(&out, api_url + pe);
    char *u = tn_xstrndup(out.data, out.len);
    if (path.data)
        memset(path.data, 0, path.len);
    memset(out.data, 0, out.len);
    tn_buf_free(&path);
    tn_buf_free(&out);
    return u;
}

/* ---- the message ---- */

typedef struct vo_member {
    const char *key;
    char *value;
} vo_member_t;

static int vo_member_cmp(const void *a, const void *b)
{
    return strcmp(((const vo_member_t *)a)->key, ((const vo_member_t *)b)->key);
}

static bool vo_allowed_type(const char *t)
{
    return strcmp(t, "INFO") == 0 || strcmp(t, "WARNING") == 0 || strcmp(t, "CRITICAL") == 0;
}

/* A map of strings: Go writes its keys sorted. */
static int vo_message(tn_buf_t *b, const vo_conf_t *c, tn_rcv_tmpl_t *t)
{
    const tn_notification_t *n = t->n;
    size_t nm = 5 + c->custom_fields.n;
    vo_member_t *m = tn_xcalloc(nm, sizeof(*m));
    char id[65];
    tn_rcv_sha256_hex(n->group_key ? n->group_key : "", id);

    char *type = tn_rcv_render(t, c->message_type, 0);
    if (!tn_rcv_firing(n)) {
        free(type);
        type = tn_xstrdup(VO_RESOLVE);
    } else if (!vo_allowed_type(type)) {
        free(type);
        type = tn_xstrdup(VO_TRIGGER);
    }
    char *state = tn_rcv_render(t, c->state_message, 0);
    if (tn_rcv_truncate_runes(&state, VO_MAX_STATE_MESSAGE))
        tn_log(TN_LOG_WARN, "Truncated state_message", "integration", "victorops", "aggrGroup",
               n->group_key, "max_runes", TN_STR(VO_MAX_STATE_MESSAGE), NULL);
    m[0] = (vo_member_t){"message_type", type};
    m[1] = (vo_member_t){"entity_id", tn_xstrdup(id)};
    m[2] = (vo_member_t){"entity_display_name", tn_rcv_render_main(t, c->entity_display_name, 0)};
    m[3] = (vo_member_t){"state_message", state};
    m[4] = (vo_member_t){"monitoring_tool", tn_rcv_render(t, c->monitoring_tool, 0)};
    for (size_t i = 0; i < c->custom_fields.n; i++)
        m[5 + i] = (vo_member_t){c->custom_fields.keys[i],
                                 tn_rcv_render(t, c->custom_fields.values[i], 0)};
    qsort(m, nm, sizeof(*m), vo_member_cmp);

    bool first = true;
    int rc = tn_buf_putc(b, '{');
    for (size_t i = 0; i < nm && rc == TN_OK; i++)
        rc = tn_rcv_json_str(b, &first, m[i].key, m[i].value);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    for (size_t i = 0; i < nm; i++)
        free(m[i].value);
    free(m);
    return rc;
}

static int vo_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const vo_conf_t *c = s->ic->conf;
    const tn_notification_t *n = s->n;
    char *key = NULL;
    int rc;

    if (tn_receiver_set(c->api_key_file)) {
        char e[TN_ERRBUF_SIZE];
        if (tn_rcv_read_file(c->api_key_file, &key, e, sizeof(e)) != TN_OK) {
            snprintf(err, errlen, "failed to read API key from file: %s", e);
            return TN_ERR_IO;
        }
    } else {
        key = tn_xstrdup(c->api_key ? c->api_key : "");
    }
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "victorops");
    char *routing = tn_rcv_render(&t, c->routing_key, 0);
    if (!routing[0]) {
        memset(key, 0, strlen(key));
        free(key);
        free(routing);
        snprintf(err, errlen, "routing key cannot be empty");
        return TN_ERR_INVAL;
    }
    char *url = vo_url(c->api_url, key, routing);
    memset(key, 0, strlen(key));
    free(key);
    free(routing);

    tn_buf_reset(&req->body);
    rc = vo_message(&req->body, c, &t);
    if (rc == TN_OK)
        tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    if (rc != TN_OK) {
        snprintf(err, errlen, "victorops message too large");
        return rc;
    }
    tn_rcv_json_request(req, &c->http_config);
    return TN_OK;
}

static void vo_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* VictorOps documents no retryable codes: 5xx only, as Alertmanager. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
}

/* Its keys under global:. */
static const tn_field_t victorops_global_fields[] = {
    TN_GLOBAL_FIELD("victorops_api_url", TN_F_URL, victorops_api_url,
                    "https://alert.victorops.com/integrations/generic/20131114/alert/"),
    TN_GLOBAL_FIELD("victorops_api_key", TN_F_SECRET, victorops_api_key, NULL),
    TN_GLOBAL_FILE("victorops_api_key_file", victorops_api_key_file, "victorops_api_key"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_victorops = {
    .name = "victorops",
    .conf_size = sizeof(vo_conf_t),
    .fields = vo_fields,
    .global_fields = victorops_global_fields,
    .send_resolved_default = true,
    .finalize = vo_finalize, /* routing key, reserved fields, global URL and key */
    .conf_free = NULL,       /* the field table frees everything */
    .build = vo_build,       /* the key file is read per send */
    .classify = vo_classify, /* retry 5xx */
};
