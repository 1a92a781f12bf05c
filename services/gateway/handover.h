/*  handover.h - frames, and the queue from the ZeroMQ side to the web thread.

    A frame is one encoded WebSocket message. It is built once and sent to
    as many browsers as need it, so it counts its holders; frames are
    referenced and released on the web thread only (an actor hands a new
    frame over whole, through the queue's lock).

    The queue carries views (deltas, delta.h) and replies from the actors to
    the web thread. Pushing wakes the web thread through the wake function
    (lws_cancel_service in the gateway), once per batch: the web thread
    takes everything queued at each wake. Deltas are bounded in bytes: a
    delta that does not fit is dropped and the queue remembers it, so that
    the web thread asks the replica for everything once it caught up.
    Replies are not bounded here; the web thread bounds the requests that
    make them.
*/
#ifndef ZF_GW_HANDOVER_H_INCLUDED
#define ZF_GW_HANDOVER_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "delta.h"
#include "zf_attr.h"

//  One encoded WebSocket message.
typedef struct {
    int refs;      //  holders: the store's caches, browsers' queues
    size_t size;   //  bytes
    uint8_t *data; //  the msgpack message
} zf_gw_frame_t;

//  A frame holding data (taken: it was malloc'd); one reference.
zf_gw_frame_t *zf_gw_frame_new (uint8_t *data, size_t size);

//  A frame taking what sbuffer holds (the sbuffer is left empty).
zf_gw_frame_t *zf_gw_frame_take (msgpack_sbuffer *sbuffer);

//  One more holder; returns frame.
zf_gw_frame_t *zf_gw_frame_ref (zf_gw_frame_t *frame);

//  One holder less; frees the frame with the last. NULLs the pointer.
void zf_gw_frame_unref (zf_gw_frame_t **frame_p);

//  What the queue carries.
typedef enum {
    ZF_GW_ITEM_DELTA = 1, //  views for the store
    ZF_GW_ITEM_FRAME = 2  //  a message for one browser
} zf_gw_item_kind_t;

//  One queued item.
typedef struct _zf_gw_item_t {
    zf_gw_item_kind_t kind;     //  which of the two
    zf_gw_delta_t *delta;       //  ZF_GW_ITEM_DELTA
    zf_gw_frame_t *frame;       //  ZF_GW_ITEM_FRAME
    uint64_t client;            //  ZF_GW_ITEM_FRAME: the browser's connection id
    struct _zf_gw_item_t *next; //  the next in the queue
} zf_gw_item_t;

//  Frees an item and whatever it still holds; NULLs the pointer.
void zf_gw_item_destroy (zf_gw_item_t **item_p);

typedef struct _zf_gw_handover_t zf_gw_handover_t;

//  Wakes the web thread; called without the queue's lock held.
typedef void (zf_gw_wake_fn) (void *arg);

//  A queue holding at most max_bytes of deltas.
zf_gw_handover_t *zf_gw_handover_new (size_t max_bytes);

void zf_gw_handover_destroy (zf_gw_handover_t **self_p);

//  Sets the wake function (before any push).
void zf_gw_handover_set_wake (zf_gw_handover_t *self, zf_gw_wake_fn *fn, void *arg);

//  Queues a delta (taken). Unless force, a delta that would pass the bound
//  is dropped and the overflow remembered; so is one that finds no memory.
//  Returns 0, -1 if dropped at the bound, -2 if dropped for want of memory.
ZF_MUST_USE int zf_gw_handover_push_delta (zf_gw_handover_t *self, zf_gw_delta_t **delta_p,
                                           bool force);

//  Remembers an overflow without a delta (one could not even be made) and
//  wakes the web thread, which then asks for everything again.
void zf_gw_handover_overflow (zf_gw_handover_t *self);

//  Queues a frame (taken) for the browser with connection id client.
//  Returns 0, or -1 if it found no memory (the frame is dropped).
ZF_MUST_USE int zf_gw_handover_push_frame (zf_gw_handover_t *self, uint64_t client,
                                           zf_gw_frame_t **frame_p);

//  Takes everything queued, oldest first (NULL if nothing). *overflowed
//  tells whether a delta was dropped since the last take.
zf_gw_item_t *zf_gw_handover_take (zf_gw_handover_t *self, bool *overflowed);

#endif
