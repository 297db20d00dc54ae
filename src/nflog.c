/* In-memory notification log: a string-keyed open-addressing table of entries. */
#include "tocsin/nflog.h"

#include <stdlib.h>
#include <string.h>

struct tn_nflog {
    tn_nflog_entry_t **slots;
    size_t cap, count;
    tn_nflog_write_fn hook;
    void *hook_ud;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

tn_nflog_t *tn_nflog_new(void)
{
    tn_nflog_t *l = tn_xcalloc(1, sizeof(*l));
    l->cap = 256;
    l->slots = tn_xcalloc(l->cap, sizeof(*l->slots));
    return l;
}

static void entry_free(tn_nflog_entry_t *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->firing);
    free(e->resolved);
    free(e);
}

void tn_nflog_free(tn_nflog_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        entry_free(l->slots[i]);
    free(l->slots);
    free(l);
}

void tn_nflog_set_hook(tn_nflog_t *l, tn_nflog_write_fn fn, void *ud)
{
    l->hook = fn;
    l->hook_ud = ud;
}

char *tn_nflog_key(const char *group_key, const char *receiver, const char *integration,
                   unsigned idx)
{
    return tn_xasprintf("%s:%s/%s/%u", group_key, receiver, integration, idx);
}

static size_t find(const tn_nflog_t *l, const char *key)
{
    size_t mask = l->cap - 1;
    size_t i = key_hash(key) & mask;
    while (l->slots[i] && strcmp(l->slots[i]->key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

static void remove_at(tn_nflog_t *l, size_t i)
{
    size_t mask = l->cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        tn_nflog_entry_t *x = l->slots[j];
        if (!x)
            break;
        size_t home = key_hash(x->key) & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            l->slots[i] = x;
            i = j;
        }
    }
    l->slots[i] = NULL;
    l->count--;
}

const tn_nflog_entry_t *tn_nflog_get(tn_nflog_t *l, const char *key, tn_time_t now)
{
    tn_nflog_entry_t *e = l->slots[find(l, key)];
    if (e && e->expires_at && e->expires_at <= now)
        return NULL;
    return e;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t *copy_sorted(const uint64_t *v, size_t n)
{
    if (!n)
        return NULL;
    uint64_t *c = tn_xmalloc(n * sizeof(*c));
    memcpy(c, v, n * sizeof(*c));
    qsort(c, n, sizeof(*c), u64_cmp);
    return c;
}

void tn_nflog_log(tn_nflog_t *l, const char *key, const uint64_t *firing, size_t nfiring,
                  const uint64_t *resolved, size_t nresolved, tn_time_t now, tn_time_t expires_at)
{
    if ((l->count + 1) * 10 > l->cap * 7) {
        tn_nflog_entry_t **old = l->slots;
        size_t ocap = l->cap;
        l->cap *= 2;
        l->slots = tn_xcalloc(l->cap, sizeof(*l->slots));
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                l->slots[find(l, old[i]->key)] = old[i];
        free(old);
    }
    size_t i = find(l, key);
    tn_nflog_entry_t *e = l->slots[i];
    if (!e) {
        e = tn_xcalloc(1, sizeof(*e));
        e->key = tn_xstrdup(key);
        l->slots[i] = e;
        l->count++;
    }
    free(e->firing);
    free(e->resolved);
    e->firing = copy_sorted(firing, nfiring);
    e->nfiring = nfiring;
    e->resolved = copy_sorted(resolved, nresolved);
    e->nresolved = nresolved;
    e->timestamp = now;
    e->expires_at = expires_at;
    if (l->hook)
        l->hook(l->hook_ud, e);
}

size_t tn_nflog_gc(tn_nflog_t *l, tn_time_t now)
{
    size_t removed = 0, i = 0;
    while (i < l->cap) {
        tn_nflog_entry_t *e = l->slots[i];
        if (e && e->expires_at && e->expires_at <= now) {
            remove_at(l, i);
            entry_free(e);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

size_t tn_nflog_count(tn_nflog_t *l)
{
    return l->count;
}

bool tn_nflog_is_subset(const uint64_t *sub, size_t nsub, const uint64_t *set, size_t nset)
{
    size_t j = 0;
    for (size_t i = 0; i < nsub; i++) {
        while (j < nset && set[j] < sub[i])
            j++;
        if (j == nset || set[j] != sub[i])
            return false;
    }
    return true;
}
