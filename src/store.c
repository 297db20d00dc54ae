/* Durable state in SQLite (work in progress: stubs so the header links). */
#include "tocsin/store.h"

#include <stdio.h>
#include <stdlib.h>

struct tn_store {
    char *path;
};

tn_store_t *tn_store_open(uv_loop_t *loop, const char *dir, bool move_damaged, char *err,
                          size_t errlen)
{
    (void)loop, (void)move_damaged, (void)err, (void)errlen;
    tn_store_t *st = tn_xcalloc(1, sizeof(*st));
    st->path = tn_xasprintf("%s/%s", dir, TN_STORE_FILE);
    return st;
}

int tn_store_load(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog, tn_alert_store_t *alerts,
                  tn_time_t now, char *err, size_t errlen)
{
    (void)st, (void)sil, (void)nflog, (void)alerts, (void)now, (void)err, (void)errlen;
    return TN_OK;
}

void tn_store_attach(tn_store_t *st, tn_silences_t *sil, tn_nflog_t *nflog,
                     tn_alert_store_t *alerts)
{
    (void)st, (void)sil, (void)nflog, (void)alerts;
}

void tn_store_sync(tn_store_t *st, void (*cb)(void *ud, int rc), void *ud)
{
    (void)st;
    cb(ud, TN_OK);
}

void tn_store_nflog_gc(tn_store_t *st, tn_time_t now)
{
    (void)st, (void)now;
}

void tn_store_close(tn_store_t *st)
{
    if (!st)
        return;
    free(st->path);
    free(st);
}

const char *tn_store_path(const tn_store_t *st)
{
    return st->path;
}
