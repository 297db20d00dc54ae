/* Pushover receiver: the request byte for byte (every parameter in the sorted, form-encoded
 * query string, an empty text/plain body), the default title, message and URL, priorities by
 * status, Go durations, the limits in runes, html and monospace, key files read per send,
 * every config error, and the retry rule (5xx only). Upstream's notify/pushover tests are
 * ported: monospace, keys from files, no secret in errors, retry codes, config errors. */
#include <stdio.h>
#include <unistd.h>

#include "rcv_fixture.h"

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  pushover_configs:\n"
#define KEYS "  - token: tok\n    user_key: usr\n"
#define API  "https://api.pushover.net/1/messages.json?"

/* The query's parameters, decoded, in order. */
typedef struct params {
    char *k[32], *v[32];
    size_t n;
} params_t;

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - 'a' + 10;
}

static char *unescape(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+')
            out[o++] = ' ';
        else if (s[i] == '%' && i + 2 < len + 1) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            out[o++] = s[i];
    }
    out[o] = 0;
    return out;
}

static void parse(fx_t *f, params_t *p)
{
    memset(p, 0, sizeof(*p));
    assert_non_null(f->req.url);
    assert_memory_equal(f->req.url, API, strlen(API));
    const char *q = f->req.url + strlen(API);
    while (*q && p->n < 32) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        assert_non_null(eq);
        p->k[p->n] = strndup(q, (size_t)(eq - q));
        p->v[p->n] = unescape(eq + 1, (size_t)(end - eq - 1));
        p->n++;
        q = amp ? amp + 1 : end;
    }
}

static void params_free(params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->k[i]);
        free(p->v[i]);
    }
}

static const char *param(params_t *p, const char *k)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->k[i], k) == 0)
            return p->v[i];
    return NULL;
}

static void keys_are(params_t *p, const char *want)
{
    char got[512] = "";
    for (size_t i = 0; i < p->n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, p->k[i]);
    }
    assert_string_equal(got, want);
}

#define DEFAULT_KEYS "device,expire,message,priority,retry,sound,title,token,url,url_title,user"

static void test_exact_request(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD KEYS "    title: 'T {{ .Status }}'\n    message: 'a b&c=d/é'\n"
                            "    url: http://x/?q=1\n    url_title: Go\n    device: phone\n"
                            "    sound: siren\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, API "device=phone&expire=3600&message=a+b%26c%3Dd%2F%C3%A9"
                                       "&priority=2&retry=60&sound=siren&title=T+firing&token=tok"
                                       "&url=http%3A%2F%2Fx%2F%3Fq%3D1&url_title=Go&user=usr");
    assert_string_equal(f.req.method ? f.req.method : "POST", "POST");
    assert_int_equal(f.req.body.len, 0);
    assert_string_equal(fx_header(&f, "Content-Type"), "text/plain");
    fx_free(&f);
}

static void test_defaults_firing_resolved_mixed(void **state)
{
    (void)state;
    fx_t f;
    params_t p;
    fx_config(&f, HEAD KEYS);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b", "summary=full", true);
    fx_notif(&f, "alertname=Disk");

    fx_build_ok(&f, 0);
    parse(&f, &p);
    keys_are(&p, DEFAULT_KEYS);
    assert_string_equal(param(&p, "title"), "[FIRING:1] Disk ");
    assert_string_equal(param(&p, "message"),
                        "full\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n"
                        "Annotations:\n - summary = full\nSource: http://prom/graph\n\n\n\n"
                        "Alerts Resolved:\nLabels:\n - alertname = Disk\n - instance = b\n"
                        "Annotations:\n - summary = full\nSource: http://prom/graph");
    assert_string_equal(param(&p, "url"), "http://am.example/#/alerts?receiver=team");
    assert_string_equal(param(&p, "priority"), "2");
    assert_string_equal(param(&p, "retry"), "60");
    assert_string_equal(param(&p, "expire"), "3600");
    assert_string_equal(param(&p, "device"), "");
    assert_string_equal(param(&p, "sound"), "");
    assert_string_equal(param(&p, "url_title"), "");
    assert_string_equal(param(&p, "token"), "tok");
    assert_string_equal(param(&p, "user"), "usr");
    params_free(&p);

    /* firing only: the common labels beyond the group's go in brackets */
    f.n = 1;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "title"), "[FIRING:1] Disk (a)");
    assert_string_equal(param(&p, "message"),
                        "full\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n"
                        "Annotations:\n - summary = full\nSource: http://prom/graph");
    params_free(&p);

    /* resolved: normal priority */
    f.nalerts[0].resolved = true;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "title"), "[RESOLVED] Disk (a)");
    assert_string_equal(param(&p, "priority"), "0");
    assert_string_equal(param(&p, "message"),
                        "full\n\n\nAlerts Resolved:\nLabels:\n - alertname = Disk\n - instance = "
                        "a\nAnnotations:\n - summary = full\nSource: http://prom/graph");
    params_free(&p);
    f.n = 2;
    fx_free(&f);
}

