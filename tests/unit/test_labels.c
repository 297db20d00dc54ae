#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/labels.h"

static tn_label_t L(const char *n, const char *v)
{
    return (tn_label_t){tn_intern_cstr(n), tn_intern_cstr(v)};
}

static void unref_all(tn_label_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(v[i].name);
        tn_intern_unref(v[i].value);
    }
}

static void test_intern_shares_and_frees(void **state)
{
    (void)state;
    size_t base = tn_intern_count();
    const char *a = tn_intern("hello", 5);
    const char *b = tn_intern_cstr("hello");
    assert_ptr_equal(a, b);
    assert_int_equal(tn_intern_len(a), 5);
    assert_int_equal(tn_intern_count(), base + 1);
    const char *c = tn_intern("hellO", 5);
    assert_ptr_not_equal(a, c);
    tn_intern_unref(a);
    tn_intern_unref(b);
    tn_intern_unref(c);
    assert_int_equal(tn_intern_count(), base);
}

/* The JSON-plain mark set at interning does not leak into the length or the lookup. */
static void test_intern_json_plain(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool plain;
    } cases[] = {
        {"", true},     {"abc-1.2/x_y", true}, {"a b\x7f~", true},
        {"a<b", false}, {"a\"b", false},       {"a\\b", false},
        {"x&y", false}, {"t\tab", false},      {"caf\xc3\xa9", false},
        {">", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a = tn_intern_cstr(cases[i].s);
        assert_int_equal(tn_intern_len(a), strlen(cases[i].s));
        assert_int_equal(tn_intern_json_plain(a), cases[i].plain);
        const char *b = tn_intern(cases[i].s, strlen(cases[i].s));
        assert_ptr_equal(a, b);
        tn_intern_unref(b);
        tn_intern_unref(a);
    }
    assert_int_equal(tn_intern_count(), 0);
}

/* tn_intern_bytes follows the blocks: a new string adds at least its length, its last
 * reference gives it back, a shared one costs nothing more. */
static void test_intern_bytes(void **state)
{
    (void)state;
    size_t before = tn_intern_bytes();
    char big[1000];
    memset(big, 'x', sizeof(big));
    const char *s = tn_intern(big, sizeof(big));
    size_t with = tn_intern_bytes();
    assert_true(with >= before + sizeof(big));
    assert_true(with <= before + sizeof(big) + 64 + 1024 * sizeof(void *));
    const char *again = tn_intern(big, sizeof(big));
    assert_ptr_equal(again, s);
    assert_int_equal(tn_intern_bytes(), with);
    tn_intern_unref(again);
    tn_intern_unref(s);
    assert_int_equal(tn_intern_count(), 0);
    assert_int_equal(tn_intern_bytes(), 0); /* the table goes with the last string */
}

static void test_intern_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    const char **v = calloc(N, sizeof(*v));
    char buf[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof(buf), "value-%d", i);
        v[i] = tn_intern(buf, (size_t)n);
    }
    /* Remove every other one, then check the rest are still found. */
    for (int i = 0; i < N; i += 2)
        tn_intern_unref(v[i]);
    for (int i = 1; i < N; i += 2) {
        int n = snprintf(buf, sizeof(buf), "value-%d", i);
        const char *again = tn_intern(buf, (size_t)n);
        assert_ptr_equal(again, v[i]);
        tn_intern_unref(again);
        tn_intern_unref(v[i]);
    }
    assert_int_equal(tn_intern_count(), 0);
    free(v);
}

