/*  main.c - zflow-gateway: parses arguments, starts the gateway, serves until a signal.

    Exit status: 0 after SIGINT or SIGTERM, 1 when it cannot bind or start,
    2 on bad usage.
*/
#include "gateway.h"
#include "zf_client.h"
#include "zf_common.h"
#include "zf_service.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

//  Where the dispatcher publishes its events when no option says.
#define S_DISPATCHER_EVENTS "tcp://127.0.0.1:5561"

//  --max-lag at most: seqs stay below 2^53, exact as the doubles of /metrics.
#define S_MAX_LAG_LIMIT ((1ULL << 53) - 1)

//  Descriptors kept beside the browsers' sockets (ZeroMQ, files, lws).
#define S_SPARE_FDS 1024

//  Splits HOST:PORT (the last colon; [v6]:port too) into a copy of the host
//  in host (room for size bytes). "localhost" reads as 127.0.0.1, since lws
//  takes an address or an interface name. Returns 0 or -1.
static int
s_host_port (const char *text, char *host, size_t size, int *port)
{
    const char *colon = strrchr (text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= size) return -1;
    char *end;
    long number = strtol (colon + 1, &end, 10);
    if (!colon[1] || *end || number < 0 || number > 65535) return -1;
    const char *start = text;
    size_t length = (size_t)(colon - text);
    if (text[0] == '[' && colon[-1] == ']') {
        start++;
        length -= 2;
    }
    memcpy (host, start, length);
    host[length] = 0;
    if (strcmp (host, "localhost") == 0) snprintf (host, size, "127.0.0.1");
    *port = (int)number;
    return 0;
}

//  Reads the token from the first line of a file into buf. Returns 0 or -1.
static int
s_token_file (const char *path, char *buf, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file) return -1;
    bool got = fgets (buf, (int)size, file) != NULL;
    fclose (file);
    if (!got) return -1;
    size_t length = strlen (buf);
    while (length > 0 && (buf[length - 1] == '\n' || buf[length - 1] == '\r' ||
                          buf[length - 1] == ' ' || buf[length - 1] == '\t'))
        buf[--length] = 0;
    return length > 0 ? 0 : -1;
}

//  Lets the process hold a socket per browser: raises the soft limit on
//  descriptors towards the hard one.
static void
s_raise_fd_limit (int max_clients)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0) return;
    rlim_t want = (rlim_t)max_clients + S_SPARE_FDS;
    if (limit.rlim_cur >= want) return;
    limit.rlim_cur =
        limit.rlim_max == RLIM_INFINITY || limit.rlim_max > want ? want : limit.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        zf_log_warn ("cannot raise the descriptor limit errno=%d", errno);
}

