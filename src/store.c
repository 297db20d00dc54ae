/* Durable state in SQLite: a queue of pending writes on the loop, one worker batch at a time.
 *
 * Loop side: hooks turn every change into an op keyed by what it changes ("s" + silence id,
 * "n" + nflog key, "a" + fingerprint); a newer change replaces the queued op for the same key,
 * so a hot alert is written once per batch however often it changes. Silence and nflog changes
 * start a batch on the next loop turn; alert changes wait for the one-second flush timer.
 * Worker side: a batch is a list of plain byte buffers (alerts are encoded on the loop before
 * the batch leaves it), written in one transaction with prepared statements. A failed batch is
 * rolled back and its ops go back into the queue unless a newer change replaced them. */
#include "tocsin/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tocsin/ack.h"
#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/strtab.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_ALERT_FLUSH_MS 1000
#define STORE_RETRY_MIN_MS   500
#define STORE_RETRY_MAX_MS   30000
#define STORE_LOG_EVERY_MS   10000
/* Prometheus re-sends every firing alert at each evaluation with a later endsAt and nothing
 * else changed. Writing each of those would put a row write on every alert of every request;
 * instead such a re-send is written when its updatedAt enters a new period of this length, so
 * the stored endsAt is at most one period of re-sends behind, and a request that brings
 * nothing else new is answered without waiting for the disk. */
#define STORE_RESEND_PERIOD (60 * TN_NS_PER_SEC)

enum store_kind {
    OP_SIL_PUT,
    OP_SIL_DEL,
    OP_NFLOG_PUT,
    OP_NFLOG_GC,
    OP_ALERT_PUT,
    OP_ALERT_DEL,
    OP_ACK_PUT,
    OP_ACK_DEL
};

typedef struct store_op {
    enum store_kind kind;
    char *key;         /* queue key */
    tn_alert_t *alert; /* OP_ALERT_PUT until encoded (loop side only) */
    uint64_t fp;
    int64_t t[3];
    int flag;
    char *s[3];    /* text columns */
    tn_buf_t b[3]; /* blob columns */
} store_op_t;

/* Ops in arrival order, with a key -> op table for coalescing. */
typedef struct store_queue {
    store_op_t **v;
    size_t n, cap;
    store_op_t **tab;
    size_t tab_cap;
} store_queue_t;

typedef struct store_waiter {
    void (*cb)(void *ud, int rc);
    void *ud;
    uint64_t target;
} store_waiter_t;

enum {
    ST_SIL_PUT,
    ST_SIL_DEL,
    ST_NF_PUT,
    ST_NF_GC,
    ST_AL_PUT,
    ST_AL_DEL,
    ST_ACK_PUT,
    ST_ACK_DEL,
    ST_COUNT
};

static const char *const store_sql[ST_COUNT] = {
    "INSERT OR REPLACE INTO silences(id, matchers, starts_at, ends_at, updated_at, created_by, "
    "comment) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "DELETE FROM silences WHERE id = ?1",
    "INSERT OR REPLACE INTO nflog(key, ts, expires_at, firing, resolved, data) VALUES(?1, ?2, "
    "?3, ?4, ?5, ?6)",
    "DELETE FROM nflog WHERE expires_at <> 0 AND expires_at <= ?1",
    "INSERT OR REPLACE INTO alerts(fp, labels, annotations, generator_url, starts_at, ends_at, "
    "updated_at, timeout) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "DELETE FROM alerts WHERE fp = ?1",
    "INSERT OR REPLACE INTO acks(id, by, comment, created_at, expires_at, targets) VALUES(?1, "
    "?2, ?3, ?4, ?5, ?6)",
    "DELETE FROM acks WHERE id = ?1",
};

struct tn_store {
    uv_loop_t *loop;
    char *dir, *path;
    bool move_damaged;
    bool created; /* no database file existed before open */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    tn_duration_t retention;
    tn_silences_t *sil;
    tn_nflog_t *nflog;
    tn_acks_t *acks;

    store_queue_t pending;
    bool urgent; /* pending holds a silence or nflog change */
    uint64_t queued_seq, durable_seq;
    store_waiter_t *waiters;
    size_t nwaiters, waiters_cap;

    /* The batch in the worker. */
    bool busy;
    bool sync_full; /* the connection's synchronous setting (worker side) */
    uv_work_t work;
    store_queue_t batch;
    uint64_t batch_seq;
    int batch_rc;
    char batch_err[256];

    uv_timer_t kick;  /* next loop turn: complete waiters, start urgent batches */
    uv_timer_t flush; /* alert batches, and retries after a failure */
    bool retry_wait;
    uint64_t retry_ms;
    uint64_t last_log_ms;
    uint64_t suppressed;
    int open_handles;
    tn_metric_child_t *m_errors, *m_batches, *m_ops;
};

/* ---- queue ---- */

static void op_clear_payload(store_op_t *op)
{
    tn_alert_unref(op->alert);
    op->alert = NULL;
    for (size_t i = 0; i < TN_ARRAY_LEN(op->s); i++) {
        free(op->s[i]);
        op->s[i] = NULL;
    }
    for (size_t i = 0; i < TN_ARRAY_LEN(op->b); i++)
        tn_buf_free(&op->b[i]);
}

static void op_free(store_op_t *op)
{
    op_clear_payload(op);
    free(op->key);
    free(op);
}

static void queue_free(store_queue_t *q)
{
    for (size_t i = 0; i < q->n; i++)
        op_free(q->v[i]);
    free(q->v);
    free(q->tab);
    memset(q, 0, sizeof(*q));
}

