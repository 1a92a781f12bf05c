/*  zf_socket.h - every ZeroMQ socket of zflow, made with its limits.

    A socket that reads from the network must not let a peer decide how much
    memory it takes. libzmq reads a frame's size before the frame, so a
    socket with ZMQ_MAXMSGSIZE set drops the connection of a peer that
    announces a frame over the limit without ever allocating it. Every
    socket zflow opens over TCP comes from here:

      XPUB, PUB   read only subscriptions: ZF_MAX_SUBSCRIPTION bytes
      the others  read protocol frames: ZF_MAX_FRAME_SIZE bytes, which no
                  frame zflow sends exceeds (the encoders refuse larger
                  bodies and split snapshots into parts below it)

    What a socket queues for one peer (its high-water marks) stays the
    caller's choice; docs/PROTOCOL.md, "Socket limits", lists both.
*/
#ifndef ZF_SOCKET_H_INCLUDED
#define ZF_SOCKET_H_INCLUDED

#include <czmq.h>

//  A new socket of type (ZMQ_ROUTER, ZMQ_DEALER, ...) with its maximum
//  frame size set and linger 0. NULL if libzmq cannot make one.
zsock_t *zf_socket_new (int type);

//  The largest frame a socket of type accepts, bytes.
int64_t zf_socket_max_frame (int type);

#endif
