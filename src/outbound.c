/* Outbound HTTP(S) and SMTP: libcurl's multi interface driven by the libuv loop.
 *
 * The glue follows curl's multi-uv example: curl tells us which sockets to watch through the
 * socket callback (one uv_poll_t per socket, its context handed back to curl with
 * curl_multi_assign) and when to wake it through the timer callback (one uv_timer_t). Every
 * wake-up ends by draining curl_multi_info_read, which is where done callbacks run.
 *
 * All transfers share one multi handle, hence one connection cache: a finished transfer leaves
 * its keep-alive connection there for the next request to the same host. Easy handles are reset
 * and pooled so a busy receiver does not re-create them.
 *
 * SMTP is the exception: curl waits for the reply to the end of DATA with a blocking poll, which
 * would stall the loop, so an SMTP exchange runs curl_easy_perform() on libuv's thread pool
 * and reports back on the loop. See docs/internals/OUTBOUND.md. */
#include "tocsin/outbound.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/clock.h"
#include "tocsin/config.h"
#include "tocsin/log.h"
#include "tocsin/version.h"

#define OB_DEFAULT_TIMEOUT_MS 30000
#define OB_BODY_CAP           4096          /* response bytes kept for error messages, by default */
#define OB_BODY_CAP_MAX       (1024 * 1024) /* most a request may ask to keep */
#define OB_POOL_MAX           16            /* idle easy handles kept for reuse */
#define OB_MAX_REDIRS         10L           /* as Go's http.Client */

typedef struct ob_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    tn_outbound_t *ob;
    struct ob_sock *prev, *next;
} ob_sock_t;

struct tn_out_xfer {
    tn_outbound_t *ob;
    CURL *easy;
    struct tn_out_xfer *prev, *next;
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    struct curl_slist *connect_to;
    char *body; /* request body; curl reads it in place (POSTFIELDS / read callback) */
    size_t body_len;
    size_t upload_off;
    tn_buf_t resp; /* first resp_cap bytes of the response body */
    size_t resp_cap;
    char *retry_after; /* of the last response */
    uint64_t start_ms;
    tn_out_done_fn done;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
    /* SMTP on the thread pool: the worker owns everything above until ob_smtp_after. */
    bool smtp;
    bool work_done; /* the worker has returned */
    bool detached;  /* cancelled or aborted while running: ob_smtp_after only frees it */
    atomic_bool abort;
    CURLcode smtp_result;
    long smtp_status;
    uv_work_t work;
};

struct tn_outbound {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    tn_out_xfer_t *xfers; /* live transfers */
    size_t nactive;
    ob_sock_t *socks; /* watched sockets, closing ones excluded */
    CURL *pool[OB_POOL_MAX];
    size_t npool;
    unsigned open_handles; /* uv handles and work requests whose callback has not run yet */
    unsigned dispatching;  /* inside ob_drain: done callbacks may call back into us */
    bool closing;
    bool free_requested;
};

static bool ob_global_done;

static void ob_global_init(void)
{
    /* One loop, no threads: a plain flag is enough. Never cleaned up; the process owns it. */
    if (ob_global_done)
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tn_log(TN_LOG_ERROR, "curl_global_init failed", NULL);
        abort();
    }
    ob_global_done = true;
}

/* ---- request helpers ---- */

void tn_out_request_init(tn_out_request_t *r)
{
    memset(r, 0, sizeof(*r));
    tn_buf_init(&r->body, 0);
}

void tn_out_request_free(tn_out_request_t *r)
{
    if (!r)
        return;
    free(r->method);
    free(r->url);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    tn_buf_free(&r->body);
    free(r->mail_from);
    for (size_t i = 0; i < r->nmail_rcpt; i++)
        free(r->mail_rcpt[i]);
    free(r->mail_rcpt);
    free(r->mail_login_options);
    free(r->mail_authzid);
    tn_out_request_init(r);
}

void tn_out_request_set_url(tn_out_request_t *r, const char *url)
{
    char *copy = tn_xstrdup(url);
    free(r->url);
    r->url = copy;
}

void tn_out_request_add_header(tn_out_request_t *r, const char *name, const char *value)
{
    r->headers = tn_xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
    r->headers[r->nheaders].name = tn_xstrdup(name);
    r->headers[r->nheaders].value = tn_xstrdup(value);
    r->nheaders++;
}

