/* Jira (jira_configs): one issue per aggregation group, found again through a label that holds
 * the SHA-256 of the group key, as Alertmanager does. A send is a sequence of requests:
 *
 *   0  search for the group's issue (JQL on the label)
 *   1  create it (none found, some alert firing) or update it (found); none found and all
 *      resolved ends the send here
 *   2  when its status needs a change (firing and done: reopen; resolved and open: resolve),
 *      read the issue's transitions
 *   3  apply the one named by reopen_transition / resolve_transition
 *
 * Everything the steps send is rendered once, at step 0, and carried to the later steps with
 * what the replies said (the issue key, its status, the transition id). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rcv.h"
#include "tocsin/labels.h"
#include "tocsin/log.h"

#define JIRA_MAX_SUMMARY_RUNES     255
#define JIRA_MAX_DESCRIPTION_RUNES 32767
/* A search answers with two issues at most, but a transitions list carries each target
 * status in full and easily runs past the 4 KB kept by default. */
#define JIRA_MAX_RESPONSE (256 * 1024)
/* Nesting accepted in an API v3 (ADF) description. */
#define JIRA_MAX_JSON_DEPTH 1000

typedef struct jira_conf {
    char *api_url, *api_type;
    char *project, *issue_type;
    /* summary and description as written: a string, or {template, enable_update} */
    tn_yval_t *summary_v, *description_v;
    char *priority;
    tn_strlist_t labels;
    char *reopen_transition, *resolve_transition, *wont_fix_resolution;
    tn_duration_t reopen_duration;
    tn_yval_t *fields; /* a mapping, or NULL */
    tn_http_config_t http_config;
    /* Set by finalize from summary_v and description_v. */
    char *summary, *description;
    bool summary_update, description_update; /* sent when an issue is updated */
} jira_conf_t;

#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(jira_conf_t, m)                                    \
    }
#define FD(k, t, m, d)                                                                             \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(jira_conf_t, m), .def = d                          \
    }

