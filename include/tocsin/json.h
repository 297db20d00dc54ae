/* JSON output helpers. */
#ifndef TOCSIN_JSON_H
#define TOCSIN_JSON_H

#include "tocsin/common.h"

/* Appends s[0..len) as a quoted JSON string the way Go's encoding/json does: <, > and & as
 * \u003c..., U+2028/2029 escaped, invalid UTF-8 as \ufffd. Returns TN_OK or TN_ERR_LIMIT. */
int tn_json_go_string(tn_buf_t *out, const char *s, size_t len);

/* Whether every byte of s[0..len) is one Go writes inside a string as it is. */
bool tn_json_plain(const char *s, size_t len);

/* Room tn_json_go_string_raw may need for len bytes: each byte can become six, plus quotes. */
#define TN_JSON_GO_STRING_MAX(len) (6 * (len) + 2)
/* Writes the same quoted string at d, which has TN_JSON_GO_STRING_MAX(len) bytes of room;
 * returns the end. For writers that reserve once for a whole object. */
char *tn_json_go_string_raw(char *d, const char *s, size_t len);

#endif
