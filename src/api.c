/* The HTTP API: routing, /api/v2 handlers, the /-/ endpoints and /metrics.
 *
 * tn_api_handle() turns an http request into an api_call_t, api_dispatch() answers it into an
 * api_reply_t, and the reply goes back through tn_http_respond(). Everything between is
 * plain data, so the unit tests drive api_dispatch() without a socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/labels.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/notification.h"
#include "tocsin/timefmt.h"
#include "tocsin/timeinterval.h"
#include "tocsin/version.h"

#define API_DEFAULT_MAX_ALERTS 10000
#define API_DEFAULT_RESOLVE    (5 * 60 * TN_NS_PER_SEC)
#define API_CT_TEXT            "text/plain; charset=utf-8"
#define API_CT_METRICS         "text/plain; version=0.0.4; charset=utf-8"
#define API_METRICS_CACHE      32
/* A GET of alerts stops with a 503 past this much loop time (hostile regex filters). */
#define API_QUERY_BUDGET_MS 2000

enum { API_GET = 1, API_HEAD = 2, API_POST = 4, API_DELETE = 8 };

typedef void (*api_handler_fn)(tn_api_t *api, const api_call_t *call, api_reply_t *rep);

typedef struct api_route {
    const char *path; /* after the route prefix; a trailing '*' matches one path segment */
    unsigned methods; /* HEAD is implied by GET */
    bool v2;          /* CORS and Cache-Control of the v2 API */
    api_handler_fn fn;
} api_route_t;

struct tn_api {
    tn_api_deps_t deps;
    char *prefix; /* "" or "/x", no trailing slash */
    size_t prefix_len;
    tn_time_t started;
    tn_metric_child_t *received_firing, *received_resolved, *invalid;
    tn_metric_t *duration, *size;
    /* children of the request histograms, cached by (route, method, status) */
    struct {
        const api_route_t *route;
        const char *method;
        int status;
        tn_metric_child_t *duration, *size;
    } mcache[API_METRICS_CACHE];
    size_t nmcache;
};

/* ---- replies ---- */

void api_reply_init(api_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    tn_buf_init(&r->body, 0);
}

void api_reply_free(api_reply_t *r)
{
    if (r->undo) {
        r->undo(r->undo_ud, false);
        r->undo = NULL;
    }
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i].value);
    r->nheaders = 0;
    tn_buf_free(&r->body);
}

static void api_header(api_reply_t *r, const char *name, const char *value)
{
    if (r->nheaders == API_MAX_HEADERS)
        return;
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = tn_xstrdup(value);
    r->nheaders++;
}

static void api_text(api_reply_t *r, int status, const char *ct, const char *text)
{
    r->status = status;
    r->content_type = ct;
    tn_buf_reset(&r->body);
    tn_buf_puts(&r->body, text);
}

/* {"code":N,"message":"..."}, the error shape of the v2 API's own layer */
void api_error(api_reply_t *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = API_CT_JSON;
    tn_buf_reset(&r->body);
    tn_buf_printf(&r->body, "{\"code\":%d,\"message\":", status);
    tn_json_go_string(&r->body, msg, strlen(msg));
    tn_buf_putc(&r->body, '}');
}

/* A bare JSON string, the payload Alertmanager's handlers put in their 400s. */
void api_error_string(api_reply_t *r, int status, const char *msg, size_t len)
{
    r->status = status;
    r->content_type = API_CT_JSON;
    tn_buf_reset(&r->body);
    tn_json_go_string(&r->body, msg, len);
    tn_buf_putc(&r->body, '\n');
}

/* ---- query strings ---- */

static void api_urldecode(tn_buf_t *out, const char *s, size_t len)
{
    tn_buf_reset(out);
    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '+') {
            tn_buf_putc(out, ' ');
        } else if (s[i] == '%' && i + 2 < len && (h = tn_hexval(s[i + 1])) >= 0 &&
                   (l = tn_hexval(s[i + 2])) >= 0) {
            tn_buf_putc(out, (char)(h << 4 | l));
            i += 2;
        } else {
            tn_buf_putc(out, s[i]);
        }
    }
    tn_buf_cstr(out);
}

