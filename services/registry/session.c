/*  session.c - the registry's Majordomo client session with the dispatcher.

    Owns: where the session stands (session.h has the table), the orders
    batcher and what is sent through it, the results and refusals the
    dispatcher sends and what they do to the engine, the attempts the
    dispatcher listed after HELLO (the live set), acknowledgements, resends
    after a back-off, and the counters of all that. It borrows the engine
    and the clock, and reaches sockets, the bus and the epoch file only
    through its owner's ops.
*/
#include "session.h"
#include "orders.h"
#include "results.h"
#include "zf_array.h"
#include "zf_keytable.h"
#include "zf_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The acknowledgements of one turn, waiting until its events are safe.
typedef struct {
    zf_keytable_t *keys; //  the attempts
    uint64_t seq;        //  the engine's seq at the end of the turn
} s_parked_t;

//  A DISPATCH request waiting until the events that dispatched it are safe.
typedef struct {
    char *service; //  the request's service
    void *body;    //  its DISPATCH body
    size_t size;   //  bytes of it
    uint64_t seq;  //  the engine's seq when it was made
    int64_t made;  //  when (monotonic ms)
} s_held_t;

//  Orders held this long say so on the bus.
#define S_HELD_REPORT_MS 5000

struct _zf_session_t {
    bool started; //  zf_session_start was called: ticks may reconnect
    //  Settings
    char *name;             //  our name at the dispatcher
    char *endpoint;         //  the dispatcher's endpoint, for the log
    int64_t heartbeat_ms;   //  heartbeat interval
    uint32_t liveness;      //  intervals of silence before a fresh connection
    uint64_t max_in_flight; //  shards dispatched or running at most

    //  What it works with
    zf_engine_t *engine;         //  the scheduler (borrowed)
    zf_clock_t *clock;           //  monotonic time (borrowed)
    zf_session_ops_t ops;        //  the owner's side
    void *arg;                   //  for ops
    zf_orders_t *orders;         //  orders to the dispatcher
    zf_proto_encoder_t *encoder; //  HELLO, ACK and CANCEL bodies
    zf_proto_decoder_t *decoder; //  bodies from the dispatcher
    zf_keytable_t *live;         //  after HELLO_REPLY: shard -> newest attempt listed
    zf_keytable_t *acks;         //  results to acknowledge (attempts)
    zf_keytable_t *resend;       //  attempts refused as overloaded, to send again
    s_parked_t *parked;          //  acknowledgements waiting for the gate, oldest first
    size_t parked_count;         //  of them
    size_t parked_capacity;      //  room
    s_held_t *held;              //  orders waiting for the gate, oldest first
    size_t held_count;           //  of them
    size_t held_capacity;        //  room
    bool held_reported;          //  the wait was put on the bus
    zf_session_gate_fn *gate;    //  how far events are safe, or NULL: at once
    void *gate_arg;              //  for it
    zf_task_key_t *batch;        //  the keys of one ACK (ZF_MAX_BATCH)

    //  Where it stands
    zf_session_state_t state; //  see session.h
    bool watched;             //  a monitor tells when the connection comes and goes
    bool connected;           //  the connection is up (as the monitor said)
    bool silent_warned;       //  the loss of the dispatcher was reported already
    bool send_failed;         //  the socket refused orders since the last pump
    bool restart_pending;     //  a whole request was refused overloaded: start afresh
    bool cold;                //  the engine came from a copy; in-flight work unsettled
    uint64_t durable;         //  then: the seq the archiver held
    bool limited;             //  the in-flight limit holds ready work back
    int64_t expiry_ms;        //  the dispatcher counts as silent after this
    int64_t sent_at_ms;       //  when anything was last sent
    int64_t backoff_end_ms;   //  when the back-off ends, or -1
    int64_t backoff_ms;       //  its current length
    int64_t resent_at_ms;     //  when refused orders last went again, or -1
    int64_t reported_at_ms;   //  when malformed messages last reached the bus, or -1

    zf_session_stats_t stats; //  counters
};

//  ---------------------------------------------------------------------------
//  Helpers

//  Monotonic milliseconds.
static int64_t
s_now (zf_session_t *self)
{
    return zf_clock_mono_us (self->clock) / 1000;
}

//  When the dispatcher counts as silent if nothing comes from now on.
static int64_t
s_expiry (zf_session_t *self)
{
    return s_now (self) + self->heartbeat_ms * (int64_t)self->liveness;
}

