/* Alert versions and the alert store (fingerprint -> current version). */
#include "tocsin/alert.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/oatab.h"
#include "tocsin/strtab.h"

/* Heap bytes of every live version, as the allocator sized them (tocsin_memory_bytes). */
static size_t alert_bytes;

tn_alert_t *tn_alert_new(const tn_label_t *labels, size_t nlabels, const tn_label_t *annotations,
                         size_t nannotations, const char *generator_url)
{
    /* Callers cap the counts (the decoder refuses bigger alerts); truncating would leak. */
    if (nlabels > TN_ALERT_MAX_PAIRS || nannotations > TN_ALERT_MAX_PAIRS)
        abort();
    /* One allocation: the struct, then labels, then annotations. */
    tn_alert_t *a = tn_xmalloc(sizeof(*a) + (nlabels + nannotations) * sizeof(tn_label_t));
    alert_bytes += malloc_usable_size(a);
    memset(a, 0, sizeof(*a));
    a->refs = 1;
    a->nlabels = (uint16_t)nlabels;
    a->nannotations = (uint16_t)nannotations;
    a->labels = (tn_label_t *)(a + 1);
    a->annotations = a->labels + nlabels;
    if (nlabels)
        memcpy(a->labels, labels, nlabels * sizeof(*labels));
    if (nannotations)
        memcpy(a->annotations, annotations, nannotations * sizeof(*annotations));
    tn_labels_sort(a->labels, nlabels);
    tn_labels_sort(a->annotations, nannotations);
    a->generator_url = generator_url;
    a->fp = tn_labels_fingerprint(tn_alert_labels(a));
    return a;
}

tn_alert_t *tn_alert_clone(const tn_alert_t *src)
{
    size_t nl = src->nlabels, na = src->nannotations;
    tn_alert_t *a = tn_xmalloc(sizeof(*a) + (nl + na) * sizeof(tn_label_t));
    alert_bytes += malloc_usable_size(a);
    *a = *src;
    a->refs = 1;
    a->labels = (tn_label_t *)(a + 1);
    a->annotations = a->labels + nl;
    for (size_t i = 0; i < nl; i++) {
        a->labels[i].name = tn_intern_ref(src->labels[i].name);
        a->labels[i].value = tn_intern_ref(src->labels[i].value);
    }
    for (size_t i = 0; i < na; i++) {
        a->annotations[i].name = tn_intern_ref(src->annotations[i].name);
        a->annotations[i].value = tn_intern_ref(src->annotations[i].value);
    }
    if (src->generator_url)
        a->generator_url = tn_intern_ref(src->generator_url);
    return a;
}

tn_alert_t *tn_alert_ref(tn_alert_t *a)
{
    a->refs++;
    return a;
}

void tn_alert_unref(tn_alert_t *a)
{
    if (!a || --a->refs)
        return;
    for (size_t i = 0; i < a->nlabels; i++) {
        tn_intern_unref(a->labels[i].name);
        tn_intern_unref(a->labels[i].value);
    }
    for (size_t i = 0; i < a->nannotations; i++) {
        tn_intern_unref(a->annotations[i].name);
        tn_intern_unref(a->annotations[i].value);
    }
    tn_intern_unref(a->generator_url);
    alert_bytes -= malloc_usable_size(a);
    free(a);
}

bool tn_alert_resolved_at(const tn_alert_t *a, tn_time_t now)
{
    return a->ends_at != 0 && a->ends_at <= now;
}

const char *tn_alert_name(const tn_alert_t *a)
{
    const char *v = tn_labels_get(tn_alert_labels(a), "alertname");
    return v ? v : "";
}

