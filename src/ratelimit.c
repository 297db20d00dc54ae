/* Rate limits (token buckets, held notifications, summaries) and the per-alertname cap. */
#include "tocsin/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/receiver.h"
#include "tocsin/strtab.h"

#define SUMMARY_REASON     "rate limit summary"
#define SUMMARY_KEY_PREFIX "tocsin/rate_limit_summary"
/* A summary may take this long, at least, before it counts as failed. */
#define MIN_SEND_TIMEOUT (10 * TN_NS_PER_SEC)
#define MAX_SEND_TIMEOUT (60 * TN_NS_PER_SEC)

/* ---- token bucket ---- */

static tn_duration_t bucket_step(const tn_rate_limit_t *rl)
{
    return rl->period / rl->limit;
}

bool tn_bucket_take(tn_bucket_t *b, const tn_rate_limit_t *rl, tn_time_t now)
{
    tn_duration_t step = bucket_step(rl);
    tn_time_t base = TN_MAX(b->tat, now);
    /* Full bucket: tat <= now. Each token pushes tat one step on; at most burst steps ahead. */
    if (base + step - now > (tn_duration_t)rl->burst * step)
        return false;
    b->tat = base + step;
    return true;
}

tn_time_t tn_bucket_ready_at(const tn_bucket_t *b, const tn_rate_limit_t *rl)
{
    return b->tat - (tn_duration_t)(rl->burst - 1) * bucket_step(rl);
}

/* ---- held notifications ---- */

/* The latest held notification of one (group, integration). */
typedef struct held {
    char *key; /* nflog key */
    char *group_key;
    tn_label_t *glabels;
    size_t nglabels;
    tn_label_t *rlabels; /* the group's rendered route labels */
    size_t nrlabels;
    tn_notif_alert_t *alerts; /* referenced */
    size_t nalerts, nfiring_alerts;
    uint64_t *firing, *resolved; /* hashes for the notification log */
    size_t nfiring, nresolved;
    tn_duration_t repeat;
} held_t;

static const char *held_key(const void *h)
{
    return ((const held_t *)h)->key;
}

static void held_free(held_t *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nalerts; i++)
        tn_alert_unref((tn_alert_t *)h->alerts[i].alert);
    for (size_t i = 0; i < h->nglabels; i++) {
        tn_intern_unref(h->glabels[i].name);
        tn_intern_unref(h->glabels[i].value);
    }
    free(h->glabels);
    for (size_t i = 0; i < h->nrlabels; i++) {
        tn_intern_unref(h->rlabels[i].name);
        tn_intern_unref(h->rlabels[i].value);
    }
    free(h->rlabels);
    free(h->alerts);
    free(h->firing);
    free(h->resolved);
    free(h->group_key);
    free(h->key);
    free(h);
}

static uint64_t *u64_dup(const uint64_t *v, size_t n)
{
    uint64_t *c = tn_xmalloc((n + 1) * sizeof(*c));
    if (n)
        memcpy(c, v, n * sizeof(*c));
    return c;
}

static held_t *held_new(const tn_notification_t *n, const char *key, const uint64_t *firing,
                        size_t nfiring, const uint64_t *resolved, size_t nresolved,
                        tn_duration_t repeat)
{
    held_t *h = tn_xcalloc(1, sizeof(*h));
    h->key = tn_xstrdup(key);
    h->group_key = tn_xstrdup(n->group_key ? n->group_key : "");
    h->nglabels = n->group_labels.n;
    h->glabels = tn_xmalloc((h->nglabels + 1) * sizeof(*h->glabels));
    for (size_t i = 0; i < h->nglabels; i++) {
        h->glabels[i].name = tn_intern_ref(n->group_labels.v[i].name);
        h->glabels[i].value = tn_intern_ref(n->group_labels.v[i].value);
    }
    h->nrlabels = n->route_labels.n;
    h->rlabels = tn_xmalloc((h->nrlabels + 1) * sizeof(*h->rlabels));
    for (size_t i = 0; i < h->nrlabels; i++) {
        h->rlabels[i].name = tn_intern_ref(n->route_labels.v[i].name);
        h->rlabels[i].value = tn_intern_ref(n->route_labels.v[i].value);
    }
    h->nalerts = n->nalerts;
    h->alerts = tn_xmalloc((n->nalerts + 1) * sizeof(*h->alerts));
    for (size_t i = 0; i < n->nalerts; i++) {
        h->alerts[i] = n->alerts[i];
        tn_alert_ref((tn_alert_t *)n->alerts[i].alert);
        h->nfiring_alerts += !n->alerts[i].resolved;
    }
    h->firing = u64_dup(firing, nfiring);
    h->nfiring = nfiring;
    h->resolved = u64_dup(resolved, nresolved);
    h->nresolved = nresolved;
    h->repeat = repeat;
    return h;
}

