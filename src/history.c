/* The on-call history: rows queued on the loop, written in batches by one worker, queried on
 * read connections of their own.
 *
 * Loop side: an append builds the event's JSON and its alerts column (fingerprints and label
 * pairs, for the per-alert index and for filters), assigns an id and queues the row. A batch
 * takes a prefix of the queue; a failed batch goes back to the front, and the queue drops its
 * oldest rows past its cap. The loop keeps no SQLite handle in use after open: the writer
 * connection belongs to the worker running a batch (or to close), each read connection to the
 * query that took it. Worker side: plain bytes only; matchers are read (RE2 is thread-safe),
 * never freed. */
#include "tocsin/history.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/timefmt.h"

#define HIST_SCHEMA_VERSION 1
/* A commit per quarter second, not per event: on a busy core each commit is CPU the sends
 * wait for (a 20 ms timer put p99 notify latency from 0.5 to 3 ms in bench/). */
#define HIST_FLUSH_MS        250
#define HIST_PRUNE_EVERY_MS  60000
#define HIST_PRUNE_AGAIN_MS  50
#define HIST_RETRY_MIN_MS    500
#define HIST_RETRY_MAX_MS    30000
#define HIST_LOG_EVERY_MS    10000
#define HIST_BATCH_ROWS      10000
#define HIST_BATCH_BYTES     (16u << 20)
#define HIST_QUEUE_ROWS      100000
#define HIST_QUEUE_BYTES     ((size_t)64 << 20)
#define HIST_PRUNE_ROWS      2000
#define HIST_PRUNE_PAIRS     50000
#define HIST_ID_BLOCK        (UINT64_C(1) << 20)
#define HIST_QUERY_RUNNING   2
#define HIST_QUERY_WAITING   16
#define HIST_QUERY_LIMIT     100
#define HIST_QUERY_MAX_LIMIT 1000
#define HIST_SCAN_MAX        50000
#define HIST_SCAN_PAGE       256
/* quick_check reads the whole file: done at open only for files up to this size, so a full
 * history does not hold start-up; larger ones are checked by reading their schema. */
#define HIST_CHECK_MAX_BYTES (64 << 20)

static const char *const hist_kind_names[TN_EV__COUNT] = {
    "notification",    "ack",
    "unack",           "resolve",
    "silence_created", "silence_updated",
    "silence_expired", "alert_firing",
    "alert_resolved",  "alert_changed",
};

const char *tn_event_kind_name(enum tn_event_kind k)
{
    return (unsigned)k < TN_EV__COUNT ? hist_kind_names[k] : NULL;
}

int tn_event_kind_parse(const char *s, enum tn_event_kind *out)
{
    for (int i = 0; s && i < TN_EV__COUNT; i++)
        if (strcmp(s, hist_kind_names[i]) == 0) {
            *out = (enum tn_event_kind)i;
            return TN_OK;
        }
    return TN_ERR_INVAL;
}

/* One queued event, everything serialized. */
typedef struct hist_row {
    uint64_t id;
    int64_t time_ms;
    enum tn_event_kind kind;
    char *receiver, *group_key; /* NULL = absent */
    char *json;
    size_t json_len;
    char *alerts; /* see hist_alert_next */
    size_t alerts_len;
    size_t mem; /* what it costs the queue */
} hist_row_t;

/* Rows v[head..n), oldest first. */
typedef struct hist_queue {
    hist_row_t **v;
    size_t head, n, cap;
    size_t bytes;
} hist_queue_t;

typedef struct hist_waiter {
    void (*cb)(void *ud, int rc);
    void *ud;
    uint64_t id;        /* rows up to this id */
    uint64_t prune_gen; /* and the pruning asked for before */
    uint64_t lost;      /* lost_max_id when it started waiting */
} hist_waiter_t;

/* What one worker run writes and prunes, and what it reports. */
typedef struct hist_batch {
    hist_row_t **v;
    size_t n;
    uint64_t reserve;   /* new id reservation to record, 0 = none */
    bool prune;         /* apply the retention */
    int64_t cut_ms;     /* rows older go (with prune) */
    uint64_t prune_gen; /* the pruning request it serves (with prune) */
    uint64_t max_bytes;
    int rc;
    bool more; /* pruning left work for another batch */
    uint64_t rows, bytes;
    char err[256];
} hist_batch_t;

enum {
    HS_INS_EVENT,
    HS_INS_ALERT,
    HS_DEL_EVENT,
    HS_DEL_ALERT,
    HS_SEL_OLD,
    HS_SEL_FIRST,
    HS_SET_META,
    HS_RESERVE,
    HS_COUNT
};

static const char *const hist_sql[HS_COUNT] = {
    "INSERT INTO events(id, time, kind, receiver, group_key, size, alerts, json) VALUES(?1, ?2, "
    "?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING",
    "INSERT OR IGNORE INTO event_alerts(fingerprint, event_id) VALUES(?1, ?2)",
    "DELETE FROM events WHERE id = ?1",
    "DELETE FROM event_alerts WHERE fingerprint = ?1 AND event_id = ?2",
    "SELECT id, size, alerts FROM events INDEXED BY events_time WHERE time < ?1 ORDER BY time "
    "LIMIT ?2",
    "SELECT id, size, alerts FROM events ORDER BY id LIMIT ?1",
    "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
    "excluded.value",
    "INSERT INTO meta(key, value) VALUES('reserved', ?1) ON CONFLICT(key) DO UPDATE SET value = "
    "max(value, excluded.value)",
};

typedef struct hist_job hist_job_t;

struct tn_history {
    uv_loop_t *loop;
    char *path;
    sqlite3 *db; /* the writer's */
    sqlite3_stmt *stmt[HS_COUNT];
    sqlite3 *readers[HIST_QUERY_RUNNING]; /* idle read connections (NULL: none yet) */
    size_t nreaders;

    tn_duration_t retention;
    uint64_t max_bytes;
    size_t queue_rows, queue_bytes;
    tn_history_observer_fn observer;
    void *observer_ud;

    uint64_t next_id;
    uint64_t reserved;   /* ids up to this are recorded as handed out */
    uint64_t durable_id; /* rows up to this id are committed or lost */
    uint64_t lost_max_id;
    uint64_t rows, bytes;     /* as of the last committed batch */
    uint64_t w_rows, w_bytes; /* the writer's running counts (worker side during a batch) */
    bool prune_due;
    uint64_t prune_req_gen, pruned_gen;
    hist_queue_t pending;
    hist_waiter_t *waiters;
    size_t nwaiters, waiters_cap;

    bool busy;
    uv_work_t work;
    hist_batch_t batch;
    bool retry_wait;
    uint64_t retry_ms;
    uint64_t last_log_ms, suppressed;
    uint64_t last_drop_log_ms, drops_unlogged;

    hist_job_t *waiting, *waiting_tail; /* queries not started */
    size_t nwaiting, nrunning;
    hist_job_t *done; /* answers to hand out on the next loop turn */

