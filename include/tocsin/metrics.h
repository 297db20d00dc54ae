/* Self-monitoring in Prometheus text format. One process-wide registry; metric families are
 * created once at start-up and their children (one per label-value tuple) cached by callers. */
#ifndef TOCSIN_METRICS_H
#define TOCSIN_METRICS_H

#include "tocsin/common.h"

enum tn_metric_kind { TN_COUNTER, TN_GAUGE, TN_HISTOGRAM };

typedef struct tn_metric tn_metric_t;             /* a family */
typedef struct tn_metric_child tn_metric_child_t; /* one label-value tuple */

/* label_names: comma-separated ("integration,reason") or NULL for none. Registering the same
 * name twice returns the existing family. */
tn_metric_t *tn_metric_counter(const char *name, const char *help, const char *label_names);
tn_metric_t *tn_metric_gauge(const char *name, const char *help, const char *label_names);
/* buckets: upper bounds, ascending; +Inf is implied. Copied. */
tn_metric_t *tn_metric_histogram(const char *name, const char *help, const char *label_names,
                                 const double *buckets, size_t nbuckets);

/* The child for these label values (as many as the family has names), created on first use. */
tn_metric_child_t *tn_metric_with(tn_metric_t *m, ...) __attribute__((sentinel));
/* Shortcut for a family without labels. */
tn_metric_child_t *tn_metric_plain(tn_metric_t *m);

void tn_metric_add(tn_metric_child_t *c, double v);     /* counter or gauge */
void tn_metric_set(tn_metric_child_t *c, double v);     /* gauge */
void tn_metric_observe(tn_metric_child_t *c, double v); /* histogram */
double tn_metric_value(const tn_metric_child_t *c);     /* counter/gauge value (tests) */

/* Called at scrape time to refresh gauges (alert counts, process stats). */
typedef void (*tn_metrics_collect_fn)(void *ud);
void tn_metrics_on_collect(tn_metrics_collect_fn fn, void *ud);

/* Writes the whole registry in text exposition format 0.0.4, families sorted by name. */
void tn_metrics_write(tn_buf_t *out);
/* Frees every family (at exit, so leak checkers stay quiet). */
void tn_metrics_free_all(void);

/* Registers process_* metrics (RSS, virtual memory, CPU seconds, open and max fds, start
 * time) read from /proc at scrape time, and go-less build info is separate. */
void tn_metrics_register_process(void);

#endif
