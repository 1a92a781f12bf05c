/*  handover.c - refcounted frames and the locked queue to the web thread. */
#include "handover.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

zf_gw_frame_t *
zf_gw_frame_new (uint8_t *data, size_t size)
{
    assert (data);
    zf_gw_frame_t *frame = malloc (sizeof *frame);
    if (!frame) {
        free (data);
        return NULL;
    }
    frame->refs = 1;
    frame->size = size;
    frame->data = data;
    return frame;
}

zf_gw_frame_t *
zf_gw_frame_take (msgpack_sbuffer *sbuffer)
{
    assert (sbuffer);
    size_t size = sbuffer->size;
    uint8_t *data = (uint8_t *)msgpack_sbuffer_release (sbuffer);
    if (!data) return NULL;
    return zf_gw_frame_new (data, size);
}

zf_gw_frame_t *
zf_gw_frame_ref (zf_gw_frame_t *frame)
{
    assert (frame && frame->refs > 0);
    frame->refs++;
    return frame;
}

void
zf_gw_frame_unref (zf_gw_frame_t **frame_p)
{
    assert (frame_p);
    zf_gw_frame_t *frame = *frame_p;
    if (!frame) return;
    assert (frame->refs > 0);
    if (--frame->refs == 0) {
        free (frame->data);
        free (frame);
    }
    *frame_p = NULL;
}

void
zf_gw_item_destroy (zf_gw_item_t **item_p)
{
    assert (item_p);
    zf_gw_item_t *item = *item_p;
    if (!item) return;
    zf_gw_delta_destroy (&item->delta);
    zf_gw_frame_unref (&item->frame);
    free (item);
    *item_p = NULL;
}

struct _zf_gw_handover_t {
    pthread_mutex_t lock; //  guards everything below
    zf_gw_item_t *head;   //  oldest item, or NULL
    zf_gw_item_t *tail;   //  newest item
    size_t bytes;         //  bytes of the deltas queued
    size_t max_bytes;     //  bound on bytes, unless forced
    bool overflowed;      //  a delta was dropped since the last take
    zf_gw_wake_fn *wake;  //  wakes the web thread
    void *wake_arg;       //  its argument
};

zf_gw_handover_t *
zf_gw_handover_new (size_t max_bytes)
{
    zf_gw_handover_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->max_bytes = max_bytes;
    return self;
}

void
zf_gw_handover_destroy (zf_gw_handover_t **self_p)
{
    assert (self_p);
    zf_gw_handover_t *self = *self_p;
    if (!self) return;
    zf_gw_item_t *item = self->head;
    while (item) {
        zf_gw_item_t *next = item->next;
        zf_gw_item_destroy (&item);
        item = next;
    }
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
zf_gw_handover_set_wake (zf_gw_handover_t *self, zf_gw_wake_fn *fn, void *arg)
{
    assert (self);
    self->wake = fn;
    self->wake_arg = arg;
}

//  Appends an item; wakes the web thread if the queue was empty (it takes
//  everything at each wake, so one wake per batch is enough).
static void
s_append (zf_gw_handover_t *self, zf_gw_item_t *item, size_t bytes)
{
    pthread_mutex_lock (&self->lock);
    bool was_empty = self->head == NULL;
    if (self->tail)
        self->tail->next = item;
    else
        self->head = item;
    self->tail = item;
    self->bytes += bytes;
    pthread_mutex_unlock (&self->lock);
    if (was_empty && self->wake) self->wake (self->wake_arg);
}

int
zf_gw_handover_push_delta (zf_gw_handover_t *self, zf_gw_delta_t **delta_p, bool force)
{
    assert (self);
    assert (delta_p && *delta_p);
    size_t bytes = zf_gw_delta_bytes (*delta_p);
    pthread_mutex_lock (&self->lock);
    bool fits = force || self->bytes + bytes <= self->max_bytes;
    if (!fits) self->overflowed = true;
    pthread_mutex_unlock (&self->lock);
    zf_gw_item_t *item = fits ? calloc (1, sizeof *item) : NULL;
    if (!item) {
        zf_gw_delta_destroy (delta_p);
        if (!fits) return -1;
        zf_gw_handover_overflow (self);
        return -2;
    }
    item->kind = ZF_GW_ITEM_DELTA;
    item->delta = *delta_p;
    *delta_p = NULL;
    s_append (self, item, bytes);
    return 0;
}

void
zf_gw_handover_overflow (zf_gw_handover_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->overflowed = true;
    pthread_mutex_unlock (&self->lock);
    if (self->wake) self->wake (self->wake_arg);
}

int
zf_gw_handover_push_frame (zf_gw_handover_t *self, uint64_t client, zf_gw_frame_t **frame_p)
{
    assert (self);
    assert (frame_p && *frame_p);
    zf_gw_item_t *item = calloc (1, sizeof *item);
    if (!item) {
        zf_gw_frame_unref (frame_p);
        return -1;
    }
    item->kind = ZF_GW_ITEM_FRAME;
    item->frame = *frame_p;
    item->client = client;
    *frame_p = NULL;
    s_append (self, item, 0);
    return 0;
}

zf_gw_item_t *
zf_gw_handover_take (zf_gw_handover_t *self, bool *overflowed)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    zf_gw_item_t *head = self->head;
    self->head = self->tail = NULL;
    self->bytes = 0;
    if (overflowed) *overflowed = self->overflowed;
    self->overflowed = false;
    pthread_mutex_unlock (&self->lock);
    return head;
}
