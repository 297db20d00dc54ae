/* Aggregation groups and their flush schedule. */
#include "tocsin/dispatch.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/notification.h"
#include "tocsin/oatab.h"
#include "tocsin/strtab.h"
#include "tocsin/template.h"

/* A flush may retry for group_interval, but never for less than this (Alertmanager's floor). */
#define MIN_FLUSH_TIMEOUT (10 * TN_NS_PER_SEC)
#define MAX_ROUTES_STACK  16

/* ---- per-group alert map: fingerprint -> current version (open addressing) ---- */

typedef struct amap {
    tn_alert_t **slots;
    uint32_t cap, count;
} amap_t;

static size_t amap_home(uint64_t fp, uint32_t cap)
{
    fp ^= fp >> 31;
    fp *= UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(fp >> 20) & (cap - 1);
}

static size_t amap_find(const amap_t *m, uint64_t fp)
{
    size_t i = amap_home(fp, m->cap);
    while (m->slots[i] && m->slots[i]->fp != fp)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static tn_alert_t *amap_get(const amap_t *m, uint64_t fp)
{
    return m->cap ? m->slots[amap_find(m, fp)] : NULL;
}

/* Stores a (referenced by the caller) version; drops the reference of the one it replaces. */
static void amap_set(amap_t *m, tn_alert_t *a)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        amap_t n = {.cap = m->cap ? m->cap * 2 : 4};
        n.slots = tn_xcalloc(n.cap, sizeof(*n.slots));
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->slots[i])
                n.slots[amap_find(&n, m->slots[i]->fp)] = m->slots[i];
        n.count = m->count;
        free(m->slots);
        *m = n;
    }
    size_t i = amap_find(m, a->fp);
    if (m->slots[i])
        tn_alert_unref(m->slots[i]);
    else
        m->count++;
    m->slots[i] = a;
}

#define AMAP_HOME(x) amap_home((x)->fp, m->cap)

static void amap_del(amap_t *m, uint64_t fp)
{
    size_t i = amap_find(m, fp);
    tn_alert_t *a = m->slots[i];
    if (!a)
        return;
    TN_OA_DELETE(m->slots, m->cap, i, AMAP_HOME);
    m->count--;
    tn_alert_unref(a);
}

