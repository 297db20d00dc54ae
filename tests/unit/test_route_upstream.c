/* Alertmanager's route tree tables (dispatch/route_test.go), run against the config loader and
 * src/route.c. Each test is named after the upstream test it ports. TestRouteMatch and TestRouteID
 * are in test_route.c. config/config_test.go's route labels verdicts are here too. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/config.h"
#include "tocsin/receiver.h"

#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
#define HR  (60 * MIN)

/* The tests declare no integrations: the config loader needs no receiver types. */
__attribute__((weak)) const tn_receiver_type_t *tn_receiver_type_find(const char *name)
{
    (void)name;
    return NULL;
}

#define RECEIVERS                                                                                  \
    "receivers:\n"                                                                                 \
    "- name: notify-def\n"                                                                         \
    "- name: notify-A\n"                                                                           \
    "- name: notify-B\n"                                                                           \
    "- name: notify-testing\n"                                                                     \
    "- name: notify-productionA\n"                                                                 \
    "- name: notify-productionB\n"                                                                 \
    "- name: notify-BC\n"

static tn_config_t *load(const char *text)
{
    char err[512] = "";
    tn_config_t *c = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fail_msg("load: %s", err);
    return c;
}

/* "a=1,b=2" into sorted, interned labels. */
static size_t mklabels(const char *spec, tn_label_t *out, size_t max)
{
    char *dup = strdup(spec), *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(dup, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        *eq = 0;
        out[n].name = tn_intern_cstr(tok);
        out[n].value = tn_intern_cstr(eq + 1);
        n++;
    }
    free(dup);
    assert_int_equal(tn_labels_sort(out, n), TN_OK);
    return n;
}

static void unlabels(tn_label_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(v[i].name);
        tn_intern_unref(v[i].value);
    }
}

/* group_by as "a,b" (sorted), "..." for all labels. */
static char *group_by_str(const tn_route_t *r)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    if (r->group_by_all)
        tn_buf_puts(&b, "...");
    for (size_t i = 0; i < r->ngroup_by; i++) {
        if (i)
            tn_buf_putc(&b, ',');
        tn_buf_puts(&b, r->group_by[i]);
    }
    tn_buf_cstr(&b);
    return b.data ? b.data : strdup("");
}

typedef struct want_route {
    const char *key, *receiver, *group_by;
    tn_duration_t gw, gi, ri;
} want_route_t;

typedef struct match_case {
    const char *labels;
    size_t n;
    want_route_t want[2];
} match_case_t;

static void run_match_table(const char *yml, const match_case_t *cases, size_t ncases)
{
    tn_config_t *c = load(yml);
    for (size_t i = 0; i < ncases; i++) {
        tn_label_t pairs[8];
        size_t np = mklabels(cases[i].labels, pairs, 8);
        const tn_route_t *out[4];
        size_t n = tn_route_match(c->route, (tn_labels_t){pairs, np}, out, 4);
        if (n != cases[i].n)
            fail_msg("%s: %zu matches, want %zu", cases[i].labels, n, cases[i].n);
        for (size_t j = 0; j < n; j++) {
            const want_route_t *w = &cases[i].want[j];
            char *gb = group_by_str(out[j]);
            if (strcmp(out[j]->key, w->key) != 0 || strcmp(out[j]->receiver->name, w->receiver) ||
                strcmp(gb, w->group_by) != 0 || out[j]->group_wait != w->gw ||
                out[j]->group_interval != w->gi || out[j]->repeat_interval != w->ri)
                fail_msg("%s match %zu: key %s receiver %s group_by %s wait %lld interval %lld "
                         "repeat %lld; want %s %s %s %lld %lld %lld",
                         cases[i].labels, j, out[j]->key, out[j]->receiver->name, gb,
                         (long long)out[j]->group_wait, (long long)out[j]->group_interval,
                         (long long)out[j]->repeat_interval, w->key, w->receiver, w->group_by,
                         (long long)w->gw, (long long)w->gi, (long long)w->ri);
            free(gb);
        }
        unlabels(pairs, np);
    }
    tn_config_unref(c);
}

