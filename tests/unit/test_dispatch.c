/* Dispatcher + notify pipeline timing with a driven clock and a fake sender. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/dispatch.h"
#include "tocsin/metrics.h"

#define S   TN_NS_PER_SEC
#define MIN (60 * S)

typedef struct call {
    void *ctx;
    tn_send_done_fn done;
    unsigned integration; /* index among the receiver's integrations */
    char receiver[32];
    size_t nalerts, nfiring;
    char first_alertname[64];
    char group_labels[128]; /* Go's LabelSet.String() of the group labels */
    char alerts[256];       /* each alert's "c" label, then "+" if firing or "-" if resolved */
    tn_time_t at;
    bool pending;
} call_t;

typedef struct env {
    tn_time_t now;
    tn_sched_t *sched;
    tn_alert_store_t *store;
    tn_nflog_t *nflog;
    tn_notifier_t *nt;
    tn_dispatch_t *d;
    tn_config_t *cfg;
    call_t calls[256];
    size_t ncalls;
    enum tn_send_result auto_result; /* answer at once unless TN_SEND_RETRY + hold */
    bool hold;                       /* leave calls pending for the test to finish */
    bool cancel_in_start;            /* next start cancels everything, then returns */
    size_t ncancels;
    bool acked; /* every alert counts as acknowledged */
} env_t;

static env_t *E;

static void *fake_start(void *ud, tn_send_t *s_, uint64_t timeout_ms, tn_send_done_fn done,
                        void *ctx, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = s_->ic;
    const tn_notification_t *n = s_->n;
    (void)timeout_ms;
    (void)err;
    (void)errlen;
    env_t *e = ud;
    assert_true(e->ncalls < 256);
    call_t *c = &e->calls[e->ncalls++];
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->done = done;
    c->nalerts = n->nalerts;
    c->nfiring = n->nfiring;
    const tn_receiver_cfg_t *r = tn_config_receiver(n->config, n->receiver);
    c->integration = (unsigned)(ic - r->integrations);
    snprintf(c->receiver, sizeof(c->receiver), "%s", n->receiver);
    if (n->nalerts)
        snprintf(c->first_alertname, sizeof(c->first_alertname), "%s",
                 tn_alert_name(n->alerts[0].alert));
    c->at = e->now;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_format(&b, n->group_labels);
    tn_buf_cstr(&b);
    snprintf(c->group_labels, sizeof(c->group_labels), "%s", b.data);
    tn_buf_free(&b);
    for (size_t i = 0; i < n->nalerts; i++) {
        const char *v = tn_labels_get(tn_alert_labels(n->alerts[i].alert), "c");
        size_t len = strlen(c->alerts);
        snprintf(c->alerts + len, sizeof(c->alerts) - len, "%s%s", v ? v : "?",
                 n->alerts[i].alert->ends_at <= n->now ? "-" : "+");
    }
    c->pending = true;
    if (e->cancel_in_start) {
        e->cancel_in_start = false;
        tn_notifier_cancel_all(e->nt);
        return c;
    }
    if (!e->hold) {
        c->pending = false;
        tn_send_answer(done, ctx, e->auto_result,
                       e->auto_result == TN_SEND_DONE ? NULL : "serverError",
                       e->auto_result == TN_SEND_DONE ? NULL : "boom");
    }
    return c;
}

static void fake_cancel(void *ud, void *handle)
{
    ((env_t *)ud)->ncancels++;
    ((call_t *)handle)->pending = false;
}

static double failed_total(const char *reason)
{
    tn_metric_t *m =
        tn_metric_counter("alertmanager_notifications_failed_total", "", "integration,reason");
    return tn_metric_value(tn_metric_with(m, "webhook", reason, NULL));
}

static const char *yaml = "route:\n"
                          "  receiver: r\n"
                          "  group_by: [alertname]\n"
                          "  group_wait: 30s\n"
                          "  group_interval: 5m\n"
                          "  repeat_interval: 4h\n"
                          "receivers:\n"
                          "  - name: r\n"
                          "    webhook_configs:\n"
                          "      - url: http://127.0.0.1:1/a\n"
                          "      - url: http://127.0.0.1:1/b\n"
                          "        send_resolved: false\n";

