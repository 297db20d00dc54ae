/* incident.io receiver: the exact request for firing, resolved and mixed groups, max_alerts
 * and the 512 KiB fallback, the URL file read per send, the token as Bearer credentials,
 * every config rule, and the reply verdicts with incident.io's error text (Alertmanager's
 * incidentio_test.go scenarios). */
#include "rcv_fixture.h"

#include <unistd.h>

#include "tocsin/version.h"

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  incidentio_configs:\n"

extern const tn_receiver_type_t tn_receiver_incidentio;

static const char *fp(const tn_alert_t *a, char out[17])
{
    tn_fingerprint_format(a->fp, out);
    return out;
}

static void test_firing_exact(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - url: https://api.incident.io/v2/alert_events/http/01ABC\n"
                       "    alert_source_token: s3cret\n");
    fx_alert(&f, "alertname=Disk,instance=a,severity=critical", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b,severity=critical", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.incident.io/v2/alert_events/http/01ABC");
    assert_null(f.req.method); /* POST */
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    assert_string_equal(fx_header(&f, "User-Agent"), "tocsin/" TN_VERSION);
    assert_int_equal(f.req.timeout_ms, 0);
    /* The token travels as Authorization: Bearer, through http_config. */
    assert_non_null(f.req.http);
    assert_string_equal(f.req.http->authorization_type, "Bearer");
    assert_string_equal(f.req.http->authorization_credentials, "s3cret");
    assert_null(strstr(tn_buf_cstr(&f.req.body), "s3cret"));

    char a[17], b[17], want[4096];
    snprintf(want, sizeof(want),
             "{\"receiver\":\"team\",\"status\":\"firing\",\"alerts\":["
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"Disk\",\"instance\":\"a\","
             "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"full\"},"
             "\"startsAt\":\"2023-11-14T22:13:20Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
             "\"generatorURL\":\"http://prom/graph\",\"fingerprint\":\"%s\"},"
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"Disk\",\"instance\":\"b\","
             "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"full\"},"
             "\"startsAt\":\"2023-11-14T22:13:20Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
             "\"generatorURL\":\"http://prom/graph\",\"fingerprint\":\"%s\"}],"
             "\"notification_reason\":\"first notification\","
             "\"groupLabels\":{\"alertname\":\"Disk\"},"
             "\"commonLabels\":{\"alertname\":\"Disk\",\"severity\":\"critical\"},"
             "\"commonAnnotations\":{\"summary\":\"full\"},\"routeLabels\":{},"
             "\"externalURL\":\"http://am.example\",\"version\":\"1\","
             "\"groupKey\":\"{}:{alertname=\\\"Disk\\\"}\",\"truncatedAlerts\":0}\n",
             fp(f.alerts[0], a), fp(f.alerts[1], b));
    assert_string_equal(tn_buf_cstr(&f.req.body), want);
    fx_free(&f);
}

static void test_resolved_and_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    assert_true(fx_ic(&f, 0)->send_resolved); /* Alertmanager's default */
    fx_build_ok(&f, 0);
    fx_str(&f, "status", "firing");
    fx_str(&f, "alerts.0.status", "resolved");
    fx_str(&f, "alerts.0.endsAt", "2023-11-14T22:14:20Z");
    fx_str(&f, "alerts.1.status", "firing");
    fx_str(&f, "alerts.1.endsAt", "0001-01-01T00:00:00Z");
    f.nalerts[1].resolved = true;
    f.notif.nfiring = 0;
    fx_build_ok(&f, 0);
    fx_str(&f, "status", "resolved");
    fx_str(&f, "version", "1");
    fx_free(&f);
}

