/*  up.c - `zflow up`: starts the services of a local zflow and supervises them. */
#include "up.h"
#include "zf_common.h"
#include "zf_service.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

//  Port offsets from the base port (DESIGN.md, "Default ports").
#define S_DISPATCHER        0
#define S_DISPATCHER_EVENTS 1
#define S_REGISTRY          10
#define S_REGISTRY_EVENTS   11
#define S_BACKUP            12
#define S_BACKUP_EVENTS     13
#define S_PEER_PRIMARY      20
#define S_PEER_BACKUP       21
#define S_ARCHIVER          14
#define S_GATEWAY_SERVE     15

void
zf_up_defaults (zf_up_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->executors = 2;
    cfg->http = "127.0.0.1:8080";
    cfg->base_port = 5560;
    cfg->dir = "./var";
}

//  What `zflow up -h` (and `zflow demo -h`) print after their usage line.
#define S_UP_HELP                                                                                  \
    "Starts the registry, the dispatcher, N executors, the archiver and the\n"                     \
    "gateway on 127.0.0.1, supervises them (a service that dies starts again,\n"                   \
    "with backoff) and stops them all on Ctrl-C or SIGTERM.\n"                                     \
    "  --store sqlite:PATH | postgresql://...  the archiver's store\n"                             \
    "                            (default sqlite:DIR/zflow.db)\n"                                  \
    "  --executors N             executors to start, 0 to 64 (default 2)\n"                        \
    "  --http HOST:PORT          the gateway's dashboard (default 127.0.0.1:8080)\n"               \
    "  --base-port P             ZeroMQ ports at their offsets from P (default 5560)\n"            \
    "  --dir DIR                 the store, the task logs, the registry's term\n"                  \
    "                            (default ./var)\n"                                                \
    "  --keep-runs N             runs of each flow the registry keeps in memory;\n"                \
    "                            older ones that succeeded are read from the store\n"              \
    "                            (default 7; 0 keeps all)\n"                                       \
    "  --pair                    the registry as a Binary Star pair: a primary\n"                  \
    "                            and a backup (its term in DIR/backup)\n"                          \
    "  --peer-heartbeat D        with --pair, how often each registry tells the\n"                 \
    "                            other its state; two missed make it silent\n"                     \
    "                            (default 250ms, at most 60s)\n"                                   \
    "  -v                        more output from every service (-vv for debug)\n"

