/*  dispatch.c - the registry's session with the dispatcher (Majordomo client).

    A session is one DEALER socket: it says HELLO with our name and epoch,
    waits for the reply, and from then on sends orders (REQUEST), cancels
    and acknowledgements, and takes results (PARTIAL, FINAL), refusals
    (ERROR) and heartbeats. Anything that breaks the session - the
    dispatcher silent for `liveness` heartbeats, its connection dropped, a
    stale epoch, a request the socket would not take - ends it: the socket
    is closed and a fresh one says HELLO again, so nothing sent on the old
    one can be confused with the new.

    After every HELLO the dispatcher lists the attempts it holds for us and
    re-sends the results we have not acknowledged. Work the engine has in
    flight that the dispatcher neither holds nor reports was lost with the
    old dispatcher (or never reached it) and runs again at attempt + 1 with
    its rollback first (zf_engine_requeue_lost). The check waits for the
    dispatcher's first heartbeat after the reply: it sends its held results
    in the turn that answers HELLO, and heartbeats only in later turns.
*/
#include "registry_internal.h"
#include "results.h"
#include "zf_array.h"
#include "zf_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Room for a key's text in the live table: flow, date, task, shard.
#define S_LIVE_KEY (2 * ZF_MAX_NAME + 48)

//  ---------------------------------------------------------------------------
//  Key sets

int
zf_keyset_add (zf_keyset_t *set, const zf_task_key_t *key)
{
    if (set->count == set->capacity &&
        zf_array_grow ((void **)&set->keys, &set->capacity, set->count + 1, sizeof (zf_task_key_t)))
        return -1;
    zf_task_key_t *copy = &set->keys[set->count];
    *copy = *key;
    copy->flow = zf_arena_strdup (set->arena, key->flow);
    copy->task = zf_arena_strdup (set->arena, key->task);
    if ((key->flow && !copy->flow) || (key->task && !copy->task)) return -1;
    set->count++;
    return 0;
}

void
zf_keyset_clear (zf_keyset_t *set)
{
    set->count = 0;
    if (set->arena) zf_arena_reset (set->arena);
}

void
zf_keyset_free (zf_keyset_t *set)
{
    free (set->keys);
    set->keys = NULL;
    set->count = set->capacity = 0;
    zf_arena_destroy (&set->arena);
}

//  ---------------------------------------------------------------------------
//  Sending

