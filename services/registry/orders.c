/*  orders.c - engine orders into DISPATCH requests, one batch per service. */
#include "orders.h"
#include "zf_array.h"
#include "zf_log.h"

#include <czmq.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Bytes every order takes besides its strings and lists (field headers,
//  numbers at their widest).
#define S_ORDER_FIXED 96

//  One order waiting in a batch; its lists live in the batch's pools.
typedef struct {
    zf_order_t order;    //  the order, list pointers unset until it is sent
    size_t runs_at;      //  its shard runs in the pool
    size_t rollbacks_at; //  its rollback shards in the pool
} s_pending_t;

//  The orders for one service.
typedef struct {
    char service[ZF_MAX_NAME + 1]; //  the service
    uint64_t epoch;                //  the epoch of its orders
    s_pending_t *pending;          //  orders waiting
    size_t count;                  //  entries used
    size_t capacity;               //  entries allocated
    size_t bytes;                  //  their estimated bytes
    zf_shard_run_t *runs;          //  pool of shard runs
    size_t runs_count;             //  entries used
    size_t runs_capacity;          //  entries allocated
    int32_t *rollbacks;            //  pool of rollback shards
    size_t rollbacks_count;        //  entries used
    size_t rollbacks_capacity;     //  entries allocated
} s_bucket_t;

struct _zf_orders_t {
    zf_orders_send_fn *send;                    //  sends a request
    void *arg;                                  //  for send
    int64_t wait_ms;                            //  wait_ms of every order
    s_bucket_t buckets[ZF_ORDERS_MAX_SERVICES]; //  per service
    size_t bucket_count;                        //  buckets named
    zf_order_t *wire;                           //  orders of the request being encoded
    size_t wire_capacity;                       //  entries allocated
    zf_shard_run_t *runs;                       //  scratch: one order's shard runs
    size_t runs_capacity;                       //  entries allocated
    int32_t *rollbacks;                         //  scratch: one order's rollback shards
    size_t rollbacks_capacity;                  //  entries allocated
    zf_proto_encoder_t *encoder;                //  request bodies
    zf_orders_stats_t stats;                    //  counters
    zf_orders_failed_fn *failed;                //  hears of orders given up, or NULL
    void *failed_arg;                           //  for failed
    zhashx_t *roll_back;                        //  "flow/date" of runs that roll back every shard
};

const char *
zf_orders_service (const zf_flow_task_t *task)
{
    assert (task);
    if (task->type == ZF_TASK_RUN) return "shell";
    if (task->type == ZF_TASK_SERVICE) return task->service;
    return NULL;
}

void
zf_orders_build (const zf_engine_order_t *order, int64_t wait_ms, bool rollback_all,
                 zf_order_t *out, zf_shard_run_t *runs, int32_t *rollbacks)
{
    assert (order && out && order->shard_count > 0);
    const zf_flow_task_t *task = order->task;
    memset (out, 0, sizeof *out);
    out->flow = order->flow_name;
    out->date = order->date;
    out->task = order->task_id;
    out->version = order->version;
    //  The engine names the one shard of an unsharded task ZF_SHARD_SOLE,
    //  and so does the wire, with a shard count of 0.
    out->shard_count = task->shard_count > 1 ? task->shard_count : 0;
    out->shard_keys = out->shard_count ? (const char *const *)task->shard_keys : NULL;
    out->command = task->type == ZF_TASK_RUN ? task->run : NULL;
    out->rollback = task->rollback;
    out->cwd = order->flow->dir;
    out->timeout_ms = task->timeout_ms;
    out->speculative = task->speculative;
    out->wait_ms = wait_ms;
    uint32_t attempt = order->shards[0].attempt;
    bool uniform = order->whole;
    size_t rollback_count = 0;
    for (size_t i = 0; i < order->shard_count; i++) {
        const zf_engine_shard_run_t *shard = &order->shards[i];
        if (shard->attempt != attempt) uniform = false;
        if (shard->attempt > out->attempt) out->attempt = shard->attempt;
        if ((shard->rollback || rollback_all) && task->rollback)
            rollbacks[rollback_count++] = shard->shard;
    }
    //  "Every shard at one attempt" needs no list; anything else names each
    //  shard with its own attempt.
    if (!uniform) {
        for (size_t i = 0; i < order->shard_count; i++)
            runs[i] = (zf_shard_run_t){order->shards[i].shard, order->shards[i].attempt};
        out->shard_runs = runs;
        out->shard_run_count = order->shard_count;
    }
    out->rollback_shards = rollback_count ? rollbacks : NULL;
    out->rollback_count = rollback_count;
}