tn_alert_t *tn_alert_merge(const tn_alert_t *a, const tn_alert_t *o)
{
    /* o is the younger version. */
    if (o->updated_at < a->updated_at) {
        const tn_alert_t *t = a;
        a = o;
        o = t;
    }
    tn_alert_t *res = tn_alert_clone(o);
    if (a->starts_at < o->starts_at)
        res->starts_at = a->starts_at;
    tn_time_t now = tn_clock_now();
    if (tn_alert_resolved_at(o, now)) {
        /* The latest explicit resolve time wins when both are resolved. */
        if (tn_alert_resolved_at(a, now) && a->ends_at > o->ends_at)
            res->ends_at = a->ends_at;
    } else if (a->ends_at > o->ends_at && !a->timeout) {
        /* A non-timeout end time rules when it is the latest. */
        res->ends_at = a->ends_at;
    }
    return res;
}

bool tn_alert_is_resend(const tn_alert_t *a, const tn_alert_t *old, tn_duration_t period)
{
    if (!old || a->starts_at != old->starts_at || a->generator_url != old->generator_url ||
        a->timeout != old->timeout || a->ends_at < old->ends_at ||
        a->nannotations != old->nannotations)
        return false;
    /* Interned: equal strings are equal pointers. */
    for (size_t i = 0; i < a->nannotations; i++)
        if (a->annotations[i].name != old->annotations[i].name ||
            a->annotations[i].value != old->annotations[i].value)
            return false;
    tn_time_t now = tn_clock_now();
    if (tn_alert_resolved_at(a, now) || tn_alert_resolved_at(old, now))
        return false;
    return a->updated_at / period == old->updated_at / period;
}

/* ---- the store: open addressing on the fingerprint, backward-shift delete ---- */

struct tn_alert_store {
    tn_alert_t **slots;
    size_t cap; /* power of two */
    size_t count;
    size_t limit;
    tn_name_limiter_t *names; /* --alerts.per-alertname-limit, or NULL */
    tn_metric_child_t *m_limited;
    tn_metric_child_t *m_capped; /* set with the limit */
    struct {
        tn_alert_listener_fn fn;
        void *ud;
    } listeners[TN_ALERT_MAX_LISTENERS];
    size_t nlisteners;
};

static void notify_listeners(tn_alert_store_t *s, tn_alert_t *a, tn_alert_t *old)
{
    for (size_t i = 0; i < s->nlisteners; i++)
        s->listeners[i].fn(s->listeners[i].ud, a, old);
}

tn_alert_store_t *tn_alert_store_new(void)
{
    tn_alert_store_t *s = tn_xcalloc(1, sizeof(*s));
    s->cap = 1024;
    s->slots = tn_xcalloc(s->cap, sizeof(*s->slots));
    return s;
}

void tn_alert_store_free(tn_alert_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        tn_alert_unref(s->slots[i]);
    free(s->slots);
    tn_name_limiter_free(s->names);
    free(s);
}

void tn_alert_store_set_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud)
{
    s->nlisteners = 0;
    if (fn)
        tn_alert_store_add_listener(s, fn, ud);
}

void tn_alert_store_remove_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].fn == fn && s->listeners[i].ud == ud) {
            memmove(&s->listeners[i], &s->listeners[i + 1],
                    (s->nlisteners - i - 1) * sizeof(s->listeners[0]));
            s->nlisteners--;
            return;
        }
    }
}

void tn_alert_store_add_listener(tn_alert_store_t *s, tn_alert_listener_fn fn, void *ud)
{
    if (s->nlisteners == TN_ALERT_MAX_LISTENERS)
        abort(); /* a wiring error, not input */
    s->listeners[s->nlisteners].fn = fn;
    s->listeners[s->nlisteners].ud = ud;
    s->nlisteners++;
}

void tn_alert_store_set_limit(tn_alert_store_t *s, size_t max_alerts)
{
    s->limit = max_alerts;
    s->m_capped = tn_metric_plain(tn_metric_counter(
        "tocsin_alerts_limited_total",
        "New alerts dropped because --alerts.max active alerts were held (the per alert name "
        "limit counts in alertmanager_alerts_limited_total).",
        NULL));
}

