/*  registry.c - the registry actor: sockets, the loop, the end of every turn.

    Owns: the engine, the journal and the publisher of its events, the
    term (the epoch file), the ROUTER and the PUB, the loop and its
    deadline and lag timers; and every part below, which it makes, wires
    together and ends. The parts never call back into this file: they get
    what they need lent at creation, and reach it only through the
    functions they are given.

      session.c    the Majordomo client session with the dispatcher (pure)
      link.c       its socket, monitor and timers
      requests.c   the registry API on the ROUTER (with status.c, logs.c,
                   replay.c, replies.c)
      history.c    STATUS of archived runs, asked of the archiver
      lagwatch.c   how far behind the archiver is (pure)
      recover.c    a cold start from the archiver's durable state

    Every callback of the loop (a request, a message from the dispatcher,
    the deadline timer, the heartbeat timer, the pipe) does its own work and
    then ends the turn the same way: orders out, events out, acknowledgements
    out, one timer re-armed at the engine's next deadline. Nothing polls:
    the engine says when it next needs the clock, and the loop sleeps until
    then or until a message comes.
*/
#include "registry.h"
#include "zf_limits.h"
#include "zf_socket.h"
#include "epoch.h"
#include "history.h"
#include "journal.h"
#include "lagwatch.h"
#include "link.h"
#include "publisher.h"
#include "recover.h"
#include "requests.h"
#include "session.h"
#include "zf_engine.h"
#include "zf_log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Socket buffers, in messages: a turn may send thousands of orders and
//  event bodies at once.
#define S_HWM 100000

//  The actor.
typedef struct {
    char *dir;        //  the epoch's folder
    char *dispatcher; //  the dispatcher's endpoint

    zsock_t *pipe;         //  to the caller
    zsock_t *router;       //  requests
    zf_replier_t *replier; //  replies, bounded per client
    zsock_t *pub;          //  events
    zloop_t *loop;         //  the reactor

    zf_clock_t *clock;         //  the engine's clock
    zf_clock_t *real;          //  the real clock: the session's and the lag watch's time
    zf_engine_t *engine;       //  the scheduler
    zf_journal_t *journal;     //  recent event bodies
    zf_publisher_t *publisher; //  events to the PUB
    int deadline_timer;        //  timer at the engine's next deadline, or -1
    int64_t deadline_at;       //  when it fires (ms), -1 none, -2 to re-arm

    zf_session_t *session;   //  the dispatcher session
    zf_link_t *link;         //  its socket
    zf_requests_t *requests; //  the API
    zf_history_t *history;   //  archived runs
    zf_lagwatch_t *lag;      //  the archiver's lag, or NULL without one
    int watch_timer;         //  checks the lag, or -1
} zf_registry_t;

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

//  Logs an error and puts it on the bus (zf_session_ops_t.error).
static void
s_error (void *arg, const char *service, const char *text)
{
    zf_registry_t *self = arg;
    zf_log_error ("%s", text);
    zf_engine_report_error (self->engine, service, text);
}

//  Raises the epoch above newest (the dispatcher has seen a newer one),
//  persists it and puts it on the bus (zf_session_ops_t.raise_epoch).
//  Returns 0, or -1 if it could not be persisted (then it is not used).
static int
s_raise_epoch (void *arg, uint64_t newest)
{
    zf_registry_t *self = arg;
    uint64_t current = zf_engine_epoch (self->engine), epoch = 0;
    char err[512], text[1024];
    if (zf_epoch_take (self->dir, current, newest, &epoch, err, sizeof err) != 0) {
        snprintf (text, sizeof text, "epoch not raised from %llu reason=\"%s\"",
                  (unsigned long long)current, err);
        s_error (self, "registry", text);
        return -1;
    }
    zf_engine_set_epoch (self->engine, epoch);
    snprintf (text, sizeof text, "epoch raised from %llu to %llu: the dispatcher has seen %llu",
              (unsigned long long)current, (unsigned long long)epoch, (unsigned long long)newest);
    s_error (self, "registry", text);
    return 0;
}

//  zf_session_ops_t.connect: a fresh socket.
static int
s_connect (void *arg, bool *watched)
{
    zf_registry_t *self = arg;
    return zf_link_connect (self->link, watched);
}

//  zf_session_ops_t.send: one message on it.
static int
s_send (void *arg, uint8_t command, const char *service, const void *body, size_t size)
{
    zf_registry_t *self = arg;
    return zf_link_send (self->link, command, service, body, size);
}

static const zf_session_ops_t s_session_ops = {
    .connect = s_connect,
    .send = s_send,
    .error = s_error,
    .raise_epoch = s_raise_epoch,
};

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
    zf_session_pump (self->session);
    //  Take in new subscriptions before publishing: a send processes them
    //  only now and then, and a subscriber that has just subscribed and
    //  asked for STATUS must not miss the events that follow the reply.
    zsock_events (self->pub);
    //  Runs that became durable leave memory (nothing to do most turns).
    if (zf_engine_archive (self->engine) < 0)
        zf_log_error ("archiving runs failed reason=\"%s\"", zf_engine_last_error (self->engine));
    zf_publisher_flush (self->publisher);
    zf_session_flush_acks (self->session);
    s_arm_deadline (self, idle);
}

