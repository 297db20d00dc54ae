/* Telegram (telegram_configs): one Bot API sendMessage call per notification, its parameters
 * as a JSON object of strings the way Alertmanager's client library writes them. In HTML
 * parse mode the message is rendered with html/template escaping, and one too long for
 * Telegram is replaced by a short notice rather than cut (a cut could break the markup); in
 * the other modes it is cut to 4096 runes. Telegram answers {"ok":true,...} or
 * {"ok":false,"error_code":N,"description":...}; every failure is retried, as Alertmanager
 * retries every error its client returns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Telegram's limit on a message, in runes. */
#define TG_MAX_MESSAGE 4096

/* Sent instead of an HTML message over the limit. */
#define TG_TOO_LONG                                                                                \
    "This notification could not be sent: its message is longer than Telegram allows "             \
    "(" TN_STR(TG_MAX_MESSAGE) " characters). Check the template that produces it."

typedef struct tg_conf {
    char *api_url;
    char *bot_token, *bot_token_file; /* the file is read again for every send */
    char *chat_id, *chat_id_file;     /* chat_id: the YAML integer as written */
    char *message_thread_id;
    char *message;
    bool disable_notifications;
    char *parse_mode;
    tn_http_config_t http_config;
    /* Set by finalize. */
    int64_t chat;   /* from chat_id; chat_id_file is read and parsed per send */
    int64_t thread; /* 0: none */
    bool html;
} tg_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(tg_conf_t, m)                                      \
    }

static const tn_field_t tg_fields[] = {
    F("api_url", TN_F_URL, api_url),
    F("bot_token", TN_F_SECRET, bot_token),
    {.key = "bot_token_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(tg_conf_t, bot_token_file),
     .target = "bot_token"},
    F("chat_id", TN_F_STRING, chat_id),
    /* Not a secret, but read like one: the path is resolved against the config's directory and
     * "at most one of chat_id & chat_id_file" is checked where the keys are. */
    {.key = "chat_id_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(tg_conf_t, chat_id_file),
     .target = "chat_id"},
    F("message_thread_id", TN_F_STRING, message_thread_id),
    {.key = "message",
     .type = TN_F_STRING,
     .offset = offsetof(tg_conf_t, message),
     .def = "{{ template \"telegram.default.message\" . }}"},
    F("disable_notifications", TN_F_BOOL, disable_notifications),
    {.key = "parse_mode",
     .type = TN_F_STRING,
     .offset = offsetof(tg_conf_t, parse_mode),
     .def = "HTML"},
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* A decimal integer as strconv.ParseInt(s, 10, 64) reads it. */
static int tg_parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!s[0] || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
        return TN_ERR_INVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return TN_ERR_INVAL;
    *out = v;
    return TN_OK;
}

static int tg_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    tg_conf_t *c = conf;
    /* Alertmanager's order: the keys of the block first, then what comes from global. */
    if (!tn_receiver_set(c->chat_id_file)) {
        if (tn_receiver_set(c->chat_id) && tg_parse_int(c->chat_id, &c->chat) != TN_OK) {
            snprintf(err, errlen, "chat_id: cannot unmarshal !!str `%s` into int64", c->chat_id);
            return TN_ERR_INVAL;
        }
        if (c->chat == 0) {
            snprintf(err, errlen, "missing chat_id or chat_id_file on telegram_config");
            return TN_ERR_INVAL;
        }
    }
    const char *pm = c->parse_mode ? c->parse_mode : "";
    if (pm[0] && strcmp(pm, "Markdown") != 0 && strcmp(pm, "MarkdownV2") != 0 &&
        strcmp(pm, "HTML") != 0) {
        snprintf(err, errlen,
                 "unknown parse_mode on telegram_config, must be Markdown, "
                 "MarkdownV2, HTML or empty string");
        return TN_ERR_INVAL;
    }
    c->html = strcmp(pm, "HTML") == 0;
    if (tn_receiver_set(c->message_thread_id) &&
        tg_parse_int(c->message_thread_id, &c->thread) != TN_OK) {
        snprintf(err, errlen, "message_thread_id: cannot unmarshal !!str `%s` into int",
                 c->message_thread_id);
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->api_url)) {
        free(c->api_url);
        c->api_url = tn_xstrdup(g->telegram_api_url ? g->telegram_api_url : "");
    }
    if (!tn_receiver_set(c->bot_token) && !tn_receiver_set(c->bot_token_file)) {
        if (!tn_receiver_set(g->telegram_bot_token) &&
            !tn_receiver_set(g->telegram_bot_token_file)) {
            snprintf(err, errlen, "missing bot_token or bot_token_file on telegram_config");
            return TN_ERR_INVAL;
        }
        free(c->bot_token);
        free(c->bot_token_file);
        c->bot_token = g->telegram_bot_token ? tn_xstrdup(g->telegram_bot_token) : NULL;
        c->bot_token_file =
            g->telegram_bot_token_file ? tn_xstrdup(g->telegram_bot_token_file) : NULL;
    }
    return TN_OK;
}