void api_query_each(const char *query, const char *name, api_param_fn fn, void *ud)
{
    tn_buf_t key, val;
    tn_buf_init(&key, 0);
    tn_buf_init(&val, 0);
    const char *p = query ? query : "";
    while (*p) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        api_urldecode(&key, p, klen);
        if (key.len == strlen(name) && memcmp(key.data, name, key.len) == 0) {
            if (eq)
                api_urldecode(&val, eq + 1, n - klen - 1);
            else
                tn_buf_reset(&val);
            if (!fn(ud, val.data ? tn_buf_cstr(&val) : "", val.len))
                break;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    tn_buf_free(&key);
    tn_buf_free(&val);
}

typedef struct api_bool_param {
    bool value;
} api_bool_param_t;

/* go-openapi's boolean reading: a short list of words is true, the rest false, empty keeps
 * the default; the last value wins. */
static bool api_bool_cb(void *ud, const char *v, size_t len)
{
    static const char *const truthy[] = {"true", "1",        "yes",     "ok", "y",
                                         "on",   "selected", "checked", "t",  "enabled"};
    api_bool_param_t *p = ud;
    if (len == 0)
        return true;
    p->value = false;
    for (size_t i = 0; i < TN_ARRAY_LEN(truthy); i++)
        if (strcasecmp(v, truthy[i]) == 0)
            p->value = true;
    return true;
}

bool api_query_bool(const char *query, const char *name, bool def)
{
    api_bool_param_t p = {def};
    api_query_each(query, name, api_bool_cb, &p);
    return p.value;
}

/* ---- filters shared by GET /api/v2/alerts and /api/v2/alerts/groups ---- */

typedef struct api_filter_parse {
    tn_matchers_t *ms;
    int rc;
    char err[TN_ERRBUF_SIZE];
} api_filter_parse_t;

static bool api_filter_cb(void *ud, const char *v, size_t len)
{
    api_filter_parse_t *f = ud;
    if (f->ms->n == API_MAX_FILTERS) {
        snprintf(f->err, sizeof(f->err), "too many filter matchers (the limit is %d)",
                 API_MAX_FILTERS);
        f->rc = TN_ERR_LIMIT;
        return false;
    }
    if (len > API_MAX_FILTER_LEN) {
        snprintf(f->err, sizeof(f->err), "filter matcher longer than %d bytes", API_MAX_FILTER_LEN);
        f->rc = TN_ERR_LIMIT;
        return false;
    }
    if (!f->ms->v)
        f->ms->v = tn_xcalloc(API_MAX_FILTERS, sizeof(tn_matcher_t));
    f->rc = tn_matcher_parse(v, &f->ms->v[f->ms->n], f->err, sizeof(f->err));
    if (f->rc)
        return false;
    f->ms->n++;
    return true;
}

int api_parse_filters(const char *query, tn_matchers_t *ms, char *err, size_t errlen)
{
    api_filter_parse_t p = {.ms = ms};
    api_query_each(query, "filter", api_filter_cb, &p);
    if (p.rc) {
        snprintf(err, errlen, "%s", p.err);
        tn_matchers_free(ms);
    }
    return p.rc;
}

typedef struct api_filters {
    tn_matchers_t matchers;
    tn_matcher_t receiver;
    bool has_receiver;
    bool active, silenced, inhibited, muted;
    int rc;
    char err[TN_ERRBUF_SIZE];
} api_filters_t;

static bool api_receiver_cb(void *ud, const char *v, size_t len)
{
    api_filters_t *f = ud;
    if (f->has_receiver) {
        tn_matcher_free(&f->receiver);
        f->has_receiver = false;
    }
    if (len > API_MAX_FILTER_LEN) {
        snprintf(f->err, sizeof(f->err), "failed to parse receiver param: longer than %d bytes",
                 API_MAX_FILTER_LEN);
        f->rc = TN_ERR_LIMIT;
        return false;
    }
    char err[400];
    f->rc = tn_matcher_init(&f->receiver, TN_MATCH_RE, "receiver", v, err, sizeof(err));
    if (f->rc) {
        snprintf(f->err, sizeof(f->err), "failed to parse receiver param: %s", err);
        return false;
    }
    f->has_receiver = true;
    return true;
}

static int api_filters_read(const api_call_t *call, api_filters_t *f)
{
    memset(f, 0, sizeof(*f));
    f->rc = api_parse_filters(call->query, &f->matchers, f->err, sizeof(f->err));
    if (!f->rc)
        api_query_each(call->query, "receiver", api_receiver_cb, f);
    /* unprocessed is accepted and changes nothing: the status is computed at query time,
     * so no alert is ever unprocessed */
    f->active = api_query_bool(call->query, "active", true);
    f->silenced = api_query_bool(call->query, "silenced", true);
    f->inhibited = api_query_bool(call->query, "inhibited", true);
    f->muted = api_query_bool(call->query, "muted", true);
    return f->rc;
}

static void api_filters_free(api_filters_t *f)
{
    tn_matchers_free(&f->matchers);
    if (f->has_receiver)
        tn_matcher_free(&f->receiver);
    f->has_receiver = false;
}

/* ---- the status of an alert, as the mute stage would set it now ---- */

#define API_MUTE_SMALL 16

typedef struct api_mute {
    const tn_silence_t *sil_small[API_MUTE_SMALL], **sil;
    const char *id_small[API_MUTE_SMALL], **ids;
    size_t nsil;
    uint64_t inh[1];
    api_alert_status_t st;
} api_mute_t;

/* Inhibition first, then silences, as the mute stage does; the inhibitor reports the first
 * inhibiting alert, as Alertmanager does. */
static void api_mute_compute(tn_api_t *api, const tn_alert_t *a, tn_time_t now, api_mute_t *m)
{
    memset(&m->st, 0, sizeof(m->st));
    m->sil = m->sil_small;
    m->ids = m->id_small;
    m->nsil = 0;
    size_t ninh = 0;
    if (api->deps.inhibitor)
        ninh = tn_inhibitor_mutes(api->deps.inhibitor, tn_alert_labels(a), a->fp, now, m->inh, 1);
    if (api->deps.silences) {
        m->nsil =
            tn_silences_mutes(api->deps.silences, tn_alert_labels(a), now, m->sil, API_MUTE_SMALL);
        if (m->nsil > API_MUTE_SMALL) {
            m->sil = tn_xmalloc(m->nsil * sizeof(*m->sil));
            m->ids = tn_xmalloc(m->nsil * sizeof(*m->ids));
            m->nsil = TN_MIN(m->nsil, tn_silences_mutes(api->deps.silences, tn_alert_labels(a), now,
                                                        m->sil, m->nsil));
        }
    }
    for (size_t i = 0; i < m->nsil; i++)
        m->ids[i] = m->sil[i]->id;
    m->st.inhibited_by = m->inh;
    m->st.ninhibited = ninh ? 1 : 0;
    m->st.silenced_by = m->ids;
    m->st.nsilenced = m->nsil;
    m->st.state = ninh || m->nsil ? "suppressed" : "active";
}

static void api_mute_free(api_mute_t *m)
{
    if (m->sil != m->sil_small)
        free(m->sil);
    if (m->ids != m->id_small)
        free(m->ids);
    m->sil = m->sil_small;
    m->ids = m->id_small;
}

/* The active / silenced / inhibited switches of the query. */
static bool api_status_passes(const api_filters_t *f, const api_alert_status_t *st)
{
    if (!f->active && strcmp(st->state, "active") == 0)
        return false;
    if (!f->silenced && st->nsilenced)
        return false;
    if (!f->inhibited && st->ninhibited)
        return false;
    return true;
}

/* ---- GET /api/v2/alerts ---- */

/* Alerts with their fingerprints: the sort reads no alert memory. */
typedef struct api_fp_alert {
    uint64_t fp;
    tn_alert_t *a;
} api_fp_alert_t;

typedef struct api_collect {
    api_fp_alert_t *v;
    size_t n, alloc;
} api_collect_t;

static bool api_collect_cb(void *ud, tn_alert_t *a)
{
    api_collect_t *c = ud;
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 64;
        c->v = tn_xrealloc(c->v, c->alloc * sizeof(*c->v));
    }
    c->v[c->n++] = (api_fp_alert_t){a->fp, a};
    return true;
}

