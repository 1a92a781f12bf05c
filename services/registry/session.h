/*  session.h - the registry's Majordomo client session with the dispatcher.

    Plain C with an injectable clock and no sockets, the way the dispatcher's
    broker is. The registry's link (link.c) owns the socket, its monitor and
    the timers; it hands this class every message from the dispatcher, every
    change of the connection and every heartbeat interval, and the class
    says what to send, when to start a fresh connection and when its
    back-off ends through zf_session_ops_t. The engine it drives and the
    term it carries belong to the owner (registry.c): the session borrows
    the engine and asks its owner to raise the epoch. Tests drive it with a
    fake clock and a real engine, and record what it asks for.

    A session says HELLO with our name and epoch, waits for the reply, and
    from then on sends orders (REQUEST), cancels and acknowledgements, and
    takes results (PARTIAL, FINAL), refusals (ERROR) and heartbeats.
    Anything that breaks it - the dispatcher silent for `liveness`
    heartbeats while connected, the connection closed, a stale epoch, orders
    the socket would not take - ends it: the owner makes a fresh connection
    and the session says HELLO again, so nothing sent on the old one can be
    confused with the new.

    Where a session stands:

      state   event                                            next
      off     start or a heartbeat interval: a connection      hello (HELLO sent)
              was made
      off     ... no connection could be made                  off
      hello   HELLO_REPLY, nothing in flight                   ready (a cold start settles)
      hello   HELLO_REPLY, work in flight                      sync
      hello   HELLO_REPLY listing ZF_MAX_BATCH attempts or     ready (unlisted attempts sent
              more, work in flight                             again as they are)
      hello   HELLO_REPLY with a newer epoch                   hello (epoch raised, fresh
                                                               connection)
      sync    the dispatcher's next HEARTBEAT                  ready (lost work requeued, or
                                                               a cold start settled)
      ready   ERROR overloaded                                 ready, backing off: no new
                                                               orders until the back-off ends
      ready   back-off over                                    ready (refused attempts that
                                                               are still dispatched sent again)
      any     back-off over after a whole request was          hello (fresh connection)
              refused overloaded
      any     silence past liveness while connected,           hello (fresh connection),
              connection closed, stale epoch, the socket       or off if none could be made
              refused orders

    A dispatcher re-sends the results it holds right after its HELLO_REPLY
    and heartbeats only in later turns, so its first HEARTBEAT after the
    reply says every held result has arrived: what is then neither in the
    reply's list nor ended was lost with the old dispatcher (or never
    reached it) and runs again at attempt + 1 with its rollback first
    (zf_engine_requeue_lost). After a cold start from the archiver the same
    moment settles what was in flight instead (zf_engine_recover).
*/
#ifndef ZF_SESSION_H_INCLUDED
#define ZF_SESSION_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "zf_clock.h"
#include "orders.h"
#include "zf_engine.h"
#include "zf_proto.h"

//  Back-off before orders the dispatcher refused as overloaded go again: it
//  starts at the minimum and doubles, up to the maximum, while refusals
//  follow resends.
#define ZF_SESSION_BACKOFF_MIN_MS 100
#define ZF_SESSION_BACKOFF_MAX_MS 5000

//  How often malformed messages from the dispatcher reach the bus, at most.
#define ZF_SESSION_REPORT_MS 1000

typedef struct _zf_session_t zf_session_t;

//  Where the session stands (the table above).
typedef enum {
    ZF_SESSION_OFF = 0,   //  no connection: the next heartbeat interval makes one
    ZF_SESSION_HELLO = 1, //  HELLO sent, its reply not yet in
    ZF_SESSION_SYNC = 2,  //  reply in; waiting until every held result has come
    ZF_SESSION_READY = 3  //  orders flow
} zf_session_state_t;

//  Settings; strings are copied.
typedef struct {
    const char *name;       //  our name at the dispatcher
    const char *endpoint;   //  the dispatcher's endpoint, for the log
    int64_t heartbeat_ms;   //  heartbeat interval
    uint32_t liveness;      //  intervals of silence before a fresh connection
    uint64_t max_in_flight; //  shards dispatched or running at most
    int64_t wait_ms;        //  every order's wait for a worker (0: for ever)
} zf_session_config_t;

//  What the session asks of its owner.
typedef struct {
    //  Closes the connection to the dispatcher, if there is one, and makes
    //  a fresh one; *watched says whether a monitor will tell when it comes
    //  and goes. Returns 0, or -1 if none could be made.
    int (*connect) (void *arg, bool *watched);
    //  Sends [""][MDPC02][command][service][body] without waiting (service
    //  NULL for commands without one, body NULL for HEARTBEAT). Returns 0,
    //  or -1 if the socket refused it.
    int (*send) (void *arg, uint8_t command, const char *service, const void *body, size_t size);
    //  Logs an error and puts it on the bus as an ERROR event from service.
    void (*error) (void *arg, const char *service, const char *text);
    //  Takes a term above newest, made durable first. Returns 0, or -1 if
    //  it could not (the term stays as it was).
    int (*raise_epoch) (void *arg, uint64_t newest);
} zf_session_ops_t;

