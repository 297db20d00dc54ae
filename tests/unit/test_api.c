/* HTTP API routing and handlers, driven through api_dispatch without a socket. */
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

#define T0 (INT64_C(1704067200) * TN_NS_PER_SEC) /* 2024-01-01T00:00:00Z */

typedef struct fixture {
    tn_api_deps_t deps;
    tn_api_t *api;
    tn_alert_store_t *store;
    tn_time_t now;
    bool ready;
    int reload_rc;
    int reloads;
    size_t stored_calls, stored_total;
    api_reply_t rep;
} fixture_t;

static size_t fx_receivers(void *ud, const tn_alert_t *a, const char **out, size_t max)
{
    (void)ud;
    /* alerts with team="a" go to two receivers, the rest to one */
    const char *team = tn_labels_get(tn_alert_labels(a), "team");
    size_t n = 0;
    if (team && strcmp(team, "a") == 0 && n < max)
        out[n++] = "team-a";
    if (n < max)
        out[n++] = "default";
    return team && strcmp(team, "a") == 0 ? 2 : 1;
}

/* The glue (tn_api_handle) calls this for a deferred reload; api_dispatch alone does not. */
static void fx_reload(void *ud, tn_api_reload_done_fn done, void *cbud)
{
    fixture_t *f = ud;
    f->reloads++;
    done(cbud, f->reload_rc, f->reload_rc ? "bad.yml:3:1: unknown field \"x\"" : NULL);
}

static bool fx_ready(void *ud)
{
    return ((fixture_t *)ud)->ready;
}

static void fx_stored(void *ud, size_t n)
{
    fixture_t *f = ud;
    f->stored_calls++;
    f->stored_total += n;
}

static fixture_t *fx_new(const char *prefix)
{
    fixture_t *f = tn_xcalloc(1, sizeof(*f));
    f->now = T0;
    tn_clock_set_fake(&f->now);
    f->store = tn_alert_store_new();
    f->ready = true;
    f->deps = (tn_api_deps_t){
        .ud = f,
        .store = f->store,
        .alert_receivers = fx_receivers,
        .reload = fx_reload,
        .ready = fx_ready,
        .alerts_stored = fx_stored,
        .route_prefix = prefix,
        .max_alerts_per_request = 3,
    };
    f->api = tn_api_new(&f->deps);
    api_reply_init(&f->rep);
    return f;
}

static int setup(void **state)
{
    *state = fx_new("");
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    api_reply_free(&f->rep);
    tn_api_free(f->api);
    tn_alert_store_free(f->store);
    tn_clock_set_fake(NULL);
    tn_metrics_free_all();
    free(f);
    assert_int_equal(tn_intern_count(), 0);
    return 0;
}

static api_reply_t *call_full(fixture_t *f, const char *method, const char *path, const char *query,
                              const char *body, const char *origin, const char *acr)
{
    api_reply_free(&f->rep);
    api_reply_init(&f->rep);
    api_call_t c = {
        .method = method,
        .path = path,
        .query = query ? query : "",
        .body = body,
        .len = body ? strlen(body) : 0,
        .origin = origin,
        .acr_method = acr,
    };
    api_dispatch(f->api, &c, &f->rep);
    tn_buf_cstr(&f->rep.body);
    return &f->rep;
}

static api_reply_t *call(fixture_t *f, const char *method, const char *path, const char *query,
                         const char *body)
{
    return call_full(f, method, path, query, body, NULL, NULL);
}

static const char *body(api_reply_t *r)
{
    return r->body.len ? r->body.data : "";
}

static const char *header(api_reply_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static char *scrape(void)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_metrics_write(&b);
    char *s = tn_xstrdup(tn_buf_cstr(&b));
    tn_buf_free(&b);
    return s;
}

static void assert_metric(const char *line)
{
    char *s = scrape();
    char *want = tn_xasprintf("\n%s\n", line);
    if (!strstr(s, want))
        fail_msg("metric line \"%s\" not found in:\n%s", line, s);
    free(want);
    free(s);
}

/* ---- POST ---- */

static void test_post_ok(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r =
        call(f, "POST", "/api/v2/alerts", NULL,
             "[{\"labels\":{\"alertname\":\"A\"}},"
             "{\"labels\":{\"alertname\":\"B\"},\"endsAt\":\"2023-01-01T00:00:00Z\"}]");
    assert_int_equal(r->status, 200);
    assert_string_equal(body(r), "");
    assert_string_equal(header(r, "Cache-Control"), "no-store");
    assert_int_equal(tn_alert_store_count(f->store), 2);
    assert_int_equal(f->stored_calls, 1);
    assert_int_equal(f->stored_total, 2);
    assert_metric("alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 1");
    assert_metric("alertmanager_alerts_received_total{status=\"resolved\",version=\"v2\"} 1");
    assert_metric("alertmanager_alerts_invalid_total{version=\"v2\"} 0");
    assert_metric("alertmanager_http_request_duration_seconds_count{code=\"200\","
                  "handler=\"/api/v2/alerts\",method=\"post\"} 1");
}

