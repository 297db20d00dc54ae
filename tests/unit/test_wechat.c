/* WeChat receiver: both steps of a send (gettoken, then message/send) with their exact
 * requests, the token table across sends (kept two hours, keyed by URL, corp id and secret,
 * capped, dropped on WeChat's token errors), the message for firing, resolved and mixed
 * groups with the default and custom templates, the reply rules and config errors. */
#include "rcv_fixture.h"

#include <unistd.h>

#include "tocsin/clock.h"

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  wechat_configs:\n"

/* ---- a send driven as the core drives it ---- */

typedef struct wx {
    fx_t f;
    tn_send_t s;
} wx_t;

static void wx_start(wx_t *w)
{
    tn_send_t *s = &w->s;
    if (s->carry)
        (s->carry_free ? s->carry_free : free)(s->carry);
    tn_strmap_free(&s->keep);
    memset(s, 0, sizeof(*s));
    s->ic = fx_ic(&w->f, 0);
    s->n = &w->f.notif;
}

/* Builds the current step into w->f.req (and w->f.json for a JSON body). */
static void wx_build(wx_t *w)
{
    char err[TN_ERRBUF_SIZE] = "";
    fx_t *f = &w->f;
    tn_out_request_free(&f->req);
    json_decref(f->json);
    f->json = NULL;
    if (w->s.ic->type->build(&w->s, &f->req, err, sizeof(err)) != TN_OK)
        fail_msg("build step %u: %s", w->s.step, err);
    if (f->req.body.len) {
        json_error_t jerr;
        f->json = json_loadb(f->req.body.data, f->req.body.len, 0, &jerr);
        if (!f->json)
            fail_msg("body is not JSON: %s", jerr.text);
    }
}

/* Answers the current step; moves to the next step on TN_SEND_NEXT. */
static enum tn_send_result wx_answer_full(wx_t *w, int curl_code, long status, const char *body,
                                          const char **reason, char *err, size_t errlen)
{
    tn_out_response_t resp = {.curl_code = curl_code,
                              .status = status,
                              .error = curl_code ? "Timeout was reached" : NULL,
                              .body = body ? body : "",
                              .body_len = body ? strlen(body) : 0,
                              .content_type = "application/json"};
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = "other"};
    w->s.ic->type->classify(&w->s, &resp, &o);
    if (o.result == TN_SEND_NEXT)
        w->s.step++;
    if (reason)
        *reason = o.reason;
    if (err)
        snprintf(err, errlen, "%s", o.err);
    return o.result;
}

static enum tn_send_result wx_answer(wx_t *w, long status, const char *body)
{
    return wx_answer_full(w, 0, status, body, NULL, NULL, 0);
}

static void wx_free(wx_t *w)
{
    if (w->s.carry)
        (w->s.carry_free ? w->s.carry_free : free)(w->s.carry);
    tn_strmap_free(&w->s.keep);
    fx_free(&w->f);
}

/* A configuration with one firing alert; each test names its own credentials so that the
 * token table (module-wide, like the server's) never carries a token between tests. */
static void wx_setup(wx_t *w, const char *yaml)
{
    memset(w, 0, sizeof(*w));
    fx_config(&w->f, yaml);
    fx_alert(&w->f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&w->f, "alertname=Disk");
    wx_start(w);
}

/* fx_notif again, after the alerts changed (the earlier group labels released). */
static void wx_renotif(wx_t *w, const char *group)
{
    for (size_t i = 0; i < w->f.ngroup; i++) {
        tn_intern_unref(w->f.group[i].name);
        tn_intern_unref(w->f.group[i].value);
    }
    fx_notif(&w->f, group);
}

static const char *method(wx_t *w)
{
    return w->f.req.method ? w->f.req.method : "POST";
}

/* ---- tests ---- */

