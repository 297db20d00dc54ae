/* Silences (work in progress: stubs so the header links). */
#include "tocsin/silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tn_silences {
    int unused;
};

enum tn_silence_state tn_silence_state_at(const tn_silence_t *s, tn_time_t now)
{
    if (now < s->starts_at)
        return TN_SILENCE_PENDING;
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

int tn_silence_copy(tn_silence_t *dst, const tn_silence_t *src)
{
    memset(dst, 0, sizeof(*dst));
    return TN_ERR_INVAL;
    (void)src;
}

size_t tn_silence_size(const tn_silence_t *s)
{
    (void)s;
    return 0;
}

tn_silences_t *tn_silences_new(void)
{
    return tn_xcalloc(1, sizeof(tn_silences_t));
}

void tn_silences_free(tn_silences_t *s)
{
    free(s);
}

void tn_silences_set_limits(tn_silences_t *s, size_t max_silences, size_t max_silence_bytes)
{
    (void)s, (void)max_silences, (void)max_silence_bytes;
}

void tn_silences_set_retention(tn_silences_t *s, tn_duration_t retention)
{
    (void)s, (void)retention;
}

int tn_silences_set(tn_silences_t *s, const tn_silence_t *in, tn_time_t now, char id_out[37],
                    char *err, size_t errlen)
{
    (void)s, (void)in, (void)now, (void)id_out;
    snprintf(err, errlen, "silences are not implemented yet");
    return TN_ERR_INVAL;
}

int tn_silences_expire(tn_silences_t *s, const char *id, tn_time_t now, char *err, size_t errlen)
{
    (void)s, (void)now;
    snprintf(err, errlen, "silence %s not found", id);
    return TN_ERR_NOTFOUND;
}

const tn_silence_t *tn_silences_get(tn_silences_t *s, const char *id)
{
    (void)s, (void)id;
    return NULL;
}

void tn_silences_foreach(tn_silences_t *s, tn_silence_iter_fn fn, void *ud)
{
    (void)s, (void)fn, (void)ud;
}

size_t tn_silences_mutes(tn_silences_t *s, tn_labels_t ls, tn_time_t now, const tn_silence_t **out,
                         size_t max)
{
    (void)s, (void)ls, (void)now, (void)out, (void)max;
    return 0;
}

size_t tn_silences_gc(tn_silences_t *s, tn_time_t now)
{
    (void)s, (void)now;
    return 0;
}

size_t tn_silences_count(tn_silences_t *s, enum tn_silence_state st, tn_time_t now)
{
    (void)s, (void)st, (void)now;
    return 0;
}

size_t tn_silences_total(tn_silences_t *s)
{
    (void)s;
    return 0;
}

void tn_silences_set_hook(tn_silences_t *s, tn_silence_hook_fn fn, void *ud)
{
    (void)s, (void)fn, (void)ud;
}

int tn_silences_load(tn_silences_t *s, const tn_silence_t *sil, char *err, size_t errlen)
{
    (void)s, (void)sil, (void)err, (void)errlen;
    return TN_OK;
}

void tn_silences_register_metrics(tn_silences_t *s)
{
    (void)s;
}
