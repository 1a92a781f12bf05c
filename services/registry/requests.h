/*  requests.h - the registry API on the ROUTER: every request answered.

    The actor hands the ROUTER to this class when it is readable; the class
    reads a turn's worth of requests and answers each one (requests.c
    decodes and routes; status.c, logs.c and replay.c answer STATUS, LOGS,
    SNAPSHOT and EVENTS_SINCE; replies.c holds what they answer alike).
    Everything it works with is the actor's, lent through
    zf_requests_wiring_t. docs/REGISTRY.md, "Requests", has the replies.
*/
#ifndef ZF_REQUESTS_H_INCLUDED
#define ZF_REQUESTS_H_INCLUDED

#include <czmq.h>
#include "history.h"
#include "journal.h"
#include "lagwatch.h"
#include "publisher.h"
#include "session.h"
#include "zf_clock.h"
#include "zf_engine.h"
#include "zf_replier.h"

typedef struct _zf_requests_t zf_requests_t;

//  What the handlers work with, all borrowed: each must outlive them.
typedef struct {
    zsock_t *router;           //  requests in
    zf_replier_t *replier;     //  replies out, bounded per client
    zf_engine_t *engine;       //  the scheduler
    zf_clock_t *clock;         //  the engine's clock ("today" for START)
    zf_publisher_t *publisher; //  flushed before SNAPSHOT and EVENTS_SINCE answer
    zf_journal_t *journal;     //  what EVENTS_SINCE answers from
    zf_session_t *session;     //  cancels reach the dispatcher through it
    zf_history_t *history;     //  STATUS of archived runs
    zf_lagwatch_t *lag;        //  ARCHIVED moves it, or NULL without an archiver
    const char *log_dir;       //  the executors' task logs (copied)
    //  The registry's state for STATUS replies, or NULL for none.
    void (*info) (void *arg, zf_reg_info_t *info);
    void *info_arg; //  for it
    //  While requests are refused passive: a request that is a client's
    //  turn to this registry, its vote in the pair (it may make the
    //  registry active, and then it is served). Not ARCHIVED: the archiver
    //  tells every registry of a pair, so its word is no turn. NULL: none.
    void (*vote) (void *arg);
    void *vote_arg; //  for it
} zf_requests_wiring_t;

//  Counters.
typedef struct {
    uint64_t requests; //  requests answered
    uint64_t bad;      //  requests that did not decode, or frames dropped (each logged)
    uint64_t refused;  //  requests answered ERROR passive
} zf_requests_stats_t;

//  Handlers wired to what the actor lends. NULL if out of memory.
zf_requests_t *zf_requests_new (const zf_requests_wiring_t *wiring);

//  Destroys the handlers; idempotent.
void zf_requests_destroy (zf_requests_t **self_p);

//  Reads up to ZF_REGISTRY_READS_PER_TURN requests waiting on the ROUTER
//  and answers each.
void zf_requests_read (zf_requests_t *self);

//  While text (static, or outliving the handlers) is not NULL, every
//  request that decodes is answered ERROR passive with it: the registry
//  stands by for its peer. NULL serves requests again.
void zf_requests_refuse (zf_requests_t *self, const char *text);

//  Counters.
void zf_requests_stats (zf_requests_t *self, zf_requests_stats_t *stats);

#endif
