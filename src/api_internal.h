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
    unsigned flags; /* API_REPLY_* */
    /* Set by the http glue: sends the body so far as a part of a streamed answer (the first
     * call sends status and headers). */
    void (*stream)(void *ud, struct api_reply *rep);
    void *stream_ud;
    size_t streamed; /* body bytes already sent as parts */
    bool cut;        /* a streamed answer stopped short: the connection is closed instead */
    /* Set with API_REPLY_SYNC by a handler whose change can be taken back: called once, with
     * failed = true when the change could not be persisted (undo it; the client hears 500),
     * or false to release undo_ud. */
    void (*undo)(void *ud, bool failed);
    void *undo_ud;
    /* Set with API_REPLY_MORE: the rest of a large answer, made a part at a time as the
     * client reads. more appends the next part to body and returns true once the answer is
     * complete; more_free releases more_ud (after the last part, or when the client left). */
    bool (*more)(struct tn_api *api, void *ud, struct api_reply *rep);
    void (*more_free)(void *ud);
    void *more_ud;
    /* Set by the http glue: counts bytes an answer holds while it is made against the
     * server's response cap; false when over it. NULL: no cap. */
    bool (*charge)(void *ud, size_t bytes);
    /* Set with API_REPLY_DEFER: what the request metric needs once the answer is known. */
    const void *defer_route;
    const char *defer_method; /* the request's, live while it is */
    uint64_t defer_start_ms;
} api_reply_t;

/* The size of a part of a large answer (API_REPLY_MORE): a part goes out as soon as it is
 * made, and the next is made once the client has read the connection down to one part. */
#define API_STREAM_PART ((size_t)256 << 10)

/* Set by a handler whose change must be durable before the client hears of it (a new or
 * expired silence): the http glue answers only after deps.sync reports. */
#define API_REPLY_SYNC 1
/* Set by POST /-/reload: the config is loaded off the loop, and the glue answers once
 * deps.reload reports, with api_reload_answer. */
#define API_REPLY_DEFER 2
/* Set by a handler whose answer continues in rep->more (GET /api/v2/alerts past one part). */
#define API_REPLY_MORE 4

/* Finishes a deferred reload answer (200, or 500 with the error) and counts the request. */
void api_reload_answer(tn_api_t *api, api_reply_t *rep, int rc, const char *err);

void api_reply_init(api_reply_t *r);
void api_reply_free(api_reply_t *r);
void api_dispatch(tn_api_t *api, const api_call_t *call, api_reply_t *rep);

/* ---- shared by the handler files (api.c, api_silences.c, api_status.c) ---- */

#define API_CT_JSON        "application/json"
#define API_MAX_FILTERS    64
#define API_MAX_FILTER_LEN 4096 /* bytes of one filter or receiver expression */

/* {"code":N,"message":"..."}, the error shape of the API's own layer. */
void api_error(api_reply_t *r, int status, const char *msg);
/* A bare JSON string and a newline, the payload of the handlers' own 400s. */
void api_error_string(api_reply_t *r, int status, const char *msg, size_t len);
/* Calls fn for every value of query parameter `name`, URL-decoded; fn returns false to stop. */
typedef bool (*api_param_fn)(void *ud, const char *value, size_t len);
void api_query_each(const char *query, const char *name, api_param_fn fn, void *ud);
/* go-openapi's reading of a boolean parameter (last value wins, empty keeps def). */
bool api_query_bool(const char *query, const char *name, bool def);
/* Parses every `filter` parameter into ms (capped in count and length). On error returns
 * a negative code with the message for a 400 in err; ms is freed either way on error. */
int api_parse_filters(const char *query, tn_matchers_t *ms, char *err, size_t errlen);
/* Appends a GettableAlert with its status: silencedBy, inhibitedBy (fingerprints), mutedBy. */
typedef struct api_alert_status {
    const char *state; /* "active", "suppressed", "unprocessed" */
    const char *const *silenced_by;
    size_t nsilenced;
    const uint64_t *inhibited_by;
    size_t ninhibited;
    const char *const *muted_by;
    size_t nmuted;
} api_alert_status_t;
void api_encode_alert_status(tn_buf_t *out, const tn_alert_t *a, const char *const *receivers,
                             size_t nreceivers, const api_alert_status_t *st);
/* Appends a label set as a JSON object, keys in Go's sorted order. */
void api_encode_labels(tn_buf_t *out, tn_labels_t ls);

/* Handlers in api_silences.c and api_status.c. */
void api_silences(tn_api_t *api, const api_call_t *call, api_reply_t *rep);
void api_silence_id(tn_api_t *api, const api_call_t *call, api_reply_t *rep);
void api_status(tn_api_t *api, const api_call_t *call, api_reply_t *rep);
void api_receivers_list(tn_api_t *api, const api_call_t *call, api_reply_t *rep);
/* The api's dependencies and start time, for the handler files. */
const tn_api_deps_t *api_deps(const tn_api_t *api);
tn_time_t api_started(const tn_api_t *api);
/* config.original: the YAML text with every secret replaced by <secret>. Appends to out;
 * returns TN_OK or an error (then out holds nothing new). */
int api_config_redacted(const tn_config_t *cfg, tn_buf_t *out);

#endif
