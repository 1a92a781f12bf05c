/*  broker_internal.h - the broker's state, shared by its files.

    broker.c     clients, orders, results, acknowledgements, cancels, deadlines
    assign.c     placing subtasks on workers: queues, locality, pools, speculative copies
    speculate.c  the straggler watch: when a running shard earns a speculative copy
    liveness.c   the worker side: READY, results, heartbeats, loss and requeue
*/
#ifndef ZF_BROKER_INTERNAL_H_INCLUDED
#define ZF_BROKER_INTERNAL_H_INCLUDED

#include <czmq.h>
#include "broker.h"
#include "fence.h"
#include "rendezvous.h"
#include "results.h"
#include "service.h"
#include "shards.h"
#include "straggler.h"
#include "sub.h"
#include "worker.h"

//  Clients the broker keeps in touch with at once (named ones, and anonymous
//  ones with work); named clients that went away and hold work wait beyond it.
#define ZF_DISP_MAX_CLIENTS 1024

//  A client: the registry (named by its HELLO) or any peer that sent orders.
//  One silent for liveness heartbeat intervals is forgotten. A named one is
//  away: nothing is sent to it and it takes no place in the table, but what
//  it holds waits for it to speak again, from its identity or with a HELLO
//  from any other (one that holds nothing goes at once). An anonymous one
//  can never come back: its orders are cancelled and its results dropped.
typedef struct {
    char *name;                             //  HELLO name, or "@" and the identity in hex
    uint8_t identity[ZF_DISP_MAX_IDENTITY]; //  its ROUTER identity now
    size_t identity_size;                   //  bytes in identity
    char *hex;                              //  identity in hex, key of the identity table
    bool named;                             //  it said HELLO
    bool away;                              //  a named client forgotten, until it speaks
    size_t refs;                            //  live orders and held results that are its
    int64_t heard_us;                       //  when it last sent anything (monotonic)
} zf_broker_client_t;

struct _zf_broker_t {
    zf_broker_config_t cfg;         //  settings
    zf_clock_t *clock;              //  time (borrowed)
    zf_broker_ops_t ops;            //  what to send
    void *arg;                      //  for ops
    zf_disp_services_t *services;   //  services by name
    zf_disp_workers_t *workers;     //  live and dead workers
    zf_disp_results_t *results;     //  in-flight subtasks and held results
    zf_fence_t fence;               //  newest epoch seen
    zhashx_t *clients;              //  name -> client (owned)
    zhashx_t *client_ids;           //  hex identity -> client
    size_t live_clients;            //  clients not away, at most ZF_DISP_MAX_CLIENTS
    zf_disp_order_t *orders;        //  live orders, oldest first
    zf_disp_order_t *orders_tail;   //  newest live order
    zf_disp_order_t *spec;          //  speculative orders with open shards
    int64_t spec_due_us;            //  earliest deadline of those orders, -1 none
    bool spec_stale;                //  spec_due_us must be looked for again
    bool spec_waiting;              //  a straggler may wait for a worker with room
    int64_t local_due_us;           //  no keyed subtask's locality wait ends before; -1 none
    int64_t wait_due_us;            //  no order's wait for a worker ends before; -1 none
    int64_t started_us;             //  when the broker was made (monotonic)
    zf_disp_queue_t held;           //  repeats held back, earliest release first
    uint64_t next_job_id;           //  last job id given
    uint64_t assign_seq;            //  assignments so far, for round robin
    uint64_t event_seq;             //  events published so far
    int64_t client_heartbeat_at_us; //  when clients next hear a heartbeat
    zf_broker_stats_t stats;        //  counters
};

//  Now, on the monotonic clock.
int64_t zf_broker_now_us (zf_broker_t *self);

//  Publishes a monitoring event about a subtask (sub may be NULL), made now.
void zf_broker_event (zf_broker_t *self, int kind, zf_disp_worker_t *worker,
                      zf_disp_service_t *service, zf_disp_sub_t *sub, const char *detail);

//  The same, stamped with another time (ms since the epoch).
void zf_broker_event_at (zf_broker_t *self, int64_t time, int kind, zf_disp_worker_t *worker,
                         zf_disp_service_t *service, zf_disp_sub_t *sub, const char *detail);

