/* Slack (slack_configs): one legacy attachment per notification, posted to an incoming
 * webhook (api_url / api_url_file) or, with an app token, to chat.postMessage with a Bearer
 * token, as Alertmanager does. With update_message a group's later notifications edit its
 * first message through chat.update. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Slack's limit for an attachment title, in runes. */
#define SLACK_MAX_TITLE_RUNES 1024

#define SLACK_POST_MESSAGE "https://slack.com/api/chat.postMessage"

/* What update_message keeps in the notification log: the first message's ts and channel. */
#define SLACK_KEEP_TS      "threadTs"
#define SLACK_KEEP_CHANNEL "channelId"

typedef struct slack_field {
    char *title, *value;
    char *short_text; /* tri-state: NULL = use short_fields */
} slack_field_t;

typedef struct slack_confirm {
    char *text, *title, *ok_text, *dismiss_text;
} slack_confirm_t;

typedef struct slack_action {
    char *type, *text, *url, *style, *name, *value;
    slack_confirm_t confirm; /* absent when text is NULL */
} slack_action_t;

typedef struct slack_conf {
    char *api_url, *api_url_file; /* the file is read again for every send */
    char *app_token, *app_token_file, *app_url;
    char *channel, *username, *color, *title, *title_link, *pretext, *text, *message_text;
    tn_structlist_t fields; /* slack_field_t */
    bool short_fields;
    char *footer, *fallback, *callback_id, *icon_emoji, *icon_url, *image_url, *thumb_url;
    bool link_names;
    tn_strlist_t mrkdwn_in;
    tn_structlist_t actions; /* slack_action_t */
    bool update_message;
    tn_duration_t timeout;
    tn_http_config_t http_config;
    /* Set by finalize. */
    bool app_mode; /* post to app_url with the token as Bearer credentials */
} slack_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(slack_conf_t, m)                                   \
    }
#define FD(k, m, d)                                                                                \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(slack_conf_t, m), .def = d               \
    }
#define TMPL(name) "{{ template \"slack.default." name "\" . }}"

static const tn_field_t slack_field_fields[] = {
    {.key = "title",
     .type = TN_F_STRING,
     .offset = offsetof(slack_field_t, title),
     .required = true},
    {.key = "value",
     .type = TN_F_STRING,
     .offset = offsetof(slack_field_t, value),
     .required = true},
    {.key = "short", .type = TN_F_STRING, .offset = offsetof(slack_field_t, short_text)},
    {.key = NULL},
};

static const tn_field_t slack_confirm_fields[] = {
    {.key = "text",
     .type = TN_F_STRING,
     .offset = offsetof(slack_confirm_t, text),
     .required = true},
    {.key = "title", .type = TN_F_STRING, .offset = offsetof(slack_confirm_t, title)},
    {.key = "ok_text", .type = TN_F_STRING, .offset = offsetof(slack_confirm_t, ok_text)},
    {.key = "dismiss_text", .type = TN_F_STRING, .offset = offsetof(slack_confirm_t, dismiss_text)},
    {.key = NULL},
};

static const tn_field_t slack_action_fields[] = {
    {.key = "type",
     .type = TN_F_STRING,
     .offset = offsetof(slack_action_t, type),
     .required = true},
    {.key = "text",
     .type = TN_F_STRING,
     .offset = offsetof(slack_action_t, text),
     .required = true},
    {.key = "url", .type = TN_F_STRING, .offset = offsetof(slack_action_t, url)},
    {.key = "style", .type = TN_F_STRING, .offset = offsetof(slack_action_t, style)},
    {.key = "name", .type = TN_F_STRING, .offset = offsetof(slack_action_t, name)},
    {.key = "value", .type = TN_F_STRING, .offset = offsetof(slack_action_t, value)},
    {.key = "confirm",
     .type = TN_F_STRUCT,
     .offset = offsetof(slack_action_t, confirm),
     .sub = slack_confirm_fields},
    {.key = NULL},
};

