/* WeChat Work (wechat_configs): an application message sent in two requests, as Alertmanager
 * does: GET {api_url}gettoken for an access token, then POST {api_url}message/send with it.
 *
 * Tokens outlive sends: a small table at module level, keyed by the SHA-256 of the API URL,
 * corp id and secret (so the secret itself is never stored as a key), keeps each token for
 * two hours after it was fetched, Alertmanager's refresh rule. A send whose credentials have a
 * valid token skips the token request: its step 0 is the message itself. WeChat's "token
 * expired" and "token invalid" answers drop the table's entry, and the retry fetches anew. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

/* Alertmanager refreshes a token older than this. */
#define WECHAT_TOKEN_TTL (2 * 3600 * TN_NS_PER_SEC)
/* Distinct credentials whose tokens are kept; past that the oldest token goes. */
#define WECHAT_TOKEN_SLOTS 32
/* WeChat documents tokens of up to 512 bytes; a longer one is used, not kept. */
#define WECHAT_TOKEN_MAX 1024

/* errcode values of message/send. */
#define WECHAT_ERR_INVALID_CREDENTIAL 40001
#define WECHAT_ERR_INVALID_TOKEN      40014
#define WECHAT_ERR_TOKEN_EXPIRED      42001

typedef struct wechat_conf {
    char *api_secret, *api_secret_file; /* the file is read again for every send */
    char *api_url;                      /* finalize: the path ends with '/', query removed */
    char *corp_id;
    char *message, *message_type;
    char *agent_id, *to_user, *to_party, *to_tag;
    tn_http_config_t http_config;
    /* Set by finalize. */
    char *api_query; /* api_url's query (without '?'), kept for message/send; or NULL */
    bool markdown;
} wechat_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(wechat_conf_t, m)                                  \
    }
#define FD(k, m, d)                                                                                \
    {                                                                                              \
        .key = k, .type = TN_F_STRING, .offset = offsetof(wechat_conf_t, m), .def = d              \
    }
#define TMPL(name) "{{ template \"wechat.default." name "\" . }}"

static const tn_field_t wechat_fields[] = {
    F("api_secret", TN_F_SECRET, api_secret),
    {.key = "api_secret_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(wechat_conf_t, api_secret_file),
     .target = "api_secret"},
    F("api_url", TN_F_URL, api_url),
    F("corp_id", TN_F_STRING, corp_id),
    FD("message", message, TMPL("message")),
    F("message_type", TN_F_STRING, message_type),
    FD("agent_id", agent_id, TMPL("agent_id")),
    FD("to_user", to_user, TMPL("to_user")),
    FD("to_party", to_party, TMPL("to_party")),
    FD("to_tag", to_tag, TMPL("to_tag")),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static void wechat_replace(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? tn_xstrdup(src) : NULL;
}

/* Splits api_url into the URL up to its path, which gets a trailing '/' as Alertmanager adds
 * one, and its query; a fragment is dropped (it is never sent). */
static void wechat_split_url(wechat_conf_t *c)
{
    const char *u = c->api_url;
    const char *host = strstr(u, "://");
    const char *p = host ? host + 3 : u;
    p += strcspn(p, "/?#");
    size_t path_end = (size_t)(p - u) + strcspn(p, "?#");
    char *query = NULL;
    if (u[path_end] == '?') {
        size_t qlen = strcspn(u + path_end + 1, "#");
        if (qlen)
            query = tn_xstrndup(u + path_end + 1, qlen);
    }
    bool slash = path_end > 0 && u[path_end - 1] == '/' && p < u + path_end;
    char *base = tn_xasprintf("%.*s%s", (int)path_end, u, slash ? "" : "/");
    free(c->api_url);
    c->api_url = base;
    free(c->api_query);
    c->api_query = query;
}

static int wechat_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    wechat_conf_t *c = conf;
    if (!tn_receiver_set(c->message_type))
        wechat_replace(&c->message_type, "text");
    if (strcmp(c->message_type, "text") != 0 && strcmp(c->message_type, "markdown") != 0) {
        snprintf(err, errlen,
                 "weChat message type \"%s\" does not match valid options ^(text|markdown)$",
                 c->message_type);
        return TN_ERR_INVAL;
    }
    c->markdown = strcmp(c->message_type, "markdown") == 0;
    if (!tn_receiver_set(c->api_url))
        wechat_replace(&c->api_url, g->wechat_api_url);
    if (!tn_receiver_set(c->api_url)) {
        snprintf(err, errlen, "no global Wechat URL set");
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->api_secret) && !tn_receiver_set(c->api_secret_file)) {
        if (!tn_receiver_set(g->wechat_api_secret) && !tn_receiver_set(g->wechat_api_secret_file)) {
            snprintf(err, errlen, "no global Wechat Api Secret set either inline or in a file");
            return TN_ERR_INVAL;
        }
        wechat_replace(&c->api_secret, g->wechat_api_secret);
        wechat_replace(&c->api_secret_file, g->wechat_api_secret_file);
    }
    if (!tn_receiver_set(c->corp_id))
        wechat_replace(&c->corp_id, g->wechat_api_corp_id);
    if (!tn_receiver_set(c->corp_id)) {
        snprintf(err, errlen, "no global Wechat CorpID set");
        return TN_ERR_INVAL;
    }
    wechat_split_url(c);
    return TN_OK;
}