    uv_timer_t kick;  /* 0 ms: waiters, answers, batches for sync */
    uv_timer_t flush; /* batch delay, retries, pruning chunks */
    uv_timer_t prune; /* the retention, every minute */
    int open_handles;
    bool closing;

    tn_metric_child_t *m_rows, *m_bytes, *m_errors, *m_dropped;
};

/* ---- rows and the queue ---- */

static void row_free(hist_row_t *r)
{
    if (!r)
        return;
    free(r->receiver);
    free(r->group_key);
    free(r->json);
    free(r->alerts);
    free(r);
}

static size_t queue_len(const hist_queue_t *q)
{
    return q->n - q->head;
}

static void queue_push(hist_queue_t *q, hist_row_t *r)
{
    if (q->n == q->cap) {
        if (q->head) {
            memmove(q->v, q->v + q->head, queue_len(q) * sizeof(*q->v));
            q->n -= q->head;
            q->head = 0;
        }
        if (q->n == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 64;
            q->v = tn_xrealloc(q->v, q->cap * sizeof(*q->v));
        }
    }
    q->v[q->n++] = r;
    q->bytes += r->mem;
}

static hist_row_t *queue_shift(hist_queue_t *q)
{
    hist_row_t *r = q->v[q->head++];
    q->bytes -= r->mem;
    if (q->head == q->n)
        q->head = q->n = 0;
    return r;
}

/* Puts rows (older than everything queued) back at the front. */
static void queue_unshift(hist_queue_t *q, hist_row_t **rows, size_t n)
{
    if (!n)
        return;
    if (q->head < n) {
        size_t len = queue_len(q);
        size_t cap = TN_MAX(q->cap, len + n);
        hist_row_t **v = tn_xmalloc(cap * sizeof(*v));
        if (len)
            memcpy(v + n, q->v + q->head, len * sizeof(*v));
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = n;
        q->n = n + len;
    }
    q->head -= n;
    memcpy(q->v + q->head, rows, n * sizeof(*rows));
    for (size_t i = 0; i < n; i++)
        q->bytes += rows[i]->mem;
}

static void queue_free(hist_queue_t *q)
{
    for (size_t i = q->head; i < q->n; i++)
        row_free(q->v[i]);
    free(q->v);
    memset(q, 0, sizeof(*q));
}

static void hist_metric_add(tn_metric_child_t *c, double v)
{
    if (c)
        tn_metric_add(c, v);
}

/* Past the cap (a disk that keeps failing), the oldest rows go, down to 7/8 of it so that
 * dropping happens in chunks. */
static void hist_enforce_cap(tn_history_t *h)
{
    hist_queue_t *q = &h->pending;
    if (queue_len(q) <= h->queue_rows && q->bytes <= h->queue_bytes)
        return;
    size_t rows = h->queue_rows - h->queue_rows / 8, bytes = h->queue_bytes - h->queue_bytes / 8;
    uint64_t n = 0;
    while (queue_len(q) && (queue_len(q) > rows || q->bytes > bytes)) {
        hist_row_t *r = queue_shift(q);
        h->lost_max_id = TN_MAX(h->lost_max_id, r->id);
        row_free(r);
        n++;
    }
    hist_metric_add(h->m_dropped, (double)n);
    h->drops_unlogged += n;
    uint64_t now = tn_clock_mono_ms();
    if (!h->last_drop_log_ms || now - h->last_drop_log_ms >= HIST_LOG_EVERY_MS) {
        char s[24];
        snprintf(s, sizeof(s), "%llu", (unsigned long long)h->drops_unlogged);
        tn_log(TN_LOG_ERROR, "History queue full; dropped the oldest events", "file", h->path,
               "dropped", s, NULL);
        h->last_drop_log_ms = now;
        h->drops_unlogged = 0;
    }
}

/* ---- the alerts column ----
 * Per alert: its fingerprint (8 bytes, host order), name NUL value NUL per label, then one
 * NUL (label names are never empty). */

typedef struct hist_alert {
    uint64_t fp;
    const char *pairs, *end;
} hist_alert_t;

/* 1 with the next alert in *a, 0 at the end, -1 for a damaged column. */
static int hist_alert_next(const char **p, const char *end, hist_alert_t *a)
{
    if (*p >= end)
        return 0;
    if (end - *p < 9)
        return -1;
    memcpy(&a->fp, *p, 8);
    const char *q = *p + 8;
    a->pairs = q;
    for (int half = 0;; half ^= 1) {
        const char *nul = memchr(q, 0, (size_t)(end - q));
        if (!nul)
            return -1;
        if (!half && nul == q) {
            a->end = q;
            *p = q + 1;
            return 1;
        }
        q = nul + 1;
    }
}

/* The value of label name in a (NULL when missing). */
static const char *hist_alert_label(const hist_alert_t *a, const char *name)
{
    for (const char *q = a->pairs; q < a->end;) {
        size_t nl = strlen(q);
        const char *v = q + nl + 1;
        if (strcmp(q, name) == 0)
            return v;
        q = v + strlen(v) + 1;
    }
    return NULL;
}

static bool hist_alert_matches(const hist_alert_t *a, const tn_matchers_t *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!tn_matcher_matches(&ms->v[i], hist_alert_label(a, ms->v[i].name)))
            return false;
    return true;
}

/* ---- serializing an event (loop) ---- */

/* Milliseconds, rounded down, so that since/until compare as the millisecond text reads. */
static int64_t floor_ms(tn_time_t t)
{
    return t / TN_NS_PER_MS - (t % TN_NS_PER_MS < 0);
}

