/* TLS on buffers: a handshake and data both ways against an mbedtls client, client
 * certificates, context errors. Certificates are made at test time with the openssl CLI. */
#include "tn_test.h"

#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/http.h"
#include "tocsin/tls.h"

static char dir[] = "/tmp/tn-tls-XXXXXX";

static void sh(const char *fmt, const char *arg)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof(cmd) - n, fmt, arg, arg, arg, arg);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static char *path(const char *f)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, f);
    return buf[i];
}

#define KEYGEN "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
       "-out %s.crt -days 2 -subj /CN=ca 2>/dev/null",
       "ca");
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
       "-out %s.crt -days 2 -subj /CN=other 2>/dev/null",
       "other");
    const char *names[] = {"srv", "cli"};
    for (int i = 0; i < 2; i++) {
        sh(KEYGEN "-keyout %s.key -out %s.csr -subj /CN=localhost 2>/dev/null", names[i]);
        sh("printf 'subjectAltName=DNS:localhost\\n' > %s.ext && openssl x509 -req -in %s.csr "
           "-CA ca.crt -CAkey ca.key -CAcreateserial -out %s.crt -days 2 -extfile %s.ext "
           "2>/dev/null",
           names[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- an mbedtls client on buffers ---- */

typedef struct client {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, crt;
    mbedtls_pk_context key;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    tn_buf_t in, out; /* in: from the server; out: to the server */
    size_t in_off;
} client_t;

static int cl_send(void *ud, const unsigned char *p, size_t n)
{
    client_t *c = ud;
    tn_buf_append(&c->out, p, n);
    return (int)n;
}

static int cl_recv(void *ud, unsigned char *p, size_t n)
{
    client_t *c = ud;
    size_t have = c->in.len - c->in_off;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    n = TN_MIN(n, have);
    memcpy(p, c->in.data + c->in_off, n);
    c->in_off += n;
    return (int)n;
}

static void client_init(client_t *c, const char *ca, const char *cert, int max_minor)
{
    memset(c, 0, sizeof(*c));
    mbedtls_ssl_init(&c->ssl);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->crt);
    mbedtls_pk_init(&c->key);
    mbedtls_entropy_init(&c->ent);
    mbedtls_ctr_drbg_init(&c->drbg);
    tn_buf_init(&c->in, 0);
    tn_buf_init(&c->out, 0);
    assert_int_equal(mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, NULL, 0), 0);
    assert_int_equal(mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    assert_int_equal(mbedtls_x509_crt_parse_file(&c->ca, path(ca)), 0);
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    if (max_minor)
        mbedtls_ssl_conf_max_version(&c->conf, 3, max_minor);
    if (cert) {
        char f[64];
        snprintf(f, sizeof(f), "%s.crt", cert);
        assert_int_equal(mbedtls_x509_crt_parse_file(&c->crt, path(f)), 0);
        snprintf(f, sizeof(f), "%s.key", cert);
        assert_int_equal(mbedtls_pk_parse_keyfile(&c->key, path(f), NULL), 0);
        mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->key);
    }
    assert_int_equal(mbedtls_ssl_setup(&c->ssl, &c->conf), 0);
    mbedtls_ssl_set_hostname(&c->ssl, "localhost");
    mbedtls_ssl_set_bio(&c->ssl, c, cl_send, cl_recv, NULL);
}

static void client_free(client_t *c)
{
    mbedtls_ssl_free(&c->ssl);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crt_free(&c->crt);
    mbedtls_pk_free(&c->key);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->ent);
    tn_buf_free(&c->in);
    tn_buf_free(&c->out);
}

