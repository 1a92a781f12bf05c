/*  runner.h - runs shell commands for an executor, without leaving orphans.

    Each job runs as `/bin/sh -c COMMAND` under a keeper process (keeper.h,
    the zflow-keeper program beside the running one),
    in a new process group, with the ZFLOW_* environment of DESIGN.md, in
    its working folder, stdin from /dev/null and stdout and stderr into the
    attempt's log file (LOG_ROOT/FLOW/DATE/TASK[.SHARD].ATTEMPT.log; a
    speculative copy writes ...ATTEMPT.copy.log). A job with a rollback
    command runs it first, in the same way, and fails if it fails.

    Nothing blocks: the runner adds a reader for each process's output pipe
    and one for its keeper's pidfd (readable when the keeper exits, which
    is after the shell and everything it started) to the caller's zloop,
    and timers for timeouts. A timeout or a cancel asks the keeper to send
    SIGTERM to every process of the job, and to kill them all after the
    grace period. When the shell exits, the keeper kills whatever it left
    running, in its group or not: a finished job leaves nothing behind.

    No orphans when the executor itself dies, however it dies: each
    keeper's control socket reaches end of file and the keeper kills its
    job's processes. A small guard process (guard.h), forked when the
    runner starts, kills the process groups of keepers that were themselves
    killed outright, once the executor has ended.
*/
#ifndef ZF_RUNNER_H_INCLUDED
#define ZF_RUNNER_H_INCLUDED

#include <czmq.h>
#include <stdint.h>
#include "zf_dispatch.h"

typedef struct _zf_runner_t zf_runner_t;

//  Settings.
typedef struct {
    const char *log_root; //  folder of the task logs (FLOW/DATE/... below it)
    const char *executor; //  this executor's name (ZFLOW_EXECUTOR)
    int64_t grace_ms;     //  SIGTERM to SIGKILL, after a timeout or cancel
    size_t log_cap;       //  bytes kept per log file (ZF_TASK_LOG_CAP)
    int64_t lease_ms;     //  a keeper that hears nothing from the runner this long kills
                          //  its task (keeper.h), or 0: never. The runner renews every
                          //  lease while its loop runs.
} zf_runner_config_t;

//  How a job ended.
typedef struct {
    uint64_t job_id;      //  the job's id
    int status;           //  ZF_JOB_SUCCEEDED, _FAILED, _TIMED_OUT or _CANCELLED
    int32_t exit_status;  //  exit code, or -signal number
    int64_t started;      //  ms since the epoch
    int64_t ended;        //  ms since the epoch
    const char *log_tail; //  the last output (at most ZF_LOG_TAIL bytes)
    const char *log_path; //  its log file
} zf_run_result_t;

//  Called in the loop's thread when a job has ended; returning -1 ends the
//  loop, like any zloop handler.
typedef int (zf_runner_done_fn) (void *arg, const zf_run_result_t *result);

//  Called from zf_runner_start once a job's first process has started.
typedef void (zf_runner_started_fn) (void *arg, uint64_t job_id);

//  A runner adding its readers and timers to loop (borrowed). Starts the
//  guard process. NULL if that fails, the configuration is incomplete or
//  zflow-keeper is not beside the running program.
zf_runner_t *zf_runner_new (zloop_t *loop, const zf_runner_config_t *cfg,
                            zf_runner_started_fn *started, zf_runner_done_fn *done, void *arg);

//  Kills every running job's processes, reaps the keepers, stops the
//  guard; idempotent. Nothing is reported for the jobs killed.
void zf_runner_destroy (zf_runner_t **self_p);

//  Starts a job (job->command, and job->rollback first if set). Returns 0,
//  or -1 with the reason in err if it could not start (it is then not
//  running and no callback follows).
int zf_runner_start (zf_runner_t *self, const zf_job_t *job, char *err, size_t err_size);

//  Cancels a running job: SIGTERM to all its processes, SIGKILL after the
//  grace period; it ends as CANCELLED. Returns 0, or -1 if no such job runs.
int zf_runner_cancel (zf_runner_t *self, uint64_t job_id);

//  Jobs running now.
size_t zf_runner_running (zf_runner_t *self);

//  The guard's process id (for tests).
pid_t zf_runner_guard_pid (zf_runner_t *self);

//  True if a log path component is safe: not empty, no '/', not starting
//  with '.', printable ASCII only.
bool zf_runner_safe_name (const char *name);

#endif