//  Bytes of a string in a body, at most.
static size_t
s_str (const char *text)
{
    return text ? strlen (text) + 5 : 1;
}

size_t
zf_orders_size (const zf_order_t *order)
{
    assert (order);
    size_t size = S_ORDER_FIXED + s_str (order->flow) + s_str (order->task) +
                  s_str (order->command) + s_str (order->rollback) + s_str (order->cwd);
    for (uint32_t i = 0; order->shard_keys && i < order->shard_count; i++)
        size += s_str (order->shard_keys[i]);
    size += order->shard_run_count * 10 + order->rollback_count * 5;
    for (size_t i = 0; i < order->env_count; i++)
        size += s_str (order->env[i]);
    return size;
}

zf_orders_t *
zf_orders_new (zf_orders_send_fn *send, void *arg)
{
    assert (send);
    zf_orders_t *self = calloc (1, sizeof (zf_orders_t));
    if (!self) return NULL;
    self->send = send;
    self->arg = arg;
    self->encoder = zf_proto_encoder_new ();
    if (!self->encoder) zf_orders_destroy (&self);
    return self;
}

void
zf_orders_destroy (zf_orders_t **self_p)
{
    assert (self_p);
    zf_orders_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < ZF_ORDERS_MAX_SERVICES; i++) {
        free (self->buckets[i].pending);
        free (self->buckets[i].runs);
        free (self->buckets[i].rollbacks);
    }
    free (self->wire);
    free (self->runs);
    zhashx_destroy (&self->roll_back);
    free (self->rollbacks);
    zf_proto_encoder_destroy (&self->encoder);
    free (self);
    *self_p = NULL;
}

void
zf_orders_set_failed (zf_orders_t *self, zf_orders_failed_fn *failed, void *arg)
{
    assert (self);
    self->failed = failed;
    self->failed_arg = arg;
}

void
zf_orders_set_wait (zf_orders_t *self, int64_t wait_ms)
{
    assert (self);
    self->wait_ms = wait_ms;
}

//  Encodes orders for service and sends them. Returns 0, -1 if the socket
//  refused them, or -2 with err if they do not encode.
static int
s_send_orders (zf_orders_t *self, const char *service, uint64_t epoch, const zf_order_t *orders,
               size_t count, zf_proto_error_t *err)
{
    zf_dispatch_t dispatch = {epoch, orders, count};
    if (zf_dispatch_encode (self->encoder, &dispatch, err) != 0) return -2;
    if (self->send (self->arg, service, zf_proto_encoder_data (self->encoder),
                    zf_proto_encoder_size (self->encoder)) != 0)
        return -1;
    self->stats.sent += count;
    self->stats.requests++;
    return 0;
}

//  Gives an order up: the failed function hears of it (and says why), or
//  the log does.
static void
s_give_up (zf_orders_t *self, const zf_order_t *order, const char *reason)
{
    self->stats.failed++;
    if (self->failed)
        self->failed (self->failed_arg, order, reason);
    else
        zf_log_error ("order not sent flow=%s task=%s reason=\"%s\"", order->flow, order->task,
                      reason);
}

//  A bucket's order as it goes on the wire, its lists in the bucket's pools.
static void
s_wire_order (const s_bucket_t *bucket, size_t index, zf_order_t *order)
{
    const s_pending_t *pending = &bucket->pending[index];
    *order = pending->order;
    order->shard_runs = order->shard_run_count ? bucket->runs + pending->runs_at : NULL;
    order->rollback_shards =
        order->rollback_count ? bucket->rollbacks + pending->rollbacks_at : NULL;
}

