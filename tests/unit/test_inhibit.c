/* Inhibition: rule semantics and the index against a brute-force scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/inhibit.h"

/* Merging in the store compares endsAt with the real clock, so tests live at the real now. */
static tn_time_t NOW;

static tn_config_t *load(const char *rules)
{
    char text[8192], err[TN_ERRBUF_SIZE];
    tn_config_t *c;

    snprintf(text, sizeof(text),
             "route:\n  receiver: r\nreceivers:\n  - name: r\ninhibit_rules:\n%s", rules);
    c = tn_config_load_string("test.yml", text, strlen(text), err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    return c;
}

/* Puts an alert with labels "a=1,b=2" (firing unless ends_at is set) into the store. */
static uint64_t put(tn_alert_store_t *s, const char *labels, tn_time_t ends_at)
{
    tn_label_t pairs[16];
    size_t n = 0;
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", labels);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        *eq = 0;
        pairs[n].name = tn_intern_cstr(tok);
        pairs[n].value = tn_intern_cstr(eq + 1);
        n++;
    }
    assert_int_equal(tn_labels_sort(pairs, n), TN_OK);
    tn_alert_t *a = tn_alert_new(pairs, n, NULL, 0, NULL);
    a->starts_at = NOW - 60 * TN_NS_PER_SEC;
    a->ends_at = ends_at ? ends_at : NOW + 300 * TN_NS_PER_SEC;
    a->updated_at = NOW - 60 * TN_NS_PER_SEC;
    uint64_t fp = a->fp;
    assert_int_equal(tn_alert_store_put(s, a), TN_OK);
    return fp;
}

static size_t mutes_fp(tn_inhibitor_t *inh, tn_alert_store_t *s, uint64_t fp, uint64_t *by)
{
    tn_alert_t *a = tn_alert_store_get(s, fp);
    assert_non_null(a);
    return tn_inhibitor_mutes(inh, tn_alert_labels(a), fp, NOW, by, 1);
}

typedef struct fixture {
    tn_alert_store_t *store;
    tn_inhibitor_t *inh;
    tn_config_t *cfg;
} fixture_t;

static void fx_init(fixture_t *f, const char *rules)
{
    f->store = tn_alert_store_new();
    f->inh = tn_inhibitor_new(f->store);
    tn_alert_store_add_listener(f->store, tn_inhibitor_on_alert, f->inh);
    f->cfg = load(rules);
    tn_inhibitor_set_config(f->inh, f->cfg);
}

static void fx_free(fixture_t *f)
{
    tn_inhibitor_free(f->inh);
    tn_alert_store_free(f->store);
    tn_config_unref(f->cfg);
}

static void test_basic_equal(void **state)
{
    fixture_t f;
    uint64_t by = 0;
    (void)state;

    fx_init(&f, "  - source_matchers: [severity=critical]\n"
                "    target_matchers: [severity=warning]\n"
                "    equal: [cluster]\n");
    uint64_t crit = put(f.store, "alertname=Down,severity=critical,cluster=a", 0);
    uint64_t warn_a = put(f.store, "alertname=Slow,severity=warning,cluster=a", 0);
    uint64_t warn_b = put(f.store, "alertname=Slow,severity=warning,cluster=b", 0);
    uint64_t warn_none = put(f.store, "alertname=Slow,severity=warning", 0);

    assert_int_equal(mutes_fp(f.inh, f.store, warn_a, &by), 1);
    assert_true(by == crit);
    assert_int_equal(mutes_fp(f.inh, f.store, warn_b, &by), 0);
    assert_int_equal(mutes_fp(f.inh, f.store, warn_none, &by), 0);
    assert_int_equal(mutes_fp(f.inh, f.store, crit, &by), 0);

    /* A source without the equal label inhibits targets without it ("" == ""). */
    uint64_t crit_none = put(f.store, "alertname=Down,severity=critical", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, warn_none, &by), 1);
    assert_true(by == crit_none);
    /* ...and a target with cluster="" explicitly is the same label set as one without. */

    /* Resolved sources stop inhibiting. */
    put(f.store, "alertname=Down,severity=critical,cluster=a", NOW - TN_NS_PER_SEC);
    assert_int_equal(mutes_fp(f.inh, f.store, warn_a, &by), 0);
    /* Firing again: inhibits again. */
    put(f.store, "alertname=Down,severity=critical,cluster=a", NOW + 600 * TN_NS_PER_SEC);
    assert_int_equal(mutes_fp(f.inh, f.store, warn_a, &by), 1);

    /* GC removal of the source. */
    put(f.store, "alertname=Down,severity=critical,cluster=a", NOW - TN_NS_PER_SEC);
    assert_true(tn_alert_store_gc(f.store, NOW, NULL, NULL) >= 1);
    assert_null(tn_alert_store_get(f.store, crit));
    assert_int_equal(mutes_fp(f.inh, f.store, warn_a, &by), 0);
    fx_free(&f);
}

