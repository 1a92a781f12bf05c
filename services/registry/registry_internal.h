/*  registry_internal.h - the registry actor's state, shared by its files.

    registry.c   the actor: sockets, the loop, the end of every turn
    requests.c   the registry API on the ROUTER
    status.c     STATUS replies
    logs.c       LOGS replies
    replay.c     SNAPSHOT and EVENTS_SINCE replies
    dispatch.c   the Majordomo client session with the dispatcher
    recover.c    a cold start from the archiver's durable state
    history.c    STATUS of archived runs, asked of the archiver

    The pure pieces (publisher, journal, orders, results, epoch) have their
    own headers and know nothing of this struct.
*/
#ifndef ZF_REGISTRY_INTERNAL_H_INCLUDED
#define ZF_REGISTRY_INTERNAL_H_INCLUDED

#include <czmq.h>
#include "zf_arena.h"
#include "journal.h"
#include "orders.h"
#include "publisher.h"
#include "registry.h"
#include "zf_replier.h"
#include "zf_engine.h"
#include "zf_proto.h"

//  Messages read from one socket before the turn ends.
#define ZF_REGISTRY_READS_PER_TURN 256

//  Backoff before orders the dispatcher refused as overloaded go again.
#define ZF_REGISTRY_BACKOFF_MIN_MS 100
#define ZF_REGISTRY_BACKOFF_MAX_MS 5000

//  Where the session with the dispatcher stands.
//
//    state   event                                      next
//    hello   HELLO_REPLY, nothing in flight             ready
//    hello   HELLO_REPLY, work in flight                sync
//    sync    the dispatcher's next HEARTBEAT            ready (lost work requeued)
//    any     silence past liveness, disconnect,         hello (fresh socket)
//            stale epoch
//
//  A dispatcher re-sends the results it holds right after its HELLO_REPLY
//  and heartbeats only in later turns, so its first HEARTBEAT after the
//  reply says every held result has arrived: what is then neither in the
//  reply's list nor ended was lost with the old dispatcher.
typedef enum {
    ZF_SESSION_HELLO = 1, //  HELLO sent, its reply not yet in
    ZF_SESSION_SYNC = 2,  //  reply in; waiting until every held result has come
    ZF_SESSION_READY = 3  //  orders flow
} zf_session_state_t;

//  Keys of results to acknowledge, with copies of their strings.
typedef struct {
    zf_task_key_t *keys; //  keys
    size_t count;        //  entries used
    size_t capacity;     //  entries allocated
    zf_arena_t *arena;   //  their strings
} zf_keyset_t;

//  Requests to the archiver waiting at once, at most, and how long each may.
#define ZF_HISTORY_PENDING    64
#define ZF_HISTORY_TIMEOUT_MS 5000

//  The archiver counts as behind when this many events are not durable, or
//  when events wait and nothing was acknowledged for this long; while it is,
//  the registry says so once per ZF_LAG_REPEAT_MS (log and bus).
#define ZF_LAG_WARN_EVENTS 50000
#define ZF_LAG_WARN_MS     10000
#define ZF_LAG_REPEAT_MS   60000

//  A STATUS forwarded to the archiver (history.c).
typedef struct _zf_history_slot_t zf_history_slot_t;

