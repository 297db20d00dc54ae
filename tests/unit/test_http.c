/* HTTP server tests: the server runs in a libuv loop on the test's thread, a blocking client
 * drives it from a second thread and records what it saw; assertions run after the join. */
#include "tn_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/common.h"
#include "tocsin/http.h"

#define MAX_RES 8

typedef struct harness {
    uv_loop_t loop;
    tn_http_server_t *srv;
    uv_async_t done;
    uv_timer_t delay;
    pthread_t th;
    int port;
    int family;
    void (*client)(struct harness *h);
    /* written by the client thread, read after the join */
    tn_buf_t res[MAX_RES];
    int status[MAX_RES];
    bool eof[MAX_RES];
    long ms[MAX_RES];
    int nres;
    /* loop side */
    tn_http_req_t *pending;
    bool free_while_held;
    int nreq;
} harness_t;

typedef struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
} client_t;

/* ---- loop side ---- */

static void reply(harness_t *h, tn_http_req_t *r)
{
    size_t blen;
    const char *body = tn_http_req_body(r, &blen);
    unsigned sum = 0;
    for (size_t i = 0; i < blen; i++)
        sum = sum * 31 + (unsigned char)body[i];
    const char *vals[8];
    size_t nv = tn_http_req_query_values(r, "a", vals, 8);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    const char *x = tn_http_req_header(r, "x-test");
    tn_buf_printf(&b, "M=%s P=%s Q=%s L=%zu S=%u X=%s C=%zu V=%zu", tn_http_req_method(r),
                  tn_http_req_path(r), tn_http_req_query(r), blen, sum, x ? x : "-",
                  tn_http_server_connections(h->srv), nv);
    for (size_t i = 0; i < nv && i < 8; i++)
        tn_buf_printf(&b, "|%s", vals[i]);
    const char *e = tn_http_req_header(r, "x-empty");
    if (e)
        tn_buf_printf(&b, " E=[%s]", e);
    if (strcmp(tn_http_req_path(r), "/peer") == 0)
        tn_buf_printf(&b, " PEER=%s", tn_http_req_peer(r));
    if (strcmp(tn_http_req_path(r), "/len") != 0)
        tn_buf_printf(&b, " B=%s", body);
    tn_http_add_header(r, "X-Extra", "1");
    if (strcmp(tn_http_req_path(r), "/missing") == 0)
        tn_http_respond_error(r, 404, "no \"such\" thing");
    else
        tn_http_respond(r, 200, "text/plain", b.data, b.len);
    tn_buf_free(&b);
}

#define BIG_LEN (8u << 20)

static unsigned big_byte(size_t i)
{
    return (unsigned char)('A' + (i * 7) % 53);
}

/* A response far larger than the socket buffers: the connection must wait for the reader.
 * Every other one is handed over (written from where it is) instead of copied. */
static void reply_big(tn_http_req_t *r)
{
    static unsigned count;
    char *b = malloc(BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++)
        b[i] = (char)big_byte(i);
    if (count++ % 2) {
        tn_http_respond_owned(r, 200, "application/octet-stream", b, BIG_LEN);
        return;
    }
    tn_http_respond(r, 200, "application/octet-stream", b, BIG_LEN);
    free(b);
}

static void on_delay(uv_timer_t *t)
{
    harness_t *h = t->data;
    tn_http_req_t *r = h->pending;
    h->pending = NULL;
    if (r)
        reply(h, r);
}

static void handler(void *ud, tn_http_req_t *r)
{
    harness_t *h = ud;
    const char *path = tn_http_req_path(r);
    __atomic_add_fetch(&h->nreq, 1, __ATOMIC_SEQ_CST);
    if (strcmp(path, "/big") == 0) {
        reply_big(r);
        return;
    }
    if (strcmp(path, "/stop") == 0)
        tn_http_server_stop_accepting(h->srv);
    if (strcmp(path, "/async") == 0 || strcmp(path, "/stop") == 0 || strcmp(path, "/hold") == 0) {
        h->pending = r;
        if (strcmp(path, "/hold") != 0)
            uv_timer_start(&h->delay, on_delay, 50, 0);
        return;
    }
    reply(h, r);
}

