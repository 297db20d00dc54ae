/* Alertmanager's template/template_test.go, table by table: the same template texts over the
 * same data, with the same expected output or error. Go's data values (a []string, a map, a
 * time.Time, a template.Data literal) are built as the engine's values; rows that only
 * exercise Go APIs tocsin has no counterpart for are left out with the reason beside them.
 * What tests/unit/test_template.c already covers (the engine's own table) is not repeated. */
#include "tn_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/template_internal.h"
#include "tocsin/alert.h"
#include "tocsin/clock.h"
#include "tocsin/receiver.h"
#include "tocsin/template.h"
#include "tocsin/timefmt.h"

/* ---- building Go values ---- */

typedef struct pool {
    tt_arena_t a;
    const char *strs[512];
    size_t nstrs;
    tn_label_t *sets[64];
    size_t nsets;
} pool_t;

static pool_t P;

static const char *istr(const char *s)
{
    assert_true(P.nstrs < TN_ARRAY_LEN(P.strs));
    return P.strs[P.nstrs++] = tn_intern_cstr(s);
}

/* A KV from name/value pairs ending in NULL; NULL is Go's nil KV, {NULL} an empty one. */
static tn_labels_t kv(const char *const *pairs)
{
    if (!pairs)
        return (tn_labels_t){NULL, 0};
    size_t n = 0;
    while (pairs[2 * n])
        n++;
    if (n == 0)
        return (tn_labels_t){tn_tmpl_empty_labels, 0};
    tn_label_t *v = tt_alloc(&P.a, n * sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].name = istr(pairs[2 * i]);
        v[i].value = istr(pairs[2 * i + 1]);
    }
    tn_labels_sort(v, n);
    return (tn_labels_t){v, n};
}
#define KV(...) kv((const char *const[]){__VA_ARGS__, NULL})

static tv_t list_of(uint8_t sub, size_t n, const tv_t *items)
{
    tv_t l = {.kind = TV_LIST, .sub = sub};
    l.l = tt_alloc(&P.a, sizeof(*l.l));
    l.l->v = tt_alloc(&P.a, (n + 1) * sizeof(tv_t));
    memcpy(l.l->v, items, n * sizeof(tv_t));
    l.l->n = l.l->cap = n;
    return l;
}

static tv_t strs(const char *const *s) /* []string */
{
    tv_t items[16];
    size_t n = 0;
    for (; s[n]; n++)
        items[n] = tv_cstr(s[n]);
    return list_of(TL_STRSLICE, n, items);
}
#define STRS(...) strs((const char *const[]){__VA_ARGS__, NULL})

static tv_t nums(bool floats, size_t n, const double *v) /* []float64, []int */
{
    tv_t items[16];
    for (size_t i = 0; i < n; i++)
        items[i] = floats ? tv_float(v[i]) : tv_int((int64_t)v[i]);
    return list_of(TL_ANY, n, items);
}
#define FLOATS(...)                                                                                \
    nums(true, sizeof((double[]){__VA_ARGS__}) / sizeof(double), (double[]){__VA_ARGS__})
#define INTS(...)                                                                                  \
    nums(false, sizeof((double[]){__VA_ARGS__}) / sizeof(double), (double[]){__VA_ARGS__})

static tv_t dict2(const char *k1, tv_t v1, const char *k2, tv_t v2) /* map[string]... */
{
    tv_t d = {.kind = TV_DICT};
    d.d = tt_alloc(&P.a, sizeof(*d.d));
    d.d->keys = tt_alloc(&P.a, 2 * sizeof(char *));
    d.d->vals = tt_alloc(&P.a, 2 * sizeof(tv_t));
    d.d->keys[0] = k1, d.d->vals[0] = v1, d.d->n = 1;
    if (k2)
        d.d->keys[1] = k2, d.d->vals[1] = v2, d.d->n = 2;
    d.d->cap = 2;
    return d;
}

