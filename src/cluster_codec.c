/* The records replicas share through Redis: silences, notification-log entries, alerts. */
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

/* Caps a decoder applies, so a foreign value cannot make it allocate without bound. */
#define REC_MAX_ITEMS 65536

void tn_rec_put_u64(tn_buf_t *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    tn_buf_append(b, x, 8);
}

static void put_u32(tn_buf_t *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    tn_buf_append(b, x, 4);
}

void tn_rec_put_str(tn_buf_t *b, const char *s, size_t len)
{
    put_u32(b, (uint32_t)len);
    if (len)
        tn_buf_append(b, s, len);
}

static void put_cstr(tn_buf_t *b, const char *s)
{
    tn_rec_put_str(b, s ? s : "", s ? strlen(s) : 0);
}

uint64_t tn_rec_get_u64(tn_rec_reader_t *r)
{
    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

static uint32_t get_u32(tn_rec_reader_t *r)
{
    if (r->bad || r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)(unsigned char)r->p[i] << (8 * i);
    r->p += 4;
    return v;
}

static int get_u8(tn_rec_reader_t *r)
{
    if (r->bad || r->end - r->p < 1) {
        r->bad = true;
        return -1;
    }
    return (unsigned char)*r->p++;
}

const char *tn_rec_get_str(tn_rec_reader_t *r, size_t *len)
{
    uint32_t n = get_u32(r);
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        *len = 0;
        return NULL;
    }
    const char *s = r->p;
    r->p += n;
    *len = n;
    return s;
}

/* A NUL-terminated copy; NULL on a short read or an embedded NUL. */
static char *get_dup(tn_rec_reader_t *r)
{
    size_t n;
    const char *s = tn_rec_get_str(r, &n);
    if (!s || memchr(s, 0, n)) {
        r->bad = true;
        return NULL;
    }
    char *d = tn_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static const char *get_interned(tn_rec_reader_t *r)
{
    size_t n;
    const char *s = tn_rec_get_str(r, &n);
    if (!s || memchr(s, 0, n)) {
        r->bad = true;
        return NULL;
    }
    return tn_intern(s, n);
}

/* ---- silences ---- */

void tn_rec_silence(tn_buf_t *b, const tn_silence_t *s)
{
    tn_buf_putc(b, TN_REC_SILENCE);
    put_cstr(b, s->id);
    tn_rec_put_u64(b, (uint64_t)s->starts_at);
    tn_rec_put_u64(b, (uint64_t)s->ends_at);
    tn_rec_put_u64(b, (uint64_t)s->updated_at);
    put_cstr(b, s->created_by);
    put_cstr(b, s->comment);
    put_u32(b, (uint32_t)s->matchers.n);
    for (size_t i = 0; i < s->matchers.n; i++) {
        tn_buf_putc(b, (char)s->matchers.v[i].op);
        put_cstr(b, s->matchers.v[i].name);
        put_cstr(b, s->matchers.v[i].value);
    }
}

/* A record's kind byte and its 36-character id (a UUID: no NUL inside). */
static int get_head(tn_rec_reader_t *r, int kind, char id[37])
{
    size_t n;
    if (get_u8(r) != kind)
        return TN_ERR_INVAL;
    const char *s = tn_rec_get_str(r, &n);
    if (!s || n != 36 || memchr(s, 0, 36))
        return TN_ERR_INVAL;
    memcpy(id, s, 36);
    id[36] = 0;
    return TN_OK;
}

void tn_rec_ack(tn_buf_t *b, const tn_ack_t *a)
{
    tn_buf_putc(b, TN_REC_ACK);
    put_cstr(b, a->id);
    put_cstr(b, a->by);
    put_cstr(b, a->comment);
    tn_rec_put_u64(b, (uint64_t)a->created_at);
    tn_rec_put_u64(b, (uint64_t)a->expires_at);
    put_u32(b, (uint32_t)a->ntargets);
    for (size_t i = 0; i < a->ntargets; i++) {
        tn_rec_put_u64(b, a->targets[i].fp);
        tn_rec_put_u64(b, (uint64_t)a->targets[i].starts_at);
    }
}

int tn_rec_ack_decode(const char *p, size_t len, tn_ack_t *out)
{
    memset(out, 0, sizeof(*out));
    tn_rec_reader_t r = {p, p + len, false};
    if (get_head(&r, TN_REC_ACK, out->id) != TN_OK)
        return TN_ERR_INVAL;
    out->by = get_dup(&r);
    out->comment = get_dup(&r);
    out->created_at = (tn_time_t)tn_rec_get_u64(&r);
    out->expires_at = (tn_time_t)tn_rec_get_u64(&r);
    uint32_t n = get_u32(&r);
    if (r.bad || n > TN_ACK_MAX_ALERTS || (size_t)(r.end - r.p) != (size_t)n * 16)
        goto bad;
    out->targets = tn_xmalloc((n ? n : 1) * sizeof(*out->targets));
    for (uint32_t i = 0; i < n; i++) {
        out->targets[i].fp = tn_rec_get_u64(&r);
        out->targets[i].starts_at = (tn_time_t)tn_rec_get_u64(&r);
    }
    out->ntargets = n;
    if (r.bad || r.p != r.end)
        goto bad;
    return TN_OK;
bad:
    tn_ack_clear(out);
    return TN_ERR_INVAL;
}

/* An optional string: a presence byte, then the string. */
static void put_opt(tn_buf_t *b, const char *s)
{
    tn_buf_putc(b, s ? 1 : 0);
    if (s)
        put_cstr(b, s);
}

void tn_rec_event(tn_buf_t *b, const tn_event_t *ev)
{
    tn_buf_putc(b, TN_REC_EVENT);
    tn_buf_putc(b, (char)ev->kind);
    tn_rec_put_u64(b, (uint64_t)ev->time);
    const char *strs[10] = {ev->group_key, ev->receiver,  ev->integration, ev->reason,
                            ev->outcome,   ev->error,     ev->by,          ev->comment,
                            ev->ref,       ev->extra_json};
    for (size_t i = 0; i < 10; i++)
        put_opt(b, strs[i]);
    tn_rec_put_u64(b, (uint64_t)(int64_t)ev->attempts);
    tn_rec_put_u64(b, (uint64_t)ev->latency_ms);
    tn_rec_put_u64(b, (uint64_t)(int64_t)ev->step);
    size_t n = ev->nalerts < TN_HISTORY_MAX_ALERTS ? ev->nalerts : TN_HISTORY_MAX_ALERTS;
    put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const tn_event_alert_t *a = &ev->alerts[i];
        tn_rec_put_u64(b, a->fingerprint);
        tn_buf_putc(b, a->resolved ? 1 : 0);
        put_u32(b, (uint32_t)a->labels.n);
        for (size_t k = 0; k < a->labels.n; k++) {
            put_cstr(b, a->labels.v[k].name);
            put_cstr(b, a->labels.v[k].value);
        }
    }
}

