/* Rocket.Chat (rocketchat_configs): chat.postMessage of the REST API, authenticated by a
 * personal access token (X-Auth-Token) and its user id (X-User-Id). One message with one
 * attachment per notification; a 2xx reply still carries the verdict in {"success": ...}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

#define RC_MAX_TITLE 1024 /* runes */
#define RC_PATH      "api/v1/chat.postMessage"
/* The core keeps this many bytes of a response (outbound.c); a longer reply arrives cut. */
#define RC_RESPONSE_CAP 4096

typedef struct rc_field {
    char *short_text; /* a boolean; unset = the config's short_fields */
    char *title, *value;
} rc_field_t;

typedef struct rc_action {
    char *type, *text, *url, *msg;
    /* Accepted as Alertmanager accepts them; not sent (Alertmanager drops them too). */
    char *imageurl, *webviewheightratio, *msgprocessingtype;
    bool iswebview, msginchatwindow;
} rc_action_t;

typedef struct rc_conf {
    char *api_url;
    char *token, *token_file;       /* files are read again for every send */
    char *token_id, *token_id_file; /* */
    char *channel, *color, *title, *title_link, *text, *emoji, *icon_url, *image_url, *thumb_url;
    tn_structlist_t fields;  /* rc_field_t */
    tn_structlist_t actions; /* rc_action_t */
    bool short_fields, link_names;
    tn_http_config_t http_config;
} rc_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(rc_conf_t, m)                                      \
    }
#define FD(k, m, d)                                                                                \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(rc_conf_t, m), .def = d                  \
    }
#define TMPL(name) "{{ template \"rocketchat.default." name "\" . }}"

static const tn_field_t rc_field_fields[] = {
    {.key = "short", .type = TN_F_STRING, .offset = offsetof(rc_field_t, short_text)},
    {.key = "title", .type = TN_F_STRING, .offset = offsetof(rc_field_t, title)},
    {.key = "value", .type = TN_F_STRING, .offset = offsetof(rc_field_t, value)},
    {.key = NULL},
};

/* Alertmanager's action struct has no YAML names: its keys are the lower-cased Go names. */
#define A(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(rc_action_t, m)                                    \
    }
static const tn_field_t rc_action_fields[] = {
    A("type", TN_F_STRING, type),
    A("text", TN_F_STRING, text),
    A("url", TN_F_STRING, url),
    A("imageurl", TN_F_STRING, imageurl),
    A("iswebview", TN_F_BOOL, iswebview),
    A("webviewheightratio", TN_F_STRING, webviewheightratio),
    A("msg", TN_F_STRING, msg),
    A("msginchatwindow", TN_F_BOOL, msginchatwindow),
    A("msgprocessingtype", TN_F_STRING, msgprocessingtype),
    {.key = NULL},
};

