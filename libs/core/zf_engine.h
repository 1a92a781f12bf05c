/*  zf_engine.h - the scheduling engine: flows, runs, task instances, readiness.

    A pure library: no sockets, no threads, no I/O; time only from the
    zf_clock_t it is given. The registry feeds it requests, results and timer
    ticks, publishes the events it makes and sends the orders it hands out;
    replicas (backup registry, archiver, gateway) feed it only events.

    Every state change is a zf_event_t applied through zf_engine_apply().
    Decision functions (submit, start, tick, next_order, running, result, the
    operator actions, confirm, set_epoch, recover, requeue_lost, settle) work
    out what changes, number the events from zf_engine_seq () + 1, stamp
    them with the clock's time, apply each one and hand it to the listener.
    Replicas apply the same events and reach the same state, derived
    structures included, so a promoted replica can take decisions at once.
    docs/CORE.md has the state machine and the rules of each event.

    Strings in events and in the views below are owned by the engine. Flow
    names, task ids, executor names, flow definitions and tasks stay valid
    until the engine is destroyed; details until the next call that changes
    state; an order's shard list until the next zf_engine_next_order.

    Errors are negative ZF_E_* codes; zf_engine_last_error () says why in words.
*/
#ifndef ZF_ENGINE_H_INCLUDED
#define ZF_ENGINE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_attr.h"
#include "zf_clock.h"
#include "zf_event.h"
#include "zf_flow.h"
#include "zf_task_key.h"
#include "zf_time.h"

//  Shards in one run, all tasks together: each one costs resident memory for
//  as long as the run is held, so a flow whose run would exceed this is refused.
#define ZF_MAX_RUN_SHARDS (16 * 1024 * 1024)

//  Runs held at once (all flows): runs are kept for status and cross-date rules.
#define ZF_MAX_RUNS 100000

//  A date that is no date: "today in the flow's zone" for start, "the latest
//  run" for queries, and the date of events that have none.
#ifndef ZF_DATE_NONE
#define ZF_DATE_NONE (-1)
#endif

typedef enum {
    ZF_E_OK = 0,
    ZF_E_UNKNOWN_FLOW = -1, //  no such flow (or version)
    ZF_E_UNKNOWN_RUN = -2,  //  no run of the flow on that date
    ZF_E_UNKNOWN_TASK = -3, //  no such task (or shard) in the run
    ZF_E_CONFLICT = -4,     //  not possible in the current state
    ZF_E_INVALID = -5,      //  malformed input: bad flow text, date, event
    ZF_E_GAP = -6,          //  an event's seq is not the next one: re-sync
    ZF_E_STALE = -7,        //  changes nothing: an older or already applied
                            //  result, a cancelled attempt (count it, ack it)
    ZF_E_LIMIT = -8,        //  a named limit would be exceeded
    ZF_E_ARCHIVED = -9      //  the run succeeded and was archived: its tasks
                            //  are read from the archive, not the engine
} zf_engine_error_t;

//  How an attempt ended, as the registry tells the engine.
typedef enum {
    ZF_OUTCOME_SUCCEEDED = 0, //  exit status 0
    ZF_OUTCOME_FAILED = 1,    //  any other exit status, a timeout, no worker
    ZF_OUTCOME_CANCELLED = 2  //  killed on request; not retried
} zf_outcome_t;

typedef struct _zf_engine_t zf_engine_t;

//  Receives every event a decision applied, in seq order.
typedef void (zf_engine_listener_fn) (const zf_event_t *event, void *arg);

//  Receives each event of a snapshot; a non-zero return stops the snapshot.
typedef int (zf_engine_event_fn) (const zf_event_t *event, void *arg);

//  Answers recovery's question: is this attempt still queued or running at
//  the dispatcher? The key names one shard (ZF_SHARD_SOLE for an unsharded
//  task).
typedef bool (zf_engine_live_fn) (const zf_task_key_t *key, void *arg);

//  One shard of an order.
typedef struct {
    int32_t shard;    //  shard index, or ZF_SHARD_SOLE for an unsharded task
    uint32_t attempt; //  attempt to run, from 1
    bool rollback;    //  run the task's rollback command first
} zf_engine_shard_run_t;

