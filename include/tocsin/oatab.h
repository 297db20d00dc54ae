/* Helpers for the open-addressing tables (linear probing over an array of entry pointers,
 * capacity a power of two) used by the intern table, the alert store, the dispatcher and the
 * notification log. */
#ifndef TOCSIN_OATAB_H
#define TOCSIN_OATAB_H

#include <stddef.h>

/* Backward-shift deletion: empties slot `hole` and moves later entries of the same probe run
 * back into it, so lookups need no tombstones. `slots` is the pointer array, `cap` its size,
 * and HOME_OF(x) the home slot (already masked) of entry x. Evaluates to nothing. */
#define TN_OA_DELETE(slots, cap, hole, HOME_OF)                                                    \
    do {                                                                                           \
        size_t oa_mask_ = (cap)-1, oa_i_ = (hole), oa_j_ = oa_i_;                                  \
        for (;;) {                                                                                 \
            oa_j_ = (oa_j_ + 1) & oa_mask_;                                                        \
            if (!(slots)[oa_j_])                                                                   \
                break;                                                                             \
            size_t oa_h_ = HOME_OF((slots)[oa_j_]);                                                \
            /* Move x back unless its home lies cyclically in (hole, j]. */                        \
            if (oa_j_ > oa_i_ ? (oa_h_ <= oa_i_ || oa_h_ > oa_j_)                                  \
                              : (oa_h_ <= oa_i_ && oa_h_ > oa_j_)) {                               \
                (slots)[oa_i_] = (slots)[oa_j_];                                                   \
                oa_i_ = oa_j_;                                                                     \
            }                                                                                      \
        }                                                                                          \
        (slots)[oa_i_] = NULL;                                                                     \
    } while (0)

#endif
