/* Raw bytes on a real loopback connection to the HTTP server: request parsing, limits,
 * pipelining, chunked bodies, early close. The handler answers every request with the size
 * of its body. Small limits make the 413/431 paths reachable. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fuzz.h"
#include "tocsin/http.h"

static uv_loop_t loop;
static tn_http_server_t *srv;
static int port;

static void handler(void *ud, tn_http_req_t *req)
{
    (void)ud;
    size_t len;
    tn_http_req_body(req, &len);
    const char *vals[4];
    tn_http_req_query_values(req, "a", vals, 4);
    tn_http_req_header(req, "content-type");
    char out[32];
    int n = snprintf(out, sizeof(out), "%zu", len);
    tn_http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void setup(void)
{
    if (srv)
        return;
    uv_loop_init(&loop);
    tn_http_limits_t lim;
    tn_http_limits_default(&lim);
    lim.max_body = 4096;
    lim.max_header = 2048;
    lim.header_timeout_ms = 2000;
    lim.body_timeout_ms = 2000;
    srv = tn_http_server_new(&loop, &lim, handler, NULL);
    char err[256];
    if (tn_http_server_listen(srv, "127.0.0.1:0", err, sizeof(err)) != 0) {
        fprintf(stderr, "listen: %s\n", err);
        abort();
    }
    port = tn_http_server_port(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The client half-closes first, so each connection leaves a TIME_WAIT on its source port;
     * rotating the source over 127.0.0.1-250 gives long runs 250 times the ports. */
    static unsigned nconn;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + nconn++ % 250);
    /* the port is chosen at connect, against the whole 4-tuple: a TIME_WAIT left by another
     * process on this address cannot make connect fail */
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
        perror("fuzz_http: bind");
        abort();
    }
    /* libFuzzer's timer signal can interrupt a connect; it then completes in the background */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int soerr = errno;
        if (errno == EINTR) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            while (poll(&pf, 1, 5000) < 0 && errno == EINTR)
                ;
            socklen_t sl = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        }
        if (soerr) {
            errno = soerr;
            perror("fuzz_http: connect");
            abort();
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    bool closed = false;
    char buf[4096];
    /* Feed the bytes while running the loop, then half-close and read until the server
     * closes (it always does after EOF), with a bound on iterations. */
    for (int iter = 0; iter < 200000 && !closed; iter++) {
        if (off < size) {
            ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                off = size; /* reset by the server */
            if (off == size)
                shutdown(fd, SHUT_WR);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        for (;;) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r > 0)
                continue;
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                closed = true;
            break;
        }
    }
    close(fd);
    /* Let the server see the close and free the connection. */
    for (int i = 0; i < 100 && tn_http_server_connections(srv) > 0; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