static void amap_free(amap_t *m)
{
    for (uint32_t i = 0; i < m->cap; i++)
        tn_alert_unref(m->slots[i]);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- groups ---- */

typedef struct group {
    uint32_t refs; /* the dispatcher's table, one per flush in flight, one per wait list */
    bool dead;     /* out of the table (empty, or dropped by a reload) */
    bool flushing;
    bool flush_pending;
    bool retired;  /* dropped by a reload with its flush in flight; in the retired table */
    bool waiting;  /* on a retired group's wait list */
    bool overflow; /* its route's group_limit was reached: the route's one overflow group */
    uint64_t hash;
    uint64_t key_hash;     /* of key, for the retired table */
    struct group *rnext;   /* retired table chain */
    struct group *waiters; /* groups of the new config waiting for this retired flush */
    struct group *wnext;
    struct tn_dispatch *d;
    tn_config_t *cfg; /* owns route */
    const tn_route_t *route;
    tn_label_t *labels;
    size_t nlabels;
    char *key;
    amap_t alerts;
    tn_sched_entry_t timer;
    tn_sched_entry_t esc_timer; /* the next escalation step, between flushes */
    tn_alert_t **sent_resolved; /* resolved versions in the flush in flight */
    size_t nsent_resolved;
    /* The route's labels rendered against the alerts held, for the groups API: rendered when
     * first asked, dropped whenever the alerts change. */
    tn_label_t *route_labels;
    size_t nroute_labels;
    bool route_labels_valid;
} group_t;

struct tn_dispatch {
    tn_sched_t *sched;
    tn_notifier_t *notifier;
    tn_alert_store_t *store;
    tn_config_t *cfg;
    tn_time_t start_time;
    char *external_url;
    bool stopping;
    group_t **slots; /* open addressing on group hash */
    size_t cap, count;
    /* Groups a reload dropped while they were flushing, chained by group key: a new group with
     * the same key holds its flushes until they end, so the notification log has recorded
     * what they sent and the same page is not sent twice. */
    group_t **rtab;
    size_t rcap, rcount;
    tn_metric_child_t *m_groups;
    uint32_t *route_groups; /* ordinary groups per route (by route idx), for group_limit */
    const char *overflow_name, *overflow_value; /* interned group label of overflow groups */
    tn_metric_child_t *m_limit_reached;
};

static uint64_t group_hash(const tn_route_t *r, uint64_t labels_fp)
{
    uint64_t h = labels_fp ^ ((uint64_t)r->idx * UINT64_C(0x9e3779b97f4a7c15));
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static bool group_is(const group_t *g, const tn_route_t *r, tn_labels_t ls)
{
    return g->route == r && tn_labels_equal((tn_labels_t){g->labels, g->nlabels}, ls);
}

static size_t gtab_find(const tn_dispatch_t *d, uint64_t h, const tn_route_t *r, tn_labels_t ls)
{
    size_t mask = d->cap - 1, i = h & mask;
    while (d->slots[i] && !(d->slots[i]->hash == h && group_is(d->slots[i], r, ls)))
        i = (i + 1) & mask;
    return i;
}

#define GTAB_HOME(x) ((x)->hash & (d->cap - 1))

static void gtab_remove(tn_dispatch_t *d, group_t *g)
{
    size_t mask = d->cap - 1, i = g->hash & mask;
    while (d->slots[i] != g)
        i = (i + 1) & mask;
    TN_OA_DELETE(d->slots, d->cap, i, GTAB_HOME);
    d->count--;
    if (!g->overflow && d->route_groups && g->cfg == d->cfg)
        d->route_groups[g->route->idx]--;
    tn_metric_set(d->m_groups, (double)d->count);
}

static void labels_free(tn_label_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(v[i].name);
        tn_intern_unref(v[i].value);
    }
    free(v);
}

/* The group's alerts changed: its rendered route labels no longer hold. */
static void group_route_labels_drop(group_t *g)
{
    labels_free(g->route_labels, g->nroute_labels);
    g->route_labels = NULL;
    g->nroute_labels = 0;
    g->route_labels_valid = false;
}

static void group_unref(group_t *g)
{
    if (--g->refs)
        return;
    group_route_labels_drop(g);
    amap_free(&g->alerts);
    for (size_t i = 0; i < g->nlabels; i++) {
        tn_intern_unref(g->labels[i].name);
        tn_intern_unref(g->labels[i].value);
    }
    for (size_t i = 0; i < g->nsent_resolved; i++)
        tn_alert_unref(g->sent_resolved[i]);
    free(g->sent_resolved);
    free(g->labels);
    free(g->key);
    tn_config_unref(g->cfg);
    free(g);
}

static void group_drop(tn_dispatch_t *d, group_t *g)
{
    if (g->dead)
        return;
    g->dead = true;
    tn_sched_cancel(d->sched, &g->timer);
    tn_sched_cancel(d->sched, &g->esc_timer);
    gtab_remove(d, g);
    group_unref(g);
}

/* ---- retired groups: a reload dropped them while they were flushing ---- */

static void retired_add(tn_dispatch_t *d, group_t *g)
{
    if (d->rcount + 1 > d->rcap) {
        size_t ncap = d->rcap ? d->rcap * 2 : 64;
        group_t **n = tn_xcalloc(ncap, sizeof(*n));
        for (size_t i = 0; i < d->rcap; i++) {
            for (group_t *x = d->rtab[i], *next; x; x = next) {
                next = x->rnext;
                x->rnext = n[x->key_hash & (ncap - 1)];
                n[x->key_hash & (ncap - 1)] = x;
            }
        }
        free(d->rtab);
        d->rtab = n;
        d->rcap = ncap;
    }
    group_t **b = &d->rtab[g->key_hash & (d->rcap - 1)];
    g->rnext = *b;
    *b = g;
    d->rcount++;
    g->retired = true;
}

static void retired_remove(tn_dispatch_t *d, group_t *g)
{
    group_t **p = &d->rtab[g->key_hash & (d->rcap - 1)];
    while (*p != g)
        p = &(*p)->rnext;
    *p = g->rnext;
    g->rnext = NULL;
    d->rcount--;
    g->retired = false;
}

/* A retired group under the same group key as g, or NULL. */
static group_t *retired_find(const tn_dispatch_t *d, const group_t *g)
{
    if (!d->rcount)
        return NULL;
    for (group_t *x = d->rtab[g->key_hash & (d->rcap - 1)]; x; x = x->rnext)
        if (x != g && x->key_hash == g->key_hash && strcmp(x->key, g->key) == 0)
            return x;
    return NULL;
}

static void group_flush(group_t *g, tn_time_t now);

/* One flush at a time per group key: while this group's previous flush, or a retired group's
 * flush under the same key, is still running, the flush waits and starts when that one ends. */
static void group_flush_when_free(group_t *g, tn_time_t now)
{
    if (g->flushing) {
        g->flush_pending = true;
        return;
    }
    group_t *r = retired_find(g->d, g);
    if (r) {
        g->flush_pending = true;
        if (!g->waiting) {
            g->waiting = true;
            g->refs++;
            g->wnext = r->waiters;
            r->waiters = g;
        }
        return;
    }
    group_flush(g, now);
}

/* Starts a flush that was held back. As in Alertmanager, whose group timer restarts when the
 * held-back tick is taken, the next flush is due group_interval after this one. */
static void group_flush_held(group_t *g)
{
    tn_time_t now = tn_clock_now();
    g->flush_pending = false;
    if (tn_sched_armed(&g->timer))
        tn_sched_at(g->d->sched, &g->timer, now + g->route->group_interval);
    group_flush_when_free(g, now);
}

/* The retired flush of r ended: the groups that waited for it may flush now. */
static void release_waiters(tn_dispatch_t *d, group_t *r)
{
    group_t *w = r->waiters;
    r->waiters = NULL;
    while (w) {
        group_t *next = w->wnext;
        w->wnext = NULL;
        w->waiting = false;
        if (d && !d->stopping && !w->dead && w->flush_pending)
            group_flush_held(w);
        /* The wait list's reference: the flush above may have emptied and dropped w. */
        group_unref(w);
        w = next;
    }
}

static void on_group_timer(void *ud, tn_time_t now)
{
    group_t *g = ud;
    tn_dispatch_t *d = g->d;
    if (d->stopping)
        return;
    /* Fixed rate: the next flush is due group_interval after this one was. */
    tn_sched_at(d->sched, &g->timer, now + g->route->group_interval);
    group_flush_when_free(g, now);
}

/* An escalation step falls due between two flushes: flush then, not at the next interval. */
static void on_esc_timer(void *ud, tn_time_t now)
{
    group_t *g = ud;
    if (g->d->stopping || g->dead)
        return;
    group_flush_when_free(g, now);
}

static void esc_arm(group_t *g)
{
    tn_time_t due = tn_notify_escalation_due(g->d->notifier, g->route, g->key);
    if (due > tn_clock_now())
        tn_sched_at(g->d->sched, &g->esc_timer, due);
    else
        tn_sched_cancel(g->d->sched, &g->esc_timer);
}

static void on_flush_done(void *ud, bool ok)
{
    group_t *g = ud;
    tn_dispatch_t *d = g->d;
    g->flushing = false;
    if (ok) {
        /* Resolved alerts leave the group once notified, unless they changed meanwhile. */
        for (size_t i = 0; i < g->nsent_resolved; i++) {
            tn_alert_t *v = g->sent_resolved[i];
            if (amap_get(&g->alerts, v->fp) == v) {
                amap_del(&g->alerts, v->fp);
                group_route_labels_drop(g);
            }
        }
    }
    for (size_t i = 0; i < g->nsent_resolved; i++)
        tn_alert_unref(g->sent_resolved[i]);
    free(g->sent_resolved);
    g->sent_resolved = NULL;
    g->nsent_resolved = 0;
    if (g->retired) {
        retired_remove(d, g);
        release_waiters(d, g);
    }
    if (!g->dead && g->alerts.count == 0) {
        group_drop(d, g);
    } else if (!g->dead && g->flush_pending && !d->stopping) {
        group_flush_held(g);
    }
    if (!g->dead && !d->stopping && g->route->nescalation)
        esc_arm(g);
    group_unref(g);
}

static void route_label_failed(void *ud, const char *name, const char *value, const char *err)
{
    const group_t *g = ud;
    tn_log(TN_LOG_ERROR, "failed to render route label", "aggrGroup", g->key, "label", name,
           "value", value, "err", err, NULL);
}

/* Alertmanager's renderRouteLabels: the route's labels rendered against these alerts of the
 * group (stored_ends: firing alerts print their stored endsAt, as the groups API sees them).
 * A label that fails to render is logged and left out. The caller frees *out (labels_free). */
static size_t render_route_labels(const group_t *g, const tn_notif_alert_t *alerts, size_t n,
                                  size_t nfiring, tn_time_t now, bool stored_ends, tn_label_t **out)
{
    const tn_route_t *r = g->route;
    *out = NULL;
    if (!r->nlabels)
        return 0;
    tn_notification_t notif = {
        .receiver = r->receiver->name,
        .group_key = g->key,
        .group_labels = {g->labels, g->nlabels},
        .alerts = alerts,
        .nalerts = n,
        .nfiring = nfiring,
        .external_url = g->d->external_url,
        .now = now,
        .config = g->cfg,
        .route = r,
        .route_labels = {r->labels, r->nlabels},
        .route_labels_raw = true,
        .stored_ends_at = stored_ends,
    };
    *out = tn_xmalloc(r->nlabels * sizeof(**out));
    size_t k =
        tn_tmpl_render_route_labels(g->cfg->tmpl, &notif, *out, route_label_failed, (void *)g);
    for (size_t i = 0; i < k && tn_log_enabled(TN_LOG_DEBUG); i++)
        tn_log(TN_LOG_DEBUG, "rendered route label", "aggrGroup", g->key, "label", (*out)[i].name,
               "value", (*out)[i].value, NULL);
    return k;
}

/* What the group sends now: its alerts in Alertmanager's order (each resolved or not at
 * `now`) and its route labels rendered against them. With keep_resolved, the resolved
 * versions are kept in g->sent_resolved (a flush drops them from the group once sent). The
 * caller frees the alerts and route labels with notif_free. */
static tn_notification_t group_notification(group_t *g, tn_time_t now, bool keep_resolved)
{
    size_t n = g->alerts.count, k = 0, nfiring = 0;
    tn_notif_alert_t *alerts = tn_xmalloc((n ? n : 1) * sizeof(*alerts));
    if (keep_resolved) {
        g->sent_resolved = tn_xmalloc((n ? n : 1) * sizeof(*g->sent_resolved));
        g->nsent_resolved = 0;
    }
    for (uint32_t i = 0; i < g->alerts.cap; i++) {
        tn_alert_t *a = g->alerts.slots[i];
        if (!a)
            continue;
        bool resolved = tn_alert_resolved_at(a, now);
        alerts[k++] = (tn_notif_alert_t){a, resolved};
        nfiring += !resolved;
        if (resolved && keep_resolved)
            g->sent_resolved[g->nsent_resolved++] = tn_alert_ref(a);
    }
    tn_notif_alerts_sort(alerts, k);
    /* Rendered against the alerts of this notification, as they are sent. */
    tn_label_t *rl;
    size_t nrl = render_route_labels(g, alerts, k, nfiring, now, false, &rl);
    return (tn_notification_t){
        .receiver = g->route->receiver->name,
        .group_key = g->key,
        .group_labels = {g->labels, g->nlabels},
        .alerts = alerts,
        .nalerts = k,
        .nfiring = nfiring,
        .external_url = g->d->external_url,
        .now = now,
        .config = g->cfg,
        .route = g->route,
        .route_labels = {rl, nrl},
    };
}

static void notif_free(tn_notification_t *n)
{
    labels_free((tn_label_t *)n->route_labels.v, n->route_labels.n);
    free((void *)n->alerts);
}

static void group_flush(group_t *g, tn_time_t now)
{
    tn_dispatch_t *d = g->d;
    if (g->alerts.count == 0 || d->stopping)
        return;
    tn_notification_t notif = group_notification(g, now, true);
    if (tn_log_enabled(TN_LOG_DEBUG)) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", notif.nalerts);
        tn_log(TN_LOG_DEBUG, "flushing", "aggrGroup", g->key, "numAlerts", num, NULL);
    }
    tn_duration_t timeout = TN_MAX(g->route->group_interval, MIN_FLUSH_TIMEOUT);
    g->flushing = true;
    g->refs++;
    tn_notify_flush(d->notifier, &notif, g->route->repeat_interval, now + timeout, on_flush_done,
                    g);
    notif_free(&notif);
}

