/*  main.c - zflow-executor: parses arguments, starts the executor actor, waits. */
#include "executor.h"
#include "zf_service.h"
#include "zf_number.h"
#include "zf_time.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
    zf_executor_config_t cfg;
    zf_executor_config_defaults (&cfg);
    int verbose = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_executor_def, false);
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_DISPATCHER:
            cfg.dispatcher = optarg;
            break;
        case ZF_OPT_NAME:
            cfg.name = optarg;
            break;
        case ZF_OPT_SLOTS:
            if ((number = zf_number_parse (optarg, 1, 4096)) < 0) {
                return zf_service_bad_usage (&zf_executor_def, "--slots takes 1 to 4096");
            }
            cfg.slots = (uint32_t)number;
            break;
        case ZF_OPT_LOG_DIR:
            cfg.log_dir = optarg;
            break;
        case ZF_OPT_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.heartbeat_ms) != 0 || cfg.heartbeat_ms <= 0) {
                return zf_service_bad_usage (&zf_executor_def,
                                             "--heartbeat takes a duration (500ms, 1s)");
            }
            break;
        case ZF_OPT_LIVENESS:
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0) {
                return zf_service_bad_usage (&zf_executor_def, "--liveness takes 1 to 1000");
            }
            cfg.liveness = (uint32_t)number;
            break;
        case ZF_OPT_GRACE:
            if (zf_duration_parse (optarg, &cfg.grace_ms) != 0) {
                return zf_service_bad_usage (&zf_executor_def, "--grace takes a duration (5s)");
            }
            break;
        case ZF_OPT_VERBOSE:
            verbose++;
            break;
        case ZF_OPT_HELP:
            zf_service_usage (&zf_executor_def, stdout);
            return 0;
        default:
            return zf_service_bad_usage (&zf_executor_def, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage (&zf_executor_def, "unexpected argument");
    char name[HOST_NAME_MAX + 32];
    if (!cfg.name) {
        char host[HOST_NAME_MAX + 1] = "executor";
        gethostname (host, sizeof host);
        host[HOST_NAME_MAX] = 0;
        snprintf (name, sizeof name, "%s-%d", host, (int)getpid ());
        cfg.name = name;
    }
    return zf_service_run (&zf_executor_def, verbose, NULL, 0, zf_executor_actor, &cfg, NULL);
}
