/* The v2 API's silences, alert status from silences, alert groups, status and receivers,
 * driven through api_dispatch without a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/metrics.h"
#include "tocsin/yamltree.h"

#define T0 (INT64_C(1704067200) * TN_NS_PER_SEC) /* 2024-01-01T00:00:00Z */

static const char *CONFIG = "global:\n"
                            "  slack_api_url: https://hooks.slack.com/services/SLACKSECRET\n"
                            "route:\n"
                            "  receiver: default\n"
                            "  group_by: [alertname]\n"
                            "  routes:\n"
                            "    - matchers: ['team=\"a\"']\n"
                            "      receiver: team-a\n"
                            "receivers:\n"
                            "  - name: default\n"
                            "  - name: team-a\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:9/x?token=URLSECRET\n"
                            "        http_config:\n"
                            "          basic_auth: {username: u, password: PASSSECRET}\n"
                            "  - name: other\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:9/y\n"
                            "        http_config:\n"
                            "          authorization: {credentials: AUTHSECRET}\n";

typedef struct fixture {
    tn_api_deps_t deps;
    tn_api_t *api;
    tn_alert_store_t *store;
    tn_silences_t *silences;
    tn_config_t *cfg;
    tn_time_t now;
    api_reply_t rep;
} fixture_t;

static const tn_config_t *fx_config(void *ud)
{
    return ((fixture_t *)ud)->cfg;
}

static size_t fx_receivers(void *ud, const tn_alert_t *a, const char **out, size_t max)
{
    fixture_t *f = ud;
    const tn_route_t *r[8];
    size_t n = tn_route_match(f->cfg->route, tn_alert_labels(a), r, 8);
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = r[i]->receiver->name;
    return n;
}

/* Groups as a dispatcher would hold them: one per (route, alertname) of the alerts stored. */
typedef struct fx_group_walk {
    fixture_t *f;
    tn_dispatch_group_fn fn;
    void *fnud;
} fx_group_walk_t;

static bool fx_group_each(void *ud, tn_alert_t *a)
{
    fx_group_walk_t *w = ud;
    const tn_route_t *r[8];
    size_t n = tn_route_match(w->f->cfg->route, tn_alert_labels(a), r, 8);
    for (size_t i = 0; i < n; i++) {

        tn_alert_t *one[1] = {a};
        /* the group labels must outlive the call: the alert's own alertname pair (it sorts
         * first in these tests' alerts) */
        tn_dispatch_group_view_t g = {
            .route = r[i], .labels = {a->labels, 1}, .alerts = one, .nalerts = 1};
        if (!w->fn(w->fnud, &g))
            return false;
    }
    return true;
}

static void fx_foreach_group(void *ud, tn_dispatch_group_fn fn, void *fnud)
{
    fixture_t *f = ud;
    fx_group_walk_t w = {f, fn, fnud};
    tn_alert_store_foreach(f->store, fx_group_each, &w);
}

static int setup(void **state)
{
    fixture_t *f = tn_xcalloc(1, sizeof(*f));
    f->now = T0;
    tn_clock_set_fake(&f->now);
    char err[TN_ERRBUF_SIZE];
    f->cfg = tn_config_load_string("am.yml", CONFIG, strlen(CONFIG), err, sizeof(err));
    if (!f->cfg)
        fail_msg("config: %s", err);
    f->store = tn_alert_store_new();
    f->silences = tn_silences_new();
    f->deps = (tn_api_deps_t){
        .ud = f,
        .store = f->store,
        .config = fx_config,
        .alert_receivers = fx_receivers,
        .silences = f->silences,
        .foreach_group = fx_foreach_group,
    };
    f->api = tn_api_new(&f->deps);
    api_reply_init(&f->rep);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    api_reply_free(&f->rep);
    tn_api_free(f->api);
    tn_silences_free(f->silences);
    tn_alert_store_free(f->store);
    tn_config_unref(f->cfg);
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    free(f);
    return 0;
}