//  Formats an error for the owner to log and put on the bus.
static void s_error (zf_session_t *self, const char *service, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_error (zf_session_t *self, const char *service, const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    self->ops.error (self->arg, service, text);
}

//  Sends a command; a body, if any, is the one last encoded. A message the
//  socket refuses is counted and logged (what names it). 0 or -1.
static int
s_send (zf_session_t *self, uint8_t command, bool body, const char *what)
{
    int rc = -1;
    if (self->state != ZF_SESSION_OFF)
        rc = self->ops.send (self->arg, command, NULL,
                             body ? zf_proto_encoder_data (self->encoder) : NULL,
                             body ? zf_proto_encoder_size (self->encoder) : 0);
    self->sent_at_ms = s_now (self);
    if (rc != 0) {
        self->stats.unsent++;
        zf_log_warn ("%s not sent reason=\"%s\"", what,
                     self->state == ZF_SESSION_OFF ? "no connection to the dispatcher"
                                                   : "the socket refused it");
    }
    return rc;
}

//  Sends REQUEST [service][DISPATCH]. Orders the socket would not take
//  never reached the dispatcher: the next pump starts afresh, and the new
//  session finds them missing and runs them again.
static int
s_send_request (zf_session_t *self, const char *service, const void *body, size_t size)
{
    int rc = self->state == ZF_SESSION_OFF
                 ? -1
                 : self->ops.send (self->arg, ZF_MDPC_REQUEST, service, body, size);
    self->sent_at_ms = s_now (self);
    if (rc != 0) self->send_failed = true;
    return rc;
}

//  Work dropped for lack of memory: counted and logged.
static void
s_out_of_memory (zf_session_t *self, const char *what)
{
    self->stats.out_of_memory++;
    zf_log_error ("out of memory: %s", what);
}

//  Holds a request until the gate passes seq. Returns 0, or -1 if out of
//  memory.
static int
s_hold (zf_session_t *self, const char *service, const void *body, size_t size, uint64_t seq)
{
    char *copy = strdup (service);
    void *bytes = malloc (size ? size : 1);
    if (!copy || !bytes ||
        zf_array_grow ((void **)&self->held, &self->held_capacity, self->held_count + 1,
                       sizeof (s_held_t)) != 0) {
        free (copy);
        free (bytes);
        return -1;
    }
    memcpy (bytes, body, size);
    self->held[self->held_count++] = (s_held_t){copy, bytes, size, seq, s_now (self)};
    self->stats.orders_held++;
    return 0;
}

//  Drops every held request: a new session finds their attempts missing at
//  the dispatcher and sends them again.
static void
s_drop_held (zf_session_t *self)
{
    for (size_t i = 0; i < self->held_count; i++) {
        free (self->held[i].service);
        free (self->held[i].body);
    }
    self->held_count = 0;
    self->held_reported = false;
}

//  zf_orders_send_fn: with a gate, a request goes only once the events
//  that dispatched it are safe (an attempt that may have started is then
//  known to any registry that takes over); until then it is held, and so
//  is every later one, to keep their order.
static int
s_send_orders (void *arg, const char *service, const void *body, size_t size)
{
    zf_session_t *self = arg;
    if (self->gate && self->state != ZF_SESSION_OFF) {
        uint64_t seq = (uint64_t)zf_engine_seq (self->engine);
        if (self->held_count > 0 || self->gate (self->gate_arg) < seq) {
            if (s_hold (self, service, body, size, seq) == 0) return 0;
            s_out_of_memory (self, "holding orders: they go before their events are safe");
        }
    }
    return s_send_request (self, service, body, size);
}

//  Sends the held requests whose events are safe, oldest first.
static void
s_release (zf_session_t *self)
{
    if (self->held_count == 0) return;
    uint64_t safe = self->gate ? self->gate (self->gate_arg) : UINT64_MAX;
    size_t done = 0;
    while (done < self->held_count && self->held[done].seq <= safe) {
        s_held_t *held = &self->held[done++];
        s_send_request (self, held->service, held->body, held->size);
        free (held->service);
        free (held->body);
    }
    if (done == 0) return;
    memmove (self->held, self->held + done, (self->held_count - done) * sizeof (s_held_t));
    self->held_count -= done;
    if (self->held_reported && self->held_count == 0) {
        zf_log_info ("held orders sent: their events are safe seq=%" PRIu64, safe);
        self->held_reported = false;
    }
}

//  ---------------------------------------------------------------------------
//  Connections

//  Makes a connection and says HELLO on it: a session starts afresh.
//  Returns 0, or -1 (then the session is off until the next interval).
static int
s_open (zf_session_t *self)
{
    self->state = ZF_SESSION_OFF;
    self->connected = false;
    self->watched = false;
    zf_keytable_purge (self->live);
    zf_keytable_purge (self->resend);
    s_drop_held (self);
    self->restart_pending = false;
    self->backoff_end_ms = -1;
    if (self->ops.connect (self->arg, &self->watched) != 0) return -1;
    self->state = ZF_SESSION_HELLO;
    self->expiry_ms = s_expiry (self);
    //  HELLO waits in the socket until the connection is made.
    zf_hello_t hello = {zf_engine_epoch (self->engine), self->name};
    zf_proto_error_t err;
    if (zf_hello_encode (self->encoder, &hello, &err) != 0) {
        zf_log_error ("hello not encoded reason=\"%s\"", err.text);
        self->state = ZF_SESSION_OFF;
        return -1;
    }
    if (s_send (self, ZF_MDPC_HELLO, true, "hello") != 0) {
        self->state = ZF_SESSION_OFF;
        return -1;
    }
    return 0;
}

//  Ends the session and starts a fresh one, saying why.
static void
s_restart (zf_session_t *self, const char *why)
{
    self->stats.reconnects++;
    //  The first loss is an error on the bus; retries while the dispatcher
    //  stays away are only logged.
    if (!self->silent_warned)
        s_error (self, "registry", "dispatcher session lost endpoint=%s reason=\"%s\"",
                 self->endpoint, why);
    else
        zf_log_info ("dispatcher session restarted endpoint=%s reason=\"%s\"", self->endpoint, why);
    self->silent_warned = true;
    s_open (self);
}

//  ---------------------------------------------------------------------------
//  Results and failures

//  Reports a shard attempt failed for a reason of the dispatcher's, every
//  in-flight shard of that attempt if the key names the whole task.
static void
s_fail (zf_session_t *self, const zf_task_key_t *key, const char *detail)
{
    if (key->shard != ZF_SHARD_WHOLE) {
        zf_engine_result (self->engine, key, ZF_OUTCOME_FAILED, -1, NULL, detail);
        return;
    }
    zf_engine_run_info_t run;
    if (zf_engine_run_info (self->engine, key->flow, key->date, &run) != 0) return;
    int32_t index = zf_flow_task_index (run.definition, key->task);
    if (index < 0) return;
    uint32_t count = run.definition->tasks[index].shard_count;
    for (uint32_t i = 0; i < count; i++) {
        zf_engine_shard_info_t info;
        if (zf_engine_shard_info (self->engine, key->flow, key->date, (uint32_t)index, (int32_t)i,
                                  &info) != 0 ||
            info.attempt != key->attempt ||
            (info.state != ZF_TS_DISPATCHED && info.state != ZF_TS_RUNNING))
            continue;
        zf_task_key_t one = *key;
        one.shard = info.shard;
        zf_engine_result (self->engine, &one, ZF_OUTCOME_FAILED, -1, NULL, detail);
    }
}

//  zf_orders_failed_fn: an order given up fails its shards with the reason,
//  so the run shows why instead of waiting for ever.
static void
s_order_failed (void *arg, const zf_order_t *order, const char *reason)
{
    zf_session_t *self = arg;
    char detail[512];
    snprintf (detail, sizeof detail, "the order could not be sent: %s", reason);
    s_error (self, "registry", "order not sent flow=%s task=%s reason=\"%s\"", order->flow,
             order->task, reason);
    zf_task_key_t key = {order->flow, order->date, order->task,
                         order->shard_count ? ZF_SHARD_WHOLE : ZF_SHARD_SOLE, order->attempt};
    if (order->shard_run_count)
        for (size_t i = 0; i < order->shard_run_count; i++) {
            key.shard = order->shard_runs[i].shard;
            key.attempt = order->shard_runs[i].attempt;
            s_fail (self, &key, detail);
        }
    else
        s_fail (self, &key, detail);
}

void
zf_session_on_results (zf_session_t *self, const zf_results_t *results)
{
    assert (self && results);
    char detail[ZF_RESULTS_DETAIL];
    for (size_t i = 0; i < results->result_count; i++) {
        const zf_result_t *result = &results->results[i];
        zf_result_map_t map;
        zf_results_map (result, detail, sizeof detail, &map);
        self->stats.results++;
        int rc = 0;
        if (map.action == ZF_RESULT_RUNNING)
            rc = zf_engine_running (self->engine, &result->key, result->executor);
        else if (map.action == ZF_RESULT_ENDED)
            rc = zf_engine_result (self->engine, &result->key, map.outcome, map.exit_status,
                                   result->executor, map.detail);
        if (rc == ZF_E_STALE)
            self->stats.stale++;
        else if (rc < 0) {
            //  A result for a run this registry does not hold (an earlier
            //  registry's): acknowledged so the dispatcher forgets it.
            self->stats.stale++;
            char text[ZF_TASK_KEY_TEXT];
            zf_log_info ("result ignored key=%s reason=\"%s\"",
                         zf_task_key_format (&result->key, text, sizeof text),
                         zf_engine_last_error (self->engine));
        }
        if (map.ack && zf_keytable_lookup (self->acks, &result->key) == NULL &&
            zf_keytable_insert (self->acks, &result->key, self) != 0) {
            self->stats.acks_lost++;
            zf_log_error ("out of memory acknowledging a result; it comes again");
        }
    }
}

//  Sends ACKs for every attempt in keys, then empties it.
static void
s_send_acks (zf_session_t *self, zf_keytable_t *keys)
{
    size_t total = zf_keytable_size (keys);
    if (total == 0) return;
    if (self->state == ZF_SESSION_OFF) {
        //  The dispatcher sends unacknowledged results again after HELLO.
        self->stats.acks_lost += total;
        zf_log_warn ("acknowledgements dropped count=%zu reason=\"no connection to the "
                     "dispatcher\"; the results come again",
                     total);
        zf_keytable_purge (keys);
        return;
    }
    //  One ACK per ZF_MAX_BATCH keys; the keys are the table's copies.
    size_t count = 0, seen = 0;
    for (void *item = zf_keytable_first (keys); item; item = zf_keytable_next (keys)) {
        self->batch[count++] = *zf_keytable_cursor (keys);
        if (++seen < total && count < ZF_MAX_BATCH) continue;
        zf_ack_t ack = {self->batch, count};
        zf_proto_error_t err;
        if (zf_ack_encode (self->encoder, &ack, &err) != 0) {
            self->stats.acks_lost += count;
            zf_log_error ("ack not encoded reason=\"%s\"", err.text);
        } else if (s_send (self, ZF_MDPC_ACK, true, "ack") != 0)
            self->stats.acks_lost += count;
        count = 0;
    }
    zf_keytable_purge (keys);
}

//  Parks this turn's acknowledgements under the engine's seq. Returns 0,
//  or -1 if out of memory (they are then sent at once).
static int
s_park (zf_session_t *self)
{
    zf_keytable_t *fresh = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    if (!fresh || zf_array_grow ((void **)&self->parked, &self->parked_capacity,
                                 self->parked_count + 1, sizeof (s_parked_t)) != 0) {
        zf_keytable_destroy (&fresh);
        return -1;
    }
    self->parked[self->parked_count++] =
        (s_parked_t){self->acks, (uint64_t)zf_engine_seq (self->engine)};
    self->acks = fresh;
    return 0;
}

void
zf_session_flush (zf_session_t *self)
{
    assert (self);
    s_release (self);
    if (zf_keytable_size (self->acks) > 0 && (!self->gate || s_park (self) != 0)) {
        if (self->gate)
            s_out_of_memory (self,
                             "parking acknowledgements: they go before their events are safe");
        s_send_acks (self, self->acks);
    }
    if (!self->gate || self->parked_count == 0) return;
    //  The turns whose events are safe, oldest first.
    uint64_t safe = self->gate (self->gate_arg);
    size_t done = 0;
    while (done < self->parked_count && self->parked[done].seq <= safe) {
        s_send_acks (self, self->parked[done].keys);
        zf_keytable_destroy (&self->parked[done].keys);
        done++;
    }
    memmove (self->parked, self->parked + done, (self->parked_count - done) * sizeof (s_parked_t));
    self->parked_count -= done;
}

void
zf_session_set_gate (zf_session_t *self, zf_session_gate_fn *gate, void *arg)
{
    assert (self);
    self->gate = gate;
    self->gate_arg = arg;
}

size_t
zf_session_orders_held (zf_session_t *self)
{
    assert (self);
    return self->held_count;
}

size_t
zf_session_acks_parked (zf_session_t *self)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < self->parked_count; i++)
        count += zf_keytable_size (self->parked[i].keys);
    return count;
}

