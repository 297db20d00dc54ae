/* Replicas sharing state through Redis: mirroring, read-back on connect, leases, heartbeats. */
#include "tocsin/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/strtab.h"

#define KEY_SIL     "tocsin:sil:"
#define KEY_NFLOG   "tocsin:nfl:"
#define KEY_ALERT   "tocsin:alert:"
#define KEY_ACK     "tocsin:ack:"
#define KEY_LEASE   "tocsin:lease:"
#define KEY_PEERS   "tocsin:peers"
#define CHANNEL     "tocsin:events"
#define REC_SIL_DEL 'X' /* a silence removed by GC: its id */
#define REC_ACK_DEL 'Y' /* an ack deleted or ended: its id */
#define ACK_KEEP    (3600 * TN_NS_PER_SEC)

#define HEARTBEAT_MS     1000
#define PEER_LIVE_MS     5000
#define PEER_FORGET_MS   60000
#define MAX_PEERS        64
#define SCAN_COUNT       "500"
#define ALERT_BATCH_MAX  2000
#define ALERT_KEEP       (3600 * TN_NS_PER_SEC) /* an alert's key outlives its endsAt by this */
#define SEEN_MAX         (1u << 20)             /* read-back bookkeeping; beyond it, push all */
#define SILENCE_KEEP_MIN (60 * TN_NS_PER_SEC)
#define ALERT_RESEND     (60 * TN_NS_PER_SEC)

/* Deletes the lease only if this replica still holds it. */
static const char release_script[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
    "return 0";

typedef struct peer {
    char *name, *address;
} peer_t;

/* A record seen while reading back, with its version, to know what to write after. */
typedef struct seen {
    tn_time_t version;
    char key[];
} seen_t;

static const char *seen_key(const void *v)
{
    return ((const seen_t *)v)->key;
}

typedef struct lease lease_t;

struct tn_cluster {
    uv_loop_t *loop;
    tn_redis_url_t url;
    tn_redis_t *cmd, *sub;
    char *name, *address, *origin;
    tn_duration_t retention;
    tn_silences_t *sil;
    tn_nflog_t *nflog;
    tn_alert_store_t *alerts;
    tn_acks_t *acks;
    tn_cluster_event_fn event_sink;
    void *event_sink_ud;
    char *msg_peer; /* the sender of the message being applied */
    tn_ack_hook_fn ack_next;
    void *ack_next_ud;
    tn_silence_hook_fn sil_next;
    void *sil_next_ud;
    tn_nflog_write_fn nflog_next;
    void *nflog_next_ud;
    bool applying; /* a peer's change going in: persist it, do not send it back */
    bool cmd_up, sub_up, synced, ever_up, down_logged;
    uint64_t gen; /* bumps at each read-back start, so stale replies are dropped */
    /* the read-back in progress */
    int scan_kind; /* 0 silences, 1 log, 2 alerts, 3 acks, 4 done */
    char *scan_cursor;
    tn_strtab_t seen;
    bool seen_full;
    size_t synced_counts[4];
    /* local alert changes, sent once per loop turn */
    tn_alert_t **batch;
    size_t nbatch, cbatch;
    uv_timer_t batch_timer, heartbeat;
    unsigned beats;
    peer_t *peers;
    size_t npeers;
    lease_t *leases; /* asked for, no verdict yet */
    /* Asked for before the first connection came up or failed: a replica that starts must not
     * page on its own state when the shared one is a moment away. */
    lease_t *waiting;
    bool first_outcome;
    tn_metric_child_t *m_up, *m_members;
    tn_metric_t *m_leases, *m_received;
    tn_metric_child_t *m_errors;
    size_t closing_handles;
    bool freeing;
};

struct lease {
    lease_t *prev, *next;
    tn_cluster_t *c;
    tn_gate_verdict_fn verdict;
    void *ctx;
    char *key;
    enum tn_gate_verdict result;
    bool cancelled;
    bool in_acquire; /* answered while still being asked: the verdict waits for the return */
    bool waiting;    /* on c->waiting, nothing sent yet */
    tn_duration_t ttl;
    int replies; /* of 2: the SET NX and the GET of the log entry */
};

static void cluster_push_all(tn_cluster_t *c);
static void sync_start(tn_cluster_t *c);
static void leases_release_waiting(tn_cluster_t *c);

/* ---- small helpers ---- */

static char *key_of(const char *prefix, const char *k)
{
    return tn_xasprintf("%s%s", prefix, k);
}

static char *alert_key(uint64_t fp)
{
    return tn_xasprintf(KEY_ALERT "%016llx", (unsigned long long)fp);
}

static void count_error(tn_cluster_t *c, const tn_redis_reply_t *r, const char *err)
{
    if (r && r->type != TN_REDIS_ERROR)
        return;
    tn_metric_add(c->m_errors, 1);
    tn_log(TN_LOG_DEBUG, "Redis command failed", "err", r ? r->str : err ? err : "", NULL);
}

static void on_reply_checked(void *ud, const tn_redis_reply_t *r, const char *err)
{
    count_error(ud, r, err);
}

/* SET key value PX ttl_ms (no expiry when ttl_ms is 0). */
static void redis_set(tn_cluster_t *c, const char *key, const tn_buf_t *val, int64_t ttl_ms)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    const char *argv[] = {"SET", key, val->data, "PX", ttl};
    size_t lens[] = {3, strlen(key), val->len, 2, strlen(ttl)};
    tn_redis_command(c->cmd, on_reply_checked, c, ttl_ms > 0 ? 5 : 3, argv, lens);
}

