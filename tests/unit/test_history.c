#include "tn_test.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/clock.h"
#include "tocsin/history.h"
#include "tocsin/metrics.h"
#include "tocsin/timefmt.h"

#define S   TN_NS_PER_SEC
#define DAY (24 * 3600 * S)

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tn-history-XXXXXX");
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

static tn_history_t *open_ok(uv_loop_t *loop)
{
    char err[TN_ERRBUF_SIZE];
    tn_history_t *h = tn_history_open(loop, dir, err, sizeof(err));
    if (!h)
        fail_msg("open: %s", err);
    return h;
}

static void finish(uv_loop_t *loop, tn_history_t *h)
{
    tn_history_close(h);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

typedef struct sync_res {
    int calls, rc;
} sync_res_t;

static void on_sync(void *ud, int rc)
{
    sync_res_t *r = ud;
    r->calls++;
    r->rc = rc;
}

static int sync_now(uv_loop_t *loop, tn_history_t *h)
{
    sync_res_t r = {0, 0};
    tn_history_sync(h, on_sync, &r);
    while (!r.calls)
        uv_run(loop, UV_RUN_ONCE);
    return r.rc;
}

typedef struct answer {
    int calls, rc;
    char *body;
    size_t len;
} answer_t;

static void on_answer(void *ud, int rc, char *body, size_t len)
{
    answer_t *a = ud;
    a->calls++;
    a->rc = rc;
    free(a->body);
    a->body = body;
    a->len = len;
}

/* Runs q and returns the parsed answer (the caller json_decrefs it). */
static json_t *query(uv_loop_t *loop, tn_history_t *h, tn_history_query_t *q)
{
    answer_t a = {0};
    tn_history_query(h, q, on_answer, &a);
    assert_int_equal(a.calls, 0); /* never inside the call */
    while (!a.calls)
        uv_run(loop, UV_RUN_ONCE);
    if (a.rc != TN_OK)
        fail_msg("query: %d %s", a.rc, a.body);
    assert_int_equal(strlen(a.body), a.len);
    json_error_t je;
    json_t *j = json_loadb(a.body, a.len, 0, &je);
    if (!j)
        fail_msg("answer is not JSON: %s: %s", je.text, a.body);
    free(a.body);
    return j;
}

static json_t *events_of(json_t *ans)
{
    json_t *ev = json_object_get(ans, "events");
    assert_true(json_is_array(ev));
    return ev;
}

/* The ids of an answer's events, and its cursor (0 for null). */
static size_t ids_of(json_t *ans, uint64_t *ids, size_t max, uint64_t *cursor)
{
    json_t *ev = events_of(ans);
    size_t n = json_array_size(ev);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        ids[i] =
            strtoull(json_string_value(json_object_get(json_array_get(ev, i), "id")), NULL, 10);
    json_t *c = json_object_get(ans, "nextCursor");
    assert_non_null(c);
    *cursor = json_is_null(c) ? 0 : strtoull(json_string_value(c), NULL, 10);
    return n;
}

static uint64_t append_simple(tn_history_t *h, enum tn_event_kind kind, tn_time_t t,
                              const char *receiver)
{
    tn_event_t ev = {.kind = kind, .time = t, .receiver = receiver, .group_key = "{}:{}"};
    return tn_history_append(h, &ev);
}

static const tn_label_t labels_a[] = {
    {"alertname", "DiskFull"}, {"severity", "page"}, {"team", "db"}};
static const tn_label_t labels_b[] = {{"alertname", "HighLatency"}, {"team", "web"}};

static void test_roundtrip(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_time_t t = INT64_C(1796378400123) * TN_NS_PER_MS + 456789; /* 2026-12-04T10:00:00.123Z */
    tn_event_alert_t al[2] = {
        {0x0123456789abcdefULL, {labels_a, 3}, false},
        {0xfedcba9876543210ULL, {labels_b, 2}, true},
    };
    tn_event_t ev = {
        .kind = TN_EV_NOTIFICATION,
        .time = t,
        .group_key = "{}/{team=\"db\"}:{alertname=\"DiskFull\"}",
        .receiver = "oncall",
        .integration = "webhook[0]",
        .reason = "firing",
        .outcome = "sent",
        .error = "retried once: 503",
        .attempts = 2,
        .latency_ms = 12,
        .step = 1,
        .alerts = al,
        .nalerts = 2,
    };
    uint64_t id1 = tn_history_append(h, &ev);
    tn_event_t ack = {
        .kind = TN_EV_ACK,
        .time = t + S,
        .group_key = ev.group_key,
        .by = "alice",
        .comment = "looking",
        .ref = "ack-42",
        .extra_json = "\"expiresAt\":\"2026-12-04T11:00:00.000Z\"",
        .alerts = al,
        .nalerts = 1,
    };
    uint64_t id2 = tn_history_append(h, &ack);
    assert_true(id1 > 0 && id2 > id1);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    assert_int_equal(tn_history_rows(h), 2);
    assert_true(tn_history_bytes(h) > 0);

    tn_history_query_t q = {0};
    json_t *ans = query(&loop, h, &q);
    json_t *evs = events_of(ans);
    assert_int_equal(json_array_size(evs), 2);
    assert_true(json_is_null(json_object_get(ans, "nextCursor")));
    json_t *a = json_array_get(evs, 1), *b = json_array_get(evs, 0);
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%llu", (unsigned long long)id1);
    assert_string_equal(json_string_value(json_object_get(a, "id")), idtext);
    assert_string_equal(json_string_value(json_object_get(a, "time")), "2026-12-04T10:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(a, "kind")), "notification");
    assert_string_equal(json_string_value(json_object_get(a, "groupKey")), ev.group_key);
    assert_string_equal(json_string_value(json_object_get(a, "receiver")), "oncall");
    assert_string_equal(json_string_value(json_object_get(a, "integration")), "webhook[0]");
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "firing");
    assert_string_equal(json_string_value(json_object_get(a, "outcome")), "sent");
    assert_string_equal(json_string_value(json_object_get(a, "error")), "retried once: 503");
    assert_int_equal(json_integer_value(json_object_get(a, "attempts")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "latencyMs")), 12);
    assert_int_equal(json_integer_value(json_object_get(a, "step")), 1);
    assert_null(json_object_get(a, "by"));
    assert_null(json_object_get(a, "alertsTotal"));
    json_t *aa = json_object_get(a, "alerts");
    assert_int_equal(json_array_size(aa), 2);
    json_t *a0 = json_array_get(aa, 0), *a1 = json_array_get(aa, 1);
    assert_string_equal(json_string_value(json_object_get(a0, "fingerprint")), "0123456789abcdef");
    assert_string_equal(json_string_value(json_object_get(a0, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a0, "labels"), "team")),
                        "db");
    assert_int_equal(json_object_size(json_object_get(a0, "labels")), 3);
    assert_string_equal(json_string_value(json_object_get(a1, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(a1, "fingerprint")), "fedcba9876543210");

    assert_string_equal(json_string_value(json_object_get(b, "kind")), "ack");
    assert_string_equal(json_string_value(json_object_get(b, "by")), "alice");
    assert_string_equal(json_string_value(json_object_get(b, "comment")), "looking");
    assert_string_equal(json_string_value(json_object_get(b, "ref")), "ack-42");
    assert_string_equal(json_string_value(json_object_get(b, "expiresAt")),
                        "2026-12-04T11:00:00.000Z");
    assert_null(json_object_get(b, "attempts")); /* not a notification: absent */
    assert_null(json_object_get(b, "receiver"));
    assert_null(json_object_get(b, "error"));
    json_decref(ans);
    finish(&loop, h);
}

