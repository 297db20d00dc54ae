/* Asynchronous Redis client: hiredis for the protocol only (reply reader, command formatter),
 * the socket, TLS (mbedtls over memory BIOs), timeouts and reconnection here on the libuv loop.
 *
 * Lifetimes: a tn_redis_t owns three timers and at most one current connection attempt
 * (rd_conn_t). A connection that fails is detached and closed; its memory goes in the close
 * callback of its TCP handle, which is also where the client itself may finally go. So no
 * memory disappears under a running callback: code that ran a user callback only checks
 * c->closing / conn->dead before going on. */
#include "tocsin/redis.h"

#include <hiredis.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_CONNECT_TIMEOUT_MS 2000
#define RD_COMMAND_TIMEOUT_MS 2000
#define RD_RECONNECT_MIN_MS   100
#define RD_RECONNECT_MAX_MS   5000
#define RD_MAX_PENDING        ((size_t)64 << 20)
#define RD_REPLY_MAX          ((size_t)512 << 20) /* one reply, buffered and parsed */
#define RD_READ_CHUNK         (64 * 1024)
#define RD_TLS_IN_MAX         (1024 * 1024) /* ciphertext not yet decrypted */
#define RD_SUB_PING_MS        5000          /* a quiet subscriber still notices a dead peer */
#define RD_SYSTEM_CA          "/etc/ssl/certs/ca-certificates.crt"
#define RD_ERRLEN             1024 /* room for an address and a reason */

typedef struct rd_cmd {
    struct rd_cmd *next;
    tn_redis_reply_fn cb;
    void *ud;
    size_t bytes;
    uint64_t sent_ms;
    bool ping; /* the subscriber's keepalive */
} rd_cmd_t;

enum rd_role { RD_MAIN, RD_SENTINEL };
enum rd_phase { PH_RESOLVE, PH_CONNECT, PH_TLS, PH_HELLO, PH_UP };
enum rd_tcp { RD_TCP_NONE, RD_TCP_OPEN, RD_TCP_CLOSING };

typedef struct rd_conn {
    tn_redis_t *c; /* NULL once detached from a closing client */
    enum rd_role role;
    enum rd_phase phase;
    enum rd_tcp tcp_state;
    bool resolving, dead, writing, retry_next;
    char *host;
    int port;
    char addr[300]; /* "host:port", for messages */
    uv_getaddrinfo_t gai;
    struct addrinfo *ai, *ai_next;
    struct sockaddr_storage sa; /* a numeric host, tried once */
    bool have_sa;
    uv_tcp_t tcp;
    uv_connect_t creq;
    char last_err[TN_ERRBUF_SIZE];
    char broken[TN_ERRBUF_SIZE]; /* a write failed where the caller cannot take a callback */
    redisReader *reader;
    size_t reply_bytes; /* of the reply being parsed */
    bool reply_too_big;
    tn_buf_t out; /* bytes for the socket, waiting for the write in flight */
    /* handshake replies still expected, in order */
    bool hs_auth, hs_select, hs_role, hs_sentinel;
    size_t hs_subs;
    bool tls, ssl_init;
    mbedtls_ssl_context ssl;
    tn_buf_t tls_in;
    size_t tls_in_off;
    char rbuf[RD_READ_CHUNK];
} rd_conn_t;

typedef struct rd_write {
    uv_write_t req;
    rd_conn_t *conn;
    char *data;
} rd_write_t;

struct tn_redis {
    uv_loop_t *loop;
    tn_redis_url_t url;
    tn_redis_opts_t opts; /* strings and channels owned */
    uv_timer_t t_connect, t_cmd, t_retry;
    int open_timers;
    unsigned nconns; /* attached rd_conn_t */
    rd_conn_t *conn;
    bool up, closing;
    size_t sentinel_idx;
    rd_cmd_t *head, *tail;
    size_t pending_bytes;
    uint64_t backoff_ms;
    uint64_t last_ping_ms;
    uint64_t rng;
    char addr[300];
    char sentinel_err[TN_ERRBUF_SIZE];
    bool tls_ready;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
};

static void conn_start(tn_redis_t *c, enum rd_role role, const char *host, int port);
static void conn_close(rd_conn_t *conn);
static void conn_failed(rd_conn_t *conn, const char *err);
static void client_failed(tn_redis_t *c, const char *err);
static void arm_cmd_timer(tn_redis_t *c);
static void on_cmd_timer(uv_timer_t *t);
static void on_connect_timer(uv_timer_t *t);
static void on_retry_timer(uv_timer_t *t);