/* ---- sockets and the timer (the multi-uv glue) ---- */

static void ob_maybe_release(tn_outbound_t *ob)
{
    if (ob->closing && ob->open_handles == 0)
        free(ob);
}

static void ob_sock_closed(uv_handle_t *h)
{
    ob_sock_t *sk = h->data;
    tn_outbound_t *ob = sk->ob;
    free(sk);
    ob->open_handles--;
    ob_maybe_release(ob);
}

/* Stops watching a socket; the context goes in the close callback, never before, because a
 * poll callback for it may be on the stack. */
static void ob_sock_close(ob_sock_t *sk)
{
    tn_outbound_t *ob = sk->ob;
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        ob->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    sk->prev = sk->next = NULL;
    uv_close((uv_handle_t *)&sk->poll, ob_sock_closed);
}

static void ob_drain(tn_outbound_t *ob);

static void ob_poll_cb(uv_poll_t *h, int status, int events)
{
    ob_sock_t *sk = h->data;
    tn_outbound_t *ob = sk->ob;
    int flags = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running;
    /* May close this very socket through ob_socket_cb; sk is not touched afterwards. */
    curl_multi_socket_action(ob->multi, sk->fd, flags, &running);
    ob_drain(ob);
}

static int ob_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    TN_UNUSED(easy);
    tn_outbound_t *ob = userp;
    ob_sock_t *sk = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            curl_multi_assign(ob->multi, s, NULL);
            ob_sock_close(sk);
        }
        return 0;
    }
    if (ob->closing)
        return 0; /* tearing down: nothing new gets watched */
    if (!sk) {
        sk = tn_xcalloc(1, sizeof(*sk));
        if (uv_poll_init_socket(ob->loop, &sk->poll, s) != 0) {
            free(sk);
            return -1;
        }
        sk->fd = s;
        sk->ob = ob;
        sk->poll.data = sk;
        sk->next = ob->socks;
        if (ob->socks)
            ob->socks->prev = sk;
        ob->socks = sk;
        ob->open_handles++;
        curl_multi_assign(ob->multi, s, sk);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (uv_poll_start(&sk->poll, events, ob_poll_cb) != 0)
        return -1;
    return 0;
}

