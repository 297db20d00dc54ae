/* Mattermost (mattermost_configs): an incoming-webhook post, as Alertmanager sends it. Without
 * configured attachments the message is one attachment built from the top-level keys (the
 * text inside it); with them, the text is the post's own and each attachment is sent as
 * written. Priority and props (card) follow Mattermost's post metadata. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Mattermost's limit for a post's text, in runes. */
#define MM_MAX_TEXT_RUNES 16383

typedef struct mm_field {
    char *title, *value;
    char *short_text; /* tri-state: NULL = not sent */
} mm_field_t;

typedef struct mm_attachment {
    char *fallback, *color, *pretext, *text, *author_name, *author_link, *author_icon;
    char *title, *title_link;
    tn_structlist_t fields; /* mm_field_t */
    char *thumb_url, *footer, *footer_icon, *image_url;
} mm_attachment_t;

typedef struct mm_props {
    char *card;
} mm_props_t;

typedef struct mm_priority {
    char *priority;
    bool requested_ack, persistent_notifications;
} mm_priority_t;

typedef struct mm_conf {
    char *webhook_url, *webhook_url_file; /* the file is read again for every send */
    char *channel, *username;
    /* The attachment sent when no attachments are configured. */
    mm_attachment_t att;
    char *icon_url, *icon_emoji;
    tn_structlist_t attachments; /* mm_attachment_t */
    char *type;
    mm_props_t props;
    mm_priority_t priority;
    tn_http_config_t http_config;
} mm_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(mm_conf_t, m)                                      \
    }
#define FD(k, m, d)                                                                                \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(mm_conf_t, m), .def = d                  \
    }
#define FA(k, m)                                                                                   \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(mm_attachment_t, m)                      \
    }
#define TMPL(name) "{{ template \"mattermost.default." name "\" . }}"

static const tn_field_t mm_field_fields[] = {
    {.key = "title", .type = TN_F_STRING, .offset = offsetof(mm_field_t, title)},
    {.key = "value", .type = TN_F_STRING, .offset = offsetof(mm_field_t, value)},
    {.key = "short", .type = TN_F_STRING, .offset = offsetof(mm_field_t, short_text)},
    {.key = NULL},
};

static const tn_field_t mm_attachment_fields[] = {
    FA("fallback", fallback),
    FA("color", color),
    FA("pretext", pretext),
    FA("text", text),
    FA("author_name", author_name),
    FA("author_link", author_link),
    FA("author_icon", author_icon),
    FA("title", title),
    FA("title_link", title_link),
    {.key = "fields",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(mm_attachment_t, fields),
     .sub = mm_field_fields,
     .elem_size = sizeof(mm_field_t)},
    FA("thumb_url", thumb_url),
    FA("footer", footer),
    FA("footer_icon", footer_icon),
    FA("image_url", image_url),
    {.key = NULL},
};

static const tn_field_t mm_props_fields[] = {
    {.key = "card", .type = TN_F_STRING, .offset = offsetof(mm_props_t, card)},
    {.key = NULL},
};

static const tn_field_t mm_priority_fields[] = {
    {.key = "priority", .type = TN_F_STRING, .offset = offsetof(mm_priority_t, priority)},
    {.key = "requested_ack", .type = TN_F_BOOL, .offset = offsetof(mm_priority_t, requested_ack)},
    {.key = "persistent_notifications",
     .type = TN_F_BOOL,
     .offset = offsetof(mm_priority_t, persistent_notifications)},
    {.key = NULL},
};