static tn_time_t ts(const char *s)
{
    tn_time_t t;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

static tv_t time_v(tn_time_t t)
{
    tv_t v = {.kind = TV_TIME};
    v.tm.t = t;
    return v;
}

/* The clock the time rows run on. */
static tn_time_t NOW;

/* ---- the data of the rows ---- */

enum data_id {
    D_NIL, /* nil */
    D_STRS_ABC,
    D_STRS_ABCDEF,
    D_ANYMAP,  /* map[string]any{"key": "value", "number": 123} */
    D_STRMAP,  /* map[string]string{"key": "value"} */
    D_TIME,    /* time.Date(2024, 1, 1, 8, 15, 30, 0, time.UTC) */
    D_HOURAGO, /* time.Now().Add(-1 * time.Hour) */
    D_FLOATS_SECONDS,
    D_STRS_SECONDS,
    D_FLOATS_FRACTIONS,
    D_STRS_FRACTIONS,
    D_INTS,
    D_UINTS,
    /* template.Data literals */
    DD_GROUP_KEYS,
    DD_COMMON_LABELS,
    DD_ALERT_TEST,
    DD_FIRING_RESOLVED,
    DD_FIRING_TEST_RESOLVED,
    DD_ROUTE_LABELS,
    DD_ROUTE_UNKNOWN,
    DD_ROUTE_CYCLE,
    DD_ROUTE_SELF,
    DD_ROUTE_DIAMOND,
    DD_ROUTE_RENDERED,
    DD_ROUTE_UNRENDERED,
    D_COUNT
};

static tv_t DOT[D_COUNT];
static tn_tmpl_data_t DATA[D_COUNT];
static tn_tmpl_alert_t ALERTS[D_COUNT][2];

static void build_data(void)
{
    DOT[D_NIL] = (tv_t){0};
    DOT[D_STRS_ABC] = STRS("a", "b", "c");
    DOT[D_STRS_ABCDEF] = STRS("abc", "def");
    DOT[D_ANYMAP] = dict2("key", tv_cstr("value"), "number", tv_int(123));
    DOT[D_STRMAP] = dict2("key", tv_cstr("value"), NULL, (tv_t){0});
    DOT[D_TIME] = time_v(ts("2024-01-01T08:15:30Z"));
    DOT[D_HOURAGO] = time_v(NOW - 3600 * TN_NS_PER_SEC);
    DOT[D_FLOATS_SECONDS] =
        FLOATS(0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99);
    DOT[D_STRS_SECONDS] = STRS("0", "1", "60", "3600", "86400");
    DOT[D_FLOATS_FRACTIONS] = FLOATS(.1, .0001, .12345, 60.1, 60.5, 1.2345, 12.345);
    DOT[D_STRS_FRACTIONS] = STRS(".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345");
    DOT[D_INTS] = INTS(0, -1, 1, 1234567);
    /* []uint{0, 1, 1234567}: tocsin's values have no unsigned integers (no data carries one) */
    DOT[D_UINTS] = INTS(0, 1, 1234567);

    tn_tmpl_data_t *d = DATA;
    d[DD_GROUP_KEYS].group_labels =
        KV("key1", "key1", "key2", "key2", "key3", "key3", "key4", "key4");
    d[DD_COMMON_LABELS].common_labels = KV("severity", "critical", "job", "foo");
    ALERTS[DD_ALERT_TEST][0] =
        (tn_tmpl_alert_t){.status = "firing", .labels = KV("alertname", "test")};
    d[DD_ALERT_TEST].alerts = ALERTS[DD_ALERT_TEST];
    d[DD_ALERT_TEST].nalerts = 1;
    ALERTS[DD_FIRING_RESOLVED][0] = (tn_tmpl_alert_t){.status = "firing"};
    ALERTS[DD_FIRING_RESOLVED][1] = (tn_tmpl_alert_t){.status = "resolved"};
    d[DD_FIRING_RESOLVED].alerts = ALERTS[DD_FIRING_RESOLVED];
    d[DD_FIRING_RESOLVED].nalerts = 2;
    ALERTS[DD_FIRING_TEST_RESOLVED][0] =
        (tn_tmpl_alert_t){.status = "firing", .labels = KV("alertname", "test")};
    ALERTS[DD_FIRING_TEST_RESOLVED][1] = (tn_tmpl_alert_t){.status = "resolved"};
    d[DD_FIRING_TEST_RESOLVED].alerts = ALERTS[DD_FIRING_TEST_RESOLVED];
    d[DD_FIRING_TEST_RESOLVED].nalerts = 2;
    d[DD_ROUTE_LABELS].group_labels = d[DD_GROUP_KEYS].group_labels;
    d[DD_ROUTE_LABELS].route_labels = KV("rl1", "rl1", "rl2", "{{ .GroupLabels.key1 }}", "rl3",
                                         "{{ routeLabels \"rl2\" }} recursive");
    d[DD_ROUTE_UNKNOWN].route_labels = KV("rl1", "rl1");
    d[DD_ROUTE_CYCLE].route_labels =
        KV("rl1", "{{ routeLabels \"rl2\" }}", "rl2", "{{ routeLabels \"rl1\" }}");
    d[DD_ROUTE_SELF].route_labels = KV("rl1", "{{ routeLabels \"rl1\" }}");
    d[DD_ROUTE_DIAMOND].group_labels = KV("x", "v");
    d[DD_ROUTE_DIAMOND].route_labels = KV(
        "top", "{{ routeLabels \"a\" }}-{{ routeLabels \"b\" }}", "a", "{{ routeLabels \"leaf\" }}",
        "b", "{{ routeLabels \"leaf\" }}", "leaf", "{{ .GroupLabels.x }}");
    d[DD_ROUTE_RENDERED].route_labels = KV("desc", "disk usage is {{ $value | humanize }}");
    d[DD_ROUTE_RENDERED].route_labels_rendered = true; /* MarkRouteLabelsRendered */
    d[DD_ROUTE_UNRENDERED].group_labels = KV("x", "v");
    d[DD_ROUTE_UNRENDERED].route_labels = KV("desc", "{{ .GroupLabels.x }}");
}

static tn_tmpl_t *TMPL; /* FromGlobs([]string{}): the default templates */

static int setup(void **state)
{
    TN_UNUSED(state);
    memset(&P, 0, sizeof(P));
    NOW = ts("2024-05-06T07:08:09Z");
    build_data();
    char err[TN_ERRBUF_SIZE];
    TMPL = tn_tmpl_load(NULL, 0, err, sizeof err);
    if (!TMPL)
        fail_msg("defaults: %s", err);
    return 0;
}

static int teardown(void **state)
{
    TN_UNUSED(state);
    tn_tmpl_free(TMPL);
    for (size_t i = 0; i < P.nstrs; i++)
        tn_intern_unref(P.strs[i]);
    tt_arena_free(&P.a);
    return 0;
}

/* ExecuteTextString / ExecuteHTMLString; the output, or NULL with the error in err. */
static char *execute(int data, bool html, const char *in, char *err)
{
    tn_buf_t b;
    tn_buf_init(&b, 4 * 1024 * 1024);
    bool is_data = data >= DD_GROUP_KEYS;
    int rc = tt_render_value(TMPL, in, is_data ? NULL : &DOT[data], is_data ? &DATA[data] : NULL,
                             html ? TN_TMPL_HTML : 0, &b, err, TN_ERRBUF_SIZE);
    char *s = rc < 0 ? NULL : tn_xstrndup(b.data ? b.data : "", b.len);
    if (rc < 0 && b.len) /* Go's test wants no output with the error */
        snprintf(err, TN_ERRBUF_SIZE, "output before the error: %.*s", (int)b.len, b.data);
    tn_buf_free(&b);
    return s;
}

typedef struct row {
    const char *title, *in;
    int data;
    bool html;
    const char *exp;    /* NULL: the execution fails */
    const char *experr; /* with exactly this error (NULL: any) */
} row_t;

static void run_rows(const char *table, const row_t *rows, size_t n)
{
    tn_clock_set_fake(&NOW);
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        char err[TN_ERRBUF_SIZE] = "";
        char *got = execute(r->data, r->html, r->in, err);
        if (r->exp) {
            if (!got)
                fail_msg("%s %s: error %s", table, r->title, err);
            if (strcmp(got, r->exp))
                fail_msg("%s %s:\n got: [%s]\nwant: [%s]", table, r->title, got, r->exp);
        } else {
            if (got)
                fail_msg("%s %s: want an error, got [%s]", table, r->title, got);
            if (r->experr && strcmp(err, r->experr))
                fail_msg("%s %s:\n  error: [%s]\n   want: [%s]", table, r->title, err, r->experr);
        }
        free(got);
    }
    tn_clock_set_fake(NULL);
}

