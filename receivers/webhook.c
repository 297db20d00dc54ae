/* Generic webhook (webhook_configs): POSTs the notification as Alertmanager's version-4 JSON
 * message, byte for byte as Alertmanager's encoder writes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/timefmt.h"
#include "tocsin/version.h"

typedef struct webhook_conf {
    char *url; /* filled from url_file at load when that is used */
    char *url_file;
    uint64_t max_alerts;   /* 0 = all */
    tn_duration_t timeout; /* 0 = bounded by the flush deadline only */
    tn_http_config_t http_config;
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
    {.key = NULL},
};

static int webhook_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g); /* http_config already defaults to the global one */
    webhook_conf_t *c = conf;
    /* Both at once is refused by the field reader; none at all is refused here. */
    if (!c->url || !c->url[0]) {
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

/* Writes the whole message for notification n, keeping its first max_alerts alerts. Status and
 * common labels are those of the alerts sent, as Alertmanager computes them after truncation. */
static int wh_message(tn_buf_t *b, const tn_notification_t *full, uint64_t max_alerts)
{
    tn_notification_t n = *full;
    uint64_t truncated = 0;
    if (max_alerts && n.nalerts > max_alerts) {
        truncated = n.nalerts - max_alerts;
        n.nalerts = (size_t)max_alerts;
    }
    bool firing = false;
    for (size_t i = 0; i < n.nalerts; i++)
        firing = firing || !n.alerts[i].resolved;

    size_t cap =
        n.nalerts ? TN_MAX(n.alerts[0].alert->nlabels, n.alerts[0].alert->nannotations) : 0;
    tn_label_t *common = tn_xmalloc((cap ? cap : 1) * sizeof(*common));
    char *receiver = wh_quote_meta(n.receiver ? n.receiver : "");

    int rc = tn_buf_puts(b, "{\"receiver\":");
    if (rc == TN_OK)
        rc = wh_str(b, receiver);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"status\":\"%s\",\"alerts\":[", firing ? "firing" : "resolved");
    for (size_t i = 0; i < n.nalerts && rc == TN_OK; i++) {
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
        rc = tn_buf_puts(b, ",\"version\":\"4\",\"groupKey\":");
    if (rc == TN_OK)
        rc = wh_str(b, n.group_key);
    if (rc == TN_OK && n.summary)
        rc = wh_summary(b, n.summary, max_alerts);
    if (rc == TN_OK)
        rc = tn_buf_printf(b, ",\"truncatedAlerts\":%llu}\n", (unsigned long long)truncated);
    free(receiver);
    free(common);
    return rc;
}

static int webhook_build(const tn_integration_cfg_t *ic, const tn_notification_t *n,
                         tn_out_request_t *req, char *err, size_t errlen)
{
    const webhook_conf_t *c = ic->conf;
    tn_buf_reset(&req->body);
    if (wh_message(&req->body, n, c->max_alerts) != TN_OK) {
        snprintf(err, errlen, "webhook message too large");
        return TN_ERR_LIMIT;
    }
    tn_out_request_set_url(req, c->url);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    req->http = &c->http_config;
    if (c->timeout > 0) {
        uint64_t ms = (uint64_t)(c->timeout / TN_NS_PER_MS);
        req->timeout_ms = ms ? ms : 1;
    }
    return TN_OK;
}

static enum tn_send_result webhook_classify(const tn_integration_cfg_t *ic,
                                            const tn_out_response_t *resp, const char **reason,
                                            char *err, size_t errlen)
{
    TN_UNUSED(ic);
    /* 2xx is success, 5xx may heal, anything else will not: no extra retry codes. */
    return tn_receiver_classify_http(resp, false, reason, err, errlen);
}

const tn_receiver_type_t tn_receiver_webhook = {
    .name = "webhook",
    .conf_size = sizeof(webhook_conf_t),
    .fields = webhook_fields,
    .send_resolved_default = true,
    .finalize = webhook_finalize, /* url or url_file is required */
    .conf_free = NULL,            /* the field table frees everything */
    .build = webhook_build,       /* the version-4 JSON message */
    .classify = webhook_classify, /* retry 5xx, fail other non-2xx */
};
