/* Config loader: errors with exact positions, inheritance, the generic field-table reader
 * (through test-only receiver types), secret files, a whole real-world file, check-config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin/config.h"
#include "tocsin/receiver.h"

/* The registry's definition wins when it is linked; these tests install their own table. */
__attribute__((weak)) const tn_receiver_type_t *tn_receiver_type_find(const char *name)
{
    (void)name;
    return NULL;
}

/* ---- test-only receiver types ---- */

typedef struct fake_item {
    char *name;
    uint64_t weight;
} fake_item_t;

typedef struct fake_conf {
    char *url;
    char *token, *token_file;
    char *title;
    bool flag;
    tn_duration_t timeout;
    uint64_t max;
    double ratio;
    tn_strlist_t tags;
    tn_strmap_t headers;
    tn_http_config_t http;
    tn_tls_config_t tls;
    fake_item_t sub;
    tn_structlist_t items;
    int finalized;
} fake_conf_t;

static const tn_field_t fake_item_fields[] = {
    {"name", TN_F_STRING, offsetof(fake_item_t, name), true, NULL, NULL, 0, NULL},
    {"weight", TN_F_UINT, offsetof(fake_item_t, weight), false, "1", NULL, 0, NULL},
    {NULL, 0, 0, false, NULL, NULL, 0, NULL},
};

#define F(key, type, member, req, def)                                                             \
    {                                                                                              \
        key, type, offsetof(fake_conf_t, member), req, def, NULL, 0, NULL                          \
    }
static const tn_field_t fake_fields[] = {
    F("url", TN_F_URL, url, true, NULL),
    F("token", TN_F_SECRET, token, false, NULL),
    {"token_file", TN_F_SECRET_FILE, offsetof(fake_conf_t, token_file), false, NULL, NULL, 0,
     "token"},
    F("title", TN_F_STRING, title, false, "hello"),
    F("flag", TN_F_BOOL, flag, false, "true"),
    F("timeout", TN_F_DURATION, timeout, false, "10s"),
    F("max", TN_F_UINT, max, false, "0"),
    F("ratio", TN_F_FLOAT, ratio, false, "0.5"),
    F("tags", TN_F_STRING_LIST, tags, false, NULL),
    F("headers", TN_F_STRING_MAP, headers, false, NULL),
    F("http_config", TN_F_HTTP_CONFIG, http, false, NULL),
    F("tls_config", TN_F_TLS_CONFIG, tls, false, NULL),
    {"sub", TN_F_STRUCT, offsetof(fake_conf_t, sub), false, NULL, fake_item_fields, 0, NULL},
    {"items", TN_F_STRUCT_LIST, offsetof(fake_conf_t, items), false, NULL, fake_item_fields,
     sizeof(fake_item_t), NULL},
    {NULL, 0, 0, false, NULL, NULL, 0, NULL},
};

static int fake_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    fake_conf_t *c = conf;
    (void)g;
    if (c->max > 1000) {
        snprintf(err, errlen, "max must be at most 1000");
        return TN_ERR_INVAL;
    }
    c->finalized++;
    return TN_OK;
}

static const tn_receiver_type_t fake_type = {
    .name = "fake",
    .conf_size = sizeof(fake_conf_t),
    .fields = fake_fields,
    .send_resolved_default = false,
    .finalize = fake_finalize,
};

typedef struct hook_conf {
    char *url, *url_file;
    uint64_t max_alerts;
    tn_duration_t timeout;
    tn_http_config_t http;
} hook_conf_t;

static const tn_field_t hook_fields[] = {
    {"url", TN_F_SECRET_URL, offsetof(hook_conf_t, url), false, NULL, NULL, 0, NULL},
    {"url_file", TN_F_SECRET_FILE, offsetof(hook_conf_t, url_file), false, NULL, NULL, 0, "url"},
    {"max_alerts", TN_F_UINT, offsetof(hook_conf_t, max_alerts), false, "0", NULL, 0, NULL},
    {"timeout", TN_F_DURATION, offsetof(hook_conf_t, timeout), false, "0", NULL, 0, NULL},
    {"http_config", TN_F_HTTP_CONFIG, offsetof(hook_conf_t, http), false, NULL, NULL, 0, NULL},
    {NULL, 0, 0, false, NULL, NULL, 0, NULL},
};

static const tn_receiver_type_t hook_type = {
    .name = "webhook",
    .conf_size = sizeof(hook_conf_t),
    .fields = hook_fields,
    .send_resolved_default = true,
};

static const tn_receiver_type_t *const test_types[] = {&fake_type, &hook_type, NULL};

static int setup(void **state)
{
    (void)state;
    tn_config_set_receiver_types_for_test(test_types);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tn_config_set_receiver_types_for_test(NULL);
    return 0;
}

static tn_config_t *load_ok(const char *text)
{
    char err[1024] = "";
    tn_config_t *c = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fail_msg("load: %s", err);
    return c;
}

/* ---- errors and their positions ---- */