/* LSD radix sort by fingerprint, a byte per pass, skipping bytes every key shares: for 10^5
 * alerts several times faster than qsort, whose calls dominated large answers. */
static void api_sort_by_fp(api_fp_alert_t *v, size_t n)
{
    if (n < 2)
        return;
    size_t(*count)[256] = tn_xcalloc(8, sizeof(*count));
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(v[i].fp >> (8 * b)) & 0xff]++;
    api_fp_alert_t *tmp = tn_xmalloc(n * sizeof(*tmp)), *src = v, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        if (count[b][(v[0].fp >> (8 * b)) & 0xff] == n)
            continue;
        size_t pos[256], sum = 0;
        for (int k = 0; k < 256; k++) {
            pos[k] = sum;
            sum += count[b][k];
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i].fp >> (8 * b)) & 0xff]++] = src[i];
        api_fp_alert_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof(*v));
    free(tmp);
    free(count);
}

/* Answers walk alerts in fingerprint order, which is random in memory: each alert's block is
 * fetched this many alerts ahead, its strings and silence lookups from half as far, so the
 * misses overlap. */
#define API_PREFETCH 16

static void api_prefetch_alert(const tn_alert_t *a)
{
    const char *p = (const char *)a;
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + 128);
}

static void api_prefetch_strings(const tn_alert_t *a)
{
    for (size_t i = 0; i < a->nlabels; i++)
        __builtin_prefetch(a->labels[i].value);
    for (size_t i = 0; i < a->nannotations; i++)
        __builtin_prefetch(a->annotations[i].value);
}

static void api_prefetch(const tn_api_t *api, const api_fp_alert_t *v, size_t n, size_t i)
{
    if (i + API_PREFETCH < n)
        api_prefetch_alert(v[i + API_PREFETCH].a);
    if (i + API_PREFETCH / 2 < n)
        api_prefetch_strings(v[i + API_PREFETCH / 2].a);
    if (!api->deps.silences)
        return;
    /* the silence index, a level at a time, the second two alerts after the first */
    for (int stage = 0; stage < 2; stage++) {
        size_t k = i + API_PREFETCH / 2 - 2 * (size_t)stage;
        if (k < n)
            tn_silences_prefetch(api->deps.silences, tn_alert_labels(v[k].a), stage);
    }
}

static size_t api_receivers(tn_api_t *api, const tn_alert_t *a, const char ***out,
                            const char **small, size_t nsmall)
{
    *out = small;
    if (!api->deps.alert_receivers)
        return 0;
    size_t n = api->deps.alert_receivers(api->deps.ud, a, small, nsmall);
    if (n > nsmall) {
        *out = tn_xmalloc(n * sizeof(char *));
        n = TN_MIN(n, api->deps.alert_receivers(api->deps.ud, a, *out, n));
    }
    return n;
}

/* Checked every few hundred alerts: a filter that makes every match slow (each one is
 * capped by the matcher's PCRE2 limits) ends the request instead of stalling the loop. */
static bool api_over_budget(uint64_t start_ms, size_t i)
{
    return (i & 255) == 255 && tn_clock_mono_ms() - start_ms > API_QUERY_BUDGET_MS;
}

static void api_over_budget_reply(api_reply_t *rep)
{
    if (rep->streamed) { /* the status has gone out: the answer can only be cut */
        rep->cut = true;
        return;
    }
    static const char msg[] = "the query took longer than its time budget; narrow the filters";
    api_error_string(rep, 503, msg, sizeof(msg) - 1);
}

/* GET /api/v2/alerts as a job: the matching alerts are referenced when the request comes, and
 * written a part at a time as the client reads (a slow reader holds a part, not the answer). */
typedef struct api_alerts_job {
    api_filters_t f;
    api_collect_t c; /* each alert referenced until the job is freed */
    size_t i, written;
    tn_time_t now;
    uint64_t spent_ms; /* time spent writing so far, against the query budget */
} api_alerts_job_t;

static void api_alerts_job_free(void *ud)
{
    api_alerts_job_t *j = ud;
    for (size_t k = 0; k < j->c.n; k++)
        tn_alert_unref(j->c.v[k].a);
    free(j->c.v);
    api_filters_free(&j->f);
    free(j);
}

