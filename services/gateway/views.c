/*  views.c - FLOWDEF, RUNVIEW and TASKVIEW from the engine; what changed. */
#include "views.h"
#include "zf_array.h"
#include "zf_flow.h"
#include "zf_limits.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The names of task kinds, by zf_task_type_t.
static const char *s_kinds[] = {"run", "service", "start", "day_roll"};

void
zf_gw_pack_strn (msgpack_packer *pk, const char *text, size_t size)
{
    msgpack_pack_str (pk, size);
    msgpack_pack_str_body (pk, text, size);
}

void
zf_gw_pack_str (msgpack_packer *pk, const char *text)
{
    if (text)
        zf_gw_pack_strn (pk, text, strlen (text));
    else
        msgpack_pack_nil (pk);
}

void
zf_gw_pack_date (msgpack_packer *pk, zf_date_t date)
{
    char text[ZF_DATE_TEXT];
    zf_gw_pack_str (pk, zf_date_format (date, text, sizeof text));
}

void
zf_gw_view_task (msgpack_packer *pk, const zf_engine_task_info_t *task)
{
    assert (pk && task);
    msgpack_pack_map (pk, 13);
    zf_gw_pack_str (pk, "id");
    zf_gw_pack_str (pk, task->id);
    zf_gw_pack_str (pk, "state");
    zf_gw_pack_str (pk, zf_task_state_name (task->state));
    zf_gw_pack_str (pk, "attempt");
    msgpack_pack_uint32 (pk, task->attempt);
    //  An unsharded task counts as one shard, as in `zflow status --json`.
    zf_gw_pack_str (pk, "shards_total");
    msgpack_pack_uint32 (pk, task->shard_count);
    zf_gw_pack_str (pk, "shards_done");
    msgpack_pack_uint32 (pk, task->shards_done);
    zf_gw_pack_str (pk, "shards_failed");
    msgpack_pack_uint32 (pk, task->shards_failed);
    zf_gw_pack_str (pk, "shards_running");
    msgpack_pack_uint32 (pk, task->shards_running);
    zf_gw_pack_str (pk, "started");
    msgpack_pack_int64 (pk, task->started);
    zf_gw_pack_str (pk, "ended");
    msgpack_pack_int64 (pk, task->ended);
    zf_gw_pack_str (pk, "executor");
    zf_gw_pack_str (pk, task->executor);
    zf_gw_pack_str (pk, "exit_status");
    msgpack_pack_int32 (pk, task->exit_status);
    zf_gw_pack_str (pk, "detail");
    zf_gw_pack_str (pk, task->detail);
    zf_gw_pack_str (pk, "due");
    msgpack_pack_int64 (pk, task->due);
}

void
zf_gw_view_run_fields (msgpack_packer *pk, const zf_engine_run_info_t *run)
{
    assert (pk && run);
    zf_gw_pack_str (pk, "flow");
    zf_gw_pack_str (pk, run->flow);
    zf_gw_pack_str (pk, "date");
    zf_gw_pack_date (pk, run->date);
    zf_gw_pack_str (pk, "version");
    msgpack_pack_uint32 (pk, run->version);
    zf_gw_pack_str (pk, "state");
    zf_gw_pack_str (pk, zf_run_state_name (run->state));
    zf_gw_pack_str (pk, "paused");
    if (run->paused)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    zf_gw_pack_str (pk, "started");
    msgpack_pack_int64 (pk, run->started);
    zf_gw_pack_str (pk, "ended");
    msgpack_pack_int64 (pk, run->ended);
    //  Only on an archived run, so the RUNVIEW of every other run stays as
    //  it was: a browser reads an absent "archived" as false.
    if (run->archived) {
        zf_gw_pack_str (pk, "archived");
        msgpack_pack_true (pk);
    }
}

uint32_t
zf_gw_run_fields (bool archived)
{
    return ZF_GW_RUN_FIELDS + (archived ? 1 : 0);
}

