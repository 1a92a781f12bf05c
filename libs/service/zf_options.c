/*  zf_options.c - the tables of every program's command line.

    The texts are the programs' usage texts; defaults named here are the
    ones the programs' configurations set.
*/
#include "zf_options.h"

#include <assert.h>
#include <stddef.h>

#ifndef ZF_WEB_DIR
#define ZF_WEB_DIR "web/dist"
#endif

//  The two options every program has, last in its usage, and the end.
// clang-format off
#define S_VERBOSE {ZF_OPT_VERBOSE, "verbose", NULL, "more output (-vv for debug)"}
#define S_HELP    {ZF_OPT_HELP, "help", NULL, "this text"}
#define S_END     {0, NULL, NULL, NULL}
// clang-format on

static const zf_option_t s_registry[] = {
    {ZF_OPT_BIND, "bind", "ENDPOINT", "requests, ROUTER (default tcp://127.0.0.1:5570)"},
    {ZF_OPT_EVENTS, "events", "ENDPOINT", "events, PUB (default tcp://127.0.0.1:5571)"},
    {ZF_OPT_DISPATCHER, "dispatcher", "ENDPOINT", "the dispatcher (default tcp://127.0.0.1:5560)"},
    {ZF_OPT_ARCHIVER, "archiver", "ENDPOINT",
     "recover the durable state from this archiver at\n"
     "start, and read archived runs from it (default:\n"
     "none, start empty and keep every run in memory)"},
    {ZF_OPT_REPLICA, "replica", "EP[,EP]",
     "with an archiver, other copies of the state (a\n"
     "gateway's --serve) to ask at a cold start: the\n"
     "newest of them and the archiver's is restored\n"
     "(default: the archiver's only)"},
    {ZF_OPT_KEEP_RUNS, "keep-runs", "N",
     "with an archiver, the latest runs of each flow kept\n"
     "in memory; older ones that succeeded and are durable\n"
     "are read from the archive (default 7; 0 keeps all)"},
    {ZF_OPT_DIR, "dir", "DIR", "holds registry.epoch (default ./var)"},
    {ZF_OPT_LOG_DIR, "log-dir", "DIR", "the executors' task logs (default DIR/logs)"},
    {ZF_OPT_NAME, "name", "NAME", "our name at the dispatcher (default registry)"},
    {ZF_OPT_HEARTBEAT, "heartbeat", "DURATION",
     "heartbeat interval with the dispatcher (default 1s)"},
    {ZF_OPT_LIVENESS, "liveness", "N", "heartbeats the dispatcher may miss (default 3)"},
    {ZF_OPT_NO_WORKER_WAIT, "no-worker-wait", "DURATION",
     "an order fails once no worker offered its service\n"
     "this long (default 60s; 0 waits for ever)"},
    {ZF_OPT_PAIR, "pair", "ROLE",
     "primary or backup: one of a Binary Star pair\n"
     "(default: a registry alone)"},
    {ZF_OPT_PEER_BIND, "peer-bind", "ENDPOINT",
     "in a pair, our state for the peer, PUB (default\n"
     "tcp://127.0.0.1:5580; a backup's 5581)"},
    {ZF_OPT_PEER, "peer", "ENDPOINT",
     "in a pair, the peer's state (default\n"
     "tcp://127.0.0.1:5581; a backup's 5580)"},
    {ZF_OPT_PEER_REGISTRY, "peer-registry", "ENDPOINT",
     "in a pair, the peer's requests; its events are\n"
     "on the next port (default tcp://127.0.0.1:5572;\n"
     "a backup's tcp://127.0.0.1:5570)"},
    {ZF_OPT_PEER_HEARTBEAT, "peer-heartbeat", "DURATION",
     "in a pair, our state to the peer this often; two\n"
     "missed make it silent (default 250ms)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_registry_def = {"registry", NULL, NULL, 27, s_registry};

static const zf_option_t s_dispatcher[] = {
    {ZF_OPT_BIND, "bind", "ENDPOINT", "clients and executors (default tcp://127.0.0.1:5560)"},
    {ZF_OPT_EVENTS, "events", "ENDPOINT",
     "monitoring events, PUB (default\n"
     "tcp://127.0.0.1:5561)"},
    {ZF_OPT_HEARTBEAT, "heartbeat", "DURATION", "heartbeat interval (default 1s)"},
    {ZF_OPT_LIVENESS, "liveness", "N", "heartbeats an executor may miss (default 3)"},
    {ZF_OPT_PREFETCH, "prefetch", "N", "jobs beyond its slots an executor may hold (default 64)"},
    {ZF_OPT_POOL, "pool", "SERVICE=N", "at most N jobs of SERVICE at once (repeatable)"},
    {ZF_OPT_STRAGGLER_FACTOR, "straggler-factor", "X",
     "speculative copy after X times the median (default 3)"},
    {ZF_OPT_STRAGGLER_MIN, "straggler-min", "DURATION",
     "... and after at least this long (default 10s)"},
    {ZF_OPT_LOCALITY_WAIT, "locality-wait", "DURATION",
     "a keyed shard waits this long for its executor (1s)"},
    {ZF_OPT_BACKLOG, "backlog", "N", "shards in flight plus results held, at most"},
    {ZF_OPT_REPEAT_HOLD, "repeat-hold", "DURATION",
     "a repeat waits this long after a lost executor or\n"
     "the dispatcher's start (default 8s)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_dispatcher_def = {"dispatcher", NULL, NULL, 27, s_dispatcher};

static const zf_option_t s_executor[] = {
    {ZF_OPT_DISPATCHER, "dispatcher", "ENDPOINT", "the dispatcher (default tcp://127.0.0.1:5560)"},
    {ZF_OPT_NAME, "name", "NAME", "executor name, unique (default HOST-PID)"},
    {ZF_OPT_SLOTS, "slots", "N", "jobs at once (default: number of cores)"},
    {ZF_OPT_LOG_DIR, "log-dir", "DIR", "task logs (default var/logs)"},
    {ZF_OPT_HEARTBEAT, "heartbeat", "DURATION", "heartbeat interval (default 1s)"},
    {ZF_OPT_LIVENESS, "liveness", "N", "heartbeats the dispatcher may miss (default 3)"},
    {ZF_OPT_GRACE, "grace", "DURATION", "SIGTERM to SIGKILL on timeout or cancel (default 5s)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_executor_def = {"executor", NULL, NULL, 25, s_executor};

static const zf_option_t s_archiver[] = {
    {ZF_OPT_REGISTRY, "registry", "EP[,EP]",
     "the registry's requests (default tcp://127.0.0.1:5570,\n"
     "or ZFLOW_REGISTRY); its events are at port + 1"},
    {ZF_OPT_STORE, "store", "URI",
     "sqlite:PATH or postgresql://... (default\n"
     "sqlite:./var/zflow.db)"},
    {ZF_OPT_BIND, "bind", "ENDPOINT",
     "recovery and history requests, ROUTER (default\n"
     "tcp://127.0.0.1:5574)"},
    {ZF_OPT_BATCH, "batch", "N", "events per transaction, at most (default 1000)"},
    {ZF_OPT_BATCH_WAIT, "batch-wait", "DURATION",
     "an event waits at most this long for its batch; 0\n"
     "commits what the loop has read at once (default 0)"},
    {ZF_OPT_RETENTION, "retention", "DURATION",
     "journal rows and task logs older than this go (30d)"},
    {ZF_OPT_LOG_DIR, "log-dir", "DIR", "task logs to apply retention to (default: none)"},
    {ZF_OPT_SNAPSHOT_EVERY, "snapshot-every", "N",
     "events between stored registry snapshots (100000)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_archiver_def = {"archiver", NULL, NULL, 27, s_archiver};

static const zf_option_t s_gateway[] = {
    {ZF_OPT_HTTP, "http", "HOST:PORT", "where to listen (default 127.0.0.1:8080)"},
    {ZF_OPT_REGISTRY, "registry", "EP[,EP]",
     "registry request endpoints; events at port + 1\n"
     "(default: ZFLOW_REGISTRY, else tcp://127.0.0.1:5570)"},
    {ZF_OPT_DISPATCHER_EVENTS, "dispatcher-events", "EP",
     "the dispatcher's events (default tcp://127.0.0.1:5561)"},
    {ZF_OPT_WEB, "web", "DIR", "the dashboard's files (default " ZF_WEB_DIR ")"},
    {ZF_OPT_TOKEN, "token", "TOKEN", "actions need this token (without one, actions are"},
    {ZF_OPT_TOKEN_FILE, "token-file", "PATH", "refused); the file's first line is the token"},
    {ZF_OPT_READ_ONLY, "read-only", "closed|open",
     "closed: viewing needs ?token= too (default open)"},
    {ZF_OPT_ORIGIN, "origin", "ORIGIN",
     "an allowed Origin, repeatable (default\n"
     "http://HOST:PORT and http://localhost:PORT)"},
    {ZF_OPT_MAX_CLIENTS, "max-clients", "N", "WebSocket clients at once (default 4096)"},
    {ZF_OPT_MAX_LAG, "max-lag", "N",
     "events behind the registry /healthz still calls\n"
     "healthy (default 100000)"},
    {ZF_OPT_SERVE, "serve", "EP",
     "answer PING and SNAPSHOT from the replica on this\n"
     "ROUTER, for a registry that starts cold (default:\n"
     "none)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_gateway_def = {
    "gateway",
    "[--http HOST:PORT] [--registry EP[,EP]] [--dispatcher-events EP] [--web DIR] "
    "[--token TOKEN | --token-file PATH] [--read-only closed|open] [--origin ORIGIN]... "
    "[--max-clients N] [--max-lag N] [--serve EP] [-v]",
    "Serves the live dashboard: static files, a WebSocket at /ws (subprotocol\n"
    "zflow.v1), /metrics (Prometheus) and /healthz.\n",
    27,
    s_gateway,
};

static const zf_option_t s_settle[] = {
    {ZF_OPT_DISPATCHER, "dispatcher", "ENDPOINT", "the dispatcher (default tcp://127.0.0.1:5560)"},
    {ZF_OPT_NAME, "name", "NAME", "worker name, unique (default settle-PID)"},
    {ZF_OPT_SLOTS, "slots", "N", "shards at once (default: number of cores)"},
    {ZF_OPT_HEARTBEAT, "heartbeat", "DURATION",
     "heartbeat interval, as the dispatcher's (default 1s)"},
    {ZF_OPT_LIVENESS, "liveness", "N", "heartbeats the dispatcher may miss (default 3)"},
    S_VERBOSE,
    S_HELP,
    S_END,
};

const zf_service_def_t zf_settle_def = {"settle", NULL, NULL, 25, s_settle};

const zf_option_t *
zf_service_option (const zf_service_def_t *def, zf_opt_t id)
{
    assert (def);
    for (const zf_option_t *option = def->options; option->name; option++)
        if (option->id == id) return option;
    return NULL;
}
