/* The Redis client against real redis-server processes (plain, password, sentinel, TLS) on
 * loopback, each started here on a free port and stopped by PID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tocsin/redis.h"

extern char **environ;

static char dir[] = "/tmp/tn-redis-XXXXXX";
static bool have_tls_certs;

/* ---- processes ---- */

#define MAX_SERVERS 8
static pid_t servers[MAX_SERVERS];

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Starts redis-server with args (NULL-terminated, after the program name) and waits until
 * port accepts connections. */
static pid_t spawn_redis(int port, const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "redis-server";
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, "/usr/bin/redis-server", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    for (int i = 0; i < MAX_SERVERS; i++)
        if (!servers[i]) {
            servers[i] = pid;
            break;
        }
    uint64_t deadline = now_ms() + 10000;
    for (;;) {
        int fd = tcp_connect(port);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            fail_msg("redis-server on port %d exited at start", port);
        if (now_ms() > deadline)
            fail_msg("redis-server on port %d did not start", port);
        sleep_ms(10);
    }
}

static pid_t start_redis(int port, const char *extra1, const char *extra2)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    const char *args[] = {"--port", ps,          "--save",      "",   "--appendonly", "no",
                          "--bind", "127.0.0.1", "--daemonize", "no", extra1,         extra2,
                          NULL};
    return spawn_redis(port, args);
}

static void stop_redis(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == pid)
            servers[i] = 0;
}

/* A command on a blocking socket, for setting things up behind the client's back. */
static void raw_command(int port, const char *resp, char *reply, size_t len)
{
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, resp, strlen(resp)), (ssize_t)strlen(resp));
    ssize_t n = read(fd, reply, len - 1);
    reply[n > 0 ? n : 0] = 0;
    close(fd);
}

static void sh(const char *fmt, const char *arg)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof(cmd) - n, fmt, arg, arg, arg, arg);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static char *path(const char *f)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%.200s", dir, f);
    return buf[i];
}

/* ---- the loop ---- */

typedef struct fixture {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from sleeping forever */
} fixture_t;

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void run_once(fixture_t *f)
{
    uv_run(&f->loop, UV_RUN_ONCE);
}

#define RUN_UNTIL(f, cond, ms)                                                                     \
    do {                                                                                           \
        uint64_t dl_ = now_ms() + (ms);                                                            \
        while (!(cond) && now_ms() < dl_)                                                          \
            run_once(f);                                                                           \
    } while (0)

static void run_for(fixture_t *f, int ms)
{
    uint64_t dl = now_ms() + (uint64_t)ms;
    while (now_ms() < dl)
        run_once(f);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 10, 10);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    free(f);
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i])
            stop_redis(servers[i]);
    return rc == 0 ? 0 : -1;
}

/* ---- a client and its replies ---- */

typedef struct client {
    tn_redis_t *r;
    int ups, downs;
    bool up;
    char err[1024];
    int nmsg;
    char msg_channel[64], msg[256];
} client_t;

static void on_state(void *ud, bool up, const char *err)
{
    client_t *cl = ud;
    cl->up = up;
    if (up) {
        cl->ups++;
    } else {
        cl->downs++;
        snprintf(cl->err, sizeof(cl->err), "%s", err ? err : "(none)");
    }
}

static void on_message(void *ud, const char *channel, const char *msg, size_t len)
{
    client_t *cl = ud;
    cl->nmsg++;
    snprintf(cl->msg_channel, sizeof(cl->msg_channel), "%s", channel);
    snprintf(cl->msg, sizeof(cl->msg), "%.*s", (int)len, msg);
}

static tn_redis_opts_t default_opts(client_t *cl)
{
    tn_redis_opts_t o = {0};
    o.connect_timeout_ms = 2000;
    o.command_timeout_ms = 5000;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 200;
    o.on_state = on_state;
    o.on_message = on_message;
    o.ud = cl;
    return o;
}

static void client_open(fixture_t *f, client_t *cl, const char *url, const tn_redis_opts_t *o)
{
    tn_redis_url_t u;
    char err[TN_ERRBUF_SIZE];
    memset(cl, 0, sizeof(*cl));
    if (tn_redis_url_parse(url, &u, err, sizeof(err)) != TN_OK)
        fail_msg("parsing %s: %s", url, err);
    tn_redis_opts_t def = default_opts(cl);
    cl->r = tn_redis_new(&f->loop, &u, o ? o : &def);
    tn_redis_url_free(&u);
}

