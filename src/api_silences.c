/* /api/v2/silences and /api/v2/silence/{id}: the silence set seen through the v2 API.
 *
 * Bodies are read with jansson and checked in the order the API's schema validation does
 * (the first problem is reported: 422 for a missing field, 400 for a body that is not the
 * right JSON); the silence rules themselves (update in place or replace, limits) belong to
 * the silence module. A change is answered only once it is durable (API_REPLY_SYNC). */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "tocsin/clock.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/silence.h"
#include "tocsin/timefmt.h"

#define SIL_MAX_MATCHERS 1024

/* ---- encoding ---- */

static void sil_time(tn_buf_t *b, tn_time_t t)
{
    char ts[40];
    tn_time_format_rfc3339milli(t, ts);
    tn_buf_printf(b, "\"%s\"", ts);
}

static void sil_str(tn_buf_t *b, const char *s)
{
    s = s ? s : "";
    tn_json_go_string(b, s, strlen(s));
}

/* GettableSilence, fields in the order the API writes them. */
static void sil_encode(tn_buf_t *b, const tn_silence_t *s, tn_time_t now)
{
    tn_buf_puts(b, "{\"id\":");
    sil_str(b, s->id);
    tn_buf_puts(b, ",\"status\":{\"state\":");
    sil_str(b, tn_silence_state_name(tn_silence_state_at(s, now)));
    tn_buf_puts(b, "},\"updatedAt\":");
    sil_time(b, s->updated_at);
    tn_buf_puts(b, ",\"comment\":");
    sil_str(b, s->comment);
    tn_buf_puts(b, ",\"createdBy\":");
    sil_str(b, s->created_by);
    tn_buf_puts(b, ",\"endsAt\":");
    sil_time(b, s->ends_at);
    tn_buf_puts(b, ",\"matchers\":[");
    for (size_t i = 0; i < s->matchers.n; i++) {
        const tn_matcher_t *m = &s->matchers.v[i];
        bool eq = m->op == TN_MATCH_EQ || m->op == TN_MATCH_RE;
        bool re = m->op == TN_MATCH_RE || m->op == TN_MATCH_NRE;
        tn_buf_printf(b, "%s{\"isEqual\":%s,\"isRegex\":%s,\"name\":", i ? "," : "",
                      eq ? "true" : "false", re ? "true" : "false");
        sil_str(b, m->name);
        tn_buf_puts(b, ",\"value\":");
        sil_str(b, m->value);
        tn_buf_putc(b, '}');
    }
    tn_buf_puts(b, "],\"startsAt\":");
    sil_time(b, s->starts_at);
    tn_buf_putc(b, '}');
}

/* ---- GET /api/v2/silences ---- */

typedef struct sil_list {
    const tn_silence_t **v;
    size_t n, alloc;
    const tn_matchers_t *filter;
    tn_time_t now;
    bool want[3]; /* by state */
} sil_list_t;

