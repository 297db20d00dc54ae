/* Helpers for the open-addressing tables (linear probing, capacity a power of two) used by the
 * intern table, the alert store, the dispatcher, the notification log and the silence index. */
#ifndef TOCSIN_OATAB_H
#define TOCSIN_OATAB_H

#include <stddef.h>

/* Backward-shift deletion: empties slot `hole` and moves later entries of the same probe run
 * back into it, so lookups need no tombstones. `slots` is the slot array, `cap` its size,
 * HOME_OF(x) the home slot (already masked) of entry x, EMPTY(x) whether slot x is empty and
 * CLEAR(x) empties it. Evaluates to nothing. */
#define TN_OA_DELETE_BY(slots, cap, hole, HOME_OF, EMPTY, CLEAR)                                   \
    do {                                                                                           \
        size_t oa_mask_ = (cap)-1, oa_i_ = (hole), oa_j_ = oa_i_;                                  \
        for (;;) {                                                                                 \
            oa_j_ = (oa_j_ + 1) & oa_mask_;                                                        \
            if (EMPTY((slots)[oa_j_]))                                                             \
                break;                                                                             \
            size_t oa_h_ = HOME_OF((slots)[oa_j_]);                                                \
            /* Move x back unless its home lies cyclically in (hole, j]. */                        \
            if (oa_j_ > oa_i_ ? (oa_h_ <= oa_i_ || oa_h_ > oa_j_)                                  \
                              : (oa_h_ <= oa_i_ && oa_h_ > oa_j_)) {                               \
                (slots)[oa_i_] = (slots)[oa_j_];                                                   \
                oa_i_ = oa_j_;                                                                     \
            }                                                                                      \
        }                                                                                          \
        CLEAR((slots)[oa_i_]);                                                                     \
    } while (0)

/* The same for an array of entry pointers, NULL being empty. */
#define TN_OA_PTR_EMPTY_(x) (!(x))
#define TN_OA_PTR_CLEAR_(x) ((x) = NULL)
#define TN_OA_DELETE(slots, cap, hole, HOME_OF)                                                    \
    TN_OA_DELETE_BY(slots, cap, hole, HOME_OF, TN_OA_PTR_EMPTY_, TN_OA_PTR_CLEAR_)

#endif