/* Short intervals: a flush (deadline 10 s) outlasts group_interval. */
static const char *yaml_fast = "route:\n"
                               "  receiver: r\n"
                               "  group_by: [alertname]\n"
                               "  group_wait: 1s\n"
                               "  group_interval: 3s\n"
                               "  repeat_interval: 4h\n"
                               "receivers:\n"
                               "  - name: r\n"
                               "    webhook_configs:\n"
                               "      - url: http://127.0.0.1:1/a\n";

/* Escalation steps at 7 and 20 minutes, between the 5-minute flushes. */
static const char *yaml_esc = "route:\n"
                              "  receiver: r\n"
                              "  group_by: [alertname]\n"
                              "  group_wait: 30s\n"
                              "  group_interval: 5m\n"
                              "  repeat_interval: 1h\n"
                              "  escalation:\n"
                              "  - after: 7m\n"
                              "    receiver: pager\n"
                              "  - after: 20m\n"
                              "    receiver: boss\n"
                              "receivers:\n"
                              "  - name: r\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/r\n"
                              "  - name: pager\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/p\n"
                              "  - name: boss\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/b\n"
                              "        send_resolved: false\n";

static bool env_acked(void *ud, const tn_alert_t *a, tn_time_t now)
{
    (void)a;
    (void)now;
    return ((env_t *)ud)->acked;
}

static int setup_with(void **state, const char *conf)
{
    env_t *e = calloc(1, sizeof(*e));
    e->now = 1700000000 * S;
    tn_clock_set_fake(&e->now);
    char err[TN_ERRBUF_SIZE];
    e->cfg = tn_config_load_string("test.yml", conf, strlen(conf), err, sizeof(err));
    if (!e->cfg)
        fail_msg("config: %s", err);
    e->sched = tn_sched_new(NULL);
    e->store = tn_alert_store_new();
    e->nflog = tn_nflog_new();
    e->nt = tn_notifier_new(e->sched, e->nflog,
                            (tn_sender_t){.ud = e, .start = fake_start, .cancel = fake_cancel});
    e->d = tn_dispatch_new(e->sched, e->nt, e->store);
    tn_alert_store_set_listener(e->store, tn_dispatch_on_alert, e->d);
    tn_dispatch_set_config(e->d, e->cfg);
    tn_notifier_set_acked(e->nt, env_acked, e);
    e->auto_result = TN_SEND_DONE;
    E = e;
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, yaml);
}

static int setup_esc(void **state)
{
    return setup_with(state, yaml_esc);
}

static int setup_fast(void **state)
{
    return setup_with(state, yaml_fast);
}

static int teardown(void **state)
{
    env_t *e = *state;
    if (e->d)
        tn_dispatch_stop(e->d);
    tn_notifier_free(e->nt);
    tn_dispatch_free(e->d);
    tn_alert_store_free(e->store);
    tn_nflog_free(e->nflog);
    tn_config_unref(e->cfg);
    tn_sched_free(e->sched);
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    free(e);
    assert_int_equal(tn_intern_count(), 0);
    return 0;
}

static void put(env_t *e, const char *name, const char *inst, tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                      {tn_intern_cstr("instance"), tn_intern_cstr(inst)}};
    tn_alert_t *a = tn_alert_new(l, 2, NULL, 0, NULL);
    a->starts_at = starts;
    a->ends_at = ends ? ends : e->now + 10 * MIN;
    a->timeout = ends == 0;
    a->updated_at = e->now;
    assert_int_equal(tn_alert_store_put(e->store, a), TN_OK);
}

/* Moves the clock forward in 1 s steps, firing what is due. */
static void advance(env_t *e, tn_time_t d)
{
    tn_time_t end = e->now + d;
    while (e->now < end) {
        tn_time_t next = tn_sched_next(e->sched);
        e->now = next <= end ? TN_MAX(next, e->now) : end;
        tn_sched_run_until(e->sched, e->now);
    }
}

