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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_fields),  cmocka_unit_test(test_exact_body),
        cmocka_unit_test(test_app_token),       cmocka_unit_test(test_api_url_file_read_per_send),
        cmocka_unit_test(test_title_truncated), cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_fallback_on_template_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
