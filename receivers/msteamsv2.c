/* Microsoft Teams through a Workflows (Power Automate) webhook (msteamsv2_configs): a message
 * with one Adaptive Card attachment, a heading coloured by status and the text below it, as
 * Alertmanager posts it. Texts are not cut: Alertmanager sets no limit here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/version.h"

/* Adaptive Card colour names of the heading, as Alertmanager picks them. */
#define MSTEAMSV2_RED   "Attention"
#define MSTEAMSV2_GREEN "Good"

typedef struct msteamsv2_conf {
    char *webhook_url, *webhook_url_file; /* the file is read again for every send */
    char *title, *text;
    tn_http_config_t http_config;
} msteamsv2_conf_t;

static const tn_field_t msteamsv2_fields[] = {
    {.key = "webhook_url",
     .type = TN_F_SECRET_URL,
     .offset = offsetof(msteamsv2_conf_t, webhook_url)},
    {.key = "webhook_url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(msteamsv2_conf_t, webhook_url_file),
     .target = "webhook_url"},
    {.key = "title",
     .type = TN_F_STRING,
     .offset = offsetof(msteamsv2_conf_t, title),
     .def = "{{ template \"msteamsv2.default.title\" . }}"},
    {.key = "text",
     .type = TN_F_STRING,
     .offset = offsetof(msteamsv2_conf_t, text),
     .def = "{{ template \"msteamsv2.default.text\" . }}"},
    {.key = "http_config",
     .type = TN_F_HTTP_CONFIG,
     .offset = offsetof(msteamsv2_conf_t, http_config)},
    {.key = NULL},
};

static int msteamsv2_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    msteamsv2_conf_t *c = conf;
    /* Both at once is refused by the field reader, with Alertmanager's words. */
    if (!tn_receiver_set(c->webhook_url) && !tn_receiver_set(c->webhook_url_file)) {
        snprintf(err, errlen, "one of webhook_url or webhook_url_file must be configured");
        return TN_ERR_INVAL;
    }
    /* As Alertmanager: an http_config of the integration's own that names no proxy still
     * goes through the global proxy_url (only that key; without an http_config the whole
     * global one applies already). */
    tn_http_config_t *h = &c->http_config;
    if (!tn_receiver_set(h->proxy_url) && !h->proxy_from_environment &&
        tn_receiver_set(g->http_config.proxy_url)) {
        free(h->proxy_url);
        h->proxy_url = tn_xstrdup(g->http_config.proxy_url);
    }
    return TN_OK;
}

/* The message, member by member in the order Go's encoder writes Alertmanager's structs. */
static int msteamsv2_message(tn_buf_t *b, const msteamsv2_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "msteamsv2");
    char *title = tn_rcv_render_main(&t, c->title, 0);
    char *text = tn_rcv_render(&t, c->text, 0);
    bool first = true, att = true, card = true, head = true, body = true;

    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "type", "message");
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &first, "attachments");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "[{");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &att, "contentType", "application/vnd.microsoft.card.adaptive");
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &att, "contentUrl");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "null");
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &att, "content");
    if (rc == TN_OK)
        rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &card, "$schema",
                             "http://adaptivecards.io/schemas/adaptive-card.json");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &card, "type", "AdaptiveCard");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &card, "version", "1.2");
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &card, "body");
    /* The heading: every member set, so none is left out. */
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "[{");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &head, "type", "TextBlock");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &head, "text", title);
    if (rc == TN_OK)
        rc = tn_buf_printf(b,
                           ",\"weight\":\"Bolder\",\"size\":\"Medium\",\"wrap\":true,"
                           "\"style\":\"heading\",\"color\":\"%s\"},{",
                           tn_rcv_firing(n) ? MSTEAMSV2_RED : MSTEAMSV2_GREEN);
    /* The text: weight, size, style and colour are empty, so Go leaves them out. */
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &body, "type", "TextBlock");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &body, "text", text);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"wrap\":true}]");
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &card, "msteams");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "{\"width\":\"full\"}}}]}\n");
    free(title);
    free(text);
    return rc;
}

static int msteamsv2_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const msteamsv2_conf_t *c = s->ic->conf;
    char *url = NULL;
    int rc;
    char e[TN_ERRBUF_SIZE];
    rc = tn_rcv_secret(c->webhook_url, c->webhook_url_file, &url, e, sizeof(e));
    if (rc != TN_OK) {
        snprintf(err, errlen, "read webhook_url_file: %s", e);
        return rc;
    }
    tn_buf_reset(&req->body);
    rc = msteamsv2_message(&req->body, c, s->n);
    if (rc == TN_OK)
        tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    if (rc != TN_OK) {
        snprintf(err, errlen, "msteamsv2 message too large");
        return rc;
    }
    tn_rcv_json_request(req, &c->http_config);
    return TN_OK;
}

static void msteamsv2_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* Alertmanager's default rule: 5xx is retried; 429 and other 4xx fail. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
}

const tn_receiver_type_t tn_receiver_msteamsv2 = {
    .name = "msteamsv2",
    .conf_size = sizeof(msteamsv2_conf_t),
    .fields = msteamsv2_fields,
    .send_resolved_default = true,
    .finalize = msteamsv2_finalize, /* a webhook URL; the global proxy_url */
    .conf_free = NULL,              /* the field table frees everything */
    .build = msteamsv2_build,       /* one Adaptive Card; the URL file is read per send */
    .classify = msteamsv2_classify, /* retry 5xx only */
};
