/* The per-flush notification pipeline: dedup, send with retry, record. */
#include "tocsin/notify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/outbound.h"
#include "tocsin/ratelimit.h"

/* Backoff as Alertmanager's retrier: 500 ms, x1.5, +-50 % jitter, at most 60 s apart. */
#define BACKOFF_INITIAL_MS 500.0
#define BACKOFF_FACTOR     1.5
#define BACKOFF_JITTER     0.5
#define BACKOFF_MAX_MS     60000.0

typedef struct flush flush_t;

typedef struct job {
    flush_t *f;
    const tn_integration_cfg_t *ic;
    char *key;              /* nflog key */
    tn_notification_t view; /* what this integration sends (firing only without send_resolved) */
    tn_notif_alert_t *own_alerts; /* view's alerts when filtered */
    void *handle;                 /* attempt in flight */
    tn_sched_entry_t retry;
    unsigned attempts;
    double backoff_ms;
    uint64_t attempt_started_ms;
    bool finished;
    bool in_start, completed_in_start;
    const char *last_reason; /* of the last attempt that failed before the deadline */
    char last_err[256];
} job_t;

struct flush {
    tn_notifier_t *nt;
    flush_t *prev, *next;
    tn_notification_t n;
    tn_config_t *cfg;
    tn_label_t *group_labels;
    tn_label_t *route_labels;
    tn_notif_alert_t *alerts;
    tn_duration_t repeat;
    tn_time_t deadline;
    uint64_t *firing, *resolved;
    size_t nfiring, nresolved;
    size_t pending;
    bool ok;
    tn_flush_done_fn done;
    void *done_ud;
    size_t njobs;
    job_t jobs[];
};

struct tn_notifier {
    tn_sched_t *sched;
    tn_nflog_t *nflog;
    tn_sender_t sender;
    flush_t *flushes;
    size_t inflight;
    bool closing;
    tn_duration_t retention; /* cap on nflog entry lifetime; 0 = none */
    tn_mute_fn mute;
    void *mute_ud;
    tn_ratelimit_t *rl; /* routes' rate_limit: held notifications and their summaries */
    tn_metric_t *m_total, *m_failed, *m_requests, *m_requests_failed, *m_latency;
};

static const char *const failure_reasons[] = {
    "other",     "clientError", "serverError", "contextCanceled", "contextDeadlineExceeded",
    "authError", "rateLimited"};

static const char *reason_text(enum tn_notify_reason r)
{
    switch (r) {
    case TN_REASON_NONE:
        return "none";
    case TN_REASON_FIRST:
        return "first notification";
    case TN_REASON_NEW_ALERTS:
        return "new alerts added";
    case TN_REASON_NEW_RESOLVED:
        return "some alerts resolved";
    case TN_REASON_ALL_RESOLVED:
        return "all alerts resolved";
    case TN_REASON_REPEAT:
        return "repeat interval elapsed";
    }
    return "unknown";
}

tn_notifier_t *tn_notifier_new(tn_sched_t *sched, tn_nflog_t *nflog, tn_sender_t sender)
{
    tn_notifier_t *nt = tn_xcalloc(1, sizeof(*nt));
    nt->sched = sched;
    nt->nflog = nflog;
    nt->sender = sender;
    nt->rl = tn_ratelimit_new(sched, nflog, &nt->sender);
    nt->m_total = tn_metric_counter("alertmanager_notifications_total",
                                    "The total number of attempted notifications.", "integration");
    nt->m_failed =
        tn_metric_counter("alertmanager_notifications_failed_total",
                          "The total number of failed notifications.", "integration,reason");
    nt->m_requests =
        tn_metric_counter("alertmanager_notification_requests_total",
                          "The total number of attempted notification requests.", "integration");
    nt->m_requests_failed =
        tn_metric_counter("alertmanager_notification_requests_failed_total",
                          "The total number of failed notification requests.", "integration");
    static const double buckets[] = {1, 5, 10, 15, 20};
    nt->m_latency = tn_metric_histogram("alertmanager_notification_latency_seconds",
                                        "The latency of notifications in seconds.", "integration",
                                        buckets, TN_ARRAY_LEN(buckets));
    /* Export zeros for every integration, as Alertmanager does, so rate() works from start. */
    for (size_t i = 0; tn_receiver_types[i]; i++) {
        const char *name = tn_receiver_types[i]->name;
        tn_metric_with(nt->m_total, name, NULL);
        tn_metric_with(nt->m_requests, name, NULL);
        tn_metric_with(nt->m_requests_failed, name, NULL);
        tn_metric_with(nt->m_latency, name, NULL);
        for (size_t r = 0; r < TN_ARRAY_LEN(failure_reasons); r++)
            tn_metric_with(nt->m_failed, name, failure_reasons[r], NULL);
    }
    return nt;
}