static void publish(tn_cluster_t *c, const tn_buf_t *msg)
{
    const char *argv[] = {"PUBLISH", CHANNEL, msg->data};
    size_t lens[] = {7, sizeof(CHANNEL) - 1, msg->len};
    tn_redis_command(c->cmd, on_reply_checked, c, 3, argv, lens);
}

/* An events message: our origin, then records. */
static void msg_begin(tn_cluster_t *c, tn_buf_t *msg)
{
    tn_buf_init(msg, 0);
    tn_rec_put_str(msg, c->origin, strlen(c->origin));
}

static void msg_add(tn_buf_t *msg, const tn_buf_t *rec)
{
    tn_rec_put_str(msg, rec->data, rec->len);
}

/* ---- applying what peers changed ---- */

static void apply_silence(tn_cluster_t *c, const char *p, size_t len)
{
    tn_silence_t s;
    if (tn_rec_silence_decode(p, len, &s) != TN_OK) {
        tn_metric_add(c->m_errors, 1);
        return;
    }
    const tn_silence_t *cur = tn_silences_get(c->sil, s.id);
    if (!cur || cur->updated_at < s.updated_at) {
        char err[TN_ERRBUF_SIZE];
        if (tn_silences_load(c->sil, &s, err, sizeof(err)) == TN_OK) {
            /* tn_silences_load reports to no hook: persist it as any change. */
            if (c->sil_next)
                c->sil_next(c->sil_next_ud, tn_silences_get(c->sil, s.id), false);
        }
    }
    if (c->scan_kind == 0 && !c->seen_full) {
        seen_t *x = tn_strtab_get(&c->seen, s.id);
        if (!x) {
            x = tn_xmalloc(sizeof(*x) + 37);
            memcpy(x->key, s.id, 37);
            tn_strtab_put(&c->seen, x);
        }
        x->version = s.updated_at;
    }
    tn_silence_clear(&s);
}

static void apply_nflog(tn_cluster_t *c, const char *p, size_t len, bool reading_back)
{
    tn_nflog_entry_t e;
    if (tn_rec_nflog_decode(p, len, &e) != TN_OK) {
        tn_metric_add(c->m_errors, 1);
        return;
    }
    const tn_nflog_entry_t *cur = tn_nflog_get(c->nflog, e.key);
    if (!cur || cur->timestamp < e.timestamp) {
        c->applying = true;
        tn_nflog_log(c->nflog, e.key, e.firing, e.nfiring, e.resolved, e.nresolved, &e.data,
                     e.timestamp, e.expires_at);
        c->applying = false;
    }
    if (reading_back && !c->seen_full) {
        seen_t *x = tn_strtab_get(&c->seen, e.key);
        if (!x) {
            size_t n = strlen(e.key) + 1;
            x = tn_xmalloc(sizeof(*x) + n);
            memcpy(x->key, e.key, n);
            tn_strtab_put(&c->seen, x);
        }
        x->version = e.timestamp;
    }
    tn_rec_nflog_clear(&e);
}

/* The same alert as stored: a replica that got it from Prometheus too has nothing to add. */
static bool alert_same(const tn_alert_t *a, const tn_alert_t *b)
{
    if (a->starts_at != b->starts_at || a->ends_at != b->ends_at ||
        a->generator_url != b->generator_url || a->nannotations != b->nannotations)
        return false;
    for (size_t i = 0; i < a->nannotations; i++)
        if (a->annotations[i].name != b->annotations[i].name ||
            a->annotations[i].value != b->annotations[i].value)
            return false;
    return true;
}

static void apply_alert(tn_cluster_t *c, const char *p, size_t len)
{
    tn_alert_t *a = tn_rec_alert_decode(p, len);
    if (!a) {
        tn_metric_add(c->m_errors, 1);
        return;
    }
    const tn_alert_t *cur = tn_alert_store_get(c->alerts, a->fp);
    if (cur && (alert_same(cur, a) || cur->updated_at > a->updated_at)) {
        tn_alert_unref(a);
        return;
    }
    c->applying = true;
    tn_alert_store_put(c->alerts, a);
    c->applying = false;
}

static void apply_ack(tn_cluster_t *c, const char *p, size_t len)
{
    tn_ack_t a;
    if (!c->acks)
        return;
    if (tn_rec_ack_decode(p, len, &a) != TN_OK) {
        tn_metric_add(c->m_errors, 1);
        return;
    }
    tn_acks_load(c->acks, &a);
    /* tn_acks_load reports to no hook: persist it as any change. */
    if (c->ack_next)
        c->ack_next(c->ack_next_ud, tn_acks_get(c->acks, a.id), false);
    tn_ack_clear(&a);
}

static void apply_ack_delete(tn_cluster_t *c, const char *p, size_t len)
{
    tn_rec_reader_t r = {p + 1, p + len, false};
    size_t n;
    const char *id = tn_rec_get_str(&r, &n);
    if (!c->acks || !id || n != 36 || memchr(id, 0, 36))
        return;
    tn_ack_t gone = {0};
    memcpy(gone.id, id, 36);
    if (!tn_acks_get(c->acks, gone.id))
        return;
    tn_acks_unload(c->acks, gone.id);
    if (c->ack_next)
        c->ack_next(c->ack_next_ud, &gone, true);
}

