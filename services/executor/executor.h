/*  executor.h - zflow-executor: a worker with the shell engine and N slots.

    The executor is a zf_worker (libs/worker) that offers "shell" for run:
    commands (through the process runner) and the built-in "noop". It is an
    actor: tests start it in-process against a dispatcher on
    tcp://127.0.0.1:PORT, and main() starts it for the program.
*/
#ifndef ZF_EXECUTOR_H_INCLUDED
#define ZF_EXECUTOR_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

//  Settings; zf_executor_config_defaults fills the defaults named here.
typedef struct {
    const char *name;       //  executor name (required)
    const char *dispatcher; //  endpoint ("tcp://127.0.0.1:5560")
    uint32_t slots;         //  jobs at once (number of cores)
    const char *log_dir;    //  task logs go below it ("var/logs")
    int64_t heartbeat_ms;   //  heartbeat interval (1000)
    uint32_t liveness;      //  intervals the dispatcher may stay silent (3)
    int64_t grace_ms;       //  SIGTERM to SIGKILL on timeout or cancel (5000)
    size_t log_cap;         //  bytes kept per task log (ZF_TASK_LOG_CAP)
} zf_executor_config_t;

//  Fills the defaults (name stays NULL).
void zf_executor_config_defaults (zf_executor_config_t *cfg);

//  zactor body: args is a zf_executor_config_t, read before the actor
//  signals. Signals 0 once serving (or 1 if it cannot start), stops on
//  $TERM, answers STATS and RUNNING like zf_worker_serve.
void zf_executor_actor (zsock_t *pipe, void *args);

#endif