void tn_alert_store_set_name_limit(tn_alert_store_t *s, size_t per_alertname)
{
    tn_name_limiter_free(s->names);
    s->names = per_alertname ? tn_name_limiter_new(per_alertname) : NULL;
    tn_metric_set(
        tn_metric_plain(tn_metric_gauge("alertmanager_alerts_per_alert_limit",
                                        "Current limit on number of alerts per alert name", NULL)),
        (double)per_alertname);
    s->m_limited = tn_metric_plain(tn_metric_counter(
        "alertmanager_alerts_limited_total",
        "Total number of alerts that were dropped due to per alert name limit", NULL));
}

static size_t slot_of(const tn_alert_store_t *s, uint64_t fp)
{
    /* Fingerprints are FNV output; mix once more so low bits spread. */
    fp ^= fp >> 33;
    fp *= UINT64_C(0xff51afd7ed558ccd);
    fp ^= fp >> 33;
    return fp & (s->cap - 1);
}

static size_t find(const tn_alert_store_t *s, uint64_t fp)
{
    size_t mask = s->cap - 1;
    size_t i = slot_of(s, fp);
    while (s->slots[i] && s->slots[i]->fp != fp)
        i = (i + 1) & mask;
    return i;
}

static void grow(tn_alert_store_t *s)
{
    tn_alert_t **old = s->slots;
    size_t ocap = s->cap;
    s->cap *= 2;
    s->slots = tn_xcalloc(s->cap, sizeof(*s->slots));
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            s->slots[find(s, old[i]->fp)] = old[i];
    free(old);
}

#define STORE_HOME(x) slot_of(s, (x)->fp)

static void remove_at(tn_alert_store_t *s, size_t i)
{
    TN_OA_DELETE(s->slots, s->cap, i, STORE_HOME);
    s->count--;
}

int tn_alert_store_put(tn_alert_store_t *s, tn_alert_t *in)
{
    size_t i = find(s, in->fp);
    tn_alert_t *old = s->slots[i];
    tn_alert_t *a = in;
    if (old) {
        /* Merge when the activity ranges overlap, as Alertmanager does. */
        if ((in->ends_at > old->starts_at && in->ends_at < old->ends_at) ||
            (in->starts_at > old->starts_at && in->starts_at < old->ends_at)) {
            a = tn_alert_merge(old, in);
            tn_alert_unref(in);
        }
        if (s->names &&
            !tn_name_limiter_admit(s->names, tn_alert_name(a), a->fp, a->ends_at, tn_clock_now())) {
            tn_metric_add(s->m_limited, 1);
            tn_alert_unref(a);
            return TN_ERR_LIMIT;
        }
        s->slots[i] = a;
    } else {
        if (s->limit && s->count >= s->limit) {
            tn_metric_add(s->m_capped, 1);
            tn_alert_unref(in);
            return TN_ERR_LIMIT;
        }
        if (s->names &&
            !tn_name_limiter_admit(s->names, tn_alert_name(a), a->fp, a->ends_at, tn_clock_now())) {
            tn_metric_add(s->m_limited, 1);
            tn_alert_unref(in);
            return TN_ERR_LIMIT;
        }
        if ((s->count + 1) * 10 > s->cap * 7) {
            grow(s);
            i = find(s, in->fp);
        }
        s->slots[i] = a;
        s->count++;
    }
    notify_listeners(s, a, old);
    tn_alert_unref(old);
    return TN_OK;
}

tn_alert_t *tn_alert_store_get(tn_alert_store_t *s, uint64_t fp)
{
    return s->slots[find(s, fp)];
}

size_t tn_alert_bytes(const tn_alert_store_t *s)
{
    return alert_bytes + (s ? s->cap * sizeof(*s->slots) : 0);
}

size_t tn_alert_store_count(tn_alert_store_t *s)
{
    return s->count;
}

void tn_alert_store_counts(tn_alert_store_t *s, tn_time_t now, size_t *firing, size_t *resolved)
{
    size_t f = 0, r = 0;
    for (size_t i = 0; i < s->cap; i++) {
        tn_alert_t *a = s->slots[i];
        if (!a)
            continue;
        if (tn_alert_resolved_at(a, now))
            r++;
        else
            f++;
    }
    *firing = f;
    *resolved = r;
}

