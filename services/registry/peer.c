/*  peer.c - the registry's link to its peer of a Binary Star pair. */
#include "peer.h"
#include "zf_log.h"
#include "zf_proto.h"
#include "zf_socket.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

struct _zf_peer_t {
    zloop_t *loop;           //  the actor's
    zf_pair_t *pair;         //  the state machine
    zactor_t *beat;          //  our state, to the peer (s_beat)
    char *endpoint;          //  where the beat's PUB is bound
    zsock_t *sub;            //  the peer's state
    int timer;               //  the heartbeat, or -1
    bool alive;              //  the peer was heard within its liveness at the last check
    zf_proto_encoder_t *enc; //  BSTAR bodies out
    zf_proto_decoder_t *dec; //  and in
    zf_peer_ops_t ops;       //  the owner's
    void *arg;               //  for them
    zf_peer_stats_t stats;   //  counters
};

//  Sends the state if it is due: the pair says when.
static void
s_tell (zf_peer_t *self)
{
    if (!zf_pair_due (self->pair)) return;
    zf_bstar_msg_t msg = {
        .state = (uint8_t)zf_pair_state (self->pair),
        .epoch = zf_pair_epoch (self->pair),
        .seq = self->ops.seq (self->arg),
    };
    zf_proto_error_t err;
    if (zf_bstar_encode (self->enc, &msg, &err) != 0) {
        zf_log_error ("peer state not encoded reason=\"%s\"", err.text);
        return;
    }
    zf_pair_sent (self->pair);
    if (zmq_send (zsock_resolve (self->beat), zf_proto_encoder_data (self->enc),
                  zf_proto_encoder_size (self->enc), ZMQ_DONTWAIT) < 0) {
        self->stats.unsent++;
        zf_log_warn ("peer state not sent reason=\"%s\"", zmq_strerror (zmq_errno ()));
    } else
        self->stats.sent++;
}

//  The state changed: the owner first (it may take a term), then the peer.
static void
s_changed (zf_peer_t *self, zf_pair_change_t change, const char *why)
{
    if (change == ZF_PAIR_SAME) return;
    self->ops.changed (self->arg, change, why);
    s_tell (self);
}

//  Messages from the peer.
static int
s_on_sub (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_peer_t *self = arg;
    zframe_t *frame = zframe_recv (reader);
    if (!frame) return 0;
    zf_bstar_msg_t msg;
    zf_proto_error_t err;
    if (zframe_more (frame) ||
        zf_bstar_decode (self->dec, zframe_data (frame), zframe_size (frame), &msg, &err) != 0) {
        self->stats.malformed++;
        zf_log_warn ("malformed message from the peer reason=\"%s\"",
                     zframe_more (frame) ? "more than one frame" : err.text);
        //  The rest of a message of several frames.
        while (zsock_rcvmore (reader)) {
            zframe_t *rest = zframe_recv (reader);
            zframe_destroy (&rest);
        }
        zframe_destroy (&frame);
        return 0;
    }
    zframe_destroy (&frame);
    self->stats.heard++;
    const char *why = NULL;
    //  Two statements: the order in which arguments are read is not C's to promise.
    zf_pair_change_t change = zf_pair_peer (self->pair, &msg, &why);
    s_changed (self, change, why);
    self->alive = true;
    self->ops.heard (self->arg);
    return 0;
}