//  Sends [""][MDPC02][command][service?][body?]. 0 or -1.
static int
s_send (zf_registry_t *self, uint8_t command, const char *service, const void *body, size_t size)
{
    if (!self->dealer) return -1;
    void *socket = zsock_resolve (self->dealer);
    bool more_service = service != NULL, more_body = body != NULL;
    int rc = zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_send (socket, ZF_MDPC, strlen (ZF_MDPC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send (socket, &command, 1,
                       (more_service || more_body ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    if (rc >= 0 && more_service)
        rc = zmq_send (socket, service, strlen (service),
                       (more_body ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    if (rc >= 0 && more_body) rc = zmq_send (socket, body, size, ZMQ_DONTWAIT);
    self->sent_at_ms = zclock_mono ();
    return rc < 0 ? -1 : 0;
}

//  Sends the body last encoded with a command.
static int
s_send_encoded (zf_registry_t *self, uint8_t command)
{
    return s_send (self, command, NULL, zf_proto_encoder_data (self->encoder),
                   zf_proto_encoder_size (self->encoder));
}

//  ---------------------------------------------------------------------------
//  Opening and closing

static int s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg);
static int s_on_monitor (zloop_t *loop, zsock_t *reader, void *arg);

//  When the dispatcher counts as silent if we hear nothing from now on.
static int64_t
s_expiry (zf_registry_t *self)
{
    return zclock_mono () + self->heartbeat_ms * (int64_t)self->liveness;
}

int
zf_session_open (zf_registry_t *self)
{
    assert (!self->dealer);
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer) return -1;
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_rcvhwm (self->dealer, 100000);
    zsock_set_linger (self->dealer, 0);
    //  A monitor tells at once when the connection drops (a dispatcher
    //  killed and restarted), instead of after liveness runs out.
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://zf-registry-monitor-%p-%d", (void *)self,
              ++self->monitor_seq);
    if (zmq_socket_monitor (zsock_resolve (self->dealer), endpoint,
                            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        if (self->monitor && zsock_connect (self->monitor, "%s", endpoint) != 0)
            zsock_destroy (&self->monitor);
    }
    if (zsock_connect (self->dealer, "%s", self->dispatcher) != 0) {
        zf_log_error ("cannot connect to the dispatcher endpoint=%s", self->dispatcher);
        zf_session_close (self);
        return -1;
    }
    zloop_reader (self->loop, self->dealer, s_on_dealer, self);
    if (self->monitor) zloop_reader (self->loop, self->monitor, s_on_monitor, self);
    self->state = ZF_SESSION_HELLO;
    self->connected = false;
    self->expiry_ms = s_expiry (self);
    zhashx_purge (self->live);
    zf_keyset_clear (&self->resend);
    self->restart_pending = false;
    if (self->backoff_timer >= 0) zloop_timer_end (self->loop, self->backoff_timer);
    self->backoff_timer = -1;
    //  HELLO waits in the socket until the connection is made.
    zf_hello_t hello = {zf_engine_epoch (self->engine), self->name};
    zf_proto_error_t err;
    if (zf_hello_encode (self->encoder, &hello, &err) != 0) {
        zf_log_error ("hello not encoded reason=\"%s\"", err.text);
        zf_session_close (self);
        return -1;
    }
    return s_send_encoded (self, ZF_MDPC_HELLO);
}

void
zf_session_close (zf_registry_t *self)
{
    if (self->monitor) {
        if (self->loop) zloop_reader_end (self->loop, self->monitor);
        zsock_destroy (&self->monitor);
    }
    if (self->dealer) {
        if (self->loop) zloop_reader_end (self->loop, self->dealer);
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
        zsock_destroy (&self->dealer);
    }
    self->connected = false;
}

void
zf_session_restart (zf_registry_t *self, const char *why)
{
    self->reconnects++;
    //  The first loss is an error on the bus; retries while the dispatcher
    //  stays away are only logged.
    if (!self->silent_warned)
        zf_registry_error (self, "registry", "dispatcher session lost endpoint=%s reason=\"%s\"",
                           self->dispatcher, why);
    else
        zf_log_info ("dispatcher session restarted endpoint=%s reason=\"%s\"", self->dispatcher,
                     why);
    self->silent_warned = true;
    zf_session_close (self);
    zf_session_open (self);
}

void
zf_session_destroy (zf_registry_t *self)
{
    zhashx_destroy (&self->live);
    zf_keyset_free (&self->acks);
    zf_keyset_free (&self->resend);
    zf_proto_decoder_destroy (&self->disp_decoder);
}

//  ---------------------------------------------------------------------------
//  Results

//  Reports a shard attempt failed for a reason of the dispatcher's, every
//  in-flight shard of that attempt if the key names the whole task.
static void
s_fail (zf_registry_t *self, const zf_task_key_t *key, const char *detail)
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

void
zf_session_order_failed (void *arg, const zf_order_t *order, const char *reason)
{
    zf_registry_t *self = arg;
    char detail[512];
    snprintf (detail, sizeof detail, "the order could not be sent: %s", reason);
    zf_registry_error (self, "registry", "order not sent flow=%s task=%s reason=\"%s\"",
                       order->flow, order->task, reason);
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

//  Applies one RESULTS body.
static void
s_on_results (zf_registry_t *self, const zf_results_t *results)
{
    char detail[ZF_RESULTS_DETAIL];
    for (size_t i = 0; i < results->result_count; i++) {
        const zf_result_t *result = &results->results[i];
        zf_result_map_t map;
        zf_results_map (result, detail, sizeof detail, &map);
        self->results++;
        int rc = 0;
        if (map.action == ZF_RESULT_RUNNING)
            rc = zf_engine_running (self->engine, &result->key, result->executor);
        else if (map.action == ZF_RESULT_ENDED)
            rc = zf_engine_result (self->engine, &result->key, map.outcome, map.exit_status,
                                   result->executor, map.detail);
        if (rc == ZF_E_STALE)
            self->stale++;
        else if (rc < 0) {
            //  A result for a run this registry does not hold (an earlier
            //  registry's): acknowledged so the dispatcher forgets it.
            self->stale++;
            char text[ZF_TASK_KEY_TEXT];
            zf_log_info ("result ignored key=%s reason=\"%s\"",
                         zf_task_key_format (&result->key, text, sizeof text),
                         zf_engine_last_error (self->engine));
        }
        if (map.ack && zf_keyset_add (&self->acks, &result->key) != 0)
            zf_log_error ("out of memory acknowledging a result; it comes again");
    }
}

void
zf_session_flush_acks (zf_registry_t *self)
{
    if (self->acks.count == 0) return;
    for (size_t at = 0; self->dealer && at < self->acks.count; at += ZF_MAX_BATCH) {
        size_t count = self->acks.count - at < ZF_MAX_BATCH ? self->acks.count - at : ZF_MAX_BATCH;
        zf_ack_t ack = {self->acks.keys + at, count};
        zf_proto_error_t err;
        if (zf_ack_encode (self->encoder, &ack, &err) != 0)
            zf_log_error ("ack not encoded reason=\"%s\"", err.text);
        else
            s_send_encoded (self, ZF_MDPC_ACK);
    }
    zf_keyset_clear (&self->acks);
}

//  ---------------------------------------------------------------------------
//  Sending orders again

static int s_on_backoff (zloop_t *loop, int timer_id, void *arg);

//  Waits before sending refused orders again; a refusal soon after the last
//  resend doubles the wait.
static void
s_arm_backoff (zf_registry_t *self)
{
    if (self->backoff_timer >= 0) return;
    self->backoff_timer = zloop_timer (self->loop, (size_t)self->backoff_ms, 1, s_on_backoff, self);
}

//  Sends the refused attempts again, those still dispatched at that attempt.
static void
s_resend (zf_registry_t *self)
{
    zf_engine_shard_run_t *shards = calloc (self->resend.count + 1, sizeof *shards);
    if (!shards) {
        zf_log_error ("out of memory sending refused orders again");
        return;
    }
    size_t at = 0;
    while (at < self->resend.count) {
        //  Keys of one task come together: one order for all of them.
        const zf_task_key_t *head = &self->resend.keys[at];
        zf_engine_run_info_t run;
        int32_t index = -1;
        if (zf_engine_run_info (self->engine, head->flow, head->date, &run) == 0)
            index = zf_flow_task_index (run.definition, head->task);
        size_t count = 0, next = at;
        for (; next < self->resend.count; next++) {
            const zf_task_key_t *key = &self->resend.keys[next];
            if (key->date != head->date || strcmp (key->flow, head->flow) != 0 ||
                strcmp (key->task, head->task) != 0)
                break;
            zf_engine_shard_info_t info;
            if (index < 0 ||
                zf_engine_shard_info (self->engine, key->flow, key->date, (uint32_t)index,
                                      key->shard, &info) != 0 ||
                info.state != ZF_TS_DISPATCHED || info.attempt != key->attempt)
                continue;
            shards[count++] = (zf_engine_shard_run_t){info.shard, key->attempt, info.rollback};
        }
        if (count) {
            uint32_t width = run.definition->tasks[index].shard_count;
            zf_engine_order_t order = {
                .flow = run.definition,
                .task = &run.definition->tasks[index],
                .flow_name = run.flow,
                .task_id = run.definition->tasks[index].id,
                .version = run.version,
                .date = run.date,
                .epoch = zf_engine_epoch (self->engine),
                .whole = count == (width > 1 ? width : 1),
                .shards = shards,
                .shard_count = count,
            };
            zf_orders_add (self->orders, &order);
        }
        at = next;
    }
    free (shards);
    zf_keyset_clear (&self->resend);
    zf_orders_flush (self->orders);
    self->resent_at_ms = zclock_mono ();
}

static int
s_on_backoff (zloop_t *loop, int timer_id, void *arg)
{
    zf_registry_t *self = arg;
    self->backoff_timer = -1;
    if (self->restart_pending) {
        self->restart_pending = false;
        zf_session_restart (self, "the dispatcher refused a whole request as overloaded");
    } else if (self->state == ZF_SESSION_READY)
        s_resend (self);
    zf_registry_turn_end (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Refusals

static void
s_on_refused (zf_registry_t *self, const char *service, const zf_refused_t *refused)
{
    self->refusals++;
    const char *text = refused->text ? refused->text : "";
    const char *code = zf_refuse_code_name (refused->code);
    switch (refused->code) {
    case ZF_REFUSE_STALE_EPOCH:
        //  Our term is older than one the dispatcher saw: a registry whose
        //  epoch file was lost or reset. Take a newer one and start over;
        //  the new session's HELLO sorts out what must run again.
        zf_registry_error (self, "dispatcher", "dispatcher refused epoch %" PRIu64 ": %s",
                           zf_engine_epoch (self->engine), text);
        if (zf_registry_raise_epoch (self, refused->epoch) == 0)
            zf_session_restart (self, "stale epoch");
        return;
    case ZF_REFUSE_OVERLOADED: {
        int64_t now = zclock_mono ();
        zf_log_warn ("dispatcher overloaded service=%s attempts=%zu reason=\"%s\"", service,
                     refused->key_count, text);
        if (self->backoff_timer < 0) {
            //  Refused again soon after a resend: back off further.
            if (self->resent_at_ms && now - self->resent_at_ms < 2 * self->backoff_ms)
                self->backoff_ms = self->backoff_ms * 2 > ZF_REGISTRY_BACKOFF_MAX_MS
                                       ? ZF_REGISTRY_BACKOFF_MAX_MS
                                       : self->backoff_ms * 2;
            else
                self->backoff_ms = ZF_REGISTRY_BACKOFF_MIN_MS;
            zf_registry_error (
                self, "dispatcher",
                "dispatcher overloaded service=%s reason=\"%s\" retry_in_ms=%" PRId64, service,
                text, self->backoff_ms);
        }
        if (refused->key_count == 0) self->restart_pending = true;
        for (size_t i = 0; i < refused->key_count; i++)
            if (zf_keyset_add (&self->resend, &refused->keys[i]) != 0) self->restart_pending = true;
        s_arm_backoff (self);
        return;
    }
    case ZF_REFUSE_NO_WORKER:
    case ZF_REFUSE_BAD_REQUEST:
    default: {
        char detail[ZF_MAX_NAME + 512];
        snprintf (detail, sizeof detail, "the dispatcher refused the order (%s): %s", code, text);
        zf_registry_error (self, "dispatcher",
                           "orders refused code=%s service=%s attempts=%zu reason=\"%s\"", code,
                           service, refused->key_count, text);
        for (size_t i = 0; i < refused->key_count; i++)
            s_fail (self, &refused->keys[i], detail);
        return;
    }
    }
}

//  ---------------------------------------------------------------------------
//  HELLO and the resync

//  The live table's key for a shard, attempt left out.
static const char *
s_live_key (const zf_task_key_t *key, char *buf, size_t size)
{
    snprintf (buf, size, "%s\x1f%" PRId32 "\x1f%s\x1f%" PRId32, key->flow, key->date, key->task,
              key->shard);
    return buf;
}

//  zf_engine_live_fn: the dispatcher holds this attempt (or a newer one it
//  made after losing a worker).
static bool
s_is_live (const zf_task_key_t *key, void *arg)
{
    zf_registry_t *self = arg;
    char text[S_LIVE_KEY];
    uintptr_t attempt = (uintptr_t)zhashx_lookup (self->live, s_live_key (key, text, sizeof text));
    return attempt >= key->attempt;
}

//  zf_engine_live_fn when the dispatcher's list was cut short: every
//  attempt counts as live, and those not listed are sent again as they are.
static bool
s_unlisted (const zf_task_key_t *key, void *arg)
{
    zf_registry_t *self = arg;
    if (!s_is_live (key, self)) zf_keyset_add (&self->resend, key);
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
s_ready (zf_registry_t *self)
{
    self->state = ZF_SESSION_READY;
    if (self->silent_warned) zf_log_warn ("dispatcher session back endpoint=%s", self->dispatcher);
    self->silent_warned = false;
    zhashx_purge (self->live);
}

//  What a cold start recovered in one run, for the operator.
static void
s_recovered (const zf_engine_recovery_t *counts, void *arg)
{
    zf_registry_t *self = arg;
    char date[ZF_DATE_TEXT];
    zf_date_format (counts->date, date, sizeof date);
    zf_log_warn ("recovered run flow=%s date=%s confirmed=%u still_running=%u rolled_back=%u",
                 counts->flow, date, counts->confirmed, counts->live, counts->rolled_back);
    if (counts->rolled_back > 0)
        zf_registry_error (self, "registry",
                           "recovery: %s %s: %u attempt%s interrupted by the restart run again "
                           "after their rollback",
                           counts->flow, date, counts->rolled_back,
                           counts->rolled_back == 1 ? "" : "s");
}

//  After a cold start, the first time the dispatcher has said what it holds:
//  successes become confirmed and lost attempts go through their rollback
//  and run again (invariant 5).
static void
s_settle_cold (zf_registry_t *self)
{
    self->cold = false;
    int rolled_back = zf_engine_recover (self->engine, s_is_live, self, s_recovered, self);
    if (rolled_back < 0)
        zf_log_error ("recovery not settled reason=\"%s\"", zf_engine_last_error (self->engine));
    else
        zf_log_warn ("recovery settled rolled_back=%d", rolled_back);
}

//  Every held result has come: what the engine still has in flight and the
//  dispatcher does not hold runs again.
static void
s_synced (zf_registry_t *self)
{
    if (self->cold) {
        s_settle_cold (self);
        s_ready (self);
        return;
    }
    int requeued = zf_engine_requeue_lost (self->engine, s_is_live, self, s_requeued, self);
    if (requeued > 0)
        zf_registry_error (self, "registry",
                           "%d attempt%s lost with the dispatcher: running again with attempt + 1",
                           requeued, requeued == 1 ? "" : "s");
    else if (requeued < 0)
        zf_log_error ("lost work not requeued reason=\"%s\"", zf_engine_last_error (self->engine));
    s_ready (self);
}

static void
s_on_hello_reply (zf_registry_t *self, const zf_hello_reply_t *reply)
{
    if (self->state != ZF_SESSION_HELLO) return;
    if (reply->epoch > zf_engine_epoch (self->engine)) {
        if (zf_registry_raise_epoch (self, reply->epoch) == 0)
            zf_session_restart (self, "the dispatcher has seen a newer epoch");
        return;
    }
    zhashx_purge (self->live);
    for (size_t i = 0; i < reply->inflight_count; i++) {
        char text[S_LIVE_KEY];
        const zf_task_key_t *key = &reply->inflight[i].key;
        s_live_key (key, text, sizeof text);
        uintptr_t known = (uintptr_t)zhashx_lookup (self->live, text);
        if (key->attempt > known) zhashx_update (self->live, text, (void *)(uintptr_t)key->attempt);
    }
    //  The list stops at ZF_MAX_BATCH attempts; past that the registry
    //  cannot tell lost work from live work, and sends what it has in
    //  flight again at the same attempt, which the dispatcher ignores for
    //  live attempts and answers with the result for finished ones.
    bool truncated = reply->inflight_count >= ZF_MAX_BATCH;
    zf_engine_stats_t stats;
    zf_engine_stats (self->engine, &stats);
    if (stats.in_flight == 0) {
        if (self->cold) s_settle_cold (self);
        s_ready (self);
    } else if (truncated) {
        zf_log_warn ("dispatcher holds %zu or more attempts: sending what is in flight again",
                     reply->inflight_count);
        s_ready (self);
        if (self->cold) {
            //  Every success folded from the archiver is durable.
            self->cold = false;
            zf_engine_confirm (self->engine, zf_engine_seq (self->engine));
        }
        zf_engine_requeue_lost (self->engine, s_unlisted, self, NULL, NULL);
        s_resend (self);
    } else
        self->state = ZF_SESSION_SYNC;
}

//  ---------------------------------------------------------------------------
//  The socket

//  Counts a message from the dispatcher that does not parse or decode, and
//  drops it; the bus hears of such messages once a second at most (a
//  dispatcher of another version, or a defect).
static void
s_malformed (zf_registry_t *self, const char *what, const char *reason)
{
    self->disp_malformed++;
    zf_log_warn ("malformed %s from the dispatcher dropped reason=\"%s\"", what, reason);
    int64_t now = zclock_mono ();
    if (self->disp_reported_at && now - self->disp_reported_at < 1000) return;
    self->disp_reported_at = now;
    char text[512];
    snprintf (text, sizeof text, "malformed %s from the dispatcher (%" PRIu64 " so far): %s", what,
              self->disp_malformed, reason);
    zf_engine_report_error (self->engine, "registry", text);
}

//  One message from the dispatcher.
static void
s_on_message (zf_registry_t *self, zmsg_t *msg)
{
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
        if (zf_results_decode (self->disp_decoder, data, size, &results, &err) == 0)
            s_on_results (self, &results);
        else
            s_malformed (self, "results", err.text);
        break;
    }
    case ZF_MDPC_HELLO: {
        zf_hello_reply_t reply;
        if (zf_hello_reply_decode (self->disp_decoder, data, size, &reply, &err) == 0)
            s_on_hello_reply (self, &reply);
        else
            s_malformed (self, "hello reply", err.text);
        break;
    }
    case ZF_MDPC_ERROR: {
        zf_refused_t refused;
        if (zf_refused_decode (self->disp_decoder, data, size, &refused, &err) == 0)
            s_on_refused (self, mdp.service, &refused);
        else
            s_malformed (self, "refusal", err.text);
        break;
    }
    case ZF_MDPC_HEARTBEAT:
        if (self->state == ZF_SESSION_SYNC) s_synced (self);
        break;
    default:
        break;
    }
}

static int
s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_registry_t *self = arg;
    for (int i = 0; i < ZF_REGISTRY_READS_PER_TURN && self->dealer == reader; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        self->expiry_ms = s_expiry (self);
        s_on_message (self, msg);
        zmsg_destroy (&msg);
    }
    zf_registry_turn_end (self);
    return 0;
}

//  The DEALER's connection came or went.
static int
s_on_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_registry_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    zframe_t *frame = msg ? zmsg_first (msg) : NULL;
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= sizeof event)
        memcpy (&event, zframe_data (frame), sizeof event);
    zmsg_destroy (&msg);
    if (event == ZMQ_EVENT_CONNECTED) {
        self->connected = true;
        self->expiry_ms = s_expiry (self);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        self->connected = false;
        zf_session_restart (self, "connection closed");
    }
    zf_registry_turn_end (self);
    return 0;
}

int
zf_session_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    zf_registry_t *self = arg;
    int64_t now = zclock_mono ();
    if (!self->dealer)
        zf_session_open (self);
    else if (now > self->expiry_ms) {
        //  While the socket has no connection, HELLO waits in it: nothing
        //  to start over. A connected dispatcher that stays silent is gone.
        if (self->connected || !self->monitor)
            zf_session_restart (self, "the dispatcher fell silent");
        else
            self->expiry_ms = s_expiry (self);
    } else if (self->connected && now - self->sent_at_ms >= self->heartbeat_ms)
        s_send (self, ZF_MDPC_HEARTBEAT, NULL, NULL, 0);
    zf_registry_turn_end (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Orders and cancels

void
zf_session_pump (zf_registry_t *self)
{
    if (self->state != ZF_SESSION_READY || !self->dealer || self->backoff_timer >= 0) return;
    zf_engine_order_t order;
    zf_engine_stats_t stats;
    for (;;) {
        zf_engine_stats (self->engine, &stats);
        if (stats.in_flight >= self->max_in_flight) break;
        if (zf_engine_next_order (self->engine, &order) != 1) break;
        zf_orders_add (self->orders, &order);
    }
    zf_orders_flush (self->orders);
    //  Orders the socket would not take never reached the dispatcher: a
    //  fresh session finds them missing and runs them again.
    if (self->send_failed) {
        self->send_failed = false;
        zf_session_restart (self, "the socket to the dispatcher refused orders");
    }
}

void
zf_session_cancel (const zf_task_key_t *key, void *arg)
{
    zf_registry_t *self = arg;
    zf_cancel_t cancel = {key->flow, key->date, key->task, key->shard, NULL, 0};
    zf_proto_error_t err;
    if (zf_cancel_encode (self->encoder, &cancel, &err) != 0)
        zf_log_error ("cancel not encoded reason=\"%s\"", err.text);
    else if (s_send_encoded (self, ZF_MDPC_CANCEL) != 0)
        zf_log_warn ("cancel not sent: the dispatcher is not connected");
}
