/* `tocsin check-config`: amtool's verdict and summary for each file, and a lint that warns, with
 * file:line:col, of what loads but is likely a mistake (--strict makes those fail). */
#include "tocsin/config.h"
#include "tocsin/labels.h"
#include "tocsin/receiver.h"
#include "tocsin/template.h"
#include "tocsin/yamltree.h"

#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct lint {
    const tn_config_t *c;
    tn_buf_t out; /* "file:line:col: message\n" lines */
    size_t n;
    const tn_receiver_cfg_t **used_rcv;
    size_t nused_rcv;
    const tn_time_interval_t **used_ti;
    size_t nused_ti;
    tn_tmpl_data_t example; /* amtool's example data, for the receivers' templates */
    const char *rcv, *integration;
    const struct lint_names *known;
} lint_t;

static void lint_warn(lint_t *l, tn_pos_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lint_warn(lint_t *l, tn_pos_t at, const char *fmt, ...)
{
    va_list ap;
    tn_buf_printf(&l->out, "%s:%d:%d: ", l->c->path, at.line, at.col);
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tn_buf_printf(&l->out, "%s\n", msg);
    l->n++;
}

/* Matches every label set: no matchers, or only regexes that take any value (".*"). */
static bool lint_catch_all(const tn_matchers_t *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        const tn_matcher_t *m = &ms->v[i];
        if (m->op != TN_MATCH_RE ||
            (strcmp(m->value, ".*") != 0 && strcmp(m->value, "^(?:.*)$") != 0))
            return false;
    }
    return true;
}

/* Label names a config mentions outside group_by: matchers of routes and inhibit rules, and
 * inhibit rules' equal lists. */
typedef struct lint_names {
    const char **v;
    size_t n;
} lint_names_t;

static void names_add(lint_names_t *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return;
    ns->v = tn_xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
    ns->v[ns->n++] = name;
}

static bool names_route(void *ud, const tn_route_t *r)
{
    for (size_t i = 0; i < r->matchers.n; i++)
        names_add(ud, r->matchers.v[i].name);
    return true;
}

/* Optimal string alignment distance, capped: enough to tell a slip of the keyboard. */
static size_t lint_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = TN_MIN(TN_MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = TN_MIN(v, d[i - 2][j - 2] + 1);
            d[i][j] = v;
        }
    return d[n][m];
}

/* A group_by label that nothing else in the config names but that is one slip away from a
 * label something does name, or from one Prometheus alerts usually carry: most likely a
 * misspelling, which puts every alert of the route in one group. */
static void lint_group_by(lint_t *l, const tn_route_t *r, const lint_names_t *known)
{
    static const char *const common[] = {"alertname", "instance", "job",         "severity",
                                         "namespace", "cluster",  "service",     "pod",
                                         "team",      "env",      "environment", "region",
                                         "container", "node",     "priority"};
    const tn_route_t *p = r->parent;
    bool inherited = p && p->ngroup_by == r->ngroup_by && p->group_by_all == r->group_by_all;
    for (size_t i = 0; inherited && i < r->ngroup_by; i++)
        inherited = strcmp(p->group_by[i], r->group_by[i]) == 0;
    if (inherited || r->group_by_all)
        return;
    for (size_t i = 0; i < r->ngroup_by; i++) {
        const char *g = r->group_by[i];
        bool named = false;
        for (size_t k = 0; k < known->n && !named; k++)
            named = strcmp(known->v[k], g) == 0;
        for (size_t k = 0; k < TN_ARRAY_LEN(common) && !named; k++)
            named = strcmp(common[k], g) == 0;
        if (named || strlen(g) < 4)
            continue;
        const char *like = NULL;
        for (size_t k = 0; k < known->n && !like; k++)
            if (lint_distance(g, known->v[k]) == 1)
                like = known->v[k];
        for (size_t k = 0; k < TN_ARRAY_LEN(common) && !like; k++)
            if (lint_distance(g, common[k]) == 1)
                like = common[k];
        if (like)
            lint_warn(l, r->pos,
                      "group_by label \"%s\" is named nowhere else and looks like \"%s\": a "
                      "label no alert has puts all of the route's alerts in one group",
                      g, like);
    }
}

