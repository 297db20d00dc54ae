/* Email (email_configs): one MIME message per notification (text and HTML bodies as
 * multipart/alternative, quoted-printable, RFC 2047 headers) handed to the smarthost through
 * libcurl's SMTP: STARTTLS when required, implicit TLS on port 465, SASL PLAIN / LOGIN /
 * CRAM-MD5 among those the server offers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "rcv.h"
#include "tocsin/clock.h"
#include "tocsin/log.h"

#define EMAIL_QP_LINE 76 /* quoted-printable line length, soft break included */
#define EMAIL_Q_WORD  63 /* encoded text per RFC 2047 word: 75 - len("=?utf-8?q?" "?=") */

typedef struct email_threading {
    bool enabled;
    char *thread_by_date; /* "none" or "daily" */
} email_threading_t;

typedef struct email_conf {
    char *to, *from, *hello, *smarthost;
    char *auth_username, *auth_password, *auth_password_file;
    char *auth_secret, *auth_secret_file, *auth_identity;
    tn_strmap_t headers; /* canonical names; To, From and Subject added by finalize */
    char *html, *text;
    char *require_tls;        /* tri-state text: NULL = the global default */
    char *force_implicit_tls; /* tri-state text: NULL = the global default, else port 465 */
    tn_tls_config_t tls_config;
    email_threading_t threading;
    tn_duration_t timeout;
    /* Set by finalize, freed by email_conf_free. */
    tn_http_config_t smtp; /* TLS settings and SASL credentials for the outbound client */
    char *url;             /* smtp://host:port/hello or smtps:// */
    char *login_options;
    bool starttls;
} email_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(email_conf_t, m)                                   \
    }

static const tn_field_t email_threading_fields[] = {
    {.key = "enabled", .type = TN_F_BOOL, .offset = offsetof(email_threading_t, enabled)},
    {.key = "thread_by_date",
     .type = TN_F_STRING,
     .offset = offsetof(email_threading_t, thread_by_date)},
    {.key = NULL},
};

static const tn_field_t email_fields[] = {
    F("to", TN_F_STRING, to),
    F("from", TN_F_STRING, from),
    F("hello", TN_F_STRING, hello),
    F("smarthost", TN_F_STRING, smarthost),
    F("auth_username", TN_F_STRING, auth_username),
    F("auth_password", TN_F_SECRET, auth_password),
    {.key = "auth_password_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(email_conf_t, auth_password_file),
     .target = "auth_password"},
    F("auth_secret", TN_F_SECRET, auth_secret),
    {.key = "auth_secret_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(email_conf_t, auth_secret_file),
     .target = "auth_secret"},
    F("auth_identity", TN_F_STRING, auth_identity),
    F("headers", TN_F_STRING_MAP, headers),
    {.key = "html",
     .type = TN_F_STRING,
     .offset = offsetof(email_conf_t, html),
     .def = "{{ template \"email.default.html\" . }}"},
    F("text", TN_F_STRING, text),
    F("require_tls", TN_F_STRING, require_tls),
    F("force_implicit_tls", TN_F_STRING, force_implicit_tls),
    F("tls_config", TN_F_TLS_CONFIG, tls_config),
    {.key = "threading",
     .type = TN_F_STRUCT,
     .offset = offsetof(email_conf_t, threading),
     .sub = email_threading_fields},
    F("timeout", TN_F_DURATION, timeout),
    {.key = NULL},
};

/* Go's textproto.CanonicalMIMEHeaderKey: "x-my-header" -> "X-My-Header". Names with bytes
 * outside a token are left as written. */
