/* oauth2 client credentials: one cache entry per (token URL, client, secret, scopes, endpoint
 * parameters), holding the token and the requests waiting for it.
 *
 * As Go's oauth2 package (which Alertmanager uses): the token request is a form POST of
 * grant_type, scope (space-joined) and the endpoint parameters; the client authenticates with
 * HTTP basic auth first and, if the server refuses that, with client_id and client_secret in
 * the form, and the style that worked is remembered. A token counts as expired 10 s before its
 * expires_in says. */
#include "tocsin/oauth2.h"

#include <jansson.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"

#define OA_EXPIRY_DELTA_MS    10000
#define OA_DEFAULT_TIMEOUT_MS 30000

enum oa_style { OA_STYLE_UNKNOWN, OA_STYLE_HEADER, OA_STYLE_PARAMS };

struct tn_oauth2_wait {
    struct oa_entry *e;
    tn_oauth2_wait_t *prev, *next;
    tn_oauth2_ready_fn ready;
    void *ud;
    bool answering; /* taken off the entry for answering: a cancel only marks it */
    bool cancelled;
};

typedef struct oa_entry {
    char *key;
    struct oa_entry *prev, *next; /* most recently used first */
    char *token, *type;
    uint64_t expires_ms; /* monotonic; 0 = no expiry given */
    enum oa_style style;
    /* The fetch in flight. */
    tn_outbound_t *ob;
    tn_out_xfer_t *xfer;
    tn_http_config_t http;    /* the token endpoint's TLS and proxy; outlives the transfer */
    tn_oauth2_config_t *conf; /* a copy, for a second try in the other style */
    uint64_t timeout_ms;
    enum oa_style trying;
    tn_oauth2_wait_t *waiters;
} oa_entry_t;

static oa_entry_t *oa_entries;
static size_t oa_count;

static void oa_unlink(oa_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        oa_entries = e->next;
    if (e->next)
        e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void oa_push(oa_entry_t *e)
{
    e->next = oa_entries;
    if (oa_entries)
        oa_entries->prev = e;
    oa_entries = e;
}

static void oa_conf_free(tn_oauth2_config_t *c)
{
    if (!c)
        return;
    /* A copy made by tn_http_config_copy's path: free through an http config. */
    tn_http_config_t h = {.oauth2 = c};
    tn_http_config_free(&h);
}

static void oa_entry_free(oa_entry_t *e)
{
    free(e->key);
    free(e->token);
    free(e->type);
    tn_http_config_free(&e->http);
    oa_conf_free(e->conf);
    free(e);
}

/* Go's url.QueryEscape: unreserved bytes stay, space is '+', the rest %XX. */
static void oa_escape(tn_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            tn_buf_putc(b, (char)c);
        } else if (c == ' ') {
            tn_buf_putc(b, '+');
        } else {
            tn_buf_putc(b, '%');
            tn_buf_putc(b, hex[c >> 4]);
            tn_buf_putc(b, hex[c & 15]);
        }
    }
}

static char *oa_key(const tn_oauth2_config_t *o)
{
    unsigned char sum[32];
    const char *secret = o->client_secret ? o->client_secret : "";
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256((const unsigned char *)secret, strlen(secret), sum, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)secret, strlen(secret), sum, 0);
#endif
    tn_buf_t b;
    tn_buf_init(&b, 256);
    tn_buf_printf(&b, "%s\n%s\n", o->token_url, o->client_id);
    for (size_t i = 0; i < sizeof(sum); i++)
        tn_buf_printf(&b, "%02x", sum[i]);
    for (size_t i = 0; i < o->scopes.n; i++)
        tn_buf_printf(&b, "\ns=%s", o->scopes.v[i]);
    for (size_t i = 0; i < o->endpoint_params.n; i++)
        tn_buf_printf(&b, "\np=%s=%s", o->endpoint_params.keys[i], o->endpoint_params.values[i]);
    char *k = tn_xstrdup(tn_buf_cstr(&b));
    tn_buf_free(&b);
    return k;
}

