/* The self-monitoring registry and its Prometheus text exposition (format 0.0.4).
 *
 * Output follows the Go client byte for byte: families sorted by name, children sorted by
 * label values, label pairs sorted by name with histogram "le" last, numbers as Go's
 * strconv 'g' shortest form. One loop owns the registry: no locks. */
#include "tocsin/metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct tn_metric_child {
    tn_metric_t *family;
    char **values; /* in declaration order */
    double value;  /* counter, gauge */
    /* histogram: per-bucket (non-cumulative) counts, the last one is +Inf */
    uint64_t *counts;
    double sum;
    uint64_t count;
};

struct tn_metric {
    enum tn_metric_kind kind;
    char *name;
    char *help;
    size_t nlabels;
    char **label_names; /* declaration order */
    size_t *order;      /* label indexes sorted by name, for output */
    double *buckets;
    size_t nbuckets;
    tn_metric_child_t **children;
    size_t nchildren, achildren;
};

struct metrics_hook {
    tn_metrics_collect_fn fn;
    void *ud;
};

static struct {
    tn_metric_t **families;
    size_t n, alloc;
    struct metrics_hook *hooks;
    size_t nhooks;
} metrics_reg;

static void metrics_die(const char *what, const char *name)
{
    fprintf(stderr, "tocsin: metrics: %s: %s\n", what, name);
    abort();
}

/* ---- families ---- */

static tn_metric_t *metrics_find(const char *name)
{
    for (size_t i = 0; i < metrics_reg.n; i++)
        if (strcmp(metrics_reg.families[i]->name, name) == 0)
            return metrics_reg.families[i];
    return NULL;
}

static tn_metric_child_t *metrics_child_new(tn_metric_t *m, const char *const *values)
{
    tn_metric_child_t *c = tn_xcalloc(1, sizeof(*c));
    c->family = m;
    c->values = tn_xcalloc(m->nlabels ? m->nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < m->nlabels; i++)
        c->values[i] = tn_xstrdup(values[i]);
    if (m->kind == TN_HISTOGRAM)
        c->counts = tn_xcalloc(m->nbuckets + 1, sizeof(uint64_t));
    if (m->nchildren == m->achildren) {
        m->achildren = m->achildren ? m->achildren * 2 : 4;
        m->children = tn_xrealloc(m->children, m->achildren * sizeof(*m->children));
    }
    m->children[m->nchildren++] = c;
    return c;
}

static tn_metric_t *metrics_family(enum tn_metric_kind kind, const char *name, const char *help,
                                   const char *label_names, const double *buckets, size_t nbuckets)
{
    tn_metric_t *m = metrics_find(name);
    if (m) {
        if (m->kind != kind)
            metrics_die("registered twice with another type", name);
        return m;
    }
    m = tn_xcalloc(1, sizeof(*m));
    m->kind = kind;
    m->name = tn_xstrdup(name);
    m->help = tn_xstrdup(help ? help : "");
    if (label_names && *label_names) {
        for (const char *p = label_names; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
            m->nlabels++;
        m->label_names = tn_xcalloc(m->nlabels, sizeof(char *));
        m->order = tn_xcalloc(m->nlabels, sizeof(size_t));
        const char *p = label_names;
        for (size_t i = 0; i < m->nlabels; i++) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            m->label_names[i] = tn_xstrndup(p, len);
            p = end ? end + 1 : p + len;
        }
        /* insertion sort of the output order: a handful of labels */
        for (size_t i = 0; i < m->nlabels; i++) {
            size_t j = i;
            while (j > 0 && strcmp(m->label_names[m->order[j - 1]], m->label_names[i]) > 0) {
                m->order[j] = m->order[j - 1];
                j--;
            }
            m->order[j] = i;
        }
    }
    if (kind == TN_HISTOGRAM) {
        m->nbuckets = nbuckets;
        m->buckets = tn_xmalloc((nbuckets ? nbuckets : 1) * sizeof(double));
        if (nbuckets)
            memcpy(m->buckets, buckets, nbuckets * sizeof(double));
        for (size_t i = 1; i < nbuckets; i++)
            if (!(m->buckets[i] > m->buckets[i - 1]))
                metrics_die("histogram buckets not ascending", name);
    }
    if (metrics_reg.n == metrics_reg.alloc) {
        metrics_reg.alloc = metrics_reg.alloc ? metrics_reg.alloc * 2 : 32;
        metrics_reg.families =
            tn_xrealloc(metrics_reg.families, metrics_reg.alloc * sizeof(*metrics_reg.families));
    }
    metrics_reg.families[metrics_reg.n++] = m;
    /* A family without labels always shows, at zero, as the Go client's plain metrics do. */
    if (m->nlabels == 0)
        metrics_child_new(m, NULL);
    return m;
}

