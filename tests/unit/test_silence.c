#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/labels.h"
#include "tocsin/metrics.h"
#include "tocsin/silence.h"

#define S TN_NS_PER_SEC

static void add_matcher(tn_silence_t *s, enum tn_match_op op, const char *name, const char *value)
{
    char err[TN_ERRBUF_SIZE];
    s->matchers.v = realloc(s->matchers.v, (s->matchers.n + 1) * sizeof(tn_matcher_t));
    assert_int_equal(
        tn_matcher_init(&s->matchers.v[s->matchers.n], op, name, value, err, sizeof(err)), TN_OK);
    s->matchers.n++;
}

static void sil_init(tn_silence_t *s, tn_time_t start, tn_time_t end)
{
    memset(s, 0, sizeof(*s));
    s->starts_at = start;
    s->ends_at = end;
    s->created_by = strdup("me");
    s->comment = strdup("c");
}

/* A label set from "name", "value", ... pairs (interned; free with labels_free). */
static tn_labels_t labels_of(tn_label_t *buf, size_t n, const char *const *kv)
{
    for (size_t i = 0; i < n; i++) {
        buf[i].name = tn_intern_cstr(kv[2 * i]);
        buf[i].value = tn_intern_cstr(kv[2 * i + 1]);
    }
    assert_int_equal(tn_labels_sort(buf, n), TN_OK);
    return (tn_labels_t){buf, n};
}

static void labels_free(tn_label_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(buf[i].name);
        tn_intern_unref(buf[i].value);
    }
}

typedef struct hook_log {
    int puts, dels;
    char last[37];
} hook_log_t;

static void hook(void *ud, const tn_silence_t *sil, bool deleted)
{
    hook_log_t *h = ud;
    if (deleted)
        h->dels++;
    else
        h->puts++;
    memcpy(h->last, sil->id, 37);
}

