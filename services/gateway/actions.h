/*  actions.h - browsers' actions, log and run status requests, relayed to
    the registry.

    An actor of its own with its own registry client: a request waits for
    the registry's reply (up to the timeout, failing over within a pair),
    and nothing else of the gateway waits with it. Requests are taken one
    at a time, in order; the web thread bounds how many are queued. Each
    gets exactly one answer, handed to the web thread as a frame for the
    browser that asked: a reply (ok, or the registry's error text), the
    log text, or the run with its tasks. A run's status is the registry's
    STATUS of one date: for an archived run the registry reads it from the
    archive, which may take longer (or fail: "unavailable"), still one
    request at a time and never on the web thread.
*/
#ifndef ZF_GW_ACTIONS_H_INCLUDED
#define ZF_GW_ACTIONS_H_INCLUDED

#include <czmq.h>
#include <stdatomic.h>
#include "handover.h"
#include "metrics.h"
#include "wsmsg.h"
#include "zf_regapi.h"

//  What the requester needs; read before the actor signals.
typedef struct {
    const char *registry;        //  registry request endpoints
    zf_gw_handover_t *handover;  //  where answers go
    int timeout_ms;              //  per request
    const atomic_bool *stopping; //  set when the gateway stops: drop what is queued
    zf_gw_metrics_t *metrics;    //  where answers dropped are counted
    bool failed;                 //  set before the actor signals if it cannot start
} zf_gw_actions_config_t;

//  zactor body: args is a zf_gw_actions_config_t. Signals once ready; if the
//  endpoints are malformed it sets failed, signals and ends. Answers the
//  commands every actor answers (zf_pipe.h; it binds no endpoint), and:
//    "REQ" p   a zf_gw_request_t (taken) of type ACTION, LOGS or RUN_STATUS
void zf_gw_actions_actor (zsock_t *pipe, void *args);

//  Fills the registry request for a browser's ACTION, LOGS or RUN_STATUS
//  request (strings point into req). Returns 0, or -1 for another type.
int zf_gw_actions_request (const zf_gw_request_t *req, zf_reg_request_t *out);

#endif
