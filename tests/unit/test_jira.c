/* Jira receiver: every step's request (search, create or update, transitions) for the
 * scenarios of Alertmanager's notify/jira tests, the JQL, the API v2/v3 and Cloud/Data Center
 * choices, custom fields, limits, retry rules and config errors. */
#include "rcv_fixture.h"

#include <unistd.h>

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  jira_configs:\n"
#define API  "http://127.0.0.1:9/rest/api/2"
/* SHA-256 of the group key "1", the label Alertmanager's tests expect. */
#define GROUP_LABEL "ALERT{6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b}"

/* The configuration of upstream's TestJiraNotify cases. */
#define NOTIFY_CONF                                                                                \
    "  - api_url: " API "\n"                                                                       \
    "    summary: '{{ template \"jira.default.summary\" . }}'\n"                                   \
    "    description: '{{ template \"jira.default.description\" . }}'\n"                           \
    "    issue_type: Incident\n    project: OPS\n"                                                 \
    "    priority: '{{ template \"jira.default.priority\" . }}'\n"                                 \
    "    labels: [alertmanager, '{{ .GroupLabels.alertname }}']\n"                                 \
    "    reopen_duration: 1h\n    reopen_transition: REOPEN\n    resolve_transition: CLOSE\n"      \
    "    wont_fix_resolution: WONTFIX\n"

typedef struct jx {
    fx_t f;
    tn_send_t s;
    tn_send_outcome_t o;
} jx_t;

static void jx_config(jx_t *x, const char *yaml)
{
    memset(x, 0, sizeof(*x));
    fx_config(&x->f, yaml);
}

/* An alert as upstream's tests make them: no annotations, no generator URL. */
static void jx_alert(jx_t *x, const char *labels, bool resolved)
{
    fx_t *f = &x->f;
    tn_label_t l[16];
    size_t nl = fx_pairs(labels, l, 16);
    tn_alert_t *al = tn_alert_new(l, nl, NULL, 0, tn_intern_cstr(""));
    al->starts_at = FX_T0;
    al->ends_at = resolved ? FX_T0 + 60 * FX_S : 0;
    al->fp = tn_labels_fingerprint(tn_alert_labels(al));
    f->alerts[f->n] = al;
    f->nalerts[f->n].alert = al;
    f->nalerts[f->n].resolved = resolved;
    f->n++;
}

static void jx_notif(jx_t *x, const char *group)
{
    fx_notif(&x->f, group);
    x->f.notif.group_key = "1";
    x->s = (tn_send_t){.ic = fx_ic(&x->f, 0), .n = &x->f.notif};
}

/* A retry: the core drops what the attempt carried and starts at step 0. */
static void jx_restart(jx_t *x)
{
    if (x->s.carry)
        (x->s.carry_free ? x->s.carry_free : free)(x->s.carry);
    x->s.carry = NULL;
    x->s.carry_free = NULL;
    x->s.step = 0;
}

static void jx_free(jx_t *x)
{
    jx_restart(x);
    tn_strmap_free(&x->s.keep);
    fx_free(&x->f);
}

/* Builds the current step and checks its request. */
static void jx_expect(jx_t *x, const char *method, const char *url, const char *body)
{
    char err[TN_ERRBUF_SIZE] = "";
    tn_out_request_free(&x->f.req);
    tn_out_request_init(&x->f.req);
    if (x->s.ic->type->build(&x->s, &x->f.req, err, sizeof(err)) != TN_OK)
        fail_msg("build of step %u: %s", x->s.step, err);
    assert_string_equal(x->f.req.method, method);
    assert_string_equal(x->f.req.url, url);
    const char *got = tn_buf_cstr(&x->f.req.body);
    if (strcmp(got, body) != 0)
        fail_msg("step %u body:\n got: %s\nwant: %s", x->s.step, got, body);
    assert_string_equal(fx_header(&x->f, "Content-Type"), "application/json");
    assert_string_equal(fx_header(&x->f, "Accept-Language"), "en");
}

/* Answers the step; a NEXT moves to the next one as the core does. */
static enum tn_send_result jx_reply(jx_t *x, long status, const char *body)
{
    tn_out_response_t resp = {
        .status = status, .body = body ? body : "", .body_len = body ? strlen(body) : 0};
    x->o = (tn_send_outcome_t){.result = TN_SEND_DONE, .reason = "other"};
    x->s.ic->type->classify(&x->s, &resp, &x->o);
    if (x->o.result == TN_SEND_NEXT)
        x->s.step++;
    return x->o.result;
}

static void jx_err(jx_t *x, const char *want)
{
    if (!strstr(x->o.err, want))
        fail_msg("error \"%s\" lacks \"%s\"", x->o.err, want);
}

#define SEARCH_BODY(jql) "{\"fields\":[\"status\"],\"jql\":\"" jql "\",\"maxResults\":2}\n"
#define JQL_TAIL                                                                                   \
    "project=\\\"OPS\\\" and labels=\\\"" GROUP_LABEL "\\\" order by status ASC,resolutiondate "   \
    "DESC"
#define NO_ISSUES "{\"startAt\":0,\"maxResults\":2,\"total\":0,\"issues\":[]}"
#define ISSUE(key, cat)                                                                            \
    "{\"issues\":[{\"id\":\"10001\",\"key\":\"" key "\",\"fields\":{\"status\":{\"name\":\"X\","   \
    "\"statusCategory\":{\"id\":3,\"key\":\"" cat "\"}}}}]}"

/* The description jira.default.description gives for one alert (upstream's expectation). */
#define DESC_FIRING(labels)                                                                        \
    "\\n\\n# Alerts Firing:\\n\\nLabels:\\n" labels "\\nAnnotations:\\n\\nSource: \\n\\n\\n\\n\\n"
#define DESC_RESOLVED(labels)                                                                      \
    "\\n\\n\\n# Alerts Resolved:\\n\\nLabels:\\n" labels "\\nAnnotations:\\n\\nSource: "           \
    "\\n\\n\\n\\n"
#define L_TEST_VM1     "  - alertname = test\\n  - instance = vm1\\n"
#define L_TEST_VM1_CRI L_TEST_VM1 "  - severity = critical\\n"

