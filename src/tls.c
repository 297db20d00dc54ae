/* Server-side TLS with mbedtls over buffered bytes. The custom BIO callbacks read ciphertext
 * from the connection's input buffer and append what mbedtls sends to its output buffer; the
 * HTTP server moves those bytes to and from the socket. See docs/security.md. */
#include "tocsin/tls.h"

#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_IN_MAX (64 * 1024) /* a record is at most ~17 KiB; room for a few */

struct tn_tls_ctx {
    int refs;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt cert, ca;
    mbedtls_pk_context key;
    bool have_ca;
    enum tn_client_auth client_auth;
    int *ciphers;
    int *curves;
    char **sans;
};

struct tn_tls_conn {
    tn_tls_ctx_t *ctx;
    mbedtls_ssl_context ssl;
    char *in;
    size_t in_off, in_len, in_cap;
    tn_buf_t out;
    size_t out_off;
    bool ready, failed;
};

bool tn_tls_has_tls13(void)
{
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) || defined(MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL)
    return true;
#else
    return false;
#endif
}

static void tls_strerror(int rc, char *out, size_t outlen)
{
    char b[160];
    mbedtls_strerror(rc, b, sizeof(b));
    snprintf(out, outlen, "%s (-0x%04x)", b, (unsigned)-rc);
}

/* Verification callback for the modes that ask for a certificate but do not check it. */
static int tls_accept_any(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    TN_UNUSED(ud);
    TN_UNUSED(crt);
    TN_UNUSED(depth);
    *flags = 0;
    return 0;
}

static int *int_list_dup(const int *l)
{
    if (!l)
        return NULL;
    size_t n = 0;
    while (l[n])
        n++;
    int *d = tn_xmalloc((n + 1) * sizeof(int));
    memcpy(d, l, (n + 1) * sizeof(int));
    return d;
}

/* PEM text as mbedtls wants it: the length includes the terminating NUL. */
static int parse_crt(mbedtls_x509_crt *crt, const char *file, const char *inline_pem)
{
    if (file)
        return mbedtls_x509_crt_parse_file(crt, file);
    return mbedtls_x509_crt_parse(crt, (const unsigned char *)inline_pem, strlen(inline_pem) + 1);
}

tn_tls_ctx_t *tn_tls_ctx_new(const tn_webconfig_tls_t *cfg, char *err, size_t errlen)
{
    tn_tls_ctx_t *c = tn_xcalloc(1, sizeof(*c));
    char why[200];
    int rc;
    c->refs = 1;
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->cert);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_pk_init(&c->key);
    c->client_auth = cfg->client_auth;

    rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                               (const unsigned char *)"tocsin", 6);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "seeding the random generator: %s", why);
        goto fail;
    }
    rc = parse_crt(&c->cert, cfg->cert_file, cfg->cert);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        if (cfg->cert_file)
            snprintf(err, errlen, "failed to read cert_file (%s): %s", cfg->cert_file, why);
        else
            snprintf(err, errlen, "failed to parse cert: %s", why);
        goto fail;
    }
    if (cfg->key_file)
        rc = mbedtls_pk_parse_keyfile(&c->key, cfg->key_file, NULL);
    else
        rc = mbedtls_pk_parse_key(&c->key, (const unsigned char *)cfg->key, strlen(cfg->key) + 1,
                                  NULL, 0);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        if (cfg->key_file)
            snprintf(err, errlen, "failed to read key_file (%s): %s", cfg->key_file, why);
        else
            snprintf(err, errlen, "failed to parse key: %s", why);
        goto fail;
    }
    rc = mbedtls_pk_check_pair(&c->cert.pk, &c->key);
    if (rc) {
        snprintf(err, errlen, "failed to load X509KeyPair: private key does not match public key");
        goto fail;
    }
    if (cfg->client_ca_file || cfg->client_ca) {
        rc = parse_crt(&c->ca, cfg->client_ca_file, cfg->client_ca);
        if (rc < 0) {
            tls_strerror(rc, why, sizeof(why));
            snprintf(err, errlen, "failed to read client CA %s: %s",
                     cfg->client_ca_file ? cfg->client_ca_file : "(inline)", why);
            goto fail;
        }
        c->have_ca = true;
    }

    rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "TLS defaults: %s", why);
        goto fail;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "using the certificate: %s", why);
        goto fail;
    }
    int minv = cfg->min_version ? cfg->min_version : TN_TLS12;
    int maxv = cfg->max_version ? cfg->max_version : TN_TLS13;
    if (!tn_tls_has_tls13() && maxv > TN_TLS12)
        maxv = TN_TLS12;
    if (minv > maxv) {
        snprintf(err, errlen, "min_version is above what this build supports (TLS 1.2 at most)");
        goto fail;
    }
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, minv);
    mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, maxv);
    if (cfg->cipher_suites && cfg->cipher_suites[0]) {
        c->ciphers = int_list_dup(cfg->cipher_suites);
        mbedtls_ssl_conf_ciphersuites(&c->conf, c->ciphers);
    }
    if (cfg->curves && cfg->curves[0]) {
        c->curves = int_list_dup(cfg->curves);
        mbedtls_ssl_conf_curves(&c->conf, (const mbedtls_ecp_group_id *)c->curves);
    }
    if (cfg->client_allowed_sans) {
        size_t n = 0;
        while (cfg->client_allowed_sans[n])
            n++;
        c->sans = tn_xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            c->sans[i] = tn_xstrdup(cfg->client_allowed_sans[i]);
    }
    switch (cfg->client_auth) {
    case TN_CLIENT_AUTH_NONE:
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
        break;
    case TN_CLIENT_AUTH_REQUEST:
    case TN_CLIENT_AUTH_REQUIRE_ANY:
        /* asked for, checked after the handshake (presence only) */
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        mbedtls_ssl_conf_verify(&c->conf, tls_accept_any, NULL);
        break;
    case TN_CLIENT_AUTH_VERIFY_IF_GIVEN:
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        break;
    case TN_CLIENT_AUTH_REQUIRE_VERIFY:
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        break;
    }
    if (c->have_ca)
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    else if (cfg->client_auth != TN_CLIENT_AUTH_NONE) {
        /* mbedtls wants a chain to ask for certificates; this one is never trusted. The
         * request names no CA: clients (Go's) send only certificates from the CAs named. */
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->cert, NULL);
        mbedtls_ssl_conf_cert_req_ca_list(&c->conf, MBEDTLS_SSL_CERT_REQ_CA_LIST_DISABLED);
    }
    return c;
