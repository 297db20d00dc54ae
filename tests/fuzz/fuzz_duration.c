/* Durations: parse, and what parses must print back to the same value. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char err[256], out[32];
    tn_duration_t d;
    if (tn_duration_parse(s, &d, err, sizeof(err)) == TN_OK) {
        tn_duration_t again;
        tn_duration_format(d, out);
        if (tn_duration_parse(out, &again, err, sizeof(err)) != TN_OK || again != d)
            abort();
    }
    free(s);
    return 0;
}