typedef struct obs {
    size_t n;
    uint64_t ids[16];
    enum tn_event_kind kinds[16];
    char *json[16];
} obs_t;

static void on_event(void *ud, uint64_t id, enum tn_event_kind kind, const char *json, size_t len)
{
    obs_t *o = ud;
    assert_true(o->n < 16);
    assert_int_equal(strlen(json), len);
    o->ids[o->n] = id;
    o->kinds[o->n] = kind;
    o->json[o->n++] = strdup(json);
}

/* Every append reaches the observer with the JSON the history stores. */
static void test_observer(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    obs_t o = {0};
    tn_history_set_observer(h, on_event, &o);
    enum tn_event_kind kinds[] = {TN_EV_ALERT_FIRING, TN_EV_NOTIFICATION, TN_EV_ACK,
                                  TN_EV_SILENCE_CREATED, TN_EV_ALERT_RESOLVED};
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = append_simple(h, kinds[i], 0, "r");
    assert_int_equal(o.n, 5);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    tn_history_query_t q = {.oldest_first = true};
    json_t *ans = query(&loop, h, &q);
    json_t *evs = events_of(ans);
    assert_int_equal(json_array_size(evs), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_true(o.ids[i] == ids[i]);
        assert_int_equal(o.kinds[i], kinds[i]);
        json_t *mine = json_loads(o.json[i], 0, NULL);
        assert_non_null(mine);
        assert_true(json_equal(mine, json_array_get(evs, i)));
        assert_string_equal(json_string_value(json_object_get(mine, "kind")),
                            tn_event_kind_name(kinds[i]));
        json_decref(mine);
        free(o.json[i]);
    }
    json_decref(ans);
    tn_history_set_observer(h, NULL, NULL);
    append_simple(h, TN_EV_ACK, 0, "r");
    assert_int_equal(o.n, 5);
    finish(&loop, h);
}