void tn_notifier_set_retention(tn_notifier_t *nt, tn_duration_t retention)
{
    nt->retention = retention;
    tn_ratelimit_set_retention(nt->rl, retention);
}

size_t tn_notifier_inflight(tn_notifier_t *nt)
{
    return nt->inflight;
}

enum tn_notify_reason tn_notify_needs_update(const tn_nflog_entry_t *entry, const uint64_t *firing,
                                             size_t nfiring, const uint64_t *resolved,
                                             size_t nresolved, bool send_resolved,
                                             tn_duration_t repeat, tn_time_t now)
{
    if (!entry)
        return nfiring ? TN_REASON_FIRST : TN_REASON_NONE;
    if (!tn_nflog_is_subset(firing, nfiring, entry->firing, entry->nfiring))
        return entry->nfiring == 0 ? TN_REASON_FIRST : TN_REASON_NEW_ALERTS;
    if (nfiring == 0)
        return entry->nfiring ? TN_REASON_ALL_RESOLVED : TN_REASON_NONE;
    if (send_resolved &&
        !tn_nflog_is_subset(resolved, nresolved, entry->resolved, entry->nresolved))
        return TN_REASON_NEW_RESOLVED;
    if (entry->timestamp < now - repeat)
        return TN_REASON_REPEAT;
    return TN_REASON_NONE;
}

/* ---- flush lifetime ---- */

static void flush_free(flush_t *f)
{
    for (size_t i = 0; i < f->njobs; i++) {
        free(f->jobs[i].key);
        free(f->jobs[i].own_alerts);
    }
    for (size_t i = 0; i < f->n.nalerts; i++)
        tn_alert_unref((tn_alert_t *)f->alerts[i].alert);
    for (size_t i = 0; i < f->n.group_labels.n; i++) {
        tn_intern_unref(f->group_labels[i].name);
        tn_intern_unref(f->group_labels[i].value);
    }
    free(f->group_labels);
    for (size_t i = 0; i < f->n.route_labels.n; i++) {
        tn_intern_unref(f->route_labels[i].name);
        tn_intern_unref(f->route_labels[i].value);
    }
    free(f->route_labels);
    free(f->alerts);
    free(f->firing);
    free(f->resolved);
    free((char *)f->n.receiver);
    free((char *)f->n.group_key);
    free((char *)f->n.external_url);
    tn_config_unref(f->cfg);
    free(f);
}

static void flush_release(flush_t *f);

static void job_finish(job_t *j, bool ok)
{
    if (j->finished)
        return;
    j->finished = true;
    flush_t *f = j->f;
    if (!ok)
        f->ok = false;
    flush_release(f);
}

/* Drops one hold on the flush; the last one completes it. */
static void flush_release(flush_t *f)
{
    if (--f->pending)
        return;
    tn_notifier_t *nt = f->nt;
    if (f->prev)
        f->prev->next = f->next;
    else
        nt->flushes = f->next;
    if (f->next)
        f->next->prev = f->prev;
    nt->inflight--;
    f->done(f->done_ud, f->ok);
    flush_free(f);
}

static const char *integration_name(const job_t *j)
{
    return j->ic->type->name;
}

static void job_fail(job_t *j, const char *reason, const char *err)
{
    tn_notifier_t *nt = j->f->nt;
    tn_metric_add(tn_metric_with(nt->m_failed, integration_name(j), reason, NULL), 1);
    char attempts[16];
    snprintf(attempts, sizeof(attempts), "%u", j->attempts);
    tn_log(TN_LOG_ERROR, "Notify for alerts failed", "aggrGroup", j->f->n.group_key, "receiver",
           j->f->n.receiver, "integration", integration_name(j), "attempts", attempts, "err", err,
           NULL);
    job_finish(j, false);
}

/* Gives up on a job whose flush ran out of time or was cancelled. As Alertmanager, the failure
 * is the last attempt's when there was one, else the context's. */
