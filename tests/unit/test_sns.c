/* Amazon SNS receiver: SigV4 against AWS's published test-suite values and a request signed by
 * hand here, the Publish request parameter by parameter (firing, resolved, mixed, FIFO,
 * templates, limits), credentials and region from the config or the environment, every config
 * error, and the verdict on SNS's replies. */
#include "rcv_fixture.h"

#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "../../receivers/rcv.h"
#include "tocsin/clock.h"
#include "tocsin/utf8.h"

#define HEAD "route:\n  receiver: team\nreceivers:\n- name: team\n  sns_configs:\n"
#define KEYS                                                                                       \
    "    sigv4:\n      region: eu-west-1\n      access_key: AKID\n      secret_key: SECRET\n"
#define TOPIC "arn:aws:sns:eu-west-1:123456789012:alerts"

/* AWS's SigV4 test suite: credentials, and the time of every request in it. */
#define SUITE_KEY    "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME   (INT64_C(1440938160) * FX_S) /* 2015-08-30T12:36:00Z */

static tn_time_t fake_now = SUITE_TIME;

static int setup(void **state)
{
    (void)state;
    tn_clock_set_fake(&fake_now);
    static const char *const env[] = {
        "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN", "AWS_REGION",     "AWS_DEFAULT_REGION",    "AWS_CA_BUNDLE"};
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        unsetenv(env[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tn_clock_set_fake(NULL);
    return 0;
}

static const char *header(const tn_out_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* ---- SigV4 ---- */

static void suite_sign(const char *method, const char *url, const char *ctype, const char *body,
                       const char *want)
{
    tn_out_request_t r;
    tn_rcv_aws_creds_t cr = {SUITE_KEY, SUITE_SECRET, NULL};
    char err[TN_ERRBUF_SIZE];
    tn_out_request_init(&r);
    r.method = strdup(method);
    tn_out_request_set_url(&r, url);
    if (ctype)
        tn_out_request_add_header(&r, "Content-Type", ctype);
    if (body)
        tn_buf_puts(&r.body, body);
    assert_int_equal(
        tn_rcv_sigv4_sign(&r, &cr, "us-east-1", "service", SUITE_TIME, err, sizeof(err)), TN_OK);
    assert_string_equal(header(&r, "X-Amz-Date"), "20150830T123600Z");
    assert_null(header(&r, "X-Amz-Security-Token"));
    assert_string_equal(header(&r, "Authorization"), want);
    tn_out_request_free(&r);
}

static void test_sigv4_suite(void **state)
{
    (void)state;
    /* get-vanilla */
    suite_sign("GET", "https://example.amazonaws.com/", NULL, NULL,
               "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
               "SignedHeaders=host;x-amz-date, "
               "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    /* get-vanilla-query-order-key-case: the query is sorted */
    suite_sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", NULL, NULL,
               "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
               "SignedHeaders=host;x-amz-date, "
               "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    /* post-x-www-form-urlencoded */
    suite_sign("POST", "https://example.amazonaws.com/", "application/x-www-form-urlencoded",
               "Param1=value1",
               "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
               "SignedHeaders=content-type;host;x-amz-date, "
               "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
    /* The derived key of AWS's signing documentation (its IAM example). */
    unsigned char key[32];
    char hex[65];
    tn_rcv_sigv4_key(SUITE_SECRET, "20150830", "us-east-1", "iam", key);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    assert_string_equal(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

static void hmac(const unsigned char *k, size_t kl, const char *m, unsigned char out[32])
{
    assert_int_equal(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), k, kl,
                                     (const unsigned char *)m, strlen(m), out),
                     0);
}

static void sha_hex(const char *s, char out[65])
{
    unsigned char h[32];
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256((const unsigned char *)s, strlen(s), h, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)s, strlen(s), h, 0);
#endif
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The Publish request the receiver signs, signed again here step by step from AWS's
 * description: the canonical request written out, then the key chain and the signature. */
static void test_sigv4_by_hand(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_url: http://127.0.0.1:4566/sns\n    topic_arn: " TOPIC "\n"
                       "    subject: S\n    message: M\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    setenv("AWS_SESSION_TOKEN", "not-used-with-static-keys", 1);
    fx_build_ok(&f, 0);
    unsetenv("AWS_SESSION_TOKEN");
    const char *body = "Action=Publish&Message=M&Subject=S&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%"
                       "3A123456789012%3Aalerts&Version=2010-03-31";
    assert_string_equal(tn_buf_cstr(&f.req.body), body);
    char body_hash[65], creq_hash[65];
    sha_hex(body, body_hash);
    char creq[1024];
    snprintf(creq, sizeof(creq),
             "POST\n/sns/\n\n"
             "content-type:application/x-www-form-urlencoded\n"
             "host:127.0.0.1:4566\n"
             "x-amz-date:20150830T123600Z\n\n"
             "content-type;host;x-amz-date\n%s",
             body_hash);
    sha_hex(creq, creq_hash);
    char sts[512];
    snprintf(sts, sizeof(sts),
             "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/eu-west-1/sns/aws4_request\n%s",
             creq_hash);
    unsigned char k[32], sig[32];
    hmac((const unsigned char *)"AWS4SECRET", 10, "20150830", k);
    hmac(k, 32, "eu-west-1", k);
    hmac(k, 32, "sns", k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, sts, sig);
    char want[256];
    int n = snprintf(want, sizeof(want),
                     "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/sns/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date, Signature=");
    for (int i = 0; i < 32; i++)
        n += snprintf(want + n, sizeof(want) - n, "%02x", sig[i]);
    assert_string_equal(fx_header(&f, "Authorization"), want);
    assert_null(fx_header(&f, "X-Amz-Security-Token"));
    fx_free(&f);
}

/* ---- the Publish parameters ---- */

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static char *form_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+')
            out[n++] = ' ';
        else if (s[i] == '%' && i + 2 < len) {
            out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            out[n++] = s[i];
    }
    out[n] = 0;
    return out;
}

/* The decoded value of a body parameter, or NULL; the caller frees it. */
static char *param(fx_t *f, const char *key)
{
    const char *p = tn_buf_cstr(&f->req.body);
    size_t kl = strlen(key);
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        if (eq) {
            char *k = form_decode(p, (size_t)(eq - p));
            bool hit = strcmp(k, key) == 0;
            free(k);
            if (hit)
                return form_decode(eq + 1, len - (size_t)(eq - p) - 1);
        }
        (void)kl;
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

static void param_eq(fx_t *f, const char *key, const char *want)
{
    char *v = param(f, key);
    if (!v)
        fail_msg("%s: absent in %s", key, tn_buf_cstr(&f->req.body));
    if (strcmp(v, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", key, v, want);
    free(v);
}

static void param_absent(fx_t *f, const char *key)
{
    char *v = param(f, key);
    if (v)
        fail_msg("%s: present (%s)", key, v);
}

/* The body's keys in order: the SDK's encoder sorts them. */
static void keys_eq(fx_t *f, const char *want)
{
    char got[2048] = "";
    const char *p = tn_buf_cstr(&f->req.body);
    size_t n = 0;
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        n += snprintf(got + n, sizeof(got) - n, "%s%.*s", n ? " " : "",
                      (int)(eq ? eq - p : (long)len), p);
        p += len;
        if (*p == '&')
            p++;
    }
    assert_string_equal(got, want);
}

static void test_firing(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n" KEYS);
    fx_alert(&f, "alertname=Disk,instance=a", "summary=Full", false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://sns.eu-west-1.amazonaws.com/");
    assert_null(f.req.method); /* POST */
    assert_string_equal(fx_header(&f, "Content-Type"), "application/x-www-form-urlencoded");
    assert_string_equal(fx_header(&f, "X-Amz-Date"), "20150830T123600Z");
    const char *authz = fx_header(&f, "Authorization");
    assert_non_null(authz);
    const char *prefix = "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/sns/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, Signature=";
    assert_true(strncmp(authz, prefix, strlen(prefix)) == 0);
    assert_int_equal(strlen(authz), strlen(prefix) + 64);
    assert_int_equal(strspn(authz + strlen(prefix), "0123456789abcdef"), 64);
    keys_eq(&f, "Action Message Subject TopicArn Version");
    param_eq(&f, "Action", "Publish");
    param_eq(&f, "Version", "2010-03-31");
    param_eq(&f, "TopicArn", TOPIC);
    param_eq(&f, "Subject", "[FIRING:1] Disk (a)");
    /* Alertmanager's sns.default.message: common annotations, then the alert list. */
    param_eq(&f, "Message",
             "Full\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n"
             "Annotations:\n - summary = Full\nSource: http://prom/graph\n\n\n\n");
    /* The secret never shows in what is sent but the signature. */
    assert_null(strstr(tn_buf_cstr(&f.req.body), "SECRET"));
    fx_free(&f);
}

static void test_resolved_and_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - phone_number: '+15555550100'\n" KEYS);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    keys_eq(&f, "Action Message PhoneNumber Subject Version");
    param_eq(&f, "PhoneNumber", "+15555550100");
    param_eq(&f, "Subject", "[RESOLVED] Disk (a)");
    param_eq(&f, "Message",
             "\n\n\nAlerts Resolved:\nLabels:\n - alertname = Disk\n"
             " - instance = a\nAnnotations:\nSource: http://prom/graph\n\n\n");
    fx_free(&f);

    fx_config(&f,
              HEAD "  - target_arn: arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/a/b\n" KEYS);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    keys_eq(&f, "Action Message Subject TargetArn Version");
    param_eq(&f, "TargetArn", "arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/a/b");
    param_eq(&f, "Subject", "[FIRING:1] Disk ");
    param_eq(&f, "Message",
             "\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\nAnnotations:\n"
             "Source: http://prom/graph\n\n\n\nAlerts Resolved:\nLabels:\n - alertname = Disk\n"
             " - instance = b\nAnnotations:\nSource: http://prom/graph\n\n\n");
    fx_free(&f);
}

static void test_custom_templates(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - api_url: 'http://127.0.0.1:9/{{ .GroupLabels.alertname }}'\n"
                       "    topic_arn: 'arn:aws:sns:eu-west-1:123456789012:{{ .Receiver }}'\n"
                       "    subject: '{{ .Status }} & more'\n"
                       "    message: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}'\n"
                       "    attributes:\n      severity: '{{ .CommonLabels.severity }}'\n"
                       "      '{{ .Receiver }}': team\n      a: '1'\n" KEYS);
    fx_alert(&f, "alertname=Disk,instance=a,severity=page", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b,severity=page", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/Disk/");
    /* Exactly as the SDK's query encoder writes it. */
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "Action=Publish&Message=a+b+"
                        "&MessageAttributes.entry.1.Name=a"
                        "&MessageAttributes.entry.1.Value.DataType=String"
                        "&MessageAttributes.entry.1.Value.StringValue=1"
                        "&MessageAttributes.entry.2.Name=severity"
                        "&MessageAttributes.entry.2.Value.DataType=String"
                        "&MessageAttributes.entry.2.Value.StringValue=page"
                        "&MessageAttributes.entry.3.Name=team"
                        "&MessageAttributes.entry.3.Value.DataType=String"
                        "&MessageAttributes.entry.3.Value.StringValue=team"
                        "&Subject=firing+%26+more"
                        "&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Ateam"
                        "&Version=2010-03-31");
    fx_free(&f);
}

static void test_fifo(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - topic_arn: " TOPIC ".fifo\n    message: M\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    char hash[65];
    tn_rcv_sha256_hex(f.notif.group_key, hash);
    keys_eq(&f, "Action Message MessageDeduplicationId MessageGroupId Subject TopicArn Version");
    param_eq(&f, "MessageDeduplicationId", hash);
    param_eq(&f, "MessageGroupId", hash);
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

static void build_long(fx_t *f, const char *target, const char *subject, const char *msg)
{
    size_t cap = strlen(subject) + strlen(msg) + 512;
    char *yaml = malloc(cap);
    snprintf(yaml, cap,
             HEAD "  - %s\n    subject: '%s'\n    message: '%s'\n    attributes:\n"
                  "      truncated: 'no'\n" KEYS,
             target, subject, msg);
    fx_config(f, yaml);
    free(yaml);
    fx_alert(f, "alertname=Disk", NULL, false);
    fx_notif(f, "alertname=Disk");
    fx_build_ok(f, 0);
}

static void test_truncated(void **state)
{
    (void)state;
    fx_t f;
    /* A message of more than 256 KiB is cut at 256 KiB, and says so in an attribute. */
    char *msg = repeat("m", 256 * 1024 + 10);
    build_long(&f, "topic_arn: " TOPIC, "S", msg);
    char *got = param(&f, "Message");
    assert_int_equal(strlen(got), 256 * 1024);
    free(got);
    param_eq(&f, "MessageAttributes.entry.1.Name", "truncated");
    param_eq(&f, "MessageAttributes.entry.1.Value.StringValue", "true");
    fx_free(&f);
    free(msg);

    /* Exactly at the limit: as it is, and the config's attribute stays. */
    msg = repeat("m", 256 * 1024);
    build_long(&f, "topic_arn: " TOPIC, "S", msg);
    got = param(&f, "Message");
    assert_int_equal(strlen(got), 256 * 1024);
    free(got);
    param_eq(&f, "MessageAttributes.entry.1.Value.StringValue", "no");
    fx_free(&f);
    free(msg);

    /* An SMS: 1600 bytes, back to a whole character (a euro sign is three bytes). */
    msg = repeat("\xe2\x82\xac", 600);
    build_long(&f, "phone_number: '+15555550100'", "S", msg);
    got = param(&f, "Message");
    assert_int_equal(strlen(got), 1599);
    assert_true(tn_utf8_valid(got, strlen(got)));
    free(got);
    param_eq(&f, "MessageAttributes.entry.1.Value.StringValue", "true");
    fx_free(&f);
    free(msg);

    /* A subject of more than 100 characters: 99 and an ellipsis. */
    char *subject = repeat("\xc3\xa9", 101);
    build_long(&f, "topic_arn: " TOPIC, subject, "M");
    got = param(&f, "Subject");
    assert_int_equal(tn_utf8_count(got, strlen(got)), 100);
    assert_memory_equal(got + 99 * 2, "\xe2\x80\xa6", 3);
    free(got);
    param_eq(&f, "MessageAttributes.entry.1.Value.StringValue", "no");
    fx_free(&f);
    free(subject);
    subject = repeat("s", 100);
    build_long(&f, "topic_arn: " TOPIC, subject, "M");
    param_eq(&f, "Subject", subject);
    fx_free(&f);
    free(subject);
}

static void test_no_subject(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n    subject: ''\n    message: M\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    param_absent(&f, "Subject");
    fx_free(&f);
}

/* ---- credentials, region, endpoint ---- */

static void test_environment(void **state)
{
    (void)state;
    fx_t f;
    char err[TN_ERRBUF_SIZE];
    fx_config(&f, HEAD "  - topic_arn: arn:aws:sns:ap-south-1:123456789012:t\n    message: M\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");

    assert_int_equal(fx_build(&f, 0, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "no AWS credentials"));

    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
    setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
    /* No region anywhere else: the topic's. */
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://sns.ap-south-1.amazonaws.com/");
    assert_string_equal(fx_header(&f, "X-Amz-Security-Token"), "TOKEN");
    assert_non_null(strstr(fx_header(&f, "Authorization"),
                           "Credential=ENVKEY/20150830/ap-south-1/sns/aws4_request, "
                           "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "));
    /* The environment's region comes before the ARN's, as the SDK reads it. */
    setenv("AWS_DEFAULT_REGION", "cn-north-1", 1);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://sns.cn-north-1.amazonaws.com.cn/");
    setenv("AWS_REGION", "us-east-2", 1);
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://sns.us-east-2.amazonaws.com/");
    setenv("AWS_REGION", "us-east-2.evil.example/", 1);
    assert_int_equal(fx_build(&f, 0, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "invalid region"));
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    /* The older names the SDK reads too. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_ACCESS_KEY", "OLDKEY", 1);
    setenv("AWS_SECRET_KEY", "OLDSECRET", 1);
    fx_build_ok(&f, 0);
    assert_non_null(strstr(fx_header(&f, "Authorization"), "Credential=OLDKEY/"));
    unsetenv("AWS_ACCESS_KEY");
    unsetenv("AWS_SECRET_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    fx_free(&f);

    /* The config's keys win over the environment's, and carry no session token. */
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
    setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_non_null(strstr(fx_header(&f, "Authorization"), "Credential=AKID/"));
    assert_null(fx_header(&f, "X-Amz-Security-Token"));
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    fx_free(&f);

    /* A phone number has no ARN to take a region from. */
    fx_config(&f, HEAD "  - phone_number: '+15555550100'\n    sigv4:\n      access_key: A\n"
                       "      secret_key: B\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    assert_int_equal(fx_build(&f, 0, err, sizeof(err)), TN_ERR_INVAL);
    assert_string_equal(
        err, "region not configured in sns.sigv4.region or in default credentials chain");
    fx_free(&f);
}

static void test_endpoint(void **state)
{
    (void)state;
    /* api_url as the SDK's base endpoint: the operation's path "/" joined to its own. */
    static const char *const cases[][2] = {
        {"https://sns.us-east-2.amazonaws.com", "https://sns.us-east-2.amazonaws.com/"},
        {"https://sns.us-east-2.amazonaws.com/", "https://sns.us-east-2.amazonaws.com/"},
        {"http://127.0.0.1:4566/sns", "http://127.0.0.1:4566/sns/"},
        {"http://127.0.0.1:4566/a/b//", "http://127.0.0.1:4566/a/b/"},
        {"http://127.0.0.1:4566/a?x=1", "http://127.0.0.1:4566/a/?x=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_t f;
        char yaml[512];
        snprintf(yaml, sizeof(yaml), HEAD "  - api_url: '%s'\n    topic_arn: " TOPIC "\n" KEYS,
                 cases[i][0]);
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        fx_build_ok(&f, 0);
        assert_string_equal(f.req.url, cases[i][1]);
        fx_free(&f);
    }
    static const char *const bad[] = {"sns.us-east-2.amazonaws.com", "ftp://h/", "{{ .Foo }}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fx_t f;
        char yaml[512], err[TN_ERRBUF_SIZE];
        snprintf(yaml, sizeof(yaml), HEAD "  - api_url: '%s'\n    topic_arn: " TOPIC "\n" KEYS,
                 bad[i]);
        fx_config(&f, yaml);
        fx_alert(&f, "alertname=Disk", NULL, false);
        fx_notif(&f, "alertname=Disk");
        assert_int_equal(fx_build(&f, 0, err, sizeof(err)), TN_ERR_INVAL);
        fx_free(&f);
    }
}

static void test_http_config(void **state)
{
    (void)state;
    fx_t f;
    /* SigV4 owns Authorization: http_config's credentials are not sent with it. */
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n" KEYS "    http_config:\n"
                       "      basic_auth:\n        username: u\n        password: p\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_non_null(f.req.http);
    assert_null(f.req.http->basic_auth_username);
    assert_null(f.req.http->basic_auth_password);
    fx_free(&f);
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n" KEYS "    http_config:\n"
                       "      authorization:\n        credentials: c\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_null(f.req.http->authorization_credentials);
    fx_free(&f);
    /* The SDK's CA bundle variable replaces tls_config's roots. */
    setenv("AWS_CA_BUNDLE", "/etc/tocsin-test/bundle.pem", 1);
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n" KEYS "    http_config:\n"
                       "      tls_config:\n        ca_file: /etc/tocsin-test/ca.pem\n");
    unsetenv("AWS_CA_BUNDLE");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.http->tls.ca_file, "/etc/tocsin-test/bundle.pem");
    fx_free(&f);
}

static void test_template_errors(void **state)
{
    (void)state;
    fx_t f;
    char err[TN_ERRBUF_SIZE];
    fx_config(&f, HEAD "  - topic_arn: '{{ template \"tn.no.such\" . }}'\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    if (fx_engine_fails_missing(&f)) {
        assert_int_equal(fx_build(&f, 0, err, sizeof(err)), TN_ERR_INVAL);
        assert_string_equal(err, "execute 'topic_arn' template: failed");
    }
    fx_free(&f);
    /* A broken message or subject still pages, with the fallback text. */
    fx_config(&f, HEAD "  - topic_arn: " TOPIC "\n    subject: '{{ template \"tn.no.such\" . }}'\n"
                       "    message: '{{ template \"tn.no.such\" . }}'\n" KEYS);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    if (fx_engine_fails_missing(&f)) {
        fx_build_ok(&f, 0);
        param_eq(&f, "Subject", "[FIRING:1] Disk");
        param_eq(&f, "Message", "[FIRING:1] Disk");
    }
    fx_free(&f);
}

/* ---- config ---- */

static void test_config_errors(void **state)
{
    (void)state;
    /* Upstream's cases (notify/sns config_test.go), with their verdicts. */
    fx_config_error(HEAD "  - {}\n",
                    "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config");
    fx_config_error(HEAD "  - topic_arn: topic\n    target_arn: target\n",
                    "must provide either a Target ARN, Topic ARN, or Phone Number");
    fx_config_error(HEAD "  - topic_arn: topic\n    phone_number: phone\n",
                    "must provide either a Target ARN, Topic ARN, or Phone Number");
    fx_config_error(HEAD "  - sigv4:\n      access_key: abc\n      secret_key: abc\n",
                    "must provide either a Target ARN, Topic ARN, or Phone Number");
    fx_config_error(HEAD "  - topic_arn: topic\n    sigv4:\n      access_key: abc\n",
                    "must provide a AWS SigV4 Access key and Secret Key if credentials are "
                    "specified in the SigV4 config");
    fx_config_error(HEAD "  - topic_arn: topic\n    sigv4:\n      secret_key: abc\n",
                    "must provide a AWS SigV4 Access key and Secret Key");
    fx_config_error(HEAD "  - topic_arn: topic\n    sigv4:\n      external_id: x\n",
                    "external_id can only be used with role_arn");
    /* The error names where it is. */
    fx_config_error(HEAD "  - {}\n", "test.yml:");
    fx_config_error(HEAD "  - topic_arn: t\n    sigv4:\n      bogus: 1\n", "bogus");
    /* What tocsin refuses by name. */
    fx_config_error(HEAD "  - topic_arn: t\n    sigv4:\n      role_arn: arn:aws:iam::1:role/r\n",
                    "sigv4.role_arn is not supported by tocsin: ");
    fx_config_error(HEAD "  - topic_arn: t\n    sigv4:\n      role_arn: arn:aws:iam::1:role/r\n"
                         "      external_id: x\n",
                    "sigv4.role_arn is not supported by tocsin: ");
    fx_config_error(HEAD "  - topic_arn: t\n    sigv4:\n      profile: p\n",
                    "sigv4.profile is not supported by tocsin: ");

    /* Upstream's accepted cases, and the other keys it reads. */
    static const char *const ok[] = {
        HEAD "  - target_arn: target\n",
        HEAD "  - topic_arn: topic\n",
        HEAD "  - phone_number: phone\n    sigv4:\n      access_key: abc\n      secret_key: abc\n",
        /* an exclusive or of three passes with all three too */
        HEAD "  - topic_arn: a\n    target_arn: b\n    phone_number: c\n",
        HEAD "  - topic_arn: t\n    send_resolved: false\n    use_aws_http_client: true\n"
             "    sigv4:\n      region: r\n      service_name: sns\n"
             "      use_fips_sts_endpoint: true\n    attributes: {a: b}\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        fx_t f;
        fx_config(&f, ok[i]);
        fx_free(&f);
    }
}

static void test_send_resolved_default(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - topic_arn: t\n");
    assert_true(fx_ic(&f, 0)->send_resolved);
    fx_free(&f);
}

/* ---- replies ---- */

static const char *const xml_error =
    "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n"
    "  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n"
    "    <Message>%s</Message>\n  </Error>\n"
    "  <RequestId>5d9a8b1e-0000-0000-0000-000000000000</RequestId>\n</ErrorResponse>\n";

static enum tn_send_result classify_xml(fx_t *f, long status, const char *code, const char *msg,
                                        const char **reason, char *err, size_t errlen)
{
    char body[1024];
    snprintf(body, sizeof(body), xml_error, code, msg);
    tn_out_response_t resp = {.status = status, .body = body, .body_len = strlen(body)};
    *reason = NULL;
    return fx_send_classify(fx_ic(f, 0), &resp, reason, err, errlen);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    fx_config(&f, HEAD "  - topic_arn: t\n");
    assert_int_equal(fx_classify(&f, 0, 200,
                                 "<PublishResponse><PublishResult><MessageId>m-1</MessageId>"
                                 "</PublishResult></PublishResponse>",
                                 "text/xml", &reason),
                     TN_SEND_DONE);
    assert_null(reason);
    assert_int_equal(fx_classify(&f, 0, 200, "", NULL, &reason), TN_SEND_DONE);

    assert_int_equal(classify_xml(&f, 400, "InvalidParameter",
                                  "Invalid parameter: TopicArn &amp; &lt;more&gt; &#233;&#x21;",
                                  &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(reason, "clientError");
    assert_string_equal(
        err, "unexpected status code 400: Invalid parameter: TopicArn & <more> \xc3\xa9!");
    assert_int_equal(classify_xml(&f, 403, "AuthorizationError", "User: x is not authorized",
                                  &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(reason, "authError");
    assert_string_equal(err, "unexpected status code 403: User: x is not authorized");
    assert_int_equal(classify_xml(&f, 404, "NotFound", "", &reason, err, sizeof(err)),
                     TN_SEND_FAIL);
    assert_string_equal(err, "unexpected status code 404: NotFound");
    /* Throttling: as the SDK's retryer, whatever the status. */
    assert_int_equal(
        classify_xml(&f, 400, "Throttling", "Rate exceeded", &reason, err, sizeof(err)),
        TN_SEND_RETRY);
    assert_string_equal(reason, "clientError");
    assert_int_equal(classify_xml(&f, 429, "Throttled", "Rate exceeded", &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(fx_classify(&f, 0, 429, "", NULL, &reason), TN_SEND_RETRY);
    assert_int_equal(classify_xml(&f, 500, "InternalError", "oops", &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_string_equal(err, "unexpected status code 500: oops");
    assert_int_equal(fx_classify(&f, 0, 503, "Service Unavailable", "text/plain", &reason),
                     TN_SEND_RETRY);
    assert_int_equal(fx_classify(&f, 0, 401, "no", "text/plain", &reason), TN_SEND_FAIL);
    /* Transport trouble. */
    tn_out_response_t resp = {.curl_code = 28, .error = "Operation timed out"};
    reason = NULL;
    assert_int_equal(fx_send_classify(fx_ic(&f, 0), &resp, &reason, err, sizeof(err)),
                     TN_SEND_RETRY);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigv4_suite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigv4_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolved_and_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_resolved_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