#define ISSUE_TEST_VM1(extra)                                                                      \
    "{\"fields\":{\"description\":\"" DESC_FIRING(                                                 \
        L_TEST_VM1) "\",\"issuetype\":{\"name\":"                                                  \
                    "\"Incident\"},\"labels\":[\"" GROUP_LABEL                                     \
                    "\",\"alertmanager\",\"test\"]," extra                                         \
                    "\"project\":{\"key\":\"OPS\"},\"summary\":\"[FIRING:1] test (vm1)\"}}\n"

/* ---- TestJiraNotify ---- */

static void test_create_new_issue(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1,severity=critical", false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL));
    assert_int_equal(x.f.req.max_response, 256 * 1024);
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(
        &x, "POST", API "/issue",
        "{\"fields\":{\"description\":\"" DESC_FIRING(
            L_TEST_VM1_CRI) "\",\"issuetype\":{\"name\":\"Incident\"},\"labels\":[\"" GROUP_LABEL
                            "\",\"alertmanager\",\"test\"],\"priority\":{\"name\":\"High\"},"
                            "\"project\":{\"key\":\"OPS\"},\"summary\":\"[FIRING:1] test (vm1 "
                            "critical)\"}}\n");
    assert_int_equal(jx_reply(&x, 201, "{\"id\":\"10000\",\"key\":\"OPS-1\"}"), TN_SEND_DONE);
    jx_free(&x);
}

static void test_update_existing_issue(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n"
                       "    issue_type: '{{ .CommonLabels.issue_type }}'\n"
                       "    project: '{{ .CommonLabels.project }}'\n"
                       "    labels: [alertmanager, '{{ .GroupLabels.alertname }}']\n"
                       "    reopen_duration: 1h\n    reopen_transition: REOPEN\n"
                       "    resolve_transition: CLOSE\n    wont_fix_resolution: WONTFIX\n");
    jx_alert(&x,
             "alertname=test,instance=vm1,severity=critical,project=MONITORING,issue_type=MINOR",
             false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and project=\\\"MONITORING\\\" and "
                    "labels=\\\"" GROUP_LABEL "\\\" order by status ASC,resolutiondate DESC"));
    /* An open issue: updated, no transition. */
    assert_int_equal(jx_reply(&x, 200, ISSUE("MONITORING-1", "new")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/MONITORING-1",
              "{\"fields\":{\"description\":\"" DESC_FIRING(
                  L_TEST_VM1
                  "  - issue_type = MINOR\\n  - project = MONITORING\\n  - severity = "
                  "critical\\n") "\",\"issuetype\":{\"name\":\"MINOR\"},\"labels\":[\"" GROUP_LABEL
                                 "\",\"alertmanager\",\"test\"],\"priority\":{\"name\":"
                                 "\"High\"},\"project\":{\"key\":\"MONITORING\"},"
                                 "\"summary\":\"[FIRING:1] test (vm1 MINOR MONITORING "
                                 "critical)\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_DONE);
    jx_free(&x);
}

/* Upstream's "update existing issue with disabled summary and description": an update leaves
 * both out, a creation still sends them. */
static void test_update_disabled_summary_description(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n"
                       "    summary:\n      template: '{{ template \"jira.default.summary\" . }}'\n"
                       "      enable_update: false\n"
                       "    description:\n"
                       "      template: '{{ template \"jira.default.description\" . }}'\n"
                       "      enable_update: false\n"
                       "    issue_type: '{{ .CommonLabels.issue_type }}'\n"
                       "    project: '{{ .CommonLabels.project }}'\n"
                       "    priority: '{{ template \"jira.default.priority\" . }}'\n"
                       "    labels: [alertmanager, '{{ .GroupLabels.alertname }}']\n"
                       "    reopen_duration: 1h\n    reopen_transition: REOPEN\n"
                       "    resolve_transition: CLOSE\n    wont_fix_resolution: WONTFIX\n");
    jx_alert(&x,
             "alertname=test,instance=vm1,severity=critical,project=MONITORING,issue_type=MINOR",
             false);
    jx_notif(&x, "alertname=test");
    const char *search =
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and project=\\\"MONITORING\\\" and "
                    "labels=\\\"" GROUP_LABEL "\\\" order by status ASC,resolutiondate DESC");
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200,
                              "{\"issues\":[{\"key\":\"MONITORING-1\",\"fields\":{\"summary\":"
                              "\"Original Summary\",\"description\":\"Original Description\","
                              "\"status\":{\"name\":\"Open\",\"statusCategory\":{\"key\":"
                              "\"open\"}}}}]}"),
                     TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/MONITORING-1",
              "{\"fields\":{\"issuetype\":{\"name\":\"MINOR\"},\"labels\":[\"" GROUP_LABEL
              "\",\"alertmanager\",\"test\"],\"priority\":{\"name\":\"High\"},\"project\":"
              "{\"key\":\"MONITORING\"}}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_DONE);
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    char err[TN_ERRBUF_SIZE];
    tn_out_request_free(&x.f.req);
    tn_out_request_init(&x.f.req);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(x.f.req.body.data, "\"summary\":\"[FIRING:1] test"));
    assert_non_null(strstr(x.f.req.body.data, "\"description\":\"\\n\\n# Alerts Firing:"));
    jx_free(&x);
}

/* The mapping form's defaults: no template keeps the default one; enable_update defaults to
 * true; a custom field named summary is sent on updates whatever enable_update says. */
static void test_text_forms(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: {enable_update: false}\n"
                       "    description: {template: D}\n    priority: ''\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue",
              "{\"fields\":{\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\"labels\":"
              "[\"" GROUP_LABEL "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"[FIRING:1] test "
              "\"}}\n");
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-1", "new")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-1",
              "{\"fields\":{\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\"labels\":"
              "[\"" GROUP_LABEL "\"],\"project\":{\"key\":\"OPS\"}}}\n");
    jx_free(&x);

    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: {template: S, enable_update: false}\n    description: 42\n"
                       "    priority: ''\n    fields:\n      summary: custom\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-1", "new")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-1",
              "{\"fields\":{\"description\":\"42\",\"issuetype\":{\"name\":\"Bug\"},"
              "\"labels\":[\"" GROUP_LABEL "\"],\"project\":{\"key\":\"OPS\"},\"summary\":"
              "\"custom\"}}\n");
    jx_free(&x);
}

