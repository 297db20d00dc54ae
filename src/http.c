/* The HTTP/1.1 server: libuv TCP + llhttp. See docs/internals/HTTP.md for the connection state
 * machine, the limits and how pipelining is handled. */
#include "tocsin/http.h"
#include "tocsin/labels.h"

#include <arpa/inet.h>
#include <errno.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/oatab.h"
#include "tocsin/tls.h"

/* Read buffers come from a small per-server pool: a connection holds one only while a request
 * is being parsed or is with the handler, so idle keep-alive connections cost no buffer. One
 * spare byte at the end lets a body that arrived in one piece be NUL-terminated in place. */
#define HTTP_RBUF_SIZE  (16 * 1024)
#define HTTP_POOL_MAX   32
#define HTTP_WQ_MAX     (64 * 1024) /* queued response bytes before we stop parsing ahead */
#define HTTP_LINGER_MS  2000        /* draining input after a final response, to avoid RST */
#define HTTP_REJECT_MAX 64          /* connections beyond max_conns answered 503 at a time */
#define HTTP_SHRINK     (64 * 1024) /* per-connection buffers above this are freed when idle */
/* Slots beyond max_conns kept for loopback peers (local health checks), with a short header
 * timeout so that a local flood cannot hold them either. */
#define HTTP_LOOPBACK_RESERVE  64 /* most reserved slots (limits.loopback_reserve) */
#define HTTP_RESERVE_HEADER_MS 2000
/* Past 3/4 of max_conns, a connection that has sent no complete request gets this long for
 * its headers; below 1/2 the normal timeout applies again. */
#define HTTP_PRESSURE_HEADER_MS 5000

enum conn_state {
    CONN_IDLE,    /* keep-alive, between requests: idle timer */
    CONN_HEADERS, /* request line and headers: header timer */
    CONN_BODY,    /* request body: body timer */
    CONN_HANDLER, /* request with the handler: reads stopped, no timer */
    CONN_DRAIN,   /* a streamed answer waits for the peer to read its parts: idle timer */
    CONN_WRITING, /* responses queued beyond HTTP_WQ_MAX: waiting for the peer to read */
    CONN_LINGER,  /* final response sent, write side shut down: draining input */
    CONN_CLOSED,  /* uv_close called: waiting for close callbacks and the handler */
};

static const char *const conn_state_names[] = {"idle",  "headers", "body",   "handler",
                                               "drain", "writing", "linger", "closed"};

struct http_hdr {
    uint32_t name, name_len, val, val_len; /* offsets into conn->hb */
};

/* Decoded query values, one block per tn_http_req_query_values() call. */
struct http_qblk {
    struct http_qblk *next;
    char data[];
};

struct tn_http_req {
    struct http_conn *conn;
    const char *method;
    uint32_t path, query; /* offsets into conn->hb, NUL-terminated */
    const char *body;     /* conn->body.p, or in place in conn->rbuf */
    size_t body_len;
    struct http_qblk *qblocks;
    bool live, head, keep_alive, http11;
    /* a response in parts (tn_http_stream_*) */
    bool streaming, chunked, stream_keep, stream_dead, stream_parts;
    tn_http_drain_fn drain_fn; /* tn_http_stream_wait: called once the queue is low */
    void *drain_ud;
    size_t drain_low;
    size_t charged; /* tn_http_req_charge: bytes held for this answer */
};

/* Header arena: URL, names and values, each NUL-terminated, reused across requests. */
struct http_arena {
    char *p;
    size_t len, cap;
};

typedef struct http_conn {
    uv_tcp_t tcp; /* first: the stream's data pointer is not needed */
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    llhttp_t parser;
    struct tn_http_server *srv;
    struct http_conn *prev, *next;
    uint64_t id;
    enum conn_state state;
    int handles; /* open libuv handles: freed when 0 and no request is live */
    unsigned writes;
    bool reading, in_process, paused, msg_started, msg_complete, eof, shut;
    bool field_open; /* a header name is being received */
    bool body_saved; /* body NUL-terminated in place: saved_byte goes back on respond */
    char saved_byte;
    char *rbuf; /* pooled, HTTP_RBUF_SIZE */
    size_t rlen, rpos;
    struct http_arena hb;
    struct http_hdr *hdrs;
    uint32_t nhdr, hdr_cap, url, url_len;
    size_t header_bytes;
    struct http_arena body; /* body copied when it came in pieces */
    const char *zc;         /* body in place in rbuf (single piece so far) */
    size_t zc_len, body_total;
    int fail_status;
    const char *fail_msg;
    tn_buf_t xhdr; /* extra response headers from tn_http_add_header */
    tn_http_req_t req;
    tn_tls_conn_t *tls; /* NULL: plain HTTP */
    char peer[64];
    uint8_t ip[16];  /* the peer's address (IPv4 as IPv4-mapped), for the per-address share */
    bool ip_counted; /* counted in the server's per-address table until closed */
    bool loopback;
    int reserved;  /* 1 + its index in the server's reserved slots, or 0 */
    bool refused;  /* answered 503 at accept: counted in n_refused */
    uint32_t nreq; /* requests handed to the handler */
} http_conn_t;

/* Open connections per peer address: open addressing, sized at twice the most connections
 * that can be open, so it never fills. */
struct http_addr {
    uint8_t ip[16];
    uint32_t n; /* 0: empty slot */
};

struct tn_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    tn_http_limits_t lim;
    tn_http_handler_fn handler;
    void *ud;
    tn_http_tls_fn tls_fn; /* NULL: plain HTTP */
    void *tls_ud;
    http_conn_t *conns;
    size_t n_open;    /* connections with open handles */
    size_t n_refused; /* of those, refused with a 503 and lingering: they hold no slot */
    size_t n_alive;   /* connection structs not yet freed */
    uint64_t next_id;
    bool listen_init, listen_closed, stopping, freeing;
    char *pool[HTTP_POOL_MAX];
    int npool;
    tn_buf_t scratch; /* response head, reused */
    int64_t date_sec;
    char date[40];
    size_t queued;  /* response bytes waiting in write queues, all connections */
    size_t charged; /* bytes answers in progress hold (tn_http_req_charge) */
    struct http_addr *addrs;
    size_t addr_cap; /* power of two */
    bool pressure;   /* over 3/4 of max_conns: short header timeout for new talkers */
    struct http_conn *reserved[HTTP_LOOPBACK_RESERVE]; /* loopback slots beyond the limits */
};

static const llhttp_settings_t http_settings;
static void conn_process(http_conn_t *c);
static void conn_close(http_conn_t *c);
static void conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void server_maybe_destroy(tn_http_server_t *s);

/* ---- small helpers ---- */

void tn_http_limits_default(tn_http_limits_t *l)
{
    l->max_body = 64u << 20;
    l->max_header = 64u << 10;
    l->max_conns = 4096;
    l->idle_timeout_ms = 120000;
    l->header_timeout_ms = 30000;
    l->body_timeout_ms = 60000;
    l->tls_handshake_timeout_ms = 10000;
    l->max_conns_per_addr = 0;
    l->loopback_reserve = 16;
    l->max_response_bytes = 256u << 20;
}

static const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 200   ? "Informational"
               : status < 300 ? "Success"
               : status < 400 ? "Redirection"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