static void test_errors(void **state)
{
    static const struct {
        const char *yml, *want; /* want: exact prefix "test.yml:L:C: " plus a substring */
        const char *sub;
    } cases[] = {
        {"route:\n  receiver: a\n  foo: bar\nreceivers:\n- name: a\n",
         "test.yml:3:3: ", "unknown field \"foo\" in route"},
        {"route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n- name: a\n",
         "test.yml:3:15: ", "group_wait: unknown unit \"x\" in duration \"5x\""},
        {"route:\n  receiver: a\n  group_wait: soon\nreceivers:\n- name: a\n",
         "test.yml:3:15: ", "not a valid duration string"},
        {"route:\n  receiver: nope\nreceivers:\n- name: a\n",
         "test.yml:2:13: ", "undefined receiver \"nope\" used in route"},
        {"route:\n  receiver: a\n  routes:\n  - receiver: b\nreceivers:\n- name: a\n",
         "test.yml:4:15: ", "undefined receiver \"b\" used in route"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n- name: a\n",
         "test.yml:5:9: ", "notification config name \"a\" is not unique"},
        {"route:\n  receiver: a\n  routes:\n  - matchers: ['foo=~\"(\"']\nreceivers:\n- name: a\n",
         "test.yml:4:16: ", "error parsing regexp: missing closing ): `^(?:()$`"},
        {"route:\n  receiver: a\n  routes:\n  - match_re:\n      foo: 'a)'\nreceivers:\n- name: "
         "a\n",
         "test.yml:5:12: ", "error parsing regexp: unexpected ): `^(?:a))$`"},
        {"route:\n  receiver: a\n  routes:\n  - receiver: a\n    mute_time_intervals: [offhours]\n"
         "receivers:\n- name: a\n",
         "test.yml:5:27: ", "undefined time interval \"offhours\" used in route {}/{}/0"},
        {"route:\n  receiver: a\n  routes:\n  - matchers: [x=y]\n    active_time_intervals: [biz]\n"
         "receivers:\n- name: a\n",
         "test.yml:5:29: ", "undefined time interval \"biz\" used in route {}/{x=\"y\"}/0"},
        {"route:\n  receiver: a\n  continue: true\nreceivers:\n- name: a\n",
         "test.yml:3:3: ", "cannot have continue in root route"},
        /* numbers in time intervals are refused in strconv.Atoi's words, as amtool shows */
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n  - days_of_month: "
         "['1:x']\nreceivers:\n- name: a\n",
         "test.yml:6:21: ", "strconv.Atoi: parsing \"x\": invalid syntax"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n  - years: "
         "['99999999999999999999']\nreceivers:\n- name: a\n",
         "test.yml:6:13: ", "strconv.Atoi: parsing \"99999999999999999999\": value out of range"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n  - days_of_month: "
         "['5000000']\nreceivers:\n- name: a\n",
         "test.yml:6:21: ", "5000000 is not a valid day of the month: out of range"},
        {"route:\n  receiver: a\n  group_by: [alertname, '...']\nreceivers:\n- name: a\n",
         "test.yml:3:25: ", "cannot have wildcard group_by (`...`) and other labels"},
        {"route:\n  receiver: a\n  group_by: [a, b, a]\nreceivers:\n- name: a\n",
         "test.yml:3:20: ", "duplicated label \"a\" in group_by"},
        {"route:\n  group_by: [a]\nreceivers:\n- name: a\n",
         "test.yml:2:3: ", "root route must specify a default receiver"},
        {"route:\n  receiver: a\n  matchers: [a=b]\nreceivers:\n- name: a\n",
         "test.yml:2:3: ", "root route must not have any matchers"},
        {"route:\n  receiver: a\n  routes:\n  - group_interval: 0s\nreceivers:\n- name: a\n",
         "test.yml:4:21: ", "group_interval cannot be zero"},
        {"route:\n  receiver: a\n  repeat_interval: 0\nreceivers:\n- name: a\n",
         "test.yml:3:20: ", "repeat_interval cannot be zero"},
        {"receivers:\n- name: a\n", "test.yml:1:1: ", "no route provided in config"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  slack_configs:\n  - channel: x\n",
         "test.yml:5:3: ", "receiver a: slack_configs is not supported yet"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  carrier_pigeon_configs: []\n",
         "test.yml:5:3: ", "unknown field \"carrier_pigeon_configs\" in receiver a"},
        {"route:\n  receiver: a\nreceivers:\n- webhook_configs: []\n",
         "test.yml:4:3: ", "missing name in receiver"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    bogus: 1\n",
         "test.yml:7:5: ", "unknown field \"bogus\" in fake_configs"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - title: x\n",
         "test.yml:6:5: ", "missing required field \"url\" in fake_configs"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: ftp://x/\n",
         "test.yml:6:10: ", "url: unsupported scheme \"ftp\" for URL"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http:///p\n",
         "test.yml:6:10: ", "host is missing in URL"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://a[b/\n",
         "test.yml:6:10: ", "url: invalid URL: invalid IPv6 host"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://[::1/\n",
         "test.yml:6:10: ", "url: invalid URL: missing ']' in host"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://h:8x/\n",
         "test.yml:6:10: ", "url: invalid URL: invalid port after host"},
        {"global:\n  http_config:\n    proxy_url: 'ht tp://p:3128'\nroute:\n  receiver: a\n"
         "receivers:\n- name: a\n",
         "test.yml:3:16: ",
         "proxy_url: invalid URL: first path segment in URL cannot contain colon"},
        {"global:\n  http_config:\n    proxy_url: 'http://p[1]:3128'\nroute:\n  receiver: a\n"
         "receivers:\n- name: a\n",
         "test.yml:3:16: ", "proxy_url: invalid URL: invalid IPv6 host"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    flag: maybe\n",
         "test.yml:7:11: ", "flag: cannot parse \"maybe\" as a boolean"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    max: -3\n",
         "test.yml:7:10: ", "cannot parse \"-3\" as an unsigned integer"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    tags: {a: b}\n",
         "test.yml:7:11: ", "tags: expected a list of strings, got a mapping"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    max: 5000\n",
         "test.yml:6:5: ", "receiver a: fake_configs: max must be at most 1000"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    items:\n    - weight: 2\n",
         "test.yml:8:7: ", "missing required field \"name\" in items"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    token: t\n    token_file: /nonexistent/x\n",
         "test.yml:8:5: ", "at most one of token & token_file must be configured"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    token_file: /nonexistent/x\n",
         "test.yml:7:5: ", "unable to read secret file"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      basic_auth: {username: u}\n      bearer_token: t\n",
         "test.yml:8:7: ", "at most one of basic_auth, oauth2, bearer_token"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      oauth2: {client_id: x}\n",
         "test.yml:8:15: ", "oauth2 token_url must be configured"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      oauth2: {token_url: http://t/, client_id: x, iss: y}\n",
         "test.yml:8:52: ", "oauth2: iss is not supported yet"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      oauth2: {token_url: http://t/, client_id: x}\n"
         "      authorization: {credentials: c}\n",
         "test.yml:9:7: ", "at most one of basic_auth, oauth2 & authorization"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      oauth2: {token_url: http://t/, client_id: x, scopes: a}\n",
         "test.yml:8:", "scopes"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    http_config:\n      authorization: {type: Basic, credentials: x}\n",
         "test.yml:8:29: ", "authorization type cannot be set to \"basic\""},
        {"route:\n  receiver: a\nreceivers:\n- name: a\n  fake_configs:\n  - url: http://x/\n"
         "    tls_config:\n      min_version: TLS9\n",
         "test.yml:8:20: ", "unknown TLS version: TLS9"},
        {"global:\n  resolve_timeout: 1q\nroute:\n  receiver: a\nreceivers:\n- name: a\n",
         "test.yml:2:20: ", "resolve_timeout: unknown unit"},
        {"global:\n  smtp_smarthost: localhost\nroute:\n  receiver: a\nreceivers:\n- name: a\n",
         "test.yml:2:19: ", "missing port in address"},
        {"global:\n  nonsense: 1\nroute:\n  receiver: a\nreceivers:\n- name: a\n",
         "test.yml:2:3: ", "unknown field \"nonsense\" in global"},
        {"route:\n  receiver: a\nreceivers:\n- name: a\nfoo: 1\n",
         "test.yml:5:1: ", "unknown field \"foo\" in config"},
        {"route:\n  receiver: a\n  receiver: b\nreceivers:\n- name: a\n",
         "test.yml:3:3: ", "key \"receiver\" already set in mapping"},
        {"route:\n  receiver: a\n   bad: [\n", "test.yml:3:", "yaml:"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - weekdays: [funday]\nreceivers:\n- name: a\n",
         "test.yml:6:16: ", "funday is not a valid weekday"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - times: [{start_time: '10:00', end_time: '25:00'}]\nreceivers:\n- name: a\n",
         "test.yml:6:13: ", "couldn't parse timestamp 25:00"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - times: [{start_time: '10:00', end_time: '09:00'}]\nreceivers:\n- name: a\n",
         "test.yml:6:13: ", "start time cannot be equal or greater than end time"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - location: Mars/Olympus_Mons\nreceivers:\n- name: a\n",
         "test.yml:6:15: ", "unknown time zone Mars/Olympus_Mons"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - days_of_month: ['0']\nreceivers:\n- name: a\n",
         "test.yml:6:21: ", "0 is not a valid day of the month: out of range"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\n  time_intervals:\n"
         "  - months: ['march:january']\nreceivers:\n- name: a\n",
         "test.yml:6:14: ", "end month january is before start month march"},
        {"route:\n  receiver: a\ntime_intervals:\n- name: t\nmute_time_intervals:\n- name: t\n"
         "receivers:\n- name: a\n",
         "test.yml:4:9: ", "time interval \"t\" is not unique"},
        {"route:\n  receiver: a\ninhibit_rules:\n- source_matchers: [a=b]\n  equal: [x]\n"
         "  target: 1\nreceivers:\n- name: a\n",
         "test.yml:6:3: ", "unknown field \"target\" in inhibit rule"},
        {"route:\n  receiver: a\n  routes:\n  - match:\n      'bad-name': x\nreceivers:\n- name: "
         "a\n",
         "test.yml:5:7: ", "invalid label name \"bad-name\""},
        {"route:\n  receiver: a\n  escalation:\n  - after: 5m\n    receiver: nope\nreceivers:\n"
         "- name: a\n",
         "test.yml:5:15: ", "undefined receiver \"nope\" used in escalation"},
        {"route:\n  receiver: a\n  escalation:\n  - after: 10m\n    receiver: a\n  - after: 5m\n"
         "    receiver: a\nreceivers:\n- name: a\n",
         "test.yml:6:12: ", "escalation[1].after must be later than the step before it"},
        {"route:\n  receiver: a\n  escalation:\n  - receiver: a\nreceivers:\n- name: a\n",
         "test.yml:4:5: ", "escalation[0]: missing after"},
        {"route:\n  receiver: a\n  escalation:\n  - after: 0s\n    receiver: a\nreceivers:\n"
         "- name: a\n",
         "test.yml:4:12: ", "escalation[0].after must be positive"},
        {"route:\n  receiver: a\n  escalation:\n  - after: 1m\n    receiver: a\n    when: x\n"
         "receivers:\n- name: a\n",
         "test.yml:6:5: ", "unknown field \"when\" in escalation"},
        {"route:\n  receiver: a\n  escalation: 5m\nreceivers:\n- name: a\n",
         "test.yml:3:15: ", "escalation"},
        {"route:\n  receiver: a\n  ack_notify: maybe\nreceivers:\n- name: a\n",
         "test.yml:3:15: ", "ack_notify"},
    };
    (void)state;
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char err[1024] = "";
        tn_config_t *c =
            tn_config_load_string("test.yml", cases[i].yml, strlen(cases[i].yml), err, sizeof(err));
        if (c) {
            tn_config_unref(c);
            fail_msg("case %zu loaded, wanted %s%s", i, cases[i].want, cases[i].sub);
        }
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0 || !strstr(err, cases[i].sub))
            fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, cases[i].want, cases[i].sub);
    }
}

