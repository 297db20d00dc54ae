/* Replicas: the records they share (round trips, damaged values refused) and the notifier's
 * lease gate (who sends, dedup against the shared log entry, release after the record). The
 * Redis side runs end to end in tests/e2e/test_ha.py. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/cluster_internal.h"
#include "tocsin/clock.h"
#include "tocsin/metrics.h"
#include "tocsin/notify.h"

#define S TN_NS_PER_SEC

static tn_label_t pair(const char *n, const char *v)
{
    return (tn_label_t){tn_intern_cstr(n), tn_intern_cstr(v)};
}

static tn_alert_t *mkalert(const char *name, tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[2] = {pair("alertname", name), pair("instance", "host:9100")};
    tn_label_t an[1] = {pair("summary", "disk \"full\"\n")};
    assert_int_equal(tn_labels_sort(l, 2), TN_OK);
    tn_alert_t *a = tn_alert_new(l, 2, an, 1, tn_intern_cstr("http://prom/graph?g0.expr=up"));
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = starts + 5;
    return a;
}

/* Every shorter prefix and every one-byte change of a record must decode as refused or as a
 * valid value, never read out of bounds (the sanitizers watch). */
static void check_damage(const tn_buf_t *b, int kind)
{
    for (size_t n = 0; n < b->len; n++) {
        switch (kind) {
        case 0: {
            tn_silence_t s;
            assert_int_not_equal(tn_rec_silence_decode(b->data, n, &s), TN_OK);
            break;
        }
        case 1: {
            tn_nflog_entry_t e;
            assert_int_not_equal(tn_rec_nflog_decode(b->data, n, &e), TN_OK);
            break;
        }
        default:
            assert_null(tn_rec_alert_decode(b->data, n));
        }
    }
    char *copy = malloc(b->len);
    for (size_t i = 0; i < b->len; i++) {
        memcpy(copy, b->data, b->len);
        copy[i] = (char)(copy[i] ^ 0xff);
        if (kind == 0) {
            tn_silence_t s;
            if (tn_rec_silence_decode(copy, b->len, &s) == TN_OK)
                tn_silence_clear(&s);
        } else if (kind == 1) {
            tn_nflog_entry_t e;
            if (tn_rec_nflog_decode(copy, b->len, &e) == TN_OK)
                tn_rec_nflog_clear(&e);
        } else {
            tn_alert_t *a = tn_rec_alert_decode(copy, b->len);
            if (a)
                tn_alert_unref(a);
        }
    }
    free(copy);
}

static void test_silence_record(void **state)
{
    (void)state;
    tn_silence_t s = {.starts_at = 100 * S, .ends_at = 200 * S, .updated_at = 150 * S};
    strcpy(s.id, "0b4a1a32-5a3c-4a47-9c53-7a0f6f6c2d11");
    s.created_by = strdup("alice");
    s.comment = strdup("maintenance of db-1");
    s.matchers.v = calloc(2, sizeof(tn_matcher_t));
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(
        tn_matcher_init(&s.matchers.v[0], TN_MATCH_EQ, "alertname", "Disk", err, sizeof(err)),
        TN_OK);
    assert_int_equal(
        tn_matcher_init(&s.matchers.v[1], TN_MATCH_RE, "instance", "db-[0-9]+", err, sizeof(err)),
        TN_OK);
    s.matchers.n = 2;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_rec_silence(&b, &s);
    tn_silence_t out;
    assert_int_equal(tn_rec_silence_decode(b.data, b.len, &out), TN_OK);
    assert_string_equal(out.id, s.id);
    assert_true(out.starts_at == s.starts_at && out.ends_at == s.ends_at &&
                out.updated_at == s.updated_at);
    assert_string_equal(out.created_by, "alice");
    assert_string_equal(out.comment, "maintenance of db-1");
    assert_int_equal(out.matchers.n, 2);
    assert_int_equal(out.matchers.v[1].op, TN_MATCH_RE);
    assert_string_equal(out.matchers.v[1].value, "db-[0-9]+");
    tn_silence_clear(&out);
    check_damage(&b, 0);
    /* A matcher whose regex does not compile is refused like any damage. */
    tn_buf_reset(&b);
    free(s.matchers.v[1].value);
    s.matchers.v[1].value = strdup("(");
    tn_rec_silence(&b, &s);
    assert_int_not_equal(tn_rec_silence_decode(b.data, b.len, &out), TN_OK);
    tn_buf_free(&b);
    tn_silence_clear(&s);
}

