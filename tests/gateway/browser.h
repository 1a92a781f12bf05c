/*  browser.h - browsers for the gateway's integration tests (cmocka).

    A browser is a WebSocket connection (wsclient.h) opened as the
    dashboard opens it, with the Origin the gateway allows and the zflow.v1
    subprotocol, and the model of what the gateway sent it (model.h). A
    test's browsers share one pool of connections (browsers_t), which keeps
    them until it is destroyed.

    The waits are bounded by BROWSER_WAIT_MS and service the pool until
    the gateway has sent what is awaited, never on a timer; only /healthz,
    which nothing pushes, is asked again until it answers. A wait that
    runs out, or a reply that is not the one wanted, fails the calling test
    with cmocka's fail_msg. The tests read a browser's fields directly.
*/
#ifndef BROWSER_H_INCLUDED
#define BROWSER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "wsclient.h"

//  Bound of each wait, in ms.
#define BROWSER_WAIT_MS 60000

//  How often browser_health asks, in ms: the gateway learns the registry's
//  seq once a second, so health changes are not pushed.
#define BROWSER_HEALTH_EVERY_MS 50

//  A browser: its connection and what it holds.
typedef struct {
    ws_pool_t *pool;     //  the pool that services its connection
    ws_conn_t *conn;     //  the connection
    model_t *model;      //  what it was sent
    int protocol_errors; //  messages that were not msgpack maps with "t"
} browser_t;

//  The browsers of a test and the pool of their connections.
typedef struct _browsers_t browsers_t;

//  An empty set of browsers with a new pool. Fails the test if the client
//  library cannot make one.
browsers_t *browsers_new (void);

//  Closes every connection of the pool, then frees the browsers.
void browsers_destroy (browsers_t **self_p);

//  The pool, for other clients of the test (they are closed with it).
ws_pool_t *browsers_pool (browsers_t *self);

//  Connects a browser to the gateway on 127.0.0.1:port at path ("/ws",
//  "/ws?token=...") and keeps it. Fails the test if the client library
//  refuses at once.
browser_t *browsers_connect (browsers_t *self, int port, const char *path);

//  The index-th browser connected (from 0). Fails the test if there is none.
browser_t *browsers_at (browsers_t *self, int index);

//  Services the browser's pool until done (arg) holds, up to
//  BROWSER_WAIT_MS. Returns true if it held.
bool browser_wait (browser_t *self, ws_done_fn *done, void *arg);

//  Waits until the browser got count messages of type in all.
void browser_await (browser_t *self, const char *type, int count);

//  Sends a message built from specs (NULL-ended, see mp_build) and waits
//  for one more message of reply_type.
void browser_request (browser_t *self, const char *reply_type, ...) __attribute__ ((sentinel));

//  Checks the last reply: its id and ok must be these. Returns its message.
const char *browser_reply (browser_t *self, uint64_t id, bool ok);

//  The value of the line "name value" of the /metrics page of the gateway
//  on 127.0.0.1:port. Fails the test if there is none.
long browser_metric (int port, const char *name);

//  Asks /healthz of the gateway on 127.0.0.1:port every
//  BROWSER_HEALTH_EVERY_MS until it answers status with a body that starts
//  with prefix (a whole line, "\n" included, for an exact answer). Fails
//  the test with the last answer if it does not within BROWSER_WAIT_MS.
void browser_health (int port, int status, const char *prefix);

#endif