/* An ack announcement (route ack_notify): the group's alerts as they are, with the ack. */
static void group_announce(group_t *g, const tn_notif_ack_t *ack, tn_time_t now)
{
    tn_notification_t notif = group_notification(g, now, false);
    notif.reason = "acknowledged";
    notif.ack = ack;
    tn_duration_t timeout = TN_MAX(g->route->group_interval, MIN_FLUSH_TIMEOUT);
    tn_notify_announce(g->d->notifier, &notif, now + timeout);
    notif_free(&notif);
}

/* ---- routing ---- */

/* Writes the group labels of alert labels `ls` under route r into out (borrowed strings). */
static size_t group_labels_of(const tn_route_t *r, tn_labels_t ls, tn_label_t *out)
{
    if (r->group_by_all) {
        memcpy(out, ls.v, ls.n * sizeof(*out));
        return ls.n;
    }
    size_t n = 0, i = 0, j = 0;
    /* Both lists are sorted by name: merge. */
    while (i < ls.n && j < r->ngroup_by) {
        int c = strcmp(ls.v[i].name, r->group_by[j]);
        if (c == 0) {
            out[n++] = ls.v[i];
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    return n;
}

static group_t *group_new(tn_dispatch_t *d, const tn_route_t *r, tn_labels_t gl, uint64_t h)
{
    group_t *g = tn_xcalloc(1, sizeof(*g));
    g->refs = 1;
    g->d = d;
    g->hash = h;
    g->cfg = tn_config_ref(d->cfg);
    g->route = r;
    g->nlabels = gl.n;
    g->labels = tn_xmalloc((gl.n + 1) * sizeof(*g->labels));
    for (size_t i = 0; i < gl.n; i++) {
        g->labels[i].name = tn_intern_ref(gl.v[i].name);
        g->labels[i].value = tn_intern_ref(gl.v[i].value);
    }
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, r->key);
    tn_buf_putc(&b, ':');
    tn_labels_format(&b, gl);
    tn_buf_cstr(&b);
    g->key = b.data;
    g->key_hash = tn_str_hash(g->key);
    tn_sched_entry_init(&g->timer, on_group_timer, g);
    tn_sched_entry_init(&g->esc_timer, on_esc_timer, g);

    if ((d->count + 1) * 10 > d->cap * 7) {
        group_t **old = d->slots;
        size_t ocap = d->cap;
        d->cap = d->cap ? d->cap * 2 : 64;
        d->slots = tn_xcalloc(d->cap, sizeof(*d->slots));
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i])
                continue;
            size_t k = old[i]->hash & (d->cap - 1);
            while (d->slots[k])
                k = (k + 1) & (d->cap - 1);
            d->slots[k] = old[i];
        }
        free(old);
    }
    d->slots[gtab_find(d, h, r, gl)] = g;
    d->count++;
    if (d->route_groups)
        d->route_groups[r->idx]++;
    tn_metric_set(d->m_groups, (double)d->count);
    return g;
}