/* IMF-fixdate, formatted once per second. */
static const char *http_date(tn_http_server_t *s)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t sec = tn_clock_now() / TN_NS_PER_SEC;
    if (sec != s->date_sec || !s->date[0]) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        s->date_sec = sec;
    }
    return s->date;
}

/* Percent-decodes s[0..len) into out (which may be s: decoding only shrinks); plus_space turns
 * '+' into ' ' (query strings). Returns the decoded length, or -1 on a bad escape or a NUL. */
static long url_decode(const char *s, size_t len, char *out, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < len ? tn_hexval((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? tn_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            if (ch == 0)
                return -1;
            i += 2;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        }
        out[o++] = ch;
    }
    out[o] = 0;
    return (long)o;
}

static void arena_reserve(struct http_arena *a, size_t more)
{
    if (a->len + more <= a->cap)
        return;
    size_t cap = a->cap ? a->cap : 1024;
    while (cap < a->len + more)
        cap *= 2;
    a->p = tn_xrealloc(a->p, cap);
    a->cap = cap;
}

static void arena_put(struct http_arena *a, const char *d, size_t n)
{
    arena_reserve(a, n + 1);
    memcpy(a->p + a->len, d, n);
    a->len += n;
}

static void arena_free(struct http_arena *a)
{
    free(a->p);
    a->p = NULL;
    a->len = a->cap = 0;
}

/* ---- read buffer pool ---- */

static char *pool_get(tn_http_server_t *s)
{
    if (s->npool > 0)
        return s->pool[--s->npool];
    return tn_xmalloc(HTTP_RBUF_SIZE);
}

static void pool_put(tn_http_server_t *s, char *b)
{
    if (s->npool < HTTP_POOL_MAX && !s->freeing)
        s->pool[s->npool++] = b;
    else
        free(b);
}

static void conn_release_rbuf(http_conn_t *c)
{
    if (c->rbuf && c->rpos == c->rlen && c->state != CONN_HANDLER && c->state != CONN_DRAIN) {
        pool_put(c->srv, c->rbuf);
        c->rbuf = NULL;
        c->rlen = c->rpos = 0;
    }
}

/* ---- connection state machine ---- */

static void conn_on_timer(uv_timer_t *t);

static void conn_set_state(http_conn_t *c, enum conn_state st)
{
    /* closing is one-way: a late transition (say, from a parser callback still running after
     * a failed write closed the connection) must not re-arm anything */
    if (c->state == st || c->state == CONN_CLOSED || (c->state == CONN_LINGER && st != CONN_CLOSED))
        return;
    if (tn_log_enabled(TN_LOG_DEBUG)) {
        char id[24];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
        tn_log(TN_LOG_DEBUG, "http connection state", "conn", id, "from",
               conn_state_names[c->state], "to", conn_state_names[st], NULL);
    }
    c->state = st;
    if (st == CONN_CLOSED)
        return;
    const tn_http_limits_t *l = &c->srv->lim;
    uint64_t ms = 0;
    switch (st) {
    case CONN_IDLE:
        ms = l->idle_timeout_ms;
        break;
    case CONN_HEADERS:
        ms = l->header_timeout_ms;
        break;
    case CONN_BODY:
        ms = l->body_timeout_ms;
        break;
    case CONN_DRAIN:
    case CONN_WRITING:
        ms = l->idle_timeout_ms;
        break;
    case CONN_LINGER:
        ms = l->idle_timeout_ms ? TN_MIN((uint64_t)HTTP_LINGER_MS, l->idle_timeout_ms)
                                : HTTP_LINGER_MS;
        break;
    default:
        break;
    }
    if (ms)
        uv_timer_start(&c->timer, conn_on_timer, ms, 0);
    else
        uv_timer_stop(&c->timer);
}

static void conn_free(http_conn_t *c)
{
    tn_http_server_t *s = c->srv;
    if (c->rbuf)
        pool_put(s, c->rbuf);
    arena_free(&c->hb);
    arena_free(&c->body);
    free(c->hdrs);
    tn_buf_free(&c->xhdr);
    tn_tls_conn_free(c->tls);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    s->n_alive--;
    server_maybe_destroy(s);
}

static void req_release(tn_http_req_t *r)
{
    if (r->charged) {
        r->conn->srv->charged -= r->charged;
        r->charged = 0;
    }
    r->drain_fn = NULL;
    while (r->qblocks) {
        struct http_qblk *b = r->qblocks;
        r->qblocks = b->next;
        free(b);
    }
    r->live = false;
}

static void conn_on_close(uv_handle_t *h)
{
    http_conn_t *c = h->data;
    c->handles--;
    tn_http_drain_fn fn = c->req.live ? c->req.drain_fn : NULL;
    if (fn) {
        /* the producer of a streamed answer sees it dead and ends it (tn_http_stream_end),
         * which frees the connection once no handle is left */
        c->req.drain_fn = NULL;
        fn(c->req.drain_ud);
        return;
    }
    if (c->handles == 0 && !c->req.live)
        conn_free(c);
}

static void addr_count(tn_http_server_t *s, http_conn_t *c, int delta);

static void conn_close(http_conn_t *c)
{
    if (c->state == CONN_CLOSED)
        return;
    conn_set_state(c, CONN_CLOSED);
    c->srv->n_open--;
    if (c->refused) {
        c->srv->n_refused--;
        c->refused = false;
    }
    if (c->ip_counted) {
        addr_count(c->srv, c, -1);
        c->ip_counted = false;
    }
    if (c->reserved) {
        c->srv->reserved[c->reserved - 1] = NULL;
        c->reserved = 0;
    }
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

/* A response the socket did not take at once: the bytes left, freed in the write callback. */
struct http_wreq {
    uv_write_t req;
    char *owned; /* a response body written in place, freed with the request */
    size_t len;  /* bytes it holds in the queue, counted in the server's queued */
    char data[];
};

static void conn_on_write(uv_write_t *req, int status)
{
    http_conn_t *c = req->data;
    struct http_wreq *w = tn_container_of(req, struct http_wreq, req);
    c->srv->queued -= w->len;
    free(w->owned);
    free(w);
    c->writes--;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->state == CONN_DRAIN && c->req.drain_fn &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= c->req.drain_low) {
        tn_http_drain_fn fn = c->req.drain_fn;
        c->req.drain_fn = NULL;
        conn_set_state(c, CONN_HANDLER);
        fn(c->req.drain_ud);
        return;
    }
    if (c->state == CONN_WRITING &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= HTTP_WQ_MAX) {
        conn_set_state(c, CONN_IDLE);
        conn_process(c);
    }
}

/* Writes bufs, directly when the socket takes them, else from one copy freed in the write
 * callback. owned is NULL or the heap block bufs[n - 1] lies in: what the socket did not take
 * of it is written from where it is (a large answer is not copied again), and it is freed
 * once written. Returns 0 or a libuv error (the connection is then closed). */
