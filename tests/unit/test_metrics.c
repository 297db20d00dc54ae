/* Metrics registry: exact text exposition for every kind. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tocsin/metrics.h"

static char *scrape(void)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_metrics_write(&b);
    char *s = tn_xstrdup(b.data ? tn_buf_cstr(&b) : "");
    tn_buf_free(&b);
    return s;
}

static int teardown(void **state)
{
    (void)state;
    tn_metrics_free_all();
    return 0;
}

static void test_counter_plain(void **state)
{
    (void)state;
    tn_metric_t *m = tn_metric_counter("x_total", "Things done.", NULL);
    assert_ptr_equal(m, tn_metric_counter("x_total", "ignored", NULL));
    char *s = scrape();
    assert_string_equal(s, "# HELP x_total Things done.\n# TYPE x_total counter\nx_total 0\n");
    free(s);
    tn_metric_add(tn_metric_plain(m), 3);
    tn_metric_add(tn_metric_plain(m), 0.5);
    assert_true(tn_metric_value(tn_metric_plain(m)) == 3.5);
    s = scrape();
    assert_string_equal(s, "# HELP x_total Things done.\n# TYPE x_total counter\nx_total 3.5\n");
    free(s);
}

static void test_vector_labels(void **state)
{
    (void)state;
    /* declared unsorted: output sorts label names, children by values */
    tn_metric_t *m = tn_metric_counter("req_total", "Help with \\ and\nnewline.", "status,code");
    char *s = scrape();
    assert_string_equal(s, ""); /* an unused vector is not exposed */
    free(s);
    tn_metric_child_t *a = tn_metric_with(m, "ok", "200", NULL);
    tn_metric_child_t *b = tn_metric_with(m, "bad \"q\" \\ \n", "400", NULL);
    assert_ptr_equal(a, tn_metric_with(m, "ok", "200", NULL));
    assert_ptr_not_equal(a, b);
    tn_metric_add(a, 2);
    tn_metric_add(b, 1);
    s = scrape();
    assert_string_equal(s, "# HELP req_total Help with \\\\ and\\nnewline.\n"
                           "# TYPE req_total counter\n"
                           "req_total{code=\"200\",status=\"ok\"} 2\n"
                           "req_total{code=\"400\",status=\"bad \\\"q\\\" \\\\ \\n\"} 1\n");
    free(s);
}

static void test_gauge_floats(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-1, "-1"},
        {100, "100"},
        {0.5, "0.5"},
        {-2.5, "-2.5"},
        {0.005, "0.005"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {123456, "123456"},
        {999999, "999999"},
        {1e6, "1e+06"},
        {1234567, "1.234567e+06"},
        {12345.678, "12345.678"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.5e300, "1.5e+300"},
        {1.7e9, "1.7e+09"},
        {5e-324, "5e-324"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    tn_metric_child_t *g = tn_metric_plain(tn_metric_gauge("g", "G.", NULL));
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_metric_set(g, cases[i].v);
        char *s = scrape();
        char *want = tn_xasprintf("# HELP g G.\n# TYPE g gauge\ng %s\n", cases[i].want);
        assert_string_equal(s, want);
        free(want);
        free(s);
    }
    tn_metric_set(g, 5);
    tn_metric_add(g, -7);
    assert_true(tn_metric_value(g) == -2);
}

static void test_histogram(void **state)
{
    (void)state;
    static const double buckets[] = {0.1, 1, 10};
    tn_metric_t *h = tn_metric_histogram("lat_seconds", "Latency.", "handler", buckets, 3);
    tn_metric_child_t *c = tn_metric_with(h, "/a", NULL);
    tn_metric_observe(c, 0.05);
    tn_metric_observe(c, 0.1); /* upper bounds are inclusive */
    tn_metric_observe(c, 5);
    tn_metric_observe(c, 50);
    tn_metric_observe(tn_metric_with(h, "/", NULL), 1);
    assert_true(tn_metric_value(c) == 4);
    char *s = scrape();
    assert_string_equal(s, "# HELP lat_seconds Latency.\n"
                           "# TYPE lat_seconds histogram\n"
                           "lat_seconds_bucket{handler=\"/\",le=\"0.1\"} 0\n"
                           "lat_seconds_bucket{handler=\"/\",le=\"1\"} 1\n"
                           "lat_seconds_bucket{handler=\"/\",le=\"10\"} 1\n"
                           "lat_seconds_bucket{handler=\"/\",le=\"+Inf\"} 1\n"
                           "lat_seconds_sum{handler=\"/\"} 1\n"
                           "lat_seconds_count{handler=\"/\"} 1\n"
                           "lat_seconds_bucket{handler=\"/a\",le=\"0.1\"} 2\n"
                           "lat_seconds_bucket{handler=\"/a\",le=\"1\"} 2\n"
                           "lat_seconds_bucket{handler=\"/a\",le=\"10\"} 3\n"
                           "lat_seconds_bucket{handler=\"/a\",le=\"+Inf\"} 4\n"
                           "lat_seconds_sum{handler=\"/a\"} 55.15\n"
                           "lat_seconds_count{handler=\"/a\"} 4\n");
    free(s);
}