/* The routes an alert matches: on the stack for the usual few, on the heap beyond. */
typedef struct route_set {
    const tn_route_t **v;
    size_t n;
    const tn_route_t *small[MAX_ROUTES_STACK];
} route_set_t;

static void route_set_match(route_set_t *rs, const tn_dispatch_t *d, tn_labels_t ls)
{
    rs->v = rs->small;
    rs->n = tn_route_match(d->cfg->route, ls, rs->v, MAX_ROUTES_STACK);
    if (rs->n > MAX_ROUTES_STACK) {
        rs->v = tn_xmalloc(rs->n * sizeof(*rs->v));
        tn_route_match(d->cfg->route, ls, rs->v, rs->n);
    }
}

static void route_set_free(route_set_t *rs)
{
    if (rs->v != rs->small)
        free(rs->v);
}

/* The group of alert labels ls under route r, or NULL; gl is scratch room for ls.n labels.
 * Writes the group labels and their hash for a caller that goes on to create the group. */
static group_t *group_find(const tn_dispatch_t *d, const tn_route_t *r, tn_labels_t ls,
                           tn_label_t *gl, tn_labels_t *g_ls, uint64_t *h)
{
    *g_ls = (tn_labels_t){gl, group_labels_of(r, ls, gl)};
    *h = group_hash(r, tn_labels_fingerprint(*g_ls));
    return d->cap ? d->slots[gtab_find(d, *h, r, *g_ls)] : NULL;
}

