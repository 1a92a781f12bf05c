/*  core_internal.h - the engine's private structures, shared by libs/core only.

    Layout, from the top: the engine holds flows (each with its versions, its
    runs by date and its cross-date bookkeeping) and runs by id. A run holds
    one zf_tinst_t per task of the version it pinned and one zf_shard_t per
    shard, all shards of the run in one array. Queues and the timer heap name
    task instances by (run id, task index, shard) so they stay small and
    never dangle: runs are never freed while the engine lives.

    Who may write what: only zf_apply.c (the fold) changes flows, runs, task
    instances and shards, and the derived structures with them. The decision
    files (zf_decide.c, zf_actions.c) read state and call s_commit via
    zf_core_commit; queries and the snapshot only read.
*/
#ifndef ZF_CORE_INTERNAL_H_INCLUDED
#define ZF_CORE_INTERNAL_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_array.h"
#include "zf_engine.h"
#include "zf_intern.h"
#include "zf_limits.h"

//  Flags of a task instance.
#define ZF_TI_TIMER    0x01 //  waits for its not_before instant (due)
#define ZF_TI_CROSS    0x02 //  waits only for earlier business dates
#define ZF_TI_ELIGIBLE 0x04 //  in the decider's eligible list (only during a decision)

//  Bits of a shard's marks byte.
#define ZF_SH_ROLLBACK 0x01 //  the rollback command runs before the next attempt
#define ZF_SH_PICKED   0x02 //  collected into the order being built (transient)

//  Snapshot TASK records carry the failures counted against retries in the
//  low 16 bits of version and the rollback mark in bit 16.
#define ZF_REC_FAILURES 0xffffu
#define ZF_REC_ROLLBACK 0x10000u

//  Timer kinds.
#define ZF_TIMER_RUN        1 //  a run's business date begins
#define ZF_TIMER_NOT_BEFORE 2 //  a task's not_before instant
#define ZF_TIMER_RETRY      3 //  a shard's retry delay ran out

//  No run, or no date held by a flow.
#define ZF_NO_RUN UINT32_MAX

//  One shard of a task instance: 48 bytes, the unit of resident memory.
typedef struct {
    uint8_t state;       //  zf_task_state_t
    uint8_t marks;       //  ZF_SH_* bits
    uint16_t failures;   //  failed attempts counted against retries
    uint32_t attempt;    //  current attempt, 0 before the first
    uint32_t executor;   //  interned executor name, 0 if none
    int32_t exit_status; //  exit status of the latest result
    int64_t started;     //  first start, 0 if never started
    int64_t ended;       //  end of the latest attempt, 0 if not ended
    int64_t due;         //  retrying: when the next attempt is due
    char *detail;        //  error of the latest failure, or NULL
} zf_shard_t;

//  Shards are most of the engine's memory: 1,000,000 of them must fit in 256 MB
//  with their task instances and success entries (docs/CORE.md).
_Static_assert(sizeof (zf_shard_t) == 48, "zf_shard_t outgrew its memory budget");

//  One task of a run: counters that summarise its shards.
typedef struct {
    uint32_t counts[ZF_TS_MAX + 1]; //  shards in each state
    uint32_t unmet;                 //  same-date dependencies not yet done
    uint32_t cross_unmet;           //  earlier-date dependencies not yet done
    uint8_t summary;                //  zf_task_state_t summarising the shards
    uint8_t flags;                  //  ZF_TI_* bits
    int64_t due;                    //  not_before instant while ZF_TI_TIMER
} zf_tinst_t;

