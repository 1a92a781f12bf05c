/*  replica.h - the gateway's replica of the registry, as an actor.

    Follows the registry's events (zf_follow: subscribe, snapshot, repair
    gaps with EVENTS_SINCE) into an engine of its own: a snapshot restores
    a new engine, each live event is applied to it. A new history, a repair
    that fails, an event the engine refuses, or a reconnect of the
    subscription make it take a fresh snapshot. After each message it
    hands the views of what changed (views.c) to the web thread; after a
    snapshot, everything. It also follows the dispatcher's events into the
    executors table, and answers the browsers' shards and history requests
    from its engine.

    With serve, it also answers registry-API requests on a ROUTER bound
    there: PING with the seq of the last event its engine holds, and
    SNAPSHOT with that engine's snapshot (zf_snapreply), so that a registry
    starting cold can restore from it when it is newer than the archiver's
    (services/registry/recover.c). Both are ERROR unavailable while the
    replica is not in step with the registry; any other request is ERROR
    bad_request.
*/
#ifndef ZF_GW_REPLICA_H_INCLUDED
#define ZF_GW_REPLICA_H_INCLUDED

#include <czmq.h>
#include "handover.h"
#include "metrics.h"

//  What the replica needs; read before the actor signals.
typedef struct {
    const char *registry;          //  registry request endpoints
    const char *dispatcher_events; //  the dispatcher's PUB, or NULL
    zf_gw_handover_t *handover;    //  where views and replies go
    zf_gw_metrics_t *metrics;      //  where its numbers go
    int timeout_ms;                //  per registry request or reply part
    const char *serve;             //  ROUTER for PING and SNAPSHOT from the replica, or NULL
    bool failed;                   //  set before the actor signals if it cannot start
    char error[256];               //  then: why
} zf_gw_replica_config_t;

//  zactor body: args is a zf_gw_replica_config_t. Signals once its sockets
//  are open (it then connects and takes its snapshot on its own); if an
//  endpoint is malformed or serve cannot be bound it sets failed and error,
//  signals and ends. Stops on $TERM.
//  Takes on its pipe:
//    "REQ" p   a zf_gw_request_t (taken) of type SHARDS or HISTORY
//    "RESEND"  hand over everything again (the web thread lost a delta)
void zf_gw_replica_actor (zsock_t *pipe, void *args);

#endif
