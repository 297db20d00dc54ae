/* The config loader: alertmanager.yml through libyaml into one validated, immutable, refcounted
 * snapshot. Strict as Alertmanager is: unknown keys, wrong types and dangling references are
 * errors, each naming file:line:column.
 *
 * Receivers declare their keys as field tables (receiver.h); the generic reader here fills a
 * receiver's struct from its table and frees it by the same table. The global section is read
 * by a table too, so a new global key is one row. */
#include "tocsin/config.h"
#include "tocsin/template.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tocsin/log.h"
#include "tocsin/receiver.h"
#include "tocsin/strtab.h"
#include "tocsin/timeinterval.h"
#include "tocsin/yamltree.h"

#define CFG_MAX_FILE        (16u << 20) /* config files larger than this are refused */
#define CFG_MAX_SECRET_FILE (1u << 20)
#define CFG_MAX_ROUTE_DEPTH 64

typedef struct cfg_ctx {
    tn_yaml_t y;
    const char *dir; /* directory of the file, for relative paths; NULL = leave them */
    tn_config_t *c;
    bool in_global; /* reading the global section: http_config defaults are the built-in ones */
    unsigned route_counter;
    struct tn_tz **zones; /* loaded so far, a reference each: one read per zone per config */
    size_t nzones;
    unsigned flags;     /* TN_CFG_* */
    tn_buf_t *warnings; /* TN_CFG_CHECK_ONLY: one line per secret file that cannot be read */
} cfg_ctx_t;

static const tn_receiver_type_t *const *cfg_test_types;

void tn_config_set_receiver_types_for_test(const struct tn_receiver_type *const *types)
{
    cfg_test_types = types;
}

static const tn_receiver_type_t *cfg_type_find(const char *name)
{
    if (cfg_test_types) {
        for (size_t i = 0; cfg_test_types[i]; i++)
            if (strcmp(cfg_test_types[i]->name, name) == 0)
                return cfg_test_types[i];
        return NULL;
    }
    return tn_receiver_type_find(name);
}

/* Integrations Alertmanager knows; those without a tocsin receiver type are refused by name
 * rather than ignored, so that a config never silently loses a pager. */
static const char *const cfg_known_integrations[] = {
    "discord",  "email",   "incidentio", "pagerduty", "slack",      "webhook",
    "opsgenie", "wechat",  "pushover",   "victorops", "sns",        "telegram",
    "webex",    "msteams", "msteamsv2",  "jira",      "rocketchat", "mattermost",
};

/* ---- small helpers ---- */

static char *cfg_path_resolve(const cfg_ctx_t *x, const char *p)
{
    if (p[0] == '/' || !x->dir || p[0] == 0)
        return tn_xstrdup(p);
    return tn_xasprintf("%s/%s", x->dir, p);
}

static int cfg_read_all(const char *path, size_t cap, char **out, size_t *outlen, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "rb");
    tn_buf_t b;
    char chunk[8192];
    size_t n;
    int rc = TN_OK;

    if (!f) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return TN_ERR_IO;
    }
    tn_buf_init(&b, cap);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (tn_buf_append(&b, chunk, n) != TN_OK) {
            snprintf(err, errlen, "read %s: file larger than %zu bytes", path, cap);
            rc = TN_ERR_LIMIT;
            break;
        }
    }
    if (rc == TN_OK && ferror(f)) {
        snprintf(err, errlen, "read %s: %s", path, strerror(errno));
        rc = TN_ERR_IO;
    }
    fclose(f);
    if (rc != TN_OK) {
        tn_buf_free(&b);
        return rc;
    }
    tn_buf_cstr(&b);
    *out = b.data ? b.data : tn_xstrdup("");
    *outlen = b.len;
    return TN_OK;
}

static int cfg_read_secret_file(cfg_ctx_t *x, tn_ynode_t *at, const char *path, char **out)
{
    char e[TN_ERRBUF_SIZE];
    char *data;
    size_t len;

    if (cfg_read_all(path, CFG_MAX_SECRET_FILE, &data, &len, e, sizeof(e)) != TN_OK) {
        /* Alertmanager reads secret files when it sends, so its check passes where they are
         * not mounted (a CI runner); the server still refuses what it cannot read. */
        if ((x->flags & TN_CFG_CHECK_ONLY) && x->warnings) {
            tn_buf_printf(x->warnings, "%s:%d:%d: unable to read secret file: %s\n", x->y.file,
                          tn_yaml_line(at), tn_yaml_col(at), e);
            return TN_OK;
        }
        return tn_yaml_error(&x->y, at, "unable to read secret file: %s", e);
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = 0;
    free(*out);
    *out = data;
    return TN_OK;
}

static int cfg_want_scalar(cfg_ctx_t *x, tn_ynode_t *n, const char *key, const char *what)
{
    if (tn_yaml_is_scalar(n))
        return TN_OK;
    return tn_yaml_error(&x->y, n, "%s: expected %s, got %s", key, what, tn_yaml_kind(n));
}

static int cfg_parse_bool(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s, bool plain,
                          bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off",   "Off",   "OFF",   "n",  "N"};
    if (plain) {
        for (size_t i = 0; i < TN_ARRAY_LEN(yes); i++) {
            if (strcmp(s, yes[i]) == 0) {
                *out = true;
                return TN_OK;
            }
            if (strcmp(s, no[i]) == 0) {
                *out = false;
                return TN_OK;
            }
        }
    }
    return tn_yaml_error(&x->y, at, "%s: cannot parse \"%s\" as a boolean", key, s);
}

static int cfg_parse_duration(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s,
                              tn_duration_t *out)
{
    char e[TN_ERRBUF_SIZE];
    if (tn_duration_parse(s, out, e, sizeof(e)) != TN_OK)
        return tn_yaml_error(&x->y, at, "%s: %s", key, e);
    return TN_OK;
}

/* The syntax checks of a URL parser (Go's url.Parse): NULL if s parses, else why not. */
static const char *cfg_url_syntax(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            return "invalid control character in URL";
    /* scheme: a letter, then letters, digits, '+', '-', '.', up to ':'; any other character
     * first means there is no scheme and the whole text is a path */
    size_t i = 0;
    bool scheme = false;
    for (; s[i]; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
            continue;
        if (c == ':') {
            if (i == 0)
                return "missing protocol scheme";
            scheme = true;
        }
        break;
    }
    const char *rest = scheme ? s + i + 1 : s;
    if (!scheme) {
        size_t seg = strcspn(s, "/?#");
        if (memchr(s, ':', seg))
            return "first path segment in URL cannot contain colon";
        return NULL;
    }
    if (strncmp(rest, "//", 2) != 0)
        return NULL;
    const char *auth = rest + 2;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            host = p + 1;
    const char *hend = auth + alen;
    const char *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(hend - host));
        if (!close)
            return "missing ']' in host";
        for (const char *p = host + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.' && *p != '%')
                return "invalid IPv6 host";
        if (close + 1 < hend) {
            if (close[1] != ':')
                return "invalid port after host";
            port = close + 1;
        }
    } else {
        for (const char *p = host; p < hend; p++) {
            if (*p == ':') {
                port = p;
                break;
            }
            /* brackets belong around an IPv6 address only */
            if (!isalnum((unsigned char)*p) && !strchr("-._~!$&'()*+,;=%", *p))
                return *p == '[' || *p == ']' ? "invalid IPv6 host"
                                              : "invalid character in host name";
        }
    }
    if (port)
        for (const char *p = port + 1; p < hend; p++)
            if (!isdigit((unsigned char)*p))
                return "invalid port after host";
    return NULL;
}

/* An absolute http(s) URL with a host, as Alertmanager's URL type requires. */
static int cfg_check_url(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s, bool secret)
{
    const char *why = cfg_url_syntax(s);
    if (why)
        return tn_yaml_error(&x->y, at, "%s: invalid URL: %s", key, why);
    const char *sep = strstr(s, "://");
    size_t slen = sep ? (size_t)(sep - s) : 0;
    const char *host;

    if (!sep || !((slen == 4 && strncasecmp(s, "http", 4) == 0) ||
                  (slen == 5 && strncasecmp(s, "https", 5) == 0))) {
        if (secret)
            return tn_yaml_error(&x->y, at,
                                 "%s: unsupported scheme for URL (must be http or "
                                 "https)",
                                 key);
        return tn_yaml_error(&x->y, at, "%s: unsupported scheme \"%.*s\" for URL", key, (int)slen,
                             s);
    }
    host = sep + 3;
    if (strchr(host, '@') && strchr(host, '@') < host + strcspn(host, "/?#"))
        host = strchr(host, '@') + 1;
    if (*host == 0 || strchr("/?#:", *host))
        return tn_yaml_error(&x->y, at, "%s: host is missing in URL", key);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return tn_yaml_error(&x->y, at, "%s: invalid character in URL", key);
    return TN_OK;
}

static void cfg_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A sequence of scalars (null = empty). */
static int cfg_read_strlist(cfg_ctx_t *x, tn_ynode_t *n, const char *key, char ***out, size_t *outn)
{
    *out = NULL;
    *outn = 0;
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_error(&x->y, n, "%s: expected a list of strings, got %s", key,
                             tn_yaml_kind(n));
    size_t len = tn_yaml_seq_len(n);
    *out = tn_xcalloc(len ? len : 1, sizeof(char *));
    for (size_t i = 0; i < len; i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        int rc = cfg_want_scalar(x, it, key, "a string");
        if (rc != TN_OK)
            return rc;
        (*out)[i] = tn_xstrdup(tn_yaml_scalar(it));
        (*outn)++;
    }
    return TN_OK;
}

/* A mapping of scalars to scalars, in document order. Each value node is reported through
 * vals (may be NULL) for later error positions. */
