/*  zf_intern.c - a string table: open addressing on a 64-bit hash.

    The slot array holds ids (0 = free) and stays at most half full, so a
    probe sequence is short; the strings live in one array indexed by id,
    their bytes in an arena that goes with the table.
*/
#include "zf_intern.h"
#include "zf_arena.h"
#include "zf_array.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _zf_intern_t {
    zf_arena_t *arena;    //  the strings' bytes
    const char **strings; //  strings [id - 1]
    uint64_t *hashes;     //  hashes [id - 1], so growing needs no rehashing
    uint32_t count;       //  strings held
    uint32_t capacity;    //  room in strings and hashes
    uint32_t *slots;      //  hash table of ids, 0 = free
    uint32_t mask;        //  slots - 1 (a power of two)
};

//  FNV-1a with a final mix, so low bits spread well for the mask.
static uint64_t
s_hash (const char *str)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ULL;
    }
    hash ^= hash >> 29;
    hash *= 0xbf58476d1ce4e5b9ULL;
    hash ^= hash >> 32;
    return hash;
}

//  Makes a new, empty table.
zf_intern_t *
zf_intern_new (void)
{
    zf_intern_t *self = calloc (1, sizeof (zf_intern_t));
    if (!self) return NULL;
    self->mask = 63;
    self->slots = calloc (self->mask + 1, sizeof (uint32_t));
    self->arena = zf_arena_new ();
    if (!self->slots || !self->arena) zf_intern_destroy (&self);
    return self;
}

//  Destroys the table.
void
zf_intern_destroy (zf_intern_t **self_p)
{
    assert (self_p);
    zf_intern_t *self = *self_p;
    if (!self) return;
    zf_arena_destroy (&self->arena);
    free (self->strings);
    free (self->hashes);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  Finds the slot of str (holding its id, or free where it would go).
static uint32_t
s_probe (zf_intern_t *self, const char *str, uint64_t hash)
{
    uint32_t slot = (uint32_t)hash & self->mask;
    while (self->slots[slot]) {
        uint32_t id = self->slots[slot];
        if (self->hashes[id - 1] == hash && strcmp (self->strings[id - 1], str) == 0) break;
        slot = (slot + 1) & self->mask;
    }
    return slot;
}

//  Returns the id of str, or 0.
uint32_t
zf_intern_find (zf_intern_t *self, const char *str)
{
    assert (self);
    if (!str) return 0;
    return self->slots[s_probe (self, str, s_hash (str))];
}

//  Doubles the slot array, keeping it at most half full.
static int
s_grow_slots (zf_intern_t *self)
{
    uint32_t mask = self->mask * 2 + 1;
    uint32_t *slots = calloc ((size_t)mask + 1, sizeof (uint32_t));
    if (!slots) return -1;
    for (uint32_t id = 1; id <= self->count; id++) {
        uint32_t slot = (uint32_t)self->hashes[id - 1] & mask;
        while (slots[slot])
            slot = (slot + 1) & mask;
        slots[slot] = id;
    }
    free (self->slots);
    self->slots = slots;
    self->mask = mask;
    return 0;
}

//  Returns the id of str, adding it if new.
uint32_t
zf_intern_add (zf_intern_t *self, const char *str)
{
    assert (self);
    assert (str);
    uint64_t hash = s_hash (str);
    uint32_t slot = s_probe (self, str, hash);
    if (self->slots[slot]) return self->slots[slot];
    //  The table still works when full enough; only probing gets longer.
    //  At mask + 1 slots it cannot take more, so refuse the string.
    if ((self->count + 1) * 2 > self->mask) {
        if (s_grow_slots (self) == 0)
            slot = s_probe (self, str, hash);
        else if (self->count + 1 > self->mask)
            return 0;
    }
    if (self->count == self->capacity) {
        //  Both arrays grow alike from the same room.
        size_t strings_room = self->capacity, hashes_room = self->capacity;
        if (zf_array_grow ((void **)&self->strings, &strings_room, self->count + 1,
                           sizeof (char *)) ||
            zf_array_grow ((void **)&self->hashes, &hashes_room, self->count + 1,
                           sizeof (uint64_t)))
            return 0;
        self->capacity = (uint32_t)strings_room;
    }
    const char *copy = zf_arena_strdup (self->arena, str);
    if (!copy) return 0;
    self->strings[self->count] = copy;
    self->hashes[self->count] = hash;
    self->count++;
    self->slots[slot] = self->count;
    return self->count;
}

//  Returns the string of an id.
const char *
zf_intern_str (zf_intern_t *self, uint32_t id)
{
    assert (self);
    return id >= 1 && id <= self->count ? self->strings[id - 1] : NULL;
}

//  Returns how many strings the table holds.
uint32_t
zf_intern_count (zf_intern_t *self)
{
    assert (self);
    return self->count;
}
