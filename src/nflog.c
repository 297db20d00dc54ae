/* In-memory notification log: entries in a string-keyed table (strtab.h). */
#include "tocsin/nflog.h"

#include "tocsin/strtab.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tn_nflog {
    tn_strtab_t tab; /* of tn_nflog_entry_t, by key */
    tn_nflog_write_fn hook;
    void *hook_ud;
};

static const char *entry_key(const void *e)
{
    return ((const tn_nflog_entry_t *)e)->key;
}

tn_nflog_t *tn_nflog_new(void)
{
    tn_nflog_t *l = tn_xcalloc(1, sizeof(*l));
    l->tab = TN_STRTAB_INIT(entry_key);
    return l;
}

static void entry_free(tn_nflog_entry_t *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->firing);
    free(e->resolved);
    tn_strmap_free(&e->data);
    free(e);
}

void tn_nflog_free(tn_nflog_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->tab.cap; i++)
        entry_free(l->tab.v[i]);
    tn_strtab_free(&l->tab);
    free(l);
}

void tn_nflog_set_hook(tn_nflog_t *l, tn_nflog_write_fn fn, void *ud)
{
    l->hook = fn;
    l->hook_ud = ud;
}

void tn_nflog_get_hook(const tn_nflog_t *l, tn_nflog_write_fn *fn, void **ud)
{
    *fn = l->hook;
    *ud = l->hook_ud;
}

char *tn_nflog_key(const char *group_key, const char *receiver, const char *integration,
                   unsigned idx)
{
    return tn_xasprintf("%s:%s/%s/%u", group_key, receiver, integration, idx);
}