static void wechat_conf_free(void *conf)
{
    wechat_conf_t *c = conf;
    free(c->api_query);
    c->api_query = NULL;
}

/* ---- the token table (the loop's thread only) ---- */

typedef struct wechat_token {
    char key[65]; /* "" = free slot */
    char token[WECHAT_TOKEN_MAX];
    tn_time_t at; /* when it was fetched */
} wechat_token_t;

static wechat_token_t wechat_tokens[WECHAT_TOKEN_SLOTS];

static void wechat_token_wipe(wechat_token_t *t)
{
    memset(t, 0, sizeof(*t));
}

static wechat_token_t *wechat_token_find(const char *key)
{
    for (size_t i = 0; i < WECHAT_TOKEN_SLOTS; i++)
        if (strcmp(wechat_tokens[i].key, key) == 0)
            return &wechat_tokens[i];
    return NULL;
}

/* The token kept for key, or NULL when none or older than the TTL. */
static const char *wechat_token_get(const char *key, tn_time_t now)
{
    wechat_token_t *t = wechat_token_find(key);
    if (!t)
        return NULL;
    if (now - t->at > WECHAT_TOKEN_TTL) {
        wechat_token_wipe(t);
        return NULL;
    }
    return t->token;
}

static void wechat_token_put(const char *key, const char *token, tn_time_t now)
{
    if (strlen(token) >= WECHAT_TOKEN_MAX)
        return;
    wechat_token_t *t = wechat_token_find(key);
    for (size_t i = 0; !t && i < WECHAT_TOKEN_SLOTS; i++)
        if (!wechat_tokens[i].key[0] || now - wechat_tokens[i].at > WECHAT_TOKEN_TTL)
            t = &wechat_tokens[i];
    /* Full of live tokens: the oldest makes room (it is the nearest to its refresh anyway). */
    for (size_t i = 0; !t && i < WECHAT_TOKEN_SLOTS; i++)
        if (i == 0 || wechat_tokens[i].at < t->at)
            t = &wechat_tokens[i];
    wechat_token_wipe(t);
    snprintf(t->key, sizeof(t->key), "%s", key);
    snprintf(t->token, sizeof(t->token), "%s", token);
    t->at = now;
}

/* Drops key's token if it is still the one this send used (another send may have fetched a
 * newer one meanwhile). */
static void wechat_token_drop(const char *key, const char *token)
{
    wechat_token_t *t = wechat_token_find(key);
    if (t && strcmp(t->token, token) == 0)
        wechat_token_wipe(t);
}

/* ---- one send's state across its steps ---- */

typedef struct wechat_carry {
    bool sending; /* the request in flight is message/send, else gettoken */
    char key[65];
    char *token;   /* the token this send uses; a secret */
    char *corp_id; /* rendered, for the error text */
} wechat_carry_t;

static void wechat_wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static void wechat_carry_free(void *p)
{
    wechat_carry_t *k = p;
    wechat_wipe_free(k->token);
    free(k->corp_id);
    free(k);
}

/* ---- URLs ---- */

/* Go's url.QueryEscape. */
static void wechat_query_escape(tn_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            tn_buf_putc(b, (char)ch);
        else if (ch == ' ')
            tn_buf_putc(b, '+');
        else
            tn_buf_printf(b, "%%%02X", ch);
    }
}