static int cfg_read_strmap(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_strmap_t *m)
{
    tn_ypair_t *pairs;
    int np, rc = TN_OK;

    memset(m, 0, sizeof(*m));
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_map(n))
        return tn_yaml_error(&x->y, n, "%s: expected a mapping of strings, got %s", key,
                             tn_yaml_kind(n));
    np = tn_yaml_map_pairs(&x->y, n, &pairs);
    if (np < 0)
        return np;
    m->keys = tn_xcalloc((size_t)np + 1, sizeof(char *));
    m->values = tn_xcalloc((size_t)np + 1, sizeof(char *));
    for (int i = 0; i < np; i++) {
        rc = cfg_want_scalar(x, pairs[i].value, tn_yaml_scalar(pairs[i].key), "a string");
        if (rc != TN_OK)
            break;
        m->keys[m->n] = tn_xstrdup(tn_yaml_scalar(pairs[i].key));
        m->values[m->n] = tn_xstrdup(tn_yaml_scalar(pairs[i].value));
        m->n++;
    }
    free(pairs);
    return rc;
}

static void cfg_strmap_free(tn_strmap_t *m)
{
    cfg_strv_free(m->keys, m->n);
    cfg_strv_free(m->values, m->n);
    memset(m, 0, sizeof(*m));
}

static tn_ynode_t *cfg_pair_get(tn_ypair_t *pairs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(tn_yaml_scalar(pairs[i].key), key) == 0)
            return pairs[i].value;
    return NULL;
}

/* ---- TLS and HTTP client settings ---- */

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

void tn_http_config_free(tn_http_config_t *h)
{
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
}

static void cfg_http_defaults(tn_http_config_t *h)
{
    memset(h, 0, sizeof(*h));
    h->follow_redirects = true;
    h->enable_http2 = true;
}

/* Reads a scalar string key of a small section (basic_auth, tls_config...). */
static int cfg_take_str(cfg_ctx_t *x, tn_ynode_t *v, const char *key, char **out)
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

static int cfg_tls_config(cfg_ctx_t *x, tn_ynode_t *n, tn_tls_config_t *t)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    tn_ynode_t *ca = NULL, *cert = NULL, *key = NULL, *caf = NULL, *certf = NULL, *keyf = NULL;

    memset(t, 0, sizeof(*t));
    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, "tls_config", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "ca_file") == 0) {
            caf = v;
            rc = cfg_take_file(x, v, k, &t->ca_file, NULL);
        } else if (strcmp(k, "cert_file") == 0) {
            certf = v;
            rc = cfg_take_file(x, v, k, &t->cert_file, NULL);
        } else if (strcmp(k, "key_file") == 0) {
            keyf = v;
            rc = cfg_take_file(x, v, k, &t->key_file, NULL);
        } else if (strcmp(k, "ca") == 0) {
            ca = v;
            rc = cfg_take_str(x, v, k, &t->ca);
        } else if (strcmp(k, "cert") == 0) {
            cert = v;
            rc = cfg_take_str(x, v, k, &t->cert);
        } else if (strcmp(k, "key") == 0) {
            key = v;
            rc = cfg_take_str(x, v, k, &t->key);
        } else if (strcmp(k, "server_name") == 0) {
            rc = cfg_take_str(x, v, k, &t->server_name);
        } else if (strcmp(k, "insecure_skip_verify") == 0) {
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v),
                                    &t->insecure_skip_verify);
        } else if (strcmp(k, "min_version") == 0 || strcmp(k, "max_version") == 0) {
            char **dst = k[1] == 'i' ? &t->min_version : &t->max_version;
            rc = cfg_take_str(x, v, k, dst);
            if (rc == TN_OK && *dst)
                rc = cfg_tls_version_ok(x, v, k, *dst);
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in tls_config", k);
        }
    }
    if (rc == TN_OK && t->ca && t->ca_file)
        rc = tn_yaml_error(&x->y, ca ? ca : caf,
                           "tls_config: at most one of ca and ca_file must be configured");
    if (rc == TN_OK && t->cert && t->cert_file)
        rc = tn_yaml_error(&x->y, cert ? cert : certf,
                           "tls_config: at most one of cert and cert_file must be configured");
    if (rc == TN_OK && t->key && t->key_file)
        rc = tn_yaml_error(&x->y, key ? key : keyf,
                           "tls_config: at most one of key and key_file must be configured");
    if (rc == TN_OK && (t->cert || t->cert_file) && !(t->key || t->key_file))
        rc = tn_yaml_error(&x->y, n,
                           "tls_config: exactly one of key or key_file must be "
                           "configured when a client certificate is configured");
    if (rc == TN_OK && (t->key || t->key_file) && !(t->cert || t->cert_file))
        rc = tn_yaml_error(&x->y, n,
                           "tls_config: exactly one of cert or cert_file must be "
                           "configured when a client key is configured");
    free(pairs);
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
static int cfg_http_config(cfg_ctx_t *x, tn_ynode_t *n, tn_http_config_t *h)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    tn_ynode_t *basic = NULL, *authz = NULL, *bearer = NULL, *bearer_file = NULL;
    tn_ynode_t *proxy = NULL, *noproxy = NULL, *fromenv = NULL;
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
        } else if (strcmp(k, "oauth2") == 0 || strcmp(k, "proxy_connect_header") == 0 ||
                   strcmp(k, "http_headers") == 0) {
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
    } else if (basic && (bearer || bearer_file)) {
        rc = tn_yaml_error(&x->y, basic,
                           "at most one of basic_auth, oauth2, bearer_token & "
                           "bearer_token_file must be configured");
    } else if (authz && (bearer || bearer_file)) {
        rc = tn_yaml_error(&x->y, authz,
                           "authorization is not compatible with bearer_token & "
                           "bearer_token_file");
    } else if (authz && basic) {
        rc = tn_yaml_error(&x->y, authz,
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

/* ---- the generic field-table reader ---- */

static void *cfg_at(void *base, size_t off)
{
    return (char *)base + off;
}

static int cfg_fields_read(cfg_ctx_t *x, tn_ynode_t *n, const tn_field_t *fields, void *base,
                           const char *what, const char *const *skip);

/* Sets a scalar-typed field from text. at is where errors point. */
static int cfg_field_scalar(cfg_ctx_t *x, const tn_field_t *f, void *base, tn_ynode_t *at,
                            const char *s, bool plain)
{
    void *p = cfg_at(base, f->offset);
    char *end;

    switch (f->type) {
    case TN_F_STRING:
    case TN_F_SECRET:
        free(*(char **)p);
        *(char **)p = tn_xstrdup(s);
        return TN_OK;
    case TN_F_SECRET_FILE:
        free(*(char **)p);
        *(char **)p = cfg_path_resolve(x, s);
        return TN_OK;
    case TN_F_URL:
    case TN_F_SECRET_URL: {
        int rc = cfg_check_url(x, at, f->key, s, f->type == TN_F_SECRET_URL);
        if (rc != TN_OK)
            return rc;
        free(*(char **)p);
        *(char **)p = tn_xstrdup(s);
        return TN_OK;
    }
    case TN_F_BOOL:
        return cfg_parse_bool(x, at, f->key, s, plain, (bool *)p);
    case TN_F_DURATION:
        return cfg_parse_duration(x, at, f->key, s, (tn_duration_t *)p);
    case TN_F_UINT: {
        unsigned long long v;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ')
            return tn_yaml_error(&x->y, at, "%s: cannot parse \"%s\" as an unsigned integer",
                                 f->key, s);
        *(uint64_t *)p = v;
        return TN_OK;
    }
    case TN_F_FLOAT: {
        double v;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end)
            return tn_yaml_error(&x->y, at, "%s: cannot parse \"%s\" as a number", f->key, s);
        *(double *)p = v;
        return TN_OK;
    }
    default:
        return tn_yaml_error(&x->y, at, "%s: default not supported for this field type", f->key);
    }
}

static int cfg_field_set(cfg_ctx_t *x, const tn_field_t *f, void *base, tn_ynode_t *v)
{
    void *p = cfg_at(base, f->offset);
    int rc;

    switch (f->type) {
    case TN_F_STRING:
    case TN_F_SECRET:
    case TN_F_SECRET_FILE:
    case TN_F_URL:
    case TN_F_SECRET_URL:
    case TN_F_BOOL:
    case TN_F_DURATION:
    case TN_F_UINT:
    case TN_F_FLOAT:
        if (tn_yaml_is_null(v))
            return TN_OK;
        rc = cfg_want_scalar(x, v, f->key,
                             f->type == TN_F_BOOL       ? "a boolean"
                             : f->type == TN_F_DURATION ? "a duration"
                             : f->type == TN_F_UINT     ? "an unsigned integer"
                             : f->type == TN_F_FLOAT    ? "a number"
                                                        : "a string");
        if (rc != TN_OK)
            return rc;
        return cfg_field_scalar(x, f, base, v, tn_yaml_scalar(v), tn_yaml_plain(v));
    case TN_F_STRING_LIST: {
        tn_strlist_t *l = p;
        return cfg_read_strlist(x, v, f->key, &l->v, &l->n);
    }
    case TN_F_STRING_MAP:
        return cfg_read_strmap(x, v, f->key, (tn_strmap_t *)p);
    case TN_F_HTTP_CONFIG:
        return cfg_http_config(x, v, (tn_http_config_t *)p);
    case TN_F_TLS_CONFIG:
        return cfg_tls_config(x, v, (tn_tls_config_t *)p);
    case TN_F_STRUCT:
        return cfg_fields_read(x, v, f->sub, p, f->key, NULL);
    case TN_F_STRUCT_LIST: {
        tn_structlist_t *l = p;
        size_t len;
        if (tn_yaml_is_null(v))
            return TN_OK;
        if (!tn_yaml_is_seq(v))
            return tn_yaml_list_error(&x->y, v, f->key);
        len = tn_yaml_seq_len(v);
        l->v = tn_xcalloc(len ? len : 1, f->elem_size);
        for (size_t i = 0; i < len; i++) {
            /* Count first so that a failure frees the partly read element too. */
            l->n++;
            rc = cfg_fields_read(x, tn_yaml_seq_item(&x->y, v, i), f->sub,
                                 (char *)l->v + i * f->elem_size, f->key, NULL);
            if (rc != TN_OK)
                return rc;
        }
        return TN_OK;
    }
    }
    return tn_yaml_error(&x->y, v, "%s: unknown field type", f->key);
}

static const tn_field_t *cfg_field_find(const tn_field_t *fields, const char *key)
{
    for (const tn_field_t *f = fields; f->key; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static bool cfg_field_empty(const tn_field_t *f, void *base)
{
    const char *s = *(char **)cfg_at(base, f->offset);
    return !s || !s[0];
}

static int cfg_fields_read(cfg_ctx_t *x, tn_ynode_t *n, const tn_field_t *fields, void *base,
                           const char *what, const char *const *skip)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t **seen;
    size_t nf = 0;
    int np = 0, rc = TN_OK;

    for (const tn_field_t *f = fields; f->key; f++)
        nf++;
    if (!tn_yaml_is_null(n) && !tn_yaml_is_map(n))
        return tn_yaml_error(&x->y, n, "%s: expected a mapping, got %s", what, tn_yaml_kind(n));
    np = tn_yaml_map_pairs(&x->y, n, &pairs);
    if (np < 0)
        return np;
    seen = tn_xcalloc(nf + 1, sizeof(*seen));
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        const tn_field_t *f = cfg_field_find(fields, k);
        bool skipped = false;

        for (size_t j = 0; skip && skip[j]; j++)
            if (strcmp(skip[j], k) == 0)
                skipped = true;
        if (skipped)
            continue;
        if (!f) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in %s", k, what);
            break;
        }
        seen[f - fields] = pairs[i].key;
        rc = cfg_field_set(x, f, base, pairs[i].value);
        if (rc == TN_OK && tn_yaml_is_null(pairs[i].value) && f->type != TN_F_STRUCT &&
            f->type != TN_F_HTTP_CONFIG && f->type != TN_F_TLS_CONFIG)
            seen[f - fields] = NULL; /* an explicit null is as good as absent */
    }
    /* Defaults and required keys. */
    for (size_t i = 0; i < nf && rc == TN_OK; i++) {
        const tn_field_t *f = &fields[i];
        if (seen[i])
            continue;
        if (f->required && n) {
            /* n == NULL: an absent STRUCT gets its defaults; its required keys do not apply. */
            rc = tn_yaml_error(&x->y, n, "missing required field \"%s\" in %s", f->key, what);
        } else if (f->type == TN_F_HTTP_CONFIG) {
            tn_http_config_t *h = cfg_at(base, f->offset);
            if (x->in_global)
                cfg_http_defaults(h);
            else
                tn_http_config_copy(h, &x->c->global.http_config);
        } else if (f->type == TN_F_STRUCT) {
            rc = cfg_fields_read(x, NULL, f->sub, cfg_at(base, f->offset), f->key, NULL);
        } else if (f->def) {
            rc = cfg_field_scalar(x, f, base, n, f->def, true);
        }
    }
    /* A *_file key fills its secret now; both at once is ambiguous. */
    for (size_t i = 0; i < nf && rc == TN_OK; i++) {
        const tn_field_t *f = &fields[i], *t;
        if (f->type != TN_F_SECRET_FILE || !seen[i] || cfg_field_empty(f, base))
            continue;
        t = f->target ? cfg_field_find(fields, f->target) : NULL;
        if (!t) {
            rc = tn_yaml_error(&x->y, seen[i], "%s: no target field", f->key);
            break;
        }
        if (seen[t - fields] && !cfg_field_empty(t, base)) {
            rc = tn_yaml_error(&x->y, seen[i], "at most one of %s & %s must be configured", t->key,
                               f->key);
            break;
        }
        rc = cfg_read_secret_file(x, seen[i], *(char **)cfg_at(base, f->offset),
                                  (char **)cfg_at(base, t->offset));
    }
    free(seen);
    free(pairs);
    return rc;
}

