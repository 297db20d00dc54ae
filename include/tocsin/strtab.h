/* One string hash and one string-keyed table for the modules that index by name or key
 * (rate-limit lanes, held notifications, per-alertname buckets, ...): FNV-1a 64 and open
 * addressing with linear probing, the value owning its key. */
#ifndef TOCSIN_STRTAB_H
#define TOCSIN_STRTAB_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 over a NUL-terminated string, or over n bytes. Stable across runs and builds. */
uint64_t tn_str_hash(const char *s);
uint64_t tn_fnv1a(const void *p, size_t n);

/* Values are pointers; key_of gives a value's key (the value owns it). */
typedef struct tn_strtab {
    void **v;
    size_t cap, count; /* cap: 0 or a power of two */
    const char *(*key_of)(const void *value);
} tn_strtab_t;

#define TN_STRTAB_INIT(key_of_fn) ((tn_strtab_t){.key_of = (key_of_fn)})

void *tn_strtab_get(const tn_strtab_t *t, const char *key);
/* Inserts val, or replaces the value with the same key (the old one is the caller's). */
void tn_strtab_put(tn_strtab_t *t, void *val);
/* Removes the value with this key, if any (it stays the caller's). Later slots may move:
 * an iteration that deletes looks at the same slot again. */
void tn_strtab_del(tn_strtab_t *t, const char *key);
/* Frees the slots, not the values. */
void tn_strtab_free(tn_strtab_t *t);

#endif