void tn_alert_store_foreach(tn_alert_store_t *s, tn_alert_iter_fn fn, void *ud)
{
    /* Alerts lie scattered in memory: fetch a few slots ahead so that callers reading
     * every alert do not wait on each one in turn. */
    enum { AHEAD = 8 };
    for (size_t i = 0; i < s->cap; i++) {
        if (i + AHEAD < s->cap && s->slots[i + AHEAD])
            __builtin_prefetch(s->slots[i + AHEAD]);
        if (s->slots[i] && !fn(ud, s->slots[i]))
            return;
    }
}

size_t tn_alert_store_gc(tn_alert_store_t *s, tn_time_t now, tn_alert_keep_fn keep, void *ud)
{
    size_t removed = 0;
    size_t i = 0;
    while (i < s->cap) {
        tn_alert_t *a = s->slots[i];
        if (a && tn_alert_resolved_at(a, now) && !(keep && keep(ud, a))) {
            /* remove_at may shift a later entry into slot i: look at i again. */
            remove_at(s, i);
            notify_listeners(s, NULL, a);
            tn_alert_unref(a);
            removed++;
            continue;
        }
        i++;
    }
    if (s->names)
        tn_name_limiter_gc(s->names, now);
    return removed;
}

/* ---- per-alertname cap ---- */

typedef struct name_bucket {
    char *name;
    uint64_t *fps;
    tn_time_t *ends;
    size_t n, cap;
} name_bucket_t;

struct tn_name_limiter {
    size_t limit;
    tn_strtab_t names;
};

static const char *name_bucket_key(const void *b)
{
    return ((const name_bucket_t *)b)->name;
}

tn_name_limiter_t *tn_name_limiter_new(size_t limit)
{
    tn_name_limiter_t *l = tn_xcalloc(1, sizeof(*l));
    l->limit = limit;
    l->names.key_of = name_bucket_key;
    return l;
}

static void name_bucket_free(name_bucket_t *b)
{
    free(b->name);
    free(b->fps);
    free(b->ends);
    free(b);
}

void tn_name_limiter_free(tn_name_limiter_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->names.cap; i++)
        if (l->names.v[i])
            name_bucket_free(l->names.v[i]);
    free(l->names.v);
    free(l);
}

bool tn_name_limiter_admit(tn_name_limiter_t *l, const char *name, uint64_t fp, tn_time_t ends_at,
                           tn_time_t now)
{
    if (!l->limit)
        return false;
    name_bucket_t *b = tn_strtab_get(&l->names, name);
    if (!b) {
        b = tn_xcalloc(1, sizeof(*b));
        b->name = tn_xstrdup(name);
        tn_strtab_put(&l->names, b);
    }
    size_t oldest = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->fps[i] == fp) {
            b->ends[i] = ends_at;
            return true;
        }
        if (b->ends[i] < b->ends[oldest])
            oldest = i;
    }
    if (b->n < l->limit) {
        /* Grown in steps, so a large limit costs memory only when used. */
        if (b->n == b->cap) {
            b->cap = TN_MIN(b->cap ? b->cap * 2 : 4, l->limit);
            b->fps = tn_xrealloc(b->fps, b->cap * sizeof(*b->fps));
            b->ends = tn_xrealloc(b->ends, b->cap * sizeof(*b->ends));
        }
        b->fps[b->n] = fp;
        b->ends[b->n] = ends_at;
        b->n++;
        return true;
    }
    if (b->ends[oldest] < now) {
        b->fps[oldest] = fp;
        b->ends[oldest] = ends_at;
        return true;
    }
    return false;
}

void tn_name_limiter_gc(tn_name_limiter_t *l, tn_time_t now)
{
    for (size_t i = 0; i < l->names.cap;) {
        name_bucket_t *b = l->names.v[i];
        bool stale = b != NULL;
        for (size_t j = 0; b && j < b->n && stale; j++)
            stale = b->ends[j] < now;
        if (stale) {
            /* Deletion may move another bucket into slot i: look at it again. */
            tn_strtab_del(&l->names, b->name);
            name_bucket_free(b);
            continue;
        }
        i++;
    }
}
