/* The web config (--web.config.file): loader, and the live part that re-reads it and gates
 * requests. See docs/security.md. */
#include "tocsin/webconfig.h"

#include <errno.h>
#include <mbedtls/ecp.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tocsin/auth.h"
#include "tocsin/clock.h"
#include "tocsin/config.h"
#include "tocsin/log.h"
#include "tocsin/tls.h"
#include "tocsin/yamltree.h"

#define WEBCONFIG_MAX_FILE (4u << 20)

/* ---- loader ---- */

struct wc_parse {
    tn_yaml_t y;
    const char *dir;
    tn_webconfig_t *c;
};

static int wc_string(struct wc_parse *p, tn_ynode_t *n, const char *key, char **out)
{
    if (tn_yaml_is_null(n)) {
        free(*out);
        *out = NULL;
        return 0;
    }
    if (!tn_yaml_is_scalar(n))
        return tn_yaml_error(&p->y, n, "%s: expected a string, got %s", key, tn_yaml_kind(n));
    free(*out);
    *out = tn_xstrdup(tn_yaml_scalar(n));
    return 0;
}

static int wc_bool(struct wc_parse *p, tn_ynode_t *n, const char *key, bool *out)
{
    const char *s = tn_yaml_scalar(n);
    if (s && tn_yaml_plain(n) && strcmp(s, "true") == 0)
        *out = true;
    else if (s && tn_yaml_plain(n) && strcmp(s, "false") == 0)
        *out = false;
    else
        return tn_yaml_error(&p->y, n, "%s: expected true or false", key);
    return 0;
}

/* A file name relative to the web config's directory, as exporter-toolkit resolves it. */
static int wc_path(struct wc_parse *p, tn_ynode_t *n, const char *key, char **out)
{
    int rc = wc_string(p, n, key, out);
    if (rc || !*out)
        return rc;
    if (!**out) {
        free(*out);
        *out = NULL;
    } else if ((*out)[0] != '/' && p->dir && *p->dir) {
        char *j = tn_xasprintf("%s/%s", p->dir, *out);
        free(*out);
        *out = j;
    }
    return 0;
}

static int wc_version(struct wc_parse *p, tn_ynode_t *n, const char *key, int *out, bool is_min)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    const char *s = tn_yaml_scalar(n);
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i + 1;
            if (*out == TN_TLS13 && is_min && !tn_tls_has_tls13())
                return tn_yaml_error(&p->y, n,
                                     "%s: TLS13 is not available: this build's mbedtls speaks "
                                     "TLS 1.2 at most",
                                     key);
            return 0;
        }
    return tn_yaml_error(&p->y, n, "%s: unknown TLS version: %s", key, s ? s : tn_yaml_kind(n));
}

/* Go's cipher suite names are mbedtls' with '_' for '-'. TLS 1.3 suites are not configurable
 * (in Go either) and are accepted without effect. */
static int wc_cipher_id(const char *name)
{
    static const char *const tls13[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                        "TLS_CHACHA20_POLY1305_SHA256"};
    for (size_t i = 0; i < TN_ARRAY_LEN(tls13); i++)
        if (strcmp(name, tls13[i]) == 0)
            return -1;
    char m[128];
    size_t n = strlen(name);
    if (n >= sizeof(m) || strncmp(name, "TLS_", 4) != 0)
        return 0;
    for (size_t i = 0; i <= n; i++)
        m[i] = name[i] == '_' ? '-' : name[i];
    return mbedtls_ssl_get_ciphersuite_id(m);
}

static int wc_list(struct wc_parse *p, tn_ynode_t *n, const char *key)
{
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&p->y, n, key);
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&p->y, n, i);
        if (!tn_yaml_is_scalar(it))
            return tn_yaml_error(&p->y, it, "%s: expected a string, got %s", key, tn_yaml_kind(it));
    }
    return 0;
}