static size_t queue_slot(const store_queue_t *q, const char *key)
{
    size_t mask = q->tab_cap - 1, i = tn_str_hash(key) & mask;
    while (q->tab[i] && strcmp(q->tab[i]->key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

static store_op_t *queue_get(const store_queue_t *q, const char *key)
{
    return q->tab_cap ? q->tab[queue_slot(q, key)] : NULL;
}

/* Appends op (its key not yet in q). */
static void queue_add(store_queue_t *q, store_op_t *op)
{
    if ((q->n + 1) * 10 > q->tab_cap * 7) {
        size_t ncap = q->tab_cap ? q->tab_cap * 2 : 64;
        free(q->tab);
        q->tab = tn_xcalloc(ncap, sizeof(*q->tab));
        q->tab_cap = ncap;
        for (size_t i = 0; i < q->n; i++)
            q->tab[queue_slot(q, q->v[i]->key)] = q->v[i];
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->v = tn_xrealloc(q->v, q->cap * sizeof(*q->v));
    }
    q->v[q->n++] = op;
    q->tab[queue_slot(q, op->key)] = op;
}

/* ---- loop side: queueing ---- */

static void store_start_batch(tn_store_t *st);
static void store_on_kick(uv_timer_t *t);
static void store_on_flush(uv_timer_t *t);

static void store_kick(tn_store_t *st)
{
    if (st->db && !uv_is_active((uv_handle_t *)&st->kick))
        uv_timer_start(&st->kick, store_on_kick, 0, 0);
}

/* The op for key in the pending queue, emptied for a new payload (created if needed). */
static store_op_t *store_op(tn_store_t *st, enum store_kind kind, char *key)
{
    store_op_t *op = queue_get(&st->pending, key);
    if (op) {
        free(key);
        op_clear_payload(op);
    } else {
        op = tn_xcalloc(1, sizeof(*op));
        op->key = key;
        for (size_t i = 0; i < TN_ARRAY_LEN(op->b); i++)
            tn_buf_init(&op->b[i], 0);
        queue_add(&st->pending, op);
    }
    op->kind = kind;
    st->queued_seq++;
    if (kind != OP_ALERT_PUT && kind != OP_ALERT_DEL) {
        st->urgent = true;
        store_kick(st);
    } else if (!uv_is_active((uv_handle_t *)&st->flush)) {
        uv_timer_start(&st->flush, store_on_flush, STORE_ALERT_FLUSH_MS, 0);
    }
    return op;
}

/* Matchers as a blob: per matcher one op digit, name, NUL, value, NUL. */
static void store_encode_matchers(tn_buf_t *b, const tn_matchers_t *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        tn_buf_putc(b, (char)('0' + ms->v[i].op));
        tn_buf_append(b, ms->v[i].name, strlen(ms->v[i].name) + 1);
        tn_buf_append(b, ms->v[i].value, strlen(ms->v[i].value) + 1);
    }
}

/* An integration's kept data as a blob: key, NUL, value, NUL, ... */
static void store_encode_strmap(tn_buf_t *b, const tn_strmap_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        tn_buf_append(b, m->keys[i], strlen(m->keys[i]) + 1);
        tn_buf_append(b, m->values[i], strlen(m->values[i]) + 1);
    }
}

/* Label pairs as a blob: name, NUL, value, NUL, ... */
static void store_encode_labels(tn_buf_t *b, tn_labels_t ls)
{
    for (size_t i = 0; i < ls.n; i++) {
        tn_buf_append(b, ls.v[i].name, tn_intern_len(ls.v[i].name) + 1);
        tn_buf_append(b, ls.v[i].value, tn_intern_len(ls.v[i].value) + 1);
    }
}

static void store_on_silence(void *ud, const tn_silence_t *sil, bool deleted)
{
    tn_store_t *st = ud;
    store_op_t *op = store_op(st, deleted ? OP_SIL_DEL : OP_SIL_PUT, tn_xasprintf("s%s", sil->id));
    op->s[0] = tn_xstrdup(sil->id);
    if (deleted)
        return;
    store_encode_matchers(&op->b[0], &sil->matchers);
    op->t[0] = sil->starts_at;
    op->t[1] = sil->ends_at;
    op->t[2] = sil->updated_at;
    op->s[1] = tn_xstrdup(sil->created_by ? sil->created_by : "");
    op->s[2] = tn_xstrdup(sil->comment ? sil->comment : "");
}

static void store_on_ack(void *ud, const tn_ack_t *ack, bool deleted)
{
    tn_store_t *st = ud;
    store_op_t *op = store_op(st, deleted ? OP_ACK_DEL : OP_ACK_PUT, tn_xasprintf("k%s", ack->id));
    op->s[0] = tn_xstrdup(ack->id);
    if (deleted)
        return;
    op->s[1] = tn_xstrdup(ack->by);
    op->s[2] = tn_xstrdup(ack->comment);
    op->t[0] = ack->created_at;
    op->t[1] = ack->expires_at;
    for (size_t i = 0; i < ack->ntargets; i++) {
        uint64_t v[2] = {ack->targets[i].fp, (uint64_t)ack->targets[i].starts_at};
        tn_buf_append(&op->b[0], v, sizeof(v));
    }
}

static void store_on_nflog(void *ud, const tn_nflog_entry_t *e)
{
    tn_store_t *st = ud;
    store_op_t *op = store_op(st, OP_NFLOG_PUT, tn_xasprintf("n%s", e->key));
    op->s[0] = tn_xstrdup(e->key);
    op->t[0] = e->timestamp;
    op->t[1] = e->expires_at;
    tn_buf_append(&op->b[0], e->firing, e->nfiring * sizeof(uint64_t));
    tn_buf_append(&op->b[1], e->resolved, e->nresolved * sizeof(uint64_t));
    store_encode_strmap(&op->b[2], &e->data);
}

static void store_on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    tn_store_t *st = ud;
    if (alert && tn_alert_is_resend(alert, old, STORE_RESEND_PERIOD)) {
        /* Not a write of its own, but a write still queued for this alert takes it. */
        char key[24];
        snprintf(key, sizeof(key), "a%016llx", (unsigned long long)alert->fp);
        store_op_t *op = queue_get(&st->pending, key);
        if (op && op->kind == OP_ALERT_PUT && op->alert) {
            tn_alert_unref(op->alert);
            op->alert = tn_alert_ref(alert);
        }
        return;
    }
    uint64_t fp = alert ? alert->fp : old->fp;
    store_op_t *op = store_op(st, alert ? OP_ALERT_PUT : OP_ALERT_DEL,
                              tn_xasprintf("a%016llx", (unsigned long long)fp));
    op->fp = fp;
    if (alert)
        op->alert = tn_alert_ref(alert);
}