/* Every filter matcher has an identical matcher (name, operator, value) in the silence. */
static bool sil_filter_match(const tn_silence_t *s, const tn_matchers_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        bool found = false;
        for (size_t k = 0; !found && k < s->matchers.n; k++) {
            const tn_matcher_t *a = &f->v[i], *b = &s->matchers.v[k];
            found =
                a->op == b->op && strcmp(a->name, b->name) == 0 && strcmp(a->value, b->value) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

static bool sil_collect(void *ud, const tn_silence_t *s)
{
    sil_list_t *l = ud;
    if (!l->want[tn_silence_state_at(s, l->now)] || !sil_filter_match(s, l->filter))
        return true;
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 32;
        l->v = tn_xrealloc(l->v, l->alloc * sizeof(*l->v));
    }
    l->v[l->n++] = s;
    return true;
}

static tn_time_t sil_sort_now;

/* Active first (next to end first), then pending (next to start first), then expired (most
 * recently ended first); ties by id so the order is stable. */
static int sil_cmp(const void *x, const void *y)
{
    static const int rank[] = {
        [TN_SILENCE_ACTIVE] = 0, [TN_SILENCE_PENDING] = 1, [TN_SILENCE_EXPIRED] = 2};
    const tn_silence_t *a = *(const tn_silence_t *const *)x, *b = *(const tn_silence_t *const *)y;
    enum tn_silence_state sa = tn_silence_state_at(a, sil_sort_now);
    enum tn_silence_state sb = tn_silence_state_at(b, sil_sort_now);
    if (sa != sb)
        return rank[sa] - rank[sb];
    tn_time_t ta = sa == TN_SILENCE_PENDING ? a->starts_at : a->ends_at;
    tn_time_t tb = sb == TN_SILENCE_PENDING ? b->starts_at : b->ends_at;
    if (ta != tb) {
        int c = ta < tb ? -1 : 1;
        return sa == TN_SILENCE_EXPIRED ? -c : c;
    }
    return strcmp(a->id, b->id);
}

static void sil_get_list(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    const tn_api_deps_t *d = api_deps(api);
    char err[TN_ERRBUF_SIZE];
    tn_matchers_t filter = {0};
    if (api_parse_filters(call->query, &filter, err, sizeof(err))) {
        api_error_string(rep, 400, err, strlen(err));
        return;
    }
    sil_list_t l = {.filter = &filter, .now = tn_clock_now()};
    l.want[TN_SILENCE_ACTIVE] = api_query_bool(call->query, "active", true);
    l.want[TN_SILENCE_EXPIRED] = api_query_bool(call->query, "expired", true);
    l.want[TN_SILENCE_PENDING] = api_query_bool(call->query, "pending", true);
    if (d->silences)
        tn_silences_foreach(d->silences, sil_collect, &l);
    sil_sort_now = l.now;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), sil_cmp);
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_putc(&rep->body, '[');
    for (size_t i = 0; i < l.n; i++) {
        if (i)
            tn_buf_putc(&rep->body, ',');
        sil_encode(&rep->body, l.v[i], l.now);
    }
    tn_buf_puts(&rep->body, "]\n");
    free(l.v);
    tn_matchers_free(&filter);
}

/* ---- POST /api/v2/silences ---- */

/* Field lookup as Go's decoder does it: an exact name first, else one differing in case. */
static json_t *sil_get(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v)
        return v;
    const char *k;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

typedef struct sil_body_err {
    int status;
    char msg[TN_ERRBUF_SIZE];
} sil_body_err_t;

static int sil_parse_fail(sil_body_err_t *e, const char *fmt, const char *a, const char *b)
{
    char why[TN_ERRBUF_SIZE / 2];
    snprintf(why, sizeof(why), fmt, a ? a : "", b ? b : "");
    e->status = 400;
    snprintf(e->msg, sizeof(e->msg), "parsing silence body from \"\" failed, because %s", why);
    return TN_ERR_INVAL;
}

static int sil_required(sil_body_err_t *e, const char *field)
{
    e->status = 422;
    snprintf(e->msg, sizeof(e->msg), "%s in body is required", field);
    return TN_ERR_INVAL;
}

/* A JSON string field (null counts as absent); path names it in errors. A NUL inside is
 * refused: C strings would cut the value there (a matcher value "a\u0000b" would become "a"
 * and mute more than was asked). */
static int sil_take_string_at(json_t *o, const char *key, const char *path, const char **out,
                              sil_body_err_t *e)
{
    json_t *v = sil_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return TN_OK;
    if (!json_is_string(v))
        return sil_parse_fail(e, "json: cannot unmarshal %s into field %s of type string",
                              json_is_object(v) || json_is_array(v) ? "structure" : "value", key);
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        e->status = 400;
        snprintf(e->msg, sizeof(e->msg), "%s: contains a NUL character", path);
        return TN_ERR_INVAL;
    }
    *out = json_string_value(v);
    return TN_OK;
}

static int sil_take_string(json_t *o, const char *key, const char **out, sil_body_err_t *e)
{
    return sil_take_string_at(o, key, key, out, e);
}

static int sil_take_time(json_t *o, const char *key, bool *set, tn_time_t *out, sil_body_err_t *e)
{
    const char *s;
    int rc = sil_take_string(o, key, &s, e);
    *set = s != NULL;
    if (rc || !s)
        return rc;
    if (tn_time_parse_rfc3339(s, strlen(s), out) != TN_OK)
        return sil_parse_fail(e, "parsing time \"%s\" as RFC 3339 failed%s", s, NULL);
    return TN_OK;
}

static int sil_take_bool(json_t *o, const char *key, int *out, sil_body_err_t *e)
{
    json_t *v = sil_get(o, key);
    *out = -1;
    if (!v || json_is_null(v))
        return TN_OK;
    if (!json_is_boolean(v))
        return sil_parse_fail(e, "json: cannot unmarshal value into field %s of type bool%s", key,
                              NULL);
    *out = json_is_true(v);
    return TN_OK;
}