static int wc_ciphers(struct wc_parse *p, tn_ynode_t *n)
{
    if (tn_yaml_is_null(n))
        return 0;
    int rc = wc_list(p, n, "cipher_suites");
    if (rc)
        return rc;
    size_t cnt = tn_yaml_seq_len(n), k = 0;
    int *ids = tn_xcalloc(cnt + 1, sizeof(int));
    for (size_t i = 0; i < cnt; i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&p->y, n, i);
        int id = wc_cipher_id(tn_yaml_scalar(it));
        if (id == 0) {
            free(ids);
            return tn_yaml_error(&p->y, it, "unknown cipher: %s (or one mbedtls does not offer)",
                                 tn_yaml_scalar(it));
        }
        if (id > 0)
            ids[k++] = id;
    }
    free(p->c->tls.cipher_suites);
    p->c->tls.cipher_suites = ids;
    return 0;
}

static int wc_curves(struct wc_parse *p, tn_ynode_t *n)
{
    static const struct {
        const char *name;
        int id;
    } curves[] = {
        {"CurveP256", MBEDTLS_ECP_DP_SECP256R1},
        {"CurveP384", MBEDTLS_ECP_DP_SECP384R1},
        {"CurveP521", MBEDTLS_ECP_DP_SECP521R1},
        {"X25519", MBEDTLS_ECP_DP_CURVE25519},
    };
    if (tn_yaml_is_null(n))
        return 0;
    int rc = wc_list(p, n, "curve_preferences");
    if (rc)
        return rc;
    size_t cnt = tn_yaml_seq_len(n);
    int *ids = tn_xcalloc(cnt + 1, sizeof(int));
    for (size_t i = 0; i < cnt; i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&p->y, n, i);
        const char *s = tn_yaml_scalar(it);
        for (size_t j = 0; j < TN_ARRAY_LEN(curves); j++)
            if (strcmp(s, curves[j].name) == 0)
                ids[i] = curves[j].id;
        if (!ids[i]) {
            free(ids);
            return tn_yaml_error(&p->y, it, "unknown curve: %s", s);
        }
    }
    free(p->c->tls.curves);
    p->c->tls.curves = ids;
    return 0;
}

static int wc_sans(struct wc_parse *p, tn_ynode_t *n)
{
    if (tn_yaml_is_null(n))
        return 0;
    int rc = wc_list(p, n, "client_allowed_sans");
    if (rc)
        return rc;
    size_t cnt = tn_yaml_seq_len(n);
    char **l = tn_xcalloc(cnt + 1, sizeof(char *));
    for (size_t i = 0; i < cnt; i++)
        l[i] = tn_xstrdup(tn_yaml_scalar(tn_yaml_seq_item(&p->y, n, i)));
    p->c->tls.client_allowed_sans = l;
    return 0;
}

static int wc_client_auth(struct wc_parse *p, tn_ynode_t *n)
{
    static const struct {
        const char *name;
        enum tn_client_auth v;
    } modes[] = {
        {"", TN_CLIENT_AUTH_NONE},
        {"NoClientCert", TN_CLIENT_AUTH_NONE},
        {"RequestClientCert", TN_CLIENT_AUTH_REQUEST},
        {"RequireAnyClientCert", TN_CLIENT_AUTH_REQUIRE_ANY},
        {"RequireClientCert", TN_CLIENT_AUTH_REQUIRE_ANY}, /* older spelling */
        {"VerifyClientCertIfGiven", TN_CLIENT_AUTH_VERIFY_IF_GIVEN},
        {"RequireAndVerifyClientCert", TN_CLIENT_AUTH_REQUIRE_VERIFY},
    };
    const char *s = tn_yaml_is_null(n) ? "" : tn_yaml_scalar(n);
    for (size_t i = 0; s && i < TN_ARRAY_LEN(modes); i++)
        if (strcmp(s, modes[i].name) == 0) {
            p->c->tls.client_auth = modes[i].v;
            if (*s)
                p->c->tls.enabled = true;
            return 0;
        }
    return tn_yaml_error(&p->y, n, "invalid ClientAuth: %s", s ? s : tn_yaml_kind(n));
}