void tn_store_nflog_gc(tn_store_t *st, tn_time_t now)
{
    if (!st)
        return;
    store_op_t *op = store_op(st, OP_NFLOG_GC, tn_xstrdup("g"));
    op->t[0] = now;
}

/* Alerts are encoded here, on the loop, so the worker never touches refcounts or the intern
 * table. */
static void store_encode_alert(store_op_t *op)
{
    tn_alert_t *a = op->alert;
    store_encode_labels(&op->b[0], tn_alert_labels(a));
    store_encode_labels(&op->b[1], tn_alert_annotations(a));
    op->s[0] = a->generator_url ? tn_xstrdup(a->generator_url) : NULL;
    op->t[0] = a->starts_at;
    op->t[1] = a->ends_at;
    op->t[2] = a->updated_at;
    op->flag = a->timeout;
    tn_alert_unref(a);
    op->alert = NULL;
}

/* ---- worker side ---- */

static int store_bind_buf(sqlite3_stmt *s, int i, const tn_buf_t *b)
{
    return sqlite3_bind_blob(s, i, b->len ? b->data : "", (int)b->len, SQLITE_STATIC);
}

static int store_bind_text(sqlite3_stmt *s, int i, const char *t)
{
    return t ? sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int store_exec_op(tn_store_t *st, const store_op_t *op)
{
    sqlite3_stmt *s = NULL;
    switch (op->kind) {
    case OP_SIL_PUT:
        s = st->stmt[ST_SIL_PUT];
        store_bind_text(s, 1, op->s[0]);
        store_bind_buf(s, 2, &op->b[0]);
        for (int i = 0; i < 3; i++)
            sqlite3_bind_int64(s, 3 + i, op->t[i]);
        store_bind_text(s, 6, op->s[1]);
        store_bind_text(s, 7, op->s[2]);
        break;
    case OP_SIL_DEL:
        s = st->stmt[ST_SIL_DEL];
        store_bind_text(s, 1, op->s[0]);
        break;
    case OP_NFLOG_PUT:
        s = st->stmt[ST_NF_PUT];
        store_bind_text(s, 1, op->s[0]);
        sqlite3_bind_int64(s, 2, op->t[0]);
        sqlite3_bind_int64(s, 3, op->t[1]);
        store_bind_buf(s, 4, &op->b[0]);
        store_bind_buf(s, 5, &op->b[1]);
        store_bind_buf(s, 6, &op->b[2]);
        break;
    case OP_NFLOG_GC:
        s = st->stmt[ST_NF_GC];
        sqlite3_bind_int64(s, 1, op->t[0]);
        break;
    case OP_ALERT_PUT:
        s = st->stmt[ST_AL_PUT];
        sqlite3_bind_int64(s, 1, (sqlite3_int64)op->fp);
        store_bind_buf(s, 2, &op->b[0]);
        store_bind_buf(s, 3, &op->b[1]);
        store_bind_text(s, 4, op->s[0]);
        for (int i = 0; i < 3; i++)
            sqlite3_bind_int64(s, 5 + i, op->t[i]);
        sqlite3_bind_int(s, 8, op->flag);
        break;
    case OP_ALERT_DEL:
        s = st->stmt[ST_AL_DEL];
        sqlite3_bind_int64(s, 1, (sqlite3_int64)op->fp);
        break;
    case OP_ACK_PUT:
        s = st->stmt[ST_ACK_PUT];
        for (int i = 0; i < 3; i++)
            store_bind_text(s, 1 + i, op->s[i]);
        sqlite3_bind_int64(s, 4, op->t[0]);
        sqlite3_bind_int64(s, 5, op->t[1]);
        store_bind_buf(s, 6, &op->b[0]);
        break;
    case OP_ACK_DEL:
        s = st->stmt[ST_ACK_DEL];
        store_bind_text(s, 1, op->s[0]);
        break;
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs the current batch in one transaction; sets batch_rc and batch_err. Any thread, one at a
 * time. */
static void store_run_batch(tn_store_t *st)
{
    char *emsg = NULL;
    /* Silences and the notification log are fsynced with their commit (power loss keeps them);
     * a batch of alerts only is committed to the WAL without fsync: safe against a crash of
     * the process, and Prometheus resends alerts anyway. A later fsynced commit or checkpoint
     * carries it to the disk. */
    bool full = false;
    for (size_t i = 0; !full && i < st->batch.n; i++)
        full = st->batch.v[i]->kind != OP_ALERT_PUT && st->batch.v[i]->kind != OP_ALERT_DEL;
    int rc = SQLITE_OK;
    if (full != st->sync_full) {
        rc = sqlite3_exec(st->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                          NULL, NULL, &emsg);
        if (rc == SQLITE_OK)
            st->sync_full = full;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &emsg);
    for (size_t i = 0; rc == SQLITE_OK && i < st->batch.n; i++)
        rc = store_exec_op(st, st->batch.v[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        snprintf(st->batch_err, sizeof(st->batch_err), "%s", emsg ? emsg : sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->batch_rc = TN_ERR_IO;
    } else {
        st->batch_rc = TN_OK;
    }
    sqlite3_free(emsg);
}

static void store_work_cb(uv_work_t *w)
{
    store_run_batch(w->data);
}

/* ---- loop side: batches ---- */

static void store_update_ref(tn_store_t *st)
{
    if (st->nwaiters)
        uv_ref((uv_handle_t *)&st->flush);
    else
        uv_unref((uv_handle_t *)&st->flush);
}

static void store_complete_waiters(tn_store_t *st, uint64_t upto, int rc)
{
    size_t keep = 0, n = st->nwaiters;
    /* Copy out first: a callback may call tn_store_sync again. */
    store_waiter_t *done = tn_xmalloc((n ? n : 1) * sizeof(*done));
    size_t ndone = 0;
    for (size_t i = 0; i < n; i++) {
        if (st->waiters[i].target <= upto)
            done[ndone++] = st->waiters[i];
        else
            st->waiters[keep++] = st->waiters[i];
    }
    st->nwaiters = keep;
    store_update_ref(st);
    /* A failure is reported newest first, so that changes undone by their callers unwind in
     * reverse order. */
    for (size_t i = 0; i < ndone; i++) {
        size_t k = rc == TN_OK ? i : ndone - 1 - i;
        done[k].cb(done[k].ud, rc);
    }
    free(done);
}

static void store_take_pending(tn_store_t *st)
{
    st->batch = st->pending;
    memset(&st->pending, 0, sizeof(st->pending));
    st->urgent = false;
    st->batch_seq = st->queued_seq;
    /* A requeued op from a failed batch is encoded already. */
    for (size_t i = 0; i < st->batch.n; i++)
        if (st->batch.v[i]->kind == OP_ALERT_PUT && st->batch.v[i]->alert)
            store_encode_alert(st->batch.v[i]);
}

static void store_log_failure(tn_store_t *st)
{
    uint64_t now = tn_clock_mono_ms();
    if (st->last_log_ms && now - st->last_log_ms < STORE_LOG_EVERY_MS) {
        st->suppressed++;
        return;
    }
    char n[24];
    snprintf(n, sizeof(n), "%llu", (unsigned long long)st->suppressed);
    tn_log(TN_LOG_ERROR, "Writing state to the database failed; will retry", "file", st->path,
           "err", st->batch_err, "suppressed_since_last_log", n, NULL);
    st->last_log_ms = now;
    st->suppressed = 0;
}

/* After a batch: on failure put back ops that no newer change replaced. */
static void store_finish_batch(tn_store_t *st)
{
    tn_metric_add(st->m_batches, 1);
    if (st->batch_rc == TN_OK) {
        tn_metric_add(st->m_ops, (double)st->batch.n);
        queue_free(&st->batch);
        st->durable_seq = st->batch_seq;
        st->retry_ms = 0;
        store_complete_waiters(st, st->durable_seq, TN_OK);
        return;
    }
    tn_metric_add(st->m_errors, 1);
    store_log_failure(st);
    for (size_t i = 0; i < st->batch.n; i++) {
        store_op_t *op = st->batch.v[i];
        if (queue_get(&st->pending, op->key)) {
            op_free(op);
            continue;
        }
        queue_add(&st->pending, op);
        if (op->kind != OP_ALERT_PUT && op->kind != OP_ALERT_DEL)
            st->urgent = true;
    }
    st->batch.n = 0;
    queue_free(&st->batch);
    store_complete_waiters(st, st->batch_seq, TN_ERR_IO);
}

static void store_after_work(uv_work_t *w, int status)
{
    tn_store_t *st = w->data;
    if (status != 0) {
        st->batch_rc = TN_ERR_IO;
        snprintf(st->batch_err, sizeof(st->batch_err), "cancelled");
    }
    st->busy = false;
    int rc = st->batch_rc;
    store_finish_batch(st);
    if (!st->db)
        return;
    if (rc != TN_OK) {
        st->retry_ms =
            st->retry_ms ? TN_MIN(st->retry_ms * 2, STORE_RETRY_MAX_MS) : STORE_RETRY_MIN_MS;
        st->retry_wait = true;
        uv_timer_start(&st->flush, store_on_flush, st->retry_ms, 0);
        return;
    }
    if (st->urgent || st->nwaiters)
        store_kick(st);
    else if (st->pending.n && !uv_is_active((uv_handle_t *)&st->flush))
        uv_timer_start(&st->flush, store_on_flush, STORE_ALERT_FLUSH_MS, 0);
}

static void store_start_batch(tn_store_t *st)
{
    if (st->busy || st->retry_wait || !st->pending.n || !st->db)
        return;
    uv_timer_stop(&st->flush);
    store_take_pending(st);
    st->busy = true;
    st->work.data = st;
    if (uv_queue_work(st->loop, &st->work, store_work_cb, store_after_work) != 0) {
        /* Cannot happen with a valid loop; write here rather than lose the batch. */
        store_run_batch(st);
        st->busy = false;
        store_finish_batch(st);
    }
}

static void store_on_kick(uv_timer_t *t)
{
    tn_store_t *st = t->data;
    store_complete_waiters(st, st->durable_seq, TN_OK);
    store_start_batch(st);
}

static void store_on_flush(uv_timer_t *t)
{
    tn_store_t *st = t->data;
    st->retry_wait = false;
    store_start_batch(st);
}

void tn_store_sync(tn_store_t *st, void (*cb)(void *ud, int rc), void *ud)
{
    if (st->nwaiters == st->waiters_cap) {
        st->waiters_cap = st->waiters_cap ? st->waiters_cap * 2 : 8;
        st->waiters = tn_xrealloc(st->waiters, st->waiters_cap * sizeof(*st->waiters));
    }
    st->waiters[st->nwaiters++] = (store_waiter_t){cb, ud, st->queued_seq};
    store_update_ref(st);
    /* A caller waits: try now rather than after the backoff of a failing store, so a client
     * hears of a full disk at once (each try is one small failing transaction). */
    if (st->retry_wait) {
        st->retry_wait = false;
        uv_timer_stop(&st->flush);
    }
    /* Alert changes queued so far are part of what the caller waits for: write them now. */
    store_kick(st);
}

/* ---- open, schema, damaged files ---- */

static void store_close_db(tn_store_t *st)
{
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(st->stmt[i]);
        st->stmt[i] = NULL;
    }
    if (st->db)
        sqlite3_close(st->db);
    st->db = NULL;
}

static bool store_is_damage(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT || rc == SQLITE_FORMAT;
}

/* Returns TN_OK, TN_ERR_INVAL (damaged or unusable content) or TN_ERR_IO. */
static int store_open_db(tn_store_t *st, char *err, size_t errlen)
{
    char *emsg = NULL;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    int ret = TN_ERR_IO;
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 5000);
    /* A damaged file shows here, before anything is read from it. */
    rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &q, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW)
        goto fail;
    const char *res = (const char *)sqlite3_column_text(q, 0);
    if (!res || strcmp(res, "ok") != 0) {
        snprintf(err, errlen, "%s: damaged database: %.200s", st->path, res ? res : "?");
        sqlite3_finalize(q);
        return TN_ERR_INVAL;
    }
    sqlite3_finalize(q);
    q = NULL;
    rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL);
    if (rc != SQLITE_OK || (rc = sqlite3_step(q)) != SQLITE_ROW)
        goto fail;
    int version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: written by a newer tocsin (schema %d, this one knows %d)",
                 st->path, version, STORE_SCHEMA_VERSION);
        return TN_ERR_IO;
    }
    /* Schema 2 keeps each integration's data with its notification-log entry. */
    if (version == 1) {
        rc = sqlite3_exec(st->db, "ALTER TABLE nflog ADD COLUMN data BLOB NOT NULL DEFAULT x''",
                          NULL, NULL, &emsg);
        if (rc != SQLITE_OK)
            goto fail;
    }
    /* WAL with synchronous=FULL: a commit holding silences or the notification log is fsynced,
     * so once reported durable it survives power loss too (store_run_batch relaxes this for
     * alert-only batches); the fsync happens in the worker, never on the loop. */
    rc = sqlite3_exec(
        st->db,
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS silences(id TEXT PRIMARY KEY, matchers BLOB NOT "
        "NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, updated_at "
        "INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS nflog(key TEXT PRIMARY KEY, ts INTEGER NOT NULL, "
        "expires_at INTEGER NOT NULL, firing BLOB NOT NULL, resolved BLOB NOT NULL, data "
        "BLOB NOT NULL DEFAULT x'');"
        "CREATE TABLE IF NOT EXISTS alerts(fp INTEGER PRIMARY KEY, labels BLOB NOT "
        "NULL, annotations BLOB NOT NULL, generator_url TEXT, starts_at INTEGER NOT "
        "NULL, ends_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, timeout "
        "INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS acks(id TEXT PRIMARY KEY, by TEXT NOT NULL, comment TEXT "
        "NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, targets BLOB NOT "
        "NULL);"
        "PRAGMA user_version=" TN_STR(STORE_SCHEMA_VERSION) ";",
        NULL, NULL, &emsg);
    if (rc != SQLITE_OK)
        goto fail;
    st->sync_full = true;
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                                NULL);
        if (rc != SQLITE_OK)
            goto fail;
    }
    return TN_OK;
