/* Tokens for http_config's oauth2 (the client-credentials grant of prometheus/common): fetched
 * through the outbound client and cached until they expire, shared by every integration with
 * the same token URL, client and scopes. Loop thread only. */
#ifndef TOCSIN_OAUTH2_H
#define TOCSIN_OAUTH2_H

#include "tocsin/config.h"
#include "tocsin/outbound.h"

/* At most this many cached tokens; the least recently used idle one goes first. */
#define TN_OAUTH2_MAX_TOKENS 256

/* err is NULL when a token is cached now, else why the fetch failed. */
typedef void (*tn_oauth2_ready_fn)(void *ud, const char *err);
typedef struct tn_oauth2_wait tn_oauth2_wait_t;

/* With a fresh token for o cached, adds "Authorization: <type> <token>" to req and returns 1.
 * Otherwise starts (or joins) a fetch through ob, within timeout_ms, and returns 0 with *wait
 * set: ready runs once on the loop, unless tn_oauth2_cancel(*wait) comes first. Returns -1
 * with err written when the token request cannot even start (a bad token_url). */
int tn_oauth2_authorize(tn_outbound_t *ob, const tn_oauth2_config_t *o, tn_out_request_t *req,
                        uint64_t timeout_ms, tn_oauth2_ready_fn ready, void *ud,
                        tn_oauth2_wait_t **wait, char *err, size_t errlen);
void tn_oauth2_cancel(tn_oauth2_wait_t *w);

/* Cached tokens and fetches in flight, for tests. */
size_t tn_oauth2_cached(void);
/* Drops every token; fetches in flight are cancelled and their waiters told. At exit. */
void tn_oauth2_shutdown(void);

#endif
