/* Email receiver: the MIME message, RFC 2047 headers, quoted-printable bodies, the SMTP
 * envelope, TLS mode and SASL settings, globals and config errors. */
#include "rcv_fixture.h"

#define ROUTE  "route:\n  receiver: team\nreceivers:\n- name: team\n  email_configs:\n"
#define GLOBAL "global:\n  smtp_smarthost: 'mx.example:25'\n  smtp_from: 'Alerts <am@example>'\n"

static const char *body(fx_t *f)
{
    return tn_buf_cstr(&f->req.body);
}

static void has(fx_t *f, const char *want)
{
    if (!strstr(body(f), want))
        fail_msg("message lacks [%s]:\n%s", want, body(f));
}

static void test_message(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, GLOBAL ROUTE "  - to: 'ops@example, \"Doe, J\" <jd@example>'\n"
                               "    hello: me.example\n"
                               "    headers:\n      subject: 'Disk \xc3\xa9 full'\n"
                               "      x-team: storage\n"
                               "    text: \"line one  \\nx=y\\n\"\n"
                               "    html: '<b>hi</b>'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "smtp://mx.example:25/me.example");
    assert_string_equal(f.req.mail_from, "am@example");
    assert_int_equal(f.req.nmail_rcpt, 2);
    assert_string_equal(f.req.mail_rcpt[0], "ops@example");
    assert_string_equal(f.req.mail_rcpt[1], "jd@example");
    assert_true(f.req.mail_require_tls); /* smtp_require_tls defaults to true */
    assert_null(f.req.mail_login_options);
    /* Header names canonical, values RFC 2047 when not plain ASCII. */
    has(&f, "Subject: =?utf-8?q?Disk_=C3=A9_full?=\r\n");
    has(&f, "X-Team: storage\r\n");
    has(&f, "To: ops@example, \"Doe, J\" <jd@example>\r\n");
    has(&f, "From: Alerts <am@example>\r\n");
    has(&f, "Message-Id: <");
    has(&f, "\r\nDate: ");
    has(&f, "Content-Type: multipart/alternative;  boundary=");
    has(&f, "MIME-Version: 1.0\r\n\r\n");
    const char *b = strstr(body(&f), "boundary=") + 9;
    char boundary[61];
    memcpy(boundary, b, 60);
    boundary[60] = 0;
    assert_int_equal(strspn(boundary, "0123456789abcdef"), 60);
    char part[512];
    snprintf(part, sizeof(part),
             "MIME-Version: 1.0\r\n\r\n--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
             "Content-Type: text/plain; charset=UTF-8\r\n\r\nline one =20\r\nx=3Dy\r\n"
             "\r\n--%s\r\n",
             boundary, boundary);
    has(&f, part);
    snprintf(part, sizeof(part),
             "Content-Type: text/html; charset=UTF-8\r\n\r\n<b>hi</b>\r\n--%s--\r\n", boundary);
    has(&f, part);
    fx_free(&f);
}

static void test_quoted_printable_lines(void **state)
{
    (void)state;
    char text[200];
    memset(text, 'a', 100);
    text[100] = 0;
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), GLOBAL ROUTE "  - to: a@b\n    html: ''\n    text: '%s'\n", text);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    /* 75 bytes and a soft break, then the rest. */
    char want[200];
    memset(want, 'a', 75);
    memcpy(want + 75, "=\r\n", 3);
    memset(want + 78, 'a', 25);
    memcpy(want + 103, "\r\n--", 5);
    has(&f, want);
    assert_null(strstr(body(&f), "text/html")); /* an empty html leaves its part out */
    fx_free(&f);
}

