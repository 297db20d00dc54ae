/* Microsoft Teams (Workflows) receiver: the Adaptive Card message byte for byte for firing,
 * resolved and mixed groups, the default texts, no length limit, template failures, the URL
 * file, the global proxy, retry rules and config errors (Alertmanager's notify/msteamsv2
 * scenarios). */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  msteamsv2_configs:\n"
#define URL                                                                                        \
    "http://127.0.0.1:9/workflows/xxx/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2F"  \
    "triggers%2Fmanual%2Frun&sv=1.0&sig=xxx"

/* The message Alertmanager posts, around a title, its colour and a text (JSON-escaped). */
#define CARD(title, color, text)                                                                   \
    "{\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/"                       \
    "vnd.microsoft.card.adaptive\",\"contentUrl\":null,\"content\":{\"$schema\":\"http://"         \
    "adaptivecards.io/schemas/adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.2\"," \
    "\"body\":[{\"type\":\"TextBlock\",\"text\":\"" title "\",\"weight\":\"Bolder\",\"size\":"     \
    "\"Medium\",\"wrap\":true,\"style\":\"heading\",\"color\":\"" color "\"},{\"type\":"           \
    "\"TextBlock\",\"text\":\"" text "\",\"wrap\":true}],\"msteams\":{\"width\":\"full\"}}}]}\n"

static void test_card_firing(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n    title: 'T {{ .Status }}'\n"
                       "    text: 'a <b> & \"c\"'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, URL);
    assert_null(f.req.method); /* POST */
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        CARD("T firing", "Attention", "a \\u003cb\\u003e \\u0026 \\\"c\\\""));
    assert_true(fx_ic(&f, 0)->send_resolved); /* default true */
    fx_free(&f);
}

static void test_resolved_and_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n    title: T\n    text: ''\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    /* An empty text is still written: Alertmanager's struct has no omitempty there. */
    assert_string_equal(tn_buf_cstr(&f.req.body), CARD("T", "Good", ""));
    f.nalerts[0].resolved = false;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.content.body.0.color", "Attention");
    fx_free(&f);
}

static void test_default_texts(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n");
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.content.body.0.text", "[FIRING:1] Disk ");
    fx_str(&f, "attachments.0.content.body.1.text",
           "\n\n# Alerts Firing:\n\nLabels:\n  - alertname = Disk\n  - instance = a\n\n"
           "Annotations:\n  - summary = full\n\nSource: http://prom/graph\n\n\n\n\n"
           "# Alerts Resolved:\n\nLabels:\n  - alertname = Disk\n  - instance = b\n\n"
           "Annotations:\n\nSource: http://prom/graph\n\n\n\n");
    fx_free(&f);
}

/* Alertmanager's test: the msteams (v1) default templates work here too. */
static void test_v1_templates(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n"
                       "    title: '{{ template \"msteams.default.title\" . }}'\n"
                       "    text: '{{ template \"msteams.default.text\" . }}'\n");
    fx_alert(&f, "lbl1=val1", NULL, false);
    fx_notif(&f, NULL);
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.content.body.0.text", "[FIRING:1]  (val1)");
    fx_str(&f, "attachments.0.content.body.1.text",
           "\n\n# Alerts Firing:\n\nLabels:\n  - lbl1 = val1\n\nAnnotations:\n\n"
           "Source: http://prom/graph\n\n\n\n\n");
    fx_free(&f);
}

static void test_long_text_not_truncated(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n    title: '{{ .CommonLabels.instance }}'\n"
                       "    text: '{{ .CommonLabels.instance }}'\n");
    size_t n = 40000;
    char *labels = malloc(n + 32);
    int k = snprintf(labels, n + 32, "alertname=Disk,instance=");
    memset(labels + k, 'x', n);
    labels[k + n] = 0;
    fx_alert(&f, labels, NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.content.body.0.text", labels + k);
    fx_str(&f, "attachments.0.content.body.1.text", labels + k);
    free(labels);
    fx_free(&f);
}

static void test_template_errors(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n    title: '{{ '\n    text: '{{ '\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.content.body.0.text", "[FIRING:1] Disk");
    fx_str(&f, "attachments.0.content.body.1.text", "");
    fx_free(&f);
}

static void test_url_file_read_per_send(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-msteamsv2-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "  http://127.0.0.1:9/one\n", 25), 25);
    close(fd);
    char yaml[256];
    snprintf(yaml, sizeof(yaml), HEAD "  - webhook_url_file: %s\n", path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/one");
    FILE *fp = fopen(path, "w");
    fputs("http://127.0.0.1:9/two", fp);
    fclose(fp);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/two");
    unlink(path);
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(err, "read webhook_url_file: open"));
    fx_free(&f);
}

/* An http_config of the integration's own keeps the global proxy_url, as Alertmanager merges
 * it for msteamsv2 alone. */
static void test_global_proxy(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  http_config:\n    proxy_url: http://127.0.0.1:3128\n" HEAD
                  "  - webhook_url: http://127.0.0.1:9/a\n    http_config:\n"
                  "      follow_redirects: false\n"
                  "  - webhook_url: http://127.0.0.1:9/b\n"
                  "  - webhook_url: http://127.0.0.1:9/c\n    http_config:\n"
                  "      proxy_url: http://127.0.0.1:8080\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.http->proxy_url, "http://127.0.0.1:3128");
    assert_false(f.req.http->follow_redirects);
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.http->proxy_url, "http://127.0.0.1:3128");
    fx_build_ok(&f, 2);
    assert_string_equal(f.req.http->proxy_url, "http://127.0.0.1:8080");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - webhook_url: '" URL "'\n");
    assert_int_equal(fx_classify(&f, 0, 200, "1", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 202, "", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 502, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_FAIL);
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
    fx_config_error(HEAD "  - title: x\n",
                    "test.yml:6:5: receiver team: msteamsv2_configs: one of webhook_url or "
                    "webhook_url_file must be configured");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    webhook_url_file: /etc/hostname\n",
                    "at most one of webhook_url & webhook_url_file must be configured");
    fx_config_error(HEAD "  - webhook_url: 'http//a'\n", "webhook_url");
    /* msteams (v1) has a summary; the Workflows card has none. */
    fx_config_error(HEAD "  - webhook_url: http://a/\n    summary: x\n",
                    "unknown field \"summary\" in msteamsv2_configs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_card_firing),
        cmocka_unit_test(test_resolved_and_mixed),
        cmocka_unit_test(test_default_texts),
        cmocka_unit_test(test_v1_templates),
        cmocka_unit_test(test_long_text_not_truncated),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_url_file_read_per_send),
        cmocka_unit_test(test_global_proxy),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