static void test_reopen_issue(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL));
    /* Resolved within reopen_duration, so the search found it: reopened. */
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-1", "done")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-1", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-1/transitions", "");
    assert_int_equal(x.f.req.max_response, 256 * 1024);
    assert_int_equal(
        jx_reply(&x, 200,
                 "{\"expand\":\"transitions\",\"transitions\":[{\"id\":\"11\",\"name\":"
                 "\"CLOSE\"},{\"id\":\"12345\",\"name\":\"REOPEN\",\"to\":{\"name\":"
                 "\"Open\"}}]}"),
        TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue/OPS-1/transitions", "{\"transition\":{\"id\":\"12345\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_DONE);
    assert_int_equal(x.s.step, 3);
    jx_free(&x);
}

/* Resolved beyond reopen_duration: Jira's search leaves the issue out, so a new one is made. */
static void test_reopen_beyond_duration_creates(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 201, "{}"), TN_SEND_DONE);
    jx_free(&x);
}

static void test_resolve_issue(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", true);
    jx_notif(&x, "alertname=test");
    /* Resolved: only open issues are looked for, whatever reopen_duration says. */
    jx_expect(&x, "POST", API "/search",
              SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and "
                          "statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-2", "indeterminate")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-2",
              "{\"fields\":{\"description\":\"" DESC_RESOLVED(
                  L_TEST_VM1) "\",\"issuetype\":{\"name\":\"Incident\"},\"labels\":[\"" GROUP_LABEL
                              "\",\"alertmanager\",\"test\"],\"project\":{\"key\":\"OPS\"},"
                              "\"summary\":\"[RESOLVED] test (vm1)\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-2/transitions", "");
    assert_int_equal(jx_reply(&x, 200, "{\"transitions\":[{\"id\":\"54321\",\"name\":\"CLOSE\"}]}"),
                     TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue/OPS-2/transitions", "{\"transition\":{\"id\":\"54321\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_DONE);
    jx_free(&x);
}

static void test_resolve_transition_not_found(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", true);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search",
              SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and "
                          "statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-3", "open")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-3",
              "{\"fields\":{\"description\":\"" DESC_RESOLVED(
                  L_TEST_VM1) "\",\"issuetype\":{\"name\":\"Incident\"},\"labels\":[\"" GROUP_LABEL
                              "\",\"alertmanager\",\"test\"],\"project\":{\"key\":\"OPS\"},"
                              "\"summary\":\"[RESOLVED] test (vm1)\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-3/transitions", "");
    assert_int_equal(jx_reply(&x, 200, "{\"transitions\":[]}"), TN_SEND_FAIL);
    assert_string_equal(x.o.err, "can't find transition CLOSE for issue OPS-3");
    jx_free(&x);
}

static void test_reopen_transition_not_found(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-3", "done")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-3", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-3/transitions", "");
    assert_int_equal(jx_reply(&x, 200, "{\"transitions\":[]}"), TN_SEND_FAIL);
    assert_string_equal(x.o.err, "can't find transition REOPEN for issue OPS-3");
    jx_free(&x);
}

/* No transition is needed, or none is configured: the update ends the send. */
static void test_no_transition(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: S\n    description: D\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    /* Firing, done, no reopen_transition. */
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-9", "done")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-9",
              "{\"fields\":{\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\"labels\":"
              "[\"" GROUP_LABEL "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"S\"}}\n");
    assert_int_equal(jx_reply(&x, 200, NULL), TN_SEND_DONE);
    /* The search gave no status: nothing to compare. */
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, "{\"issues\":[{\"key\":\"OPS-9\"}]}"), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-9",
              "{\"fields\":{\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\"labels\":"
              "[\"" GROUP_LABEL "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"S\"}}\n");
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_DONE);
    jx_free(&x);
}

/* All resolved and no open issue: nothing is created, the send is done. */
static void test_resolved_without_issue(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", true);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search",
              SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and "
                          "statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_DONE);
    assert_int_equal(x.s.step, 0);
    /* A body of null reads as no issues, as Go reads it. */
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search",
              SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and "
                          "statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, "null"), TN_SEND_DONE);
    jx_free(&x);
}

/* Two issues matched: the first (most recently resolved) is taken. */
static void test_two_issues(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: S\n    description: ''\n    priority: ''\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(
        jx_reply(&x, 200, "{\"issues\":[{\"key\":\"OPS-2\",\"fields\":{}},{\"key\":\"OPS-1\"}]}"),
        TN_SEND_NEXT);
    /* An empty description is left out. */
    jx_expect(&x, "PUT", API "/issue/OPS-2",
              "{\"fields\":{\"issuetype\":{\"name\":\"Bug\"},\"labels\":[\"" GROUP_LABEL
              "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"S\"}}\n");
    jx_free(&x);
}

/* ---- TestSearchExistingIssue ---- */

static void search_case(const char *conf, bool resolved, const char *jql_body)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             HEAD "  - api_url: " API "\n    issue_type: Bug\n"
                  "    project: '{{ .CommonLabels.project }}'\n%s",
             conf);
    jx_t x;
    jx_config(&x, yaml);
    jx_alert(&x, "project=PROJ", resolved);
    jx_notif(&x, "");
    jx_expect(&x, "POST", API "/search", jql_body);
    jx_free(&x);
}

#define PROJ_TAIL                                                                                  \
    "project=\\\"PROJ\\\" and labels=\\\"" GROUP_LABEL                                             \
    "\\\" order by status ASC,resolutiondate DESC"