/* TestIncidentIOTruncateAlerts: 0 keeps all, 4 of 10 keeps 4 and counts 6, 100 keeps all. */
static void test_max_alerts(void **state)
{
    (void)state;
    static const struct {
        const char *max;
        size_t sent, truncated;
    } cases[] = {{"0", 8, 0}, {"3", 3, 5}, {"100", 8, 0}};
    for (size_t k = 0; k < TN_ARRAY_LEN(cases); k++) {
        fx_t f;
        char cfg[512], labels[64];
        snprintf(cfg, sizeof(cfg),
                 HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n"
                      "    max_alerts: %s\n",
                 cases[k].max);
        fx_config(&f, cfg);
        for (int i = 0; i < 8; i++) {
            snprintf(labels, sizeof(labels), "alertname=Disk,instance=i%d", i);
            fx_alert(&f, labels, NULL, i == 0);
        }
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        assert_int_equal(json_array_size(fx_get(&f, "alerts")), cases[k].sent);
        assert_int_equal(json_integer_value(fx_get(&f, "truncatedAlerts")), cases[k].truncated);
        fx_free(&f);
    }
}

static char *repeat_alpha(size_t n)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = 0;
    return s;
}

/* TestIncidentIOPayloadTruncation: a message over 512 KiB keeps its first alert only; the
 * rest of the data (status, common labels, truncatedAlerts) is that of all alerts. */
static void test_payload_size_fallback(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n");
    char *big = repeat_alpha(100 * 1024);
    size_t cap = 2 * strlen(big) + 256;
    char *ann = malloc(cap), labels[128];
    snprintf(ann, cap, "description=%s,runbook=%s,summary=large annotations", big, big);
    for (int i = 0; i < 8; i++) {
        snprintf(labels, sizeof(labels),
                 "alertname=TestAlert%d,severity=critical,job=test-job,instance=test-instance,"
                 "env=production,team=sre",
                 i);
        fx_alert(&f, labels, ann, i == 0);
    }
    fx_notif(&f, "");
    fx_build_ok(&f, 0);
    assert_true(f.req.body.len <= 512 * 1024);
    assert_int_equal(json_array_size(fx_get(&f, "alerts")), 1);
    fx_str(&f, "status", "firing"); /* from the seven firing alerts left out */
    fx_str(&f, "commonLabels.severity", "critical");
    fx_str(&f, "commonAnnotations.summary", "large annotations");
    assert_int_equal(json_integer_value(fx_get(&f, "truncatedAlerts")), 0);
    fx_free(&f);

    /* One alert alone too large: sent all the same, for incident.io to refuse. */
    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n");
    char *huge = repeat_alpha(600 * 1024);
    free(ann);
    ann = malloc(strlen(huge) + 16);
    snprintf(ann, strlen(huge) + 16, "description=%s", huge);
    fx_alert(&f, "alertname=Huge", ann, false);
    fx_alert(&f, "alertname=Huge,instance=2", NULL, false);
    fx_notif(&f, "alertname=Huge");
    fx_build_ok(&f, 0);
    assert_true(f.req.body.len > 512 * 1024);
    assert_int_equal(json_array_size(fx_get(&f, "alerts")), 1);
    fx_free(&f);
    free(big);
    free(huge);
    free(ann);
}

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/tn_iio_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void rewrite(const char *path, const char *content)
{
    FILE *fh = fopen(path, "w");
    assert_non_null(fh);
    fputs(content, fh);
    fclose(fh);
}

/* TestIncidentIOURLFromFile: the file is read for every send, trimmed; the token file once. */
static void test_files(void **state)
{
    (void)state;
    char *url = write_tmp("http://127.0.0.1:9/one\n");
    char *tok = write_tmp("  from-file\n\n");
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             HEAD "  - url_file: %s\n    alert_source_token_file: %s\n    timeout: 2s\n", url, tok);
    fx_t f;
    fx_config(&f, cfg);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/one");
    assert_string_equal(f.req.http->authorization_credentials, "from-file");
    assert_int_equal(f.req.timeout_ms, 2000);
    rewrite(url, "http://127.0.0.1:9/two");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/two");
    unlink(url);
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(err, "No such file"));
    fx_free(&f);
    unlink(tok);
    free(url);
    free(tok);
}

