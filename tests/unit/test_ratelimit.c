/* Rate limits, summaries, group_limit and the per-alertname cap, with a driven clock. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/dispatch.h"
#include "tocsin/metrics.h"
#include "tocsin/ratelimit.h"
#include "tocsin/template.h"

#define S   TN_NS_PER_SEC
#define MIN (60 * S)

typedef struct call {
    size_t nalerts, nfiring;
    char group_key[128];
    char first_group_label[64];
    bool is_summary;
    tn_summary_t sum; /* pointers cleared: only the counts are kept */
    char first_name[32];
    size_t first_name_count;
    char reason[32];
    char rendered[160]; /* a template over the notification's .Summary */
} call_t;

typedef struct env {
    tn_time_t now;
    tn_sched_t *sched;
    tn_alert_store_t *store;
    tn_nflog_t *nflog;
    tn_notifier_t *nt;
    tn_dispatch_t *d;
    tn_config_t *cfg;
    call_t calls[64];
    size_t ncalls;
    enum tn_send_result result;
    unsigned retries; /* answer "retry" this many times first */
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
    assert_true(e->ncalls < 64);
    call_t *c = &e->calls[e->ncalls++];
    memset(c, 0, sizeof(*c));
    c->nalerts = n->nalerts;
    c->nfiring = n->nfiring;
    snprintf(c->group_key, sizeof(c->group_key), "%s", n->group_key);
    snprintf(c->reason, sizeof(c->reason), "%s", n->reason ? n->reason : "");
    if (n->group_labels.n)
        snprintf(c->first_group_label, sizeof(c->first_group_label), "%s=%s",
                 n->group_labels.v[0].name, n->group_labels.v[0].value);
    tn_buf_t out;
    tn_buf_init(&out, 4096);
    char terr[TN_ERRBUF_SIZE];
    const char *text = "{{ if .Summary }}{{ .Summary.HeldAlerts }} in {{ .Summary.HeldGroups }}:"
                       "{{ range .Summary.Groups }} {{ .GroupLabels.alertname }}={{ .Firing }}"
                       "{{ end }};{{ range .Summary.Alertnames }} {{ .Alertname }}x{{ .Count }}"
                       "{{ end }}{{ else }}plain{{ end }}";
    if (tn_tmpl_render(NULL, text, n, 0, &out, terr, sizeof(terr)) != TN_OK)
        fail_msg("render: %s", terr);
    snprintf(c->rendered, sizeof(c->rendered), "%s", tn_buf_cstr(&out));
    tn_buf_free(&out);
    if (n->summary) {
        c->is_summary = true;
        c->sum = *n->summary;
        if (n->summary->nnames) {
            snprintf(c->first_name, sizeof(c->first_name), "%s", n->summary->names[0].alertname);
            c->first_name_count = n->summary->names[0].count;
        }
        c->sum.groups = NULL;
        c->sum.names = NULL;
    }
    enum tn_send_result r = e->result;
    if (e->retries) {
        e->retries--;
        r = TN_SEND_RETRY;
    }
    tn_send_answer(done, ctx, r, r == TN_SEND_DONE ? NULL : "serverError",
                   r == TN_SEND_DONE ? NULL : "boom");
    return c;
}

static void fake_cancel(void *ud, void *handle)
{
    (void)ud;
    (void)handle;
}

static env_t *env_new(const char *conf)
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
    e->result = TN_SEND_DONE;
    return e;
}

static int teardown(void **state)
{
    env_t *e = *state;
    if (e) {
        tn_dispatch_stop(e->d);
        tn_notifier_free(e->nt);
        tn_dispatch_free(e->d);
        tn_alert_store_free(e->store);
        tn_nflog_free(e->nflog);
        tn_config_unref(e->cfg);
        tn_sched_free(e->sched);
        free(e);
    }
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    assert_int_equal(tn_intern_count(), 0);
    return 0;
}

static int put_rc(env_t *e, const char *name, const char *inst, tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                      {tn_intern_cstr("instance"), tn_intern_cstr(inst)}};
    tn_alert_t *a = tn_alert_new(l, 2, NULL, 0, NULL);
    a->starts_at = starts;
    a->ends_at = ends ? ends : e->now + 10 * MIN;
    a->timeout = ends == 0;
    a->updated_at = e->now;
    return tn_alert_store_put(e->store, a);
}

static void put(env_t *e, const char *name, const char *inst, tn_time_t starts, tn_time_t ends)
{
    assert_int_equal(put_rc(e, name, inst, starts, ends), TN_OK);
}

