/* VictorOps receiver: the URL (api_url + key + routing key), the message member by member with
 * Go's sorted map keys, message types, state_message truncation, custom fields, key files,
 * globals, retry rules and config errors. */
#include "rcv_fixture.h"

#include <fcntl.h>
#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  victorops_configs:\n"
#define VO   HEAD "  - api_key: key1\n    api_url: http://127.0.0.1:9/alert/\n    routing_key: rk\n"
/* SHA-256 of the fixture's group key {}:{alertname="Disk"}, computed independently. */
#define ENTITY "849f8175e1fa447711c42b6e6cfb199b37d2ba91e3e51a900048a82f9cf0abaa"

#define LIST_A                                                                                     \
    "Labels:\\n - alertname = Disk\\n - instance = a\\nAnnotations:\\n - summary = full\\n"        \
    "Source: http://prom/graph\\n"
#define LIST_B                                                                                     \
    "Labels:\\n - alertname = Disk\\n - instance = b\\nAnnotations:\\n - summary = full\\n"        \
    "Source: http://prom/graph\\n"

static void test_firing_defaults(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, VO);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/alert/key1/rk");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_non_null(fx_header(&f, "User-Agent"));
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"entity_display_name\":\"[FIRING:1] Disk (a)\","
                        "\"entity_id\":\"" ENTITY "\",\"message_type\":\"CRITICAL\","
                        "\"monitoring_tool\":\"Alertmanager\","
                        "\"state_message\":\"full\\nAlerts Firing:\\n" LIST_A "\\n\"}\n");
    fx_free(&f);
}

static void test_resolved(void **state)
{
    (void)state;
    fx_t f;
    /* Whatever message_type says, a resolved group is a RECOVERY. */
    fx_config(&f, VO "    message_type: WARNING\n");
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"entity_display_name\":\"[RESOLVED] Disk (a)\","
                        "\"entity_id\":\"" ENTITY "\",\"message_type\":\"RECOVERY\","
                        "\"monitoring_tool\":\"Alertmanager\","
                        "\"state_message\":\"full\\n\\nAlerts Resolved:\\n" LIST_A "\"}\n");
    fx_free(&f);
}

static void test_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, VO "    message_type: '{{ .CommonLabels.severity }}'\n");
    fx_alert(&f, "alertname=Disk,instance=a,severity=WARNING", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b,severity=WARNING", "summary=full", true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "message_type", "WARNING");
    fx_str(&f, "entity_display_name", "[FIRING:1] Disk (WARNING)");
    fx_str(&f, "state_message",
           "full\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n"
           " - severity = WARNING\nAnnotations:\n - summary = full\nSource: http://prom/graph\n"
           "\nAlerts Resolved:\nLabels:\n - alertname = Disk\n - instance = b\n"
           " - severity = WARNING\nAnnotations:\n - summary = full\nSource: http://prom/graph\n");
    fx_free(&f);
}

static void test_message_types(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"INFO", "INFO"},     {"WARNING", "WARNING"},       {"CRITICAL", "CRITICAL"},
        {"info", "CRITICAL"}, {"RECOVERY", "CRITICAL"},     {"ACKNOWLEDGEMENT", "CRITICAL"},
        {"''", "CRITICAL"},   {"'{{ \"IN\" }}FO'", "INFO"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char yaml[512];
        fx_t f;
        snprintf(yaml, sizeof(yaml), VO "    message_type: %s\n", cases[i][0]);
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        fx_str(&f, "message_type", cases[i][1]);
        fx_free(&f);
    }
}

/* Alertmanager's TestVictorOpsCustomFields. */
static void test_custom_fields(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_key: '12345'\n    api_url: http://nowhere.com\n"
                       "    entity_display_name: '{{ .CommonLabels.Message }}'\n"
                       "    state_message: '{{ .CommonLabels.Message }}'\n"
                       "    routing_key: test\n    message_type: ''\n    monitoring_tool: AM\n"
                       "    custom_fields:\n      Field_A: '{{ .CommonLabels.Message }}'\n"
                       "      zz_last: '<b>&'\n");
    fx_alert(&f, "Message=message", NULL, false);
    fx_notif(&f, "");
    f.notif.group_key = "1";
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://nowhere.com/12345/test");
    /* Go's map keys sorted byte-wise (upper case first), its HTML-safe escapes. */
    assert_string_equal(
        tn_buf_cstr(&f.req.body),
        "{\"Field_A\":\"message\",\"entity_display_name\":\"message\","
        "\"entity_id\":\"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b\","
        "\"message_type\":\"CRITICAL\",\"monitoring_tool\":\"AM\",\"state_message\":\"message\","
        "\"zz_last\":\"\\u003cb\\u003e\\u0026\"}\n");
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

