/* Rocket.Chat receiver: chat.postMessage (URL joined as Go's JoinPath, the token headers), the
 * message member by member, title truncation, globals and token files, the reply verdicts
 * (status and {"success": ...}) and config errors. */
#include "rcv_fixture.h"

#include <fcntl.h>
#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  rocketchat_configs:\n"
#define RC   HEAD "  - api_url: http://127.0.0.1:9/\n    token: tok\n    token_id: uid\n"

static void test_firing_defaults(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, RC "    channel: '#ops'\n");
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/v1/chat.postMessage");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "tok");
    assert_string_equal(fx_header(&f, "X-User-Id"), "uid");
    assert_non_null(fx_header(&f, "User-Agent"));
    /* Empty defaults (emoji, icon, text) are left out as Go's omitempty does. */
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"channel\":\"#ops\",\"attachments\":[{\"title\":\"[FIRING:1] Disk (a)\","
                        "\"title_link\":\"http://am.example/#/alerts?receiver=team\","
                        "\"color\":\"red\"}]}\n");
    assert_false(fx_ic(&f, 0)->send_resolved); /* Alertmanager's default */
    fx_free(&f);
}

static void test_resolved(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, RC "    send_resolved: true\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"attachments\":[{\"title\":\"[RESOLVED] Disk \","
                        "\"title_link\":\"http://am.example/#/alerts?receiver=team\","
                        "\"color\":\"green\"}]}\n");
    fx_free(&f);
}

