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
    TN_F_PATH,        /* char * path, resolved against the config file's directory */
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
    TN_F_YAML,        /* tn_yval_t * (tocsin/yamltree.h): any YAML value as Go's YAML reader
                         decodes it into interface{}; NULL when absent or null */
};

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

/* A row of a type's global_fields. */
#define TN_GLOBAL_FIELD(k, t, member, d)                                                           \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(tn_global_config_t, member), .def = d              \
    }
#define TN_GLOBAL_FILE(k, member, tgt)                                                             \
    {                                                                                              \
        .key = k, .type = TN_F_SECRET_FILE, .offset = offsetof(tn_global_config_t, member),        \
        .target = tgt                                                                              \
    }

enum tn_send_result {
    TN_SEND_DONE = 0, /* delivered */
    TN_SEND_RETRY,    /* failed; try again with backoff until the flush deadline */
    TN_SEND_FAIL,     /* failed for good (e.g. 4xx): no retry */
    TN_SEND_NEXT,     /* this request succeeded; build and send the next step */
};

/* Most requests one send may take (Jira: search, create or update, transition). */
#define TN_SEND_MAX_STEPS 8

/* One attempt at sending one notification through one integration: a short sequence of
 * requests the receiver drives. The core calls build for step 0, sends, calls classify, and
 * on TN_SEND_NEXT increments step and builds again; DONE, RETRY and FAIL end the attempt. A
 * retry starts a new attempt at step 0 (carry freed). */
typedef struct tn_send {
    const tn_integration_cfg_t *ic;
    const tn_notification_t *n;
    unsigned step; /* request number in this attempt, from 0 */
    /* What the last successful send of this group through this integration kept in the
     * notification log (Slack's message ts); a copy owned by the core. */
    tn_strmap_t stored;
    /* Filled by build or classify: kept with the notification-log entry when the attempt
     * ends DONE (a kept key replaces the stored one; other stored keys carry over). */
    tn_strmap_t keep;
    /* The receiver's data between the steps of one attempt (a token, an issue key). Freed
     * with carry_free (or free() when NULL) when the attempt ends. */
    void *carry;
    void (*carry_free)(void *);
} tn_send_t;

/* How a request ended, for the core. */
typedef struct tn_send_outcome {
    enum tn_send_result result;
    /* Names the failure for alertmanager_notifications_failed_total{reason} (static):
     * "clientError", "serverError", "authError" (401, 403), "rateLimited" (429), "other". */
    const char *reason;
    char err[TN_ERRBUF_SIZE];
    /* Wait at least this long before the retry (0 = the backoff alone). The core sets it from
     * a 429's Retry-After before classify runs; a receiver may set it from its own signal. */
    uint64_t retry_after_ms;
} tn_send_outcome_t;

/* Sets a kept value (copies; replaces an earlier one of the same key). */
void tn_send_keep(tn_send_t *s, const char *key, const char *value);
/* A stored value, or NULL. */
const char *tn_send_stored(const tn_send_t *s, const char *key);

typedef struct tn_receiver_type {
    /* Integration name: "webhook" reads `webhook_configs` and labels metrics integration="webhook".
     */
    const char *name;
    /* Size of the conf struct and its field table ({NULL}-terminated). */
    size_t conf_size;
    const tn_field_t *fields;
    /* Default of the generic send_resolved key. */
    bool send_resolved_default;
    /* The type's keys under `global:` (offsets into tn_global_config_t, see TN_GLOBAL_FIELD),
     * ended by {NULL}; NULL if it has none. */
    const tn_field_t *global_fields;
    /* Checks them once the global section is read. On failure writes err and sets *key to the
     * global key the error is about. NULL if nothing to check. */
    int (*global_check)(const tn_global_config_t *g, const char **key, char *err, size_t errlen);
    /* After the fields are read: fill defaults from global, validate. NULL if nothing to do.
     * Writes a message naming the key into err on failure. */
    int (*finalize)(void *conf, const tn_global_config_t *g, char *err, size_t errlen);
    /* Extra cleanup beyond what the field table frees. NULL if none. */
    void (*conf_free)(void *conf);
    /* Builds the request of step s->step into req (already initialised; the core applies the
     * timeout and http_config). Returns TN_OK, or an error written to err, which fails the
     * send without a retry. */
    int (*build)(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen);
    /* Classifies a completed exchange into out (result DONE unless set; reason "other"). */
    void (*classify)(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *out);
} tn_receiver_type_t;

/* receivers/registry.c: every known type, ended by NULL. */
extern const tn_receiver_type_t *const tn_receiver_types[];
const tn_receiver_type_t *tn_receiver_type_find(const char *name);

#endif