fail:
    if (store_is_damage(rc))
        ret = TN_ERR_INVAL;
    snprintf(err, errlen, "%s: %s", st->path,
             emsg ? emsg : (st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc)));
    sqlite3_free(emsg);
    sqlite3_finalize(q);
    return ret;
}

/* Renames the database and its WAL files to <name>.damaged-<unix seconds>. */
static int store_move_aside(tn_store_t *st, char *err, size_t errlen)
{
    long long ts = (long long)(tn_clock_now() / TN_NS_PER_SEC);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < TN_ARRAY_LEN(sfx); i++) {
        char *from = tn_xasprintf("%s%s", st->path, sfx[i]);
        char *to = tn_xasprintf("%s.damaged-%lld%s", st->path, ts, sfx[i]);
        int rc = rename(from, to);
        int e = errno;
        if (rc == 0 && i == 0)
            tn_log(TN_LOG_WARN, "Moved the damaged database aside; starting with empty state",
                   "file", from, "moved_to", to, NULL);
        free(from);
        free(to);
        if (rc != 0 && e != ENOENT) {
            snprintf(err, errlen, "%s: cannot move aside: %s", st->path, strerror(e));
            return TN_ERR_IO;
        }
    }
    return TN_OK;
}

static const char store_hint[] = " (start with --storage.move-damaged to move it aside and start "
                                 "with empty state)";

