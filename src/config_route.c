/* The route tree: matchers lists and the legacy match / match_re maps (also read by inhibit
 * rules), then each route's receiver, grouping, timing, time intervals, rate limit and route
 * labels, inherited from its parent as Alertmanager does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "tocsin/log.h"
#include "tocsin/timeinterval.h"

static bool cfg_classic_label_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

bool cfg_label_name_ok(const char *s)
{
    return tn_label_name_valid(s, strlen(s), tn_labels_mode() == TN_LABELS_CLASSIC);
}

int cfg_matchers_list(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_matchers_t *ms)
{
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_error(&x->y, n, "%s: expected a list of strings, got %s", key,
                             tn_yaml_kind(n));
    for (size_t i = 0; i < tn_yaml_seq_len(n); i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        char e[TN_ERRBUF_SIZE];
        int rc = cfg_want_scalar(x, it, key, "a string");
        if (rc != TN_OK)
            return rc;
        if (tn_matchers_parse(tn_yaml_scalar(it), ms, e, sizeof(e)) != TN_OK)
            return tn_yaml_error(&x->y, it, "%s: %s", key, e);
    }
    return TN_OK;
}

int cfg_match_map(cfg_ctx_t *x, tn_ynode_t *n, const char *key, bool re, tn_matchers_t *ms)
{
    tn_ypair_t *pairs = NULL;
    int np, rc = TN_OK;

    if (tn_yaml_is_null(n))
        return TN_OK;
    np = tn_yaml_mapping(&x->y, n, key, &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        char e[TN_ERRBUF_SIZE];
        if (!cfg_classic_label_name(k)) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "invalid label name \"%s\"", k);
            break;
        }
        if (re && tn_yaml_is_null(pairs[i].value)) {
            rc = tn_yaml_error(&x->y, pairs[i].key, "invalid regexp value for \"%s\"", k);
            break;
        }
        rc = cfg_want_scalar(x, pairs[i].value, k, "a string");
        if (rc != TN_OK)
            break;
        /* A legacy match_re value keeps its anchors in the matcher, as Alertmanager's does;
         * they show in route keys. */
        const char *raw = tn_yaml_scalar(pairs[i].value);
        char *val = re ? tn_xasprintf("^(?:%s)$", raw) : tn_xstrdup(raw);
        ms->v = tn_xrealloc(ms->v, (ms->n + 1) * sizeof(*ms->v));
        rc = tn_matcher_init(&ms->v[ms->n], re ? TN_MATCH_RE : TN_MATCH_EQ, k, val, e, sizeof(e));
        free(val);
        if (rc != TN_OK) {
            /* Go's error quotes the value anchored once: compile it alone for the message */
            tn_matcher_t probe;
            if (re && tn_matcher_init(&probe, TN_MATCH_RE, k, raw, e, sizeof(e)) == TN_OK)
                tn_matcher_free(&probe);
            rc = tn_yaml_error(&x->y, pairs[i].value, "%s: %s", key, e);
            break;
        }
        ms->n++;
    }
    free(pairs);
    return rc;
}

/* ---- routes ---- */

/* Label names and values the config shares with alerts (group_by, equal, route labels) are
 * plain copies until tn_config_intern, so that loading touches no global state and can run
 * off the loop. */
void cfg_name_free(const char *s, bool interned)
{
    if (interned)
        tn_intern_unref(s);
    else
        free((char *)s);
}

void cfg_route_free(tn_route_t *r, bool interned)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchildren; i++)
        cfg_route_free(r->children[i], interned);
    free(r->children);
    free(r->key);
    free(r->id);
    tn_matchers_free(&r->matchers);
    for (size_t i = 0; i < r->ngroup_by; i++)
        cfg_name_free(r->group_by[i], interned);
    free(r->group_by);
    cfg_strv_free(r->mute_time_intervals, r->nmute_time_intervals);
    cfg_strv_free(r->active_time_intervals, r->nactive_time_intervals);
    free(r->mute_tis);
    free(r->active_tis);
    for (size_t i = 0; i < r->nlabels; i++) {
        cfg_name_free(r->labels[i].name, interned);
        cfg_name_free(r->labels[i].value, interned);
    }
    free(r->labels);
    free(r->escalation);
    free(r);
}

