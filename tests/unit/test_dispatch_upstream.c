/* Alertmanager's dispatch/dispatch_test.go scenarios not already in test_dispatch.c (which has
 * TestAggrGroup's timing, its resolve path, group_wait 0 and TestDispatchOnStartup), run
 * through the real dispatcher, notifier and groups API with a driven clock and a fake sender.
 * Each test is named after the upstream test it ports; the inputs, timelines and expected
 * groups are upstream's.
 *
 * Upstream's receivers in TestGroups have no integrations and its recorder is a pipeline
 * stage; here each receiver has one webhook integration and the fake sender records what a
 * flush sends. Upstream calls getGroupLabels, flush and RouteLabels on a lone aggregation
 * group; here the same inputs go through the dispatcher and are read back from its groups.
 *
 * Not ported (Go data races between goroutines; tocsin's groups live on one loop):
 * - TestDispatcherRace: concurrent Run and Stop of the dispatcher.
 * - TestDispatcherRaceOnFirstAlertNotDeliveredWhenGroupWaitIsZero: a race on the first flush
 *   (test_dispatch.c ports its group_wait 0 timeline).
 * - TestGroupAlert_RecoversWhenCASFails: sync.Map compare-and-swap contention.
 * - TestGroupAlert_DisplacedAggrGroupGoroutineExits: a group goroutine displaced by that CAS.
 * BenchmarkGetGroupLabels is a benchmark. */
#include "tn_test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/dispatch.h"
#include "tocsin/metrics.h"
#include "tocsin/mute.h"
#include "tocsin/template.h"

#define S   TN_NS_PER_SEC
#define MS  TN_NS_PER_MS
#define MIN (60 * S)
#define HR  (60 * MIN)

/* ---- the environment: dispatcher, notifier, store and groups API on a driven clock ---- */

typedef struct sent {
    char group_key[256];
    char route_labels[256]; /* Go's LabelSet.String() of the notification's route labels */
    char probe[256];        /* env.probe rendered against the notification */
    uint64_t fps[16];
    bool resolved[16];
    size_t nalerts;
    void *ctx;
    tn_send_done_fn done;
    bool pending;
} sent_t;

typedef struct env {
    tn_time_t now;
    tn_sched_t *sched;
    tn_alert_store_t *store;
    tn_nflog_t *nflog;
    tn_notifier_t *nt;
    tn_muter_t *muter;
    tn_dispatch_t *d;
    tn_config_t *cfg;
    tn_api_deps_t deps;
    tn_api_t *api;
    api_reply_t rep;
    sent_t sent[64];
    size_t nsent;
    enum tn_send_result result;
    bool hold;         /* leave sends pending for the test to answer */
    const char *probe; /* template rendered against every notification, or NULL */
} env_t;

static void fmt_labels(char *out, size_t len, tn_labels_t ls)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_format(&b, ls);
    snprintf(out, len, "%s", tn_buf_cstr(&b));
    tn_buf_free(&b);
}

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
    assert_true(e->nsent < TN_ARRAY_LEN(e->sent));
    sent_t *s = &e->sent[e->nsent++];
    memset(s, 0, sizeof(*s));
    snprintf(s->group_key, sizeof(s->group_key), "%s", n->group_key);
    fmt_labels(s->route_labels, sizeof(s->route_labels), n->route_labels);
    if (e->probe) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        char perr[TN_ERRBUF_SIZE];
        if (tn_tmpl_render(n->config->tmpl, e->probe, n, 0, &b, perr, sizeof(perr)))
            fail_msg("probe: %s", perr);
        snprintf(s->probe, sizeof(s->probe), "%s", tn_buf_cstr(&b));
        tn_buf_free(&b);
    }
    assert_true(n->nalerts <= TN_ARRAY_LEN(s->fps));
    for (size_t i = 0; i < n->nalerts; i++) {
        s->fps[i] = n->alerts[i].alert->fp;
        s->resolved[i] = n->alerts[i].resolved;
    }
    s->nalerts = n->nalerts;
    s->ctx = ctx;
    s->done = done;
    s->pending = true;
    if (!e->hold) {
        s->pending = false;
        tn_send_answer(done, ctx, e->result, e->result == TN_SEND_DONE ? NULL : "serverError",
                       e->result == TN_SEND_DONE ? NULL : "boom");
    }
    return s;
}

static void fake_cancel(void *ud, void *handle)
{
    (void)ud;
    ((sent_t *)handle)->pending = false;
}

static void answer(sent_t *s, enum tn_send_result r)
{
    assert_true(s->pending);
    s->pending = false;
    tn_send_answer(s->done, s->ctx, r, r == TN_SEND_DONE ? NULL : "serverError",
                   r == TN_SEND_DONE ? NULL : "boom");
}

static const tn_config_t *dep_config(void *ud)
{
    return ((env_t *)ud)->cfg;
}

static size_t dep_receivers(void *ud, const tn_alert_t *a, const char **out, size_t max)
{
    return tn_dispatch_alert_receivers(((env_t *)ud)->d, tn_alert_labels(a), out, max);
}

