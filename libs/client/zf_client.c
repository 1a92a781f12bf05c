/*  zf_client.c - lazy-pirate request/reply with failover over a list of endpoints. */
#include "zf_client.h"
#include "zf_regapi.h"
#include "zf_socket.h"
#include "zf_common.h"

#include <assert.h>

struct _zf_client_t {
    char *endpoints[ZF_CLIENT_MAX_ENDPOINTS]; //  request endpoints, in the order given
    int count;                                //  endpoints in use
    int current;                              //  index of the endpoint tried first
    zsock_t *socket;                          //  DEALER to endpoints[current], or NULL
    zf_proto_decoder_t *decoder;              //  looks into replies for ERROR passive
    char error[256];                          //  why the last call failed
    zsock_t *side;                            //  served while waiting, or NULL
    zf_client_side_fn *side_fn;               //  handles side when it is readable
    void *side_arg;                           //  for side_fn
};

//  Splits the list and checks each entry looks like tcp://host:port or ipc://.
static int
s_parse_endpoints (zf_client_t *self, const char *list)
{
    char *copy = strdup (list);
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        if (self->count == ZF_CLIENT_MAX_ENDPOINTS ||
            (strncmp (item, "tcp://", 6) != 0 && strncmp (item, "ipc://", 6) != 0) ||
            strlen (item) > 256) {
            free (copy);
            return -1;
        }
        self->endpoints[self->count++] = strdup (item);
    }
    free (copy);
    return self->count > 0 ? 0 : -1;
}

zf_client_t *
zf_client_new (const char *endpoints)
{
    if (!endpoints) return NULL;
    zf_client_t *self = calloc (1, sizeof *self);
    if (self) self->decoder = zf_proto_decoder_new ();
    if (self && (!self->decoder || s_parse_endpoints (self, endpoints) != 0))
        zf_client_destroy (&self);
    return self;
}

void
zf_client_destroy (zf_client_t **self_p)
{
    assert (self_p);
    zf_client_t *self = *self_p;
    if (!self) return;
    zsock_destroy (&self->socket);
    zf_proto_decoder_destroy (&self->decoder);
    for (int i = 0; i < self->count; i++)
        free (self->endpoints[i]);
    free (self);
    *self_p = NULL;
}

//  Opens a fresh DEALER to the current endpoint.
static int
s_connect (zf_client_t *self)
{
    zsock_destroy (&self->socket);
    self->socket = zf_socket_new (ZMQ_DEALER);
    if (!self->socket) return -1;
    //  Messages go only to a connection made: s_send sees a registry that
    //  does not take connections (gone, or its host down) as such. A reply
    //  polled as ready can still go with its connection (such a pipe is
    //  dropped with what it holds), so receiving never waits: zmq_poll does.
    zsock_set_immediate (self->socket, 1);
    zsock_set_rcvtimeo (self->socket, 0);
    if (zsock_connect (self->socket, "%s", self->endpoints[self->current]) != 0) {
        snprintf (self->error, sizeof self->error, "cannot connect to %s",
                  self->endpoints[self->current]);
        zsock_destroy (&self->socket);
        return -1;
    }
    return 0;
}

//  Polls the open socket (or none) for events until the monotonic time
//  until, serving the side socket meanwhile. Returns what zmq_poll
//  returned for the open socket: 1 if it is ready, 0 when the time is up,
//  -1 on an interrupt.
static int
s_poll (zf_client_t *self, short events, int64_t until)
{
    while (1) {
        int64_t wait = until - zclock_mono ();
        if (wait < 0) wait = 0;
        zmq_pollitem_t items[2];
        int count = 0;
        int side = -1;
        if (self->socket && events)
            items[count++] = (zmq_pollitem_t){zsock_resolve (self->socket), 0, events, 0};
        if (self->side) {
            side = count;
            items[count++] = (zmq_pollitem_t){zsock_resolve (self->side), 0, ZMQ_POLLIN, 0};
        }
        int rc = zmq_poll (items, count, (long)wait);
        //  Ctrl-C (CZMQ's handler sets zsys_interrupted) ends the wait.
        if (rc < 0 && errno == EINTR && !zsys_interrupted) continue;
        if (rc < 0) return -1;
        if (side >= 0 && (items[side].revents & ZMQ_POLLIN)) {
            self->side_fn (self->side, self->side_arg);
            rc--;
        }
        if (rc > 0) return 1;
        if (wait == 0) return 0;
    }
}

//  Waits until the monotonic time until for a well-formed reply [""][body]
//  on the open socket; returns the body, or NULL when the time is up. A
//  time already past still takes a reply that is there.
static zframe_t *
s_receive (zf_client_t *self, int64_t until)
{
    while (1) {
        if (s_poll (self, ZMQ_POLLIN, until) <= 0) return NULL;
        zmsg_t *reply = zmsg_recv (self->socket);
        if (!reply) {
            if (zsys_interrupted) return NULL;
            continue; //  gone with its connection: wait on until the deadline
        }
        zframe_t *empty = zmsg_pop (reply);
        zframe_t *frame = zmsg_pop (reply);
        int good = empty && zframe_size (empty) == 0 && frame && zmsg_size (reply) == 0;
        zframe_destroy (&empty);
        zmsg_destroy (&reply);
        if (good) return frame;
        zframe_destroy (&frame);
        //  A malformed reply: keep waiting for a proper one until the deadline.
    }
}