#define ROWS(t, r) run_rows(t, r, TN_ARRAY_LEN(r))

/* ---- TestTemplateExpansion ---- */

static const row_t expansion[] = {
    {"Template without action", "abc", D_NIL, false, "abc", NULL},
    {"Template with simple action", "{{ \"abc\" }}", D_NIL, false, "abc", NULL},
    {"Template with invalid syntax", "{{ ", D_NIL, false, NULL, NULL},
    {"Template using toUpper", "{{ \"abc\" | toUpper }}", D_NIL, false, "ABC", NULL},
    {"Template using toLower", "{{ \"ABC\" | toLower }}", D_NIL, false, "abc", NULL},
    {"Template using title", "{{ \"abc\" | title }}", D_NIL, false, "Abc", NULL},
    {"Template using TrimSpace", "{{ \" a b c \" | trimSpace }}", D_NIL, false, "a b c", NULL},
    {"Template using positive match", "{{ if match \"^a\" \"abc\"}}abc{{ end }}", D_NIL, false,
     "abc", NULL},
    {"Template using negative match", "{{ if match \"abcd\" \"abc\" }}abc{{ end }}", D_NIL, false,
     "", NULL},
    {"Template using join", "{{ . | join \",\" }}", D_STRS_ABC, false, "a,b,c", NULL},
    {"Text template without HTML escaping", "{{ \"<b>\" }}", D_NIL, false, "<b>", NULL},
    {"HTML template with escaping", "{{ \"<b>\" }}", D_NIL, true, "&lt;b&gt;", NULL},
    {"HTML template using safeHTML", "{{ \"<b>\" | safeHtml }}", D_NIL, true, "<b>", NULL},
    {"URL template with escaping", "<a href=\"/search?{{ \"q=test%20foo\" }}\"></a>", D_NIL, true,
     "<a href=\"/search?q%3dtest%2520foo\"></a>", NULL},
    {"URL template using safeUrl", "<a href=\"/search?{{ \"q=test%20foo\" | safeUrl }}\"></a>",
     D_NIL, true, "<a href=\"/search?q=test%20foo\"></a>", NULL},
    {"Template using reReplaceAll", "{{ reReplaceAll \"ab\" \"AB\" \"abcdabcda\"}}", D_NIL, false,
     "ABcdABcda", NULL},
    {"Template using urlUnescape", "{{ \"search?q=test%20foo\" | urlUnescape }}", D_NIL, false,
     "search?q=test foo", NULL},
    {"Template using stringSlice",
     "{{ with .GroupLabels }}{{ with .Remove (stringSlice \"key1\" \"key3\") }}"
     "{{ .SortedPairs.Values }}{{ end }}{{ end }}",
     DD_GROUP_KEYS, false, "[key2 key4]", NULL},
    {"Template using toJson with string", "{{ \"test\" | toJson }}", D_NIL, false, "\"test\"",
     NULL},
    {"Template using toJson with number", "{{ 42 | toJson }}", D_NIL, false, "42", NULL},
    {"Template using toJson with boolean", "{{ true | toJson }}", D_NIL, false, "true", NULL},
    {"Template using toJson with map", "{{ . | toJson }}", D_ANYMAP, false,
     "{\"key\":\"value\",\"number\":123}", NULL},
    {"Template using toJson with slice", "{{ . | toJson }}", D_STRS_ABC, false,
     "[\"a\",\"b\",\"c\"]", NULL},
    {"Template using toJson with KV", "{{ .CommonLabels | toJson }}", DD_COMMON_LABELS, false,
     "{\"job\":\"foo\",\"severity\":\"critical\"}", NULL},
    {"Template using toJson with Alerts", "{{ .Alerts | toJson }}", DD_ALERT_TEST, false,
     "[{\"status\":\"firing\",\"labels\":{\"alertname\":\"test\"},\"annotations\":null,"
     "\"startsAt\":\"0001-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
     "\"generatorURL\":\"\",\"fingerprint\":\"\"}]",
     NULL},
    {"Template using toJson with Alerts.Firing()", "{{ .Alerts.Firing | toJson }}",
     DD_FIRING_RESOLVED, false,
     "[{\"status\":\"firing\",\"labels\":null,\"annotations\":null,"
     "\"startsAt\":\"0001-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
     "\"generatorURL\":\"\",\"fingerprint\":\"\"}]",
     NULL},
    {"Template using base64encode", "{{ \"test\" | base64encode }}", D_NIL, false,
     "dGVzdA==", NULL},
    {"Template using base64encode produces a URL-safe alphabet", "{{ \"flush>>\" | base64encode }}",
     D_NIL, false, "Zmx1c2g-Pg==", NULL},
    {"Template using base64decode", "{{ \"dGVzdA==\" | base64decode }}", D_NIL, false, "test",
     NULL},
    {"Template using base64decode with invalid input", "{{ \"not-valid-base64!\" | base64decode }}",
     D_NIL, false, NULL, NULL},
    {"Template creates empty dict when using dict on nil", "{{- $test := dict -}}{{ $test }}",
     D_NIL, false, "map[]", NULL},
    {"Template creates dict with args", "{{- $test := dict \"a\" 1 \"b\" 2 \"c\" 3 -}}{{ $test }}",
     D_NIL, false, "map[a:1 b:2 c:3]", NULL},
    {"Template using dict with odd number of arguments", "{{ dict \"a\" }}", D_NIL, false, NULL,
     NULL},
    {"Template using dict with non-string key", "{{ dict 1 \"value\" }}", D_NIL, false, NULL, NULL},
    {"Template creates empty list when using list on nil", "{{- $test := list -}}{{ $test }}",
     D_NIL, false, "[]", NULL},
    {"Template creates list with args", "{{- $test := list \"a\" \"b\" \"c\" -}}{{ $test }}", D_NIL,
     false, "[a b c]", NULL},
    {"Template appends to list",
     "{{- $test := list \"a\" \"b\" -}}{{ $test = append $test \"c\" \"d\" -}}{{ $test }}", D_NIL,
     false, "[a b c d]", NULL},
    {"Compose json array using list and append",
     "{{- $newList := list -}}{{ range .Alerts }}{{ $m := dict \"status\" .Status \"labels\" "
     ".Labels }}{{ $newList = append $newList $m }}{{ end }}{{ toJson $newList }}",
     DD_FIRING_RESOLVED, false,
     "[{\"labels\":null,\"status\":\"firing\"},{\"labels\":null,\"status\":\"resolved\"}]", NULL},
    {"Template using routeLabels",
     "Simple: {{ routeLabels \"rl1\" }} - Templated: {{ routeLabels \"rl2\" }} - Recursive: "
     "{{ routeLabels \"rl3\" }}",
     DD_ROUTE_LABELS, false, "Simple: rl1 - Templated: key1 - Recursive: key1 recursive", NULL},
    {"routeLabels unknown name renders empty", "[{{ routeLabels \"nope\" }}]", DD_ROUTE_UNKNOWN,
     false, "[]", NULL},
    {"routeLabels direct cycle is detected, not a stack overflow", "{{ routeLabels \"rl1\" }}",
     DD_ROUTE_CYCLE, false, NULL, NULL},
    {"routeLabels self cycle is detected", "{{ routeLabels \"rl1\" }}", DD_ROUTE_SELF, false, NULL,
     NULL},
    {"routeLabels diamond reference renders once per branch", "{{ routeLabels \"top\" }}",
     DD_ROUTE_DIAMOND, false, "v-v", NULL},
};