static int conn_write_raw(http_conn_t *c, uv_buf_t *bufs, unsigned n, char *owned)
{
    if (c->state == CONN_CLOSED) {
        free(owned);
        return UV_ECANCELED;
    }
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    int rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (rc >= 0 && (size_t)rc == total) {
        free(owned);
        return 0;
    }
    if (rc < 0 && rc != UV_EAGAIN && rc != UV_ENOSYS) {
        free(owned);
        conn_close(c);
        return rc;
    }
    size_t skip = rc > 0 ? (size_t)rc : 0;
    unsigned ncopy = owned && n ? n - 1 : n;
    size_t copy = 0;
    for (unsigned i = 0; i < ncopy; i++)
        copy += bufs[i].len;
    struct http_wreq *w = tn_xmalloc(sizeof(*w) + (copy > skip ? copy - skip : 0));
    w->owned = owned;
    size_t at = 0;
    for (unsigned i = 0; i < ncopy; i++) {
        const char *p = bufs[i].base;
        size_t l = bufs[i].len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        p += skip;
        l -= skip;
        skip = 0;
        memcpy(w->data + at, p, l);
        at += l;
    }
    uv_buf_t out[2];
    unsigned nout = 0;
    if (at)
        out[nout++] = uv_buf_init(w->data, (unsigned)at);
    if (ncopy < n && bufs[n - 1].len > skip)
        out[nout++] = uv_buf_init(bufs[n - 1].base + skip, (unsigned)(bufs[n - 1].len - skip));
    w->req.data = c;
    w->len = 0;
    for (unsigned i = 0; i < nout; i++)
        w->len += out[i].len;
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, out, nout, conn_on_write);
    if (rc < 0) {
        free(w->owned);
        free(w);
        conn_close(c);
        return rc;
    }
    c->srv->queued += w->len;
    c->writes++;
    return 0;
}

/* Sends the ciphertext TLS has produced (handshake messages, records, alerts). */
static int conn_tls_flush(http_conn_t *c)
{
    size_t len;
    const char *p = tn_tls_conn_out(c->tls, &len);
    if (!len)
        return 0;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int rc = conn_write_raw(c, &b, 1, NULL);
    tn_tls_conn_out_consume(c->tls, len); /* written or copied */
    return rc;
}

/* owned as for conn_write_raw. */
static int conn_write(http_conn_t *c, uv_buf_t *bufs, unsigned n, char *owned)
{
    if (!c->tls)
        return conn_write_raw(c, bufs, n, owned);
    int rc = 0;
    if (c->state == CONN_CLOSED)
        rc = UV_ECANCELED;
    for (unsigned i = 0; rc == 0 && i < n; i++)
        if (bufs[i].len && tn_tls_conn_write(c->tls, bufs[i].base, bufs[i].len) < 0) {
            conn_close(c);
            rc = UV_EPROTO;
        }
    free(owned); /* the records hold a copy */
    return rc ? rc : conn_tls_flush(c);
}

static void conn_on_shutdown(uv_shutdown_t *sh, int status)
{
    http_conn_t *c = sh->data;
    c->shut = true;
    if (status < 0 || c->eof)
        conn_close(c);
}

/* Final response queued: shut the write side once it is flushed and drain input until the
 * peer closes (closing with unread input would reset the connection and may destroy the
 * response in flight), bounded by the linger timer. */
static void conn_linger(http_conn_t *c)
{
    if (c->state >= CONN_LINGER)
        return;
    conn_set_state(c, CONN_LINGER);
    c->rpos = c->rlen = 0;
    if (c->tls) {
        tn_tls_conn_close_notify(c->tls);
        if (conn_tls_flush(c) < 0)
            return;
    }
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, conn_on_shutdown) < 0) {
        conn_close(c);
        return;
    }
    if (c->eof)
        return;
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) == 0)
        c->reading = true;
}

static void json_escape(tn_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            tn_buf_putc(b, '\\');
            tn_buf_putc(b, (char)ch);
        } else if (ch == '\n') {
            tn_buf_puts(b, "\\n");
        } else if (ch == '\r') {
            tn_buf_puts(b, "\\r");
        } else if (ch == '\t') {
            tn_buf_puts(b, "\\t");
        } else if (ch < 0x20) {
            char e[7] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], 0};
            tn_buf_puts(b, e);
        } else {
            tn_buf_putc(b, (char)ch);
        }
    }
}

/* Writes one response; head_only leaves the body out but keeps its Content-Length. */
/* Statuses whose responses carry no body. */
static bool http_bodyless(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/* The status line and headers into the server's scratch buffer. len < 0: the body follows in
 * chunks (chunked) or up to the close. */
static tn_buf_t *conn_head(http_conn_t *c, int status, const char *ctype, long long len,
                           bool chunked, bool keep)
{
    tn_buf_t *h = &c->srv->scratch;
    tn_buf_reset(h);
    bool bodyless = http_bodyless(status);
    tn_buf_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_reason(status),
                  http_date(c->srv));
    if (ctype && *ctype && !bodyless)
        tn_buf_printf(h, "Content-Type: %s\r\n", ctype);
    if (!bodyless && status != 304 && len >= 0)
        tn_buf_printf(h, "Content-Length: %lld\r\n", len);
    if (!bodyless && len < 0 && chunked)
        tn_buf_puts(h, "Transfer-Encoding: chunked\r\n");
    tn_buf_puts(h, keep ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    if (c->xhdr.len)
        tn_buf_append(h, c->xhdr.data, c->xhdr.len);
    tn_buf_puts(h, "\r\n");
    tn_buf_reset(&c->xhdr);
    return h;
}

/* owned: NULL, or body's heap block, handed over (freed once written). */
static void conn_send(http_conn_t *c, int status, const char *ctype, const char *body, size_t len,
                      bool head_only, bool keep, char *owned)
{
    bool bodyless = http_bodyless(status);
    tn_buf_t *h = conn_head(c, status, ctype, (long long)len, false, keep);
    uv_buf_t bufs[2] = {uv_buf_init(h->data, (unsigned)h->len), uv_buf_init((char *)body, 0)};
    unsigned n = 1;
    if (!head_only && !bodyless && len) {
        bufs[1].len = len;
        n = 2;
    } else {
        free(owned);
        owned = NULL;
    }
    conn_write(c, bufs, n, owned);
}

static void conn_send_error(http_conn_t *c, int status, const char *msg, bool head_only, bool keep)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_printf(&b, "{\"code\":%d,\"message\":\"", status);
    json_escape(&b, msg);
    tn_buf_puts(&b, "\"}");
    conn_send(c, status, "application/json", b.data, b.len, head_only, keep, NULL);
    tn_buf_free(&b);
}

/* A broken stream or a refused request: answer, then close. */
static void conn_fail(http_conn_t *c, int status, const char *msg)
{
    if (c->state >= CONN_LINGER)
        return;
    if (tn_log_enabled(TN_LOG_DEBUG)) {
        char st[8];
        snprintf(st, sizeof(st), "%d", status);
        tn_log(TN_LOG_DEBUG, "http request refused", "status", st, "err", msg, NULL);
    }
    tn_buf_reset(&c->xhdr);
    conn_send_error(c, status, msg, false, false);
    if (c->state != CONN_CLOSED)
        conn_linger(c);
}

static void conn_on_timer(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    switch (c->state) {
    case CONN_HEADERS:
        if (c->msg_started)
            conn_fail(c, 408, "timed out reading request headers");
        else
            conn_close(c);
        break;
    case CONN_BODY:
        conn_fail(c, 408, "timed out reading request body");
        break;
    default:
        conn_close(c);
        break;
    }
}

/* ---- llhttp callbacks ---- */

static int http_fail(llhttp_t *p, int status, const char *msg)
{
    http_conn_t *c = p->data;
    c->fail_status = status;
    c->fail_msg = msg;
    return HPE_USER;
}