static int wechat_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Go's url.QueryUnescape of s[0..len) into a new string, or NULL on a bad escape. */
static char *wechat_query_unescape(const char *s, size_t len)
{
    char *out = tn_xmalloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < len ? wechat_hex(s[i + 1]) : -1;
            int lo = i + 2 < len ? wechat_hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

typedef struct wechat_param {
    char *key, *value;
    size_t order; /* position in the query: values of one key keep it */
} wechat_param_t;

static int wechat_param_cmp(const void *a, const void *b)
{
    const wechat_param_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* message/send: api_url's own query with access_token set, re-encoded with sorted keys, as
 * Go's Query/Set/Encode does. */
static char *wechat_send_url(const wechat_conf_t *c, const char *token)
{
    wechat_param_t *ps = NULL;
    size_t n = 0;
    const char *q = c->api_query ? c->api_query : "";
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        /* Go skips pairs with a semicolon or a bad escape, and Set replaces the token. */
        if (len && !memchr(q, ';', len)) {
            size_t klen = eq ? (size_t)(eq - q) : len;
            char *k = wechat_query_unescape(q, klen);
            char *v = eq ? wechat_query_unescape(eq + 1, len - klen - 1) : tn_xstrdup("");
            if (k && v && strcmp(k, "access_token") != 0) {
                ps = tn_xrealloc(ps, (n + 1) * sizeof(*ps));
                ps[n].key = k;
                ps[n].value = v;
                ps[n].order = n;
                n++;
            } else {
                free(k);
                free(v);
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
    ps = tn_xrealloc(ps, (n + 1) * sizeof(*ps));
    ps[n].key = tn_xstrdup("access_token");
    ps[n].value = tn_xstrdup(token);
    ps[n].order = n;
    n++;
    qsort(ps, n, sizeof(*ps), wechat_param_cmp);

    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, c->api_url);
    tn_buf_puts(&b, "message/send?");
    for (size_t i = 0; i < n; i++) {
        if (i)
            tn_buf_putc(&b, '&');
        wechat_query_escape(&b, ps[i].key);
        tn_buf_putc(&b, '=');
        wechat_query_escape(&b, ps[i].value);
        free(ps[i].key);
        wechat_wipe_free(ps[i].value);
    }
    free(ps);
    char *url = tn_xstrndup(b.data, b.len);
    memset(b.data, 0, b.len);
    tn_buf_free(&b);
    return url;
}

/* gettoken: Alertmanager replaces api_url's query with the two credentials (sorted). */
static char *wechat_token_url(const wechat_conf_t *c, const char *corp_id, const char *secret)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, c->api_url);
    tn_buf_puts(&b, "gettoken?corpid=");
    wechat_query_escape(&b, corp_id);
    tn_buf_puts(&b, "&corpsecret=");
    wechat_query_escape(&b, secret);
    char *url = tn_xstrndup(b.data, b.len);
    memset(b.data, 0, b.len);
    tn_buf_free(&b);
    return url;
}

/* ---- the credentials ---- */

/* Renders a credential as a template, as Alertmanager does. The engine's error is not logged:
 * it may quote the text, which is a secret. */
static int wechat_render_secret(const tn_notification_t *n, const char *text, char **out)
{
    if (!strstr(text, "{{")) {
        *out = tn_xstrdup(text);
        return TN_OK;
    }
    tn_buf_t b;
    char e[TN_ERRBUF_SIZE];
    tn_buf_init(&b, TN_TMPL_MAX_OUTPUT + 1);
    int rc = tn_tmpl_render(tn_rcv_templates(n), text, n, 0, &b, e, sizeof(e));
    *out = rc < 0 ? NULL : tn_xstrndup(b.data ? b.data : "", b.len);
    if (b.data)
        memset(b.data, 0, b.len);
    tn_buf_free(&b);
    memset(e, 0, sizeof(e));
    return rc < 0 ? TN_ERR_INVAL : TN_OK;
}

/* Reads and renders the secret and the corp id, and derives the token table's key. */
static int wechat_credentials(const wechat_conf_t *c, const tn_notification_t *n, char **secret,
                              wechat_carry_t *k, char *err, size_t errlen)
{
    char *raw = NULL;
    int rc;
    *secret = NULL;
    if (tn_receiver_set(c->api_secret_file)) {
        rc = tn_rcv_read_file(c->api_secret_file, &raw, err, errlen);
        if (rc != TN_OK)
            return rc;
    } else {
        raw = tn_xstrdup(c->api_secret ? c->api_secret : "");
    }
    rc = wechat_render_secret(n, raw, secret);
    wechat_wipe_free(raw);
    if (rc != TN_OK) {
        snprintf(err, errlen, "templating error in api_secret");
        return rc;
    }
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "wechat");
    free(k->corp_id);
    k->corp_id = tn_rcv_render(&t, c->corp_id, 0);

    char *id = tn_xasprintf("%s\n%s\n%s", c->api_url, k->corp_id, *secret);
    tn_rcv_sha256_hex(id, k->key);
    wechat_wipe_free(id);
    return TN_OK;
}

