/* Basic auth: bcrypt checks, the success cache, the per-address failure limit. */
#include "tn_test.h"

#include <crypt.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tocsin/auth.h"

/* A fresh bcrypt hash of pw (cost 4: fast) from libcrypt itself. */
static char *make_hash(const char *pw)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h = crypt_rn(pw, salt, cd, (int)sizeof(*cd));
    assert_non_null(h);
    char *out = strdup(h);
    free(cd);
    return out;
}

static char *basic(const char *user, const char *pass, size_t plen)
{
    char raw[256];
    size_t ul = strlen(user);
    memcpy(raw, user, ul);
    raw[ul] = ':';
    memcpy(raw + ul + 1, pass, plen);
    static char out[512];
    memcpy(out, "Basic ", 6);
    size_t olen = 0;
    assert_int_equal(mbedtls_base64_encode((unsigned char *)out + 6, sizeof(out) - 6, &olen,
                                           (unsigned char *)raw, ul + 1 + plen),
                     0);
    return out;
}

static tn_webconfig_user_t users[2];

static int setup(void **state)
{
    (void)state;
    users[0].name = "alice";
    users[0].hash = make_hash("wonderland");
    users[1].name = "bob";
    users[1].hash = make_hash("builder");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(users[0].hash);
    free(users[1].hash);
    return 0;
}

static void test_hash_valid(void **state)
{
    (void)state;
    assert_true(tn_auth_hash_valid(users[0].hash));
    assert_true(tn_auth_hash_valid("$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"));
    assert_true(tn_auth_hash_valid("$2a$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"));
    assert_false(
        tn_auth_hash_valid("$2x$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"));
    assert_false(
        tn_auth_hash_valid("$2y$03$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"));
    assert_false(tn_auth_hash_valid("$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPz"));
    assert_false(
        tn_auth_hash_valid("$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJP!e"));
    assert_false(tn_auth_hash_valid("$6$salt$hash"));
    assert_false(tn_auth_hash_valid(NULL));
}

static void test_check_and_cache(void **state)
{
    (void)state;
    tn_auth_t *a = tn_auth_new(NULL);
    const char *peer = "127.0.0.1:5000";
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland", 10), peer, 1000),
                     TN_AUTH_OK);
    assert_int_equal(tn_auth_bcrypt_runs(a), 1);
    assert_int_equal(tn_auth_cache_size(a), 1);
    /* cached: no second bcrypt */
    for (int i = 0; i < 5; i++)
        assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland", 10), peer, 1000),
                         TN_AUTH_OK);
    assert_int_equal(tn_auth_bcrypt_runs(a), 1);
    assert_int_equal(tn_auth_check(a, users, 2, basic("bob", "builder", 7), peer, 1000),
                     TN_AUTH_OK);
    assert_int_equal(tn_auth_bcrypt_runs(a), 2);
    /* wrong password, other user's password, unknown user, missing or malformed header */
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderlan", 9), peer, 1000),
                     TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "builder", 7), peer, 1000),
                     TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, basic("carol", "wonderland", 10), peer, 1000),
                     TN_AUTH_DENIED);
    assert_int_equal(tn_auth_bcrypt_runs(a), 5); /* unknown users cost a bcrypt too */
    assert_int_equal(tn_auth_check(a, users, 2, NULL, peer, 1000), TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, "Bearer x", peer, 1000), TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, "Basic !!!", peer, 1000), TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, "Basic YWxpY2U=", peer, 1000), TN_AUTH_DENIED);
    /* a NUL inside the password must not match its prefix */
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland\0x", 12), peer, 1000),
                     TN_AUTH_DENIED);
    /* lower-case scheme is fine */
    char *h = basic("alice", "wonderland", 10);
    memcpy(h, "basic", 5);
    assert_int_equal(tn_auth_check(a, users, 2, h, peer, 1000), TN_AUTH_OK);
    /* the cache is keyed by the stored hash too: a changed hash is checked afresh */
    tn_webconfig_user_t changed = {"alice", make_hash("other")};
    assert_int_equal(tn_auth_check(a, &changed, 1, basic("alice", "wonderland", 10), peer, 1000),
                     TN_AUTH_DENIED);
    free(changed.hash);
    tn_auth_free(a);
}