//  What the engine derives once from a flow version.
typedef struct {
    zf_flow_t *def;        //  the parsed flow (owned)
    uint32_t number;       //  version, from 1
    uint32_t *offset;      //  task -> its first shard in a run (task_count + 1)
    uint32_t *succ_start;  //  task -> first entry in succ (task_count + 1)
    uint32_t *succ;        //  same-date successors of each task
    uint32_t *indegree;    //  same-date dependencies of each task
    uint32_t *cross_start; //  task -> first entry in cross (task_count + 1)
    zf_flow_dep_t *cross;  //  earlier-date dependencies of each task
    uint32_t *roots;       //  tasks without same-date dependencies
    uint32_t root_count;   //  entries in roots
    int32_t *nb_slot;      //  task -> index in nb_minutes, or -1
    int32_t *nb_minutes;   //  distinct not_before values
    uint32_t nb_count;     //  entries in nb_minutes
    uint32_t shard_total;  //  shards of one run
} zf_version_t;

//  A task of an earlier run that a later run waits for.
typedef struct {
    uint32_t run;  //  the waiting run
    uint32_t task; //  the waiting task
    uint32_t next; //  next waiter on the same task + 1, or 0
} zf_waiter_t;

//  A waiter whose earlier run is not open yet.
typedef struct {
    zf_date_t date;  //  the date it waits for
    uint32_t run;    //  the waiting run
    uint32_t task;   //  the waiting task
    const char *dep; //  id of the task it waits for (in the waiting run's version)
} zf_pending_t;

//  An entry of the ready queue: a task instance, or one shard of it.
typedef struct {
    uint32_t run;  //  run id
    uint32_t task; //  task index
    int32_t shard; //  shard index, or ZF_SHARD_WHOLE (every ready shard)
} zf_qentry_t;

//  An entry of the success list: shards waiting for confirmation, in seq order.
typedef struct {
    uint64_t seq;  //  the event that made them succeed
    uint32_t run;  //  run id
    uint32_t task; //  task index
    int32_t shard; //  shard index, or ZF_SHARD_WHOLE (every shard)
} zf_success_t;

//  A deadline in the timer heap.
typedef struct {
    int64_t due;      //  ms since the epoch
    uint64_t order;   //  push order: equal deadlines fire first-in first-out
    uint32_t run;     //  run id
    uint32_t task;    //  task index (ZF_TIMER_NOT_BEFORE, ZF_TIMER_RETRY)
    int32_t shard;    //  shard index (ZF_TIMER_RETRY)
    uint32_t attempt; //  the retrying attempt (ZF_TIMER_RETRY)
    uint8_t kind;     //  ZF_TIMER_*
} zf_timer_t;

//  A FIFO ring of fixed-size items.
typedef struct {
    char *items;     //  capacity items of size bytes
    size_t size;     //  bytes of one item
    size_t capacity; //  items of room (a power of two, or 0)
    size_t head;     //  index of the first item
    size_t count;    //  items held
} zf_ring_t;

//  The timer heap: a binary min-heap on (due, order).
typedef struct {
    zf_timer_t *items; //  the heap
    size_t count;      //  entries
    size_t capacity;   //  room
    uint64_t pushes;   //  push counter for order
} zf_heap_t;

//  A run's place in its flow's date index.
typedef struct {
    zf_date_t date; //  business date
    uint32_t run;   //  run id
} zf_dated_t;

//  One flow: its versions and its runs.
typedef struct {
    uint32_t id;               //  index in engine->flows
    const char *name;          //  interned name
    zf_version_t **versions;   //  versions [number - 1]
    uint32_t version_count;    //  versions held
    uint32_t version_capacity; //  room in versions
    bool paused;               //  dispatch nothing of it
    zf_dated_t *by_date;       //  its runs, sorted by date
    size_t run_count;          //  entries in by_date
    size_t run_capacity;       //  room in by_date
    zf_pending_t *pending;     //  waiters for runs not yet open
    size_t pending_count;      //  entries in pending
    size_t pending_capacity;   //  room in pending
    zf_ring_t parked;          //  ready entries met while paused
} zf_flowent_t;

