/* The on-call API and the history's feeds. Requests are small and made by people, so bodies
 * are read with jansson; answers are written with the project's Go-compatible JSON escaper,
 * since labels come from outside. */
#include "tocsin/oncall.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/strtab.h"
#include "tocsin/timefmt.h"

#define ONCALL_MAX_FILTERS    64
#define ONCALL_MAX_FILTER_LEN 4096
#define ONCALL_MAX_Q          1024
#define ONCALL_VIEW_MAX_LIMIT 10000
#define ONCALL_MAX_RECEIVERS  64
#define HAND_RESOLVED_KEEP    (3600 * TN_NS_PER_SEC)
#define HAND_RESOLVED_MAX     100000
#define API_PREFIX            "/api/tocsin/v1"

/* What the on-call view shows of an alert's notifications since start. */
typedef struct alert_stat {
    char key[17]; /* fingerprint, hex (the table's key) */
    uint64_t fp;
    uint32_t notifications, failures;
    int step; /* highest escalation step paged in this occurrence */
    tn_time_t last_at;
    const char *last_receiver; /* interned */
    const char *last_integration;
    const char *last_outcome; /* static */
    tn_time_t starts_at;      /* the occurrence these count */
} alert_stat_t;

/* An alert resolved by hand: its resolved version is exempt from silences. */
typedef struct hand_resolved {
    char key[17];
    uint64_t fp;
    tn_time_t ends_at;
} hand_resolved_t;

struct tn_oncall {
    tn_oncall_deps_t d;
    tn_strtab_t stats;
    tn_strtab_t hand;
    tn_metric_child_t *m_acks;
    tn_metric_t *m_escalations;
};

static const char *stat_key(const void *v)
{
    return ((const alert_stat_t *)v)->key;
}

static const char *hand_key(const void *v)
{
    return ((const hand_resolved_t *)v)->key;
}

tn_oncall_t *tn_oncall_new(const tn_oncall_deps_t *deps)
{
    tn_oncall_t *o = tn_xcalloc(1, sizeof(*o));
    o->d = *deps;
    o->stats = TN_STRTAB_INIT(stat_key);
    o->hand = TN_STRTAB_INIT(hand_key);
    o->m_acks = tn_metric_plain(
        tn_metric_counter("tocsin_acks_total", "Acknowledgements made through the API.", NULL));
    o->m_escalations = tn_metric_counter(
        "tocsin_escalations_total", "Notifications sent to an escalation step's receiver.", "step");
    return o;
}

void tn_oncall_set_events(tn_oncall_t *o, tn_events_t *e)
{
    if (o)
        o->d.events = e;
}

static void stat_free(alert_stat_t *s)
{
    if (s->last_receiver)
        tn_intern_unref(s->last_receiver);
    free(s);
}

void tn_oncall_free(tn_oncall_t *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->stats.cap; i++)
        if (o->stats.v[i])
            stat_free(o->stats.v[i]);
    tn_strtab_free(&o->stats);
    for (size_t i = 0; i < o->hand.cap; i++)
        free(o->hand.v[i]);
    tn_strtab_free(&o->hand);
    free(o);
}

/* ---- JSON out ---- */

static void j_str(tn_buf_t *b, const char *s)
{
    tn_json_go_string(b, s ? s : "", s ? strlen(s) : 0);
}

static void j_time(tn_buf_t *b, tn_time_t t)
{
    char ts[40];
    tn_time_format_rfc3339milli(t, ts);
    tn_buf_putc(b, '"');
    tn_buf_puts(b, ts);
    tn_buf_putc(b, '"');
}

static void j_fp(tn_buf_t *b, uint64_t fp)
{
    char hex[17];
    tn_fingerprint_format(fp, hex);
    tn_buf_putc(b, '"');
    tn_buf_puts(b, hex);
    tn_buf_putc(b, '"');
}

static void j_ack(tn_buf_t *b, const tn_ack_t *a)
{
    tn_buf_puts(b, "{\"id\":");
    j_str(b, a->id);
    tn_buf_puts(b, ",\"by\":");
    j_str(b, a->by);
    tn_buf_puts(b, ",\"comment\":");
    j_str(b, a->comment);
    tn_buf_puts(b, ",\"createdAt\":");
    j_time(b, a->created_at);
    if (a->expires_at) {
        tn_buf_puts(b, ",\"expiresAt\":");
        j_time(b, a->expires_at);
    }
    tn_buf_puts(b, ",\"fingerprints\":[");
    for (size_t i = 0; i < a->ntargets; i++) {
        if (i)
            tn_buf_putc(b, ',');
        j_fp(b, a->targets[i].fp);
    }
    tn_buf_puts(b, "]}");
}

static void reply(tn_http_req_t *req, int status, tn_buf_t *b)
{
    tn_buf_putc(b, '\n');
    size_t len = b->len;
    char *body = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    tn_http_respond_owned(req, status, "application/json", body, len);
}

