/* Interned strings, label sets and Alertmanager-compatible fingerprints. */
#include "tocsin/labels.h"

#include "tocsin/json.h"
#include "tocsin/oatab.h"
#include "tocsin/utf8.h"

#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- interning ----
 * One open-addressing table (linear probing, backward-shift delete) of interned blocks. The
 * daemon is single-threaded, so no locking. A block keeps no hash, which saves 8 bytes a
 * string: a probe reads the length on the same cache line anyway, and growing and deleting
 * hash the strings again. */

typedef struct istr {
    uint32_t refs;
    uint32_t len; /* with TN_INTERN_PLAIN; just before s, read inline by labels.h */
    char s[];
} istr_t;
_Static_assert(offsetof(istr_t, s) == offsetof(istr_t, len) + sizeof(uint32_t),
               "tn_intern_len expects the length right before the string");

static istr_t **itab;
static size_t itab_cap; /* power of two */
static size_t itab_count;
static size_t itab_bytes; /* of the blocks, as the allocator sized them */

static uint64_t str_hash(const char *s, size_t len)
{
    /* 64-bit multiply-mix over 8-byte words; good spread, cheap for 100-byte annotations. */
    const uint64_t m = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (len * m);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * m;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, s + i, len - i);
    h = (h ^ tail) * m;
    h ^= h >> 32;
    return h;
}

static istr_t *hdr(const char *s)
{
    return tn_container_of(s, istr_t, s);
}

static uint64_t istr_hash(const istr_t *e)
{
    return str_hash(e->s, e->len & ~TN_INTERN_PLAIN);
}

static void itab_grow(void)
{
    size_t ncap = itab_cap ? itab_cap * 2 : 1024;
    istr_t **n = tn_xcalloc(ncap, sizeof(*n));
    for (size_t i = 0; i < itab_cap; i++) {
        istr_t *e = itab[i];
        if (!e)
            continue;
        size_t j = istr_hash(e) & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = e;
    }
    free(itab);
    itab = n;
    itab_cap = ncap;
}

const char *tn_intern(const char *s, size_t len)
{
    if ((itab_count + 1) * 10 > itab_cap * 7)
        itab_grow();
    uint64_t h = str_hash(s, len);
    size_t mask = itab_cap - 1;
    size_t i = h & mask;
    for (istr_t *e; (e = itab[i]) != NULL; i = (i + 1) & mask) {
        if ((e->len & ~TN_INTERN_PLAIN) == len && memcmp(e->s, s, len) == 0) {
            e->refs++;
            return e->s;
        }
    }
    if (len >= TN_INTERN_PLAIN) /* bodies are capped far below this */
        abort();
    istr_t *e = tn_xmalloc(sizeof(*e) + len + 1);
    e->refs = 1;
    e->len = (uint32_t)len | (tn_json_plain(s, len) ? TN_INTERN_PLAIN : 0);
    memcpy(e->s, s, len);
    e->s[len] = 0;
    itab[i] = e;
    itab_bytes += malloc_usable_size(e);
    itab_count++;
    return e->s;
}

const char *tn_intern_cstr(const char *s)
{
    return tn_intern(s, strlen(s));
}

const char *tn_intern_ref(const char *istr)
{
    hdr(istr)->refs++;
    return istr;
}

#define ITAB_HOME(x) (istr_hash(x) & (itab_cap - 1))

void tn_intern_unref(const char *istr)
{
    if (!istr)
        return;
    istr_t *e = hdr(istr);
    if (--e->refs)
        return;
    size_t mask = itab_cap - 1;
    size_t i = istr_hash(e) & mask;
    while (itab[i] != e)
        i = (i + 1) & mask;
    TN_OA_DELETE(itab, itab_cap, i, ITAB_HOME);
    itab_count--;
    itab_bytes -= malloc_usable_size(e);
    free(e);
    if (itab_count == 0) {
        free(itab);
        itab = NULL;
        itab_cap = 0;
    }
}

size_t tn_intern_count(void)
{
    return itab_count;
}

size_t tn_intern_bytes(void)
{
    return itab_bytes + itab_cap * sizeof(*itab);
}

/* ---- label sets ---- */

