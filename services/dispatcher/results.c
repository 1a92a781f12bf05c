/*  results.c - in-flight subtasks and held results by task key. */
#include "results.h"
#include "zf_keytable.h"

#include <assert.h>
#include <stdlib.h>

struct _zf_disp_results_t {
    zf_keytable_t *inflight; //  task key (the subtask's own) -> subtask, queued or with a worker
    zf_held_t *held;         //  results until acknowledged; extra: the client
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
    if (!self->inflight || !self->held) zf_disp_results_destroy (&self);
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
    free (self);
    *self_p = NULL;
}

int
zf_disp_results_track (zf_disp_results_t *self, zf_disp_sub_t *sub)
{
    assert (self && sub);
    return zf_keytable_insert (self->inflight, &sub->key, sub);
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
