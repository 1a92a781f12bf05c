/*  journal.c - published bodies in a circular byte buffer. */
#include "journal.h"
#include "zf_array.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Bytes of the buffer at first; it doubles from here up to the budget.
#define S_INITIAL_BYTES (1024 * 1024)

//  Where one body lies.
typedef struct {
    uint64_t first; //  seq of its first event
    uint32_t count; //  events in it
    size_t offset;  //  where its bytes start in the buffer
    size_t size;    //  its bytes
} s_entry_t;

struct _zf_journal_t {
    size_t max_events;  //  event budget
    size_t max_bytes;   //  byte budget
    char *data;         //  the circular buffer
    size_t capacity;    //  its bytes
    s_entry_t *entries; //  bodies, a ring, oldest at head
    size_t head;        //  index of the oldest in entries
    size_t count;       //  bodies held
    size_t slots;       //  room in entries
    uint64_t events;    //  events in the bodies held
};

zf_journal_t *
zf_journal_new (size_t max_events, size_t max_bytes)
{
    assert (max_events > 0 && max_bytes > 0);
    zf_journal_t *self = calloc (1, sizeof (zf_journal_t));
    if (!self) return NULL;
    self->max_events = max_events;
    self->max_bytes = max_bytes;
    return self;
}

void
zf_journal_destroy (zf_journal_t **self_p)
{
    assert (self_p);
    zf_journal_t *self = *self_p;
    if (!self) return;
    free (self->data);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

//  The body at index (0 = oldest).
static s_entry_t *
s_at (zf_journal_t *self, size_t index)
{
    return &self->entries[(self->head + index) % self->slots];
}

//  Drops the oldest body.
static void
s_drop_oldest (zf_journal_t *self)
{
    assert (self->count > 0);
    self->events -= s_at (self, 0)->count;
    self->head = (self->head + 1) % self->slots;
    self->count--;
    if (self->count == 0) self->head = 0;
}

//  Where a body of size bytes can go without overwriting a held one, or -1.
static long long
s_place (zf_journal_t *self, size_t size)
{
    if (size > self->capacity) return -1;
    if (self->count == 0) return 0;
    s_entry_t *oldest = s_at (self, 0);
    s_entry_t *newest = s_at (self, self->count - 1);
    size_t tail = oldest->offset;
    size_t end = newest->offset + newest->size;
    if (end > tail) {
        //  Not wrapped: room after the newest, or at the start before the oldest.
        if (self->capacity - end >= size) return (long long)end;
        if (tail >= size) return 0;
        return -1;
    }
    //  Wrapped: room between the newest and the oldest.
    return tail - end >= size ? (long long)end : -1;
}

//  Doubles the buffer (up to the budget), laying the bodies out from 0.
static int
s_grow (zf_journal_t *self, size_t needed)
{
    size_t capacity = self->capacity ? self->capacity * 2 : S_INITIAL_BYTES;
    while (capacity < needed)
        capacity *= 2;
    if (capacity > self->max_bytes) capacity = self->max_bytes;
    if (capacity <= self->capacity) return -1;
    char *data = malloc (capacity);
    if (!data) return -1;
    size_t offset = 0;
    for (size_t i = 0; i < self->count; i++) {
        s_entry_t *entry = s_at (self, i);
        memcpy (data + offset, self->data + entry->offset, entry->size);
        entry->offset = offset;
        offset += entry->size;
    }
    free (self->data);
    self->data = data;
    self->capacity = capacity;
    return 0;
}

int
zf_journal_append (zf_journal_t *self, uint64_t first, uint32_t count, const void *body,
                   size_t size)
{
    assert (self && body && count > 0 && size > 0);
    if (self->count && first != zf_journal_newest (self) + 1) zf_journal_clear (self);
    if (size > self->max_bytes || count > self->max_events) {
        zf_journal_clear (self);
        return -1;
    }
    while (self->count && self->events + count > self->max_events)
        s_drop_oldest (self);
    long long offset;
    while ((offset = s_place (self, size)) < 0) {
        if (self->capacity < self->max_bytes && s_grow (self, size) == 0) continue;
        if (self->count == 0) {
            zf_journal_clear (self);
            return -1;
        }
        s_drop_oldest (self);
    }
    if (self->count == self->slots &&
        zf_array_grow_ring ((void **)&self->entries, &self->slots, self->head, self->count,
                            self->count + 1, sizeof (s_entry_t)) != 0) {
        zf_journal_clear (self);
        return -1;
    }
    memcpy (self->data + offset, body, size);
    s_entry_t *entry = &self->entries[(self->head + self->count) % self->slots];
    *entry = (s_entry_t){first, count, (size_t)offset, size};
    self->count++;
    self->events += count;
    return 0;
}

uint64_t
zf_journal_oldest (zf_journal_t *self)
{
    assert (self);
    return self->count ? s_at (self, 0)->first : 0;
}

uint64_t
zf_journal_newest (zf_journal_t *self)
{
    assert (self);
    if (!self->count) return 0;
    s_entry_t *newest = s_at (self, self->count - 1);
    return newest->first + newest->count - 1;
}

size_t
zf_journal_size (zf_journal_t *self)
{
    assert (self);
    return self->count;
}

uint64_t
zf_journal_events (zf_journal_t *self)
{
    assert (self);
    return self->events;
}

long
zf_journal_find (zf_journal_t *self, uint64_t seq)
{
    assert (self);
    if (!self->count || seq < zf_journal_oldest (self) || seq > zf_journal_newest (self)) return -1;
    //  Bodies are in seq order without gaps: a binary search on their first seq.
    size_t low = 0, high = self->count - 1;
    while (low < high) {
        size_t mid = low + (high - low + 1) / 2;
        if (s_at (self, mid)->first <= seq)
            low = mid;
        else
            high = mid - 1;
    }
    return (long)low;
}

int
zf_journal_entry (zf_journal_t *self, size_t index, zf_journal_entry_t *entry)
{
    assert (self && entry);
    if (index >= self->count) return -1;
    s_entry_t *at = s_at (self, index);
    *entry = (zf_journal_entry_t){at->first, at->count, self->data + at->offset, at->size};
    return 0;
}

void
zf_journal_clear (zf_journal_t *self)
{
    assert (self);
    self->head = 0;
    self->count = 0;
    self->events = 0;
}