/* A route's labels: this route's keys (v, NULL when it has none) over the parent's. */
static int cfg_route_labels(cfg_ctx_t *x, tn_ynode_t *v, tn_route_t *r, const tn_route_t *parent)
{
    tn_strmap_t m = {0};
    int rc = v ? cfg_read_strmap(x, v, "labels", &m) : TN_OK;
    for (size_t j = 0; rc == TN_OK && j < m.n; j++)
        if (!cfg_label_name_ok(m.keys[j]))
            rc = tn_yaml_error(&x->y, v, "invalid label name \"%s\" in route labels", m.keys[j]);
    if (rc == TN_OK) {
        size_t np = parent ? parent->nlabels : 0;
        r->labels = tn_xmalloc((np + m.n + 1) * sizeof(*r->labels));
        for (size_t j = 0; j < m.n; j++) {
            r->labels[r->nlabels].name = tn_xstrdup(m.keys[j]);
            r->labels[r->nlabels].value = tn_xstrdup(m.values[j]);
            r->nlabels++;
        }
        for (size_t j = 0; j < np; j++) {
            bool own = false;
            for (size_t k = 0; k < m.n && !own; k++)
                own = strcmp(m.keys[k], parent->labels[j].name) == 0;
            if (own)
                continue;
            r->labels[r->nlabels].name = tn_xstrdup(parent->labels[j].name);
            r->labels[r->nlabels].value = tn_xstrdup(parent->labels[j].value);
            r->nlabels++;
        }
        tn_labels_sort(r->labels, r->nlabels);
    }
    cfg_strmap_free(&m);
    return rc;
}

static int cfg_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cfg_route_group_by(cfg_ctx_t *x, tn_ynode_t *n, tn_route_t *r, bool *set)
{
    size_t len;
    bool all = false;
    tn_ynode_t *all_at = NULL;

    *set = false;
    if (tn_yaml_is_null(n))
        return TN_OK;
    if (!tn_yaml_is_seq(n))
        return tn_yaml_error(&x->y, n, "group_by: expected a list of strings, got %s",
                             tn_yaml_kind(n));
    len = tn_yaml_seq_len(n);
    r->group_by = tn_xcalloc(len + 1, sizeof(*r->group_by));
    for (size_t i = 0; i < len; i++) {
        tn_ynode_t *it = tn_yaml_seq_item(&x->y, n, i);
        const char *s;
        int rc = cfg_want_scalar(x, it, "group_by", "a string");
        if (rc != TN_OK)
            return rc;
        s = tn_yaml_scalar(it);
        if (strcmp(s, "...") == 0) {
            all = true;
            all_at = it;
            continue;
        }
        if (!cfg_label_name_ok(s))
            return tn_yaml_error(&x->y, it, "invalid label name \"%s\" in group_by list", s);
        for (size_t j = 0; j < r->ngroup_by; j++)
            if (strcmp(r->group_by[j], s) == 0)
                return tn_yaml_error(&x->y, it, "duplicated label \"%s\" in group_by", s);
        r->group_by[r->ngroup_by++] = tn_xstrdup(s);
    }
    if (all && r->ngroup_by > 0)
        return tn_yaml_error(&x->y, all_at,
                             "cannot have wildcard group_by (`...`) and other "
                             "labels at the same time");
    qsort(r->group_by, r->ngroup_by, sizeof(*r->group_by), cfg_str_cmp);
    if (all) {
        r->group_by_all = true;
        return TN_OK; /* only '...': the inherited list stays, as Alertmanager keeps it */
    }
    *set = true;
    return TN_OK;
}