static void test_histogram_plain(void **state)
{
    (void)state;
    static const double buckets[] = {1e6};
    tn_metric_t *h = tn_metric_histogram("size_bytes", "Size.", NULL, buckets, 1);
    tn_metric_observe(tn_metric_plain(h), 2e6);
    char *s = scrape();
    assert_string_equal(s, "# HELP size_bytes Size.\n"
                           "# TYPE size_bytes histogram\n"
                           "size_bytes_bucket{le=\"1e+06\"} 0\n"
                           "size_bytes_bucket{le=\"+Inf\"} 1\n"
                           "size_bytes_sum 2e+06\n"
                           "size_bytes_count 1\n");
    free(s);
}

static void test_sorted_families(void **state)
{
    (void)state;
    tn_metric_gauge("b", "B.", NULL);
    tn_metric_counter("a_total", "A.", NULL);
    tn_metric_gauge("c", "C.", NULL);
    char *s = scrape();
    assert_string_equal(s, "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
                           "# HELP b B.\n# TYPE b gauge\nb 0\n"
                           "# HELP c C.\n# TYPE c gauge\nc 0\n");
    free(s);
}

static void collect_hook(void *ud)
{
    tn_metric_child_t *g = ud;
    tn_metric_add(g, 1);
}

static void test_collect_hook(void **state)
{
    (void)state;
    tn_metric_child_t *g = tn_metric_plain(tn_metric_gauge("scrapes", "Scrapes.", NULL));
    tn_metrics_on_collect(collect_hook, g);
    free(scrape());
    char *s = scrape();
    assert_string_equal(s, "# HELP scrapes Scrapes.\n# TYPE scrapes gauge\nscrapes 2\n");
    free(s);
}

static double sample(const char *text, const char *name)
{
    char *key = tn_xasprintf("\n%s ", name);
    const char *p = strstr(text, key);
    double v = p ? strtod(p + strlen(key), NULL) : -12345;
    free(key);
    return v;
}

static void test_process(void **state)
{
    (void)state;
    tn_metrics_register_process();
    tn_metrics_register_process(); /* idempotent */
    char *s = scrape();
    assert_non_null(strstr(s, "# TYPE process_cpu_seconds_total counter\n"));
    assert_true(sample(s, "process_resident_memory_bytes") > 1e5);
    assert_true(sample(s, "process_virtual_memory_bytes") > 1e6);
    assert_true(sample(s, "process_open_fds") >= 3);
    assert_true(sample(s, "process_max_fds") >= 64);
    assert_true(sample(s, "process_cpu_seconds_total") >= 0);
    assert_true(sample(s, "process_start_time_seconds") > 1.5e9);
    assert_true(sample(s, "process_virtual_memory_max_bytes") != -12345);
    /* exactly one hook: a second scrape gives the same family count */
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "# TYPE ")); p++)
        n++;
    assert_int_equal(n, 7);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_counter_plain, teardown),
        cmocka_unit_test_teardown(test_vector_labels, teardown),
        cmocka_unit_test_teardown(test_gauge_floats, teardown),
        cmocka_unit_test_teardown(test_histogram, teardown),
        cmocka_unit_test_teardown(test_histogram_plain, teardown),
        cmocka_unit_test_teardown(test_sorted_families, teardown),
        cmocka_unit_test_teardown(test_collect_hook, teardown),
        cmocka_unit_test_teardown(test_process, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