static void test_states_and_validation(void **state)
{
    (void)state;
    tn_silences_t *ss = tn_silences_new();
    char err[TN_ERRBUF_SIZE], id[37];
    tn_time_t now = 1000 * S;
    tn_silence_t in;

    /* No matchers. */
    sil_init(&in, now, now + 60 * S);
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "matcher"));
    /* Only matchers that match the empty string. */
    add_matcher(&in, TN_MATCH_EQ, "a", "");
    add_matcher(&in, TN_MATCH_RE, "b", ".*");
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "empty string"));
    add_matcher(&in, TN_MATCH_EQ, "alertname", "X");
    /* End before start; end in the past. */
    in.ends_at = now - 1;
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "start time must be before end time"));
    in.starts_at = now - 100 * S;
    in.ends_at = now - 10 * S;
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_INVAL);
    assert_non_null(strstr(err, "in the past"));
    /* Unknown id. */
    in.ends_at = now + 60 * S;
    memcpy(in.id, "00000000-0000-4000-8000-000000000000", 37);
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_NOTFOUND);
    in.id[0] = 0;

    /* A start in the past becomes now; the silence is active. */
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_OK);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    const tn_silence_t *got = tn_silences_get(ss, id);
    assert_non_null(got);
    assert_true(got->starts_at == now);
    assert_true(got->updated_at == now);
    assert_int_equal(tn_silence_state_at(got, now), TN_SILENCE_ACTIVE);
    assert_int_equal(tn_silence_state_at(got, now - 1), TN_SILENCE_PENDING);
    assert_int_equal(tn_silence_state_at(got, now + 60 * S), TN_SILENCE_EXPIRED);
    assert_string_equal(tn_silence_state_name(TN_SILENCE_PENDING), "pending");
    assert_string_equal(tn_silence_state_name(TN_SILENCE_EXPIRED), "expired");

    /* A pending one. */
    char id2[37];
    in.starts_at = now + 10 * S;
    assert_int_equal(tn_silences_set(ss, &in, now, id2, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_count(ss, TN_SILENCE_ACTIVE, now), 1);
    assert_int_equal(tn_silences_count(ss, TN_SILENCE_PENDING, now), 1);
    /* Expire both: pending gets start = end = now. */
    assert_int_equal(tn_silences_expire(ss, id2, now, err, sizeof(err)), TN_OK);
    got = tn_silences_get(ss, id2);
    assert_true(got->starts_at == now && got->ends_at == now);
    assert_int_equal(tn_silences_expire(ss, id, now + S, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_count(ss, TN_SILENCE_EXPIRED, now + S), 2);
    /* Expiring again is fine (idempotent), unknown is not found. */
    assert_int_equal(tn_silences_expire(ss, id, now + 2 * S, err, sizeof(err)), TN_OK);
    assert_true(tn_silences_get(ss, id)->ends_at == now + S);
    assert_int_equal(tn_silences_expire(ss, "nope", now, err, sizeof(err)), TN_ERR_NOTFOUND);
    tn_silence_clear(&in);
    tn_silences_free(ss);
}

static void test_update_rules(void **state)
{
    (void)state;
    tn_silences_t *ss = tn_silences_new();
    hook_log_t h = {0};
    tn_silences_set_hook(ss, hook, &h);
    char err[TN_ERRBUF_SIZE], id[37], id2[37];
    tn_time_t now = 1000 * S;
    tn_silence_t in;
    sil_init(&in, now, now + 3600 * S);
    add_matcher(&in, TN_MATCH_EQ, "alertname", "X");
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_OK);
    assert_int_equal(h.puts, 1);

    /* Active: changing endsAt and comment keeps the id. */
    memcpy(in.id, id, 37);
    in.ends_at = now + 7200 * S;
    free(in.comment);
    in.comment = strdup("longer");
    assert_int_equal(tn_silences_set(ss, &in, now + 5 * S, id2, err, sizeof(err)), TN_OK);
    assert_string_equal(id, id2);
    assert_string_equal(tn_silences_get(ss, id)->comment, "longer");
    assert_true(tn_silences_get(ss, id)->updated_at == now + 5 * S);
    assert_int_equal(tn_silences_total(ss), 1);
    assert_int_equal(h.puts, 2);

    /* Active: changing matchers expires the old one and creates a new one. */
    add_matcher(&in, TN_MATCH_NE, "env", "dev");
    assert_int_equal(tn_silences_set(ss, &in, now + 10 * S, id2, err, sizeof(err)), TN_OK);
    assert_string_not_equal(id, id2);
    assert_int_equal(tn_silences_total(ss), 2);
    assert_true(tn_silences_get(ss, id)->ends_at == now + 10 * S);
    assert_int_equal(tn_silence_state_at(tn_silences_get(ss, id), now + 10 * S),
                     TN_SILENCE_EXPIRED);
    assert_int_equal(tn_silences_get(ss, id2)->matchers.n, 2);
    assert_int_equal(h.puts, 4); /* expire + create */

    /* Active: changing the start also replaces. */
    char id3[37];
    memcpy(in.id, id2, 37);
    in.starts_at = now + 20 * S;
    assert_int_equal(tn_silences_set(ss, &in, now + 20 * S, id3, err, sizeof(err)), TN_OK);
    assert_string_not_equal(id2, id3);

    /* An expired one cannot be updated: a new one is created, the old stays as it was. */
    char id4[37];
    memcpy(in.id, id, 37);
    in.matchers.n = 1;
    tn_matcher_free(&in.matchers.v[1]);
    assert_int_equal(tn_silences_set(ss, &in, now + 30 * S, id4, err, sizeof(err)), TN_OK);
    assert_string_not_equal(id, id4);
    assert_true(tn_silences_get(ss, id)->ends_at == now + 10 * S);

    /* Pending: start may move while still in the future, id kept. */
    char p1[37], p2[37];
    in.id[0] = 0;
    in.starts_at = now + 1000 * S;
    assert_int_equal(tn_silences_set(ss, &in, now + 30 * S, p1, err, sizeof(err)), TN_OK);
    memcpy(in.id, p1, 37);
    in.starts_at = now + 2000 * S;
    assert_int_equal(tn_silences_set(ss, &in, now + 40 * S, p2, err, sizeof(err)), TN_OK);
    assert_string_equal(p1, p2);
    assert_true(tn_silences_get(ss, p1)->starts_at == now + 2000 * S);

    tn_silence_clear(&in);
    tn_silences_free(ss);
}