static void test_mixed_all_options(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f,
              RC "    channel: '@{{ .CommonLabels.owner }}'\n    title: T\n"
                 "    title_link: http://link\n    text: '{{ len .Alerts.Firing }} firing'\n"
                 "    image_url: http://img\n    thumb_url: http://thumb\n"
                 "    emoji: ':fire:'\n    icon_url: http://icon\n    color: '#ff0000'\n"
                 "    short_fields: true\n    link_names: true\n"
                 "    fields:\n    - title: F1\n      value: V1\n"
                 "    - title: F2\n      value: '{{ .Status }}'\n      short: false\n"
                 "    - short: true\n"
                 "    actions:\n    - type: link\n      text: Runbook\n      url: http://runbook\n"
                 "      msg: hi\n      iswebview: true\n      msginchatwindow: true\n"
                 "      imageurl: http://x\n    - text: '<&>'\n");
    fx_alert(&f, "alertname=Disk,instance=a,owner=ann", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b,owner=ann", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    /* Actions are buttons whatever their type; only text, url and msg are sent. */
    assert_string_equal(
        tn_buf_cstr(&f.req.body),
        "{\"channel\":\"@ann\",\"emoji\":\":fire:\",\"avatar\":\"http://icon\","
        "\"attachments\":[{\"title\":\"T\",\"title_link\":\"http://link\",\"text\":\"1 firing\","
        "\"image_url\":\"http://img\",\"thumb_url\":\"http://thumb\",\"color\":\"#ff0000\","
        "\"fields\":[{\"short\":true,\"title\":\"F1\",\"value\":\"V1\"},"
        "{\"short\":false,\"title\":\"F2\",\"value\":\"firing\"},{\"short\":true}],"
        "\"actions\":[{\"type\":\"button\",\"text\":\"Runbook\",\"url\":\"http://runbook\","
        "\"is_webview\":false,\"msg\":\"hi\",\"msg_in_chat_window\":false},"
        "{\"type\":\"button\",\"text\":\"\\u003c\\u0026\\u003e\",\"is_webview\":false,"
        "\"msg_in_chat_window\":false}]}]}\n");
    fx_free(&f);

    /* short unset takes short_fields (default false). */
    fx_config(&f, RC "    fields:\n    - title: a\n      value: b\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_true(json_is_false(fx_get(&f, "attachments.0.fields.0.short")));
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

static void test_title_truncated(void **state)
{
    (void)state;
    for (size_t runes = 1024; runes <= 1025; runes++) {
        char *title = repeat("\xc3\xa9", runes);
        char yaml[4096];
        snprintf(yaml, sizeof(yaml), RC "    title: %s\n", title);
        fx_t f;
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        const char *got = json_string_value(fx_get(&f, "attachments.0.title"));
        assert_non_null(got);
        if (runes == 1024) {
            assert_string_equal(got, title);
        } else {
            assert_int_equal(strlen(got), 1023 * 2 + 3);
            assert_memory_equal(got, title, 1023 * 2);
            assert_memory_equal(got + 1023 * 2, "\xe2\x80\xa6", 3);
        }
        fx_free(&f);
        free(title);
    }
}

static void test_url(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"http://127.0.0.1:9", "http://127.0.0.1:9/api/v1/chat.postMessage"},
        {"http://127.0.0.1:9/chat", "http://127.0.0.1:9/chat/api/v1/chat.postMessage"},
        /* Alertmanager's own test URL: the path is joined, not replaced. */
        {"http://127.0.0.1:9/api/v1/", "http://127.0.0.1:9/api/v1/api/v1/chat.postMessage"},
        {"http://127.0.0.1:9//a//./b/../", "http://127.0.0.1:9/a/api/v1/chat.postMessage"},
        {"http://127.0.0.1:9/../..", "http://127.0.0.1:9/api/v1/chat.postMessage"},
        {"http://127.0.0.1:9/a?x=1", "http://127.0.0.1:9/a/api/v1/chat.postMessage?x=1"},
        {"https://u:p@chat.example:8443/r%20c/",
         "https://u:p@chat.example:8443/r%20c/api/v1/chat.postMessage"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char yaml[512];
        fx_t f;
        snprintf(yaml, sizeof(yaml), HEAD "  - api_url: %s\n    token: t\n    token_id: i\n",
                 cases[i][0]);
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        assert_string_equal(f.req.url, cases[i][1]);
        fx_free(&f);
    }
}

static void test_globals(void **state)
{
    (void)state;
    fx_t f;
    /* Alertmanager's conf.rocketchat-default-token.yml. */
    fx_config(&f, "global:\n  rocketchat_token: token123\n  rocketchat_token_id: id123\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  rocketchat_configs:\n"
                  "  - channel: '#team-X'\n"
                  "  - channel: '#team-Y'\n    token: token456\n    token_id: id456\n"
                  "    api_url: http://127.0.0.1:9/\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://open.rocket.chat/api/v1/chat.postMessage");
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "token123");
    assert_string_equal(fx_header(&f, "X-User-Id"), "id123");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/v1/chat.postMessage");
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "token456");
    assert_string_equal(fx_header(&f, "X-User-Id"), "id456");
    fx_free(&f);

    fx_config(&f, "global:\n  rocketchat_api_url: http://127.0.0.1:9/g/\n"
                  "  rocketchat_token: gt\n  rocketchat_token_id: gi\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  rocketchat_configs:\n"
                  "  - token: own\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/g/api/v1/chat.postMessage");
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "own");
    assert_string_equal(fx_header(&f, "X-User-Id"), "gi");
    fx_free(&f);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_token_files(void **state)
{
    (void)state;
    char tok[] = "/tmp/tn-rc-tok-XXXXXX", uid[] = "/tmp/tn-rc-uid-XXXXXX";
    close(mkstemp(tok));
    close(mkstemp(uid));
    write_file(tok, "filed-token\n");
    write_file(uid, "filed-id");
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "global:\n  rocketchat_token_file: %s\n  rocketchat_token_id_file: %s\n"
             "route:\n  receiver: team\nreceivers:\n- name: team\n  rocketchat_configs:\n"
             "  - channel: '#a'\n"
             "  - channel: '#b'\n    token: inline\n",
             tok, uid);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "filed-token");
    assert_string_equal(fx_header(&f, "X-User-Id"), "filed-id");
    fx_build_ok(&f, 1);
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "inline");
    assert_string_equal(fx_header(&f, "X-User-Id"), "filed-id");
    /* Read again for every send. */
    write_file(tok, "rotated");
    fx_build_ok(&f, 0);
    assert_string_equal(fx_header(&f, "X-Auth-Token"), "rotated");
    unlink(tok);
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    char want[256];
    snprintf(want, sizeof(want), "could not read %s: open %s: ", tok, tok);
    assert_non_null(strstr(err, want));
    fx_free(&f);
    unlink(uid);
}

static void test_template_failure(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, RC "    title: '{{ template \"tn.no.such\" . }}'\n"
                     "    text: '{{ template \"tn.no.such\" . }}'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    assert_true(fx_engine_fails_missing(&f));
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.title", "[FIRING:2] Disk");
    fx_absent(&f, "attachments.0.text");
    fx_free(&f);
}

