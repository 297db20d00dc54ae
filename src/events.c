/* Server-Sent Events to the on-call page and other live views. */
#include "tocsin/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tocsin/metrics.h"

#define HEARTBEAT_MS 15000

typedef struct client {
    tn_http_req_t *req;
    struct client *next;
} client_t;

struct tn_events {
    uv_timer_t beat;
    client_t *clients;
    size_t nclients, max_clients, max_queue;
    uint64_t dropped;
    tn_metric_child_t *m_clients, *m_dropped;
};

static void client_end(tn_events_t *e, client_t **link, bool complete)
{
    client_t *c = *link;
    *link = c->next;
    tn_http_stream_end(c->req, complete);
    free(c);
    e->nclients--;
    tn_metric_set(e->m_clients, (double)e->nclients);
}

/* Sends text to every client, dropping those that left or read too slowly. */
static void broadcast(tn_events_t *e, const char *text, size_t len)
{
    for (client_t **link = &e->clients; *link;) {
        client_t *c = *link;
        if (tn_http_stream_dead(c->req)) {
            client_end(e, link, false);
            continue;
        }
        if (tn_http_stream_queued(c->req) + len > e->max_queue) {
            e->dropped++;
            tn_metric_add(e->m_dropped, 1);
            client_end(e, link, false);
            continue;
        }
        char *part = tn_xmalloc(len);
        memcpy(part, text, len);
        tn_http_stream_part(c->req, part, len);
        link = &c->next;
    }
}

static void on_beat(uv_timer_t *t)
{
    tn_events_t *e = t->data;
    static const char ping[] = ": keep-alive\n\n";
    broadcast(e, ping, sizeof(ping) - 1);
}

tn_events_t *tn_events_new(uv_loop_t *loop)
{
    tn_events_t *e = tn_xcalloc(1, sizeof(*e));
    e->max_clients = TN_EVENTS_MAX_CLIENTS;
    e->max_queue = TN_EVENTS_MAX_QUEUE;
    uv_timer_init(loop, &e->beat);
    e->beat.data = e;
    uv_timer_start(&e->beat, on_beat, HEARTBEAT_MS, HEARTBEAT_MS);
    uv_unref((uv_handle_t *)&e->beat);
    e->m_clients = tn_metric_plain(
        tn_metric_gauge("tocsin_events_clients", "Clients of the live events stream.", NULL));
    e->m_dropped = tn_metric_plain(
        tn_metric_counter("tocsin_events_clients_dropped_total",
                          "Events stream clients dropped for reading too slowly.", NULL));
    return e;
}

void tn_events_set_limits(tn_events_t *e, size_t max_clients, size_t max_queue)
{
    if (max_clients)
        e->max_clients = max_clients;
    if (max_queue)
        e->max_queue = max_queue;
}

void tn_events_serve(tn_events_t *e, tn_http_req_t *req)
{
    /* Clients that left are only found when something is written: look before counting. */
    if (e->nclients >= e->max_clients)
        broadcast(e, ": check\n\n", 9);
    if (e->nclients >= e->max_clients) {
        tn_http_respond_error(req, 503, "too many clients of the events stream");
        return;
    }
    tn_http_add_header(req, "Cache-Control", "no-cache");
    tn_http_add_header(req, "X-Accel-Buffering", "no");
    tn_http_stream_begin(req, 200, "text/event-stream; charset=utf-8");
    client_t *c = tn_xcalloc(1, sizeof(*c));
    c->req = req;
    c->next = e->clients;
    e->clients = c;
    e->nclients++;
    tn_metric_set(e->m_clients, (double)e->nclients);
    /* A retry hint for EventSource, and something to read at once: proxies flush headers. */
    static const char hello[] = "retry: 2000\n: connected\n\n";
    char *part = tn_xmalloc(sizeof(hello) - 1);
    memcpy(part, hello, sizeof(hello) - 1);
    tn_http_stream_part(req, part, sizeof(hello) - 1);
}

void tn_events_publish(tn_events_t *e, uint64_t id, const char *kind, const char *json, size_t len)
{
    if (!e || !e->clients)
        return;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_printf(&b, "id: %llu\nevent: %s\ndata: ", (unsigned long long)id, kind);
    tn_buf_append(&b, json, len);
    tn_buf_puts(&b, "\n\n");
    broadcast(e, b.data, b.len);
    tn_buf_free(&b);
}

size_t tn_events_clients(const tn_events_t *e)
{
    return e ? e->nclients : 0;
}

uint64_t tn_events_dropped(const tn_events_t *e)
{
    return e ? e->dropped : 0;
}

static void on_beat_closed(uv_handle_t *h)
{
    free(h->data);
}

void tn_events_free(tn_events_t *e)
{
    if (!e)
        return;
    while (e->clients)
        client_end(e, &e->clients, !tn_http_stream_dead(e->clients->req));
    uv_timer_stop(&e->beat);
    uv_close((uv_handle_t *)&e->beat, on_beat_closed);
}