/* ---- TestRouteMatchers: the same tree as TestRouteMatch, with `matchers` only ---- */

static const char matchers_tree[] =
    "route:\n"
    "  receiver: 'notify-def'\n"
    "  routes:\n"
    "  - matchers: ['{owner=\"team-A\"}', '{level!=\"critical\"}']\n"
    "    receiver: 'notify-A'\n"
    "    routes:\n"
    "    - matchers: ['{env=\"testing\"}', '{baz!~\".*quux\"}']\n"
    "      receiver: 'notify-testing'\n"
    "      group_by: [...]\n"
    "    - matchers: ['{env=\"production\"}']\n"
    "      receiver: 'notify-productionA'\n"
    "      group_wait: 1m\n"
    "      continue: true\n"
    "    - matchers: [ env=~\"produ.*\", job=~\".*\"]\n"
    "      receiver: 'notify-productionB'\n"
    "      group_wait: 30s\n"
    "      group_interval: 5m\n"
    "      repeat_interval: 1h\n"
    "      group_by: ['job']\n"
    "  - matchers: [owner=~\"team-(B|C)\"]\n"
    "    group_by: ['foo', 'bar']\n"
    "    group_wait: 2m\n"
    "    receiver: 'notify-BC'\n"
    "  - matchers: [group_by=\"role\"]\n"
    "    group_by: ['role']\n"
    "    routes:\n"
    "    - matchers: ['{env=\"testing\"}']\n"
    "      receiver: 'notify-testing'\n"
    "      routes:\n"
    "      - matchers: [wait=\"long\"]\n"
    "        group_wait: 2m\n" RECEIVERS;

#define KA  "{}/{level!=\"critical\",owner=\"team-A\"}"
#define DEF 30 * SEC, 5 * MIN, 4 * HR

/* The rows both matcher tests share; only the team-(B|C) key differs between them. */
#define SHARED_ROWS                                                                                \
    {"owner=team-A", 1, {{KA, "notify-A", "", DEF}}},                                              \
        {"owner=team-A,env=unset", 1, {{KA, "notify-A", "", DEF}}},                                \
        {"owner=team-A,env=testing",                                                               \
         1,                                                                                        \
         {{KA "/{baz!~\".*quux\",env=\"testing\"}", "notify-testing", "...", DEF}}},               \
        {"owner=team-A,env=production",                                                            \
         2,                                                                                        \
         {{KA "/{env=\"production\"}", "notify-productionA", "", 1 * MIN, 5 * MIN, 4 * HR},        \
          {KA "/{env=~\"produ.*\",job=~\".*\"}", "notify-productionB", "job", 30 * SEC, 5 * MIN,   \
           1 * HR}}},                                                                              \
        {"group_by=role", 1, {{"{}/{group_by=\"role\"}", "notify-def", "role", DEF}}},             \
        {"env=testing,group_by=role",                                                              \
         1,                                                                                        \
         {{"{}/{group_by=\"role\"}/{env=\"testing\"}", "notify-testing", "role", DEF}}},           \
    {                                                                                              \
        "env=testing,group_by=role,wait=long", 1,                                                  \
        {                                                                                          \
            {"{}/{group_by=\"role\"}/{env=\"testing\"}/{wait=\"long\"}",                           \
             "notify-testing",                                                                     \
             "role",                                                                               \
             2 * MIN,                                                                              \
             5 * MIN,                                                                              \
             4 * HR},                                                                              \
        }                                                                                          \
    }

static void TestRouteMatchers(void **state)
{
    (void)state;
    static const match_case_t cases[] = {
        SHARED_ROWS,
        {"owner=team-C",
         1,
         {{"{}/{owner=~\"team-(B|C)\"}", "notify-BC", "bar,foo", 2 * MIN, 5 * MIN, 4 * HR}}},
    };
    run_match_table(matchers_tree, cases, TN_ARRAY_LEN(cases));
}

