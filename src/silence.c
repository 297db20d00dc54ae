/* Silences: an id table, an index of equality matchers for muting, limits and retention.
 *
 * Muting looks up each label (name, value) of an alert in a table keyed by the interned
 * pointers of one equality matcher per silence (the one with the smallest bucket when the
 * silence was indexed); silences without a usable equality matcher sit in one list that is
 * always scanned. Expired silences leave the index at once, or at the next GC when they
 * expire with time. */
#include "tocsin/silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/clock.h"
#include "tocsin/metrics.h"
#include "tocsin/oatab.h"
#include "tocsin/strtab.h"

typedef struct sil_bucket sil_bucket_t;

#define SIL_IX_NAMES 8

/* An index slot keeps its bucket's key, so a probe reads no bucket that is not the one. */
typedef struct sil_ix_slot {
    const char *name, *value; /* the bucket's */
    sil_bucket_t *b;          /* NULL: empty */
} sil_ix_slot_t;

typedef struct sil_rec {
    tn_silence_t s;
    sil_bucket_t *bucket; /* NULL when not indexed */
    size_t bucket_pos;
} sil_rec_t;

/* The silences sharing one indexed (name, value) pair; name NULL for the scan list. */
struct sil_bucket {
    const char *name, *value; /* interned, one reference each */
    sil_rec_t **v;
    size_t n, cap;
};

struct tn_silences {
    tn_strtab_t ids;   /* sil_rec_t by id */
    sil_ix_slot_t *ix; /* by (name, value) pointers */
    size_t ix_cap, ix_count;
    /* The label names of the index's buckets, with their bucket counts, while there are at
     * most SIL_IX_NAMES of them: a label whose name has no bucket needs no lookup. */
    struct {
        const char *name; /* interned, borrowed from a bucket */
        size_t n;
    } ix_names[SIL_IX_NAMES];
    size_t nix_names;
    bool ix_names_over; /* more names than the list holds: look every label up */
    sil_bucket_t scan;  /* silences without an indexable matcher */
    size_t max_silences, max_bytes;
    tn_duration_t retention;
    tn_silence_hook_fn hook;
    void *hook_ud;
    tn_metric_t *m_state;
    tn_metric_child_t *m_queries, *m_query_errors, *m_gc_errors, *m_maint, *m_maint_errors,
        *m_state_size;
};

/* ---- one silence ---- */

enum tn_silence_state tn_silence_state_at(const tn_silence_t *s, tn_time_t now)
{
    if (now < s->starts_at)
        return TN_SILENCE_PENDING;
    /* endsAt itself counts as expired, so an expired-now silence no longer mutes at `now`. */
    if (now < s->ends_at)
        return TN_SILENCE_ACTIVE;
    return TN_SILENCE_EXPIRED;
}

const char *tn_silence_state_name(enum tn_silence_state st)
{
    switch (st) {
    case TN_SILENCE_PENDING:
        return "pending";
    case TN_SILENCE_ACTIVE:
        return "active";
    case TN_SILENCE_EXPIRED:
        return "expired";
    }
    return "unknown";
}

void tn_silence_clear(tn_silence_t *s)
{
    tn_matchers_free(&s->matchers);
    free(s->created_by);
    free(s->comment);
    memset(s, 0, sizeof(*s));
}

static int silence_copy_matchers(tn_matchers_t *dst, const tn_matchers_t *src, char *err,
                                 size_t errlen)
{
    dst->v = src->n ? tn_xcalloc(src->n, sizeof(*dst->v)) : NULL;
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++) {
        const tn_matcher_t *m = &src->v[i];
        int rc = tn_matcher_init(&dst->v[i], m->op, m->name ? m->name : "",
                                 m->value ? m->value : "", err, errlen);
        if (rc != TN_OK)
            return rc;
        dst->n++;
    }
    return TN_OK;
}

