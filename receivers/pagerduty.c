/* PagerDuty (pagerduty_configs): Events API v2 with a routing key, or the v1 generic events
 * API with a service key. One event per notification: trigger while any alert fires, resolve
 * when all are resolved, deduplicated by the SHA-256 of the group key as Alertmanager does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

#define PD_MAX_EVENT_BYTES   512000
#define PD_MAX_SUMMARY_RUNES 1024 /* v2 summary and v1 description */
#define PD_V1_URL            "https://events.pagerduty.com/generic/2010-04-15/create_event.json"
#define PD_TRUNCATED_DETAILS                                                                       \
    "Custom details have been removed because the original event exceeds the maximum size of "     \
    "512KB"

typedef struct pd_link {
    char *href, *text;
} pd_link_t;

typedef struct pd_image {
    char *src, *alt, *href;
} pd_image_t;

typedef struct pd_conf {
    char *service_key, *service_key_file; /* v1 */
    char *routing_key, *routing_key_file; /* v2 */
    char *url;
    char *client, *client_url, *description;
    tn_strmap_t details;
    tn_structlist_t images; /* pd_image_t */
    tn_structlist_t links;  /* pd_link_t */
    char *source, *severity, *class_, *component, *group;
    tn_duration_t timeout;
    tn_http_config_t http_config;
    /* Set by finalize. */
    bool v1;
    bool v1_url_set; /* url given explicitly: v1 events go there too (tocsin extension) */
} pd_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(pd_conf_t, m)                                      \
    }

static const tn_field_t pd_link_fields[] = {
    {.key = "href", .type = TN_F_STRING, .offset = offsetof(pd_link_t, href)},
    {.key = "text", .type = TN_F_STRING, .offset = offsetof(pd_link_t, text)},
    {.key = NULL},
};

static const tn_field_t pd_image_fields[] = {
    {.key = "src", .type = TN_F_STRING, .offset = offsetof(pd_image_t, src)},
    {.key = "alt", .type = TN_F_STRING, .offset = offsetof(pd_image_t, alt)},
    {.key = "href", .type = TN_F_STRING, .offset = offsetof(pd_image_t, href)},
    {.key = NULL},
};

static const tn_field_t pd_fields[] = {
    F("service_key", TN_F_SECRET, service_key),
    {.key = "service_key_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(pd_conf_t, service_key_file),
     .target = "service_key"},
    F("routing_key", TN_F_SECRET, routing_key),
    {.key = "routing_key_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(pd_conf_t, routing_key_file),
     .target = "routing_key"},
    F("url", TN_F_URL, url),
    {.key = "client",
     .type = TN_F_STRING,
     .offset = offsetof(pd_conf_t, client),
     .def = "{{ template \"pagerduty.default.client\" . }}"},
    {.key = "client_url",
     .type = TN_F_STRING,
     .offset = offsetof(pd_conf_t, client_url),
     .def = "{{ template \"pagerduty.default.clientURL\" . }}"},
    {.key = "description",
     .type = TN_F_STRING,
     .offset = offsetof(pd_conf_t, description),
     .def = "{{ template \"pagerduty.default.description\" .}}"},
    F("details", TN_F_STRING_MAP, details),
    {.key = "images",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(pd_conf_t, images),
     .sub = pd_image_fields,
     .elem_size = sizeof(pd_image_t)},
    {.key = "links",
     .type = TN_F_STRUCT_LIST,
     .offset = offsetof(pd_conf_t, links),
     .sub = pd_link_fields,
     .elem_size = sizeof(pd_link_t)},
    F("source", TN_F_STRING, source),
    F("severity", TN_F_STRING, severity),
    F("class", TN_F_STRING, class_),
    F("component", TN_F_STRING, component),
    F("group", TN_F_STRING, group),
    F("timeout", TN_F_DURATION, timeout),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* Details every event carries unless the config names them. */
static const char *const pd_default_details[][2] = {
    {"firing", "{{ .Alerts.Firing | toJson }}"},
    {"resolved", "{{ .Alerts.Resolved | toJson }}"},
    {"num_firing", "{{ .Alerts.Firing | len }}"},
    {"num_resolved", "{{ .Alerts.Resolved | len }}"},
};

static int pd_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    pd_conf_t *c = conf;
    if (!tn_receiver_set(c->routing_key) && !tn_receiver_set(c->service_key) &&
        !tn_receiver_set(c->routing_key_file) && !tn_receiver_set(c->service_key_file)) {
        snprintf(err, errlen, "missing service or routing key in PagerDuty config");
        return TN_ERR_INVAL;
    }
    c->v1 = tn_receiver_set(c->service_key) || tn_receiver_set(c->service_key_file);
    c->v1_url_set = tn_receiver_set(c->url);
    if (!tn_receiver_set(c->url)) {
        if (!tn_receiver_set(g->pagerduty_url)) {
            snprintf(err, errlen, "no global PagerDuty URL set");
            return TN_ERR_INVAL;
        }
        free(c->url);
        c->url = tn_xstrdup(g->pagerduty_url);
    }
    if (!c->source)
        c->source = tn_xstrdup(c->client ? c->client : "");
    for (size_t i = 0; i < TN_ARRAY_LEN(pd_default_details); i++) {
        bool have = false;
        for (size_t j = 0; j < c->details.n && !have; j++)
            have = strcmp(c->details.keys[j], pd_default_details[i][0]) == 0;
        if (have)
            continue;
        c->details.keys = tn_xrealloc(c->details.keys, (c->details.n + 1) * sizeof(char *));
        c->details.values = tn_xrealloc(c->details.values, (c->details.n + 1) * sizeof(char *));
        c->details.keys[c->details.n] = tn_xstrdup(pd_default_details[i][0]);
        c->details.values[c->details.n] = tn_xstrdup(pd_default_details[i][1]);
        c->details.n++;
    }
    return TN_OK;
}