static void test_options(void **state)
{
    (void)state;
    fx_t f;
    params_t p;
    fx_config(&f, HEAD "  - token: '{{ \"tok\" }}'\n    user_key: usr\n    priority: '1'\n"
                       "    retry: 1.5m\n    expire: 2h30m\n    ttl: 1h\n    monospace: true\n"
                       "    message: '  spaced\xe3\x80\x80\n'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    keys_are(&p, "device,expire,message,monospace,priority,retry,sound,title,token,ttl,url,url_"
                 "title,user");
    assert_string_equal(param(&p, "monospace"), "1"); /* TestPushoverMonospaceParameter */
    assert_string_equal(param(&p, "retry"), "90");
    assert_string_equal(param(&p, "expire"), "9000");
    assert_string_equal(param(&p, "ttl"), "3600");
    assert_string_equal(param(&p, "priority"), "1");
    assert_string_equal(param(&p, "token"), "tok");      /* keys are templates too */
    assert_string_equal(param(&p, "message"), "spaced"); /* Unicode space trimmed */
    params_free(&p);
    fx_free(&f);

    /* html: the message rendered with HTML escaping; a ttl under a second is not sent */
    fx_config(&f, HEAD KEYS "    html: true\n    ttl: 500ms\n"
                            "    message: '<b>{{ .CommonLabels.team }}</b>'\n");
    fx_alert(&f, "alertname=Disk,team=a&b", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    keys_are(&p, "device,expire,html,message,priority,retry,sound,title,token,url,url_title,user");
    assert_string_equal(param(&p, "html"), "1");
    assert_string_equal(param(&p, "message"), "<b>a&amp;b</b>");
    params_free(&p);
    fx_free(&f);

    /* nothing left after trimming: Pushover refuses an empty message */
    fx_config(&f, HEAD KEYS "    message: '{{ \" \" }}'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "message"), "(no details)");
    params_free(&p);
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
    char *title = repeat("t", 300), *msg = repeat("\xe2\x82\xac", 1100), *url = repeat("u", 600);
    char *yaml = malloc(8192);
    snprintf(yaml, 8192, HEAD KEYS "    title: %s\n    message: %s\n    url: %s\n", title, msg,
             url);
    fx_t f;
    params_t p;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    const char *t = param(&p, "title"), *m = param(&p, "message"), *u = param(&p, "url");
    assert_int_equal(strlen(t), 249 + 3);
    assert_memory_equal(t + 249, "\xe2\x80\xa6", 3);
    assert_int_equal(strlen(m), 1023 * 3 + 3); /* runes, not bytes */
    assert_memory_equal(m, msg, 1023 * 3);
    assert_int_equal(strlen(u), 511 + 3);
    params_free(&p);
    fx_free(&f);
    /* At the limits exactly: nothing cut. */
    title[250] = 0;
    url[512] = 0;
    snprintf(yaml, 8192, HEAD KEYS "    title: %s\n    url: %s\n", title, url);
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "title"), title);
    assert_string_equal(param(&p, "url"), url);
    params_free(&p);
    fx_free(&f);
    free(yaml);
    free(title);
    free(msg);
    free(url);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_files_read_per_send(void **state)
{
    (void)state;
    char dir[] = "/tmp/tn-pushover-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tok[64], usr[64], yaml[512];
    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(usr, sizeof(usr), "%s/user", dir);
    write_file(tok, "token\n");
    write_file(usr, "user key");
    snprintf(yaml, sizeof(yaml), HEAD "  - token_file: %s\n    user_key_file: %s\n", tok, usr);
    fx_t f;
    params_t p;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "token"), "token");
    assert_string_equal(param(&p, "user"), "user key");
    params_free(&p);
    write_file(usr, "new key\n");
    fx_build_ok(&f, 0);
    parse(&f, &p);
    assert_string_equal(param(&p, "user"), "new key");
    params_free(&p);

    char err[TN_ERRBUF_SIZE], want[256];
    unlink(usr);
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    snprintf(want, sizeof(want), "read user_key_file: open %s: ", usr);
    assert_non_null(strstr(err, want));
    unlink(tok);
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    snprintf(want, sizeof(want), "read token_file: open %s: ", tok);
    assert_non_null(strstr(err, want));
    /* TestPushoverRedactedURL & co.: errors never carry the keys. */
    assert_null(strstr(err, "user key"));
    fx_free(&f);
    rmdir(dir);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - user_key: ''\n",
                    "one of user_key or user_key_file must be configured");
    fx_config_error(HEAD "  - user_key: 'user key'\n    user_key_file: /pushover/user_key\n",
                    "at most one of user_key & user_key_file must be configured");
    fx_config_error(HEAD "  - user_key: '<user_key>'\n    token: ''\n",
                    "one of token or token_file must be configured");
    fx_config_error(HEAD "  - token: 'pushover token'\n    token_file: /pushover/token\n"
                         "    user_key: 'user key'\n",
                    "at most one of token & token_file must be configured");
    fx_config_error(HEAD "  - token: 'pushover token'\n    user_key: 'user key'\n"
                         "    html: true\n    monospace: true\n",
                    "at most one of monospace & html must be configured");
    /* Go durations, not Prometheus ones. */
    fx_config_error(HEAD KEYS "    retry: 1d\n",
                    "retry: time: unknown unit \"d\" in duration \"1d\"");
    fx_config_error(HEAD KEYS "    expire: 30\n", "expire: time: missing unit in duration \"30\"");
    fx_config_error(HEAD KEYS "    ttl: x\n", "ttl: time: invalid duration \"x\"");
    fx_config_error(HEAD KEYS "    ttl: 99999999999h\n", "ttl: time: invalid duration");
    fx_config_error(HEAD KEYS "    html: maybe\n", "html");
    fx_config_error(HEAD KEYS "    priorty: 1\n", "unknown field \"priorty\"");
    /* The message names where. */
    fx_config_error(HEAD "  - token: t\n", "test.yml:6:5: receiver team: pushover_configs: one of "
                                           "user_key or user_key_file must be configured");
}

