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
    TN_AUTH_LIMITED, /* too many failures from this address: 429 */
};

/* Failures allowed per address: a burst of TN_AUTH_FAIL_BURST, then one per
 * TN_AUTH_FAIL_REFILL_MS. */
#define TN_AUTH_FAIL_BURST     10
#define TN_AUTH_FAIL_REFILL_MS 1000

tn_auth_t *tn_auth_new(void);
void tn_auth_free(tn_auth_t *a);
/* Checks an Authorization header value (may be NULL) from peer ("host:port"; the port is
 * ignored) against users. now_ms: a monotonic clock for the rate limit. */
enum tn_auth_result tn_auth_check(tn_auth_t *a, const tn_webconfig_user_t *users, size_t nusers,
                                  const char *authorization, const char *peer, uint64_t now_ms);
/* True when hash is a bcrypt hash crypt can check ($2a$/$2b$/$2y$, cost 04-31, 60 chars). */
bool tn_auth_hash_valid(const char *hash);
/* Cached successes and tracked addresses (for tests and metrics). */
size_t tn_auth_cache_size(const tn_auth_t *a);
size_t tn_auth_tracked_addresses(const tn_auth_t *a);
/* Number of bcrypt computations run so far (tests: proves the cache works). */
uint64_t tn_auth_bcrypt_runs(const tn_auth_t *a);

#endif