static void advance(env_t *e, tn_time_t d)
{
    tn_time_t end = e->now + d;
    while (e->now < end) {
        tn_time_t next = tn_sched_next(e->sched);
        e->now = next <= end ? TN_MAX(next, e->now) : end;
        tn_sched_run_until(e->sched, e->now);
    }
}

static double metric(const char *name, bool gauge)
{
    tn_metric_t *m = gauge ? tn_metric_gauge(name, "", "receiver,integration")
                           : tn_metric_counter(name, "", "receiver,integration");
    return tn_metric_value(tn_metric_with(m, "r", "webhook", NULL));
}

/* ---- token bucket ---- */

static void test_bucket_maths(void **state)
{
    (void)state;
    tn_rate_limit_t p = {.limit = 4, .burst = 2, .period = 20 * S};
    tn_bucket_t b = {0};
    tn_time_t t = 1000 * S;
    /* A full bucket gives burst tokens back to back, then one every period/limit. */
    assert_true(tn_bucket_take(&b, &p, t));
    assert_true(tn_bucket_take(&b, &p, t));
    assert_false(tn_bucket_take(&b, &p, t));
    assert_true(tn_bucket_ready_at(&b, &p) == t + 5 * S);
    assert_false(tn_bucket_take(&b, &p, t + 5 * S - 1));
    assert_true(tn_bucket_take(&b, &p, t + 5 * S));
    assert_false(tn_bucket_take(&b, &p, t + 6 * S));
    assert_true(tn_bucket_ready_at(&b, &p) == t + 10 * S);
    /* A long pause refills up to burst, never more. */
    t += 1000 * S;
    size_t n = 0;
    while (tn_bucket_take(&b, &p, t))
        n++;
    assert_int_equal(n, 2);
    /* Over a long stretch: limit per period. */
    b = (tn_bucket_t){0};
    n = 0;
    for (tn_time_t x = t; x < t + 100 * S; x += S / 10)
        n += tn_bucket_take(&b, &p, x);
    assert_int_equal(n, 2 + 100 / 5 - 1);
}

/* ---- holding and summaries ---- */

static const char *yaml_rl = "route:\n"
                             "  receiver: r\n"
                             "  group_by: [alertname]\n"
                             "  group_wait: 1s\n"
                             "  group_interval: 5m\n"
                             "  repeat_interval: 4h\n"
                             "  rate_limit: {limit: 1, period: 10s}\n"
                             "receivers:\n"
                             "  - name: r\n"
                             "    webhook_configs:\n"
                             "      - url: http://127.0.0.1:1/a\n";

static void test_hold_then_summary(void **state)
{
    env_t *e = *state = env_new(yaml_rl);
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    put(e, "B", "2", t0, 0);
    put(e, "C", "1", t0, 0);
    advance(e, 1 * S);
    /* One token: the first group goes out, the other two are held. */
    assert_int_equal(e->ncalls, 1);
    assert_false(e->calls[0].is_summary);
    assert_true(metric("tocsin_notifications_rate_limited_total", false) == 2);
    assert_true(metric("tocsin_notifications_held_alerts", true) == 3);
    advance(e, 10 * S - 1);
    assert_int_equal(e->ncalls, 1);
    advance(e, 1);
    /* The next token, 10 s later, carries one summary of both. */
    assert_int_equal(e->ncalls, 2);
    call_t *c = &e->calls[1];
    assert_true(c->is_summary);
    assert_string_equal(c->reason, "rate limit summary");
    assert_string_equal(e->calls[0].rendered, "plain");
    assert_string_equal(c->rendered, "3 in 2: B=2 C=1; Bx2 Cx1");
    assert_int_equal(c->sum.ngroups, 2);
    assert_int_equal(c->sum.nalerts, 3);
    assert_int_equal(c->sum.nfiring, 3);
    assert_int_equal(c->sum.nnotifications, 2);
    assert_int_equal(c->sum.nnames, 2);
    assert_string_equal(c->first_name, "B");
    assert_int_equal(c->first_name_count, 2);
    assert_int_equal(c->nalerts, 3);
    assert_true(c->sum.since == t0 + 1 * S);
    assert_false(c->sum.truncated);
    assert_true(metric("tocsin_notifications_held_alerts", true) == 0);
    /* The summary is in the notification log: later flushes page nothing again. */
    for (int i = 0; i < 3; i++) {
        put(e, "A", "1", t0, 0);
        put(e, "B", "1", t0, 0);
        put(e, "B", "2", t0, 0);
        put(e, "C", "1", t0, 0);
        advance(e, 5 * MIN);
    }
    assert_int_equal(e->ncalls, 2);
}

