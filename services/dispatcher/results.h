/*  results.h - what the broker holds per (flow, date, task, shard, attempt).

    Two tables under one key: subtasks in flight (queued or with a worker),
    so an order sent twice (a client that reconnected and re-sent what it
    had not heard back about) does not run twice; and results, each kept
    until its client acknowledges it, so a registry that restarts or fails
    over gets them again. A result that arrives for a key already held
    changes nothing: the first one stays.

    And, per shard, the highest attempt tracked, for the most recent
    ZF_DISP_ATTEMPTS_KEPT shards at least (twice that at most): an attempt
    the broker ran is never run again under the same number, even when the
    client that asks for it again has lost its history of it (a registry
    restored from an older copy).
*/
#ifndef ZF_DISP_RESULTS_H_INCLUDED
#define ZF_DISP_RESULTS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sub.h"
#include "zf_held.h"

typedef struct _zf_disp_results_t zf_disp_results_t;

//  Shards whose last attempt is remembered, at least (a power of two).
#define ZF_DISP_ATTEMPTS_KEPT 65536

//  Empty tables; NULL if out of memory.
zf_disp_results_t *zf_disp_results_new (void);

//  Destroys the tables and every held result (not the subtasks); idempotent.
void zf_disp_results_destroy (zf_disp_results_t **self_p);

//  Records a subtask as in flight under its key, and its attempt as used.
//  Returns 0, or -1 if that key is in flight already or memory ran out.
int zf_disp_results_track (zf_disp_results_t *self, zf_disp_sub_t *sub);

//  The highest attempt tracked for key's shard (key's attempt is ignored),
//  0 if none is remembered.
uint32_t zf_disp_results_last_attempt (zf_disp_results_t *self, const zf_task_key_t *key);

//  The subtask in flight under key, or NULL.
zf_disp_sub_t *zf_disp_results_inflight (zf_disp_results_t *self, const zf_task_key_t *key);

//  Forgets a subtask in flight (before its key changes, or when it is done).
void zf_disp_results_untrack (zf_disp_results_t *self, zf_disp_sub_t *sub);

//  Subtasks in flight.
size_t zf_disp_results_inflight_count (zf_disp_results_t *self);

//  Holds a copy of a result for owner until acknowledged; service is the
//  one it came through and final marks the FINAL of an order. Returns the
//  held result, or NULL if one with this key is held already (*duplicate
//  set, if not NULL) or memory ran out.
zf_held_item_t *zf_disp_results_hold (zf_disp_results_t *self, void *owner, const char *service,
                                      const zf_result_t *result, bool final, bool *duplicate);

//  The result held under key, or NULL.
zf_held_item_t *zf_disp_results_find (zf_disp_results_t *self, const zf_task_key_t *key);

//  Forgets the result under key. Returns 0, or -1 if none was held.
int zf_disp_results_ack (zf_disp_results_t *self, const zf_task_key_t *key);

//  Results held.
size_t zf_disp_results_held (zf_disp_results_t *self);

//  The held result after prev (oldest first; NULL prev for the oldest), or NULL.
zf_held_item_t *zf_disp_results_next (zf_disp_results_t *self, zf_held_item_t *prev);

//  The client a held result is for (its result, service and kind are
//  zf_held_result, zf_held_service and zf_held_final).
void *zf_disp_held_owner (zf_held_item_t *held);

//  Gives a held result to another owner (a client that came back under a
//  new identity).
void zf_disp_held_set_owner (zf_held_item_t *held, void *owner);

#endif