/* ---- the message ---- */

/* The text to send: rendered, then held to Telegram's limit. New string. */
static char *tg_text(const tg_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "telegram");
    if (!c->html) {
        char *s = tn_rcv_render_main(&t, c->message, 0);
        if (tn_rcv_truncate_runes(&s, TG_MAX_MESSAGE))
            tn_log(TN_LOG_WARN, "Truncated message", "integration", "telegram", "aggrGroup",
                   n->group_key, "max_runes", TN_STR(TG_MAX_MESSAGE), NULL);
        return s;
    }
    char *s = tn_rcv_render(&t, c->message, TN_TMPL_HTML);
    if (t.failures) {
        /* The fallback text is plain: escape it as the template's output would be. */
        char *plain = tn_rcv_fallback_text(n);
        free(s);
        s = tn_rcv_html_escape(plain);
        free(plain);
    }
    if (tn_rcv_runes(s) > TG_MAX_MESSAGE) {
        tn_log(TN_LOG_WARN, "Message exceeds Telegram's limit; sending a notice instead",
               "integration", "telegram", "aggrGroup", n->group_key, "max_runes",
               TN_STR(TG_MAX_MESSAGE), NULL);
        free(s);
        s = tn_xstrdup(TG_TOO_LONG);
    }
    return s;
}

/* sendMessage's parameters: a map of strings, which Go's encoder writes with sorted keys. */
static int tg_body(tn_buf_t *b, const tg_conf_t *c, int64_t chat, const char *text)
{
    char num[32];
    bool first = true;
    snprintf(num, sizeof(num), "%lld", (long long)chat);
    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "chat_id", num);
    if (rc == TN_OK && c->disable_notifications)
        rc = tn_rcv_json_str(b, &first, "disable_notification", "true");
    /* Alertmanager always turns link previews off. */
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "disable_web_page_preview", "true");
    if (rc == TN_OK && c->thread != 0) {
        snprintf(num, sizeof(num), "%lld", (long long)c->thread);
        rc = tn_rcv_json_str(b, &first, "message_thread_id", num);
    }
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "parse_mode", c->parse_mode);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "text", text);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    return rc;
}

static int tg_chat(const tg_conf_t *c, int64_t *chat, char *err, size_t errlen)
{
    if (!tn_receiver_set(c->chat_id_file)) {
        *chat = c->chat;
        return TN_OK;
    }
    char *s = NULL, e[TN_ERRBUF_SIZE];
    if (tn_rcv_read_file(c->chat_id_file, &s, e, sizeof(e)) != TN_OK) {
        snprintf(err, errlen, "could not read %s: %s", c->chat_id_file, e);
        return TN_ERR_IO;
    }
    int rc = tg_parse_int(s, chat);
    if (rc != TN_OK)
        snprintf(err, errlen,
                 "could not parse chat_id from %s: strconv.ParseInt: parsing \"%s\": invalid "
                 "syntax",
                 c->chat_id_file, s);
    free(s);
    return rc;
}

