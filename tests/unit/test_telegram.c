/* Telegram receiver: the sendMessage request byte for byte (URL with the token, the sorted
 * JSON parameters), the default message, HTML escaping and the length limit in each parse
 * mode, token and chat id files, global defaults, every config error, and the reply rules
 * (Telegram's {"ok":false,...}, every failure retried). Upstream's notify/telegram tests are
 * ported as test_upstream_texts and test_upstream_failure_reasons. */
#include <stdio.h>
#include <unistd.h>

#include "rcv_fixture.h"

#define ROUTE "route:\n  receiver: team\n"
#define HEAD  ROUTE "receivers:\n- name: team\n  telegram_configs:\n"
#define TOKEN "123456789:AAExampleToken"
#define BASIC "  - bot_token: " TOKEN "\n    chat_id: -1001234567890\n"
#define URL   "https://api.telegram.org/bot" TOKEN "/sendMessage"

/* The default message's alert list for one alert, as __text_alert_list writes it. */
#define LIST_A                                                                                     \
    "Labels:\n - alertname = Disk\n - instance = a\nAnnotations:\nSource: http://prom/graph\n"
#define LIST_B                                                                                     \
    "Labels:\n - alertname = Disk\n - instance = b\nAnnotations:\nSource: http://prom/graph\n"

/* Go's encoder escapes newlines, <, > and &. */
static char *json_text(const char *s)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_json_go_string(&b, s, strlen(s));
    char *out = strndup(b.data, b.len);
    tn_buf_free(&b);
    return out;
}

static void body_is(fx_t *f, const char *prefix, const char *text)
{
    char *jt = json_text(text);
    size_t cap = strlen(prefix) + strlen(jt) + 16;
    char *want = malloc(cap);
    snprintf(want, cap, "{%s\"text\":%s}\n", prefix, jt);
    assert_string_equal(tn_buf_cstr(&f->req.body), want);
    free(want);
    free(jt);
}

static void test_firing_resolved_mixed(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD BASIC);
    fx_alert(&f, "alertname=Disk,instance=a", NULL, false);
    fx_alert(&f, "alertname=Disk,instance=b", NULL, true);
    fx_notif(&f, "alertname=Disk");
    const char *opts = "\"chat_id\":\"-1001234567890\",\"disable_web_page_preview\":\"true\","
                       "\"parse_mode\":\"HTML\",";

    /* mixed */
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, URL);
    assert_string_equal(f.req.method ? f.req.method : "POST", "POST");
    assert_string_equal(fx_header(&f, "Content-Type"), "application/json");
    body_is(&f, opts, "\n\nAlerts Firing:\n" LIST_A "\n\n\nAlerts Resolved:\n" LIST_B "\n\n");

    /* firing only */
    f.n = 1;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    body_is(&f, opts, "\n\nAlerts Firing:\n" LIST_A "\n\n\n");

    /* resolved only */
    f.nalerts[0].resolved = true;
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    body_is(&f, opts, "\n\n\nAlerts Resolved:\n" LIST_A "\n\n");
    f.n = 2;
    fx_free(&f);
}

static void test_options(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD "  - bot_token: " TOKEN "\n    chat_id: 42\n"
                       "    api_url: http://127.0.0.1:9/tg\n    message_thread_id: 1357\n"
                       "    disable_notifications: true\n    parse_mode: MarkdownV2\n"
                       "    message: '*{{ .Status }}* {{ .GroupLabels.alertname }} <&>'\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/tg/bot" TOKEN "/sendMessage");
    assert_string_equal(tn_buf_cstr(&f.req.body),
                        "{\"chat_id\":\"42\",\"disable_notification\":\"true\","
                        "\"disable_web_page_preview\":\"true\",\"message_thread_id\":\"1357\","
                        "\"parse_mode\":\"MarkdownV2\","
                        "\"text\":\"*firing* Disk \\u003c\\u0026\\u003e\"}\n");
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

