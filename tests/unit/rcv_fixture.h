/* Shared fixture for receiver unit tests: a config from YAML text, a notification from a few
 * alerts, the request a receiver builds for it, and its JSON body. */
#ifndef TN_RCV_FIXTURE_H
#define TN_RCV_FIXTURE_H

#include "tn_test.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "tocsin/alert.h"
#include "tocsin/config.h"
#include "tocsin/receiver.h"
#include "tocsin/template.h"

#define FX_S  INT64_C(1000000000)
#define FX_T0 (INT64_C(1700000000) * FX_S)

typedef struct fx {
    tn_config_t *cfg;
    tn_alert_t *alerts[8];
    tn_notif_alert_t nalerts[8];
    size_t n;
    tn_label_t group[4];
    size_t ngroup;
    tn_notification_t notif;
    tn_out_request_t req;
    json_t *json;
} fx_t;

/* Parses "a=b,c=d" into interned pairs (sorted). */
static inline size_t fx_pairs(const char *spec, tn_label_t *out, size_t max)
{
    size_t n = 0;
    char *copy = strdup(spec ? spec : "");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && n < max;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        out[n].name = tn_intern_cstr(tok);
        out[n].value = tn_intern_cstr(eq + 1);
        n++;
    }
    free(copy);
    tn_labels_sort(out, n);
    return n;
}

static inline void fx_config(fx_t *f, const char *yaml)
{
    char err[TN_ERRBUF_SIZE] = "";
    memset(f, 0, sizeof(*f));
    f->cfg = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    if (!f->cfg)
        fail_msg("config: %s", err);
    tn_out_request_init(&f->req);
}

