#include "tn_test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/alert.h"
#include "tocsin/clock.h"
#include "tocsin/metrics.h"
#include "tocsin/nflog.h"
#include "tocsin/silence.h"
#include "tocsin/store.h"

#define S TN_NS_PER_SEC

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tn-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    tn_metrics_free_all();
    return 0;
}

typedef struct sync_res {
    int calls;
    int rc;
} sync_res_t;

static void on_sync(void *ud, int rc)
{
    sync_res_t *r = ud;
    r->calls++;
    r->rc = rc;
}

/* Waits for everything queued so far to be durable. */
static int sync_now(uv_loop_t *loop, tn_store_t *st)
{
    sync_res_t r = {0, 0};
    tn_store_sync(st, on_sync, &r);
    while (!r.calls)
        uv_run(loop, UV_RUN_ONCE);
    return r.rc;
}

static void finish(uv_loop_t *loop, tn_store_t *st)
{
    tn_store_close(st);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

static tn_alert_t *mk_alert(const char *name, const char *team, tn_time_t start, tn_time_t end)
{
    tn_label_t l[2] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                       {tn_intern_cstr("team"), tn_intern_cstr(team)}};
    tn_label_t an[1] = {{tn_intern_cstr("summary"), tn_intern_cstr("it \"broke\"\nbadly")}};
    tn_alert_t *a = tn_alert_new(l, 2, an, 1, tn_intern_cstr("http://prom/graph"));
    a->starts_at = start;
    a->ends_at = end;
    a->updated_at = start;
    return a;
}

static void add_silence(tn_silences_t *ss, tn_time_t now, const char *value, char id[37])
{
    tn_silence_t in;
    memset(&in, 0, sizeof(in));
    char err[TN_ERRBUF_SIZE];
    in.matchers.v = calloc(2, sizeof(tn_matcher_t));
    assert_int_equal(
        tn_matcher_init(&in.matchers.v[0], TN_MATCH_EQ, "alertname", value, err, sizeof(err)),
        TN_OK);
    assert_int_equal(
        tn_matcher_init(&in.matchers.v[1], TN_MATCH_RE, "team", "a|b", err, sizeof(err)), TN_OK);
    in.matchers.n = 2;
    in.starts_at = now;
    in.ends_at = now + 3600 * S;
    in.created_by = strdup("alice");
    in.comment = strdup("maintenance — ünïcode");
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_OK);
    tn_silence_clear(&in);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_time_t now = tn_clock_now();
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_silences_t *ss = tn_silences_new();
    tn_nflog_t *nf = tn_nflog_new();
    tn_alert_store_t *as = tn_alert_store_new();
    assert_int_equal(tn_store_load(st, ss, nf, as, now, err, sizeof(err)), TN_OK);
    tn_store_attach(st, ss, nf, as);

    char id1[37], id2[37], id3[37];
    add_silence(ss, now, "A", id1);
    add_silence(ss, now, "B", id2);
    add_silence(ss, now, "C", id3);
    assert_int_equal(tn_silences_expire(ss, id2, now + S, err, sizeof(err)), TN_OK);
    uint64_t f[] = {3, 1, 2}, r[] = {9};
    tn_strmap_t kept = {0};
    tn_strmap_set(&kept, "threadTs", "1700000000.000100");
    tn_strmap_set(&kept, "channelId", "C042");
    tn_nflog_log(nf, "g1:r/webhook/0", f, 3, r, 1, &kept, now, now + 3600 * S);
    tn_strmap_free(&kept);
    tn_nflog_log(nf, "g2:r/webhook/0", f, 1, NULL, 0, NULL, now - 100 * S,
                 now - 10 * S); /* expired */
    tn_alert_t *a1 = mk_alert("A", "a", now - 60 * S, now + 300 * S);
    a1->timeout = true;
    assert_int_equal(tn_alert_store_put(as, a1), TN_OK);
    assert_int_equal(tn_alert_store_put(as, mk_alert("B", "b", now - 60 * S, 0)), TN_OK);
    assert_int_equal(tn_alert_store_put(as, mk_alert("C", "c", now - 60 * S, now - S)), TN_OK);
    assert_int_equal(tn_alert_store_put(as, mk_alert("D", "d", now - 9000 * S, now - 8000 * S)),
                     TN_OK); /* resolved beyond the retention set below */
    assert_int_equal(sync_now(&loop, st), TN_OK);
    /* GC of a silence deletes its row. */
    tn_silences_set_retention(ss, 0);
    assert_int_equal(tn_silences_gc(ss, now + 2 * S), 1);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    uint64_t fp1 = a1->fp;
    finish(&loop, st);
    tn_silences_free(ss);
    tn_nflog_free(nf);
    tn_alert_store_free(as);

    /* Reopen: everything is back. */
    uv_loop_init(&loop);
    st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_store_set_retention(st, 3600 * S);
    ss = tn_silences_new();
    nf = tn_nflog_new();
    as = tn_alert_store_new();
    assert_int_equal(tn_store_load(st, ss, nf, as, now, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_total(ss), 2);
    assert_null(tn_silences_get(ss, id2));
    const tn_silence_t *s1 = tn_silences_get(ss, id1);
    assert_non_null(s1);
    assert_string_equal(s1->comment, "maintenance — ünïcode");
    assert_string_equal(s1->created_by, "alice");
    assert_int_equal(s1->matchers.n, 2);
    assert_int_equal(s1->matchers.v[1].op, TN_MATCH_RE);
    assert_string_equal(s1->matchers.v[1].value, "a|b");
    assert_true(s1->starts_at == now && s1->ends_at == now + 3600 * S);
    assert_non_null(tn_silences_get(ss, id3));

    const tn_nflog_entry_t *e = tn_nflog_get(nf, "g1:r/webhook/0");
    assert_non_null(e);
    assert_int_equal(e->nfiring, 3);
    assert_true(e->firing[0] == 1 && e->firing[2] == 3 && e->resolved[0] == 9);
    assert_true(e->timestamp == now);
    /* What the integration kept comes back with the entry. */
    assert_int_equal(e->data.n, 2);
    assert_string_equal(tn_strmap_get(&e->data, "threadTs"), "1700000000.000100");
    assert_string_equal(tn_strmap_get(&e->data, "channelId"), "C042");
    assert_int_equal(tn_nflog_count(nf), 1);

    assert_int_equal(tn_alert_store_count(as), 3);
    tn_alert_t *b1 = tn_alert_store_get(as, fp1);
    assert_non_null(b1);
    assert_true(b1->timeout);
    assert_true(b1->starts_at == now - 60 * S && b1->ends_at == now + 300 * S);
    assert_string_equal(tn_alert_name(b1), "A");
    assert_int_equal(b1->nannotations, 1);
    assert_string_equal(b1->annotations[0].value, "it \"broke\"\nbadly");
    assert_string_equal(b1->generator_url, "http://prom/graph");
    finish(&loop, st);
    tn_silences_free(ss);
    tn_nflog_free(nf);
    tn_alert_store_free(as);
}

