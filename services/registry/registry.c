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
      peer.c       in a pair: the Binary Star state, told to and heard
                   from the peer (zf_pair, pure)
      standby.c    in a pair, while passive: the active's events followed
                   into the engine

    A registry alone is active from the start. A member of a pair is
    active only once its pair says so: until then it answers every request
    ERROR passive, drives no dispatcher and takes no term, and while
    passive it follows the active's events. Taking over, it keeps what it
    followed (or, with nothing followed, recovers from the archiver),
    takes a term above every term it knows and starts its session with the
    dispatcher. An active registry that meets a newer active one steps
    down by stopping: its supervisor starts it again, and it joins as
    passive with a fresh copy of the active's state.

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
#include "peer.h"
#include "publisher.h"
#include "recover.h"
#include "requests.h"
#include "session.h"
#include "standby.h"
#include "zf_engine.h"
#include "zf_log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Socket buffers, in messages: a turn may send thousands of orders and
//  event bodies at once.
#define S_HWM 100000

//  What a member of a pair answers while it is not active.
#define S_PASSIVE_TEXT "this registry is passive: ask its peer"

//  Requests to the active peer wait this long at most, while following it.
#define S_STANDBY_TIMEOUT_MS 5000

//  The actor.
typedef struct {
    zf_registry_config_t *cfg; //  the caller's: the reason goes into its error
    char *dir;                 //  the epoch's folder
    char *dispatcher;          //  the dispatcher's endpoint
    char *archiver;            //  the archiver's, or NULL
    bool active;               //  serves requests, drives the dispatcher, takes decisions
    int64_t active_since;      //  alone: when it became active (ms since the epoch)
    bool stopping;             //  the loop ends at the next turn (cfg->error says why)

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

    zf_session_t *session;    //  the dispatcher session
    zf_link_t *link;          //  its socket
    zf_requests_t *requests;  //  the API
    zf_history_t *history;    //  archived runs
    zf_lagwatch_t *lag;       //  the archiver's lag, or NULL without one
    int watch_timer;          //  checks the lag, or -1
    zf_peer_t *peer;          //  in a pair: the peer link, else NULL
    char recovered_from[128]; //  after a cold start: where the state came from
    zf_standby_t *standby;    //  while passive: following the active
    uint64_t told_seq;        //  while passive: the last seq the peer heard of
    uint64_t standby_events;  //  while passive: the active's events taken so far
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

void
zf_registry_config_pair (zf_registry_config_t *cfg)
{
    assert (cfg);
    if (!cfg->pair) return;
    bool primary = cfg->pair == ZF_BSTAR_PRIMARY;
    if (!cfg->peer_bind) cfg->peer_bind = primary ? "tcp://127.0.0.1:5580" : "tcp://127.0.0.1:5581";
    if (!cfg->peer) cfg->peer = primary ? "tcp://127.0.0.1:5581" : "tcp://127.0.0.1:5580";
    if (!cfg->peer_registry)
        cfg->peer_registry = primary ? "tcp://127.0.0.1:5572" : "tcp://127.0.0.1:5570";
    if (!cfg->peer_heartbeat_ms) cfg->peer_heartbeat_ms = ZF_PAIR_HEARTBEAT_MS;
}

//  ---------------------------------------------------------------------------
//  Errors and the epoch

static int s_on_stop (zloop_t *loop, int timer_id, void *arg);

//  Stops the registry with the reason (in the log, on the bus while active,
//  and in the caller's error): it serves and decides nothing more, and its
//  loop ends at once.
static void s_stop (zf_registry_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_stop (zf_registry_t *self, const char *format, ...)
{
    if (self->stopping) return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->cfg->error, sizeof self->cfg->error, format, args);
    va_end (args);
    zf_log_error ("%s", self->cfg->error);
    if (self->active) zf_engine_report_error (self->engine, "registry", self->cfg->error);
    self->stopping = true;
    self->active = false;
    if (self->requests) zf_requests_refuse (self->requests, S_PASSIVE_TEXT);
    zloop_timer (self->loop, 1, 1, s_on_stop, self);
}

//  Ends the loop.
static int
s_on_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

//  Logs an error and puts it on the bus (zf_session_ops_t.error).
static void
s_error (void *arg, const char *service, const char *text)
{
    zf_registry_t *self = arg;
    zf_log_error ("%s", text);
    zf_engine_report_error (self->engine, service, text);
}

//  Who takes a term, in its EPOCH event: "primary" or "backup" in a pair,
//  "registry" alone.
static const char *
s_role (zf_registry_t *self)
{
    return self->cfg->pair ? zf_bstar_state_name (self->cfg->pair) : "registry";
}

//  How this registry came to take a term, for its EPOCH event: verb
//  ("started", "took over"), then what the state it drives from is
//  ("empty", "from=the archiver at seq S", "from=the replica at EP at seq
//  S" or "from=the active's events at seq S"), then, in a pair, why it
//  became active.
static void
s_how (zf_registry_t *self, const char *verb, bool followed, const char *why, char *buf,
       size_t size)
{
    uint64_t seq = zf_engine_seq (self->engine);
    char from[192] = "empty";
    if (seq > 0)
        snprintf (from, sizeof from, "from=%s at seq %llu",
                  followed ? "the active's events" : self->recovered_from, (unsigned long long)seq);
    if (why)
        snprintf (buf, size, "%s %s reason=\"%s\"", verb, from, why);
    else
        snprintf (buf, size, "%s %s", verb, from);
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
    if (self->peer) {
        //  In a pair only the active registry drives: a newer term at the
        //  dispatcher is another active one's, and this one steps down.
        s_stop (self, "stepped down: the dispatcher has seen term %llu, newer than ours (%llu)",
                (unsigned long long)newest, (unsigned long long)current);
        return -1;
    }
    if (zf_epoch_take (self->dir, current, newest, &epoch, err, sizeof err) != 0) {
        snprintf (text, sizeof text, "epoch not raised from %llu reason=\"%s\"",
                  (unsigned long long)current, err);
        s_error (self, "registry", text);
        return -1;
    }
    snprintf (text, sizeof text, "raised from term %llu: the dispatcher has seen term %llu",
              (unsigned long long)current, (unsigned long long)newest);
    zf_engine_set_epoch (self->engine, epoch, s_role (self), text);
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
    if (!self->active) {
        //  Only what a passive registry followed goes out; it decides nothing.
        zf_publisher_flush (self->publisher);
        return;
    }
    zf_session_pump (self->session);
    //  Take in new subscriptions before publishing: a send processes them
    //  only now and then, and a subscriber that has just subscribed and
    //  asked for STATUS must not miss the events that follow the reply.
    zsock_events (self->pub);
    //  Runs that became durable leave memory (nothing to do most turns).
    if (zf_engine_archive (self->engine) < 0)
        zf_log_error ("archiving runs failed reason=\"%s\"", zf_engine_last_error (self->engine));
    zf_publisher_flush (self->publisher);
    zf_session_flush (self->session);
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
    if (!self->active) return 0;
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
    if (self->active && zf_lagwatch_check (self->lag)) s_turn_end (self, false);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The pair

//  zf_requests_wiring_t.vote: a client turned here; in a pair it may make
//  this registry active.
static void
s_vote (void *arg)
{
    zf_registry_t *self = arg;
    if (self->peer && !self->active && !self->stopping) zf_peer_client (self->peer);
}

//  zf_requests_wiring_t.info: how this registry stands, for STATUS.
static void
s_info (void *arg, zf_reg_info_t *info)
{
    zf_registry_t *self = arg;
    memset (info, 0, sizeof *info);
    info->epoch = zf_engine_epoch (self->engine);
    info->since = self->active_since;
    if (!self->peer) return;
    zf_pair_t *pair = zf_peer_pair (self->peer);
    info->state = (uint8_t)zf_pair_state (pair);
    info->since = zf_pair_since (pair);
    zf_bstar_msg_t last;
    if (zf_pair_peer_alive (pair) && zf_pair_peer_last (pair, &last)) {
        info->peer_state = last.state;
        info->peer_seq = last.seq;
    }
}

//  zf_standby_done_fn: the follower handled something.
static void
s_standby_done (void *arg)
{
    zf_registry_t *self = arg;
    const char *why = NULL;
    if (self->standby && zf_standby_broken (self->standby, &why))
        s_stop (self,
                "the passive registry lost the active one's events (%s): it starts again "
                "to take a fresh copy",
                why);
    //  An active registry too busy for its heartbeat may still publish: its
    //  events show it lives, so it is not taken over for a busy moment.
    if (self->standby && zf_standby_events (self->standby) != self->standby_events) {
        self->standby_events = zf_standby_events (self->standby);
        zf_peer_lives (self->peer);
    }
    s_turn_end (self, false);
    //  The active registry acknowledges results once we hold their events.
    if (!self->stopping && zf_engine_seq (self->engine) != self->told_seq) {
        self->told_seq = zf_engine_seq (self->engine);
        zf_peer_advance (self->peer);
    }
}

//  Primary or backup to passive: follow the active registry.
static void
s_stand_by (zf_registry_t *self, const char *why)
{
    zf_log_info ("registry passive reason=\"%s\"", why);
    self->standby_events = 0;
    self->standby = zf_standby_new (self->loop, self->cfg->peer_registry, S_STANDBY_TIMEOUT_MS,
                                    self->engine, self->publisher, s_standby_done, self);
    if (!self->standby)
        s_stop (self, "cannot follow the active registry at %s", self->cfg->peer_registry);
}

//  Takes over: keeps what was followed, or recovers from the archiver;
//  takes a term above every term known; drives the dispatcher.
static void
s_activate (zf_registry_t *self, const char *why)
{
    //  A registry that followed an active one takes over from it; one that
    //  never did starts the pair's history.
    bool was_passive = self->standby != NULL;
    const char *broken = NULL;
    if (self->standby && zf_standby_broken (self->standby, &broken)) {
        s_stop (self, "cannot take over: the copy of the active's state is broken (%s)", broken);
        return;
    }
    bool followed = self->standby && zf_standby_synced (self->standby);
    zf_standby_destroy (&self->standby);
    char err[512];
    if (!followed && self->archiver &&
        zf_recover (self->engine, self->session, self->archiver, self->cfg->replicas,
                    self->recovered_from, sizeof self->recovered_from, err, sizeof err) != 0) {
        s_stop (self, "cannot take over: %s", err);
        return;
    }
    uint64_t file = 0, taken = 0;
    uint64_t seen = zf_pair_epoch_seen (zf_peer_pair (self->peer));
    if (zf_engine_epoch (self->engine) > seen) seen = zf_engine_epoch (self->engine);
    bool primary = zf_pair_primary (zf_peer_pair (self->peer));
    if (zf_epoch_load (self->dir, &file, err, sizeof err) != 0 ||
        zf_epoch_take_in_pair (self->dir, primary, file, seen, &taken, err, sizeof err) != 0) {
        s_stop (self, "cannot take over: %s", err);
        return;
    }
    self->active = true;
    zf_requests_refuse (self->requests, NULL);
    char how[512];
    s_how (self, was_passive ? "took over" : "started", followed, why, how, sizeof how);
    zf_engine_set_epoch (self->engine, taken, s_role (self), how);
    zf_peer_set_epoch (self->peer, taken);
    if (followed && zf_engine_settle (self->engine) < 0)
        zf_log_error ("settling failed reason=\"%s\"", zf_engine_last_error (self->engine));
    char text[512];
    snprintf (text, sizeof text, "registry active epoch=%llu seq=%llu from=%s reason=\"%s\"",
              (unsigned long long)taken, (unsigned long long)zf_engine_seq (self->engine),
              followed         ? "the active's events"
              : self->archiver ? self->recovered_from
                               : "nothing",
              why);
    zf_log_warn ("%s", text);
    zf_engine_report_error (self->engine, "registry", text);
    if (zf_session_start (self->session) != 0)
        s_stop (self, "cannot connect to the dispatcher at %s", self->dispatcher);
}

//  zf_peer_ops_t.changed.
static void
s_pair_changed (void *arg, zf_pair_change_t change, const char *why)
{
    zf_registry_t *self = arg;
    if (self->stopping) return;
    if (change == ZF_PAIR_ACTIVATED)
        s_activate (self, why);
    else if (change == ZF_PAIR_DEACTIVATED)
        s_stand_by (self, why);
    else if (change == ZF_PAIR_STEPPED_DOWN)
        s_stop (self, "stepped down (%s): it starts again to follow the active registry", why);
}

//  zf_peer_ops_t.seq.
static uint64_t
s_pair_seq (void *arg)
{
    zf_registry_t *self = arg;
    return zf_engine_seq (self->engine);
}

//  zf_peer_ops_t.heard: the passive peer's seq may have moved, or it fell
//  silent and the archiver's word counts now: held orders and parked
//  acknowledgements may go.
static void
s_pair_heard (void *arg)
{
    s_turn_end (arg, false);
}

//  zf_session_gate_fn (orders and acknowledgements): while a passive peer is heard, events are safe
//  up to the last seq it says it holds; with none, up to the last the archiver said it holds; with
//  no archiver either, every event is (there is nothing to wait for).
static uint64_t
s_ack_gate (void *arg)
{
    zf_registry_t *self = arg;
    zf_bstar_msg_t last;
    if (self->peer && zf_pair_peer_alive (zf_peer_pair (self->peer)) &&
        zf_pair_peer_last (zf_peer_pair (self->peer), &last) && last.state == ZF_BSTAR_PASSIVE)
        return last.seq;
    return self->lag ? zf_lagwatch_archived_seq (self->lag) : UINT64_MAX;
}

static const zf_peer_ops_t s_peer_ops = {
    .changed = s_pair_changed,
    .seq = s_pair_seq,
    .heard = s_pair_heard,
};

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
    zf_fields_add (stats, "cancels_resent", session.cancels_resent);
    zf_fields_add (stats, "out_of_memory", session.out_of_memory);
    zf_fields_add (stats, "seq", zf_engine_seq (self->engine));
    zf_fields_add (stats, "epoch", zf_engine_epoch (self->engine));
    zf_fields_add (stats, "events_published", published.events);
    zf_fields_add (stats, "events_send_failed", published.send_failed);
    zf_fields_add (stats, "events_encode_failed", published.encode_failed);
    zf_fields_add (stats, "history_requests", history.requests);
    zf_fields_add (stats, "history_timeouts", history.timeouts);
    zf_fields_add (stats, "history_refused", history.refused);
    zf_fields_add (stats, "active", self->active);
    zf_fields_add (stats, "requests_refused_passive", requests.refused);
    zf_fields_add (stats, "acks_parked", zf_session_acks_parked (self->session));
    zf_fields_add (stats, "orders_held", zf_session_orders_held (self->session));
    zf_fields_add (stats, "orders_held_total", session.orders_held);
    if (self->peer) {
        zf_peer_stats_t peer;
        zf_peer_stats (self->peer, &peer);
        zf_fields_add (stats, "pair_state", zf_pair_state (zf_peer_pair (self->peer)));
        zf_fields_add (stats, "peer_sent", peer.sent);
        zf_fields_add (stats, "peer_heard", peer.heard);
        zf_fields_add (stats, "peer_malformed", peer.malformed);
        zf_fields_add (stats, "peer_unsent", peer.unsent);
    }
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
    else if (streq (command, "TICK")) {
        if (self->active) zf_engine_tick (self->engine);
    } else
        zf_pipe_unknown ("registry", command);
    zstr_free (&command);
    if (rc == 0) s_turn_end (self, false);
    return rc;
}

//  Frees what the actor made.
static void
s_teardown (zf_registry_t *self)
{
    zf_standby_destroy (&self->standby);
    zf_peer_destroy (&self->peer);
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
    free (self->archiver);
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

//  Takes the next term: one past the one in the epoch file and the one the
//  state recovered from the archiver was made under, made durable before
//  it is used. 0, or -1 with the reason in cfg->error.
static int
s_take_epoch (zf_registry_t *self, zf_registry_config_t *cfg)
{
    uint64_t epoch = 0, taken = 0;
    if (zf_epoch_load (self->dir, &epoch, cfg->error, sizeof cfg->error) != 0 ||
        zf_epoch_take (self->dir, epoch, zf_engine_epoch (self->engine), &taken, cfg->error,
                       sizeof cfg->error) != 0)
        return -1;
    char how[128];
    s_how (self, "started", false, NULL, how, sizeof how);
    if (zf_engine_set_epoch (self->engine, taken, s_role (self), how) != 0) {
        snprintf (cfg->error, sizeof cfg->error, "term %llu not taken: %s",
                  (unsigned long long)taken, zf_engine_last_error (self->engine));
        return -1;
    }
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
        .info = s_info,
        .info_arg = self,
        .vote = s_vote,
        .vote_arg = self,
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
    self->cfg = cfg;
    self->dir = strdup (cfg->dir ? cfg->dir : ".");
    self->dispatcher = strdup (cfg->dispatcher ? cfg->dispatcher : "");
    if (cfg->archiver && *cfg->archiver) self->archiver = strdup (cfg->archiver);
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
    //  A member of a pair recovers and takes a term when it becomes active.
    if (cfg->pair) return s_setup_loop (self, cfg);
    self->active = true;
    self->active_since = zclock_time ();
    //  Durable state first, so the new term's EPOCH event follows it.
    if (cfg->archiver && *cfg->archiver &&
        zf_recover (self->engine, self->session, cfg->archiver, cfg->replicas, self->recovered_from,
                    sizeof self->recovered_from, cfg->error, sizeof cfg->error) != 0)
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
    zf_session_set_gate (self.session, s_ack_gate, &self);
    if (cfg->pair) {
        //  Not active until the pair says so.
        zf_requests_refuse (self.requests, S_PASSIVE_TEXT);
        zf_peer_config_t peer = {
            .primary = cfg->pair == ZF_BSTAR_PRIMARY,
            .bind = cfg->peer_bind,
            .peer = cfg->peer,
            .heartbeat_ms = (int)cfg->peer_heartbeat_ms,
        };
        self.peer = zf_peer_new (self.loop, self.real, &peer, &s_peer_ops, &self, cfg->error,
                                 sizeof cfg->error);
        if (!self.peer) {
            s_teardown (&self);
            zsock_signal (pipe, 1);
            return;
        }
    } else if (zf_session_start (self.session) != 0) {
        snprintf (cfg->error, sizeof cfg->error, "cannot connect to the dispatcher at %s",
                  self.dispatcher);
        s_teardown (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zf_log_info ("registry ready bind=%s events=%s dispatcher=%s epoch=%llu pair=%s",
                 zsock_endpoint (self.router), zsock_endpoint (self.pub), self.dispatcher,
                 (unsigned long long)zf_engine_epoch (self.engine),
                 cfg->pair ? zf_bstar_state_name (cfg->pair) : "none");
    //  The EPOCH event goes out (and into the journal) before anything else.
    zf_publisher_flush (self.publisher);
    zsock_signal (pipe, 0);
    zloop_start (self.loop);
    s_teardown (&self);
}