static api_reply_t *call(fixture_t *f, const char *method, const char *path, const char *query,
                         const char *body)
{
    api_reply_free(&f->rep);
    api_reply_init(&f->rep);
    api_call_t c = {
        .method = method,
        .path = path,
        .query = query ? query : "",
        .body = body,
        .len = body ? strlen(body) : 0,
    };
    api_dispatch(f->api, &c, &f->rep);
    tn_buf_cstr(&f->rep.body);
    return &f->rep;
}

static const char *body(api_reply_t *r)
{
    return r->body.len ? r->body.data : "";
}

#define SIL(matchers, start, end)                                                                  \
    "{\"matchers\":" matchers ",\"startsAt\":\"" start "\",\"endsAt\":\"" end                      \
    "\",\"createdBy\":\"me\",\"comment\":\"c\"}"
#define M_A "[{\"name\":\"alertname\",\"value\":\"A\",\"isRegex\":false}]"

/* Creates a silence and returns its id (static buffer). */
static const char *post_silence(fixture_t *f, const char *json)
{
    static char id[37];
    api_reply_t *r = call(f, "POST", "/api/v2/silences", NULL, json);
    assert_int_equal(r->status, 200);
    assert_true(r->flags & API_REPLY_SYNC);
    const char *p = strstr(body(r), "{\"silenceID\":\"");
    assert_non_null(p);
    memcpy(id, p + 14, 36);
    id[36] = 0;
    assert_int_equal(strlen(body(r)), 14 + 36 + 3);
    return id;
}

static void test_silence_create_get_expire(void **state)
{
    fixture_t *f = *state;
    const char *id = post_silence(f, SIL(M_A, "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z"));
    char sid[37];
    memcpy(sid, id, 37);

    char *want = tn_xasprintf(
        "{\"id\":\"%s\",\"status\":{\"state\":\"active\"},\"updatedAt\":"
        "\"2024-01-01T00:00:00.000Z\",\"comment\":\"c\",\"createdBy\":\"me\",\"endsAt\":"
        "\"2024-01-01T02:00:00.000Z\",\"matchers\":[{\"isEqual\":true,\"isRegex\":false,"
        "\"name\":\"alertname\",\"value\":\"A\"}],\"startsAt\":\"2024-01-01T00:00:00.000Z\"}",
        sid);
    char *path = tn_xasprintf("/api/v2/silence/%s", sid);
    api_reply_t *r = call(f, "GET", path, NULL, NULL);
    assert_int_equal(r->status, 200);
    char *one = tn_xasprintf("%s\n", want);
    assert_string_equal(body(r), one);
    r = call(f, "GET", "/api/v2/silences", NULL, NULL);
    char *list = tn_xasprintf("[%s]\n", want);
    assert_string_equal(body(r), list);

    /* filters: an identical matcher must be in the silence */
    r = call(f, "GET", "/api/v2/silences", "filter=alertname%3D%22A%22", NULL);
    assert_string_equal(body(r), list);
    r = call(f, "GET", "/api/v2/silences", "filter=alertname%3D~%22A%22", NULL);
    assert_string_equal(body(r), "[]\n");
    r = call(f, "GET", "/api/v2/silences", "active=false", NULL);
    assert_string_equal(body(r), "[]\n");

    r = call(f, "DELETE", path, NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_true(r->flags & API_REPLY_SYNC);
    r = call(f, "GET", path, NULL, NULL);
    assert_non_null(strstr(body(r), "\"state\":\"expired\""));
    r = call(f, "GET", "/api/v2/silences", "expired=false", NULL);
    assert_string_equal(body(r), "[]\n");
    /* expiring again is no error, and no change to wait for */
    r = call(f, "DELETE", path, NULL, NULL);
    assert_int_equal(r->status, 200);

    r = call(f, "DELETE", "/api/v2/silence/6f1e8f5c-1111-4111-8111-111111111111", NULL, NULL);
    assert_int_equal(r->status, 404);
    r = call(f, "GET", "/api/v2/silence/6f1e8f5c-1111-4111-8111-111111111111", NULL, NULL);
    assert_int_equal(r->status, 404);
    assert_string_equal(body(r), "");
    r = call(f, "GET", "/api/v2/silence/xyz", NULL, NULL);
    assert_int_equal(r->status, 422);
    assert_string_equal(body(r), "{\"code\":601,\"message\":\"silenceID in path must be of type "
                                 "uuid: \\\"xyz\\\"\"}");
    r = call(f, "PUT", path, NULL, NULL);
    assert_int_equal(r->status, 405);
    free(want);
    free(one);
    free(list);
    free(path);
}

static void test_silence_update_and_order(void **state)
{
    fixture_t *f = *state;
    char a[37], b[37];
    memcpy(a, post_silence(f, SIL(M_A, "2024-01-01T00:00:00Z", "2024-01-01T05:00:00Z")), 37);
    memcpy(b, post_silence(f, SIL(M_A, "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")), 37);
    post_silence(f, SIL(M_A, "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")); /* pending */
    /* active ones first, the next to end first; pending after */
    api_reply_t *r = call(f, "GET", "/api/v2/silences", NULL, NULL);
    const char *pa = strstr(body(r), a), *pb = strstr(body(r), b);
    const char *pp = strstr(body(r), "\"pending\"");
    assert_true(pb && pa && pp && pb < pa && pa < pp);

    /* a comment change keeps the id */
    char *upd = tn_xasprintf("{\"id\":\"%s\",\"matchers\":" M_A ",\"startsAt\":"
                             "\"2024-01-01T00:00:00Z\",\"endsAt\":\"2024-01-01T05:00:00Z\","
                             "\"createdBy\":\"me\",\"comment\":\"new\"}",
                             a);
    r = call(f, "POST", "/api/v2/silences", NULL, upd);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(body(r), a));
    free(upd);
    r = call(f, "POST", "/api/v2/silences", NULL,
             "{\"id\":\"6f1e8f5c-1111-4111-8111-111111111111\",\"matchers\":" M_A
             ",\"startsAt\":\"2024-01-01T00:00:00Z\",\"endsAt\":\"2024-01-01T05:00:00Z\","
             "\"createdBy\":\"me\",\"comment\":\"x\"}");
    assert_int_equal(r->status, 404);
    assert_string_equal(body(r), "\"silence not found\"\n");
}