static void email_canonical(char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == ':' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return;
    bool up = true;
    for (char *p = s; *p; p++) {
        if (up && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!up && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        up = *p == '-';
    }
}

static const char *email_header(const email_conf_t *c, const char *name)
{
    for (size_t i = 0; i < c->headers.n; i++)
        if (strcmp(c->headers.keys[i], name) == 0)
            return c->headers.values[i];
    return NULL;
}

static void email_header_add(email_conf_t *c, const char *name, const char *value)
{
    c->headers.keys = tn_xrealloc(c->headers.keys, (c->headers.n + 1) * sizeof(char *));
    c->headers.values = tn_xrealloc(c->headers.values, (c->headers.n + 1) * sizeof(char *));
    c->headers.keys[c->headers.n] = tn_xstrdup(name);
    c->headers.values[c->headers.n] = tn_xstrdup(value ? value : "");
    c->headers.n++;
}

static void email_take(char **dst, const char *global)
{
    if (!tn_receiver_set(*dst) && tn_receiver_set(global)) {
        free(*dst);
        *dst = tn_xstrdup(global);
    }
}

static bool email_tls_empty(const tn_tls_config_t *t)
{
    return !t->ca_file && !t->cert_file && !t->key_file && !t->ca && !t->cert && !t->key &&
           !t->server_name && !t->insecure_skip_verify && !t->min_version && !t->max_version;
}

static int email_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    email_conf_t *c = conf;
    bool b;

    if (!tn_receiver_set(c->to)) {
        snprintf(err, errlen, "missing to address in email config");
        return TN_ERR_INVAL;
    }
    for (size_t i = 0; i < c->headers.n; i++) {
        email_canonical(c->headers.keys[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->headers.keys[i], c->headers.keys[j]) == 0) {
                snprintf(err, errlen, "duplicate header \"%s\" in email config",
                         c->headers.keys[i]);
                return TN_ERR_INVAL;
            }
    }
    if (c->threading.enabled) {
        if (email_header(c, "References") || email_header(c, "In-Reply-To")) {
            snprintf(err, errlen,
                     "conflicting configuration: threading.enabled conflicts with custom %s "
                     "header",
                     email_header(c, "References") ? "References" : "In-Reply-To");
            return TN_ERR_INVAL;
        }
        const char *by = c->threading.thread_by_date ? c->threading.thread_by_date : "";
        if (strcmp(by, "none") != 0 && strcmp(by, "daily") != 0) {
            snprintf(err, errlen, "threading.thread_by_date must be either 'none' or 'daily'");
            return TN_ERR_INVAL;
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *v = i ? c->force_implicit_tls : c->require_tls;
        if (v && tn_receiver_parse_bool(v, &b) != TN_OK) {
            snprintf(err, errlen, "%s: cannot parse \"%s\" as a boolean",
                     i ? "force_implicit_tls" : "require_tls", v);
            return TN_ERR_INVAL;
        }
    }

    /* Globals fill what the integration leaves out. */
    email_take(&c->smarthost, g->smtp_smarthost);
    if (!tn_receiver_set(c->smarthost)) {
        snprintf(err, errlen, "no global SMTP smarthost set");
        return TN_ERR_INVAL;
    }
    const char *colon = strrchr(c->smarthost, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "smarthost: address %s: missing port in address", c->smarthost);
        return TN_ERR_INVAL;
    }
    email_take(&c->from, g->smtp_from);
    if (!tn_receiver_set(c->from)) {
        snprintf(err, errlen, "no global SMTP from set");
        return TN_ERR_INVAL;
    }
    email_take(&c->hello, g->smtp_hello);
    email_take(&c->auth_username, g->smtp_auth_username);
    if (!tn_receiver_set(c->auth_password) && !tn_receiver_set(c->auth_password_file)) {
        email_take(&c->auth_password, g->smtp_auth_password);
        email_take(&c->auth_password_file, g->smtp_auth_password_file);
    }
    if (!tn_receiver_set(c->auth_secret) && !tn_receiver_set(c->auth_secret_file)) {
        email_take(&c->auth_secret, g->smtp_auth_secret);
        email_take(&c->auth_secret_file, g->smtp_auth_secret_file);
    }
    email_take(&c->auth_identity, g->smtp_auth_identity);
    bool require_tls = g->smtp_require_tls;
    if (c->require_tls)
        tn_receiver_parse_bool(c->require_tls, &require_tls);
    bool implicit = strcmp(colon + 1, "465") == 0;
    if (c->force_implicit_tls)
        tn_receiver_parse_bool(c->force_implicit_tls, &implicit);
    else if (g->smtp_force_implicit_tls_set)
        implicit = g->smtp_force_implicit_tls;

    /* Headers every message has; templates like any other header. */
    if (!email_header(c, "Subject"))
        email_header_add(c, "Subject", "{{ template \"email.default.subject\" . }}");
    if (!email_header(c, "To"))
        email_header_add(c, "To", c->to);
    if (!email_header(c, "From"))
        email_header_add(c, "From", c->from);

    memset(&c->smtp, 0, sizeof(c->smtp));
    tn_tls_config_copy(&c->smtp.tls,
                       email_tls_empty(&c->tls_config) ? &g->smtp_tls_config : &c->tls_config);
    c->smtp.follow_redirects = false;
    c->smtp.enable_http2 = false;
    /* curl offers one password to the mechanisms it may pick: PLAIN and LOGIN use the
     * password, CRAM-MD5 the secret. With both configured, the password wins. */
    if (tn_receiver_set(c->auth_username)) {
        c->smtp.basic_auth_username = tn_xstrdup(c->auth_username);
        if (tn_receiver_set(c->auth_password) || !tn_receiver_set(c->auth_secret)) {
            c->smtp.basic_auth_password = tn_xstrdup(c->auth_password ? c->auth_password : "");
            c->login_options = tn_xstrdup("AUTH=PLAIN;AUTH=LOGIN");
        } else {
            c->smtp.basic_auth_password = tn_xstrdup(c->auth_secret);
            c->login_options = tn_xstrdup("AUTH=CRAM-MD5");
        }
    }
    c->starttls = require_tls && !implicit;
    c->url = tn_xasprintf("%s://%s/%s", implicit ? "smtps" : "smtp", c->smarthost,
                          tn_receiver_set(c->hello) ? c->hello : "localhost");
    return TN_OK;
}