static void test_fingerprint_matches_alertmanager(void **state)
{
    (void)state;
    /* Known values: the empty set is FNV's offset basis; the second pair is the reference
     * value Prometheus' own tests use; the third was read from Alertmanager 0.25's API. */
    tn_labels_t empty = {NULL, 0};
    assert_true(tn_labels_fingerprint(empty) == UINT64_C(14695981039346656037));

    tn_label_t ls[] = {L("name", "garland, briggs"), L("fear", "love is not enough")};
    assert_int_equal(tn_labels_sort(ls, 2), TN_OK);
    assert_true(tn_labels_fingerprint((tn_labels_t){ls, 2}) == UINT64_C(5799056148416392346));
    unref_all(ls, 2);

    tn_label_t am[] = {L("alertname", "HighLatency"), L("severity", "critical"),
                       L("x", "v\xc3\xa4lue\x01"), L("job", "node"), L("instance", "web-1:9100")};
    tn_labels_sort(am, 5);
    char hex[17];
    tn_fingerprint_format(tn_labels_fingerprint((tn_labels_t){am, 5}), hex);
    assert_string_equal(hex, "ff50ca5239a40a00");
    unref_all(am, 5);
}

static void test_sort_rejects_duplicates(void **state)
{
    (void)state;
    tn_label_t ls[] = {L("b", "1"), L("a", "2"), L("b", "3")};
    assert_int_equal(tn_labels_sort(ls, 3), TN_ERR_EXISTS);
    unref_all(ls, 3);
}

static void test_format_like_go(void **state)
{
    (void)state;
    tn_label_t ls[] = {L("job", "a\"b\n"), L("job2", "x"), L("alertname", "\xe2\x82\xac\x7f")};
    tn_labels_sort(ls, 3);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_format(&b, (tn_labels_t){ls, 3});
    /* Go sorts rendered pairs: "job2=" sorts before "job=". */
    assert_string_equal(tn_buf_cstr(&b),
                        "{alertname=\"\xe2\x82\xac\\x7f\", job2=\"x\", job=\"a\\\"b\\n\"}");
    tn_buf_free(&b);
    tn_buf_init(&b, 0);
    tn_go_quote(&b, "\xff\t\xc2\x85", 4);
    assert_string_equal(tn_buf_cstr(&b), "\"\\xff\\t\\u0085\"");
    tn_buf_free(&b);
    unref_all(ls, 3);
}

static void test_compare_and_get(void **state)
{
    (void)state;
    tn_label_t a[] = {L("a", "1"), L("b", "2")};
    tn_label_t b[] = {L("a", "1"), L("c", "2")};
    tn_label_t c[] = {L("a", "1")};
    tn_labels_t A = {a, 2}, B = {b, 2}, C = {c, 1};
    assert_true(tn_labels_compare(C, A) < 0); /* fewer labels first */
    /* Go: union names sorted a,a,b,c: at "b", B lacks it -> A is not before B. */
    assert_true(tn_labels_compare(A, B) > 0);
    assert_true(tn_labels_compare(B, A) < 0);
    assert_int_equal(tn_labels_compare(A, A), 0);
    assert_true(tn_labels_equal(A, A));
    assert_false(tn_labels_equal(A, B));
    assert_string_equal(tn_labels_get(A, "b"), "2");
    assert_null(tn_labels_get(A, "c"));
    unref_all(a, 2);
    unref_all(b, 2);
    unref_all(c, 1);
}

static void test_label_names(void **state)
{
    (void)state;
    assert_true(tn_label_name_valid("foo_bar1", 8, true));
    assert_false(tn_label_name_valid("1foo", 4, true));
    assert_false(tn_label_name_valid("foo.bar", 7, true));
    assert_true(tn_label_name_valid("foo.bar", 7, false));
    assert_true(tn_label_name_valid("\xc3\xbcn", 3, false));
    assert_false(tn_label_name_valid("\xc3", 1, false));
    assert_false(tn_label_name_valid("", 0, false));
    assert_false(tn_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(tn_utf8_valid("\xc0\xaf", 2));     /* overlong */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_shares_and_frees),
        cmocka_unit_test(test_intern_many),
        cmocka_unit_test(test_intern_json_plain),
        cmocka_unit_test(test_fingerprint_matches_alertmanager),
        cmocka_unit_test(test_sort_rejects_duplicates),
        cmocka_unit_test(test_format_like_go),
        cmocka_unit_test(test_compare_and_get),
        cmocka_unit_test(test_label_names),
        cmocka_unit_test(test_intern_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