/* Moves bytes both ways, in socket-sized pieces. */
static void pump(client_t *c, tn_tls_conn_t *s)
{
    size_t off = 0;
    while (off < c->out.len) {
        char *p;
        size_t room;
        tn_tls_conn_in_space(s, &p, &room);
        assert_true(room > 0);
        size_t n = TN_MIN(room, c->out.len - off);
        n = TN_MIN(n, (size_t)1000); /* partial records on purpose */
        memcpy(p, c->out.data + off, n);
        tn_tls_conn_in_commit(s, n);
        off += n;
    }
    tn_buf_reset(&c->out);
    size_t len;
    const char *o = tn_tls_conn_out(s, &len);
    tn_buf_append(&c->in, o, len);
    tn_tls_conn_out_consume(s, len);
}

/* Runs both handshakes. Returns the server's result (1 or an error), err set on error. */
static int handshake(client_t *c, tn_tls_conn_t *s, char *err, size_t errlen)
{
    int srv = 0, cl = 1;
    for (int i = 0; i < 40; i++) {
        if (cl != 0)
            cl = mbedtls_ssl_handshake(&c->ssl);
        pump(c, s);
        srv = tn_tls_conn_handshake(s, err, errlen);
        pump(c, s);
        if (srv < 0)
            return srv;
        if (srv == 1 && cl == 0)
            return 1;
        if (cl != 0 && cl != MBEDTLS_ERR_SSL_WANT_READ && cl != MBEDTLS_ERR_SSL_WANT_WRITE) {
            snprintf(err, errlen, "client: -0x%x", (unsigned)-cl);
            return -100;
        }
    }
    return -101;
}

static tn_tls_ctx_t *ctx_with(enum tn_client_auth mode, const char *ca)
{
    tn_webconfig_tls_t cfg = {.enabled = true};
    cfg.cert_file = path("srv.crt");
    cfg.key_file = path("srv.key");
    cfg.client_ca_file = ca ? path(ca) : NULL;
    cfg.client_auth = mode;
    char err[TN_ERRBUF_SIZE];
    tn_tls_ctx_t *ctx = tn_tls_ctx_new(&cfg, err, sizeof(err));
    if (!ctx)
        fail_msg("ctx: %s", err);
    return ctx;
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    tn_tls_ctx_t *ctx = ctx_with(TN_CLIENT_AUTH_NONE, NULL);
    tn_tls_conn_t *s = tn_tls_conn_new(ctx);
    tn_tls_ctx_unref(ctx); /* the connection keeps its own reference */
    client_t c;
    client_init(&c, "ca.crt", NULL, 0);
    char err[256] = "";
    assert_int_equal(handshake(&c, s, err, sizeof(err)), 1);
    assert_true(tn_tls_conn_ready(s));
    assert_string_equal(mbedtls_ssl_get_version(&c.ssl), "TLSv1.2");

    static const char req[] = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(mbedtls_ssl_write(&c.ssl, (const unsigned char *)req, sizeof(req) - 1),
                     (int)sizeof(req) - 1);
    pump(&c, s);
    assert_true(tn_tls_conn_pending(s));
    char got[256];
    long n = tn_tls_conn_read(s, got, sizeof(got));
    assert_int_equal(n, sizeof(req) - 1);
    assert_memory_equal(got, req, sizeof(req) - 1);
    assert_int_equal(tn_tls_conn_read(s, got, sizeof(got)), 0); /* nothing more: needs input */

    /* a body bigger than a record goes out in several */
    size_t big = 100000;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('a' + i % 26);
    assert_int_equal(tn_tls_conn_write(s, body, big), 0);
    pump(&c, s);
    char *back = malloc(big);
    size_t have = 0;
    while (have < big) {
        int r = mbedtls_ssl_read(&c.ssl, (unsigned char *)back + have, big - have);
        assert_true(r > 0);
        have += (size_t)r;
    }
    assert_memory_equal(back, body, big);
    free(body);
    free(back);

    /* close_notify from the peer reads as the end of the stream */
    mbedtls_ssl_close_notify(&c.ssl);
    pump(&c, s);
    assert_int_equal(tn_tls_conn_read(s, got, sizeof(got)), TN_ERR_IO);
    tn_tls_conn_free(s);
    client_free(&c);
}