static int wc_tls(struct wc_parse *p, tn_ynode_t *map)
{
    tn_webconfig_tls_t *t = &p->c->tls;
    if (tn_yaml_is_null(map))
        return 0;
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_mapping(&p->y, map, "tls_server_config", &pairs);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "cert_file") == 0)
            rc = wc_path(p, v, k, &t->cert_file);
        else if (strcmp(k, "key_file") == 0)
            rc = wc_path(p, v, k, &t->key_file);
        else if (strcmp(k, "client_ca_file") == 0)
            rc = wc_path(p, v, k, &t->client_ca_file);
        else if (strcmp(k, "cert") == 0)
            rc = wc_string(p, v, k, &t->cert);
        else if (strcmp(k, "key") == 0)
            rc = wc_string(p, v, k, &t->key);
        else if (strcmp(k, "client_ca") == 0)
            rc = wc_string(p, v, k, &t->client_ca);
        else if (strcmp(k, "client_auth_type") == 0)
            rc = wc_client_auth(p, v);
        else if (strcmp(k, "min_version") == 0)
            rc = wc_version(p, v, k, &t->min_version, true);
        else if (strcmp(k, "max_version") == 0)
            rc = wc_version(p, v, k, &t->max_version, false);
        else if (strcmp(k, "cipher_suites") == 0)
            rc = wc_ciphers(p, v);
        else if (strcmp(k, "curve_preferences") == 0)
            rc = wc_curves(p, v);
        else if (strcmp(k, "prefer_server_cipher_suites") == 0)
            rc = wc_bool(p, v, k, &t->prefer_server_cipher_suites);
        else if (strcmp(k, "client_allowed_sans") == 0)
            rc = wc_sans(p, v);
        else
            rc = tn_yaml_error(&p->y, pairs[i].key, "field %s not found in tls_server_config", k);
    }
    free(pairs);
    if (rc)
        return rc;
    /* empty strings count as unset, as in exporter-toolkit */
    char **strs[] = {&t->cert, &t->key, &t->client_ca};
    for (size_t i = 0; i < TN_ARRAY_LEN(strs); i++)
        if (*strs[i] && !**strs[i]) {
            free(*strs[i]);
            *strs[i] = NULL;
        }
    if (t->cert_file || t->key_file || t->client_ca_file || t->cert || t->key || t->client_ca)
        t->enabled = true;
    if (!t->enabled)
        return 0;
    if (!t->cert_file && !t->cert)
        return tn_yaml_error(&p->y, map, "tls_server_config: missing one of cert or cert_file");
    if (!t->key_file && !t->key)
        return tn_yaml_error(&p->y, map, "tls_server_config: missing one of key or key_file");
    if (t->cert_file && t->cert)
        return tn_yaml_error(&p->y, map, "tls_server_config: cert and cert_file are exclusive");
    if (t->key_file && t->key)
        return tn_yaml_error(&p->y, map, "tls_server_config: key and key_file are exclusive");
    if ((t->client_ca_file || t->client_ca) && t->client_auth == TN_CLIENT_AUTH_NONE)
        return tn_yaml_error(&p->y, map,
                             "client CA's have been configured without a Client Auth Policy");
    if (!t->client_ca_file && !t->client_ca &&
        (t->client_auth == TN_CLIENT_AUTH_VERIFY_IF_GIVEN ||
         t->client_auth == TN_CLIENT_AUTH_REQUIRE_VERIFY))
        return tn_yaml_error(
            &p->y, map, "tls_server_config: client_auth_type %s needs client_ca_file",
            t->client_auth == TN_CLIENT_AUTH_REQUIRE_VERIFY ? "RequireAndVerifyClientCert"
                                                            : "VerifyClientCertIfGiven");
    if (t->client_allowed_sans && t->client_auth != TN_CLIENT_AUTH_REQUIRE_ANY &&
        t->client_auth != TN_CLIENT_AUTH_REQUIRE_VERIFY)
        return tn_yaml_error(&p->y, map,
                             "client_allowed_sans requires client_auth_type to be one of "
                             "RequireAnyClientCert or RequireAndVerifyClientCert");
    int maxv = t->max_version ? t->max_version : TN_TLS13;
    if (t->min_version && t->min_version > maxv)
        return tn_yaml_error(&p->y, map, "tls_server_config: min_version is above max_version");
    return 0;
}