static const tn_field_t slack_fields[] = {
    F("api_url", TN_F_SECRET_URL, api_url),
    {.key = "api_url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(slack_conf_t, api_url_file),
     .target = "api_url"},
    F("app_token", TN_F_SECRET, app_token),
    {.key = "app_token_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(slack_conf_t, app_token_file),
     .target = "app_token"},
    F("app_url", TN_F_URL, app_url),
    F("channel", TN_F_STRING, channel),
    FD("username", username, TMPL("username")),
    FD("color", color, TMPL("color")),
    FD("title", title, TMPL("title")),
    FD("title_link", title_link, TMPL("titlelink")),
    FD("pretext", pretext, TMPL("pretext")),
    FD("text", text, TMPL("text")),
    F("message_text", TN_F_STRING, message_text),
    {.key = "fields",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(slack_conf_t, fields),
     .sub = slack_field_fields,
     .elem_size = sizeof(slack_field_t)},
    F("short_fields", TN_F_BOOL, short_fields),
    FD("footer", footer, TMPL("footer")),
    FD("fallback", fallback, TMPL("fallback")),
    FD("callback_id", callback_id, TMPL("callbackid")),
    FD("icon_emoji", icon_emoji, TMPL("iconemoji")),
    FD("icon_url", icon_url, TMPL("iconurl")),
    F("image_url", TN_F_STRING, image_url),
    F("thumb_url", TN_F_STRING, thumb_url),
    F("link_names", TN_F_BOOL, link_names),
    F("mrkdwn_in", TN_F_STRING_LIST, mrkdwn_in),
    {.key = "actions",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(slack_conf_t, actions),
     .sub = slack_action_fields,
     .elem_size = sizeof(slack_action_t)},
    F("update_message", TN_F_BOOL, update_message),
    F("timeout", TN_F_DURATION, timeout),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static int slack_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    slack_conf_t *c = conf;
    bool local_url = tn_receiver_set(c->api_url) || tn_receiver_set(c->api_url_file);
    bool local_token = tn_receiver_set(c->app_token) || tn_receiver_set(c->app_token_file);

    if (local_url && local_token) {
        snprintf(err, errlen,
                 "at most one of api_url/api_url_file & app_token/app_token_file must be "
                 "configured");
        return TN_ERR_INVAL;
    }
    for (size_t i = 0; i < c->fields.n; i++) {
        slack_field_t *f = &((slack_field_t *)c->fields.v)[i];
        bool b;
        if (f->short_text && tn_receiver_parse_bool(f->short_text, &b) != TN_OK) {
            snprintf(err, errlen, "fields: short: cannot parse \"%s\" as a boolean", f->short_text);
            return TN_ERR_INVAL;
        }
    }
    for (size_t i = 0; i < c->actions.n; i++) {
        slack_action_t *a = &((slack_action_t *)c->actions.v)[i];
        /* A URL button carries no message-action keys; a message action no URL. */
        if (tn_receiver_set(a->url)) {
            free(a->name);
            free(a->value);
            a->name = a->value = NULL;
            free(a->confirm.text);
            free(a->confirm.title);
            free(a->confirm.ok_text);
            free(a->confirm.dismiss_text);
            memset(&a->confirm, 0, sizeof(a->confirm));
        } else if (tn_receiver_set(a->name)) {
            free(a->url);
            a->url = NULL;
        } else {
            snprintf(err, errlen, "missing name or url in Slack action configuration");
            return TN_ERR_INVAL;
        }
    }
    /* Updating needs chat.update, which webhooks lack (Alertmanager's check, on the inline
     * URL before the globals apply). */
    if (c->update_message && tn_receiver_set(c->api_url) &&
        strcmp(c->api_url, SLACK_POST_MESSAGE) != 0) {
        snprintf(err, errlen,
                 "update_message can only be used with bot tokens. api_url must be "
                 "set to " SLACK_POST_MESSAGE);
        return TN_ERR_INVAL;
    }
    if (!c->app_url && g->slack_app_url)
        c->app_url = tn_xstrdup(g->slack_app_url);
    if (!c->app_url) {
        snprintf(err, errlen, "no global Slack App URL set");
        return TN_ERR_INVAL;
    }
    /* The global token only when nothing local says how to authenticate or where to post:
     * no token, no authorization in an own http_config, no inline api_url (Alertmanager's
     * rule, which lets the global token win over a local api_url_file). */
    bool own_authz = !c->http_config.inherited && c->http_config.authorization_type;
    bool inline_url = tn_receiver_set(c->api_url) && !tn_receiver_set(c->api_url_file);
    if (!local_token && !own_authz && !inline_url) {
        if (tn_receiver_set(g->slack_app_token)) {
            free(c->app_token);
            c->app_token = tn_xstrdup(g->slack_app_token);
        }
        if (tn_receiver_set(g->slack_app_token_file)) {
            free(c->app_token_file);
            c->app_token_file = tn_xstrdup(g->slack_app_token_file);
        }
    }
    if (!local_url) {
        if (tn_receiver_set(g->slack_api_url)) {
            free(c->api_url);
            c->api_url = tn_xstrdup(g->slack_api_url);
        }
        if (tn_receiver_set(g->slack_api_url_file)) {
            free(c->api_url_file);
            c->api_url_file = tn_xstrdup(g->slack_api_url_file);
        }
    }
    /* (A *_file that a check-only load could not read still counts.) */
    bool token = tn_receiver_set(c->app_token) || tn_receiver_set(c->app_token_file);
    if (!tn_receiver_set(c->api_url) && !tn_receiver_set(c->api_url_file) && !token) {
        snprintf(err, errlen, "no Slack API URL nor App token set either inline or in a file");
        return TN_ERR_INVAL;
    }
    if (token) {
        if (c->http_config.authorization_type) {
            snprintf(err, errlen, "http authorization can't be set when using Slack App tokens");
            return TN_ERR_INVAL;
        }
        free(c->http_config.authorization_type);
        free(c->http_config.authorization_credentials);
        c->http_config.authorization_type = tn_xstrdup("Bearer");
        c->http_config.authorization_credentials = tn_xstrdup(c->app_token ? c->app_token : "");
        c->app_mode = true;
    }
    /* Whatever the integration ends up posting to must be chat.postMessage with a bot token:
     * an app token, or the API URL itself (the token in http_config). Alertmanager cannot
     * load the other cases at all. */
    if (c->update_message && !c->app_mode &&
        (tn_receiver_set(c->api_url_file) || !tn_receiver_set(c->api_url) ||
         strcmp(c->api_url, SLACK_POST_MESSAGE) != 0)) {
        snprintf(err, errlen,
                 "update_message can only be used with bot tokens. api_url must be "
                 "set to " SLACK_POST_MESSAGE);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- the message ---- */

typedef struct slack_msg {
    tn_buf_t *b;
    tn_rcv_tmpl_t *t;
    int rc;
} slack_msg_t;

/* Renders text and writes it as a member (omitempty when asked). */
static void slack_put(slack_msg_t *m, bool *first, const char *key, const char *text, bool omit)
{
    if (m->rc != TN_OK)
        return;
    char *v = tn_rcv_render(m->t, text, 0);
    m->rc = omit ? tn_rcv_json_str_omit(m->b, first, key, v) : tn_rcv_json_str(m->b, first, key, v);
    free(v);
}

static void slack_put_value(slack_msg_t *m, bool *first, const char *key, const char *v, bool omit)
{
    if (m->rc == TN_OK)
        m->rc =
            omit ? tn_rcv_json_str_omit(m->b, first, key, v) : tn_rcv_json_str(m->b, first, key, v);
}

static void slack_raw(slack_msg_t *m, const char *s)
{
    if (m->rc == TN_OK)
        m->rc = tn_buf_puts(m->b, s);
}

static void slack_fields_json(slack_msg_t *m, const slack_conf_t *c, bool *first)
{
    if (c->fields.n == 0 || m->rc != TN_OK)
        return;
    m->rc = tn_rcv_json_key(m->b, first, "fields");
    slack_raw(m, "[");
    for (size_t i = 0; i < c->fields.n; i++) {
        const slack_field_t *f = &((const slack_field_t *)c->fields.v)[i];
        bool shrt = c->short_fields, ff = true;
        if (f->short_text)
            tn_receiver_parse_bool(f->short_text, &shrt);
        slack_raw(m, i ? ",{" : "{");
        slack_put(m, &ff, "title", f->title, true);
        slack_put(m, &ff, "value", f->value, true);
        if (m->rc == TN_OK)
            m->rc = tn_rcv_json_key(m->b, &ff, "short");
        slack_raw(m, shrt ? "true}" : "false}");
    }
    slack_raw(m, "]");
}

static void slack_actions_json(slack_msg_t *m, const slack_conf_t *c, bool *first)
{
    if (c->actions.n == 0 || m->rc != TN_OK)
        return;
    m->rc = tn_rcv_json_key(m->b, first, "actions");
    slack_raw(m, "[");
    for (size_t i = 0; i < c->actions.n; i++) {
        const slack_action_t *a = &((const slack_action_t *)c->actions.v)[i];
        bool af = true;
        slack_raw(m, i ? ",{" : "{");
        slack_put(m, &af, "type", a->type, true);
        slack_put(m, &af, "text", a->text, true);
        slack_put(m, &af, "url", a->url, true);
        slack_put(m, &af, "style", a->style, true);
        slack_put(m, &af, "name", a->name, true);
        slack_put(m, &af, "value", a->value, true);
        if (a->confirm.text && m->rc == TN_OK) {
            bool cf = true;
            m->rc = tn_rcv_json_key(m->b, &af, "confirm");
            slack_raw(m, "{");
            slack_put(m, &cf, "text", a->confirm.text, true);
            slack_put(m, &cf, "title", a->confirm.title, true);
            slack_put(m, &cf, "ok_text", a->confirm.ok_text, true);
            slack_put(m, &cf, "dismiss_text", a->confirm.dismiss_text, true);
            slack_raw(m, "}");
        }
        slack_raw(m, "}");
    }
    slack_raw(m, "]");
}

/* Writes the request body: Alertmanager's request and attachment shapes, member for member.
 * An update (ts set) names the message by its ts and the channel Slack posted it to. */
static int slack_message(tn_buf_t *b, const slack_conf_t *c, const tn_notification_t *n,
                         const char *ts, const char *channel)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "slack");
    slack_msg_t m = {.b = b, .t = &t, .rc = TN_OK};
    bool top = true, att = true;

    slack_raw(&m, "{");
    if (ts) {
        slack_put_value(&m, &top, "channel", channel, true);
        slack_put_value(&m, &top, "ts", ts, true);
    } else {
        slack_put(&m, &top, "channel", c->channel, true);
    }
    slack_put(&m, &top, "username", c->username, true);
    slack_put(&m, &top, "icon_emoji", c->icon_emoji, true);
    slack_put(&m, &top, "icon_url", c->icon_url, true);
    if (c->link_names && m.rc == TN_OK) {
        m.rc = tn_rcv_json_key(b, &top, "link_names");
        slack_raw(&m, "true");
    }
    slack_put(&m, &top, "text", c->message_text, true);
    if (m.rc == TN_OK)
        m.rc = tn_rcv_json_key(b, &top, "attachments");
    slack_raw(&m, "[{");

    char *title = tn_rcv_render_main(&t, c->title, 0);
    if (tn_rcv_truncate_runes(&title, SLACK_MAX_TITLE_RUNES))
        tn_log(TN_LOG_WARN, "Truncated title", "integration", "slack", "aggrGroup", n->group_key,
               "max_runes", TN_STR(SLACK_MAX_TITLE_RUNES), NULL);
    slack_put_value(&m, &att, "title", title, true);
    free(title);
    slack_put(&m, &att, "title_link", c->title_link, true);
    slack_put(&m, &att, "pretext", c->pretext, true);
    slack_put(&m, &att, "text", c->text, false);
    char *fallback = tn_rcv_render_main(&t, c->fallback, 0);
    slack_put_value(&m, &att, "fallback", fallback, false);
    free(fallback);
    slack_put(&m, &att, "callback_id", c->callback_id, false);
    slack_fields_json(&m, c, &att);
    slack_actions_json(&m, c, &att);
    slack_put(&m, &att, "image_url", c->image_url, true);
    slack_put(&m, &att, "thumb_url", c->thumb_url, true);
    slack_put(&m, &att, "footer", c->footer, false);
    slack_put(&m, &att, "color", c->color, true);
    if (m.rc == TN_OK)
        m.rc = tn_rcv_json_key(b, &att, "mrkdwn_in");
    slack_raw(&m, "[");
    if (c->mrkdwn_in.n == 0) {
        slack_raw(&m, "\"fallback\",\"pretext\",\"text\"");
    } else {
        for (size_t i = 0; i < c->mrkdwn_in.n && m.rc == TN_OK; i++) {
            if (i)
                slack_raw(&m, ",");
            if (m.rc == TN_OK)
                m.rc = tn_json_go_string(b, c->mrkdwn_in.v[i], strlen(c->mrkdwn_in.v[i]));
        }
    }
    slack_raw(&m, "]}]}\n");
    return m.rc;
}

