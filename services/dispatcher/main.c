/*  main.c - zflow-dispatcher: parses arguments, starts the dispatcher actor, waits. */
#include "dispatcher.h"
#include "zf_service.h"
#include "zf_number.h"
#include "zf_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Reads SERVICE=N into the configuration; -1 if malformed or too many.
static int
s_pool (zf_dispatcher_config_t *cfg, char *text)
{
    char *equals = strchr (text, '=');
    if (!equals || equals == text || cfg->pool_count == ZF_DISPATCHER_MAX_POOLS) return -1;
    long long limit = zf_number_parse (equals + 1, 0, UINT32_MAX);
    if (limit < 0) return -1;
    *equals = 0;
    cfg->pool_services[cfg->pool_count] = text;
    cfg->pool_limits[cfg->pool_count++] = (uint32_t)limit;
    return 0;
}

int
main (int argc, char **argv)
{
    zf_dispatcher_config_t cfg;
    zf_dispatcher_config_defaults (&cfg);
    int verbose = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_dispatcher_def, false);
    int opt;
    long long number;
    char *end;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_BIND:
            cfg.bind = optarg;
            break;
        case ZF_OPT_EVENTS:
            cfg.events = optarg;
            break;
        case ZF_OPT_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.broker.heartbeat_ms) != 0 ||
                cfg.broker.heartbeat_ms <= 0) {
                return zf_service_bad_usage (&zf_dispatcher_def,
                                             "--heartbeat takes a duration (1s)");
            }
            break;
        case ZF_OPT_LIVENESS:
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0) {
                return zf_service_bad_usage (&zf_dispatcher_def, "--liveness takes 1 to 1000");
            }
            cfg.broker.liveness = (uint32_t)number;
            break;
        case ZF_OPT_PREFETCH:
            if ((number = zf_number_parse (optarg, 0, 100000)) < 0) {
                return zf_service_bad_usage (&zf_dispatcher_def, "--prefetch takes 0 to 100000");
            }
            cfg.broker.prefetch = (uint32_t)number;
            break;
        case ZF_OPT_POOL:
            if (s_pool (&cfg, optarg) != 0) {
                return zf_service_bad_usage (&zf_dispatcher_def, "--pool takes SERVICE=N");
            }
            break;
        case ZF_OPT_STRAGGLER_FACTOR:
            cfg.broker.straggler_factor = strtod (optarg, &end);
            if (*end || !(cfg.broker.straggler_factor >= 1.0)) {
                return zf_service_bad_usage (&zf_dispatcher_def,
                                             "--straggler-factor takes a number >= 1");
            }
            break;
        case ZF_OPT_STRAGGLER_MIN:
            if (zf_duration_parse (optarg, &cfg.broker.straggler_min_ms) != 0) {
                return zf_service_bad_usage (&zf_dispatcher_def,
                                             "--straggler-min takes a duration");
            }
            break;
        case ZF_OPT_LOCALITY_WAIT:
            if (zf_duration_parse (optarg, &cfg.broker.locality_wait_ms) != 0) {
                return zf_service_bad_usage (&zf_dispatcher_def,
                                             "--locality-wait takes a duration");
            }
            break;
        case ZF_OPT_BACKLOG:
            if ((number = zf_number_parse (optarg, 1, 100000000)) < 0) {
                return zf_service_bad_usage (&zf_dispatcher_def, "--backlog takes 1 to 100000000");
            }
            cfg.broker.backlog = (size_t)number;
            break;
        case ZF_OPT_REPEAT_HOLD:
            if (zf_duration_parse (optarg, &cfg.broker.repeat_hold_ms) != 0) {
                return zf_service_bad_usage (&zf_dispatcher_def, "--repeat-hold takes a duration");
            }
            break;
        case ZF_OPT_VERBOSE:
            verbose++;
            break;
        case ZF_OPT_HELP:
            zf_service_usage (&zf_dispatcher_def, stdout);
            return 0;
        default:
            return zf_service_bad_usage (&zf_dispatcher_def, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage (&zf_dispatcher_def, "unexpected argument");
    const char *binds[] = {cfg.bind, cfg.events};
    return zf_service_run (&zf_dispatcher_def, verbose, binds, 2, zf_dispatcher_actor, &cfg, NULL);
}
