/* JSON strings as Go's encoding/json writes them, shared by the API and the receivers so that
 * tocsin's output matches Alertmanager's byte for byte. */
#include "tocsin/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/labels.h"

/* Bytes Go writes unchanged inside a string: ASCII from space to DEL but for ", \, <, > and &;
 * one bit each, for 0x00-0x3f and 0x40-0x7f. */
#define JSON_BIT(c) (UINT64_C(1) << ((c)&63))
static const uint64_t json_plain_lo =
    (~UINT64_C(0) << 32) & ~(JSON_BIT('"') | JSON_BIT('&') | JSON_BIT('<') | JSON_BIT('>'));
static const uint64_t json_plain_hi = ~JSON_BIT('\\');

static inline bool json_plain(unsigned char c)
{
    return c < 0x40 ? (json_plain_lo >> c) & 1 : c < 0x80 && ((json_plain_hi >> (c - 0x40)) & 1);
}

bool tn_json_plain(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!json_plain((unsigned char)s[i]))
            return false;
    return true;
}

static char *json_put(char *d, const char *s, size_t n)
{
    memcpy(d, s, n);
    return d + n;
}

char *tn_json_go_string_raw(char *d, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    *d++ = '"';
    while (i < len) {
        size_t j = i;
        while (j < len && json_plain(p[j]))
            j++;
        d = json_put(d, s + i, j - i);
        if (j == len)
            break;
        i = j;
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            *d++ = '\\';
            switch (c) {
            case '"':
            case '\\':
                *d++ = (char)c;
                break;
            case '\b':
                *d++ = 'b';
                break;
            case '\f':
                *d++ = 'f';
                break;
            case '\n':
                *d++ = 'n';
                break;
            case '\r':
                *d++ = 'r';
                break;
            case '\t':
                *d++ = 't';
                break;
            default: /* other controls and the HTML-sensitive <, >, & */
                d = json_put(d, "u00", 3);
                *d++ = hex[c >> 4];
                *d++ = hex[c & 0xf];
            }
            continue;
        }
        uint32_t cp = 0;
        size_t n = tn_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            d = json_put(d, "\\ufffd", 6);
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            d = json_put(d, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += n;
        } else {
            d = json_put(d, s + i, n);
            i += n;
        }
    }
    *d++ = '"';
    return d;
}

int tn_json_go_string(tn_buf_t *out, const char *s, size_t len)
{
    if (len > (SIZE_MAX - 2) / 6)
        return TN_ERR_LIMIT;
    char *tmp, *d = tn_buf_write_begin(out, TN_JSON_GO_STRING_MAX(len), &tmp);
    return tn_buf_write_end(out, tn_json_go_string_raw(d, s, len), tmp);
}
