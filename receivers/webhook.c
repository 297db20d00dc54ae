/* Generic webhook (webhook_configs): POSTs the notification as Alertmanager's version-4 JSON
 * message, byte for byte as Alertmanager's encoder writes it, or the configured `payload`
 * rendered in its place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/timefmt.h"
#include "tocsin/version.h"

typedef struct webhook_conf {
    char *url;             /* filled from url_file at load when that is used */
    char *url_file;        /* and read again for every send */
    uint64_t max_alerts;   /* 0 = all */
    tn_duration_t timeout; /* 0 = bounded by the flush deadline only */
    tn_http_config_t http_config;
    tn_yval_t *payload; /* sent rendered instead of the message; NULL = the message */
} webhook_conf_t;

static const tn_field_t webhook_fields[] = {
    {.key = "url", .type = TN_F_SECRET_URL, .offset = offsetof(webhook_conf_t, url)},
    {.key = "url_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(webhook_conf_t, url_file),
     .target = "url"},
    {.key = "max_alerts", .type = TN_F_UINT, .offset = offsetof(webhook_conf_t, max_alerts)},
    {.key = "timeout", .type = TN_F_DURATION, .offset = offsetof(webhook_conf_t, timeout)},
    {.key = "http_config",
     .type = TN_F_HTTP_CONFIG,
     .offset = offsetof(webhook_conf_t, http_config)},
    {.key = "payload", .type = TN_F_YAML, .offset = offsetof(webhook_conf_t, payload)},
    {.key = NULL},
};

static int webhook_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g); /* http_config already defaults to the global one */
    webhook_conf_t *c = conf;
    /* Both at once is refused by the field reader; none at all is refused here. */
    if (!tn_receiver_set(c->url) && !tn_receiver_set(c->url_file)) {
        snprintf(err, errlen, "one of url or url_file must be configured");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- the message ---- */

static int wh_key(tn_buf_t *b, const char *k)
{
    int rc = tn_json_go_string(b, k, strlen(k));
    return rc ? rc : tn_buf_putc(b, ':');
}

static int wh_str(tn_buf_t *b, const char *s)
{
    return s ? tn_json_go_string(b, s, strlen(s)) : tn_buf_puts(b, "\"\"");
}

/* A KV map: Go writes map keys sorted, and label sets are kept sorted by name. */
static int wh_kv(tn_buf_t *b, tn_labels_t ls)
{
    int rc = tn_buf_putc(b, '{');
    for (size_t i = 0; i < ls.n && rc == TN_OK; i++) {
        if (i)
            rc = tn_buf_putc(b, ',');
        if (rc == TN_OK)
            rc = wh_key(b, ls.v[i].name);
        if (rc == TN_OK)
            rc = wh_str(b, ls.v[i].value);
    }
    return rc ? rc : tn_buf_putc(b, '}');
}

static int wh_time(tn_buf_t *b, tn_time_t t)
{
    char ts[40];
    tn_time_format_rfc3339nano(t, ts);
    return tn_buf_printf(b, "\"%s\"", ts);
}

/* Go's regexp.QuoteMeta, which the template data applies to the receiver name. */
static char *wh_quote_meta(const char *s)
{
    size_t n = strlen(s);
    char *out = tn_xmalloc(2 * n + 1), *o = out;
    for (; *s; s++) {
        if (strchr("\\.+*?()|[]{}^$", *s))
            *o++ = '\\';
        *o++ = *s;
    }
    *o = 0;
    return out;
}

static int wh_alert(tn_buf_t *b, const tn_notif_alert_t *na)
{
    const tn_alert_t *a = na->alert;
    char fp[17];
    tn_fingerprint_format(a->fp, fp);
    int rc = tn_buf_puts(b, "{\"status\":");
    if (rc == TN_OK)
        rc = wh_str(b, na->resolved ? "resolved" : "firing");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"labels\":");
    if (rc == TN_OK)
        rc = wh_kv(b, tn_alert_labels(a));
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"annotations\":");
    if (rc == TN_OK)
        rc = wh_kv(b, tn_alert_annotations(a));
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"startsAt\":");
    if (rc == TN_OK)
        rc = wh_time(b, a->starts_at);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"endsAt\":");
    /* A firing alert's end is not exposed: Go's zero time. */
    if (rc == TN_OK)
        rc = wh_time(b, na->resolved ? a->ends_at : 0);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"generatorURL\":");
    if (rc == TN_OK)
        rc = wh_str(b, a->generator_url);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"fingerprint\":\"%s\"}", fp);
    return rc;
}

/* tocsin extension: what a rate limit held back, only in a summary notification. Lists are cut
 * at max_alerts too when that is set. */
