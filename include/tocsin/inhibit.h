/* Inhibition: alerts matching a rule's target matchers are muted while a firing alert matching
 * its source matchers carries the same values for the rule's `equal` labels, as Alertmanager
 * does (an alert matching both sides of a rule does not inhibit itself through that rule).
 *
 * Source alerts are indexed per rule by a hash of their `equal` values, so a check costs the
 * rules whose target matchers match, not a scan of all alerts. */
#ifndef TOCSIN_INHIBIT_H
#define TOCSIN_INHIBIT_H

#include "tocsin/alert.h"
#include "tocsin/config.h"

typedef struct tn_inhibitor tn_inhibitor_t;

/* The store is borrowed and must outlive the inhibitor. */
tn_inhibitor_t *tn_inhibitor_new(tn_alert_store_t *store);
void tn_inhibitor_free(tn_inhibitor_t *inh);
/* New config: rebuild the rule index from the alerts in the store. The config is referenced
 * until the next call or tn_inhibitor_free. NULL drops every rule. */
void tn_inhibitor_set_config(tn_inhibitor_t *inh, const tn_config_t *cfg);
/* Alert store listener (alert NULL = old removed by GC). */
void tn_inhibitor_on_alert(void *inh, tn_alert_t *alert, tn_alert_t *old);
/* Whether ls (fingerprint fp) is inhibited at now; writes up to max fingerprints of the
 * inhibiting source alerts (for inhibitedBy) and returns the count (0 = not inhibited). */
size_t tn_inhibitor_mutes(tn_inhibitor_t *inh, tn_labels_t ls, uint64_t fp, tn_time_t now,
                          uint64_t *by, size_t max);

#endif
