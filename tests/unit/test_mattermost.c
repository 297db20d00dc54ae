/* Mattermost receiver: the post member by member (Alertmanager's scenarios: text, props,
 * priority, attachments), the default templates for firing, resolved and mixed groups, custom
 * templates, the text limit, priority corrections, the URL file, retry rules and config
 * errors. */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  mattermost_configs:\n"
/* Alertmanager's notifier tests build the config without its defaults: these keys empty. */
#define BARE                                                                                       \
    "  - webhook_url: http://127.0.0.1:9/hooks/x\n    username: ''\n    color: ''\n"               \
    "    title: ''\n    title_link: ''\n    fallback: ''\n"

static void one_alert(fx_t *f)
{
    fx_alert(f, "lbl1=val1", NULL, false);
    fx_notif(f, "");
}

static void expect_post(const char *head, const char *conf, const char *want)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), HEAD "%s%s", head, conf);
    fx_t f;
    fx_config(&f, yaml);
    one_alert(&f);
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body), want);
    fx_free(&f);
}

static void expect_body(const char *conf, const char *want)
{
    expect_post(BARE, conf, want);
}

/* TestMattermost_Notify, case by case. */
static void test_upstream_bodies(void **state)
{
    (void)state;
    expect_body("    text: Test Text\n", "{\"attachments\":[{\"text\":\"Test Text\"}]}\n");
    expect_body(
        "    text: Test Text\n    props:\n      card: Test Card\n",
        "{\"attachments\":[{\"text\":\"Test Text\"}],\"props\":{\"card\":\"Test Card\"}}\n");
    expect_body("    text: Test Text\n    priority:\n      priority: standard\n"
                "      requested_ack: true\n      persistent_notifications: true\n",
                "{\"attachments\":[{\"text\":\"Test Text\"}],\"priority\":{\"priority\":"
                "\"standard\"}}\n");
    expect_body("    text: Test Text\n    props:\n      card: Test Card\n"
                "    priority:\n      priority: urgent\n",
                "{\"attachments\":[{\"text\":\"Test Text\"}],\"props\":{\"card\":\"Test Card\"},"
                "\"priority\":{\"priority\":\"urgent\"}}\n");
    expect_body("    text: ''\n", "{\"attachments\":[{}]}\n");
    expect_body(
        "    text: ''\n    attachments:\n      - title: Test Attachment\n"
        "        text: Attachment Text\n",
        "{\"attachments\":[{\"text\":\"Attachment Text\",\"title\":\"Test Attachment\"}]}\n");
    expect_body("    text: Test Text\n    attachments:\n      - title: Test Attachment\n"
                "        text: Attachment Text\n",
                "{\"text\":\"Test Text\",\"attachments\":[{\"text\":\"Attachment Text\",\"title\":"
                "\"Test Attachment\"}]}\n");
}

