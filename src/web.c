/* The on-call web page and the endpoints only it needs (web.h). Requests are turned into a
 * tn_web_request_t and answered into a tn_web_reply_t, so the unit tests drive
 * tn_web_answer() without a socket. */
#include <jansson.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tocsin/json.h"
#include "tocsin/labels.h"
#include "tocsin/web.h"

#define WEB_API          "/api/tocsin/v1"
#define WEB_CT_JSON      "application/json"
#define WEB_MAX_LABELS   256
#define WEB_MAX_MATCHES  64
#define WEB_MAX_USER_B64 1024

/* The page loads nothing from elsewhere and runs no inline script or style. */
#define WEB_CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct tn_web {
    tn_web_deps_t deps;
    char *prefix;
    size_t prefix_len;
};

const tn_web_asset_t *tn_web_asset_find(const char *name)
{
    for (size_t i = 0; i < tn_web_nassets; i++)
        if (strcmp(tn_web_assets[i].name, name) == 0)
            return &tn_web_assets[i];
    return NULL;
}

tn_web_t *tn_web_new(const tn_web_deps_t *deps)
{
    tn_web_t *w = tn_xcalloc(1, sizeof(*w));
    w->deps = *deps;
    const char *p = deps->route_prefix ? deps->route_prefix : "";
    size_t len = strlen(p);
    while (len && p[len - 1] == '/')
        len--;
    w->prefix = tn_xstrndup(p, len);
    w->prefix_len = len;
    w->deps.route_prefix = w->prefix;
    return w;
}

void tn_web_free(tn_web_t *w)
{
    if (!w)
        return;
    free(w->prefix);
    free(w);
}

/* ---- replies ---- */

void tn_web_reply_init(tn_web_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    tn_buf_init(&r->body, 0);
}

void tn_web_reply_free(tn_web_reply_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i].value);
    r->nheaders = 0;
    tn_buf_free(&r->body);
}

const char *tn_web_reply_header(const tn_web_reply_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void web_header(tn_web_reply_t *r, const char *name, const char *value)
{
    if (r->nheaders == TN_WEB_MAX_HEADERS)
        return; /* every caller adds a fixed, smaller set */
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = tn_xstrdup(value);
    r->nheaders++;
}

static void web_error(tn_web_reply_t *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = WEB_CT_JSON;
    tn_buf_reset(&r->body);
    tn_buf_printf(&r->body, "{\"code\":%d,\"message\":", status);
    tn_json_go_string(&r->body, msg, strlen(msg));
    tn_buf_puts(&r->body, "}");
}

/* Headers of everything the page loads: it may only be framed by nobody, run its own files
 * and talk to its own origin. */
static void web_page_headers(tn_web_reply_t *r)
{
    web_header(r, "Content-Security-Policy", WEB_CSP);
    web_header(r, "X-Content-Type-Options", "nosniff");
    web_header(r, "Referrer-Policy", "no-referrer");
}

/* If-None-Match holds etag: "*", or a list with it (weak comparison, RFC 9110 13.1.2). */
static bool web_etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = p;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            end = end ? end + 1 : p + strlen(p);
        } else {
            end += strcspn(end, ",");
        }
        if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = end;
    }
    return false;
}

/* The query names this content: "v=<the hash in its ETag>", as index.html links it. */
static bool web_versioned(const char *query, const tn_web_asset_t *a)
{
    size_t hlen = strlen(a->etag) - 2;
    for (const char *p = query ? query : ""; *p;) {
        size_t n = strcspn(p, "&");
        if (n == hlen + 2 && strncmp(p, "v=", 2) == 0 && memcmp(p + 2, a->etag + 1, hlen) == 0)
            return true;
        p += n;
        if (*p == '&')
            p++;
    }
    return false;
}

