/*  broker.h - the dispatcher's core: orders in, jobs out, results back.

    Plain C with an injectable clock and no sockets. The actor around it
    (dispatcher.c) decodes messages and calls the functions below; whatever
    the broker wants sent comes back through the callbacks in
    zf_broker_ops_t, which the actor batches per peer and sends when the
    call returns. Tests drive the broker with a fake clock and record the
    callbacks.

    What the broker does with work:
      - an order (one task, or some of its shards) becomes one subtask per
        shard, queued on its service;
      - a keyed shard prefers the worker that rendezvous hashing picks among
        the service's live workers, and waits up to locality_wait_ms for it;
      - other shards go to the least loaded worker with room, workers that
        hold none of the order's shards first;
      - a worker may hold a few copies beyond its slots, so the next job is
        there when one ends: up to prefetch for quick services, down to
        one for services whose jobs take long (assign.c);
      - a pool limit caps the copies of one service with workers at once;
      - each shard result goes to the client as a PARTIAL, except the one
        that completes the order, which goes as its FINAL (an unsharded
        task's one result is its FINAL); results stay held until the client
        acknowledges them, and are sent again when the client says HELLO;
      - an order for a service that no worker offers waits, up to its
        wait_ms if it gives one; then its shards end as no_worker (a
        REFUSED at once, and a result held like any other);
      - a client that falls silent for liveness heartbeat intervals is
        forgotten: a named one finds what it holds when it says HELLO again,
        an anonymous one's orders are cancelled and its results dropped;
      - a worker that falls silent for liveness heartbeat intervals is dead:
        each shard it held is reported LOST and runs again at attempt + 1,
        with its rollback command first;
      - a repeat never overlaps the attempt it repeats: a shard requeued
        from a lost worker, and an order of attempt 2 or more that comes
        in the broker's first repeat_hold_ms (the dispatcher restarted; an
        executor that outlived the old one may still run the attempt
        before), wait until repeat_hold_ms after the loss or the start.
        That is the time an executor takes to notice its dispatcher is
        gone (liveness) and to stop what it ran for it (its grace);
      - a speculative order's shard that runs longer than straggler_factor
        times the median of its finished siblings (and straggler_min_ms)
        gets a copy on another worker; the first success wins and the other
        copy is cancelled.

    Time reaches the broker two ways. zf_broker_tick, called a few times per
    heartbeat interval, sends heartbeats and buries silent workers. Every
    other wait has a moment the broker knows in advance (a straggler's is
    set by its start and its siblings' median, a keyed shard's and an
    order's by when they were queued): zf_broker_next_deadline says the
    earliest, the actor arms one timer for it and calls zf_broker_expire
    when it comes, and asks again after every call, since any call may
    move it.

    Subtask states (sub.h):
      queued  --assign-->  running  --result-->  done
      running --worker lost--> queued (attempt + 1, held back first)
      queued  --cancel / no worker in time-->  done
*/
#ifndef ZF_BROKER_H_INCLUDED
#define ZF_BROKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_clock.h"
#include "zf_dispatch.h"
#include "zf_dispevent.h"
#include "worker.h"

typedef struct _zf_broker_t zf_broker_t;

//  Settings; zf_broker_config_defaults fills the defaults named here.
typedef struct {
    int64_t heartbeat_ms;     //  heartbeat interval both ways (1000)
    uint32_t liveness;        //  intervals a worker may stay silent (3)
    uint32_t prefetch;        //  copies beyond its slots a worker may hold, at most (64)
    double straggler_factor;  //  speculative copy after this times the median (3)
    int64_t straggler_min_ms; //  ... and after at least this long (10 s)
    int64_t locality_wait_ms; //  a keyed shard waits this long for its worker (1 s)
    size_t backlog;           //  subtasks in flight plus results held, at most (ZF_MAX_SHARDS)
    int64_t repeat_hold_ms;   //  a repeat waits this long after a loss or the start (8 s)
} zf_broker_config_t;

//  What the broker asks its actor to send. Pointers are valid only during
//  the call; identities are ROUTER identities.
typedef struct {
    //  A job for a worker, from an order of the given epoch and client name.
    void (*job) (void *arg, zf_disp_worker_t *worker, const char *client, uint64_t epoch,
                 const zf_job_t *job);
    //  Kill a job the worker holds.
    void (*cancel) (void *arg, zf_disp_worker_t *worker, uint64_t job_id);
    //  The broker holds this result now; the worker may forget it.
    void (*worker_ack) (void *arg, zf_disp_worker_t *worker, const zf_task_key_t *key);
    //  A heartbeat for a worker.
    void (*heartbeat) (void *arg, zf_disp_worker_t *worker);
    //  A heartbeat for a client that said HELLO.
    void (*client_heartbeat) (void *arg, const void *identity, size_t size);
    //  Tell this identity to start over (unknown, dropped or replaced worker).
    void (*disconnect) (void *arg, const void *identity, size_t size);
    //  A result for a client: PARTIAL, or FINAL when final is set.
    void (*result) (void *arg, const void *identity, size_t size, const char *service,
                    const zf_result_t *result, bool final);
    //  Orders refused (ERROR), for the service named.
    void (*refused) (void *arg, const void *identity, size_t size, const char *service,
                     const zf_refused_t *refused);
    //  The answer to a client's HELLO.
    void (*hello_reply) (void *arg, const void *identity, size_t size,
                         const zf_hello_reply_t *reply);
    //  A monitoring event (seq and time filled in).
    void (*event) (void *arg, const zf_dispevent_t *event);
} zf_broker_ops_t;