//  Counters. Every failure counted here was logged once, with its reason.
typedef struct {
    uint64_t results;         //  results handled
    uint64_t stale;           //  results that changed nothing
    uint64_t refusals;        //  ERROR messages from the dispatcher
    uint64_t reconnects;      //  sessions started after the first
    uint64_t malformed;       //  messages from the dispatcher dropped as malformed
    uint64_t unsent;          //  HELLO, HEARTBEAT, ACK and CANCEL messages not sent
    uint64_t acks_lost;       //  results not acknowledged (they come again)
    uint64_t limit_hits;      //  times the in-flight limit began to hold ready work back
    uint64_t lists_cut;       //  HELLO_REPLY lists at ZF_MAX_BATCH (unlisted work sent again)
    uint64_t cancels_resent;  //  attempts the dispatcher still held after the engine ended them
    uint64_t out_of_memory;   //  other work dropped for lack of memory (live set, resends)
    uint64_t orders_held;     //  DISPATCH requests that waited for the gate
    zf_orders_stats_t orders; //  the orders sent through the session
} zf_session_stats_t;

//  A session driving engine (borrowed) on clock (borrowed; its monotonic
//  time is used), asking ops with arg. It is off until zf_session_start.
//  NULL if out of memory.
zf_session_t *zf_session_new (const zf_session_config_t *cfg, zf_engine_t *engine,
                              zf_clock_t *clock, const zf_session_ops_t *ops, void *arg);

//  Destroys the session (nothing is sent); idempotent.
void zf_session_destroy (zf_session_t **self_p);

//  Makes the first connection and says HELLO. Until then ticks do nothing
//  (a registry of a pair that is not active drives no dispatcher); after,
//  a tick makes a fresh connection when there is none. Returns 0, or -1 if
//  no connection could be made or HELLO could not be sent.
int zf_session_start (zf_session_t *self);

//  A message from the dispatcher (identity-less MDP client frames; not
//  taken): it counts as life, then is parsed, decoded and handled. A
//  message that does not parse or decode is counted and dropped.
void zf_session_on_message (zf_session_t *self, zmsg_t *msg);

//  The decoded messages zf_session_on_message hands on.
void zf_session_on_results (zf_session_t *self, const zf_results_t *results);
void zf_session_on_hello_reply (zf_session_t *self, const zf_hello_reply_t *reply);
void zf_session_on_refused (zf_session_t *self, const char *service, const zf_refused_t *refused);
void zf_session_on_heartbeat (zf_session_t *self);

//  The connection came (the monitor saw it).
void zf_session_connected (zf_session_t *self);

//  The connection closed: a fresh one says HELLO.
void zf_session_disconnected (zf_session_t *self);

//  A heartbeat interval passed: a connection if there is none, a fresh one
//  if the dispatcher fell silent, a HEARTBEAT if nothing was sent lately.
void zf_session_tick (zf_session_t *self);

//  When the back-off ends (monotonic ms of the clock), or -1 if none runs.
int64_t zf_session_backoff_end (zf_session_t *self);

//  The back-off's time has come: refused attempts go again, or a fresh
//  connection starts. Nothing happens before zf_session_backoff_end.
void zf_session_backoff_over (zf_session_t *self);

//  Sends every order the engine has ready (up to the in-flight limit), if
//  the session takes orders.
void zf_session_pump (zf_session_t *self);

//  Sends the orders held until the gate says their events are safe, then
//  acknowledges the results handled since the last call and those handled
//  earlier whose events the gate now says are safe.
void zf_session_flush (zf_session_t *self);

//  How far the registry's events are safe from its loss: the highest seq
//  that outlives it (held by the passive registry of a pair), UINT64_MAX
//  for every one.
typedef uint64_t (zf_session_gate_fn) (void *arg);

//  With a gate, the results of a turn are acknowledged only once the gate
//  reaches the engine's seq at the end of that turn (until then the
//  dispatcher holds them, and hands them to whichever registry says HELLO
//  next), and a DISPATCH request goes only once the gate reaches the seq of
//  the events that made its orders (an attempt that may have started is
//  then known to whichever registry takes over); orders held for
//  S_HELD_REPORT_MS say so on the bus once. Held orders are dropped when a
//  new session starts: it finds their attempts missing and sends them
//  again. Without a gate (NULL, the default), everything goes at once.
void zf_session_set_gate (zf_session_t *self, zf_session_gate_fn *gate, void *arg);

//  Results handled whose acknowledgement waits for the gate.
size_t zf_session_acks_parked (zf_session_t *self);

//  DISPATCH requests that wait for the gate.
size_t zf_session_orders_held (zf_session_t *self);

//  zf_engine_inflight_fn (arg is the session): tells the dispatcher to
//  cancel a shard in flight.
void zf_session_cancel (const zf_task_key_t *key, void *arg);

//  The engine came from a copy of the state (a cold start) of which the
//  archiver holds up to durable: what was in flight is settled once the
//  dispatcher has said what it holds, and the successes up to durable are
//  confirmed then.
void zf_session_set_cold (zf_session_t *self, uint64_t durable);

//  Every later order of the run of flow on date runs its rollback first,
//  for every shard (a cold start marks the runs that were open). Returns
//  0, or -1 if out of memory.
int zf_session_roll_back_all (zf_session_t *self, const char *flow, zf_date_t date);

//  Where the session stands.
zf_session_state_t zf_session_state (zf_session_t *self);

//  Counters.
void zf_session_stats (zf_session_t *self, zf_session_stats_t *stats);

#endif