static void test_self_inhibition(void **state)
{
    fixture_t f;
    uint64_t by = 0;
    (void)state;

    /* Both sides match any alert of the same name: an alert never inhibits itself, and alerts
     * matching both sides do not inhibit each other through this rule. */
    fx_init(&f, "  - source_matchers: ['alertname=~\"Net.*\"']\n"
                "    target_matchers: ['alertname=~\"Net.*|Disk\"']\n"
                "    equal: [host]\n");
    uint64_t n1 = put(f.store, "alertname=NetDown,host=h1", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, n1, &by), 0);
    uint64_t n2 = put(f.store, "alertname=NetSlow,host=h1", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, n1, &by), 0);
    assert_int_equal(mutes_fp(f.inh, f.store, n2, &by), 0);
    /* A target that matches only the target side is inhibited by either. */
    uint64_t d = put(f.store, "alertname=Disk,host=h1", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, d, &by), 1);
    assert_true(by == n1 || by == n2);
    fx_free(&f);
}

static void test_source_only_inhibits_target_both(void **state)
{
    fixture_t f;
    uint64_t by = 0;
    (void)state;

    /* The target matches both sides; a source that matches only the source side still
     * inhibits it. */
    fx_init(&f, "  - source_matchers: [team=ops]\n"
                "    target_matchers: [severity=warning]\n");
    uint64_t src = put(f.store, "alertname=A,team=ops,severity=critical", 0);
    uint64_t both = put(f.store, "alertname=B,team=ops,severity=warning", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, both, &by), 1);
    assert_true(by == src);
    fx_free(&f);
}

static void test_empty_rule_inhibits_nothing(void **state)
{
    fixture_t f;
    uint64_t by = 0;
    (void)state;

    /* "inhibit_rules: [-]" loads as a rule without matchers, which inhibits nothing. */
    fx_init(&f, "  -\n");
    assert_int_equal(f.cfg->ninhibit_rules, 1);
    uint64_t a = put(f.store, "alertname=A,severity=critical", 0);
    uint64_t b = put(f.store, "alertname=B,severity=warning", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, a, &by), 0);
    assert_int_equal(mutes_fp(f.inh, f.store, b, &by), 0);
    fx_free(&f);
}

static void test_several_rules_legacy_and_reload(void **state)
{
    fixture_t f;
    uint64_t by = 0;
    (void)state;

    fx_init(&f, "  - source_match: {alertname: A}\n"
                "    target_match_re: {alertname: 'B|C'}\n"
                "  - source_matchers: [alertname=D]\n"
                "    target_matchers: [alertname=C]\n"
                "    equal: [zone]\n");
    uint64_t b = put(f.store, "alertname=B,zone=z", 0);
    uint64_t c = put(f.store, "alertname=C,zone=z", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, b, &by), 0);
    uint64_t d = put(f.store, "alertname=D,zone=z", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, c, &by), 1);
    assert_true(by == d);
    assert_int_equal(mutes_fp(f.inh, f.store, b, &by), 0);
    uint64_t a = put(f.store, "alertname=A", 0);
    assert_int_equal(mutes_fp(f.inh, f.store, b, &by), 1);
    assert_true(by == a);
    /* The first rule in config order wins for inhibitedBy. */
    assert_int_equal(mutes_fp(f.inh, f.store, c, &by), 1);
    assert_true(by == a);

    /* Reload: rules rebuilt from the alerts already in the store. */
    tn_config_unref(f.cfg);
    f.cfg = load("  - source_matchers: [alertname=B]\n"
                 "    target_matchers: [alertname=C]\n");
    tn_inhibitor_set_config(f.inh, f.cfg);
    assert_int_equal(mutes_fp(f.inh, f.store, c, &by), 1);
    assert_true(by == b);
    assert_int_equal(mutes_fp(f.inh, f.store, b, &by), 0);
    tn_inhibitor_set_config(f.inh, NULL);
    assert_int_equal(mutes_fp(f.inh, f.store, c, &by), 0);
    fx_free(&f);
}

/* ---- randomized: the index against a scan of every alert ---- */

