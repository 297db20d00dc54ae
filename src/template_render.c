/* `tocsin template render`: amtool's `template render` — the same flags, example data and
 * output, so a template can be tried without running the server. tocsin's built-in templates
 * load first, as the server loads them. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template_internal.h"
#include "tocsin/clock.h"
#include "tocsin/labels.h"
#include "tocsin/timefmt.h"

#define TR_MAX_GLOBS 256

typedef struct tr_state {
    tn_labels_t *sets; /* label arrays to unref and free */
    size_t nsets, setcap;
    const char **strs; /* other interned strings */
    size_t nstrs, strcap;
    tn_tmpl_alert_t *alerts;
    char *err;
} tr_state_t;

static int fail(const char *fmt, const char *arg)
{
    /* amtool's kingpin ends its error line with a blank line */
    fprintf(stderr, "tocsin: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    return 1;
}

static const char *keep_str(tr_state_t *st, const char *s, size_t n)
{
    const char *is = tn_intern(s, n);
    if (st->nstrs == st->strcap) {
        st->strcap = st->strcap ? 2 * st->strcap : 64;
        st->strs = tn_xrealloc(st->strs, st->strcap * sizeof(*st->strs));
    }
    st->strs[st->nstrs++] = is;
    return is;
}

/* Interns kv[0..2n) as a sorted label set owned by st. */
static tn_labels_t keep_kv(tr_state_t *st, const char *const *kv, size_t n)
{
    if (n == 0)
        return (tn_labels_t){NULL, 0};
    tn_label_t *v = tn_xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].name = tn_intern_cstr(kv[2 * i]);
        v[i].value = tn_intern_cstr(kv[2 * i + 1]);
    }
    tn_labels_sort(v, n);
    if (st->nsets == st->setcap) {
        st->setcap = st->setcap ? 2 * st->setcap : 16;
        st->sets = tn_xrealloc(st->sets, st->setcap * sizeof(*st->sets));
    }
    st->sets[st->nsets++] = (tn_labels_t){v, n};
    return (tn_labels_t){v, n};
}

static void state_free(tr_state_t *st)
{
    for (size_t i = 0; i < st->nsets; i++) {
        for (size_t j = 0; j < st->sets[i].n; j++) {
            tn_intern_unref(st->sets[i].v[j].name);
            tn_intern_unref(st->sets[i].v[j].value);
        }
        free((void *)st->sets[i].v);
    }
    free(st->sets);
    for (size_t i = 0; i < st->nstrs; i++)
        tn_intern_unref(st->strs[i]);
    free(st->strs);
    free(st->alerts);
    free(st->err);
}

/* Current Alertmanager's example data (cli/template_render.go): one firing and one resolved
 * alert, times relative to now in the local zone. */
static void default_data(tr_state_t *st, tn_tmpl_data_t *d)
{
    static const char *const l1[] = {
        "label1",          "value1",           "label2",          "value2",
        "instance",        "foo.bar:1234",     "commonlabelkey1", "commonlabelvalue1",
        "commonlabelkey2", "commonlabelvalue2"};
    static const char *const a1[] = {"annotation1",          "value1",
                                     "annotation2",          "value2",
                                     "commonannotationkey1", "commonannotationvalue1",
                                     "commonannotationkey2", "commonannotationvalue2"};
    static const char *const l2[] = {"foo",
                                     "bar",
                                     "baz",
                                     "qux",
                                     "commonlabelkey1",
                                     "commonlabelvalue1",
                                     "commonlabelkey2",
                                     "commonlabelvalue2"};
    static const char *const a2[] = {"aaa",
                                     "bbb",
                                     "ccc",
                                     "ddd",
                                     "commonannotationkey1",
                                     "commonannotationvalue1",
                                     "commonannotationkey2",
                                     "commonannotationvalue2"};
    static const char *const gl[] = {"grouplabelkey1", "grouplabelvalue1", "grouplabelkey2",
                                     "grouplabelvalue2"};
    static const char *const cl[] = {"commonlabelkey1", "commonlabelvalue1", "commonlabelkey2",
                                     "commonlabelvalue2"};
    static const char *const ca[] = {"commonannotationkey1", "commonannotationvalue1",
                                     "commonannotationkey2", "commonannotationvalue2"};
    tn_time_t now = tn_clock_now();
    st->alerts = tn_xcalloc(2, sizeof(*st->alerts));
    tn_tmpl_alert_t *a = st->alerts;
    a[0] = (tn_tmpl_alert_t){.status = "firing",
                             .labels = keep_kv(st, l1, 5),
                             .annotations = keep_kv(st, a1, 4),
                             .starts_at = now - 5 * 60 * TN_NS_PER_SEC,
                             .ends_at = now,
                             .starts_zone = "Local",
                             .ends_zone = "Local",
                             .generator_url = "https://generatorurl.com",
                             .fingerprint = "fingerprint1"};
    a[1] = (tn_tmpl_alert_t){.status = "resolved",
                             .labels = keep_kv(st, l2, 4),
                             .annotations = keep_kv(st, a2, 4),
                             .starts_at = now - 10 * 60 * TN_NS_PER_SEC,
                             .ends_at = now,
                             .starts_zone = "Local",
                             .ends_zone = "Local",
                             .generator_url = "https://generatorurl.com",
                             .fingerprint = "fingerprint2"};
    *d = (tn_tmpl_data_t){.receiver = "receiver",
                          .status = "alertstatus",
                          .alerts = a,
                          .nalerts = 2,
                          .group_labels = keep_kv(st, gl, 2),
                          .common_labels = keep_kv(st, cl, 2),
                          .common_annotations = keep_kv(st, ca, 2),
                          .external_url = "https://example.com"};
}