/* Where to cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t hist_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    for (int i = 0; i < 3 && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; i++)
        n--;
    return n;
}

static void hist_put_str(tn_buf_t *b, const char *key, const char *s, size_t max)
{
    if (!s)
        return;
    size_t len = strlen(s);
    if (max)
        len = hist_cut(s, len, max);
    tn_buf_printf(b, ",\"%s\":", key);
    tn_json_go_string(b, s, len);
}

static void hist_encode(const tn_event_t *ev, uint64_t id, tn_time_t t, tn_buf_t *j, tn_buf_t *al)
{
    char ts[40];
    tn_time_format_rfc3339milli(t, ts);
    tn_buf_printf(j, "{\"id\":\"%llu\",\"time\":\"%s\",\"kind\":\"%s\"", (unsigned long long)id, ts,
                  tn_event_kind_name(ev->kind));
    hist_put_str(j, "groupKey", ev->group_key, 0);
    hist_put_str(j, "receiver", ev->receiver, 0);
    hist_put_str(j, "integration", ev->integration, 0);
    hist_put_str(j, "reason", ev->reason, 0);
    hist_put_str(j, "outcome", ev->outcome, 0);
    hist_put_str(j, "error", ev->error, TN_HISTORY_MAX_TEXT);
    bool notif = ev->kind == TN_EV_NOTIFICATION;
    if (notif || ev->attempts)
        tn_buf_printf(j, ",\"attempts\":%d", ev->attempts);
    if (notif || ev->latency_ms)
        tn_buf_printf(j, ",\"latencyMs\":%lld", (long long)ev->latency_ms);
    if (notif || ev->step)
        tn_buf_printf(j, ",\"step\":%d", ev->step);
    hist_put_str(j, "by", ev->by, 0);
    hist_put_str(j, "comment", ev->comment, TN_HISTORY_MAX_TEXT);
    hist_put_str(j, "ref", ev->ref, 0);
    if (ev->extra_json) {
        const char *x = ev->extra_json;
        while (*x == ' ' || *x == '\t' || *x == '\n' || *x == '\r')
            x++;
        if (*x) {
            tn_buf_putc(j, ',');
            tn_buf_puts(j, x);
        }
    }
    size_t n = TN_MIN(ev->nalerts, TN_HISTORY_MAX_ALERTS);
    if (n)
        tn_buf_puts(j, ",\"alerts\":[");
    for (size_t i = 0; i < n; i++) {
        const tn_event_alert_t *a = &ev->alerts[i];
        char fp[17];
        tn_fingerprint_format(a->fingerprint, fp);
        tn_buf_printf(j, "%s{\"fingerprint\":\"%s\",\"labels\":{", i ? "," : "", fp);
        tn_buf_append(al, &a->fingerprint, 8);
        for (size_t k = 0; k < a->labels.n; k++) {
            const char *name = a->labels.v[k].name, *value = a->labels.v[k].value;
            size_t nl = strlen(name), vl = strlen(value);
            if (k)
                tn_buf_putc(j, ',');
            tn_json_go_string(j, name, nl);
            tn_buf_putc(j, ':');
            tn_json_go_string(j, value, vl);
            if (nl) {
                tn_buf_append(al, name, nl + 1);
                tn_buf_append(al, value, vl + 1);
            }
        }
        tn_buf_putc(al, 0);
        tn_buf_printf(j, "},\"status\":\"%s\"}", a->resolved ? "resolved" : "firing");
    }
    if (n)
        tn_buf_putc(j, ']');
    if (n < ev->nalerts)
        tn_buf_printf(j, ",\"alertsTotal\":%zu", ev->nalerts);
    tn_buf_putc(j, '}');
}

/* ---- worker side: writing ---- */

static int hist_step(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int hist_set_meta(tn_history_t *h, const char *key, uint64_t v)
{
    sqlite3_stmt *s = h->stmt[HS_SET_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)v);
    return hist_step(s);
}

typedef struct hist_victim {
    int64_t id;
    uint64_t size;
} hist_victim_t;

/* Deletes the rows sel yields (bound, stepped here), stopping once w_bytes is down to
 * target (0: no such bound) or at the chunk caps. Sets *full when it stopped at a cap. */
static int hist_delete(tn_history_t *h, sqlite3_stmt *sel, uint64_t target, bool *full)
{
    hist_victim_t *v = tn_xmalloc(HIST_PRUNE_ROWS * sizeof(*v));
    uint64_t(*pairs)[2] = NULL;
    size_t nv = 0, np = 0, pcap = 0;
    uint64_t freed = 0;
    int rc;
    *full = false;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        if (target && h->w_bytes - TN_MIN(freed, h->w_bytes) <= target)
            break;
        if (nv == HIST_PRUNE_ROWS || np >= HIST_PRUNE_PAIRS) {
            *full = true;
            break;
        }
        v[nv].id = sqlite3_column_int64(sel, 0);
        v[nv].size = (uint64_t)sqlite3_column_int64(sel, 1);
        freed += v[nv].size;
        const char *p = sqlite3_column_blob(sel, 2);
        const char *end = p + sqlite3_column_bytes(sel, 2);
        hist_alert_t a;
        while (p && hist_alert_next(&p, end, &a) == 1) {
            if (np == pcap) {
                pcap = pcap ? pcap * 2 : 256;
                pairs = tn_xrealloc(pairs, pcap * sizeof(*pairs));
            }
            pairs[np][0] = a.fp;
            pairs[np][1] = (uint64_t)v[nv].id;
            np++;
        }
        nv++;
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_reset(sel);
    sqlite3_clear_bindings(sel);
    for (size_t i = 0; rc == SQLITE_OK && i < nv; i++) {
        sqlite3_bind_int64(h->stmt[HS_DEL_EVENT], 1, v[i].id);
        rc = hist_step(h->stmt[HS_DEL_EVENT]);
        if (rc == SQLITE_OK && sqlite3_changes(h->db) > 0) {
            h->w_rows -= TN_MIN(h->w_rows, 1);
            h->w_bytes -= TN_MIN(h->w_bytes, v[i].size);
        }
    }
    for (size_t i = 0; rc == SQLITE_OK && i < np; i++) {
        sqlite3_bind_int64(h->stmt[HS_DEL_ALERT], 1, (sqlite3_int64)pairs[i][0]);
        sqlite3_bind_int64(h->stmt[HS_DEL_ALERT], 2, (sqlite3_int64)pairs[i][1]);
        rc = hist_step(h->stmt[HS_DEL_ALERT]);
    }
    free(v);
    free(pairs);
    return rc;
}

static int hist_write_rows(tn_history_t *h, hist_batch_t *b)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++) {
        const hist_row_t *r = b->v[i];
        sqlite3_stmt *s = h->stmt[HS_INS_EVENT];
        sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
        sqlite3_bind_int64(s, 2, r->time_ms);
        sqlite3_bind_text(s, 3, hist_kind_names[r->kind], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->receiver, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, r->group_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, (sqlite3_int64)(r->json_len + r->alerts_len));
        sqlite3_bind_blob(s, 7, r->alerts ? r->alerts : "", (int)r->alerts_len, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, r->json, (int)r->json_len, SQLITE_STATIC);
        rc = hist_step(s);
        if (rc != SQLITE_OK || sqlite3_changes(h->db) == 0)
            continue; /* written already by a batch whose commit was reported as failed */
        h->w_rows++;
        h->w_bytes += r->json_len + r->alerts_len;
        const char *p = r->alerts, *end = p + r->alerts_len;
        hist_alert_t a;
        while (rc == SQLITE_OK && p && hist_alert_next(&p, end, &a) == 1) {
            sqlite3_bind_int64(h->stmt[HS_INS_ALERT], 1, (sqlite3_int64)a.fp);
            sqlite3_bind_int64(h->stmt[HS_INS_ALERT], 2, (sqlite3_int64)r->id);
            rc = hist_step(h->stmt[HS_INS_ALERT]);
        }
    }
    return rc;
}

static int hist_read_int(sqlite3 *db, const char *sql, int64_t dflt, int64_t *out);