static int http_count_header(llhttp_t *p, size_t n)
{
    http_conn_t *c = p->data;
    c->header_bytes += n;
    if (c->header_bytes > c->srv->lim.max_header)
        return http_fail(p, 431, "request header fields too large");
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (c->state >= CONN_LINGER)
        return -1;
    c->msg_started = true;
    c->msg_complete = false;
    c->hb.len = 0;
    c->nhdr = 0;
    c->header_bytes = 0;
    c->field_open = false;
    c->body.len = 0;
    c->zc = NULL;
    c->zc_len = c->body_total = 0;
    c->url = c->url_len = 0;
    if (c->state == CONN_IDLE)
        conn_set_state(c, CONN_HEADERS);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (http_count_header(p, n))
        return HPE_USER;
    arena_put(&c->hb, at, n);
    c->url_len += (uint32_t)n;
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    arena_put(&c->hb, "", 1);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (http_count_header(p, n + 4))
        return HPE_USER;
    if (!c->field_open) {
        if (c->nhdr == c->hdr_cap) {
            c->hdr_cap = c->hdr_cap ? c->hdr_cap * 2 : 16;
            c->hdrs = tn_xrealloc(c->hdrs, c->hdr_cap * sizeof(*c->hdrs));
        }
        struct http_hdr *h = &c->hdrs[c->nhdr++];
        h->name = (uint32_t)c->hb.len;
        h->name_len = h->val_len = 0;
        h->val = 0;
        c->field_open = true;
    }
    arena_put(&c->hb, at, n);
    c->hdrs[c->nhdr - 1].name_len += (uint32_t)n;
    return 0;
}

/* RFC 9110 token characters: a header name is one token, so "Host : x" or "Ho st: x" is
 * refused (a proxy in front may read such a header differently: request smuggling). */
static bool http_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int on_header_field_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    const struct http_hdr *h = &c->hdrs[c->nhdr - 1];
    if (h->name_len == 0)
        return http_fail(p, 400, "empty header name");
    for (uint32_t i = 0; i < h->name_len; i++)
        if (!http_tchar((unsigned char)c->hb.p[h->name + i]))
            return http_fail(p, 400, "invalid character in header name");
    arena_put(&c->hb, "", 1);
    c->hdrs[c->nhdr - 1].val = (uint32_t)c->hb.len;
    c->field_open = false;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (http_count_header(p, n))
        return HPE_USER;
    arena_put(&c->hb, at, n);
    c->hdrs[c->nhdr - 1].val_len += (uint32_t)n;
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    struct http_hdr *h = &c->hdrs[c->nhdr - 1];
    while (h->val_len &&
           (c->hb.p[h->val + h->val_len - 1] == ' ' || c->hb.p[h->val + h->val_len - 1] == '\t'))
        h->val_len--;
    c->hb.len = h->val + h->val_len;
    arena_put(&c->hb, "", 1);
    return 0;
}

static const char *conn_header(const http_conn_t *c, const char *name)
{
    for (uint32_t i = 0; i < c->nhdr; i++)
        if (strcasecmp(c->hb.p + c->hdrs[i].name, name) == 0)
            return c->hb.p + c->hdrs[i].val;
    return NULL;
}

/* Splits the stored request target into a decoded path and a raw query, in place. */
static int conn_split_target(http_conn_t *c)
{
    char *u = c->hb.p + c->url;
    size_t n = c->url_len;
    char *q = memchr(u, '?', n);
    char *frag = memchr(u, '#', n);
    if (frag) {
        *frag = 0;
        n = (size_t)(frag - u);
        if (q && q > frag)
            q = NULL;
    }
    size_t plen = q ? (size_t)(q - u) : n;
    if (q) {
        *q = 0;
        c->req.query = (uint32_t)(q + 1 - c->hb.p);
    } else {
        c->req.query = (uint32_t)(u + n - c->hb.p); /* the terminating NUL: "" */
    }
    /* absolute-form: http://host/path */
    if (plen && u[0] != '/' && u[0] != '*') {
        char *sep = memmem(u, plen, "://", 3);
        if (!sep)
            return -1;
        char *slash = memchr(sep + 3, '/', plen - (size_t)(sep + 3 - u));
        if (!slash) {
            /* "http://host" means "/": the scheme's ':' is overwritten, nothing else moves */
            sep[0] = '/';
            sep[1] = 0;
            c->req.path = (uint32_t)(sep - c->hb.p);
            return 0;
        }
        plen -= (size_t)(slash - u);
        u = slash;
    }
    if (plen == 0 || (u[0] == '*' && plen != 1))
        return -1;
    if (url_decode(u, plen, u, false) < 0)
        return -1;
    c->req.path = (uint32_t)(u - c->hb.p);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    const tn_http_limits_t *l = &c->srv->lim;
    if (p->http_major != 1 || p->http_minor > 1) {
        http_fail(p, 400, "unsupported HTTP version");
        return -1;
    }
    if (conn_split_target(c) < 0) {
        http_fail(p, 400, "malformed request path");
        return -1;
    }
    bool chunked = (p->flags & F_CHUNKED) != 0;
    bool has_len = (p->flags & F_CONTENT_LENGTH) != 0;
    if (has_len && p->content_length > l->max_body) {
        http_fail(p, 413, "request body too large");
        return -1;
    }
    const char *expect = conn_header(c, "Expect");
    if (expect) {
        if (strcasecmp(expect, "100-continue") != 0) {
            http_fail(p, 417, "unsupported expectation");
            return -1;
        }
        if (p->http_major == 1 && p->http_minor >= 1 && (chunked || p->content_length > 0)) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
            if (conn_write(c, &b, 1, NULL) < 0)
                return -1;
        }
    }
    if (chunked || p->content_length > 0)
        conn_set_state(c, CONN_BODY);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (c->state >= CONN_LINGER)
        return HPE_USER;
    c->body_total += n;
    if (c->body_total > c->srv->lim.max_body)
        return http_fail(p, 413, "request body too large");
    if (!c->zc && c->body.len == 0) {
        c->zc = at;
        c->zc_len = n;
        return 0;
    }
    if (c->zc) {
        arena_put(&c->body, c->zc, c->zc_len);
        c->zc = NULL;
    }
    arena_put(&c->body, at, n);
    return 0;
}

/* A chunk that cannot fit under the body limit is refused before its bytes arrive. */
static int on_chunk_header(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (p->content_length > c->srv->lim.max_body - TN_MIN(c->body_total, c->srv->lim.max_body))
        return http_fail(p, 413, "request body too large");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    c->msg_complete = true;
    c->req.keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    c->req.http11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
    return HPE_PAUSED;
}

static const llhttp_settings_t http_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

/* ---- parsing and dispatch ---- */

/* Small answers that monitoring needs most when the server is loaded. */
static bool http_health_path(const char *path)
{
    size_t n = strlen(path);
    return (n >= 10 && !strcmp(path + n - 10, "/-/healthy")) ||
           (n >= 8 && !strcmp(path + n - 8, "/-/ready")) ||
           (n >= 8 && !strcmp(path + n - 8, "/metrics"));
}