/* ---- inheritance and defaults ---- */

static void test_escalation_inherited(void **state)
{
    (void)state;
    static const char yml[] = "route:\n  receiver: chat\n  ack_notify: true\n  escalation:\n"
                              "  - after: 10m\n    receiver: pager\n  - after: 30m\n"
                              "    receiver: boss\n  routes:\n  - matchers: [a=b]\n"
                              "  - matchers: [c=d]\n    escalation: []\n    ack_notify: false\n"
                              "receivers:\n- name: chat\n- name: pager\n- name: boss\n";
    char err[1024] = "";
    tn_config_t *c = tn_config_load_string("test.yml", yml, strlen(yml), err, sizeof(err));
    assert_non_null(c);
    const tn_route_t *r = c->route, *a = r->children[0], *b = r->children[1];
    assert_int_equal(r->nescalation, 2);
    assert_true(r->ack_notify);
    assert_int_equal(r->escalation[0].after, 600 * TN_NS_PER_SEC);
    assert_string_equal(r->escalation[1].receiver->name, "boss");
    assert_int_equal(a->nescalation, 2);
    assert_true(a->ack_notify);
    assert_string_equal(a->escalation[0].receiver->name, "pager");
    assert_int_equal(b->nescalation, 0);
    assert_false(b->ack_notify);
    tn_config_unref(c);
}

