/*  main.c - zflow-registry: parses arguments, starts the registry actor, waits. */
#include "registry.h"
#include "zf_service.h"
#include "zf_number.h"
#include "zf_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What -h prints, and every usage error after its message.
static const char s_usage[] =
    "usage: zflow-registry [options]\n"
    "  --bind ENDPOINT          requests, ROUTER (default tcp://*:5570)\n"
    "  --events ENDPOINT        events, PUB (default tcp://*:5571)\n"
    "  --dispatcher ENDPOINT    the dispatcher (default tcp://127.0.0.1:5560)\n"
    "  --archiver ENDPOINT      recover the durable state from this archiver at\n"
    "                           start, and read archived runs from it (default:\n"
    "                           none, start empty and keep every run in memory)\n"
    "  --keep-runs N            with an archiver, the latest runs of each flow kept\n"
    "                           in memory; older ones that succeeded and are durable\n"
    "                           are read from the archive (default 7; 0 keeps all)\n"
    "  --dir DIR                holds registry.epoch (default ./var)\n"
    "  --log-dir DIR            the executors' task logs (default DIR/logs)\n"
    "  --name NAME              our name at the dispatcher (default registry)\n"
    "  --heartbeat DURATION     heartbeat interval with the dispatcher (default 1s)\n"
    "  --liveness N             heartbeats the dispatcher may miss (default 3)\n"
    "  --no-worker-wait DURATION  an order fails once no worker offered its service\n"
    "                           this long (default 60s; 0 waits for ever)\n"
    "  -v, --verbose            more output (-vv for debug)\n"
    "  -h, --help               this text\n";

int
main (int argc, char **argv)
{
    zf_registry_config_t cfg;
    zf_registry_config_defaults (&cfg);
    int verbose = 0;
    enum {
        O_BIND = 256,
        O_EVENTS,
        O_DISPATCHER,
        O_DIR,
        O_LOG_DIR,
        O_NAME,
        O_HEARTBEAT,
        O_LIVENESS,
        O_WAIT,
        O_ARCHIVER,
        O_KEEP_RUNS
    };
    static const struct option options[] = {
        {"bind", required_argument, NULL, O_BIND},
        {"events", required_argument, NULL, O_EVENTS},
        {"dispatcher", required_argument, NULL, O_DISPATCHER},
        {"dir", required_argument, NULL, O_DIR},
        {"log-dir", required_argument, NULL, O_LOG_DIR},
        {"name", required_argument, NULL, O_NAME},
        {"heartbeat", required_argument, NULL, O_HEARTBEAT},
        {"liveness", required_argument, NULL, O_LIVENESS},
        {"no-worker-wait", required_argument, NULL, O_WAIT},
        {"archiver", required_argument, NULL, O_ARCHIVER},
        {"keep-runs", required_argument, NULL, O_KEEP_RUNS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (opt) {
        case O_BIND:
            cfg.bind = optarg;
            break;
        case O_EVENTS:
            cfg.events = optarg;
            break;
        case O_DISPATCHER:
            cfg.dispatcher = optarg;
            break;
        case O_ARCHIVER:
            cfg.archiver = optarg;
            break;
        case O_KEEP_RUNS:
            if ((number = zf_number_parse (optarg, 0, 100000)) < 0)
                return zf_service_bad_usage ("registry", s_usage, "--keep-runs takes 0 to 100000");
            cfg.keep_runs = (uint32_t)number;
            break;
        case O_DIR:
            if (!*optarg) return zf_service_bad_usage ("registry", s_usage, "--dir takes a folder");
            cfg.dir = optarg;
            break;
        case O_LOG_DIR:
            if (!*optarg)
                return zf_service_bad_usage ("registry", s_usage, "--log-dir takes a folder");
            cfg.log_dir = optarg;
            break;
        case O_NAME:
            if (!*optarg || strlen (optarg) > 128)
                return zf_service_bad_usage ("registry", s_usage, "--name takes 1 to 128 bytes");
            cfg.name = optarg;
            break;
        case O_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.heartbeat_ms) != 0 || cfg.heartbeat_ms <= 0)
                return zf_service_bad_usage ("registry", s_usage,
                                             "--heartbeat takes a duration (1s)");
            break;
        case O_LIVENESS:
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0)
                return zf_service_bad_usage ("registry", s_usage, "--liveness takes 1 to 1000");
            cfg.liveness = (uint32_t)number;
            break;
        case O_WAIT:
            if (zf_duration_parse (optarg, &cfg.no_worker_wait_ms) != 0 ||
                cfg.no_worker_wait_ms < 0)
                return zf_service_bad_usage ("registry", s_usage,
                                             "--no-worker-wait takes a duration (60s)");
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            fputs (s_usage, stdout);
            return 0;
        default:
            return zf_service_bad_usage ("registry", s_usage, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage ("registry", s_usage, "unexpected argument");
    return zf_service_run ("registry", verbose, zf_registry_actor, &cfg, cfg.error);
}
