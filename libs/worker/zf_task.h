/*  zf_task.h - what an in-process handler sees of the task it runs.

    A worker program registers a handler under a service name; a flow task
    with `service: NAME` then runs as a call to that handler on one of the
    worker's handler threads, one call per shard. The handler learns which
    shard of which task on which business date it runs, may keep data in
    the executor's cache for later tasks with the same shard key, polls the
    cancel flag when it runs for long (a timeout and a cancel both raise it;
    a thread cannot be killed, so a handler that never looks runs to its
    end), and logs lines that come back with the result.
*/
#ifndef ZF_TASK_H_INCLUDED
#define ZF_TASK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_cache.h"
#include "zf_dispatch.h"
#include "zf_time.h"

typedef struct _zf_task_t zf_task_t;

//  Runs one shard of a task. Returns 0 for success, anything else for
//  failure (reported as the exit status).
typedef int (zf_handler_fn) (zf_task_t *task, void *arg);

//  The flow, business date, task id and attempt (from 1).
const char *zf_task_flow (zf_task_t *self);
zf_date_t zf_task_date (zf_task_t *self);
const char *zf_task_id (zf_task_t *self);
uint32_t zf_task_attempt (zf_task_t *self);

//  The shard: index 0 and count 1 for an unsharded task; the key, or NULL
//  when the flow gave a shard count rather than keys.
uint32_t zf_task_shard_index (zf_task_t *self);
uint32_t zf_task_shard_count (zf_task_t *self);
const char *zf_task_shard_key (zf_task_t *self);

//  The executor running it.
const char *zf_task_executor (zf_task_t *self);

//  The value of an environment entry the order gave (KEY=VALUE), or NULL.
const char *zf_task_env (zf_task_t *self, const char *key);

//  True once the task should stop (cancelled, or its timeout passed).
bool zf_task_cancelled (zf_task_t *self);

//  The executor's cache.
zf_cache_t *zf_task_cache (zf_task_t *self);

//  Adds a line to the task's output; the last ZF_LOG_TAIL bytes come back
//  with the result.
void zf_task_log (zf_task_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  For the worker runtime and tests: a task for a job (copied), on the named
//  executor, sharing cache (borrowed). NULL if out of memory.
zf_task_t *zf_task_new (const zf_job_t *job, const char *executor, zf_cache_t *cache);

//  Destroys a task; idempotent.
void zf_task_destroy (zf_task_t **self_p);

//  The job it runs (its strings live in the task).
const zf_job_t *zf_task_job (zf_task_t *self);

//  Raises the cancel flag; any thread may call it.
void zf_task_cancel (zf_task_t *self);

//  Writes the output's tail as text; returns its length.
size_t zf_task_output (zf_task_t *self, char *out, size_t size);

#endif
