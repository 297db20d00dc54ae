/* Route tree: inheritance, matching with continue, and Alertmanager's Route.Key()/ID(). The
 * trees and expected strings are the ones Alertmanager's own route tests use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/config.h"
#include "tocsin/receiver.h"

/* Until the receiver registry is linked in, config.c's lookup resolves to this (the registry's
 * definition wins when present). These tests declare no integrations. */
__attribute__((weak)) const tn_receiver_type_t *tn_receiver_type_find(const char *name)
{
    (void)name;
    return NULL;
}

#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
#define HR  (60 * MIN)

static const char match_tree[] = "route:\n"
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
                                 "        group_wait: 2m\n"
                                 "receivers:\n"
                                 "- name: notify-def\n"
                                 "- name: notify-A\n"
                                 "- name: notify-testing\n"
                                 "- name: notify-productionA\n"
                                 "- name: notify-productionB\n"
                                 "- name: notify-BC\n";

static tn_config_t *load(const char *text)
{
    char err[512] = "";
    tn_config_t *c = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fail_msg("load: %s", err);
    return c;
}

/* labels "a=1,b=2" (no quoting needed in these tests) */
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

static void test_route_match(void **state)
{
    static const struct {
        const char *labels;
        size_t n;
        struct {
            const char *key, *receiver, *group_by;
            tn_duration_t gw, gi, ri;
        } want[2];
    } cases[] = {
        {"owner=team-A", 1, {{"{}/{owner=\"team-A\"}", "notify-A", "", 30 * SEC, 5 * MIN, 4 * HR}}},
        {"owner=team-A,env=unset",
         1,
         {{"{}/{owner=\"team-A\"}", "notify-A", "", 30 * SEC, 5 * MIN, 4 * HR}}},
        {"owner=team-C",
         1,
         {{"{}/{owner=~\"^(?:team-(B|C))$\"}", "notify-BC", "bar,foo", 2 * MIN, 5 * MIN, 4 * HR}}},
        {"owner=team-A,env=testing",
         1,
         {{"{}/{owner=\"team-A\"}/{env=\"testing\"}", "notify-testing", "...", 30 * SEC, 5 * MIN,
           4 * HR}}},
        {"owner=team-A,env=production",
         2,
         {{"{}/{owner=\"team-A\"}/{env=\"production\"}", "notify-productionA", "", 1 * MIN, 5 * MIN,
           4 * HR},
          {"{}/{owner=\"team-A\"}/{env=~\"^(?:produ.*)$\",job=~\"^(?:.*)$\"}", "notify-productionB",
           "job", 30 * SEC, 5 * MIN, 1 * HR}}},
        {"group_by=role",
         1,
         {{"{}/{group_by=\"role\"}", "notify-def", "role", 30 * SEC, 5 * MIN, 4 * HR}}},
        {"env=testing,group_by=role",
         1,
         {{"{}/{group_by=\"role\"}/{env=\"testing\"}", "notify-testing", "role", 30 * SEC, 5 * MIN,
           4 * HR}}},
        {"env=testing,group_by=role,wait=long",
         1,
         {{"{}/{group_by=\"role\"}/{env=\"testing\"}/{wait=\"long\"}", "notify-testing", "role",
           2 * MIN, 5 * MIN, 4 * HR}}},
        {"foo=bar", 1, {{"{}", "notify-def", "", 30 * SEC, 5 * MIN, 4 * HR}}},
    };
    tn_config_t *c = load(match_tree);
    (void)state;

    assert_int_equal(c->nroutes, 9);
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        tn_label_t pairs[8];
        size_t np = mklabels(cases[i].labels, pairs, 8);
        tn_labels_t ls = {pairs, np};
        const tn_route_t *out[4];
        size_t n = tn_route_match(c->route, ls, out, 4);

        if (n != cases[i].n)
            fail_msg("%s: %zu matches", cases[i].labels, n);
        for (size_t j = 0; j < n; j++) {
            char *gb = group_by_str(out[j]);
            assert_string_equal(out[j]->key, cases[i].want[j].key);
            assert_string_equal(out[j]->receiver->name, cases[i].want[j].receiver);
            assert_string_equal(gb, cases[i].want[j].group_by);
            assert_int_equal(out[j]->group_wait, cases[i].want[j].gw);
            assert_int_equal(out[j]->group_interval, cases[i].want[j].gi);
            assert_int_equal(out[j]->repeat_interval, cases[i].want[j].ri);
            free(gb);
        }
        unlabels(pairs, np);
    }
    tn_config_unref(c);
}

static const char id_tree[] = "route:\n"
                              "  receiver: default\n"
                              "  routes:\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - foo=bar\n"
                              "    receiver: test1\n"
                              "    routes:\n"
                              "    - matchers:\n"
                              "      - bar=baz\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - foo=bar\n"
                              "    receiver: test1\n"
                              "    routes:\n"
                              "    - matchers:\n"
                              "      - bar=baz\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - foo=bar\n"
                              "    receiver: test2\n"
                              "    routes:\n"
                              "    - matchers:\n"
                              "      - bar=baz\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - bar=baz\n"
                              "    receiver: test3\n"
                              "    routes:\n"
                              "    - matchers:\n"
                              "      - baz=qux\n"
                              "    - matchers:\n"
                              "      - qux=corge\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - qux=~\"[a-zA-Z0-9]+\"\n"
                              "  - continue: true\n"
                              "    matchers:\n"
                              "    - corge!~\"[0-9]+\"\n"
                              "receivers:\n"
                              "- name: default\n"
                              "- name: test1\n"
                              "- name: test2\n"
                              "- name: test3\n";

