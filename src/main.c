/* tocsin: flags, start-up order, signals, reload and drain. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <jansson.h>

#include "tocsin/api.h"
#include "tocsin/clock.h"
#include "tocsin/cluster.h"
#include "tocsin/config.h"
#include "tocsin/dispatch.h"
#include "tocsin/http.h"
#include "tocsin/json.h"
#include "tocsin/log.h"
#include "tocsin/metrics.h"
#include "tocsin/mute.h"
#include "tocsin/nflog.h"
#include "tocsin/notify.h"
#include "tocsin/oauth2.h"
#include "tocsin/oncall.h"
#include "tocsin/outbound.h"
#include "tocsin/sched.h"
#include "tocsin/store.h"
#include "tocsin/template.h"
#include "tocsin/version.h"
#include "tocsin/web.h"
#include "tocsin/webconfig.h"

/* How long SIGTERM waits for notifications in flight before cancelling them. */
#define DRAIN_TIMEOUT_MS 15000

/* ---- flags ---- */

typedef struct opts {
    const char *config_file;
    const char *storage_path;
    const char *listen_address;
    const char *external_url;
    const char *route_prefix;
    const char *web_config_file;
    const char *log_level;
    const char *log_format;
    const char *gc_interval;
    const char *maintenance_interval;
    const char *retention;
    const char *history_retention;
    const char *history_max_bytes;
    const char *start_delay;
    const char *features;
    const char *max_alerts;
    const char *max_conns, *max_header, *max_body, *max_per_request;
    const char *max_conns_per_addr, *max_response_bytes;
    const char *max_name, *max_value, *max_annotation;
    const char *per_alertname_limit;
    const char *max_silences;
    const char *max_silence_bytes;
    const char *move_damaged;
    const char *redis_url, *peer_name;
    const char *redis_ca, *redis_cert, *redis_key, *redis_server_name, *redis_insecure;
} opts_t;

enum flag_kind { F_STRING, F_BOOL, F_IGNORED, F_IGNORED_BOOL };

typedef struct flag {
    const char *name;
    enum flag_kind kind;
    size_t offset; /* into opts_t */
    const char *def;
    const char *help;
} flag_t;

#define OPT(m) offsetof(opts_t, m)

