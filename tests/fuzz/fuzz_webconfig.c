/* --web.config.file text through the web config loader (TLS settings, bcrypt users, headers).
 * File references point into an empty directory, so loading certificates fails cleanly. */
#include "fuzz.h"
#include "tocsin/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    tn_webconfig_t *c =
        tn_webconfig_parse("web.yml", "/nonexistent", (const char *)data, size, err, sizeof(err));
    tn_webconfig_free(c);
    return 0;
}