static const tn_field_t jira_fields[] = {
    F("api_url", TN_F_URL, api_url),
    FD("api_type", TN_F_STRING, api_type, "auto"),
    F("project", TN_F_STRING, project),
    F("summary", TN_F_YAML, summary_v),
    F("description", TN_F_YAML, description_v),
    F("labels", TN_F_STRING_LIST, labels),
    FD("priority", TN_F_STRING, priority, "{{ template \"jira.default.priority\" . }}"),
    F("issue_type", TN_F_STRING, issue_type),
    F("reopen_transition", TN_F_STRING, reopen_transition),
    F("resolve_transition", TN_F_STRING, resolve_transition),
    F("wont_fix_resolution", TN_F_STRING, wont_fix_resolution),
    F("reopen_duration", TN_F_DURATION, reopen_duration),
    F("fields", TN_F_YAML, fields),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

/* A summary or description: a template, or a mapping with the template and whether an update
 * sends it (enable_update, default true); without a template the default one. */
static int jira_text(const tn_yval_t *v, const char *key, const char *def, char **text,
                     bool *update, char *err, size_t errlen)
{
    const tn_yval_t *tmpl = v;
    *update = true;
    if (v && v->kind == TN_YVAL_MAP) {
        tmpl = NULL;
        for (size_t i = 0; i < v->n; i++) {
            const tn_yval_t *it = &v->items[i];
            if (strcmp(v->keys[i], "template") == 0) {
                tmpl = it;
            } else if (strcmp(v->keys[i], "enable_update") == 0) {
                if (it->kind != TN_YVAL_BOOL && it->kind != TN_YVAL_NULL) {
                    snprintf(err, errlen, "%s: enable_update: expected a boolean", key);
                    return TN_ERR_INVAL;
                }
                *update = it->kind == TN_YVAL_NULL || it->b;
            } else {
                snprintf(err, errlen, "%s: unknown field \"%s\"", key, v->keys[i]);
                return TN_ERR_INVAL;
            }
        }
        /* An explicit null template is an empty one, as Go reads it into a string. */
        if (tmpl && tmpl->kind == TN_YVAL_NULL) {
            *text = tn_xstrdup("");
            return TN_OK;
        }
    }
    if (!tmpl) {
        *text = tn_xstrdup(def);
        return TN_OK;
    }
    /* A plain scalar that YAML reads as a number or a boolean is text to Go's string. */
    tn_buf_t b;
    tn_buf_init(&b, 0);
    switch (tmpl->kind) {
    case TN_YVAL_STR:
        tn_buf_puts(&b, tmpl->s);
        break;
    case TN_YVAL_BOOL:
        tn_buf_puts(&b, tmpl->b ? "true" : "false");
        break;
    case TN_YVAL_INT:
        tn_buf_printf(&b, "%lld", (long long)tmpl->i);
        break;
    case TN_YVAL_UINT:
        tn_buf_printf(&b, "%llu", (unsigned long long)tmpl->u);
        break;
    case TN_YVAL_FLOAT:
        if (tn_rcv_json_float(&b, tmpl->f) == TN_OK)
            break;
        tn_buf_free(&b); /* .nan and .inf are no text */
        snprintf(err, errlen, "%s: expected a string or a mapping", key);
        return TN_ERR_INVAL;
    default:
        tn_buf_free(&b);
        snprintf(err, errlen, "%s: expected a string or a mapping", key);
        return TN_ERR_INVAL;
    }
    *text = tn_xstrndup(b.data ? b.data : "", b.len);
    tn_buf_free(&b);
    return TN_OK;
}

static int jira_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    jira_conf_t *c = conf;
    if (jira_text(c->summary_v, "summary", "{{ template \"jira.default.summary\" . }}", &c->summary,
                  &c->summary_update, err, errlen) != TN_OK ||
        jira_text(c->description_v, "description", "{{ template \"jira.default.description\" . }}",
                  &c->description, &c->description_update, err, errlen) != TN_OK)
        return TN_ERR_INVAL;
    if (!tn_receiver_set(c->project)) {
        snprintf(err, errlen, "missing project in jira_config");
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->issue_type)) {
        snprintf(err, errlen, "missing issue_type in jira_config");
        return TN_ERR_INVAL;
    }
    if (!c->api_type || (strcmp(c->api_type, "auto") != 0 && strcmp(c->api_type, "cloud") != 0 &&
                         strcmp(c->api_type, "datacenter") != 0)) {
        snprintf(err, errlen, "unknown api_type on jira_config, must be auto, cloud or datacenter");
        return TN_ERR_INVAL;
    }
    if (!tn_receiver_set(c->api_url)) {
        if (!tn_receiver_set(g->jira_api_url)) {
            snprintf(err, errlen, "no global Jira Cloud URL set");
            return TN_ERR_INVAL;
        }
        free(c->api_url);
        c->api_url = tn_xstrdup(g->jira_api_url);
    }
    if (c->fields && c->fields->kind != TN_YVAL_MAP) {
        snprintf(err, errlen, "fields: expected a mapping");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* ---- URLs: Go's URL.JoinPath on the API URL ---- */

/* The parts of the API URL: scheme://authority, the path as written, and ?query#fragment. */
typedef struct jira_url {
    const char *s;
    size_t origin_len; /* scheme://authority */
    size_t path_len;   /* after origin */
    const char *host;  /* authority without userinfo, port included, as Go's URL.Host */
    size_t host_len;
} jira_url_t;

static void jira_url_split(const char *s, jira_url_t *u)
{
    const char *sep = strstr(s, "://");
    const char *auth = sep ? sep + 3 : s;
    size_t alen = strcspn(auth, "/?#");
    u->s = s;
    u->origin_len = (size_t)(auth - s) + alen;
    u->path_len = strcspn(s + u->origin_len, "?#");
    u->host = auth;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            u->host = p + 1;
    u->host_len = (size_t)(auth + alen - u->host);
}

/* Appends a path element, escaping what Go escapes in a path (issue keys come from Jira). */
static void jira_put_elem(tn_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~!$&'()*+,;=:@/", *p))
            tn_buf_putc(b, (char)*p);
        else
            tn_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* The API URL with elem joined to its path, cleaned as path.Join cleans (no empty, . or ..
 * segments), a trailing slash kept only when elem ends with one. New string. */
static char *jira_url_join(const char *api_url, const char *elem)
{
    jira_url_t u;
    tn_buf_t raw, b;
    jira_url_split(api_url, &u);
    tn_buf_init(&raw, 0);
    tn_buf_append(&raw, api_url + u.origin_len, u.path_len);
    tn_buf_putc(&raw, '/');
    jira_put_elem(&raw, elem);
    tn_buf_cstr(&raw);

    /* Segments of the joined path; ".." drops the one before it. */
    size_t nseg = 0, cap = 8;
    const char **seg = tn_xmalloc(cap * sizeof(*seg));
    size_t *seglen = tn_xmalloc(cap * sizeof(*seglen));
    for (char *p = raw.data; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg)
                nseg--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (nseg == cap) {
                cap *= 2;
                seg = tn_xrealloc(seg, cap * sizeof(*seg));
                seglen = tn_xrealloc(seglen, cap * sizeof(*seglen));
            }
            seg[nseg] = p;
            seglen[nseg++] = n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    tn_buf_init(&b, 0);
    tn_buf_append(&b, api_url, u.origin_len);
    for (size_t i = 0; i < nseg; i++) {
        tn_buf_putc(&b, '/');
        tn_buf_append(&b, seg[i], seglen[i]);
    }
    if (!nseg || (elem[0] && elem[strlen(elem) - 1] == '/'))
        tn_buf_putc(&b, '/');
    tn_buf_puts(&b, api_url + u.origin_len + u.path_len);
    free(seg);
    free(seglen);
    tn_buf_free(&raw);
    char *out = tn_xstrndup(b.data, b.len);
    tn_buf_free(&b);
    return out;
}

/* The issue search: Jira Cloud has dropped POST /rest/api/2/search for
 * /rest/api/3/search/jql, which Jira Data Center does not have. "auto" takes Cloud for a
 * host under atlassian.net. */
static char *jira_search_url(const jira_conf_t *c)
{
    jira_url_t u;
    jira_url_split(c->api_url, &u);
    static const char suffix[] = "atlassian.net";
    bool cloud =
        strcmp(c->api_type, "cloud") == 0 ||
        (strcmp(c->api_type, "auto") == 0 && u.host_len >= sizeof(suffix) - 1 &&
         memcmp(u.host + u.host_len - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) == 0);
    if (!cloud)
        return jira_url_join(c->api_url, "search");
    char *url = jira_url_join(c->api_url, "search/jql");
    char *v2 = strstr(url, "/rest/api/2/");
    if (v2)
        v2[10] = '3';
    return url;
}

/* Whether the API URL's path ends in /3: descriptions are then ADF documents (JSON). */
static bool jira_api_v3(const jira_conf_t *c)
{
    jira_url_t u;
    jira_url_split(c->api_url, &u);
    const char *p = c->api_url + u.origin_len;
    size_t n = u.path_len;
    while (n && p[n - 1] == '/')
        n--;
    return n >= 2 && p[n - 2] == '/' && p[n - 1] == '3';
}

/* ---- an API v3 description: validated and compacted as Go writes a json.RawMessage ---- */

typedef struct jira_json {
    const unsigned char *p, *end;
    tn_buf_t *out;
    int depth;
} jira_json_t;

static void jj_ws(jira_json_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jj_lit(jira_json_t *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    tn_buf_append(j->out, lit, n);
    j->p += n;
    return true;
}

static bool jj_digits(jira_json_t *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && isdigit(*j->p))
        j->p++;
    return j->p > s;
}

static bool jj_number(jira_json_t *j)
{
    const unsigned char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!(j->p < j->end && *j->p >= '1' && *j->p <= '9') || !jj_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jj_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jj_digits(j))
            return false;
    }
    tn_buf_append(j->out, s, (size_t)(j->p - s));
    return true;
}