static bool brute(const tn_config_t *cfg, tn_alert_t **alerts, size_t n, tn_labels_t ls,
                  uint64_t *by)
{
    for (size_t r = 0; r < cfg->ninhibit_rules; r++) {
        const tn_inhibit_rule_t *ir = &cfg->inhibit_rules[r];
        if (!tn_matchers_match(&ir->target, ls))
            continue;
        bool both = tn_matchers_match(&ir->source, ls);
        for (size_t i = 0; i < n; i++) {
            tn_labels_t sl = tn_alert_labels(alerts[i]);
            if (!tn_matchers_match(&ir->source, sl) || tn_alert_resolved_at(alerts[i], NOW))
                continue;
            if (both && tn_matchers_match(&ir->target, sl))
                continue;
            bool eq = true;
            for (size_t e = 0; e < ir->nequal && eq; e++) {
                const char *x = tn_labels_get(sl, ir->equal[e]);
                const char *y = tn_labels_get(ls, ir->equal[e]);
                eq = strcmp(x ? x : "", y ? y : "") == 0;
            }
            if (eq) {
                *by = alerts[i]->fp;
                return true;
            }
        }
    }
    return false;
}

static bool collect(void *ud, tn_alert_t *a)
{
    tn_alert_t ***p = ud;
    *(*p)++ = a;
    return true;
}

static void test_random_against_scan(void **state)
{
    static const char *const names[] = {"alertname", "severity", "cluster", "zone"};
    static const char *const values[] = {"a", "b", "c", ""};
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    unsigned seed = 12345;
    size_t total_muted = 0, total = 0;
    (void)state;

    for (int round = 0; round < 20; round++) {
        char rules[4096] = "";
        size_t off = 0;
        fixture_t f;
        tn_alert_t *all[400], **end = all;

        for (int r = 0; r < 6; r++) {
            const char *side[2] = {"source", "target"};
            off += (size_t)snprintf(rules + off, sizeof(rules) - off, "  - equal: [");
            for (int e = 0, ne = rand_r(&seed) % 3; e < ne; e++)
                off += (size_t)snprintf(rules + off, sizeof(rules) - off, "%s%s", e ? "," : "",
                                        names[rand_r(&seed) % 4]);
            off += (size_t)snprintf(rules + off, sizeof(rules) - off, "]\n");
            for (int s = 0; s < 2; s++) {
                off += (size_t)snprintf(rules + off, sizeof(rules) - off, "    %s_matchers: [",
                                        side[s]);
                for (int m = 0, nm = 1 + rand_r(&seed) % 2; m < nm; m++) {
                    int op = rand_r(&seed) % 6;
                    op = op >= 4 ? 0 : op; /* mostly = */
                    off += (size_t)snprintf(rules + off, sizeof(rules) - off, "%s'%s%s\"%s\"'",
                                            m ? "," : "", names[rand_r(&seed) % 4], ops[op],
                                            values[rand_r(&seed) % 4]);
                }
                off += (size_t)snprintf(rules + off, sizeof(rules) - off, "]\n");
            }
        }
        fx_init(&f, rules);
        for (int i = 0; i < 300; i++) {
            char ls[256] = "";
            size_t lo = 0;
            for (int k = 0; k < 4; k++) {
                const char *v = values[rand_r(&seed) % 4];
                if (*v)
                    lo += (size_t)snprintf(ls + lo, sizeof(ls) - lo, "%s%s=%s", lo ? "," : "",
                                           names[k], v);
            }
            if (lo == 0)
                snprintf(ls, sizeof(ls), "alertname=x");
            int res = rand_r(&seed) % 4;
            put(f.store, ls, res == 0 ? NOW - TN_NS_PER_SEC : 0);
            /* Half way, a reload with the same rules must give the same answers. */
            if (i == 150)
                tn_inhibitor_set_config(f.inh, f.cfg);
        }
        tn_alert_store_foreach(f.store, collect, &end);
        size_t n = (size_t)(end - all), muted = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t by_idx = 0, by_scan = 0;
            tn_labels_t ls = tn_alert_labels(all[i]);
            bool want = brute(f.cfg, all, n, ls, &by_scan);
            size_t got = tn_inhibitor_mutes(f.inh, ls, all[i]->fp, NOW, &by_idx, 1);
            if ((got == 1) != want)
                fail_msg("round %d alert %zu: index %zu, scan %d\nrules:\n%s", round, i, got, want,
                         rules);
            if (got) {
                /* The reported source must itself inhibit under some rule. */
                tn_alert_t *src = tn_alert_store_get(f.store, by_idx);
                assert_non_null(src);
                assert_false(tn_alert_resolved_at(src, NOW));
                muted++;
            }
        }
        total_muted += muted;
        total += n;
        fx_free(&f);
    }
    /* The random rules must exercise both outcomes. */
    assert_true(total_muted > 0 && total_muted < total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_equal),
        cmocka_unit_test(test_self_inhibition),
        cmocka_unit_test(test_source_only_inhibits_target_both),
        cmocka_unit_test(test_empty_rule_inhibits_nothing),
        cmocka_unit_test(test_several_rules_legacy_and_reload),
        cmocka_unit_test(test_random_against_scan),
    };
    NOW = tn_clock_now();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