static void test_token_then_send(void **state)
{
    (void)state;
    wx_t w;
    wx_setup(&w, HEAD "  - api_secret: 'sec ret&x'\n    corp_id: corp1\n"
                      "    api_url: http://127.0.0.1:9/cgi-bin\n    to_user: '@all'\n"
                      "    agent_id: '1000002'\n    message: 'M {{ .Status }}'\n");
    /* Step 0: the token, the credentials query-escaped as Go's url.Values writes them. */
    wx_build(&w);
    assert_string_equal(method(&w), "GET");
    assert_string_equal(w.f.req.url,
                        "http://127.0.0.1:9/cgi-bin/gettoken?corpid=corp1&corpsecret=sec+ret%26x");
    assert_int_equal(w.f.req.body.len, 0);
    assert_int_equal(
        wx_answer(&w, 200, "{\"errcode\":0,\"access_token\":\"tok-1\",\"expires_in\":7200}"),
        TN_SEND_NEXT);
    /* Step 1: the message with that token. */
    wx_build(&w);
    assert_string_equal(method(&w), "POST");
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/cgi-bin/message/send?access_token=tok-1");
    assert_string_equal(fx_header(&w.f, "Content-Type"), "application/json");
    assert_string_equal(tn_buf_cstr(&w.f.req.body),
                        "{\"text\":{\"content\":\"M firing\"},\"touser\":\"@all\","
                        "\"agentid\":\"1000002\",\"safe\":\"0\",\"msgtype\":\"text\","
                        "\"markdown\":{\"content\":\"\"}}\n");
    assert_int_equal(wx_answer(&w, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}"), TN_SEND_DONE);
    wx_free(&w);
}

static void test_token_kept_across_sends(void **state)
{
    (void)state;
    wx_t w;
    wx_setup(&w, HEAD "  - api_secret: s2\n    corp_id: corp2\n    api_url: http://127.0.0.1:9/\n"
                      "    message: m\n");
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/gettoken?"));
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-2\"}"), TN_SEND_NEXT);
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"errcode\":0}"), TN_SEND_DONE);

    /* The next send: step 0 is already the message. */
    wx_start(&w);
    wx_build(&w);
    assert_string_equal(method(&w), "POST");
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/message/send?access_token=tok-2");
    /* An error that is not about the token keeps it, and fails without a retry. */
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(wx_answer_full(&w, 0, 200,
                                    "{\"errcode\":81013,\"errmsg\":\"user & party & tag all "
                                    "invalid\"}",
                                    &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(err, "user & party & tag all invalid (errcode 81013)");
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/message/send?access_token=tok-2"));

    /* Expired (42001): the token is dropped and the send retried; the retry fetches anew. */
    assert_int_equal(wx_answer_full(&w, 0, 200,
                                    "{\"errcode\":42001,\"errmsg\":\"access_token expired\"}",
                                    &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_string_equal(err, "access_token expired (errcode 42001)");
    wx_start(&w);
    wx_build(&w);
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/gettoken?corpid=corp2&corpsecret=s2");
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-3\"}"), TN_SEND_NEXT);
    wx_build(&w);
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/message/send?access_token=tok-3");

    /* Invalid (40014) drops it too. */
    assert_int_equal(wx_answer(&w, 200, "{\"errcode\":40014,\"errmsg\":\"invalid access_token\"}"),
                     TN_SEND_RETRY);
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/gettoken?"));
    wx_free(&w);
}

static void test_token_expires_after_two_hours(void **state)
{
    (void)state;
    tn_time_t now = FX_T0;
    tn_clock_set_fake(&now);
    wx_t w;
    wx_setup(&w, HEAD "  - api_secret: s3\n    corp_id: corp3\n    api_url: http://127.0.0.1:9/\n");
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-4\"}"), TN_SEND_NEXT);
    /* Exactly two hours old: still used (Alertmanager refreshes one older than that). */
    now = FX_T0 + 7200 * FX_S;
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/message/send?access_token=tok-4"));
    now += 1;
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/gettoken?"));
    tn_clock_set_fake(NULL);
    wx_free(&w);
}