static void ob_on_timeout(uv_timer_t *t)
{
    tn_outbound_t *ob = t->data;
    int running;
    curl_multi_socket_action(ob->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    ob_drain(ob);
}

static int ob_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    TN_UNUSED(multi);
    tn_outbound_t *ob = userp;
    if (ob->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&ob->timer);
    else
        uv_timer_start(&ob->timer, ob_on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- transfers ---- */

static void ob_release(tn_outbound_t *ob);

static void ob_xfer_unlink(tn_out_xfer_t *x)
{
    tn_outbound_t *ob = x->ob;
    if (x->prev)
        x->prev->next = x->next;
    else
        ob->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    ob->nactive--;
}

/* Detaches the easy handle (back to the pool) and frees the transfer. */
static void ob_xfer_free(tn_out_xfer_t *x)
{
    tn_outbound_t *ob = x->ob;
    if (x->easy) {
        if (!x->smtp)
            curl_multi_remove_handle(ob->multi, x->easy);
        if (!x->smtp && !ob->closing && ob->npool < OB_POOL_MAX) {
            curl_easy_reset(x->easy);
            ob->pool[ob->npool++] = x->easy;
        } else {
            curl_easy_cleanup(x->easy);
        }
    }
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->rcpt);
    curl_slist_free_all(x->connect_to);
    free(x->body);
    tn_buf_free(&x->resp);
    free(x->retry_after);
    free(x);
}

static bool ob_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

/* curl's error text may quote a URL whole ("Unsupported proxy syntax in
 * 'http://user:password@proxy:99999'"), and error texts end up in logs: every URL in it is cut
 * down to scheme://host/<redacted>, the form the logs use. Rewrites text in place. */
static void ob_redact_urls(char *text, size_t size)
{
    const char *p = text, *sep;
    tn_buf_t out;

    if (!strstr(text, "://"))
        return;
    tn_buf_init(&out, 0);
    while ((sep = strstr(p, "://"))) {
        const char *start = sep, *end = sep + 3;
        while (start > p && ob_scheme_char(start[-1]))
            start--;
        if (start > text && (start[-1] == '\'' || start[-1] == '"')) {
            /* quoted: the URL runs to the closing quote, spaces and all */
            while (*end && *end != start[-1])
                end++;
        } else {
            while (*end && *end != ' ' && *end != '\t' && *end != '\'' && *end != '"')
                end++;
        }
        char *url = tn_xstrndup(start, (size_t)(end - start));
        char safe[256];
        tn_log_redact_url(url, safe, sizeof(safe));
        free(url);
        tn_buf_append(&out, p, (size_t)(start - p));
        tn_buf_puts(&out, safe);
        p = end;
    }
    tn_buf_puts(&out, p);
    snprintf(text, size, "%s", tn_buf_cstr(&out));
    tn_buf_free(&out);
}

/* Runs the done callback once and frees the transfer. */
static void ob_xfer_finish(tn_out_xfer_t *x, CURLcode code, const char *errtext)
{
    /* An SMTP worker still running owns the easy handle and the buffers: report without
     * reading them, and let ob_smtp_after free the transfer. */
    bool busy = x->smtp && !x->work_done;
    ob_xfer_unlink(x);
    /* Out of the multi before the callback, so the callback may cancel or free anything. */
    if (!x->smtp)
        curl_multi_remove_handle(x->ob->multi, x->easy);

    tn_out_response_t resp = {0};
    resp.curl_code = (int)code;
    resp.body = "";
    if (!busy) {
        long status = x->smtp_status;
        if (x->easy && curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            status = 0;
        resp.status = status;
        resp.body = tn_buf_cstr(&x->resp);
        resp.body_len = x->resp.len;
        resp.retry_after = x->retry_after;
        char *ct = NULL;
        if (x->easy && curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK)
            resp.content_type = ct;
    }
    if (code != CURLE_OK) {
        if (errtext) {
            resp.error = errtext;
        } else if (!busy && x->errbuf[0]) {
            ob_redact_urls(x->errbuf, sizeof(x->errbuf));
            resp.error = x->errbuf;
        } else {
            resp.error = curl_easy_strerror(code);
        }
    }
    resp.elapsed_ms = tn_clock_mono_ms() - x->start_ms;

    if (busy) {
        x->detached = true;
        atomic_store(&x->abort, true);
    }
    x->done(x->ud, &resp);
    if (!busy)
        ob_xfer_free(x);
}

static void ob_drain(tn_outbound_t *ob)
{
    CURLMsg *msg;
    int left;
    ob->dispatching++;
    while (!ob->free_requested && (msg = curl_multi_info_read(ob->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode code = msg->data.result;
        tn_out_xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            ob_xfer_finish(x, code, NULL);
    }
    ob->dispatching--;
    if (ob->free_requested && ob->dispatching == 0)
        ob_release(ob);
}

/* ---- SMTP on the thread pool ---- */

static int ob_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
    TN_UNUSED(dltotal);
    TN_UNUSED(dlnow);
    TN_UNUSED(ultotal);
    TN_UNUSED(ulnow);
    tn_out_xfer_t *x = ud;
    return atomic_load(&x->abort) ? 1 : 0; /* non-zero stops the transfer */
}

static void ob_smtp_work(uv_work_t *w)
{
    tn_out_xfer_t *x = tn_container_of(w, tn_out_xfer_t, work);
    x->smtp_result = curl_easy_perform(x->easy);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->smtp_status);
    /* Cleanup says QUIT and waits for the reply: here too, off the loop. */
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
}

static void ob_smtp_after(uv_work_t *w, int status)
{
    tn_out_xfer_t *x = tn_container_of(w, tn_out_xfer_t, work);
    tn_outbound_t *ob = x->ob;
    x->work_done = true;
    if (x->detached) {
        ob_xfer_free(x);
    } else {
        ob->dispatching++;
        ob_xfer_finish(x, status == UV_ECANCELED ? CURLE_ABORTED_BY_CALLBACK : x->smtp_result,
                       NULL);
        ob->dispatching--;
    }
    ob->open_handles--;
    if (ob->free_requested && !ob->closing && ob->dispatching == 0)
        ob_release(ob);
    ob_maybe_release(ob);
}

static size_t ob_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    tn_out_xfer_t *x = ud;
    size_t n = size * nmemb;
    size_t room = x->resp_cap - x->resp.len;
    /* The rest is read and dropped: the connection stays reusable. */
    tn_buf_append(&x->resp, ptr, TN_MIN(n, room));
    return n;
}

static size_t ob_header_cb(char *ptr, size_t size, size_t nitems, void *ud)
{
    tn_out_xfer_t *x = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or a 100): its headers replace the old ones. */
        free(x->retry_after);
        x->retry_after = NULL;
        tn_buf_reset(&x->resp);
    } else if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        const char *v = ptr + sizeof(name) - 1;
        const char *end = ptr + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        free(x->retry_after);
        x->retry_after = tn_xstrndup(v, (size_t)(end - v));
    }
    return n;
}