static bool lint_route_group_by(void *ud, const tn_route_t *r)
{
    lint_t *l = ud;
    lint_group_by(l, r, l->known);
    return true;
}

static bool lint_route(void *ud, const tn_route_t *r)
{
    lint_t *l = ud;
    if (r->receiver) {
        l->used_rcv = tn_xrealloc(l->used_rcv, (l->nused_rcv + 1) * sizeof(*l->used_rcv));
        l->used_rcv[l->nused_rcv++] = r->receiver;
    }
    for (size_t i = 0; i < r->nmute_time_intervals + r->nactive_time_intervals; i++) {
        const tn_time_interval_t *ti = i < r->nmute_time_intervals
                                           ? r->mute_tis[i]
                                           : r->active_tis[i - r->nmute_time_intervals];
        l->used_ti = tn_xrealloc(l->used_ti, (l->nused_ti + 1) * sizeof(*l->used_ti));
        l->used_ti[l->nused_ti++] = ti;
    }
    /* said where it is set, not again on every route that inherits it */
    const tn_route_t *p = r->parent;
    if (r->repeat_interval < r->group_interval && (!p || p->repeat_interval != r->repeat_interval ||
                                                   p->group_interval != r->group_interval)) {
        char ri[32], gi[32];
        tn_duration_format(r->repeat_interval, ri);
        tn_duration_format(r->group_interval, gi);
        lint_warn(l, r->pos,
                  "repeat_interval (%s) is less than group_interval (%s): notifications repeat "
                  "only every group_interval",
                  ri, gi);
    }
    for (size_t i = 0; i < r->nchildren; i++) {
        const tn_route_t *c = r->children[i];
        if (c->cont || !lint_catch_all(&c->matchers))
            continue;
        for (size_t j = i + 1; j < r->nchildren; j++)
            lint_warn(l, r->children[j]->pos,
                      "this route can never match: the route at line %d matches every alert "
                      "and has no continue",
                      c->pos.line);
        break;
    }
    return true;
}

/* Whether every alert the source matches is also a target: each target matcher is a regex
 * taking any value, or is satisfied by the value a source equality pins on its label. */
static bool lint_source_is_target(const tn_matchers_t *src, const tn_matchers_t *tgt)
{
    for (size_t i = 0; i < tgt->n; i++) {
        const tn_matcher_t *t = &tgt->v[i];
        tn_matchers_t one = {(tn_matcher_t *)t, 1};
        bool implied = lint_catch_all(&one);
        for (size_t j = 0; j < src->n && !implied; j++)
            implied = src->v[j].op == TN_MATCH_EQ && !strcmp(src->v[j].name, t->name) &&
                      tn_matcher_matches(t, src->v[j].value);
        if (!implied)
            return false;
    }
    return true;
}

static const int lint_month_days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* A spec that no instant from now on satisfies: its years are past, or its days of the month
 * lie beyond the longest of its months. */
static bool lint_spec_never(const tn_time_interval_spec_t *s, int year)
{
    if (s->nyears) {
        bool ahead = false;
        for (size_t i = 0; i < s->nyears; i++)
            ahead |= s->years[i].end >= year;
        if (!ahead)
            return true;
    }
    if (s->ndays_of_month) {
        int longest = 0;
        if (!s->nmonths)
            longest = 31;
        for (size_t i = 0; i < s->nmonths; i++)
            for (int m = TN_MAX(s->months[i].start, 1); m <= TN_MIN(s->months[i].end, 12); m++)
                longest = TN_MAX(longest, lint_month_days[m]);
        bool some = false;
        for (size_t i = 0; i < s->ndays_of_month; i++)
            some |= s->days_of_month[i].start < 0 || s->days_of_month[i].start <= longest;
        if (!some)
            return true;
    }
    return false;
}

/* Renders a templated value of a receiver against the example data; a failure is likely a
 * typo in a template name or field that would otherwise surface at 3 a.m. */
static void lint_template(lint_t *l, tn_pos_t at, const char *key, const char *text, bool html)
{
    if (!text || !strstr(text, "{{"))
        return;
    tn_buf_t out;
    char err[512];
    tn_buf_init(&out, 0);
    if (tn_tmpl_render_data(l->c->tmpl, text, &l->example, html ? TN_TMPL_HTML : 0, &out, err,
                            sizeof(err)) != TN_OK)
        lint_warn(l, at, "receiver \"%s\": %s %s fails on the example data: %s", l->rcv,
                  l->integration, key, err);
    tn_buf_free(&out);
}

