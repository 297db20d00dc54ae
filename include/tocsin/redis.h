/* An asynchronous Redis client on the libuv loop.
 *
 * hiredis supplies the protocol (its reply reader and command formatter); this module owns the
 * socket: name resolution on libuv's pool, a non-blocking connect with a timeout, AUTH and
 * SELECT, replies matched to commands in order, a timeout on the oldest command in flight, and
 * reconnection with backoff. Nothing here blocks the loop. One tn_redis_t is one connection; a
 * subscriber is a connection in pub/sub mode. With redis+sentinel:// the master's address is
 * asked of the sentinels in turn before every connect. */
#ifndef TOCSIN_REDIS_H
#define TOCSIN_REDIS_H

#include <uv.h>

#include "tocsin/common.h"

/* A parsed --cluster.redis-url. */
typedef struct tn_redis_url {
    bool tls;              /* rediss:// */
    bool sentinel;         /* redis+sentinel:// */
    char *user, *password; /* NULL when absent; "%xx" decoded */
    char **hosts;          /* one for redis://, the sentinels for redis+sentinel:// */
    int *ports;            /* default 6379, or 26379 for sentinels */
    size_t nhosts;
    char *master; /* the sentinel master name */
    int db;       /* default 0 */
} tn_redis_url_t;

/* redis://[user:pass@]host:port/db, rediss://..., redis+sentinel://[user:pass@]h:p,h:p/master/db.
 * An IPv6 host is written in brackets. Returns TN_OK, or TN_ERR_INVAL with the reason in err
 * (the URL's password never appears in it). */
int tn_redis_url_parse(const char *s, tn_redis_url_t *out, char *err, size_t errlen);
void tn_redis_url_free(tn_redis_url_t *u);

/* A reply, borrowed for the duration of the callback. */
enum tn_redis_type {
    TN_REDIS_NIL,
    TN_REDIS_STATUS, /* +OK */
    TN_REDIS_ERROR,  /* -ERR ... */
    TN_REDIS_INTEGER,
    TN_REDIS_STRING, /* bulk string */
    TN_REDIS_ARRAY,
};
typedef struct tn_redis_reply {
    enum tn_redis_type type;
    long long integer;
    const char *str; /* STATUS, ERROR, STRING: NUL-terminated, may hold NULs (len) */
    size_t len;
    struct tn_redis_reply **elements; /* ARRAY */
    size_t nelements;
} tn_redis_reply_t;

/* r == NULL: the command got no reply (connection lost, timed out, client closed, or never
 * sent because not connected); err says why. */
typedef void (*tn_redis_reply_fn)(void *ud, const tn_redis_reply_t *r, const char *err);
/* Connection state: up = true once connected, authenticated and on the right db (and, for a
 * subscriber, subscribed); false when lost (reconnecting is already scheduled). err says why. */
typedef void (*tn_redis_state_fn)(void *ud, bool up, const char *err);
/* A pub/sub message on a subscriber. */
typedef void (*tn_redis_message_fn)(void *ud, const char *channel, const char *msg, size_t len);

typedef struct tn_redis_opts {
    uint64_t connect_timeout_ms; /* name lookup + connect + handshake; default 2000 */
    uint64_t command_timeout_ms; /* oldest command in flight; default 2000 */
    uint64_t reconnect_min_ms;   /* backoff, doubling; defaults 100 and 5000 */
    uint64_t reconnect_max_ms;
    size_t max_pending_bytes; /* commands queued or in flight; beyond: refused; default 64 MiB */
    /* rediss:// (mbedtls): CA bundle (default: the system's), client certificate and key (both
     * or neither), the name checked against the server's certificate (default: the host), and
     * no check at all. Also used towards sentinels when the URL is TLS. */
    const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
    bool tls_insecure_skip_verify;
    /* Subscriber mode: these channels are subscribed after each connect, and messages go to
     * on_message. A subscriber takes no other commands. */
    const char *const *channels;
    size_t nchannels;
    tn_redis_message_fn on_message;
    tn_redis_state_fn on_state;
    void *ud;
} tn_redis_opts_t;

typedef struct tn_redis tn_redis_t;

/* Starts connecting at once (copies url and opts). */
tn_redis_t *tn_redis_new(uv_loop_t *loop, const tn_redis_url_t *url, const tn_redis_opts_t *opts);
/* Fails every command not yet answered (cb with r = NULL, err "closed"), closes the socket;
 * memory goes once libuv has closed its handles (run the loop afterwards). NULL is ignored. */
void tn_redis_free(tn_redis_t *c);
bool tn_redis_up(const tn_redis_t *c);
/* Sends a command (argv copied; lens NULL means NUL-terminated strings). Commands are sent in
 * call order and answered in that order. When not connected, or over max_pending_bytes, cb runs
 * at once with r = NULL; cb may be NULL. Returns TN_OK when queued. */
int tn_redis_command(tn_redis_t *c, tn_redis_reply_fn cb, void *ud, int argc, const char **argv,
                     const size_t *lens);
/* Address of the server connected to, "host:port" (for logs), or "". */
const char *tn_redis_addr(const tn_redis_t *c);

#endif
