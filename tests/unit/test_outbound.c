/* Outbound client against a tiny HTTP/1.1 (and SMTP) server on the same loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tocsin/clock.h"
#include "tocsin/config.h"
#include "tocsin/outbound.h"
#include "tocsin/version.h"

/* ---- fake server ---- */

#define SRV_MAX_REQS 256

typedef struct srv_req {
    char *method, *path, *headers, *body;
    size_t body_len;
    int conn_id;
} srv_req_t;

typedef struct srv srv_t;

typedef struct srv_conn {
    uv_tcp_t tcp;
    srv_t *srv;
    int id;
    char *buf;
    size_t len, alloc;
    bool closing;
    bool smtp_data; /* SMTP: inside DATA */
    struct srv_conn *next;
} srv_conn_t;

struct srv {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    int port;
    bool smtp;
    bool silent; /* SMTP: never greet */
    bool raw;    /* keep the bytes, never answer */
    int accepted;
    int nreqs;
    srv_req_t reqs[SRV_MAX_REQS];
    srv_conn_t *conns;
    bool closed;
    /* SMTP transcript */
    char smtp_log[8192];
    size_t smtp_log_len;
};

static void srv_conn_closed(uv_handle_t *h)
{
    srv_conn_t *c = h->data;
    for (srv_conn_t **pp = &c->srv->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    free(c->buf);
    free(c);
}

static void srv_conn_close(srv_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, srv_conn_closed);
}

static void srv_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void srv_send(srv_conn_t *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    uv_write_t *w = malloc(sizeof(*w));
    char *copy = malloc(len);
    memcpy(copy, data, len);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, srv_write_done) != 0) {
        free(copy);
        free(w);
    }
}

static void srv_respond(srv_conn_t *c, int status, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status,
                     strlen(body), extra ? extra : "");
    srv_send(c, head, (size_t)n);
    srv_send(c, body, strlen(body));
}

static void srv_handle(srv_conn_t *c, srv_req_t *r)
{
    if (strcmp(r->path, "/slow") == 0)
        return; /* never answers */
    if (strncmp(r->path, "/status/", 8) == 0) {
        srv_respond(c, (int)strtol(r->path + 8, NULL, 10), NULL, "status body");
    } else if (strcmp(r->path, "/retry") == 0) {
        srv_respond(c, 429, "Retry-After: 120\r\n", "slow down");
    } else if (strcmp(r->path, "/big") == 0) {
        char *big = malloc(10001);
        memset(big, 'x', 10000);
        big[10000] = 0;
        srv_respond(c, 200, NULL, big);
        free(big);
    } else if (strcmp(r->path, "/redirect") == 0) {
        srv_respond(c, 302, "Location: /ok\r\nRetry-After: 5\r\n", "moved");
    } else {
        srv_respond(c, 200, NULL, "ok");
    }
}