/* A string, copied with Go's HTML escapes (<, >, & and U+2028/2029 as \u sequences). */
static bool jj_string(jira_json_t *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    tn_buf_putc(j->out, '"');
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            tn_buf_putc(j->out, '"');
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return false;
            unsigned char e = j->p[1];
            if (e == 'u') {
                if (j->end - j->p < 6)
                    return false;
                for (int i = 2; i < 6; i++)
                    if (!isxdigit(j->p[i]))
                        return false;
                tn_buf_append(j->out, j->p, 6);
                j->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || !e)
                return false;
            tn_buf_append(j->out, j->p, 2);
            j->p += 2;
            continue;
        }
        if (c == '<' || c == '>' || c == '&') {
            tn_buf_printf(j->out, "\\u00%x", c);
            j->p++;
            continue;
        }
        if (c == 0xe2 && j->end - j->p >= 3 && j->p[1] == 0x80 &&
            (j->p[2] == 0xa8 || j->p[2] == 0xa9)) {
            tn_buf_puts(j->out, j->p[2] == 0xa8 ? "\\u2028" : "\\u2029");
            j->p += 3;
            continue;
        }
        tn_buf_putc(j->out, (char)c);
        j->p++;
    }
    return false;
}

static bool jj_value(jira_json_t *j);

