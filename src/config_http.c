/* http_config and tls_config, as Prometheus's common HTTP client config reads them: auth
 * (basic, authorization, bearer token), proxies, redirects and TLS; under global (the
 * receivers' default) and under each receiver. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

void tn_tls_config_free(tn_tls_config_t *t)
{
    free(t->ca_file);
    free(t->cert_file);
    free(t->key_file);
    free(t->ca);
    free(t->cert);
    free(t->key);
    free(t->server_name);
    free(t->min_version);
    free(t->max_version);
    memset(t, 0, sizeof(*t));
}

static bool cfg_set(const char *s)
{
    return s && s[0];
}

static char *cfg_dup(const char *s)
{
    return s ? tn_xstrdup(s) : NULL;
}

void tn_tls_config_copy(tn_tls_config_t *d, const tn_tls_config_t *s)
{
    d->ca_file = cfg_dup(s->ca_file);
    d->cert_file = cfg_dup(s->cert_file);
    d->key_file = cfg_dup(s->key_file);
    d->ca = cfg_dup(s->ca);
    d->cert = cfg_dup(s->cert);
    d->key = cfg_dup(s->key);
    d->server_name = cfg_dup(s->server_name);
    d->insecure_skip_verify = s->insecure_skip_verify;
    d->min_version = cfg_dup(s->min_version);
    d->max_version = cfg_dup(s->max_version);
}

/* oauth2, read by the generic field reader. */
#define OA(k, t, m)                                                                                \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(tn_oauth2_config_t, m)                             \
    }
static const tn_field_t cfg_oauth2_fields[] = {
    OA("client_id", TN_F_STRING, client_id),
    OA("client_secret", TN_F_SECRET, client_secret),
    {.key = "client_secret_file",
     .type = TN_F_SECRET_FILE,
     .offset = offsetof(tn_oauth2_config_t, client_secret_file),
     .target = "client_secret"},
    OA("grant_type", TN_F_STRING, grant_type),
    OA("scopes", TN_F_STRING_LIST, scopes),
    OA("token_url", TN_F_STRING, token_url),
    OA("endpoint_params", TN_F_STRING_MAP, endpoint_params),
    OA("tls_config", TN_F_TLS_CONFIG, tls),
    OA("proxy_url", TN_F_STRING, proxy_url),
    OA("no_proxy", TN_F_STRING, no_proxy),
    OA("proxy_from_environment", TN_F_BOOL, proxy_from_environment),
    {.key = NULL},
};
#undef OA

/* Keys of prometheus/common's oauth2 that only its jwt-bearer grant reads, and the proxy
 * headers: refused by name rather than ignored. */
static const char *const cfg_oauth2_unsupported[] = {
    "client_certificate_key_id",
    "client_certificate_key",
    "client_certificate_key_file",
    "signature_algorithm",
    "iss",
    "audience",
    "claims",
    "client_secret_ref",
    "proxy_connect_header",
    NULL,
};

static void cfg_oauth2_free(tn_oauth2_config_t *o)
{
    if (!o)
        return;
    cfg_fields_free(cfg_oauth2_fields, o);
    free(o);
}

static tn_oauth2_config_t *cfg_oauth2_copy(const tn_oauth2_config_t *s)
{
    if (!s)
        return NULL;
    tn_oauth2_config_t *d = tn_xcalloc(1, sizeof(*d));
    d->client_id = cfg_dup(s->client_id);
    d->client_secret = cfg_dup(s->client_secret);
    d->client_secret_file = cfg_dup(s->client_secret_file);
    d->grant_type = cfg_dup(s->grant_type);
    d->token_url = cfg_dup(s->token_url);
    d->scopes.v = tn_xcalloc(s->scopes.n + 1, sizeof(char *));
    for (size_t i = 0; i < s->scopes.n; i++)
        d->scopes.v[i] = tn_xstrdup(s->scopes.v[i]);
    d->scopes.n = s->scopes.n;
    tn_strmap_copy(&d->endpoint_params, &s->endpoint_params);
    tn_tls_config_copy(&d->tls, &s->tls);
    d->proxy_url = cfg_dup(s->proxy_url);
    d->no_proxy = cfg_dup(s->no_proxy);
    d->proxy_from_environment = s->proxy_from_environment;
    return d;
}

