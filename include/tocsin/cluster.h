/* Replicas that share their state through Redis (--cluster.redis-url).
 *
 * Each replica keeps its own state in memory and in SQLite, as a single one does; this module
 * mirrors every local change to Redis (one key per silence, notification-log entry and alert,
 * each with an expiry) and announces it on one pub/sub channel, and applies what the other
 * replicas announce. On every (re)connect it reads everything back (SCAN) and writes what it
 * has that is newer, so changes made while Redis was away survive on both sides; the newer
 * version of a record wins (silences by updatedAt, log entries by timestamp).
 *
 * Paging once: the notifier's gate (notify.h) takes a lease per notification-log key with
 * SET NX PX before it sends, reading the shared log entry in the same round trip. Without
 * Redis the gate stays open and each replica pages on its own state, at least once.
 *
 * Heartbeats in a sorted set give the live replicas for /api/v2/status. Nothing blocks the
 * loop: every Redis call is asynchronous (redis.h). See docs/ha.md. */
#ifndef TOCSIN_CLUSTER_H
#define TOCSIN_CLUSTER_H

#include <uv.h>

#include "tocsin/alert.h"
#include "tocsin/nflog.h"
#include "tocsin/notify.h"
#include "tocsin/redis.h"
#include "tocsin/silence.h"

typedef struct tn_cluster tn_cluster_t;

typedef struct tn_cluster_opts {
    const char *redis_url;
    const char *peer_name; /* unique per replica */
    const char *address;   /* where its API is, shown to peers */
    tn_duration_t retention;
    /* rediss:// (see redis.h) */
    const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
    bool tls_insecure_skip_verify;
    /* Acknowledgements (ack.h) shared the same way; NULL: not shared. */
    struct tn_acks *acks;
} tn_cluster_opts_t;

/* Parses the URL and starts connecting; hooks into the silences, the log and the alert store
 * after whatever hooks are there (the store's), so persistence runs first. Fails only on a bad
 * URL (TN_ERR_INVAL, message in err); an unreachable Redis is not an error. */
tn_cluster_t *tn_cluster_new(uv_loop_t *loop, const tn_cluster_opts_t *o, tn_silences_t *sil,
                             tn_nflog_t *nflog, tn_alert_store_t *alerts, char *err, size_t errlen);
/* The on-call history's events that one replica alone sees (notifications it sent, actions
 * made through it) go to the others on the channel, live only (not read back after an outage).
 * Each replica hands its peers' events to sink with the sender's name. */
struct tn_event;
void tn_cluster_share_event(tn_cluster_t *c, const struct tn_event *ev);
typedef void (*tn_cluster_event_fn)(void *ud, const struct tn_event *ev, const char *peer);
void tn_cluster_set_event_sink(tn_cluster_t *c, tn_cluster_event_fn fn, void *ud);
/* The lease gate for the notifier. */
tn_gate_t tn_cluster_gate(tn_cluster_t *c);
/* Writes the "cluster" object of /api/v2/status: name, status (ready once connected and read
 * back; settling otherwise) and the replicas heard from in the last 5 s. */
void tn_cluster_status_json(tn_cluster_t *c, tn_buf_t *b);
/* Unhooks and closes; run the loop afterwards so handles close. NULL is ignored. */
void tn_cluster_free(tn_cluster_t *c);

#endif
