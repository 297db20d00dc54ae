/* Acknowledgements: a list in creation order and a fingerprint index to the newest ack of
 * each alert. */
#include "tocsin/ack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/oatab.h"

typedef struct slot {
    uint64_t fp;
    tn_time_t starts_at;
    tn_ack_t *ack; /* NULL: empty */
} slot_t;

struct tn_acks {
    tn_ack_t **v;
    size_t n, cap;
    slot_t *slots;
    size_t scap, scount;
    tn_ack_hook_fn hook;
    void *hook_ud;
};

void tn_ack_clear(tn_ack_t *ack)
{
    free(ack->by);
    free(ack->comment);
    free(ack->targets);
    memset(ack, 0, sizeof(*ack));
}

tn_acks_t *tn_acks_new(void)
{
    return tn_xcalloc(1, sizeof(tn_acks_t));
}

void tn_acks_free(tn_acks_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        tn_ack_clear(a->v[i]);
        free(a->v[i]);
    }
    free(a->v);
    free(a->slots);
    free(a);
}

/* ---- the fingerprint index ---- */

static size_t home(uint64_t fp, size_t cap)
{
    return (size_t)((fp * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (cap - 1);
}

static size_t idx_find(const tn_acks_t *a, uint64_t fp)
{
    if (!a->scap)
        return SIZE_MAX;
    for (size_t i = home(fp, a->scap);; i = (i + 1) & (a->scap - 1)) {
        if (!a->slots[i].ack)
            return SIZE_MAX;
        if (a->slots[i].fp == fp)
            return i;
    }
}

static void idx_put(tn_acks_t *a, uint64_t fp, tn_time_t starts_at, tn_ack_t *ack);

static void idx_grow(tn_acks_t *a)
{
    slot_t *old = a->slots;
    size_t ocap = a->scap;
    a->scap = ocap ? ocap * 2 : 64;
    a->slots = tn_xcalloc(a->scap, sizeof(slot_t));
    a->scount = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].ack)
            idx_put(a, old[i].fp, old[i].starts_at, old[i].ack);
    free(old);
}

static void idx_put(tn_acks_t *a, uint64_t fp, tn_time_t starts_at, tn_ack_t *ack)
{
    if ((a->scount + 1) * 4 > a->scap * 3)
        idx_grow(a);
    size_t i = home(fp, a->scap);
    while (a->slots[i].ack && a->slots[i].fp != fp)
        i = (i + 1) & (a->scap - 1);
    if (!a->slots[i].ack)
        a->scount++;
    a->slots[i] = (slot_t){fp, starts_at, ack};
}

#define SLOT_HOME(x)  home((x).fp, a->scap)
#define SLOT_EMPTY(x) (!(x).ack)
#define SLOT_CLEAR(x) ((x).ack = NULL)

static void idx_del(tn_acks_t *a, uint64_t fp, const tn_ack_t *ack)
{
    size_t i = idx_find(a, fp);
    if (i == SIZE_MAX || a->slots[i].ack != ack)
        return;
    TN_OA_DELETE_BY(a->slots, a->scap, i, SLOT_HOME, SLOT_EMPTY, SLOT_CLEAR);
    a->scount--;
}

/* ---- the list ---- */

static void list_push(tn_acks_t *a, tn_ack_t *ack)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = tn_xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = ack;
    for (size_t i = 0; i < ack->ntargets; i++)
        idx_put(a, ack->targets[i].fp, ack->targets[i].starts_at, ack);
}

static size_t list_find(const tn_acks_t *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i]->id, id) == 0)
            return i;
    return SIZE_MAX;
}

/* Takes the ack at position i out of the list and the index and frees it. */
static void list_remove(tn_acks_t *a, size_t i, bool report, void (*fn)(void *, const tn_ack_t *),
                        void *ud)
{
    tn_ack_t *ack = a->v[i];
    memmove(a->v + i, a->v + i + 1, (a->n - i - 1) * sizeof(*a->v));
    a->n--;
    for (size_t k = 0; k < ack->ntargets; k++)
        idx_del(a, ack->targets[k].fp, ack);
    if (fn)
        fn(ud, ack);
    if (report && a->hook)
        a->hook(a->hook_ud, ack, true);
    tn_ack_clear(ack);
    free(ack);
}

static bool covers(const tn_ack_t *ack, tn_time_t now)
{
    return !ack->expires_at || now < ack->expires_at;
}

int tn_acks_add(tn_acks_t *a, const char *by, const char *comment, tn_time_t expires_at,
                tn_alert_t *const *alerts, size_t n, tn_time_t now, const tn_ack_t **out, char *err,
                size_t errlen)
{
    if (a->n >= TN_ACK_MAX_ACKS) {
        snprintf(err, errlen, "too many acks (%d); delete some first", TN_ACK_MAX_ACKS);
        return TN_ERR_INVAL;
    }
    tn_ack_t *ack = tn_xcalloc(1, sizeof(*ack));
    ack->targets = tn_xmalloc((n ? n : 1) * sizeof(*ack->targets));
    for (size_t i = 0; i < n; i++) {
        const tn_alert_t *al = alerts[i];
        if (tn_alert_resolved_at(al, now))
            continue;
        ack->targets[ack->ntargets++] = (tn_ack_target_t){al->fp, al->starts_at};
    }
    if (!ack->ntargets) {
        free(ack->targets);
        free(ack);
        snprintf(err, errlen, "no firing alert to acknowledge");
        return TN_ERR_INVAL;
    }
    tn_uuid_v4(ack->id);
    ack->by = tn_xstrdup(by);
    ack->comment = tn_xstrdup(comment ? comment : "");
    ack->created_at = now;
    ack->expires_at = expires_at;
    list_push(a, ack);
    if (a->hook)
        a->hook(a->hook_ud, ack, false);
    *out = ack;
    return TN_OK;
}

