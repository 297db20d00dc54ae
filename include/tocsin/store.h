/* Durable state in SQLite: silences, the notification log and active alerts.
 *
 * One database file, <storage.path>/tocsin.db, in WAL mode. The loop never touches SQLite
 * after start-up: changes are queued in memory (coalesced by key) and written by one worker at
 * a time through uv_queue_work, each batch in one transaction. Loading at start is synchronous,
 * before anything is served. A failed write is logged (rate-limited), counted in
 * tocsin_store_write_errors_total and retried with the next batch. See docs/internals/STORE.md. */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <uv.h>

#include "tocsin/alert.h"
#include "tocsin/nflog.h"
#include "tocsin/silence.h"

#define TN_STORE_FILE "tocsin.db"

typedef struct tn_store tn_store_t;

/* Opens (creating if needed) <dir>/tocsin.db and checks it. A file that is not a database, is
 * damaged or has a newer schema fails with TN_ERR_INVAL or TN_ERR_IO and a message naming the
 * file. With move_damaged, such a file is renamed to tocsin.db.damaged-<unix time> (with its
 * -wal and -shm) and an empty one is created instead. */
tn_store_t *tn_store_open(uv_loop_t *loop, const char *dir, bool move_damaged, char *err,
                          size_t errlen);
/* At start, synchronous: fills sil, nflog and alerts (each may be NULL) from the database.
 * Everything is decoded before anything is applied, so a damaged row leaves the caller's state
 * untouched (and, with move_damaged, the file is moved aside and loading succeeds empty).
 * Expired nflog entries are skipped; alerts resolved for longer than the retention are dropped,
 * the others load as they were (resolved ones too, so their resolve notification still goes
 * out). Silences load as stored; silence GC removes old expired ones later. If no database
 * existed before open and <dir>/nflog (the old snapshot file) exists, it is imported once and
 * renamed to nflog.imported. Call before tn_store_attach. */
int tn_store_load(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog, tn_alert_store_t *alerts,
                  tn_time_t now, char *err, size_t errlen);
/* How long resolved alerts are kept across a restart (--data.retention; default 120h). */
void tn_store_set_retention(tn_store_t *st, tn_duration_t retention);
/* Installs the hooks/listeners that queue writes (call after load). Any may be NULL. */
void tn_store_attach(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog,
                     tn_alert_store_t *alerts);
/* Acknowledgements (ack.h): loaded at start (after tn_store_load), then persisted through their
 * hook. A damaged row is skipped with a warning. */
struct tn_acks;
int tn_store_load_acks(tn_store_t *st, struct tn_acks *acks, char *err, size_t errlen);
void tn_store_attach_acks(tn_store_t *st, struct tn_acks *acks);
/* Runs cb(ud, rc) on the loop once everything queued so far is durable (rc = TN_OK) or its
 * write failed (rc = TN_ERR_IO; the write is retried later). */
void tn_store_sync(tn_store_t *st, void (*cb)(void *ud, int rc), void *ud);
/* Deletes nflog rows whose expiry passed (call after tn_nflog_gc). */
void tn_store_nflog_gc(tn_store_t *st, tn_time_t now);
/* Writes what is queued, synchronously (waiting for a running batch by running the loop once
 * at a time), detaches the silence and nflog hooks, then closes; the struct is freed when its
 * two timers are closed (run the loop afterwards). Pending tn_store_sync callbacks run before
 * it returns. Call at exit, after the last alert change (the alert listener stays installed).
 * NULL is ignored. */
void tn_store_close(tn_store_t *st);
/* Heap bytes SQLite holds in this process, for both databases (page caches, statements). */
size_t tn_store_sqlite_bytes(void);
/* Path of the database file (borrowed). */
const char *tn_store_path(const tn_store_t *st);

#endif
