/*  shell.c - run: commands as a worker engine. The runner is made in the
    worker's loop thread (the engine's open), which is the thread that forks
    every shell, so PR_SET_PDEATHSIG follows that thread's life. */
#include "shell.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _zf_shell_t {
    zf_runner_config_t cfg; //  runner settings (strings owned)
    zf_runner_t *runner;    //  while open
    zf_worker_t *worker;    //  while open: where results go
};

zf_shell_t *
zf_shell_new (const zf_runner_config_t *cfg)
{
    assert (cfg && cfg->log_root && cfg->executor);
    zf_shell_t *self = calloc (1, sizeof (zf_shell_t));
    if (!self) return NULL;
    self->cfg = *cfg;
    self->cfg.log_root = strdup (cfg->log_root);
    self->cfg.executor = strdup (cfg->executor);
    if (!self->cfg.log_root || !self->cfg.executor) {
        zf_shell_destroy (&self);
        return NULL;
    }
    return self;
}

void
zf_shell_destroy (zf_shell_t **self_p)
{
    assert (self_p);
    zf_shell_t *self = *self_p;
    if (!self) return;
    zf_runner_destroy (&self->runner);
    free ((char *)self->cfg.log_root);
    free ((char *)self->cfg.executor);
    free (self);
    *self_p = NULL;
}

static void
s_started (void *arg, uint64_t job_id)
{
    zf_shell_t *self = arg;
    zf_worker_job_started (self->worker, job_id);
}

static int
s_done (void *arg, const zf_run_result_t *result)
{
    zf_shell_t *self = arg;
    zf_worker_job_done (self->worker, result->job_id, result->status, result->exit_status,
                        result->started, result->ended, result->log_tail);
    return 0;
}

static int
s_open (void *arg, zf_worker_t *worker, zloop_t *loop)
{
    zf_shell_t *self = arg;
    self->worker = worker;
    self->runner = zf_runner_new (loop, &self->cfg, s_started, s_done, self);
    return self->runner ? 0 : -1;
}

static int
s_start (void *arg, const zf_job_t *job, char *err, size_t err_size)
{
    zf_shell_t *self = arg;
    return zf_runner_start (self->runner, job, err, err_size);
}

static int
s_cancel (void *arg, uint64_t job_id)
{
    zf_shell_t *self = arg;
    return zf_runner_cancel (self->runner, job_id);
}

static void
s_close (void *arg)
{
    zf_shell_t *self = arg;
    zf_runner_destroy (&self->runner);
    self->worker = NULL;
}

const zf_worker_engine_t zf_shell_engine = {
    .open = s_open,
    .start = s_start,
    .cancel = s_cancel,
    .close = s_close,
};