/* Every string of a YAML value (the webhook payload, Jira's fields), map keys included. */
static void lint_yval(lint_t *l, tn_pos_t at, const char *key, const tn_yval_t *v)
{
    if (v && v->kind == TN_YVAL_STR)
        lint_template(l, at, key, v->s, false);
    for (size_t i = 0; v && (v->kind == TN_YVAL_SEQ || v->kind == TN_YVAL_MAP) && i < v->n; i++) {
        if (v->kind == TN_YVAL_MAP)
            lint_template(l, at, key, v->keys[i], false);
        lint_yval(l, at, key, &v->items[i]);
    }
}

static void lint_fields(lint_t *l, tn_pos_t at, const tn_field_t *f, const char *conf)
{
    for (; f && f->key; f++) {
        const void *p = conf + f->offset;
        switch (f->type) {
        case TN_F_STRING:
            lint_template(l, at, f->key, *(char *const *)p, !strcmp(f->key, "html"));
            break;
        case TN_F_STRING_LIST: {
            const tn_strlist_t *sl = p;
            for (size_t i = 0; i < sl->n; i++)
                lint_template(l, at, f->key, sl->v[i], false);
            break;
        }
        case TN_F_STRING_MAP: {
            const tn_strmap_t *m = p;
            for (size_t i = 0; i < m->n; i++)
                lint_template(l, at, f->key, m->values[i], false);
            break;
        }
        case TN_F_YAML:
            lint_yval(l, at, f->key, *(const tn_yval_t *const *)p);
            break;
        case TN_F_STRUCT:
            lint_fields(l, at, f->sub, p);
            break;
        case TN_F_STRUCT_LIST: {
            const tn_structlist_t *sl = p;
            for (size_t i = 0; i < sl->n; i++)
                lint_fields(l, at, f->sub, (const char *)sl->v + i * f->elem_size);
            break;
        }
        default:
            break;
        }
    }
}

static void lint_config(lint_t *l)
{
    const tn_config_t *c = l->c;
    tn_route_walk(c->route, lint_route, l);
    lint_names_t known = {0};
    tn_route_walk(c->route, names_route, &known);
    for (size_t i = 0; i < c->ninhibit_rules; i++) {
        const tn_inhibit_rule_t *ir = &c->inhibit_rules[i];
        for (size_t k = 0; k < ir->source.n; k++)
            names_add(&known, ir->source.v[k].name);
        for (size_t k = 0; k < ir->target.n; k++)
            names_add(&known, ir->target.v[k].name);
        for (size_t k = 0; k < ir->nequal; k++)
            names_add(&known, ir->equal[k]);
    }
    l->known = &known;
    tn_route_walk(c->route, lint_route_group_by, l);
    free(known.v);
    for (size_t i = 0; i < c->nreceivers; i++) {
        bool used = false;
        for (size_t j = 0; j < l->nused_rcv && !used; j++)
            used = l->used_rcv[j] == &c->receivers[i];
        if (!used)
            lint_warn(l, c->receivers[i].pos, "receiver \"%s\" is not used by any route",
                      c->receivers[i].name);
    }
    for (size_t i = 0; i < c->ninhibit_rules; i++) {
        const tn_inhibit_rule_t *ir = &c->inhibit_rules[i];
        if (!ir->source.n && !ir->target.n)
            lint_warn(l, ir->pos, "inhibit rule has no matchers: it inhibits nothing");
        else if (lint_source_is_target(&ir->source, &ir->target))
            lint_warn(l, ir->pos,
                      "every source alert of this inhibit rule is also a target: two source "
                      "alerts%s inhibit each other",
                      ir->nequal ? " with the same equal labels" : "");
    }
    tn_tmpl_example_t *ex = tn_tmpl_example_new(&l->example);
    for (size_t i = 0; i < c->nreceivers; i++) {
        const tn_receiver_cfg_t *r = &c->receivers[i];
        l->rcv = r->name;
        for (size_t k = 0; k < r->nintegrations; k++) {
            l->integration = r->integrations[k].type->name;
            lint_fields(l, r->pos, r->integrations[k].type->fields, r->integrations[k].conf);
        }
    }
    tn_tmpl_example_free(ex);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    for (size_t i = 0; i < c->ntime_intervals; i++) {
        const tn_time_interval_t *ti = &c->time_intervals[i];
        bool used = false;
        for (size_t j = 0; j < l->nused_ti && !used; j++)
            used = l->used_ti[j] == ti;
        if (!used)
            lint_warn(l, ti->pos, "time interval \"%s\" is not used by any route", ti->name);
        bool never = ti->nspecs > 0;
        for (size_t k = 0; k < ti->nspecs && never; k++)
            never = lint_spec_never(&ti->specs[k], tm.tm_year + 1900);
        if (never)
            lint_warn(l, ti->pos, "time interval \"%s\" never happens again", ti->name);
    }
}