static void test_nflog_record(void **state)
{
    (void)state;
    uint64_t firing[] = {1, 7, UINT64_MAX};
    uint64_t resolved[] = {42};
    tn_nflog_entry_t e = {.key = strdup("{}:{alertname=\"Disk\"}:team/slack/0"),
                          .timestamp = 1700000000 * S,
                          .expires_at = 1700000000 * S + 3600 * S,
                          .firing = firing,
                          .nfiring = 3,
                          .resolved = resolved,
                          .nresolved = 1};
    tn_strmap_set(&e.data, "ts", "1700000000.000100");
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_rec_nflog(&b, &e);
    tn_nflog_entry_t out;
    assert_int_equal(tn_rec_nflog_decode(b.data, b.len, &out), TN_OK);
    assert_string_equal(out.key, e.key);
    assert_true(out.timestamp == e.timestamp && out.expires_at == e.expires_at);
    assert_int_equal(out.nfiring, 3);
    assert_true(out.firing[2] == UINT64_MAX);
    assert_int_equal(out.nresolved, 1);
    assert_true(out.resolved[0] == 42);
    assert_int_equal(out.data.n, 1);
    assert_string_equal(out.data.values[0], "1700000000.000100");
    tn_rec_nflog_clear(&out);
    check_damage(&b, 1);
    tn_buf_free(&b);
    free(e.key);
    tn_strmap_free(&e.data);
}

static void test_ack_record(void **state)
{
    (void)state;
    tn_ack_target_t t[2] = {{UINT64_MAX, 1700000000 * S}, {3, 5}};
    tn_ack_t a = {.id = "0f0e0d0c-0b0a-4908-8706-050403020100",
                  .by = "alice",
                  .comment = "on it <b>",
                  .created_at = 1700000001 * S,
                  .expires_at = 1700003600 * S,
                  .targets = t,
                  .ntargets = 2};
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_rec_ack(&b, &a);
    tn_ack_t out;
    assert_int_equal(tn_rec_ack_decode(b.data, b.len, &out), TN_OK);
    assert_string_equal(out.id, a.id);
    assert_string_equal(out.by, "alice");
    assert_string_equal(out.comment, "on it <b>");
    assert_true(out.created_at == a.created_at && out.expires_at == a.expires_at);
    assert_int_equal(out.ntargets, 2);
    assert_true(out.targets[0].fp == UINT64_MAX && out.targets[0].starts_at == t[0].starts_at);
    assert_true(out.targets[1].fp == 3 && out.targets[1].starts_at == 5);
    tn_ack_clear(&out);
    /* Every cut is refused; a flipped byte is refused or decodes to something well formed. */
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(tn_rec_ack_decode(b.data, n, &out), TN_OK);
    char *copy = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        memcpy(copy, b.data, b.len);
        copy[i] = (char)(copy[i] ^ 0xff);
        if (tn_rec_ack_decode(copy, b.len, &out) == TN_OK)
            tn_ack_clear(&out);
    }
    free(copy);
    tn_buf_free(&b);
}

static void test_event_record(void **state)
{
    (void)state;
    tn_label_t l1[2] = {{"alertname", "Disk"}, {"instance", "a<b>"}};
    tn_event_alert_t al[2] = {{7, {l1, 2}, false}, {UINT64_MAX, {NULL, 0}, true}};
    tn_event_t ev = {.kind = TN_EV_NOTIFICATION,
                     .time = 1700000000 * S,
                     .group_key = "{}:{alertname=\"Disk\"}",
                     .receiver = "pager",
                     .integration = "webhook[0]",
                     .outcome = "sent",
                     .attempts = 2,
                     .latency_ms = 12,
                     .step = 1,
                     .extra_json = "\"x\":1",
                     .alerts = al,
                     .nalerts = 2};
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_rec_event(&b, &ev);
    tn_rec_event_t out;
    assert_int_equal(tn_rec_event_decode(b.data, b.len, &out), TN_OK);
    assert_int_equal(out.ev.kind, TN_EV_NOTIFICATION);
    assert_true(out.ev.time == ev.time);
    assert_string_equal(out.ev.receiver, "pager");
    assert_string_equal(out.ev.extra_json, "\"x\":1");
    assert_null(out.ev.by);
    assert_null(out.ev.error);
    assert_int_equal(out.ev.attempts, 2);
    assert_int_equal(out.ev.step, 1);
    assert_int_equal(out.ev.nalerts, 2);
    assert_int_equal(out.ev.alerts[0].labels.n, 2);
    assert_string_equal(out.ev.alerts[0].labels.v[1].value, "a<b>");
    assert_true(out.ev.alerts[1].fingerprint == UINT64_MAX && out.ev.alerts[1].resolved);
    tn_rec_event_clear(&out);
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(tn_rec_event_decode(b.data, n, &out), TN_OK);
    char *copy = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        memcpy(copy, b.data, b.len);
        copy[i] = (char)(copy[i] ^ 0xff);
        if (tn_rec_event_decode(copy, b.len, &out) == TN_OK)
            tn_rec_event_clear(&out);
    }
    free(copy);
    tn_buf_free(&b);
}