static void test_client_certificates(void **state)
{
    (void)state;
    static const struct {
        enum tn_client_auth mode;
        const char *ca;
        bool none_ok, good_ok;
    } cases[] = {
        {TN_CLIENT_AUTH_REQUEST, NULL, true, true},
        {TN_CLIENT_AUTH_REQUIRE_ANY, NULL, false, true},
        {TN_CLIENT_AUTH_VERIFY_IF_GIVEN, "ca.crt", true, true},
        {TN_CLIENT_AUTH_REQUIRE_VERIFY, "ca.crt", false, true},
        {TN_CLIENT_AUTH_REQUIRE_VERIFY, "other.crt", false, false},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        for (int with = 0; with < 2; with++) {
            tn_tls_ctx_t *ctx = ctx_with(cases[i].mode, cases[i].ca);
            tn_tls_conn_t *s = tn_tls_conn_new(ctx);
            client_t c;
            client_init(&c, "ca.crt", with ? "cli" : NULL, 0);
            char err[256] = "";
            int rc = handshake(&c, s, err, sizeof(err));
            bool want = with ? cases[i].good_ok : cases[i].none_ok;
            if ((rc == 1) != want)
                fail_msg("case %zu with=%d: rc %d (%s)", i, with, rc, err);
            tn_tls_conn_free(s);
            tn_tls_ctx_unref(ctx);
            client_free(&c);
        }
    }
}

static void test_ctx_errors(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_webconfig_tls_t cfg = {.enabled = true};
    cfg.cert_file = path("missing.crt");
    cfg.key_file = path("srv.key");
    assert_null(tn_tls_ctx_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "failed to read cert_file"));
    assert_non_null(strstr(err, "missing.crt"));
    cfg.cert_file = path("srv.crt");
    cfg.key_file = path("cli.key");
    assert_null(tn_tls_ctx_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "does not match"));
    cfg.key_file = path("srv.crt");
    assert_null(tn_tls_ctx_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "failed to read key_file"));
    cfg.key_file = path("srv.key");
    cfg.min_version = TN_TLS13;
    cfg.max_version = TN_TLS13;
    tn_tls_ctx_t *ctx = tn_tls_ctx_new(&cfg, err, sizeof(err));
    if (!tn_tls_has_tls13()) {
        assert_null(ctx);
        assert_non_null(strstr(err, "TLS 1.2 at most"));
    }
    tn_tls_ctx_unref(ctx);
    /* max TLS 1.2 with a TLS 1.2 client works; a TLS 1.1-only client does not */
    cfg.min_version = TN_TLS12;
    cfg.max_version = TN_TLS12;
    ctx = tn_tls_ctx_new(&cfg, err, sizeof(err));
    assert_non_null(ctx);
    tn_tls_conn_t *s = tn_tls_conn_new(ctx);
    client_t c;
    client_init(&c, "ca.crt", NULL, MBEDTLS_SSL_MINOR_VERSION_2);
    assert_true(handshake(&c, s, err, sizeof(err)) < 0);
    tn_tls_conn_free(s);
    client_free(&c);
    tn_tls_ctx_unref(ctx);
}

static void test_garbage_input(void **state)
{
    (void)state;
    tn_tls_ctx_t *ctx = ctx_with(TN_CLIENT_AUTH_NONE, NULL);
    tn_tls_conn_t *s = tn_tls_conn_new(ctx);
    char *p;
    size_t room;
    tn_tls_conn_in_space(s, &p, &room);
    static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(room >= sizeof(get));
    memcpy(p, get, sizeof(get) - 1);
    tn_tls_conn_in_commit(s, sizeof(get) - 1);
    char err[256];
    assert_int_equal(tn_tls_conn_handshake(s, err, sizeof(err)), TN_ERR_IO);
    assert_true(strlen(err) > 0);
    assert_int_equal(tn_tls_conn_read(s, err, sizeof(err)), TN_ERR_IO);
    assert_int_equal(tn_tls_conn_write(s, "x", 1), TN_ERR_IO);
    /* input is bounded: without draining, room runs out */
    size_t total = 0;
    for (int i = 0; i < 100; i++) {
        tn_tls_conn_in_space(s, &p, &room);
        if (!room)
            break;
        memset(p, 0x16, room);
        tn_tls_conn_in_commit(s, room);
        total += room;
    }
    assert_true(total <= 64 * 1024);
    tn_tls_conn_free(s);
    tn_tls_ctx_unref(ctx);
}