static void test_inheritance(void **state)
{
    const char *yml = "route:\n"
                      "  receiver: a\n"
                      "  group_by: [cluster, alertname]\n"
                      "  group_wait: 10s\n"
                      "  routes:\n"
                      "  - matchers: [x=1]\n"
                      "    repeat_interval: 1h\n"
                      "    routes:\n"
                      "    - matchers: [y=2]\n"
                      "      receiver: b\n"
                      "      group_by: ['...']\n"
                      "      routes:\n"
                      "      - matchers: [z=3]\n"
                      "receivers:\n- name: a\n- name: b\n";
    tn_config_t *c = load_ok(yml);
    const tn_route_t *r = c->route, *r1, *r2, *r3;
    (void)state;

    assert_int_equal(c->global.resolve_timeout, 5 * 60 * INT64_C(1000000000));
    assert_int_equal(r->group_wait, 10 * INT64_C(1000000000));
    assert_int_equal(r->group_interval, 5 * 60 * INT64_C(1000000000));
    assert_int_equal(r->repeat_interval, 4 * 3600 * INT64_C(1000000000));
    assert_int_equal(r->ngroup_by, 2);
    assert_string_equal(r->group_by[0], "alertname"); /* sorted */
    assert_string_equal(r->group_by[1], "cluster");
    r1 = r->children[0];
    assert_string_equal(r1->receiver->name, "a");
    assert_int_equal(r1->group_wait, 10 * INT64_C(1000000000));
    assert_int_equal(r1->repeat_interval, 3600 * INT64_C(1000000000));
    assert_int_equal(r1->ngroup_by, 2);
    assert_ptr_equal(r1->group_by[0], r->group_by[0]); /* interned */
    r2 = r1->children[0];
    assert_string_equal(r2->receiver->name, "b");
    assert_true(r2->group_by_all);
    assert_int_equal(r2->repeat_interval, 3600 * INT64_C(1000000000));
    r3 = r2->children[0];
    assert_true(r3->group_by_all);
    assert_string_equal(r3->receiver->name, "b");
    assert_ptr_equal(r3->parent, r2);
    assert_string_equal(r3->key, "{}/{x=\"1\"}/{y=\"2\"}/{z=\"3\"}");
    assert_string_equal(r3->id, "{}/{x=\"1\"}/0/{y=\"2\"}/0/{z=\"3\"}/0");
    assert_int_equal(c->nroutes, 4);
    assert_int_equal(r3->idx, 3);
    assert_ptr_equal(tn_config_receiver(c, "b"), r2->receiver);
    assert_null(tn_config_receiver(c, "zzz"));
    tn_config_unref(c);
}

