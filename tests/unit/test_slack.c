/* Slack receiver: the request built for a fixed notification, field by field, app token
 * mode, the URL file read per send, truncation, the reply verdicts and config errors. */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  slack_configs:\n"

static const char *const full_yaml = HEAD "  - api_url: http://127.0.0.1:9/hook\n"
                                          "    channel: '#ops'\n"
                                          "    username: bot\n"
                                          "    title: T <1>\n"
                                          "    title_link: http://link\n"
                                          "    pretext: P\n"
                                          "    text: X\n"
                                          "    fallback: FB\n"
                                          "    callback_id: cb\n"
                                          "    footer: foot\n"
                                          "    color: danger\n"
                                          "    icon_emoji: ':fire:'\n"
                                          "    icon_url: ''\n"
                                          "    image_url: http://img\n"
                                          "    link_names: true\n"
                                          "    short_fields: true\n"
                                          "    message_text: hello\n"
                                          "    fields:\n"
                                          "    - title: f1\n"
                                          "      value: v1\n"
                                          "    - title: f2\n"
                                          "      value: v2\n"
                                          "      short: false\n"
                                          "    actions:\n"
                                          "    - type: button\n"
                                          "      text: Open\n"
                                          "      url: http://x\n"
                                          "      name: dropped\n"
                                          "    - type: button\n"
                                          "      text: Ack\n"
                                          "      name: ack\n"
                                          "      value: v\n"
                                          "      style: danger\n"
                                          "      confirm:\n"
                                          "        text: sure?\n"
                                          "        ok_text: 'yes'\n"
                                          "    mrkdwn_in: [text]\n";

static void test_payload_fields(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, full_yaml);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/hook");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    fx_str(&f, "channel", "#ops");
    fx_str(&f, "username", "bot");
    fx_str(&f, "icon_emoji", ":fire:");
    fx_absent(&f, "icon_url");
    assert_true(json_is_true(fx_get(&f, "link_names")));
    fx_str(&f, "text", "hello");
    fx_str(&f, "attachments.0.title", "T <1>");
    fx_str(&f, "attachments.0.title_link", "http://link");
    fx_str(&f, "attachments.0.pretext", "P");
    fx_str(&f, "attachments.0.text", "X");
    fx_str(&f, "attachments.0.fallback", "FB");
    fx_str(&f, "attachments.0.callback_id", "cb");
    fx_str(&f, "attachments.0.footer", "foot");
    fx_str(&f, "attachments.0.color", "danger");
    fx_str(&f, "attachments.0.image_url", "http://img");
    fx_absent(&f, "attachments.0.thumb_url");
    fx_str(&f, "attachments.0.fields.0.title", "f1");
    fx_str(&f, "attachments.0.fields.0.value", "v1");
    assert_true(json_is_true(fx_get(&f, "attachments.0.fields.0.short")));
    assert_true(json_is_false(fx_get(&f, "attachments.0.fields.1.short")));
    fx_str(&f, "attachments.0.actions.0.url", "http://x");
    fx_absent(&f, "attachments.0.actions.0.name"); /* a URL button drops message-action keys */
    fx_str(&f, "attachments.0.actions.1.name", "ack");
    fx_str(&f, "attachments.0.actions.1.style", "danger");
    fx_absent(&f, "attachments.0.actions.1.url");
    fx_str(&f, "attachments.0.actions.1.confirm.text", "sure?");
    fx_str(&f, "attachments.0.actions.1.confirm.ok_text", "yes");
    fx_str(&f, "attachments.0.mrkdwn_in.0", "text");
    assert_int_equal(json_array_size(fx_get(&f, "attachments.0.mrkdwn_in")), 1);
    /* Go's encoder escapes < and > in strings. */
    assert_non_null(strstr(f.req.body.data, "T \\u003c1\\u003e"));
    fx_free(&f);
}