static int silence_copy_err(tn_silence_t *dst, const tn_silence_t *src, char *err, size_t errlen)
{
    memset(dst, 0, sizeof(*dst));
    memcpy(dst->id, src->id, sizeof(dst->id));
    dst->id[sizeof(dst->id) - 1] = 0;
    dst->starts_at = src->starts_at;
    dst->ends_at = src->ends_at;
    dst->updated_at = src->updated_at;
    dst->created_by = tn_xstrdup(src->created_by ? src->created_by : "");
    dst->comment = tn_xstrdup(src->comment ? src->comment : "");
    int rc = silence_copy_matchers(&dst->matchers, &src->matchers, err, errlen);
    if (rc != TN_OK)
        tn_silence_clear(dst);
    return rc;
}

int tn_silence_copy(tn_silence_t *dst, const tn_silence_t *src)
{
    char err[TN_ERRBUF_SIZE];
    return silence_copy_err(dst, src, err, sizeof(err));
}

/* Size of a protobuf length-delimited field with a payload of n bytes (tag + varint + n). */
static size_t silence_pb_field(size_t n)
{
    size_t v = 1;
    for (size_t x = n; x >= 0x80; x >>= 7)
        v++;
    return 1 + v + n;
}

size_t tn_silence_size(const tn_silence_t *s)
{
    /* Close to the protobuf encoding Alertmanager measures for this limit, so a limit tuned for
     * Alertmanager means about the same here: strings, matchers, four timestamps. */
    size_t n = silence_pb_field(strlen(s->id));
    size_t set = 0;
    for (size_t i = 0; i < s->matchers.n; i++) {
        const tn_matcher_t *m = &s->matchers.v[i];
        size_t mm = 2 + silence_pb_field(strlen(m->name ? m->name : "")) +
                    silence_pb_field(strlen(m->value ? m->value : ""));
        set += silence_pb_field(mm);
    }
    n += silence_pb_field(set);
    n += 3 * silence_pb_field(12); /* startsAt, endsAt, updatedAt */
    n += silence_pb_field(strlen(s->created_by ? s->created_by : ""));
    n += silence_pb_field(strlen(s->comment ? s->comment : ""));
    return silence_pb_field(n) + silence_pb_field(12); /* wrapped with expiresAt */
}

/* ---- the id table ---- */

static const char *rec_id(const void *r)
{
    return ((const sil_rec_t *)r)->s.id;
}

static sil_rec_t *silences_find(const tn_silences_t *s, const char *id)
{
    return tn_strtab_get(&s->ids, id);
}

/* ---- the matcher index ---- */

static size_t silences_pair_hash(const char *name, const char *value)
{
    uint64_t h = (uint64_t)(uintptr_t)name * UINT64_C(0x9E3779B97F4A7C15);
    h ^= (uint64_t)(uintptr_t)value + UINT64_C(0x632BE59BD9B4E019) + (h << 6) + (h >> 2);
    h *= UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h ^ (h >> 33));
}

static size_t silences_ix_find(const tn_silences_t *s, const char *name, const char *value)
{
    size_t mask = s->ix_cap - 1, i = silences_pair_hash(name, value) & mask;
    while (s->ix[i].b && (s->ix[i].name != name || s->ix[i].value != value))
        i = (i + 1) & mask;
    return i;
}

#define IX_HOME(x)  (silences_pair_hash((x).name, (x).value) & (s->ix_cap - 1))
#define IX_EMPTY(x) (!(x).b)
#define IX_CLEAR(x) ((x).b = NULL)

static void bucket_push(sil_bucket_t *b, sil_rec_t *r)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->v = tn_xrealloc(b->v, b->cap * sizeof(*b->v));
    }
    r->bucket = b;
    r->bucket_pos = b->n;
    b->v[b->n++] = r;
}

/* Existing bucket for an equality matcher, or NULL; `interned` receives lookups' keys. */
static sil_bucket_t *silences_ix_get(tn_silences_t *s, const tn_matcher_t *m)
{
    /* Look up without creating strings: an unknown string cannot have a bucket. */
    const char *name = tn_intern_cstr(m->name);
    const char *value = tn_intern_cstr(m->value);
    sil_bucket_t *b = s->ix[silences_ix_find(s, name, value)].b;
    tn_intern_unref(name);
    tn_intern_unref(value);
    return b;
}