static void test_held_again_is_counted_once(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 1s\n"
                                "  group_interval: 2s\n"
                                "  repeat_interval: 4h\n"
                                "  rate_limit: {limit: 1, period: 1m}\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    /* B's group flushes every 2 s while held: one held notification, not fifteen. */
    advance(e, 31 * S);
    assert_int_equal(e->ncalls, 1);
    assert_true(metric("tocsin_notifications_rate_limited_total", false) == 1);
    /* A new alert in B's group changes the held notification: counted again. */
    put(e, "B", "2", e->now, 0);
    advance(e, 2 * S);
    assert_true(metric("tocsin_notifications_rate_limited_total", false) == 2);
    advance(e, 30 * S);
    assert_int_equal(e->ncalls, 2);
    assert_true(e->calls[1].is_summary);
    assert_int_equal(e->calls[1].sum.ngroups, 1);
    assert_int_equal(e->calls[1].sum.nalerts, 2);
    assert_int_equal(e->calls[1].sum.nnotifications, 2);
}

static void test_resolved_after_held_not_sent_alone(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 1s\n"
                                "  group_interval: 1m\n"
                                "  repeat_interval: 4h\n"
                                "  rate_limit: {limit: 1, period: 1h}\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, t0 + 10 * 3600 * S); /* firing throughout */
    put(e, "B", "1", t0, 0);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 1);
    /* B resolves while held: its group flushes and empties, and nothing is sent. */
    put(e, "B", "1", t0, e->now);
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(tn_dispatch_group_count(e->d), 1);
    /* The summary tells of it, as resolved. */
    advance(e, 1 * 3600 * S);
    assert_int_equal(e->ncalls, 2);
    call_t *c = &e->calls[1];
    assert_true(c->is_summary);
    assert_int_equal(c->sum.ngroups, 1);
    assert_int_equal(c->sum.nfiring, 0);
    assert_int_equal(c->sum.nresolved, 1);
    assert_int_equal(c->nfiring, 0);
    char *k = tn_nflog_key("{}:{alertname=\"B\"}", "r", "webhook", 0);
    const tn_nflog_entry_t *en = tn_nflog_get(e->nflog, k);
    free(k);
    assert_non_null(en);
    assert_int_equal(en->nfiring, 0);
    assert_int_equal(en->nresolved, 1);
}

static void test_failed_summary_is_held_again(void **state)
{
    env_t *e = *state = env_new(yaml_rl);
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 1);
    e->result = TN_SEND_FAIL;
    advance(e, 10 * S);
    assert_int_equal(e->ncalls, 2);
    assert_true(e->calls[1].is_summary);
    assert_true(metric("tocsin_notifications_held_alerts", true) == 1);
    /* Not logged as sent; tried again with the next token. */
    e->result = TN_SEND_DONE;
    advance(e, 10 * S);
    assert_int_equal(e->ncalls, 3);
    assert_true(e->calls[2].is_summary);
    assert_int_equal(e->calls[2].sum.ngroups, 1);
    assert_true(metric("tocsin_notifications_held_alerts", true) == 0);
}

/* A summary goes through the notifier like any notification: a failure that may heal is
 * retried with backoff before its deadline, and its delivery is logged for what it carried. */
static void test_summary_retried(void **state)
{
    env_t *e = *state = env_new(yaml_rl);
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 1);
    e->retries = 2;
    advance(e, 10 * S);
    assert_int_equal(e->ncalls, 2);
    assert_true(e->calls[1].is_summary);
    /* Two retries, 0.5 s and then about 0.75 s later (jittered). */
    for (int i = 0; i < 30; i++)
        advance(e, S / 10);
    assert_int_equal(e->ncalls, 4);
    assert_true(e->calls[3].is_summary);
    assert_true(metric("tocsin_notifications_held_alerts", true) == 0);
    /* The held group was logged as notified: nothing more goes out. */
    advance(e, 10 * S);
    assert_int_equal(e->ncalls, 4);
}