/* Time intervals are parsed before routes, so names resolve to pointers here. */
static int cfg_route_intervals(cfg_ctx_t *x, tn_ynode_t *n, const char *key, tn_route_t *r,
                               char ***out, size_t *outn, const tn_time_interval_t ***tis)
{
    int rc;
    cfg_strv_free(*out, *outn);
    *out = NULL;
    *outn = 0;
    free(*tis);
    *tis = NULL;
    rc = cfg_read_strlist(x, n, key, out, outn);
    if (rc != TN_OK)
        return rc;
    *tis = tn_xcalloc(*outn + 1, sizeof(**tis));
    for (size_t i = 0; i < *outn; i++) {
        (*tis)[i] = cfg_time_interval_find(x->c, (*out)[i]);
        if (!(*tis)[i])
            return tn_yaml_error(&x->y, tn_yaml_seq_item(&x->y, n, i),
                                 "undefined time interval \"%s\" used in route %s", (*out)[i],
                                 r->id);
    }
    return TN_OK;
}

static char *cfg_matchers_str(const tn_matchers_t *ms)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_matchers_format(&b, ms);
    tn_buf_cstr(&b);
    return b.data;
}

/* A non-negative integer no larger than UINT32_MAX. */
static int cfg_parse_u32(cfg_ctx_t *x, tn_ynode_t *at, const char *key, uint32_t *out)
{
    const char *s = tn_yaml_scalar(at);
    char *end = NULL;
    int rc = cfg_want_scalar(x, at, key, "an integer");
    if (rc != TN_OK)
        return rc;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v > UINT32_MAX)
        return tn_yaml_error(&x->y, at, "%s: cannot parse \"%s\" as an integer from 0 to %u", key,
                             s, (unsigned)UINT32_MAX);
    *out = (uint32_t)v;
    return TN_OK;
}

/* rate_limit: {limit: N, period: D, burst: B, per: receiver|group} (tocsin extension). */
static int cfg_route_rate_limit(cfg_ctx_t *x, tn_ynode_t *v, tn_rate_limit_t *rl)
{
    tn_ypair_t *pairs = NULL;
    tn_ynode_t *limit_at = NULL, *period_at = NULL;
    tn_rate_limit_t n = {.per_group = false};
    bool burst_set = false;
    int np, rc = TN_OK;
    if (tn_yaml_is_null(v)) {
        *rl = (tn_rate_limit_t){0};
        return TN_OK;
    }
    np = tn_yaml_mapping(&x->y, v, "rate_limit", &pairs);
    if (np < 0)
        return np;
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        tn_ynode_t *pv = pairs[i].value;
        if (strcmp(k, "limit") == 0) {
            limit_at = pv;
            rc = cfg_parse_u32(x, pv, "rate_limit.limit", &n.limit);
        } else if (strcmp(k, "burst") == 0) {
            rc = cfg_parse_u32(x, pv, "rate_limit.burst", &n.burst);
            burst_set = true;
            if (rc == TN_OK && n.burst == 0)
                rc = tn_yaml_error(&x->y, pv, "rate_limit.burst must be at least 1");
        } else if (strcmp(k, "period") == 0) {
            period_at = pv;
            rc = cfg_want_scalar(x, pv, "rate_limit.period", "a duration");
            if (rc == TN_OK)
                rc = cfg_parse_duration(x, pv, "rate_limit.period", tn_yaml_scalar(pv), &n.period);
            if (rc == TN_OK && n.period <= 0)
                rc = tn_yaml_error(&x->y, pv, "rate_limit.period must be positive");
        } else if (strcmp(k, "per") == 0) {
            rc = cfg_want_scalar(x, pv, "rate_limit.per", "receiver or group");
            if (rc == TN_OK && strcmp(tn_yaml_scalar(pv), "group") == 0)
                n.per_group = true;
            else if (rc == TN_OK && strcmp(tn_yaml_scalar(pv), "receiver") != 0)
                rc = tn_yaml_error(&x->y, pv,
                                   "rate_limit.per: expected \"receiver\" or \"group\", got \"%s\"",
                                   tn_yaml_scalar(pv));
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in rate_limit", k);
        }
    }
    if (rc == TN_OK && !limit_at)
        rc = tn_yaml_error(&x->y, v, "rate_limit: missing limit (0 turns an inherited limit off)");
    if (rc == TN_OK && n.limit > 0 && !period_at)
        rc = tn_yaml_error(&x->y, v, "rate_limit: missing period");
    if (rc == TN_OK && n.limit > 0 && n.period / n.limit == 0)
        rc = tn_yaml_error(&x->y, period_at, "rate_limit: period too short for this limit");
    if (rc == TN_OK && !burst_set)
        n.burst = n.limit;
    if (rc == TN_OK)
        *rl = n.limit ? n : (tn_rate_limit_t){0};
    free(pairs);
    return rc;
}

