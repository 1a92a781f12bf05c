/*  zf_task.c - the task a handler runs: a copy of its job, a cancel flag, its output. */
#include "zf_task.h"
#include "zf_strblock.h"
#include "zf_tail.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _zf_task_t {
    zf_job_t job;          //  the job; strings live after this struct
    const char *executor;  //  executor name (after this struct too)
    zf_cache_t *cache;     //  the executor's cache (borrowed)
    atomic_bool cancelled; //  raised by a cancel or a timeout
    zf_tail_t output;      //  what the handler logged
};

zf_task_t *
zf_task_new (const zf_job_t *job, const char *executor, zf_cache_t *cache)
{
    assert (job && executor);
    size_t bytes = sizeof (zf_task_t) + job->env_count * sizeof (char *);
    bytes += zf_strblock_size (job->key.flow) + zf_strblock_size (job->key.task) +
             zf_strblock_size (job->shard_key) + zf_strblock_size (job->service) +
             zf_strblock_size (job->command) + zf_strblock_size (job->rollback) +
             zf_strblock_size (job->cwd) + zf_strblock_size (executor);
    for (size_t i = 0; i < job->env_count; i++)
        bytes += zf_strblock_size (job->env[i]);
    zf_task_t *self = calloc (1, bytes);
    if (!self) return NULL;
    const char **env = (const char **)(self + 1);
    char *cursor = (char *)(env + job->env_count);
    self->job = *job;
    self->job.key.flow = zf_strblock_place (&cursor, job->key.flow);
    self->job.key.task = zf_strblock_place (&cursor, job->key.task);
    self->job.shard_key = zf_strblock_place (&cursor, job->shard_key);
    self->job.service = zf_strblock_place (&cursor, job->service);
    self->job.command = zf_strblock_place (&cursor, job->command);
    self->job.rollback = zf_strblock_place (&cursor, job->rollback);
    self->job.cwd = zf_strblock_place (&cursor, job->cwd);
    for (size_t i = 0; i < job->env_count; i++)
        env[i] = zf_strblock_place (&cursor, job->env[i]);
    self->job.env = job->env_count ? env : NULL;
    self->executor = zf_strblock_place (&cursor, executor);
    self->cache = cache;
    atomic_init (&self->cancelled, false);
    return self;
}

void
zf_task_destroy (zf_task_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

const char *
zf_task_flow (zf_task_t *self)
{
    assert (self);
    return self->job.key.flow;
}

zf_date_t
zf_task_date (zf_task_t *self)
{
    assert (self);
    return self->job.key.date;
}

const char *
zf_task_id (zf_task_t *self)
{
    assert (self);
    return self->job.key.task;
}

uint32_t
zf_task_attempt (zf_task_t *self)
{
    assert (self);
    return self->job.key.attempt;
}

uint32_t
zf_task_shard_index (zf_task_t *self)
{
    assert (self);
    return self->job.key.shard >= 0 ? (uint32_t)self->job.key.shard : 0;
}

uint32_t
zf_task_shard_count (zf_task_t *self)
{
    assert (self);
    return self->job.shard_count ? self->job.shard_count : 1;
}

const char *
zf_task_shard_key (zf_task_t *self)
{
    assert (self);
    return self->job.shard_key;
}

const char *
zf_task_executor (zf_task_t *self)
{
    assert (self);
    return self->executor;
}

const char *
zf_task_env (zf_task_t *self, const char *key)
{
    assert (self && key);
    size_t len = strlen (key);
    for (size_t i = 0; i < self->job.env_count; i++)
        if (strncmp (self->job.env[i], key, len) == 0 && self->job.env[i][len] == '=')
            return self->job.env[i] + len + 1;
    return NULL;
}

bool
zf_task_cancelled (zf_task_t *self)
{
    assert (self);
    return atomic_load (&self->cancelled);
}

zf_cache_t *
zf_task_cache (zf_task_t *self)
{
    assert (self);
    return self->cache;
}

void
zf_task_log (zf_task_t *self, const char *format, ...)
{
    assert (self && format);
    char line[1024];
    va_list args;
    va_start (args, format);
    int len = vsnprintf (line, sizeof line - 1, format, args);
    va_end (args);
    if (len < 0) return;
    if ((size_t)len > sizeof line - 2) len = (int)sizeof line - 2;
    line[len++] = '\n';
    zf_tail_add (&self->output, line, (size_t)len);
}

const zf_job_t *
zf_task_job (zf_task_t *self)
{
    assert (self);
    return &self->job;
}

void
zf_task_cancel (zf_task_t *self)
{
    assert (self);
    atomic_store (&self->cancelled, true);
}

size_t
zf_task_output (zf_task_t *self, char *out, size_t size)
{
    assert (self);
    return zf_tail_text (&self->output, out, size);
}
