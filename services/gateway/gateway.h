/*  gateway.h - zflow-gateway: the live dashboard's server.

    Two threads. The ZeroMQ side is actors: the replica (replica.c)
    follows the registry's events into an engine of its own and the
    dispatcher's events into a table of executors, and turns every change
    into views (views.c, executors.c); two requesters (actions.c) relay
    requests to the registry one at a time, one the operator actions, the
    other the reads (logs, archived runs), so a slow registry never holds up
    the event flow and a slow read never holds up an action; the prober
    (prober.c) asks the registry its last seq once a second, so that health
    says how far behind the replica is (probe.h). The web side is the main
    thread: libwebsockets serves files, /metrics and /healthz and the
    WebSocket (http.c), keeps the views the browsers see (store.c) and each
    browser's state (clients.c).

    The two sides meet in one bounded hand-over queue (handover.c): the
    actors push views and replies and wake the web thread with
    lws_cancel_service; the web thread sends requests down the actors'
    pipes. Nothing else is shared but the metrics (metrics.c, under a lock).
    docs/GATEWAY.md tells the whole story and holds the WebSocket protocol.
*/
#ifndef ZF_GATEWAY_H_INCLUDED
#define ZF_GATEWAY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  ---------------------------------------------------------------------------
//  Limits: each one is reported by name when it is hit.

//  A browser frame over this closes its connection.
#define ZF_GW_MAX_FRAME_IN (1024 * 1024)

//  A browser message over this is answered with an error and dropped.
#define ZF_GW_MAX_MESSAGE_IN (64 * 1024)

//  Bad messages a connection may send; the next one closes it.
#define ZF_GW_MAX_BAD_FRAMES 10

//  Updates go to a browser at most this often, gathered in between.
#define ZF_GW_FLUSH_MS 50

//  An update that would be larger than this is replaced by a snapshot.
#define ZF_GW_MAX_UPDATE (4 * 1024 * 1024)

//  Changes remembered for updates; a browser further behind is re-synced.
#define ZF_GW_LOG_CHANGES (256 * 1024)

//  Frames queued for one browser; when an error or failover broadcast
//  finds no room the browser is re-synced instead.
#define ZF_GW_MAX_QUEUED 64

//  Requests in flight to the actors: per browser, and for all of them.
#define ZF_GW_MAX_CLIENT_REQUESTS 8
#define ZF_GW_MAX_REQUESTS        256

//  Bytes of views waiting for the web thread; past it the replica stops
//  sending changes and sends everything once the web thread caught up.
#define ZF_GW_MAX_HANDOVER (64 * 1024 * 1024)

//  Runs per flow in a snapshot: the latest dates.
#define ZF_GW_RUNS_PER_FLOW 31

//  Shards listed in one shards message; "shards_total" tells how many there are.
#define ZF_GW_MAX_SHARDS_LISTED 10000

//  ERROR events kept for snapshots.
#define ZF_GW_ERRORS_KEPT 100

//  Failovers (new registry terms) kept for snapshots.
#define ZF_GW_FAILOVERS_KEPT 16

//  A token, bytes.
#define ZF_GW_MAX_TOKEN 256

//  --origin options.
#define ZF_GW_MAX_ORIGINS 16

//  Bytes written to a socket per WebSocket fragment.
#define ZF_GW_WRITE_CHUNK (64 * 1024)

//  A request to the registry (action, logs) or a snapshot part, at most.
#define ZF_GW_REQUEST_TIMEOUT_MS 10000

//  Waits between snapshot attempts while the registry cannot give one.
#define ZF_GW_RETRY_MIN_MS 500

//  Requests read from the serve socket before the replica does other work.
#define ZF_GW_SERVE_READS  64
#define ZF_GW_RETRY_MAX_MS 10000

//  The prober asks the registry its last seq this often; a reply that does
//  not come within the timeout counts as the registry not answering. In a
//  pair its requests are also the clients' vote a passive registry needs to
//  take over: a quarter second after the active's silence is noticed.
#define ZF_GW_PROBE_MS         250
#define ZF_GW_PROBE_TIMEOUT_MS 3000

//  Events the replica may be behind the registry and still be healthy: the
//  default of --max-lag.
#define ZF_GW_MAX_LAG 100000

//  ---------------------------------------------------------------------------

//  What the gateway serves and where it gets it from.
typedef struct {
    const char *host;                       //  HTTP interface ("127.0.0.1"; "0.0.0.0" for all)
    int port;                               //  HTTP port (8080; 0 picks a free one)
    const char *registry;                   //  registry request endpoints (events at port + 1)
    const char *dispatcher_events;          //  the dispatcher's PUB, or NULL
    const char *web_dir;                    //  static files
    const char *token;                      //  actions need it; NULL refuses every action
    bool read_only_closed;                  //  viewing needs ?token= on the upgrade too
    const char *origins[ZF_GW_MAX_ORIGINS]; //  allowed Origin headers
    int origin_count;                       //  entries in origins
    int max_clients;                        //  WebSocket connections at once
    uint64_t max_lag;                       //  events behind the registry, healthy (ZF_GW_MAX_LAG)
    const char *serve;                      //  PING and SNAPSHOT from the replica, ROUTER, or NULL
    int stop_fd;                            //  readable when the gateway must stop, or -1
} zf_gateway_config_t;

typedef struct _zf_gateway_t zf_gateway_t;

//  Binds the HTTP port and starts the actors. NULL with the reason in why
//  (one line) if it cannot.
zf_gateway_t *zf_gateway_new (const zf_gateway_config_t *cfg, char *why, size_t why_size);

//  Serves until stop_fd is readable or zf_gateway_stop is called. Returns 0.
int zf_gateway_run (zf_gateway_t *self);

//  Asks a running gateway to stop; safe from any thread.
void zf_gateway_stop (zf_gateway_t *self);

//  The HTTP port bound (the one picked when the config said 0).
int zf_gateway_port (zf_gateway_t *self);

//  Stops the actors, closes every connection, frees everything. Idempotent.
void zf_gateway_destroy (zf_gateway_t **self_p);

#endif