static bool oa_fresh(const oa_entry_t *e)
{
    if (!e->token)
        return false;
    return e->expires_ms == 0 || tn_clock_mono_ms() + OA_EXPIRY_DELTA_MS < e->expires_ms;
}

/* Go's Token.Type(): the usual spellings normalised, Bearer when none is given. */
static const char *oa_type(const char *t)
{
    if (!t || !t[0] || strcasecmp(t, "bearer") == 0)
        return "Bearer";
    if (strcasecmp(t, "mac") == 0)
        return "MAC";
    if (strcasecmp(t, "basic") == 0)
        return "Basic";
    return t;
}

static void oa_add_header(const oa_entry_t *e, tn_out_request_t *req)
{
    char *v = tn_xasprintf("%s %s", oa_type(e->type), e->token);
    tn_out_request_add_header(req, "Authorization", v);
    free(v);
}

static void oa_answer(oa_entry_t *e, const char *err)
{
    /* A ready callback may start another request for this entry: take the list first. */
    tn_oauth2_wait_t *w = e->waiters;
    e->waiters = NULL;
    for (tn_oauth2_wait_t *x = w; x; x = x->next)
        x->answering = true;
    while (w) {
        tn_oauth2_wait_t *next = w->next;
        if (!w->cancelled)
            w->ready(w->ud, err);
        free(w);
        w = next;
    }
}

static int oa_fetch(oa_entry_t *e, enum oa_style style, char *err, size_t errlen);

/* Reads the token response: JSON, or a form as some servers answer. */
static int oa_parse(oa_entry_t *e, const tn_out_response_t *r, char *err, size_t errlen)
{
    char *token = NULL, *type = NULL;
    double expires = 0;
    const char *ct = r->content_type ? r->content_type : "";
    if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 ||
        strncasecmp(ct, "text/plain", 10) == 0) {
        char *copy = tn_xstrndup(r->body, r->body_len);
        for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                continue;
            *eq = 0;
            if (strcmp(kv, "access_token") == 0)
                token = tn_xstrdup(eq + 1);
            else if (strcmp(kv, "token_type") == 0)
                type = tn_xstrdup(eq + 1);
            else if (strcmp(kv, "expires_in") == 0)
                expires = strtod(eq + 1, NULL);
        }
        free(copy);
    } else {
        json_error_t jerr;
        json_t *v = json_loadb(r->body, r->body_len, 0, &jerr);
        if (!v) {
            snprintf(err, errlen, "oauth2: cannot parse json: %s", jerr.text);
            return TN_ERR_INVAL;
        }
        const char *t = json_string_value(json_object_get(v, "access_token"));
        const char *ty = json_string_value(json_object_get(v, "token_type"));
        json_t *ex = json_object_get(v, "expires_in");
        token = t ? tn_xstrdup(t) : NULL;
        type = ty ? tn_xstrdup(ty) : NULL;
        if (json_is_number(ex))
            expires = json_number_value(ex);
        else if (json_is_string(ex))
            expires = strtod(json_string_value(ex), NULL);
        json_decref(v);
    }
    if (!token || !token[0]) {
        free(token);
        free(type);
        snprintf(err, errlen, "oauth2: server response missing access_token");
        return TN_ERR_INVAL;
    }
    free(e->token);
    free(e->type);
    e->token = token;
    e->type = type;
    e->expires_ms = expires > 0 ? tn_clock_mono_ms() + (uint64_t)(expires * 1000.0) : 0;
    return TN_OK;
}

/* The failure of a token request, worded as Go's oauth2.RetrieveError. */
static void oa_error(const tn_out_response_t *r, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v = r->body_len ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
    const char *code = v ? json_string_value(json_object_get(v, "error")) : NULL;
    if (code && code[0]) {
        const char *desc = json_string_value(json_object_get(v, "error_description"));
        snprintf(err, errlen, "oauth2: \"%s\"%s%s%s", code, desc ? " \"" : "", desc ? desc : "",
                 desc ? "\"" : "");
    } else {
        snprintf(err, errlen, "oauth2: cannot fetch token: %ld\nResponse: %.*s", r->status,
                 (int)(r->body_len > 300 ? 300 : r->body_len), r->body ? r->body : "");
    }
    json_decref(v);
}