static void apply_event(tn_cluster_t *c, const char *p, size_t len)
{
    if (!c->event_sink)
        return;
    tn_rec_event_t e;
    if (tn_rec_event_decode(p, len, &e) != TN_OK) {
        tn_metric_add(c->m_errors, 1);
        return;
    }
    c->event_sink(c->event_sink_ud, &e.ev, c->msg_peer ? c->msg_peer : "");
    tn_rec_event_clear(&e);
}

static void apply_record(tn_cluster_t *c, const char *p, size_t len)
{
    if (!len)
        return;
    switch (p[0]) {
    case TN_REC_SILENCE:
        apply_silence(c, p, len);
        break;
    case TN_REC_NFLOG:
        apply_nflog(c, p, len, false);
        break;
    case TN_REC_ALERT:
        apply_alert(c, p, len);
        break;
    case REC_SIL_DEL:
        /* GC runs on every replica by the same rule; this one's own GC will remove it. */
        break;
    case TN_REC_ACK:
        apply_ack(c, p, len);
        break;
    case REC_ACK_DEL:
        apply_ack_delete(c, p, len);
        break;
    case TN_REC_EVENT:
        apply_event(c, p, len);
        break;
    default:
        tn_metric_add(c->m_errors, 1);
    }
}

static void on_message(void *ud, const char *channel, const char *msg, size_t len)
{
    tn_cluster_t *c = ud;
    (void)channel;
    tn_rec_reader_t r = {msg, msg + len, false};
    size_t olen;
    const char *origin = tn_rec_get_str(&r, &olen);
    if (!origin || (olen == strlen(c->origin) && memcmp(origin, c->origin, olen) == 0))
        return;
    tn_metric_add(tn_metric_with(c->m_received, "message", NULL), 1);
    /* The origin is "<peer name>/<process tag>". */
    const char *slash = memrchr(origin, '/', olen);
    c->msg_peer = tn_xstrndup(origin, slash ? (size_t)(slash - origin) : olen);
    while (!r.bad && r.p < r.end) {
        size_t n;
        const char *rec = tn_rec_get_str(&r, &n);
        if (rec)
            apply_record(c, rec, n);
    }
    if (r.bad)
        tn_metric_add(c->m_errors, 1);
    free(c->msg_peer);
    c->msg_peer = NULL;
}

void tn_cluster_share_event(tn_cluster_t *c, const tn_event_t *ev)
{
    if (!c || !c->cmd_up || c->freeing)
        return;
    tn_buf_t rec, msg;
    tn_buf_init(&rec, 0);
    tn_rec_event(&rec, ev);
    msg_begin(c, &msg);
    msg_add(&msg, &rec);
    publish(c, &msg);
    tn_buf_free(&msg);
    tn_buf_free(&rec);
}

void tn_cluster_set_event_sink(tn_cluster_t *c, tn_cluster_event_fn fn, void *ud)
{
    c->event_sink = fn;
    c->event_sink_ud = ud;
}

/* ---- mirroring local changes ---- */

/* Mirrors one record: SET with an expiry, or DEL (then a removal record of kind del_kind with
 * the id), and the record announced on the channel. rec is the encoded record (put only). */
static void mirror(tn_cluster_t *c, const char *prefix, const char *id, const tn_buf_t *put,
                   char del_kind, tn_time_t keep)
{
    char *key = key_of(prefix, id);
    tn_buf_t del, msg;
    tn_buf_init(&del, 0);
    if (!put) {
        const char *argv[] = {"DEL", key};
        tn_redis_command(c->cmd, on_reply_checked, c, 2, argv, NULL);
        tn_buf_putc(&del, del_kind);
        tn_rec_put_str(&del, id, strlen(id));
    } else {
        redis_set(c, key, put, keep / TN_NS_PER_MS);
    }
    msg_begin(c, &msg);
    msg_add(&msg, put ? put : &del);
    publish(c, &msg);
    tn_buf_free(&msg);
    tn_buf_free(&del);
    free(key);
}

static void on_silence(void *ud, const tn_silence_t *s, bool deleted)
{
    tn_cluster_t *c = ud;
    if (c->sil_next)
        c->sil_next(c->sil_next_ud, s, deleted);
    if (c->applying || !c->cmd_up)
        return; /* a peer's, or written back at the next connect */
    tn_buf_t rec;
    tn_buf_init(&rec, 0);
    if (!deleted)
        tn_rec_silence(&rec, s);
    tn_time_t keep = s->ends_at + c->retention - tn_clock_now();
    mirror(c, KEY_SIL, s->id, deleted ? NULL : &rec, REC_SIL_DEL, TN_MAX(keep, SILENCE_KEEP_MIN));
    tn_buf_free(&rec);
}

static void on_ack(void *ud, const tn_ack_t *a, bool deleted)
{
    tn_cluster_t *c = ud;
    if (c->ack_next)
        c->ack_next(c->ack_next_ud, a, deleted);
    if (c->applying || !c->cmd_up)
        return;
    tn_buf_t rec;
    tn_buf_init(&rec, 0);
    if (!deleted)
        tn_rec_ack(&rec, a);
    tn_time_t keep = a->expires_at ? a->expires_at - tn_clock_now() + ACK_KEEP : c->retention;
    mirror(c, KEY_ACK, a->id, deleted ? NULL : &rec, REC_ACK_DEL, TN_MAX(keep, ACK_KEEP));
    tn_buf_free(&rec);
}