/* Writes alerts until the body holds a part (parted) or the answer is done; true when done. */
static bool api_alerts_step(tn_api_t *api, api_alerts_job_t *j, api_reply_t *rep, bool parted)
{
    uint64_t start = tn_clock_mono_ms();
    api_collect_t *c = &j->c;
    for (; j->i < c->n; j->i++) {
        size_t i = j->i;
        if ((i & 255) == 255 && j->spent_ms + (tn_clock_mono_ms() - start) > API_QUERY_BUDGET_MS) {
            api_over_budget_reply(rep);
            return true;
        }
        if (parted && rep->body.len >= API_STREAM_PART) {
            j->spent_ms += tn_clock_mono_ms() - start;
            return false;
        }
        api_prefetch(api, c->v, c->n, i);
        tn_alert_t *a = c->v[i].a;
        /* alerts resolved before now are left out, as Alertmanager does */
        if (a->ends_at != 0 && a->ends_at < j->now)
            continue;
        if (j->f.matchers.n && !tn_matchers_match(&j->f.matchers, tn_alert_labels(a)))
            continue;
        const char *small[16], **rcv;
        size_t nrcv = api_receivers(api, a, &rcv, small, TN_ARRAY_LEN(small));
        bool keep = !j->f.has_receiver;
        for (size_t k = 0; !keep && k < nrcv; k++)
            keep = tn_matcher_matches(&j->f.receiver, rcv[k]);
        if (keep) {
            api_mute_t m;
            api_mute_compute(api, a, j->now, &m);
            if (api_status_passes(&j->f, &m.st)) {
                if (j->written++)
                    tn_buf_putc(&rep->body, ',');
                api_encode_alert_status(&rep->body, a, rcv, nrcv, &m.st);
            }
            api_mute_free(&m);
        }
        if (rcv != small)
            free(rcv);
    }
    tn_buf_puts(&rep->body, "]\n");
    return true;
}

static bool api_alerts_more(tn_api_t *api, void *ud, api_reply_t *rep)
{
    return api_alerts_step(api, ud, rep, true);
}

static void api_get_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    api_alerts_job_t *j = tn_xcalloc(1, sizeof(*j));
    j->now = tn_clock_now();
    if (api_filters_read(call, &j->f)) {
        api_error_string(rep, 400, j->f.err, strlen(j->f.err));
        api_alerts_job_free(j);
        return;
    }
    if (api->deps.store)
        tn_alert_store_foreach(api->deps.store, api_collect_cb, &j->c);
    for (size_t k = 0; k < j->c.n; k++)
        tn_alert_ref(j->c.v[k].a);
    if (rep->charge && !rep->charge(rep->stream_ud, j->c.n * sizeof(*j->c.v))) {
        static const char msg[] = "too many answers are being sent; try again";
        api_error_string(rep, 503, msg, sizeof(msg) - 1);
        api_header(rep, "Retry-After", "1");
        api_alerts_job_free(j);
        return;
    }
    api_sort_by_fp(j->c.v, j->c.n);
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_putc(&rep->body, '[');
    bool parted = rep->stream != NULL;
    if (!api_alerts_step(api, j, rep, parted)) {
        rep->flags |= API_REPLY_MORE;
        rep->more = api_alerts_more;
        rep->more_free = api_alerts_job_free;
        rep->more_ud = j;
        return;
    }
    api_alerts_job_free(j);
}

/* ---- GET /api/v2/alerts/groups ---- */

typedef struct api_group {
    const tn_route_t *route;
    tn_labels_t labels;
    tn_labels_t route_labels; /* rendered */
    tn_notif_alert_t *alerts; /* sorted as Alertmanager sorts a group's alerts */
    size_t nalerts;
    const char *muted_by; /* time interval name, or NULL */
} api_group_t;

typedef struct api_fp_rcv {
    uint64_t fp;
    const char *receiver;
} api_fp_rcv_t;

typedef struct api_groups_ctx {
    tn_api_t *api;
    const api_filters_t *f;
    const tn_config_t *cfg;
    tn_time_t now;
    uint64_t start_ms;
    size_t seen;
    bool over_budget;
    api_group_t *v;
    size_t n, alloc;
    api_fp_rcv_t *rcv; /* (alert, receiver of a group holding it) */
    size_t nrcv, arcv;
} api_groups_ctx_t;

static bool api_alert_passes(api_groups_ctx_t *x, const tn_alert_t *a)
{
    if (a->ends_at != 0 && a->ends_at < x->now)
        return false;
    if (x->f->matchers.n && !tn_matchers_match(&x->f->matchers, tn_alert_labels(a)))
        return false;
    api_mute_t m;
    api_mute_compute(x->api, a, x->now, &m);
    bool ok = api_status_passes(x->f, &m.st);
    api_mute_free(&m);
    return ok;
}

static bool api_group_cb(void *ud, const tn_dispatch_group_view_t *view)
{
    api_groups_ctx_t *x = ud;
    const tn_route_t *route = view->route;
    tn_alert_t *const *alerts = view->alerts;
    size_t nalerts = view->nalerts;
    const char *receiver = route->receiver ? route->receiver->name : "";
    if (x->f->has_receiver && !tn_matcher_matches(&x->f->receiver, receiver))
        return true;
    api_group_t g = {.route = route, .labels = view->labels};
    for (size_t i = 0; i < nalerts; i++) {
        if (api_over_budget(x->start_ms, x->seen++)) {
            x->over_budget = true;
            free(g.alerts);
            return false;
        }
        if (!api_alert_passes(x, alerts[i]))
            continue;
        if (!g.alerts)
            g.alerts = tn_xmalloc(nalerts * sizeof(*g.alerts));
        g.alerts[g.nalerts++] = (tn_notif_alert_t){.alert = alerts[i]};
        if (x->nrcv == x->arcv) {
            x->arcv = x->arcv ? x->arcv * 2 : 64;
            x->rcv = tn_xrealloc(x->rcv, x->arcv * sizeof(*x->rcv));
        }
        x->rcv[x->nrcv++] = (api_fp_rcv_t){alerts[i]->fp, receiver};
    }
    if (!g.nalerts)
        return true;
    if (x->cfg && tn_route_time_muted(x->cfg, route, x->now, &g.muted_by) && !g.muted_by)
        g.muted_by = "";
    if (g.muted_by && !x->f->muted) {
        free(g.alerts);
        return true;
    }
    /* Rendered only for a group that is listed (and then kept until its alerts change). */
    if (view->route_labels)
        g.route_labels = view->route_labels(view);
    tn_notif_alerts_sort(g.alerts, g.nalerts);
    if (x->n == x->alloc) {
        x->alloc = x->alloc ? x->alloc * 2 : 16;
        x->v = tn_xrealloc(x->v, x->alloc * sizeof(*x->v));
    }
    x->v[x->n++] = g;
    return true;
}