static void conn_dispatch(http_conn_t *c)
{
    tn_http_req_t *r = &c->req;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    conn_set_state(c, CONN_HANDLER);
    c->msg_started = c->msg_complete = false;
    r->conn = c;
    r->method = llhttp_method_name((llhttp_method_t)c->parser.method);
    r->head = c->parser.method == HTTP_HEAD;
    r->qblocks = NULL;
    if (c->zc) {
        /* rbuf is ours until the response, and has a spare byte past the data */
        char *end = (char *)c->zc + c->zc_len;
        c->saved_byte = *end;
        *end = 0;
        c->body_saved = true;
        r->body = c->zc;
        r->body_len = c->zc_len;
    } else {
        arena_reserve(&c->body, 1);
        c->body.p[c->body.len] = 0;
        r->body = c->body.p;
        r->body_len = c->body.len;
    }
    r->live = true;
    c->nreq++;
    tn_http_server_t *s = c->srv;
    if (s->lim.max_response_bytes && s->queued + s->charged > s->lim.max_response_bytes &&
        !http_health_path(tn_http_req_path(r))) {
        /* answers already buffered for slow readers are at the cap: refuse new work rather
         * than grow memory; health checks are a few bytes and stay served */
        tn_http_add_header(r, "Retry-After", "1");
        tn_http_respond_error(r, 503, "response buffers are full; try again");
        return;
    }
    s->handler(s->ud, r);
}

static void conn_parse(http_conn_t *c)
{
    if (c->paused) {
        llhttp_resume(&c->parser);
        c->paused = false;
    }
    const char *data = c->rbuf + c->rpos;
    size_t n = c->rlen - c->rpos;
    enum llhttp_errno e = llhttp_execute(&c->parser, data, n);
    if (c->state >= CONN_LINGER)
        return;
    if (e == HPE_OK) {
        c->rpos = c->rlen;
        if (c->zc) { /* rbuf is about to be reused: keep the body piece */
            arena_put(&c->body, c->zc, c->zc_len);
            c->zc = NULL;
        }
        return;
    }
    if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && c->msg_complete) {
        c->rpos += (size_t)(llhttp_get_error_pos(&c->parser) - data);
        c->paused = true;
        conn_dispatch(c);
        return;
    }
    if (c->fail_status) {
        conn_fail(c, c->fail_status, c->fail_msg);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "malformed HTTP request: %s",
             llhttp_get_error_reason(&c->parser) ? llhttp_get_error_reason(&c->parser)
                                                 : llhttp_errno_name(e));
    conn_fail(c, 400, msg);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    http_conn_t *c = h->data;
    TN_UNUSED(suggested);
    if (c->tls) { /* ciphertext goes to TLS; plaintext reaches rbuf in conn_tls_fill */
        char *p;
        size_t len;
        tn_tls_conn_in_space(c->tls, &p, &len);
        *buf = uv_buf_init(p, (unsigned)len);
        return;
    }
    if (!c->rbuf)
        c->rbuf = pool_get(c->srv);
    if (c->rpos == c->rlen)
        c->rpos = c->rlen = 0;
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(HTTP_RBUF_SIZE - 1 - c->rlen));
}

/* Advances the TLS handshake on the bytes received. 1: done (requests may follow), 0: more
 * bytes needed, -1: failed (the alert is sent, the connection lingers and closes). */
static int conn_tls_handshake(http_conn_t *c)
{
    if (tn_tls_conn_ready(c->tls))
        return 1;
    if (tn_tls_conn_plain_http(c->tls)) { /* answered in plain text, as Go servers do */
        static const char msg[] = "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n"
                                  "Client sent an HTTP request to an HTTPS server.\n";
        uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
        if (conn_write_raw(c, &b, 1, NULL) == 0)
            conn_linger(c);
        return -1;
    }
    char err[256];
    int rc = tn_tls_conn_handshake(c->tls, err, sizeof(err));
    if (conn_tls_flush(c) < 0)
        return -1;
    if (rc == 0)
        return 0;
    if (rc < 0) {
        if (tn_log_enabled(TN_LOG_DEBUG)) {
            tn_http_req_t tmp = {.conn = c};
            tn_log(TN_LOG_DEBUG, "http: TLS handshake error", "peer", tn_http_req_peer(&tmp), "err",
                   err, NULL);
        }
        conn_linger(c);
        return -1;
    }
    /* the request's own header timer starts now */
    if (c->srv->lim.header_timeout_ms)
        uv_timer_start(&c->timer, conn_on_timer, c->srv->lim.header_timeout_ms, 0);
    else
        uv_timer_stop(&c->timer);
    return 1;
}

/* Decrypts what TLS has buffered into rbuf. Returns the bytes added, 0 when TLS needs more
 * input, -1 when the peer closed or the stream broke (treated as EOF). */
static long conn_tls_fill(http_conn_t *c)
{
    if (!tn_tls_conn_ready(c->tls) || !tn_tls_conn_pending(c->tls))
        return 0;
    if (!c->rbuf)
        c->rbuf = pool_get(c->srv);
    if (c->rpos == c->rlen)
        c->rpos = c->rlen = 0;
    long n = tn_tls_conn_read(c->tls, c->rbuf + c->rlen, HTTP_RBUF_SIZE - 1 - c->rlen);
    if (n > 0)
        c->rlen += (size_t)n;
    return n < 0 ? -1 : n;
}

static void conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    http_conn_t *c = st->data;
    TN_UNUSED(buf);
    if (c->state == CONN_CLOSED)
        return;
    if (nread > 0 && c->state == CONN_LINGER) {
        c->rpos = c->rlen = 0;
    } else if (nread > 0 && c->tls) {
        tn_tls_conn_in_commit(c->tls, (size_t)nread);
        if (conn_tls_handshake(c) > 0)
            conn_process(c);
        return;
    } else if (nread > 0) {
        c->rlen += (size_t)nread;
        conn_process(c);
        return;
    } else if (nread < 0) {
        c->eof = true;
        uv_read_stop(st);
        c->reading = false;
        if (c->state == CONN_LINGER) {
            if (c->shut)
                conn_close(c);
        } else if (c->writes) {
            conn_linger(c); /* flush the responses first */
        } else {
            conn_close(c);
        }
    }
    if (c->state != CONN_CLOSED)
        conn_release_rbuf(c);
}