static char *url_for(int port, const char *rest)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "redis://127.0.0.1:%d%s", port, rest);
    return buf[i];
}

typedef struct reply {
    int done;
    bool got; /* a reply, not a failure */
    enum tn_redis_type type;
    long long integer;
    char str[256];
    size_t len;
    size_t nelements;
    char elem[8][64];
    char err[1024];
    uint64_t at_ms;
} reply_t;

static void on_reply(void *ud, const tn_redis_reply_t *r, const char *err)
{
    reply_t *p = ud;
    p->done++;
    p->at_ms = now_ms();
    if (!r) {
        assert_non_null(err);
        snprintf(p->err, sizeof(p->err), "%s", err);
        return;
    }
    assert_null(err);
    p->got = true;
    p->type = r->type;
    p->integer = r->integer;
    if (r->str) {
        p->len = r->len;
        memcpy(p->str, r->str, TN_MIN(r->len + 1, sizeof(p->str)));
    }
    p->nelements = r->nelements;
    for (size_t i = 0; i < r->nelements && i < 8; i++)
        if (r->elements[i]->str)
            snprintf(p->elem[i], sizeof(p->elem[i]), "%s", r->elements[i]->str);
}

static int cmd(tn_redis_t *r, reply_t *p, const char *a0, const char *a1, const char *a2,
               const char *a3)
{
    const char *argv[] = {a0, a1, a2, a3};
    int argc = a3 ? 4 : a2 ? 3 : a1 ? 2 : 1;
    memset(p, 0, sizeof(*p));
    return tn_redis_command(r, on_reply, p, argc, argv, NULL);
}

/* Sends and waits for the reply. */
static void cmd_wait(fixture_t *f, tn_redis_t *r, reply_t *p, const char *a0, const char *a1,
                     const char *a2, const char *a3)
{
    assert_int_equal(cmd(r, p, a0, a1, a2, a3), TN_OK);
    RUN_UNTIL(f, p->done, 10000);
    assert_int_equal(p->done, 1);
}

/* ---- URL ---- */

static void bad_url(const char *s, const char *want)
{
    tn_redis_url_t u;
    char err[TN_ERRBUF_SIZE] = "";
    if (tn_redis_url_parse(s, &u, err, sizeof(err)) != TN_ERR_INVAL)
        fail_msg("accepted: %s", s);
    if (!strstr(err, want))
        fail_msg("%s: error \"%s\" lacks \"%s\"", s, err, want);
    if (strstr(err, "s3cr3t"))
        fail_msg("%s: the password is in the error \"%s\"", s, err);
}

