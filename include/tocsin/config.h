/* Configuration: alertmanager.yml read with libyaml into an immutable, validated snapshot.
 *
 * A snapshot is built whole or not at all; reload builds a new one and swaps it in, and users
 * of the old one (in-flight notifications) hold a reference until they finish. Errors name
 * file:line:column and the key. */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include "tocsin/labels.h"
#include "tocsin/strtab.h"

/* ---- matchers (route matchers, inhibit rules; silences and API filters use them too) ---- */

enum tn_match_op { TN_MATCH_EQ, TN_MATCH_NE, TN_MATCH_RE, TN_MATCH_NRE };

typedef struct tn_matcher {
    enum tn_match_op op;
    char *name;
    char *value;
    void *re; /* the compiled regex and its answer cache (matchers.c), for RE/NRE */
} tn_matcher_t;

typedef struct tn_matchers {
    tn_matcher_t *v;
    size_t n;
} tn_matchers_t;

/* A missing label matches as the empty string, like Alertmanager. */
bool tn_matcher_matches(const tn_matcher_t *m, const char *value);
bool tn_matchers_match(const tn_matchers_t *ms, tn_labels_t ls);
/* Parses one matcher such as foo="bar", foo=~"a|b", foo!=bar. */
int tn_matcher_parse(const char *s, tn_matcher_t *out, char *err, size_t errlen);
/* Parses a list such as {a="b", c=~"d"} (braces optional, commas inside quotes kept),
 * appending to out. On error out may hold the matchers parsed so far; the caller frees it. */
int tn_matchers_parse(const char *s, tn_matchers_t *out, char *err, size_t errlen);
/* Alertmanager's order: by name, then value, then operator. */
void tn_matchers_sort(tn_matchers_t *ms);
/* Builds a matcher from parts (legacy match / match_re). Compiles regexes. */
int tn_matcher_init(tn_matcher_t *m, enum tn_match_op op, const char *name, const char *value,
                    char *err, size_t errlen);
void tn_matcher_free(tn_matcher_t *m);
void tn_matchers_free(tn_matchers_t *ms);
/* Alertmanager's Matcher.String(): name="value" with the operator; values quoted as Go %q. */
int tn_matcher_format(tn_buf_t *out, const tn_matcher_t *m);
/* Alertmanager's Matchers.String(): {a="b",c=~"d"}. */
int tn_matchers_format(tn_buf_t *out, const tn_matchers_t *ms);

/* ---- durations (Prometheus model.Duration syntax: 1w2d3h4m5s6ms, units y w d h m s ms) ---- */

int tn_duration_parse(const char *s, tn_duration_t *out, char *err, size_t errlen);
/* Prometheus' model.Duration.String(), e.g. "1h30m", "5m", "0s". */
void tn_duration_format(tn_duration_t d, char out[32]);

/* ---- HTTP client settings (prometheus/common config.HTTPClientConfig) ---- */

typedef struct tn_tls_config {
    char *ca_file, *cert_file, *key_file; /* paths */
    char *ca, *cert, *key;                /* inline PEM (key is a secret) */
    char *server_name;
    bool insecure_skip_verify;
    char *min_version; /* "TLS10".."TLS13" or NULL */
    char *max_version; /* same, or NULL */
} tn_tls_config_t;

/* http_config's oauth2 (prometheus/common's OAuth2): the client-credentials grant. The token
 * endpoint is reached with the oauth2 section's own tls_config and proxy settings. */
typedef struct tn_oauth2_config {
    char *client_id;
    char *client_secret;      /* secret; client_secret_file's content is read at load */
    char *client_secret_file; /* resolved path */
    char *grant_type;         /* "client_credentials" (the default) */
    tn_strlist_t scopes;
    char *token_url;
    tn_strmap_t endpoint_params;
    tn_tls_config_t tls;
    char *proxy_url;
    char *no_proxy;
    bool proxy_from_environment;
} tn_oauth2_config_t;