/* ---- TestRouteMatchersAndMatch: match, match_re and matchers mixed in one tree ---- */

static const char mixed_tree[] = "route:\n"
                                 "  receiver: 'notify-def'\n"
                                 "  routes:\n"
                                 "  - matchers: ['{owner=\"team-A\"}', '{level!=\"critical\"}']\n"
                                 "    receiver: 'notify-A'\n"
                                 "    routes:\n"
                                 "    - matchers: ['{env=\"testing\"}', '{baz!~\".*quux\"}']\n"
                                 "      receiver: 'notify-testing'\n"
                                 "      group_by: [...]\n"
                                 "    - match:\n"
                                 "        env: \"production\"\n"
                                 "      receiver: 'notify-productionA'\n"
                                 "      group_wait: 1m\n"
                                 "      continue: true\n"
                                 "    - matchers: [ env=~\"produ.*\", job=~\".*\"]\n"
                                 "      receiver: 'notify-productionB'\n"
                                 "      group_wait: 30s\n"
                                 "      group_interval: 5m\n"
                                 "      repeat_interval: 1h\n"
                                 "      group_by: ['job']\n"
                                 "  - match_re:\n"
                                 "      owner: 'team-(B|C)'\n"
                                 "    group_by: ['foo', 'bar']\n"
                                 "    group_wait: 2m\n"
                                 "    receiver: 'notify-BC'\n"
                                 "  - matchers: [group_by=\"role\"]\n"
                                 "    group_by: ['role']\n"
                                 "    routes:\n"
                                 "    - matchers: ['{env=\"testing\"}']\n"
                                 "      receiver: 'notify-testing'\n"
                                 "      routes:\n"
                                 "      - matchers: [wait=\"long\"]\n"
                                 "        group_wait: 2m\n" RECEIVERS;

static void TestRouteMatchersAndMatch(void **state)
{
    (void)state;
    /* match_re is anchored, and its key shows the anchored expression. */
    static const match_case_t cases[] = {
        SHARED_ROWS,
        {"owner=team-C",
         1,
         {{"{}/{owner=~\"^(?:team-(B|C))$\"}", "notify-BC", "bar,foo", 2 * MIN, 5 * MIN, 4 * HR}}},
    };
    run_match_table(mixed_tree, cases, TN_ARRAY_LEN(cases));
}

/* ---- TestRouteWalk ---- */

static const char walk_tree[] = "route:\n"
                                "  receiver: 'notify-def'\n"
                                "  routes:\n"
                                "  - match:\n"
                                "      owner: 'team-A'\n"
                                "    receiver: 'notify-A'\n"
                                "    routes:\n"
                                "    - match:\n"
                                "        env: 'testing'\n"
                                "      receiver: 'notify-testing'\n"
                                "      group_by: [...]\n"
                                "    - match:\n"
                                "        env: \"production\"\n"
                                "      receiver: 'notify-productionA'\n"
                                "      group_wait: 1m\n"
                                "      continue: true\n"
                                "    - match_re:\n"
                                "        env: \"produ.*\"\n"
                                "        job: \".*\"\n"
                                "      receiver: 'notify-productionB'\n"
                                "      group_wait: 30s\n"
                                "      group_interval: 5m\n"
                                "      repeat_interval: 1h\n"
                                "      group_by: ['job']\n"
                                "  - match_re:\n"
                                "      owner: 'team-(B|C)'\n"
                                "    group_by: ['foo', 'bar']\n"
                                "    group_wait: 2m\n"
                                "    receiver: 'notify-BC'\n"
                                "  - match:\n"
                                "      group_by: 'role'\n"
                                "    group_by: ['role']\n"
                                "    routes:\n"
                                "    - match:\n"
                                "        env: 'testing'\n"
                                "      receiver: 'notify-testing'\n"
                                "      routes:\n"
                                "      - match:\n"
                                "          wait: 'long'\n"
                                "        group_wait: 2m\n" RECEIVERS;

