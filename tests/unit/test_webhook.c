/* Webhook receiver: the exact message for firing, resolved, mixed and truncated notifications,
 * the config rules, and the shared HTTP classification rule. (Alert order and common labels
 * are tested with the notification module, test_notification.c.) */
#include "tn_test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../receivers/rcv.h"
#include "rcv_fixture.h"
#include "tocsin/alert.h"
#include "tocsin/config.h"
#include "tocsin/receiver.h"
#include "tocsin/timefmt.h"
#include "tocsin/version.h"

extern const tn_receiver_type_t tn_receiver_webhook;

/* ---- building blocks ---- */

static tn_time_t ts(const char *s)
{
    tn_time_t t;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

/* kv: NULL-terminated name, value, name, value, ... */
static size_t pairs(const char *const *kv, tn_label_t *out)
{
    size_t n = 0;
    for (; kv && kv[0]; kv += 2, n++) {
        out[n].name = tn_intern_cstr(kv[0]);
        out[n].value = tn_intern_cstr(kv[1]);
    }
    return n;
}

static tn_alert_t *mk_alert(const char *const *labels, const char *const *annotations,
                            const char *gen, const char *starts, const char *ends)
{
    tn_label_t l[16], a[16];
    size_t nl = pairs(labels, l), na = pairs(annotations, a);
    tn_alert_t *al = tn_alert_new(l, nl, a, na, gen ? tn_intern_cstr(gen) : NULL);
    al->starts_at = ts(starts);
    al->ends_at = ends ? ts(ends) : 0;
    return al;
}

typedef struct fixture {
    tn_config_t *cfg;
    const tn_integration_cfg_t *plain;      /* url only */
    const tn_integration_cfg_t *truncating; /* max_alerts: 2, timeout, bearer */
    size_t interned;
} fixture_t;

static const char cfg_text[] = "route:\n"
                               "  receiver: team-X.ops\n"
                               "receivers:\n"
                               "- name: team-X.ops\n"
                               "  webhook_configs:\n"
                               "  - url: http://127.0.0.1:9/hook?token=s3cret\n"
                               "  - url: http://127.0.0.1:9/two\n"
                               "    send_resolved: false\n"
                               "    max_alerts: 2\n"
                               "    timeout: 5s\n"
                               "    http_config:\n"
                               "      authorization:\n"
                               "        credentials: tok\n";

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->interned = tn_intern_count();
    char err[TN_ERRBUF_SIZE];
    f->cfg = tn_config_load_string("test.yml", cfg_text, strlen(cfg_text), err, sizeof(err));
    if (!f->cfg)
        fail_msg("config: %s", err);
    const tn_receiver_cfg_t *r = tn_config_receiver(f->cfg, "team-X.ops");
    assert_non_null(r);
    assert_int_equal(r->nintegrations, 2);
    f->plain = &r->integrations[0];
    f->truncating = &r->integrations[1];
    assert_ptr_equal(f->plain->type, &tn_receiver_webhook);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tn_config_unref(f->cfg);
    assert_int_equal(tn_intern_count(), f->interned);
    free(f);
    return 0;
}

typedef struct notif {
    tn_notif_alert_t alerts[8];
    tn_alert_t *owned[8];
    size_t n;
    tn_label_t group[4];
    size_t ngroup;
    tn_notification_t nt;
} notif_t;

static void notif_add(notif_t *n, tn_alert_t *a, bool resolved)
{
    n->owned[n->n] = a;
    n->alerts[n->n] = (tn_notif_alert_t){a, resolved};
    n->n++;
}

static void notif_finish(notif_t *n, const char *const *group, const char *reason)
{
    n->ngroup = pairs(group, n->group);
    tn_labels_sort(n->group, n->ngroup);
    tn_notif_alerts_sort(n->alerts, n->n);
    size_t nfiring = 0;
    for (size_t i = 0; i < n->n; i++)
        nfiring += !n->alerts[i].resolved;
    n->nt = (tn_notification_t){
        .receiver = "team-X.ops",
        .group_key = "{}:{alertname=\"HighLatency\"}",
        .group_labels = {n->group, n->ngroup},
        .alerts = n->alerts,
        .nalerts = n->n,
        .nfiring = nfiring,
        .external_url = "http://am.example:9093",
        .now = ts("2024-01-02T04:00:00Z"),
        .reason = reason,
    };
}