static void test_every_member(void **state)
{
    (void)state;
    expect_post(
        "  - webhook_url: http://127.0.0.1:9/hooks/x\n",
        "    channel: 'town-{{ .Status }}'\n    username: bot\n    icon_url: http://i/u.png\n"
        "    icon_emoji: ':fire:'\n    text: T\n    fallback: FB\n    color: '#f00'\n"
        "    pretext: PT\n    author_name: AN\n    author_link: http://a/l\n"
        "    author_icon: http://a/i\n    title: TI\n    title_link: http://t/l\n"
        "    fields:\n      - title: F1\n        value: V1\n        short: true\n"
        "      - title: F2\n        value: '{{ len .Alerts }}'\n        short: false\n"
        "      - title: F3\n        value: V3\n"
        "    thumb_url: http://th\n    footer: FT\n    footer_icon: http://fi\n"
        "    image_url: http://im\n    type: custom_alert\n",
        "{\"channel\":\"town-firing\",\"username\":\"bot\",\"icon_url\":\"http://i/u.png\","
        "\"icon_emoji\":\":fire:\",\"attachments\":[{\"fallback\":\"FB\",\"color\":\"#f00\","
        "\"pretext\":\"PT\",\"text\":\"T\",\"author_name\":\"AN\",\"author_link\":"
        "\"http://a/l\",\"author_icon\":\"http://a/i\",\"title\":\"TI\",\"title_link\":"
        "\"http://t/l\",\"fields\":[{\"title\":\"F1\",\"value\":\"V1\",\"short\":true},"
        "{\"title\":\"F2\",\"value\":\"1\",\"short\":false},{\"title\":\"F3\",\"value\":"
        "\"V3\"}],\"thumb_url\":\"http://th\",\"footer\":\"FT\",\"footer_icon\":"
        "\"http://fi\",\"image_url\":\"http://im\"}],\"type\":\"custom_alert\"}\n");
    /* With attachments, the top-level attachment keys are not sent. */
    expect_post(
        "  - webhook_url: http://127.0.0.1:9/hooks/x\n",
        "    username: ''\n    text: T\n    title: ignored\n    color: ignored\n    attachments:\n"
        "      - color: good\n        fields:\n          - title: a\n            value: b\n"
        "      - footer: second\n",
        "{\"text\":\"T\",\"attachments\":[{\"color\":\"good\",\"fields\":[{\"title\":\"a\","
        "\"value\":\"b\"}]},{\"footer\":\"second\"}]}\n");
}

static void test_priority_corrections(void **state)
{
    (void)state;
    expect_body(
        "    text: ''\n    priority:\n      priority: URGENT\n      requested_ack: true\n"
        "      persistent_notifications: true\n",
        "{\"attachments\":[{}],\"priority\":{\"priority\":\"urgent\",\"requested_ack\":true,"
        "\"persistent_notifications\":true}}\n");
    expect_body(
        "    text: ''\n    priority:\n      priority: Important\n      requested_ack: true\n"
        "      persistent_notifications: true\n",
        "{\"attachments\":[{}],\"priority\":{\"priority\":\"important\",\"requested_ack\":"
        "true}}\n");
    expect_body("    text: ''\n    priority:\n      priority: '{{ .Status }}'\n"
                "      requested_ack: true\n",
                "{\"attachments\":[{}],\"priority\":{\"priority\":\"standard\"}}\n");
    /* No priority name: no priority at all; an empty card: no props. */
    expect_body(
        "    text: ''\n    priority:\n      requested_ack: true\n    props:\n      card: ''\n",
        "{\"attachments\":[{}]}\n");
}

/* The defaults: Alertmanager's mattermost.default.* for the same data. */
#define MD_A                                                                                       \
    "\nLabels:\n  - alertname = Disk\n  - instance = a\n\nAnnotations:\n  - summary = full\n"      \
    "\nSource: http://prom/graph\n"
#define MD_B                                                                                       \
    "\nLabels:\n  - alertname = Disk\n  - instance = b\n\nAnnotations:\n\nSource: "                \
    "http://prom/graph\n"
#define LINK "http://am.example/#/alerts?receiver=team"

static void renotif(fx_t *f)
{
    for (size_t i = 0; i < f->ngroup; i++) {
        tn_intern_unref(f->group[i].name);
        tn_intern_unref(f->group[i].value);
    }
    fx_notif(f, "alertname=Disk");
}