int
main (int argc, char **argv)
{
    zf_gateway_config_t cfg = {
        .host = "127.0.0.1",
        .port = 8080,
        .dispatcher_events = S_DISPATCHER_EVENTS,
        .web_dir = ZF_WEB_DIR,
        .max_clients = 4096,
        .max_lag = ZF_GW_MAX_LAG,
        .stop_fd = -1,
    };
    const char *registry = NULL;
    const char *token_file = NULL;
    static char token[ZF_GW_MAX_TOKEN + 2];
    static char host[256];
    int verbosity = 0;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, &zf_gateway_def, true);
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, parser.shorts, parser.longs, NULL)) != -1) {
        switch (opt) {
        case ZF_OPT_HELP:
            zf_service_usage (&zf_gateway_def, stdout);
            return 0;
        case ZF_OPT_VERBOSE:
            verbosity++;
            break;
        case ZF_OPT_HTTP:
            if (s_host_port (optarg, host, sizeof host, &cfg.port) != 0)
                return zf_service_bad_usage (&zf_gateway_def, "--http takes HOST:PORT, not '%s'",
                                             optarg);
            cfg.host = host;
            break;
        case ZF_OPT_REGISTRY:
            registry = optarg;
            break;
        case ZF_OPT_DISPATCHER_EVENTS:
            cfg.dispatcher_events = optarg;
            break;
        case ZF_OPT_SERVE:
            cfg.serve = optarg;
            break;
        case ZF_OPT_WEB:
            cfg.web_dir = optarg;
            break;
        case ZF_OPT_TOKEN:
            if (!*optarg || strlen (optarg) > ZF_GW_MAX_TOKEN)
                return zf_service_bad_usage (&zf_gateway_def, "--token takes 1 to %d bytes",
                                             ZF_GW_MAX_TOKEN);
            cfg.token = optarg;
            break;
        case ZF_OPT_TOKEN_FILE:
            token_file = optarg;
            break;
        case ZF_OPT_READ_ONLY:
            if (strcmp (optarg, "closed") == 0)
                cfg.read_only_closed = true;
            else if (strcmp (optarg, "open") == 0)
                cfg.read_only_closed = false;
            else
                return zf_service_bad_usage (&zf_gateway_def,
                                             "--read-only takes closed or open, not '%s'", optarg);
            break;
        case ZF_OPT_ORIGIN:
            if (cfg.origin_count == ZF_GW_MAX_ORIGINS)
                return zf_service_bad_usage (&zf_gateway_def, "more than %d --origin options",
                                             ZF_GW_MAX_ORIGINS);
            cfg.origins[cfg.origin_count++] = optarg;
            break;
        case ZF_OPT_MAX_CLIENTS: {
            char *end;
            long number = strtol (optarg, &end, 10);
            if (!*optarg || *end || number < 1 || number > 1000000)
                return zf_service_bad_usage (&zf_gateway_def, "--max-clients takes 1 to 1000000");
            cfg.max_clients = (int)number;
            break;
        }
        case ZF_OPT_MAX_LAG: {
            char *end;
            errno = 0;
            unsigned long long number = strtoull (optarg, &end, 10);
            if (!*optarg || *optarg == '-' || *end || errno || number > S_MAX_LAG_LIMIT)
                return zf_service_bad_usage (&zf_gateway_def, "--max-lag takes 0 to %llu events",
                                             (unsigned long long)S_MAX_LAG_LIMIT);
            cfg.max_lag = number;
            break;
        }
        case ':':
            return zf_service_bad_usage (&zf_gateway_def, "option '%s' needs a value",
                                         argv[optind - 1]);
        default:
            return zf_service_bad_usage (&zf_gateway_def, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return zf_service_bad_usage (&zf_gateway_def, "unexpected argument '%s'", argv[optind]);
    if (cfg.token && token_file)
        return zf_service_bad_usage (&zf_gateway_def,
                                     "--token and --token-file exclude each other");
    if (token_file) {
        if (s_token_file (token_file, token, sizeof token) != 0 || strlen (token) > ZF_GW_MAX_TOKEN)
            return zf_service_bad_usage (&zf_gateway_def,
                                         "cannot read a token (1 to %d bytes) from '%s'",
                                         ZF_GW_MAX_TOKEN, token_file);
        cfg.token = token;
    }
    if (cfg.read_only_closed && !cfg.token)
        return zf_service_bad_usage (&zf_gateway_def,
                                     "--read-only closed needs --token or --token-file");
    cfg.registry = zf_client_endpoints_resolve (registry);

    //  Signals are taken from a descriptor the web thread watches; blocked
    //  here, before any thread starts, so that no other thread takes them.
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);
    signal (SIGPIPE, SIG_IGN);
    cfg.stop_fd = signalfd (-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    if (cfg.stop_fd < 0) {
        fprintf (stderr, "zflow-gateway: cannot watch signals: %s\n", strerror (errno));
        return 1;
    }
    zf_log_init (zf_gateway_def.name, verbosity);
    char listen[300];
    snprintf (listen, sizeof listen, "%s:%d", cfg.host, cfg.port);
    const char *binds[] = {listen};
    zf_service_warn_exposed (binds, 1);
    zsys_handler_set (NULL);
    zsys_init ();
    s_raise_fd_limit (cfg.max_clients);

    char why[400] = "";
    zf_gateway_t *gateway = zf_gateway_new (&cfg, why, sizeof why);
    if (!gateway) {
        fprintf (stderr, "zflow-gateway: %s\n", why);
        close (cfg.stop_fd);
        return 1;
    }
    zf_log_info ("serving port=%d registry=%s", zf_gateway_port (gateway), cfg.registry);
    zf_gateway_run (gateway);
    zf_gateway_destroy (&gateway);
    close (cfg.stop_fd);
    return 0;
}