static const tn_field_t mm_fields[] = {
    F("webhook_url", TN_F_SECRET_URL, webhook_url),
    {.key = "webhook_url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(mm_conf_t, webhook_url_file),
     .target = "webhook_url"},
    F("channel", TN_F_STRING, channel),
    FD("username", username, TMPL("username")),
    FD("text", att.text, TMPL("text")),
    FD("fallback", att.fallback, TMPL("fallback")),
    FD("color", att.color, TMPL("color")),
    F("pretext", TN_F_STRING, att.pretext),
    F("author_name", TN_F_STRING, att.author_name),
    F("author_link", TN_F_STRING, att.author_link),
    F("author_icon", TN_F_STRING, att.author_icon),
    FD("title", att.title, TMPL("title")),
    FD("title_link", att.title_link, TMPL("titlelink")),
    {.key = "fields",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(mm_conf_t, att.fields),
     .sub = mm_field_fields,
     .elem_size = sizeof(mm_field_t)},
    F("thumb_url", TN_F_STRING, att.thumb_url),
    F("footer", TN_F_STRING, att.footer),
    F("footer_icon", TN_F_STRING, att.footer_icon),
    F("image_url", TN_F_STRING, att.image_url),
    F("icon_url", TN_F_STRING, icon_url),
    F("icon_emoji", TN_F_STRING, icon_emoji),
    {.key = "attachments",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(mm_conf_t, attachments),
     .sub = mm_attachment_fields,
     .elem_size = sizeof(mm_attachment_t)},
    F("type", TN_F_STRING, type),
    {.key = "props",
     .type = TN_F_STRUCT,
     .offset = offsetof(mm_conf_t, props),
     .sub = mm_props_fields},
    {.key = "priority",
     .type = TN_F_STRUCT,
     .offset = offsetof(mm_conf_t, priority),
     .sub = mm_priority_fields},
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static int mm_check_fields(const tn_structlist_t *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        const mm_field_t *f = &((const mm_field_t *)l->v)[i];
        bool b;
        if (!tn_receiver_set(f->title)) {
            snprintf(err, errlen, "missing title in Mattermost field configuration");
            return TN_ERR_INVAL;
        }
        if (!tn_receiver_set(f->value)) {
            snprintf(err, errlen, "missing value in Mattermost field configuration");
            return TN_ERR_INVAL;
        }
        if (f->short_text && tn_receiver_parse_bool(f->short_text, &b) != TN_OK) {
            snprintf(err, errlen, "fields: short: cannot parse \"%s\" as a boolean", f->short_text);
            return TN_ERR_INVAL;
        }
    }
    return TN_OK;
}

static int mm_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    mm_conf_t *c = conf;
    int rc = mm_check_fields(&c->att.fields, err, errlen);
    for (size_t i = 0; i < c->attachments.n && rc == TN_OK; i++)
        rc = mm_check_fields(&((mm_attachment_t *)c->attachments.v)[i].fields, err, errlen);
    if (rc != TN_OK)
        return rc;
    if (!tn_receiver_set(c->webhook_url) && !tn_receiver_set(c->webhook_url_file)) {
        if (!tn_receiver_set(g->mattermost_webhook_url) &&
            !tn_receiver_set(g->mattermost_webhook_url_file)) {
            snprintf(err, errlen, "missing webhook_url or webhook_url_file on mattermost_config");
            return TN_ERR_INVAL;
        }
        free(c->webhook_url);
        free(c->webhook_url_file);
        c->webhook_url = g->mattermost_webhook_url ? tn_xstrdup(g->mattermost_webhook_url) : NULL;
        c->webhook_url_file =
            g->mattermost_webhook_url_file ? tn_xstrdup(g->mattermost_webhook_url_file) : NULL;
    }
    return TN_OK;
}

/* ---- the post ---- */

typedef struct mm_msg {
    tn_buf_t *b;
    tn_rcv_tmpl_t *t;
    int rc;
} mm_msg_t;

static void mm_raw(mm_msg_t *m, const char *s)
{
    if (m->rc == TN_OK)
        m->rc = tn_buf_puts(m->b, s);
}

static void mm_key(mm_msg_t *m, bool *first, const char *key)
{
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_key(m->b, first, key);
}

/* A value already rendered, omitted when empty (every member of Alertmanager's post is). */
static void mm_value(mm_msg_t *m, bool *first, const char *key, const char *v)
{
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_str_omit(m->b, first, key, v);
}

/* Renders text (main: a failure yields the fallback text) and writes it. */
static void mm_put(mm_msg_t *m, bool *first, const char *key, const char *text, bool main)
{
    if (m->rc != TN_OK)
        return;
    char *v = main ? tn_rcv_render_main(m->t, text, 0) : tn_rcv_render(m->t, text, 0);
    mm_value(m, first, key, v);
    free(v);
}