static void test_kind_names(void **state)
{
    (void)state;
    for (int k = 0; k < TN_EV__COUNT; k++) {
        enum tn_event_kind back;
        assert_int_equal(tn_event_kind_parse(tn_event_kind_name((enum tn_event_kind)k), &back),
                         TN_OK);
        assert_int_equal(back, k);
    }
    assert_string_equal(tn_event_kind_name(TN_EV_SILENCE_EXPIRED), "silence_expired");
    assert_string_equal(tn_event_kind_name(TN_EV_ALERT_CHANGED), "alert_changed");
    enum tn_event_kind k;
    assert_int_equal(tn_event_kind_parse("nope", &k), TN_ERR_INVAL);
    assert_null(tn_event_kind_name(TN_EV__COUNT));
}

/* Newest first; pages follow the cursor without gaps or repeats; null at the end. */
static void test_paging(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    uint64_t all[25];
    for (int i = 0; i < 25; i++)
        all[i] = append_simple(h, TN_EV_NOTIFICATION, 0, "r");
    assert_int_equal(sync_now(&loop, h), TN_OK);
    uint64_t ids[100], cursor = 0;
    size_t got = 0;
    for (int page = 0; page < 3; page++) {
        tn_history_query_t q = {.limit = 10, .before = cursor};
        json_t *ans = query(&loop, h, &q);
        size_t n = ids_of(ans, ids + got, 100 - got, &cursor);
        json_decref(ans);
        assert_int_equal(n, page < 2 ? 10 : 5);
        got += n;
        if (page < 2)
            assert_true(cursor == ids[got - 1]);
        else
            assert_true(cursor == 0);
    }
    assert_int_equal(got, 25);
    for (size_t i = 0; i < 25; i++)
        assert_true(ids[i] == all[24 - i]);
    /* Exactly a page left: it ends there. */
    tn_history_query_t q = {.limit = 5, .before = all[5]};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 100, &cursor), 5);
    json_decref(ans);
    assert_true(ids[4] == all[0] && cursor == 0);
    /* limit is capped at 1000; 0 means 100. */
    for (int i = 0; i < 1100; i++)
        append_simple(h, TN_EV_ACK, 0, NULL);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    q = (tn_history_query_t){.limit = 5000};
    ans = query(&loop, h, &q);
    assert_int_equal(json_array_size(events_of(ans)), 1000);
    json_decref(ans);
    q = (tn_history_query_t){0};
    ans = query(&loop, h, &q);
    assert_int_equal(json_array_size(events_of(ans)), 100);
    json_decref(ans);
    finish(&loop, h);
}

static size_t count_matching(uv_loop_t *loop, tn_history_t *h, tn_history_query_t *q, uint64_t *ids)
{
    uint64_t cursor;
    q->limit = 1000;
    json_t *ans = query(loop, h, q);
    size_t n = ids_of(ans, ids, 1000, &cursor);
    json_decref(ans);
    return n;
}

static tn_matchers_t parse_matchers(const char *s)
{
    tn_matchers_t ms = {0};
    char err[TN_ERRBUF_SIZE];
    if (tn_matchers_parse(s, &ms, err, sizeof(err)) != TN_OK)
        fail_msg("matchers %s: %s", s, err);
    return ms;
}