static void nflog_write(tn_cluster_t *c, const tn_nflog_entry_t *e, bool announce)
{
    tn_time_t now = tn_clock_now();
    if (e->expires_at && e->expires_at <= now)
        return;
    char *key = key_of(KEY_NFLOG, e->key);
    tn_buf_t rec;
    tn_buf_init(&rec, 0);
    tn_rec_nflog(&rec, e);
    redis_set(c, key, &rec, e->expires_at ? (e->expires_at - now) / TN_NS_PER_MS : 0);
    if (announce) {
        tn_buf_t msg;
        msg_begin(c, &msg);
        msg_add(&msg, &rec);
        publish(c, &msg);
        tn_buf_free(&msg);
    }
    tn_buf_free(&rec);
    free(key);
}

static void on_nflog(void *ud, const tn_nflog_entry_t *e)
{
    tn_cluster_t *c = ud;
    if (c->nflog_next)
        c->nflog_next(c->nflog_next_ud, e);
    if (c->applying || !c->cmd_up)
        return;
    nflog_write(c, e, true);
}

static void batch_send(tn_cluster_t *c)
{
    if (!c->nbatch)
        return;
    tn_time_t now = tn_clock_now();
    tn_buf_t msg, rec;
    msg_begin(c, &msg);
    tn_buf_init(&rec, 0);
    for (size_t i = 0; i < c->nbatch; i++) {
        tn_alert_t *a = c->batch[i];
        if (c->cmd_up) {
            tn_buf_reset(&rec);
            tn_rec_alert(&rec, a);
            char *key = alert_key(a->fp);
            tn_time_t left = a->ends_at > now ? a->ends_at - now : 0;
            redis_set(c, key, &rec, (left + ALERT_KEEP) / TN_NS_PER_MS);
            free(key);
            msg_add(&msg, &rec);
        }
        tn_alert_unref(a);
    }
    c->nbatch = 0;
    if (c->cmd_up)
        publish(c, &msg);
    tn_buf_free(&rec);
    tn_buf_free(&msg);
}

static void on_batch_timer(uv_timer_t *t)
{
    batch_send(t->data);
}

static void batch_add(tn_cluster_t *c, tn_alert_t *a)
{
    if (c->nbatch == c->cbatch) {
        c->cbatch = c->cbatch ? 2 * c->cbatch : 64;
        c->batch = tn_xrealloc(c->batch, c->cbatch * sizeof(*c->batch));
    }
    c->batch[c->nbatch++] = tn_alert_ref(a);
    if (c->nbatch >= ALERT_BATCH_MAX)
        batch_send(c);
    else if (c->nbatch == 1)
        uv_timer_start(&c->batch_timer, on_batch_timer, 0, 0);
}

static void on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    tn_cluster_t *c = ud;
    /* GC runs on every replica by the same rule: removals are not shared. A re-send that only
     * moves endsAt on goes once a minute: peers' copies stay well ahead of their endsAt. */
    if (!alert || c->applying || !c->cmd_up || tn_alert_is_resend(alert, old, ALERT_RESEND))
        return;
    batch_add(c, alert);
}

/* ---- read-back on connect: SCAN each kind, MGET, apply; then write back what is newer ---- */

static const char *const scan_match[] = {KEY_SIL "*", KEY_NFLOG "*", KEY_ALERT "*", KEY_ACK "*"};

typedef struct scan_req {
    tn_cluster_t *c;
    uint64_t gen;
} scan_req_t;

static void scan_next(tn_cluster_t *c);

static scan_req_t *scan_req(tn_cluster_t *c)
{
    scan_req_t *q = tn_xmalloc(sizeof(*q));
    q->c = c;
    q->gen = c->gen;
    return q;
}

static void seen_clear(tn_cluster_t *c)
{
    for (size_t i = 0; i < c->seen.cap; i++)
        free(c->seen.v[i]);
    tn_strtab_free(&c->seen);
    c->seen = TN_STRTAB_INIT(seen_key);
    c->seen_full = false;
}

static void on_mget(void *ud, const tn_redis_reply_t *r, const char *err)
{
    scan_req_t *q = ud;
    tn_cluster_t *c = q->c;
    bool stale = q->gen != c->gen;
    free(q);
    if (stale || c->freeing)
        return;
    if (!r || r->type != TN_REDIS_ARRAY) {
        count_error(c, r, err);
        return; /* the connection drops or is dropping; the next connect reads back again */
    }
    for (size_t i = 0; i < r->nelements; i++) {
        const tn_redis_reply_t *v = r->elements[i];
        if (v->type != TN_REDIS_STRING || !v->len)
            continue;
        switch (c->scan_kind) {
        case 0:
            apply_silence(c, v->str, v->len);
            break;
        case 1:
            apply_nflog(c, v->str, v->len, true);
            break;
        case 2:
            apply_alert(c, v->str, v->len);
            break;
        default:
            apply_ack(c, v->str, v->len);
        }
        c->synced_counts[c->scan_kind]++;
    }
    if (c->seen.count >= SEEN_MAX)
        c->seen_full = true;
    scan_next(c);
}

