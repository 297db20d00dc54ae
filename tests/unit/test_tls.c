/* TLS on buffers: a handshake and data both ways against an mbedtls client, client
 * certificates, context errors. Certificates are made at test time with the openssl CLI. */
#include "tn_test.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_ctx_errors),
        cmocka_unit_test(test_garbage_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
