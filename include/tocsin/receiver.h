/* Receiver integrations: one file each in receivers/, each a const struct tn_receiver_type.
 *
 * The core (notify + outbound) owns transport, timeouts and retries; a receiver owns bytes:
 * it declares its YAML fields as a table, builds the request for a notification, and
 * classifies the reply as done, retry or fail. */
#ifndef TOCSIN_RECEIVER_H
#define TOCSIN_RECEIVER_H

#include <stddef.h>

#include "tocsin/alert.h"
#include "tocsin/config.h"
#include "tocsin/json.h"
#include "tocsin/outbound.h"

/* ---- YAML field tables (read by the generic setters in config.c) ---- */

enum tn_field_type {
    TN_F_STRING,      /* char * */
    TN_F_SECRET,      /* char *, never logged; shown as <secret> */
    TN_F_SECRET_FILE, /* char * path; `target` names the TN_F_SECRET field it fills at load */
    TN_F_URL,         /* char *, must parse as an absolute http(s) URL */
    TN_F_SECRET_URL,  /* like URL, and secret */
    TN_F_BOOL,        /* bool */
    TN_F_DURATION,    /* tn_duration_t */
    TN_F_UINT,        /* uint64_t */
    TN_F_FLOAT,       /* double */
    TN_F_STRING_LIST, /* tn_strlist_t */
    TN_F_STRING_MAP,  /* tn_strmap_t (ordered as written) */
    TN_F_HTTP_CONFIG, /* tn_http_config_t */
    TN_F_TLS_CONFIG,  /* tn_tls_config_t */
    TN_F_STRUCT,      /* nested struct described by `sub` */
    TN_F_STRUCT_LIST, /* tn_structlist_t of elements described by `sub`, each `elem_size` */
};

typedef struct tn_strlist {
    char **v;
    size_t n;
} tn_strlist_t;

typedef struct tn_strmap {
    char **keys;
    char **values;
    size_t n;
} tn_strmap_t;

typedef struct tn_structlist {
    void *v; /* n elements of elem_size bytes */
    size_t n;
} tn_structlist_t;

typedef struct tn_field {
    const char *key; /* YAML key */
    enum tn_field_type type;
    size_t offset; /* offsetof(conf struct, member) */
    bool required;
    const char *def;            /* default as YAML scalar text, or NULL */
    const struct tn_field *sub; /* STRUCT / STRUCT_LIST: element fields, ended by {NULL} */
    size_t elem_size;           /* STRUCT_LIST */
    const char *target;         /* SECRET_FILE: key of the field it fills */
} tn_field_t;

/* ---- the notification a receiver turns into a request ---- */

typedef struct tn_notif_alert {
    const tn_alert_t *alert;
    bool resolved; /* resolved at flush time; a firing alert prints endsAt as Go's zero time */
} tn_notif_alert_t;

/* What a rate limit held back (tocsin extension): a summary notification carries it, and its
 * alerts are the held ones (firing first, at most TN_SUMMARY_MAX_ALERTS). Lists are cut at
 * TN_SUMMARY_MAX_LIST entries; the counts are always whole. */
#define TN_SUMMARY_MAX_ALERTS 1000
#define TN_SUMMARY_MAX_LIST   100

typedef struct tn_summary_group {
    const char *group_key;
    tn_labels_t group_labels;
    size_t nfiring, nresolved;
} tn_summary_group_t;

typedef struct tn_summary_name {
    const char *alertname;
    size_t count; /* held alerts of this name */
} tn_summary_name_t;

typedef struct tn_summary {
    size_t nalerts, nfiring, nresolved; /* held alerts over all groups */
    size_t ngroups;                     /* held groups */
    size_t nnotifications;              /* notifications held since the last summary */
    tn_time_t since;                    /* first one held */
    const tn_summary_group_t *groups;   /* by group key; nlisted_groups <= ngroups */
    size_t nlisted_groups;
    const tn_summary_name_t *names; /* most alerts first */
    size_t nnames;
    bool truncated; /* some group, name or alert is not listed */
} tn_summary_t;