//  Work to send to the dispatcher: views into the engine (shards until the
//  next zf_engine_next_order, the rest for the engine's life).
typedef struct {
    const zf_flow_t *flow;               //  the flow version the run pinned
    const zf_flow_task_t *task;          //  command, service, cwd (flow->dir), timeout...
    const char *flow_name;               //  flow->name
    const char *task_id;                 //  task->id
    uint32_t version;                    //  the flow version
    zf_date_t date;                      //  business date
    uint64_t epoch;                      //  the registry term, for fencing
    bool whole;                          //  every shard of the task is in this order
    const zf_engine_shard_run_t *shards; //  the shards to run
    size_t shard_count;                  //  entries in shards
} zf_engine_order_t;

//  A shard that was in flight when it was cancelled: tell the dispatcher.
//  The key names one shard (ZF_SHARD_SOLE for an unsharded task).
typedef void (zf_engine_inflight_fn) (const zf_task_key_t *key, void *arg);

//  What recovery did to one run.
typedef struct {
    const char *flow;     //  flow name
    zf_date_t date;       //  business date
    uint32_t rolled_back; //  shards in flight and lost: rolled back, queued again
    uint32_t live;        //  shards still in flight at the dispatcher
    uint32_t confirmed;   //  shards confirmed by the restart
} zf_engine_recovery_t;

//  Receives recovery's counts, one call per run that had anything to recover.
typedef void (zf_engine_recovery_fn) (const zf_engine_recovery_t *counts, void *arg);

//  One flow.
typedef struct {
    const char *name;        //  flow name
    uint32_t version;        //  latest version
    const zf_flow_t *latest; //  its definition
    bool paused;             //  nothing of it is dispatched
    size_t run_count;        //  runs held
} zf_engine_flow_info_t;

//  One run.
typedef struct {
    const char *flow;            //  flow name
    zf_date_t date;              //  business date
    uint32_t version;            //  the version it pinned
    const zf_flow_t *definition; //  that version
    uint8_t state;               //  zf_run_state_t
    bool paused;                 //  its flow is paused
    int64_t begins;              //  when its business date begins (ms)
    int64_t started;             //  when it began running, 0 if not yet
    int64_t ended;               //  when it last succeeded/failed/was cancelled, 0 if not
    uint32_t task_count;         //  tasks of its version
    uint32_t tasks_done;         //  tasks succeeded, confirmed or skipped
    uint32_t tasks_failed;       //  tasks failed or cancelled
    uint64_t shard_count;        //  shards of all its tasks
    bool archived;               //  it succeeded and its tasks left memory for
                                 //  the archive (task queries say ZF_E_ARCHIVED)
} zf_engine_run_info_t;

//  One task of a run (a summary of its shards).
typedef struct {
    const char *id;            //  task id
    uint32_t index;            //  task index in the run's version
    uint8_t state;             //  zf_task_state_t summary
    uint32_t attempt;          //  highest attempt of its shards, 0 if never run
    uint32_t shard_count;      //  shards (1 for an unsharded task)
    bool sharded;              //  shards: was given
    uint32_t shards_done;      //  succeeded, confirmed or skipped
    uint32_t shards_failed;    //  failed
    uint32_t shards_running;   //  dispatched or running
    uint32_t shards_cancelled; //  cancelled
    int64_t due;               //  waiting for its not_before: when, else 0
    int64_t started;           //  first start of any shard, 0 if none
    int64_t ended;             //  last end of any shard if the task has ended, else 0
    const char *executor;      //  executor of the shard that ended last, or NULL
    int32_t exit_status;       //  its exit status
    const char *detail;        //  its error or log tail, or NULL
} zf_engine_task_info_t;

//  One shard of a task.
typedef struct {
    int32_t shard;        //  index, or ZF_SHARD_SOLE for an unsharded task
    const char *key;      //  shard key, or NULL when shards are by index
    uint8_t state;        //  zf_task_state_t
    uint32_t attempt;     //  current attempt, 0 if never run
    uint32_t failures;    //  failed attempts counted against retries
    bool rollback;        //  the rollback runs before the next attempt
    int64_t due;          //  retrying: when the next attempt is due, else 0
    int64_t started;      //  first start, 0 if none
    int64_t ended;        //  end of the latest attempt, 0 if not ended
    const char *executor; //  last executor, or NULL
    int32_t exit_status;  //  last exit status
    const char *detail;   //  last error, or NULL (successes keep none)
} zf_engine_shard_info_t;

