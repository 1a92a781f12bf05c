/*  dispatcher.c - the dispatcher actor: sockets around the broker core.

    Every callback of the loop (the ROUTER, the events socket, the heartbeat
    timer, the deadline timer) ends its turn the same way: what the broker
    produced goes out in batches, and the one deadline timer is armed again
    at the broker's next deadline. The heartbeat timer runs a few times per
    heartbeat interval and does only heartbeats and liveness; stragglers,
    locality and no-worker waits wake the loop exactly when they end.
*/
#include "dispatcher.h"
#include "zf_socket.h"
#include "outbox.h"
#include "zf_clock.h"
#include "zf_log.h"
#include "zf_mdp.h"
#include "zf_pipe.h"

#include <assert.h>
#include <string.h>

//  Messages read from the ROUTER before the batches go out.
#define S_READS_PER_TURN 256

//  If the broker reports a deadline that its expiry did not move on, wait
//  this long before trying again, so a defect cannot spin the loop.
#define S_DEADLINE_RETRY_MS 100

//  The longest the deadline timer is armed for; a later deadline is armed
//  again when this one fires.
#define S_DEADLINE_MAX_MS 3600000

//  The actor's state.
typedef struct {
    zsock_t *pipe;               //  to the caller
    zsock_t *router;             //  clients and workers
    zsock_t *pub;                //  events, or NULL
    zloop_t *loop;               //  the loop
    int deadline_timer;          //  the timer armed at the broker's deadline, or -1
    int64_t deadline_at;         //  the deadline it is armed for (monotonic us), -1 none
    zf_clock_t *clock;           //  the real clock
    zf_broker_t *broker;         //  the core
    zf_outbox_t *outbox;         //  batches to send
    zf_proto_decoder_t *decoder; //  bodies received
    uint64_t malformed;          //  messages dropped as malformed
} s_dispatcher_t;

void
zf_dispatcher_config_defaults (zf_dispatcher_config_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof *cfg);
    cfg->bind = "tcp://127.0.0.1:5560";
    cfg->events = "tcp://127.0.0.1:5561";
    zf_broker_config_defaults (&cfg->broker);
}

//  ---------------------------------------------------------------------------
//  What the broker sends

static void
s_job (void *arg, zf_disp_worker_t *worker, const char *client, uint64_t epoch, const zf_job_t *job)
{
    s_dispatcher_t *self = arg;
    zf_outbox_job (self->outbox, zf_disp_worker_identity (worker),
                   zf_disp_worker_identity_size (worker), client, epoch, job);
}

static void
s_cancel (void *arg, zf_disp_worker_t *worker, uint64_t job_id)
{
    s_dispatcher_t *self = arg;
    zf_outbox_cancel (self->outbox, zf_disp_worker_identity (worker),
                      zf_disp_worker_identity_size (worker), job_id);
}

static void
s_worker_ack (void *arg, zf_disp_worker_t *worker, const zf_task_key_t *key)
{
    s_dispatcher_t *self = arg;
    zf_outbox_worker_ack (self->outbox, zf_disp_worker_identity (worker),
                          zf_disp_worker_identity_size (worker), key);
}

static void
s_heartbeat (void *arg, zf_disp_worker_t *worker)
{
    s_dispatcher_t *self = arg;
    zmsg_t *msg = zf_mdp_worker_new (ZF_MDPW_HEARTBEAT, NULL, NULL, NULL);
    zf_outbox_send_now (self->outbox, zf_disp_worker_identity (worker),
                        zf_disp_worker_identity_size (worker), &msg, "heartbeat");
}

static void
s_client_heartbeat (void *arg, const void *identity, size_t size)
{
    s_dispatcher_t *self = arg;
    zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_HEARTBEAT, NULL, NULL);
    zf_outbox_send_now (self->outbox, identity, size, &msg, "heartbeat");
}

static void
s_disconnect (void *arg, const void *identity, size_t size)
{
    s_dispatcher_t *self = arg;
    zmsg_t *msg = zf_mdp_worker_new (ZF_MDPW_DISCONNECT, NULL, NULL, NULL);
    zf_outbox_send_now (self->outbox, identity, size, &msg, "disconnect");
}

