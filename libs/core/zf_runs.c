/*  zf_runs.c - runs: finding them, opening them, and the cross-date rules.

    A dependency x@-N of task t, on the run of date D, names task x of the run
    on the N-th business date before D (by the calendar of D's version). It is
    met when that date lies before the run's horizon (the earliest date the
    flow had a run for when D was opened, D included) - so the very first run
    never waits for history it does not have - and otherwise when x of that
    run has succeeded or been skipped. An unmet one is a waiter: on the
    earlier run if it is open (filed under x, so x's completion touches only
    its own waiters), or in the flow's pending list until that run opens.

    An archived run succeeded, so every dependency on it is met. Archiving
    frees a run's tasks and shards: whatever still refers to it by id (a
    stale queue entry, a timer, a waiter it filed on an earlier run for a
    task that was skipped) finds it archived and lets it be.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Returns the flow of that name, or NULL.
zf_flowent_t *
zf_core_flow (zf_engine_t *self, const char *name)
{
    if (!name) return NULL;
    uint32_t id = zf_intern_find (self->flow_names, name);
    return id ? self->flows[id - 1] : NULL;
}

//  Index in flow->by_date of the first run with a date >= date.
static size_t
s_date_slot (zf_flowent_t *flow, zf_date_t date)
{
    size_t low = 0, high = flow->run_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (flow->by_date[middle].date < date)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

//  Returns the run of flow on date, or the latest run for ZF_DATE_NONE.
zf_run_t *
zf_core_run (zf_engine_t *self, zf_flowent_t *flow, zf_date_t date)
{
    if (!flow || flow->run_count == 0) return NULL;
    if (date == ZF_DATE_NONE) return self->runs[flow->by_date[flow->run_count - 1].run];
    size_t slot = s_date_slot (flow, date);
    if (slot < flow->run_count && flow->by_date[slot].date == date)
        return self->runs[flow->by_date[slot].run];
    return NULL;
}

//  Finds flow, run and task by name, recording an error if one is missing.
int
zf_core_find (zf_engine_t *self, const char *flow, zf_date_t date, const char *task,
              zf_flowent_t **flow_out, zf_run_t **run_out, int32_t *task_out)
{
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s", flow ? flow : "(none)");
    zf_run_t *run = zf_core_run (self, entry, date);
    if (!run) {
        if (date == ZF_DATE_NONE)
            return zf_core_fail (self, ZF_E_UNKNOWN_RUN, "flow %s has no runs", flow);
        char text[ZF_DATE_TEXT];
        return zf_core_fail (self, ZF_E_UNKNOWN_RUN, "flow %s has no run on %s", flow,
                             zf_date_format (date, text, sizeof (text)));
    }
    if (flow_out) *flow_out = entry;
    if (run_out) *run_out = run;
    if (run->archived) {
        char text[ZF_DATE_TEXT];
        return zf_core_fail (self, ZF_E_ARCHIVED, "the run of %s on %s succeeded and is archived",
                             flow, zf_date_format (run->date, text, sizeof (text)));
    }
    if (task_out) {
        int32_t index = task ? zf_flow_task_index (run->ver->def, task) : -1;
        if (index < 0)
            return zf_core_fail (self, ZF_E_UNKNOWN_TASK, "flow %s version %u has no task %s", flow,
                                 run->ver->number, task ? task : "(none)");
        *task_out = index;
    }
    return 0;
}

//  Returns the shards of task t of run.
zf_shard_t *
zf_core_shards (zf_run_t *run, uint32_t t, uint32_t *count_out)
{
    const uint32_t *offset = run->ver->offset;
    *count_out = offset[t + 1] - offset[t];
    return run->shards + offset[t];
}

//  True if task t of run names its shards by index in events.
bool
zf_core_sharded (zf_run_t *run, uint32_t t)
{
    return run->ver->offset[t + 1] - run->ver->offset[t] > 1;
}

//  Checks a shard argument against task t.
int
zf_core_shard_arg (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t shard, int32_t *shard_out)
{
    uint32_t count = run->ver->offset[t + 1] - run->ver->offset[t];
    if (shard == ZF_SHARD_WHOLE || (count == 1 && (shard == 0 || shard == ZF_SHARD_SOLE))) {
        *shard_out = ZF_SHARD_WHOLE;
        return 0;
    }
    if (shard == ZF_SHARD_SOLE)
        return zf_core_fail (self, ZF_E_UNKNOWN_TASK, "task %s has %u shards: name one",
                             run->ver->def->tasks[t].id, count);
    if (shard < 0 || (uint32_t)shard >= count)
        return zf_core_fail (self, ZF_E_UNKNOWN_TASK, "task %s has no shard %d (it has %u)",
                             run->ver->def->tasks[t].id, (int)shard, count);
    *shard_out = count == 1 ? ZF_SHARD_WHOLE : shard;
    return 0;
}

//  The shard a key names for shard i of a task with count shards.
int32_t
zf_core_key_shard (uint32_t count, uint32_t i)
{
    return count > 1 ? (int32_t)i : ZF_SHARD_SOLE;
}

//  The instant date begins in the zone of def.
int64_t
zf_core_begins (const zf_flow_t *def, zf_date_t date)
{
    return zf_tz_instant (def->timezone, date, 0);
}

//  The instant of task t's not_before on the run's date, converted once per
//  distinct time of day and run (zone conversions take a process-wide lock).
int64_t
zf_core_not_before (zf_run_t *run, uint32_t t)
{
    int32_t slot = run->ver->nb_slot[t];
    if (slot < 0) return 0;
    if (run->nb_instants[slot] == 0)
        run->nb_instants[slot] =
            zf_tz_instant (run->ver->def->timezone, run->date, run->ver->nb_minutes[slot]);
    return run->nb_instants[slot];
}

//  Frees what a run holds of its tasks and shards, and NULLs it.
static void
s_free_tasks (zf_run_t *run)
{
    uint64_t total = run->shards ? run->ver->shard_total : 0;
    for (uint64_t i = 0; i < total; i++)
        free (run->shards[i].detail);
    free (run->tasks);
    free (run->shards);
    free (run->waiter_head);
    free (run->waiters);
    free (run->nb_instants);
    run->tasks = NULL;
    run->shards = NULL;
    run->waiter_head = NULL;
    run->waiters = NULL;
    run->nb_instants = NULL;
    run->waiter_count = run->waiter_capacity = 0;
}

//  Frees a run.
void
zf_core_run_free (zf_run_t *run)
{
    if (!run) return;
    s_free_tasks (run);
    free (run);
}

//  Creates a run with every task waiting and the counters to match.
zf_run_t *
zf_core_run_new (zf_engine_t *self, zf_flowent_t *flow, zf_version_t *ver, zf_date_t date)
{
    zf_run_t *run = calloc (1, sizeof (zf_run_t));
    if (!run) return NULL;
    uint32_t n = ver->def->task_count;
    run->flow = flow;
    run->ver = ver;
    run->date = date;
    run->tasks = calloc (n ? n : 1, sizeof (zf_tinst_t));
    run->shards = calloc (ver->shard_total ? ver->shard_total : 1, sizeof (zf_shard_t));
    run->nb_instants = calloc (ver->nb_count + 1, sizeof (int64_t));
    if (!run->tasks || !run->shards || !run->nb_instants) {
        free (run->tasks);
        free (run->shards);
        free (run->nb_instants);
        free (run);
        return NULL;
    }
    for (uint32_t t = 0; t < n; t++) {
        zf_tinst_t *ti = &run->tasks[t];
        ti->counts[ZF_TS_WAITING] = ver->offset[t + 1] - ver->offset[t];
        ti->unmet = ver->indegree[t];
        ti->summary = ZF_TS_WAITING;
    }
    run->tsum[ZF_TS_WAITING] = n;
    run->ssum[ZF_TS_WAITING] = ver->shard_total;
    //  The horizon: the earliest date this flow has a run for, this one included.
    run->horizon = flow->run_count && flow->by_date[0].date < date ? flow->by_date[0].date : date;
    return run;
}

//  Files a waiter on task x of an open run.
static int
s_add_waiter (zf_run_t *earlier, uint32_t x, uint32_t run, uint32_t task)
{
    if (!earlier->waiter_head) {
        earlier->waiter_head = calloc (earlier->ver->def->task_count + 1, sizeof (uint32_t));
        if (!earlier->waiter_head) return -1;
    }
    if (zf_array_grow ((void **)&earlier->waiters, &earlier->waiter_capacity,
                       earlier->waiter_count + 1, sizeof (zf_waiter_t)))
        return -1;
    zf_waiter_t *waiter = &earlier->waiters[earlier->waiter_count++];
    waiter->run = run;
    waiter->task = task;
    waiter->next = earlier->waiter_head[x];
    earlier->waiter_head[x] = (uint32_t)earlier->waiter_count;
    return 0;
}

//  Resolves a dependency on task id of an open earlier run: true if it is
//  met already, false if a waiter was filed. -1 if out of memory.
static int
s_wait_on (zf_run_t *earlier, const char *id, uint32_t run, uint32_t task)
{
    int32_t x = zf_flow_task_index (earlier->ver->def, id);
    //  A version of the earlier date without that task has nothing to wait for.
    if (x < 0 || zf_core_done (earlier->tasks[x].summary)) return 1;
    return s_add_waiter (earlier, (uint32_t)x, run, task) ? -1 : 0;
}

//  Wires up a new run's earlier-date dependencies, and hands it the waiters
//  that later runs filed for its date before it was open.
int
zf_core_cross_open (zf_engine_t *self, zf_run_t *run)
{
    zf_flowent_t *flow = run->flow;
    zf_version_t *ver = run->ver;
    //  Later runs waiting for this date: move them onto this run. An entry
    //  that cannot move (out of memory) stays pending, so none is lost.
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < flow->pending_count; i++) {
        zf_pending_t pending = flow->pending[i];
        int met = 0;
        if (pending.date == run->date && rc == 0)
            met = s_wait_on (run, pending.dep, pending.run, pending.task);
        if (pending.date != run->date || rc || met < 0) {
            rc = met < 0 ? -1 : rc;
            flow->pending[kept++] = pending;
            continue;
        }
        if (met && !self->runs[pending.run]->archived) {
            zf_run_t *later = self->runs[pending.run];
            later->tasks[pending.task].cross_unmet--;
            zf_core_refresh (self, later, pending.task);
        }
    }
    flow->pending_count = kept;
    if (rc) return rc;
    //  This run's own dependencies on earlier dates.
    for (uint32_t t = 0; t < ver->def->task_count; t++) {
        for (uint32_t i = ver->cross_start[t]; i < ver->cross_start[t + 1]; i++) {
            const zf_flow_dep_t *dep = &ver->cross[i];
            zf_date_t date = zf_flow_prev_business_date (ver->def, run->date, dep->offset);
            if (date == ZF_FLOW_NO_DATE || date < run->horizon) continue;
            const char *id = ver->def->tasks[dep->task].id;
            zf_run_t *earlier = zf_core_run (self, flow, date);
            int met = 1;
            if (earlier && !earlier->archived)
                met = s_wait_on (earlier, id, run->id, t);
            else if (earlier)
                met = 1;
            else {
                if (zf_array_grow ((void **)&flow->pending, &flow->pending_capacity,
                                   flow->pending_count + 1, sizeof (zf_pending_t)))
                    return -1;
                zf_pending_t *pending = &flow->pending[flow->pending_count++];
                pending->date = date;
                pending->run = run->id;
                pending->task = t;
                pending->dep = id;
                met = 0;
            }
            if (met < 0) return -1;
            if (!met) run->tasks[t].cross_unmet++;
        }
        zf_core_refresh (self, run, t);
    }
    return 0;
}

//  Task t of run is done: touch its same-date successors and the later runs'
//  tasks waiting for it, nothing else.
void
zf_core_task_done (zf_engine_t *self, zf_run_t *run, uint32_t t)
{
    zf_version_t *ver = run->ver;
    for (uint32_t i = ver->succ_start[t]; i < ver->succ_start[t + 1]; i++) {
        uint32_t s = ver->succ[i];
        assert (run->tasks[s].unmet > 0);
        run->tasks[s].unmet--;
        zf_core_refresh (self, run, s);
    }
    zf_core_task_done_waiters (self, run, t);
}

//  The later runs' tasks waiting for task t of run get one dependency fewer.
void
zf_core_task_done_waiters (zf_engine_t *self, zf_run_t *run, uint32_t t)
{
    if (!run->waiter_head || !run->waiter_head[t]) return;
    uint32_t next = run->waiter_head[t];
    run->waiter_head[t] = 0;
    while (next) {
        zf_waiter_t *waiter = &run->waiters[next - 1];
        next = waiter->next;
        zf_run_t *later = self->runs[waiter->run];
        if (later->archived) continue;
        assert (later->tasks[waiter->task].cross_unmet > 0);
        later->tasks[waiter->task].cross_unmet--;
        zf_core_refresh (self, later, waiter->task);
    }
}

//  Archives a run: later runs still waiting for its tasks (a snapshot opens
//  an archived run with its tasks waiting, after later runs filed waiters on
//  it) are released as if each task just ended, its own pending entries go,
//  and its tasks, shards and waiters are freed.
void
zf_core_run_archive (zf_engine_t *self, zf_run_t *run)
{
    if (run->archived) return;
    if (run->waiter_head)
        for (uint32_t t = 0; t < run->ver->def->task_count; t++)
            if (run->waiter_head[t]) zf_core_task_done_waiters (self, run, t);
    zf_flowent_t *flow = run->flow;
    size_t kept = 0;
    for (size_t i = 0; i < flow->pending_count; i++)
        if (flow->pending[i].run != run->id) flow->pending[kept++] = flow->pending[i];
    flow->pending_count = kept;
    s_free_tasks (run);
    memset (run->tsum, 0, sizeof run->tsum);
    memset (run->ssum, 0, sizeof run->ssum);
    run->timer_tasks = run->cross_tasks = 0;
    run->archived = true;
    self->archived_runs++;
    self->shard_total -= run->ver->shard_total;
}