/* Member order and omission exactly as Alertmanager's encoder writes them. */
static void test_exact_body(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_url: http://127.0.0.1:9/hook\n"
                       "    username: u\n    color: c\n    title: t\n    title_link: ''\n"
                       "    pretext: ''\n    text: x\n    fallback: fb\n    callback_id: ''\n"
                       "    footer: ''\n    icon_emoji: ''\n    icon_url: ''\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"username\":\"u\",\"attachments\":[{\"title\":\"t\",\"text\":\"x\","
                        "\"fallback\":\"fb\",\"callback_id\":\"\",\"footer\":\"\",\"color\":\"c\","
                        "\"mrkdwn_in\":[\"fallback\",\"pretext\",\"text\"]}]}\n");
    fx_free(&f);
}

static void test_app_token(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  slack_app_token: xoxb-1\n  slack_app_url: http://127.0.0.1:9/api\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  slack_configs:\n"
                  "  - channel: '#a'\n  - channel: '#b'\n    api_url: http://127.0.0.1:9/hook\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api");
    assert_non_null(f.req.http);
    assert_string_equal(f.req.http->authorization_type, "Bearer");
    assert_string_equal(f.req.http->authorization_credentials, "xoxb-1");
    /* A local webhook URL keeps the global token away. */
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/hook");
    assert_null(f.req.http->authorization_credentials);
    fx_free(&f);
}

static void test_api_url_file_read_per_send(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-slack-url-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "http://127.0.0.1:9/one\n", 23), 23);
    close(fd);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), HEAD "  - api_url_file: %s\n", path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/one");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("http://127.0.0.1:9/two", fp);
    fclose(fp);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/two");
    unlink(path);
    char err[TN_ERRBUF_SIZE];
    assert_true(fx_build(&f, 0, err, sizeof(err)) < 0); /* gone: the send fails */
    fx_free(&f);
}