/* chat.update beside chat.postMessage: the post URL with its last path segment replaced
 * (https://slack.com/api/chat.update for Slack itself). New string. */
static char *slack_update_url(const char *post)
{
    const char *host = strstr(post, "://");
    host = host ? host + 3 : post;
    size_t end = strcspn(host, "?#");
    const char *slash = NULL;
    for (const char *p = host; p < host + end; p++)
        if (*p == '/')
            slash = p;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (slash)
        tn_buf_append(&b, post, (size_t)(slash + 1 - post));
    else
        tn_buf_printf(&b, "%.*s/", (int)(host + end - post), post);
    tn_buf_puts(&b, "chat.update");
    tn_buf_puts(&b, host + end);
    char *url = tn_xstrndup(b.data, b.len);
    tn_buf_free(&b);
    return url;
}

static int slack_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s->ic;
    const tn_notification_t *n = s->n;
    const slack_conf_t *c = ic->conf;
    char *url = NULL;
    const char *ts = NULL, *channel = NULL;
    int rc;

    if (c->app_mode) {
        url = tn_xstrdup(c->app_url);
    } else if (tn_receiver_set(c->api_url_file)) {
        /* Read for every send, so that a rotated webhook URL needs no reload. */
        rc = tn_rcv_read_file(c->api_url_file, &url, err, errlen);
        if (rc != TN_OK)
            return rc;
    } else {
        url = tn_xstrdup(c->api_url);
    }
    if (c->update_message) {
        /* A group already posted: edit that message instead of posting another. */
        ts = tn_send_stored(s, SLACK_KEEP_TS);
        channel = tn_send_stored(s, SLACK_KEEP_CHANNEL);
        if (tn_receiver_set(ts) && tn_receiver_set(channel)) {
            char *update = slack_update_url(url);
            free(url);
            url = update;
            tn_log(TN_LOG_DEBUG, "updating previously sent message", "integration", "slack",
                   "aggrGroup", n->group_key, "threadTs", ts, "channelId", channel, NULL);
        } else {
            ts = channel = NULL;
        }
    }
    tn_buf_reset(&req->body);
    rc = slack_message(&req->body, c, n, ts, channel);
    if (rc != TN_OK) {
        snprintf(err, errlen, "slack message too large");
        free(url);
        return rc;
    }
    tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url)); /* a webhook URL is a secret */
    free(url);
    tn_rcv_json_request(req, &c->http_config);
    tn_rcv_set_timeout(req, c->timeout);
    return TN_OK;
}