static void test_expansion(void **state)
{
    TN_UNUSED(state);
    ROWS("TestTemplateExpansion", expansion);
    /* the cycle's error names the path, as Alertmanager's resolver does */
    char err[TN_ERRBUF_SIZE];
    assert_null(execute(DD_ROUTE_CYCLE, false, "{{ routeLabels \"rl1\" }}", err));
    assert_non_null(strstr(err, "route label cycle detected: rl1 -> rl2 -> rl1"));
    /* the same in the HTML templates */
    assert_null(execute(DD_ROUTE_SELF, true, "{{ routeLabels \"rl1\" }}", err));
    assert_non_null(strstr(err, "route label cycle detected: rl1 -> rl1"));
}

/* TestRouteLabelsRenderedNotReExecuted, TestRouteLabelsUnrenderedExecuted.
 * TestRouteLabelRendererSharesResolver is left out: it counts calls of a custom function added
 * through New(Option) and drives RouteLabelRenderer, Go APIs tocsin does not have. */
static const row_t route_labels[] = {
    {"RenderedNotReExecuted", "[{{ routeLabels \"desc\" }}]", DD_ROUTE_RENDERED, false,
     "[disk usage is {{ $value | humanize }}]", NULL},
    {"UnrenderedExecuted", "[{{ routeLabels \"desc\" }}]", DD_ROUTE_UNRENDERED, false, "[v]", NULL},
};

