/*  zf_pair.h - the Binary Star state machine of a registry pair.

    Two registries, a primary and a backup, run side by side; one is active
    (it serves clients and drives the dispatcher), the other passive (it
    follows the active one's events and stands by). Each tells the other
    its state once per heartbeat and at every change of state (the BSTAR
    body, zf_bstar.h); what it hears from its peer and from its clients
    moves it through the pattern's table (the ZeroMQ guide, chapter 4):

      state     event            next       why
      primary   peer backup      active     connected to the backup, which is passive
      primary   peer active      passive    the backup is active: a failback waits
      primary   client request   active     the peer has been silent for its liveness
                                 (refused)  otherwise: the backup may be active
      backup    peer active      passive    connected to the active primary
      backup    client request   (refused)  a backup never serves before its primary
      active    peer active      active or passive: the newer epoch stays (see below)
      passive   peer primary     active     the primary restarted: it is not active
      passive   peer backup      active     the backup restarted: it is not active
      passive   peer passive     active     on the primary only (see below)
      passive   client request   active     the peer has been silent for its liveness
                                 (refused)  otherwise

    Every other pair of state and event leaves the state as it is; a client
    request is served in active only.

    A passive peer takes over only when the active one has been silent for
    its liveness (heartbeat x liveness) and a client has turned to it: a
    broken link between two live registries alone never makes two actives,
    because the clients still reach the active one.

    A backup started alone never serves: failing over needs a primary that
    was active once. An operator who has lost the primary's host for good
    starts the survivor as the primary.

    Two rows differ from the guide, which stops a server there:
    - Two actives (a link that came back, or an old active that was stopped
      and resumed): the one with the newer epoch stays active and the other
      steps down to passive, to follow the one that stayed. Equal epochs
      (two terms taken without hearing each other) keep the primary.
    - Two passives: the primary takes over; the backup waits for it.

    The class reads the time from an injected clock and sends nothing: its
    owner sends the state message when zf_pair_due says so and feeds it
    what it hears.
*/
#ifndef ZF_PAIR_H_INCLUDED
#define ZF_PAIR_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_bstar.h"
#include "zf_clock.h"

typedef struct _zf_pair_t zf_pair_t;

//  Heartbeat between peers, and how many may be missed, by default.
#define ZF_PAIR_HEARTBEAT_MS 250
#define ZF_PAIR_LIVENESS     2

//  What an event did to the state.
typedef enum {
    ZF_PAIR_SAME,        //  nothing changed
    ZF_PAIR_ACTIVATED,   //  became active
    ZF_PAIR_DEACTIVATED, //  became passive from primary or backup
    ZF_PAIR_STEPPED_DOWN //  was active, is passive: the peer is the newer active
} zf_pair_change_t;

//  A pair member on clock (not taken), primary or backup, sending its state
//  every heartbeat_ms; its peer is silent once liveness heartbeats went by
//  without a word. It starts as primary or backup, the peer silent since
//  now. NULL if out of memory or heartbeat_ms or liveness is below 1.
zf_pair_t *zf_pair_new (zf_clock_t *clock, bool primary, int heartbeat_ms, int liveness);

void zf_pair_destroy (zf_pair_t **self_p);

//  The state now (zf_bstar_state_t).
zf_bstar_state_t zf_pair_state (zf_pair_t *self);

//  True if this member was made the primary.
bool zf_pair_primary (zf_pair_t *self);

//  The epoch this member drives with (set by its owner, who takes a new
//  term on activation); 0 until set.
void zf_pair_set_epoch (zf_pair_t *self, uint64_t epoch);
uint64_t zf_pair_epoch (zf_pair_t *self);

//  The peer said msg. Decides by the table above; why (if not NULL) gets a
//  static text for the log when the state changed.
zf_pair_change_t zf_pair_peer (zf_pair_t *self, const zf_bstar_msg_t *msg, const char **why);

//  The peer showed it lives by other means than its state (its events
//  arrived): its liveness starts again; the state it last said stands. A
//  busy active registry may miss a heartbeat while it still publishes.
void zf_pair_peer_lives (zf_pair_t *self);

//  A client request arrived. True if it is to be served (the state is, or
//  has now become, active); *change says whether it changed the state, why
//  as for zf_pair_peer.
bool zf_pair_client (zf_pair_t *self, zf_pair_change_t *change, const char **why);

//  True while the peer has been heard within its liveness.
bool zf_pair_peer_alive (zf_pair_t *self);

//  The last message heard from the peer; false if none was.
bool zf_pair_peer_last (zf_pair_t *self, zf_bstar_msg_t *msg);

//  The newest epoch this member knows of, its own or its peer's: a new
//  term must be above it.
uint64_t zf_pair_epoch_seen (zf_pair_t *self);

//  Wall-clock ms (the clock's) at which the state last changed, or the
//  member was made.
int64_t zf_pair_since (zf_pair_t *self);

//  True if the state message is due now: a heartbeat has passed since the
//  last went, or the state changed since.
bool zf_pair_due (zf_pair_t *self);

//  The state message went now; the next is due a heartbeat later.
void zf_pair_sent (zf_pair_t *self);

//  The state message is due now (the owner has news for the peer: a passive
//  registry's new last seq).
void zf_pair_tell (zf_pair_t *self);

//  Ms until zf_pair_due will be true (0 if it is) or the peer falls
//  silent, whichever comes first; for the owner's timer.
int zf_pair_wait (zf_pair_t *self);

#endif