/* ---- URL ---- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* NULL for a bad escape or a NUL byte; the text is never echoed (it may be the password). */
static char *pct_decode(const char *p, size_t n)
{
    char *d = tn_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            d[o++] = p[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)p[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)p[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(d);
            return NULL;
        }
        d[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[o] = 0;
    return d;
}

static int parse_port(const char *p, size_t n, int *out)
{
    if (n == 0 || n > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static int parse_host(const char *p, size_t n, int defport, char **host, int *port, char *err,
                      size_t errlen)
{
    const char *h = p, *portp = NULL;
    size_t hlen;
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb) {
            snprintf(err, errlen, "missing ']' in host \"%.*s\"", (int)n, p);
            return -1;
        }
        h = p + 1;
        hlen = (size_t)(rb - h);
        size_t rest = n - (size_t)(rb + 1 - p);
        if (rest) {
            if (rb[1] != ':') {
                snprintf(err, errlen, "unexpected text after ']' in host \"%.*s\"", (int)n, p);
                return -1;
            }
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', n);
        hlen = colon ? (size_t)(colon - p) : n;
        if (colon) {
            if (memchr(colon + 1, ':', n - hlen - 1)) {
                snprintf(err, errlen, "an IPv6 address must be in brackets: \"%.*s\"", (int)n, p);
                return -1;
            }
            portp = colon + 1;
        }
    }
    if (!hlen) {
        snprintf(err, errlen, "missing host in \"%.*s\"", (int)n, p);
        return -1;
    }
    *port = defport;
    if (portp) {
        size_t plen = n - (size_t)(portp - p);
        if (parse_port(portp, plen, port) < 0) {
            snprintf(err, errlen, "invalid port \"%.*s\"", (int)plen, portp);
            return -1;
        }
    }
    *host = tn_xstrndup(h, hlen);
    return 0;
}

static int parse_db(const char *p, size_t n, int *db)
{
    if (n == 0 || n > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *db = v;
    return 0;
}

int tn_redis_url_parse(const char *s, tn_redis_url_t *out, char *err, size_t errlen)
{
    static const struct {
        const char *prefix;
        bool tls, sentinel;
    } schemes[] = {
        {"redis://", false, false},
        {"rediss://", true, false},
        {"redis+sentinel://", false, true},
        {"rediss+sentinel://", true, true},
    };
    memset(out, 0, sizeof(*out));
    const char *p = NULL;
    for (size_t i = 0; i < TN_ARRAY_LEN(schemes); i++) {
        size_t n = strlen(schemes[i].prefix);
        if (!strncmp(s, schemes[i].prefix, n)) {
            p = s + n;
            out->tls = schemes[i].tls;
            out->sentinel = schemes[i].sentinel;
            break;
        }
    }
    if (!p) {
        snprintf(err, errlen,
                 "unsupported redis URL scheme: want redis://, rediss:// or redis+sentinel://");
        return TN_ERR_INVAL;
    }
    if (strpbrk(p, "?#")) {
        snprintf(err, errlen, "query parameters and fragments are not supported in a redis URL");
        return TN_ERR_INVAL;
    }
    const char *slash = strchr(p, '/');
    const char *auth_end = slash ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        /* As go-redis: "user:pass", ":pass", or a lone word that is the password. */
        const char *pw = colon ? colon + 1 : p;
        size_t pwlen = (size_t)(at - pw);
        if (colon && colon > p) {
            out->user = pct_decode(p, (size_t)(colon - p));
            if (!out->user) {
                snprintf(err, errlen, "invalid %%-escape in the redis URL's user name");
                goto fail;
            }
        }
        if (pwlen) {
            out->password = pct_decode(pw, pwlen);
            if (!out->password) {
                snprintf(err, errlen, "invalid %%-escape in the redis URL's password");
                goto fail;
            }
        }
        p = at + 1;
    }
    int defport = out->sentinel ? 26379 : 6379;
    for (const char *h = p;;) {
        const char *comma = memchr(h, ',', (size_t)(auth_end - h));
        const char *hend = comma ? comma : auth_end;
        if (out->nhosts && !out->sentinel) {
            snprintf(err, errlen, "redis:// takes one host (a list is for redis+sentinel://)");
            goto fail;
        }
        out->hosts = tn_xrealloc(out->hosts, (out->nhosts + 1) * sizeof(char *));
        out->ports = tn_xrealloc(out->ports, (out->nhosts + 1) * sizeof(int));
        if (parse_host(h, (size_t)(hend - h), defport, &out->hosts[out->nhosts],
                       &out->ports[out->nhosts], err, errlen) < 0)
            goto fail;
        out->nhosts++;
        if (!comma)
            break;
        h = comma + 1;
    }
    /* the path: /db, or /master[/db] for sentinels */
    const char *path = slash ? slash + 1 : auth_end;
    size_t plen = strlen(path);
    if (out->sentinel) {
        const char *s2 = memchr(path, '/', plen);
        size_t mlen = s2 ? (size_t)(s2 - path) : plen;
        if (!mlen) {
            snprintf(err, errlen,
                     "redis+sentinel:// needs the master's name: "
                     "redis+sentinel://host:port[,host:port]/master[/db]");
            goto fail;
        }
        out->master = tn_xstrndup(path, mlen);
        if (s2) {
            path = s2 + 1;
            plen = strlen(path);
        } else {
            plen = 0;
        }
    }
    if (plen && parse_db(path, plen, &out->db) < 0) {
        snprintf(err, errlen, "invalid database number \"%.*s\" in redis URL",
                 (int)TN_MIN(plen, 40), path);
        goto fail;
    }
    return TN_OK;
fail:
    tn_redis_url_free(out);
    return TN_ERR_INVAL;
}

void tn_redis_url_free(tn_redis_url_t *u)
{
    if (!u)
        return;
    free(u->user);
    free(u->password);
    for (size_t i = 0; i < u->nhosts; i++)
        free(u->hosts[i]);
    free(u->hosts);
    free(u->ports);
    free(u->master);
    memset(u, 0, sizeof(*u));
}

static void url_copy(tn_redis_url_t *d, const tn_redis_url_t *s)
{
    *d = *s;
    d->user = s->user ? tn_xstrdup(s->user) : NULL;
    d->password = s->password ? tn_xstrdup(s->password) : NULL;
    d->master = s->master ? tn_xstrdup(s->master) : NULL;
    d->hosts = tn_xcalloc(s->nhosts ? s->nhosts : 1, sizeof(char *));
    d->ports = tn_xcalloc(s->nhosts ? s->nhosts : 1, sizeof(int));
    for (size_t i = 0; i < s->nhosts; i++) {
        d->hosts[i] = tn_xstrdup(s->hosts[i]);
        d->ports[i] = s->ports[i];
    }
}

/* ---- replies, built by hiredis's reader through these functions ---- */

static tn_redis_reply_t *reply_new(const redisReadTask *t, enum tn_redis_type type, size_t extra)
{
    rd_conn_t *conn = t->privdata;
    size_t need = sizeof(tn_redis_reply_t) + extra;
    if (extra > RD_REPLY_MAX || conn->reply_bytes + need > RD_REPLY_MAX) {
        conn->reply_too_big = true;
        return NULL; /* the reader fails with "out of memory"; we say why */
    }
    conn->reply_bytes += need;
    tn_redis_reply_t *r = tn_xcalloc(1, need);
    r->type = type;
    if (t->parent) {
        tn_redis_reply_t *parent = t->parent->obj;
        parent->elements[t->idx] = r;
    }
    return r;
}

static void *reply_string(const redisReadTask *t, char *s, size_t len)
{
    enum tn_redis_type type = t->type == REDIS_REPLY_ERROR    ? TN_REDIS_ERROR
                              : t->type == REDIS_REPLY_STATUS ? TN_REDIS_STATUS
                                                              : TN_REDIS_STRING;
    if (len >= RD_REPLY_MAX)
        return reply_new(t, type, RD_REPLY_MAX + 1);
    tn_redis_reply_t *r = reply_new(t, type, len + 1);
    if (!r)
        return NULL;
    char *d = (char *)(r + 1);
    memcpy(d, s, len);
    d[len] = 0;
    r->str = d;
    r->len = len;
    return r;
}

static void *reply_array(const redisReadTask *t, int n)
{
    if (n < 0 || (size_t)n > RD_REPLY_MAX / sizeof(tn_redis_reply_t *))
        return reply_new(t, TN_REDIS_ARRAY, RD_REPLY_MAX + 1);
    tn_redis_reply_t *r = reply_new(t, TN_REDIS_ARRAY, (size_t)n * sizeof(tn_redis_reply_t *));
    if (!r)
        return NULL;
    r->elements = (tn_redis_reply_t **)(r + 1);
    r->nelements = (size_t)n;
    return r;
}

static void *reply_integer(const redisReadTask *t, long long v)
{
    tn_redis_reply_t *r = reply_new(t, TN_REDIS_INTEGER, 0);
    if (r)
        r->integer = v;
    return r;
}

static void *reply_nil(const redisReadTask *t)
{
    return reply_new(t, TN_REDIS_NIL, 0);
}

static void reply_free(void *p)
{
    tn_redis_reply_t *r = p;
    if (!r)
        return;
    for (size_t i = 0; i < r->nelements; i++)
        reply_free(r->elements[i]);
    free(r);
}

static redisReplyObjectFunctions reply_fns = {
    .createString = reply_string,
    .createArray = reply_array,
    .createInteger = reply_integer,
    .createNil = reply_nil,
    .freeObject = reply_free,
};

static bool reply_is(const tn_redis_reply_t *r, const char *s)
{
    return r && (r->type == TN_REDIS_STRING || r->type == TN_REDIS_STATUS) && r->len == strlen(s) &&
           !strcasecmp(r->str, s);
}

/* ---- TLS ---- */

static void tls_strerror(int rc, char *out, size_t outlen)
{
    char b[160];
    mbedtls_strerror(rc, b, sizeof(b));
    snprintf(out, outlen, "%s (-0x%04x)", b, (unsigned)-rc);
}

static void tls_free_config(tn_redis_t *c)
{
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crt_free(&c->cert);
    mbedtls_pk_free(&c->key);
    c->tls_ready = false;
}

/* Built at the first TLS connect, so a bad file is reported (and retried) like a failed
 * connection rather than lost in tn_redis_new. */
static int tls_setup(tn_redis_t *c, char *err, size_t errlen)
{
    if (c->tls_ready)
        return TN_OK;
    char why[200];
    int rc;
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->cert);
    mbedtls_pk_init(&c->key);
    c->tls_ready = true; /* from here on, tls_free_config undoes it */
    rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                               (const unsigned char *)"tocsin-redis", 12);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "TLS: seeding the random generator: %s", why);
        goto fail;
    }
    rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "TLS defaults: %s", why);
        goto fail;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    if (c->opts.tls_insecure_skip_verify) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        const char *ca = c->opts.tls_ca_file ? c->opts.tls_ca_file : RD_SYSTEM_CA;
        rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
        /* > 0: some certificates of a bundle did not parse; the others are used */
        if (rc < 0 || !c->ca.version) {
            tls_strerror(rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT, why, sizeof(why));
            snprintf(err, errlen, "TLS: reading the CA file %s: %s", ca, why);
            goto fail;
        }
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
    if (!c->opts.tls_cert_file != !c->opts.tls_key_file) {
        snprintf(err, errlen, "TLS: a client certificate needs both the cert and the key file");
        goto fail;
    }
    if (c->opts.tls_cert_file) {
        rc = mbedtls_x509_crt_parse_file(&c->cert, c->opts.tls_cert_file);
        if (rc) {
            tls_strerror(rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT, why, sizeof(why));
            snprintf(err, errlen, "TLS: reading %s: %s", c->opts.tls_cert_file, why);
            goto fail;
        }
        rc = mbedtls_pk_parse_keyfile(&c->key, c->opts.tls_key_file, NULL);
        if (rc) {
            tls_strerror(rc, why, sizeof(why));
            snprintf(err, errlen, "TLS: reading %s: %s", c->opts.tls_key_file, why);
            goto fail;
        }
        rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
        if (rc) {
            tls_strerror(rc, why, sizeof(why));
            snprintf(err, errlen, "TLS: using the client certificate: %s", why);
            goto fail;
        }
    }
    return TN_OK;