typedef struct tn_http_config {
    char *basic_auth_username;
    char *basic_auth_password;       /* secret; *_file contents are read at load time */
    char *authorization_type;        /* default "Bearer" when credentials are set */
    char *authorization_credentials; /* secret */
    char *proxy_url;
    char *no_proxy;              /* comma-separated, only with proxy_url */
    bool proxy_from_environment; /* use HTTP(S)_PROXY / NO_PROXY */
    bool follow_redirects;       /* default true */
    bool enable_http2;           /* accepted; default true */
    tn_tls_config_t tls;
    tn_oauth2_config_t *oauth2; /* NULL when not configured */
    /* An integration that wrote no http_config gets a copy of global.http_config, marked so
     * (Alertmanager checks some keys before the global one applies). */
    bool inherited;
} tn_http_config_t;

/* Deep copy into an uninitialised dst; free with tn_http_config_free. */
void tn_http_config_copy(tn_http_config_t *dst, const tn_http_config_t *src);
void tn_http_config_free(tn_http_config_t *h);
void tn_tls_config_copy(tn_tls_config_t *dst, const tn_tls_config_t *src);
void tn_tls_config_free(tn_tls_config_t *t);

/* ---- receivers: generic integration configs, typed by the receiver registry ---- */

struct tn_receiver_type;

typedef struct tn_integration_cfg {
    const struct tn_receiver_type *type;
    unsigned idx;       /* position among this receiver's integrations of the same type */
    bool send_resolved; /* generic key, default from the type */
    void *conf;         /* the type's struct, filled from its field table */
} tn_integration_cfg_t;

/* Where an item starts in its file, for warnings (check-config's lint). */
typedef struct tn_pos {
    int line, col;
} tn_pos_t;

typedef struct tn_receiver_cfg {
    char *name;
    tn_pos_t pos;
    tn_integration_cfg_t *integrations;
    size_t nintegrations;
} tn_receiver_cfg_t;

/* ---- global ---- */

typedef struct tn_global_config {
    tn_duration_t resolve_timeout; /* default 5m */
    tn_http_config_t http_config;
    /* Receiver defaults, read by the field table in config.c (one row per key). A *_file
     * key holds the resolved path; its content is read at load into the matching secret. */
    char *smtp_from;
    char *smtp_hello;     /* default "localhost" */
    char *smtp_smarthost; /* host:port */
    char *smtp_auth_username;
    char *smtp_auth_password, *smtp_auth_password_file;
    char *smtp_auth_secret, *smtp_auth_secret_file;
    char *smtp_auth_identity;
    bool smtp_require_tls; /* default true */
    bool smtp_force_implicit_tls;
    bool smtp_force_implicit_tls_set;
    tn_tls_config_t smtp_tls_config;
    char *slack_api_url, *slack_api_url_file;
    char *slack_app_token, *slack_app_token_file;
    char *slack_app_url;    /* default https://slack.com/api/chat.postMessage */
    char *pagerduty_url;    /* default https://events.pagerduty.com/v2/enqueue */
    char *opsgenie_api_url; /* default https://api.opsgenie.com/ */
    char *opsgenie_api_key, *opsgenie_api_key_file;
    char *wechat_api_url; /* default https://qyapi.weixin.qq.com/cgi-bin/ */
    char *wechat_api_secret, *wechat_api_secret_file;
    char *wechat_api_corp_id;
    char *victorops_api_url; /* default .../integrations/generic/20131114/alert/ */
    char *victorops_api_key, *victorops_api_key_file;
    char *telegram_api_url; /* default https://api.telegram.org */
    char *telegram_bot_token, *telegram_bot_token_file;
    char *webex_api_url;      /* default https://webexapis.com/v1/messages */
    char *rocketchat_api_url; /* default https://open.rocket.chat/ */
    char *rocketchat_token, *rocketchat_token_file;
    char *rocketchat_token_id, *rocketchat_token_id_file;
    char *mattermost_webhook_url, *mattermost_webhook_url_file;
    char *jira_api_url;
} tn_global_config_t;

/* ---- routes ---- */

