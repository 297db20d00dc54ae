/* Discord (discord_configs): a webhook message with one embed, coloured by status, texts cut
 * to Discord's limits as Alertmanager does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Discord's limits, in runes. */
#define DISCORD_MAX_TITLE   256
#define DISCORD_MAX_MESSAGE 4096
#define DISCORD_MAX_CONTENT 2000

#define DISCORD_RED   0x992D22
#define DISCORD_GREEN 0x2ECC71

typedef struct discord_conf {
    char *webhook_url, *webhook_url_file; /* the file is read again for every send */
    char *content, *title, *message, *username, *avatar_url;
    tn_http_config_t http_config;
} discord_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(discord_conf_t, m)                                 \
    }

static const tn_field_t discord_fields[] = {
    F("webhook_url", TN_F_SECRET_URL, webhook_url),
    {.key = "webhook_url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(discord_conf_t, webhook_url_file),
     .target = "webhook_url"},
    F("content", TN_F_STRING, content),
    {.key = "title",
     .type = TN_F_STRING,
     .offset = offsetof(discord_conf_t, title),
     .def = "{{ template \"discord.default.title\" . }}"},
    {.key = "message",
     .type = TN_F_STRING,
     .offset = offsetof(discord_conf_t, message),
     .def = "{{ template \"discord.default.message\" . }}"},
    F("username", TN_F_STRING, username),
    F("avatar_url", TN_F_STRING, avatar_url),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static int discord_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g);
    discord_conf_t *c = conf;
    if (!(c->webhook_url && c->webhook_url[0]) &&
        !(c->webhook_url_file && c->webhook_url_file[0])) {
        snprintf(err, errlen, "one of webhook_url or webhook_url_file must be configured");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static char *discord_text(tn_rcv_tmpl_t *t, const char *text, bool main, size_t max,
                          const char *what)
{
    char *s = main ? tn_rcv_render_main(t, text, 0) : tn_rcv_render(t, text, 0);
    if (tn_rcv_truncate_runes(&s, max)) {
        char m[16];
        snprintf(m, sizeof(m), "%zu", max);
        tn_log(TN_LOG_WARN, what, "integration", "discord", "aggrGroup", t->n->group_key,
               "max_runes", m, NULL);
    }
    return s;
}

static int discord_message(tn_buf_t *b, const discord_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "discord");
    char *title = discord_text(&t, c->title, true, DISCORD_MAX_TITLE, "Truncated title");
    char *desc = discord_text(&t, c->message, false, DISCORD_MAX_MESSAGE, "Truncated message");
    char *content = discord_text(&t, c->content, false, DISCORD_MAX_CONTENT, "Truncated message");
    bool first = true, ef = true;

    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "content", content);
    if (rc == TN_OK)
        rc = tn_rcv_json_key(b, &first, "embeds");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "[{");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &ef, "title", title);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &ef, "description", desc);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"color\":%d}]", tn_rcv_firing(n) ? DISCORD_RED : DISCORD_GREEN);
    /* username and avatar_url are sent as written, not templated. */
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "username", c->username);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "avatar_url", c->avatar_url);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    free(title);
    free(desc);
    free(content);
    return rc;
}

static int discord_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s->ic;
    const tn_notification_t *n = s->n;
    const discord_conf_t *c = ic->conf;
    char *url = NULL;
    int rc;
    rc = tn_rcv_secret(c->webhook_url, c->webhook_url_file, &url, err, errlen);
    if (rc != TN_OK)
        return rc;
    tn_buf_reset(&req->body);
    rc = discord_message(&req->body, c, n);
    if (rc == TN_OK)
        tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    if (rc != TN_OK) {
        snprintf(err, errlen, "discord message too large");
        return rc;
    }
    tn_rcv_json_request(req, &c->http_config);
    return TN_OK;
}

static enum tn_send_result discord_verdict(const tn_integration_cfg_t *ic,
                                           const tn_out_response_t *resp, const char **reason,
                                           char *err, size_t errlen)
{
    TN_UNUSED(ic);
    /* 5xx, and 429 after its Retry-After (a tocsin extension: Discord rate-limits webhooks). */
    return tn_receiver_classify_http(resp, true, reason, err, errlen);
}

static void discord_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    o->result = discord_verdict(s->ic, resp, &o->reason, o->err, sizeof(o->err));
}

const tn_receiver_type_t tn_receiver_discord = {
    .name = "discord",
    .conf_size = sizeof(discord_conf_t),
    .fields = discord_fields,
    .send_resolved_default = true,
    .finalize = discord_finalize, /* webhook_url or webhook_url_file is required */
    .conf_free = NULL,            /* the field table frees everything */
    .build = discord_build,       /* one embed; the URL file is read per send */
    .classify = discord_classify, /* retry 5xx and 429 */
};
