/*  arena.c - chunked string copies, reset per batch. */
#include "arena.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  One block of memory.
typedef struct s_chunk_t {
    struct s_chunk_t *next; //  next chunk in the list
    size_t size;            //  usable bytes after the header
    size_t used;            //  bytes handed out
    char data[];            //  the bytes
} s_chunk_t;

struct _zf_arena_t {
    s_chunk_t *chunks; //  chunks, the one being filled first
    size_t capacity;   //  bytes of every chunk together
};

zf_arena_t *
zf_arena_new (void)
{
    return calloc (1, sizeof (zf_arena_t));
}

void
zf_arena_destroy (zf_arena_t **self_p)
{
    assert (self_p);
    zf_arena_t *self = *self_p;
    if (!self) return;
    while (self->chunks) {
        s_chunk_t *next = self->chunks->next;
        free (self->chunks);
        self->chunks = next;
    }
    free (self);
    *self_p = NULL;
}

//  Room for bytes: from the chunk being filled, a kept empty one, or a new one.
static char *
s_alloc (zf_arena_t *self, size_t bytes)
{
    s_chunk_t *head = self->chunks;
    if (head && head->size - head->used >= bytes) {
        char *out = head->data + head->used;
        head->used += bytes;
        return out;
    }
    //  Another chunk with room (the list is short: a few megabytes' worth).
    for (s_chunk_t **link = head ? &head->next : &self->chunks; *link; link = &(*link)->next) {
        s_chunk_t *chunk = *link;
        if (chunk->size - chunk->used >= bytes) {
            *link = chunk->next;
            chunk->next = self->chunks;
            self->chunks = chunk;
            char *out = chunk->data + chunk->used;
            chunk->used += bytes;
            return out;
        }
    }
    size_t size = bytes > ZF_ARENA_CHUNK ? bytes : ZF_ARENA_CHUNK;
    s_chunk_t *chunk = malloc (sizeof (s_chunk_t) + size);
    if (!chunk) return NULL;
    chunk->size = size;
    chunk->used = bytes;
    chunk->next = self->chunks;
    self->chunks = chunk;
    self->capacity += size;
    return chunk->data;
}

const char *
zf_arena_strndup (zf_arena_t *self, const char *text, size_t size)
{
    assert (self);
    if (!text) return NULL;
    char *copy = s_alloc (self, size + 1);
    if (!copy) return NULL;
    memcpy (copy, text, size);
    copy[size] = 0;
    return copy;
}

const char *
zf_arena_strdup (zf_arena_t *self, const char *text)
{
    return text ? zf_arena_strndup (self, text, strlen (text)) : NULL;
}

void
zf_arena_reset (zf_arena_t *self)
{
    assert (self);
    s_chunk_t **link = &self->chunks;
    size_t kept = 0;
    while (*link) {
        s_chunk_t *chunk = *link;
        if (chunk->size > ZF_ARENA_CHUNK || kept == ZF_ARENA_KEEP) {
            *link = chunk->next;
            self->capacity -= chunk->size;
            free (chunk);
            continue;
        }
        chunk->used = 0;
        kept++;
        link = &chunk->next;
    }
}

size_t
zf_arena_capacity (zf_arena_t *self)
{
    assert (self);
    return self->capacity;
}
