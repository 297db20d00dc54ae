/* Opsgenie receiver: the requests of each step (create, the update_alerts message and
 * description, close) byte for byte, the alias, details, responders, truncation, the key and
 * its file, retry rules and every config error. Ports notify/opsgenie/opsgenie_test.go and
 * config_test.go's scenarios. */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  opsgenie_configs:\n"
/* SHA-256 of "1", the group key of upstream's tests. */
#define ALIAS1 "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
/* SHA-256 of the fixture's group key {}:{alertname="Disk"}. */
#define ALIAS "849f8175e1fa447711c42b6e6cfb199b37d2ba91e3e51a900048a82f9cf0abaa"

/* ---- driving the steps of one attempt as the core does ---- */

typedef struct steps {
    tn_send_t s;
    tn_out_request_t req;
} steps_t;

static void steps_init(steps_t *st, fx_t *f, size_t i)
{
    memset(st, 0, sizeof(*st));
    st->s.ic = fx_ic(f, i);
    st->s.n = &f->notif;
    tn_out_request_init(&st->req);
}

/* Builds step s.step; returns the build's result, err filled on failure. */
static int steps_build(steps_t *st, char *err, size_t errlen)
{
    tn_out_request_free(&st->req);
    tn_out_request_init(&st->req);
    return st->s.ic->type->build(&st->s, &st->req, err, errlen);
}

static void steps_build_ok(steps_t *st)
{
    char err[TN_ERRBUF_SIZE] = "";
    if (steps_build(st, err, sizeof(err)) != TN_OK)
        fail_msg("build of step %u: %s", st->s.step, err);
}

static enum tn_send_result steps_answer(steps_t *st, long status, const char **reason)
{
    tn_out_response_t resp = {.status = status, .body = "", .body_len = 0};
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = "other"};
    st->s.ic->type->classify(&st->s, &resp, &o);
    *reason = o.reason;
    if (o.result == TN_SEND_NEXT)
        st->s.step++;
    return o.result;
}

/* Ends the attempt: what the core does before a retry or after the last step. */
static void steps_reset(steps_t *st)
{
    if (st->s.carry)
        (st->s.carry_free ? st->s.carry_free : free)(st->s.carry);
    st->s.carry = NULL;
    st->s.carry_free = NULL;
    tn_strmap_free(&st->s.keep);
    st->s.step = 0;
}

static void steps_free(steps_t *st)
{
    steps_reset(st);
    tn_out_request_free(&st->req);
}

