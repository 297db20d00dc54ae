/* The HTTP API: routing, /api/v2 handlers, the /-/ endpoints and /metrics.
 *
 * tn_api_handle() turns an http request into an api_call_t, api_dispatch() answers it into an
 * api_reply_t, and the reply goes back through tn_http_respond(). Everything between is
 * plain data, so the unit tests drive api_dispatch() without a socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/timefmt.h"
#include "tocsin/version.h"

#define API_DEFAULT_MAX_ALERTS 10000
#define API_DEFAULT_RESOLVE    (5 * 60 * TN_NS_PER_SEC)
#define API_CT_JSON            "application/json"
#define API_CT_TEXT            "text/plain; charset=utf-8"
#define API_CT_METRICS         "text/plain; version=0.0.4; charset=utf-8"
#define API_METRICS_CACHE      32
#define API_MAX_FILTERS        64

enum { API_GET = 1, API_HEAD = 2, API_POST = 4 };

typedef void (*api_handler_fn)(tn_api_t *api, const api_call_t *call, api_reply_t *rep);

typedef struct api_route {
    const char *path; /* after the route prefix */
    unsigned methods; /* HEAD is implied by GET */
    bool v2;          /* CORS and Cache-Control of the v2 API */
    api_handler_fn fn;
} api_route_t;

struct tn_api {
    tn_api_deps_t deps;
    char *prefix; /* "" or "/x", no trailing slash */
    size_t prefix_len;
    tn_time_t started;
    tn_metric_child_t *received_firing, *received_resolved, *invalid;
    tn_metric_t *duration, *size;
    /* children of the request histograms, cached by (route, method, status) */
    struct {
        const api_route_t *route;
        const char *method;
        int status;
        tn_metric_child_t *duration, *size;
    } mcache[API_METRICS_CACHE];
    size_t nmcache;
};

/* ---- replies ---- */

void api_reply_init(api_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    tn_buf_init(&r->body, 0);
}

void api_reply_free(api_reply_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i].value);
    r->nheaders = 0;
    tn_buf_free(&r->body);
}

static void api_header(api_reply_t *r, const char *name, const char *value)
{
    if (r->nheaders == API_MAX_HEADERS)
        return;
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = tn_xstrdup(value);
    r->nheaders++;
}

static void api_text(api_reply_t *r, int status, const char *ct, const char *text)
{
    r->status = status;
    r->content_type = ct;
    tn_buf_reset(&r->body);
    tn_buf_puts(&r->body, text);
}

/* {"code":N,"message":"..."}, the error shape of the v2 API's own layer */
static void api_error(api_reply_t *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = API_CT_JSON;
    tn_buf_reset(&r->body);
    tn_buf_printf(&r->body, "{\"code\":%d,\"message\":", status);
    tn_json_go_string(&r->body, msg, strlen(msg));
    tn_buf_putc(&r->body, '}');
}

/* A bare JSON string, the payload Alertmanager's handlers put in their 400s. */
static void api_error_string(api_reply_t *r, int status, const char *msg, size_t len)
{
    r->status = status;
    r->content_type = API_CT_JSON;
    tn_buf_reset(&r->body);
    tn_json_go_string(&r->body, msg, len);
    tn_buf_putc(&r->body, '\n');
}

/* ---- query strings ---- */

static int api_unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void api_urldecode(tn_buf_t *out, const char *s, size_t len)
{
    tn_buf_reset(out);
    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '+') {
            tn_buf_putc(out, ' ');
        } else if (s[i] == '%' && i + 2 < len && (h = api_unhex(s[i + 1])) >= 0 &&
                   (l = api_unhex(s[i + 2])) >= 0) {
            tn_buf_putc(out, (char)(h << 4 | l));
            i += 2;
        } else {
            tn_buf_putc(out, s[i]);
        }
    }
    tn_buf_cstr(out);
}