struct walk_acc {
    const tn_route_t *v[32];
    size_t n;
};

static bool walk_cb(void *ud, const tn_route_t *r)
{
    struct walk_acc *a = ud;
    assert_true(a->n < 32);
    a->v[a->n++] = r;
    return true;
}

static void TestRouteWalk(void **state)
{
    (void)state;
    static const char *const want[] = {
        "notify-def", "notify-A",   "notify-testing", "notify-productionA", "notify-productionB",
        "notify-BC",  "notify-def", "notify-testing", "notify-testing",
    };
    tn_config_t *c = load(walk_tree);
    struct walk_acc a = {.n = 0};
    tn_route_walk(c->route, walk_cb, &a);
    assert_int_equal(a.n, TN_ARRAY_LEN(want));
    for (size_t i = 0; i < a.n; i++)
        assert_string_equal(a.v[i]->receiver->name, want[i]);
    tn_config_unref(c);
}

/* ---- TestInheritParentGroupByAll ---- */

static void TestInheritParentGroupByAll(void **state)
{
    (void)state;
    static const char yml[] = "route:\n"
                              "  receiver: notify-def\n"
                              "  routes:\n"
                              "  - match:\n"
                              "      env: 'parent'\n"
                              "    group_by: ['...']\n"
                              "    routes:\n"
                              "    - match:\n"
                              "        env: 'child1'\n"
                              "    - match:\n"
                              "        env: 'child2'\n"
                              "      group_by: ['foo']\n" RECEIVERS;
    tn_config_t *c = load(yml);
    const tn_route_t *parent = c->route->children[0];
    assert_int_equal(parent->nchildren, 2);
    assert_true(parent->group_by_all);
    assert_true(parent->children[0]->group_by_all);
    assert_false(parent->children[1]->group_by_all);
    assert_int_equal(parent->children[1]->ngroup_by, 1);
    assert_string_equal(parent->children[1]->group_by[0], "foo");
    tn_config_unref(c);
}

/* ---- TestRouteIndices: indices unique and dense over the walk ---- */

static void TestRouteIndices(void **state)
{
    (void)state;
    tn_config_t *c = load(walk_tree);
    struct walk_acc a = {.n = 0};
    bool seen[32] = {false};
    tn_route_walk(c->route, walk_cb, &a);
    assert_int_equal(a.n, 9);
    assert_int_equal(c->nroutes, a.n);
    /* Alertmanager numbers the root last and tocsin first; the index is internal (it picks the
     * route's slot in the dispatcher), so only uniqueness and range are the contract. */
    for (size_t i = 0; i < a.n; i++) {
        assert_true(a.v[i]->idx < a.n);
        assert_false(seen[a.v[i]->idx]);
        seen[a.v[i]->idx] = true;
    }
    tn_config_unref(c);
}

/* ---- TestRouteLabelsLoading: a child's labels over its parent's ---- */

static char *route_labels_str(const tn_route_t *r)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_format(&b, (tn_labels_t){r->labels, r->nlabels});
    return (char *)tn_buf_cstr(&b);
}