/* The headers exporter-toolkit lets one set, and their allowed values (NULL: any). */
static const struct {
    const char *name;
    const char *values[3];
} wc_allowed_headers[] = {
    {"Strict-Transport-Security", {NULL}},
    {"X-Content-Type-Options", {"nosniff", NULL}},
    {"X-Frame-Options", {"deny", "sameorigin", NULL}},
    {"X-XSS-Protection", {NULL}},
    {"Content-Security-Policy", {NULL}},
};

static int wc_headers(struct wc_parse *p, tn_ynode_t *map)
{
    if (tn_yaml_is_null(map))
        return 0;
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_mapping(&p->y, map, "headers", &pairs);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        size_t h = 0;
        while (h < TN_ARRAY_LEN(wc_allowed_headers) && strcmp(wc_allowed_headers[h].name, k))
            h++;
        if (h == TN_ARRAY_LEN(wc_allowed_headers)) {
            rc = tn_yaml_error(&p->y, pairs[i].key, "HTTP header \"%s\" can not be configured", k);
            break;
        }
        char *val = NULL;
        rc = wc_string(p, v, k, &val);
        if (rc)
            break;
        if (!val || !*val) { /* blank: unset */
            free(val);
            continue;
        }
        bool ok = strpbrk(val, "\r\n") == NULL;
        if (ok && wc_allowed_headers[h].values[0]) {
            ok = false;
            for (size_t j = 0; wc_allowed_headers[h].values[j]; j++)
                if (strcasecmp(val, wc_allowed_headers[h].values[j]) == 0)
                    ok = true;
        }
        if (!ok) {
            free(val);
            rc = tn_yaml_error(&p->y, v, "invalid value for %s", k);
            break;
        }
        tn_webconfig_t *c = p->c;
        c->headers = tn_xrealloc(c->headers, (c->nheaders + 1) * sizeof(*c->headers));
        c->headers[c->nheaders].name = tn_xstrdup(k);
        c->headers[c->nheaders].value = val;
        c->nheaders++;
    }
    free(pairs);
    return rc;
}

static int wc_http(struct wc_parse *p, tn_ynode_t *map)
{
    if (tn_yaml_is_null(map))
        return 0;
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_mapping(&p->y, map, "http_server_config", &pairs);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        if (strcmp(k, "http2") == 0)
            rc = wc_bool(p, pairs[i].value, k, &p->c->http2);
        else if (strcmp(k, "headers") == 0)
            rc = wc_headers(p, pairs[i].value);
        else
            rc = tn_yaml_error(&p->y, pairs[i].key, "field %s not found in http_server_config", k);
    }
    free(pairs);
    return rc;
}

static int wc_users(struct wc_parse *p, tn_ynode_t *map)
{
    if (tn_yaml_is_null(map))
        return 0;
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_mapping(&p->y, map, "basic_auth_users", &pairs);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        const char *h = tn_yaml_scalar(v);
        if (!h || tn_yaml_is_null(v) || !tn_auth_hash_valid(h)) {
            /* the hash is a secret: never quoted */
            rc = tn_yaml_error(&p->y, v,
                               "basic_auth_users: user \"%s\": not a bcrypt hash ($2y$, $2b$ "
                               "or $2a$, cost 4-31)",
                               k);
            break;
        }
        tn_webconfig_t *c = p->c;
        c->users = tn_xrealloc(c->users, (c->nusers + 1) * sizeof(*c->users));
        c->users[c->nusers].name = tn_xstrdup(k);
        c->users[c->nusers].hash = tn_xstrdup(h);
        c->nusers++;
    }
    free(pairs);
    return rc;
}

static int wc_rate_limit(struct wc_parse *p, tn_ynode_t *map)
{
    if (tn_yaml_is_null(map))
        return 0;
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_mapping(&p->y, map, "rate_limit", &pairs);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        const char *s = tn_yaml_scalar(pairs[i].value);
        char e[128];
        if (strcmp(k, "interval") == 0) {
            if (!s || tn_duration_parse(s, &p->c->rate_interval, e, sizeof(e)) < 0)
                rc = tn_yaml_error(&p->y, pairs[i].value, "rate_limit.interval: not a duration");
        } else if (strcmp(k, "burst") == 0) {
            char *end = NULL;
            errno = 0;
            long b = s ? strtol(s, &end, 10) : -1;
            if (!s || !*s || *end || errno || b < 0 || b > 1000000)
                rc = tn_yaml_error(&p->y, pairs[i].value, "rate_limit.burst: not an integer");
            else
                p->c->rate_burst = (int)b;
        } else {
            rc = tn_yaml_error(&p->y, pairs[i].key, "field %s not found in rate_limit", k);
        }
    }
    free(pairs);
    return rc;
}