static bool same_hashes(const held_t *h, const uint64_t *firing, size_t nfiring,
                        const uint64_t *resolved, size_t nresolved)
{
    return h->nfiring == nfiring && h->nresolved == nresolved &&
           (!nfiring || memcmp(h->firing, firing, nfiring * sizeof(*firing)) == 0) &&
           (!nresolved || memcmp(h->resolved, resolved, nresolved * sizeof(*resolved)) == 0);
}

/* ---- lanes: one bucket and what it holds ---- */

typedef struct lane lane_t;

struct tn_ratelimit {
    tn_sched_t *sched;
    tn_nflog_t *nflog;
    tn_rl_delivery_t delivery;
    tn_duration_t retention;
    tn_strtab_t lanes;
    tn_strtab_t logs; /* info-log throttle per receiver integration */
    size_t held_alerts, held_groups;
    tn_metric_t *m_limited, *m_held, *m_summaries;
};

typedef struct log_state {
    char *key;
    tn_time_t last;
    size_t held_since; /* notifications held since the last line */
} log_state_t;

static const char *log_key(const void *l)
{
    return ((const log_state_t *)l)->key;
}

struct lane {
    tn_ratelimit_t *rl;
    char *key;
    char *log_key;  /* receiver integration, for logs */
    char *receiver; /* receiver name and integration of the bucket */
    const char *integration;
    unsigned idx;
    bool per_group;
    tn_config_t *cfg; /* latest snapshot seen: the integration config of summaries */
    char *external_url;
    tn_rate_limit_t p;
    tn_bucket_t bucket;
    tn_strtab_t held;
    size_t nheld_alerts, nheld_notifications;
    tn_time_t since;
    tn_sched_entry_t timer;
    /* The summary in flight: what it carries, until the sender answers. */
    bool sending;
    void *handle;
    struct summary_build *sb; /* what the summary in flight points into */
    char *sb_key;
    held_t **out;
    size_t nout, out_notifications;
    tn_time_t out_since;
    tn_metric_child_t *m_limited, *m_held, *m_summaries;
};

static const char *lane_key_of(const void *l)
{
    return ((const lane_t *)l)->key;
}

static void lane_arm(lane_t *l, tn_time_t now);

static void held_account(lane_t *l, held_t *h, int sign)
{
    double d = (double)sign * (double)h->nalerts;
    l->nheld_alerts = (size_t)((double)l->nheld_alerts + d);
    l->rl->held_alerts = (size_t)((double)l->rl->held_alerts + d);
    l->rl->held_groups = (size_t)((long long)l->rl->held_groups + sign);
    tn_metric_add(l->m_held, d);
}

static void lane_drop_held(lane_t *l)
{
    for (size_t i = 0; i < l->held.cap; i++) {
        held_t *h = l->held.v[i];
        if (!h)
            continue;
        held_account(l, h, -1);
        held_free(h);
    }
    free(l->held.v);
    l->held = (tn_strtab_t){.key_of = held_key};
}

static void lane_drop_out(lane_t *l)
{
    for (size_t i = 0; i < l->nout; i++) {
        held_account(l, l->out[i], -1);
        held_free(l->out[i]);
    }
    free(l->out);
    l->out = NULL;
    l->nout = 0;
}

static void lane_sent_free(lane_t *l);

static void lane_cancel(lane_t *l)
{
    if (l->handle) {
        l->rl->delivery.cancel(l->rl->delivery.ud, l->handle);
        l->handle = NULL;
    }
    lane_sent_free(l);
    l->sending = false;
    lane_drop_out(l);
    lane_drop_held(l);
    tn_sched_cancel(l->rl->sched, &l->timer);
}

static void lane_free(lane_t *l)
{
    lane_cancel(l);
    tn_config_unref(l->cfg);
    free(l->external_url);
    free(l->receiver);
    free(l->log_key);
    free(l->key);
    free(l);
}

static void on_lane_timer(void *ud, tn_time_t now);