struct tn_tmpl_example {
    tr_state_t st;
};

tn_tmpl_example_t *tn_tmpl_example_new(tn_tmpl_data_t *d)
{
    tn_tmpl_example_t *e = tn_xcalloc(1, sizeof(*e));
    default_data(&e->st, d);
    return e;
}

void tn_tmpl_example_free(tn_tmpl_example_t *e)
{
    if (!e)
        return;
    state_free(&e->st);
    free(e);
}

/* ---- --template.data: template.Data as encoding/json reads it ---- */

static void set_err(tr_state_t *st, char *msg)
{
    if (!st->err)
        st->err = msg;
    else
        free(msg);
}

/* encoding/json matches object keys to field tags case-insensitively. */
static json_t *jget(json_t *o, const char *key)
{
    const char *k;
    json_t *v, *found = NULL;
    json_object_foreach(o, k, v)
    {
        if (!strcmp(k, key))
            return v;
        if (!found && !strcasecmp(k, key))
            found = v;
    }
    return found;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

static void type_err(tr_state_t *st, const json_t *v, const char *field, const char *gotype)
{
    set_err(st, tn_xasprintf("json: cannot unmarshal %s into Go struct field %s of type %s",
                             json_kind(v), field, gotype));
}

/* A string field; null leaves it empty, as encoding/json does. */
static const char *jstr(tr_state_t *st, json_t *o, const char *key, const char *field)
{
    json_t *v = jget(o, key);
    if (!v || json_is_null(v))
        return "";
    if (!json_is_string(v)) {
        type_err(st, v, field, "string");
        return "";
    }
    return keep_str(st, json_string_value(v), json_string_length(v));
}

static tn_labels_t jkv(tr_state_t *st, json_t *o, const char *key, const char *field)
{
    json_t *v = jget(o, key);
    if (!v || json_is_null(v))
        return (tn_labels_t){NULL, 0};
    if (!json_is_object(v)) {
        type_err(st, v, field, "template.KV");
        return (tn_labels_t){NULL, 0};
    }
    size_t n = json_object_size(v);
    if (n == 0)
        return (tn_labels_t){tn_tmpl_empty_labels, 0}; /* {} is an empty map, not nil */
    const char **kv = tn_xcalloc(2 * n + 1, sizeof(*kv));
    size_t i = 0;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (!json_is_string(x)) {
            char *f = tn_xasprintf("%s.%s", field, k);
            type_err(st, x, f, "string");
            free(f);
            free(kv);
            return (tn_labels_t){NULL, 0};
        }
        kv[2 * i] = k;
        kv[2 * i + 1] = json_string_value(x);
        i++;
    }
    tn_labels_t ls = keep_kv(st, kv, i);
    free(kv);
    return ls;
}

