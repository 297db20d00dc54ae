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
#include "tocsin/oauth2.h"
#include "tocsin/outbound.h"
#include "tocsin/ratelimit.h"
#include "tocsin/strtab.h"

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
    tn_send_t send;         /* the attempt's state: steps, kept data, carry */
    tn_notif_alert_t *own_alerts; /* view's alerts when filtered */
    void *handle;                 /* attempt in flight */
    void *gate_handle;            /* lease asked for, no verdict yet */
    bool gating;                  /* between acquire and verdict */
    bool leased;                  /* holds the lease: release when finished */
    tn_sched_entry_t retry;
    int step; /* escalation step; 0 = the route's receiver */
    uint64_t first_attempt_ms;
    unsigned attempts;
    double backoff_ms;
    uint64_t attempt_started_ms;
    bool finished;
    bool in_start, completed_in_start;
    const char *last_reason; /* of the last attempt that failed before the deadline */
    char last_err[TN_ERRBUF_SIZE];
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
    size_t nunacked; /* firing alerts no ack covers */
    size_t pending;
    bool ok;
    /* A direct delivery (a rate-limit summary): one job, no dedup, rate limit or record. */
    bool direct;
    char *fail_err;        /* the failure that ended a direct delivery */
    tn_notif_ack_t ack;    /* the copy n.ack points to, on an ack announcement */
    tn_flush_done_fn done; /* NULL once a direct delivery is cancelled */
    void *done_ud;
    tn_notifier_sent_fn sent;
    void *sent_ctx;
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
    tn_gate_t gate;     /* replicas: one of them sends (acquire NULL when alone) */
    tn_acked_fn acked;
    void *acked_ud;
    tn_notify_observer_fn observer;
    void *observer_ud;
    tn_strtab_t muted; /* group key -> what was last reported muted (muted_t) */
    tn_metric_t *m_total, *m_failed, *m_requests, *m_requests_failed, *m_latency;
};

/* A group whose flush the mute stage held whole, and a hash of the alerts it held. */
typedef struct muted {
    char *key;
    uint64_t hash;
} muted_t;
#define MUTED_MAX 65536

static const char *muted_key(const void *v)
{
    return ((const muted_t *)v)->key;
}

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

static void *notifier_deliver(void *ud, const tn_integration_cfg_t *ic, const tn_notification_t *n,
                              tn_time_t deadline, tn_notifier_sent_fn sent, void *ctx);
static void notifier_deliver_cancel(void *ud, void *handle);