static void
s_result (void *arg, const void *identity, size_t size, const char *service,
          const zf_result_t *result, bool final)
{
    s_dispatcher_t *self = arg;
    zf_outbox_result (self->outbox, identity, size, service, result, final);
}

static void
s_refused (void *arg, const void *identity, size_t size, const char *service,
           const zf_refused_t *refused)
{
    s_dispatcher_t *self = arg;
    zf_outbox_refused (self->outbox, identity, size, service, refused);
}

static void
s_hello_reply (void *arg, const void *identity, size_t size, const zf_hello_reply_t *reply)
{
    s_dispatcher_t *self = arg;
    zf_outbox_hello_reply (self->outbox, identity, size, reply);
}

static void
s_event (void *arg, const zf_dispevent_t *event)
{
    s_dispatcher_t *self = arg;
    zf_outbox_event (self->outbox, event);
}

static const zf_broker_ops_t s_ops = {
    .job = s_job,
    .cancel = s_cancel,
    .worker_ack = s_worker_ack,
    .heartbeat = s_heartbeat,
    .client_heartbeat = s_client_heartbeat,
    .disconnect = s_disconnect,
    .result = s_result,
    .refused = s_refused,
    .hello_reply = s_hello_reply,
    .event = s_event,
};

//  A worker whose jobs could not be sent is dropped, and its work requeued.
static void
s_send_failed (void *arg, const void *identity, size_t size)
{
    s_dispatcher_t *self = arg;
    zf_broker_worker_gone (self->broker, identity, size, "jobs could not be sent");
}

static int s_on_deadline (zloop_t *loop, int timer_id, void *arg);

//  Puts the one deadline timer at the broker's next deadline. expired_at
//  is the time of an expiry this turn made, or -1: a deadline not past it
//  means the expiry did not move on, and waits S_DEADLINE_RETRY_MS.
static void
s_arm_deadline (s_dispatcher_t *self, int64_t expired_at)
{
    int64_t next = zf_broker_next_deadline (self->broker);
    if (next == self->deadline_at && self->deadline_timer >= 0) return;
    if (self->deadline_timer >= 0) zloop_timer_end (self->loop, self->deadline_timer);
    self->deadline_timer = -1;
    self->deadline_at = next;
    if (next < 0) return;
    //  zloop counts whole milliseconds: round up, so the timer does not
    //  come before the deadline more than the loop's own rounding.
    int64_t delay = next - zf_clock_mono_us (self->clock);
    delay = delay <= 0 ? 0 : (delay + 999) / 1000;
    if (expired_at >= 0 && next <= expired_at) {
        zf_log_error ("dispatcher deadline did not move deadline_us=%lld", (long long)next);
        delay = S_DEADLINE_RETRY_MS;
    }
    if (delay > S_DEADLINE_MAX_MS) delay = S_DEADLINE_MAX_MS;
    self->deadline_timer = zloop_timer (self->loop, (size_t)delay, 1, s_on_deadline, self);
    if (self->deadline_timer < 0) zf_log_error ("dispatcher deadline timer not armed");
}

//  Ends a turn: sends what it produced (dropping a worker may produce
//  more), then arms the deadline timer.
static void
s_turn_end (s_dispatcher_t *self, int64_t expired_at)
{
    for (int round = 0; round < 4; round++) {
        uint64_t dropped = zf_outbox_dropped (self->outbox);
        zf_outbox_flush (self->outbox, s_send_failed, self);
        if (zf_outbox_dropped (self->outbox) == dropped) break;
    }
    s_arm_deadline (self, expired_at);
}

//  ---------------------------------------------------------------------------
//  What arrives

