/* Discord receiver: the webhook message field by field, colours by status, length limits,
 * retry rules and config errors. */
#include "rcv_fixture.h"

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  discord_configs:\n"

static void test_message(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: http://127.0.0.1:9/api/webhooks/1/x\n"
                       "    title: T\n    message: M\n    content: C\n    username: bot\n"
                       "    avatar_url: http://a/p.png\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/api/webhooks/1/x");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"content\":\"C\",\"embeds\":[{\"title\":\"T\",\"description\":\"M\","
                        "\"color\":10038562}],\"username\":\"bot\",\"avatar_url\":\"http://a/"
                        "p.png\"}\n");
    /* All resolved: green. */
    f.nalerts[0].resolved = true;
    fx_build_ok(&f, 0);
    assert_int_equal(json_integer_value(fx_get(&f, "embeds.0.color")), 0x2ECC71);
    fx_free(&f);
}

static void test_minimal(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: http://127.0.0.1:9/w\n    title: T\n    message: M\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "content", ""); /* always written */
    fx_absent(&f, "username");
    fx_absent(&f, "avatar_url");
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

static void test_limits(void **state)
{
    (void)state;
    char *title = repeat("t", 300), *msg = repeat("\xe2\x82\xac", 5000),
         *content = repeat("c", 2001);
    size_t cap = strlen(title) + strlen(msg) + strlen(content) + 512;
    char *yaml = malloc(cap);
    snprintf(yaml, cap,
             HEAD "  - webhook_url: http://127.0.0.1:9/w\n    title: %s\n    message: %s\n"
                  "    content: %s\n",
             title, msg, content);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    const char *t = json_string_value(fx_get(&f, "embeds.0.title"));
    const char *d = json_string_value(fx_get(&f, "embeds.0.description"));
    const char *c = json_string_value(fx_get(&f, "content"));
    assert_int_equal(strlen(t), 255 + 3);
    assert_int_equal(strlen(d), 4095 * 3 + 3); /* runes, not bytes */
    assert_int_equal(strlen(c), 1999 + 3);
    assert_memory_equal(c + 1999, "\xe2\x80\xa6", 3);
    fx_free(&f);
    free(yaml);
    free(title);
    free(msg);
    free(content);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - webhook_url: http://127.0.0.1:9/w\n");
    assert_int_equal(fx_classify(&f, 0, 204, "", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 502, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 400, "", NULL, &reason), TN_SEND_FAIL);
    assert_int_equal(fx_classify(&f, 0, 404, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - title: x\n", "one of webhook_url or webhook_url_file");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    webhook_url_file: /etc/hostname\n",
                    "at most one of webhook_url & webhook_url_file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message),       cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