static void srv_buf_add(srv_conn_t *c, const char *p, size_t n)
{
    if (c->len + n + 1 > c->alloc) {
        c->alloc = (c->len + n + 1) * 2;
        c->buf = realloc(c->buf, c->alloc);
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->buf[c->len] = 0;
}

static void srv_consume(srv_conn_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    c->buf[c->len] = 0;
}

static void srv_parse_http(srv_conn_t *c)
{
    srv_t *s = c->srv;
    for (;;) {
        char *end = strstr(c->buf, "\r\n\r\n");
        if (!end)
            return;
        size_t hlen = (size_t)(end - c->buf) + 4;
        size_t cl = 0;
        char *p = strcasestr(c->buf, "\r\ncontent-length:");
        if (p && p < end)
            cl = (size_t)strtoul(p + 17, NULL, 10);
        if (c->len < hlen + cl)
            return;
        assert_true(s->nreqs < SRV_MAX_REQS);
        srv_req_t *r = &s->reqs[s->nreqs++];
        char *sp1 = strchr(c->buf, ' ');
        char *sp2 = strchr(sp1 + 1, ' ');
        r->method = strndup(c->buf, (size_t)(sp1 - c->buf));
        r->path = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
        r->headers = strndup(c->buf, hlen);
        r->body = strndup(c->buf + hlen, cl);
        r->body_len = cl;
        r->conn_id = c->id;
        srv_consume(c, hlen + cl);
        srv_handle(c, r);
    }
}

static void srv_smtp_log(srv_t *s, const char *line, size_t n)
{
    if (s->smtp_log_len + n < sizeof(s->smtp_log)) {
        memcpy(s->smtp_log + s->smtp_log_len, line, n);
        s->smtp_log_len += n;
        s->smtp_log[s->smtp_log_len] = 0;
    }
}

static void srv_parse_smtp(srv_conn_t *c)
{
    srv_t *s = c->srv;
    for (;;) {
        if (c->smtp_data) {
            char *end = strstr(c->buf, "\r\n.\r\n");
            if (!end)
                return;
            size_t n = (size_t)(end - c->buf) + 5;
            srv_smtp_log(s, c->buf, n);
            srv_consume(c, n);
            c->smtp_data = false;
            srv_send(c, "250 queued\r\n", 12);
            continue;
        }
        char *nl = strstr(c->buf, "\r\n");
        if (!nl)
            return;
        size_t n = (size_t)(nl - c->buf) + 2;
        srv_smtp_log(s, c->buf, n);
        if (strncasecmp(c->buf, "EHLO", 4) == 0) {
            const char *r = "250-fake\r\n250 SIZE 100000\r\n";
            srv_send(c, r, strlen(r));
        } else if (strncasecmp(c->buf, "DATA", 4) == 0) {
            c->smtp_data = true;
            srv_send(c, "354 go\r\n", 8);
        } else if (strncasecmp(c->buf, "QUIT", 4) == 0) {
            srv_send(c, "221 bye\r\n", 9);
        } else {
            srv_send(c, "250 ok\r\n", 8);
        }
        srv_consume(c, n);
    }
}

static void srv_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(sz);
    b->len = sz;
}

static void srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    srv_conn_t *c = st->data;
    if (n < 0) {
        free(b->base);
        srv_conn_close(c);
        return;
    }
    srv_buf_add(c, b->base, (size_t)n);
    free(b->base);
    if (c->srv->raw) {
        srv_smtp_log(c->srv, c->buf, c->len); /* the transcript doubles as the raw log */
        c->len = 0;
        return;
    }
    if (c->srv->smtp)
        srv_parse_smtp(c);
    else
        srv_parse_http(c);
}

static void srv_on_conn(uv_stream_t *l, int status)
{
    srv_t *s = l->data;
    assert_int_equal(status, 0);
    srv_conn_t *c = calloc(1, sizeof(*c));
    c->srv = s;
    c->id = s->accepted++;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    c->next = s->conns;
    s->conns = c;
    c->buf = calloc(1, 1);
    c->alloc = 1;
    if (s->smtp && !s->silent)
        srv_send(c, "220 fake ESMTP\r\n", 16);
    uv_read_start((uv_stream_t *)&c->tcp, srv_alloc, srv_read);
}

static void srv_start(srv_t *s, uv_loop_t *loop, bool smtp)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->smtp = smtp;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    assert_int_equal(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 128, srv_on_conn), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len);
    s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void srv_listener_closed(uv_handle_t *h)
{
    ((srv_t *)h->data)->closed = true;
}

static void srv_stop(srv_t *s)
{
    uv_close((uv_handle_t *)&s->tcp, srv_listener_closed);
    /* Closed connections leave the list in their close callback. */
    for (srv_conn_t *c = s->conns; c; c = c->next)
        srv_conn_close(c);
    for (int i = 0; i < s->nreqs; i++) {
        free(s->reqs[i].method);
        free(s->reqs[i].path);
        free(s->reqs[i].headers);
        free(s->reqs[i].body);
    }
}

/* For a server on the stack: its handles must be gone before the frame is. */
static void srv_stop_wait(srv_t *s)
{
    srv_stop(s);
    while (!s->closed || s->conns)
        uv_run(s->loop, UV_RUN_ONCE);
}

/* ---- client side ---- */

typedef struct result {
    int calls;
    int curl_code;
    long status;
    char body[8192];
    size_t body_len;
    char retry_after[64];
    bool has_retry_after;
    char error[256];
    uint64_t elapsed_ms;
} result_t;

static int g_done;