tn_webconfig_t *tn_webconfig_parse(const char *file, const char *dir, const char *text, size_t len,
                                   char *err, size_t errlen)
{
    struct wc_parse p = {.dir = dir};
    p.c = tn_xcalloc(1, sizeof(*p.c));
    p.c->http2 = true;
    p.c->tls.prefer_server_cipher_suites = true;
    int rc = tn_yaml_load(&p.y, file, text, len, err, errlen);
    if (rc)
        goto out;
    tn_ynode_t *root = tn_yaml_root(&p.y);
    if (!root || tn_yaml_is_null(root))
        goto out;
    if (!tn_yaml_is_map(root)) {
        rc =
            tn_yaml_error(&p.y, root, "web config: expected a mapping, got %s", tn_yaml_kind(root));
        goto out;
    }
    tn_ypair_t *pairs = NULL;
    int n = tn_yaml_map_pairs(&p.y, root, &pairs);
    rc = n < 0 ? n : 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "tls_server_config") == 0)
            rc = wc_tls(&p, v);
        else if (strcmp(k, "http_server_config") == 0)
            rc = wc_http(&p, v);
        else if (strcmp(k, "basic_auth_users") == 0)
            rc = wc_users(&p, v);
        else if (strcmp(k, "rate_limit") == 0)
            rc = wc_rate_limit(&p, v);
        else
            rc = tn_yaml_error(&p.y, pairs[i].key, "field %s not found in web config", k);
    }
    free(pairs);
out:
    tn_yaml_free(&p.y);
    if (rc) {
        tn_webconfig_free(p.c);
        return NULL;
    }
    return p.c;
}

tn_webconfig_t *tn_webconfig_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    tn_buf_t b;
    tn_buf_init(&b, WEBCONFIG_MAX_FILE);
    char chunk[8192];
    size_t n;
    tn_webconfig_t *c = NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (tn_buf_append(&b, chunk, n) < 0) {
            snprintf(err, errlen, "%s: larger than %u bytes", path, WEBCONFIG_MAX_FILE);
            goto out;
        }
    if (ferror(f)) {
        snprintf(err, errlen, "read %s: %s", path, strerror(errno));
        goto out;
    }
    char *dir = tn_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    c = tn_webconfig_parse(path, slash ? (slash == dir ? "/" : dir) : NULL, tn_buf_cstr(&b), b.len,
                           err, errlen);
    free(dir);
out:
    fclose(f);
    tn_buf_free(&b);
    return c;
}

void tn_webconfig_free(tn_webconfig_t *c)
{
    if (!c)
        return;
    tn_webconfig_tls_t *t = &c->tls;
    free(t->cert_file);
    free(t->key_file);
    free(t->client_ca_file);
    free(t->cert);
    if (t->key) {
        explicit_bzero(t->key, strlen(t->key));
        free(t->key);
    }
    free(t->client_ca);
    free(t->cipher_suites);
    free(t->curves);
    if (t->client_allowed_sans) {
        for (size_t i = 0; t->client_allowed_sans[i]; i++)
            free(t->client_allowed_sans[i]);
        free(t->client_allowed_sans);
    }
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].name);
        free(c->users[i].hash);
    }
    free(c->users);
    for (size_t i = 0; i < c->nheaders; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c);
}

/* ---- live web config ---- */

/* What the file system says about a file: a change in any of these means re-read. */
struct wc_sig {
    int64_t mtime_ns;
    int64_t size;
    uint64_t ino;
    bool exists;
};

#define WC_NSIG 4