//  One run of a flow on a business date.
typedef struct {
    uint32_t id;                  //  index in engine->runs (order of opening)
    zf_flowent_t *flow;           //  its flow
    zf_version_t *ver;            //  the version it pinned
    zf_date_t date;               //  business date
    zf_date_t horizon;            //  earlier-date dependencies before this date are met
    uint8_t state;                //  zf_run_state_t
    bool archived;                //  tasks and shards freed: read from the archive
    bool begun;                   //  it has been running
    bool dirty;                   //  in the decider's list of runs to check
    int64_t begins;               //  when its date begins in the flow's zone
    int64_t started;              //  first time it ran, 0 if not begun
    int64_t ended;                //  when it last ended, 0 while not ended
    uint64_t ended_seq;           //  seq of the event that made it succeed
    zf_tinst_t *tasks;            //  one per task of ver
    zf_shard_t *shards;           //  all shards; task t's at ver->offset [t]
    uint32_t tsum[ZF_TS_MAX + 1]; //  tasks by summary state
    uint64_t ssum[ZF_TS_MAX + 1]; //  shards by state
    uint32_t timer_tasks;         //  tasks with ZF_TI_TIMER
    uint32_t cross_tasks;         //  tasks with ZF_TI_CROSS
    uint32_t *waiter_head;        //  task -> first waiter + 1 (NULL until needed)
    zf_waiter_t *waiters;         //  later runs' tasks waiting for this run's
    size_t waiter_count;          //  entries in waiters
    size_t waiter_capacity;       //  room in waiters
    int64_t *nb_instants;         //  instants of ver->nb_minutes on this date, 0 = not yet
} zf_run_t;

//  A task instance by reference (the decider's lists).
typedef struct {
    uint32_t run;  //  run id
    uint32_t task; //  task index
} zf_tref_t;

struct _zf_engine_t {
    zf_clock_t *clock;                   //  time source (not owned)
    uint64_t seq;                        //  last event applied
    uint64_t epoch;                      //  registry term
    uint64_t confirmed;                  //  confirm watermark
    zf_engine_listener_fn *listener;     //  hears every event a decision applies
    void *listener_arg;                  //  its argument
    char error[512];                     //  why the last call failed
    zf_intern_t *flow_names;             //  flow name -> flow id + 1
    zf_intern_t *executors;              //  executor names
    uint32_t exec_cache;                 //  id of the last executor interned
    zf_flowent_t **flows;                //  flows by id
    size_t flow_count;                   //  flows held
    size_t flow_capacity;                //  room in flows
    zf_run_t **runs;                     //  runs by id
    size_t run_count;                    //  runs held
    size_t run_capacity;                 //  room in runs
    zf_ring_t ready;                     //  ready entries, first-in first-out
    zf_ring_t successes;                 //  unconfirmed successes in seq order
    zf_heap_t timers;                    //  pending deadlines
    uint64_t shard_total;                //  shards of every run held
    uint64_t ready_shards;               //  shards ready
    uint64_t inflight_shards;            //  shards dispatched or running
    uint64_t unconfirmed;                //  shards succeeded, not confirmed
    uint32_t keep_runs;                  //  latest runs per flow never archived; 0: keep all
    size_t archived_runs;                //  runs archived
    bool archive_due;                    //  a run may have become archivable
    uint64_t last_success_seq;           //  seq of the latest RUN succeeded event
    bool restoring;                      //  applying a snapshot
    bool deciding;                       //  a decision is applying its events
    int64_t now;                         //  the time of the decision in progress
    zf_tref_t *eligible;                 //  tasks the fold found eligible, to decide
    size_t eligible_head;                //  next one to decide
    size_t eligible_count;               //  entries in eligible
    size_t eligible_capacity;            //  room in eligible
    uint32_t *dirty;                     //  runs whose state may have to change
    size_t dirty_count;                  //  entries in dirty
    size_t dirty_capacity;               //  room in dirty
    zf_engine_shard_run_t *order_shards; //  the order being handed out
    size_t order_capacity;               //  room in order_shards
    zf_flow_t *pending_flow;             //  parsed by submit, adopted by its FLOW event
    zf_run_t *hint_run;                  //  the run of the event being committed
    uint32_t hint_task;                  //  its task
};