static void job_give_up(job_t *j, const char *ctx_reason, const char *ctx_err)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "notify retry canceled after %u attempts: %s", j->attempts,
             j->last_reason ? j->last_err : ctx_err);
    job_fail(j, j->last_reason ? j->last_reason : ctx_reason, msg);
}

static void job_record(job_t *j)
{
    flush_t *f = j->f;
    tn_notifier_t *nt = f->nt;
    tn_time_t now = tn_clock_now();
    /* Kept for 2 x repeat_interval, but no longer than --data.retention. */
    tn_duration_t keep = 2 * f->repeat;
    if (nt->retention > 0 && (keep <= 0 || keep > nt->retention))
        keep = nt->retention;
    tn_nflog_log(nt->nflog, j->key, f->firing, f->nfiring, f->resolved, f->nresolved, now,
                 now + keep);
}

static void attempt(job_t *j);

/* The Retry-After of the reply that on_attempt_done is about to handle, in ms (0 = none). The
 * real sender sets it just before calling done on the same loop, and done consumes it. */
static uint64_t notify_retry_after_ms;

static void on_retry_timer(void *ud, tn_time_t now)
{
    (void)now;
    attempt(ud);
}

static void on_attempt_done(void *ctx, enum tn_send_result r, const char *reason, const char *err)
{
    job_t *j = ctx;
    tn_notifier_t *nt = j->f->nt;
    uint64_t wait_ms = notify_retry_after_ms;
    notify_retry_after_ms = 0;
    j->handle = NULL;
    if (j->in_start)
        j->completed_in_start = true;
    const char *iname = integration_name(j);
    double secs = (double)(tn_clock_mono_ms() - j->attempt_started_ms) / 1000.0;
    tn_metric_observe(tn_metric_with(nt->m_latency, iname, NULL), secs);
    tn_metric_add(tn_metric_with(nt->m_requests, iname, NULL), 1);
    /* The job was cancelled while this attempt ran (before its handle was known, so the
     * sender could not be told): the answer only counts; the job already ended. */
    if (j->finished) {
        if (r != TN_SEND_DONE)
            tn_metric_add(tn_metric_with(nt->m_requests_failed, iname, NULL), 1);
        return;
    }
    if (r == TN_SEND_DONE) {
        char attempts[16], nalerts[16];
        snprintf(attempts, sizeof(attempts), "%u", j->attempts);
        snprintf(nalerts, sizeof(nalerts), "%zu", j->view.nalerts);
        tn_log(j->attempts > 1 ? TN_LOG_INFO : TN_LOG_DEBUG, "Notify success", "aggrGroup",
               j->f->n.group_key, "receiver", j->f->n.receiver, "integration", iname, "attempts",
               attempts, "numAlerts", nalerts, NULL);
        job_record(j);
        job_finish(j, true);
        return;
    }
    tn_metric_add(tn_metric_with(nt->m_requests_failed, iname, NULL), 1);
    if (!reason)
        reason = "other";
    if (r == TN_SEND_FAIL) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "notify retry canceled due to unrecoverable error after %u "
                 "attempts: %s",
                 j->attempts, err ? err : "");
        job_fail(j, reason, msg);
        return;
    }
    if (!err)
        err = "";
    tn_time_t now = tn_clock_now();
    /* An attempt cut short by the flush deadline says nothing new: keep the previous error. */
    if (now < j->f->deadline) {
        if (strcmp(err, j->last_err) != 0) {
            char attempts[16];
            snprintf(attempts, sizeof(attempts), "%u", j->attempts);
            tn_log(TN_LOG_WARN, "Notify attempt failed, will retry later", "aggrGroup",
                   j->f->n.group_key, "receiver", j->f->n.receiver, "integration", iname,
                   "attempts", attempts, "err", err, NULL);
            snprintf(j->last_err, sizeof(j->last_err), "%s", err);
        }
        j->last_reason = reason;
    }
    /* Next try after a jittered, growing delay, unless that is past the flush deadline (where
     * Alertmanager would wait for the deadline and fail the same way). */
    double jitter = 1.0 + BACKOFF_JITTER * (2.0 * ((double)rand() / RAND_MAX) - 1.0);
    double delay = j->backoff_ms * jitter;
    j->backoff_ms = fmin(j->backoff_ms * BACKOFF_FACTOR, BACKOFF_MAX_MS);
    /* A rate-limited peer said when to come back: not before (the deadline still caps it). */
    if ((double)wait_ms > delay)
        delay = (double)wait_ms;
    tn_time_t at = now + (tn_time_t)(delay * (double)TN_NS_PER_MS);
    if (at >= j->f->deadline) {
        job_give_up(j, "contextDeadlineExceeded", "context deadline exceeded");
        return;
    }
    tn_sched_at(nt->sched, &j->retry, at);
}