/* ---- the message ---- */

static int wechat_content(tn_buf_t *b, bool *first, const char *key, const char *text)
{
    int rc = tn_rcv_json_key(b, first, key);
    bool f = true;
    if (rc == TN_OK)
        rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &f, "content", text);
    return rc ? rc : tn_buf_putc(b, '}');
}

/* Alertmanager's weChatMessage as Go encodes it: both contents always written (omitempty does
 * not apply to structs), the recipients and agent id omitted when empty. The message is not
 * cut: Alertmanager sends it whole. */
static int wechat_message(tn_buf_t *b, const wechat_conf_t *c, const tn_notification_t *n)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "wechat");
    char *msg = tn_rcv_render_main(&t, c->message, 0);
    char *to_user = tn_rcv_render(&t, c->to_user, 0);
    char *to_party = tn_rcv_render(&t, c->to_party, 0);
    char *to_tag = tn_rcv_render(&t, c->to_tag, 0);
    char *agent_id = tn_rcv_render(&t, c->agent_id, 0);
    bool first = true;

    int rc = tn_buf_putc(b, '{');
    if (rc == TN_OK)
        rc = wechat_content(b, &first, "text", c->markdown ? "" : msg);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "touser", to_user);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "toparty", to_party);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "totag", to_tag);
    if (rc == TN_OK)
        rc = tn_rcv_json_str_omit(b, &first, "agentid", agent_id);
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "safe", "0");
    if (rc == TN_OK)
        rc = tn_rcv_json_str(b, &first, "msgtype", c->message_type);
    if (rc == TN_OK)
        rc = wechat_content(b, &first, "markdown", c->markdown ? msg : "");
    if (rc == TN_OK)
        rc = tn_buf_puts(b, "}\n");
    free(msg);
    free(to_user);
    free(to_party);
    free(to_tag);
    free(agent_id);
    return rc;
}

static int wechat_build_send(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const wechat_conf_t *c = s->ic->conf;
    wechat_carry_t *k = s->carry;
    tn_buf_reset(&req->body);
    if (wechat_message(&req->body, c, s->n) != TN_OK) {
        snprintf(err, errlen, "wechat message too large");
        return TN_ERR_INVAL;
    }
    char *url = wechat_send_url(c, k->token);
    tn_out_request_set_url(req, url);
    wechat_wipe_free(url);
    tn_out_request_add_header(req, "Content-Type", "application/json");
    return TN_OK;
}

static int wechat_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const wechat_conf_t *c = s->ic->conf;
    wechat_carry_t *k = s->carry;
    int rc;

    req->http = &c->http_config;
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    if (s->step > 0) {
        /* After gettoken: the message, with the token it brought. */
        if (!k || !k->token) {
            snprintf(err, errlen, "wechat: no access token for message/send");
            return TN_ERR_INVAL;
        }
        k->sending = true;
        return wechat_build_send(s, req, err, errlen);
    }
    if (!k) {
        k = tn_xcalloc(1, sizeof(*k));
        s->carry = k;
        s->carry_free = wechat_carry_free;
    }
    char *secret = NULL;
    rc = wechat_credentials(c, s->n, &secret, k, err, errlen);
    if (rc != TN_OK)
        return rc;
    const char *token = wechat_token_get(k->key, tn_clock_now());
    if (token) {
        wechat_wipe_free(secret);
        wechat_wipe_free(k->token);
        k->token = tn_xstrdup(token);
        k->sending = true;
        return wechat_build_send(s, req, err, errlen);
    }
    k->sending = false;
    char *url = wechat_token_url(c, k->corp_id, secret);
    wechat_wipe_free(secret);
    tn_out_request_set_url(req, url);
    wechat_wipe_free(url);
    free(req->method);
    req->method = tn_xstrdup("GET");
    return TN_OK;
}

/* ---- replies ---- */