static void test_search_jql(void **state)
{
    (void)state;
    search_case("", false, SEARCH_BODY("statusCategory != Done and " PROJ_TAIL));
    search_case(
        "    reopen_duration: 60m\n    reopen_transition: REOPEN\n", false,
        SEARCH_BODY("(resolutiondate is EMPTY OR resolutiondate \\u003e= -60m) and " PROJ_TAIL));
    search_case("", true, SEARCH_BODY("statusCategory != Done and " PROJ_TAIL));
    search_case("    wont_fix_resolution: \"Won't Do\"\n", false,
                SEARCH_BODY("(resolution is EMPTY or resolution != \\\"Won't Do\\\") and "
                            "statusCategory != Done and " PROJ_TAIL));
    /* A reopen window needs a reopen transition, and is counted in whole minutes. */
    search_case("    reopen_duration: 60m\n", false,
                SEARCH_BODY("statusCategory != Done and " PROJ_TAIL));
    search_case("    reopen_duration: 59s\n    reopen_transition: REOPEN\n", false,
                SEARCH_BODY("statusCategory != Done and " PROJ_TAIL));
    search_case(
        "    reopen_duration: 90s\n    reopen_transition: REOPEN\n", false,
        SEARCH_BODY("(resolutiondate is EMPTY OR resolutiondate \\u003e= -1m) and " PROJ_TAIL));
    search_case(
        "    reopen_duration: 1d\n    reopen_transition: REOPEN\n", false,
        SEARCH_BODY("(resolutiondate is EMPTY OR resolutiondate \\u003e= -1440m) and " PROJ_TAIL));
    /* Quoted as Go's %q quotes. */
    search_case(
        "    wont_fix_resolution: \"a\\\"b\\\\c\\td\"\n", true,
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"a\\\\\\\"b\\\\\\\\c\\\\td\\\") "
                    "and statusCategory != Done and " PROJ_TAIL));
}

/* ---- TestPrepareSearchRequest: the search endpoint ---- */

static void url_case(const char *api_type, const char *api_url, const char *want)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             HEAD "  - api_url: %s\n    api_type: %s\n    project: OPS\n    issue_type: Bug\n",
             api_url, api_type);
    jx_t x;
    jx_config(&x, yaml);
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    if (strcmp(x.f.req.url, want) != 0)
        fail_msg("%s %s: got %s, want %s", api_type, api_url, x.f.req.url, want);
    /* The issue itself always goes to the configured API. */
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    tn_out_request_free(&x.f.req);
    tn_out_request_init(&x.f.req);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_non_null(strstr(x.f.req.url, "/rest/api/2/issue"));
    jx_free(&x);
}

static void test_search_endpoint(void **state)
{
    (void)state;
    url_case("cloud", "https://example.atlassian.net/rest/api/2",
             "https://example.atlassian.net/rest/api/3/search/jql");
    url_case("auto", "https://example.atlassian.net/rest/api/2",
             "https://example.atlassian.net/rest/api/3/search/jql");
    url_case("auto", "https://jira.example.com/rest/api/2",
             "https://jira.example.com/rest/api/2/search");
    url_case("datacenter", "https://example.atlassian.net/rest/api/2",
             "https://example.atlassian.net/rest/api/2/search");
    url_case("datacenter", "https://jira.example.com/rest/api/2",
             "https://jira.example.com/rest/api/2/search");
    /* Go's URL.JoinPath: slashes and dot segments cleaned, the query kept; the host compared
     * with its port. */
    url_case("auto", "https://jira.example.com/rest/api/2/",
             "https://jira.example.com/rest/api/2/search");
    url_case("auto", "https://jira.example.com/x/../rest//api/2/.?a=b",
             "https://jira.example.com/rest/api/2/search?a=b");
    url_case("auto", "https://example.atlassian.net:443/rest/api/2",
             "https://example.atlassian.net:443/rest/api/2/search");
}

static void test_url_join(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: http://127.0.0.1:9\n    project: OPS\n    issue_type: Bug\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", "http://127.0.0.1:9/search",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    /* A key is escaped in the path. */
    assert_int_equal(jx_reply(&x, 200, ISSUE("A B", "done")), TN_SEND_NEXT);
    char err[TN_ERRBUF_SIZE];
    tn_out_request_free(&x.f.req);
    tn_out_request_init(&x.f.req);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_string_equal(x.f.req.url, "http://127.0.0.1:9/issue/A%20B");
    jx_free(&x);
}

/* ---- TestJiraTemplating ---- */

static void test_templating(void **state)
{
    (void)state;
    char path[] = "/tmp/tocsin-jira-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *tmpl = "{{ define \"jira.host\" }}{{ .CommonLabels.hostname }}{{ end }}";
    assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "templates: ['%s']\n" HEAD "  - api_url: " API "\n"
             "    project: '{{ .CommonLabels.lbl1 }}'\n"
             "    issue_type: '{{ .CommonLabels.lbl1 }}'\n"
             "    fields:\n      customfield_14400: '{{ template \"jira.host\" . }}'\n",
             path);
    jx_t x;
    jx_config(&x, yaml);
    jx_alert(&x, "lbl1=val1,hostname=host1.example.com", false);
    jx_notif(&x, "lbl1=val1,hostname=host1.example.com");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("statusCategory != Done and project=\\\"val1\\\" and labels=\\\"" GROUP_LABEL
                    "\\\" order by status ASC,resolutiondate DESC"));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(
        &x, "POST", API "/issue",
        "{\"fields\":{\"customfield_14400\":\"host1.example.com\",\"description\":\"" DESC_FIRING(
            "  - hostname = host1.example.com\\n  - lbl1 = val1\\n") "\",\"issuetype\":{"
                                                                     "\"name\":\"val1\"},"
                                                                     "\"labels\":[\"" GROUP_LABEL
                                                                     "\"],\"project\":{\"key\":"
                                                                     "\"val1\"},\"summary\":\"["
                                                                     "FIRING:1] host1.example."
                                                                     "com val1 \"}}\n");
    jx_free(&x);
    unlink(path);
}

/* A text that fails to render: tocsin sends the fallback summary and empty other texts
 * (Alertmanager fails the notification). */
static void test_template_failures(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: '{{ '\n    description: '{{ '\n    priority: '{{ '\n");
    jx_alert(&x, "alertname=test,severity=critical", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue",
              "{\"fields\":{\"issuetype\":{\"name\":\"Bug\"},\"labels\":[\"" GROUP_LABEL
              "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"[FIRING:1] test\"}}\n");
    jx_free(&x);
}

