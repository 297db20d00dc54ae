/* The notification pipeline, run once per flush of an aggregation group: for each integration
 * of the group's receiver, dedup against the notification log, then send with retries and
 * exponential backoff until the flush deadline, then record what was sent.
 *
 * Sending goes through a tn_sender_t so unit tests can drive it with a fake; the real sender
 * builds the request with the receiver type and hands it to the outbound client. */
#ifndef TOCSIN_NOTIFY_H
#define TOCSIN_NOTIFY_H

#include "tocsin/nflog.h"
#include "tocsin/receiver.h"
#include "tocsin/sched.h"

typedef struct tn_notifier tn_notifier_t;
typedef struct tn_outbound tn_outbound_t;

typedef void (*tn_send_done_fn)(void *ctx, enum tn_send_result r, const char *reason,
                                const char *err);

typedef struct tn_sender {
    void *ud;
    /* Starts one attempt. Returns a handle, or NULL after writing err when the request could
     * not even be built (counted as a failure that is not retried). done runs exactly once
     * for a non-NULL handle unless cancel() is called first. */
    void *(*start)(void *ud, const tn_integration_cfg_t *ic, const tn_notification_t *n,
                   uint64_t timeout_ms, tn_send_done_fn done, void *ctx, char *err, size_t errlen);
    void (*cancel)(void *ud, void *handle);
} tn_sender_t;

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

/* Flushes still running. */
size_t tn_notifier_inflight(tn_notifier_t *nt);
/* Cancels every attempt and pending retry; their flushes finish with ok = false. */
void tn_notifier_cancel_all(tn_notifier_t *nt);

#endif
