/*  zf_arena.c - chunks bumped by a cursor, folded into one at each reset. */
#include "zf_arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  One block of memory.
typedef struct _s_chunk_t {
    struct _s_chunk_t *next; //  the chunk filled before this one
    size_t size;             //  bytes in data
    size_t used;             //  bytes handed out
    max_align_t data[];      //  the memory
} s_chunk_t;

struct _zf_arena_t {
    s_chunk_t *chunks; //  newest first; copies come from the newest
    size_t capacity;   //  bytes in all chunks
    size_t wanted;     //  bytes handed out since the last reset, padding at its most
};

//  The largest single request: far beyond any limit of zflow, and small
//  enough that adding a chunk header or padding cannot overflow.
#define S_MAX_REQUEST (SIZE_MAX / 4)

//  Creates an empty arena.
zf_arena_t *
zf_arena_new (void)
{
    return calloc (1, sizeof (zf_arena_t));
}

//  Frees every chunk.
static void
s_free_chunks (zf_arena_t *self)
{
    while (self->chunks) {
        s_chunk_t *next = self->chunks->next;
        free (self->chunks);
        self->chunks = next;
    }
    self->capacity = 0;
}

//  Destroys an arena and every copy in it.
void
zf_arena_destroy (zf_arena_t **self_p)
{
    assert (self_p);
    zf_arena_t *self = *self_p;
    if (!self) return;
    s_free_chunks (self);
    free (self);
    *self_p = NULL;
}

//  Puts a new chunk of size bytes in front; NULL if out of memory.
static s_chunk_t *
s_chunk_add (zf_arena_t *self, size_t size)
{
    s_chunk_t *chunk = malloc (sizeof (s_chunk_t) + size);
    if (!chunk) return NULL;
    chunk->next = self->chunks;
    chunk->size = size;
    chunk->used = 0;
    self->chunks = chunk;
    self->capacity += size;
    return chunk;
}

//  size bytes at a multiple of align (a power of two) in the newest chunk,
//  or in a new one when they do not fit; NULL if out of memory.
static void *
s_take (zf_arena_t *self, size_t size, size_t align)
{
    if (size > S_MAX_REQUEST) return NULL;
    s_chunk_t *chunk = self->chunks;
    size_t at = chunk ? (chunk->used + align - 1) & ~(align - 1) : 0;
    if (!chunk || at > chunk->size || chunk->size - at < size) {
        size_t grow = chunk ? chunk->size * 2 : ZF_ARENA_CHUNK_MIN;
        chunk = s_chunk_add (self, size > grow ? size : grow);
        if (!chunk) return NULL;
        at = 0;
    }
    chunk->used = at + size;
    //  Counted with the most padding it could need, so that one chunk of
    //  this many bytes holds the same copies again after a reset.
    self->wanted += size + align - 1;
    return (char *)chunk->data + at;
}

//  Aligned memory.
void *
zf_arena_alloc (zf_arena_t *self, size_t size)
{
    assert (self);
    return s_take (self, size, _Alignof(max_align_t));
}

//  A copy of size bytes and a nul.
const char *
zf_arena_strndup (zf_arena_t *self, const char *text, size_t size)
{
    assert (self);
    if (!text || size >= S_MAX_REQUEST) return NULL;
    char *copy = s_take (self, size + 1, 1);
    if (!copy) return NULL;
    memcpy (copy, text, size);
    copy[size] = 0;
    return copy;
}

//  A copy of a string.
const char *
zf_arena_strdup (zf_arena_t *self, const char *text)
{
    return text ? zf_arena_strndup (self, text, strlen (text)) : NULL;
}

//  Forgets every copy. One chunk that is not too big is simply reused;
//  several are replaced by one that fits all they held, up to
//  ZF_ARENA_KEEP, so the next batch like the last needs no allocation.
void
zf_arena_reset (zf_arena_t *self)
{
    assert (self);
    s_chunk_t *chunk = self->chunks;
    if (chunk && !chunk->next && chunk->size <= ZF_ARENA_KEEP)
        chunk->used = 0;
    else if (chunk) {
        size_t size = self->wanted;
        if (size < ZF_ARENA_CHUNK_MIN) size = ZF_ARENA_CHUNK_MIN;
        if (size > ZF_ARENA_KEEP) size = ZF_ARENA_KEEP;
        s_free_chunks (self);
        //  Out of memory here is not an error: the next copy tries again.
        s_chunk_add (self, size);
    }
    self->wanted = 0;
}

//  Bytes held.
size_t
zf_arena_capacity (zf_arena_t *self)
{
    assert (self);
    return self->capacity;
}