fail:
    tls_free_config(c);
    return TN_ERR_INVAL;
}

/* mbedtls 2.28 matches only DNS names; an IP address is looked for in the certificate's
 * iPAddress subjectAltNames here. True when one equals ip (4 or 16 bytes). */
static bool crt_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t iplen)
{
    unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
    size_t len;
    if (!p || mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return false;
    end = p + len;
    while (p < end) {
        unsigned char *ext_end;
        mbedtls_asn1_buf oid;
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return false;
        ext_end = p + len;
        if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
            return false;
        oid.p = p;
        p += oid.len;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid)) {
            p = ext_end;
            continue;
        }
        int critical;
        if (mbedtls_asn1_get_bool(&p, ext_end, &critical) && p < ext_end &&
            *p == MBEDTLS_ASN1_BOOLEAN)
            return false;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
            return false;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return false;
        unsigned char *names_end = p + len;
        while (p < names_end) {
            unsigned char tag = *p++;
            if (mbedtls_asn1_get_len(&p, names_end, &len))
                return false;
            if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == iplen && !memcmp(p, ip, len))
                return true;
            p += len;
        }
        return false;
    }
    return false;
}

static int tls_verify_ip(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    rd_conn_t *conn = ud;
    unsigned char ip[16];
    size_t iplen = 4;
    if (depth != 0)
        return 0;
    if (uv_inet_pton(AF_INET, conn->host, ip) != 0) {
        if (uv_inet_pton(AF_INET6, conn->host, ip) != 0)
            return 0;
        iplen = 16;
    }
    if (!crt_has_ip(crt, ip, iplen))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static int bio_send(void *ud, const unsigned char *p, size_t n)
{
    rd_conn_t *conn = ud;
    if (tn_buf_append(&conn->out, p, n) < 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return (int)n;
}

static int bio_recv(void *ud, unsigned char *p, size_t n)
{
    rd_conn_t *conn = ud;
    size_t have = conn->tls_in.len - conn->tls_in_off;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > have)
        n = have;
    memcpy(p, conn->tls_in.data + conn->tls_in_off, n);
    conn->tls_in_off += n;
    if (conn->tls_in_off == conn->tls_in.len)
        conn->tls_in_off = conn->tls_in.len = 0;
    return (int)n;
}

static bool host_is_ip(const char *h)
{
    unsigned char b[16];
    return uv_inet_pton(AF_INET, h, b) == 0 || uv_inet_pton(AF_INET6, h, b) == 0;
}

static int conn_tls_init(rd_conn_t *conn, char *err, size_t errlen)
{
    tn_redis_t *c = conn->c;
    char why[200];
    mbedtls_ssl_init(&conn->ssl);
    conn->ssl_init = true;
    tn_buf_init(&conn->tls_in, RD_TLS_IN_MAX);
    int rc = mbedtls_ssl_setup(&conn->ssl, &c->conf);
    if (rc) {
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "TLS setup: %s", why);
        return TN_ERR_IO;
    }
    const char *name = c->opts.tls_server_name ? c->opts.tls_server_name : conn->host;
    if (host_is_ip(name)) {
        /* no SNI for an address (RFC 6066); checked against iPAddress names instead */
        if (!c->opts.tls_insecure_skip_verify)
            mbedtls_ssl_set_verify(&conn->ssl, tls_verify_ip, conn);
    } else {
        rc = mbedtls_ssl_set_hostname(&conn->ssl, name);
        if (rc) {
            tls_strerror(rc, why, sizeof(why));
            snprintf(err, errlen, "TLS server name: %s", why);
            return TN_ERR_IO;
        }
    }
    mbedtls_ssl_set_bio(&conn->ssl, conn, bio_send, bio_recv, NULL);
    return TN_OK;
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
    rd_write_t *w = tn_container_of(req, rd_write_t, req);
    rd_conn_t *conn = w->conn;
    free(w->data);
    free(w);
    conn->writing = false;
    if (conn->dead)
        return;
    if (status < 0) {
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "connection lost: writing to %s: %s", conn->addr,
                 uv_strerror(status));
        conn_failed(conn, e);
        return;
    }
    /* more queued while this write was out */
    if (conn->out.len) {
        rd_write_t *n = tn_xcalloc(1, sizeof(*n));
        n->conn = conn;
        n->data = conn->out.data;
        uv_buf_t b = uv_buf_init(n->data, (unsigned)conn->out.len);
        tn_buf_init(&conn->out, 0);
        int rc = uv_write(&n->req, (uv_stream_t *)&conn->tcp, &b, 1, on_write);
        if (rc < 0) {
            free(n->data);
            free(n);
            char e[RD_ERRLEN];
            snprintf(e, sizeof(e), "connection lost: writing to %s: %s", conn->addr,
                     uv_strerror(rc));
            conn_failed(conn, e);
            return;
        }
        conn->writing = true;
    }
}