static void on_done(void *ud, const tn_out_response_t *r)
{
    result_t *res = ud;
    res->calls++;
    res->curl_code = r->curl_code;
    res->status = r->status;
    assert_non_null(r->body);
    assert_int_equal(r->body[r->body_len], 0);
    memcpy(res->body, r->body, r->body_len + 1);
    res->body_len = r->body_len;
    res->has_retry_after = r->retry_after != NULL;
    if (r->retry_after)
        snprintf(res->retry_after, sizeof(res->retry_after), "%s", r->retry_after);
    if (r->error)
        snprintf(res->error, sizeof(res->error), "%s", r->error);
    res->elapsed_ms = r->elapsed_ms;
    g_done++;
}

static void guard_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until *counter reaches target; fails after 10 s. A ticking timer keeps
 * UV_RUN_ONCE from blocking past the deadline. */
static void run_until(uv_loop_t *loop, int *counter, int target)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, guard_tick, 50, 50);
    uint64_t deadline = tn_clock_mono_ms() + 10000;
    while (*counter < target && tn_clock_mono_ms() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(*counter >= target);
}

static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uint64_t deadline = tn_clock_mono_ms() + ms;
    while (tn_clock_mono_ms() < deadline)
        uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct fixture {
    uv_loop_t loop;
    srv_t srv;
    tn_outbound_t *ob;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    srv_start(&f->srv, &f->loop, false);
    f->ob = tn_outbound_new(&f->loop);
    assert_non_null(f->ob);
    g_done = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->ob)
        tn_outbound_free(f->ob);
    srv_stop(&f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static char *url_for(fixture_t *f, const char *path)
{
    static char buf[128];
    snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", f->srv.port, path);
    return buf;
}

static tn_out_xfer_t *send_path(fixture_t *f, const char *path, const tn_http_config_t *http,
                                result_t *res)
{
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, path));
    req.http = http;
    char err[256] = "";
    tn_out_xfer_t *x = tn_outbound_send(f->ob, &req, on_done, res, err, sizeof(err));
    tn_out_request_free(&req);
    assert_non_null(x);
    return x;
}

static const char *hdr(const srv_req_t *r, const char *name)
{
    static char val[256];
    char pat[64];
    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    const char *p = strcasestr(r->headers, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    const char *e = strstr(p, "\r\n");
    snprintf(val, sizeof(val), "%.*s", (int)(e - p), p);
    return val;
}

/* ---- tests ---- */

static void test_post(void **state)
{
    fixture_t *f = *state;
    result_t res = {0};
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/hook?x=1"));
    tn_out_request_add_header(&req, "Content-Type", "application/json");
    tn_out_request_add_header(&req, "X-Test", "yes");
    /* Large enough that curl would otherwise ask for 100-continue. */
    char body[3000];
    memset(body, 'a', sizeof(body) - 1);
    body[0] = '{';
    body[sizeof(body) - 1] = 0;
    tn_buf_puts(&req.body, body);
    char err[256];
    tn_out_xfer_t *x = tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err));
    tn_out_request_free(&req); /* the request was copied */
    assert_non_null(x);
    assert_int_equal(tn_outbound_active(f->ob), 1);
    run_until(&f->loop, &res.calls, 1);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.curl_code, 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "ok");
    assert_false(res.has_retry_after);
    assert_int_equal(tn_outbound_active(f->ob), 0);

    assert_int_equal(f->srv.nreqs, 1);
    srv_req_t *r = &f->srv.reqs[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path, "/hook?x=1");
    assert_string_equal(r->body, body);
    assert_string_equal(hdr(r, "Content-Type"), "application/json");
    assert_string_equal(hdr(r, "X-Test"), "yes");
    assert_string_equal(hdr(r, "User-Agent"), "tocsin/" TN_VERSION);
    assert_null(hdr(r, "Expect"));
    assert_null(hdr(r, "Authorization"));
}

static void test_methods(void **state)
{
    fixture_t *f = *state;
    result_t a = {0}, b = {0};
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/put"));
    req.method = strdup("PUT");
    tn_buf_puts(&req.body, "data");
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &a, err, sizeof(err)));
    tn_out_request_free(&req);
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/get"));
    req.method = strdup("GET");
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &b, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &g_done, 2);
    assert_int_equal(a.status, 200);
    assert_int_equal(b.status, 200);
    assert_int_equal(f->srv.nreqs, 2);
    for (int i = 0; i < 2; i++) {
        srv_req_t *r = &f->srv.reqs[i];
        if (strcmp(r->path, "/put") == 0) {
            assert_string_equal(r->method, "PUT");
            assert_string_equal(r->body, "data");
        } else {
            assert_string_equal(r->method, "GET");
            assert_int_equal(r->body_len, 0);
        }
    }
}