static int cfg_oauth2(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h)
{
    tn_ypair_t *pairs = NULL;
    int np = tn_yaml_mapping(&x->y, n, "oauth2", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        for (size_t j = 0; cfg_oauth2_unsupported[j]; j++)
            if (strcmp(k, cfg_oauth2_unsupported[j]) == 0) {
                int rc = tn_yaml_error(&x->y, pairs[i].key, "oauth2: %s is not supported yet", k);
                free(pairs);
                return rc;
            }
    }
    free(pairs);
    tn_oauth2_config_t *o = tn_xcalloc(1, sizeof(*o));
    h->oauth2 = o;
    int rc = cfg_fields_read(x, n, cfg_oauth2_fields, o, "oauth2", NULL);
    if (rc != TN_OK)
        return rc;
    if (!cfg_set(o->client_id))
        return tn_yaml_error(&x->y, n, "oauth2 client_id must be configured");
    if (!cfg_set(o->token_url))
        return tn_yaml_error(&x->y, n, "oauth2 token_url must be configured");
    if (cfg_set(o->grant_type) && strcmp(o->grant_type, "client_credentials") != 0)
        return tn_yaml_error(&x->y, n,
                             strcmp(o->grant_type, "urn:ietf:params:oauth:grant-type:jwt-bearer") ==
                                     0
                                 ? "oauth2: grant_type %s is not supported yet"
                                 : "oauth2: unknown grant_type %s",
                             o->grant_type);
    if (cfg_set(o->proxy_url)) {
        const char *why = cfg_url_syntax(o->proxy_url);
        if (why)
            return tn_yaml_error(&x->y, n, "oauth2: proxy_url: invalid URL: %s", why);
        if (o->proxy_from_environment)
            return tn_yaml_error(&x->y, n,
                                 "if proxy_from_environment is configured, proxy_url "
                                 "must not be configured");
    } else if (cfg_set(o->no_proxy)) {
        return tn_yaml_error(&x->y, n,
                             "if no_proxy is configured, proxy_url must also be configured");
    }
    return TN_OK;
}

void tn_http_config_free(tn_http_config_t *h)
{
    cfg_oauth2_free(h->oauth2);
    free(h->basic_auth_username);
    free(h->basic_auth_password);
    free(h->authorization_type);
    free(h->authorization_credentials);
    free(h->proxy_url);
    free(h->no_proxy);
    tn_tls_config_free(&h->tls);
    memset(h, 0, sizeof(*h));
}

void tn_http_config_copy(tn_http_config_t *d, const tn_http_config_t *s)
{
    memset(d, 0, sizeof(*d));
    d->basic_auth_username = cfg_dup(s->basic_auth_username);
    d->basic_auth_password = cfg_dup(s->basic_auth_password);
    d->authorization_type = cfg_dup(s->authorization_type);
    d->authorization_credentials = cfg_dup(s->authorization_credentials);
    d->proxy_url = cfg_dup(s->proxy_url);
    d->no_proxy = cfg_dup(s->no_proxy);
    d->proxy_from_environment = s->proxy_from_environment;
    d->follow_redirects = s->follow_redirects;
    d->enable_http2 = s->enable_http2;
    tn_tls_config_copy(&d->tls, &s->tls);
    d->oauth2 = cfg_oauth2_copy(s->oauth2);
}

void cfg_http_defaults(tn_http_config_t *h)
{
    memset(h, 0, sizeof(*h));
    h->follow_redirects = true;
    h->enable_http2 = true;
}

