/* Silences: time-bounded sets of matchers that mute matching alerts.
 *
 * The set lives in memory, owned by the loop; every change is reported to one persistence hook
 * (the store writes it to SQLite). Rules follow Alertmanager: a silence is pending before
 * startsAt, active until endsAt, expired after; expired silences are kept for the retention
 * period, then garbage-collected. Lookups for muting go through an index of equality matchers
 * and a per-fingerprint cache, so the cost per alert does not grow with the number of
 * silences. */
#ifndef TOCSIN_SILENCE_H
#define TOCSIN_SILENCE_H

#include "tocsin/config.h"

typedef struct tn_silence {
    char id[37]; /* UUID v4, lower-case text */
    tn_matchers_t matchers;
    tn_time_t starts_at, ends_at, updated_at;
    char *created_by, *comment;
} tn_silence_t;

enum tn_silence_state { TN_SILENCE_PENDING, TN_SILENCE_ACTIVE, TN_SILENCE_EXPIRED };

enum tn_silence_state tn_silence_state_at(const tn_silence_t *s, tn_time_t now);
/* "pending", "active", "expired". */
const char *tn_silence_state_name(enum tn_silence_state st);
/* Frees the members of s (not s itself). */
void tn_silence_clear(tn_silence_t *s);
/* Deep copy into an uninitialised dst (matchers re-compiled). Returns TN_OK or TN_ERR_INVAL. */
int tn_silence_copy(tn_silence_t *dst, const tn_silence_t *src);
/* Approximate encoded size, as counted against --silences.max-silence-size-bytes. */
size_t tn_silence_size(const tn_silence_t *s);

typedef struct tn_silences tn_silences_t;

tn_silences_t *tn_silences_new(void);
void tn_silences_free(tn_silences_t *s);
/* 0 = no limit, for either. */
void tn_silences_set_limits(tn_silences_t *s, size_t max_silences, size_t max_silence_bytes);
/* How long expired silences are kept (--data.retention). */
void tn_silences_set_retention(tn_silences_t *s, tn_duration_t retention);

/* Create (in->id empty) or update (in->id set), with Alertmanager's rules: an update that
 * changes only endsAt/comment/createdBy of a non-expired silence whose start is unchanged (or
 * which is still pending) is done in place; any other update of an active silence expires it
 * and creates a new one with a new id; an expired silence cannot be updated (a new one is
 * created). Validation: at least one matcher, not all matchers match "", endsAt after startsAt,
 * endsAt not in the past; a startsAt in the past becomes now. Copies `in` (matchers included);
 * writes the resulting id into id_out. Errors: TN_ERR_INVAL (message for a 400 in err),
 * TN_ERR_NOTFOUND (unknown id), TN_ERR_LIMIT (count or size limit; message in err). */
int tn_silences_set(tn_silences_t *s, const tn_silence_t *in, tn_time_t now, char id_out[37],
                    char *err, size_t errlen);
/* Expires a silence (endsAt = now, or startsAt = endsAt = now if pending). TN_ERR_NOTFOUND if
 * unknown; an already expired silence is left as it is and TN_OK returned, as Alertmanager. */
int tn_silences_expire(tn_silences_t *s, const char *id, tn_time_t now, char *err, size_t errlen);
/* Undoes a change that could not be persisted: the silence id gets back its earlier content
 * prev, or is removed when prev is NULL (it was new). Nothing happens when it changed again
 * since (its updated_at is no longer changed_at). Reported to the hook like any change. */
void tn_silences_revert(tn_silences_t *s, const char *id, const tn_silence_t *prev,
                        tn_time_t changed_at, tn_time_t now);
/* Borrowed, valid until the next change; NULL if unknown. */
const tn_silence_t *tn_silences_get(tn_silences_t *s, const char *id);

/* Iteration in unspecified order; fn returns false to stop. Do not change the set from fn. */
typedef bool (*tn_silence_iter_fn)(void *ud, const tn_silence_t *sil);
void tn_silences_foreach(tn_silences_t *s, tn_silence_iter_fn fn, void *ud);

/* The silences active at `now` that mute label set ls: writes up to max borrowed pointers
 * (sorted by id) into out and returns the total count. */
/* For callers that check many label sets in turn: starts fetching what tn_silences_mutes
 * will read for ls, one level per stage (0: index slots, 1: buckets). Call stage 1 a few
 * label sets after stage 0. (Deeper stages measured no faster.) */
void tn_silences_prefetch(const tn_silences_t *s, tn_labels_t ls, int stage);
size_t tn_silences_mutes(tn_silences_t *s, tn_labels_t ls, tn_time_t now, const tn_silence_t **out,
                         size_t max);
/* Removes silences expired for longer than the retention; returns how many. */
size_t tn_silences_gc(tn_silences_t *s, tn_time_t now);
size_t tn_silences_count(tn_silences_t *s, enum tn_silence_state st, tn_time_t now);
/* All silences, any state. */
size_t tn_silences_total(tn_silences_t *s);

/* Persistence hook, called after each change (sil borrowed; deleted = true when GC removed it).
 * Not called by tn_silences_load. */
typedef void (*tn_silence_hook_fn)(void *ud, const tn_silence_t *sil, bool deleted);
void tn_silences_set_hook(tn_silences_t *s, tn_silence_hook_fn fn, void *ud);
/* The hook installed, for one that wraps it (replication runs after persistence). */
void tn_silences_get_hook(const tn_silences_t *s, tn_silence_hook_fn *fn, void **ud);
/* Inserts a stored silence as it is (no validation of times, no limits, no hook), replacing one
 * with the same id. Used when loading state. Copies sil. */
int tn_silences_load(tn_silences_t *s, const tn_silence_t *sil, char *err, size_t errlen);

/* Registers alertmanager_silences{state} and the silence GC/query metrics. */
void tn_silences_register_metrics(tn_silences_t *s);

#endif