static const char *req_header(const tn_out_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void assert_request(steps_t *st, const char *method, const char *url, const char *body)
{
    assert_string_equal(st->req.method ? st->req.method : "POST", method);
    assert_string_equal(st->req.url, url);
    assert_string_equal(tn_buf_cstr(&st->req.body), body);
    assert_string_equal(req_header(&st->req, "Content-Type"), "application/json");
}

/* ---- upstream's TestOpsGenie ---- */

/* Its responders' labels, on one alert. */
#define FULL_LABELS                                                                                \
    "Message=message,Description=description,Source=http://prometheus,ResponderName1=TeamA,"       \
    "ResponderType1=team,ResponderName2=EscalationA,ResponderType2=escalation,"                    \
    "ResponderName3=TeamA;TeamB,ResponderType3=teams,Tags=tag1;tag2,Note=this is a note,"          \
    "Priority=P1,Entity=test-domain,Actions=doThis;doThat"

/* fx_pairs splits at ',': the values' commas are written ';' above and put back here. */
static void full_alert(fx_t *f)
{
    tn_label_t l[16];
    size_t n = fx_pairs(FULL_LABELS, l, 16);
    for (size_t i = 0; i < n; i++) {
        if (!strchr(l[i].value, ';'))
            continue;
        char *v = strdup(l[i].value);
        for (char *p = v; *p; p++)
            if (*p == ';')
                *p = ',';
        tn_intern_unref(l[i].value);
        l[i].value = tn_intern_cstr(v);
        free(v);
    }
    tn_alert_t *a = tn_alert_new(l, n, NULL, 0, tn_intern_cstr("http://prom/graph"));
    a->starts_at = FX_T0;
    a->fp = tn_labels_fingerprint(tn_alert_labels(a));
    f->alerts[f->n] = a;
    f->nalerts[f->n].alert = a;
    f->nalerts[f->n].resolved = false;
    f->n++;
}

#define COMMON_CONF                                                                                \
    "    message: '{{ .CommonLabels.Message }}'\n"                                                 \
    "    description: '{{ .CommonLabels.Description }}'\n"                                         \
    "    source: '{{ .CommonLabels.Source }}'\n"                                                   \
    "    tags: '{{ .CommonLabels.Tags }}'\n"                                                       \
    "    note: '{{ .CommonLabels.Note }}'\n"                                                       \
    "    priority: '{{ .CommonLabels.Priority }}'\n"                                               \
    "    api_key: '{{ .ExternalURL }}'\n"                                                          \
    "    api_url: https://opsgenie/api\n"

#define TWO_RESPONDERS                                                                             \
    "    responders:\n"                                                                            \
    "    - name: '{{ .CommonLabels.ResponderName1 }}'\n"                                           \
    "      type: '{{ .CommonLabels.ResponderType1 }}'\n"                                           \
    "    - name: '{{ .CommonLabels.ResponderName2 }}'\n"                                           \
    "      type: '{{ .CommonLabels.ResponderType2 }}'\n"

#define FULL_DETAILS                                                                               \
    "\"details\":{\"Actions\":\"doThis,doThat\",\"Description\":\"%s\",\"Entity\":\"test-"         \
    "domain\","                                                                                    \
    "\"Message\":\"message\",\"Note\":\"this is a note\",\"Priority\":\"P1\",\"ResponderName1\":"  \
    "\"TeamA\",\"ResponderName2\":\"EscalationA\",\"ResponderName3\":\"TeamA,TeamB\","             \
    "\"ResponderType1\":\"team\",\"ResponderType2\":\"escalation\",\"ResponderType3\":\"teams\","  \
    "\"Source\":\"http://prometheus\",\"Tags\":\"tag1,tag2\"}"

typedef struct upstream_case {
    const char *title;
    const char *conf;
    const char *empty_body;
    const char *body;
} upstream_case_t;

static const upstream_case_t upstream_cases[] = {
    {"config without details",
     COMMON_CONF TWO_RESPONDERS "    entity: '{{ .CommonLabels.Entity }}'\n"
                                "    actions: '{{ .CommonLabels.Actions }}'\n",
     "{\"alias\":\"" ALIAS1 "\",\"message\":\"\",\"details\":{},\"source\":\"\"}\n",
     "{\"alias\":\"" ALIAS1
     "\",\"message\":\"message\",\"description\":\"description\"," FULL_DETAILS
     ",\"source\":\"http://prometheus\",\"responders\":[{\"name\":\"TeamA\",\"type\":\"team\"},"
     "{\"name\":\"EscalationA\",\"type\":\"escalation\"}],\"tags\":[\"tag1\",\"tag2\"],\"note\":"
     "\"this is a note\",\"priority\":\"P1\",\"entity\":\"test-domain\",\"actions\":[\"doThis\","
     "\"doThat\"]}\n"},
    {"config with details",
     COMMON_CONF TWO_RESPONDERS "    entity: '{{ .CommonLabels.Entity }}'\n"
                                "    actions: '{{ .CommonLabels.Actions }}'\n"
                                "    details:\n"
                                "      Description: 'adjusted {{ .CommonLabels.Description }}'\n",
     "{\"alias\":\"" ALIAS1 "\",\"message\":\"\",\"details\":{\"Description\":\"adjusted \"},"
     "\"source\":\"\"}\n",
     "{\"alias\":\"" ALIAS1
     "\",\"message\":\"message\",\"description\":\"description\"," FULL_DETAILS
     ",\"source\":\"http://prometheus\",\"responders\":[{\"name\":\"TeamA\",\"type\":\"team\"},"
     "{\"name\":\"EscalationA\",\"type\":\"escalation\"}],\"tags\":[\"tag1\",\"tag2\"],\"note\":"
     "\"this is a note\",\"priority\":\"P1\",\"entity\":\"test-domain\",\"actions\":[\"doThis\","
     "\"doThat\"]}\n"},
    {"config with multiple teams",
     COMMON_CONF "    responders:\n"
                 "    - name: '{{ .CommonLabels.ResponderName3 }}'\n"
                 "      type: '{{ .CommonLabels.ResponderType3 }}'\n"
                 "    details:\n"
                 "      Description: 'adjusted {{ .CommonLabels.Description }}'\n",
     "{\"alias\":\"" ALIAS1 "\",\"message\":\"\",\"details\":{\"Description\":\"adjusted \"},"
     "\"source\":\"\"}\n",
     "{\"alias\":\"" ALIAS1
     "\",\"message\":\"message\",\"description\":\"description\"," FULL_DETAILS
     ",\"source\":\"http://prometheus\",\"responders\":[{\"name\":\"TeamA\",\"type\":\"team\"},"
     "{\"name\":\"TeamB\",\"type\":\"team\"}],\"tags\":[\"tag1\",\"tag2\"],\"note\":\"this is a "
     "note\",\"priority\":\"P1\"}\n"},
};

static void upstream_notif(fx_t *f)
{
    fx_notif(f, NULL);
    f->notif.group_key = "1";
    f->notif.external_url = "http://am";
}

static void test_upstream_requests(void **state)
{
    (void)state;
    for (size_t c = 0; c < TN_ARRAY_LEN(upstream_cases); c++) {
        const upstream_case_t *uc = &upstream_cases[c];
        print_message("%s\n", uc->title);
        char yaml[4096], body[4096];
        snprintf(yaml, sizeof(yaml), HEAD "  - send_resolved: true\n%s", uc->conf);
        fx_t f;
        fx_config(&f, yaml);
        /* An alert without labels. */
        fx_alert(&f, "", NULL, false);
        upstream_notif(&f);
        steps_t st;
        steps_init(&st, &f, 0);
        steps_build_ok(&st);
        /* Upstream's test skips config loading, which ends api_url's path with '/'. */
        assert_request(&st, "POST", "https://opsgenie/api/v2/alerts", uc->empty_body);
        assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey http://am");
        const char *reason;
        assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_DONE);
        steps_reset(&st);

        /* A fully defined alert. */
        tn_alert_unref(f.alerts[0]);
        f.n = 0;
        full_alert(&f);
        upstream_notif(&f);
        steps_build_ok(&st);
        snprintf(body, sizeof(body), uc->body, c == 0 ? "description" : "adjusted description");
        assert_request(&st, "POST", "https://opsgenie/api/v2/alerts", body);
        steps_free(&st);
        fx_free(&f);
    }
}

