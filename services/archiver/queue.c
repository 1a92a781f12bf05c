/*  queue.c - a ring of owned event copies, bounded in events and bytes. */
#include "queue.h"
#include "zf_array.h"
#include "zf_strblock.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _zf_queue_t {
    zf_item_t **ring;  //  items, oldest at head
    size_t capacity;   //  slots in ring (a power of two)
    size_t head;       //  index of the oldest
    size_t count;      //  items held
    size_t bytes;      //  their sizes summed
    size_t max_events; //  at most this many items
    size_t max_bytes;  //  at most this many bytes
};

zf_item_t *
zf_item_new (zf_proto_encoder_t *enc, const zf_event_t *event, zf_proto_error_t *err)
{
    assert (enc);
    assert (event);
    if (zf_event_encode (enc, event, 1, err) != 0) return NULL;
    size_t body_size = zf_proto_encoder_size (enc);
    size_t text_size = event->text ? event->text_size + 1 : 0;
    size_t size = sizeof (zf_item_t) + zf_strblock_size (event->flow) +
                  zf_strblock_size (event->task) + zf_strblock_size (event->executor) +
                  zf_strblock_size (event->detail) + text_size + body_size;
    zf_item_t *self = malloc (size);
    if (!self) {
        snprintf (err->text, sizeof err->text, "out of memory");
        return NULL;
    }
    self->event = *event;
    self->size = size;
    self->arrived = 0;
    char *at = (char *)(self + 1);
    self->event.flow = zf_strblock_place (&at, event->flow);
    self->event.task = zf_strblock_place (&at, event->task);
    self->event.executor = zf_strblock_place (&at, event->executor);
    self->event.detail = zf_strblock_place (&at, event->detail);
    self->event.text = zf_strblock_place_n (&at, event->text, event->text_size);
    memcpy (at, zf_proto_encoder_data (enc), body_size);
    self->body = at;
    self->body_size = body_size;
    return self;
}

void
zf_item_destroy (zf_item_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

zf_queue_t *
zf_queue_new (size_t max_events, size_t max_bytes)
{
    assert (max_events > 0);
    zf_queue_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->max_events = max_events;
    self->max_bytes = max_bytes;
    return self;
}

void
zf_queue_destroy (zf_queue_t **self_p)
{
    assert (self_p);
    zf_queue_t *self = *self_p;
    if (!self) return;
    zf_queue_clear (self);
    free (self->ring);
    free (self);
    *self_p = NULL;
}

bool
zf_queue_fits (zf_queue_t *self, size_t size)
{
    assert (self);
    //  One item always fits in an empty queue, however big: a flow file
    //  larger than the byte limit must still get through.
    return self->count == 0 ||
           (self->count < self->max_events && self->bytes + size <= self->max_bytes);
}

int
zf_queue_push (zf_queue_t *self, zf_item_t **item_p)
{
    assert (self);
    assert (item_p && *item_p);
    zf_item_t *item = *item_p;
    *item_p = NULL;
    if (!zf_queue_fits (self, item->size)) {
        zf_item_destroy (&item);
        return -1;
    }
    if (self->count == self->capacity &&
        zf_array_grow_ring ((void **)&self->ring, &self->capacity, self->head, self->count,
                            self->count + 1, sizeof *self->ring)) {
        zf_item_destroy (&item);
        return -1;
    }
    self->ring[(self->head + self->count) & (self->capacity - 1)] = item;
    self->count++;
    self->bytes += item->size;
    return 0;
}

size_t
zf_queue_count (zf_queue_t *self)
{
    assert (self);
    return self->count;
}

size_t
zf_queue_bytes (zf_queue_t *self)
{
    assert (self);
    return self->bytes;
}

size_t
zf_queue_room (zf_queue_t *self)
{
    assert (self);
    return self->max_events - self->count;
}

const zf_item_t *
zf_queue_at (zf_queue_t *self, size_t index)
{
    assert (self);
    if (index >= self->count) return NULL;
    return self->ring[(self->head + index) & (self->capacity - 1)];
}

void
zf_queue_pop (zf_queue_t *self, size_t count)
{
    assert (self);
    assert (count <= self->count);
    for (size_t i = 0; i < count; i++) {
        zf_item_t *item = self->ring[self->head];
        self->bytes -= item->size;
        zf_item_destroy (&item);
        self->head = (self->head + 1) & (self->capacity - 1);
    }
    self->count -= count;
    if (self->count == 0) self->head = 0;
}

void
zf_queue_clear (zf_queue_t *self)
{
    assert (self);
    zf_queue_pop (self, self->count);
}
