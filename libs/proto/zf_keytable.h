/*  zf_keytable.h - a hash table keyed by task keys.

    The one table of zflow's identity (flow, date, task, shard, attempt):
    the dispatcher's subtasks in flight, held results, the registry's view
    of what the dispatcher holds, the gateway's shard details. A table keys
    on the attempt too, or not (then every attempt of a shard is one entry).
    The table keeps its own copy of each key, strings included, so the key a
    caller passes may be short-lived; a borrowing table keeps the caller's
    key instead, for keys that live inside their items (a subtask's, a held
    result's), and saves the copy. Items are the caller's, freed by the
    destructor if one is set.
*/
#ifndef ZF_KEYTABLE_H_INCLUDED
#define ZF_KEYTABLE_H_INCLUDED

#include <stddef.h>
#include "zf_task_key.h"

typedef struct _zf_keytable_t zf_keytable_t;

//  What a table's keys are made of.
typedef enum {
    ZF_KEYTABLE_ATTEMPT, //  (flow, date, task, shard, attempt)
    ZF_KEYTABLE_SHARD    //  (flow, date, task, shard): the attempt is ignored
} zf_keytable_scope_t;

//  Frees an item the table drops (delete, update, purge, destroy).
typedef void (zf_keytable_free_fn) (void *item);

//  An empty table; NULL if out of memory.
zf_keytable_t *zf_keytable_new (zf_keytable_scope_t scope);

//  An empty table that keeps the caller's keys, not copies: each key
//  (strings included) must stay valid and unchanged while its entry is in
//  the table, as a key inside its item does. NULL if out of memory.
zf_keytable_t *zf_keytable_new_borrowing (zf_keytable_scope_t scope);

//  Destroys the table, and its items if a destructor is set; idempotent.
void zf_keytable_destroy (zf_keytable_t **self_p);

//  Sets what frees items the table drops (none by default).
void zf_keytable_set_destructor (zf_keytable_t *self, zf_keytable_free_fn *destructor);

//  Adds item (not NULL) under key. Returns 0, or -1 if the key is there
//  already or memory ran out (zf_keytable_lookup tells which).
int zf_keytable_insert (zf_keytable_t *self, const zf_task_key_t *key, void *item);

//  Adds or replaces the item under key (a replaced item goes to the
//  destructor; a borrowing table takes key as the entry's key from then
//  on). Returns 0, or -1 if memory ran out.
int zf_keytable_update (zf_keytable_t *self, const zf_task_key_t *key, void *item);

//  The item under key, or NULL.
void *zf_keytable_lookup (zf_keytable_t *self, const zf_task_key_t *key);

//  Removes the entry under key; its item goes to the destructor. Returns 0,
//  or -1 if there was none.
int zf_keytable_delete (zf_keytable_t *self, const zf_task_key_t *key);

//  Removes the entry under key and returns its item (not freed), or NULL.
void *zf_keytable_take (zf_keytable_t *self, const zf_task_key_t *key);

//  Entries.
size_t zf_keytable_size (zf_keytable_t *self);

//  Removes every entry.
void zf_keytable_purge (zf_keytable_t *self);

//  Walks the entries in no particular order: the first item, then the next,
//  NULL at the end. The table must not change during a walk.
void *zf_keytable_first (zf_keytable_t *self);
void *zf_keytable_next (zf_keytable_t *self);

//  The key of the item the walk is at, or NULL: the table's copy (in a
//  ZF_KEYTABLE_SHARD table its attempt is 0), or a borrowing table's key.
const zf_task_key_t *zf_keytable_cursor (zf_keytable_t *self);

#endif