static void on_done(uv_async_t *a)
{
    harness_t *h = a->data;
    tn_http_server_free(h->srv);
    if (h->pending) { /* a handler answering after the server is gone */
        tn_http_req_t *r = h->pending;
        h->pending = NULL;
        tn_http_respond(r, 200, "text/plain", "late", 4);
    }
    uv_close((uv_handle_t *)&h->done, NULL);
    uv_close((uv_handle_t *)&h->delay, NULL);
}

static void *client_main(void *arg)
{
    harness_t *h = arg;
    h->client(h);
    uv_async_send(&h->done);
    return NULL;
}

static void limits_short(tn_http_limits_t *l)
{
    tn_http_limits_default(l);
    l->idle_timeout_ms = 5000;
    l->header_timeout_ms = 5000;
    l->body_timeout_ms = 5000;
}

/* Runs the server on addr with the given client; returns false when addr cannot be bound. */
static bool run_addr(harness_t *h, const tn_http_limits_t *lim, const char *addr,
                     void (*client)(harness_t *))
{
    assert_int_equal(uv_loop_init(&h->loop), 0);
    for (int i = 0; i < MAX_RES; i++)
        tn_buf_init(&h->res[i], 0);
    h->srv = tn_http_server_new(&h->loop, lim, handler, h);
    char err[256] = "";
    if (tn_http_server_listen(h->srv, addr, err, sizeof(err)) != 0) {
        tn_http_server_free(h->srv);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&h->loop), 0);
        return false;
    }
    h->port = tn_http_server_port(h->srv);
    assert_true(h->port > 0);
    h->client = client;
    h->done.data = h;
    h->delay.data = h;
    assert_int_equal(uv_async_init(&h->loop, &h->done, on_done), 0);
    assert_int_equal(uv_timer_init(&h->loop, &h->delay), 0);
    assert_int_equal(pthread_create(&h->th, NULL, client_main, h), 0);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    pthread_join(h->th, NULL);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    return true;
}

static void run(harness_t *h, const tn_http_limits_t *lim, void (*client)(harness_t *))
{
    tn_http_limits_t l;
    if (!lim) {
        limits_short(&l);
        lim = &l;
    }
    assert_true(run_addr(h, lim, "127.0.0.1:0", client));
}

static void harness_done(harness_t *h)
{
    for (int i = 0; i < MAX_RES; i++)
        tn_buf_free(&h->res[i]);
}

/* ---- client side (blocking sockets, no cmocka calls) ---- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Receive buffer for the next cl_open (0: the kernel's autotuned default). A fixed one lets
 * a test know that a large response cannot all fit in the socket buffers. */
static int cl_rcvbuf;

static int cl_open(client_t *cl, int family, int port)
{
    memset(cl, 0, sizeof(*cl));
    cl->fd = socket(family, SOCK_STREAM, 0);
    if (cl->fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (cl_rcvbuf)
        setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &cl_rcvbuf, sizeof(cl_rcvbuf));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, "::1", &a->sin6_addr);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
        sl = sizeof(*a);
    }
    if (connect(cl->fd, (struct sockaddr *)&ss, sl) < 0) {
        close(cl->fd);
        cl->fd = -1;
        return -1;
    }
    return 0;
}