static void test_post_structural(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r =
        call(f, "POST", "/api/v2/alerts", NULL, "[{\"labels\":{\"a\":\"b\"}},{\"labels\":7}]");
    assert_int_equal(r->status, 400);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(body(r), "{\"code\":400,\"message\":\"alerts[1].labels: expected an "
                                 "object of strings\"}");
    assert_int_equal(tn_alert_store_count(f->store), 0);
    assert_int_equal(f->stored_calls, 0);
    r = call(f, "POST", "/api/v2/alerts", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(body(r), "{\"code\":400,\"message\":\"alerts: request body is required\"}");
    /* over max_alerts_per_request */
    r = call(f, "POST", "/api/v2/alerts", NULL,
             "[{\"labels\":{\"a\":\"1\"}},{\"labels\":{\"a\":\"2\"}},{\"labels\":{\"a\":\"3\"}},"
             "{\"labels\":{\"a\":\"4\"}}]");
    assert_int_equal(r->status, 400);
    assert_string_equal(body(r),
                        "{\"code\":400,\"message\":\"alerts: more than 3 alerts in one request\"}");
    assert_int_equal(tn_alert_store_count(f->store), 0);
    assert_metric("alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 0");
}

static void test_post_semantic(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r = call(f, "POST", "/api/v2/alerts", NULL,
                          "[{\"labels\":{\"alertname\":\"A\"}},{\"labels\":{\"x\":\"\"}},"
                          "{\"labels\":{\"alertname\":\"<C>\"}}]");
    assert_int_equal(r->status, 400);
    assert_string_equal(body(r), "\"alerts[1].labels: at least one label pair required\"\n");
    assert_int_equal(tn_alert_store_count(f->store), 2);
    assert_int_equal(f->stored_total, 2);
    assert_metric("alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 3");
    assert_metric("alertmanager_alerts_invalid_total{version=\"v2\"} 1");
}

static void test_post_store_limit(void **state)
{
    fixture_t *f = *state;
    tn_alert_store_set_limit(f->store, 1);
    api_reply_t *r = call(f, "POST", "/api/v2/alerts", NULL,
                          "[{\"labels\":{\"a\":\"1\"}},{\"labels\":{\"a\":\"2\"}}]");
    assert_int_equal(r->status, 200);
    assert_int_equal(tn_alert_store_count(f->store), 1);
    assert_int_equal(f->stored_total, 1);
}

/* ---- GET ---- */

static bool find_by_name(void *ud, tn_alert_t *a)
{
    tn_alert_t **out = ud;
    const char *n = tn_alert_name(a);
    out[n[0] - 'A'] = a;
    return true;
}

/* Many alerts: the answer lists every one in fingerprint order (a radix sort over every byte
 * of the fingerprint), and a second answer, sized from the first, is the same bytes. */
static void test_get_alerts_many_sorted(void **state)
{
    fixture_t *f = *state;
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        char v[32];
        snprintf(v, sizeof(v), "i%d", i);
        tn_label_t l[2] = {{tn_intern_cstr("alertname"), tn_intern_cstr("Many")},
                           {tn_intern_cstr("instance"), tn_intern_cstr(v)}};
        tn_alert_t *a = tn_alert_new(l, 2, NULL, 0, NULL);
        a->starts_at = a->updated_at = f->now;
        a->ends_at = f->now + 3600 * TN_NS_PER_SEC;
        assert_int_equal(tn_alert_store_put(f->store, a), TN_OK);
    }
    api_reply_t *r = call(f, "GET", "/api/v2/alerts", NULL, NULL);
    assert_int_equal(r->status, 200);
    char *first = tn_xstrdup(body(r));
    size_t n = 0;
    char prev[17] = "";
    for (const char *p = strstr(first, "\"fingerprint\":\""); p;
         p = strstr(p + 1, "\"fingerprint\":\"")) {
        char fp[17];
        memcpy(fp, p + 15, 16);
        fp[16] = 0;
        assert_true(strcmp(prev, fp) < 0);
        memcpy(prev, fp, sizeof(fp));
        n++;
    }
    assert_int_equal(n, N);
    r = call(f, "GET", "/api/v2/alerts", NULL, NULL);
    assert_string_equal(body(r), first);
    free(first);
}