static void test_filters(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_time_t t0 = tn_clock_now() / TN_NS_PER_MS * TN_NS_PER_MS - 3600 * S;
    tn_event_alert_t aa = {1, {labels_a, 3}, false}, ab = {2, {labels_b, 2}, false};
    tn_event_alert_t both[2] = {aa, ab};
    /* 0: a to oncall; 1: b to web; 2: both to oncall; 3: ack of a; 4: silence, no alerts. */
    tn_event_t evs[5] = {
        {.kind = TN_EV_NOTIFICATION,
         .time = t0,
         .receiver = "oncall",
         .group_key = "g1",
         .alerts = &aa,
         .nalerts = 1},
        {.kind = TN_EV_NOTIFICATION,
         .time = t0 + 10 * S,
         .receiver = "web",
         .group_key = "g2",
         .alerts = &ab,
         .nalerts = 1},
        {.kind = TN_EV_NOTIFICATION,
         .time = t0 + 20 * S,
         .receiver = "oncall",
         .group_key = "g3",
         .alerts = both,
         .nalerts = 2},
        {.kind = TN_EV_ACK,
         .time = t0 + 30 * S,
         .group_key = "g1",
         .by = "bob",
         .alerts = &aa,
         .nalerts = 1},
        {.kind = TN_EV_SILENCE_CREATED, .time = t0 + 40 * S, .by = "bob", .ref = "sil-1"},
    };
    uint64_t id[5];
    for (int i = 0; i < 5; i++)
        id[i] = tn_history_append(h, &evs[i]);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    uint64_t got[1000];

    tn_history_query_t q = {.kinds = 1u << TN_EV_ACK};
    assert_int_equal(count_matching(&loop, h, &q, got), 1);
    assert_true(got[0] == id[3]);
    q = (tn_history_query_t){.kinds = (1u << TN_EV_ACK) | (1u << TN_EV_SILENCE_CREATED)};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    assert_true(got[0] == id[4] && got[1] == id[3]);

    q = (tn_history_query_t){.receiver = strdup("oncall")};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    assert_true(got[0] == id[2] && got[1] == id[0]);
    assert_null(q.receiver); /* taken over */
    q = (tn_history_query_t){.receiver = strdup("oncall"), .kinds = 1u << TN_EV_ACK};
    assert_int_equal(count_matching(&loop, h, &q, got), 0);
    q = (tn_history_query_t){.group_key = strdup("g1")};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    assert_true(got[0] == id[3] && got[1] == id[0]);

    /* Inclusive since, exclusive until, at millisecond precision. */
    q = (tn_history_query_t){.since = t0 + 10 * S, .until = t0 + 30 * S};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    assert_true(got[0] == id[2] && got[1] == id[1]);
    q = (tn_history_query_t){.since = t0 + 30 * S};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    q = (tn_history_query_t){.until = t0 + 1};
    assert_int_equal(count_matching(&loop, h, &q, got), 0);
    q = (tn_history_query_t){.until = t0 + TN_NS_PER_MS};
    assert_int_equal(count_matching(&loop, h, &q, got), 1);

    /* Matchers: any alert of the event matches all of them. */
    q = (tn_history_query_t){.filter = parse_matchers("{team=\"db\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 3);
    assert_true(got[0] == id[3] && got[1] == id[2] && got[2] == id[0]);
    assert_int_equal(q.filter.n, 0); /* taken over */
    q = (tn_history_query_t){.filter = parse_matchers("{team!=\"db\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 2); /* 1 and 2 (its b alert) */
    assert_true(got[0] == id[2] && got[1] == id[1]);
    q = (tn_history_query_t){.filter = parse_matchers("{alertname=~\"High.*\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    q = (tn_history_query_t){.filter = parse_matchers("{alertname!~\"High.*|Disk.*\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 0);
    /* A missing label is the empty string. */
    q = (tn_history_query_t){.filter = parse_matchers("{severity=\"\", team=\"web\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 2);
    q = (tn_history_query_t){.filter = parse_matchers("{severity=\"page\", team=\"web\"}")};
    assert_int_equal(count_matching(&loop, h, &q, got), 0);
    q = (tn_history_query_t){.filter = parse_matchers("{team=~\"db|web\"}"),
                             .kinds = 1u << TN_EV_NOTIFICATION,
                             .receiver = strdup("oncall"),
                             .since = t0 + S};
    assert_int_equal(count_matching(&loop, h, &q, got), 1);
    assert_true(got[0] == id[2]);
    finish(&loop, h);
}

/* One alert's timeline, oldest first, paged with after. */
static void test_fingerprint_timeline(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_event_alert_t aa = {0xaaaa, {labels_a, 3}, false}, ab = {0xbbbb, {labels_b, 2}, false};
    uint64_t mine[8];
    size_t nmine = 0;
    for (int i = 0; i < 12; i++) {
        tn_event_t ev = {.kind = i % 3 ? TN_EV_NOTIFICATION : TN_EV_ALERT_FIRING,
                         .alerts = i % 2 ? &ab : &aa,
                         .nalerts = 1};
        uint64_t id = tn_history_append(h, &ev);
        if (i % 2 == 0)
            mine[nmine++] = id;
    }
    assert_int_equal(sync_now(&loop, h), TN_OK);
    uint64_t ids[16], cursor;
    tn_history_query_t q = {
        .has_fingerprint = true, .fingerprint = 0xaaaa, .oldest_first = true, .limit = 4};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 16, &cursor), 4);
    json_decref(ans);
    for (int i = 0; i < 4; i++)
        assert_true(ids[i] == mine[i]);
    assert_true(cursor == mine[3]);
    q = (tn_history_query_t){
        .has_fingerprint = true, .fingerprint = 0xaaaa, .oldest_first = true, .after = cursor};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 16, &cursor), 2);
    json_decref(ans);
    assert_true(ids[0] == mine[4] && ids[1] == mine[5] && cursor == 0);
    /* Newest first too, and combined with a kind. */
    q = (tn_history_query_t){
        .has_fingerprint = true, .fingerprint = 0xaaaa, .kinds = 1u << TN_EV_ALERT_FIRING};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 16, &cursor), 2); /* i = 0 and 6 */
    json_decref(ans);
    assert_true(ids[0] == mine[3] && ids[1] == mine[0]);
    q = (tn_history_query_t){.has_fingerprint = true, .fingerprint = 0xcccc};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 16, &cursor), 0);
    json_decref(ans);
    finish(&loop, h);
}

/* A filter that matches nothing stops after a bounded scan and hands out a cursor. */
static void test_scan_bound(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_event_alert_t aa = {1, {labels_a, 3}, false};
    for (int i = 0; i < 60000; i++) {
        tn_event_t ev = {.kind = TN_EV_ALERT_CHANGED, .alerts = &aa, .nalerts = 1};
        tn_history_append(h, &ev);
    }
    assert_int_equal(sync_now(&loop, h), TN_OK);
    assert_int_equal(tn_history_rows(h), 60000);
    uint64_t ids[4], cursor;
    tn_history_query_t q = {.filter = parse_matchers("{team=\"nobody\"}")};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 4, &cursor), 0);
    json_decref(ans);
    assert_true(cursor > 0 && cursor < 60000);
    q = (tn_history_query_t){.filter = parse_matchers("{team=\"nobody\"}"), .before = cursor};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 4, &cursor), 0);
    json_decref(ans);
    assert_true(cursor == 0);
    finish(&loop, h);
}

