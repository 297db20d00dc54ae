/* alertmanager.yml text through the config loader (libyaml, validation, route tree). */
#include "fuzz.h"
#include "tocsin/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[TN_ERRBUF_SIZE];
    tn_config_t *c = tn_config_load_string("fuzz.yml", (const char *)data, size, err, sizeof(err));
    if (c)
        tn_config_unref(c);
    return 0;
}
