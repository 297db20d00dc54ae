/* Load generator for the tocsin benchmarks; speaks to any server with Alertmanager's API.
 *
 *   loadgen ingest  --port P [--conns N] [--batch B] [--identities K] [--warmup S] [--duration S]
 *   loadgen load    --port P --count N [--batch B] [--conns N]
 *   loadgen latency --port P --sink-port Q [--count N]
 *   loadgen freeport
 *   loadgen size [--shape S]   (bytes of JSON of one alert)
 *   loadgen null --port P   (answers every request with an empty 200: the generator's ceiling)
 *   loadgen sink --port P   (webhook sink: "<unix time> <groupKey> <externalURL>" per request)
 * (ingest also takes --server-pid PID to report the server's CPU seconds in the window)
 * ingest takes --port P1,P2,... to post every alert to each of several replicas, N connections
 * to each, and --server-pid A,B,... to sum their CPU time (each one is also reported).
 * load takes --alertname-prefix X to give alert i the alertname X<i> (one group each), and
 * --starts-ago S for a startsAt S seconds back (default 60; 0: new groups wait their group_wait).
 * ingest and load take --shape realistic for alerts whose annotations carry about 250 unique
 * bytes (summary, description) plus a runbook_url, with a generatorURL per rule (default: small,
 * about 160 unique annotation bytes and one generatorURL).
 *
 * ingest: N keep-alive connections, one request in flight on each, bodies built before the
 * clock starts and cycled through K alert identities; prints alerts/s over the measured window.
 * load: posts N distinct alerts once (the memory benchmark).
 * latency: serves a webhook sink on 127.0.0.1:Q, posts one alert at a time (each its own group)
 * and times POST -> webhook arrival.
 * Output is one line of key=value pairs on stdout; diagnostics go to stderr. Built by
 * bench/run.sh and bench/ha.sh with `cc -O2`; not part of the main build. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_CONNS 256
#define LG_MAX_PORTS 8
#define LG_MAX_PIDS  16
#define LG_RBUF      65536

static void lg_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *lg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        lg_die("out of memory");
    return p;
}

static long lg_num(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v < 0)
        lg_die("bad number for %s: %s", what, s);
    return v;
}

/* ---- growable byte buffer ---- */

typedef struct {
    char *p;
    size_t len, cap;
} lg_buf_t;

static void lg_buf_reserve(lg_buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
        lg_die("out of memory");
    b->p = np;
    b->cap = cap;
}

static void lg_buf_printf(lg_buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            lg_die("vsnprintf failed");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        lg_buf_reserve(b, (size_t)n + 1);
    }
}

/* ---- realistic alerts ---- */

static const char *const lg_alertnames[] = {
    "KubePodCrashLooping", "KubePodNotReady",     "HighRequestLatency", "HighErrorRate",
    "NodeFilesystemFull",  "NodeMemoryPressure",  "TargetDown",         "CPUThrottlingHigh",
    "KubeJobFailed",       "ContainerOOMKilled",  "DiskIOSaturation",   "CertificateExpiry",
    "EtcdHighFsync",       "PersistentVolumeLow", "APIServerErrors",    "IngressHigh5xx",
};
static const char *const lg_jobs[] = {"node-exporter", "kube-state-metrics", "kubelet",
                                      "api-gateway",   "payments",           "blackbox"};
static const char *const lg_sev[] = {"critical", "warning", "warning", "info"};
static const char *const lg_teams[] = {"platform", "payments", "search", "storage", "identity"};
static const char *const lg_clusters[] = {"prod-eu-west-1", "prod-us-east-1", "staging-eu-west-1"};
static const char *lg_name_prefix; /* load: alertname <prefix><id> instead of the 16 names */
static int lg_realistic;           /* --shape realistic */

#define LG_N(a) (sizeof(a) / sizeof((a)[0]))

static char lg_starts[40], lg_ends[40];
static long lg_starts_ago = 60; /* seconds; 0 makes group_wait apply in full to new groups */

/* RFC 3339 with milliseconds: a startsAt truncated to the second would shorten group_wait. */
static void lg_time_format(char *out, size_t n, time_t sec, long ms)
{
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t l = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + l, n - l, ".%03ldZ", ms);
}

static void lg_times_init(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ms = now.tv_nsec / 1000000;
    lg_time_format(lg_starts, sizeof lg_starts, now.tv_sec - lg_starts_ago, ms);
    /* nothing resolves during a run */
    lg_time_format(lg_ends, sizeof lg_ends, now.tv_sec + 24 * 3600, ms);
}

