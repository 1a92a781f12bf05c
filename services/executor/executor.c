/*  executor.c - the executor actor: a worker offering shell and noop. */
#include "executor.h"
#include "shell.h"
#include "zf_limits.h"
#include "zf_log.h"
#include "zf_worker.h"

#include <assert.h>
#include <unistd.h>

void
zf_executor_config_defaults (zf_executor_config_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof *cfg);
    cfg->dispatcher = "tcp://127.0.0.1:5560";
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    cfg->slots = cores > 0 ? (uint32_t)cores : 1;
    cfg->log_dir = "var/logs";
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->grace_ms = 5000;
    cfg->log_cap = ZF_TASK_LOG_CAP;
}

void
zf_executor_actor (zsock_t *pipe, void *args)
{
    const zf_executor_config_t *cfg = args;
    zf_worker_config_t worker_cfg;
    zf_worker_config_defaults (&worker_cfg);
    worker_cfg.name = cfg->name;
    worker_cfg.endpoint = cfg->dispatcher;
    worker_cfg.slots = cfg->slots;
    worker_cfg.heartbeat_ms = cfg->heartbeat_ms;
    worker_cfg.liveness = cfg->liveness;
    //  A keeper outlives silence from the executor for twice the time the
    //  dispatcher takes to count the executor lost: a busy moment of the
    //  loop costs no task, and the old attempt is still dead well before
    //  the dispatcher's repeat hold (8 s) lets the next one start.
    zf_runner_config_t runner_cfg = {cfg->log_dir, cfg->name, cfg->grace_ms, cfg->log_cap,
                                     2 * cfg->heartbeat_ms * (int64_t)cfg->liveness};
    zf_worker_t *worker = cfg->name && cfg->log_dir ? zf_worker_new (&worker_cfg) : NULL;
    zf_shell_t *shell = worker ? zf_shell_new (&runner_cfg) : NULL;
    if (!shell || zf_worker_register_engine (worker, "shell", &zf_shell_engine, shell) != 0) {
        zf_log_error ("executor cannot start name=%s", cfg->name ? cfg->name : "(none)");
        zsock_signal (pipe, 1);
    } else
        zf_worker_serve (worker, pipe);
    zf_shell_destroy (&shell);
    zf_worker_destroy (&worker);
}