/* Reads a PostableSilence into out (matchers compiled). On failure e says what to answer. */
static int sil_decode(const api_call_t *call, tn_silence_t *out, bool *has_id, sil_body_err_t *e)
{
    int rc = TN_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    *has_id = false;
    if (!call->body || call->len == 0)
        return sil_required(e, "silence");
    json_error_t jerr;
    json_t *root = json_loadb(call->body, call->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return sil_parse_fail(e, "%s%s", jerr.text, NULL);
    if (json_is_null(root)) {
        rc = sil_required(e, "silence");
        goto out;
    }
    if (!json_is_object(root)) {
        rc = sil_parse_fail(e,
                            "json: cannot unmarshal %s into Go value of type "
                            "models.PostableSilence%s",
                            json_is_array(root) ? "array" : "value", NULL);
        goto out;
    }
    const char *id, *comment, *created_by;
    bool starts_set, ends_set;
    if ((rc = sil_take_string(root, "id", &id, e)) ||
        (rc = sil_take_string(root, "comment", &comment, e)) ||
        (rc = sil_take_string(root, "createdBy", &created_by, e)) ||
        (rc = sil_take_time(root, "startsAt", &starts_set, &out->starts_at, e)) ||
        (rc = sil_take_time(root, "endsAt", &ends_set, &out->ends_at, e)))
        goto out;
    json_t *ms = sil_get(root, "matchers");
    if (ms && !json_is_null(ms) && !json_is_array(ms)) {
        rc = sil_parse_fail(e,
                            "json: cannot unmarshal value into field matchers of type "
                            "models.Matchers%s",
                            NULL, NULL);
        goto out;
    }
    size_t nm = ms && json_is_array(ms) ? json_array_size(ms) : 0;
    /* the schema's checks, fields in alphabetical order */
    rc = TN_ERR_INVAL;
    if (!comment) {
        sil_required(e, "comment");
        goto out;
    }
    if (!created_by) {
        sil_required(e, "createdBy");
        goto out;
    }
    if (!ends_set) {
        sil_required(e, "endsAt");
        goto out;
    }
    if (!ms || json_is_null(ms)) {
        sil_required(e, "matchers");
        goto out;
    }
    if (nm == 0) {
        e->status = 422;
        snprintf(e->msg, sizeof(e->msg), "matchers in body should have at least 1 items");
        goto out;
    }
    if (nm > SIL_MAX_MATCHERS) {
        e->status = 400;
        snprintf(e->msg, sizeof(e->msg), "invalid silence: more than %d matchers",
                 SIL_MAX_MATCHERS);
        goto out;
    }
    out->matchers.v = tn_xcalloc(nm, sizeof(tn_matcher_t));
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_array_get(ms, i);
        char field[64];
        if (!json_is_object(m)) {
            rc = sil_parse_fail(e,
                                "json: cannot unmarshal value into Go value of type "
                                "models.Matcher%s",
                                NULL, NULL);
            goto out;
        }
        const char *name, *value;
        int is_regex, is_equal;
        snprintf(field, sizeof(field), "matchers.%zu", i);
        char field_name[80], field_value[80];
        snprintf(field_name, sizeof(field_name), "%s.name", field);
        snprintf(field_value, sizeof(field_value), "%s.value", field);
        if ((rc = sil_take_bool(m, "isEqual", &is_equal, e)) ||
            (rc = sil_take_bool(m, "isRegex", &is_regex, e)) ||
            (rc = sil_take_string_at(m, "name", field_name, &name, e)) ||
            (rc = sil_take_string_at(m, "value", field_value, &value, e)))
            goto out;
        rc = TN_ERR_INVAL;
        char req[96];
        if (is_regex < 0 || !name || !value) {
            snprintf(req, sizeof(req), "%s.%s", field,
                     is_regex < 0 ? "isRegex"
                     : !name      ? "name"
                                  : "value");
            sil_required(e, req);
            goto out;
        }
        bool eq = is_equal != 0; /* isEqual defaults to true */
        enum tn_match_op op =
            is_regex ? (eq ? TN_MATCH_RE : TN_MATCH_NRE) : (eq ? TN_MATCH_EQ : TN_MATCH_NE);
        char merr[TN_ERRBUF_SIZE / 2];
        if (!tn_label_name_valid(name, strlen(name), tn_labels_mode() == TN_LABELS_CLASSIC)) {
            e->status = 400;
            snprintf(e->msg, sizeof(e->msg),
                     "invalid silence: invalid label matcher %zu in set 0: invalid label name "
                     "\"%.128s\"",
                     i, name);
            goto out;
        }
        if (tn_matcher_init(&out->matchers.v[i], op, name, value, merr, sizeof(merr))) {
            e->status = 400;
            snprintf(e->msg, sizeof(e->msg),
                     "invalid silence: invalid label matcher %zu in set 0: %s", i, merr);
            goto out;
        }
        out->matchers.n++;
    }
    if (!starts_set) {
        sil_required(e, "startsAt");
        goto out;
    }
    if (id && id[0]) {
        if (strlen(id) >= sizeof(out->id)) {
            e->status = 404;
            snprintf(e->msg, sizeof(e->msg), "silence not found");
            goto out;
        }
        memcpy(out->id, id, strlen(id) + 1);
        *has_id = true;
    }
    out->comment = tn_xstrdup(comment);
    out->created_by = tn_xstrdup(created_by);
    rc = TN_OK;
out:
    json_decref(root);
    if (rc)
        tn_silence_clear(out);
    return rc;
}

