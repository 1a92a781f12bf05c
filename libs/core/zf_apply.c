/*  zf_apply.c - the fold: the one place where state changes.

    zf_engine_apply() takes an event from a decision of this engine or from
    the bus and changes flows, runs, task instances and shards, keeping every
    derived structure in step: per-task shard counts and summaries, per-run
    counts, same-date and earlier-date dependency counters, the ready queue,
    the timer heap and the success list. Replicas therefore hold exactly what
    the deciding engine holds and can take over decisions at once.

    Each event is checked in full before anything changes, so a bad event
    (an unknown name, a shard out of range, a transition the state machine
    has not got) is refused with state untouched. Snapshot events (seq 0,
    between zf_engine_restore_begin and _end) are records rather than
    transitions: they set a shard's fields as they are, with the extra fields
    docs/CORE.md lists.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Summary of a task's shards: the state that matters most to an operator.
uint8_t
zf_core_summary (const uint32_t *counts, uint32_t shard_count)
{
    static const uint8_t order[] = {ZF_TS_FAILED,    ZF_TS_RUNNING, ZF_TS_DISPATCHED,
                                    ZF_TS_RETRYING,  ZF_TS_READY,   ZF_TS_ROLLED_BACK,
                                    ZF_TS_CANCELLED, ZF_TS_WAITING};
    for (size_t i = 0; i < sizeof (order); i++)
        if (counts[order[i]]) return order[i];
    //  Every shard is done.
    if (counts[ZF_TS_SKIPPED] == shard_count) return ZF_TS_SKIPPED;
    return counts[ZF_TS_SUCCEEDED] ? ZF_TS_SUCCEEDED : ZF_TS_CONFIRMED;
}

//  Work of the run that is under way or will be.
uint64_t
zf_core_run_live (const zf_run_t *run)
{
    return run->ssum[ZF_TS_READY] + run->ssum[ZF_TS_DISPATCHED] + run->ssum[ZF_TS_RUNNING] +
           run->ssum[ZF_TS_RETRYING] + run->ssum[ZF_TS_ROLLED_BACK] + run->timer_tasks +
           run->cross_tasks;
}

//  Notes a run for the decider to check at the end of the decision.
static void
s_mark_dirty (zf_engine_t *self, zf_run_t *run)
{
    if (!self->deciding || run->dirty) return;
    if (zf_array_grow ((void **)&self->dirty, &self->dirty_capacity, self->dirty_count + 1,
                       sizeof (uint32_t)))
        return; //  settle () finds what this misses
    self->dirty[self->dirty_count++] = run->id;
    run->dirty = true;
}

//  Recomputes task t's summary and flags, and what follows from them: run
//  counts, successors when it is done, and eligibility for the decider.
void
zf_core_refresh (zf_engine_t *self, zf_run_t *run, uint32_t t)
{
    zf_tinst_t *ti = &run->tasks[t];
    uint32_t count = run->ver->offset[t + 1] - run->ver->offset[t];
    uint8_t summary = zf_core_summary (ti->counts, count);
    uint8_t old = ti->summary;
    if (summary != old) {
        run->tsum[old]--;
        run->tsum[summary]++;
        ti->summary = summary;
        if (!zf_core_done (old) && zf_core_done (summary)) zf_core_task_done (self, run, t);
    }
    bool waiting = ti->counts[ZF_TS_WAITING] > 0;
    if (!waiting && (ti->flags & ZF_TI_TIMER)) {
        ti->flags &= ~ZF_TI_TIMER;
        ti->due = 0;
        run->timer_tasks--;
    }
    bool cross = waiting && ti->unmet == 0 && ti->cross_unmet > 0 && !(ti->flags & ZF_TI_TIMER);
    if (cross != !!(ti->flags & ZF_TI_CROSS)) {
        ti->flags ^= ZF_TI_CROSS;
        if (cross)
            run->cross_tasks++;
        else
            run->cross_tasks--;
    }
    if (self->deciding) {
        s_mark_dirty (self, run);
        if (waiting && ti->unmet == 0 && ti->cross_unmet == 0 && run->begun &&
            !(ti->flags & (ZF_TI_TIMER | ZF_TI_ELIGIBLE)) &&
            zf_array_grow ((void **)&self->eligible, &self->eligible_capacity,
                           self->eligible_count + 1, sizeof (zf_tref_t)) == 0) {
            ti->flags |= ZF_TI_ELIGIBLE;
            self->eligible[self->eligible_count].run = run->id;
            self->eligible[self->eligible_count].task = t;
            self->eligible_count++;
        }
    }
}

//  Moves a shard to a new state, keeping every count in step.
static inline void
s_move (zf_engine_t *self, zf_run_t *run, zf_tinst_t *ti, zf_shard_t *shard, uint8_t state)
{
    uint8_t old = shard->state;
    ti->counts[old]--;
    ti->counts[state]++;
    run->ssum[old]--;
    run->ssum[state]++;
    self->ready_shards += (state == ZF_TS_READY) - (old == ZF_TS_READY);
    self->inflight_shards += zf_core_in_flight (state) - zf_core_in_flight (old);
    self->unconfirmed += (state == ZF_TS_SUCCEEDED) - (old == ZF_TS_SUCCEEDED);
    shard->state = state;
}

//  The id of an executor name, remembering the last one (results come in
//  runs from the same executor).
static uint32_t
s_executor (zf_engine_t *self, const char *name)
{
    if (!name || !*name) return 0;
    if (self->exec_cache) {
        const char *last = zf_intern_str (self->executors, self->exec_cache);
        if (strcmp (last, name) == 0) return self->exec_cache;
    }
    uint32_t id = zf_intern_add (self->executors, name);
    if (id) self->exec_cache = id;
    return id;
}

//  Replaces a shard's detail with a bounded copy of text (or none).
static void
s_set_detail (zf_shard_t *shard, const char *text)
{
    free (shard->detail);
    shard->detail = text && *text ? strndup (text, ZF_MAX_TEXT) : NULL;
}

//  --------------------------------------------------------------------------
//  FLOW, PAUSE, CONFIRM, EPOCH

//  A new version of a flow (a new flow at version 1).
static int
s_apply_flow (zf_engine_t *self, const zf_event_t *ev)
{
    if (!ev->flow || !ev->text)
        return zf_core_fail (self, ZF_E_INVALID, "flow event without a name or text");
    zf_flowent_t *flow = zf_core_flow (self, ev->flow);
    uint32_t expected = flow ? flow->version_count + 1 : 1;
    if (ev->version != expected)
        return zf_core_fail (self, ZF_E_INVALID, "flow %s: version %u where %u comes next",
                             ev->flow, ev->version, expected);
    zf_flow_t *def = NULL;
    if (self->pending_flow && self->pending_flow->text == ev->text) {
        def = self->pending_flow;
        self->pending_flow = NULL;
    } else
        def = zf_flow_parse (ev->text, ev->text_size, ev->detail ? ev->detail : "<input>", NULL);
    if (!def)
        return zf_core_fail (self, ZF_E_INVALID, "flow %s version %u does not parse", ev->flow,
                             ev->version);
    if (strcmp (def->name, ev->flow) != 0) {
        zf_core_fail (self, ZF_E_INVALID, "flow event for %s carries flow %s", ev->flow, def->name);
        zf_flow_destroy (&def);
        return ZF_E_INVALID;
    }
    if (zf_plan_shards (def) > ZF_MAX_RUN_SHARDS) {
        zf_flow_destroy (&def);
        return zf_core_fail (self, ZF_E_LIMIT, "a run of flow %s exceeds ZF_MAX_RUN_SHARDS (%d)",
                             ev->flow, ZF_MAX_RUN_SHARDS);
    }
    if (!flow) {
        if (zf_array_grow ((void **)&self->flows, &self->flow_capacity, self->flow_count + 1,
                           sizeof (zf_flowent_t *)) ||
            !(flow = calloc (1, sizeof (zf_flowent_t)))) {
            zf_flow_destroy (&def);
            return zf_core_fail (self, ZF_E_LIMIT, "out of memory for flow %s", ev->flow);
        }
        uint32_t id = zf_intern_add (self->flow_names, ev->flow);
        if (id != self->flow_count + 1) {
            free (flow);
            zf_flow_destroy (&def);
            return zf_core_fail (self, ZF_E_LIMIT, "out of memory for flow %s", ev->flow);
        }
        flow->id = (uint32_t)self->flow_count;
        flow->name = zf_intern_str (self->flow_names, id);
        zf_ring_init (&flow->parked, sizeof (zf_qentry_t));
        self->flows[self->flow_count++] = flow;
    }
    zf_version_t *ver = NULL;
    size_t capacity = flow->version_capacity;
    if (zf_array_grow ((void **)&flow->versions, &capacity, flow->version_count + 1,
                       sizeof (zf_version_t *)) ||
        !(ver = zf_plan_new (def, expected))) {
        flow->version_capacity = (uint32_t)capacity;
        zf_flow_destroy (&def);
        return zf_core_fail (self, ZF_E_LIMIT, "out of memory for flow %s", ev->flow);
    }
    flow->version_capacity = (uint32_t)capacity;
    flow->versions[flow->version_count++] = ver;
    return 0;
}

//  Pauses or resumes a flow; work met while it was paused goes back in line.
static int
s_apply_pause (zf_engine_t *self, const zf_event_t *ev)
{
    zf_flowent_t *flow = zf_core_flow (self, ev->flow);
    if (!flow)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s",
                             ev->flow ? ev->flow : "(none)");
    flow->paused = ev->value != 0;
    if (!flow->paused) {
        //  Back to the queue in their old order, behind the work queued meanwhile.
        while (flow->parked.count) {
            if (zf_ring_push (&self->ready, zf_ring_peek (&flow->parked)))
                break; //  out of memory: the rest stay parked until the next resume
            zf_ring_pop (&flow->parked);
        }
    }
    return 0;
}

//  Confirms every success up to the watermark.
static int
s_apply_confirm (zf_engine_t *self, const zf_event_t *ev)
{
    if (ev->value < 0 || (!self->restoring && (uint64_t)ev->value < self->confirmed))
        return zf_core_fail (self, ZF_E_INVALID, "confirm watermark %lld behind %llu",
                             (long long)ev->value, (unsigned long long)self->confirmed);
    if ((uint64_t)ev->value > self->confirmed) self->archive_due = true;
    self->confirmed = (uint64_t)ev->value;
    zf_success_t *entry;
    while ((entry = zf_ring_peek (&self->successes)) && entry->seq <= self->confirmed) {
        zf_run_t *run = self->runs[entry->run];
        if (run->archived) {
            zf_ring_pop (&self->successes);
            continue;
        }
        zf_tinst_t *ti = &run->tasks[entry->task];
        uint32_t count = 0;
        zf_shard_t *shards = zf_core_shards (run, entry->task, &count);
        uint32_t first = entry->shard == ZF_SHARD_WHOLE ? 0 : (uint32_t)entry->shard;
        uint32_t last = entry->shard == ZF_SHARD_WHOLE ? count : first + 1;
        uint32_t task = entry->task;
        zf_ring_pop (&self->successes);
        for (uint32_t i = first; i < last; i++)
            if (shards[i].state == ZF_TS_SUCCEEDED)
                s_move (self, run, ti, &shards[i], ZF_TS_CONFIRMED);
        zf_core_refresh (self, run, task);
    }
    return 0;
}

//  A new registry term.
static int
s_apply_epoch (zf_engine_t *self, const zf_event_t *ev)
{
    if (ev->value < 0 || (!self->restoring && (uint64_t)ev->value <= self->epoch))
        return zf_core_fail (self, ZF_E_INVALID, "epoch %lld does not rise above %llu",
                             (long long)ev->value, (unsigned long long)self->epoch);
    self->epoch = (uint64_t)ev->value;
    return 0;
}

//  --------------------------------------------------------------------------
//  RUN

//  True if a run may go from old to state by a RUN event.
static bool
s_run_transition_ok (const zf_run_t *run, uint8_t state)
{
    if (run->archived) return false;
    switch (run->state) {
    case ZF_RS_SUCCEEDED:
        return state == ZF_RS_ARCHIVED;
    case ZF_RS_WAITING:
        return state == ZF_RS_RUNNING || state == ZF_RS_CANCELLED;
    case ZF_RS_RUNNING:
        return state == ZF_RS_SUCCEEDED || state == ZF_RS_FAILED || state == ZF_RS_CANCELLED;
    case ZF_RS_FAILED:
        return state == ZF_RS_RUNNING || state == ZF_RS_SUCCEEDED || state == ZF_RS_CANCELLED;
    case ZF_RS_CANCELLED:
        return (state == ZF_RS_RUNNING && run->begun) || (state == ZF_RS_WAITING && !run->begun) ||
               state == ZF_RS_SUCCEEDED;
    default:
        return false;
    }
}

//  Sets a run's state and times; a run that begins makes its tasks eligible.
static int
s_run_set_state (zf_engine_t *self, zf_run_t *run, uint8_t state, const zf_event_t *ev)
{
    if (state == ZF_RS_ARCHIVED) {
        //  A snapshot may archive a run it opened a moment ago.
        run->state = ZF_RS_SUCCEEDED;
        zf_core_run_archive (self, run);
        return 0;
    }
    if (state == ZF_RS_SUCCEEDED) {
        run->ended_seq = ev->seq;
        if (ev->seq > self->last_success_seq) self->last_success_seq = ev->seq;
        self->archive_due = true;
    }
    if (state == ZF_RS_WAITING) {
        run->begins = ev->value;
        zf_timer_t timer = {.due = run->begins, .run = run->id, .kind = ZF_TIMER_RUN};
        if (zf_heap_push (&self->timers, &timer))
            return zf_core_fail (self, ZF_E_LIMIT, "out of memory for timers");
    }
    run->state = state;
    bool begins = false;
    if (state == ZF_RS_RUNNING && !run->begun) {
        run->begun = true;
        run->started = ev->time;
        begins = true;
    }
    //  Waiting and running runs have not ended (again).
    run->ended = state == ZF_RS_WAITING || state == ZF_RS_RUNNING ? 0 : ev->time;
    s_mark_dirty (self, run);
    if (begins)
        for (uint32_t t = 0; t < run->ver->def->task_count; t++)
            zf_core_refresh (self, run, t);
    return 0;
}

//  Opens a run, or changes an open run's state.
static int
s_apply_run (zf_engine_t *self, const zf_event_t *ev)
{
    zf_flowent_t *flow = zf_core_flow (self, ev->flow);
    if (!flow)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s",
                             ev->flow ? ev->flow : "(none)");
    if (ev->state > ZF_RS_MAX || ev->date < 0)
        return zf_core_fail (self, ZF_E_INVALID, "run event with state %d, date %d", ev->state,
                             (int)ev->date);
    zf_run_t *run = zf_core_run (self, flow, ev->date);
    if (run) {
        if (run->archived)
            return zf_core_fail (self, ZF_E_ARCHIVED, "run %s/%d is archived", flow->name,
                                 (int)ev->date);
        if (ev->version != run->ver->number)
            return zf_core_fail (self, ZF_E_INVALID, "run %s/%d pinned version %u, not %u",
                                 flow->name, (int)ev->date, run->ver->number, ev->version);
        if (!self->restoring && !s_run_transition_ok (run, ev->state))
            return zf_core_fail (self, ZF_E_INVALID, "run %s/%d cannot go from %s to %s",
                                 flow->name, (int)ev->date, zf_run_state_name (run->state),
                                 zf_run_state_name (ev->state));
        return s_run_set_state (self, run, ev->state, ev);
    }
    if (ev->version < 1 || ev->version > flow->version_count)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "flow %s has no version %u", flow->name,
                             ev->version);
    zf_version_t *ver = flow->versions[ev->version - 1];
    if (!zf_flow_is_business_date (ver->def, ev->date))
        return zf_core_fail (self, ZF_E_INVALID, "%d is not a business date of flow %s",
                             (int)ev->date, flow->name);
    if (ev->state != ZF_RS_WAITING && ev->state != ZF_RS_RUNNING)
        return zf_core_fail (self, ZF_E_INVALID, "a run opens waiting or running, not %s",
                             zf_run_state_name (ev->state));
    self->archive_due = true;
    if (self->run_count >= ZF_MAX_RUNS)
        return zf_core_fail (self, ZF_E_LIMIT, "runs exceed ZF_MAX_RUNS (%d)", ZF_MAX_RUNS);
    if (zf_array_grow ((void **)&self->runs, &self->run_capacity, self->run_count + 1,
                       sizeof (zf_run_t *)) ||
        zf_array_grow ((void **)&flow->by_date, &flow->run_capacity, flow->run_count + 1,
                       sizeof (zf_dated_t)) ||
        !(run = zf_core_run_new (self, flow, ver, ev->date)))
        return zf_core_fail (self, ZF_E_LIMIT, "out of memory for a run of %s", flow->name);
    run->id = (uint32_t)self->run_count;
    self->runs[self->run_count++] = run;
    size_t slot = 0;
    while (slot < flow->run_count && flow->by_date[slot].date < ev->date)
        slot++;
    memmove (&flow->by_date[slot + 1], &flow->by_date[slot],
             (flow->run_count - slot) * sizeof (zf_dated_t));
    flow->by_date[slot].date = ev->date;
    flow->by_date[slot].run = run->id;
    flow->run_count++;
    self->shard_total += ver->shard_total;
    run->state = ZF_RS_WAITING;
    run->begins = ev->value;
    //  Dependencies first, so that beginning sees which tasks can go.
    if (zf_core_cross_open (self, run))
        return zf_core_fail (self, ZF_E_LIMIT, "out of memory for the run of %s", flow->name);
    return s_run_set_state (self, run, ev->state, ev);
}

//  --------------------------------------------------------------------------
//  TASK

//  Finds the run and task an event names: the decider's hint first (its
//  events carry the engine's own strings), then by name.
static int
s_resolve (zf_engine_t *self, const zf_event_t *ev, zf_run_t **run_out, uint32_t *task_out)
{
    zf_run_t *run = self->hint_run;
    if (run && ev->flow == run->flow->name && ev->date == run->date &&
        ev->task == run->ver->def->tasks[self->hint_task].id) {
        *run_out = run;
        *task_out = self->hint_task;
        return 0;
    }
    zf_flowent_t *flow = zf_core_flow (self, ev->flow);
    if (!flow)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s",
                             ev->flow ? ev->flow : "(none)");
    run = zf_core_run (self, flow, ev->date);
    if (!run || ev->date < 0)
        return zf_core_fail (self, ZF_E_UNKNOWN_RUN, "flow %s has no run on day %d", flow->name,
                             (int)ev->date);
    if (run->archived)
        return zf_core_fail (self, ZF_E_ARCHIVED, "run %s/%d is archived", flow->name,
                             (int)ev->date);
    int32_t t = ev->task ? zf_flow_task_index (run->ver->def, ev->task) : -1;
    if (t < 0)
        return zf_core_fail (self, ZF_E_UNKNOWN_TASK, "flow %s version %u has no task %s",
                             flow->name, run->ver->number, ev->task ? ev->task : "(none)");
    *run_out = run;
    *task_out = (uint32_t)t;
    return 0;
}

//  True if a shard may make the transition an event asks for.
static bool
s_transition_ok (const zf_shard_t *shard, const zf_event_t *ev, bool builtin)
{
    uint8_t old = shard->state;
    uint32_t a = ev->attempt, sa = shard->attempt;
    bool in_flight = zf_core_in_flight (old);
    switch (ev->state) {
    case ZF_TS_READY:
        return (old == ZF_TS_WAITING || old == ZF_TS_RETRYING || old == ZF_TS_ROLLED_BACK) &&
               a == sa + 1;
    case ZF_TS_WAITING:
        return (old == ZF_TS_FAILED || old == ZF_TS_CANCELLED || old == ZF_TS_ROLLED_BACK) &&
               a == sa;
    case ZF_TS_DISPATCHED:
        return old == ZF_TS_READY && a == sa;
    case ZF_TS_RUNNING:
        return (old == ZF_TS_DISPATCHED && a >= sa) || (old == ZF_TS_RUNNING && a > sa);
    case ZF_TS_SUCCEEDED:
        return (in_flight && a >= sa) || (old == ZF_TS_WAITING && builtin && a == sa + 1);
    case ZF_TS_FAILED:
        //  Also work the engine could not schedule (no memory for a timer
        //  or a place in the ready queue): it fails rather than wait for ever.
        return (in_flight && a >= sa && a > 0) ||
               ((old == ZF_TS_WAITING || old == ZF_TS_RETRYING) && a == sa);
    case ZF_TS_RETRYING:
        return in_flight && a >= sa && a > 0;
    case ZF_TS_CANCELLED:
        return (in_flight && a >= sa) ||
               ((old == ZF_TS_WAITING || old == ZF_TS_READY || old == ZF_TS_FAILED ||
                 old == ZF_TS_RETRYING || old == ZF_TS_ROLLED_BACK) &&
                a == sa);
    case ZF_TS_SKIPPED:
        return (old == ZF_TS_WAITING || old == ZF_TS_READY || old == ZF_TS_FAILED ||
                old == ZF_TS_RETRYING || old == ZF_TS_CANCELLED || old == ZF_TS_ROLLED_BACK) &&
               a == sa;
    case ZF_TS_ROLLED_BACK:
        return in_flight && a == sa;
    default:
        return false; //  confirmed comes only from CONFIRM
    }
}

//  Applies a checked transition to one shard.
static void
s_change (zf_engine_t *self, zf_run_t *run, zf_tinst_t *ti, zf_shard_t *shard, const zf_event_t *ev)
{
    uint8_t old = shard->state;
    bool in_flight = zf_core_in_flight (old);
    s_move (self, run, ti, shard, ev->state);
    switch (ev->state) {
    case ZF_TS_READY:
        shard->attempt = ev->attempt;
        shard->ended = 0;
        shard->due = 0;
        break;
    case ZF_TS_WAITING:
        //  An operator's retry gives a fresh budget; a rollback is no failure.
        if (old == ZF_TS_FAILED || old == ZF_TS_CANCELLED) shard->failures = 0;
        break;
    case ZF_TS_DISPATCHED:
        shard->marks &= (uint8_t)~ZF_SH_ROLLBACK;
        break;
    case ZF_TS_RUNNING:
        shard->attempt = ev->attempt;
        if (!shard->started) shard->started = ev->time;
        if (ev->executor) shard->executor = s_executor (self, ev->executor);
        break;
    case ZF_TS_SUCCEEDED:
        shard->attempt = ev->attempt;
        if (!shard->started) shard->started = ev->time;
        shard->ended = ev->time;
        shard->exit_status = ev->exit_status;
        if (ev->executor) shard->executor = s_executor (self, ev->executor);
        s_set_detail (shard, NULL);
        break;
    case ZF_TS_FAILED:
    case ZF_TS_RETRYING:
        shard->attempt = ev->attempt;
        if (shard->failures < UINT16_MAX) shard->failures++;
        shard->ended = ev->time;
        shard->exit_status = ev->exit_status;
        if (ev->executor) shard->executor = s_executor (self, ev->executor);
        s_set_detail (shard, ev->detail);
        shard->due = ev->state == ZF_TS_RETRYING ? ev->value : 0;
        break;
    case ZF_TS_CANCELLED:
        shard->ended = ev->time;
        if (in_flight) {
            shard->attempt = ev->attempt;
            shard->exit_status = ev->exit_status;
            if (ev->executor) shard->executor = s_executor (self, ev->executor);
        }
        if (ev->detail) s_set_detail (shard, ev->detail);
        shard->due = 0;
        break;
    case ZF_TS_SKIPPED:
        shard->ended = ev->time;
        shard->due = 0;
        if (ev->detail) s_set_detail (shard, ev->detail);
        break;
    case ZF_TS_ROLLED_BACK:
        shard->marks |= ZF_SH_ROLLBACK;
        shard->ended = ev->time;
        break;
    default:
        break;
    }
}

//  Sets one shard from a snapshot record.
static void
s_record (zf_engine_t *self, zf_run_t *run, zf_tinst_t *ti, zf_shard_t *shard, const zf_event_t *ev)
{
    s_move (self, run, ti, shard, ev->state);
    shard->attempt = ev->attempt;
    shard->failures = (uint16_t)(ev->version & ZF_REC_FAILURES);
    shard->marks = (ev->version & ZF_REC_ROLLBACK) ? ZF_SH_ROLLBACK : 0;
    shard->exit_status = ev->exit_status;
    shard->executor = s_executor (self, ev->executor);
    s_set_detail (shard, ev->detail);
    shard->ended = ev->time;
    shard->due = ev->state == ZF_TS_RETRYING ? ev->value : 0;
    if (ev->state == ZF_TS_RUNNING) shard->started = ev->value;
}

//  Sets a task's not_before timer (a waiting event with a due time).
static int
s_apply_timer (zf_engine_t *self, zf_run_t *run, uint32_t t, const zf_event_t *ev)
{
    zf_tinst_t *ti = &run->tasks[t];
    if (ev->shard != ZF_SHARD_WHOLE || ti->counts[ZF_TS_WAITING] == 0)
        return zf_core_fail (self, ZF_E_INVALID, "task %s has no waiting shards for a timer",
                             run->ver->def->tasks[t].id);
    zf_timer_t timer = {.due = ev->value, .run = run->id, .task = t, .kind = ZF_TIMER_NOT_BEFORE};
    if (zf_heap_push (&self->timers, &timer))
        return zf_core_fail (self, ZF_E_LIMIT, "out of memory for timers");
    if (!(ti->flags & ZF_TI_TIMER)) run->timer_tasks++;
    ti->flags |= ZF_TI_TIMER;
    ti->due = ev->value;
    zf_core_refresh (self, run, t);
    return 0;
}

//  Queues, schedules or lists what an event adds, before any shard changes,
//  so running out of memory leaves the state as it was.
static int
s_side_effects (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t shard, const zf_event_t *ev,
                uint32_t first, uint32_t last)
{
    if (ev->state == ZF_TS_READY) {
        zf_qentry_t entry = {run->id, t, shard};
        if (zf_ring_push (&self->ready, &entry))
            return zf_core_fail (self, ZF_E_LIMIT, "out of memory for the ready queue");
    } else if (ev->state == ZF_TS_SUCCEEDED) {
        zf_success_t entry = {self->restoring ? (uint64_t)ev->value : ev->seq, run->id, t, shard};
        if (zf_ring_push (&self->successes, &entry))
            return zf_core_fail (self, ZF_E_LIMIT, "out of memory for the success list");
    } else if (ev->state == ZF_TS_RETRYING) {
        for (uint32_t i = first; i < last; i++) {
            zf_timer_t timer = {.due = ev->value,
                                .run = run->id,
                                .task = t,
                                .shard = (int32_t)i,
                                .attempt = ev->attempt,
                                .kind = ZF_TIMER_RETRY};
            if (zf_heap_push (&self->timers, &timer))
                return zf_core_fail (self, ZF_E_LIMIT, "out of memory for timers");
        }
    }
    return 0;
}

//  A task or shard event.
static int
s_apply_task (zf_engine_t *self, const zf_event_t *ev)
{
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int rc = s_resolve (self, ev, &run, &t);
    if (rc) return rc;
    const zf_flow_task_t *task = &run->ver->def->tasks[t];
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    int32_t shard = ev->shard;
    if (count == 1 && shard == 0) shard = ZF_SHARD_WHOLE;
    if (shard != ZF_SHARD_WHOLE && (shard < 0 || (uint32_t)shard >= count))
        return zf_core_fail (self, ZF_E_UNKNOWN_TASK, "task %s has no shard %d (it has %u)",
                             task->id, (int)ev->shard, count);
    if (ev->state > ZF_TS_MAX)
        return zf_core_fail (self, ZF_E_INVALID, "task event with state %d", ev->state);
    if (ev->state == ZF_TS_WAITING && ev->value > 0) return s_apply_timer (self, run, t, ev);
    uint32_t first = shard == ZF_SHARD_WHOLE ? 0 : (uint32_t)shard;
    uint32_t last = shard == ZF_SHARD_WHOLE ? count : first + 1;
    zf_tinst_t *ti = &run->tasks[t];
    if (self->restoring) {
        if (ev->state == ZF_TS_CONFIRMED && ev->value != 0)
            return zf_core_fail (self, ZF_E_INVALID, "confirmed record with a value");
        if ((rc = s_side_effects (self, run, t, shard, ev, first, last))) return rc;
        for (uint32_t i = first; i < last; i++)
            s_record (self, run, ti, &shards[i], ev);
        zf_core_refresh (self, run, t);
        return 0;
    }
    bool builtin = task->type == ZF_TASK_START || task->type == ZF_TASK_DAY_ROLL;
    if (ev->state == ZF_TS_RETRYING && shard == ZF_SHARD_WHOLE && count > 1)
        return zf_core_fail (self, ZF_E_INVALID, "retrying names one shard of task %s", task->id);
    for (uint32_t i = first; i < last; i++)
        if (!s_transition_ok (&shards[i], ev, builtin))
            return zf_core_fail (self, ZF_E_INVALID,
                                 "task %s shard %u cannot go from %s#%u to %s#%u", task->id, i,
                                 zf_task_state_name (shards[i].state), shards[i].attempt,
                                 zf_task_state_name (ev->state), ev->attempt);
    if ((rc = s_side_effects (self, run, t, shard, ev, first, last))) return rc;
    for (uint32_t i = first; i < last; i++)
        s_change (self, run, ti, &shards[i], ev);
    zf_core_refresh (self, run, t);
    if (ev->state == ZF_TS_READY) zf_core_ready_compact (self);
    return 0;
}

//  --------------------------------------------------------------------------

//  Applies one event.
int
zf_engine_apply (zf_engine_t *self, const zf_event_t *event)
{
    assert (self);
    assert (event);
    self->error[0] = 0;
    if (self->restoring) {
        if (event->seq != 0)
            return zf_core_fail (self, ZF_E_INVALID, "snapshot event with seq %llu",
                                 (unsigned long long)event->seq);
    } else if (event->seq != self->seq + 1)
        return zf_core_fail (self, ZF_E_GAP, "event seq %llu where %llu comes next",
                             (unsigned long long)event->seq, (unsigned long long)self->seq + 1);
    int rc;
    switch (event->kind) {
    case ZF_EV_FLOW:
        rc = s_apply_flow (self, event);
        break;
    case ZF_EV_RUN:
        rc = s_apply_run (self, event);
        break;
    case ZF_EV_TASK:
        rc = s_apply_task (self, event);
        break;
    case ZF_EV_PAUSE:
        rc = s_apply_pause (self, event);
        break;
    case ZF_EV_CONFIRM:
        rc = s_apply_confirm (self, event);
        break;
    case ZF_EV_ERROR:
        rc = 0;
        break;
    case ZF_EV_EPOCH:
        rc = s_apply_epoch (self, event);
        break;
    default:
        rc = zf_core_fail (self, ZF_E_INVALID, "event of unknown kind %d", event->kind);
        break;
    }
    if (rc == 0 && !self->restoring) self->seq = event->seq;
    return rc;
}