static const tn_field_t rc_fields[] = {
    F("api_url", TN_F_URL, api_url),
    F("token", TN_F_SECRET, token),
    {.key = "token_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(rc_conf_t, token_file),
     .target = "token"},
    F("token_id", TN_F_SECRET, token_id),
    {.key = "token_id_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(rc_conf_t, token_id_file),
     .target = "token_id"},
    F("channel", TN_F_STRING, channel),
    FD("color", color, "{{ if eq .Status \"firing\" }}red{{ else }}green{{ end }}"),
    FD("title", title, TMPL("title")),
    FD("title_link", title_link, TMPL("titlelink")),
    FD("text", text, TMPL("text")),
    {.key = "fields",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(rc_conf_t, fields),
     .sub = rc_field_fields,
     .elem_size = sizeof(rc_field_t)},
    F("short_fields", TN_F_BOOL, short_fields),
    FD("emoji", emoji, TMPL("emoji")),
    FD("icon_url", icon_url, TMPL("iconurl")),
    F("image_url", TN_F_STRING, image_url),
    F("thumb_url", TN_F_STRING, thumb_url),
    F("link_names", TN_F_BOOL, link_names),
    {.key = "actions",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(rc_conf_t, actions),
     .sub = rc_action_fields,
     .elem_size = sizeof(rc_action_t)},
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* The integration's secret (inline or file) as a pair, else the global pair. */
static void rc_inherit(char **v, char **file, const char *gv, const char *gfile)
{
    if (tn_receiver_set(*v) || tn_receiver_set(*file))
        return;
    if (tn_receiver_set(gv)) {
        free(*v);
        *v = tn_xstrdup(gv);
    }
    if (tn_receiver_set(gfile)) {
        free(*file);
        *file = tn_xstrdup(gfile);
    }
}

static int rc_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    rc_conf_t *c = conf;
    for (size_t i = 0; i < c->fields.n; i++) {
        const rc_field_t *f = &((const rc_field_t *)c->fields.v)[i];
        bool b;
        if (f->short_text && tn_receiver_parse_bool(f->short_text, &b) != TN_OK) {
            snprintf(err, errlen, "fields: short: cannot parse \"%s\" as a boolean", f->short_text);
            return TN_ERR_INVAL;
        }
    }
    if (!tn_receiver_set(c->api_url) && tn_receiver_set(g->rocketchat_api_url)) {
        free(c->api_url);
        c->api_url = tn_xstrdup(g->rocketchat_api_url);
    }
    if (!tn_receiver_set(c->api_url)) {
        snprintf(err, errlen, "no global Rocketchat API URL set");
        return TN_ERR_INVAL;
    }
    rc_inherit(&c->token_id, &c->token_id_file, g->rocketchat_token_id,
               g->rocketchat_token_id_file);
    if (!tn_receiver_set(c->token_id) && !tn_receiver_set(c->token_id_file)) {
        snprintf(err, errlen, "no global Rocketchat TokenID set either inline or in a file");
        return TN_ERR_INVAL;
    }
    rc_inherit(&c->token, &c->token_file, g->rocketchat_token, g->rocketchat_token_file);
    if (!tn_receiver_set(c->token) && !tn_receiver_set(c->token_file)) {
        snprintf(err, errlen, "no global Rocketchat Token set either inline or in a file");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- the URL: api_url joined with the method's path, as Go's URL.JoinPath ---- */

static char *rc_url(const char *api_url)
{
    const char *p = strstr(api_url, "://");
    p = p ? p + 3 : api_url;
    size_t ps = (size_t)(p - api_url) + strcspn(p, "/?#");
    size_t pe = ps + strcspn(api_url + ps, "?#");
    /* Segments of base path + "/" + RC_PATH, with "", "." and ".." resolved as path.Clean. */
    size_t len = pe - ps + 1 + strlen(RC_PATH);
    char *joined = tn_xmalloc(len + 1);
    snprintf(joined, len + 1, "%.*s/%s", (int)(pe - ps), api_url + ps, RC_PATH);
    const char **seg = tn_xmalloc((len + 1) * sizeof(*seg));
    size_t *seglen = tn_xmalloc((len + 1) * sizeof(*seglen));
    size_t nseg = 0;
    for (char *s = joined; *s;) {
        size_t l = strcspn(s, "/");
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (nseg)
                nseg--;
        } else if (l && !(l == 1 && s[0] == '.')) {
            seg[nseg] = s;
            seglen[nseg++] = l;
        }
        s += l;
        if (*s)
            s++;
    }
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_printf(&b, "%.*s", (int)ps, api_url);
    for (size_t i = 0; i < nseg; i++)
        tn_buf_printf(&b, "/%.*s", (int)seglen[i], seg[i]);
    if (!nseg)
        tn_buf_putc(&b, '/');
    tn_buf_puts(&b, api_url + pe);
    char *u = tn_xstrndup(b.data, b.len);
    tn_buf_free(&b);
    free(seg);
    free(seglen);
    free(joined);
    return u;
}

/* ---- the message ---- */

typedef struct rc_msg {
    tn_buf_t *b;
    tn_rcv_tmpl_t *t;
    int rc;
} rc_msg_t;

static void rc_raw(rc_msg_t *m, const char *s)
{
    if (m->rc == TN_OK)
        m->rc = tn_buf_puts(m->b, s);
}

static void rc_key(rc_msg_t *m, bool *first, const char *key)
{
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_key(m->b, first, key);
}

/* A rendered text written as an omitempty member. */
static void rc_put(rc_msg_t *m, bool *first, const char *key, const char *text)
{
    char *v = tn_rcv_render(m->t, text, 0);
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_str_omit(m->b, first, key, v);
    free(v);
}

static void rc_fields_json(rc_msg_t *m, const rc_conf_t *c, bool *first)
{
    if (!c->fields.n)
        return;
    rc_key(m, first, "fields");
    rc_raw(m, "[");
    for (size_t i = 0; i < c->fields.n; i++) {
        const rc_field_t *f = &((const rc_field_t *)c->fields.v)[i];
        bool shrt = c->short_fields, ff = true;
        if (f->short_text)
            tn_receiver_parse_bool(f->short_text, &shrt);
        rc_raw(m, i ? ",{" : "{");
        rc_key(m, &ff, "short");
        rc_raw(m, shrt ? "true" : "false");
        rc_put(m, &ff, "title", f->title);
        rc_put(m, &ff, "value", f->value);
        rc_raw(m, "}");
    }
    rc_raw(m, "]");
}

static void rc_actions_json(rc_msg_t *m, const rc_conf_t *c, bool *first)
{
    if (!c->actions.n)
        return;
    rc_key(m, first, "actions");
    rc_raw(m, "[");
    for (size_t i = 0; i < c->actions.n; i++) {
        const rc_action_t *a = &((const rc_action_t *)c->actions.v)[i];
        bool af = true;
        /* Only buttons exist: the configured type is ignored. */
        rc_raw(m, i ? ",{" : "{");
        rc_key(m, &af, "type");
        rc_raw(m, "\"button\"");
        rc_put(m, &af, "text", a->text);
        rc_put(m, &af, "url", a->url);
        rc_key(m, &af, "is_webview");
        rc_raw(m, "false");
        rc_put(m, &af, "msg", a->msg);
        rc_key(m, &af, "msg_in_chat_window");
        rc_raw(m, "false}");
    }
    rc_raw(m, "]");
}

/* Writes the body; *channel gets the rendered channel (for error messages). */
static int rc_message(tn_buf_t *b, const rc_conf_t *c, const tn_notification_t *n, char **channel)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "rocketchat");
    rc_msg_t m = {.b = b, .t = &t, .rc = TN_OK};
    char *title = tn_rcv_render_main(&t, c->title, 0);
    if (tn_rcv_truncate_runes(&title, RC_MAX_TITLE))
        tn_log(TN_LOG_WARN, "Truncated title", "integration", "rocketchat", "aggrGroup",
               n->group_key, "max_runes", TN_STR(RC_MAX_TITLE), NULL);
    *channel = tn_rcv_render(&t, c->channel, 0);
    bool first = true, af = true;

    rc_raw(&m, "{");
    if (m.rc == TN_OK)
        m.rc = tn_rcv_json_str_omit(b, &first, "channel", *channel);
    rc_put(&m, &first, "emoji", c->emoji);
    rc_put(&m, &first, "avatar", c->icon_url);
    rc_key(&m, &first, "attachments");
    rc_raw(&m, "[{");
    if (m.rc == TN_OK)
        m.rc = tn_rcv_json_str_omit(b, &af, "title", title);
    rc_put(&m, &af, "title_link", c->title_link);
    rc_put(&m, &af, "text", c->text);
    rc_put(&m, &af, "image_url", c->image_url);
    rc_put(&m, &af, "thumb_url", c->thumb_url);
    rc_put(&m, &af, "color", c->color);
    rc_fields_json(&m, c, &af);
    rc_actions_json(&m, c, &af);
    rc_raw(&m, "}]}\n");
    free(title);
    return m.rc;
}

