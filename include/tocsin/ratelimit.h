/* Rate limits and storm control (tocsin extensions beyond Alertmanager).
 *
 * A route's rate_limit is a token bucket in front of its receiver's integrations, one bucket
 * per receiver integration or per (aggregation group, integration). A notification that finds
 * the bucket empty is held, not dropped: when the next token comes, one summary notification
 * goes out listing what was held, through the receiver's normal payload with
 * tn_notification_t.summary set. Held notifications are not in the notification log until the
 * summary carrying them is delivered, so a restart re-evaluates them instead of losing them,
 * and what a summary delivered is never paged again.
 *
 * Also here: the per-alertname cap on active alerts (--alerts.per-alertname-limit). */
#ifndef TOCSIN_RATELIMIT_H
#define TOCSIN_RATELIMIT_H

#include "tocsin/nflog.h"
#include "tocsin/notification.h"
#include "tocsin/sched.h"

/* How a summary goes out: through the notifier, with the attempts, backoff and metrics of any
 * notification. deliver sends n (borrowed until sent runs; its summary too) through ic until
 * deadline and calls sent exactly once, unless cancel comes first; sent may run from inside
 * deliver. The handle is valid until sent runs. */
typedef void (*tn_notifier_sent_fn)(void *ctx, bool ok, const char *err);
typedef struct tn_rl_delivery {
    void *ud;
    void *(*deliver)(void *ud, const tn_integration_cfg_t *ic, const tn_notification_t *n,
                     tn_time_t deadline, tn_notifier_sent_fn sent, void *ctx);
    void (*cancel)(void *ud, void *handle);
} tn_rl_delivery_t;

/* ---- token bucket (GCRA form: one "theoretical arrival time" per bucket) ---- */

typedef struct tn_bucket {
    tn_time_t tat; /* the bucket is full from this instant on; 0 = full */
} tn_bucket_t;

/* Takes one token at now if there is one. */
bool tn_bucket_take(tn_bucket_t *b, const tn_rate_limit_t *rl, tn_time_t now);
/* Earliest instant at which a take succeeds (<= now when one would now). */
tn_time_t tn_bucket_ready_at(const tn_bucket_t *b, const tn_rate_limit_t *rl);

/* ---- the rate-limit stage ---- */

typedef struct tn_ratelimit tn_ratelimit_t;

tn_ratelimit_t *tn_ratelimit_new(tn_sched_t *sched, tn_nflog_t *nflog, tn_rl_delivery_t delivery);
/* Cancels a summary in flight and drops what is held (it was never logged as sent). */
void tn_ratelimit_free(tn_ratelimit_t *rl);
/* Same as free without freeing: for shutdown. */
void tn_ratelimit_cancel_all(tn_ratelimit_t *rl);
/* Cap on notification-log entry lifetime, as the notifier's (0 = none). */
void tn_ratelimit_set_retention(tn_ratelimit_t *rl, tn_duration_t retention);

/* One integration's notification that passed dedup, under limit p. Returns true when it may be
 * sent now (a token was taken); false when it is held (n, its alerts and hashes are copied;
 * a later hold of the same nflog_key replaces it). While anything is held for the bucket,
 * everything else for it is held too, so the summary goes out first. */
bool tn_ratelimit_admit(tn_ratelimit_t *rl, const tn_rate_limit_t *p, const tn_notification_t *n,
                        const tn_integration_cfg_t *ic, const char *nflog_key,
                        const uint64_t *firing, size_t nfiring, const uint64_t *resolved,
                        size_t nresolved, tn_duration_t repeat);
/* A flush of nflog_key that sends nothing by itself (dedup found nothing new, e.g. the alerts of
 * a held notification resolved): if that key is held, the held copy becomes this state, so the
 * summary reports the resolution instead of a resolved notification going out alone. */
void tn_ratelimit_refresh(tn_ratelimit_t *rl, const tn_rate_limit_t *p, const tn_notification_t *n,
                          const tn_integration_cfg_t *ic, const char *nflog_key,
                          const uint64_t *firing, size_t nfiring, const uint64_t *resolved,
                          size_t nresolved);

size_t tn_ratelimit_held_alerts(const tn_ratelimit_t *rl);
size_t tn_ratelimit_held_groups(const tn_ratelimit_t *rl);

#endif