static void fail(tn_http_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(tn_http_req_t *req, int status, const char *fmt, ...)
{
    char msg[TN_ERRBUF_SIZE + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tn_http_respond_error(req, status, msg);
}

/* ---- history feeds ---- */

static void integration_label(char *out, size_t size, const char *type, unsigned idx)
{
    snprintf(out, size, "%s[%u]", type, idx);
}

/* The alerts of an event, borrowed from alert versions. */
static tn_event_alert_t *event_alerts(tn_alert_t *const *v, size_t n, tn_time_t now)
{
    tn_event_alert_t *ea = tn_xmalloc((n ? n : 1) * sizeof(*ea));
    for (size_t i = 0; i < n; i++)
        ea[i] =
            (tn_event_alert_t){v[i]->fp, tn_alert_labels(v[i]), tn_alert_resolved_at(v[i], now)};
    return ea;
}

static void record(tn_oncall_t *o, tn_event_t *ev)
{
    if (o->d.history)
        tn_history_append(o->d.history, ev);
    /* Every replica sees alerts change and flushes muted, so only the rest is news to peers. */
    bool own = ev->kind != TN_EV_ALERT_FIRING && ev->kind != TN_EV_ALERT_RESOLVED &&
               ev->kind != TN_EV_ALERT_CHANGED &&
               !(ev->kind == TN_EV_NOTIFICATION && ev->outcome && !strcmp(ev->outcome, "muted"));
    if (own && o->d.share)
        o->d.share(o->d.ud, ev);
}

static bool annotations_same(const tn_alert_t *a, const tn_alert_t *b)
{
    if (a->nannotations != b->nannotations)
        return false;
    /* Interned: equal strings are equal pointers. */
    for (size_t i = 0; i < a->nannotations; i++)
        if (a->annotations[i].name != b->annotations[i].name ||
            a->annotations[i].value != b->annotations[i].value)
            return false;
    return true;
}

static alert_stat_t *stat_get(tn_oncall_t *o, uint64_t fp, bool create)
{
    char key[17];
    tn_fingerprint_format(fp, key);
    alert_stat_t *s = tn_strtab_get(&o->stats, key);
    if (!s && create) {
        s = tn_xcalloc(1, sizeof(*s));
        memcpy(s->key, key, sizeof(key));
        s->fp = fp;
        tn_strtab_put(&o->stats, s);
    }
    return s;
}

void tn_oncall_on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    tn_oncall_t *o = ud;
    if (!alert)
        return;
    tn_time_t now = tn_clock_now();
    bool fires = !tn_alert_resolved_at(alert, now);
    bool was = old && !tn_alert_resolved_at(old, now);
    enum tn_event_kind kind;
    if (fires && (!was || old->starts_at != alert->starts_at)) {
        kind = TN_EV_ALERT_FIRING;
        alert_stat_t *s = stat_get(o, alert->fp, false);
        if (s && s->starts_at != alert->starts_at) {
            s->step = 0;
            s->starts_at = alert->starts_at;
        }
    } else if (!fires && was) {
        kind = TN_EV_ALERT_RESOLVED;
        /* the ack ends for it, so a later firing is not acked */
        if (o->d.acks)
            tn_acks_end_alert(o->d.acks, old->fp);
    } else if (fires && !annotations_same(alert, old)) {
        kind = TN_EV_ALERT_CHANGED;
    } else {
        return;
    }
    if (!o->d.history)
        return;
    tn_event_alert_t ea = {alert->fp, tn_alert_labels(alert), !fires};
    tn_event_t ev = {.kind = kind, .time = now, .alerts = &ea, .nalerts = 1};
    record(o, &ev);
}

void tn_oncall_on_silence(void *ud, const tn_silence_t *s, const char *what)
{
    tn_oncall_t *o = ud;
    if (!s || !o->d.history)
        return;
    enum tn_event_kind kind = what[0] == 'c'   ? TN_EV_SILENCE_CREATED
                              : what[0] == 'u' ? TN_EV_SILENCE_UPDATED
                                               : TN_EV_SILENCE_EXPIRED;
    tn_buf_t m, extra;
    tn_buf_init(&m, 0);
    tn_buf_init(&extra, 0);
    tn_matchers_format(&m, &s->matchers);
    tn_buf_puts(&extra, "\"matchers\":");
    tn_json_go_string(&extra, m.data ? m.data : "", m.len);
    tn_buf_puts(&extra, ",\"startsAt\":");
    j_time(&extra, s->starts_at);
    tn_buf_puts(&extra, ",\"endsAt\":");
    j_time(&extra, s->ends_at);
    tn_buf_cstr(&extra);
    tn_event_t ev = {.kind = kind,
                     .time = tn_clock_now(),
                     .by = s->created_by,
                     .comment = s->comment,
                     .ref = s->id,
                     .extra_json = extra.data};
    record(o, &ev);
    tn_buf_free(&m);
    tn_buf_free(&extra);
}

void tn_oncall_on_notify(void *ud, const tn_notify_event_t *ev)
{
    tn_oncall_t *o = ud;
    const tn_notification_t *n = ev->n;
    bool sent = strcmp(ev->outcome, "sent") == 0;
    bool failed = strcmp(ev->outcome, "failed") == 0;
    if (sent && ev->step > 0) {
        char step[16];
        snprintf(step, sizeof(step), "%d", ev->step);
        tn_metric_add(tn_metric_with(o->m_escalations, step, NULL), 1);
    }
    tn_time_t now = tn_clock_now();
    tn_event_alert_t *ea = tn_xmalloc((n->nalerts ? n->nalerts : 1) * sizeof(*ea));
    for (size_t i = 0; i < n->nalerts; i++) {
        const tn_alert_t *a = n->alerts[i].alert;
        ea[i] = (tn_event_alert_t){a->fp, tn_alert_labels(a), n->alerts[i].resolved};
        if (strcmp(ev->outcome, "muted") == 0 || !tn_alert_store_get(o->d.alerts, a->fp))
            continue;
        alert_stat_t *s = stat_get(o, a->fp, true);
        if (s->starts_at != a->starts_at) {
            s->starts_at = a->starts_at;
            s->step = 0;
        }
        s->notifications += sent;
        s->failures += failed;
        if (sent && ev->step > s->step && !n->alerts[i].resolved)
            s->step = ev->step;
        s->last_at = now;
        if (s->last_receiver)
            tn_intern_unref(s->last_receiver);
        s->last_receiver = tn_intern_cstr(n->receiver);
        s->last_integration = ev->integration;
        s->last_outcome = ev->outcome;
    }
    if (o->d.history) {
        char integ[64];
        if (ev->integration)
            integration_label(integ, sizeof(integ), ev->integration, ev->idx);
        tn_event_t hev = {
            .kind = TN_EV_NOTIFICATION,
            .time = now,
            .group_key = n->group_key,
            .receiver = n->receiver,
            .integration = ev->integration ? integ : NULL,
            .reason = ev->reason,
            .outcome = ev->outcome,
            .error = ev->error,
            .attempts = (int)ev->attempts,
            .latency_ms = (int64_t)ev->latency_ms,
            .step = ev->step,
            .alerts = ea,
            .nalerts = n->nalerts,
        };
        record(o, &hev);
    }
    free(ea);
}

bool tn_oncall_resolved_by_hand(void *ud, const tn_alert_t *a)
{
    tn_oncall_t *o = ud;
    if (!o->hand.count)
        return false;
    char key[17];
    tn_fingerprint_format(a->fp, key);
    const hand_resolved_t *h = tn_strtab_get(&o->hand, key);
    return h && h->ends_at == a->ends_at;
}

bool tn_oncall_acked(void *ud, const tn_alert_t *a, tn_time_t now)
{
    tn_oncall_t *o = ud;
    return tn_acks_of(o->d.acks, a, now) != NULL;
}

void tn_oncall_maintain(tn_oncall_t *o, tn_time_t now)
{
    tn_acks_gc(o->d.acks, o->d.alerts, now);
    for (size_t i = 0; i < o->stats.cap;) {
        alert_stat_t *s = o->stats.v[i];
        if (s && !tn_alert_store_get(o->d.alerts, s->fp)) {
            tn_strtab_del(&o->stats, s->key);
            stat_free(s);
            continue; /* a later entry may have moved here */
        }
        i++;
    }
    for (size_t i = 0; i < o->hand.cap;) {
        hand_resolved_t *h = o->hand.v[i];
        /* kept only while the resolved version can still be in a flush */
        if (h &&
            (now - h->ends_at > HAND_RESOLVED_KEEP || !tn_alert_store_get(o->d.alerts, h->fp))) {
            tn_strtab_del(&o->hand, h->key);
            free(h);
            continue;
        }
        i++;
    }
}

/* ---- selecting alerts: by fingerprints or by matchers ---- */

typedef struct selection {
    tn_alert_t **v;
    size_t n, cap;
} selection_t;

static void sel_push(selection_t *s, tn_alert_t *a)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = tn_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = a;
}