/* --shape realistic: as a kube-prometheus rule writes them, about 250 unique bytes of
 * annotations; the runbook and the generatorURL depend on the rule (the alertname) only. */
static void lg_alert_json_realistic(lg_buf_t *b, unsigned id, const char *an)
{
    const char *job = lg_jobs[(id / 7) % LG_N(lg_jobs)];
    const char *cl = lg_clusters[(id / 3) % LG_N(lg_clusters)];
    unsigned ns = id % 97, a = (id >> 16) & 255, c = (id >> 8) & 255, d = id & 255;
    lg_buf_printf(
        b,
        "{\"labels\":{\"alertname\":\"%s\",\"instance\":\"10.%u.%u.%u:9100\","
        "\"job\":\"%s\",\"severity\":\"%s\",\"team\":\"%s\",\"cluster\":\"%s\","
        "\"namespace\":\"app-%02u\",\"pod\":\"%s-7d9f8b6c5-%06u\"},"
        "\"annotations\":{\"summary\":\"%s: pod app-%02u/%s-7d9f8b6c5-%06u on 10.%u.%u.%u is "
        "failing\",\"description\":\"Pod app-%02u/%s-7d9f8b6c5-%06u (instance 10.%u.%u.%u:9100, "
        "cluster %s) has been in a failing state for more than 10 minutes; the last %u restarts "
        "ended with exit code %u. Check its logs and recent deploys.\","
        "\"runbook_url\":\"https://runbooks.example.com/alerts/%s\"},"
        "\"startsAt\":\"%s\",\"endsAt\":\"%s\","
        "\"generatorURL\":\"http://prometheus-0.monitoring:9090/graph?g0.expr=%s%%7Bjob%%3D%%22"
        "%s%%22%%7D+%%3E+0&g0.tab=1\"}",
        an, a, c, d, job, lg_sev[id % LG_N(lg_sev)], lg_teams[(id / 5) % LG_N(lg_teams)], cl, ns,
        job, id, an, ns, job, id, a, c, d, ns, job, id, a, c, d, cl, 3 + id % 17, 1 + id % 3, an,
        lg_starts, lg_ends, an, job);
}

/* One alert of identity `id` (labels depend on id only), about 560 bytes of JSON. */
static void lg_alert_json(lg_buf_t *b, unsigned id, const char *alertname)
{
    const char *an = alertname ? alertname : lg_alertnames[id % LG_N(lg_alertnames)];
    char own[96];
    if (!alertname && lg_name_prefix) {
        snprintf(own, sizeof own, "%s%06u", lg_name_prefix, id);
        an = own;
    }
    if (lg_realistic) {
        lg_alert_json_realistic(b, id, an);
        return;
    }
    const char *job = lg_jobs[(id / 7) % LG_N(lg_jobs)];
    const char *cl = lg_clusters[(id / 3) % LG_N(lg_clusters)];
    unsigned ns = id % 97;
    lg_buf_printf(
        b,
        "{\"labels\":{\"alertname\":\"%s\",\"instance\":\"10.%u.%u.%u:9100\","
        "\"job\":\"%s\",\"severity\":\"%s\",\"team\":\"%s\",\"cluster\":\"%s\","
        "\"namespace\":\"app-%02u\",\"pod\":\"%s-7d9f8b6c5-%06u\"},"
        "\"annotations\":{\"summary\":\"%s on pod app-%02u/%s-%06u\","
        "\"description\":\"Pod %06u in namespace app-%02u of %s has been failing for "
        "more than 10 minutes (threshold 5).\"},"
        "\"startsAt\":\"%s\",\"endsAt\":\"%s\","
        "\"generatorURL\":\"http://prometheus-0.monitoring:9090/graph?g0.expr=up%%3D%%3D0\"}",
        an, (id >> 16) & 255, (id >> 8) & 255, id & 255, job, lg_sev[id % LG_N(lg_sev)],
        lg_teams[(id / 5) % LG_N(lg_teams)], cl, ns, job, id, an, ns, job, id, id, ns, cl,
        lg_starts, lg_ends);
}

/* A whole POST request whose body holds alerts first, first+1, ... (mod modulo). */
static void lg_request(lg_buf_t *out, int port, unsigned first, unsigned batch, unsigned modulo,
                       const char *alertname)
{
    lg_buf_t body = {0};
    lg_buf_printf(&body, "[");
    for (unsigned j = 0; j < batch; j++) {
        if (j)
            lg_buf_printf(&body, ",");
        lg_alert_json(&body, modulo ? (first + j) % modulo : first + j, alertname);
    }
    lg_buf_printf(&body, "]");
    out->len = 0;
    lg_buf_printf(out,
                  "POST /api/v2/alerts HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  "User-Agent: tocsin-bench\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  port, body.len);
    lg_buf_reserve(out, body.len);
    memcpy(out->p + out->len, body.p, body.len);
    out->len += body.len;
    free(body.p);
}