/* The counts as the file has them (another process may write it too, as a test does). */
static int hist_read_counts(tn_history_t *h)
{
    int64_t rows, bytes;
    int rc = hist_read_int(h->db, "SELECT value FROM meta WHERE key = 'rows'", 0, &rows);
    if (rc == SQLITE_OK)
        rc = hist_read_int(h->db, "SELECT value FROM meta WHERE key = 'bytes'", 0, &bytes);
    if (rc == SQLITE_OK) {
        h->w_rows = (uint64_t)TN_MAX(rows, 0);
        h->w_bytes = (uint64_t)TN_MAX(bytes, 0);
    }
    return rc;
}

/* Runs the batch in one transaction: rows, the id reservation, pruning, the counts. */
static void hist_run_batch(tn_history_t *h)
{
    hist_batch_t *b = &h->batch;
    uint64_t rows0 = h->w_rows, bytes0 = h->w_bytes;
    bool full = false;
    b->more = false;
    int rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = hist_read_counts(h);
    if (rc == SQLITE_OK)
        rc = hist_write_rows(h, b);
    if (rc == SQLITE_OK && b->reserve) {
        sqlite3_bind_int64(h->stmt[HS_RESERVE], 1, (sqlite3_int64)b->reserve);
        rc = hist_step(h->stmt[HS_RESERVE]);
    }
    if (rc == SQLITE_OK && b->prune) {
        sqlite3_bind_int64(h->stmt[HS_SEL_OLD], 1, b->cut_ms);
        sqlite3_bind_int64(h->stmt[HS_SEL_OLD], 2, HIST_PRUNE_ROWS + 1);
        rc = hist_delete(h, h->stmt[HS_SEL_OLD], 0, &full);
        b->more = full;
    }
    if (rc == SQLITE_OK && b->max_bytes && h->w_bytes > b->max_bytes) {
        /* Down to 95%, so a full history is not pruned on every batch. */
        sqlite3_bind_int64(h->stmt[HS_SEL_FIRST], 1, HIST_PRUNE_ROWS + 1);
        rc = hist_delete(h, h->stmt[HS_SEL_FIRST], b->max_bytes - b->max_bytes / 20, &full);
        b->more = b->more || h->w_bytes > b->max_bytes;
    }
    if (rc == SQLITE_OK)
        rc = hist_set_meta(h, "rows", h->w_rows);
    if (rc == SQLITE_OK)
        rc = hist_set_meta(h, "bytes", h->w_bytes);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(b->err, sizeof(b->err), "%s", sqlite3_errmsg(h->db));
        if (!sqlite3_get_autocommit(h->db))
            sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        h->w_rows = rows0;
        h->w_bytes = bytes0;
        b->rc = TN_ERR_IO;
        b->more = false;
    } else {
        b->rc = TN_OK;
    }
    b->rows = h->w_rows;
    b->bytes = h->w_bytes;
}

static void hist_work_cb(uv_work_t *w)
{
    hist_run_batch(w->data);
}

/* ---- loop side: batches, waiters ---- */

static void hist_start_batch(tn_history_t *h);
static void hist_on_flush(uv_timer_t *t);
static void hist_on_kick(uv_timer_t *t);

static void hist_kick(tn_history_t *h)
{
    if (!h->closing && !uv_is_active((uv_handle_t *)&h->kick))
        uv_timer_start(&h->kick, hist_on_kick, 0, 0);
}

/* The flush timer keeps the loop alive only while someone waits for a write. */
static void hist_update_ref(tn_history_t *h)
{
    if (h->nwaiters)
        uv_ref((uv_handle_t *)&h->flush);
    else
        uv_unref((uv_handle_t *)&h->flush);
}

/* Starts a batch within ms (sooner if already due sooner). */
static void hist_schedule(tn_history_t *h, uint64_t ms)
{
    if (h->closing || h->busy || h->retry_wait)
        return;
    if (!uv_is_active((uv_handle_t *)&h->flush) || uv_timer_get_due_in(&h->flush) > ms)
        uv_timer_start(&h->flush, hist_on_flush, ms, 0);
}

/* Runs the waiters that are satisfied, and with a failed batch those it was meant to
 * satisfy. A waiter also fails when queued rows were dropped while it waited (perhaps newer
 * ones than its own: it is told of a loss it may not have had, never the reverse). */
static void hist_complete_waiters(tn_history_t *h, const hist_batch_t *failed)
{
    uint64_t last = failed && failed->n ? failed->v[failed->n - 1]->id : 0;
    hist_waiter_t *done = NULL;
    int *rcs = NULL;
    size_t ndone = 0, keep = 0;
    for (size_t i = 0; i < h->nwaiters; i++) {
        hist_waiter_t *w = &h->waiters[i];
        int rc = 1;
        if (h->durable_id >= w->id && h->pruned_gen >= w->prune_gen)
            rc = h->lost_max_id > w->lost ? TN_ERR_IO : TN_OK;
        else if (failed && ((w->id > h->durable_id && w->id <= last) ||
                            (w->prune_gen > h->pruned_gen && w->prune_gen <= failed->prune_gen)))
            rc = TN_ERR_IO;
        if (rc == 1) {
            h->waiters[keep++] = *w;
            continue;
        }
        if (!done) {
            done = tn_xmalloc(h->nwaiters * sizeof(*done));
            rcs = tn_xmalloc(h->nwaiters * sizeof(*rcs));
        }
        rcs[ndone] = rc;
        done[ndone++] = *w;
    }
    h->nwaiters = keep;
    hist_update_ref(h);
    for (size_t i = 0; i < ndone; i++)
        done[i].cb(done[i].ud, rcs[i]);
    free(done);
    free(rcs);
}

static void hist_take_batch(tn_history_t *h)
{
    hist_batch_t *b = &h->batch;
    memset(b, 0, sizeof(*b));
    size_t n = 0, bytes = 0, len = queue_len(&h->pending);
    while (n < len && n < HIST_BATCH_ROWS && bytes < HIST_BATCH_BYTES)
        bytes += h->pending.v[h->pending.head + n++]->mem;
    b->v = tn_xmalloc((n ? n : 1) * sizeof(*b->v));
    for (size_t i = 0; i < n; i++)
        b->v[i] = queue_shift(&h->pending);
    b->n = n;
    /* Ids handed out must stay above what a restart after a crash continues from. */
    if (h->next_id + HIST_ID_BLOCK / 2 > h->reserved)
        b->reserve = h->next_id + HIST_ID_BLOCK;
    if (h->prune_due && h->retention > 0) {
        b->prune = true;
        b->cut_ms = (tn_clock_now() - h->retention) / TN_NS_PER_MS;
    }
    b->prune_gen = h->prune_req_gen;
    h->prune_due = false;
    b->max_bytes = h->max_bytes;
}

static void hist_log_failure(tn_history_t *h)
{
    uint64_t now = tn_clock_mono_ms();
    if (h->last_log_ms && now - h->last_log_ms < HIST_LOG_EVERY_MS) {
        h->suppressed++;
        return;
    }
    char n[24];
    snprintf(n, sizeof(n), "%llu", (unsigned long long)h->suppressed);
    tn_log(TN_LOG_ERROR, "Writing the history failed; will retry", "file", h->path, "err",
           h->batch.err, "suppressed_since_last_log", n, NULL);
    h->last_log_ms = now;
    h->suppressed = 0;
}