//  The socket refused a request of count orders: they never reached the
//  dispatcher (the session starts afresh and finds them missing).
static void
s_refused (zf_orders_t *self, const char *service, size_t count)
{
    self->stats.unsent += count;
    zf_log_error ("orders not sent service=%s orders=%zu reason=\"the socket refused them\"",
                  service, count);
}

//  Sends one service's orders, each alone if the request as a whole does
//  not encode; returns 0, or -1 if any did not go out.
static int
s_send_all (zf_orders_t *self, s_bucket_t *bucket)
{
    zf_proto_error_t err = {"out of memory"};
    for (size_t i = 0; i < bucket->count; i++)
        s_wire_order (bucket, i, &self->wire[i]);
    int rc = s_send_orders (self, bucket->service, bucket->epoch, self->wire, bucket->count, &err);
    if (rc == -1) s_refused (self, bucket->service, bucket->count);
    if (rc != -2) return rc;
    if (bucket->count == 1) {
        s_give_up (self, &self->wire[0], err.text);
        return -1;
    }
    //  One order the encoder refuses must not sink the others: each goes
    //  alone, and those that still do not encode are given up.
    rc = 0;
    for (size_t i = 0; i < bucket->count; i++) {
        int one = s_send_orders (self, bucket->service, bucket->epoch, &self->wire[i], 1, &err);
        if (one == -2)
            s_give_up (self, &self->wire[i], err.text);
        else if (one == -1)
            s_refused (self, bucket->service, 1);
        if (one != 0) rc = -1;
    }
    return rc;
}

//  Sends one service's orders and empties its bucket; returns 0 or -1.
static int
s_send_bucket (zf_orders_t *self, s_bucket_t *bucket)
{
    if (bucket->count == 0) return 0;
    int rc = 0;
    if (zf_array_grow ((void **)&self->wire, &self->wire_capacity, bucket->count,
                       sizeof (zf_order_t)) == 0)
        rc = s_send_all (self, bucket);
    else {
        //  Without room to lay the request out, every order is given up.
        for (size_t i = 0; i < bucket->count; i++) {
            zf_order_t order;
            s_wire_order (bucket, i, &order);
            s_give_up (self, &order, "out of memory");
        }
        rc = -1;
    }
    bucket->count = 0;
    bucket->bytes = 0;
    bucket->runs_count = 0;
    bucket->rollbacks_count = 0;
    return rc;
}

//  The batch for a service; when every bucket is named, all are sent and
//  forgotten first. NULL if the name does not fit.
static s_bucket_t *
s_bucket (zf_orders_t *self, const char *service, int *failed)
{
    for (size_t i = 0; i < self->bucket_count; i++)
        if (strcmp (self->buckets[i].service, service) == 0) return &self->buckets[i];
    if (strlen (service) > ZF_MAX_NAME) return NULL;
    if (self->bucket_count == ZF_ORDERS_MAX_SERVICES) {
        *failed += zf_orders_flush (self);
        self->bucket_count = 0;
    }
    s_bucket_t *bucket = &self->buckets[self->bucket_count++];
    strcpy (bucket->service, service);
    return bucket;
}

//  Queues one wire order (lists from the scratch arrays) in a bucket, after
//  sending the bucket if it is full (*failed counts it if that failed).
//  Returns 0, or -1 if out of memory.
static int
s_queue (zf_orders_t *self, s_bucket_t *bucket, uint64_t epoch, const zf_order_t *order,
         int *failed)
{
    size_t bytes = zf_orders_size (order);
    if (bucket->count &&
        (bucket->count == ZF_MAX_BATCH || bucket->epoch != epoch ||
         bucket->bytes + bytes > ZF_ORDERS_BYTES) &&
        s_send_bucket (self, bucket) != 0)
        (*failed)++;
    if (zf_array_grow ((void **)&bucket->pending, &bucket->capacity, bucket->count + 1,
                       sizeof (s_pending_t)) ||
        zf_array_grow ((void **)&bucket->runs, &bucket->runs_capacity,
                       bucket->runs_count + order->shard_run_count, sizeof (zf_shard_run_t)) ||
        zf_array_grow ((void **)&bucket->rollbacks, &bucket->rollbacks_capacity,
                       bucket->rollbacks_count + order->rollback_count, sizeof (int32_t)))
        return -1;
    s_pending_t *pending = &bucket->pending[bucket->count++];
    pending->order = *order;
    pending->runs_at = bucket->runs_count;
    pending->rollbacks_at = bucket->rollbacks_count;
    if (order->shard_run_count)
        memcpy (bucket->runs + bucket->runs_count, order->shard_runs,
                order->shard_run_count * sizeof (zf_shard_run_t));
    if (order->rollback_count)
        memcpy (bucket->rollbacks + bucket->rollbacks_count, order->rollback_shards,
                order->rollback_count * sizeof (int32_t));
    bucket->runs_count += order->shard_run_count;
    bucket->rollbacks_count += order->rollback_count;
    bucket->bytes += bytes;
    bucket->epoch = epoch;
    return 0;
}