static void test_per_group_buckets(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 1s\n"
                                "  group_interval: 2s\n"
                                "  repeat_interval: 4h\n"
                                "  rate_limit: {limit: 1, period: 20s, per: group}\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, 0);
    put(e, "B", "1", t0, 0);
    advance(e, 1 * S);
    /* Each group has its own bucket. */
    assert_int_equal(e->ncalls, 2);
    put(e, "A", "2", e->now, 0);
    advance(e, 2 * S);
    assert_int_equal(e->ncalls, 2);
    advance(e, 18 * S);
    assert_int_equal(e->ncalls, 3);
    call_t *c = &e->calls[2];
    assert_true(c->is_summary);
    /* A per-group summary keeps its group's key and labels. */
    assert_string_equal(c->group_key, "{}:{alertname=\"A\"}");
    assert_string_equal(c->first_group_label, "alertname=A");
    assert_int_equal(c->sum.ngroups, 1);
    assert_int_equal(c->nalerts, 2);
}

static void test_child_inherits_and_overrides(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [alertname]\n"
                                "  rate_limit: {limit: 3, period: 1h, burst: 2, per: group}\n"
                                "  routes:\n"
                                "    - matchers: [x=\"1\"]\n"
                                "    - matchers: [x=\"2\"]\n"
                                "      rate_limit: {limit: 0}\n"
                                "    - matchers: [x=\"3\"]\n"
                                "      group_limit: 7\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    const tn_route_t *root = e->cfg->route;
    assert_int_equal(root->rate_limit.limit, 3);
    assert_int_equal(root->rate_limit.burst, 2);
    assert_true(root->rate_limit.period == 3600 * S);
    assert_true(root->rate_limit.per_group);
    assert_int_equal(root->children[0]->rate_limit.limit, 3);
    assert_true(root->children[0]->rate_limit.per_group);
    assert_int_equal(root->children[1]->rate_limit.limit, 0);
    assert_int_equal(root->children[2]->group_limit, 7);
    assert_int_equal(root->group_limit, 0);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *rl;
        const char *want;
    } cases[] = {
        {"{limit: 1}", "test.yml:4:15: rate_limit: missing period"},
        {"{period: 1m}", "test.yml:4:15: rate_limit: missing limit"},
        {"{limit: -1, period: 1m}", "test.yml:4:23: rate_limit.limit: cannot parse"},
        {"{limit: 1, period: 1m, per: route}", "test.yml:4:43: rate_limit.per: expected"},
        {"{limit: 1, period: 0s}", "test.yml:4:34: rate_limit.period must be positive"},
        {"{limit: 1, period: 1m, burst: 0}", "test.yml:4:45: rate_limit.burst must be"},
        {"{limit: 1, period: 1m, bogus: 1}", "test.yml:4:38: unknown field \"bogus\""},
        {"5", "test.yml:4:15: rate_limit: expected a mapping"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char conf[512], err[TN_ERRBUF_SIZE] = "";
        snprintf(conf, sizeof(conf),
                 "route:\n  receiver: r\n  group_by: [a]\n  rate_limit: %s\nreceivers:\n"
                 "  - name: r\n",
                 cases[i].rl);
        tn_config_t *c = tn_config_load_string("test.yml", conf, strlen(conf), err, sizeof(err));
        if (c)
            fail_msg("case %zu loaded", i);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].want);
    }
    const char *bad = "route:\n  receiver: r\n  group_limit: many\nreceivers:\n  - name: r\n";
    char err[TN_ERRBUF_SIZE] = "";
    assert_null(tn_config_load_string("test.yml", bad, strlen(bad), err, sizeof(err)));
    assert_non_null(strstr(err, "test.yml:3:16: group_limit: cannot parse"));
    tn_metrics_free_all();
    assert_int_equal(tn_intern_count(), 0);
}

/* ---- storm control ---- */

