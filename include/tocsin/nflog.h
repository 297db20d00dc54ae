/* The notification log: what was last sent for each (group, receiver integration).
 *
 * The dedup stage asks it whether a flush has anything new to say; a successful send records
 * the firing and resolved alert hashes. Entries expire at 2 x repeat_interval and are dropped by
 * the next maintenance after that. It lives in
 * memory; the store (SQLite) observes every write through the hook and brings the entries back
 * at start, so a restart never re-pages what was already paged. */
#ifndef TOCSIN_NFLOG_H
#define TOCSIN_NFLOG_H

#include "tocsin/common.h"

typedef struct tn_nflog tn_nflog_t;

typedef struct tn_nflog_entry {
    char *key; /* group key + ":" + receiver/integration/idx */
    tn_time_t timestamp;
    tn_time_t expires_at;
    uint64_t *firing; /* sorted */
    size_t nfiring;
    uint64_t *resolved; /* sorted */
    size_t nresolved;
    tn_strmap_t data; /* what the integration kept with the send (Slack's message ts) */
} tn_nflog_entry_t;

/* Persistence hook: called after each write (entry borrowed). */
typedef void (*tn_nflog_write_fn)(void *ud, const tn_nflog_entry_t *e);

tn_nflog_t *tn_nflog_new(void);
void tn_nflog_free(tn_nflog_t *l);
void tn_nflog_set_hook(tn_nflog_t *l, tn_nflog_write_fn fn, void *ud);
/* The hook installed, for one that wraps it (replication runs after persistence). */
void tn_nflog_get_hook(const tn_nflog_t *l, tn_nflog_write_fn *fn, void **ud);

/* Builds the state key Alertmanager uses: "<groupKey>:<receiver>/<integration>/<idx>". */
char *tn_nflog_key(const char *group_key, const char *receiver, const char *integration,
                   unsigned idx);
/* Borrowed entry, or NULL if none. An entry past its expiry still answers until
 * tn_nflog_gc() drops it, as in Alertmanager, where only maintenance removes entries. */
const tn_nflog_entry_t *tn_nflog_get(tn_nflog_t *l, const char *key);
/* Records a send. Hash arrays are copied and sorted; data (NULL = none) is copied. */
void tn_nflog_log(tn_nflog_t *l, const char *key, const uint64_t *firing, size_t nfiring,
                  const uint64_t *resolved, size_t nresolved, const tn_strmap_t *data,
                  tn_time_t now, tn_time_t expires_at);
/* Drops expired entries; returns how many. */
size_t tn_nflog_gc(tn_nflog_t *l, tn_time_t now);
size_t tn_nflog_count(tn_nflog_t *l);
/* Heap bytes of the entries and their table, kept data aside (tocsin_memory_bytes). */
size_t tn_nflog_bytes(const tn_nflog_t *l);
/* Iteration in unspecified order; fn returns false to stop. Do not change the log from fn. */
typedef bool (*tn_nflog_iter_fn)(void *ud, const tn_nflog_entry_t *e);
void tn_nflog_foreach(tn_nflog_t *l, tn_nflog_iter_fn fn, void *ud);
/* Snapshot to a file (written to a temporary, fsynced, renamed into place) and back: the format
 * of earlier versions, now only read once to import it into the database (store.h). Load skips
 * expired entries; a missing file is not an error; a damaged one is, with the file named in err. */
int tn_nflog_save(tn_nflog_t *l, const char *path, char *err, size_t errlen);
int tn_nflog_load(tn_nflog_t *l, const char *path, tn_time_t now, char *err, size_t errlen);
/* Whether every hash of `set` (sorted) is in the entry's firing (resp. resolved) list. */
bool tn_nflog_is_subset(const uint64_t *sub, size_t nsub, const uint64_t *set, size_t nset);

#endif
