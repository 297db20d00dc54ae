/* The dispatcher: routes alerts into aggregation groups (route x values of group_by) and
 * flushes each group on its own schedule with Alertmanager's rules: first after group_wait
 * (at once if the alert is older than that), then every group_interval, each flush sending
 * the whole group through the notify pipeline; resolved alerts leave the group after a
 * successful flush, and an empty group goes away. */
#ifndef TOCSIN_DISPATCH_H
#define TOCSIN_DISPATCH_H

#include "tocsin/alert.h"
#include "tocsin/config.h"
#include "tocsin/notify.h"
#include "tocsin/sched.h"

typedef struct tn_dispatch tn_dispatch_t;

tn_dispatch_t *tn_dispatch_new(tn_sched_t *sched, tn_notifier_t *notifier, tn_alert_store_t *store);
/* Drops every group (flushes in flight finish on their own). */
void tn_dispatch_free(tn_dispatch_t *d);

/* Installs a config snapshot (takes a reference). When its routes group and time alerts as
 * the current ones do (receivers, templates, inhibit rules and the rest may differ), the groups
 * stay, with their alerts, and move to the new snapshot without routing anything again; their
 * timers restart as rebuilt groups' would (Alertmanager's timing). Otherwise it drops all
 * groups and routes every alert of the store again: the notification log keeps already-sent
 * groups from paging twice; a flush still in flight finishes on the old config, and the new
 * group with its key waits for it. */
void tn_dispatch_set_config(tn_dispatch_t *d, tn_config_t *cfg);
/* Groups created before `t` wait until then before their first flush (--dispatch.start-delay). */
void tn_dispatch_set_start_time(tn_dispatch_t *d, tn_time_t t);
void tn_dispatch_set_external_url(tn_dispatch_t *d, const char *url);

/* The store listener: routes a new or updated alert version into its groups. */
void tn_dispatch_on_alert(void *d, tn_alert_t *alert, tn_alert_t *old);

/* Receivers of the routes the alert matches, in route order (may repeat, as Alertmanager). */
size_t tn_dispatch_alert_receivers(tn_dispatch_t *d, tn_labels_t ls, const char **out, size_t max);
/* Whether some group still holds this alert (keeps it from the store's GC). */
bool tn_dispatch_holds(void *d, const tn_alert_t *alert);
size_t tn_dispatch_group_count(tn_dispatch_t *d);
/* Heap bytes of the groups and their alert maps, not of the alerts (tocsin_memory_bytes). */
size_t tn_dispatch_bytes(const tn_dispatch_t *d);

/* One aggregation group, read-only: its route (in the current config), group labels and the
 * alert versions it holds (resolved ones included). Everything is borrowed and stays valid until
 * the loop runs again. */
typedef struct tn_dispatch_group_view {
    const tn_route_t *route;
    tn_labels_t labels;
    tn_alert_t *const *alerts;
    size_t nalerts;
    /* The route's labels rendered against the group's alerts as they are now (Alertmanager's
     * AlertGroup.RouteLabels), rendered when first asked and kept until the group's alerts
     * change. NULL: the group has none. */
    tn_labels_t (*route_labels)(const struct tn_dispatch_group_view *g);
    void *priv;
} tn_dispatch_group_view_t;
/* Return false to stop. */
typedef bool (*tn_dispatch_group_fn)(void *ud, const tn_dispatch_group_view_t *g);
/* Calls fn for every live group, in no particular order. fn must not change the dispatcher or
 * the alert store. */
void tn_dispatch_foreach_group(tn_dispatch_t *d, tn_dispatch_group_fn fn, void *ud);

/* An ack was made: every group holding one of these alerts whose route has ack_notify sends its
 * receiver an "acknowledged" notification (n.ack set). */
void tn_dispatch_ack_notify(tn_dispatch_t *d, const tn_notif_ack_t *ack, const uint64_t *fps,
                            size_t nfps);

/* Shutdown: no new flushes start and no group timer stays armed (tn_notifier_inflight() says
 * how many flushes are still running). */
void tn_dispatch_stop(tn_dispatch_t *d);

#endif
