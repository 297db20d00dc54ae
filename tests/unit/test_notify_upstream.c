/* Alertmanager's notification pipeline tables (notify/notify_test.go, notify/mute_test.go), run
 * through tocsin's interfaces: tn_notify_needs_update for the dedup decision, tn_notify_flush with
 * a fake sender and a real notification log for the dedup, retry and set-notifies stages (which
 * tocsin runs as one job per integration, not as chained stages), and tn_muter_mute for the mute
 * stages. Each test is named after the upstream test it ports.
 *
 * Not ported: the stage plumbing errors ("group key missing", "repeat interval missing", a log
 * query error, "result size"), which tocsin's typed interfaces cannot produce, and the
 * ReceiverData tests (TestReceiverData_*, TestDedupStageExtractsReceiverData_*, the store half of
 * TestNflogStore_NoLeakBetweenNotificationSequences): tocsin's log keeps no per-receiver data. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/inhibit.h"
#include "tocsin/metrics.h"
#include "tocsin/mute.h"
#include "tocsin/notify.h"
#include "tocsin/silence.h"
#include "tocsin/timefmt.h"
#include "tocsin/timeinterval.h"

#define S   TN_NS_PER_SEC
#define MIN (60 * S)
#define HR  (60 * MIN)

static const char *yaml = "route:\n"
                          "  receiver: r\n"
                          "  group_by: [alertname]\n"
                          "receivers:\n"
                          "  - name: r\n"
                          "    webhook_configs:\n"
                          "      - url: http://127.0.0.1:1/a\n"
                          "  - name: noresolved\n"
                          "    webhook_configs:\n"
                          "      - url: http://127.0.0.1:1/b\n"
                          "        send_resolved: false\n"
                          "  - name: other\n"
                          "    webhook_configs:\n"
                          "      - url: http://127.0.0.1:1/c\n";

#define GROUP_KEY "{}:{alertname=\"test\"}"

typedef struct call {
    const char *receiver;
    size_t nalerts, nfiring;
    char reason[40];
} call_t;

typedef struct env {
    tn_time_t now;
    tn_sched_t *sched;
    tn_nflog_t *nflog;
    tn_notifier_t *nt;
    tn_config_t *cfg;
    call_t calls[32];
    size_t ncalls;
    /* Scripted answers, one per attempt; past the end every attempt succeeds. */
    struct {
        enum tn_send_result r;
        const char *reason;
    } answers[8];
    size_t nanswers;
    bool cancel_in_start; /* the attempt cancels everything, then answers "retry" */
    int flushes_done;
    bool flush_ok;
} env_t;

static void *fake_start(void *ud, tn_send_t *s_, uint64_t timeout_ms, tn_send_done_fn done,
                        void *ctx, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s_->ic;
    const tn_notification_t *n = s_->n;
    (void)ic;
    (void)timeout_ms;
    (void)err;
    (void)errlen;
    env_t *e = ud;
    assert_true(e->ncalls < TN_ARRAY_LEN(e->calls));
    size_t i = e->ncalls++;
    call_t *c = &e->calls[i];
    c->receiver = tn_config_receiver(n->config, n->receiver)->name;
    c->nalerts = n->nalerts;
    c->nfiring = n->nfiring;
    snprintf(c->reason, sizeof(c->reason), "%s", n->reason ? n->reason : "");
    if (e->cancel_in_start) {
        e->cancel_in_start = false;
        tn_notifier_cancel_all(e->nt);
        tn_send_answer(done, ctx, TN_SEND_RETRY, NULL, "request failed: context canceled");
        return c;
    }
    if (i < e->nanswers)
        tn_send_answer(done, ctx, e->answers[i].r, e->answers[i].reason,
                       "fail to deliver notification");
    else
        tn_send_answer(done, ctx, TN_SEND_DONE, NULL, NULL);
    return c;
}

static void fake_cancel(void *ud, void *handle)
{
    (void)ud;
    (void)handle;
}

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof(*e));
    e->now = 1700000000 * S;
    tn_clock_set_fake(&e->now);
    char err[TN_ERRBUF_SIZE];
    e->cfg = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    if (!e->cfg)
        fail_msg("config: %s", err);
    e->sched = tn_sched_new(NULL);
    e->nflog = tn_nflog_new();
    e->nt = tn_notifier_new(e->sched, e->nflog,
                            (tn_sender_t){.ud = e, .start = fake_start, .cancel = fake_cancel});
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

