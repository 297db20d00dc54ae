/* The mute stage of the notification pipeline, as Alertmanager orders it: inhibition first,
 * then the route's time intervals (active_time_intervals, then mute_time_intervals), then
 * silences. Inhibited and silenced alerts are dropped one by one; a time interval mutes the
 * whole flush. Each suppressed alert counts in alertmanager_notifications_suppressed_total
 * under its reason. */
#ifndef TOCSIN_MUTE_H
#define TOCSIN_MUTE_H

#include "tocsin/inhibit.h"
#include "tocsin/notify.h"
#include "tocsin/silence.h"

typedef struct tn_muter tn_muter_t;

/* Both are borrowed and may be NULL (that part mutes nothing); they must outlive the muter. */
tn_muter_t *tn_muter_new(tn_inhibitor_t *inh, tn_silences_t *sil);
void tn_muter_free(tn_muter_t *m);
/* A tn_mute_fn: pass it to tn_notifier_set_muter with the muter as ud. */
bool tn_muter_mute(void *ud, const tn_notification_t *n, bool *keep);
/* A resolved alert for which fn says true is not silenced: an alert resolved by hand with a
 * silence to hold it (oncall.h) still sends its resolved notification. */
void tn_muter_set_exempt(tn_muter_t *m, bool (*fn)(void *ud, const tn_alert_t *a), void *ud);

#endif
