/*  zf_socket.c - every ZeroMQ socket of zflow, made with its limits. */
#include "zf_socket.h"
#include "zf_limits.h"

int64_t
zf_socket_max_frame (int type)
{
    if (type == ZMQ_XPUB || type == ZMQ_PUB) return ZF_MAX_SUBSCRIPTION;
    return ZF_MAX_FRAME_SIZE;
}

zsock_t *
zf_socket_new (int type)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) return NULL;
    zsock_set_maxmsgsize (sock, (int)zf_socket_max_frame (type));
    zsock_set_linger (sock, 0);
    return sock;
}
