/*  zf_held.h - results kept until they are acknowledged.

    Whoever passes a result on keeps it until the next hop acknowledges it,
    so a peer that restarts or reconnects gets it again: the worker keeps
    its results for the dispatcher, the dispatcher keeps them for its
    client. This is that store: one copy of each result under its task key
    (attempt included), the oldest first, each with the service it came
    through and whether it ended its request (FINAL rather than PARTIAL).

    What else a holder needs per result (the dispatcher: the client it is
    for; the worker: the address to answer, whether it waits to be sent)
    lives in each item's extra space: extra_size bytes, zeroed when the
    item is made, freed with it (after the destructor, if one is set).
*/
#ifndef ZF_HELD_H_INCLUDED
#define ZF_HELD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "zf_dispatch.h"

typedef struct _zf_held_t zf_held_t;

//  One result held.
typedef struct _zf_held_item_t zf_held_item_t;

//  Releases what an item's extra space refers to, when the item goes.
typedef void (zf_held_free_fn) (void *extra);

//  An empty store whose items have extra_size bytes of the holder's; NULL
//  if out of memory.
zf_held_t *zf_held_new (size_t extra_size);

//  Destroys the store and every item; idempotent.
void zf_held_destroy (zf_held_t **self_p);

//  Sets what releases an item's extra space (nothing by default).
void zf_held_set_destructor (zf_held_t *self, zf_held_free_fn *destructor);

//  Holds a copy of result (its strings and service copied) as the newest
//  item. Returns the item, or NULL if one is held under the result's key
//  already (*duplicate set, if not NULL; the first one stays) or memory
//  ran out.
zf_held_item_t *zf_held_add (zf_held_t *self, const zf_result_t *result, const char *service,
                             bool final, bool *duplicate);

//  The item held under key (attempt included), or NULL.
zf_held_item_t *zf_held_find (zf_held_t *self, const zf_task_key_t *key);

//  Forgets an item (acknowledged, or given up).
void zf_held_drop (zf_held_t *self, zf_held_item_t *item);

//  Forgets the item under key. Returns 0, or -1 if none was held.
int zf_held_ack (zf_held_t *self, const zf_task_key_t *key);

//  Forgets every item.
void zf_held_purge (zf_held_t *self);

//  Items held.
size_t zf_held_size (zf_held_t *self);

//  The oldest item, or NULL; then each newer one, NULL after the newest.
//  During a walk the store may change only by dropping the item the walk
//  is at, once its newer one is read.
zf_held_item_t *zf_held_oldest (zf_held_t *self);
zf_held_item_t *zf_held_newer (zf_held_item_t *item);

//  An item's result (its strings inside the item), service (or NULL),
//  kind, and the holder's extra space.
const zf_result_t *zf_held_result (zf_held_item_t *item);
const char *zf_held_service (zf_held_item_t *item);
bool zf_held_final (zf_held_item_t *item);
void *zf_held_extra (zf_held_item_t *item);

#endif