static void dep_foreach_group(void *ud, tn_dispatch_group_fn fn, void *fnud)
{
    tn_dispatch_foreach_group(((env_t *)ud)->d, fn, fnud);
}

static env_t *env_new(const char *yaml)
{
    env_t *e = tn_xcalloc(1, sizeof(*e));
    e->now = INT64_C(1700000000) * S;
    tn_clock_set_fake(&e->now);
    char err[TN_ERRBUF_SIZE];
    e->cfg = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    if (!e->cfg)
        fail_msg("config: %s", err);
    e->sched = tn_sched_new(NULL);
    e->store = tn_alert_store_new();
    e->nflog = tn_nflog_new();
    e->nt = tn_notifier_new(e->sched, e->nflog,
                            (tn_sender_t){.ud = e, .start = fake_start, .cancel = fake_cancel});
    e->muter = tn_muter_new(NULL, NULL);
    tn_notifier_set_muter(e->nt, tn_muter_mute, e->muter);
    e->d = tn_dispatch_new(e->sched, e->nt, e->store);
    tn_alert_store_set_listener(e->store, tn_dispatch_on_alert, e->d);
    tn_dispatch_set_config(e->d, e->cfg);
    e->deps = (tn_api_deps_t){
        .ud = e,
        .store = e->store,
        .config = dep_config,
        .alert_receivers = dep_receivers,
        .foreach_group = dep_foreach_group,
    };
    e->api = tn_api_new(&e->deps);
    api_reply_init(&e->rep);
    e->result = TN_SEND_DONE;
    return e;
}

static void env_free(env_t *e)
{
    api_reply_free(&e->rep);
    tn_api_free(e->api);
    tn_dispatch_stop(e->d);
    tn_notifier_free(e->nt);
    tn_dispatch_free(e->d);
    tn_muter_free(e->muter);
    tn_alert_store_free(e->store);
    tn_nflog_free(e->nflog);
    tn_config_unref(e->cfg);
    tn_sched_free(e->sched);
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    free(e);
    assert_int_equal(tn_intern_count(), 0);
}

/* "a=1,b=2" into sorted, interned labels (references for the caller). */
static size_t mklabels(const char *spec, tn_label_t *out, size_t max)
{
    char *dup = tn_xstrdup(spec), *save = NULL;
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

static uint64_t fp_of(const char *spec)
{
    tn_label_t l[16];
    size_t n = mklabels(spec, l, 16);
    uint64_t fp = tn_labels_fingerprint((tn_labels_t){l, n});
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(l[i].name);
        tn_intern_unref(l[i].value);
    }
    return fp;
}

/* Puts an alert with upstream's newAlert shape (annotation foo=bar, a generator URL). */
static uint64_t put(env_t *e, const char *labels, tn_time_t starts, tn_time_t ends,
                    tn_time_t updated)
{
    tn_label_t l[16], a[1] = {{tn_intern_cstr("foo"), tn_intern_cstr("bar")}};
    size_t n = mklabels(labels, l, 16);
    tn_alert_t *al = tn_alert_new(l, n, a, 1, tn_intern_cstr("http://example.com/prometheus"));
    al->starts_at = starts;
    al->ends_at = ends;
    al->updated_at = updated;
    uint64_t fp = al->fp;
    assert_int_equal(tn_alert_store_put(e->store, al), TN_OK);
    return fp;
}

/* Runs what is due now, then moves the clock to each deadline due within d. */
static void advance(env_t *e, tn_time_t d)
{
    tn_time_t end = e->now + d;
    tn_sched_run_until(e->sched, e->now);
    while (e->now < end) {
        tn_time_t next = tn_sched_next(e->sched);
        e->now = next <= end ? TN_MAX(next, e->now) : end;
        tn_sched_run_until(e->sched, e->now);
    }
}

/* (group key, alert) pairs notified so far, as upstream's recordStage counts them. */
static size_t recorded(const env_t *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nsent; i++)
        for (size_t k = 0; k < e->sent[i].nalerts; k++) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                for (size_t m = 0; m < e->sent[j].nalerts && !seen; m++)
                    seen = !strcmp(e->sent[j].group_key, e->sent[i].group_key) &&
                           e->sent[j].fps[m] == e->sent[i].fps[k];
            n += !seen;
        }
    return n;
}