static void test_alert_record(void **state)
{
    (void)state;
    tn_alert_t *a = mkalert("Disk", 1000 * S, 2000 * S);
    a->timeout = true;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_rec_alert(&b, a);
    tn_alert_t *out = tn_rec_alert_decode(b.data, b.len);
    assert_non_null(out);
    assert_true(out->fp == a->fp);
    assert_true(out->starts_at == a->starts_at && out->ends_at == a->ends_at &&
                out->updated_at == a->updated_at);
    assert_true(out->timeout);
    /* interned: the same strings are the same pointers */
    assert_ptr_equal(out->generator_url, a->generator_url);
    assert_int_equal(out->nannotations, 1);
    assert_ptr_equal(out->annotations[0].value, a->annotations[0].value);
    tn_alert_unref(out);
    check_damage(&b, 2);
    tn_buf_free(&b);
    tn_alert_unref(a);
    assert_int_equal(tn_intern_count(), 0);
}

/* ---- the gate, with a fake sender and a scripted gate ---- */

typedef struct env {
    tn_time_t now;
    tn_sched_t *sched;
    tn_nflog_t *nflog;
    tn_notifier_t *nt;
    tn_config_t *cfg;
    int sends;
    int flushes_done;
    bool flush_ok;
    /* the gate */
    enum tn_gate_verdict verdict;
    bool async; /* hold the verdict until answered by hand */
    tn_gate_verdict_fn pending;
    void *pending_ctx;
    int acquired, released, cancelled;
    bool logged_at_release; /* the log entry was written before the lease went */
    char last_key[256];
    const uint64_t *peer_firing; /* written into the log before the verdict: a peer's send */
    size_t npeer_firing;
} env_t;

static const char *yaml = "route:\n"
                          "  receiver: r\n"
                          "  group_by: [alertname]\n"
                          "receivers:\n"
                          "  - name: r\n"
                          "    webhook_configs:\n"
                          "      - url: http://127.0.0.1:1/a\n";

static void *fake_start(void *ud, tn_send_t *s, uint64_t timeout_ms, tn_send_done_fn done,
                        void *ctx, char *err, size_t errlen)
{
    (void)s;
    (void)timeout_ms;
    (void)err;
    (void)errlen;
    env_t *e = ud;
    e->sends++;
    tn_send_answer(done, ctx, TN_SEND_DONE, NULL, NULL);
    return e;
}

static void fake_cancel(void *ud, void *h)
{
    (void)ud;
    (void)h;
}

static void *gate_acquire(void *ud, const char *key, tn_duration_t ttl, tn_gate_verdict_fn verdict,
                          void *ctx)
{
    env_t *e = ud;
    assert_true(ttl > 0 && ttl <= 10 * S);
    e->acquired++;
    snprintf(e->last_key, sizeof(e->last_key), "%s", key);
    if (e->peer_firing)
        tn_nflog_log(e->nflog, key, e->peer_firing, e->npeer_firing, NULL, 0, NULL, e->now,
                     e->now + 3600 * S);
    if (e->async) {
        e->pending = verdict;
        e->pending_ctx = ctx;
        return e;
    }
    verdict(ctx, e->verdict);
    return NULL;
}

static void gate_cancel(void *ud, void *h)
{
    env_t *e = ud;
    assert_ptr_equal(h, e);
    e->cancelled++;
    e->pending = NULL;
}

static void gate_release(void *ud, const char *key)
{
    env_t *e = ud;
    e->released++;
    assert_string_equal(key, e->last_key);
    e->logged_at_release = tn_nflog_get(e->nflog, key) != NULL;
}

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof(*e));
    e->now = 1700000000 * S;
    tn_clock_set_fake(&e->now);
    char err[TN_ERRBUF_SIZE];
    e->cfg = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    assert_non_null(e->cfg);
    e->sched = tn_sched_new(NULL);
    e->nflog = tn_nflog_new();
    e->nt = tn_notifier_new(e->sched, e->nflog,
                            (tn_sender_t){.ud = e, .start = fake_start, .cancel = fake_cancel});
    tn_notifier_set_gate(e->nt, (tn_gate_t){.ud = e,
                                            .acquire = gate_acquire,
                                            .cancel = gate_cancel,
                                            .release = gate_release});
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_t *e = *state;
    tn_notifier_free(e->nt);
    tn_nflog_free(e->nflog);
    tn_config_unref(e->cfg);
    tn_sched_free(e->sched);
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    free(e);
    assert_int_equal(tn_intern_count(), 0);
    return 0;
}

