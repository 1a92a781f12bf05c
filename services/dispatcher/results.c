/*  results.c - in-flight subtasks, held results and attempts used, by task key. */
#include "results.h"
#include "zf_keytable.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  Slots of a table of attempts used: twice the shards it takes, so that
//  probes stay short.
#define S_USED_SLOTS (2 * ZF_DISP_ATTEMPTS_KEPT)

//  The last attempt of a shard, under the hash of the shard's key (0: an
//  empty slot). Two shards whose 64-bit hashes are equal would share it.
typedef struct {
    uint64_t hash;
    uint32_t attempt;
} s_used_t;

//  An open-addressed table of attempts used, probed linearly.
typedef struct {
    s_used_t *slots; //  S_USED_SLOTS
    size_t count;    //  slots taken
} s_used_table_t;

struct _zf_disp_results_t {
    zf_keytable_t *inflight; //  task key (the subtask's own) -> subtask, queued or with a worker
    zf_held_t *held;         //  results until acknowledged; extra: the client
    //  Attempts used: shard -> the highest attempt tracked. New shards go
    //  into the young table; when it holds ZF_DISP_ATTEMPTS_KEPT, the old
    //  one is emptied and the two swap, so between that many and twice
    //  that many shards are remembered, the most recent ones.
    s_used_table_t used_young;
    s_used_table_t used_old;
};

//  The client a result is held for: the extra space of its held item.
typedef struct {
    void *owner; //  the client
} s_owner_t;

zf_disp_results_t *
zf_disp_results_new (void)
{
    zf_disp_results_t *self = calloc (1, sizeof (zf_disp_results_t));
    if (!self) return NULL;
    self->inflight = zf_keytable_new_borrowing (ZF_KEYTABLE_ATTEMPT);
    self->held = zf_held_new (sizeof (s_owner_t));
    self->used_young.slots = calloc (S_USED_SLOTS, sizeof (s_used_t));
    self->used_old.slots = calloc (S_USED_SLOTS, sizeof (s_used_t));
    if (!self->inflight || !self->held || !self->used_young.slots || !self->used_old.slots)
        zf_disp_results_destroy (&self);
    return self;
}

void
zf_disp_results_destroy (zf_disp_results_t **self_p)
{
    assert (self_p);
    zf_disp_results_t *self = *self_p;
    if (!self) return;
    zf_keytable_destroy (&self->inflight);
    zf_held_destroy (&self->held);
    free (self->used_young.slots);
    free (self->used_old.slots);
    free (self);
    *self_p = NULL;
}

//  The hash of key's shard (its attempt left out), never 0.
static uint64_t
s_shard_hash (const zf_task_key_t *key)
{
    zf_task_key_t shard = *key;
    shard.attempt = 0;
    uint64_t hash = zf_task_key_hash (&shard);
    return hash ? hash : 1;
}

//  The slot of hash in table: its own, or the empty one where it would go.
static s_used_t *
s_used_slot (s_used_table_t *table, uint64_t hash)
{
    size_t mask = S_USED_SLOTS - 1;
    size_t at = (size_t)hash & mask;
    while (table->slots[at].hash && table->slots[at].hash != hash)
        at = (at + 1) & mask;
    return &table->slots[at];
}

uint32_t
zf_disp_results_last_attempt (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    uint64_t hash = s_shard_hash (key);
    //  A shard in the young table moved there with its attempt in the old.
    s_used_t *young = s_used_slot (&self->used_young, hash);
    return young->hash ? young->attempt : s_used_slot (&self->used_old, hash)->attempt;
}

//  Remembers that key's attempt was used.
static void
s_use (zf_disp_results_t *self, const zf_task_key_t *key)
{
    uint64_t hash = s_shard_hash (key);
    s_used_t *slot = s_used_slot (&self->used_young, hash);
    if (!slot->hash) {
        //  A shard used again moves to the young table.
        uint32_t before = s_used_slot (&self->used_old, hash)->attempt;
        if (self->used_young.count >= ZF_DISP_ATTEMPTS_KEPT) {
            s_used_table_t emptied = self->used_old;
            memset (emptied.slots, 0, S_USED_SLOTS * sizeof (s_used_t));
            emptied.count = 0;
            self->used_old = self->used_young;
            self->used_young = emptied;
            slot = s_used_slot (&self->used_young, hash);
        }
        slot->hash = hash;
        slot->attempt = before;
        self->used_young.count++;
    }
    if (slot->attempt < key->attempt) slot->attempt = key->attempt;
}

int
zf_disp_results_track (zf_disp_results_t *self, zf_disp_sub_t *sub)
{
    assert (self && sub);
    if (zf_keytable_insert (self->inflight, &sub->key, sub) != 0) return -1;
    s_use (self, &sub->key);
    return 0;
}

zf_disp_sub_t *
zf_disp_results_inflight (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return (zf_disp_sub_t *)zf_keytable_lookup (self->inflight, key);
}

void
zf_disp_results_untrack (zf_disp_results_t *self, zf_disp_sub_t *sub)
{
    assert (self && sub);
    if (zf_keytable_lookup (self->inflight, &sub->key) == sub)
        zf_keytable_delete (self->inflight, &sub->key);
}

size_t
zf_disp_results_inflight_count (zf_disp_results_t *self)
{
    assert (self);
    return zf_keytable_size (self->inflight);
}

zf_held_item_t *
zf_disp_results_hold (zf_disp_results_t *self, void *owner, const char *service,
                      const zf_result_t *result, bool final, bool *duplicate)
{
    assert (self && service && result);
    zf_held_item_t *held = zf_held_add (self->held, result, service, final, duplicate);
    if (held) zf_disp_held_set_owner (held, owner);
    return held;
}

zf_held_item_t *
zf_disp_results_find (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return zf_held_find (self->held, key);
}

int
zf_disp_results_ack (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return zf_held_ack (self->held, key);
}

size_t
zf_disp_results_held (zf_disp_results_t *self)
{
    assert (self);
    return zf_held_size (self->held);
}

zf_held_item_t *
zf_disp_results_next (zf_disp_results_t *self, zf_held_item_t *prev)
{
    assert (self);
    return prev ? zf_held_newer (prev) : zf_held_oldest (self->held);
}

void *
zf_disp_held_owner (zf_held_item_t *held)
{
    return ((s_owner_t *)zf_held_extra (held))->owner;
}

void
zf_disp_held_set_owner (zf_held_item_t *held, void *owner)
{
    ((s_owner_t *)zf_held_extra (held))->owner = owner;
}