static void hist_finish_batch(tn_history_t *h)
{
    hist_batch_t *b = &h->batch;
    if (b->rc == TN_OK) {
        for (size_t i = 0; i < b->n; i++)
            row_free(b->v[i]);
        /* Rows are queued in id order and nothing is in flight now: every id below the oldest
         * queued one is committed, or was dropped (as done as it will ever be). */
        uint64_t oldest = queue_len(&h->pending) ? h->pending.v[h->pending.head]->id : h->next_id;
        h->durable_id = TN_MAX(h->durable_id, oldest - 1);
        if (b->reserve)
            h->reserved = TN_MAX(h->reserved, b->reserve);
        h->pruned_gen = TN_MAX(h->pruned_gen, b->prune_gen);
        h->rows = b->rows;
        h->bytes = b->bytes;
        if (h->m_rows) {
            tn_metric_set(h->m_rows, (double)h->rows);
            tn_metric_set(h->m_bytes, (double)h->bytes);
        }
        if (b->more)
            h->prune_due = true;
        h->retry_ms = 0;
        hist_complete_waiters(h, NULL);
    } else {
        hist_metric_add(h->m_errors, 1);
        hist_log_failure(h);
        queue_unshift(&h->pending, b->v, b->n);
        /* Again with the retry, so that a waiter for this pruning is not left waiting. */
        if (b->prune || b->prune_gen > h->pruned_gen)
            h->prune_due = true;
        hist_complete_waiters(h, b);
        hist_enforce_cap(h);
    }
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

static void hist_after_work(uv_work_t *w, int status)
{
    tn_history_t *h = w->data;
    if (status != 0) {
        h->batch.rc = TN_ERR_IO;
        snprintf(h->batch.err, sizeof(h->batch.err), "cancelled");
    }
    h->busy = false;
    int rc = h->batch.rc;
    hist_finish_batch(h);
    if (h->closing)
        return;
    if (rc != TN_OK) {
        h->retry_ms = h->retry_ms ? TN_MIN(h->retry_ms * 2, HIST_RETRY_MAX_MS) : HIST_RETRY_MIN_MS;
        h->retry_wait = true;
        uv_timer_start(&h->flush, hist_on_flush, h->retry_ms, 0);
        return;
    }
    /* What arrived during the write goes at once: under load batches follow each other. */
    if (queue_len(&h->pending) || (h->prune_due && h->nwaiters))
        hist_start_batch(h);
    else if (h->prune_due)
        hist_schedule(h, HIST_PRUNE_AGAIN_MS);
}

static void hist_start_batch(tn_history_t *h)
{
    if (h->busy || h->retry_wait || h->closing || !h->db)
        return;
    if (!queue_len(&h->pending) && !h->prune_due)
        return;
    uv_timer_stop(&h->flush);
    hist_take_batch(h);
    h->busy = true;
    h->work.data = h;
    if (uv_queue_work(h->loop, &h->work, hist_work_cb, hist_after_work) != 0) {
        /* Cannot happen with a valid loop; write here rather than lose the batch. */
        hist_run_batch(h);
        h->busy = false;
        hist_finish_batch(h);
    }
}

static void hist_on_flush(uv_timer_t *t)
{
    tn_history_t *h = t->data;
    h->retry_wait = false;
    hist_start_batch(h);
}

static void hist_on_prune(uv_timer_t *t)
{
    tn_history_t *h = t->data;
    h->prune_due = true;
    hist_schedule(h, 0);
}

static void hist_deliver_done(tn_history_t *h);

static void hist_on_kick(uv_timer_t *t)
{
    tn_history_t *h = t->data;
    hist_complete_waiters(h, NULL);
    hist_deliver_done(h);
    hist_start_batch(h);
}

uint64_t tn_history_append(tn_history_t *h, const tn_event_t *ev)
{
    if ((unsigned)ev->kind >= TN_EV__COUNT)
        return 0;
    tn_time_t t = ev->time ? ev->time : tn_clock_now();
    uint64_t id = h->next_id++;
    tn_buf_t j, al;
    tn_buf_init(&j, 0);
    tn_buf_init(&al, 0);
    hist_encode(ev, id, t, &j, &al);
    hist_row_t *r = tn_xcalloc(1, sizeof(*r));
    r->id = id;
    r->time_ms = floor_ms(t);
    r->kind = ev->kind;
    r->receiver = ev->receiver ? tn_xstrdup(ev->receiver) : NULL;
    r->group_key = ev->group_key ? tn_xstrdup(ev->group_key) : NULL;
    tn_buf_cstr(&j);
    r->json = j.data;
    r->json_len = j.len;
    r->alerts = al.data;
    r->alerts_len = al.len;
    r->mem = sizeof(*r) + j.alloc + al.alloc + (r->receiver ? strlen(r->receiver) + 1 : 0) +
             (r->group_key ? strlen(r->group_key) + 1 : 0);
    queue_push(&h->pending, r);
    if (h->observer)
        h->observer(h->observer_ud, id, ev->kind, r->json, r->json_len);
    hist_enforce_cap(h);
    hist_schedule(h, HIST_FLUSH_MS);
    return id;
}

void tn_history_set_observer(tn_history_t *h, tn_history_observer_fn fn, void *ud)
{
    h->observer = fn;
    h->observer_ud = ud;
}

void tn_history_sync(tn_history_t *h, void (*cb)(void *ud, int rc), void *ud)
{
    if (h->nwaiters == h->waiters_cap) {
        h->waiters_cap = h->waiters_cap ? h->waiters_cap * 2 : 8;
        h->waiters = tn_xrealloc(h->waiters, h->waiters_cap * sizeof(*h->waiters));
    }
    h->waiters[h->nwaiters++] =
        (hist_waiter_t){cb, ud, h->next_id - 1, h->prune_req_gen, h->lost_max_id};
    hist_update_ref(h);
    /* Someone waits: try now rather than after the backoff of a failing disk. */
    if (h->retry_wait) {
        h->retry_wait = false;
        uv_timer_stop(&h->flush);
    }
    hist_kick(h);
}

void tn_history_set_limits(tn_history_t *h, tn_duration_t retention, uint64_t max_bytes)
{
    h->retention = retention > 0 ? retention : 0;
    h->max_bytes = max_bytes;
    h->prune_due = true;
    h->prune_req_gen++;
    hist_schedule(h, 0);
}

uint64_t tn_history_rows(tn_history_t *h)
{
    return h->rows;
}

uint64_t tn_history_bytes(tn_history_t *h)
{
    return h->bytes;
}

const char *tn_history_path(const tn_history_t *h)
{
    return h->path;
}

void tn_history_register_metrics(tn_history_t *h)
{
    h->m_rows = tn_metric_plain(
        tn_metric_gauge("tocsin_history_rows", "Events stored in the history file.", NULL));
    h->m_bytes = tn_metric_plain(tn_metric_gauge(
        "tocsin_history_bytes",
        "Sum of the stored sizes of the history's events (what the size cap counts).", NULL));
    h->m_errors = tn_metric_plain(tn_metric_counter(
        "tocsin_history_write_errors_total",
        "Batches of history events that failed to be written (they are retried).", NULL));
    h->m_dropped = tn_metric_plain(tn_metric_counter(
        "tocsin_history_dropped_total",
        "History events dropped unwritten because the queue was full (a failing disk).", NULL));
    tn_metric_set(h->m_rows, (double)h->rows);
    tn_metric_set(h->m_bytes, (double)h->bytes);
}

/* ---- queries ---- */

struct hist_job {
    tn_history_t *h;
    uv_work_t work;
    tn_history_query_t q;
    tn_history_answer_fn cb;
    void *ud;
    sqlite3 *db;
    int rc;
    tn_buf_t body;
    hist_job_t *next;
};

static void job_free(hist_job_t *job)
{
    tn_matchers_free(&job->q.filter);
    free(job->q.receiver);
    free(job->q.group_key);
    tn_buf_free(&job->body);
    free(job);
}

static void job_fail(hist_job_t *job, int rc, const char *msg)
{
    job->rc = rc;
    tn_buf_reset(&job->body);
    tn_buf_puts(&job->body, msg);
}

/* Hands the job's answer to its caller (who owns the body) and frees the job. */
static void job_answer(hist_job_t *job)
{
    tn_buf_cstr(&job->body);
    char *body = job->body.data;
    size_t len = job->body.len;
    int rc = job->rc;
    job->body.data = NULL;
    tn_history_answer_fn cb = job->cb;
    void *ud = job->ud;
    job_free(job);
    cb(ud, rc, body, len);
}

static void hist_deliver_done(tn_history_t *h)
{
    while (h->done) {
        hist_job_t *job = h->done;
        h->done = job->next;
        job_answer(job);
    }
}

static sqlite3 *job_open_reader(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 2000);
    return db;
}

