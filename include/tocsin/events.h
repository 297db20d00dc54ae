/* The live events stream (tocsin extension): GET /api/tocsin/v1/events as Server-Sent Events.
 *
 * Each published event goes to every connected client as "id: N", "event: KIND" and
 * "data: JSON". A client whose unread bytes pass the cap is dropped (its connection closed):
 * it reconnects and refetches, and the router never holds more than the cap per client. A
 * comment line every 15 s keeps idle proxies from closing the stream and finds clients that
 * left. */
#ifndef TOCSIN_EVENTS_H
#define TOCSIN_EVENTS_H

#include "tocsin/http.h"

typedef struct tn_events tn_events_t;

#define TN_EVENTS_MAX_CLIENTS 256
#define TN_EVENTS_MAX_QUEUE   ((size_t)1 << 20)

tn_events_t *tn_events_new(uv_loop_t *loop);
/* Most clients at once (beyond: 503) and unread bytes per client (beyond: dropped). */
void tn_events_set_limits(tn_events_t *e, size_t max_clients, size_t max_queue);
/* Starts the stream on req (the answer is the events, until the client or the router goes). */
void tn_events_serve(tn_events_t *e, tn_http_req_t *req);
/* json must hold no raw newline (the JSON encoders here escape them). */
void tn_events_publish(tn_events_t *e, uint64_t id, const char *kind, const char *json, size_t len);
size_t tn_events_clients(const tn_events_t *e);
/* Clients dropped for reading too slowly, since start. */
uint64_t tn_events_dropped(const tn_events_t *e);
/* Ends every stream (cleanly) and frees; the heartbeat timer closes on the next loop run. */
void tn_events_free(tn_events_t *e);

#endif
