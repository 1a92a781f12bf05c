/*  zf_follow.h - following the registry's events: the Clone pattern, client side.

    A replica subscribes to the registry's events on every endpoint of a
    Binary Star pair, takes a snapshot once a subscription is in place, then
    takes only the events after it. Events are numbered without gaps per
    registry history, which tells a follower what it missed: a gap is
    fetched with EVENTS_SINCE; numbers that go back on one connection mean
    the registry behind it started a new history. The other registry of a
    pair publishes the same events, so whatever is not after the last one
    taken is dropped as a duplicate.

    This class owns the subscriptions, the numbering, the snapshot and the
    repairs; what the events mean is its owner's business, told through the
    callbacks below. The tap prints them; the gateway folds them into an
    engine. Requests block for at most the timeout given (per reply part).
*/
#ifndef ZF_FOLLOW_H_INCLUDED
#define ZF_FOLLOW_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_evsub.h"
#include "zf_regclient.h"

typedef struct _zf_follow_t zf_follow_t;

//  How an event reached the follower.
typedef enum {
    ZF_FOLLOW_LIVE,     //  published
    ZF_FOLLOW_SNAPSHOT, //  an item of a snapshot (seq 0)
    ZF_FOLLOW_REPAIRED  //  fetched to fill a gap
} zf_follow_origin_t;

//  Events at most per EVENTS_SINCE request of a repair.
#define ZF_FOLLOW_BATCH 100000

//  What the owner hears. Only event is required.
typedef struct {
    //  One event, in order: snapshot items, then events with rising seq.
    void (*event) (const zf_event_t *event, zf_follow_origin_t origin, void *arg);
    //  Events from..to never arrived; a repair starts.
    void (*gap) (uint64_t from, uint64_t to, void *arg);
    //  The repair of from..to ended: the events up to reached came (from - 1
    //  if none); why is NULL when all came, else the reason the rest did not.
    void (*repaired) (uint64_t from, uint64_t to, uint64_t reached, const char *why, void *arg);
    //  The registry at endpoint started a new history: seq came after last.
    //  The follower goes on from seq; a replica of the old history is void.
    void (*history) (const char *endpoint, uint64_t seq, uint64_t last, void *arg);
} zf_follow_fns_t;

//  A follower of the registry at endpoints (as for zf_client_new; events
//  are read at each request port + 1). Subscribes to nothing yet. NULL if
//  the endpoints are malformed.
zf_follow_t *zf_follow_new (const char *endpoints, int timeout_ms, const zf_follow_fns_t *fns,
                            void *arg);

void zf_follow_destroy (zf_follow_t **self_p);

//  Subscribes every endpoint to topics starting with prefix ("" for all).
void zf_follow_subscribe (zf_follow_t *self, const char *prefix);

//  Sources, one per registry endpoint, to poll: a source's SUB socket is
//  readable -> zf_follow_on_message; its monitor -> zf_follow_on_monitor.
int zf_follow_source_count (zf_follow_t *self);
zf_evsub_t *zf_follow_source (zf_follow_t *self, int index);

//  Receives one message from source index and hands its events over in
//  order, repairing a gap first. A body that does not decode is logged and
//  dropped (the next event shows what was lost, as a gap).
void zf_follow_on_message (zf_follow_t *self, int index);

//  Handles one monitor message of source index. Returns 1 if it reports a
//  reconnect (events may have been missed and no later one may show it).
int zf_follow_on_monitor (zf_follow_t *self, int index);

//  True once any source has connected.
bool zf_follow_connected (zf_follow_t *self);

//  Waits up to timeout_ms for any source to connect. True once connected.
bool zf_follow_wait_connected (zf_follow_t *self, int timeout_ms);

//  Takes a snapshot: every item goes to the event callback (origin
//  ZF_FOLLOW_SNAPSHOT); afterwards only events after its seq are handed
//  over. Subscribe, and be connected, first. Returns 0 with *seq_at set, or
//  -1 with the reason in why.
int zf_follow_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size);

//  The seq of the last event handed over (or of the snapshot).
uint64_t zf_follow_seq (zf_follow_t *self);

//  Decode failures seen so far.
uint64_t zf_follow_bad_messages (zf_follow_t *self);

//  The request client, for the endpoints in messages.
zf_regclient_t *zf_follow_client (zf_follow_t *self);

#endif