static void test_url(void **state)
{
    (void)state;
    tn_redis_url_t u;
    char err[TN_ERRBUF_SIZE];

    assert_int_equal(tn_redis_url_parse("redis://localhost", &u, err, sizeof(err)), TN_OK);
    assert_false(u.tls);
    assert_false(u.sentinel);
    assert_null(u.user);
    assert_null(u.password);
    assert_int_equal(u.nhosts, 1);
    assert_string_equal(u.hosts[0], "localhost");
    assert_int_equal(u.ports[0], 6379);
    assert_int_equal(u.db, 0);
    tn_redis_url_free(&u);

    assert_int_equal(
        tn_redis_url_parse("rediss://al%40ice:p%3Ass@10.0.0.1:6380/5", &u, err, sizeof(err)),
        TN_OK);
    assert_true(u.tls);
    assert_string_equal(u.user, "al@ice");
    assert_string_equal(u.password, "p:ss");
    assert_string_equal(u.hosts[0], "10.0.0.1");
    assert_int_equal(u.ports[0], 6380);
    assert_int_equal(u.db, 5);
    tn_redis_url_free(&u);

    /* ":pass" and a lone word are both the password (go-redis) */
    assert_int_equal(tn_redis_url_parse("redis://:pw@[::1]:7000/", &u, err, sizeof(err)), TN_OK);
    assert_null(u.user);
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.hosts[0], "::1");
    assert_int_equal(u.ports[0], 7000);
    tn_redis_url_free(&u);
    assert_int_equal(tn_redis_url_parse("redis://pw@[::1]", &u, err, sizeof(err)), TN_OK);
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.ports[0], 6379);
    tn_redis_url_free(&u);

    assert_int_equal(tn_redis_url_parse("redis+sentinel://u:p@h1,h2:26380,[fe80::1]:1/mymaster/2",
                                        &u, err, sizeof(err)),
                     TN_OK);
    assert_true(u.sentinel);
    assert_int_equal(u.nhosts, 3);
    assert_string_equal(u.hosts[0], "h1");
    assert_int_equal(u.ports[0], 26379);
    assert_string_equal(u.hosts[1], "h2");
    assert_int_equal(u.ports[1], 26380);
    assert_string_equal(u.hosts[2], "fe80::1");
    assert_int_equal(u.ports[2], 1);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 2);
    tn_redis_url_free(&u);
    assert_int_equal(tn_redis_url_parse("redis+sentinel://h/m", &u, err, sizeof(err)), TN_OK);
    assert_string_equal(u.master, "m");
    assert_int_equal(u.db, 0);
    tn_redis_url_free(&u);

    bad_url("http://h", "scheme");
    bad_url("h:6379", "scheme");
    bad_url("redis://u:s3cr3t@", "missing host");
    bad_url("redis://u:s3cr3t@h:0", "invalid port");
    bad_url("redis://u:s3cr3t@h:65536", "invalid port");
    bad_url("redis://u:s3cr3t@h:x1", "invalid port");
    bad_url("redis://u:s3cr3t@h/abc", "database");
    bad_url("redis://u:s3cr3t@h/1/2", "database");
    bad_url("redis://u:s3cr3t@h1,h2", "one host");
    bad_url("redis://u:s3cr3t@::1", "brackets");
    bad_url("redis://u:s3cr3t@[::1", "']'");
    bad_url("redis://u:s3cr3t%zz@h", "password");
    bad_url("redis://u:s3cr3t%2@h", "password");
    bad_url("redis://u:s3cr3t%00@h", "password");
    bad_url("redis://u%g0:s3cr3t@h", "user");
    bad_url("redis://u:s3cr3t@h?db=1", "query");
    bad_url("redis+sentinel://u:s3cr3t@h1,h2", "master");
    bad_url("redis+sentinel://u:s3cr3t@h1,h2/", "master");
    bad_url("redis+sentinel://u:s3cr3t@h1,/m", "missing host");
}

/* ---- against a server ---- */

static void test_commands(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    reply_t p;
    client_open(f, &cl, url_for(port, ""), NULL);
    assert_false(tn_redis_up(cl.r));
    /* not up yet: refused at once */
    assert_int_equal(cmd(cl.r, &p, "PING", NULL, NULL, NULL), TN_ERR_IO);
    assert_int_equal(p.done, 1);
    assert_string_equal(p.err, "not connected");
    RUN_UNTIL(f, cl.up, 10000);
    assert_true(tn_redis_up(cl.r));
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_string_equal(tn_redis_addr(cl.r), addr);

    cmd_wait(f, cl.r, &p, "SET", "k", "v1", NULL);
    assert_int_equal(p.type, TN_REDIS_STATUS);
    assert_string_equal(p.str, "OK");
    cmd_wait(f, cl.r, &p, "GET", "k", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_STRING);
    assert_string_equal(p.str, "v1");
    cmd_wait(f, cl.r, &p, "GET", "nokey", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_NIL);
    cmd_wait(f, cl.r, &p, "INCR", "n", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_INTEGER);
    assert_int_equal(p.integer, 1);
    cmd_wait(f, cl.r, &p, "INCR", "k", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_ERROR);
    assert_non_null(strstr(p.str, "not an integer"));
    cmd_wait(f, cl.r, &p, "HSET", "h", "f1", "x");
    cmd_wait(f, cl.r, &p, "HGETALL", "h", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_ARRAY);
    assert_int_equal(p.nelements, 2);
    assert_string_equal(p.elem[0], "f1");
    assert_string_equal(p.elem[1], "x");

    /* binary-safe arguments and replies */
    const char *argv[] = {"SET", "bin", "a\0b"};
    size_t lens[] = {3, 3, 3};
    memset(&p, 0, sizeof(p));
    assert_int_equal(tn_redis_command(cl.r, on_reply, &p, 3, argv, lens), TN_OK);
    RUN_UNTIL(f, p.done, 10000);
    cmd_wait(f, cl.r, &p, "GET", "bin", NULL, NULL);
    assert_int_equal(p.len, 3);
    assert_memory_equal(p.str, "a\0b", 3);
    /* a NULL callback is allowed */
    const char *ping[] = {"PING"};
    assert_int_equal(tn_redis_command(cl.r, NULL, NULL, 1, ping, NULL), TN_OK);
    cmd_wait(f, cl.r, &p, "ECHO", "after", NULL, NULL);
    assert_string_equal(p.str, "after");
    assert_int_equal(cl.downs, 0);

    tn_redis_free(cl.r);
    stop_redis(pid);
}

