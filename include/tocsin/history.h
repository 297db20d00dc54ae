/* The on-call history: a durable, queryable log of every notification attempt and every human
 * action (acks, resolves, silences) and alert state change.
 *
 * Its own SQLite file, <dir>/history.db, in WAL mode. The loop never touches SQLite after
 * open: an append serializes the event to its JSON object at once and queues the row; one
 * worker at a time (uv_queue_work) writes what is queued in one transaction, within about
 * 250 ms of the first append, coalescing whatever arrived meanwhile. Queries run on the pool
 * too, on read connections of their own, and answer through a callback on the loop. The
 * writer also prunes rows past the retention or beyond the size cap, in bounded chunks. See
 * docs/internals/HISTORY.md. */
#ifndef TOCSIN_HISTORY_H
#define TOCSIN_HISTORY_H

#include <uv.h>

#include "tocsin/config.h"
#include "tocsin/labels.h"

#define TN_HISTORY_FILE "history.db"

enum tn_event_kind {
    TN_EV_NOTIFICATION,
    TN_EV_ACK,
    TN_EV_UNACK,
    TN_EV_RESOLVE,
    TN_EV_SILENCE_CREATED,
    TN_EV_SILENCE_UPDATED,
    TN_EV_SILENCE_EXPIRED,
    TN_EV_ALERT_FIRING,
    TN_EV_ALERT_RESOLVED,
    TN_EV_ALERT_CHANGED,
    TN_EV__COUNT
};

/* "notification", "ack", "unack", "resolve", "silence_created", "silence_updated",
 * "silence_expired", "alert_firing", "alert_resolved", "alert_changed"; NULL when out of
 * range. */
const char *tn_event_kind_name(enum tn_event_kind k);
/* The kind named s: TN_OK, or TN_ERR_INVAL for an unknown name. */
int tn_event_kind_parse(const char *s, enum tn_event_kind *out);

/* Label names and values are NUL-terminated strings (interned or not); read during the append
 * only. */
typedef struct tn_event_alert {
    uint64_t fingerprint;
    tn_labels_t labels;
    bool resolved;
} tn_event_alert_t;

/* Everything is borrowed for the duration of tn_history_append. */
typedef struct tn_event {
    enum tn_event_kind kind;
    tn_time_t time; /* when it happened; 0 = now */
    const char *group_key, *receiver, *integration, *reason, *outcome, *error; /* NULL = absent */
    int attempts;                   /* notification: attempts made */
    int64_t latency_ms;             /* notification: how long the send took */
    int step;                       /* notification: escalation step (0 = the route's receiver) */
    const char *by, *comment, *ref; /* human actions: who, notes, the ack or silence id */
    const char *extra_json;         /* a JSON object's members, raw and trusted, merged in (e.g.
                                       "\"expiresAt\":\"...\""); NULL = none */
    const tn_event_alert_t *alerts;
    size_t nalerts;
} tn_event_t;

/* Caps applied by tn_history_append. */
#define TN_HISTORY_MAX_TEXT   4096 /* bytes of comment and error kept (cut at a UTF-8 boundary) */
#define TN_HISTORY_MAX_ALERTS 1000 /* alerts kept per event; "alertsTotal" says how many were */

typedef struct tn_history tn_history_t;

/* Opens or creates <dir>/history.db (the directory must exist). A file that is not a
 * database, is damaged, or has a newer schema fails (NULL) with a message naming the file in
 * err. Synchronous: call at start-up. The defaults are 30 days and 1 GiB. */
tn_history_t *tn_history_open(uv_loop_t *loop, const char *dir, char *err, size_t errlen);
/* retention: rows whose time is older go (0 = kept forever); max_bytes: cap on the sum of
 * stored row sizes (tn_history_bytes), oldest rows first (0 = no cap). */
void tn_history_set_limits(tn_history_t *h, tn_duration_t retention, uint64_t max_bytes);

/* On the loop. Serializes ev to its JSON object at once (nothing of ev is kept), assigns the
 * next id, queues the row, calls the observer and returns the id. Ids grow monotonically,
 * across restarts too (also after kill -9: the writer reserves ids ahead in the file), though
 * not densely. If the queue passes its cap (100,000 rows or 64 MiB, when the disk keeps
 * failing), the oldest queued rows are dropped and counted in tocsin_history_dropped_total. */
