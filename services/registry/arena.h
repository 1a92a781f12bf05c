/*  arena.h - a bump allocator for strings that live until the next reset.

    Events and acknowledgement keys borrow their strings from whoever made
    them, and those strings change before a batch goes out; the arena keeps
    copies until the batch is sent. Memory comes in chunks that are never
    moved (so earlier copies stay put) and kept across resets, so a steady
    stream of batches allocates nothing once the arena has grown.
*/
#ifndef ZF_ARENA_H_INCLUDED
#define ZF_ARENA_H_INCLUDED

#include <stddef.h>

//  Bytes in an ordinary chunk; a longer string gets a chunk of its own.
#define ZF_ARENA_CHUNK (1024 * 1024)

//  Ordinary chunks kept across a reset; a burst beyond them is given back.
#define ZF_ARENA_KEEP 16

typedef struct _zf_arena_t zf_arena_t;

//  A new, empty arena; NULL if out of memory.
zf_arena_t *zf_arena_new (void);

//  Frees the arena and every copy; NULLs the pointer. Idempotent.
void zf_arena_destroy (zf_arena_t **self_p);

//  A copy of size bytes of text with a nul after them, or NULL if out of
//  memory. NULL text gives NULL.
const char *zf_arena_strndup (zf_arena_t *self, const char *text, size_t size);

//  The same for a nul-terminated string.
const char *zf_arena_strdup (zf_arena_t *self, const char *text);

//  Forgets every copy; up to ZF_ARENA_KEEP ordinary chunks are kept for
//  reuse, the rest freed.
void zf_arena_reset (zf_arena_t *self);

//  Bytes the arena holds (for tests and accounting).
size_t zf_arena_capacity (zf_arena_t *self);

#endif
