/* Inhibition (see include/tocsin/inhibit.h).
 *
 * Per rule, the alerts matching the source side live in a chained hash table keyed by a hash
 * of their values for the rule's `equal` labels (a missing label counts as ""). A check hashes
 * the target's equal values once per rule and walks one chain. Which rules are checked at all
 * comes from an index of each rule's first non-empty `=` matcher: a label set only reaches the
 * rules whose indexed (name, value) pair it carries, plus the rules without such a matcher.
 * The same index picks the rules whose source side an incoming alert may match. */
#include "tocsin/inhibit.h"

#include <stdlib.h>
#include <string.h>

typedef struct inh_src {
    struct inh_src *next;
    tn_alert_t *alert; /* referenced */
    uint64_t eqh, fp;
    tn_time_t ends_at; /* the alert's: a check reads no source alert */
    bool both; /* the source also matches the rule's target side: never inhibits a target that
                * matches both sides */
    const char *eqv[]; /* its values of the rule's equal labels (see inh_value) */
} inh_src_t;

typedef struct inh_rule {
    const tn_inhibit_rule_t *cfg;
    inh_src_t **chains; /* power-of-two count */
    size_t nchains, nsrc;
} inh_rule_t;

/* (name, value) -> rules whose matchers require label name == value. Keys are interned
 * strings, compared by pointer: label sets carry interned strings. */
typedef struct inh_key {
    const char *name, *value; /* referenced */
    size_t *rules;
    size_t nrules;
} inh_key_t;

typedef struct inh_index {
    inh_key_t *keys; /* open addressing, name == NULL is empty */
    size_t cap;
    size_t *always; /* rules without an indexable matcher, ascending */
    size_t nalways;
} inh_index_t;

struct tn_inhibitor {
    tn_alert_store_t *store;
    tn_config_t *cfg;
    inh_rule_t *rules;
    size_t nrules;
    inh_index_t by_target, by_source;
    size_t *cand; /* scratch, nrules + 1 */
};

static uint64_t inh_ptr_hash(const char *a, const char *b)
{
    uint64_t h = (uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)(uintptr_t)b + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    return h * 0xbf58476d1ce4e5b9ULL;
}

/* ---- rule index ---- */

static const tn_matcher_t *inh_indexable(const tn_matchers_t *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        if (ms->v[i].op == TN_MATCH_EQ && ms->v[i].value[0])
            return &ms->v[i];
    return NULL;
}

static inh_key_t *inh_index_slot(inh_index_t *ix, const char *name, const char *value)
{
    size_t mask = ix->cap - 1, i = inh_ptr_hash(name, value) & mask;

    while (ix->keys[i].name && (ix->keys[i].name != name || ix->keys[i].value != value))
        i = (i + 1) & mask;
    return &ix->keys[i];
}

static void inh_index_build(inh_index_t *ix, const inh_rule_t *rules, size_t nrules, bool target)
{
    memset(ix, 0, sizeof(*ix));
    ix->cap = 8;
    while (ix->cap < nrules * 2 + 2)
        ix->cap *= 2;
    ix->keys = tn_xcalloc(ix->cap, sizeof(*ix->keys));
    ix->always = tn_xcalloc(nrules + 1, sizeof(size_t));
    for (size_t r = 0; r < nrules; r++) {
        const tn_matcher_t *m =
            inh_indexable(target ? &rules[r].cfg->target : &rules[r].cfg->source);
        if (!m) {
            ix->always[ix->nalways++] = r;
            continue;
        }
        const char *name = tn_intern_cstr(m->name), *value = tn_intern_cstr(m->value);
        inh_key_t *k = inh_index_slot(ix, name, value);
        if (k->name) {
            tn_intern_unref(name);
            tn_intern_unref(value);
        } else {
            k->name = name;
            k->value = value;
        }
        k->rules = tn_xrealloc(k->rules, (k->nrules + 1) * sizeof(size_t));
        k->rules[k->nrules++] = r;
    }
}

static void inh_index_free(inh_index_t *ix)
{
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->keys[i].name)
            continue;
        tn_intern_unref(ix->keys[i].name);
        tn_intern_unref(ix->keys[i].value);
        free(ix->keys[i].rules);
    }
    free(ix->keys);
    free(ix->always);
    memset(ix, 0, sizeof(*ix));
}

static int inh_size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Writes the rules ls may match on the indexed side into out (ascending, config order) and
 * returns their count. */