static void silences_name_add(tn_silences_t *s, const char *name)
{
    for (size_t i = 0; i < s->nix_names; i++)
        if (s->ix_names[i].name == name) {
            s->ix_names[i].n++;
            return;
        }
    if (s->nix_names == SIL_IX_NAMES) {
        s->ix_names_over = true; /* stays set: a rebuild is not worth it */
        return;
    }
    s->ix_names[s->nix_names].name = name;
    s->ix_names[s->nix_names++].n = 1;
}

static void silences_name_del(tn_silences_t *s, const char *name)
{
    for (size_t i = 0; i < s->nix_names; i++)
        if (s->ix_names[i].name == name) {
            if (--s->ix_names[i].n == 0)
                s->ix_names[i] = s->ix_names[--s->nix_names];
            return;
        }
}

/* Whether label name may have a bucket. */
static bool silences_name_indexed(const tn_silences_t *s, const char *name)
{
    if (s->ix_names_over)
        return true;
    for (size_t i = 0; i < s->nix_names; i++)
        if (s->ix_names[i].name == name)
            return true;
    return false;
}

static void silences_index(tn_silences_t *s, sil_rec_t *r)
{
    const tn_matcher_t *best = NULL;
    size_t best_n = SIZE_MAX;
    for (size_t i = 0; i < r->s.matchers.n; i++) {
        const tn_matcher_t *m = &r->s.matchers.v[i];
        if (m->op != TN_MATCH_EQ || !m->value || !*m->value)
            continue;
        sil_bucket_t *b = silences_ix_get(s, m);
        size_t n = b ? b->n : 0;
        if (n < best_n)
            best = m, best_n = n;
    }
    if (!best) {
        bucket_push(&s->scan, r);
        return;
    }
    if ((s->ix_count + 1) * 10 > s->ix_cap * 7) {
        sil_ix_slot_t *old = s->ix;
        size_t ocap = s->ix_cap;
        s->ix_cap *= 2;
        s->ix = tn_xcalloc(s->ix_cap, sizeof(*s->ix));
        for (size_t i = 0; i < ocap; i++)
            if (old[i].b)
                s->ix[silences_ix_find(s, old[i].name, old[i].value)] = old[i];
        free(old);
    }
    const char *name = tn_intern_cstr(best->name);
    const char *value = tn_intern_cstr(best->value);
    size_t i = silences_ix_find(s, name, value);
    sil_bucket_t *b = s->ix[i].b;
    if (!b) {
        b = tn_xcalloc(1, sizeof(*b));
        b->name = name;
        b->value = value;
        s->ix[i] = (sil_ix_slot_t){name, value, b};
        s->ix_count++;
        silences_name_add(s, name);
    } else {
        tn_intern_unref(name);
        tn_intern_unref(value);
    }
    bucket_push(b, r);
}

static void silences_unindex(tn_silences_t *s, sil_rec_t *r)
{
    sil_bucket_t *b = r->bucket;
    if (!b)
        return;
    sil_rec_t *last = b->v[--b->n];
    b->v[r->bucket_pos] = last;
    last->bucket_pos = r->bucket_pos;
    r->bucket = NULL;
    if (b->n || b == &s->scan)
        return;
    TN_OA_DELETE_BY(s->ix, s->ix_cap, silences_ix_find(s, b->name, b->value), IX_HOME, IX_EMPTY,
                    IX_CLEAR);
    s->ix_count--;
    silences_name_del(s, b->name);
    tn_intern_unref(b->name);
    tn_intern_unref(b->value);
    free(b->v);
    free(b);
}

/* ---- the set ---- */

tn_silences_t *tn_silences_new(void)
{
    tn_silences_t *s = tn_xcalloc(1, sizeof(*s));
    s->ids = TN_STRTAB_INIT(rec_id);
    s->ix_cap = 64;
    s->ix = tn_xcalloc(s->ix_cap, sizeof(*s->ix));
    s->retention = 120 * 3600 * TN_NS_PER_SEC;
    return s;
}