static void oa_done(void *ud, const tn_out_response_t *r)
{
    oa_entry_t *e = ud;
    e->xfer = NULL;
    char err[TN_ERRBUF_SIZE] = "";
    if (r->curl_code != 0) {
        snprintf(err, sizeof(err), "oauth2: cannot fetch token: %s",
                 r->error ? r->error : "transfer failed");
    } else if (r->status / 100 != 2) {
        /* Refused in the header style before any style was known: try the form. */
        if (e->style == OA_STYLE_UNKNOWN && e->trying == OA_STYLE_HEADER &&
            oa_fetch(e, OA_STYLE_PARAMS, err, sizeof(err)) == TN_OK)
            return;
        if (!err[0])
            oa_error(r, err, sizeof(err));
    } else if (oa_parse(e, r, err, sizeof(err)) == TN_OK) {
        e->style = e->trying;
    }
    tn_http_config_free(&e->http);
    oa_conf_free(e->conf);
    e->conf = NULL;
    if (err[0])
        tn_log(TN_LOG_WARN, "Could not fetch an oauth2 token", "err", err, NULL);
    oa_answer(e, err[0] ? err : NULL);
}

static int oa_fetch(oa_entry_t *e, enum oa_style style, char *err, size_t errlen)
{
    const tn_oauth2_config_t *o = e->conf;
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, o->token_url);
    tn_out_request_add_header(&req, "Content-Type", "application/x-www-form-urlencoded");
    /* Go's url.Values.Encode: keys sorted. */
    tn_strmap_t form = {0};
    tn_strmap_set(&form, "grant_type", "client_credentials");
    if (o->scopes.n) {
        tn_buf_t s;
        tn_buf_init(&s, 64);
        for (size_t i = 0; i < o->scopes.n; i++)
            tn_buf_printf(&s, "%s%s", i ? " " : "", o->scopes.v[i]);
        tn_strmap_set(&form, "scope", tn_buf_cstr(&s));
        tn_buf_free(&s);
    }
    for (size_t i = 0; i < o->endpoint_params.n; i++)
        tn_strmap_set(&form, o->endpoint_params.keys[i], o->endpoint_params.values[i]);
    if (style == OA_STYLE_PARAMS) {
        tn_strmap_set(&form, "client_id", o->client_id);
        if (o->client_secret && o->client_secret[0])
            tn_strmap_set(&form, "client_secret", o->client_secret);
    } else {
        tn_buf_t up;
        tn_buf_init(&up, 128);
        oa_escape(&up, o->client_id);
        tn_buf_putc(&up, ':');
        oa_escape(&up, o->client_secret ? o->client_secret : "");
        size_t olen = 0;
        mbedtls_base64_encode(NULL, 0, &olen, (const unsigned char *)up.data, up.len);
        unsigned char *b64 = tn_xmalloc(olen + 1);
        mbedtls_base64_encode(b64, olen + 1, &olen, (const unsigned char *)up.data, up.len);
        b64[olen] = 0;
        char *hv = tn_xasprintf("Basic %s", b64);
        tn_out_request_add_header(&req, "Authorization", hv);
        free(hv);
        free(b64);
        tn_buf_free(&up);
    }
    for (size_t i = 0; i + 1 < form.n; i++)
        for (size_t j = i + 1; j < form.n; j++)
            if (strcmp(form.keys[j], form.keys[i]) < 0) {
                char *k = form.keys[i], *v = form.values[i];
                form.keys[i] = form.keys[j];
                form.values[i] = form.values[j];
                form.keys[j] = k;
                form.values[j] = v;
            }
    for (size_t i = 0; i < form.n; i++) {
        if (i)
            tn_buf_putc(&req.body, '&');
        oa_escape(&req.body, form.keys[i]);
        tn_buf_putc(&req.body, '=');
        oa_escape(&req.body, form.values[i]);
    }
    tn_strmap_free(&form);
    req.timeout_ms = e->timeout_ms;
    req.http = &e->http;
    e->trying = style;
    e->xfer = tn_outbound_send(e->ob, &req, oa_done, e, err, errlen);
    tn_out_request_free(&req);
    return e->xfer ? TN_OK : TN_ERR_INVAL;
}

