/*  history.h - STATUS of archived runs, asked of the archiver.

    A run that succeeded, is durable and is older than the latest
    --keep-runs of its flow is archived: the engine keeps the run, not its
    tasks. A STATUS for such a run goes to the archiver, whose ROUTER
    answers STATUS from its runs and task_instances rows, over a DEALER
    that the actor's loop reads like any other socket; the reply goes back
    to the client under the client's own req_id, each run saying whether
    its flow is paused now (the archive keeps no pauses). The loop never
    waits for the archiver: at most ZF_HISTORY_PENDING requests are out at
    once, each for at most ZF_HISTORY_TIMEOUT_MS, and past either limit the
    client is told at once (ERROR unavailable) rather than left waiting.
*/
#ifndef ZF_HISTORY_H_INCLUDED
#define ZF_HISTORY_H_INCLUDED

#include <czmq.h>
#include "zf_engine.h"
#include "zf_proto.h"
#include "zf_replier.h"

//  Requests to the archiver waiting at once, at most, and how long each may.
#define ZF_HISTORY_PENDING    64
#define ZF_HISTORY_TIMEOUT_MS 5000

typedef struct _zf_history_t zf_history_t;

//  Counters; each request not answered by the archiver was logged.
typedef struct {
    uint64_t requests; //  STATUS requests forwarded to the archiver
    uint64_t timeouts; //  of which the archiver did not answer in time
    uint64_t refused;  //  not forwarded: ZF_HISTORY_PENDING were waiting, or the socket refused
} zf_history_stats_t;

//  Asks the archiver at endpoint (NULL or "": none is configured, and
//  archived runs are answered as unavailable) in loop (borrowed), replying
//  to clients through replier (borrowed) with the paused flags of engine
//  (borrowed). NULL if out of memory or the endpoint does not connect.
zf_history_t *zf_history_new (zloop_t *loop, const char *endpoint, zf_replier_t *replier,
                              zf_engine_t *engine);

//  Disconnects; every request still waiting is dropped. Idempotent.
void zf_history_destroy (zf_history_t **self_p);

//  Answers a STATUS for an archived run from the archiver, later.
void zf_history_status (zf_history_t *self, zframe_t *identity, const zf_reg_request_t *req);

//  Counters.
void zf_history_stats (zf_history_t *self, zf_history_stats_t *stats);

#endif