tn_metric_t *tn_metric_counter(const char *name, const char *help, const char *label_names)
{
    return metrics_family(TN_COUNTER, name, help, label_names, NULL, 0);
}

tn_metric_t *tn_metric_gauge(const char *name, const char *help, const char *label_names)
{
    return metrics_family(TN_GAUGE, name, help, label_names, NULL, 0);
}

tn_metric_t *tn_metric_histogram(const char *name, const char *help, const char *label_names,
                                 const double *buckets, size_t nbuckets)
{
    return metrics_family(TN_HISTOGRAM, name, help, label_names, buckets, nbuckets);
}

/* ---- children ---- */

tn_metric_child_t *tn_metric_with(tn_metric_t *m, ...)
{
    const char *values[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, m);
    for (const char *v = va_arg(ap, const char *); v; v = va_arg(ap, const char *)) {
        if (n == TN_ARRAY_LEN(values))
            metrics_die("too many label values", m->name);
        values[n++] = v;
    }
    va_end(ap);
    if (n != m->nlabels)
        metrics_die("wrong number of label values", m->name);
    for (size_t i = 0; i < m->nchildren; i++) {
        tn_metric_child_t *c = m->children[i];
        size_t j = 0;
        while (j < n && strcmp(c->values[j], values[j]) == 0)
            j++;
        if (j == n)
            return c;
    }
    return metrics_child_new(m, values);
}

tn_metric_child_t *tn_metric_plain(tn_metric_t *m)
{
    if (m->nlabels != 0)
        metrics_die("family has labels", m->name);
    return m->children[0];
}

void tn_metric_add(tn_metric_child_t *c, double v)
{
    c->value += v;
}

void tn_metric_set(tn_metric_child_t *c, double v)
{
    c->value = v;
}