tn_notifier_t *tn_notifier_new(tn_sched_t *sched, tn_nflog_t *nflog, tn_sender_t sender)
{
    tn_notifier_t *nt = tn_xcalloc(1, sizeof(*nt));
    nt->sched = sched;
    nt->nflog = nflog;
    nt->sender = sender;
    nt->muted = TN_STRTAB_INIT(muted_key);
    nt->rl = tn_ratelimit_new(sched, nflog,
                              (tn_rl_delivery_t){.ud = nt,
                                                 .deliver = notifier_deliver,
                                                 .cancel = notifier_deliver_cancel});
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

/* Ends the attempt's state: a retry starts again at step 0 with nothing carried. */
static void send_reset(tn_send_t *s)
{
    if (s->carry)
        (s->carry_free ? s->carry_free : free)(s->carry);
    s->carry = NULL;
    s->carry_free = NULL;
    tn_strmap_free(&s->keep);
    tn_strmap_free(&s->stored);
    s->step = 0;
}

static void flush_free(flush_t *f)
{
    for (size_t i = 0; i < f->njobs; i++) {
        send_reset(&f->jobs[i].send);
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
    free(f->fail_err);
    free((char *)f->ack.id);
    free((char *)f->ack.by);
    free((char *)f->ack.comment);
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
    /* The log entry is written by now, so a peer that takes the lease next sees it. */
    if (j->leased) {
        j->leased = false;
        f->nt->gate.release(f->nt->gate.ud, j->key);
    }
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
    if (f->direct) {
        if (f->sent)
            f->sent(f->sent_ctx, f->ok, f->fail_err ? f->fail_err : "");
    } else {
        f->done(f->done_ud, f->ok);
    }
    flush_free(f);
}

static const char *integration_name(const job_t *j)
{
    return j->ic->type->name;
}

static void job_report(job_t *j, const char *outcome, const char *err)
{
    tn_notifier_t *nt = j->f->nt;
    if (!nt->observer)
        return;
    tn_notify_event_t ev = {
        .n = &j->view,
        .integration = integration_name(j),
        .idx = j->ic->idx,
        .step = j->step,
        .outcome = outcome,
        .reason = j->view.reason,
        .error = err,
        .attempts = j->attempts,
        .latency_ms = j->first_attempt_ms ? tn_clock_mono_ms() - j->first_attempt_ms : 0,
    };
    nt->observer(nt->observer_ud, &ev);
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
    if (j->f->direct && !j->f->fail_err)
        j->f->fail_err = tn_xstrdup(err ? err : "");
    job_report(j, "failed", err ? err : "");
    job_finish(j, false);
}

/* Gives up on a job whose flush ran out of time or was cancelled. As Alertmanager, the failure
 * is the last attempt's when there was one, else the context's. */
static void job_give_up(job_t *j, const char *ctx_reason, const char *ctx_err)
{
    char msg[TN_ERRBUF_SIZE + 96];
    snprintf(msg, sizeof(msg), "notify retry canceled after %u attempts: %s", j->attempts,
             j->last_reason ? j->last_err : ctx_err);
    job_fail(j, j->last_reason ? j->last_reason : ctx_reason, msg);
}

static void job_record(job_t *j)
{
    flush_t *f = j->f;
    tn_notifier_t *nt = f->nt;
    if (!j->key)
        return; /* a summary: the rate limiter records what it carried */
    tn_time_t now = tn_clock_now();
    /* Kept for 2 x repeat_interval, but no longer than --data.retention. */
    tn_duration_t keep = 2 * f->repeat;
    if (nt->retention > 0 && (keep <= 0 || keep > nt->retention))
        keep = nt->retention;
    /* Kept values replace the stored ones of the same key; the rest carry over. */
    const tn_nflog_entry_t *e = tn_nflog_get(nt->nflog, j->key);
    tn_strmap_t data;
    tn_strmap_copy(&data, e ? &e->data : NULL);
    for (size_t i = 0; i < j->send.keep.n; i++)
        tn_strmap_set(&data, j->send.keep.keys[i], j->send.keep.values[i]);
    tn_nflog_log(nt->nflog, j->key, f->firing, f->nfiring, f->resolved, f->nresolved, &data, now,
                 now + keep);
    tn_strmap_free(&data);
}

static void attempt(job_t *j);

static void on_retry_timer(void *ud, tn_time_t now)
{
    (void)now;
    attempt(ud);
}

static void on_attempt_done(void *ctx, const tn_send_outcome_t *out)
{
    job_t *j = ctx;
    tn_notifier_t *nt = j->f->nt;
    enum tn_send_result r = out->result;
    const char *reason = out->reason;
    const char *err = out->err;
    uint64_t wait_ms = out->retry_after_ms;
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
        send_reset(&j->send);
        job_report(j, "sent", NULL);
        job_finish(j, true);
        return;
    }
    send_reset(&j->send);
    tn_metric_add(tn_metric_with(nt->m_requests_failed, iname, NULL), 1);
    if (!reason)
        reason = "other";
    if (r == TN_SEND_FAIL) {
        char msg[TN_ERRBUF_SIZE + 96];
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
    if (!j->first_attempt_ms)
        j->first_attempt_ms = j->attempt_started_ms;
    uint64_t timeout_ms = (uint64_t)((j->f->deadline - now) / TN_NS_PER_MS);
    if (timeout_ms == 0)
        timeout_ms = 1;
    char err[TN_ERRBUF_SIZE] = "";
    /* A sender may complete synchronously, even finish the job: hold the flush open. */
    flush_t *f = j->f;
    f->pending++;
    j->in_start = true;
    j->completed_in_start = false;
    send_reset(&j->send);
    j->send.ic = j->ic;
    j->send.n = &j->view;
    const tn_nflog_entry_t *e = j->key ? tn_nflog_get(nt->nflog, j->key) : NULL;
    tn_strmap_copy(&j->send.stored, e ? &e->data : NULL);
    void *h =
        nt->sender.start(nt->sender.ud, &j->send, timeout_ms, on_attempt_done, j, err, sizeof(err));
    j->in_start = false;
    j->handle = j->completed_in_start ? NULL : h;
    if (j->handle && j->finished) {
        /* Cancelled from inside start (before the handle was known): drop the attempt. */
        nt->sender.cancel(nt->sender.ud, j->handle);
        j->handle = NULL;
    } else if (!h) {
        send_reset(&j->send);
        tn_metric_add(tn_metric_with(nt->m_requests, integration_name(j), NULL), 1);
        tn_metric_add(tn_metric_with(nt->m_requests_failed, integration_name(j), NULL), 1);
        job_fail(j, "other", err);
    }
    flush_release(f);
}

static void job_send(job_t *j, bool gated);

static void on_gate(void *ctx, enum tn_gate_verdict v)
{
    job_t *j = ctx;
    j->gate_handle = NULL;
    j->gating = false;
    if (v == TN_GATE_PEER) {
        job_finish(j, false);
        return;
    }
    j->leased = v == TN_GATE_OWN;
    job_send(j, true);
}

static void job_start(job_t *j)
{
    job_send(j, false);
}

/* Dedup, then (past the gate, when there is one) rate limit and send. */
static void job_send(job_t *j, bool gated)
{
    flush_t *f = j->f;
    tn_notifier_t *nt = f->nt;
    const tn_nflog_entry_t *e = tn_nflog_get(nt->nflog, j->key);
    enum tn_notify_reason why =
        tn_notify_needs_update(e, f->firing, f->nfiring, f->resolved, f->nresolved,
                               j->ic->send_resolved, f->repeat, f->n.now);
    const tn_rate_limit_t *limit = f->n.route ? &f->n.route->rate_limit : NULL;
    /* Every firing alert is acked: no repeat (nor escalation, which repeats too). */
    if (why == TN_REASON_REPEAT && f->nfiring > 0 && f->nunacked == 0)
        why = TN_REASON_NONE;
    if (why == TN_REASON_NONE) {
        /* A held notification follows its group's state, so its summary tells the news. */
        tn_ratelimit_refresh(nt->rl, limit, &f->n, j->ic, j->key, f->firing, f->nfiring,
                             f->resolved, f->nresolved);
        job_finish(j, true);
        return;
    }
    /* News by the local log: ask whether this replica is the one to send it (the gate brings
     * the log entry up to date first, and the verdict runs dedup again). */
    if (!gated && nt->gate.acquire && f->deadline > 0) {
        tn_duration_t ttl = f->deadline - tn_clock_now();
        /* The verdict may come from inside acquire and finish the job: hold the flush. */
        f->pending++;
        j->gating = true;
        void *h = nt->gate.acquire(nt->gate.ud, j->key, ttl > 0 ? ttl : 1, on_gate, j);
        if (j->gating)
            j->gate_handle = h;
        flush_release(f);
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
        job_report(j, "rate-limited", NULL);
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

void tn_notifier_set_gate(tn_notifier_t *nt, tn_gate_t gate)
{
    nt->gate = gate;
}

void tn_notifier_set_acked(tn_notifier_t *nt, tn_acked_fn fn, void *ud)
{
    nt->acked = fn;
    nt->acked_ud = ud;
}

void tn_notifier_set_observer(tn_notifier_t *nt, tn_notify_observer_fn fn, void *ud)
{
    nt->observer = fn;
    nt->observer_ud = ud;
}

void tn_notifier_set_muter(tn_notifier_t *nt, tn_mute_fn fn, void *ud)
{
    nt->mute = fn;
    nt->mute_ud = ud;
}

/* A flush holding copies of n (alert references, interned labels, strings) with room for
 * njobs jobs; keep (NULL = all) says which alerts survive the mute stage. */
static flush_t *flush_new(tn_notifier_t *nt, const tn_notification_t *n, const bool *keep,
                          size_t nkept, size_t njobs)
{
    flush_t *f = tn_xcalloc(1, sizeof(*f) + njobs * sizeof(job_t));
    f->nt = nt;
    f->cfg = tn_config_ref((tn_config_t *)n->config);
    f->ok = true;
    f->n = *n;
    f->n.receiver = tn_xstrdup(n->receiver);
    f->n.group_key = tn_xstrdup(n->group_key);
    f->n.external_url = tn_xstrdup(n->external_url ? n->external_url : "");
    if (n->ack) {
        f->ack = (tn_notif_ack_t){tn_xstrdup(n->ack->id), tn_xstrdup(n->ack->by),
                                  tn_xstrdup(n->ack->comment), n->ack->at};
        f->n.ack = &f->ack;
    }
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
    return f;
}

static void job_init(job_t *j, flush_t *f, const tn_integration_cfg_t *ic, char *key)
{
    j->f = f;
    j->ic = ic;
    j->key = key;
    j->view = f->n;
    j->backoff_ms = BACKOFF_INITIAL_MS;
    tn_sched_entry_init(&j->retry, on_retry_timer, j);
}

/* ---- escalation: the anchor (the group's first notification) and each step's log key ---- */

static char *esc_anchor_key(const char *group_key)
{
    return tn_xasprintf("%s:escalation", group_key);
}

static bool entry_live(const tn_nflog_entry_t *e, tn_time_t now)
{
    return e && (e->expires_at == 0 || e->expires_at > now);
}

/* When the group's current episode first notified, or 0. */
static tn_time_t esc_anchor(tn_notifier_t *nt, const char *akey, tn_time_t now,
                            const tn_nflog_entry_t **out)
{
    const tn_nflog_entry_t *e = tn_nflog_get(nt->nflog, akey);
    *out = e;
    if (!entry_live(e, now))
        return 0;
    const char *v = tn_strmap_get(&e->data, "since");
    return v ? (tn_time_t)strtoll(v, NULL, 10) : 0;
}

static void esc_anchor_write(tn_notifier_t *nt, const char *akey, tn_time_t since, tn_time_t now,
                             tn_time_t expires_at)
{
    tn_strmap_t data = {0};
    char v[24];
    snprintf(v, sizeof(v), "%lld", (long long)since);
    tn_strmap_set(&data, "since", v);
    tn_nflog_log(nt->nflog, akey, NULL, 0, NULL, 0, &data, now, expires_at);
    tn_strmap_free(&data);
}

static char *esc_step_key(const char *group_key, const tn_receiver_cfg_t *rcv,
                          const tn_integration_cfg_t *ic, size_t step)
{
    char *base = tn_nflog_key(group_key, rcv->name, ic->type->name, ic->idx);
    char *k = tn_xasprintf("%s/escalation/%zu", base, step);
    free(base);
    return k;
}

/* A step has paged in this episode: one of its integrations' entries still holds firing
 * alerts (its resolved notification clears them). */
static bool esc_step_paged(tn_notifier_t *nt, const char *group_key, const tn_escalation_step_t *st,
                           size_t step, tn_time_t now)
{
    for (size_t i = 0; i < st->receiver->nintegrations; i++) {
        char *k = esc_step_key(group_key, st->receiver, &st->receiver->integrations[i], step);
        const tn_nflog_entry_t *e = tn_nflog_get(nt->nflog, k);
        free(k);
        if (entry_live(e, now) && e->nfiring > 0)
            return true;
    }
    return false;
}

tn_time_t tn_notify_escalation_due(tn_notifier_t *nt, const tn_route_t *route,
                                   const char *group_key)
{
    if (!route || !route->nescalation)
        return 0;
    tn_time_t now = tn_clock_now();
    char *akey = esc_anchor_key(group_key);
    const tn_nflog_entry_t *ae;
    tn_time_t anchor = esc_anchor(nt, akey, now, &ae);
    free(akey);
    if (!anchor)
        return 0;
    for (size_t s = 0; s < route->nescalation; s++) {
        const tn_escalation_step_t *st = &route->escalation[s];
        if (!esc_step_paged(nt, group_key, st, s + 1, now))
            return anchor + st->after;
    }
    return 0;
}

/* Keeps the episode's anchor: set at the first flush with firing alerts, kept alive while
 * they fire, ended by the flush that finds none. Returns the anchor (0: none). */
static tn_time_t esc_track(tn_notifier_t *nt, const tn_notification_t *n, size_t nfiring,
                           tn_duration_t repeat)
{
    const tn_route_t *r = n->route;
    char *akey = esc_anchor_key(n->group_key);
    const tn_nflog_entry_t *ae;
    tn_time_t anchor = esc_anchor(nt, akey, n->now, &ae);
    tn_duration_t keep = TN_MAX(2 * repeat, 2 * r->escalation[r->nescalation - 1].after);
    if (nfiring > 0) {
        if (!anchor) {
            anchor = n->now;
            esc_anchor_write(nt, akey, anchor, n->now, n->now + keep);
        } else if (ae->expires_at && ae->expires_at - n->now < keep / 2) {
            esc_anchor_write(nt, akey, anchor, n->now, n->now + keep);
        }
    } else if (anchor) {
        esc_anchor_write(nt, akey, anchor, n->now, n->now);
    }
    free(akey);
    return anchor;
}

/* Order-independent hash of the firing alerts a whole-flush mute held. */
static uint64_t muted_hash(const tn_notification_t *n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n->nalerts; i++)
        if (!n->alerts[i].resolved)
            h += n->alerts[i].alert->fp * UINT64_C(0x9E3779B97F4A7C15) ^ (h >> 29);
    return h;
}

/* Reports a flush the mute stage held whole, once per change of what it held. */
static void report_muted(tn_notifier_t *nt, const tn_notification_t *n, bool muted)
{
    muted_t *m = tn_strtab_get(&nt->muted, n->group_key);
    if (!muted) {
        if (m) {
            tn_strtab_del(&nt->muted, n->group_key);
            free(m->key);
            free(m);
        }
        return;
    }
    if (!nt->observer || n->nfiring == 0)
        return;
    uint64_t h = muted_hash(n);
    if (m && m->hash == h)
        return;
    if (m) {
        m->hash = h;
    } else if (nt->muted.count < MUTED_MAX) {
        m = tn_xmalloc(sizeof(*m));
        m->key = tn_xstrdup(n->group_key);
        m->hash = h;
        tn_strtab_put(&nt->muted, m);
    }
    tn_notify_event_t ev = {.n = n, .outcome = "muted", .reason = "muted"};
    nt->observer(nt->observer_ud, &ev);
}

void tn_notify_flush(tn_notifier_t *nt, const tn_notification_t *n, tn_duration_t repeat_interval,
                     tn_time_t deadline, tn_flush_done_fn done, void *ud)
{
    const tn_receiver_cfg_t *rcv = tn_config_receiver(n->config, n->receiver);
    size_t nbase = rcv ? rcv->nintegrations : 0;
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
            nbase = 0;
    }
    if (n->nalerts > 0 && (nt->observer || nt->muted.count))
        report_muted(nt, n, nkept == 0);
    /* Firing alerts that survive the mute stage, and those no ack covers. */
    size_t nfiring = 0, nunacked = 0;
    for (size_t i = 0; i < n->nalerts && nkept > 0; i++) {
        if ((keep && !keep[i]) || n->alerts[i].resolved)
            continue;
        nfiring++;
        if (!nt->acked || !nt->acked(nt->acked_ud, n->alerts[i].alert, n->now))
            nunacked++;
    }
    /* Escalation steps that take part: due and not all acked, or already paged (they hear
     * of new and resolved alerts like the route's receiver). */
    const tn_route_t *route = n->route;
    size_t nsteps = route && nkept > 0 ? route->nescalation : 0;
    bool step_on[32] = {false};
    size_t njobs = nbase;
    if (nsteps) {
        tn_time_t anchor = esc_track(nt, n, nfiring, repeat_interval);
        for (size_t s = 0; s < nsteps; s++) {
            const tn_escalation_step_t *st = &route->escalation[s];
            bool due = anchor && n->now >= anchor + st->after && nunacked > 0;
            step_on[s] = due || esc_step_paged(nt, n->group_key, st, s + 1, n->now);
            if (step_on[s])
                njobs += st->receiver->nintegrations;
        }
    }
    flush_t *f = flush_new(nt, n, keep, nkept, njobs);
    free(keep);
    f->nunacked = nunacked;
    f->repeat = repeat_interval;
    f->deadline = deadline;
    f->done = done;
    f->done_ud = ud;
    size_t k = 0;
    for (size_t i = 0; i < nbase; i++, k++) {
        const tn_integration_cfg_t *ic = &rcv->integrations[i];
        job_init(&f->jobs[k], f, ic,
                 tn_nflog_key(f->n.group_key, f->n.receiver, ic->type->name, ic->idx));
    }
    for (size_t s = 0; s < nsteps; s++) {
        if (!step_on[s])
            continue;
        const tn_receiver_cfg_t *sr = route->escalation[s].receiver;
        for (size_t i = 0; i < sr->nintegrations; i++, k++) {
            const tn_integration_cfg_t *ic = &sr->integrations[i];
            job_init(&f->jobs[k], f, ic, esc_step_key(f->n.group_key, sr, ic, s + 1));
            f->jobs[k].step = (int)(s + 1);
            f->jobs[k].view.receiver = sr->name;
        }
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

/* A rate-limit summary: the notification through one integration with the attempts, backoff
 * and metrics of any other, but no mute stage, dedup, rate limit or log record (the limiter
 * records the notifications it carried). */
static void *notifier_deliver(void *ud, const tn_integration_cfg_t *ic, const tn_notification_t *n,
                              tn_time_t deadline, tn_notifier_sent_fn sent, void *ctx)
{
    tn_notifier_t *nt = ud;
    if (nt->closing) {
        sent(ctx, false, "shutting down");
        return NULL;
    }
    flush_t *f = flush_new(nt, n, NULL, n->nalerts, 1);
    f->direct = true;
    f->deadline = deadline;
    f->sent = sent;
    f->sent_ctx = ctx;
    job_t *j = &f->jobs[0];
    job_init(j, f, ic, NULL);
    j->view.reason = n->reason;
    tn_metric_add(tn_metric_with(nt->m_total, integration_name(j), NULL), 1);
    attempt(j);
    /* Drops the start-up hold: when the attempt already ended, sent runs now and f is gone. */
    flush_release(f);
    return f;
}

static void announce_sent(void *ctx, bool ok, const char *err)
{
    (void)ctx;
    (void)ok;
    (void)err;
}

void tn_notify_announce(tn_notifier_t *nt, const tn_notification_t *n, tn_time_t deadline)
{
    const tn_receiver_cfg_t *rcv = tn_config_receiver(n->config, n->receiver);
    for (size_t i = 0; rcv && i < rcv->nintegrations; i++)
        notifier_deliver(nt, &rcv->integrations[i], n, deadline, announce_sent, NULL);
}

static void job_cancel(tn_notifier_t *nt, job_t *j);

static void notifier_deliver_cancel(void *ud, void *handle)
{
    flush_t *f = handle;
    f->sent = NULL;
    job_cancel(ud, &f->jobs[0]);
}

static void job_cancel(tn_notifier_t *nt, job_t *j)
{
    if (j->finished)
        return;
    if (j->handle) {
        nt->sender.cancel(nt->sender.ud, j->handle);
        j->handle = NULL;
    }
    if (j->gate_handle) {
        /* Still asking for the lease: nothing was attempted, so nothing failed. */
        nt->gate.cancel(nt->gate.ud, j->gate_handle);
        j->gate_handle = NULL;
        job_finish(j, false);
        return;
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
    for (size_t i = 0; i < nt->muted.cap; i++) {
        muted_t *m = nt->muted.v[i];
        if (m) {
            free(m->key);
            free(m);
        }
    }
    tn_strtab_free(&nt->muted);
    free(nt);
}

/* ---- the real sender: the receiver builds each step's request, outbound carries it ---- */

typedef struct out_attempt {
    tn_outbound_t *ob;
    tn_out_xfer_t *xfer;
    tn_send_t *s;
    uint64_t deadline_ms; /* monotonic: the whole attempt, every step */
    bool capped;          /* the step in flight has the deadline as its transfer timeout */
    /* A step waiting for its oauth2 token: the request built, sent once the token is in. */
    tn_oauth2_wait_t *wait;
    tn_out_request_t held;
    bool holding;
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

/* Builds and sends the attempt's current step. Returns false with err written when the step
 * could not start. */
static bool out_step(out_attempt_t *a, char *err, size_t errlen);

static void out_finish(out_attempt_t *a, tn_send_outcome_t *o)
{
    if (a->holding)
        tn_out_request_free(&a->held);
    tn_send_done_fn done = a->done;
    void *ctx = a->ctx;
    free(a);
    done(ctx, o);
}

static void out_done(void *ud, const tn_out_response_t *resp)
{
    out_attempt_t *a = ud;
    a->xfer = NULL;
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = "other"};
    if (resp->status == 429)
        o.retry_after_ms = retry_after_ms(resp->retry_after);
    if (resp->curl_code == CURLE_OPERATION_TIMEDOUT && a->capped) {
        /* Cut by the flush deadline, not by the receiver's own timeout: say so, as the
         * deadline timer would have a moment later. */
        o.result = TN_SEND_RETRY;
        o.reason = "contextDeadlineExceeded";
        snprintf(o.err, sizeof(o.err), "context deadline exceeded");
        out_finish(a, &o);
        return;
    }
    a->s->ic->type->classify(a->s, resp, &o);
    if (!o.reason)
        o.reason = "other";
    if (o.result == TN_SEND_NEXT) {
        if (++a->s->step >= TN_SEND_MAX_STEPS) {
            o.result = TN_SEND_FAIL;
            snprintf(o.err, sizeof(o.err), "%s: more than %d requests in one send",
                     a->s->ic->type->name, TN_SEND_MAX_STEPS);
        } else if (tn_clock_mono_ms() >= a->deadline_ms) {
            o.result = TN_SEND_RETRY;
            snprintf(o.err, sizeof(o.err), "context deadline exceeded");
        } else if (out_step(a, o.err, sizeof(o.err))) {
            return;
        } else {
            /* A later step that cannot be built fails the attempt; the next one starts over. */
            o.result = TN_SEND_RETRY;
        }
    }
    out_finish(a, &o);
}

/* Sends a built request, after its oauth2 token when http_config has one. */
static bool out_send(out_attempt_t *a, tn_out_request_t *req, char *err, size_t errlen);

static void out_token_ready(void *ud, const char *terr)
{
    out_attempt_t *a = ud;
    a->wait = NULL;
    tn_send_outcome_t o = {.result = TN_SEND_RETRY, .reason = "other"};
    if (!terr) {
        tn_out_request_t req = a->held;
        a->holding = false;
        bool ok = out_send(a, &req, o.err, sizeof(o.err));
        tn_out_request_free(&req);
        if (ok)
            return;
    } else {
        snprintf(o.err, sizeof(o.err), "%s", terr);
    }
    out_finish(a, &o);
}

static bool out_send(out_attempt_t *a, tn_out_request_t *req, char *err, size_t errlen)
{
    uint64_t now = tn_clock_mono_ms();
    uint64_t left = a->deadline_ms > now ? a->deadline_ms - now : 1;
    a->capped = !req->timeout_ms || req->timeout_ms >= left;
    if (a->capped)
        req->timeout_ms = left;
    if (req->http && req->http->oauth2) {
        int r = tn_oauth2_authorize(a->ob, req->http->oauth2, req, left, out_token_ready, a,
                                    &a->wait, err, errlen);
        if (r < 0)
            return false;
        if (r == 0) {
            a->held = *req;
            a->holding = true;
            tn_out_request_init(req);
            return true;
        }
    }
    a->xfer = tn_outbound_send(a->ob, req, out_done, a, err, errlen);
    return a->xfer != NULL;
}

static bool out_step(out_attempt_t *a, char *err, size_t errlen)
{
    tn_out_request_t req;
    tn_out_request_init(&req);
    bool ok =
        a->s->ic->type->build(a->s, &req, err, errlen) == TN_OK && out_send(a, &req, err, errlen);
    tn_out_request_free(&req);
    return ok;
}

static void *out_start(void *ud, tn_send_t *s, uint64_t timeout_ms, tn_send_done_fn done, void *ctx,
                       char *err, size_t errlen)
{
    out_attempt_t *a = tn_xcalloc(1, sizeof(*a));
    a->ob = ud;
    a->s = s;
    a->deadline_ms = tn_clock_mono_ms() + timeout_ms;
    a->done = done;
    a->ctx = ctx;
    if (!out_step(a, err, errlen)) {
        free(a);
        return NULL;
    }
    return a;
}

static void out_cancel(void *ud, void *handle)
{
    out_attempt_t *a = handle;
    if (a->xfer)
        tn_outbound_cancel(ud, a->xfer);
    if (a->wait)
        tn_oauth2_cancel(a->wait);
    if (a->holding)
        tn_out_request_free(&a->held);
    free(a);
}

tn_sender_t tn_sender_outbound(tn_outbound_t *ob)
{
    return (tn_sender_t){.ud = ob, .start = out_start, .cancel = out_cancel};
}