/* ---- HTTP/1.1 message reader (responses from the server, requests to the sink) ---- */

typedef struct {
    char buf[LG_RBUF];
    size_t len;
    int status;     /* response status, or 0 for a request */
    size_t hdr_end; /* 0 until the header block is complete */
    long clen;      /* -1 when chunked */
    int close;      /* peer said Connection: close */
} lg_msg_t;

/* Finds the header value `name` (case-insensitive) in hdr[0..n). */
static const char *lg_header(const char *hdr, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = hdr, *end = hdr + n;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Returns the length of the first complete message in m->buf, 0 if more bytes are needed,
 * -1 on garbage. */
static long lg_msg_complete(lg_msg_t *m, int is_response)
{
    if (!m->hdr_end) {
        char *e = memmem(m->buf, m->len, "\r\n\r\n", 4);
        if (!e) {
            if (m->len == sizeof m->buf)
                return -1;
            return 0;
        }
        m->hdr_end = (size_t)(e - m->buf) + 4;
        m->status = 0;
        if (is_response) {
            if (m->len < 12 || strncmp(m->buf, "HTTP/1.", 7) != 0)
                return -1;
            m->status = (m->buf[9] - '0') * 100 + (m->buf[10] - '0') * 10 + (m->buf[11] - '0');
        }
        size_t vl = 0;
        const char *v = lg_header(m->buf, m->hdr_end, "Content-Length", &vl);
        m->clen = 0;
        if (v) {
            char tmp[24];
            if (vl >= sizeof tmp)
                return -1;
            memcpy(tmp, v, vl);
            tmp[vl] = 0;
            m->clen = strtol(tmp, NULL, 10);
        } else if ((v = lg_header(m->buf, m->hdr_end, "Transfer-Encoding", &vl)) && vl >= 7 &&
                   strncasecmp(v, "chunked", 7) == 0) {
            m->clen = -1;
        }
        v = lg_header(m->buf, m->hdr_end, "Connection", &vl);
        m->close = v && vl >= 5 && strncasecmp(v, "close", 5) == 0;
    }
    if (m->clen >= 0) {
        size_t total = m->hdr_end + (size_t)m->clen;
        if (total > sizeof m->buf)
            return -1;
        return m->len >= total ? (long)total : 0;
    }
    /* chunked: walk the chunks that are complete */
    size_t p = m->hdr_end;
    for (;;) {
        char *eol = memmem(m->buf + p, m->len - p, "\r\n", 2);
        if (!eol)
            return m->len == sizeof m->buf ? -1 : 0;
        long sz = strtol(m->buf + p, NULL, 16);
        p = (size_t)(eol - m->buf) + 2;
        if (sz == 0) {
            char *fin = memmem(m->buf + p - 2, m->len - (p - 2), "\r\n\r\n", 4);
            if (!fin)
                return 0;
            return (long)((size_t)(fin - m->buf) + 4);
        }
        if (m->len < p + (size_t)sz + 2)
            return m->len == sizeof m->buf ? -1 : 0;
        p += (size_t)sz + 2;
    }
}

static void lg_msg_consume(lg_msg_t *m, size_t n)
{
    memmove(m->buf, m->buf + n, m->len - n);
    m->len -= n;
    m->hdr_end = 0;
}

/* ---- client connections ---- */

typedef struct {
    int fd;
    const char *req; /* request being written */
    size_t req_len, off;
    unsigned req_alerts;
    double t_sent;
    int busy;
    lg_buf_t own; /* request built for this connection (load mode) */
    lg_msg_t in;
    int port_idx; /* which of lg_ports it talks to */
} lg_conn_t;

static int lg_port; /* the first of lg_ports */
static int lg_ports[LG_MAX_PORTS], lg_nports;
static long lg_server_pids[LG_MAX_PIDS]; /* none: do not sample the servers' CPU time */
static int lg_npids;

/* CPU seconds this process has used. */
static double lg_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds (user + system, all threads) process `pid` has used so far, or -1. */
static double lg_pid_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of all the servers together, or -1; each one's into each[] when not NULL. */
static double lg_server_cpu(double *each)
{
    if (lg_npids == 0)
        return -1;
    double sum = 0;
    for (int i = 0; i < lg_npids; i++) {
        double v = lg_pid_cpu(lg_server_pids[i]);
        if (v < 0)
            return -1;
        if (each)
            each[i] = v;
        sum += v;
    }
    return sum;
}

static int lg_connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        lg_die("socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        lg_die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int lg_connect(void)
{
    return lg_connect_to(lg_port);
}

/* Request source: returns the next request for a connection. */
typedef struct {
    lg_buf_t *prebuilt[LG_MAX_PORTS]; /* ingest: cycled, one set per port (its Host header) */
    size_t nprebuilt, next[LG_MAX_PORTS];
    unsigned batch;
    /* load mode: distinct alerts [0, count) */
    unsigned count, sent_alerts;
    int load;
} lg_source_t;

static int lg_next_request(lg_source_t *src, lg_conn_t *c)
{
    if (src->load) {
        if (src->sent_alerts >= src->count)
            return 0;
        unsigned n = src->count - src->sent_alerts;
        if (n > src->batch)
            n = src->batch;
        lg_request(&c->own, lg_port, src->sent_alerts, n, 0, NULL);
        src->sent_alerts += n;
        c->req = c->own.p;
        c->req_len = c->own.len;
        c->req_alerts = n;
    } else {
        int p = c->port_idx;
        lg_buf_t *b = &src->prebuilt[p][src->next[p]];
        src->next[p] = (src->next[p] + 1) % src->nprebuilt;
        c->req = b->p;
        c->req_len = b->len;
        c->req_alerts = src->batch;
    }
    c->off = 0;
    c->busy = 1;
    return 1;
}

/* Writes what it can; returns -1 on a dead connection. */
static int lg_flush(lg_conn_t *c)
{
    while (c->off < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->off, c->req_len - c->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->off += (size_t)n;
    }
    return 0;
}

typedef struct {
    unsigned long requests, alerts, errors, reconnects;
    unsigned long port_alerts[LG_MAX_PORTS];
} lg_counts_t;

static double lg_gen_cpu_warm, lg_gen_cpu_end;
static double lg_cpu_each_warm[LG_MAX_PIDS], lg_cpu_each_end[LG_MAX_PIDS];

/* Drives the client connections until the source is exhausted (load) or until `until`
 * (ingest). `window_start` > 0 snapshots the counters into *warm at that time. */
static void lg_drive(lg_source_t *src, int nconns, double warm_end, double until, lg_counts_t *tot,
                     lg_counts_t *warm, double *t_warm, double *t_end, double *cpu_warm,
                     double *cpu_end)
{
    lg_conn_t *conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns)
        lg_die("out of memory");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int active = 0, warm_taken = 0;
    for (int i = 0; i < nconns; i++) {
        conns[i].port_idx = lg_nports > 1 ? i % lg_nports : 0;
        conns[i].fd = lg_connect_to(lg_ports[conns[i].port_idx]);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        if (lg_next_request(src, &conns[i])) {
            conns[i].t_sent = lg_now();
            if (lg_flush(&conns[i]) < 0)
                lg_die("send failed");
            active++;
        }
    }
    struct epoll_event evs[LG_MAX_CONNS];
    while (active > 0) {
        double now = lg_now();
        if (until > 0 && now >= until)
            break;
        if (!warm_taken && warm_end > 0 && now >= warm_end) {
            *warm = *tot;
            *t_warm = now;
            *cpu_warm = lg_server_cpu(lg_cpu_each_warm);
            lg_gen_cpu_warm = lg_self_cpu();
            warm_taken = 1;
        }
        int n = epoll_wait(ep, evs, LG_MAX_CONNS, 50);
        if (n < 0 && errno != EINTR)
            lg_die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++) {
            lg_conn_t *c = &conns[evs[k].data.u32];
            if (!c->busy)
                continue;
            if ((evs[k].events & EPOLLOUT) && lg_flush(c) < 0)
                goto dead;
            for (;;) {
                ssize_t r = recv(c->fd, c->in.buf + c->in.len, sizeof c->in.buf - c->in.len, 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0 && errno == EAGAIN)
                    break;
                if (r <= 0)
                    goto dead;
                c->in.len += (size_t)r;
                long m = lg_msg_complete(&c->in, 1);
                if (m < 0)
                    lg_die("unparseable response");
                if (m == 0)
                    continue;
                if (c->in.len != (size_t)m)
                    lg_die("server sent more than one response");
                tot->requests++;
                if (c->in.status == 200) {
                    tot->alerts += c->req_alerts;
                    tot->port_alerts[c->port_idx] += c->req_alerts;
                } else {
                    if (tot->errors < 3)
                        fprintf(stderr, "loadgen: status %d: %.200s\n", c->in.status,
                                c->in.buf + c->in.hdr_end);
                    tot->errors++;
                }
                int closing = c->in.close;
                lg_msg_consume(&c->in, (size_t)m);
                c->busy = 0;
                active--;
                if (closing) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = lg_connect_to(lg_ports[c->port_idx]);
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                                             .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                    tot->reconnects++;
                }
                if (lg_next_request(src, c)) {
                    active++;
                    c->t_sent = lg_now();
                    if (lg_flush(c) < 0)
                        goto dead;
                }
                break;
            }
            continue;
        dead:
            lg_die("connection closed by server (requests so far %lu)", tot->requests);
        }
    }
    *t_end = lg_now();
    *cpu_end = lg_server_cpu(lg_cpu_each_end);
    lg_gen_cpu_end = lg_self_cpu();
    if (!warm_taken && warm_end > 0) {
        *warm = *tot;
        *t_warm = *t_end;
        *cpu_warm = *cpu_end;
        memcpy(lg_cpu_each_warm, lg_cpu_each_end, sizeof lg_cpu_each_warm);
    }
    for (int i = 0; i < nconns; i++) {
        close(conns[i].fd);
        free(conns[i].own.p);
    }
    free(conns);
    close(ep);
}