typedef struct sel_scan {
    selection_t *sel;
    const tn_matchers_t *ms;
    tn_time_t now;
    bool too_many;
} sel_scan_t;

static bool sel_visit(void *ud, tn_alert_t *a)
{
    sel_scan_t *x = ud;
    if (tn_alert_resolved_at(a, x->now) || !tn_matchers_match(x->ms, tn_alert_labels(a)))
        return true;
    if (x->sel->n >= TN_ACK_MAX_ALERTS) {
        x->too_many = true;
        return false;
    }
    sel_push(x->sel, a);
    return true;
}

static int parse_fp(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 16)
        return TN_ERR_INVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = tn_hexval((unsigned char)s[i]);
        if (h < 0)
            return TN_ERR_INVAL;
        v = v << 4 | (uint64_t)h;
    }
    *out = v;
    return TN_OK;
}

static int cmp_fp(const void *a, const void *b)
{
    uint64_t x = (*(tn_alert_t *const *)a)->fp, y = (*(tn_alert_t *const *)b)->fp;
    return x < y ? -1 : x > y;
}

/* Reads "fingerprints" or "filter" from a request body into sel (firing alerts only, sorted
 * by fingerprint, each once). Writes a message naming the field on failure. */
static int select_alerts(tn_oncall_t *o, json_t *root, tn_time_t now, selection_t *sel, char *err,
                         size_t errlen)
{
    json_t *fps = json_object_get(root, "fingerprints");
    json_t *filter = json_object_get(root, "filter");
    if (fps && json_is_null(fps))
        fps = NULL;
    if (filter && json_is_null(filter))
        filter = NULL;
    if (!fps && !filter) {
        snprintf(err, errlen, "fingerprints or filter: one of them is required");
        return TN_ERR_INVAL;
    }
    if (fps && filter) {
        snprintf(err, errlen, "fingerprints and filter: give one of them, not both");
        return TN_ERR_INVAL;
    }
    if (fps) {
        if (!json_is_array(fps)) {
            snprintf(err, errlen, "fingerprints: expected an array of strings");
            return TN_ERR_INVAL;
        }
        size_t n = json_array_size(fps);
        if (n == 0 || n > TN_ACK_MAX_ALERTS) {
            snprintf(err, errlen, "fingerprints: expected 1 to %d entries, got %zu",
                     TN_ACK_MAX_ALERTS, n);
            return TN_ERR_INVAL;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(fps, i);
            uint64_t fp;
            if (!json_is_string(v) || parse_fp(json_string_value(v), &fp) != TN_OK) {
                snprintf(err, errlen, "fingerprints[%zu]: not a fingerprint (16 hex digits)", i);
                return TN_ERR_INVAL;
            }
            tn_alert_t *a = tn_alert_store_get(o->d.alerts, fp);
            if (!a) {
                snprintf(err, errlen, "fingerprints[%zu]: no alert %016llx", i,
                         (unsigned long long)fp);
                return TN_ERR_NOTFOUND;
            }
            if (!tn_alert_resolved_at(a, now))
                sel_push(sel, a);
        }
    } else {
        if (!json_is_array(filter)) {
            snprintf(err, errlen, "filter: expected an array of matchers");
            return TN_ERR_INVAL;
        }
        size_t n = json_array_size(filter);
        if (n == 0 || n > ONCALL_MAX_FILTERS) {
            snprintf(err, errlen, "filter: expected 1 to %d matchers, got %zu", ONCALL_MAX_FILTERS,
                     n);
            return TN_ERR_INVAL;
        }
        tn_matchers_t ms = {0};
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(filter, i);
            char perr[TN_ERRBUF_SIZE];
            if (!json_is_string(v) || json_string_length(v) > ONCALL_MAX_FILTER_LEN) {
                snprintf(err, errlen, "filter[%zu]: expected a matcher of at most %d bytes", i,
                         ONCALL_MAX_FILTER_LEN);
                tn_matchers_free(&ms);
                return TN_ERR_INVAL;
            }
            if (tn_matchers_parse(json_string_value(v), &ms, perr, sizeof(perr)) != TN_OK) {
                snprintf(err, errlen, "filter[%zu]: %s", i, perr);
                tn_matchers_free(&ms);
                return TN_ERR_INVAL;
            }
        }
        sel_scan_t x = {sel, &ms, now, false};
        tn_alert_store_foreach(o->d.alerts, sel_visit, &x);
        tn_matchers_free(&ms);
        if (x.too_many) {
            snprintf(err, errlen, "filter: selects more than %d alerts; narrow it",
                     TN_ACK_MAX_ALERTS);
            return TN_ERR_INVAL;
        }
    }
    if (sel->n)
        qsort(sel->v, sel->n, sizeof(*sel->v), cmp_fp);
    size_t k = 0;
    for (size_t i = 0; i < sel->n; i++)
        if (!k || sel->v[k - 1] != sel->v[i])
            sel->v[k++] = sel->v[i];
    sel->n = k;
    if (!sel->n) {
        snprintf(err, errlen, "%s: no firing alert selected", fps ? "fingerprints" : "filter");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

/* "by" (required) and "comment" (optional), within their caps. */
static int read_who(json_t *root, const char **by, const char **comment, char *err, size_t errlen)
{
    json_t *b = json_object_get(root, "by"), *c = json_object_get(root, "comment");
    if (!json_is_string(b) || json_string_length(b) == 0) {
        snprintf(err, errlen, "by: required, the name of who does this");
        return TN_ERR_INVAL;
    }
    if (json_string_length(b) > TN_ACK_MAX_BY) {
        snprintf(err, errlen, "by: at most %d bytes", TN_ACK_MAX_BY);
        return TN_ERR_INVAL;
    }
    if (c && !json_is_null(c) && !json_is_string(c)) {
        snprintf(err, errlen, "comment: expected a string");
        return TN_ERR_INVAL;
    }
    if (json_is_string(c) && json_string_length(c) > TN_ACK_MAX_COMMENT) {
        snprintf(err, errlen, "comment: at most %d bytes", TN_ACK_MAX_COMMENT);
        return TN_ERR_INVAL;
    }
    *by = json_string_value(b);
    *comment = json_is_string(c) ? json_string_value(c) : "";
    return TN_OK;
}

static json_t *read_body(tn_http_req_t *req)
{
    size_t len;
    const char *body = tn_http_req_body(req, &len);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fail(req, 400, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(req, 400, "expected a JSON object");
        return NULL;
    }
    return root;
}

/* Answers once the change is durable (as silences are), or 500 when it could not be. */
typedef struct durable {
    tn_http_req_t *req;
    tn_buf_t body;
} durable_t;

static void on_durable(void *ud, int rc)
{
    durable_t *w = ud;
    if (rc != TN_OK) {
        tn_buf_free(&w->body);
        tn_http_respond_error(w->req, 500, "failed to persist the change");
    } else {
        reply(w->req, 200, &w->body);
    }
    free(w);
}

static void reply_durable(tn_oncall_t *o, tn_http_req_t *req, tn_buf_t *b)
{
    if (!o->d.sync) {
        reply(req, 200, b);
        return;
    }
    durable_t *w = tn_xmalloc(sizeof(*w));
    w->req = req;
    w->body = *b;
    o->d.sync(o->d.ud, on_durable, w);
}

/* ---- /acks ---- */

static void acks_post(tn_oncall_t *o, tn_http_req_t *req)
{
    json_t *root = read_body(req);
    if (!root)
        return;
    char err[TN_ERRBUF_SIZE + 64];
    const char *by, *comment;
    tn_time_t now = tn_clock_now(), expires = 0;
    selection_t sel = {0};
    json_t *ex = json_object_get(root, "expiresAt");
    int rc = read_who(root, &by, &comment, err, sizeof(err));
    if (rc == TN_OK && ex && !json_is_null(ex)) {
        if (!json_is_string(ex) ||
            tn_time_parse_rfc3339(json_string_value(ex), json_string_length(ex), &expires) !=
                TN_OK) {
            snprintf(err, sizeof(err), "expiresAt: expected an RFC 3339 time");
            rc = TN_ERR_INVAL;
        } else if (expires <= now) {
            snprintf(err, sizeof(err), "expiresAt: must be in the future");
            rc = TN_ERR_INVAL;
        }
    }
    if (rc == TN_OK)
        rc = select_alerts(o, root, now, &sel, err, sizeof(err));
    const tn_ack_t *ack = NULL;
    if (rc == TN_OK)
        rc =
            tn_acks_add(o->d.acks, by, comment, expires, sel.v, sel.n, now, &ack, err, sizeof(err));
    if (rc != TN_OK) {
        fail(req, rc == TN_ERR_NOTFOUND ? 404 : 400, "%s", err);
        free(sel.v);
        json_decref(root);
        return;
    }
    tn_metric_add(o->m_acks, 1);
    char exj[64] = "";
    if (expires) {
        char ts[40];
        tn_time_format_rfc3339milli(expires, ts);
        snprintf(exj, sizeof(exj), "\"expiresAt\":\"%s\"", ts);
    }
    tn_event_alert_t *ea = event_alerts(sel.v, sel.n, now);
    tn_event_t ev = {.kind = TN_EV_ACK,
                     .time = now,
                     .by = ack->by,
                     .comment = ack->comment,
                     .ref = ack->id,
                     .extra_json = exj[0] ? exj : NULL,
                     .alerts = ea,
                     .nalerts = sel.n};
    record(o, &ev);
    free(ea);
    if (o->d.ack_made)
        o->d.ack_made(o->d.ud, ack);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    j_ack(&b, ack);
    reply_durable(o, req, &b);
    free(sel.v);
    json_decref(root);
}

static bool ack_list_one(void *ud, const tn_ack_t *a)
{
    tn_buf_t *b = ud;
    if (b->data[b->len - 1] != '[')
        tn_buf_putc(b, ',');
    j_ack(b, a);
    return true;
}

static void acks_get(tn_oncall_t *o, tn_http_req_t *req)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_putc(&b, '[');
    tn_acks_foreach(o->d.acks, ack_list_one, &b);
    tn_buf_putc(&b, ']');
    reply(req, 200, &b);
}