static void test_token_keyed_by_credentials(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-wechat-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-one\n", 9), 9);
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             HEAD
             "  - api_secret_file: %s\n    corp_id: corp5\n    api_url: http://127.0.0.1:9/\n"
             "  - api_secret: other\n    corp_id: corp5\n    api_url: http://127.0.0.1:9/\n"
             "  - api_secret_file: %s\n    corp_id: corp5b\n    api_url: http://127.0.0.1:9/\n",
             path, path);
    wx_t w;
    wx_setup(&w, yaml);
    /* The file is read for every send, trimmed. */
    wx_build(&w);
    assert_string_equal(w.f.req.url,
                        "http://127.0.0.1:9/gettoken?corpid=corp5&corpsecret=file-one");
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-5\"}"), TN_SEND_NEXT);
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "access_token=tok-5"));
    /* Another secret, or another corp id: another token. */
    wx_start(&w);
    w.s.ic = fx_ic(&w.f, 1);
    wx_build(&w);
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/gettoken?corpid=corp5&corpsecret=other");
    wx_start(&w);
    w.s.ic = fx_ic(&w.f, 2);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "/gettoken?corpid=corp5b"));
    /* A rotated secret file asks for a new token. */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("file-two", fp);
    fclose(fp);
    wx_start(&w);
    wx_build(&w);
    assert_string_equal(w.f.req.url,
                        "http://127.0.0.1:9/gettoken?corpid=corp5&corpsecret=file-two");
    unlink(path);
    wx_free(&w);
}

static void test_token_table_capped(void **state)
{
    (void)state;
    /* Late enough that the tokens earlier tests left are all expired: they go first. */
    tn_time_t now = FX_T0 + INT64_C(100) * 365 * 86400 * FX_S;
    tn_clock_set_fake(&now);
    wx_t w;
    /* The corp id is templated, so the alerts choose the credentials. */
    memset(&w, 0, sizeof(w));
    fx_config(&w.f, HEAD "  - api_secret: s6\n    corp_id: 'c{{ .CommonLabels.n }}'\n"
                         "    api_url: http://127.0.0.1:9/cap/\n");
    fx_alert(&w.f, "alertname=Cap,n=0", NULL, false);
    fx_notif(&w.f, "alertname=Cap");
    char token[32];
    /* 33 corp ids, one more than the table holds: the oldest token makes room. */
    for (int i = 0; i <= 32; i++) {
        char labels[64];
        tn_alert_unref(w.f.alerts[0]);
        w.f.n = 0;
        snprintf(labels, sizeof(labels), "alertname=Cap,n=%d", i);
        fx_alert(&w.f, labels, NULL, false);
        wx_renotif(&w, "alertname=Cap");
        now += FX_S;
        wx_start(&w);
        wx_build(&w);
        assert_non_null(strstr(w.f.req.url, "/gettoken?"));
        snprintf(token, sizeof(token), "{\"access_token\":\"t%d\"}", i);
        assert_int_equal(wx_answer(&w, 200, token), TN_SEND_NEXT);
    }
    const int probe[] = {0, 1, 32};
    const bool kept[] = {false, true, true};
    for (size_t k = 0; k < 3; k++) {
        char labels[64];
        tn_alert_unref(w.f.alerts[0]);
        w.f.n = 0;
        snprintf(labels, sizeof(labels), "alertname=Cap,n=%d", probe[k]);
        fx_alert(&w.f, labels, NULL, false);
        wx_renotif(&w, "alertname=Cap");
        wx_start(&w);
        wx_build(&w);
        assert_int_equal(strstr(w.f.req.url, "/message/send?") != NULL, kept[k]);
    }
    tn_clock_set_fake(NULL);
    wx_free(&w);
}

static void test_markdown(void **state)
{
    (void)state;
    wx_t w;
    wx_setup(&w, HEAD "  - api_secret: s7\n    corp_id: corp7\n    api_url: http://127.0.0.1:9/\n"
                      "    message_type: markdown\n    message: '**{{ .Status }}** <b>&'\n"
                      "    to_party: '2|3'\n    to_tag: '{{ .CommonLabels.instance }}'\n");
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-7\"}"), TN_SEND_NEXT);
    wx_build(&w);
    /* Go's encoder escapes <, > and &. */
    assert_string_equal(tn_buf_cstr(&w.f.req.body),
                        "{\"text\":{\"content\":\"\"},\"toparty\":\"2|3\",\"totag\":\"a\","
                        "\"safe\":\"0\",\"msgtype\":\"markdown\","
                        "\"markdown\":{\"content\":\"**firing** \\u003cb\\u003e\\u0026\"}}\n");
    wx_free(&w);
}