static json_t *get_groups(env_t *e, const char *query)
{
    api_reply_free(&e->rep);
    api_reply_init(&e->rep);
    api_call_t c = {.method = "GET", .path = "/api/v2/alerts/groups", .query = query ? query : ""};
    api_dispatch(e->api, &c, &e->rep);
    assert_int_equal(e->rep.status, 200);
    json_error_t je;
    json_t *j = json_loadb(e->rep.body.data, e->rep.body.len, 0, &je);
    if (!j)
        fail_msg("groups: %s", je.text);
    assert_true(json_is_array(j));
    return j;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

static void assert_json(json_t *v, const char *want)
{
    char *got = dump(v);
    if (strcmp(got, want))
        fail_msg("got %s, want %s", got, want);
    free(got);
}

/* The groups of a foreach walk, copied (their views stay usable until the loop runs again). */
typedef struct views {
    tn_dispatch_group_view_t v[16];
    tn_alert_t *alerts[16][16]; /* the walk's own array goes when it ends */
    size_t n;
} views_t;

static bool collect(void *ud, const tn_dispatch_group_view_t *g)
{
    views_t *w = ud;
    assert_true(w->n < TN_ARRAY_LEN(w->v));
    assert_true(g->nalerts <= TN_ARRAY_LEN(w->alerts[0]));
    memcpy(w->alerts[w->n], g->alerts, g->nalerts * sizeof(*g->alerts));
    w->v[w->n] = *g;
    w->v[w->n].alerts = w->alerts[w->n];
    w->n++;
    return true;
}

static void walk_into(env_t *e, views_t *w)
{
    w->n = 0;
    tn_dispatch_foreach_group(e->d, collect, w);
}

static size_t ngroups(env_t *e)
{
    views_t w;
    walk_into(e, &w);
    return w.n;
}

static void view_labels(const tn_dispatch_group_view_t *g, char *out, size_t len)
{
    fmt_labels(out, len, g->labels);
}

static void view_route_labels(const tn_dispatch_group_view_t *g, char *out, size_t len)
{
    fmt_labels(out, len, g->route_labels ? g->route_labels(g) : (tn_labels_t){NULL, 0});
}

/* The walked group with these group labels (and receiver, if given). */
static const tn_dispatch_group_view_t *find_view(const views_t *w, const char *labels,
                                                 const char *receiver)
{
    char got[256];
    for (size_t i = 0; i < w->n; i++) {
        view_labels(&w->v[i], got, sizeof(got));
        if (!strcmp(got, labels) && (!receiver || !strcmp(w->v[i].route->receiver->name, receiver)))
            return &w->v[i];
    }
    fail_msg("no group %s", labels);
    return NULL;
}

static double metric(const char *name)
{
    return tn_metric_value(tn_metric_plain(tn_metric_counter(name, "", NULL)));
}

static double gauge(const char *name)
{
    return tn_metric_value(tn_metric_plain(tn_metric_gauge(name, "", NULL)));
}

#define WEBHOOK  "    webhook_configs:\n      - url: http://127.0.0.1:1/\n"
#define WEBHOOK0 "  webhook_configs:\n    - url: http://127.0.0.1:1/\n"

/* ---- TestGroupLabels, TestGroupByAllLabels, TestGetGroupLabels ---- */

static const struct {
    const char *upstream;
    const char *group_by; /* YAML flow list */
    const char *alert;
    const char *want;
} group_label_rows[] = {
    {"TestGroupLabels", "[a, b]", "a=v1,b=v2,c=v3", "{a=\"v1\", b=\"v2\"}"},
    {"TestGroupByAllLabels", "['...']", "a=v1,b=v2,c=v3", "{a=\"v1\", b=\"v2\", c=\"v3\"}"},
    {"TestGetGroupLabels/specific labels", "[alertname, job]",
     "alertname=TestAlert,job=prometheus,instance=localhost:9090,severity=critical",
     "{alertname=\"TestAlert\", job=\"prometheus\"}"},
    {"TestGetGroupLabels/group by all", "['...']",
     "alertname=TestAlert,job=prometheus,instance=localhost:9090,severity=critical",
     "{alertname=\"TestAlert\", instance=\"localhost:9090\", job=\"prometheus\", "
     "severity=\"critical\"}"},
};

static void TestGroupLabels(void **state)
{
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(group_label_rows); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 "route:\n  receiver: r\n  group_by: %s\n  group_wait: 1h\n"
                 "receivers:\n  - name: r\n" WEBHOOK,
                 group_label_rows[i].group_by);
        env_t *e = env_new(yaml);
        put(e, group_label_rows[i].alert, e->now, e->now + HR, e->now);
        views_t w;
        walk_into(e, &w);
        assert_int_equal(w.n, 1);
        char got[256];
        view_labels(&w.v[0], got, sizeof(got));
        if (strcmp(got, group_label_rows[i].want))
            fail_msg("%s: group labels %s, want %s", group_label_rows[i].upstream, got,
                     group_label_rows[i].want);
        env_free(e);
    }
}

/* ---- TestGroups, TestGroupsWithLimits ---- */

#define GROUPS_ROUTE                                                                               \
    "route:\n"                                                                                     \
    "  group_by: ['alertname']\n"                                                                  \
    "  group_wait: 10ms\n"                                                                         \
    "  group_interval: 10ms\n"                                                                     \
    "  receiver: 'prod'\n"                                                                         \
    "  routes:\n"                                                                                  \
    "  - match:\n"                                                                                 \
    "      env: 'testing'\n"                                                                       \
    "    receiver: 'testing'\n"                                                                    \
    "    group_by: ['alertname', 'service']\n"                                                     \
    "  - match:\n"                                                                                 \
    "      env: 'prod'\n"                                                                          \
    "    receiver: 'prod'\n"                                                                       \
    "    group_by: ['alertname', 'service', 'cluster']\n"                                          \
    "    continue: true\n"
