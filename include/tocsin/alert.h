/* Alerts and the alert store.
 *
 * An alert version is immutable and refcounted: one allocation holds the struct and its label
 * and annotation arrays (the strings themselves are interned). An update creates a new version
 * and swaps it into the store and into the aggregation groups; notifications in flight keep
 * the version they were built from alive through their reference. */
#ifndef TOCSIN_ALERT_H
#define TOCSIN_ALERT_H

#include "tocsin/labels.h"

/* Most labels (and, separately, annotations) one alert may carry; the counts are 16-bit. */
#define TN_ALERT_MAX_PAIRS 4096

typedef struct tn_alert {
    uint32_t refs;
    uint16_t nlabels;
    uint16_t nannotations;
    bool timeout; /* endsAt was not given; it is now + resolve_timeout */
    uint64_t fp;  /* label-set fingerprint */
    tn_time_t starts_at;
    tn_time_t ends_at; /* 0 = unset */
    tn_time_t updated_at;
    const char *generator_url; /* interned, or NULL */
    tn_label_t *labels;        /* sorted, interned, in this allocation's tail */
    tn_label_t *annotations;   /* sorted, interned, in this allocation's tail */
} tn_alert_t;

/* Builds an alert version. Takes ownership of one reference of every interned string in
 * labels[] and annotations[] and of generator_url (each may be NULL-free; arrays need not be
 * sorted; names must be unique — check with tn_labels_sort first; at most TN_ALERT_MAX_PAIRS
 * each). refs starts at 1. */
tn_alert_t *tn_alert_new(const tn_label_t *labels, size_t nlabels, const tn_label_t *annotations,
                         size_t nannotations, const char *generator_url);
/* Copies everything (taking new string references); refs of the copy is 1. */
tn_alert_t *tn_alert_clone(const tn_alert_t *a);
tn_alert_t *tn_alert_ref(tn_alert_t *a);
void tn_alert_unref(tn_alert_t *a);

static inline tn_labels_t tn_alert_labels(const tn_alert_t *a)
{
    return (tn_labels_t){a->labels, a->nlabels};
}
static inline tn_labels_t tn_alert_annotations(const tn_alert_t *a)
{
    return (tn_labels_t){a->annotations, a->nannotations};
}
/* Resolved at `now`: endsAt set and not after now (Alertmanager's ResolvedAt). */
bool tn_alert_resolved_at(const tn_alert_t *a, tn_time_t now);
/* Value of the alertname label, or "". */
const char *tn_alert_name(const tn_alert_t *a);
/* Alertmanager's Merge: o is merged with the stored version a; returns a new version. */
tn_alert_t *tn_alert_merge(const tn_alert_t *a, const tn_alert_t *o);
/* Whether a (the new version) is a re-send of old as Prometheus makes them at each evaluation:
 * both firing, only endsAt moved on (or not at all), and updatedAt in the same period as
 * old's. Persistence and replication write such versions once per period. */
bool tn_alert_is_resend(const tn_alert_t *a, const tn_alert_t *old, tn_duration_t period);

/* ---- the store: fingerprint -> current alert version ---- */

typedef struct tn_alert_store tn_alert_store_t;

/* Called after a version is stored (new or replacing old; old may be NULL), and with
 * alert = NULL when GC removed `old`. The store holds its own reference; a listener that keeps
 * the alert takes another. */
typedef void (*tn_alert_listener_fn)(void *ud, tn_alert_t *alert, tn_alert_t *old);
#define TN_ALERT_MAX_LISTENERS 8

tn_alert_store_t *tn_alert_store_new(void);
/* Drops every alert (listeners are not called). */
void tn_alert_store_free(tn_alert_store_t *s);
/* Replaces every listener with fn (none if NULL). */
void tn_alert_store_set_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud);
/* Adds a listener; they run in the order added (the dispatcher's first). */
void tn_alert_store_add_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud);
void tn_alert_store_remove_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud);
/* Cap on active alerts; 0 = none. Put of a new fingerprint beyond it fails with TN_ERR_LIMIT
 * and counts in tocsin_alerts_limited_total (registered here, so exported even at 0). */
void tn_alert_store_set_limit(tn_alert_store_t *s, size_t max_alerts);
/* --alerts.per-alertname-limit (0 = none): as Alertmanager, an alertname keeps at most this many
 * alerts that have not ended; a put beyond it fails with TN_ERR_LIMIT and counts in
 * alertmanager_alerts_limited_total. */
void tn_alert_store_set_name_limit(tn_alert_store_t *s, size_t per_alertname);

/* Inserts an incoming alert with Alertmanager's Put rules: merges with the stored version when
 * their activity ranges overlap, else replaces it. Consumes the caller's reference to `in`. */
int tn_alert_store_put(tn_alert_store_t *s, tn_alert_t *in);
/* Borrowed pointer, or NULL. */
tn_alert_t *tn_alert_store_get(tn_alert_store_t *s, uint64_t fp);
size_t tn_alert_store_count(tn_alert_store_t *s);
/* Heap bytes of every live alert version (stored or held by groups and notifications), plus
 * s's table when s is given (tocsin_memory_bytes). */
size_t tn_alert_bytes(const tn_alert_store_t *s);
/* Counts of firing and resolved alerts at `now`. */
void tn_alert_store_counts(tn_alert_store_t *s, tn_time_t now, size_t *firing, size_t *resolved);

/* Iteration in unspecified order; fn returns false to stop. Do not put/delete from fn. */
typedef bool (*tn_alert_iter_fn)(void *ud, tn_alert_t *alert);
void tn_alert_store_foreach(tn_alert_store_t *s, tn_alert_iter_fn fn, void *ud);

/* Garbage collection: removes alerts resolved at `now` for which keep(ud, alert) says false
 * (the dispatcher keeps those its groups still have to notify). Returns how many went. */
typedef bool (*tn_alert_keep_fn)(void *ud, const tn_alert_t *alert);
size_t tn_alert_store_gc(tn_alert_store_t *s, tn_time_t now, tn_alert_keep_fn keep, void *ud);

/* ---- per-alertname cap (Alertmanager's --alerts.per-alertname-limit) ---- */

typedef struct tn_name_limiter tn_name_limiter_t;

/* limit > 0. */
tn_name_limiter_t *tn_name_limiter_new(size_t limit);
void tn_name_limiter_free(tn_name_limiter_t *l);
/* Whether an alert (name, fingerprint, endsAt) may be stored at now, remembering it if so. A
 * name keeps at most `limit` fingerprints; a new one takes the place of the one that ended
 * longest ago when that endsAt has passed (0 counts as passed), else it is refused. */
bool tn_name_limiter_admit(tn_name_limiter_t *l, const char *name, uint64_t fp, tn_time_t ends_at,
                           tn_time_t now);
/* Forgets names whose every alert ended before now. */
void tn_name_limiter_gc(tn_name_limiter_t *l, tn_time_t now);

#endif