/* Damage found: move aside and reopen empty if allowed, else add the hint to err. */
static int store_handle_damage(tn_store_t *st, char *err, size_t errlen)
{
    store_close_db(st);
    if (!st->move_damaged) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "%s", store_hint);
        return TN_ERR_INVAL;
    }
    tn_log(TN_LOG_ERROR, "Database is damaged", "err", err, NULL);
    int rc = store_move_aside(st, err, errlen);
    if (rc != TN_OK)
        return rc;
    rc = store_open_db(st, err, errlen);
    if (rc != TN_OK)
        store_close_db(st);
    return rc;
}

static void store_on_close(uv_handle_t *h)
{
    tn_store_t *st = h->data;
    if (--st->open_handles == 0)
        free(st);
}

tn_store_t *tn_store_open(uv_loop_t *loop, const char *dir, bool move_damaged, char *err,
                          size_t errlen)
{
    tn_store_t *st = tn_xcalloc(1, sizeof(*st));
    st->loop = loop;
    st->dir = tn_xstrdup(dir);
    st->path = tn_xasprintf("%s/%s", dir, TN_STORE_FILE);
    st->move_damaged = move_damaged;
    st->retention = 120 * 3600 * TN_NS_PER_SEC;
    struct stat sb;
    st->created = stat(st->path, &sb) != 0 && errno == ENOENT;
    int rc = store_open_db(st, err, errlen);
    if (rc == TN_ERR_INVAL)
        rc = store_handle_damage(st, err, errlen);
    if (rc != TN_OK) {
        store_close_db(st);
        free(st->dir);
        free(st->path);
        free(st);
        return NULL;
    }
    uv_timer_init(loop, &st->kick);
    uv_timer_init(loop, &st->flush);
    st->kick.data = st->flush.data = st;
    /* The flush timer keeps the loop alive only while someone waits for durability: at exit
     * the loop may end with alerts queued, and tn_store_close writes them. */
    uv_unref((uv_handle_t *)&st->flush);
    st->open_handles = 2;
    st->m_errors = tn_metric_plain(
        tn_metric_counter("tocsin_store_write_errors_total",
                          "Batches of state changes that failed to be written to the database "
                          "(they are retried).",
                          NULL));
    st->m_batches = tn_metric_plain(tn_metric_counter(
        "tocsin_store_batches_total", "Write transactions attempted on the database.", NULL));
    st->m_ops = tn_metric_plain(tn_metric_counter(
        "tocsin_store_writes_total", "Rows written or deleted in committed transactions.", NULL));
    return st;
}

void tn_store_set_retention(tn_store_t *st, tn_duration_t retention)
{
    st->retention = retention;
}