static void test_auth_select(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, "--requirepass", "s3cr3t");
    client_t good, user, bad, none;
    reply_t p;
    char u[128];
    snprintf(u, sizeof(u), "redis://:s3cr3t@127.0.0.1:%d/3", port);
    client_open(f, &good, u, NULL);
    snprintf(u, sizeof(u), "redis://default:s3cr3t@127.0.0.1:%d", port);
    client_open(f, &user, u, NULL);
    snprintf(u, sizeof(u), "redis://:wrong@127.0.0.1:%d", port);
    client_open(f, &bad, u, NULL);
    snprintf(u, sizeof(u), "redis://127.0.0.1:%d/1", port);
    client_open(f, &none, u, NULL);
    RUN_UNTIL(f, good.up && user.up && bad.downs >= 2 && none.downs >= 1, 10000);
    assert_true(good.up);
    assert_true(user.up);
    assert_false(bad.up);
    assert_int_equal(bad.ups, 0);
    assert_non_null(strstr(bad.err, "AUTH"));
    assert_non_null(strstr(bad.err, "WRONGPASS"));
    assert_null(strstr(bad.err, "wrong"));
    assert_non_null(strstr(none.err, "NOAUTH"));

    /* db 3 for good, db 0 for user */
    cmd_wait(f, good.r, &p, "SET", "where", "db3", NULL);
    cmd_wait(f, user.r, &p, "GET", "where", NULL, NULL);
    assert_int_equal(p.type, TN_REDIS_NIL);
    cmd_wait(f, user.r, &p, "SELECT", "3", NULL, NULL);
    cmd_wait(f, user.r, &p, "GET", "where", NULL, NULL);
    assert_string_equal(p.str, "db3");

    tn_redis_free(good.r);
    tn_redis_free(user.r);
    tn_redis_free(bad.r);
    tn_redis_free(none.r);
    stop_redis(pid);
}

static void test_pubsub(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t pub, sub;
    reply_t p;
    client_open(f, &pub, url_for(port, ""), NULL);
    tn_redis_opts_t o = default_opts(&sub);
    const char *channels[] = {"alerts", "other"};
    o.channels = channels;
    o.nchannels = 2;
    client_open(f, &sub, url_for(port, ""), &o);
    RUN_UNTIL(f, pub.up && sub.up, 10000);
    assert_true(sub.up);
    assert_int_equal(cmd(sub.r, &p, "PING", NULL, NULL, NULL), TN_ERR_INVAL);
    assert_int_equal(p.done, 1);

    cmd_wait(f, pub.r, &p, "PUBLISH", "alerts", "hello", NULL);
    assert_int_equal(p.integer, 1);
    RUN_UNTIL(f, sub.nmsg == 1, 10000);
    assert_string_equal(sub.msg_channel, "alerts");
    assert_string_equal(sub.msg, "hello");
    cmd_wait(f, pub.r, &p, "PUBLISH", "other", "second", NULL);
    cmd_wait(f, pub.r, &p, "PUBLISH", "unsubscribed", "x", NULL);
    assert_int_equal(p.integer, 0);
    RUN_UNTIL(f, sub.nmsg == 2, 10000);
    assert_string_equal(sub.msg_channel, "other");
    assert_string_equal(sub.msg, "second");

    tn_redis_free(pub.r);
    tn_redis_free(sub.r);
    stop_redis(pid);
}

#define NPIPE 2000

typedef struct pipe_state {
    int next; /* the reply expected next */
    int bad;
} pipe_state_t;

static pipe_state_t pipe_st;

static void on_incr(void *ud, const tn_redis_reply_t *r, const char *err)
{
    intptr_t i = (intptr_t)ud;
    if (!r || err || r->type != TN_REDIS_INTEGER || r->integer != i + 1 || i != pipe_st.next)
        pipe_st.bad++;
    pipe_st.next++;
}