static enum tn_send_result slack_verdict(tn_send_t *s, const tn_out_response_t *resp,
                                         const char **reason, char *err, size_t errlen)
{
    const slack_conf_t *c = s->ic->conf;
    /* 5xx may heal; 429 is retried after its Retry-After (a tocsin extension). */
    enum tn_send_result r = tn_receiver_classify_http(resp, true, reason, err, errlen);
    if (r != TN_SEND_DONE)
        return r;
    /* A 2xx still carries Slack's verdict: "ok" from a webhook, {"ok":...} from the API. */
    const char *body = resp->body ? resp->body : "";
    if (resp->content_type && strncasecmp(resp->content_type, "application/json", 16) == 0) {
        json_error_t jerr;
        json_t *v = json_loadb(body, resp->body_len, 0, &jerr);
        if (!v) {
            *reason = "other";
            snprintf(err, errlen, "could not unmarshal JSON response %.*s: %s", (int)resp->body_len,
                     body, jerr.text);
            return TN_SEND_RETRY;
        }
        json_t *ok = json_object_get(v, "ok");
        if (!json_is_true(ok)) {
            const char *e = json_string_value(json_object_get(v, "error"));
            *reason = "clientError";
            snprintf(err, errlen, "error response from Slack: %s", e ? e : "");
            json_decref(v);
            return TN_SEND_FAIL;
        }
        /* The message's ts and channel, for the group's later notifications to update. */
        const char *ts = json_string_value(json_object_get(v, "ts"));
        const char *channel = json_string_value(json_object_get(v, "channel"));
        if (c->update_message && tn_receiver_set(ts) && tn_receiver_set(channel)) {
            tn_send_keep(s, SLACK_KEEP_TS, ts);
            tn_send_keep(s, SLACK_KEEP_CHANNEL, channel);
        }
        json_decref(v);
        return TN_SEND_DONE;
    }
    if (resp->body_len != 2 || memcmp(body, "ok", 2) != 0) {
        *reason = "clientError";
        snprintf(err, errlen, "received an error response from Slack: %.*s", (int)resp->body_len,
                 body);
        return TN_SEND_FAIL;
    }
    return TN_SEND_DONE;
}