static void test_route_labels(void **state)
{
    TN_UNUSED(state);
    ROWS("TestRouteLabels", route_labels);
}

/* ---- TestTemplateExpansionWithOptions ----
 * Its options add Go functions through New(Option); tocsin has no API for custom functions, so
 * the rows calling printFoo are left out ("Test custom function": printFoo -> foo; "Test later
 * Option overrides the previous": printFoo -> bar). What the other two check holds without
 * options: the default functions are there and are the ones that run. */
static const row_t with_options[] = {
    {"Test Default function with additional function added", "{{ toUpper \"test\" }}", D_NIL, false,
     "TEST", NULL},
    {"Test custom function is overridden by the DefaultFuncs", "{{ toUpper \"test\" }}", D_NIL,
     false, "TEST", NULL},
};

static void test_with_options(void **state)
{
    TN_UNUSED(state);
    ROWS("TestTemplateExpansionWithOptions", with_options);
}

/* ---- TestTemplateFuncs (each row from 10 threads at once, as upstream runs them) ---- */

static const row_t funcs[] = {
    {"Template using toUpper", "{{ \"abc\" | toUpper }}", D_NIL, false, "ABC", NULL},
    {"Template using toLower", "{{ \"ABC\" | toLower }}", D_NIL, false, "abc", NULL},
    {"Template using title", "{{ \"abc\" | title }}", D_NIL, false, "Abc", NULL},
    {"Template using trimSpace", "{{ \" abc \" | trimSpace }}", D_NIL, false, "abc", NULL},
    {"Template using join", "{{ . | join \",\" }}", D_STRS_ABCDEF, false, "abc,def", NULL},
    {"Template using match", "{{ match \"[a-z]+\" \"abc\" }}", D_NIL, false, "true", NULL},
    {"Template using reReplaceAll", "{{ reReplaceAll \"ab\" \"AB\" \"abc\" }}", D_NIL, false, "ABc",
     NULL},
    {"Template using date", "{{ . | date \"2006-01-02\" }}", D_TIME, false, "2024-01-01", NULL},
    {"Template using tz", "{{ . | tz \"Europe/Paris\" }}", D_TIME, false,
     "2024-01-01 09:15:30 +0100 CET", NULL},
    {"Template using invalid tz", "{{ . | tz \"Invalid/Timezone\" }}", D_TIME, false, NULL,
     "template: :1:7: executing \"\" at <tz \"Invalid/Timezone\">: error calling tz: unknown "
     "time zone Invalid/Timezone"},
    {"Template using HumanizeDuration - seconds - float64",
     "{{ range . }}{{ humanizeDuration . }}:{{ end }}", D_FLOATS_SECONDS, false,
     "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:", NULL},
    {"Template using HumanizeDuration - seconds - string.",
     "{{ range . }}{{ humanizeDuration . }}:{{ end }}", D_STRS_SECONDS, false,
     "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:", NULL},
    {"Template using HumanizeDuration - subsecond and fractional seconds - float64.",
     "{{ range . }}{{ humanizeDuration . }}:{{ end }}", D_FLOATS_FRACTIONS, false,
     "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:", NULL},
    {"Template using HumanizeDuration - subsecond and fractional seconds - string.",
     "{{ range . }}{{ humanizeDuration . }}:{{ end }}", D_STRS_FRACTIONS, false,
     "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:", NULL},
    {"Template using HumanizeDuration - string with error.", "{{ humanizeDuration \"one\" }}",
     D_NIL, false, NULL,
     "template: :1:3: executing \"\" at <humanizeDuration \"one\">: error calling "
     "humanizeDuration: strconv.ParseFloat: parsing \"one\": invalid syntax"},
    {"Template using HumanizeDuration - int.", "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
     D_INTS, false, "0s:-1s:1s:14d 6h 56m 7s:", NULL},
    {"Template using HumanizeDuration - uint.", "{{ range . }}{{ humanizeDuration . }}:{{ end }}",
     D_UINTS, false, "0s:1s:14d 6h 56m 7s:", NULL},
    {"Template using since", "{{ . | since | humanizeDuration }}", D_HOURAGO, false, "1h 0m 0s",
     NULL},
    {"Template using toJson with string", "{{ \"hello\" | toJson }}", D_NIL, false, "\"hello\"",
     NULL},
    {"Template using toJson with map", "{{ . | toJson }}", D_STRMAP, false, "{\"key\":\"value\"}",
     NULL},
    {"Template using toJson with Alerts.Firing()", "{{ .Alerts.Firing | toJson }}",
     DD_FIRING_TEST_RESOLVED, false,
     "[{\"status\":\"firing\",\"labels\":{\"alertname\":\"test\"},\"annotations\":null,"
     "\"startsAt\":\"0001-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
     "\"generatorURL\":\"\",\"fingerprint\":\"\"}]",
     NULL},
    {"Template using toDate with valid input",
     "{{ toDate \"2006-01-02\" \"2024-03-15\" | date \"02 Jan 2006\" }}", D_NIL, false,
     "15 Mar 2024", NULL},
    {"Template using toDate with invalid input returns zero time",
     "{{ toDate \"2006-01-02\" \"not-a-date\" | date \"2006\" }}", D_NIL, false, "0001", NULL},
    {"Template using mustToDate with valid input",
     "{{ mustToDate \"2006-01-02\" \"2024-03-15\" | date \"02 Jan 2006\" }}", D_NIL, false,
     "15 Mar 2024", NULL},
    {"Template using mustToDate with invalid input returns error",
     "{{ mustToDate \"2006-01-02\" \"not-a-date\" }}", D_NIL, false, NULL,
     "template: :1:3: executing \"\" at <mustToDate \"2006-01-02\" \"not-a-date\">: error "
     "calling mustToDate: parsing time \"not-a-date\" as \"2006-01-02\": cannot parse "
     "\"not-a-date\" as \"2006\""},
};