static void test_group_wait_interval_repeat(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    assert_int_equal(tn_dispatch_group_count(e->d), 2);
    advance(e, 29 * S);
    assert_int_equal(e->ncalls, 0);
    advance(e, 1 * S);
    /* Two groups x two integrations. */
    assert_int_equal(e->ncalls, 4);
    assert_int_equal(e->calls[0].nalerts, 1);

    /* A second alert joins group A: sent at the next interval, not before. */
    advance(e, 10 * S);
    put(e, "A", "2", e->now, 0);
    advance(e, 4 * MIN);
    assert_int_equal(e->ncalls, 4);
    /* Keep the alerts firing (Prometheus re-sends), then reach the flush. */
    put(e, "A", "1", t0, 0);
    put(e, "A", "2", e->now, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 50 * S);
    assert_int_equal(e->ncalls, 6);
    assert_int_equal(e->calls[4].nalerts, 2);
    assert_string_equal(e->calls[4].first_alertname, "A");

    /* Nothing new: flushes keep happening but nothing is sent until repeat_interval. */
    size_t before = e->ncalls;
    for (int i = 0; i < 47; i++) {
        put(e, "A", "1", t0, 0);
        put(e, "A", "2", t0, 0);
        put(e, "B", "1", t0, 0);
        advance(e, 5 * MIN);
    }
    assert_int_equal(e->ncalls, before); /* 4h have not passed yet for either group */
    put(e, "A", "1", t0, 0);
    put(e, "A", "2", t0, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, before + 2); /* group B, last sent at t0+30s */
    assert_string_equal(e->calls[before].first_alertname, "B");
    put(e, "A", "1", t0, 0);
    put(e, "A", "2", t0, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, before + 4); /* then group A, last sent at t0+5m30s */
}

static size_t calls_to(const env_t *e, const char *receiver)
{
    size_t n = 0;
    for (size_t i = 0; i < e->ncalls; i++)
        n += strcmp(e->calls[i].receiver, receiver) == 0;
    return n;
}

static const call_t *last_to(const env_t *e, const char *receiver)
{
    for (size_t i = e->ncalls; i-- > 0;)
        if (strcmp(e->calls[i].receiver, receiver) == 0)
            return &e->calls[i];
    return NULL;
}

static void keep_firing(env_t *e, tn_time_t t0, tn_time_t d)
{
    /* Prometheus re-sends every minute. */
    for (tn_time_t done = 0; done < d; done += MIN) {
        put(e, "Esc", "1", t0, 0);
        advance(e, TN_MIN(MIN, d - done));
    }
}

static void test_escalation_steps_at_their_time(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put(e, "Esc", "1", t0, 0);
    advance(e, 30 * S);
    assert_int_equal(calls_to(e, "r"), 1);
    /* The first step is due 7 minutes after the first notification, not at a flush. */
    keep_firing(e, t0, 7 * MIN - S);
    assert_int_equal(calls_to(e, "pager"), 0);
    keep_firing(e, t0, S);
    assert_int_equal(calls_to(e, "pager"), 1);
    assert_true(last_to(e, "pager")->at == t0 + 30 * S + 7 * MIN);
    keep_firing(e, t0, 13 * MIN);
    assert_int_equal(calls_to(e, "boss"), 1);
    assert_true(last_to(e, "boss")->at == t0 + 30 * S + 20 * MIN);
    /* Each step repeats on the route's repeat_interval, on its own log entry. */
    keep_firing(e, t0, 50 * MIN);
    assert_int_equal(calls_to(e, "r"), 2);
    assert_int_equal(calls_to(e, "pager"), 2);
    /* Resolved: every paged receiver hears it, where send_resolved allows. */
    size_t boss = calls_to(e, "boss");
    put(e, "Esc", "1", t0, e->now);
    advance(e, 5 * MIN);
    assert_string_equal(last_to(e, "r")->alerts, "?-");
    assert_string_equal(last_to(e, "pager")->alerts, "?-");
    assert_int_equal(calls_to(e, "boss"), boss);
    /* A new episode starts its own timing. */
    tn_time_t t1 = e->now;
    size_t pager = calls_to(e, "pager");
    put(e, "Esc", "1", t1, 0);
    advance(e, 30 * S);
    keep_firing(e, t1, 6 * MIN);
    assert_int_equal(calls_to(e, "pager"), pager);
    keep_firing(e, t1, 2 * MIN);
    assert_int_equal(calls_to(e, "pager"), pager + 1);
}

