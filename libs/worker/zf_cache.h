/*  zf_cache.h - a per-executor cache that in-process handlers share.

    Data locality (DESIGN.md): rendezvous hashing sends the same shard key
    to the same executor across tasks and dates, so a handler can keep what
    it loaded for a key (reference data, a parsed file) and find it there
    next time. Items are pinned while a handler uses them; the cache keeps
    at most its capacity in bytes and evicts the least recently used
    unpinned items beyond that. Thread-safe: handlers run on several threads.
*/
#ifndef ZF_CACHE_H_INCLUDED
#define ZF_CACHE_H_INCLUDED

#include <stddef.h>

typedef struct _zf_cache_t zf_cache_t;

//  Frees a cached item.
typedef void (zf_cache_free_fn) (void *item);

//  A cache of at most capacity bytes (as the items' sizes say); NULL if out
//  of memory.
zf_cache_t *zf_cache_new (size_t capacity);

//  Destroys the cache and every item in it (none may be pinned); idempotent.
void zf_cache_destroy (zf_cache_t **self_p);

//  The item under key, pinned until zf_cache_release, or NULL.
void *zf_cache_acquire (zf_cache_t *self, const char *key);

//  Stores item (of size bytes, freed with destroy, which may be NULL) under
//  key and returns it pinned. If another thread stored the key first, item
//  is freed and the stored one is returned, pinned. NULL if out of memory
//  (item is freed then too).
void *zf_cache_insert (zf_cache_t *self, const char *key, void *item, size_t size,
                       zf_cache_free_fn *destroy);

//  Unpins the item under key.
void zf_cache_release (zf_cache_t *self, const char *key);

//  Items and bytes held now.
size_t zf_cache_count (zf_cache_t *self);
size_t zf_cache_bytes (zf_cache_t *self);

#endif