/* "a=1,b=2" into sorted, interned labels. */
static size_t mklabels(const char *spec, tn_label_t *out, size_t max)
{
    char *dup = strdup(spec), *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(dup, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        *eq = 0;
        out[n].name = tn_intern_cstr(tok);
        out[n].value = tn_intern_cstr(eq + 1);
        n++;
    }
    free(dup);
    assert_int_equal(tn_labels_sort(out, n), TN_OK);
    return n;
}

/* An alert with labels `spec`; ends_at relative to e->now (<= 0: resolved). */
static tn_alert_t *mkalert(env_t *e, const char *spec, tn_duration_t ends_in)
{
    tn_label_t l[8];
    size_t n = mklabels(spec, l, 8);
    tn_alert_t *a = tn_alert_new(l, n, NULL, 0, NULL);
    a->starts_at = e->now - HR;
    a->ends_at = e->now + ends_in;
    a->updated_at = e->now;
    return a;
}

static void on_flush_done(void *ud, bool ok)
{
    env_t *e = ud;
    e->flushes_done++;
    e->flush_ok = ok;
}

/* Runs one flush of `alerts` to `receiver` at `now` and drives time until it is done. */
static void flush_at(env_t *e, const char *receiver, tn_alert_t **alerts, size_t n,
                     tn_duration_t repeat, tn_time_t now)
{
    tn_notif_alert_t na[8];
    size_t nfiring = 0;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        na[i] = (tn_notif_alert_t){alerts[i], tn_alert_resolved_at(alerts[i], now)};
        nfiring += !na[i].resolved;
    }
    tn_notif_alerts_sort(na, n);
    tn_label_t gl = {tn_intern_cstr("alertname"), tn_intern_cstr("test")};
    tn_notification_t notif = {
        .receiver = receiver,
        .group_key = GROUP_KEY,
        .group_labels = {&gl, 1},
        .alerts = na,
        .nalerts = n,
        .nfiring = nfiring,
        .external_url = "",
        .now = now,
        .config = e->cfg,
        .route = e->cfg->route,
    };
    int before = e->flushes_done;
    tn_notify_flush(e->nt, &notif, repeat, now + 10 * S, on_flush_done, e);
    tn_intern_unref(gl.name);
    tn_intern_unref(gl.value);
    /* Retries are timer entries: fire them in order until the flush ends. */
    while (e->flushes_done == before) {
        tn_time_t next = tn_sched_next(e->sched);
        assert_true(next != INT64_MAX);
        e->now = TN_MAX(e->now, next);
        tn_sched_run_until(e->sched, e->now);
    }
}

static void flush(env_t *e, const char *receiver, tn_alert_t **alerts, size_t n,
                  tn_duration_t repeat)
{
    flush_at(e, receiver, alerts, n, repeat, e->now);
}

static void unref_all(tn_alert_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tn_alert_unref(v[i]);
}

static char *key_of(const char *receiver)
{
    return tn_nflog_key(GROUP_KEY, receiver, "webhook", 0);
}

static double counter(const char *name, const char *labels, const char *v1, const char *v2)
{
    tn_metric_t *m = tn_metric_counter(name, "", labels);
    return tn_metric_value(tn_metric_with(m, v1, v2, NULL));
}

static double failed_total(const char *reason)
{
    return counter("alertmanager_notifications_failed_total", "integration,reason", "webhook",
                   reason);
}

static double suppressed(const char *reason)
{
    return counter("alertmanager_notifications_suppressed_total", "reason", reason, NULL);
}

/* ---- dedup ---- */

