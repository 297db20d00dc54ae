#include "tn_test.h"

#include <string.h>

#include "tocsin/utf8.h"

static void test_rune_and_count(void **state)
{
    (void)state;
    size_t w;
    assert_int_equal(tn_utf8_rune("a", 1, &w), 'a');
    assert_int_equal(w, 1);
    assert_int_equal(tn_utf8_rune("\xe2\x82\xac", 3, &w), 0x20ac);
    assert_int_equal(w, 3);
    /* as Go's range loop: an invalid byte, a truncated sequence, an overlong form and a
     * surrogate each read as U+FFFD of width 1 */
    const char *bad[] = {"\xff", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tn_utf8_rune(bad[i], strlen(bad[i]), &w), 0xfffd);
        assert_int_equal(w, 1);
    }
    /* utf8.RuneCountInString */
    assert_int_equal(tn_utf8_count("", 0), 0);
    assert_int_equal(tn_utf8_count("a\xff"
                                   "b",
                                   3),
                     3);
    assert_int_equal(tn_utf8_count("\xe2\x82", 2), 2);
    assert_int_equal(tn_utf8_count("h\xc3\xa9llo \xf0\x9f\x99\x82", 11), 7);
    assert_true(tn_utf8_valid("h\xc3\xa9", 3));
    assert_false(tn_utf8_valid("\xc0\xaf", 2));
}

static void test_put(void **state)
{
    (void)state;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_utf8_put(&b, 0x1f642);
    tn_utf8_put(&b, 0xd800); /* a surrogate is written as U+FFFD */
    tn_utf8_put(&b, 0x110000);
    assert_memory_equal(b.data, "\xf0\x9f\x99\x82\xef\xbf\xbd\xef\xbf\xbd", 10);
    assert_int_equal(b.len, 10);
    tn_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rune_and_count),
        cmocka_unit_test(test_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
