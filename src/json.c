/* JSON strings as Go's encoding/json writes them, shared by the API and the receivers so that
 * tocsin's output matches Alertmanager's byte for byte. */
#include "tocsin/json.h"

#include "tocsin/labels.h"

int tn_json_go_string(tn_buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int rc = tn_buf_putc(out, '"');
    size_t i = 0, start = 0;
    while (rc == TN_OK && i < len) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[7];
        size_t n = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            switch (c) {
            case '"':
                esc = "\\\"";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\b':
                esc = "\\b";
                break;
            case '\f':
                esc = "\\f";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\t':
                esc = "\\t";
                break;
            default: /* other controls and the HTML-sensitive <, >, & */
                ubuf[0] = '\\';
                ubuf[1] = 'u';
                ubuf[2] = '0';
                ubuf[3] = '0';
                ubuf[4] = hex[c >> 4];
                ubuf[5] = hex[c & 0xf];
                ubuf[6] = 0;
                esc = ubuf;
            }
        } else {
            uint32_t cp = 0;
            n = tn_utf8_decode(p + i, len - i, &cp);
            if (n == 0) {
                esc = "\\ufffd";
                n = 1;
            } else if (cp == 0x2028) {
                esc = "\\u2028";
            } else if (cp == 0x2029) {
                esc = "\\u2029";
            } else {
                i += n;
                continue;
            }
        }
        rc = tn_buf_append(out, s + start, i - start);
        if (rc == TN_OK)
            rc = tn_buf_puts(out, esc);
        i += n;
        start = i;
    }
    if (rc == TN_OK)
        rc = tn_buf_append(out, s + start, len - start);
    if (rc == TN_OK)
        rc = tn_buf_putc(out, '"');
    return rc;
}