/* A key template that fails, or a key no header can carry, fails the send (without a retry):
 * nothing could be delivered. */
static void test_broken_key_template(void **state)
{
    (void)state;
    /* upstream's "{{ kaput " (Go names the function first; tocsin's parser the open action),
     * then a whole action, worded as Go words it. */
    static const char *const keys[][2] = {
        {"'{{ kaput '", "templating error: template: :1: unclosed action"},
        {"'{{ kaput }}'", "templating error: template: :1: function \"kaput\" not defined"},
        /* A line break in the key would end the header. */
        {"\"k\\r\\nX-Injected: 1\"", "invalid header field value for \"Authorization\""},
        {"\"k\\n\"", "invalid header field value for \"Authorization\""},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(keys); i++) {
        char yaml[512], err[TN_ERRBUF_SIZE] = "";
        snprintf(yaml, sizeof(yaml), HEAD "  - api_key: %s\n", keys[i][0]);
        fx_t f;
        fx_config(&f, yaml);
        full_alert(&f);
        upstream_notif(&f);
        steps_t st;
        steps_init(&st, &f, 0);
        assert_int_equal(steps_build(&st, err, sizeof(err)), TN_ERR_INVAL);
        assert_string_equal(err, keys[i][1]);
        steps_free(&st);
        fx_free(&f);
    }
}

