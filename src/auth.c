/* Basic authentication: bcrypt via libxcrypt's crypt_rn, a cache of successes, and a per-address
 * token bucket for failures. */
#include "tocsin/auth.h"

#include <crypt.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define AUTH_CACHE_SLOTS 256
#define AUTH_ADDR_SLOTS  1024

struct auth_addr {
    char host[64];
    double tokens;
    uint64_t at_ms;
};

struct auth_job;

struct tn_auth {
    uv_loop_t *loop; /* NULL: bcrypt runs inline */
    struct crypt_data *cd;
    int running;
    struct auth_job *waiting, *waiting_tail;
    size_t nwaiting;
    unsigned char cache[AUTH_CACHE_SLOTS][32];
    bool used[AUTH_CACHE_SLOTS];
    size_t ncache, next_slot;
    struct auth_addr *addrs;
    size_t naddrs;
    uint64_t bcrypt_runs;
};

tn_auth_t *tn_auth_new(uv_loop_t *loop)
{
    tn_auth_t *a = tn_xcalloc(1, sizeof(*a));
    a->loop = loop;
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

/* A dummy hash for unknown users keeps the timing of a wrong user and a wrong password alike. */
static const char auth_dummy[] = "$2b$10$gnkihQE6H/UJWgnbzG9Hve2ZYUWRpMESOePuxLOY.AXZUaI.z2CAK";

static bool bcrypt_ok(struct crypt_data *cd, const char *pass, const char *hash)
{
    const char *out = crypt_rn(pass, hash ? hash : auth_dummy, cd, (int)sizeof(*cd));
    bool ok = out && hash && ct_equal(out, hash);
    explicit_bzero(cd->output, sizeof(cd->output));
    return ok;
}

/* What a check needs once bcrypt must run. */
struct auth_req {
    char dec[1024]; /* "user\0password" */
    const char *pass;
    size_t plen;
    const char *hash; /* NULL: unknown user */
    unsigned char digest[32];
    char host[64];
};

static void addr_refund(tn_auth_t *a, const char *host)
{
    for (size_t i = 0; i < a->naddrs; i++)
        if (strcmp(a->addrs[i].host, host) == 0) {
            a->addrs[i].tokens = TN_MIN(a->addrs[i].tokens + 1, (double)TN_AUTH_FAIL_BURST);
            return;
        }
}

/* Everything short of bcrypt: decoding, the cache, the failure budget (one token is taken and
 * given back on success). Returns a result, or -1 when bcrypt must decide. */
static int auth_front(tn_auth_t *a, const tn_webconfig_user_t *users, size_t nusers,
                      const char *authorization, const char *peer, uint64_t now_ms,
                      struct auth_req *q)
{
    size_t dlen = 0;
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return TN_AUTH_DENIED;
    const char *b64 = authorization + 6;
    while (*b64 == ' ')
        b64++;
    if (mbedtls_base64_decode((unsigned char *)q->dec, sizeof(q->dec) - 1, &dlen,
                              (const unsigned char *)b64, strlen(b64)) != 0)
        return TN_AUTH_DENIED;
    q->dec[dlen] = 0;
    char *colon = memchr(q->dec, ':', dlen);
    if (!colon)
        return TN_AUTH_DENIED;
    *colon = 0;
    const char *user = q->dec;
    q->pass = colon + 1;
    q->plen = dlen - (size_t)(colon + 1 - q->dec);
    if (memchr(q->pass, 0, q->plen)) /* crypt stops at NUL: "a\0b" must not pass as "a" */
        return TN_AUTH_DENIED;
    q->hash = NULL;
    for (size_t i = 0; i < nusers; i++)
        if (strcmp(users[i].name, user) == 0) {
            q->hash = users[i].hash;
            break;
        }
    if (q->hash) {
        cred_digest(user, q->pass, q->plen, q->hash, q->digest);
        if (cache_has(a, q->digest))
            return TN_AUTH_OK;
    }
    struct auth_addr *ad = addr_get(a, peer ? peer : "", now_ms);
    if (ad->tokens < 1)
        return TN_AUTH_LIMITED;
    ad->tokens -= 1;
    memcpy(q->host, ad->host, sizeof(q->host));
    a->bcrypt_runs++;
    return -1;
}

static void auth_back(tn_auth_t *a, struct auth_req *q, bool ok)
{
    if (ok) {
        cache_put(a, q->digest);
        addr_refund(a, q->host);
    }
    explicit_bzero(q->dec, sizeof(q->dec));
}

enum tn_auth_result tn_auth_check(tn_auth_t *a, const tn_webconfig_user_t *users, size_t nusers,
                                  const char *authorization, const char *peer, uint64_t now_ms)
{
    struct auth_req q;
    int r = auth_front(a, users, nusers, authorization, peer, now_ms, &q);
    if (r < 0) {
        bool ok = bcrypt_ok(a->cd, q.pass, q.hash);
        auth_back(a, &q, ok);
        r = ok ? TN_AUTH_OK : TN_AUTH_DENIED;
    }
    explicit_bzero(q.dec, sizeof(q.dec));
    return (enum tn_auth_result)r;
}

/* ---- bcrypt off the loop ---- */

struct auth_job {
    uv_work_t work;
    tn_auth_t *a;
    struct auth_job *next; /* waiting list */
    struct auth_req q;
    char *hash; /* copy: the config may be reloaded meanwhile */
    struct crypt_data *cd;
    bool ok;
    tn_auth_done_fn done;
    void *ud1, *ud2;
};

static void job_work(uv_work_t *w)
{
    struct auth_job *j = tn_container_of(w, struct auth_job, work);
    j->ok = bcrypt_ok(j->cd, j->q.pass, j->hash);
}

static void job_start(struct auth_job *j);

static void job_after(uv_work_t *w, int status)
{
    TN_UNUSED(status);
    struct auth_job *j = tn_container_of(w, struct auth_job, work);
    tn_auth_t *a = j->a;
    a->running--;
    auth_back(a, &j->q, j->ok);
    if (a->waiting && a->running < TN_AUTH_MAX_JOBS) {
        struct auth_job *n = a->waiting;
        a->waiting = n->next;
        if (!a->waiting)
            a->waiting_tail = NULL;
        a->nwaiting--;
        job_start(n);
    }
    tn_auth_done_fn done = j->done;
    void *ud1 = j->ud1, *ud2 = j->ud2;
    enum tn_auth_result r = j->ok ? TN_AUTH_OK : TN_AUTH_DENIED;
    free(j->hash);
    free(j->cd);
    free(j);
    done(ud1, ud2, r); /* last: it may free the owner of a */
}

static void job_start(struct auth_job *j)
{
    tn_auth_t *a = j->a;
    a->running++;
    if (uv_queue_work(a->loop, &j->work, job_work, job_after) != 0) { /* not with a live loop */
        job_work(&j->work);
        job_after(&j->work, 0);
    }
}

enum tn_auth_result tn_auth_check_async(tn_auth_t *a, const tn_webconfig_user_t *users,
                                        size_t nusers, const char *authorization, const char *peer,
                                        uint64_t now_ms, tn_auth_done_fn done, void *ud1, void *ud2)
{
    if (!a->loop)
        return tn_auth_check(a, users, nusers, authorization, peer, now_ms);
    struct auth_job *j = tn_xcalloc(1, sizeof(*j));
    int r = auth_front(a, users, nusers, authorization, peer, now_ms, &j->q);
    if (r >= 0 || a->nwaiting >= TN_AUTH_MAX_WAITING) {
        if (r < 0) { /* too many checks queued: give the token back, the client may retry */
            addr_refund(a, j->q.host);
            a->bcrypt_runs--;
            r = TN_AUTH_LIMITED;
        }
        explicit_bzero(j->q.dec, sizeof(j->q.dec));
        free(j);
        return (enum tn_auth_result)r;
    }
    /* q.pass points into q.dec, which moves with the job: nothing to fix up */
    j->a = a;
    j->hash = j->q.hash ? tn_xstrdup(j->q.hash) : NULL;
    j->q.hash = j->hash;
    j->cd = tn_xcalloc(1, sizeof(*j->cd));
    j->done = done;
    j->ud1 = ud1;
    j->ud2 = ud2;
    if (a->running < TN_AUTH_MAX_JOBS) {
        job_start(j);
    } else {
        if (a->waiting_tail)
            a->waiting_tail->next = j;
        else
            a->waiting = j;
        a->waiting_tail = j;
        a->nwaiting++;
    }
    return TN_AUTH_PENDING;
}

size_t tn_auth_pending(const tn_auth_t *a)
{
    return (size_t)a->running + a->nwaiting;
}
