/* Inhibition (see include/tocsin/inhibit.h). */
#include "tocsin/inhibit.h"

#include <stdlib.h>

struct tn_inhibitor {
    tn_alert_store_t *store;
    tn_config_t *cfg;
};

tn_inhibitor_t *tn_inhibitor_new(tn_alert_store_t *store)
{
    tn_inhibitor_t *inh = tn_xcalloc(1, sizeof(*inh));
    inh->store = store;
    return inh;
}

void tn_inhibitor_free(tn_inhibitor_t *inh)
{
    if (!inh)
        return;
    if (inh->cfg)
        tn_config_unref(inh->cfg);
    free(inh);
}

void tn_inhibitor_set_config(tn_inhibitor_t *inh, const tn_config_t *cfg)
{
    if (inh->cfg)
        tn_config_unref(inh->cfg);
    inh->cfg = cfg ? tn_config_ref((tn_config_t *)cfg) : NULL;
}

void tn_inhibitor_on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    (void)ud;
    (void)alert;
    (void)old;
}

size_t tn_inhibitor_mutes(tn_inhibitor_t *inh, tn_labels_t ls, uint64_t fp, tn_time_t now,
                          uint64_t *by, size_t max)
{
    (void)inh;
    (void)ls;
    (void)fp;
    (void)now;
    (void)by;
    (void)max;
    return 0;
}