/* Ids keep growing across a clean close and across a run that never closed. */
static void test_ids_monotonic(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    uint64_t a = append_simple(h, TN_EV_ACK, 0, NULL);
    uint64_t b = append_simple(h, TN_EV_ACK, 0, NULL);
    assert_true(b == a + 1);
    finish(&loop, h);
    uv_loop_init(&loop);
    h = open_ok(&loop);
    assert_int_equal(tn_history_rows(h), 2);
    uint64_t c = append_simple(h, TN_EV_ACK, 0, NULL);
    assert_true(c == b + 1); /* a clean close gives back the reservation */
    /* Another opener while this one runs: ids above everything this one may hand out. */
    uv_loop_t loop2;
    uv_loop_init(&loop2);
    char err[TN_ERRBUF_SIZE];
    tn_history_t *h2 = tn_history_open(&loop2, dir, err, sizeof(err));
    assert_non_null(h2);
    uint64_t d = append_simple(h2, TN_EV_ACK, 0, NULL);
    assert_true(d > c + 1000);
    finish(&loop2, h2);
    uint64_t e = append_simple(h, TN_EV_ACK, 0, NULL);
    finish(&loop, h);
    uv_loop_init(&loop);
    h = open_ok(&loop);
    uint64_t f = append_simple(h, TN_EV_ACK, 0, NULL);
    assert_true(f > d && f > e);
    assert_int_equal(tn_history_rows(h), 5);
    finish(&loop, h);
}

