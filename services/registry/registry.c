/*  registry.c - the registry actor: sockets, the loop, the end of every turn.

    Every callback of the loop (a request, a message from the dispatcher,
    the deadline timer, the heartbeat timer, the pipe) does its own work and
    then ends the turn the same way: orders out, events out, acknowledgements
    out, one timer re-armed at the engine's next deadline. Nothing polls:
    the engine says when it next needs the clock, and the loop sleeps until
    then or until a message comes.
*/
#include "registry_internal.h"
#include "epoch.h"
#include "zf_log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  Socket buffers, in messages: a turn may send thousands of orders and
//  event bodies at once.
#define S_HWM 100000

//  When the engine reports a deadline that its tick did not handle, wait
//  this long before asking again, so a defect cannot spin the loop.
#define S_IDLE_RETRY_MS 100

void
zf_registry_config_defaults (zf_registry_config_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof *cfg);
    cfg->bind = "tcp://127.0.0.1:5570";
    cfg->events = "tcp://127.0.0.1:5571";
    cfg->dispatcher = "tcp://127.0.0.1:5560";
    cfg->dir = "./var";
    cfg->name = "registry";
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->no_worker_wait_ms = 60000;
    cfg->journal_events = ZF_REGISTRY_JOURNAL_EVENTS;
    cfg->journal_bytes = ZF_REGISTRY_JOURNAL_BYTES;
    cfg->max_in_flight = ZF_REGISTRY_MAX_IN_FLIGHT;
    cfg->keep_runs = ZF_REGISTRY_KEEP_RUNS;
}

//  ---------------------------------------------------------------------------
//  Errors and the epoch

void
zf_registry_error (zf_registry_t *self, const char *service, const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    zf_log_error ("%s", text);
    zf_engine_report_error (self->engine, service, text);
}