static void test_group_limit_overflow(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [instance]\n"
                                "  group_wait: 1s\n"
                                "  group_interval: 1m\n"
                                "  repeat_interval: 4h\n"
                                "  group_limit: 3\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    tn_time_t t0 = e->now;
    char inst[16];
    for (int i = 0; i < 50; i++) {
        snprintf(inst, sizeof(inst), "i%02d", i);
        put(e, "Storm", inst, t0, 0);
    }
    /* Three groups and the overflow group. */
    assert_int_equal(tn_dispatch_group_count(e->d), 4);
    tn_metric_t *m = tn_metric_counter(
        "alertmanager_dispatcher_aggregation_group_limit_reached_total", "", NULL);
    assert_true(tn_metric_value(tn_metric_plain(m)) == 47);
    advance(e, 1 * S);
    assert_int_equal(e->ncalls, 4);
    size_t overflow = 0;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(e->calls[i].first_group_label, "overflow=true") == 0) {
            overflow++;
            assert_int_equal(e->calls[i].nalerts, 47);
            assert_string_equal(e->calls[i].group_key, "{}:{overflow=\"true\"}");
        } else {
            assert_int_equal(e->calls[i].nalerts, 1);
        }
    }
    assert_int_equal(overflow, 1);
    /* An alert in the overflow group stays there when it is updated. */
    put(e, "Storm", "i10", t0, 0);
    assert_int_equal(tn_dispatch_group_count(e->d), 4);
    /* The alerts stay held by their groups: GC keeps them while unresolved notices remain. */
    put(e, "Storm", "i20", t0, e->now);
    assert_int_equal(tn_alert_store_gc(e->store, e->now + 1, tn_dispatch_holds, e->d), 0);
    advance(e, 1 * MIN);
    assert_int_equal(tn_alert_store_gc(e->store, e->now, tn_dispatch_holds, e->d), 1);
}

static void test_per_alertname_limit(void **state)
{
    env_t *e = *state = env_new(yaml_rl);
    tn_alert_store_set_name_limit(e->store, 2);
    tn_time_t t0 = e->now;
    put(e, "A", "1", t0, t0 + 1 * MIN);
    put(e, "A", "2", t0, 0);
    assert_int_equal(put_rc(e, "A", "3", t0, 0), TN_ERR_LIMIT);
    put(e, "B", "1", t0, 0);
    /* Updates of alerts already in stay possible. */
    put(e, "A", "2", t0, 0);
    tn_metric_t *m = tn_metric_counter("alertmanager_alerts_limited_total", "", NULL);
    assert_true(tn_metric_value(tn_metric_plain(m)) == 1);
    assert_int_equal(tn_alert_store_count(e->store), 3);
    /* Once A/1 has ended, a new alert of the name takes its place. */
    e->now = t0 + 2 * MIN;
    put(e, "A", "3", e->now, 0);
    assert_int_equal(put_rc(e, "A", "4", e->now, 0), TN_ERR_LIMIT);
    assert_true(tn_metric_value(tn_metric_plain(m)) == 2);
}

/* A storm: 2,000 distinct alerts against group_limit and rate_limit give a bounded, exact
 * number of notifications. */
static void test_storm_is_bounded(void **state)
{
    env_t *e = *state = env_new("route:\n"
                                "  receiver: r\n"
                                "  group_by: [instance]\n"
                                "  group_wait: 1s\n"
                                "  group_interval: 1m\n"
                                "  repeat_interval: 4h\n"
                                "  group_limit: 20\n"
                                "  rate_limit: {limit: 5, period: 1m}\n"
                                "receivers:\n"
                                "  - name: r\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/a\n");
    tn_time_t t0 = e->now;
    char inst[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(inst, sizeof(inst), "i%04d", i);
        put(e, "Storm", inst, t0, 0);
    }
    assert_int_equal(tn_dispatch_group_count(e->d), 21);
    advance(e, 1 * S);
    /* Five go out at once (the burst); the other sixteen groups are held. */
    assert_int_equal(e->ncalls, 5);
    advance(e, 12 * S);
    assert_int_equal(e->ncalls, 6);
    call_t *c = &e->calls[5];
    assert_true(c->is_summary);
    assert_int_equal(c->sum.ngroups, 16);
    assert_int_equal(c->sum.nalerts, 2000 - 5);
    assert_int_equal(c->nalerts, TN_SUMMARY_MAX_ALERTS);
    assert_true(c->sum.truncated);
    /* Nothing more while the storm goes on unchanged. */
    advance(e, 5 * MIN);
    assert_int_equal(e->ncalls, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_maths),
        cmocka_unit_test_teardown(test_hold_then_summary, teardown),
        cmocka_unit_test_teardown(test_held_again_is_counted_once, teardown),
        cmocka_unit_test_teardown(test_resolved_after_held_not_sent_alone, teardown),
        cmocka_unit_test_teardown(test_failed_summary_is_held_again, teardown),
        cmocka_unit_test_teardown(test_summary_retried, teardown),
        cmocka_unit_test_teardown(test_per_group_buckets, teardown),
        cmocka_unit_test_teardown(test_child_inherits_and_overrides, teardown),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test_teardown(test_group_limit_overflow, teardown),
        cmocka_unit_test_teardown(test_per_alertname_limit, teardown),
        cmocka_unit_test_teardown(test_storm_is_bounded, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