static void test_ack_holds_repeats_and_escalation(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put(e, "Esc", "1", t0, 0);
    advance(e, 30 * S);
    assert_int_equal(calls_to(e, "r"), 1);
    e->acked = true;
    keep_firing(e, t0, 90 * MIN);
    assert_int_equal(e->ncalls, 1); /* no repeat, no step */
    /* The ack ends: both overdue steps page at the next flush, and repeats come back. */
    e->acked = false;
    keep_firing(e, t0, 5 * MIN);
    assert_int_equal(calls_to(e, "pager"), 1);
    assert_int_equal(calls_to(e, "boss"), 1);
    assert_int_equal(calls_to(e, "r"), 2);
}

static void test_old_alert_flushes_at_once(void **state)
{
    env_t *e = *state;
    put(e, "Old", "1", e->now - 10 * MIN, 0);
    advance(e, 0);
    tn_sched_run_until(e->sched, e->now);
    assert_int_equal(e->ncalls, 2);
}

static void test_resolve_leaves_group(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    /* Resolve it. Integration 0 (send_resolved) gets the resolved notice, 1 does not. */
    put(e, "A", "1", t0, e->now);
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 3);
    assert_int_equal(e->calls[2].integration, 0);
    assert_int_equal(e->calls[2].nfiring, 0);
    assert_int_equal(e->calls[2].nalerts, 1);
    /* Sent, so the group emptied and went away; nothing more is sent. */
    assert_int_equal(tn_dispatch_group_count(e->d), 0);
    advance(e, 5 * 60 * MIN);
    assert_int_equal(e->ncalls, 3);
}

static void test_retry_until_success(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    /* Integration 0 fails with a retryable error; 1 succeeds. */
    e->calls[1].pending = false;
    tn_send_answer(e->calls[1].done, e->calls[1].ctx, TN_SEND_DONE, NULL, NULL);
    e->calls[0].pending = false;
    tn_send_answer(e->calls[0].done, e->calls[0].ctx, TN_SEND_RETRY, "serverError", "status 500");
    advance(e, 2 * S); /* backoff 0.25..0.75 s */
    assert_int_equal(e->ncalls, 3);
    assert_int_equal(e->calls[2].integration, 0);
    e->calls[2].pending = false;
    tn_send_answer(e->calls[2].done, e->calls[2].ctx, TN_SEND_DONE, NULL, NULL);
    /* Both recorded: the next interval sends nothing. */
    e->hold = false;
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 3);
}

static void test_no_retry_on_fail_and_retry_next_flush(void **state)
{
    env_t *e = *state;
    e->auto_result = TN_SEND_FAIL;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    advance(e, 60 * S);
    assert_int_equal(e->ncalls, 2); /* 4xx-like: no retry */
    e->auto_result = TN_SEND_DONE;
    put(e, "A", "1", e->now - 2 * MIN, 0);
    advance(e, 4 * MIN);
    /* Not recorded as sent, so the next flush tries again. */
    assert_int_equal(e->ncalls, 4);
}

static void test_retry_gives_up_at_deadline(void **state)
{
    env_t *e = *state;
    e->auto_result = TN_SEND_RETRY;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    size_t first = e->ncalls;
    advance(e, 4 * MIN + 50 * S);
    /* Retries happened, with growing gaps, but stopped before the flush deadline. */
    assert_true(e->ncalls > first + 4);
    assert_true(e->ncalls < first + 60);
}

static void test_reload_does_not_resend(void **state)
{
    env_t *e = *state;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    char err[TN_ERRBUF_SIZE];
    tn_config_t *c2 = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    assert_non_null(c2);
    tn_dispatch_set_config(e->d, c2);
    tn_config_unref(c2);
    advance(e, 5 * MIN); /* one more interval, the alert still firing */
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
}

