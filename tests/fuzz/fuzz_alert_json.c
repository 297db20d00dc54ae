/* POST /api/v2/alerts bodies through the one-pass alert decoder. */
#include <stdlib.h>

#include "../../src/api_internal.h"
#include "fuzz.h"
#include "tocsin/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tn_alert_t **alerts = NULL;
    size_t n = 0, ninvalid = 0, nfiring = 0, nresolved = 0;
    tn_buf_t err;
    tn_buf_init(&err, 0);
    const tn_time_t now = (tn_time_t)1700000000 * TN_NS_PER_SEC;
    api_decode_alerts((const char *)data, size, now, 5 * 60 * TN_NS_PER_SEC, 1000, &alerts, &n,
                      &ninvalid, &nfiring, &nresolved, &err);
    for (size_t i = 0; i < n; i++)
        tn_alert_unref(alerts[i]);
    free(alerts);
    tn_buf_free(&err);
    return 0;
}