/* The default message: Alertmanager's wechat.default.message for the same data. */
#define LIST_A                                                                                     \
    "Labels:\n - alertname = Disk\n - instance = a\nAnnotations:\n - summary = full\n"             \
    "Source: http://prom/graph\n"
#define LIST_B                                                                                     \
    "Labels:\n - alertname = Disk\n - instance = b\nAnnotations:\n - summary = full\n"             \
    "Source: http://prom/graph\n"
#define AM_URL "AlertmanagerUrl:\nhttp://am.example/#/alerts?receiver=team"

static void test_default_message(void **state)
{
    (void)state;
    wx_t w;
    memset(&w, 0, sizeof(w));
    fx_config(&w.f, "global:\n  wechat_api_url: http://127.0.0.1:9/g/\n  wechat_api_secret: gs\n"
                    "  wechat_api_corp_id: gcorp\n" HEAD "  - {}\n");
    fx_alert(&w.f, "alertname=Disk,instance=a", "summary=full", false);
    fx_notif(&w.f, "alertname=Disk");
    wx_start(&w);
    /* The globals: URL, secret and corp id. */
    wx_build(&w);
    assert_string_equal(w.f.req.url, "http://127.0.0.1:9/g/gettoken?corpid=gcorp&corpsecret=gs");
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-8\"}"), TN_SEND_NEXT);
    wx_build(&w);
    /* Empty recipients and agent id are left out. */
    fx_absent(&w.f, "touser");
    fx_absent(&w.f, "toparty");
    fx_absent(&w.f, "totag");
    fx_absent(&w.f, "agentid");
    fx_str(&w.f, "msgtype", "text");
    fx_str(&w.f, "text.content",
           "[FIRING:1] Disk (a)\nfull\nAlerts Firing:\n" LIST_A "\n\n" AM_URL);

    /* Mixed: firing and resolved lists. */
    fx_alert(&w.f, "alertname=Disk,instance=b", "summary=full", true);
    wx_renotif(&w, "alertname=Disk");
    wx_start(&w);
    wx_build(&w);
    fx_str(&w.f, "text.content",
           "[FIRING:1] Disk \nfull\nAlerts Firing:\n" LIST_A "\nAlerts Resolved:\n" LIST_B
           "\n" AM_URL);

    /* All resolved. */
    w.f.nalerts[0].resolved = true;
    wx_renotif(&w, "alertname=Disk");
    wx_start(&w);
    wx_build(&w);
    fx_str(&w.f, "text.content",
           "[RESOLVED] Disk \nfull\n\nAlerts Resolved:\n" LIST_A LIST_B "\n" AM_URL);
    wx_free(&w);
}

static void test_custom_template(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-wechat-tmpl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = "{{ define \"wechat.default.message\" }}custom {{ .Status }} "
                    "{{ len .Alerts }}{{ end }}\n{{ define \"who\" }}ops{{ end }}\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "templates: ['%s']\n" HEAD "  - api_secret: s9\n    corp_id: corp9\n"
             "    api_url: http://127.0.0.1:9/\n    to_user: '{{ template \"who\" . }}'\n",
             path);
    wx_t w;
    wx_setup(&w, yaml);
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-9\"}"), TN_SEND_NEXT);
    wx_build(&w);
    fx_str(&w.f, "text.content", "custom firing 1");
    fx_str(&w.f, "touser", "ops");
    unlink(path);
    wx_free(&w);
}