/* An array or an object; the opening byte is at j->p. */
static bool jj_container(jira_json_t *j, bool object)
{
    char close = object ? '}' : ']';
    if (++j->depth > JIRA_MAX_JSON_DEPTH)
        return false;
    tn_buf_putc(j->out, (char)*j->p);
    j->p++;
    jj_ws(j);
    if (j->p < j->end && *j->p == close) {
        tn_buf_putc(j->out, close);
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (!jj_string(j))
                return false;
            jj_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            tn_buf_putc(j->out, ':');
            j->p++;
            jj_ws(j);
        }
        if (!jj_value(j))
            return false;
        jj_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == close) {
            tn_buf_putc(j->out, close);
            j->p++;
            j->depth--;
            return true;
        }
        if (*j->p != ',')
            return false;
        tn_buf_putc(j->out, ',');
        j->p++;
        jj_ws(j);
    }
}

static bool jj_value(jira_json_t *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        return jj_container(j, true);
    case '[':
        return jj_container(j, false);
    case '"':
        return jj_string(j);
    case 't':
        return jj_lit(j, "true");
    case 'f':
        return jj_lit(j, "false");
    case 'n':
        return jj_lit(j, "null");
    default:
        return jj_number(j);
    }
}

/* Appends s compacted; false when s is not one JSON value (out then holds a part of it). */
static bool jira_json_compact(tn_buf_t *out, const char *s, size_t len)
{
    jira_json_t j = {(const unsigned char *)s, (const unsigned char *)s + len, out, 0};
    jj_ws(&j);
    bool ok = jj_value(&j);
    jj_ws(&j);
    return ok && j.p == j.end;
}

/* ---- the requests' bodies ----
 *
 * Their buffers have no cap (each rendered text is capped by the template engine), so the
 * writes below cannot fail. */

/* One member of the issue's fields: Go writes them as a map, keys sorted. */
typedef struct jira_member {
    char *key;
    tn_buf_t json;
    bool create_only; /* left out of an update (enable_update: false) */
} jira_member_t;

typedef struct jira_members {
    jira_member_t *v;
    size_t n;
} jira_members_t;

/* The member named key, new or emptied for a new value. */
static tn_buf_t *jira_member(jira_members_t *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0) {
            tn_buf_reset(&m->v[i].json);
            m->v[i].create_only = false;
            return &m->v[i].json;
        }
    m->v = tn_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
    m->v[m->n].key = tn_xstrdup(key);
    m->v[m->n].create_only = false;
    tn_buf_init(&m->v[m->n].json, 0);
    return &m->v[m->n++].json;
}

static int jira_member_cmp(const void *a, const void *b)
{
    return strcmp(((const jira_member_t *)a)->key, ((const jira_member_t *)b)->key);
}

static int jira_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void jira_go_str(tn_buf_t *b, const char *s)
{
    tn_json_go_string(b, s, strlen(s));
}

/* {"name": v} with the name left out when empty, as Go's omitempty does. */
static void jira_named(tn_buf_t *b, const char *key, const char *v)
{
    tn_buf_putc(b, '{');
    if (v[0]) {
        tn_buf_printf(b, "\"%s\":", key);
        jira_go_str(b, v);
    }
    tn_buf_putc(b, '}');
}

static void jira_truncate(char **s, size_t max, const char *what, const tn_notification_t *n)
{
    if (tn_rcv_truncate_runes(s, max)) {
        char m[16];
        snprintf(m, sizeof(m), "%zu", max);
        tn_log(TN_LOG_WARN, what, "integration", "jira", "aggrGroup", n->group_key, "max_runes", m,
               NULL);
    }
}

/* Why an issue cannot be sent: its description, or a value Go cannot encode. */
enum jira_bad { JIRA_OK, JIRA_BAD_DESCRIPTION, JIRA_BAD_JSON };

/* {"fields":{...}}: every member for a creation, those an update sends for an update. */
static void jira_write(tn_buf_t *out, const jira_members_t *m, bool update)
{
    bool first = true;
    tn_buf_puts(out, "{\"fields\":{");
    for (size_t i = 0; i < m->n; i++) {
        if (update && m->v[i].create_only)
            continue;
        if (!first)
            tn_buf_putc(out, ',');
        first = false;
        jira_go_str(out, m->v[i].key);
        tn_buf_putc(out, ':');
        tn_buf_append(out, m->v[i].json.data, m->v[i].json.len);
    }
    tn_buf_puts(out, "}}\n");
}