static void on_scan(void *ud, const tn_redis_reply_t *r, const char *err)
{
    scan_req_t *q = ud;
    tn_cluster_t *c = q->c;
    bool stale = q->gen != c->gen;
    if (stale || c->freeing) {
        free(q);
        return;
    }
    if (!r || r->type != TN_REDIS_ARRAY || r->nelements != 2 ||
        r->elements[0]->type != TN_REDIS_STRING || r->elements[1]->type != TN_REDIS_ARRAY) {
        count_error(c, r, err);
        free(q);
        return;
    }
    free(c->scan_cursor);
    c->scan_cursor = tn_xstrdup(r->elements[0]->str);
    const tn_redis_reply_t *keys = r->elements[1];
    if (keys->nelements == 0) {
        free(q);
        scan_next(c);
        return;
    }
    size_t n = keys->nelements + 1;
    const char **argv = tn_xmalloc(n * sizeof(*argv));
    size_t *lens = tn_xmalloc(n * sizeof(*lens));
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < keys->nelements; i++) {
        argv[i + 1] = keys->elements[i]->str;
        lens[i + 1] = keys->elements[i]->len;
    }
    tn_redis_command(c->cmd, on_mget, q, (int)n, argv, lens);
    free(argv);
    free(lens);
}

static void sync_done(tn_cluster_t *c)
{
    cluster_push_all(c);
    seen_clear(c);
    c->synced = true;
    leases_release_waiting(c);
    char s[24], n[24], a[24];
    snprintf(s, sizeof(s), "%zu", c->synced_counts[0]);
    snprintf(n, sizeof(n), "%zu", c->synced_counts[1]);
    snprintf(a, sizeof(a), "%zu", c->synced_counts[2]);
    tn_log(TN_LOG_INFO, "Shared state read back from Redis", "silences", s, "nflog_entries", n,
           "alerts", a, NULL);
}

/* Continues the read-back: the next page of the current kind, or the next kind. */
static void scan_next(tn_cluster_t *c)
{
    if (c->scan_cursor && strcmp(c->scan_cursor, "0") == 0) {
        free(c->scan_cursor);
        c->scan_cursor = NULL;
        c->scan_kind++;
    }
    if (c->scan_kind >= 4 || (c->scan_kind == 3 && !c->acks)) {
        sync_done(c);
        return;
    }
    const char *cursor = c->scan_cursor ? c->scan_cursor : "0";
    const char *argv[] = {"SCAN", cursor, "MATCH", scan_match[c->scan_kind], "COUNT", SCAN_COUNT};
    tn_redis_command(c->cmd, on_scan, scan_req(c), 6, argv, NULL);
}

static void sync_start(tn_cluster_t *c)
{
    c->gen++;
    c->synced = false;
    c->scan_kind = 0;
    free(c->scan_cursor);
    c->scan_cursor = NULL;
    memset(c->synced_counts, 0, sizeof(c->synced_counts));
    seen_clear(c);
    scan_next(c);
}

/* After the read-back: what this replica has that Redis lacks, or has older, goes back (and is
 * announced, for replicas that stayed connected). */
static bool push_silence(void *ud, const tn_silence_t *s)
{
    tn_cluster_t *c = ud;
    const seen_t *x = c->seen_full ? NULL : tn_strtab_get(&c->seen, s->id);
    if (!x || x->version < s->updated_at)
        on_silence(c, s, false);
    return true;
}

typedef struct {
    tn_cluster_t *c;
    tn_buf_t msg;
    size_t n;
} nflog_push_t;

static bool push_nflog(void *ud, const tn_nflog_entry_t *e)
{
    nflog_push_t *p = ud;
    tn_cluster_t *c = p->c;
    const seen_t *x = c->seen_full ? NULL : tn_strtab_get(&c->seen, e->key);
    if (!x || x->version < e->timestamp) {
        nflog_write(c, e, false);
        tn_buf_t rec;
        tn_buf_init(&rec, 0);
        tn_rec_nflog(&rec, e);
        msg_add(&p->msg, &rec);
        tn_buf_free(&rec);
        if (++p->n % 500 == 0) {
            publish(c, &p->msg);
            tn_buf_free(&p->msg);
            msg_begin(c, &p->msg);
        }
    }
    return true;
}

static bool push_ack(void *ud, const tn_ack_t *a)
{
    on_ack(ud, a, false);
    return true;
}

static bool push_alert(void *ud, tn_alert_t *a)
{
    batch_add(ud, a);
    return true;
}

static void cluster_push_all(tn_cluster_t *c)
{
    /* The seen set holds silences and log entries together: their keys cannot collide (a
     * silence id is a UUID, a log key holds ':' and '/'). */
    tn_silences_foreach(c->sil, push_silence, c);
    nflog_push_t p = {.c = c};
    msg_begin(c, &p.msg);
    tn_nflog_foreach(c->nflog, push_nflog, &p);
    if (p.n % 500)
        publish(c, &p.msg);
    tn_buf_free(&p.msg);
    /* Alerts merge, so all of them go: peers keep what they have when it is the same. */
    tn_alert_store_foreach(c->alerts, push_alert, c);
    /* Acks: the last write wins, and what was just read back is written again as it is. */
    if (c->acks)
        tn_acks_foreach(c->acks, push_ack, c);
}

/* ---- connection state ---- */

static void update_up(tn_cluster_t *c, const char *err)
{
    bool up = c->cmd_up && c->sub_up;
    tn_metric_set(c->m_up, up);
    if (up) {
        tn_log(TN_LOG_INFO, "Connected to Redis; sharing state with the other replicas", "addr",
               tn_redis_addr(c->cmd), NULL);
        c->ever_up = true;
        c->down_logged = false;
        sync_start(c);
    } else {
        c->synced = false;
        c->gen++;
        if (!c->down_logged) {
            c->down_logged = true;
            tn_log(TN_LOG_WARN,
                   "Redis unreachable: this replica notifies on its own state until it is back",
                   "err", err ? err : "", NULL);
        }
        leases_release_waiting(c);
    }
}