/* ---- the HTTP server over TLS, on a real loop ---- */

typedef struct srv_harness {
    uv_loop_t loop;
    tn_http_server_t *srv;
    tn_tls_ctx_t *ctx;
    uv_async_t done;
    pthread_t th;
    int port;
    int accepts;
    /* client results */
    tn_buf_t pipelined, big, plain;
    long idle_close_ms, partial_close_ms;
    bool client_failed;
} srv_harness_t;

static void srv_handler(void *ud, tn_http_req_t *r)
{
    TN_UNUSED(ud);
    size_t blen;
    const char *body = tn_http_req_body(r, &blen);
    unsigned sum = 0;
    for (size_t i = 0; i < blen; i++)
        sum = sum * 31 + (unsigned char)body[i];
    if (strcmp(tn_http_req_path(r), "/big") == 0) {
        size_t n = 200000;
        char *b = malloc(n);
        memset(b, 'z', n);
        tn_http_respond(r, 200, "text/plain", b, n);
        free(b);
        return;
    }
    char out[128];
    int n = snprintf(out, sizeof(out), "path=%s len=%zu sum=%u", tn_http_req_path(r), blen, sum);
    tn_http_respond(r, 200, "text/plain", out, (size_t)n);
}

static struct tn_tls_ctx *srv_tls(void *ud)
{
    srv_harness_t *h = ud;
    h->accepts++;
    return h->ctx;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int fd_send(void *ud, const unsigned char *p, size_t n)
{
    ssize_t w = send(*(int *)ud, p, n, MSG_NOSIGNAL);
    return w < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)w;
}

static int fd_recv(void *ud, unsigned char *p, size_t n)
{
    ssize_t r = recv(*(int *)ud, p, n, 0);
    return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

/* One TLS exchange: sends req, reads until the server closes. false on a TLS failure. */
static bool tls_exchange(client_t *c, int port, const char *req, size_t len, tn_buf_t *out)
{
    int fd = tcp_connect(port);
    if (fd < 0)
        return false;
    mbedtls_ssl_set_bio(&c->ssl, &fd, fd_send, fd_recv, NULL);
    bool ok = false;
    int rc;
    while ((rc = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
            goto out;
    for (size_t off = 0; off < len;) {
        rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)req + off, len - off);
        if (rc <= 0)
            goto out;
        off += (size_t)rc;
    }
    for (;;) {
        char b[4096];
        rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)b, sizeof(b));
        if (rc > 0) {
            tn_buf_append(out, b, (size_t)rc);
            continue;
        }
        ok = rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
        break;
    }
out:
    close(fd);
    mbedtls_ssl_session_reset(&c->ssl);
    return ok;
}

/* Milliseconds until the server closes a connection that sent `first` (maybe nothing). */
static long time_to_close(int port, const char *first, size_t n)
{
    int fd = tcp_connect(port);
    if (fd < 0)
        return -1;
    long t0 = mono_ms();
    if (n)
        send(fd, first, n, MSG_NOSIGNAL);
    char b[256];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
    long dt = mono_ms() - t0;
    close(fd);
    return dt;
}