/* ---- custom fields (the "custom field and too long summary" case) ---- */

static char *repeat(const char *s, size_t n)
{
    size_t l = strlen(s);
    char *out = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * l, s, l);
    out[l * n] = 0;
    return out;
}

static void test_custom_fields_and_long_summary(void **state)
{
    (void)state;
    char *summary = repeat("A", 255 + 10);
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             HEAD NOTIFY_CONF
             "    summary: %s\n"
             "    fields:\n"
             /* upstream's values, as YAML */
             "      components: {name: Monitoring}\n"
             "      customfield_10001: value\n"
             "      customfield_10002: 0\n"
             "      customfield_10003: [0]\n"
             "      customfield_10004: {value: red}\n"
             "      customfield_10005: {value: 0}\n"
             "      customfield_10006: [{value: red}, {value: blue}, {value: green}]\n"
             "      customfield_10007: [{value: red}, {value: blue}, {value: 0}]\n"
             "      customfield_10008: [{value: 0}, {value: 1}, {value: 2}]\n"
             "      customfield_10009: [{1: 0}, {1.0: 1}, {a: [2]}]\n"
             "      customfield_10010: [{1: 0}, [3]]\n"
             /* rendered strings read as YAML; keys rendered below the top level */
             "      customfield_10011: '{{ .CommonLabels.instance }}'\n"
             "      customfield_10012: ''\n"
             "      customfield_10013: 'true'\n"
             "      customfield_10014: '{\"z\": 1, \"a\": \"<b>\"}'\n"
             "      customfield_10015: '{{ .CommonLabels.alertname }}: x'\n"
             "      customfield_10016: {'{{ .CommonLabels.instance }}': [yes, 1.5, ~]}\n",
             summary);
    free(summary);
    /* NOTIFY_CONF's summary comes first: drop it so that this one is the only one. */
    char *dup = strstr(yaml, "    summary: '{{ template");
    char *eol = strchr(dup, '\n');
    memmove(dup, eol + 1, strlen(eol + 1) + 1);
    jx_t x;
    jx_config(&x, yaml);
    jx_alert(&x, "alertname=test,instance=vm1", false);
    jx_notif(&x, "alertname=test");
    jx_expect(
        &x, "POST", API "/search",
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    char *want_summary = repeat("A", 254);
    char want[4096];
    snprintf(
        want, sizeof(want),
        "{\"fields\":{\"components\":{\"name\":\"Monitoring\"},\"customfield_10001\":\"value\","
        "\"customfield_10002\":0,\"customfield_10003\":[0],\"customfield_10004\":{\"value\":"
        "\"red\"},\"customfield_10005\":{\"value\":0},\"customfield_10006\":[{\"value\":\"red\"},"
        "{\"value\":\"blue\"},{\"value\":\"green\"}],\"customfield_10007\":[{\"value\":\"red\"},"
        "{\"value\":\"blue\"},{\"value\":0}],\"customfield_10008\":[{\"value\":0},{\"value\":1},"
        "{\"value\":2}],\"customfield_10009\":[{},{},{\"a\":[2]}],\"customfield_10010\":[{},[3]],"
        "\"customfield_10011\":\"vm1\",\"customfield_10012\":null,\"customfield_10013\":true,"
        "\"customfield_10014\":{\"a\":\"\\u003cb\\u003e\",\"z\":1},"
        "\"customfield_10015\":{\"test\":\"x\"},\"customfield_10016\":{\"vm1\":[true,1.5,null]},"
        "\"description\":\"" DESC_FIRING(
            L_TEST_VM1) "\",\"issuetype\":{\"name\":\"Incident\"},"
                        "\"labels\":[\"" GROUP_LABEL
                        "\",\"alertmanager\",\"test\"],\"project\":{\"key\":"
                        "\"OPS\"},\"summary\":\"%s\xe2\x80\xa6\"}}\n",
        want_summary);
    free(want_summary);
    jx_expect(&x, "POST", API "/issue", want);
    jx_free(&x);
}

/* template's TestDeepCopyWithTemplate, its cases without a template function of their own, as
 * custom fields: a rendered YAML or JSON document is sent as that value, its string leaves
 * verbatim; keys that are not strings are dropped. */
static void test_deep_copy_with_template(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: S\n    description: ''\n    priority: ''\n    fields:\n"
                       "      a_yaml_map: 'foo: bar'\n"
                       "      b_slice: [foo, 42]\n"
                       "      c_map: {foo: bar, 42: ignore, nested: [baz]}\n"
                       "      d_number: 123\n"
                       "      e_nil: null\n"
                       "      f_json: '[{\"alertname\":\"test1\",\"id\":\"value1:\"}]'\n"
                       "      g_json_strings: '{\"num\":\"123\",\"truthy\":\"true\",\"empty\":"
                       "\"null\",\"when\":\"2026-01-01\"}'\n"
                       "      h_json_scalars: '{\"num\":123,\"truthy\":true,\"empty\":null}'\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue",
              "{\"fields\":{\"a_yaml_map\":{\"foo\":\"bar\"},\"b_slice\":[\"foo\",42],"
              "\"c_map\":{\"foo\":\"bar\",\"nested\":[\"baz\"]},\"d_number\":123,"
              "\"e_nil\":null,\"f_json\":[{\"alertname\":\"test1\",\"id\":\"value1:\"}],"
              "\"g_json_strings\":{\"empty\":\"null\",\"num\":\"123\",\"truthy\":\"true\","
              "\"when\":\"2026-01-01\"},\"h_json_scalars\":{\"empty\":null,\"num\":123,"
              "\"truthy\":true},\"issuetype\":{\"name\":\"Bug\"},\"labels\":[\"" GROUP_LABEL
              "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"S\"}}\n");
    jx_free(&x);
}

/* A custom field named like a standard one replaces it. */
static void test_custom_field_overrides(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    summary: S\n    description: D\n"
                       "    fields:\n      priority: '{\"id\": \"3\"}'\n      summary: over\n");
    jx_alert(&x, "alertname=test,severity=warning", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(
        &x, "POST", API "/issue",
        "{\"fields\":{\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\"labels\":["
        "\"" GROUP_LABEL
        "\"],\"priority\":{\"id\":\"3\"},\"project\":{\"key\":\"OPS\"},\"summary\":\"over\"}}\n");
    jx_free(&x);
}