static void test_tls_modes_and_auth(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, GLOBAL "  smtp_auth_username: u\n  smtp_auth_password: pw\n"
                         "  smtp_auth_identity: id\n" ROUTE "  - to: a@b\n    smarthost: 'mx:465'\n"
                         "  - to: a@b\n    smarthost: 'mx:465'\n    force_implicit_tls: false\n"
                         "  - to: a@b\n    require_tls: false\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "smtps://mx:465/localhost");
    assert_false(f.req.mail_require_tls); /* implicit TLS needs no STARTTLS */
    assert_string_equal(f.req.mail_login_options, "AUTH=PLAIN;AUTH=LOGIN");
    assert_string_equal(f.req.mail_authzid, "id");
    assert_string_equal(f.req.http->basic_auth_username, "u");
    assert_string_equal(f.req.http->basic_auth_password, "pw");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "smtp://mx:465/localhost");
    assert_true(f.req.mail_require_tls);
    fx_build_ok(&f, 2);
    assert_string_equal(f.req.url, "smtp://mx.example:25/localhost");
    assert_false(f.req.mail_require_tls);
    fx_free(&f);
    /* Only a secret: CRAM-MD5 with it. */
    fx_config(&f, GLOBAL ROUTE "  - to: a@b\n    auth_secret: s3\n    auth_username: v\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.mail_login_options, "AUTH=CRAM-MD5");
    assert_string_equal(f.req.http->basic_auth_username, "v");
    assert_string_equal(f.req.http->basic_auth_password, "s3");
    assert_null(f.req.mail_authzid);
    fx_free(&f);
}

static void test_addresses(void **state)
{
    (void)state;
    fx_t f;
    char err[TN_ERRBUF_SIZE];
    fx_config(&f, GLOBAL ROUTE "  - to: a@b\n    from: 'x@y, z@w'\n  - to: 'a@b,,c@d'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    assert_true(fx_build(&f, 0, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "exactly one 'from' address (got: 2)"));
    assert_true(fx_build(&f, 1, err, sizeof(err)) < 0);
    fx_free(&f);
}

static void test_threading(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, GLOBAL ROUTE "  - to: a@b\n    threading:\n      enabled: true\n"
                               "      thread_by_date: none\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    /* First 16 hex digits of the group key's SHA-256. */
    has(&f, "References: <alert-849f8175e1fa4477-@alertmanager>\r\n");
    has(&f, "In-Reply-To: <alert-849f8175e1fa4477-@alertmanager>\r\n");
    fx_free(&f);
}

static void test_classify(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    fx_config(&f, GLOBAL ROUTE "  - to: a@b\n");
    assert_int_equal(fx_classify(&f, 0, 250, "", NULL, &reason), TN_SEND_DONE);
    tn_out_response_t resp = {.curl_code = 67, .error = "Login denied", .body = ""};
    char err[TN_ERRBUF_SIZE];
    const tn_integration_cfg_t *ic = fx_ic(&f, 0);
    assert_int_equal(fx_send_classify(ic, &resp, &reason, err, sizeof(err)), TN_SEND_RETRY);
    assert_string_equal(err, "Login denied");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(GLOBAL ROUTE "  - from: a@b\n", "missing to address");
    fx_config_error(ROUTE "  - to: a@b\n    from: c@d\n", "no global SMTP smarthost set");
    fx_config_error(ROUTE "  - to: a@b\n    smarthost: 'mx:25'\n", "no global SMTP from set");
    fx_config_error(GLOBAL ROUTE "  - to: a@b\n    headers:\n      subject: x\n      Subject: y\n",
                    "duplicate header \"Subject\"");
    fx_config_error(GLOBAL ROUTE
                    "  - to: a@b\n    headers:\n      references: x\n"
                    "    threading:\n      enabled: true\n      thread_by_date: daily\n",
                    "conflicts with custom References");
    fx_config_error(GLOBAL ROUTE "  - to: a@b\n    threading:\n      enabled: true\n",
                    "thread_by_date must be");
    fx_config_error(GLOBAL ROUTE "  - to: a@b\n    require_tls: perhaps\n", "require_tls");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_quoted_printable_lines),
        cmocka_unit_test(test_tls_modes_and_auth),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_threading),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
