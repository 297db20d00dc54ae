/* Records from Redis and peers' messages: decode, and what decodes must encode back to the same
 * bytes (the records have one encoding each). */
#include <stdlib.h>
#include <string.h>

#include "../../src/cluster_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_silence_t s;
    if (tn_rec_silence_decode(p, size, &s) == TN_OK) {
        tn_rec_silence(&b, &s);
        if (b.len != size || memcmp(b.data, p, size) != 0)
            abort();
        tn_silence_clear(&s);
    }
    tn_buf_reset(&b);
    tn_ack_t k;
    if (tn_rec_ack_decode(p, size, &k) == TN_OK) {
        tn_rec_ack(&b, &k);
        if (b.len != size || memcmp(b.data, p, size) != 0)
            abort();
        tn_ack_clear(&k);
    }
    tn_buf_reset(&b);
    tn_rec_event_t ev;
    if (tn_rec_event_decode(p, size, &ev) == TN_OK) {
        tn_rec_event(&b, &ev.ev);
        if (b.len != size || memcmp(b.data, p, size) != 0)
            abort();
        tn_rec_event_clear(&ev);
    }
    tn_buf_reset(&b);
    tn_nflog_entry_t e;
    if (tn_rec_nflog_decode(p, size, &e) == TN_OK)
        tn_rec_nflog_clear(&e);
    tn_alert_t *a = tn_rec_alert_decode(p, size);
    if (a) {
        tn_rec_alert(&b, a);
        tn_alert_t *again = tn_rec_alert_decode(b.data, b.len);
        if (!again || again->fp != a->fp)
            abort();
        tn_alert_unref(again);
        tn_alert_unref(a);
    }
    tn_buf_free(&b);
    return 0;
}