static void attempt(job_t *j)
{
    tn_notifier_t *nt = j->f->nt;
    tn_time_t now = tn_clock_now();
    if (now >= j->f->deadline) {
        job_give_up(j, "contextDeadlineExceeded", "context deadline exceeded");
        return;
    }
    j->attempts++;
    j->attempt_started_ms = tn_clock_mono_ms();
    uint64_t timeout_ms = (uint64_t)((j->f->deadline - now) / TN_NS_PER_MS);
    if (timeout_ms == 0)
        timeout_ms = 1;
    char err[TN_ERRBUF_SIZE] = "";
    /* A sender may complete synchronously, even finish the job: hold the flush open. */
    flush_t *f = j->f;
    f->pending++;
    j->in_start = true;
    j->completed_in_start = false;
    void *h = nt->sender.start(nt->sender.ud, j->ic, &j->view, timeout_ms, on_attempt_done, j, err,
                               sizeof(err));
    j->in_start = false;
    j->handle = j->completed_in_start ? NULL : h;
    if (j->handle && j->finished) {
        /* Cancelled from inside start (before the handle was known): drop the attempt. */
        nt->sender.cancel(nt->sender.ud, j->handle);
        j->handle = NULL;
    } else if (!h) {
        tn_metric_add(tn_metric_with(nt->m_requests, integration_name(j), NULL), 1);
        tn_metric_add(tn_metric_with(nt->m_requests_failed, integration_name(j), NULL), 1);
        job_fail(j, "other", err);
    }
    flush_release(f);
}