void tn_metric_observe(tn_metric_child_t *c, double v)
{
    tn_metric_t *m = c->family;
    if (m->kind != TN_HISTOGRAM)
        metrics_die("observe on a non-histogram", m->name);
    /* first bucket whose upper bound holds v; NaN lands in +Inf as in the Go client */
    size_t lo = 0, hi = m->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= m->buckets[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    c->counts[lo]++;
    c->sum += v;
    c->count++;
}

double tn_metric_value(const tn_metric_child_t *c)
{
    if (c->family->kind == TN_HISTOGRAM)
        return (double)c->count;
    return c->value;
}

void tn_metrics_on_collect(tn_metrics_collect_fn fn, void *ud)
{
    metrics_reg.hooks =
        tn_xrealloc(metrics_reg.hooks, (metrics_reg.nhooks + 1) * sizeof(*metrics_reg.hooks));
    metrics_reg.hooks[metrics_reg.nhooks++] = (struct metrics_hook){fn, ud};
}

/* ---- exposition ---- */

/* The Go client's float form: 0, 1, -1, NaN, +Inf, -Inf spelled out, else Go's
 * strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back as v, in %e form when
 * the decimal exponent is below -4 or at least 6. */
static void metrics_format_float(tn_buf_t *out, double v)
{
    if (isnan(v)) {
        tn_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        tn_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        tn_buf_putc(out, '0');
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is "[-]d.ddde±xx": pull out the digits and the exponent */
    char digs[24];
    size_t nd = 0;
    const char *p = tmp;
    if (*p == '-') {
        tn_buf_putc(out, '-');
        p++;
    }
    for (; *p && *p != 'e' && nd < sizeof(digs); p++)
        if (*p != '.')
            digs[nd++] = *p;
    long exp = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    if (exp < -4 || exp >= 6) {
        tn_buf_putc(out, digs[0]);
        if (nd > 1) {
            tn_buf_putc(out, '.');
            tn_buf_append(out, digs + 1, nd - 1);
        }
        tn_buf_printf(out, "e%c%02ld", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    if (exp < 0) {
        tn_buf_puts(out, "0.");
        for (long i = -1; i > exp; i--)
            tn_buf_putc(out, '0');
        tn_buf_append(out, digs, nd);
        return;
    }
    size_t intd = (size_t)exp + 1;
    for (size_t i = 0; i < intd; i++)
        tn_buf_putc(out, i < nd ? digs[i] : '0');
    if (nd > intd) {
        tn_buf_putc(out, '.');
        tn_buf_append(out, digs + intd, nd - intd);
    }
}

static void metrics_escape(tn_buf_t *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            tn_buf_puts(out, "\\\\");
        else if (*s == '\n')
            tn_buf_puts(out, "\\n");
        else if (quote && *s == '"')
            tn_buf_puts(out, "\\\"");
        else
            tn_buf_putc(out, *s);
    }
}

/* name{a="x",b="y"[,le="..."]} value\n */
static void metrics_sample(tn_buf_t *out, const tn_metric_t *m, const tn_metric_child_t *c,
                           const char *suffix, const char *le, double v)
{
    tn_buf_puts(out, m->name);
    tn_buf_puts(out, suffix);
    if (m->nlabels || le) {
        tn_buf_putc(out, '{');
        for (size_t i = 0; i < m->nlabels; i++) {
            size_t k = m->order[i];
            if (i)
                tn_buf_putc(out, ',');
            tn_buf_puts(out, m->label_names[k]);
            tn_buf_puts(out, "=\"");
            metrics_escape(out, c->values[k], true);
            tn_buf_putc(out, '"');
        }
        if (le) {
            if (m->nlabels)
                tn_buf_putc(out, ',');
            tn_buf_puts(out, "le=\"");
            tn_buf_puts(out, le);
            tn_buf_putc(out, '"');
        }
        tn_buf_putc(out, '}');
    }
    tn_buf_putc(out, ' ');
    metrics_format_float(out, v);
    tn_buf_putc(out, '\n');
}

static int metrics_cmp_family(const void *a, const void *b)
{
    const tn_metric_t *x = *(tn_metric_t *const *)a, *y = *(tn_metric_t *const *)b;
    return strcmp(x->name, y->name);
}

static int metrics_cmp_child(const void *a, const void *b)
{
    const tn_metric_child_t *x = *(tn_metric_child_t *const *)a;
    const tn_metric_child_t *y = *(tn_metric_child_t *const *)b;
    const tn_metric_t *m = x->family;
    for (size_t i = 0; i < m->nlabels; i++) {
        int r = strcmp(x->values[m->order[i]], y->values[m->order[i]]);
        if (r)
            return r;
    }
    return 0;
}

static void metrics_write_family(tn_buf_t *out, tn_metric_t *m)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    if (m->nchildren == 0)
        return; /* a vector nobody used yet is not exposed, as in the Go client */
    tn_buf_puts(out, "# HELP ");
    tn_buf_puts(out, m->name);
    tn_buf_putc(out, ' ');
    metrics_escape(out, m->help, false);
    tn_buf_printf(out, "\n# TYPE %s %s\n", m->name, kinds[m->kind]);
    qsort(m->children, m->nchildren, sizeof(*m->children), metrics_cmp_child);
    for (size_t i = 0; i < m->nchildren; i++) {
        const tn_metric_child_t *c = m->children[i];
        if (m->kind != TN_HISTOGRAM) {
            metrics_sample(out, m, c, "", NULL, c->value);
            continue;
        }
        uint64_t cum = 0;
        tn_buf_t le;
        tn_buf_init(&le, 0);
        for (size_t b = 0; b <= m->nbuckets; b++) {
            cum += c->counts[b];
            tn_buf_reset(&le);
            if (b < m->nbuckets)
                metrics_format_float(&le, m->buckets[b]);
            else
                tn_buf_puts(&le, "+Inf");
            metrics_sample(out, m, c, "_bucket", tn_buf_cstr(&le), (double)cum);
        }
        tn_buf_free(&le);
        metrics_sample(out, m, c, "_sum", NULL, c->sum);
        metrics_sample(out, m, c, "_count", NULL, (double)c->count);
    }
}

void tn_metrics_write(tn_buf_t *out)
{
    for (size_t i = 0; i < metrics_reg.nhooks; i++)
        metrics_reg.hooks[i].fn(metrics_reg.hooks[i].ud);
    if (metrics_reg.n > 1)
        qsort(metrics_reg.families, metrics_reg.n, sizeof(*metrics_reg.families),
              metrics_cmp_family);
    for (size_t i = 0; i < metrics_reg.n; i++)
        metrics_write_family(out, metrics_reg.families[i]);
}

void tn_metrics_free_all(void)
{
    for (size_t i = 0; i < metrics_reg.n; i++) {
        tn_metric_t *m = metrics_reg.families[i];
        for (size_t j = 0; j < m->nchildren; j++) {
            tn_metric_child_t *c = m->children[j];
            for (size_t k = 0; k < m->nlabels; k++)
                free(c->values[k]);
            free(c->values);
            free(c->counts);
            free(c);
        }
        for (size_t k = 0; k < m->nlabels; k++)
            free(m->label_names[k]);
        free(m->label_names);
        free(m->order);
        free(m->children);
        free(m->buckets);
        free(m->name);
        free(m->help);
        free(m);
    }
    free(metrics_reg.families);
    free(metrics_reg.hooks);
    memset(&metrics_reg, 0, sizeof(metrics_reg));
}

/* ---- process_* from /proc ---- */

static struct {
    tn_metric_child_t *cpu, *rss, *vsize, *vmax, *open_fds, *max_fds, *start;
} metrics_proc;

/* Reads a small /proc file whole into buf; returns its length or -1. */
static long metrics_read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

static double metrics_boot_time(void)
{
    char buf[8192];
    if (metrics_read_file("/proc/stat", buf, sizeof(buf)) < 0)
        return 0;
    const char *p = strstr(buf, "\nbtime ");
    return p ? strtod(p + 7, NULL) : 0;
}

static void metrics_proc_collect(void *ud)
{
    TN_UNUSED(ud);
    char buf[1024];
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (metrics_read_file("/proc/self/stat", buf, sizeof(buf)) > 0) {
        /* fields after the parenthesised command name, which may hold spaces */
        const char *p = strrchr(buf, ')');
        double f[24] = {0};
        size_t n = 0;
        if (p) {
            p += 2;
            char *end;
            /* field 3 (state) is a letter: skip it, then read fields 4..24 */
            p = strchr(p, ' ');
            while (p && n < TN_ARRAY_LEN(f)) {
                f[n++] = strtod(p, &end);
                p = end == p ? NULL : end;
            }
        }
        /* f[0] is field 4; utime 14, stime 15, starttime 22, vsize 23, rss 24 */
        if (n >= 21 && ticks > 0) {
            tn_metric_set(metrics_proc.cpu, (f[10] + f[11]) / (double)ticks);
            tn_metric_set(metrics_proc.start, metrics_boot_time() + f[18] / (double)ticks);
            tn_metric_set(metrics_proc.vsize, f[19]);
            tn_metric_set(metrics_proc.rss, f[20] * (double)page);
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        double n = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        tn_metric_set(metrics_proc.open_fds, n - 1); /* minus the one opendir holds */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        tn_metric_set(metrics_proc.max_fds,
                      rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    if (getrlimit(RLIMIT_AS, &rl) == 0)
        tn_metric_set(metrics_proc.vmax, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

void tn_metrics_register_process(void)
{
    metrics_proc.cpu = tn_metric_plain(tn_metric_counter(
        "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", NULL));
    metrics_proc.max_fds = tn_metric_plain(
        tn_metric_gauge("process_max_fds", "Maximum number of open file descriptors.", NULL));
    metrics_proc.open_fds = tn_metric_plain(
        tn_metric_gauge("process_open_fds", "Number of open file descriptors.", NULL));
    metrics_proc.rss = tn_metric_plain(
        tn_metric_gauge("process_resident_memory_bytes", "Resident memory size in bytes.", NULL));
    metrics_proc.start = tn_metric_plain(
        tn_metric_gauge("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.", NULL));
    metrics_proc.vsize = tn_metric_plain(
        tn_metric_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL));
    metrics_proc.vmax = tn_metric_plain(
        tn_metric_gauge("process_virtual_memory_max_bytes",
                        "Maximum amount of virtual memory available in bytes.", NULL));
    /* the registry may have been freed and rebuilt (tests): hook once per registry */
    bool hooked = false;
    for (size_t i = 0; i < metrics_reg.nhooks; i++)
        hooked |= metrics_reg.hooks[i].fn == metrics_proc_collect;
    if (!hooked)
        tn_metrics_on_collect(metrics_proc_collect, NULL);
}