typedef struct job {
    const row_t *rows;
    size_t n;
    char failure[1024];
} job_t;

static void *funcs_thread(void *arg)
{
    job_t *j = arg;
    for (size_t i = 0; i < j->n && !j->failure[0]; i++) {
        const row_t *r = &j->rows[i];
        char err[TN_ERRBUF_SIZE] = "";
        char *got = execute(r->data, r->html, r->in, err);
        if (r->exp && (!got || strcmp(got, r->exp)))
            snprintf(j->failure, sizeof j->failure, "%s: got [%s] (%s), want [%s]", r->title,
                     got ? got : "", err, r->exp);
        else if (!r->exp && (got || strcmp(err, r->experr)))
            snprintf(j->failure, sizeof j->failure, "%s: error [%s], want [%s]", r->title, err,
                     r->experr);
        free(got);
    }
    return NULL;
}

static void test_funcs(void **state)
{
    TN_UNUSED(state);
    ROWS("TestTemplateFuncs", funcs);
    tn_clock_set_fake(&NOW);
    job_t jobs[10];
    pthread_t th[10];
    for (int i = 0; i < 10; i++) {
        jobs[i] = (job_t){.rows = funcs, .n = TN_ARRAY_LEN(funcs)};
        assert_int_equal(pthread_create(&th[i], NULL, funcs_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].failure[0])
            fail_msg("thread %d: %s", i, jobs[i].failure);
    }
    tn_clock_set_fake(NULL);
}

/* ---- TestTemplateNow: now, against the real clock, from 10 threads ---- */

static void *now_thread(void *arg)
{
    job_t *j = arg;
    tn_time_t before = tn_clock_now();
    char err[TN_ERRBUF_SIZE];
    char *got = execute(D_NIL, false, "{{ now | date \"2006-01-02T15:04:05-0700\" }}", err);
    if (!got) {
        snprintf(j->failure, sizeof j->failure, "%s", err);
        return NULL;
    }
    /* 2006-01-02T15:04:05-0700 as RFC 3339 */
    char rfc[40];
    if (strlen(got) != 24) {
        snprintf(j->failure, sizeof j->failure, "layout not followed: %s", got);
        free(got);
        return NULL;
    }
    snprintf(rfc, sizeof rfc, "%.22s:%.2s", got, got + 22);
    tn_time_t t;
    if (tn_time_parse_rfc3339(rfc, strlen(rfc), &t))
        snprintf(j->failure, sizeof j->failure, "unparsable: %s", got);
    else if (t < before - TN_NS_PER_SEC || t > before + 3 * TN_NS_PER_SEC)
        snprintf(j->failure, sizeof j->failure, "now %s is outside the window", got);
    free(got);
    return NULL;
}