static void cfg_fields_free(const tn_field_t *fields, void *base)
{
    for (const tn_field_t *f = fields; f->key; f++) {
        void *p = cfg_at(base, f->offset);
        switch (f->type) {
        case TN_F_STRING:
        case TN_F_SECRET:
        case TN_F_SECRET_FILE:
        case TN_F_URL:
        case TN_F_SECRET_URL:
            free(*(char **)p);
            *(char **)p = NULL;
            break;
        case TN_F_STRING_LIST: {
            tn_strlist_t *l = p;
            cfg_strv_free(l->v, l->n);
            l->v = NULL;
            l->n = 0;
            break;
        }
        case TN_F_STRING_MAP:
            cfg_strmap_free(p);
            break;
        case TN_F_HTTP_CONFIG:
            tn_http_config_free(p);
            break;
        case TN_F_TLS_CONFIG:
            tn_tls_config_free(p);
            break;
        case TN_F_STRUCT:
            cfg_fields_free(f->sub, p);
            break;
        case TN_F_STRUCT_LIST: {
            tn_structlist_t *l = p;
            for (size_t i = 0; i < l->n; i++)
                cfg_fields_free(f->sub, (char *)l->v + i * f->elem_size);
            free(l->v);
            l->v = NULL;
            l->n = 0;
            break;
        }
        default:
            break;
        }
    }
}

/* ---- global ---- */

#define G(key, type, member, def)                                                                  \
    {                                                                                              \
        key, type, offsetof(tn_global_config_t, member), false, def, NULL, 0, NULL                 \
    }
#define GFILE(key, member, target)                                                                 \
    {                                                                                              \
        key, TN_F_SECRET_FILE, offsetof(tn_global_config_t, member), false, NULL, NULL, 0, target  \
    }

static const tn_field_t cfg_global_fields[] = {
    G("resolve_timeout", TN_F_DURATION, resolve_timeout, "5m"),
    G("http_config", TN_F_HTTP_CONFIG, http_config, NULL),
    G("smtp_from", TN_F_STRING, smtp_from, NULL),
    G("smtp_hello", TN_F_STRING, smtp_hello, "localhost"),
    G("smtp_smarthost", TN_F_STRING, smtp_smarthost, NULL),
    G("smtp_auth_username", TN_F_STRING, smtp_auth_username, NULL),
    G("smtp_auth_password", TN_F_SECRET, smtp_auth_password, NULL),
    GFILE("smtp_auth_password_file", smtp_auth_password_file, "smtp_auth_password"),
    G("smtp_auth_secret", TN_F_SECRET, smtp_auth_secret, NULL),
    GFILE("smtp_auth_secret_file", smtp_auth_secret_file, "smtp_auth_secret"),
    G("smtp_auth_identity", TN_F_STRING, smtp_auth_identity, NULL),
    G("smtp_require_tls", TN_F_BOOL, smtp_require_tls, "true"),
    G("smtp_tls_config", TN_F_TLS_CONFIG, smtp_tls_config, NULL),
    G("smtp_force_implicit_tls", TN_F_BOOL, smtp_force_implicit_tls, NULL),
    G("slack_api_url", TN_F_SECRET_URL, slack_api_url, NULL),
    GFILE("slack_api_url_file", slack_api_url_file, "slack_api_url"),
    G("slack_app_token", TN_F_SECRET, slack_app_token, NULL),
    GFILE("slack_app_token_file", slack_app_token_file, "slack_app_token"),
    G("slack_app_url", TN_F_URL, slack_app_url, "https://slack.com/api/chat.postMessage"),
    G("pagerduty_url", TN_F_URL, pagerduty_url, "https://events.pagerduty.com/v2/enqueue"),
    G("opsgenie_api_url", TN_F_URL, opsgenie_api_url, "https://api.opsgenie.com/"),
    G("opsgenie_api_key", TN_F_SECRET, opsgenie_api_key, NULL),
    GFILE("opsgenie_api_key_file", opsgenie_api_key_file, "opsgenie_api_key"),
    G("wechat_api_url", TN_F_URL, wechat_api_url, "https://qyapi.weixin.qq.com/cgi-bin/"),
    G("wechat_api_secret", TN_F_SECRET, wechat_api_secret, NULL),
    GFILE("wechat_api_secret_file", wechat_api_secret_file, "wechat_api_secret"),
    G("wechat_api_corp_id", TN_F_STRING, wechat_api_corp_id, NULL),
    G("victorops_api_url", TN_F_URL, victorops_api_url,
      "https://alert.victorops.com/integrations/generic/20131114/alert/"),
    G("victorops_api_key", TN_F_SECRET, victorops_api_key, NULL),
    GFILE("victorops_api_key_file", victorops_api_key_file, "victorops_api_key"),
    G("telegram_api_url", TN_F_URL, telegram_api_url, "https://api.telegram.org"),
    G("telegram_bot_token", TN_F_SECRET, telegram_bot_token, NULL),
    GFILE("telegram_bot_token_file", telegram_bot_token_file, "telegram_bot_token"),
    G("webex_api_url", TN_F_URL, webex_api_url, "https://webexapis.com/v1/messages"),
    G("rocketchat_api_url", TN_F_URL, rocketchat_api_url, "https://open.rocket.chat/"),
    G("rocketchat_token", TN_F_SECRET, rocketchat_token, NULL),
    GFILE("rocketchat_token_file", rocketchat_token_file, "rocketchat_token"),
    G("rocketchat_token_id", TN_F_SECRET, rocketchat_token_id, NULL),
    GFILE("rocketchat_token_id_file", rocketchat_token_id_file, "rocketchat_token_id"),
    G("mattermost_webhook_url", TN_F_SECRET_URL, mattermost_webhook_url, NULL),
    GFILE("mattermost_webhook_url_file", mattermost_webhook_url_file, "mattermost_webhook_url"),
    G("jira_api_url", TN_F_URL, jira_api_url, NULL),
    {NULL, 0, 0, false, NULL, NULL, 0, NULL},
};

const struct tn_field *tn_config_global_fields(void)
{
    return cfg_global_fields;
}