static void test_auth(void **state)
{
    fixture_t *f = *state;
    tn_http_config_t basic = {.basic_auth_username = "user",
                              .basic_auth_password = "pass",
                              .follow_redirects = true,
                              .enable_http2 = true};
    tn_http_config_t bearer = {.authorization_credentials = "s3cret", .follow_redirects = true};
    tn_http_config_t custom = {.authorization_type = "Token",
                               .authorization_credentials = "abc",
                               .follow_redirects = true};
    result_t r1 = {0}, r2 = {0}, r3 = {0};
    send_path(f, "/basic", &basic, &r1);
    send_path(f, "/bearer", &bearer, &r2);
    send_path(f, "/custom", &custom, &r3);
    run_until(&f->loop, &g_done, 3);
    assert_int_equal(f->srv.nreqs, 3);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        srv_req_t *r = &f->srv.reqs[i];
        const char *a = hdr(r, "Authorization");
        assert_non_null(a);
        if (strcmp(r->path, "/basic") == 0) {
            assert_string_equal(a, "Basic dXNlcjpwYXNz");
            seen |= 1;
        } else if (strcmp(r->path, "/bearer") == 0) {
            assert_string_equal(a, "Bearer s3cret");
            seen |= 2;
        } else {
            assert_string_equal(a, "Token abc");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
}

static void test_status_and_retry_after(void **state)
{
    fixture_t *f = *state;
    result_t s503 = {0}, s429 = {0}, big = {0}, s404 = {0};
    send_path(f, "/status/503", NULL, &s503);
    send_path(f, "/retry", NULL, &s429);
    send_path(f, "/big", NULL, &big);
    send_path(f, "/status/404", NULL, &s404);
    run_until(&f->loop, &g_done, 4);
    assert_int_equal(s503.curl_code, 0);
    assert_int_equal(s503.status, 503);
    assert_string_equal(s503.body, "status body");
    assert_int_equal(s404.status, 404);
    assert_int_equal(s429.status, 429);
    assert_true(s429.has_retry_after);
    assert_string_equal(s429.retry_after, "120");
    assert_string_equal(s429.body, "slow down");
    assert_int_equal(big.status, 200);
    assert_int_equal(big.body_len, 4096);
    assert_int_equal(strlen(big.body), 4096);
}

/* A request may keep more of the reply for its classify (a JSON answer to read). */
static void test_max_response(void **state)
{
    fixture_t *f = *state;
    result_t big = {0};
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/big"));
    req.max_response = 6000;
    char err[256] = "";
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &big, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &g_done, 1);
    assert_int_equal(big.status, 200);
    assert_int_equal(big.body_len, 6000);
    assert_int_equal(strlen(big.body), 6000);
}

static void test_redirects(void **state)
{
    fixture_t *f = *state;
    tn_http_config_t follow = {.follow_redirects = true};
    tn_http_config_t nofollow = {.follow_redirects = false};
    result_t a = {0}, b = {0};
    send_path(f, "/redirect", &follow, &a);
    run_until(&f->loop, &g_done, 1);
    send_path(f, "/redirect", &nofollow, &b);
    run_until(&f->loop, &g_done, 2);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "ok");
    assert_false(a.has_retry_after); /* headers of the final response only */
    assert_int_equal(b.status, 302);
    assert_string_equal(b.retry_after, "5");
}

static void test_timeout(void **state)
{
    fixture_t *f = *state;
    result_t res = {0};
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/slow"));
    req.timeout_ms = 200;
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &res.calls, 1);
    assert_int_equal(res.curl_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(res.status, 0);
    assert_true(res.error[0] != 0);
    assert_true(res.elapsed_ms >= 150);
    assert_true(res.elapsed_ms < 5000);
}

static void test_refused(void **state)
{
    fixture_t *f = *state;
    /* A port that was just free. */
    uv_tcp_t t;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&f->loop, &t);
    assert_int_equal(uv_tcp_bind(&t, (const struct sockaddr *)&a, 0), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url);
    result_t res = {0};
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &res.calls, 1);
    assert_int_equal(res.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(res.status, 0);
    assert_true(strlen(res.error) > 0);
}