/* A value Go's encoder refuses (.nan) fails the send once the search has run, as
 * Alertmanager's encoder fails as it writes the request. */
static void test_custom_field_not_encodable(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                       "    fields:\n      customfield_1: [1, .nan]\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_FAIL);
    assert_string_equal(x.o.err,
                        "failed to POST request to \"issue\": json: unsupported value: NaN");
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-4", "new")), TN_SEND_FAIL);
    assert_string_equal(x.o.err,
                        "failed to PUT request to \"issue/OPS-4\": json: unsupported value: NaN");
    jx_free(&x);
}

/* ---- limits, labels ---- */

static void test_description_limit_and_labels(void **state)
{
    (void)state;
    char *desc = repeat("\xe2\x82\xac", 40000);
    size_t cap = strlen(desc) + 1024;
    char *yaml = malloc(cap);
    snprintf(yaml, cap,
             HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n    summary: S\n"
                  "    description: %s\n"
                  "    labels: ['{{ .CommonLabels.team }}', zeta, Alpha, '', '<x>']\n",
             desc);
    jx_t x;
    jx_config(&x, yaml);
    jx_alert(&x, "alertname=test,team=db", false);
    jx_notif(&x, "alertname=test");
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    tn_out_request_free(&x.f.req);
    tn_out_request_init(&x.f.req);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    json_error_t jerr;
    x.f.json = json_loadb(x.f.req.body.data, x.f.req.body.len, 0, &jerr);
    assert_non_null(x.f.json);
    const char *d = json_string_value(fx_get(&x.f, "fields.description"));
    assert_non_null(d);
    assert_int_equal(strlen(d), 32766 * 3 + 3); /* runes, not bytes, and the marker */
    assert_memory_equal(d + 32766 * 3, "\xe2\x80\xa6", 3);
    /* Byte order, as Go's sort.Strings; empty labels kept. */
    json_t *l = fx_get(&x.f, "fields.labels");
    assert_int_equal(json_array_size(l), 6);
    const char *want[] = {"", "<x>", GROUP_LABEL, "Alpha", "db", "zeta"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(json_string_value(json_array_get(l, i)), want[i]);
    assert_non_null(strstr(x.f.req.body.data, "\"\\u003cx\\u003e\""));
    jx_free(&x);
    free(yaml);
    free(desc);
}

/* ---- TestJiraPriority ---- */

static void priority_case(const char *const *alerts, size_t n, const char *want)
{
    jx_t x;
    jx_config(&x, HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n");
    for (size_t i = 0; i < n; i++) {
        bool resolved = alerts[i][0] == '-';
        jx_alert(&x, alerts[i] + resolved, resolved);
    }
    jx_notif(&x, "alertname=test");
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    tn_out_request_free(&x.f.req);
    tn_out_request_init(&x.f.req);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    json_error_t jerr;
    x.f.json = json_loadb(x.f.req.body.data, x.f.req.body.len, 0, &jerr);
    assert_non_null(x.f.json);
    if (want)
        fx_str(&x.f, "fields.priority.name", want);
    else
        fx_absent(&x.f, "fields.priority");
    jx_free(&x);
}

static void test_priority(void **state)
{
    (void)state;
    const char *none[] = {"alertname=test,instance=vm1"};
    const char *crit[] = {"alertname=test,instance=vm1,severity=critical"};
    const char *warn[] = {"alertname=test,instance=vm1,severity=warning"};
    const char *info[] = {"alertname=test,instance=vm1,severity=info"};
    const char *all[] = {"alertname=test,instance=vm1,severity=critical",
                         "alertname=test,instance=vm2,severity=warning",
                         "alertname=test,instance=vm3,severity=info"};
    const char *wi[] = {"alertname=test,instance=vm2,severity=warning",
                        "alertname=test,instance=vm3,severity=info"};
    const char *rwi[] = {"-alertname=test,instance=vm1,severity=critical",
                         "alertname=test,instance=vm2,severity=warning",
                         "alertname=test,instance=vm3,severity=info"};
    priority_case(none, 1, NULL);
    priority_case(crit, 1, "High");
    priority_case(warn, 1, "Medium");
    priority_case(info, 1, "Low");
    priority_case(all, 3, "High");
    priority_case(wi, 2, "Medium");
    priority_case(rwi, 3, "Medium");
}

/* ---- TestPrepareIssueRequestBodyAPIv3DescriptionValidation ---- */

static void test_api_v3_description(void **state)
{
    (void)state;
    jx_t x;
    jx_config(
        &x, HEAD
        "  - api_url: https://example.atlassian.net/rest/api/3\n    project: OPS\n"
        "    issue_type: Incident\n    summary: S\n    labels: [alertmanager]\n"
        "    description: |\n"
        "      {\"type\": \"doc\", \"version\": 1, \"content\": [{\"type\": \"paragraph\",\n"
        "       \"content\": [{\"type\": \"text\", \"text\": \"hello <{{ .Status }}>\"}]}]}\n");
    jx_alert(&x, "alertname=test,instance=vm1,severity=critical", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", "https://example.atlassian.net/rest/api/3/search/jql",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    /* Sent as the document itself, compacted, keys in their order, HTML escaped as Go does. */
    jx_expect(
        &x, "POST", "https://example.atlassian.net/rest/api/3/issue",
        "{\"fields\":{\"description\":{\"type\":\"doc\",\"version\":1,\"content\":[{\"type\":"
        "\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"hello \\u003cfiring\\u003e\"}]"
        "}]},\"issuetype\":{\"name\":\"Incident\"},\"labels\":[\"" GROUP_LABEL
        "\",\"alertmanager\"],\"priority\":{\"name\":\"High\"},\"project\":{\"key\":\"OPS\"},"
        "\"summary\":\"S\"}}\n");
    jx_free(&x);

    /* Not JSON: the search runs, then the send fails without a retry. */
    jx_config(&x, HEAD "  - api_url: https://example.atlassian.net/rest/api/3/\n    project: OPS\n"
                       "    issue_type: Incident\n    description: not-json\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", "https://example.atlassian.net/rest/api/3/search/jql",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_FAIL);
    jx_err(&x, "description template: invalid JSON for API v3");
    /* All resolved and nothing found: nothing to send, no error. */
    jx_restart(&x);
    x.f.nalerts[0].resolved = true;
    x.f.notif.nfiring = 0;
    jx_expect(&x, "POST", "https://example.atlassian.net/rest/api/3/search/jql",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_DONE);
    jx_free(&x);

    /* Blank: left out. */
    jx_config(&x, HEAD "  - api_url: https://example.atlassian.net/rest/api/3\n    project: OPS\n"
                       "    issue_type: Incident\n    description: '  '\n    summary: S\n"
                       "    priority: ''\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    jx_expect(&x, "POST", "https://example.atlassian.net/rest/api/3/search/jql",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", "https://example.atlassian.net/rest/api/3/issue",
              "{\"fields\":{\"issuetype\":{\"name\":\"Incident\"},\"labels\":[\"" GROUP_LABEL
              "\"],\"project\":{\"key\":\"OPS\"},\"summary\":\"S\"}}\n");
    jx_free(&x);
}

static void test_v3_json_checks(void **state)
{
    (void)state;
    static const struct {
        const char *yaml; /* a YAML scalar */
        bool ok;
    } cases[] = {
        {"'[1, -0.5e+3, true, false, null, \"a\\\\u00e9\\\\n\"]'", true},
        {"'\"just a string\"'", true},
        {"'12345678901234567890123'", true},
        {"'{\"a\": }'", false},
        {"'[1,]'", false},
        {"'01'", false},
        {"'{\"a\": 1} x'", false},
        {"\"\\\"\\t\\\"\"", false}, /* a raw tab in a string */
        {"'{\"a\" 1}'", false},
        {"'[\"\\x\"]'", false},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 HEAD "  - api_url: http://127.0.0.1:9/rest/api/3\n    project: OPS\n"
                      "    issue_type: Bug\n    description: %s\n",
                 cases[i].yaml);
        jx_t x;
        jx_config(&x, yaml);
        jx_alert(&x, "alertname=test", false);
        jx_notif(&x, "alertname=test");
        char err[TN_ERRBUF_SIZE];
        assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
        enum tn_send_result r = jx_reply(&x, 200, NO_ISSUES);
        if (r != (cases[i].ok ? TN_SEND_NEXT : TN_SEND_FAIL))
            fail_msg("%s: %d", cases[i].yaml, r);
        jx_free(&x);
    }
}

/* ---- TestJiraRetry and the replies ---- */

static void test_retry_rules(void **state)
{
    (void)state;
    static const long codes[] = {200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504};
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    for (size_t i = 0; i < TN_ARRAY_LEN(codes); i++) {
        jx_restart(&x);
        char err[TN_ERRBUF_SIZE];
        assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
        enum tn_send_result r = jx_reply(&x, codes[i], codes[i] / 100 == 2 ? NO_ISSUES : "oops");
        enum tn_send_result want = codes[i] / 100 == 2                      ? TN_SEND_NEXT
                                   : codes[i] == 429 || codes[i] / 100 == 5 ? TN_SEND_RETRY
                                                                            : TN_SEND_FAIL;
        if (r != want)
            fail_msg("status %ld: %d, want %d", codes[i], r, want);
    }
    jx_restart(&x);
    char err[TN_ERRBUF_SIZE];
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 503, "down"), TN_SEND_RETRY);
    assert_string_equal(x.o.reason, "serverError");
    assert_string_equal(x.o.err, "failed to look up existing issues: HTTP request to JIRA API: "
                                 "unexpected status code 503: down");
    jx_restart(&x);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 401, NULL), TN_SEND_FAIL);
    assert_string_equal(x.o.reason, "authError");
    jx_restart(&x);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 429, NULL), TN_SEND_RETRY);
    assert_string_equal(x.o.reason, "rateLimited");
    /* A transport failure (refused, timed out) is retried; the search makes a retry safe. */
    jx_restart(&x);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    tn_out_response_t resp = {.curl_code = 28, .error = "Operation timed out", .body = ""};
    x.o = (tn_send_outcome_t){.result = TN_SEND_DONE, .reason = "other"};
    x.s.ic->type->classify(&x.s, &resp, &x.o);
    assert_int_equal(x.o.result, TN_SEND_RETRY);
    jx_free(&x);
}