uint64_t tn_history_append(tn_history_t *h, const tn_event_t *ev);
/* The queue's caps (0 = the defaults above); for tests, which cannot fill 64 MiB quickly. */
void tn_history_set_queue_limits(tn_history_t *h, size_t max_rows, size_t max_bytes);

/* Called on every append with the event's id, kind and JSON object text (borrowed; for the
 * live events stream). */
typedef void (*tn_history_observer_fn)(void *ud, uint64_t id, enum tn_event_kind kind,
                                       const char *json, size_t len);
/* One observer; NULL removes it. */
void tn_history_set_observer(tn_history_t *h, tn_history_observer_fn fn, void *ud);

typedef struct tn_history_query {
    tn_matchers_t filter;   /* taken over (freed on the loop); an event matches when any of its
                               alerts' labels match all matchers; empty = all events */
    char *receiver;         /* taken over; NULL = any */
    char *group_key;        /* taken over; NULL = any */
    tn_time_t since, until; /* 0 = unbounded; inclusive since, exclusive until */
    uint32_t kinds;         /* bits (1u << kind); 0 = all */
    bool has_fingerprint;   /* one alert's timeline */
    uint64_t fingerprint;
    uint64_t before;   /* cursor, newest first: only ids < before; 0 = from the newest */
    uint64_t after;    /* cursor, oldest first: only ids > after; 0 = from the oldest */
    size_t limit;      /* 0 = 100; at most 1000 */
    bool oldest_first; /* for an alert's timeline */
} tn_history_query_t;

/* The answer: rc = TN_OK and body {"events":[...],"nextCursor":"<id>"}, or rc != TN_OK and a
 * plain-text message in body (TN_ERR_LIMIT: too many queries waiting, answer 503; TN_ERR_IO:
 * the database failed or the history is closing). The callee owns body (free()); len excludes
 * its NUL. */
typedef void (*tn_history_answer_fn)(void *ud, int rc, char *body, size_t len);

/* Runs q on the pool (two at a time; up to 16 more wait, beyond that the answer is
 * TN_ERR_LIMIT). Takes over q's filter, receiver and group_key, and resets them in *q; the
 * rest is copied. cb always runs later, on the loop, never inside this call, and cannot be
 * cancelled: ud must live until it runs. Events come newest first (oldest first with
 * oldest_first), ordered by id, i.e. as they were appended. nextCursor is null once the scan
 * reached the end; otherwise pass it as before (after, with oldest_first) for the next page. A
 * query examines at most 50,000 rows: a filter that matches little answers with fewer events than
 * limit and a cursor to go on from. */
void tn_history_query(tn_history_t *h, tn_history_query_t *q, tn_history_answer_fn cb, void *ud);

/* Runs cb(ud, rc) on the loop once everything appended so far is committed (TN_OK) or its
 * write failed (TN_ERR_IO; it is retried later). Starts a write at once. */
void tn_history_sync(tn_history_t *h, void (*cb)(void *ud, int rc), void *ud);

/* Rows in the file and the sum of their stored sizes (JSON and the labels kept for filters),
 * kept current by the writer. The file itself is larger (indexes, free pages). */
uint64_t tn_history_rows(tn_history_t *h);
uint64_t tn_history_bytes(tn_history_t *h);
/* Path of the database file (borrowed). */
const char *tn_history_path(const tn_history_t *h);

/* Registers tocsin_history_rows and tocsin_history_bytes (gauges, set by the writer),
 * tocsin_history_write_errors_total and tocsin_history_dropped_total. */
void tn_history_register_metrics(tn_history_t *h);

/* Waits for the running write and queries (running the loop once at a time), answers queries
 * still waiting with TN_ERR_IO, writes what is queued synchronously, runs the sync callbacks,
 * then closes; the struct is freed when its timers are closed (run the loop afterwards). Not
 * from inside a history callback. NULL is ignored. */
void tn_history_close(tn_history_t *h);

#endif