static size_t inh_candidates(const inh_index_t *ix, tn_labels_t ls, size_t *out)
{
    size_t n = 0;
    bool sorted = true;

    memcpy(out, ix->always, ix->nalways * sizeof(size_t));
    n = ix->nalways;
    for (size_t i = 0; i < ls.n; i++) {
        size_t mask = ix->cap - 1;
        size_t j = inh_ptr_hash(ls.v[i].name, ls.v[i].value) & mask;
        while (ix->keys[j].name) {
            const inh_key_t *k = &ix->keys[j];
            if (k->name == ls.v[i].name && k->value == ls.v[i].value) {
                /* A rule appears once per key, and a label set has one value per name,
                 * so no rule is added twice. */
                for (size_t r = 0; r < k->nrules; r++) {
                    if (n > 0 && out[n - 1] > k->rules[r])
                        sorted = false;
                    out[n++] = k->rules[r];
                }
                break;
            }
            j = (j + 1) & mask;
        }
    }
    if (!sorted)
        qsort(out, n, sizeof(size_t), inh_size_cmp);
    return n;
}

/* ---- per-rule source tables ---- */

/* The value of label iname (interned, as rules' equal names are) in ls, or NULL when it is
 * missing or empty, which Alertmanager treats alike. Values are interned, so two of them are
 * equal exactly when the pointers are. */
static const char *inh_value(tn_labels_t ls, const char *iname)
{
    const char *v = NULL;
    if (ls.n <= 16) {
        for (size_t k = 0; k < ls.n; k++)
            if (ls.v[k].name == iname) {
                v = ls.v[k].value;
                break;
            }
    } else {
        v = tn_labels_get(ls, iname);
    }
    return v && *v ? v : NULL;
}