static void test_parallel_and_reuse(void **state)
{
    fixture_t *f = *state;
    enum { N = 40 };
    result_t *res = calloc(N, sizeof(*res));
    for (int i = 0; i < N; i++)
        send_path(f, "/p", NULL, &res[i]);
    assert_int_equal(tn_outbound_active(f->ob), N);
    run_until(&f->loop, &g_done, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(res[i].calls, 1);
        assert_int_equal(res[i].status, 200);
    }
    assert_int_equal(f->srv.nreqs, N);
    int after_parallel = f->srv.accepted;
    assert_true(after_parallel >= 1 && after_parallel <= N);

    /* One after another: every request rides a kept-alive connection. */
    for (int i = 0; i < 10; i++) {
        result_t r = {0};
        send_path(f, "/seq", NULL, &r);
        run_until(&f->loop, &r.calls, 1);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(f->srv.accepted, after_parallel);
    assert_int_equal(f->srv.nreqs, N + 10);
    free(res);
}

static void test_sequential_one_connection(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 20; i++) {
        result_t r = {0};
        send_path(f, "/one", NULL, &r);
        run_until(&f->loop, &r.calls, 1);
        assert_int_equal(r.status, 200);
    }
    assert_int_equal(f->srv.accepted, 1);
    assert_int_equal(f->srv.nreqs, 20);
}

static void test_cancel(void **state)
{
    fixture_t *f = *state;
    result_t slow = {0}, ok = {0};
    tn_out_xfer_t *x = send_path(f, "/slow", NULL, &slow);
    send_path(f, "/ok", NULL, &ok);
    run_until(&f->loop, &f->srv.nreqs, 2); /* both reached the server */
    tn_outbound_cancel(f->ob, x);
    run_until(&f->loop, &ok.calls, 1);
    run_for(&f->loop, 100);
    assert_int_equal(slow.calls, 0);
    assert_int_equal(ok.status, 200);
    assert_int_equal(tn_outbound_active(f->ob), 0);

    /* Cancel before the loop ever ran for it. */
    result_t never = {0};
    x = send_path(f, "/ok", NULL, &never);
    tn_outbound_cancel(f->ob, x);
    run_for(&f->loop, 100);
    assert_int_equal(never.calls, 0);
}

static void test_free_in_flight(void **state)
{
    fixture_t *f = *state;
    result_t r[3] = {{0}};
    for (int i = 0; i < 3; i++)
        send_path(f, "/slow", NULL, &r[i]);
    run_until(&f->loop, &f->srv.nreqs, 3);
    tn_outbound_free(f->ob);
    f->ob = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].curl_code, CURLE_ABORTED_BY_CALLBACK);
    }
}

/* A done callback that frees the client while other transfers are still running. */
typedef struct freeing {
    fixture_t *f;
    int calls;
} freeing_t;

static int g_aborted;

static void on_done_free(void *ud, const tn_out_response_t *r)
{
    freeing_t *fr = ud;
    fr->calls++;
    assert_int_equal(r->status, 200);
    tn_outbound_free(fr->f->ob);
    fr->f->ob = NULL;
}

static void on_done_count_abort(void *ud, const tn_out_response_t *r)
{
    (void)ud;
    if (r->curl_code == CURLE_ABORTED_BY_CALLBACK)
        g_aborted++;
}

static void test_free_from_callback(void **state)
{
    fixture_t *f = *state;
    char err[256];
    tn_out_request_t req;
    tn_out_request_init(&req);
    for (int i = 0; i < 3; i++) {
        tn_out_request_set_url(&req, url_for(f, "/slow"));
        assert_non_null(tn_outbound_send(f->ob, &req, on_done_count_abort, NULL, err, 256));
    }
    freeing_t fr = {f, 0};
    tn_out_request_set_url(&req, url_for(f, "/ok"));
    assert_non_null(tn_outbound_send(f->ob, &req, on_done_free, &fr, err, sizeof(err)));
    tn_out_request_free(&req);
    g_aborted = 0;
    run_until(&f->loop, &fr.calls, 1);
    assert_null(f->ob);
    assert_int_equal(g_aborted, 3);
}