/* escalation: [{after: D, receiver: NAME}, ...] (tocsin extension); null or [] turns an
 * inherited escalation off. */
static int cfg_route_escalation(cfg_ctx_t *x, tn_ynode_t *v, tn_route_t *r)
{
    free(r->escalation);
    r->escalation = NULL;
    r->nescalation = 0;
    if (tn_yaml_is_null(v))
        return TN_OK;
    if (!tn_yaml_is_seq(v))
        return tn_yaml_list_error(&x->y, v, "escalation");
    size_t len = tn_yaml_seq_len(v);
    if (len > 32)
        return tn_yaml_error(&x->y, v, "escalation: at most 32 steps");
    r->escalation = tn_xcalloc(len + 1, sizeof(*r->escalation));
    for (size_t i = 0; i < len; i++) {
        tn_ynode_t *item = tn_yaml_seq_item(&x->y, v, i);
        tn_ypair_t *pairs = NULL;
        tn_escalation_step_t st = {0};
        bool have_after = false;
        int rc = TN_OK;
        if (!tn_yaml_is_map(item))
            return tn_yaml_error(&x->y, item,
                                 "escalation[%zu]: expected a mapping with after and "
                                 "receiver, got %s",
                                 i, tn_yaml_kind(item));
        int np = tn_yaml_map_pairs(&x->y, item, &pairs);
        if (np < 0)
            return np;
        for (int k = 0; k < np && rc == TN_OK; k++) {
            const char *key = tn_yaml_scalar(pairs[k].key);
            tn_ynode_t *pv = pairs[k].value;
            if (strcmp(key, "after") == 0) {
                rc = cfg_want_scalar(x, pv, "escalation.after", "a duration");
                if (rc == TN_OK)
                    rc = cfg_parse_duration(x, pv, "escalation.after", tn_yaml_scalar(pv),
                                            &st.after);
                if (rc == TN_OK && st.after <= 0)
                    rc = tn_yaml_error(&x->y, pv, "escalation[%zu].after must be positive", i);
                if (rc == TN_OK && r->nescalation &&
                    st.after <= r->escalation[r->nescalation - 1].after)
                    rc = tn_yaml_error(&x->y, pv,
                                       "escalation[%zu].after must be later than the step "
                                       "before it",
                                       i);
                have_after = true;
            } else if (strcmp(key, "receiver") == 0) {
                rc = cfg_want_scalar(x, pv, "escalation.receiver", "a string");
                if (rc == TN_OK) {
                    st.receiver = tn_config_receiver(x->c, tn_yaml_scalar(pv));
                    if (!st.receiver)
                        rc =
                            tn_yaml_error(&x->y, pv, "undefined receiver \"%s\" used in escalation",
                                          tn_yaml_scalar(pv));
                }
            } else {
                rc = tn_yaml_error(&x->y, pairs[k].key, "unknown field \"%s\" in escalation", key);
            }
        }
        if (rc == TN_OK && !have_after)
            rc = tn_yaml_error(&x->y, item, "escalation[%zu]: missing after", i);
        if (rc == TN_OK && !st.receiver)
            rc = tn_yaml_error(&x->y, item, "escalation[%zu]: missing receiver", i);
        free(pairs);
        if (rc != TN_OK)
            return rc;
        r->escalation[r->nescalation++] = st;
    }
    return TN_OK;
}

