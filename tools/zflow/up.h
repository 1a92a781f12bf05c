/*  up.h - `zflow up`: every service of a local zflow, supervised. */
#ifndef ZF_UP_H_INCLUDED
#define ZF_UP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "cli.h"
#include "supervisor.h"
#include "zf_cmdline.h"

//  What `zflow up` (and `zflow demo`) start and where.
typedef struct {
    const char *store;   //  --store sqlite:PATH | postgresql://..., or NULL for DIR/zflow.db
    int executors;       //  --executors N
    const char *http;    //  --http HOST:PORT of the gateway
    int pair;            //  --pair: a Binary Star registry pair
    const char *beat;    //  --peer-heartbeat D: the pair's heartbeat, or NULL (250ms)
    int base_port;       //  --base-port P: ZeroMQ ports at fixed offsets from P
    const char *dir;     //  --dir DIR: store and task logs
    const char *keep;    //  --keep-runs N: runs per flow the registry keeps in memory, or NULL
    int verbose;         //  -v count, passed on to services
    bool example_worker; //  also run zflow-settle, the example C worker (demo)
    char dashboard[192]; //  set by zf_up_start: the dashboard's URL, "" if none
} zf_up_config_t;

//  Fills defaults (DESIGN.md: ports from 5560, 2 executors, ./var, 127.0.0.1:8080).
void zf_up_defaults (zf_up_config_t *cfg);

//  Parses the options of `zflow up`/`zflow demo` (verb names which) from
//  argv[optind...]; extra long options given in extra are accepted and
//  reported through *extra_flags (bit i set for extra[i]). Returns 0, -1
//  after -h printed the help (exit 0), or 2 on bad usage (message and
//  usage line printed).
int zf_up_parse (int argc, char **argv, const zf_cli_verb_t *verb, zf_up_config_t *cfg,
                 const char **extra, unsigned *extra_flags);

//  The registry's request endpoint(s) of this configuration, comma-separated.
void zf_up_registry_endpoints (const zf_up_config_t *cfg, char *buf, size_t size);

//  Executors of a local zflow, at most (--executors).
#define ZF_UP_MAX_EXECUTORS 64

//  Services of a local zflow, at most: the executors and six others.
#define ZF_UP_MAX_SERVICES (ZF_UP_MAX_EXECUTORS + 6)

//  What `zflow up` starts: each service's name under the supervisor and its
//  command line, built from the service's own table of options.
typedef struct {
    int count;                                  //  services
    char names[ZF_UP_MAX_SERVICES][32];         //  each one's name
    zf_cmdline_t *commands[ZF_UP_MAX_SERVICES]; //  its command line (owned)
} zf_up_plan_t;

//  Fills plan with the services of cfg, the archiver and the gateway only
//  if with_archiver and with_gateway (their programs are built). Returns 0,
//  or -1 with the reason printed if a command line cannot be built (an
//  option its program does not take) and plan left empty.
int zf_up_plan (const zf_up_config_t *cfg, bool with_archiver, bool with_gateway,
                zf_up_plan_t *plan);

//  Frees the command lines of plan.
void zf_up_plan_clear (zf_up_plan_t *plan);

//  Starts every service under a new supervisor and prints where each listens
//  (and sets cfg->dashboard).
//  Returns the supervisor, or NULL with the reason printed.
zf_supervisor_t *zf_up_start (zf_up_config_t *cfg, FILE *out);

//  Adds the supervisor's readers and timers to a zloop: children are reaped
//  and restarted; SIGINT/SIGTERM end the loop. zf_up_block_signals must have
//  run before any thread started. Returns the signal descriptor, which the
//  caller closes after the loop, or -1.
int zf_up_attach (zf_supervisor_t *supervisor, zloop_t *loop);

//  Blocks SIGINT, SIGTERM and SIGCHLD in this thread and every thread it
//  starts later, so they arrive on signalfds rather than as interrupts.
void zf_up_block_signals (void);

//  `zflow up`: start, supervise, stop on Ctrl-C or SIGTERM.
int zf_cmd_up (int argc, char **argv);

#endif
