/* Basic authentication for the listener: bcrypt hashes checked with the system's crypt library
 * (libxcrypt: $2y$, $2b$, $2a$). Successful checks are cached (keyed by a SHA-256 of user,
 * password and stored hash), so bcrypt's cost is paid once per credential, and failures are
 * rate-limited per client address, so nobody can make the server burn CPU on bcrypt. */
#ifndef TOCSIN_AUTH_H
#define TOCSIN_AUTH_H

#include "tocsin/common.h"
#include "tocsin/webconfig.h"

typedef struct tn_auth tn_auth_t;

enum tn_auth_result {
    TN_AUTH_OK = 0,
    TN_AUTH_DENIED,  /* missing or wrong credentials: 401 */
    TN_AUTH_LIMITED, /* too many failures from this address, or too many checks queued: 429 */
    TN_AUTH_PENDING, /* bcrypt is running off the loop: the callback will tell */
};

/* Failures allowed per address: a burst of TN_AUTH_FAIL_BURST, then one per
 * TN_AUTH_FAIL_REFILL_MS. */
#define TN_AUTH_FAIL_BURST     10
#define TN_AUTH_FAIL_REFILL_MS 1000

/* bcrypt checks running on libuv's thread pool at once (the pool is shared with the store),
 * and checks waiting for them; beyond that a check is answered TN_AUTH_LIMITED. */
#define TN_AUTH_MAX_JOBS    2
#define TN_AUTH_MAX_WAITING 64

typedef struct uv_loop_s uv_loop_t;

/* loop: where bcrypt leaves the event loop (tn_auth_check_async); NULL runs it inline. */
tn_auth_t *tn_auth_new(uv_loop_t *loop);
/* Only once tn_auth_pending() is 0 (every callback has run). */
void tn_auth_free(tn_auth_t *a);
/* Checks an Authorization header value (may be NULL) from peer ("host:port"; the port is
 * ignored) against users. now_ms: a monotonic clock for the rate limit. */
enum tn_auth_result tn_auth_check(tn_auth_t *a, const tn_webconfig_user_t *users, size_t nusers,
                                  const char *authorization, const char *peer, uint64_t now_ms);
/* The same check with bcrypt on the thread pool: returns the result when it is known without
 * bcrypt (cache hit, refusal), else TN_AUTH_PENDING and later calls done(ud1, ud2, result) on
 * the loop, exactly once. users and authorization need not outlive the call. */
typedef void (*tn_auth_done_fn)(void *ud1, void *ud2, enum tn_auth_result r);
enum tn_auth_result tn_auth_check_async(tn_auth_t *a, const tn_webconfig_user_t *users,
                                        size_t nusers, const char *authorization, const char *peer,
                                        uint64_t now_ms, tn_auth_done_fn done, void *ud1,
                                        void *ud2);
size_t tn_auth_pending(const tn_auth_t *a);
/* True when hash is a bcrypt hash crypt can check ($2a$/$2b$/$2y$, cost 04-31, 60 chars). */
bool tn_auth_hash_valid(const char *hash);
/* Cached successes and tracked addresses (for tests and metrics). */
size_t tn_auth_cache_size(const tn_auth_t *a);
size_t tn_auth_tracked_addresses(const tn_auth_t *a);
/* Number of bcrypt computations run so far (tests: proves the cache works). */
uint64_t tn_auth_bcrypt_runs(const tn_auth_t *a);

#endif
