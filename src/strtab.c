/* The string hash and string-keyed table (see strtab.h). */
#include "tocsin/strtab.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/common.h"

uint64_t tn_fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

uint64_t tn_str_hash(const char *s)
{
    return tn_fnv1a(s, strlen(s));
}

static size_t strtab_find(const tn_strtab_t *t, const char *key)
{
    size_t mask = t->cap - 1, i = tn_str_hash(key) & mask;
    while (t->v[i] && strcmp(t->key_of(t->v[i]), key) != 0)
        i = (i + 1) & mask;
    return i;
}

void *tn_strtab_get(const tn_strtab_t *t, const char *key)
{
    return t->cap ? t->v[strtab_find(t, key)] : NULL;
}

void tn_strtab_put(tn_strtab_t *t, void *val)
{
    if ((t->count + 1) * 4 > t->cap * 3) {
        tn_strtab_t n = {.cap = t->cap ? t->cap * 2 : 16, .key_of = t->key_of};
        n.v = tn_xcalloc(n.cap, sizeof(*n.v));
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i])
                n.v[strtab_find(&n, t->key_of(t->v[i]))] = t->v[i];
        n.count = t->count;
        free(t->v);
        *t = n;
    }
    size_t i = strtab_find(t, t->key_of(val));
    if (!t->v[i])
        t->count++;
    t->v[i] = val;
}

void tn_strtab_del(tn_strtab_t *t, const char *key)
{
    if (!t->cap)
        return;
    size_t mask = t->cap - 1, i = strtab_find(t, key);
    if (!t->v[i])
        return;
    t->v[i] = NULL;
    t->count--;
    /* re-insert the rest of the run so that lookups never stop at the hole */
    for (size_t j = (i + 1) & mask; t->v[j]; j = (j + 1) & mask) {
        void *x = t->v[j];
        t->v[j] = NULL;
        t->v[strtab_find(t, t->key_of(x))] = x;
    }
}

void tn_strtab_free(tn_strtab_t *t)
{
    free(t->v);
    t->v = NULL;
    t->cap = t->count = 0;
}
