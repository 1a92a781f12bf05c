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

//  What -h prints, and every usage error after its message.
static const char s_usage[] =
    "usage: zflow-executor [options]\n"
    "  --dispatcher ENDPOINT  the dispatcher (default tcp://127.0.0.1:5560)\n"
    "  --name NAME            executor name, unique (default HOST-PID)\n"
    "  --slots N              jobs at once (default: number of cores)\n"
    "  --log-dir DIR          task logs (default var/logs)\n"
    "  --heartbeat DURATION   heartbeat interval (default 1s)\n"
    "  --liveness N           heartbeats the dispatcher may miss (default 3)\n"
    "  --grace DURATION       SIGTERM to SIGKILL on timeout or cancel (default 5s)\n"
    "  -v, --verbose          more output (-vv for debug)\n"
    "  -h, --help             this text\n";

int
main (int argc, char **argv)
{
    zf_executor_config_t cfg;
    zf_executor_config_defaults (&cfg);
    int verbose = 0;
    static const struct option options[] = {
        {"dispatcher", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"slots", required_argument, NULL, 's'},
        {"log-dir", required_argument, NULL, 'l'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"liveness", required_argument, NULL, 'L'},
        {"grace", required_argument, NULL, 'g'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    long long number;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            cfg.dispatcher = optarg;
            break;
        case 'n':
            cfg.name = optarg;
            break;
        case 's':
            if ((number = zf_number_parse (optarg, 1, 4096)) < 0) {
                return zf_service_bad_usage ("executor", s_usage, "--slots takes 1 to 4096");
            }
            cfg.slots = (uint32_t)number;
            break;
        case 'l':
            cfg.log_dir = optarg;
            break;
        case 'b':
            if (zf_duration_parse (optarg, &cfg.heartbeat_ms) != 0 || cfg.heartbeat_ms <= 0) {
                return zf_service_bad_usage ("executor", s_usage,
                                             "--heartbeat takes a duration (500ms, 1s)");
            }
            break;
        case 'L':
            if ((number = zf_number_parse (optarg, 1, 1000)) < 0) {
                return zf_service_bad_usage ("executor", s_usage, "--liveness takes 1 to 1000");
            }
            cfg.liveness = (uint32_t)number;
            break;
        case 'g':
            if (zf_duration_parse (optarg, &cfg.grace_ms) != 0) {
                return zf_service_bad_usage ("executor", s_usage, "--grace takes a duration (5s)");
            }
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            fputs (s_usage, stdout);
            return 0;
        default:
            return zf_service_bad_usage ("executor", s_usage, NULL);
        }
    }
    if (optind < argc) return zf_service_bad_usage ("executor", s_usage, "unexpected argument");
    char name[HOST_NAME_MAX + 32];
    if (!cfg.name) {
        char host[HOST_NAME_MAX + 1] = "executor";
        gethostname (host, sizeof host);
        host[HOST_NAME_MAX] = 0;
        snprintf (name, sizeof name, "%s-%d", host, (int)getpid ());
        cfg.name = name;
    }
    return zf_service_run ("executor", verbose, zf_executor_actor, &cfg, NULL);
}