/* ---- field tables ---- */

static void test_fields(void **state)
{
    const char *yml = "global:\n"
                      "  http_config:\n"
                      "    proxy_url: http://proxy:3128\n"
                      "    follow_redirects: false\n"
                      "route:\n  receiver: r\n"
                      "receivers:\n"
                      "- name: r\n"
                      "  fake_configs:\n"
                      "  - url: https://example.org/x?y=1\n"
                      "    send_resolved: true\n"
                      "    title: 123\n"
                      "    flag: no\n"
                      "    timeout: 1m30s\n"
                      "    max: 42\n"
                      "    ratio: 1.25\n"
                      "    tags: [a, 'b c']\n"
                      "    headers: {X-One: '1', X-Two: two}\n"
                      "    sub: {name: s}\n"
                      "    items:\n"
                      "    - name: i1\n"
                      "    - {name: i2, weight: 7}\n"
                      "    tls_config: {ca_file: ca.pem, server_name: srv}\n"
                      "    http_config:\n"
                      "      basic_auth: {username: u, password: p}\n"
                      "      tls_config: {insecure_skip_verify: true}\n"
                      "  - url: http://127.0.0.1:1/\n"
                      "  webhook_configs:\n"
                      "  - url: http://127.0.0.1:2/\n"
                      "  - url: http://127.0.0.1:3/\n";
    tn_config_t *c = load_ok(yml);
    const tn_receiver_cfg_t *r = tn_config_receiver(c, "r");
    fake_conf_t *f;
    hook_conf_t *h;
    fake_item_t *items;
    (void)state;

    assert_non_null(r);
    assert_int_equal(r->nintegrations, 4);
    assert_ptr_equal(r->integrations[0].type, &fake_type);
    assert_int_equal(r->integrations[0].idx, 0);
    assert_true(r->integrations[0].send_resolved);
    assert_int_equal(r->integrations[1].idx, 1);
    assert_false(r->integrations[1].send_resolved); /* the type's default */
    assert_ptr_equal(r->integrations[2].type, &hook_type);
    assert_int_equal(r->integrations[3].idx, 1);
    assert_true(r->integrations[3].send_resolved);

    f = r->integrations[0].conf;
    assert_int_equal(f->finalized, 1);
    assert_string_equal(f->url, "https://example.org/x?y=1");
    assert_string_equal(f->title, "123");
    assert_false(f->flag);
    assert_int_equal(f->timeout, 90 * INT64_C(1000000000));
    assert_int_equal(f->max, 42);
    assert_true(f->ratio == 1.25);
    assert_int_equal(f->tags.n, 2);
    assert_string_equal(f->tags.v[1], "b c");
    assert_int_equal(f->headers.n, 2);
    assert_string_equal(f->headers.keys[1], "X-Two");
    assert_string_equal(f->headers.values[1], "two");
    assert_string_equal(f->sub.name, "s");
    assert_int_equal(f->sub.weight, 1);
    assert_int_equal(f->items.n, 2);
    items = f->items.v;
    assert_string_equal(items[0].name, "i1");
    assert_int_equal(items[0].weight, 1);
    assert_int_equal(items[1].weight, 7);
    assert_string_equal(f->tls.ca_file, "ca.pem"); /* no directory for an in-memory config */
    assert_string_equal(f->tls.server_name, "srv");
    assert_string_equal(f->http.basic_auth_username, "u");
    assert_string_equal(f->http.basic_auth_password, "p");
    assert_true(f->http.tls.insecure_skip_verify);
    assert_true(f->http.follow_redirects); /* own http_config: built-in defaults */
    assert_null(f->http.proxy_url);

    /* Defaults everywhere on the second one; http_config copied from global. */
    f = r->integrations[1].conf;
    assert_string_equal(f->title, "hello");
    assert_true(f->flag);
    assert_int_equal(f->timeout, 10 * INT64_C(1000000000));
    assert_true(f->ratio == 0.5);
    assert_int_equal(f->tags.n, 0);
    assert_string_equal(f->http.proxy_url, "http://proxy:3128");
    assert_false(f->http.follow_redirects);
    assert_null(f->sub.name);

    h = r->integrations[2].conf;
    assert_string_equal(h->url, "http://127.0.0.1:2/");
    assert_string_equal(h->http.proxy_url, "http://proxy:3128");
    assert_ptr_not_equal(h->http.proxy_url, c->global.http_config.proxy_url);
    tn_config_unref(c);
}