/* ---- the event ---- */

typedef struct pd_msg {
    tn_buf_t *b;
    tn_rcv_tmpl_t *t;
    int rc;
} pd_msg_t;

static void pd_raw(pd_msg_t *m, const char *s)
{
    if (m->rc == TN_OK)
        m->rc = tn_buf_puts(m->b, s);
}

static void pd_key(pd_msg_t *m, bool *first, const char *k)
{
    if (m->rc == TN_OK)
        m->rc = tn_rcv_json_key(m->b, first, k);
}

static void pd_str(pd_msg_t *m, bool *first, const char *k, const char *v, bool omit)
{
    if (m->rc == TN_OK)
        m->rc = omit ? tn_rcv_json_str_omit(m->b, first, k, v) : tn_rcv_json_str(m->b, first, k, v);
}

/* Rendered details: Go writes a map with its keys sorted. */
static void pd_details(pd_msg_t *m, const pd_conf_t *c, char **rendered, bool truncated)
{
    if (truncated) {
        pd_raw(m, "{\"error\":\"" PD_TRUNCATED_DETAILS "\"}");
        return;
    }
    size_t *idx = tn_xmalloc((c->details.n ? c->details.n : 1) * sizeof(*idx));
    for (size_t i = 0; i < c->details.n; i++)
        idx[i] = i;
    /* Insertion sort: a handful of keys. */
    for (size_t i = 1; i < c->details.n; i++)
        for (size_t j = i;
             j > 0 && strcmp(c->details.keys[idx[j - 1]], c->details.keys[idx[j]]) > 0; j--) {
            size_t tmp = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = tmp;
        }
    bool first = true;
    pd_raw(m, "{");
    for (size_t i = 0; i < c->details.n; i++) {
        pd_key(m, &first, c->details.keys[idx[i]]);
        if (m->rc == TN_OK)
            m->rc = tn_rcv_json_inline(m->b, rendered[idx[i]]);
    }
    pd_raw(m, "}");
    free(idx);
}

