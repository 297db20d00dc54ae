/* Webex (webex_configs): a message posted to a room through the Webex messages API, with the
 * bot token from http_config.authorization. The markdown is cut to Webex's limit in bytes, as
 * Alertmanager cuts it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/utf8.h"
#include "tocsin/version.h"

/* The longest message Webex takes, in bytes. */
#define WEBEX_MAX_MESSAGE 7439

typedef struct webex_conf {
    char *api_url;
    char *room_id;
    char *message;
    tn_http_config_t http_config;
} webex_conf_t;

static const tn_field_t webex_fields[] = {
    {.key = "api_url", .type = TN_F_URL, .offset = offsetof(webex_conf_t, api_url)},
    /* Required, but checked in finalize to word it as Alertmanager does. */
    {.key = "room_id", .type = TN_F_STRING, .offset = offsetof(webex_conf_t, room_id)},
    {.key = "message",
     .type = TN_F_STRING,
     .offset = offsetof(webex_conf_t, message),
     .def = "{{ template \"webex.default.message\" . }}"},
    {.key = "http_config", .type = TN_F_HTTP_CONFIG, .offset = offsetof(webex_conf_t, http_config)},
    {.key = NULL},
};

static int webex_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    webex_conf_t *c = conf;
    if (!tn_receiver_set(c->room_id)) {
        snprintf(err, errlen, "missing room_id on webex_config");
        return TN_ERR_INVAL;
    }
    /* Webex wants the bot's token in the integration's own http_config: an authorization
     * block (or bearer_token, which the reader turns into one); the global one does not count,
     * as Alertmanager checks before it applies the global http_config. */
    if (c->http_config.inherited || !tn_receiver_set(c->http_config.authorization_type)) {
        snprintf(err, errlen, "missing webex_configs.http_config.authorization");
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->api_url)) {
        if (!tn_receiver_set(g->webex_api_url)) {
            snprintf(err, errlen, "no global Webex URL set");
            return TN_ERR_INVAL;
        }
        free(c->api_url);
        c->api_url = tn_xstrdup(g->webex_api_url);
    }
    return TN_OK;
}

/* Alertmanager's TruncateInBytes for max > 3: at most max bytes with the marker, cut on a rune
 * boundary (so the text keeps at most max-3 bytes). Cuts *sp in place; true when it cut. */
static bool webex_truncate_bytes(char **sp, size_t max)
{
    char *s = *sp;
    size_t total = strlen(s), keep = 0;
    if (total <= max)
        return false;
    while (keep < total) {
        size_t w;
        tn_utf8_rune(s + keep, total - keep, &w);
        if (keep + w > max - 3)
            break;
        keep += w;
    }
    /* keep + 3 <= max < total: the marker fits in place. */
    memcpy(s + keep, TN_RCV_TRUNC_MARK, 3);
    s[keep + 3] = 0;
    return true;
}

static int webex_body(tn_buf_t *b, const webex_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "webex");
    /* The message is the only text: a broken template sends the fallback text, not an empty
     * message that Webex would refuse. */
    char *msg = tn_rcv_render_main(&t, c->message, 0);
    if (webex_truncate_bytes(&msg, WEBEX_MAX_MESSAGE))
        tn_log(TN_LOG_DEBUG, "message truncated due to exceeding maximum allowed length by webex",
               "integration", "webex", "aggrGroup", n->group_key, "max_bytes",
               TN_STR(WEBEX_MAX_MESSAGE), "truncated_message", msg, NULL);
    char *room = tn_rcv_render(&t, c->room_id, 0);
    bool first = true;

    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "markdown", msg);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "roomId", room);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    free(msg);
    free(room);
    return rc;
}

static int webex_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const webex_conf_t *c = s->ic->conf;
    tn_buf_reset(&req->body);
    if (webex_body(&req->body, c, s->n) != TN_OK) {
        snprintf(err, errlen, "webex message too large");
        return TN_ERR_INVAL;
    }
    tn_out_request_set_url(req, c->api_url);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    req->http = &c->http_config; /* Authorization: <type> <credentials> */
    return TN_OK;
}

static void webex_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* Alertmanager's default rule: 5xx is retried; 429 and other 4xx fail. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
}

/* Its keys under global:. */
static const tn_field_t webex_global_fields[] = {
    TN_GLOBAL_FIELD("webex_api_url", TN_F_URL, webex_api_url, "https://webexapis.com/v1/messages"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_webex = {
    .name = "webex",
    .conf_size = sizeof(webex_conf_t),
    .fields = webex_fields,
    .global_fields = webex_global_fields,
    .send_resolved_default = true,
    .finalize = webex_finalize, /* room_id, authorization, global webex_api_url */
    .conf_free = NULL,          /* the field table frees everything */
    .build = webex_build,       /* POST {markdown, roomId} */
    .classify = webex_classify, /* retry 5xx only */
};