/* upstream's TestOpsGenieWithUpdate, with every step answered. */
static void test_update_alerts(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - message: '{{ .CommonLabels.Message }}'\n"
                       "    description: '{{ .CommonLabels.Description }}'\n"
                       "    update_alerts: true\n"
                       "    api_key: test-api-key\n"
                       "    api_url: https://test-opsgenie-url\n");
    fx_alert(&f, "Message=new message,Description=new description", NULL, false);
    upstream_notif(&f);
    steps_t st;
    const char *reason;
    steps_init(&st, &f, 0);
    steps_build_ok(&st);
    assert_string_equal(st.req.url, "https://test-opsgenie-url/v2/alerts");
    assert_string_equal(st.req.method ? st.req.method : "POST", "POST");
    assert_non_null(strstr(tn_buf_cstr(&st.req.body), "{\"alias\":\"" ALIAS1 "\",\"message\":"
                                                      "\"new message\",\"description\":"
                                                      "\"new description\",\"details\":"));
    assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_NEXT);
    steps_build_ok(&st);
    assert_request(&st, "PUT",
                   "https://test-opsgenie-url/v2/alerts/" ALIAS1 "/message?identifierType=alias",
                   "{\"message\":\"new message\"}\n");
    assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey test-api-key");
    assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_NEXT);
    steps_build_ok(&st);
    assert_request(&st, "PUT",
                   "https://test-opsgenie-url/v2/alerts/" ALIAS1
                   "/description?identifierType=alias",
                   "{\"description\":\"new description\"}\n");
    assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey test-api-key");
    assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_DONE);
    steps_reset(&st);

    /* The update of the message fails: the retry starts with the create again. */
    steps_build_ok(&st);
    assert_int_equal(steps_answer(&st, 200, &reason), TN_SEND_NEXT);
    steps_build_ok(&st);
    assert_int_equal(steps_answer(&st, 503, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    steps_reset(&st);
    steps_build_ok(&st);
    assert_string_equal(st.req.url, "https://test-opsgenie-url/v2/alerts");
    /* A 4xx on the description fails the send without a retry. */
    assert_int_equal(steps_answer(&st, 200, &reason), TN_SEND_NEXT);
    steps_build_ok(&st);
    assert_int_equal(steps_answer(&st, 200, &reason), TN_SEND_NEXT);
    steps_build_ok(&st);
    assert_int_equal(steps_answer(&st, 422, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    steps_reset(&st);

    /* Empty texts: the update bodies leave them out. */
    tn_alert_unref(f.alerts[0]);
    f.n = 0;
    fx_alert(&f, "alertname=Disk", NULL, false);
    upstream_notif(&f);
    steps_build_ok(&st);
    steps_answer(&st, 200, &reason);
    steps_build_ok(&st);
    assert_string_equal(tn_buf_cstr(&st.req.body), "{}\n");
    steps_answer(&st, 200, &reason);
    steps_build_ok(&st);
    assert_string_equal(tn_buf_cstr(&st.req.body), "{}\n");

    /* Resolved: one close, no updates. */
    steps_reset(&st);
    f.nalerts[0].resolved = true;
    steps_build_ok(&st);
    assert_string_equal(st.req.url, "https://test-opsgenie-url/v2/alerts/" ALIAS1
                                    "/close?identifierType=alias");
    assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_DONE);
    steps_free(&st);
    fx_free(&f);
}

/* upstream's TestOpsGenieApiKeyFile (a send without alerts closes) and
 * TestGettingOpsGegineApikeyFromFile; the file is read again for every send. */
static void test_api_key_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-og-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "my_secret_api_key\n", 18), 18);
    close(fd);
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             HEAD "  - api_key_file: %s\n    api_url: https://test-opsgenie-url\n", path);
    fx_t f;
    fx_config(&f, yaml);
    upstream_notif(&f);
    steps_t st;
    steps_init(&st, &f, 0);
    steps_build_ok(&st);
    assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey my_secret_api_key");
    assert_string_equal(st.req.url, "https://test-opsgenie-url/v2/alerts/" ALIAS1
                                    "/close?identifierType=alias");
    steps_reset(&st);
    FILE *fp = fopen(path, "w");
    fputs("  rotated-key  ", fp);
    fclose(fp);
    steps_build_ok(&st);
    assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey rotated-key");
    steps_reset(&st);
    unlink(path);
    char err[TN_ERRBUF_SIZE] = "";
    assert_int_not_equal(steps_build(&st, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(err, "read key_file error: open "));
    steps_free(&st);
    fx_free(&f);
}

/* ---- the fixture's group: defaults, resolved, mixed ---- */

