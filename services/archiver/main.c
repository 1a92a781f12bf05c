/*  main.c - zflow-archiver: parses arguments, starts the archiver actor, waits. */
#include "archiver.h"
#include "zf_client.h"
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
    zf_archiver_config_t cfg;
    zf_archiver_config_defaults (&cfg);
    const char *registry = NULL;
    int verbose = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_archiver_def, false);
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_REGISTRY:
            if (!*optarg)
                return zf_service_bad_usage (&zf_archiver_def, "--registry takes endpoints");
            registry = optarg;
            break;
        case ZF_OPT_STORE:
            if (strncmp (optarg, "sqlite:", 7) != 0 && strncmp (optarg, "postgresql://", 13) != 0 &&
                strncmp (optarg, "postgres://", 11) != 0)
                return zf_service_bad_usage (&zf_archiver_def,
                                             "--store takes sqlite:PATH or postgresql://...");
            cfg.store = optarg;
            break;
        case ZF_OPT_BIND:
            if (!*optarg)
                return zf_service_bad_usage (&zf_archiver_def, "--bind takes an endpoint");
            cfg.bind = optarg;
            break;
        case ZF_OPT_BATCH:
            if ((number = zf_number_parse (optarg, 1, 100000)) < 0)
                return zf_service_bad_usage (&zf_archiver_def, "--batch takes 1 to 100000");
            cfg.batch = (uint32_t)number;
            break;
        case ZF_OPT_BATCH_WAIT:
            if (zf_duration_parse (optarg, &cfg.batch_wait_ms) != 0)
                return zf_service_bad_usage (&zf_archiver_def,
                                             "--batch-wait takes a duration (0, 5ms)");
            break;
        case ZF_OPT_RETENTION:
            if (zf_duration_parse (optarg, &cfg.retention_ms) != 0 || cfg.retention_ms <= 0)
                return zf_service_bad_usage (&zf_archiver_def,
                                             "--retention takes a duration (30d)");
            break;
        case ZF_OPT_LOG_DIR:
            if (!*optarg)
                return zf_service_bad_usage (&zf_archiver_def, "--log-dir takes a folder");
            cfg.log_dir = optarg;
            break;
        case ZF_OPT_SNAPSHOT_EVERY:
            if ((number = zf_number_parse (optarg, 1, 1000000000000LL)) < 0)
                return zf_service_bad_usage (&zf_archiver_def,
                                             "--snapshot-every takes a number of events");
            cfg.snapshot_every = (uint64_t)number;
            break;
        case ZF_OPT_VERBOSE:
            verbose++;
            break;
        case ZF_OPT_HELP:
            zf_service_usage (&zf_archiver_def, stdout);
            return 0;
        default:
            return zf_service_bad_usage (&zf_archiver_def, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage (&zf_archiver_def, "unexpected argument");
    cfg.registry = zf_client_endpoints_resolve (registry);
    const char *binds[] = {cfg.bind};
    return zf_service_run (&zf_archiver_def, verbose, binds, 1, zf_archiver_actor, &cfg, cfg.error);
}