static void test_pipeline(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    client_open(f, &cl, url_for(port, ""), NULL);
    RUN_UNTIL(f, cl.up, 10000);
    memset(&pipe_st, 0, sizeof(pipe_st));
    const char *argv[] = {"INCR", "counter"};
    for (intptr_t i = 0; i < NPIPE; i++)
        assert_int_equal(tn_redis_command(cl.r, on_incr, (void *)i, 2, argv, NULL), TN_OK);
    RUN_UNTIL(f, pipe_st.next == NPIPE, 10000);
    assert_int_equal(pipe_st.next, NPIPE);
    assert_int_equal(pipe_st.bad, 0);
    tn_redis_free(cl.r);
    stop_redis(pid);
}

static void test_restart(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    reply_t p, blocked;
    client_open(f, &cl, url_for(port, ""), NULL);
    RUN_UNTIL(f, cl.up, 10000);
    /* waits for ever on the server: only the connection's end answers it */
    assert_int_equal(cmd(cl.r, &blocked, "BLPOP", "nolist", "0", NULL), TN_OK);
    run_for(f, 50);
    assert_int_equal(blocked.done, 0);
    stop_redis(pid);
    RUN_UNTIL(f, !cl.up && blocked.done, 10000);
    assert_false(cl.up);
    assert_int_equal(blocked.done, 1);
    assert_false(blocked.got);
    assert_non_null(strstr(blocked.err, "connection lost"));
    assert_int_equal(cmd(cl.r, &p, "PING", NULL, NULL, NULL), TN_ERR_IO);
    assert_string_equal(p.err, "not connected");
    /* it keeps trying while the server is away */
    int downs = cl.downs;
    RUN_UNTIL(f, cl.downs >= downs + 2, 10000);
    assert_true(cl.downs >= downs + 2);
    assert_non_null(strstr(cl.err, "connection refused"));

    pid = start_redis(port, NULL, NULL);
    RUN_UNTIL(f, cl.up, 10000);
    assert_true(cl.up);
    assert_int_equal(cl.ups, 2);
    cmd_wait(f, cl.r, &p, "PING", NULL, NULL, NULL);
    assert_string_equal(p.str, "PONG");
    tn_redis_free(cl.r);
    stop_redis(pid);
}

static void test_command_timeout(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    reply_t p, q;
    tn_redis_opts_t o = default_opts(&cl);
    o.command_timeout_ms = 300;
    client_open(f, &cl, url_for(port, ""), &o);
    RUN_UNTIL(f, cl.up, 10000);
    char rep[128];
    raw_command(port, "CLIENT PAUSE 2000 ALL\r\n", rep, sizeof(rep));
    assert_string_equal(rep, "+OK\r\n");
    uint64_t t0 = now_ms();
    assert_int_equal(cmd(cl.r, &p, "GET", "k", NULL, NULL), TN_OK);
    assert_int_equal(cmd(cl.r, &q, "GET", "k2", NULL, NULL), TN_OK);
    RUN_UNTIL(f, p.done && q.done, 10000);
    assert_false(p.got);
    assert_false(q.got);
    assert_non_null(strstr(p.err, "timed out"));
    assert_non_null(strstr(q.err, "timed out"));
    assert_true(p.at_ms - t0 >= 290);
    assert_true(p.at_ms - t0 < 1900);
    assert_true(cl.downs >= 1);
    /* the pause ends; the client is back */
    RUN_UNTIL(f, cl.up && now_ms() - t0 > 2100, 10000);
    assert_true(cl.up);
    cmd_wait(f, cl.r, &p, "PING", NULL, NULL, NULL);
    assert_true(p.got);
    tn_redis_free(cl.r);
    stop_redis(pid);
}

static void test_refused_backoff(void **state)
{
    fixture_t *f = *state;
    int port = free_port(); /* nobody listens */
    client_t cl;
    tn_redis_opts_t o = default_opts(&cl);
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 200;
    client_open(f, &cl, url_for(port, ""), &o);
    RUN_UNTIL(f, cl.downs >= 1, 10000);
    assert_non_null(strstr(cl.err, "connection refused"));
    uint64_t t0 = now_ms();
    int d0 = cl.downs;
    run_for(f, 1000);
    int n = cl.downs - d0;
    /* 50, 100, 200, 200 ... with jitter of at most a quarter down: 4 to ~8 in a second */
    assert_true(n >= 3);
    assert_true(n <= 12);
    assert_false(cl.up);
    (void)t0;
    tn_redis_free(cl.r);
}