static void test_global_defaults(void **state)
{
    tn_config_t *c = load_ok("route: {receiver: a}\nreceivers: [{name: a}]\n");
    const tn_global_config_t *g = &c->global;
    (void)state;

    assert_int_equal(g->resolve_timeout, 300 * INT64_C(1000000000));
    assert_true(g->http_config.follow_redirects);
    assert_true(g->http_config.enable_http2);
    assert_string_equal(g->smtp_hello, "localhost");
    assert_true(g->smtp_require_tls);
    assert_false(g->smtp_force_implicit_tls_set);
    assert_string_equal(g->pagerduty_url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(g->opsgenie_api_url, "https://api.opsgenie.com/");
    assert_string_equal(g->telegram_api_url, "https://api.telegram.org");
    assert_null(g->slack_api_url);
    assert_int_equal(c->ntemplates, 0);
    assert_int_equal(c->nroutes, 1);
    assert_int_equal(c->refs, 1);
    assert_ptr_equal(tn_config_ref(c), c);
    assert_int_equal(c->refs, 2);
    tn_config_unref(c);
    tn_config_unref(c);
}

/* ---- secret files, relative paths ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_secret_files(void **state)
{
    char dir[] = "/tmp/tn_config_XXXXXX";
    char path[256], cfgpath[256], err[1024] = "";
    tn_config_t *c;
    const tn_receiver_cfg_t *r;
    fake_conf_t *f;
    hook_conf_t *h;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token.txt", dir);
    write_file(path, "s3cret\n");
    snprintf(path, sizeof(path), "%s/url.txt", dir);
    write_file(path, "http://127.0.0.1:9/hook\r\n");
    snprintf(path, sizeof(path), "%s/pw", dir);
    write_file(path, "pa ss");
    snprintf(cfgpath, sizeof(cfgpath), "%s/am.yml", dir);
    write_file(cfgpath, "global:\n"
                        "  smtp_auth_password_file: pw\n"
                        "templates: ['t/*.tmpl', '/abs/*.tmpl']\n"
                        "route: {receiver: r}\n"
                        "receivers:\n"
                        "- name: r\n"
                        "  fake_configs:\n"
                        "  - url: http://x/\n"
                        "    token_file: token.txt\n"
                        "    http_config:\n"
                        "      bearer_token_file: token.txt\n"
                        "  webhook_configs:\n"
                        "  - url_file: url.txt\n"
                        "    http_config:\n"
                        "      basic_auth: {username: u, password_file: pw}\n");
    c = tn_config_load_file(cfgpath, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    r = tn_config_receiver(c, "r");
    f = r->integrations[0].conf;
    assert_string_equal(f->token, "s3cret");
    snprintf(path, sizeof(path), "%s/token.txt", dir);
    assert_string_equal(f->token_file, path);
    assert_string_equal(f->http.authorization_type, "Bearer");
    assert_string_equal(f->http.authorization_credentials, "s3cret");
    h = r->integrations[1].conf;
    assert_string_equal(h->url, "http://127.0.0.1:9/hook");
    assert_string_equal(h->http.basic_auth_password, "pa ss");
    assert_string_equal(c->global.smtp_auth_password, "pa ss");
    snprintf(path, sizeof(path), "%s/t/*.tmpl", dir);
    assert_int_equal(c->ntemplates, 2);
    assert_string_equal(c->templates[0], path);
    assert_string_equal(c->templates[1], "/abs/*.tmpl");
    assert_string_equal(c->path, cfgpath);
    assert_non_null(strstr(c->original, "token_file"));
    tn_config_unref(c);

    unlink(cfgpath);
    snprintf(path, sizeof(path), "%s/token.txt", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/url.txt", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/pw", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- YAML features ---- */

static void test_anchors_and_merge(void **state)
{
    const char *yml = "route:\n"
                      "  receiver: r\n"
                      "  routes:\n"
                      "  - &base\n"
                      "    matchers: [a=b]\n"
                      "    group_wait: 1s\n"
                      "  - <<: *base\n"
                      "    group_wait: 2s\n"
                      "receivers:\n"
                      "- name: r\n"
                      "  fake_configs:\n"
                      "  - &f {url: 'http://x/', max: 3}\n"
                      "  - *f\n"
                      "  - <<: *f\n"
                      "    max: 4\n";
    tn_config_t *c = load_ok(yml);
    const tn_receiver_cfg_t *r = tn_config_receiver(c, "r");
    (void)state;

    assert_int_equal(c->route->nchildren, 2);
    assert_int_equal(c->route->children[0]->group_wait, INT64_C(1000000000));
    assert_int_equal(c->route->children[1]->group_wait, 2 * INT64_C(1000000000));
    assert_string_equal(c->route->children[1]->key, "{}/{a=\"b\"}");
    assert_int_equal(r->nintegrations, 3);
    assert_int_equal(((fake_conf_t *)r->integrations[1].conf)->max, 3);
    assert_int_equal(((fake_conf_t *)r->integrations[2].conf)->max, 4);
    assert_string_equal(((fake_conf_t *)r->integrations[2].conf)->url, "http://x/");
    tn_config_unref(c);
}

/* Aliases turn the document into a graph: a few lines that expand to millions of routes, a
 * value that contains itself, and absurd nesting are refused quickly instead of eating the
 * machine. */
static tn_config_t *load_err(const char *text, char *err, size_t errlen)
{
    err[0] = 0;
    return tn_config_load_string("test.yml", text, strlen(text), err, errlen);
}

static void test_alias_bombs(void **state)
{
    char err[1024];
    tn_buf_t b;
    (void)state;

    /* ten aliases per level, seven levels: 10^7 routes */
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "route:\n  receiver: r\n  routes:\n  - &a0 {receiver: r}\n");
    for (int lvl = 1; lvl <= 7; lvl++) {
        tn_buf_printf(&b, "  - &a%d {routes: [", lvl);
        for (int k = 0; k < 10; k++)
            tn_buf_printf(&b, "%s*a%d", k ? ", " : "", lvl - 1);
        tn_buf_puts(&b, "]}\n");
    }
    tn_buf_puts(&b, "receivers:\n- name: r\n");
    assert_null(load_err(tn_buf_cstr(&b), err, sizeof(err)));
    assert_non_null(strstr(err, "aliases expand the document"));
    tn_buf_free(&b);

    /* merge keys fanning out the same way */
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "x0: &m0 {a: b}\n");
    for (int lvl = 1; lvl <= 8; lvl++) {
        tn_buf_printf(&b, "x%d: &m%d {<<: [", lvl, lvl);
        for (int k = 0; k < 10; k++)
            tn_buf_printf(&b, "%s*m%d", k ? ", " : "", lvl - 1);
        tn_buf_puts(&b, "]}\n");
    }
    assert_null(load_err(tn_buf_cstr(&b), err, sizeof(err)));
    assert_non_null(strstr(err, "aliases expand the document"));
    tn_buf_free(&b);

    /* a list of routes whose routes are that list */
    assert_null(load_err("route:\n  receiver: r\n  routes: &r\n  - routes: *r\n  - routes: *r\n"
                         "receivers:\n- name: r\n",
                         err, sizeof(err)));
    assert_string_equal(err, "test.yml:3:11: yaml: anchored value contains an alias to itself");
    /* a mapping merging itself */
    assert_null(
        load_err("route: &r\n  receiver: r\n  <<: *r\nreceivers:\n- name: r\n", err, sizeof(err)));
    assert_non_null(strstr(err, "contains an alias to itself"));

    /* nesting */
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "route: ");
    for (int i = 0; i < 1500; i++)
        tn_buf_putc(&b, '[');
    for (int i = 0; i < 1500; i++)
        tn_buf_putc(&b, ']');
    tn_buf_putc(&b, '\n');
    assert_null(load_err(tn_buf_cstr(&b), err, sizeof(err)));
    assert_non_null(strstr(err, "nested deeper than 1000 levels"));
    tn_buf_free(&b);
    /* refused while reading: the error names the bracket that went too deep, not the end of a
     * document 100,000 deep (which took seconds to build before it could be measured) */
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "route: ");
    for (int i = 0; i < 100000; i++)
        tn_buf_putc(&b, '[');
    for (int i = 0; i < 100000; i++)
        tn_buf_putc(&b, ']');
    tn_buf_putc(&b, '\n');
    assert_null(load_err(tn_buf_cstr(&b), err, sizeof(err)));
    assert_string_equal(err, "test.yml:1:1007: yaml: nested deeper than 1000 levels");
    tn_buf_free(&b);
    tn_buf_init(&b, 0);
    for (int i = 0; i < 100000; i++)
        tn_buf_puts(&b, "{a: ");
    assert_null(load_err(tn_buf_cstr(&b), err, sizeof(err)));
    assert_string_equal(err, "test.yml:1:4001: yaml: nested deeper than 1000 levels");
    tn_buf_free(&b);
    assert_null(load_err("route: *r\n", err, sizeof(err)));
    assert_string_equal(err, "test.yml:1:8: yaml: unknown anchor \"r\" referenced");
    /* a redefined anchor names the later value, as Go's reader has it */
    tn_config_t *redef =
        load_ok("route:\n  receiver: a\n  routes:\n  - &r {receiver: a}\n"
                "  - &r {receiver: b}\n  - *r\nreceivers: [{name: a}, {name: b}]\n");
    assert_int_equal(redef->route->nchildren, 3);
    assert_string_equal(redef->route->children[2]->receiver->name, "b");
    tn_config_unref(redef);

    /* plain sharing stays fine: one anchor used many times */
    tn_buf_init(&b, 0);
    tn_buf_puts(&b, "route:\n  receiver: r\n  routes:\n  - &s {matchers: [a=b]}\n");
    for (int i = 0; i < 200; i++)
        tn_buf_puts(&b, "  - *s\n");
    tn_buf_puts(&b, "receivers:\n- name: r\n");
    tn_config_t *c = load_ok(tn_buf_cstr(&b));
    assert_int_equal(c->route->nchildren, 201);
    tn_config_unref(c);
    tn_buf_free(&b);
}