static void email_conf_free(void *conf)
{
    email_conf_t *c = conf;
    tn_http_config_free(&c->smtp);
    free(c->url);
    free(c->login_options);
    c->url = c->login_options = NULL;
}

/* ---- encodings ---- */

static const char email_hex[] = "0123456789ABCDEF";

/* RFC 2047 Q-encoding of a header value, as Go's mime.QEncoding.Encode("utf-8", v): unchanged
 * when plain printable ASCII, else encoded words of at most 63 encoded bytes, never splitting
 * a UTF-8 sequence. */
static int email_qencode(tn_buf_t *b, const char *v)
{
    bool plain = true;
    for (const unsigned char *p = (const unsigned char *)v; *p && plain; p++)
        plain = (*p >= ' ' && *p <= '~') || *p == '\t';
    if (plain)
        return tn_buf_puts(b, v);
    int rc = tn_buf_puts(b, "=?utf-8?q?");
    size_t cur = 0;
    const unsigned char *p = (const unsigned char *)v;
    while (*p && rc == TN_OK) {
        size_t rl = 1, enc;
        bool lit = *p >= ' ' && *p <= '~' && *p != '=' && *p != '?' && *p != '_';
        if (lit) {
            enc = 1;
        } else {
            if (*p >= 0x80) {
                rl = (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 1;
                for (size_t i = 1; i < rl; i++)
                    if ((p[i] & 0xc0) != 0x80)
                        rl = 1;
            }
            enc = 3 * rl;
        }
        if (cur + enc > EMAIL_Q_WORD) {
            rc = tn_buf_puts(b, "?= =?utf-8?q?");
            cur = 0;
        }
        for (size_t i = 0; i < rl && rc == TN_OK; i++) {
            unsigned char c = p[i];
            if (c == ' ')
                rc = tn_buf_putc(b, '_');
            else if (c >= '!' && c <= '~' && c != '=' && c != '?' && c != '_')
                rc = tn_buf_putc(b, (char)c);
            else
                rc = tn_buf_printf(b, "=%c%c", email_hex[c >> 4], email_hex[c & 15]);
        }
        cur += enc;
        p += rl;
    }
    return rc ? rc : tn_buf_puts(b, "?=");
}

/* Quoted-printable as Go's mime/quotedprintable Writer: lines of at most 76 bytes with "="
 * soft breaks, line ends as CRLF, white space before a line end encoded. */
typedef struct email_qp {
    tn_buf_t *b;
    char line[EMAIL_QP_LINE + 4];
    size_t i;
    bool cr;
    int rc;
} email_qp_t;

static void qp_flush(email_qp_t *q)
{
    if (q->rc == TN_OK)
        q->rc = tn_buf_append(q->b, q->line, q->i);
    q->i = 0;
}

static void qp_crlf(email_qp_t *q)
{
    q->line[q->i++] = '\r';
    q->line[q->i++] = '\n';
    qp_flush(q);
}

static void qp_soft_break(email_qp_t *q)
{
    q->line[q->i++] = '=';
    qp_crlf(q);
}

static void qp_encode(email_qp_t *q, unsigned char c)
{
    if (EMAIL_QP_LINE - 1 - q->i < 3)
        qp_soft_break(q);
    q->line[q->i++] = '=';
    q->line[q->i++] = email_hex[c >> 4];
    q->line[q->i++] = email_hex[c & 15];
}

static void qp_check_last(email_qp_t *q)
{
    if (q->i == 0)
        return;
    unsigned char c = (unsigned char)q->line[q->i - 1];
    if (c == ' ' || c == '\t') {
        q->i--;
        qp_encode(q, c);
    }
}

static int email_qp(tn_buf_t *b, const char *s)
{
    email_qp_t q = {.b = b, .i = 0, .cr = false, .rc = TN_OK};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '\n' || c == '\r') {
            if (q.cr && c == '\n') {
                q.cr = false;
                continue;
            }
            if (c == '\r')
                q.cr = true;
            qp_check_last(&q);
            qp_crlf(&q);
            continue;
        }
        if ((c >= '!' && c <= '~' && c != '=') || c == ' ' || c == '\t') {
            if (q.i == EMAIL_QP_LINE - 1)
                qp_soft_break(&q);
            q.line[q.i++] = (char)c;
            q.cr = false;
        } else {
            qp_encode(&q, c);
        }
    }
    qp_check_last(&q);
    qp_flush(&q);
    return q.rc;
}