/* Builds and classifies in one send, as the core does (the error names the channel). */
static enum tn_send_result exchange(fx_t *f, long status, const char *body, const char **reason,
                                    char *err, size_t errlen)
{
    tn_send_t s = {.ic = fx_ic(f, 0), .n = &f->notif};
    tn_out_request_free(&f->req);
    tn_out_request_init(&f->req);
    char e[TN_ERRBUF_SIZE];
    assert_int_equal(s.ic->type->build(&s, &f->req, e, sizeof(e)), TN_OK);
    tn_out_response_t resp = {.status = status, .body = body, .body_len = strlen(body)};
    tn_send_outcome_t o = {.result = TN_SEND_DONE};
    s.ic->type->classify(&s, &resp, &o);
    if (s.carry)
        (s.carry_free ? s.carry_free : free)(s.carry);
    tn_strmap_free(&s.keep);
    *reason = o.reason;
    snprintf(err, errlen, "%s", o.err);
    return o.result;
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    fx_config(&f, RC "    channel: '#ops'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");

    assert_int_equal(exchange(&f, 200, "{\"ts\":1,\"success\":true}", &reason, err, sizeof(err)),
                     TN_SEND_DONE);
    /* Go's decoder matches member names without regard to case. */
    assert_int_equal(exchange(&f, 200, "{\"Success\":true}", &reason, err, sizeof(err)),
                     TN_SEND_DONE);
    /* Errors in a 2xx: Rocket.Chat's verdict fails for good. */
    assert_int_equal(exchange(&f, 200, "{\"success\":false,\"error\":\"error-invalid-channel\"}",
                              &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_string_equal(err,
                        "channel \"#ops\": error response from Rocketchat: error-invalid-channel");
    assert_int_equal(exchange(&f, 200, "{}", &reason, err, sizeof(err)), TN_SEND_FAIL);
    assert_int_equal(exchange(&f, 200, "null", &reason, err, sizeof(err)), TN_SEND_FAIL);
    /* A reply that does not decode is retried, as Alertmanager does. */
    assert_int_equal(exchange(&f, 200, "", &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_string_equal(reason, "clientError");
    assert_non_null(strstr(err, "channel \"#ops\": could not unmarshal JSON response \"\": "));
    assert_int_equal(exchange(&f, 200, "<html>", &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_int_equal(exchange(&f, 200, "[true]", &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_int_equal(exchange(&f, 200, "{\"success\":\"yes\"}", &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_int_equal(exchange(&f, 200, "{\"success\":true,\"error\":5}", &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    /* A long success reply arrives cut by the core: it stands. */
    char *big = malloc(5000);
    memcpy(big, "{\"ts\":1,\"message\":\"", 19);
    memset(big + 19, 'x', 4096 - 19);
    big[4096] = 0;
    assert_int_equal(exchange(&f, 200, big, &reason, err, sizeof(err)), TN_SEND_DONE);
    free(big);

    /* Statuses: 5xx retried, everything else not 2xx fails. */
    assert_int_equal(exchange(&f, 500, "oops", &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_string_equal(err, "channel \"#ops\": unexpected status code 500: oops");
    assert_int_equal(exchange(&f, 429, "", &reason, err, sizeof(err)), TN_SEND_FAIL);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(exchange(&f, 400, "", &reason, err, sizeof(err)), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(exchange(&f, 401, "", &reason, err, sizeof(err)), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    for (long code = 100; code < 600; code++) {
        enum tn_send_result r = fx_classify(&f, 0, code, "{\"success\":true}", NULL, &reason);
        if (code / 100 == 2)
            assert_int_equal(r, TN_SEND_DONE);
        else
            assert_int_equal(r, code / 100 == 5 ? TN_SEND_RETRY : TN_SEND_FAIL);
    }
    /* Transport failures are retried without the channel. */
    tn_out_response_t down = {.curl_code = 7, .error = "Couldn't connect to server"};
    tn_send_t s = {.ic = fx_ic(&f, 0), .n = &f.notif};
    tn_send_outcome_t o = {.result = TN_SEND_DONE};
    s.ic->type->classify(&s, &down, &o);
    assert_int_equal(o.result, TN_SEND_RETRY);
    assert_string_equal(o.err, "Couldn't connect to server");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - token: t\n",
                    "no global Rocketchat TokenID set either inline or in a file");
    fx_config_error(HEAD "  - token_id: i\n",
                    "no global Rocketchat Token set either inline or in a file");
    fx_config_error(HEAD "  - token: t\n    token_file: /etc/hostname\n    token_id: i\n",
                    "at most one of token & token_file must be configured");
    fx_config_error(HEAD "  - token: t\n    token_id: i\n    token_id_file: /etc/hostname\n",
                    "at most one of token_id & token_id_file must be configured");
    fx_config_error("global:\n  rocketchat_token: t\n  rocketchat_token_file: /etc/hostname\n"
                    "route:\n  receiver: team\nreceivers:\n- name: team\n",
                    "at most one of rocketchat_token & rocketchat_token_file must be configured");
    fx_config_error(RC "    fields:\n    - title: a\n      short: maybe\n",
                    "fields: short: cannot parse \"maybe\" as a boolean");
    /* Action keys are the lower-cased Go names, as Alertmanager reads them. */
    fx_config_error(RC "    actions:\n    - image_url: http://x\n", "unknown field \"image_url\"");
    fx_config_error(RC "    short_fields: sometimes\n", "short_fields");
    fx_config_error(HEAD "  - token: t\n    token_id: i\n    api_url: 'not a url'\n", "api_url");
    fx_config_error(HEAD "  - token_id: i\n", "test.yml:6:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firing_defaults),
        cmocka_unit_test(test_resolved),
        cmocka_unit_test(test_mixed_all_options),
        cmocka_unit_test(test_title_truncated),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_token_files),
        cmocka_unit_test(test_template_failure),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