typedef struct unack_ctx {
    tn_oncall_t *o;
    const char *by, *comment;
} unack_ctx_t;

static void on_unacked(void *ud, const tn_ack_t *ack)
{
    unack_ctx_t *x = ud;
    tn_time_t now = tn_clock_now();
    tn_alert_t **v = tn_xmalloc((ack->ntargets ? ack->ntargets : 1) * sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < ack->ntargets; i++) {
        tn_alert_t *a = tn_alert_store_get(x->o->d.alerts, ack->targets[i].fp);
        if (a)
            v[n++] = a;
    }
    tn_event_alert_t *ea = event_alerts(v, n, now);
    tn_event_t ev = {.kind = TN_EV_UNACK,
                     .time = now,
                     .by = x->by,
                     .comment = x->comment,
                     .ref = ack->id,
                     .alerts = ea,
                     .nalerts = n};
    record(x->o, &ev);
    free(ea);
    free(v);
}

static void acks_delete(tn_oncall_t *o, tn_http_req_t *req, const char *id)
{
    const char *by = NULL, *comment = NULL;
    tn_http_req_query_values(req, "by", &by, 1);
    tn_http_req_query_values(req, "comment", &comment, 1);
    if (by && strlen(by) > TN_ACK_MAX_BY) {
        fail(req, 400, "by: at most %d bytes", TN_ACK_MAX_BY);
        return;
    }
    if (comment && strlen(comment) > TN_ACK_MAX_COMMENT) {
        fail(req, 400, "comment: at most %d bytes", TN_ACK_MAX_COMMENT);
        return;
    }
    unack_ctx_t x = {o, by, comment};
    if (tn_acks_delete(o->d.acks, id, on_unacked, &x) != TN_OK) {
        fail(req, 404, "no ack %.64s", id);
        return;
    }
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "{\"id\":");
    j_str(&b, id);
    tn_buf_puts(&b, ",\"deleted\":true}");
    reply_durable(o, req, &b);
}

