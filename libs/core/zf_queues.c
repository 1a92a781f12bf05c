/*  zf_queues.c - first-in first-out rings: the ready queue and the success list.

    The ready queue names task instances (or single shards) that became
    ready, in the order they did. Entries are not removed when their shards
    move on through another path (a replica sees the dispatch as an event,
    an operator skips a ready task): the consumer drops such stale entries
    when it meets them, and a compaction pass drops them once they outnumber
    the live ones, so the queue stays proportional to the ready work. The
    success list holds successes in seq order, so a confirmation walks only
    the successes it confirms.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Ready entries below this many are never compacted: the pass would cost
//  more than the stale entries do.
#define S_COMPACT_MIN 1024

//  Prepares an empty ring of items of item_size bytes.
void
zf_ring_init (zf_ring_t *self, size_t item_size)
{
    memset (self, 0, sizeof (*self));
    self->size = item_size;
}

//  Frees the ring's items.
void
zf_ring_destroy (zf_ring_t *self)
{
    free (self->items);
    memset (self, 0, sizeof (*self));
}

//  Appends an item; 0, or -1 if out of memory.
int
zf_ring_push (zf_ring_t *self, const void *item)
{
    if (self->count == self->capacity &&
        zf_array_grow_ring ((void **)&self->items, &self->capacity, self->head, self->count,
                            self->count + 1, self->size))
        return -1;
    size_t at = (self->head + self->count) & (self->capacity - 1);
    memcpy (self->items + at * self->size, item, self->size);
    self->count++;
    return 0;
}

//  The first item, or NULL if empty.
void *
zf_ring_peek (zf_ring_t *self)
{
    return self->count ? self->items + self->head * self->size : NULL;
}

//  The item at index from the head (index < count).
void *
zf_ring_at (zf_ring_t *self, size_t index)
{
    assert (index < self->count);
    return self->items + ((self->head + index) & (self->capacity - 1)) * self->size;
}

//  Removes the first item.
void
zf_ring_pop (zf_ring_t *self)
{
    assert (self->count);
    self->head = (self->head + 1) & (self->capacity - 1);
    self->count--;
}

//  True if the entry still names a ready shard.
bool
zf_core_entry_live (zf_engine_t *self, const zf_qentry_t *entry)
{
    zf_run_t *run = self->runs[entry->run];
    if (run->archived || run->tasks[entry->task].counts[ZF_TS_READY] == 0) return false;
    if (entry->shard == ZF_SHARD_WHOLE) return true;
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, entry->task, &count);
    return shards[entry->shard].state == ZF_TS_READY;
}

//  Drops stale ready entries in place, keeping the order of the others.
void
zf_core_ready_compact (zf_engine_t *self)
{
    zf_ring_t *ring = &self->ready;
    if (ring->count < S_COMPACT_MIN || ring->count < 2 * self->ready_shards) return;
    size_t kept = 0;
    for (size_t i = 0; i < ring->count; i++) {
        zf_qentry_t *entry = zf_ring_at (ring, i);
        if (zf_core_entry_live (self, entry)) {
            if (kept != i) memcpy (zf_ring_at (ring, kept), entry, sizeof (zf_qentry_t));
            kept++;
        }
    }
    ring->count = kept;
}