static void test_get_alerts_shape(void **state)
{
    fixture_t *f = *state;
    call(f, "POST", "/api/v2/alerts", NULL,
         "[{\"labels\":{\"alertname\":\"A\",\"team\":\"a\"},\"annotations\":{\"s\":\"x\"},"
         "\"startsAt\":\"2023-12-31T23:59:00Z\",\"generatorURL\":\"http://g\"},"
         "{\"labels\":{\"alertname\":\"B\"}},"
         "{\"labels\":{\"alertname\":\"C\"},\"endsAt\":\"2023-12-31T00:00:00Z\"}]");
    assert_int_equal(tn_alert_store_count(f->store), 3);
    tn_alert_t *by[3] = {0};
    tn_alert_store_foreach(f->store, find_by_name, by);
    char fa[17], fb[17];
    tn_fingerprint_format(by[0]->fp, fa);
    tn_fingerprint_format(by[1]->fp, fb);
    char *ea = tn_xasprintf(
        "{\"annotations\":{\"s\":\"x\"},\"endsAt\":\"2024-01-01T00:05:00.000Z\","
        "\"fingerprint\":\"%s\",\"receivers\":[{\"name\":\"team-a\"},{\"name\":\"default\"}],"
        "\"startsAt\":\"2023-12-31T23:59:00.000Z\",\"status\":{\"inhibitedBy\":[],"
        "\"mutedBy\":[],\"silencedBy\":[],\"state\":\"active\"},"
        "\"updatedAt\":\"2024-01-01T00:00:00.000Z\",\"generatorURL\":\"http://g\","
        "\"labels\":{\"alertname\":\"A\",\"team\":\"a\"}}",
        fa);
    char *eb =
        tn_xasprintf("{\"annotations\":{},\"endsAt\":\"2024-01-01T00:05:00.000Z\","
                     "\"fingerprint\":\"%s\",\"receivers\":[{\"name\":\"default\"}],"
                     "\"startsAt\":\"2024-01-01T00:00:00.000Z\",\"status\":{\"inhibitedBy\":[],"
                     "\"mutedBy\":[],\"silencedBy\":[],\"state\":\"active\"},"
                     "\"updatedAt\":\"2024-01-01T00:00:00.000Z\",\"labels\":{\"alertname\":\"B\"}}",
                     fb);
    /* sorted by fingerprint; the resolved alert C is left out */
    bool a_first = by[0]->fp < by[1]->fp;
    char *want = tn_xasprintf("[%s,%s]\n", a_first ? ea : eb, a_first ? eb : ea);
    api_reply_t *r = call(f, "GET", "/api/v2/alerts", "silenced=false&unknown=1", NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(body(r), want);
    free(want);

    /* filters */
    want = tn_xasprintf("[%s]\n", ea);
    r = call(f, "GET", "/api/v2/alerts", "filter=alertname%3D%22A%22", NULL);
    assert_string_equal(body(r), want);
    r = call(f, "GET", "/api/v2/alerts", "filter=team%3D~%22a%7Cz%22&filter=alertname!%3DB", NULL);
    assert_string_equal(body(r), want);
    r = call(f, "GET", "/api/v2/alerts", "receiver=team-.*", NULL);
    assert_string_equal(body(r), want);
    free(want);
    r = call(f, "GET", "/api/v2/alerts", "receiver=team", NULL); /* anchored */
    assert_string_equal(body(r), "[]\n");
    r = call(f, "GET", "/api/v2/alerts", "active=false", NULL);
    assert_string_equal(body(r), "[]\n");
    r = call(f, "GET", "/api/v2/alerts", "active=", NULL); /* empty keeps the default */
    assert_int_not_equal(strcmp(body(r), "[]\n"), 0);
    r = call(f, "GET", "/api/v2/alerts", "filter=%7B%7B", NULL);
    assert_int_equal(r->status, 400);
    assert_true(body(r)[0] == '"');
    r = call(f, "GET", "/api/v2/alerts", "receiver=(", NULL);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(body(r), "failed to parse receiver param: "));
    free(ea);
    free(eb);
}

/* ---- routing ---- */