//  ---------------------------------------------------------------------------
//  Sending orders again

//  Orders keys for qsort: the attempts of one task side by side.
static int
s_key_order (const void *a, const void *b)
{
    return zf_task_key_cmp ((const zf_task_key_t *)a, (const zf_task_key_t *)b);
}

//  Sends the refused attempts again, those still dispatched at that attempt:
//  the attempts of one task go as one order.
static void
s_resend (zf_session_t *self)
{
    size_t total = zf_keytable_size (self->resend);
    zf_task_key_t *keys = calloc (total + 1, sizeof *keys);
    zf_engine_shard_run_t *shards = calloc (total + 1, sizeof *shards);
    if (!keys || !shards) {
        //  They stay dispatched; a new session finds them.
        s_out_of_memory (self, "sending refused orders again");
        free (keys);
        free (shards);
        return;
    }
    size_t count = 0;
    for (void *item = zf_keytable_first (self->resend); item;
         item = zf_keytable_next (self->resend))
        keys[count++] = *zf_keytable_cursor (self->resend);
    qsort (keys, count, sizeof *keys, s_key_order);
    size_t at = 0;
    while (at < count) {
        const zf_task_key_t *head = &keys[at];
        zf_engine_run_info_t run;
        int32_t index = -1;
        if (zf_engine_run_info (self->engine, head->flow, head->date, &run) == 0)
            index = zf_flow_task_index (run.definition, head->task);
        size_t shard_count = 0, next = at;
        for (; next < count; next++) {
            const zf_task_key_t *key = &keys[next];
            if (key->date != head->date || strcmp (key->flow, head->flow) != 0 ||
                strcmp (key->task, head->task) != 0)
                break;
            zf_engine_shard_info_t info;
            if (index < 0 ||
                zf_engine_shard_info (self->engine, key->flow, key->date, (uint32_t)index,
                                      key->shard, &info) != 0 ||
                info.state != ZF_TS_DISPATCHED || info.attempt != key->attempt)
                continue;
            shards[shard_count++] =
                (zf_engine_shard_run_t){info.shard, key->attempt, info.rollback};
        }
        if (shard_count) {
            uint32_t width = run.definition->tasks[index].shard_count;
            zf_engine_order_t order = {
                .flow = run.definition,
                .task = &run.definition->tasks[index],
                .flow_name = run.flow,
                .task_id = run.definition->tasks[index].id,
                .version = run.version,
                .date = run.date,
                .epoch = zf_engine_epoch (self->engine),
                .whole = shard_count == (width > 1 ? width : 1),
                .shards = shards,
                .shard_count = shard_count,
            };
            zf_orders_add (self->orders, &order);
        }
        at = next;
    }
    zf_orders_flush (self->orders);
    free (keys);
    free (shards);
    zf_keytable_purge (self->resend);
    self->resent_at_ms = s_now (self);
}