static int cfg_global(cfg_ctx_t *x, tn_ynode_t *n)
{
    tn_global_config_t *g = &x->c->global;
    tn_ynode_t *v;
    int rc;

    x->in_global = true;
    rc = cfg_fields_read(x, n, cfg_global_fields, g, "global", NULL);
    x->in_global = false;
    if (rc != TN_OK)
        return rc;
    v = tn_yaml_is_map(n) ? tn_yaml_map_get(&x->y, n, "smtp_force_implicit_tls") : NULL;
    g->smtp_force_implicit_tls_set = v && !tn_yaml_is_null(v);
    if (g->smtp_smarthost && g->smtp_smarthost[0]) {
        const char *colon = strrchr(g->smtp_smarthost, ':');
        v = tn_yaml_map_get(&x->y, n, "smtp_smarthost");
        if (!colon)
            return tn_yaml_error(&x->y, v, "smtp_smarthost: address %s: missing port in address",
                                 g->smtp_smarthost);
        if (colon[1] == 0)
            return tn_yaml_error(&x->y, v, "smtp_smarthost: address \"%s\": port cannot be empty",
                                 g->smtp_smarthost);
    }
    v = n ? tn_yaml_map_get(&x->y, n, "slack_app_token") : NULL;
    if (g->slack_app_token && g->slack_app_token[0] && g->slack_api_url) {
        if (strcmp(g->slack_api_url, g->slack_app_url) != 0)
            return tn_yaml_error(&x->y, v,
                                 "at most one of slack_app_token/slack_app_token_file & "
                                 "slack_api_url/slack_api_url_file must be configured");
    }
    return TN_OK;
}

static void cfg_global_free(tn_global_config_t *g)
{
    cfg_fields_free(cfg_global_fields, g);
}

/* ---- receivers ---- */

static void cfg_integration_free(tn_integration_cfg_t *ic)
{
    if (!ic->conf)
        return;
    if (ic->type->conf_free)
        ic->type->conf_free(ic->conf);
    cfg_fields_free(ic->type->fields, ic->conf);
    free(ic->conf);
    ic->conf = NULL;
}

static void cfg_receiver_free(tn_receiver_cfg_t *r)
{
    for (size_t i = 0; i < r->nintegrations; i++)
        cfg_integration_free(&r->integrations[i]);
    free(r->integrations);
    free(r->name);
}

static int cfg_integrations(cfg_ctx_t *x, tn_receiver_cfg_t *r, tn_ynode_t *key, tn_ynode_t *list,
                            const tn_receiver_type_t *type)
{
    static const char *const skip[] = {"send_resolved", NULL};
    char what[128];
    unsigned idx = 0;
    int rc;

    snprintf(what, sizeof(what), "%s_configs", type->name);
    if (tn_yaml_is_null(list))
        return TN_OK;
    if (!tn_yaml_is_seq(list))
        return tn_yaml_error(&x->y, list, "receiver %s: %s: expected a list, got %s", r->name, what,
                             tn_yaml_kind(list));
    TN_UNUSED(key);
    for (size_t i = 0; i < tn_yaml_seq_len(list); i++) {
        tn_ynode_t *item = tn_yaml_seq_item(&x->y, list, i);
        tn_integration_cfg_t *ic;
        tn_ynode_t *sr;

        if (!tn_yaml_is_map(item) && !tn_yaml_is_null(item))
            return tn_yaml_error(&x->y, item, "receiver %s: %s: expected a mapping, got %s",
                                 r->name, what, tn_yaml_kind(item));
        r->integrations =
            tn_xrealloc(r->integrations, (r->nintegrations + 1) * sizeof(*r->integrations));
        ic = &r->integrations[r->nintegrations++];
        memset(ic, 0, sizeof(*ic));
        ic->type = type;
        ic->idx = idx++;
        ic->send_resolved = type->send_resolved_default;
        ic->conf = tn_xcalloc(1, type->conf_size ? type->conf_size : 1);
        sr = tn_yaml_is_map(item) ? tn_yaml_map_get(&x->y, item, "send_resolved") : NULL;
        if (sr && !tn_yaml_is_null(sr)) {
            rc = cfg_want_scalar(x, sr, "send_resolved", "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, sr, "send_resolved", tn_yaml_scalar(sr), tn_yaml_plain(sr),
                                    &ic->send_resolved);
            if (rc != TN_OK)
                return rc;
        }
        rc = cfg_fields_read(x, item, type->fields, ic->conf, what, skip);
        if (rc != TN_OK)
            return rc;
        if (type->finalize) {
            char e[TN_ERRBUF_SIZE] = "";
            if (type->finalize(ic->conf, &x->c->global, e, sizeof(e)) != TN_OK)
                return tn_yaml_error(&x->y, item, "receiver %s: %s: %s", r->name, what,
                                     e[0] ? e : "invalid configuration");
        }
    }
    return TN_OK;
}

static tn_pos_t cfg_pos(const tn_ynode_t *n)
{
    return (tn_pos_t){tn_yaml_line(n), tn_yaml_col(n)};
}

static int cfg_receiver(cfg_ctx_t *x, tn_ynode_t *n, tn_receiver_cfg_t *r)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *name;
    int np, rc = TN_OK;

    r->pos = cfg_pos(n);
    np = tn_yaml_mapping(&x->y, n, "receivers", &pairs);
    if (np < 0)
        return np;
    name = cfg_pair_get(pairs, np, "name");
    if (!name || tn_yaml_is_null(name) ||
        (tn_yaml_is_scalar(name) && tn_yaml_scalar(name)[0] == 0)) {
        rc = tn_yaml_error(&x->y, n, "missing name in receiver");
        goto out;
    }
    rc = cfg_want_scalar(x, name, "name", "a string");
    if (rc != TN_OK)
        goto out;
    r->name = tn_xstrdup(tn_yaml_scalar(name));
    for (size_t i = 0; i < x->c->nreceivers; i++) {
        if (strcmp(x->c->receivers[i].name, r->name) == 0) {
            rc = tn_yaml_error(&x->y, name, "notification config name \"%s\" is not unique",
                               r->name);
            goto out;
        }
    }
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        size_t klen = strlen(k);
        if (strcmp(k, "name") == 0)
            continue;
        if (strcmp(k, "labels") == 0) {
            tn_strmap_t m;
            rc = cfg_read_strmap(x, pairs[i].value, k, &m);
            for (size_t j = 0; rc == TN_OK && j < m.n; j++)
                if (strcmp(m.keys[j], "name") == 0 && strcmp(m.values[j], r->name) != 0)
                    rc = tn_yaml_error(&x->y, pairs[i].value,
                                       "receiver label \"name\" must match receiver name "
                                       "\"%s\", got \"%s\"",
                                       r->name, m.values[j]);
            cfg_strmap_free(&m);
            continue;
        }
        if (klen > 8 && strcmp(k + klen - 8, "_configs") == 0) {
            char tname[64];
            const tn_receiver_type_t *t;
            bool known = false;

            snprintf(tname, sizeof(tname), "%.*s", (int)(klen - 8), k);
            t = cfg_type_find(tname);
            if (t) {
                rc = cfg_integrations(x, r, pairs[i].key, pairs[i].value, t);
                continue;
            }
            for (size_t j = 0; j < TN_ARRAY_LEN(cfg_known_integrations); j++)
                if (strcmp(cfg_known_integrations[j], tname) == 0)
                    known = true;
            if (known) {
                rc = tn_yaml_error(&x->y, pairs[i].key, "receiver %s: %s is not supported yet",
                                   r->name, k);
                continue;
            }
        }
        rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in receiver %s", k, r->name);
    }
out:
    free(pairs);
    return rc;
}

static int cfg_receivers(cfg_ctx_t *x, tn_ynode_t *n)
{
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "receivers");
    len = tn_yaml_seq_len(n);
    x->c->receivers = tn_xcalloc(len ? len : 1, sizeof(tn_receiver_cfg_t));
    for (size_t i = 0; i < len; i++) {
        tn_receiver_cfg_t r;
        int rc;
        memset(&r, 0, sizeof(r));
        rc = cfg_receiver(x, tn_yaml_seq_item(&x->y, n, i), &r);
        if (rc != TN_OK) {
            cfg_receiver_free(&r);
            return rc;
        }
        x->c->receivers[x->c->nreceivers++] = r;
    }
    return TN_OK;
}

const tn_receiver_cfg_t *tn_config_receiver(const tn_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nreceivers; i++)
        if (strcmp(c->receivers[i].name, name) == 0)
            return &c->receivers[i];
    return NULL;
}

/* ---- matchers in config: matchers lists, legacy match / match_re maps ---- */

static bool cfg_classic_label_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool cfg_label_name_ok(const char *s)
{
    return tn_label_name_valid(s, strlen(s), tn_labels_mode() == TN_LABELS_CLASSIC);
}

static int cfg_matchers_list(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_matchers_t *ms)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_error(&x->y, n, "%s: expected a list of strings, got %s", key,
                             tn_yaml_kind(n));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        char e[TN_ERRBUF_SIZE];
        int rc = cfg_want_scalar(x, it, key, "a string");
        if (rc != TN_OK)
            return rc;
        if (tn_matchers_parse(tn_yaml_scalar(it), ms, e, sizeof(e)) != TN_OK)
            return tn_yaml_error(&x->y, it, "%s: %s", key, e);
    }
    return TN_OK;
}

static int cfg_match_map(cfg_ctx_t *x, tn_ynode_t *n, const char *key, bool re, tn_matchers_t *ms)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, key, &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        char e[TN_ERRBUF_SIZE];
        if (!cfg_classic_label_name(k)) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "invalid label name \"%s\"", k);
            break;
        }
        if (re && tn_yaml_is_null(pairs[i].value)) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "invalid regexp value for \"%s\"", k);
            break;
        }
        rc = cfg_want_scalar(x, pairs[i].value, k, "a string");
        if (rc != TN_OK)
            break;
        /* A legacy match_re value keeps its anchors in the matcher, as Alertmanager's does;
         * they show in route keys. */
        const char *raw = tn_yaml_scalar(pairs[i].value);
        char *val = re ? tn_xasprintf("^(?:%s)$", raw) : tn_xstrdup(raw);
        ms->v = tn_xrealloc(ms->v, (ms->n + 1) * sizeof(*ms->v));
        rc = tn_matcher_init(&ms->v[ms->n], re ? TN_MATCH_RE : TN_MATCH_EQ, k, val, e, sizeof(e));
        free(val);
        if (rc != TN_OK) {
            /* Go's error quotes the value anchored once: compile it alone for the message */
            tn_matcher_t probe;
            if (re && tn_matcher_init(&probe, TN_MATCH_RE, k, raw, e, sizeof(e)) == TN_OK)
                tn_matcher_free(&probe);
            rc = tn_yaml_error(&x->y, pairs[i].value, "%s: %s", key, e);
            break;
        }
        ms->n++;
    }
    free(pairs);
    return rc;
}

