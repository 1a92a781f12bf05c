/*  link.c - the registry's socket to the dispatcher, around the session.

    Owns: the DEALER to the dispatcher (a fresh one per session, so nothing
    sent on an old one can be confused with the new), its monitor, the
    heartbeat timer and the back-off timer. It decides nothing: every
    message, connection change and tick goes to the session (session.c),
    and the back-off timer follows the session's zf_session_backoff_end.
*/
#include "link.h"
#include "zf_socket.h"
#include "registry.h"
#include "zf_log.h"
#include "zf_mdp.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Socket buffers, in messages: a turn may send thousands of orders.
#define S_HWM 100000

struct _zf_link_t {
    zloop_t *loop;         //  the actor's loop (borrowed)
    char *endpoint;        //  the dispatcher
    zf_clock_t *clock;     //  the session's clock (borrowed)
    zf_session_t *session; //  what decides (borrowed)
    zf_link_done_fn *done; //  ends the owner's turn
    void *arg;             //  for done
    zsock_t *dealer;       //  to the dispatcher, or NULL
    zsock_t *monitor;      //  the DEALER's connection events, or NULL
    int monitor_seq;       //  numbers monitor endpoints
    int heartbeat_timer;   //  ticks the session, or -1
    int backoff_timer;     //  fires at the back-off's end, or -1
    int64_t backoff_at;    //  the end it was armed for, or -1
};

//  Arms the back-off timer at the session's back-off end, if that moved.
static int s_on_backoff (zloop_t *loop, int timer_id, void *arg);

static void
s_sync (zf_link_t *self)
{
    int64_t end = zf_session_backoff_end (self->session);
    if (end == self->backoff_at && (end < 0 || self->backoff_timer >= 0)) return;
    if (self->backoff_timer >= 0) zloop_timer_end (self->loop, self->backoff_timer);
    self->backoff_timer = -1;
    self->backoff_at = end;
    if (end < 0) return;
    int64_t delay = end - zf_clock_mono_us (self->clock) / 1000;
    self->backoff_timer =
        zloop_timer (self->loop, (size_t)(delay > 0 ? delay : 0), 1, s_on_backoff, self);
}

//  After anything the session handled: the timer follows it, the turn ends.
static void
s_done (zf_link_t *self)
{
    s_sync (self);
    self->done (self->arg);
}

static int
s_on_backoff (zloop_t *loop, int timer_id, void *arg)
{
    zf_link_t *self = arg;
    self->backoff_timer = -1; //  a one-shot timer ends by itself
    zf_session_backoff_over (self->session);
    s_done (self);
    return 0;
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    zf_link_t *self = arg;
    zf_session_tick (self->session);
    s_done (self);
    return 0;
}

static int
s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_link_t *self = arg;
    //  A message may end the session, and the socket with it.
    for (int i = 0; i < ZF_REGISTRY_READS_PER_TURN && self->dealer == reader; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        zf_session_on_message (self->session, msg);
        zmsg_destroy (&msg);
    }
    s_done (self);
    return 0;
}

//  The DEALER's connection came or went.
static int
s_on_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_link_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    zframe_t *frame = msg ? zmsg_first (msg) : NULL;
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= sizeof event)
        memcpy (&event, zframe_data (frame), sizeof event);
    zmsg_destroy (&msg);
    if (event == ZMQ_EVENT_CONNECTED)
        zf_session_connected (self->session);
    else if (event == ZMQ_EVENT_DISCONNECTED)
        zf_session_disconnected (self->session);
    s_done (self);
    return 0;
}

//  Closes the socket and its monitor.
static void
s_close (zf_link_t *self)
{
    if (self->monitor) {
        zloop_reader_end (self->loop, self->monitor);
        zsock_destroy (&self->monitor);
    }
    if (self->dealer) {
        zloop_reader_end (self->loop, self->dealer);
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
        zsock_destroy (&self->dealer);
    }
}

int
zf_link_connect (zf_link_t *self, bool *watched)
{
    assert (self && watched);
    s_close (self);
    *watched = false;
    self->dealer = zf_socket_new (ZMQ_DEALER);
    if (!self->dealer) {
        zf_log_error ("cannot make a socket to the dispatcher endpoint=%s", self->endpoint);
        return -1;
    }
    zsock_set_sndhwm (self->dealer, S_HWM);
    zsock_set_rcvhwm (self->dealer, S_HWM);
    //  A monitor tells at once when the connection drops (a dispatcher
    //  killed and restarted), instead of after liveness runs out.
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://zf-registry-monitor-%p-%d", (void *)self,
              ++self->monitor_seq);
    if (zmq_socket_monitor (zsock_resolve (self->dealer), endpoint,
                            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        if (self->monitor && zsock_connect (self->monitor, "%s", endpoint) != 0)
            zsock_destroy (&self->monitor);
    }
    if (!self->monitor)
        zf_log_warn ("no monitor on the socket to the dispatcher: a dropped connection shows "
                     "only as silence");
    if (zsock_connect (self->dealer, "%s", self->endpoint) != 0 ||
        zloop_reader (self->loop, self->dealer, s_on_dealer, self) != 0 ||
        (self->monitor && zloop_reader (self->loop, self->monitor, s_on_monitor, self) != 0)) {
        zf_log_error ("cannot connect to the dispatcher endpoint=%s", self->endpoint);
        s_close (self);
        return -1;
    }
    *watched = self->monitor != NULL;
    return 0;
}

int
zf_link_send (zf_link_t *self, uint8_t command, const char *service, const void *body, size_t size)
{
    assert (self);
    if (!self->dealer) return -1;
    zframe_t *frame = body ? zframe_new (body, size) : NULL;
    zmsg_t *msg = body && !frame ? NULL : zf_mdp_client_new (command, service, &frame);
    if (!msg) return -1;
    //  Frame by frame without waiting: a full socket refuses the first
    //  frame, and then nothing of the message goes.
    int rc = 0;
    zframe_t *part;
    while (rc == 0 && (part = zmsg_pop (msg))) {
        rc = zframe_send (&part, self->dealer,
                          (zmsg_size (msg) ? ZFRAME_MORE : 0) | ZFRAME_DONTWAIT);
        zframe_destroy (&part);
    }
    zmsg_destroy (&msg);
    return rc;
}

zf_link_t *
zf_link_new (zloop_t *loop, const char *endpoint, zf_clock_t *clock, int64_t heartbeat_ms,
             zf_session_t *session, zf_link_done_fn *done, void *arg)
{
    assert (loop && endpoint && clock && session && done && heartbeat_ms > 0);
    zf_link_t *self = calloc (1, sizeof (zf_link_t));
    if (!self) return NULL;
    self->loop = loop;
    self->clock = clock;
    self->session = session;
    self->done = done;
    self->arg = arg;
    self->backoff_timer = -1;
    self->backoff_at = -1;
    self->endpoint = strdup (endpoint);
    self->heartbeat_timer = zloop_timer (loop, (size_t)heartbeat_ms, 0, s_on_heartbeat, self);
    if (!self->endpoint || self->heartbeat_timer < 0) zf_link_destroy (&self);
    return self;
}

void
zf_link_destroy (zf_link_t **self_p)
{
    assert (self_p);
    zf_link_t *self = *self_p;
    if (!self) return;
    s_close (self);
    if (self->heartbeat_timer >= 0) zloop_timer_end (self->loop, self->heartbeat_timer);
    if (self->backoff_timer >= 0) zloop_timer_end (self->loop, self->backoff_timer);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}