static void test_limits_and_gc(void **state)
{
    (void)state;
    tn_silences_t *ss = tn_silences_new();
    hook_log_t h = {0};
    tn_silences_set_hook(ss, hook, &h);
    tn_silences_set_limits(ss, 2, 0);
    tn_silences_set_retention(ss, 100 * S);
    char err[TN_ERRBUF_SIZE], id[37], a[37];
    tn_time_t now = 1000 * S;
    tn_silence_t in;
    sil_init(&in, now, now + 50 * S);
    add_matcher(&in, TN_MATCH_EQ, "alertname", "X");
    assert_int_equal(tn_silences_set(ss, &in, now, a, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_LIMIT);
    assert_string_equal(err, "exceeded maximum number of silences: 2 (limit: 2)");
    /* Expired ones count too, until GC removes them. */
    assert_int_equal(tn_silences_expire(ss, a, now, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_LIMIT);
    /* An in-place update needs no room. */
    memcpy(in.id, id, 37);
    assert_int_equal(tn_silences_set(ss, &in, now + S, id, err, sizeof(err)), TN_OK);
    in.id[0] = 0;
    assert_int_equal(tn_silences_gc(ss, now + 99 * S), 0);
    assert_int_equal(tn_silences_gc(ss, now + 100 * S), 1);
    assert_int_equal(h.dels, 1);
    assert_string_equal(h.last, a);
    assert_null(tn_silences_get(ss, a));
    in.ends_at = now + 200 * S;
    assert_int_equal(tn_silences_set(ss, &in, now + 100 * S, id, err, sizeof(err)), TN_OK);

    /* Size limit. */
    tn_silences_set_limits(ss, 0, 200);
    free(in.comment);
    in.comment = malloc(300);
    memset(in.comment, 'x', 299);
    in.comment[299] = 0;
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_ERR_LIMIT);
    assert_non_null(strstr(err, "silence exceeded maximum size"));
    assert_non_null(strstr(err, "(limit: 200 bytes)"));
    in.comment[10] = 0;
    assert_int_equal(tn_silences_set(ss, &in, now, id, err, sizeof(err)), TN_OK);
    tn_silence_clear(&in);
    tn_silences_free(ss);
}

static void test_mutes(void **state)
{
    (void)state;
    tn_silences_t *ss = tn_silences_new();
    char err[TN_ERRBUF_SIZE], id1[37], id2[37], id3[37];
    tn_time_t now = 1000 * S;
    tn_silence_t in;
    sil_init(&in, now, now + 50 * S);
    add_matcher(&in, TN_MATCH_EQ, "alertname", "A");
    add_matcher(&in, TN_MATCH_RE, "env", "prod|stage");
    assert_int_equal(tn_silences_set(ss, &in, now, id1, err, sizeof(err)), TN_OK);
    tn_silence_clear(&in);
    sil_init(&in, now, now + 50 * S);
    add_matcher(&in, TN_MATCH_RE, "alertname", "A|B"); /* not indexable: scanned */
    assert_int_equal(tn_silences_set(ss, &in, now, id2, err, sizeof(err)), TN_OK);
    tn_silence_clear(&in);
    sil_init(&in, now + 10 * S, now + 50 * S); /* pending at now */
    add_matcher(&in, TN_MATCH_EQ, "alertname", "A");
    assert_int_equal(tn_silences_set(ss, &in, now, id3, err, sizeof(err)), TN_OK);
    tn_silence_clear(&in);

    tn_label_t buf[2];
    const char *kv[] = {"alertname", "A", "env", "prod"};
    tn_labels_t ls = labels_of(buf, 2, kv);
    const tn_silence_t *out[4];
    size_t n = tn_silences_mutes(ss, ls, now, out, 4);
    assert_int_equal(n, 2);
    assert_true(strcmp(out[0]->id, out[1]->id) < 0);
    n = tn_silences_mutes(ss, ls, now + 20 * S, out, 4); /* the pending one is active now */
    assert_int_equal(n, 3);
    assert_int_equal(tn_silences_mutes(ss, ls, now + 20 * S, out, 1), 3); /* count beyond max */
    assert_int_equal(tn_silences_mutes(ss, ls, now + 50 * S, out, 4), 0); /* all expired */
    tn_silences_expire(ss, id2, now + S, err, sizeof(err));
    assert_int_equal(tn_silences_mutes(ss, ls, now + 2 * S, out, 4), 1);
    labels_free(buf, 2);

    const char *kv2[] = {"alertname", "A", "env", "dev"};
    ls = labels_of(buf, 2, kv2);
    assert_int_equal(tn_silences_mutes(ss, ls, now, out, 4), 0);
    labels_free(buf, 2);
    tn_silences_free(ss);
}

/* The index must answer exactly what a scan over every silence answers. */
static void test_index_vs_brute_force(void **state)
{
    (void)state;
    srand(42);
    tn_silences_t *ss = tn_silences_new();
    char err[TN_ERRBUF_SIZE], id[37];
    tn_time_t now = 100000 * S;
    static const char *names[] = {"alertname", "env", "team", "job"};
    static const char *values[] = {"a", "b", "c", "d", ""};
    enum { NSIL = 600, NALERTS = 300 };
    char ids[NSIL][37];
    for (int i = 0; i < NSIL; i++) {
        tn_silence_t in;
        tn_time_t start = now + (rand() % 3 - 1) * 100 * S;
        sil_init(&in, start, start + (1 + rand() % 300) * S);
        int nm = 1 + rand() % 3;
        for (int k = 0; k < nm; k++) {
            enum tn_match_op op = (enum tn_match_op)(rand() % 4);
            const char *v = values[rand() % 4];
            add_matcher(&in, op, names[rand() % 4], op >= TN_MATCH_RE ? "a|b" : v);
        }
        if (rand() % 2)
            add_matcher(&in, TN_MATCH_EQ, names[rand() % 4], values[rand() % 4]);
        int rc = tn_silences_set(ss, &in, now - 200 * S, id, err, sizeof(err));
        memcpy(ids[i], rc == TN_OK ? id : "", rc == TN_OK ? 37 : 1);
        if (rc == TN_OK && rand() % 5 == 0)
            tn_silences_expire(ss, id, now - 50 * S, err, sizeof(err));
        tn_silence_clear(&in);
    }
    for (int t = 0; t < 3; t++) {
        tn_time_t at = now + t * 120 * S;
        if (t == 2)
            tn_silences_gc(ss, at); /* drops expired ones from the index */
        for (int i = 0; i < NALERTS; i++) {
            tn_label_t buf[4];
            const char *kv[8];
            size_t n = 0;
            for (int k = 0; k < 4; k++) {
                const char *v = values[rand() % 5];
                if (!*v)
                    continue;
                kv[2 * n] = names[k];
                kv[2 * n + 1] = v;
                n++;
            }
            tn_labels_t ls = labels_of(buf, n, kv);
            const tn_silence_t *out[NSIL];
            size_t got = tn_silences_mutes(ss, ls, at, out, NSIL);
            size_t want = 0;
            for (int s = 0; s < NSIL; s++) {
                const tn_silence_t *sil = ids[s][0] ? tn_silences_get(ss, ids[s]) : NULL;
                if (sil && tn_silence_state_at(sil, at) == TN_SILENCE_ACTIVE &&
                    tn_matchers_match(&sil->matchers, ls)) {
                    bool found = false;
                    for (size_t k = 0; k < got; k++)
                        found = found || out[k] == sil;
                    assert_true(found);
                    want++;
                }
            }
            assert_int_equal(got, want);
            labels_free(buf, n);
        }
    }
    tn_silences_free(ss);
}

static void test_load_and_metrics(void **state)
{
    (void)state;
    tn_silences_t *ss = tn_silences_new();
    tn_silences_register_metrics(ss);
    char err[TN_ERRBUF_SIZE];
    tn_silence_t in;
    sil_init(&in, 10 * S, 20 * S); /* in the past: load takes it as it is */
    memcpy(in.id, "11111111-2222-4333-8444-555555555555", 37);
    add_matcher(&in, TN_MATCH_EQ, "a", "b");
    assert_int_equal(tn_silences_load(ss, &in, err, sizeof(err)), TN_OK);
    assert_int_equal(tn_silences_load(ss, &in, err, sizeof(err)), TN_OK); /* replaces */
    assert_int_equal(tn_silences_total(ss), 1);
    assert_true(tn_silences_get(ss, in.id)->ends_at == 20 * S);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_metrics_write(&b);
    assert_non_null(strstr(tn_buf_cstr(&b), "alertmanager_silences{state=\"expired\"} 1"));
    tn_buf_free(&b);
    tn_silence_clear(&in);
    tn_silences_free(ss);
    tn_metrics_free_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_and_validation), cmocka_unit_test(test_update_rules),
        cmocka_unit_test(test_limits_and_gc),         cmocka_unit_test(test_mutes),
        cmocka_unit_test(test_index_vs_brute_force),  cmocka_unit_test(test_load_and_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