//  The actor.
typedef struct {
    //  Settings (copied from the configuration)
    char *name;             //  our name at the dispatcher
    char *dir;              //  the epoch's folder
    char *log_dir;          //  the task logs
    char *dispatcher;       //  the dispatcher's endpoint
    int64_t heartbeat_ms;   //  heartbeat interval
    uint32_t liveness;      //  intervals of silence before a reconnect
    uint64_t max_in_flight; //  shards dispatched or running at most
    char *archiver;         //  the archiver's endpoint, or NULL

    //  Sockets and loop
    zsock_t *pipe;   //  to the caller
    zsock_t *router; //  requests
    zsock_t *pub;    //  events
    zloop_t *loop;   //  the reactor

    //  Engine and what it produces
    zf_clock_t *clock;         //  the engine's clock
    zf_clock_t *own_clock;     //  the real clock, if we made it
    zf_engine_t *engine;       //  the scheduler
    zf_journal_t *journal;     //  recent event bodies
    zf_publisher_t *publisher; //  events to the PUB
    zf_orders_t *orders;       //  orders to the dispatcher
    int deadline_timer;        //  timer at the engine's next deadline, or -1
    int64_t deadline_at;       //  when it fires (ms), -1 none, -2 to re-arm

    //  Requests
    zf_proto_decoder_t *req_decoder; //  requests received
    zf_proto_encoder_t *encoder;     //  replies and other bodies sent at once
    int64_t bad_reported_at;         //  when malformed requests were last put on the bus
    uint64_t bad_unreported;         //  malformed requests since then
    zf_task_status_t *task_status;   //  STATUS scratch: tasks of every run
    size_t task_status_capacity;     //  entries allocated
    zf_run_status_t *run_status;     //  STATUS scratch: runs
    size_t run_status_capacity;      //  entries allocated

    //  The dispatcher session
    zsock_t *dealer;                  //  to the dispatcher, or NULL
    zsock_t *monitor;                 //  the DEALER's connection events
    int monitor_seq;                  //  numbers monitor endpoints
    zf_session_state_t state;         //  where the session stands
    bool connected;                   //  the DEALER has a connection now
    int64_t expiry_ms;                //  the dispatcher counts as silent after this (monotonic)
    int64_t sent_at_ms;               //  when we last sent anything (monotonic)
    int heartbeat_timer;              //  the heartbeat timer
    zf_proto_decoder_t *disp_decoder; //  bodies from the dispatcher
    zhashx_t *live;       //  after HELLO_REPLY: "flow/date/task[shard]" -> newest attempt
    zf_keyset_t acks;     //  results to acknowledge at the end of the turn
    zf_keyset_t resend;   //  attempts refused as overloaded, to send again
    int backoff_timer;    //  timer before resending, or -1
    int64_t backoff_ms;   //  its current length
    int64_t resent_at_ms; //  when refused orders last went again (monotonic), or 0
    bool restart_pending; //  a whole request was refused overloaded: restart after backoff
    bool silent_warned;   //  the dispatcher's silence was reported once already
    bool send_failed;     //  the socket refused orders this turn
    bool cold;            //  state came from the archiver; in-flight work not settled yet

    //  The archive (history.c)
    zsock_t *archive;                    //  DEALER to the archiver, or NULL
    zf_proto_decoder_t *history_decoder; //  its replies
    zf_proto_encoder_t *history_encoder; //  requests to it
    zf_history_slot_t *history;          //  ZF_HISTORY_PENDING slots
    uint64_t history_seq;                //  req_ids towards the archiver
    uint64_t history_requests;           //  STATUS requests forwarded
    uint64_t history_timeouts;           //  of which the archiver did not answer
    uint64_t history_refused;            //  not forwarded: every slot busy, or not sent
    uint64_t archived_seq;               //  the highest seq the archiver said is durable
    int64_t archived_at;                 //  when it last said so (monotonic), or start
    int64_t lag_warned_at;               //  when its lag was last reported, 0 if not behind
    int watch_timer;                     //  checks the lag once a second
    int64_t lag_warn_ms;                 //  ZF_LAG_WARN_MS, or as configured

    //  Counters
    uint64_t requests;        //  requests answered
    uint64_t bad_requests;    //  requests that did not decode, or frames dropped
    uint64_t results;         //  results handled
    uint64_t stale;           //  results that changed nothing
    uint64_t refusals;        //  ERROR messages from the dispatcher
    uint64_t reconnects;      //  sessions started after the first
    uint64_t disp_malformed;  //  messages from the dispatcher dropped as malformed
    int64_t disp_reported_at; //  when those were last put on the bus (monotonic)
} zf_registry_t;

