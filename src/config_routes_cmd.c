/* `tocsin config routes [show|test]`: the routing tree of a config file, and where a label set
 * goes, printed as `amtool config routes` prints them. */
#include "tocsin/config.h"
#include "tocsin/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* amtool's separator between the parts of a branch */
#define ROUTES_SEP "  "

static void routes_slug(tn_buf_t *b, const tn_route_t *r, bool show_continue, bool show_receiver)
{
    if (r->matchers.n == 0)
        tn_buf_puts(b, "default-route");
    else
        tn_matchers_format(b, &r->matchers);
    if (r->cont && show_continue)
        tn_buf_puts(b, ROUTES_SEP "continue: true");
    if (show_receiver)
        tn_buf_printf(b, ROUTES_SEP "receiver: %s", r->receiver ? r->receiver->name : "");
}

/* A tree drawn as the treeprint package draws it: "├── " and "└── " before a branch, and below
 * it "    " or a bar padded with two no-break spaces and a space. */
#define ROUTES_BAR "│\u00a0\u00a0 "
typedef struct routes_tree {
    tn_buf_t out;
    tn_buf_t indent;
} routes_tree_t;

static void routes_line(routes_tree_t *t, bool last, const char *text)
{
    tn_buf_append(&t->out, t->indent.data ? t->indent.data : "", t->indent.len);
    tn_buf_puts(&t->out, last ? "└── " : "├── ");
    tn_buf_puts(&t->out, text);
    tn_buf_putc(&t->out, '\n');
}

static void routes_show(routes_tree_t *t, const tn_route_t *r, bool last)
{
    tn_buf_t slug;
    tn_buf_init(&slug, 0);
    routes_slug(&slug, r, true, true);
    routes_line(t, last, tn_buf_cstr(&slug));
    tn_buf_free(&slug);
    size_t keep = t->indent.len;
    tn_buf_puts(&t->indent, last ? "    " : ROUTES_BAR);
    for (size_t i = 0; i < r->nchildren; i++)
        routes_show(t, r->children[i], i + 1 == r->nchildren);
    t->indent.len = keep;
}

/* amtool's matching tree: the routes a label set takes; the routes it ends on show their
 * receiver. */
static void routes_matching(routes_tree_t *t, const tn_route_t *r, tn_labels_t ls, bool last)
{
    const tn_route_t *taken[64];
    size_t n = 0;
    for (size_t i = 0; i < r->nchildren && n < TN_ARRAY_LEN(taken); i++) {
        const tn_route_t *c = r->children[i];
        if (!tn_matchers_match(&c->matchers, ls))
            continue;
        taken[n++] = c;
        if (!c->cont)
            break;
    }
    tn_buf_t slug;
    tn_buf_init(&slug, 0);
    routes_slug(&slug, r, false, n == 0);
    routes_line(t, last, tn_buf_cstr(&slug));
    tn_buf_free(&slug);
    size_t keep = t->indent.len;
    tn_buf_puts(&t->indent, last ? "    " : ROUTES_BAR);
    for (size_t i = 0; i < n; i++)
        routes_matching(t, taken[i], ls, i + 1 == n);
    t->indent.len = keep;
}

static int routes_usage(void)
{
    fprintf(stderr, "usage: tocsin config routes [show] --config.file=FILE\n"
                    "       tocsin config routes test --config.file=FILE [--tree] "
                    "[--verify.receivers=R1,R2] LABEL=VALUE...\n");
    return 2;
}

static int routes_fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "tocsin: error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