size_t tn_store_sqlite_bytes(void)
{
    return (size_t)sqlite3_memory_used();
}

const char *tn_store_path(const tn_store_t *st)
{
    return st->path;
}

/* ---- loading ---- */

typedef struct load_nf {
    char *key;
    tn_time_t ts, exp;
    uint64_t *f, *r;
    size_t nf, nr;
    tn_strmap_t data;
} load_nf_t;

typedef struct load_set {
    tn_silence_t *sils;
    size_t nsils, csils;
    load_nf_t *nfs;
    size_t nnfs, cnfs;
    tn_alert_t **alerts;
    size_t nalerts, calerts;
} load_set_t;

static void load_set_free(load_set_t *ls)
{
    for (size_t i = 0; i < ls->nsils; i++)
        tn_silence_clear(&ls->sils[i]);
    for (size_t i = 0; i < ls->nnfs; i++) {
        free(ls->nfs[i].key);
        free(ls->nfs[i].f);
        free(ls->nfs[i].r);
        tn_strmap_free(&ls->nfs[i].data);
    }
    for (size_t i = 0; i < ls->nalerts; i++)
        tn_alert_unref(ls->alerts[i]);
    free(ls->sils);
    free(ls->nfs);
    free(ls->alerts);
    memset(ls, 0, sizeof(*ls));
}

#define LOAD_PUSH(arr, n, cap)                                                                     \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = tn_xrealloc((arr), (cap) * sizeof(*(arr)));                                    \
        }                                                                                          \
    } while (0)

/* Next NUL-terminated string of a blob, or NULL at a truncated one. */
static const char *load_str(const char **p, const char *end)
{
    const char *s = *p;
    const char *nul = memchr(s, 0, (size_t)(end - s));
    if (!nul)
        return NULL;
    *p = nul + 1;
    return s;
}

static int load_matchers(const void *blob, int len, tn_matchers_t *out, char *err, size_t errlen)
{
    const char *p = blob, *end = p + (len > 0 ? len : 0);
    size_t n = 0;
    for (const char *q = p; q < end; q++)
        n += *q == 0;
    out->v = tn_xcalloc(n / 2 + 1, sizeof(*out->v));
    out->n = 0;
    while (p < end) {
        int op = *p++ - '0';
        const char *name = load_str(&p, end);
        const char *value = name ? load_str(&p, end) : NULL;
        if (op < 0 || op > TN_MATCH_NRE || !value) {
            snprintf(err, errlen, "bad matcher encoding");
            return TN_ERR_INVAL;
        }
        if (tn_matcher_init(&out->v[out->n], (enum tn_match_op)op, name, value, err, errlen) !=
            TN_OK)
            return TN_ERR_INVAL;
        out->n++;
    }
    return out->n ? TN_OK : TN_ERR_INVAL;
}

/* Decodes a label blob into interned pairs (caller owns the references). */
static int load_labels(const void *blob, int len, tn_label_t **out, size_t *nout)
{
    const char *p = blob, *end = p + (len > 0 ? len : 0);
    size_t n = 0;
    for (const char *q = p; q < end; q++)
        n += *q == 0;
    if (n % 2 || n / 2 > TN_ALERT_MAX_PAIRS || (len > 0 && end[-1] != 0))
        return TN_ERR_INVAL;
    tn_label_t *v = tn_xcalloc(n / 2 + 1, sizeof(*v));
    for (size_t i = 0; i < n / 2; i++) {
        const char *name = load_str(&p, end);
        const char *value = load_str(&p, end);
        v[i].name = tn_intern_cstr(name);
        v[i].value = tn_intern_cstr(value);
    }
    if (tn_labels_sort(v, n / 2) != TN_OK) {
        for (size_t i = 0; i < n / 2; i++) {
            tn_intern_unref(v[i].name);
            tn_intern_unref(v[i].value);
        }
        free(v);
        return TN_ERR_INVAL;
    }
    *out = v;
    *nout = n / 2;
    return TN_OK;
}

static bool load_strmap(const void *blob, int len, tn_strmap_t *m)
{
    const char *p = blob, *end = p + (len > 0 ? len : 0);
    size_t n = 0;
    for (const char *q = p; q < end; q++)
        n += *q == 0;
    if (n % 2 || n / 2 > 64 || (len > 0 && end[-1] != 0))
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        const char *k = load_str(&p, end);
        const char *v = load_str(&p, end);
        tn_strmap_set(m, k, v);
    }
    return true;
}

static uint64_t *load_hashes(const void *blob, int len, size_t *n, bool *ok)
{
    if (len < 0 || len % 8) {
        *ok = false;
        return NULL;
    }
    *n = (size_t)len / 8;
    uint64_t *v = tn_xmalloc((size_t)len + 8);
    if (len)
        memcpy(v, blob, (size_t)len);
    return v;
}

static int load_silences(tn_store_t *st, load_set_t *ls, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, "
                                "comment FROM silences",
                                -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        LOAD_PUSH(ls->sils, ls->nsils, ls->csils);
        tn_silence_t *s = &ls->sils[ls->nsils];
        memset(s, 0, sizeof(*s));
        const char *id = (const char *)sqlite3_column_text(q, 0);
        char e[TN_ERRBUF_SIZE] = "";
        if (!id || strlen(id) != 36 ||
            load_matchers(sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), &s->matchers, e,
                          sizeof(e)) != TN_OK) {
            snprintf(err, errlen, "%s: silence %.40s: damaged row: %s", st->path, id ? id : "?", e);
            tn_silence_clear(s);
            sqlite3_finalize(q);
            return TN_ERR_INVAL;
        }
        memcpy(s->id, id, 37);
        s->starts_at = sqlite3_column_int64(q, 2);
        s->ends_at = sqlite3_column_int64(q, 3);
        s->updated_at = sqlite3_column_int64(q, 4);
        const char *cb = (const char *)sqlite3_column_text(q, 5);
        const char *cm = (const char *)sqlite3_column_text(q, 6);
        s->created_by = tn_xstrdup(cb ? cb : "");
        s->comment = tn_xstrdup(cm ? cm : "");
        ls->nsils++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: reading silences: %s", st->path, sqlite3_errmsg(st->db));
        return store_is_damage(rc) ? TN_ERR_INVAL : TN_ERR_IO;
    }
    return TN_OK;
}