/* A reload whose routes differ (repeat_interval): the groups are rebuilt. */
static void reload(env_t *e)
{
    char err[TN_ERRBUF_SIZE];
    char *text = strdup(yaml);
    char *p = strstr(text, "repeat_interval: 4h");
    assert_non_null(p);
    p[17] = '5';
    tn_config_t *c2 = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    free(text);
    assert_non_null(c2);
    tn_dispatch_set_config(e->d, c2);
    tn_config_unref(c2);
}

static void finish_call(env_t *e, size_t i, enum tn_send_result r)
{
    assert_true(e->calls[i].pending);
    e->calls[i].pending = false;
    tn_send_answer(e->calls[i].done, e->calls[i].ctx, r, r == TN_SEND_DONE ? NULL : "serverError",
                   r == TN_SEND_DONE ? NULL : "boom");
}

/* A reload whose routes are the same keeps the groups and their alerts; their timers restart
 * as Alertmanager's rebuilt groups' do (an old alert flushes its group at once), a flush in
 * flight is followed by one when it ends, and a receiver's new settings apply from there. */
static void test_reload_same_routes_keeps_groups(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    char err[TN_ERRBUF_SIZE];
    char *text = strdup(yaml);
    char *p = strstr(text, "127.0.0.1:1/b");
    assert_non_null(p);
    p[12] = 'c'; /* the second webhook's URL changes: receivers are not routes */
    tn_config_t *c2 = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    free(text);
    assert_non_null(c2);
    tn_dispatch_set_config(e->d, c2);
    tn_config_unref(c2);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
    e->hold = false;
    finish_call(e, 0, TN_SEND_DONE);
    finish_call(e, 1, TN_SEND_FAIL);
    /* The alert is not older than group_wait: the group flushes group_wait after the reload,
     * retrying the failed integration; the other is recorded and stays quiet. */
    advance(e, 30 * S - 1);
    assert_int_equal(e->ncalls, 2);
    advance(e, 1);
    assert_int_equal(e->ncalls, 3);
    assert_int_equal(e->calls[2].integration, 1);
    /* Then every group_interval from the reload, with nothing new to say. */
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 3);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
}

/* A reload while a flush is still sending: the rebuilt group must not send the same thing
 * again before the old flush has been recorded. */
static void test_reload_during_flush_no_duplicate(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    reload(e);
    /* The new group's group_wait passes while the old sends are still pending. */
    advance(e, 40 * S);
    assert_int_equal(e->ncalls, 2);
    finish_call(e, 0, TN_SEND_DONE);
    finish_call(e, 1, TN_SEND_DONE);
    /* The waiting group flushed at once and found everything recorded. */
    assert_int_equal(e->ncalls, 2);
    advance(e, 5 * MIN); /* one more interval, the alert still firing */
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
}

/* When the old flush fails, the rebuilt group sends as soon as it ends. */
static void test_reload_during_failed_flush_sends_after(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    reload(e);
    advance(e, 40 * S);
    assert_int_equal(e->ncalls, 2);
    finish_call(e, 0, TN_SEND_FAIL);
    assert_int_equal(e->ncalls, 2); /* integration 1 still running */
    finish_call(e, 1, TN_SEND_FAIL);
    assert_int_equal(e->ncalls, 4);
    finish_call(e, 2, TN_SEND_DONE);
    finish_call(e, 3, TN_SEND_DONE);
    e->hold = false;
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 4);
}

/* Two reloads while one flush is in flight, and the dispatcher freed before it ends. */
static void test_reload_twice_then_free_with_flush_in_flight(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    reload(e);
    advance(e, 40 * S);
    reload(e);
    advance(e, 40 * S);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
    tn_dispatch_stop(e->d);
    tn_dispatch_free(e->d);
    e->d = NULL;
    tn_alert_store_set_listener(e->store, NULL, NULL);
    /* The retired flush ends after its dispatcher went away. */
    finish_call(e, 0, TN_SEND_DONE);
    finish_call(e, 1, TN_SEND_DONE);
    assert_int_equal(tn_notifier_inflight(e->nt), 0);
}