/* Starts a write of what is queued unless one is out (on_write sends the rest). */
static int conn_flush(rd_conn_t *conn, char *err, size_t errlen)
{
    if (conn->writing || !conn->out.len || conn->tcp_state != RD_TCP_OPEN)
        return TN_OK;
    rd_write_t *w = tn_xcalloc(1, sizeof(*w));
    w->conn = conn;
    w->data = conn->out.data;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)conn->out.len);
    tn_buf_init(&conn->out, 0);
    int rc = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &b, 1, on_write);
    if (rc < 0) {
        free(w->data);
        free(w);
        snprintf(err, errlen, "connection lost: writing to %s: %s", conn->addr, uv_strerror(rc));
        return TN_ERR_IO;
    }
    conn->writing = true;
    return TN_OK;
}

static int conn_send(rd_conn_t *conn, const char *p, size_t n, char *err, size_t errlen)
{
    if (conn->tls) {
        while (n) {
            int rc = mbedtls_ssl_write(&conn->ssl, (const unsigned char *)p, n);
            if (rc < 0) {
                char why[200];
                tls_strerror(rc, why, sizeof(why));
                snprintf(err, errlen, "connection lost: TLS write: %s", why);
                return TN_ERR_IO;
            }
            p += rc;
            n -= (size_t)rc;
        }
    } else {
        tn_buf_append(&conn->out, p, n);
    }
    return conn_flush(conn, err, errlen);
}

/* Formats and sends an internal command; false when the connection failed. */
static bool conn_send_argv(rd_conn_t *conn, int argc, const char **argv)
{
    char *cmd = NULL, e[RD_ERRLEN];
    int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    if (len < 0) {
        conn_failed(conn, "formatting a command failed");
        return false;
    }
    int rc = conn_send(conn, cmd, (size_t)len, e, sizeof(e));
    redisFreeCommand(cmd);
    if (rc) {
        conn_failed(conn, e);
        return false;
    }
    return true;
}

/* ---- commands ---- */

static void fail_all(tn_redis_t *c, const char *err)
{
    rd_cmd_t *l = c->head;
    c->head = c->tail = NULL;
    c->pending_bytes = 0;
    while (l) {
        rd_cmd_t *next = l->next;
        if (l->cb)
            l->cb(l->ud, NULL, err);
        free(l);
        l = next;
    }
}

static rd_cmd_t *cmd_push(tn_redis_t *c, tn_redis_reply_fn cb, void *ud, size_t bytes)
{
    rd_cmd_t *q = tn_xcalloc(1, sizeof(*q));
    q->cb = cb;
    q->ud = ud;
    q->bytes = bytes;
    q->sent_ms = uv_now(c->loop);
    bool was_empty = !c->head;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->pending_bytes += bytes;
    if (was_empty)
        arm_cmd_timer(c);
    return q;
}

static rd_cmd_t *cmd_pop(tn_redis_t *c)
{
    rd_cmd_t *q = c->head;
    if (!q)
        return NULL;
    c->head = q->next;
    if (!c->head)
        c->tail = NULL;
    c->pending_bytes -= q->bytes;
    return q;
}

static void arm_cmd_timer(tn_redis_t *c)
{
    if (c->closing)
        return;
    if (!c->up || !c->conn) {
        uv_timer_stop(&c->t_cmd);
        return;
    }
    uint64_t now = uv_now(c->loop), due;
    if (c->conn->broken[0])
        due = now;
    else if (c->head)
        due = c->head->sent_ms + c->opts.command_timeout_ms;
    else if (c->opts.nchannels)
        due = c->last_ping_ms + RD_SUB_PING_MS;
    else {
        uv_timer_stop(&c->t_cmd);
        return;
    }
    uv_timer_start(&c->t_cmd, on_cmd_timer, due > now ? due - now : 0, 0);
}

