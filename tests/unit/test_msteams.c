/* Microsoft Teams (Office 365 connector) receiver: the MessageCard byte for byte for firing,
 * resolved and mixed groups, the default texts, no length limit, template failures, the URL
 * file, retry rules and config errors (Alertmanager's notify/msteams scenarios). */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  msteams_configs:\n"
#define URL  "http://127.0.0.1:9/webhookb2/xxxxxx/IncomingWebhook/xxx/xxx"

static void test_card_firing(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n    title: 'T {{ .Status }}'\n"
                       "    summary: 'S {{ len .Alerts }}'\n    text: 'a <b> & \"c\"'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, URL);
    assert_null(f.req.method); /* POST */
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_non_null(f.req.http);
    /* Go's encoder: fields in struct order, HTML characters escaped, a newline at the end. */
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"@context\":\"http://schema.org/extensions\",\"type\":\"MessageCard\","
                        "\"title\":\"T firing\",\"summary\":\"S 1\",\"text\":\"a \\u003cb\\u003e "
                        "\\u0026 \\\"c\\\"\",\"themeColor\":\"8C1A1A\"}\n");
    assert_true(fx_ic(&f, 0)->send_resolved); /* default true */
    fx_free(&f);
}

static void test_resolved_and_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n    title: T\n    summary: S\n    text: X\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"@context\":\"http://schema.org/extensions\",\"type\":\"MessageCard\","
                        "\"title\":\"T\",\"summary\":\"S\",\"text\":\"X\",\"themeColor\":"
                        "\"2DC72D\"}\n");
    /* One firing among resolved ones: the group fires, red. */
    f.nalerts[1].resolved = false;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "themeColor", "8C1A1A");
    fx_free(&f);
}

/* The default title, summary and text as Alertmanager's default templates render them. */
static void test_default_texts(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n");
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "title", "[FIRING:1] Disk ");
    fx_str(&f, "summary", "[FIRING:1] Disk ");
    fx_str(&f, "text",
           "\n\n# Alerts Firing:\n\nLabels:\n  - alertname = Disk\n  - instance = a\n\n"
           "Annotations:\n  - summary = full\n\nSource: http://prom/graph\n\n\n\n\n"
           "# Alerts Resolved:\n\nLabels:\n  - alertname = Disk\n  - instance = b\n\n"
           "Annotations:\n\nSource: http://prom/graph\n\n\n\n");
    /* All resolved, common labels beyond the group's. */
    fx_t g;
    fx_config(&g, HEAD "  - webhook_url: " URL "\n");
    fx_alert(&g, "alertname=Disk,instance=a", NULL, true);
    fx_notif(&g, "alertname=Disk");
    fx_build_ok(&g, 0);
    fx_str(&g, "title", "[RESOLVED] Disk (a)");
    fx_str(&g, "text",
           "\n\n\n# Alerts Resolved:\n\nLabels:\n  - alertname = Disk\n"
           "  - instance = a\n\nAnnotations:\n\nSource: http://prom/graph\n\n\n\n");
    fx_free(&g);
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

/* Alertmanager cuts nothing for Teams: a long text goes whole. */
static void test_long_text_not_truncated(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n    title: '{{ .CommonLabels.instance }}'\n"
                       "    text: '{{ .CommonLabels.instance }}'\n");
    char *big = repeat("\xe2\x82\xac", 30000), *labels = malloc(strlen(big) + 32);
    snprintf(labels, strlen(big) + 32, "alertname=Disk,instance=%s", big);
    fx_alert(&f, labels, NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "title", big);
    fx_str(&f, "text", big);
    free(labels);
    free(big);
    fx_free(&f);
}

/* Alertmanager fails the send on a template error; tocsin sends the fallback title and
 * summary, and an empty text. */
static void test_template_errors(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n    title: '{{ '\n    summary: '{{ '\n"
                       "    text: '{{ '\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "title", "[FIRING:1] Disk");
    fx_str(&f, "summary", "[FIRING:1] Disk");
    fx_str(&f, "text", "");
    fx_free(&f);
}

static void test_url_file_read_per_send(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-msteams-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "http://127.0.0.1:9/one\n", 23), 23);
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

/* As Alertmanager: an http_config of the integration's own replaces the global one whole
 * (only msteamsv2 keeps the global proxy_url). */
static void test_http_config(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  http_config:\n    proxy_url: http://127.0.0.1:3128\n" HEAD
                  "  - webhook_url: http://127.0.0.1:9/a\n    http_config:\n"
                  "      follow_redirects: false\n"
                  "  - webhook_url: http://127.0.0.1:9/b\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_null(f.req.http->proxy_url);
    assert_false(f.req.http->follow_redirects);
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.http->proxy_url, "http://127.0.0.1:3128");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - webhook_url: " URL "\n");
    assert_int_equal(fx_classify(&f, 0, 200, "1", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 204, "", NULL, &reason), TN_SEND_DONE);
    /* Alertmanager's default retrier: only 5xx. */
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 503, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 400, "bad card", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(fx_classify(&f, 0, 401, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_int_equal(fx_classify(&f, 0, 302, "", NULL, &reason), TN_SEND_FAIL);
    /* A transport error is retried, as Alertmanager retries a failed POST. */
    tn_out_response_t resp = {.curl_code = 28, .error = "Timeout was reached"};
    char err[TN_ERRBUF_SIZE];
    reason = NULL;
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &resp, &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - title: x\n",
                    "test.yml:6:5: receiver team: msteams_configs: one of webhook_url or "
                    "webhook_url_file must be configured");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    webhook_url_file: /etc/hostname\n",
                    "at most one of webhook_url & webhook_url_file must be configured");
    fx_config_error(HEAD "  - webhook_url: ftp://a/\n", "unsupported scheme");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    sumary: x\n",
                    "unknown field \"sumary\" in msteams_configs");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    send_resolved: maybe\n", "send_resolved");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_card_firing),     cmocka_unit_test(test_resolved_and_mixed),
        cmocka_unit_test(test_default_texts),   cmocka_unit_test(test_long_text_not_truncated),
        cmocka_unit_test(test_template_errors), cmocka_unit_test(test_url_file_read_per_send),
        cmocka_unit_test(test_http_config),     cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