static void test_message_not_cut(void **state)
{
    (void)state;
    /* Alertmanager sends the message whole, however long. */
    size_t n = 5000;
    char *msg = malloc(n * 3 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(msg + 3 * i, "\xe2\x82\xac", 3);
    msg[n * 3] = 0;
    size_t cap = strlen(msg) + 512;
    char *yaml = malloc(cap);
    snprintf(yaml, cap,
             HEAD "  - api_secret: s10\n    corp_id: corp10\n    api_url: http://127.0.0.1:9/\n"
                  "    message: '%s'\n",
             msg);
    wx_t w;
    wx_setup(&w, yaml);
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-10\"}"), TN_SEND_NEXT);
    wx_build(&w);
    fx_str(&w.f, "text.content", msg);
    wx_free(&w);
    free(yaml);
    free(msg);
}

static void test_api_url_query(void **state)
{
    (void)state;
    wx_t w;
    wx_setup(&w, HEAD
             "  - api_secret: s11\n    corp_id: corp11\n"
             "    api_url: 'http://127.0.0.1:9/cgi-bin?z=1&access_token=old&a=b+c&z=0&bad=%zz'\n");
    /* gettoken replaces the query; message/send keeps it, token set, keys sorted. */
    wx_build(&w);
    assert_string_equal(w.f.req.url,
                        "http://127.0.0.1:9/cgi-bin/gettoken?corpid=corp11&corpsecret=s11");
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"t/11 x\"}"), TN_SEND_NEXT);
    wx_build(&w);
    assert_string_equal(
        w.f.req.url, "http://127.0.0.1:9/cgi-bin/message/send?a=b+c&access_token=t%2F11+x&z=1&z=0");
    wx_free(&w);
}