/* A step failing halfway: the search succeeded, the create fails; the retry starts over with
 * a new search. */
static void test_step_fails_halfway(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test,instance=vm1", false);
    jx_notif(&x, "alertname=test");
    const char *search =
        SEARCH_BODY("(resolution is EMPTY or resolution != \\\"WONTFIX\\\") and (resolutiondate "
                    "is EMPTY OR resolutiondate \\u003e= -60m) and " JQL_TAIL);
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200, NO_ISSUES), TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 500, "boom"), TN_SEND_RETRY);
    assert_string_equal(x.o.err,
                        "failed to POST request to \"issue\": unexpected status code 500: boom");
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-7", "new")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-7", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 502, NULL), TN_SEND_RETRY);
    assert_string_equal(x.o.err,
                        "failed to PUT request to \"issue/OPS-7\": unexpected status code 502");
    /* The transitions: a 5xx on the read or on the move is retried too. */
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-7", "done")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-7", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-7/transitions", "");
    assert_int_equal(jx_reply(&x, 503, NULL), TN_SEND_RETRY);
    jx_restart(&x);
    jx_expect(&x, "POST", API "/search", search);
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-7", "done")), TN_SEND_NEXT);
    jx_expect(&x, "PUT", API "/issue/OPS-7", ISSUE_TEST_VM1(""));
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    jx_expect(&x, "GET", API "/issue/OPS-7/transitions", "");
    assert_int_equal(jx_reply(&x, 200, "{\"transitions\":[{\"id\":\"3\",\"name\":\"REOPEN\"}]}"),
                     TN_SEND_NEXT);
    jx_expect(&x, "POST", API "/issue/OPS-7/transitions", "{\"transition\":{\"id\":\"3\"}}\n");
    assert_int_equal(jx_reply(&x, 400, "{\"errorMessages\":[\"no\"]}"), TN_SEND_FAIL);
    assert_string_equal(x.o.reason, "clientError");
    jx_free(&x);
}

