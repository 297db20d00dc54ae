/* Microsoft Teams through an Office 365 connector (msteams_configs): one MessageCard per
 * notification, its theme colour red while any alert fires and green when all are resolved,
 * as Alertmanager posts it. Texts are not cut: Alertmanager sets no limit here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/version.h"

/* MessageCard theme colours, as Alertmanager picks them. */
#define MSTEAMS_RED   "8C1A1A"
#define MSTEAMS_GREEN "2DC72D"

typedef struct msteams_conf {
    char *webhook_url, *webhook_url_file; /* the file is read again for every send */
    char *title, *summary, *text;
    tn_http_config_t http_config;
} msteams_conf_t;

static const tn_field_t msteams_fields[] = {
    {.key = "webhook_url",
     .type = TN_F_SECRET_URL,
     .offset = offsetof(msteams_conf_t, webhook_url)},
    {.key = "webhook_url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(msteams_conf_t, webhook_url_file),
     .target = "webhook_url"},
    {.key = "title",
     .type = TN_F_STRING,
     .offset = offsetof(msteams_conf_t, title),
     .def = "{{ template \"msteams.default.title\" . }}"},
    {.key = "summary",
     .type = TN_F_STRING,
     .offset = offsetof(msteams_conf_t, summary),
     .def = "{{ template \"msteams.default.summary\" . }}"},
    {.key = "text",
     .type = TN_F_STRING,
     .offset = offsetof(msteams_conf_t, text),
     .def = "{{ template \"msteams.default.text\" . }}"},
    {.key = "http_config",
     .type = TN_F_HTTP_CONFIG,
     .offset = offsetof(msteams_conf_t, http_config)},
    {.key = NULL},
};

static int msteams_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g);
    const msteams_conf_t *c = conf;
    /* Both at once is refused by the field reader, with Alertmanager's words. */
    if (!tn_receiver_set(c->webhook_url) && !tn_receiver_set(c->webhook_url_file)) {
        snprintf(err, errlen, "one of webhook_url or webhook_url_file must be configured");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* The card, member by member in the order Go's encoder writes Alertmanager's struct. */
static int msteams_card(tn_buf_t *b, const msteams_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "msteams");
    char *title = tn_rcv_render_main(&t, c->title, 0);
    char *summary = tn_rcv_render_main(&t, c->summary, 0);
    char *text = tn_rcv_render(&t, c->text, 0);
    bool first = true;

    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "@context", "http://schema.org/extensions");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "type", "MessageCard");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "title", title);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "summary", summary);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "text", text);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "themeColor",
                             tn_rcv_firing(n) ? MSTEAMS_RED : MSTEAMS_GREEN);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    free(title);
    free(summary);
    free(text);
    return rc;
}

static int msteams_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const msteams_conf_t *c = s->ic->conf;
    char *url = NULL;
    int rc;
    char e[TN_ERRBUF_SIZE];
    rc = tn_rcv_secret(c->webhook_url, c->webhook_url_file, &url, e, sizeof(e));
    if (rc != TN_OK) {
        snprintf(err, errlen, "read webhook_url_file: %s", e);
        return rc;
    }
    tn_buf_reset(&req->body);
    rc = msteams_card(&req->body, c, s->n);
    if (rc == TN_OK)
        tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    if (rc != TN_OK) {
        snprintf(err, errlen, "msteams message too large");
        return rc;
    }
    tn_rcv_json_request(req, &c->http_config);
    return TN_OK;
}

static void msteams_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* Alertmanager's default rule: 5xx is retried; 429 and other 4xx fail. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
}

const tn_receiver_type_t tn_receiver_msteams = {
    .name = "msteams",
    .conf_size = sizeof(msteams_conf_t),
    .fields = msteams_fields,
    .send_resolved_default = true,
    .finalize = msteams_finalize, /* webhook_url or webhook_url_file is required */
    .conf_free = NULL,            /* the field table frees everything */
    .build = msteams_build,       /* one MessageCard; the URL file is read per send */
    .classify = msteams_classify, /* retry 5xx only */
};