static void test_routes(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r = call(f, "GET", "/nope", NULL, NULL);
    assert_int_equal(r->status, 404);
    assert_string_equal(body(r), "{\"code\":404,\"message\":\"path /nope was not found\"}");
    r = call(f, "GET", "/api/v2/alerts/", NULL, NULL);
    assert_int_equal(r->status, 404);

    r = call(f, "PUT", "/api/v2/alerts", NULL, "[]");
    assert_int_equal(r->status, 405);
    assert_string_equal(header(r, "Allow"), "GET, HEAD, POST");
    assert_string_equal(body(r), "{\"code\":405,\"message\":\"method PUT is not allowed, but "
                                 "[GET, HEAD, POST] are\"}");
    r = call(f, "GET", "/-/reload", NULL, NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(header(r, "Allow"), "POST");
    assert_int_equal(f->reloads, 0);
    r = call(f, "POST", "/metrics", NULL, NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(header(r, "Allow"), "GET, HEAD");

    r = call(f, "POST", "/api/v1/alerts", NULL, "[]");
    assert_int_equal(r->status, 410);
    assert_non_null(strstr(body(r), "\"status\":\"deprecated\""));
    r = call(f, "GET", "/api/v1/silences", NULL, NULL);
    assert_int_equal(r->status, 410);
    assert_int_equal(tn_alert_store_count(f->store), 0);

    r = call(f, "GET", "/api/v2/status", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "application/json");
    assert_non_null(strstr(body(r), "{\"cluster\":{\"peers\":[],\"status\":\"disabled\"},"
                                    "\"config\":{\"original\":\"\"},"
                                    "\"uptime\":\"2024-01-01T00:00:00.000Z\",\"versionInfo\":{"));
}

static void test_health_ready_reload(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r = call(f, "GET", "/-/healthy", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(body(r), "OK");
    r = call(f, "HEAD", "/-/healthy", NULL, NULL);
    assert_int_equal(r->status, 200);
    f->ready = false;
    r = call(f, "GET", "/-/ready", NULL, NULL);
    assert_int_equal(r->status, 503);
    r = call(f, "HEAD", "/-/ready", NULL, NULL);
    assert_int_equal(r->status, 503);
    f->ready = true;
    r = call(f, "GET", "/-/ready", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(body(r), "OK");

    /* the answer waits for the load off the loop */
    r = call(f, "POST", "/-/reload", NULL, NULL);
    assert_true(r->flags & API_REPLY_DEFER);
    api_reload_answer(f->api, r, TN_OK, NULL);
    assert_false(r->flags & API_REPLY_DEFER);
    assert_int_equal(r->status, 200);
    assert_string_equal(body(r), "");
    r = call(f, "POST", "/-/reload", NULL, NULL);
    api_reload_answer(f->api, r, TN_ERR_INVAL, "bad.yml:3:1: unknown field \"x\"");
    tn_buf_cstr(&r->body);
    assert_int_equal(r->status, 500);
    assert_string_equal(r->content_type, "text/plain; charset=utf-8");
    assert_string_equal(body(r), "failed to reload config: bad.yml:3:1: unknown field \"x\"\n");

    r = call(f, "GET", "/metrics", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(body(r), "# TYPE alertmanager_alerts_received_total counter\n"));
    assert_non_null(strstr(body(r), "alertmanager_http_request_duration_seconds_count{code="
                                    "\"500\",handler=\"/-/reload\",method=\"post\"} 1\n"));
}

static void test_cors(void **state)
{
    fixture_t *f = *state;
    api_reply_t *r = call_full(f, "GET", "/api/v2/alerts", NULL, NULL, "http://ui.example", NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(header(r, "Access-Control-Allow-Origin"), "*");
    r = call_full(f, "OPTIONS", "/api/v2/alerts", NULL, NULL, "http://ui.example", "POST");
    assert_int_equal(r->status, 204);
    assert_string_equal(header(r, "Access-Control-Allow-Methods"), "POST");
    r = call_full(f, "OPTIONS", "/api/v2/alerts", NULL, NULL, NULL, NULL);
    assert_int_equal(r->status, 405);
    /* not the v2 API: no CORS */
    r = call_full(f, "GET", "/-/healthy", NULL, NULL, "http://ui.example", NULL);
    assert_null(header(r, "Access-Control-Allow-Origin"));
}

static void test_prefix(void **state)
{
    (void)state;
    fixture_t *f = fx_new("/am/");
    api_reply_t *r = call(f, "GET", "/am/-/healthy", NULL, NULL);
    assert_int_equal(r->status, 200);
    r = call(f, "GET", "/-/healthy", NULL, NULL);
    assert_int_equal(r->status, 404);
    r = call(f, "GET", "/amx/-/healthy", NULL, NULL);
    assert_int_equal(r->status, 404);
    r = call(f, "GET", "/", NULL, NULL);
    assert_int_equal(r->status, 302);
    assert_string_equal(header(r, "Location"), "/am");
    r = call(f, "POST", "/am/api/v2/alerts", NULL, "[{\"labels\":{\"a\":\"b\"}}]");
    assert_int_equal(r->status, 200);
    assert_int_equal(tn_alert_store_count(f->store), 1);
    r = call(f, "POST", "/api/v2/alerts", NULL, "[{\"labels\":{\"a\":\"c\"}}]");
    assert_int_equal(r->status, 404);
    r = call(f, "GET", "/am/api/v1/alerts", NULL, NULL);
    assert_int_equal(r->status, 410);
    void *st = f;
    teardown(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_structural, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_semantic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_store_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_alerts_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_alerts_many_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_ready_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cors, setup, teardown),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