static void on_done(void *ud, bool ok)
{
    env_t *e = ud;
    e->flushes_done++;
    e->flush_ok = ok;
}

/* One flush of one firing alert; returns its fingerprint. */
static uint64_t flush_one(env_t *e)
{
    tn_alert_t *a = mkalert("Disk", e->now - 60 * S, e->now + 3600 * S);
    tn_notif_alert_t na = {a, false};
    tn_label_t gl = pair("alertname", "Disk");
    tn_notification_t n = {.receiver = "r",
                           .group_key = "{}:{alertname=\"Disk\"}",
                           .group_labels = {&gl, 1},
                           .alerts = &na,
                           .nalerts = 1,
                           .nfiring = 1,
                           .external_url = "",
                           .now = e->now,
                           .config = e->cfg,
                           .route = e->cfg->route};
    tn_notify_flush(e->nt, &n, 3600 * S, e->now + 10 * S, on_done, e);
    uint64_t fp = a->fp;
    tn_intern_unref(gl.name);
    tn_intern_unref(gl.value);
    tn_alert_unref(a);
    return fp;
}

static void test_gate_own_sends_then_releases(void **state)
{
    env_t *e = *state;
    e->verdict = TN_GATE_OWN;
    flush_one(e);
    assert_int_equal(e->acquired, 1);
    assert_int_equal(e->sends, 1);
    assert_int_equal(e->released, 1);
    assert_true(e->logged_at_release);
    assert_int_equal(e->flushes_done, 1);
    assert_true(e->flush_ok);
    /* Nothing new: the local log answers, the gate is not asked. */
    flush_one(e);
    assert_int_equal(e->acquired, 1);
    assert_int_equal(e->sends, 1);
    assert_int_equal(e->flushes_done, 2);
}

static void test_gate_peer_skips(void **state)
{
    env_t *e = *state;
    e->verdict = TN_GATE_PEER;
    flush_one(e);
    assert_int_equal(e->sends, 0);
    assert_int_equal(e->released, 0);
    assert_int_equal(e->flushes_done, 1);
    assert_false(e->flush_ok); /* resolved alerts wait for the next flush */
    assert_int_equal(tn_nflog_count(e->nflog), 0);
}

static void test_gate_own_but_peer_already_sent(void **state)
{
    env_t *e = *state;
    /* The shared entry that comes with the lease says this alert was sent: dedup again. */
    tn_alert_t *a = mkalert("Disk", 0, 0);
    uint64_t fp = a->fp;
    tn_alert_unref(a);
    e->peer_firing = &fp;
    e->npeer_firing = 1;
    e->verdict = TN_GATE_OWN;
    flush_one(e);
    assert_int_equal(e->acquired, 1);
    assert_int_equal(e->sends, 0);
    assert_int_equal(e->released, 1);
    assert_true(e->flush_ok);
}

static void test_gate_open_sends_without_release(void **state)
{
    env_t *e = *state;
    e->verdict = TN_GATE_OPEN;
    flush_one(e);
    assert_int_equal(e->sends, 1);
    assert_int_equal(e->released, 0);
    assert_true(e->flush_ok);
    assert_int_equal(tn_nflog_count(e->nflog), 1);
}

static void test_gate_async_then_cancelled(void **state)
{
    env_t *e = *state;
    e->async = true;
    flush_one(e);
    assert_non_null(e->pending);
    assert_int_equal(e->flushes_done, 0);
    tn_notifier_cancel_all(e->nt);
    assert_int_equal(e->cancelled, 1);
    assert_int_equal(e->flushes_done, 1);
    assert_false(e->flush_ok);
    assert_int_equal(e->sends, 0);
}

static void test_gate_async_verdict(void **state)
{
    env_t *e = *state;
    e->async = true;
    flush_one(e);
    assert_int_equal(e->flushes_done, 0);
    tn_gate_verdict_fn v = e->pending;
    e->pending = NULL;
    v(e->pending_ctx, TN_GATE_OWN);
    assert_int_equal(e->sends, 1);
    assert_int_equal(e->released, 1);
    assert_int_equal(e->flushes_done, 1);
    assert_true(e->flush_ok);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silence_record),
        cmocka_unit_test(test_nflog_record),
        cmocka_unit_test(test_alert_record),
        cmocka_unit_test(test_ack_record),
        cmocka_unit_test(test_event_record),
        T(test_gate_own_sends_then_releases),
        T(test_gate_peer_skips),
        T(test_gate_own_but_peer_already_sent),
        T(test_gate_open_sends_without_release),
        T(test_gate_async_then_cancelled),
        T(test_gate_async_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
