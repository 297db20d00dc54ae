/* Notification templates: a Go text/template-compatible engine with Alertmanager's data model
 * (.Receiver, .Status, .Alerts, .GroupLabels, .CommonLabels, ...) and function set.
 *
 * A tn_tmpl_t is a parsed set of named templates ({{define}}s); it is immutable once built and
 * belongs to a config snapshot. Rendering is bounded: output size, nesting depth and loop
 * iterations are capped, and hitting a cap is an error, never a crash. */
#ifndef TOCSIN_TEMPLATE_H
#define TOCSIN_TEMPLATE_H

#include "tocsin/common.h"
#include "tocsin/labels.h"

struct tn_notification;

typedef struct tn_tmpl tn_tmpl_t; /* a parsed set of named templates */

/* Caps applied to one render. */
#define TN_TMPL_MAX_OUTPUT (1024 * 1024) /* bytes appended per render */
#define TN_TMPL_MAX_DEPTH  100           /* nested template calls / block nesting */
#define TN_TMPL_MAX_ITERS  1000000       /* range iterations per render */

/* An empty set. Free with tn_tmpl_free. */
tn_tmpl_t *tn_tmpl_new(void);
/* Parses text (name is used in errors as "template: name:line: reason") and adds its
 * {{define}}s (a later definition of a name replaces an earlier one, as Go does). Text
 * outside defines is ignored. On error the set is unchanged. */
int tn_tmpl_add(tn_tmpl_t *t, const char *name, const char *text, size_t len, char *err,
                size_t errlen);
/* tocsin's default templates, then every file matching the globs (each glob's matches
 * sorted), as Alertmanager loads them. NULL on error with "file:line: reason" in err. */
tn_tmpl_t *tn_tmpl_load(char *const *globs, size_t nglobs, char *err, size_t errlen);
void tn_tmpl_free(tn_tmpl_t *t);

enum { TN_TMPL_HTML = 1 }; /* html/template-style escaping of output */

/* Renders an inline template text (a config field such as
 * '{{ template "slack.default.title" . }}') against a notification's data (Alertmanager's
 * template.Data). Appends to out (on error out may hold partial output). On error writes err
 * and returns <0. t may be NULL (no named templates). */
int tn_tmpl_render(const tn_tmpl_t *t, const char *text, const struct tn_notification *n,
                   unsigned flags, tn_buf_t *out, char *err, size_t errlen);

/* Alertmanager's template.Data given field by field rather than derived from a notification:
 * what `tocsin template render` executes (amtool's example data or a --template.data file).
 * Times are Unix nanoseconds, 0 being Go's zero time; `zone` is NULL for UTC, "Local", a zone
 * name, or "=SECONDS" for a fixed offset without a name (a parsed RFC 3339 offset). Label
 * sets are sorted by name; their strings must be interned (tn_intern). A label set whose `v`
 * is NULL is Go's nil KV (toJson writes null); an empty one that is not nil has a non-NULL
 * `v` (tn_tmpl_empty_labels). */
extern const tn_label_t tn_tmpl_empty_labels[1];
typedef struct tn_tmpl_alert {
    const char *status;
    tn_labels_t labels, annotations;
    tn_time_t starts_at, ends_at;
    const char *starts_zone, *ends_zone;
    const char *generator_url;
    const char *fingerprint;
} tn_tmpl_alert_t;

typedef struct tn_tmpl_data {
    const char *receiver; /* as given: not regex-quoted */
    const char *status;
    const tn_tmpl_alert_t *alerts; /* NULL: Go's nil Alerts (JSON null) */
    size_t nalerts;
    tn_labels_t group_labels, common_labels, common_annotations;
    /* Route labels: values are templates that `routeLabels` executes (with this data) unless
     * route_labels_rendered says they are already rendered. */
    tn_labels_t route_labels;
    bool route_labels_rendered;
    const char *external_url;
    const char *notification_reason;
} tn_tmpl_data_t;

/* amtool's example data (what `tocsin template render` uses without --template.data), filled
 * into d; valid until the returned holder is freed. */
typedef struct tn_tmpl_example tn_tmpl_example_t;
tn_tmpl_example_t *tn_tmpl_example_new(tn_tmpl_data_t *d);
void tn_tmpl_example_free(tn_tmpl_example_t *e);

/* tn_tmpl_render over explicit data. */
int tn_tmpl_render_data(const tn_tmpl_t *t, const char *text, const tn_tmpl_data_t *d,
                        unsigned flags, tn_buf_t *out, char *err, size_t errlen);

/* Alertmanager's render of a route's labels for one aggregation group: each value of
 * n->route_labels is template text executed (as text, never HTML) against n, whose
 * route_labels_raw is taken as set. A value that calls routeLabels gets the other label's
 * rendered value; every label is rendered at most once per call, and a cycle is an error.
 * Writes the labels that rendered into out (room for n->route_labels.n; interned, sorted, the
 * caller unrefs them) and returns their count. A label whose template fails is left out and
 * passed to on_err (may be NULL) with its raw value and the error. */
typedef void (*tn_tmpl_label_err_fn)(void *ud, const char *name, const char *value,
                                     const char *err);
size_t tn_tmpl_render_route_labels(const tn_tmpl_t *t, const struct tn_notification *n,
                                   tn_label_t *out, tn_tmpl_label_err_fn on_err, void *ud);

/* `tocsin template render ...` (argv[0] is "template"); returns the exit status. */
int tn_template_render_main(int argc, char **argv);

/* Its flags, for its --help and tocsin's man page: name, argument, help (lines split by \n). */
typedef struct tn_flag_doc {
    const char *name, *arg, *help;
} tn_flag_doc_t;
extern const tn_flag_doc_t tn_template_render_flags[];
extern const size_t tn_template_render_nflags;

/* tocsin's own default templates (src/template_default.c). */
extern const char tn_tmpl_default_text[];

#endif