static void test_hash_and_original(void **state)
{
    const char *a = "route: {receiver: a}\nreceivers: [{name: a}]\n";
    const char *b = "route: {receiver: a}\nreceivers: [{name: a}]\n\n";
    tn_config_t *ca = load_ok(a), *ca2 = load_ok(a), *cb = load_ok(b);
    (void)state;

    assert_string_equal(ca->original, a);
    assert_true(ca->hash == ca2->hash);
    assert_true(ca->hash != cb->hash);
    tn_config_unref(ca);
    tn_config_unref(ca2);
    tn_config_unref(cb);
}

/* ---- a whole real-world file ---- */

static const char *data_path(const char *name, char *buf, size_t len)
{
    const char *d = getenv("TN_TEST_DATA");
    snprintf(buf, len, "%s/config/%s", d ? d : "tests/data", name);
    return buf;
}

static void test_full_file(void **state)
{
    char path[512], err[1024] = "";
    tn_config_t *c =
        tn_config_load_file(data_path("full.yml", path, sizeof(path)), err, sizeof(err));
    const tn_route_t *db, *info;
    const tn_receiver_cfg_t *r;
    hook_conf_t *h;
    (void)state;

    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->global.resolve_timeout, 600 * INT64_C(1000000000));
    assert_string_equal(c->global.smtp_smarthost, "smtp.example.org:587");
    assert_string_equal(c->global.http_config.tls.min_version, "TLS12");
    assert_int_equal(c->nreceivers, 6);
    assert_int_equal(c->ninhibit_rules, 2);
    assert_int_equal(c->ntime_intervals, 2);
    assert_int_equal(c->ntemplates, 2);
    assert_int_equal(c->nroutes, 9);
    assert_int_equal(c->route->nchildren, 4);

    db = c->route->children[2];
    assert_string_equal(db->key, "{}/{service=~\"^(?:^(database|db)$)$\"}");
    assert_int_equal(db->ngroup_by, 3);
    assert_string_equal(db->children[0]->id,
                        "{}/{service=~\"^(?:^(database|db)$)$\"}/2/{owner=\"team-X\"}/0");
    assert_true(db->children[0]->cont);
    info = c->route->children[3];
    assert_true(info->group_by_all);
    assert_int_equal(info->nmute_time_intervals, 1);
    assert_string_equal(info->active_time_intervals[0], "business");
    assert_int_equal(info->repeat_interval, 24 * 3600 * INT64_C(1000000000));
    assert_int_equal(info->group_interval, 5 * 60 * INT64_C(1000000000));

    assert_int_equal(c->inhibit_rules[0].nequal, 3);
    assert_string_equal(c->inhibit_rules[1].target.v[0].value, "^(?:warn|info)$");

    /* offhours: came from mute_time_intervals */
    {
        const tn_time_interval_t *ti = &c->time_intervals[0];
        assert_string_equal(ti->name, "offhours");
        assert_int_equal(ti->nspecs, 3);
        assert_int_equal(ti->specs[0].ntimes, 2);
        assert_int_equal(ti->specs[0].times[1].start, 20 * 60);
        assert_int_equal(ti->specs[0].times[1].end, 24 * 60);
        assert_int_equal(ti->specs[1].weekdays[0].start, 6);
        assert_int_equal(ti->specs[2].days_of_month[1].start, -3);
        assert_int_equal(ti->specs[2].days_of_month[1].end, -1);
        assert_int_equal(ti->specs[2].months[0].end, 3);
        assert_int_equal(ti->specs[2].months[1].start, 12);
        assert_int_equal(ti->specs[2].years[0].end, 2030);
        ti = &c->time_intervals[1];
        assert_string_equal(ti->specs[0].location, "Europe/Berlin");
        assert_int_equal(ti->specs[0].weekdays[0].start, 1);
        assert_int_equal(ti->specs[0].weekdays[0].end, 5);
        assert_int_equal(ti->specs[0].times[0].end, 17 * 60 + 30);
    }

    r = tn_config_receiver(c, "team-X-mails");
    h = r->integrations[0].conf;
    assert_string_equal(h->url, "http://127.0.0.1:5001/x");
    assert_int_equal(h->max_alerts, 20);
    assert_true(r->integrations[0].send_resolved);
    r = tn_config_receiver(c, "team-DB-pager");
    h = r->integrations[0].conf;
    assert_string_equal(h->http.authorization_type, "Bearer");
    assert_string_equal(h->http.proxy_url, "http://proxy.example.org:3128");
    r = tn_config_receiver(c, "team-X-pager");
    assert_false(r->integrations[0].send_resolved);
    tn_config_unref(c);
}