static int pd_message(tn_buf_t *b, const pd_conf_t *c, const tn_notification_t *n, const char *key,
                      bool truncate_details)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "pagerduty");
    pd_msg_t m = {.b = b, .t = &t, .rc = TN_OK};
    bool firing = tn_rcv_firing(n);
    const char *event = firing ? "trigger" : "resolve";
    char dedup[65];
    tn_rcv_sha256_hex(n->group_key ? n->group_key : "", dedup);

    char **details = tn_xcalloc(c->details.n + 1, sizeof(char *));
    for (size_t i = 0; i < c->details.n; i++)
        details[i] = tn_rcv_render(&t, c->details.values[i], 0);
    char *summary = tn_rcv_render_main(&t, c->description, 0);
    if (tn_rcv_truncate_runes(&summary, PD_MAX_SUMMARY_RUNES))
        tn_log(TN_LOG_WARN, c->v1 ? "Truncated description" : "Truncated summary", "integration",
               "pagerduty", "aggrGroup", n->group_key, "max_runes", TN_STR(PD_MAX_SUMMARY_RUNES),
               NULL);
    char *rkey = tn_rcv_render(&t, key, 0);
    bool first = true;

    pd_raw(&m, "{");
    if (c->v1) {
        pd_str(&m, &first, "service_key", rkey, true);
        pd_str(&m, &first, "incident_key", dedup, true);
        pd_str(&m, &first, "event_type", event, true);
        pd_str(&m, &first, "description", summary, true);
        pd_raw(&m, ",\"event_action\":\"\",\"payload\":null");
        if (firing) {
            char *client = tn_rcv_render(&t, c->client, 0);
            char *client_url = tn_rcv_render(&t, c->client_url, 0);
            pd_str(&m, &first, "client", client, true);
            pd_str(&m, &first, "client_url", client_url, true);
            free(client);
            free(client_url);
        }
        if (c->details.n || truncate_details) {
            pd_key(&m, &first, "details");
            pd_details(&m, c, details, truncate_details);
        }
        pd_raw(&m, "}\n");
    } else {
        char *client = tn_rcv_render(&t, c->client, 0);
        char *client_url = tn_rcv_render(&t, c->client_url, 0);
        pd_str(&m, &first, "routing_key", rkey, true);
        pd_str(&m, &first, "dedup_key", dedup, true);
        pd_str(&m, &first, "event_action", event, false);
        pd_key(&m, &first, "payload");
        bool pf = true;
        pd_raw(&m, "{");
        pd_str(&m, &pf, "summary", summary, false);
        char *v = tn_rcv_render(&t, c->source, 0);
        pd_str(&m, &pf, "source", v, false);
        free(v);
        v = tn_rcv_render(&t, tn_receiver_set(c->severity) ? c->severity : "error", 0);
        pd_str(&m, &pf, "severity", v, false);
        free(v);
        v = tn_rcv_render(&t, c->class_, 0);
        pd_str(&m, &pf, "class", v, true);
        free(v);
        v = tn_rcv_render(&t, c->component, 0);
        pd_str(&m, &pf, "component", v, true);
        free(v);
        v = tn_rcv_render(&t, c->group, 0);
        pd_str(&m, &pf, "group", v, true);
        free(v);
        if (c->details.n || truncate_details) {
            pd_key(&m, &pf, "custom_details");
            pd_details(&m, c, details, truncate_details);
        }
        pd_raw(&m, "}");
        pd_str(&m, &first, "client", client, true);
        pd_str(&m, &first, "client_url", client_url, true);
        free(client);
        free(client_url);

        /* Images without a source and links without a target are dropped. */
        bool any = false;
        for (size_t i = 0; i < c->images.n; i++) {
            const pd_image_t *im = &((const pd_image_t *)c->images.v)[i];
            char *src = tn_rcv_render(&t, im->src, 0);
            if (src[0]) {
                char *alt = tn_rcv_render(&t, im->alt, 0);
                char *href = tn_rcv_render(&t, im->href, 0);
                bool f = true;
                if (!any)
                    pd_key(&m, &first, "images");
                pd_raw(&m, any ? ",{" : "[{");
                pd_str(&m, &f, "src", src, false);
                pd_str(&m, &f, "alt", alt, false);
                pd_str(&m, &f, "href", href, false);
                pd_raw(&m, "}");
                any = true;
                free(alt);
                free(href);
            }
            free(src);
        }
        if (any)
            pd_raw(&m, "]");
        any = false;
        for (size_t i = 0; i < c->links.n; i++) {
            const pd_link_t *l = &((const pd_link_t *)c->links.v)[i];
            char *href = tn_rcv_render(&t, l->href, 0);
            if (href[0]) {
                char *text = tn_rcv_render(&t, l->text, 0);
                bool f = true;
                if (!any)
                    pd_key(&m, &first, "links");
                pd_raw(&m, any ? ",{" : "[{");
                pd_str(&m, &f, "href", href, false);
                pd_str(&m, &f, "text", text, false);
                pd_raw(&m, "}");
                any = true;
                free(text);
            }
            free(href);
        }
        if (any)
            pd_raw(&m, "]");
        pd_raw(&m, "}\n");
    }
    if (m.rc == TN_OK && !rkey[0])
        m.rc = TN_ERR_NOTFOUND;
    for (size_t i = 0; i < c->details.n; i++)
        free(details[i]);
    free(details);
    free(summary);
    memset(rkey, 0, strlen(rkey));
    free(rkey);
    return m.rc;
}