#define GROUPS_KAFKA                                                                               \
    "  - match:\n"                                                                                 \
    "      kafka: 'yes'\n"                                                                         \
    "    receiver: 'kafka'\n"                                                                      \
    "    group_by: ['alertname', 'service', 'cluster']\n"                                          \
    "receivers:\n"                                                                                 \
    "- name: 'kafka'\n" WEBHOOK0 "- name: 'prod'\n" WEBHOOK0 "- name: 'testing'\n" WEBHOOK0

static const char groups_yaml[] = GROUPS_ROUTE GROUPS_KAFKA;
/* tocsin's group_limit is per route: the env=prod route holds three of the six groups. */
static const char groups_limit_yaml[] = GROUPS_ROUTE "    group_limit: 3\n" GROUPS_KAFKA;

static const char *const groups_input[] = {
    /* Matches the parent route. */
    "alertname=OtherAlert,cluster=cc,service=dd",
    /* Matches the first sub-route. */
    "env=testing,alertname=TestingAlert,service=api,instance=inst1",
    /* Matches the second sub-route. */
    "env=prod,alertname=HighErrorRate,cluster=aa,service=api,instance=inst1",
    "env=prod,alertname=HighErrorRate,cluster=aa,service=api,instance=inst2",
    /* Matches the second sub-route. */
    "env=prod,alertname=HighErrorRate,cluster=bb,service=api,instance=inst1",
    /* Matches the second and third sub-route. */
    "env=prod,alertname=HighLatency,cluster=bb,service=db,kafka=yes,instance=inst3",
};

static const struct {
    const char *labels; /* as JSON */
    const char *receiver;
    const char *group_key;
    const char *route_id;
    int alerts[3]; /* indexes into groups_input, ended by -1 */
} groups_want[] = {
    {"{\"alertname\":\"OtherAlert\"}", "prod", "{}:{alertname=\"OtherAlert\"}", "{}", {0, -1}},
    {"{\"alertname\":\"TestingAlert\",\"service\":\"api\"}",
     "testing",
     "{}/{env=\"testing\"}:{alertname=\"TestingAlert\", service=\"api\"}",
     "{}/{env=\"testing\"}/0",
     {1, -1}},
    {"{\"alertname\":\"HighErrorRate\",\"cluster\":\"aa\",\"service\":\"api\"}",
     "prod",
     "{}/{env=\"prod\"}:{alertname=\"HighErrorRate\", cluster=\"aa\", service=\"api\"}",
     "{}/{env=\"prod\"}/1",
     {2, 3, -1}},
    {"{\"alertname\":\"HighErrorRate\",\"cluster\":\"bb\",\"service\":\"api\"}",
     "prod",
     "{}/{env=\"prod\"}:{alertname=\"HighErrorRate\", cluster=\"bb\", service=\"api\"}",
     "{}/{env=\"prod\"}/1",
     {4, -1}},
    {"{\"alertname\":\"HighLatency\",\"cluster\":\"bb\",\"service\":\"db\"}",
     "kafka",
     "{}/{kafka=\"yes\"}:{alertname=\"HighLatency\", cluster=\"bb\", service=\"db\"}",
     "{}/{kafka=\"yes\"}/2",
     {5, -1}},
    {"{\"alertname\":\"HighLatency\",\"cluster\":\"bb\",\"service\":\"db\"}",
     "prod",
     "{}/{env=\"prod\"}:{alertname=\"HighLatency\", cluster=\"bb\", service=\"db\"}",
     "{}/{env=\"prod\"}/1",
     {5, -1}},
};

/* Upstream's receivers map: every alert's receivers, sorted. */
static const char *const groups_receivers[] = {
    "[{\"name\":\"prod\"}]", "[{\"name\":\"testing\"}]",
    "[{\"name\":\"prod\"}]", "[{\"name\":\"prod\"}]",
    "[{\"name\":\"prod\"}]", "[{\"name\":\"kafka\"},{\"name\":\"prod\"}]",
};

/* Upstream's t0 and t1: started a minute ago (flushed at once), ending in a minute. */
static void put_groups_input(env_t *e)
{
    tn_time_t t0 = e->now - MIN;
    for (size_t i = 0; i < TN_ARRAY_LEN(groups_input); i++)
        put(e, groups_input[i], t0, t0 + 2 * MIN, t0);
    for (int i = 0; recorded(e) != 7 && i < 10; i++)
        advance(e, 200 * MS);
    assert_int_equal(recorded(e), 7);
}

/* Group w of groups_want: labels, receiver, no route labels, and its alerts in order, each
 * active, with upstream's receivers. */