static int load_nflog(tn_store_t *st, load_set_t *ls, tn_time_t now, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int rc =
        sqlite3_prepare_v2(st->db,
                           "SELECT key, ts, expires_at, firing, resolved, data FROM nflog WHERE "
                           "expires_at = 0 OR expires_at > ?1",
                           -1, &q, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(q, 1, now);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        LOAD_PUSH(ls->nfs, ls->nnfs, ls->cnfs);
        load_nf_t *e = &ls->nfs[ls->nnfs];
        memset(e, 0, sizeof(*e));
        const char *key = (const char *)sqlite3_column_text(q, 0);
        bool ok = key != NULL;
        e->key = tn_xstrdup(key ? key : "");
        e->ts = sqlite3_column_int64(q, 1);
        e->exp = sqlite3_column_int64(q, 2);
        e->f = load_hashes(sqlite3_column_blob(q, 3), sqlite3_column_bytes(q, 3), &e->nf, &ok);
        e->r = load_hashes(sqlite3_column_blob(q, 4), sqlite3_column_bytes(q, 4), &e->nr, &ok);
        ok = ok && load_strmap(sqlite3_column_blob(q, 5), sqlite3_column_bytes(q, 5), &e->data);
        ls->nnfs++;
        if (!ok) {
            snprintf(err, errlen, "%s: notification log entry %.200s: damaged row", st->path,
                     e->key);
            sqlite3_finalize(q);
            return TN_ERR_INVAL;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: reading the notification log: %s", st->path,
                 sqlite3_errmsg(st->db));
        return store_is_damage(rc) ? TN_ERR_INVAL : TN_ERR_IO;
    }
    return TN_OK;
}

static int load_alerts(tn_store_t *st, load_set_t *ls, tn_time_t now, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT fp, labels, annotations, generator_url, starts_at, "
                                "ends_at, updated_at, timeout FROM alerts",
                                -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        tn_time_t ends = sqlite3_column_int64(q, 5);
        /* Resolved for longer than the retention: nothing left to notify. */
        if (ends && ends + st->retention <= now)
            continue;
        tn_label_t *l = NULL, *an = NULL;
        size_t nl = 0, na = 0;
        if (load_labels(sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), &l, &nl) != TN_OK ||
            load_labels(sqlite3_column_blob(q, 2), sqlite3_column_bytes(q, 2), &an, &na) != TN_OK ||
            nl == 0) {
            for (size_t i = 0; i < nl; i++) {
                tn_intern_unref(l[i].name);
                tn_intern_unref(l[i].value);
            }
            free(l);
            snprintf(err, errlen, "%s: alert %016llx: damaged row", st->path,
                     (unsigned long long)sqlite3_column_int64(q, 0));
            sqlite3_finalize(q);
            return TN_ERR_INVAL;
        }
        const char *gu = (const char *)sqlite3_column_text(q, 3);
        tn_alert_t *a = tn_alert_new(l, nl, an, na, gu ? tn_intern_cstr(gu) : NULL);
        free(l);
        free(an);
        a->starts_at = sqlite3_column_int64(q, 4);
        a->ends_at = ends;
        a->updated_at = sqlite3_column_int64(q, 6);
        a->timeout = sqlite3_column_int(q, 7) != 0;
        LOAD_PUSH(ls->alerts, ls->nalerts, ls->calerts);
        ls->alerts[ls->nalerts++] = a;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: reading alerts: %s", st->path, sqlite3_errmsg(st->db));
        return store_is_damage(rc) ? TN_ERR_INVAL : TN_ERR_IO;
    }
    return TN_OK;
}

/* Deletes rows that loading skipped as expired, so they do not come back each start. */
static void load_prune(tn_store_t *st, tn_time_t now)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "DELETE FROM nflog WHERE expires_at <> 0 AND expires_at <= %lld;"
             "DELETE FROM alerts WHERE ends_at <> 0 AND ends_at <= %lld;",
             (long long)now, (long long)(now - st->retention));
    char *emsg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &emsg) != SQLITE_OK)
        tn_log(TN_LOG_WARN, "Pruning expired rows failed", "file", st->path, "err", emsg, NULL);
    sqlite3_free(emsg);
}

typedef struct migrate_ctx {
    tn_store_t *st;
    bool ok;
} migrate_ctx_t;

static bool migrate_one(void *ud, const tn_nflog_entry_t *e)
{
    migrate_ctx_t *m = ud;
    store_op_t op = {.kind = OP_NFLOG_PUT};
    tn_buf_init(&op.b[0], 0);
    tn_buf_init(&op.b[1], 0);
    tn_buf_init(&op.b[2], 0);
    op.s[0] = e->key;
    op.t[0] = e->timestamp;
    op.t[1] = e->expires_at;
    tn_buf_append(&op.b[0], e->firing, e->nfiring * sizeof(uint64_t));
    tn_buf_append(&op.b[1], e->resolved, e->nresolved * sizeof(uint64_t));
    m->ok = m->ok && store_exec_op(m->st, &op) == SQLITE_OK;
    tn_buf_free(&op.b[0]);
    tn_buf_free(&op.b[1]);
    tn_buf_free(&op.b[2]);
    return m->ok;
}

/* The notification log snapshot file of earlier versions, read once into a new database. */
static void store_migrate_nflog(tn_store_t *st, tn_nflog_t *nflog, tn_time_t now)
{
    char *old = tn_xasprintf("%s/nflog", st->dir);
    struct stat sb;
    char err[TN_ERRBUF_SIZE];
    if (stat(old, &sb) != 0) {
        free(old);
        return;
    }
    if (tn_nflog_load(nflog, old, now, err, sizeof(err)) != TN_OK) {
        tn_log(TN_LOG_WARN, "Ignoring the old notification log snapshot", "err", err, NULL);
        free(old);
        return;
    }
    migrate_ctx_t m = {st, true};
    m.ok = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    tn_nflog_foreach(nflog, migrate_one, &m);
    m.ok = m.ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!m.ok) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        tn_log(TN_LOG_WARN, "Importing the old notification log snapshot failed", "file", old,
               "err", sqlite3_errmsg(st->db), NULL);
    } else {
        char *to = tn_xasprintf("%s.imported", old);
        if (rename(old, to) == 0)
            tn_log(TN_LOG_INFO, "Imported the old notification log snapshot", "file", old,
                   "moved_to", to, NULL);
        free(to);
    }
    free(old);
}