/* Calls fn for every value of parameter `name`, URL-decoded; fn returns false to stop. */
typedef bool (*api_param_fn)(void *ud, const char *value, size_t len);

static void api_query_each(const char *query, const char *name, api_param_fn fn, void *ud)
{
    tn_buf_t key, val;
    tn_buf_init(&key, 0);
    tn_buf_init(&val, 0);
    const char *p = query ? query : "";
    while (*p) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        api_urldecode(&key, p, klen);
        if (key.len == strlen(name) && memcmp(key.data, name, key.len) == 0) {
            if (eq)
                api_urldecode(&val, eq + 1, n - klen - 1);
            else
                tn_buf_reset(&val);
            if (!fn(ud, val.data ? tn_buf_cstr(&val) : "", val.len))
                break;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    tn_buf_free(&key);
    tn_buf_free(&val);
}

typedef struct api_bool_param {
    bool value;
} api_bool_param_t;

/* go-openapi's boolean reading: a short list of words is true, the rest false, empty keeps
 * the default; the last value wins. */
static bool api_bool_cb(void *ud, const char *v, size_t len)
{
    static const char *const truthy[] = {"true", "1",        "yes",     "ok", "y",
                                         "on",   "selected", "checked", "t",  "enabled"};
    api_bool_param_t *p = ud;
    if (len == 0)
        return true;
    p->value = false;
    for (size_t i = 0; i < TN_ARRAY_LEN(truthy); i++)
        if (strcasecmp(v, truthy[i]) == 0)
            p->value = true;
    return true;
}

static bool api_query_bool(const char *query, const char *name, bool def)
{
    api_bool_param_t p = {def};
    api_query_each(query, name, api_bool_cb, &p);
    return p.value;
}

/* ---- GET /api/v2/alerts ---- */

typedef struct api_filters {
    tn_matchers_t matchers;
    tn_matcher_t receiver;
    bool has_receiver;
    int rc;
    char err[TN_ERRBUF_SIZE];
} api_filters_t;

static bool api_filter_cb(void *ud, const char *v, size_t len)
{
    TN_UNUSED(len);
    api_filters_t *f = ud;
    if (f->matchers.n == API_MAX_FILTERS) {
        snprintf(f->err, sizeof(f->err), "too many filter matchers (the limit is %d)",
                 API_MAX_FILTERS);
        f->rc = TN_ERR_LIMIT;
        return false;
    }
    if (!f->matchers.v)
        f->matchers.v = tn_xcalloc(API_MAX_FILTERS, sizeof(tn_matcher_t));
    f->rc = tn_matcher_parse(v, &f->matchers.v[f->matchers.n], f->err, sizeof(f->err));
    if (f->rc)
        return false;
    f->matchers.n++;
    return true;
}

static bool api_receiver_cb(void *ud, const char *v, size_t len)
{
    TN_UNUSED(len);
    api_filters_t *f = ud;
    if (f->has_receiver) {
        tn_matcher_free(&f->receiver);
        f->has_receiver = false;
    }
    char err[400];
    f->rc = tn_matcher_init(&f->receiver, TN_MATCH_RE, "receiver", v, err, sizeof(err));
    if (f->rc) {
        snprintf(f->err, sizeof(f->err), "failed to parse receiver param: %s", err);
        return false;
    }
    f->has_receiver = true;
    return true;
}

typedef struct api_collect {
    tn_alert_t **v;
    size_t n, alloc;
    tn_time_t now;
} api_collect_t;

static bool api_collect_cb(void *ud, tn_alert_t *a)
{
    api_collect_t *c = ud;
    /* alerts resolved before now are left out, as Alertmanager does */
    if (a->ends_at != 0 && a->ends_at < c->now)
        return true;
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 64;
        c->v = tn_xrealloc(c->v, c->alloc * sizeof(*c->v));
    }
    c->v[c->n++] = a;
    return true;
}

