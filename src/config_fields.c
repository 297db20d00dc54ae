/* The config loader's readers: files (secrets, with their caps), scalars (booleans, durations,
 * URLs, string lists and maps as Alertmanager reads them) and the generic field-table reader
 * that fills a receiver's struct, or the global section, from its table (receiver.h) and
 * frees it by the same table. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"

char *cfg_path_resolve(const cfg_ctx_t *x, const char *p)
{
    if (p[0] == '/' || !x->dir || p[0] == 0)
        return tn_xstrdup(p);
    return tn_xasprintf("%s/%s", x->dir, p);
}

int cfg_read_all(const char *path, size_t cap, char **out, size_t *outlen, char *err, size_t errlen)
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

int cfg_read_secret_file(cfg_ctx_t *x, tn_ynode_t *at, const char *path, char **out)
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

int cfg_want_scalar(cfg_ctx_t *x, tn_ynode_t *n, const char *key, const char *what)
{
    if (tn_yaml_is_scalar(n))
        return TN_OK;
    return tn_yaml_error(&x->y, n, "%s: expected %s, got %s", key, what, tn_yaml_kind(n));
}

int cfg_parse_bool(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s, bool plain,
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

int cfg_parse_duration(cfg_ctx_t *x, tn_ynode_t *at, const char *key, const char *s,
                       tn_duration_t *out)
{
    char e[TN_ERRBUF_SIZE];
    if (tn_duration_parse(s, out, e, sizeof(e)) != TN_OK)
        return tn_yaml_error(&x->y, at, "%s: %s", key, e);
    return TN_OK;
}

/* The syntax checks of a URL parser (Go's url.Parse): NULL if s parses, else why not. */
const char *cfg_url_syntax(const char *s)
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

void cfg_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A sequence of scalars (null = empty). */
int cfg_read_strlist(cfg_ctx_t *x, tn_ynode_t *n, const char *key, char ***out, size_t *outn)
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
int cfg_read_strmap(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_strmap_t *m)
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

void cfg_strmap_free(tn_strmap_t *m)
{
    cfg_strv_free(m->keys, m->n);
    cfg_strv_free(m->values, m->n);
    memset(m, 0, sizeof(*m));
}

tn_ynode_t *cfg_pair_get(tn_ypair_t *pairs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(tn_yaml_scalar(pairs[i].key), key) == 0)
            return pairs[i].value;
    return NULL;
}

/* ---- the generic field-table reader ---- */

static void *cfg_at(void *base, size_t off)
{
    return (char *)base + off;
}

int cfg_fields_read(cfg_ctx_t *x, tn_ynode_t *n, const tn_field_t *fields, void *base,
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
    case TN_F_PATH:
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
    case TN_F_PATH:
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
    case TN_F_YAML:
        tn_yval_free(*(tn_yval_t **)p);
        *(tn_yval_t **)p = NULL;
        return tn_yaml_is_null(v) ? TN_OK : tn_yaml_value(&x->y, v, (tn_yval_t **)p);
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

int cfg_fields_read(cfg_ctx_t *x, tn_ynode_t *n, const tn_field_t *fields, void *base,
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
            h->inherited = !x->in_global;
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

void cfg_fields_free(const tn_field_t *fields, void *base)
{
    for (const tn_field_t *f = fields; f->key; f++) {
        void *p = cfg_at(base, f->offset);
        switch (f->type) {
        case TN_F_STRING:
        case TN_F_SECRET:
        case TN_F_SECRET_FILE:
        case TN_F_PATH:
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
        case TN_F_YAML:
            tn_yval_free(*(tn_yval_t **)p);
            *(tn_yval_t **)p = NULL;
            break;
        default:
            break;
        }
    }
}