typedef struct tn_notification {
    const char *receiver;  /* receiver name */
    const char *group_key; /* Alertmanager's group key: route key + ":" + group labels */
    tn_labels_t group_labels;
    const tn_notif_alert_t *alerts; /* sorted as Alertmanager sorts (tn_notif_alerts_sort) */
    size_t nalerts;
    size_t nfiring;
    const char *external_url;
    tn_time_t now;             /* flush time */
    const tn_config_t *config; /* snapshot the notification was built from */
    const tn_route_t *route;   /* route of the aggregation group (in config), or NULL */
    /* Alertmanager's notification reason text ("first notification", "new alerts added", ...),
     * set per integration by notify; NULL is sent as "unknown". */
    const char *reason;
    /* Set only on a rate-limit summary (tocsin extension); NULL on every other notification. */
    const tn_summary_t *summary;
    /* Alertmanager's route labels, already rendered (routeLabels returns them verbatim).
     * tocsin routes carry none yet: empty. */
    tn_labels_t route_labels;
} tn_notification_t;

/* Alertmanager's AlertSlice order: by the job label, then instance, then whole label sets. */
void tn_notif_alerts_sort(tn_notif_alert_t *v, size_t n);
/* Labels (or annotations) common to every alert of the notification, written as new interned
 * pairs into out (caller unrefs them); returns the count. */
size_t tn_notification_common_labels(const tn_notification_t *n, bool annotations, tn_label_t *out,
                                     size_t max);

enum tn_send_result {
    TN_SEND_DONE = 0, /* delivered */
    TN_SEND_RETRY,    /* failed; try again with backoff until the flush deadline */
    TN_SEND_FAIL,     /* failed for good (e.g. 4xx): no retry */
};

typedef struct tn_receiver_type {
    /* Integration name: "webhook" reads `webhook_configs` and labels metrics integration="webhook".
     */
    const char *name;
    /* Size of the conf struct and its field table ({NULL}-terminated). */
    size_t conf_size;
    const tn_field_t *fields;
    /* Default of the generic send_resolved key. */
    bool send_resolved_default;
    /* After the fields are read: fill defaults from global, validate. NULL if nothing to do.
     * Writes a message naming the key into err on failure. */
    int (*finalize)(void *conf, const tn_global_config_t *g, char *err, size_t errlen);
    /* Extra cleanup beyond what the field table frees. NULL if none. */
    void (*conf_free)(void *conf);
    /* Builds the request for a notification into req (already initialised, with timeout and
     * http config applied by the core). Called again for each retry. */
    int (*build)(const tn_integration_cfg_t *ic, const tn_notification_t *n, tn_out_request_t *req,
                 char *err, size_t errlen);
    /* Classifies a completed exchange. reason (static string) names the failure for
     * alertmanager_notifications_failed_total{reason}: "clientError", "serverError",
     * "authError" (401, 403), "rateLimited" (429), "other". */
    enum tn_send_result (*classify)(const tn_integration_cfg_t *ic, const tn_out_response_t *resp,
                                    const char **reason, char *err, size_t errlen);
} tn_receiver_type_t;

/* receivers/registry.c: every known type, ended by NULL. */
extern const tn_receiver_type_t *const tn_receiver_types[];
const tn_receiver_type_t *tn_receiver_type_find(const char *name);

/* Whether a config string is set (not NULL, not empty). */
static inline bool tn_receiver_set(const char *s)
{
    return s && s[0];
}
/* Reads a YAML 1.1 boolean (true/yes/on/y, false/no/off/n, any case), as a templated boolean
 * field's rendered text is read. */
int tn_receiver_parse_bool(const char *s, bool *out);

/* Shared helper for HTTP receivers: Alertmanager's retry rule for status codes (retry on 5xx
 * and 429 where the integration says so, fail on other 4xx). */
enum tn_send_result tn_receiver_classify_http(const tn_out_response_t *resp, bool retry_429,
                                              const char **reason, char *err, size_t errlen);

#endif