static void on_cmd_state(void *ud, bool up, const char *err)
{
    tn_cluster_t *c = ud;
    if (c->freeing)
        return;
    bool was = c->cmd_up && c->sub_up;
    c->cmd_up = up;
    if (was != (c->cmd_up && c->sub_up) || (!up && !c->down_logged))
        update_up(c, err);
}

static void on_sub_state(void *ud, bool up, const char *err)
{
    tn_cluster_t *c = ud;
    if (c->freeing)
        return;
    bool was = c->cmd_up && c->sub_up;
    c->sub_up = up;
    if (was != (c->cmd_up && c->sub_up) || (!up && !c->down_logged))
        update_up(c, err);
}

/* ---- heartbeats and the live replicas ---- */

static void peers_clear(tn_cluster_t *c)
{
    for (size_t i = 0; i < c->npeers; i++) {
        free(c->peers[i].name);
        free(c->peers[i].address);
    }
    free(c->peers);
    c->peers = NULL;
    c->npeers = 0;
}

static int peer_cmp(const void *a, const void *b)
{
    return strcmp(((const peer_t *)a)->name, ((const peer_t *)b)->name);
}

static void on_peers(void *ud, const tn_redis_reply_t *r, const char *err)
{
    tn_cluster_t *c = ud;
    if (c->freeing)
        return;
    if (!r || r->type != TN_REDIS_ARRAY) {
        count_error(c, r, err);
        return;
    }
    peers_clear(c);
    c->peers = tn_xcalloc(TN_MIN(r->nelements, MAX_PEERS) + 1, sizeof(peer_t));
    for (size_t i = 0; i < r->nelements && c->npeers < MAX_PEERS; i++) {
        const tn_redis_reply_t *m = r->elements[i];
        if (m->type != TN_REDIS_STRING)
            continue;
        /* member: name, NUL, address */
        const char *nul = memchr(m->str, 0, m->len);
        c->peers[c->npeers].name = tn_xstrdup(m->str);
        c->peers[c->npeers].address = tn_xstrdup(nul ? nul + 1 : "");
        c->npeers++;
    }
    qsort(c->peers, c->npeers, sizeof(peer_t), peer_cmp);
    tn_metric_set(c->m_members, (double)c->npeers);
}

static void on_heartbeat(uv_timer_t *t)
{
    tn_cluster_t *c = t->data;
    if (!c->cmd_up)
        return;
    long long now = (long long)(tn_clock_now() / TN_NS_PER_MS);
    char score[24], min[24], old[24];
    snprintf(score, sizeof(score), "%lld", now);
    snprintf(min, sizeof(min), "%lld", now - PEER_LIVE_MS);
    snprintf(old, sizeof(old), "(%lld", now - PEER_FORGET_MS);
    size_t nlen = strlen(c->name), alen = strlen(c->address);
    char *member = tn_xmalloc(nlen + alen + 2);
    memcpy(member, c->name, nlen + 1);
    memcpy(member + nlen + 1, c->address, alen + 1);
    const char *zadd[] = {"ZADD", KEY_PEERS, score, member};
    size_t zlens[] = {4, sizeof(KEY_PEERS) - 1, strlen(score), nlen + alen + 1};
    tn_redis_command(c->cmd, on_reply_checked, c, 4, zadd, zlens);
    free(member);
    if (c->beats++ % 10 == 0) {
        const char *zrem[] = {"ZREMRANGEBYSCORE", KEY_PEERS, "-inf", old};
        tn_redis_command(c->cmd, on_reply_checked, c, 4, zrem, NULL);
    }
    const char *zr[] = {"ZRANGEBYSCORE", KEY_PEERS, min, "+inf"};
    tn_redis_command(c->cmd, on_peers, c, 4, zr, NULL);
}

void tn_cluster_status_json(tn_cluster_t *c, tn_buf_t *b)
{
    tn_buf_puts(b, "{\"name\":");
    tn_json_go_string(b, c->name, strlen(c->name));
    tn_buf_puts(b, ",\"peers\":[");
    bool self = false;
    size_t k = 0;
    if (c->cmd_up) {
        for (size_t i = 0; i < c->npeers; i++) {
            if (strcmp(c->peers[i].name, c->name) == 0)
                self = true;
            tn_buf_puts(b, k++ ? ",{\"address\":" : "{\"address\":");
            tn_json_go_string(b, c->peers[i].address, strlen(c->peers[i].address));
            tn_buf_puts(b, ",\"name\":");
            tn_json_go_string(b, c->peers[i].name, strlen(c->peers[i].name));
            tn_buf_putc(b, '}');
        }
    }
    if (!self) {
        tn_buf_puts(b, k ? ",{\"address\":" : "{\"address\":");
        tn_json_go_string(b, c->address, strlen(c->address));
        tn_buf_puts(b, ",\"name\":");
        tn_json_go_string(b, c->name, strlen(c->name));
        tn_buf_putc(b, '}');
    }
    tn_buf_puts(b, "],\"status\":");
    tn_buf_puts(b, c->synced ? "\"ready\"}" : "\"settling\"}");
}

/* ---- the lease gate ---- */