/* Reads a scalar string key of a small section (basic_auth, tls_config...). */
int cfg_take_str(cfg_ctx_t *x, tn_ynode_t *v, const char *key, char **out)
{
    int rc;
    if (tn_yaml_is_null(v))
        return TN_OK;
    rc = cfg_want_scalar(x, v, key, "a string");
    if (rc != TN_OK)
        return rc;
    free(*out);
    *out = tn_xstrdup(tn_yaml_scalar(v));
    return TN_OK;
}

static int cfg_take_file(cfg_ctx_t *x, tn_ynode_t *v, const char *key, char **path, char **content)
{
    char *p = NULL;
    int rc = cfg_take_str(x, v, key, &p);
    if (rc != TN_OK || !p)
        return rc;
    free(*path);
    *path = cfg_path_resolve(x, p);
    free(p);
    if (content)
        return cfg_read_secret_file(x, v, *path, content);
    return TN_OK;
}

static int cfg_tls_version_ok(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *v)
{
    static const char *const ok[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    for (size_t i = 0; i < TN_ARRAY_LEN(ok); i++)
        if (strcmp(v, ok[i]) == 0)
            return TN_OK;
    return tn_yaml_error(&x->y, at, "%s: unknown TLS version: %s", key, v);
}

#define TLS(k, t, m)                                                                               \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(tn_tls_config_t, m)                                \
    }
static const tn_field_t cfg_tls_fields[] = {
    TLS("ca_file", TN_F_PATH, ca_file),
    TLS("cert_file", TN_F_PATH, cert_file),
    TLS("key_file", TN_F_PATH, key_file),
    TLS("ca", TN_F_STRING, ca),
    TLS("cert", TN_F_STRING, cert),
    TLS("key", TN_F_SECRET, key),
    TLS("server_name", TN_F_STRING, server_name),
    TLS("insecure_skip_verify", TN_F_BOOL, insecure_skip_verify),
    TLS("min_version", TN_F_STRING, min_version),
    TLS("max_version", TN_F_STRING, max_version),
    {.key = NULL},
};
#undef TLS

/* Where an error about key points: the key's value when it is there, else the section. */
static tn_ynode_t *cfg_at_key(cfg_ctx_t *x, tn_ynode_t *n, const char *key)
{
    tn_ynode_t *v = tn_yaml_is_map(n) ? tn_yaml_map_get(&x->y, n, key) : NULL;
    return v ? v : n;
}

int cfg_tls_config(cfg_ctx_t *x, tn_ynode_t *n, tn_tls_config_t *t)
{
    memset(t, 0, sizeof(*t));
    if (tn_yaml_is_null(n))
        return TN_OK;
    int rc = cfg_fields_read(x, n, cfg_tls_fields, t, "tls_config", NULL);
    if (rc == TN_OK && t->min_version)
        rc = cfg_tls_version_ok(x, cfg_at_key(x, n, "min_version"), "min_version", t->min_version);
    if (rc == TN_OK && t->max_version)
        rc = cfg_tls_version_ok(x, cfg_at_key(x, n, "max_version"), "max_version", t->max_version);
    /* prometheus/common's checks, with its words. */
    static const char *const pairs[][2] = {
        {"ca", "ca_file"}, {"cert", "cert_file"}, {"key", "key_file"}};
    const char *const *have[] = {(const char *const *)&t->ca, (const char *const *)&t->cert,
                                 (const char *const *)&t->key};
    const char *const *have_file[] = {(const char *const *)&t->ca_file,
                                      (const char *const *)&t->cert_file,
                                      (const char *const *)&t->key_file};
    for (size_t i = 0; i < TN_ARRAY_LEN(pairs) && rc == TN_OK; i++)
        if (*have[i] && *have_file[i])
            rc = tn_yaml_error(&x->y, cfg_at_key(x, n, pairs[i][0]),
                               "tls_config: at most one of %s and %s must be configured",
                               pairs[i][0], pairs[i][1]);
    if (rc == TN_OK && (t->cert || t->cert_file) && !(t->key || t->key_file))
        rc = tn_yaml_error(&x->y, n,
                           "tls_config: exactly one of key or key_file must be "
                           "configured when a client certificate is configured");
    if (rc == TN_OK && (t->key || t->key_file) && !(t->cert || t->cert_file))
        rc = tn_yaml_error(&x->y, n,
                           "tls_config: exactly one of cert or cert_file must be "
                           "configured when a client key is configured");
    return rc;
}

