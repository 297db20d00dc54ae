/* Outbound HTTP(S) and SMTP through libcurl's multi interface, driven by the libuv loop
 * (one uv_poll_t per socket, one uv_timer_t), so no thread per request and connections are
 * reused. The core applies timeouts and http_config (auth, proxy, TLS); receivers fill in
 * method, URL, headers and body. */
#ifndef TOCSIN_OUTBOUND_H
#define TOCSIN_OUTBOUND_H

#include "tocsin/common.h"

typedef struct uv_loop_s uv_loop_t;
struct tn_http_config;

typedef struct tn_outbound tn_outbound_t;

typedef struct tn_out_header {
    char *name;
    char *value;
} tn_out_header_t;

typedef struct tn_out_request {
    char *method; /* "POST" by default */
    char *url;    /* secret: never logged except through tn_log_redact_url */
    tn_out_header_t *headers;
    size_t nheaders;
    tn_buf_t body;
    uint64_t timeout_ms; /* whole exchange; 0 = the outbound default */
    /* Response body bytes kept for classify (0 = 4096, enough for an error message; at most
     * 1 MiB): a receiver that reads a JSON reply asks for what the reply can take. */
    size_t max_response;
    const struct tn_http_config *http; /* borrowed; must outlive the request */
    /* SMTP (curl's smtp:// and smtps://): envelope; body is the whole message. */
    char *mail_from;
    char **mail_rcpt;
    size_t nmail_rcpt;
    char *mail_login_options; /* curl's login options, e.g. "AUTH=PLAIN;AUTH=LOGIN", or NULL */
    char *mail_authzid;       /* SASL authorisation identity (PLAIN), or NULL */
    bool mail_require_tls;    /* smtp://: STARTTLS or fail */
} tn_out_request_t;

typedef struct tn_out_response {
    int curl_code;     /* CURLcode; 0 = the exchange completed */
    long status;       /* HTTP status or SMTP final reply code; 0 if none */
    const char *error; /* curl's error text when curl_code != 0 */
    const char *body;  /* first max_response bytes of the response body, NUL-terminated */
    size_t body_len;
    const char *retry_after;  /* Retry-After header value, or NULL */
    const char *content_type; /* Content-Type of the response, or NULL */
    uint64_t elapsed_ms;
} tn_out_response_t;

void tn_out_request_init(tn_out_request_t *r);
void tn_out_request_free(tn_out_request_t *r);
/* Replaces the URL (copy). */
void tn_out_request_set_url(tn_out_request_t *r, const char *url);
/* Adds a header (copies). */
void tn_out_request_add_header(tn_out_request_t *r, const char *name, const char *value);

tn_outbound_t *tn_outbound_new(uv_loop_t *loop);
/* Aborts transfers still running (their callbacks run with curl_code = CURLE_ABORTED_BY_CALLBACK)
 * and closes handles; memory goes in the close callbacks. */
void tn_outbound_free(tn_outbound_t *ob);
size_t tn_outbound_active(tn_outbound_t *ob);

typedef void (*tn_out_done_fn)(void *ud, const tn_out_response_t *resp);
typedef struct tn_out_xfer tn_out_xfer_t;

/* Starts a transfer. The request is copied, so the caller may free it at once. done runs on
 * the loop exactly once unless tn_outbound_cancel() is called first. Returns NULL and writes
 * err on a setup error (bad URL, unreadable CA file); done is then never called. */
tn_out_xfer_t *tn_outbound_send(tn_outbound_t *ob, const tn_out_request_t *req, tn_out_done_fn done,
                                void *ud, char *err, size_t errlen);
/* Stops a transfer; its done callback is not called. */
void tn_outbound_cancel(tn_outbound_t *ob, tn_out_xfer_t *x);

#endif