//  ---------------------------------------------------------------------------
//  registry.c

//  Ends a turn of the loop: sends the orders that became ready, publishes
//  the turn's events, acknowledges results, re-arms the deadline timer.
void zf_registry_turn_end (zf_registry_t *self);

//  Raises the epoch above newest (the dispatcher has seen a newer one),
//  persists it and puts it on the bus. Returns 0, or -1 if it could not be
//  persisted (then it is not used).
int zf_registry_raise_epoch (zf_registry_t *self, uint64_t newest);

//  ---------------------------------------------------------------------------
//  recover.c

//  Fills the new engine from the archiver's snapshot and journal (a cold
//  start) and sets self->cold if there was any state. Returns 0, or -1 with
//  the reason in error (the archiver did not answer, or its state does not
//  fold).
int zf_registry_recover (zf_registry_t *self, const char *archiver, char *error, size_t size);

//  ---------------------------------------------------------------------------
//  history.c

//  Connects to the archiver (endpoint NULL or "": none), reads it in the
//  loop and watches its lag (lag_warn_ms: see ZF_LAG_WARN_MS). 0 or -1.
int zf_history_open (zf_registry_t *self, const char *endpoint, int64_t lag_warn_ms);

//  Disconnects; every request still waiting is dropped.
void zf_history_close (zf_registry_t *self);

//  Answers a STATUS for an archived run from the archiver, later.
void zf_history_status (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req);

//  The archiver made everything up to seq durable (an ARCHIVED request).
void zf_history_archived (zf_registry_t *self, uint64_t seq);

//  Logs an error and puts it on the bus as an ERROR event from service.
void zf_registry_error (zf_registry_t *self, const char *service, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  ---------------------------------------------------------------------------
//  requests.c

//  Handles requests on the ROUTER (a zloop reader).
int zf_requests_on_router (zloop_t *loop, zsock_t *reader, void *arg);

//  Replies go out through zf_replier (libs/client) on self->router with
//  self->encoder.

//  Sends ERROR for a failed engine call (code from zf_engine_error_t).
void zf_requests_engine_error (zf_registry_t *self, zframe_t *identity, uint64_t req_id, int code);

//  ---------------------------------------------------------------------------
//  status.c, logs.c, replay.c

void zf_status_reply (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_logs_reply (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_replay_snapshot (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req);
void zf_replay_since (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req);

//  ---------------------------------------------------------------------------
//  dispatch.c

//  Starts a session: a fresh DEALER (with its monitor) and HELLO. 0 or -1.
int zf_session_open (zf_registry_t *self);

//  Ends the session's sockets.
void zf_session_close (zf_registry_t *self);

//  Ends the session and starts a fresh one, saying why in the log.
void zf_session_restart (zf_registry_t *self, const char *why);

//  Heartbeats and liveness (a zloop timer).
int zf_session_on_heartbeat (zloop_t *loop, int timer_id, void *arg);

//  Sends every order the engine has ready, if the session takes orders.
void zf_session_pump (zf_registry_t *self);

//  Acknowledges the results handled this turn.
void zf_session_flush_acks (zf_registry_t *self);

//  zf_orders_failed_fn: an order that cannot be encoded fails its shards
//  with the reason, so the run shows why instead of waiting for ever.
void zf_session_order_failed (void *arg, const zf_order_t *order, const char *reason);

//  zf_engine_inflight_fn: tells the dispatcher to cancel a shard in flight.
void zf_session_cancel (const zf_task_key_t *key, void *arg);

//  Frees what the session keeps besides its sockets.
void zf_session_destroy (zf_registry_t *self);

//  A key set: add a copy of key, forget all, free. Add returns 0 or -1.
int zf_keyset_add (zf_keyset_t *set, const zf_task_key_t *key);
void zf_keyset_clear (zf_keyset_t *set);
void zf_keyset_free (zf_keyset_t *set);

#endif
