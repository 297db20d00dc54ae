/* The mute stage (see include/tocsin/mute.h). */
#include "tocsin/mute.h"

#include "tocsin/metrics.h"
#include "tocsin/timeinterval.h"

#include <stdlib.h>

struct tn_muter {
    tn_inhibitor_t *inh;
    tn_silences_t *sil;
    bool (*exempt)(void *ud, const tn_alert_t *a);
    void *exempt_ud;
    tn_metric_child_t *m_silence, *m_inhibition, *m_mute_time, *m_active_time;
};

tn_muter_t *tn_muter_new(tn_inhibitor_t *inh, tn_silences_t *sil)
{
    tn_muter_t *m = tn_xcalloc(1, sizeof(*m));
    tn_metric_t *sup = tn_metric_counter(
        "alertmanager_notifications_suppressed_total",
        "The total number of notifications suppressed for being silenced, inhibited, outside of "
        "active time intervals or within muted time intervals.",
        "reason");

    m->inh = inh;
    m->sil = sil;
    m->m_silence = tn_metric_with(sup, "silence", NULL);
    m->m_inhibition = tn_metric_with(sup, "inhibition", NULL);
    m->m_mute_time = tn_metric_with(sup, "mute_time_interval", NULL);
    m->m_active_time = tn_metric_with(sup, "active_time_interval", NULL);
    return m;
}

void tn_muter_free(tn_muter_t *m)
{
    free(m);
}

bool tn_muter_mute(void *ud, const tn_notification_t *n, bool *keep)
{
    tn_muter_t *m = ud;
    size_t inhibited = 0, silenced = 0, left = 0;
    const char *why = NULL;

    for (size_t i = 0; m->inh && i < n->nalerts; i++) {
        const tn_alert_t *a = n->alerts[i].alert;
        uint64_t by;
        if (keep[i] && tn_inhibitor_mutes(m->inh, tn_alert_labels(a), a->fp, n->now, &by, 1)) {
            keep[i] = false;
            inhibited++;
        }
    }
    if (inhibited)
        tn_metric_add(m->m_inhibition, (double)inhibited);
    for (size_t i = 0; i < n->nalerts; i++)
        left += keep[i];
    if (left == 0)
        return false;
    /* Time intervals mute the whole flush; the decisive name comes from the route's own
     * arrays, so a pointer compare tells an active interval from a mute one. */
    if (n->route && n->config && tn_route_time_muted(n->config, n->route, n->now, &why)) {
        bool active =
            n->route->nactive_time_intervals > 0 && why == n->route->active_time_intervals[0];
        tn_metric_add(active ? m->m_active_time : m->m_mute_time, (double)left);
        return false;
    }
    for (size_t i = 0; m->sil && i < n->nalerts; i++) {
        const tn_silence_t *s;
        if (keep[i] && n->alerts[i].resolved && m->exempt &&
            m->exempt(m->exempt_ud, n->alerts[i].alert))
            continue;
        if (keep[i] &&
            tn_silences_mutes(m->sil, tn_alert_labels(n->alerts[i].alert), n->now, &s, 1) > 0) {
            keep[i] = false;
            silenced++;
        }
    }
    if (silenced)
        tn_metric_add(m->m_silence, (double)silenced);
    return silenced < left;
}

void tn_muter_set_exempt(tn_muter_t *m, bool (*fn)(void *ud, const tn_alert_t *a), void *ud)
{
    m->exempt = fn;
    m->exempt_ud = ud;
}