/* ---- /resolves ---- */

static void silence_for(tn_oncall_t *o, const tn_alert_t *a, const char *by, const char *comment,
                        tn_time_t now, tn_duration_t d, char id[37], char *err, size_t errlen)
{
    tn_silence_t s = {0};
    tn_labels_t ls = tn_alert_labels(a);
    s.matchers.v = tn_xcalloc(ls.n + 1, sizeof(*s.matchers.v));
    for (size_t i = 0; i < ls.n; i++)
        if (tn_matcher_init(&s.matchers.v[s.matchers.n], TN_MATCH_EQ, ls.v[i].name, ls.v[i].value,
                            err, errlen) == TN_OK)
            s.matchers.n++;
    s.starts_at = now;
    s.ends_at = now + d;
    s.created_by = tn_xstrdup(by);
    s.comment = tn_xstrdup(comment && comment[0] ? comment : "resolved by hand");
    id[0] = 0;
    if (tn_silences_set(o->d.silences, &s, now, id, err, errlen) != TN_OK)
        id[0] = 0;
    else
        tn_oncall_on_silence(o, tn_silences_get(o->d.silences, id), "created");
    tn_silence_clear(&s);
}

static void resolves_post(tn_oncall_t *o, tn_http_req_t *req)
{
    json_t *root = read_body(req);
    if (!root)
        return;
    char err[TN_ERRBUF_SIZE + 64];
    const char *by, *comment;
    tn_time_t now = tn_clock_now();
    tn_duration_t hold = 0;
    selection_t sel = {0};
    int rc = read_who(root, &by, &comment, err, sizeof(err));
    json_t *sf = json_object_get(root, "silenceFor");
    if (rc == TN_OK && sf && !json_is_null(sf)) {
        char derr[TN_ERRBUF_SIZE];
        if (!json_is_string(sf) ||
            tn_duration_parse(json_string_value(sf), &hold, derr, sizeof(derr)) != TN_OK ||
            hold <= 0) {
            snprintf(err, sizeof(err), "silenceFor: expected a positive duration such as 2h");
            rc = TN_ERR_INVAL;
        } else if (!o->d.silences) {
            snprintf(err, sizeof(err), "silenceFor: silences are not available");
            rc = TN_ERR_INVAL;
        }
    }
    if (rc == TN_OK)
        rc = select_alerts(o, root, now, &sel, err, sizeof(err));
    if (rc != TN_OK) {
        fail(req, rc == TN_ERR_NOTFOUND ? 404 : 400, "%s", err);
        free(sel.v);
        json_decref(root);
        return;
    }
    tn_buf_t b, extra;
    tn_buf_init(&b, 0);
    tn_buf_init(&extra, 0);
    tn_buf_puts(&b, "{\"fingerprints\":[");
    tn_buf_puts(&extra, "\"silenceIDs\":[");
    /* The versions that end now; the selection keeps references for the history. */
    tn_alert_t **done = tn_xmalloc(sel.n * sizeof(*done));
    size_t ndone = 0, nsil = 0;
    for (size_t i = 0; i < sel.n; i++) {
        tn_alert_t *a = tn_alert_clone(sel.v[i]);
        a->ends_at = now;
        a->updated_at = now;
        a->timeout = false;
        tn_alert_ref(a);
        if (tn_alert_store_put(o->d.alerts, a) != TN_OK) {
            tn_alert_unref(a);
            continue;
        }
        done[ndone++] = a;
        /* Past the cap a resolve still works; its resolved notification may then be silenced. */
        if (o->hand.count < HAND_RESOLVED_MAX) {
            hand_resolved_t *h = tn_xmalloc(sizeof(*h));
            tn_fingerprint_format(a->fp, h->key);
            h->fp = a->fp;
            h->ends_at = now;
            hand_resolved_t *old = tn_strtab_get(&o->hand, h->key);
            tn_strtab_put(&o->hand, h);
            free(old);
        }
        if (ndone > 1)
            tn_buf_putc(&b, ',');
        j_fp(&b, a->fp);
        if (hold) {
            char id[37];
            silence_for(o, a, by, comment, now, hold, id, err, sizeof(err));
            if (id[0]) {
                if (nsil++)
                    tn_buf_putc(&extra, ',');
                j_str(&extra, id);
            } else {
                tn_log(TN_LOG_WARN, "Could not silence an alert resolved by hand", "err", err,
                       NULL);
            }
        }
    }
    tn_buf_puts(&b, "]");
    tn_buf_putc(&extra, ']');
    if (hold) {
        tn_buf_puts(&b, ",\"silenceIDs\":");
        tn_buf_append(&b, extra.data + 13, extra.len - 13);
        char d[32];
        tn_duration_format(hold, d);
        tn_buf_printf(&extra, ",\"silenceFor\":\"%s\"", d);
    }
    tn_buf_puts(&b, "}");
    tn_buf_cstr(&extra);
    if (ndone && o->d.alerts_stored)
        o->d.alerts_stored(o->d.ud, ndone);
    tn_event_alert_t *ea = event_alerts(done, ndone, now);
    tn_event_t ev = {.kind = TN_EV_RESOLVE,
                     .time = now,
                     .by = by,
                     .comment = comment,
                     .extra_json = hold ? extra.data : NULL,
                     .alerts = ea,
                     .nalerts = ndone};
    record(o, &ev);
    free(ea);
    for (size_t i = 0; i < ndone; i++)
        tn_alert_unref(done[i]);
    free(done);
    tn_buf_free(&extra);
    reply_durable(o, req, &b);
    free(sel.v);
    json_decref(root);
}

