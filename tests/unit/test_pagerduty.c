/* PagerDuty receiver: v2 and v1 events field by field, dedup key, trigger/resolve, size limits,
 * retry rules and config errors. */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  pagerduty_configs:\n"
/* SHA-256 of the fixture's group key {}:{alertname="Disk"}, computed independently. */
#define DEDUP "849f8175e1fa447711c42b6e6cfb199b37d2ba91e3e51a900048a82f9cf0abaa"

static const char *const v2_yaml = HEAD "  - routing_key: rk1\n"
                                        "    url: http://127.0.0.1:9/enqueue\n"
                                        "    client: tc\n"
                                        "    client_url: http://client\n"
                                        "    description: something broke\n"
                                        "    class: cls\n"
                                        "    component: comp\n"
                                        "    group: grp\n"
                                        "    details:\n"
                                        "      a: b\n"
                                        "      n: '42'\n"
                                        "      l: '[1, 2, {\"z\": 1, \"y\": true}]'\n"
                                        "      e: ''\n"
                                        "    images:\n"
                                        "    - src: http://img\n"
                                        "      alt: pic\n"
                                        "    - alt: no source, dropped\n"
                                        "    links:\n"
                                        "    - href: http://runbook\n"
                                        "      text: runbook\n";

static void test_v2_trigger(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, v2_yaml);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/enqueue");
    fx_str(&f, "routing_key", "rk1");
    fx_str(&f, "dedup_key", DEDUP);
    fx_str(&f, "event_action", "trigger");
    fx_str(&f, "payload.summary", "something broke");
    fx_str(&f, "payload.source", "tc"); /* defaults to client */
    fx_str(&f, "payload.severity", "error");
    fx_str(&f, "payload.class", "cls");
    fx_str(&f, "payload.component", "comp");
    fx_str(&f, "payload.group", "grp");
    fx_absent(&f, "payload.timestamp");
    fx_str(&f, "payload.custom_details.a", "b");
    assert_int_equal(json_integer_value(fx_get(&f, "payload.custom_details.n")), 42);
    assert_int_equal(json_array_size(fx_get(&f, "payload.custom_details.l")), 3);
    assert_true(json_is_true(fx_get(&f, "payload.custom_details.l.2.y")));
    assert_true(json_is_null(fx_get(&f, "payload.custom_details.e")));
    assert_non_null(fx_get(&f, "payload.custom_details.num_firing")); /* defaults kept */
    assert_non_null(fx_get(&f, "payload.custom_details.resolved"));
    fx_str(&f, "client", "tc");
    fx_str(&f, "client_url", "http://client");
    assert_int_equal(json_array_size(fx_get(&f, "images")), 1);
    fx_str(&f, "images.0.src", "http://img");
    fx_str(&f, "images.0.alt", "pic");
    fx_str(&f, "images.0.href", "");
    fx_str(&f, "links.0.href", "http://runbook");
    fx_str(&f, "links.0.text", "runbook");
    fx_absent(&f, "service_key");
    fx_absent(&f, "details");
    /* Sorted detail keys and nested keys, as Go writes maps. */
    const char *body = tn_buf_cstr(&f.req.body);
    assert_non_null(strstr(body, "\"custom_details\":{\"a\":\"b\",\"e\":null,\"firing\":"));
    assert_non_null(strstr(body, "{\"y\":true,\"z\":1}"));
    fx_free(&f);
}

static void test_v2_resolve(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, v2_yaml);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "event_action", "resolve");
    fx_str(&f, "dedup_key", DEDUP);
    fx_free(&f);
}

static void test_v1(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - service_key: sk1\n    client: tc\n    client_url: http://c\n"
                       "    description: d1\n    details: {a: b}\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url,
                        "https://events.pagerduty.com/generic/2010-04-15/create_event.json");
    fx_str(&f, "service_key", "sk1");
    fx_str(&f, "incident_key", DEDUP);
    fx_str(&f, "event_type", "trigger");
    fx_str(&f, "description", "d1");
    fx_str(&f, "event_action", "");
    assert_true(json_is_null(fx_get(&f, "payload")));
    fx_str(&f, "client", "tc");
    fx_str(&f, "details.a", "b");
    fx_absent(&f, "routing_key");
    fx_absent(&f, "dedup_key");
    /* Resolved: no client fields. */
    f.nalerts[0].resolved = true;
    fx_build_ok(&f, 0);
    fx_str(&f, "event_type", "resolve");
    fx_absent(&f, "client");
    fx_absent(&f, "client_url");
    fx_free(&f);
}

static void test_limits(void **state)
{
    (void)state;
    size_t big = 600 * 1000;
    char *yaml = malloc(big + 4096);
    char *desc = malloc(1100 + 1);
    memset(desc, 'd', 1100);
    desc[1100] = 0;
    int off = snprintf(yaml, 4096,
                       HEAD "  - routing_key: k\n    url: http://127.0.0.1:9/e\n"
                            "    description: %s\n    details:\n      huge: ",
                       desc);
    memset(yaml + off, 'x', big);
    strcpy(yaml + off + big, "\n");
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_true(f.req.body.len < 512000);
    fx_str(&f, "payload.custom_details.error",
           "Custom details have been removed because the original event exceeds the maximum "
           "size of 512KB");
    const char *summary = json_string_value(fx_get(&f, "payload.summary"));
    assert_int_equal(strlen(summary), 1023 + 3);
    assert_memory_equal(summary + 1023, "\xe2\x80\xa6", 3);
    fx_free(&f);
    free(yaml);
    free(desc);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - routing_key: k\n  - service_key: s\n");
    assert_int_equal(fx_classify(&f, 0, 202, "{}", NULL, &reason), TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 403, "", NULL, &reason), TN_SEND_FAIL);
    assert_int_equal(
        fx_classify(&f, 0, 400, "{\"message\":\"bad\",\"errors\":[\"x\"]}", NULL, &reason),
        TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    /* v1 is rate-limited with 403. */
    assert_int_equal(fx_classify(&f, 1, 403, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 1, 429, "", NULL, &reason), TN_SEND_FAIL);
    assert_int_equal(fx_classify(&f, 1, 503, "", NULL, &reason), TN_SEND_RETRY);
    fx_free(&f);
}

static void test_routing_key_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-pd-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "key-one\n", 8), 8);
    close(fd);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), HEAD "  - routing_key_file: %s\n", path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "routing_key", "key-one");
    assert_string_equal(f.req.url, "https://events.pagerduty.com/v2/enqueue");
    FILE *fp = fopen(path, "w");
    fputs("key-two", fp);
    fclose(fp);
    fx_build_ok(&f, 0);
    fx_str(&f, "routing_key", "key-two");
    unlink(path);
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - client: x\n", "missing service or routing key");
    fx_config_error(HEAD "  - routing_key: a\n    routing_key_file: /etc/hostname\n",
                    "at most one of routing_key & routing_key_file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_trigger),
        cmocka_unit_test(test_v2_resolve),
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_routing_key_file),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