static void check_group(json_t *g, size_t w)
{
    assert_json(json_object_get(g, "labels"), groups_want[w].labels);
    assert_string_equal(json_string_value(json_object_get(json_object_get(g, "receiver"), "name")),
                        groups_want[w].receiver);
    assert_json(json_object_get(g, "routeLabels"), "{}");
    json_t *alerts = json_object_get(g, "alerts");
    size_t n = 0;
    for (; groups_want[w].alerts[n] >= 0; n++) {
        int idx = groups_want[w].alerts[n];
        json_t *a = json_array_get(alerts, n);
        assert_non_null(a);
        char fp[17];
        tn_fingerprint_format(fp_of(groups_input[idx]), fp);
        assert_string_equal(json_string_value(json_object_get(a, "fingerprint")), fp);
        assert_json(json_object_get(a, "status"),
                    "{\"inhibitedBy\":[],\"mutedBy\":[],\"silencedBy\":[],\"state\":\"active\"}");
        assert_json(json_object_get(a, "receivers"), groups_receivers[idx]);
        assert_json(json_object_get(a, "annotations"), "{\"foo\":\"bar\"}");
    }
    assert_int_equal(json_array_size(alerts), n);
}

/* Group keys as notified, and route IDs as the groups' routes have them. */
static void check_keys_and_ids(env_t *e)
{
    views_t w;
    walk_into(e, &w);
    for (size_t i = 0; i < TN_ARRAY_LEN(groups_want); i++) {
        bool sent = false;
        for (size_t k = 0; k < e->nsent && !sent; k++)
            sent = !strcmp(e->sent[k].group_key, groups_want[i].group_key);
        if (!sent)
            fail_msg("no notification for group %s", groups_want[i].group_key);
        bool found = false;
        for (size_t k = 0; k < w.n && !found; k++) {
            const tn_route_t *r = w.v[k].route;
            size_t klen = strlen(r->key);
            found = !strncmp(groups_want[i].group_key, r->key, klen) &&
                    groups_want[i].group_key[klen] == ':' &&
                    !strcmp(r->receiver->name, groups_want[i].receiver) &&
                    !strcmp(r->id, groups_want[i].route_id);
        }
        if (!found)
            fail_msg("no group on route %s", groups_want[i].route_id);
    }
}

static void TestGroups(void **state)
{
    (void)state;
    env_t *e = env_new(groups_yaml);
    put_groups_input(e);
    json_t *groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), TN_ARRAY_LEN(groups_want));
    for (size_t i = 0; i < TN_ARRAY_LEN(groups_want); i++)
        check_group(json_array_get(groups, i), i);
    json_decref(groups);
    check_keys_and_ids(e);
    env_free(e);
}

/* Upstream's limit counts every group of the dispatcher and drops an alert past it; tocsin's
 * group_limit counts a route's groups and sends such an alert to the route's overflow group
 * (docs/configuration.md). The timeline and the limit-reached count are upstream's: six groups,
 * none refused, then one alert past the limit, counted once, and still six ordinary groups. */
static void TestGroupsWithLimits(void **state)
{
    (void)state;
    env_t *e = env_new(groups_limit_yaml);
    const char *reached = "alertmanager_dispatcher_aggregation_group_limit_reached_total";
    put_groups_input(e);
    json_t *groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), 6);
    json_decref(groups);
    assert_true(metric(reached) == 0.0);

    /* Try to store a new alert: this time the limit for groups is hit. */
    uint64_t fp = put(e, "env=prod,alertname=NewAlert,cluster=new-cluster,service=db", e->now,
                      e->now + HR, e->now);
    for (int i = 0; metric(reached) == 0 && i < 10; i++)
        advance(e, 200 * MS);
    assert_true(metric(reached) == 1.0);

    /* Still six ordinary groups; the new alert is in the route's overflow group. */
    groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), 7);
    size_t overflow = 0, seen = 0;
    for (size_t i = 0; i < json_array_size(groups); i++) {
        json_t *g = json_array_get(groups, i);
        char *labels = dump(json_object_get(g, "labels"));
        if (!strcmp(labels, "{\"overflow\":\"true\"}")) {
            overflow = i;
            seen++;
            json_t *a = json_array_get(json_object_get(g, "alerts"), 0);
            char want[17];
            tn_fingerprint_format(fp, want);
            assert_string_equal(json_string_value(json_object_get(a, "fingerprint")), want);
            assert_int_equal(json_array_size(json_object_get(g, "alerts")), 1);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(g, "receiver"), "name")), "prod");
        }
        free(labels);
    }
    assert_int_equal(seen, 1);
    for (size_t i = 0, w = 0; i < json_array_size(groups); i++)
        if (i != overflow)
            check_group(json_array_get(groups, i), w++);
    json_decref(groups);
    assert_int_equal(tn_dispatch_group_count(e->d), 7);
    env_free(e);
}

/* ---- TestDispatcher_DoMaintenance ----
 * A group whose one alert is resolved flushes it, and once that succeeds the group goes, and
 * its state with it: upstream's maintenance drops the group and its mute marker. In tocsin a
 * group's mute state is computed from its route when asked, so nothing outlives the group;
 * the row with a mute time interval shows a muted flush ends the group the same way.
 * Upstream calls flush by hand with a resolved alert; through tocsin's whole pipeline a
 * resolved alert nobody heard of fires nothing (Alertmanager's dedup), so the alert fires
 * and is notified first, then resolves and goes out at the next group_interval. */

static const struct {
    const char *name;
    bool muted;
} maintenance_rows[] = {{"notified", false}, {"muted by a time interval", true}};