/* Runs the lint; returns the number of warnings, written to stderr. */
static size_t check_lint(const tn_config_t *c)
{
    lint_t l = {.c = c};
    tn_buf_init(&l.out, 0);
    lint_config(&l);
    if (l.out.len)
        fprintf(stderr, "%s", tn_buf_cstr(&l.out));
    size_t n = l.n;
    tn_buf_free(&l.out);
    free(l.used_rcv);
    free(l.used_ti);
    return n;
}

int tn_config_check_main(int argc, char **argv)
{
    int failed = 0, first = 1;
    char *stdin_arg[] = {"/dev/stdin"};
    bool strict = false;

    if (argc > 1 && strcmp(argv[1], "check-config") == 0)
        first = 2;
    if (first < argc && strcmp(argv[first], "--strict") == 0) {
        strict = true;
        first++;
    }
    char **files = argv + first;
    int nfiles = argc - first;
    if (nfiles <= 0) {
        if (isatty(0)) {
            fprintf(stderr, "tocsin: error: Failed to read from standard input\n");
            return 1;
        }
        files = stdin_arg;
        nfiles = 1;
    }
    for (int i = 0; i < nfiles; i++) {
        char err[TN_ERRBUF_SIZE * 2];
        tn_buf_t warnings;
        tn_buf_init(&warnings, 0);
        printf("Checking '%s'", files[i]);
        fflush(stdout);
        tn_config_t *c =
            tn_config_load_file_ex(files[i], TN_CFG_CHECK_ONLY, &warnings, err, sizeof(err));
        if (warnings.len) {
            tn_buf_cstr(&warnings);
            fprintf(stderr, "warning: %s", warnings.data);
        }
        tn_buf_free(&warnings);
        if (!c) {
            printf("  FAILED: %s\n", err);
            fprintf(stderr, "%s\n", err);
            failed++;
            printf("\n");
            continue;
        }
        size_t nlint = check_lint(c);
        if (strict && nlint) {
            printf("  FAILED: %zu warning(s) with --strict\n\n", nlint);
            failed++;
            tn_config_unref(c);
            continue;
        }
        printf("  SUCCESS\n");
        printf("Found:\n");
        printf(" - global config\n");
        printf(" - route\n");
        printf(" - %zu inhibit rules\n", c->ninhibit_rules);
        printf(" - %zu receivers\n", c->nreceivers);
        printf(" - %zu templates\n", c->ntemplates);
        if (c->ntemplates > 0) {
            /* Template syntax belongs to the template engine; here the globs must be well
             * formed (missing files are not an error, as in amtool). */
            bool ok = true;
            for (size_t j = 0; j < c->ntemplates; j++) {
                glob_t g;
                int grc = glob(c->templates[j], 0, NULL, &g);
                if (grc != 0 && grc != GLOB_NOMATCH) {
                    printf("  FAILED: bad template glob %s\n", c->templates[j]);
                    ok = false;
                }
                if (grc == 0)
                    globfree(&g);
            }
            if (ok)
                printf("  SUCCESS\n");
            else
                failed++;
        }
        tn_config_unref(c);
        printf("\n");
    }
    fflush(stdout);
    if (failed > 0) {
        fprintf(stderr, "tocsin: error: failed to validate %d file(s)\n", failed);
        return 1;
    }
    return 0;
}
