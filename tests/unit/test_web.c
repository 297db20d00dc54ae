/* The web page module: asset lookup, ETags and 304s, the page's headers, whoami, the JSON-only
 * rule for writes and the routing-tree endpoints, driven through tn_web_answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tocsin/labels.h"
#include "tocsin/web.h"

typedef struct fixture {
    tn_web_t *web;
    tn_config_t *cfg;
    bool basic_auth;
    tn_web_reply_t rep;
} fixture_t;

static const tn_config_t *fx_config(void *ud)
{
    return ((fixture_t *)ud)->cfg;
}

static bool fx_basic_auth(void *ud)
{
    return ((fixture_t *)ud)->basic_auth;
}

static const char CONFIG[] = "route:\n"
                             "  receiver: chat\n"
                             "  group_by: [alertname]\n"
                             "  routes:\n"
                             "  - matchers: ['severity=\"critical\"']\n"
                             "    receiver: pager\n"
                             "    continue: true\n"
                             "    escalation:\n"
                             "    - after: 10m\n"
                             "      receiver: manager\n"
                             "  - matchers: ['team=~\"db|web\"']\n"
                             "    receiver: team\n"
                             "receivers:\n"
                             "- name: chat\n"
                             "- name: pager\n"
                             "- name: manager\n"
                             "- name: team\n";

static fixture_t *fx_new(const char *prefix)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char err[512] = "";
    fx->cfg = tn_config_load_string("test.yml", CONFIG, strlen(CONFIG), err, sizeof(err));
    assert_non_null(fx->cfg);
    tn_web_deps_t d = {
        .ud = fx, .route_prefix = prefix, .config = fx_config, .basic_auth = fx_basic_auth};
    fx->web = tn_web_new(&d);
    tn_web_reply_init(&fx->rep);
    return fx;
}

static void fx_free(fixture_t *fx)
{
    tn_web_reply_free(&fx->rep);
    tn_web_free(fx->web);
    tn_config_unref(fx->cfg);
    free(fx);
}

/* Answers one request into fx->rep (replacing the last answer); returns whether it was ours. */
static bool fx_req(fixture_t *fx, const tn_web_request_t *rq)
{
    tn_web_reply_free(&fx->rep);
    tn_web_reply_init(&fx->rep);
    tn_web_request_t r = *rq;
    if (!r.method)
        r.method = "GET";
    if (!r.query)
        r.query = "";
    return tn_web_answer(fx->web, &r, &fx->rep);
}

static const char *fx_body(fixture_t *fx)
{
    return tn_buf_cstr(&fx->rep.body);
}