static void test_setup_errors(void **state)
{
    fixture_t *f = *state;
    tn_http_config_t bad_ca = {.tls = {.ca_file = "/nonexistent/ca.pem"}};
    tn_http_config_t bad_ver = {.tls = {.min_version = "TLS99"}};
    tn_out_request_t req;
    tn_out_request_init(&req);
    char err[256] = "";
    result_t res = {0};
    assert_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    assert_string_equal(err, "empty URL");
    tn_out_request_set_url(&req, "https://127.0.0.1:1/");
    req.http = &bad_ca;
    assert_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    req.http = &bad_ver;
    assert_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    assert_non_null(strstr(err, "TLS99"));
    tn_out_request_set_url(&req, "smtp://127.0.0.1:1/");
    req.http = NULL;
    assert_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    tn_out_request_free(&req);
    run_for(&f->loop, 50);
    assert_int_equal(res.calls, 0);
    assert_int_equal(tn_outbound_active(f->ob), 0);
}

/* curl quotes a bad proxy URL whole in its error text, credentials included; what reaches the
 * done callback (and from there the logs) keeps only scheme and host. */
static void test_error_text_redacted(void **state)
{
    fixture_t *f = *state;
    static const char *const proxies[] = {
        "socks9://user:PW-s3cret@127.0.0.1:3/tok",     /* unsupported proxy scheme */
        "http://user:PW-s3cret@127.0.0.1:99999/tok",   /* unsupported proxy syntax */
        "http://user:PW-s3cret@127.0.0.1:1/pa th/tok", /* a space inside the quotes */
    };
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++) {
        tn_http_config_t http = {.proxy_url = (char *)proxies[i], .follow_redirects = true};
        result_t res = {0};
        send_path(f, "/x?token=s3cret", &http, &res);
        run_until(&f->loop, &res.calls, 1);
        assert_int_not_equal(res.curl_code, 0);
        assert_true(strlen(res.error) > 0);
        assert_null(strstr(res.error, "s3cret"));
        assert_null(strstr(res.error, "user"));
        assert_null(strstr(res.error, "tok"));
        if (strstr(res.error, "://"))
            assert_non_null(strstr(res.error, "://127.0.0.1:"));
    }
    assert_int_equal(tn_outbound_active(f->ob), 0);
}

/* A proxy that does not exist is bypassed for hosts in no_proxy, and used (and fails)
 * otherwise; http_proxy in the environment is ignored unless proxy_from_environment. */
static void test_proxy_rules(void **state)
{
    fixture_t *f = *state;
    tn_http_config_t http = {.proxy_url = (char *)"http://127.0.0.1:1",
                             .no_proxy = (char *)"127.0.0.1",
                             .follow_redirects = true};
    result_t res = {0};
    send_path(f, "/direct", &http, &res);
    run_until(&f->loop, &res.calls, 1);
    assert_int_equal(res.curl_code, 0);
    assert_int_equal(res.status, 200);

    http.no_proxy = NULL;
    memset(&res, 0, sizeof(res));
    send_path(f, "/via-proxy", &http, &res);
    run_until(&f->loop, &res.calls, 1);
    assert_int_not_equal(res.curl_code, 0);

    setenv("http_proxy", "http://127.0.0.1:1", 1);
    tn_http_config_t plain = {.follow_redirects = true};
    memset(&res, 0, sizeof(res));
    send_path(f, "/env-ignored", &plain, &res);
    run_until(&f->loop, &res.calls, 1);
    assert_int_equal(res.status, 200);

    plain.proxy_from_environment = true;
    memset(&res, 0, sizeof(res));
    send_path(f, "/env-used", &plain, &res);
    run_until(&f->loop, &res.calls, 1);
    assert_int_not_equal(res.curl_code, 0);
    unsetenv("http_proxy");
    assert_int_equal(tn_outbound_active(f->ob), 0);
}

