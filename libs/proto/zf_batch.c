/*  zf_batch.c - events with copied strings, split by count and bytes. */
#include "zf_batch.h"
#include "zf_arena.h"
#include "zf_array.h"

#include <assert.h>
#include <stdlib.h>

struct _zf_batch_t {
    zf_event_t *events; //  events held
    size_t count;       //  entries used
    size_t capacity;    //  entries allocated
    size_t bytes;       //  their encoded_max bytes
    zf_arena_t *arena;  //  their strings
};

bool
zf_batch_room (size_t count, size_t bytes, size_t event_bytes)
{
    //  An empty body takes any single event: one event never exceeds the
    //  frame limit (its text is bounded by ZF_MAX_FLOW_SIZE).
    if (count == 0) return true;
    return count < ZF_MAX_BATCH && bytes + event_bytes <= ZF_BATCH_BYTES;
}

void
zf_batch_plan_add (zf_batch_plan_t *plan, size_t event_bytes)
{
    assert (plan);
    if (plan->parts == 0 || !zf_batch_room (plan->count, plan->bytes, event_bytes)) {
        plan->parts++;
        plan->count = 0;
        plan->bytes = 0;
    }
    plan->count++;
    plan->bytes += event_bytes;
}

zf_batch_t *
zf_batch_new (void)
{
    zf_batch_t *self = calloc (1, sizeof (zf_batch_t));
    if (!self) return NULL;
    self->arena = zf_arena_new ();
    self->capacity = 64;
    self->events = malloc (self->capacity * sizeof (zf_event_t));
    if (!self->arena || !self->events) zf_batch_destroy (&self);
    return self;
}

void
zf_batch_destroy (zf_batch_t **self_p)
{
    assert (self_p);
    zf_batch_t *self = *self_p;
    if (!self) return;
    zf_arena_destroy (&self->arena);
    free (self->events);
    free (self);
    *self_p = NULL;
}

bool
zf_batch_fits (zf_batch_t *self, size_t event_bytes)
{
    assert (self);
    return zf_batch_room (self->count, self->bytes, event_bytes);
}

int
zf_batch_add (zf_batch_t *self, const zf_event_t *event, size_t event_bytes)
{
    assert (self && event);
    if (self->count == self->capacity && zf_array_grow ((void **)&self->events, &self->capacity,
                                                        self->count + 1, sizeof (zf_event_t)))
        return -1;
    zf_event_t *copy = &self->events[self->count];
    *copy = *event;
    copy->flow = zf_arena_strdup (self->arena, event->flow);
    copy->task = zf_arena_strdup (self->arena, event->task);
    copy->executor = zf_arena_strdup (self->arena, event->executor);
    copy->detail = zf_arena_strdup (self->arena, event->detail);
    copy->text = zf_arena_strndup (self->arena, event->text, event->text_size);
    if ((event->flow && !copy->flow) || (event->task && !copy->task) ||
        (event->executor && !copy->executor) || (event->detail && !copy->detail) ||
        (event->text && !copy->text))
        return -1;
    self->count++;
    self->bytes += event_bytes;
    return 0;
}

const zf_event_t *
zf_batch_events (zf_batch_t *self)
{
    assert (self);
    return self->events;
}

size_t
zf_batch_count (zf_batch_t *self)
{
    assert (self);
    return self->count;
}

const zf_event_t *
zf_batch_first (zf_batch_t *self)
{
    assert (self);
    return self->count ? &self->events[0] : NULL;
}

void
zf_batch_clear (zf_batch_t *self)
{
    assert (self);
    self->count = 0;
    self->bytes = 0;
    zf_arena_reset (self->arena);
}
