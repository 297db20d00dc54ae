/* tn_buf caps, logging format and URL redaction. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"

static void test_buf_cap(void **state)
{
    (void)state;
    tn_buf_t b;
    tn_buf_init(&b, 8);
    assert_int_equal(tn_buf_puts(&b, "hello"), TN_OK);
    assert_int_equal(tn_buf_puts(&b, "world"), TN_ERR_LIMIT);
    assert_string_equal(tn_buf_cstr(&b), "hello"); /* unchanged on failure */
    assert_int_equal(tn_buf_printf(&b, "%d", 123), TN_OK);
    assert_int_equal(tn_buf_putc(&b, 'x'), TN_ERR_LIMIT);
    assert_string_equal(tn_buf_cstr(&b), "hello123");
    tn_buf_free(&b);
    tn_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        tn_buf_printf(&b, "%04d", i);
    assert_int_equal(b.len, 4000);
    assert_memory_equal(b.data + 3996, "0999", 4);
    tn_buf_free(&b);
}

/* Runs fn with stderr captured; returns what it wrote (caller frees). */
static char *capture(void (*fn)(void))
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long n = ftell(tmp);
    rewind(tmp);
    char *out = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return out;
}

static tn_time_t fixed = INT64_C(1714557600123) * TN_NS_PER_MS;

static void log_some(void)
{
    tn_log(TN_LOG_INFO, "Notify success", "receiver", "team a", "quote", "say \"hi\"\n", "empty",
           "", NULL);
    tn_log(TN_LOG_DEBUG, "hidden", NULL);
}

static void test_logfmt_and_json(void **state)
{
    (void)state;
    tn_clock_set_fake(&fixed);
    tn_log_setup(TN_LOG_INFO, TN_LOG_LOGFMT);
    char *out = capture(log_some);
    assert_string_equal(out, "ts=2024-05-01T10:00:00.123Z level=info msg=\"Notify success\" "
                             "receiver=\"team a\" quote=\"say \\\"hi\\\"\\n\" empty=\"\"\n");
    free(out);
    tn_log_setup(TN_LOG_INFO, TN_LOG_JSON);
    out = capture(log_some);
    assert_string_equal(out, "{\"ts\":\"2024-05-01T10:00:00.123Z\",\"level\":\"info\",\"msg\":"
                             "\"Notify success\",\"receiver\":\"team a\",\"quote\":\"say "
                             "\\\"hi\\\"\\u000a\",\"empty\":\"\"}\n");
    free(out);
    tn_log_setup(TN_LOG_INFO, TN_LOG_LOGFMT);
    tn_clock_set_fake(NULL);
    assert_int_equal(tn_log_level_parse("warn"), TN_LOG_WARN);
    assert_int_equal(tn_log_level_parse("loud"), -1);
}

static void log_invalid_utf8(void)
{
    tn_log(TN_LOG_WARN, "bad path", "path", "/api/v1/\xff\xc3(\xe2\x82\xac", NULL);
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    tn_clock_set_fake(&fixed);
    tn_log_setup(TN_LOG_INFO, TN_LOG_JSON);
    char *out = capture(log_invalid_utf8);
    assert_string_equal(
        out, "{\"ts\":\"2024-05-01T10:00:00.123Z\",\"level\":\"warn\",\"msg\":"
             "\"bad path\",\"path\":\"/api/v1/\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac\"}\n");
    free(out);
    tn_log_setup(TN_LOG_INFO, TN_LOG_LOGFMT);
    out = capture(log_invalid_utf8);
    assert_non_null(strstr(out, "path=\"/api/v1/\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac\"\n"));
    free(out);
    tn_clock_set_fake(NULL);
}

static void test_redact_url(void **state)
{
    (void)state;
    char out[128];
    tn_log_redact_url("https://user:secret@hooks.example.com/services/T0/B0/xyz?token=1", out,
                      sizeof(out));
    assert_string_equal(out, "https://hooks.example.com/<redacted>");
    assert_null(strstr(out, "secret"));
    tn_log_redact_url("not a url", out, sizeof(out));
    assert_string_equal(out, "<redacted>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_logfmt_and_json),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_redact_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