/* ---- time intervals ---- */

static void cfg_time_interval_free(tn_time_interval_t *ti)
{
    for (size_t i = 0; i < ti->nspecs; i++) {
        tn_time_interval_spec_t *s = &ti->specs[i];
        free(s->times);
        free(s->weekdays);
        free(s->days_of_month);
        free(s->months);
        free(s->years);
        free(s->location);
        tn_tz_free(s->tz);
    }
    free(ti->specs);
    free(ti->name);
}

/* "HH:MM", 00:00 to 23:59 or 24:00, as minutes of the day. */
static int cfg_parse_hhmm(const char *s, int *out)
{
    if (strcmp(s, "24:00") == 0) {
        *out = 24 * 60;
        return TN_OK;
    }
    if (strlen(s) != 5 || s[2] != ':')
        return TN_ERR_INVAL;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return TN_ERR_INVAL;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return TN_ERR_INVAL;
    *out = h * 60 + m;
    return TN_OK;
}

static int cfg_times(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "times");
    s->times = tn_xcalloc(tn_yaml_seq_len(n) + 1, sizeof(*s->times));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        tn_ypair_t *pairs = NULL;
        const char *st = NULL, *et = NULL;
        int np, rc = TN_OK, start = 0, end = 0;

        np = tn_yaml_mapping(&x->y, it, "times", &pairs);
        if (np < 0)
            return np;
        for (int j = 0; j < np && rc == TN_OK; j++) {
            const char *k = tn_yaml_scalar(pairs[j].key);
            if (strcmp(k, "start_time") == 0 || strcmp(k, "end_time") == 0) {
                rc = cfg_want_scalar(x, pairs[j].value, k, "a string");
                if (rc == TN_OK)
                    *(k[0] == 's' ? &st : &et) = tn_yaml_scalar(pairs[j].value);
            } else {
                rc = tn_yaml_error(&x->y, pairs[j].key, "unknown field \"%s\" in times", k);
            }
        }
        free(pairs);
        if (rc != TN_OK)
            return rc;
        if (!st || !et || !st[0] || !et[0])
            return tn_yaml_error(&x->y, it, "both start and end times must be provided");
        if (cfg_parse_hhmm(st, &start) != TN_OK)
            return tn_yaml_error(&x->y, it, "couldn't parse timestamp %s, invalid format", st);
        if (cfg_parse_hhmm(et, &end) != TN_OK)
            return tn_yaml_error(&x->y, it, "couldn't parse timestamp %s, invalid format", et);
        if (start >= end)
            return tn_yaml_error(&x->y, it, "start time cannot be equal or greater than end time");
        s->times[s->ntimes].start = start;
        s->times[s->ntimes].end = end;
        s->ntimes++;
    }
    return TN_OK;
}

enum cfg_range_kind { CFG_WEEKDAY, CFG_MDAY, CFG_MONTH, CFG_YEAR };

static const char *const cfg_weekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                           "thursday", "friday", "saturday"};
static const char *const cfg_months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};

/* An integer as Go's strconv.Atoi reads it: optional sign, then digits only. Returns NULL, or
 * Go's reason ("invalid syntax", "value out of range"). Values past an int's range but within
 * int64's, which never match a day or a year, are clamped. */
static const char *cfg_atoi(const char *s, int *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    bool neg = *s == '-';
    uint64_t v = 0;
    bool big = false;
    if (!*p)
        return "invalid syntax";
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return "invalid syntax";
        if (v > (UINT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (big || v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return "value out of range";
    if (v > 1000000000)
        v = 1000000000;
    *out = neg ? -(int)v : (int)v;
    return NULL;
}

static int cfg_range_member(cfg_ctx_t *x, tn_ynode_t *at, enum cfg_range_kind kind, const char *s,
                            int *out)
{
    switch (kind) {
    case CFG_WEEKDAY:
        for (int i = 0; i < 7; i++)
            if (strcmp(s, cfg_weekdays[i]) == 0) {
                *out = i;
                return TN_OK;
            }
        return tn_yaml_error(&x->y, at, "%s is not a valid weekday", s);
    case CFG_MONTH:
        for (int i = 0; i < 12; i++)
            if (strcmp(s, cfg_months[i]) == 0) {
                *out = i + 1;
                return TN_OK;
            }
        /* Numbers out of 1..12 are accepted (and never match), as Alertmanager does. */
        if (cfg_atoi(s, out))
            return tn_yaml_error(&x->y, at, "%s is not a valid month", s);
        return TN_OK;
    case CFG_MDAY:
    case CFG_YEAR: {
        /* worded as Go's strconv.Atoi, which Alertmanager reports as it is */
        const char *why = cfg_atoi(s, out);
        if (why)
            return tn_yaml_error(&x->y, at, "strconv.Atoi: parsing \"%s\": %s", s, why);
        return TN_OK;
    }
    }
    return TN_ERR_INVAL;
}

static int cfg_range(cfg_ctx_t *x, tn_ynode_t *at, enum cfg_range_kind kind, const char *in,
                     tn_time_range_t *r)
{
    char *s = tn_xstrdup(in), *colon;
    int rc;

    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    colon = strchr(s, ':');
    if (colon) {
        *colon = 0;
        if (strchr(colon + 1, ':')) {
            rc = tn_yaml_error(&x->y, at, "couldn't parse range %s, invalid format", in);
            goto out;
        }
        rc = cfg_range_member(x, at, kind, s, &r->start);
        if (rc == TN_OK)
            rc = cfg_range_member(x, at, kind, colon + 1, &r->end);
    } else {
        rc = cfg_range_member(x, at, kind, s, &r->start);
        r->end = r->start;
    }
    if (rc != TN_OK)
        goto out;
    switch (kind) {
    case CFG_WEEKDAY:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "start day cannot be before end day");
        break;
    case CFG_MDAY: {
        int b = r->start, e = r->end;
        if (b == 0 || b < -31 || b > 31)
            rc = tn_yaml_error(&x->y, at, "%d is not a valid day of the month: out of range", b);
        else if (e == 0 || e < -31 || e > 31)
            rc = tn_yaml_error(&x->y, at, "%d is not a valid day of the month: out of range", e);
        else if (b < 0 && e > 0)
            rc = tn_yaml_error(&x->y, at, "end day must be negative if start day is negative");
        else if ((b < 0 ? 28 + b : b) > (e < 0 ? 28 + e : e))
            rc = tn_yaml_error(&x->y, at, "end day %d is always before start day %d", e, b);
        break;
    }
    case CFG_MONTH:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "end month %s is before start month %s",
                               r->end >= 1 && r->end <= 12 ? cfg_months[r->end - 1] : "",
                               r->start >= 1 && r->start <= 12 ? cfg_months[r->start - 1] : "");
        break;
    case CFG_YEAR:
        if (r->start > r->end)
            rc = tn_yaml_error(&x->y, at, "end year %d is before start year %d", r->end, r->start);
        break;
    }
out:
    free(s);
    return rc;
}

static int cfg_ranges(cfg_ctx_t *x, tn_ynode_t *n, const char *key, enum cfg_range_kind kind,
                      tn_time_range_t **out, size_t *outn)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, key);
    *out = tn_xcalloc(tn_yaml_seq_len(n) + 1, sizeof(**out));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        int rc = cfg_want_scalar(x, it, key, "a string");
        if (rc == TN_OK)
            rc = cfg_range(x, it, kind, tn_yaml_scalar(it), &(*out)[*outn]);
        if (rc != TN_OK)
            return rc;
        (*outn)++;
    }
    return TN_OK;
}

/* The zone is loaded here, once per config snapshot, and evaluated without the file system. */
static int cfg_location(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    const char *name;
    char err[TN_ERRBUF_SIZE];
    int rc = cfg_want_scalar(x, n, "location", "a string");
    if (rc != TN_OK)
        return rc;
    name = tn_yaml_scalar(n);
    tn_tz_free(s->tz);
    s->tz = NULL;
    for (size_t i = 0; i < x->nzones && !s->tz; i++)
        if (strcmp(tn_tz_name(x->zones[i]), name[0] ? name : "UTC") == 0)
            s->tz = tn_tz_ref(x->zones[i]);
    if (!s->tz) {
        s->tz = tn_tz_load(name, err, sizeof(err));
        if (!s->tz)
            return tn_yaml_error(&x->y, n, "%s", err);
        x->zones = tn_xrealloc(x->zones, (x->nzones + 1) * sizeof(*x->zones));
        x->zones[x->nzones++] = tn_tz_ref(s->tz);
    }
    free(s->location);
    s->location = tn_xstrdup(name[0] ? name : "UTC");
    return TN_OK;
}

static int cfg_time_spec(cfg_ctx_t *x, tn_ynode_t *n, tn_time_interval_spec_t *s)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    np = tn_yaml_mapping(&x->y, n, "time_intervals", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "times") == 0)
            rc = cfg_times(x, v, s);
        else if (strcmp(k, "weekdays") == 0)
            rc = cfg_ranges(x, v, k, CFG_WEEKDAY, &s->weekdays, &s->nweekdays);
        else if (strcmp(k, "days_of_month") == 0)
            rc = cfg_ranges(x, v, k, CFG_MDAY, &s->days_of_month, &s->ndays_of_month);
        else if (strcmp(k, "months") == 0)
            rc = cfg_ranges(x, v, k, CFG_MONTH, &s->months, &s->nmonths);
        else if (strcmp(k, "years") == 0)
            rc = cfg_ranges(x, v, k, CFG_YEAR, &s->years, &s->nyears);
        else if (strcmp(k, "location") == 0)
            rc = tn_yaml_is_null(v) ? TN_OK : cfg_location(x, v, s);
        else
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in time interval", k);
    }
    free(pairs);
    return rc;
}

