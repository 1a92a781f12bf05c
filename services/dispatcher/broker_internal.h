/*  broker_internal.h - the broker's state, shared by its files.

    broker.c     clients, orders, results, acknowledgements, cancels
    assign.c     placing subtasks on workers: queues, locality, pools, speculation
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

//  Clients the broker keeps at once (named ones, and anonymous ones with work).
#define ZF_DISP_MAX_CLIENTS 1024

//  A client: the registry (named by its HELLO) or any peer that sent orders.
typedef struct {
    char *name;                             //  HELLO name, or "@" and the identity in hex
    uint8_t identity[ZF_DISP_MAX_IDENTITY]; //  its ROUTER identity now
    size_t identity_size;                   //  bytes in identity
    char *hex;                              //  identity in hex, key of the identity table
    bool named;                             //  it said HELLO
    size_t refs;                            //  live orders and held results that are its
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
    zf_disp_order_t *orders;        //  live orders, oldest first
    zf_disp_order_t *orders_tail;   //  newest live order
    zf_disp_order_t *spec;          //  speculative orders with open shards
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

//  assign.c
//  Queues a subtask (at the front for requeued work) and places it at once
//  if a worker has room.
void zf_broker_enqueue (zf_broker_t *self, zf_disp_sub_t *sub, bool front);

//  Gives a worker with room as much queued work as it and the pools allow.
void zf_broker_pump_worker (zf_broker_t *self, zf_disp_worker_t *worker);

//  Places queued work of a service on any of its workers with room.
void zf_broker_pump_service (zf_broker_t *self, zf_disp_service_t *service);

//  Takes a copy back from its worker and undoes its counts.
void zf_broker_release_copy (zf_broker_t *self, zf_disp_copy_t *copy);

//  Keyed subtasks done waiting for their preferred worker go to any worker.
void zf_broker_expire_locality (zf_broker_t *self, int64_t now_us);

//  Starts speculative copies of stragglers.
void zf_broker_speculate (zf_broker_t *self, int64_t now_us);

//  Moves the keyed subtasks waiting for a worker to other queues (it died).
void zf_broker_rehome_local (zf_broker_t *self, zf_disp_worker_t *worker);

//  Removes a speculative order from the straggler watch.
void zf_broker_spec_remove (zf_broker_t *self, zf_disp_order_t *order);

//  liveness.c
//  Handles every worker on the dead list: requeues its work, forgets it.
void zf_broker_bury_dead (zf_broker_t *self);

//  Sends heartbeats that are due and expires silent workers.
void zf_broker_heartbeats (zf_broker_t *self, int64_t now_us);

#endif