static int wh_summary(tn_buf_t *b, const tn_summary_t *s, uint64_t max_alerts)
{
    size_t ng = s->nlisted_groups, nn = s->nnames;
    bool cut = s->truncated;
    if (max_alerts && ng > max_alerts) {
        ng = (size_t)max_alerts;
        cut = true;
    }
    if (max_alerts && nn > max_alerts) {
        nn = (size_t)max_alerts;
        cut = true;
    }
    char since[40];
    tn_time_format_rfc3339nano(s->since, since);
    int rc =
        tn_buf_printf(b,
                      ",\"tocsinSummary\":{\"heldAlerts\":%zu,\"heldFiring\":%zu,"
                      "\"heldResolved\":%zu,\"heldGroups\":%zu,\"heldNotifications\":%zu,"
                      "\"since\":\"%s\",\"groups\":[",
                      s->nalerts, s->nfiring, s->nresolved, s->ngroups, s->nnotifications, since);
    for (size_t i = 0; i < ng && rc == TN_OK; i++) {
        const tn_summary_group_t *g = &s->groups[i];
        rc = tn_buf_puts(b, i ? ",{\"groupKey\":" : "{\"groupKey\":");
        if (rc == TN_OK)
            rc = wh_str(b, g->group_key);
        if (rc == TN_OK)
            rc = tn_buf_puts(b, ",\"groupLabels\":");
        if (rc == TN_OK)
            rc = wh_kv(b, g->group_labels);
        if (rc == TN_OK)
            rc = tn_buf_printf(b, ",\"firing\":%zu,\"resolved\":%zu}", g->nfiring, g->nresolved);
    }
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "],\"alertnames\":[");
    for (size_t i = 0; i < nn && rc == TN_OK; i++) {
        rc = tn_buf_puts(b, i ? ",{\"alertname\":" : "{\"alertname\":");
        if (rc == TN_OK)
            rc = wh_str(b, s->names[i].alertname);
        if (rc == TN_OK)
            rc = tn_buf_printf(b, ",\"count\":%zu}", s->names[i].count);
    }
    if (rc == TN_OK)
        rc = tn_buf_printf(b, "],\"truncated\":%s}", cut ? "true" : "false");
    return rc;
}

tn_notification_t tn_rcv_first_alerts(const tn_notification_t *full, uint64_t max_alerts,
                                      uint64_t *truncated)
{
    tn_notification_t n = *full;
    *truncated = 0;
    if (max_alerts && n.nalerts > max_alerts) {
        *truncated = n.nalerts - max_alerts;
        n.nalerts = (size_t)max_alerts;
    }
    n.nfiring = 0;
    for (size_t i = 0; i < n.nalerts; i++)
        n.nfiring += !n.alerts[i].resolved;
    return n;
}

/* Status and common labels are those of the alerts kept, as Alertmanager computes them after
 * truncation. */
int tn_rcv_webhook_message(tn_buf_t *b, const tn_notification_t *full, const char *version,
                           uint64_t max_alerts, size_t listed)
{
    uint64_t truncated;
    tn_notification_t n = tn_rcv_first_alerts(full, max_alerts, &truncated);
    bool firing = n.nfiring > 0;
    size_t nlisted = listed && listed < n.nalerts ? listed : n.nalerts;

    size_t cap =
        n.nalerts ? TN_MAX(n.alerts[0].alert->nlabels, n.alerts[0].alert->nannotations) : 0;
    tn_label_t *common = tn_xmalloc((cap ? cap : 1) * sizeof(*common));
    char *receiver = wh_quote_meta(n.receiver ? n.receiver : "");

    int rc = tn_buf_puts(b, "{\"receiver\":");
    if (rc == TN_OK)
        rc = wh_str(b, receiver);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"status\":\"%s\",\"alerts\":[", firing ? "firing" : "resolved");
    for (size_t i = 0; i < nlisted && rc == TN_OK; i++) {
        if (i)
            rc = tn_buf_putc(b, ',');
        if (rc == TN_OK)
            rc = wh_alert(b, &n.alerts[i]);
    }
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "],\"notification_reason\":");
    if (rc == TN_OK)
        rc = wh_str(b, n.reason ? n.reason : "unknown");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"groupLabels\":");
    if (rc == TN_OK)
        rc = wh_kv(b, n.group_labels);
    for (int ann = 0; ann < 2 && rc == TN_OK; ann++) {
        size_t k = tn_notification_common_labels(&n, ann, common, cap);
        rc = tn_buf_puts(b, ann ? ",\"commonAnnotations\":" : ",\"commonLabels\":");
        if (rc == TN_OK)
            rc = wh_kv(b, (tn_labels_t){common, k});
        for (size_t i = 0; i < k; i++) {
            tn_intern_unref(common[i].name);
            tn_intern_unref(common[i].value);
        }
    }
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"routeLabels\":");
    if (rc == TN_OK)
        rc = wh_kv(b, n.route_labels);
    if (rc == TN_OK)
        rc = tn_buf_puts(b, ",\"externalURL\":");
    if (rc == TN_OK)
        rc = wh_str(b, n.external_url);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"version\":\"%s\",\"groupKey\":", version);
    if (rc == TN_OK)
        rc = wh_str(b, n.group_key);
    if (rc == TN_OK && n.summary)
        rc = wh_summary(b, n.summary, max_alerts);
    if (rc == TN_OK && n.ack) {
        char at[40];
        tn_time_format_rfc3339nano(n.ack->at, at);
        rc = tn_buf_puts(b, ",\"tocsinAck\":{\"id\":");
        if (rc == TN_OK)
            rc = wh_str(b, n.ack->id);
        if (rc == TN_OK)
            rc = tn_buf_puts(b, ",\"by\":");
        if (rc == TN_OK)
            rc = wh_str(b, n.ack->by);
        if (rc == TN_OK)
            rc = tn_buf_puts(b, ",\"comment\":");
        if (rc == TN_OK)
            rc = wh_str(b, n.ack->comment);
        if (rc == TN_OK)
            rc = tn_buf_printf(b, ",\"at\":\"%s\"}", at);
    }
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"truncatedAlerts\":%llu}\n", (unsigned long long)truncated);
    free(receiver);
    free(common);
    return rc;
}

