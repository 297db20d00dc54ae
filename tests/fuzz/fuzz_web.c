/* Requests to the web page module: method, path, If-None-Match, Authorization, Content-Type and
 * a body (the routes test's JSON), one per line of the input, the rest being the body. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin/web.h"

static const char CONFIG[] = "route:\n  receiver: a\n  group_by: [x]\n  routes:\n"
                             "  - matchers: ['s=~\"c.*\"']\n    receiver: b\n    continue: true\n"
                             "    routes:\n    - matchers: [t!=\"\"]\n      receiver: a\n"
                             "receivers:\n- name: a\n- name: b\n";

static tn_config_t *cfg;

static const tn_config_t *fz_config(void *ud)
{
    (void)ud;
    return cfg;
}

static bool fz_basic_auth(void *ud)
{
    (void)ud;
    return true;
}

/* The next line of [*p, end) as a NUL-terminated copy (the caller frees it). */
static char *fz_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    char *s = tn_xstrndup(*p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg) {
        char err[256];
        cfg = tn_config_load_string("fuzz.yml", CONFIG, strlen(CONFIG), err, sizeof(err));
        if (!cfg)
            abort();
    }
    tn_web_deps_t d = {.route_prefix = size && data[0] & 1 ? "/p" : "",
                       .config = fz_config,
                       .basic_auth = fz_basic_auth};
    tn_web_t *w = tn_web_new(&d);
    const char *p = (const char *)data, *end = p + size;
    char *f[5];
    for (int i = 0; i < 5; i++)
        f[i] = fz_line(&p, end);
    char *body = tn_xstrndup(p, (size_t)(end - p));
    tn_web_request_t rq = {.method = f[0],
                           .path = f[1],
                           .query = "",
                           .if_none_match = f[2][0] ? f[2] : NULL,
                           .authorization = f[3][0] ? f[3] : NULL,
                           .content_type = f[4][0] ? f[4] : NULL,
                           .body = body,
                           .len = (size_t)(end - p)};
    tn_web_reply_t rep;
    tn_web_reply_init(&rep);
    tn_web_answer(w, &rq, &rep);
    tn_web_reply_free(&rep);
    for (int i = 0; i < 5; i++)
        free(f[i]);
    free(body);
    tn_web_free(w);
    return 0;
}
