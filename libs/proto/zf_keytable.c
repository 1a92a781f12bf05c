/*  zf_keytable.c - a hash table keyed by task keys, on zhashx.

    zhashx holds a pointer to our own copy of each key: one allocation with
    the key and its strings after it, made before the entry is added so
    that running out of memory is an answer, not an abort. A table that
    ignores attempts stores its keys with attempt 0 and hashes and compares
    them that way; the caller's key is looked up through a copy of its
    fields with the attempt cleared.
*/
#include "zf_keytable.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _zf_keytable_t {
    zhashx_t *hash;                  //  key copy -> item
    zf_keytable_scope_t scope;       //  whether attempts count
    zf_keytable_free_fn *destructor; //  frees dropped items, or NULL
};

//  A key and its strings in one block.
typedef struct {
    zf_task_key_t key; //  flow and task point after this struct
} s_key_copy_t;

//  zhashx hashes into a size_t.
static size_t
s_hash (const void *key)
{
    return (size_t)zf_task_key_hash ((const zf_task_key_t *)key);
}

static int
s_compare (const void *a, const void *b)
{
    return zf_task_key_cmp ((const zf_task_key_t *)a, (const zf_task_key_t *)b);
}

static void
s_key_free (void **key_p)
{
    free (*key_p);
    *key_p = NULL;
}

zf_keytable_t *
zf_keytable_new (zf_keytable_scope_t scope)
{
    zf_keytable_t *self = calloc (1, sizeof (zf_keytable_t));
    if (!self) return NULL;
    self->scope = scope;
    self->hash = zhashx_new ();
    if (!self->hash) {
        free (self);
        return NULL;
    }
    zhashx_set_key_duplicator (self->hash, NULL);
    zhashx_set_key_destructor (self->hash, s_key_free);
    zhashx_set_key_hasher (self->hash, s_hash);
    zhashx_set_key_comparator (self->hash, s_compare);
    return self;
}

//  Frees every item, if the owner gave a destructor.
static void
s_free_items (zf_keytable_t *self)
{
    if (!self->destructor) return;
    for (void *item = zhashx_first (self->hash); item; item = zhashx_next (self->hash))
        self->destructor (item);
}

void
zf_keytable_destroy (zf_keytable_t **self_p)
{
    assert (self_p);
    zf_keytable_t *self = *self_p;
    if (!self) return;
    s_free_items (self);
    zhashx_destroy (&self->hash);
    free (self);
    *self_p = NULL;
}

void
zf_keytable_set_destructor (zf_keytable_t *self, zf_keytable_free_fn *destructor)
{
    assert (self);
    self->destructor = destructor;
}

//  The key as this table sees it: the attempt cleared if it does not count.
static zf_task_key_t
s_scoped (zf_keytable_t *self, const zf_task_key_t *key)
{
    zf_task_key_t scoped = *key;
    if (self->scope == ZF_KEYTABLE_SHARD) scoped.attempt = 0;
    return scoped;
}

//  A copy of key in one block, or NULL if out of memory.
static s_key_copy_t *
s_copy (zf_keytable_t *self, const zf_task_key_t *key)
{
    size_t flow = key->flow ? strlen (key->flow) + 1 : 0;
    size_t task = key->task ? strlen (key->task) + 1 : 0;
    s_key_copy_t *copy = malloc (sizeof (s_key_copy_t) + flow + task);
    if (!copy) return NULL;
    copy->key = s_scoped (self, key);
    char *strings = (char *)(copy + 1);
    if (key->flow) {
        memcpy (strings, key->flow, flow);
        copy->key.flow = strings;
    }
    if (key->task) {
        memcpy (strings + flow, key->task, task);
        copy->key.task = strings + flow;
    }
    return copy;
}

int
zf_keytable_insert (zf_keytable_t *self, const zf_task_key_t *key, void *item)
{
    assert (self && key && item);
    zf_task_key_t scoped = s_scoped (self, key);
    if (zhashx_lookup (self->hash, &scoped)) return -1;
    s_key_copy_t *copy = s_copy (self, key);
    if (!copy) return -1;
    if (zhashx_insert (self->hash, &copy->key, item) != 0) {
        free (copy);
        return -1;
    }
    return 0;
}

int
zf_keytable_update (zf_keytable_t *self, const zf_task_key_t *key, void *item)
{
    assert (self && key && item);
    zf_task_key_t scoped = s_scoped (self, key);
    void *old = zhashx_lookup (self->hash, &scoped);
    if (!old) return zf_keytable_insert (self, key, item);
    //  The entry keeps its key; only the item changes.
    zhashx_update (self->hash, &scoped, item);
    if (self->destructor && old != item) self->destructor (old);
    return 0;
}

void *
zf_keytable_lookup (zf_keytable_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    zf_task_key_t scoped = s_scoped (self, key);
    return zhashx_lookup (self->hash, &scoped);
}

void *
zf_keytable_take (zf_keytable_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    zf_task_key_t scoped = s_scoped (self, key);
    void *item = zhashx_lookup (self->hash, &scoped);
    if (item) zhashx_delete (self->hash, &scoped);
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
    return zhashx_size (self->hash);
}

void
zf_keytable_purge (zf_keytable_t *self)
{
    assert (self);
    s_free_items (self);
    zhashx_purge (self->hash);
}

void *
zf_keytable_first (zf_keytable_t *self)
{
    assert (self);
    return zhashx_first (self->hash);
}

void *
zf_keytable_next (zf_keytable_t *self)
{
    assert (self);
    return zhashx_next (self->hash);
}

const zf_task_key_t *
zf_keytable_cursor (zf_keytable_t *self)
{
    assert (self);
    return (const zf_task_key_t *)zhashx_cursor (self->hash);
}