static void test_defaults_firing(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  opsgenie_api_key: gk\n" HEAD "  - {}\n");
    fx_alert(&f, "alertname=Disk,instance=a,team=ops", "summary=full", false);
    fx_alert(&f, "alertname=Disk,instance=b,team=ops", "summary=full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.opsgenie.com/v2/alerts");
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey gk");
    assert_non_null(fx_header(&f, "User-Agent"));
    fx_str(&f, "alias", ALIAS);
    fx_str(&f, "message", "[FIRING:2] Disk (ops)");
    fx_str(&f, "source", "http://am.example/#/alerts?receiver=team");
    const char *d = json_string_value(fx_get(&f, "description"));
    assert_non_null(d);
    assert_true(strncmp(d, "full\nAlerts Firing:\nLabels:\n - alertname = Disk\n", 46) == 0);
    assert_non_null(strstr(d, " - instance = b\n"));
    assert_null(strstr(d, "Alerts Resolved"));
    /* The common labels are the details. */
    assert_non_null(strstr(tn_buf_cstr(&f.req.body),
                           ",\"details\":{\"alertname\":\"Disk\",\"team\":\"ops\"},\"source\":"));
    fx_absent(&f, "responders");
    fx_absent(&f, "tags");
    fx_absent(&f, "note");
    fx_absent(&f, "priority");
    fx_absent(&f, "entity");
    fx_absent(&f, "actions");
    fx_free(&f);
}

static void test_resolved(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_key: k\n    api_url: http://127.0.0.1:9/og\n"
                       "    source: 'src <{{ .Status }}>'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    steps_t st;
    const char *reason;
    steps_init(&st, &f, 0);
    steps_build_ok(&st);
    /* Go's encoder escapes < and >. */
    assert_request(&st, "POST",
                   "http://127.0.0.1:9/og/v2/alerts/" ALIAS "/close?identifierType=alias",
                   "{\"source\":\"src \\u003cresolved\\u003e\"}\n");
    assert_string_equal(req_header(&st.req, "Authorization"), "GenieKey k");
    assert_int_equal(steps_answer(&st, 202, &reason), TN_SEND_DONE);
    steps_free(&st);
    fx_free(&f);
}

static void test_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_key: k\n    update_alerts: true\n"
                       "    details:\n      alertname: overridden\n      n: '{{ len .Alerts }}'\n");
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.opsgenie.com/v2/alerts");
    fx_str(&f, "message", "[FIRING:1] Disk ");
    const char *d = json_string_value(fx_get(&f, "description"));
    assert_non_null(strstr(d, "Alerts Firing:\n"));
    assert_non_null(strstr(d, "Alerts Resolved:\n"));
    /* A detail overrides a common label; values stay strings. */
    assert_non_null(
        strstr(tn_buf_cstr(&f.req.body), "\"details\":{\"alertname\":\"overridden\",\"n\":\"2\"}"));
    fx_free(&f);
}

static void test_truncated(void **state)
{
    (void)state;
    char msg[200 * 3 + 1];
    for (size_t i = 0; i < 200; i++)
        memcpy(msg + 3 * i, "\xe2\x82\xac", 3); /* 200 runes, 600 bytes */
    msg[600] = 0;
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             HEAD "  - api_key: k\n    message: '%s'\n    update_alerts: true\n", msg);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    steps_t st;
    const char *reason;
    steps_init(&st, &f, 0);
    steps_build_ok(&st);
    fx_build_ok(&f, 0);
    const char *m = json_string_value(fx_get(&f, "message"));
    assert_int_equal(strlen(m), 129 * 3 + 3);
    assert_memory_equal(m, msg, 129 * 3);
    assert_string_equal(m + 129 * 3, "\xe2\x80\xa6");
    /* The update sends the cut message too. */
    steps_answer(&st, 200, &reason);
    steps_build_ok(&st);
    char want[700];
    snprintf(want, sizeof(want), "{\"message\":\"%s\"}\n", m);
    assert_string_equal(tn_buf_cstr(&st.req.body), want);
    steps_free(&st);
    fx_free(&f);

    /* 130 runes exactly: as written. */
    msg[130 * 3] = 0;
    snprintf(yaml, sizeof(yaml), HEAD "  - api_key: k\n    message: '%s'\n", msg);
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    fx_str(&f, "message", msg);
    fx_free(&f);
}