/* A route's rate_limit (tocsin extension): a token bucket of `burst` notifications refilled at
 * `limit` per `period`. */
typedef struct tn_rate_limit {
    uint32_t limit; /* notifications per period; 0 = no limit */
    uint32_t burst; /* sent back to back at most; defaults to limit */
    tn_duration_t period;
    bool per_group; /* a bucket per aggregation group, not per receiver integration */
} tn_rate_limit_t;

/* One step of a route's escalation (tocsin extension): when `after` has passed since the
 * group's first notification and a firing alert is still not acked, the group also goes to
 * `receiver`. */
typedef struct tn_escalation_step {
    tn_duration_t after;
    const struct tn_receiver_cfg *receiver;
} tn_escalation_step_t;

typedef struct tn_route {
    tn_pos_t pos;
    struct tn_route *parent;
    struct tn_route **children;
    size_t nchildren;
    unsigned idx; /* dense depth-first index over the whole tree (root = 0) */
    char *key;    /* Alertmanager's Route.Key(): parent key + "/" + matchers string */
    char *id;     /* Alertmanager's Route.ID(): key, plus "/N" sibling index when needed */
    const tn_receiver_cfg_t *receiver; /* resolved (inherited) */
    tn_matchers_t matchers;            /* matchers + match + match_re, sorted as Alertmanager */
    bool cont;                         /* continue */
    bool group_by_all;                 /* group_by: ['...'] */
    const char **group_by;             /* interned label names, sorted; inherited */
    size_t ngroup_by;
    tn_duration_t group_wait;      /* inherited; root defaults 30s */
    tn_duration_t group_interval;  /* inherited; root defaults 5m */
    tn_duration_t repeat_interval; /* inherited; root defaults 4h */
    char **mute_time_intervals;    /* names, validated against the config; not inherited */
    size_t nmute_time_intervals;
    char **active_time_intervals;
    size_t nactive_time_intervals;
    /* The intervals the names above refer to, same order; point into the config. */
    const struct tn_time_interval **mute_tis;
    const struct tn_time_interval **active_tis;
    tn_rate_limit_t rate_limit; /* inherited; limit 0 = none */
    uint32_t group_limit;       /* inherited; most aggregation groups, 0 = no cap */
    /* escalation steps, `after` increasing (inherited; owned copy); ack_notify: an ack sends
     * the group an "acknowledged by" notification (inherited). tocsin extensions. */
    tn_escalation_step_t *escalation;
    size_t nescalation;
    bool ack_notify;
    /* labels: the parent's, a key of this route's replacing the parent's; values are template
     * text, rendered per aggregation group by the dispatcher. Interned, sorted by name. */
    tn_label_t *labels;
    size_t nlabels;
} tn_route_t;

/* Route.Match: the matching routes, depth-first, first match wins unless continue. Writes up
 * to max pointers into out and returns the total count found. */
size_t tn_route_match(const tn_route_t *root, tn_labels_t ls, const tn_route_t **out, size_t max);
/* Depth-first walk; fn returns false to stop. */
typedef bool (*tn_route_walk_fn)(void *ud, const tn_route_t *r);
void tn_route_walk(const tn_route_t *root, tn_route_walk_fn fn, void *ud);

/* ---- inhibit rules, time intervals (evaluated by timeinterval.h) ---- */

typedef struct tn_inhibit_rule {
    tn_pos_t pos;
    tn_matchers_t source, target;
    const char **equal; /* interned label names */
    size_t nequal;
} tn_inhibit_rule_t;

typedef struct tn_time_range {
    int start, end; /* inclusive start, exclusive end; meaning depends on the field */
} tn_time_range_t;

typedef struct tn_time_interval_spec {
    tn_time_range_t *times; /* minutes of the day, [start, end) */
    size_t ntimes;
    tn_time_range_t *weekdays; /* 0 = Sunday, inclusive ranges */
    size_t nweekdays;
    tn_time_range_t *days_of_month; /* 1..31 or negative from month end, inclusive */
    size_t ndays_of_month;
    tn_time_range_t *months; /* 1..12, inclusive */
    size_t nmonths;
    tn_time_range_t *years; /* inclusive */
    size_t nyears;
    char *location;   /* IANA name, "Local", "UTC", or NULL (UTC) */
    struct tn_tz *tz; /* the loaded zone, owned; NULL = UTC */
} tn_time_interval_spec_t;