static int pd_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s->ic;
    const tn_notification_t *n = s->n;
    const pd_conf_t *c = ic->conf;
    const char *file = c->v1 ? c->service_key_file : c->routing_key_file;
    char *key = NULL;
    int rc;

    /* A key file is read for every send, as Alertmanager does. */
    if (tn_receiver_set(file)) {
        rc = tn_rcv_read_file(file, &key, err, errlen);
        if (rc != TN_OK)
            return rc;
    } else {
        key = tn_xstrdup(c->v1 ? c->service_key : c->routing_key);
    }
    tn_buf_reset(&req->body);
    rc = pd_message(&req->body, c, n, key, false);
    if (rc == TN_OK && req->body.len > PD_MAX_EVENT_BYTES) {
        char size[32];
        snprintf(size, sizeof(size), "%zu", req->body.len);
        tn_log(TN_LOG_WARN, "Truncated details because the event exceeds 512KB", "integration",
               "pagerduty", "aggrGroup", n->group_key, "size", size, NULL);
        tn_buf_reset(&req->body);
        rc = pd_message(&req->body, c, n, key, true);
    }
    memset(key, 0, strlen(key));
    free(key);
    if (rc == TN_ERR_NOTFOUND) {
        snprintf(err, errlen, "%s cannot be empty", c->v1 ? "service key" : "routing key");
        return TN_ERR_INVAL;
    }
    if (rc != TN_OK) {
        snprintf(err, errlen, "pagerduty event too large");
        return rc;
    }
    tn_out_request_set_url(req, c->v1 && !c->v1_url_set ? PD_V1_URL : c->url);
    tn_rcv_json_request(req, &c->http_config);
    tn_rcv_set_timeout(req, c->timeout);
    return TN_OK;
}

static enum tn_send_result pd_verdict(const tn_integration_cfg_t *ic, const tn_out_response_t *resp,
                                      const char **reason, char *err, size_t errlen)
{
    const pd_conf_t *c = ic->conf;
    /* PagerDuty's retry rules: v2 rate-limits with 429, v1 with 403; 5xx always. */
    enum tn_send_result r = tn_receiver_classify_http(resp, !c->v1, reason, err, errlen);
    if (r == TN_SEND_FAIL && c->v1 && resp->status == 403)
        r = TN_SEND_RETRY;
    if (resp->curl_code == 0 && resp->status == 400 && resp->body_len) {
        /* Its 400 names the problem: "message: error,error". */
        json_error_t jerr;
        json_t *v = json_loadb(resp->body, resp->body_len, 0, &jerr);
        if (v) {
            const char *msg = json_string_value(json_object_get(v, "message"));
            json_t *errs = json_object_get(v, "errors");
            char list[256] = "";
            size_t off = 0;
            for (size_t i = 0; i < json_array_size(errs) && off < sizeof(list); i++) {
                const char *e = json_string_value(json_array_get(errs, i));
                int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "", e ? e : "");
                if (w < 0)
                    break;
                off += (size_t)w;
            }
            snprintf(err, errlen, "unexpected status code 400: %s: %s", msg ? msg : "", list);
            json_decref(v);
        }
    }
    return r;
}

static void pd_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    o->result = pd_verdict(s->ic, resp, &o->reason, o->err, sizeof(o->err));
}

static const tn_field_t pd_global_fields[] = {
    TN_GLOBAL_FIELD("pagerduty_url", TN_F_URL, pagerduty_url,
                    "https://events.pagerduty.com/v2/enqueue"),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_pagerduty = {
    .name = "pagerduty",
    .conf_size = sizeof(pd_conf_t),
    .fields = pd_fields,
    .send_resolved_default = true,
    .global_fields = pd_global_fields,
    .finalize = pd_finalize, /* key checks, global URL, default details, source = client */
    .conf_free = NULL,       /* the field table frees everything, added details included */
    .build = pd_build,       /* v1 or v2 event; details dropped past 512 KB */
    .classify = pd_classify, /* retry 5xx, and 429 (v2) or 403 (v1) */
};