/* What a silence change replaced, so it can be undone when it cannot be persisted. */
typedef struct sil_undo {
    tn_silences_t *set;
    size_t n;
    struct {
        char id[37];
        bool had;          /* prev holds the earlier content; else the silence was new */
        tn_silence_t prev; /* valid when had */
        tn_time_t changed_at;
    } v[2];
} sil_undo_t;

static void sil_undo_cb(void *ud, bool failed)
{
    sil_undo_t *u = ud;
    for (size_t i = u->n; i-- > 0;) {
        if (failed)
            tn_silences_revert(u->set, u->v[i].id, u->v[i].had ? &u->v[i].prev : NULL,
                               u->v[i].changed_at, tn_clock_now());
        if (u->v[i].had)
            tn_silence_clear(&u->v[i].prev);
    }
    free(u);
}

/* Records id's content before a change (call before changing it). */
static void sil_undo_before(sil_undo_t *u, const char *id)
{
    const tn_silence_t *cur = id[0] ? tn_silences_get(u->set, id) : NULL;
    size_t k = u->n++;
    snprintf(u->v[k].id, sizeof(u->v[k].id), "%s", id);
    u->v[k].had = cur && tn_silence_copy(&u->v[k].prev, cur) == TN_OK;
}

/* Records that id was created by the change (call after it). */
static void sil_undo_created(sil_undo_t *u, const char *id)
{
    size_t k = u->n++;
    snprintf(u->v[k].id, sizeof(u->v[k].id), "%s", id);
    u->v[k].had = false;
}

/* After the change: the stamps that show whether a later change replaced it; hands u to rep. */
static void sil_undo_arm(sil_undo_t *u, api_reply_t *rep)
{
    for (size_t i = 0; i < u->n; i++) {
        const tn_silence_t *cur = tn_silences_get(u->set, u->v[i].id);
        u->v[i].changed_at = cur ? cur->updated_at : 0;
    }
    rep->undo = sil_undo_cb;
    rep->undo_ud = u;
}

static void sil_post(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    const tn_api_deps_t *d = api_deps(api);
    tn_silence_t in;
    bool has_id;
    sil_body_err_t e = {0};
    if (sil_decode(call, &in, &has_id, &e) != TN_OK) {
        if (e.status == 400 && strncmp(e.msg, "parsing", 7) != 0)
            api_error_string(rep, 400, e.msg, strlen(e.msg));
        else if (e.status == 404)
            api_error_string(rep, 404, e.msg, strlen(e.msg));
        else {
            api_error(rep, e.status, e.msg);
            /* go-openapi's codes: 602 for a missing field, 612 for too few items */
            if (e.status == 422) {
                tn_buf_reset(&rep->body);
                tn_buf_printf(&rep->body,
                              "{\"code\":%d,\"message\":", strstr(e.msg, "at least") ? 612 : 602);
                tn_json_go_string(&rep->body, e.msg, strlen(e.msg));
                tn_buf_putc(&rep->body, '}');
            }
        }
        return;
    }
    tn_time_t now = tn_clock_now();
    const char *msg = NULL;
    if (in.starts_at >= in.ends_at)
        msg = "Failed to create silence: start time must be before end time";
    else if (in.ends_at < now)
        msg = "Failed to create silence: end time can't be in the past";
    if (msg) {
        tn_log(TN_LOG_ERROR, msg, NULL);
        api_error_string(rep, 400, msg, strlen(msg));
        goto out;
    }
    if (!d->silences) {
        msg = "silences are not available";
        api_error_string(rep, 500, msg, strlen(msg));
        goto out;
    }
    char id[37], err[TN_ERRBUF_SIZE] = "";
    sil_undo_t *u = tn_xcalloc(1, sizeof(*u));
    u->set = d->silences;
    if (in.id[0])
        sil_undo_before(u, in.id);
    int rc = tn_silences_set(d->silences, &in, now, id, err, sizeof(err));
    if (rc != TN_OK)
        sil_undo_cb(u, false);
    if (rc == TN_ERR_NOTFOUND) {
        api_error_string(rep, 404, "silence not found", 17);
        goto out;
    }
    if (rc != TN_OK) {
        tn_log(TN_LOG_ERROR, "Failed to create silence", "err", err, NULL);
        api_error_string(rep, 400, err, strlen(err));
        goto out;
    }
    bool created = !in.id[0] || strcmp(id, in.id) != 0;
    if (created)
        sil_undo_created(u, id);
    sil_undo_arm(u, rep);
    if (d->silence_event)
        d->silence_event(d->ud, tn_silences_get(d->silences, id), created ? "created" : "updated");
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    tn_buf_printf(&rep->body, "{\"silenceID\":\"%s\"}\n", id);
    rep->flags |= API_REPLY_SYNC;
out:
    tn_silence_clear(&in);
}