/* Writes ls's values of the rule's equal labels into out and returns their hash. */
static uint64_t inh_equal_values(const tn_inhibit_rule_t *r, tn_labels_t ls, const char **out)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < r->nequal; i++) {
        out[i] = inh_value(ls, r->equal[i]);
        h = (h ^ (uint64_t)(uintptr_t)out[i]) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

static void inh_rule_grow(inh_rule_t *r)
{
    size_t n = r->nchains * 2;
    inh_src_t **c = tn_xcalloc(n, sizeof(*c));

    for (size_t i = 0; i < r->nchains; i++) {
        inh_src_t *s = r->chains[i], *next;
        for (; s; s = next) {
            next = s->next;
            s->next = c[s->eqh & (n - 1)];
            c[s->eqh & (n - 1)] = s;
        }
    }
    free(r->chains);
    r->chains = c;
    r->nchains = n;
}

/* Adds or replaces the version of alert in rule r (its source side matches). */
static void inh_rule_put(inh_rule_t *r, tn_alert_t *alert)
{
    tn_labels_t ls = tn_alert_labels(alert);
    inh_src_t *s = tn_xcalloc(1, sizeof(*s) + r->cfg->nequal * sizeof(s->eqv[0]));
    uint64_t eqh = inh_equal_values(r->cfg, ls, s->eqv);
    inh_src_t **head = &r->chains[eqh & (r->nchains - 1)];

    for (inh_src_t *o = *head; o; o = o->next) {
        if (o->fp == alert->fp && tn_labels_equal(tn_alert_labels(o->alert), ls)) {
            /* same labels, so the same interned equal values */
            tn_alert_ref(alert);
            tn_alert_unref(o->alert);
            o->alert = alert;
            o->ends_at = alert->ends_at;
            free(s);
            return;
        }
    }
    s->alert = tn_alert_ref(alert);
    s->fp = alert->fp;
    s->ends_at = alert->ends_at;
    s->eqh = eqh;
    s->both = tn_matchers_match(&r->cfg->target, ls);
    s->next = *head;
    *head = s;
    if (++r->nsrc > r->nchains * 2)
        inh_rule_grow(r);
}

static void inh_rule_del(inh_rule_t *r, const tn_alert_t *alert)
{
    tn_labels_t ls = tn_alert_labels(alert);
    const char *small[16],
        **eqv = r->cfg->nequal <= 16 ? small : tn_xmalloc(r->cfg->nequal * sizeof(*eqv));
    uint64_t eqh = inh_equal_values(r->cfg, ls, eqv);
    if (eqv != small)
        free(eqv);

    for (inh_src_t **pp = &r->chains[eqh & (r->nchains - 1)]; *pp; pp = &(*pp)->next) {
        inh_src_t *s = *pp;
        if (s->fp == alert->fp && tn_labels_equal(tn_alert_labels(s->alert), ls)) {
            *pp = s->next;
            tn_alert_unref(s->alert);
            free(s);
            r->nsrc--;
            return;
        }
    }
}

static void inh_rules_free(tn_inhibitor_t *inh)
{
    for (size_t i = 0; i < inh->nrules; i++) {
        inh_rule_t *r = &inh->rules[i];
        for (size_t c = 0; c < r->nchains; c++) {
            inh_src_t *s = r->chains[c], *next;
            for (; s; s = next) {
                next = s->next;
                tn_alert_unref(s->alert);
                free(s);
            }
        }
        free(r->chains);
    }
    free(inh->rules);
    free(inh->cand);
    inh->rules = NULL;
    inh->cand = NULL;
    inh->nrules = 0;
    inh_index_free(&inh->by_target);
    inh_index_free(&inh->by_source);
}

/* ---- public ---- */

tn_inhibitor_t *tn_inhibitor_new(tn_alert_store_t *store)
{
    tn_inhibitor_t *inh = tn_xcalloc(1, sizeof(*inh));
    inh->store = store;
    return inh;
}

void tn_inhibitor_free(tn_inhibitor_t *inh)
{
    if (!inh)
        return;
    inh_rules_free(inh);
    if (inh->cfg)
        tn_config_unref(inh->cfg);
    free(inh);
}

static bool inh_load_one(void *ud, tn_alert_t *alert)
{
    tn_inhibitor_on_alert(ud, alert, NULL);
    return true;
}

void tn_inhibitor_set_config(tn_inhibitor_t *inh, const tn_config_t *cfg)
{
    tn_config_t *old = inh->cfg;

    inh_rules_free(inh);
    inh->cfg = cfg ? tn_config_ref((tn_config_t *)cfg) : NULL;
    if (old)
        tn_config_unref(old);
    if (!cfg || cfg->ninhibit_rules == 0)
        return;
    inh->nrules = cfg->ninhibit_rules;
    inh->rules = tn_xcalloc(inh->nrules, sizeof(*inh->rules));
    inh->cand = tn_xcalloc(inh->nrules + 1, sizeof(size_t));
    for (size_t i = 0; i < inh->nrules; i++) {
        inh->rules[i].cfg = &cfg->inhibit_rules[i];
        inh->rules[i].nchains = 16;
        inh->rules[i].chains = tn_xcalloc(16, sizeof(inh_src_t *));
    }
    inh_index_build(&inh->by_target, inh->rules, inh->nrules, true);
    inh_index_build(&inh->by_source, inh->rules, inh->nrules, false);
    if (inh->store)
        tn_alert_store_foreach(inh->store, inh_load_one, inh);
}

void tn_inhibitor_on_alert(void *ud, tn_alert_t *alert, tn_alert_t *old)
{
    tn_inhibitor_t *inh = ud;
    const tn_alert_t *a = alert ? alert : old;
    tn_labels_t ls;
    size_t n;

    if (!a || inh->nrules == 0)
        return;
    ls = tn_alert_labels(a);
    n = inh_candidates(&inh->by_source, ls, inh->cand);
    for (size_t i = 0; i < n; i++) {
        inh_rule_t *r = &inh->rules[inh->cand[i]];
        if (!tn_matchers_match(&r->cfg->source, ls))
            continue;
        if (alert)
            inh_rule_put(r, alert);
        else
            inh_rule_del(r, old);
    }
}

size_t tn_inhibitor_mutes(tn_inhibitor_t *inh, tn_labels_t ls, uint64_t fp, tn_time_t now,
                          uint64_t *by, size_t max)
{
    (void)fp;
    if (!inh || inh->nrules == 0)
        return 0;
    size_t n = inh_candidates(&inh->by_target, ls, inh->cand), found = 0;
    const char *small[16], **eqv = small;
    size_t neqv = TN_ARRAY_LEN(small);
    for (size_t i = 0; i < n && !found; i++) {
        inh_rule_t *r = &inh->rules[inh->cand[i]];
        bool both = false, checked_both = false;

        if (r->nsrc == 0 || !tn_matchers_match(&r->cfg->target, ls))
            continue;
        if (r->cfg->nequal > neqv) {
            if (eqv != small)
                free(eqv);
            neqv = r->cfg->nequal;
            eqv = tn_xmalloc(neqv * sizeof(*eqv));
        }
        uint64_t eqh = inh_equal_values(r->cfg, ls, eqv);
        for (inh_src_t *s = r->chains[eqh & (r->nchains - 1)]; s; s = s->next) {
            if (s->eqh != eqh || (s->ends_at != 0 && s->ends_at <= now))
                continue;
            if (s->both) {
                /* A target that matches the source side too is not inhibited by sources that
                 * match both sides (itself among them). */
                if (!checked_both) {
                    both = tn_matchers_match(&r->cfg->source, ls);
                    checked_both = true;
                }
                if (both)
                    continue;
            }
            if (r->cfg->nequal && memcmp(s->eqv, eqv, r->cfg->nequal * sizeof(*eqv)) != 0)
                continue;
            /* Alertmanager reports the first inhibiting source only. */
            if (max > 0)
                by[0] = s->fp;
            found = 1;
            break;
        }
    }
    if (eqv != small)
        free(eqv);
    return found;
}