static void web_asset(const tn_web_request_t *rq, const tn_web_asset_t *a, tn_web_reply_t *r)
{
    web_page_headers(r);
    web_header(r, "ETag", a->etag);
    /* A versioned URL always means these bytes, so it may be kept; anything else (index.html
     * above all) is revalidated, so a new binary brings its page at once. */
    if (strcmp(a->name, "index.html") != 0 && web_versioned(rq->query, a))
        web_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    else
        web_header(r, "Cache-Control", "no-cache");
    if (rq->if_none_match && web_etag_matches(rq->if_none_match, a->etag)) {
        r->status = 304;
        return;
    }
    r->status = 200;
    r->content_type = a->content_type;
    r->data = a->data;
    r->len = a->len;
}

static bool web_method_get(const tn_web_request_t *rq, tn_web_reply_t *r)
{
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
        return true;
    web_header(r, "Allow", "GET, HEAD");
    web_error(r, 405, "method not allowed, but [GET, HEAD] are");
    return false;
}

/* ---- whoami ---- */

/* The user of a Basic Authorization header; only when basic auth is on, since only then has
 * the web config's gate checked the password before we see it. */
static void web_whoami(tn_web_t *w, const tn_web_request_t *rq, tn_web_reply_t *r)
{
    char user[WEB_MAX_USER_B64];
    bool have = false;
    const char *h = rq->authorization;
    if (h && w->deps.basic_auth && w->deps.basic_auth(w->deps.ud) &&
        strncasecmp(h, "Basic ", 6) == 0) {
        h += 6;
        while (*h == ' ')
            h++;
        size_t n = 0;
        if (mbedtls_base64_decode((unsigned char *)user, sizeof(user) - 1, &n,
                                  (const unsigned char *)h, strlen(h)) == 0) {
            user[n] = 0;
            char *colon = memchr(user, ':', n);
            if (colon && colon > user && strlen(user) == n) {
                *colon = 0;
                have = true;
            }
        }
    }
    r->status = 200;
    r->content_type = WEB_CT_JSON;
    web_header(r, "Cache-Control", "no-store");
    tn_buf_puts(&r->body, "{\"user\":");
    if (have)
        tn_json_go_string(&r->body, user, strlen(user));
    else
        tn_buf_puts(&r->body, "null");
    tn_buf_puts(&r->body, "}");
}

/* ---- the routing tree ---- */

static void web_jstr(tn_buf_t *b, const char *s)
{
    tn_json_go_string(b, s ? s : "", s ? strlen(s) : 0);
}

static void web_jdur(tn_buf_t *b, tn_duration_t d)
{
    char s[32];
    tn_duration_format(d, s);
    web_jstr(b, s);
}

static void web_jnames(tn_buf_t *b, char *const *v, size_t n)
{
    tn_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            tn_buf_putc(b, ',');
        web_jstr(b, v[i]);
    }
    tn_buf_putc(b, ']');
}

static void web_route_json(tn_buf_t *b, const tn_route_t *rt, unsigned depth)
{
    tn_buf_printf(b, "{\"idx\":%u,\"id\":", rt->idx);
    web_jstr(b, rt->id);
    tn_buf_puts(b, ",\"receiver\":");
    web_jstr(b, rt->receiver ? rt->receiver->name : "");
    tn_buf_puts(b, ",\"matchers\":[");
    for (size_t i = 0; i < rt->matchers.n; i++) {
        tn_buf_t m;
        tn_buf_init(&m, 0);
        tn_matcher_format(&m, &rt->matchers.v[i]);
        if (i)
            tn_buf_putc(b, ',');
        tn_json_go_string(b, m.data ? m.data : "", m.len);
        tn_buf_free(&m);
    }
    tn_buf_printf(b, "],\"continue\":%s,\"groupBy\":", rt->cont ? "true" : "false");
    if (rt->group_by_all)
        tn_buf_puts(b, "[\"...\"]");
    else
        web_jnames(b, (char *const *)rt->group_by, rt->ngroup_by);
    tn_buf_puts(b, ",\"groupWait\":");
    web_jdur(b, rt->group_wait);
    tn_buf_puts(b, ",\"groupInterval\":");
    web_jdur(b, rt->group_interval);
    tn_buf_puts(b, ",\"repeatInterval\":");
    web_jdur(b, rt->repeat_interval);
    tn_buf_puts(b, ",\"muteTimeIntervals\":");
    web_jnames(b, rt->mute_time_intervals, rt->nmute_time_intervals);
    tn_buf_puts(b, ",\"activeTimeIntervals\":");
    web_jnames(b, rt->active_time_intervals, rt->nactive_time_intervals);
    tn_buf_puts(b, ",\"escalation\":[");
    for (size_t i = 0; i < rt->nescalation; i++) {
        if (i)
            tn_buf_putc(b, ',');
        tn_buf_puts(b, "{\"after\":");
        web_jdur(b, rt->escalation[i].after);
        tn_buf_puts(b, ",\"receiver\":");
        web_jstr(b, rt->escalation[i].receiver ? rt->escalation[i].receiver->name : "");
        tn_buf_putc(b, '}');
    }
    tn_buf_printf(b, "],\"ackNotify\":%s,\"routes\":[", rt->ack_notify ? "true" : "false");
    /* the config loader bounds nesting; this only keeps a hostile tree off the stack */
    for (size_t i = 0; depth < 1000 && i < rt->nchildren; i++) {
        if (i)
            tn_buf_putc(b, ',');
        web_route_json(b, rt->children[i], depth + 1);
    }
    tn_buf_puts(b, "]}");
}