//  Counts and logs a message dropped as malformed. A worker that sends one
//  is dropped too (its work requeued) and told to start over, so one broken
//  executor cannot jam the others' work; anyone else is only logged.
static void
s_malformed (s_dispatcher_t *self, zframe_t *identity, const char *what, const char *reason)
{
    self->malformed++;
    zf_log_warn ("malformed %s dropped reason=\"%s\"", what, reason);
    const void *id = zframe_data (identity);
    size_t size = zframe_size (identity);
    if (zf_broker_worker_gone (self->broker, id, size, reason) == 0) s_disconnect (self, id, size);
}

//  A client-protocol message.
static void
s_on_client (s_dispatcher_t *self, zframe_t *identity, zf_mdp_msg_t *mdp)
{
    const void *id = zframe_data (identity);
    size_t size = zframe_size (identity);
    zf_proto_error_t err;
    const void *data = mdp->body ? zframe_data (mdp->body) : NULL;
    size_t bytes = mdp->body ? zframe_size (mdp->body) : 0;
    switch (mdp->command) {
    case ZF_MDPC_REQUEST: {
        zf_dispatch_t dispatch;
        if (zf_dispatch_decode (self->decoder, data, bytes, &dispatch, &err) != 0) {
            self->malformed++;
            zf_log_warn ("malformed dispatch reason=\"%s\"", err.text);
            zf_refused_t refused = {ZF_REFUSE_BAD_REQUEST, 0, err.text, NULL, 0};
            s_refused (self, id, size, mdp->service, &refused);
            return;
        }
        zf_broker_dispatch (self->broker, id, size, mdp->service, &dispatch);
        return;
    }
    case ZF_MDPC_ACK: {
        zf_ack_t ack;
        if (zf_ack_decode (self->decoder, data, bytes, &ack, &err) != 0) break;
        zf_broker_ack (self->broker, id, size, &ack);
        return;
    }
    case ZF_MDPC_CANCEL: {
        zf_cancel_t cancel;
        if (zf_cancel_decode (self->decoder, data, bytes, &cancel, &err) != 0) break;
        zf_broker_cancel (self->broker, id, size, &cancel);
        return;
    }
    case ZF_MDPC_HELLO: {
        zf_hello_t hello;
        if (zf_hello_decode (self->decoder, data, bytes, &hello, &err) != 0) break;
        zf_broker_hello (self->broker, id, size, &hello);
        return;
    }
    case ZF_MDPC_HEARTBEAT:
        zf_broker_client_heartbeat (self->broker, id, size);
        return;
    default: //  commands a client does not send
        return;
    }
    //  A body that did not decode: counted and logged, the client kept.
    self->malformed++;
    zf_log_warn ("malformed %s reason=\"%s\"", zf_mdp_command_name (ZF_MDP_CLIENT, mdp->command),
                 err.text);
}

//  A worker-protocol message.
static void
s_on_worker (s_dispatcher_t *self, zframe_t *identity, zf_mdp_msg_t *mdp)
{
    const void *id = zframe_data (identity);
    size_t size = zframe_size (identity);
    zf_proto_error_t err;
    const void *data = mdp->body ? zframe_data (mdp->body) : NULL;
    size_t bytes = mdp->body ? zframe_size (mdp->body) : 0;
    switch (mdp->command) {
    case ZF_MDPW_READY: {
        zf_worker_ready_t ready;
        if (zf_worker_ready_decode (self->decoder, data, bytes, &ready, &err) != 0) {
            s_malformed (self, identity, "ready", err.text);
            s_disconnect (self, id, size);
            return;
        }
        zf_broker_worker_ready (self->broker, id, size, &ready);
        return;
    }
    case ZF_MDPW_PARTIAL:
    case ZF_MDPW_FINAL: {
        zf_results_t results;
        if (zf_results_decode (self->decoder, data, bytes, &results, &err) != 0) {
            s_malformed (self, identity, "results", err.text);
            return;
        }
        zf_broker_worker_results (self->broker, id, size, &results);
        return;
    }
    case ZF_MDPW_HEARTBEAT:
        zf_broker_worker_heartbeat (self->broker, id, size);
        return;
    case ZF_MDPW_DISCONNECT:
        zf_broker_worker_gone (self->broker, id, size, NULL);
        return;
    default:
        return;
    }
}