int
zf_up_parse (int argc, char **argv, const zf_cli_verb_t *verb, zf_up_config_t *cfg,
             const char **extra, unsigned *extra_flags)
{
    enum { O_STORE = 1000, O_EXECUTORS, O_HTTP, O_PAIR, O_BEAT, O_BASE, O_DIR, O_KEEP, O_EXTRA };
    struct option options[16] = {
        {"store", required_argument, NULL, O_STORE},
        {"executors", required_argument, NULL, O_EXECUTORS},
        {"http", required_argument, NULL, O_HTTP},
        {"pair", no_argument, NULL, O_PAIR},
        {"peer-heartbeat", required_argument, NULL, O_BEAT},
        {"base-port", required_argument, NULL, O_BASE},
        {"dir", required_argument, NULL, O_DIR},
        {"keep-runs", required_argument, NULL, O_KEEP},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
    };
    int n = 10;
    for (int i = 0; extra && extra[i] && n < 15; i++, n++)
        options[n] = (struct option){extra[i], no_argument, NULL, O_EXTRA + i};
    if (extra_flags) *extra_flags = 0;

    int opt;
    long long value;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":vh", options, NULL)) != -1) {
        switch (opt) {
        case O_STORE:
            if (strncmp (optarg, "sqlite:", 7) != 0 && strncmp (optarg, "postgresql://", 13) != 0 &&
                strncmp (optarg, "postgres://", 11) != 0)
                return zf_cli_usage_error (verb, "--store takes sqlite:PATH or postgresql://...");
            cfg->store = optarg;
            break;
        case O_EXECUTORS:
            if ((value = zf_number_parse (optarg, 0, ZF_UP_MAX_EXECUTORS)) < 0)
                return zf_cli_usage_error (verb, "--executors takes 0 to %d", ZF_UP_MAX_EXECUTORS);
            cfg->executors = (int)value;
            break;
        case O_HTTP:
            if (!strchr (optarg, ':')) return zf_cli_usage_error (verb, "--http takes HOST:PORT");
            cfg->http = optarg;
            break;
        case O_PAIR:
            cfg->pair = 1;
            break;
        case O_BEAT: {
            int64_t ms = 0;
            if (zf_duration_parse (optarg, &ms) != 0 || ms <= 0 || ms > 60000)
                return zf_cli_usage_error (verb,
                                           "--peer-heartbeat takes a duration up to 60s (250ms)");
            cfg->beat = optarg;
            break;
        }
        case O_BASE:
            if ((value = zf_number_parse (optarg, 1024, 65535 - 30)) < 0)
                return zf_cli_usage_error (verb, "--base-port takes 1024 to %d", 65535 - 30);
            cfg->base_port = (int)value;
            break;
        case O_DIR:
            if (!*optarg) return zf_cli_usage_error (verb, "--dir takes a folder");
            cfg->dir = optarg;
            break;
        case O_KEEP:
            if (zf_number_parse (optarg, 0, 100000) < 0)
                return zf_cli_usage_error (verb, "--keep-runs takes 0 to 100000");
            cfg->keep = optarg;
            break;
        case 'v':
            cfg->verbose++;
            break;
        case 'h':
            zf_cli_help (verb);
            fputs (S_UP_HELP, stdout);
            return -1;
        default:
            if (opt >= O_EXTRA && extra_flags) {
                *extra_flags |= 1u << (opt - O_EXTRA);
                break;
            }
            return zf_cli_bad_option (verb, opt, argv);
        }
    }
    if (optind < argc) return zf_cli_usage_error (verb, "unexpected argument '%s'", argv[optind]);
    if (cfg->beat && !cfg->pair)
        return zf_cli_usage_error (verb, "--peer-heartbeat goes with --pair");
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
    if (len <= 0) return -1;
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
    if ((mkdir (dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir (logs, 0755) != 0 && errno != EEXIST)) {
        fprintf (stderr, "zflow: cannot create %s: %s\n", logs, strerror (errno));
        return -1;
    }
    return 0;
}

//  True if program is built beside this one (the archiver and the gateway
//  join a local zflow once they are part of the build).
static bool
s_have (const char *bindir, const char *program)
{
    char path[PATH_MAX + 64];
    snprintf (path, sizeof path, "%s/%s", bindir, program);
    return access (path, X_OK) == 0;
}

