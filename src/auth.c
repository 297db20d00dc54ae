/* Basic authentication: bcrypt via libxcrypt's crypt_rn, a cache of successes, and a per-address
 * token bucket for failures. */
#include "tocsin/auth.h"

#include <crypt.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_CACHE_SLOTS 256
#define AUTH_ADDR_SLOTS  1024

struct auth_addr {
    char host[64];
    double tokens;
    uint64_t at_ms;
};

struct tn_auth {
    struct crypt_data *cd;
    unsigned char cache[AUTH_CACHE_SLOTS][32];
    bool used[AUTH_CACHE_SLOTS];
    size_t ncache, next_slot;
    struct auth_addr *addrs;
    size_t naddrs;
    uint64_t bcrypt_runs;
};

tn_auth_t *tn_auth_new(void)
{
    tn_auth_t *a = tn_xcalloc(1, sizeof(*a));
    a->cd = tn_xcalloc(1, sizeof(*a->cd));
    a->addrs = tn_xcalloc(AUTH_ADDR_SLOTS, sizeof(*a->addrs));
    return a;
}

void tn_auth_free(tn_auth_t *a)
{
    if (!a)
        return;
    explicit_bzero(a->cd, sizeof(*a->cd));
    free(a->cd);
    free(a->addrs);
    free(a);
}

size_t tn_auth_cache_size(const tn_auth_t *a)
{
    return a->ncache;
}

size_t tn_auth_tracked_addresses(const tn_auth_t *a)
{
    return a->naddrs;
}

uint64_t tn_auth_bcrypt_runs(const tn_auth_t *a)
{
    return a->bcrypt_runs;
}

bool tn_auth_hash_valid(const char *h)
{
    if (!h || strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
        return false;
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
        return false;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    for (const char *p = h + 7; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '/'))
            return false;
    return true;
}

static bool ct_equal(const char *x, const char *y)
{
    size_t lx = strlen(x), ly = strlen(y);
    unsigned char d = lx != ly;
    for (size_t i = 0; i < lx && i < ly; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static void cred_digest(const char *user, const char *pass, size_t plen, const char *hash,
                        unsigned char out[32])
{
    mbedtls_sha256_context s;
    mbedtls_sha256_init(&s);
    mbedtls_sha256_starts_ret(&s, 0);
    mbedtls_sha256_update_ret(&s, (const unsigned char *)user, strlen(user) + 1);
    mbedtls_sha256_update_ret(&s, (const unsigned char *)pass, plen);
    mbedtls_sha256_update_ret(&s, (const unsigned char *)"", 1);
    mbedtls_sha256_update_ret(&s, (const unsigned char *)hash, strlen(hash));
    mbedtls_sha256_finish_ret(&s, out);
    mbedtls_sha256_free(&s);
}

static bool cache_has(const tn_auth_t *a, const unsigned char d[32])
{
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        if (a->used[i] && memcmp(a->cache[i], d, 32) == 0)
            return true;
    return false;
}

static void cache_put(tn_auth_t *a, const unsigned char d[32])
{
    size_t i = a->next_slot;
    a->next_slot = (a->next_slot + 1) % AUTH_CACHE_SLOTS;
    if (!a->used[i])
        a->ncache++;
    a->used[i] = true;
    memcpy(a->cache[i], d, 32);
}

/* The address's bucket, refilled to now; a new one replaces the stalest when full. */
static struct auth_addr *addr_get(tn_auth_t *a, const char *peer, uint64_t now_ms)
{
    char host[64];
    size_t n = strlen(peer);
    const char *colon = strrchr(peer, ':');
    if (colon && (peer[0] != '[' || colon[-1] == ']'))
        n = (size_t)(colon - peer);
    if (n >= sizeof(host))
        n = sizeof(host) - 1;
    memcpy(host, peer, n);
    host[n] = 0;
    struct auth_addr *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < a->naddrs; i++) {
        struct auth_addr *e = &a->addrs[i];
        if (strcmp(e->host, host) == 0) {
            slot = e;
            break;
        }
        if (!oldest || e->at_ms < oldest->at_ms)
            oldest = e;
    }
    if (!slot) {
        slot = a->naddrs < AUTH_ADDR_SLOTS ? &a->addrs[a->naddrs++] : oldest;
        memcpy(slot->host, host, n + 1);
        slot->tokens = TN_AUTH_FAIL_BURST;
        slot->at_ms = now_ms;
    }
    if (now_ms > slot->at_ms) {
        slot->tokens += (double)(now_ms - slot->at_ms) / TN_AUTH_FAIL_REFILL_MS;
        if (slot->tokens > TN_AUTH_FAIL_BURST)
            slot->tokens = TN_AUTH_FAIL_BURST;
        slot->at_ms = now_ms;
    }
    return slot;
}

/* Runs bcrypt; a dummy hash for unknown users keeps the timing of a wrong user and a wrong
 * password alike. */
static bool bcrypt_ok(tn_auth_t *a, const char *pass, const char *hash)
{
    static const char dummy[] = "$2b$10$gnkihQE6H/UJWgnbzG9Hve2ZYUWRpMESOePuxLOY.AXZUaI.z2CAK";
    const char *h = hash ? hash : dummy;
    a->bcrypt_runs++;
    const char *out = crypt_rn(pass, h, a->cd, (int)sizeof(*a->cd));
    bool ok = out && hash && ct_equal(out, hash);
    explicit_bzero(a->cd->output, sizeof(a->cd->output));
    return ok;
}

enum tn_auth_result tn_auth_check(tn_auth_t *a, const tn_webconfig_user_t *users, size_t nusers,
                                  const char *authorization, const char *peer, uint64_t now_ms)
{
    enum tn_auth_result res = TN_AUTH_DENIED;
    unsigned char dec[1024];
    size_t dlen = 0;
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return TN_AUTH_DENIED;
    const char *b64 = authorization + 6;
    while (*b64 == ' ')
        b64++;
    if (mbedtls_base64_decode(dec, sizeof(dec) - 1, &dlen, (const unsigned char *)b64,
                              strlen(b64)) != 0)
        return TN_AUTH_DENIED;
    dec[dlen] = 0;
    char *colon = memchr(dec, ':', dlen);
    if (!colon)
        goto out;
    *colon = 0;
    const char *user = (const char *)dec;
    const char *pass = colon + 1;
    size_t plen = dlen - (size_t)(colon + 1 - (char *)dec);
    if (memchr(pass, 0, plen)) /* crypt stops at NUL: "a\0b" must not pass as "a" */
        goto out;
    const char *hash = NULL;
    for (size_t i = 0; i < nusers; i++)
        if (strcmp(users[i].name, user) == 0) {
            hash = users[i].hash;
            break;
        }
    unsigned char d[32];
    if (hash) {
        cred_digest(user, pass, plen, hash, d);
        if (cache_has(a, d)) {
            res = TN_AUTH_OK;
            goto out;
        }
    }
    struct auth_addr *ad = addr_get(a, peer ? peer : "", now_ms);
    if (ad->tokens < 1) {
        res = TN_AUTH_LIMITED;
        goto out;
    }
    if (bcrypt_ok(a, pass, hash)) {
        cache_put(a, d);
        res = TN_AUTH_OK;
    } else {
        ad->tokens -= 1;
    }
out:
    explicit_bzero(dec, sizeof(dec));
    return res;
}
