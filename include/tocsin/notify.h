/* The notification pipeline, run once per flush of an aggregation group: for each integration
 * of the group's receiver, dedup against the notification log, then send with retries and
 * exponential backoff until the flush deadline, then record what was sent.
 *
 * Sending goes through a tn_sender_t so unit tests can drive it with a fake; the real sender
 * builds the request with the receiver type and hands it to the outbound client. */
#ifndef TOCSIN_NOTIFY_H
#define TOCSIN_NOTIFY_H

#include <stdio.h>

#include "tocsin/nflog.h"
#include "tocsin/receiver.h"
#include "tocsin/sched.h"

typedef struct tn_notifier tn_notifier_t;
typedef struct tn_outbound tn_outbound_t;

/* The end of one attempt (result DONE, RETRY or FAIL). */
typedef void (*tn_send_done_fn)(void *ctx, const tn_send_outcome_t *out);

typedef struct tn_sender {
    void *ud;
    /* Starts one attempt at s (its steps, for the real sender), all within timeout_ms.
     * Returns a handle, or NULL after writing err when the first request could not even be
     * built (a failure that is not retried). done runs exactly once for a non-NULL handle
     * unless cancel() is called first; it may run from inside start. s outlives the attempt. */
    void *(*start)(void *ud, tn_send_t *s, uint64_t timeout_ms, tn_send_done_fn done, void *ctx,
                   char *err, size_t errlen);
    void (*cancel)(void *ud, void *handle);
} tn_sender_t;

/* Answers an attempt with an outcome made of its parts (for senders that are not HTTP). */
static inline void tn_send_answer(tn_send_done_fn done, void *ctx, enum tn_send_result r,
                                  const char *reason, const char *err)
{
    tn_send_outcome_t o = {.result = r, .reason = reason};
    if (err)
        snprintf(o.err, sizeof(o.err), "%s", err);
    done(ctx, &o);
}

/* The real sender over the outbound client. */
tn_sender_t tn_sender_outbound(tn_outbound_t *ob);

/* Why a flush notifies (Alertmanager's NotifyReason). */
enum tn_notify_reason {
    TN_REASON_NONE = 0,
    TN_REASON_FIRST,
    TN_REASON_NEW_ALERTS,
    TN_REASON_NEW_RESOLVED,
    TN_REASON_ALL_RESOLVED,
    TN_REASON_REPEAT,
};

/* Alertmanager's DedupStage decision for one integration. `firing` and `resolved` are the
 * sorted alert hashes of the flush; entry may be NULL. */
enum tn_notify_reason tn_notify_needs_update(const tn_nflog_entry_t *entry, const uint64_t *firing,
                                             size_t nfiring, const uint64_t *resolved,
                                             size_t nresolved, bool send_resolved,
                                             tn_duration_t repeat, tn_time_t now);

typedef void (*tn_flush_done_fn)(void *ud, bool ok);

tn_notifier_t *tn_notifier_new(tn_sched_t *sched, tn_nflog_t *nflog, tn_sender_t sender);
/* --data.retention: log entries live 2 x repeat_interval but never longer than this (0 = no
 * cap), as Alertmanager does. */
void tn_notifier_set_retention(tn_notifier_t *nt, tn_duration_t retention);
/* Cancels what is still running (flush callbacks run with ok = false) and frees. */
void tn_notifier_free(tn_notifier_t *nt);

/* Runs the pipeline for one flush. The notification is copied (alert references taken, config
 * referenced). done(ud, ok) runs once, after every integration finished: ok when each one
 * either had nothing to send or delivered. */
void tn_notify_flush(tn_notifier_t *nt, const tn_notification_t *n, tn_duration_t repeat_interval,
                     tn_time_t deadline, tn_flush_done_fn done, void *ud);