static const flag_t flags[] = {
    {"config.file", F_STRING, OPT(config_file), "alertmanager.yml",
     "Configuration file name (Alertmanager's alertmanager.yml format)."},
    {"storage.path", F_STRING, OPT(storage_path), "data/", "Base path for data storage."},
    {"web.listen-address", F_STRING, OPT(listen_address), ":9093",
     "Address to listen on for the web interface and API."},
    {"web.external-url", F_STRING, OPT(external_url), "",
     "The URL under which tocsin is externally reachable; its path prefixes every endpoint."},
    {"web.route-prefix", F_STRING, OPT(route_prefix), NULL,
     "Prefix for the internal routes of web endpoints. Defaults to the path of "
     "--web.external-url."},
    {"web.config.file", F_STRING, OPT(web_config_file), "",
     "Path to a web configuration file enabling TLS or authentication (exporter-toolkit "
     "format; re-read when it or a certificate changes, and on SIGHUP)."},
    {"log.level", F_STRING, OPT(log_level), "info",
     "Only log messages with the given severity or above: debug, info, warn, error."},
    {"log.format", F_STRING, OPT(log_format), "logfmt",
     "Output format of log messages: logfmt, json."},
    {"alerts.gc-interval", F_STRING, OPT(gc_interval), "30m", "Interval between alert GC."},
    {"data.retention", F_STRING, OPT(retention), "120h", "How long to keep data for."},
    {"history.retention", F_STRING, OPT(history_retention), "720h",
     "How long the on-call history (notifications, acks, resolves, silences) is kept."},
    {"history.max-bytes", F_STRING, OPT(history_max_bytes), "1073741824",
     "Cap on the on-call history's stored size; the oldest entries go first (0: no cap)."},
    {"data.maintenance-interval", F_STRING, OPT(maintenance_interval), "15m",
     "Interval between garbage collections of expired silences and notification-log entries."},
    {"dispatch.start-delay", F_STRING, OPT(start_delay), "0s",
     "Minimum time to wait before dispatching alerts (sync with Prometheus' "
     "--rules.alert.resend-delay)."},
    {"enable-feature", F_STRING, OPT(features), "",
     "Comma-separated features to enable: classic-mode, utf8-strict-mode (others of "
     "Alertmanager's are accepted and have no effect)."},
    {"alerts.per-alertname-limit", F_STRING, OPT(per_alertname_limit), "0",
     "Maximum number of alerts per alertname. If negative or zero, no limit is set."},
    {"silences.max-silences", F_STRING, OPT(max_silences), "0",
     "Maximum number of silences, including expired ones; 0 means no limit."},
    {"silences.max-silence-size-bytes", F_STRING, OPT(max_silence_bytes), "0",
     "Maximum size of one silence in bytes; 0 means no limit."},
    {"storage.move-damaged", F_BOOL, OPT(move_damaged), "false",
     "If the state database under --storage.path is damaged, rename it to "
     "tocsin.db.damaged-<time> and start with empty state instead of refusing to start."},
    {"web.max-connections", F_STRING, OPT(max_conns), "4096",
     "Most open client connections; beyond it new ones get a 503 and are closed."},
    {"web.max-connections-per-address", F_STRING, OPT(max_conns_per_addr), "0",
     "Most open connections from one client address; beyond it a 503. 0: an eighth of "
     "--web.max-connections, at least 16. Clients on 127.0.0.1 or ::1 past a limit get one of 16 "
     "reserved slots, so local health checks still get through."},
    {"web.max-response-buffer-bytes", F_STRING, OPT(max_response_bytes), "268435456",
     "Most bytes of answers held for all clients together (slow readers); beyond it new "
     "requests get a 503, health checks excepted. 0: no limit."},
    {"web.max-header-bytes", F_STRING, OPT(max_header), "65536",
     "Most bytes of request line and headers; beyond it a 431."},
    {"web.max-body-bytes", F_STRING, OPT(max_body), "67108864",
     "Most bytes of a request body; beyond it a 413."},
    {"api.max-alerts-per-request", F_STRING, OPT(max_per_request), "10000",
     "Most alerts in one POST /api/v2/alerts; beyond it a 400."},
    {"alerts.max-label-name-bytes", F_STRING, OPT(max_name), "1024",
     "Longest label or annotation name accepted; longer ones make that alert invalid (400)."},
    {"alerts.max-label-value-bytes", F_STRING, OPT(max_value), "65536",
     "Longest label value accepted; longer ones make that alert invalid (400)."},
    {"alerts.max-annotation-value-bytes", F_STRING, OPT(max_annotation), "1048576",
     "Longest annotation value accepted; longer ones make that alert invalid (400)."},
    {"alerts.max", F_STRING, OPT(max_alerts), "0",
     "Maximum number of active alerts; 0 means no limit. New alerts beyond it are rejected."},
    {"cluster.redis-url", F_STRING, OPT(redis_url), "",
     "Share state with other replicas through Redis: redis://[user:pass@]host:port/db, "
     "rediss://... for TLS, or redis+sentinel://host:port,host:port/master/db. Empty: run alone. "
     "Alertmanager's gossip flags (--cluster.peer and the rest) are accepted and ignored."},
    {"cluster.peer-name", F_STRING, OPT(peer_name), "",
     "Name of this replica among the others, unique. Default: hostname:port of the API."},
    {"cluster.redis-tls-ca-file", F_STRING, OPT(redis_ca), "",
     "CA certificates that Redis's certificate must chain to (rediss://). Default: the "
     "system's."},
    {"cluster.redis-tls-cert-file", F_STRING, OPT(redis_cert), "",
     "Client certificate for Redis (rediss://), with --cluster.redis-tls-key-file."},
    {"cluster.redis-tls-key-file", F_STRING, OPT(redis_key), "", "Key of the client certificate."},
    {"cluster.redis-tls-server-name", F_STRING, OPT(redis_server_name), "",
     "Name checked against Redis's certificate. Default: the host of the URL."},
    {"cluster.redis-tls-insecure-skip-verify", F_BOOL, OPT(redis_insecure), "false",
     "Do not check Redis's certificate (rediss://)."},
    /* Alertmanager flags that have no meaning here: accepted so command lines keep working. */
    {"dispatch.maintenance-interval", F_IGNORED, 0, NULL, NULL},
    {"web.get-concurrency", F_IGNORED, 0, NULL, NULL},
    {"web.timeout", F_IGNORED, 0, NULL, NULL},
    {"web.systemd-socket", F_IGNORED_BOOL, 0, NULL, NULL},
    {"auto-gomemlimit.ratio", F_IGNORED, 0, NULL, NULL},
    {"log.silences", F_IGNORED_BOOL, 0, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tocsin [<flags>] [check-config <file>... | template render <flags> | "
                 "config routes ...]\n\n"
                 "An alert router, compatible with Prometheus Alertmanager.\n\nFlags:\n"
                 "  -h, --help     Show this help.\n"
                 "      --version  Show the version.\n");
    for (size_t i = 0; i < TN_ARRAY_LEN(flags); i++) {
        const flag_t *f = &flags[i];
        if (!f->help)
            continue;
        fprintf(out, "      --%s=%s\n          %s\n", f->name, f->def ? f->def : "", f->help);
    }
    fprintf(out, "      --cluster.*    Alertmanager's gossip flags: accepted and ignored.\n"
                 "\nCommands:\n  check-config <file>...  Validate configuration files.\n"
                 "  template render --template.glob=GLOB --template.text=TEXT\n"
                 "                          Render a template as amtool does.\n"
                 "  config routes [show] --config.file=FILE\n"
                 "                          Print the routing tree as amtool does.\n"
                 "  config routes test --config.file=FILE [--tree] [--verify.receivers=R] "
                 "LABEL=VALUE...\n"
                 "                          Print the receivers a label set routes to.\n");
}

/* ---- tocsin(1): the same table as roff (hidden --help-man; the build writes tocsin.1) ---- */

/* Text for roff: backslashes and hyphens escaped (so flags copy as typed), a leading '.' or
 * '\'' made literal, "\n" in a help text joined with a space. */
static void roff(FILE *out, const char *s)
{
    bool bol = true;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        bol = false;
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\n')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

static void man_option(FILE *out, const char *name, const char *arg, const char *help,
                       const char *def)
{
    fputs(".TP\n\\fB\\-\\-", out);
    roff(out, name);
    fputs("\\fR", out);
    if (arg) {
        fputs("=\\fI", out);
        roff(out, arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff(out, help);
    fputc('\n', out);
    if (def && *def) {
        fputs("Default: \\fB", out);
        roff(out, def);
        fputs("\\fR.\n", out);
    }
}

static void man_page(FILE *out)
{
    const tn_build_info_t *b = &tn_build_info;
    fprintf(
        out,
        ".\\\" tocsin(1), written by `tocsin --help-man` from the flag table of src/main.c.\n"
        ".TH TOCSIN 1 \"%s\" \"tocsin %s\" \"User Commands\"\n"
        ".nh\n.ad l\n"
        ".SH NAME\n"
        "tocsin \\- alert router compatible with Prometheus Alertmanager\n"
        ".SH SYNOPSIS\n"
        ".nf\n"
        "\\fBtocsin\\fR [\\fIflags\\fR]\n"
        "\\fBtocsin check\\-config\\fR \\fIfile\\fR...\n"
        "\\fBtocsin template render \\-\\-template.glob\\fR=\\fIglob\\fR "
        "\\fB\\-\\-template.text\\fR=\\fItext\\fR [\\fIflags\\fR]\n"
        ".fi\n"
        ".SH DESCRIPTION\n"
        "tocsin routes alerts from Prometheus to receivers as Alertmanager does: it reads\n"
        "Alertmanager's configuration format (\\fIalertmanager.yml\\fR), serves its HTTP API v2,\n"
        "accepts its command\\-line flags and sends the same notifications with the same\n"
        "grouping, timing, deduplication, silences and inhibition. Prometheus and "
        "\\fBamtool\\fR(1)\n"
        "talk to it as to Alertmanager. Its state (silences, the notification log and active\n"
        "alerts) is kept in an SQLite database under \\fB\\-\\-storage.path\\fR.\n"
        ".SH OPTIONS\n"
        "Flags take their value as \\fB\\-\\-flag\\fR=\\fIvalue\\fR or \\fB\\-\\-flag\\fR "
        "\\fIvalue\\fR.\n"
        ".TP\n.BR \\-h \", \" \\-\\-help\nShow the flags.\n"
        ".TP\n.B \\-\\-version\nShow the version, git revision, branch and build date.\n",
        b->day, b->version);
    for (size_t i = 0; i < TN_ARRAY_LEN(flags); i++) {
        const flag_t *f = &flags[i];
        if (f->help)
            man_option(out, f->name, f->kind == F_BOOL ? NULL : "value", f->help,
                       f->kind == F_BOOL ? NULL : f->def);
    }
    man_option(out, "cluster.*", NULL,
               "Alertmanager's gossip flags (peer, listen-address and the rest): accepted and "
               "ignored.",
               NULL);
    fputs(".PP\nAlso accepted and ignored, so that Alertmanager command lines keep working:", out);
    for (size_t i = 0, n = 0; i < TN_ARRAY_LEN(flags); i++) {
        if (flags[i].help)
            continue;
        fputs(n++ ? ",\n" : "\n", out);
        fputs("\\fB\\-\\-", out);
        roff(out, flags[i].name);
        fputs("\\fR", out);
    }
    fputs(".\n"
          ".SH COMMANDS\n"
          ".TP\n\\fBcheck\\-config\\fR \\fIfile\\fR...\n"
          "Validate configuration files as \\fBamtool check\\-config\\fR does; exit 1 when one is\n"
          "invalid. Errors name \\fIfile\\fR:\\fIline\\fR:\\fIcolumn\\fR and the key.\n"
          ".TP\n\\fBtemplate render\\fR \\fIflags\\fR\n"
          "Render a template to standard output as \\fBamtool template render\\fR does:\n"
          ".RS\n",
          out);
    for (size_t i = 0; i < tn_template_render_nflags; i++)
        man_option(out, tn_template_render_flags[i].name, tn_template_render_flags[i].arg,
                   tn_template_render_flags[i].help, NULL);
    fputs(".RE\n"
          ".SH SIGNALS\n"
          ".TP\n.B SIGHUP\n"
          "Read the configuration file again (as \\fBPOST /\\-/reload\\fR does) and the\n"
          "\\fB\\-\\-web.config.file\\fR; a file that does not load is refused and the running\n"
          "configuration stays.\n"
          ".TP\n.BR SIGTERM \", \" SIGINT\n"
          "Stop accepting connections, wait up to 15 s for notifications in flight, exit 0.\n"
          "A second signal ends the wait.\n"
          ".SH FILES\n"
          ".TP\n.I /etc/tocsin/tocsin.yml\n"
          "The configuration file of the Debian package and its systemd unit, "
          "\\fItocsin.service\\fR.\n"
          ".TP\n.IR storage.path /tocsin.db\n"
          "The state database (\\fI/var/lib/tocsin/tocsin.db\\fR under the unit).\n"
          ".SH \"EXIT STATUS\"\n"
          "0 after a clean shutdown or a successful command; 1 on an error.\n"
          ".SH \"SEE ALSO\"\n"
          ".BR amtool (1),\n"
          ".BR prometheus\\-alertmanager (1),\n"
          ".BR systemd.exec (5).\n"
          "The documentation (running, configuration, API, migrating) is in\n"
          ".IR /usr/share/doc/tocsin/docs .\n",
          out);
}

static void print_version(void)
{
    const tn_build_info_t *b = &tn_build_info;
    printf("tocsin, version %s (branch: %s, revision: %s)\n"
           "  build user:       %s\n"
           "  build date:       %s\n"
           "  compiler:         %s\n"
           "  platform:         %s\n",
           b->version, b->branch, b->revision, b->user, b->date, b->compiler, b->platform);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tocsin: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, ", try --help\n");
    return 1;
}

/* Returns -1 to continue, or an exit status. */
static int parse_flags(int argc, char **argv, opts_t *o, bool *cluster_flags)
{
    for (size_t i = 0; i < TN_ARRAY_LEN(flags); i++)
        if (flags[i].kind == F_STRING || flags[i].kind == F_BOOL)
            *(const char **)((char *)o + flags[i].offset) = flags[i].def;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "--help-long") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            print_version();
            return 0;
        }
        if (strcmp(a, "--help-man") == 0) {
            man_page(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const flag_t *known = NULL;
        for (size_t k = 0; k < TN_ARRAY_LEN(flags); k++)
            if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, name, nlen) == 0)
                known = &flags[k];
        if (!known && nlen > 8 && strncmp(name, "cluster.", 8) == 0) {
            *cluster_flags = true;
            /* --cluster.peer=x or --cluster.peer x; boolean ones take no value. */
            if (!value && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 &&
                strncmp(name, "cluster.allow-insecure", 22) != 0)
                i++;
            continue;
        }
        if (nlen > 3 && strncmp(name, "no-", 3) == 0) {
            bool known_bool = false;
            for (size_t k = 0; k < TN_ARRAY_LEN(flags); k++)
                if (flags[k].kind == F_IGNORED_BOOL && strlen(flags[k].name) == nlen - 3 &&
                    strncmp(flags[k].name, name + 3, nlen - 3) == 0)
                    known_bool = true;
            if (known_bool)
                continue;
        }
        const flag_t *f = known;
        if (!f)
            return usage_error("unknown long flag '%s'", a);
        if (f->kind == F_IGNORED_BOOL)
            continue;
        if (f->kind == F_BOOL) {
            /* --flag or --flag=true|false, never a separate argument. */
            *(const char **)((char *)o + f->offset) = value ? value : "true";
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return usage_error("expected argument for flag '%s'", a);
            value = argv[++i];
        }
        if (f->kind == F_STRING)
            *(const char **)((char *)o + f->offset) = value;
    }
    return -1;
}

