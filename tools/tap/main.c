/*  main.c - zflow-tap: parse the options, then watch the bus until Ctrl-C.

    Exit status: 0 when interrupted (the normal end), 1 when it cannot watch
    (a snapshot the registry did not give), 2 on bad usage.
*/
#include "tap.h"
#include "zf_client.h"
#include "zf_common.h"

#include <czmq.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  Where the dispatcher publishes its events when no option says.
#define S_DISPATCHER_EVENTS "tcp://127.0.0.1:5561"

//  Per registry request (a snapshot, a repair), unless ZFLOW_REQUEST_TIMEOUT says.
#define S_TIMEOUT_MS 5000

//  Long-option values without a short letter.
enum {
    S_OPT_REGISTRY = 256,
    S_OPT_DISPATCHER,
    S_OPT_FILTER,
    S_OPT_JSON,
    S_OPT_SNAPSHOT,
    S_OPT_VERSION
};

//  The one line that bad usage prints.
static void
s_usage_line (FILE *out)
{
    fprintf (out, "usage: zflow-tap [--registry EP[,EP]] [--dispatcher-events EP] "
                  "[--filter PREFIX]... [--json] [--snapshot] [-v]\n");
}

//  The full help.
static void
s_help (void)
{
    s_usage_line (stdout);
    printf ("\nPrints every event on zflow's bus as one line, until Ctrl-C.\n\n"
            "  --registry EP[,EP]       registry request endpoints; events are read at port + 1\n"
            "                           (default: ZFLOW_REGISTRY, else tcp://127.0.0.1:5570)\n"
            "  --dispatcher-events EP   the dispatcher's events (default %s)\n"
            "  --filter PREFIX          only topics starting with PREFIX: task.eod, run., disp.\n"
            "                           (may be repeated)\n"
            "  --json                   one JSON object per line\n"
            "  --snapshot               print the registry's current state first\n"
            "  -v, --verbose            log connections on stderr (-vv for debug)\n"
            "  -h, --help               show this help\n"
            "\nMissed registry events are reported as `gap: missed seq A..B` and fetched\n"
            "from the registry; dispatcher gaps are reported.\n",
            S_DISPATCHER_EVENTS);
}

//  Prints a usage error; returns 2.
static int __attribute__ ((format (printf, 1, 2))) s_bad_usage (const char *format, ...)
{
    fprintf (stderr, "zflow-tap: ");
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n");
    s_usage_line (stderr);
    return 2;
}

int
main (int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"registry", required_argument, NULL, S_OPT_REGISTRY},
        {"dispatcher-events", required_argument, NULL, S_OPT_DISPATCHER},
        {"filter", required_argument, NULL, S_OPT_FILTER},
        {"json", no_argument, NULL, S_OPT_JSON},
        {"snapshot", no_argument, NULL, S_OPT_SNAPSHOT},
        {"version", no_argument, NULL, S_OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    zf_tap_config_t cfg = {.dispatcher = S_DISPATCHER_EVENTS, .timeout_ms = S_TIMEOUT_MS};
    const char *registry = NULL;
    int verbosity = 0;
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":hv", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            s_help ();
            return 0;
        case 'v':
            verbosity++;
            break;
        case S_OPT_REGISTRY:
            registry = optarg;
            break;
        case S_OPT_DISPATCHER:
            cfg.dispatcher = optarg;
            break;
        case S_OPT_FILTER:
            if (cfg.filter_count == ZF_TAP_MAX_FILTERS)
                return s_bad_usage ("more than %d --filter options", ZF_TAP_MAX_FILTERS);
            cfg.filters[cfg.filter_count++] = optarg;
            break;
        case S_OPT_JSON:
            cfg.json = true;
            break;
        case S_OPT_SNAPSHOT:
            cfg.snapshot = true;
            break;
        case S_OPT_VERSION:
            printf ("zflow-tap %s\n", ZF_VERSION);
            return 0;
        case ':':
            return s_bad_usage ("option '%s' needs a value", argv[optind - 1]);
        default:
            return s_bad_usage ("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return s_bad_usage ("unexpected argument '%s'", argv[optind]);
    cfg.registry = zf_client_endpoints_resolve (registry);
    const char *timeout = getenv ("ZFLOW_REQUEST_TIMEOUT");
    int64_t timeout_ms = 0;
    if (timeout && *timeout) {
        if (zf_duration_parse (timeout, &timeout_ms) != 0 || timeout_ms <= 0 ||
            timeout_ms > 3600000)
            return s_bad_usage ("bad ZFLOW_REQUEST_TIMEOUT '%s' (want a duration such as 5s)",
                                timeout);
        cfg.timeout_ms = (int)timeout_ms;
    }
    zf_log_init ("tap", verbosity);
    zsys_init ();
    return zf_tap_run (&cfg);
}
