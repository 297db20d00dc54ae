/* Internals of the api module, shared by api.c, alert_json.c and their unit tests. */
#ifndef TOCSIN_API_INTERNAL_H
#define TOCSIN_API_INTERNAL_H

#include "tocsin/api.h"
#include "tocsin/json.h"

/* tn_api_decode_alerts, also counting every decoded alert (valid or not) as firing or resolved
 * at `now`, as alertmanager_alerts_received_total does. */
int api_decode_alerts(const char *body, size_t len, tn_time_t now, tn_duration_t resolve_timeout,
                      size_t max_alerts, tn_alert_t ***out, size_t *nout, size_t *ninvalid,
                      size_t *nfiring, size_t *nresolved, tn_buf_t *err);
/* Appends a GettableAlert object (fields in Alertmanager's order). */
void api_encode_alert(tn_buf_t *out, const tn_alert_t *a, const char *const *receivers,
                      size_t nreceivers, const char *state);

/* ---- routing without a socket: tn_api_handle is a thin shell around api_dispatch ---- */

typedef struct api_call {
    const char *method;
    const char *path;  /* decoded, without the query */
    const char *query; /* raw, after '?', or "" */
    const char *body;
    size_t len;
    const char *origin;     /* Origin header, or NULL */
    const char *acr_method; /* Access-Control-Request-Method header, or NULL */
} api_call_t;

#define API_MAX_HEADERS 6

typedef struct api_reply {
    int status;
    const char *content_type; /* static string, or NULL for none */
    tn_buf_t body;
    size_t nheaders;
    struct {
        const char *name; /* static */
        char *value;      /* owned */
    } headers[API_MAX_HEADERS];
} api_reply_t;

void api_reply_init(api_reply_t *r);
void api_reply_free(api_reply_t *r);
void api_dispatch(tn_api_t *api, const api_call_t *call, api_reply_t *rep);

#endif