static void *srv_client(void *arg)
{
    srv_harness_t *h = arg;
    client_t c;
    /* cmocka asserts are not for this thread: client_init's would be, but they hold here */
    client_init(&c, "ca.crt", NULL, 0);
    size_t blen = 100000;
    tn_buf_t req;
    tn_buf_init(&req, 0);
    tn_buf_puts(&req, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    tn_buf_printf(&req,
                  "POST /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  blen);
    for (size_t i = 0; i < blen; i++)
        tn_buf_putc(&req, (char)('a' + i % 7));
    if (!tls_exchange(&c, h->port, req.data, req.len, &h->pipelined))
        h->client_failed = true;
    tn_buf_free(&req);
    static const char big[] = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (!tls_exchange(&c, h->port, big, sizeof(big) - 1, &h->big))
        h->client_failed = true;
    client_free(&c);
    h->idle_close_ms = time_to_close(h->port, NULL, 0);
    static const char hello_start[] = "\x16\x03\x01\x00\xff\x01"; /* a ClientHello, cut short */
    h->partial_close_ms = time_to_close(h->port, hello_start, sizeof(hello_start) - 1);
    int fd = tcp_connect(h->port);
    if (fd >= 0) {
        static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL);
        char b[512];
        ssize_t r;
        while ((r = recv(fd, b, sizeof(b), 0)) > 0)
            tn_buf_append(&h->plain, b, (size_t)r);
        close(fd);
    }
    uv_async_send(&h->done);
    return NULL;
}

static void srv_done(uv_async_t *a)
{
    srv_harness_t *h = a->data;
    tn_http_server_free(h->srv);
    uv_close((uv_handle_t *)&h->done, NULL);
}

static void test_http_over_tls(void **state)
{
    (void)state;
    srv_harness_t h;
    memset(&h, 0, sizeof(h));
    tn_buf_init(&h.pipelined, 0);
    tn_buf_init(&h.big, 0);
    tn_buf_init(&h.plain, 0);
    h.ctx = ctx_with(TN_CLIENT_AUTH_NONE, NULL);
    assert_int_equal(uv_loop_init(&h.loop), 0);
    tn_http_limits_t lim;
    tn_http_limits_default(&lim);
    lim.tls_handshake_timeout_ms = 300;
    h.srv = tn_http_server_new(&h.loop, &lim, srv_handler, &h);
    tn_http_server_set_tls(h.srv, srv_tls, &h);
    char err[256];
    assert_int_equal(tn_http_server_listen(h.srv, "127.0.0.1:0", err, sizeof(err)), 0);
    h.port = tn_http_server_port(h.srv);
    h.done.data = &h;
    assert_int_equal(uv_async_init(&h.loop, &h.done, srv_done), 0);
    assert_int_equal(pthread_create(&h.th, NULL, srv_client, &h), 0);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    pthread_join(h.th, NULL);
    assert_int_equal(uv_loop_close(&h.loop), 0);
    tn_tls_ctx_unref(h.ctx);

    assert_false(h.client_failed);
    const char *p = tn_buf_cstr(&h.pipelined);
    assert_non_null(strstr(p, "path=/a len=0"));
    char want[64];
    unsigned sum = 0;
    for (size_t i = 0; i < 100000; i++)
        sum = sum * 31 + (unsigned char)('a' + i % 7);
    snprintf(want, sizeof(want), "path=/b len=100000 sum=%u", sum);
    assert_non_null(strstr(p, want));
    assert_true(strstr(p, "path=/a") < strstr(p, "path=/b")); /* in order */
    assert_true(h.big.len > 200000);
    assert_non_null(strstr(tn_buf_cstr(&h.big), "Content-Length: 200000\r\n"));
    /* silent and half-done handshakes are cut at the handshake timeout */
    assert_true(h.idle_close_ms >= 250 && h.idle_close_ms < 3000);
    assert_true(h.partial_close_ms >= 250 && h.partial_close_ms < 3000);
    assert_non_null(strstr(tn_buf_cstr(&h.plain), "HTTP/1.0 400 Bad Request"));
    assert_non_null(strstr(tn_buf_cstr(&h.plain), "HTTP request to an HTTPS server"));
    assert_int_equal(h.accepts, 5);
    tn_buf_free(&h.pipelined);
    tn_buf_free(&h.big);
    tn_buf_free(&h.plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data), cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_ctx_errors),         cmocka_unit_test(test_garbage_input),
        cmocka_unit_test(test_http_over_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