const tn_nflog_entry_t *tn_nflog_get(tn_nflog_t *l, const char *key)
{
    return tn_strtab_get(&l->tab, key);
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

static tn_nflog_entry_t *tn_nflog_log_quiet(tn_nflog_t *l, const char *key, const uint64_t *firing,
                                            size_t nfiring, const uint64_t *resolved,
                                            size_t nresolved, const tn_strmap_t *data,
                                            tn_time_t now, tn_time_t expires_at)
{
    tn_nflog_entry_t *e = tn_strtab_get(&l->tab, key);
    if (!e) {
        e = tn_xcalloc(1, sizeof(*e));
        e->key = tn_xstrdup(key);
        tn_strtab_put(&l->tab, e);
    }
    free(e->firing);
    free(e->resolved);
    e->firing = copy_sorted(firing, nfiring);
    e->nfiring = nfiring;
    e->resolved = copy_sorted(resolved, nresolved);
    e->nresolved = nresolved;
    tn_strmap_t copy;
    tn_strmap_copy(&copy, data);
    tn_strmap_free(&e->data);
    e->data = copy;
    e->timestamp = now;
    e->expires_at = expires_at;
    return e;
}

void tn_nflog_log(tn_nflog_t *l, const char *key, const uint64_t *firing, size_t nfiring,
                  const uint64_t *resolved, size_t nresolved, const tn_strmap_t *data,
                  tn_time_t now, tn_time_t expires_at)
{
    tn_nflog_entry_t *e =
        tn_nflog_log_quiet(l, key, firing, nfiring, resolved, nresolved, data, now, expires_at);
    if (l->hook)
        l->hook(l->hook_ud, e);
}

size_t tn_nflog_gc(tn_nflog_t *l, tn_time_t now)
{
    size_t removed = 0, i = 0;
    while (i < l->tab.cap) {
        tn_nflog_entry_t *e = l->tab.v[i];
        if (e && e->expires_at && e->expires_at <= now) {
            tn_strtab_del(&l->tab, e->key); /* a later entry may move into slot i */
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
    return l->tab.count;
}

size_t tn_nflog_bytes(const tn_nflog_t *l)
{
    size_t n = l->tab.cap * sizeof(*l->tab.v);
    for (size_t i = 0; i < l->tab.cap; i++) {
        const tn_nflog_entry_t *e = l->tab.v[i];
        if (e)
            n += malloc_usable_size((void *)e) + malloc_usable_size(e->key) +
                 malloc_usable_size(e->firing) + malloc_usable_size(e->resolved);
    }
    return n;
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

/* ---- snapshot: "TNNFLOG1", then per entry: u32 key length, key, i64 timestamp, i64 expiry,
 * u32 n, n x u64 firing, u32 n, n x u64 resolved (host byte order: the file stays on the host) */

static const char snap_magic[8] = {'T', 'N', 'N', 'F', 'L', 'O', 'G', '1'};

static bool put_u32(FILE *f, uint32_t v)
{
    return fwrite(&v, sizeof(v), 1, f) == 1;
}

static bool put_i64(FILE *f, int64_t v)
{
    return fwrite(&v, sizeof(v), 1, f) == 1;
}

int tn_nflog_save(tn_nflog_t *l, const char *path, char *err, size_t errlen)
{
    char *tmp = tn_xasprintf("%s.tmp", path);
    int rc = TN_ERR_IO;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    bool ok = fwrite(snap_magic, sizeof(snap_magic), 1, f) == 1;
    for (size_t i = 0; i < l->tab.cap && ok; i++) {
        tn_nflog_entry_t *e = l->tab.v[i];
        if (!e)
            continue;
        size_t klen = strlen(e->key);
        ok = put_u32(f, (uint32_t)klen) && fwrite(e->key, 1, klen, f) == klen &&
             put_i64(f, e->timestamp) && put_i64(f, e->expires_at) &&
             put_u32(f, (uint32_t)e->nfiring) &&
             (!e->nfiring || fwrite(e->firing, sizeof(uint64_t), e->nfiring, f) == e->nfiring) &&
             put_u32(f, (uint32_t)e->nresolved) &&
             (!e->nresolved ||
              fwrite(e->resolved, sizeof(uint64_t), e->nresolved, f) == e->nresolved);
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) == 0) {
        rc = TN_OK;
    } else {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static bool get(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n;
}

/* Reads a u64 array of n entries, capped so a damaged length cannot ask for gigabytes. */
static uint64_t *get_u64s(FILE *f, uint32_t n, bool *ok)
{
    if (!*ok || n > (1u << 24)) {
        *ok = false;
        return NULL;
    }
    uint64_t *v = tn_xmalloc((n + 1) * sizeof(*v));
    *ok = get(f, v, n * sizeof(*v));
    return v;
}

int tn_nflog_load(tn_nflog_t *l, const char *path, tn_time_t now, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return TN_OK;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TN_ERR_IO;
    }
    char magic[sizeof(snap_magic)];
    int rc = TN_OK;
    if (!get(f, magic, sizeof(magic)) || memcmp(magic, snap_magic, sizeof(magic)) != 0) {
        snprintf(err, errlen, "%s: not a tocsin notification log snapshot", path);
        rc = TN_ERR_INVAL;
        goto out;
    }
    for (;;) {
        uint32_t klen;
        size_t got = fread(&klen, 1, sizeof(klen), f);
        if (got == 0 && feof(f))
            break;
        bool ok = got == sizeof(klen) && klen < (1u << 20);
        char *key = ok ? tn_xmalloc(klen + 1) : NULL;
        int64_t ts = 0, exp = 0;
        uint32_t nf = 0, nr = 0;
        uint64_t *firing = NULL, *resolved = NULL;
        ok = ok && get(f, key, klen) && get(f, &ts, 8) && get(f, &exp, 8) && get(f, &nf, 4);
        firing = get_u64s(f, nf, &ok);
        ok = ok && get(f, &nr, 4);
        resolved = get_u64s(f, nr, &ok);
        if (ok) {
            key[klen] = 0;
            if (!exp || exp > now)
                tn_nflog_log_quiet(l, key, firing, nf, resolved, nr, NULL, ts, exp);
        }
        free(key);
        free(firing);
        free(resolved);
        if (!ok) {
            snprintf(err, errlen, "%s: damaged notification log snapshot (truncated entry)", path);
            rc = TN_ERR_INVAL;
            break;
        }
    }
out:
    fclose(f);
    return rc;
}

void tn_nflog_foreach(tn_nflog_t *l, tn_nflog_iter_fn fn, void *ud)
{
    for (size_t i = 0; i < l->tab.cap; i++)
        if (l->tab.v[i] && !fn(ud, l->tab.v[i]))
            return;
}