/* ---- latency: webhook sink + sequential probes ---- */

static int lg_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* a deep backlog: a fan-out opens thousands of webhook connections at once */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0)
        lg_die("sink on 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define LG_SINKS 32

static int lg_latency(int sink_port, unsigned count, double timeout)
{
    int lfd = lg_listen(sink_port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    lg_msg_t *sinks = calloc(LG_SINKS, sizeof *sinks);
    int sfd[LG_SINKS];
    for (int i = 0; i < LG_SINKS; i++)
        sfd[i] = -1;
    double *lat = lg_xmalloc(count * sizeof *lat);
    unsigned got = 0, lost = 0;
    lg_conn_t c = {0};
    c.fd = lg_connect();
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) & ~O_NONBLOCK);
    unsigned nonce = (unsigned)time(NULL) % 100000;
    for (unsigned i = 0; i < count; i++) {
        char an[64];
        snprintf(an, sizeof an, "LatencyProbe%05u_%05u", nonce, i);
        lg_request(&c.own, lg_port, i, 1, 0, an);
        double t0 = lg_now();
        c.req = c.own.p;
        c.req_len = c.own.len;
        c.off = 0;
        if (lg_flush(&c) < 0)
            lg_die("send failed");
        int acked = 0, arrived = 0;
        double t1 = 0;
        while (!(acked && arrived)) {
            double left = t0 + timeout - lg_now();
            if (left <= 0)
                break;
            /* the POST's own response is read blocking-free through poll on the client fd */
            struct epoll_event evs[LG_SINKS + 2];
            if (!acked) {
                struct epoll_event cev = {.events = EPOLLIN, .data.u32 = 0xfffffffeu};
                epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &cev);
            }
            int n = epoll_wait(ep, evs, LG_SINKS + 2, (int)(left * 1000) + 1);
            if (!acked)
                epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, NULL);
            for (int k = 0; k < n; k++) {
                uint32_t id = evs[k].data.u32;
                if (id == 0xfffffffeu) {
                    ssize_t r = recv(c.fd, c.in.buf + c.in.len, sizeof c.in.buf - c.in.len, 0);
                    if (r <= 0)
                        lg_die("server closed the probe connection");
                    c.in.len += (size_t)r;
                    long m = lg_msg_complete(&c.in, 1);
                    if (m < 0)
                        lg_die("unparseable response");
                    if (m > 0) {
                        if (c.in.status != 200)
                            lg_die("probe POST got status %d", c.in.status);
                        lg_msg_consume(&c.in, (size_t)m);
                        acked = 1;
                    }
                } else if (id == 0xffffffffu) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (fd < 0)
                        continue;
                    int slot = -1;
                    for (int s = 0; s < LG_SINKS; s++)
                        if (sfd[s] < 0) {
                            slot = s;
                            break;
                        }
                    if (slot < 0) {
                        close(fd);
                        continue;
                    }
                    sfd[slot] = fd;
                    sinks[slot].len = 0;
                    sinks[slot].hdr_end = 0;
                    struct epoll_event sev = {.events = EPOLLIN, .data.u32 = (uint32_t)slot};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &sev);
                } else {
                    lg_msg_t *m = &sinks[id];
                    ssize_t r = recv(sfd[id], m->buf + m->len, sizeof m->buf - m->len, 0);
                    if (r <= 0) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, sfd[id], NULL);
                        close(sfd[id]);
                        sfd[id] = -1;
                        continue;
                    }
                    m->len += (size_t)r;
                    long len;
                    while ((len = lg_msg_complete(m, 0)) > 0) {
                        double now = lg_now();
                        if (memmem(m->buf, (size_t)len, an, strlen(an)) && !arrived) {
                            arrived = 1;
                            t1 = now;
                        }
                        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if (send(sfd[id], ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
                            fprintf(stderr, "loadgen: sink reply failed\n");
                        lg_msg_consume(m, (size_t)len);
                    }
                    if (len < 0)
                        lg_die("unparseable webhook request");
                }
            }
        }
        if (!acked)
            lg_die("probe %u: no response to POST within %.0fs", i, timeout);
        if (!arrived) {
            lost++;
            fprintf(stderr, "loadgen: probe %u: no webhook within %.1fs\n", i, timeout);
            continue;
        }
        lat[got++] = (t1 - t0) * 1000.0;
    }
    close(c.fd);
    free(c.own.p);
    for (int s = 0; s < LG_SINKS; s++)
        if (sfd[s] >= 0)
            close(sfd[s]);
    close(lfd);
    close(ep);
    free(sinks);
    if (got == 0) {
        printf("probes=%u received=0 lost=%u\n", count, lost);
        free(lat);
        return 1;
    }
    qsort(lat, got, sizeof *lat, lg_cmp_double);
    size_t p99 = (size_t)((got - 1) * 0.99 + 0.5);
    double sum = 0;
    for (unsigned i = 0; i < got; i++)
        sum += lat[i];
    printf("probes=%u received=%u lost=%u median_ms=%.2f p99_ms=%.2f mean_ms=%.2f max_ms=%.2f\n",
           count, got, lost, got % 2 ? lat[got / 2] : (lat[got / 2 - 1] + lat[got / 2]) / 2,
           lat[p99], sum / got, lat[got - 1]);
    free(lat);
    return lost ? 1 : 0;
}