/* The route's overflow group (group_limit), or NULL; writes its labels and hash. */
static group_t *overflow_find(const tn_dispatch_t *d, const tn_route_t *r, tn_label_t *ol,
                              uint64_t *h)
{
    ol->name = d->overflow_name;
    ol->value = d->overflow_value;
    tn_labels_t ls = {ol, 1};
    *h = group_hash(r, tn_labels_fingerprint(ls));
    return d->cap ? d->slots[gtab_find(d, *h, r, ls)] : NULL;
}

/* The route's overflow group if it holds the alert: an alert stays there once it joined. */
static group_t *overflow_holding(const tn_dispatch_t *d, const tn_route_t *r, const tn_alert_t *a)
{
    tn_label_t ol;
    uint64_t h;
    group_t *o = overflow_find(d, r, &ol, &h);
    return o && amap_get(&o->alerts, a->fp) ? o : NULL;
}

/* Past the route's group_limit, an alert that would start a new group joins the route's
 * overflow group instead. Returns NULL to create a group as usual. */
static group_t *group_limited(tn_dispatch_t *d, const tn_route_t *r, const tn_alert_t *a,
                              tn_time_t now)
{
    tn_label_t ol;
    uint64_t h;
    group_t *o = overflow_find(d, r, &ol, &h);
    if (d->route_groups[r->idx] < r->group_limit)
        return NULL;
    tn_metric_add(d->m_limit_reached, 1);
    if (o)
        return o;
    char limit[16];
    snprintf(limit, sizeof(limit), "%u", r->group_limit);
    tn_log(TN_LOG_WARN, "Too many aggregation groups; new ones join the route's overflow group",
           "route", r->key, "limit", limit, "alert", tn_alert_name(a), NULL);
    o = group_new(d, r, (tn_labels_t){&ol, 1}, h);
    o->overflow = true;
    d->route_groups[r->idx]--; /* group_new counted it; the overflow group is not capped */
    tn_time_t when = TN_MAX(now + r->group_wait, d->start_time);
    if (!d->stopping)
        tn_sched_at(d->sched, &o->timer, when);
    return o;
}

