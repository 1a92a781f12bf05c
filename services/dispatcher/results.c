/*  results.c - in-flight subtasks and held results by task key. */
#include "results.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _zf_disp_held_t {
    zf_result_t result;   //  the result; its strings live after this struct
    const char *service;  //  the service it came through
    bool final;           //  the FINAL of an order, else a PARTIAL
    void *owner;          //  the client it is for
    zf_disp_held_t *prev; //  in the oldest-first list
    zf_disp_held_t *next; //  in the oldest-first list
};

struct _zf_disp_results_t {
    zhashx_t *inflight;   //  task key -> subtask (keys inside the subtasks)
    zhashx_t *held;       //  task key -> held result (keys inside the records)
    zf_disp_held_t *head; //  oldest held result
    zf_disp_held_t *tail; //  newest held result
};

//  zhashx hashes into a size_t.
static size_t
s_key_hash (const void *key)
{
    return (size_t)zf_task_key_hash ((const zf_task_key_t *)key);
}

static int
s_key_cmp (const void *a, const void *b)
{
    return zf_task_key_cmp ((const zf_task_key_t *)a, (const zf_task_key_t *)b);
}

//  A table whose keys are zf_task_key_t living inside the items, so it
//  neither copies nor frees them.
static zhashx_t *
s_table_new (void)
{
    zhashx_t *table = zhashx_new ();
    if (table) {
        zhashx_set_key_duplicator (table, NULL);
        zhashx_set_key_destructor (table, NULL);
        zhashx_set_key_hasher (table, s_key_hash);
        zhashx_set_key_comparator (table, s_key_cmp);
    }
    return table;
}

zf_disp_results_t *
zf_disp_results_new (void)
{
    zf_disp_results_t *self = calloc (1, sizeof (zf_disp_results_t));
    if (!self) return NULL;
    self->inflight = s_table_new ();
    self->held = s_table_new ();
    if (!self->inflight || !self->held) {
        zhashx_destroy (&self->inflight);
        zhashx_destroy (&self->held);
        free (self);
        return NULL;
    }
    return self;
}

void
zf_disp_results_destroy (zf_disp_results_t **self_p)
{
    assert (self_p);
    zf_disp_results_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->inflight);
    zhashx_destroy (&self->held);
    zf_disp_held_t *held = self->head;
    while (held) {
        zf_disp_held_t *next = held->next;
        free (held);
        held = next;
    }
    free (self);
    *self_p = NULL;
}

int
zf_disp_results_track (zf_disp_results_t *self, zf_disp_sub_t *sub)
{
    assert (self && sub);
    return zhashx_insert (self->inflight, &sub->key, sub);
}

zf_disp_sub_t *
zf_disp_results_inflight (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return (zf_disp_sub_t *)zhashx_lookup (self->inflight, key);
}

void
zf_disp_results_untrack (zf_disp_results_t *self, zf_disp_sub_t *sub)
{
    assert (self && sub);
    if (zhashx_lookup (self->inflight, &sub->key) == sub) zhashx_delete (self->inflight, &sub->key);
}

size_t
zf_disp_results_inflight_count (zf_disp_results_t *self)
{
    assert (self);
    return zhashx_size (self->inflight);
}

//  Copies a string into the record's tail; NULL stays NULL.
static const char *
s_place (char **cursor, const char *text)
{
    if (!text) return NULL;
    size_t size = strlen (text) + 1;
    char *place = *cursor;
    memcpy (place, text, size);
    *cursor += size;
    return place;
}

static size_t
s_size (const char *text)
{
    return text ? strlen (text) + 1 : 0;
}

zf_disp_held_t *
zf_disp_results_hold (zf_disp_results_t *self, void *owner, const char *service,
                      const zf_result_t *result, bool final, bool *duplicate)
{
    assert (self && service && result);
    if (duplicate) *duplicate = false;
    if (zhashx_lookup (self->held, &result->key)) {
        if (duplicate) *duplicate = true;
        return NULL;
    }
    size_t extra = s_size (result->key.flow) + s_size (result->key.task) +
                   s_size (result->executor) + s_size (result->log_tail) + s_size (service);
    zf_disp_held_t *held = calloc (1, sizeof (zf_disp_held_t) + extra);
    if (!held) return NULL;
    char *cursor = (char *)(held + 1);
    held->result = *result;
    held->result.key.flow = s_place (&cursor, result->key.flow);
    held->result.key.task = s_place (&cursor, result->key.task);
    held->result.executor = s_place (&cursor, result->executor);
    held->result.log_tail = s_place (&cursor, result->log_tail);
    held->service = s_place (&cursor, service);
    held->final = final;
    held->owner = owner;
    if (zhashx_insert (self->held, &held->result.key, held) != 0) {
        free (held);
        return NULL;
    }
    held->prev = self->tail;
    if (self->tail)
        self->tail->next = held;
    else
        self->head = held;
    self->tail = held;
    return held;
}

zf_disp_held_t *
zf_disp_results_find (zf_disp_results_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    return (zf_disp_held_t *)zhashx_lookup (self->held, key);
}

int
zf_disp_results_ack (zf_disp_results_t *self, const zf_task_key_t *key)
{
    zf_disp_held_t *held = zf_disp_results_find (self, key);
    if (!held) return -1;
    zhashx_delete (self->held, &held->result.key);
    if (held->prev)
        held->prev->next = held->next;
    else
        self->head = held->next;
    if (held->next)
        held->next->prev = held->prev;
    else
        self->tail = held->prev;
    free (held);
    return 0;
}

size_t
zf_disp_results_held (zf_disp_results_t *self)
{
    assert (self);
    return zhashx_size (self->held);
}

zf_disp_held_t *
zf_disp_results_next (zf_disp_results_t *self, zf_disp_held_t *prev)
{
    assert (self);
    return prev ? prev->next : self->head;
}

const zf_result_t *
zf_disp_held_result (zf_disp_held_t *self)
{
    assert (self);
    return &self->result;
}

const char *
zf_disp_held_service (zf_disp_held_t *self)
{
    assert (self);
    return self->service;
}

bool
zf_disp_held_final (zf_disp_held_t *self)
{
    assert (self);
    return self->final;
}

void *
zf_disp_held_owner (zf_disp_held_t *self)
{
    assert (self);
    return self->owner;
}

void
zf_disp_held_set_owner (zf_disp_held_t *self, void *owner)
{
    assert (self);
    self->owner = owner;
}