static void TestDedupStageNeedsUpdate(void **state)
{
    (void)state;
    const tn_time_t now = 1700000000 * S;
    /* ts: the entry's timestamp relative to now; ZERO_TS: the zero time (Unix epoch). */
    enum { MAX_H = 3 };
    const tn_time_t ZERO_TS = INT64_MIN;
    static const struct {
        bool has_entry;
        uint64_t e_firing[MAX_H], e_resolved[MAX_H];
        size_t ne_firing, ne_resolved;
        tn_time_t ts;
        uint64_t firing[MAX_H], resolved[MAX_H];
        size_t nfiring, nresolved;
        tn_duration_t repeat;
        bool resolve;
        bool res;
    } cases[] = {
        /* No matching nflog entry should update. */
        {.has_entry = false, .firing = {2, 3, 4}, .nfiring = 3, .res = true},
        /* No matching nflog entry shouldn't update if no alert fires. */
        {.has_entry = false, .resolved = {2, 3, 4}, .nresolved = 3, .res = false},
        /* Different sets of firing alerts should update. */
        {.has_entry = true,
         .e_firing = {1, 2, 3},
         .ne_firing = 3,
         .firing = {2, 3, 4},
         .nfiring = 3,
         .res = true},
        /* Zero timestamp in the nflog entry should always update. */
        {.has_entry = true,
         .e_firing = {1, 2, 3},
         .ne_firing = 3,
         .ts = INT64_MIN,
         .firing = {1, 2, 3},
         .nfiring = 3,
         .res = true},
        /* Identical sets of alerts shouldn't update before repeat_interval. */
        {.has_entry = true,
         .e_firing = {1, 2, 3},
         .ne_firing = 3,
         .ts = -9 * MIN,
         .repeat = 10 * MIN,
         .firing = {1, 2, 3},
         .nfiring = 3,
         .res = false},
        /* Identical sets of alerts should update after repeat_interval. */
        {.has_entry = true,
         .e_firing = {1, 2, 3},
         .ne_firing = 3,
         .ts = -11 * MIN,
         .repeat = 10 * MIN,
         .firing = {1, 2, 3},
         .nfiring = 3,
         .res = true},
        /* Different sets of resolved alerts without firing alerts shouldn't update after
         * repeat_interval. */
        {.has_entry = true,
         .e_resolved = {1, 2, 3},
         .ne_resolved = 3,
         .ts = -11 * MIN,
         .repeat = 10 * MIN,
         .resolved = {3, 4, 5},
         .nresolved = 3,
         .resolve = true,
         .res = false},
        /* Different sets of resolved alerts shouldn't update when resolve is false. */
        {.has_entry = true,
         .e_firing = {1, 2},
         .ne_firing = 2,
         .e_resolved = {3},
         .ne_resolved = 1,
         .ts = -9 * MIN,
         .repeat = 10 * MIN,
         .firing = {1},
         .nfiring = 1,
         .resolved = {2, 3},
         .nresolved = 2,
         .resolve = false,
         .res = false},
        /* Different sets of resolved alerts should update when resolve is true. */
        {.has_entry = true,
         .e_firing = {1, 2},
         .ne_firing = 2,
         .e_resolved = {3},
         .ne_resolved = 1,
         .ts = -9 * MIN,
         .repeat = 10 * MIN,
         .firing = {1},
         .nfiring = 1,
         .resolved = {2, 3},
         .nresolved = 2,
         .resolve = true,
         .res = true},
        /* Empty set of firing alerts should update when resolve is false. */
        {.has_entry = true,
         .e_firing = {1, 2},
         .ne_firing = 2,
         .e_resolved = {3},
         .ne_resolved = 1,
         .ts = -9 * MIN,
         .repeat = 10 * MIN,
         .resolved = {1, 2, 3},
         .nresolved = 3,
         .resolve = false,
         .res = true},
        /* Empty set of firing alerts should update when resolve is true. */
        {.has_entry = true,
         .e_firing = {1, 2},
         .ne_firing = 2,
         .e_resolved = {3},
         .ne_resolved = 1,
         .ts = -9 * MIN,
         .repeat = 10 * MIN,
         .resolved = {1, 2, 3},
         .nresolved = 3,
         .resolve = true,
         .res = true},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        uint64_t ef[MAX_H], er[MAX_H];
        memcpy(ef, cases[i].e_firing, sizeof(ef));
        memcpy(er, cases[i].e_resolved, sizeof(er));
        tn_nflog_entry_t entry = {
            .key = "k",
            .timestamp = cases[i].ts == ZERO_TS ? 0 : now + cases[i].ts,
            .firing = ef,
            .nfiring = cases[i].ne_firing,
            .resolved = er,
            .nresolved = cases[i].ne_resolved,
        };
        enum tn_notify_reason r = tn_notify_needs_update(
            cases[i].has_entry ? &entry : NULL, cases[i].firing, cases[i].nfiring,
            cases[i].resolved, cases[i].nresolved, cases[i].resolve, cases[i].repeat, now);
        if ((r != TN_REASON_NONE) != cases[i].res)
            fail_msg("case %zu: reason %d, want notify=%d", i, (int)r, cases[i].res);
    }
}