static int api_cmp_fp(const void *x, const void *y)
{
    const tn_alert_t *a = *(tn_alert_t *const *)x, *b = *(tn_alert_t *const *)y;
    return a->fp < b->fp ? -1 : a->fp > b->fp;
}

static size_t api_receivers(tn_api_t *api, const tn_alert_t *a, const char ***out,
                            const char **small, size_t nsmall)
{
    *out = small;
    if (!api->deps.alert_receivers)
        return 0;
    size_t n = api->deps.alert_receivers(api->deps.ud, a, small, nsmall);
    if (n > nsmall) {
        *out = tn_xmalloc(n * sizeof(char *));
        n = TN_MIN(n, api->deps.alert_receivers(api->deps.ud, a, *out, n));
    }
    return n;
}

static void api_get_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    api_filters_t f;
    memset(&f, 0, sizeof(f));
    api_query_each(call->query, "filter", api_filter_cb, &f);
    if (!f.rc)
        api_query_each(call->query, "receiver", api_receiver_cb, &f);
    if (f.rc) {
        api_error_string(rep, 400, f.err, strlen(f.err));
        goto out;
    }
    /* Without silences and inhibitions every alert is active: active=false shows none, and
     * the silenced, inhibited and unprocessed switches change nothing yet. */
    bool active = api_query_bool(call->query, "active", true);
    api_collect_t c = {.now = tn_clock_now()};
    if (active && api->deps.store)
        tn_alert_store_foreach(api->deps.store, api_collect_cb, &c);
    if (c.n > 1)
        qsort(c.v, c.n, sizeof(*c.v), api_cmp_fp);
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_putc(&rep->body, '[');
    bool first = true;
    for (size_t i = 0; i < c.n; i++) {
        tn_alert_t *a = c.v[i];
        if (f.matchers.n && !tn_matchers_match(&f.matchers, tn_alert_labels(a)))
            continue;
        const char *small[16], **rcv;
        size_t nrcv = api_receivers(api, a, &rcv, small, TN_ARRAY_LEN(small));
        bool keep = !f.has_receiver;
        for (size_t k = 0; !keep && k < nrcv; k++)
            keep = tn_matcher_matches(&f.receiver, rcv[k]);
        if (keep) {
            if (!first)
                tn_buf_putc(&rep->body, ',');
            first = false;
            api_encode_alert(&rep->body, a, rcv, nrcv, "active");
        }
        if (rcv != small)
            free(rcv);
    }
    tn_buf_puts(&rep->body, "]\n");
    free(c.v);
out:
    tn_matchers_free(&f.matchers);
    if (f.has_receiver)
        tn_matcher_free(&f.receiver);
}

/* ---- POST /api/v2/alerts ---- */

static void api_post_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    tn_time_t now = tn_clock_now();
    const tn_config_t *cfg = api->deps.config ? api->deps.config(api->deps.ud) : NULL;
    tn_duration_t resolve = cfg ? cfg->global.resolve_timeout : API_DEFAULT_RESOLVE;
    size_t max = api->deps.max_alerts_per_request ? api->deps.max_alerts_per_request
                                                  : API_DEFAULT_MAX_ALERTS;
    tn_alert_t **alerts;
    size_t n, ninvalid, nfiring, nresolved;
    tn_buf_t err;
    tn_buf_init(&err, 0);
    int rc = api_decode_alerts(call->body ? call->body : "", call->body ? call->len : 0, now,
                               resolve, max, &alerts, &n, &ninvalid, &nfiring, &nresolved, &err);
    if (rc != TN_OK && ninvalid == 0) {
        if (tn_log_enabled(TN_LOG_DEBUG))
            tn_log(TN_LOG_DEBUG, "Refused alerts", "err", tn_buf_cstr(&err), NULL);
        api_error(rep, 400, tn_buf_cstr(&err));
        goto out;
    }
    tn_metric_add(api->received_firing, (double)nfiring);
    tn_metric_add(api->received_resolved, (double)nresolved);
    tn_metric_add(api->invalid, (double)ninvalid);
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        tn_alert_t *a = alerts[i];
        if (!api->deps.store) {
            tn_alert_unref(a);
            continue;
        }
        /* a refused alert is logged and the rest still go in, as Alertmanager does */
        tn_alert_ref(a);
        if (tn_alert_store_put(api->deps.store, a) == TN_OK)
            stored++;
        else
            tn_log(TN_LOG_ERROR, "error on set alert", "alertname", tn_alert_name(a), "err",
                   "the alert limit is reached", NULL);
        tn_alert_unref(a);
    }
    free(alerts);
    if (stored && api->deps.alerts_stored)
        api->deps.alerts_stored(api->deps.ud, stored);
    if (ninvalid) {
        tn_log(TN_LOG_ERROR, "Failed to validate alerts", "err", tn_buf_cstr(&err), NULL);
        api_error_string(rep, 400, err.data, err.len);
        goto out;
    }
    rep->status = 200;
    rep->content_type = API_CT_JSON;