typedef struct tn_time_interval {
    char *name;
    tn_pos_t pos;
    tn_time_interval_spec_t *specs;
    size_t nspecs;
} tn_time_interval_t;

/* ---- the snapshot ---- */

typedef struct tn_config {
    uint32_t refs;
    char *path;     /* file it was read from */
    char *original; /* the file's text, as read */
    uint64_t hash;  /* of the original text; alertmanager_config_hash */
    tn_global_config_t global;
    tn_route_t *route;
    size_t nroutes; /* routes in the tree; route->idx < nroutes */
    tn_receiver_cfg_t *receivers;
    size_t nreceivers;
    tn_strtab_t receiver_names; /* of receivers[], by name (tn_config_receiver) */
    tn_inhibit_rule_t *inhibit_rules;
    size_t ninhibit_rules;
    tn_time_interval_t *time_intervals; /* time_intervals and mute_time_intervals together */
    size_t ntime_intervals;
    char **templates; /* globs, relative paths resolved against the file's directory */
    size_t ntemplates;
    struct tn_tmpl *tmpl; /* tocsin's default templates + the files the globs match */
    bool names_interned;  /* group_by, equal and route labels interned (tn_config_intern) */
} tn_config_t;

/* Reads and validates a config file. On error returns NULL and writes
 * "file:line:col: message" into err. */
tn_config_t *tn_config_load_file(const char *path, char *err, size_t errlen);
/* Same, from memory; `name` is used in error messages and as path. */
tn_config_t *tn_config_load_string(const char *name, const char *text, size_t len, char *err,
                                   size_t errlen);
/* Load flags. TN_CFG_CHECK_ONLY: a secret file that cannot be read is a warning (one
 * "file:line:col: message" line appended to `warnings`), not an error, as in amtool's check;
 * the loaded config then lacks that secret and must not be run. */
#define TN_CFG_CHECK_ONLY 1u
/* TN_CFG_NO_INTERN: leave group_by and equal as plain strings, so that the load touches no
 * global state and may run on a worker thread; call tn_config_intern on the loop before the
 * config is used. Without it the load interns them itself. */
#define TN_CFG_NO_INTERN 2u
tn_config_t *tn_config_load_file_ex(const char *path, unsigned flags, tn_buf_t *warnings, char *err,
                                    size_t errlen);
tn_config_t *tn_config_load_string_ex(const char *name, const char *text, size_t len,
                                      unsigned flags, tn_buf_t *warnings, char *err, size_t errlen);
void tn_config_intern(tn_config_t *c);
tn_config_t *tn_config_ref(tn_config_t *c);
void tn_config_unref(tn_config_t *c);
const tn_receiver_cfg_t *tn_config_receiver(const tn_config_t *c, const char *name);
/* The field table of the global section ({NULL}-terminated; struct tn_field is in
 * receiver.h), for readers that must know which keys are secrets. */
struct tn_field;
const struct tn_field *tn_config_global_fields(void);

/* `tocsin check-config FILE...`: amtool-style summary on stdout, errors on stderr.
 * Returns the process exit status (0 ok, 1 any file failed). */
int tn_config_check_main(int argc, char **argv);
/* `tocsin config routes [show|test] --config.file=FILE ...`: the routing tree, and the
 * receivers a label set routes to, printed as `amtool config routes` prints them (src/
 * config_routes_cmd.c). argv[0] is "routes". Returns the exit status. */
int tn_config_routes_main(int argc, char **argv);

/* Tests only: use this NULL-terminated table instead of the receiver registry (NULL restores
 * the registry). */
void tn_config_set_receiver_types_for_test(const struct tn_receiver_type *const *types);

#endif