//  A subtask has its result (or will never run): records it, tells the
//  client, and makes the order's FINAL when it was the last.
void zf_broker_finish_sub (zf_broker_t *self, zf_disp_sub_t *sub, const zf_result_t *result);

//  A result of a subtask that is not the winner's: a LOST notice, NO_WORKER
//  or CANCELLED without a worker. Fills the key and the rest from sub.
void zf_broker_finish_plain (zf_broker_t *self, zf_disp_sub_t *sub, int status, const char *detail);

//  Frees an order once all its subtasks are done and no copy is out.
void zf_broker_order_release (zf_broker_t *self, zf_disp_order_t *order);

//  Holds and sends a PARTIAL that is not a shard's end (a LOST notice).
void zf_broker_notice (zf_broker_t *self, zf_disp_sub_t *sub, int status, const char *detail);

//  Orders queued on the service may wait for a worker until their
//  wait_until_us: the no-worker deadline takes them in (it lost its last
//  worker, or never had one).
void zf_broker_watch_waits (zf_broker_t *self, zf_disp_service_t *service);

//  The no-worker deadline takes in one order's wait (0: it waits for ever).
void zf_broker_watch_wait (zf_broker_t *self, int64_t wait_until_us);

//  assign.c
//  Queues a subtask (at the front for requeued work) and places it at once
//  if a worker has room; one whose hold_until_us is still to come waits
//  in the held-back queue first.
void zf_broker_enqueue (zf_broker_t *self, zf_disp_sub_t *sub, bool front);

//  Queues the held-back repeats whose time has come.
void zf_broker_release_held (zf_broker_t *self, int64_t now_us);

//  Gives a worker with room as much queued work as it and the pools allow.
void zf_broker_pump_worker (zf_broker_t *self, zf_disp_worker_t *worker);

//  Places queued work of a service on any of its workers with room.
void zf_broker_pump_service (zf_broker_t *self, zf_disp_service_t *service);

//  Takes a copy back from its worker and undoes its counts.
void zf_broker_release_copy (zf_broker_t *self, zf_disp_copy_t *copy);

//  Takes a subtask out of the queue that holds it, if any.
void zf_broker_dequeue (zf_broker_t *self, zf_disp_sub_t *sub);

//  Keyed subtasks done waiting for their preferred worker go to any worker,
//  if the locality deadline has come.
void zf_broker_expire_locality (zf_broker_t *self, int64_t now_us);

//  Moves the keyed subtasks waiting for a worker to other queues (it died).
void zf_broker_rehome_local (zf_broker_t *self, zf_disp_worker_t *worker);

//  Starts a speculative copy of a running subtask on the best other worker
//  with room. Returns 0, or -1 if no worker or no room in the pool.
int zf_broker_assign_speculative (zf_broker_t *self, zf_disp_sub_t *sub);

//  speculate.c
//  Puts a new speculative order under the straggler watch.
void zf_broker_spec_add (zf_broker_t *self, zf_disp_order_t *order);

//  Removes a speculative order from the straggler watch; no-op if it is not
//  in it. Its shards must all have ended.
void zf_broker_spec_remove (zf_broker_t *self, zf_disp_order_t *order);

//  Watches a shard whose one copy said it started, if its order is
//  speculative and it may still get a copy.
void zf_broker_spec_watch (zf_broker_t *self, zf_disp_sub_t *sub);

//  Stops watching a shard (it got its copy, lost it, ended or was
//  cancelled); no-op if it is not watched.
void zf_broker_spec_unwatch (zf_broker_t *self, zf_disp_sub_t *sub);

//  A shard of the order succeeded after duration_ms: the threshold moves.
void zf_broker_spec_finished (zf_broker_t *self, zf_disp_order_t *order, int64_t duration_ms);

//  Starts speculative copies of the shards that are stragglers by now_us.
void zf_broker_speculate (zf_broker_t *self, int64_t now_us);

//  Room may have come: stragglers that waited for it try again.
void zf_broker_spec_retry (zf_broker_t *self);

//  When the next shard becomes a straggler (monotonic); -1 if none will.
int64_t zf_broker_spec_deadline (zf_broker_t *self);

//  liveness.c
//  Handles every worker on the dead list: requeues its work, forgets it.
void zf_broker_bury_dead (zf_broker_t *self);

//  Sends heartbeats that are due and expires silent workers.
void zf_broker_heartbeats (zf_broker_t *self, int64_t now_us);

#endif