/* The issue as its creation and as its update send it. Anything but JIRA_OK comes with the
 * reason in why. */
static enum jira_bad jira_issue(tn_buf_t *create, tn_buf_t *update, const jira_conf_t *c,
                                tn_rcv_tmpl_t *t, const char *project, const char *alert_label,
                                char *why, size_t whylen)
{
    jira_members_t m = {NULL, 0};
    enum jira_bad bad = JIRA_OK;

    char *summary = tn_rcv_render_main(t, c->summary, 0);
    jira_truncate(&summary, JIRA_MAX_SUMMARY_RUNES, "Truncated summary", t->n);
    jira_go_str(jira_member(&m, "summary"), summary);
    m.v[m.n - 1].create_only = !c->summary_update;
    free(summary);

    char *description = tn_rcv_render(t, c->description, 0);
    jira_truncate(&description, JIRA_MAX_DESCRIPTION_RUNES, "Truncated description", t->n);
    if (jira_api_v3(c)) {
        const char *d = description;
        size_t len = strlen(d);
        while (len && isspace((unsigned char)d[0]))
            d++, len--;
        while (len && isspace((unsigned char)d[len - 1]))
            len--;
        tn_buf_t doc;
        tn_buf_init(&doc, 0);
        if (len && jira_json_compact(&doc, d, len)) {
            tn_buf_append(jira_member(&m, "description"), doc.data, doc.len);
            m.v[m.n - 1].create_only = !c->description_update;
        } else if (len) {
            snprintf(why, whylen, "description template: invalid JSON for API v3");
            bad = JIRA_BAD_DESCRIPTION;
        }
        tn_buf_free(&doc);
    } else if (description[0]) {
        jira_go_str(jira_member(&m, "description"), description);
        m.v[m.n - 1].create_only = !c->description_update;
    }
    free(description);

    char *issue_type = tn_rcv_render(t, c->issue_type, 0);
    jira_named(jira_member(&m, "issuetype"), "name", issue_type);
    free(issue_type);

    /* The configured labels and the group's, sorted. */
    size_t nl = c->labels.n + 1;
    char **labels = tn_xcalloc(nl, sizeof(char *));
    for (size_t i = 0; i < c->labels.n; i++)
        labels[i] = tn_rcv_render(t, c->labels.v[i], 0);
    labels[c->labels.n] = tn_xstrdup(alert_label);
    qsort(labels, nl, sizeof(char *), jira_str_cmp);
    tn_buf_t *lb = jira_member(&m, "labels");
    tn_buf_putc(lb, '[');
    for (size_t i = 0; i < nl; i++) {
        if (i)
            tn_buf_putc(lb, ',');
        jira_go_str(lb, labels[i]);
        free(labels[i]);
    }
    tn_buf_putc(lb, ']');
    free(labels);

    char *priority = tn_rcv_render(t, c->priority, 0);
    if (priority[0])
        jira_named(jira_member(&m, "priority"), "name", priority);
    free(priority);

    tn_buf_t *pb = jira_member(&m, "project");
    tn_buf_puts(pb, "{\"key\":");
    jira_go_str(pb, project);
    tn_buf_putc(pb, '}');

    /* Custom fields last: one named like a standard field replaces it. Their names are sent
     * as written; the values are rendered as Alertmanager's DeepCopyWithTemplate renders. */
    for (size_t i = 0; c->fields && i < c->fields->n; i++) {
        tn_buf_t *b = jira_member(&m, c->fields->keys[i]);
        char e[TN_ERRBUF_SIZE] = "";
        if (tn_rcv_json_templated(b, t, &c->fields->items[i], e, sizeof(e)) != TN_OK &&
            bad == JIRA_OK) {
            snprintf(why, whylen, "%s", e[0] ? e : "custom field too large");
            bad = JIRA_BAD_JSON;
        }
    }

    qsort(m.v, m.n, sizeof(*m.v), jira_member_cmp);
    jira_write(create, &m, false);
    jira_write(update, &m, true);
    for (size_t i = 0; i < m.n; i++) {
        free(m.v[i].key);
        tn_buf_free(&m.v[i].json);
    }
    free(m.v);
    return bad;
}

/* The search for the group's issue. Firing, it also finds an issue resolved within
 * reopen_duration (when there is a reopen transition), to reopen it; otherwise only open ones.
 * An issue resolved as wont_fix_resolution is never found, so a new one is made. */