/* Replies that cannot be read fail without a retry. */
static void test_unreadable_replies(void **state)
{
    (void)state;
    jx_t x;
    jx_config(&x, HEAD NOTIFY_CONF);
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    char err[TN_ERRBUF_SIZE];
    static const char *const bad[] = {"<html>", "[]", "{\"issues\":{}}", "{\"issues\":[1]}",
                                      "{\"issues\":[{\"key\":"};
    for (size_t i = 0; i < TN_ARRAY_LEN(bad); i++) {
        jx_restart(&x);
        assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
        if (jx_reply(&x, 200, bad[i]) != TN_SEND_FAIL)
            fail_msg("search reply %s: not a failure", bad[i]);
        jx_err(&x, "failed to look up existing issues: ");
    }
    jx_restart(&x);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 200, ISSUE("OPS-1", "done")), TN_SEND_NEXT);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 204, NULL), TN_SEND_NEXT);
    assert_int_equal(x.s.ic->type->build(&x.s, &x.f.req, err, sizeof(err)), TN_OK);
    assert_int_equal(jx_reply(&x, 200, "{\"transitions\":"), TN_SEND_FAIL);
    jx_err(&x, "cannot read the transitions of issue OPS-1");
    jx_free(&x);
}

/* ---- configuration ---- */

static void test_config(void **state)
{
    (void)state;
    jx_t x;
    /* api_url from global; http_config goes with every request. */
    jx_config(&x, "global:\n  jira_api_url: https://jira.example.com/rest/api/2\n" HEAD
                  "  - project: OPS\n    issue_type: Bug\n"
                  "    http_config:\n      basic_auth:\n        username: u\n"
                  "        password: p\n");
    jx_alert(&x, "alertname=test", false);
    jx_notif(&x, "alertname=test");
    assert_true(x.s.ic->send_resolved);
    jx_expect(&x, "POST", "https://jira.example.com/rest/api/2/search",
              SEARCH_BODY("statusCategory != Done and " JQL_TAIL));
    assert_non_null(x.f.req.http);
    assert_string_equal(x.f.req.http->basic_auth_username, "u");
    jx_free(&x);
}

static void test_config_errors(void **state)
{
    (void)state;
    const char *g = "global:\n  jira_api_url: https://jira.example.com/rest/api/2\n";
    char yaml[1024];
    fx_config_error(HEAD "  - api_url: " API "\n    issue_type: Bug\n",
                    "missing project in jira_config");
    fx_config_error(HEAD "  - api_url: " API "\n    project: ''\n    issue_type: Bug\n",
                    "missing project in jira_config");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n",
                    "missing issue_type in jira_config");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    api_type: server\n",
                    "unknown api_type on jira_config, must be auto, cloud or datacenter");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    api_type: ''\n",
                    "unknown api_type on jira_config");
    fx_config_error(HEAD "  - project: OPS\n    issue_type: Bug\n", "no global Jira Cloud URL set");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    fields: [a]\n",
                    "fields: expected a mapping");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    summary: [a]\n",
                    "summary: expected a string or a mapping");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    description: {template: x, enable_update: maybe}\n",
                    "description: enable_update: expected a boolean");
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n    issue_type: Bug\n"
                         "    summary: {text: x}\n",
                    "summary: unknown field \"text\"");
    fx_config_error(HEAD "  - api_url: ftp://jira/\n    project: OPS\n    issue_type: Bug\n",
                    "unsupported scheme");
    snprintf(yaml, sizeof(yaml), "%s" HEAD "  - project: OPS\n    issue_type: Bug\n    nope: 1\n",
             g);
    fx_config_error(yaml, "unknown field \"nope\"");
    snprintf(yaml, sizeof(yaml),
             "%s" HEAD "  - project: OPS\n    issue_type: Bug\n    reopen_duration: soon\n", g);
    fx_config_error(yaml, "reopen_duration");
    /* Errors carry the position of the integration. */
    fx_config_error(HEAD "  - api_url: " API "\n    project: OPS\n", "test.yml:6:");
    /* Other api_type values load. */
    for (int i = 0; i < 3; i++) {
        static const char *const types[] = {"auto", "cloud", "datacenter"};
        snprintf(yaml, sizeof(yaml),
                 "%s" HEAD "  - project: OPS\n    issue_type: Bug\n    api_type: %s\n", g,
                 types[i]);
        char err[TN_ERRBUF_SIZE] = "";
        tn_config_t *c = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
        if (!c)
            fail_msg("%s: %s", types[i], err);
        tn_config_unref(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_new_issue),
        cmocka_unit_test(test_update_existing_issue),
        cmocka_unit_test(test_update_disabled_summary_description),
        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_reopen_issue),
        cmocka_unit_test(test_reopen_beyond_duration_creates),
        cmocka_unit_test(test_resolve_issue),
        cmocka_unit_test(test_resolve_transition_not_found),
        cmocka_unit_test(test_reopen_transition_not_found),
        cmocka_unit_test(test_no_transition),
        cmocka_unit_test(test_resolved_without_issue),
        cmocka_unit_test(test_two_issues),
        cmocka_unit_test(test_search_jql),
        cmocka_unit_test(test_search_endpoint),
        cmocka_unit_test(test_url_join),
        cmocka_unit_test(test_templating),
        cmocka_unit_test(test_template_failures),
        cmocka_unit_test(test_custom_fields_and_long_summary),
        cmocka_unit_test(test_deep_copy_with_template),
        cmocka_unit_test(test_custom_field_overrides),
        cmocka_unit_test(test_custom_field_not_encodable),
        cmocka_unit_test(test_description_limit_and_labels),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_api_v3_description),
        cmocka_unit_test(test_v3_json_checks),
        cmocka_unit_test(test_retry_rules),
        cmocka_unit_test(test_step_fails_halfway),
        cmocka_unit_test(test_unreadable_replies),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
