/*  registry.h - zflow-registry: the scheduling engine as a service.

    One actor owns the engine (libs/core) and three sockets: a ROUTER that
    answers the registry API (docs/PROTOCOL.md), a PUB that carries every
    event the engine makes, and a DEALER that speaks to the dispatcher as a
    Majordomo client. Each turn of its loop handles what arrived, then
    publishes the turn's events, sends the orders that became ready and
    re-arms one timer at the engine's next deadline. docs/REGISTRY.md tells
    the whole story. Tests start this actor in-process on tcp://127.0.0.1:*
    and ask it for its endpoints.
*/
#ifndef ZF_REGISTRY_H_INCLUDED
#define ZF_REGISTRY_H_INCLUDED

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_clock.h"

//  Events the journal keeps for EVENTS_SINCE, at most.
#define ZF_REGISTRY_JOURNAL_EVENTS 1000000

//  Bytes of encoded events the journal keeps, at most.
#define ZF_REGISTRY_JOURNAL_BYTES (256 * 1024 * 1024)

//  Shards dispatched or running at once; past it, ready work waits in the
//  engine until results make room (the dispatcher's backlog is as large).
#define ZF_REGISTRY_MAX_IN_FLIGHT 1000000

//  Latest runs of each flow kept in memory when an archiver holds the rest.
#define ZF_REGISTRY_KEEP_RUNS 7

//  Messages read from one socket before the turn ends.
#define ZF_REGISTRY_READS_PER_TURN 256

//  Settings; zf_registry_config_defaults fills the defaults named here.
typedef struct {
    const char *bind;       //  ROUTER for requests ("tcp://127.0.0.1:5570")
    const char *events;     //  PUB for events ("tcp://127.0.0.1:5571")
    const char *dispatcher; //  the dispatcher ("tcp://127.0.0.1:5560")
    const char *archiver;   //  the archiver to recover from at start and to read archived
                            //  runs from, or NULL (start empty, keep every run)
    const char *replicas;   //  with an archiver: other copies of the state to ask at a
                            //  cold start ("tcp://a:5575,tcp://b:5575"), or NULL
    uint32_t keep_runs;     //  with an archiver: latest runs per flow kept in memory
                            //  (ZF_REGISTRY_KEEP_RUNS; 0 keeps all)
    int64_t lag_warn_ms;    //  with an archiver: events unacknowledged this long make it
                            //  count as behind (ZF_LAG_WARN_MS if 0)
    const char *dir;        //  holds registry.epoch ("./var")
    const char *log_dir;    //  the executors' task logs, or NULL for DIR/logs
    const char *name;       //  the name the dispatcher knows us by ("registry")
    int64_t heartbeat_ms;   //  Majordomo heartbeat interval (1000)
    uint32_t liveness;      //  heartbeats the dispatcher may miss (3)
    int64_t
        no_worker_wait_ms;  //  orders fail once no worker offered their service this long (60000)
    size_t journal_events;  //  ZF_REGISTRY_JOURNAL_EVENTS
    size_t journal_bytes;   //  ZF_REGISTRY_JOURNAL_BYTES
    uint64_t max_in_flight; //  ZF_REGISTRY_MAX_IN_FLIGHT
    int pair;               //  0 alone, or ZF_BSTAR_PRIMARY or ZF_BSTAR_BACKUP
    const char *peer_bind;  //  in a pair: our state's PUB (5580; a backup's 5581)
    const char *peer;       //  in a pair: the peer's state PUB (5581; a backup's 5580)
    const char *peer_registry; //  in a pair: the peer's requests (5572; a backup's 5570)
    int64_t peer_heartbeat_ms; //  in a pair: ZF_PAIR_HEARTBEAT_MS
    zf_clock_t *clock;         //  the engine's clock (not owned), or NULL for the real one
    char error[512];           //  why the actor could not start, set before it signals 1
} zf_registry_config_t;

//  Fills the defaults.
void zf_registry_config_defaults (zf_registry_config_t *cfg);

//  For a member of a pair, fills the peer settings left unset with the
//  defaults of its role (a primary binds 5580 and hears 5581, its peer's
//  requests on 5572; a backup the other way round). Nothing for a
//  registry alone.
void zf_registry_config_pair (zf_registry_config_t *cfg);

//  zactor body: args is a zf_registry_config_t, read before the actor
//  signals (0 once bound and ready, 1 if it cannot start, with cfg->error
//  saying why). Stops on $TERM. Answers on the pipe (zf_pipe.h):
//    "ENDPOINTS" -> named fields "bind" (the ROUTER) and "events" (the PUB)
//    "STATS"     -> named counters (docs/ARCHITECTURE.md lists them)
//    "TICK"      -> nothing: handles due deadlines now (tests with a fake clock)
void zf_registry_actor (zsock_t *pipe, void *args);

#endif