//  The heartbeat; a peer that falls silent is news to the owner too (what
//  waited for it goes by other means).
static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zf_peer_t *self = arg;
    s_tell (self);
    if (self->alive && !zf_pair_peer_alive (self->pair)) {
        self->alive = false;
        self->ops.heard (self->arg);
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  The beat

//  What the beat thread is given.
typedef struct {
    const char *bind; //  the PUB's endpoint
    int heartbeat_ms; //  the pair's
    int stall_ms;     //  how long the loop may be busy while the beat goes on
} s_beat_args_t;

static bool
s_is_term (zframe_t *frame)
{
    return zframe_size (frame) == 5 && memcmp (zframe_data (frame), "$TERM", 5) == 0;
}

//  The thread that owns the PUB: it sends every state message the loop
//  hands it at once, and while the loop is late with the next one (busy
//  with a long turn) sends the last one again every heartbeat for it, up
//  to stall_ms after the loop's last word. A busy registry is then not
//  taken over; a hung one is, once the stall runs out. Tells the endpoint
//  bound, or "!" and the reason, after the signal.
static void
s_beat (zsock_t *pipe, void *arg)
{
    //  The owner's arguments live until the signal only.
    s_beat_args_t copy = *(s_beat_args_t *)arg;
    s_beat_args_t *args = &copy;
    zsock_t *pub = zf_socket_new (ZMQ_PUB);
    int rc = pub ? zsock_bind (pub, "%s", args->bind) : -1;
    char why[300] = "";
    if (rc < 0)
        snprintf (why, sizeof why, "!cannot bind %s: %s", args->bind,
                  pub ? zmq_strerror (zmq_errno ()) : "no socket");
    args->bind = NULL;
    zsock_signal (pipe, 0);
    zstr_send (pipe, rc < 0 ? why : zsock_endpoint (pub));
    if (rc < 0) {
        zsock_destroy (&pub);
        //  Wait for the owner's $TERM.
        zframe_t *term = zframe_recv (pipe);
        zframe_destroy (&term);
        return;
    }
    zframe_t *last = NULL;
    int64_t hb = args->heartbeat_ms;
    //  The loop is late once half a heartbeat past its due time; the beat
    //  says so in the log once it has been busy four heartbeats.
    int64_t late = hb + hb / 2;
    int64_t told = zclock_mono (), sent = told;
    bool warned = false;
    while (true) {
        int64_t now = zclock_mono ();
        int64_t due = sent + hb > told + late ? sent + hb : told + late;
        zmq_pollitem_t item = {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, due > now ? due - now : 0) < 0 && zmq_errno () != EINTR) break;
        now = zclock_mono ();
        if (item.revents & ZMQ_POLLIN) {
            zframe_t *frame = zframe_recv (pipe);
            if (!frame || s_is_term (frame)) {
                zframe_destroy (&frame);
                break;
            }
            zframe_destroy (&last);
            last = frame;
            if (warned) zf_log_info ("registry loop back after %" PRId64 " ms busy", now - told);
            warned = false;
            told = now;
        } else if (!last || now - told < late || now - sent < hb || now - told >= args->stall_ms)
            continue;
        else if (!warned && now - told >= 4 * hb) {
            warned = true;
            zf_log_warn ("registry loop busy for %" PRId64 " ms: its state goes on to the peer "
                         "for it, for %d ms at most",
                         now - told, args->stall_ms);
        }
        zmq_send (zsock_resolve (pub), zframe_data (last), zframe_size (last), ZMQ_DONTWAIT);
        sent = now;
    }
    zframe_destroy (&last);
    zsock_destroy (&pub);
}