static void slack_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    o->result = slack_verdict(s, resp, &o->reason, o->err, sizeof(o->err));
}

static const tn_field_t slack_global_fields[] = {
    TN_GLOBAL_FIELD("slack_api_url", TN_F_SECRET_URL, slack_api_url, NULL),
    TN_GLOBAL_FILE("slack_api_url_file", slack_api_url_file, "slack_api_url"),
    TN_GLOBAL_FIELD("slack_app_token", TN_F_SECRET, slack_app_token, NULL),
    TN_GLOBAL_FILE("slack_app_token_file", slack_app_token_file, "slack_app_token"),
    TN_GLOBAL_FIELD("slack_app_url", TN_F_URL, slack_app_url,
                    "https://slack.com/api/chat.postMessage"),
    {.key = NULL},
};

static int slack_global_check(const tn_global_config_t *g, const char **key, char *err,
                              size_t errlen)
{
    if (g->slack_app_token && g->slack_app_token[0] && g->slack_api_url &&
        strcmp(g->slack_api_url, g->slack_app_url) != 0) {
        *key = "slack_app_token";
        snprintf(err, errlen,
                 "at most one of slack_app_token/slack_app_token_file & "
                 "slack_api_url/slack_api_url_file must be configured");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

const tn_receiver_type_t tn_receiver_slack = {
    .name = "slack",
    .conf_size = sizeof(slack_conf_t),
    .fields = slack_fields,
    .send_resolved_default = false,
    .global_fields = slack_global_fields,
    .global_check = slack_global_check,
    .finalize = slack_finalize, /* globals, app token mode, field/action checks */
    .conf_free = NULL,          /* the field table frees everything */
    .build = slack_build,       /* one attachment, posted or updated; URL file read per send */
    .classify = slack_classify, /* retry 5xx and 429; Slack's "ok" verdict; keeps the ts */
};