/* The addresses of an RFC 5322 list: the part in <> when there is one, else the text. Commas
 * inside quotes or <> do not split. Returns the count, or -1 when an entry is empty. */
static int email_addrs(const char *list, char ***out)
{
    int n = 0;
    *out = NULL;
    const char *p = list;
    while (1) {
        const char *start = p;
        bool quoted = false;
        int angle = 0;
        for (; *p; p++) {
            if (*p == '\\' && quoted && p[1]) {
                p++;
                continue;
            }
            if (*p == '"')
                quoted = !quoted;
            else if (!quoted && *p == '<')
                angle++;
            else if (!quoted && *p == '>' && angle)
                angle--;
            else if (!quoted && !angle && *p == ',')
                break;
        }
        const char *end = p;
        const char *lt = NULL, *gt = NULL;
        for (const char *s = start; s < end; s++) {
            if (*s == '<')
                lt = s;
            else if (*s == '>' && lt)
                gt = s;
        }
        if (lt && gt) {
            start = lt + 1;
            end = gt;
        }
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (start == end) {
            for (int i = 0; i < n; i++)
                free((*out)[i]);
            free(*out);
            *out = NULL;
            return -1;
        }
        *out = tn_xrealloc(*out, (size_t)(n + 1) * sizeof(char *));
        (*out)[n++] = tn_xstrndup(start, (size_t)(end - start));
        if (!*p)
            break;
        p++;
    }
    return n;
}

/* Go's time.RFC1123Z in local time: "Mon, 02 Jan 2006 15:04:05 -0700". */
static void email_date(tn_time_t now, char out[96])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now / TN_NS_PER_SEC);
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(out, 96, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec, sign, off / 60, off % 60);
}

static uint64_t email_random64(void)
{
    uint64_t v = 0;
    if (uv_random(NULL, NULL, &v, sizeof(v), 0, NULL) != 0)
        v = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
    return v;
}

/* ---- the message ---- */

static int email_part(tn_buf_t *b, const char *boundary, bool first, const char *type,
                      const char *body)
{
    int rc = tn_buf_printf(b,
                           "%s--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                           "Content-Type: %s; charset=UTF-8\r\n\r\n",
                           first ? "" : "\r\n", boundary, type);
    return rc ? rc : email_qp(b, body);
}