static void route_alert(tn_dispatch_t *d, tn_alert_t *a, tn_time_t now)
{
    tn_labels_t ls = tn_alert_labels(a);
    route_set_t rs;
    route_set_match(&rs, d, ls);
    tn_label_t gl_small[32];
    tn_label_t *gl = ls.n <= 32 ? gl_small : tn_xmalloc(ls.n * sizeof(*gl));
    for (size_t i = 0; i < rs.n; i++) {
        const tn_route_t *r = rs.v[i];
        tn_labels_t g_ls;
        uint64_t h;
        group_t *g = r->group_limit ? overflow_holding(d, r, a) : NULL;
        if (!g)
            g = group_find(d, r, ls, gl, &g_ls, &h);
        if (!g && r->group_limit)
            g = group_limited(d, r, a, now);
        if (!g) {
            g = group_new(d, r, g_ls, h);
            tn_time_t when = now + r->group_wait;
            /* An alert older than group_wait flushes its new group at once. */
            if (a->starts_at + r->group_wait < now)
                when = now;
            if (when < d->start_time)
                when = d->start_time;
            if (!d->stopping)
                tn_sched_at(d->sched, &g->timer, when);
        }
        amap_set(&g->alerts, tn_alert_ref(a));
        group_route_labels_drop(g);
    }
    if (gl != gl_small)
        free(gl);
    route_set_free(&rs);
}

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (group_t *const *)a, y = (uintptr_t) * (group_t *const *)b;
    return x < y ? -1 : x > y;
}

/* The groups holding an acked alert are found the way the alert was routed into them, so the
 * cost follows the alerts acked, not the number of groups. */
void tn_dispatch_ack_notify(tn_dispatch_t *d, const tn_notif_ack_t *ack, const uint64_t *fps,
                            size_t nfps)
{
    if (d->stopping)
        return;
    tn_time_t now = tn_clock_now();
    group_t **hit = NULL;
    size_t nhit = 0, cap = 0;
    for (size_t k = 0; k < nfps; k++) {
        tn_alert_t *a = tn_alert_store_get(d->store, fps[k]);
        if (!a)
            continue;
        tn_labels_t ls = tn_alert_labels(a);
        route_set_t rs;
        route_set_match(&rs, d, ls);
        tn_label_t gl_small[32];
        tn_label_t *gl = ls.n <= 32 ? gl_small : tn_xmalloc(ls.n * sizeof(*gl));
        for (size_t i = 0; i < rs.n; i++) {
            const tn_route_t *r = rs.v[i];
            if (!r->ack_notify)
                continue;
            tn_labels_t g_ls;
            uint64_t h;
            group_t *g = r->group_limit ? overflow_holding(d, r, a) : NULL;
            if (!g)
                g = group_find(d, r, ls, gl, &g_ls, &h);
            if (!g || g->dead || !amap_get(&g->alerts, a->fp))
                continue;
            if (nhit == cap) {
                cap = cap ? cap * 2 : 16;
                hit = tn_xrealloc(hit, cap * sizeof(*hit));
            }
            hit[nhit++] = g;
        }
        if (gl != gl_small)
            free(gl);
        route_set_free(&rs);
    }
    /* each group once, however many of its alerts the ack covers */
    if (nhit)
        qsort(hit, nhit, sizeof(*hit), ptr_cmp);
    size_t n = 0;
    for (size_t i = 0; i < nhit; i++)
        if (!n || hit[n - 1] != hit[i])
            hit[n++] = hit[i];
    for (size_t i = 0; i < n; i++)
        hit[i]->refs++;
    for (size_t i = 0; i < n; i++) {
        if (!hit[i]->dead)
            group_announce(hit[i], ack, now);
        group_unref(hit[i]);
    }
    free(hit);
}

void tn_dispatch_on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    (void)old;
    tn_dispatch_t *d = ud;
    if (!d->cfg || !alert)
        return;
    route_alert(d, alert, tn_clock_now());
}

tn_dispatch_t *tn_dispatch_new(tn_sched_t *sched, tn_notifier_t *notifier, tn_alert_store_t *store)
{
    tn_dispatch_t *d = tn_xcalloc(1, sizeof(*d));
    d->sched = sched;
    d->notifier = notifier;
    d->store = store;
    d->external_url = tn_xstrdup("");
    d->m_groups = tn_metric_plain(tn_metric_gauge("alertmanager_dispatcher_aggregation_groups",
                                                  "Number of active aggregation groups", NULL));
    d->m_limit_reached = tn_metric_plain(tn_metric_counter(
        "alertmanager_dispatcher_aggregation_group_limit_reached_total",
        "Number of times an alert joined a route's overflow group because the route's "
        "group_limit was reached.",
        NULL));
    d->overflow_name = tn_intern_cstr("overflow");
    d->overflow_value = tn_intern_cstr("true");
    return d;
}

static void drop_all_groups(tn_dispatch_t *d)
{
    for (size_t i = 0; i < d->cap;) {
        group_t *g = d->slots[i];
        if (g) {
            /* Removal may shift another group into slot i: look at it again. */
            group_drop(d, g);
            continue;
        }
        i++;
    }
}

void tn_dispatch_free(tn_dispatch_t *d)
{
    if (!d)
        return;
    /* Retired flushes still running end after the dispatcher: cut them loose from it. */
    for (size_t i = 0; i < d->rcap; i++) {
        for (group_t *r = d->rtab[i], *next; r; r = next) {
            next = r->rnext;
            r->rnext = NULL;
            r->retired = false;
            release_waiters(NULL, r);
        }
    }
    free(d->rtab);
    drop_all_groups(d);
    free(d->slots);
    free(d->route_groups);
    tn_intern_unref(d->overflow_name);
    tn_intern_unref(d->overflow_value);
    free(d->external_url);
    tn_config_unref(d->cfg);
    free(d);
}

