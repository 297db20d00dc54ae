/* AWS Signature Version 4, header signing (AWS's "Create a signed AWS API request"): the
 * canonical request, the string to sign, the derived key and the Authorization header, with
 * mbedtls's SHA-256 and HMAC-SHA256. Used by the SNS receiver; nothing in it is SNS's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "rcv.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* ---- hashes ---- */

static void sigv4_hex(const unsigned char *h, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * n] = 0;
}

static void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[32];
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256(data, len, h, 0);
#else
    mbedtls_sha256_ret(data, len, h, 0);
#endif
    sigv4_hex(h, 32, out);
}

static void sigv4_hmac(const unsigned char *key, size_t keylen, const char *msg, size_t msglen,
                       unsigned char out[32])
{
    /* SHA-256 is always compiled into mbedtls; a failure here is a broken library. */
    if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, keylen,
                        (const unsigned char *)msg, msglen, out) != 0)
        abort();
}

void tn_rcv_sigv4_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char key[32])
{
    size_t slen = strlen(secret);
    char *k = tn_xmalloc(slen + 5);
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, slen + 1);
    sigv4_hmac((const unsigned char *)k, slen + 4, date, strlen(date), key);
    memset(k, 0, slen + 4);
    free(k);
    sigv4_hmac(key, 32, region, strlen(region), key);
    sigv4_hmac(key, 32, service, strlen(service), key);
    sigv4_hmac(key, 32, "aws4_request", 12, key);
}

/* ---- canonical forms ---- */

static bool sigv4_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* AWS's URI encoding: every byte but the unreserved ones as %XY (upper case); '/' kept when
 * keep_slash. */
static void sigv4_encode(tn_buf_t *b, const char *s, size_t len, bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sigv4_unreserved(c) || (keep_slash && c == '/'))
            tn_buf_putc(b, (char)c);
        else
            tn_buf_printf(b, "%%%02X", c);
    }
}