int tn_store_load(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog, tn_alert_store_t *alerts,
                  tn_time_t now, char *err, size_t errlen)
{
    load_set_t ls;
    memset(&ls, 0, sizeof(ls));
    int rc = load_silences(st, &ls, err, errlen);
    if (rc == TN_OK)
        rc = load_nflog(st, &ls, now, err, errlen);
    if (rc == TN_OK)
        rc = load_alerts(st, &ls, now, err, errlen);
    if (rc != TN_OK) {
        load_set_free(&ls);
        if (rc == TN_ERR_INVAL)
            rc = store_handle_damage(st, err, errlen);
        return rc;
    }
    /* Everything decoded: only now touch the caller's state. */
    for (size_t i = 0; sil && i < ls.nsils; i++)
        if (tn_silences_load(sil, &ls.sils[i], err, errlen) != TN_OK)
            tn_log(TN_LOG_WARN, "Skipping a stored silence", "id", ls.sils[i].id, "err", err, NULL);
    for (size_t i = 0; nflog && i < ls.nnfs; i++) {
        load_nf_t *e = &ls.nfs[i];
        tn_nflog_log(nflog, e->key, e->f, e->nf, e->r, e->nr, &e->data, e->ts, e->exp);
    }
    size_t nal = 0;
    for (size_t i = 0; alerts && i < ls.nalerts; i++) {
        tn_alert_t *a = ls.alerts[i];
        ls.alerts[i] = NULL;
        if (tn_alert_store_put(alerts, a) == TN_OK)
            nal++;
    }
    char ns[24], nn[24], na[24];
    snprintf(ns, sizeof(ns), "%zu", sil ? ls.nsils : 0);
    snprintf(nn, sizeof(nn), "%zu", nflog ? ls.nnfs : 0);
    snprintf(na, sizeof(na), "%zu", nal);
    load_set_free(&ls);
    load_prune(st, now);
    if (st->created && nflog)
        store_migrate_nflog(st, nflog, now);
    tn_log(TN_LOG_INFO, "Loaded state", "file", st->path, "silences", ns, "nflog_entries", nn,
           "alerts", na, NULL);
    return TN_OK;
}

int tn_store_load_acks(tn_store_t *st, tn_acks_t *acks, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, by, comment, created_at, expires_at, targets FROM acks "
                                "ORDER BY created_at",
                                -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        const char *id = (const char *)sqlite3_column_text(q, 0);
        int len = sqlite3_column_bytes(q, 5);
        const unsigned char *blob = sqlite3_column_blob(q, 5);
        if (!id || strlen(id) != 36 || len % 16 != 0) {
            tn_log(TN_LOG_WARN, "Skipping a damaged stored ack", "file", st->path, "id",
                   id ? id : "?", NULL);
            continue;
        }
        tn_ack_t a = {0};
        memcpy(a.id, id, 37);
        a.by = (char *)sqlite3_column_text(q, 1);
        a.comment = (char *)sqlite3_column_text(q, 2);
        a.created_at = sqlite3_column_int64(q, 3);
        a.expires_at = sqlite3_column_int64(q, 4);
        a.ntargets = (size_t)len / 16;
        a.targets = tn_xmalloc((a.ntargets ? a.ntargets : 1) * sizeof(*a.targets));
        for (size_t i = 0; i < a.ntargets; i++) {
            uint64_t v[2];
            memcpy(v, blob + i * 16, 16);
            a.targets[i] = (tn_ack_target_t){v[0], (tn_time_t)v[1]};
        }
        tn_acks_load(acks, &a);
        free(a.targets);
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: reading acks: %s", st->path, sqlite3_errmsg(st->db));
        return TN_ERR_IO;
    }
    char nb[24];
    snprintf(nb, sizeof(nb), "%zu", n);
    tn_log(TN_LOG_INFO, "Loaded acks", "file", st->path, "acks", nb, NULL);
    return TN_OK;
}

void tn_store_attach_acks(tn_store_t *st, tn_acks_t *acks)
{
    st->acks = acks;
    if (acks)
        tn_acks_set_hook(acks, store_on_ack, st);
}

void tn_store_attach(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog,
                     tn_alert_store_t *alerts)
{
    st->sil = sil;
    st->nflog = nflog;
    if (sil)
        tn_silences_set_hook(sil, store_on_silence, st);
    if (nflog)
        tn_nflog_set_hook(nflog, store_on_nflog, st);
    if (alerts)
        tn_alert_store_add_listener(alerts, store_on_alert, st);
}

void tn_store_close(tn_store_t *st)
{
    if (!st)
        return;
    while (st->busy)
        uv_run(st->loop, UV_RUN_ONCE);
    if (st->sil)
        tn_silences_set_hook(st->sil, NULL, NULL);
    if (st->nflog)
        tn_nflog_set_hook(st->nflog, NULL, NULL);
    if (st->acks)
        tn_acks_set_hook(st->acks, NULL, NULL);
    uv_timer_stop(&st->kick);
    uv_timer_stop(&st->flush);
    if (st->pending.n) {
        store_take_pending(st);
        store_run_batch(st);
        if (st->batch_rc != TN_OK)
            tn_log(TN_LOG_ERROR, "Writing state at exit failed; recent changes are lost", "file",
                   st->path, "err", st->batch_err, NULL);
        store_finish_batch(st);
    }
    store_complete_waiters(st, UINT64_MAX, st->pending.n ? TN_ERR_IO : TN_OK);
    queue_free(&st->pending);
    store_close_db(st);
    free(st->waiters);
    free(st->dir);
    free(st->path);
    uv_close((uv_handle_t *)&st->kick, store_on_close);
    uv_close((uv_handle_t *)&st->flush, store_on_close);
}