static void test_defaults(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  mattermost_webhook_url: http://127.0.0.1:9/hooks/global\n" HEAD
                  "  - channel: ops\n");
    assert_true(fx_ic(&f, 0)->send_resolved);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/hooks/global");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    fx_absent(&f, "text");
    fx_str(&f, "channel", "ops");
    fx_str(&f, "username", "Alertmanager");
    fx_str(&f, "attachments.0.fallback", "[FIRING:1] Disk (a) | " LINK);
    fx_str(&f, "attachments.0.color", "danger");
    fx_str(&f, "attachments.0.title", "[FIRING:1] Disk (a)");
    fx_str(&f, "attachments.0.title_link", LINK);
    fx_str(&f, "attachments.0.text", "\n\n# Alerts Firing:\n" MD_A "\n\n\n\n");
    assert_int_equal(json_object_size(fx_get(&f, "attachments.0")), 5);
    assert_int_equal(json_object_size(f.json), 3);

    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    renotif(&f);
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.title", "[FIRING:1] Disk ");
    fx_str(&f, "attachments.0.text",
           "\n\n# Alerts Firing:\n" MD_A "\n\n\n\n# Alerts Resolved:\n" MD_B "\n\n\n");

    f.nalerts[0].resolved = true;
    renotif(&f);
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.color", "good");
    fx_str(&f, "attachments.0.title", "[RESOLVED] Disk ");
    fx_str(&f, "attachments.0.text", "\n\n\n# Alerts Resolved:\n" MD_A MD_B "\n\n\n");
    fx_free(&f);
}

static void test_custom_templates(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-mm-tmpl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = "{{ define \"mattermost.default.title\" }}T {{ .Status }}{{ end }}\n"
                    "{{ define \"mm.text\" }}{{ range .Alerts }}{{ .Labels.instance }};{{ end }}"
                    "{{ end }}\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "templates: ['%s']\n" HEAD "  - webhook_url: http://127.0.0.1:9/h\n"
             "    text: '{{ template \"mm.text\" . }}'\n",
             path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.title", "T firing");
    fx_str(&f, "attachments.0.fallback", "T firing | " LINK);
    fx_str(&f, "attachments.0.text", "a;b;");
    unlink(path);
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

static void test_text_truncated(void **state)
{
    (void)state;
    char *text = repeat("\xc3\xa9", 17000);
    size_t cap = 2 * strlen(text) + 512;
    char *yaml = malloc(cap);
    /* Beside attachments the text is the post's own, cut to 16383 runes. */
    snprintf(yaml, cap,
             HEAD "  - webhook_url: http://127.0.0.1:9/h\n    text: '%s'\n"
                  "    attachments:\n      - text: '%s'\n",
             text, text);
    fx_t f;
    fx_config(&f, yaml);
    one_alert(&f);
    fx_build_ok(&f, 0);
    const char *got = json_string_value(fx_get(&f, "text"));
    assert_int_equal(strlen(got), 16382 * 2 + 3);
    assert_memory_equal(got + 16382 * 2, "\xe2\x80\xa6", 3);
    /* An attachment's text is not cut. */
    assert_string_equal(json_string_value(fx_get(&f, "attachments.0.text")), text);
    fx_free(&f);
    /* Without attachments the text goes into the attachment, whole (as Alertmanager). */
    snprintf(yaml, cap, HEAD "  - webhook_url: http://127.0.0.1:9/h\n    text: '%s'\n", text);
    fx_config(&f, yaml);
    one_alert(&f);
    fx_build_ok(&f, 0);
    assert_string_equal(json_string_value(fx_get(&f, "attachments.0.text")), text);
    fx_free(&f);
    free(yaml);
    free(text);
}

static void test_url_file_read_per_send(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-mm-url-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "http://127.0.0.1:9/one\n", 23), 23);
    close(fd);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), HEAD "  - webhook_url_file: %s\n", path);
    fx_t f;
    fx_config(&f, yaml);
    one_alert(&f);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/one");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("  \n", fp);
    fclose(fp);
    char err[TN_ERRBUF_SIZE];
    assert_true(fx_build(&f, 0, err, sizeof(err)) < 0);
    assert_string_equal(err, "webhook url missing");
    fp = fopen(path, "w");
    fputs("http://127.0.0.1:9/two", fp);
    fclose(fp);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/two");
    unlink(path);
    assert_true(fx_build(&f, 0, err, sizeof(err)) < 0);
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - webhook_url: http://127.0.0.1:9/h\n    channel: 'ops-{{ .Status }}'\n");
    one_alert(&f);
    /* Alertmanager's default retrier: 2xx done, 5xx retried, the rest fails (429 too). */
    static const struct {
        long status;
        enum tn_send_result want;
        const char *reason;
    } rows[] = {
        {200, TN_SEND_DONE, NULL},           {204, TN_SEND_DONE, NULL},
        {400, TN_SEND_FAIL, "clientError"},  {401, TN_SEND_FAIL, "authError"},
        {403, TN_SEND_FAIL, "authError"},    {404, TN_SEND_FAIL, "clientError"},
        {429, TN_SEND_FAIL, "rateLimited"},  {500, TN_SEND_RETRY, "serverError"},
        {502, TN_SEND_RETRY, "serverError"}, {503, TN_SEND_RETRY, "serverError"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(rows); i++) {
        assert_int_equal(fx_classify(&f, 0, rows[i].status, "", NULL, &reason), rows[i].want);
        if (rows[i].reason)
            assert_string_equal(reason, rows[i].reason);
    }
    /* The error names the rendered channel and carries the body. */
    tn_send_t s = {.ic = fx_ic(&f, 0), .n = &f.notif};
    tn_out_request_t req;
    char err[TN_ERRBUF_SIZE];
    tn_out_request_init(&req);
    assert_int_equal(s.ic->type->build(&s, &req, err, sizeof(err)), TN_OK);
    tn_out_response_t resp = {.status = 400, .body = "bad channel", .body_len = 11};
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = "other"};
    s.ic->type->classify(&s, &resp, &o);
    assert_string_equal(o.err, "channel \"ops-firing\": unexpected status code 400: bad channel");
    /* A request that did not complete is retried. */
    tn_out_response_t broken = {.curl_code = 7, .error = "Couldn't connect to server"};
    o = (tn_send_outcome_t){.result = TN_SEND_DONE, .reason = "other"};
    s.ic->type->classify(&s, &broken, &o);
    assert_int_equal(o.result, TN_SEND_RETRY);
    free(s.carry);
    tn_strmap_free(&s.keep);
    tn_out_request_free(&req);
    fx_free(&f);
}