/* Alert changes are coalesced per fingerprint; GC removals delete rows; nflog GC deletes. */
static void test_alert_batches_and_gc(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_time_t now = tn_clock_now();
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_nflog_t *nf = tn_nflog_new();
    tn_alert_store_t *as = tn_alert_store_new();
    assert_int_equal(tn_store_load(st, NULL, nf, as, now, err, sizeof(err)), TN_OK);
    tn_store_attach(st, NULL, nf, as);
    for (int i = 0; i < 50; i++)
        tn_alert_store_put(as, mk_alert("A", "a", now - 10 * S, now + (100 + i) * S));
    tn_alert_store_put(as, mk_alert("B", "b", now - 10 * S, now - S));
    /* Nothing urgent queued: the flush timer writes alerts by itself within a second or so
     * (while something else keeps the loop running: here a dummy timer). */
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, noop_timer, 60000, 0);
    uint64_t t0 = uv_now(&loop);
    while (tn_metric_value(
               tn_metric_plain(tn_metric_counter("tocsin_store_writes_total", "", NULL))) < 2 &&
           uv_now(&loop) - t0 < 5000) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(10000);
        uv_update_time(&loop);
    }
    assert_true(tn_metric_value(tn_metric_plain(
                    tn_metric_counter("tocsin_store_writes_total", "", NULL))) == 2);
    uv_close((uv_handle_t *)&keep, NULL);
    assert_int_equal(tn_alert_store_gc(as, now, NULL, NULL), 1); /* B goes */
    uint64_t f[] = {1};
    tn_nflog_log(nf, "k1", f, 1, NULL, 0, NULL, now, now + 10 * S);
    tn_nflog_log(nf, "k2", f, 1, NULL, 0, NULL, now, now + 1000 * S);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    tn_nflog_gc(nf, now + 20 * S);
    tn_store_nflog_gc(st, now + 20 * S);
    finish(&loop, st);
    tn_nflog_free(nf);
    tn_alert_store_free(as);

    /* Check rows directly. */
    char path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM alerts), (SELECT "
                                        "ends_at FROM alerts), (SELECT group_concat(key) "
                                        "FROM nflog), (SELECT journal_mode FROM "
                                        "pragma_journal_mode)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1);
    assert_true(sqlite3_column_int64(q, 1) == now + 149 * S); /* the last version won */
    assert_string_equal((const char *)sqlite3_column_text(q, 2), "k2");
    assert_string_equal((const char *)sqlite3_column_text(q, 3), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* A failing write is counted, reported to waiters and retried until it succeeds. */
static void test_write_failure_retried(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_time_t now = tn_clock_now();
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_silences_t *ss = tn_silences_new();
    assert_int_equal(tn_store_load(st, ss, NULL, NULL, now, err, sizeof(err)), TN_OK);
    tn_store_attach(st, ss, NULL, NULL);
    tn_metric_child_t *errors =
        tn_metric_plain(tn_metric_counter("tocsin_store_write_errors_total", "", NULL));
    double before = tn_metric_value(errors);

    char path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE silences RENAME TO s_away", NULL, NULL, NULL),
                     SQLITE_OK);
    char id[37];
    add_silence(ss, now, "A", id);
    assert_int_equal(sync_now(&loop, st), TN_ERR_IO);
    assert_true(tn_metric_value(errors) == before + 1);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE s_away RENAME TO silences", NULL, NULL, NULL),
                     SQLITE_OK);
    /* The retry (after a backoff) writes it. */
    assert_int_equal(sync_now(&loop, st), TN_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM silences", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), id);
    sqlite3_finalize(q);
    sqlite3_close(db);
    finish(&loop, st);
    tn_silences_free(ss);
}

/* A failed batch of alerts is put back already encoded; the retry writes it as it is (it
 * used to encode the dropped alert again and crash). */
static void test_alert_write_failure_retried(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_time_t now = tn_clock_now();
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_alert_store_t *as = tn_alert_store_new();
    assert_int_equal(tn_store_load(st, NULL, NULL, as, now, err, sizeof(err)), TN_OK);
    tn_store_attach(st, NULL, NULL, as);
    char path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE alerts RENAME TO a_away", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof(name), "A%d", i);
        tn_alert_store_put(as, mk_alert(name, "a", now - 10 * S, now + 100 * S));
    }
    assert_int_equal(sync_now(&loop, st), TN_ERR_IO);
    /* Still failing: the requeued batch is tried again, twice. */
    assert_int_equal(sync_now(&loop, st), TN_ERR_IO);
    /* replaces one: a re-send of a later minute (a re-send within the same minute is only
     * written when the next one comes, see test_alert_resend_written_once_a_minute) */
    tn_alert_t *a3 = mk_alert("A3", "a", now - 10 * S, now + 200 * S);
    a3->updated_at = now + 61 * S;
    tn_alert_store_put(as, a3);
    assert_int_equal(sync_now(&loop, st), TN_ERR_IO);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE a_away RENAME TO alerts", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*), max(ends_at) FROM alerts", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 20);
    assert_true(sqlite3_column_int64(q, 1) == now + 200 * S);
    sqlite3_finalize(q);
    sqlite3_close(db);
    finish(&loop, st);
    tn_alert_store_free(as);
}

