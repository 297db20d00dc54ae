/* incident.io (incidentio_configs): POSTs Alertmanager's webhook message, version "1", to an
 * alert source's HTTP endpoint with its token as Bearer credentials, as Alertmanager does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* The largest body incident.io accepts: 512 KiB. */
#define IIO_MAX_PAYLOAD 524288

typedef struct iio_conf {
    char *url, *url_file; /* the file is read again for every send */
    char *alert_source_token, *alert_source_token_file;
    uint64_t max_alerts;   /* 0 = all */
    tn_duration_t timeout; /* 0 = bounded by the flush deadline only */
    tn_http_config_t http_config;
} iio_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(iio_conf_t, m)                                     \
    }

static const tn_field_t iio_fields[] = {
    F("url", TN_F_URL, url),
    {.key = "url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(iio_conf_t, url_file),
     .target = "url"},
    F("alert_source_token", TN_F_SECRET, alert_source_token),
    {.key = "alert_source_token_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(iio_conf_t, alert_source_token_file),
     .target = "alert_source_token"},
    F("max_alerts", TN_F_UINT, max_alerts),
    F("timeout", TN_F_DURATION, timeout),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static int iio_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g);
    iio_conf_t *c = conf;
    /* Two of url/url_file or of the token keys are refused by the field reader. */
    if (!tn_receiver_set(c->url) && !tn_receiver_set(c->url_file)) {
        snprintf(err, errlen, "one of url or url_file must be configured");
        return TN_ERR_INVAL;
    }
    bool token =
        tn_receiver_set(c->alert_source_token) || tn_receiver_set(c->alert_source_token_file);
    /* As Alertmanager checks before it applies the global http_config. */
    if (!c->http_config.inherited) {
        bool authz = c->http_config.authorization_type != NULL;
        if (authz && token) {
            snprintf(err, errlen,
                     "cannot specify alert_source_token or alert_source_token_file when using "
                     "http_config.authorization");
            return TN_ERR_INVAL;
        }
        if (!authz && !token) {
            snprintf(err, errlen,
                     "at least one of alert_source_token, alert_source_token_file or "
                     "http_config.authorization must be configured");
            return TN_ERR_INVAL;
        }
    }
    if (tn_receiver_set(c->alert_source_token_file) && c->alert_source_token) {
        /* A token read from its file is trimmed of white space at both ends. */
        char *s = c->alert_source_token, *e = s + strlen(s);
        while (*s && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        char *trimmed = tn_xstrndup(s, (size_t)(e - s));
        free(c->alert_source_token);
        c->alert_source_token = trimmed;
    }
    if (tn_receiver_set(c->alert_source_token)) {
        /* The token replaces whatever authorization the (global) http_config carries. */
        free(c->http_config.authorization_type);
        free(c->http_config.authorization_credentials);
        c->http_config.authorization_type = tn_xstrdup("Bearer");
        c->http_config.authorization_credentials = tn_xstrdup(c->alert_source_token);
    }
    return TN_OK;
}

/* The message, with all but its first alert dropped when it is larger than incident.io takes:
 * one alert is what incident.io makes of a group. */
static int iio_message(tn_buf_t *b, const iio_conf_t *c, const tn_notification_t *n)
{
    int rc = tn_rcv_webhook_message(b, n, "1", c->max_alerts, 0);
    if (rc != TN_OK || b->len <= IIO_MAX_PAYLOAD)
        return rc;
    char original[24], final[24];
    snprintf(original, sizeof(original), "%zu", b->len);
    tn_buf_reset(b);
    rc = tn_rcv_webhook_message(b, n, "1", c->max_alerts, 1);
    if (rc != TN_OK)
        return rc;
    snprintf(final, sizeof(final), "%zu", b->len);
    /* Still sent when it is too large: incident.io's answer says why it failed. */
    bool fits = b->len <= IIO_MAX_PAYLOAD;
    tn_log(fits ? TN_LOG_WARN : TN_LOG_ERROR,
           fits ? "Truncated alert content due to incident.io payload size limit"
                : "Truncated alert content due to incident.io payload size limit, but still "
                  "exceeds limit",
           "integration", "incidentio", "aggrGroup", n->group_key ? n->group_key : "",
           "original_size", original, "final_size", final, "max_size", TN_STR(IIO_MAX_PAYLOAD),
           NULL);
    return TN_OK;
}