struct tn_websec {
    char *path;
    tn_webconfig_t *cfg;
    tn_tls_ctx_t *tls; /* NULL: plain HTTP */
    tn_auth_t *auth;
    tn_http_handler_fn next;
    void *next_ud;
    struct wc_sig sig[WC_NSIG];
    uint64_t last_check_ms;
    double tokens; /* rate_limit bucket */
    uint64_t tokens_ms;
    size_t checking; /* requests waiting for bcrypt */
    bool freed;      /* tn_websec_free called while some were */
};

static void wc_stat(const char *path, struct wc_sig *s)
{
    struct stat st;
    memset(s, 0, sizeof(*s));
    if (!path || stat(path, &st) != 0)
        return;
    s->exists = true;
    s->mtime_ns = (int64_t)st.st_mtim.tv_sec * TN_NS_PER_SEC + st.st_mtim.tv_nsec;
    s->size = (int64_t)st.st_size;
    s->ino = (uint64_t)st.st_ino;
}

static void wc_sigs(const char *path, const tn_webconfig_t *c, struct wc_sig out[WC_NSIG])
{
    wc_stat(path, &out[0]);
    wc_stat(c ? c->tls.cert_file : NULL, &out[1]);
    wc_stat(c ? c->tls.key_file : NULL, &out[2]);
    wc_stat(c ? c->tls.client_ca_file : NULL, &out[3]);
}

/* Loads config and certificates; both or neither. */
static int wc_build(const char *path, tn_webconfig_t **cfg, tn_tls_ctx_t **tls, char *err,
                    size_t errlen)
{
    *tls = NULL;
    *cfg = tn_webconfig_load(path, err, errlen);
    if (!*cfg)
        return TN_ERR_INVAL;
    if ((*cfg)->tls.enabled) {
        *tls = tn_tls_ctx_new(&(*cfg)->tls, err, errlen);
        if (!*tls) {
            tn_webconfig_free(*cfg);
            *cfg = NULL;
            return TN_ERR_INVAL;
        }
    }
    return 0;
}

tn_websec_t *tn_websec_new(uv_loop_t *loop, const char *path, tn_http_handler_fn next,
                           void *next_ud, char *err, size_t errlen)
{
    tn_webconfig_t *cfg;
    tn_tls_ctx_t *tls;
    if (wc_build(path, &cfg, &tls, err, errlen) < 0)
        return NULL;
    tn_websec_t *w = tn_xcalloc(1, sizeof(*w));
    w->path = tn_xstrdup(path);
    w->cfg = cfg;
    w->tls = tls;
    w->auth = tn_auth_new(loop);
    w->next = next;
    w->next_ud = next_ud;
    w->last_check_ms = tn_clock_mono_ms();
    w->tokens = cfg->rate_burst;
    w->tokens_ms = w->last_check_ms;
    wc_sigs(path, cfg, w->sig);
    return w;
}

int tn_websec_reload(tn_websec_t *w, bool force, char *err, size_t errlen)
{
    struct wc_sig now[WC_NSIG];
    wc_sigs(w->path, w->cfg, now);
    if (!force && memcmp(now, w->sig, sizeof(now)) == 0)
        return 0;
    memcpy(w->sig, now, sizeof(now)); /* a bad file is reported once, not every second */
    tn_webconfig_t *cfg;
    tn_tls_ctx_t *tls;
    int rc = wc_build(w->path, &cfg, &tls, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->tls.enabled != w->cfg->tls.enabled) {
        snprintf(err, errlen, "%s: turning TLS %s needs a restart", w->path,
                 cfg->tls.enabled ? "on" : "off");
        tn_tls_ctx_unref(tls);
        tn_webconfig_free(cfg);
        return TN_ERR_INVAL;
    }
    tn_webconfig_free(w->cfg);
    tn_tls_ctx_unref(w->tls); /* open connections hold their own reference */
    w->cfg = cfg;
    w->tls = tls;
    if (w->tokens > cfg->rate_burst)
        w->tokens = cfg->rate_burst;
    wc_sigs(w->path, cfg, w->sig);
    return 1;
}