static void notif_free(notif_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        tn_alert_unref(n->owned[i]);
    for (size_t i = 0; i < n->ngroup; i++) {
        tn_intern_unref(n->group[i].name);
        tn_intern_unref(n->group[i].value);
    }
}

static const char *const LA[] = {"alertname", "HighLatency", "job",  "node", "instance",
                                 "a:9100",    "severity",    "page", NULL};
static const char *const LB[] = {"alertname", "HighLatency", "job",  "node", "instance",
                                 "b:9100",    "severity",    "page", NULL};
static const char *const LC[] = {"alertname", "HighLatency", "job",    "node", "instance",
                                 "c:9100",    "severity",    "ticket", NULL};
static const char *const AA[] = {"summary", "slow", NULL};
static const char *const AB[] = {"summary", "slow", "runbook", "http://rb", NULL};
static const char *const GROUP[] = {"alertname", "HighLatency", NULL};
static const char GEN[] = "http://prom/graph?g0.expr=up&g0.tab=1";

static void build(const tn_integration_cfg_t *ic, const tn_notification_t *n, tn_out_request_t *req)
{
    char err[TN_ERRBUF_SIZE];
    tn_out_request_init(req);
    assert_int_equal(fx_send_build(ic, n, req, err, sizeof(err)), TN_OK);
}