static void test_silence_errors(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *body;
        int status;
        const char *want;
    } cases[] = {
        {NULL, 422, "{\"code\":602,\"message\":\"silence in body is required\"}"},
        {"{}", 422, "{\"code\":602,\"message\":\"comment in body is required\"}"},
        {"{\"comment\":\"c\",\"createdBy\":\"\",\"endsAt\":\"2024-01-02T00:00:00Z\","
         "\"startsAt\":\"2024-01-01T00:00:00Z\"}",
         422, "{\"code\":602,\"message\":\"matchers in body is required\"}"},
        {SIL("[]", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"), 422,
         "{\"code\":612,\"message\":\"matchers in body should have at least 1 items\"}"},
        {SIL("[{\"name\":\"a\",\"value\":\"b\"}]", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
         422, "{\"code\":602,\"message\":\"matchers.0.isRegex in body is required\"}"},
        {SIL(M_A, "2024-01-01T00:00:00Z", "2023-01-02T00:00:00Z"), 400,
         "\"Failed to create silence: start time must be before end time\"\n"},
        {SIL(M_A, "2023-01-01T00:00:00Z", "2023-01-02T00:00:00Z"), 400,
         "\"Failed to create silence: end time can't be in the past\"\n"},
        {SIL("[{\"name\":\"a\",\"value\":\"(\",\"isRegex\":true}]", "2024-01-01T00:00:00Z",
             "2024-01-02T00:00:00Z"),
         400, NULL},
        {SIL("[{\"name\":\"a\",\"value\":\"\",\"isRegex\":false}]", "2024-01-01T00:00:00Z",
             "2024-01-02T00:00:00Z"),
         400, NULL},
        {"x", 400, NULL},
        {"[1]", 400, NULL},
        {"{\"comment\":7}", 400, NULL},
        /* a NUL would cut the value short and mute more than asked */
        {SIL("[{\"name\":\"a\",\"value\":\"a\\u0000b\",\"isRegex\":false}]", "2024-01-01T00:00:00Z",
             "2024-01-02T00:00:00Z"),
         400, "\"matchers.0.value: contains a NUL character\"\n"},
        {SIL("[{\"name\":\"a\\u0000\",\"value\":\"b\",\"isRegex\":false}]", "2024-01-01T00:00:00Z",
             "2024-01-02T00:00:00Z"),
         400, "\"matchers.0.name: contains a NUL character\"\n"},
        {"{\"comment\":\"x\\u0000y\",\"createdBy\":\"me\",\"endsAt\":\"2024-01-02T00:00:00Z\","
         "\"matchers\":" M_A "}",
         400, "\"comment: contains a NUL character\"\n"},
        {"{\"comment\":\"x\",\"createdBy\":\"m\\u0000e\",\"endsAt\":\"2024-01-02T00:00:00Z\","
         "\"matchers\":" M_A "}",
         400, "\"createdBy: contains a NUL character\"\n"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        api_reply_t *r = call(f, "POST", "/api/v2/silences", NULL, cases[i].body);
        if (r->status != cases[i].status)
            fail_msg("case %zu: status %d, body %s", i, r->status, body(r));
        assert_false(r->flags & API_REPLY_SYNC);
        if (cases[i].want)
            assert_string_equal(body(r), cases[i].want);
        else
            assert_true(body(r)[0] == '"' || strncmp(body(r), "{\"code\":400", 11) == 0);
    }
    assert_int_equal(tn_silences_total(f->silences), 0);
}

static void test_alert_status_from_silences(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r =
        call(f, "POST", "/api/v2/alerts", NULL,
             "[{\"labels\":{\"alertname\":\"A\"}},{\"labels\":{\"alertname\":\"B\"}}]");
    assert_int_equal(r->status, 200);
    char id[37];
    memcpy(id, post_silence(f, SIL(M_A, "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")), 37);
    char *muted = tn_xasprintf("\"status\":{\"inhibitedBy\":[],\"mutedBy\":[],\"silencedBy\":"
                               "[\"%s\"],\"state\":\"suppressed\"}",
                               id);
    r = call(f, "GET", "/api/v2/alerts", "filter=alertname%3DA", NULL);
    assert_non_null(strstr(body(r), muted));
    r = call(f, "GET", "/api/v2/alerts", "silenced=false", NULL);
    assert_null(strstr(body(r), "\"alertname\":\"A\""));
    assert_non_null(strstr(body(r), "\"alertname\":\"B\""));
    r = call(f, "GET", "/api/v2/alerts", "active=false", NULL);
    assert_non_null(strstr(body(r), "\"alertname\":\"A\""));
    assert_null(strstr(body(r), "\"alertname\":\"B\""));
    /* status is computed now: after the silence ends A is active again */
    f->now += 3 * 3600 * TN_NS_PER_SEC;
    r = call(f, "POST", "/api/v2/alerts", NULL, "[{\"labels\":{\"alertname\":\"A\"}}]");
    r = call(f, "GET", "/api/v2/alerts", "silenced=false&filter=alertname%3DA", NULL);
    assert_non_null(strstr(body(r), "\"state\":\"active\""));
    free(muted);
}

static void test_filter_caps(void **state)
{
    fixture_t *f = *state;
    tn_buf_t q;
    tn_buf_init(&q, 0);
    tn_buf_puts(&q, "filter=a%3D~");
    for (int i = 0; i < API_MAX_FILTER_LEN; i++)
        tn_buf_putc(&q, 'x');
    api_reply_t *r = call(f, "GET", "/api/v2/alerts", tn_buf_cstr(&q), NULL);
    assert_int_equal(r->status, 400);
    r = call(f, "GET", "/api/v2/alerts/groups", tn_buf_cstr(&q), NULL);
    assert_int_equal(r->status, 400);
    r = call(f, "GET", "/api/v2/silences", tn_buf_cstr(&q), NULL);
    assert_int_equal(r->status, 400);
    tn_buf_reset(&q);
    for (int i = 0; i <= API_MAX_FILTERS; i++)
        tn_buf_printf(&q, "%sfilter=a%%3Db", i ? "&" : "");
    r = call(f, "GET", "/api/v2/alerts", tn_buf_cstr(&q), NULL);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(body(r), "too many filter matchers"));
    tn_buf_free(&q);
}

static void test_groups(void **state)
{
    fixture_t *f = *state;
    call(f, "POST", "/api/v2/alerts", NULL,
         "[{\"labels\":{\"alertname\":\"B\",\"team\":\"a\"}},"
         "{\"labels\":{\"alertname\":\"A\"}},"
         "{\"labels\":{\"alertname\":\"Z\"},\"endsAt\":\"2023-01-01T00:00:00Z\"}]");
    api_reply_t *r = call(f, "GET", "/api/v2/alerts/groups", NULL, NULL);
    assert_int_equal(r->status, 200);
    /* sorted by group labels; resolved alerts and their groups left out */
    const char *ga = strstr(body(r), "],\"labels\":{\"alertname\":\"A\"},\"receiver\":{\"name\":"
                                     "\"default\"},\"routeLabels\":{}}");
    const char *gb = strstr(body(r), "],\"labels\":{\"alertname\":\"B\"},\"receiver\":{\"name\":"
                                     "\"team-a\"},\"routeLabels\":{}}");
    assert_true(ga && gb && ga < gb);
    assert_null(strstr(body(r), "\"Z\""));
    {
        static const char head[] = "[{\"alerts\":[{\"annotations\":{}";
        assert_memory_equal(body(r), head, sizeof(head) - 1);
    }
    r = call(f, "GET", "/api/v2/alerts/groups", "receiver=team-.*", NULL);
    assert_null(strstr(body(r), "\"alertname\":\"A\""));
    assert_non_null(strstr(body(r), "\"alertname\":\"B\""));
    post_silence(f, SIL(M_A, "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z"));
    r = call(f, "GET", "/api/v2/alerts/groups", "silenced=false", NULL);
    assert_null(strstr(body(r), "\"alertname\":\"A\""));
    r = call(f, "GET", "/api/v2/alerts/groups", "receiver=(", NULL);
    assert_int_equal(r->status, 400);
}

static void test_status_and_receivers(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r = call(f, "GET", "/api/v2/status", NULL, NULL);
    assert_int_equal(r->status, 200);
    const char *b = body(r);
    assert_non_null(strstr(b,
                           "{\"cluster\":{\"peers\":[],\"status\":\"disabled\"},\"config\":"
                           "{\"original\":\"global:\\n  slack_api_url: \\u003csecret\\u003e\\n"));
    assert_null(strstr(b, "SECRET"));
    assert_non_null(strstr(b, "password: \\u003csecret\\u003e"));
    assert_non_null(strstr(b, "credentials: \\u003csecret\\u003e"));
    assert_non_null(strstr(b, "username: u"));
    assert_non_null(strstr(b, "receiver: team-a"));

    /* the rendering is YAML the loader reads back, same routes and receivers */
    tn_buf_t y;
    tn_buf_init(&y, 0);
    assert_int_equal(api_config_redacted(f->cfg, &y), TN_OK);
    assert_null(strstr(tn_buf_cstr(&y), "SECRET"));
    tn_yaml_t doc;
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(tn_yaml_load(&doc, "x", y.data, y.len, err, sizeof(err)), TN_OK);
    tn_yaml_free(&doc);
    tn_buf_free(&y);

    r = call(f, "GET", "/api/v2/receivers", NULL, NULL);
    assert_string_equal(body(r),
                        "[{\"name\":\"default\"},{\"name\":\"team-a\"},{\"name\":\"other\"}]\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silence_create_get_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_update_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_status_from_silences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_receivers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