int
zf_registry_raise_epoch (zf_registry_t *self, uint64_t newest)
{
    uint64_t current = zf_engine_epoch (self->engine);
    uint64_t epoch = (newest > current ? newest : current) + 1;
    char err[512];
    if (zf_epoch_store (self->dir, epoch, err, sizeof err) != 0) {
        zf_registry_error (self, "registry", "epoch not raised from %llu reason=\"%s\"",
                           (unsigned long long)current, err);
        return -1;
    }
    zf_engine_set_epoch (self->engine, epoch);
    zf_registry_error (
        self, "registry", "epoch raised from %llu to %llu: the dispatcher has seen %llu",
        (unsigned long long)current, (unsigned long long)epoch, (unsigned long long)newest);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The end of a turn

static int s_on_deadline (zloop_t *loop, int timer_id, void *arg);

//  Puts the one deadline timer at the engine's next deadline.
static void
s_arm_deadline (zf_registry_t *self, bool idle)
{
    int64_t next = zf_engine_next_deadline (self->engine);
    if (next == self->deadline_at && self->deadline_timer >= 0) return;
    if (self->deadline_timer >= 0) zloop_timer_end (self->loop, self->deadline_timer);
    self->deadline_timer = -1;
    self->deadline_at = next;
    if (next < 0) return;
    int64_t delay = next - zf_clock_now (self->clock);
    if (delay < 0) delay = 0;
    if (delay == 0 && idle) delay = S_IDLE_RETRY_MS;
    self->deadline_timer = zloop_timer (self->loop, (size_t)delay, 1, s_on_deadline, self);
}

//  Orders out, events out, acknowledgements out, the timer re-armed; idle
//  says the last tick handled nothing.
static void
s_turn_end (zf_registry_t *self, bool idle)
{
    zf_session_pump (self);
    //  Take in new subscriptions before publishing: a send processes them
    //  only now and then, and a subscriber that has just subscribed and
    //  asked for STATUS must not miss the events that follow the reply.
    zsock_events (self->pub);
    //  Runs that became durable leave memory (nothing to do most turns).
    if (zf_engine_archive (self->engine) < 0)
        zf_log_error ("archiving runs failed reason=\"%s\"", zf_engine_last_error (self->engine));
    zf_publisher_flush (self->publisher);
    zf_session_flush_acks (self);
    s_arm_deadline (self, idle);
}

void
zf_registry_turn_end (zf_registry_t *self)
{
    s_turn_end (self, false);
}

//  The engine's next deadline has come: runs whose date began, not_before
//  times, retry delays.
static int
s_on_deadline (zloop_t *loop, int timer_id, void *arg)
{
    zf_registry_t *self = arg;
    self->deadline_timer = -1;
    self->deadline_at = -2;
    int handled = zf_engine_tick (self->engine);
    s_turn_end (self, handled == 0);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Sockets

//  Sends [topic][body] on the PUB.
static int
s_publish (void *arg, const char *topic, size_t topic_size, const void *body, size_t size)
{
    zf_registry_t *self = arg;
    void *socket = zsock_resolve (self->pub);
    if (zmq_send (socket, topic, topic_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    return zmq_send (socket, body, size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

//  Sends REQUEST [service][DISPATCH] to the dispatcher.
static int
s_send_orders (void *arg, const char *service, const void *body, size_t size)
{
    zf_registry_t *self = arg;
    if (!self->dealer) return -1;
    void *socket = zsock_resolve (self->dealer);
    uint8_t command = ZF_MDPC_REQUEST;
    int rc = zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc == 0) rc = zmq_send (socket, ZF_MDPC, strlen (ZF_MDPC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_send (socket, &command, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_send (socket, service, strlen (service), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_send (socket, body, size, ZMQ_DONTWAIT);
    self->sent_at_ms = zclock_mono ();
    if (rc < 0) self->send_failed = true;
    return rc < 0 ? -1 : 0;
}

//  STATS: the counters, by name (docs/ARCHITECTURE.md lists them).
static void
s_send_stats (zf_registry_t *self, zsock_t *pipe)
{
    zf_publisher_stats_t published;
    zf_publisher_stats (self->publisher, &published);
    zf_fields_t *stats = zf_fields_new ();
    zf_fields_add (stats, "requests", self->requests);
    zf_fields_add (stats, "bad_requests", self->bad_requests);
    zf_fields_add (stats, "orders_sent", zf_orders_sent (self->orders));
    zf_fields_add (stats, "results", self->results);
    zf_fields_add (stats, "stale", self->stale);
    zf_fields_add (stats, "refusals", self->refusals);
    zf_fields_add (stats, "reconnects", self->reconnects);
    zf_fields_add (stats, "dispatcher_malformed", self->disp_malformed);
    zf_fields_add (stats, "seq", zf_engine_seq (self->engine));
    zf_fields_add (stats, "epoch", zf_engine_epoch (self->engine));
    zf_fields_add (stats, "events_published", published.events);
    zf_fields_add (stats, "events_send_failed", published.send_failed);
    zf_fields_add (stats, "events_encode_failed", published.encode_failed);
    zf_fields_add (stats, "history_requests", self->history_requests);
    zf_fields_add (stats, "history_timeouts", self->history_timeouts);
    zf_fields_add (stats, "history_refused", self->history_refused);
    zf_fields_send (&stats, pipe);
}

static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_registry_t *self = arg;
    char *command = zstr_recv (reader);
    if (!command) return -1;
    int rc = 0;
    if (streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS)) {
        zf_fields_t *endpoints = zf_fields_new ();
        zf_fields_add_str (endpoints, "bind", zsock_endpoint (self->router));
        zf_fields_add_str (endpoints, "events", zsock_endpoint (self->pub));
        zf_fields_send (&endpoints, reader);
    } else if (streq (command, ZF_PIPE_STATS))
        s_send_stats (self, reader);
    else if (streq (command, "TICK"))
        zf_engine_tick (self->engine);
    else
        zf_pipe_unknown ("registry", command);
    zstr_free (&command);
    if (rc == 0) zf_registry_turn_end (self);
    return rc;
}

//  Frees what the actor made.
static void
s_teardown (zf_registry_t *self)
{
    zf_session_close (self);
    zf_session_destroy (self);
    zf_history_close (self);
    zloop_destroy (&self->loop);
    zf_engine_destroy (&self->engine);
    zf_publisher_destroy (&self->publisher);
    zf_journal_destroy (&self->journal);
    zf_orders_destroy (&self->orders);
    zsock_destroy (&self->router);
    zsock_destroy (&self->pub);
    zf_proto_decoder_destroy (&self->req_decoder);
    zf_proto_encoder_destroy (&self->encoder);
    zf_clock_destroy (&self->own_clock);
    free (self->task_status);
    free (self->run_status);
    free (self->name);
    free (self->dir);
    free (self->log_dir);
    free (self->dispatcher);
}

//  A new socket bound to endpoint, or NULL with the reason in cfg->error.
static zsock_t *
s_bind (zf_registry_config_t *cfg, int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        snprintf (cfg->error, sizeof cfg->error, "cannot make a socket");
        return NULL;
    }
    zsock_set_sndhwm (sock, S_HWM);
    zsock_set_rcvhwm (sock, S_HWM);
    zsock_set_linger (sock, 0);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        snprintf (cfg->error, sizeof cfg->error, "cannot bind %s: %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

//  Takes the next term: the one in the epoch file plus one, made durable
//  before it is used. 0, or -1 with the reason in cfg->error.
static int
s_take_epoch (zf_registry_t *self, zf_registry_config_t *cfg)
{
    uint64_t epoch = 0;
    if (zf_epoch_load (self->dir, &epoch, cfg->error, sizeof cfg->error) != 0 ||
        zf_epoch_store (self->dir, epoch + 1, cfg->error, sizeof cfg->error) != 0)
        return -1;
    zf_engine_set_epoch (self->engine, epoch + 1);
    return 0;
}

//  Copies the settings and makes everything but the loop. 0 or -1.
static int
s_setup (zf_registry_t *self, zf_registry_config_t *cfg)
{
    char log_dir[4096];
    snprintf (log_dir, sizeof log_dir, "%s/logs", cfg->dir ? cfg->dir : ".");
    self->name = strdup (cfg->name ? cfg->name : "registry");
    self->dir = strdup (cfg->dir ? cfg->dir : ".");
    self->log_dir = strdup (cfg->log_dir ? cfg->log_dir : log_dir);
    self->dispatcher = strdup (cfg->dispatcher ? cfg->dispatcher : "");
    self->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
    self->liveness = cfg->liveness > 0 ? cfg->liveness : 3;
    self->max_in_flight = cfg->max_in_flight ? cfg->max_in_flight : ZF_REGISTRY_MAX_IN_FLIGHT;
    self->deadline_timer = self->heartbeat_timer = self->backoff_timer = -1;
    self->deadline_at = -1;
    self->backoff_ms = ZF_REGISTRY_BACKOFF_MIN_MS;
    self->clock = cfg->clock;
    if (!self->clock) self->clock = self->own_clock = zf_clock_new_real ();
    self->engine = self->clock ? zf_engine_new (self->clock) : NULL;
    self->journal = zf_journal_new (cfg->journal_events ? cfg->journal_events : 1,
                                    cfg->journal_bytes ? cfg->journal_bytes : 1);
    self->publisher = zf_publisher_new (self->journal, s_publish, self);
    self->orders = zf_orders_new (s_send_orders, self);
    self->req_decoder = zf_proto_decoder_new ();
    self->disp_decoder = zf_proto_decoder_new ();
    self->encoder = zf_proto_encoder_new ();
    self->live = zhashx_new ();
    self->acks.arena = zf_arena_new ();
    self->resend.arena = zf_arena_new ();
    if (!self->name || !self->dir || !self->log_dir || !self->dispatcher || !self->engine ||
        !self->journal || !self->publisher || !self->orders || !self->req_decoder ||
        !self->disp_decoder || !self->encoder || !self->live || !self->acks.arena ||
        !self->resend.arena) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    zf_orders_set_wait (self->orders, cfg->no_worker_wait_ms);
    zf_orders_set_failed (self->orders, zf_session_order_failed, self);
    zf_engine_set_listener (self->engine, zf_publisher_listener, self->publisher);
    self->router = s_bind (cfg, ZMQ_ROUTER, cfg->bind);
    if (!self->router) return -1;
    self->pub = s_bind (cfg, ZMQ_PUB, cfg->events);
    if (!self->pub) return -1;
    //  Durable state first, so the new term's EPOCH event follows it.
    if (cfg->archiver && *cfg->archiver &&
        zf_registry_recover (self, cfg->archiver, cfg->error, sizeof cfg->error) != 0)
        return -1;
    //  Only a registry that can serve takes a term.
    if (s_take_epoch (self, cfg) != 0) return -1;
    self->loop = zloop_new ();
    if (!self->loop) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    if (zf_history_open (self, cfg->archiver, cfg->lag_warn_ms) != 0) {
        snprintf (cfg->error, sizeof cfg->error, "cannot connect to the archiver at %s",
                  cfg->archiver);
        return -1;
    }
    //  Only what an archiver holds may leave memory.
    if (self->archive) zf_engine_set_keep_runs (self->engine, cfg->keep_runs);
    return 0;
}

void
zf_registry_actor (zsock_t *pipe, void *args)
{
    zf_registry_config_t *cfg = args;
    assert (cfg);
    cfg->error[0] = 0;
    zf_registry_t self;
    memset (&self, 0, sizeof self);
    self.pipe = pipe;
    //  A registry that cannot start says why in cfg->error, for its caller
    //  to print; it does not log it a second time.
    if (s_setup (&self, cfg) != 0) {
        s_teardown (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zloop_set_nonstop (self.loop, true);
    zloop_reader (self.loop, self.router, zf_requests_on_router, &self);
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    self.heartbeat_timer =
        zloop_timer (self.loop, (size_t)self.heartbeat_ms, 0, zf_session_on_heartbeat, &self);
    if (zf_session_open (&self) != 0) {
        snprintf (cfg->error, sizeof cfg->error, "cannot connect to the dispatcher at %s",
                  self.dispatcher);
        s_teardown (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zf_log_info ("registry ready bind=%s events=%s dispatcher=%s epoch=%llu",
                 zsock_endpoint (self.router), zsock_endpoint (self.pub), self.dispatcher,
                 (unsigned long long)zf_engine_epoch (self.engine));
    //  The EPOCH event goes out (and into the journal) before anything else.
    zf_publisher_flush (self.publisher);
    zsock_signal (pipe, 0);
    zloop_start (self.loop);
    s_teardown (&self);
}
