/*  zf_decide.c - the scheduling decisions: versions, runs, readiness, time,
    dispatch and results.

    Readiness is pushed, never searched for: the fold lists a task as
    eligible the moment its last dependency is done or its run begins, and
    zf_core_decide_task turns it into a READY event, a not_before timer or, for
    the built-ins, an immediate success. Time enters only through the timer
    heap (zf_engine_tick) and the clock reading each decision takes.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  True if a shard is in the set zf_core_emit_shards works on.
static inline bool
s_picked (const zf_shard_t *shard, uint32_t state_mask, uint8_t need_marks)
{
    return (state_mask & ZF_BIT (shard->state)) && (shard->marks & need_marks) == need_marks;
}

//  Counts the shards of a set.
uint32_t
zf_core_count_shards (zf_run_t *run, uint32_t t, int32_t only, uint32_t state_mask,
                      uint8_t need_marks)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    if (only != ZF_SHARD_WHOLE) return s_picked (&shards[only], state_mask, need_marks);
    if (need_marks == 0) {
        //  From the task's counts, without touching the shards.
        uint32_t picked = 0;
        for (int state = 0; state <= ZF_TS_MAX; state++)
            if (state_mask & ZF_BIT (state)) picked += run->tasks[t].counts[state];
        return picked;
    }
    uint32_t picked = 0;
    for (uint32_t i = 0; i < count; i++)
        picked += s_picked (&shards[i], state_mask, need_marks);
    return picked;
}

//  Emits events moving a set of shards of task t to state.
int
zf_core_emit_shards (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t only,
                     uint32_t state_mask, uint8_t need_marks, uint8_t state, uint32_t attempt_delta,
                     const zf_event_t *pattern)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    zf_event_t ev;
    if (pattern)
        ev = *pattern;
    else
        zf_core_event_init (&ev, ZF_EV_TASK);
    ev.kind = ZF_EV_TASK;
    ev.state = state;
    ev.flow = run->flow->name;
    ev.date = run->date;
    ev.task = run->ver->def->tasks[t].id;
    ev.version = 0;
    uint32_t first = 0, last = count;
    if (only != ZF_SHARD_WHOLE) {
        first = (uint32_t)only;
        last = first + 1;
    }
    uint32_t picked = 0;
    bool uniform = true;
    for (uint32_t i = first; i < last; i++)
        if (s_picked (&shards[i], state_mask, need_marks)) {
            if (picked && shards[i].attempt != shards[first].attempt) uniform = false;
            if (!picked) first = i;
            picked++;
        }
    if (picked == 0) return 0;
    if (count == 1 || (picked == count && uniform)) {
        ev.shard = ZF_SHARD_WHOLE;
        ev.attempt = shards[first].attempt + attempt_delta;
        if (zf_core_commit (self, &ev, run, t)) return ZF_E_LIMIT;
        return (int)picked;
    }
    int moved = 0;
    for (uint32_t i = first; i < last; i++) {
        if (!s_picked (&shards[i], state_mask, need_marks)) continue;
        ev.shard = (int32_t)i;
        ev.attempt = shards[i].attempt + attempt_delta;
        if (zf_core_commit (self, &ev, run, t)) return ZF_E_LIMIT;
        moved++;
    }
    return moved;
}

//  --------------------------------------------------------------------------
//  Versions and runs

//  Makes a flow file the flow's next version unless it equals the latest.
int
zf_engine_submit (zf_engine_t *self, const char *text, size_t size, const char *path,
                  zf_flow_errors_t *errors)
{
    assert (self);
    self->error[0] = 0;
    if (!text) return zf_core_fail (self, ZF_E_INVALID, "no flow text");
    zf_flow_t *def = zf_flow_parse (text, size, path, errors);
    if (!def)
        return zf_core_fail (self, ZF_E_INVALID, "%s has errors", path ? path : "the flow file");
    if (zf_plan_shards (def) > ZF_MAX_RUN_SHARDS) {
        zf_core_fail (self, ZF_E_LIMIT, "a run of flow %s exceeds ZF_MAX_RUN_SHARDS (%d)",
                      def->name, ZF_MAX_RUN_SHARDS);
        zf_flow_destroy (&def);
        return ZF_E_LIMIT;
    }
    zf_flowent_t *flow = zf_core_flow (self, def->name);
    if (flow) {
        const zf_flow_t *latest = flow->versions[flow->version_count - 1]->def;
        if (latest->text_size == def->text_size &&
            memcmp (latest->text, def->text, def->text_size) == 0) {
            zf_flow_destroy (&def);
            return (int)flow->version_count;
        }
    }
    int version = flow ? (int)flow->version_count + 1 : 1;
    zf_core_begin (self);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_FLOW);
    ev.flow = def->name;
    ev.version = (uint32_t)version;
    ev.text = def->text;
    ev.text_size = def->text_size;
    ev.detail = def->path;
    //  The fold adopts the parsed flow instead of parsing the text again.
    self->pending_flow = def;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    zf_flow_destroy (&self->pending_flow);
    zf_core_end (self);
    return rc ? rc : version;
}

//  Opens a run unless it exists.
int
zf_core_open_run (zf_engine_t *self, zf_flowent_t *flow, zf_version_t *ver, zf_date_t date)
{
    if (zf_core_run (self, flow, date)) return 1;
    if (self->run_count >= ZF_MAX_RUNS)
        return zf_core_fail (self, ZF_E_LIMIT, "runs exceed ZF_MAX_RUNS (%d)", ZF_MAX_RUNS);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_RUN);
    ev.flow = flow->name;
    ev.version = ver->number;
    ev.date = date;
    ev.value = zf_core_begins (ver->def, date);
    ev.state = self->now >= ev.value ? ZF_RS_RUNNING : ZF_RS_WAITING;
    return zf_core_commit (self, &ev, NULL, 0);
}

//  --------------------------------------------------------------------------
//  Archiving

void
zf_engine_set_keep_runs (zf_engine_t *self, uint32_t keep)
{
    assert (self);
    self->keep_runs = keep;
    self->archive_due = true;
}

//  True if a run may leave memory: it succeeded, every event up to its
//  success is durable (so are its tasks' successes: none is left merely
//  succeeded) and it is not archived yet.
static bool
s_archivable (zf_engine_t *self, const zf_run_t *run)
{
    return !run->archived && run->state == ZF_RS_SUCCEEDED && run->ssum[ZF_TS_SUCCEEDED] == 0 &&
           run->ended_seq <= self->confirmed;
}

//  Archives what may go. A flow's runs are held by date; all but its
//  keep_runs latest are candidates. The scan runs only after something that
//  can make a run archivable: a success, a confirm, a new run.
int
zf_engine_archive (zf_engine_t *self)
{
    assert (self);
    self->error[0] = 0;
    if (!self->keep_runs || !self->archive_due) return 0;
    self->archive_due = false;
    zf_core_begin (self);
    int archived = 0;
    int rc = 0;
    for (size_t f = 0; f < self->flow_count && rc == 0; f++) {
        zf_flowent_t *flow = self->flows[f];
        if (flow->run_count <= self->keep_runs) continue;
        size_t older = flow->run_count - self->keep_runs;
        for (size_t r = 0; r < older && rc == 0; r++) {
            zf_run_t *run = self->runs[flow->by_date[r].run];
            if (!s_archivable (self, run)) continue;
            zf_event_t ev;
            zf_core_event_init (&ev, ZF_EV_RUN);
            ev.flow = flow->name;
            ev.version = run->ver->number;
            ev.date = run->date;
            ev.state = ZF_RS_ARCHIVED;
            ev.value = run->begins;
            rc = zf_core_commit (self, &ev, NULL, 0);
            if (rc == 0) archived++;
        }
    }
    zf_core_end (self);
    return rc < 0 ? rc : archived;
}

//  Opens the run of a flow on a date.
int
zf_engine_start (zf_engine_t *self, const char *flow, zf_date_t date)
{
    assert (self);
    self->error[0] = 0;
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s", flow ? flow : "(none)");
    zf_version_t *ver = entry->versions[entry->version_count - 1];
    zf_core_begin (self);
    if (date == ZF_DATE_NONE) date = zf_tz_date_at (ver->def->timezone, self->now);
    int rc;
    if (!zf_flow_is_business_date (ver->def, date)) {
        char text[ZF_DATE_TEXT];
        rc = zf_core_fail (self, ZF_E_INVALID, "%s is not a business date of flow %s",
                           date >= 0 ? zf_date_format (date, text, sizeof (text)) : "that",
                           entry->name);
    } else
        rc = zf_core_open_run (self, entry, ver, date);
    zf_core_end (self);
    return rc;
}

//  Puts the engine's last error on the bus. An ERROR event needs no memory
//  in the fold, so this commit cannot be refused.
static void
s_report_error (zf_engine_t *self)
{
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_ERROR);
    ev.executor = "registry";
    ev.detail = self->error;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    assert (rc == 0);
}

//  A decision found no memory to schedule work (a timer, a place in the
//  ready queue or the success list), so nothing would ever move these
//  shards on: they fail with the reason, where status, the bus and the run's
//  state show it, and an operator's retry schedules them again. Failing
//  needs no memory of its own; if even that is refused, the reason goes on
//  the bus.
static void
s_fail_unscheduled (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t only, uint32_t state_mask)
{
    char reason[sizeof self->error];
    snprintf (reason, sizeof reason, "not scheduled: %.400s", self->error);
    zf_event_t pattern;
    zf_core_event_init (&pattern, ZF_EV_TASK);
    pattern.detail = reason;
    pattern.exit_status = -1;
    if (zf_core_emit_shards (self, run, t, only, state_mask, 0, ZF_TS_FAILED, 0, &pattern) >= 0)
        return;
    snprintf (self->error, sizeof self->error, "task %.128s of %.128s: %.200s",
              run->ver->def->tasks[t].id, run->flow->name, reason);
    s_report_error (self);
}

//  Decides an eligible task: wait for its not_before, run it, or (built-ins)
//  complete it on the spot.
void
zf_core_decide_task (zf_engine_t *self, zf_run_t *run, uint32_t t)
{
    zf_tinst_t *ti = &run->tasks[t];
    if (!run->begun || ti->counts[ZF_TS_WAITING] == 0 || ti->unmet || ti->cross_unmet) return;
    int64_t not_before = zf_core_not_before (run, t);
    if (not_before > self->now) {
        if ((ti->flags & ZF_TI_TIMER) && ti->due == not_before) return;
        zf_event_t ev;
        zf_core_event_init (&ev, ZF_EV_TASK);
        ev.flow = run->flow->name;
        ev.date = run->date;
        ev.task = run->ver->def->tasks[t].id;
        ev.value = not_before;
        if (zf_core_commit (self, &ev, run, t) != 0)
            s_fail_unscheduled (self, run, t, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_WAITING));
        return;
    }
    const zf_flow_task_t *task = &run->ver->def->tasks[t];
    if (task->type != ZF_TASK_START && task->type != ZF_TASK_DAY_ROLL) {
        if (zf_core_emit_shards (self, run, t, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_WAITING), 0,
                                 ZF_TS_READY, 1, NULL) < 0)
            s_fail_unscheduled (self, run, t, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_WAITING));
        return;
    }
    if (zf_core_emit_shards (self, run, t, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_WAITING), 0,
                             ZF_TS_SUCCEEDED, 1, NULL) < 0) {
        s_fail_unscheduled (self, run, t, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_WAITING));
        return;
    }
    if (task->type == ZF_TASK_DAY_ROLL) {
        //  The next date opens with the latest version, by its calendar.
        zf_flowent_t *flow = run->flow;
        zf_version_t *latest = flow->versions[flow->version_count - 1];
        zf_date_t next = zf_flow_next_business_date (latest->def, run->date);
        if (next != ZF_FLOW_NO_DATE && zf_core_open_run (self, flow, latest, next) < 0)
            s_report_error (self);
    }
}

//  Works out whether a run has ended, is stuck, or got going again.
void
zf_core_check_run (zf_engine_t *self, zf_run_t *run)
{
    if (run->state == ZF_RS_SUCCEEDED) return;
    uint8_t state = run->state;
    if (!run->begun) {
        //  A run cancelled before its date began, then given work by a retry.
        if (run->state == ZF_RS_CANCELLED && run->tsum[ZF_TS_WAITING] > 0) state = ZF_RS_WAITING;
    } else {
        uint32_t done =
            run->tsum[ZF_TS_SUCCEEDED] + run->tsum[ZF_TS_CONFIRMED] + run->tsum[ZF_TS_SKIPPED];
        uint32_t failed = run->tsum[ZF_TS_FAILED] + run->tsum[ZF_TS_CANCELLED];
        uint64_t live = zf_core_run_live (run);
        if (done == run->ver->def->task_count)
            state = ZF_RS_SUCCEEDED;
        else if (run->state == ZF_RS_RUNNING && live == 0 && failed > 0)
            state = ZF_RS_FAILED;
        else if ((run->state == ZF_RS_FAILED || run->state == ZF_RS_CANCELLED) && live > 0)
            state = ZF_RS_RUNNING;
    }
    if (state == run->state) return;
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_RUN);
    ev.flow = run->flow->name;
    ev.version = run->ver->number;
    ev.date = run->date;
    ev.state = state;
    ev.value = run->begins;
    //  Only a run going back to waiting needs memory (its timer); refused,
    //  it keeps its state, and the reason goes on the bus.
    if (zf_core_commit (self, &ev, NULL, 0) != 0) s_report_error (self);
}

//  Refreshes every task, so zf_core_end decides whatever is undecided.
void
zf_core_settle_all (zf_engine_t *self)
{
    for (size_t r = 0; r < self->run_count; r++) {
        zf_run_t *run = self->runs[r];
        if (run->archived) continue;
        for (uint32_t t = 0; t < run->ver->def->task_count; t++)
            zf_core_refresh (self, run, t);
    }
}

//  Finishes decisions a previous registry left half made.
int
zf_engine_settle (zf_engine_t *self)
{
    assert (self);
    zf_core_begin (self);
    zf_core_settle_all (self);
    return zf_core_end (self);
}

//  --------------------------------------------------------------------------
//  Time

//  Returns the earliest live deadline, dropping dead ones from the top.
int64_t
zf_engine_next_deadline (zf_engine_t *self)
{
    assert (self);
    const zf_timer_t *top;
    while ((top = zf_heap_top (&self->timers)) && !zf_core_timer_live (self, top))
        zf_heap_pop (&self->timers);
    return top ? top->due : -1;
}

//  Handles every due deadline.
int
zf_engine_tick (zf_engine_t *self)
{
    assert (self);
    zf_core_begin (self);
    int handled = 0;
    const zf_timer_t *top;
    while ((top = zf_heap_top (&self->timers)) && top->due <= self->now) {
        zf_timer_t timer = *top;
        zf_heap_pop (&self->timers);
        if (!zf_core_timer_live (self, &timer)) continue;
        handled++;
        zf_run_t *run = self->runs[timer.run];
        if (timer.kind == ZF_TIMER_RUN) {
            zf_event_t ev;
            zf_core_event_init (&ev, ZF_EV_RUN);
            ev.flow = run->flow->name;
            ev.version = run->ver->number;
            ev.date = run->date;
            ev.state = ZF_RS_RUNNING;
            ev.value = run->begins;
            if (zf_core_commit (self, &ev, NULL, 0) != 0) s_report_error (self);
        } else if (timer.kind == ZF_TIMER_NOT_BEFORE)
            zf_core_decide_task (self, run, timer.task);
        else {
            //  The timer is spent: a retry that cannot be queued fails.
            int32_t only = zf_core_sharded (run, timer.task) ? timer.shard : ZF_SHARD_WHOLE;
            if (zf_core_emit_shards (self, run, timer.task, only, ZF_BIT (ZF_TS_RETRYING), 0,
                                     ZF_TS_READY, 1, NULL) < 0)
                s_fail_unscheduled (self, run, timer.task, only, ZF_BIT (ZF_TS_RETRYING));
        }
    }
    zf_core_end (self);
    return handled;
}

//  --------------------------------------------------------------------------
//  Dispatch

//  Makes room for an order of count shards.
static int
s_order_room (zf_engine_t *self, size_t count)
{
    return zf_array_grow ((void **)&self->order_shards, &self->order_capacity, count,
                          sizeof (zf_engine_shard_run_t));
}

//  Collects the ready shards an entry stands for (and the entries right behind
//  it for other shards of the same task) into the order; returns how many.
static size_t
s_collect (zf_engine_t *self, zf_run_t *run, const zf_qentry_t *entry)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, entry->task, &count);
    zf_tinst_t *ti = &run->tasks[entry->task];
    bool rollback = run->ver->def->tasks[entry->task].rollback != NULL;
    size_t collected = 0;
    if (entry->shard == ZF_SHARD_WHOLE || ti->counts[ZF_TS_READY] == count) {
        if (s_order_room (self, ti->counts[ZF_TS_READY])) return 0;
        for (uint32_t i = 0; i < count && collected < ti->counts[ZF_TS_READY]; i++)
            if (shards[i].state == ZF_TS_READY) {
                zf_engine_shard_run_t *out = &self->order_shards[collected++];
                out->shard = zf_core_key_shard (count, i);
                out->attempt = shards[i].attempt;
                out->rollback = rollback && (shards[i].marks & ZF_SH_ROLLBACK);
                shards[i].marks |= ZF_SH_PICKED;
            }
        return collected;
    }
    //  Single shards: this one and any right behind it in the queue.
    zf_qentry_t current = *entry;
    for (;;) {
        zf_shard_t *shard = &shards[current.shard];
        if (shard->state == ZF_TS_READY && !(shard->marks & ZF_SH_PICKED)) {
            if (s_order_room (self, collected + 1)) break;
            zf_engine_shard_run_t *out = &self->order_shards[collected++];
            out->shard = current.shard;
            out->attempt = shard->attempt;
            out->rollback = rollback && (shard->marks & ZF_SH_ROLLBACK);
            shard->marks |= ZF_SH_PICKED;
        }
        zf_qentry_t *next = zf_ring_peek (&self->ready);
        if (!next || next->run != entry->run || next->task != entry->task ||
            next->shard == ZF_SHARD_WHOLE)
            break;
        current = *next;
        zf_ring_pop (&self->ready);
    }
    return collected;
}

//  Takes the next ready work of a flow that is not paused.
int
zf_engine_next_order (zf_engine_t *self, zf_engine_order_t *order)
{
    assert (self);
    assert (order);
    zf_core_begin (self);
    int found = 0;
    zf_qentry_t *head;
    while (!found && (head = zf_ring_peek (&self->ready))) {
        zf_qentry_t entry = *head;
        zf_ring_pop (&self->ready);
        if (!zf_core_entry_live (self, &entry)) continue;
        zf_run_t *run = self->runs[entry.run];
        if (run->flow->paused) {
            //  Set aside until the flow resumes, so paused work costs nothing here.
            if (zf_ring_push (&run->flow->parked, &entry) == 0) continue;
            zf_ring_push (&self->ready, &entry);
            break;
        }
        size_t collected = s_collect (self, run, &entry);
        if (collected == 0) {
            //  Out of memory for the order: the work stays in line.
            zf_ring_push (&self->ready, &entry);
            break;
        }
        uint32_t count = 0;
        zf_shard_t *shards = zf_core_shards (run, entry.task, &count);
        //  Dispatching needs no memory in the fold: it cannot be refused.
        int moved =
            zf_core_emit_shards (self, run, entry.task, ZF_SHARD_WHOLE, ZF_BIT (ZF_TS_READY),
                                 ZF_SH_PICKED, ZF_TS_DISPATCHED, 0, NULL);
        assert (moved >= 0);
        for (size_t i = 0; i < collected; i++) {
            int32_t index = self->order_shards[i].shard;
            shards[index == ZF_SHARD_SOLE ? 0 : index].marks &= (uint8_t)~ZF_SH_PICKED;
        }
        const zf_flow_task_t *task = &run->ver->def->tasks[entry.task];
        memset (order, 0, sizeof (*order));
        order->flow = run->ver->def;
        order->task = task;
        order->flow_name = run->flow->name;
        order->task_id = task->id;
        order->version = run->ver->number;
        order->date = run->date;
        order->epoch = self->epoch;
        order->whole = collected == count;
        order->shards = self->order_shards;
        order->shard_count = collected;
        found = 1;
    }
    zf_core_end (self);
    return found;
}

//  --------------------------------------------------------------------------
//  Results

//  Finds the shard a key names.
static int
s_find_key (zf_engine_t *self, const zf_task_key_t *key, zf_run_t **run_out, uint32_t *task_out,
            int32_t *shard_out)
{
    if (!key) return zf_core_fail (self, ZF_E_INVALID, "no key");
    int32_t t = -1;
    int rc = zf_core_find (self, key->flow, key->date, key->task, NULL, run_out, &t);
    //  A run that was archived had every result it needed long ago.
    if (rc == ZF_E_ARCHIVED) rc = ZF_E_STALE;
    if (rc == 0 && key->date == ZF_DATE_NONE)
        rc = zf_core_fail (self, ZF_E_UNKNOWN_RUN, "a result names no date");
    if (rc == 0 && key->shard == ZF_SHARD_WHOLE)
        rc = zf_core_fail (self, ZF_E_UNKNOWN_TASK, "a result names one shard, not task %s",
                           key->task);
    if (rc == 0) rc = zf_core_shard_arg (self, *run_out, (uint32_t)t, key->shard, shard_out);
    if (rc == 0 && key->attempt == 0)
        rc = zf_core_fail (self, ZF_E_INVALID, "attempts count from 1");
    *task_out = (uint32_t)t;
    return rc;
}

bool
zf_engine_superseded (zf_engine_t *self, const zf_task_key_t *key)
{
    assert (self && key);
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int32_t shard = ZF_SHARD_WHOLE;
    int rc = s_find_key (self, key, &run, &t, &shard);
    self->error[0] = 0;
    //  Work of an archived run has no reason to go on; work the engine does
    //  not know at all is left alone (only what it ended is cancelled).
    if (rc == ZF_E_STALE) return true;
    if (rc) return false;
    uint32_t count = 0;
    const zf_shard_t *sh = zf_core_shards (run, t, &count) + (shard == ZF_SHARD_WHOLE ? 0 : shard);
    if (sh->attempt > key->attempt) return true;
    return sh->attempt == key->attempt && !zf_core_in_flight (sh->state);
}

//  Makes the event for one shard's result or start.
static void
s_shard_event (zf_event_t *ev, zf_run_t *run, uint32_t t, int32_t shard, uint8_t state,
               uint32_t attempt)
{
    zf_core_event_init (ev, ZF_EV_TASK);
    ev->flow = run->flow->name;
    ev->date = run->date;
    ev->task = run->ver->def->tasks[t].id;
    ev->shard = shard;
    ev->state = state;
    ev->attempt = attempt;
}

//  The dispatcher reports an attempt running.
int
zf_engine_running (zf_engine_t *self, const zf_task_key_t *key, const char *executor)
{
    assert (self);
    self->error[0] = 0;
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int32_t shard = ZF_SHARD_WHOLE;
    int rc = s_find_key (self, key, &run, &t, &shard);
    if (rc) return rc;
    uint32_t count = 0;
    zf_shard_t *sh = zf_core_shards (run, t, &count) + (shard == ZF_SHARD_WHOLE ? 0 : shard);
    bool fresh = (sh->state == ZF_TS_DISPATCHED && key->attempt >= sh->attempt) ||
                 (sh->state == ZF_TS_RUNNING && key->attempt > sh->attempt);
    if (!fresh)
        return zf_core_fail (self, ZF_E_STALE, "%s#%u is %s#%u", key->task, key->attempt,
                             zf_task_state_name (sh->state), sh->attempt);
    zf_core_begin (self);
    zf_event_t ev;
    s_shard_event (&ev, run, t, shard, ZF_TS_RUNNING, key->attempt);
    ev.executor = executor;
    rc = zf_core_commit (self, &ev, run, t);
    zf_core_end (self);
    return rc;
}

//  The dispatcher reports how an attempt ended.
int
zf_engine_result (zf_engine_t *self, const zf_task_key_t *key, zf_outcome_t outcome,
                  int32_t exit_status, const char *executor, const char *detail)
{
    assert (self);
    self->error[0] = 0;
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int32_t shard = ZF_SHARD_WHOLE;
    int rc = s_find_key (self, key, &run, &t, &shard);
    if (rc) return rc;
    if (outcome != ZF_OUTCOME_SUCCEEDED && outcome != ZF_OUTCOME_FAILED &&
        outcome != ZF_OUTCOME_CANCELLED)
        return zf_core_fail (self, ZF_E_INVALID, "unknown outcome %d", (int)outcome);
    uint32_t count = 0;
    zf_shard_t *sh = zf_core_shards (run, t, &count) + (shard == ZF_SHARD_WHOLE ? 0 : shard);
    if (!zf_core_in_flight (sh->state) || key->attempt < sh->attempt)
        return zf_core_fail (self, ZF_E_STALE, "%s#%u is %s#%u", key->task, key->attempt,
                             zf_task_state_name (sh->state), sh->attempt);
    const zf_flow_task_t *task = &run->ver->def->tasks[t];
    zf_core_begin (self);
    uint8_t state = ZF_TS_SUCCEEDED;
    if (outcome == ZF_OUTCOME_CANCELLED)
        state = ZF_TS_CANCELLED;
    else if (outcome == ZF_OUTCOME_FAILED)
        state = (uint32_t)sh->failures + 1 <= task->retries ? ZF_TS_RETRYING : ZF_TS_FAILED;
    zf_event_t ev;
    s_shard_event (&ev, run, t, shard, state, key->attempt);
    ev.exit_status = exit_status;
    ev.executor = executor;
    ev.detail = state == ZF_TS_SUCCEEDED ? NULL : detail;
    if (state == ZF_TS_RETRYING) ev.value = self->now + task->retry_delay_ms;
    rc = zf_core_commit (self, &ev, run, t);
    zf_core_end (self);
    return rc;
}