/* At most once a second: the cheap stat of the files the config depends on. */
static void wc_maybe_reload(tn_websec_t *w)
{
    uint64_t now = tn_clock_mono_ms();
    if (now - w->last_check_ms < 1000)
        return;
    w->last_check_ms = now;
    char err[TN_ERRBUF_SIZE];
    int rc = tn_websec_reload(w, false, err, sizeof(err));
    if (rc > 0)
        tn_log(TN_LOG_INFO, "Web config reloaded", "file", w->path, NULL);
    else if (rc < 0)
        tn_log(TN_LOG_ERROR, "Web config reload failed; keeping the previous one", "file", w->path,
               "err", err, NULL);
}

static struct tn_tls_ctx *wc_tls_for_conn(void *ud)
{
    tn_websec_t *w = ud;
    wc_maybe_reload(w);
    return w->tls;
}

void tn_websec_attach(tn_websec_t *w, tn_http_server_t *s)
{
    char users[24];
    snprintf(users, sizeof(users), "%zu", w->cfg->nusers);
    tn_log(TN_LOG_INFO, w->tls ? "TLS is enabled" : "TLS is disabled", "web_config", w->path,
           "basic_auth_users", users, NULL);
    if (w->tls)
        tn_http_server_set_tls(s, wc_tls_for_conn, w);
}

const tn_webconfig_t *tn_websec_config(const tn_websec_t *w)
{
    return w->cfg;
}

static bool wc_rate_allow(tn_websec_t *w)
{
    const tn_webconfig_t *c = w->cfg;
    if (c->rate_interval <= 0)
        return true;
    uint64_t now = tn_clock_mono_ms();
    double per_ms = (double)c->rate_interval / (double)TN_NS_PER_MS;
    if (now > w->tokens_ms) {
        w->tokens += (double)(now - w->tokens_ms) / per_ms;
        if (w->tokens > c->rate_burst)
            w->tokens = c->rate_burst;
        w->tokens_ms = now;
    }
    if (w->tokens < 1)
        return false;
    w->tokens -= 1;
    return true;
}

static void wc_destroy(tn_websec_t *w)
{
    tn_webconfig_free(w->cfg);
    tn_tls_ctx_unref(w->tls);
    tn_auth_free(w->auth);
    free(w->path);
    free(w);
}

static void wc_answer(tn_websec_t *w, tn_http_req_t *req, enum tn_auth_result r)
{
    if (r == TN_AUTH_OK) {
        w->next(w->next_ud, req);
    } else if (r == TN_AUTH_LIMITED) {
        tn_http_respond(req, 429, "text/plain; charset=utf-8", "Too Many Requests\n", 18);
    } else {
        tn_http_add_header(req, "WWW-Authenticate", "Basic");
        tn_http_respond(req, 401, "text/plain; charset=utf-8", "Unauthorized\n", 13);
    }
}

static void wc_checked(void *ud1, void *ud2, enum tn_auth_result r)
{
    tn_websec_t *w = ud1;
    tn_http_req_t *req = ud2;
    w->checking--;
    if (w->freed) {
        tn_http_respond(req, 503, "text/plain; charset=utf-8", "Shutting down\n", 14);
        if (!w->checking)
            wc_destroy(w);
        return;
    }
    wc_answer(w, req, r);
}

void tn_websec_handle(void *ud, tn_http_req_t *req)
{
    tn_websec_t *w = ud;
    wc_maybe_reload(w);
    const tn_webconfig_t *c = w->cfg;
    for (size_t i = 0; i < c->nheaders; i++)
        tn_http_add_header(req, c->headers[i].name, c->headers[i].value);
    if (!wc_rate_allow(w)) {
        tn_http_respond(req, 429, "text/plain; charset=utf-8", "Too Many Requests\n", 18);
        return;
    }
    if (!c->nusers) {
        w->next(w->next_ud, req);
        return;
    }
    w->checking++;
    enum tn_auth_result r =
        tn_auth_check_async(w->auth, c->users, c->nusers, tn_http_req_header(req, "Authorization"),
                            tn_http_req_peer(req), tn_clock_mono_ms(), wc_checked, w, req);
    if (r == TN_AUTH_PENDING)
        return;
    w->checking--;
    wc_answer(w, req, r);
}

void tn_websec_free(tn_websec_t *w)
{
    if (!w)
        return;
    if (w->checking) {
        w->freed = true;
        return;
    }
    wc_destroy(w);
}