/* A time as time.Time.UnmarshalJSON reads RFC 3339: "Z" is UTC, another offset a nameless
 * fixed zone (Go would name it Local when it equals the local offset). */
static tn_time_t jtime(tr_state_t *st, json_t *o, const char *key, const char *field,
                       const char **zone)
{
    json_t *v = jget(o, key);
    *zone = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        type_err(st, v, field, "time.Time");
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= 19 && !strncmp(s, "0001-01-01T00:00:00", 19) && (s[n - 1] == 'Z' || s[n - 1] == 'z'))
        return 0; /* Go's zero time, as JSON writes a firing alert's endsAt */
    tn_time_t t;
    if (tn_time_parse_rfc3339(s, n, &t)) {
        set_err(st, tn_xasprintf("parsing time \"\\\"%s\\\"\" as "
                                 "\"\\\"2006-01-02T15:04:05Z07:00\\\"\": cannot parse",
                                 s));
        return 0;
    }
    char last = s[n - 1];
    if (last != 'Z' && last != 'z' && n >= 6) {
        const char *off = s + n - 6;
        int secs = ((off[1] - '0') * 10 + (off[2] - '0')) * 3600 +
                   ((off[4] - '0') * 10 + (off[5] - '0')) * 60;
        if (off[0] == '-')
            secs = -secs;
        char buf[24];
        snprintf(buf, sizeof buf, "=%d", secs);
        *zone = keep_str(st, buf, strlen(buf));
    }
    return t;
}

static int load_data(tr_state_t *st, const char *path, tn_tmpl_data_t *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail("open %s: no such file or directory", path), -1;
    json_error_t je;
    json_t *root = json_loadf(f, JSON_DECODE_ANY, &je);
    fclose(f);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s", je.text);
        return fail("%s", msg), -1;
    }
    memset(d, 0, sizeof(*d));
    if (json_is_null(root)) {
        json_decref(root);
        return 0;
    }
    if (!json_is_object(root)) {
        char msg[128];
        snprintf(msg, sizeof msg, "json: cannot unmarshal %s into Go value of type template.Data",
                 json_kind(root));
        json_decref(root);
        return fail("%s", msg), -1;
    }
    d->receiver = jstr(st, root, "receiver", "Data.receiver");
    d->status = jstr(st, root, "status", "Data.status");
    d->external_url = jstr(st, root, "externalURL", "Data.externalURL");
    d->group_labels = jkv(st, root, "groupLabels", "Data.groupLabels");
    d->common_labels = jkv(st, root, "commonLabels", "Data.commonLabels");
    d->common_annotations = jkv(st, root, "commonAnnotations", "Data.commonAnnotations");
    d->route_labels = jkv(st, root, "routeLabels", "Data.routeLabels");
    d->notification_reason = jstr(st, root, "notification_reason", "Data.notification_reason");
    json_t *al = jget(root, "alerts");
    if (al && !json_is_null(al) && !json_is_array(al)) {
        type_err(st, al, "Data.alerts", "template.Alerts");
    } else if (al && json_is_array(al)) {
        size_t n = json_array_size(al);
        st->alerts = tn_xcalloc(n + 1, sizeof(*st->alerts));
        for (size_t i = 0; i < n; i++) {
            json_t *a = json_array_get(al, i);
            tn_tmpl_alert_t *x = &st->alerts[i];
            if (json_is_null(a))
                continue;
            if (!json_is_object(a)) {
                type_err(st, a, "Data.alerts", "template.Alert");
                break;
            }
            x->status = jstr(st, a, "status", "Alert.status");
            x->labels = jkv(st, a, "labels", "Alert.labels");
            x->annotations = jkv(st, a, "annotations", "Alert.annotations");
            x->starts_at = jtime(st, a, "startsAt", "Alert.startsAt", &x->starts_zone);
            x->ends_at = jtime(st, a, "endsAt", "Alert.endsAt", &x->ends_zone);
            x->generator_url = jstr(st, a, "generatorURL", "Alert.generatorURL");
            x->fingerprint = jstr(st, a, "fingerprint", "Alert.fingerprint");
        }
        d->alerts = st->alerts;
        d->nalerts = n;
    }
    json_decref(root);
    if (st->err)
        return fail("%s", st->err), -1;
    return 0;
}

/* ---- flags, as kingpin reads them ---- */