/* The bucket key: the receiver integration, or the notification's own log key per group. */
static lane_t *lane_get(tn_ratelimit_t *rl, const tn_rate_limit_t *p, const tn_notification_t *n,
                        const tn_integration_cfg_t *ic, const char *nflog_key, bool create)
{
    char *rkey = tn_nflog_key("", n->receiver, ic->type->name, ic->idx);
    char *key = p->per_group ? tn_xasprintf("g%s", nflog_key) : tn_xasprintf("r%s", rkey);
    lane_t *l = tn_strtab_get(&rl->lanes, key);
    if (!l && create) {
        l = tn_xcalloc(1, sizeof(*l));
        l->rl = rl;
        l->key = key;
        key = NULL;
        l->log_key = rkey;
        rkey = NULL;
        l->receiver = tn_xstrdup(n->receiver);
        l->integration = ic->type->name;
        l->idx = ic->idx;
        l->per_group = p->per_group;
        l->held.key_of = held_key;
        tn_sched_entry_init(&l->timer, on_lane_timer, l);
        l->m_limited = tn_metric_with(rl->m_limited, l->receiver, l->integration, NULL);
        l->m_held = tn_metric_with(rl->m_held, l->receiver, l->integration, NULL);
        l->m_summaries = tn_metric_with(rl->m_summaries, l->receiver, l->integration, NULL);
        tn_strtab_put(&rl->lanes, l);
    }
    if (l) {
        /* The newest settings and snapshot win (a reload may have changed them). */
        l->p = *p;
        if (n->config != l->cfg) {
            tn_config_unref(l->cfg);
            l->cfg = tn_config_ref((tn_config_t *)n->config);
        }
        if (!l->external_url || strcmp(l->external_url, n->external_url ? n->external_url : "")) {
            free(l->external_url);
            l->external_url = tn_xstrdup(n->external_url ? n->external_url : "");
        }
    }
    free(key);
    free(rkey);
    return l;
}

/* Info log at most once per period per receiver integration. */
static void lane_log_hold(lane_t *l, tn_time_t now)
{
    tn_ratelimit_t *rl = l->rl;
    log_state_t *s = tn_strtab_get(&rl->logs, l->log_key);
    if (!s) {
        s = tn_xcalloc(1, sizeof(*s));
        s->key = tn_xstrdup(l->log_key);
        s->last = INT64_MIN;
        tn_strtab_put(&rl->logs, s);
    }
    s->held_since++;
    if (s->last != INT64_MIN && now - s->last < l->p.period)
        return;
    char held[24], limit[24], period[32];
    snprintf(held, sizeof(held), "%zu", s->held_since);
    snprintf(limit, sizeof(limit), "%u", l->p.limit);
    tn_duration_format(l->p.period, period);
    tn_log(TN_LOG_INFO, "Rate limit reached; holding notifications for a summary", "receiver",
           l->receiver, "integration", l->integration, "limit", limit, "period", period, "per",
           l->per_group ? "group" : "receiver", "held", held, NULL);
    s->last = now;
    s->held_since = 0;
}

static void hold(lane_t *l, const tn_notification_t *n, const char *nflog_key,
                 const uint64_t *firing, size_t nfiring, const uint64_t *resolved, size_t nresolved,
                 tn_duration_t repeat, bool count)
{
    held_t *old = tn_strtab_get(&l->held, nflog_key);
    if (count && old && same_hashes(old, firing, nfiring, resolved, nresolved))
        count = false; /* the same notification again (the group flushed once more) */
    held_t *h = held_new(n, nflog_key, firing, nfiring, resolved, nresolved, repeat);
    tn_strtab_put(&l->held, h); /* replaces old in its slot */
    if (old) {
        held_account(l, old, -1);
        held_free(old);
    }
    held_account(l, h, +1);
    if (count) {
        tn_time_t now = tn_clock_now();
        if (!l->nheld_notifications)
            l->since = now;
        l->nheld_notifications++;
        tn_metric_add(l->m_limited, 1);
        lane_log_hold(l, now);
    }
}

bool tn_ratelimit_admit(tn_ratelimit_t *rl, const tn_rate_limit_t *p, const tn_notification_t *n,
                        const tn_integration_cfg_t *ic, const char *nflog_key,
                        const uint64_t *firing, size_t nfiring, const uint64_t *resolved,
                        size_t nresolved, tn_duration_t repeat)
{
    if (!p || !p->limit)
        return true;
    tn_time_t now = tn_clock_now();
    lane_t *l = lane_get(rl, p, n, ic, nflog_key, true);
    if (l->held.count == 0 && tn_bucket_take(&l->bucket, p, now)) {
        lane_arm(l, now);
        return true;
    }
    hold(l, n, nflog_key, firing, nfiring, resolved, nresolved, repeat, true);
    lane_arm(l, now);
    return false;
}