/* After stop, alerts still arriving arm no timers and start no flush. */
static void test_stop_arms_nothing(void **state)
{
    env_t *e = *state;
    put(e, "A", "1", e->now, 0);
    tn_dispatch_stop(e->d);
    assert_int_equal(tn_sched_pending(e->sched), 0);
    put(e, "B", "1", e->now - 10 * MIN, 0);
    assert_int_equal(tn_sched_pending(e->sched), 0);
    advance(e, 10 * MIN);
    assert_int_equal(e->ncalls, 0);
}

/* Retries that run out of time count under the last attempt's failure reason, as
 * Alertmanager does; a flush that never got an answer counts as contextDeadlineExceeded. */
static void test_give_up_reason_is_last_error(void **state)
{
    env_t *e = *state;
    e->auto_result = TN_SEND_RETRY;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S + 4 * MIN + 50 * S);
    assert_true(e->ncalls > 4);
    assert_true(failed_total("serverError") == 2.0);
    assert_true(failed_total("contextDeadlineExceeded") == 0.0);
}

static void test_give_up_without_answer_is_deadline(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    /* The attempts hang until the flush deadline, then time out. */
    advance(e, 5 * MIN);
    finish_call(e, 0, TN_SEND_RETRY);
    finish_call(e, 1, TN_SEND_RETRY);
    assert_true(failed_total("contextDeadlineExceeded") == 2.0);
    assert_true(failed_total("serverError") == 0.0);
}

static void test_cancel_reason_is_last_error(void **state)
{
    env_t *e = *state;
    e->hold = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    finish_call(e, 0, TN_SEND_RETRY); /* waits for its retry */
    tn_notifier_cancel_all(e->nt);    /* integration 1 is still sending */
    assert_int_equal(tn_notifier_inflight(e->nt), 0);
    assert_true(failed_total("serverError") == 1.0);
    assert_true(failed_total("contextCanceled") == 1.0);
    assert_int_equal(e->ncancels, 1);
}

/* Log entries live 2 x repeat_interval, capped by --data.retention. */
static void test_nflog_expiry_capped_by_retention(void **state)
{
    env_t *e = *state;
    char *k0 = tn_nflog_key("{}:{alertname=\"A\"}", "r", "webhook", 0);
    char *k1 = tn_nflog_key("{}:{alertname=\"B\"}", "r", "webhook", 0);
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    const tn_nflog_entry_t *en = tn_nflog_get(e->nflog, k0);
    assert_non_null(en);
    assert_true(en->expires_at - en->timestamp == 8 * 60 * MIN);
    tn_notifier_set_retention(e->nt, 60 * MIN);
    put(e, "B", "1", e->now, 0);
    advance(e, 30 * S);
    en = tn_nflog_get(e->nflog, k1);
    assert_non_null(en);
    assert_true(en->expires_at - en->timestamp == 60 * MIN);
    free(k0);
    free(k1);
}

/* Shutdown reached from inside a sender's start must neither hang nor leave the attempt, or
 * the flush's other jobs, running. */
static void test_cancel_all_from_inside_start(void **state)
{
    env_t *e = *state;
    e->cancel_in_start = true;
    put(e, "A", "1", e->now, 0);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 1); /* the second integration never started */
    assert_false(e->calls[0].pending);
    assert_int_equal(e->ncancels, 1);
    assert_int_equal(tn_notifier_inflight(e->nt), 0);
}

/* A tick that finds the previous flush still running is held back; when the flush it waited
 * for ends, it runs, and the next one comes group_interval later (not on the old phase). */
static void test_held_flush_restarts_interval(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    e->hold = true;
    put(e, "A", "1", t0, 0);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 1);
    /* Ticks at +4, +7, +10 s find it running. At +11 s it runs out of time. */
    advance(e, 10 * S);
    finish_call(e, 0, TN_SEND_RETRY);
    assert_int_equal(e->ncalls, 2); /* the held-back flush, at once */
    finish_call(e, 1, TN_SEND_DONE);
    put(e, "A", "2", e->now, 0);
    advance(e, 2500 * TN_NS_PER_MS);
    assert_int_equal(e->ncalls, 2);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 3);
    assert_int_equal(e->calls[2].nalerts, 2);
}