static void jira_jql(tn_buf_t *b, const jira_conf_t *c, bool firing, const char *project,
                     const char *alert_label)
{
    if (tn_receiver_set(c->wont_fix_resolution)) {
        tn_buf_puts(b, "(resolution is EMPTY or resolution != ");
        tn_go_quote(b, c->wont_fix_resolution, strlen(c->wont_fix_resolution));
        tn_buf_puts(b, ") and ");
    }
    long long minutes = (long long)(c->reopen_duration / (60 * TN_NS_PER_SEC));
    if (firing && tn_receiver_set(c->reopen_transition) && minutes > 0)
        tn_buf_printf(b, "(resolutiondate is EMPTY OR resolutiondate >= -%lldm) and ", minutes);
    else
        tn_buf_puts(b, "statusCategory != Done and ");
    tn_buf_puts(b, "project=");
    tn_go_quote(b, project, strlen(project));
    tn_buf_puts(b, " and labels=");
    tn_go_quote(b, alert_label, strlen(alert_label));
    tn_buf_puts(b, " order by status ASC,resolutiondate DESC");
}

/* ---- the steps ---- */

enum jira_step {
    JIRA_SEARCH,
    JIRA_CREATE,
    JIRA_UPDATE,
    JIRA_TRANSITIONS, /* GET the issue's transitions */
    JIRA_TRANSITION,  /* POST the chosen one */
};

typedef struct jira_carry {
    enum jira_step next; /* what the next build sends */
    bool firing;
    char *search_url;
    tn_buf_t search;         /* the search's body */
    tn_buf_t create, update; /* the issue's bodies */
    enum jira_bad bad;       /* whether the issue can be sent */
    char why[TN_ERRBUF_SIZE];
    char *key;        /* the issue found */
    bool has_status;  /* the search gave its status */
    bool done;        /* its status category is "done" */
    const char *move; /* the transition's name (config) */
    char *move_id;
} jira_carry_t;

static void jira_carry_free(void *p)
{
    jira_carry_t *k = p;
    free(k->search_url);
    tn_buf_free(&k->search);
    tn_buf_free(&k->create);
    tn_buf_free(&k->update);
    free(k->key);
    free(k->move_id);
    free(k);
}

/* Step 0: renders everything the send may need. */
static jira_carry_t *jira_prepare(const jira_conf_t *c, const tn_notification_t *n)
{
    jira_carry_t *k = tn_xcalloc(1, sizeof(*k));
    tn_rcv_tmpl_t t;
    tn_rcv_tmpl_init(&t, n, "jira");
    char hash[65];
    tn_rcv_sha256_hex(n->group_key ? n->group_key : "", hash);
    char *label = tn_xasprintf("ALERT{%s}", hash);
    char *project = tn_rcv_render(&t, c->project, 0);
    tn_buf_t jql;

    k->firing = tn_rcv_firing(n);
    k->search_url = jira_search_url(c);
    tn_buf_init(&jql, 0);
    jira_jql(&jql, c, k->firing, project, label);
    tn_buf_init(&k->search, 0);
    tn_buf_puts(&k->search, "{\"fields\":[\"status\"],\"jql\":");
    tn_json_go_string(&k->search, jql.data, jql.len);
    tn_buf_puts(&k->search, ",\"maxResults\":2}\n");
    if (tn_log_enabled(TN_LOG_DEBUG))
        tn_log(TN_LOG_DEBUG, "search for recent issues", "integration", "jira", "aggrGroup",
               n->group_key, "jql", tn_buf_cstr(&jql), NULL);
    tn_buf_init(&k->create, 0);
    tn_buf_init(&k->update, 0);
    k->bad = jira_issue(&k->create, &k->update, c, &t, project, label, k->why, sizeof(k->why));
    tn_buf_free(&jql);
    free(project);
    free(label);
    return k;
}