/* The decision uses the flush's time, not the clock when the stage runs. */
static void TestDedupStageUsesContextNow(void **state)
{
    env_t *e = *state;
    tn_time_t base = e->now;
    tn_alert_t *a = mkalert(e, "alertname=test", 2 * HR);
    char *key = key_of("r");
    tn_nflog_log(e->nflog, key, &a->fp, 1, NULL, 0, NULL, base, base + 2 * 30 * MIN);
    e->now = base + HR;
    flush_at(e, "r", &a, 1, 30 * MIN, base + 10 * MIN);
    assert_int_equal(e->ncalls, 0);
    assert_true(e->flush_ok);
    free(key);
    tn_alert_unref(a);
}

static void TestDedupStage(void **state)
{
    env_t *e = *state;
    tn_alert_t *as[3] = {mkalert(e, "alertname=test,i=0", HR), mkalert(e, "alertname=test,i=1", HR),
                         mkalert(e, "alertname=test,i=2", HR)};
    uint64_t fps[3] = {as[0]->fp, as[1]->fp, as[2]->fp};
    char *key = key_of("r");

    /* No entry: all alerts go out as the first notification. */
    flush(e, "r", as, 3, HR);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(e->calls[0].nalerts, 3);
    assert_string_equal(e->calls[0].reason, "first notification");

    /* The same alerts logged just now: nothing to send. */
    tn_nflog_log(e->nflog, key, fps, 3, NULL, 0, NULL, e->now, e->now + 2 * HR);
    flush(e, "r", as, 3, HR);
    assert_int_equal(e->ncalls, 1);
    assert_true(e->flush_ok);

    /* The log knew other alerts: all input alerts go out. */
    uint64_t other[4] = {fps[1], fps[2], 3, 4};
    tn_nflog_log(e->nflog, key, other, 4, NULL, 0, NULL, e->now, e->now + 2 * HR);
    flush(e, "r", as, 3, HR);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(e->calls[1].nalerts, 3);
    assert_string_equal(e->calls[1].reason, "new alerts added");
    free(key);
    unref_all(as, 3);
}

/* The reason half of TestNflogStore_NoLeakBetweenNotificationSequences: after a resolution was
 * logged, the alert firing again is a first notification. */
static void TestNflogStore_NoLeakBetweenNotificationSequences(void **state)
{
    env_t *e = *state;
    tn_alert_t *a = mkalert(e, "alertname=test", HR);
    char *key = key_of("r");
    flush(e, "r", &a, 1, HR);
    assert_int_equal(e->ncalls, 1);
    assert_string_equal(e->calls[0].reason, "first notification");
    tn_nflog_log(e->nflog, key, NULL, 0, &a->fp, 1, NULL, e->now, e->now + 2 * HR);
    flush(e, "r", &a, 1, HR);
    assert_int_equal(e->ncalls, 2);
    assert_string_equal(e->calls[1].reason, "first notification");
    free(key);
    tn_alert_unref(a);
}

/* ---- stages in sequence, routing by receiver ---- */

/* Each stage sees what the previous one left: an alert the mute stage drops reaches neither the
 * dedup decision nor the sender. */
static bool mute_second(void *ud, const tn_notification_t *n, bool *keep)
{
    (void)ud;
    assert_int_equal(n->nalerts, 2);
    keep[1] = false;
    return true;
}

static void TestMultiStage(void **state)
{
    env_t *e = *state;
    tn_alert_t *as[2] = {mkalert(e, "alertname=test,i=0", HR),
                         mkalert(e, "alertname=test,i=1", HR)};
    tn_notifier_set_muter(e->nt, mute_second, NULL);
    flush(e, "r", as, 2, HR);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(e->calls[0].nalerts, 1);
    /* The log records only what passed the earlier stages. */
    char *key = key_of("r");
    const tn_nflog_entry_t *en = tn_nflog_get(e->nflog, key);
    assert_non_null(en);
    assert_int_equal(en->nfiring, 1);
    free(key);
    unref_all(as, 2);
}