typedef struct hist_scan {
    sqlite3_stmt *st;
    bool desc;
    int page; /* rows of the current page stepped */
    int64_t last;
} hist_scan_t;

/* 1 with the next row in st, 0 at the end, or an SQLite error code. */
static int scan_next(hist_scan_t *s)
{
    for (;;) {
        int rc = sqlite3_step(s->st);
        if (rc == SQLITE_ROW) {
            s->page++;
            s->last = sqlite3_column_int64(s->st, 0);
            return 1;
        }
        if (rc != SQLITE_DONE)
            return rc;
        if (s->page < HIST_SCAN_PAGE)
            return 0;
        sqlite3_reset(s->st);
        sqlite3_bind_int64(s->st, s->desc ? 2 : 3, s->last);
        s->page = 0;
    }
}

static bool job_row_matches(const tn_history_query_t *q, sqlite3_stmt *st, int64_t since_ms,
                            int64_t until_ms)
{
    int64_t t = sqlite3_column_int64(st, 1);
    if ((q->since && t < since_ms) || (q->until && t >= until_ms))
        return false;
    if (q->kinds) {
        enum tn_event_kind k;
        if (tn_event_kind_parse((const char *)sqlite3_column_text(st, 2), &k) != TN_OK ||
            !(q->kinds & (1u << k)))
            return false;
    }
    const char *recv = (const char *)sqlite3_column_text(st, 3);
    if (q->receiver && (!recv || strcmp(recv, q->receiver) != 0))
        return false;
    const char *gk = (const char *)sqlite3_column_text(st, 4);
    if (q->group_key && (!gk || strcmp(gk, q->group_key) != 0))
        return false;
    if (!q->filter.n)
        return true;
    const char *p = sqlite3_column_blob(st, 5), *end = p + sqlite3_column_bytes(st, 5);
    hist_alert_t a;
    while (p && hist_alert_next(&p, end, &a) == 1)
        if (hist_alert_matches(&a, &q->filter))
            return true;
    return false;
}

/* The access path: one alert's index, a receiver's, one kind's, or the table; other
 * conditions are tested in C, so that a page is exactly the rows examined. */
static int job_prepare(hist_job_t *job, hist_scan_t *s)
{
    const tn_history_query_t *q = &job->q;
    static const char cols[] = "e.id, e.time, e.kind, e.receiver, e.group_key, e.alerts, e.json";
    const char *dir = q->oldest_first ? "ASC" : "DESC";
    int single = -1;
    for (int k = 0; k < TN_EV__COUNT; k++)
        if (q->kinds == (1u << k))
            single = k;
    char sql[512];
    if (q->has_fingerprint)
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM event_alerts a JOIN events e ON e.id = a.event_id WHERE "
                 "a.fingerprint = ?1 AND a.event_id < ?2 AND a.event_id > ?3 ORDER BY a.event_id "
                 "%s LIMIT ?4",
                 cols, dir);
    else if (q->receiver)
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM events e INDEXED BY events_receiver WHERE e.receiver = ?1 AND "
                 "e.id < ?2 AND e.id > ?3 ORDER BY e.id %s LIMIT ?4",
                 cols, dir);
    else if (single >= 0)
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM events e INDEXED BY events_kind WHERE e.kind = ?1 AND e.id < ?2 "
                 "AND e.id > ?3 ORDER BY e.id %s LIMIT ?4",
                 cols, dir);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM events e WHERE ?1 IS NULL AND e.id < ?2 AND e.id > ?3 ORDER BY "
                 "e.id %s LIMIT ?4",
                 cols, dir);
    int rc = sqlite3_prepare_v2(job->db, sql, -1, &s->st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (q->has_fingerprint)
        sqlite3_bind_int64(s->st, 1, (sqlite3_int64)q->fingerprint);
    else if (q->receiver)
        sqlite3_bind_text(s->st, 1, q->receiver, -1, SQLITE_STATIC);
    else if (single >= 0)
        sqlite3_bind_text(s->st, 1, hist_kind_names[single], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->st, 2, q->before ? (sqlite3_int64)q->before : INT64_MAX);
    sqlite3_bind_int64(s->st, 3, (sqlite3_int64)q->after);
    sqlite3_bind_int(s->st, 4, HIST_SCAN_PAGE);
    s->desc = !q->oldest_first;
    return SQLITE_OK;
}