static void test_now(void **state)
{
    TN_UNUSED(state);
    job_t jobs[10];
    pthread_t th[10];
    for (int i = 0; i < 10; i++) {
        jobs[i] = (job_t){0};
        assert_int_equal(pthread_create(&th[i], NULL, now_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].failure[0])
            fail_msg("thread %d: %s", i, jobs[i].failure);
    }
}

/* ---- TestPairNames, TestPairValues, TestPairsString, TestKVSortedPairs, TestKVRemove,
 * TestAlertsFiring, TestAlertsResolved: the Go methods, called from templates ---- */

static void expect(const tn_tmpl_data_t *d, const char *in, const char *want)
{
    char err[TN_ERRBUF_SIZE];
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (tt_render_value(TMPL, in, NULL, d, 0, &b, err, sizeof err) < 0)
        fail_msg("%s: %s", in, err);
    tn_buf_cstr(&b);
    if (strcmp(b.data, want))
        fail_msg("%s:\n got: [%s]\nwant: [%s]", in, b.data, want);
    tn_buf_free(&b);
}

static void test_kv_methods(void **state)
{
    TN_UNUSED(state);
    tn_tmpl_data_t d = {0};
    /* Pairs{{"name1","value1"},{"name2","value2"},{"name3","value3"}} */
    d.group_labels = KV("name1", "value1", "name2", "value2", "name3", "value3");
    expect(&d, "{{ .GroupLabels.SortedPairs.Names }}", "[name1 name2 name3]");     /* PairNames */
    expect(&d, "{{ .GroupLabels.SortedPairs.Values }}", "[value1 value2 value3]"); /* Values */
    /* PairsString */
    d.group_labels = KV("name1", "value1");
    expect(&d, "{{ .GroupLabels.SortedPairs.String }}", "name1=value1");
    d.group_labels = KV("name1", "value1", "name2", "value2");
    expect(&d, "{{ .GroupLabels.SortedPairs.String }}", "name1=value1, name2=value2");
    /* KVSortedPairs, then with alertname first */
    d.group_labels = KV("d", "dVal", "b", "bVal", "c", "cVal");
    expect(&d, "{{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
           "b=bVal;c=cVal;d=dVal;");
    d.group_labels = KV("d", "dVal", "b", "bVal", "c", "cVal", "alertname", "alert", "a", "aVal");
    expect(&d, "{{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
           "alertname=alert;a=aVal;b=bVal;c=cVal;d=dVal;");
    /* KVRemove */
    d.group_labels = KV("key1", "val1", "key2", "val2", "key3", "val3", "key4", "val4");
    expect(&d, "{{ (.GroupLabels.Remove (stringSlice \"key2\" \"key4\")).Names }}", "[key1 key3]");
    /* AlertsFiring, AlertsResolved */
    tn_tmpl_alert_t a[5] = {{.status = "firing"},
                            {.status = "resolved"},
                            {.status = "firing"},
                            {.status = "resolved"},
                            {.status = "resolved"}};
    d.alerts = a;
    d.nalerts = 5;
    expect(&d, "{{ range .Alerts.Firing }}{{ .Status }} {{ end }}", "firing firing ");
    expect(&d, "{{ range .Alerts.Resolved }}{{ .Status }} {{ end }}",
           "resolved resolved resolved ");
}

/* ---- TestData: template.Data assembled from alerts (the notification path) ----
 * Upstream's times are Go's zero time plus 1 s and 2 s; tocsin's times start in 1678, so
 * the Unix epoch plus 1 s and 2 s stand in for them (the resolved one is still past). */

static tn_alert_t *mk_alert(const char *const *labels, const char *const *annotations,
                            tn_time_t starts, tn_time_t ends)
{
    tn_label_t l[8], an[8];
    size_t nl = 0, na = 0;
    for (; labels[2 * nl]; nl++)
        l[nl] = (tn_label_t){tn_intern_cstr(labels[2 * nl]), tn_intern_cstr(labels[2 * nl + 1])};
    for (; annotations[2 * na]; na++)
        an[na] = (tn_label_t){tn_intern_cstr(annotations[2 * na]),
                              tn_intern_cstr(annotations[2 * na + 1])};
    tn_labels_sort(l, nl);
    tn_labels_sort(an, na);
    tn_alert_t *a = tn_alert_new(l, nl, an, na, NULL);
    a->starts_at = starts;
    a->ends_at = ends;
    return a;
}