int64_t
zf_session_backoff_end (zf_session_t *self)
{
    assert (self);
    return self->backoff_end_ms;
}

void
zf_session_backoff_over (zf_session_t *self)
{
    assert (self);
    if (self->backoff_end_ms < 0 || s_now (self) < self->backoff_end_ms) return;
    self->backoff_end_ms = -1;
    if (self->restart_pending) {
        self->restart_pending = false;
        s_restart (self, "the dispatcher refused a whole request as overloaded");
    } else if (self->state == ZF_SESSION_READY)
        s_resend (self);
}

//  ---------------------------------------------------------------------------
//  Refusals

//  The dispatcher is overloaded: the refused attempts wait for a back-off
//  (no key: the whole request, so the session starts afresh after it).
static void
s_overloaded (zf_session_t *self, const char *service, const zf_refused_t *refused,
              const char *text)
{
    zf_log_warn ("dispatcher overloaded service=%s attempts=%zu reason=\"%s\"", service,
                 refused->key_count, text);
    if (self->backoff_end_ms < 0) {
        //  Refused again soon after a resend: back off further.
        int64_t now = s_now (self);
        if (self->resent_at_ms >= 0 && now - self->resent_at_ms < 2 * self->backoff_ms)
            self->backoff_ms = self->backoff_ms * 2 > ZF_SESSION_BACKOFF_MAX_MS
                                   ? ZF_SESSION_BACKOFF_MAX_MS
                                   : self->backoff_ms * 2;
        else
            self->backoff_ms = ZF_SESSION_BACKOFF_MIN_MS;
        self->backoff_end_ms = now + self->backoff_ms;
        s_error (self, "dispatcher",
                 "dispatcher overloaded service=%s reason=\"%s\" retry_in_ms=%" PRId64, service,
                 text, self->backoff_ms);
    }
    if (refused->key_count == 0) self->restart_pending = true;
    for (size_t i = 0; i < refused->key_count; i++)
        if (zf_keytable_lookup (self->resend, &refused->keys[i]) == NULL &&
            zf_keytable_insert (self->resend, &refused->keys[i], self) != 0) {
            //  A fresh session finds what could not be kept.
            s_out_of_memory (self, "keeping a refused order to send again");
            self->restart_pending = true;
        }
}