/* ---- the daemon ---- */

typedef struct app {
    opts_t o;
    uv_loop_t *loop;
    tn_config_t *cfg;
    tn_sched_t *sched;
    tn_alert_store_t *store;
    tn_nflog_t *nflog;
    tn_store_t *db;
    tn_silences_t *silences;
    tn_inhibitor_t *inhibitor;
    tn_muter_t *muter;
    tn_outbound_t *outbound;
    tn_notifier_t *notifier;
    tn_dispatch_t *dispatch;
    tn_http_server_t *http;
    tn_websec_t *websec; /* --web.config.file, or NULL */
    tn_api_t *api;
    tn_cluster_t *cluster; /* --cluster.redis-url, or NULL */
    tn_acks_t *acks;
    tn_history_t *history; /* NULL when its file could not be opened */
    tn_events_t *events;
    tn_oncall_t *oncall;
    tn_web_t *web; /* the on-call page */
    char *external_url;
    char *route_prefix;
    tn_duration_t gc_interval;
    tn_duration_t maintenance_interval;
    tn_sched_entry_t gc_timer;
    tn_sched_entry_t nflog_timer;
    uv_signal_t sig_hup, sig_term, sig_int;
    uv_timer_t drain_timer;
    uint64_t drain_started_ms;
    bool stopping;
    bool ready;
    bool cluster_flags;
    tn_metric_child_t *m_reload_ok, *m_reload_ts, *m_config_hash;
    tn_metric_t *m_alerts;
    tn_metric_t *m_memory;
    tn_metric_child_t *m_http_buffered;
    /* a reload in flight on its thread, and who waits for it or for the next one */
    uv_async_t reload_async;
    struct reload_job *reload_job;
    struct reload_waiter *reload_waiting, *reload_queued;
} app_t;

static void set_config_metrics(app_t *app)
{
    tn_metric_set(app->m_config_hash, (double)app->cfg->hash);
    tn_metric_set(app->m_reload_ok, 1);
    tn_metric_set(app->m_reload_ts, (double)tn_clock_now() / (double)TN_NS_PER_SEC);
}

/* ---- reload: the new config is read and checked on a thread of its own, swapped on the loop.
 * A detached thread rather than the loop's pool: a load stuck on a file (NFS, a FIFO) must not
 * keep SIGTERM from ending the process. The job is shared under reload_mu; whoever sees the
 * other side gone frees it. */

typedef struct reload_waiter {
    struct reload_waiter *next;
    tn_api_reload_done_fn done; /* NULL: SIGHUP, nobody to answer */
    void *cbud;
} reload_waiter_t;

typedef struct reload_job {
    char *path;
    uv_async_t *async; /* the app's; not touched once abandoned */
    bool done, abandoned;
    tn_config_t *cfg; /* plain names (TN_CFG_NO_INTERN): freeing it off the loop is safe */
    char err[TN_ERRBUF_SIZE];
} reload_job_t;

static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;

static void reload_job_free(reload_job_t *j)
{
    tn_config_unref(j->cfg);
    free(j->path);
    free(j);
}

static void *reload_thread(void *arg)
{
    reload_job_t *j = arg;
    tn_config_t *c =
        tn_config_load_file_ex(j->path, TN_CFG_NO_INTERN, NULL, j->err, sizeof(j->err));
    pthread_mutex_lock(&reload_mu);
    j->cfg = c;
    j->done = true;
    bool abandoned = j->abandoned;
    if (!abandoned)
        uv_async_send(j->async);
    pthread_mutex_unlock(&reload_mu);
    if (abandoned)
        reload_job_free(j);
    return NULL;
}

