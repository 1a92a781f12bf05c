/*  up.c - `zflow up`: starts the services of a local zflow and supervises them. */
#include "up.h"
#include "zf_common.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

//  Port offsets from the base port (DESIGN.md, "Default ports").
#define S_DISPATCHER 0
#define S_DISPATCHER_EVENTS 1
#define S_REGISTRY 10
#define S_REGISTRY_EVENTS 11
#define S_BACKUP 12
#define S_BACKUP_EVENTS 13
#define S_PEER_PRIMARY 20
#define S_PEER_BACKUP 21

#define S_MAX_EXECUTORS 64

void
zf_up_defaults (zf_up_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->executors = 2;
    cfg->http = "127.0.0.1:8080";
    cfg->base_port = 5560;
    cfg->dir = "./var";
}

int
zf_up_parse (int argc, char **argv, zf_up_config_t *cfg, const char **extra,
             unsigned *extra_flags)
{
    enum { O_STORE = 1000, O_EXECUTORS, O_HTTP, O_PAIR, O_BASE, O_DIR, O_EXTRA };
    struct option options[16] = {
        {"store", required_argument, NULL, O_STORE},
        {"executors", required_argument, NULL, O_EXECUTORS},
        {"http", required_argument, NULL, O_HTTP},
        {"pair", no_argument, NULL, O_PAIR},
        {"base-port", required_argument, NULL, O_BASE},
        {"dir", required_argument, NULL, O_DIR},
        {"verbose", no_argument, NULL, 'v'},
    };
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 15; i++, n++)
        options[n] = (struct option) {extra[i], no_argument, NULL, O_EXTRA + i};
    if (extra_flags)
        *extra_flags = 0;

    int opt;
    while ((opt = getopt_long (argc, argv, "v", options, NULL)) != -1) {
        char *end;
        long value;
        switch (opt) {
            case O_STORE:
                if (strncmp (optarg, "sqlite:", 7) != 0 && strncmp (optarg, "postgresql://", 13) != 0
                    && strncmp (optarg, "postgres://", 11) != 0) {
                    fprintf (stderr, "zflow: --store takes sqlite:PATH or postgresql://...\n");
                    return 2;
                }
                cfg->store = optarg;
                break;
            case O_EXECUTORS:
                value = strtol (optarg, &end, 10);
                if (*end || value < 0 || value > S_MAX_EXECUTORS) {
                    fprintf (stderr, "zflow: --executors takes 0 to %d\n", S_MAX_EXECUTORS);
                    return 2;
                }
                cfg->executors = (int) value;
                break;
            case O_HTTP:
                if (!strchr (optarg, ':')) {
                    fprintf (stderr, "zflow: --http takes HOST:PORT\n");
                    return 2;
                }
                cfg->http = optarg;
                break;
            case O_PAIR:
                cfg->pair = 1;
                break;
            case O_BASE:
                value = strtol (optarg, &end, 10);
                if (*end || value < 1024 || value > 65535 - 30) {
                    fprintf (stderr, "zflow: --base-port takes 1024 to %d\n", 65535 - 30);
                    return 2;
                }
                cfg->base_port = (int) value;
                break;
            case O_DIR:
                cfg->dir = optarg;
                break;
            case 'v':
                cfg->verbose++;
                break;
            default:
                if (opt >= O_EXTRA && extra_flags) {
                    *extra_flags |= 1u << (opt - O_EXTRA);
                    break;
                }
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zflow: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

//  "tcp://127.0.0.1:PORT" for an offset from the base port.
static char *
s_endpoint (const zf_up_config_t *cfg, int offset, char *buf, size_t size)
{
    snprintf (buf, size, "tcp://127.0.0.1:%d", cfg->base_port + offset);
    return buf;
}

void
zf_up_registry_endpoints (const zf_up_config_t *cfg, char *buf, size_t size)
{
    char a[64], b[64];
    if (cfg->pair)
        snprintf (buf, size, "%s,%s", s_endpoint (cfg, S_REGISTRY, a, sizeof a),
                  s_endpoint (cfg, S_BACKUP, b, sizeof b));
    else
        snprintf (buf, size, "%s", s_endpoint (cfg, S_REGISTRY, a, sizeof a));
}

//  The folder this program runs from: the services live beside it.
static int
s_bindir (char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -1;
    self[len] = 0;
    snprintf (buf, size, "%s", dirname (self));
    return 0;
}

//  Makes DIR and DIR/logs; returns 0 or -1 with the reason printed.
static int
s_make_dirs (const char *dir)
{
    char logs[PATH_MAX];
    snprintf (logs, sizeof logs, "%s/logs", dir);
    if ((mkdir (dir, 0755) != 0 && errno != EEXIST) || (mkdir (logs, 0755) != 0 && errno != EEXIST)) {
        fprintf (stderr, "zflow: cannot create %s: %s\n", logs, strerror (errno));
        return -1;
    }
    return 0;
}

zf_supervisor_t *
zf_up_start (const zf_up_config_t *cfg, FILE *out)
{
    char bindir[PATH_MAX];
    if (s_bindir (bindir, sizeof bindir) != 0 || s_make_dirs (cfg->dir) != 0)
        return NULL;
    char disp[64], disp_ev[64], reg[64], reg_ev[64], logs[PATH_MAX], verbose[8] = "-";
    s_endpoint (cfg, S_DISPATCHER, disp, sizeof disp);
    s_endpoint (cfg, S_DISPATCHER_EVENTS, disp_ev, sizeof disp_ev);
    s_endpoint (cfg, S_REGISTRY, reg, sizeof reg);
    s_endpoint (cfg, S_REGISTRY_EVENTS, reg_ev, sizeof reg_ev);
    snprintf (logs, sizeof logs, "%s/logs", cfg->dir);
    for (int i = 0; i < cfg->verbose && i < 3; i++)
        strcat (verbose, "v");
    const char *v = cfg->verbose ? verbose : NULL;

    zf_supervisor_t *supervisor = zf_supervisor_new (bindir);
    if (!supervisor)
        return NULL;
    int rc = zf_supervisor_add (supervisor, "dispatcher", "zflow-dispatcher", "--bind", disp,
                                "--events", disp_ev, v, NULL);
    rc |= zf_supervisor_add (supervisor, "registry", "zflow-registry", "--bind", reg, "--events",
                             reg_ev, "--dispatcher", disp, "--dir", cfg->dir, v, NULL);
    if (cfg->example_worker)
        rc |= zf_supervisor_add (supervisor, "settle", "zflow-settle", "--dispatcher", disp,
                                 "--name", "settle-1", v, NULL);
    for (int i = 1; i <= cfg->executors; i++) {
        char name[32];
        snprintf (name, sizeof name, "executor-%d", i);
        rc |= zf_supervisor_add (supervisor, name, "zflow-executor", "--dispatcher", disp, "--name",
                                 name, "--log-dir", logs, v, NULL);
    }
    if (rc != 0 || zf_supervisor_start (supervisor) != 0) {
        fprintf (stderr, "zflow: cannot start the services (see above)\n");
        zf_supervisor_destroy (&supervisor);
        return NULL;
    }
    fprintf (out, "zflow up: dispatcher  %s  (events %s)\n", disp, disp_ev);
    fprintf (out, "zflow up: registry    %s  (events %s)\n", reg, reg_ev);
    fprintf (out, "zflow up: executors   %d, task logs in %s\n", cfg->executors, logs);
    fprintf (out, "zflow up: export ZFLOW_REGISTRY=%s\n", reg);
    fflush (out);
    return supervisor;
}

void
zf_up_block_signals (void)
{
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGCHLD);
    pthread_sigmask (SIG_BLOCK, &mask, NULL);
}

//  A child exited: reap it and re-arm the restart timer.
static int
s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  A restart is due.
static int
s_on_restart (zloop_t *loop, int timer_id, void *arg)
{
    zf_supervisor_t *supervisor = arg;
    zf_supervisor_restart_due (supervisor);
    int64_t next = zf_supervisor_next_ms (supervisor);
    if (next >= 0)
        zloop_timer (loop, (size_t) (next > 0 ? next : 1), 1, s_on_restart, supervisor);
    return 0;
}

static int
s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zf_supervisor_t *supervisor = arg;
    if (zf_supervisor_reap (supervisor) > 0) {
        int64_t next = zf_supervisor_next_ms (supervisor);
        if (next >= 0)
            zloop_timer (loop, (size_t) (next > 0 ? next : 1), 1, s_on_restart, supervisor);
    }
    return 0;
}