int cfg_route(cfg_ctx_t *x, tn_ynode_t *n, tn_route_t *parent, size_t sibling, int depth,
              tn_route_t **out)
{
    tn_ypair_t *pairs = NULL;
    tn_route_t *r = tn_xcalloc(1, sizeof(*r));
    tn_ynode_t *v, *routes = NULL, *labels = NULL;
    bool gb_set = false;
    int np, rc = TN_OK;

    *out = r;
    r->pos = cfg_pos(n);
    r->parent = parent;
    r->idx = x->route_counter++;
    if (depth > CFG_MAX_ROUTE_DEPTH)
        return tn_yaml_error(&x->y, n, "routes nested deeper than %d levels", CFG_MAX_ROUTE_DEPTH);
    if (!tn_yaml_is_map(n) && !tn_yaml_is_null(n))
        return tn_yaml_error(&x->y, n, "route: expected a mapping, got %s", tn_yaml_kind(n));
    np = tn_yaml_map_pairs(&x->y, n, &pairs);
    if (np < 0)
        return np;

    /* Inherited settings first; keys below override them. */
    if (parent) {
        r->receiver = parent->receiver;
        r->group_by_all = parent->group_by_all;
        r->group_wait = parent->group_wait;
        r->group_interval = parent->group_interval;
        r->repeat_interval = parent->repeat_interval;
        r->rate_limit = parent->rate_limit;
        r->group_limit = parent->group_limit;
        r->ack_notify = parent->ack_notify;
        if (parent->nescalation) {
            r->escalation = tn_xmalloc(parent->nescalation * sizeof(*r->escalation));
            memcpy(r->escalation, parent->escalation, parent->nescalation * sizeof(*r->escalation));
            r->nescalation = parent->nescalation;
        }
    } else {
        r->group_wait = 30 * TN_NS_PER_SEC;
        r->group_interval = 5 * 60 * TN_NS_PER_SEC;
        r->repeat_interval = 4 * 3600 * TN_NS_PER_SEC;
    }

    /* Matchers before anything that names the route in an error. */
    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        v = pairs[i].value;
        if (strcmp(k, "match") == 0)
            rc = cfg_match_map(x, v, k, false, &r->matchers);
        else if (strcmp(k, "match_re") == 0)
            rc = cfg_match_map(x, v, k, true, &r->matchers);
        else if (strcmp(k, "matchers") == 0)
            rc = cfg_matchers_list(x, v, k, &r->matchers);
    }
    if (rc != TN_OK)
        goto out;
    tn_matchers_sort(&r->matchers);
    {
        char *ms = cfg_matchers_str(&r->matchers);
        if (parent) {
            r->key = tn_xasprintf("%s/%s", parent->key, ms);
            r->id = tn_xasprintf("%s/%s/%zu", parent->id, ms, sibling);
        } else {
            r->key = tn_xstrdup(ms);
            r->id = tn_xstrdup(ms);
        }
        free(ms);
    }
    if (!parent && r->matchers.n > 0) {
        rc = tn_yaml_error(&x->y, n, "root route must not have any matchers");
        goto out;
    }

    for (int i = 0; i < np && rc == TN_OK; i++) {
        const char *k = tn_yaml_scalar(pairs[i].key);
        v = pairs[i].value;
        if (strcmp(k, "match") == 0 || strcmp(k, "match_re") == 0 || strcmp(k, "matchers") == 0) {
            continue;
        } else if (strcmp(k, "receiver") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a string");
            if (rc == TN_OK && tn_yaml_scalar(v)[0]) {
                r->receiver = tn_config_receiver(x->c, tn_yaml_scalar(v));
                if (!r->receiver)
                    rc = tn_yaml_error(&x->y, v, "undefined receiver \"%s\" used in route",
                                       tn_yaml_scalar(v));
            }
        } else if (strcmp(k, "group_by") == 0) {
            rc = cfg_route_group_by(x, v, r, &gb_set);
            if (gb_set)
                r->group_by_all = false;
        } else if (strcmp(k, "continue") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v), &r->cont);
            if (rc == TN_OK && r->cont && !parent)
                rc = tn_yaml_error(&x->y, pairs[i].key, "cannot have continue in root route");
        } else if (strcmp(k, "group_wait") == 0 || strcmp(k, "group_interval") == 0 ||
                   strcmp(k, "repeat_interval") == 0) {
            tn_duration_t *dst = k[0] == 'r'   ? &r->repeat_interval
                                 : k[6] == 'w' ? &r->group_wait
                                               : &r->group_interval;
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a duration");
            if (rc == TN_OK)
                rc = cfg_parse_duration(x, v, k, tn_yaml_scalar(v), dst);
            if (rc == TN_OK && *dst == 0 && k[0] != 'r' && k[6] == 'i')
                rc = tn_yaml_error(&x->y, v, "group_interval cannot be zero");
            if (rc == TN_OK && *dst == 0 && k[0] == 'r')
                rc = tn_yaml_error(&x->y, v, "repeat_interval cannot be zero");
        } else if (strcmp(k, "mute_time_intervals") == 0) {
            rc = cfg_route_intervals(x, v, k, r, &r->mute_time_intervals, &r->nmute_time_intervals,
                                     &r->mute_tis);
            if (rc == TN_OK && !parent && r->nmute_time_intervals)
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "root route must not have any mute time intervals");
        } else if (strcmp(k, "active_time_intervals") == 0) {
            rc = cfg_route_intervals(x, v, k, r, &r->active_time_intervals,
                                     &r->nactive_time_intervals, &r->active_tis);
            if (rc == TN_OK && !parent && r->nactive_time_intervals)
                rc = tn_yaml_error(&x->y, pairs[i].key,
                                   "root route must not have any active time intervals");
        } else if (strcmp(k, "labels") == 0) {
            labels = v;
        } else if (strcmp(k, "rate_limit") == 0) {
            rc = cfg_route_rate_limit(x, v, &r->rate_limit);
        } else if (strcmp(k, "group_limit") == 0) {
            if (!tn_yaml_is_null(v))
                rc = cfg_parse_u32(x, v, k, &r->group_limit);
        } else if (strcmp(k, "escalation") == 0) {
            rc = cfg_route_escalation(x, v, r);
        } else if (strcmp(k, "ack_notify") == 0) {
            if (tn_yaml_is_null(v))
                continue;
            rc = cfg_want_scalar(x, v, k, "a boolean");
            if (rc == TN_OK)
                rc = cfg_parse_bool(x, v, k, tn_yaml_scalar(v), tn_yaml_plain(v), &r->ack_notify);
        } else if (strcmp(k, "routes") == 0) {
            routes = v;
        } else {
            rc = tn_yaml_error(&x->y, pairs[i].key, "unknown field \"%s\" in route", k);
        }
    }
    if (rc == TN_OK)
        rc = cfg_route_labels(x, labels, r, parent);
    if (rc != TN_OK)
        goto out;
    if (!parent && !r->receiver) {
        rc = tn_yaml_error(&x->y, n, "root route must specify a default receiver");
        goto out;
    }
    if (!gb_set && parent) {
        r->ngroup_by = 0;
        free(r->group_by);
        r->group_by = tn_xcalloc(parent->ngroup_by + 1, sizeof(*r->group_by));
        for (size_t i = 0; i < parent->ngroup_by; i++)
            r->group_by[r->ngroup_by++] = tn_xstrdup(parent->group_by[i]);
    }
    if (r->repeat_interval < r->group_interval) {
        char ri[32], gi[32];
        tn_duration_format(r->repeat_interval, ri);
        tn_duration_format(r->group_interval, gi);
        tn_log(TN_LOG_WARN,
               "repeat_interval is less than group_interval. Notifications will not repeat "
               "until the next group_interval.",
               "repeat_interval", ri, "group_interval", gi, "route", r->key, NULL);
    }
    if (!tn_yaml_is_null(routes)) {
        size_t len;
        if (!tn_yaml_is_seq(routes)) {
            rc = tn_yaml_list_error(&x->y, routes, "routes");
            goto out;
        }
        len = tn_yaml_seq_len(routes);
        r->children = tn_xcalloc(len + 1, sizeof(*r->children));
        for (size_t i = 0; i < len && rc == TN_OK; i++) {
            rc = cfg_route(x, tn_yaml_seq_item(&x->y, routes, i), r, i, depth + 1, &r->children[i]);
            r->nchildren++;
        }
    }
out:
    free(pairs);
    return rc;
}
