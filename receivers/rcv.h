/* Helpers shared by the receivers in this directory (not a public contract): the HTTP status
 * rule, per-send template rendering with a fallback, rune-safe truncation, secret files read
 * per send, Go-style JSON members, SHA-256, AWS SigV4. */
#ifndef TOCSIN_RECEIVERS_RCV_H
#define TOCSIN_RECEIVERS_RCV_H

#include "tocsin/receiver.h"
#include "tocsin/template.h"
#include "tocsin/yamltree.h"

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

/* A secret given inline or by a file that Alertmanager reads at every send (webhook URLs,
 * keys): the file's content when file is set, else a copy of value ("" when NULL). New string
 * in *out. */
int tn_rcv_secret(const char *value, const char *file, char **out, char *err, size_t errlen);

/* s escaped as Go's html/template escapes text (& < > " '). New string. */
char *tn_rcv_html_escape(const char *s);

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

/* A finite float as Go's encoding/json writes a float64: the shortest digits that read back,
 * in exponent form below 1e-6 and from 1e21. TN_ERR_INVAL for NaN and infinities. */
int tn_rcv_json_float(tn_buf_t *b, double d);
/* A YAML value (TN_F_YAML) as Go's encoder writes what yaml.v2 decoded: maps with their keys
 * sorted. A NaN or an infinity is Go's encoding error, written to err (TN_ERR_INVAL). */
int tn_rcv_json_yval(tn_buf_t *b, const tn_yval_t *v, char *err, size_t errlen);
/* Alertmanager's DeepCopyWithTemplate of a YAML value, written as JSON as it goes (the webhook
 * payload, Jira's fields): strings and map keys are rendered, and a rendered string that reads
 * as YAML of another kind (a number, a boolean, null, a list, a mapping; JSON among them) is
 * sent as that value; other scalars are sent as written. */
int tn_rcv_json_templated(tn_buf_t *b, tn_rcv_tmpl_t *t, const tn_yval_t *v, char *err,
                          size_t errlen);
/* Indices 0..n-1 ordered by keys[i] as Go sorts map keys (bytewise; equal keys in their
 * order). New array. */
size_t *tn_rcv_sorted_keys(char *const *keys, size_t n);

/* webhook.c: Alertmanager's webhook message, the notification's template data followed by
 * version, groupKey and truncatedAlerts (and a summary's tocsinSummary), ended by a newline as
 * Go's encoder ends it. The first max_alerts alerts (0: all) make the data; of those only the
 * first `listed` (0: all) are written in "alerts", status and common labels staying those of
 * the max_alerts (incident.io's size fallback). */
int tn_rcv_webhook_message(tn_buf_t *b, const tn_notification_t *n, const char *version,
                           uint64_t max_alerts, size_t listed);
/* n with only its first max_alerts alerts (0: all) and nfiring counted from them; *truncated
 * gets the number left out. */
tn_notification_t tn_rcv_first_alerts(const tn_notification_t *n, uint64_t max_alerts,
                                      uint64_t *truncated);

/* The headers every JSON POST of a receiver carries (Content-Type, User-Agent), and its
 * http_config. */
void tn_rcv_json_request(tn_out_request_t *req, const tn_http_config_t *http);

/* Applies a per-integration timeout (0 = the flush deadline only). */
void tn_rcv_set_timeout(tn_out_request_t *req, tn_duration_t timeout);

/* ---- AWS Signature Version 4 (sigv4.c) ---- */

typedef struct tn_rcv_aws_creds {
    const char *access_key, *secret_key;
    const char *session_token; /* temporary credentials' token, or NULL */
} tn_rcv_aws_creds_t;

/* Signs req for AWS (SigV4 in the Authorization header) at time now: adds X-Amz-Date, the
 * X-Amz-Security-Token of temporary credentials and Authorization. Signed: Host as curl sends
 * it for req->url, and every header req has but Authorization, User-Agent, Expect and
 * X-Amzn-Trace-Id. Add the request's headers and body first. */
int tn_rcv_sigv4_sign(tn_out_request_t *req, const tn_rcv_aws_creds_t *cr, const char *region,
                      const char *service, tn_time_t now, char *err, size_t errlen);
/* The derived signing key of a secret key for date (YYYYMMDD), region and service. */
void tn_rcv_sigv4_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char key[32]);

#endif