void
zf_session_on_refused (zf_session_t *self, const char *service, const zf_refused_t *refused)
{
    assert (self && service && refused);
    self->stats.refusals++;
    const char *text = refused->text ? refused->text : "";
    const char *code = zf_refuse_code_name (refused->code);
    switch (refused->code) {
    case ZF_REFUSE_STALE_EPOCH:
        //  Our term is older than one the dispatcher saw: a registry whose
        //  epoch file was lost or reset. Take a newer one and start over;
        //  the new session's HELLO sorts out what must run again.
        s_error (self, "dispatcher", "dispatcher refused epoch %" PRIu64 ": %s",
                 zf_engine_epoch (self->engine), text);
        if (self->ops.raise_epoch (self->arg, refused->epoch) == 0) s_restart (self, "stale epoch");
        return;
    case ZF_REFUSE_OVERLOADED:
        s_overloaded (self, service, refused, text);
        return;
    case ZF_REFUSE_NO_WORKER:
    case ZF_REFUSE_BAD_REQUEST:
    default: {
        char detail[ZF_MAX_NAME + 512];
        snprintf (detail, sizeof detail, "the dispatcher refused the order (%s): %s", code, text);
        s_error (self, "dispatcher", "orders refused code=%s service=%s attempts=%zu reason=\"%s\"",
                 code, service, refused->key_count, text);
        for (size_t i = 0; i < refused->key_count; i++)
            s_fail (self, &refused->keys[i], detail);
        return;
    }
    }
}

//  ---------------------------------------------------------------------------
//  HELLO and the resync

//  zf_engine_live_fn: the dispatcher listed this attempt (or a newer one it
//  made after losing a worker).
static bool
s_is_live (const zf_task_key_t *key, void *arg)
{
    zf_session_t *self = arg;
    uintptr_t attempt = (uintptr_t)zf_keytable_lookup (self->live, key);
    return attempt >= key->attempt;
}

//  zf_engine_live_fn when the dispatcher's list was cut short: every
//  attempt counts as live, and those not listed are sent again as they are.
static bool
s_unlisted (const zf_task_key_t *key, void *arg)
{
    zf_session_t *self = arg;
    if (!s_is_live (key, self) && zf_keytable_lookup (self->resend, key) == NULL &&
        zf_keytable_insert (self->resend, key, self) != 0)
        s_out_of_memory (self, "keeping an unlisted attempt to send again");
    return true;
}

//  zf_engine_recovery_fn: says what the resync did to a run.
static void
s_requeued (const zf_engine_recovery_t *counts, void *arg)
{
    if (counts->rolled_back == 0) return;
    char date[ZF_DATE_TEXT];
    zf_log_warn ("work lost with the dispatcher runs again flow=%s date=%s requeued=%u live=%u",
                 counts->flow, zf_date_format (counts->date, date, sizeof date),
                 counts->rolled_back, counts->live);
}

