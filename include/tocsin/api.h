/* HTTP API: /api/v2/... (alerts, alerts/groups, silences, silence/{id}, status, receivers),
 * /-/healthy, /-/ready, /-/reload, /metrics. JSON in and out;
 * errors are 400s whose message names the alert index and the field.
 *
 * The api knows the rest of the daemon only through the callbacks in tn_api_deps_t, so it
 * can be tested alone. */
#ifndef TOCSIN_API_H
#define TOCSIN_API_H

#include "tocsin/alert.h"
#include "tocsin/config.h"
#include "tocsin/dispatch.h"
#include "tocsin/http.h"
#include "tocsin/inhibit.h"
#include "tocsin/silence.h"

typedef struct tn_api tn_api_t;

/* How a reload reports: rc 0, or an error code and the message. */
typedef void (*tn_api_reload_done_fn)(void *cbud, int rc, const char *err);

typedef struct tn_api_deps {
    void *ud;
    tn_alert_store_t *store;
    /* The current config snapshot (borrowed). */
    const tn_config_t *(*config)(void *ud);
    /* Receivers the alert is routed to, sorted names; returns count, writes up to max. */
    size_t (*alert_receivers)(void *ud, const tn_alert_t *a, const char **out, size_t max);
    /* Reloads the config: it is read and checked off the loop, and done(cbud, ...) is called
     * on the loop once the new config is in place or refused. */
    void (*reload)(void *ud, tn_api_reload_done_fn done, void *cbud);
    /* Ready to serve (config loaded, state restored). */
    bool (*ready)(void *ud);
    /* Called after a batch of alerts was put in the store (dispatch hook, metrics). */
    void (*alerts_stored)(void *ud, size_t n);
    const char *external_url; /* --web.external-url */
    const char *route_prefix; /* --web.route-prefix, "" or "/prefix" without trailing slash */
    /* Silences and the inhibitor (borrowed; either may be NULL: nothing is muted by it). An
     * alert's status in GET /api/v2/alerts is computed from them at query time. */
    tn_silences_t *silences;
    tn_inhibitor_t *inhibitor;
    /* Iterates the aggregation groups for GET /api/v2/alerts/groups (tn_dispatch_foreach_group);
     * NULL: no groups. */
    void (*foreach_group)(void *ud, tn_dispatch_group_fn fn, void *fnud);
    /* Calls cb(cbud, rc) once every change made so far is durable (tn_store_sync); a new or
     * expired silence is answered only then. NULL: answered at once. */
    void (*sync)(void *ud, void (*cb)(void *cbud, int rc), void *cbud);
    /* Caps on incoming alert batches. */
    size_t max_alerts_per_request; /* default 10000 */
    /* versionInfo of GET /api/v2/status (tocsin/version.h); NULL: the version alone. */
    const struct tn_build_info *build_info;
    /* Writes the "cluster" object of GET /api/v2/status (tn_cluster_status_json); NULL: not
     * clustered ("disabled"). */
    void (*cluster_status)(void *ud, tn_buf_t *b);
    /* A silence was "created", "updated" or "expired" through the API (for the history);
     * NULL: not reported. */
    void (*silence_event)(void *ud, const tn_silence_t *s, const char *what);
    /* Requests under /api/tocsin/v1/ (the on-call API, oncall.h) go here whole; NULL: 404. */
    void (*oncall)(void *ud, tn_http_req_t *req);
    /* Offered every request first (the web page, web.h): true when it answered; NULL: none. */
    bool (*web)(void *ud, tn_http_req_t *req);
} tn_api_deps_t;

tn_api_t *tn_api_new(const tn_api_deps_t *deps);
void tn_api_free(tn_api_t *api);
/* The http handler: pass as tn_http_server_new(loop, limits, tn_api_handle, api). */
void tn_api_handle(void *api, tn_http_req_t *req);

/* Decodes a PostableAlert array. Valid alerts are written into out (new references, caller
 * owns) with Alertmanager's defaults applied (startsAt = now, endsAt = now + resolve_timeout
 * with timeout set, updatedAt = now). Invalid ones are described in err ("alerts[3].labels:
 * invalid label name \"1x\"", joined by "; "). Returns TN_OK, or TN_ERR_INVAL when the body
 * as a whole is not an alert array (then out is empty and *ninvalid is 0), or when some alerts
 * were invalid (*ninvalid > 0, out holds the valid ones). max_alerts 0 means no cap. */
int tn_api_decode_alerts(const char *body, size_t len, tn_time_t now, tn_duration_t resolve_timeout,
                         size_t max_alerts, tn_alert_t ***out, size_t *nout, size_t *ninvalid,
                         tn_buf_t *err);

/* Caps on names and values in incoming alerts, bytes (0 = none): an alert beyond one is
 * invalid, with a 400 naming the field. Defaults 1 KiB, 64 KiB and 1 MiB. */
void tn_api_set_value_limits(size_t name_max, size_t label_value_max, size_t annotation_value_max);

#endif