static int api_cmp_group(const void *x, const void *y)
{
    const api_group_t *a = x, *b = y;
    int c = tn_labels_compare(a->labels, b->labels);
    if (c)
        return c;
    const char *ra = a->route->receiver ? a->route->receiver->name : "";
    const char *rb = b->route->receiver ? b->route->receiver->name : "";
    return strcmp(ra, rb);
}

static int api_cmp_fp_rcv(const void *x, const void *y)
{
    const api_fp_rcv_t *a = x, *b = y;
    if (a->fp != b->fp)
        return a->fp < b->fp ? -1 : 1;
    return strcmp(a->receiver, b->receiver);
}

static void api_get_groups(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    api_filters_t f;
    api_groups_ctx_t x = {
        .api = api,
        .f = &f,
        .now = tn_clock_now(),
        .start_ms = tn_clock_mono_ms(),
        .cfg = api->deps.config ? api->deps.config(api->deps.ud) : NULL,
    };
    if (api_filters_read(call, &f)) {
        api_error_string(rep, 400, f.err, strlen(f.err));
        goto out;
    }
    if (api->deps.foreach_group)
        api->deps.foreach_group(api->deps.ud, api_group_cb, &x);
    if (x.over_budget) {
        api_over_budget_reply(rep);
        goto out;
    }
    if (x.n > 1)
        qsort(x.v, x.n, sizeof(*x.v), api_cmp_group);
    if (x.nrcv > 1)
        qsort(x.rcv, x.nrcv, sizeof(*x.rcv), api_cmp_fp_rcv);
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_t *b = &rep->body;
    tn_buf_putc(b, '[');
    const char *small[16], **names = small;
    size_t nnames = TN_ARRAY_LEN(small);
    for (size_t i = 0; i < x.n; i++) {
        api_group_t *g = &x.v[i];
        tn_buf_puts(b, i ? ",{\"alerts\":[" : "{\"alerts\":[");
        for (size_t k = 0; k < g->nalerts; k++) {
            const tn_alert_t *a = g->alerts[k].alert;
            /* receivers: every group that holds the alert, names sorted */
            size_t lo = 0, hi = x.nrcv;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (x.rcv[mid].fp < a->fp)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t nr = 0;
            for (size_t j = lo; j < x.nrcv && x.rcv[j].fp == a->fp; j++) {
                if (nr == nnames) {
                    nnames *= 2;
                    names = names == small
                                ? memcpy(tn_xmalloc(nnames * sizeof(*names)), small, sizeof(small))
                                : tn_xrealloc(names, nnames * sizeof(*names));
                }
                names[nr++] = x.rcv[j].receiver;
            }
            api_mute_t m;
            api_mute_compute(api, a, x.now, &m);
            if (g->muted_by) {
                m.st.muted_by = &g->muted_by;
                m.st.nmuted = 1;
                m.st.state = "suppressed";
            }
            if (k)
                tn_buf_putc(b, ',');
            api_encode_alert_status(b, a, names, nr, &m.st);
            api_mute_free(&m);
        }
        tn_buf_puts(b, "],\"labels\":");
        api_encode_labels(b, g->labels);
        tn_buf_puts(b, ",\"receiver\":{\"name\":");
        const char *rn = g->route->receiver ? g->route->receiver->name : "";
        tn_json_go_string(b, rn, strlen(rn));
        tn_buf_puts(b, "},\"routeLabels\":");
        api_encode_labels(b, g->route_labels);
        tn_buf_putc(b, '}');
    }
    tn_buf_puts(b, "]\n");
    if (names != small)
        free(names);
out:
    for (size_t i = 0; i < x.n; i++)
        free(x.v[i].alerts);
    free(x.v);
    free(x.rcv);
    api_filters_free(&f);
}

/* ---- POST /api/v2/alerts ---- */

static void api_post_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    tn_time_t now = tn_clock_now();
    const tn_config_t *cfg = api->deps.config ? api->deps.config(api->deps.ud) : NULL;
    tn_duration_t resolve = cfg ? cfg->global.resolve_timeout : API_DEFAULT_RESOLVE;
    size_t max = api->deps.max_alerts_per_request ? api->deps.max_alerts_per_request
                                                  : API_DEFAULT_MAX_ALERTS;
    tn_alert_t **alerts;
    size_t n, ninvalid, nfiring, nresolved;
    tn_buf_t err;
    tn_buf_init(&err, 0);
    int rc = api_decode_alerts(call->body ? call->body : "", call->body ? call->len : 0, now,
                               resolve, max, &alerts, &n, &ninvalid, &nfiring, &nresolved, &err);
    if (rc != TN_OK && ninvalid == 0) {
        if (tn_log_enabled(TN_LOG_DEBUG))
            tn_log(TN_LOG_DEBUG, "Refused alerts", "err", tn_buf_cstr(&err), NULL);
        api_error(rep, 400, tn_buf_cstr(&err));
        goto out;
    }
    tn_metric_add(api->received_firing, (double)nfiring);
    tn_metric_add(api->received_resolved, (double)nresolved);
    tn_metric_add(api->invalid, (double)ninvalid);
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        tn_alert_t *a = alerts[i];
        if (!api->deps.store) {
            tn_alert_unref(a);
            continue;
        }
        /* a refused alert is logged and the rest still go in, as Alertmanager does */
        tn_alert_ref(a);
        if (tn_alert_store_put(api->deps.store, a) == TN_OK)
            stored++;
        else
            tn_log(TN_LOG_ERROR, "error on set alert", "alertname", tn_alert_name(a), "err",
                   "the alert limit is reached", NULL);
        tn_alert_unref(a);
    }
    free(alerts);
    if (stored && api->deps.alerts_stored)
        api->deps.alerts_stored(api->deps.ud, stored);
    if (ninvalid) {
        tn_log(TN_LOG_ERROR, "Failed to validate alerts", "err", tn_buf_cstr(&err), NULL);
        api_error_string(rep, 400, err.data, err.len);
        goto out;
    }
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    /* 200 means the alerts are in a committed transaction; requests arriving together share
     * one (the store batches every change queued before its next write). */
    if (stored)
        rep->flags |= API_REPLY_SYNC;