static int jira_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const jira_conf_t *c = s->ic->conf;
    TN_UNUSED(err);
    TN_UNUSED(errlen);
    if (s->step == 0 || !s->carry) {
        if (s->carry)
            (s->carry_free ? s->carry_free : free)(s->carry);
        s->carry = jira_prepare(c, s->n);
        s->carry_free = jira_carry_free;
    }
    jira_carry_t *k = s->carry;
    char *path = NULL, *url = NULL;
    const char *method = "POST";

    tn_buf_reset(&req->body);
    switch (k->next) {
    case JIRA_SEARCH:
        url = tn_xstrdup(k->search_url);
        tn_buf_append(&req->body, k->search.data, k->search.len);
        req->max_response = JIRA_MAX_RESPONSE;
        break;
    case JIRA_CREATE:
        url = jira_url_join(c->api_url, "issue");
        tn_buf_append(&req->body, k->create.data, k->create.len);
        break;
    case JIRA_UPDATE:
        method = "PUT";
        path = tn_xasprintf("issue/%s", k->key);
        tn_buf_append(&req->body, k->update.data, k->update.len);
        break;
    case JIRA_TRANSITIONS:
        method = "GET";
        path = tn_xasprintf("issue/%s/transitions", k->key);
        req->max_response = JIRA_MAX_RESPONSE;
        break;
    case JIRA_TRANSITION:
        path = tn_xasprintf("issue/%s/transitions", k->key);
        tn_buf_puts(&req->body, "{\"transition\":");
        jira_named(&req->body, "id", k->move_id);
        tn_buf_puts(&req->body, "}\n");
        break;
    }
    if (path) {
        url = jira_url_join(c->api_url, path);
        free(path);
    }
    tn_out_request_set_url(req, url);
    free(url);
    free(req->method);
    req->method = tn_xstrdup(method);
    tn_rcv_json_request(req, &c->http_config); /* every step, the GET too, as Alertmanager */
    tn_out_request_add_header(req, "Accept-Language", "en");
    return TN_OK;
}

static void jira_conf_free(void *conf)
{
    jira_conf_t *c = conf;
    free(c->summary);
    free(c->description);
}

static void jira_fail(tn_send_outcome_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void jira_fail(tn_send_outcome_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, sizeof(o->err), fmt, ap);
    va_end(ap);
    o->result = TN_SEND_FAIL;
    o->reason = "other";
}

/* The search's answer: {"issues": [{"key", "fields": {"status": {"statusCategory":
 * {"key"}}}}]}, the most recently resolved first. */
static void jira_found(tn_send_t *s, jira_carry_t *k, const tn_out_response_t *resp,
                       tn_send_outcome_t *o)
{
    json_error_t jerr;
    json_t *v = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, &jerr);
    json_t *issues = json_is_object(v) ? json_object_get(v, "issues") : NULL;
    json_t *first = json_array_get(issues, 0);
    if (!v || !(json_is_object(v) || json_is_null(v)) ||
        !(issues == NULL || json_is_null(issues) || json_is_array(issues)) ||
        (first && !json_is_object(first))) {
        jira_fail(o, "failed to look up existing issues: cannot read the search result: %s",
                  v ? "unexpected JSON" : jerr.text);
        json_decref(v);
        return;
    }
    if (!first) {
        json_decref(v);
        tn_log(TN_LOG_DEBUG, "found no existing issue", "integration", "jira", "aggrGroup",
               s->n->group_key, NULL);
        if (!k->firing) {
            o->result = TN_SEND_DONE; /* nothing to resolve, and no issue for resolved alerts */
            return;
        }
        k->next = JIRA_CREATE;
    } else {
        const char *key = json_string_value(json_object_get(first, "key"));
        json_t *status = json_object_get(json_object_get(first, "fields"), "status");
        const char *cat =
            json_string_value(json_object_get(json_object_get(status, "statusCategory"), "key"));
        k->key = tn_xstrdup(key ? key : "");
        k->has_status = json_is_object(status);
        k->done = cat && strcmp(cat, "done") == 0;
        if (json_array_size(issues) > 1)
            tn_log(TN_LOG_WARN, "more than one issue matched, selecting the most recently resolved",
                   "integration", "jira", "aggrGroup", s->n->group_key, "selected_issue", k->key,
                   NULL);
        json_decref(v);
        const jira_conf_t *c = s->ic->conf;
        tn_log(TN_LOG_DEBUG, "updating existing issue", "integration", "jira", "aggrGroup",
               s->n->group_key, "issue_key", k->key, "summary_update_enabled",
               c->summary_update ? "true" : "false", "description_update_enabled",
               c->description_update ? "true" : "false", NULL);
        k->next = JIRA_UPDATE;
    }
    if (k->bad == JIRA_BAD_DESCRIPTION) {
        jira_fail(o, "%s", k->why);
        return;
    }
    if (k->bad == JIRA_BAD_JSON) {
        /* Alertmanager's encoder fails as it writes the request. */
        if (k->next == JIRA_CREATE)
            jira_fail(o, "failed to POST request to \"issue\": %s", k->why);
        else
            jira_fail(o, "failed to PUT request to \"issue/%.64s\": %s", k->key, k->why);
        return;
    }
    o->result = TN_SEND_NEXT;
}