void tn_rec_event_clear(tn_rec_event_t *e)
{
    for (size_t i = 0; i < 10; i++)
        free(e->strs[i]);
    for (size_t i = 0; i < e->nlabels; i++) {
        free((char *)e->labels[i].name);
        free((char *)e->labels[i].value);
    }
    free(e->labels);
    free(e->alerts);
    memset(e, 0, sizeof(*e));
}

int tn_rec_event_decode(const char *p, size_t len, tn_rec_event_t *out)
{
    memset(out, 0, sizeof(*out));
    tn_rec_reader_t r = {p, p + len, false};
    if (get_u8(&r) != TN_REC_EVENT)
        return TN_ERR_INVAL;
    int kind = get_u8(&r);
    if (kind < 0 || kind >= TN_EV__COUNT)
        return TN_ERR_INVAL;
    out->ev.kind = (enum tn_event_kind)kind;
    out->ev.time = (tn_time_t)tn_rec_get_u64(&r);
    for (size_t i = 0; i < 10 && !r.bad; i++) {
        int has = get_u8(&r);
        if (has == 1)
            out->strs[i] = get_dup(&r);
        else if (has != 0)
            r.bad = true;
    }
    int64_t attempts = (int64_t)tn_rec_get_u64(&r);
    out->ev.latency_ms = (int64_t)tn_rec_get_u64(&r);
    int64_t step = (int64_t)tn_rec_get_u64(&r);
    if (attempts < INT32_MIN || attempts > INT32_MAX || step < INT32_MIN || step > INT32_MAX)
        r.bad = true;
    out->ev.attempts = (int)attempts;
    out->ev.step = (int)step;
    uint32_t n = get_u32(&r);
    if (r.bad || n > TN_HISTORY_MAX_ALERTS)
        goto bad;
    out->alerts = tn_xcalloc(n ? n : 1, sizeof(*out->alerts));
    size_t cap = 0;
    size_t *starts = tn_xmalloc((n ? n : 1) * sizeof(*starts));
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        out->alerts[i].fingerprint = tn_rec_get_u64(&r);
        int resolved = get_u8(&r);
        if (resolved != 0 && resolved != 1)
            r.bad = true;
        out->alerts[i].resolved = resolved == 1;
        uint32_t nl = get_u32(&r);
        if (r.bad || nl > TN_ALERT_MAX_PAIRS || out->nlabels + nl > REC_MAX_ITEMS) {
            r.bad = true;
            break;
        }
        starts[i] = out->nlabels;
        if (out->nlabels + nl > cap) {
            cap = (out->nlabels + nl) * 2;
            out->labels = tn_xrealloc(out->labels, cap * sizeof(*out->labels));
        }
        for (uint32_t k = 0; k < nl && !r.bad; k++) {
            char *name = get_dup(&r), *value = name ? get_dup(&r) : NULL;
            if (!value) {
                free(name);
                r.bad = true;
                break;
            }
            out->labels[out->nlabels++] = (tn_label_t){name, value};
        }
        out->alerts[i].labels.n = nl;
    }
    if (r.bad || r.p != r.end) {
        free(starts);
        goto bad;
    }
    /* Label arrays point into one array that may have moved while it grew. */
    for (uint32_t i = 0; i < n && out->labels; i++)
        out->alerts[i].labels.v = out->labels + starts[i];
    free(starts);
    out->ev.nalerts = n;
    out->ev.alerts = out->alerts;
    const char **dst[10] = {&out->ev.group_key, &out->ev.receiver, &out->ev.integration,
                            &out->ev.reason,    &out->ev.outcome,  &out->ev.error,
                            &out->ev.by,        &out->ev.comment,  &out->ev.ref,
                            &out->ev.extra_json};
    for (size_t i = 0; i < 10; i++)
        *dst[i] = out->strs[i];
    return TN_OK;
