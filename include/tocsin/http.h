/* The HTTP/1.1 server: libuv TCP + llhttp. A connection is a small state machine; a request is
 * handed to the handler whole (headers and body read, within limits), and answered with
 * tn_http_respond(), at once or later (the handler may finish asynchronously). Pipelined
 * requests are answered in order. TLS (mbedtls, src/tls.c) plugs in under the same connection:
 * see tn_http_server_set_tls(). */
#ifndef TOCSIN_HTTP_H
#define TOCSIN_HTTP_H

#include "tocsin/common.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct tn_http_server tn_http_server_t;
typedef struct tn_http_req tn_http_req_t;

typedef struct tn_http_limits {
    size_t max_body;                   /* bytes; beyond: 413. Default 64 MiB */
    size_t max_header;                 /* total header bytes; beyond: 431. Default 64 KiB */
    size_t max_conns;                  /* beyond: 503 and close. Default 4096 */
    uint64_t idle_timeout_ms;          /* keep-alive idle; default 120 s */
    uint64_t header_timeout_ms;        /* request line + headers; default 30 s */
    uint64_t body_timeout_ms;          /* whole body; default 60 s */
    uint64_t tls_handshake_timeout_ms; /* TLS handshake; default 10 s (0: header timeout) */
    /* Open connections one peer address may hold; beyond: 503. 0 (default): max_conns / 8,
     * at least 16. */
    size_t max_conns_per_addr;
    /* Slots for 127.0.0.1 and ::1 past either limit (local health checks), default 16, at most
     * 64: 2 s for the headers, and a newcomer takes the slot of the oldest one there that
     * has not sent a whole request. */
    size_t loopback_reserve;
    /* Response bytes buffered for all clients together (write queues and the answers being
     * produced, tn_http_req_charge); beyond, new requests get 503 except health checks.
     * Default 256 MiB; 0: no cap. */
    size_t max_response_bytes;
} tn_http_limits_t;

void tn_http_limits_default(tn_http_limits_t *l);

typedef void (*tn_http_handler_fn)(void *ud, tn_http_req_t *req);

/* Request accessors: valid until tn_http_respond() returns. */
const char *tn_http_req_method(const tn_http_req_t *r); /* "GET", "POST", ... */
const char *tn_http_req_path(const tn_http_req_t *r);   /* decoded path, no query */
const char *tn_http_req_query(const tn_http_req_t *r);  /* raw query after '?', or "" */
/* Header value by case-insensitive name, or NULL. */
const char *tn_http_req_header(const tn_http_req_t *r, const char *name);
const char *tn_http_req_body(const tn_http_req_t *r, size_t *len); /* NUL-terminated */
/* Peer address as text ("127.0.0.1:54321", "[::1]:5"), for logs and rate limits. */
const char *tn_http_req_peer(const tn_http_req_t *r);
/* Query parameter iteration: every value of `name`, URL-decoded, in order. Returns the count
 * and writes up to max pointers (valid as long as the request). */
size_t tn_http_req_query_values(tn_http_req_t *r, const char *name, const char **out, size_t max);

/* Whether a Content-Type value is application/json (any case, parameters allowed): writes
 * that must not come from a plain cross-site form ask for it. */
bool tn_http_is_json(const char *content_type);

/* Adds a response header for the next tn_http_respond() (copied). */
void tn_http_add_header(tn_http_req_t *r, const char *name, const char *value);
/* Sends the response (Content-Length set; HEAD requests get no body) and releases the
 * request. Exactly once per request. body is copied. */
void tn_http_respond(tn_http_req_t *r, int status, const char *content_type, const char *body,
                     size_t len);
/* The same, taking over body (from malloc, or NULL): a large answer is written from where it
 * is and freed once sent, not copied. */
void tn_http_respond_owned(tn_http_req_t *r, int status, const char *content_type, char *body,
                           size_t len);
/* A response in parts, for answers too large to build before sending: begin (headers; the
 * body is chunked, or for an HTTP/1.0 client runs to the close), any number of parts (each
 * handed over like tn_http_respond_owned's body), then end. complete false closes the
 * connection instead of ending the body, so the client sees the answer as cut. */
void tn_http_stream_begin(tn_http_req_t *r, int status, const char *content_type);
void tn_http_stream_part(tn_http_req_t *r, char *owned, size_t len);
void tn_http_stream_end(tn_http_req_t *r, bool complete);
/* Back-pressure for a streamed answer: when the connection's queue holds more than `low`
 * bytes, returns true and calls fn(ud) once it has drained to `low` or the connection has
 * gone (then tn_http_stream_dead is true and fn must end the stream); the producer makes its
 * next part only then. Returns false when the producer may go on at once (or the stream is
 * dead). A connection that reads nothing for the idle timeout is closed. */
typedef void (*tn_http_drain_fn)(void *ud);
bool tn_http_stream_wait(tn_http_req_t *r, size_t low, tn_http_drain_fn fn, void *ud);
bool tn_http_stream_dead(const tn_http_req_t *r);
/* Bytes of a streamed answer written but not yet taken by the client (0 once dead). */
size_t tn_http_stream_queued(const tn_http_req_t *r);
/* Counts `bytes` an answer holds while it is produced against max_response_bytes, until the
 * request is answered; false (nothing counted) when that would pass the cap. */
bool tn_http_req_charge(tn_http_req_t *r, size_t bytes);
/* JSON error body {"code":status,"message":msg}; message is JSON-escaped. */
void tn_http_respond_error(tn_http_req_t *r, int status, const char *msg);

/* Parses Alertmanager-style listen addresses: ":9093", "0.0.0.0:9093", "127.0.0.1:9093",
 * "[::1]:9093", "localhost:9093". Binds one listener (":port" listens on all IPv4 and IPv6
 * addresses). */
tn_http_server_t *tn_http_server_new(uv_loop_t *loop, const tn_http_limits_t *limits,
                                     tn_http_handler_fn handler, void *ud);
int tn_http_server_listen(tn_http_server_t *s, const char *address, char *err, size_t errlen);
/* Serves TLS: every new connection calls tls_for_conn(ud) for the context to use (it may
 * re-read certificates first) and keeps a reference to it. A NULL answer closes the connection.
 * Call before tn_http_server_listen. */
struct tn_tls_ctx;
typedef struct tn_tls_ctx *(*tn_http_tls_fn)(void *ud);
void tn_http_server_set_tls(tn_http_server_t *s, tn_http_tls_fn tls_for_conn, void *ud);
/* Port actually bound (for ":0" in tests). */
int tn_http_server_port(tn_http_server_t *s);
/* Stops accepting; open connections finish their current request then close. */
void tn_http_server_stop_accepting(tn_http_server_t *s);
size_t tn_http_server_connections(tn_http_server_t *s);
/* Response bytes held now: write queues plus charges (against max_response_bytes). */
size_t tn_http_server_buffered(const tn_http_server_t *s);
/* Closes everything; memory is freed in close callbacks (run the loop once more). */
void tn_http_server_free(tn_http_server_t *s);

#endif