/* After the update: whether the issue's status needs a transition. */
static void jira_updated(const jira_conf_t *c, jira_carry_t *k, tn_send_outcome_t *o)
{
    o->result = TN_SEND_DONE;
    if (!k->key[0] || !k->has_status)
        return;
    /* Firing reopens a done issue; resolved resolves an open one. */
    if (k->firing != k->done)
        return;
    k->move = k->firing ? c->reopen_transition : c->resolve_transition;
    if (!tn_receiver_set(k->move))
        return;
    k->next = JIRA_TRANSITIONS;
    o->result = TN_SEND_NEXT;
}

/* The issue's transitions: {"transitions": [{"id", "name"}]}; the one named is applied. */
static void jira_transitions(jira_carry_t *k, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    json_error_t jerr;
    json_t *v = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, &jerr);
    json_t *list = json_is_object(v) ? json_object_get(v, "transitions") : NULL;
    if (!v || !(json_is_object(v) || json_is_null(v)) ||
        !(list == NULL || json_is_null(list) || json_is_array(list))) {
        jira_fail(o, "cannot read the transitions of issue %s: %s", k->key,
                  v ? "unexpected JSON" : jerr.text);
        json_decref(v);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *tr = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(tr, "name"));
        if (name && strcmp(name, k->move) == 0) {
            const char *id = json_string_value(json_object_get(tr, "id"));
            k->move_id = tn_xstrdup(id ? id : "");
            json_decref(v);
            tn_log(TN_LOG_DEBUG, "transitions jira issue", "integration", "jira", "issue_key",
                   k->key, "transition", k->move, NULL);
            k->next = JIRA_TRANSITION;
            o->result = TN_SEND_NEXT;
            return;
        }
    }
    json_decref(v);
    jira_fail(o, "can't find transition %s for issue %s", k->move, k->key);
}

static void jira_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    jira_carry_t *k = s->carry;
    char e[TN_ERRBUF_SIZE];
    /* Retried: 5xx and 429 (after its Retry-After), as Alertmanager's Jira notifier. */
    enum tn_send_result r = tn_receiver_classify_http(resp, true, &o->reason, e, sizeof(e));
    if (r != TN_SEND_DONE) {
        /* Worded as Alertmanager words each request's failure. */
        char what[160] = "";
        if (k->next == JIRA_SEARCH)
            snprintf(what, sizeof(what),
                     "failed to look up existing issues: HTTP request to JIRA API: ");
        else if (k->next == JIRA_CREATE)
            snprintf(what, sizeof(what), "failed to POST request to \"issue\": ");
        else if (k->next == JIRA_UPDATE)
            snprintf(what, sizeof(what), "failed to PUT request to \"issue/%.64s\": ", k->key);
        o->result = r;
        snprintf(o->err, sizeof(o->err), "%s%.*s", what, (int)(sizeof(o->err) - 1 - strlen(what)),
                 e);
        return;
    }
    switch (k->next) {
    case JIRA_SEARCH:
        jira_found(s, k, resp, o);
        break;
    case JIRA_CREATE:
        o->result = TN_SEND_DONE;
        break;
    case JIRA_UPDATE:
        jira_updated(s->ic->conf, k, o);
        break;
    case JIRA_TRANSITIONS:
        jira_transitions(k, resp, o);
        break;
    case JIRA_TRANSITION:
        o->result = TN_SEND_DONE;
        break;
    }
}

/* Its keys under global:. */
static const tn_field_t jira_global_fields[] = {
    TN_GLOBAL_FIELD("jira_api_url", TN_F_URL, jira_api_url, NULL),
    {.key = NULL},
};

const tn_receiver_type_t tn_receiver_jira = {
    .name = "jira",
    .conf_size = sizeof(jira_conf_t),
    .fields = jira_fields,
    .global_fields = jira_global_fields,
    .send_resolved_default = true,
    .finalize = jira_finalize,   /* project, issue_type, api_type; api_url from global */
    .conf_free = jira_conf_free, /* the field table frees everything */
    .build = jira_build,         /* search, then create or update, then transition */
    .classify = jira_classify,   /* reads the search and the transitions; retry 5xx and 429 */
};