//  Counters for metrics.
typedef struct {
    uint64_t seq;         //  last event applied
    uint64_t epoch;       //  current term
    uint64_t confirmed;   //  confirm watermark
    size_t flows;         //  flows held
    size_t runs;          //  runs held (archived ones included)
    size_t archived;      //  runs archived: their tasks left memory
    uint64_t shards;      //  shards of every run held
    uint64_t ready;       //  shards ready
    uint64_t in_flight;   //  shards dispatched or running
    uint64_t unconfirmed; //  successes not yet confirmed
    size_t timers;        //  entries in the timer heap
} zf_engine_stats_t;

//  ---------------------------------------------------------------------------
//  Life cycle

//  A new, empty engine reading time from clock (not owned; it must outlive the
//  engine). NULL if out of memory.
zf_engine_t *zf_engine_new (zf_clock_t *clock);

//  Destroys the engine; NULLs the pointer. Idempotent.
void zf_engine_destroy (zf_engine_t **self_p);

//  Calls fn with every event a decision applies (NULL to stop).
void zf_engine_set_listener (zf_engine_t *self, zf_engine_listener_fn *fn, void *arg);

//  Why the last call failed, for humans ("" if it did not).
const char *zf_engine_last_error (zf_engine_t *self);

//  Names an error code ("unknown_flow"...).
const char *zf_engine_error_name (int code);

//  ---------------------------------------------------------------------------
//  The fold

//  Applies one event: the only way state changes. The event's seq must be
//  zf_engine_seq () + 1 (ZF_E_GAP otherwise) and it must fit the state
//  (unknown flow, run or task, a shard out of range, a transition the state
//  machine has not got: an error, and nothing changes). Strings are copied
//  where kept. Returns 0 or a ZF_E_* code.
ZF_MUST_USE int zf_engine_apply (zf_engine_t *self, const zf_event_t *event);

//  The seq of the last event applied (0 for a new engine).
uint64_t zf_engine_seq (zf_engine_t *self);

//  Emits, through fn, events that rebuild the current state (all with seq 0):
//  the epoch, the confirm watermark, every flow version with its text, pauses,
//  runs in the order they were opened, and every task and shard that is not in
//  its initial state. Returns the seq N the state holds at, or a negative code
//  if fn stopped it.
int64_t zf_engine_snapshot (zf_engine_t *self, zf_engine_event_fn *fn, void *arg);

//  Starts a restore into a new engine (nothing applied yet): until
//  zf_engine_restore_end, zf_engine_apply takes only snapshot events (seq 0).
//  Returns 0, or ZF_E_CONFLICT if the engine is not new.
ZF_MUST_USE int zf_engine_restore_begin (zf_engine_t *self);

//  Ends a restore: the state now holds at seq; events seq + 1.. apply normally.
//  Returns 0, or ZF_E_CONFLICT if no restore was begun.
ZF_MUST_USE int zf_engine_restore_end (zf_engine_t *self, uint64_t seq);

//  A 64-bit hash of the whole logical state (flows, runs, every task and
//  shard with its due times, derived counters, unconfirmed successes,
//  watermarks), independent of memory layout: two engines with the same
//  history have the same digest, however they got it (events or snapshot).
uint64_t zf_engine_digest (zf_engine_t *self);

//  ---------------------------------------------------------------------------
//  Decisions: each applies its events and hands them to the listener.

//  Parses a flow file and, unless its text equals the latest version's,
//  makes it the flow's next version (a FLOW event). Returns the version
//  (new or unchanged, from 1), or ZF_E_INVALID with the parser's messages
//  appended to errors (which may be NULL), or ZF_E_LIMIT.
ZF_MUST_USE int zf_engine_submit (zf_engine_t *self, const char *text, size_t size,
                                  const char *path, zf_flow_errors_t *errors);

//  Opens the run of flow on date (ZF_DATE_NONE: today in the flow's zone)
//  with the flow's latest version. The run waits until its date begins in the
//  flow's zone, then runs. Returns 0, 1 if the run was already open, or
//  ZF_E_UNKNOWN_FLOW, ZF_E_INVALID (not a business date), ZF_E_LIMIT.
ZF_MUST_USE int zf_engine_start (zf_engine_t *self, const char *flow, zf_date_t date);

//  The earliest pending deadline (ms since the epoch), or -1 if none.
int64_t zf_engine_next_deadline (zf_engine_t *self);

//  Handles every deadline that is due: runs whose date began, tasks whose
//  not_before passed, retries whose delay ran out. Returns how many.
int zf_engine_tick (zf_engine_t *self);

//  Takes the next ready work of a flow that is not paused, marks its shards
//  dispatched and fills order. Returns 1 if order was filled, 0 if nothing
//  is ready.
int zf_engine_next_order (zf_engine_t *self, zf_engine_order_t *order);