static enum tn_send_result wechat_token_reply(wechat_carry_t *k, const tn_out_response_t *resp,
                                              const char **reason, char *err, size_t errlen)
{
    /* Alertmanager retries a token request only when it did not complete; the answer's
     * status is not looked at, its body decides. */
    *reason = "other";
    if (resp->curl_code != 0) {
        snprintf(err, errlen, "%s", resp->error ? resp->error : "transfer failed");
        return TN_SEND_RETRY;
    }
    json_error_t jerr;
    json_t *v = json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_DECODE_ANY, &jerr);
    const char *token = json_string_value(json_object_get(v, "access_token"));
    char status[48] = "";
    if (resp->status / 100 != 2)
        snprintf(status, sizeof(status), " (status %ld)", resp->status);
    if (!json_is_object(v)) {
        snprintf(err, errlen, "gettoken: cannot decode the answer%s: %s", status,
                 v ? "not a JSON object" : jerr.text);
        json_decref(v);
        return TN_SEND_FAIL;
    }
    if (!token || !token[0]) {
        /* WeChat names the problem: {"errcode":40013,"errmsg":"invalid corpid"}. */
        const char *msg = json_string_value(json_object_get(v, "errmsg"));
        json_t *code = json_object_get(v, "errcode");
        char detail[160] = "";
        if (json_is_integer(code) || msg)
            snprintf(detail, sizeof(detail), " (errcode %" JSON_INTEGER_FORMAT ": %s)",
                     json_integer_value(code), msg ? msg : "");
        snprintf(err, errlen, "invalid APISecret for CorpID: %s%s%s", k->corp_id ? k->corp_id : "",
                 detail, status);
        json_decref(v);
        return TN_SEND_FAIL;
    }
    wechat_token_put(k->key, token, tn_clock_now());
    wechat_wipe_free(k->token);
    k->token = tn_xstrdup(token);
    json_decref(v);
    *reason = NULL;
    if (errlen)
        err[0] = 0;
    return TN_SEND_NEXT;
}

static enum tn_send_result wechat_send_reply(wechat_carry_t *k, const tn_out_response_t *resp,
                                             const char **reason, char *err, size_t errlen)
{
    if (resp->curl_code != 0) {
        *reason = "other";
        snprintf(err, errlen, "%s", resp->error ? resp->error : "transfer failed");
        return TN_SEND_RETRY;
    }
    /* Alertmanager retries every answer but a 200, 4xx included. */
    if (resp->status != 200) {
        tn_receiver_classify_http(resp, false, reason, err, errlen);
        if (!*reason)
            *reason = "other"; /* a 2xx other than 200 */
        snprintf(err, errlen, "unexpected status code %ld", resp->status);
        return TN_SEND_RETRY;
    }
    *reason = "other";
    json_error_t jerr;
    json_t *v = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
    if (!v) {
        snprintf(err, errlen, "cannot decode the answer: %s", jerr.text);
        return TN_SEND_RETRY;
    }
    json_int_t code = json_integer_value(json_object_get(v, "errcode"));
    const char *msg = json_string_value(json_object_get(v, "errmsg"));
    enum tn_send_result r = TN_SEND_FAIL;
    if (code == 0) {
        *reason = NULL;
        if (errlen)
            err[0] = 0;
        r = TN_SEND_DONE;
    } else {
        snprintf(err, errlen, "%s (errcode %" JSON_INTEGER_FORMAT ")", msg ? msg : "", code);
        if (code == WECHAT_ERR_TOKEN_EXPIRED || code == WECHAT_ERR_INVALID_TOKEN ||
            code == WECHAT_ERR_INVALID_CREDENTIAL) {
            /* A token WeChat refuses is never offered again; the retry fetches a new one. */
            if (k && k->token)
                wechat_token_drop(k->key, k->token);
            r = TN_SEND_RETRY;
        }
    }
    json_decref(v);
    return r;
}

static void wechat_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    wechat_carry_t *k = s->carry;
    if (k && !k->sending)
        o->result = wechat_token_reply(k, resp, &o->reason, o->err, sizeof(o->err));
    else
        o->result = wechat_send_reply(k, resp, &o->reason, o->err, sizeof(o->err));
}

/* Its keys under global:. */
static const tn_field_t wechat_global_fields[] = {
    TN_GLOBAL_FIELD("wechat_api_url", TN_F_URL, wechat_api_url,
                    "https://qyapi.weixin.qq.com/cgi-bin/"),
    TN_GLOBAL_FIELD("wechat_api_secret", TN_F_SECRET, wechat_api_secret, NULL),
    TN_GLOBAL_FILE("wechat_api_secret_file", wechat_api_secret_file, "wechat_api_secret"),
    TN_GLOBAL_FIELD("wechat_api_corp_id", TN_F_STRING, wechat_api_corp_id, NULL),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_wechat = {
    .name = "wechat",
    .conf_size = sizeof(wechat_conf_t),
    .fields = wechat_fields,
    .global_fields = wechat_global_fields,
    .send_resolved_default = false,
    .finalize = wechat_finalize,   /* message type, globals, api_url ends with '/' */
    .conf_free = wechat_conf_free, /* api_query */
    .build = wechat_build,         /* gettoken unless a token is kept, then message/send */
    .classify = wechat_classify,   /* token: body decides; send: errcode, token drops */
};
