/* JSON output helpers. */
#ifndef TOCSIN_JSON_H
#define TOCSIN_JSON_H

#include "tocsin/common.h"

/* Appends s[0..len) as a quoted JSON string the way Go's encoding/json does: <, > and & as
 * \u003c..., U+2028/2029 escaped, invalid UTF-8 as \ufffd. Returns TN_OK or TN_ERR_LIMIT. */
int tn_json_go_string(tn_buf_t *out, const char *s, size_t len);

#endif
