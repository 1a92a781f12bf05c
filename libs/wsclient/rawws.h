/*  rawws.h - a lean WebSocket client for many connections: load test, benchmark.

    libwebsockets' client parses what it receives a byte at a time, which
    makes a test's thousand clients slower than the gateway they measure.
    These clients only receive: after the upgrade (sent whole, read back to
    its status line) they parse the server's frames in blocks straight out
    of the socket buffer, reassemble fragments and hand whole messages over.
    One epoll set serves them all on the calling thread; rw_pool_run waits
    on it until a condition holds or a deadline passes.
*/
#ifndef RAWWS_H_INCLUDED
#define RAWWS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _rw_pool_t rw_pool_t;
typedef struct _rw_conn_t rw_conn_t;

//  Where a connection stands.
typedef enum {
    RW_CONNECTING, //  connecting or upgrading
    RW_OPEN,       //  receiving
    RW_CLOSED,     //  closed after it was open
    RW_FAILED      //  the connection or the upgrade failed
} rw_state_t;

//  Receives one whole message.
typedef void (rw_message_fn) (rw_conn_t *conn, const uint8_t *data, size_t size, bool binary,
                              void *arg);

rw_pool_t *rw_pool_new (void);

//  Closes every connection and frees everything.
void rw_pool_destroy (rw_pool_t **self_p);

//  Starts a connection to 127.0.0.1:port, upgrading at path with
//  subprotocol zflow.v1 and the Origin header origin. NULL if the socket
//  cannot be made.
rw_conn_t *rw_connect (rw_pool_t *self, int port, const char *path, const char *origin,
                       rw_message_fn *fn, void *arg);

//  Serves every connection until done (arg) holds or timeout_ms passes.
//  Returns true if done held.
bool rw_pool_run (rw_pool_t *self, bool (*done) (void *arg), void *arg, int timeout_ms);

//  The connection's state.
rw_state_t rw_state (rw_conn_t *conn);

#endif