static void reload_start(app_t *app);

static void reload_answer(reload_waiter_t *ws, int rc, const char *err)
{
    while (ws) {
        reload_waiter_t *next = ws->next;
        if (ws->done)
            ws->done(ws->cbud, rc, err);
        free(ws);
        ws = next;
    }
}

static void reload_finish(app_t *app, reload_job_t *j)
{
    tn_config_t *c = j->cfg;
    const char *err = j->err;
    int rc = TN_OK;
    j->cfg = NULL;
    if (app->stopping) {
        tn_config_unref(c);
        err = "shutting down";
        rc = TN_ERR_INVAL;
    } else if (!c) {
        tn_metric_set(app->m_reload_ok, 0);
        tn_log(TN_LOG_ERROR, "Loading configuration file failed", "file", app->o.config_file, "err",
               err, NULL);
        rc = TN_ERR_INVAL;
    } else {
        tn_config_intern(c);
        tn_config_unref(app->cfg);
        app->cfg = c;
        tn_dispatch_set_config(app->dispatch, c);
        tn_inhibitor_set_config(app->inhibitor, c);
        set_config_metrics(app);
        tn_log(TN_LOG_INFO, "Completed loading of configuration file", "file", app->o.config_file,
               NULL);
    }
    reload_waiter_t *ws = app->reload_waiting;
    app->reload_waiting = NULL;
    if (app->stopping) {
        /* nobody will load for those queued behind this one: they hear the same */
        reload_waiter_t **tail = &ws;
        while (*tail)
            tail = &(*tail)->next;
        *tail = app->reload_queued;
        app->reload_queued = NULL;
    } else if (app->reload_queued) {
        /* asked for while this load ran: the file may have changed since it was read */
        reload_start(app);
    }
    reload_answer(ws, rc, err);
    reload_job_free(j);
}

static void on_reload_done(uv_async_t *h)
{
    app_t *app = h->data;
    pthread_mutex_lock(&reload_mu);
    reload_job_t *j = app->reload_job && app->reload_job->done ? app->reload_job : NULL;
    if (j)
        app->reload_job = NULL;
    pthread_mutex_unlock(&reload_mu);
    if (j)
        reload_finish(app, j);
}

static void reload_start(app_t *app)
{
    tn_log(TN_LOG_INFO, "Loading configuration file", "file", app->o.config_file, NULL);
    reload_job_t *j = tn_xcalloc(1, sizeof(*j));
    j->path = tn_xstrdup(app->o.config_file);
    j->async = &app->reload_async;
    app->reload_waiting = app->reload_queued;
    app->reload_queued = NULL;
    app->reload_job = j;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, reload_thread, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snprintf(j->err, sizeof(j->err), "cannot start the reload: %s", strerror(rc));
        j->done = true;
        app->reload_job = NULL;
        reload_finish(app, j);
    }
}

/* Shutdown: a load still running is left to its thread, and its waiters hear now. */
static void reload_abandon(app_t *app)
{
    pthread_mutex_lock(&reload_mu);
    reload_job_t *j = app->reload_job;
    app->reload_job = NULL;
    bool running = j && !j->done;
    if (running)
        j->abandoned = true;
    pthread_mutex_unlock(&reload_mu);
    if (j && !running)
        reload_job_free(j);
    reload_waiter_t *ws = app->reload_waiting, **tail = &ws;
    while (*tail)
        tail = &(*tail)->next;
    *tail = app->reload_queued;
    app->reload_waiting = app->reload_queued = NULL;
    reload_answer(ws, TN_ERR_INVAL, "shutting down");
}

/* Queues a reload; requests that arrive while one runs share the next one. */
static void app_reload(void *ud, tn_api_reload_done_fn done, void *cbud)
{
    app_t *app = ud;
    if (app->stopping) {
        if (done)
            done(cbud, TN_ERR_INVAL, "shutting down");
        return;
    }
    reload_waiter_t *w = tn_xcalloc(1, sizeof(*w));
    w->done = done;
    w->cbud = cbud;
    reload_waiter_t **tail = &app->reload_queued;
    while (*tail)
        tail = &(*tail)->next;
    *tail = w;
    if (!app->reload_job)
        reload_start(app);
}

static const tn_config_t *api_config(void *ud)
{
    return ((app_t *)ud)->cfg;
}

static size_t api_receivers(void *ud, const tn_alert_t *a, const char **out, size_t max)
{
    return tn_dispatch_alert_receivers(((app_t *)ud)->dispatch, tn_alert_labels(a), out, max);
}

static void api_foreach_group(void *ud, tn_dispatch_group_fn fn, void *fnud)
{
    tn_dispatch_foreach_group(((app_t *)ud)->dispatch, fn, fnud);
}

static bool api_ready(void *ud)
{
    return ((app_t *)ud)->ready;
}

/* Where the heap goes, by part: each module's own blocks as the allocator sized them, the
 * allocator's free space, and the rest (buffers, config, templates, libraries' heaps). */
static void collect_memory(app_t *app)
{
    struct {
        const char *part;
        size_t bytes;
    } parts[] = {
        {"strings", tn_intern_bytes()},
        {"alerts", tn_alert_bytes(app->store)},
        {"groups", app->dispatch ? tn_dispatch_bytes(app->dispatch) : 0},
        {"nflog", tn_nflog_bytes(app->nflog)},
        {"sqlite", tn_store_sqlite_bytes()},
    };
    size_t known = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        tn_metric_set(tn_metric_with(app->m_memory, parts[i].part, NULL), (double)parts[i].bytes);
        known += parts[i].bytes;
    }
    struct mallinfo2 mi = mallinfo2();
    size_t used = mi.uordblks + mi.hblkhd;
    tn_metric_set(tn_metric_with(app->m_memory, "other", NULL),
                  used > known ? (double)(used - known) : 0);
    tn_metric_set(tn_metric_with(app->m_memory, "free", NULL), (double)mi.fordblks);
}

static void collect_alerts(void *ud)
{
    app_t *app = ud;
    size_t firing, resolved;
    tn_alert_store_counts(app->store, tn_clock_now(), &firing, &resolved);
    /* Muting (silences, inhibition) comes with the mute stage; until then all are active. */
    tn_metric_set(tn_metric_with(app->m_alerts, "active", NULL), (double)firing);
    tn_metric_set(tn_metric_with(app->m_alerts, "suppressed", NULL), 0);
    tn_metric_set(tn_metric_with(app->m_alerts, "unprocessed", NULL), 0);
    if (app->http)
        tn_metric_set(app->m_http_buffered, (double)tn_http_server_buffered(app->http));
    collect_memory(app);
}

static void on_gc(void *ud, tn_time_t now)
{
    app_t *app = ud;
    tn_oncall_maintain(app->oncall, now);
    size_t n = tn_alert_store_gc(app->store, now, tn_dispatch_holds, app->dispatch);
    if (n) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", n);
        tn_log(TN_LOG_DEBUG, "Garbage collected resolved alerts", "count", num, NULL);
    }
    tn_sched_at(app->sched, &app->gc_timer, now + app->gc_interval);
}