static void test_assets_are_embedded(void **state)
{
    (void)state;
    const tn_web_asset_t *idx = tn_web_asset_find("index.html");
    assert_non_null(idx);
    assert_string_equal(idx->content_type, "text/html; charset=utf-8");
    assert_true(idx->len > 100);
    assert_non_null(strstr((const char *)idx->data, "ui/app.js"));
    const tn_web_asset_t *js = tn_web_asset_find("app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(tn_web_asset_find("app.css")->content_type, "text/css; charset=utf-8");
    /* strong ETags: quoted, 32 hex digits, one per content */
    assert_int_equal(strlen(idx->etag), 34);
    assert_int_equal(idx->etag[0], '"');
    assert_string_not_equal(idx->etag, js->etag);
    assert_null(tn_web_asset_find("nope.js"));
    assert_null(tn_web_asset_find("../index.html"));
    assert_null(tn_web_asset_find(""));
}

static void test_page_headers_and_304(void **state)
{
    (void)state;
    fixture_t *fx = fx_new("");
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/"}));
    assert_int_equal(fx->rep.status, 200);
    const tn_web_asset_t *idx = tn_web_asset_find("index.html");
    assert_ptr_equal(fx->rep.data, idx->data);
    assert_int_equal(fx->rep.len, idx->len);
    assert_string_equal(fx->rep.content_type, "text/html; charset=utf-8");
    assert_string_equal(tn_web_reply_header(&fx->rep, "ETag"), idx->etag);
    assert_string_equal(tn_web_reply_header(&fx->rep, "Cache-Control"), "no-cache");
    assert_string_equal(tn_web_reply_header(&fx->rep, "Content-Security-Policy"),
                        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                        "data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
                        "frame-ancestors 'none'");
    assert_string_equal(tn_web_reply_header(&fx->rep, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(tn_web_reply_header(&fx->rep, "Referrer-Policy"), "no-referrer");

    /* If-None-Match: the tag, in a list, weak, or "*" -> 304 with the headers and no body */
    char list[128];
    snprintf(list, sizeof(list), "\"abc\", W/%s", idx->etag);
    const char *hits[] = {idx->etag, list, "*"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(fx_req(fx, &(tn_web_request_t){.path = "/", .if_none_match = hits[i]}));
        assert_int_equal(fx->rep.status, 304);
        assert_null(fx->rep.data);
        assert_int_equal(fx->rep.body.len, 0);
        assert_string_equal(tn_web_reply_header(&fx->rep, "ETag"), idx->etag);
        assert_non_null(tn_web_reply_header(&fx->rep, "Content-Security-Policy"));
    }
    const char *misses[] = {"\"abc\"", "", ",,", "W/", "\"", tn_web_asset_find("app.js")->etag};
    for (size_t i = 0; i < 6; i++) {
        assert_true(fx_req(fx, &(tn_web_request_t){.path = "/", .if_none_match = misses[i]}));
        assert_int_equal(fx->rep.status, 200);
    }

    /* assets under ui/, with their own type and tag */
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/ui/app.js", .method = "HEAD"}));
    assert_int_equal(fx->rep.status, 200);
    assert_string_equal(fx->rep.content_type, "text/javascript; charset=utf-8");
    assert_string_equal(tn_web_reply_header(&fx->rep, "ETag"), tn_web_asset_find("app.js")->etag);
    /* index.html links each file by its hash: that URL is cached for good, others revalidate */
    const tn_web_asset_t *js = tn_web_asset_find("app.js");
    char link[96], query[64];
    snprintf(link, sizeof(link), "\"ui/app.js?v=%.32s\"", js->etag + 1);
    assert_non_null(strstr((const char *)idx->data, link));
    snprintf(query, sizeof(query), "x=1&v=%.32s", js->etag + 1);
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/ui/app.js", .query = query}));
    assert_string_equal(tn_web_reply_header(&fx->rep, "Cache-Control"),
                        "public, max-age=31536000, immutable");
    const char *stale[] = {"v=0123", "v=", "vv=1", "v=00000000000000000000000000000000"};
    for (size_t i = 0; i < TN_ARRAY_LEN(stale); i++) {
        assert_true(fx_req(fx, &(tn_web_request_t){.path = "/ui/app.js", .query = stale[i]}));
        assert_int_equal(fx->rep.status, 200);
        assert_string_equal(tn_web_reply_header(&fx->rep, "Cache-Control"), "no-cache");
    }
    snprintf(query, sizeof(query), "v=%.32s", idx->etag + 1);
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/", .query = query}));
    assert_string_equal(tn_web_reply_header(&fx->rep, "Cache-Control"), "no-cache");

    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/ui/missing.js"}));
    assert_int_equal(fx->rep.status, 404);
    assert_non_null(tn_web_reply_header(&fx->rep, "X-Content-Type-Options"));
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/ui/index.html",
                                               .method = "POST",
                                               .content_type = "application/json"}));
    assert_int_equal(fx->rep.status, 405);
    assert_string_equal(tn_web_reply_header(&fx->rep, "Allow"), "GET, HEAD");

    /* the API's paths stay the API's */
    const char *theirs[] = {
        "/api/v2/alerts",        "/metrics",    "/-/healthy", "/api/tocsin/v1/acks",
        "/api/tocsin/v1/events", "/index.html", "/uix"};
    for (size_t i = 0; i < TN_ARRAY_LEN(theirs); i++)
        assert_false(fx_req(fx, &(tn_web_request_t){.path = theirs[i]}));
    fx_free(fx);
}