/* Writes the whole message (headers and body) into b. */
static int email_message(tn_buf_t *b, const email_conf_t *c, const tn_notification_t *n,
                         tn_rcv_tmpl_t *t)
{
    int rc = TN_OK;
    for (size_t i = 0; i < c->headers.n && rc == TN_OK; i++) {
        bool subject = strcmp(c->headers.keys[i], "Subject") == 0;
        char *v = subject ? tn_rcv_render_main(t, c->headers.values[i], 0)
                          : tn_rcv_render(t, c->headers.values[i], 0);
        rc = tn_buf_printf(b, "%s: ", c->headers.keys[i]);
        if (rc == TN_OK)
            rc = email_qencode(b, v);
        if (rc == TN_OK)
            rc = tn_buf_puts(b, "\r\n");
        free(v);
    }
    tn_time_t now = tn_clock_now();
    if (rc == TN_OK && !email_header(c, "Message-Id")) {
        char host[256] = "localhost.localdomain";
        if (gethostname(host, sizeof(host) - 1) != 0)
            snprintf(host, sizeof(host), "localhost.localdomain");
        host[sizeof(host) - 1] = 0;
        rc = tn_buf_printf(b, "Message-Id: <%lld.%llu@%s>\r\n", (long long)now,
                           (unsigned long long)email_random64(), host);
    }
    if (rc == TN_OK && c->threading.enabled) {
        char hash[65], day[48] = "";
        tn_rcv_sha256_hex(n->group_key ? n->group_key : "", hash);
        hash[16] = 0;
        if (strcmp(c->threading.thread_by_date, "none") != 0) {
            time_t tt = (time_t)(now / TN_NS_PER_SEC);
            struct tm tm;
            localtime_r(&tt, &tm);
            snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday);
        }
        rc = tn_buf_printf(b, "References: <alert-%s-%s@alertmanager>\r\n", hash, day);
        if (rc == TN_OK)
            rc = tn_buf_printf(b, "In-Reply-To: <alert-%s-%s@alertmanager>\r\n", hash, day);
    }
    char date[96], boundary[61];
    email_date(now, date);
    for (int i = 0; i < 30; i += 8) {
        uint64_t r = email_random64();
        for (int k = 0; k < 8 && i + k < 30; k++)
            snprintf(boundary + 2 * (i + k), 3, "%02x", (unsigned)((r >> (8 * k)) & 0xff));
    }
    boundary[60] = 0;
    if (rc == TN_OK)
        rc = tn_buf_printf(b,
                           "Date: %s\r\nContent-Type: multipart/alternative;  boundary=%s\r\n"
                           "MIME-Version: 1.0\r\n\r\n",
                           date, boundary);
    bool first = true;
    if (rc == TN_OK && tn_receiver_set(c->text)) {
        char *body = tn_rcv_render_main(t, c->text, 0);
        rc = email_part(b, boundary, first, "text/plain", body);
        free(body);
        first = false;
    }
    if (rc == TN_OK && tn_receiver_set(c->html)) {
        unsigned before = t->failures;
        char *body = tn_rcv_render(t, c->html, TN_TMPL_HTML);
        if (t->failures != before) {
            char *fb = tn_rcv_fallback_text(n);
            free(body);
            body = tn_rcv_html_escape(fb);
            free(fb);
        }
        rc = email_part(b, boundary, first, "text/html", body);
        free(body);
        first = false;
    }
    if (rc == TN_OK)
        rc = tn_buf_printf(b, "\r\n--%s--\r\n", boundary);
    return rc;
}

static int email_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s->ic;
    const tn_notification_t *n = s->n;
    const email_conf_t *c = ic->conf;
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "email");
    char *from = tn_rcv_render(&t, c->from, 0);
    char *to = tn_rcv_render(&t, c->to, 0);
    char **froms = NULL, **tos = NULL;
    int nfrom = email_addrs(from, &froms);
    int nto = email_addrs(to, &tos);
    int rc = TN_ERR_INVAL;

    if (nfrom < 0) {
        snprintf(err, errlen, "parse 'from' addresses: no address");
        goto out;
    }
    if (nfrom != 1) {
        snprintf(err, errlen, "must be exactly one 'from' address (got: %d)", nfrom);
        goto out;
    }
    if (nto <= 0) {
        snprintf(err, errlen, "parse 'to' addresses: no address");
        goto out;
    }
    tn_buf_reset(&req->body);
    rc = email_message(&req->body, c, n, &t);
    if (rc != TN_OK) {
        snprintf(err, errlen, "email message too large");
        goto out;
    }
    tn_out_request_set_url(req, c->url);
    req->mail_from = froms[0];
    froms[0] = NULL;
    req->mail_rcpt = tos;
    req->nmail_rcpt = (size_t)nto;
    tos = NULL;
    nto = 0;
    if (c->login_options)
        req->mail_login_options = tn_xstrdup(c->login_options);
    if (tn_receiver_set(c->auth_identity))
        req->mail_authzid = tn_xstrdup(c->auth_identity);
    req->mail_require_tls = c->starttls;
    req->http = &c->smtp;
    tn_rcv_set_timeout(req, c->timeout);