static void test_custom_templates(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-og-tmpl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *tmpl =
        "{{ define \"opsgenie.default.message\" }}custom {{ .GroupLabels.alertname }}"
        "{{ end }}{{ define \"og.teams\" }}ops, dba{{ end }}";
    assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
    close(fd);
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "templates: ['%s']\n" HEAD "  - api_key: k\n"
             "    description: '{{ .CommonAnnotations.summary }}'\n"
             "    source: '{{ .Receiver }}'\n"
             "    tags: ' a,b, c ,,'\n"
             "    actions: '{{ .Status }}'\n"
             "    note: n\n    priority: '{{ if eq .Status \"firing\" }}P1{{ end }}'\n"
             "    entity: e\n"
             "    responders:\n"
             "    - id: '{{ .CommonLabels.id }}'\n      type: schedule\n"
             "    - name: '{{ template \"og.teams\" . }}'\n      type: teams\n"
             "    - username: '{{ .CommonLabels.missing }}'\n"
             "      type: '{{ .CommonLabels.missing }}'\n"
             "    - username: fred\n      type: USER\n"
             "    - name: 'x,y'\n      type: TEAMS\n",
             path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk,id=abc", "summary=s1", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    const char *body = tn_buf_cstr(&f.req.body);
    assert_non_null(strstr(
        body, "\"message\":\"custom Disk\",\"description\":\"s1\",\"details\":{\"alertname\":"
              "\"Disk\",\"id\":\"abc\"},\"source\":\"team\",\"responders\":[{\"id\":\"abc\","
              "\"type\":\"schedule\"},{\"name\":\"ops\",\"type\":\"team\"},{\"name\":\" dba\","
              "\"type\":\"team\"},{\"username\":\"fred\",\"type\":\"USER\"},{\"name\":\"x,y\","
              "\"type\":\"TEAMS\"}],\"tags\":[\"a\",\"b\",\" c \"],\"note\":\"n\",\"priority\":"
              "\"P1\",\"entity\":\"e\",\"actions\":[\"firing\"]}\n"));
    fx_free(&f);
    unlink(path);
}

/* A template that fails: the message falls back, other texts are empty, the send goes on. */
static void test_failing_template(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_key: k\n    message: '{{ template \"nope\" . }}'\n"
                       "    note: '{{ template \"nope\" . }}'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    if (!fx_engine_fails_missing(&f)) {
        fx_free(&f);
        skip();
    }
    fx_build_ok(&f, 0);
    fx_str(&f, "message", "[FIRING:1] Disk");
    fx_absent(&f, "note");
    fx_free(&f);
}

static void test_url_forms(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, "global:\n  opsgenie_api_url: https://api.eu.opsgenie.com\n"
                  "  opsgenie_api_key: gk\n" HEAD "  - {}\n"
                  "  - api_url: 'https://proxy.example/og/?z=1&identifierType=id&a=b#frag'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.eu.opsgenie.com/v2/alerts");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "https://proxy.example/og/v2/alerts?z=1&identifierType=id&a=b");
    f.nalerts[0].resolved = true;
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "https://proxy.example/og/v2/alerts/" ALIAS
                                   "/close?a=b&identifierType=alias&z=1");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, HEAD "  - api_key: k\n");
    assert_int_equal(
        fx_classify(&f, 0, 202, "{\"result\":\"Request will be processed\"}", NULL, &reason),
        TN_SEND_DONE);
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 500, "", NULL, &reason), TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(fx_classify(&f, 0, 503, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 400, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_int_equal(fx_classify(&f, 0, 401, "", NULL, &reason), TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_int_equal(fx_classify(&f, 0, 422, "", NULL, &reason), TN_SEND_FAIL);
    /* upstream's TestOpsGenieRetry: every 5xx and 429 retry, nothing else. */
    for (long code = 100; code < 600; code++) {
        if (code / 100 == 2)
            continue;
        enum tn_send_result r = fx_classify(&f, 0, code, "", NULL, &reason);
        bool retry = code / 100 == 5 || code == 429;
        if ((r == TN_SEND_RETRY) != retry)
            fail_msg("status %ld: result %d", code, r);
    }
    /* The body is in the error. */
    tn_out_response_t resp = {.status = 422, .body = "{\"message\":\"bad\"}", .body_len = 17};
    char err[TN_ERRBUF_SIZE];
    reason = NULL;
    fx_send_classify(fx_ic(&f, 0), &resp, &reason, err, sizeof(err));
    assert_string_equal(err, "unexpected status code 422: {\"message\":\"bad\"}");
    /* Transport trouble retries. */
    tn_out_response_t broken = {.curl_code = 7, .error = "connection refused"};
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &broken, &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    fx_free(&f);
}

/* ---- config ---- */

static void test_config_globals(void **state)
{
    (void)state;
    char path[] = "/tmp/tn-og-gkey-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-key\n", 9), 9);
    close(fd);
    char yaml[1024];
    /* conf.opsgenie-default-apikey-file: the global file, and an integration's own file. */
    snprintf(yaml, sizeof(yaml),
             "global:\n  opsgenie_api_key_file: %s\n" HEAD "  - responders:\n"
             "    - name: team-X\n      type: team\n  - api_key: own\n",
             path);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey file-key");
    fx_str(&f, "responders.0.name", "team-X");
    fx_build_ok(&f, 1);
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey own");
    fx_free(&f);
    /* conf.opsgenie-default-apikey: the global key, and an integration's own key. */
    fx_config(&f, "global:\n  opsgenie_api_key: asd132\n" HEAD "  - {}\n  - api_key: qwe456\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey asd132");
    fx_build_ok(&f, 1);
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey qwe456");
    fx_free(&f);
    /* An integration's key file wins over the global inline key. */
    snprintf(yaml, sizeof(yaml), "global:\n  opsgenie_api_key: g\n" HEAD "  - api_key_file: %s\n",
             path);
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(fx_header(&f, "Authorization"), "GenieKey file-key");
    fx_free(&f);
    unlink(path);
}

