/*  dispatcher.h - zflow-dispatcher: the Majordomo broker as an actor.

    One ROUTER for clients (the registry) and workers (executors), with
    ZMQ_ROUTER_MANDATORY so a message to a peer that is gone fails instead
    of vanishing, and a PUB for monitoring events. Messages are parsed and
    decoded here and handed to the broker core (broker.h); what the core
    sends is batched per peer (outbox.h) and flushed once per turn of the
    loop. Tests start this actor in-process on tcp://127.0.0.1:* and ask it
    for its endpoints.
*/
#ifndef ZF_DISPATCHER_H_INCLUDED
#define ZF_DISPATCHER_H_INCLUDED

#include <czmq.h>
#include "broker.h"

//  Pools given at most on the command line.
#define ZF_DISPATCHER_MAX_POOLS 64

//  Settings; zf_dispatcher_config_defaults fills the defaults named here.
typedef struct {
    const char *bind;          //  ROUTER endpoint ("tcp://127.0.0.1:5560")
    const char *events;        //  PUB endpoint ("tcp://127.0.0.1:5561"), or NULL for none
    zf_broker_config_t broker; //  the core's settings
    const char *pool_services[ZF_DISPATCHER_MAX_POOLS]; //  services with a pool limit
    uint32_t pool_limits[ZF_DISPATCHER_MAX_POOLS];      //  their limits
    size_t pool_count;                                  //  entries used
} zf_dispatcher_config_t;

//  Fills the defaults.
void zf_dispatcher_config_defaults (zf_dispatcher_config_t *cfg);

//  zactor body: args is a zf_dispatcher_config_t, read before the actor
//  signals (0 once bound, 1 if it cannot start). Stops on $TERM. Answers
//  ENDPOINTS ("bind", and "events" unless off) and STATS (its counters) with
//  named fields (zf_pipe.h; docs/ARCHITECTURE.md lists them).
void zf_dispatcher_actor (zsock_t *pipe, void *args);

#endif