static void TestDispatcher_DoMaintenance(void **state)
{
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(maintenance_rows); i++) {
        bool muted = maintenance_rows[i].muted;
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 0s\n"
                 "  group_interval: 5m\n  routes:\n    - matchers: ['alertname=\"1\"']\n%s"
                 "time_intervals:\n  - name: weekends\n    time_intervals:\n"
                 "      - times: [{start_time: '00:00', end_time: '24:00'}]\n"
                 "receivers:\n  - name: r\n" WEBHOOK,
                 muted ? "      mute_time_intervals: [weekends]\n" : "");
        env_t *e = env_new(yaml);
        tn_time_t t = e->now;
        uint64_t fp = put(e, "alertname=1", t - 2 * HR, t + HR, t);
        advance(e, 0);
        assert_int_equal(e->nsent, muted ? 0 : 1);
        assert_int_equal(ngroups(e), 1);
        if (muted) {
            /* While the group exists the groups API shows it muted by its interval. */
            json_t *groups = get_groups(e, "muted=true");
            assert_int_equal(json_array_size(groups), 1);
            json_t *a = json_array_get(json_object_get(json_array_get(groups, 0), "alerts"), 0);
            assert_json(json_object_get(json_object_get(a, "status"), "mutedBy"), "[\"weekends\"]");
            json_decref(groups);
        }
        /* Resolved: the next flush detects it and deletes it after notifying. */
        e->now += MIN;
        put(e, "alertname=1", t - 2 * HR, e->now, e->now);
        advance(e, 5 * MIN);
        if (muted) {
            assert_int_equal(e->nsent, 0);
        } else {
            assert_int_equal(e->nsent, 2);
            assert_int_equal(e->sent[1].nalerts, 1);
            assert_true(e->sent[1].fps[0] == fp && e->sent[1].resolved[0]);
        }
        assert_int_equal(tn_dispatch_group_count(e->d), 0);
        assert_true(gauge("alertmanager_dispatcher_aggregation_groups") == 0.0);
        assert_int_equal(ngroups(e), 0);
        assert_false(tn_dispatch_holds(e->d, tn_alert_store_get(e->store, fp)));
        json_t *groups = get_groups(e, "muted=true");
        assert_int_equal(json_array_size(groups), 0);
        json_decref(groups);
        env_free(e);
    }
}

/* ---- TestDispatcher_DeleteResolvedAlertsFromMarker ----
 * Upstream's per-group marker forgets a resolved alert once a flush notified it. In tocsin
 * the group itself is what remembers: after a successful flush the resolved alert leaves the
 * group (and the store's GC may drop it), after a failed one it stays, and an alert that fired
 * again during the flush stays as its new version. As above, the alerts fire and are notified
 * before one resolves, so that the flush under test has something to send. */

enum { DEL_OK, DEL_FAIL, DEL_MODIFIED };

static const struct {
    const char *upstream;
    int kind;
} delete_rows[] = {
    {"successful flush deletes markers for resolved alerts", DEL_OK},
    {"failed flush does not delete markers", DEL_FAIL},
    {"markers not deleted when alert is modified during flush", DEL_MODIFIED},
};

static void TestDispatcher_DeleteResolvedAlertsFromMarker(void **state)
{
    (void)state;
    static const char yaml[] = "route:\n  receiver: test\n  group_by: [alertname]\n"
                               "  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 1h\n"
                               "receivers:\n  - name: test\n" WEBHOOK;
    for (size_t i = 0; i < TN_ARRAY_LEN(delete_rows); i++) {
        int kind = delete_rows[i].kind;
        env_t *e = env_new(yaml);
        tn_time_t t = e->now;
        uint64_t active = 0;
        if (kind == DEL_OK)
            active = put(e, "alertname=TestAlert,instance=1", t - HR, t + HR, t);
        const char *rl =
            kind == DEL_OK ? "alertname=TestAlert,instance=2" : "alertname=TestAlert,instance=1";
        uint64_t resolved = put(e, rl, t - HR, t + HR, t);
        advance(e, 0);
        assert_int_equal(e->nsent, 1);
        /* It resolves; the next flush is the one under test. */
        e->now += S;
        put(e, rl, t - HR, e->now - S / 2, e->now);
        e->result = kind == DEL_FAIL ? TN_SEND_FAIL : TN_SEND_DONE;
        e->hold = kind == DEL_MODIFIED;
        advance(e, MIN);
        assert_int_equal(e->nsent, 2);
        if (kind == DEL_MODIFIED) {
            /* Fires again during the flush, updated later. */
            e->now += S;
            put(e, rl, t - HR, e->now + HR, e->now);
            answer(&e->sent[1], TN_SEND_DONE);
        }
        views_t w;
        walk_into(e, &w);
        assert_int_equal(w.n, 1);
        const tn_dispatch_group_view_t *g = &w.v[0];
        tn_alert_t *res = tn_alert_store_get(e->store, resolved);
        bool holds_resolved = false;
        for (size_t k = 0; k < g->nalerts; k++)
            holds_resolved = holds_resolved || g->alerts[k] == res;
        if (kind == DEL_OK) {
            assert_int_equal(g->nalerts, 1);
            assert_true(g->alerts[0]->fp == active);
            assert_false(holds_resolved);
            assert_false(tn_dispatch_holds(e->d, res));
            assert_true(tn_dispatch_holds(e->d, tn_alert_store_get(e->store, active)));
        } else {
            /* The alert is still in the group: after the failed flush as it was sent, after
             * the modified one as its new, firing version. */
            assert_int_equal(g->nalerts, 1);
            assert_true(holds_resolved);
            assert_true(tn_dispatch_holds(e->d, res));
            assert_int_equal(tn_alert_resolved_at(res, e->now), kind == DEL_FAIL);
        }
        json_t *groups = get_groups(e, NULL);
        if (kind == DEL_FAIL) {
            /* Resolved alerts are never listed, so neither is a group of only those. */
            assert_int_equal(json_array_size(groups), 0);
        } else {
            json_t *alerts = json_object_get(json_array_get(groups, 0), "alerts");
            assert_int_equal(json_array_size(alerts), 1);
            json_t *st = json_object_get(json_array_get(alerts, 0), "status");
            assert_string_equal(json_string_value(json_object_get(st, "state")), "active");
        }
        json_decref(groups);
        env_free(e);
    }
}