static int cfg_basic_auth(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    char *ufile = NULL, *pfile = NULL;
    bool have_pw = false, have_user = false;

    np = tn_yaml_mapping(&x->y, n, "basic_auth", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "username") == 0) {
            have_user = !tn_yaml_is_null(v);
            rc = cfg_take_str(x, v, k, &h->basic_auth_username);
        } else if (strcmp(k, "password") == 0) {
            have_pw = !tn_yaml_is_null(v);
            rc = cfg_take_str(x, v, k, &h->basic_auth_password);
        } else if (strcmp(k, "username_file") == 0) {
            if (have_user || cfg_pair_get(pairs, np, "username"))
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "basic_auth: at most one of username "
                                   "and username_file must be configured");
            else
                rc = cfg_take_file(x, v, k, &ufile, &h->basic_auth_username);
        } else if (strcmp(k, "password_file") == 0) {
            tn_ynode_t *pw = cfg_pair_get(pairs, np, "password");
            if (have_pw || (pw && !tn_yaml_is_null(pw)))
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "at most one of basic_auth password & password_file must "
                                   "be configured");
            else
                rc = cfg_take_file(x, v, k, &pfile, &h->basic_auth_password);
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in basic_auth", k);
        }
    }
    free(ufile);
    free(pfile);
    free(pairs);
    /* An empty basic_auth block still counts as configured. */
    if (rc == TN_OK && !h->basic_auth_username)
        h->basic_auth_username = tn_xstrdup("");
    return rc;
}

static int cfg_authorization(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    char *cfile = NULL;

    np = tn_yaml_mapping(&x->y, n, "authorization", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "type") == 0) {
            rc = cfg_take_str(x, v, k, &h->authorization_type);
            if (rc == TN_OK && h->authorization_type &&
                strcasecmp(h->authorization_type, "basic") == 0)
                rc = tn_yaml_error(&x->y, v,
                                   "authorization type cannot be set to \"basic\", "
                                   "use \"basic_auth\" instead");
        } else if (strcmp(k, "credentials") == 0) {
            rc = cfg_take_str(x, v, k, &h->authorization_credentials);
        } else if (strcmp(k, "credentials_file") == 0) {
            tn_ynode_t *c = cfg_pair_get(pairs, np, "credentials");
            if (c && !tn_yaml_is_null(c))
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "at most one of authorization credentials & "
                                   "credentials_file must be configured");
            else
                rc = cfg_take_file(x, v, k, &cfile, &h->authorization_credentials);
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in authorization", k);
        }
    }
    free(cfile);
    free(pairs);
    if (rc == TN_OK && (!h->authorization_type || !h->authorization_type[0])) {
        free(h->authorization_type);
        h->authorization_type = tn_xstrdup("Bearer");
    }
    return rc;
}