/* The token replaces the authorization of the global http_config; without a token, that one
 * (or none) is used. */
static void test_authorization(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  http_config:\n    authorization:\n      credentials: global\n"
                  "route:\n  receiver: team\nreceivers:\n- name: team\n  incidentio_configs:\n"
                  "  - url: http://127.0.0.1:9/a\n    alert_source_token: mine\n"
                  "  - url: http://127.0.0.1:9/b\n"
                  "  - url: http://127.0.0.1:9/c\n    http_config:\n"
                  "      authorization:\n        type: Token\n        credentials: own\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.http->authorization_type, "Bearer");
    assert_string_equal(f.req.http->authorization_credentials, "mine");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.http->authorization_credentials, "global");
    fx_build_ok(&f, 2);
    assert_string_equal(f.req.http->authorization_type, "Token");
    assert_string_equal(f.req.http->authorization_credentials, "own");
    fx_free(&f);

    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/a\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_null(f.req.http->authorization_credentials);
    fx_free(&f);
}

/* Alertmanager's IncidentioConfig rules, each with its message and position. */
static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - alert_source_token: t\n",
                    "test.yml:6:5: receiver team: incidentio_configs: one of url or url_file "
                    "must be configured");
    fx_config_error(HEAD "  - url: http://a/\n    url_file: /nonexistent/u\n"
                         "    alert_source_token: t\n",
                    "at most one of url & url_file must be configured");
    fx_config_error(HEAD "  - url: http://a/\n    alert_source_token: t\n"
                         "    alert_source_token_file: /nonexistent/t\n",
                    "at most one of alert_source_token & alert_source_token_file must be "
                    "configured");
    fx_config_error(HEAD "  - url: http://a/\n    alert_source_token: t\n    http_config:\n"
                         "      authorization:\n        credentials: x\n",
                    "cannot specify alert_source_token or alert_source_token_file when using "
                    "http_config.authorization");
    /* A bearer_token is an authorization. */
    fx_config_error(HEAD "  - url: http://a/\n    alert_source_token: t\n    http_config:\n"
                         "      bearer_token: x\n",
                    "cannot specify alert_source_token or alert_source_token_file when using "
                    "http_config.authorization");
    fx_config_error(HEAD "  - url: http://a/\n    http_config:\n      follow_redirects: false\n",
                    "at least one of alert_source_token, alert_source_token_file or "
                    "http_config.authorization must be configured");
    fx_config_error(HEAD "  - url: http://a/\n    http_config:\n      basic_auth:\n"
                         "        username: u\n        password: p\n",
                    "at least one of alert_source_token, alert_source_token_file or "
                    "http_config.authorization must be configured");
    fx_config_error(HEAD "  - url: ftp://a/\n    alert_source_token: t\n", "url");
    fx_config_error(HEAD "  - url: http://a/\n    max_alerts: -1\n", "max_alerts");
    fx_config_error(HEAD "  - url: http://a/\n    timeout: soon\n", "timeout");
    fx_config_error(HEAD "  - url: http://a/\n    payload: {}\n",
                    "unknown field \"payload\" in incidentio_configs");
}

static enum tn_send_result classify(fx_t *f, long status, const char *body, const char **reason,
                                    char *err, size_t errlen)
{
    tn_out_response_t resp = {.status = status,
                              .body = body ? body : "",
                              .body_len = body ? strlen(body) : 0,
                              .content_type = "application/json"};
    *reason = NULL;
    return fx_send_classify(fx_ic(f, 0), &resp, reason, err, errlen);
}

/* TestIncidentIORetry and TestIncidentIORetryScenarios: 2xx done, 5xx and 429 retried, other
 * statuses failed; the error carries incident.io's message. */
