/* The notification's helpers: Alertmanager's alert order and the labels common to a
 * notification's alerts. */
#include "tocsin/notification.h"

#include <stdlib.h>
#include <string.h>

/* ---- alert order ---- */

/* Alertmanager's AlertSlice.Less: the job label, then instance (an alert that has the label
 * sorts before one that lacks it), then the whole label sets. */
static bool notif_alert_less(const tn_notif_alert_t *x, const tn_notif_alert_t *y)
{
    static const char *const keys[] = {"job", "instance"};
    tn_labels_t a = tn_alert_labels(x->alert), b = tn_alert_labels(y->alert);
    for (size_t k = 0; k < TN_ARRAY_LEN(keys); k++) {
        const char *av = tn_labels_get(a, keys[k]);
        const char *bv = tn_labels_get(b, keys[k]);
        if (!av && !bv)
            continue;
        if (!av)
            return false;
        if (!bv)
            return true;
        int c = strcmp(av, bv);
        if (c)
            return c < 0;
    }
    return tn_labels_compare(a, b) < 0;
}

/* Stable, as the dispatcher's sort.Stable: a merge sort through a scratch array. */
static void notif_merge_sort(tn_notif_alert_t *v, tn_notif_alert_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    notif_merge_sort(v, tmp, h);
    notif_merge_sort(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        /* Take from the right only when strictly less: equal elements keep their order. */
        if (notif_alert_less(&v[j], &v[i]))
            tmp[k++] = v[j++];
        else
            tmp[k++] = v[i++];
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

void tn_notif_alerts_sort(tn_notif_alert_t *v, size_t n)
{
    if (n < 2)
        return;
    tn_notif_alert_t *tmp = tn_xmalloc(n * sizeof(*tmp));
    notif_merge_sort(v, tmp, n);
    free(tmp);
}

/* ---- common labels ---- */

size_t tn_notification_common_labels(const tn_notification_t *n, bool annotations, tn_label_t *out,
                                     size_t max)
{
    if (n->nalerts == 0)
        return 0;
    const tn_alert_t *first = n->alerts[0].alert;
    tn_labels_t base = annotations ? tn_alert_annotations(first) : tn_alert_labels(first);
    size_t k = 0;
    for (size_t i = 0; i < base.n && k < max; i++) {
        bool common = true;
        for (size_t j = 1; j < n->nalerts && common; j++) {
            const tn_alert_t *a = n->alerts[j].alert;
            tn_labels_t ls = annotations ? tn_alert_annotations(a) : tn_alert_labels(a);
            const char *v = tn_labels_get(ls, base.v[i].name);
            common = v && (v == base.v[i].value || strcmp(v, base.v[i].value) == 0);
        }
        if (common) {
            out[k].name = tn_intern_ref(base.v[i].name);
            out[k].value = tn_intern_ref(base.v[i].value);
            k++;
        }
    }
    return k;
}