/* ---- GET /alerts: the on-call view ---- */

enum view_state { VS_ACTIVE, VS_ACKED, VS_SILENCED, VS_INHIBITED, VS_RESOLVED, VS__N };
static const char *const view_state_names[VS__N] = {"active", "acknowledged", "silenced",
                                                    "inhibited", "resolved"};

typedef struct view_item {
    tn_alert_t *a;
    enum view_state st;
    int sev;
    const tn_ack_t *ack;
    const tn_silence_t *sil;
    uint64_t inhibited_by;
} view_item_t;

typedef struct view_query {
    tn_oncall_t *o;
    tn_time_t now;
    tn_matchers_t filter;
    const char *severity;
    unsigned states; /* bits of view_state; 0 = all but resolved */
    const char *receiver;
    const char *q;
    view_item_t *v;
    size_t n, cap;
} view_query_t;

static int severity_rank(const char *s)
{
    static const char *const order[] = {"critical", "page",   "error", "high",
                                        "warning",  "medium", "info",  "low"};
    if (!s)
        return 99;
    for (size_t i = 0; i < TN_ARRAY_LEN(order); i++)
        if (strcasecmp(s, order[i]) == 0)
            return (int)i;
    return 50;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool text_match(const tn_alert_t *a, const char *q)
{
    for (size_t i = 0; i < a->nlabels; i++)
        if (contains_ci(a->labels[i].value, q))
            return true;
    for (size_t i = 0; i < a->nannotations; i++)
        if (contains_ci(a->annotations[i].value, q))
            return true;
    return false;
}

static bool view_visit(void *ud, tn_alert_t *a)
{
    view_query_t *x = ud;
    tn_oncall_t *o = x->o;
    tn_labels_t ls = tn_alert_labels(a);
    if (x->filter.n && !tn_matchers_match(&x->filter, ls))
        return true;
    const char *sev = tn_labels_get(ls, "severity");
    if (x->severity && (!sev || strcmp(sev, x->severity) != 0))
        return true;
    if (x->q && !text_match(a, x->q))
        return true;
    if (x->receiver && o->d.alert_receivers) {
        const char *rs[ONCALL_MAX_RECEIVERS];
        size_t n = o->d.alert_receivers(o->d.ud, a, rs, ONCALL_MAX_RECEIVERS);
        bool found = false;
        for (size_t i = 0; i < n && i < ONCALL_MAX_RECEIVERS && !found; i++)
            found = strcmp(rs[i], x->receiver) == 0;
        if (!found)
            return true;
    }
    view_item_t it = {.a = a, .sev = severity_rank(sev)};
    if (tn_alert_resolved_at(a, x->now)) {
        it.st = VS_RESOLVED;
    } else if (o->d.silences && tn_silences_mutes(o->d.silences, ls, x->now, &it.sil, 1) > 0) {
        it.st = VS_SILENCED;
    } else if (o->d.inhibitor &&
               tn_inhibitor_mutes(o->d.inhibitor, ls, a->fp, x->now, &it.inhibited_by, 1) > 0) {
        it.st = VS_INHIBITED;
    } else if ((it.ack = tn_acks_of(o->d.acks, a, x->now))) {
        it.st = VS_ACKED;
    } else {
        it.st = VS_ACTIVE;
    }
    if (it.st != VS_ACKED)
        it.ack = tn_acks_of(o->d.acks, a, x->now);
    unsigned want = x->states ? x->states : ~(1u << VS_RESOLVED);
    if (!(want & (1u << it.st)))
        return true;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 256;
        x->v = tn_xrealloc(x->v, x->cap * sizeof(*x->v));
    }
    x->v[x->n++] = it;
    return true;
}

/* Most severe first, then the newest, then by fingerprint: a stable order for paging. */
static int view_cmp(const void *pa, const void *pb)
{
    const view_item_t *a = pa, *b = pb;
    if (a->sev != b->sev)
        return a->sev < b->sev ? -1 : 1;
    if (a->a->starts_at != b->a->starts_at)
        return a->a->starts_at > b->a->starts_at ? -1 : 1;
    return a->a->fp < b->a->fp ? -1 : a->a->fp > b->a->fp;
}

static void view_write(tn_oncall_t *o, tn_buf_t *b, const view_item_t *it)
{
    const tn_alert_t *a = it->a;
    tn_buf_puts(b, "{\"fingerprint\":");
    j_fp(b, a->fp);
    tn_buf_puts(b, ",\"status\":\"");
    tn_buf_puts(b, view_state_names[it->st]);
    tn_buf_puts(b, "\",\"labels\":");
    api_encode_labels(b, tn_alert_labels(a));
    tn_buf_puts(b, ",\"annotations\":");
    api_encode_labels(b, tn_alert_annotations(a));
    tn_buf_puts(b, ",\"startsAt\":");
    j_time(b, a->starts_at);
    tn_buf_puts(b, ",\"endsAt\":");
    j_time(b, a->ends_at);
    tn_buf_puts(b, ",\"updatedAt\":");
    j_time(b, a->updated_at);
    tn_buf_puts(b, ",\"generatorURL\":");
    j_str(b, a->generator_url);
    tn_buf_puts(b, ",\"receivers\":[");
    if (o->d.alert_receivers) {
        const char *rs[ONCALL_MAX_RECEIVERS];
        size_t n = o->d.alert_receivers(o->d.ud, a, rs, ONCALL_MAX_RECEIVERS);
        size_t w = 0;
        for (size_t i = 0; i < n && i < ONCALL_MAX_RECEIVERS; i++) {
            bool dup = false;
            for (size_t k = 0; k < i && !dup; k++)
                dup = strcmp(rs[k], rs[i]) == 0;
            if (dup)
                continue;
            if (w++)
                tn_buf_putc(b, ',');
            j_str(b, rs[i]);
        }
    }
    tn_buf_puts(b, "],\"silencedBy\":[");
    if (it->sil)
        j_str(b, it->sil->id);
    tn_buf_puts(b, "],\"inhibitedBy\":[");
    if (it->st == VS_INHIBITED)
        j_fp(b, it->inhibited_by);
    tn_buf_puts(b, "],\"ack\":");
    if (it->ack) {
        tn_buf_puts(b, "{\"id\":");
        j_str(b, it->ack->id);
        tn_buf_puts(b, ",\"by\":");
        j_str(b, it->ack->by);
        tn_buf_puts(b, ",\"comment\":");
        j_str(b, it->ack->comment);
        tn_buf_puts(b, ",\"at\":");
        j_time(b, it->ack->created_at);
        if (it->ack->expires_at) {
            tn_buf_puts(b, ",\"expiresAt\":");
            j_time(b, it->ack->expires_at);
        }
        tn_buf_putc(b, '}');
    } else {
        tn_buf_puts(b, "null");
    }
    alert_stat_t *s = stat_get(o, a->fp, false);
    if (s && s->starts_at != a->starts_at)
        s = NULL;
    tn_buf_printf(b, ",\"escalationStep\":%d,\"notifications\":%u,\"failures\":%u", s ? s->step : 0,
                  s ? s->notifications : 0, s ? s->failures : 0);
    tn_buf_puts(b, ",\"lastNotification\":");
    if (s && s->last_at) {
        tn_buf_puts(b, "{\"at\":");
        j_time(b, s->last_at);
        tn_buf_puts(b, ",\"receiver\":");
        j_str(b, s->last_receiver);
        tn_buf_puts(b, ",\"integration\":");
        j_str(b, s->last_integration);
        tn_buf_puts(b, ",\"outcome\":");
        j_str(b, s->last_outcome);
        tn_buf_putc(b, '}');
    } else {
        tn_buf_puts(b, "null");
    }
    tn_buf_putc(b, '}');
}