//  A socket of type, bound or connected to endpoint; NULL with the reason.
static zsock_t *
s_socket (int type, const char *endpoint, bool bind, char *error, size_t size)
{
    zsock_t *sock = zf_socket_new (type);
    if (!sock) {
        snprintf (error, size, "cannot make a socket");
        return NULL;
    }
    int rc = bind ? zsock_bind (sock, "%s", endpoint) : zsock_connect (sock, "%s", endpoint);
    if (rc < 0) {
        snprintf (error, size, "cannot %s %s: %s", bind ? "bind" : "connect to", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

zf_peer_t *
zf_peer_new (zloop_t *loop, zf_clock_t *clock, const zf_peer_config_t *cfg,
             const zf_peer_ops_t *ops, void *arg, char *error, size_t size)
{
    assert (loop && clock && cfg && ops && ops->changed && ops->seq && ops->heard);
    zf_peer_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, size, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->ops = *ops;
    self->arg = arg;
    self->timer = -1;
    int heartbeat = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : ZF_PAIR_HEARTBEAT_MS;
    self->pair = zf_pair_new (clock, cfg->primary, heartbeat, ZF_PAIR_LIVENESS);
    self->enc = zf_proto_encoder_new ();
    self->dec = zf_proto_decoder_new ();
    if (!self->pair || !self->enc || !self->dec) {
        snprintf (error, size, "out of memory");
        zf_peer_destroy (&self);
        return NULL;
    }
    s_beat_args_t args = {cfg->bind, heartbeat,
                          cfg->stall_ms > 0 ? cfg->stall_ms : ZF_PEER_STALL_MS};
    self->beat = zactor_new (s_beat, &args);
    char *bound = self->beat ? zstr_recv (self->beat) : NULL;
    if (!bound || *bound == '!') {
        snprintf (error, size, "%s", bound ? bound + 1 : "cannot start the heartbeat");
        zstr_free (&bound);
        zf_peer_destroy (&self);
        return NULL;
    }
    self->endpoint = bound;
    self->sub = s_socket (ZMQ_SUB, cfg->peer, false, error, size);
    if (!self->sub) {
        zf_peer_destroy (&self);
        return NULL;
    }
    zsock_set_subscribe (self->sub, "");
    //  Checked ten times a heartbeat: a timer of one heartbeat that fires a
    //  hair early would find nothing due and skip a whole beat.
    self->timer =
        zloop_timer (loop, (size_t)(heartbeat >= 10 ? heartbeat / 10 : 1), 0, s_on_timer, self);
    if (self->timer < 0 || zloop_reader (loop, self->sub, s_on_sub, self) != 0) {
        snprintf (error, size, "out of memory");
        zf_peer_destroy (&self);
        return NULL;
    }
    s_tell (self);
    return self;
}

void
zf_peer_destroy (zf_peer_t **self_p)
{
    assert (self_p);
    zf_peer_t *self = *self_p;
    if (!self) return;
    if (self->timer >= 0) zloop_timer_end (self->loop, self->timer);
    if (self->sub) zloop_reader_end (self->loop, self->sub);
    zsock_destroy (&self->sub);
    zactor_destroy (&self->beat);
    zstr_free (&self->endpoint);
    zf_proto_encoder_destroy (&self->enc);
    zf_proto_decoder_destroy (&self->dec);
    zf_pair_destroy (&self->pair);
    free (self);
    *self_p = NULL;
}

zf_pair_t *
zf_peer_pair (zf_peer_t *self)
{
    assert (self);
    return self->pair;
}

bool
zf_peer_client (zf_peer_t *self)
{
    assert (self);
    //  What the peer said and this busy registry has not read yet counts:
    //  a peer is silent only if nothing from it waits either.
    while (!zf_pair_peer_alive (self->pair) && (zsock_events (self->sub) & ZMQ_POLLIN))
        s_on_sub (self->loop, self->sub, self);
    zf_pair_change_t change;
    const char *why = NULL;
    bool served = zf_pair_client (self->pair, &change, &why);
    s_changed (self, change, why);
    return served;
}

void
zf_peer_lives (zf_peer_t *self)
{
    assert (self);
    zf_pair_peer_lives (self->pair);
}

void
zf_peer_set_epoch (zf_peer_t *self, uint64_t epoch)
{
    assert (self);
    zf_pair_set_epoch (self->pair, epoch);
    s_tell (self);
}

void
zf_peer_advance (zf_peer_t *self)
{
    assert (self);
    zf_pair_tell (self->pair);
    s_tell (self);
}

const char *
zf_peer_endpoint (zf_peer_t *self)
{
    assert (self);
    return self->endpoint;
}

void
zf_peer_stats (zf_peer_t *self, zf_peer_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}