//  Sends [""][body] on the open socket, opening one to the current endpoint
//  first if none is open, once it is connected: a connection not made by
//  the monotonic time until (or within ZF_CLIENT_CONNECT_MS) counts as a
//  registry that is not there. Returns 0, or -1 with the reason in error.
static int
s_send (zf_client_t *self, const void *body, size_t size, int64_t until)
{
    if (!self->socket && s_connect (self) != 0) return -1;
    int64_t now = zclock_mono ();
    if (until > now + ZF_CLIENT_CONNECT_MS) until = now + ZF_CLIENT_CONNECT_MS;
    if (s_poll (self, ZMQ_POLLOUT, until) <= 0) {
        snprintf (self->error, sizeof self->error, "no connection to %s within %d ms",
                  self->endpoints[self->current], ZF_CLIENT_CONNECT_MS);
        return -1;
    }
    zmsg_t *request = zmsg_new ();
    zmsg_addmem (request, NULL, 0);
    zmsg_addmem (request, body, size);
    if (zmsg_send (&request, self->socket) == 0) return 0;
    zmsg_destroy (&request);
    snprintf (self->error, sizeof self->error, "cannot send to %s", self->endpoints[self->current]);
    return -1;
}

//  Closes the socket, so that a late reply can never be taken for the
//  answer to a later request, and makes the next endpoint the current one.
static void
s_next (zf_client_t *self)
{
    zsock_destroy (&self->socket);
    self->current = (self->current + 1) % self->count;
}

zframe_t *
zf_client_call (zf_client_t *self, const void *body, size_t size, int timeout_ms)
{
    assert (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    //  Each endpoint gets an equal share of the time, at least once round.
    int share = timeout_ms / self->count;
    if (share < 1) share = 1;
    bool again = false; //  this round met a passive registry or no connection
    for (int tried = 0;; tried++) {
        int64_t until = zclock_mono () + share;
        if (tried % self->count == self->count - 1 || until > deadline) until = deadline;
        if (s_send (self, body, size, until) == 0) {
            zframe_t *frame = s_receive (self, until);
            if (frame && !zf_client_passive (self, frame)) return frame;
            if (frame) {
                again = true;
                snprintf (self->error, sizeof self->error, "the registry at %s is passive",
                          self->endpoints[self->current]);
            } else
                snprintf (self->error, sizeof self->error, "no answer from %s within %d ms",
                          self->endpoints[self->current], timeout_ms);
            zframe_destroy (&frame);
        } else
            again = true;
        s_next (self);
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) break;
        if (tried % self->count == self->count - 1) {
            //  A round answered only by silence used its time; one that met
            //  a passive registry, or found no connection, goes again after
            //  a pause, while the pair fails over or a registry starts.
            if (!again) break;
            again = false;
            if (left <= ZF_CLIENT_PASSIVE_WAIT_MS) break;
            s_poll (self, 0, zclock_mono () + ZF_CLIENT_PASSIVE_WAIT_MS);
        }
    }
    if (self->count > 1)
        snprintf (self->error, sizeof self->error,
                  "no registry answered within %d ms (tried %d endpoints)", timeout_ms,
                  self->count);
    return NULL;
}

bool
zf_client_passive (zf_client_t *self, zframe_t *frame)
{
    assert (self);
    assert (frame);
    return zf_reg_reply_passive (self->decoder, zframe_data (frame), zframe_size (frame));
}

zframe_t *
zf_client_recv (zf_client_t *self, int timeout_ms)
{
    assert (self);
    if (!self->socket) return NULL;
    zframe_t *frame = s_receive (self, zclock_mono () + timeout_ms);
    if (!frame)
        snprintf (self->error, sizeof self->error, "no further reply from %s within %d ms",
                  self->endpoints[self->current], timeout_ms);
    return frame;
}

zsock_t *
zf_client_send (zf_client_t *self, const void *body, size_t size)
{
    assert (self);
    return s_send (self, body, size, zclock_mono () + ZF_CLIENT_CONNECT_MS) == 0 ? self->socket
                                                                                 : NULL;
}

void
zf_client_drop (zf_client_t *self)
{
    assert (self);
    s_next (self);
}

void
zf_client_set_side (zf_client_t *self, zsock_t *side, zf_client_side_fn *fn, void *arg)
{
    assert (self);
    assert (!side || fn);
    self->side = side;
    self->side_fn = fn;
    self->side_arg = arg;
}

const char *
zf_client_endpoints_resolve (const char *flag)
{
    if (flag && *flag) return flag;
    const char *env = getenv ("ZFLOW_REGISTRY");
    if (env && *env) return env;
    return ZF_CLIENT_DEFAULT_ENDPOINT;
}

const char *
zf_client_endpoint (zf_client_t *self)
{
    assert (self);
    return self->endpoints[self->current];
}

const char *
zf_client_error (zf_client_t *self)
{
    assert (self);
    return self->error;
}

int
zf_client_endpoint_count (zf_client_t *self)
{
    assert (self);
    return self->count;
}

int
zf_client_events_endpoint (zf_client_t *self, int i, char *buf, size_t size)
{
    assert (self);
    if (i < 0 || i >= self->count) return -1;
    const char *endpoint = self->endpoints[i];
    const char *colon = strrchr (endpoint, ':');
    if (strncmp (endpoint, "tcp://", 6) != 0 || !colon || colon < endpoint + 6) return -1;
    char *end;
    long port = strtol (colon + 1, &end, 10);
    if (*end || port <= 0 || port >= 65535) return -1;
    snprintf (buf, size, "%.*s:%ld", (int)(colon - endpoint), endpoint, port + 1);
    return 0;
}
