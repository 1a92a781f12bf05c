/*  prober.h - asks the registry how far it has come, as an actor.

    On a registry client of its own it sends PING once every interval,
    one request outstanding at a time, and tells the metrics whether the
    registry answered and its last seq (OK, number = the last seq); the
    metrics weigh that against the seq the replica applied (probe.h). A
    reply that does not come within the timeout counts as the registry not
    answering: its socket is dropped, and the next request goes to the next
    endpoint of a pair on a fresh one. Its zloop waits on one timer, armed
    for whichever comes first, the next request or the deadline of the one
    outstanding.

    An actor of its own rather than a timer of the replica's: the replica
    blocks in SNAPSHOT and EVENTS_SINCE, and is busiest exactly when the
    lag matters.
*/
#ifndef ZF_GW_PROBER_H_INCLUDED
#define ZF_GW_PROBER_H_INCLUDED

#include <czmq.h>
#include "metrics.h"

//  What the prober needs; read before the actor signals.
typedef struct {
    const char *registry;     //  registry request endpoints
    zf_gw_metrics_t *metrics; //  where what it learns goes
    int interval_ms;          //  between requests (ZF_GW_PROBE_MS)
    int timeout_ms;           //  for a reply (ZF_GW_PROBE_TIMEOUT_MS)
    bool failed;              //  set before the actor signals if it cannot start
} zf_gw_prober_config_t;

//  zactor body: args is a zf_gw_prober_config_t. Signals once ready; if the
//  endpoints are malformed it sets failed, signals and ends. Answers the
//  commands every actor answers (zf_pipe.h; it binds no endpoint) and
//  stops on $TERM.
void zf_gw_prober_actor (zsock_t *pipe, void *args);

#endif