int tn_config_routes_main(int argc, char **argv)
{
    const char *file = NULL, *verify = NULL;
    bool test = false, tree = false;
    const char **labels = tn_xcalloc((size_t)argc + 1, sizeof(char *));
    size_t nlabels = 0;
    int i = 1, rc = 0;

    if (i < argc && (!strcmp(argv[i], "show") || !strcmp(argv[i], "test")))
        test = !strcmp(argv[i++], "test");
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **val = NULL;
        size_t pl = 0;
        if (!strncmp(a, "--config.file", 13) && (a[13] == '=' || !a[13]))
            val = &file, pl = 13;
        else if (test && !strncmp(a, "--verify.receivers", 18) && (a[18] == '=' || !a[18]))
            val = &verify, pl = 18;
        if (val) {
            if (a[pl] == '=') {
                *val = a + pl + 1;
            } else if (i + 1 < argc) {
                *val = argv[++i];
            } else {
                free(labels);
                return routes_usage();
            }
        } else if (test && !strcmp(a, "--tree")) {
            tree = true;
        } else if (a[0] == '-' && a[1] == '-') {
            free(labels);
            return routes_usage();
        } else if (test) {
            labels[nlabels++] = a;
        } else {
            free(labels);
            return routes_usage();
        }
    }
    if (!file) {
        free(labels);
        return routes_fail("%s", "--config.file is required");
    }
    char err[TN_ERRBUF_SIZE];
    tn_config_t *c = tn_config_load_file(file, err, sizeof(err));
    if (!c) {
        free(labels);
        return routes_fail("%s", err);
    }
    routes_tree_t t;
    tn_buf_init(&t.out, 0);
    tn_buf_init(&t.indent, 0);
    if (!test) {
        tn_buf_puts(&t.out, "Routing tree:\n.\n");
        routes_show(&t, c->route, true);
        tn_buf_putc(&t.out, '\n');
        fwrite(t.out.data, 1, t.out.len, stdout);
        goto out;
    }
    /* the labels, as amtool reads them: matchers that must be name="value" */
    tn_label_t *pairs = tn_xcalloc(nlabels + 1, sizeof(*pairs));
    size_t npairs = 0;
    for (size_t k = 0; k < nlabels && rc == 0; k++) {
        tn_matcher_t m;
        if (tn_matcher_parse(labels[k], &m, err, sizeof(err)) != TN_OK) {
            rc = routes_fail("Failed to parse labels: %s", err);
            break;
        }
        if (m.op != TN_MATCH_EQ) {
            rc = routes_fail("%s", "Labels must be specified as key=value pairs");
        } else {
            size_t j = 0; /* a name given twice keeps its last value, as a Go map would */
            while (j < npairs && strcmp(pairs[j].name, m.name))
                j++;
            if (j == npairs) {
                pairs[npairs].name = tn_intern_cstr(m.name);
                npairs++;
            } else {
                tn_intern_unref(pairs[j].value);
            }
            pairs[j].value = tn_intern_cstr(m.value);
        }
        tn_matcher_free(&m);
    }
    if (rc == 0) {
        tn_labels_sort(pairs, npairs);
        tn_labels_t ls = {pairs, npairs};
        if (tree) {
            tn_buf_puts(&t.out, "Matching routes:\n.\n");
            routes_matching(&t, c->route, ls, true);
            tn_buf_puts(&t.out, "\n\n");
        }
        size_t max = c->nroutes + 1, n;
        const tn_route_t **hit = tn_xcalloc(max, sizeof(*hit));
        n = tn_route_match(c->route, ls, hit, max);
        tn_buf_t slug;
        tn_buf_init(&slug, 0);
        for (size_t k = 0; k < n && k < max; k++)
            tn_buf_printf(&slug, "%s%s", k ? "," : "", hit[k]->receiver->name);
        tn_buf_printf(&t.out, "%s\n", tn_buf_cstr(&slug));
        if (verify && *verify && strcmp(verify, tn_buf_cstr(&slug))) {
            tn_buf_puts(&t.out, "WARNING: Expected receivers did not match resolved receivers.\n");
            rc = 1;
        }
        tn_buf_free(&slug);
        free(hit);
        fwrite(t.out.data, 1, t.out.len, stdout);
    }
    for (size_t k = 0; k < npairs; k++) {
        tn_intern_unref(pairs[k].name);
        tn_intern_unref(pairs[k].value);
    }
    free(pairs);
out:
    tn_buf_free(&t.out);
    tn_buf_free(&t.indent);
    tn_config_unref(c);
    free(labels);
    return rc;
}
