/* The on-call API (tocsin extension), under /api/tocsin/v1/: acknowledgements, resolves by
 * hand, the on-call view of alerts, the history and the live events stream. It also feeds the
 * history: alert state changes (an alert listener), silence changes made through the API,
 * every notification attempt (the notifier's observer) and its own actions. docs/oncall.md
 * describes the API for operators. */
#ifndef TOCSIN_ONCALL_H
#define TOCSIN_ONCALL_H

#include "tocsin/ack.h"
#include "tocsin/dispatch.h"
#include "tocsin/events.h"
#include "tocsin/history.h"
#include "tocsin/http.h"
#include "tocsin/inhibit.h"
#include "tocsin/notify.h"
#include "tocsin/silence.h"

typedef struct tn_oncall tn_oncall_t;

typedef struct tn_oncall_deps {
    void *ud;
    tn_alert_store_t *alerts;
    tn_acks_t *acks;
    tn_silences_t *silences;   /* may be NULL */
    tn_inhibitor_t *inhibitor; /* may be NULL */
    tn_history_t *history;     /* NULL: history answers 503 */
    tn_events_t *events;       /* NULL: no events stream */
    /* Receivers the alert is routed to (tn_dispatch_alert_receivers). */
    size_t (*alert_receivers)(void *ud, const tn_alert_t *a, const char **out, size_t max);
    /* Alerts were put in the store by a resolve (dispatch hook, metrics). */
    void (*alerts_stored)(void *ud, size_t n);
    /* An ack was made: the groups holding its alerts whose route has ack_notify hear of it
     * (tn_dispatch_ack_notify). NULL: nothing is sent. */
    void (*ack_made)(void *ud, const tn_ack_t *ack);
    /* An event only this replica sees (a notification it sent, an action made through it),
     * for the other replicas' histories (tn_cluster_share_event); NULL: not shared. */
    void (*share)(void *ud, const tn_event_t *ev);
    /* Once everything changed so far is durable (tn_store_sync); NULL: at once. */
    void (*sync)(void *ud, void (*cb)(void *cbud, int rc), void *cbud);
} tn_oncall_deps_t;

tn_oncall_t *tn_oncall_new(const tn_oncall_deps_t *deps);
void tn_oncall_free(tn_oncall_t *o);
/* The events stream went away (shutdown) or came: requests for it answer 503 without. */
void tn_oncall_set_events(tn_oncall_t *o, tn_events_t *e);

/* The handler for every request under <prefix>/api/tocsin/v1/ (tn_api_deps_t.oncall). */
void tn_oncall_handle(void *o, tn_http_req_t *req);

/* Feeds, wired by main: an alert store listener, the API's silence reports, the notifier's
 * observer, and the muter's exemption for alerts resolved by hand (mute.h). */
void tn_oncall_on_alert(void *o, tn_alert_t *alert, tn_alert_t *old);
void tn_oncall_on_silence(void *o, const tn_silence_t *s, const char *what);
void tn_oncall_on_notify(void *o, const tn_notify_event_t *ev);
bool tn_oncall_resolved_by_hand(void *o, const tn_alert_t *a);
/* An acked alert (tn_acked_fn for the notifier). */
bool tn_oncall_acked(void *o, const tn_alert_t *a, tn_time_t now);
/* Maintenance (every few seconds): ends acks whose alerts resolved or that expired, drops
 * per-alert counters of alerts that are gone. */
void tn_oncall_maintain(tn_oncall_t *o, tn_time_t now);

#endif