static void mm_fields_json(mm_msg_t *m, bool *first, const tn_structlist_t *l)
{
    if (l->n == 0)
        return;
    mm_key(m, first, "fields");
    mm_raw(m, "[");
    for (size_t i = 0; i < l->n; i++) {
        const mm_field_t *f = &((const mm_field_t *)l->v)[i];
        bool ff = true, shrt;
        mm_raw(m, i ? ",{" : "{");
        mm_put(m, &ff, "title", f->title, false);
        mm_put(m, &ff, "value", f->value, false);
        if (f->short_text && tn_receiver_parse_bool(f->short_text, &shrt) == TN_OK) {
            mm_key(m, &ff, "short");
            mm_raw(m, shrt ? "true" : "false");
        }
        mm_raw(m, "}");
    }
    mm_raw(m, "]");
}

/* One attachment; text is the rendered text when given (the single attachment's), else the
 * attachment's own. */
static void mm_attachment_json(mm_msg_t *m, const mm_attachment_t *a, const char *text)
{
    bool af = true;
    mm_raw(m, "{");
    mm_put(m, &af, "fallback", a->fallback, true);
    mm_put(m, &af, "color", a->color, false);
    mm_put(m, &af, "pretext", a->pretext, false);
    if (text)
        mm_value(m, &af, "text", text);
    else
        mm_put(m, &af, "text", a->text, false);
    mm_put(m, &af, "author_name", a->author_name, false);
    mm_put(m, &af, "author_link", a->author_link, false);
    mm_put(m, &af, "author_icon", a->author_icon, false);
    mm_put(m, &af, "title", a->title, true);
    mm_put(m, &af, "title_link", a->title_link, false);
    mm_fields_json(m, &af, &a->fields);
    mm_put(m, &af, "thumb_url", a->thumb_url, false);
    mm_put(m, &af, "footer", a->footer, false);
    mm_put(m, &af, "footer_icon", a->footer_icon, false);
    mm_put(m, &af, "image_url", a->image_url, false);
    mm_raw(m, "}");
}

/* Mattermost knows three priorities; the acknowledgement and persistent notifications only
 * go with the ones that allow them. Alertmanager corrects, and warns, rather than fails. */
static void mm_priority_json(mm_msg_t *m, bool *first, const mm_conf_t *c, const char *gk)
{
    if (!tn_receiver_set(c->priority.priority))
        return;
    char *p = tn_rcv_render(m->t, c->priority.priority, 0);
    char *raw = tn_xstrdup(p);
    for (char *q = p; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    if (strcmp(p, "urgent") != 0 && strcmp(p, "important") != 0 && strcmp(p, "standard") != 0) {
        tn_log(TN_LOG_WARN, "Priority is set to standard due to invalid value", "integration",
               "mattermost", "aggrGroup", gk, "priority", raw, NULL);
        free(p);
        p = tn_xstrdup("standard");
    }
    bool ack = c->priority.requested_ack, persistent = c->priority.persistent_notifications;
    if (ack && strcmp(p, "standard") == 0) {
        tn_log(TN_LOG_WARN, "RequestedAck is set to false due to priority is standard",
               "integration", "mattermost", "aggrGroup", gk, NULL);
        ack = false;
    }
    if (persistent && strcmp(p, "urgent") != 0) {
        tn_log(TN_LOG_WARN, "PersistentNotifications is set to false due to priority is not urgent",
               "integration", "mattermost", "aggrGroup", gk, NULL);
        persistent = false;
    }
    bool pf = true;
    mm_key(m, first, "priority");
    mm_raw(m, "{");
    mm_value(m, &pf, "priority", p);
    if (ack) {
        mm_key(m, &pf, "requested_ack");
        mm_raw(m, "true");
    }
    if (persistent) {
        mm_key(m, &pf, "persistent_notifications");
        mm_raw(m, "true");
    }
    mm_raw(m, "}");
    free(p);
    free(raw);
}

/* Writes the post; *channel gets the rendered channel (for the error text). */
static int mm_message(tn_buf_t *b, const mm_conf_t *c, const tn_notification_t *n, char **channel)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "mattermost");
    mm_msg_t m = {.b = b, .t = &t, .rc = TN_OK};
    const char *gk = n->group_key ? n->group_key : "";
    bool top = true;

    char *text = tn_rcv_render(&t, c->att.text, 0);
    *channel = tn_rcv_render(&t, c->channel, 0);
    mm_raw(&m, "{");
    if (c->attachments.n) {
        /* Only a post's own text is limited; it is sent only beside configured attachments. */
        if (tn_rcv_truncate_runes(&text, MM_MAX_TEXT_RUNES))
            tn_log(TN_LOG_WARN, "Truncated text", "integration", "mattermost", "aggrGroup", gk,
                   "max_runes", TN_STR(MM_MAX_TEXT_RUNES), NULL);
        mm_value(&m, &top, "text", text);
    }
    mm_value(&m, &top, "channel", *channel);
    mm_put(&m, &top, "username", c->username, false);
    mm_put(&m, &top, "icon_url", c->icon_url, false);
    mm_put(&m, &top, "icon_emoji", c->icon_emoji, false);
    mm_key(&m, &top, "attachments");
    mm_raw(&m, "[");
    if (c->attachments.n) {
        for (size_t i = 0; i < c->attachments.n; i++) {
            if (i)
                mm_raw(&m, ",");
            mm_attachment_json(&m, &((const mm_attachment_t *)c->attachments.v)[i], NULL);
        }
    } else {
        mm_attachment_json(&m, &c->att, text);
    }
    mm_raw(&m, "]");
    mm_put(&m, &top, "type", c->type, false);
    if (tn_receiver_set(c->props.card)) {
        bool pf = true;
        mm_key(&m, &top, "props");
        mm_raw(&m, "{");
        mm_put(&m, &pf, "card", c->props.card, false);
        mm_raw(&m, "}");
    }
    mm_priority_json(&m, &top, c, gk);
    mm_raw(&m, "}\n");
    free(text);
    return m.rc;
}