static const tn_config_t *web_config(tn_web_t *w, tn_web_reply_t *r)
{
    const tn_config_t *cfg = w->deps.config ? w->deps.config(w->deps.ud) : NULL;
    if (!cfg || !cfg->route)
        web_error(r, 503, "no configuration is loaded");
    return cfg && cfg->route ? cfg : NULL;
}

static void web_routes(tn_web_t *w, tn_web_reply_t *r)
{
    const tn_config_t *cfg = web_config(w, r);
    if (!cfg)
        return;
    r->status = 200;
    r->content_type = WEB_CT_JSON;
    web_header(r, "Cache-Control", "no-store");
    tn_buf_puts(&r->body, "{\"route\":");
    web_route_json(&r->body, cfg->route, 0);
    tn_buf_puts(&r->body, "}");
}

/* {"labels": {"name": "value", ...}} -> the routes the set ends on, as `amtool config routes
 * test` finds them. */
static void web_routes_test(tn_web_t *w, const tn_web_request_t *rq, tn_web_reply_t *r)
{
    json_error_t jerr;
    json_t *root = json_loadb(rq->body ? rq->body : "", rq->len, 0, &jerr);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof(msg), "invalid JSON: %.200s", jerr.text);
        web_error(r, 400, msg);
        return;
    }
    json_t *obj = json_object_get(root, "labels");
    if (!json_is_object(obj)) {
        web_error(r, 400, "labels: expected an object of label names to values");
        json_decref(root);
        return;
    }
    if (json_object_size(obj) > WEB_MAX_LABELS) {
        web_error(r, 400, "labels: at most 256");
        json_decref(root);
        return;
    }
    const tn_config_t *cfg = web_config(w, r);
    if (!cfg) {
        json_decref(root);
        return;
    }
    tn_label_t pairs[WEB_MAX_LABELS];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!json_is_string(v)) {
            char msg[256];
            snprintf(msg, sizeof(msg), "labels.%.200s: expected a string", k);
            web_error(r, 400, msg);
            goto out;
        }
        pairs[n].name = tn_intern_cstr(k);
        pairs[n].value = tn_intern(json_string_value(v), json_string_length(v));
        n++;
    }
    tn_labels_sort(pairs, n);
    tn_labels_t ls = {pairs, n};
    const tn_route_t *hit[WEB_MAX_MATCHES];
    size_t nhit = tn_route_match(cfg->route, ls, hit, WEB_MAX_MATCHES);
    r->status = 200;
    r->content_type = WEB_CT_JSON;
    web_header(r, "Cache-Control", "no-store");
    tn_buf_puts(&r->body, "{\"routes\":[");
    for (size_t i = 0; i < nhit && i < WEB_MAX_MATCHES; i++) {
        if (i)
            tn_buf_putc(&r->body, ',');
        tn_buf_printf(&r->body, "{\"idx\":%u,\"id\":", hit[i]->idx);
        web_jstr(&r->body, hit[i]->id);
        tn_buf_puts(&r->body, ",\"receiver\":");
        web_jstr(&r->body, hit[i]->receiver ? hit[i]->receiver->name : "");
        tn_buf_putc(&r->body, '}');
    }
    tn_buf_puts(&r->body, "]}");
