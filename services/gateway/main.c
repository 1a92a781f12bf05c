/*  main.c - zflow-gateway: parses arguments, starts the gateway, serves until a signal.

    Exit status: 0 after SIGINT or SIGTERM, 1 when it cannot bind or start,
    2 on bad usage.
*/
#include "gateway.h"
#include "zf_client.h"
#include "zf_common.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifndef ZF_WEB_DIR
#define ZF_WEB_DIR "web/dist"
#endif

//  Where the dispatcher publishes its events when no option says.
#define S_DISPATCHER_EVENTS "tcp://127.0.0.1:5561"

//  Descriptors kept beside the browsers' sockets (ZeroMQ, files, lws).
#define S_SPARE_FDS 1024

//  The one line that bad usage prints.
static void
s_usage_line (FILE *out)
{
    fprintf (out, "usage: zflow-gateway [--http HOST:PORT] [--registry EP[,EP]] "
                  "[--dispatcher-events EP] [--web DIR] [--token TOKEN | --token-file PATH] "
                  "[--read-only closed|open] [--origin ORIGIN]... [--max-clients N] [-v]\n");
}

//  The full help.
static void
s_help (void)
{
    s_usage_line (stdout);
    printf ("\nServes the live dashboard: static files, a WebSocket at /ws (subprotocol\n"
            "zflow.v1), /metrics (Prometheus) and /healthz.\n\n"
            "  --http HOST:PORT         where to listen (default 127.0.0.1:8080)\n"
            "  --registry EP[,EP]       registry request endpoints; events at port + 1\n"
            "                           (default: ZFLOW_REGISTRY, else tcp://127.0.0.1:5570)\n"
            "  --dispatcher-events EP   the dispatcher's events (default %s)\n"
            "  --web DIR                the dashboard's files (default %s)\n"
            "  --token TOKEN            actions need this token (without one, actions are\n"
            "  --token-file PATH        refused); the file's first line is the token\n"
            "  --read-only closed|open  closed: viewing needs ?token= too (default open)\n"
            "  --origin ORIGIN          an allowed Origin, repeatable (default\n"
            "                           http://HOST:PORT and http://localhost:PORT)\n"
            "  --max-clients N          WebSocket clients at once (default 4096)\n"
            "  -v, --verbose            more output (-vv for debug)\n"
            "  -h, --help               this text\n",
            S_DISPATCHER_EVENTS, ZF_WEB_DIR);
}

//  Prints a usage error; returns 2.
static int __attribute__ ((format (printf, 1, 2))) s_bad_usage (const char *format, ...)
{
    fprintf (stderr, "zflow-gateway: ");
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n");
    s_usage_line (stderr);
    return 2;
}

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
    enum {
        O_HTTP = 256,
        O_REGISTRY,
        O_DISPATCHER,
        O_WEB,
        O_TOKEN,
        O_TOKEN_FILE,
        O_READ_ONLY,
        O_ORIGIN,
        O_MAX_CLIENTS
    };
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"http", required_argument, NULL, O_HTTP},
        {"registry", required_argument, NULL, O_REGISTRY},
        {"dispatcher-events", required_argument, NULL, O_DISPATCHER},
        {"web", required_argument, NULL, O_WEB},
        {"token", required_argument, NULL, O_TOKEN},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {"read-only", required_argument, NULL, O_READ_ONLY},
        {"origin", required_argument, NULL, O_ORIGIN},
        {"max-clients", required_argument, NULL, O_MAX_CLIENTS},
        {NULL, 0, NULL, 0},
    };
    zf_gateway_config_t cfg = {
        .host = "127.0.0.1",
        .port = 8080,
        .dispatcher_events = S_DISPATCHER_EVENTS,
        .web_dir = ZF_WEB_DIR,
        .max_clients = 4096,
        .stop_fd = -1,
    };
    const char *registry = NULL;
    const char *token_file = NULL;
    static char token[ZF_GW_MAX_TOKEN + 2];
    static char host[256];
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
        case O_HTTP:
            if (s_host_port (optarg, host, sizeof host, &cfg.port) != 0)
                return s_bad_usage ("--http takes HOST:PORT, not '%s'", optarg);
            cfg.host = host;
            break;
        case O_REGISTRY:
            registry = optarg;
            break;
        case O_DISPATCHER:
            cfg.dispatcher_events = optarg;
            break;
        case O_WEB:
            cfg.web_dir = optarg;
            break;
        case O_TOKEN:
            if (!*optarg || strlen (optarg) > ZF_GW_MAX_TOKEN)
                return s_bad_usage ("--token takes 1 to %d bytes", ZF_GW_MAX_TOKEN);
            cfg.token = optarg;
            break;
        case O_TOKEN_FILE:
            token_file = optarg;
            break;
        case O_READ_ONLY:
            if (strcmp (optarg, "closed") == 0)
                cfg.read_only_closed = true;
            else if (strcmp (optarg, "open") == 0)
                cfg.read_only_closed = false;
            else
                return s_bad_usage ("--read-only takes closed or open, not '%s'", optarg);
            break;
        case O_ORIGIN:
            if (cfg.origin_count == ZF_GW_MAX_ORIGINS)
                return s_bad_usage ("more than %d --origin options", ZF_GW_MAX_ORIGINS);
            cfg.origins[cfg.origin_count++] = optarg;
            break;
        case O_MAX_CLIENTS: {
            char *end;
            long number = strtol (optarg, &end, 10);
            if (!*optarg || *end || number < 1 || number > 1000000)
                return s_bad_usage ("--max-clients takes 1 to 1000000");
            cfg.max_clients = (int)number;
            break;
        }
        case ':':
            return s_bad_usage ("option '%s' needs a value", argv[optind - 1]);
        default:
            return s_bad_usage ("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return s_bad_usage ("unexpected argument '%s'", argv[optind]);
    if (cfg.token && token_file) return s_bad_usage ("--token and --token-file exclude each other");
    if (token_file) {
        if (s_token_file (token_file, token, sizeof token) != 0 || strlen (token) > ZF_GW_MAX_TOKEN)
            return s_bad_usage ("cannot read a token (1 to %d bytes) from '%s'", ZF_GW_MAX_TOKEN,
                                token_file);
        cfg.token = token;
    }
    if (cfg.read_only_closed && !cfg.token)
        return s_bad_usage ("--read-only closed needs --token or --token-file");
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
    zf_log_init ("gateway", verbosity);
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
