/* Pushover (pushover_configs): one POST to the messages API per notification. As Alertmanager
 * sends it, every parameter travels in the query string (form-encoded, keys sorted) and the
 * body is empty; title, message and URL are cut to Pushover's limits in runes. Priority 2
 * (emergency, repeated every `retry` until acknowledged or `expire`) while alerts fire by
 * default. 5xx is retried; any other failure is final. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcv.h"
#include "tocsin/log.h"
#include "tocsin/utf8.h"
#include "tocsin/version.h"

#define PO_API_URL "https://api.pushover.net/1/messages.json"

/* Pushover's limits, in runes. */
#define PO_MAX_TITLE   250
#define PO_MAX_MESSAGE 1024
#define PO_MAX_URL     512

typedef struct po_conf {
    char *user_key, *user_key_file; /* the files are read again for every send */
    char *token, *token_file;
    char *title, *message, *url, *url_title, *device, *sound, *priority;
    char *retry, *expire, *ttl; /* Go durations (time.ParseDuration), as written */
    bool html, monospace;
    tn_http_config_t http_config;
    /* Set by finalize: the durations in nanoseconds. */
    int64_t retry_ns, expire_ns, ttl_ns;
} po_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(po_conf_t, m)                                      \
    }
#define FD(k, t, m, d)                                                                             \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(po_conf_t, m), .def = d                            \
    }

static const tn_field_t po_fields[] = {
    F("user_key", TN_F_SECRET, user_key),
    {.key = "user_key_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(po_conf_t, user_key_file),
     .target = "user_key"},
    F("token", TN_F_SECRET, token),
    {.key = "token_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(po_conf_t, token_file),
     .target = "token"},
    FD("title", TN_F_STRING, title, "{{ template \"pushover.default.title\" . }}"),
    FD("message", TN_F_STRING, message, "{{ template \"pushover.default.message\" . }}"),
    FD("url", TN_F_STRING, url, "{{ template \"pushover.default.url\" . }}"),
    F("url_title", TN_F_STRING, url_title),
    F("device", TN_F_STRING, device),
    F("sound", TN_F_STRING, sound),
    FD("priority", TN_F_STRING, priority, "{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}"),
    FD("retry", TN_F_STRING, retry, "1m"),
    FD("expire", TN_F_STRING, expire, "1h"),
    F("ttl", TN_F_STRING, ttl),
    F("html", TN_F_BOOL, html),
    F("monospace", TN_F_BOOL, monospace),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* ---- Go's time.ParseDuration: these keys are Go durations, not Prometheus ones ---- */

static const struct {
    const char *name;
    uint64_t ns;
} po_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 */
    {"\xce\xbcs", 1000}, /* U+03BC */
    {"ms", 1000000},
    {"s", UINT64_C(1000000000)},
    {"m", UINT64_C(60000000000)},
    {"h", UINT64_C(3600000000000)},
};

#define PO_LIMIT (UINT64_C(1) << 63)

static bool po_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int po_duration(const char *orig, int64_t *out, char *err, size_t errlen)
{
    const char *s = orig;
    uint64_t d = 0;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return TN_OK;
    }
    if (!*s)
        goto invalid;
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        bool pre = false, post = false, overflow = false;
        if (!(*s == '.' || po_digit(*s)))
            goto invalid;
        for (; po_digit(*s); s++, pre = true) {
            if (v > PO_LIMIT / 10)
                goto invalid;
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > PO_LIMIT)
                goto invalid;
        }
        if (*s == '.') {
            /* Digits past what fits are dropped, as Go does. */
            for (s++; po_digit(*s); s++, post = true) {
                if (overflow)
                    continue;
                if (f > (PO_LIMIT - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*s - '0');
                if (y > PO_LIMIT) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
        }
        if (!pre && !post)
            goto invalid;
        const char *u = s;
        while (*s && *s != '.' && !po_digit(*s))
            s++;
        size_t ulen = (size_t)(s - u);
        if (ulen == 0) {
            snprintf(err, errlen, "time: missing unit in duration \"%s\"", orig);
            return TN_ERR_INVAL;
        }
        size_t i = 0;
        while (i < TN_ARRAY_LEN(po_units) &&
               !(strlen(po_units[i].name) == ulen && memcmp(po_units[i].name, u, ulen) == 0))
            i++;
        if (i == TN_ARRAY_LEN(po_units)) {
            snprintf(err, errlen, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ulen, u,
                     orig);
            return TN_ERR_INVAL;
        }
        uint64_t unit = po_units[i].ns;
        if (v > PO_LIMIT / unit)
            goto invalid;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > PO_LIMIT)
                goto invalid;
        }
        d += v;
        if (d > PO_LIMIT)
            goto invalid;
    }
    if (neg) {
        *out = d == PO_LIMIT ? INT64_MIN : -(int64_t)d;
        return TN_OK;
    }
    if (d > PO_LIMIT - 1)
        goto invalid;
    *out = (int64_t)d;
    return TN_OK;