//  The dispatcher reports an attempt running. The key names one shard (an
//  index, or ZF_SHARD_SOLE or 0 for an unsharded task; never ZF_SHARD_WHOLE),
//  here and in zf_engine_result. A newer attempt than the one dispatched
//  (the dispatcher requeued a lost shard) raises the shard's attempt.
//  Returns 0, ZF_E_STALE (older, repeated or cancelled attempt), or
//  ZF_E_UNKNOWN_*.
ZF_MUST_USE int zf_engine_running (zf_engine_t *self, const zf_task_key_t *key,
                                   const char *executor);

//  The dispatcher reports how an attempt ended. Idempotent on the key: an
//  older attempt, one already applied or a cancelled one changes nothing and
//  returns ZF_E_STALE. A failure is retried after retry_delay while the
//  shard's failures stay within retries. detail (error or log tail) is kept
//  for failures only. Returns 0 or a ZF_E_* code.
int zf_engine_result (zf_engine_t *self, const zf_task_key_t *key, zf_outcome_t outcome,
                      int32_t exit_status, const char *executor, const char *detail);

//  Operator: runs a failed, cancelled or rolled-back task (every such shard
//  with ZF_SHARD_WHOLE, or just the one shard named) again with attempt + 1,
//  with a fresh retry budget. date ZF_DATE_NONE means the latest run.
//  Returns 0 or a ZF_E_* code.
ZF_MUST_USE int zf_engine_retry (zf_engine_t *self, const char *flow, zf_date_t date,
                                 const char *task, int32_t shard);

//  Operator: treats a task (or one shard) that is not in flight and not done
//  as done, so its successors proceed. Returns 0 or a ZF_E_* code.
ZF_MUST_USE int zf_engine_skip (zf_engine_t *self, const char *flow, zf_date_t date,
                                const char *task, int32_t shard);

//  Operator: cancels a task (or one shard of it; or with task NULL the whole
//  run): every shard not done becomes cancelled and later results for its
//  attempt are ignored. fn (may be NULL) hears of each shard that was in
//  flight, so the dispatcher can be told. Returns 0 or a ZF_E_* code.
ZF_MUST_USE int zf_engine_cancel (zf_engine_t *self, const char *flow, zf_date_t date,
                                  const char *task, int32_t shard, zf_engine_inflight_fn *fn,
                                  void *arg);

//  Operator: stops or resumes dispatching a flow's work (in-flight work goes
//  on; ready work stays ready). Returns 0 or a ZF_E_* code.
ZF_MUST_USE int zf_engine_pause (zf_engine_t *self, const char *flow);
ZF_MUST_USE int zf_engine_resume (zf_engine_t *self, const char *flow);

//  The archiver has made every event up to seq durable: successes with a seq
//  up to it become confirmed (one CONFIRM event, only if any does). Returns
//  how many shards were confirmed, or ZF_E_INVALID for a seq not yet made.
int zf_engine_confirm (zf_engine_t *self, uint64_t seq);

//  Makes epoch the registry term that drives dispatch (an EPOCH event);
//  orders carry it. The event names the registry that took it (its role:
//  "primary", "backup", or "registry" alone; a name, at most ZF_MAX_NAME)
//  and how it took it (detail, free text: "took over from=...", "started
//  empty"...); either may be NULL. Replicas apply the term only. Returns
//  0, ZF_E_STALE if it does not rise, or ZF_E_INVALID for a registry name
//  that is empty or too long.
int zf_engine_set_epoch (zf_engine_t *self, uint64_t epoch, const char *registry,
                         const char *detail);

//  How many of each flow's latest runs stay in memory whatever their state
//  (0, the default: every run stays). With keep > 0, zf_engine_archive
//  archives the older ones that succeeded.
void zf_engine_set_keep_runs (zf_engine_t *self, uint32_t keep);

//  Archives every run that succeeded, whose events up to its success are all
//  confirmed (durable in the archive) and that is not among the keep latest
//  runs of its flow (a RUN event with state archived each): its tasks and
//  shards leave memory; its flow, date, version and times stay, so
//  cross-date rules, history and a new start of that date still see it.
//  Cheap when nothing changed since the last call (nothing to look at).
//  Returns how many runs were archived.
ZF_MUST_USE int zf_engine_archive (zf_engine_t *self);

//  Puts an error on the bus with the next seq (an ERROR event): service is
//  the one that saw it. Returns 0.
int zf_engine_report_error (zf_engine_t *self, const char *service, const char *message);