static void test_classify_token_step(void **state)
{
    (void)state;
    wx_t w;
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    wx_setup(&w, HEAD "  - api_secret: s12-secret\n    corp_id: corp12\n"
                      "    api_url: http://127.0.0.1:9/\n");
    /* A request that did not complete is retried. */
    wx_build(&w);
    assert_int_equal(wx_answer_full(&w, 28, 0, NULL, &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_string_equal(reason, "other");
    /* The body decides, whatever the status: no token fails without a retry. */
    assert_int_equal(wx_answer_full(&w, 0, 200, "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}",
                                    &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(err,
                        "invalid APISecret for CorpID: corp12 (errcode 40013: invalid corpid)");
    assert_int_equal(wx_answer_full(&w, 0, 500, "{}", &reason, err, sizeof(err)), TN_SEND_FAIL);
    assert_string_equal(err, "invalid APISecret for CorpID: corp12 (status 500)");
    assert_string_equal(reason, "other");
    assert_int_equal(
        wx_answer_full(&w, 0, 502, "<html>bad gateway</html>", &reason, err, sizeof(err)),
        TN_SEND_FAIL);
    assert_non_null(strstr(err, "gettoken: cannot decode the answer (status 502)"));
    assert_int_equal(
        wx_answer_full(&w, 0, 200, "{\"access_token\":\"\"}", &reason, err, sizeof(err)),
        TN_SEND_FAIL);
    assert_null(strstr(err, "s12-secret"));
    assert_int_equal(w.s.step, 0);
    wx_free(&w);
}

static void test_classify_send_step(void **state)
{
    (void)state;
    wx_t w;
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    wx_setup(&w,
             HEAD "  - api_secret: s13\n    corp_id: corp13\n    api_url: http://127.0.0.1:9/\n");
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-13\"}"), TN_SEND_NEXT);
    wx_build(&w);
    /* Every answer but a 200 is retried, 4xx included, as Alertmanager does. */
    static const struct {
        long status;
        const char *reason;
    } retried[] = {{400, "clientError"}, {401, "authError"},   {404, "clientError"},
                   {429, "rateLimited"}, {500, "serverError"}, {503, "serverError"},
                   {204, "other"}};
    for (size_t i = 0; i < TN_ARRAY_LEN(retried); i++) {
        assert_int_equal(wx_answer_full(&w, 0, retried[i].status, "", &reason, err, sizeof(err)),
                         TN_SEND_RETRY);
        assert_string_equal(reason, retried[i].reason);
        char want[64];
        snprintf(want, sizeof(want), "unexpected status code %ld", retried[i].status);
        assert_string_equal(err, want);
    }
    assert_int_equal(wx_answer_full(&w, 28, 0, NULL, &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_int_equal(wx_answer_full(&w, 0, 200, "not json", &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_int_equal(wx_answer_full(&w, 0, 200, "{}", &reason, err, sizeof(err)), TN_SEND_DONE);
    assert_int_equal(
        wx_answer_full(&w, 0, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", &reason, err, sizeof(err)),
        TN_SEND_DONE);
    assert_int_equal(wx_answer_full(&w, 0, 200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}",
                                    &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(reason, "other");
    /* The token is still kept: none of these was about it. */
    wx_start(&w);
    wx_build(&w);
    assert_non_null(strstr(w.f.req.url, "access_token=tok-13"));
    wx_free(&w);
}

static void test_fallback_on_template_error(void **state)
{
    (void)state;
    wx_t w;
    wx_setup(&w, HEAD "  - api_secret: s14\n    corp_id: corp14\n    api_url: http://127.0.0.1:9/\n"
                      "    message: '{{ template \"tn.no.such\" . }}'\n");
    if (!fx_engine_fails_missing(&w.f)) {
        wx_free(&w);
        skip();
    }
    wx_build(&w);
    assert_int_equal(wx_answer(&w, 200, "{\"access_token\":\"tok-14\"}"), TN_SEND_NEXT);
    wx_build(&w);
    fx_str(&w.f, "text.content", "[FIRING:1] Disk");
    wx_free(&w);
}

static void test_secret_template_error_not_shown(void **state)
{
    (void)state;
    wx_t w;
    char err[TN_ERRBUF_SIZE] = "";
    wx_setup(&w, HEAD "  - api_secret: 'p4ss{{ template \"tn.no.such\" . }}'\n"
                      "    corp_id: corp15\n    api_url: http://127.0.0.1:9/\n");
    if (!fx_engine_fails_missing(&w.f)) {
        wx_free(&w);
        skip();
    }
    assert_true(w.s.ic->type->build(&w.s, &w.f.req, err, sizeof(err)) != TN_OK);
    assert_string_equal(err, "templating error in api_secret");
    wx_free(&w);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - api_secret: s\n    corp_id: c\n    message_type: html\n",
                    "weChat message type \"html\" does not match valid options "
                    "^(text|markdown)$");
    fx_config_error(HEAD "  - api_secret: s\n    api_secret_file: /etc/hostname\n    corp_id: c\n",
                    "at most one of api_secret & api_secret_file must be configured");
    fx_config_error(HEAD "  - corp_id: c\n",
                    "no global Wechat Api Secret set either inline or in a file");
    fx_config_error(HEAD "  - api_secret: s\n", "no global Wechat CorpID set");
    fx_config_error(
        "global:\n  wechat_api_secret: s\n  wechat_api_secret_file: /etc/hostname\n" HEAD
        "  - corp_id: c\n",
        "at most one of wechat_api_secret & wechat_api_secret_file must be configured");
    fx_config_error(HEAD "  - api_secret: s\n    corp_id: c\n    api_url: 'not a url'\n",
                    "api_url");
    /* Errors name where. */
    fx_config_error(HEAD "  - api_secret: s\n", "test.yml:6:");
}

static void test_config_defaults(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_secret: s\n    corp_id: c\n");
    const tn_integration_cfg_t *ic = fx_ic(&f, 0);
    assert_false(ic->send_resolved);
    fx_free(&f);
}

static int restore_clock(void **state)
{
    (void)state;
    tn_clock_set_fake(NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_then_send),
        cmocka_unit_test(test_token_kept_across_sends),
        cmocka_unit_test_teardown(test_token_expires_after_two_hours, restore_clock),
        cmocka_unit_test(test_token_keyed_by_credentials),
        cmocka_unit_test_teardown(test_token_table_capped, restore_clock),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_default_message),
        cmocka_unit_test(test_custom_template),
        cmocka_unit_test(test_message_not_cut),
        cmocka_unit_test(test_api_url_query),
        cmocka_unit_test(test_classify_token_step),
        cmocka_unit_test(test_classify_send_step),
        cmocka_unit_test(test_fallback_on_template_error),
        cmocka_unit_test(test_secret_template_error_not_shown),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
