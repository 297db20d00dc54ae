/* UTF-8 as Go reads it, in one place: decoding, validity, encoding, and the range loop's
 * rule that an invalid byte is U+FFFD of width 1. */
#include "tocsin/utf8.h"

size_t tn_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

bool tn_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = tn_utf8_decode(p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

void tn_utf8_put(tn_buf_t *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    tn_buf_append(b, u, n);
}

uint32_t tn_utf8_rune(const char *s, size_t len, size_t *width)
{
    uint32_t cp = 0;
    size_t n = tn_utf8_decode((const unsigned char *)s, len, &cp);
    if (n == 0) {
        *width = 1;
        return 0xfffd;
    }
    *width = n;
    return cp;
}

size_t tn_utf8_count(const char *s, size_t len)
{
    size_t k = 0;
    for (size_t i = 0, w; i < len; i += w, k++)
        tn_utf8_rune(s + i, len - i, &w);
    return k;
}