//  After a cold restart from a copy of the state: every success up to
//  durable (the seq the archiver holds; the copy may be newer) becomes
//  confirmed; every shard dispatched or running that is_live does not
//  report becomes rolled_back and is queued again with attempt + 1 and its
//  rollback flagged; then settles. fn (may be NULL) receives counts per run.
//  Returns the number of shards rolled back.
ZF_MUST_USE int zf_engine_recover (zf_engine_t *self, uint64_t durable, zf_engine_live_fn *is_live,
                                   void *live_arg, zf_engine_recovery_fn *fn, void *arg);

//  After the dispatcher restarted or dropped the registry's session: every
//  shard dispatched or running that is_live does not report (the dispatcher
//  holds it neither queued, nor running, nor as a result to deliver) becomes
//  rolled_back and is queued again with attempt + 1 and its rollback
//  flagged. Unlike zf_engine_recover it confirms nothing (successes are
//  durable only once the archiver says so) and settles nothing. fn (may be
//  NULL) receives counts per run. Returns the number of shards requeued.
int zf_engine_requeue_lost (zf_engine_t *self, zf_engine_live_fn *is_live, void *live_arg,
                            zf_engine_recovery_fn *fn, void *arg);

//  True if the engine has moved past an attempt the dispatcher still holds:
//  the shard it names has a later attempt, or this attempt has ended
//  (cancelled, say, while the dispatcher could not hear it), or the run is
//  archived. False while the attempt is in flight, for an attempt newer
//  than the engine's (one whose dispatch it never heard of), and for a
//  flow, run or task it does not know.
bool zf_engine_superseded (zf_engine_t *self, const zf_task_key_t *key);

//  Finishes decisions a previous registry left half made (call it when a
//  replica takes over): tasks whose predecessors are all done but that are not
//  yet ready are made ready (or wait for their not_before), runs whose end
//  was not announced are ended. Returns the number of events made.
int zf_engine_settle (zf_engine_t *self);

//  ---------------------------------------------------------------------------
//  Queries: read-only views.

uint64_t zf_engine_epoch (zf_engine_t *self);
uint64_t zf_engine_confirmed (zf_engine_t *self);
void zf_engine_stats (zf_engine_t *self, zf_engine_stats_t *stats);

//  Calls fn for every flow, in the order they were first submitted.
typedef void (zf_engine_flow_fn) (const zf_engine_flow_info_t *info, void *arg);
void zf_engine_flows (zf_engine_t *self, zf_engine_flow_fn *fn, void *arg);

//  A flow version's definition (version 0: the latest), or NULL.
const zf_flow_t *zf_engine_flow (zf_engine_t *self, const char *flow, uint32_t version);

//  Fills info for one flow. Returns 0 or ZF_E_UNKNOWN_FLOW.
int zf_engine_flow_info (zf_engine_t *self, const char *flow, zf_engine_flow_info_t *info);

//  Calls fn for every run of flow in date order. Returns 0 or ZF_E_UNKNOWN_FLOW.
typedef void (zf_engine_run_fn) (const zf_engine_run_info_t *info, void *arg);
int zf_engine_runs (zf_engine_t *self, const char *flow, zf_engine_run_fn *fn, void *arg);

//  Fills info for the run of flow on date (ZF_DATE_NONE: the latest date).
//  Returns 0, ZF_E_UNKNOWN_FLOW or ZF_E_UNKNOWN_RUN.
int zf_engine_run_info (zf_engine_t *self, const char *flow, zf_date_t date,
                        zf_engine_run_info_t *info);

//  Fills info for task index (0 .. task_count - 1) of a run. Returns 0 or a
//  ZF_E_UNKNOWN_* code.
int zf_engine_task_info (zf_engine_t *self, const char *flow, zf_date_t date, uint32_t index,
                         zf_engine_task_info_t *info);

//  Fills info for one shard (ZF_SHARD_SOLE, 0 or ZF_SHARD_WHOLE for an
//  unsharded task).
//  Returns 0 or a ZF_E_UNKNOWN_* code.
int zf_engine_shard_info (zf_engine_t *self, const char *flow, zf_date_t date, uint32_t index,
                          int32_t shard, zf_engine_shard_info_t *info);

//  The shard index a key or a decimal index names in task, or -1 (operators
//  write --shard fx or --shard 3).
int32_t zf_engine_shard_lookup (const zf_flow_task_t *task, const char *key);

#endif