static void test_classify(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *body;
        enum tn_send_result want;
        const char *reason, *err;
    } cases[] = {
        {200, "{\"status\":\"success\"}", TN_SEND_DONE, NULL, ""},
        {202, NULL, TN_SEND_DONE, NULL, ""},
        {429, "{\"error\":\"rate limit exceeded\",\"message\":\"Too many requests\"}",
         TN_SEND_RETRY, "rateLimited",
         "unexpected status code 429: Too many requests: rate limit "
         "exceeded"},
        {500, "{\"error\":\"internal error\"}", TN_SEND_RETRY, "serverError",
         "unexpected status code 500: internal error"},
        {503, "<html>down</html>", TN_SEND_RETRY, "serverError", "unexpected status code 503"},
        {400, "{\"error\":\"invalid request\",\"message\":\"Invalid payload format\"}",
         TN_SEND_FAIL, "clientError",
         "unexpected status code 400: Invalid payload format: invalid request"},
        {401, "{\"message\":\"bad token\"}", TN_SEND_FAIL, "authError",
         "unexpected status code 401: bad token"},
        {403, NULL, TN_SEND_FAIL, "authError", "unexpected status code 403"},
        {404, NULL, TN_SEND_FAIL, "clientError", "unexpected status code 404"},
        {302, NULL, TN_SEND_FAIL, "other", "unexpected status code 302"},
    };
    fx_t f;
    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n");
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        const char *reason;
        char err[TN_ERRBUF_SIZE];
        enum tn_send_result got =
            classify(&f, cases[i].status, cases[i].body, &reason, err, sizeof(err));
        if (got != cases[i].want)
            fail_msg("status %ld: result %d, want %d", cases[i].status, got, cases[i].want);
        if (cases[i].reason)
            assert_string_equal(reason, cases[i].reason);
        assert_string_equal(err, cases[i].err);
    }
    /* A transfer that never completed (refused, timed out) is retried. */
    tn_out_response_t resp = {.curl_code = 28, .error = "Operation timed out after 2000 ms"};
    const char *reason = NULL;
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &resp, &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_string_equal(err, "Operation timed out after 2000 ms");
    fx_free(&f);
}

/* TestIncidentIOErrDetails. */
static void test_err_details(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {NULL, "unexpected status code 400"},
        {"{\"error\":\"Invalid request\"}", "unexpected status code 400: Invalid request"},
        {"{\"message\":\"Validation failed\",\"errors\":[\"Field is required\",\"Value too "
         "long\"]}",
         "unexpected status code 400: Validation failed: Field is required, Value too long"},
        {"{\"message\":\"Too many requests\",\"error\":\"Rate limit exceeded\"}",
         "unexpected status code 400: Too many requests: Rate limit exceeded"},
        {"{invalid}", "unexpected status code 400"},
        {"{\"errors\":[\"a\",\"b\"]}", "unexpected status code 400: a, b"},
        {"{\"error\":42}", "unexpected status code 400"},
        {"{\"message\":\"m\"} trailing", "unexpected status code 400: m"},
    };
    fx_t f;
    fx_config(&f, HEAD "  - url: http://127.0.0.1:9/iio\n    alert_source_token: t\n");
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        const char *reason;
        char err[TN_ERRBUF_SIZE];
        assert_int_equal(classify(&f, 400, cases[i].body, &reason, err, sizeof(err)), TN_SEND_FAIL);
        assert_string_equal(err, cases[i].want);
    }
    fx_free(&f);
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(tn_receiver_type_find("incidentio"), &tn_receiver_incidentio);
    assert_true(tn_receiver_incidentio.send_resolved_default);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firing_exact),  cmocka_unit_test(test_resolved_and_mixed),
        cmocka_unit_test(test_max_alerts),    cmocka_unit_test(test_payload_size_fallback),
        cmocka_unit_test(test_files),         cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_classify),
        cmocka_unit_test(test_err_details),   cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