/* A secret from its file (read per send) or inline. */
static int rc_secret(const char *v, const char *file, char **out, char *err, size_t errlen)
{
    if (!tn_receiver_set(file)) {
        *out = tn_xstrdup(v ? v : "");
        return TN_OK;
    }
    char e[TN_ERRBUF_SIZE];
    if (tn_rcv_read_file(file, out, e, sizeof(e)) != TN_OK) {
        snprintf(err, errlen, "could not read %s: %s", file, e);
        return TN_ERR_IO;
    }
    return TN_OK;
}

static void rc_wipe(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static int rc_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const rc_conf_t *c = s->ic->conf;
    char *token = NULL, *token_id = NULL, *channel = NULL;
    int rc = rc_secret(c->token, c->token_file, &token, err, errlen);
    if (rc == TN_OK)
        rc = rc_secret(c->token_id, c->token_id_file, &token_id, err, errlen);
    if (rc != TN_OK) {
        rc_wipe(token);
        return rc;
    }
    tn_buf_reset(&req->body);
    rc = rc_message(&req->body, c, s->n, &channel);
    if (rc != TN_OK) {
        snprintf(err, errlen, "rocketchat message too large");
        free(channel);
        rc_wipe(token);
        rc_wipe(token_id);
        return rc;
    }
    char *url = rc_url(c->api_url);
    tn_out_request_set_url(req, url);
    free(url);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    tn_out_request_add_header(req, "X-Auth-Token", token);
    tn_out_request_add_header(req, "X-User-Id", token_id);
    rc_wipe(token);
    rc_wipe(token_id);
    req->http = &c->http_config;
    /* The channel names the failure, as in Alertmanager's error. */
    if (s->carry)
        (s->carry_free ? s->carry_free : free)(s->carry);
    s->carry = channel;
    s->carry_free = free;
    return TN_OK;
}

/* ---- the reply ---- */