fail:
    tn_tls_ctx_unref(c);
    return NULL;
}

tn_tls_ctx_t *tn_tls_ctx_ref(tn_tls_ctx_t *ctx)
{
    ctx->refs++;
    return ctx;
}

void tn_tls_ctx_unref(tn_tls_ctx_t *c)
{
    if (!c || --c->refs > 0)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    mbedtls_x509_crt_free(&c->cert);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_pk_free(&c->key);
    free(c->ciphers);
    free(c->curves);
    if (c->sans) {
        for (size_t i = 0; c->sans[i]; i++)
            free(c->sans[i]);
        free(c->sans);
    }
    free(c);
}

/* ---- BIO on buffers ---- */

static int bio_send(void *ud, const unsigned char *p, size_t n)
{
    tn_tls_conn_t *t = ud;
    if (tn_buf_append(&t->out, p, n) < 0)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return (int)n;
}

static int bio_recv(void *ud, unsigned char *p, size_t n)
{
    tn_tls_conn_t *t = ud;
    size_t have = t->in_len - t->in_off;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > have)
        n = have;
    memcpy(p, t->in + t->in_off, n);
    t->in_off += n;
    if (t->in_off == t->in_len)
        t->in_off = t->in_len = 0;
    return (int)n;
}

tn_tls_conn_t *tn_tls_conn_new(tn_tls_ctx_t *ctx)
{
    tn_tls_conn_t *t = tn_xcalloc(1, sizeof(*t));
    t->ctx = tn_tls_ctx_ref(ctx);
    tn_buf_init(&t->out, 0);
    mbedtls_ssl_init(&t->ssl);
    if (mbedtls_ssl_setup(&t->ssl, &ctx->conf) != 0)
        t->failed = true;
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return t;
}

void tn_tls_conn_free(tn_tls_conn_t *t)
{
    if (!t)
        return;
    mbedtls_ssl_free(&t->ssl);
    tn_tls_ctx_unref(t->ctx);
    tn_buf_free(&t->out);
    free(t->in);
    free(t);
}

void tn_tls_conn_in_space(tn_tls_conn_t *t, char **p, size_t *len)
{
    if (t->in_off && t->in_off == t->in_len)
        t->in_off = t->in_len = 0;
    if (t->in_off && t->in_cap - t->in_len < 4096) {
        memmove(t->in, t->in + t->in_off, t->in_len - t->in_off);
        t->in_len -= t->in_off;
        t->in_off = 0;
    }
    if (t->in_cap - t->in_len < 4096 && t->in_cap < TLS_IN_MAX) {
        size_t cap = t->in_cap ? t->in_cap * 2 : 18 * 1024;
        if (cap > TLS_IN_MAX)
            cap = TLS_IN_MAX;
        t->in = tn_xrealloc(t->in, cap);
        t->in_cap = cap;
    }
    *p = t->in + t->in_len;
    *len = t->in_cap - t->in_len;
}

void tn_tls_conn_in_commit(tn_tls_conn_t *t, size_t n)
{
    t->in_len += n;
}