bad:
    tn_rec_event_clear(out);
    return TN_ERR_INVAL;
}

int tn_rec_silence_decode(const char *p, size_t len, tn_silence_t *out)
{
    memset(out, 0, sizeof(*out));
    tn_rec_reader_t r = {p, p + len, false};
    if (get_head(&r, TN_REC_SILENCE, out->id) != TN_OK)
        return TN_ERR_INVAL;
    out->starts_at = (tn_time_t)tn_rec_get_u64(&r);
    out->ends_at = (tn_time_t)tn_rec_get_u64(&r);
    out->updated_at = (tn_time_t)tn_rec_get_u64(&r);
    out->created_by = get_dup(&r);
    out->comment = get_dup(&r);
    uint32_t n = get_u32(&r);
    if (r.bad || n == 0 || n > REC_MAX_ITEMS)
        goto bad;
    out->matchers.v = tn_xcalloc(n, sizeof(tn_matcher_t));
    for (uint32_t i = 0; i < n; i++) {
        int op = get_u8(&r);
        char *name = get_dup(&r);
        char *value = get_dup(&r);
        char err[TN_ERRBUF_SIZE];
        bool ok = !r.bad && op >= TN_MATCH_EQ && op <= TN_MATCH_NRE &&
                  tn_matcher_init(&out->matchers.v[out->matchers.n], (enum tn_match_op)op, name,
                                  value, err, sizeof(err)) == TN_OK;
        free(name);
        free(value);
        if (!ok)
            goto bad;
        out->matchers.n++;
    }
    if (r.p != r.end)
        goto bad;
    return TN_OK;
bad:
    tn_silence_clear(out);
    memset(out, 0, sizeof(*out));
    return TN_ERR_INVAL;
}

/* ---- notification-log entries ---- */

void tn_rec_nflog(tn_buf_t *b, const tn_nflog_entry_t *e)
{
    tn_buf_putc(b, TN_REC_NFLOG);
    put_cstr(b, e->key);
    tn_rec_put_u64(b, (uint64_t)e->timestamp);
    tn_rec_put_u64(b, (uint64_t)e->expires_at);
    put_u32(b, (uint32_t)e->nfiring);
    for (size_t i = 0; i < e->nfiring; i++)
        tn_rec_put_u64(b, e->firing[i]);
    put_u32(b, (uint32_t)e->nresolved);
    for (size_t i = 0; i < e->nresolved; i++)
        tn_rec_put_u64(b, e->resolved[i]);
    put_u32(b, (uint32_t)e->data.n);
    for (size_t i = 0; i < e->data.n; i++) {
        put_cstr(b, e->data.keys[i]);
        put_cstr(b, e->data.values[i]);
    }
}

void tn_rec_nflog_clear(tn_nflog_entry_t *e)
{
    free(e->key);
    free(e->firing);
    free(e->resolved);
    tn_strmap_free(&e->data);
    memset(e, 0, sizeof(*e));
}

static uint64_t *get_hashes(tn_rec_reader_t *r, size_t *n)
{
    uint32_t k = get_u32(r);
    if (r->bad || k > (size_t)(r->end - r->p) / 8) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    uint64_t *v = tn_xmalloc(((size_t)k + 1) * sizeof(uint64_t));
    for (uint32_t i = 0; i < k; i++)
        v[i] = tn_rec_get_u64(r);
    *n = k;
    return v;
}