static void test_title_truncated(void **state)
{
    (void)state;
    char title[1200 * 2 + 1];
    for (int i = 0; i < 1200; i++)
        memcpy(title + 2 * i, "\xc3\xa9", 2); /* é: two bytes, one rune */
    title[2400] = 0;
    char yaml[4096];
    snprintf(yaml, sizeof(yaml), HEAD "  - api_url: http://127.0.0.1:9/h\n    title: '%s'\n",
             title);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    const char *got = json_string_value(fx_get(&f, "attachments.0.title"));
    assert_non_null(got);
    assert_int_equal(strlen(got), 1023 * 2 + 3);
    assert_memory_equal(got + 1023 * 2, "\xe2\x80\xa6", 3);
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - api_url: http://127.0.0.1:9/h\n");
    assert_int_equal(fx_classify(&f, 0, 200, "ok", "text/html", &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 200, "invalid_token", "text/plain", &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(
        fx_classify(&f, 0, 200, "{\"ok\":true}", "application/json; charset=utf-8", &reason),
        TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 200, "{\"ok\":false,\"error\":\"channel_not_found\"}",
                                 "application/json", &reason),
                     TN_SEND_FAIL);
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 400, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(fx_classify(&f, 0, 403, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - channel: x\n", "no Slack API URL nor App token");
    fx_config_error(HEAD "  - api_url: http://a/\n    app_token: t\n", "at most one of api_url");
    fx_config_error(HEAD
                    "  - api_url: http://a/\n    actions:\n    - type: button\n      text: x\n",
                    "missing name or url");
    fx_config_error(HEAD "  - api_url: http://a/\n    fields:\n    - title: x\n",
                    "missing required field \"value\"");
    fx_config_error(HEAD "  - api_url: http://a/\n    fields:\n    - title: x\n      value: y\n"
                         "      short: maybe\n",
                    "short");
    fx_config_error(HEAD "  - app_token: t\n    http_config:\n      authorization:\n"
                         "        credentials: c\n",
                    "http authorization can't be set");
}

static void test_fallback_on_template_error(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_url: http://127.0.0.1:9/h\n"
                       "    title: '{{ template \"tn.no.such\" . }}'\n    text: body\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    /* The fallback is only reached if a missing template is an error. */
    assert_true(fx_engine_fails_missing(&f));
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.title", "[FIRING:2] Disk");
    fx_str(&f, "attachments.0.text", "body");
    fx_free(&f);
}

/* ---- update_message ---- */

#define APP_HEAD                                                                                   \
    "global:\n  slack_app_token: xoxb-1\n  slack_app_url: "                                        \
    "http://127.0.0.1:9/api/chat.postMessage\n"                                                    \
    "route:\n  receiver: team\nreceivers:\n- name: team\n  slack_configs:\n"

/* One step through the contract with the given stored data; the kept data comes back in
 * keep (caller frees). */
static void send_step(fx_t *f, size_t i, const char *ts, const char *channel, const char *reply,
                      enum tn_send_result want, tn_strmap_t *keep)
{
    tn_send_t s = {.ic = fx_ic(f, i), .n = &f->notif};
    if (ts)
        tn_strmap_set(&s.stored, "threadTs", ts);
    if (channel)
        tn_strmap_set(&s.stored, "channelId", channel);
    char err[TN_ERRBUF_SIZE] = "";
    tn_out_request_free(&f->req);
    tn_out_request_init(&f->req);
    json_decref(f->json);
    if (s.ic->type->build(&s, &f->req, err, sizeof(err)) != TN_OK)
        fail_msg("build: %s", err);
    json_error_t jerr;
    f->json = json_loadb(f->req.body.data, f->req.body.len, 0, &jerr);
    assert_non_null(f->json);
    tn_out_response_t resp = {.status = 200,
                              .body = reply,
                              .body_len = strlen(reply),
                              .content_type = "application/json; charset=utf-8"};
    tn_send_outcome_t o = {.result = TN_SEND_DONE};
    s.ic->type->classify(&s, &resp, &o);
    assert_int_equal(o.result, want);
    *keep = s.keep;
    tn_strmap_free(&s.stored);
}

static void test_update_message(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, APP_HEAD "  - channel: '#ops'\n    update_message: true\n    title: T\n"
                           "    username: u\n"
                           "  - channel: '#ops'\n    title: T\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    tn_strmap_t keep;

    /* The first send posts, and keeps the ts and channel Slack answers with. */
    send_step(&f, 0, NULL, NULL,
              "{\"ok\":true,\"channel\":\"C024BE91L\",\"ts\":\"1700000000.000100\"}", TN_SEND_DONE,
              &keep);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/chat.postMessage");
    fx_str(&f, "channel", "#ops");
    fx_absent(&f, "ts");
    assert_string_equal(tn_strmap_get(&keep, "threadTs"), "1700000000.000100");
    assert_string_equal(tn_strmap_get(&keep, "channelId"), "C024BE91L");
    tn_strmap_free(&keep);

    /* A later send of the group updates that message, in the channel Slack named. */
    send_step(&f, 0, "1700000000.000100", "C024BE91L",
              "{\"ok\":true,\"channel\":\"C024BE91L\",\"ts\":\"1700000000.000100\"}", TN_SEND_DONE,
              &keep);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/chat.update");
    assert_string_equal(f.req.http->authorization_credentials, "xoxb-1");
    assert_true(
        strncmp(tn_buf_cstr(&f.req.body),
                "{\"channel\":\"C024BE91L\",\"ts\":\"1700000000.000100\",\"username\":\"u\","
                "\"attachments\":[{\"title\":\"T\",",
                82) == 0);
    tn_strmap_free(&keep);

    /* Half of what an update needs is no update; an answer without ts keeps nothing. */
    send_step(&f, 0, "1700000000.000100", NULL, "{\"ok\":true}", TN_SEND_DONE, &keep);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/chat.postMessage");
    fx_str(&f, "channel", "#ops");
    assert_int_equal(keep.n, 0);
    tn_strmap_free(&keep);

    /* A failed update keeps nothing (the stored data stays as it was). */
    send_step(&f, 0, "1.2", "C1", "{\"ok\":false,\"error\":\"message_not_found\"}", TN_SEND_FAIL,
              &keep);
    assert_int_equal(keep.n, 0);
    tn_strmap_free(&keep);

    /* Without update_message nothing is kept, and stored data is not used. */
    send_step(&f, 1, "1.2", "C1", "{\"ok\":true,\"channel\":\"C1\",\"ts\":\"3.4\"}", TN_SEND_DONE,
              &keep);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/chat.postMessage");
    fx_absent(&f, "ts");
    assert_int_equal(keep.n, 0);
    tn_strmap_free(&keep);
    fx_free(&f);
}

/* chat.update is found beside chat.postMessage; Slack's own API URL with a bot token in
 * http_config is the other way Alertmanager allows. */
static void test_update_url(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  slack_app_token: xoxb-1\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  slack_configs:\n"
                  "  - update_message: true\n"
                  "  - update_message: true\n    app_url: http://127.0.0.1:9/x/post?team=1\n"
                  "  - update_message: true\n    app_url: http://127.0.0.1:9\n"
                  "  - update_message: true\n    api_url: https://slack.com/api/chat.postMessage\n"
                  "    http_config:\n      authorization:\n        credentials: xoxb-2\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    static const char *const want[] = {
        "https://slack.com/api/chat.update",
        "http://127.0.0.1:9/x/chat.update?team=1",
        "http://127.0.0.1:9/chat.update",
        "https://slack.com/api/chat.update",
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(want); i++) {
        tn_strmap_t keep;
        send_step(&f, i, "1.2", "C1", "{\"ok\":true}", TN_SEND_DONE, &keep);
        assert_string_equal(f.req.url, want[i]);
        tn_strmap_free(&keep);
    }
    assert_string_equal(f.req.http->authorization_credentials, "xoxb-2");
    fx_free(&f);
}

static void test_update_message_config(void **state)
{
    (void)state;
    static const char msg[] =
        "update_message can only be used with bot tokens. api_url must be set "
        "to https://slack.com/api/chat.postMessage";
    /* Alertmanager's testdata: an inline incoming-webhook URL. */
    fx_config_error(HEAD "  - api_url: https://hooks.slack.com/services/T0/B0/X\n"
                         "    update_message: true\n",
                    msg);
    /* A webhook from a file or the global one: Alertmanager cannot load these at all. */
    char path[] = "/tmp/tn-slack-url-XXXXXX", yaml[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "https://slack.com/api/chat.postMessage\n", 39), 39);
    close(fd);
    snprintf(yaml, sizeof(yaml), HEAD "  - api_url_file: %s\n    update_message: true\n", path);
    fx_config_error(yaml, msg);
    unlink(path);
    fx_config_error("global:\n  slack_api_url: https://hooks.slack.com/services/T0/B0/X\n" HEAD
                    "  - update_message: true\n",
                    msg);
}

/* Alertmanager's rule for the global app token: taken unless the integration has its own
 * token, authorization or inline api_url; it then wins over a local api_url_file. */
static void test_global_app_token_rules(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-slack-url-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "http://127.0.0.1:9/file\n", 24), 24);
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "global:\n  slack_app_token: xoxb-g\n  slack_app_url: http://127.0.0.1:9/app\n"
             "route:\n  receiver: team\nreceivers:\n- name: team\n  slack_configs:\n"
             "  - api_url_file: %s\n"
             "  - api_url: http://127.0.0.1:9/inline\n",
             path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/app");
    assert_string_equal(f.req.http->authorization_credentials, "xoxb-g");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/inline");
    assert_null(f.req.http->authorization_credentials);
    fx_free(&f);
    unlink(path);
    /* A global authorization with the global token: Alertmanager's error. */
    fx_config_error("global:\n  slack_app_token: xoxb-g\n  http_config:\n    authorization:\n"
                    "      credentials: c\n" HEAD "  - channel: '#a'\n",
                    "http authorization can't be set when using Slack App tokens");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_fields),
        cmocka_unit_test(test_exact_body),
        cmocka_unit_test(test_app_token),
        cmocka_unit_test(test_api_url_file_read_per_send),
        cmocka_unit_test(test_title_truncated),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_fallback_on_template_error),
        cmocka_unit_test(test_update_message),
        cmocka_unit_test(test_update_url),
        cmocka_unit_test(test_update_message_config),
        cmocka_unit_test(test_global_app_token_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