static void job_run(hist_job_t *job)
{
    const tn_history_query_t *q = &job->q;
    char err[TN_ERRBUF_SIZE];
    if (!job->db && !(job->db = job_open_reader(job->h->path, err, sizeof(err)))) {
        job_fail(job, TN_ERR_IO, err);
        return;
    }
    hist_scan_t s = {0};
    /* One read transaction: every page sees the same snapshot. */
    int rc = sqlite3_exec(job->db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = job_prepare(job, &s);
    int64_t since_ms = floor_ms(q->since), until_ms = floor_ms(q->until);
    size_t matched = 0, scanned = 0;
    int64_t examined = 0;
    bool more = false;
    tn_buf_t *b = &job->body;
    tn_buf_puts(b, "{\"events\":[");
    while (rc == SQLITE_OK) {
        int r = scan_next(&s);
        if (r == 0)
            break;
        if (r != 1) {
            rc = r;
            break;
        }
        if (matched == q->limit || scanned == HIST_SCAN_MAX) {
            more = true;
            break;
        }
        scanned++;
        examined = s.last;
        if (!job_row_matches(q, s.st, since_ms, until_ms))
            continue;
        if (matched)
            tn_buf_putc(b, ',');
        tn_buf_append(b, sqlite3_column_text(s.st, 6), (size_t)sqlite3_column_bytes(s.st, 6));
        matched++;
    }
    if (rc != SQLITE_OK)
        snprintf(err, sizeof(err), "%s: %s", job->h->path, sqlite3_errmsg(job->db));
    sqlite3_finalize(s.st);
    sqlite3_exec(job->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        job_fail(job, TN_ERR_IO, err);
        return;
    }
    /* The cursor is the last row examined (not the one peeked at): the next page starts
     * after it. */
    if (more)
        tn_buf_printf(b, "],\"nextCursor\":\"%lld\"}", (long long)examined);
    else
        tn_buf_puts(b, "],\"nextCursor\":null}");
    job->rc = TN_OK;
}

static void job_work_cb(uv_work_t *w)
{
    job_run(w->data);
}

static void hist_start_jobs(tn_history_t *h);

static void job_after_work(uv_work_t *w, int status)
{
    hist_job_t *job = w->data;
    tn_history_t *h = job->h;
    if (status != 0)
        job_fail(job, TN_ERR_IO, "history query cancelled");
    h->nrunning--;
    if (job->db) {
        if (h->nreaders < HIST_QUERY_RUNNING)
            h->readers[h->nreaders++] = job->db;
        else
            sqlite3_close(job->db);
        job->db = NULL;
    }
    hist_start_jobs(h);
    job_answer(job);
}

static void hist_start_jobs(tn_history_t *h)
{
    while (h->waiting && h->nrunning < HIST_QUERY_RUNNING && !h->closing) {
        hist_job_t *job = h->waiting;
        h->waiting = job->next;
        if (!h->waiting)
            h->waiting_tail = NULL;
        h->nwaiting--;
        job->db = h->nreaders ? h->readers[--h->nreaders] : NULL;
        job->work.data = job;
        h->nrunning++;
        if (uv_queue_work(h->loop, &job->work, job_work_cb, job_after_work) != 0) {
            h->nrunning--;
            job_fail(job, TN_ERR_IO, "cannot queue the history query");
            job->next = h->done;
            h->done = job;
            hist_kick(h);
        }
    }
}

void tn_history_query(tn_history_t *h, tn_history_query_t *q, tn_history_answer_fn cb, void *ud)
{
    hist_job_t *job = tn_xcalloc(1, sizeof(*job));
    job->h = h;
    job->q = *q;
    memset(&q->filter, 0, sizeof(q->filter));
    q->receiver = q->group_key = NULL;
    job->cb = cb;
    job->ud = ud;
    tn_buf_init(&job->body, 0);
    if (!job->q.limit)
        job->q.limit = HIST_QUERY_LIMIT;
    job->q.limit = TN_MIN(job->q.limit, (size_t)HIST_QUERY_MAX_LIMIT);
    if (h->closing || h->nwaiting >= HIST_QUERY_WAITING) {
        job_fail(job, h->closing ? TN_ERR_IO : TN_ERR_LIMIT,
                 h->closing ? "history is closing" : "too many history queries; try again");
        job->next = h->done;
        h->done = job;
        hist_kick(h);
        return;
    }
    if (h->waiting_tail)
        h->waiting_tail->next = job;
    else
        h->waiting = job;
    h->waiting_tail = job;
    h->nwaiting++;
    hist_start_jobs(h);
}

/* ---- open, close ---- */

static void hist_close_db(tn_history_t *h)
{
    for (int i = 0; i < HS_COUNT; i++) {
        sqlite3_finalize(h->stmt[i]);
        h->stmt[i] = NULL;
    }
    for (size_t i = 0; i < h->nreaders; i++)
        sqlite3_close(h->readers[i]);
    h->nreaders = 0;
    if (h->db)
        sqlite3_close(h->db);
    h->db = NULL;
}

static bool hist_is_damage(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT || rc == SQLITE_FORMAT;
}

/* Reads one integer (sql yields one row), or dflt when there is no row or it is NULL. */
static int hist_read_int(sqlite3 *db, const char *sql, int64_t dflt, int64_t *out)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    *out = dflt;
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_type(q, 0) != SQLITE_NULL)
            *out = sqlite3_column_int64(q, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return rc;
}