/* A server that answers every request with an empty 200: measures the generator's own ceiling. */
static int lg_null_server(int port)
{
    int lfd = lg_listen(port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int k = 0; k < n; k++) {
            if (!evs[k].data.ptr) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                    continue;
                struct {
                    int fd;
                    lg_msg_t m;
                } *c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                continue;
            }
            struct {
                int fd;
                lg_msg_t m;
            } *c = evs[k].data.ptr;
            ssize_t r = recv(c->fd, c->m.buf + c->m.len, sizeof c->m.buf - c->m.len, 0);
            if (r <= 0) {
                close(c->fd);
                free(c);
                continue;
            }
            c->m.len += (size_t)r;
            long len;
            while ((len = lg_msg_complete(&c->m, 0)) > 0) {
                if (send(c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
                    break;
                lg_msg_consume(&c->m, (size_t)len);
            }
            if (len < 0) { /* garbage or a request larger than the buffer */
                close(c->fd);
                free(c);
            }
        }
    }
    return 0;
}

/* Writes the string value of JSON key `key` in body[0..n) as it appears (escapes kept, spaces
 * as '_' so that the line splits on spaces), or "-". */
static void lg_put_json_string(FILE *out, const char *body, size_t n, const char *key)
{
    char tag[64];
    int tl = snprintf(tag, sizeof tag, "\"%s\":\"", key);
    const char *p = memmem(body, n, tag, (size_t)tl);
    if (!p) {
        fputc('-', out);
        return;
    }
    const char *end = body + n;
    for (p += tl; p < end && *p != '"'; p++) {
        if (*p == '\\' && p + 1 < end)
            fputc(*p++, out);
        fputc(*p == '\n' || *p == ' ' ? '_' : *p, out);
    }
}