static int cfg_time_interval(cfg_ctx_t *x, tn_ynode_t *n, bool legacy, tn_time_interval_t *ti)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *name = NULL;
    int np, rc = TN_OK;

    ti->pos = cfg_pos(n);
    np = tn_yaml_mapping(&x->y, n, "time interval", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        if (strcmp(k, "name") == 0) {
            name = v;
            rc = cfg_take_str(x, v, k, &ti->name);
        } else if (strcmp(k, "time_intervals") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            if (!tn_yaml_is_seq(v)) {
                rc = tn_yaml_list_error(&x->y, v, "time_intervals");
                break;
            }
            ti->specs = tn_xcalloc(tn_yaml_seq_len(v) + 1, sizeof(*ti->specs));
            for (size_t j = 0; j < tn_yaml_seq_len(v) && rc == TN_OK; j++) {
                ti->nspecs++;
                rc = cfg_time_spec(x, tn_yaml_seq_item(&x->y, v, j), &ti->specs[j]);
            }
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in %s", k,
                               legacy ? "mute_time_intervals" : "time_intervals");
        }
    }
    free(pairs);
    if (rc != TN_OK)
        return rc;
    if (!ti->name || !ti->name[0])
        return tn_yaml_error(&x->y, n, "missing name in %s",
                             legacy ? "mute time interval" : "time interval");
    for (size_t i = 0; i < x->c->ntime_intervals; i++)
        if (strcmp(x->c->time_intervals[i].name, ti->name) == 0)
            return tn_yaml_error(&x->y, name, "%s \"%s\" is not unique",
                                 legacy ? "mute time interval" : "time interval", ti->name);
    return TN_OK;
}

static int cfg_time_intervals(cfg_ctx_t *x, tn_ynode_t *n, bool legacy)
{
    const char *key = legacy ? "mute_time_intervals" : "time_intervals";
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, key);
    len = tn_yaml_seq_len(n);
    x->c->time_intervals = tn_xrealloc(x->c->time_intervals, (x->c->ntime_intervals + len + 1) *
                                                                 sizeof(tn_time_interval_t));
    for (size_t i = 0; i < len; i++) {
        tn_time_interval_t ti;
        int rc;
        memset(&ti, 0, sizeof(ti));
        rc = cfg_time_interval(x, tn_yaml_seq_item(&x->y, n, i), legacy, &ti);
        if (rc != TN_OK) {
            cfg_time_interval_free(&ti);
            return rc;
        }
        x->c->time_intervals[x->c->ntime_intervals++] = ti;
    }
    return TN_OK;
}

static const tn_time_interval_t *cfg_time_interval_find(const tn_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->ntime_intervals; i++)
        if (strcmp(c->time_intervals[i].name, name) == 0)
            return &c->time_intervals[i];
    return NULL;
}

/* ---- routes ---- */

/* Label names and values the config shares with alerts (group_by, equal, route labels) are
 * plain copies until tn_config_intern, so that loading touches no global state and can run
 * off the loop. */
static void cfg_name_free(const char *s, bool interned)
{
    if (interned)
        tn_intern_unref(s);
    else
        free((char *)s);
}

static void cfg_route_free(tn_route_t *r, bool interned)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchildren; i++)
        cfg_route_free(r->children[i], interned);
    free(r->children);
    free(r->key);
    free(r->id);
    tn_matchers_free(&r->matchers);
    for (size_t i = 0; i < r->ngroup_by; i++)
        cfg_name_free(r->group_by[i], interned);
    free(r->group_by);
    cfg_strv_free(r->mute_time_intervals, r->nmute_time_intervals);
    cfg_strv_free(r->active_time_intervals, r->nactive_time_intervals);
    free(r->mute_tis);
    free(r->active_tis);
    for (size_t i = 0; i < r->nlabels; i++) {
        cfg_name_free(r->labels[i].name, interned);
        cfg_name_free(r->labels[i].value, interned);
    }
    free(r->labels);
    free(r);
}

/* A route's labels: this route's keys (v, NULL when it has none) over the parent's. */
static int cfg_route_labels(cfg_ctx_t *x, tn_ynode_t *v, tn_route_t *r, const tn_route_t *parent)
{
    tn_strmap_t m = {0};
    int rc = v ? cfg_read_strmap(x, v, "labels", &m) : TN_OK;
    for (size_t j = 0; rc == TN_OK && j < m.n; j++)
        if (!cfg_label_name_ok(m.keys[j]))
            rc = tn_yaml_error(&x->y, v, "invalid label name \"%s\" in route labels", m.keys[j]);
    if (rc == TN_OK) {
        size_t np = parent ? parent->nlabels : 0;
        r->labels = tn_xmalloc((np + m.n + 1) * sizeof(*r->labels));
        for (size_t j = 0; j < m.n; j++) {
            r->labels[r->nlabels].name = tn_xstrdup(m.keys[j]);
            r->labels[r->nlabels].value = tn_xstrdup(m.values[j]);
            r->nlabels++;
        }
        for (size_t j = 0; j < np; j++) {
            bool own = false;
            for (size_t k = 0; k < m.n && !own; k++)
                own = strcmp(m.keys[k], parent->labels[j].name) == 0;
            if (own)
                continue;
            r->labels[r->nlabels].name = tn_xstrdup(parent->labels[j].name);
            r->labels[r->nlabels].value = tn_xstrdup(parent->labels[j].value);
            r->nlabels++;
        }
        tn_labels_sort(r->labels, r->nlabels);
    }
    cfg_strmap_free(&m);
    return rc;
}

static int cfg_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cfg_route_group_by(cfg_ctx_t *x, tn_ynode_t *n, tn_route_t *r, bool *set)
{
    size_t len;
    bool all = false;
    tn_ynode_t *all_at = NULL;

    *set = false;
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_error(&x->y, n, "group_by: expected a list of strings, got %s",
                             tn_yaml_kind(n));
    len = tn_yaml_seq_len(n);
    r->group_by = tn_xcalloc(len + 1, sizeof(*r->group_by));
    for (size_t i = 0; i < len; i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        const char *s;
        int rc = cfg_want_scalar(x, it, "group_by", "a string");
        if (rc != TN_OK)
            return rc;
        s = tn_yaml_scalar(it);
        if (strcmp(s, "...") == 0) {
            all = true;
            all_at = it;
            continue;
        }
        if (!cfg_label_name_ok(s))
            return tn_yaml_error(&x->y, it, "invalid label name \"%s\" in group_by list", s);
        for (size_t j = 0; j < r->ngroup_by; j++)
            if (strcmp(r->group_by[j], s) == 0)
                return tn_yaml_error(&x->y, it, "duplicated label \"%s\" in group_by", s);
        r->group_by[r->ngroup_by++] = tn_xstrdup(s);
    }
    if (all && r->ngroup_by > 0)
        return tn_yaml_error(&x->y, all_at,
                             "cannot have wildcard group_by (`...`) and other "
                             "labels at the same time");
    qsort(r->group_by, r->ngroup_by, sizeof(*r->group_by), cfg_str_cmp);
    if (all) {
        r->group_by_all = true;
        return TN_OK; /* only '...': the inherited list stays, as Alertmanager keeps it */
    }
    *set = true;
    return TN_OK;
}

/* Time intervals are parsed before routes, so names resolve to pointers here. */
static int cfg_route_intervals(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_route_t *r,
                               char ***out, size_t *outn, const tn_time_interval_t ***tis)
{
    int rc;
    cfg_strv_free(*out, *outn);
    *out = NULL;
    *outn = 0;
    free(*tis);
    *tis = NULL;
    rc = cfg_read_strlist(x, n, key, out, outn);
    if (rc != TN_OK)
        return rc;
    *tis = tn_xcalloc(*outn + 1, sizeof(**tis));
    for (size_t i = 0; i < *outn; i++) {
        (*tis)[i] = cfg_time_interval_find(x->c, (*out)[i]);
        if (!(*tis)[i])
            return tn_yaml_error(&x->y, tn_yaml_seq_item(&x->y, n, i),
                                 "undefined time interval \"%s\" used in route %s", (*out)[i],
                                 r->id);
    }
    return TN_OK;
}

static char *cfg_matchers_str(const tn_matchers_t *ms)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_matchers_format(&b, ms);
    tn_buf_cstr(&b);
    return b.data;
}

/* A non-negative integer no larger than UINT32_MAX. */
static int cfg_parse_u32(cfg_ctx_t *x, tn_ynode_t *at, const char *key, uint32_t *out)
{
    const char *s = tn_yaml_scalar(at);
    char *end = NULL;
    int rc = cfg_want_scalar(x, at, key, "an integer");
    if (rc != TN_OK)
        return rc;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v > UINT32_MAX)
        return tn_yaml_error(&x->y, at, "%s: cannot parse \"%s\" as an integer from 0 to %u", key,
                             s, (unsigned)UINT32_MAX);
    *out = (uint32_t)v;
    return TN_OK;
}