static bool reroute(void *ud, tn_alert_t *a)
{
    tn_dispatch_t *d = ud;
    route_alert(d, a, tn_clock_now());
    return true;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two routes (and their subtrees) group and time alerts alike: everything a group
 * takes from its route, compared by value, receivers and intervals by name. */
static bool route_same(const tn_route_t *a, const tn_route_t *b)
{
    if (a->idx != b->idx || !str_eq(a->key, b->key) || !str_eq(a->id, b->id) ||
        !str_eq(a->receiver->name, b->receiver->name) || a->cont != b->cont ||
        a->group_by_all != b->group_by_all || a->ngroup_by != b->ngroup_by ||
        a->group_wait != b->group_wait || a->group_interval != b->group_interval ||
        a->repeat_interval != b->repeat_interval ||
        a->nmute_time_intervals != b->nmute_time_intervals ||
        a->nactive_time_intervals != b->nactive_time_intervals ||
        memcmp(&a->rate_limit, &b->rate_limit, sizeof(a->rate_limit)) != 0 ||
        a->group_limit != b->group_limit || a->nlabels != b->nlabels ||
        a->nescalation != b->nescalation || a->ack_notify != b->ack_notify ||
        a->nchildren != b->nchildren || a->matchers.n != b->matchers.n)
        return false;
    for (size_t i = 0; i < a->ngroup_by; i++)
        if (!str_eq(a->group_by[i], b->group_by[i]))
            return false;
    for (size_t i = 0; i < a->nmute_time_intervals; i++)
        if (!str_eq(a->mute_time_intervals[i], b->mute_time_intervals[i]))
            return false;
    for (size_t i = 0; i < a->nactive_time_intervals; i++)
        if (!str_eq(a->active_time_intervals[i], b->active_time_intervals[i]))
            return false;
    for (size_t i = 0; i < a->nlabels; i++)
        if (!str_eq(a->labels[i].name, b->labels[i].name) ||
            !str_eq(a->labels[i].value, b->labels[i].value))
            return false;
    for (size_t i = 0; i < a->nescalation; i++)
        if (a->escalation[i].after != b->escalation[i].after ||
            !str_eq(a->escalation[i].receiver->name, b->escalation[i].receiver->name))
            return false;
    for (size_t i = 0; i < a->nchildren; i++)
        if (!route_same(a->children[i], b->children[i]))
            return false;
    return true;
}

static bool index_route(void *ud, const tn_route_t *r)
{
    ((const tn_route_t **)ud)[r->idx] = r;
    return true;
}

/* A reload whose routes group and time alike: the groups stay, with their alerts, on the new
 * snapshot's routes (same depth-first index, so the same group hashes), and nothing is routed
 * again. Their timers restart as Alertmanager's rebuilt groups do: a group holding an alert
 * older than group_wait flushes at once, others after group_wait, then every group_interval
 * from there (a flush in flight is followed by one when it ends). */
static void adopt_config(tn_dispatch_t *d, tn_config_t *cfg)
{
    const tn_route_t **by_idx = tn_xcalloc(cfg->nroutes + 1, sizeof(*by_idx));
    tn_route_walk(cfg->route, index_route, by_idx);
    tn_time_t now = tn_clock_now();
    for (size_t i = 0; i < d->cap; i++) {
        group_t *g = d->slots[i];
        if (!g)
            continue;
        g->route = by_idx[g->route->idx];
        tn_config_unref(g->cfg);
        g->cfg = tn_config_ref(cfg);
        group_route_labels_drop(g);
        tn_time_t when = now + g->route->group_wait;
        for (uint32_t k = 0; k < g->alerts.cap && when > now; k++) {
            const tn_alert_t *a = g->alerts.slots[k];
            if (a && a->starts_at + g->route->group_wait < now)
                when = now;
        }
        if (when < d->start_time)
            when = d->start_time;
        if (!d->stopping)
            tn_sched_at(d->sched, &g->timer, when);
    }
    free(by_idx);
    tn_config_unref(d->cfg);
    d->cfg = tn_config_ref(cfg);
}

void tn_dispatch_set_config(tn_dispatch_t *d, tn_config_t *cfg)
{
    if (d->cfg && d->cfg->nroutes == cfg->nroutes && route_same(d->cfg->route, cfg->route)) {
        adopt_config(d, cfg);
        return;
    }
    /* Flushes in flight finish on the config they started with; their groups retire. */
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i] && d->slots[i]->flushing)
            retired_add(d, d->slots[i]);
    drop_all_groups(d);
    tn_config_unref(d->cfg);
    d->cfg = tn_config_ref(cfg);
    free(d->route_groups);
    d->route_groups = tn_xcalloc(cfg->nroutes + 1, sizeof(*d->route_groups));
    tn_alert_store_foreach(d->store, reroute, d);
}

