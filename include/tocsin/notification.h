/* The notification: what one flush of an aggregation group sends to one receiver, the alerts
 * in it (Alertmanager's order) and, on a rate-limit summary, what was held back.
 *
 * The dispatcher and the rate limiter build notifications, notify copies them per flush, the
 * template engine renders against them and receivers turn them into requests; none of these
 * needs another's headers to read one. A notification borrows everything it points to: alerts,
 * strings, labels, the config snapshot and the summary belong to whoever built it. */
#ifndef TOCSIN_NOTIFICATION_H
#define TOCSIN_NOTIFICATION_H

#include <stddef.h>

#include "tocsin/alert.h"
#include "tocsin/config.h"

typedef struct tn_notif_alert {
    const tn_alert_t *alert;
    bool resolved; /* resolved at flush time; a firing alert prints endsAt as Go's zero time */
} tn_notif_alert_t;

/* What a rate limit held back (tocsin extension): a summary notification carries it, and its
 * alerts are the held ones (firing first, at most TN_SUMMARY_MAX_ALERTS). Lists are cut at
 * TN_SUMMARY_MAX_LIST entries; the counts are always whole. */
#define TN_SUMMARY_MAX_ALERTS 1000
#define TN_SUMMARY_MAX_LIST   100

typedef struct tn_summary_group {
    const char *group_key;
    tn_labels_t group_labels;
    size_t nfiring, nresolved;
} tn_summary_group_t;

typedef struct tn_summary_name {
    const char *alertname;
    size_t count; /* held alerts of this name */
} tn_summary_name_t;

typedef struct tn_summary {
    size_t nalerts, nfiring, nresolved; /* held alerts over all groups */
    size_t ngroups;                     /* held groups */
    size_t nnotifications;              /* notifications held since the last summary */
    tn_time_t since;                    /* first one held */
    const tn_summary_group_t *groups;   /* by group key; nlisted_groups <= ngroups */
    size_t nlisted_groups;
    const tn_summary_name_t *names; /* most alerts first */
    size_t nnames;
    bool truncated; /* some group, name or alert is not listed */
} tn_summary_t;

/* An acknowledgement announced to the group (a route's ack_notify, tocsin extension). */
typedef struct tn_notif_ack {
    const char *id, *by, *comment;
    tn_time_t at;
} tn_notif_ack_t;

typedef struct tn_notification {
    const char *receiver;  /* receiver name */
    const char *group_key; /* Alertmanager's group key: route key + ":" + group labels */
    tn_labels_t group_labels;
    const tn_notif_alert_t *alerts; /* sorted as Alertmanager sorts (tn_notif_alerts_sort) */
    size_t nalerts;
    size_t nfiring;
    const char *external_url;
    tn_time_t now;             /* flush time */
    const tn_config_t *config; /* snapshot the notification was built from */
    const tn_route_t *route;   /* route of the aggregation group (in config), or NULL */
    /* Alertmanager's notification reason text ("first notification", "new alerts added", ...),
     * set per integration by notify; NULL is sent as "unknown". */
    const char *reason;
    /* Set only on a rate-limit summary (tocsin extension); NULL on every other notification. */
    const tn_summary_t *summary;
    /* Set only on an ack announcement (tocsin extension): webhooks carry it as tocsinAck,
     * templates see it as .Ack. */
    const tn_notif_ack_t *ack;
    /* The group's route labels (Alertmanager's Data.RouteLabels), sorted by name. A flush
     * carries them rendered, and routeLabels returns them as they are; with route_labels_raw
     * the values are still template text, which routeLabels executes (the dispatcher's own
     * render of them, tn_tmpl_render_route_labels). */
    tn_labels_t route_labels;
    bool route_labels_raw;
    /* Firing alerts print their stored endsAt rather than Go's zero time: the groups API's
     * render of route labels, which sees the group's alerts as stored, not as a flush sends
     * them. */
    bool stored_ends_at;
} tn_notification_t;

/* Alertmanager's AlertSlice order: by the job label, then instance, then whole label sets. */
void tn_notif_alerts_sort(tn_notif_alert_t *v, size_t n);
/* Labels (or annotations) common to every alert of the notification, written as new interned
 * pairs into out (caller unrefs them); returns the count. */
size_t tn_notification_common_labels(const tn_notification_t *n, bool annotations, tn_label_t *out,
                                     size_t max);

#endif