void tn_ratelimit_refresh(tn_ratelimit_t *rl, const tn_rate_limit_t *p, const tn_notification_t *n,
                          const tn_integration_cfg_t *ic, const char *nflog_key,
                          const uint64_t *firing, size_t nfiring, const uint64_t *resolved,
                          size_t nresolved)
{
    if (!p || !p->limit)
        return;
    lane_t *l = lane_get(rl, p, n, ic, nflog_key, false);
    held_t *h = l ? tn_strtab_get(&l->held, nflog_key) : NULL;
    if (!h || same_hashes(h, firing, nfiring, resolved, nresolved))
        return;
    hold(l, n, nflog_key, firing, nfiring, resolved, nresolved, h->repeat, false);
}

size_t tn_ratelimit_held_alerts(const tn_ratelimit_t *rl)
{
    return rl->held_alerts;
}

size_t tn_ratelimit_held_groups(const tn_ratelimit_t *rl)
{
    return rl->held_groups;
}

/* ---- summaries ---- */

typedef struct summary_build {
    tn_summary_t s;
    tn_summary_group_t *groups;
    tn_summary_name_t *names;
    tn_notif_alert_t *alerts;
    size_t nalerts, nfiring;
} summary_build_t;

static int held_cmp(const void *a, const void *b)
{
    return strcmp((*(held_t *const *)a)->group_key, (*(held_t *const *)b)->group_key);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int name_count_cmp(const void *a, const void *b)
{
    const tn_summary_name_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->alertname, y->alertname);
}

/* Builds the summary of hs (sorted by group key); strings are borrowed from hs. */
static void summary_build(summary_build_t *sb, held_t **hs, size_t nh, size_t nnotifications,
                          tn_time_t since)
{
    memset(sb, 0, sizeof(*sb));
    size_t total = 0;
    for (size_t i = 0; i < nh; i++)
        total += hs[i]->nalerts;
    sb->s.ngroups = nh;
    sb->s.nalerts = total;
    sb->s.nnotifications = nnotifications;
    sb->s.since = since;
    sb->s.nlisted_groups = TN_MIN(nh, (size_t)TN_SUMMARY_MAX_LIST);
    sb->groups = tn_xcalloc(sb->s.nlisted_groups + 1, sizeof(*sb->groups));
    for (size_t i = 0; i < nh; i++) {
        held_t *h = hs[i];
        sb->s.nfiring += h->nfiring_alerts;
        sb->s.nresolved += h->nalerts - h->nfiring_alerts;
        if (i < sb->s.nlisted_groups)
            sb->groups[i] = (tn_summary_group_t){h->group_key,
                                                 {h->glabels, h->nglabels},
                                                 h->nfiring_alerts,
                                                 h->nalerts - h->nfiring_alerts};
    }
    /* Alert names with counts, most first. */
    const char **nm = tn_xmalloc((total + 1) * sizeof(*nm));
    size_t k = 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < hs[i]->nalerts; j++)
            nm[k++] = tn_alert_name(hs[i]->alerts[j].alert);
    qsort(nm, k, sizeof(*nm), name_cmp);
    sb->names = tn_xcalloc(k + 1, sizeof(*sb->names));
    size_t nn = 0;
    for (size_t i = 0; i < k; i++) {
        if (nn && strcmp(sb->names[nn - 1].alertname, nm[i]) == 0)
            sb->names[nn - 1].count++;
        else
            sb->names[nn++] = (tn_summary_name_t){nm[i], 1};
    }
    free(nm);
    qsort(sb->names, nn, sizeof(*sb->names), name_count_cmp);
    sb->s.nnames = TN_MIN(nn, (size_t)TN_SUMMARY_MAX_LIST);
    /* The alerts themselves: firing first, each part in the usual order, cut at the cap. */
    size_t cap = TN_MIN(total, (size_t)TN_SUMMARY_MAX_ALERTS);
    sb->alerts = tn_xmalloc((cap + 1) * sizeof(*sb->alerts));
    for (int pass = 0; pass < 2; pass++) {
        size_t start = sb->nalerts;
        for (size_t i = 0; i < nh && sb->nalerts < cap; i++)
            for (size_t j = 0; j < hs[i]->nalerts && sb->nalerts < cap; j++)
                if (hs[i]->alerts[j].resolved == (pass == 1))
                    sb->alerts[sb->nalerts++] = hs[i]->alerts[j];
        tn_notif_alerts_sort(sb->alerts + start, sb->nalerts - start);
        if (pass == 0)
            sb->nfiring = sb->nalerts;
    }
    sb->s.groups = sb->groups;
    sb->s.names = sb->names;
    sb->s.truncated = sb->s.nlisted_groups < nh || sb->s.nnames < nn || sb->nalerts < total;
}

