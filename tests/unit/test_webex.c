/* Webex receiver: the message request byte for byte (Alertmanager's notify/webex scenarios),
 * the byte limit, the API URL default, the bot token, retry rules and config errors. */
#include "rcv_fixture.h"

#define AUTH "    http_config:\n      authorization:\n        credentials: anewsecret\n"
#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  webex_configs:\n"

/* Alertmanager's templating test: two firing alerts, the default message. */
static void test_default_message(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - room_id: room-1\n    api_url: http://127.0.0.1:9/v1/messages\n" AUTH);
    fx_alert(&f, "lbl1=val1,lbl3=val3", NULL, false);
    fx_alert(&f, "lbl1=val1,lbl2=val2", NULL, false);
    fx_notif(&f, "webex_room_id=group-label-room-id");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/v1/messages");
    assert_null(f.req.method); /* POST */
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    /* The token goes as the Authorization header the core writes from http_config. */
    assert_string_equal(f.req.http->authorization_type, "Bearer");
    assert_string_equal(f.req.http->authorization_credentials, "anewsecret");
    assert_string_equal(
        tn_buf_cstr(&f.req.body),
        "{\"markdown\":\"\\n\\nAlerts Firing:\\nLabels:\\n - lbl1 = val1\\n - lbl3 "
        "= val3\\nAnnotations:\\nSource: http://prom/graph\\nLabels:\\n - lbl1 = "
        "val1\\n - lbl2 = val2\\nAnnotations:\\nSource: http://prom/graph\\n\\n\\n\\n"
        "\",\"roomId\":\"room-1\"}\n");
    assert_true(fx_ic(&f, 0)->send_resolved); /* default true */
    fx_free(&f);
}

static void test_resolved_and_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - room_id: r\n" AUTH);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=disk full", true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "markdown",
           "disk full\n\n\nAlerts Resolved:\nLabels:\n - alertname = Disk\n"
           " - instance = a\nAnnotations:\n - summary = disk full\n"
           "Source: http://prom/graph\n\n\n");
    fx_t g;
    fx_config(&g, HEAD "  - room_id: r\n" AUTH);
    fx_alert(&g, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&g, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&g, "alertname=Disk");
    fx_build_ok(&g, 0);
    fx_str(&g, "markdown",
           "\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n"
           "Annotations:\nSource: http://prom/graph\n\n\n\nAlerts Resolved:\n"
           "Labels:\n - alertname = Disk\n - instance = b\nAnnotations:\n"
           "Source: http://prom/graph\n\n\n");
    fx_free(&g);
    fx_free(&f);
}

/* Alertmanager's room scenarios: a room as written, and one from a group label. */
static void test_room_id(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - room_id: my-room-id\n    message: ''\n" AUTH
                       "  - room_id: '{{ .GroupLabels.webex_room_id }}'\n    message: ''\n" AUTH
                       "  - room_id: '{{ .GroupLabels.nothing }}'\n    message: m\n" AUTH);
    fx_alert(&f, "lbl1=val1", NULL, false);
    fx_notif(&f, "webex_room_id=group-label-room-id");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"markdown\":\"\",\"roomId\":\"my-room-id\"}\n");
    fx_build_ok(&f, 1);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"markdown\":\"\",\"roomId\":\"group-label-room-id\"}\n");
    /* A room that renders empty is left out, as Go's omitempty leaves it. */
    fx_build_ok(&f, 2);
    assert_string_equal(tn_buf_cstr(&f.req.body), "{\"markdown\":\"m\"}\n");
    fx_free(&f);
}

static char *repeat(const char *s, size_t n)
{
    size_t l = strlen(s);
    char *out = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * l, s, l);
    out[l * n] = 0;
    return out;
}

/* The markdown through a label, so that the test controls every byte. */
static const char *markdown_of(fx_t *f, const char *value)
{
    char *labels = malloc(strlen(value) + 32);
    snprintf(labels, strlen(value) + 32, "alertname=Disk,text=%s", value);
    fx_config(f, HEAD "  - room_id: r\n    message: '{{ .CommonLabels.text }}'\n" AUTH);
    fx_alert(f, labels, NULL, false);
    fx_notif(f, "alertname=Disk");
    fx_build_ok(f, 0);
    free(labels);
    return json_string_value(fx_get(f, "markdown"));
}