out:
    tn_buf_free(&err);
}

static void api_alerts(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    if (strcmp(call->method, "POST") == 0)
        api_post_alerts(api, call, rep);
    else
        api_get_alerts(api, call, rep);
}

const tn_api_deps_t *api_deps(const tn_api_t *api)
{
    return &api->deps;
}

tn_time_t api_started(const tn_api_t *api)
{
    return api->started;
}

/* ---- /-/ endpoints and /metrics ---- */

static void api_healthy(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(api);
    TN_UNUSED(call);
    api_text(rep, 200, API_CT_TEXT, "OK");
}

static void api_ready(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    if (api->deps.ready && !api->deps.ready(api->deps.ud))
        api_text(rep, 503, API_CT_TEXT, "Service Unavailable");
    else
        api_text(rep, 200, API_CT_TEXT, "OK");
}

static void api_reload(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(call);
    if (!api->deps.reload) {
        api_reload_answer(api, rep, TN_ERR_INVAL, "reload is not available");
        return;
    }
    rep->flags |= API_REPLY_DEFER;
}

static void api_observe(tn_api_t *api, const api_route_t *r, const char *method, int status,
                        uint64_t start_ms, size_t size);

void api_reload_answer(tn_api_t *api, api_reply_t *rep, int rc, const char *err)
{
    if (rc == TN_OK) {
        rep->status = 200;
    } else {
        rep->status = 500;
        rep->content_type = API_CT_TEXT;
        tn_buf_printf(&rep->body, "failed to reload config: %s\n",
                      err && err[0] ? err : "unknown error");
        api_header(rep, "X-Content-Type-Options", "nosniff");
    }
    if (rep->flags & API_REPLY_DEFER) {
        rep->flags &= ~(unsigned)API_REPLY_DEFER;
        api_observe(api, rep->defer_route, rep->defer_method, rep->status, rep->defer_start_ms,
                    rep->body.len);
    }
}

static void api_metrics(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    TN_UNUSED(api);
    TN_UNUSED(call);
    rep->status = 200;
    rep->content_type = API_CT_METRICS;
    tn_metrics_write(&rep->body);
}

static const api_route_t api_routes[] = {
    {"/api/v2/alerts", API_GET | API_POST, true, api_alerts},
    {"/api/v2/alerts/groups", API_GET, true, api_get_groups},
    {"/api/v2/silences", API_GET | API_POST, true, api_silences},
    {"/api/v2/silence/*", API_GET | API_DELETE, true, api_silence_id},
    {"/api/v2/status", API_GET, true, api_status},
    {"/api/v2/receivers", API_GET, true, api_receivers_list},
    {"/-/healthy", API_GET, false, api_healthy},
    {"/-/ready", API_GET, false, api_ready},
    {"/-/reload", API_POST, false, api_reload},
    {"/metrics", API_GET, false, api_metrics},
};

/* ---- dispatch ---- */

static unsigned api_method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return API_GET;
    if (strcmp(m, "HEAD") == 0)
        return API_GET; /* served as GET; the http layer drops the body */
    if (strcmp(m, "POST") == 0)
        return API_POST;
    if (strcmp(m, "DELETE") == 0)
        return API_DELETE;
    return 0;
}

static void api_allow(char *out, size_t size, unsigned methods)
{
    snprintf(out, size, "%s%s%s%s%s", methods & API_GET ? "GET, HEAD" : "",
             (methods & API_GET) && (methods & API_POST) ? ", " : "",
             methods & API_POST ? "POST" : "",
             (methods & (API_GET | API_POST)) && (methods & API_DELETE) ? ", " : "",
             methods & API_DELETE ? "DELETE" : "");
}

/* An exact path, or a pattern ending in '*' that matches one non-empty segment. */
static bool api_path_match(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n == 0 || pattern[n - 1] != '*')
        return strcmp(pattern, path) == 0;
    n--;
    return strncmp(pattern, path, n) == 0 && path[n] && !strchr(path + n, '/');
}

/* The v2 API answers any origin, like the permissive CORS defaults Alertmanager uses. */
static bool api_cors(const api_call_t *call, api_reply_t *rep)
{
    if (!call->origin)
        return false;
    if (strcmp(call->method, "OPTIONS") == 0 && call->acr_method) {
        rep->status = 204;
        api_header(rep, "Vary",
                   "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        if (strcmp(call->acr_method, "GET") == 0 || strcmp(call->acr_method, "POST") == 0 ||
            strcmp(call->acr_method, "HEAD") == 0 || strcmp(call->acr_method, "DELETE") == 0) {
            api_header(rep, "Access-Control-Allow-Origin", "*");
            api_header(rep, "Access-Control-Allow-Methods", call->acr_method);
            api_header(rep, "Access-Control-Allow-Headers",
                       "Accept, Content-Type, X-Requested-With");
        }
        return true;
    }
    api_header(rep, "Vary", "Origin");
    api_header(rep, "Access-Control-Allow-Origin", "*");
    return false;
}

static const char *api_method_label(const char *m)
{
    static const char *const known[][2] = {{"GET", "get"},       {"HEAD", "head"},
                                           {"POST", "post"},     {"PUT", "put"},
                                           {"DELETE", "delete"}, {"OPTIONS", "options"}};
    for (size_t i = 0; i < TN_ARRAY_LEN(known); i++)
        if (strcmp(m, known[i][0]) == 0)
            return known[i][1];
    return "other";
}