static void test_config_ok(void **state)
{
    (void)state;
    fx_t f;
    /* config_test.go's valid configuration and valid responder type template. */
    fx_config(&f, HEAD "  - api_key: xyz\n    api_url: http://example.com\n    responders:\n"
                       "    - id: foo\n      type: scheDule\n    - name: bar\n      type: teams\n"
                       "    - username: fred\n      type: USER\n"
                       "    - id: foo\n      type: '{{/* valid comment */}}team'\n"
                       "    - id: foo\n"
                       "      type: '{{ if eq .Status \"firing\" }}team{{ else }}user{{ end }}'\n");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD
                    "  - api_key: xyz\n    api_key_file: xyz\n    api_url: http://example.com\n",
                    "at most one of api_key & api_key_file must be configured");
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - id: foo\n      type: wrong\n",
                    "test.yml:6:5: receiver team: opsgenie_configs: opsGenieConfig responder "
                    "{foo   wrong} type does not match valid options "
                    "^(team|teams|user|escalation|schedule)$");
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - id: foo\n      type: Wrong\n",
                    "{foo   wrong} type does not match");
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - id: foo\n",
                    "opsGenieConfig responder {foo   } type does not match valid options");
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - type: schedule\n",
                    "opsGenieConfig responder {   schedule} has to have at least one of id, "
                    "username or name specified");
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - id: foo\n"
                         "      type: '{{/* invalid comment }}team'\n",
                    "opsGenieConfig responder {foo   {{/* invalid comment }}team} type contains "
                    "invalid template syntax: template: :1: unclosed comment");
    /* Alertmanager checks a templated type with a bare Go template: its own functions are
     * unknown there. */
    fx_config_error(HEAD "  - api_key: xyz\n    responders:\n    - name: n\n"
                         "      type: '{{ .CommonLabels.t | toLower }}'\n",
                    "opsGenieConfig responder { n  {{ .CommonLabels.t | toLower }}} type contains "
                    "invalid template syntax: template: :1: function \"toLower\" not defined");
    /* conf.opsgenie-no-apikey */
    fx_config_error(HEAD "  - responders:\n    - name: team-X\n      type: team\n",
                    "no global OpsGenie API Key set either inline or in a file");
    fx_config_error(HEAD "  - api_key: k\n    api_url: 'ftp://x/'\n", "api_url");
    /* conf.opsgenie-default-apikey-old-team: the removed `teams` key. */
    fx_config_error("global:\n  opsgenie_api_key: asd132\n" HEAD "  - teams: team-X\n",
                    "unknown field \"teams\" in opsgenie_configs");
    /* conf.opsgenie-both-file-and-apikey */
    fx_config_error("global:\n  opsgenie_api_key: asd132\n  opsgenie_api_key_file: /etc/hostname\n"
                    "route:\n  receiver: team\nreceivers:\n- name: team\n",
                    "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured");
    fx_config_error(HEAD "  - api_key: k\n    update_alerts: maybe\n", "update_alerts");
    fx_config_error(HEAD "  - api_key: k\n    responders: {id: x}\n", "responders");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_requests),
        cmocka_unit_test(test_broken_key_template),
        cmocka_unit_test(test_update_alerts),
        cmocka_unit_test(test_api_key_file),
        cmocka_unit_test(test_defaults_firing),
        cmocka_unit_test(test_resolved),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_custom_templates),
        cmocka_unit_test(test_failing_template),
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_globals),
        cmocka_unit_test(test_config_ok),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