static void rec_free(sil_rec_t *r)
{
    tn_silence_clear(&r->s);
    free(r);
}

void tn_silences_free(tn_silences_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ids.cap; i++)
        if (s->ids.v[i])
            rec_free(s->ids.v[i]);
    for (size_t i = 0; i < s->ix_cap; i++) {
        sil_bucket_t *b = s->ix[i].b;
        if (!b)
            continue;
        tn_intern_unref(b->name);
        tn_intern_unref(b->value);
        free(b->v);
        free(b);
    }
    free(s->ix);
    free(s->scan.v);
    tn_strtab_free(&s->ids);
    free(s);
}

void tn_silences_set_limits(tn_silences_t *s, size_t max_silences, size_t max_silence_bytes)
{
    s->max_silences = max_silences;
    s->max_bytes = max_silence_bytes;
}

void tn_silences_set_retention(tn_silences_t *s, tn_duration_t retention)
{
    s->retention = retention;
}

void tn_silences_set_hook(tn_silences_t *s, tn_silence_hook_fn fn, void *ud)
{
    s->hook = fn;
    s->hook_ud = ud;
}

void tn_silences_get_hook(const tn_silences_t *s, tn_silence_hook_fn *fn, void **ud)
{
    *fn = s->hook;
    *ud = s->hook_ud;
}

static void silences_notify(tn_silences_t *s, const sil_rec_t *r, bool deleted)
{
    if (s->hook)
        s->hook(s->hook_ud, &r->s, deleted);
}

/* Inserts r (its id unique in the table) and indexes it unless expired. */
static void silences_insert(tn_silences_t *s, sil_rec_t *r, tn_time_t now)
{
    tn_strtab_put(&s->ids, r);
    if (tn_silence_state_at(&r->s, now) != TN_SILENCE_EXPIRED)
        silences_index(s, r);
}

static bool silences_matches_empty(const tn_matcher_t *m)
{
    switch (m->op) {
    case TN_MATCH_EQ:
        return !m->value || !*m->value;
    case TN_MATCH_RE:
        return tn_matcher_matches(m, "");
    default:
        return false;
    }
}

static int silences_validate(const tn_silence_t *in, tn_time_t now, char *err, size_t errlen)
{
    if (in->starts_at >= in->ends_at) {
        snprintf(err, errlen, "Failed to create silence: start time must be before end time");
        return TN_ERR_INVAL;
    }
    if (in->ends_at < now) {
        snprintf(err, errlen, "Failed to create silence: end time can't be in the past");
        return TN_ERR_INVAL;
    }
    if (!in->matchers.n) {
        snprintf(err, errlen, "invalid silence: at least one matcher required");
        return TN_ERR_INVAL;
    }
    bool classic = tn_labels_mode() == TN_LABELS_CLASSIC;
    bool all_empty = true;
    for (size_t i = 0; i < in->matchers.n; i++) {
        const tn_matcher_t *m = &in->matchers.v[i];
        const char *name = m->name ? m->name : "", *value = m->value ? m->value : "";
        if (!tn_label_name_valid(name, strlen(name), classic)) {
            snprintf(
                err, errlen,
                "invalid silence: invalid label matcher %zu in set 0: invalid label name %.128s", i,
                name);
            return TN_ERR_INVAL;
        }
        if (!tn_utf8_valid(value, strlen(value))) {
            snprintf(err, errlen,
                     "invalid silence: invalid label matcher %zu in set 0: invalid label value "
                     "(not UTF-8)",
                     i);
            return TN_ERR_INVAL;
        }
        all_empty = all_empty && silences_matches_empty(m);
    }
    if (all_empty) {
        snprintf(err, errlen,
                 "invalid silence: at least one matcher must not match the empty string");
        return TN_ERR_INVAL;
    }
    return TN_OK;
}