int tn_acks_delete(tn_acks_t *a, const char *id, void (*fn)(void *ud, const tn_ack_t *ack),
                   void *ud)
{
    size_t i = list_find(a, id);
    if (i == SIZE_MAX)
        return TN_ERR_NOTFOUND;
    list_remove(a, i, true, fn, ud);
    return TN_OK;
}

const tn_ack_t *tn_acks_get(tn_acks_t *a, const char *id)
{
    size_t i = list_find(a, id);
    return i == SIZE_MAX ? NULL : a->v[i];
}

const tn_ack_t *tn_acks_of(tn_acks_t *a, const tn_alert_t *alert, tn_time_t now)
{
    if (!a || !a->scount)
        return NULL;
    size_t i = idx_find(a, alert->fp);
    if (i == SIZE_MAX)
        return NULL;
    const slot_t *s = &a->slots[i];
    if (s->starts_at != alert->starts_at || tn_alert_resolved_at(alert, now) ||
        !covers(s->ack, now))
        return NULL;
    return s->ack;
}

void tn_acks_foreach(tn_acks_t *a, tn_ack_iter_fn fn, void *ud)
{
    for (size_t i = 0; i < a->n; i++)
        if (!fn(ud, a->v[i]))
            return;
}

size_t tn_acks_count(tn_acks_t *a)
{
    return a ? a->n : 0;
}

size_t tn_acks_gc(tn_acks_t *a, tn_alert_store_t *alerts, tn_time_t now)
{
    size_t ended = 0;
    for (size_t i = 0; i < a->n;) {
        tn_ack_t *ack = a->v[i];
        size_t live = 0;
        bool changed = false;
        if (covers(ack, now)) {
            for (size_t k = 0; k < ack->ntargets; k++) {
                tn_ack_target_t t = ack->targets[k];
                size_t s = idx_find(a, t.fp);
                tn_alert_t *al = alerts ? tn_alert_store_get(alerts, t.fp) : NULL;
                bool keep = s != SIZE_MAX && a->slots[s].ack == ack && al &&
                            al->starts_at == t.starts_at && !tn_alert_resolved_at(al, now);
                if (keep) {
                    ack->targets[live++] = t;
                } else {
                    idx_del(a, t.fp, ack);
                    changed = true;
                }
            }
            ack->ntargets = live;
        }
        if (!live) {
            list_remove(a, i, true, NULL, NULL);
            ended++;
            continue;
        }
        if (changed && a->hook)
            a->hook(a->hook_ud, ack, false);
        i++;
    }
    return ended;
}

void tn_acks_end_alert(tn_acks_t *a, uint64_t fp)
{
    size_t s = idx_find(a, fp);
    if (s == SIZE_MAX)
        return;
    tn_ack_t *ack = a->slots[s].ack;
    idx_del(a, fp, ack);
    size_t live = 0;
    for (size_t k = 0; k < ack->ntargets; k++)
        if (ack->targets[k].fp != fp)
            ack->targets[live++] = ack->targets[k];
    ack->ntargets = live;
    if (live) {
        if (a->hook)
            a->hook(a->hook_ud, ack, false);
        return;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i] == ack) {
            list_remove(a, i, true, NULL, NULL);
            return;
        }
}

void tn_acks_set_hook(tn_acks_t *a, tn_ack_hook_fn fn, void *ud)
{
    a->hook = fn;
    a->hook_ud = ud;
}

void tn_acks_get_hook(const tn_acks_t *a, tn_ack_hook_fn *fn, void **ud)
{
    *fn = a->hook;
    *ud = a->hook_ud;
}

void tn_acks_load(tn_acks_t *a, const tn_ack_t *in)
{
    size_t i = list_find(a, in->id);
    if (i != SIZE_MAX)
        list_remove(a, i, false, NULL, NULL);
    tn_ack_t *ack = tn_xcalloc(1, sizeof(*ack));
    memcpy(ack->id, in->id, sizeof(ack->id));
    ack->by = tn_xstrdup(in->by ? in->by : "");
    ack->comment = tn_xstrdup(in->comment ? in->comment : "");
    ack->created_at = in->created_at;
    ack->expires_at = in->expires_at;
    ack->targets = tn_xmalloc((in->ntargets ? in->ntargets : 1) * sizeof(*ack->targets));
    memcpy(ack->targets, in->targets, in->ntargets * sizeof(*ack->targets));
    ack->ntargets = in->ntargets;
    list_push(a, ack);
}

void tn_acks_unload(tn_acks_t *a, const char *id)
{
    size_t i = list_find(a, id);
    if (i != SIZE_MAX)
        list_remove(a, i, false, NULL, NULL);
}