/* --help prints them, and so does the man page (tocsin --help-man). */
const tn_flag_doc_t tn_template_render_flags[] = {
    {"template.glob", "TEMPLATE.GLOB ...",
     "Glob of paths that will be expanded and used for rendering."},
    {"template.text", "TEMPLATE.TEXT", "The template that will be rendered."},
    {"template.type", "TEMPLATE.TYPE",
     "The type of the template. Can be either text (default) or html."},
    {"template.data", "TEMPLATE.DATA",
     "Full path to a JSON file with the data (Alertmanager's template.Data)\n"
     "to render with; without it, example data with two alerts is used."},
};
const size_t tn_template_render_nflags = TN_ARRAY_LEN(tn_template_render_flags);

static void usage(FILE *out)
{
    fprintf(out, "usage: tocsin template render --template.glob=TEMPLATE.GLOB "
                 "--template.text=TEMPLATE.TEXT [<flags>]\n\n"
                 "Render a given definition in a template file to standard output.\n\nFlags:\n");
    for (size_t i = 0; i < tn_template_render_nflags; i++) {
        const tn_flag_doc_t *f = &tn_template_render_flags[i];
        fprintf(out, "  --%s=%s\n      ", f->name, f->arg);
        for (const char *c = f->help; *c; c++) {
            if (*c == '\n')
                fputs("\n      ", out);
            else
                fputc(*c, out);
        }
        fputc('\n', out);
    }
}

int tn_template_render_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "render") != 0) {
        if (argc >= 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
            return fail("expected command but got \"%s\"", argv[1]);
        fprintf(argc >= 2 ? stdout : stderr,
                "usage: tocsin template render [<flags>]\n\nCommands:\n  template render\n"
                "    Render a given definition in a template file to standard output.\n");
        return argc >= 2 ? 0 : 1;
    }
    char *globs[TR_MAX_GLOBS];
    size_t nglobs = 0;
    const char *text = NULL, *type = NULL, *data_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return fail("unexpected %s", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        /* In the table's order: glob, text, type, data. */
        int which = -1;
        for (int k = 0; k < (int)tn_template_render_nflags; k++)
            if (strlen(tn_template_render_flags[k].name) == nlen &&
                !strncmp(name, tn_template_render_flags[k].name, nlen))
                which = k;
        if (which < 0) {
            char flag[128];
            snprintf(flag, sizeof flag, "%.*s", (int)(nlen < 100 ? nlen + 2 : 102), a);
            return fail("unknown long flag '%s'", flag);
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc)
                return fail("expected argument for flag '--%s'",
                            tn_template_render_flags[which].name);
            value = argv[++i];
        }
        switch (which) {
        case 0:
            if (nglobs == TR_MAX_GLOBS)
                return fail("more than %s --template.glob flags", "256");
            globs[nglobs++] = (char *)value;
            break;
        case 1:
            text = value;
            break;
        case 2:
            if (strcmp(value, "html") && strcmp(value, "text"))
                return fail("enum value must be one of html,text, got '%s'", value);
            type = value;
            break;
        default:
            data_path = value;
            break;
        }
    }
    if (!nglobs)
        return fail("required flag %s not provided", "--template.glob");
    if (!text)
        return fail("required flag %s not provided", "--template.text");

    tr_state_t st;
    memset(&st, 0, sizeof(st));
    tn_tmpl_data_t data;
    if (data_path) {
        if (load_data(&st, data_path, &data)) {
            state_free(&st);
            return 1;
        }
    } else {
        default_data(&st, &data);
    }
    int rc = 0;
    char err[TN_ERRBUF_SIZE];
    tn_tmpl_t *t = tt_load(globs, nglobs, true, err, sizeof err);
    if (!t) {
        rc = fail("%s", err);
    } else {
        tn_buf_t out;
        tn_buf_init(&out, 0);
        unsigned flags = type && !strcmp(type, "html") ? TN_TMPL_HTML : 0;
        if (tn_tmpl_render_data(t, text, &data, flags, &out, err, sizeof err) < 0)
            rc = fail("%s", err);
        else if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
            rc = fail("writing output: %s", strerror(errno));
        tn_buf_free(&out);
        tn_tmpl_free(t);
    }
    state_free(&st);
    return rc;
}