static void test_route_prefix(void **state)
{
    (void)state;
    fixture_t *fx = fx_new("/am/");
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/am"}));
    assert_int_equal(fx->rep.status, 302);
    assert_string_equal(tn_web_reply_header(&fx->rep, "Location"), "/am/");
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/am/"}));
    assert_int_equal(fx->rep.status, 200);
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/am/ui/app.css"}));
    assert_int_equal(fx->rep.status, 200);
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/am/api/tocsin/v1/whoami"}));
    assert_int_equal(fx->rep.status, 200);
    /* outside the prefix: not ours (the API answers 404 or its redirect) */
    assert_false(fx_req(fx, &(tn_web_request_t){.path = "/"}));
    assert_false(fx_req(fx, &(tn_web_request_t){.path = "/ui/app.js"}));
    assert_false(fx_req(fx, &(tn_web_request_t){.path = "/api/tocsin/v1/whoami"}));
    fx_free(fx);
}

static void test_whoami(void **state)
{
    (void)state;
    fixture_t *fx = fx_new("");
    /* alice:s3cret */
    const char *alice = "Basic YWxpY2U6czNjcmV0";
    tn_web_request_t rq = {.path = "/api/tocsin/v1/whoami", .authorization = alice};
    /* no basic auth configured: the header proves nothing */
    assert_true(fx_req(fx, &rq));
    assert_int_equal(fx->rep.status, 200);
    assert_string_equal(fx_body(fx), "{\"user\":null}");
    fx->basic_auth = true;
    assert_true(fx_req(fx, &rq));
    assert_string_equal(fx_body(fx), "{\"user\":\"alice\"}");
    assert_string_equal(tn_web_reply_header(&fx->rep, "Cache-Control"), "no-store");
    /* a user name that is markup is still just a JSON string */
    rq.authorization = "basic PHNjcmlwdD46eA=="; /* <script>:x */
    assert_true(fx_req(fx, &rq));
    assert_string_equal(fx_body(fx), "{\"user\":\"\\u003cscript\\u003e\"}");
    const char *bad[] = {NULL,
                         "Bearer abc",
                         "Basic !!!",
                         "Basic bm9jb2xvbg==" /* nocolon */,
                         "Basic OnB3" /* :pw, no user */,
                         "Basic YQBiOmM=" /* a\0b:c */};
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        rq.authorization = bad[i];
        assert_true(fx_req(fx, &rq));
        assert_int_equal(fx->rep.status, 200);
        assert_string_equal(fx_body(fx), "{\"user\":null}");
    }
    rq.method = "DELETE";
    assert_true(fx_req(fx, &rq));
    assert_int_equal(fx->rep.status, 405);
    fx_free(fx);
}