static void test_connect_timeout(void **state)
{
    fixture_t *f = *state;
    /* A listener that never accepts: TCP connects (the backlog), AUTH is never answered, and
     * the connect timeout covers that handshake. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &l), 0);
    client_t cl;
    tn_redis_opts_t o = default_opts(&cl);
    o.connect_timeout_ms = 300;
    o.reconnect_min_ms = 5000;
    char u[128];
    snprintf(u, sizeof(u), "redis://:pw@127.0.0.1:%d", ntohs(a.sin_port));
    uint64_t t0 = now_ms();
    client_open(f, &cl, u, &o);
    RUN_UNTIL(f, cl.downs >= 1, 10000);
    uint64_t took = now_ms() - t0;
    assert_int_equal(cl.downs, 1);
    assert_non_null(strstr(cl.err, "timed out"));
    assert_true(took >= 290);
    assert_true(took < 3000);
    tn_redis_free(cl.r);
    close(lfd);
}

static void test_max_pending(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    reply_t p, q, big;
    tn_redis_opts_t o = default_opts(&cl);
    o.max_pending_bytes = 100;
    client_open(f, &cl, url_for(port, ""), &o);
    RUN_UNTIL(f, cl.up, 10000);
    char val[200];
    memset(val, 'x', sizeof(val) - 1);
    val[sizeof(val) - 1] = 0;
    assert_int_equal(cmd(cl.r, &big, "SET", "k", val, NULL), TN_ERR_LIMIT);
    assert_int_equal(big.done, 1);
    assert_false(big.got);
    assert_non_null(strstr(big.err, "max_pending_bytes"));
    /* two of ~60 bytes: the second would pass the cap while the first is out */
    char v50[51];
    memset(v50, 'y', 50);
    v50[50] = 0;
    assert_int_equal(cmd(cl.r, &p, "SET", "k", v50, NULL), TN_OK);
    assert_int_equal(cmd(cl.r, &q, "SET", "k", v50, NULL), TN_ERR_LIMIT);
    assert_int_equal(q.done, 1);
    RUN_UNTIL(f, p.done, 10000);
    assert_true(p.got);
    /* answered: room again */
    cmd_wait(f, cl.r, &q, "SET", "k", v50, NULL);
    assert_true(q.got);
    assert_true(cl.up);
    tn_redis_free(cl.r);
    stop_redis(pid);
}

/* ---- re-entrancy ---- */

typedef struct reent {
    tn_redis_t *r;
    int calls;
    int closed;
    int chained;
    reply_t chain;
} reent_t;

static void on_reent_other(void *ud, const tn_redis_reply_t *r, const char *err)
{
    reent_t *s = ud;
    if (!r && err && !strcmp(err, "closed"))
        s->closed++;
}

static void on_chain_done(void *ud, const tn_redis_reply_t *r, const char *err)
{
    reent_t *s = ud;
    (void)err;
    if (r && r->type == TN_REDIS_STATUS)
        s->chained++;
}

static void on_reent_first(void *ud, const tn_redis_reply_t *r, const char *err)
{
    reent_t *s = ud;
    (void)r;
    (void)err;
    s->calls++;
    /* a command from inside a callback, then the client freed there too */
    const char *argv[] = {"PING"};
    assert_int_equal(tn_redis_command(s->r, on_chain_done, s, 1, argv, NULL), TN_OK);
    if (s->calls == 2)
        tn_redis_free(s->r);
}

static void test_reentrant(void **state)
{
    fixture_t *f = *state;
    int port = free_port();
    pid_t pid = start_redis(port, NULL, NULL);
    client_t cl;
    reent_t s = {0};
    client_open(f, &cl, url_for(port, ""), NULL);
    RUN_UNTIL(f, cl.up, 10000);
    s.r = cl.r;
    const char *argv[] = {"PING"};
    assert_int_equal(tn_redis_command(cl.r, on_reent_first, &s, 1, argv, NULL), TN_OK);
    RUN_UNTIL(f, s.chained == 1, 10000);
    assert_int_equal(tn_redis_command(cl.r, on_reent_first, &s, 1, argv, NULL), TN_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tn_redis_command(cl.r, on_reent_other, &s, 1, argv, NULL), TN_OK);
    RUN_UNTIL(f, s.calls == 2, 10000);
    /* freed in the second callback: the five after it and the chained one were failed */
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.closed, 5);
    assert_int_equal(s.chained, 1);
    stop_redis(pid);
}