/* Go's %q of s (printable UTF-8 kept; controls and bad bytes escaped) into out. */
static void rc_quote(char *out, size_t outlen, const char *s)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_putc(&b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            tn_buf_puts(&b, "\\\"");
            break;
        case '\\':
            tn_buf_puts(&b, "\\\\");
            break;
        case '\n':
            tn_buf_puts(&b, "\\n");
            break;
        case '\r':
            tn_buf_puts(&b, "\\r");
            break;
        case '\t':
            tn_buf_puts(&b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                tn_buf_printf(&b, "\\x%02x", *p);
            else
                tn_buf_putc(&b, (char)*p);
        }
    }
    tn_buf_putc(&b, '"');
    snprintf(out, outlen, "%.*s", (int)b.len, b.data);
    tn_buf_free(&b);
}

/* A member of a JSON object by name, matched as Go's decoder does (exact, else case-folded;
 * the last one wins). */
static json_t *rc_member(json_t *obj, const char *name)
{
    json_t *exact = json_object_get(obj, name), *folded = NULL;
    const char *k;
    json_t *v;
    if (exact)
        return exact;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, name) == 0)
            folded = v;
    }
    return folded;
}

static enum tn_send_result rc_verdict(const tn_out_response_t *resp, const char **reason, char *err,
                                      size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_DECODE_ANY, &jerr);
    if (!v) {
        /* A long reply (Rocket.Chat echoes the whole message, "success" last) is cut by the
         * core: the 2xx stands rather than posting the message twice. */
        if (resp->body_len >= RC_RESPONSE_CAP &&
            json_error_code(&jerr) == json_error_premature_end_of_input)
            return TN_SEND_DONE;
        char q[160]; /* the start of the reply is enough to recognise it */
        rc_quote(q, sizeof(q), resp->body ? resp->body : "");
        *reason = "clientError";
        snprintf(err, errlen, "could not unmarshal JSON response %s: %s", q, jerr.text);
        return TN_SEND_RETRY;
    }
    enum tn_send_result r = TN_SEND_DONE;
    json_t *ok = json_is_object(v) ? rc_member(v, "success") : NULL;
    json_t *e = json_is_object(v) ? rc_member(v, "error") : NULL;
    if ((!json_is_object(v) && !json_is_null(v)) ||
        (ok && !json_is_boolean(ok) && !json_is_null(ok)) ||
        (e && !json_is_string(e) && !json_is_null(e))) {
        /* Go's decoder refuses the types: Alertmanager retries. */
        char q[160]; /* the start of the reply is enough to recognise it */
        rc_quote(q, sizeof(q), resp->body ? resp->body : "");
        *reason = "clientError";
        snprintf(err, errlen, "could not unmarshal JSON response %s: unexpected type", q);
        r = TN_SEND_RETRY;
    } else if (!json_is_true(ok)) {
        *reason = "clientError";
        snprintf(err, errlen, "error response from Rocketchat: %s",
                 json_is_string(e) ? json_string_value(e) : "");
        r = TN_SEND_FAIL;
    }
    json_decref(v);
    return r;
}

static void rc_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    /* Room for "channel <quoted>: <error>" in o->err. */
    char ch[128], e[TN_ERRBUF_SIZE - sizeof(ch) - 16];
    if (resp->curl_code != 0) {
        o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
        return;
    }
    if (resp->status / 100 != 2)
        o->result = tn_receiver_classify_http(resp, false, &o->reason, e, sizeof(e));
    else
        o->result = rc_verdict(resp, &o->reason, e, sizeof(e));
    if (o->result == TN_SEND_DONE)
        return;
    rc_quote(ch, sizeof(ch), s->carry ? (const char *)s->carry : "");
    snprintf(o->err, sizeof(o->err), "channel %s: %s", ch, e);
}

/* Its keys under global:. */
static const tn_field_t rocketchat_global_fields[] = {
    TN_GLOBAL_FIELD("rocketchat_api_url", TN_F_URL, rocketchat_api_url,
                    "https://open.rocket.chat/"),
    TN_GLOBAL_FIELD("rocketchat_token", TN_F_SECRET, rocketchat_token, NULL),
    TN_GLOBAL_FILE("rocketchat_token_file", rocketchat_token_file, "rocketchat_token"),
    TN_GLOBAL_FIELD("rocketchat_token_id", TN_F_SECRET, rocketchat_token_id, NULL),
    TN_GLOBAL_FILE("rocketchat_token_id_file", rocketchat_token_id_file, "rocketchat_token_id"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_rocketchat = {
    .name = "rocketchat",
    .conf_size = sizeof(rc_conf_t),
    .fields = rc_fields,
    .global_fields = rocketchat_global_fields,
    .send_resolved_default = false,
    .finalize = rc_finalize, /* field booleans, global URL and tokens */
    .conf_free = NULL,       /* the field table frees everything */
    .build = rc_build,       /* token files read per send */
    .classify = rc_classify, /* retry 5xx and unreadable 2xx replies; {"success": false} fails */
};
