/*  zf_snapreply.h - answering SNAPSHOT from an engine.

    A SNAPSHOT is answered with EVENTS_REPLY parts numbered 1..parts, so the
    count of parts must be known before the first goes out. The engine's
    snapshot is therefore walked twice: once to count parts with the rule
    every body follows (zf_batch_plan_t), once to send them. Both walks run
    in one call, so the engine cannot change in between. The registry
    answers SNAPSHOT this way from its own engine, and the gateway from its
    replica's, so that a registry starting cold can take the freshest copy.
*/
#ifndef ZF_SNAPREPLY_H_INCLUDED
#define ZF_SNAPREPLY_H_INCLUDED

#include <czmq.h>
#include <stdint.h>
#include "zf_engine.h"
#include "zf_replier.h"

//  Sends engine's snapshot to identity as the answer to request req_id:
//  EVENTS_REPLY parts whose seq is the engine's seq, or ERROR internal if
//  it cannot be made. Returns 0, or -1 (logged) if it was not sent whole.
int zf_snapreply_send (zf_engine_t *engine, zf_replier_t *replier, zframe_t *identity,
                       uint64_t req_id);

#endif