void api_silences(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    if (strcmp(call->method, "POST") == 0)
        sil_post(api, call, rep);
    else
        sil_get_list(api, call, rep);
}

/* ---- GET and DELETE /api/v2/silence/{id} ---- */

/* The uuid format of the API schema: 8-4-4-4-12 hex digits, or 32 in a row. */
static bool sil_uuid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 32) {
        for (size_t i = 0; i < n; i++)
            if (!isxdigit((unsigned char)s[i]))
                return false;
        return true;
    }
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

void api_silence_id(tn_api_t *api, const api_call_t *call, api_reply_t *rep)
{
    const tn_api_deps_t *d = api_deps(api);
    const char *id = strrchr(call->path, '/') + 1;
    if (!sil_uuid_valid(id)) {
        tn_buf_t m;
        tn_buf_init(&m, 0);
        tn_buf_puts(&m, "silenceID in path must be of type uuid: ");
        tn_go_quote(&m, id, strnlen(id, 128));
        rep->status = 422;
        rep->content_type = API_CT_JSON;
        tn_buf_puts(&rep->body, "{\"code\":601,\"message\":");
        tn_json_go_string(&rep->body, m.data, m.len);
        tn_buf_putc(&rep->body, '}');
        tn_buf_free(&m);
        return;
    }
    tn_time_t now = tn_clock_now();
    if (strcmp(call->method, "DELETE") == 0) {
        char err[TN_ERRBUF_SIZE] = "";
        sil_undo_t *u = NULL;
        if (d->silences) {
            u = tn_xcalloc(1, sizeof(*u));
            u->set = d->silences;
            sil_undo_before(u, id);
        }
        int rc = d->silences ? tn_silences_expire(d->silences, id, now, err, sizeof(err))
                             : TN_ERR_NOTFOUND;
        if (u && rc == TN_OK && u->v[0].had &&
            tn_silence_state_at(&u->v[0].prev, now) != TN_SILENCE_EXPIRED) {
            sil_undo_arm(u, rep);
        } else if (u) {
            sil_undo_cb(u, false);
            if (rc == TN_OK)
                rc = TN_ERR_INVAL; /* already expired: nothing changed, nothing to persist */
        }
        if (rc == TN_ERR_NOTFOUND) {
            tn_log(TN_LOG_ERROR, "Failed to expire silence", "err", "silence not found", NULL);
            rep->status = 404;
            return;
        }
        /* an already expired silence stays as it is, and that is a success */
        if (rc != TN_OK && rc != TN_ERR_INVAL) {
            api_error_string(rep, 500, err, strlen(err));
            return;
        }
        rep->status = 200;
        if (rc == TN_OK) {
            rep->flags |= API_REPLY_SYNC;
            if (d->silence_event)
                d->silence_event(d->ud, tn_silences_get(d->silences, id), "expired");
        }
        return;
    }
    const tn_silence_t *s = d->silences ? tn_silences_get(d->silences, id) : NULL;
    if (!s) {
        rep->status = 404;
        return;
    }
    rep->status = 200;
    rep->content_type = API_CT_JSON;
    sil_encode(&rep->body, s, now);
    tn_buf_putc(&rep->body, '\n');
}
