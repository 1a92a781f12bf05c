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

//  What -h prints, and every usage error after its message.
static const char s_usage[] =
    "usage: zflow-archiver [options]\n"
    "  --registry EP[,EP]       the registry's requests (default tcp://127.0.0.1:5570,\n"
    "                           or ZFLOW_REGISTRY); its events are at port + 1\n"
    "  --store URI              sqlite:PATH or postgresql://... (default\n"
    "                           sqlite:./var/zflow.db)\n"
    "  --bind ENDPOINT          recovery and history requests, ROUTER (default tcp://*:5574)\n"
    "  --batch N                events per transaction, at most (default 1000)\n"
    "  --batch-wait DURATION    an event waits at most this long for its batch (20ms)\n"
    "  --retention DURATION     journal rows and task logs older than this go (30d)\n"
    "  --log-dir DIR            task logs to apply retention to (default: none)\n"
    "  --snapshot-every N       events between stored registry snapshots (100000)\n"
    "  -v, --verbose            more output (-vv for debug)\n"
    "  -h, --help               this text\n";

int
main (int argc, char **argv)
{
    zf_archiver_config_t cfg;
    zf_archiver_config_defaults (&cfg);
    const char *registry = NULL;
    int verbose = 0;
    enum { O_REGISTRY = 256, O_STORE, O_BIND, O_BATCH, O_WAIT, O_RETENTION, O_LOG_DIR, O_SNAPSHOT };
    static const struct option options[] = {
        {"registry", required_argument, NULL, O_REGISTRY},
        {"store", required_argument, NULL, O_STORE},
        {"bind", required_argument, NULL, O_BIND},
        {"batch", required_argument, NULL, O_BATCH},
        {"batch-wait", required_argument, NULL, O_WAIT},
        {"retention", required_argument, NULL, O_RETENTION},
        {"log-dir", required_argument, NULL, O_LOG_DIR},
        {"snapshot-every", required_argument, NULL, O_SNAPSHOT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (opt) {
        case O_REGISTRY:
            if (!*optarg)
                return zf_service_bad_usage ("archiver", s_usage, "--registry takes endpoints");
            registry = optarg;
            break;
        case O_STORE:
            if (strncmp (optarg, "sqlite:", 7) != 0 && strncmp (optarg, "postgresql://", 13) != 0 &&
                strncmp (optarg, "postgres://", 11) != 0)
                return zf_service_bad_usage ("archiver", s_usage,
                                             "--store takes sqlite:PATH or postgresql://...");
            cfg.store = optarg;
            break;
        case O_BIND:
            if (!*optarg)
                return zf_service_bad_usage ("archiver", s_usage, "--bind takes an endpoint");
            cfg.bind = optarg;
            break;
        case O_BATCH:
            if ((number = zf_number_parse (optarg, 1, 100000)) < 0)
                return zf_service_bad_usage ("archiver", s_usage, "--batch takes 1 to 100000");
            cfg.batch = (uint32_t)number;
            break;
        case O_WAIT:
            if (zf_duration_parse (optarg, &cfg.batch_wait_ms) != 0)
                return zf_service_bad_usage ("archiver", s_usage,
                                             "--batch-wait takes a duration (20ms)");
            break;
        case O_RETENTION:
            if (zf_duration_parse (optarg, &cfg.retention_ms) != 0 || cfg.retention_ms <= 0)
                return zf_service_bad_usage ("archiver", s_usage,
                                             "--retention takes a duration (30d)");
            break;
        case O_LOG_DIR:
            if (!*optarg)
                return zf_service_bad_usage ("archiver", s_usage, "--log-dir takes a folder");
            cfg.log_dir = optarg;
            break;
        case O_SNAPSHOT:
            if ((number = zf_number_parse (optarg, 1, 1000000000000LL)) < 0)
                return zf_service_bad_usage ("archiver", s_usage,
                                             "--snapshot-every takes a number of events");
            cfg.snapshot_every = (uint64_t)number;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            fputs (s_usage, stdout);
            return 0;
        default:
            return zf_service_bad_usage ("archiver", s_usage, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage ("archiver", s_usage, "unexpected argument");
    cfg.registry = zf_client_endpoints_resolve (registry);
    return zf_service_run ("archiver", verbose, zf_archiver_actor, &cfg, cfg.error);
}
