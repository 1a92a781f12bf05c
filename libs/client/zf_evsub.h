/*  zf_evsub.h - a subscription to one publisher's events that knows when it
    is connected.

    PUB/SUB drops whatever is published while a subscriber is not connected,
    so a replica that subscribes and then asks for a snapshot (the Clone
    pattern) must know when the subscription is in place, and must know of
    every reconnect, after which it has to repair. This class is a SUB socket
    with a socket monitor beside it: it can wait (bounded) for the first
    connection and tells reconnects apart from it.
*/
#ifndef ZF_EVSUB_H_INCLUDED
#define ZF_EVSUB_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

typedef struct _zf_evsub_t zf_evsub_t;

//  A SUB socket connected to endpoint, subscribed to nothing yet (subscribe
//  before waiting). NULL if the endpoint is malformed.
zf_evsub_t *zf_evsub_new (const char *endpoint);

void zf_evsub_destroy (zf_evsub_t **self_p);

//  Subscribes to topics starting with prefix ("" for all).
void zf_evsub_subscribe (zf_evsub_t *self, const char *prefix);

//  The SUB socket, to poll and receive [topic][body] from.
zsock_t *zf_evsub_sock (zf_evsub_t *self);

//  Receives one [topic][body] message. Returns 0 with *topic_p and *body_p
//  set (the caller frees both), 1 if the message had another shape (it is
//  dropped; *topic_p is its first frame, or NULL), -1 if none came.
int zf_evsub_recv (zf_evsub_t *self, char **topic_p, zframe_t **body_p);

//  The monitor, to poll; call zf_evsub_on_monitor when it is readable.
zactor_t *zf_evsub_monitor (zf_evsub_t *self);

//  Handles one monitor message. Returns 1 if it reports a reconnect (a
//  connection after the first: events may have been missed), else 0.
int zf_evsub_on_monitor (zf_evsub_t *self);

//  Waits up to timeout_ms for the first connection. Returns true once
//  connected, false on timeout or interrupt.
bool zf_evsub_wait_connected (zf_evsub_t *self, int timeout_ms);

//  True once the socket has connected.
bool zf_evsub_connected (zf_evsub_t *self);

//  The endpoint, for messages.
const char *zf_evsub_endpoint (zf_evsub_t *self);

#endif