static void app_sync(void *ud, void (*cb)(void *cbud, int rc), void *cbud)
{
    tn_store_sync(((app_t *)ud)->db, cb, cbud);
}

/* Maintenance of the notification log and silences; the store deletes their rows. */
static void on_nflog_gc(void *ud, tn_time_t now)
{
    app_t *app = ud;
    tn_nflog_gc(app->nflog, now);
    tn_store_nflog_gc(app->db, now);
    tn_silences_gc(app->silences, now);
    tn_sched_at(app->sched, &app->nflog_timer, now + app->maintenance_interval);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    app_t *app = h->data;
    char err[TN_ERRBUF_SIZE];
    app_reload(app, NULL, NULL);
    if (app->websec) {
        int rc = tn_websec_reload(app->websec, true, err, sizeof(err));
        if (rc < 0)
            tn_log(TN_LOG_ERROR, "Web config reload failed; keeping the previous one", "err", err,
                   NULL);
        else
            tn_log(TN_LOG_INFO, "Web config reloaded", NULL);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish_shutdown(app_t *app)
{
    reload_abandon(app);
    uv_close((uv_handle_t *)&app->reload_async, NULL);
    uv_timer_stop(&app->drain_timer);
    tn_notifier_cancel_all(app->notifier);
    tn_notifier_set_gate(app->notifier, (tn_gate_t){0});
    tn_cluster_free(app->cluster); /* after the notifier let go of its leases */
    app->cluster = NULL;
    tn_oncall_set_events(app->oncall, NULL);
    tn_events_free(app->events);
    app->events = NULL;
    tn_http_server_free(app->http);
    app->http = NULL;
    tn_oauth2_shutdown(); /* before the outbound client its token fetches use */
    tn_outbound_free(app->outbound);
    app->outbound = NULL;
    tn_sched_free(app->sched);
    app->sched = NULL;
    uv_close((uv_handle_t *)&app->sig_hup, NULL);
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
}

static void on_drain_tick(uv_timer_t *t)
{
    app_t *app = t->data;
    bool idle = tn_notifier_inflight(app->notifier) == 0 && !app->reload_job;
    bool late = tn_clock_mono_ms() - app->drain_started_ms >= DRAIN_TIMEOUT_MS;
    if (idle || late) {
        if (!idle)
            tn_log(TN_LOG_WARN, "Drain timeout: cancelling notifications still in flight", NULL);
        finish_shutdown(app);
    }
}

static void on_sigterm(uv_signal_t *h, int signum)
{
    app_t *app = h->data;
    if (app->stopping) {
        /* A second signal: stop waiting. */
        app->drain_started_ms = 0;
        return;
    }
    app->stopping = true;
    app->ready = false;
    tn_log(TN_LOG_INFO, "Received shutdown signal, draining", "signal",
           signum == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    tn_http_server_stop_accepting(app->http);
    /* Live streams would hold their connections open through the drain. */
    tn_oncall_set_events(app->oncall, NULL);
    tn_events_free(app->events);
    app->events = NULL;
    tn_dispatch_stop(app->dispatch);
    tn_sched_cancel(app->sched, &app->gc_timer);
    tn_sched_cancel(app->sched, &app->nflog_timer);
    app->drain_started_ms = tn_clock_mono_ms();
    uv_timer_start(&app->drain_timer, on_drain_tick, 0, 50);
}

static int parse_duration_flag(const char *name, const char *v, tn_duration_t *out)
{
    char err[TN_ERRBUF_SIZE];
    if (tn_duration_parse(v, out, err, sizeof(err)) != TN_OK) {
        fprintf(stderr, "tocsin: error: --%s: %s\n", name, err);
        return -1;
    }
    return 0;
}

/* A non-negative integer flag. */
static int parse_count_flag(const char *name, const char *v, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (errno || !end || *end || end == v || v[0] == '-') {
        fprintf(stderr, "tocsin: error: --%s: not a non-negative number: '%s'\n", name, v);
        return -1;
    }
    return 0;
}

static int setup_features(const char *list)
{
    bool classic = false, strict = false;
    char *copy = tn_xstrdup(list);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (strcmp(tok, "classic-mode") == 0) {
            classic = true;
        } else if (strcmp(tok, "utf8-strict-mode") == 0) {
            strict = true;
        } else if (strcmp(tok, "alert-names-in-metrics") &&
                   strcmp(tok, "receiver-name-in-metrics") && strcmp(tok, "group-key-in-metrics") &&
                   strcmp(tok, "auto-gomemlimit") && strcmp(tok, "event-recorder")) {
            fprintf(stderr, "tocsin: error: unknown option '%s' for --enable-feature\n", tok);
            rc = -1;
        }
    }
    free(copy);
    if (!rc && classic && strict) {
        fprintf(stderr, "tocsin: error: cannot have both classic and UTF-8 modes enabled\n");
        rc = -1;
    }
    if (!rc)
        tn_labels_set_mode(classic  ? TN_LABELS_CLASSIC
                           : strict ? TN_LABELS_UTF8_STRICT
                                    : TN_LABELS_UTF8);
    return rc;
}

/* External URL and route prefix as Alertmanager derives them. */
static int setup_urls(app_t *app)
{
    const char *ext = app->o.external_url;
    char *url;
    if (!ext || !*ext) {
        char host[256] = "localhost";
        gethostname(host, sizeof(host) - 1);
        const char *colon = strrchr(app->o.listen_address, ':');
        url = tn_xasprintf("http://%s:%s", host, colon ? colon + 1 : "9093");
    } else {
        if (strncmp(ext, "http://", 7) != 0 && strncmp(ext, "https://", 8) != 0) {
            fprintf(stderr,
                    "tocsin: error: --web.external-url %s: only 'http' and 'https' are "
                    "supported\n",
                    ext);
            return -1;
        }
        url = tn_xstrdup(ext);
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
            url[--n] = 0;
    }
    app->external_url = url;
    const char *path = "";
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *slash = strchr(scheme + 3, '/');
        if (slash)
            path = slash;
    }
    const char *prefix = app->o.route_prefix ? app->o.route_prefix : path;
    char *p = tn_xstrdup(prefix);
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        p[--n] = 0;
    if (n && p[0] != '/') {
        char *q = tn_xasprintf("/%s", p);
        free(p);
        p = q;
    }
    app->route_prefix = p;
    return 0;
}

/* ---- the on-call side: acks, history, the events stream, the page ---- */

static bool api_web(void *ud, tn_http_req_t *req)
{
    return tn_web_handle(((app_t *)ud)->web, req);
}

static bool web_basic_auth(void *ud)
{
    app_t *app = ud;
    return app->websec && tn_websec_config(app->websec)->nusers > 0;
}

static void api_oncall(void *ud, tn_http_req_t *req)
{
    tn_oncall_handle(((app_t *)ud)->oncall, req);
}

static void api_silence_event(void *ud, const tn_silence_t *s, const char *what)
{
    tn_oncall_on_silence(((app_t *)ud)->oncall, s, what);
}

static void oncall_ack_made(void *ud, const tn_ack_t *ack)
{
    app_t *app = ud;
    tn_notif_ack_t na = {ack->id, ack->by, ack->comment, ack->created_at};
    uint64_t *fps = tn_xmalloc((ack->ntargets ? ack->ntargets : 1) * sizeof(*fps));
    for (size_t i = 0; i < ack->ntargets; i++)
        fps[i] = ack->targets[i].fp;
    tn_dispatch_ack_notify(app->dispatch, &na, fps, ack->ntargets);
    free(fps);
}

static void oncall_share(void *ud, const tn_event_t *ev)
{
    app_t *app = ud;
    tn_cluster_share_event(app->cluster, ev);
}

/* A peer's event goes into this replica's history, saying which replica it came from. Its
 * extra members are taken only when they read as JSON object members. */
static void cluster_event(void *ud, const tn_event_t *ev, const char *peer)
{
    app_t *app = ud;
    if (!app->history)
        return;
    tn_buf_t extra;
    tn_buf_init(&extra, 0);
    if (ev->extra_json && *ev->extra_json) {
        char *obj = tn_xasprintf("{%s}", ev->extra_json);
        json_t *j = json_loads(obj, 0, NULL);
        if (json_is_object(j)) {
            tn_buf_puts(&extra, ev->extra_json);
            tn_buf_putc(&extra, ',');
        }
        json_decref(j);
        free(obj);
    }
    tn_buf_puts(&extra, "\"replica\":");
    tn_json_go_string(&extra, peer, strlen(peer));
    tn_buf_cstr(&extra);
    tn_event_t copy = *ev;
    copy.extra_json = extra.data;
    tn_history_append(app->history, &copy);
    tn_buf_free(&extra);
}

static void on_history_event(void *ud, uint64_t id, enum tn_event_kind kind, const char *json,
                             size_t len)
{
    app_t *app = ud;
    tn_events_publish(app->events, id, tn_event_kind_name(kind), json, len);
}

/* The on-call modules, after the state is loaded (loading is not news for the history). */
static void start_oncall(app_t *app, tn_duration_t hretention, uint64_t hmax)
{
    char err[TN_ERRBUF_SIZE];
    app->history = tn_history_open(app->loop, app->o.storage_path, err, sizeof(err));
    if (app->history) {
        tn_history_set_limits(app->history, hretention, hmax);
        tn_history_register_metrics(app->history);
        tn_history_set_observer(app->history, on_history_event, app);
    } else {
        /* Paging goes on without it; the history API answers 503. */
        tn_log(TN_LOG_ERROR, "Cannot open the history; running without it", "err", err, NULL);
    }
    app->events = tn_events_new(app->loop);
    tn_oncall_deps_t od = {
        .ud = app,
        .alerts = app->store,
        .acks = app->acks,
        .silences = app->silences,
        .inhibitor = app->inhibitor,
        .history = app->history,
        .events = app->events,
        .alert_receivers = api_receivers,
        .ack_made = oncall_ack_made,
        .share = oncall_share,
        .sync = app_sync,
    };
    app->oncall = tn_oncall_new(&od);
    tn_alert_store_add_listener(app->store, tn_oncall_on_alert, app->oncall);
    tn_notifier_set_acked(app->notifier, tn_oncall_acked, app->oncall);
    tn_notifier_set_observer(app->notifier, tn_oncall_on_notify, app->oncall);
    tn_muter_set_exempt(app->muter, tn_oncall_resolved_by_hand, app->oncall);
}

static void api_cluster_status(void *ud, tn_buf_t *b)
{
    app_t *app = ud;
    if (app->cluster)
        tn_cluster_status_json(app->cluster, b);
    else
        tn_buf_puts(b, "{\"peers\":[],\"status\":\"disabled\"}");
}

/* Joins the replicas sharing state through Redis: after the state is loaded from SQLite, so
 * what this replica has is written back, and after listening, so its name has the port. */
static int start_cluster(app_t *app, const char *port, tn_duration_t retention)
{
    opts_t *o = &app->o;
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    char *name = *o->peer_name ? tn_xstrdup(o->peer_name) : tn_xasprintf("%s:%s", host, port);
    bool insecure = strcmp(o->redis_insecure, "true") == 0;
    if (!insecure && strcmp(o->redis_insecure, "false") != 0) {
        fprintf(stderr, "tocsin: error: --cluster.redis-tls-insecure-skip-verify: expected true "
                        "or false\n");
        free(name);
        return 1;
    }
    tn_cluster_opts_t co = {
        .redis_url = o->redis_url,
        .peer_name = name,
        .address = app->external_url,
        .retention = retention,
        .tls_ca_file = *o->redis_ca ? o->redis_ca : NULL,
        .tls_cert_file = *o->redis_cert ? o->redis_cert : NULL,
        .tls_key_file = *o->redis_key ? o->redis_key : NULL,
        .tls_server_name = *o->redis_server_name ? o->redis_server_name : NULL,
        .tls_insecure_skip_verify = insecure,
        .acks = app->acks,
    };
    char err[TN_ERRBUF_SIZE];
    app->cluster =
        tn_cluster_new(app->loop, &co, app->silences, app->nflog, app->store, err, sizeof(err));
    if (!app->cluster) {
        tn_log(TN_LOG_ERROR, "Cannot use --cluster.redis-url", "err", err, NULL);
        fprintf(stderr, "tocsin: error: --cluster.redis-url: %s\n", err);
        free(name);
        return 1;
    }
    tn_cluster_set_event_sink(app->cluster, cluster_event, app);
    tn_log(TN_LOG_INFO, "Sharing state through Redis", "peer", name, NULL);
    free(name);
    tn_notifier_set_gate(app->notifier, tn_cluster_gate(app->cluster));
    return 0;
}

static void register_metrics(app_t *app)
{
    app->m_reload_ok = tn_metric_plain(
        tn_metric_gauge("alertmanager_config_last_reload_successful",
                        "Whether the last configuration reload attempt was successful.", NULL));
    app->m_reload_ts = tn_metric_plain(
        tn_metric_gauge("alertmanager_config_last_reload_success_timestamp_seconds",
                        "Timestamp of the last successful configuration reload.", NULL));
    app->m_config_hash = tn_metric_plain(
        tn_metric_gauge("alertmanager_config_hash",
                        "Hash of the currently loaded alertmanager configuration.", NULL));
    tn_metric_t *bi = tn_metric_gauge(
        "alertmanager_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, and goversion "
        "from which alertmanager was built.",
        "branch,goversion,revision,version");
    tn_metric_set(tn_metric_with(bi, tn_build_info.branch, tn_build_info.compiler,
                                 tn_build_info.revision, tn_build_info.version, NULL),
                  1);
    app->m_alerts = tn_metric_gauge("alertmanager_alerts", "How many alerts by state.", "state");
    app->m_memory = tn_metric_gauge(
        "tocsin_memory_bytes",
        "Heap bytes by part: strings (interned labels and annotations), alerts (versions and "
        "the store's table), groups, nflog, sqlite, other (the rest in use) and free (held by "
        "the allocator, not in use).",
        "part");
    app->m_http_buffered = tn_metric_plain(tn_metric_gauge(
        "tocsin_http_response_buffer_bytes",
        "Bytes of answers held for clients (write queues and answers being made), against "
        "--web.max-response-buffer-bytes.",
        NULL));
    tn_metrics_on_collect(collect_alerts, app);
    tn_metrics_register_process();
}

static int run(app_t *app)
{
    opts_t *o = &app->o;
    int lvl = tn_log_level_parse(o->log_level);
    if (lvl < 0) {
        fprintf(stderr, "tocsin: error: --log.level: unknown level '%s'\n", o->log_level);
        return 1;
    }
    enum tn_log_format fmt;
    if (strcmp(o->log_format, "logfmt") == 0) {
        fmt = TN_LOG_LOGFMT;
    } else if (strcmp(o->log_format, "json") == 0) {
        fmt = TN_LOG_JSON;
    } else {
        fprintf(stderr, "tocsin: error: --log.format: unknown format '%s'\n", o->log_format);
        return 1;
    }
    tn_log_setup((enum tn_log_level)lvl, fmt);
    if (app->cluster_flags)
        tn_log(TN_LOG_WARN,
               "Ignoring Alertmanager's gossip flags (--cluster.*): tocsin replicas share state "
               "through Redis (--cluster.redis-url)",
               NULL);
    if (setup_features(o->features))
        return 1;
    tn_duration_t retention, start_delay;
    if (parse_duration_flag("alerts.gc-interval", o->gc_interval, &app->gc_interval) ||
        parse_duration_flag("data.retention", o->retention, &retention) ||
        parse_duration_flag("data.maintenance-interval", o->maintenance_interval,
                            &app->maintenance_interval) ||
        parse_duration_flag("dispatch.start-delay", o->start_delay, &start_delay))
        return 1;
    tn_duration_t history_retention;
    unsigned long long history_max_bytes;
    if (parse_duration_flag("history.retention", o->history_retention, &history_retention) ||
        parse_count_flag("history.max-bytes", o->history_max_bytes, &history_max_bytes))
        return 1;
    if (app->gc_interval <= 0) {
        fprintf(stderr, "tocsin: error: --alerts.gc-interval must be positive\n");
        return 1;
    }
    if (app->maintenance_interval <= 0) {
        fprintf(stderr, "tocsin: error: --data.maintenance-interval must be positive\n");
        return 1;
    }
    unsigned long long max_conns, max_header, max_body, max_per_request, max_name, max_value,
        max_annotation, max_conns_per_addr, max_response_bytes;
    if (parse_count_flag("web.max-connections", o->max_conns, &max_conns) ||
        parse_count_flag("web.max-header-bytes", o->max_header, &max_header) ||
        parse_count_flag("web.max-body-bytes", o->max_body, &max_body) ||
        parse_count_flag("web.max-connections-per-address", o->max_conns_per_addr,
                         &max_conns_per_addr) ||
        parse_count_flag("web.max-response-buffer-bytes", o->max_response_bytes,
                         &max_response_bytes) ||
        parse_count_flag("api.max-alerts-per-request", o->max_per_request, &max_per_request) ||
        parse_count_flag("alerts.max-label-name-bytes", o->max_name, &max_name) ||
        parse_count_flag("alerts.max-label-value-bytes", o->max_value, &max_value) ||
        parse_count_flag("alerts.max-annotation-value-bytes", o->max_annotation, &max_annotation))
        return 1;
    if (max_conns == 0 || max_header < 1024 || max_body < 1024) {
        fprintf(stderr, "tocsin: error: --web.max-connections must be positive, "
                        "--web.max-header-bytes and --web.max-body-bytes at least 1024\n");
        return 1;
    }
    tn_api_set_value_limits((size_t)max_name, (size_t)max_value, (size_t)max_annotation);
    char *end = NULL;
    errno = 0;
    unsigned long long max_alerts = strtoull(o->max_alerts, &end, 10);
    if (errno || !end || *end || o->max_alerts[0] == '-') {
        fprintf(stderr, "tocsin: error: --alerts.max: not a number: '%s'\n", o->max_alerts);
        return 1;
    }
    errno = 0;
    long long per_alertname = strtoll(o->per_alertname_limit, &end, 10);
    if (errno || !end || *end || end == o->per_alertname_limit) {
        fprintf(stderr, "tocsin: error: --alerts.per-alertname-limit: not a number: '%s'\n",
                o->per_alertname_limit);
        return 1;
    }
    unsigned long long max_silences = 0, max_silence_bytes = 0;
    if (parse_count_flag("silences.max-silences", o->max_silences, &max_silences) ||
        parse_count_flag("silences.max-silence-size-bytes", o->max_silence_bytes,
                         &max_silence_bytes))
        return 1;
    if (setup_urls(app))
        return 1;

    {
        const tn_build_info_t *b = &tn_build_info;
        char version[256], context[512];
        snprintf(version, sizeof(version), "(version=%s, branch=%s, revision=%s)", b->version,
                 b->branch, b->revision);
        snprintf(context, sizeof(context), "(compiler=%s, platform=%s, user=%s, date=%s)",
                 b->compiler, b->platform, b->user, b->date);
        tn_log(TN_LOG_INFO, "Starting tocsin", "version", version, "build_context", context, NULL);
    }
    char err[TN_ERRBUF_SIZE];
    app->cfg = tn_config_load_file(o->config_file, err, sizeof(err));
    if (!app->cfg) {
        tn_log(TN_LOG_ERROR, "Loading configuration file failed", "file", o->config_file, "err",
               err, NULL);
        return 1;
    }
    if (mkdir(o->storage_path, 0750) != 0 && errno != EEXIST) {
        tn_log(TN_LOG_ERROR, "Cannot create storage directory", "path", o->storage_path, "err",
               strerror(errno), NULL);
        return 1;
    }

    bool move_damaged = strcmp(o->move_damaged, "true") == 0;
    if (!move_damaged && strcmp(o->move_damaged, "false") != 0) {
        fprintf(stderr, "tocsin: error: --storage.move-damaged: expected true or false\n");
        tn_config_unref(app->cfg);
        return 1;
    }
    app->nflog = tn_nflog_new();

    register_metrics(app);
    set_config_metrics(app);

    app->loop = uv_default_loop();
    uv_signal_init(app->loop, &app->sig_hup);
    uv_signal_init(app->loop, &app->sig_term);
    uv_signal_init(app->loop, &app->sig_int);
    app->sig_hup.data = app->sig_term.data = app->sig_int.data = app;
    uv_timer_init(app->loop, &app->drain_timer);
    app->drain_timer.data = app;
    uv_async_init(app->loop, &app->reload_async, on_reload_done);
    app->reload_async.data = app;
    app->sched = tn_sched_new(app->loop);
    app->store = tn_alert_store_new();
    tn_alert_store_set_limit(app->store, (size_t)max_alerts);
    if (per_alertname > 0) {
        char lim[24];
        snprintf(lim, sizeof(lim), "%lld", per_alertname);
        tn_log(TN_LOG_INFO, "per alert name limit enabled", "limit", lim, NULL);
    }
    tn_alert_store_set_name_limit(app->store, per_alertname > 0 ? (size_t)per_alertname : 0);
    app->outbound = tn_outbound_new(app->loop);
    app->notifier = tn_notifier_new(app->sched, app->nflog, tn_sender_outbound(app->outbound));
    tn_notifier_set_retention(app->notifier, retention);
    app->dispatch = tn_dispatch_new(app->sched, app->notifier, app->store);
    tn_dispatch_set_external_url(app->dispatch, app->external_url);
    tn_dispatch_set_start_time(app->dispatch, tn_clock_now() + start_delay);
    tn_alert_store_set_listener(app->store, tn_dispatch_on_alert, app->dispatch);
    tn_dispatch_set_config(app->dispatch, app->cfg);
    app->silences = tn_silences_new();
    tn_silences_set_limits(app->silences, (size_t)max_silences, (size_t)max_silence_bytes);
    tn_silences_set_retention(app->silences, retention);
    tn_silences_register_metrics(app->silences);
    app->inhibitor = tn_inhibitor_new(app->store);
    tn_alert_store_add_listener(app->store, tn_inhibitor_on_alert, app->inhibitor);
    tn_inhibitor_set_config(app->inhibitor, app->cfg);
    app->muter = tn_muter_new(app->inhibitor, app->silences);
    tn_notifier_set_muter(app->notifier, tn_muter_mute, app->muter);

    /* State comes back before anything is served or notified: silences, the notification log
     * (no re-page after a restart) and alerts, which flow into the dispatcher as they load. */
    int rc = 1;
    app->db = tn_store_open(app->loop, o->storage_path, move_damaged, err, sizeof(err));
    if (app->db) {
        tn_store_set_retention(app->db, retention);
        if (tn_store_load(app->db, app->silences, app->nflog, app->store, tn_clock_now(), err,
                          sizeof(err)) == TN_OK) {
            tn_store_attach(app->db, app->silences, app->nflog, app->store);
            app->acks = tn_acks_new();
            if (tn_store_load_acks(app->db, app->acks, err, sizeof(err)) != TN_OK)
                tn_log(TN_LOG_ERROR, "Cannot read stored acks", "err", err, NULL);
            tn_store_attach_acks(app->db, app->acks);
        } else {
            tn_store_close(app->db);
            app->db = NULL;
        }
    }
    if (!app->db) {
        tn_log(TN_LOG_ERROR, "Cannot open the state database", "err", err, NULL);
        fprintf(stderr, "tocsin: error: %s\n", err);
        finish_shutdown(app);
        uv_run(app->loop, UV_RUN_DEFAULT);
        goto out;
    }

    start_oncall(app, history_retention, (uint64_t)history_max_bytes);
    tn_web_deps_t wd = {.ud = app,
                        .route_prefix = app->route_prefix,
                        .config = api_config,
                        .basic_auth = web_basic_auth};
    app->web = tn_web_new(&wd);
    tn_api_deps_t deps = {
        .ud = app,
        .web = api_web,
        .silence_event = api_silence_event,
        .oncall = api_oncall,
        .store = app->store,
        .config = api_config,
        .alert_receivers = api_receivers,
        .foreach_group = api_foreach_group,
        .silences = app->silences,
        .inhibitor = app->inhibitor,
        .sync = app_sync,
        .reload = app_reload,
        .ready = api_ready,
        .external_url = app->external_url,
        .route_prefix = app->route_prefix,
        .max_alerts_per_request = (size_t)max_per_request,
        .build_info = &tn_build_info,
        .cluster_status = api_cluster_status,
    };
    app->api = tn_api_new(&deps);
    tn_http_limits_t limits;
    tn_http_limits_default(&limits);
    limits.max_conns = (size_t)max_conns;
    limits.max_header = (size_t)max_header;
    limits.max_body = (size_t)max_body;
    limits.max_conns_per_addr = (size_t)max_conns_per_addr;
    limits.max_response_bytes = (size_t)max_response_bytes;
    if (o->web_config_file && *o->web_config_file) {
        app->websec =
            tn_websec_new(app->loop, o->web_config_file, tn_api_handle, app->api, err, sizeof(err));
        if (!app->websec) {
            tn_log(TN_LOG_ERROR, "Loading the web config failed", "file", o->web_config_file, "err",
                   err, NULL);
            fprintf(stderr, "tocsin: error: --web.config.file: %s\n", err);
            finish_shutdown(app);
            uv_run(app->loop, UV_RUN_DEFAULT);
            goto out;
        }
        app->http = tn_http_server_new(app->loop, &limits, tn_websec_handle, app->websec);
        tn_websec_attach(app->websec, app->http);
    } else {
        app->http = tn_http_server_new(app->loop, &limits, tn_api_handle, app->api);
    }
    if (tn_http_server_listen(app->http, o->listen_address, err, sizeof(err)) != TN_OK) {
        tn_log(TN_LOG_ERROR, "Cannot listen", "address", o->listen_address, "err", err, NULL);
        finish_shutdown(app);
        uv_run(app->loop, UV_RUN_DEFAULT);
        goto out;
    }
    tn_sched_entry_init(&app->gc_timer, on_gc, app);
    tn_sched_at(app->sched, &app->gc_timer, tn_clock_now() + app->gc_interval);
    tn_sched_entry_init(&app->nflog_timer, on_nflog_gc, app);
    tn_sched_at(app->sched, &app->nflog_timer, tn_clock_now() + app->maintenance_interval);

    uv_signal_start(&app->sig_hup, on_sighup, SIGHUP);
    uv_signal_start(&app->sig_term, on_sigterm, SIGTERM);
    uv_signal_start(&app->sig_int, on_sigterm, SIGINT);

    char port[16];
    snprintf(port, sizeof(port), "%d", tn_http_server_port(app->http));
    if (*o->redis_url && start_cluster(app, port, retention) != 0) {
        finish_shutdown(app);
        uv_run(app->loop, UV_RUN_DEFAULT);
        goto out;
    }
    tn_log(TN_LOG_INFO, "Listening", "address", o->listen_address, "port", port, "external_url",
           app->external_url, NULL);
    app->ready = true;
    uv_run(app->loop, UV_RUN_DEFAULT);
    tn_log(TN_LOG_INFO, "Stopped", NULL);
    rc = 0;
out:
    tn_history_close(app->history);
    tn_store_close(app->db); /* writes what is still queued */
    tn_dispatch_free(app->dispatch);
    tn_muter_free(app->muter);
    tn_inhibitor_free(app->inhibitor);
    tn_silences_free(app->silences);
    tn_notifier_free(app->notifier);
    tn_oncall_free(app->oncall);
    tn_acks_free(app->acks);
    tn_api_free(app->api);
    tn_web_free(app->web);
    tn_websec_free(app->websec);
    tn_alert_store_free(app->store);
    tn_nflog_free(app->nflog);
    tn_config_unref(app->cfg);
    uv_walk(app->loop, close_walk, NULL);
    uv_run(app->loop, UV_RUN_DEFAULT);
    uv_loop_close(app->loop);
    tn_metrics_free_all();
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "config") == 0 && strcmp(argv[2], "routes") == 0)
        return tn_config_routes_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "check-config") == 0)
        return tn_config_check_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "template") == 0)
        return tn_template_render_main(argc - 1, argv + 1);
    app_t app;
    memset(&app, 0, sizeof(app));
    bool cluster_flags = false;
    int rc = parse_flags(argc, argv, &app.o, &cluster_flags);
    if (rc >= 0)
        return rc;
    app.cluster_flags = cluster_flags;
    rc = run(&app);
    /* Freed here, so that every way out of run() releases them. */
    free(app.external_url);
    free(app.route_prefix);
    return rc;
}
