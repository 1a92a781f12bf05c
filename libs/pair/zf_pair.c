/*  zf_pair.c - the Binary Star state machine of a registry pair. */
#include "zf_pair.h"

#include <assert.h>
#include <stdlib.h>

struct _zf_pair_t {
    zf_clock_t *clock;
    bool primary;
    int64_t heartbeat_us;
    int64_t window_us; //  heartbeat x liveness
    zf_bstar_state_t state;
    uint64_t epoch;      //  ours
    uint64_t epoch_seen; //  the newest known, ours or the peer's
    int64_t since_ms;    //  wall time of the last change of state
    int64_t peer_expiry; //  mono us: the peer is silent from then on
    int64_t next_send;   //  mono us: the state message is due then
    bool heard;          //  a message came from the peer
    zf_bstar_msg_t last; //  the last one
};

zf_pair_t *
zf_pair_new (zf_clock_t *clock, bool primary, int heartbeat_ms, int liveness)
{
    assert (clock);
    if (heartbeat_ms < 1 || liveness < 1) return NULL;
    zf_pair_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->clock = clock;
    self->primary = primary;
    self->heartbeat_us = (int64_t)heartbeat_ms * 1000;
    self->window_us = self->heartbeat_us * liveness;
    self->state = primary ? ZF_BSTAR_PRIMARY : ZF_BSTAR_BACKUP;
    self->since_ms = zf_clock_now (clock);
    int64_t now = zf_clock_mono_us (clock);
    self->peer_expiry = now + self->window_us;
    self->next_send = now;
    return self;
}

void
zf_pair_destroy (zf_pair_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

zf_bstar_state_t
zf_pair_state (zf_pair_t *self)
{
    assert (self);
    return self->state;
}

bool
zf_pair_primary (zf_pair_t *self)
{
    assert (self);
    return self->primary;
}

void
zf_pair_set_epoch (zf_pair_t *self, uint64_t epoch)
{
    assert (self);
    self->epoch = epoch;
    if (epoch > self->epoch_seen) self->epoch_seen = epoch;
}

uint64_t
zf_pair_epoch (zf_pair_t *self)
{
    assert (self);
    return self->epoch;
}

uint64_t
zf_pair_epoch_seen (zf_pair_t *self)
{
    assert (self);
    return self->epoch_seen;
}

int64_t
zf_pair_since (zf_pair_t *self)
{
    assert (self);
    return self->since_ms;
}

//  Moves to state, to be told to the peer at once.
static zf_pair_change_t
s_move (zf_pair_t *self, zf_bstar_state_t state)
{
    zf_bstar_state_t was = self->state;
    self->state = state;
    self->since_ms = zf_clock_now (self->clock);
    self->next_send = zf_clock_mono_us (self->clock);
    if (state == ZF_BSTAR_ACTIVE) return ZF_PAIR_ACTIVATED;
    return was == ZF_BSTAR_ACTIVE ? ZF_PAIR_STEPPED_DOWN : ZF_PAIR_DEACTIVATED;
}

//  True if we stay active against a peer that is active too.
static bool
s_we_win (zf_pair_t *self, uint64_t peer_epoch)
{
    if (self->epoch != peer_epoch) return self->epoch > peer_epoch;
    return self->primary;
}

void
zf_pair_peer_lives (zf_pair_t *self)
{
    assert (self);
    self->peer_expiry = zf_clock_mono_us (self->clock) + self->window_us;
}

zf_pair_change_t
zf_pair_peer (zf_pair_t *self, const zf_bstar_msg_t *msg, const char **why)
{
    assert (self);
    assert (msg);
    self->heard = true;
    self->last = *msg;
    self->peer_expiry = zf_clock_mono_us (self->clock) + self->window_us;
    if (msg->epoch > self->epoch_seen) self->epoch_seen = msg->epoch;
    const char *reason = NULL;
    zf_bstar_state_t next = self->state;
    switch (self->state) {
    case ZF_BSTAR_PRIMARY:
        if (msg->state == ZF_BSTAR_BACKUP) {
            next = ZF_BSTAR_ACTIVE;
            reason = "connected to the backup, which is passive";
        } else if (msg->state == ZF_BSTAR_ACTIVE) {
            next = ZF_BSTAR_PASSIVE;
            reason = "the backup is active";
        }
        break;
    case ZF_BSTAR_BACKUP:
        if (msg->state == ZF_BSTAR_ACTIVE) {
            next = ZF_BSTAR_PASSIVE;
            reason = "connected to the active primary";
        }
        break;
    case ZF_BSTAR_ACTIVE:
        if (msg->state == ZF_BSTAR_ACTIVE && !s_we_win (self, msg->epoch)) {
            next = ZF_BSTAR_PASSIVE;
            reason = "two actives: the peer's term is newer";
        }
        break;
    case ZF_BSTAR_PASSIVE:
        if (msg->state == ZF_BSTAR_PRIMARY) {
            next = ZF_BSTAR_ACTIVE;
            reason = "the primary restarted";
        } else if (msg->state == ZF_BSTAR_BACKUP) {
            next = ZF_BSTAR_ACTIVE;
            reason = "the backup restarted";
        } else if (msg->state == ZF_BSTAR_PASSIVE && self->primary) {
            next = ZF_BSTAR_ACTIVE;
            reason = "two passives: the primary takes over";
        }
        break;
    }
    if (next == self->state) return ZF_PAIR_SAME;
    if (why) *why = reason;
    return s_move (self, next);
}

bool
zf_pair_client (zf_pair_t *self, zf_pair_change_t *change, const char **why)
{
    assert (self);
    assert (change);
    *change = ZF_PAIR_SAME;
    if (self->state == ZF_BSTAR_ACTIVE) return true;
    if (self->state == ZF_BSTAR_BACKUP || zf_pair_peer_alive (self)) return false;
    if (why)
        *why = self->state == ZF_BSTAR_PASSIVE
                   ? "the active peer is silent and a client turned here"
                   : "no backup heard and a client turned here";
    *change = s_move (self, ZF_BSTAR_ACTIVE);
    return true;
}

bool
zf_pair_peer_alive (zf_pair_t *self)
{
    assert (self);
    return zf_clock_mono_us (self->clock) < self->peer_expiry;
}

bool
zf_pair_peer_last (zf_pair_t *self, zf_bstar_msg_t *msg)
{
    assert (self);
    assert (msg);
    if (self->heard) *msg = self->last;
    return self->heard;
}

bool
zf_pair_due (zf_pair_t *self)
{
    assert (self);
    return zf_clock_mono_us (self->clock) >= self->next_send;
}

void
zf_pair_sent (zf_pair_t *self)
{
    assert (self);
    self->next_send = zf_clock_mono_us (self->clock) + self->heartbeat_us;
}

void
zf_pair_tell (zf_pair_t *self)
{
    assert (self);
    self->next_send = zf_clock_mono_us (self->clock);
}

int
zf_pair_wait (zf_pair_t *self)
{
    assert (self);
    int64_t now = zf_clock_mono_us (self->clock);
    int64_t until = self->next_send;
    if (self->peer_expiry > now && self->peer_expiry < until) until = self->peer_expiry;
    if (until <= now) return 0;
    return (int)((until - now + 999) / 1000);
}