static void TestRouteLabelsLoading(void **state)
{
    (void)state;
    static const char yml[] = "route:\n"
                              "  receiver: \"notify-def\"\n"
                              "  routes:\n"
                              "    - matchers: ['{owner=\"team-A\"}', '{level!=\"critical\"}']\n"
                              "      labels:\n"
                              "        team: \"team-A\"\n"
                              "      receiver: \"notify-A\"\n"
                              "      routes:\n"
                              "        - matchers: ['{env=\"testing\"}', '{baz!~\".*quux\"}']\n"
                              "          labels:\n"
                              "            team: \"team-A-testing\"\n"
                              "        - matchers: ['{env=\"production\"}']\n"
                              "          labels:\n"
                              "            severity: \"production\"\n"
                              "    - matchers: ['{owner=\"team-B\"}']\n"
                              "      receiver: \"notify-B\"\n" RECEIVERS;
    static const struct {
        const char *input, *want;
    } rows[] = {
        {"owner=team-A", "{team=\"team-A\"}"},
        {"owner=team-A,env=testing", "{team=\"team-A-testing\"}"},
        {"owner=team-A,env=production", "{severity=\"production\", team=\"team-A\"}"},
        {"owner=team-B,env=production", "{}"},
    };
    tn_config_t *c = load(yml);
    for (size_t i = 0; i < TN_ARRAY_LEN(rows); i++) {
        tn_label_t pairs[8];
        size_t np = mklabels(rows[i].input, pairs, 8);
        const tn_route_t *out[4];
        size_t n = tn_route_match(c->route, (tn_labels_t){pairs, np}, out, 4);
        if (n != 1)
            fail_msg("%s: %zu matches, want 1", rows[i].input, n);
        char *got = route_labels_str(out[0]);
        if (strcmp(got, rows[i].want))
            fail_msg("%s: route labels %s, want %s", rows[i].input, got, rows[i].want);
        free(got);
        unlabels(pairs, np);
    }
    /* The root's own labels, if any, reach every route; here it has none. */
    assert_int_equal(c->route->nlabels, 0);
    tn_config_unref(c);
}

/* ---- config_test.go: TestRouteLabelsInvalidLabelName, TestRouteLabelsValidLabelName ---- */

static void TestRouteLabelsLabelNames(void **state)
{
    (void)state;
    static const char invalid[] = "route:\n"
                                  "  receiver: team-X-mails\n"
                                  "  labels:\n"
                                  "    \"-invalid-\": value\n"
                                  "receivers:\n"
                                  "- name: 'team-X-mails'\n";
    static const char valid[] = "route:\n"
                                "  receiver: team-X-mails\n"
                                "  labels:\n"
                                "    team: team-X\n"
                                "    severity: \"{{ .GroupLabels.severity }}\"\n"
                                "receivers:\n"
                                "- name: 'team-X-mails'\n";
    /* Upstream's package tests run the classic label-name rule. */
    tn_labels_set_mode(TN_LABELS_CLASSIC);
    char err[512] = "";
    tn_config_t *c = tn_config_load_string("test.yml", invalid, strlen(invalid), err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "invalid label name \"-invalid-\" in route labels"));
    c = load(valid);
    char *got = route_labels_str(c->route);
    assert_string_equal(got, "{severity=\"{{ .GroupLabels.severity }}\", team=\"team-X\"}");
    free(got);
    tn_config_unref(c);
    /* The server's default (UTF-8) takes any UTF-8 name. */
    tn_labels_set_mode(TN_LABELS_UTF8);
    c = load(invalid);
    assert_int_equal(c->route->nlabels, 1);
    tn_config_unref(c);
    /* A value's template is not checked at load: one that does not parse fails when it is
     * rendered, and only that label is left out (see test_dispatch_upstream.c). */
    static const char unparsable[] = "route:\n"
                                     "  receiver: team-X-mails\n"
                                     "  labels:\n"
                                     "    broken: '{{ .GroupLabels'\n"
                                     "receivers:\n"
                                     "- name: 'team-X-mails'\n";
    c = load(unparsable);
    assert_int_equal(c->route->nlabels, 1);
    tn_config_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TestRouteMatchers),
        cmocka_unit_test(TestRouteMatchersAndMatch),
        cmocka_unit_test(TestRouteWalk),
        cmocka_unit_test(TestInheritParentGroupByAll),
        cmocka_unit_test(TestRouteIndices),
        cmocka_unit_test(TestRouteLabelsLoading),
        cmocka_unit_test(TestRouteLabelsLabelNames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