//  The session takes orders.
static void
s_ready (zf_session_t *self)
{
    self->state = ZF_SESSION_READY;
    if (self->silent_warned) zf_log_warn ("dispatcher session back endpoint=%s", self->endpoint);
    self->silent_warned = false;
    zf_keytable_purge (self->live);
}

//  zf_engine_recovery_fn: what a cold start recovered in one run.
static void
s_recovered (const zf_engine_recovery_t *counts, void *arg)
{
    zf_session_t *self = arg;
    char date[ZF_DATE_TEXT];
    zf_date_format (counts->date, date, sizeof date);
    zf_log_warn ("recovered run flow=%s date=%s confirmed=%u still_running=%u rolled_back=%u",
                 counts->flow, date, counts->confirmed, counts->live, counts->rolled_back);
    if (counts->rolled_back > 0)
        s_error (self, "registry",
                 "recovery: %s %s: %u attempt%s interrupted by the restart run again after "
                 "their rollback",
                 counts->flow, date, counts->rolled_back, counts->rolled_back == 1 ? "" : "s");
}

//  After a cold start, the first time the dispatcher has said what it holds:
//  successes become confirmed and lost attempts go through their rollback
//  and run again (invariant 5).
static void
s_settle_cold (zf_session_t *self)
{
    self->cold = false;
    int rolled_back =
        zf_engine_recover (self->engine, self->durable, s_is_live, self, s_recovered, self);
    if (rolled_back < 0)
        zf_log_error ("recovery not settled reason=\"%s\"", zf_engine_last_error (self->engine));
    else
        zf_log_warn ("recovery settled rolled_back=%d", rolled_back);
}

//  Every held result has come: what the engine still has in flight and the
//  dispatcher does not hold runs again.
static void
s_synced (zf_session_t *self)
{
    if (self->cold) {
        s_settle_cold (self);
        s_ready (self);
        return;
    }
    int requeued = zf_engine_requeue_lost (self->engine, s_is_live, self, s_requeued, self);
    if (requeued > 0)
        s_error (self, "registry",
                 "%d attempt%s lost with the dispatcher: running again with attempt + 1", requeued,
                 requeued == 1 ? "" : "s");
    else if (requeued < 0)
        zf_log_error ("lost work not requeued reason=\"%s\"", zf_engine_last_error (self->engine));
    s_ready (self);
}

//  Attempts the dispatcher still holds that the engine has moved past (a
//  cancel sent while the dispatcher was away or restarting its session never
//  reached it) are cancelled again. Only when the engine has run on without
//  a break: after a cold start it may not have heard of a dispatch at all,
//  and then the dispatcher's copy is the one to keep (the same attempt sent
//  again starts nothing).
static void
s_cancel_superseded (zf_session_t *self, const zf_hello_reply_t *reply)
{
    for (size_t i = 0; i < reply->inflight_count; i++) {
        const zf_task_key_t *key = &reply->inflight[i].key;
        if (!zf_engine_superseded (self->engine, key)) continue;
        self->stats.cancels_resent++;
        zf_log_info ("cancelling again what the dispatcher still holds flow=%s task=%s shard=%d "
                     "attempt=%u",
                     key->flow, key->task, (int)key->shard, key->attempt);
        zf_session_cancel (key, self);
    }
}

void
zf_session_on_hello_reply (zf_session_t *self, const zf_hello_reply_t *reply)
{
    assert (self && reply);
    if (self->state != ZF_SESSION_HELLO) return;
    if (reply->epoch > zf_engine_epoch (self->engine)) {
        if (self->ops.raise_epoch (self->arg, reply->epoch) == 0)
            s_restart (self, "the dispatcher has seen a newer epoch");
        return;
    }
    //  The list stops at ZF_MAX_BATCH attempts; past that the registry
    //  cannot tell lost work from live work, and sends what it has in
    //  flight again at the same attempt, which the dispatcher ignores for
    //  live attempts and answers with the result for finished ones. A list
    //  that does not fit in memory is treated the same way.
    bool truncated = reply->inflight_count >= ZF_MAX_BATCH;
    if (truncated) self->stats.lists_cut++;
    zf_keytable_purge (self->live);
    for (size_t i = 0; i < reply->inflight_count; i++) {
        const zf_task_key_t *key = &reply->inflight[i].key;
        uintptr_t known = (uintptr_t)zf_keytable_lookup (self->live, key);
        if (key->attempt > known &&
            zf_keytable_update (self->live, key, (void *)(uintptr_t)key->attempt) != 0) {
            s_out_of_memory (self, "the dispatcher's list of attempts");
            truncated = true;
            break;
        }
    }
    if (!self->cold) s_cancel_superseded (self, reply);
    zf_engine_stats_t stats;
    zf_engine_stats (self->engine, &stats);
    if (stats.in_flight == 0) {
        if (self->cold) s_settle_cold (self);
        s_ready (self);
    } else if (truncated) {
        zf_log_warn ("dispatcher holds %zu or more attempts: sending what is in flight again",
                     reply->inflight_count);
        if (self->cold) {
            //  Every success the archiver held is durable.
            self->cold = false;
            uint64_t seq = (uint64_t)zf_engine_seq (self->engine);
            if (zf_engine_confirm (self->engine, self->durable < seq ? self->durable : seq) < 0)
                zf_log_error ("recovered successes not confirmed reason=\"%s\"",
                              zf_engine_last_error (self->engine));
        }
        if (zf_engine_requeue_lost (self->engine, s_unlisted, self, NULL, NULL) < 0)
            zf_log_error ("unlisted work not found reason=\"%s\"",
                          zf_engine_last_error (self->engine));
        //  Ready only now: that forgets the list.
        s_ready (self);
        s_resend (self);
    } else
        self->state = ZF_SESSION_SYNC;
}