/* The checks Go's client auth types make that mbedtls' authmodes do not. */
static int tls_check_peer(tn_tls_conn_t *t, char *err, size_t errlen)
{
    tn_tls_ctx_t *c = t->ctx;
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
    if (c->client_auth == TN_CLIENT_AUTH_REQUIRE_ANY && !peer) {
        snprintf(err, errlen, "client didn't provide a certificate");
        return TN_ERR_IO;
    }
    if (c->client_auth == TN_CLIENT_AUTH_VERIFY_IF_GIVEN && peer &&
        mbedtls_ssl_get_verify_result(&t->ssl) != 0) {
        snprintf(err, errlen, "client certificate verification failed");
        return TN_ERR_IO;
    }
    if (c->sans) {
        if (!peer) {
            snprintf(err, errlen,
                     "client did not present a certificate to match against "
                     "client_allowed_sans");
            return TN_ERR_IO;
        }
        for (const mbedtls_x509_sequence *s = &peer->subject_alt_names; s && s->buf.p;
             s = s->next) {
            char v[256];
            int type = s->buf.tag & 0x1f;
            size_t n = s->buf.len;
            if (type == 7 && (n == 4 || n == 16)) {
                if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, s->buf.p, v, sizeof(v)))
                    continue;
            } else if (type == 1 || type == 2 || type == 6) {
                if (n >= sizeof(v))
                    continue;
                memcpy(v, s->buf.p, n);
                v[n] = 0;
            } else {
                continue;
            }
            for (size_t i = 0; c->sans[i]; i++)
                if (strcmp(c->sans[i], v) == 0)
                    return 0;
        }
        snprintf(err, errlen, "could not find allowed SANs in client cert");
        return TN_ERR_IO;
    }
    return 0;
}

int tn_tls_conn_handshake(tn_tls_conn_t *t, char *err, size_t errlen)
{
    if (t->ready)
        return 1;
    if (t->failed) {
        snprintf(err, errlen, "TLS setup failed");
        return TN_ERR_IO;
    }
    int rc = mbedtls_ssl_handshake(&t->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    if (rc != 0) {
        t->failed = true;
        tls_strerror(rc, err, errlen);
        return TN_ERR_IO;
    }
    if (tls_check_peer(t, err, errlen) < 0) {
        t->failed = true;
        mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
        return TN_ERR_IO;
    }
    t->ready = true;
    return 1;
}

bool tn_tls_conn_ready(const tn_tls_conn_t *t)
{
    return t->ready;
}

bool tn_tls_conn_plain_http(const tn_tls_conn_t *t)
{
    static const char *const methods[] = {"GET ",    "HEAD ",    "POST ",  "PUT ",
                                          "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "};
    if (t->ready)
        return false;
    const char *p = t->in + t->in_off;
    size_t n = t->in_len - t->in_off;
    for (size_t i = 0; i < TN_ARRAY_LEN(methods); i++) {
        size_t l = strlen(methods[i]);
        if (n >= l && memcmp(p, methods[i], l) == 0)
            return true;
    }
    return false;
}

long tn_tls_conn_read(tn_tls_conn_t *t, char *buf, size_t len)
{
    if (!t->ready || t->failed)
        return TN_ERR_IO;
    int rc = mbedtls_ssl_read(&t->ssl, (unsigned char *)buf, len);
    if (rc > 0)
        return rc;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    t->failed = true;
    return TN_ERR_IO; /* close_notify (rc 0 or PEER_CLOSE_NOTIFY) or a broken record */
}

bool tn_tls_conn_pending(const tn_tls_conn_t *t)
{
    return t->in_len > t->in_off || mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 ||
           mbedtls_ssl_check_pending(&t->ssl);
}

int tn_tls_conn_write(tn_tls_conn_t *t, const char *p, size_t len)
{
    if (!t->ready || t->failed)
        return TN_ERR_IO;
    while (len) {
        int rc = mbedtls_ssl_write(&t->ssl, (const unsigned char *)p, len);
        if (rc <= 0) {
            t->failed = true;
            return TN_ERR_IO;
        }
        p += rc;
        len -= (size_t)rc;
    }
    return 0;
}

void tn_tls_conn_close_notify(tn_tls_conn_t *t)
{
    if (t->ready && !t->failed)
        mbedtls_ssl_close_notify(&t->ssl);
}

const char *tn_tls_conn_out(tn_tls_conn_t *t, size_t *len)
{
    *len = t->out.len - t->out_off;
    return t->out.data ? t->out.data + t->out_off : "";
}

void tn_tls_conn_out_consume(tn_tls_conn_t *t, size_t n)
{
    t->out_off += n;
    if (t->out_off >= t->out.len) {
        t->out_off = 0;
        t->out.len = 0;
        if (t->out.alloc > 64 * 1024) { /* a big response went out: give the memory back */
            tn_buf_free(&t->out);
            tn_buf_init(&t->out, 0);
        }
    }
}