static const char *header(const tn_out_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static json_t *parse(tn_out_request_t *req)
{
    json_error_t je;
    json_t *j = json_loadb(req->body.data, req->body.len, 0, &je);
    if (!j)
        fail_msg("bad JSON: %s", je.text);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void check_kv(json_t *o, const char *key, const char *const *kv)
{
    json_t *m = json_object_get(o, key);
    assert_non_null(m);
    assert_true(json_is_object(m));
    size_t n = 0;
    for (; kv && kv[0]; kv += 2, n++)
        assert_string_equal(jstr(m, kv[0]), kv[1]);
    assert_int_equal(json_object_size(m), n);
}

static void check_alert(json_t *ja, const tn_alert_t *a, const char *status, const char *ends,
                        const char *const *labels, const char *const *annotations)
{
    char fp[17];
    tn_fingerprint_format(a->fp, fp);
    assert_int_equal(json_object_size(ja), 7);
    assert_string_equal(jstr(ja, "status"), status);
    check_kv(ja, "labels", labels);
    check_kv(ja, "annotations", annotations);
    assert_string_equal(jstr(ja, "startsAt"), "2024-01-02T03:04:05.123456789Z");
    assert_string_equal(jstr(ja, "endsAt"), ends);
    assert_string_equal(jstr(ja, "generatorURL"), GEN);
    assert_string_equal(jstr(ja, "fingerprint"), fp);
}

/* ---- the message ---- */

static void test_firing_exact(void **state)
{
    fixture_t *f = *state;
    notif_t n = {0};
    /* Added out of order: the sort puts instance a before b. */
    notif_add(&n, mk_alert(LB, AB, GEN, "2024-01-02T03:04:05.123456789Z", NULL), false);
    notif_add(&n, mk_alert(LA, AA, GEN, "2024-01-02T03:04:05.123456789Z", NULL), false);
    notif_finish(&n, GROUP, "first notification");

    tn_out_request_t req;
    build(f->plain, &n.nt, &req);
    assert_string_equal(req.url, "http://127.0.0.1:9/hook?token=s3cret");
    assert_null(req.method); /* POST */
    assert_string_equal(header(&req, "Content-Type"), "application/json");
    assert_string_equal(header(&req, "User-Agent"), "tocsin/" TN_VERSION);
    assert_int_equal(req.timeout_ms, 0);
    assert_non_null(req.http);
    assert_true(req.http->follow_redirects);

    char fpa[17], fpb[17];
    tn_fingerprint_format(n.alerts[0].alert->fp, fpa);
    tn_fingerprint_format(n.alerts[1].alert->fp, fpb);
    assert_string_equal(tn_labels_get(tn_alert_labels(n.alerts[0].alert), "instance"), "a:9100");
    char want[4096];
    snprintf(want, sizeof(want),
             "{\"receiver\":\"team-X\\\\.ops\",\"status\":\"firing\",\"alerts\":["
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"instance\":"
             "\"a:9100\",\"job\":\"node\",\"severity\":\"page\"},\"annotations\":{\"summary\":"
             "\"slow\"},\"startsAt\":\"2024-01-02T03:04:05.123456789Z\",\"endsAt\":"
             "\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom/graph?g0.expr=up\\u0026g0."
             "tab=1\",\"fingerprint\":\"%s\"},"
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"instance\":"
             "\"b:9100\",\"job\":\"node\",\"severity\":\"page\"},\"annotations\":{\"runbook\":"
             "\"http://rb\",\"summary\":\"slow\"},\"startsAt\":\"2024-01-02T03:04:05.123456789Z\","
             "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom/graph?g0.expr=up"
             "\\u0026g0.tab=1\",\"fingerprint\":\"%s\"}],"
             "\"notification_reason\":\"first notification\","
             "\"groupLabels\":{\"alertname\":\"HighLatency\"},"
             "\"commonLabels\":{\"alertname\":\"HighLatency\",\"job\":\"node\",\"severity\":"
             "\"page\"},\"commonAnnotations\":{\"summary\":\"slow\"},\"routeLabels\":{},"
             "\"externalURL\":\"http://am.example:9093\",\"version\":\"4\","
             "\"groupKey\":\"{}:{alertname=\\\"HighLatency\\\"}\",\"truncatedAlerts\":0}\n",
             fpa, fpb);
    assert_string_equal(tn_buf_cstr(&req.body), want);

    /* The same through a JSON reader, field by field. */
    json_t *j = parse(&req);
    assert_int_equal(json_object_size(j), 12);
    assert_string_equal(jstr(j, "receiver"), "team-X\\.ops");
    assert_string_equal(jstr(j, "status"), "firing");
    assert_string_equal(jstr(j, "version"), "4");
    assert_string_equal(jstr(j, "groupKey"), "{}:{alertname=\"HighLatency\"}");
    assert_string_equal(jstr(j, "externalURL"), "http://am.example:9093");
    assert_int_equal(json_integer_value(json_object_get(j, "truncatedAlerts")), 0);
    check_kv(j, "groupLabels", GROUP);
    static const char *const common[] = {"alertname", "HighLatency", "job", "node",
                                         "severity",  "page",        NULL};
    check_kv(j, "commonLabels", common);
    check_kv(j, "commonAnnotations", AA);
    check_kv(j, "routeLabels", NULL);
    json_t *alerts = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(alerts), 2);
    check_alert(json_array_get(alerts, 0), n.alerts[0].alert, "firing", "0001-01-01T00:00:00Z", LA,
                AA);
    check_alert(json_array_get(alerts, 1), n.alerts[1].alert, "firing", "0001-01-01T00:00:00Z", LB,
                AB);
    json_decref(j);
    tn_out_request_free(&req);
    notif_free(&n);
}

static void test_resolved(void **state)
{
    fixture_t *f = *state;
    notif_t n = {0};
    notif_add(&n, mk_alert(LA, AA, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:30:00Z"),
              true);
    notif_add(&n, mk_alert(LB, AB, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:31:00.5Z"),
              true);
    notif_finish(&n, GROUP, NULL);
    /* The group's route labels, as the dispatcher rendered them for this flush. */
    static const char *const RL[] = {"team", "db <ops>", "tier", "1", NULL};
    tn_label_t rl[2];
    size_t nrl = pairs(RL, rl);
    n.nt.route_labels = (tn_labels_t){rl, nrl};
    tn_out_request_t req;
    build(f->plain, &n.nt, &req);
    assert_non_null(strstr(tn_buf_cstr(&req.body),
                           ",\"routeLabels\":{\"team\":\"db \\u003cops\\u003e\",\"tier\":\"1\"},"));
    json_t *j = parse(&req);
    check_kv(j, "routeLabels", RL);
    for (size_t i = 0; i < nrl; i++) {
        tn_intern_unref(rl[i].name);
        tn_intern_unref(rl[i].value);
    }
    assert_string_equal(jstr(j, "status"), "resolved");
    assert_string_equal(jstr(j, "notification_reason"), "unknown");
    json_t *alerts = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(alerts), 2);
    check_alert(json_array_get(alerts, 0), n.alerts[0].alert, "resolved", "2024-01-02T03:30:00Z",
                LA, AA);
    check_alert(json_array_get(alerts, 1), n.alerts[1].alert, "resolved", "2024-01-02T03:31:00.5Z",
                LB, AB);
    json_decref(j);
    tn_out_request_free(&req);
    notif_free(&n);
}

static void test_mixed(void **state)
{
    fixture_t *f = *state;
    notif_t n = {0};
    /* The firing one has an endsAt in the future (resolve timeout): it is not exposed. */
    notif_add(&n, mk_alert(LA, AA, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T05:00:00Z"),
              false);
    notif_add(&n, mk_alert(LB, AB, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:30:00Z"),
              true);
    notif_finish(&n, GROUP, "some alerts resolved");
    tn_out_request_t req;
    build(f->plain, &n.nt, &req);
    json_t *j = parse(&req);
    assert_string_equal(jstr(j, "status"), "firing");
    assert_string_equal(jstr(j, "notification_reason"), "some alerts resolved");
    json_t *alerts = json_object_get(j, "alerts");
    check_alert(json_array_get(alerts, 0), n.alerts[0].alert, "firing", "0001-01-01T00:00:00Z", LA,
                AA);
    check_alert(json_array_get(alerts, 1), n.alerts[1].alert, "resolved", "2024-01-02T03:30:00Z",
                LB, AB);
    json_decref(j);
    tn_out_request_free(&req);
    notif_free(&n);
}

static void test_max_alerts(void **state)
{
    fixture_t *f = *state;
    notif_t n = {0};
    notif_add(&n, mk_alert(LC, AA, GEN, "2024-01-02T03:04:05.123456789Z", NULL), false);
    notif_add(&n, mk_alert(LB, AB, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:30:00Z"),
              true);
    notif_add(&n, mk_alert(LA, AA, GEN, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:30:00Z"),
              true);
    notif_finish(&n, GROUP, "new alerts added");

    tn_out_request_t req;
    build(f->truncating, &n.nt, &req);
    assert_string_equal(req.url, "http://127.0.0.1:9/two");
    assert_int_equal(req.timeout_ms, 5000);
    assert_string_equal(req.http->authorization_credentials, "tok");
    json_t *j = parse(&req);
    assert_int_equal(json_integer_value(json_object_get(j, "truncatedAlerts")), 1);
    json_t *alerts = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(alerts), 2);
    /* The first two after sorting (a, b) are sent; c, which fires, is dropped, so the status
     * and the common labels are those of a and b, as Alertmanager computes them. */
    assert_string_equal(jstr(j, "status"), "resolved");
    check_alert(json_array_get(alerts, 0), n.alerts[0].alert, "resolved", "2024-01-02T03:30:00Z",
                LA, AA);
    check_alert(json_array_get(alerts, 1), n.alerts[1].alert, "resolved", "2024-01-02T03:30:00Z",
                LB, AB);
    static const char *const common[] = {"alertname", "HighLatency", "job", "node",
                                         "severity",  "page",        NULL};
    check_kv(j, "commonLabels", common);
    json_decref(j);
    tn_out_request_free(&req);

    /* Without max_alerts all three go out. */
    build(f->plain, &n.nt, &req);
    j = parse(&req);
    assert_int_equal(json_integer_value(json_object_get(j, "truncatedAlerts")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 3);
    assert_string_equal(jstr(j, "status"), "firing");
    static const char *const common3[] = {"alertname", "HighLatency", "job", "node", NULL};
    check_kv(j, "commonLabels", common3);
    json_decref(j);
    tn_out_request_free(&req);
    notif_free(&n);
}

static void test_empty_and_escapes(void **state)
{
    fixture_t *f = *state;
    notif_t n = {0};
    static const char *const L[] = {"alertname", "X", NULL};
    static const char *const A[] = {
        "html", "<b>&amp;</b>",
        "ctl",  "a\tb\nc\x01\x7f\b\f\"\\",
        "odd",  "\xe2\x80\xa8|\xe2\x80\xa9|\xff|\xc3\xa9|\xf0\x9f\x94\xa5",
        NULL};
    notif_add(&n, mk_alert(L, A, NULL, "2024-01-02T03:04:05Z", NULL), false);
    notif_finish(&n, NULL, "first notification");
    n.nt.external_url = NULL;
    tn_out_request_t req;
    build(f->plain, &n.nt, &req);
    const char *body = tn_buf_cstr(&req.body);
    assert_non_null(strstr(body, "\"html\":\"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e\""));
    assert_non_null(strstr(body, "\"ctl\":\"a\\tb\\nc\\u0001\x7f\\b\\f\\\"\\\\\""));
    assert_non_null(strstr(body, "\"odd\":\"\\u2028|\\u2029|\\ufffd|\xc3\xa9|\xf0\x9f\x94\xa5\""));
    assert_non_null(strstr(body, "\"generatorURL\":\"\""));
    assert_non_null(strstr(body, "\"groupLabels\":{}"));
    assert_non_null(strstr(body, "\"externalURL\":\"\""));
    /* Still valid JSON for a strict reader. */
    json_t *j = parse(&req);
    json_decref(j);
    tn_out_request_free(&req);
    notif_free(&n);
}

/* ---- config ---- */

static void test_config_rules(void **state)
{
    (void)state;
    char err[TN_ERRBUF_SIZE];
    static const char none[] = "route:\n  receiver: r\nreceivers:\n- name: r\n  webhook_configs:\n"
                               "  - max_alerts: 1\n";
    tn_config_t *c = tn_config_load_string("t.yml", none, strlen(none), err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "one of url or url_file must be configured"));

    char path[] = "/tmp/tn_webhook_url_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char url[] = "http://127.0.0.1:9/from-file\n";
    assert_int_equal(write(fd, url, strlen(url)), (ssize_t)strlen(url));
    close(fd);
    char text[512];
    snprintf(text, sizeof(text),
             "route:\n  receiver: r\nreceivers:\n- name: r\n  webhook_configs:\n"
             "  - url_file: %s\n",
             path);
    c = tn_config_load_string("t.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fail_msg("config: %s", err);
    const tn_integration_cfg_t *ic = &tn_config_receiver(c, "r")->integrations[0];
    assert_true(ic->send_resolved);
    notif_t n = {0};
    notif_add(&n, mk_alert(LA, AA, GEN, "2024-01-02T03:04:05Z", NULL), false);
    notif_finish(&n, GROUP, NULL);
    tn_out_request_t req;
    build(ic, &n.nt, &req);
    assert_string_equal(req.url, "http://127.0.0.1:9/from-file");
    tn_out_request_free(&req);
    /* Read again for every send: a rotated URL needs no reload. */
    FILE *fh = fopen(path, "w");
    assert_non_null(fh);
    fputs("http://127.0.0.1:9/rotated", fh);
    fclose(fh);
    build(ic, &n.nt, &req);
    assert_string_equal(req.url, "http://127.0.0.1:9/rotated");
    tn_out_request_free(&req);
    notif_free(&n);
    tn_config_unref(c);

    snprintf(text, sizeof(text),
             "route:\n  receiver: r\nreceivers:\n- name: r\n  webhook_configs:\n"
             "  - url_file: %s\n    url: http://127.0.0.1:9/x\n",
             path);
    c = tn_config_load_string("t.yml", text, strlen(text), err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "at most one of url & url_file must be configured"));
    unlink(path);
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(tn_receiver_type_find("webhook"), &tn_receiver_webhook);
    assert_null(tn_receiver_type_find("nope"));
    size_t n = 0;
    while (tn_receiver_types[n])
        n++;
    assert_true(n >= 1);
    assert_true(tn_receiver_webhook.send_resolved_default);
}

/* ---- shared helpers ---- */

static void test_classify(void **state)
{
    fixture_t *f = *state;
    static const struct {
        int curl_code;
        long status;
        bool retry_429;
        enum tn_send_result want;
        const char *reason;
    } cases[] = {
        {0, 200, false, TN_SEND_DONE, NULL},           {0, 202, false, TN_SEND_DONE, NULL},
        {0, 204, false, TN_SEND_DONE, NULL},           {0, 302, false, TN_SEND_FAIL, "other"},
        {0, 400, false, TN_SEND_FAIL, "clientError"},  {0, 401, false, TN_SEND_FAIL, "authError"},
        {0, 403, false, TN_SEND_FAIL, "authError"},    {0, 404, false, TN_SEND_FAIL, "clientError"},
        {0, 429, false, TN_SEND_FAIL, "rateLimited"},  {0, 429, true, TN_SEND_RETRY, "rateLimited"},
        {0, 500, false, TN_SEND_RETRY, "serverError"}, {0, 503, true, TN_SEND_RETRY, "serverError"},
        {7, 0, false, TN_SEND_RETRY, "other"},         {28, 0, false, TN_SEND_RETRY, "other"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_out_response_t r = {.curl_code = cases[i].curl_code,
                               .status = cases[i].status,
                               .error = cases[i].curl_code ? "Failed to connect" : NULL,
                               .body = "nope",
                               .body_len = 4};
        const char *reason = "unset";
        char err[256] = "";
        enum tn_send_result got =
            tn_receiver_classify_http(&r, cases[i].retry_429, &reason, err, sizeof(err));
        assert_int_equal(got, cases[i].want);
        if (cases[i].reason)
            assert_string_equal(reason, cases[i].reason);
        if (got == TN_SEND_DONE) {
            assert_string_equal(err, "");
        } else if (cases[i].curl_code) {
            assert_string_equal(err, "Failed to connect");
        } else {
            char want[64];
            snprintf(want, sizeof(want), "unexpected status code %ld: nope", cases[i].status);
            assert_string_equal(err, want);
        }
        /* The webhook never retries a 429. */
        if (!cases[i].retry_429) {
            const char *wr = "unset";
            assert_int_equal(fx_send_classify(f->plain, &r, &wr, err, sizeof(err)), cases[i].want);
        }
    }
}

/* ---- the templated payload (Alertmanager's webhook_test.go and TestDeepCopyWithTemplate) ---- */

#define PHEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  webhook_configs:\n"

/* The body sent for one firing TestAlert (summary "Test summary") under payload yaml. */
static void payload_body(const char *payload_yaml, const char *want)
{
    fx_t f;
    char cfg[4096];
    snprintf(cfg, sizeof(cfg), PHEAD "  - url: http://127.0.0.1:9/p\n%s", payload_yaml);
    fx_config(&f, cfg);
    fx_alert(&f, "alertname=TestAlert", "summary=Test summary", false);
    fx_notif(&f, "alertname=TestAlert");
    char err[TN_ERRBUF_SIZE] = "";
    tn_out_request_free(&f.req);
    tn_out_request_init(&f.req);
    if (fx_send_build(fx_ic(&f, 0), &f.notif, &f.req, err, sizeof(err)) != TN_OK)
        fail_msg("build: %s", err);
    if (strcmp(tn_buf_cstr(&f.req.body), want) != 0)
        fail_msg("payload\n%s\nsent  %s\nwant  %s", payload_yaml, f.req.body.data, want);
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    fx_free(&f);
}

static void test_payload_map(void **state)
{
    (void)state;
    payload_body("    payload:\n      custom: some custom content\n"
                 "      commonLabels: '{{ .CommonLabels | toJson }}'\n",
                 "{\"commonLabels\":{\"alertname\":\"TestAlert\"},\"custom\":\"some custom "
                 "content\"}\n");
}

static void test_payload_list(void **state)
{
    (void)state;
    payload_body("    payload:\n"
                 "    - custom: some custom content\n"
                 "      commonLabels: \"{{ .CommonLabels | toJson }}\"\n"
                 "      commonAnnotations: \"{{ .CommonAnnotations | toJson }}\"\n"
                 "    - foo: bar\n",
                 "[{\"commonAnnotations\":{\"summary\":\"Test summary\"},\"commonLabels\":"
                 "{\"alertname\":\"TestAlert\"},\"custom\":\"some custom content\"},"
                 "{\"foo\":\"bar\"}]\n");
}

/* One string rendered to YAML text: the text is decoded and sent as the list it spells. */
static void test_payload_string_list(void **state)
{
    (void)state;
    payload_body("    payload: |\n\n      - commonLabels: {{ .CommonLabels | toJson }}\n"
                 "      - foo: bar\n",
                 "[{\"commonLabels\":{\"alertname\":\"TestAlert\"}},{\"foo\":\"bar\"}]\n");
}

static void test_payload_string_template(void **state)
{
    (void)state;
    payload_body("    payload: |\n"
                 "      {{- $res := list -}}\n"
                 "      {{- range .Alerts -}}\n"
                 "      {{- $data := dict \"foo\" \"bar\" \"commonLabels\" .Labels -}}\n"
                 "      {{- $res = append  $res $data -}}\n"
                 "      {{- end -}}\n"
                 "      {{ toJson $res }}\n",
                 "[{\"commonLabels\":{\"alertname\":\"TestAlert\"},\"foo\":\"bar\"}]\n");
}

/* Alertmanager #5302: values in a rendered JSON document are taken as they are, never read
 * again as YAML ("value1:" is no mapping, "123" no number). */
static void test_payload_yaml_like_strings(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, PHEAD "  - url: http://127.0.0.1:9/p\n    payload: |\n"
                        "      {{- $res := list -}}\n"
                        "      {{- range .Alerts -}}\n"
                        "      {{- $res = append $res .Labels -}}\n"
                        "      {{- end -}}\n"
                        "      {{ toJson $res }}\n");
    fx_alert(&f, "alertname=test1,id=value1:,num=123,truthy=true,empty=null", NULL, false);
    fx_notif(&f, "alertname=test1");
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_equal(fx_send_build(fx_ic(&f, 0), &f.notif, &f.req, err, sizeof(err)), TN_OK);
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "[{\"alertname\":\"test1\",\"empty\":\"null\",\"id\":\"value1:\","
                        "\"num\":\"123\",\"truthy\":\"true\"}]\n");
    fx_free(&f);
}

/* TestDeepCopyWithTemplate's scenarios, the template function being the engine itself. */
static void test_payload_deep_copy(void **state)
{
    (void)state;
    /* A string keeps its rendered value. */
    payload_body("    payload: 'hello{{ \"-templated\" }}'\n", "\"hello-templated\"\n");
    /* A string that reads as a YAML mapping is that mapping. */
    payload_body("    payload: 'foo: bar'\n", "{\"foo\":\"bar\"}\n");
    /* Lists are rendered item by item; other scalars are sent as written. */
    payload_body("    payload: ['foo{{ \"-templated\" }}', 42]\n", "[\"foo-templated\",42]\n");
    /* Keys are rendered too; a key that is not a string is dropped. */
    payload_body("    payload:\n      'foo{{ \"-t\" }}': 'bar{{ \"-t\" }}'\n      42: ignore\n"
                 "      'nested{{ \"-t\" }}': ['baz{{ \"-t\" }}']\n",
                 "{\"foo-t\":\"bar-t\",\"nested-t\":[\"baz-t\"]}\n");
    payload_body("    payload: 123\n", "123\n");
    /* A rendered JSON document is taken as is: its string leaves stay strings. */
    payload_body("    payload: '[{\"alertname\":\"test1\",\"id\":\"value1:\"}]'\n",
                 "[{\"alertname\":\"test1\",\"id\":\"value1:\"}]\n");
    payload_body(
        "    payload: "
        "'{\"num\":\"123\",\"truthy\":\"true\",\"empty\":\"null\",\"when\":\"2026-01-01\"}'\n",
        "{\"empty\":\"null\",\"num\":\"123\",\"truthy\":\"true\",\"when\":\"2026-01-01\"}\n");
    /* ... and its real scalars keep their types. */
    payload_body("    payload: '{\"num\":123,\"truthy\":true,\"empty\":null}'\n",
                 "{\"empty\":null,\"num\":123,\"truthy\":true}\n");
}

/* Scalars as yaml.v2 resolves them. Every string is rendered and read again, so a quoted
 * '12' is sent as a number too; keys that read as booleans (y, n, yes, true), null or numbers
 * are dropped, as Alertmanager drops them. */
static void test_payload_scalars(void **state)
{
    (void)state;
    payload_body("    payload:\n"
                 "      a: yes\n      b: Off\n      c: ~\n      d: 0x1F\n      e: 0o17\n"
                 "      f: 017\n      g: 1_000\n      h: 1e3\n      i: 08\n      j: .5\n"
                 "      k: -0b101\n      l: 18446744073709551615\n      m: 2024-01-02\n"
                 "      nn: '12'\n      o: \"true\"\n      p: 1.50\n      q: -0.0\n"
                 "      r: 1e21\n      s: 0.0000015\n      t: 0.00000015\n      u: 12345678.9\n"
                 "      v: '{{ \"on\" }}'\n      w: '{{ \"\" }}'\n      x: '{{ \" 7\" }}'\n"
                 "      yy: \"\"\n      z: 99999999999999999999\n      zz: 1e400\n"
                 "      zzz: '{{ \"plain text\" }}'\n      q2: '\"quoted\"'\n"
                 "      y: dropped\n      n: dropped\n      true: dropped\n"
                 "      ~: dropped\n      1.5: dropped\n      'yes': kept\n",
                 "{\"a\":true,\"b\":false,\"c\":null,\"d\":31,\"e\":15,\"f\":15,\"g\":1000,"
                 "\"h\":1000,\"i\":8,\"j\":0.5,\"k\":-5,\"l\":18446744073709551615,"
                 "\"m\":\"2024-01-02\",\"nn\":12,\"o\":true,\"p\":1.5,\"q\":-0,\"q2\":"
                 "\"\\\"quoted\\\"\",\"r\":1e+21,\"s\":0.0000015,\"t\":1.5e-7,"
                 "\"u\":12345678.9,\"v\":true,\"w\":null,\"x\":7,\"yes\":\"kept\",\"yy\":null,"
                 "\"z\":100000000000000000000,\"zz\":\"1e400\",\"zzz\":\"plain text\"}\n");
}

/* The data is that of the alerts sent: max_alerts cuts .Alerts too. */
static void test_payload_max_alerts(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f,
              PHEAD "  - url: http://127.0.0.1:9/p\n    max_alerts: 1\n"
                    "    payload:\n      count: '{{ len .Alerts }}'\n      s: '{{ .Status }}'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(tn_buf_cstr(&f.req.body), "{\"count\":1,\"s\":\"resolved\"}\n");
    fx_free(&f);
}

/* A text that fails to render is empty, as every text of a send is (docs/receivers.md); an
 * empty text is null. A NaN cannot be written: the send fails as Alertmanager's does. */
static void test_payload_failures(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, PHEAD "  - url: http://127.0.0.1:9/p\n"
                        "    payload:\n      bad: '{{ template \"tn.no.such\" . }}'\n      ok: x\n"
                        "  - url: http://127.0.0.1:9/p\n    payload: [.nan]\n"
                        "  - url: http://127.0.0.1:9/p\n    payload: '{{ \"-.inf\" }}'\n"
                        "  - url: http://127.0.0.1:9/p\n    payload: null\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    if (fx_engine_fails_missing(&f)) {
        fx_build_ok(&f, 0);
        assert_string_equal(tn_buf_cstr(&f.req.body), "{\"bad\":null,\"ok\":\"x\"}\n");
    }
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 1, err, sizeof(err)), TN_OK);
    assert_string_equal(err, "failed to render custom payload: json: unsupported value: NaN");
    assert_int_not_equal(fx_build(&f, 2, err, sizeof(err)), TN_OK);
    assert_string_equal(err, "failed to render custom payload: json: unsupported value: -Inf");
    /* An explicit null is no payload: the message. */
    fx_build_ok(&f, 3);
    fx_str(&f, "version", "4");
    fx_free(&f);
}

/* Keys that render alike make one key, as in the Go map Alertmanager builds. */
static void test_payload_key_collision(void **state)
{
    (void)state;
    /* Anchors and merge keys as the config reader has them. */
    payload_body("    payload:\n      base: &b {x: 1, y2: [a]}\n      more:\n        <<: *b\n"
                 "        x: 2\n",
                 "{\"base\":{\"x\":1,\"y2\":[\"a\"]},\"more\":{\"x\":2,\"y2\":[\"a\"]}}\n");
    payload_body("    payload:\n      '{{ \"k\" }}': first\n      k: second\n      a: '&<>'\n",
                 "{\"a\":\"\\u0026\\u003c\\u003e\",\"k\":\"second\"}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_firing_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
        cmocka_unit_test(test_config_rules),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_payload_map),
        cmocka_unit_test(test_payload_list),
        cmocka_unit_test(test_payload_string_list),
        cmocka_unit_test(test_payload_string_template),
        cmocka_unit_test(test_payload_yaml_like_strings),
        cmocka_unit_test(test_payload_deep_copy),
        cmocka_unit_test(test_payload_scalars),
        cmocka_unit_test(test_payload_max_alerts),
        cmocka_unit_test(test_payload_failures),
        cmocka_unit_test(test_payload_key_collision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