out:
    tn_buf_free(&err);
}

static void api_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    if (strcmp(call->method, "POST") == 0)
        api_post_alerts(api, call, rep);
    else
        api_get_alerts(api, call, rep);
}

/* ---- GET /api/v2/status ---- */

static void api_status(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    char up[40];
    tn_time_format_rfc3339milli(api->started, up);
    tn_buf_t *b = &rep->body;
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    /* config.original stays empty until the config module can render a copy with its
     * secrets hidden: the file as read would hand passwords to any API client. */
    tn_buf_printf(b,
                  "{\"cluster\":{\"peers\":[],\"status\":\"disabled\"},"
                  "\"config\":{\"original\":\"\"},\"uptime\":\"%s\",\"versionInfo\":{"
                  "\"branch\":\"\",\"buildDate\":\"\",\"buildUser\":\"\",\"goVersion\":\"\","
                  "\"revision\":\"\",\"version\":",
                  up);
    tn_json_go_string(b, TN_VERSION, strlen(TN_VERSION));
    tn_buf_puts(b, "}}\n");
}

/* ---- /-/ endpoints and /metrics ---- */

static void api_healthy(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(api);
    TN_UNUSED(call);
    api_text(rep, 200, API_CT_TEXT, "OK");
}

static void api_ready(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    if (api->deps.ready && !api->deps.ready(api->deps.ud))
        api_text(rep, 503, API_CT_TEXT, "Service Unavailable");
    else
        api_text(rep, 200, API_CT_TEXT, "OK");
}

static void api_reload(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    char err[TN_ERRBUF_SIZE] = "";
    int rc = api->deps.reload ? api->deps.reload(api->deps.ud, err, sizeof(err)) : TN_ERR_INVAL;
    if (!api->deps.reload)
        snprintf(err, sizeof(err), "reload is not available");
    if (rc == TN_OK) {
        rep->status = 200;
        return;
    }
    rep->status = 500;
    rep->content_type = API_CT_TEXT;
    tn_buf_printf(&rep->body, "failed to reload config: %s\n", err[0] ? err : "unknown error");
    api_header(rep, "X-Content-Type-Options", "nosniff");
}

static void api_metrics(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(api);
    TN_UNUSED(call);
    rep->status = 200;
    rep->content_type = API_CT_METRICS;
    tn_metrics_write(&rep->body);
}

static const api_route_t api_routes[] = {
    {"/api/v2/alerts", API_GET | API_POST, true, api_alerts},
    {"/api/v2/status", API_GET, true, api_status},
    {"/-/healthy", API_GET, false, api_healthy},
    {"/-/ready", API_GET, false, api_ready},
    {"/-/reload", API_POST, false, api_reload},
    {"/metrics", API_GET, false, api_metrics},
};

/* ---- dispatch ---- */

static unsigned api_method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return API_GET;
    if (strcmp(m, "HEAD") == 0)
        return API_GET; /* served as GET; the http layer drops the body */
    if (strcmp(m, "POST") == 0)
        return API_POST;
    return 0;
}