static void test_retention_and_size(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_history_register_metrics(h);
    tn_history_set_limits(h, 0, 0); /* kept forever, until the limits below */
    tn_time_t now = tn_clock_now();
    tn_event_alert_t aa = {7, {labels_a, 3}, false};
    for (int i = 0; i < 10; i++) {
        tn_event_t ev = {
            .kind = TN_EV_NOTIFICATION, .time = now - (40 - i) * DAY, .alerts = &aa, .nalerts = 1};
        tn_history_append(h, &ev);
    }
    uint64_t keep_first = 0;
    for (int i = 0; i < 10; i++) {
        tn_event_t ev = {
            .kind = TN_EV_NOTIFICATION, .time = now - (20 - i) * DAY, .alerts = &aa, .nalerts = 1};
        uint64_t id = tn_history_append(h, &ev);
        keep_first = keep_first ? keep_first : id;
    }
    assert_int_equal(sync_now(&loop, h), TN_OK);
    assert_int_equal(tn_history_rows(h), 20);
    tn_history_set_limits(h, 30 * DAY, 0);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    /* The rows 31 to 40 days old went (the first pass ran at open or with the limits). */
    assert_int_equal(tn_history_rows(h), 10);
    tn_metric_child_t *rows = tn_metric_plain(tn_metric_gauge("tocsin_history_rows", "", NULL));
    assert_true(tn_metric_value(rows) == 10);
    uint64_t ids[32], cursor;
    tn_history_query_t q = {.oldest_first = true};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 32, &cursor), 10);
    json_decref(ans);
    assert_true(ids[0] == keep_first);
    /* Their timeline entries went with them. */
    q = (tn_history_query_t){.has_fingerprint = true, .fingerprint = 7};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 32, &cursor), 10);
    json_decref(ans);

    /* The size cap: oldest first, down below the cap. */
    uint64_t per = tn_history_bytes(h) / 10;
    tn_history_set_limits(h, 30 * DAY, per * 6);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    assert_true(tn_history_bytes(h) <= per * 6);
    assert_int_equal(tn_history_rows(h), 5);
    tn_metric_child_t *bytes = tn_metric_plain(tn_metric_gauge("tocsin_history_bytes", "", NULL));
    assert_true(tn_metric_value(bytes) == (double)tn_history_bytes(h));
    q = (tn_history_query_t){.oldest_first = true};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 32, &cursor), 5);
    json_decref(ans);
    assert_true(ids[0] == keep_first + 5);
    finish(&loop, h);

    /* The counts are kept in the file. */
    uv_loop_init(&loop);
    h = open_ok(&loop);
    assert_int_equal(tn_history_rows(h), 5);
    finish(&loop, h);
    char path[128];
    snprintf(path, sizeof(path), "%s/history.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM event_alerts), (SELECT "
                                        "journal_mode FROM pragma_journal_mode)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static json_t *only_event(uv_loop_t *loop, tn_history_t *h)
{
    tn_history_query_t q = {.limit = 1};
    json_t *ans = query(loop, h, &q);
    json_t *ev = json_incref(json_array_get(events_of(ans), 0));
    json_decref(ans);
    assert_non_null(ev);
    return ev;
}

static void test_caps(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    /* 10 KiB of two-byte characters, offset by one byte: the cut must not split one. */
    size_t len = 1 + 5 * 1024 * 2;
    char *comment = malloc(len + 1);
    comment[0] = 'x';
    for (size_t i = 1; i < len; i += 2) {
        comment[i] = (char)0xc3;
        comment[i + 1] = (char)0xa9; /* é */
    }
    comment[len] = 0;
    tn_event_alert_t *al = calloc(1500, sizeof(*al));
    for (size_t i = 0; i < 1500; i++)
        al[i] = (tn_event_alert_t){i + 1, {labels_b, 2}, i % 2 == 1};
    tn_event_t ev = {
        .kind = TN_EV_RESOLVE, .by = "carol", .comment = comment, .alerts = al, .nalerts = 1500};
    tn_history_append(h, &ev);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    json_t *e = only_event(&loop, h);
    const char *c = json_string_value(json_object_get(e, "comment"));
    assert_non_null(c); /* jansson refuses invalid UTF-8: the cut kept whole characters */
    assert_true(strlen(c) <= TN_HISTORY_MAX_TEXT && strlen(c) >= TN_HISTORY_MAX_TEXT - 3);
    assert_true(strncmp(c, comment, strlen(c)) == 0);
    assert_int_equal(json_array_size(json_object_get(e, "alerts")), TN_HISTORY_MAX_ALERTS);
    assert_int_equal(json_integer_value(json_object_get(e, "alertsTotal")), 1500);
    json_decref(e);
    /* Only the kept alerts are in the timeline index. */
    uint64_t ids[2], cursor;
    tn_history_query_t q = {.has_fingerprint = true, .fingerprint = 1000};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 2, &cursor), 1);
    json_decref(ans);
    q = (tn_history_query_t){.has_fingerprint = true, .fingerprint = 1001};
    ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 2, &cursor), 0);
    json_decref(ans);
    free(comment);
    free(al);
    finish(&loop, h);
}