/* A failing stage fails the whole pipeline: the flush reports failure. */
static void TestMultiStageFailure(void **state)
{
    env_t *e = *state;
    tn_alert_t *a = mkalert(e, "alertname=test", HR);
    e->answers[0].r = TN_SEND_FAIL;
    e->answers[0].reason = "other";
    e->nanswers = 1;
    flush(e, "r", &a, 1, HR);
    assert_int_equal(e->flushes_done, 1);
    assert_false(e->flush_ok);
    tn_alert_unref(a);
}

/* The receiver named by the notification picks the integrations that run. */
static void TestRoutingStage(void **state)
{
    env_t *e = *state;
    tn_alert_t *a = mkalert(e, "alertname=test", HR);
    flush(e, "other", &a, 1, HR);
    assert_int_equal(e->ncalls, 1);
    assert_string_equal(e->calls[0].receiver, "other");
    assert_true(e->flush_ok);
    tn_alert_unref(a);
}

/* ---- retry ---- */

static void TestRetryStageWithError(void **state)
{
    env_t *e = *state;
    tn_alert_t *a = mkalert(e, "alertname=test", HR);
    /* A recoverable error is retried and then succeeds. */
    e->answers[0].r = TN_SEND_RETRY;
    e->answers[0].reason = "serverError";
    e->nanswers = 1;
    flush(e, "r", &a, 1, HR);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(e->calls[1].nalerts, 1);
    assert_true(e->flush_ok);

    /* An unrecoverable error fails at once. Fresh alert set, so dedup lets it through. */
    tn_alert_t *b = mkalert(e, "alertname=test,i=2", HR);
    e->answers[2].r = TN_SEND_FAIL;
    e->answers[2].reason = "clientError";
    e->nanswers = 3;
    flush(e, "r", &b, 1, HR);
    assert_int_equal(e->ncalls, 3);
    assert_false(e->flush_ok);
    tn_alert_unref(a);
    tn_alert_unref(b);
}