static void cl_send(client_t *cl, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(cl->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void cl_puts(client_t *cl, const char *s)
{
    cl_send(cl, s, strlen(s));
}

static int cl_fill(client_t *cl)
{
    if (cl->len == sizeof(cl->buf))
        return -1;
    ssize_t r = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
    if (r <= 0)
        return -1;
    cl->len += (size_t)r;
    return 0;
}

/* Reads one response into out; returns its status, or -1 on EOF/timeout. */
static int cl_resp(client_t *cl, bool head, tn_buf_t *out)
{
    char *end;
    while (!(end = memmem(cl->buf, cl->len, "\r\n\r\n", 4)))
        if (cl_fill(cl) < 0)
            return -1;
    size_t hlen = (size_t)(end - cl->buf) + 4;
    int status = (int)strtol(cl->buf + 9, NULL, 10);
    size_t blen = 0;
    char *clh = memmem(cl->buf, hlen, "Content-Length: ", 16);
    if (clh && !head && status >= 200)
        blen = strtoul(clh + 16, NULL, 10);
    while (cl->len < hlen + blen)
        if (cl_fill(cl) < 0)
            return -1;
    tn_buf_append(out, cl->buf, hlen + blen);
    memmove(cl->buf, cl->buf + hlen + blen, cl->len - hlen - blen);
    cl->len -= hlen + blen;
    return status;
}

/* True when the server closes the connection (EOF or reset) within the receive timeout. */
static bool cl_eof(client_t *cl)
{
    char b[4096];
    for (;;) {
        ssize_t r = recv(cl->fd, b, sizeof(b), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false;
    }
}

static void cl_close(client_t *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
}

static void rec(harness_t *h, client_t *cl, bool head)
{
    int i = h->nres < MAX_RES ? h->nres++ : MAX_RES - 1;
    h->status[i] = cl_resp(cl, head, &h->res[i]);
    tn_buf_putc(&h->res[i], 0);
}

static const char *res(harness_t *h, int i)
{
    return h->res[i].data ? h->res[i].data : "";
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) {
        print_error("expected \"%s\" in:\n%s\n", needle, hay);
        fail();
    }
}

/* ---- tests ---- */

static void cl_simple_get(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /hello%20there?x=1&y=%41 HTTP/1.1\r\nHost: t\r\nX-Test:  yes \r\n"
                 "X-Empty:\r\n\r\n");
    rec(h, &cl, false);
    cl_puts(&cl, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_close(&cl);
}

static void test_simple_get(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_simple_get);
    assert_int_equal(h.status[0], 200);
    const char *r = res(&h, 0);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_has(r, "\r\nDate: ");
    assert_has(r, " GMT\r\n");
    assert_has(r, "\r\nContent-Type: text/plain\r\n");
    assert_has(r, "\r\nConnection: keep-alive\r\n");
    assert_has(r, "\r\nX-Extra: 1\r\n");
    assert_has(r, "M=GET P=/hello there Q=x=1&y=%41 L=0 S=0 X=yes C=1 V=0 E=[] B=");
    char want[64];
    const char *body = strstr(r, "\r\n\r\n") + 4;
    snprintf(want, sizeof(want), "Content-Length: %zu\r\n", strlen(body));
    assert_has(r, want);
    assert_int_equal(h.status[1], 404);
    assert_has(res(&h, 1), "HTTP/1.1 404 Not Found\r\n");
    assert_has(res(&h, 1), "Content-Type: application/json\r\n");
    assert_has(res(&h, 1), "\r\n\r\n{\"code\":404,\"message\":\"no \\\"such\\\" thing\"}");
    assert_int_equal(h.nreq, 2);
    harness_done(&h);
}

static void cl_post(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello");
    usleep(20000);
    cl_puts(&cl, " world");
    rec(h, &cl, false);
    /* chunked, split across writes, with an extension and a trailer */
    cl_puts(&cl, "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;ext=1\r\nhello\r\n");
    usleep(20000);
    cl_puts(&cl, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    rec(h, &cl, false);
    /* a body much larger than the read buffer */
    size_t n = 300000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    char head[128];
    snprintf(head, sizeof(head), "PUT /len HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
    cl_puts(&cl, head);
    cl_send(&cl, big, n);
    rec(h, &cl, false);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + (unsigned char)big[i];
    h->ms[0] = (long)sum;
    free(big);
    cl_close(&cl);
}

static void test_post_bodies(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_post);
    assert_int_equal(h.status[0], 200);
    assert_has(res(&h, 0), "M=POST P=/p Q= L=11 ");
    assert_has(res(&h, 0), " B=hello world");
    assert_int_equal(h.status[1], 200);
    assert_has(res(&h, 1), "M=POST P=/c Q= L=11 ");
    assert_has(res(&h, 1), " B=hello world");
    assert_int_equal(h.status[2], 200);
    char want[64];
    snprintf(want, sizeof(want), "M=PUT P=/len Q= L=300000 S=%u ", (unsigned)h.ms[0]);
    assert_has(res(&h, 2), want);
    harness_done(&h);
}

static void cl_pipeline(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    /* the first is answered later by a timer, the second at once: order must hold */
    cl_puts(&cl, "GET /async?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                 "POST /b?n=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /c?n=3 HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    rec(h, &cl, false);
    rec(h, &cl, false);
    cl_close(&cl);
}

static void test_pipelined_in_order(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_pipeline);
    assert_int_equal(h.nres, 3);
    assert_has(res(&h, 0), "P=/async Q=n=1 ");
    assert_has(res(&h, 1), "P=/b Q=n=2 L=3 ");
    assert_has(res(&h, 1), " B=abc");
    assert_has(res(&h, 2), "P=/c Q=n=3 ");
    for (int i = 0; i < 3; i++)
        assert_int_equal(h.status[i], 200);
    harness_done(&h);
}

static void cl_keepalive_head(harness_t *h)
{
    client_t cl, cl2;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_puts(&cl, "HEAD /two HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, true);
    cl_puts(&cl, "GET /three HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    /* HTTP/1.0 closes unless asked otherwise; Connection: close is honoured */
    if (cl_open(&cl2, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl2, "GET /ten HTTP/1.0\r\n\r\n");
    rec(h, &cl2, false);
    h->eof[0] = cl_eof(&cl2);
    cl_close(&cl2);
    if (cl_open(&cl2, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl2, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    rec(h, &cl2, false);
    cl_puts(&cl2, "GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                  "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl2, false);
    h->eof[1] = cl_eof(&cl2);
    cl_close(&cl2);
    cl_close(&cl);
}

static void test_keepalive_head_close(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_keepalive_head);
    assert_int_equal(h.nres, 6);
    assert_has(res(&h, 0), "P=/one ");
    assert_has(res(&h, 0), " C=1 ");
    /* HEAD: the GET's length, no body, and the connection still in step */
    const char *hd = res(&h, 1);
    assert_has(hd, "Content-Length: ");
    assert_true(strstr(hd, "\r\n\r\n")[4] == 0);
    assert_int_equal(strtol(strstr(hd, "Content-Length: ") + 16, NULL, 10),
                     (int)strlen("M=HEAD P=/two Q= L=0 S=0 X=- C=1 V=0 B="));
    assert_has(res(&h, 2), "P=/three ");
    assert_has(res(&h, 2), " C=1 ");
    assert_has(res(&h, 3), "Connection: close\r\n");
    assert_has(res(&h, 3), "P=/ten ");
    assert_true(h.eof[0]);
    assert_has(res(&h, 4), "Connection: keep-alive\r\n");
    assert_has(res(&h, 5), "Connection: close\r\n");
    assert_has(res(&h, 5), "P=/bye ");
    assert_true(h.eof[1]);
    assert_int_equal(h.nreq, 6);
    harness_done(&h);
}

static void cl_continue(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl,
            "POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    rec(h, &cl, false); /* the interim 100 */
    cl_puts(&cl, "12345");
    rec(h, &cl, false);
    /* too large for max_body: refused before the body is sent */
    cl_puts(&cl,
            "POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    rec(h, &cl, false);
    h->eof[0] = cl_eof(&cl);
    cl_close(&cl);
}

static void test_expect_continue(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    l.max_body = 1000;
    run(&h, &l, cl_continue);
    assert_int_equal(h.status[0], 100);
    assert_string_equal(res(&h, 0), "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(h.status[1], 200);
    assert_has(res(&h, 1), " L=5 ");
    assert_has(res(&h, 1), " B=12345");
    assert_int_equal(h.status[2], 413);
    assert_has(res(&h, 2), "{\"code\":413,\"message\":\"request body too large\"}");
    assert_has(res(&h, 2), "Connection: close\r\n");
    assert_true(h.eof[0]);
    assert_int_equal(h.nreq, 1);
    harness_done(&h);
}

static void cl_limits(harness_t *h)
{
    client_t cl;
    /* declared length over max_body */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
    rec(h, &cl, false);
    h->eof[0] = cl_eof(&cl);
    cl_close(&cl);
    /* chunked body growing past max_body */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    char chunk[700];
    memset(chunk, 'z', sizeof(chunk));
    cl_puts(&cl, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        cl_puts(&cl, "2bc\r\n");
        cl_send(&cl, chunk, sizeof(chunk));
        cl_puts(&cl, "\r\n");
    }
    rec(h, &cl, false);
    h->eof[1] = cl_eof(&cl);
    cl_close(&cl);
    /* headers over max_header */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 40; i++)
        cl_puts(&cl,
                "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    cl_puts(&cl, "\r\n");
    rec(h, &cl, false);
    h->eof[2] = cl_eof(&cl);
    cl_close(&cl);
    /* garbage */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_send(&cl, "\x01\x02\x03 garbage\r\n\r\n", 16);
    rec(h, &cl, false);
    h->eof[3] = cl_eof(&cl);
    cl_close(&cl);
    /* NUL in the decoded path, and a bad escape */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    h->eof[4] = cl_eof(&cl);
    cl_close(&cl);
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_close(&cl);
    /* after all that, a good request is still served */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    cl_send(&cl, chunk, 500);
    cl_send(&cl, chunk, 500);
    rec(h, &cl, false);
    cl_close(&cl);
    /* upgrades are not spoken: a plain answer, then close */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl,
            "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    rec(h, &cl, false);
    h->eof[5] = cl_eof(&cl);
    cl_close(&cl);
}

static void test_limits(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    l.max_body = 1000;
    l.max_header = 1024;
    run(&h, &l, cl_limits);
    assert_int_equal(h.status[0], 413);
    assert_has(res(&h, 0), "HTTP/1.1 413 Request Entity Too Large\r\n");
    assert_has(res(&h, 0), "{\"code\":413,");
    assert_true(h.eof[0]);
    assert_int_equal(h.status[1], 413);
    assert_true(h.eof[1]);
    assert_int_equal(h.status[2], 431);
    assert_has(res(&h, 2), "{\"code\":431,");
    assert_true(h.eof[2]);
    assert_int_equal(h.status[3], 400);
    assert_has(res(&h, 3), "{\"code\":400,\"message\":\"malformed HTTP request");
    assert_has(res(&h, 3), "Connection: close\r\n");
    assert_true(h.eof[3]);
    assert_int_equal(h.status[4], 400);
    assert_true(h.eof[4]);
    assert_int_equal(h.status[5], 400);
    assert_int_equal(h.status[6], 200);
    assert_has(res(&h, 6), " L=1000 ");
    assert_int_equal(h.status[7], 200);
    assert_has(res(&h, 7), "P=/up ");
    assert_has(res(&h, 7), "Connection: close\r\n");
    assert_true(h.eof[5]);
    assert_int_equal(h.nreq, 2);
    harness_done(&h);
}

static void cl_max_conns(harness_t *h)
{
    client_t a, b;
    if (cl_open(&a, AF_INET, h->port) < 0)
        return;
    cl_puts(&a, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &a, false);
    if (cl_open(&b, AF_INET, h->port) < 0)
        return;
    cl_puts(&b, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &b, false);
    h->eof[0] = cl_eof(&b);
    cl_close(&b);
    /* the first connection is still served */
    cl_puts(&a, "GET /a2 HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &a, false);
    cl_close(&a);
}

static void test_max_conns(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    l.max_conns = 1;
    l.loopback_reserve = 0;
    run(&h, &l, cl_max_conns);
    assert_int_equal(h.status[0], 200);
    assert_int_equal(h.status[1], 503);
    assert_has(res(&h, 1), "HTTP/1.1 503 Service Unavailable\r\n");
    assert_has(res(&h, 1), "{\"code\":503,");
    assert_true(h.eof[0]);
    assert_int_equal(h.status[2], 200);
    assert_has(res(&h, 2), "P=/a2 ");
    assert_int_equal(h.nreq, 2);
    harness_done(&h);
}

/* One connection per address, one reserved loopback slot: the second connection takes the
 * slot and says nothing; a third evicts it and is served. */
static void cl_reserve(harness_t *h)
{
    client_t a, b, c;
    if (cl_open(&a, AF_INET, h->port) < 0)
        return;
    cl_puts(&a, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &a, false);
    if (cl_open(&b, AF_INET, h->port) < 0)
        return;
    cl_puts(&b, "GET /b HTTP/1.1\r\nHo"); /* half a request, then silence */
    usleep(100 * 1000);
    if (cl_open(&c, AF_INET, h->port) < 0)
        return;
    cl_puts(&c, "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &c, false);
    h->eof[0] = cl_eof(&b);
    cl_close(&b);
    cl_close(&c);
    cl_close(&a);
}

static void test_loopback_reserve(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    l.max_conns = 8;
    l.max_conns_per_addr = 1;
    l.loopback_reserve = 1;
    run(&h, &l, cl_reserve);
    assert_int_equal(h.status[0], 200);
    assert_int_equal(h.status[1], 200);
    assert_has(res(&h, 1), "P=/c ");
    assert_true(h.eof[0]); /* evicted */
    assert_int_equal(h.nreq, 2);
    harness_done(&h);
}

/* Past the per-address share without a reserve: 503 that says why. */
static void cl_per_addr(harness_t *h)
{
    client_t a, b;
    if (cl_open(&a, AF_INET, h->port) < 0)
        return;
    cl_puts(&a, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &a, false);
    if (cl_open(&b, AF_INET, h->port) < 0)
        return;
    cl_puts(&b, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &b, false);
    cl_close(&b);
    cl_close(&a);
}

static void test_per_address_share(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    l.max_conns = 8;
    l.max_conns_per_addr = 1;
    l.loopback_reserve = 0;
    run(&h, &l, cl_per_addr);
    assert_int_equal(h.status[0], 200);
    assert_int_equal(h.status[1], 503);
    assert_has(res(&h, 1), "too many connections from one address");
    assert_int_equal(h.nreq, 1);
    harness_done(&h);
}

static void cl_timeouts(harness_t *h)
{
    client_t cl;
    long t0;
    /* slowloris: half a request, then silence */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    t0 = now_ms();
    cl_puts(&cl, "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    rec(h, &cl, false);
    h->eof[0] = cl_eof(&cl);
    h->ms[0] = now_ms() - t0;
    cl_close(&cl);
    /* connect and say nothing */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    t0 = now_ms();
    h->eof[1] = cl_eof(&cl);
    h->ms[1] = now_ms() - t0;
    cl_close(&cl);
    /* a body that never completes */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    t0 = now_ms();
    cl_puts(&cl, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    rec(h, &cl, false);
    h->eof[2] = cl_eof(&cl);
    h->ms[2] = now_ms() - t0;
    cl_close(&cl);
    /* keep-alive idle */
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /i HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    t0 = now_ms();
    h->eof[3] = cl_eof(&cl);
    h->ms[3] = now_ms() - t0;
    cl_close(&cl);
}

static void test_timeouts(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    tn_http_limits_default(&l);
    l.header_timeout_ms = 200;
    l.body_timeout_ms = 250;
    l.idle_timeout_ms = 300;
    run(&h, &l, cl_timeouts);
    assert_int_equal(h.status[0], 408);
    assert_has(res(&h, 0), "{\"code\":408,");
    assert_true(h.eof[0]);
    assert_true(h.ms[0] >= 150 && h.ms[0] < 3000);
    assert_true(h.eof[1]);
    assert_true(h.ms[1] >= 150 && h.ms[1] < 3000);
    assert_int_equal(h.status[1], 408);
    assert_has(res(&h, 1), "timed out reading request body");
    assert_true(h.eof[2]);
    assert_true(h.ms[2] >= 200 && h.ms[2] < 3000);
    assert_int_equal(h.status[2], 200);
    assert_true(h.eof[3]);
    assert_true(h.ms[3] >= 250 && h.ms[3] < 3000);
    assert_int_equal(h.nreq, 1);
    harness_done(&h);
}

static void cl_query(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "GET /q/%E2%9C%93?a=1&b=2&a=x+y%21%3D&%61=&a HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_puts(&cl, "GET http://example.com/abs?a=z HTTP/1.1\r\nHost: example.com\r\n\r\n");
    rec(h, &cl, false);
    cl_puts(&cl, "GET /peer HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_close(&cl);
}

static void test_query_and_path_decoding(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_query);
    assert_int_equal(h.status[0], 200);
    assert_has(res(&h, 0), "P=/q/\xE2\x9C\x93 Q=a=1&b=2&a=x+y%21%3D&%61=&a ");
    assert_has(res(&h, 0), " V=4|1|x y!=|| ");
    assert_has(res(&h, 1), "P=/abs Q=a=z ");
    assert_has(res(&h, 1), " V=1|z ");
    assert_has(res(&h, 2), " PEER=127.0.0.1:");
    harness_done(&h);
}

static void cl_one_get(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, h->family, h->port) < 0)
        return;
    cl_puts(&cl, "GET /peer HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &cl, false);
    cl_close(&cl);
}

static void test_listen_ipv6(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    h.family = AF_INET6;
    if (!run_addr(&h, &l, "[::1]:0", cl_one_get)) {
        harness_done(&h);
        skip();
    }
    assert_int_equal(h.status[0], 200);
    assert_has(res(&h, 0), " PEER=[::1]:");
    harness_done(&h);
}

static void test_listen_all_and_localhost(void **state)
{
    (void)state;
    harness_t h = {0};
    tn_http_limits_t l;
    limits_short(&l);
    h.family = AF_INET;
    assert_true(run_addr(&h, &l, ":0", cl_one_get));
    assert_int_equal(h.status[0], 200);
    assert_has(res(&h, 0), " PEER=127.0.0.1:"); /* IPv4-mapped reads as IPv4 */
    harness_done(&h);

    harness_t h2 = {0};
    h2.family = AF_INET;
    assert_true(run_addr(&h2, &l, "localhost:0", cl_one_get));
    assert_int_equal(h2.status[0], 200);
    harness_done(&h2);
}

static void test_listen_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tn_http_server_t *a = tn_http_server_new(&loop, NULL, handler, NULL);
    tn_http_server_t *b = tn_http_server_new(&loop, NULL, handler, NULL);
    char err[256];
    assert_int_equal(tn_http_server_listen(a, "127.0.0.1:0", err, sizeof(err)), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", tn_http_server_port(a));
    assert_int_not_equal(tn_http_server_listen(b, addr, err, sizeof(err)), 0);
    char want[128];
    snprintf(want, sizeof(want), "listen tcp %s: address already in use", addr);
    assert_string_equal(err, want);
    assert_int_not_equal(tn_http_server_listen(a, "127.0.0.1:0", err, sizeof(err)), 0);
    tn_http_server_t *c = tn_http_server_new(&loop, NULL, handler, NULL);
    assert_int_equal(tn_http_server_listen(c, "127.0.0.1", err, sizeof(err)), TN_ERR_INVAL);
    assert_has(err, "missing port");
    assert_int_equal(tn_http_server_listen(c, "127.0.0.1:99999", err, sizeof(err)), TN_ERR_INVAL);
    assert_has(err, "unknown port");
    assert_int_equal(tn_http_server_listen(c, "::1:80", err, sizeof(err)), TN_ERR_INVAL);
    assert_has(err, "too many colons");
    tn_http_server_free(a);
    tn_http_server_free(b);
    tn_http_server_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void cl_graceful(harness_t *h)
{
    client_t idle, busy, late;
    if (cl_open(&idle, AF_INET, h->port) < 0)
        return;
    cl_puts(&idle, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    rec(h, &idle, false);
    if (cl_open(&busy, AF_INET, h->port) < 0)
        return;
    /* the handler stops the server, then answers 50 ms later */
    cl_puts(&busy, "GET /stop HTTP/1.1\r\nHost: t\r\n\r\n");
    long t0 = now_ms();
    h->eof[0] = cl_eof(&idle);
    h->ms[0] = now_ms() - t0;
    rec(h, &busy, false);
    h->eof[1] = cl_eof(&busy);
    h->eof[2] = cl_open(&late, AF_INET, h->port) < 0;
    cl_close(&late);
    cl_close(&idle);
    cl_close(&busy);
}

static void test_graceful_stop(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_graceful);
    assert_int_equal(h.status[0], 200);
    assert_true(h.eof[0]);
    assert_true(h.ms[0] < 2000);
    assert_int_equal(h.status[1], 200);
    assert_has(res(&h, 1), "Connection: close\r\n");
    assert_has(res(&h, 1), "P=/stop ");
    assert_true(h.eof[1]);
    assert_true(h.eof[2]);
    harness_done(&h);
}

static void cl_hold(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    cl_puts(&cl, "POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    usleep(100000); /* the handler keeps it; the server is freed under it */
    cl_close(&cl);
}

/* Reads one response of any size, folding its body into a checksum. */
static int cl_resp_sum(client_t *cl, size_t *len, unsigned *sum)
{
    char *end;
    *len = 0;
    *sum = 0;
    while (!(end = memmem(cl->buf, cl->len, "\r\n\r\n", 4)))
        if (cl_fill(cl) < 0)
            return -1;
    size_t hlen = (size_t)(end - cl->buf) + 4;
    int status = (int)strtol(cl->buf + 9, NULL, 10);
    char *clh = memmem(cl->buf, hlen, "Content-Length: ", 16);
    size_t want = clh ? strtoul(clh + 16, NULL, 10) : 0;
    memmove(cl->buf, cl->buf + hlen, cl->len - hlen);
    cl->len -= hlen;
    while (*len < want) {
        if (cl->len == 0 && cl_fill(cl) < 0)
            return -1;
        size_t take = TN_MIN(cl->len, want - *len);
        for (size_t i = 0; i < take; i++)
            *sum += (unsigned char)cl->buf[i] == big_byte(*len + i) ? 0 : 1;
        *len += take;
        memmove(cl->buf, cl->buf + take, cl->len - take);
        cl->len -= take;
    }
    return status;
}

static void cl_slow_reader(harness_t *h)
{
    client_t cl;
    cl_rcvbuf = 64 * 1024;
    int rc = cl_open(&cl, AF_INET, h->port);
    cl_rcvbuf = 0;
    if (rc < 0)
        return;
    cl_puts(&cl, "GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /big HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(300000);
    /* nothing read yet: the second request must still wait behind the first response */
    h->ms[0] = __atomic_load_n(&h->nreq, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2; i++) {
        size_t len;
        unsigned bad;
        h->status[i] = cl_resp_sum(&cl, &len, &bad);
        h->ms[1 + i] = (long)len;
        h->ms[3 + i] = (long)bad;
    }
    h->nres = 2;
    rec(h, &cl, false);
    cl_close(&cl);
}

static void test_slow_reader_backpressure(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_slow_reader);
    assert_int_equal(h.ms[0], 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h.status[i], 200);
        assert_int_equal(h.ms[1 + i], BIG_LEN);
        assert_int_equal(h.ms[3 + i], 0);
    }
    assert_int_equal(h.status[2], 200);
    assert_has(res(&h, 2), "P=/a ");
    assert_int_equal(h.nreq, 3);
    harness_done(&h);
}

static void cl_fragmented(harness_t *h)
{
    client_t cl;
    if (cl_open(&cl, AF_INET, h->port) < 0)
        return;
    int one = 1;
    setsockopt(cl.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    static const char req[] =
        "POST /frag%2Fment?a=1&a=two+2 HTTP/1.1\r\nHost: t\r\nX-Test: split value\r\n"
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n"
        "PUT /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nwxyz"
        "GET /last HTTP/1.1\r\nHost: t\r\nX-Test: z\r\n\r\n";
    for (size_t i = 0; i < sizeof(req) - 1; i++) {
        cl_send(&cl, req + i, 1);
        if (i % 7 == 0)
            usleep(300);
    }
    for (int i = 0; i < 3; i++)
        rec(h, &cl, false);
    cl_close(&cl);
}

static void test_fragmented_input(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_fragmented);
    assert_int_equal(h.nres, 3);
    assert_has(res(&h, 0), "M=POST P=/frag/ment Q=a=1&a=two+2 L=13 ");
    assert_has(res(&h, 0), " X=split value C=1 V=2|1|two 2 B=abc0123456789");
    assert_has(res(&h, 1), "M=PUT P=/cl Q= L=4 ");
    assert_has(res(&h, 1), " B=wxyz");
    assert_has(res(&h, 2), "M=GET P=/last Q= L=0 S=0 X=z ");
    assert_int_equal(h.nreq, 3);
    harness_done(&h);
}

static void test_free_with_request_in_flight(void **state)
{
    (void)state;
    harness_t h = {0};
    run(&h, NULL, cl_hold);
    assert_int_equal(h.nreq, 1);
    harness_done(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_bodies),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_keepalive_head_close),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_loopback_reserve),
        cmocka_unit_test(test_per_address_share),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_query_and_path_decoding),
        cmocka_unit_test(test_listen_ipv6),
        cmocka_unit_test(test_listen_all_and_localhost),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_free_with_request_in_flight),
        cmocka_unit_test(test_slow_reader_backpressure),
        cmocka_unit_test(test_fragmented_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