out:
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(pairs[i].name);
        tn_intern_unref(pairs[i].value);
    }
    json_decref(root);
}

/* ---- dispatch ---- */

bool tn_web_answer(tn_web_t *w, const tn_web_request_t *rq, tn_web_reply_t *rep)
{
    const char *path = rq->path;
    if (w->prefix_len) {
        if (strncmp(path, w->prefix, w->prefix_len) != 0)
            return false;
        path += w->prefix_len;
        if (!*path) {
            /* the page's relative URLs need the slash */
            char *loc = tn_xasprintf("%s/", w->prefix);
            rep->status = 302;
            web_header(rep, "Location", loc);
            free(loc);
            return true;
        }
    }
    if (strcmp(path, "/") == 0) {
        if (web_method_get(rq, rep))
            web_asset(rq, tn_web_asset_find("index.html"), rep);
        return true;
    }
    if (strncmp(path, "/ui/", 4) == 0) {
        const tn_web_asset_t *a = tn_web_asset_find(path + 4);
        if (!a) {
            web_page_headers(rep);
            web_error(rep, 404, "no such file in the page");
        } else if (web_method_get(rq, rep)) {
            web_asset(rq, a, rep);
        }
        return true;
    }
    if (strncmp(path, WEB_API "/", sizeof(WEB_API)) != 0)
        return false;
    const char *p = path + sizeof(WEB_API) - 1;
    if (strcmp(p, "/whoami") == 0) {
        if (web_method_get(rq, rep))
            web_whoami(w, rq, rep);
        return true;
    }
    if (strcmp(p, "/routes") == 0) {
        if (web_method_get(rq, rep))
            web_routes(w, rep);
        return true;
    }
    if (strcmp(p, "/routes/test") == 0) {
        if (strcmp(rq->method, "POST") == 0 && !tn_http_is_json(rq->content_type)) {
            /* a write's rule (oncall.c has the same): JSON only, so no cross-site form */
            web_header(rep, "Accept", WEB_CT_JSON);
            web_error(rep, 415, "Content-Type: expected application/json");
        } else if (strcmp(rq->method, "POST") == 0) {
            web_routes_test(w, rq, rep);
        } else {
            web_header(rep, "Allow", "POST");
            web_error(rep, 405, "method not allowed, but [POST] is");
        }
        return true;
    }
    return false;
}

bool tn_web_handle(void *ud, tn_http_req_t *req)
{
    tn_web_t *w = ud;
    tn_web_request_t rq = {
        .method = tn_http_req_method(req),
        .path = tn_http_req_path(req),
        .query = tn_http_req_query(req),
        .if_none_match = tn_http_req_header(req, "If-None-Match"),
        .authorization = tn_http_req_header(req, "Authorization"),
        .content_type = tn_http_req_header(req, "Content-Type"),
    };
    rq.body = tn_http_req_body(req, &rq.len);
    tn_web_reply_t rep;
    tn_web_reply_init(&rep);
    if (!tn_web_answer(w, &rq, &rep)) {
        tn_web_reply_free(&rep);
        return false;
    }
    for (size_t i = 0; i < rep.nheaders; i++)
        tn_http_add_header(req, rep.headers[i].name, rep.headers[i].value);
    if (rep.data) {
        /* the asset is static: tn_http_respond copies it into the connection's queue */
        tn_http_respond(req, rep.status, rep.content_type, (const char *)rep.data, rep.len);
    } else {
        size_t len = rep.body.len;
        char *body = rep.body.data;
        rep.body.data = NULL;
        rep.body.len = rep.body.alloc = 0;
        tn_http_respond_owned(req, rep.status, rep.content_type, body, len);
    }
    tn_web_reply_free(&rep);
    return true;
}
