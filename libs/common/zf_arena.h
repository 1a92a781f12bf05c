/*  zf_arena.h - memory handed out by bumping a cursor, given back all at once.

    Whoever makes many small copies that die together takes them from an
    arena: the strings of a batch of events until it is sent, the strings
    and arrays of one decoded message, the strings of a table that lives as
    long as its owner. One allocation serves many copies, and a reset
    forgets them all.

    Memory comes in chunks that never move, so a copy stays where it is
    until the next reset. A reset keeps one chunk, sized to what the arena
    held since the reset before (at most ZF_ARENA_KEEP), so a steady stream
    of similar batches settles on one allocation that is reused.
*/
#ifndef ZF_ARENA_H_INCLUDED
#define ZF_ARENA_H_INCLUDED

#include <stddef.h>

//  The smallest chunk; each new chunk doubles the one before, or fits a
//  larger request.
#define ZF_ARENA_CHUNK_MIN (16 * 1024)

//  The most a reset keeps; a burst beyond it is given back.
#define ZF_ARENA_KEEP (4 * 1024 * 1024)

typedef struct _zf_arena_t zf_arena_t;

//  A new, empty arena (it allocates on first use); NULL if out of memory.
zf_arena_t *zf_arena_new (void);

//  Frees the arena and every copy; NULLs the pointer. Idempotent.
void zf_arena_destroy (zf_arena_t **self_p);

//  size bytes aligned for any type, not initialised; NULL if out of memory.
void *zf_arena_alloc (zf_arena_t *self, size_t size);

//  A copy of size bytes of text with a nul after them, or NULL if out of
//  memory. NULL text gives NULL.
const char *zf_arena_strndup (zf_arena_t *self, const char *text, size_t size);

//  The same for a nul-terminated string.
const char *zf_arena_strdup (zf_arena_t *self, const char *text);

//  Forgets every copy, keeping one chunk for reuse (see above).
void zf_arena_reset (zf_arena_t *self);

//  Bytes the arena holds (for memory accounting and tests).
size_t zf_arena_capacity (zf_arena_t *self);

#endif