static bool silences_same_matchers(const tn_matchers_t *a, const tn_matchers_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const tn_matcher_t *x = &a->v[i], *y = &b->v[i];
        if (x->op != y->op || strcmp(x->name ? x->name : "", y->name ? y->name : "") != 0 ||
            strcmp(x->value ? x->value : "", y->value ? y->value : "") != 0)
            return false;
    }
    return true;
}

/* Whether prev can become next in place without rewriting history (Alertmanager's rule):
 * same matchers; an active one keeps its start (to the second) and does not end in the past;
 * a pending one does not start in the past; an expired one never changes. */
static bool silences_can_update(const tn_silence_t *prev, const tn_silence_t *next, tn_time_t now)
{
    if (!silences_same_matchers(&prev->matchers, &next->matchers))
        return false;
    switch (tn_silence_state_at(prev, now)) {
    case TN_SILENCE_ACTIVE:
        if (prev->starts_at / TN_NS_PER_SEC != next->starts_at / TN_NS_PER_SEC)
            return false;
        return next->ends_at >= now;
    case TN_SILENCE_PENDING:
        return next->starts_at >= now;
    case TN_SILENCE_EXPIRED:
        break;
    }
    return false;
}

static int silences_check_size(tn_silences_t *s, const tn_silence_t *sil, char *err, size_t errlen)
{
    size_t n = tn_silence_size(sil);
    if (s->max_bytes && n > s->max_bytes) {
        snprintf(err, errlen, "silence exceeded maximum size: %zu bytes (limit: %zu bytes)", n,
                 s->max_bytes);
        return TN_ERR_LIMIT;
    }
    return TN_OK;
}

/* Expires r at now (the caller knows it is not expired) and reports it. */
static void silences_expire_rec(tn_silences_t *s, sil_rec_t *r, tn_time_t now)
{
    if (tn_silence_state_at(&r->s, now) == TN_SILENCE_PENDING)
        r->s.starts_at = now;
    r->s.ends_at = now;
    r->s.updated_at = now;
    silences_unindex(s, r);
    silences_notify(s, r, false);
}

int tn_silences_set(tn_silences_t *s, const tn_silence_t *in, tn_time_t now, char id_out[37],
                    char *err, size_t errlen)
{
    sil_rec_t *r = tn_xcalloc(1, sizeof(*r));
    int rc = silence_copy_err(&r->s, in, err, errlen);
    if (rc != TN_OK) {
        free(r);
        return TN_ERR_INVAL;
    }
    if (!r->s.starts_at)
        r->s.starts_at = now;
    rc = silences_validate(&r->s, now, err, errlen);
    if (rc != TN_OK)
        goto out;

    sil_rec_t *prev = NULL;
    if (r->s.id[0]) {
        prev = silences_find(s, r->s.id);
        if (!prev) {
            snprintf(err, errlen, "silence not found");
            rc = TN_ERR_NOTFOUND;
            goto out;
        }
    }
    r->s.updated_at = now;
    if (prev && silences_can_update(&prev->s, &r->s, now)) {
        rc = silences_check_size(s, &r->s, err, errlen);
        if (rc != TN_OK)
            goto out;
        /* Swap contents so that pointers to prev's record stay valid for the index. */
        silences_unindex(s, prev);
        tn_silence_t old = prev->s;
        prev->s = r->s;
        r->s = old;
        silences_index(s, prev);
        memcpy(id_out, prev->s.id, 37);
        silences_notify(s, prev, false);
        goto out;
    }
    if (s->max_silences && s->ids.count + 1 > s->max_silences) {
        snprintf(err, errlen, "exceeded maximum number of silences: %zu (limit: %zu)", s->ids.count,
                 s->max_silences);
        rc = TN_ERR_LIMIT;
        goto out;
    }
    do
        tn_uuid_v4(r->s.id);
    while (silences_find(s, r->s.id));
    if (r->s.starts_at < now)
        r->s.starts_at = now;
    rc = silences_check_size(s, &r->s, err, errlen);
    if (rc != TN_OK)
        goto out;
    if (prev && tn_silence_state_at(&prev->s, now) != TN_SILENCE_EXPIRED)
        silences_expire_rec(s, prev, now);
    silences_insert(s, r, now);
    memcpy(id_out, r->s.id, 37);
    silences_notify(s, r, false);
    return TN_OK;
out:
    rec_free(r);
    return rc;
}

