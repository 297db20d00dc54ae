/* RFC 3339 times as Go reads and writes them. */
#ifndef TOCSIN_TIMEFMT_H
#define TOCSIN_TIMEFMT_H

#include "tocsin/common.h"

/* Parses RFC 3339 with optional fraction (up to 9 digits) and Z or ±hh:mm offset.
 * Returns TN_OK or TN_ERR_INVAL. */
int tn_time_parse_rfc3339(const char *s, size_t len, tn_time_t *out);
/* Go's time.RFC3339Nano in UTC ("2006-01-02T15:04:05.999999999Z", trailing zeros dropped);
 * t == 0 prints Go's zero time "0001-01-01T00:00:00Z". out needs 40 bytes. */
void tn_time_format_rfc3339nano(tn_time_t t, char out[40]);
/* go-openapi strfmt.DateTime form with milliseconds: "2006-01-02T15:04:05.000Z". Returns the
 * length written. */
int tn_time_format_rfc3339milli(tn_time_t t, char out[40]);

#endif