/* prometheus/common's HTTPClientConfig, with its rules about which auth methods combine. */
int cfg_http_config(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    tn_ynode_t *basic = NULL, *authz = NULL, *bearer = NULL, *bearer_file = NULL;
    tn_ynode_t *proxy = NULL, *noproxy = NULL, *fromenv = NULL, *oauth2 = NULL;
    char *btoken = NULL, *bfile = NULL;

    cfg_http_defaults(h);
    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, "http_config", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "basic_auth") == 0) {
            if (!tn_yaml_is_null(v)) {
                basic = pairs[i].key;
                rc = cfg_basic_auth(x, v, h);
            }
        } else if (strcmp(k, "authorization") == 0) {
            if (!tn_yaml_is_null(v)) {
                authz = pairs[i].key;
                rc = cfg_authorization(x, v, h);
            }
        } else if (strcmp(k, "bearer_token") == 0) {
            rc = cfg_take_str(x, v, k, &btoken);
            if (btoken && btoken[0])
                bearer = pairs[i].key;
        } else if (strcmp(k, "bearer_token_file") == 0) {
            char *p = NULL;
            rc = cfg_take_str(x, v, k, &p);
            if (rc == TN_OK && p && p[0]) {
                bearer_file = pairs[i].key;
                bfile = cfg_path_resolve(x, p);
            }
            free(p);
        } else if (strcmp(k, "tls_config") == 0) {
            rc = cfg_tls_config(x, v, &h->tls);
        } else if (strcmp(k, "proxy_url") == 0) {
            rc = cfg_take_str(x, v, k, &h->proxy_url);
            if (rc == TN_OK && h->proxy_url && h->proxy_url[0]) {
                proxy = v;
                const char *why = cfg_url_syntax(h->proxy_url);
                if (why)
                    rc = tn_yaml_error(&x->y, v, "proxy_url: invalid URL: %s", why);
            }
        } else if (strcmp(k, "no_proxy") == 0) {
            noproxy = v;
            rc = cfg_take_str(x, v, k, &h->no_proxy);
        } else if (strcmp(k, "proxy_from_environment") == 0) {
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v),
                                    &h->proxy_from_environment);
            if (h->proxy_from_environment)
                fromenv = v;
        } else if (strcmp(k, "follow_redirects") == 0 || strcmp(k, "enable_http2") == 0) {
            bool *dst = k[0] == 'f' ? &h->follow_redirects : &h->enable_http2;
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v), dst);
        } else if (strcmp(k, "oauth2") == 0) {
            if (!tn_yaml_is_null(v)) {
                oauth2 = pairs[i].key;
                rc = cfg_oauth2(x, v, h);
            }
        } else if (strcmp(k, "proxy_connect_header") == 0 || strcmp(k, "http_headers") == 0) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "http_config: %s is not supported yet", k);
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in http_config", k);
        }
    }
    if (rc != TN_OK)
        goto out;
    if (bearer && bearer_file) {
        rc = tn_yaml_error(&x->y, bearer_file,
                           "at most one of bearer_token & bearer_token_file must be configured");
    } else if ((basic || oauth2) && (bearer || bearer_file)) {
        rc = tn_yaml_error(&x->y, basic ? basic : oauth2,
                           "at most one of basic_auth, oauth2, bearer_token & "
                           "bearer_token_file must be configured");
    } else if (authz && (bearer || bearer_file)) {
        rc = tn_yaml_error(&x->y, authz,
                           "authorization is not compatible with bearer_token & "
                           "bearer_token_file");
    } else if ((authz && (basic || oauth2)) || (basic && oauth2)) {
        rc = tn_yaml_error(&x->y, authz ? authz : oauth2,
                           "at most one of basic_auth, oauth2 & authorization must be configured");
    } else if (proxy && fromenv) {
        rc = tn_yaml_error(&x->y, fromenv,
                           "if proxy_from_environment is configured, proxy_url "
                           "must not be configured");
    } else if (noproxy && h->no_proxy && h->no_proxy[0] && !proxy) {
        rc = tn_yaml_error(&x->y, noproxy,
                           "if no_proxy is configured, proxy_url must also be configured");
    }
    if (rc != TN_OK)
        goto out;
    /* The legacy bearer token is an Authorization header of type Bearer. */
    if (bearer) {
        h->authorization_type = tn_xstrdup("Bearer");
        h->authorization_credentials = btoken;
        btoken = NULL;
    } else if (bearer_file) {
        h->authorization_type = tn_xstrdup("Bearer");
        rc = cfg_read_secret_file(x, bearer_file, bfile, &h->authorization_credentials);
    }
out:
    free(btoken);
    free(bfile);
    free(pairs);
    return rc;
}
