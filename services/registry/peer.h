/*  peer.h - the registry's link to its peer of a Binary Star pair.

    The thin shell of zf_pair (libs/pair): a SUB connected to the peer's
    PUB and a heartbeat timer in the actor's loop, and a thread of its own
    (the beat) that owns our PUB. The loop hands the beat each state
    message; while the loop is busy with a long turn the beat sends the
    last one again every heartbeat, for ZF_PEER_STALL_MS at most, so a busy
    registry is not taken for dead and a hung one is. Every BSTAR message heard goes to the pair's
    state machine; what it makes of it (and of client requests, which the
    owner reports with zf_peer_client) reaches the owner through its
    changed function. The state goes out on every change and once per
    heartbeat, with the owner's epoch and last event seq.

    A message from the peer that does not decode is counted and logged
    (once per second at most) and changes nothing.
*/
#ifndef ZF_PEER_H_INCLUDED
#define ZF_PEER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "zf_clock.h"
#include "zf_pair.h"

typedef struct _zf_peer_t zf_peer_t;

//  How long the registry's loop may be busy (a long turn) while its state
//  still goes out every heartbeat; past that it is taken for hung, and the
//  peer hears nothing more until the loop is back.
#define ZF_PEER_STALL_MS 5000

//  What the owner hears and tells.
typedef struct {
    //  The state changed (why: a static text for the log).
    void (*changed) (void *arg, zf_pair_change_t change, const char *why);
    //  The last event seq the owner has applied, for the state message.
    uint64_t (*seq) (void *arg);
    //  A message from the peer was handled (after changed, if it changed
    //  the state), or the peer fell silent: the end of the owner's turn.
    void (*heard) (void *arg);
} zf_peer_ops_t;

typedef struct {
    bool primary;     //  this registry is the primary
    const char *bind; //  our PUB, for the peer ("tcp://127.0.0.1:5580" for a primary)
    const char *peer; //  the peer's PUB ("tcp://127.0.0.1:5581" for a primary)
    int heartbeat_ms; //  ZF_PAIR_HEARTBEAT_MS by default
    int stall_ms;     //  ZF_PEER_STALL_MS by default
} zf_peer_config_t;

typedef struct {
    uint64_t sent;      //  state messages sent
    uint64_t heard;     //  state messages heard
    uint64_t malformed; //  messages from the peer that did not decode
    uint64_t unsent;    //  state messages the socket refused
} zf_peer_stats_t;

//  A peer link in loop (borrowed) on clock (borrowed): binds, connects and
//  sends the first state message. NULL with the reason in error if a
//  socket cannot be made, bound or connected.
zf_peer_t *zf_peer_new (zloop_t *loop, zf_clock_t *clock, const zf_peer_config_t *cfg,
                        const zf_peer_ops_t *ops, void *arg, char *error, size_t size);

//  Closes the sockets and ends the timer; idempotent.
void zf_peer_destroy (zf_peer_t **self_p);

//  The state machine.
zf_pair_t *zf_peer_pair (zf_peer_t *self);

//  A client request came: true if it is to be served (the registry is, or
//  has now become, active; the owner heard of the change first). Messages
//  from the peer that wait unread are taken first, so a registry too busy
//  to read them never takes its peer for silent.
bool zf_peer_client (zf_peer_t *self);

//  The peer showed it lives by other means than its state (zf_pair_peer_lives).
void zf_peer_lives (zf_peer_t *self);

//  The owner took a new term: the pair knows it, and the peer hears it with
//  the next state message.
void zf_peer_set_epoch (zf_peer_t *self, uint64_t epoch);

//  The owner's last seq moved (a passive registry applied events): the
//  peer hears it now, so the active one can acknowledge what we hold.
void zf_peer_advance (zf_peer_t *self);

//  The endpoint our PUB is bound to.
const char *zf_peer_endpoint (zf_peer_t *self);

void zf_peer_stats (zf_peer_t *self, zf_peer_stats_t *stats);

#endif