static void api_allow(char *out, size_t size, unsigned methods)
{
    snprintf(out, size, "%s%s%s", methods & API_GET ? "GET, HEAD" : "",
             (methods & API_GET) && (methods & API_POST) ? ", " : "",
             methods & API_POST ? "POST" : "");
}

/* The v2 API answers any origin, like the permissive CORS defaults Alertmanager uses. */
static bool api_cors(const api_call_t *call, api_reply_t *rep)
{
    if (!call->origin)
        return false;
    if (strcmp(call->method, "OPTIONS") == 0 && call->acr_method) {
        rep->status = 204;
        api_header(rep, "Vary",
                   "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        if (strcmp(call->acr_method, "GET") == 0 || strcmp(call->acr_method, "POST") == 0 ||
            strcmp(call->acr_method, "HEAD") == 0) {
            api_header(rep, "Access-Control-Allow-Origin", "*");
            api_header(rep, "Access-Control-Allow-Methods", call->acr_method);
            api_header(rep, "Access-Control-Allow-Headers",
                       "Accept, Content-Type, X-Requested-With");
        }
        return true;
    }
    api_header(rep, "Vary", "Origin");
    api_header(rep, "Access-Control-Allow-Origin", "*");
    return false;
}

static const char *api_method_label(const char *m)
{
    static const char *const known[][2] = {{"GET", "get"},       {"HEAD", "head"},
                                           {"POST", "post"},     {"PUT", "put"},
                                           {"DELETE", "delete"}, {"OPTIONS", "options"}};
    for (size_t i = 0; i < TN_ARRAY_LEN(known); i++)
        if (strcmp(m, known[i][0]) == 0)
            return known[i][1];
    return "other";
}

static void api_observe(tn_api_t *api, const api_route_t *r, const char *method, int status,
                        uint64_t start_ms, size_t size)
{
    const char *ml = api_method_label(method);
    size_t i;
    for (i = 0; i < api->nmcache; i++)
        if (api->mcache[i].route == r && api->mcache[i].method == ml &&
            api->mcache[i].status == status)
            break;
    if (i == api->nmcache) {
        char code[8];
        snprintf(code, sizeof(code), "%d", status);
        tn_metric_child_t *d = tn_metric_with(api->duration, r->path, ml, code, NULL);
        tn_metric_child_t *s = tn_metric_with(api->size, r->path, ml, NULL);
        if (api->nmcache == API_METRICS_CACHE) {
            tn_metric_observe(d, (double)(tn_clock_mono_ms() - start_ms) / 1000.0);
            tn_metric_observe(s, (double)size);
            return;
        }
        api->mcache[i].route = r;
        api->mcache[i].method = ml;
        api->mcache[i].status = status;
        api->mcache[i].duration = d;
        api->mcache[i].size = s;
        api->nmcache++;
    }
    tn_metric_observe(api->mcache[i].duration, (double)(tn_clock_mono_ms() - start_ms) / 1000.0);
    tn_metric_observe(api->mcache[i].size, (double)size);
}