int tn_silences_expire(tn_silences_t *s, const char *id, tn_time_t now, char *err, size_t errlen)
{
    sil_rec_t *r = silences_find(s, id);
    if (!r) {
        snprintf(err, errlen, "silence not found");
        return TN_ERR_NOTFOUND;
    }
    if (tn_silence_state_at(&r->s, now) != TN_SILENCE_EXPIRED)
        silences_expire_rec(s, r, now);
    return TN_OK;
}

void tn_silences_revert(tn_silences_t *s, const char *id, const tn_silence_t *prev,
                        tn_time_t changed_at, tn_time_t now)
{
    sil_rec_t *r = silences_find(s, id);
    if (!r || r->s.updated_at != changed_at)
        return;
    silences_unindex(s, r);
    if (!prev) {
        tn_strtab_del(&s->ids, r->s.id);
        silences_notify(s, r, true);
        rec_free(r);
        return;
    }
    tn_silence_t copy;
    if (tn_silence_copy(&copy, prev) != TN_OK)
        return; /* prev was valid when it was stored: cannot happen */
    tn_silence_clear(&r->s);
    r->s = copy;
    if (tn_silence_state_at(&r->s, now) != TN_SILENCE_EXPIRED)
        silences_index(s, r);
    silences_notify(s, r, false);
}

const tn_silence_t *tn_silences_get(tn_silences_t *s, const char *id)
{
    sil_rec_t *r = silences_find(s, id);
    return r ? &r->s : NULL;
}

void tn_silences_foreach(tn_silences_t *s, tn_silence_iter_fn fn, void *ud)
{
    for (size_t i = 0; i < s->ids.cap; i++) {
        sil_rec_t *r = s->ids.v[i];
        if (r && !fn(ud, &r->s))
            return;
    }
}

static void silences_collect(const sil_bucket_t *b, tn_labels_t ls, tn_time_t now,
                             const tn_silence_t **out, size_t max, size_t *n)
{
    for (size_t i = 0; i < b->n; i++) {
        const tn_silence_t *sil = &b->v[i]->s;
        if (tn_silence_state_at(sil, now) != TN_SILENCE_ACTIVE ||
            !tn_matchers_match(&sil->matchers, ls))
            continue;
        if (*n < max)
            out[*n] = sil;
        (*n)++;
    }
}

static int silences_ptr_id_cmp(const void *a, const void *b)
{
    const tn_silence_t *x = *(const tn_silence_t *const *)a, *y = *(const tn_silence_t *const *)b;
    return strcmp(x->id, y->id);
}

void tn_silences_prefetch(const tn_silences_t *s, tn_labels_t ls, int stage)
{
    if (!s->ix_count)
        return;
    for (size_t i = 0; i < ls.n; i++) {
        if (!silences_name_indexed(s, ls.v[i].name))
            continue;
        if (stage == 0) {
            size_t home = silences_pair_hash(ls.v[i].name, ls.v[i].value) & (s->ix_cap - 1);
            __builtin_prefetch(&s->ix[home]);
            continue;
        }
        const sil_bucket_t *b = s->ix[silences_ix_find(s, ls.v[i].name, ls.v[i].value)].b;
        if (!b)
            continue;
        __builtin_prefetch(b);
    }
}

size_t tn_silences_mutes(tn_silences_t *s, tn_labels_t ls, tn_time_t now, const tn_silence_t **out,
                         size_t max)
{
    size_t n = 0;
    if (s->m_queries)
        tn_metric_add(s->m_queries, 1);
    if (s->ix_count) {
        for (size_t i = 0; i < ls.n; i++) {
            if (!silences_name_indexed(s, ls.v[i].name))
                continue;
            sil_bucket_t *b = s->ix[silences_ix_find(s, ls.v[i].name, ls.v[i].value)].b;
            if (b)
                silences_collect(b, ls, now, out, max, &n);
        }
    }
    silences_collect(&s->scan, ls, now, out, max, &n);
    qsort(out, TN_MIN(n, max), sizeof(*out), silences_ptr_id_cmp);
    return n;
}