int tn_redis_command(tn_redis_t *c, tn_redis_reply_fn cb, void *ud, int argc, const char **argv,
                     const size_t *lens)
{
    const char *why = NULL;
    int code = TN_ERR_IO;
    if (c->closing)
        why = "closed";
    else if (c->opts.nchannels) {
        why = "a subscriber takes no commands";
        code = TN_ERR_INVAL;
    } else if (argc <= 0) {
        why = "empty command";
        code = TN_ERR_INVAL;
    } else if (!c->up || !c->conn)
        why = "not connected";
    if (why) {
        if (cb)
            cb(ud, NULL, why);
        return code;
    }
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) {
        if (cb)
            cb(ud, NULL, "formatting the command failed");
        return TN_ERR_NOMEM;
    }
    if ((size_t)len > c->opts.max_pending_bytes ||
        c->pending_bytes > c->opts.max_pending_bytes - (size_t)len) {
        redisFreeCommand(cmd);
        if (cb)
            cb(ud, NULL, "too much pending: over max_pending_bytes");
        return TN_ERR_LIMIT;
    }
    rd_conn_t *conn = c->conn;
    cmd_push(c, cb, ud, (size_t)len);
    int rc = conn_send(conn, cmd, (size_t)len, conn->broken, sizeof(conn->broken));
    redisFreeCommand(cmd);
    if (rc) {
        /* the caller takes no callback from inside this call: the timer fails it soon */
        if (!conn->broken[0])
            snprintf(conn->broken, sizeof(conn->broken), "connection lost: write failed");
        arm_cmd_timer(c);
    }
    return TN_OK;
}

static void on_cmd_timer(uv_timer_t *t)
{
    tn_redis_t *c = t->data;
    rd_conn_t *conn = c->conn;
    if (!conn || !c->up)
        return;
    if (conn->broken[0]) {
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "%s", conn->broken);
        conn_failed(conn, e);
        return;
    }
    uint64_t now = uv_now(c->loop);
    if (c->head && now >= c->head->sent_ms + c->opts.command_timeout_ms) {
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "timed out: no reply from %s in %llu ms", conn->addr,
                 (unsigned long long)c->opts.command_timeout_ms);
        conn_failed(conn, e);
        return;
    }
    if (c->opts.nchannels && !c->head && now >= c->last_ping_ms + RD_SUB_PING_MS) {
        c->last_ping_ms = now;
        cmd_push(c, NULL, NULL, 0)->ping = true;
        const char *argv[] = {"PING"};
        if (!conn_send_argv(conn, 1, argv))
            return;
    }
    arm_cmd_timer(c);
}

/* ---- connection life ---- */

static void client_maybe_free(tn_redis_t *c)
{
    if (!c->closing || c->open_timers || c->nconns)
        return;
    if (c->tls_ready)
        tls_free_config(c);
    tn_redis_url_free(&c->url);
    free((char *)c->opts.tls_ca_file);
    free((char *)c->opts.tls_cert_file);
    free((char *)c->opts.tls_key_file);
    free((char *)c->opts.tls_server_name);
    for (size_t i = 0; i < c->opts.nchannels; i++)
        free((char *)c->opts.channels[i]);
    free((void *)c->opts.channels);
    free(c);
}

static void conn_maybe_free(rd_conn_t *conn)
{
    if (!conn->dead || conn->tcp_state != RD_TCP_NONE)
        return;
    if (conn->c) {
        tn_redis_t *c = conn->c;
        conn->c = NULL;
        c->nconns--;
        client_maybe_free(c);
    }
    if (conn->resolving)
        return; /* on_resolved frees it */
    if (conn->ai)
        uv_freeaddrinfo(conn->ai);
    free(conn->host);
    free(conn);
}

static void conn_connect_next(rd_conn_t *conn);

static void on_tcp_closed(uv_handle_t *h)
{
    rd_conn_t *conn = h->data;
    conn->tcp_state = RD_TCP_NONE;
    /* the TLS context refers to the client's config: freed while the client is there */
    if (conn->ssl_init) {
        mbedtls_ssl_free(&conn->ssl);
        tn_buf_free(&conn->tls_in);
        conn->ssl_init = false;
    }
    if (conn->reader) {
        redisReaderFree(conn->reader);
        conn->reader = NULL;
    }
    tn_buf_free(&conn->out);
    if (!conn->dead && conn->retry_next) {
        conn->retry_next = false;
        conn_connect_next(conn);
        return;
    }
    conn_maybe_free(conn);
}

static void conn_close(rd_conn_t *conn)
{
    conn->dead = true;
    if (conn->tcp_state == RD_TCP_OPEN) {
        conn->tcp_state = RD_TCP_CLOSING;
        uv_close((uv_handle_t *)&conn->tcp, on_tcp_closed);
    }
    if (conn->resolving)
        uv_cancel((uv_req_t *)&conn->gai);
    conn_maybe_free(conn);
}

static uint64_t next_backoff(tn_redis_t *c)
{
    uint64_t d = c->backoff_ms;
    c->backoff_ms = TN_MIN(c->backoff_ms * 2, c->opts.reconnect_max_ms);
    /* xorshift: jitter keeps a fleet of clients from reconnecting in step */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    uint64_t j = d / 4 ? c->rng % (d / 4 + 1) : 0;
    return d - d / 4 + j; /* within [3/4, 1] of the step */
}

/* The attempt or connection is over: commands fail, the state callback hears it, and a
 * reconnect is scheduled. */
static void client_failed(tn_redis_t *c, const char *err)
{
    char e[RD_ERRLEN];
    snprintf(e, sizeof(e), "%s", err);
    if (c->conn) {
        rd_conn_t *conn = c->conn;
        c->conn = NULL;
        conn_close(conn);
    }
    c->up = false;
    if (c->closing)
        return;
    uv_timer_stop(&c->t_connect);
    uv_timer_stop(&c->t_cmd);
    uv_timer_start(&c->t_retry, on_retry_timer, next_backoff(c), 0);
    fail_all(c, e);
    if (!c->closing && c->opts.on_state)
        c->opts.on_state(c->opts.ud, false, e);
}

static void conn_failed(rd_conn_t *conn, const char *err)
{
    tn_redis_t *c = conn->c;
    if (conn->dead || !c || c->conn != conn)
        return;
    if (conn->role != RD_SENTINEL) {
        client_failed(c, err);
        return;
    }
    /* the next sentinel, or the list of what each said */
    size_t l = strlen(c->sentinel_err);
    snprintf(c->sentinel_err + l, sizeof(c->sentinel_err) - l, "%s%s", l ? "; " : "", err);
    c->conn = NULL;
    conn_close(conn);
    if (++c->sentinel_idx < c->url.nhosts) {
        conn_start(c, RD_SENTINEL, c->url.hosts[c->sentinel_idx], c->url.ports[c->sentinel_idx]);
        return;
    }
    char e[RD_ERRLEN];
    snprintf(e, sizeof(e), "no sentinel gave master %.100s: %s", c->url.master, c->sentinel_err);
    client_failed(c, e);
}

