/*  link.h - the registry's socket to the dispatcher, around the session.

    The thin shell of session.h: one DEALER at a time, the monitor that
    tells when its connection comes and goes, the heartbeat timer and the
    back-off timer, all in the actor's loop. Messages, connection changes
    and timer ticks go to the session; after each, the link calls its
    owner's done function (the end of the actor's turn). The session asks
    for connections and sends through zf_link_connect and zf_link_send,
    which its owner wires into zf_session_ops_t.
*/
#ifndef ZF_LINK_H_INCLUDED
#define ZF_LINK_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "session.h"
#include "zf_clock.h"

typedef struct _zf_link_t zf_link_t;

//  Called after the link handled something: a message, a connection
//  change, a timer.
typedef void (zf_link_done_fn) (void *arg);

//  A link to the dispatcher at endpoint for session (borrowed), in loop
//  (borrowed), ticking the session every heartbeat_ms; clock (borrowed) is
//  the session's. No socket until zf_link_connect. NULL if out of memory.
zf_link_t *zf_link_new (zloop_t *loop, const char *endpoint, zf_clock_t *clock,
                        int64_t heartbeat_ms, zf_session_t *session, zf_link_done_fn *done,
                        void *arg);

//  Closes the socket and ends the timers; idempotent.
void zf_link_destroy (zf_link_t **self_p);

//  zf_session_ops_t.connect: closes the socket, if any, and connects a
//  fresh DEALER (its messages wait in it until the connection is made).
//  *watched says whether a monitor watches it. Returns 0 or -1 (logged).
int zf_link_connect (zf_link_t *self, bool *watched);

//  zf_session_ops_t.send: one Majordomo client message, built by zf_mdp,
//  sent without waiting. Returns 0, or -1 if there is no socket or it
//  refused the message.
int zf_link_send (zf_link_t *self, uint8_t command, const char *service, const void *body,
                  size_t size);

#endif