typedef struct raw {
    char *json;
} raw_t;

static void on_raw(void *ud, uint64_t id, enum tn_event_kind kind, const char *json, size_t len)
{
    (void)id;
    (void)kind;
    raw_t *r = ud;
    free(r->json);
    r->json = strndup(json, len);
}

/* Labels come from outside: markup, quotes and invalid UTF-8 stay inside their strings. */
static void test_escaping(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    raw_t raw = {0};
    tn_history_set_observer(h, on_raw, &raw);
    const tn_label_t ls[] = {{"alertname", "<script>alert(\"x\")</script>"},
                             {"bad", "\xff\xfe ok \xc3"},
                             {"quote\"name", "a\\b\n"}};
    tn_event_alert_t al = {9, {ls, 3}, false};
    tn_event_t ev = {.kind = TN_EV_ALERT_FIRING,
                     .comment = "</script><b>\"hi\"</b>",
                     .alerts = &al,
                     .nalerts = 1};
    tn_history_append(h, &ev);
    assert_non_null(raw.json);
    assert_null(strstr(raw.json, "<"));
    assert_null(strstr(raw.json, ">"));
    assert_non_null(strstr(raw.json, "\\u003cscript\\u003e"));
    assert_non_null(strstr(raw.json, "\\ufffd\\ufffd ok \\ufffd"));
    assert_int_equal(sync_now(&loop, h), TN_OK);
    json_t *e = only_event(&loop, h);
    json_t *labels = json_object_get(json_array_get(json_object_get(e, "alerts"), 0), "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "alertname")),
                        "<script>alert(\"x\")</script>");
    assert_string_equal(json_string_value(json_object_get(labels, "bad")),
                        "\xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(labels, "quote\"name")), "a\\b\n");
    assert_string_equal(json_string_value(json_object_get(e, "comment")), "</script><b>\"hi\"</b>");
    json_decref(e);
    /* The stored labels still match on their raw bytes. */
    uint64_t ids[2], cursor;
    tn_history_query_t q = {.filter = parse_matchers("{alertname=~\"<script>.*\"}")};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 2, &cursor), 1);
    json_decref(ans);
    free(raw.json);
    finish(&loop, h);
}