/* Webex takes 7439 bytes: Alertmanager cuts in bytes, on a rune boundary, with the marker. */
static void test_truncated(void **state)
{
    (void)state;
    fx_t f;
    char *s = repeat("x", 7439);
    assert_string_equal(markdown_of(&f, s), s); /* exactly the limit: whole */
    fx_free(&f);
    free(s);

    s = repeat("x", 7440);
    const char *m = markdown_of(&f, s);
    assert_int_equal(strlen(m), 7439);
    assert_memory_equal(m, s, 7436);
    assert_string_equal(m + 7436, "\xe2\x80\xa6");
    fx_free(&f);
    free(s);

    /* Three-byte runes: 2478 of them (7434 bytes) fit before the marker, a 2479th would not. */
    s = repeat("\xe2\x82\xac", 3000);
    m = markdown_of(&f, s);
    assert_int_equal(strlen(m), 2478 * 3 + 3);
    assert_memory_equal(m, s, 2478 * 3);
    assert_string_equal(m + 2478 * 3, "\xe2\x80\xa6");
    fx_free(&f);
    free(s);

    /* A rune straddling the cut is dropped whole: 7435 ASCII bytes, then a 2-byte rune. */
    char *a = repeat("y", 7435), *b = repeat("\xc3\xa9", 10);
    s = malloc(strlen(a) + strlen(b) + 1);
    snprintf(s, strlen(a) + strlen(b) + 1, "%s%s", a, b);
    m = markdown_of(&f, s);
    assert_int_equal(strlen(m), 7435 + 3);
    assert_memory_equal(m, a, 7435);
    fx_free(&f);
    free(s);
    free(a);
    free(b);
}

/* Alertmanager fails the send on a message template error; tocsin sends the fallback text. */
static void test_template_error(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - room_id: r\n    message: '{{ '\n" AUTH);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"markdown\":\"[FIRING:2] Disk\",\"roomId\":\"r\"}\n");
    fx_free(&f);
}

static void test_api_url_and_auth(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - room_id: r\n" AUTH
                       "  - room_id: r\n    http_config:\n      bearer_token: legacy\n"
                       "  - room_id: r\n    api_url: https://webex.example/v1/messages\n"
                       "    http_config:\n      authorization:\n        type: Token\n"
                       "        credentials: t\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://webexapis.com/v1/messages"); /* global default */
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.http->authorization_type, "Bearer");
    assert_string_equal(f.req.http->authorization_credentials, "legacy");
    fx_build_ok(&f, 2);
    assert_string_equal(f.req.url, "https://webex.example/v1/messages");
    assert_string_equal(f.req.http->authorization_type, "Token");
    fx_free(&f);

    fx_config(&f,
              "global:\n  webex_api_url: http://127.0.0.1:9/global\n" HEAD "  - room_id: r\n" AUTH);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/global");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - room_id: r\n" AUTH);
    assert_int_equal(fx_classify(&f, 0, 200, "{\"id\":\"x\"}", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 503, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 400, "{\"message\":\"bad\"}", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(fx_classify(&f, 0, 401, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_int_equal(fx_classify(&f, 0, 404, "", NULL, &reason), TN_SEND_FAIL);
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    /* Alertmanager's config tests. */
    fx_config_error(HEAD "  - message: xyz123\n",
                    "test.yml:6:5: receiver team: webex_configs: missing room_id on webex_config");
    fx_config_error(HEAD "  - room_id: ''\n" AUTH, "missing room_id on webex_config");
    fx_config_error(HEAD "  - room_id: r\n", "missing webex_configs.http_config.authorization");
    /* The global http_config's authorization does not count, as in Alertmanager. */
    fx_config_error("global:\n  http_config:\n    authorization:\n      credentials: t\n" HEAD
                    "  - room_id: r\n",
                    "missing webex_configs.http_config.authorization");
    fx_config_error(HEAD "  - room_id: r\n    http_config:\n      follow_redirects: false\n",
                    "missing webex_configs.http_config.authorization");
    fx_config_error(HEAD "  - room_id: r\n    http_config:\n      authorization:\n",
                    "missing webex_configs.http_config.authorization");
    fx_config_error(HEAD "  - room_id: r\n    http_config:\n      basic_auth:\n"
                         "        username: u\n        password: p\n",
                    "missing webex_configs.http_config.authorization");
    fx_config_error(HEAD "  - room_id: r\n    api_url: ftp://x/\n" AUTH,
                    "api_url: unsupported scheme \"ftp\" for URL");
    fx_config_error(HEAD "  - room_id: r\n    roomid: x\n" AUTH,
                    "unknown field \"roomid\" in webex_configs");
    /* The global URL cannot be emptied (Alertmanager's words too), so a config always has one. */
    fx_config_error("global:\n  webex_api_url: ''\n" HEAD "  - room_id: r\n" AUTH,
                    "webex_api_url: unsupported scheme \"\" for URL");
    /* Upstream's accepted case loads. */
    fx_t f;
    fx_config(&f, HEAD "  - room_id: 2\n    http_config:\n      authorization:\n"
                       "        credentials: \"xxxyyyzz\"\n");
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_message), cmocka_unit_test(test_resolved_and_mixed),
        cmocka_unit_test(test_room_id),         cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_template_error),  cmocka_unit_test(test_api_url_and_auth),
        cmocka_unit_test(test_classify),        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