static void api_observe(tn_api_t *api, const api_route_t *r, const char *method, int status,
                        uint64_t start_ms, size_t size)
{
    const char *ml = api_method_label(method);
    size_t i;
    for (i = 0; i < api->nmcache; i++)
        if (api->mcache[i].route == r && api->mcache[i].method == ml &&
            api->mcache[i].status == status)
            break;
    if (i == api->nmcache) {
        char code[8];
        snprintf(code, sizeof(code), "%d", status);
        tn_metric_child_t *d = tn_metric_with(api->duration, r->path, ml, code, NULL);
        tn_metric_child_t *s = tn_metric_with(api->size, r->path, ml, NULL);
        if (api->nmcache == API_METRICS_CACHE) {
            tn_metric_observe(d, (double)(tn_clock_mono_ms() - start_ms) / 1000.0);
            tn_metric_observe(s, (double)size);
            return;
        }
        api->mcache[i].route = r;
        api->mcache[i].method = ml;
        api->mcache[i].status = status;
        api->mcache[i].duration = d;
        api->mcache[i].size = s;
        api->nmcache++;
    }
    tn_metric_observe(api->mcache[i].duration, (double)(tn_clock_mono_ms() - start_ms) / 1000.0);
    tn_metric_observe(api->mcache[i].size, (double)size);
}

void api_dispatch(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    uint64_t start = tn_clock_mono_ms();
    const char *path = call->path;
    char msg[256];
    if (api->prefix_len) {
        if (strcmp(path, "/") == 0) {
            rep->status = 302;
            api_header(rep, "Location", api->prefix);
            return;
        }
        if (strncmp(path, api->prefix, api->prefix_len) != 0 || path[api->prefix_len] != '/') {
            snprintf(msg, sizeof(msg), "path %.200s was not found", path);
            api_error(rep, 404, msg);
            return;
        }
        path += api->prefix_len;
    }
    if (strncmp(path, "/api/v1/", 8) == 0 || strcmp(path, "/api/v1") == 0) {
        tn_log(TN_LOG_WARN, "v1 API received a request on a removed endpoint", "path", call->path,
               "method", call->method, NULL);
        rep->status = 410;
        rep->content_type = API_CT_JSON;
        tn_buf_puts(&rep->body, "{\"status\":\"deprecated\",\"error\":\"The v1 API has been "
                                "removed; use the equivalent route of the v2 API "
                                "(/api/v2/).\"}\n");
        return;
    }
    const api_route_t *r = NULL;
    for (size_t i = 0; i < TN_ARRAY_LEN(api_routes); i++)
        if (!r && api_path_match(api_routes[i].path, path))
            r = &api_routes[i];
    if (!r) {
        snprintf(msg, sizeof(msg), "path %.200s was not found", call->path);
        api_error(rep, 404, msg);
        return;
    }
    if (r->v2) {
        api_header(rep, "Cache-Control", "no-store");
        if (api_cors(call, rep))
            goto done;
    }
    unsigned bit = api_method_bit(call->method);
    if (!(bit & r->methods)) {
        char allow[48];
        api_allow(allow, sizeof(allow), r->methods);
        api_header(rep, "Allow", allow);
        snprintf(msg, sizeof(msg), "method %.16s is not allowed, but [%s] are", call->method,
                 allow);
        api_error(rep, 405, msg);
        goto done;
    }
    r->fn(api, call, rep);
    if (rep->flags & API_REPLY_DEFER) {
        rep->defer_route = r;
        rep->defer_method = call->method;
        rep->defer_start_ms = start;
        return;
    }
done:
    api_observe(api, r, call->method, rep->status, start, rep->streamed + rep->body.len);
}

/* ---- the http glue ---- */

static void api_headers(tn_http_req_t *req, api_reply_t *rep)
{
    for (size_t i = 0; i < rep->nheaders; i++)
        tn_http_add_header(req, rep->headers[i].name, rep->headers[i].value);
}

/* Takes the body from rep, leaving it empty, for the connection to free once written. */
static char *api_take_body(api_reply_t *rep, size_t *len)
{
    char *body = rep->body.data;
    *len = rep->body.len;
    rep->streamed += rep->body.len;
    rep->body.data = NULL;
    rep->body.len = rep->body.alloc = 0;
    return body;
}

static void api_stream(void *ud, api_reply_t *rep)
{
    tn_http_req_t *req = ud;
    if (!rep->streamed) {
        api_headers(req, rep);
        tn_http_stream_begin(req, rep->status, rep->content_type);
    }
    size_t len;
    char *part = api_take_body(rep, &len);
    tn_http_stream_part(req, part, len);
    /* room for the next part at once, not grown by doubling again */
    tn_buf_reserve(&rep->body, API_STREAM_PART * 2);
}

/* Hands the body over to the connection: a large answer is written from where it is. */
static void api_send(tn_http_req_t *req, api_reply_t *rep)
{
    size_t len;
    if (rep->streamed) {
        char *part = api_take_body(rep, &len);
        if (rep->cut)
            free(part);
        else
            tn_http_stream_part(req, part, len);
        tn_http_stream_end(req, !rep->cut);
        return;
    }
    api_headers(req, rep);
    char *body = api_take_body(rep, &len);
    tn_http_respond_owned(req, rep->status, rep->content_type, body, len);
}

/* A large answer made a part at a time: the next part only once the client has read the
 * last one down to a part's size. */
typedef struct api_streaming {
    tn_api_t *api;
    tn_http_req_t *req;
    api_reply_t rep;
} api_streaming_t;

