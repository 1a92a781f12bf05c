/*  main.c - zflow-registry: parses arguments, starts the registry actor, waits. */
#include "registry.h"
#include "zf_bstar.h"
#include "zf_service.h"
#include "zf_number.h"
#include "zf_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
    zf_registry_config_t cfg;
    zf_registry_config_defaults (&cfg);
    int verbose = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_registry_def, false);
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_BIND:
            cfg.bind = optarg;
            break;
        case ZF_OPT_EVENTS:
            cfg.events = optarg;
            break;
        case ZF_OPT_DISPATCHER:
            cfg.dispatcher = optarg;
            break;
        case ZF_OPT_ARCHIVER:
            cfg.archiver = optarg;
            break;
        case ZF_OPT_REPLICA:
            cfg.replicas = optarg;
            break;
        case ZF_OPT_KEEP_RUNS:
            if ((number = zf_number_parse (optarg, 0, 100000)) < 0)
                return zf_service_bad_usage (&zf_registry_def, "--keep-runs takes 0 to 100000");
            cfg.keep_runs = (uint32_t)number;
            break;
        case ZF_OPT_DIR:
            if (!*optarg) return zf_service_bad_usage (&zf_registry_def, "--dir takes a folder");
            cfg.dir = optarg;
            break;
        case ZF_OPT_LOG_DIR:
            if (!*optarg)
                return zf_service_bad_usage (&zf_registry_def, "--log-dir takes a folder");
            cfg.log_dir = optarg;
            break;
        case ZF_OPT_NAME:
            if (!*optarg || strlen (optarg) > 128)
                return zf_service_bad_usage (&zf_registry_def, "--name takes 1 to 128 bytes");
            cfg.name = optarg;
            break;
        case ZF_OPT_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.heartbeat_ms) != 0 || cfg.heartbeat_ms <= 0)
                return zf_service_bad_usage (&zf_registry_def, "--heartbeat takes a duration (1s)");
            break;
        case ZF_OPT_LIVENESS:
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0)
                return zf_service_bad_usage (&zf_registry_def, "--liveness takes 1 to 1000");
            cfg.liveness = (uint32_t)number;
            break;
        case ZF_OPT_NO_WORKER_WAIT:
            if (zf_duration_parse (optarg, &cfg.no_worker_wait_ms) != 0 ||
                cfg.no_worker_wait_ms < 0)
                return zf_service_bad_usage (&zf_registry_def,
                                             "--no-worker-wait takes a duration (60s)");
            break;
        case ZF_OPT_PAIR:
            if (streq (optarg, "primary"))
                cfg.pair = ZF_BSTAR_PRIMARY;
            else if (streq (optarg, "backup"))
                cfg.pair = ZF_BSTAR_BACKUP;
            else
                return zf_service_bad_usage (&zf_registry_def, "--pair takes primary or backup");
            break;
        case ZF_OPT_PEER_BIND:
            cfg.peer_bind = optarg;
            break;
        case ZF_OPT_PEER:
            cfg.peer = optarg;
            break;
        case ZF_OPT_PEER_REGISTRY:
            cfg.peer_registry = optarg;
            break;
        case ZF_OPT_PEER_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.peer_heartbeat_ms) != 0 ||
                cfg.peer_heartbeat_ms <= 0 || cfg.peer_heartbeat_ms > 60000)
                return zf_service_bad_usage (&zf_registry_def,
                                             "--peer-heartbeat takes a duration up to 60s (250ms)");
            break;
        case ZF_OPT_VERBOSE:
            verbose++;
            break;
        case ZF_OPT_HELP:
            zf_service_usage (&zf_registry_def, stdout);
            return 0;
        default:
            return zf_service_bad_usage (&zf_registry_def, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage (&zf_registry_def, "unexpected argument");
    if (!cfg.pair && (cfg.peer_bind || cfg.peer || cfg.peer_registry || cfg.peer_heartbeat_ms))
        return zf_service_bad_usage (&zf_registry_def, "the --peer options need --pair");
    zf_registry_config_pair (&cfg);
    const char *binds[] = {cfg.bind, cfg.events, cfg.peer_bind};
    return zf_service_run (&zf_registry_def, verbose, binds, cfg.pair ? 3 : 2, zf_registry_actor,
                           &cfg, cfg.error);
}