static char *one_text(const char *conf_lines)
{
    size_t cap = strlen(conf_lines) + 256;
    char *yaml = malloc(cap);
    snprintf(yaml, cap, HEAD "  - bot_token: secret\n    chat_id: 1\n%s", conf_lines);
    fx_t f;
    fx_config(&f, yaml);
    free(yaml);
    fx_alert(&f, "lbl1=val1,lbl3=val3", NULL, false);
    fx_notif(&f, "");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.telegram.org/botsecret/sendMessage");
    char *text = strdup(json_string_value(fx_get(&f, "text")));
    fx_free(&f);
    return text;
}

/* Upstream's TestTelegramNotify cases: the text sent for each parse mode and length. */
static void test_upstream_texts(void **state)
{
    (void)state;
    char *t = one_text("    parse_mode: ''\n    message: '<code>x < y</code>'\n");
    assert_string_equal(t, "<code>x < y</code>"); /* no escaping without a parse mode */
    free(t);
    t = one_text("    parse_mode: HTML\n    message: '<code>x < y</code>'\n");
    assert_string_equal(t, "<code>x &lt; y</code>");
    free(t);
    t = one_text("    message: '<code>x < y</code>'\n"); /* HTML is the default */
    assert_string_equal(t, "<code>x &lt; y</code>");
    free(t);

    enum { LINES = 10000 };
    char *x = repeat("x", 5000), *lines = malloc(LINES);
    snprintf(lines, LINES, "    parse_mode: HTML\n    message: %s\n", x);
    t = one_text(lines);
    assert_string_equal(t, "This notification could not be sent: its message is longer than "
                           "Telegram allows (4096 characters). Check the template that "
                           "produces it.");
    free(t);
    snprintf(lines, LINES, "    parse_mode: ''\n    message: %s\n", x);
    t = one_text(lines);
    char *want = repeat("x", 4095);
    assert_int_equal(strlen(t), 4095 + 3);
    assert_memory_equal(t, want, 4095);
    assert_string_equal(t + 4095, "\xe2\x80\xa6");
    free(t);
    free(want);
    /* Runes, not bytes: 4096 two-byte runes fit. */
    char *e = repeat("\xc3\xa9", 4096);
    snprintf(lines, LINES, "    parse_mode: Markdown\n    message: %s\n", e);
    t = one_text(lines);
    assert_string_equal(t, e);
    free(t);
    free(e);
    t = one_text("    parse_mode: HTML\n    message: aaaa\n");
    assert_string_equal(t, "aaaa");
    free(t);
    free(lines);
    free(x);
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
    char dir[] = "/tmp/tn-telegram-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tok[64], chat[64], yaml[512];
    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(chat, sizeof(chat), "%s/chat", dir);
    write_file(tok, "  file-token\n");
    write_file(chat, " -42\n");
    snprintf(yaml, sizeof(yaml),
             HEAD "  - bot_token_file: %s\n    chat_id_file: %s\n    message: m\n", tok, chat);
    fx_t f;
    fx_config(&f, yaml);
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.telegram.org/botfile-token/sendMessage");
    fx_str(&f, "chat_id", "-42");
    /* Changed files count at the next send. */
    write_file(tok, "other\n");
    write_file(chat, "7");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "https://api.telegram.org/botother/sendMessage");
    fx_str(&f, "chat_id", "7");

    char err[TN_ERRBUF_SIZE], want[256];
    write_file(chat, "not-a-number\n");
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    snprintf(want, sizeof(want),
             "could not parse chat_id from %s: strconv.ParseInt: parsing \"not-a-number\": "
             "invalid syntax",
             chat);
    assert_string_equal(err, want);
    unlink(chat);
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    snprintf(want, sizeof(want), "could not read %s: open %s: ", chat, chat);
    assert_non_null(strstr(err, want));
    unlink(tok);
    assert_int_not_equal(fx_build(&f, 0, err, sizeof(err)), TN_OK);
    snprintf(want, sizeof(want), "could not read %s: open %s: ", tok, tok);
    assert_non_null(strstr(err, want));
    fx_free(&f);
    rmdir(dir);
}