/* ---- TestRouteLabels* ---- */

/* The route labels of the notifications sent, and of the groups API, rendered per group. */
static void TestRouteLabelsAfterAllAlertsResolved(void **state)
{
    (void)state;
    static const char yaml[] =
        "route:\n  receiver: test-receiver\n  group_by: [alertname]\n  group_wait: 10ms\n"
        "  group_interval: 10ms\n  repeat_interval: 1h\n  labels:\n"
        "    description: '{{ (index .Alerts 0).Labels.alertname }}'\n"
        "    status: '{{ .Status }}'\n"
        "receivers:\n  - name: test-receiver\n" WEBHOOK;
    env_t *e = env_new(yaml);
    tn_time_t t = e->now;
    /* A firing alert and the first flush. */
    put(e, "alertname=test,instance=a", t - HR, t + HR, t);
    advance(e, 10 * MS);
    assert_int_equal(e->nsent, 1);
    assert_string_equal(e->sent[0].route_labels, "{description=\"test\", status=\"firing\"}");
    /* The route labels are rendered from the alert. */
    json_t *groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), 1);
    assert_json(json_object_get(json_array_get(groups, 0), "routeLabels"),
                "{\"description\":\"test\",\"status\":\"firing\"}");
    json_decref(groups);

    /* Resolve it: the group's render follows its alerts at once. */
    put(e, "alertname=test,instance=a", t - HR, e->now, e->now);
    views_t w;
    walk_into(e, &w);
    char got[256];
    view_route_labels(&w.v[0], got, sizeof(got));
    assert_string_equal(got, "{description=\"test\", status=\"resolved\"}");
    advance(e, 20 * MS);
    assert_int_equal(e->nsent, 2);
    assert_string_equal(e->sent[1].route_labels, "{description=\"test\", status=\"resolved\"}");
    /* The flush deleted the resolved alert and the group with it: nothing is rendered against
     * an empty group, and nothing is listed. */
    assert_int_equal(ngroups(e), 0);
    groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), 0);
    json_decref(groups);
    env_free(e);
}

/* The flush puts the rendered route labels on its notification: the webhook's routeLabels,
 * and what routeLabels and .RouteLabels return in its templates, without running them again. */
static void TestRouteLabelsInNotifyContext(void **state)
{
    (void)state;
    static const char yaml[] =
        "route:\n  receiver: test-receiver\n  group_by: [alertname]\n  group_wait: 10ms\n"
        "  group_interval: 10ms\n  repeat_interval: 1h\n  labels:\n"
        "    team: ops\n"
        "    name: '{{ (index .Alerts 0).Labels.alertname }}'\n"
        "    raw: '{{ \"{{ .Foo }}\" }}'\n"
        "receivers:\n  - name: test-receiver\n" WEBHOOK;
    env_t *e = env_new(yaml);
    e->probe = "{{ routeLabels \"team\" }}/{{ routeLabels \"name\" }}/{{ routeLabels \"raw\" }}/"
               "{{ .RouteLabels.name }}";
    put(e, "alertname=test,instance=a", e->now - HR, e->now + HR, e->now);
    advance(e, 10 * MS);
    assert_int_equal(e->nsent, 1);
    assert_string_equal(e->sent[0].route_labels,
                        "{name=\"test\", raw=\"{{ .Foo }}\", team=\"ops\"}");
    assert_string_equal(e->sent[0].probe, "ops/test/{{ .Foo }}/test");
    env_free(e);
}

/* Upstream hammers insert and RouteLabels from goroutines under -race; the property behind it,
 * that a render never outlives a change of the group's alerts, is checked in sequence. */