#define PAIRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void data_row(const char *receiver, tn_labels_t group, tn_labels_t route, tn_alert_t **al,
                     size_t nal, const char *want)
{
    tn_notif_alert_t na[4];
    size_t nfiring = 0;
    tn_time_t now = tn_clock_now();
    for (size_t i = 0; i < nal; i++) {
        na[i] = (tn_notif_alert_t){al[i], tn_alert_resolved_at(al[i], now)};
        nfiring += !na[i].resolved;
    }
    tn_notification_t n = {.receiver = receiver,
                           .group_labels = group,
                           .route_labels = route,
                           .alerts = na,
                           .nalerts = nal,
                           .nfiring = nfiring,
                           .external_url = "http://example.com/",
                           .reason = "first notification",
                           .now = now};
    static const char text[] =
        "{{ .Receiver }}|{{ .Status }}|{{ .NotificationReason }}|{{ toJson .GroupLabels }}|"
        "{{ toJson .CommonLabels }}|{{ toJson .CommonAnnotations }}|{{ toJson .RouteLabels }}|"
        "{{ .ExternalURL }}|{{ len .Alerts }}"
        "{{ range .Alerts }}\n{{ .Status }} {{ toJson .Labels }} {{ toJson .Annotations }} "
        "{{ .StartsAt.Unix }} {{ if .EndsAt.IsZero }}zero{{ else }}{{ .EndsAt.Unix }}{{ end }} "
        "{{ .Fingerprint }}{{ end }}";
    char err[TN_ERRBUF_SIZE];
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (tn_tmpl_render(TMPL, text, &n, 0, &b, err, sizeof err) < 0)
        fail_msg("%s", err);
    tn_buf_cstr(&b);
    if (strcmp(b.data, want))
        fail_msg("TestData:\n got: [%s]\nwant: [%s]", b.data, want);
    tn_buf_free(&b);
    for (size_t i = 0; i < nal; i++)
        tn_alert_unref(al[i]);
}

static void test_data(void **state)
{
    TN_UNUSED(state);
    const tn_time_t start = TN_NS_PER_SEC, end = 2 * TN_NS_PER_SEC;
    data_row("webhook", (tn_labels_t){NULL, 0}, (tn_labels_t){NULL, 0}, NULL, 0,
             "webhook|resolved|first notification|{}|{}|{}|{}|http://example.com/|0");
    tn_alert_t *al[2];
    al[0] = mk_alert(PAIRS("severity", "warning", "job", "foo"),
                     PAIRS("description", "something happened", "runbook", "foo"), start, 0);
    al[1] = mk_alert(PAIRS("severity", "critical", "job", "foo"),
                     PAIRS("description", "something else happened", "runbook", "foo"), start, end);
    data_row("webhook", KV("job", "foo"), (tn_labels_t){NULL, 0}, al, 2,
             "webhook|firing|first notification|{\"job\":\"foo\"}|{\"job\":\"foo\"}|"
             "{\"runbook\":\"foo\"}|{}|http://example.com/|2\n"
             "firing {\"job\":\"foo\",\"severity\":\"warning\"} "
             "{\"description\":\"something happened\",\"runbook\":\"foo\"} 1 zero "
             "9266ef3da838ad95\n"
             "resolved {\"job\":\"foo\",\"severity\":\"critical\"} "
             "{\"description\":\"something else happened\",\"runbook\":\"foo\"} 1 2 "
             "3b15fd163d36582e");
    al[0] = mk_alert(PAIRS("severity", "warning", "job", "foo"),
                     PAIRS("description", "something happened", "runbook", "foo"), start, 0);
    al[1] = mk_alert(PAIRS("severity", "critical", "job", "bar"),
                     PAIRS("description", "something else happened", "runbook", "bar"), start, end);
    data_row("webhook", (tn_labels_t){NULL, 0}, (tn_labels_t){NULL, 0}, al, 2,
             "webhook|firing|first notification|{}|{}|{}|{}|http://example.com/|2\n"
             "firing {\"job\":\"foo\",\"severity\":\"warning\"} "
             "{\"description\":\"something happened\",\"runbook\":\"foo\"} 1 zero "
             "9266ef3da838ad95\n"
             "resolved {\"job\":\"bar\",\"severity\":\"critical\"} "
             "{\"description\":\"something else happened\",\"runbook\":\"bar\"} 1 2 "
             "c7e68cb08e3e67f9");
    /* route labels are passed through (tocsin's routes carry none yet; the data does) */
    data_row("", KV("label_a", "a", "label_b", "b"),
             KV("rlabel_a", "rvalue a", "rlabel_plain", "plain {}"), NULL, 0,
             "|resolved|first notification|{\"label_a\":\"a\",\"label_b\":\"b\"}|{}|{}|"
             "{\"rlabel_a\":\"rvalue a\",\"rlabel_plain\":\"plain {}\"}|http://example.com/|0");
}

/* TestDeepCopyWithTemplate is in test_jira.c (test_deep_copy_with_template): tocsin's
 * DeepCopyWithTemplate writes JSON as it renders (receivers/common.c), for the webhook
 * `payload` and Jira `fields`. BenchmarkTemplateData and BenchmarkTypesAlerts are benchmarks. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion),    cmocka_unit_test(test_route_labels),
        cmocka_unit_test(test_with_options), cmocka_unit_test(test_funcs),
        cmocka_unit_test(test_now),          cmocka_unit_test(test_kv_methods),
        cmocka_unit_test(test_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