void tn_dispatch_set_start_time(tn_dispatch_t *d, tn_time_t t)
{
    d->start_time = t;
}

void tn_dispatch_set_external_url(tn_dispatch_t *d, const char *url)
{
    free(d->external_url);
    d->external_url = tn_xstrdup(url ? url : "");
}

size_t tn_dispatch_alert_receivers(tn_dispatch_t *d, tn_labels_t ls, const char **out, size_t max)
{
    if (!d->cfg)
        return 0;
    route_set_t rs;
    route_set_match(&rs, d, ls);
    for (size_t i = 0; i < rs.n && i < max; i++)
        out[i] = rs.v[i]->receiver->name;
    size_t n = rs.n;
    route_set_free(&rs);
    return n;
}

bool tn_dispatch_holds(void *ud, const tn_alert_t *a)
{
    tn_dispatch_t *d = ud;
    if (!d->cfg || !d->cap)
        return false;
    tn_labels_t ls = tn_alert_labels(a);
    route_set_t rs;
    route_set_match(&rs, d, ls);
    tn_label_t *gl = tn_xmalloc((ls.n + 1) * sizeof(*gl));
    bool held = false;
    for (size_t i = 0; i < rs.n && !held; i++) {
        tn_labels_t g_ls;
        uint64_t h;
        group_t *g = group_find(d, rs.v[i], ls, gl, &g_ls, &h);
        held = g && amap_get(&g->alerts, a->fp) != NULL;
        if (!held && rs.v[i]->group_limit)
            held = overflow_holding(d, rs.v[i], a) != NULL;
    }
    free(gl);
    route_set_free(&rs);
    return held;
}

/* AlertGroup.RouteLabels: rendered against every alert the group holds, resolved ones too. */
static tn_labels_t view_route_labels(const tn_dispatch_group_view_t *v)
{
    group_t *g = v->priv;
    if (!g->route_labels_valid) {
        group_route_labels_drop(g);
        size_t n = g->alerts.count;
        if (n && g->route->nlabels) {
            tn_time_t now = tn_clock_now();
            tn_notif_alert_t *alerts = tn_xmalloc(n * sizeof(*alerts));
            size_t k = 0, nfiring = 0;
            for (uint32_t i = 0; i < g->alerts.cap; i++) {
                tn_alert_t *a = g->alerts.slots[i];
                if (!a)
                    continue;
                bool resolved = tn_alert_resolved_at(a, now);
                alerts[k++] = (tn_notif_alert_t){a, resolved};
                nfiring += !resolved;
            }
            tn_notif_alerts_sort(alerts, k);
            g->nroute_labels =
                render_route_labels(g, alerts, k, nfiring, now, true, &g->route_labels);
            free(alerts);
        }
        g->route_labels_valid = true;
    }
    return (tn_labels_t){g->route_labels, g->nroute_labels};
}

void tn_dispatch_foreach_group(tn_dispatch_t *d, tn_dispatch_group_fn fn, void *ud)
{
    tn_alert_t **v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < d->cap; i++) {
        group_t *g = d->slots[i];
        if (!g || g->dead)
            continue;
        if (g->alerts.count > cap) {
            cap = g->alerts.count;
            v = tn_xrealloc(v, cap * sizeof(*v));
        }
        size_t n = 0;
        for (uint32_t k = 0; k < g->alerts.cap; k++)
            if (g->alerts.slots[k])
                v[n++] = g->alerts.slots[k];
        tn_dispatch_group_view_t view = {
            .route = g->route,
            .labels = {g->labels, g->nlabels},
            .alerts = v,
            .nalerts = n,
            .route_labels = view_route_labels,
            .priv = g,
        };
        if (!fn(ud, &view))
            break;
    }
    free(v);
}

size_t tn_dispatch_group_count(tn_dispatch_t *d)
{
    return d->count;
}

size_t tn_dispatch_bytes(const tn_dispatch_t *d)
{
    size_t n = (d->cap + d->rcap) * sizeof(group_t *);
    for (size_t i = 0; i < d->cap; i++) {
        const group_t *g = d->slots[i];
        if (!g)
            continue;
        n += malloc_usable_size((void *)g) + malloc_usable_size(g->alerts.slots) +
             malloc_usable_size(g->labels) + malloc_usable_size(g->key) +
             malloc_usable_size(g->route_labels) + malloc_usable_size(g->sent_resolved);
    }
    return n;
}

void tn_dispatch_stop(tn_dispatch_t *d)
{
    d->stopping = true;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i]) {
            tn_sched_cancel(d->sched, &d->slots[i]->timer);
            tn_sched_cancel(d->sched, &d->slots[i]->esc_timer);
        }
}