/* ---- check-config ---- */

static int run_check(int argc, char **argv, char *out, size_t outlen)
{
    char tmpl[] = "/tmp/tn_check_XXXXXX";
    int fd = mkstemp(tmpl), saved, errsaved, rc, devnull;
    ssize_t n;

    assert_true(fd >= 0);
    fflush(stdout);
    saved = dup(1);
    errsaved = dup(2);
    devnull = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(devnull, 2);
    rc = tn_config_check_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    dup2(errsaved, 2);
    close(saved);
    close(errsaved);
    close(devnull);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, out, outlen - 1);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(tmpl);
    return rc;
}

static void test_check_config(void **state)
{
    char good[512], out[4096], expect[1024];
    char bad[] = "/tmp/tn_bad_XXXXXX";
    int fd;
    (void)state;

    data_path("full.yml", good, sizeof(good));
    {
        char *argv[] = {"check-config", good, NULL};
        assert_int_equal(run_check(2, argv, out, sizeof(out)), 0);
    }
    snprintf(expect, sizeof(expect),
             "Checking '%s'  SUCCESS\nFound:\n - global config\n - route\n - 2 inhibit rules\n"
             " - 6 receivers\n - 2 templates\n  SUCCESS\n\n",
             good);
    assert_string_equal(out, expect);

    fd = mkstemp(bad);
    assert_true(write(fd, "route:\n  receiver: x\n", 21) == 21);
    close(fd);
    {
        char *argv[] = {"tocsin", "check-config", good, bad, NULL};
        assert_int_equal(run_check(4, argv, out, sizeof(out)), 1);
    }
    snprintf(expect, sizeof(expect), "Checking '%s'  FAILED: %s:2:13: undefined receiver", bad,
             bad);
    assert_non_null(strstr(out, expect));
    unlink(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_escalation_inherited),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_global_defaults),
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_alias_bombs),
        cmocka_unit_test(test_hash_and_original),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_check_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