static void test_global_defaults(void **state)
{
    (void)state;
    fx_t f;
    /* conf.telegram-default-bot-token: the global token unless the block names its own. */
    fx_config(
        &f, "global:\n  telegram_bot_token: asd132\n  telegram_api_url: http://127.0.0.1:9\n" ROUTE
            "receivers:\n- name: team\n  telegram_configs:\n  - chat_id: 123\n"
            "  - chat_id: 456\n    bot_token: qwe456\n"
            "  - chat_id: 789\n    api_url: http://127.0.0.1:10/x\n");
    fx_alert(&f, "alertname=Disk", NULL, false);
    fx_notif(&f, "alertname=Disk");
    fx_build_ok(&f, 0);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/botasd132/sendMessage");
    fx_build_ok(&f, 1);
    assert_string_equal(f.req.url, "http://127.0.0.1:9/botqwe456/sendMessage");
    fx_build_ok(&f, 2);
    assert_string_equal(f.req.url, "http://127.0.0.1:10/x/botasd132/sendMessage");
    fx_free(&f);
}

static void test_template_failure(void **state)
{
    (void)state;
    fx_t f;
    fx_config(&f, HEAD BASIC "    message: '{{ template \"tn.no.such\" . }}'\n");
    fx_alert(&f, "alertname=A&B", NULL, false);
    fx_notif(&f, "alertname=A&B");
    if (!fx_engine_fails_missing(&f)) {
        fx_free(&f);
        skip();
    }
    fx_build_ok(&f, 0);
    /* The fallback text, escaped for HTML mode. */
    fx_str(&f, "text", "[FIRING:1] A&amp;B");
    fx_free(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    fx_config_error(HEAD "  - bot_token: xyz\n    bot_token_file: /file\n    chat_id: 1\n",
                    "at most one of bot_token & bot_token_file must be configured");
    fx_config_error(HEAD "  - bot_token: xyz\n",
                    "missing chat_id or chat_id_file on telegram_config");
    fx_config_error(HEAD "  - bot_token: xyz\n    chat_id: 0\n",
                    "missing chat_id or chat_id_file on telegram_config");
    fx_config_error(HEAD "  - bot_token: xyz\n    chat_id: 123\n    chat_id_file: /file\n",
                    "at most one of chat_id & chat_id_file must be configured");
    fx_config_error(HEAD "  - bot_token: xyz\n    chat_id: 123\n    parse_mode: invalid\n",
                    "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML "
                    "or empty string");
    fx_config_error(HEAD "  - bot_token: xyz\n    chat_id: abc\n",
                    "chat_id: cannot unmarshal !!str `abc` into int64");
    fx_config_error(HEAD "  - bot_token: xyz\n    chat_id: 1\n    message_thread_id: x\n",
                    "message_thread_id: cannot unmarshal !!str `x` into int");
    /* conf.telegram-no-bot-token */
    fx_config_error(HEAD "  - chat_id: 123\n",
                    "test.yml:6:5: receiver team: telegram_configs: missing bot_token or "
                    "bot_token_file on telegram_config");
    /* conf.telegram-both-bot-token-and-file */
    fx_config_error("global:\n  telegram_bot_token: asd132\n  telegram_bot_token_file: /g\n" HEAD
                    "  - chat_id: 123\n    bot_token_file: /override\n",
                    "at most one of telegram_bot_token & telegram_bot_token_file must be "
                    "configured");
    fx_config_error(HEAD BASIC "    api_url: not a url\n", "api_url");
}

static void test_upstream_configs_load(void **state)
{
    (void)state;
    /* TestTelegramConfiguration's accepted cases (the files need not exist to load for a
     * check, but the server reads them at load: use one that does). */
    const char *ok[] = {
        HEAD "  - bot_token: xyz\n    chat_id: 123\n",
        HEAD "  - bot_token: xyz\n    chat_id: 123\n    message_thread_id: 456\n",
        HEAD "  - bot_token_file: /etc/hostname\n    chat_id: 123\n",
        HEAD "  - bot_token_file: /etc/hostname\n    chat_id_file: /etc/hostname\n",
        HEAD "  - bot_token: xyz\n    chat_id: 1\n    parse_mode: Markdown\n",
        HEAD "  - bot_token: xyz\n    chat_id: 1\n    parse_mode: ''\n",
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(ok); i++) {
        fx_t f;
        fx_config(&f, ok[i]);
        fx_free(&f);
    }
}

static enum tn_send_result classify(fx_t *f, long status, const char *body, const char **reason,
                                    char *err, uint64_t *after)
{
    tn_out_response_t resp = {.status = status, .body = body, .body_len = strlen(body)};
    tn_send_t s = {.ic = fx_ic(f, 0)};
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = "other"};
    s.ic->type->classify(&s, &resp, &o);
    *reason = o.reason;
    snprintf(err, TN_ERRBUF_SIZE, "%s", o.err);
    if (after)
        *after = o.retry_after_ms;
    return o.result;
}

