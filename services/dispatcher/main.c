/*  main.c - zflow-dispatcher: parses arguments, starts the dispatcher actor, waits. */
#include "dispatcher.h"
#include "zf_service.h"
#include "zf_number.h"
#include "zf_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What -h prints, and every usage error after its message.
static const char s_usage[] =
    "usage: zflow-dispatcher [options]\n"
    "  --bind ENDPOINT          clients and executors (default tcp://*:5560)\n"
    "  --events ENDPOINT        monitoring events, PUB (default tcp://*:5561)\n"
    "  --heartbeat DURATION     heartbeat interval (default 1s)\n"
    "  --liveness N             heartbeats an executor may miss (default 3)\n"
    "  --prefetch N             jobs beyond its slots an executor may hold (default 64)\n"
    "  --pool SERVICE=N         at most N jobs of SERVICE at once (repeatable)\n"
    "  --straggler-factor X     speculative copy after X times the median (default 3)\n"
    "  --straggler-min DURATION ... and after at least this long (default 10s)\n"
    "  --locality-wait DURATION a keyed shard waits this long for its executor (1s)\n"
    "  --backlog N              shards in flight plus results held, at most\n"
    "  -v, --verbose            more output (-vv for debug)\n"
    "  -h, --help               this text\n";

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
    enum {
        O_BIND = 256,
        O_EVENTS,
        O_HEARTBEAT,
        O_LIVENESS,
        O_PREFETCH,
        O_POOL,
        O_FACTOR,
        O_MIN,
        O_LOCALITY,
        O_BACKLOG
    };
    static const struct option options[] = {
        {"bind", required_argument, NULL, O_BIND},
        {"events", required_argument, NULL, O_EVENTS},
        {"heartbeat", required_argument, NULL, O_HEARTBEAT},
        {"liveness", required_argument, NULL, O_LIVENESS},
        {"prefetch", required_argument, NULL, O_PREFETCH},
        {"pool", required_argument, NULL, O_POOL},
        {"straggler-factor", required_argument, NULL, O_FACTOR},
        {"straggler-min", required_argument, NULL, O_MIN},
        {"locality-wait", required_argument, NULL, O_LOCALITY},
        {"backlog", required_argument, NULL, O_BACKLOG},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    long long number;
    char *end;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (opt) {
        case O_BIND:
            cfg.bind = optarg;
            break;
        case O_EVENTS:
            cfg.events = optarg;
            break;
        case O_HEARTBEAT:
            if (zf_duration_parse (optarg, &cfg.broker.heartbeat_ms) != 0 ||
                cfg.broker.heartbeat_ms <= 0) {
                return zf_service_bad_usage ("dispatcher", s_usage,
                                             "--heartbeat takes a duration (1s)");
            }
            break;
        case O_LIVENESS:
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0) {
                return zf_service_bad_usage ("dispatcher", s_usage, "--liveness takes 1 to 1000");
            }
            cfg.broker.liveness = (uint32_t)number;
            break;
        case O_PREFETCH:
            if ((number = zf_number_parse (optarg, 0, 100000)) < 0) {
                return zf_service_bad_usage ("dispatcher", s_usage, "--prefetch takes 0 to 100000");
            }
            cfg.broker.prefetch = (uint32_t)number;
            break;
        case O_POOL:
            if (s_pool (&cfg, optarg) != 0) {
                return zf_service_bad_usage ("dispatcher", s_usage, "--pool takes SERVICE=N");
            }
            break;
        case O_FACTOR:
            cfg.broker.straggler_factor = strtod (optarg, &end);
            if (*end || !(cfg.broker.straggler_factor >= 1.0)) {
                return zf_service_bad_usage ("dispatcher", s_usage,
                                             "--straggler-factor takes a number >= 1");
            }
            break;
        case O_MIN:
            if (zf_duration_parse (optarg, &cfg.broker.straggler_min_ms) != 0) {
                return zf_service_bad_usage ("dispatcher", s_usage,
                                             "--straggler-min takes a duration");
            }
            break;
        case O_LOCALITY:
            if (zf_duration_parse (optarg, &cfg.broker.locality_wait_ms) != 0) {
                return zf_service_bad_usage ("dispatcher", s_usage,
                                             "--locality-wait takes a duration");
            }
            break;
        case O_BACKLOG:
            if ((number = zf_number_parse (optarg, 1, 100000000)) < 0) {
                return zf_service_bad_usage ("dispatcher", s_usage,
                                             "--backlog takes 1 to 100000000");
            }
            cfg.broker.backlog = (size_t)number;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            fputs (s_usage, stdout);
            return 0;
        default:
            return zf_service_bad_usage ("dispatcher", s_usage, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage ("dispatcher", s_usage, "unexpected argument");
    return zf_service_run ("dispatcher", verbose, zf_dispatcher_actor, &cfg, NULL);
}