static int sigv4_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a query component as a form value ('+' is a space); a bad escape stays as is. */
static char *sigv4_unescape(const char *s, size_t len)
{
    char *out = tn_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && sigv4_hexval(s[i + 1]) >= 0 &&
                   sigv4_hexval(s[i + 2]) >= 0) {
            out[n++] = (char)(sigv4_hexval(s[i + 1]) * 16 + sigv4_hexval(s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = 0;
    return out;
}

typedef struct sigv4_pair {
    char *k, *v;
} sigv4_pair_t;

static int sigv4_pair_cmp(const void *a, const void *b)
{
    const sigv4_pair_t *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* The canonical query string: each name and value decoded, encoded again the AWS way and the
 * pairs sorted by encoded name, then value. */
static void sigv4_query(tn_buf_t *b, const char *q)
{
    size_t n = 0, cap = 0;
    sigv4_pair_t *pairs = NULL;
    while (q && *q) {
        size_t len = strcspn(q, "&");
        if (len) {
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            char *k = sigv4_unescape(q, klen);
            char *v = eq ? sigv4_unescape(eq + 1, len - klen - 1) : tn_xstrdup("");
            tn_buf_t e;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                pairs = tn_xrealloc(pairs, cap * sizeof(*pairs));
            }
            tn_buf_init(&e, 0);
            sigv4_encode(&e, k, strlen(k), false);
            pairs[n].k = tn_xstrndup(e.data ? e.data : "", e.len);
            tn_buf_reset(&e);
            sigv4_encode(&e, v, strlen(v), false);
            pairs[n].v = tn_xstrndup(e.data ? e.data : "", e.len);
            tn_buf_free(&e);
            free(k);
            free(v);
            n++;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    if (n)
        qsort(pairs, n, sizeof(*pairs), sigv4_pair_cmp);
    for (size_t i = 0; i < n; i++) {
        tn_buf_printf(b, "%s%s=%s", i ? "&" : "", pairs[i].k, pairs[i].v);
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
}

typedef struct sigv4_header {
    char *name; /* lower case */
    const char *value;
    size_t order;
} sigv4_header_t;

static int sigv4_header_cmp(const void *a, const void *b)
{
    const sigv4_header_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Headers the SDKs leave unsigned: set or changed on the way (by curl, proxies, tracing). */
static bool sigv4_unsigned(const char *name)
{
    static const char *const skip[] = {"authorization", "user-agent", "expect", "x-amzn-trace-id"};
    for (size_t i = 0; i < TN_ARRAY_LEN(skip); i++)
        if (strcasecmp(name, skip[i]) == 0)
            return true;
    return false;
}

/* A header value as signed: trimmed, runs of spaces and tabs collapsed to one space. */
static void sigv4_value(tn_buf_t *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space)
            tn_buf_putc(b, ' ');
        space = false;
        tn_buf_putc(b, *v);
    }
}

/* ---- the request's URL, as curl will send it ---- */

typedef struct sigv4_url {
    char *host; /* Host header: the port only when it is not the scheme's default */
    char *path, *query;
} sigv4_url_t;

static int sigv4_url(const char *url, sigv4_url_t *out, char *err, size_t errlen)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = TN_ERR_INVAL;
    CURLU *u = curl_url();
    if (!u)
        abort();
    memset(out, 0, sizeof(*out));
    if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "invalid URL for signing");
        goto done;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only a port the URL gives */
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    bool dflt = !port || (strcasecmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
                (strcasecmp(scheme, "http") == 0 && strcmp(port, "80") == 0);
    out->host = dflt ? tn_xstrdup(host) : tn_xasprintf("%s:%s", host, port);
    out->path = tn_xstrdup(path && path[0] ? path : "/");
    out->query = tn_xstrdup(query ? query : "");
    rc = TN_OK;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* ---- signing ---- */

int tn_rcv_sigv4_sign(tn_out_request_t *req, const tn_rcv_aws_creds_t *cr, const char *region,
                      const char *service, tn_time_t now, char *err, size_t errlen)
{
    sigv4_url_t u;
    int rc = sigv4_url(req->url, &u, err, errlen);
    if (rc != TN_OK)
        return rc;

    char amz_date[17], date[9];
    time_t secs = (time_t)(now / TN_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date, amz_date, 8);
    date[8] = 0;

    tn_out_request_add_header(req, "X-Amz-Date", amz_date);
    if (tn_receiver_set(cr->session_token))
        tn_out_request_add_header(req, "X-Amz-Security-Token", cr->session_token);

    /* The headers to sign: the request's own, and Host as curl writes it. */
    size_t nh = 0;
    sigv4_header_t *h = tn_xcalloc(req->nheaders + 1, sizeof(*h));
    h[nh++] = (sigv4_header_t){tn_xstrdup("host"), u.host, 0};
    for (size_t i = 0; i < req->nheaders; i++) {
        if (sigv4_unsigned(req->headers[i].name) || strcasecmp(req->headers[i].name, "host") == 0)
            continue;
        char *name = tn_xstrdup(req->headers[i].name);
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        h[nh] = (sigv4_header_t){name, req->headers[i].value, i + 1};
        nh++;
    }
    qsort(h, nh, sizeof(*h), sigv4_header_cmp);

    tn_buf_t creq, signed_headers;
    tn_buf_init(&creq, 0);
    tn_buf_init(&signed_headers, 0);
    tn_buf_printf(&creq, "%s\n", req->method ? req->method : "POST");
    sigv4_encode(&creq, u.path, strlen(u.path), true);
    tn_buf_putc(&creq, '\n');
    sigv4_query(&creq, u.query);
    tn_buf_putc(&creq, '\n');
    for (size_t i = 0; i < nh; i++) {
        /* A repeated header is one line, its values joined by commas in the order sent. */
        bool cont = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
        if (cont) {
            creq.len--; /* the newline */
            tn_buf_putc(&creq, ',');
        } else {
            tn_buf_printf(&creq, "%s:", h[i].name);
            tn_buf_printf(&signed_headers, "%s%s", signed_headers.len ? ";" : "", h[i].name);
        }
        sigv4_value(&creq, h[i].value);
        tn_buf_putc(&creq, '\n');
    }
    char body_hash[65], creq_hash[65];
    sigv4_sha256_hex(req->body.data ? req->body.data : "", req->body.len, body_hash);
    tn_buf_printf(&creq, "\n%s\n%s", tn_buf_cstr(&signed_headers), body_hash);
    sigv4_sha256_hex(creq.data, creq.len, creq_hash);

    char *scope = tn_xasprintf("%s/%s/%s/aws4_request", date, region, service);
    char *sts = tn_xasprintf(SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, creq_hash);
    unsigned char key[32], sig[32];
    char sig_hex[65];
    tn_rcv_sigv4_key(cr->secret_key, date, region, service, key);
    sigv4_hmac(key, sizeof(key), sts, strlen(sts), sig);
    memset(key, 0, sizeof(key));
    sigv4_hex(sig, sizeof(sig), sig_hex);
    char *authz = tn_xasprintf(SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                               cr->access_key, scope, tn_buf_cstr(&signed_headers), sig_hex);
    tn_out_request_add_header(req, "Authorization", authz);

    free(authz);
    free(sts);
    free(scope);
    tn_buf_free(&creq);
    tn_buf_free(&signed_headers);
    for (size_t i = 0; i < nh; i++)
        free(h[i].name);
    free(h);
    free(u.host);
    free(u.path);
    free(u.query);
    return TN_OK;
}
