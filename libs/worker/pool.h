/*  pool.h - the threads that run in-process handlers.

    Handlers block as long as their work takes, so they run on their own
    threads and never on the worker's socket thread, whose heartbeats a
    long task therefore cannot hold up. The socket thread submits tasks and
    watches an eventfd; each task reports twice through it, once when a
    thread starts it and once when its handler has returned.
*/
#ifndef ZF_POOL_H_INCLUDED
#define ZF_POOL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "zf_task.h"

typedef struct _zf_pool_t zf_pool_t;

//  What happened to a task.
typedef enum {
    ZF_POOL_STARTED = 1, //  a thread took it
    ZF_POOL_DONE = 2     //  its handler returned (rc says what)
} zf_pool_event_t;

//  A pool of threads (at least one); NULL if they cannot start.
zf_pool_t *zf_pool_new (size_t threads);

//  Drops queued tasks, raises the cancel flag of running ones and waits for
//  their handlers to return; idempotent. Tasks stay the caller's.
void zf_pool_destroy (zf_pool_t **self_p);

//  The eventfd that is readable while events wait.
int zf_pool_fd (zf_pool_t *self);

//  Queues a task (borrowed until its DONE event) for handler fn. Returns
//  0, or -1 if out of memory.
int zf_pool_submit (zf_pool_t *self, zf_task_t *task, zf_handler_fn *fn, void *arg);

//  Takes a queued task back before any thread started it. Returns true if
//  it was still queued (no event will come for it).
bool zf_pool_withdraw (zf_pool_t *self, zf_task_t *task);

//  Takes the next event: true with *task, *event and (for DONE) *rc set,
//  or false when none waits.
bool zf_pool_next (zf_pool_t *self, zf_task_t **task, int *event, int *rc);

#endif
