/*  zf_keytable.c - a hash table keyed by task keys.

    Chained buckets, a power of two of them, doubled when the entries
    outnumber them. Each entry keeps the hash of its key, so a chain is
    walked comparing numbers and only an equal hash compares the strings,
    and growing never hashes again. An entry and its copy of the key, the
    strings included, are one allocation, made before anything changes so
    that running out of memory is an answer, not an abort; a borrowing
    table stores the caller's key instead and allocates only the entry.

    A table that ignores attempts hashes and compares keys as if their
    attempt were 0, and keeps its copies with attempt 0.
*/
#include "zf_keytable.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

//  Buckets of a new table.
#define S_MIN_BUCKETS 64

typedef struct _s_entry_t s_entry_t;

//  One entry, with the table's copy of its key after it unless borrowing.
struct _s_entry_t {
    s_entry_t *next;          //  in its bucket's chain
    uint64_t hash;            //  of the key as the table sees it
    const zf_task_key_t *key; //  the copy after this entry, or the caller's
    void *item;               //  the caller's item
};

struct _zf_keytable_t {
    s_entry_t **buckets;             //  chains, bucket_count of them
    size_t bucket_count;             //  a power of two
    size_t size;                     //  entries
    zf_keytable_scope_t scope;       //  whether attempts count
    bool borrowing;                  //  keys are the caller's, not copies
    zf_keytable_free_fn *destructor; //  frees dropped items, or NULL
    size_t walk_bucket;              //  where a walk is: its bucket
    s_entry_t *walk_entry;           //  and its entry, or NULL
};

//  A table of either kind.
static zf_keytable_t *
s_new (zf_keytable_scope_t scope, bool borrowing)
{
    zf_keytable_t *self = calloc (1, sizeof (zf_keytable_t));
    if (!self) return NULL;
    self->buckets = calloc (S_MIN_BUCKETS, sizeof (s_entry_t *));
    if (!self->buckets) {
        free (self);
        return NULL;
    }
    self->bucket_count = S_MIN_BUCKETS;
    self->scope = scope;
    self->borrowing = borrowing;
    return self;
}

zf_keytable_t *
zf_keytable_new (zf_keytable_scope_t scope)
{
    return s_new (scope, false);
}

zf_keytable_t *
zf_keytable_new_borrowing (zf_keytable_scope_t scope)
{
    return s_new (scope, true);
}

//  Frees every entry, and every item if the owner gave a destructor.
static void
s_clear (zf_keytable_t *self)
{
    for (size_t b = 0; b < self->bucket_count; b++) {
        s_entry_t *entry = self->buckets[b];
        while (entry) {
            s_entry_t *next = entry->next;
            if (self->destructor) self->destructor (entry->item);
            free (entry);
            entry = next;
        }
        self->buckets[b] = NULL;
    }
    self->size = 0;
    self->walk_entry = NULL;
}

void
zf_keytable_destroy (zf_keytable_t **self_p)
{
    assert (self_p);
    zf_keytable_t *self = *self_p;
    if (!self) return;
    s_clear (self);
    free (self->buckets);
    free (self);
    *self_p = NULL;
}

void
zf_keytable_set_destructor (zf_keytable_t *self, zf_keytable_free_fn *destructor)
{
    assert (self);
    self->destructor = destructor;
}

//  The hash of a key as this table sees it.
static uint64_t
s_hash (zf_keytable_t *self, const zf_task_key_t *key)
{
    if (self->scope == ZF_KEYTABLE_ATTEMPT || key->attempt == 0) return zf_task_key_hash (key);
    zf_task_key_t scoped = *key;
    scoped.attempt = 0;
    return zf_task_key_hash (&scoped);
}

//  True if two possibly NULL strings are equal.
static bool
s_same_str (const char *a, const char *b)
{
    return a == b || (a && b && strcmp (a, b) == 0);
}

//  True if two keys are one entry of this table.
static bool
s_same (zf_keytable_t *self, const zf_task_key_t *a, const zf_task_key_t *b)
{
    return a->date == b->date && a->shard == b->shard &&
           (self->scope == ZF_KEYTABLE_SHARD || a->attempt == b->attempt) &&
           s_same_str (a->task, b->task) && s_same_str (a->flow, b->flow);
}

//  The link that points at key's entry (at the end of its chain if there
//  is none).
static s_entry_t **
s_find (zf_keytable_t *self, const zf_task_key_t *key, uint64_t hash)
{
    s_entry_t **link = &self->buckets[hash & (self->bucket_count - 1)];
    while (*link && ((*link)->hash != hash || !s_same (self, (*link)->key, key)))
        link = &(*link)->next;
    return link;
}

