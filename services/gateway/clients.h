/*  clients.h - the browsers connected over WebSocket, on the web thread.

    A browser is sent "hello", then a snapshot as soon as the store has a
    state, then updates: at each flush (at most every ZF_GW_FLUSH_MS) every
    browser whose output is empty and whose version is behind the store's
    gets one update from its version to now (store.c), which makes a burst
    of changes a few frames each listing the latest TASKVIEW of every task
    that changed. A browser still writing is left alone and gets a bigger
    update later; one too far behind gets a snapshot instead (a re-sync).
    Output goes out in WebSocket fragments of ZF_GW_WRITE_CHUNK bytes, one
    socket write at a time while the socket takes them.

    What a browser sends is read up to ZF_GW_MAX_FRAME_IN (more closes the
    connection), decoded (wsmsg.c) if it is binary and within
    ZF_GW_MAX_MESSAGE_IN, and otherwise answered with an error reply; the
    ZF_GW_MAX_BAD_FRAMES-th bad message closes it. Actions need the token,
    compared in constant time. Requests go on through the forward function
    (to the actors) and their answers come back through zf_gw_clients_answer.
*/
#ifndef ZF_GW_CLIENTS_H_INCLUDED
#define ZF_GW_CLIENTS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover.h"
#include "metrics.h"
#include "store.h"
#include "wsmsg.h"

struct lws;

typedef struct _zf_gw_clients_t zf_gw_clients_t;
typedef struct _zf_gw_client_t zf_gw_client_t;

//  Sends a request (taken on success) to the actor that answers it.
//  Returns 0, or -1 if it cannot be taken now.
typedef int (zf_gw_forward_fn) (zf_gw_request_t *req, void *arg);

//  A browser finished writing while behind the store: a flush is due.
typedef void (zf_gw_behind_fn) (void *arg);

//  What the browsers' side needs.
typedef struct {
    const char *token;         //  actions need it; NULL: every action is refused
    bool read_only_open;       //  viewing needs no token (told in hello)
    zf_gw_store_t *store;      //  the views
    zf_gw_metrics_t *metrics;  //  browsers, re-syncs, bad frames
    zf_gw_forward_fn *forward; //  where requests go
    zf_gw_behind_fn *behind;   //  where "a flush is due" goes
    void *arg;                 //  their argument
} zf_gw_clients_config_t;

zf_gw_clients_t *zf_gw_clients_new (const zf_gw_clients_config_t *cfg);

//  Frees the table; connections must be closed already. Idempotent.
void zf_gw_clients_destroy (zf_gw_clients_t **self_p);

//  A WebSocket was established: queues hello (and the snapshot).
zf_gw_client_t *zf_gw_clients_open (zf_gw_clients_t *self, struct lws *wsi);

//  The connection closed: forgets the browser.
void zf_gw_clients_close (zf_gw_clients_t *self, zf_gw_client_t *client);

//  Bytes of a message arrived. Returns 0, or -1 to close the connection.
int zf_gw_clients_receive (zf_gw_clients_t *self, zf_gw_client_t *client, const void *data,
                           size_t size);

//  The socket can take more. Returns 0, or -1 to close the connection.
int zf_gw_clients_writable (zf_gw_clients_t *self, zf_gw_client_t *client);

//  Sends snapshots and updates to every browser that can take one.
void zf_gw_clients_flush (zf_gw_clients_t *self);

//  An actor answered the browser with connection id: queues the frame (taken).
void zf_gw_clients_answer (zf_gw_clients_t *self, uint64_t id, zf_gw_frame_t **frame_p);

//  Queues a frame for every browser that holds a snapshot.
void zf_gw_clients_broadcast (zf_gw_clients_t *self, zf_gw_frame_t *frame);

//  Browsers connected.
size_t zf_gw_clients_count (zf_gw_clients_t *self);

//  True if given equals expected, in time that does not depend on where
//  they differ. False if either is NULL.
bool zf_gw_token_equal (const char *expected, const char *given);

#endif
