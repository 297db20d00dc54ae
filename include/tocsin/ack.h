/* Acknowledgements (tocsin extension): an engineer says "I have this" for some alerts.
 *
 * An ack covers one occurrence of each alert: the fingerprint and the startsAt it had when it
 * was acked. It lasts until that alert resolves, until expires_at, or until it is deleted; a
 * new firing occurrence after a resolve (a new startsAt) is not covered. While an alert is
 * acked its group sends no repeat notifications and no escalation for it (notify.h). The set
 * lives in memory on the loop; every change goes to one persistence hook (the store), and
 * tn_acks_load brings acks back at start or from a peer replica. */
#ifndef TOCSIN_ACK_H
#define TOCSIN_ACK_H

#include "tocsin/alert.h"

/* Caps on what one request may create. */
#define TN_ACK_MAX_BY      256
#define TN_ACK_MAX_COMMENT 4096
#define TN_ACK_MAX_ALERTS  10000
#define TN_ACK_MAX_ACKS    10000

typedef struct tn_ack_target {
    uint64_t fp;
    tn_time_t starts_at; /* the occurrence acked */
} tn_ack_target_t;

typedef struct tn_ack {
    char id[37];
    char *by, *comment;
    tn_time_t created_at;
    tn_time_t expires_at; /* 0: until the alerts resolve */
    tn_ack_target_t *targets;
    size_t ntargets;
} tn_ack_t;

typedef struct tn_acks tn_acks_t;

tn_acks_t *tn_acks_new(void);
void tn_acks_free(tn_acks_t *a);

/* Acks `alerts` (resolved ones are skipped; an alert already acked moves to the new ack).
 * expires_at 0 = no expiry. Returns TN_OK with the new ack in *out (borrowed), or
 * TN_ERR_INVAL with a message (nothing firing to ack, too many acks). */
int tn_acks_add(tn_acks_t *a, const char *by, const char *comment, tn_time_t expires_at,
                tn_alert_t *const *alerts, size_t n, tn_time_t now, const tn_ack_t **out, char *err,
                size_t errlen);
/* Ends an ack by hand. TN_ERR_NOTFOUND when there is none with this id. The ack is handed
 * to fn (if not NULL) before it is freed, for the caller's history. */
int tn_acks_delete(tn_acks_t *a, const char *id, void (*fn)(void *ud, const tn_ack_t *ack),
                   void *ud);
const tn_ack_t *tn_acks_get(tn_acks_t *a, const char *id);
/* The live ack covering this version of the alert at `now`, or NULL (resolved, another
 * occurrence, expired). */
const tn_ack_t *tn_acks_of(tn_acks_t *a, const tn_alert_t *alert, tn_time_t now);
/* Every ack, in creation order; fn returns false to stop. Do not change the set from fn. */
typedef bool (*tn_ack_iter_fn)(void *ud, const tn_ack_t *ack);
void tn_acks_foreach(tn_acks_t *a, tn_ack_iter_fn fn, void *ud);
size_t tn_acks_count(tn_acks_t *a);
/* The alert with this fingerprint resolved: its ack no longer covers it (and an ack left with
 * nothing ends), reported to the hook. The rest of the set is not visited. */
void tn_acks_end_alert(tn_acks_t *a, uint64_t fp);
/* Maintenance: drops targets whose alert is gone, resolved or in another occurrence, and
 * acks that expired or cover nothing live (each reported to the hook as deleted). Returns how
 * many acks ended. */
size_t tn_acks_gc(tn_acks_t *a, tn_alert_store_t *alerts, tn_time_t now);

/* Persistence: called after each change (ack borrowed; deleted = it is gone). */
typedef void (*tn_ack_hook_fn)(void *ud, const tn_ack_t *ack, bool deleted);
void tn_acks_set_hook(tn_acks_t *a, tn_ack_hook_fn fn, void *ud);
void tn_acks_get_hook(const tn_acks_t *a, tn_ack_hook_fn *fn, void **ud);
/* Puts an ack as it was stored (copied), replacing one with the same id, without calling the
 * hook. */
void tn_acks_load(tn_acks_t *a, const tn_ack_t *ack);
/* Removes an ack by id without calling the hook (a peer deleted it). */
void tn_acks_unload(tn_acks_t *a, const char *id);

void tn_ack_clear(tn_ack_t *ack);

#endif
