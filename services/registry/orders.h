/*  orders.h - the engine's orders as DISPATCH requests, grouped by service.

    The registry takes every order the engine has ready in one go at the end
    of a turn (zf_engine_next_order until it says none) and hands each one
    here. An order becomes a zf_order_t: the task's command (or none for a
    service: task), its rollback and the shards whose last attempt was
    interrupted, the flow's folder as working directory, the timeout, the
    speculative flag, how long to wait for a worker, the shard keys, and the
    shards to run with their attempts when the order is not "every shard at
    one attempt". Orders gather per service and go out as REQUEST
    [service][DISPATCH] with at most ZF_MAX_BATCH orders and
    ZF_ORDERS_BYTES bytes each.

    Nothing is allocated per order once the buffers have grown: the strings
    are the engine's own (flow definitions live as long as the engine), and
    shard lists go into pools kept between turns.
*/
#ifndef ZF_ORDERS_H_INCLUDED
#define ZF_ORDERS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_dispatch.h"
#include "zf_engine.h"

//  Bytes of orders in one DISPATCH, at most (half the frame limit, since the
//  size of an order is estimated before it is encoded).
#define ZF_ORDERS_BYTES (ZF_MAX_FRAME_SIZE / 2)

//  Shards listed in one order at most; a longer list is split into orders
//  for the same task.
#define ZF_ORDERS_MAX_RUNS 65536

//  Services one turn sends to; more in one turn flush the fullest first.
#define ZF_ORDERS_MAX_SERVICES 64

//  Sends REQUEST [service][DISPATCH body]; returns 0 or -1.
typedef int (zf_orders_send_fn) (void *arg, const char *service, const void *body, size_t size);

//  Hears of an order given up: it could not be encoded (a defect, or a flow
//  past a limit the wire has) or memory ran out. Its shards never reach the
//  dispatcher; the function says so (the batcher logs it only without one).
typedef void (zf_orders_failed_fn) (void *arg, const zf_order_t *order, const char *reason);

typedef struct _zf_orders_t zf_orders_t;

//  Counters. Every order counted as unsent or failed was logged with why.
typedef struct {
    uint64_t sent;     //  orders sent (each part of a split order counts)
    uint64_t requests; //  requests sent
    uint64_t unsent;   //  orders in requests the socket refused
    uint64_t failed;   //  orders given up: they do not encode, no service runs
                       //  them, or memory ran out
} zf_orders_stats_t;

//  The service that runs a task: "shell" for run:, its service: name, or
//  NULL for a built-in (start, day_roll), which the engine runs itself.
const char *zf_orders_service (const zf_flow_task_t *task);

//  Fills *out from an engine order (views into the engine and into runs and
//  rollbacks, which must have room for order->shard_count entries each).
//  shard_runs stays empty when every shard of the task runs at one attempt.
//  With rollback_all, every shard of a task that has a rollback runs it first.
void zf_orders_build (const zf_engine_order_t *order, int64_t wait_ms, bool rollback_all,
                      zf_order_t *out, zf_shard_run_t *runs, int32_t *rollbacks);

//  An upper bound of the bytes an order takes in a DISPATCH body.
size_t zf_orders_size (const zf_order_t *order);

//  A batcher sending through send; NULL if out of memory.
zf_orders_t *zf_orders_new (zf_orders_send_fn *send, void *arg);

//  Frees the batcher (unsent orders are dropped); NULLs the pointer.
void zf_orders_destroy (zf_orders_t **self_p);

//  Calls failed with every order given up (instead of logging it).
void zf_orders_set_failed (zf_orders_t *self, zf_orders_failed_fn *failed, void *arg);

//  How long orders let the dispatcher wait for a worker (0: for ever).
void zf_orders_set_wait (zf_orders_t *self, int64_t wait_ms);

//  Makes every later order of the run of flow on date run its task's rollback
//  first, for every shard. A registry that recovered from the archiver does
//  this for the runs that were open: events that were not yet durable may
//  have dispatched work that ran, so any attempt it sends may follow one
//  that ran under the same number. Returns 0, or -1 if out of memory.
int zf_orders_roll_back_all (zf_orders_t *self, const char *flow, zf_date_t date);

//  Takes one order of the engine (copying its shard list); a batch that
//  fills up goes out at once. Returns 0, or -1 if the order cannot be sent
//  (a built-in task, or out of memory) or a batch sent on the way did not
//  all go out (each logged).
int zf_orders_add (zf_orders_t *self, const zf_engine_order_t *order);

//  Sends every batch. Returns the number of batches that did not all go
//  out: refused by the socket, or orders that do not encode (logged, and
//  handed to the failed function).
int zf_orders_flush (zf_orders_t *self);

//  Counters.
void zf_orders_stats (zf_orders_t *self, zf_orders_stats_t *stats);

#endif
