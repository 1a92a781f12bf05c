/*  queue.h - events received and not yet durable, in seq order.

    Each item owns a copy of its event (strings included) and the EVENTS
    body of that one event, which becomes its journal row. Items wait here
    until a batch holding them commits; a batch that fails leaves them in
    place for the retry. The queue is bounded in events and bytes: when it
    is full the follower stops taking events (they stay fetchable from the
    registry) instead of growing.
*/
#ifndef ZF_ARCHIVER_QUEUE_H_INCLUDED
#define ZF_ARCHIVER_QUEUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_proto.h"

//  One event held.
typedef struct {
    zf_event_t event; //  the event; its strings point into this item
    const void *body; //  EVENTS body of this one event
    size_t body_size; //  its bytes
    size_t size;      //  bytes the item takes
    int64_t arrived;  //  monotonic ms when it was received
} zf_item_t;

typedef struct _zf_queue_t zf_queue_t;

//  A copy of event with its body encoded by enc; arrived is stamped by the
//  caller. NULL if out of memory or the event does not encode (err says why).
zf_item_t *zf_item_new (zf_proto_encoder_t *enc, const zf_event_t *event, zf_proto_error_t *err);

void zf_item_destroy (zf_item_t **self_p);

//  A queue that holds at most max_events items and max_bytes bytes.
zf_queue_t *zf_queue_new (size_t max_events, size_t max_bytes);

void zf_queue_destroy (zf_queue_t **self_p);

//  True if an item of size bytes fits now.
bool zf_queue_fits (zf_queue_t *self, size_t size);

//  Appends an item, taking it. Returns 0, or -1 if it does not fit (the
//  item is then destroyed).
int zf_queue_push (zf_queue_t *self, zf_item_t **item_p);

//  Items held, and their bytes.
size_t zf_queue_count (zf_queue_t *self);
size_t zf_queue_bytes (zf_queue_t *self);

//  Room left, in events.
size_t zf_queue_room (zf_queue_t *self);

//  The item at index (0 = oldest), or NULL.
const zf_item_t *zf_queue_at (zf_queue_t *self, size_t index);

//  Destroys the count oldest items.
void zf_queue_pop (zf_queue_t *self, size_t count);

//  Destroys every item.
void zf_queue_clear (zf_queue_t *self);

#endif