static void test_durations(void **state)
{
    (void)state;
    const struct {
        const char *in;
        const char *retry;
    } cases[] = {
        {"0", "0"},           {"90s", "90"},      {"1h1m", "3660"},      {"1m1h", "3660"},
        {"+2m", "120"},       {"-1m", "-60"},     {".5m", "30"},         {"1.999s", "1"},
        {"1500ms", "1"},      {"2000000us", "2"}, {"3000000000ns", "3"}, {"1\xc2\xb5s", "0"},
        {"1m30s500ms", "90"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), HEAD KEYS "    retry: '%s'\n", cases[i].in);
        fx_t f;
        params_t p;
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        parse(&f, &p);
        if (strcmp(param(&p, "retry"), cases[i].retry) != 0)
            fail_msg("retry %s: got %s, want %s", cases[i].in, param(&p, "retry"), cases[i].retry);
        params_free(&p);
        fx_free(&f);
    }
}

/* TestPushoverRetry: 5xx retried, every other failure final. */
static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD KEYS);
    assert_int_equal(fx_classify(&f, 0, 200, "{\"status\":1,\"request\":\"r\"}", NULL, &reason),
                     TN_SEND_DONE);
    for (long st = 500; st <= 599; st += 33)
        assert_int_equal(fx_classify(&f, 0, st, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 401, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_int_equal(fx_classify(&f, 0, 302, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "other");

    /* Pushover's error reply is kept in the error as it came. */
    const char *body = "{\"user\":\"invalid\",\"errors\":[\"user identifier is invalid\"],"
                       "\"status\":0,\"request\":\"r\"}";
    tn_out_response_t resp = {.status = 400, .body = body, .body_len = strlen(body)};
    char err[TN_ERRBUF_SIZE];
    reason = NULL;
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &resp, &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    char want[512];
    snprintf(want, sizeof(want), "unexpected status code 400: %s", body);
    assert_string_equal(err, want);

    tn_out_response_t timeout = {.curl_code = 28, .error = "Operation timed out"};
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &timeout, &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_request),
        cmocka_unit_test(test_defaults_firing_resolved_mixed),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_files_read_per_send),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