void api_dispatch(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    uint64_t start = tn_clock_mono_ms();
    const char *path = call->path;
    char msg[256];
    if (api->prefix_len) {
        if (strcmp(path, "/") == 0) {
            rep->status = 302;
            api_header(rep, "Location", api->prefix);
            return;
        }
        if (strncmp(path, api->prefix, api->prefix_len) != 0 || path[api->prefix_len] != '/') {
            snprintf(msg, sizeof(msg), "path %.200s was not found", path);
            api_error(rep, 404, msg);
            return;
        }
        path += api->prefix_len;
    }
    if (strncmp(path, "/api/v1/", 8) == 0 || strcmp(path, "/api/v1") == 0) {
        tn_log(TN_LOG_WARN, "v1 API received a request on a removed endpoint", "path", call->path,
               "method", call->method, NULL);
        rep->status = 410;
        rep->content_type = API_CT_JSON;
        tn_buf_puts(&rep->body, "{\"status\":\"deprecated\",\"error\":\"The v1 API has been "
                                "removed; use the equivalent route of the v2 API "
                                "(/api/v2/).\"}\n");
        return;
    }
    const api_route_t *r = NULL;
    for (size_t i = 0; i < TN_ARRAY_LEN(api_routes); i++)
        if (strcmp(path, api_routes[i].path) == 0)
            r = &api_routes[i];
    if (!r) {
        snprintf(msg, sizeof(msg), "path %.200s was not found", call->path);
        api_error(rep, 404, msg);
        return;
    }
    if (r->v2) {
        api_header(rep, "Cache-Control", "no-store");
        if (api_cors(call, rep))
            goto done;
    }
    unsigned bit = api_method_bit(call->method);
    if (!(bit & r->methods)) {
        char allow[32];
        api_allow(allow, sizeof(allow), r->methods);
        api_header(rep, "Allow", allow);
        snprintf(msg, sizeof(msg), "method %.16s is not allowed, but [%s] are", call->method,
                 allow);
        api_error(rep, 405, msg);
        goto done;
    }
    r->fn(api, call, rep);
done:
    api_observe(api, r, call->method, rep->status, start, rep->body.len);
}

/* ---- the http glue ---- */

void tn_api_handle(void *ud, tn_http_req_t *req)
{
    tn_api_t *api = ud;
    api_call_t call = {
        .method = tn_http_req_method(req),
        .path = tn_http_req_path(req),
        .query = tn_http_req_query(req),
        .origin = tn_http_req_header(req, "Origin"),
        .acr_method = tn_http_req_header(req, "Access-Control-Request-Method"),
    };
    call.body = tn_http_req_body(req, &call.len);
    api_reply_t rep;
    api_reply_init(&rep);
    api_dispatch(api, &call, &rep);
    for (size_t i = 0; i < rep.nheaders; i++)
        tn_http_add_header(req, rep.headers[i].name, rep.headers[i].value);
    tn_http_respond(req, rep.status, rep.content_type, rep.body.data, rep.body.len);
    api_reply_free(&rep);
}

tn_api_t *tn_api_new(const tn_api_deps_t *deps)
{
    static const double dur_buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
    static const double size_buckets[] = {100, 1000, 10000, 100000, 1e6, 1e7, 1e8};
    tn_api_t *api = tn_xcalloc(1, sizeof(*api));
    api->deps = *deps;
    const char *p = deps->route_prefix ? deps->route_prefix : "";
    size_t len = strlen(p);
    while (len && p[len - 1] == '/')
        len--;
    api->prefix = tn_xstrndup(p, len);
    api->prefix_len = len;
    api->deps.route_prefix = api->prefix;
    api->started = tn_clock_now();
    tn_metric_t *recv = tn_metric_counter("alertmanager_alerts_received_total",
                                          "The total number of received alerts.", "status,version");
    api->received_firing = tn_metric_with(recv, "firing", "v2", NULL);
    api->received_resolved = tn_metric_with(recv, "resolved", "v2", NULL);
    api->invalid = tn_metric_with(
        tn_metric_counter("alertmanager_alerts_invalid_total",
                          "The total number of received alerts that were invalid.", "version"),
        "v2", NULL);
    api->duration = tn_metric_histogram(
        "alertmanager_http_request_duration_seconds", "Histogram of latencies for HTTP requests.",
        "handler,method,code", dur_buckets, TN_ARRAY_LEN(dur_buckets));
    api->size = tn_metric_histogram("alertmanager_http_response_size_bytes",
                                    "Histogram of response size for HTTP requests.",
                                    "handler,method", size_buckets, TN_ARRAY_LEN(size_buckets));
    return api;
}

void tn_api_free(tn_api_t *api)
{
    if (!api)
        return;
    free(api->prefix);
    free(api);
}