out:
    for (int i = 0; i < nfrom; i++)
        free(froms[i]);
    free(froms);
    for (int i = 0; i < nto; i++)
        free(tos[i]);
    free(tos);
    free(from);
    free(to);
    return rc;
}

static enum tn_send_result email_verdict(const tn_integration_cfg_t *ic,
                                         const tn_out_response_t *resp, const char **reason,
                                         char *err, size_t errlen)
{
    TN_UNUSED(ic);
    /* As Alertmanager, every failure on the way (connect, TLS, auth, a refused recipient or
     * message) is worth another try. */
    if (resp->curl_code == 0 && (resp->status == 0 || resp->status / 100 == 2)) {
        *reason = NULL;
        if (errlen)
            err[0] = 0;
        return TN_SEND_DONE;
    }
    *reason = "other";
    if (resp->curl_code)
        snprintf(err, errlen, "%s", resp->error ? resp->error : "SMTP exchange failed");
    else
        snprintf(err, errlen, "unexpected SMTP reply %ld", resp->status);
    return TN_SEND_RETRY;
}

static void email_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    o->result = email_verdict(s->ic, resp, &o->reason, o->err, sizeof(o->err));
}

static const tn_field_t email_global_fields[] = {
    TN_GLOBAL_FIELD("smtp_from", TN_F_STRING, smtp_from, NULL),
    TN_GLOBAL_FIELD("smtp_hello", TN_F_STRING, smtp_hello, "localhost"),
    TN_GLOBAL_FIELD("smtp_smarthost", TN_F_STRING, smtp_smarthost, NULL),
    TN_GLOBAL_FIELD("smtp_auth_username", TN_F_STRING, smtp_auth_username, NULL),
    TN_GLOBAL_FIELD("smtp_auth_password", TN_F_SECRET, smtp_auth_password, NULL),
    TN_GLOBAL_FILE("smtp_auth_password_file", smtp_auth_password_file, "smtp_auth_password"),
    TN_GLOBAL_FIELD("smtp_auth_secret", TN_F_SECRET, smtp_auth_secret, NULL),
    TN_GLOBAL_FILE("smtp_auth_secret_file", smtp_auth_secret_file, "smtp_auth_secret"),
    TN_GLOBAL_FIELD("smtp_auth_identity", TN_F_STRING, smtp_auth_identity, NULL),
    TN_GLOBAL_FIELD("smtp_require_tls", TN_F_BOOL, smtp_require_tls, "true"),
    TN_GLOBAL_FIELD("smtp_tls_config", TN_F_TLS_CONFIG, smtp_tls_config, NULL),
    TN_GLOBAL_FIELD("smtp_force_implicit_tls", TN_F_BOOL, smtp_force_implicit_tls, NULL),
    {.key = NULL},
};

/* Alertmanager checks the global smarthost when it reads the section. */
static int email_global_check(const tn_global_config_t *g, const char **key, char *err,
                              size_t errlen)
{
    if (!g->smtp_smarthost || !g->smtp_smarthost[0])
        return TN_OK;
    const char *colon = strrchr(g->smtp_smarthost, ':');
    *key = "smtp_smarthost";
    if (!colon) {
        snprintf(err, errlen, "smtp_smarthost: address %s: missing port in address",
                 g->smtp_smarthost);
        return TN_ERR_INVAL;
    }
    if (colon[1] == 0) {
        snprintf(err, errlen, "smtp_smarthost: address \"%s\": port cannot be empty",
                 g->smtp_smarthost);
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

const tn_receiver_type_t tn_receiver_email = {
    .name = "email",
    .conf_size = sizeof(email_conf_t),
    .fields = email_fields,
    .send_resolved_default = false,
    .global_fields = email_global_fields,
    .global_check = email_global_check,
    .finalize = email_finalize,   /* globals, header names, TLS mode, SASL choice, URL */
    .conf_free = email_conf_free, /* what finalize built */
    .build = email_build,         /* the MIME message and the SMTP envelope */
    .classify = email_classify,   /* retry any failure */
};