/* Expects the config to be refused with a message containing want. */
static inline void fx_config_error(const char *yaml, const char *want)
{
    char err[TN_ERRBUF_SIZE] = "";
    tn_config_t *c = tn_config_load_string("test.yml", yaml, strlen(yaml), err, sizeof(err));
    if (c) {
        tn_config_unref(c);
        fail_msg("config accepted, wanted error with \"%s\"", want);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static inline void fx_alert(fx_t *f, const char *labels, const char *annotations, bool resolved)
{
    tn_label_t l[16], a[16];
    size_t nl = fx_pairs(labels, l, 16), na = fx_pairs(annotations, a, 16);
    tn_alert_t *al = tn_alert_new(l, nl, a, na, tn_intern_cstr("http://prom/graph"));
    al->starts_at = FX_T0;
    al->ends_at = resolved ? FX_T0 + 60 * FX_S : 0;
    al->fp = tn_labels_fingerprint(tn_alert_labels(al));
    f->alerts[f->n] = al;
    f->nalerts[f->n].alert = al;
    f->nalerts[f->n].resolved = resolved;
    f->n++;
}

static inline const tn_notification_t *fx_notif(fx_t *f, const char *group)
{
    f->ngroup = fx_pairs(group, f->group, 4);
    size_t nf = 0;
    for (size_t i = 0; i < f->n; i++)
        nf += !f->nalerts[i].resolved;
    f->notif = (tn_notification_t){
        .receiver = "team",
        .group_key = "{}:{alertname=\"Disk\"}",
        .group_labels = {f->group, f->ngroup},
        .alerts = f->nalerts,
        .nalerts = f->n,
        .nfiring = nf,
        .external_url = "http://am.example",
        .now = FX_T0 + 120 * FX_S,
        .config = f->cfg,
        .reason = "first notification",
    };
    return &f->notif;
}

static inline const tn_integration_cfg_t *fx_ic(fx_t *f, size_t i)
{
    const tn_receiver_cfg_t *r = tn_config_receiver(f->cfg, "team");
    assert_non_null(r);
    assert_true(i < r->nintegrations);
    return &r->integrations[i];
}

/* One step of a send through the receiver contract, for tests that drive a receiver alone. */
static inline int fx_send_build(const tn_integration_cfg_t *ic, const tn_notification_t *n,
                                tn_out_request_t *req, char *err, size_t errlen)
{
    tn_send_t s = {.ic = ic, .n = n};
    int rc = ic->type->build(&s, req, err, errlen);
    tn_strmap_free(&s.keep);
    if (s.carry) /* the attempt ends here, as the core ends it */
        (s.carry_free ? s.carry_free : free)(s.carry);
    return rc;
}

static inline enum tn_send_result fx_send_classify(const tn_integration_cfg_t *ic,
                                                   const tn_out_response_t *resp,
                                                   const char **reason, char *err, size_t errlen)
{
    tn_send_t s = {.ic = ic};
    tn_send_outcome_t o = {.result = TN_SEND_DONE, .reason = *reason};
    ic->type->classify(&s, resp, &o);
    tn_strmap_free(&s.keep);
    *reason = o.reason;
    size_t n = strnlen(o.err, sizeof(o.err));
    if (errlen) {
        n = n < errlen ? n : errlen - 1;
        memcpy(err, o.err, n);
        err[n] = 0;
    }
    return o.result;
}

/* Builds the request of integration i; parses a JSON body. */
static inline int fx_build(fx_t *f, size_t i, char *err, size_t errlen)
{
    const tn_integration_cfg_t *ic = fx_ic(f, i);
    tn_out_request_free(&f->req);
    json_decref(f->json);
    f->json = NULL;
    int rc = fx_send_build(ic, &f->notif, &f->req, err, errlen);
    if (rc == TN_OK && f->req.body.len && f->req.body.data[0] == '{') {
        json_error_t jerr;
        f->json = json_loadb(f->req.body.data, f->req.body.len, 0, &jerr);
        if (!f->json)
            fail_msg("body is not JSON (%s): %.*s", jerr.text, (int)f->req.body.len,
                     f->req.body.data);
    }
    return rc;
}

static inline void fx_build_ok(fx_t *f, size_t i)
{
    char err[TN_ERRBUF_SIZE] = "";
    if (fx_build(f, i, err, sizeof(err)) != TN_OK)
        fail_msg("build: %s", err);
}

/* JSON value at a dotted path ("attachments.0.title"); NULL when absent. */
static inline json_t *fx_get(fx_t *f, const char *path)
{
    json_t *v = f->json;
    char *copy = strdup(path);
    for (char *save = NULL, *tok = strtok_r(copy, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v))
            v = json_array_get(v, strtoul(tok, NULL, 10));
        else
            v = json_object_get(v, tok);
    }
    free(copy);
    return v;
}

static inline void fx_str(fx_t *f, const char *path, const char *want)
{
    json_t *v = fx_get(f, path);
    if (!json_is_string(v))
        fail_msg("%s: not a string in %.*s", path, (int)f->req.body.len, f->req.body.data);
    if (strcmp(json_string_value(v), want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", path, json_string_value(v), want);
}

static inline void fx_absent(fx_t *f, const char *path)
{
    if (fx_get(f, path))
        fail_msg("%s: present in %.*s", path, (int)f->req.body.len, f->req.body.data);
}

static inline const char *fx_header(fx_t *f, const char *name)
{
    for (size_t i = 0; i < f->req.nheaders; i++)
        if (strcasecmp(f->req.headers[i].name, name) == 0)
            return f->req.headers[i].value;
    return NULL;
}

static inline enum tn_send_result fx_classify(fx_t *f, size_t i, long status, const char *body,
                                              const char *content_type, const char **reason)
{
    tn_out_response_t resp = {.status = status,
                              .body = body ? body : "",
                              .body_len = body ? strlen(body) : 0,
                              .content_type = content_type};
    char err[TN_ERRBUF_SIZE];
    *reason = NULL;
    const tn_integration_cfg_t *ic = fx_ic(f, i);
    return fx_send_classify(ic, &resp, reason, err, sizeof(err));
}

/* True when the template engine reports a missing template as an error (the stub does not). */
static inline bool fx_engine_fails_missing(fx_t *f)
{
    tn_buf_t b;
    char err[TN_ERRBUF_SIZE];
    tn_buf_init(&b, 0);
    int rc =
        tn_tmpl_render(NULL, "{{ template \"tn.no.such\" . }}", &f->notif, 0, &b, err, sizeof(err));
    tn_buf_free(&b);
    return rc < 0;
}

static inline void fx_free(fx_t *f)
{
    json_decref(f->json);
    tn_out_request_free(&f->req);
    for (size_t i = 0; i < f->n; i++)
        tn_alert_unref(f->alerts[i]);
    for (size_t i = 0; i < f->ngroup; i++) {
        tn_intern_unref(f->group[i].name);
        tn_intern_unref(f->group[i].value);
    }
    tn_config_unref(f->cfg);
}

#endif