invalid:
    snprintf(err, errlen, "time: invalid duration \"%s\"", orig);
    return TN_ERR_INVAL;
}

static int po_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g);
    po_conf_t *c = conf;
    const struct {
        const char *key, *text;
        int64_t *out;
    } durs[] = {{"retry", c->retry, &c->retry_ns},
                {"expire", c->expire, &c->expire_ns},
                {"ttl", c->ttl, &c->ttl_ns}};
    for (size_t i = 0; i < TN_ARRAY_LEN(durs); i++) {
        char e[TN_ERRBUF_SIZE];
        *durs[i].out = 0;
        if (durs[i].text && po_duration(durs[i].text, durs[i].out, e, sizeof(e)) != TN_OK) {
            snprintf(err, errlen, "%s: %s", durs[i].key, e);
            return TN_ERR_INVAL;
        }
    }
    /* Both a key and its file at once is refused where the keys are read. */
    if (!tn_receiver_set(c->user_key) && !tn_receiver_set(c->user_key_file)) {
        snprintf(err, errlen, "one of user_key or user_key_file must be configured");
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->token) && !tn_receiver_set(c->token_file)) {
        snprintf(err, errlen, "one of token or token_file must be configured");
        return TN_ERR_INVAL;
    }
    if (c->html && c->monospace) {
        snprintf(err, errlen, "at most one of monospace & html must be configured");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- the request ---- */

/* Go's strings.TrimSpace: Unicode white space at both ends. */
static bool po_space(uint32_t r)
{
    return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0 || r == 0x1680 ||
           (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
           r == 0x205F || r == 0x3000;
}

static void po_trim(char **sp)
{
    char *s = *sp;
    size_t len = strlen(s), a = 0, end = 0, w;
    while (a < len && po_space(tn_utf8_rune(s + a, len - a, &w)))
        a += w;
    /* The end of the last rune that is not a space. */
    for (size_t i = a; i < len; i += w)
        if (!po_space(tn_utf8_rune(s + i, len - i, &w)))
            end = i + w;
    if (end < a)
        end = a;
    char *out = tn_xstrndup(s + a, end - a);
    free(s);
    *sp = out;
}

/* Appends &key=value, both escaped as Go's url.QueryEscape escapes them. */
static void po_param(tn_buf_t *q, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (q->len)
        tn_buf_putc(q, '&');
    tn_buf_puts(q, key);
    tn_buf_putc(q, '=');
    for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || po_digit((char)c) || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            tn_buf_putc(q, (char)c);
        } else if (c == ' ') {
            tn_buf_putc(q, '+');
        } else {
            tn_buf_putc(q, '%');
            tn_buf_putc(q, hex[c >> 4]);
            tn_buf_putc(q, hex[c & 15]);
        }
    }
}

static char *po_cut(tn_rcv_tmpl_t *t, char *s, size_t max, const char *what)
{
    if (tn_rcv_truncate_runes(&s, max)) {
        char m[16];
        snprintf(m, sizeof(m), "%zu", max);
        tn_log(TN_LOG_WARN, what, "integration", "pushover", "aggrGroup", t->n->group_key,
               "max_runes", m, NULL);
    }
    return s;
}

static int po_secret(const char *value, const char *file, const char *key, char **out, char *err,
                     size_t errlen)
{
    if (!tn_receiver_set(file)) {
        *out = tn_xstrdup(value ? value : "");
        return TN_OK;
    }
    char e[TN_ERRBUF_SIZE];
    if (tn_rcv_read_file(file, out, e, sizeof(e)) != TN_OK) {
        snprintf(err, errlen, "read %s: %s", key, e);
        return TN_ERR_IO;
    }
    return TN_OK;
}

