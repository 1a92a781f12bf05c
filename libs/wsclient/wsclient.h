/*  wsclient.h - WebSocket clients for the gateway's tests and benchmark.

    One libwebsockets client context holds any number of connections and
    runs on the calling thread: ws_pool_run services it until a condition
    holds or a deadline passes, re-checking the condition after every batch
    of events (never on a timer). Messages are reassembled from fragments
    and handed over whole; sends are queued and go out in fragments of
    WS_FRAGMENT bytes, so a test can send a message of any size.
*/
#ifndef WSCLIENT_H_INCLUDED
#define WSCLIENT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Bytes per fragment sent.
#define WS_FRAGMENT (64 * 1024)

typedef struct _ws_pool_t ws_pool_t;
typedef struct _ws_conn_t ws_conn_t;

//  Where a connection stands.
typedef enum {
    WS_CONNECTING, //  the upgrade is under way
    WS_OPEN,       //  established
    WS_CLOSED,     //  closed after it was open
    WS_FAILED      //  the upgrade failed or was refused
} ws_state_t;

//  Receives one whole message (binary says which kind it was).
typedef void (ws_message_fn) (ws_conn_t *conn, const uint8_t *data, size_t size, bool binary,
                              void *arg);

//  True when a test's wait is over.
typedef bool (ws_done_fn) (void *arg);

//  A client context. NULL if lws cannot make one.
ws_pool_t *ws_pool_new (void);

//  Closes every connection and frees everything.
void ws_pool_destroy (ws_pool_t **self_p);

//  Opens a connection to 127.0.0.1:port at path ("/ws?token=..."), with
//  an Origin header unless origin is NULL (lws puts "http://" in front of
//  it: pass "127.0.0.1:8080"), asking for subprotocol unless it is NULL.
//  Messages go to fn. NULL if lws refused at once.
ws_conn_t *ws_connect (ws_pool_t *self, int port, const char *path, const char *origin,
                       const char *subprotocol, ws_message_fn *fn, void *arg);

//  Queues a message (copied): binary or text.
void ws_send (ws_conn_t *conn, const void *data, size_t size, bool binary);

//  Services the pool until done (arg) holds or timeout_ms passes. Returns
//  true if done held.
bool ws_pool_run (ws_pool_t *self, ws_done_fn *done, void *arg, int timeout_ms);

//  The connection's state; the close code the server sent (0 if none).
ws_state_t ws_state (ws_conn_t *conn);
int ws_close_code (ws_conn_t *conn);

//  The user's pointer of a connection.
void ws_set_user (ws_conn_t *conn, void *user);
void *ws_user (ws_conn_t *conn);

//  Raises the soft limit on open files to at least want (up to the hard
//  limit). Returns the limit now.
long ws_raise_fd_limit (long want);

//  Sends a raw HTTP request line and headers to 127.0.0.1:port and returns
//  the status of the response (101, 403...), or -1.
int ws_http_status (int port, const char *request);

//  GETs path from 127.0.0.1:port: returns the status, and the body in a
//  new string (*body, may be NULL).
int ws_http_get (int port, const char *path, char **body);

#endif
