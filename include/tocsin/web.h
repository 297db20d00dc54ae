/* The on-call web page: the files of web/ compiled into the binary (cmake/embed_web.cmake),
 * served at <prefix>/ (index.html) and <prefix>/ui/<file>, with strong ETags, 304s and strict
 * security headers. index.html links its files as ui/<file>?v=<hash>; such a URL may be cached
 * for a year, the rest is revalidated (Cache-Control: no-cache). It also owns the small JSON
 * endpoints only the page needs, under <prefix>/api/tocsin/v1/: whoami (the basic-auth user),
 * routes (the routing tree) and routes/test (which routes a label set takes), and it refuses POSTs
 * there that are not JSON, so a cross-site form cannot reach the on-call API. docs/ui.md describes
 * it for operators. */
#ifndef TOCSIN_WEB_H
#define TOCSIN_WEB_H

#include "tocsin/config.h"
#include "tocsin/http.h"

/* One embedded file; the table is generated (web_assets.c in the build tree). */
typedef struct tn_web_asset {
    const char *name; /* path under web/: "index.html", "app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted: "\"<32 hex digits of SHA-256>\"" */
} tn_web_asset_t;

extern const tn_web_asset_t tn_web_assets[];
extern const size_t tn_web_nassets;

/* The asset named name (exact), or NULL. */
const tn_web_asset_t *tn_web_asset_find(const char *name);

typedef struct tn_web tn_web_t;

typedef struct tn_web_deps {
    void *ud;
    const char *route_prefix; /* "" or "/prefix" (copied) */
    /* The current config snapshot (borrowed); NULL answers routes with 503. */
    const tn_config_t *(*config)(void *ud);
    /* Whether basic auth is on, so an Authorization header reaching us was verified; NULL:
     * never (whoami answers {"user": null}). */
    bool (*basic_auth)(void *ud);
} tn_web_deps_t;

tn_web_t *tn_web_new(const tn_web_deps_t *deps);
void tn_web_free(tn_web_t *w);

/* A request and its answer as plain data, so tests need no socket. */
typedef struct tn_web_request {
    const char *method, *path, *query; /* path decoded, with the route prefix */
    const char *if_none_match, *authorization, *content_type; /* headers, or NULL */
    const char *body;
    size_t len;
} tn_web_request_t;

#define TN_WEB_MAX_HEADERS 10
typedef struct tn_web_reply {
    int status;
    const char *content_type;
    const unsigned char *data; /* an asset's bytes (static) ... */
    size_t len;
    tn_buf_t body; /* ... or a built body, when data is NULL */
    struct {
        const char *name;
        char *value; /* owned */
    } headers[TN_WEB_MAX_HEADERS];
    size_t nheaders;
} tn_web_reply_t;

void tn_web_reply_init(tn_web_reply_t *r);
void tn_web_reply_free(tn_web_reply_t *r);
/* The value of header name in r (case-insensitive), or NULL. */
const char *tn_web_reply_header(const tn_web_reply_t *r, const char *name);

/* Answers rq into rep and returns true when the request is the page's; false (rep untouched)
 * leaves it to the API. */
bool tn_web_answer(tn_web_t *w, const tn_web_request_t *rq, tn_web_reply_t *rep);
/* The same on a live request: answers it and returns true, or returns false and leaves it
 * (tn_api_deps_t.web). */
bool tn_web_handle(void *w, tn_http_req_t *req);

#endif