static void conn_up(rd_conn_t *conn)
{
    tn_redis_t *c = conn->c;
    conn->phase = PH_UP;
    c->up = true;
    c->backoff_ms = c->opts.reconnect_min_ms;
    c->last_ping_ms = uv_now(c->loop);
    snprintf(c->addr, sizeof(c->addr), "%s", conn->addr);
    uv_timer_stop(&c->t_connect);
    arm_cmd_timer(c);
    if (c->opts.on_state)
        c->opts.on_state(c->opts.ud, true, NULL);
}

static void hello_start(rd_conn_t *conn)
{
    tn_redis_t *c = conn->c;
    conn->phase = PH_HELLO;
    if (conn->role == RD_SENTINEL) {
        const char *argv[] = {"SENTINEL", "get-master-addr-by-name", c->url.master};
        conn->hs_sentinel = true;
        conn_send_argv(conn, 3, argv);
        return;
    }
    /* pipelined: a failure of the first makes the rest moot */
    if (c->url.password) {
        const char *user = c->url.user;
        const char *argv[] = {"AUTH", user ? user : c->url.password, c->url.password};
        conn->hs_auth = true;
        if (!conn_send_argv(conn, user ? 3 : 2, argv))
            return;
    }
    if (c->url.db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", c->url.db);
        conn->hs_select = true;
        if (!conn_send_argv(conn, 2, (const char *[]){"SELECT", db}))
            return;
    }
    if (c->url.sentinel) {
        conn->hs_role = true;
        if (!conn_send_argv(conn, 1, (const char *[]){"ROLE"}))
            return;
    }
    if (c->opts.nchannels) {
        const char **argv = tn_xcalloc(c->opts.nchannels + 1, sizeof(char *));
        argv[0] = "SUBSCRIBE";
        for (size_t i = 0; i < c->opts.nchannels; i++)
            argv[i + 1] = c->opts.channels[i];
        conn->hs_subs = c->opts.nchannels;
        bool ok = conn_send_argv(conn, (int)c->opts.nchannels + 1, argv);
        free(argv);
        if (!ok)
            return;
    }
    if (!conn->hs_auth && !conn->hs_select && !conn->hs_role && !conn->hs_subs)
        conn_up(conn);
}

static void reply_text(const tn_redis_reply_t *r, char *out, size_t outlen)
{
    if (r->type == TN_REDIS_ERROR || r->type == TN_REDIS_STATUS || r->type == TN_REDIS_STRING)
        snprintf(out, outlen, "%.*s", (int)TN_MIN(r->len, 200), r->str);
    else
        snprintf(out, outlen, "unexpected reply type %d", (int)r->type);
}

static void sentinel_reply(rd_conn_t *conn, const tn_redis_reply_t *r)
{
    tn_redis_t *c = conn->c;
    char e[RD_ERRLEN], t[256];
    if (r->type == TN_REDIS_NIL) {
        snprintf(e, sizeof(e), "%s: unknown master", conn->addr);
        conn_failed(conn, e);
        return;
    }
    int port;
    if (r->type != TN_REDIS_ARRAY || r->nelements != 2 || r->elements[0]->type != TN_REDIS_STRING ||
        r->elements[1]->type != TN_REDIS_STRING || !r->elements[0]->len ||
        parse_port(r->elements[1]->str, r->elements[1]->len, &port) < 0) {
        reply_text(r, t, sizeof(t));
        snprintf(e, sizeof(e), "%s: %s", conn->addr, t);
        conn_failed(conn, e);
        return;
    }
    char *host = tn_xstrndup(r->elements[0]->str, r->elements[0]->len);
    c->conn = NULL;
    conn_close(conn);
    conn_start(c, RD_MAIN, host, port);
    free(host);
}

static void hello_reply(rd_conn_t *conn, const tn_redis_reply_t *r)
{
    tn_redis_t *c = conn->c;
    char e[RD_ERRLEN], t[256];
    if (conn->hs_sentinel) {
        sentinel_reply(conn, r);
        return;
    }
    const char *what = NULL;
    bool ok = false;
    if (conn->hs_auth) {
        conn->hs_auth = false;
        what = "AUTH";
        ok = r->type == TN_REDIS_STATUS;
    } else if (conn->hs_select) {
        conn->hs_select = false;
        what = "SELECT";
        ok = r->type == TN_REDIS_STATUS;
    } else if (conn->hs_role) {
        conn->hs_role = false;
        what = "ROLE";
        ok = r->type == TN_REDIS_ARRAY && r->nelements && reply_is(r->elements[0], "master");
        if (!ok && r->type == TN_REDIS_ARRAY && r->nelements &&
            r->elements[0]->type == TN_REDIS_STRING) {
            snprintf(e, sizeof(e), "ROLE: %s is a %.*s, not the master", conn->addr,
                     (int)TN_MIN(r->elements[0]->len, 40), r->elements[0]->str);
            conn_failed(conn, e);
            return;
        }
    } else if (conn->hs_subs) {
        conn->hs_subs--;
        what = "SUBSCRIBE";
        ok =
            r->type == TN_REDIS_ARRAY && r->nelements == 3 && reply_is(r->elements[0], "subscribe");
    } else {
        conn_failed(conn, "protocol error: a reply before any command");
        return;
    }
    if (!ok) {
        reply_text(r, t, sizeof(t));
        snprintf(e, sizeof(e), "%s failed on %s: %s", what, conn->addr, t);
        conn_failed(conn, e);
        return;
    }
    if (!conn->hs_auth && !conn->hs_select && !conn->hs_role && !conn->hs_subs) {
        TN_UNUSED(c);
        conn_up(conn);
    }
}

static void sub_reply(rd_conn_t *conn, const tn_redis_reply_t *r)
{
    tn_redis_t *c = conn->c;
    if (r->type != TN_REDIS_ARRAY || !r->nelements)
        return;
    if (reply_is(r->elements[0], "message") && r->nelements == 3 &&
        r->elements[1]->type == TN_REDIS_STRING && r->elements[2]->type == TN_REDIS_STRING) {
        if (c->opts.on_message)
            c->opts.on_message(c->opts.ud, r->elements[1]->str, r->elements[2]->str,
                               r->elements[2]->len);
        return;
    }
    if (reply_is(r->elements[0], "pong") && c->head && c->head->ping) {
        free(cmd_pop(c));
        arm_cmd_timer(c);
    }
}

static void user_reply(rd_conn_t *conn, const tn_redis_reply_t *r)
{
    tn_redis_t *c = conn->c;
    rd_cmd_t *q = cmd_pop(c);
    if (!q) {
        conn_failed(conn, "protocol error: a reply nobody asked for");
        return;
    }
    arm_cmd_timer(c);
    if (q->cb)
        q->cb(q->ud, r, NULL);
    free(q);
}

