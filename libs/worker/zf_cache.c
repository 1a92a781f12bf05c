/*  zf_cache.c - a pinned, size-bounded LRU cache behind one lock. */
#include "zf_cache.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct _s_entry_t s_entry_t;

//  One cached item.
struct _s_entry_t {
    char *key;                 //  its key (the table's key too)
    void *item;                //  the item
    size_t size;               //  bytes it counts for
    zf_cache_free_fn *destroy; //  frees it, or NULL
    uint32_t pins;             //  handlers using it now
    s_entry_t *older;          //  in recency order
    s_entry_t *newer;          //  in recency order
};

struct _zf_cache_t {
    pthread_mutex_t lock; //  guards everything below
    zhashx_t *entries;    //  key -> entry (owned)
    s_entry_t *oldest;    //  least recently used
    s_entry_t *newest;    //  most recently used
    size_t bytes;         //  sizes of the items held
    size_t capacity;      //  bytes to keep at most (pinned items may exceed it)
};

zf_cache_t *
zf_cache_new (size_t capacity)
{
    zf_cache_t *self = calloc (1, sizeof (zf_cache_t));
    if (!self) return NULL;
    self->entries = zhashx_new ();
    if (!self->entries) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->capacity = capacity;
    return self;
}

//  Frees an entry and its item.
static void
s_entry_free (s_entry_t *entry)
{
    if (entry->destroy) entry->destroy (entry->item);
    free (entry->key);
    free (entry);
}

void
zf_cache_destroy (zf_cache_t **self_p)
{
    assert (self_p);
    zf_cache_t *self = *self_p;
    if (!self) return;
    s_entry_t *entry = self->oldest;
    while (entry) {
        s_entry_t *next = entry->newer;
        assert (entry->pins == 0);
        s_entry_free (entry);
        entry = next;
    }
    zhashx_destroy (&self->entries);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static void
s_unlink (zf_cache_t *self, s_entry_t *entry)
{
    if (entry->older)
        entry->older->newer = entry->newer;
    else
        self->oldest = entry->newer;
    if (entry->newer)
        entry->newer->older = entry->older;
    else
        self->newest = entry->older;
    entry->older = entry->newer = NULL;
}

static void
s_link_newest (zf_cache_t *self, s_entry_t *entry)
{
    entry->older = self->newest;
    entry->newer = NULL;
    if (self->newest)
        self->newest->newer = entry;
    else
        self->oldest = entry;
    self->newest = entry;
}

//  Takes unpinned entries off the old end while over capacity; returns them
//  chained through newer, to be freed outside the lock (an item's destroy
//  may take its time).
static s_entry_t *
s_evict (zf_cache_t *self)
{
    s_entry_t *evicted = NULL;
    s_entry_t *entry = self->oldest;
    while (entry && self->bytes > self->capacity) {
        s_entry_t *next = entry->newer;
        if (entry->pins == 0) {
            s_unlink (self, entry);
            zhashx_delete (self->entries, entry->key);
            self->bytes -= entry->size;
            entry->newer = evicted;
            evicted = entry;
        }
        entry = next;
    }
    return evicted;
}

static void
s_free_chain (s_entry_t *entry)
{
    while (entry) {
        s_entry_t *next = entry->newer;
        s_entry_free (entry);
        entry = next;
    }
}

void *
zf_cache_acquire (zf_cache_t *self, const char *key)
{
    assert (self && key);
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = (s_entry_t *)zhashx_lookup (self->entries, key);
    void *item = NULL;
    if (entry) {
        entry->pins++;
        s_unlink (self, entry);
        s_link_newest (self, entry);
        item = entry->item;
    }
    pthread_mutex_unlock (&self->lock);
    return item;
}

void *
zf_cache_insert (zf_cache_t *self, const char *key, void *item, size_t size,
                 zf_cache_free_fn *destroy)
{
    assert (self && key);
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = (s_entry_t *)zhashx_lookup (self->entries, key);
    if (entry) {
        entry->pins++;
        void *stored = entry->item;
        pthread_mutex_unlock (&self->lock);
        if (destroy) destroy (item);
        return stored;
    }
    entry = calloc (1, sizeof (s_entry_t));
    if (entry) entry->key = strdup (key);
    if (!entry || !entry->key || zhashx_insert (self->entries, key, entry) != 0) {
        pthread_mutex_unlock (&self->lock);
        if (entry) free (entry->key);
        free (entry);
        if (destroy) destroy (item);
        return NULL;
    }
    entry->item = item;
    entry->size = size;
    entry->destroy = destroy;
    entry->pins = 1;
    s_link_newest (self, entry);
    self->bytes += size;
    s_entry_t *evicted = s_evict (self);
    pthread_mutex_unlock (&self->lock);
    s_free_chain (evicted);
    return item;
}

void
zf_cache_release (zf_cache_t *self, const char *key)
{
    assert (self && key);
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = (s_entry_t *)zhashx_lookup (self->entries, key);
    if (entry && entry->pins > 0) entry->pins--;
    s_entry_t *evicted = s_evict (self);
    pthread_mutex_unlock (&self->lock);
    s_free_chain (evicted);
}

size_t
zf_cache_count (zf_cache_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    size_t count = zhashx_size (self->entries);
    pthread_mutex_unlock (&self->lock);
    return count;
}

size_t
zf_cache_bytes (zf_cache_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    size_t bytes = self->bytes;
    pthread_mutex_unlock (&self->lock);
    return bytes;
}