static void test_writes_must_be_json(void **state)
{
    (void)state;
    fixture_t *fx = fx_new("");
    const char *refused[] = {NULL,
                             "text/plain",
                             "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x",
                             "application/jsonx",
                             "application/json-seq"};
    for (size_t i = 0; i < TN_ARRAY_LEN(refused); i++) {
        assert_true(fx_req(fx, &(tn_web_request_t){.method = "POST",
                                                   .path = "/api/tocsin/v1/routes/test",
                                                   .content_type = refused[i]}));
        assert_int_equal(fx->rep.status, 415);
        assert_non_null(strstr(fx_body(fx), "Content-Type"));
        assert_string_equal(fx->rep.content_type, "application/json");
    }
    const char *taken[] = {"application/json", "Application/JSON; charset=utf-8",
                           "application/json ;charset=utf-8"};
    for (size_t i = 0; i < TN_ARRAY_LEN(taken); i++) {
        assert_true(fx_req(fx, &(tn_web_request_t){.method = "POST",
                                                   .path = "/api/tocsin/v1/routes/test",
                                                   .content_type = taken[i]}));
        assert_int_not_equal(fx->rep.status, 415);
    }
    /* the on-call API's own paths are not the page's (oncall.c applies the same rule) */
    assert_false(fx_req(fx, &(tn_web_request_t){.method = "POST",
                                                .path = "/api/tocsin/v1/acks",
                                                .content_type = "text/plain"}));
    assert_false(fx_req(fx, &(tn_web_request_t){.path = "/api/tocsin/v1/acks"}));
    assert_false(
        fx_req(fx, &(tn_web_request_t){.method = "DELETE", .path = "/api/tocsin/v1/acks/x"}));
    fx_free(fx);
}

static void test_routes(void **state)
{
    (void)state;
    fixture_t *fx = fx_new("");
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/api/tocsin/v1/routes"}));
    assert_int_equal(fx->rep.status, 200);
    const char *b = fx_body(fx);
    assert_non_null(strstr(b, "{\"route\":{\"idx\":0,\"id\":\"{}\",\"receiver\":\"chat\""));
    assert_non_null(strstr(b, "\"matchers\":[\"severity=\\\"critical\\\"\"],\"continue\":true"));
    assert_non_null(strstr(b, "\"escalation\":[{\"after\":\"10m\",\"receiver\":\"manager\"}]"));
    assert_non_null(strstr(b, "\"groupBy\":[\"alertname\"],\"groupWait\":\"30s\""));
    assert_non_null(strstr(b, "\"receiver\":\"team\""));

    tn_web_request_t rq = {
        .method = "POST", .path = "/api/tocsin/v1/routes/test", .content_type = "application/json"};
    rq.body = "{\"labels\":{\"severity\":\"critical\",\"team\":\"db\"}}";
    rq.len = strlen(rq.body);
    assert_true(fx_req(fx, &rq));
    assert_int_equal(fx->rep.status, 200);
    /* continue: true on the first match, so both routes */
    assert_non_null(strstr(fx_body(fx), "\"receiver\":\"pager\""));
    assert_non_null(strstr(fx_body(fx), "\"receiver\":\"team\""));
    rq.body = "{\"labels\":{}}";
    rq.len = strlen(rq.body);
    assert_true(fx_req(fx, &rq));
    assert_string_equal(fx_body(fx),
                        "{\"routes\":[{\"idx\":0,\"id\":\"{}\",\"receiver\":\"chat\"}]}");

    const char *bad[][2] = {{"{", "invalid JSON"},
                            {"[]", "labels: expected an object"},
                            {"{\"labels\":[1]}", "labels: expected an object"},
                            {"{\"labels\":{\"a\":1}}", "labels.a: expected a string"}};
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        rq.body = bad[i][0];
        rq.len = strlen(rq.body);
        assert_true(fx_req(fx, &rq));
        assert_int_equal(fx->rep.status, 400);
        assert_non_null(strstr(fx_body(fx), bad[i][1]));
    }
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/api/tocsin/v1/routes/test"}));
    assert_int_equal(fx->rep.status, 405);
    assert_string_equal(tn_web_reply_header(&fx->rep, "Allow"), "POST");

    /* no config: 503, said plainly */
    tn_config_unref(fx->cfg);
    fx->cfg = NULL;
    assert_true(fx_req(fx, &(tn_web_request_t){.path = "/api/tocsin/v1/routes"}));
    assert_int_equal(fx->rep.status, 503);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets_are_embedded), cmocka_unit_test(test_page_headers_and_304),
        cmocka_unit_test(test_route_prefix),        cmocka_unit_test(test_whoami),
        cmocka_unit_test(test_writes_must_be_json), cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