//  One message from the ROUTER.
static void
s_on_message (s_dispatcher_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop (msg);
    if (!identity || zframe_size (identity) == 0) {
        zframe_destroy (&identity);
        return;
    }
    zf_mdp_msg_t mdp;
    zf_proto_error_t err;
    if (zf_mdp_parse (msg, ZF_MDP_AT_BROKER, &mdp, &err) != 0)
        s_malformed (self, identity, "message", err.text);
    else if (mdp.protocol == ZF_MDP_CLIENT)
        s_on_client (self, identity, &mdp);
    else
        s_on_worker (self, identity, &mdp);
    zframe_destroy (&identity);
}

static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_dispatcher_t *self = arg;
    //  Several messages per turn, so their replies and jobs go out in
    //  fewer, larger batches.
    for (int i = 0; i < S_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        s_on_message (self, msg);
        zmsg_destroy (&msg);
    }
    s_turn_end (self, -1);
    return 0;
}

//  Subscriptions on the events socket: one that takes in worker_join events
//  (its prefix is one of "disp.worker_join") hears every live worker's join
//  again, so a monitor that starts late still knows each worker's slots.
static int
s_on_subscription (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_dispatcher_t *self = arg;
    static const char joins[] = "disp.worker_join";
    bool announce = false;
    for (int i = 0; i < S_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zframe_t *frame = zframe_recv (reader);
        if (!frame) break;
        const char *data = (const char *)zframe_data (frame);
        size_t size = zframe_size (frame);
        if (size >= 1 && data[0] == 1 && size - 1 <= sizeof joins - 1 &&
            memcmp (data + 1, joins, size - 1) == 0)
            announce = true;
        zframe_destroy (&frame);
    }
    if (announce) {
        zf_broker_announce_workers (self->broker);
        s_turn_end (self, -1);
    }
    return 0;
}

//  Heartbeats and liveness.
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    s_dispatcher_t *self = arg;
    zf_broker_tick (self->broker);
    s_turn_end (self, -1);
    return 0;
}

//  The broker's deadline has come: stragglers, keyed shards and orders done
//  waiting.
static int
s_on_deadline (zloop_t *loop, int timer_id, void *arg)
{
    s_dispatcher_t *self = arg;
    self->deadline_timer = -1;
    self->deadline_at = -1;
    int64_t now = zf_clock_mono_us (self->clock);
    zf_broker_expire (self->broker);
    s_turn_end (self, now);
    return 0;
}

//  STATS: the counters, by name (docs/ARCHITECTURE.md lists them).
static void
s_send_stats (s_dispatcher_t *self, zsock_t *pipe)
{
    zf_broker_stats_t broker;
    zf_broker_stats (self->broker, &broker);
    zf_fields_t *stats = zf_fields_new ();
    zf_fields_add (stats, "orders", broker.orders);
    zf_fields_add (stats, "jobs", broker.jobs);
    zf_fields_add (stats, "results", broker.results);
    zf_fields_add (stats, "requeued", broker.requeued);
    zf_fields_add (stats, "repeats_held", broker.repeats_held);
    zf_fields_add (stats, "attempts_raised", broker.attempts_raised);
    zf_fields_add (stats, "speculative", broker.speculative);
    zf_fields_add (stats, "refused", broker.refused);
    zf_fields_add (stats, "stale", broker.stale);
    zf_fields_add (stats, "malformed", self->malformed);
    zf_outbox_stats_t drops;
    zf_outbox_stats (self->outbox, &drops);
    zf_fields_add (stats, "dropped", zf_outbox_dropped (self->outbox));
    zf_fields_add (stats, "unsent", drops.unsent);
    zf_fields_add (stats, "unencoded", drops.unencoded);
    zf_fields_add (stats, "no_memory", drops.no_memory);
    zf_fields_add (stats, "events_dropped", drops.events);
    zf_fields_add (stats, "queued", broker.queued);
    zf_fields_add (stats, "inflight", broker.inflight);
    zf_fields_add (stats, "held", broker.held);
    zf_fields_add (stats, "workers", broker.workers);
    zf_fields_add (stats, "fenced", broker.fenced);
    zf_fields_add (stats, "forgotten", broker.forgotten);
    zf_fields_add (stats, "unclaimed", broker.unclaimed);
    zf_fields_send (&stats, pipe);
}