static void test_failure_rate_limit(void **state)
{
    (void)state;
    tn_auth_t *a = tn_auth_new(NULL);
    const char *peer = "10.0.0.1:1234";
    uint64_t t = 5000;
    for (int i = 0; i < TN_AUTH_FAIL_BURST; i++)
        assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "x", 1), peer, t),
                         TN_AUTH_DENIED);
    uint64_t runs = tn_auth_bcrypt_runs(a);
    /* over the limit: refused without running bcrypt, even with the right password */
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "x", 1), "10.0.0.1:999", t),
                     TN_AUTH_LIMITED);
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland", 10), peer, t),
                     TN_AUTH_LIMITED);
    assert_int_equal(tn_auth_bcrypt_runs(a), runs);
    /* another address is not affected */
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland", 10), "10.0.0.2:1", t),
                     TN_AUTH_OK);
    /* cached good credentials pass even from the limited address */
    assert_int_equal(tn_auth_check(a, users, 2, basic("alice", "wonderland", 10), peer, t),
                     TN_AUTH_OK);
    /* one refill period later: one more try */
    t += TN_AUTH_FAIL_REFILL_MS;
    assert_int_equal(tn_auth_check(a, users, 2, basic("bob", "nope", 4), peer, t), TN_AUTH_DENIED);
    assert_int_equal(tn_auth_check(a, users, 2, basic("bob", "nope", 4), peer, t), TN_AUTH_LIMITED);
    /* IPv6 peers keyed by address without the port */
    for (int i = 0; i < TN_AUTH_FAIL_BURST; i++)
        tn_auth_check(a, users, 2, basic("bob", "nope", 4), "[::1]:1", t);
    assert_int_equal(tn_auth_check(a, users, 2, basic("bob", "nope", 4), "[::1]:2", t),
                     TN_AUTH_LIMITED);
    assert_int_equal(tn_auth_tracked_addresses(a), 3);
    tn_auth_free(a);
}

static void test_address_table_bounded(void **state)
{
    (void)state;
    tn_auth_t *a = tn_auth_new(NULL);
    char peer[64];
    /* malformed headers cost nothing and are not tracked; a failure is */
    for (int i = 0; i < 3000; i++) {
        snprintf(peer, sizeof(peer), "10.%d.%d.%d:1", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        tn_auth_check(a, users, 2, "Basic !!", peer, (uint64_t)i);
    }
    assert_int_equal(tn_auth_tracked_addresses(a), 0);
    tn_webconfig_user_t cheap = {"u", users[0].hash};
    for (int i = 0; i < 1100; i++) {
        snprintf(peer, sizeof(peer), "10.1.%d.%d:1", (i >> 8) & 255, i & 255);
        tn_auth_check(a, &cheap, 1, basic("u", "bad", 3), peer, (uint64_t)i);
    }
    assert_true(tn_auth_tracked_addresses(a) <= 1024);
    tn_auth_free(a);
}

struct async_result {
    int calls;
    enum tn_auth_result r;
};

static void on_done(void *ud1, void *ud2, enum tn_auth_result r)
{
    struct async_result *res = ud2;
    assert_ptr_equal(ud1, &users);
    res->calls++;
    res->r = r;
}

static void test_async(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tn_auth_t *a = tn_auth_new(&loop);
    enum { N = 4 + TN_AUTH_MAX_JOBS + TN_AUTH_MAX_WAITING };
    static struct async_result res[N];
    memset(res, 0, sizeof(res));
    int pending = 0, limited = 0;
    char peer[32];
    for (int i = 0; i < N; i++) {
        snprintf(peer, sizeof(peer), "10.9.0.%d:1", i);
        /* every fourth one is right; the header buffer is reused at once (copied inside) */
        char *h = i % 4 == 0 ? basic("alice", "wonderland", 10) : basic("alice", "nope", 4);
        enum tn_auth_result r =
            tn_auth_check_async(a, users, 2, h, peer, 1, on_done, &users, &res[i]);
        memset(h, 'x', 10);
        if (r == TN_AUTH_PENDING)
            pending++;
        else if (r == TN_AUTH_LIMITED)
            limited++;
        else
            fail_msg("check %d: immediate result %d", i, (int)r);
    }
    assert_int_equal(pending, TN_AUTH_MAX_JOBS + TN_AUTH_MAX_WAITING);
    assert_int_equal(limited, N - pending);
    assert_int_equal(tn_auth_pending(a), (size_t)pending);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(tn_auth_pending(a), 0);
    for (int i = 0; i < pending; i++) {
        assert_int_equal(res[i].calls, 1);
        assert_int_equal(res[i].r, i % 4 == 0 ? TN_AUTH_OK : TN_AUTH_DENIED);
    }
    for (int i = pending; i < N; i++)
        assert_int_equal(res[i].calls, 0);
    /* now cached: answered at once, no callback */
    struct async_result again = {0};
    assert_int_equal(tn_auth_check_async(a, users, 2, basic("alice", "wonderland", 10), "x:1", 1,
                                         on_done, &users, &again),
                     TN_AUTH_OK);
    assert_int_equal(again.calls, 0);
    assert_int_equal(tn_auth_check_async(a, users, 2, NULL, "x:1", 1, on_done, &users, &again),
                     TN_AUTH_DENIED);
    tn_auth_free(a);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_valid),
        cmocka_unit_test(test_check_and_cache),
        cmocka_unit_test(test_failure_rate_limit),
        cmocka_unit_test(test_address_table_bounded),
        cmocka_unit_test(test_async),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
