/* The listener's web configuration (--web.config.file), in the format of Prometheus'
 * exporter-toolkit: TLS server settings, basic auth users, extra response headers, a request
 * rate limit. The loader validates everything it can without touching the network and names
 * file:line:col in its errors. The live part (tn_websec_t) owns the current config, re-reads
 * it when the file or a certificate changes, and gates every request (auth, headers). */
#ifndef TOCSIN_WEBCONFIG_H
#define TOCSIN_WEBCONFIG_H

#include "tocsin/common.h"
#include "tocsin/http.h"

enum tn_client_auth {
    TN_CLIENT_AUTH_NONE = 0,    /* NoClientCert */
    TN_CLIENT_AUTH_REQUEST,     /* RequestClientCert: asked for, never verified */
    TN_CLIENT_AUTH_REQUIRE_ANY, /* RequireAnyClientCert: required, never verified */
    TN_CLIENT_AUTH_VERIFY_IF_GIVEN /* VerifyClientCertIfGiven */,
    TN_CLIENT_AUTH_REQUIRE_VERIFY, /* RequireAndVerifyClientCert */
};

/* TLS protocol versions as (3, minor): TLS10 = 1 ... TLS13 = 4. */
enum { TN_TLS10 = 1, TN_TLS11 = 2, TN_TLS12 = 3, TN_TLS13 = 4 };

typedef struct tn_webconfig_tls {
    bool enabled; /* any TLS key set: the listener speaks TLS */
    /* Paths are absolute or relative to the web config file's directory (already joined). */
    char *cert_file, *key_file, *client_ca_file;
    char *cert, *key, *client_ca; /* inline PEM, or NULL */
    enum tn_client_auth client_auth;
    int min_version, max_version; /* TN_TLS1x; max TLS13 is clamped to what the build has */
    int *cipher_suites;           /* mbedtls ids, 0-terminated, or NULL for the defaults */
    int *curves;                  /* mbedtls ecp group ids, 0-terminated (MBEDTLS_ECP_DP_NONE) */
    char **client_allowed_sans;   /* NULL-terminated, or NULL */
    bool prefer_server_cipher_suites;
} tn_webconfig_tls_t;

typedef struct tn_webconfig_user {
    char *name, *hash; /* bcrypt hash */
} tn_webconfig_user_t;

typedef struct tn_webconfig_header {
    char *name, *value;
} tn_webconfig_header_t;

typedef struct tn_webconfig {
    tn_webconfig_tls_t tls;
    tn_webconfig_user_t *users;
    size_t nusers;
    tn_webconfig_header_t *headers;
    size_t nheaders;
    bool http2;                  /* accepted; tocsin speaks HTTP/1.1 only */
    tn_duration_t rate_interval; /* 0: no request rate limit */
    int rate_burst;
} tn_webconfig_t;

/* Parses a web config from text; dir is where relative file names are resolved (NULL: as is).
 * Returns a new config (free with tn_webconfig_free) or NULL with "file:line:col: message" in
 * err. Certificates are not read here (see tn_tls_ctx_new). */
tn_webconfig_t *tn_webconfig_parse(const char *file, const char *dir, const char *text, size_t len,
                                   char *err, size_t errlen);
/* Reads and parses a file. */
tn_webconfig_t *tn_webconfig_load(const char *path, char *err, size_t errlen);
void tn_webconfig_free(tn_webconfig_t *c);

/* ---- live web config ---- */

typedef struct tn_websec tn_websec_t;

/* Loads path (config and certificates); NULL with a message when either is bad. Requests that
 * pass the gate go to next(next_ud, req). bcrypt runs on loop's thread pool. */
typedef struct uv_loop_s uv_loop_t;
tn_websec_t *tn_websec_new(uv_loop_t *loop, const char *path, tn_http_handler_fn next,
                           void *next_ud, char *err, size_t errlen);
/* Plugs TLS (when configured) into s: new connections take the current certificates. Call
 * before tn_http_server_listen. */
void tn_websec_attach(tn_websec_t *w, tn_http_server_t *s);
/* The request handler to give tn_http_server_new (ud = the tn_websec_t). */
void tn_websec_handle(void *ud, tn_http_req_t *req);
/* Re-reads the file and the certificates. force: even if nothing seems changed (SIGHUP).
 * Returns 1 when a new config was applied, 0 when unchanged, or an error (old config kept,
 * message in err). */
int tn_websec_reload(tn_websec_t *w, bool force, char *err, size_t errlen);
/* The config in force (borrowed). */
const tn_webconfig_t *tn_websec_config(const tn_websec_t *w);
/* Requests whose password check is still running are answered 503 when it ends (next is not
 * called any more); the memory goes then. */
void tn_websec_free(tn_websec_t *w);

#endif