static void test_state_message_truncated(void **state)
{
    (void)state;
    for (size_t runes = 20480; runes <= 20481; runes++) {
        char *msg = repeat("\xe2\x82\xac", runes);
        size_t cap = strlen(msg) + 512;
        char *yaml = malloc(cap);
        snprintf(yaml, cap, VO "    state_message: %s\n", msg);
        fx_t f;
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        const char *got = json_string_value(fx_get(&f, "state_message"));
        assert_non_null(got);
        if (runes == 20480) {
            assert_string_equal(got, msg); /* at the limit: as is */
        } else {
            assert_int_equal(strlen(got), 20479 * 3 + 3); /* runes, not bytes */
            assert_memory_equal(got, msg, 20479 * 3);
            assert_memory_equal(got + 20479 * 3, "\xe2\x80\xa6", 3);
        }
        fx_free(&f);
        free(yaml);
        free(msg);
    }
}

static void test_url(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        /* api_url, routing_key, URL */
        {"http://127.0.0.1:9/alert", "rk", "http://127.0.0.1:9/alert/key1/rk"},
        {"http://127.0.0.1:9", "rk", "http://127.0.0.1:9/key1/rk"},
        {"http://127.0.0.1:9/a?x=1", "rk", "http://127.0.0.1:9/a/key1/rk?x=1"},
        {"http://127.0.0.1:9/a/?x=1#f", "rk", "http://127.0.0.1:9/a/key1/rk?x=1#f"},
        /* Go re-encodes the whole path: reserved path bytes stay, the rest is %XX. */
        {"http://127.0.0.1:9/a%20b/", "'team a/b?c#d%'",
         "http://127.0.0.1:9/a%20b/key1/team%20a/b%3Fc%23d%25"},
        {"http://127.0.0.1:9/a%7e/", "'$&+,:;=@-_.~'", "http://127.0.0.1:9/a~/key1/$&+,:;=@-_.~"},
        {"http://127.0.0.1:9/", "'{{ .GroupLabels.alertname }}-\xc3\xa9'",
         "http://127.0.0.1:9/key1/Disk-%C3%A9"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char yaml[512];
        fx_t f;
        snprintf(yaml, sizeof(yaml),
                 HEAD "  - api_key: key1\n    api_url: %s\n    routing_key: %s\n", cases[i][0],
                 cases[i][1]);
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        assert_string_equal(f.req.url, cases[i][2]);
        fx_free(&f);
    }
}

static void test_globals(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  victorops_api_key: gk\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  victorops_configs:\n"
                  "  - routing_key: a\n  - routing_key: b\n    api_key: own\n"
                  "    api_url: http://127.0.0.1:9/own/\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url,
                        "https://alert.victorops.com/integrations/generic/20131114/alert/gk/a");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/own/own/b");
    fx_free(&f);

    fx_config(&f, "global:\n  victorops_api_url: http://127.0.0.1:9/g\n  victorops_api_key: gk\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  victorops_configs:\n"
                  "  - routing_key: a\n    send_resolved: false\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/g/gk/a");
    assert_false(fx_ic(&f, 0)->send_resolved);
    fx_free(&f);

    fx_config(&f, VO);
    assert_true(fx_ic(&f, 0)->send_resolved); /* the default */
    fx_free(&f);
}