/* Mutes instance "2"; mutes the whole flush while mute_all is set. */
static bool mute_all;
static bool test_muter(void *ud, const tn_notification_t *n, bool *keep)
{
    (void)ud;
    assert_non_null(n->route);
    if (mute_all)
        return false;
    for (size_t i = 0; i < n->nalerts; i++) {
        const char *inst = tn_labels_get(tn_alert_labels(n->alerts[i].alert), "instance");
        keep[i] = !(inst && strcmp(inst, "2") == 0);
    }
    return true;
}

static void test_mute_stage_filters_and_stops(void **state)
{
    env_t *e = *state;
    tn_notifier_set_muter(e->nt, test_muter, NULL);
    mute_all = true;
    put(e, "A", "1", e->now, 0);
    put(e, "A", "2", e->now, 0);
    advance(e, 30 * S);
    /* Muted whole: nothing sent, nothing logged, the group stays. */
    assert_int_equal(e->ncalls, 0);
    assert_int_equal(tn_nflog_count(e->nflog), 0);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
    mute_all = false;
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(e->calls[0].nalerts, 1);
    assert_int_equal(e->calls[1].nalerts, 1);
    /* Only instance 2 left firing, and it is muted: nothing is sent. */
    put(e, "A", "1", e->now - 10 * MIN, e->now);
    advance(e, 5 * MIN);
    size_t before = e->ncalls;
    put(e, "A", "2", e->now - 10 * MIN, 0);
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, before);
}

/* ---- Alertmanager's dispatch/dispatch_test.go scenarios ----
 * Upstream drives one aggregation group's flush callback; here the same timelines go through
 * the whole pipeline, so the repeat interval is 1 ms where upstream's 1 h would let dedup hide
 * the flushes its test counts. */

static const char *yaml_aggr = "route:\n"
                               "  receiver: n1\n"
                               "  group_by: [a, b]\n"
                               "  group_wait: 1s\n"
                               "  group_interval: 300ms\n"
                               "  repeat_interval: 1ms\n"
                               "receivers:\n"
                               "  - name: n1\n"
                               "    webhook_configs:\n"
                               "      - url: http://127.0.0.1:1/a\n";

static int setup_aggr(void **state)
{
    return setup_with(state, yaml_aggr);
}

/* Puts an alert labelled a=v1,b=v2,c=<c>. */
static void put_abc(env_t *e, const char *c, tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[] = {{tn_intern_cstr("a"), tn_intern_cstr("v1")},
                      {tn_intern_cstr("b"), tn_intern_cstr("v2")},
                      {tn_intern_cstr("c"), tn_intern_cstr(c)}};
    tn_alert_t *a = tn_alert_new(l, 3, NULL, 0, NULL);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = e->now;
    assert_int_equal(tn_alert_store_put(e->store, a), TN_OK);
}

/* Runs the clock until the next send; checks it came no earlier than min_wait after since and
 * no later than twice that, with these alerts; returns its time. */
static tn_time_t next_send(env_t *e, tn_time_t since, tn_time_t min_wait, const char *alerts)
{
    size_t before = e->ncalls;
    while (e->ncalls == before && e->now < since + 2 * min_wait)
        advance(e, 10 * TN_NS_PER_MS);
    assert_int_equal(e->ncalls, before + 1);
    call_t *c = &e->calls[before];
    assert_true(c->at - since >= min_wait);
    assert_string_equal(c->group_labels, "{a=\"v1\", b=\"v2\"}");
    assert_string_equal(c->alerts, alerts);
    return c->at;
}

static void test_upstream_aggr_group_waits_then_intervals(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put_abc(e, "v3", t0 + MIN, t0 + 60 * MIN); /* a1 */
    tn_time_t last = next_send(e, t0, S, "v3+");
    for (int i = 0; i < 3; i++) {
        put_abc(e, "v5", t0 + MIN, e->now + 5 * MIN); /* a3 */
        last = next_send(e, last, 300 * TN_NS_PER_MS, "v3+v5+");
    }
}