//  Reads DIR/gateway.token, or makes one: 32 random hex digits, mode 0600.
//  Returns 0 with the token in buf, or -1 with the reason printed.
static int
s_gateway_token (const char *path, char *buf, size_t size)
{
    assert (size > 32);
    FILE *file = fopen (path, "r");
    if (file) {
        bool ok = fgets (buf, (int)size, file) != NULL;
        fclose (file);
        buf[strcspn (buf, "\r\n")] = 0;
        if (ok && strlen (buf) >= 16) return 0;
    }
    unsigned char random[16];
    FILE *source = fopen ("/dev/urandom", "r");
    bool got = source && fread (random, 1, sizeof random, source) == sizeof random;
    if (source) fclose (source);
    int fd = got ? open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        fprintf (stderr, "zflow: cannot write %s: %s\n", path, strerror (errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof random; i++)
        snprintf (buf + 2 * i, 3, "%02x", random[i]);
    bool written = write (fd, buf, 32) == 32 && write (fd, "\n", 1) == 1;
    close (fd);
    if (!written) {
        fprintf (stderr, "zflow: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

//  Where the services of a configuration listen, and what they keep where.
typedef struct {
    char disp[64];             //  the dispatcher's ROUTER
    char disp_ev[64];          //  its events
    char reg[64];              //  the registry's ROUTER (the primary's of a pair)
    char reg_ev[64];           //  its events
    char backup[64];           //  a pair's backup: its ROUTER
    char backup_ev[64];        //  its events
    char peer_primary[64];     //  a pair's states: the primary's PUB
    char peer_backup[64];      //  the backup's PUB
    char backup_dir[PATH_MAX]; //  the backup's term
    char registries[160];      //  every registry's ROUTER, for clients
    char archiver[64];         //  the archiver's ROUTER
    char serve[64];            //  the gateway's copy of the state, ROUTER
    char logs[PATH_MAX];       //  the task logs
    char store[PATH_MAX + 16]; //  the archiver's store: --store, or the SQLite file in DIR
    char token_path[PATH_MAX]; //  the gateway's token
} s_places_t;

//  Fills places from cfg.
static void
s_places (const zf_up_config_t *cfg, s_places_t *places)
{
    s_endpoint (cfg, S_DISPATCHER, places->disp, sizeof places->disp);
    s_endpoint (cfg, S_DISPATCHER_EVENTS, places->disp_ev, sizeof places->disp_ev);
    s_endpoint (cfg, S_REGISTRY, places->reg, sizeof places->reg);
    s_endpoint (cfg, S_REGISTRY_EVENTS, places->reg_ev, sizeof places->reg_ev);
    s_endpoint (cfg, S_BACKUP, places->backup, sizeof places->backup);
    s_endpoint (cfg, S_BACKUP_EVENTS, places->backup_ev, sizeof places->backup_ev);
    s_endpoint (cfg, S_PEER_PRIMARY, places->peer_primary, sizeof places->peer_primary);
    s_endpoint (cfg, S_PEER_BACKUP, places->peer_backup, sizeof places->peer_backup);
    snprintf (places->backup_dir, sizeof places->backup_dir, "%s/backup", cfg->dir);
    zf_up_registry_endpoints (cfg, places->registries, sizeof places->registries);
    s_endpoint (cfg, S_ARCHIVER, places->archiver, sizeof places->archiver);
    s_endpoint (cfg, S_GATEWAY_SERVE, places->serve, sizeof places->serve);
    snprintf (places->logs, sizeof places->logs, "%s/logs", cfg->dir);
    if (cfg->store)
        snprintf (places->store, sizeof places->store, "%s", cfg->store);
    else
        snprintf (places->store, sizeof places->store, "sqlite:%s/zflow.db", cfg->dir);
    snprintf (places->token_path, sizeof places->token_path, "%s/gateway.token", cfg->dir);
}

//  Starts the command line of a service named name in plan. NULL if there
//  is no room or memory (said).
static zf_cmdline_t *
s_plan_add (zf_up_plan_t *plan, const char *name, const zf_service_def_t *def)
{
    zf_cmdline_t *cmdline = plan->count < ZF_UP_MAX_SERVICES ? zf_cmdline_new (def) : NULL;
    if (!cmdline) {
        fprintf (stderr, "zflow: cannot plan service %s\n", name);
        return NULL;
    }
    snprintf (plan->names[plan->count], sizeof plan->names[0], "%s", name);
    plan->commands[plan->count++] = cmdline;
    return cmdline;
}

int
zf_up_plan (const zf_up_config_t *cfg, bool with_archiver, bool with_gateway, zf_up_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    s_places_t at;
    s_places (cfg, &at);

    zf_cmdline_t *cmd = s_plan_add (plan, "dispatcher", &zf_dispatcher_def);
    if (!cmd) goto failed;
    zf_cmdline_add (cmd, ZF_OPT_BIND, at.disp);
    zf_cmdline_add (cmd, ZF_OPT_EVENTS, at.disp_ev);
    //  With an archiver, the registry recovers at every cold start from the
    //  newer of its state and the gateway's copy.
    for (int member = 0; member < (cfg->pair ? 2 : 1); member++) {
        bool backup = member == 1;
        if (!(cmd = s_plan_add (plan, backup ? "registry-backup" : "registry", &zf_registry_def)))
            goto failed;
        zf_cmdline_add (cmd, ZF_OPT_BIND, backup ? at.backup : at.reg);
        zf_cmdline_add (cmd, ZF_OPT_EVENTS, backup ? at.backup_ev : at.reg_ev);
        zf_cmdline_add (cmd, ZF_OPT_DISPATCHER, at.disp);
        zf_cmdline_add (cmd, ZF_OPT_DIR, backup ? at.backup_dir : cfg->dir);
        zf_cmdline_add (cmd, ZF_OPT_LOG_DIR, at.logs);
        if (with_archiver) zf_cmdline_add (cmd, ZF_OPT_ARCHIVER, at.archiver);
        if (with_archiver && with_gateway) zf_cmdline_add (cmd, ZF_OPT_REPLICA, at.serve);
        if (with_archiver && cfg->keep) zf_cmdline_add (cmd, ZF_OPT_KEEP_RUNS, cfg->keep);
        if (!cfg->pair) continue;
        zf_cmdline_add (cmd, ZF_OPT_PAIR, backup ? "backup" : "primary");
        zf_cmdline_add (cmd, ZF_OPT_PEER_BIND, backup ? at.peer_backup : at.peer_primary);
        zf_cmdline_add (cmd, ZF_OPT_PEER, backup ? at.peer_primary : at.peer_backup);
        zf_cmdline_add (cmd, ZF_OPT_PEER_REGISTRY, backup ? at.reg : at.backup);
        if (cfg->beat) zf_cmdline_add (cmd, ZF_OPT_PEER_HEARTBEAT, cfg->beat);
    }
    if (cfg->example_worker) {
        if (!(cmd = s_plan_add (plan, "settle", &zf_settle_def))) goto failed;
        zf_cmdline_add (cmd, ZF_OPT_DISPATCHER, at.disp);
        zf_cmdline_add (cmd, ZF_OPT_NAME, "settle-1");
    }
    for (int i = 1; i <= cfg->executors; i++) {
        char name[32];
        snprintf (name, sizeof name, "executor-%d", i);
        if (!(cmd = s_plan_add (plan, name, &zf_executor_def))) goto failed;
        zf_cmdline_add (cmd, ZF_OPT_DISPATCHER, at.disp);
        zf_cmdline_add (cmd, ZF_OPT_NAME, name);
        zf_cmdline_add (cmd, ZF_OPT_LOG_DIR, at.logs);
    }
    if (with_archiver) {
        if (!(cmd = s_plan_add (plan, "archiver", &zf_archiver_def))) goto failed;
        zf_cmdline_add (cmd, ZF_OPT_REGISTRY, at.registries);
        zf_cmdline_add (cmd, ZF_OPT_STORE, at.store);
        zf_cmdline_add (cmd, ZF_OPT_BIND, at.archiver);
        zf_cmdline_add (cmd, ZF_OPT_LOG_DIR, at.logs);
    }
    if (with_gateway) {
        if (!(cmd = s_plan_add (plan, "gateway", &zf_gateway_def))) goto failed;
        zf_cmdline_add (cmd, ZF_OPT_HTTP, cfg->http);
        zf_cmdline_add (cmd, ZF_OPT_REGISTRY, at.registries);
        zf_cmdline_add (cmd, ZF_OPT_DISPATCHER_EVENTS, at.disp_ev);
        zf_cmdline_add (cmd, ZF_OPT_TOKEN_FILE, at.token_path);
        if (with_archiver) zf_cmdline_add (cmd, ZF_OPT_SERVE, at.serve);
    }
    int rc = 0;
    for (int i = 0; i < plan->count; i++) {
        zf_cmdline_verbose (plan->commands[i], cfg->verbose > 3 ? 3 : cfg->verbose);
        if (!zf_cmdline_argv (plan->commands[i])) {
            fprintf (stderr, "zflow: %s\n", zf_cmdline_error (plan->commands[i]));
            rc = -1;
        }
    }
    if (rc == 0) return 0;
failed:
    zf_up_plan_clear (plan);
    return -1;
}

void
zf_up_plan_clear (zf_up_plan_t *plan)
{
    for (int i = 0; i < plan->count; i++)
        zf_cmdline_destroy (&plan->commands[i]);
    plan->count = 0;
}

zf_supervisor_t *
zf_up_start (zf_up_config_t *cfg, FILE *out)
{
    char bindir[PATH_MAX];
    if (s_bindir (bindir, sizeof bindir) != 0 || s_make_dirs (cfg->dir) != 0) return NULL;
    bool with_archiver = s_have (bindir, "zflow-archiver");
    bool with_gateway = s_have (bindir, "zflow-gateway");
    if (!with_archiver && cfg->store)
        fprintf (stderr, "zflow: --store ignored: this build has no zflow-archiver\n");
    s_places_t at;
    s_places (cfg, &at);
    char token[64] = "";
    if (with_gateway && s_gateway_token (at.token_path, token, sizeof token) != 0) return NULL;
    zf_up_plan_t plan;
    if (zf_up_plan (cfg, with_archiver, with_gateway, &plan) != 0) return NULL;
    zf_supervisor_t *supervisor = zf_supervisor_new (bindir);
    int rc = supervisor ? 0 : -1;
    for (int i = 0; i < plan.count && rc == 0; i++)
        rc = zf_supervisor_add_argv (supervisor, plan.names[i], zf_cmdline_argv (plan.commands[i]));
    zf_up_plan_clear (&plan);
    if (rc != 0 || zf_supervisor_start (supervisor) != 0) {
        fprintf (stderr, "zflow: cannot start the services (see above)\n");
        zf_supervisor_destroy (&supervisor);
        return NULL;
    }
    fprintf (out, "zflow up: dispatcher  %s  (events %s)\n", at.disp, at.disp_ev);
    fprintf (out, "zflow up: registry    %s  (events %s)%s\n", at.reg, at.reg_ev,
             cfg->pair ? ", the primary" : "");
    if (cfg->pair)
        fprintf (out, "zflow up: registry    %s  (events %s), the backup\n", at.backup,
                 at.backup_ev);
    fprintf (out, "zflow up: executors   %d, task logs in %s\n", cfg->executors, at.logs);
    if (with_archiver)
        fprintf (out, "zflow up: archiver    %s  (store %s)\n", at.archiver, at.store);
    if (with_gateway) {
        snprintf (cfg->dashboard, sizeof cfg->dashboard, "http://%s/#token=%s", cfg->http, token);
        fprintf (out, "zflow up: dashboard %s\n", cfg->dashboard);
    }
    fprintf (out, "zflow up: export ZFLOW_REGISTRY=%s\n", at.registries);
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
static int s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  A restart is due.
static int
s_on_restart (zloop_t *loop, int timer_id, void *arg)
{
    zf_supervisor_t *supervisor = arg;
    zf_supervisor_restart_due (supervisor);
    int64_t next = zf_supervisor_next_ms (supervisor);
    if (next >= 0) zloop_timer (loop, (size_t)(next > 0 ? next : 1), 1, s_on_restart, supervisor);
    return 0;
}

static int
s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zf_supervisor_t *supervisor = arg;
    if (zf_supervisor_reap (supervisor) > 0) {
        int64_t next = zf_supervisor_next_ms (supervisor);
        if (next >= 0)
            zloop_timer (loop, (size_t)(next > 0 ? next : 1), 1, s_on_restart, supervisor);
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
    if (sigfd < 0) return -1;
    zmq_pollitem_t signals = {NULL, sigfd, ZMQ_POLLIN, 0};
    zmq_pollitem_t children = {NULL, zf_supervisor_fd (supervisor), ZMQ_POLLIN, 0};
    if (zloop_poller (loop, &signals, s_on_signal, NULL) != 0 ||
        zloop_poller (loop, &children, s_on_child, supervisor) != 0) {
        close (sigfd);
        return -1;
    }
    return sigfd;
}

int
zf_cmd_up (int argc, char **argv)
{
    static const zf_cli_verb_t verb = {"up", "[OPTIONS]", NULL};
    zf_up_config_t cfg;
    zf_up_defaults (&cfg);
    int rc = zf_up_parse (argc, argv, &verb, &cfg, NULL, NULL);
    if (rc != 0) return rc < 0 ? 0 : rc;
    zf_up_block_signals ();
    zsys_handler_set (NULL);
    zf_supervisor_t *supervisor = zf_up_start (&cfg, stdout);
    if (!supervisor) return 1;
    zloop_t *loop = zloop_new ();
    int sigfd = loop ? zf_up_attach (supervisor, loop) : -1;
    rc = sigfd >= 0 ? 0 : 1;
    if (rc == 0) zloop_start (loop);
    printf ("zflow up: stopping\n");
    zf_supervisor_stop (supervisor, 5000);
    zloop_destroy (&loop);
    if (sigfd >= 0) close (sigfd);
    zf_supervisor_destroy (&supervisor);
    return rc;
}
