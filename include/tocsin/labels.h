/* Interned strings and label sets.
 *
 * Every label name and value (and annotation) is interned: one refcounted copy per distinct
 * string, shared by all alerts that carry it. Strings are handed around as const char * that
 * point into the interned block, so comparing two interned strings is a pointer compare. */
#ifndef TOCSIN_LABELS_H
#define TOCSIN_LABELS_H

#include <stdint.h>
#include <string.h>

#include "tocsin/common.h"
#include "tocsin/utf8.h"

/* Returns the interned copy of s[0..len) with one reference taken for the caller. */
const char *tn_intern(const char *s, size_t len);
const char *tn_intern_cstr(const char *s);
/* Takes one more reference on an interned string. */
const char *tn_intern_ref(const char *istr);
/* Drops a reference; frees the string when the last one goes. NULL is ignored. */
void tn_intern_unref(const char *istr);
/* The length is stored in the four bytes before the string (see istr_t in labels.c), its top
 * bit set when JSON writes the string as it is (tn_json_plain), checked once when interned. */
#define TN_INTERN_PLAIN UINT32_C(0x80000000)
static inline uint32_t tn_intern_len_word_(const char *istr)
{
    uint32_t n;
    memcpy(&n, istr - sizeof(n), sizeof(n));
    return n;
}
static inline size_t tn_intern_len(const char *istr)
{
    return tn_intern_len_word_(istr) & ~TN_INTERN_PLAIN;
}
static inline bool tn_intern_json_plain(const char *istr)
{
    return (tn_intern_len_word_(istr) & TN_INTERN_PLAIN) != 0;
}
/* Number of distinct interned strings alive (tests, metrics). */
size_t tn_intern_count(void);
/* Heap bytes the interned strings and their table hold (tocsin_memory_bytes). */
size_t tn_intern_bytes(void);

/* One label pair; both strings are interned and owned by whoever owns the pair. */
typedef struct tn_label {
    const char *name;
    const char *value;
} tn_label_t;

/* A view of a sorted label array (sorted by name, byte order as Go sorts strings; names
 * unique). Views do not own anything. */
typedef struct tn_labels {
    const tn_label_t *v;
    size_t n;
} tn_labels_t;

/* Value of label `name` (compared by content), or NULL. Binary search. */
const char *tn_labels_get(tn_labels_t ls, const char *name);
/* Sorts pairs in place by name. Returns TN_ERR_EXISTS if a name repeats (after sorting). */
int tn_labels_sort(tn_label_t *pairs, size_t n);
bool tn_labels_equal(tn_labels_t a, tn_labels_t b);
/* Go's model.LabelSet.Before ordering: <0, 0, >0. */
int tn_labels_compare(tn_labels_t a, tn_labels_t b);

/* Alertmanager/Prometheus label-set fingerprint (FNV-1a 64 over name 0xff value 0xff in name
 * order); identical to model.LabelSet.Fingerprint(). */
uint64_t tn_labels_fingerprint(tn_labels_t ls);
/* 16 lowercase hex digits and a NUL. */
void tn_fingerprint_format(uint64_t fp, char out[17]);

/* Appends Go's model.LabelSet.String(): {a="b", c="d"} with values quoted as Go's %q. */
int tn_labels_format(tn_buf_t *out, tn_labels_t ls);
/* Appends s quoted as Go's strconv.Quote / %q does. */
int tn_go_quote(tn_buf_t *out, const char *s, size_t len);

/* Label-name validity. UTF-8 mode (the default, as current Alertmanager): any non-empty valid
 * UTF-8. Classic mode: [a-zA-Z_][a-zA-Z0-9_]*. */
bool tn_label_name_valid(const char *s, size_t len, bool classic);
/* Value of a hexadecimal digit, or -1. */
int tn_hexval(int c);

/* Process-wide switch set from --enable-feature=classic-mode / utf8-strict-mode. */
enum tn_label_mode { TN_LABELS_UTF8 = 0, TN_LABELS_CLASSIC, TN_LABELS_UTF8_STRICT };
void tn_labels_set_mode(enum tn_label_mode m);
enum tn_label_mode tn_labels_mode(void);

#endif
