/*  zf_worker.h - the worker side of zflow's dispatch: a program that runs
    tasks for the dispatcher, and the C API for in-process handlers.

    A worker connects a DEALER to the dispatcher's ROUTER, says READY with
    its name, slots and services, and then runs the jobs it is sent:
      - "noop", built in: succeeds at once, no process, no thread;
      - services registered with zf_worker_register: a handler call on one
        of the worker's handler threads (zf_task.h says what it sees);
      - services registered with zf_worker_register_engine: jobs an engine
        runs asynchronously in the worker's loop (the executor's shell jobs).
    Its results stay with it until the dispatcher acknowledges them, and go
    again after a reconnect. Heartbeats go both ways from the socket
    thread, which runs no task code, so a long task cannot hold them up; a
    dispatcher silent for liveness intervals is reconnected to.

    A worker program:
        zf_worker_config_t cfg;
        zf_worker_config_defaults (&cfg);
        cfg.name = "settle-1";
        zf_worker_t *worker = zf_worker_new (&cfg);
        zf_worker_register (worker, "settle", s_settle, NULL);
        zactor_t *actor = zactor_new (zf_worker_actor, worker);
        ... wait for a signal ...
        zactor_destroy (&actor);
        zf_worker_destroy (&worker);
*/
#ifndef ZF_WORKER_H_INCLUDED
#define ZF_WORKER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "zf_cache.h"
#include "zf_dispatch.h"
#include "zf_tail.h"
#include "zf_task.h"

typedef struct _zf_worker_t zf_worker_t;

//  Services one worker offers at most, the built-in noop included.
#define ZF_WORKER_MAX_SERVICES 64

//  Results a worker keeps unacknowledged at most; past this the oldest go
//  (with an error logged), so a dispatcher that never acknowledges cannot
//  grow a worker without end.
#define ZF_WORKER_MAX_HELD 100000

//  The name of the built-in service that succeeds at once.
#define ZF_WORKER_NOOP "noop"

//  Settings; zf_worker_config_defaults fills the defaults named here.
typedef struct {
    const char *name;     //  executor name, unique among workers (required)
    const char *endpoint; //  the dispatcher ("tcp://127.0.0.1:5560")
    uint32_t slots;       //  jobs it runs at once (number of cores)
    int64_t heartbeat_ms; //  heartbeat interval, the dispatcher's too (1000)
    uint32_t liveness;    //  intervals the dispatcher may stay silent (3)
    size_t cache_bytes;   //  capacity of the handlers' cache (256 MiB)
} zf_worker_config_t;

//  An engine: runs the jobs of a service asynchronously in the worker's
//  loop thread and reports through zf_worker_job_started/_done.
typedef struct {
    //  In the loop thread, before it serves: set up (add readers to loop).
    //  Returns 0, or -1 to refuse to serve.
    int (*open) (void *arg, zf_worker_t *worker, zloop_t *loop);
    //  Starts a job. Returns 0, or -1 with the reason in err.
    int (*start) (void *arg, const zf_job_t *job, char *err, size_t err_size);
    //  Stops a job; it still reports its end. Returns 0, or -1 if unknown.
    int (*cancel) (void *arg, uint64_t job_id);
    //  In the loop thread, after serving: tear down (kill what runs).
    void (*close) (void *arg);
} zf_worker_engine_t;

//  Counters, for tests and monitoring.
typedef struct {
    uint64_t jobs;       //  jobs received
    uint64_t results;    //  results made
    uint64_t reconnects; //  times it connected again
    uint64_t orphaned;   //  jobs stopped because their dispatcher session was lost
    uint64_t malformed;  //  messages from the dispatcher that did not decode
    uint64_t refused;    //  jobs answered without running (older epoch, unknown service, no memory)
    uint64_t dropped;    //  messages and results lost: not sent, not encoded, not held
    size_t held;         //  results not yet acknowledged
    size_t running;      //  jobs running or queued for a thread
} zf_worker_stats_t;

//  Fills the defaults (name stays NULL).
void zf_worker_config_defaults (zf_worker_config_t *cfg);

//  A worker; NULL if the configuration lacks a name or memory runs out.
zf_worker_t *zf_worker_new (const zf_worker_config_t *cfg);

//  Destroys a worker that is not serving; idempotent.
void zf_worker_destroy (zf_worker_t **self_p);

//  Registers a handler for a service. Returns 0, or -1 if the name is taken,
//  invalid, or ZF_WORKER_MAX_SERVICES are registered.
int zf_worker_register (zf_worker_t *self, const char *service, zf_handler_fn *handler, void *arg);

//  Registers an engine for a service (engine is copied). Returns 0 or -1.
int zf_worker_register_engine (zf_worker_t *self, const char *service,
                               const zf_worker_engine_t *engine, void *arg);

//  For engines, in the loop thread: a job started, or ended.
void zf_worker_job_started (zf_worker_t *self, uint64_t job_id);
void zf_worker_job_done (zf_worker_t *self, uint64_t job_id, int status, int32_t exit_status,
                         int64_t started, int64_t ended, const char *log_tail);

//  The worker's name.
const char *zf_worker_name (zf_worker_t *self);

//  Serves in the calling thread until "$TERM" arrives on pipe (signalling
//  pipe once ready). Returns 0, or -1 if it could not start (signalled as
//  -1 on the pipe). The pipe also answers "STATS" with the counters as
//  named fields (zf_pipe.h): jobs, results, reconnects, orphaned, malformed,
//  refused, dropped, held and running (jobs running now).
int zf_worker_serve (zf_worker_t *self, zsock_t *pipe);

//  zactor body: args is the zf_worker_t, which must outlive the actor.
void zf_worker_actor (zsock_t *pipe, void *args);

//  Counters (call while not serving, or from the serving thread).
void zf_worker_stats (zf_worker_t *self, zf_worker_stats_t *stats);

#endif