struct walk_acc {
    const tn_route_t *v[32];
    size_t n;
};

static bool walk_cb(void *ud, const tn_route_t *r)
{
    struct walk_acc *a = ud;
    a->v[a->n++] = r;
    return true;
}

static void test_route_id_and_idx(void **state)
{
    static const char *const want[] = {
        "{}",
        "{}/{foo=\"bar\"}/0",
        "{}/{foo=\"bar\"}/0/{bar=\"baz\"}/0",
        "{}/{foo=\"bar\"}/1",
        "{}/{foo=\"bar\"}/1/{bar=\"baz\"}/0",
        "{}/{foo=\"bar\"}/2",
        "{}/{foo=\"bar\"}/2/{bar=\"baz\"}/0",
        "{}/{bar=\"baz\"}/3",
        "{}/{bar=\"baz\"}/3/{baz=\"qux\"}/0",
        "{}/{bar=\"baz\"}/3/{qux=\"corge\"}/1",
        "{}/{qux=~\"[a-zA-Z0-9]+\"}/4",
        "{}/{corge!~\"[0-9]+\"}/5",
    };
    tn_config_t *c = load(id_tree);
    struct walk_acc a = {.n = 0};
    (void)state;

    tn_route_walk(c->route, walk_cb, &a);
    assert_int_equal(a.n, TN_ARRAY_LEN(want));
    assert_int_equal(c->nroutes, a.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.v[i]->id, want[i]);
        assert_int_equal(a.v[i]->idx, i); /* dense, depth-first */
    }
    /* Keys lack the sibling index, so equal siblings share one. */
    assert_string_equal(a.v[1]->key, "{}/{foo=\"bar\"}");
    assert_string_equal(a.v[3]->key, "{}/{foo=\"bar\"}");
    assert_string_equal(a.v[2]->key, "{}/{foo=\"bar\"}/{bar=\"baz\"}");
    /* Inherited receiver on a child without its own. */
    assert_string_equal(a.v[2]->receiver->name, "test1");
    assert_string_equal(a.v[10]->receiver->name, "default");
    tn_config_unref(c);
}

static void test_continue_and_fallthrough(void **state)
{
    const char *yml = "route:\n"
                      "  receiver: r0\n"
                      "  group_by: [alertname]\n"
                      "  routes:\n"
                      "  - matchers: ['team=~\"a|b\"']\n"
                      "    receiver: r1\n"
                      "    continue: true\n"
                      "    routes:\n"
                      "    - matchers: [sev=page]\n"
                      "      receiver: r2\n"
                      "  - matchers: ['team=a', 'sev!=info']\n"
                      "    receiver: r3\n"
                      "    group_by: []\n"
                      "  - matchers: ['team=a']\n"
                      "    receiver: r4\n"
                      "receivers: [{name: r0}, {name: r1}, {name: r2}, {name: r3}, {name: r4}]\n";
    tn_config_t *c = load(yml);
    tn_label_t pairs[4];
    const tn_route_t *out[4];
    size_t np, n;
    (void)state;

    np = mklabels("team=a,sev=page", pairs, 4);
    n = tn_route_match(c->route, (tn_labels_t){pairs, np}, out, 4);
    assert_int_equal(n, 2);
    assert_string_equal(out[0]->receiver->name, "r2");
    assert_string_equal(out[0]->key, "{}/{team=~\"a|b\"}/{sev=\"page\"}");
    assert_string_equal(out[1]->receiver->name, "r3");
    assert_string_equal(out[1]->key, "{}/{sev!=\"info\",team=\"a\"}");
    assert_int_equal(out[1]->ngroup_by, 0); /* explicit empty list overrides */
    assert_int_equal(out[0]->ngroup_by, 1);
    assert_string_equal(out[0]->group_by[0], "alertname");
    unlabels(pairs, np);

    /* Child of a continue route does not match: the route itself is the match. */
    np = mklabels("team=b,sev=info", pairs, 4);
    n = tn_route_match(c->route, (tn_labels_t){pairs, np}, out, 4);
    assert_int_equal(n, 1);
    assert_string_equal(out[0]->receiver->name, "r1");
    unlabels(pairs, np);

    /* team=a with sev=info: r1 (continue), r3 fails, r4 matches. */
    np = mklabels("team=a,sev=info", pairs, 4);
    n = tn_route_match(c->route, (tn_labels_t){pairs, np}, out, 1);
    assert_int_equal(n, 2); /* total even though only one fits */
    assert_string_equal(out[0]->receiver->name, "r1");
    unlabels(pairs, np);
    tn_config_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_route_id_and_idx),
        cmocka_unit_test(test_continue_and_fallthrough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