static void summary_build_free(summary_build_t *sb)
{
    free(sb->groups);
    free(sb->names);
    free(sb->alerts);
}

static const tn_integration_cfg_t *lane_integration(const lane_t *l)
{
    const tn_receiver_cfg_t *r = l->cfg ? tn_config_receiver(l->cfg, l->receiver) : NULL;
    for (size_t i = 0; r && i < r->nintegrations; i++)
        if (strcmp(r->integrations[i].type->name, l->integration) == 0 &&
            r->integrations[i].idx == l->idx)
            return &r->integrations[i];
    return NULL;
}

static void record_sent(lane_t *l, tn_time_t now)
{
    tn_ratelimit_t *rl = l->rl;
    for (size_t i = 0; i < l->nout; i++) {
        held_t *h = l->out[i];
        tn_duration_t keep = 2 * h->repeat;
        if (rl->retention > 0 && (keep <= 0 || keep > rl->retention))
            keep = rl->retention;
        /* What the integration kept for the group (a message to update) stays. */
        const tn_nflog_entry_t *e = tn_nflog_get(rl->nflog, h->key);
        tn_nflog_log(rl->nflog, h->key, h->firing, h->nfiring, h->resolved, h->nresolved,
                     e ? &e->data : NULL, now, now + keep);
    }
}

static void lane_sent_free(lane_t *l)
{
    if (l->sb) {
        summary_build_free(l->sb);
        free(l->sb);
        l->sb = NULL;
    }
    free(l->sb_key);
    l->sb_key = NULL;
}

static void on_summary_done(void *ctx, bool ok, const char *err)
{
    lane_t *l = ctx;
    lane_sent_free(l);
    tn_time_t now = tn_clock_now();
    l->handle = NULL;
    l->sending = false;
    char groups[24], notifs[24];
    snprintf(groups, sizeof(groups), "%zu", l->nout);
    snprintf(notifs, sizeof(notifs), "%zu", l->out_notifications);
    if (ok) {
        record_sent(l, now);
        tn_metric_add(l->m_summaries, 1);
        tn_log(TN_LOG_DEBUG, "Rate-limit summary sent", "receiver", l->receiver, "integration",
               l->integration, "groups", groups, "notifications", notifs, NULL);
        lane_drop_out(l);
    } else {
        tn_log(TN_LOG_WARN, "Rate-limit summary failed; holding on for the next token", "receiver",
               l->receiver, "integration", l->integration, "groups", groups, "err", err ? err : "",
               NULL);
        /* Back into the held set, unless a newer copy was held meanwhile. */
        for (size_t i = 0; i < l->nout; i++) {
            held_t *h = l->out[i];
            if (tn_strtab_get(&l->held, h->key)) {
                held_account(l, h, -1);
                held_free(h);
            } else {
                tn_strtab_put(&l->held, h);
            }
        }
        free(l->out);
        l->out = NULL;
        l->nout = 0;
        if (!l->nheld_notifications || l->out_since < l->since)
            l->since = l->out_since;
        l->nheld_notifications += l->out_notifications;
    }
    lane_arm(l, now);
}