static int iio_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const iio_conf_t *c = s->ic->conf;
    char *url = NULL;
    int rc;

    /* The file is read for every send, so that a rotated URL needs no reload. */
    rc = tn_rcv_secret(c->url, c->url_file, &url, err, errlen);
    if (rc != TN_OK)
        return rc;
    tn_buf_reset(&req->body);
    if (iio_message(&req->body, c, s->n) != TN_OK) {
        snprintf(err, errlen, "incident.io message too large");
        free(url);
        return TN_ERR_LIMIT;
    }
    tn_out_request_set_url(req, url);
    free(url);
    tn_rcv_json_request(req, &c->http_config);
    tn_rcv_set_timeout(req, c->timeout);
    return TN_OK;
}

/* What incident.io says went wrong: "message: error: errors, ..." from its JSON answer, or
 * nothing when the answer is not that object. */
static void iio_details(const tn_out_response_t *resp, char *out, size_t outlen)
{
    json_error_t jerr;
    out[0] = 0;
    if (!resp->body_len)
        return;
    json_t *v = json_loadb(resp->body, resp->body_len, JSON_DISABLE_EOF_CHECK, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        return;
    }
    json_t *msg = json_object_get(v, "message"), *e = json_object_get(v, "error");
    json_t *errs = json_object_get(v, "errors");
    bool ok = (!msg || json_is_null(msg) || json_is_string(msg)) &&
              (!e || json_is_null(e) || json_is_string(e)) &&
              (!errs || json_is_null(errs) || json_is_array(errs));
    for (size_t i = 0; ok && json_is_array(errs) && i < json_array_size(errs); i++)
        ok = json_is_string(json_array_get(errs, i));
    if (ok) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        const char *sep = "";
        if (json_string_length(msg)) {
            tn_buf_puts(&b, json_string_value(msg));
            sep = ": ";
        }
        if (json_string_length(e)) {
            tn_buf_printf(&b, "%s%s", sep, json_string_value(e));
            sep = ": ";
        }
        if (json_array_size(errs)) {
            tn_buf_puts(&b, sep);
            for (size_t i = 0; i < json_array_size(errs); i++)
                tn_buf_printf(&b, "%s%s", i ? ", " : "",
                              json_string_value(json_array_get(errs, i)));
        }
        snprintf(out, outlen, "%.*s", (int)b.len, b.data ? b.data : "");
        tn_buf_free(&b);
    }
    json_decref(v);
}

static void iio_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* 5xx may heal, and a 429 after its Retry-After; other answers will not. */
    o->result = tn_receiver_classify_http(resp, true, &o->reason, o->err, sizeof(o->err));
    if (o->result == TN_SEND_DONE || resp->curl_code != 0)
        return;
    char details[TN_ERRBUF_SIZE - 40];
    iio_details(resp, details, sizeof(details));
    if (details[0])
        snprintf(o->err, sizeof(o->err), "unexpected status code %ld: %s", resp->status, details);
    else
        snprintf(o->err, sizeof(o->err), "unexpected status code %ld", resp->status);
}

const tn_receiver_type_t tn_receiver_incidentio = {
    .name = "incidentio",
    .conf_size = sizeof(iio_conf_t),
    .fields = iio_fields,
    .send_resolved_default = true,
    .finalize = iio_finalize, /* url, the token or http_config's authorization */
    .conf_free = NULL,        /* the field table frees everything */
    .build = iio_build,       /* the version-1 message; the URL file is read per send */
    .classify = iio_classify, /* retry 5xx and 429; incident.io's error text */
};