/* Feeds bytes read (plaintext) to the reader and dispatches every whole reply. */
static void conn_feed(rd_conn_t *conn, const char *p, size_t n)
{
    redisReader *rd = conn->reader;
    char e[RD_ERRLEN];
    if (rd->len - rd->pos + n + conn->reply_bytes > RD_REPLY_MAX) {
        snprintf(e, sizeof(e), "protocol error: a reply from %s over %zu MiB", conn->addr,
                 RD_REPLY_MAX >> 20);
        conn_failed(conn, e);
        return;
    }
    if (redisReaderFeed(rd, p, n) != REDIS_OK) {
        conn_failed(conn, "out of memory reading a reply");
        return;
    }
    for (;;) {
        void *obj = NULL;
        if (redisReaderGetReply(rd, &obj) != REDIS_OK) {
            if (conn->reply_too_big)
                snprintf(e, sizeof(e), "protocol error: a reply from %s over %zu MiB", conn->addr,
                         RD_REPLY_MAX >> 20);
            else
                snprintf(e, sizeof(e), "protocol error from %s: %s", conn->addr, rd->errstr);
            conn_failed(conn, e);
            return;
        }
        if (!obj)
            return;
        conn->reply_bytes = 0;
        tn_redis_reply_t *r = obj;
        if (conn->phase == PH_HELLO)
            hello_reply(conn, r);
        else if (conn->c->opts.nchannels)
            sub_reply(conn, r);
        else
            user_reply(conn, r);
        reply_free(r);
        if (conn->dead || conn->c->closing)
            return;
    }
}

static void conn_tls_handshake(rd_conn_t *conn)
{
    char e[RD_ERRLEN], why[200];
    int rc = mbedtls_ssl_handshake(&conn->ssl);
    if (conn_flush(conn, e, sizeof(e))) {
        conn_failed(conn, e);
        return;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return;
    if (rc) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&conn->ssl);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags && flags != (uint32_t)-1) {
            char info[300];
            mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
            size_t l = strlen(info);
            while (l && (info[l - 1] == '\n' || info[l - 1] == ' '))
                info[--l] = 0;
            for (char *q = info; *q; q++)
                if (*q == '\n')
                    *q = ';';
            snprintf(e, sizeof(e), "TLS handshake with %s: certificate verification failed: %s",
                     conn->addr, info);
        } else {
            tls_strerror(rc, why, sizeof(why));
            snprintf(e, sizeof(e), "TLS handshake with %s: %s", conn->addr, why);
        }
        conn_failed(conn, e);
        return;
    }
    hello_start(conn);
}

/* Decrypts what has come in and feeds it on. */
static void conn_tls_read(rd_conn_t *conn)
{
    char e[RD_ERRLEN], why[200];
    for (;;) {
        char buf[16 * 1024];
        int rc = mbedtls_ssl_read(&conn->ssl, (unsigned char *)buf, sizeof(buf));
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
            break;
        if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            snprintf(e, sizeof(e), "connection lost: %s closed the connection", conn->addr);
            conn_failed(conn, e);
            return;
        }
        if (rc < 0) {
            tls_strerror(rc, why, sizeof(why));
            snprintf(e, sizeof(e), "connection lost: TLS read from %s: %s", conn->addr, why);
            conn_failed(conn, e);
            return;
        }
        conn_feed(conn, buf, (size_t)rc);
        if (conn->dead || conn->c->closing)
            return;
    }
    if (conn_flush(conn, e, sizeof(e)))
        conn_failed(conn, e);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    rd_conn_t *conn = h->data;
    TN_UNUSED(size);
    *b = uv_buf_init(conn->rbuf, sizeof(conn->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    rd_conn_t *conn = s->data;
    char e[RD_ERRLEN];
    if (conn->dead || n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF)
            snprintf(e, sizeof(e), "connection lost: %s closed the connection", conn->addr);
        else
            snprintf(e, sizeof(e), "connection lost: reading from %s: %s", conn->addr,
                     uv_strerror((int)n));
        conn_failed(conn, e);
        return;
    }
    if (!conn->tls) {
        conn_feed(conn, b->base, (size_t)n);
        return;
    }
    if (tn_buf_append(&conn->tls_in, b->base, (size_t)n) < 0) {
        snprintf(e, sizeof(e), "protocol error: too much undecrypted input from %s", conn->addr);
        conn_failed(conn, e);
        return;
    }
    if (conn->phase == PH_TLS) {
        conn_tls_handshake(conn);
        if (conn->dead || conn->phase == PH_TLS)
            return;
    }
    conn_tls_read(conn);
}

static void on_connect(uv_connect_t *req, int status)
{
    rd_conn_t *conn = req->data;
    if (conn->dead)
        return;
    if (status < 0) {
        snprintf(conn->last_err, sizeof(conn->last_err), "connecting to %s: %s", conn->addr,
                 uv_strerror(status));
        if (conn->ai_next) {
            conn->retry_next = true;
            conn->tcp_state = RD_TCP_CLOSING;
            uv_close((uv_handle_t *)&conn->tcp, on_tcp_closed);
            return;
        }
        conn_failed(conn, conn->last_err);
        return;
    }
    tn_redis_t *c = conn->c;
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_tcp_keepalive(&conn->tcp, 1, 60);
    conn->reader = redisReaderCreateWithFunctions(&reply_fns);
    if (!conn->reader) {
        conn_failed(conn, "out of memory creating a reply reader");
        return;
    }
    conn->reader->privdata = conn;
    int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
    if (rc < 0) {
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "reading from %s: %s", conn->addr, uv_strerror(rc));
        conn_failed(conn, e);
        return;
    }
    if (c->url.tls) {
        char e[RD_ERRLEN];
        conn->tls = true;
        conn->phase = PH_TLS;
        if (conn_tls_init(conn, e, sizeof(e))) {
            conn_failed(conn, e);
            return;
        }
        conn_tls_handshake(conn);
        return;
    }
    hello_start(conn);
}