static void test_smtp(void **state)
{
    fixture_t *f = *state;
    srv_t smtp;
    srv_start(&smtp, &f->loop, true);
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp.port);
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url);
    req.mail_from = strdup("<am@example.org>");
    req.mail_rcpt = calloc(2, sizeof(char *));
    req.mail_rcpt[0] = strdup("<a@example.org>");
    req.mail_rcpt[1] = strdup("<b@example.org>");
    req.nmail_rcpt = 2;
    tn_buf_puts(&req.body, "Subject: hi\r\n\r\nbody line\r\n");
    result_t res = {0};
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &res.calls, 1);
    if (res.curl_code)
        fprintf(stderr, "smtp: %s\n%s\n", res.error, smtp.smtp_log);
    assert_int_equal(res.curl_code, 0);
    assert_int_equal(res.status, 250);
    assert_non_null(strstr(smtp.smtp_log, "MAIL FROM:<am@example.org>"));
    assert_non_null(strstr(smtp.smtp_log, "RCPT TO:<a@example.org>"));
    assert_non_null(strstr(smtp.smtp_log, "RCPT TO:<b@example.org>"));
    assert_non_null(strstr(smtp.smtp_log, "Subject: hi\r\n\r\nbody line\r\n.\r\n"));
    srv_stop_wait(&smtp);
}

static tn_out_xfer_t *send_smtp(fixture_t *f, int port, result_t *res)
{
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url);
    req.mail_from = strdup("<am@example.org>");
    req.mail_rcpt = calloc(1, sizeof(char *));
    req.mail_rcpt[0] = strdup("<a@example.org>");
    req.nmail_rcpt = 1;
    tn_buf_puts(&req.body, "Subject: x\r\n\r\ny\r\n");
    char err[256];
    tn_out_xfer_t *x = tn_outbound_send(f->ob, &req, on_done, res, err, sizeof(err));
    tn_out_request_free(&req);
    assert_non_null(x);
    return x;
}

/* An SMTP exchange runs off the loop; cancel and free must still be immediate and safe. */
static void test_smtp_cancel_and_free(void **state)
{
    fixture_t *f = *state;
    srv_t smtp;
    srv_start(&smtp, &f->loop, true);
    smtp.silent = true;
    result_t a = {0}, b = {0};
    tn_out_xfer_t *x = send_smtp(f, smtp.port, &a);
    send_smtp(f, smtp.port, &b);
    run_until(&f->loop, &smtp.accepted, 2);
    assert_int_equal(tn_outbound_active(f->ob), 2);
    tn_outbound_cancel(f->ob, x);
    assert_int_equal(tn_outbound_active(f->ob), 1);
    tn_outbound_free(f->ob);
    f->ob = NULL;
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.curl_code, CURLE_ABORTED_BY_CALLBACK);
    srv_stop_wait(&smtp);
}

/* A done callback may start the next transfer (a retry) at once. */
typedef struct chain {
    fixture_t *f;
    int calls;
    long last_status;
} chain_t;

static void on_done_chain(void *ud, const tn_out_response_t *r)
{
    chain_t *c = ud;
    c->calls++;
    c->last_status = r->status;
    if (c->calls < 3) {
        tn_out_request_t req;
        tn_out_request_init(&req);
        tn_out_request_set_url(&req, url_for(c->f, "/again"));
        char err[256];
        assert_non_null(tn_outbound_send(c->f->ob, &req, on_done_chain, c, err, sizeof(err)));
        tn_out_request_free(&req);
    }
}

static void test_send_from_callback(void **state)
{
    fixture_t *f = *state;
    chain_t c = {f, 0, 0};
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url_for(f, "/first"));
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done_chain, &c, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &c.calls, 3);
    assert_int_equal(c.last_status, 200);
    assert_int_equal(f->srv.nreqs, 3);
    assert_int_equal(f->srv.accepted, 1);
}

/* tls_config.server_name: the handshake names it while the connection goes to the URL's host. */
static void test_server_name(void **state)
{
    fixture_t *f = *state;
    f->srv.raw = true;
    tn_http_config_t http = {.follow_redirects = true,
                             .tls = {.server_name = "alerts.example.com"}};
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/x", f->srv.port);
    tn_out_request_t req;
    tn_out_request_init(&req);
    tn_out_request_set_url(&req, url);
    req.http = &http;
    req.timeout_ms = 300;
    result_t res = {0};
    char err[256];
    assert_non_null(tn_outbound_send(f->ob, &req, on_done, &res, err, sizeof(err)));
    tn_out_request_free(&req);
    run_until(&f->loop, &res.calls, 1);
    assert_int_not_equal(res.curl_code, 0);
    assert_int_equal(f->srv.accepted, 1);
    assert_non_null(memmem(f->srv.smtp_log, f->srv.smtp_log_len, "alerts.example.com", 18));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequential_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_text_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_cancel_and_free, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