static int mm_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const mm_conf_t *c = s->ic->conf;
    char *url = NULL, *channel = NULL;
    int rc;

    /* The file is read for every send, so that a rotated webhook URL needs no reload. */
    rc = tn_rcv_secret(c->webhook_url, c->webhook_url_file, &url, err, errlen);
    if (rc != TN_OK)
        return rc;
    if (!url[0]) {
        free(url);
        snprintf(err, errlen, "webhook url missing");
        return TN_ERR_INVAL;
    }
    tn_buf_reset(&req->body);
    rc = mm_message(&req->body, c, s->n, &channel);
    if (rc == TN_OK)
        tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url)); /* a webhook URL is a secret */
    free(url);
    if (rc != TN_OK) {
        free(channel);
        snprintf(err, errlen, "mattermost message too large");
        return rc;
    }
    /* The rendered channel names a failure, as Alertmanager's error does. */
    if (s->carry)
        (s->carry_free ? s->carry_free : free)(s->carry);
    s->carry = channel;
    s->carry_free = NULL;
    tn_rcv_json_request(req, &c->http_config);
    return TN_OK;
}

static void mm_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    char e[sizeof(o->err)];
    /* 2xx is delivered, 5xx may heal, anything else (429 too) will not. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, e, sizeof(e));
    if (o->result == TN_SEND_DONE || resp->curl_code != 0) {
        snprintf(o->err, sizeof(o->err), "%s", e);
        return;
    }
    /* Go's %q of the channel, close enough for names: quotes and backslashes escaped. */
    char q[256];
    size_t w = 0;
    const char *ch = s->carry ? s->carry : "";
    q[w++] = '"';
    for (; *ch && w < sizeof(q) - 3; ch++) {
        if (*ch == '"' || *ch == '\\')
            q[w++] = '\\';
        q[w++] = *ch;
    }
    q[w++] = '"';
    q[w] = 0;
    int used = snprintf(o->err, sizeof(o->err), "channel %s: ", q);
    if (used > 0 && (size_t)used < sizeof(o->err))
        snprintf(o->err + used, sizeof(o->err) - (size_t)used, "%.*s",
                 (int)(sizeof(o->err) - (size_t)used - 1), e);
}

/* Its keys under global:. */
static const tn_field_t mattermost_global_fields[] = {
    TN_GLOBAL_FIELD("mattermost_webhook_url", TN_F_SECRET_URL, mattermost_webhook_url, NULL),
    TN_GLOBAL_FILE("mattermost_webhook_url_file", mattermost_webhook_url_file,
                   "mattermost_webhook_url"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_mattermost = {
    .name = "mattermost",
    .conf_size = sizeof(mm_conf_t),
    .fields = mm_fields,
    .global_fields = mattermost_global_fields,
    .send_resolved_default = true,
    .finalize = mm_finalize, /* field checks, global webhook URL */
    .conf_free = NULL,       /* the field table frees everything */
    .build = mm_build,       /* the post; the URL file is read per send */
    .classify = mm_classify, /* retry 5xx only */
};