static bool parse_count(const char *s, size_t max, size_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || s[0] == '-' || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

/* Every `filter` parameter as matchers; false after answering 400. */
static bool read_filters(tn_http_req_t *req, tn_matchers_t *ms)
{
    const char *fs[ONCALL_MAX_FILTERS + 1];
    size_t nf = tn_http_req_query_values(req, "filter", fs, ONCALL_MAX_FILTERS + 1);
    if (nf > ONCALL_MAX_FILTERS) {
        fail(req, 400, "filter: at most %d parameters", ONCALL_MAX_FILTERS);
        return false;
    }
    for (size_t i = 0; i < nf; i++) {
        char err[TN_ERRBUF_SIZE];
        if (strlen(fs[i]) > ONCALL_MAX_FILTER_LEN) {
            fail(req, 400, "filter: at most %d bytes each", ONCALL_MAX_FILTER_LEN);
            tn_matchers_free(ms);
            return false;
        }
        if (tn_matchers_parse(fs[i], ms, err, sizeof(err)) != TN_OK) {
            fail(req, 400, "filter: %s", err);
            tn_matchers_free(ms);
            return false;
        }
    }
    return true;
}

static void alerts_get(tn_oncall_t *o, tn_http_req_t *req)
{
    view_query_t x = {.o = o, .now = tn_clock_now()};
    const char *vals[16];
    size_t limit = 100, offset = 0;
    const char *lim = NULL, *off = NULL;
    tn_http_req_query_values(req, "limit", &lim, 1);
    tn_http_req_query_values(req, "offset", &off, 1);
    if (lim && !parse_count(lim, ONCALL_VIEW_MAX_LIMIT, &limit)) {
        fail(req, 400, "limit: expected 0 to %d", ONCALL_VIEW_MAX_LIMIT);
        return;
    }
    if (off && !parse_count(off, SIZE_MAX / 2, &offset)) {
        fail(req, 400, "offset: expected a count");
        return;
    }
    size_t ns = tn_http_req_query_values(req, "status", vals, 16);
    for (size_t i = 0; i < ns && i < 16; i++) {
        /* comma-separated or repeated */
        const char *p = vals[i];
        while (*p) {
            size_t len = strcspn(p, ",");
            int found = -1;
            for (int k = 0; k < VS__N; k++)
                if (strlen(view_state_names[k]) == len && strncmp(p, view_state_names[k], len) == 0)
                    found = k;
            if (found < 0) {
                fail(req, 400,
                     "status: unknown state \"%.*s\" (active, acknowledged, silenced, "
                     "inhibited, resolved)",
                     (int)TN_MIN(len, 64), p);
                return;
            }
            x.states |= 1u << found;
            p += len;
            if (*p == ',')
                p++;
        }
    }
    tn_http_req_query_values(req, "severity", &x.severity, 1);
    tn_http_req_query_values(req, "receiver", &x.receiver, 1);
    tn_http_req_query_values(req, "q", &x.q, 1);
    if (x.q && strlen(x.q) > ONCALL_MAX_Q) {
        fail(req, 400, "q: at most %d bytes", ONCALL_MAX_Q);
        return;
    }
    if (x.q && !x.q[0])
        x.q = NULL;
    if (!read_filters(req, &x.filter))
        return;
    tn_alert_store_foreach(o->d.alerts, view_visit, &x);
    if (x.n)
        qsort(x.v, x.n, sizeof(*x.v), view_cmp);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_printf(&b, "{\"total_count\":%zu,\"offset\":%zu,\"limit\":%zu,\"alerts\":[", x.n, offset,
                  limit);
    for (size_t i = offset, w = 0; i < x.n && w < limit; i++, w++) {
        if (w)
            tn_buf_putc(&b, ',');
        view_write(o, &b, &x.v[i]);
    }
    tn_buf_puts(&b, "]}");
    free(x.v);
    tn_matchers_free(&x.filter);
    reply(req, 200, &b);
}

/* ---- history ---- */

static void on_history(void *ud, int rc, char *body, size_t len)
{
    tn_http_req_t *req = ud;
    if (rc == TN_OK) {
        tn_http_respond_owned(req, 200, "application/json", body, len);
        return;
    }
    tn_http_respond_error(req, rc == TN_ERR_LIMIT ? 503 : 500, body ? body : "history failed");
    free(body);
}

typedef struct history_wait {
    tn_history_t *h;
    tn_http_req_t *req;
    tn_history_query_t q;
} history_wait_t;

static void on_history_synced(void *ud, int rc)
{
    history_wait_t *w = ud;
    /* A failed write is retried by the history; the query answers with what is there. */
    (void)rc;
    tn_history_query(w->h, &w->q, on_history, w->req);
    free(w);
}

static bool read_time(tn_http_req_t *req, const char *name, tn_time_t *out)
{
    const char *v = NULL;
    tn_http_req_query_values(req, name, &v, 1);
    if (!v || !*v)
        return true;
    if (tn_time_parse_rfc3339(v, strlen(v), out) != TN_OK) {
        fail(req, 400, "%s: expected an RFC 3339 time such as 2026-01-02T15:04:05Z", name);
        return false;
    }
    return true;
}

static void history_get(tn_oncall_t *o, tn_http_req_t *req, bool one, uint64_t fp)
{
    if (!o->d.history) {
        fail(req, 503, "history is not available");
        return;
    }
    tn_history_query_t q = {0};
    const char *v = NULL;
    if (!read_time(req, "since", &q.since) || !read_time(req, "until", &q.until))
        return;
    tn_http_req_query_values(req, "limit", &v, 1);
    if (v && !parse_count(v, 1000, &q.limit)) {
        fail(req, 400, "limit: expected 1 to 1000");
        return;
    }
    v = NULL;
    tn_http_req_query_values(req, "cursor", &v, 1);
    if (v && *v) {
        size_t c;
        if (!parse_count(v, SIZE_MAX, &c)) {
            fail(req, 400, "cursor: expected the nextCursor of an earlier answer");
            return;
        }
        if (one)
            q.after = c;
        else
            q.before = c;
    }
    const char *kinds[TN_EV__COUNT + 1];
    size_t nk = tn_http_req_query_values(req, "kind", kinds, TN_EV__COUNT + 1);
    for (size_t i = 0; i < nk && i <= TN_EV__COUNT; i++) {
        const char *p = kinds[i];
        while (*p) {
            size_t len = strcspn(p, ",");
            char name[32];
            enum tn_event_kind k;
            snprintf(name, sizeof(name), "%.*s", (int)TN_MIN(len, sizeof(name) - 1), p);
            if (len >= sizeof(name) || tn_event_kind_parse(name, &k) != TN_OK) {
                fail(req, 400,
                     "kind: unknown kind \"%s\" (notification, ack, unack, resolve, "
                     "silence_created, silence_updated, silence_expired, alert_firing, "
                     "alert_resolved, alert_changed)",
                     name);
                return;
            }
            q.kinds |= 1u << k;
            p += len;
            if (*p == ',')
                p++;
        }
    }
    v = NULL;
    tn_http_req_query_values(req, "receiver", &v, 1);
    if (v && *v) {
        if (strlen(v) > ONCALL_MAX_FILTER_LEN) {
            fail(req, 400, "receiver: at most %d bytes", ONCALL_MAX_FILTER_LEN);
            return;
        }
        q.receiver = tn_xstrdup(v);
    }
    if (!read_filters(req, &q.filter)) {
        free(q.receiver);
        return;
    }
    if (one) {
        q.has_fingerprint = true;
        q.fingerprint = fp;
        q.oldest_first = true;
    }
    /* Read your writes: what was appended before the request (an ack just made) is
     * committed first, then queried. */
    history_wait_t *w = tn_xmalloc(sizeof(*w));
    w->h = o->d.history;
    w->req = req;
    w->q = q;
    tn_history_sync(o->d.history, on_history_synced, w);
}

/* ---- routing ---- */

static bool method_is(tn_http_req_t *req, const char *m)
{
    const char *rm = tn_http_req_method(req);
    return strcmp(rm, m) == 0 || (strcmp(m, "GET") == 0 && strcmp(rm, "HEAD") == 0);
}

static void not_allowed(tn_http_req_t *req, const char *allow)
{
    tn_http_add_header(req, "Allow", allow);
    tn_http_respond_error(req, 405, "method not allowed");
}

void tn_oncall_handle(void *ud, tn_http_req_t *req)
{
    tn_oncall_t *o = ud;
    const char *path = strstr(tn_http_req_path(req), API_PREFIX "/");
    const char *p = path ? path + strlen(API_PREFIX) : "";
    /* Writes are JSON: a cross-site form cannot send that without a preflight, which this
     * API never grants. */
    if (strcmp(tn_http_req_method(req), "POST") == 0 &&
        !tn_http_is_json(tn_http_req_header(req, "Content-Type"))) {
        tn_http_add_header(req, "Accept", "application/json");
        tn_http_respond_error(req, 415, "Content-Type: expected application/json");
        return;
    }
    if (strcmp(p, "/acks") == 0) {
        if (method_is(req, "POST"))
            acks_post(o, req);
        else if (method_is(req, "GET"))
            acks_get(o, req);
        else
            not_allowed(req, "GET, HEAD, POST");
    } else if (strncmp(p, "/acks/", 6) == 0 && p[6] && !strchr(p + 6, '/')) {
        if (method_is(req, "DELETE"))
            acks_delete(o, req, p + 6);
        else
            not_allowed(req, "DELETE");
    } else if (strcmp(p, "/resolves") == 0) {
        if (method_is(req, "POST"))
            resolves_post(o, req);
        else
            not_allowed(req, "POST");
    } else if (strcmp(p, "/alerts") == 0) {
        if (method_is(req, "GET"))
            alerts_get(o, req);
        else
            not_allowed(req, "GET, HEAD");
    } else if (strcmp(p, "/history") == 0) {
        if (method_is(req, "GET"))
            history_get(o, req, false, 0);
        else
            not_allowed(req, "GET, HEAD");
    } else if (strncmp(p, "/alerts/", 8) == 0 && strstr(p + 8, "/history") &&
               strcmp(strchr(p + 8, '/'), "/history") == 0) {
        char fps[32];
        size_t len = (size_t)(strchr(p + 8, '/') - (p + 8));
        uint64_t fp;
        snprintf(fps, sizeof(fps), "%.*s", (int)TN_MIN(len, sizeof(fps) - 1), p + 8);
        if (!method_is(req, "GET"))
            not_allowed(req, "GET, HEAD");
        else if (len > 16 || parse_fp(fps, &fp) != TN_OK)
            fail(req, 400, "fingerprint in path: expected 16 hex digits");
        else
            history_get(o, req, true, fp);
    } else if (strcmp(p, "/events") == 0) {
        if (!method_is(req, "GET"))
            not_allowed(req, "GET");
        else if (!o->d.events)
            fail(req, 503, "the events stream is not available");
        else
            tn_events_serve(o->d.events, req);
    } else {
        tn_http_respond_error(req, 404, "not found");
    }
}
