/* Checked allocation and the capped byte buffer. */
#include "tocsin/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "tocsin: out of memory allocating %zu bytes\n", n);
    abort();
}

void *tn_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *tn_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *tn_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *tn_xstrdup(const char *s)
{
    return tn_xstrndup(s, strlen(s));
}

char *tn_xstrndup(const char *s, size_t n)
{
    char *p = tn_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *tn_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    char *p = tn_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

const char *tn_strmap_get(const tn_strmap_t *m, const char *key)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->values[i];
    return NULL;
}

void tn_strmap_set(tn_strmap_t *m, const char *key, const char *value)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) {
            free(m->values[i]);
            m->values[i] = tn_xstrdup(value);
            return;
        }
    m->keys = tn_xrealloc(m->keys, (m->n + 1) * sizeof(*m->keys));
    m->values = tn_xrealloc(m->values, (m->n + 1) * sizeof(*m->values));
    m->keys[m->n] = tn_xstrdup(key);
    m->values[m->n] = tn_xstrdup(value);
    m->n++;
}

void tn_strmap_copy(tn_strmap_t *dst, const tn_strmap_t *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; src && i < src->n; i++)
        tn_strmap_set(dst, src->keys[i], src->values[i]);
}

void tn_strmap_free(tn_strmap_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof(*m));
}

void tn_buf_init(tn_buf_t *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void tn_buf_free(tn_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void tn_buf_reset(tn_buf_t *b)
{
    b->len = 0;
}

int tn_buf_reserve(tn_buf_t *b, size_t extra)
{
    if (b->cap && (extra > b->cap || b->len > b->cap - extra))
        return TN_ERR_LIMIT;
    size_t need = b->len + extra + 1; /* room for the NUL of tn_buf_cstr */
    if (need <= b->alloc)
        return TN_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    b->data = tn_xrealloc(b->data, n);
    b->alloc = n;
    return TN_OK;
}

char *tn_buf_write_begin(tn_buf_t *b, size_t need, char **tmp)
{
    *tmp = NULL;
    if (tn_buf_reserve(b, need) == TN_OK)
        return b->data + b->len;
    return *tmp = tn_xmalloc(need);
}

int tn_buf_write_end(tn_buf_t *b, const char *end, char *tmp)
{
    if (!tmp) {
        b->len = (size_t)(end - b->data);
        return TN_OK;
    }
    int rc = tn_buf_append(b, tmp, (size_t)(end - tmp));
    free(tmp);
    return rc;
}

int tn_buf_append(tn_buf_t *b, const void *data, size_t len)
{
    int rc = tn_buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return TN_OK;
}

int tn_buf_puts(tn_buf_t *b, const char *s)
{
    return tn_buf_append(b, s, strlen(s));
}

int tn_buf_putc(tn_buf_t *b, char c)
{
    /* The common case inline: room for c and the NUL, and under the cap. */
    if (b->len + 2 <= b->alloc && (!b->cap || b->len < b->cap)) {
        b->data[b->len++] = c;
        return TN_OK;
    }
    return tn_buf_append(b, &c, 1);
}

int tn_buf_printf(tn_buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return TN_ERR_INVAL;
    if ((size_t)n < sizeof(small))
        return tn_buf_append(b, small, (size_t)n);
    int rc = tn_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TN_OK;
}

const char *tn_buf_cstr(tn_buf_t *b)
{
    if (!b->data) {
        b->data = tn_xmalloc(64);
        b->alloc = 64;
    }
    b->data[b->len] = 0;
    return b->data;
}

/* A random (version 4) UUID in lower-case text. */
void tn_uuid_v4(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof(b)) {
        /* No kernel randomness: mix the clock in, ids stay unique in practice. */
        static uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
        for (size_t i = 0; i < sizeof(b); i++) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            x ^= (uint64_t)ts.tv_nsec + ((uint64_t)ts.tv_sec << 30);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (uint8_t)x;
        }
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}