static void TestRouteLabelsInsertConcurrentWithRouteLabels(void **state)
{
    (void)state;
    static const char yaml[] =
        "route:\n  receiver: test-receiver\n  group_by: [alertname]\n  group_wait: 1h\n"
        "  group_interval: 1h\n  repeat_interval: 1h\n  labels:\n"
        "    info: static-value\n"
        "    count: '{{ len .Alerts }}'\n"
        "receivers:\n  - name: test-receiver\n" WEBHOOK;
    env_t *e = env_new(yaml);
    for (int i = 0; i < 100; i++) {
        char labels[64], want[64];
        snprintf(labels, sizeof(labels), "alertname=test,i=%d", i % 10);
        put(e, labels, e->now, e->now + HR, e->now);
        views_t w;
        walk_into(e, &w);
        assert_int_equal(w.n, 1);
        tn_labels_t a = w.v[0].route_labels(&w.v[0]);
        tn_labels_t b = w.v[0].route_labels(&w.v[0]);
        assert_ptr_equal(a.v, b.v); /* kept while the alerts stay as they are */
        char got[128];
        fmt_labels(got, sizeof(got), a);
        snprintf(want, sizeof(want), "{count=\"%d\", info=\"static-value\"}", i < 10 ? i + 1 : 10);
        assert_string_equal(got, want);
        e->now += MS;
    }
    assert_int_equal(e->nsent, 0);
    env_free(e);
}

/* A label that refers to another through routeLabels gets that one's value in its own group:
 * a child route overriding `team` changes `description` there and only there. */
static void TestRouteLabelsPerGroupOverride(void **state)
{
    (void)state;
    static const char yaml[] = "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 1h\n"
                               "  labels:\n"
                               "    team: A\n"
                               "    description: 'team is {{ routeLabels \"team\" }}'\n"
                               "  routes:\n"
                               "    - matchers: ['child=\"yes\"']\n"
                               "      receiver: c\n"
                               "      labels:\n"
                               "        team: B\n"
                               "receivers:\n  - name: r\n" WEBHOOK "  - name: c\n" WEBHOOK;
    env_t *e = env_new(yaml);
    put(e, "alertname=x", e->now, e->now + HR, e->now);
    put(e, "alertname=x,child=yes", e->now, e->now + HR, e->now);
    views_t w;
    walk_into(e, &w);
    assert_int_equal(w.n, 2);
    const tn_dispatch_group_view_t *parent = find_view(&w, "{alertname=\"x\"}", "r");
    const tn_dispatch_group_view_t *child = find_view(&w, "{alertname=\"x\"}", "c");
    /* The child first, then the parent: neither render leaks into the other. */
    char got[256];
    view_route_labels(child, got, sizeof(got));
    assert_string_equal(got, "{description=\"team is B\", team=\"B\"}");
    view_route_labels(parent, got, sizeof(got));
    assert_string_equal(got, "{description=\"team is A\", team=\"A\"}");
    /* The groups API lists both, sorted by receiver (their group labels are equal). */
    json_t *groups = get_groups(e, NULL);
    assert_int_equal(json_array_size(groups), 2);
    assert_json(json_object_get(json_array_get(groups, 0), "routeLabels"),
                "{\"description\":\"team is B\",\"team\":\"B\"}");
    assert_json(json_object_get(json_array_get(groups, 1), "routeLabels"),
                "{\"description\":\"team is A\",\"team\":\"A\"}");
    json_decref(groups);
    env_free(e);
}

/* A label whose template fails is logged and left out, from notifications and from the API
 * alike (renderRouteLabels); the others still render. */
static void TestRouteLabelsTemplateErrors(void **state)
{
    (void)state;
    static const char yaml[] =
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 10ms\n  labels:\n"
        "    good: 'ok {{ .GroupLabels.alertname }}'\n"
        "    unparsable: '{{ .GroupLabels'\n"
        "    cycle: '{{ routeLabels \"cycle\" }}'\n"
        "    out_of_range: '{{ (index .Alerts 5).Labels.x }}'\n"
        "    uses_bad: 'x{{ routeLabels \"unparsable\" }}'\n"
        "receivers:\n  - name: r\n" WEBHOOK;
    env_t *e = env_new(yaml);
    put(e, "alertname=x", e->now - HR, e->now + HR, e->now);
    advance(e, 10 * MS);
    assert_int_equal(e->nsent, 1);
    assert_string_equal(e->sent[0].route_labels, "{good=\"ok x\"}");
    json_t *groups = get_groups(e, NULL);
    assert_json(json_object_get(json_array_get(groups, 0), "routeLabels"), "{\"good\":\"ok x\"}");
    json_decref(groups);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TestGroupLabels),
        cmocka_unit_test(TestGroups),
        cmocka_unit_test(TestGroupsWithLimits),
        cmocka_unit_test(TestDispatcher_DoMaintenance),
        cmocka_unit_test(TestDispatcher_DeleteResolvedAlertsFromMarker),
        cmocka_unit_test(TestRouteLabelsAfterAllAlertsResolved),
        cmocka_unit_test(TestRouteLabelsInNotifyContext),
        cmocka_unit_test(TestRouteLabelsInsertConcurrentWithRouteLabels),
        cmocka_unit_test(TestRouteLabelsPerGroupOverride),
        cmocka_unit_test(TestRouteLabelsTemplateErrors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