/* rate_limit: {limit: N, period: D, burst: B, per: receiver|group} (tocsin extension). */
static int cfg_route_rate_limit(cfg_ctx_t *x, tn_ynode_t *v, tn_rate_limit_t *rl)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *limit_at = NULL, *period_at = NULL;
    tn_rate_limit_t n = {.per_group = false};
    bool burst_set = false;
    int np, rc = TN_OK;
    if (tn_yaml_is_null(v)) {
        *rl = (tn_rate_limit_t){0};
        return TN_OK;
    }
    np = tn_yaml_mapping(&x->y, v, "rate_limit", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *pv = pairs[i].value;
        if (strcmp(k, "limit") == 0) {
            limit_at = pv;
            rc = cfg_parse_u32(x, pv, "rate_limit.limit", &n.limit);
        } else if (strcmp(k, "burst") == 0) {
            rc = cfg_parse_u32(x, pv, "rate_limit.burst", &n.burst);
            burst_set = true;
            if (rc == TN_OK && n.burst == 0)
                rc = tn_yaml_error(&x->y, pv, "rate_limit.burst must be at least 1");
        } else if (strcmp(k, "period") == 0) {
            period_at = pv;
            rc = cfg_want_scalar(x, pv, "rate_limit.period", "a duration");
            if (rc == TN_OK)
                rc = cfg_parse_duration(x, pv, "rate_limit.period", tn_yaml_scalar(pv), &n.period);
            if (rc == TN_OK && n.period <= 0)
                rc = tn_yaml_error(&x->y, pv, "rate_limit.period must be positive");
        } else if (strcmp(k, "per") == 0) {
            rc = cfg_want_scalar(x, pv, "rate_limit.per", "receiver or group");
            if (rc == TN_OK && strcmp(tn_yaml_scalar(pv), "group") == 0)
                n.per_group = true;
            else if (rc == TN_OK && strcmp(tn_yaml_scalar(pv), "receiver") != 0)
                rc = tn_yaml_error(&x->y, pv,
                                   "rate_limit.per: expected \"receiver\" or \"group\", got \"%s\"",
                                   tn_yaml_scalar(pv));
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in rate_limit", k);
        }
    }
    if (rc == TN_OK && !limit_at)
        rc = tn_yaml_error(&x->y, v, "rate_limit: missing limit (0 turns an inherited limit off)");
    if (rc == TN_OK && n.limit > 0 && !period_at)
        rc = tn_yaml_error(&x->y, v, "rate_limit: missing period");
    if (rc == TN_OK && n.limit > 0 && n.period / n.limit == 0)
        rc = tn_yaml_error(&x->y, period_at, "rate_limit: period too short for this limit");
    if (rc == TN_OK && !burst_set)
        n.burst = n.limit;
    if (rc == TN_OK)
        *rl = n.limit ? n : (tn_rate_limit_t){0};
    free(pairs);
    return rc;
}

static int cfg_route(cfg_ctx_t *x, tn_ynode_t *n, tn_route_t *parent, size_t sibling, int depth,
                     tn_route_t **out)
{
    tn_ypair_t *pairs = NULL;
    tn_route_t *r = tn_xcalloc(1, sizeof(*r));
    tn_ynode_t *v, *routes = NULL, *labels = NULL;
    bool gb_set = false;
    int np, rc = TN_OK;

    *out = r;
    r->pos = cfg_pos(n);
    r->parent = parent;
    r->idx = x->route_counter++;
    if (depth > CFG_MAX_ROUTE_DEPTH)
        return tn_yaml_error(&x->y, n, "routes nested deeper than %d levels", CFG_MAX_ROUTE_DEPTH);
    if (!tn_yaml_is_map(n) && !tn_yaml_is_null(n))
        return tn_yaml_error(&x->y, n, "route: expected a mapping, got %s", tn_yaml_kind(n));
    np = tn_yaml_map_pairs(&x->y, n, &pairs);
    if (np < 0)
        return np;

    /* Inherited settings first; keys below override them. */
    if (parent) {
        r->receiver = parent->receiver;
        r->group_by_all = parent->group_by_all;
        r->group_wait = parent->group_wait;
        r->group_interval = parent->group_interval;
        r->repeat_interval = parent->repeat_interval;
        r->rate_limit = parent->rate_limit;
        r->group_limit = parent->group_limit;
    } else {
        r->group_wait = 30 * TN_NS_PER_SEC;
        r->group_interval = 5 * 60 * TN_NS_PER_SEC;
        r->repeat_interval = 4 * 3600 * TN_NS_PER_SEC;
    }

    /* Matchers before anything that names the route in an error. */
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        v = pairs[i].value;
        if (strcmp(k, "match") == 0)
            rc = cfg_match_map(x, v, k, false, &r->matchers);
        else if (strcmp(k, "match_re") == 0)
            rc = cfg_match_map(x, v, k, true, &r->matchers);
        else if (strcmp(k, "matchers") == 0)
            rc = cfg_matchers_list(x, v, k, &r->matchers);
    }
    if (rc != TN_OK)
        goto out;
    tn_matchers_sort(&r->matchers);
    {
        char *ms = cfg_matchers_str(&r->matchers);
        if (parent) {
            r->key = tn_xasprintf("%s/%s", parent->key, ms);
            r->id = tn_xasprintf("%s/%s/%zu", parent->id, ms, sibling);
        } else {
            r->key = tn_xstrdup(ms);
            r->id = tn_xstrdup(ms);
        }
        free(ms);
    }
    if (!parent && r->matchers.n > 0) {
        rc = tn_yaml_error(&x->y, n, "root route must not have any matchers");
        goto out;
    }

    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        v = pairs[i].value;
        if (strcmp(k, "match") == 0 || strcmp(k, "match_re") == 0 || strcmp(k, "matchers") == 0) {
            continue;
        } else if (strcmp(k, "receiver") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a string");
            if (rc == TN_OK && tn_yaml_scalar(v)[0]) {
                r->receiver = tn_config_receiver(x->c, tn_yaml_scalar(v));
                if (!r->receiver)
                    rc = tn_yaml_error(&x->y, v, "undefined receiver \"%s\" used in route",
                                       tn_yaml_scalar(v));
            }
        } else if (strcmp(k, "group_by") == 0) {
            rc = cfg_route_group_by(x, v, r, &gb_set);
            if (gb_set)
                r->group_by_all = false;
        } else if (strcmp(k, "continue") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v), &r->cont);
            if (rc == TN_OK && r->cont && !parent)
                rc = tn_yaml_error(&x->y, pairs[i].key, "cannot have continue in root route");
        } else if (strcmp(k, "group_wait") == 0 || strcmp(k, "group_interval") == 0 ||
                   strcmp(k, "repeat_interval") == 0) {
            tn_duration_t *dst = k[0] == 'r'   ? &r->repeat_interval
                                 : k[6] == 'w' ? &r->group_wait
                                               : &r->group_interval;
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a duration");
            if (rc == TN_OK)
                rc = cfg_parse_duration(x, v, k, tn_yaml_scalar(v), dst);
            if (rc == TN_OK && *dst == 0 && k[0] != 'r' && k[6] == 'i')
                rc = tn_yaml_error(&x->y, v, "group_interval cannot be zero");
            if (rc == TN_OK && *dst == 0 && k[0] == 'r')
                rc = tn_yaml_error(&x->y, v, "repeat_interval cannot be zero");
        } else if (strcmp(k, "mute_time_intervals") == 0) {
            rc = cfg_route_intervals(x, v, k, r, &r->mute_time_intervals, &r->nmute_time_intervals,
                                     &r->mute_tis);
            if (rc == TN_OK && !parent && r->nmute_time_intervals)
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "root route must not have any mute time intervals");
        } else if (strcmp(k, "active_time_intervals") == 0) {
            rc = cfg_route_intervals(x, v, k, r, &r->active_time_intervals,
                                     &r->nactive_time_intervals, &r->active_tis);
            if (rc == TN_OK && !parent && r->nactive_time_intervals)
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "root route must not have any active time intervals");
        } else if (strcmp(k, "labels") == 0) {
            labels = v;
        } else if (strcmp(k, "rate_limit") == 0) {
            rc = cfg_route_rate_limit(x, v, &r->rate_limit);
        } else if (strcmp(k, "group_limit") == 0) {
            if (!tn_yaml_is_null(v))
                rc = cfg_parse_u32(x, v, k, &r->group_limit);
        } else if (strcmp(k, "routes") == 0) {
            routes = v;
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in route", k);
        }
    }
    if (rc == TN_OK)
        rc = cfg_route_labels(x, labels, r, parent);
    if (rc != TN_OK)
        goto out;
    if (!parent && !r->receiver) {
        rc = tn_yaml_error(&x->y, n, "root route must specify a default receiver");
        goto out;
    }
    if (!gb_set && parent) {
        r->ngroup_by = 0;
        free(r->group_by);
        r->group_by = tn_xcalloc(parent->ngroup_by + 1, sizeof(*r->group_by));
        for (size_t i = 0; i < parent->ngroup_by; i++)
            r->group_by[r->ngroup_by++] = tn_xstrdup(parent->group_by[i]);
    }
    if (r->repeat_interval < r->group_interval) {
        char ri[32], gi[32];
        tn_duration_format(r->repeat_interval, ri);
        tn_duration_format(r->group_interval, gi);
        tn_log(TN_LOG_WARN,
               "repeat_interval is less than group_interval. Notifications will not repeat "
               "until the next group_interval.",
               "repeat_interval", ri, "group_interval", gi, "route", r->key, NULL);
    }
    if (!tn_yaml_is_null(routes)) {
        size_t len;
        if (!tn_yaml_is_seq(routes)) {
            rc = tn_yaml_list_error(&x->y, routes, "routes");
            goto out;
        }
        len = tn_yaml_seq_len(routes);
        r->children = tn_xcalloc(len + 1, sizeof(*r->children));
        for (size_t i = 0; i < len && rc == TN_OK; i++) {
            rc = cfg_route(x, tn_yaml_seq_item(&x->y, routes, i), r, i, depth + 1, &r->children[i]);
            r->nchildren++;
        }
    }
out:
    free(pairs);
    return rc;
}

/* ---- inhibit rules ---- */

static void cfg_inhibit_free(tn_inhibit_rule_t *ir, bool interned)
{
    tn_matchers_free(&ir->source);
    tn_matchers_free(&ir->target);
    for (size_t i = 0; i < ir->nequal; i++)
        cfg_name_free(ir->equal[i], interned);
    free(ir->equal);
}