/* Upstream's TestTelegramNotifyFailureReason, and what a 2xx must carry. */
static void test_upstream_failure_reasons(void **state)
{
    (void)state;
    fx_t f;
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    uint64_t after;
    fx_config(&f, HEAD BASIC);
    assert_int_equal(
        classify(&f, 200, "{\"ok\":true,\"result\":{\"chat\":{}}}", &reason, err, NULL),
        TN_SEND_DONE);
    assert_int_equal(classify(&f, 401,
                              "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}",
                              &reason, err, NULL),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "authError");
    assert_string_equal(err, "telegram: Unauthorized (401)");
    assert_int_equal(classify(&f, 403,
                              "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot "
                              "was blocked by the user\"}",
                              &reason, err, NULL),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "authError");
    assert_int_equal(classify(&f, 400,
                              "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: "
                              "chat not found\"}",
                              &reason, err, NULL),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "clientError");
    assert_string_equal(err, "telegram: Bad Request: chat not found (400)");
    assert_int_equal(classify(&f, 500,
                              "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server "
                              "Error\"}",
                              &reason, err, NULL),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_int_equal(classify(&f, 429,
                              "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
                              "Requests: retry after 5\",\"parameters\":{\"retry_after\":5}}",
                              &reason, err, &after),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "rateLimited");
    assert_int_equal(after, 5000);
    /* A 200 without Telegram's "ok":true is no delivery. */
    assert_int_equal(classify(&f, 200, "{}", &reason, err, NULL), TN_SEND_RETRY);
    assert_string_equal(reason, "other");
    assert_int_equal(classify(&f, 200, "", &reason, err, NULL), TN_SEND_RETRY);
    /* A proxy's page instead of Telegram's JSON: the status names the reason. */
    assert_int_equal(classify(&f, 502, "<html>bad gateway</html>", &reason, err, NULL),
                     TN_SEND_RETRY);
    assert_string_equal(reason, "serverError");
    assert_string_equal(err, "unexpected status code 502: <html>bad gateway</html>");
    assert_int_equal(classify(&f, 404, "", &reason, err, NULL), TN_SEND_RETRY);
    assert_string_equal(reason, "clientError");
    assert_string_equal(err, "unexpected status code 404");
    /* Transport errors too. */
    tn_out_response_t resp = {.curl_code = 28, .error = "Operation timed out"};
    tn_send_t s = {.ic = fx_ic(&f, 0)};
    tn_send_outcome_t o = {.result = TN_SEND_DONE};
    s.ic->type->classify(&s, &resp, &o);
    assert_int_equal(o.result, TN_SEND_RETRY);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firing_resolved_mixed),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_upstream_texts),
        cmocka_unit_test(test_files_read_per_send),
        cmocka_unit_test(test_global_defaults),
        cmocka_unit_test(test_template_failure),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_upstream_configs_load),
        cmocka_unit_test(test_upstream_failure_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