//  zf_link_done_fn: the link handled something.
static void
s_link_done (void *arg)
{
    s_turn_end (arg, false);
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

//  Requests on the ROUTER.
static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_registry_t *self = arg;
    zf_requests_read (self->requests);
    s_turn_end (self, false);
    return 0;
}

//  Is the archiver behind? Saying so makes an event to publish.
static int
s_on_watch (zloop_t *loop, int timer_id, void *arg)
{
    zf_registry_t *self = arg;
    if (zf_lagwatch_check (self->lag)) s_turn_end (self, false);
    return 0;
}

//  STATS: the counters, by name (docs/ARCHITECTURE.md lists them).
static void
s_send_stats (zf_registry_t *self, zsock_t *pipe)
{
    zf_publisher_stats_t published;
    zf_publisher_stats (self->publisher, &published);
    zf_requests_stats_t requests;
    zf_requests_stats (self->requests, &requests);
    zf_session_stats_t session;
    zf_session_stats (self->session, &session);
    zf_history_stats_t history;
    zf_history_stats (self->history, &history);
    zf_fields_t *stats = zf_fields_new ();
    zf_fields_add (stats, "requests", requests.requests);
    zf_fields_add (stats, "bad_requests", requests.bad);
    zf_replier_add_stats (self->replier, stats);
    zf_fields_add (stats, "orders_sent", session.orders.sent);
    zf_fields_add (stats, "orders_unsent", session.orders.unsent);
    zf_fields_add (stats, "orders_failed", session.orders.failed);
    zf_fields_add (stats, "results", session.results);
    zf_fields_add (stats, "stale", session.stale);
    zf_fields_add (stats, "refusals", session.refusals);
    zf_fields_add (stats, "reconnects", session.reconnects);
    zf_fields_add (stats, "dispatcher_malformed", session.malformed);
    zf_fields_add (stats, "dispatcher_unsent", session.unsent);
    zf_fields_add (stats, "acks_lost", session.acks_lost);
    zf_fields_add (stats, "limit_hits", session.limit_hits);
    zf_fields_add (stats, "lists_cut", session.lists_cut);
    zf_fields_add (stats, "out_of_memory", session.out_of_memory);
    zf_fields_add (stats, "seq", zf_engine_seq (self->engine));
    zf_fields_add (stats, "epoch", zf_engine_epoch (self->engine));
    zf_fields_add (stats, "events_published", published.events);
    zf_fields_add (stats, "events_send_failed", published.send_failed);
    zf_fields_add (stats, "events_encode_failed", published.encode_failed);
    zf_fields_add (stats, "history_requests", history.requests);
    zf_fields_add (stats, "history_timeouts", history.timeouts);
    zf_fields_add (stats, "history_refused", history.refused);
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
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (reader, zsock_endpoint (self->router), zsock_endpoint (self->pub));
    else if (streq (command, ZF_PIPE_STATS))
        s_send_stats (self, reader);
    else if (streq (command, "TICK"))
        zf_engine_tick (self->engine);
    else
        zf_pipe_unknown ("registry", command);
    zstr_free (&command);
    if (rc == 0) s_turn_end (self, false);
    return rc;
}

//  Frees what the actor made.
static void
s_teardown (zf_registry_t *self)
{
    zf_link_destroy (&self->link);
    zf_requests_destroy (&self->requests);
    zf_history_destroy (&self->history);
    zf_lagwatch_destroy (&self->lag);
    zf_session_destroy (&self->session);
    zloop_destroy (&self->loop);
    zf_engine_destroy (&self->engine);
    zf_publisher_destroy (&self->publisher);
    zf_journal_destroy (&self->journal);
    zf_replier_destroy (&self->replier);
    zsock_destroy (&self->router);
    zsock_destroy (&self->pub);
    zf_clock_destroy (&self->real);
    free (self->dir);
    free (self->dispatcher);
}

//  A new socket bound to endpoint, or NULL with the reason in cfg->error.
static zsock_t *
s_bind (zf_registry_config_t *cfg, int type, const char *endpoint)
{
    zsock_t *sock = zf_socket_new (type);
    if (!sock) {
        snprintf (cfg->error, sizeof cfg->error, "cannot make a socket");
        return NULL;
    }
    zsock_set_sndhwm (sock, S_HWM);
    zsock_set_rcvhwm (sock, S_HWM);
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
    uint64_t epoch = 0, taken = 0;
    if (zf_epoch_load (self->dir, &epoch, cfg->error, sizeof cfg->error) != 0 ||
        zf_epoch_take (self->dir, epoch, 0, &taken, cfg->error, sizeof cfg->error) != 0)
        return -1;
    zf_engine_set_epoch (self->engine, taken);
    return 0;
}