static void conn_read_more(http_conn_t *c)
{
    conn_release_rbuf(c);
    if (c->eof || (c->srv->stopping && !c->msg_started)) {
        if (c->writes || c->eof)
            conn_linger(c);
        else
            conn_close(c);
        return;
    }
    if (!c->reading) {
        int rc = uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
        if (rc < 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    }
}

/* Drives the connection as far as it can go: parses what is buffered, hands complete requests
 * to the handler, and reads more once everything is consumed. Re-entry (a handler answering
 * synchronously) is flattened into the loop. */
static void conn_process(http_conn_t *c)
{
    if (c->in_process)
        return;
    c->in_process = true;
    for (;;) {
        if (c->state >= CONN_HANDLER)
            break;
        if (c->rpos == c->rlen) {
            long n = c->tls ? conn_tls_fill(c) : 0;
            if (n > 0)
                continue;
            if (n < 0) { /* close_notify or a bad record: as EOF */
                c->eof = true;
                if (c->reading) {
                    uv_read_stop((uv_stream_t *)&c->tcp);
                    c->reading = false;
                }
            }
            conn_read_more(c);
            break;
        }
        conn_parse(c);
    }
    c->in_process = false;
}

static void conn_shrink(http_conn_t *c)
{
    if (c->hb.cap > HTTP_SHRINK)
        arena_free(&c->hb);
    if (c->body.cap > HTTP_SHRINK)
        arena_free(&c->body);
    if (c->hdr_cap > 256) {
        free(c->hdrs);
        c->hdrs = NULL;
        c->hdr_cap = 0;
    }
}

/* ---- request accessors and responses ---- */

const char *tn_http_req_method(const tn_http_req_t *r)
{
    return r->method;
}

const char *tn_http_req_path(const tn_http_req_t *r)
{
    return r->conn->hb.p + r->path;
}

const char *tn_http_req_query(const tn_http_req_t *r)
{
    return r->conn->hb.p + r->query;
}

const char *tn_http_req_header(const tn_http_req_t *r, const char *name)
{
    return conn_header(r->conn, name);
}

const char *tn_http_req_body(const tn_http_req_t *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body;
}

const char *tn_http_req_peer(const tn_http_req_t *r)
{
    http_conn_t *c = r->conn;
    if (c->peer[0])
        return c->peer;
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (c->state != CONN_CLOSED && uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, host, sizeof(host));
            port = ntohs(a->sin6_port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            uv_ip4_name(a, host, sizeof(host));
            port = ntohs(a->sin_port);
        }
    }
    if (!host[0])
        return "";
    /* IPv4-mapped peers of a dual-stack listener read as plain IPv4 */
    const char *h = strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') ? host + 7 : host;
    if (strchr(h, ':'))
        snprintf(c->peer, sizeof(c->peer), "[%s]:%d", h, port);
    else
        snprintf(c->peer, sizeof(c->peer), "%s:%d", h, port);
    return c->peer;
}

size_t tn_http_req_query_values(tn_http_req_t *r, const char *name, const char **out, size_t max)
{
    const char *q = tn_http_req_query(r);
    size_t qlen = strlen(q), nlen = strlen(name), count = 0;
    struct http_qblk *blk = NULL;
    size_t used = 0;
    for (const char *p = q; p < q + qlen;) {
        const char *amp = memchr(p, '&', (size_t)(q + qlen - p));
        const char *end = amp ? amp : q + qlen;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq ? eq : end;
        char key[256];
        size_t klen = (size_t)(kend - p);
        if (klen < sizeof(key)) {
            long kl = url_decode(p, klen, key, true);
            if (kl == (long)nlen && memcmp(key, name, nlen) == 0) {
                if (count < max) {
                    if (!blk) {
                        blk = tn_xmalloc(sizeof(*blk) + qlen + 1);
                        blk->next = r->qblocks;
                        r->qblocks = blk;
                    }
                    const char *v = eq ? eq + 1 : end;
                    char *dst = blk->data + used;
                    long vl = url_decode(v, (size_t)(end - v), dst, true);
                    if (vl < 0) { /* undecodable: hand it over raw */
                        memcpy(dst, v, (size_t)(end - v));
                        vl = end - v;
                        dst[vl] = 0;
                    }
                    used += (size_t)vl + 1;
                    out[count] = dst;
                }
                count++;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return count;
}

static bool header_token_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

void tn_http_add_header(tn_http_req_t *r, const char *name, const char *value)
{
    if (!r->live || !header_token_ok(name) || !header_token_ok(value) || !*name) {
        tn_log(TN_LOG_WARN, "http: response header dropped", "name", name, NULL);
        return;
    }
    tn_buf_t *x = &r->conn->xhdr;
    tn_buf_printf(x, "%s: %s\r\n", name, value);
}

/* Puts back the byte the request body lent for its NUL. */
static void req_restore_body(tn_http_req_t *r)
{
    http_conn_t *c = r->conn;
    if (c->body_saved) {
        *((char *)r->body + r->body_len) = c->saved_byte;
        c->body_saved = false;
    }
}

/* Releases a request whose connection went away while the handler worked. */
static void req_drop(tn_http_req_t *r)
{
    http_conn_t *c = r->conn;
    req_release(r);
    tn_buf_reset(&c->xhdr);
    if (c->handles == 0)
        conn_free(c);
}

/* Before a response: false (and the request released) when it cannot be sent. */
static bool http_respond_begin(tn_http_req_t *r, char *owned)
{
    if (!r->live) {
        tn_log(TN_LOG_ERROR, "http: response sent twice for one request", NULL);
        free(owned);
        return false;
    }
    req_restore_body(r);
    if (r->conn->state == CONN_CLOSED) {
        free(owned);
        req_drop(r);
        return false;
    }
    return true;
}

/* After the response is queued: the next request, or the close. */
static void http_respond_done(tn_http_req_t *r, bool keep)
{
    http_conn_t *c = r->conn;
    req_release(r);
    if (c->state == CONN_CLOSED)
        return;
    if (!keep) {
        conn_linger(c);
        return;
    }
    c->body.len = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HTTP_WQ_MAX) {
        conn_set_state(c, CONN_WRITING);
        return;
    }
    conn_set_state(c, CONN_IDLE);
    if (c->rpos == c->rlen)
        conn_shrink(c);
    conn_process(c);
}

static void http_respond(tn_http_req_t *r, int status, const char *content_type, const char *body,
                         size_t len, char *owned)
{
    if (!http_respond_begin(r, owned))
        return;
    http_conn_t *c = r->conn;
    bool keep = r->keep_alive && !c->srv->stopping && !c->eof;
    conn_send(c, status, content_type, body ? body : "", body ? len : 0, r->head, keep, owned);
    http_respond_done(r, keep);
}

void tn_http_stream_begin(tn_http_req_t *r, int status, const char *content_type)
{
    if (!r->live || r->streaming) {
        tn_log(TN_LOG_ERROR, "http: response sent twice for one request", NULL);
        return;
    }
    http_conn_t *c = r->conn;
    req_restore_body(r);
    r->streaming = true;
    r->stream_parts = false;
    r->stream_dead = c->state == CONN_CLOSED;
    if (r->stream_dead)
        return;
    /* HTTP/1.0 has no chunks: its body ends with the connection */
    r->chunked = r->http11;
    r->stream_keep = r->chunked && r->keep_alive && !c->srv->stopping && !c->eof;
    tn_buf_t *h = conn_head(c, status, content_type, -1, r->chunked, r->stream_keep);
    uv_buf_t b = uv_buf_init(h->data, (unsigned)h->len);
    conn_write(c, &b, 1, NULL);
}

void tn_http_stream_part(tn_http_req_t *r, char *owned, size_t len)
{
    http_conn_t *c = r->conn;
    if (!r->streaming || r->stream_dead || r->head || !len || c->state == CONN_CLOSED) {
        free(owned);
        return;
    }
    char size[32];
    /* each chunk but the first closes the one before */
    int n = snprintf(size, sizeof(size), "%s%zx\r\n", r->stream_parts ? "\r\n" : "", len);
    uv_buf_t bufs[2] = {uv_buf_init(size, (unsigned)n), uv_buf_init(owned, (unsigned)len)};
    r->stream_parts = true;
    if (r->chunked)
        conn_write(c, bufs, 2, owned);
    else
        conn_write(c, bufs + 1, 1, owned);
}

bool tn_http_stream_dead(const tn_http_req_t *r)
{
    return !r->streaming || r->stream_dead || r->conn->state == CONN_CLOSED;
}

bool tn_http_is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return false;
    ct += 16;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == 0 || *ct == ';';
}

size_t tn_http_stream_queued(const tn_http_req_t *r)
{
    if (tn_http_stream_dead(r))
        return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&r->conn->tcp);
}