/* Connects to the numeric address, or the next address the lookup gave. */
static void conn_connect_next(rd_conn_t *conn)
{
    tn_redis_t *c = conn->c;
    const struct sockaddr *sa = NULL;
    if (conn->have_sa) {
        sa = (const struct sockaddr *)&conn->sa;
        conn->have_sa = false;
    } else {
        while (conn->ai_next && !sa) {
            struct addrinfo *a = conn->ai_next;
            conn->ai_next = a->ai_next;
            if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
                sa = a->ai_addr;
        }
    }
    if (!sa) {
        conn_failed(conn, conn->last_err[0] ? conn->last_err : "no address to connect to");
        return;
    }
    conn->phase = PH_CONNECT;
    uv_tcp_init(c->loop, &conn->tcp);
    conn->tcp.data = conn;
    conn->tcp_state = RD_TCP_OPEN;
    conn->creq.data = conn;
    int rc = uv_tcp_connect(&conn->creq, &conn->tcp, sa, on_connect);
    if (rc < 0) {
        snprintf(conn->last_err, sizeof(conn->last_err), "connecting to %s: %s", conn->addr,
                 uv_strerror(rc));
        if (conn->ai_next) {
            conn->retry_next = true;
            conn->tcp_state = RD_TCP_CLOSING;
            uv_close((uv_handle_t *)&conn->tcp, on_tcp_closed);
            return;
        }
        conn_failed(conn, conn->last_err);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rd_conn_t *conn = tn_container_of(req, rd_conn_t, gai);
    conn->resolving = false;
    if (conn->dead) {
        if (res)
            uv_freeaddrinfo(res);
        conn_maybe_free(conn);
        return;
    }
    if (status < 0) {
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "resolving %s: %s", conn->host, uv_strerror(status));
        conn_failed(conn, e);
        return;
    }
    conn->ai = conn->ai_next = res;
    conn_connect_next(conn);
}

static void conn_start(tn_redis_t *c, enum rd_role role, const char *host, int port)
{
    rd_conn_t *conn = tn_xcalloc(1, sizeof(*conn));
    conn->c = c;
    c->nconns++;
    c->conn = conn;
    conn->role = role;
    conn->host = tn_xstrdup(host);
    conn->port = port;
    tn_buf_init(&conn->out, 0);
    snprintf(conn->addr, sizeof(conn->addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    uv_timer_start(&c->t_connect, on_connect_timer, c->opts.connect_timeout_ms, 0);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&conn->sa) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&conn->sa) == 0) {
        conn->have_sa = true;
        conn_connect_next(conn);
        return;
    }
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    conn->phase = PH_RESOLVE;
    conn->resolving = true;
    int rc = uv_getaddrinfo(c->loop, &conn->gai, on_resolved, host, portstr, &hints);
    if (rc < 0) {
        conn->resolving = false;
        char e[RD_ERRLEN];
        snprintf(e, sizeof(e), "resolving %s: %s", host, uv_strerror(rc));
        conn_failed(conn, e);
    }
}

static void on_connect_timer(uv_timer_t *t)
{
    tn_redis_t *c = t->data;
    if (!c->conn || c->up)
        return;
    char e[RD_ERRLEN];
    snprintf(e, sizeof(e), "connecting to %s: timed out after %llu ms", c->conn->addr,
             (unsigned long long)c->opts.connect_timeout_ms);
    conn_failed(c->conn, e);
}

static void on_retry_timer(uv_timer_t *t)
{
    tn_redis_t *c = t->data;
    if (c->conn || c->closing)
        return;
    if (c->url.tls) {
        char e[RD_ERRLEN];
        if (tls_setup(c, e, sizeof(e))) {
            client_failed(c, e);
            return;
        }
    }
    if (c->url.sentinel) {
        c->sentinel_idx = 0;
        c->sentinel_err[0] = 0;
        conn_start(c, RD_SENTINEL, c->url.hosts[0], c->url.ports[0]);
    } else {
        conn_start(c, RD_MAIN, c->url.hosts[0], c->url.ports[0]);
    }
}

/* ---- the client ---- */

static char *dup_or_null(const char *s)
{
    return s ? tn_xstrdup(s) : NULL;
}

tn_redis_t *tn_redis_new(uv_loop_t *loop, const tn_redis_url_t *url, const tn_redis_opts_t *opts)
{
    tn_redis_t *c = tn_xcalloc(1, sizeof(*c));
    c->loop = loop;
    url_copy(&c->url, url);
    c->opts = *opts;
    tn_redis_opts_t *o = &c->opts;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = RD_CONNECT_TIMEOUT_MS;
    if (!o->command_timeout_ms)
        o->command_timeout_ms = RD_COMMAND_TIMEOUT_MS;
    if (!o->reconnect_min_ms)
        o->reconnect_min_ms = RD_RECONNECT_MIN_MS;
    if (!o->reconnect_max_ms)
        o->reconnect_max_ms = RD_RECONNECT_MAX_MS;
    if (o->reconnect_max_ms < o->reconnect_min_ms)
        o->reconnect_max_ms = o->reconnect_min_ms;
    if (!o->max_pending_bytes)
        o->max_pending_bytes = RD_MAX_PENDING;
    o->tls_ca_file = dup_or_null(opts->tls_ca_file);
    o->tls_cert_file = dup_or_null(opts->tls_cert_file);
    o->tls_key_file = dup_or_null(opts->tls_key_file);
    o->tls_server_name = dup_or_null(opts->tls_server_name);
    if (opts->nchannels) {
        char **ch = tn_xcalloc(opts->nchannels, sizeof(char *));
        for (size_t i = 0; i < opts->nchannels; i++)
            ch[i] = tn_xstrdup(opts->channels[i]);
        o->channels = (const char *const *)ch;
    } else {
        o->channels = NULL;
    }
    c->backoff_ms = o->reconnect_min_ms;
    c->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 1;
    uv_timer_t *timers[] = {&c->t_connect, &c->t_cmd, &c->t_retry};
    for (size_t i = 0; i < TN_ARRAY_LEN(timers); i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = c;
        c->open_timers++;
    }
    /* from the loop, so that no callback runs before the caller has c */
    uv_timer_start(&c->t_retry, on_retry_timer, 0, 0);
    return c;
}

static void on_timer_closed(uv_handle_t *h)
{
    tn_redis_t *c = h->data;
    c->open_timers--;
    client_maybe_free(c);
}

void tn_redis_free(tn_redis_t *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    c->up = false;
    if (c->conn) {
        rd_conn_t *conn = c->conn;
        c->conn = NULL;
        conn_close(conn);
    }
    uv_close((uv_handle_t *)&c->t_connect, on_timer_closed);
    uv_close((uv_handle_t *)&c->t_cmd, on_timer_closed);
    uv_close((uv_handle_t *)&c->t_retry, on_timer_closed);
    fail_all(c, "closed");
}

bool tn_redis_up(const tn_redis_t *c)
{
    return c && c->up;
}

const char *tn_redis_addr(const tn_redis_t *c)
{
    return c ? c->addr : "";
}