/* Freed from the state callback of a failed attempt. */
static void on_state_free(void *ud, bool up, const char *err)
{
    client_t *cl = ud;
    (void)err;
    if (!up) {
        cl->downs++;
        tn_redis_free(cl->r);
    }
}

static void test_free_in_state(void **state)
{
    fixture_t *f = *state;
    client_t cl;
    tn_redis_opts_t o = default_opts(&cl);
    o.on_state = on_state_free;
    client_open(f, &cl, url_for(free_port(), ""), &o);
    RUN_UNTIL(f, cl.downs, 10000);
    assert_int_equal(cl.downs, 1);
    run_for(f, 100);
    assert_int_equal(cl.downs, 1);
}

/* ---- sentinel ---- */

static pid_t start_sentinel(int sport, int mport, const char *name)
{
    char conf[300];
    snprintf(conf, sizeof(conf), "sentinel-%d.conf", sport);
    FILE *fp = fopen(path(conf), "w");
    assert_non_null(fp);
    fprintf(fp,
            "port %d\nbind 127.0.0.1\ndaemonize no\nsentinel monitor %s 127.0.0.1 %d 1\n"
            "dir %s\n",
            sport, name, mport, dir);
    fclose(fp);
    const char *args[] = {path(conf), "--sentinel", NULL};
    return spawn_redis(sport, args);
}

static void test_sentinel(void **state)
{
    fixture_t *f = *state;
    int mport = free_port(), sport = free_port(), dead = free_port();
    pid_t master = start_redis(mport, NULL, NULL);
    pid_t sentinel = start_sentinel(sport, mport, "mymaster");
    client_t cl, unknown;
    reply_t p;
    char u[256];
    /* the first sentinel is not there: the next one answers */
    snprintf(u, sizeof(u), "redis+sentinel://127.0.0.1:%d,127.0.0.1:%d/mymaster/2", dead, sport);
    client_open(f, &cl, u, NULL);
    snprintf(u, sizeof(u), "redis+sentinel://127.0.0.1:%d/nosuch", sport);
    client_open(f, &unknown, u, NULL);
    RUN_UNTIL(f, cl.up && unknown.downs, 10000);
    assert_true(cl.up);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", mport);
    assert_string_equal(tn_redis_addr(cl.r), addr);
    cmd_wait(f, cl.r, &p, "SET", "via", "sentinel", NULL);
    cmd_wait(f, cl.r, &p, "CLIENT", "INFO", NULL, NULL);
    assert_non_null(strstr(p.str, " db=2 "));
    assert_non_null(strstr(unknown.err, "unknown master"));
    assert_false(unknown.up);

    /* the master goes and comes back: the sentinels are asked again */
    stop_redis(master);
    RUN_UNTIL(f, !cl.up, 10000);
    assert_false(cl.up);
    master = start_redis(mport, NULL, NULL);
    RUN_UNTIL(f, cl.up, 10000);
    assert_true(cl.up);
    cmd_wait(f, cl.r, &p, "PING", NULL, NULL, NULL);
    assert_string_equal(p.str, "PONG");

    tn_redis_free(cl.r);
    tn_redis_free(unknown.r);
    stop_redis(sentinel);
    stop_redis(master);
}

/* A sentinel whose master is a replica: ROLE says so and the client does not go up. */
static void test_sentinel_role(void **state)
{
    fixture_t *f = *state;
    int mport = free_port(), rport = free_port(), sport = free_port();
    pid_t master = start_redis(mport, NULL, NULL);
    char rps[16], mps[16];
    snprintf(rps, sizeof(rps), "%d", rport);
    snprintf(mps, sizeof(mps), "%d", mport);
    const char *rargs[] = {"--port",       rps,         "--save", "",
                           "--appendonly", "no",        "--bind", "127.0.0.1",
                           "--replicaof",  "127.0.0.1", mps,      NULL};
    pid_t replica = spawn_redis(rport, rargs);
    /* the sentinel believes the replica is the master */
    pid_t sentinel = start_sentinel(sport, rport, "wrong");
    client_t cl;
    char u[256];
    snprintf(u, sizeof(u), "redis+sentinel://127.0.0.1:%d/wrong", sport);
    client_open(f, &cl, u, NULL);
    RUN_UNTIL(f, cl.downs || cl.up, 10000);
    assert_false(cl.up);
    assert_non_null(strstr(cl.err, "not the master"));
    tn_redis_free(cl.r);
    stop_redis(sentinel);
    stop_redis(replica);
    stop_redis(master);
}