size_t tn_silences_gc(tn_silences_t *s, tn_time_t now)
{
    size_t removed = 0, i = 0;
    while (i < s->ids.cap) {
        sil_rec_t *r = s->ids.v[i];
        if (!r) {
            i++;
            continue;
        }
        if (r->bucket && tn_silence_state_at(&r->s, now) == TN_SILENCE_EXPIRED)
            silences_unindex(s, r);
        if (r->s.ends_at + s->retention <= now) {
            tn_strtab_del(&s->ids, r->s.id);
            silences_notify(s, r, true);
            rec_free(r);
            removed++;
            continue; /* slot i now holds a shifted entry, or is empty */
        }
        i++;
    }
    if (s->m_maint)
        tn_metric_add(s->m_maint, 1);
    return removed;
}

size_t tn_silences_count(tn_silences_t *s, enum tn_silence_state st, tn_time_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ids.cap; i++) {
        sil_rec_t *r = s->ids.v[i];
        if (r && tn_silence_state_at(&r->s, now) == st)
            n++;
    }
    return n;
}

size_t tn_silences_total(tn_silences_t *s)
{
    return s->ids.count;
}

int tn_silences_load(tn_silences_t *s, const tn_silence_t *sil, char *err, size_t errlen)
{
    if (!sil->id[0]) {
        snprintf(err, errlen, "silence without an id");
        return TN_ERR_INVAL;
    }
    sil_rec_t *r = tn_xcalloc(1, sizeof(*r));
    int rc = silence_copy_err(&r->s, sil, err, errlen);
    if (rc != TN_OK) {
        free(r);
        return rc;
    }
    sil_rec_t *old = silences_find(s, r->s.id);
    if (old) {
        silences_unindex(s, old);
        tn_strtab_del(&s->ids, old->s.id);
        rec_free(old);
    }
    silences_insert(s, r, tn_clock_now());
    return TN_OK;
}

/* ---- metrics ---- */

static void silences_collect_metrics(void *ud)
{
    tn_silences_t *s = ud;
    tn_time_t now = tn_clock_now();
    size_t n[3] = {0, 0, 0};
    for (size_t i = 0; i < s->ids.cap; i++) {
        sil_rec_t *r = s->ids.v[i];
        if (r)
            n[tn_silence_state_at(&r->s, now)]++;
    }
    for (int st = 0; st < 3; st++)
        tn_metric_set(tn_metric_with(s->m_state, tn_silence_state_name(st), NULL), (double)n[st]);
    tn_metric_set(s->m_state_size, (double)s->ids.count);
}

void tn_silences_register_metrics(tn_silences_t *s)
{
    s->m_state = tn_metric_gauge("alertmanager_silences", "How many silences by state.", "state");
    s->m_queries = tn_metric_plain(tn_metric_counter(
        "alertmanager_silences_queries_total", "How many silence queries were received.", NULL));
    s->m_query_errors = tn_metric_plain(
        tn_metric_counter("alertmanager_silences_query_errors_total",
                          "How many silence received queries did not succeed.", NULL));
    s->m_gc_errors =
        tn_metric_plain(tn_metric_counter("alertmanager_silences_gc_errors_total",
                                          "How many silence GC errors were encountered.", NULL));
    s->m_maint = tn_metric_plain(
        tn_metric_counter("alertmanager_silences_maintenance_total",
                          "How many maintenances were executed for silences.", NULL));
    s->m_maint_errors = tn_metric_plain(
        tn_metric_counter("alertmanager_silences_maintenance_errors_total",
                          "How many maintenances were executed for silences that failed.", NULL));
    s->m_state_size = tn_metric_plain(tn_metric_gauge(
        "alertmanager_silences_state_size", "The number of silences in the state map.", NULL));
    tn_metrics_on_collect(silences_collect_metrics, s);
}
