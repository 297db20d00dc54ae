/* Shared basics: error codes, time type, checked allocation. */
#ifndef TOCSIN_COMMON_H
#define TOCSIN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Negative error codes; functions return 0 (TN_OK) or one of these. */
enum {
    TN_OK = 0,
    TN_ERR_NOMEM = -1,
    TN_ERR_INVAL = -2, /* bad input; a message is in the caller's error buffer */
    TN_ERR_IO = -3,    /* file or socket failure */
    TN_ERR_LIMIT = -4, /* a configured cap was hit */
    TN_ERR_NOTFOUND = -5,
    TN_ERR_EXISTS = -6,
};

/* Caller-owned buffer for human-readable error text (Redis anet style). */
#define TN_ERRBUF_SIZE 512

/* Wall-clock time: nanoseconds since the Unix epoch. 0 means "unset" (Go's zero time). */
typedef int64_t tn_time_t;
#define TN_NS_PER_MS  INT64_C(1000000)
#define TN_NS_PER_SEC INT64_C(1000000000)

/* Durations are nanoseconds too, like Go's time.Duration. */
typedef int64_t tn_duration_t;

#define TN_ARRAY_LEN(a)                    (sizeof(a) / sizeof((a)[0]))
#define TN_STR_(x)                         #x
#define TN_STR(x)                          TN_STR_(x)
#define TN_UNUSED(x)                       ((void)(x))
#define TN_MIN(a, b)                       ((a) < (b) ? (a) : (b))
#define TN_MAX(a, b)                       ((a) > (b) ? (a) : (b))
#define tn_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Allocation that aborts on failure: the daemon cannot do anything useful without memory, and
 * every call site would otherwise grow an untested error path. */
void *tn_xmalloc(size_t n);
void *tn_xcalloc(size_t nmemb, size_t size);
void *tn_xrealloc(void *p, size_t n);
char *tn_xstrdup(const char *s);
char *tn_xstrndup(const char *s, size_t n);
/* printf into a new heap string. */
/* A random (version 4) UUID, lower-case text: silence and ack ids. */
void tn_uuid_v4(char out[37]);
char *tn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer with a hard cap. Appending past the cap fails with TN_ERR_LIMIT and
 * leaves the buffer as it was. cap 0 means no cap (internal use only). */
typedef struct tn_strlist {
    char **v;
    size_t n;
} tn_strlist_t;

/* A small ordered string map (config maps as written, receiver data in the notification
 * log); looked up by linear scan. */
typedef struct tn_strmap {
    char **keys;
    char **values;
    size_t n;
} tn_strmap_t;

/* The value of key, or NULL. */
const char *tn_strmap_get(const tn_strmap_t *m, const char *key);
/* Sets key to a copy of value, replacing an earlier value; order of first setting is kept. */
void tn_strmap_set(tn_strmap_t *m, const char *key, const char *value);
void tn_strmap_copy(tn_strmap_t *dst, const tn_strmap_t *src);
void tn_strmap_free(tn_strmap_t *m);

typedef struct tn_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
} tn_buf_t;

void tn_buf_init(tn_buf_t *b, size_t cap);
void tn_buf_free(tn_buf_t *b);
void tn_buf_reset(tn_buf_t *b);
int tn_buf_append(tn_buf_t *b, const void *data, size_t len);
/* Makes room for extra more bytes (and the NUL of tn_buf_cstr) without changing len, for
 * writers that fill data + len directly; fails with TN_ERR_LIMIT past the cap. */
int tn_buf_reserve(tn_buf_t *b, size_t extra);
/* For a writer that knows its worst case: where to write up to need bytes, the buffer's tail
 * or, near its cap, a heap block (*tmp); tn_buf_write_end then takes what was written up to
 * end (appending the block, which enforces the cap: TN_OK or TN_ERR_LIMIT). */
char *tn_buf_write_begin(tn_buf_t *b, size_t need, char **tmp);
int tn_buf_write_end(tn_buf_t *b, const char *end, char *tmp);
int tn_buf_puts(tn_buf_t *b, const char *s);
int tn_buf_putc(tn_buf_t *b, char c);
int tn_buf_printf(tn_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns a NUL-terminated view (data[len] == 0) without changing len. */
const char *tn_buf_cstr(tn_buf_t *b);

#endif