static int cfg_inhibit_rule(cfg_ctx_t *x, tn_ynode_t *n, tn_inhibit_rule_t *ir)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    ir->pos = cfg_pos(n);

    /* An empty item ("-" alone) is a rule without matchers, as Alertmanager loads it: every
     * alert matches both sides, and a source never inhibits an alert that also matches the
     * target, so it inhibits nothing. */
    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, "inhibit_rules", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *v = pairs[i].value;
        bool src = strncmp(k, "source_", 7) == 0;
        tn_matchers_t *ms = src ? &ir->source : &ir->target;
        const char *sub = k + 7;

        if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "match") == 0) {
            rc = cfg_match_map(x, v, k, false, ms);
        } else if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "match_re") == 0) {
            rc = cfg_match_map(x, v, k, true, ms);
        } else if ((src || strncmp(k, "target_", 7) == 0) && strcmp(sub, "matchers") == 0) {
            rc = cfg_matchers_list(x, v, k, ms);
        } else if (strcmp(k, "equal") == 0) {
            char **names = NULL;
            size_t nn = 0;
            rc = cfg_read_strlist(x, v, k, &names, &nn);
            for (size_t j = 0; rc == TN_OK && j < nn; j++)
                if (!cfg_label_name_ok(names[j]))
                    rc = tn_yaml_error(&x->y, tn_yaml_seq_item(&x->y, v, j),
                                       "invalid label name \"%s\" in equal list", names[j]);
            if (rc == TN_OK) {
                ir->equal = tn_xcalloc(nn + 1, sizeof(*ir->equal));
                for (size_t j = 0; j < nn; j++)
                    ir->equal[ir->nequal++] = tn_xstrdup(names[j]);
            }
            cfg_strv_free(names, nn);
        } else if (strcmp(k, "name") == 0) {
            rc = cfg_want_scalar(x, v, k, "a string");
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in inhibit rule", k);
        }
    }
    free(pairs);
    return rc;
}

static int cfg_inhibit_rules(cfg_ctx_t *x, tn_ynode_t *n)
{
    size_t len;

    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_list_error(&x->y, n, "inhibit_rules");
    len = tn_yaml_seq_len(n);
    x->c->inhibit_rules = tn_xcalloc(len + 1, sizeof(tn_inhibit_rule_t));
    for (size_t i = 0; i < len; i++) {
        x->c->ninhibit_rules++;
        int rc = cfg_inhibit_rule(x, tn_yaml_seq_item(&x->y, n, i),
                                  &x->c->inhibit_rules[x->c->ninhibit_rules - 1]);
        if (rc != TN_OK)
            return rc;
    }
    return TN_OK;
}

/* ---- the snapshot ---- */

static void cfg_free(tn_config_t *c)
{
    if (!c)
        return;
    cfg_route_free(c->route, c->names_interned);
    for (size_t i = 0; i < c->nreceivers; i++)
        cfg_receiver_free(&c->receivers[i]);
    free(c->receivers);
    for (size_t i = 0; i < c->ninhibit_rules; i++)
        cfg_inhibit_free(&c->inhibit_rules[i], c->names_interned);
    free(c->inhibit_rules);
    for (size_t i = 0; i < c->ntime_intervals; i++)
        cfg_time_interval_free(&c->time_intervals[i]);
    free(c->time_intervals);
    cfg_strv_free(c->templates, c->ntemplates);
    tn_tmpl_free(c->tmpl);
    cfg_global_free(&c->global);
    free(c->path);
    free(c->original);
    free(c);
}

static const char *cfg_intern_plain(const char *plain)
{
    const char *s = tn_intern_cstr(plain);
    free((char *)plain);
    return s;
}

static void cfg_route_intern(tn_route_t *r)
{
    for (size_t i = 0; i < r->nlabels; i++) {
        r->labels[i].name = cfg_intern_plain(r->labels[i].name);
        r->labels[i].value = cfg_intern_plain(r->labels[i].value);
    }
    for (size_t i = 0; i < r->ngroup_by; i++) {
        const char *plain = r->group_by[i];
        r->group_by[i] = tn_intern_cstr(plain);
        free((char *)plain);
    }
    for (size_t i = 0; i < r->nchildren; i++)
        cfg_route_intern(r->children[i]);
}

void tn_config_intern(tn_config_t *c)
{
    if (c->names_interned)
        return;
    if (c->route)
        cfg_route_intern(c->route);
    for (size_t i = 0; i < c->ninhibit_rules; i++) {
        tn_inhibit_rule_t *ir = &c->inhibit_rules[i];
        for (size_t j = 0; j < ir->nequal; j++) {
            const char *plain = ir->equal[j];
            ir->equal[j] = tn_intern_cstr(plain);
            free((char *)plain);
        }
    }
    c->names_interned = true;
}

tn_config_t *tn_config_ref(tn_config_t *c)
{
    if (c)
        c->refs++;
    return c;
}

void tn_config_unref(tn_config_t *c)
{
    if (c && --c->refs == 0)
        cfg_free(c);
}

static const char *const cfg_top_keys[] = {
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "time_intervals",
    "mute_time_intervals",
    "tracing",
    "event_recorder",
    NULL,
};

static int cfg_load(cfg_ctx_t *x, tn_ynode_t *root)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;
    tn_ynode_t *route;

    if (root && !tn_yaml_is_map(root) && !tn_yaml_is_null(root))
        return tn_yaml_error(&x->y, root, "config: expected a mapping, got %s", tn_yaml_kind(root));
    np = tn_yaml_map_pairs(&x->y, root, &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        bool ok = false;
        for (size_t j = 0; cfg_top_keys[j]; j++)
            if (strcmp(k, cfg_top_keys[j]) == 0)
                ok = true;
        if (!ok)
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in config", k);
        else if ((strcmp(k, "tracing") == 0 || strcmp(k, "event_recorder") == 0) &&
                 !tn_yaml_is_null(pairs[i].value) && !tn_yaml_is_map(pairs[i].value))
            rc = tn_yaml_error(&x->y, pairs[i].value, "%s: expected a mapping, got %s", k,
                               tn_yaml_kind(pairs[i].value));
    }
    /* Order matters: receivers use global defaults; routes name receivers and intervals. */
    if (rc == TN_OK)
        rc = cfg_global(x, cfg_pair_get(pairs, np, "global"));
    if (rc == TN_OK)
        rc = cfg_receivers(x, cfg_pair_get(pairs, np, "receivers"));
    if (rc == TN_OK)
        rc = cfg_time_intervals(x, cfg_pair_get(pairs, np, "mute_time_intervals"), true);
    if (rc == TN_OK)
        rc = cfg_time_intervals(x, cfg_pair_get(pairs, np, "time_intervals"), false);
    if (rc == TN_OK)
        rc = cfg_inhibit_rules(x, cfg_pair_get(pairs, np, "inhibit_rules"));
    if (rc == TN_OK) {
        tn_ynode_t *t = cfg_pair_get(pairs, np, "templates");
        char **v = NULL;
        size_t nv = 0;
        rc = cfg_read_strlist(x, t, "templates", &v, &nv);
        x->c->templates = tn_xcalloc(nv + 1, sizeof(char *));
        for (size_t i = 0; i < nv; i++)
            x->c->templates[x->c->ntemplates++] = cfg_path_resolve(x, v[i]);
        cfg_strv_free(v, nv);
    }
    if (rc == TN_OK) {
        route = cfg_pair_get(pairs, np, "route");
        if (!route || tn_yaml_is_null(route))
            rc = tn_yaml_error(&x->y, root, "no route provided in config");
        else
            rc = cfg_route(x, route, NULL, 0, 0, &x->c->route);
        x->c->nroutes = x->route_counter;
    }
    free(pairs);
    return rc;
}

tn_config_t *tn_config_load_string(const char *name, const char *text, size_t len, char *err,
                                   size_t errlen)
{
    return tn_config_load_string_ex(name, text, len, 0, NULL, err, errlen);
}

tn_config_t *tn_config_load_string_ex(const char *name, const char *text, size_t len,
                                      unsigned flags, tn_buf_t *warnings, char *err, size_t errlen)
{
    cfg_ctx_t x;
    tn_config_t *c = tn_xcalloc(1, sizeof(*c));
    const char *slash = strrchr(name, '/');
    char *dir = NULL;
    int rc;

    memset(&x, 0, sizeof(x));
    c->refs = 1;
    c->path = tn_xstrdup(name);
    c->original = tn_xstrndup(text, len);
    c->hash = tn_fnv1a(text, len);
    if (slash)
        dir = tn_xstrndup(name, slash == name ? 1 : (size_t)(slash - name));
    x.dir = dir;
    x.c = c;
    x.flags = flags;
    x.warnings = warnings;
    if (err && errlen)
        err[0] = 0;
    if (memchr(text, 0, len)) {
        snprintf(err, errlen, "%s:1:1: config contains a NUL byte", name);
        rc = TN_ERR_INVAL;
        goto out;
    }
    rc = tn_yaml_load(&x.y, c->path, c->original, len, err, errlen);
    if (rc != TN_OK)
        goto out;
    rc = cfg_load(&x, tn_yaml_root(&x.y));
    tn_yaml_free(&x.y);
    if (rc == TN_OK) {
        /* templates last: a file that fails to parse fails the load with file:line */
        c->tmpl = tn_tmpl_load(c->templates, c->ntemplates, err, errlen);
        if (!c->tmpl)
            rc = TN_ERR_INVAL;
    }
out:
    for (size_t i = 0; i < x.nzones; i++)
        tn_tz_free(x.zones[i]);
    free(x.zones);
    free(dir);
    if (rc != TN_OK) {
        cfg_free(c);
        return NULL;
    }
    if (!(flags & TN_CFG_NO_INTERN))
        tn_config_intern(c);
    return c;
}

tn_config_t *tn_config_load_file(const char *path, char *err, size_t errlen)
{
    return tn_config_load_file_ex(path, 0, NULL, err, errlen);
}

tn_config_t *tn_config_load_file_ex(const char *path, unsigned flags, tn_buf_t *warnings, char *err,
                                    size_t errlen)
{
    char *text;
    size_t len;
    char e[TN_ERRBUF_SIZE];
    tn_config_t *c;

    if (cfg_read_all(path, CFG_MAX_FILE, &text, &len, e, sizeof(e)) != TN_OK) {
        snprintf(err, errlen, "%s:1:1: %s", path, e);
        return NULL;
    }
    c = tn_config_load_string_ex(path, text, len, flags, warnings, err, errlen);
    free(text);
    return c;
}