static void TestRetryStageWithErrorCode(void **state)
{
    (void)state;
    static const struct {
        const char *name, *reason, *label;
    } cases[] = {
        {"for clientError", "clientError", "clientError"},
        {"for serverError", "serverError", "serverError"},
        {"for unexpected code", NULL, "other"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        void *st;
        setup(&st);
        env_t *e = st;
        tn_alert_t *a = mkalert(e, "alertname=test", HR);
        e->answers[0].r = TN_SEND_FAIL;
        e->answers[0].reason = cases[i].reason;
        e->nanswers = 1;
        flush(e, "r", &a, 1, HR);
        assert_false(e->flush_ok);
        if (failed_total(cases[i].label) != 1)
            fail_msg("%s: failed_total{%s} = %g", cases[i].name, cases[i].label,
                     failed_total(cases[i].label));
        tn_alert_unref(a);
        teardown(&st);
    }
}

/* The attempt's context is cancelled while it runs: counted as contextCanceled, not retried. */
static void TestRetryStageWithContextCanceled(void **state)
{
    env_t *e = *state;
    tn_alert_t *a = mkalert(e, "alertname=test", HR);
    e->cancel_in_start = true;
    flush(e, "r", &a, 1, HR);
    assert_int_equal(e->ncalls, 1);
    assert_false(e->flush_ok);
    assert_true(failed_total("contextCanceled") == 1);
    assert_int_equal(tn_sched_pending(e->sched), 0);
    tn_alert_unref(a);
}

static void TestRetryStageNoResolved(void **state)
{
    env_t *e = *state;
    tn_alert_t *as[2] = {mkalert(e, "alertname=test,i=0", -HR),
                         mkalert(e, "alertname=test,i=1", HR)};
    flush(e, "noresolved", as, 2, HR);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(e->calls[0].nalerts, 1);
    assert_int_equal(e->calls[0].nfiring, 1);
    assert_true(e->flush_ok);

    /* All alerts resolved: nothing is sent, the flush still succeeds and is logged. */
    tn_alert_t *r1 = mkalert(e, "alertname=test,i=1", -HR);
    tn_alert_unref(as[1]);
    as[1] = r1;
    flush(e, "noresolved", as, 2, HR);
    assert_int_equal(e->ncalls, 1);
    assert_true(e->flush_ok);
    char *key = key_of("noresolved");
    const tn_nflog_entry_t *en = tn_nflog_get(e->nflog, key);
    assert_non_null(en);
    assert_int_equal(en->nfiring, 0);
    assert_int_equal(en->nresolved, 2);
    free(key);
    unref_all(as, 2);
}

static void TestRetryStageSendResolved(void **state)
{
    env_t *e = *state;
    tn_alert_t *as[2] = {mkalert(e, "alertname=test,i=0", -HR),
                         mkalert(e, "alertname=test,i=1", HR)};
    flush(e, "r", as, 2, HR);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(e->calls[0].nalerts, 2);

    /* All alerts resolved: all are sent. */
    tn_alert_t *r1 = mkalert(e, "alertname=test,i=1", -HR);
    tn_alert_unref(as[1]);
    as[1] = r1;
    flush(e, "r", as, 2, HR);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(e->calls[1].nalerts, 2);
    assert_int_equal(e->calls[1].nfiring, 0);
    assert_true(e->flush_ok);
    unref_all(as, 2);
}

/* ---- set notifies: what a successful send writes into the log ---- */

static void TestSetNotifiesStage(void **state)
{
    env_t *e = *state;
    tn_alert_t *as[3] = {mkalert(e, "alertname=test,i=0", HR), mkalert(e, "alertname=test,i=1", HR),
                         mkalert(e, "alertname=test,i=2", HR)};
    char *key = key_of("r");
    flush(e, "r", as, 3, HR);
    const tn_nflog_entry_t *en = tn_nflog_get(e->nflog, key);
    assert_non_null(en);
    assert_int_equal(en->nfiring, 3);
    assert_int_equal(en->nresolved, 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(tn_nflog_is_subset(&as[i]->fp, 1, en->firing, en->nfiring));
    assert_int_equal(en->expires_at - en->timestamp, 2 * HR);

    for (size_t i = 0; i < 3; i++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "alertname=test,i=%zu", i);
        tn_alert_unref(as[i]);
        as[i] = mkalert(e, spec, 0);
    }
    flush(e, "r", as, 3, HR);
    en = tn_nflog_get(e->nflog, key);
    assert_non_null(en);
    assert_int_equal(en->nfiring, 0);
    assert_int_equal(en->nresolved, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(tn_nflog_is_subset(&as[i]->fp, 1, en->resolved, en->nresolved));
    assert_int_equal(en->expires_at - en->timestamp, 2 * HR);
    free(key);
    unref_all(as, 3);
}

/* ---- mute stages ---- */

static const char *const mute_in[] = {
    "", "test=set", "mute=me", "foo=bar,test=set", "foo=bar,mute=me", "", "not=muted"};

/* Runs the muter over mute_in; writes which ones were kept. */
static bool mute_run(env_t *e, tn_muter_t *m, bool keep[7])
{
    tn_alert_t *as[7];
    tn_notif_alert_t na[7];
    for (size_t i = 0; i < 7; i++) {
        tn_label_t l[4];
        size_t n = mute_in[i][0] ? mklabels(mute_in[i], l, 4) : 0;
        as[i] = tn_alert_new(l, n, NULL, 0, NULL);
        as[i]->starts_at = e->now - HR;
        as[i]->ends_at = e->now + HR;
        na[i] = (tn_notif_alert_t){as[i], false};
        keep[i] = true;
    }
    tn_notification_t n = {.receiver = "r",
                           .group_key = GROUP_KEY,
                           .alerts = na,
                           .nalerts = 7,
                           .nfiring = 7,
                           .now = e->now,
                           .config = e->cfg,
                           .route = e->cfg->route};
    bool any = tn_muter_mute(m, &n, keep);
    unref_all(as, 7);
    return any;
}

static void check_kept(const bool keep[7], bool all)
{
    for (size_t i = 0; i < 7; i++) {
        bool want = all || strstr(mute_in[i], "mute=") == NULL;
        if (keep[i] != want)
            fail_msg("{%s}: kept %d, want %d", mute_in[i], keep[i], want);
    }
}

/* The upstream test mutes with a function ("has a mute label"); tocsin's muter takes inhibitors
 * and silences, so the same rule is an inhibit rule whose source alert always fires. */
static void TestMuteStage(void **state)
{
    env_t *e = *state;
    static const char yml[] = "route: {receiver: r}\n"
                              "receivers: [{name: r}]\n"
                              "inhibit_rules:\n"
                              "  - source_matchers: [source=\"yes\"]\n"
                              "    target_matchers: ['mute=~\".+\"']\n";
    char err[TN_ERRBUF_SIZE];
    tn_config_t *cfg = tn_config_load_string("test.yml", yml, strlen(yml), err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    tn_alert_store_t *store = tn_alert_store_new();
    tn_inhibitor_t *inh = tn_inhibitor_new(store);
    tn_alert_store_set_listener(store, tn_inhibitor_on_alert, inh);
    tn_inhibitor_set_config(inh, cfg);
    assert_int_equal(tn_alert_store_put(store, mkalert(e, "source=yes", HR)), TN_OK);
    tn_muter_t *m = tn_muter_new(inh, NULL);
    bool keep[7];
    assert_true(mute_run(e, m, keep));
    check_kept(keep, false);
    assert_true(suppressed("inhibition") == 2);
    tn_muter_free(m);
    tn_inhibitor_free(inh);
    tn_alert_store_free(store);
    tn_config_unref(cfg);
}

static void TestMuteStageWithSilences(void **state)
{
    env_t *e = *state;
    tn_silences_t *sil = tn_silences_new();
    tn_silence_t in = {.starts_at = e->now, .ends_at = e->now + HR};
    char err[TN_ERRBUF_SIZE], id[37];
    assert_int_equal(tn_matchers_parse("mute=me", &in.matchers, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_set(sil, &in, e->now, id, err, sizeof(err)), TN_OK);
    tn_matchers_free(&in.matchers);
    tn_muter_t *m = tn_muter_new(NULL, sil);
    bool keep[7];

    assert_true(mute_run(e, m, keep));
    check_kept(keep, false);
    assert_true(suppressed("silence") == 2);
    /* Again: the same alerts are silenced, and counted again. */
    assert_true(mute_run(e, m, keep));
    check_kept(keep, false);
    assert_true(suppressed("silence") == 4);
    /* Expired: nothing is silenced. */
    e->now += S;
    assert_int_equal(tn_silences_expire(sil, id, e->now, err, sizeof(err)), TN_OK);
    e->now += S;
    assert_true(mute_run(e, m, keep));
    check_kept(keep, true);
    assert_true(suppressed("silence") == 4);
    tn_muter_free(m);
    tn_silences_free(sil);
}

/* Route r mutes (or is active) by the intervals named in `attr`. */
static tn_config_t *time_config(const char *attr)
{
    char *yml = tn_xasprintf("route:\n"
                             "  receiver: r\n"
                             "  routes:\n"
                             "    - receiver: r\n"
                             "      %s\n"
                             "receivers: [{name: r}]\n"
                             "time_intervals:\n"
                             "  - name: evenings\n"
                             "    time_intervals:\n"
                             "      - times: [{start_time: '00:00', end_time: '09:00'},\n"
                             "                {start_time: '17:00', end_time: '24:00'}]\n"
                             "        location: Australia/Sydney\n"
                             "  - name: weekends\n"
                             "    time_intervals:\n"
                             "      - weekdays: [saturday, sunday]\n"
                             "        location: Australia/Sydney\n"
                             "  - name: weekdays\n"
                             "    time_intervals:\n"
                             "      - weekdays: ['monday:friday']\n"
                             "        times: [{start_time: '09:00', end_time: '17:00'}]\n"
                             "        location: Australia/Sydney\n",
                             attr);
    char err[TN_ERRBUF_SIZE];
    tn_config_t *c = tn_config_load_string("test.yml", yml, strlen(yml), err, sizeof(err));
    free(yml);
    if (!c)
        fail_msg("config: %s", err);
    return c;
}

typedef struct time_case {
    const char *name;
    const char *at;       /* UTC instant */
    const char *muted_by; /* first interval that mutes, or NULL */
} time_case_t;

static tn_time_t utc(const char *iso)
{
    tn_time_t t = 0;
    assert_int_equal(tn_time_parse_rfc3339(iso, strlen(iso), &t), TN_OK);
    return t;
}

static void run_time_cases(env_t *e, const char *attr, const time_case_t *cases, size_t ncases,
                           const char *reason, const char *other_reason)
{
    for (size_t i = 0; i < ncases; i++) {
        tn_config_t *c = time_config(attr);
        tn_muter_t *m = tn_muter_new(NULL, NULL);
        tn_alert_t *a = mkalert(e, "foo=bar", HR);
        tn_notif_alert_t na = {a, false};
        bool keep = true;
        tn_notification_t n = {.receiver = "r",
                               .group_key = GROUP_KEY,
                               .alerts = &na,
                               .nalerts = 1,
                               .nfiring = 1,
                               .now = utc(cases[i].at),
                               .config = c,
                               .route = c->route->children[0]};
        double before = suppressed(reason), before_other = suppressed(other_reason);
        bool sent = tn_muter_mute(m, &n, &keep) && keep;
        if (sent != (cases[i].muted_by == NULL))
            fail_msg("%s: sent %d", cases[i].name, sent);
        assert_true(suppressed(reason) - before == (cases[i].muted_by ? 1 : 0));
        assert_true(suppressed(other_reason) == before_other);
        /* tocsin names the first interval that mutes; Alertmanager's group marker lists all of
         * them (evenings and weekends on a Saturday evening). */
        const char *why = NULL;
        bool muted = tn_route_time_muted(c, n.route, n.now, &why);
        assert_int_equal(muted, cases[i].muted_by != NULL);
        if (muted)
            assert_string_equal(why, cases[i].muted_by);
        tn_alert_unref(a);
        tn_muter_free(m);
        tn_config_unref(c);
    }
}

/* Times are the upstream cases' instants: Sydney is UTC+11 in January. */
static void TestTimeMuteStage(void **state)
{
    static const time_case_t cases[] = {
        {"Should be muted outside working hours", "2023-12-31T13:00:00Z", "evenings"},
        {"Should not be muted during workings hours", "2023-12-31T22:00:00Z", NULL},
        {"Should be muted during weekends", "2024-01-05T23:00:00Z", "weekends"},
        {"Should be muted at 12pm UTC on a weekday", "2024-01-01T10:00:00Z", "evenings"},
        {"Should be muted at 12pm UTC on a weekend", "2024-01-06T10:00:00Z", "evenings"},
    };
    run_time_cases(*state, "mute_time_intervals: [evenings, weekends]", cases, TN_ARRAY_LEN(cases),
                   "mute_time_interval", "active_time_interval");
}

static void TestTimeActiveStage(void **state)
{
    static const time_case_t cases[] = {
        {"Should be muted outside working hours", "2023-12-31T13:00:00Z", "weekdays"},
        {"Should not be muted during workings hours", "2023-12-31T22:00:00Z", NULL},
        {"Should be muted during weekends", "2024-01-05T23:00:00Z", "weekdays"},
        {"Should be muted at 12pm UTC", "2024-01-06T10:00:00Z", "weekdays"},
    };
    run_time_cases(*state, "active_time_intervals: [weekdays]", cases, TN_ARRAY_LEN(cases),
                   "active_time_interval", "mute_time_interval");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TestDedupStageNeedsUpdate),
        T(TestDedupStageUsesContextNow),
        T(TestDedupStage),
        T(TestNflogStore_NoLeakBetweenNotificationSequences),
        T(TestMultiStage),
        T(TestMultiStageFailure),
        T(TestRoutingStage),
        T(TestRetryStageWithError),
        cmocka_unit_test(TestRetryStageWithErrorCode),
        T(TestRetryStageWithContextCanceled),
        T(TestRetryStageNoResolved),
        T(TestRetryStageSendResolved),
        T(TestSetNotifiesStage),
        T(TestMuteStage),
        T(TestMuteStageWithSilences),
        T(TestTimeMuteStage),
        T(TestTimeActiveStage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