static void test_api_key_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-vo-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "filed\n", 6), 6);
    close(fd);

    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             HEAD "  - api_key_file: %s\n    api_url: http://127.0.0.1:9/\n    routing_key: rk\n",
             path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/filed/rk");
    /* Read again for every send. */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("rotated", fp);
    fclose(fp);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/rotated/rk");
    unlink(path);
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(err, "failed to read API key from file: open "));
    fx_free(&f);

    /* A global key file, when the integration has no key of its own. */
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "gfile", 5), 5);
    close(fd);
    snprintf(yaml, sizeof(yaml),
             "global:\n  victorops_api_key_file: %s\n"
             "route:\n  receiver: team\nreceivers:\n- name: team\n  victorops_configs:\n"
             "  - routing_key: rk\n    api_url: http://127.0.0.1:9/\n"
             "  - routing_key: rk\n    api_url: http://127.0.0.1:9/\n    api_key: own\n",
             path);
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/gfile/rk");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/own/rk");
    fx_free(&f);
    unlink(path);
}

static void test_template_failures(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, VO "    entity_display_name: '{{ template \"tn.no.such\" . }}'\n"
                     "    monitoring_tool: '{{ template \"tn.no.such\" . }}'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    assert_true(fx_engine_fails_missing(&f));
    fx_build_ok(&f, 0);
    fx_str(&f, "entity_display_name", "[FIRING:2] Disk"); /* the fallback text */
    fx_str(&f, "monitoring_tool", "");
    fx_free(&f);

    /* A routing key that renders empty cannot address anything: no send. */
    fx_config(&f, HEAD "  - api_key: k\n    routing_key: '{{ .CommonLabels.team }}'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    assert_string_equal(err, "routing key cannot be empty");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, VO);
    assert_int_equal(fx_classify(&f, 0, 200, "{\"result\":\"success\"}", NULL, &reason),
                     TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 202, "", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 503, "", NULL, &reason), TN_SEND_RETRY);
    /* Only 5xx: a 429 waits for the next flush, as in Alertmanager. */
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 400, "bad", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(fx_classify(&f, 0, 401, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_int_equal(fx_classify(&f, 0, 404, "", NULL, &reason), TN_SEND_FAIL);
    /* Every status Alertmanager's retry test walks: retried exactly when 5xx. */
    for (long code = 100; code < 600; code++) {
        enum tn_send_result r = fx_classify(&f, 0, code, "", NULL, &reason);
        if (code / 100 == 2)
            assert_int_equal(r, TN_SEND_DONE);
        else
            assert_int_equal(r, code / 100 == 5 ? TN_SEND_RETRY : TN_SEND_FAIL);
    }
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - api_key: k\n", "missing Routing key in VictorOps config");
    fx_config_error(HEAD "  - api_key: k\n    routing_key: ''\n",
                    "missing Routing key in VictorOps config");
    fx_config_error(HEAD "  - routing_key: r\n", "no global VictorOps API Key set");
    fx_config_error(HEAD "  - routing_key: r\n    api_key: k\n    api_key_file: /etc/hostname\n",
                    "at most one of api_key & api_key_file must be configured");
    fx_config_error("global:\n  victorops_api_key: k\n  victorops_api_key_file: /etc/hostname\n"
                    "route:\n  receiver: team\nreceivers:\n- name: team\n",
                    "at most one of victorops_api_key & victorops_api_key_file must be configured");
    fx_config_error(HEAD "  - routing_key: r\n    api_key: k\n    api_url: ftp://x/\n", "api_url");
    static const char *const reserved[] = {
        "routing_key",     "message_type", "state_message", "entity_display_name",
        "monitoring_tool", "entity_id",    "entity_state",
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(reserved); i++) {
        char yaml[512], want[256];
        snprintf(yaml, sizeof(yaml),
                 HEAD "  - routing_key: r\n    api_key: k\n    custom_fields:\n      ok: x\n"
                      "      %s: y\n",
                 reserved[i]);
        snprintf(want, sizeof(want),
                 "victorOps config contains custom field %s which cannot be used as it "
                 "conflicts with the fixed/static fields",
                 reserved[i]);
        fx_config_error(yaml, want);
    }
    /* The error names its place. */
    fx_config_error(HEAD "  - api_key: k\n", "test.yml:6:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firing_defaults),
        cmocka_unit_test(test_resolved),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_message_types),
        cmocka_unit_test(test_custom_fields),
        cmocka_unit_test(test_state_message_truncated),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_api_key_file),
        cmocka_unit_test(test_template_failures),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