static int tg_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tg_conf_t *c = s->ic->conf;
    char *token = NULL, e[TN_ERRBUF_SIZE];
    int64_t chat = 0;
    int rc;

    if (tn_receiver_set(c->bot_token_file)) {
        if (tn_rcv_read_file(c->bot_token_file, &token, e, sizeof(e)) != TN_OK) {
            snprintf(err, errlen, "could not read %s: %s", c->bot_token_file, e);
            return TN_ERR_IO;
        }
    } else {
        token = tn_xstrdup(c->bot_token ? c->bot_token : "");
    }
    rc = tg_chat(c, &chat, err, errlen);
    if (rc != TN_OK)
        goto out;

    char *text = tg_text(c, s->n);
    tn_buf_reset(&req->body);
    rc = tg_body(&req->body, c, chat, text);
    free(text);
    if (rc != TN_OK) {
        snprintf(err, errlen, "telegram message too large");
        goto out;
    }
    /* The token is part of the path, as the Bot API wants it: the URL is never logged. */
    char *url = tn_xasprintf("%s/bot%s/sendMessage", c->api_url, token);
    tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    req->http = &c->http_config;
out:
    memset(token, 0, strlen(token));
    free(token);
    return rc;
}

/* ---- the reply ---- */

/* Alertmanager's failure reason for a status code (Telegram's error_code mirrors HTTP's). */
static const char *tg_reason(long code)
{
    if (code == 401 || code == 403)
        return "authError";
    if (code == 429)
        return "rateLimited";
    if (code / 100 == 4)
        return "clientError";
    if (code / 100 == 5)
        return "serverError";
    return "other";
}

static void tg_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    if (resp->curl_code != 0) {
        o->result = TN_SEND_RETRY;
        o->reason = "other";
        snprintf(o->err, sizeof(o->err), "%s", resp->error ? resp->error : "transfer failed");
        return;
    }
    json_error_t jerr;
    json_t *v = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, &jerr) : NULL;
    if (resp->status / 100 == 2 && json_is_true(json_object_get(v, "ok"))) {
        json_decref(v);
        o->result = TN_SEND_DONE;
        o->reason = NULL;
        return;
    }
    /* Whatever went wrong, Alertmanager tries again until the flush deadline. */
    o->result = TN_SEND_RETRY;
    json_t *code = json_object_get(v, "error_code");
    const char *desc = json_string_value(json_object_get(v, "description"));
    long c = json_is_integer(code) ? (long)json_integer_value(code) : resp->status;
    if (c / 100 == 2) /* a 200 that is not Telegram's success */
        c = 0;
    o->reason = tg_reason(c);
    if (desc)
        snprintf(o->err, sizeof(o->err), "telegram: %s (%ld)", desc, c);
    else if (resp->body_len)
        snprintf(o->err, sizeof(o->err), "unexpected status code %ld: %.*s", resp->status,
                 (int)resp->body_len, resp->body);
    else
        snprintf(o->err, sizeof(o->err), "unexpected status code %ld", resp->status);
    /* Flood control names its wait in the body; a Retry-After header wins. */
    json_t *after = json_object_get(json_object_get(v, "parameters"), "retry_after");
    if (!o->retry_after_ms && json_is_integer(after) && json_integer_value(after) > 0)
        o->retry_after_ms = (uint64_t)json_integer_value(after) * 1000;
    json_decref(v);
}

/* Its keys under global:. */
static const tn_field_t telegram_global_fields[] = {
    TN_GLOBAL_FIELD("telegram_api_url", TN_F_URL, telegram_api_url, "https://api.telegram.org"),
    TN_GLOBAL_FIELD("telegram_bot_token", TN_F_SECRET, telegram_bot_token, NULL),
    TN_GLOBAL_FILE("telegram_bot_token_file", telegram_bot_token_file, "telegram_bot_token"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_telegram = {
    .name = "telegram",
    .conf_size = sizeof(tg_conf_t),
    .fields = tg_fields,
    .global_fields = telegram_global_fields,
    .send_resolved_default = true,
    .finalize = tg_finalize, /* chat id, parse mode, global API URL and bot token */
    .conf_free = NULL,       /* the field table frees everything */
    .build = tg_build,       /* sendMessage; token and chat id files read per send */
    .classify = tg_classify, /* done on {"ok":true}, every failure retried */
};
