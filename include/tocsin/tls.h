/* Server-side TLS with mbedtls, driven on buffered bytes so that the HTTP server can run it
 * over a libuv stream without blocking: ciphertext read from the socket goes in with
 * tn_tls_conn_in_space/_in_commit, ciphertext to send comes out of tn_tls_conn_out. A context
 * holds the certificates and settings and is shared, reference-counted, by the connections
 * that started with it, so a reload swaps it without touching open connections. */
#ifndef TOCSIN_TLS_H
#define TOCSIN_TLS_H

#include "tocsin/common.h"
#include "tocsin/webconfig.h"

typedef struct tn_tls_ctx tn_tls_ctx_t;
typedef struct tn_tls_conn tn_tls_conn_t;

/* True when this build of mbedtls speaks TLS 1.3 (Debian 12's 2.28 does not). */
bool tn_tls_has_tls13(void);

/* Reads the certificates and builds a context (refcount 1). NULL with a message in err. */
tn_tls_ctx_t *tn_tls_ctx_new(const tn_webconfig_tls_t *cfg, char *err, size_t errlen);
tn_tls_ctx_t *tn_tls_ctx_ref(tn_tls_ctx_t *ctx);
void tn_tls_ctx_unref(tn_tls_ctx_t *ctx);

/* A connection's TLS state; takes a reference on ctx. */
tn_tls_conn_t *tn_tls_conn_new(tn_tls_ctx_t *ctx);
void tn_tls_conn_free(tn_tls_conn_t *t);

/* Room for ciphertext from the socket: *len may be 0 when input is full (stop reading). */
void tn_tls_conn_in_space(tn_tls_conn_t *t, char **p, size_t *len);
void tn_tls_conn_in_commit(tn_tls_conn_t *t, size_t n);

/* Advances the handshake on the buffered input. Returns 1 when done, 0 when it needs more
 * input, or TN_ERR_IO with the reason in err (the connection should be closed once the alert
 * in tn_tls_conn_out is sent). */
int tn_tls_conn_handshake(tn_tls_conn_t *t, char *err, size_t errlen);
bool tn_tls_conn_ready(const tn_tls_conn_t *t);
/* True when the first input bytes are a plain HTTP request line rather than a TLS record
 * (a client speaking http:// to an https:// port). */
bool tn_tls_conn_plain_http(const tn_tls_conn_t *t);
/* Decrypts into buf. Returns bytes (> 0), 0 when more input is needed, or TN_ERR_IO when the
 * peer closed (close_notify) or the stream is broken. */
long tn_tls_conn_read(tn_tls_conn_t *t, char *buf, size_t len);
/* True when decrypted bytes or unread ciphertext are buffered. */
bool tn_tls_conn_pending(const tn_tls_conn_t *t);
/* Encrypts all of p into the output buffer. 0 or TN_ERR_IO. */
int tn_tls_conn_write(tn_tls_conn_t *t, const char *p, size_t len);
/* Queues a close_notify alert. */
void tn_tls_conn_close_notify(tn_tls_conn_t *t);
/* Ciphertext waiting to be sent; the caller copies or writes it, then calls _out_consume. */
const char *tn_tls_conn_out(tn_tls_conn_t *t, size_t *len);
void tn_tls_conn_out_consume(tn_tls_conn_t *t, size_t n);

#endif