//  --- zf_engine.c: errors, growth, commit

//  Records why a call fails and returns code.
int zf_core_fail (zf_engine_t *self, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Starts a decision: takes the time, collects eligible tasks and dirty runs.
void zf_core_begin (zf_engine_t *self);

//  Numbers, stamps and applies one event made by a decision, then hands it to
//  the listener. hint names its run and task (or NULL). Returns 0, or
//  ZF_E_LIMIT when the fold could not get memory (nothing changed then).
ZF_MUST_USE int zf_core_commit (zf_engine_t *self, zf_event_t *event, zf_run_t *hint,
                                uint32_t task);

//  Ends a decision: decides every eligible task, then checks dirty runs.
//  Returns the number of events those made.
int zf_core_end (zf_engine_t *self);

//  An event with every field at its "absent" value.
void zf_core_event_init (zf_event_t *event, int kind);

//  --- zf_plan.c

//  Derives a version from a parsed flow (taking it). NULL if out of memory.
zf_version_t *zf_plan_new (zf_flow_t *def, uint32_t number);
void zf_plan_destroy (zf_version_t **self_p);

//  Total shards of a flow's run, for the limit check.
uint64_t zf_plan_shards (const zf_flow_t *def);

//  --- zf_queues.c

void zf_ring_init (zf_ring_t *self, size_t item_size);
void zf_ring_destroy (zf_ring_t *self);
int zf_ring_push (zf_ring_t *self, const void *item);
void *zf_ring_peek (zf_ring_t *self);
void *zf_ring_at (zf_ring_t *self, size_t index);
void zf_ring_pop (zf_ring_t *self);

//  Removes ready entries that no longer name a ready shard, keeping order,
//  once stale entries outnumber live ones.
void zf_core_ready_compact (zf_engine_t *self);

//  True if the entry still names a ready shard.
bool zf_core_entry_live (zf_engine_t *self, const zf_qentry_t *entry);

//  --- zf_timers.c

void zf_heap_destroy (zf_heap_t *self);
int zf_heap_push (zf_heap_t *self, const zf_timer_t *timer);
const zf_timer_t *zf_heap_top (zf_heap_t *self);
void zf_heap_pop (zf_heap_t *self);

//  True if a timer still means something: its target is still waiting for it.
bool zf_core_timer_live (zf_engine_t *self, const zf_timer_t *timer);

//  --- zf_runs.c: finding things

//  The flow of that name, or NULL.
zf_flowent_t *zf_core_flow (zf_engine_t *self, const char *name);

//  The run of flow on date (ZF_DATE_NONE: the latest), or NULL.
zf_run_t *zf_core_run (zf_engine_t *self, zf_flowent_t *flow, zf_date_t date);

//  Finds flow, run and task by name for an action, recording an error. An
//  archived run is ZF_E_ARCHIVED, with *run_out set all the same.
int zf_core_find (zf_engine_t *self, const char *flow, zf_date_t date, const char *task,
                  zf_flowent_t **flow_out, zf_run_t **run_out, int32_t *task_out);

//  Checks a shard argument against task t of run: ZF_SHARD_WHOLE, an index
//  (0 also for an unsharded task) or ZF_SHARD_SOLE (an unsharded task's
//  only). Sets *shard_out to the index, or ZF_SHARD_WHOLE for the whole task
//  or an unsharded one: inside the engine, as in events, an unsharded task's
//  one shard is the whole task. 0 or an error.
int zf_core_shard_arg (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t shard,
                       int32_t *shard_out);

//  The shard a key names for shard i of a task with count shards: the
//  index, or ZF_SHARD_SOLE for an unsharded task (keys leave the engine so).
int32_t zf_core_key_shard (uint32_t count, uint32_t i);

//  The shards of task t of run, and how many.
zf_shard_t *zf_core_shards (zf_run_t *run, uint32_t t, uint32_t *count_out);

//  True if task t of run is sharded (events name shards by index).
bool zf_core_sharded (zf_run_t *run, uint32_t t);

//  The instant of the not_before of task t on the run's date, or 0 if none.
int64_t zf_core_not_before (zf_run_t *run, uint32_t t);

//  The instant at which date begins in the zone of def.
int64_t zf_core_begins (const zf_flow_t *def, zf_date_t date);

//  Creates a run (the fold of a RUN event that opens one). NULL if out of memory.
zf_run_t *zf_core_run_new (zf_engine_t *self, zf_flowent_t *flow, zf_version_t *ver,
                           zf_date_t date);

//  Frees a run.
void zf_core_run_free (zf_run_t *run);

//  Archives a run that succeeded (the fold of its RUN archived event): frees
//  its tasks, shards and waiters, keeping what the run itself says.
void zf_core_run_archive (zf_engine_t *self, zf_run_t *run);

//  Wires up the earlier-date dependencies of a new run.
ZF_MUST_USE int zf_core_cross_open (zf_engine_t *self, zf_run_t *run);

//  Task t of run is done: its same-date successors and its later-date
//  waiters get one dependency fewer.
void zf_core_task_done (zf_engine_t *self, zf_run_t *run, uint32_t t);

//  Only the later-date waiters of task t of run get one dependency fewer.
void zf_core_task_done_waiters (zf_engine_t *self, zf_run_t *run, uint32_t t);

//  --- zf_apply.c: the fold

//  Recomputes task t's summary, flags and the counters that follow from them.
void zf_core_refresh (zf_engine_t *self, zf_run_t *run, uint32_t t);

//  The summary state of shards in these counts.
uint8_t zf_core_summary (const uint32_t *counts, uint32_t shard_count);

//  True for succeeded, confirmed, skipped: the task lets successors go.
static inline bool
zf_core_done (int state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

//  True for dispatched and running.
static inline bool
zf_core_in_flight (int state)
{
    return state == ZF_TS_DISPATCHED || state == ZF_TS_RUNNING;
}

//  Work that is under way or will be: shards ready, in flight, retrying or
//  rolled back, tasks waiting for their time or for an earlier date.
uint64_t zf_core_run_live (const zf_run_t *run);

//  --- zf_decide.c

//  Decides one eligible task: ready, or wait for its not_before, or (built-ins) done.
void zf_core_decide_task (zf_engine_t *self, zf_run_t *run, uint32_t t);

//  Checks whether a run's state must change and makes the RUN event.
void zf_core_check_run (zf_engine_t *self, zf_run_t *run);

//  Opens the run of flow on date with version ver unless it exists; 0, 1 if it
//  existed, or an error.
ZF_MUST_USE int zf_core_open_run (zf_engine_t *self, zf_flowent_t *flow, zf_version_t *ver,
                                  zf_date_t date);

//  Emits events moving a set of shards of task t to state: the shards whose
//  state is in state_mask (bits 1 << state) and whose marks have every bit of
//  need_marks; only one shard if only is an index. One ZF_SHARD_WHOLE event when
//  the set is every shard and they share their attempt, else one per shard.
//  Each event's attempt is the shard's plus attempt_delta; pattern (or NULL)
//  gives value, exit_status, executor and detail. Returns the number of
//  shards moved, or ZF_E_LIMIT.
ZF_MUST_USE int zf_core_emit_shards (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t only,
                                     uint32_t state_mask, uint8_t need_marks, uint8_t state,
                                     uint32_t attempt_delta, const zf_event_t *pattern);

//  Counts the shards zf_core_emit_shards would move.
uint32_t zf_core_count_shards (zf_run_t *run, uint32_t t, int32_t only, uint32_t state_mask,
                               uint8_t need_marks);

//  Refreshes every task of every run, so the end of the decision decides what
//  a previous registry left undecided.
void zf_core_settle_all (zf_engine_t *self);

//  Bit of a state in a state mask.
#define ZF_BIT(state) (1u << (state))

#endif
