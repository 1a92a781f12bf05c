/*  zf_held.c - results kept until they are acknowledged.

    Each item is one block: the item, the holder's extra space (aligned
    for any type), then the result's strings and the service. The table
    borrows the key inside each item; the age list is doubly linked
    through the items so that an acknowledgement unlinks in constant time.
*/
#include "zf_held.h"
#include "zf_keytable.h"
#include "zf_strblock.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct _zf_held_item_t {
    zf_result_t result;    //  the result; its strings live in the block
    const char *service;   //  the service it came through, or NULL
    bool final;            //  it ended its request (FINAL), else PARTIAL
    zf_held_item_t *older; //  in age order
    zf_held_item_t *newer; //  in age order
    max_align_t extra[];   //  the holder's extra space, then the strings
};

struct _zf_held_t {
    zf_keytable_t *table;        //  task key (the item's own) -> item
    zf_held_item_t *oldest;      //  first in age order
    zf_held_item_t *newest;      //  last in age order
    size_t extra_size;           //  extra bytes per item, rounded up for alignment
    zf_held_free_fn *destructor; //  releases an item's extra space, or NULL
};

zf_held_t *
zf_held_new (size_t extra_size)
{
    zf_held_t *self = calloc (1, sizeof (zf_held_t));
    if (!self) return NULL;
    self->table = zf_keytable_new_borrowing (ZF_KEYTABLE_ATTEMPT);
    if (!self->table) {
        free (self);
        return NULL;
    }
    size_t unit = sizeof (max_align_t);
    self->extra_size = (extra_size + unit - 1) / unit * unit;
    return self;
}

void
zf_held_destroy (zf_held_t **self_p)
{
    assert (self_p);
    zf_held_t *self = *self_p;
    if (!self) return;
    zf_held_purge (self);
    zf_keytable_destroy (&self->table);
    free (self);
    *self_p = NULL;
}

void
zf_held_set_destructor (zf_held_t *self, zf_held_free_fn *destructor)
{
    assert (self);
    self->destructor = destructor;
}

zf_held_item_t *
zf_held_add (zf_held_t *self, const zf_result_t *result, const char *service, bool final,
             bool *duplicate)
{
    assert (self && result);
    if (duplicate) *duplicate = false;
    size_t strings = zf_strblock_size (result->key.flow) + zf_strblock_size (result->key.task) +
                     zf_strblock_size (result->executor) + zf_strblock_size (result->log_tail) +
                     zf_strblock_size (service);
    zf_held_item_t *item = malloc (sizeof (zf_held_item_t) + self->extra_size + strings);
    if (!item) return NULL;
    memset (item->extra, 0, self->extra_size);
    char *cursor = (char *)item->extra + self->extra_size;
    item->result = *result;
    item->result.key.flow = zf_strblock_place (&cursor, result->key.flow);
    item->result.key.task = zf_strblock_place (&cursor, result->key.task);
    item->result.executor = zf_strblock_place (&cursor, result->executor);
    item->result.log_tail = zf_strblock_place (&cursor, result->log_tail);
    item->service = zf_strblock_place (&cursor, service);
    item->final = final;
    //  One look at the table: a refusal is a duplicate if the key is there.
    if (zf_keytable_insert (self->table, &item->result.key, item) != 0) {
        if (duplicate) *duplicate = zf_keytable_lookup (self->table, &result->key) != NULL;
        free (item);
        return NULL;
    }
    item->older = self->newest;
    item->newer = NULL;
    if (self->newest)
        self->newest->newer = item;
    else
        self->oldest = item;
    self->newest = item;
    return item;
}

zf_held_item_t *
zf_held_find (zf_held_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return (zf_held_item_t *)zf_keytable_lookup (self->table, key);
}

//  Unlinks an item from the age list and frees it with its extra space.
static void
s_free (zf_held_t *self, zf_held_item_t *item)
{
    if (item->older)
        item->older->newer = item->newer;
    else
        self->oldest = item->newer;
    if (item->newer)
        item->newer->older = item->older;
    else
        self->newest = item->older;
    if (self->destructor) self->destructor (item->extra);
    free (item);
}

void
zf_held_drop (zf_held_t *self, zf_held_item_t *item)
{
    assert (self && item);
    zf_held_item_t *taken = zf_keytable_take (self->table, &item->result.key);
    assert (taken == item);
    s_free (self, item);
}

int
zf_held_ack (zf_held_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    zf_held_item_t *item = (zf_held_item_t *)zf_keytable_take (self->table, key);
    if (!item) return -1;
    s_free (self, item);
    return 0;
}

void
zf_held_purge (zf_held_t *self)
{
    assert (self);
    zf_keytable_purge (self->table);
    while (self->oldest)
        s_free (self, self->oldest);
}

size_t
zf_held_size (zf_held_t *self)
{
    assert (self);
    return zf_keytable_size (self->table);
}

zf_held_item_t *
zf_held_oldest (zf_held_t *self)
{
    assert (self);
    return self->oldest;
}

zf_held_item_t *
zf_held_newer (zf_held_item_t *item)
{
    assert (item);
    return item->newer;
}

const zf_result_t *
zf_held_result (zf_held_item_t *item)
{
    assert (item);
    return &item->result;
}

const char *
zf_held_service (zf_held_item_t *item)
{
    assert (item);
    return item->service;
}

bool
zf_held_final (zf_held_item_t *item)
{
    assert (item);
    return item->final;
}

void *
zf_held_extra (zf_held_item_t *item)
{
    assert (item);
    return item->extra;
}