static void lease_unlink(lease_t *l)
{
    tn_cluster_t *c = l->c;
    lease_t **head = l->waiting ? &c->waiting : &c->leases;
    if (l->prev)
        l->prev->next = l->next;
    else if (*head == l)
        *head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

static void lease_free(lease_t *l)
{
    free(l->key);
    free(l);
}

static void on_lease_set(void *ud, const tn_redis_reply_t *r, const char *err)
{
    lease_t *l = ud;
    if (!r || r->type == TN_REDIS_ERROR) {
        if (!l->cancelled)
            count_error(l->c, r, err);
        l->result = TN_GATE_OPEN;
    } else {
        l->result = r->type == TN_REDIS_STATUS ? TN_GATE_OWN : TN_GATE_PEER;
    }
    l->replies++;
}

static const char *const lease_results[] = {"won", "unavailable", "peer"};

static void lease_answer(lease_t *l)
{
    tn_cluster_t *c = l->c;
    lease_unlink(l);
    tn_metric_add(tn_metric_with(c->m_leases, lease_results[l->result], NULL), 1);
    tn_gate_verdict_fn verdict = l->verdict;
    void *ctx = l->ctx;
    enum tn_gate_verdict v = l->result;
    lease_free(l);
    verdict(ctx, v);
}

static void on_lease_entry(void *ud, const tn_redis_reply_t *r, const char *err)
{
    lease_t *l = ud;
    (void)err;
    l->replies++;
    if (l->cancelled) {
        lease_free(l);
        return;
    }
    if (l->result == TN_GATE_OWN && r && r->type == TN_REDIS_STRING)
        apply_nflog(l->c, r->str, r->len, false);
    if (!r && l->result == TN_GATE_OWN)
        l->result = TN_GATE_OPEN; /* the entry is unknown: send on local state */
    if (!l->in_acquire)
        lease_answer(l);
}

static void lease_push(lease_t **head, lease_t *l)
{
    l->prev = NULL;
    l->next = *head;
    if (*head)
        (*head)->prev = l;
    *head = l;
}

/* Sends the SET NX and the GET; returns false when both were answered already. */
static bool lease_send(lease_t *l)
{
    tn_cluster_t *c = l->c;
    lease_push(&c->leases, l);
    char *lkey = key_of(KEY_LEASE, l->key), *nkey = key_of(KEY_NFLOG, l->key);
    char px[24];
    snprintf(px, sizeof(px), "%lld", (long long)TN_MAX(l->ttl / TN_NS_PER_MS, 1));
    const char *set[] = {"SET", lkey, c->origin, "NX", "PX", px};
    const char *get[] = {"GET", nkey};
    /* Both are answered, in order, or both fail: the verdict comes with the second. */
    l->in_acquire = true;
    tn_redis_command(c->cmd, on_lease_set, l, 6, set, NULL);
    tn_redis_command(c->cmd, on_lease_entry, l, 2, get, NULL);
    l->in_acquire = false;
    free(lkey);
    free(nkey);
    if (l->replies == 2) {
        lease_answer(l);
        return false;
    }
    return true;
}

/* The first connection came up (and read back) or failed: the leases asked for meanwhile go. */
static void leases_release_waiting(tn_cluster_t *c)
{
    c->first_outcome = true;
    while (c->waiting) {
        lease_t *l = c->waiting;
        lease_unlink(l);
        l->waiting = false;
        if (c->cmd_up) {
            lease_send(l);
        } else {
            l->result = TN_GATE_OPEN;
            lease_answer(l);
        }
    }
}

static void *gate_acquire(void *ud, const char *key, tn_duration_t ttl, tn_gate_verdict_fn verdict,
                          void *ctx)
{
    tn_cluster_t *c = ud;
    if (!c->cmd_up && c->first_outcome) {
        tn_metric_add(tn_metric_with(c->m_leases, "unavailable", NULL), 1);
        verdict(ctx, TN_GATE_OPEN);
        return NULL;
    }
    lease_t *l = tn_xcalloc(1, sizeof(*l));
    l->c = c;
    l->verdict = verdict;
    l->ctx = ctx;
    l->key = tn_xstrdup(key);
    l->ttl = ttl;
    if (!c->first_outcome) {
        l->waiting = true;
        lease_push(&c->waiting, l);
        return l;
    }
    return lease_send(l) ? l : NULL;
}

static void gate_cancel(void *ud, void *handle)
{
    (void)ud;
    lease_t *l = handle;
    bool sent = !l->waiting;
    lease_unlink(l);
    if (!sent) {
        lease_free(l);
        return;
    }
    l->cancelled = true; /* freed by its last reply, which always comes */
}

static void gate_release(void *ud, const char *key)
{
    tn_cluster_t *c = ud;
    if (!c->cmd_up)
        return; /* it expires */
    char *lkey = key_of(KEY_LEASE, key);
    const char *argv[] = {"EVAL", release_script, "1", lkey, c->origin};
    tn_redis_command(c->cmd, on_reply_checked, c, 5, argv, NULL);
    free(lkey);
}

tn_gate_t tn_cluster_gate(tn_cluster_t *c)
{
    return (tn_gate_t){
        .ud = c, .acquire = gate_acquire, .cancel = gate_cancel, .release = gate_release};
}

/* ---- lifetime ---- */

tn_cluster_t *tn_cluster_new(uv_loop_t *loop, const tn_cluster_opts_t *o, tn_silences_t *sil,
                             tn_nflog_t *nflog, tn_alert_store_t *alerts, char *err, size_t errlen)
{
    tn_redis_url_t url;
    if (tn_redis_url_parse(o->redis_url, &url, err, errlen) != TN_OK)
        return NULL;
    tn_cluster_t *c = tn_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->url = url;
    c->name = tn_xstrdup(o->peer_name);
    c->address = tn_xstrdup(o->address ? o->address : "");
    c->retention = o->retention > 0 ? o->retention : 120 * 3600 * TN_NS_PER_SEC;
    /* Tells this process's messages from those of a replica restarted under the same name. */
    c->origin = tn_xasprintf("%s/%llx%08x", o->peer_name, (unsigned long long)tn_clock_now(),
                             (unsigned)rand());
    c->sil = sil;
    c->nflog = nflog;
    c->alerts = alerts;
    c->seen = TN_STRTAB_INIT(seen_key);
    c->m_up = tn_metric_plain(tn_metric_gauge(
        "tocsin_cluster_redis_up",
        "Whether this replica is connected to Redis and shares its state (1) or runs on its "
        "own (0).",
        NULL));
    c->m_members = tn_metric_plain(
        tn_metric_gauge("alertmanager_cluster_members", "Number of cluster members.", NULL));
    tn_metric_set(tn_metric_plain(tn_metric_gauge("alertmanager_cluster_enabled",
                                                  "Indicates whether the clustering is enabled "
                                                  "or not.",
                                                  NULL)),
                  1);
    c->m_leases = tn_metric_counter(
        "tocsin_cluster_leases_total",
        "Send leases asked for, by result: won (this replica sends), peer (another one does), "
        "unavailable (no Redis: sent on local state).",
        "result");
    for (size_t i = 0; i < TN_ARRAY_LEN(lease_results); i++)
        tn_metric_with(c->m_leases, lease_results[i], NULL);
    c->m_received = tn_metric_counter("tocsin_cluster_received_total",
                                      "Messages received from the other replicas.", "kind");
    tn_metric_with(c->m_received, "message", NULL);
    c->m_errors = tn_metric_plain(tn_metric_counter(
        "tocsin_cluster_errors_total",
        "Redis commands that failed and records from Redis that could not be read.", NULL));
    tn_metric_set(c->m_members, 1);

    tn_silences_get_hook(sil, &c->sil_next, &c->sil_next_ud);
    tn_silences_set_hook(sil, on_silence, c);
    tn_nflog_get_hook(nflog, &c->nflog_next, &c->nflog_next_ud);
    tn_nflog_set_hook(nflog, on_nflog, c);
    tn_alert_store_add_listener(alerts, on_alert, c);
    c->acks = o->acks;
    if (c->acks) {
        tn_acks_get_hook(c->acks, &c->ack_next, &c->ack_next_ud);
        tn_acks_set_hook(c->acks, on_ack, c);
    }

    uv_timer_init(loop, &c->batch_timer);
    c->batch_timer.data = c;
    uv_timer_init(loop, &c->heartbeat);
    c->heartbeat.data = c;
    uv_timer_start(&c->heartbeat, on_heartbeat, 0, HEARTBEAT_MS);

    tn_redis_opts_t ro = {
        .on_state = on_cmd_state,
        .ud = c,
        .tls_ca_file = o->tls_ca_file,
        .tls_cert_file = o->tls_cert_file,
        .tls_key_file = o->tls_key_file,
        .tls_server_name = o->tls_server_name,
        .tls_insecure_skip_verify = o->tls_insecure_skip_verify,
    };
    c->cmd = tn_redis_new(loop, &c->url, &ro);
    static const char *const channels[] = {CHANNEL};
    ro.on_state = on_sub_state;
    ro.channels = channels;
    ro.nchannels = 1;
    ro.on_message = on_message;
    c->sub = tn_redis_new(loop, &c->url, &ro);
    return c;
}

static void on_close(uv_handle_t *h)
{
    tn_cluster_t *c = h->data;
    if (--c->closing_handles == 0)
        free(c);
}

void tn_cluster_free(tn_cluster_t *c)
{
    if (!c)
        return;
    c->freeing = true;
    tn_alert_store_remove_listener(c->alerts, on_alert, c);
    tn_silences_set_hook(c->sil, c->sil_next, c->sil_next_ud);
    tn_nflog_set_hook(c->nflog, c->nflog_next, c->nflog_next_ud);
    if (c->acks)
        tn_acks_set_hook(c->acks, c->ack_next, c->ack_next_ud);
    c->cmd_up = false;
    for (lease_t *l = c->leases; l;) {
        lease_t *next = l->next;
        l->cancelled = true;
        l->prev = l->next = NULL;
        l = next;
    }
    c->leases = NULL;
    while (c->waiting) {
        lease_t *l = c->waiting;
        lease_unlink(l);
        lease_free(l);
    }
    tn_redis_free(c->cmd);
    tn_redis_free(c->sub);
    for (size_t i = 0; i < c->nbatch; i++)
        tn_alert_unref(c->batch[i]);
    free(c->batch);
    peers_clear(c);
    seen_clear(c);
    free(c->scan_cursor);
    free(c->name);
    free(c->address);
    free(c->origin);
    tn_redis_url_free(&c->url);
    c->closing_handles = 2;
    uv_close((uv_handle_t *)&c->batch_timer, on_close);
    uv_close((uv_handle_t *)&c->heartbeat, on_close);
}