bool tn_http_stream_wait(tn_http_req_t *r, size_t low, tn_http_drain_fn fn, void *ud)
{
    http_conn_t *c = r->conn;
    if (tn_http_stream_dead(r) || uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= low)
        return false;
    r->drain_fn = fn;
    r->drain_ud = ud;
    r->drain_low = low;
    conn_set_state(c, CONN_DRAIN);
    return true;
}

bool tn_http_req_charge(tn_http_req_t *r, size_t bytes)
{
    tn_http_server_t *s = r->conn->srv;
    if (s->lim.max_response_bytes && s->queued + s->charged + bytes > s->lim.max_response_bytes)
        return false;
    s->charged += bytes;
    r->charged += bytes;
    return true;
}

void tn_http_stream_end(tn_http_req_t *r, bool complete)
{
    if (!r->streaming)
        return;
    http_conn_t *c = r->conn;
    r->streaming = false;
    if (r->stream_dead || c->state == CONN_CLOSED) {
        req_drop(r);
        return;
    }
    if (!complete) { /* the client must not take a cut answer for a whole one */
        req_release(r);
        conn_close(c);
        return;
    }
    if (r->chunked && !r->head) {
        static const char last[] = "\r\n0\r\n\r\n";
        size_t off = r->stream_parts ? 0 : 2;
        uv_buf_t b = uv_buf_init((char *)last + off, (unsigned)(sizeof(last) - 1 - off));
        conn_write(c, &b, 1, NULL);
    }
    http_respond_done(r, r->stream_keep);
}

void tn_http_respond(tn_http_req_t *r, int status, const char *content_type, const char *body,
                     size_t len)
{
    http_respond(r, status, content_type, body, len, NULL);
}

void tn_http_respond_owned(tn_http_req_t *r, int status, const char *content_type, char *body,
                           size_t len)
{
    http_respond(r, status, content_type, body, len, body);
}

void tn_http_respond_error(tn_http_req_t *r, int status, const char *msg)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_buf_printf(&b, "{\"code\":%d,\"message\":\"", status);
    json_escape(&b, msg ? msg : "");
    tn_buf_puts(&b, "\"}");
    tn_http_respond(r, status, "application/json", b.data, b.len);
    tn_buf_free(&b);
}

/* ---- server ---- */

/* The server outlives its connections: one whose request is still with the handler keeps it
 * (the handler will call tn_http_respond on it). */
static void server_maybe_destroy(tn_http_server_t *s)
{
    if (!s->freeing || s->n_alive || (s->listen_init && !s->listen_closed))
        return;
    for (int i = 0; i < s->npool; i++)
        free(s->pool[i]);
    tn_buf_free(&s->scratch);
    free(s->addrs);
    free(s);
}

tn_http_server_t *tn_http_server_new(uv_loop_t *loop, const tn_http_limits_t *limits,
                                     tn_http_handler_fn handler, void *ud)
{
    tn_http_server_t *s = tn_xcalloc(1, sizeof(*s));
    s->loop = loop;
    if (limits)
        s->lim = *limits;
    else
        tn_http_limits_default(&s->lim);
    s->handler = handler;
    s->ud = ud;
    s->lim.loopback_reserve = TN_MIN(s->lim.loopback_reserve, (size_t)HTTP_LOOPBACK_RESERVE);
    if (!s->lim.max_conns_per_addr)
        s->lim.max_conns_per_addr = TN_MAX(s->lim.max_conns / 8, (size_t)16);
    size_t most = s->lim.max_conns + HTTP_REJECT_MAX + HTTP_LOOPBACK_RESERVE + 1;
    s->addr_cap = 64;
    while (s->addr_cap < 2 * most)
        s->addr_cap *= 2;
    s->addrs = tn_xcalloc(s->addr_cap, sizeof(*s->addrs));
    tn_buf_init(&s->scratch, 0);
    return s;
}

/* ---- connections per peer address ---- */

