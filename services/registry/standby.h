/*  standby.h - a passive registry follows the active one's events.

    The Clone pattern's client side (zf_follow, repairing at once) on the
    active registry's request endpoint, its events on the port after it:
    once connected it takes a SNAPSHOT into the registry's engine, which
    must be new, then applies every later event in order, and hands each
    to the publisher, so this registry's PUB and journal carry the same
    events under the same numbers. Its engine then holds the active's
    state, ready to take over without reading a database.

    A follower that can no longer follow (a gap that could not be
    repaired, an event the engine refuses, another history at the active)
    is broken: its engine no longer matches the active's, and the owner
    must not take over from it.
*/
#ifndef ZF_STANDBY_H_INCLUDED
#define ZF_STANDBY_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "publisher.h"
#include "zf_engine.h"

typedef struct _zf_standby_t zf_standby_t;

//  Called after the standby handled something (events were applied, or it
//  broke): the end of the owner's turn.
typedef void (zf_standby_done_fn) (void *arg);

//  Follows the registry at endpoint (its request endpoint) into engine
//  (borrowed, new) and publisher (borrowed), in loop (borrowed); requests
//  wait timeout_ms at most. NULL if the endpoint is malformed or memory ran
//  out.
zf_standby_t *zf_standby_new (zloop_t *loop, const char *endpoint, int timeout_ms,
                              zf_engine_t *engine, zf_publisher_t *publisher,
                              zf_standby_done_fn *done, void *arg);

//  Stops following: the sockets close, the readers and the timer end. An
//  engine that no snapshot reached is left new.
void zf_standby_destroy (zf_standby_t **self_p);

//  True once a snapshot was folded: the engine holds the active's state.
bool zf_standby_synced (zf_standby_t *self);

//  Events taken from the active registry so far (published or fetched, not
//  snapshot items): each one shows it lives.
uint64_t zf_standby_events (zf_standby_t *self);

//  True once the engine can no longer follow; why says why.
bool zf_standby_broken (zf_standby_t *self, const char **why);

#endif