void
zf_session_on_heartbeat (zf_session_t *self)
{
    assert (self);
    if (self->state == ZF_SESSION_SYNC) s_synced (self);
}

//  ---------------------------------------------------------------------------
//  Messages

//  Counts a message from the dispatcher that does not parse or decode, and
//  drops it; the bus hears of such messages once per ZF_SESSION_REPORT_MS at
//  most (a dispatcher of another version, or a defect).
static void
s_malformed (zf_session_t *self, const char *what, const char *reason)
{
    self->stats.malformed++;
    zf_log_warn ("malformed %s from the dispatcher dropped reason=\"%s\"", what, reason);
    int64_t now = s_now (self);
    if (self->reported_at_ms >= 0 && now - self->reported_at_ms < ZF_SESSION_REPORT_MS) return;
    self->reported_at_ms = now;
    char text[512];
    snprintf (text, sizeof text, "malformed %s from the dispatcher (%" PRIu64 " so far): %s", what,
              self->stats.malformed, reason);
    zf_engine_report_error (self->engine, "registry", text);
}

void
zf_session_on_message (zf_session_t *self, zmsg_t *msg)
{
    assert (self && msg);
    self->expiry_ms = s_expiry (self);
    zf_mdp_msg_t mdp;
    zf_proto_error_t err;
    if (zf_mdp_parse (msg, ZF_MDP_AT_CLIENT, &mdp, &err) != 0) {
        s_malformed (self, "message", err.text);
        return;
    }
    const void *data = mdp.body ? zframe_data (mdp.body) : NULL;
    size_t size = mdp.body ? zframe_size (mdp.body) : 0;
    switch (mdp.command) {
    case ZF_MDPC_PARTIAL:
    case ZF_MDPC_FINAL: {
        zf_results_t results;
        if (zf_results_decode (self->decoder, data, size, &results, &err) == 0)
            zf_session_on_results (self, &results);
        else
            s_malformed (self, "results", err.text);
        break;
    }
    case ZF_MDPC_HELLO: {
        zf_hello_reply_t reply;
        if (zf_hello_reply_decode (self->decoder, data, size, &reply, &err) == 0)
            zf_session_on_hello_reply (self, &reply);
        else
            s_malformed (self, "hello reply", err.text);
        break;
    }
    case ZF_MDPC_ERROR: {
        zf_refused_t refused;
        if (zf_refused_decode (self->decoder, data, size, &refused, &err) == 0)
            zf_session_on_refused (self, mdp.service, &refused);
        else
            s_malformed (self, "refusal", err.text);
        break;
    }
    case ZF_MDPC_HEARTBEAT:
        zf_session_on_heartbeat (self);
        break;
    default:
        break;
    }
}

//  ---------------------------------------------------------------------------
//  The connection and time

void
zf_session_connected (zf_session_t *self)
{
    assert (self);
    self->connected = true;
    self->expiry_ms = s_expiry (self);
}

void
zf_session_disconnected (zf_session_t *self)
{
    assert (self);
    self->connected = false;
    s_restart (self, "connection closed");
}

void
zf_session_tick (zf_session_t *self)
{
    assert (self);
    if (!self->started) return;
    int64_t now = s_now (self);
    if (self->state == ZF_SESSION_OFF)
        s_open (self);
    else if (now > self->expiry_ms) {
        //  While the socket has no connection, HELLO waits in it: nothing
        //  to start over. A connected dispatcher that stays silent is gone.
        if (self->connected || !self->watched)
            s_restart (self, "the dispatcher fell silent");
        else
            self->expiry_ms = s_expiry (self);
    } else if (self->connected && now - self->sent_at_ms >= self->heartbeat_ms)
        s_send (self, ZF_MDPC_HEARTBEAT, false, "heartbeat");
    if (self->held_count > 0 && !self->held_reported &&
        now - self->held[0].made >= S_HELD_REPORT_MS) {
        //  Said once per wait: dispatch stands still until the events are safe.
        self->held_reported = true;
        s_error (
            self, "registry",
            "orders held for %lld ms: the passive registry or the archiver does not yet "
            "hold the events that dispatch them (safe up to seq %" PRIu64 ", needed %" PRIu64 ")",
            (long long)(now - self->held[0].made), self->gate (self->gate_arg), self->held[0].seq);
    }
}