//  Counters for monitoring and tests.
typedef struct {
    uint64_t orders;          //  orders taken
    uint64_t jobs;            //  copies sent to workers
    uint64_t results;         //  shard results made (winners only)
    uint64_t requeued;        //  shards requeued after their worker died
    uint64_t speculative;     //  speculative copies started
    uint64_t refused;         //  orders refused
    uint64_t stale;           //  worker results for nothing in flight
    uint64_t fenced;          //  HELLOs and orders refused for a term no registry announced
    uint64_t forgotten;       //  clients forgotten, silent past liveness
    uint64_t unclaimed;       //  results dropped: their anonymous client was forgotten
    uint64_t repeats_held;    //  repeated attempts held back until the copy before had to be gone
    uint64_t attempts_raised; //  shards ordered at an attempt that had run: run at the next
    size_t queued;            //  subtasks waiting for a worker now (those held back included)
    size_t inflight;          //  subtasks not done now
    size_t held;              //  results held for clients now
    size_t workers;           //  live workers now
} zf_broker_stats_t;

//  Fills the defaults.
void zf_broker_config_defaults (zf_broker_config_t *cfg);

//  A broker on this clock (borrowed) sending through ops. NULL if out of
//  memory or the configuration makes no sense (an interval or liveness of 0).
zf_broker_t *zf_broker_new (const zf_broker_config_t *cfg, zf_clock_t *clock,
                            const zf_broker_ops_t *ops, void *arg);

//  Destroys the broker and everything it holds; idempotent.
void zf_broker_destroy (zf_broker_t **self_p);

//  Sets the pool limit of a service (0 = none). Returns 0, or -1 if the
//  service table is full.
int zf_broker_set_pool (zf_broker_t *self, const char *service, uint32_t limit);

//  A client's HELLO: fenced by epoch, then answered with what is in flight
//  for that client, followed by every result held for it.
void zf_broker_hello (zf_broker_t *self, const void *identity, size_t size,
                      const zf_hello_t *hello);

//  A client's REQUEST for a service: orders to run.
void zf_broker_dispatch (zf_broker_t *self, const void *identity, size_t size, const char *service,
                         const zf_dispatch_t *dispatch);

//  A client acknowledges results: the broker forgets them.
void zf_broker_ack (zf_broker_t *self, const void *identity, size_t size, const zf_ack_t *ack);

//  A client cancels a task, one shard, or (task NULL) a whole run.
void zf_broker_cancel (zf_broker_t *self, const void *identity, size_t size,
                       const zf_cancel_t *cancel);

//  A client's heartbeat: it is alive. Any message from a client counts the
//  same; one silent past liveness is forgotten (broker_internal.h).
void zf_broker_client_heartbeat (zf_broker_t *self, const void *identity, size_t size);

//  A worker's READY. Returns 0, or -1 if it was refused (and told to
//  disconnect).
int zf_broker_worker_ready (zf_broker_t *self, const void *identity, size_t size,
                            const zf_worker_ready_t *ready);

//  A worker's results (PARTIAL or FINAL). Returns 0, or -1 if the worker is
//  unknown (and told to disconnect).
int zf_broker_worker_results (zf_broker_t *self, const void *identity, size_t size,
                              const zf_results_t *results);

//  A worker's heartbeat. Returns 0, or -1 if the worker is unknown (and
//  told to disconnect).
int zf_broker_worker_heartbeat (zf_broker_t *self, const void *identity, size_t size);

//  A worker said DISCONNECT (reason NULL), or broke the protocol (reason
//  says how): it is dropped at once and its work requeued. Returns 0, or -1 (and nothing happens)
//  for an identity that is no worker.
int zf_broker_worker_gone (zf_broker_t *self, const void *identity, size_t size,
                           const char *reason);

//  Does what the heartbeat asks: heartbeats due to workers and clients,
//  and silent workers buried (their work requeued).
void zf_broker_tick (zf_broker_t *self);

//  When zf_broker_expire next has something to do, on the clock's monotonic
//  time (zf_clock_mono_us); -1 if nothing waits on time. It may be early
//  (expire then finds nothing and the deadline moves on), never late.
int64_t zf_broker_next_deadline (zf_broker_t *self);

//  Does what has come due: stragglers' speculative copies, keyed shards done
//  waiting for their worker, orders done waiting for any worker. After it
//  the next deadline lies in the future.
void zf_broker_expire (zf_broker_t *self);

//  Publishes a worker_join event for every live worker again, stamped with
//  the time it joined: for a subscriber that came after the joins (the
//  dispatcher calls it when one subscribes to them).
void zf_broker_announce_workers (zf_broker_t *self);

//  Counters.
void zf_broker_stats (zf_broker_t *self, zf_broker_stats_t *stats);

//  The live worker named name, or NULL (for tests and monitoring).
zf_disp_worker_t *zf_broker_worker (zf_broker_t *self, const char *name);

#endif