//  True for the states that count a shard done.
static bool
s_done (uint8_t state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

void
zf_gw_view_task_status (msgpack_packer *pk, const zf_task_status_t *status)
{
    assert (pk && status);
    //  The STATUS view of a task differs from the engine's in two ways: an
    //  unsharded task reports 0 shards, and running shards are not counted.
    bool sharded = status->shards_total > 0;
    uint8_t state = status->state <= ZF_TS_MAX ? status->state : ZF_TS_WAITING;
    zf_engine_task_info_t task = {
        .id = status->id ? status->id : "",
        .state = state,
        .attempt = status->attempt,
        .shard_count = sharded ? status->shards_total : 1,
        .sharded = sharded,
        .shards_done = sharded ? status->shards_done : s_done (state),
        .shards_failed = sharded ? status->shards_failed : state == ZF_TS_FAILED,
        .shards_running = !sharded && (state == ZF_TS_DISPATCHED || state == ZF_TS_RUNNING) ? 1 : 0,
        .started = status->started,
        .ended = status->ended,
        .executor = status->executor,
        .exit_status = status->exit_status,
        .detail = status->detail,
    };
    zf_gw_view_task (pk, &task);
}

//  Packs one task of a flow definition.
static void
s_flow_task (msgpack_packer *pk, const zf_flow_t *def, const zf_flow_task_t *task)
{
    msgpack_pack_map (pk, 8);
    zf_gw_pack_str (pk, "id");
    zf_gw_pack_str (pk, task->id);
    zf_gw_pack_str (pk, "kind");
    zf_gw_pack_str (pk, (unsigned)task->type < 4 ? s_kinds[task->type] : "run");
    zf_gw_pack_str (pk, "service");
    zf_gw_pack_str (pk, task->type == ZF_TASK_SERVICE ? task->service : NULL);
    zf_gw_pack_str (pk, "after");
    msgpack_pack_array (pk, task->after_count);
    for (uint32_t i = 0; i < task->after_count; i++) {
        const zf_flow_dep_t *dep = &task->after[i];
        const char *id = dep->task < def->task_count ? def->tasks[dep->task].id : "?";
        if (dep->offset == 0)
            zf_gw_pack_str (pk, id);
        else {
            char text[ZF_MAX_NAME + 16];
            int size = snprintf (text, sizeof text, "%s@-%u", id, (unsigned)dep->offset);
            zf_gw_pack_strn (pk, text, (size_t)size < sizeof text ? (size_t)size : 0);
        }
    }
    bool sharded = task->shard_count > 1 || task->shard_keys != NULL;
    zf_gw_pack_str (pk, "shards");
    msgpack_pack_uint32 (pk, sharded ? task->shard_count : 0);
    zf_gw_pack_str (pk, "shard_keys");
    if (task->shard_keys) {
        msgpack_pack_array (pk, task->shard_count);
        for (uint32_t i = 0; i < task->shard_count; i++)
            zf_gw_pack_str (pk, task->shard_keys[i]);
    } else
        msgpack_pack_nil (pk);
    zf_gw_pack_str (pk, "not_before");
    if (task->not_before >= 0) {
        char text[16];
        zf_gw_pack_str (pk, zf_tod_format (task->not_before, text, sizeof text));
    } else
        msgpack_pack_nil (pk);
    zf_gw_pack_str (pk, "speculative");
    if (task->speculative)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

void
zf_gw_view_flow (msgpack_packer *pk, const zf_engine_flow_info_t *flow)
{
    assert (pk && flow);
    const zf_flow_t *def = flow->latest;
    msgpack_pack_map (pk, 5);
    zf_gw_pack_str (pk, "name");
    zf_gw_pack_str (pk, flow->name);
    zf_gw_pack_str (pk, "version");
    msgpack_pack_uint32 (pk, flow->version);
    zf_gw_pack_str (pk, "paused");
    if (flow->paused)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    zf_gw_pack_str (pk, "timezone");
    zf_gw_pack_str (pk, def ? def->timezone : "UTC");
    zf_gw_pack_str (pk, "tasks");
    msgpack_pack_array (pk, def ? def->task_count : 0);
    for (uint32_t i = 0; def && i < def->task_count; i++)
        s_flow_task (pk, def, &def->tasks[i]);
}

void
zf_gw_view_error (msgpack_packer *pk, int64_t time, const char *service, const char *message)
{
    assert (pk);
    zf_gw_pack_str (pk, "time");
    msgpack_pack_int64 (pk, time);
    zf_gw_pack_str (pk, "service");
    zf_gw_pack_str (pk, service ? service : "");
    zf_gw_pack_str (pk, "message");
    zf_gw_pack_str (pk, message ? message : "");
}

void
zf_gw_view_failover (msgpack_packer *pk, const zf_event_t *epoch)
{
    assert (pk);
    assert (epoch && epoch->kind == ZF_EV_EPOCH);
    zf_gw_pack_str (pk, "time");
    msgpack_pack_int64 (pk, epoch->time);
    zf_gw_pack_str (pk, "epoch");
    msgpack_pack_int64 (pk, epoch->value);
    zf_gw_pack_str (pk, "registry");
    zf_gw_pack_str (pk, epoch->executor);
    zf_gw_pack_str (pk, "detail");
    zf_gw_pack_str (pk, epoch->detail);
}

//  ---------------------------------------------------------------------------
//  What changed

//  The marks on one run.
typedef struct {
    char *flow;      //  flow name (a copy)
    zf_date_t date;  //  business date
    bool all;        //  every task is marked
    uint32_t *tasks; //  task indices marked, with repeats, in order
    size_t count;    //  entries in tasks
    size_t cap;      //  room in tasks
} s_run_mark_t;

//  A success not yet confirmed: its task changes when a CONFIRM covers it.
typedef struct {
    uint64_t seq;     //  the seq of the success
    const char *flow; //  flow name (the engine's string)
    zf_date_t date;   //  business date
    uint32_t index;   //  task index
} s_success_t;

struct _zf_gw_changes_t {
    zhashx_t *flow_set;     //  flow names marked -> the same name
    zlistx_t *flows;        //  flow names marked, in order (owned here)
    zhashx_t *run_set;      //  "flow date" -> s_run_mark_t
    zlistx_t *runs;         //  s_run_mark_t, in order (owned here)
    size_t task_count;      //  task marks, with repeats
    s_success_t *successes; //  unconfirmed successes in seq order, from success_head
    size_t success_head;    //  first entry not yet confirmed
    size_t success_count;   //  entries used, from 0
    size_t success_cap;     //  room
    bool failed;            //  a mark or a success found no memory: the marks are incomplete
};

//  Frees a run mark.
static void
s_run_mark_destroy (void **item)
{
    s_run_mark_t *mark = *item;
    if (!mark) return;
    free (mark->flow);
    free (mark->tasks);
    free (mark);
    *item = NULL;
}

zf_gw_changes_t *
zf_gw_changes_new (void)
{
    zf_gw_changes_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->flow_set = zhashx_new ();
    self->flows = zlistx_new ();
    self->run_set = zhashx_new ();
    self->runs = zlistx_new ();
    if (!self->flow_set || !self->flows || !self->run_set || !self->runs) {
        zf_gw_changes_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->flows, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_destructor (self->runs, s_run_mark_destroy);
    return self;
}

void
zf_gw_changes_destroy (zf_gw_changes_t **self_p)
{
    assert (self_p);
    zf_gw_changes_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->flow_set);
    zhashx_destroy (&self->run_set);
    zlistx_destroy (&self->flows);
    zlistx_destroy (&self->runs);
    free (self->successes);
    free (self);
    *self_p = NULL;
}

void
zf_gw_changes_flow (zf_gw_changes_t *self, const char *flow)
{
    assert (self && flow);
    if (zhashx_lookup (self->flow_set, flow)) return;
    char *copy = strdup (flow);
    if (!copy) {
        self->failed = true;
        return;
    }
    zlistx_add_end (self->flows, copy);
    zhashx_insert (self->flow_set, flow, copy);
}

//  The mark of a run, made on first use; NULL (the marks failed) if out of
//  memory.
static s_run_mark_t *
s_run_mark (zf_gw_changes_t *self, const char *flow, zf_date_t date)
{
    char key[ZF_MAX_NAME + 24];
    snprintf (key, sizeof key, "%s %d", flow, (int)date);
    s_run_mark_t *mark = zhashx_lookup (self->run_set, key);
    if (mark) return mark;
    mark = calloc (1, sizeof *mark);
    if (mark) mark->flow = strdup (flow);
    if (!mark || !mark->flow) {
        free (mark);
        self->failed = true;
        return NULL;
    }
    mark->date = date;
    zlistx_add_end (self->runs, mark);
    zhashx_insert (self->run_set, key, mark);
    return mark;
}

void
zf_gw_changes_run (zf_gw_changes_t *self, const char *flow, zf_date_t date, bool all_tasks)
{
    assert (self && flow);
    s_run_mark_t *mark = s_run_mark (self, flow, date);
    if (mark && all_tasks) mark->all = true;
}

void
zf_gw_changes_task (zf_gw_changes_t *self, const char *flow, zf_date_t date, uint32_t index)
{
    assert (self && flow);
    s_run_mark_t *mark = s_run_mark (self, flow, date);
    self->task_count++;
    if (!mark || mark->all) return;
    //  Repeats are kept here and dropped when the views are written: a
    //  burst marks the same task several times, and a set would cost more.
    if (mark->count == mark->cap) {
        if (zf_array_grow ((void **)&mark->tasks, &mark->cap, mark->count + 1,
                           sizeof *mark->tasks) != 0) {
            self->failed = true;
            return;
        }
    }
    mark->tasks[mark->count++] = index;
}

bool
zf_gw_changes_empty (zf_gw_changes_t *self)
{
    assert (self);
    return zlistx_size (self->flows) == 0 && zlistx_size (self->runs) == 0;
}

size_t
zf_gw_changes_task_count (zf_gw_changes_t *self)
{
    assert (self);
    return self->task_count;
}

void
zf_gw_changes_clear (zf_gw_changes_t *self)
{
    assert (self);
    zhashx_purge (self->flow_set);
    zhashx_purge (self->run_set);
    zlistx_purge (self->flows);
    zlistx_purge (self->runs);
    self->task_count = 0;
    self->failed = false;
}

bool
zf_gw_changes_failed (zf_gw_changes_t *self)
{
    assert (self);
    return self->failed;
}

void
zf_gw_changes_reset (zf_gw_changes_t *self)
{
    assert (self);
    zf_gw_changes_clear (self);
    self->success_head = self->success_count = 0;
}

size_t
zf_gw_changes_unconfirmed (zf_gw_changes_t *self)
{
    assert (self);
    return self->success_count - self->success_head;
}

//  Remembers a success until a CONFIRM covers it.
static void
s_success_push (zf_gw_changes_t *self, uint64_t seq, const char *flow, zf_date_t date,
                uint32_t index)
{
    if (self->success_count == self->success_cap) {
        if (self->success_head > self->success_cap / 2) {
            //  Most of the room is confirmed entries: move the rest down.
            memmove (self->successes, self->successes + self->success_head,
                     (self->success_count - self->success_head) * sizeof *self->successes);
            self->success_count -= self->success_head;
            self->success_head = 0;
        } else {
            if (zf_array_grow ((void **)&self->successes, &self->success_cap,
                               self->success_count + 1, sizeof *self->successes) != 0) {
                //  Its confirmation would not show: the views are incomplete.
                self->failed = true;
                return;
            }
        }
    }
    self->successes[self->success_count++] = (s_success_t){seq, flow, date, index};
}

//  Marks the tasks of every success up to seq (they became confirmed).
static void
s_success_confirm (zf_gw_changes_t *self, uint64_t seq)
{
    while (self->success_head < self->success_count &&
           self->successes[self->success_head].seq <= seq) {
        s_success_t *success = &self->successes[self->success_head++];
        zf_gw_changes_task (self, success->flow, success->date, success->index);
    }
    if (self->success_head == self->success_count) self->success_head = self->success_count = 0;
}

//  The run and task index an event names; false if the engine knows neither.
static bool
s_task_of (zf_engine_t *engine, const zf_event_t *event, zf_engine_run_info_t *run, uint32_t *index)
{
    if (!event->flow || !event->task ||
        zf_engine_run_info (engine, event->flow, event->date, run) != 0)
        return false;
    int32_t found = zf_flow_task_index (run->definition, event->task);
    if (found < 0) return false;
    *index = (uint32_t)found;
    return true;
}

//  Marks every run of a flow (its paused flag moved).
static void
s_mark_run (const zf_engine_run_info_t *run, void *arg)
{
    zf_gw_changes_run ((zf_gw_changes_t *)arg, run->flow, run->date, false);
}

void
zf_gw_changes_event (zf_gw_changes_t *self, zf_engine_t *engine, const zf_event_t *event,
                     bool run_existed)
{
    assert (self && engine && event);
    zf_engine_run_info_t run;
    uint32_t index = 0;
    switch (event->kind) {
    case ZF_EV_TASK:
        if (!s_task_of (engine, event, &run, &index)) break;
        if (event->state == ZF_TS_SUCCEEDED)
            s_success_push (self, event->seq, run.flow, event->date, index);
        zf_gw_changes_task (self, run.flow, event->date, index);
        break;
    case ZF_EV_RUN:
        if (event->flow) zf_gw_changes_run (self, event->flow, event->date, !run_existed);
        break;
    case ZF_EV_FLOW:
        if (event->flow) zf_gw_changes_flow (self, event->flow);
        break;
    case ZF_EV_PAUSE:
        if (event->flow) {
            zf_gw_changes_flow (self, event->flow);
            zf_engine_runs (engine, event->flow, s_mark_run, self);
        }
        break;
    case ZF_EV_CONFIRM:
        s_success_confirm (self, (uint64_t)event->value);
        break;
    default:
        break;
    }
}

void
zf_gw_changes_snapshot_item (zf_gw_changes_t *self, zf_engine_t *engine, const zf_event_t *event)
{
    assert (self && engine && event);
    zf_engine_run_info_t run;
    uint32_t index = 0;
    if (event->kind == ZF_EV_TASK && event->state == ZF_TS_SUCCEEDED && event->value > 0 &&
        s_task_of (engine, event, &run, &index))
        s_success_push (self, (uint64_t)event->value, run.flow, event->date, index);
}

//  Orders successes by seq.
static int
s_compare_success (const void *a, const void *b)
{
    uint64_t x = ((const s_success_t *)a)->seq, y = ((const s_success_t *)b)->seq;
    return (x > y) - (x < y);
}

void
zf_gw_changes_snapshot_end (zf_gw_changes_t *self)
{
    assert (self);
    size_t count = self->success_count - self->success_head;
    if (count > 1)
        qsort (self->successes + self->success_head, count, sizeof *self->successes,
               s_compare_success);
}

//  Orders task indices.
static int
s_compare_index (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

//  Appends one flow's FLOWDEF.
static void
s_write_flow (zf_gw_delta_t *delta, const zf_engine_flow_info_t *info)
{
    zf_gw_delta_begin (delta, ZF_GW_OP_FLOW, info->name, 0, 0, 0, false);
    zf_gw_view_flow (zf_gw_delta_pk (delta), info);
    zf_gw_delta_end (delta);
}

//  Appends one run's fields. An archived run holds no task views: its
//  operation says so (flag) and counts none.
static void
s_write_run (zf_gw_delta_t *delta, const zf_engine_run_info_t *run)
{
    zf_gw_delta_begin (delta, ZF_GW_OP_RUN, run->flow, run->date,
                       run->archived ? 0 : run->task_count, run->state, run->archived);
    zf_gw_view_run_fields (zf_gw_delta_pk (delta), run);
    zf_gw_delta_end (delta);
}

//  Appends one task's TASKVIEW (after its run).
static void
s_write_task (zf_engine_t *engine, zf_gw_delta_t *delta, const zf_engine_run_info_t *run,
              uint32_t index)
{
    zf_engine_task_info_t task;
    if (zf_engine_task_info (engine, run->flow, run->date, index, &task) != 0) return;
    zf_gw_delta_begin (delta, ZF_GW_OP_TASK, NULL, 0, index, task.state, false);
    zf_gw_view_task (zf_gw_delta_pk (delta), &task);
    zf_gw_delta_end (delta);
}

void
zf_gw_views_write_changes (zf_engine_t *engine, zf_gw_changes_t *changes, zf_gw_delta_t *delta)
{
    assert (engine && changes && delta);
    for (const char *flow = zlistx_first (changes->flows); flow;
         flow = zlistx_next (changes->flows)) {
        zf_engine_flow_info_t info;
        if (zf_engine_flow_info (engine, flow, &info) == 0) s_write_flow (delta, &info);
    }
    for (s_run_mark_t *mark = zlistx_first (changes->runs); mark;
         mark = zlistx_next (changes->runs)) {
        zf_engine_run_info_t run;
        if (zf_engine_run_info (engine, mark->flow, mark->date, &run) != 0) continue;
        s_write_run (delta, &run);
        //  Its tasks left the engine; marks made before it was archived
        //  (in the same batch) have nothing left to show.
        if (run.archived) continue;
        if (mark->all) {
            for (uint32_t i = 0; i < run.task_count; i++)
                s_write_task (engine, delta, &run, i);
            continue;
        }
        if (mark->count > 1) qsort (mark->tasks, mark->count, sizeof *mark->tasks, s_compare_index);
        for (size_t i = 0; i < mark->count; i++)
            if ((i == 0 || mark->tasks[i] != mark->tasks[i - 1]) && mark->tasks[i] < run.task_count)
                s_write_task (engine, delta, &run, mark->tasks[i]);
    }
    zf_gw_changes_clear (changes);
}

//  What writing everything needs in the callbacks.
typedef struct {
    zf_engine_t *engine;  //  the engine
    zf_gw_delta_t *delta; //  where the views go
} s_all_t;

//  Appends one run and all its tasks.
static void
s_all_run (const zf_engine_run_info_t *run, void *arg)
{
    s_all_t *all = arg;
    s_write_run (all->delta, run);
    for (uint32_t i = 0; !run->archived && i < run->task_count; i++)
        s_write_task (all->engine, all->delta, run, i);
}

//  Appends one flow, then its runs.
static void
s_all_flow (const zf_engine_flow_info_t *info, void *arg)
{
    s_all_t *all = arg;
    s_write_flow (all->delta, info);
    zf_engine_runs (all->engine, info->name, s_all_run, all);
}

void
zf_gw_views_write_all (zf_engine_t *engine, zf_gw_delta_t *delta)
{
    assert (engine && delta);
    s_all_t all = {engine, delta};
    zf_engine_flows (engine, s_all_flow, &all);
}