static void api_streaming_go(void *ud)
{
    api_streaming_t *st = ud;
    bool done = false;
    for (;;) {
        if (st->rep.body.len)
            api_stream(st->req, &st->rep);
        if (tn_http_stream_dead(st->req))
            break; /* the client left */
        if (tn_http_stream_wait(st->req, API_STREAM_PART, api_streaming_go, st))
            return;
        if (tn_http_stream_dead(st->req))
            break;
        if (st->rep.more(st->api, st->rep.more_ud, &st->rep)) {
            done = true;
            break;
        }
    }
    st->rep.more_free(st->rep.more_ud);
    if (!done)
        st->rep.cut = true;
    api_send(st->req, &st->rep);
    api_reply_free(&st->rep);
    free(st);
}

static bool api_charge(void *ud, size_t bytes)
{
    return tn_http_req_charge(ud, bytes);
}

/* A reply held until the change it reports is durable. */
typedef struct api_pending {
    tn_http_req_t *req;
    api_reply_t rep;
} api_pending_t;

static void api_synced(void *ud, int rc)
{
    api_pending_t *p = ud;
    if (rc != TN_OK) {
        /* A change that can be undone is (so a retry does not apply it twice); any other
         * (alerts, which are idempotent) stays in memory with its write retried. Either way
         * the client must not believe it durable. */
        tn_log(TN_LOG_ERROR, "State write failed before replying", "undone",
               p->rep.undo ? "true" : "false", NULL);
        if (p->rep.undo) {
            p->rep.undo(p->rep.undo_ud, true);
            p->rep.undo = NULL;
        }
        api_reply_free(&p->rep);
        api_reply_init(&p->rep);
        api_error_string(&p->rep, 500, "failed to persist the change", 28);
    }
    api_send(p->req, &p->rep);
    api_reply_free(&p->rep);
    free(p);
}

/* A reload answer waiting for the load off the loop. */
typedef struct api_reload_wait {
    tn_api_t *api;
    tn_http_req_t *req;
    api_reply_t rep;
} api_reload_wait_t;

static void api_reloaded(void *ud, int rc, const char *err)
{
    api_reload_wait_t *w = ud;
    api_reload_answer(w->api, &w->rep, rc, err);
    api_send(w->req, &w->rep);
    api_reply_free(&w->rep);
    free(w);
}

void tn_api_handle(void *ud, tn_http_req_t *req)
{
    tn_api_t *api = ud;
    if (api->deps.web && api->deps.web(api->deps.ud, req))
        return;
    if (api->deps.oncall) {
        const char *p = tn_http_req_path(req);
        if (strncmp(p, api->prefix, api->prefix_len) == 0 &&
            strncmp(p + api->prefix_len, "/api/tocsin/v1/", 15) == 0) {
            api->deps.oncall(api->deps.ud, req);
            return;
        }
    }
    api_call_t call = {
        .method = tn_http_req_method(req),
        .path = tn_http_req_path(req),
        .query = tn_http_req_query(req),
        .origin = tn_http_req_header(req, "Origin"),
        .acr_method = tn_http_req_header(req, "Access-Control-Request-Method"),
    };
    call.body = tn_http_req_body(req, &call.len);
    api_reply_t rep;
    api_reply_init(&rep);
    rep.stream = api_stream;
    rep.stream_ud = req;
    rep.charge = api_charge;
    api_dispatch(api, &call, &rep);
    if (rep.flags & API_REPLY_MORE) {
        api_streaming_t *st = tn_xmalloc(sizeof(*st));
        st->api = api;
        st->req = req;
        st->rep = rep;
        api_streaming_go(st);
        return;
    }
    if (rep.flags & API_REPLY_DEFER) {
        api_reload_wait_t *w = tn_xmalloc(sizeof(*w));
        w->api = api;
        w->req = req;
        w->rep = rep;
        api->deps.reload(api->deps.ud, api_reloaded, w);
        return;
    }
    if ((rep.flags & API_REPLY_SYNC) && api->deps.sync) {
        api_pending_t *p = tn_xmalloc(sizeof(*p));
        p->req = req;
        p->rep = rep;
        api->deps.sync(api->deps.ud, api_synced, p);
        return;
    }
    api_send(req, &rep);
    api_reply_free(&rep);
}

tn_api_t *tn_api_new(const tn_api_deps_t *deps)
{
    static const double dur_buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
    static const double size_buckets[] = {100, 1000, 10000, 100000, 1e6, 1e7, 1e8};
    tn_api_t *api = tn_xcalloc(1, sizeof(*api));
    api->deps = *deps;
    const char *p = deps->route_prefix ? deps->route_prefix : "";
    size_t len = strlen(p);
    while (len && p[len - 1] == '/')
        len--;
    api->prefix = tn_xstrndup(p, len);
    api->prefix_len = len;
    api->deps.route_prefix = api->prefix;
    api->started = tn_clock_now();
    tn_metric_t *recv = tn_metric_counter("alertmanager_alerts_received_total",
                                          "The total number of received alerts.", "status,version");
    api->received_firing = tn_metric_with(recv, "firing", "v2", NULL);
    api->received_resolved = tn_metric_with(recv, "resolved", "v2", NULL);
    api->invalid = tn_metric_with(
        tn_metric_counter("alertmanager_alerts_invalid_total",
                          "The total number of received alerts that were invalid.", "version"),
        "v2", NULL);
    api->duration = tn_metric_histogram(
        "alertmanager_http_request_duration_seconds", "Histogram of latencies for HTTP requests.",
        "handler,method,code", dur_buckets, TN_ARRAY_LEN(dur_buckets));
    api->size = tn_metric_histogram("alertmanager_http_response_size_bytes",
                                    "Histogram of response size for HTTP requests.",
                                    "handler,method", size_buckets, TN_ARRAY_LEN(size_buckets));
    return api;
}

void tn_api_free(tn_api_t *api)
{
    if (!api)
        return;
    free(api->prefix);
    free(api);
}