static void po_wipe(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* The query string: url.Values.Encode writes the keys sorted. */
static void po_query(tn_buf_t *q, const po_conf_t *c, const tn_notification_t *n, const char *token,
                     const char *user)
{
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "pushover");
    /* Keys and the user may be templates too, as Alertmanager renders them. */
    char *rtoken = tn_rcv_render(&t, token, 0);
    char *ruser = tn_rcv_render(&t, user, 0);
    char *title = po_cut(&t, tn_rcv_render_main(&t, c->title, 0), PO_MAX_TITLE, "Truncated title");
    char *msg = po_cut(&t, tn_rcv_render(&t, c->message, c->html ? TN_TMPL_HTML : 0),
                       PO_MAX_MESSAGE, "Truncated message");
    po_trim(&msg); /* after the cut, as Alertmanager does */
    if (!msg[0]) {
        /* Pushover refuses an empty message. */
        free(msg);
        msg = tn_xstrdup("(no details)");
    }
    char *url = po_cut(&t, tn_rcv_render(&t, c->url, 0), PO_MAX_URL, "Truncated URL");
    char *url_title = tn_rcv_render(&t, c->url_title, 0);
    char *priority = tn_rcv_render(&t, c->priority, 0);
    char *device = tn_rcv_render(&t, c->device, 0);
    char *sound = tn_rcv_render(&t, c->sound, 0);
    char num[32];

    po_param(q, "device", device);
    snprintf(num, sizeof(num), "%lld", (long long)(c->expire_ns / 1000000000));
    po_param(q, "expire", num);
    if (c->html)
        po_param(q, "html", "1");
    po_param(q, "message", msg);
    if (c->monospace)
        po_param(q, "monospace", "1");
    po_param(q, "priority", priority);
    snprintf(num, sizeof(num), "%lld", (long long)(c->retry_ns / 1000000000));
    po_param(q, "retry", num);
    po_param(q, "sound", sound);
    po_param(q, "title", title);
    po_param(q, "token", rtoken);
    if (c->ttl_ns / 1000000000 > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)(c->ttl_ns / 1000000000));
        po_param(q, "ttl", num);
    }
    po_param(q, "url", url);
    po_param(q, "url_title", url_title);
    po_param(q, "user", ruser);

    po_wipe(rtoken);
    po_wipe(ruser);
    free(title);
    free(msg);
    free(url);
    free(url_title);
    free(priority);
    free(device);
    free(sound);
}

static int po_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const po_conf_t *c = s->ic->conf;
    char *token = NULL, *user = NULL;
    int rc = po_secret(c->token, c->token_file, "token_file", &token, err, errlen);
    if (rc == TN_OK)
        rc = po_secret(c->user_key, c->user_key_file, "user_key_file", &user, err, errlen);
    if (rc != TN_OK) {
        po_wipe(token);
        return rc;
    }
    tn_buf_t q;
    tn_buf_init(&q, 0);
    po_query(&q, c, s->n, token, user);
    po_wipe(token);
    po_wipe(user);
    /* The query carries the token and the user key: the URL is never logged. */
    char *url = tn_xasprintf(PO_API_URL "?%s", tn_buf_cstr(&q));
    memset(q.data, 0, q.len);
    tn_buf_free(&q);
    tn_out_request_set_url(req, url);
    memset(url, 0, strlen(url));
    free(url);
    tn_buf_reset(&req->body);
    tn_out_request_add_header(req, "Content-Type", "text/plain");
    tn_out_request_add_header(req, "User-Agent", "tocsin/" TN_VERSION);
    req->http = &c->http_config;
    return TN_OK;
}

static void po_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* Pushover's JSON reply ({"status":0,"errors":[...]}) goes into the error as it came. */
    o->result = tn_receiver_classify_http(resp, false, &o->reason, o->err, sizeof(o->err));
}

const tn_receiver_type_t tn_receiver_pushover = {
    .name = "pushover",
    .conf_size = sizeof(po_conf_t),
    .fields = po_fields,
    .send_resolved_default = true,
    .finalize = po_finalize, /* keys or their files, html or monospace, Go durations */
    .conf_free = NULL,       /* the field table frees everything */
    .build = po_build,       /* parameters in the query string; key files read per send */
    .classify = po_classify, /* retry 5xx only */
};
