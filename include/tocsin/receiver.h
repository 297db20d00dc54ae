/* Receiver integrations: one file each in receivers/, each a const struct tn_receiver_type.
 *
 * The core (notify + outbound) owns transport, timeouts and retries; a receiver owns bytes:
 * it declares its YAML fields as a table, builds the request for a notification
 * (notification.h), and classifies the reply as done, retry or fail. Helpers the receivers
 * share are receivers/rcv.h's, not part of this contract. */
#ifndef TOCSIN_RECEIVER_H
#define TOCSIN_RECEIVER_H

#include <stddef.h>

#include "tocsin/config.h"
#include "tocsin/json.h"
#include "tocsin/notification.h"
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

#endif