/* ---- TLS ---- */

static pid_t start_tls_redis(int port, const char *crt, const char *key)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    const char *args[] = {"--port",
                          "0",
                          "--tls-port",
                          ps,
                          "--tls-cert-file",
                          path(crt),
                          "--tls-key-file",
                          path(key),
                          "--tls-ca-cert-file",
                          path("ca.crt"),
                          "--tls-auth-clients",
                          "no",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--bind",
                          "127.0.0.1",
                          "--daemonize",
                          "no",
                          NULL};
    return spawn_redis(port, args);
}

static void test_tls(void **state)
{
    fixture_t *f = *state;
    if (!have_tls_certs)
        fail_msg("openssl could not make the test certificates in %s", dir);
    int port = free_port();
    pid_t pid = start_tls_redis(port, "srv.crt", "srv.key");
    client_t ok, named, wrongca, wrongname, insecure;
    reply_t p;
    char u[128];
    snprintf(u, sizeof(u), "rediss://127.0.0.1:%d", port);
    tn_redis_opts_t o = default_opts(&ok);
    o.tls_ca_file = path("ca.crt");
    client_open(f, &ok, u, &o);
    o = default_opts(&named);
    o.tls_ca_file = path("ca.crt");
    o.tls_server_name = "localhost";
    client_open(f, &named, u, &o);
    o = default_opts(&wrongca);
    o.tls_ca_file = path("other.crt");
    client_open(f, &wrongca, u, &o);
    o = default_opts(&wrongname);
    o.tls_ca_file = path("ca.crt");
    o.tls_server_name = "elsewhere.example";
    client_open(f, &wrongname, u, &o);
    o = default_opts(&insecure);
    o.tls_ca_file = path("other.crt");
    o.tls_insecure_skip_verify = true;
    client_open(f, &insecure, u, &o);
    RUN_UNTIL(f, ok.up && named.up && insecure.up && wrongca.downs && wrongname.downs, 10000);
    assert_true(ok.up);
    assert_true(named.up);
    assert_true(insecure.up);
    assert_false(wrongca.up);
    assert_false(wrongname.up);
    assert_non_null(strstr(wrongca.err, "verification failed"));
    assert_non_null(strstr(wrongname.err, "verification failed"));

    cmd_wait(f, ok.r, &p, "SET", "t", "over tls", NULL);
    cmd_wait(f, named.r, &p, "GET", "t", NULL, NULL);
    assert_string_equal(p.str, "over tls");
    /* a reply of several records */
    char big[100000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    cmd_wait(f, ok.r, &p, "SET", "big", big, NULL);
    cmd_wait(f, ok.r, &p, "STRLEN", "big", NULL, NULL);
    assert_int_equal(p.integer, (long long)sizeof(big) - 1);
    cmd_wait(f, insecure.r, &p, "GET", "big", NULL, NULL);
    assert_int_equal(p.len, sizeof(big) - 1);

    tn_redis_free(ok.r);
    tn_redis_free(named.r);
    tn_redis_free(wrongca.r);
    tn_redis_free(wrongname.r);
    tn_redis_free(insecure.r);
    stop_redis(pid);
}

static void test_tls_bad_ca_file(void **state)
{
    fixture_t *f = *state;
    client_t cl;
    tn_redis_opts_t o = default_opts(&cl);
    o.tls_ca_file = "/nonexistent/ca.pem";
    client_open(f, &cl, "rediss://127.0.0.1:1", &o);
    RUN_UNTIL(f, cl.downs, 10000);
    assert_non_null(strstr(cl.err, "/nonexistent/ca.pem"));
    tn_redis_free(cl.r);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        return -1;
#define KEYGEN "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.crt -days 2 -subj /CN=ca 2>/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout other.key -out other.crt -days 2 -subj /CN=other 2>/dev/null && " KEYGEN
             "-keyout srv.key -out srv.csr -subj /CN=redis 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > srv.ext && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt "
             "-days 2 -extfile srv.ext 2>/dev/null",
             dir);
    have_tls_certs = system(cmd) == 0;
    (void)sh;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubsub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentrant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_bad_ca_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