//  A new entry for key, with a copy of it unless borrowing; NULL if out of
//  memory.
static s_entry_t *
s_entry_new (zf_keytable_t *self, const zf_task_key_t *key, uint64_t hash, void *item)
{
    if (self->borrowing) {
        s_entry_t *entry = malloc (sizeof (s_entry_t));
        if (entry) *entry = (s_entry_t){NULL, hash, key, item};
        return entry;
    }
    size_t flow = key->flow ? strlen (key->flow) + 1 : 0;
    size_t task = key->task ? strlen (key->task) + 1 : 0;
    s_entry_t *entry = malloc (sizeof (s_entry_t) + sizeof (zf_task_key_t) + flow + task);
    if (!entry) return NULL;
    zf_task_key_t *copy = (zf_task_key_t *)(entry + 1);
    *copy = *key;
    if (self->scope == ZF_KEYTABLE_SHARD) copy->attempt = 0;
    char *strings = (char *)(copy + 1);
    if (key->flow) {
        memcpy (strings, key->flow, flow);
        copy->flow = strings;
    }
    if (key->task) {
        memcpy (strings + flow, key->task, task);
        copy->task = strings + flow;
    }
    *entry = (s_entry_t){NULL, hash, copy, item};
    return entry;
}

//  Doubles the buckets once the entries outnumber them; stays as it is if
//  memory runs out (chains only grow longer).
static void
s_grow (zf_keytable_t *self)
{
    if (self->size <= self->bucket_count) return;
    size_t count = self->bucket_count * 2;
    s_entry_t **buckets = calloc (count, sizeof (s_entry_t *));
    if (!buckets) return;
    for (size_t b = 0; b < self->bucket_count; b++) {
        s_entry_t *entry = self->buckets[b];
        while (entry) {
            s_entry_t *next = entry->next;
            s_entry_t **head = &buckets[entry->hash & (count - 1)];
            entry->next = *head;
            *head = entry;
            entry = next;
        }
    }
    free (self->buckets);
    self->buckets = buckets;
    self->bucket_count = count;
}

int
zf_keytable_insert (zf_keytable_t *self, const zf_task_key_t *key, void *item)
{
    assert (self && key && item);
    uint64_t hash = s_hash (self, key);
    s_entry_t **link = s_find (self, key, hash);
    if (*link) return -1;
    s_entry_t *entry = s_entry_new (self, key, hash, item);
    if (!entry) return -1;
    *link = entry;
    self->size++;
    s_grow (self);
    return 0;
}

int
zf_keytable_update (zf_keytable_t *self, const zf_task_key_t *key, void *item)
{
    assert (self && key && item);
    uint64_t hash = s_hash (self, key);
    s_entry_t *entry = *s_find (self, key, hash);
    if (!entry) return zf_keytable_insert (self, key, item);
    void *old = entry->item;
    entry->item = item;
    //  A borrowed key lives in its item: the new item brings its own.
    if (self->borrowing) entry->key = key;
    if (self->destructor && old != item) self->destructor (old);
    return 0;
}

void *
zf_keytable_lookup (zf_keytable_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    s_entry_t *entry = *s_find (self, key, s_hash (self, key));
    return entry ? entry->item : NULL;
}

void *
zf_keytable_take (zf_keytable_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    s_entry_t **link = s_find (self, key, s_hash (self, key));
    s_entry_t *entry = *link;
    if (!entry) return NULL;
    *link = entry->next;
    self->size--;
    void *item = entry->item;
    free (entry);
    return item;
}

int
zf_keytable_delete (zf_keytable_t *self, const zf_task_key_t *key)
{
    void *item = zf_keytable_take (self, key);
    if (!item) return -1;
    if (self->destructor) self->destructor (item);
    return 0;
}

size_t
zf_keytable_size (zf_keytable_t *self)
{
    assert (self);
    return self->size;
}

void
zf_keytable_purge (zf_keytable_t *self)
{
    assert (self);
    s_clear (self);
}

//  The first entry from bucket on, or NULL; the walk remembers it.
static void *
s_walk_from (zf_keytable_t *self, size_t bucket)
{
    while (bucket < self->bucket_count && !self->buckets[bucket])
        bucket++;
    self->walk_bucket = bucket;
    self->walk_entry = bucket < self->bucket_count ? self->buckets[bucket] : NULL;
    return self->walk_entry ? self->walk_entry->item : NULL;
}

void *
zf_keytable_first (zf_keytable_t *self)
{
    assert (self);
    return s_walk_from (self, 0);
}

void *
zf_keytable_next (zf_keytable_t *self)
{
    assert (self);
    if (!self->walk_entry) return NULL;
    if (self->walk_entry->next) {
        self->walk_entry = self->walk_entry->next;
        return self->walk_entry->item;
    }
    return s_walk_from (self, self->walk_bucket + 1);
}

const zf_task_key_t *
zf_keytable_cursor (zf_keytable_t *self)
{
    assert (self);
    return self->walk_entry ? self->walk_entry->key : NULL;
}