static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_dispatcher_t *self = arg;
    char *command = zstr_recv (reader);
    if (!command) return -1;
    int rc = 0;
    if (streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (reader, zsock_endpoint (self->router),
                           self->pub ? zsock_endpoint (self->pub) : NULL);
    else if (streq (command, ZF_PIPE_STATS))
        s_send_stats (self, reader);
    else
        zf_pipe_unknown ("dispatcher", command);
    zstr_free (&command);
    return rc;
}

//  Frees what the actor made.
static void
s_teardown (s_dispatcher_t *self)
{
    zf_broker_destroy (&self->broker);
    zf_outbox_destroy (&self->outbox);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->router);
    zsock_destroy (&self->pub);
    zf_clock_destroy (&self->clock);
    zf_proto_decoder_destroy (&self->decoder);
}

void
zf_dispatcher_actor (zsock_t *pipe, void *args)
{
    const zf_dispatcher_config_t *cfg = args;
    s_dispatcher_t self = {.pipe = pipe, .deadline_timer = -1, .deadline_at = -1};
    self.clock = zf_clock_new_real ();
    self.decoder = zf_proto_decoder_new ();
    self.router = zf_socket_new (ZMQ_ROUTER);
    if (self.router) {
        zsock_set_router_mandatory (self.router, 1);
        zsock_set_sndhwm (self.router, 100000);
        zsock_set_rcvhwm (self.router, 100000);
        zsock_set_sndtimeo (self.router, 0);
    }
    bool ok =
        self.clock && self.decoder && self.router && zsock_bind (self.router, "%s", cfg->bind) >= 0;
    if (ok && cfg->events && *cfg->events) {
        //  An XPUB that hands over every subscription, so that a subscriber
        //  to joins can be told which workers joined before it came.
        self.pub = zf_socket_new (ZMQ_XPUB);
        if (self.pub) zsock_set_xpub_verbose (self.pub, 1);
        ok = self.pub && zsock_bind (self.pub, "%s", cfg->events) >= 0;
        if (ok) zsock_set_sndhwm (self.pub, 100000);
    }
    if (ok) {
        self.outbox = zf_outbox_new (self.router, self.pub, self.clock);
        self.broker = zf_broker_new (&cfg->broker, self.clock, &s_ops, &self);
        self.loop = zloop_new ();
        ok = self.outbox && self.broker && self.loop;
    }
    for (size_t i = 0; ok && i < cfg->pool_count; i++)
        ok = zf_broker_set_pool (self.broker, cfg->pool_services[i], cfg->pool_limits[i]) == 0;
    if (!ok) {
        zf_log_error ("dispatcher cannot start bind=%s events=%s", cfg->bind,
                      cfg->events ? cfg->events : "-");
        s_teardown (&self);
        zsock_signal (pipe, 1);
        return;
    }
    //  Heartbeats and liveness run a few times per heartbeat interval.
    int64_t tick = cfg->broker.heartbeat_ms / 4;
    tick = tick < 5 ? 5 : tick > 100 ? 100 : tick;
    zloop_set_nonstop (self.loop, true);
    zloop_reader (self.loop, self.router, s_on_router, &self);
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    if (self.pub) zloop_reader (self.loop, self.pub, s_on_subscription, &self);
    zloop_timer (self.loop, (size_t)tick, 0, s_on_tick, &self);
    zf_log_info ("dispatcher ready bind=%s events=%s", zsock_endpoint (self.router),
                 self.pub ? zsock_endpoint (self.pub) : "-");
    zsock_signal (pipe, 0);
    zloop_start (self.loop);
    s_teardown (&self);
}