static void test_damaged_file(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE], path[128];
    snprintf(path, sizeof(path), "%s/history.db", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, not at all. ", f);
    fclose(f);
    uv_loop_t loop;
    uv_loop_init(&loop);
    assert_null(tn_history_open(&loop, dir, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 200 * 36); /* untouched */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* What was synced survives the process: a second opener sees it at once, and a child killed
 * without closing leaves its committed rows behind. */
static void test_durability(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    for (int i = 0; i < 3; i++)
        append_simple(h, TN_EV_NOTIFICATION, 0, "r");
    assert_int_equal(sync_now(&loop, h), TN_OK);
    uv_loop_t loop2;
    uv_loop_init(&loop2);
    tn_history_t *h2 = open_ok(&loop2);
    assert_int_equal(tn_history_rows(h2), 3);
    tn_history_query_t q = {0};
    json_t *ans = query(&loop2, h2, &q);
    assert_int_equal(json_array_size(events_of(ans)), 3);
    json_decref(ans);
    finish(&loop2, h2);
    finish(&loop, h);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t cl;
        uv_loop_init(&cl);
        char err[TN_ERRBUF_SIZE];
        tn_history_t *ch = tn_history_open(&cl, dir, err, sizeof(err));
        if (!ch)
            _exit(2);
        uint64_t last = 0;
        for (int i = 0; i < 50; i++)
            last = append_simple(ch, TN_EV_ALERT_FIRING, 0, "child");
        sync_res_t r = {0, 0};
        tn_history_sync(ch, on_sync, &r);
        while (!r.calls)
            uv_run(&cl, UV_RUN_ONCE);
        if (r.rc != TN_OK)
            _exit(3);
        /* Queued, never synced: may or may not be there. */
        for (int i = 0; i < 20; i++)
            last = append_simple(ch, TN_EV_ALERT_FIRING, 0, "child");
        if (write(fds[1], &last, sizeof(last)) != sizeof(last))
            _exit(4);
        _exit(0);
    }
    close(fds[1]);
    uint64_t child_last = 0;
    assert_int_equal(read(fds[0], &child_last, sizeof(child_last)), sizeof(child_last));
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    uv_loop_init(&loop);
    h = open_ok(&loop);
    uint64_t rows = tn_history_rows(h);
    assert_true(rows >= 53 && rows <= 73);
    q = (tn_history_query_t){.receiver = strdup("child")};
    ans = query(&loop, h, &q);
    assert_true(json_array_size(events_of(ans)) >= 50);
    json_decref(ans);
    /* Even ids the child handed out but never wrote are not handed out again. */
    uint64_t next = append_simple(h, TN_EV_ACK, 0, NULL);
    assert_true(next > child_last);
    finish(&loop, h);
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

/* Appends reach the file within a short delay, without anyone syncing. */
static void test_prompt_write(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, noop_timer, 60000, 0);
    append_simple(h, TN_EV_ACK, 0, NULL);
    uint64_t t0 = tn_clock_mono_ms();
    while (tn_history_rows(h) == 0 && tn_clock_mono_ms() - t0 < 3000)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(tn_history_rows(h), 1);
    assert_true(tn_clock_mono_ms() - t0 < 1000);
    uv_close((uv_handle_t *)&keep, NULL);
    finish(&loop, h);
}

/* Two queries run, sixteen wait, the rest hear "busy" on the next loop turn. */
static void test_query_busy(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    append_simple(h, TN_EV_ACK, 0, NULL);
    assert_int_equal(sync_now(&loop, h), TN_OK);
    answer_t a[20];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 20; i++) {
        tn_history_query_t q = {.kinds = 1u << TN_EV_ACK};
        tn_history_query(h, &q, on_answer, &a[i]);
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(a[i].calls, 0);
    for (int done = 0; done < 20;) {
        uv_run(&loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 20; i++)
            done += a[i].calls;
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(a[i].calls, 1);
        if (a[i].rc == TN_OK) {
            ok++;
            assert_non_null(strstr(a[i].body, "\"kind\":\"ack\""));
        } else {
            assert_int_equal(a[i].rc, TN_ERR_LIMIT);
            busy++;
        }
        free(a[i].body);
    }
    assert_int_equal(ok, 18);
    assert_int_equal(busy, 2);
    /* Queries waiting at close are answered. */
    for (int i = 0; i < 5; i++) {
        tn_history_query_t q = {0};
        memset(&a[i], 0, sizeof(a[i]));
        tn_history_query(h, &q, on_answer, &a[i]);
    }
    tn_history_close(h);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a[i].calls, 1);
        free(a[i].body);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A failing disk: counted, reported to sync, retried; past the queue's cap the oldest rows
 * are dropped and counted. */
static void test_write_failure(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tn_history_t *h = open_ok(&loop);
    tn_history_register_metrics(h);
    tn_history_set_queue_limits(h, 16, 0);
    tn_metric_child_t *errors =
        tn_metric_plain(tn_metric_counter("tocsin_history_write_errors_total", "", NULL));
    tn_metric_child_t *dropped =
        tn_metric_plain(tn_metric_counter("tocsin_history_dropped_total", "", NULL));
    char path[128];
    snprintf(path, sizeof(path), "%s/history.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE events RENAME TO ev_away", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 10; i++)
        append_simple(h, TN_EV_ACK, 0, NULL);
    assert_int_equal(sync_now(&loop, h), TN_ERR_IO);
    assert_true(tn_metric_value(errors) >= 1);
    uint64_t last = 0;
    for (int i = 0; i < 10; i++)
        last = append_simple(h, TN_EV_UNACK, 0, NULL);
    /* 20 queued past a cap of 16: down to 14, the oldest first. */
    assert_true(tn_metric_value(dropped) == 6);
    assert_int_equal(sync_now(&loop, h), TN_ERR_IO);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE ev_away RENAME TO events", NULL, NULL, NULL),
                     SQLITE_OK);
    /* A waiter that lived through the drop hears of it; the next one is fine. */
    assert_int_equal(sync_now(&loop, h), TN_OK);
    assert_int_equal(tn_history_rows(h), 14);
    uint64_t ids[32], cursor;
    tn_history_query_t q = {0};
    json_t *ans = query(&loop, h, &q);
    assert_int_equal(ids_of(ans, ids, 32, &cursor), 14);
    json_decref(ans);
    assert_true(ids[0] == last && ids[13] == last - 13);
    sqlite3_close(db);
    finish(&loop, h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