const char *tn_labels_get(tn_labels_t ls, const char *name)
{
    size_t lo = 0, hi = ls.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        /* names mostly differ in their first byte: compare it before calling strcmp */
        const char *m = ls.v[mid].name;
        int c = (unsigned char)m[0] - (unsigned char)name[0];
        if (c == 0)
            c = strcmp(m, name);
        if (c == 0)
            return ls.v[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int label_cmp(const void *a, const void *b)
{
    const tn_label_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int tn_labels_sort(tn_label_t *pairs, size_t n)
{
    /* Insertion sort: label sets are small and often nearly sorted already. */
    if (n > 32) {
        qsort(pairs, n, sizeof(*pairs), label_cmp);
    } else {
        for (size_t i = 1; i < n; i++) {
            tn_label_t t = pairs[i];
            size_t j = i;
            while (j > 0 && strcmp(pairs[j - 1].name, t.name) > 0) {
                pairs[j] = pairs[j - 1];
                j--;
            }
            pairs[j] = t;
        }
    }
    for (size_t i = 1; i < n; i++)
        if (strcmp(pairs[i - 1].name, pairs[i].name) == 0)
            return TN_ERR_EXISTS;
    return TN_OK;
}

bool tn_labels_equal(tn_labels_t a, tn_labels_t b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.v[i].name, b.v[i].name) || strcmp(a.v[i].value, b.v[i].value))
            return false;
    return true;
}

int tn_labels_compare(tn_labels_t a, tn_labels_t b)
{
    if (a.n != b.n)
        return a.n < b.n ? -1 : 1;
    size_t i = 0, j = 0;
    while (i < a.n && j < b.n) {
        int c = strcmp(a.v[i].name, b.v[j].name);
        if (c < 0)
            return 1; /* b lacks this name */
        if (c > 0)
            return -1; /* a lacks b's name */
        int v = strcmp(a.v[i].value, b.v[j].value);
        if (v)
            return v < 0 ? -1 : 1;
        i++;
        j++;
    }
    return 0;
}

#define FNV_OFFSET UINT64_C(14695981039346656037)
#define FNV_PRIME  UINT64_C(1099511628211)

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t tn_labels_fingerprint(tn_labels_t ls)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < ls.n; i++) {
        h = fnv_add(h, ls.v[i].name);
        h ^= 0xff;
        h *= FNV_PRIME;
        h = fnv_add(h, ls.v[i].value);
        h ^= 0xff;
        h *= FNV_PRIME;
    }
    return h;
}

void tn_fingerprint_format(uint64_t fp, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hex[fp & 0xf];
        fp >>= 4;
    }
    out[16] = 0;
}

static bool go_printable(uint32_t r)
{
    if (r < 0x20 || r == 0x7f)
        return false;
    if (r >= 0x80 && r <= 0x9f)
        return false;
    if (r == 0xad || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0x200b && r <= 0x200f) ||
        (r >= 0xe000 && r <= 0xf8ff) || r == 0xfffe || r == 0xffff)
        return false;
    return true;
}

int tn_go_quote(tn_buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int rc = tn_buf_putc(out, '"');
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && !rc) {
        uint32_t cp;
        size_t n = tn_utf8_decode(p + i, len - i, &cp);
        if (!n) {
            char esc[4] = {'\\', 'x', hex[p[i] >> 4], hex[p[i] & 15]};
            rc = tn_buf_append(out, esc, 4);
            i++;
            continue;
        }
        switch (cp) {
        case '"':
            rc = tn_buf_puts(out, "\\\"");
            break;
        case '\\':
            rc = tn_buf_puts(out, "\\\\");
            break;
        case '\a':
            rc = tn_buf_puts(out, "\\a");
            break;
        case '\b':
            rc = tn_buf_puts(out, "\\b");
            break;
        case '\f':
            rc = tn_buf_puts(out, "\\f");
            break;
        case '\n':
            rc = tn_buf_puts(out, "\\n");
            break;
        case '\r':
            rc = tn_buf_puts(out, "\\r");
            break;
        case '\t':
            rc = tn_buf_puts(out, "\\t");
            break;
        case '\v':
            rc = tn_buf_puts(out, "\\v");
            break;
        default:
            if (go_printable(cp))
                rc = tn_buf_append(out, p + i, n);
            else if (cp < 0x80)
                rc = tn_buf_printf(out, "\\x%02x", cp);
            else if (cp < 0x10000)
                rc = tn_buf_printf(out, "\\u%04x", cp);
            else
                rc = tn_buf_printf(out, "\\U%08x", cp);
        }
        i += n;
    }
    if (!rc)
        rc = tn_buf_putc(out, '"');
    return rc;
}

static int cstr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tn_labels_format(tn_buf_t *out, tn_labels_t ls)
{
    /* Go sorts the rendered "name=value" strings, not the names: "job2=..." comes before
     * "job=...". Render each pair, sort, join. */
    char *small[16];
    char **pairs = ls.n <= 16 ? small : tn_xmalloc(ls.n * sizeof(*pairs));
    for (size_t i = 0; i < ls.n; i++) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tn_buf_puts(&b, ls.v[i].name);
        tn_buf_putc(&b, '=');
        tn_go_quote(&b, ls.v[i].value, strlen(ls.v[i].value));
        tn_buf_cstr(&b);
        pairs[i] = b.data;
    }
    qsort(pairs, ls.n, sizeof(*pairs), cstr_cmp);
    int rc = tn_buf_putc(out, '{');
    for (size_t i = 0; i < ls.n; i++) {
        if (!rc && i)
            rc = tn_buf_puts(out, ", ");
        if (!rc)
            rc = tn_buf_puts(out, pairs[i]);
        free(pairs[i]);
    }
    if (!rc)
        rc = tn_buf_putc(out, '}');
    if (pairs != small)
        free(pairs);
    return rc;
}

bool tn_label_name_valid(const char *s, size_t len, bool classic)
{
    if (len == 0)
        return false;
    if (!classic)
        return tn_utf8_valid(s, len) && memchr(s, 0, len) == NULL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static enum tn_label_mode label_mode = TN_LABELS_UTF8;

void tn_labels_set_mode(enum tn_label_mode m)
{
    label_mode = m;
}

enum tn_label_mode tn_labels_mode(void)
{
    return label_mode;
}

int tn_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
