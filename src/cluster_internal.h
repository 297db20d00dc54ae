/* Shared by cluster.c and cluster_codec.c: the records replicas keep in Redis and send on the
 * events channel. A record is binary: one kind byte, then fields in a fixed order, integers as
 * 8-byte little-endian, strings as a 4-byte length and bytes. Decoding checks every length, so a
 * damaged or foreign value is refused, never read past. */
#ifndef TOCSIN_CLUSTER_INTERNAL_H
#define TOCSIN_CLUSTER_INTERNAL_H

#include "tocsin/ack.h"
#include "tocsin/alert.h"
#include "tocsin/history.h"
#include "tocsin/nflog.h"
#include "tocsin/silence.h"

#define TN_REC_SILENCE 'S'
#define TN_REC_NFLOG   'N'
#define TN_REC_ALERT   'A'
#define TN_REC_ACK     'K'
#define TN_REC_EVENT   'E' /* a history event, sent on the channel only */

void tn_rec_silence(tn_buf_t *b, const tn_silence_t *s);
void tn_rec_nflog(tn_buf_t *b, const tn_nflog_entry_t *e);
void tn_rec_alert(tn_buf_t *b, const tn_alert_t *a);
void tn_rec_ack(tn_buf_t *b, const tn_ack_t *a);
/* At most TN_HISTORY_MAX_ALERTS alerts go. */
void tn_rec_event(tn_buf_t *b, const tn_event_t *ev);

/* Decoders fill an uninitialised out; on failure nothing is left to free. */
int tn_rec_silence_decode(const char *p, size_t len, tn_silence_t *out);
/* The entry's arrays and strings are the caller's (free with tn_rec_nflog_clear). */
int tn_rec_nflog_decode(const char *p, size_t len, tn_nflog_entry_t *out);
void tn_rec_nflog_clear(tn_nflog_entry_t *e);
/* The ack's strings and targets are the caller's (tn_ack_clear). */
int tn_rec_ack_decode(const char *p, size_t len, tn_ack_t *out);
/* A decoded history event: ev points into the struct's own allocations. */
typedef struct tn_rec_event {
    tn_event_t ev;
    char *strs[10];
    tn_event_alert_t *alerts;
    tn_label_t *labels; /* every alert's labels, one after the other; strings malloc'd */
    size_t nlabels;
} tn_rec_event_t;
int tn_rec_event_decode(const char *p, size_t len, tn_rec_event_t *out);
void tn_rec_event_clear(tn_rec_event_t *e);
/* A new alert version (refs 1), its strings interned. */
tn_alert_t *tn_rec_alert_decode(const char *p, size_t len);

/* Framing of an events message: the sender's name, then records each with its length. */
void tn_rec_put_str(tn_buf_t *b, const char *s, size_t len);
void tn_rec_put_u64(tn_buf_t *b, uint64_t v);
typedef struct tn_rec_reader {
    const char *p, *end;
    bool bad;
} tn_rec_reader_t;
uint64_t tn_rec_get_u64(tn_rec_reader_t *r);
/* Borrowed bytes (not NUL-terminated); NULL and r->bad on a short read. */
const char *tn_rec_get_str(tn_rec_reader_t *r, size_t *len);

#endif