/* Webhook sink for the fan-out benchmark: answers every request with an empty 200 and prints
 * "<unix time> <groupKey> <externalURL>" for each, so that a script can count notifications
 * per group and per sending replica.
 * Any number of connections (Alertmanager opens one per notification in flight). */
static int lg_sink(int port)
{
    int lfd = lg_listen(port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    typedef struct {
        int fd;
        lg_msg_t m;
    } lg_sink_conn_t;
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            lg_die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++) {
            if (!evs[k].data.ptr) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE)
                        lg_die("sink: out of file descriptors");
                    continue;
                }
                lg_sink_conn_t *c = calloc(1, sizeof *c);
                if (!c)
                    lg_die("out of memory");
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                continue;
            }
            lg_sink_conn_t *c = evs[k].data.ptr;
            ssize_t r = recv(c->fd, c->m.buf + c->m.len, sizeof c->m.buf - c->m.len, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                close(c->fd);
                free(c);
                continue;
            }
            c->m.len += (size_t)r;
            long len;
            while ((len = lg_msg_complete(&c->m, 0)) > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                printf("%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
                const char *body = c->m.buf + c->m.hdr_end;
                size_t blen = (size_t)len - c->m.hdr_end;
                lg_put_json_string(stdout, body, blen, "groupKey");
                putchar(' ');
                lg_put_json_string(stdout, body, blen, "externalURL");
                putchar('\n');
                if (send(c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
                    break;
                lg_msg_consume(&c->m, (size_t)len);
            }
            if (len < 0) { /* garbage or a request larger than the buffer */
                fprintf(stderr, "loadgen: sink dropped an unparseable request\n");
                close(c->fd);
                free(c);
            }
        }
        fflush(stdout); /* the script watches the file while the sink runs */
    }
    return 0;
}