int tn_rec_nflog_decode(const char *p, size_t len, tn_nflog_entry_t *out)
{
    memset(out, 0, sizeof(*out));
    tn_rec_reader_t r = {p, p + len, false};
    if (get_u8(&r) != TN_REC_NFLOG)
        return TN_ERR_INVAL;
    out->key = get_dup(&r);
    out->timestamp = (tn_time_t)tn_rec_get_u64(&r);
    out->expires_at = (tn_time_t)tn_rec_get_u64(&r);
    out->firing = get_hashes(&r, &out->nfiring);
    out->resolved = get_hashes(&r, &out->nresolved);
    uint32_t nd = get_u32(&r);
    if (r.bad || nd > 64)
        goto bad;
    for (uint32_t i = 0; i < nd; i++) {
        char *k = get_dup(&r), *v = get_dup(&r);
        if (!r.bad)
            tn_strmap_set(&out->data, k, v);
        free(k);
        free(v);
    }
    if (r.bad || r.p != r.end || !out->key || !*out->key)
        goto bad;
    return TN_OK;
bad:
    tn_rec_nflog_clear(out);
    return TN_ERR_INVAL;
}

/* ---- alerts ---- */

static void put_pairs(tn_buf_t *b, tn_labels_t ls)
{
    put_u32(b, (uint32_t)ls.n);
    for (size_t i = 0; i < ls.n; i++) {
        tn_rec_put_str(b, ls.v[i].name, tn_intern_len(ls.v[i].name));
        tn_rec_put_str(b, ls.v[i].value, tn_intern_len(ls.v[i].value));
    }
}

void tn_rec_alert(tn_buf_t *b, const tn_alert_t *a)
{
    tn_buf_putc(b, TN_REC_ALERT);
    tn_rec_put_u64(b, (uint64_t)a->starts_at);
    tn_rec_put_u64(b, (uint64_t)a->ends_at);
    tn_rec_put_u64(b, (uint64_t)a->updated_at);
    tn_buf_putc(b, (char)((a->timeout ? 1 : 0) | (a->generator_url ? 2 : 0)));
    if (a->generator_url)
        tn_rec_put_str(b, a->generator_url, tn_intern_len(a->generator_url));
    put_pairs(b, tn_alert_labels(a));
    put_pairs(b, tn_alert_annotations(a));
}

static void unref_pairs(tn_label_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tn_intern_unref(v[i].name);
        tn_intern_unref(v[i].value);
    }
    free(v);
}

/* Interned, sorted pairs; false (nothing left to free) on a short read or duplicate names. */
static bool get_pairs(tn_rec_reader_t *r, tn_label_t **out, size_t *nout)
{
    uint32_t n = get_u32(r);
    if (r->bad || n > TN_ALERT_MAX_PAIRS || n > (size_t)(r->end - r->p) / 8) {
        r->bad = true;
        return false;
    }
    tn_label_t *v = tn_xcalloc((size_t)n + 1, sizeof(*v));
    size_t k = 0;
    for (; k < n; k++) {
        v[k].name = get_interned(r);
        v[k].value = v[k].name ? get_interned(r) : NULL;
        if (!v[k].value) {
            if (v[k].name)
                tn_intern_unref(v[k].name);
            break;
        }
    }
    if (k < n || tn_labels_sort(v, n) != TN_OK) {
        unref_pairs(v, k);
        r->bad = true;
        return false;
    }
    *out = v;
    *nout = n;
    return true;
}

tn_alert_t *tn_rec_alert_decode(const char *p, size_t len)
{
    tn_rec_reader_t r = {p, p + len, false};
    if (get_u8(&r) != TN_REC_ALERT)
        return NULL;
    tn_time_t starts = (tn_time_t)tn_rec_get_u64(&r);
    tn_time_t ends = (tn_time_t)tn_rec_get_u64(&r);
    tn_time_t updated = (tn_time_t)tn_rec_get_u64(&r);
    int flags = get_u8(&r);
    const char *gen = (flags > 0 && (flags & 2)) ? get_interned(&r) : NULL;
    tn_label_t *l = NULL, *an = NULL;
    size_t nl = 0, na = 0;
    if (r.bad || !get_pairs(&r, &l, &nl)) {
        if (gen)
            tn_intern_unref(gen);
        return NULL;
    }
    if (!get_pairs(&r, &an, &na) || r.p != r.end || nl == 0) {
        unref_pairs(l, nl);
        if (an)
            unref_pairs(an, na);
        if (gen)
            tn_intern_unref(gen);
        return NULL;
    }
    tn_alert_t *a = tn_alert_new(l, nl, an, na, gen);
    free(l);
    free(an);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = updated;
    a->timeout = (flags & 1) != 0;
    return a;
}
