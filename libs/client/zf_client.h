/*  zf_client.h - request and reply with a registry, failing over between a pair.

    The registry answers on a ROUTER; a client sends `[""][body]` from a DEALER
    and waits for `[""][body]`. Endpoints come as a comma-separated list (the
    Binary Star pair of ZFLOW_REGISTRY): a request that gets no answer within
    its share of the timeout is sent to the next endpoint on a fresh socket
    (the lazy-pirate rule: a socket that timed out is closed, so a late reply
    can never be mistaken for the answer to a later request). A request goes
    only over a connection made: an endpoint that takes no connection
    within ZF_CLIENT_CONNECT_MS (its registry gone, or its host down) is
    passed over at once, as is one that answers ERROR passive, so a client
    meets the active registry of a pair within a fraction of a second.

    The registry publishes its events on the port after its request port;
    zf_client_events_endpoint derives that endpoint.
*/
#ifndef ZF_CLIENT_H_INCLUDED
#define ZF_CLIENT_H_INCLUDED

#include <czmq.h>

typedef struct _zf_client_t zf_client_t;

#define ZF_CLIENT_MAX_ENDPOINTS 4

//  After a round of the endpoints in which a registry answered that it is
//  passive (a pair failing over), wait this long before the next round.
#define ZF_CLIENT_PASSIVE_WAIT_MS 50

//  An endpoint whose connection is not made within this long is passed
//  over (the next round tries it again).
#define ZF_CLIENT_CONNECT_MS 250

//  Where the registry listens when neither a flag nor ZFLOW_REGISTRY says.
#define ZF_CLIENT_DEFAULT_ENDPOINT "tcp://127.0.0.1:5570"

//  The registry endpoints to use: flag if given and not empty, else the
//  ZFLOW_REGISTRY environment variable if set and not empty, else
//  ZF_CLIENT_DEFAULT_ENDPOINT. The result is flag, the environment's string
//  or the constant; it is not a copy.
const char *zf_client_endpoints_resolve (const char *flag);

//  endpoints: "tcp://a:5570" or "tcp://a:5570,tcp://b:5572". NULL if malformed.
zf_client_t *zf_client_new (const char *endpoints);

void zf_client_destroy (zf_client_t **self_p);

//  Sends one request body and waits up to timeout_ms in all for its reply
//  body, trying each endpoint in turn from the one that last answered. A
//  registry that answers ERROR passive stands by for its peer, and one that
//  takes no connection within ZF_CLIENT_CONNECT_MS is not there: the next
//  endpoint is tried at once, and rounds go on (ZF_CLIENT_PASSIVE_WAIT_MS
//  apart) until one answers otherwise or the time is up. Returns the reply
//  body frame (the caller destroys it), or NULL on timeout with
//  zf_client_error telling why.
zframe_t *zf_client_call (zf_client_t *self, const void *body, size_t size, int timeout_ms);

//  True if frame, a reply body, is ERROR passive (for callers that wait in
//  their own loop: they drop the request and ask the next endpoint).
bool zf_client_passive (zf_client_t *self, zframe_t *frame);

//  Waits up to timeout_ms (0: not at all) for one more reply body on the
//  socket of the last call (a further part of a multi-part reply) or send.
//  Returns the body frame (the caller destroys it), or NULL on timeout or if
//  no call left a socket open.
zframe_t *zf_client_recv (zf_client_t *self, int timeout_ms);

//  For a caller that waits in a loop of its own: sends one request body to
//  the current endpoint (on a fresh socket if the last one was dropped)
//  without waiting, and returns the socket its reply comes on, to poll;
//  NULL if it could not be sent, with zf_client_error telling why. The reply
//  is taken with zf_client_recv (a timeout of 0 does not wait); one that
//  does not come in time is given up with zf_client_drop.
zsock_t *zf_client_send (zf_client_t *self, const void *body, size_t size);

//  Gives up on the reply to the last request: closes its socket (a late
//  reply can never be taken for the answer to a later request) and makes
//  the next endpoint the current one.
void zf_client_drop (zf_client_t *self);

//  Handles one or more messages waiting on side.
typedef void (zf_client_side_fn) (zsock_t *side, void *arg);

//  While a call (or a send, or a further reply) waits, fn is called each
//  time side is readable: a service whose loop is held by the wait still
//  answers on side (the gateway serves its copy of the state while it asks
//  a registry that is starting, or gone, for a snapshot). fn must not use
//  this client. NULL side: none (the default).
void zf_client_set_side (zf_client_t *self, zsock_t *side, zf_client_side_fn *fn, void *arg);

//  The endpoint that answered last (or the first one).
const char *zf_client_endpoint (zf_client_t *self);

//  Why the last call failed.
const char *zf_client_error (zf_client_t *self);

//  Number of endpoints.
int zf_client_endpoint_count (zf_client_t *self);

//  The events endpoint of endpoint i: same host, port + 1. Returns 0 or -1.
int zf_client_events_endpoint (zf_client_t *self, int i, char *buf, size_t size);

#endif
