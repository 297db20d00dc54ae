/* The web config loader: every key read into the right place, and refusals that name
 * file:line:col. */
#include "tn_test.h"

#include <mbedtls/ecp.h>
#include <mbedtls/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin/tls.h"
#include "tocsin/webconfig.h"

#define HASH_A "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"
#define HASH_B "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"

static tn_webconfig_t *parse(const char *text, char *err, size_t errlen)
{
    err[0] = 0;
    return tn_webconfig_parse("web.yml", "/etc/tocsin", text, strlen(text), err, errlen);
}

static void test_full(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_webconfig_t *c = parse("tls_server_config:\n"
                              "  cert_file: server.crt\n"
                              "  key_file: /abs/server.key\n"
                              "  client_auth_type: RequireAndVerifyClientCert\n"
                              "  client_ca_file: ca.crt\n"
                              "  min_version: TLS12\n"
                              "  max_version: TLS13\n"
                              "  cipher_suites:\n"
                              "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
                              "    - TLS_AES_128_GCM_SHA256\n"
                              "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
                              "  curve_preferences: [X25519, CurveP384]\n"
                              "  prefer_server_cipher_suites: false\n"
                              "  client_allowed_sans: [a.example, 10.0.0.1]\n"
                              "http_server_config:\n"
                              "  http2: false\n"
                              "  headers:\n"
                              "    X-Frame-Options: SameOrigin\n"
                              "    Strict-Transport-Security: max-age=31536000\n"
                              "    Content-Security-Policy: ''\n"
                              "basic_auth_users:\n"
                              "  alice: " HASH_A "\n"
                              "  bob: '" HASH_B "'\n"
                              "rate_limit:\n"
                              "  interval: 2s\n"
                              "  burst: 5\n",
                              err, sizeof(err));
    assert_non_null(c);
    assert_true(c->tls.enabled);
    assert_string_equal(c->tls.cert_file, "/etc/tocsin/server.crt");
    assert_string_equal(c->tls.key_file, "/abs/server.key");
    assert_string_equal(c->tls.client_ca_file, "/etc/tocsin/ca.crt");
    assert_int_equal(c->tls.client_auth, TN_CLIENT_AUTH_REQUIRE_VERIFY);
    assert_int_equal(c->tls.min_version, TN_TLS12);
    assert_int_equal(c->tls.max_version, TN_TLS13);
    assert_int_equal(c->tls.cipher_suites[0], MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
    assert_int_equal(c->tls.cipher_suites[1],
                     MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
    assert_int_equal(c->tls.cipher_suites[2], 0); /* the TLS 1.3 suite has no effect */
    assert_int_equal(c->tls.curves[0], MBEDTLS_ECP_DP_CURVE25519);
    assert_int_equal(c->tls.curves[1], MBEDTLS_ECP_DP_SECP384R1);
    assert_int_equal(c->tls.curves[2], 0);
    assert_false(c->tls.prefer_server_cipher_suites);
    assert_string_equal(c->tls.client_allowed_sans[1], "10.0.0.1");
    assert_null(c->tls.client_allowed_sans[2]);
    assert_false(c->http2);
    assert_int_equal(c->nheaders, 2); /* the blank one is unset */
    assert_string_equal(c->headers[0].name, "X-Frame-Options");
    assert_string_equal(c->headers[0].value, "SameOrigin");
    assert_int_equal(c->nusers, 2);
    assert_string_equal(c->users[1].name, "bob");
    assert_string_equal(c->users[1].hash, HASH_B);
    assert_int_equal(c->rate_interval, 2 * TN_NS_PER_SEC);
    assert_int_equal(c->rate_burst, 5);
    tn_webconfig_free(c);
}

static void test_defaults_and_empty(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    const char *empties[] = {"", "# nothing\n", "tls_server_config:\nbasic_auth_users: {}\n",
                             "tls_server_config:\n  cert_file: ''\n  client_auth_type: ''\n"};
    for (size_t i = 0; i < TN_ARRAY_LEN(empties); i++) {
        tn_webconfig_t *c = parse(empties[i], err, sizeof(err));
        assert_non_null(c);
        assert_false(c->tls.enabled);
        assert_true(c->http2);
        assert_true(c->tls.prefer_server_cipher_suites);
        assert_int_equal(c->nusers, 0);
        assert_int_equal(c->rate_interval, 0);
        tn_webconfig_free(c);
    }
    /* inline PEM counts as TLS */
    tn_webconfig_t *c = parse("tls_server_config:\n  cert: |\n    x\n  key: y\n", err, sizeof(err));
    assert_non_null(c);
    assert_true(c->tls.enabled);
    assert_string_equal(c->tls.cert, "x\n");
    tn_webconfig_free(c);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"nope: 1\n", "web.yml:1:1: field nope not found in web config"},
        {"tls_server_config:\n  cert_fil: a\n",
         "web.yml:2:3: field cert_fil not found in tls_server_config"},
        {"tls_server_config:\n  cert_file: a\n",
         "web.yml:2:3: tls_server_config: missing one of key or key_file"},
        {"tls_server_config:\n  key_file: a\n",
         "web.yml:2:3: tls_server_config: missing one of cert or cert_file"},
        {"tls_server_config:\n  client_auth_type: Sometimes\n",
         "web.yml:2:21: invalid ClientAuth: Sometimes"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
         "web.yml:2:3: client CA's have been configured without a Client Auth Policy"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n"
         "  client_auth_type: RequireAndVerifyClientCert\n",
         "needs client_ca_file"},
        {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: "
         "RequestClientCert\n  client_allowed_sans: [x]\n",
         "client_allowed_sans requires client_auth_type"},
        {"tls_server_config:\n  min_version: TLS14\n",
         "web.yml:2:16: min_version: unknown TLS version: TLS14"},
        {"tls_server_config:\n  cipher_suites: [TLS_FOO]\n",
         "web.yml:2:19: unknown cipher: TLS_FOO"},
        {"tls_server_config:\n  cipher_suites: TLS_FOO\n",
         "web.yml:2:18: cipher_suites: expected a list, got a scalar"},
        {"tls_server_config:\n  curve_preferences: [P256]\n", "web.yml:2:23: unknown curve: P256"},
        {"tls_server_config:\n  prefer_server_cipher_suites: yes\n",
         "web.yml:2:32: prefer_server_cipher_suites: expected true or false"},
        {"tls_server_config: [a]\n",
         "web.yml:1:20: tls_server_config: expected a mapping, got a sequence"},
        {"http_server_config:\n  headers:\n    Server: tocsin\n",
         "web.yml:3:5: HTTP header \"Server\" can not be configured"},
        {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
         "web.yml:3:29: invalid value for X-Content-Type-Options"},
        {"http_server_config:\n  headers:\n    X-Frame-Options: allow-from x\n",
         "web.yml:3:22: invalid value for X-Frame-Options"},
        {"http_server_config:\n  http3: true\n",
         "web.yml:2:3: field http3 not found in http_server_config"},
        {"basic_auth_users:\n  alice: secret\n",
         "web.yml:2:10: basic_auth_users: user \"alice\": not a bcrypt hash"},
        {"basic_auth_users:\n  alice: $1$abc$def\n", "user \"alice\": not a bcrypt hash"},
        {"basic_auth_users:\n  alice:\n", "web.yml:2:9: basic_auth_users: user \"alice\""},
        {"basic_auth_users: [alice]\n",
         "web.yml:1:19: basic_auth_users: expected a mapping, got a sequence"},
        {"rate_limit:\n  interval: soon\n", "web.yml:2:13: rate_limit.interval: not a duration"},
        {"rate_limit:\n  burst: -1\n", "web.yml:2:10: rate_limit.burst: not an integer"},
        {"basic_auth_users:\n  a: x\n  a: y\n", "web.yml:3:3"},
        {"tls_server_config: {\n", "web.yml:2:1"},
        {"- a\n", "web.yml:1:1: web config: expected a mapping, got a sequence"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char err[TN_ERRBUF_SIZE];
        tn_webconfig_t *c = parse(cases[i].text, err, sizeof(err));
        if (c || !strstr(err, cases[i].want))
            fail_msg("case %zu: want \"%s\", got %s \"%s\"", i, cases[i].want,
                     c ? "a config and" : "", err);
    }
}

static void test_secret_never_quoted(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_webconfig_t *c = parse("basic_auth_users:\n  alice: hunter2-plaintext\n", err, sizeof(err));
    assert_null(c);
    assert_null(strstr(err, "hunter2"));
}

static void test_min_tls13(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_webconfig_t *c = parse("tls_server_config:\n  min_version: TLS13\n", err, sizeof(err));
    if (tn_tls_has_tls13()) {
        tn_webconfig_free(c);
        skip();
    }
    assert_null(c);
    assert_non_null(strstr(err, "web.yml:2:16: min_version: TLS13 is not available"));
    /* max TLS13 is accepted (and clamped when the context is built) */
    c = parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS13\n", err,
              sizeof(err));
    assert_non_null(c);
    tn_webconfig_free(c);
}

static void test_load_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/tn-webconfig-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/web.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n", f);
    fclose(f);
    char err[TN_ERRBUF_SIZE];
    tn_webconfig_t *c = tn_webconfig_load(path, err, sizeof(err));
    assert_non_null(c);
    char want[160];
    snprintf(want, sizeof(want), "%s/s.crt", dir);
    assert_string_equal(c->tls.cert_file, want);
    tn_webconfig_free(c);
    f = fopen(path, "w");
    fputs("tls_server_config:\n  bogus: 1\n", f);
    fclose(f);
    assert_null(tn_webconfig_load(path, err, sizeof(err)));
    char where[160];
    snprintf(where, sizeof(where), "%s:2:3: field bogus", path);
    assert_non_null(strstr(err, where));
    unlink(path);
    assert_null(tn_webconfig_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),      cmocka_unit_test(test_defaults_and_empty),
        cmocka_unit_test(test_refusals),  cmocka_unit_test(test_secret_never_quoted),
        cmocka_unit_test(test_min_tls13), cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