static void test_upstream_aggr_group_resolves_then_empties(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    put_abc(e, "v3", t0 + MIN, t0 + 60 * MIN);       /* a1 */
    put_abc(e, "v4", t0 - 60 * MIN, t0 + 120 * MIN); /* a2 */
    tn_time_t last = next_send(e, t0, S, "v3+v4+");
    for (int i = 0; i < 3; i++) {
        put_abc(e, "v5", t0 + MIN, e->now + 5 * MIN);
        last = next_send(e, last, 300 * TN_NS_PER_MS, "v3+v4+v5+");
    }
    /* A resolved alert goes out once, then leaves the group. */
    put_abc(e, "v3", t0 + MIN, e->now);
    last = next_send(e, last, 300 * TN_NS_PER_MS, "v3-v4+v5+");
    put_abc(e, "v4", t0 - 60 * MIN, e->now);
    put_abc(e, "v5", t0 + MIN, e->now);
    next_send(e, last, 300 * TN_NS_PER_MS, "v4-v5-");
    assert_int_equal(tn_dispatch_group_count(e->d), 0);
}

static const char *yaml_wait0 = "route:\n"
                                "  receiver: r\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 0s\n"
                                "  group_interval: 1h\n"
                                "  repeat_interval: 1h\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n";

static int setup_wait0(void **state)
{
    return setup_with(state, yaml_wait0);
}

/* group_wait 0: every new group's first alert goes out at once. */
static void test_upstream_group_wait_zero_sends_first_alert(void **state)
{
    env_t *e = *state;
    char name[32];
    for (int i = 0; i < 250; i++) {
        snprintf(name, sizeof(name), "Alert_%d", i);
        put(e, name, "i", e->now, 0);
    }
    tn_sched_run_until(e->sched, e->now);
    assert_int_equal(e->ncalls, 250);
}

static const char *yaml_startup = "route:\n"
                                  "  receiver: r\n"
                                  "  group_by: [instance]\n"
                                  "  group_wait: 1s\n"
                                  "  group_interval: 3m\n"
                                  "  repeat_interval: 1h\n"
                                  "receivers:\n"
                                  "  - name: r\n"
                                  "    webhook_configs:\n"
                                  "      - url: http://127.0.0.1:1/a\n";

static int setup_startup(void **state)
{
    return setup_with(state, yaml_startup);
}

/* A start delay holds even an alert that is old enough for an immediate flush; a group made
 * after the start sends within its group_interval. */
static void test_upstream_dispatch_on_startup(void **state)
{
    env_t *e = *state;
    tn_time_t t0 = e->now;
    tn_dispatch_set_start_time(e->d, t0 + 2 * S);
    put(e, "TestAlert1", "1", t0 - 60 * MIN, t0 + 60 * MIN);
    advance(e, 2 * S - TN_NS_PER_MS);
    assert_int_equal(e->ncalls, 0);
    advance(e, S + TN_NS_PER_MS);
    assert_int_equal(e->ncalls, 1);
    assert_string_equal(e->calls[0].first_alertname, "TestAlert1");
    put(e, "TestAlert2", "2", t0 - 60 * MIN, t0 + 60 * MIN);
    advance(e, 3 * MIN);
    assert_int_equal(e->ncalls, 2);
    assert_string_equal(e->calls[1].first_alertname, "TestAlert2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_wait_interval_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_alert_flushes_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_steps_at_their_time, setup_esc, teardown),
        cmocka_unit_test_setup_teardown(test_ack_holds_repeats_and_escalation, setup_esc, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_leaves_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_until_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_on_fail_and_retry_next_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_gives_up_at_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_does_not_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_during_flush_no_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_same_routes_keeps_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_during_failed_flush_sends_after, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reload_twice_then_free_with_flush_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_arms_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_up_reason_is_last_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_up_without_answer_is_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_reason_is_last_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nflog_expiry_capped_by_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_all_from_inside_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_flush_restarts_interval, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_mute_stage_filters_and_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_aggr_group_waits_then_intervals, setup_aggr,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upstream_aggr_group_resolves_then_empties, setup_aggr,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upstream_group_wait_zero_sends_first_alert,
                                        setup_wait0, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_dispatch_on_startup, setup_startup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
