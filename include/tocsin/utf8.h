/* UTF-8 as Go reads it: decoding, validity, encoding, and the range loop's rule that an
 * invalid byte is U+FFFD of width 1. */
#ifndef TOCSIN_UTF8_H
#define TOCSIN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tocsin/common.h"

/* Decodes one UTF-8 sequence at s (len > 0 bytes available): returns its length and sets *cp,
 * or returns 0 for an invalid sequence (overlong, surrogate, truncated, > U+10FFFF). */
size_t tn_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
bool tn_utf8_valid(const char *s, size_t len);
/* Appends the UTF-8 encoding of cp (surrogates and values past U+10FFFF as U+FFFD). */
void tn_utf8_put(tn_buf_t *b, uint32_t cp);
/* One code point as Go's range loop reads it (len > 0): an invalid byte is U+FFFD, width 1. */
uint32_t tn_utf8_rune(const char *s, size_t len, size_t *width);
/* Code points in s[0..len), as Go's utf8.RuneCount counts them. */
size_t tn_utf8_count(const char *s, size_t len);

#endif