static size_t addr_home(const tn_http_server_t *s, const uint8_t ip[16])
{
    uint64_t a, b;
    memcpy(&a, ip, 8);
    memcpy(&b, ip + 8, 8);
    uint64_t h = (a ^ (b * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h ^ (h >> 29)) & (s->addr_cap - 1);
}

#define ADDR_HOME(e)  addr_home(s, (e).ip)
#define ADDR_EMPTY(e) ((e).n == 0)
#define ADDR_CLEAR(e) ((e).n = 0)

/* Adds delta to the peer's count; returns the count after. */
static uint32_t addr_add(tn_http_server_t *s, const uint8_t ip[16], int delta)
{
    size_t mask = s->addr_cap - 1, i = addr_home(s, ip);
    for (; s->addrs[i].n; i = (i + 1) & mask)
        if (!memcmp(s->addrs[i].ip, ip, 16))
            break;
    struct http_addr *e = &s->addrs[i];
    if (!e->n) {
        if (delta <= 0)
            return 0;
        memcpy(e->ip, ip, 16);
    }
    e->n = (uint32_t)((int64_t)e->n + delta);
    uint32_t n = e->n;
    if (!n)
        TN_OA_DELETE_BY(s->addrs, s->addr_cap, i, ADDR_HOME, ADDR_EMPTY, ADDR_CLEAR);
    return n;
}

static void addr_count(tn_http_server_t *s, http_conn_t *c, int delta)
{
    addr_add(s, c->ip, delta);
}

/* The peer's address as 16 bytes, and whether it is the host itself (127.0.0.1 or ::1). */
static bool conn_peer_ip(http_conn_t *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ss.ss_family == AF_INET6) {
        memcpy(c->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        static const uint8_t lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        c->loopback = !memcmp(c->ip, lo6, 16);
    } else if (ss.ss_family == AF_INET) {
        memcpy(c->ip, mapped, 12);
        memcpy(c->ip + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else {
        return false;
    }
    /* the host's own health checks: 127.0.0.1 and ::1, not all of 127/8 */
    static const uint8_t lo4[4] = {127, 0, 0, 1};
    if (!memcmp(c->ip, mapped, 12) && !memcmp(c->ip + 12, lo4, 4))
        c->loopback = true;
    return true;
}

/* A free reserved slot, or the one of the oldest connection there that has not yet sent a
 * whole request (a health check sends its request at once; a flood never does). */
static bool conn_take_reserved(tn_http_server_t *s, http_conn_t *c)
{
    int slot = -1;
    uint64_t oldest = UINT64_MAX;
    for (int i = 0; i < (int)s->lim.loopback_reserve; i++) {
        http_conn_t *o = s->reserved[i];
        if (!o) {
            slot = i;
            break;
        }
        if (o->state == CONN_HEADERS && o->nreq == 0 && o->id < oldest) {
            oldest = o->id;
            slot = i;
        }
    }
    if (slot < 0)
        return false;
    if (s->reserved[slot])
        conn_close(s->reserved[slot]); /* clears the slot */
    s->reserved[slot] = c;
    c->reserved = slot + 1;
    return true;
}

/* Entering pressure: connections that have sent no complete request yet get the short header
 * timeout from now, not their full one. */
static void server_enter_pressure(tn_http_server_t *s)
{
    s->pressure = true;
    tn_log(TN_LOG_WARN, "http: connections near the limit; shortening the header timeout", NULL);
    for (http_conn_t *c = s->conns; c; c = c->next)
        if (c->state == CONN_HEADERS && c->nreq == 0 && uv_is_active((uv_handle_t *)&c->timer) &&
            uv_timer_get_due_in(&c->timer) > HTTP_PRESSURE_HEADER_MS)
            uv_timer_start(&c->timer, conn_on_timer, HTTP_PRESSURE_HEADER_MS, 0);
}

static void server_on_connection(uv_stream_t *ls, int status)
{
    tn_http_server_t *s = ls->data;
    if (status < 0) {
        tn_log(TN_LOG_WARN, "http: accept failed", "err", uv_strerror(status), NULL);
        return;
    }
    http_conn_t *c = tn_xcalloc(1, sizeof(*c));
    c->srv = s;
    c->id = ++s->next_id;
    c->state = CONN_HEADERS;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    tn_buf_init(&c->xhdr, 1u << 20);
    llhttp_init(&c->parser, HTTP_REQUEST, &http_settings);
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_alive++;
    s->n_open++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uint32_t from_addr = 0;
    if (conn_peer_ip(c)) {
        from_addr = addr_add(s, c->ip, 1);
        c->ip_counted = true;
    }
    /* a loopback peer past its share or the cap may take a reserved slot, briefly */
    bool reserved = false;
    size_t in_use = s->n_open - s->n_refused;
    bool over = in_use > s->lim.max_conns || from_addr > s->lim.max_conns_per_addr;
    if (over && c->loopback)
        reserved = conn_take_reserved(s, c);
    if (over && !reserved) {
        const char *why = in_use > s->lim.max_conns ? "too many open connections"
                                                    : "too many connections from one address";
        /* a TLS client could not read a plain 503 */
        if (s->n_refused >= HTTP_REJECT_MAX || s->tls_fn) {
            conn_close(c);
        } else {
            c->refused = true;
            s->n_refused++;
            conn_fail(c, 503, why);
        }
        return;
    }
    if (!s->pressure && in_use * 4 > s->lim.max_conns * 3)
        server_enter_pressure(s);
    else if (s->pressure && in_use * 2 < s->lim.max_conns)
        s->pressure = false;
    uint64_t first_ms = s->lim.header_timeout_ms;
    if (reserved)
        first_ms = TN_MIN(first_ms ? first_ms : UINT64_MAX, (uint64_t)HTTP_RESERVE_HEADER_MS);
    else if (s->pressure)
        first_ms = TN_MIN(first_ms ? first_ms : UINT64_MAX, (uint64_t)HTTP_PRESSURE_HEADER_MS);
    if (s->tls_fn) {
        struct tn_tls_ctx *ctx = s->tls_fn(s->tls_ud);
        if (!ctx) {
            conn_close(c);
            return;
        }
        c->tls = tn_tls_conn_new(ctx);
        if (s->lim.tls_handshake_timeout_ms)
            first_ms = s->lim.tls_handshake_timeout_ms;
    }
    /* the header timer also covers a client that connects and says nothing */
    if (first_ms)
        uv_timer_start(&c->timer, conn_on_timer, first_ms, 0);
    conn_read_more(c);
}

static void listen_err(char *err, size_t errlen, const char *address, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "listen tcp %s: %s", address, what);
}

/* Splits "host:port" ("[v6]:port", ":port"). Returns 0 or -1 with a message in err. */
static int split_hostport(const char *address, char *host, size_t hostlen, int *port, char *err,
                          size_t errlen)
{
    const char *colon = strrchr(address, ':');
    if (!colon) {
        listen_err(err, errlen, address, "missing port in address");
        return -1;
    }
    const char *h = address;
    size_t hl = (size_t)(colon - address);
    if (hl && h[0] == '[') {
        if (h[hl - 1] != ']') {
            listen_err(err, errlen, address, "missing ']' in address");
            return -1;
        }
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        listen_err(err, errlen, address, "too many colons in address");
        return -1;
    }
    if (hl >= hostlen) {
        listen_err(err, errlen, address, "host name too long");
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    const char *ps = colon + 1;
    char *end = NULL;
    errno = 0;
    long p = strtol(ps, &end, 10);
    if (!*ps || *end || errno || p < 0 || p > 65535) {
        char what[96];
        snprintf(what, sizeof(what), "unknown port \"%s\"", ps);
        listen_err(err, errlen, address, what);
        return -1;
    }
    *port = (int)p;
    return 0;
}

/* ":port" binds "::" (dual-stack) when the host can bind IPv6 at all, else 0.0.0.0. */
static bool ipv6_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void server_on_listener_close(uv_handle_t *h)
{
    tn_http_server_t *s = h->data;
    s->listen_closed = true;
    server_maybe_destroy(s);
}

int tn_http_server_listen(tn_http_server_t *s, const char *address, char *err, size_t errlen)
{
    char host[256];
    int port = 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (s->listen_init) {
        listen_err(err, errlen, address, "server is already listening");
        return TN_ERR_EXISTS;
    }
    if (split_hostport(address, host, sizeof(host), &port, err, errlen) < 0)
        return TN_ERR_INVAL;
    if (!host[0]) {
        if (ipv6_available())
            uv_ip6_addr("::", port, (struct sockaddr_in6 *)&ss);
        else
            uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)&ss);
    } else if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0) {
    } else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
    } else {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0 || !res) {
            char what[300];
            snprintf(what, sizeof(what), "lookup %s: %s", host, gai_strerror(rc));
            listen_err(err, errlen, address, what);
            return TN_ERR_INVAL;
        }
        const struct addrinfo *pick = res;
        for (const struct addrinfo *a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET) {
                pick = a;
                break;
            }
        memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
        freeaddrinfo(res);
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    }
    /* a write to a peer that already left must be an EPIPE, not the end of the process */
    signal(SIGPIPE, SIG_IGN);
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    s->listen_init = true;
    /* libuv sets SO_REUSEADDR on bind; "::" is dual-stack (no UV_TCP_IPV6ONLY) */
    int rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 1024, server_on_connection);
    if (rc < 0) {
        listen_err(err, errlen, address, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, server_on_listener_close);
        return TN_ERR_IO;
    }
    return TN_OK;
}

int tn_http_server_port(tn_http_server_t *s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (!s->listen_init || s->listen_closed ||
        uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void tn_http_server_set_tls(tn_http_server_t *s, tn_http_tls_fn tls_for_conn, void *ud)
{
    s->tls_fn = tls_for_conn;
    s->tls_ud = ud;
}

void tn_http_server_stop_accepting(tn_http_server_t *s)
{
    if (s->listen_init && !s->listen_closed && !uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, server_on_listener_close);
    s->stopping = true;
    for (http_conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_IDLE || (c->state == CONN_HEADERS && !c->msg_started)) {
            if (c->writes)
                conn_linger(c);
            else
                conn_close(c);
        }
    }
}

size_t tn_http_server_buffered(const tn_http_server_t *s)
{
    return s->queued + s->charged;
}

size_t tn_http_server_connections(tn_http_server_t *s)
{
    return s->n_open;
}

void tn_http_server_free(tn_http_server_t *s)
{
    if (!s)
        return;
    s->freeing = true;
    s->stopping = true;
    if (s->listen_init && !s->listen_closed && !uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, server_on_listener_close);
    for (http_conn_t *c = s->conns; c; c = c->next)
        conn_close(c);
    server_maybe_destroy(s);
}