static oa_entry_t *oa_find(const char *key)
{
    for (oa_entry_t *e = oa_entries; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Keeps the cache within its cap: the least recently used entries without waiters go. */
static void oa_trim(void)
{
    oa_entry_t *last = oa_entries;
    while (last && last->next)
        last = last->next;
    while (oa_count > TN_OAUTH2_MAX_TOKENS && last) {
        oa_entry_t *prev = last->prev;
        if (!last->waiters && !last->xfer) {
            oa_unlink(last);
            oa_entry_free(last);
            oa_count--;
        }
        last = prev;
    }
}

int tn_oauth2_authorize(tn_outbound_t *ob, const tn_oauth2_config_t *o, tn_out_request_t *req,
                        uint64_t timeout_ms, tn_oauth2_ready_fn ready, void *ud,
                        tn_oauth2_wait_t **wait, char *err, size_t errlen)
{
    char *key = oa_key(o);
    oa_entry_t *e = oa_find(key);
    if (e) {
        free(key);
        oa_unlink(e);
        oa_push(e);
    } else {
        e = tn_xcalloc(1, sizeof(*e));
        e->key = key;
        oa_push(e);
        oa_count++;
        oa_trim();
    }
    if (oa_fresh(e)) {
        oa_add_header(e, req);
        return 1;
    }
    tn_oauth2_wait_t *w = tn_xcalloc(1, sizeof(*w));
    w->e = e;
    w->ready = ready;
    w->ud = ud;
    w->next = e->waiters;
    if (e->waiters)
        e->waiters->prev = w;
    e->waiters = w;
    *wait = w;
    if (!e->xfer) {
        /* The token endpoint with the oauth2 section's own TLS and proxy settings. */
        memset(&e->http, 0, sizeof(e->http));
        e->http.follow_redirects = true;
        e->http.enable_http2 = true;
        tn_tls_config_copy(&e->http.tls, &o->tls);
        e->http.proxy_url = o->proxy_url ? tn_xstrdup(o->proxy_url) : NULL;
        e->http.no_proxy = o->no_proxy ? tn_xstrdup(o->no_proxy) : NULL;
        e->http.proxy_from_environment = o->proxy_from_environment;
        tn_http_config_t tmp = {.oauth2 = (tn_oauth2_config_t *)o}, copy;
        tn_http_config_copy(&copy, &tmp);
        e->conf = copy.oauth2;
        copy.oauth2 = NULL;
        tn_http_config_free(&copy);
        e->ob = ob;
        e->timeout_ms =
            timeout_ms && timeout_ms < OA_DEFAULT_TIMEOUT_MS ? timeout_ms : OA_DEFAULT_TIMEOUT_MS;
        if (oa_fetch(e, e->style == OA_STYLE_PARAMS ? OA_STYLE_PARAMS : OA_STYLE_HEADER, err,
                     errlen) != TN_OK) {
            tn_http_config_free(&e->http);
            oa_conf_free(e->conf);
            e->conf = NULL;
            e->waiters = w->next;
            if (e->waiters)
                e->waiters->prev = NULL;
            free(w);
            *wait = NULL;
            return -1;
        }
    }
    return 0;
}

void tn_oauth2_cancel(tn_oauth2_wait_t *w)
{
    oa_entry_t *e = w->e;
    if (w->answering) {
        w->cancelled = true;
        return;
    }
    if (w->prev)
        w->prev->next = w->next;
    else
        e->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    free(w);
}

size_t tn_oauth2_cached(void)
{
    return oa_count;
}

void tn_oauth2_shutdown(void)
{
    while (oa_entries) {
        oa_entry_t *e = oa_entries;
        if (e->xfer) {
            tn_outbound_cancel(e->ob, e->xfer);
            e->xfer = NULL;
        }
        oa_answer(e, "shutting down");
        oa_unlink(e);
        oa_entry_free(e);
        oa_count--;
    }
}