/* ---- the templated payload ---- */

/* The payload rendered against the data of the alerts sent (max_alerts applies). */
static int wh_payload(tn_buf_t *b, const tn_yval_t *payload, const tn_notification_t *full,
                      uint64_t max_alerts, char *err, size_t errlen)
{
    uint64_t truncated;
    tn_notification_t n = tn_rcv_first_alerts(full, max_alerts, &truncated);
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, &n, "webhook");
    err[0] = 0;
    int rc = tn_rcv_json_templated(b, &t, payload, err, errlen);
    if (rc == TN_OK)
        rc = tn_buf_putc(b, '\n');
    return rc;
}

static int webhook_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s->ic;
    const tn_notification_t *n = s->n;
    const webhook_conf_t *c = ic->conf;
    tn_buf_reset(&req->body);
    if (c->payload) {
        char e[TN_ERRBUF_SIZE];
        int rc = wh_payload(&req->body, c->payload, n, c->max_alerts, e, sizeof(e));
        if (rc != TN_OK) {
            snprintf(err, errlen, "failed to render custom payload: %s",
                     e[0] ? e : "payload too large");
            return rc;
        }
    } else if (tn_rcv_webhook_message(&req->body, n, "4", c->max_alerts, 0) != TN_OK) {
        snprintf(err, errlen, "webhook message too large");
        return TN_ERR_LIMIT;
    }
    if (tn_receiver_set(c->url_file)) {
        /* Read for every send, as Alertmanager does, so that a rotated URL needs no reload. */
        char *url = NULL;
        int rc = tn_rcv_read_file(c->url_file, &url, err, errlen);
        if (rc != TN_OK)
            return rc;
        tn_out_request_set_url(req, url);
        memset(url, 0, strlen(url)); /* a webhook URL is a secret */
        free(url);
    } else {
        tn_out_request_set_url(req, c->url);
    }
    tn_rcv_json_request(req, &c->http_config);
    if (c->timeout > 0) {
        uint64_t ms = (uint64_t)(c->timeout / TN_NS_PER_MS);
        req->timeout_ms = ms ? ms : 1;
    }
    return TN_OK;
}

static enum tn_send_result webhook_verdict(const tn_integration_cfg_t *ic,
                                           const tn_out_response_t *resp, const char **reason,
                                           char *err, size_t errlen)
{
    TN_UNUSED(ic);
    /* 2xx is success, 5xx may heal, anything else will not: no extra retry codes. */
    return tn_receiver_classify_http(resp, false, reason, err, errlen);
}

static void webhook_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    o->result = webhook_verdict(s->ic, resp, &o->reason, o->err, sizeof(o->err));
}

const tn_receiver_type_t tn_receiver_webhook = {
    .name = "webhook",
    .conf_size = sizeof(webhook_conf_t),
    .fields = webhook_fields,
    .send_resolved_default = true,
    .finalize = webhook_finalize, /* url or url_file is required */
    .conf_free = NULL,            /* the field table frees everything */
    .build = webhook_build,       /* the version-4 JSON message, or the rendered payload */
    .classify = webhook_classify, /* retry 5xx, fail other non-2xx */
};