static size_t ob_read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    tn_out_xfer_t *x = ud;
    size_t n = TN_MIN(size * nitems, x->body_len - x->upload_off);
    if (n)
        memcpy(buf, x->body + x->upload_off, n);
    x->upload_off += n;
    return n;
}

/* ---- applying a request to an easy handle ---- */

#define OB_SET(opt, val)                                                                           \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt(easy, opt, val);                                            \
        if (c_ != CURLE_OK) {                                                                      \
            snprintf(err, errlen, "%s: %s", &#opt[8], curl_easy_strerror(c_));                     \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static bool ob_readable(const char *path, const char *what, char *err, size_t errlen)
{
    if (access(path, R_OK) == 0)
        return true;
    snprintf(err, errlen, "unable to read %s %s", what, path);
    return false;
}

static struct curl_slist *ob_slist_add(struct curl_slist *l, const char *s)
{
    struct curl_slist *n = curl_slist_append(l, s);
    if (!n) {
        tn_log(TN_LOG_ERROR, "out of memory in curl_slist_append", NULL);
        abort();
    }
    return n;
}

static bool ob_has_header(const tn_out_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Go's tls.Config.ServerName: present `sni` in the handshake and verify the certificate
 * against it while still connecting to the URL's host. With curl: put the name in the URL,
 * send the connection to the real host with CONNECT_TO, and keep the real Host header. */
static int ob_apply_server_name(tn_out_xfer_t *x, CURL *easy, const char *url, const char *sni,
                                char *err, size_t errlen)
{
    int rc = TN_ERR_INVAL;
    char *scheme = NULL, *host = NULL, *port = NULL, *given_port = NULL, *newurl = NULL;
    CURLU *u = curl_url();
    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "invalid URL");
        goto out;
    }
    if (strcasecmp(scheme, "https") != 0 || strcasecmp(host, sni) == 0) {
        /* No TLS, or nothing to change. */
        OB_SET(CURLOPT_URL, url);
        rc = TN_OK;
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &given_port, 0);
    if (curl_url_set(u, CURLUPART_HOST, sni, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &newurl, 0) != CURLUE_OK) {
        snprintf(err, errlen, "invalid tls_config.server_name");
        goto out;
    }
    char *ct = tn_xasprintf("%s:%s:%s:%s", sni, port, host, port);
    x->connect_to = ob_slist_add(x->connect_to, ct);
    free(ct);
    char *hosthdr =
        given_port ? tn_xasprintf("Host: %s:%s", host, given_port) : tn_xasprintf("Host: %s", host);
    x->headers = ob_slist_add(x->headers, hosthdr);
    free(hosthdr);
    OB_SET(CURLOPT_URL, newurl);
    OB_SET(CURLOPT_CONNECT_TO, x->connect_to);
    rc = TN_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(given_port);
    curl_free(newurl);
    curl_url_cleanup(u);
    return rc;
}

static int ob_apply_tls(CURL *easy, const tn_tls_config_t *t, char *err, size_t errlen)
{
    int rc = TN_ERR_INVAL;
    if (t->ca_file) {
        if (!ob_readable(t->ca_file, "CA file", err, errlen))
            goto out;
        OB_SET(CURLOPT_CAINFO, t->ca_file);
    }
    if (t->cert_file) {
        if (!ob_readable(t->cert_file, "client certificate file", err, errlen))
            goto out;
        OB_SET(CURLOPT_SSLCERT, t->cert_file);
    }
    if (t->key_file) {
        if (!ob_readable(t->key_file, "client key file", err, errlen))
            goto out;
        OB_SET(CURLOPT_SSLKEY, t->key_file);
    }
    if (t->ca) {
        struct curl_blob b = {(void *)t->ca, strlen(t->ca), CURL_BLOB_COPY};
        OB_SET(CURLOPT_CAINFO_BLOB, &b);
    }
    if (t->cert) {
        struct curl_blob b = {(void *)t->cert, strlen(t->cert), CURL_BLOB_COPY};
        OB_SET(CURLOPT_SSLCERT_BLOB, &b);
        OB_SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (t->key) {
        struct curl_blob b = {(void *)t->key, strlen(t->key), CURL_BLOB_COPY};
        OB_SET(CURLOPT_SSLKEY_BLOB, &b);
        OB_SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (t->insecure_skip_verify) {
        OB_SET(CURLOPT_SSL_VERIFYPEER, 0L);
        OB_SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    long ver = CURL_SSLVERSION_TLSv1_2; /* Go's client default minimum */
    if (t->min_version) {
        if (strcmp(t->min_version, "TLS10") == 0)
            ver = CURL_SSLVERSION_TLSv1_0;
        else if (strcmp(t->min_version, "TLS11") == 0)
            ver = CURL_SSLVERSION_TLSv1_1;
        else if (strcmp(t->min_version, "TLS12") == 0)
            ver = CURL_SSLVERSION_TLSv1_2;
        else if (strcmp(t->min_version, "TLS13") == 0)
            ver = CURL_SSLVERSION_TLSv1_3;
        else {
            snprintf(err, errlen, "unknown TLS version: %s", t->min_version);
            goto out;
        }
    }
    OB_SET(CURLOPT_SSLVERSION, ver);
    rc = TN_OK;
out:
    return rc;
}

static int ob_apply(tn_out_xfer_t *x, const tn_out_request_t *req, char *err, size_t errlen)
{
    int rc = TN_ERR_INVAL;
    CURL *easy = x->easy;
    const tn_http_config_t *http = req->http;
    const char *method = req->method ? req->method : "POST";
    bool smtp =
        strncasecmp(req->url, "smtp://", 7) == 0 || strncasecmp(req->url, "smtps://", 8) == 0;

    OB_SET(CURLOPT_PRIVATE, (char *)x);
    OB_SET(CURLOPT_ERRORBUFFER, x->errbuf);
    OB_SET(CURLOPT_NOSIGNAL, 1L);
    OB_SET(CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
    OB_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    OB_SET(CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : OB_DEFAULT_TIMEOUT_MS));
    OB_SET(CURLOPT_WRITEFUNCTION, ob_write_cb);
    OB_SET(CURLOPT_WRITEDATA, x);
    OB_SET(CURLOPT_HEADERFUNCTION, ob_header_cb);
    OB_SET(CURLOPT_HEADERDATA, x);
    OB_SET(CURLOPT_USERAGENT, "tocsin/" TN_VERSION);
    /* Like Go's client: http_proxy & co. count only with proxy_from_environment (curl reads
     * them itself when CURLOPT_PROXY is left unset); no_proxy goes with proxy_url. */
    if (http && http->proxy_url) {
        /* The config loads a proxy_url without a scheme, as Alertmanager's does; curl would
         * guess one, so the send fails instead, saying why. */
        if (!strstr(http->proxy_url, "://")) {
            snprintf(err, errlen, "proxy_url %s is not an absolute URL", http->proxy_url);
            return TN_ERR_INVAL;
        }
        OB_SET(CURLOPT_PROXY, http->proxy_url);
        OB_SET(CURLOPT_NOPROXY, http->no_proxy ? http->no_proxy : "");
    } else if (!(http && http->proxy_from_environment)) {
        OB_SET(CURLOPT_PROXY, "");
    }

    if (http && http->tls.server_name) {
        if (ob_apply_server_name(x, easy, req->url, http->tls.server_name, err, errlen) != TN_OK)
            goto out;
    } else {
        OB_SET(CURLOPT_URL, req->url);
    }

    bool follow = http ? http->follow_redirects : true;
    OB_SET(CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    OB_SET(CURLOPT_MAXREDIRS, OB_MAX_REDIRS);
    if (http && !http->enable_http2)
        OB_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);

    if (http && (http->basic_auth_username || http->basic_auth_password)) {
        OB_SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        OB_SET(CURLOPT_USERNAME, http->basic_auth_username ? http->basic_auth_username : "");
        OB_SET(CURLOPT_PASSWORD, http->basic_auth_password ? http->basic_auth_password : "");
    }
    if (http && http->authorization_credentials && !smtp) {
        const char *type = http->authorization_type ? http->authorization_type : "Bearer";
        char *h = tn_xasprintf("Authorization: %s %s", type, http->authorization_credentials);
        x->headers = ob_slist_add(x->headers, h);
        /* The header holds a secret: wipe our copy before it goes. */
        memset(h, 0, strlen(h));
        free(h);
    }
    if (http && ob_apply_tls(easy, &http->tls, err, errlen) != TN_OK)
        goto out;

    for (size_t i = 0; i < req->nheaders; i++) {
        const tn_out_header_t *h = &req->headers[i];
        /* "Name;" is curl's way to send a header with an empty value. */
        char *line =
            h->value[0] ? tn_xasprintf("%s: %s", h->name, h->value) : tn_xasprintf("%s;", h->name);
        x->headers = ob_slist_add(x->headers, line);
        free(line);
    }

    x->body_len = req->body.len;
    x->body = tn_xmalloc(x->body_len + 1);
    if (x->body_len)
        memcpy(x->body, req->body.data, x->body_len);
    x->body[x->body_len] = 0;

    if (smtp) {
        if (!req->mail_from || req->nmail_rcpt == 0) {
            snprintf(err, errlen, "SMTP needs a sender and at least one recipient");
            goto out;
        }
        OB_SET(CURLOPT_MAIL_FROM, req->mail_from);
        for (size_t i = 0; i < req->nmail_rcpt; i++)
            x->rcpt = ob_slist_add(x->rcpt, req->mail_rcpt[i]);
        OB_SET(CURLOPT_MAIL_RCPT, x->rcpt);
        if (req->mail_login_options)
            OB_SET(CURLOPT_LOGIN_OPTIONS, req->mail_login_options);
        if (req->mail_authzid)
            OB_SET(CURLOPT_SASL_AUTHZID, req->mail_authzid);
        OB_SET(CURLOPT_USE_SSL,
               req->mail_require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
        OB_SET(CURLOPT_UPLOAD, 1L);
        OB_SET(CURLOPT_READFUNCTION, ob_read_cb);
        OB_SET(CURLOPT_READDATA, x);
        OB_SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
        OB_SET(CURLOPT_XFERINFOFUNCTION, ob_xferinfo_cb);
        OB_SET(CURLOPT_XFERINFODATA, x);
        OB_SET(CURLOPT_NOPROGRESS, 0L);
        x->smtp = true;
    } else {
        /* Go sends no Expect: 100-continue; waiting for a 100 only adds latency. */
        if (!ob_has_header(req, "Expect"))
            x->headers = ob_slist_add(x->headers, "Expect:");
        if (strcasecmp(method, "GET") == 0 && x->body_len == 0) {
            OB_SET(CURLOPT_HTTPGET, 1L);
        } else {
            OB_SET(CURLOPT_POSTFIELDS, x->body);
            OB_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
            if (strcasecmp(method, "POST") != 0)
                OB_SET(CURLOPT_CUSTOMREQUEST, method);
        }
        OB_SET(CURLOPT_HTTPHEADER, x->headers);
    }
    rc = TN_OK;
out:
    return rc;
}

/* ---- public ---- */

tn_outbound_t *tn_outbound_new(uv_loop_t *loop)
{
    ob_global_init();
    tn_outbound_t *ob = tn_xcalloc(1, sizeof(*ob));
    ob->loop = loop;
    ob->multi = curl_multi_init();
    if (!ob->multi) {
        free(ob);
        return NULL;
    }
    uv_timer_init(loop, &ob->timer);
    ob->timer.data = ob;
    ob->open_handles = 1;
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETFUNCTION, ob_socket_cb);
    curl_multi_setopt(ob->multi, CURLMOPT_SOCKETDATA, ob);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERFUNCTION, ob_timer_cb);
    curl_multi_setopt(ob->multi, CURLMOPT_TIMERDATA, ob);
    return ob;
}

size_t tn_outbound_active(tn_outbound_t *ob)
{
    return ob->nactive;
}

static void ob_timer_closed(uv_handle_t *h)
{
    tn_outbound_t *ob = h->data;
    ob->open_handles--;
    ob_maybe_release(ob);
}

/* The real teardown, never run from inside ob_drain. */
static void ob_release(tn_outbound_t *ob)
{
    ob->closing = true;
    /* Callbacks may cancel other transfers, so take the head each time. */
    while (ob->xfers)
        ob_xfer_finish(ob->xfers, CURLE_ABORTED_BY_CALLBACK, "outbound client closed");
    for (size_t i = 0; i < ob->npool; i++)
        curl_easy_cleanup(ob->pool[i]);
    ob->npool = 0;
    /* Closes cached connections; curl may still report sockets removed. */
    curl_multi_cleanup(ob->multi);
    ob->multi = NULL;
    while (ob->socks)
        ob_sock_close(ob->socks);
    uv_close((uv_handle_t *)&ob->timer, ob_timer_closed);
}

void tn_outbound_free(tn_outbound_t *ob)
{
    if (!ob || ob->closing || ob->free_requested)
        return;
    if (ob->dispatching) {
        /* Called from a done callback: finish after the drain loop unwinds. */
        ob->free_requested = true;
        return;
    }
    ob->free_requested = true;
    ob_release(ob);
}

tn_out_xfer_t *tn_outbound_send(tn_outbound_t *ob, const tn_out_request_t *req, tn_out_done_fn done,
                                void *ud, char *err, size_t errlen)
{
    if (ob->closing || ob->free_requested) {
        snprintf(err, errlen, "outbound client closed");
        return NULL;
    }
    if (!req->url || !req->url[0]) {
        snprintf(err, errlen, "empty URL");
        return NULL;
    }
    tn_out_xfer_t *x = tn_xcalloc(1, sizeof(*x));
    x->ob = ob;
    x->done = done;
    x->ud = ud;
    x->resp_cap = req->max_response ? TN_MIN(req->max_response, OB_BODY_CAP_MAX) : OB_BODY_CAP;
    tn_buf_init(&x->resp, x->resp_cap);
    if (ob->npool)
        x->easy = ob->pool[--ob->npool];
    else
        x->easy = curl_easy_init();
    if (!x->easy) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto fail;
    }
    if (ob_apply(x, req, err, errlen) != TN_OK)
        goto fail;
    x->start_ms = tn_clock_mono_ms();
    if (x->smtp) {
        int uvrc = uv_queue_work(ob->loop, &x->work, ob_smtp_work, ob_smtp_after);
        if (uvrc != 0) {
            snprintf(err, errlen, "uv_queue_work: %s", uv_strerror(uvrc));
            goto fail;
        }
        ob->open_handles++;
    } else {
        CURLMcode mc = curl_multi_add_handle(ob->multi, x->easy);
        if (mc != CURLM_OK) {
            snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
            goto fail;
        }
    }
    x->next = ob->xfers;
    if (ob->xfers)
        ob->xfers->prev = x;
    ob->xfers = x;
    ob->nactive++;
    if (tn_log_enabled(TN_LOG_DEBUG)) {
        char safe[256];
        tn_log_redact_url(req->url, safe, sizeof(safe));
        tn_log(TN_LOG_DEBUG, "outbound request", "method", req->method ? req->method : "POST",
               "url", safe, NULL);
    }
    return x;
fail:
    if (x->easy) {
        curl_easy_cleanup(x->easy); /* options half-applied: do not pool it */
        x->easy = NULL;
    }
    ob_xfer_free(x);
    return NULL;
}

void tn_outbound_cancel(tn_outbound_t *ob, tn_out_xfer_t *x)
{
    TN_UNUSED(ob);
    if (!x)
        return;
    ob_xfer_unlink(x);
    if (x->smtp && !x->work_done) {
        /* The worker stops at its next progress check; ob_smtp_after frees. */
        x->detached = true;
        atomic_store(&x->abort, true);
        return;
    }
    ob_xfer_free(x);
}
