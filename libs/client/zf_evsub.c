/*  zf_evsub.c - a SUB socket and its connection monitor. */
#include "zf_evsub.h"
#include "zf_socket.h"

#include <assert.h>

//  Enough queued messages that a reader busy printing does not drop a burst.
#define S_RCVHWM 100000

struct _zf_evsub_t {
    zsock_t *sub;      //  the subscription
    zactor_t *monitor; //  HANDSHAKE_SUCCEEDED events of sub
    char *endpoint;    //  where sub connects
    int connects;      //  connections seen so far
};

zf_evsub_t *
zf_evsub_new (const char *endpoint)
{
    if (!endpoint) return NULL;
    zf_evsub_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->endpoint = strdup (endpoint);
    self->sub = zf_socket_new (ZMQ_SUB);
    if (!self->endpoint || !self->sub) {
        zf_evsub_destroy (&self);
        return NULL;
    }
    zsock_set_rcvhwm (self->sub, S_RCVHWM);
    //  The monitor starts before the connect so that it sees the first one.
    self->monitor = zactor_new (zmonitor, self->sub);
    if (!self->monitor) {
        zf_evsub_destroy (&self);
        return NULL;
    }
    //  A connection counts once its handshake is done: only then has the
    //  subscription gone out, while CONNECTED comes as soon as TCP connects,
    //  and events published in between would be lost to a reader that
    //  believed itself subscribed.
    if (zstr_sendx (self->monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", NULL) != 0 ||
        zstr_sendx (self->monitor, "START", NULL) != 0 || zsock_wait (self->monitor) != 0 ||
        zsock_connect (self->sub, "%s", endpoint) != 0)
        zf_evsub_destroy (&self);
    return self;
}

void
zf_evsub_destroy (zf_evsub_t **self_p)
{
    assert (self_p);
    zf_evsub_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->monitor);
    zsock_destroy (&self->sub);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
zf_evsub_subscribe (zf_evsub_t *self, const char *prefix)
{
    assert (self);
    zsock_set_subscribe (self->sub, prefix);
}

zsock_t *
zf_evsub_sock (zf_evsub_t *self)
{
    assert (self);
    return self->sub;
}

int
zf_evsub_recv (zf_evsub_t *self, char **topic_p, zframe_t **body_p)
{
    assert (self);
    assert (topic_p && body_p);
    *topic_p = NULL;
    *body_p = NULL;
    zmsg_t *msg = zmsg_recv (self->sub);
    if (!msg) return -1;
    *topic_p = zmsg_popstr (msg);
    *body_p = zmsg_pop (msg);
    int rc = *topic_p && *body_p && zmsg_size (msg) == 0 ? 0 : 1;
    if (rc != 0) zframe_destroy (body_p);
    zmsg_destroy (&msg);
    return rc;
}

zactor_t *
zf_evsub_monitor (zf_evsub_t *self)
{
    assert (self);
    return self->monitor;
}

int
zf_evsub_on_monitor (zf_evsub_t *self)
{
    assert (self);
    zmsg_t *msg = zmsg_recv (self->monitor);
    char *event = msg ? zmsg_popstr (msg) : NULL;
    int reconnect = 0;
    if (event && streq (event, "HANDSHAKE_SUCCEEDED")) {
        reconnect = self->connects++ > 0;
        //  The socket sends its subscriptions on a new connection only when
        //  it next handles its commands: make that now, not at the next read.
        zsock_events (self->sub);
    }
    zstr_free (&event);
    zmsg_destroy (&msg);
    return reconnect;
}

bool
zf_evsub_wait_connected (zf_evsub_t *self, int timeout_ms)
{
    assert (self);
    int64_t until = zclock_mono () + timeout_ms;
    zpoller_t *poller = zpoller_new (self->monitor, NULL);
    while (self->connects == 0) {
        int64_t left = until - zclock_mono ();
        if (left <= 0 || !zpoller_wait (poller, (int)left)) break;
        zf_evsub_on_monitor (self);
    }
    zpoller_destroy (&poller);
    return self->connects > 0;
}

bool
zf_evsub_connected (zf_evsub_t *self)
{
    assert (self);
    return self->connects > 0;
}

const char *
zf_evsub_endpoint (zf_evsub_t *self)
{
    assert (self);
    return self->endpoint;
}