static void send_summary(lane_t *l, tn_time_t now)
{
    tn_ratelimit_t *rl = l->rl;
    /* Take the held set out of the lane: holds from now on are for the next summary. */
    l->out = tn_xmalloc((l->held.count + 1) * sizeof(*l->out));
    l->nout = 0;
    for (size_t i = 0; i < l->held.cap; i++)
        if (l->held.v[i])
            l->out[l->nout++] = l->held.v[i];
    free(l->held.v);
    l->held = (tn_strtab_t){.key_of = held_key};
    l->out_notifications = l->nheld_notifications;
    l->out_since = l->since;
    l->nheld_notifications = 0;
    qsort(l->out, l->nout, sizeof(*l->out), held_cmp);

    const tn_integration_cfg_t *ic = lane_integration(l);
    if (!ic) {
        tn_log(TN_LOG_WARN, "Dropping held notifications: their integration left the config",
               "receiver", l->receiver, "integration", l->integration, NULL);
        lane_drop_out(l);
        return;
    }
    summary_build_t *sb = tn_xmalloc(sizeof(*sb));
    summary_build(sb, l->out, l->nout, l->out_notifications, l->out_since);
    tn_labels_t glabels = {NULL, 0}, rlabels = {NULL, 0};
    if (l->per_group && l->nout == 1) {
        l->sb_key = tn_xstrdup(l->out[0]->group_key);
        glabels = (tn_labels_t){l->out[0]->glabels, l->out[0]->nglabels};
        rlabels = (tn_labels_t){l->out[0]->rlabels, l->out[0]->nrlabels};
    } else {
        l->sb_key = tn_xasprintf("%s%s", SUMMARY_KEY_PREFIX, l->log_key);
    }
    l->sb = sb;
    tn_notification_t n = {
        .receiver = l->receiver,
        .group_key = l->sb_key,
        .group_labels = glabels,
        .alerts = sb->alerts,
        .nalerts = sb->nalerts,
        .nfiring = sb->nfiring,
        .external_url = l->external_url,
        .now = now,
        .config = l->cfg,
        .route = NULL,
        .reason = SUMMARY_REASON,
        .summary = &sb->s,
        .route_labels = rlabels,
    };
    tn_duration_t timeout = TN_MIN(TN_MAX(bucket_step(&l->p), MIN_SEND_TIMEOUT), MAX_SEND_TIMEOUT);
    l->sending = true;
    void *h = rl->delivery.deliver(rl->delivery.ud, ic, &n, now + timeout, on_summary_done, l);
    /* The notifier may answer from inside deliver. */
    l->handle = l->sending ? h : NULL;
}

/* Keeps the lane's timer on its next event: the next token while something is held, else the
 * instant the bucket is full again (then the lane goes, as a full bucket is the default). */
static void lane_arm(lane_t *l, tn_time_t now)
{
    if (l->sending)
        return;
    tn_time_t at = l->held.count ? tn_bucket_ready_at(&l->bucket, &l->p) : l->bucket.tat;
    tn_sched_at(l->rl->sched, &l->timer, TN_MAX(at, now));
}

static void on_lane_timer(void *ud, tn_time_t now)
{
    lane_t *l = ud;
    if (l->sending)
        return;
    if (l->held.count == 0) {
        if (now >= l->bucket.tat) {
            tn_strtab_del(&l->rl->lanes, l->key);
            lane_free(l);
        } else {
            lane_arm(l, now);
        }
        return;
    }
    if (!tn_bucket_take(&l->bucket, &l->p, now)) {
        lane_arm(l, now);
        return;
    }
    send_summary(l, now);
    if (!l->sending)
        lane_arm(l, now);
}

/* ---- the limiter ---- */

tn_ratelimit_t *tn_ratelimit_new(tn_sched_t *sched, tn_nflog_t *nflog, tn_rl_delivery_t delivery)
{
    tn_ratelimit_t *rl = tn_xcalloc(1, sizeof(*rl));
    rl->sched = sched;
    rl->nflog = nflog;
    rl->delivery = delivery;
    rl->lanes.key_of = lane_key_of;
    rl->logs.key_of = log_key;
    rl->m_limited =
        tn_metric_counter("tocsin_notifications_rate_limited_total",
                          "Notifications held back by a route's rate_limit (each counted once).",
                          "receiver,integration");
    rl->m_held = tn_metric_gauge("tocsin_notifications_held_alerts",
                                 "Alerts in notifications held back by a rate_limit, waiting "
                                 "for a summary.",
                                 "receiver,integration");
    rl->m_summaries =
        tn_metric_counter("tocsin_notifications_rate_limit_summaries_total",
                          "Rate-limit summary notifications delivered.", "receiver,integration");
    return rl;
}

void tn_ratelimit_set_retention(tn_ratelimit_t *rl, tn_duration_t retention)
{
    rl->retention = retention;
}

void tn_ratelimit_cancel_all(tn_ratelimit_t *rl)
{
    for (size_t i = 0; i < rl->lanes.cap; i++)
        if (rl->lanes.v[i])
            lane_cancel(rl->lanes.v[i]);
}

void tn_ratelimit_free(tn_ratelimit_t *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->lanes.cap; i++)
        if (rl->lanes.v[i])
            lane_free(rl->lanes.v[i]);
    free(rl->lanes.v);
    for (size_t i = 0; i < rl->logs.cap; i++) {
        log_state_t *s = rl->logs.v[i];
        if (s) {
            free(s->key);
            free(s);
        }
    }
    free(rl->logs.v);
    free(rl);
}