static int hist_open_db(tn_history_t *h, char *err, size_t errlen)
{
    char *emsg = NULL;
    const char *why = NULL;
    char whybuf[256];
    int64_t v = 0;
    struct stat sb;
    bool small = stat(h->path, &sb) != 0 || sb.st_size <= HIST_CHECK_MAX_BYTES;
    int rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(h->db, 1);
    sqlite3_busy_timeout(h->db, 5000);
    if (small) {
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(h->db, "PRAGMA quick_check", -1, &q, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *res = (const char *)sqlite3_column_text(q, 0);
            if (!res || strcmp(res, "ok") != 0) {
                snprintf(whybuf, sizeof(whybuf), "damaged database: %.200s", res ? res : "?");
                why = whybuf;
            }
            rc = SQLITE_OK;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_OK || why)
            goto fail;
    }
    if ((rc = hist_read_int(h->db, "SELECT count(*) FROM sqlite_master", 0, &v)) != SQLITE_OK ||
        (rc = hist_read_int(h->db, "PRAGMA user_version", 0, &v)) != SQLITE_OK)
        goto fail;
    if (v > HIST_SCHEMA_VERSION) {
        snprintf(whybuf, sizeof(whybuf),
                 "written by a newer tocsin (schema %lld, this one knows %d)", (long long)v,
                 HIST_SCHEMA_VERSION);
        why = whybuf;
        goto fail;
    }
    /* WAL with synchronous=NORMAL: a committed batch survives the process being killed; a
     * power cut may lose the last ones, which a log can afford (no fsync per batch). */
    rc = sqlite3_exec(h->db,
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=NORMAL;"
                      "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, time INTEGER NOT "
                      "NULL, kind TEXT NOT NULL, receiver TEXT, group_key TEXT, size INTEGER NOT "
                      "NULL, alerts BLOB NOT NULL, json TEXT NOT NULL);"
                      "CREATE INDEX IF NOT EXISTS events_time ON events(time);"
                      "CREATE INDEX IF NOT EXISTS events_kind ON events(kind, id);"
                      "CREATE INDEX IF NOT EXISTS events_receiver ON events(receiver, id);"
                      "CREATE TABLE IF NOT EXISTS event_alerts(fingerprint INTEGER NOT NULL, "
                      "event_id INTEGER NOT NULL, PRIMARY KEY(fingerprint, event_id)) WITHOUT "
                      "ROWID;"
                      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT "
                      "NULL);"
                      "PRAGMA user_version=" TN_STR(HIST_SCHEMA_VERSION) ";",
                      NULL, NULL, &emsg);
    if (rc != SQLITE_OK)
        goto fail;
    for (int i = 0; i < HS_COUNT; i++) {
        rc = sqlite3_prepare_v3(h->db, hist_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &h->stmt[i],
                                NULL);
        if (rc != SQLITE_OK)
            goto fail;
    }
    int64_t reserved, maxid, rows, bytes;
    if ((rc = hist_read_int(h->db, "SELECT value FROM meta WHERE key = 'reserved'", 0,
                            &reserved)) != SQLITE_OK ||
        (rc = hist_read_int(h->db, "SELECT max(id) FROM events", 0, &maxid)) != SQLITE_OK ||
        (rc = hist_read_int(h->db, "SELECT value FROM meta WHERE key = 'rows'", -1, &rows)) !=
            SQLITE_OK ||
        (rc = hist_read_int(h->db, "SELECT value FROM meta WHERE key = 'bytes'", -1, &bytes)) !=
            SQLITE_OK)
        goto fail;
    if (rows < 0 || bytes < 0) {
        if ((rc = hist_read_int(h->db, "SELECT count(*) FROM events", 0, &rows)) != SQLITE_OK ||
            (rc = hist_read_int(h->db, "SELECT coalesce(sum(size), 0) FROM events", 0, &bytes)) !=
                SQLITE_OK ||
            (rc = hist_set_meta(h, "rows", (uint64_t)rows)) != SQLITE_OK ||
            (rc = hist_set_meta(h, "bytes", (uint64_t)bytes)) != SQLITE_OK)
            goto fail;
    }
    h->w_rows = h->rows = (uint64_t)rows;
    h->w_bytes = h->bytes = (uint64_t)bytes;
    /* Continue above every id a previous run may have handed out, written or not. */
    h->next_id = (uint64_t)TN_MAX(TN_MAX(reserved, maxid), 0) + 1;
    h->durable_id = h->next_id - 1;
    h->reserved = h->next_id - 1 + HIST_ID_BLOCK;
    hist_batch_t *b = &h->batch;
    memset(b, 0, sizeof(*b));
    b->reserve = h->reserved;
    hist_run_batch(h);
    if (b->rc != TN_OK) {
        snprintf(err, errlen, "%s: %s", h->path, b->err);
        return TN_ERR_IO;
    }
    return TN_OK;
fail:
    snprintf(err, errlen, "%s: %s", h->path,
             why    ? why
             : emsg ? emsg
                    : (h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc)));
    sqlite3_free(emsg);
    return why || hist_is_damage(rc) ? TN_ERR_INVAL : TN_ERR_IO;
}

static void hist_on_close(uv_handle_t *handle)
{
    tn_history_t *h = handle->data;
    if (--h->open_handles == 0)
        free(h);
}

tn_history_t *tn_history_open(uv_loop_t *loop, const char *dir, char *err, size_t errlen)
{
    tn_history_t *h = tn_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->path = tn_xasprintf("%s/%s", dir, TN_HISTORY_FILE);
    h->retention = 30 * 24 * 3600 * TN_NS_PER_SEC;
    h->max_bytes = UINT64_C(1) << 30;
    h->queue_rows = HIST_QUEUE_ROWS;
    h->queue_bytes = HIST_QUEUE_BYTES;
    if (hist_open_db(h, err, errlen) != TN_OK) {
        hist_close_db(h);
        free(h->path);
        free(h);
        return NULL;
    }
    uv_timer_init(loop, &h->kick);
    uv_timer_init(loop, &h->flush);
    uv_timer_init(loop, &h->prune);
    h->kick.data = h->flush.data = h->prune.data = h;
    h->open_handles = 3;
    uv_unref((uv_handle_t *)&h->flush);
    uv_timer_start(&h->prune, hist_on_prune, HIST_PRUNE_EVERY_MS, HIST_PRUNE_EVERY_MS);
    uv_unref((uv_handle_t *)&h->prune);
    /* The first retention pass soon after start. */
    h->prune_due = true;
    hist_schedule(h, 1000);
    return h;
}

void tn_history_set_queue_limits(tn_history_t *h, size_t max_rows, size_t max_bytes)
{
    h->queue_rows = max_rows ? max_rows : HIST_QUEUE_ROWS;
    h->queue_bytes = max_bytes ? max_bytes : HIST_QUEUE_BYTES;
}

void tn_history_close(tn_history_t *h)
{
    if (!h)
        return;
    h->closing = true;
    while (h->busy || h->nrunning)
        uv_run(h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->kick);
    uv_timer_stop(&h->flush);
    uv_timer_stop(&h->prune);
    while (h->waiting) {
        hist_job_t *job = h->waiting;
        h->waiting = job->next;
        job_fail(job, TN_ERR_IO, "history is closing");
        job->next = h->done;
        h->done = job;
    }
    h->waiting_tail = NULL;
    h->nwaiting = 0;
    hist_deliver_done(h);
    bool ok = true;
    while (ok && queue_len(&h->pending)) {
        h->prune_due = false; /* no retention pass at exit: it can wait for the next start */
        hist_take_batch(h);
        hist_run_batch(h);
        ok = h->batch.rc == TN_OK;
        if (!ok)
            tn_log(TN_LOG_ERROR, "Writing the history at exit failed; recent events are lost",
                   "file", h->path, "err", h->batch.err, NULL);
        hist_finish_batch(h);
    }
    /* A clean exit gives back the ids reserved ahead, unless another process took more. */
    if (ok) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "UPDATE meta SET value = %llu WHERE key = 'reserved' AND value = %llu",
                 (unsigned long long)(h->next_id - 1), (unsigned long long)h->reserved);
        sqlite3_exec(h->db, sql, NULL, NULL, NULL);
    }
    if (queue_len(&h->pending))
        h->lost_max_id = TN_MAX(h->lost_max_id, h->next_id - 1);
    h->durable_id = h->next_id - 1;
    h->pruned_gen = h->prune_req_gen;
    hist_complete_waiters(h, NULL);
    hist_deliver_done(h); /* queries asked from the callbacks above */
    queue_free(&h->pending);
    hist_close_db(h);
    free(h->waiters);
    free(h->path);
    uv_close((uv_handle_t *)&h->kick, hist_on_close);
    uv_close((uv_handle_t *)&h->flush, hist_on_close);
    uv_close((uv_handle_t *)&h->prune, hist_on_close);
}