/* Parses "a,b,c" into out[]; returns the count. */
static int lg_list(const char *v, long *out, int max, const char *what)
{
    int n = 0;
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        lg_die("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max)
            lg_die("too many values for %s (at most %d)", what, max);
        out[n++] = lg_num(t, what);
    }
    free(copy);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        lg_die("usage: loadgen ingest|load|latency|sink|null|freeport --port P [options] (see the "
               "source)");
    const char *mode = argv[1];
    if (!strcmp(mode, "freeport")) {
        /* a port the kernel has just handed out; free again when printed */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof sa;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
            lg_die("freeport: %s", strerror(errno));
        printf("%d\n", ntohs(sa.sin_port));
        close(fd);
        return 0;
    }
    long conns = 8, batch = 1, identities = 10000, count = 0, sink_port = 0;
    double warmup = 2, duration = 10, timeout = 10;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            lg_die("missing value for %s", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) {
            long ports[LG_MAX_PORTS];
            lg_nports = lg_list(v, ports, LG_MAX_PORTS, a);
            for (int k = 0; k < lg_nports; k++) {
                if (ports[k] <= 0 || ports[k] > 65535)
                    lg_die("bad port %ld", ports[k]);
                lg_ports[k] = (int)ports[k];
            }
            lg_port = lg_nports ? lg_ports[0] : 0;
        } else if (!strcmp(a, "--alertname-prefix"))
            lg_name_prefix = v;
        else if (!strcmp(a, "--conns"))
            conns = lg_num(v, a);
        else if (!strcmp(a, "--batch"))
            batch = lg_num(v, a);
        else if (!strcmp(a, "--identities"))
            identities = lg_num(v, a);
        else if (!strcmp(a, "--count"))
            count = lg_num(v, a);
        else if (!strcmp(a, "--sink-port"))
            sink_port = lg_num(v, a);
        else if (!strcmp(a, "--warmup"))
            warmup = (double)lg_num(v, a);
        else if (!strcmp(a, "--duration"))
            duration = (double)lg_num(v, a);
        else if (!strcmp(a, "--server-pid"))
            lg_npids = lg_list(v, lg_server_pids, LG_MAX_PIDS, a);
        else if (!strcmp(a, "--starts-ago"))
            lg_starts_ago = lg_num(v, a);
        else if (!strcmp(a, "--timeout"))
            timeout = (double)lg_num(v, a);
        else if (!strcmp(a, "--shape")) {
            if (strcmp(v, "small") && strcmp(v, "realistic"))
                lg_die("--shape: small or realistic, not %s", v);
            lg_realistic = !strcmp(v, "realistic");
        } else
            lg_die("unknown option %s", a);
    }
    if (!strcmp(mode, "size")) { /* bytes of JSON of one alert of the --shape */
        lg_times_init();
        lg_buf_t one = {0};
        lg_alert_json(&one, 4242, NULL);
        printf("%zu\n", one.len);
        return 0;
    }
    if (lg_port <= 0 || lg_port > 65535)
        lg_die("--port is required");
    if (conns < 1 || conns * lg_nports > LG_MAX_CONNS || batch < 1 || batch > 1000 ||
        identities < 1)
        lg_die("bad --conns/--batch/--identities");
    if (lg_nports > 1 && strcmp(mode, "ingest") != 0)
        lg_die("several ports are for ingest only");
    signal(SIGPIPE, SIG_IGN);
    lg_times_init();

    if (!strcmp(mode, "ingest")) {
        /* requests of `batch` alerts, cycling through the identities; built before timing */
        size_t nreq = ((size_t)identities + (size_t)batch - 1) / (size_t)batch;
        lg_source_t src = {.batch = (unsigned)batch, .nprebuilt = nreq};
        size_t bytes = 0;
        for (int p = 0; p < lg_nports; p++) {
            src.prebuilt[p] = calloc(nreq, sizeof *src.prebuilt[p]);
            if (!src.prebuilt[p])
                lg_die("out of memory");
            for (size_t k = 0; k < nreq; k++) {
                lg_request(&src.prebuilt[p][k], lg_ports[p], (unsigned)(k * (size_t)batch),
                           (unsigned)batch, (unsigned)identities, NULL);
                if (p == 0)
                    bytes += src.prebuilt[p][k].len;
            }
        }
        /* bytes of JSON per alert, measured on one body (request line/headers excluded) */
        lg_buf_t one = {0};
        lg_alert_json(&one, 4242, NULL);
        double t0 = lg_now();
        lg_counts_t tot = {0}, warm = {0};
        double tw = 0, te = 0, cw = -1, ce = -1;
        lg_drive(&src, (int)conns * lg_nports, t0 + warmup, t0 + warmup + duration, &tot, &warm,
                 &tw, &te, &cw, &ce);
        double el = te > tw ? te - tw : 1e-9;
        unsigned long al = tot.alerts - warm.alerts, rq = tot.requests - warm.requests;
        printf("alerts_per_s=%.0f requests_per_s=%.0f alerts=%lu errors=%lu reconnects=%lu "
               "seconds=%.2f conns=%ld batch=%ld alert_json_bytes=%zu request_bytes_total=%zu",
               al / el, rq / el, al, tot.errors, tot.reconnects, el, conns, batch, one.len, bytes);
        if (cw >= 0 && ce > cw)
            printf(" server_cpu_s=%.2f server_cpu_util=%.2f alerts_per_cpu_s=%.0f", ce - cw,
                   (ce - cw) / el, al / (ce - cw));
        if (lg_nports > 1) {
            fputs(" alerts_per_s_each=", stdout);
            for (int p = 0; p < lg_nports; p++)
                printf("%s%.0f", p ? "," : "", (tot.port_alerts[p] - warm.port_alerts[p]) / el);
        }
        if (lg_npids > 1 && cw >= 0 && ce > cw) {
            fputs(" server_cpu_s_each=", stdout);
            for (int i = 0; i < lg_npids; i++)
                printf("%s%.2f", i ? "," : "", lg_cpu_each_end[i] - lg_cpu_each_warm[i]);
        }
        printf(" gen_cpu_util=%.2f\n", (lg_gen_cpu_end - lg_gen_cpu_warm) / el);
        free(one.p);
        for (int p = 0; p < lg_nports; p++) {
            for (size_t k = 0; k < nreq; k++)
                free(src.prebuilt[p][k].p);
            free(src.prebuilt[p]);
        }
        return tot.errors ? 1 : 0;
    }
    if (!strcmp(mode, "load")) {
        if (count < 1)
            lg_die("--count is required");
        lg_source_t src = {.load = 1, .batch = (unsigned)batch, .count = (unsigned)count};
        double t0 = lg_now();
        lg_counts_t tot = {0}, warm = {0};
        double tw = 0, te = 0, cw = -1, ce = -1;
        lg_drive(&src, (int)conns, 0, 0, &tot, &warm, &tw, &te, &cw, &ce);
        double el = te - t0;
        printf("alerts=%lu errors=%lu seconds=%.2f alerts_per_s=%.0f\n", tot.alerts, tot.errors, el,
               tot.alerts / el);
        return tot.errors ? 1 : 0;
    }
    if (!strcmp(mode, "null"))
        return lg_null_server(lg_port);
    if (!strcmp(mode, "sink"))
        return lg_sink(lg_port);
    if (!strcmp(mode, "latency")) {
        if (sink_port <= 0 || sink_port > 65535)
            lg_die("--sink-port is required");
        return lg_latency((int)sink_port, count > 0 ? (unsigned)count : 200, timeout);
    }
    lg_die("unknown mode %s", mode);
    return 2;
}