/* The mute stage, run once per flush before dedup (silences, inhibition, time intervals).
 * Writes keep[i] for each alert of n (true = send it; keep starts all true). Returning false
 * mutes the whole flush. Muted alerts are neither sent nor recorded in the notification log;
 * a flush left with no alert finishes at once with ok = true, as Alertmanager's pipeline stops
 * when a stage leaves nothing. */
typedef bool (*tn_mute_fn)(void *ud, const tn_notification_t *n, bool *keep);
void tn_notifier_set_muter(tn_notifier_t *nt, tn_mute_fn fn, void *ud);

/* Replicas that share state (cluster.h) send each notification once: before a job that has
 * news to send, the gate is asked for the job's lease, keyed by its notification-log key, for
 * ttl (the time left to the flush deadline). It answers through verdict exactly once, perhaps
 * from inside acquire:
 *   TN_GATE_OWN   this replica holds the lease, and the log entry for the key is as fresh as
 *                 the shared copy: dedup again, send, record, then release;
 *   TN_GATE_OPEN  no lease to be had (the shared store is unreachable): send on local state
 *                 alone, at least once rather than not at all;
 *   TN_GATE_PEER  another replica holds it and is sending: this flush skips the integration
 *                 (and counts as not done, so resolved alerts wait for the next flush).
 * acquire returns a handle while the verdict is pending (for cancel), else NULL. */
enum tn_gate_verdict { TN_GATE_OWN, TN_GATE_OPEN, TN_GATE_PEER };
typedef void (*tn_gate_verdict_fn)(void *ctx, enum tn_gate_verdict v);
typedef struct tn_gate {
    void *ud;
    void *(*acquire)(void *ud, const char *key, tn_duration_t ttl, tn_gate_verdict_fn verdict,
                     void *ctx);
    void (*cancel)(void *ud, void *handle);
    void (*release)(void *ud, const char *key);
} tn_gate_t;
void tn_notifier_set_gate(tn_notifier_t *nt, tn_gate_t gate);

/* Acknowledgements (ack.h): a flush whose firing alerts are all acked sends no repeat and no
 * escalation. acked(ud, alert, now) says whether this version is acked. */
typedef bool (*tn_acked_fn)(void *ud, const tn_alert_t *alert, tn_time_t now);
void tn_notifier_set_acked(tn_notifier_t *nt, tn_acked_fn fn, void *ud);

/* What became of one integration's part of a flush, for the history (tocsin extension).
 * outcome is "sent", "failed", "rate-limited" or "muted" (a whole flush held by the mute
 * stage: integration NULL, reported once per change of what is muted). */
typedef struct tn_notify_event {
    const tn_notification_t *n; /* what the integration sent, or would have */
    const char *integration;    /* type name, or NULL */
    unsigned idx;
    int step; /* 0: the route's receiver; k: escalation step k */
    const char *outcome;
    const char *reason; /* "first notification", ... */
    const char *error;  /* NULL unless failed */
    unsigned attempts;
    uint64_t latency_ms;
} tn_notify_event_t;
typedef void (*tn_notify_observer_fn)(void *ud, const tn_notify_event_t *ev);
void tn_notifier_set_observer(tn_notifier_t *nt, tn_notify_observer_fn fn, void *ud);

/* Escalation (the route's `escalation` steps): the time the next step that has not paged yet
 * is due for this group, or 0 when none is (no first notification yet, all steps paged, or
 * the route has no escalation). The dispatcher flushes the group then. */
tn_time_t tn_notify_escalation_due(tn_notifier_t *nt, const tn_route_t *route,
                                   const char *group_key);

/* Sends n (an ack announcement) to every integration of its receiver with the usual attempts
 * and backoff until deadline, but no mute stage, dedup, rate limit or log record. */
void tn_notify_announce(tn_notifier_t *nt, const tn_notification_t *n, tn_time_t deadline);

/* Flushes still running. */
size_t tn_notifier_inflight(tn_notifier_t *nt);
/* Cancels every attempt and pending retry; their flushes finish with ok = false. */
void tn_notifier_cancel_all(tn_notifier_t *nt);

#endif