static void job_start(job_t *j)
{
    flush_t *f = j->f;
    tn_notifier_t *nt = f->nt;
    const tn_nflog_entry_t *e = tn_nflog_get(nt->nflog, j->key);
    enum tn_notify_reason why =
        tn_notify_needs_update(e, f->firing, f->nfiring, f->resolved, f->nresolved,
                               j->ic->send_resolved, f->repeat, f->n.now);
    const tn_rate_limit_t *limit = f->n.route ? &f->n.route->rate_limit : NULL;
    if (why == TN_REASON_NONE) {
        /* A held notification follows its group's state, so its summary tells the news. */
        tn_ratelimit_refresh(nt->rl, limit, &f->n, j->ic, j->key, f->firing, f->nfiring,
                             f->resolved, f->nresolved);
        job_finish(j, true);
        return;
    }
    j->view.reason = reason_text(why);
    if (!j->ic->send_resolved) {
        if (f->nfiring == 0) {
            tn_metric_add(tn_metric_with(nt->m_total, integration_name(j), NULL), 1);
            tn_ratelimit_refresh(nt->rl, limit, &f->n, j->ic, j->key, f->firing, f->nfiring,
                                 f->resolved, f->nresolved);
            /* Nothing this integration would send; remember the state all the same. */
            job_record(j);
            job_finish(j, true);
            return;
        }
        if (f->nfiring != f->n.nalerts) {
            j->own_alerts = tn_xmalloc(f->nfiring * sizeof(*j->own_alerts));
            size_t k = 0;
            for (size_t i = 0; i < f->n.nalerts; i++)
                if (!f->alerts[i].resolved)
                    j->own_alerts[k++] = f->alerts[i];
            j->view.alerts = j->own_alerts;
            j->view.nalerts = k;
        }
    }
    /* Over the route's rate_limit: held for a summary, and the flush is done with it. */
    if (!tn_ratelimit_admit(nt->rl, limit, &j->view, j->ic, j->key, f->firing, f->nfiring,
                            f->resolved, f->nresolved, f->repeat)) {
        job_finish(j, true);
        return;
    }
    tn_metric_add(tn_metric_with(nt->m_total, integration_name(j), NULL), 1);
    attempt(j);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void tn_notifier_set_muter(tn_notifier_t *nt, tn_mute_fn fn, void *ud)
{
    nt->mute = fn;
    nt->mute_ud = ud;
}

void tn_notify_flush(tn_notifier_t *nt, const tn_notification_t *n, tn_duration_t repeat_interval,
                     tn_time_t deadline, tn_flush_done_fn done, void *ud)
{
    const tn_receiver_cfg_t *rcv = tn_config_receiver(n->config, n->receiver);
    size_t njobs = rcv ? rcv->nintegrations : 0;
    bool *keep = NULL;
    size_t nkept = n->nalerts;
    if (nt->mute && n->nalerts > 0) {
        keep = tn_xmalloc(n->nalerts * sizeof(*keep));
        for (size_t i = 0; i < n->nalerts; i++)
            keep[i] = true;
        if (!nt->mute(nt->mute_ud, n, keep)) {
            nkept = 0;
        } else {
            nkept = 0;
            for (size_t i = 0; i < n->nalerts; i++)
                nkept += keep[i];
        }
        if (nkept == 0)
            njobs = 0;
    }
    flush_t *f = tn_xcalloc(1, sizeof(*f) + njobs * sizeof(job_t));
    f->nt = nt;
    f->cfg = tn_config_ref((tn_config_t *)n->config);
    f->repeat = repeat_interval;
    f->deadline = deadline;
    f->done = done;
    f->done_ud = ud;
    f->ok = true;
    f->n = *n;
    f->n.receiver = tn_xstrdup(n->receiver);
    f->n.group_key = tn_xstrdup(n->group_key);
    f->n.external_url = tn_xstrdup(n->external_url ? n->external_url : "");
    f->group_labels = tn_xmalloc((n->group_labels.n + 1) * sizeof(tn_label_t));
    for (size_t i = 0; i < n->group_labels.n; i++) {
        f->group_labels[i].name = tn_intern_ref(n->group_labels.v[i].name);
        f->group_labels[i].value = tn_intern_ref(n->group_labels.v[i].value);
    }
    f->n.group_labels.v = f->group_labels;
    f->route_labels = tn_xmalloc((n->route_labels.n + 1) * sizeof(tn_label_t));
    for (size_t i = 0; i < n->route_labels.n; i++) {
        f->route_labels[i].name = tn_intern_ref(n->route_labels.v[i].name);
        f->route_labels[i].value = tn_intern_ref(n->route_labels.v[i].value);
    }
    f->n.route_labels.v = f->route_labels;
    f->alerts = tn_xmalloc((n->nalerts + 1) * sizeof(*f->alerts));
    f->firing = tn_xmalloc((n->nalerts + 1) * sizeof(uint64_t));
    f->resolved = tn_xmalloc((n->nalerts + 1) * sizeof(uint64_t));
    /* The log records label-set fingerprints where Alertmanager records another hash of the
     * same labels: equal for equal label sets, which is all dedup needs. */
    size_t k = 0;
    for (size_t i = 0; i < n->nalerts && nkept > 0; i++) {
        if (keep && !keep[i])
            continue;
        f->alerts[k++] = n->alerts[i];
        tn_alert_ref((tn_alert_t *)n->alerts[i].alert);
        if (n->alerts[i].resolved)
            f->resolved[f->nresolved++] = n->alerts[i].alert->fp;
        else
            f->firing[f->nfiring++] = n->alerts[i].alert->fp;
    }
    free(keep);
    f->n.nalerts = k;
    f->n.nfiring = f->nfiring;
    qsort(f->firing, f->nfiring, sizeof(uint64_t), u64_cmp);
    qsort(f->resolved, f->nresolved, sizeof(uint64_t), u64_cmp);
    f->n.alerts = f->alerts;
    f->njobs = njobs;
    f->pending = njobs + 1; /* +1 holds the flush open while jobs start */
    f->next = nt->flushes;
    if (nt->flushes)
        nt->flushes->prev = f;
    nt->flushes = f;
    nt->inflight++;

    for (size_t i = 0; i < njobs; i++) {
        job_t *j = &f->jobs[i];
        j->f = f;
        j->ic = &rcv->integrations[i];
        j->key = tn_nflog_key(f->n.group_key, f->n.receiver, j->ic->type->name, j->ic->idx);
        j->view = f->n;
        j->backoff_ms = BACKOFF_INITIAL_MS;
        tn_sched_entry_init(&j->retry, on_retry_timer, j);
    }
    /* Closing may begin while an earlier job starts (a sender that completes at once): then
     * the later jobs are already cancelled and must not start. */
    for (size_t i = 0; i < njobs; i++) {
        if (nt->closing)
            job_finish(&f->jobs[i], false);
        else
            job_start(&f->jobs[i]);
    }
    /* Release the start-up hold; finishes the flush if every job already did. */
    flush_release(f);
}

static void job_cancel(tn_notifier_t *nt, job_t *j)
{
    if (j->finished)
        return;
    if (j->handle) {
        nt->sender.cancel(nt->sender.ud, j->handle);
        j->handle = NULL;
    }
    tn_sched_cancel(nt->sched, &j->retry);
    const char *reason = j->last_reason ? j->last_reason : "contextCanceled";
    tn_metric_add(tn_metric_with(nt->m_failed, integration_name(j), reason, NULL), 1);
    job_finish(j, false);
}

void tn_notifier_cancel_all(tn_notifier_t *nt)
{
    nt->closing = true;
    tn_ratelimit_cancel_all(nt->rl);
    /* A cancel may complete its flush, whose callback may start (and at once end) others, so
     * look for the next job from the head each time. A flush whose jobs have all finished is
     * still inside its start and completes when that returns. */
    for (;;) {
        job_t *j = NULL;
        for (flush_t *f = nt->flushes; f && !j; f = f->next)
            for (size_t i = 0; i < f->njobs && !j; i++)
                if (!f->jobs[i].finished)
                    j = &f->jobs[i];
        if (!j)
            break;
        job_cancel(nt, j);
    }
}

void tn_notifier_free(tn_notifier_t *nt)
{
    if (!nt)
        return;
    tn_notifier_cancel_all(nt);
    tn_ratelimit_free(nt->rl);
    free(nt);
}

/* ---- the real sender: receiver builds the request, outbound carries it ---- */

typedef struct out_attempt {
    tn_outbound_t *ob;
    tn_out_xfer_t *xfer;
    const tn_integration_cfg_t *ic;
    tn_send_done_fn done;
    void *ctx;
} out_attempt_t;

/* Retry-After as delay seconds or an HTTP date, in ms; 0 when absent or unreadable. */
static uint64_t retry_after_ms(const char *v)
{
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long long secs = strtoull(v, &end, 10);
    if (end != v && *end == 0 && v[0] != '-')
        return secs > 86400 ? 86400000ULL : (uint64_t)secs * 1000;
    time_t at = curl_getdate(v, NULL);
    time_t now = (time_t)(tn_clock_now() / TN_NS_PER_SEC);
    if (at == (time_t)-1 || at <= now)
        return 0;
    return (uint64_t)(at - now > 86400 ? 86400 : at - now) * 1000;
}

static void out_done(void *ud, const tn_out_response_t *resp)
{
    out_attempt_t *a = ud;
    const char *reason = "other";
    char err[TN_ERRBUF_SIZE] = "";
    enum tn_send_result r = a->ic->type->classify(a->ic, resp, &reason, err, sizeof(err));
    tn_send_done_fn done = a->done;
    void *ctx = a->ctx;
    free(a);
    notify_retry_after_ms =
        r == TN_SEND_RETRY && resp->status == 429 ? retry_after_ms(resp->retry_after) : 0;
    done(ctx, r, reason, err);
}

static void *out_start(void *ud, const tn_integration_cfg_t *ic, const tn_notification_t *n,
                       uint64_t timeout_ms, tn_send_done_fn done, void *ctx, char *err,
                       size_t errlen)
{
    tn_outbound_t *ob = ud;
    tn_out_request_t req;
    tn_out_request_init(&req);
    if (ic->type->build(ic, n, &req, err, errlen) != TN_OK) {
        tn_out_request_free(&req);
        return NULL;
    }
    if (!req.timeout_ms || req.timeout_ms > timeout_ms)
        req.timeout_ms = timeout_ms;
    out_attempt_t *a = tn_xcalloc(1, sizeof(*a));
    a->ob = ob;
    a->ic = ic;
    a->done = done;
    a->ctx = ctx;
    a->xfer = tn_outbound_send(ob, &req, out_done, a, err, errlen);
    tn_out_request_free(&req);
    if (!a->xfer) {
        free(a);
        return NULL;
    }
    return a;
}

static void out_cancel(void *ud, void *handle)
{
    out_attempt_t *a = handle;
    tn_outbound_cancel(ud, a->xfer);
    free(a);
}

tn_sender_t tn_sender_outbound(tn_outbound_t *ob)
{
    return (tn_sender_t){.ud = ob, .start = out_start, .cancel = out_cancel};
}