//  The heartbeat interval with the dispatcher.
static int64_t
s_heartbeat_ms (const zf_registry_config_t *cfg)
{
    return cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
}

//  Makes the session on the engine; its socket comes with the loop.
static int
s_setup_session (zf_registry_t *self, zf_registry_config_t *cfg)
{
    zf_session_config_t session = {
        .name = cfg->name ? cfg->name : "registry",
        .endpoint = self->dispatcher,
        .heartbeat_ms = s_heartbeat_ms (cfg),
        .liveness = cfg->liveness > 0 ? cfg->liveness : 3,
        .max_in_flight = cfg->max_in_flight ? cfg->max_in_flight : ZF_REGISTRY_MAX_IN_FLIGHT,
        .wait_ms = cfg->no_worker_wait_ms,
    };
    self->session = zf_session_new (&session, self->engine, self->real, &s_session_ops, self);
    return self->session ? 0 : -1;
}

//  Makes what lives in the loop: the link, the archive's parts, the
//  request handlers. 0, or -1 with the reason in cfg->error.
static int
s_setup_loop (zf_registry_t *self, zf_registry_config_t *cfg)
{
    char log_dir[4096];
    snprintf (log_dir, sizeof log_dir, "%s/logs", cfg->dir ? cfg->dir : ".");
    self->loop = zloop_new ();
    if (self->loop)
        self->link = zf_link_new (self->loop, self->dispatcher, self->real, s_heartbeat_ms (cfg),
                                  self->session, s_link_done, self);
    if (!self->loop || !self->link) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    self->history = zf_history_new (self->loop, cfg->archiver, self->replier, self->engine);
    if (!self->history) {
        snprintf (cfg->error, sizeof cfg->error, "cannot connect to the archiver at %s",
                  cfg->archiver);
        return -1;
    }
    if (cfg->archiver && *cfg->archiver) {
        //  What was durable at start came from the archiver.
        self->lag = zf_lagwatch_new (self->engine, self->real, cfg->archiver, cfg->lag_warn_ms);
        if (self->lag)
            self->watch_timer = zloop_timer (self->loop, (size_t)zf_lagwatch_interval (self->lag),
                                             0, s_on_watch, self);
        if (!self->lag || self->watch_timer < 0) {
            snprintf (cfg->error, sizeof cfg->error, "out of memory");
            return -1;
        }
        //  Only what an archiver holds may leave memory.
        zf_engine_set_keep_runs (self->engine, cfg->keep_runs);
    }
    zf_requests_wiring_t wiring = {
        .router = self->router,
        .replier = self->replier,
        .engine = self->engine,
        .clock = self->clock,
        .publisher = self->publisher,
        .journal = self->journal,
        .session = self->session,
        .history = self->history,
        .lag = self->lag,
        .log_dir = cfg->log_dir ? cfg->log_dir : log_dir,
    };
    self->requests = zf_requests_new (&wiring);
    if (!self->requests) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    return 0;
}

//  Copies the settings and makes everything. 0, or -1 with the reason in
//  cfg->error.
static int
s_setup (zf_registry_t *self, zf_registry_config_t *cfg)
{
    self->dir = strdup (cfg->dir ? cfg->dir : ".");
    self->dispatcher = strdup (cfg->dispatcher ? cfg->dispatcher : "");
    self->deadline_timer = self->watch_timer = -1;
    self->deadline_at = -1;
    self->real = zf_clock_new_real ();
    self->clock = cfg->clock ? cfg->clock : self->real;
    self->engine = self->clock ? zf_engine_new (self->clock) : NULL;
    self->journal = zf_journal_new (cfg->journal_events ? cfg->journal_events : 1,
                                    cfg->journal_bytes ? cfg->journal_bytes : 1);
    self->publisher = zf_publisher_new (self->journal, s_publish, self);
    if (!self->dir || !self->dispatcher || !self->real || !self->engine || !self->journal ||
        !self->publisher || s_setup_session (self, cfg) != 0) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    zf_engine_set_listener (self->engine, zf_publisher_listener, self->publisher);
    self->router = s_bind (cfg, ZMQ_ROUTER, cfg->bind);
    if (!self->router) return -1;
    self->replier = zf_replier_new (self->router, ZF_PEER_QUEUE);
    if (!self->replier) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    self->pub = s_bind (cfg, ZMQ_PUB, cfg->events);
    if (!self->pub) return -1;
    //  Durable state first, so the new term's EPOCH event follows it.
    if (cfg->archiver && *cfg->archiver &&
        zf_recover (self->engine, self->session, cfg->archiver, cfg->error, sizeof cfg->error) != 0)
        return -1;
    //  Only a registry that can serve takes a term.
    if (s_take_epoch (self, cfg) != 0) return -1;
    return s_setup_loop (self, cfg);
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
    zloop_reader (self.loop, self.router, s_on_router, &self);
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    if (zf_session_start (self.session) != 0) {
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
