/* Helpers shared by the receivers in this directory (not a public contract): the HTTP status
 * rule, per-send template rendering with a fallback, rune-safe truncation, secret files read
 * per send, Go-style JSON members, SHA-256. */
#ifndef TOCSIN_RECEIVERS_RCV_H
#define TOCSIN_RECEIVERS_RCV_H

#include "tocsin/receiver.h"
#include "tocsin/template.h"

/* Whether a config string is set (not NULL, not empty). */
static inline bool tn_receiver_set(const char *s)
{
    return s && s[0];
}
/* Reads a YAML 1.1 boolean (true/yes/on/y, false/no/off/n, any case), as a templated boolean
 * field's rendered text is read. */
int tn_receiver_parse_bool(const char *s, bool *out);

/* Shared helper for HTTP receivers: Alertmanager's retry rule for status codes (retry on 5xx
 * and 429 where the integration says so, fail on other 4xx). */
enum tn_send_result tn_receiver_classify_http(const tn_out_response_t *resp, bool retry_429,
                                              const char **reason, char *err, size_t errlen);

/* U+2026, what Alertmanager appends to a truncated text. */
#define TN_RCV_TRUNC_MARK "\xe2\x80\xa6"

/* One send's template context, as Alertmanager's TmplText: every config text is rendered
 * against the notification. A text that fails is logged (once per send) and yields "", or the
 * fallback text for the integration's main texts (title, summary, subject), so that a broken
 * template still pages with something useful. */
typedef struct tn_rcv_tmpl {
    const tn_notification_t *n;
    const char *integration;
    unsigned failures;
} tn_rcv_tmpl_t;

void tn_rcv_tmpl_init(tn_rcv_tmpl_t *t, const tn_notification_t *n, const char *integration);
/* Returns a new string (never NULL); "" for a NULL text or on failure. flags: TN_TMPL_HTML. */
char *tn_rcv_render(tn_rcv_tmpl_t *t, const char *text, unsigned flags);
/* Same, but a failure yields tn_rcv_fallback_text(). */
char *tn_rcv_render_main(tn_rcv_tmpl_t *t, const char *text, unsigned flags);
/* "[FIRING:2] v1 v2" / "[RESOLVED] v1 v2": status, count and group label values. New string. */
char *tn_rcv_fallback_text(const tn_notification_t *n);
/* The template set of the notification's config snapshot, or NULL. */
const tn_tmpl_t *tn_rcv_templates(const tn_notification_t *n);

/* "firing" when any alert of n fires, else "resolved" (Alertmanager's Alerts.Status()). */
bool tn_rcv_firing(const tn_notification_t *n);

/* Cuts the heap string *s to at most max runes (Alertmanager's TruncateInRunes: max-1 runes
 * and the marker), replacing *s. Returns true when it cut. */
bool tn_rcv_truncate_runes(char **s, size_t max);
/* Number of UTF-8 runes in s (invalid bytes count one each). */
size_t tn_rcv_runes(const char *s);

/* Reads a small secret file per send, trimmed of surrounding white space. New string in *out. */
int tn_rcv_read_file(const char *path, char **out, char *err, size_t errlen);

/* Lower-case hex SHA-256 of s. */
void tn_rcv_sha256_hex(const char *s, char out[65]);

/* JSON object members the way Go's encoder writes struct fields. *first tracks the comma. */
int tn_rcv_json_key(tn_buf_t *b, bool *first, const char *key);
int tn_rcv_json_str(tn_buf_t *b, bool *first, const char *key, const char *v);
/* Skipped when v is NULL or "" (omitempty). */
int tn_rcv_json_str_omit(tn_buf_t *b, bool *first, const char *key, const char *v);
/* Writes rendered text as Go writes a value that Alertmanager decoded from YAML: numbers,
 * booleans, null, lists and maps written as JSON are embedded as such, anything else is a
 * string. */
int tn_rcv_json_inline(tn_buf_t *b, const char *text);

/* Applies a per-integration timeout (0 = the flush deadline only). */
void tn_rcv_set_timeout(tn_out_request_t *req, tn_duration_t timeout);

#endif
