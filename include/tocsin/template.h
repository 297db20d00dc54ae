/* Notification templates: a Go text/template-compatible engine with Alertmanager's data model
 * (.Receiver, .Status, .Alerts, .GroupLabels, .CommonLabels, ...) and function set.
 *
 * A tn_tmpl_t is a parsed set of named templates ({{define}}s); it is immutable once built and
 * belongs to a config snapshot. Rendering is bounded: output size, nesting depth and loop
 * iterations are capped, and hitting a cap is an error, never a crash. */
#ifndef TOCSIN_TEMPLATE_H
#define TOCSIN_TEMPLATE_H

#include "tocsin/common.h"

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

/* tocsin's own default templates (src/template_default.c). */
extern const char tn_tmpl_default_text[];

#endif
