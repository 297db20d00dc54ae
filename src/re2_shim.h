/* The few RE2 calls tocsin makes, as C. RE2 is the engine Alertmanager's Go regexps follow: it
 * matches in time linear in the subject whatever the pattern, so a hostile regex in a silence
 * or config cannot stall the loop. */
#ifndef TOCSIN_RE2_SHIM_H
#define TOCSIN_RE2_SHIM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_re2 tn_re2_t;

/* Compiles pattern (UTF-8, Go syntax) for whole-subject matching. NULL on error, with the
 * reason in err as Go words it ("error parsing regexp: missing closing ]: `[a-z)$`"). */
tn_re2_t *tn_re2_new(const char *pattern, size_t len, char *err, size_t errlen);
/* Whether the whole of s matches. */
bool tn_re2_full_match(const tn_re2_t *re, const char *s, size_t len);
void tn_re2_free(tn_re2_t *re);

#ifdef __cplusplus
}
#endif

#endif