static double store_ops(void)
{
    return tn_metric_value(
        tn_metric_plain(tn_metric_counter("tocsin_store_writes_total", "", NULL)));
}

/* Prometheus' re-sends (only endsAt moves on) are written once per minute of updatedAt; any
 * other change at once; a re-send while a write is still queued rides along with it. */
static void test_alert_resend_written_once_a_minute(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    tn_time_t now = tn_clock_now() / (60 * S) * (60 * S);
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_alert_store_t *as = tn_alert_store_new();
    assert_int_equal(tn_store_load(st, NULL, NULL, as, now, err, sizeof(err)), TN_OK);
    tn_store_attach(st, NULL, NULL, as);
    tn_alert_t *a = mk_alert("R", "a", now, now + 3600 * S);
    assert_int_equal(tn_alert_store_put(as, a), TN_OK);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    double ops = store_ops();
    /* Re-sends within the minute: nothing to write. */
    for (int i = 1; i < 5; i++) {
        tn_alert_t *r = mk_alert("R", "a", now, now + 3600 * S + i * S);
        r->updated_at = now + i * S;
        assert_int_equal(tn_alert_store_put(as, r), TN_OK);
    }
    assert_int_equal(sync_now(&loop, st), TN_OK);
    assert_true(store_ops() == ops);
    /* The next minute: written, with the latest endsAt. */
    tn_alert_t *r = mk_alert("R", "a", now, now + 3700 * S);
    r->updated_at = now + 61 * S;
    assert_int_equal(tn_alert_store_put(as, r), TN_OK);
    /* Queued and not yet written: a re-send rides along. */
    tn_alert_t *r2 = mk_alert("R", "a", now, now + 3701 * S);
    r2->updated_at = now + 62 * S;
    assert_int_equal(tn_alert_store_put(as, r2), TN_OK);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    assert_true(store_ops() == ops + 1);
    /* A change that is more than a re-send (here a resolve) goes at once. */
    tn_alert_t *res = mk_alert("R", "a", now, now);
    res->updated_at = now + 63 * S;
    assert_int_equal(tn_alert_store_put(as, res), TN_OK);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    assert_true(store_ops() == ops + 2);
    finish(&loop, st);
    tn_alert_store_free(as);
    char path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT ends_at FROM alerts", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_true(sqlite3_column_int64(q, 0) == now);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_damaged_file(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE], path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, not at all. ", f);
    fclose(f);
    uv_loop_t loop;
    uv_loop_init(&loop);
    assert_null(tn_store_open(&loop, dir, false, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "--storage.move-damaged"));
    /* The file is untouched. */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 200 * 36);

    tn_store_t *st = tn_store_open(&loop, dir, true, err, sizeof(err));
    assert_non_null(st);
    tn_silences_t *ss = tn_silences_new();
    assert_int_equal(tn_store_load(st, ss, NULL, NULL, tn_clock_now(), err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_total(ss), 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q 'tocsin.db.damaged-'", dir);
    assert_int_equal(system(cmd), 0);
    finish(&loop, st);
    tn_silences_free(ss);
}

/* A damaged row fails the load without touching the caller's state. */
static void test_damaged_row(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE], path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    finish(&loop, st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "INSERT INTO nflog(key, ts, expires_at, firing, resolved) VALUES('ok', 1, 0, x'', x'');"
            "INSERT INTO nflog(key, ts, expires_at, firing, resolved) VALUES('bad', 1, 0, x'0102', "
            "x'')",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    uv_loop_init(&loop);
    st = tn_store_open(&loop, dir, false, err, sizeof(err));
    assert_non_null(st);
    tn_nflog_t *nf = tn_nflog_new();
    assert_int_not_equal(tn_store_load(st, NULL, nf, NULL, 2, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "bad"));
    assert_int_equal(tn_nflog_count(nf), 0);
    finish(&loop, st);
    tn_nflog_free(nf);
}

/* The snapshot file of earlier versions is imported once into a new database. */
/* A database of schema 1 (before integrations kept data) is upgraded in place. */
static void test_schema1_upgrade(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE], path[128];
    snprintf(path, sizeof(path), "%s/tocsin.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE nflog(key TEXT PRIMARY KEY, ts INTEGER NOT NULL, "
                                  "expires_at INTEGER NOT NULL, firing BLOB NOT NULL, resolved "
                                  "BLOB NOT NULL);"
                                  "INSERT INTO nflog VALUES('g:r/slack/0', 5, 0, x'', x'');"
                                  "PRAGMA user_version=1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
    if (!st)
        fail_msg("open: %s", err);
    tn_nflog_t *nf = tn_nflog_new();
    assert_int_equal(tn_store_load(st, NULL, nf, NULL, tn_clock_now(), err, sizeof(err)), TN_OK);
    const tn_nflog_entry_t *e = tn_nflog_get(nf, "g:r/slack/0");
    assert_non_null(e);
    assert_int_equal(e->data.n, 0);
    tn_store_attach(st, NULL, nf, NULL);
    tn_strmap_t kept = {0};
    tn_strmap_set(&kept, "threadTs", "1.2");
    tn_nflog_log(nf, "g:r/slack/0", NULL, 0, NULL, 0, &kept, 6, 0);
    tn_strmap_free(&kept);
    assert_int_equal(sync_now(&loop, st), TN_OK);
    finish(&loop, st);
    tn_nflog_free(nf);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(data) FROM nflog", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), (int)sizeof("threadTs") + (int)sizeof("1.2"));
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_nflog_migration(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE], path[128];
    tn_time_t now = tn_clock_now();
    snprintf(path, sizeof(path), "%s/nflog", dir);
    tn_nflog_t *old = tn_nflog_new();
    uint64_t f[] = {7, 8};
    tn_nflog_log(old, "g:r/webhook/0", f, 2, NULL, 0, NULL, now - S, now + 3600 * S);
    assert_int_equal(tn_nflog_save(old, path, err, sizeof(err)), TN_OK);
    tn_nflog_free(old);

    for (int round = 0; round < 2; round++) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        tn_store_t *st = tn_store_open(&loop, dir, false, err, sizeof(err));
        assert_non_null(st);
        tn_nflog_t *nf = tn_nflog_new();
        assert_int_equal(tn_store_load(st, NULL, nf, NULL, now, err, sizeof(err)), TN_OK);
        const tn_nflog_entry_t *e = tn_nflog_get(nf, "g:r/webhook/0");
        assert_non_null(e);
        assert_int_equal(e->nfiring, 2);
        assert_int_equal(tn_nflog_count(nf), 1);
        finish(&loop, st);
        tn_nflog_free(nf);
    }
    assert_int_not_equal(access(path, F_OK), 0);
    char imported[160];
    snprintf(imported, sizeof(imported), "%s.imported", path);
    assert_int_equal(access(imported, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_batches_and_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_write_failure_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_resend_written_once_a_minute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nflog_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema1_upgrade, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