//  The key of a run in roll_back.
static void
s_run_key (const char *flow, zf_date_t date, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%d", flow, (int)date);
}

//  True if orders of the run roll back every shard.
static bool
s_rolls_back (zf_orders_t *self, const char *flow, zf_date_t date)
{
    if (!self->roll_back) return false;
    char key[ZF_MAX_NAME + 16];
    s_run_key (flow, date, key, sizeof key);
    return zhashx_lookup (self->roll_back, key) != NULL;
}

int
zf_orders_roll_back_all (zf_orders_t *self, const char *flow, zf_date_t date)
{
    assert (self && flow);
    if (!self->roll_back && !(self->roll_back = zhashx_new ())) return -1;
    char key[ZF_MAX_NAME + 16];
    s_run_key (flow, date, key, sizeof key);
    if (!zhashx_lookup (self->roll_back, key) &&
        zhashx_insert (self->roll_back, key, (void *)1) != 0)
        return -1;
    return 0;
}

int
zf_orders_add (zf_orders_t *self, const zf_engine_order_t *order)
{
    assert (self && order);
    const char *service = zf_orders_service (order->task);
    int failed = 0;
    s_bucket_t *bucket = service ? s_bucket (self, service, &failed) : NULL;
    size_t width =
        order->shard_count < ZF_ORDERS_MAX_RUNS ? order->shard_count : ZF_ORDERS_MAX_RUNS;
    if (!bucket || order->shard_count == 0 ||
        zf_array_grow ((void **)&self->runs, &self->runs_capacity, width,
                       sizeof (zf_shard_run_t)) ||
        zf_array_grow ((void **)&self->rollbacks, &self->rollbacks_capacity, width,
                       sizeof (int32_t))) {
        self->stats.failed++;
        zf_log_error ("order not sent flow=%s task=%s reason=\"%s\"", order->flow_name,
                      order->task_id, bucket ? "out of memory" : "no service runs this task");
        return -1;
    }
    //  A long shard list goes as several orders for the same task, each
    //  naming some of the shards with their attempts.
    for (size_t at = 0; at < order->shard_count; at += ZF_ORDERS_MAX_RUNS) {
        zf_engine_order_t part = *order;
        part.shards = order->shards + at;
        part.shard_count = order->shard_count - at < ZF_ORDERS_MAX_RUNS ? order->shard_count - at
                                                                        : ZF_ORDERS_MAX_RUNS;
        part.whole = order->whole && part.shard_count == order->shard_count;
        zf_order_t wire;
        zf_orders_build (&part, self->wait_ms, s_rolls_back (self, order->flow_name, order->date),
                         &wire, self->runs, self->rollbacks);
        if (s_queue (self, bucket, order->epoch, &wire, &failed) != 0) {
            s_give_up (self, &wire, "out of memory");
            failed++;
        }
    }
    return failed == 0 ? 0 : -1;
}

int
zf_orders_flush (zf_orders_t *self)
{
    assert (self);
    int failed = 0;
    for (size_t i = 0; i < self->bucket_count; i++)
        if (s_send_bucket (self, &self->buckets[i]) != 0) failed++;
    return failed;
}

void
zf_orders_stats (zf_orders_t *self, zf_orders_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}