//  ---------------------------------------------------------------------------
//  Orders and cancels

void
zf_session_pump (zf_session_t *self)
{
    assert (self);
    if (self->state != ZF_SESSION_READY || self->backoff_end_ms >= 0) return;
    zf_engine_order_t order;
    zf_engine_stats_t stats;
    for (;;) {
        zf_engine_stats (self->engine, &stats);
        bool full = stats.in_flight >= self->max_in_flight;
        if (full != self->limited) {
            //  Said once each time the limit starts and stops holding work back.
            self->limited = full;
            if (full) {
                self->stats.limit_hits++;
                zf_log_warn ("in-flight limit reached in_flight=%" PRIu64 " limit=%" PRIu64
                             ": ready work waits for results",
                             stats.in_flight, self->max_in_flight);
            } else
                zf_log_info ("in-flight limit no longer reached in_flight=%" PRIu64,
                             stats.in_flight);
        }
        if (full || zf_engine_next_order (self->engine, &order) != 1) break;
        zf_orders_add (self->orders, &order);
    }
    zf_orders_flush (self->orders);
    if (self->send_failed) {
        self->send_failed = false;
        s_restart (self, "the socket to the dispatcher refused orders");
    }
}

void
zf_session_cancel (const zf_task_key_t *key, void *arg)
{
    zf_session_t *self = arg;
    assert (self && key);
    zf_cancel_t cancel = {key->flow, key->date, key->task, key->shard, NULL, 0};
    zf_proto_error_t err;
    if (zf_cancel_encode (self->encoder, &cancel, &err) != 0) {
        self->stats.unsent++;
        zf_log_error ("cancel not encoded reason=\"%s\"", err.text);
    } else
        s_send (self, ZF_MDPC_CANCEL, true, "cancel");
}

//  ---------------------------------------------------------------------------
//  Life cycle

zf_session_t *
zf_session_new (const zf_session_config_t *cfg, zf_engine_t *engine, zf_clock_t *clock,
                const zf_session_ops_t *ops, void *arg)
{
    assert (cfg && engine && clock && ops);
    assert (ops->connect && ops->send && ops->error && ops->raise_epoch);
    zf_session_t *self = calloc (1, sizeof (zf_session_t));
    if (!self) return NULL;
    self->name = strdup (cfg->name ? cfg->name : "");
    self->endpoint = strdup (cfg->endpoint ? cfg->endpoint : "");
    self->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
    self->liveness = cfg->liveness > 0 ? cfg->liveness : 3;
    self->max_in_flight = cfg->max_in_flight;
    self->engine = engine;
    self->clock = clock;
    self->ops = *ops;
    self->arg = arg;
    self->orders = zf_orders_new (s_send_orders, self);
    self->encoder = zf_proto_encoder_new ();
    self->decoder = zf_proto_decoder_new ();
    self->live = zf_keytable_new (ZF_KEYTABLE_SHARD);
    self->acks = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    self->resend = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    self->batch = calloc (ZF_MAX_BATCH, sizeof (zf_task_key_t));
    if (!self->name || !self->endpoint || !self->orders || !self->encoder || !self->decoder ||
        !self->live || !self->acks || !self->resend || !self->batch) {
        zf_session_destroy (&self);
        return NULL;
    }
    zf_orders_set_wait (self->orders, cfg->wait_ms);
    zf_orders_set_failed (self->orders, s_order_failed, self);
    self->state = ZF_SESSION_OFF;
    self->backoff_end_ms = -1;
    self->backoff_ms = ZF_SESSION_BACKOFF_MIN_MS;
    self->resent_at_ms = -1;
    self->reported_at_ms = -1;
    return self;
}

void
zf_session_destroy (zf_session_t **self_p)
{
    assert (self_p);
    zf_session_t *self = *self_p;
    if (!self) return;
    zf_orders_destroy (&self->orders);
    zf_proto_encoder_destroy (&self->encoder);
    zf_proto_decoder_destroy (&self->decoder);
    zf_keytable_destroy (&self->live);
    zf_keytable_destroy (&self->acks);
    zf_keytable_destroy (&self->resend);
    for (size_t i = 0; i < self->parked_count; i++)
        zf_keytable_destroy (&self->parked[i].keys);
    free (self->parked);
    s_drop_held (self);
    free (self->held);
    free (self->batch);
    free (self->name);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

int
zf_session_start (zf_session_t *self)
{
    assert (self);
    self->started = true;
    return s_open (self);
}

void
zf_session_set_cold (zf_session_t *self, uint64_t durable)
{
    assert (self);
    self->cold = true;
    self->durable = durable;
}

int
zf_session_roll_back_all (zf_session_t *self, const char *flow, zf_date_t date)
{
    assert (self);
    return zf_orders_roll_back_all (self->orders, flow, date);
}

zf_session_state_t
zf_session_state (zf_session_t *self)
{
    assert (self);
    return self->state;
}

void
zf_session_stats (zf_session_t *self, zf_session_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
    zf_orders_stats (self->orders, &stats->orders);
}