static void test_fallback_on_template_error(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - webhook_url: http://127.0.0.1:9/h\n"
                       "    title: '{{ template \"tn.no.such\" . }}'\n    text: body\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_notif(&f, "alertname=Disk");
    if (!fx_engine_fails_missing(&f)) {
        fx_free(&f);
        skip();
    }
    fx_build_ok(&f, 0);
    fx_str(&f, "attachments.0.title", "[FIRING:1] Disk");
    fx_str(&f, "attachments.0.text", "body");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - channel: x\n",
                    "missing webhook_url or webhook_url_file on mattermost_config");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    webhook_url_file: /etc/hostname\n",
                    "at most one of webhook_url & webhook_url_file must be configured");
    fx_config_error("global:\n  mattermost_webhook_url: http://a/\n"
                    "  mattermost_webhook_url_file: /etc/hostname\n" HEAD "  - channel: x\n",
                    "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be "
                    "configured");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    fields:\n      - value: v\n",
                    "missing title in Mattermost field configuration");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    fields:\n      - title: t\n",
                    "missing value in Mattermost field configuration");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    attachments:\n      - fields:\n"
                         "          - title: t\n            value: ''\n",
                    "missing value in Mattermost field configuration");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    fields:\n      - title: t\n"
                         "        value: v\n        short: maybe\n",
                    "fields: short: cannot parse \"maybe\" as a boolean");
    fx_config_error(HEAD "  - webhook_url: 'not a url'\n", "webhook_url");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    priority:\n      requested_ack: maybe\n",
                    "requested_ack");
    fx_config_error(HEAD "  - webhook_url: http://a/\n    colour: red\n", "colour");
    fx_config_error(HEAD "  - channel: x\n", "test.yml:6:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_bodies),
        cmocka_unit_test(test_every_member),
        cmocka_unit_test(test_priority_corrections),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_custom_templates),
        cmocka_unit_test(test_text_truncated),
        cmocka_unit_test(test_url_file_read_per_send),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_fallback_on_template_error),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