//  SIGINT or SIGTERM: end the loop.
static int
s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    struct signalfd_siginfo info;
    if (read (item->fd, &info, sizeof info) == sizeof info)
        zf_log_info ("stopping signal=%u", info.ssi_signo);
    return -1;
}

int
zf_up_attach (zf_supervisor_t *supervisor, zloop_t *loop)
{
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGTERM);
    int sigfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0)
        return -1;
    zmq_pollitem_t signals = {NULL, sigfd, ZMQ_POLLIN, 0};
    zmq_pollitem_t children = {NULL, zf_supervisor_fd (supervisor), ZMQ_POLLIN, 0};
    if (zloop_poller (loop, &signals, s_on_signal, NULL) != 0
        || zloop_poller (loop, &children, s_on_child, supervisor) != 0) {
        close (sigfd);
        return -1;
    }
    return sigfd;
}

int
zf_cmd_up (int argc, char **argv)
{
    zf_up_config_t cfg;
    zf_up_defaults (&cfg);
    int rc = zf_up_parse (argc, argv, &cfg, NULL, NULL);
    if (rc != 0)
        return rc;
    zf_up_block_signals ();
    zsys_handler_set (NULL);
    zf_supervisor_t *supervisor = zf_up_start (&cfg, stdout);
    if (!supervisor)
        return 1;
    zloop_t *loop = zloop_new ();
    int sigfd = loop ? zf_up_attach (supervisor, loop) : -1;
    rc = sigfd >= 0 ? 0 : 1;
    if (rc == 0)
        zloop_start (loop);
    printf ("zflow up: stopping\n");
    zf_supervisor_stop (supervisor, 5000);
    zloop_destroy (&loop);
    if (sigfd >= 0)
        close (sigfd);
    zf_supervisor_destroy (&supervisor);
    return rc;
}
