/*  zf_timers.c - one binary heap of deadlines for the whole engine.

    Runs waiting for their date, tasks waiting for their not_before and
    shards waiting out a retry delay all sit here; the registry sleeps until
    the top one. An entry is never searched for and removed when its target
    moves on another way (an operator skips a retrying shard): it stays until
    it comes to the top and is dropped there as no longer live, which keeps
    every operation O(log n).
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>

//  True if a comes before b.
static inline bool
s_before (const zf_timer_t *a, const zf_timer_t *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

//  Frees the heap.
void
zf_heap_destroy (zf_heap_t *self)
{
    free (self->items);
    self->items = NULL;
    self->count = self->capacity = 0;
}

//  Adds a deadline; 0, or -1 if out of memory.
int
zf_heap_push (zf_heap_t *self, const zf_timer_t *timer)
{
    if (self->count == self->capacity && zf_array_grow ((void **)&self->items, &self->capacity,
                                                        self->count + 1, sizeof (zf_timer_t)))
        return -1;
    zf_timer_t item = *timer;
    item.order = self->pushes++;
    size_t at = self->count++;
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (!s_before (&item, &self->items[parent])) break;
        self->items[at] = self->items[parent];
        at = parent;
    }
    self->items[at] = item;
    return 0;
}

//  The earliest deadline, or NULL.
const zf_timer_t *
zf_heap_top (zf_heap_t *self)
{
    return self->count ? &self->items[0] : NULL;
}

//  Removes the earliest deadline.
void
zf_heap_pop (zf_heap_t *self)
{
    assert (self->count);
    zf_timer_t last = self->items[--self->count];
    size_t at = 0;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= self->count) break;
        if (child + 1 < self->count && s_before (&self->items[child + 1], &self->items[child]))
            child++;
        if (!s_before (&self->items[child], &last)) break;
        self->items[at] = self->items[child];
        at = child;
    }
    if (self->count) self->items[at] = last;
}

//  True if the timer's target still waits for exactly this deadline.
bool
zf_core_timer_live (zf_engine_t *self, const zf_timer_t *timer)
{
    zf_run_t *run = self->runs[timer->run];
    if (run->archived) return false;
    switch (timer->kind) {
    case ZF_TIMER_RUN:
        return !run->begun && run->state == ZF_RS_WAITING && run->begins == timer->due;
    case ZF_TIMER_NOT_BEFORE: {
        zf_tinst_t *ti = &run->tasks[timer->task];
        return (ti->flags & ZF_TI_TIMER) && ti->due == timer->due;
    }
    case ZF_TIMER_RETRY: {
        uint32_t count;
        zf_shard_t *shard = zf_core_shards (run, timer->task, &count) +
                            (timer->shard == ZF_SHARD_WHOLE ? 0 : timer->shard);
        return shard->state == ZF_TS_RETRYING && shard->due == timer->due &&
               shard->attempt == timer->attempt;
    }
    default:
        return false;
    }
}
