/*  zf_actions.c - what operators, the archiver and a restart ask of the engine.

    Each action checks that it applies to the state it finds and says why
    not in words when it does not; what it does is expressed as events like
    every other decision, so replicas follow. Retry goes through waiting: the
    task then takes the normal way to ready (its dependencies, its run's
    date, its not_before), so a retry can never jump a condition.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  States an action may move a shard from.
#define S_RETRYABLE (ZF_BIT (ZF_TS_FAILED) | ZF_BIT (ZF_TS_CANCELLED) | ZF_BIT (ZF_TS_ROLLED_BACK))
#define S_SKIPPABLE                                                                                \
    (ZF_BIT (ZF_TS_WAITING) | ZF_BIT (ZF_TS_READY) | ZF_BIT (ZF_TS_FAILED) |                       \
     ZF_BIT (ZF_TS_RETRYING) | ZF_BIT (ZF_TS_CANCELLED) | ZF_BIT (ZF_TS_ROLLED_BACK))
#define S_IN_FLIGHT (ZF_BIT (ZF_TS_DISPATCHED) | ZF_BIT (ZF_TS_RUNNING))
#define S_CANCELLABLE                                                                              \
    (ZF_BIT (ZF_TS_WAITING) | ZF_BIT (ZF_TS_READY) | S_IN_FLIGHT | ZF_BIT (ZF_TS_FAILED) |         \
     ZF_BIT (ZF_TS_RETRYING) | ZF_BIT (ZF_TS_ROLLED_BACK))

//  Finds the run, task and shard an action names.
static int
s_target (zf_engine_t *self, const char *flow, zf_date_t date, const char *task, int32_t shard,
          zf_run_t **run_out, uint32_t *task_out, int32_t *shard_out)
{
    int32_t t = -1;
    int rc = zf_core_find (self, flow, date, task, NULL, run_out, &t);
    if (rc == 0) rc = zf_core_shard_arg (self, *run_out, (uint32_t)t, shard, shard_out);
    *task_out = (uint32_t)t;
    return rc;
}

//  Says what state a task or shard is in, for an error message.
static const char *
s_state_of (zf_run_t *run, uint32_t t, int32_t shard)
{
    if (shard == ZF_SHARD_WHOLE) return zf_task_state_name (run->tasks[t].summary);
    uint32_t count = 0;
    return zf_task_state_name (zf_core_shards (run, t, &count)[shard].state);
}

//  Runs a failed, cancelled or rolled-back task (or shard) again.
int
zf_engine_retry (zf_engine_t *self, const char *flow, zf_date_t date, const char *task,
                 int32_t shard)
{
    assert (self);
    self->error[0] = 0;
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int rc = s_target (self, flow, date, task, shard, &run, &t, &shard);
    if (rc) return rc;
    if (zf_core_count_shards (run, t, shard, S_RETRYABLE, 0) == 0)
        return zf_core_fail (self, ZF_E_CONFLICT,
                             "task %s is %s: only failed, cancelled or rolled-back work is retried",
                             task, s_state_of (run, t, shard));
    zf_core_begin (self);
    rc = zf_core_emit_shards (self, run, t, shard, S_RETRYABLE, 0, ZF_TS_WAITING, 0, NULL);
    zf_core_end (self);
    return rc < 0 ? rc : 0;
}

//  Treats a task (or shard) that is not in flight and not done as done.
int
zf_engine_skip (zf_engine_t *self, const char *flow, zf_date_t date, const char *task,
                int32_t shard)
{
    assert (self);
    self->error[0] = 0;
    zf_run_t *run = NULL;
    uint32_t t = 0;
    int rc = s_target (self, flow, date, task, shard, &run, &t, &shard);
    if (rc) return rc;
    if (zf_core_count_shards (run, t, shard, S_IN_FLIGHT, 0))
        return zf_core_fail (self, ZF_E_CONFLICT, "task %s is running: cancel it first", task);
    if (zf_core_count_shards (run, t, shard, S_SKIPPABLE, 0) == 0)
        return zf_core_fail (self, ZF_E_CONFLICT, "task %s is already %s", task,
                             s_state_of (run, t, shard));
    zf_core_begin (self);
    zf_event_t pattern;
    zf_core_event_init (&pattern, ZF_EV_TASK);
    pattern.detail = "skipped by an operator";
    rc = zf_core_emit_shards (self, run, t, shard, S_SKIPPABLE, 0, ZF_TS_SKIPPED, 0, &pattern);
    zf_core_end (self);
    return rc < 0 ? rc : 0;
}

//  Cancels the shards of a task that are not done, telling fn of those in flight.
static int
s_cancel_task (zf_engine_t *self, zf_run_t *run, uint32_t t, int32_t shard,
               zf_engine_inflight_fn *fn, void *arg)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    if (fn && run->tasks[t].counts[ZF_TS_DISPATCHED] + run->tasks[t].counts[ZF_TS_RUNNING]) {
        zf_task_key_t key = {run->flow->name, run->date, run->ver->def->tasks[t].id, 0, 0};
        uint32_t first = shard == ZF_SHARD_WHOLE ? 0 : (uint32_t)shard;
        uint32_t last = shard == ZF_SHARD_WHOLE ? count : first + 1;
        for (uint32_t i = first; i < last; i++)
            if (zf_core_in_flight (shards[i].state)) {
                key.shard = zf_core_key_shard (count, i);
                key.attempt = shards[i].attempt;
                fn (&key, arg);
            }
    }
    zf_event_t pattern;
    zf_core_event_init (&pattern, ZF_EV_TASK);
    pattern.detail = "cancelled by an operator";
    return zf_core_emit_shards (self, run, t, shard, S_CANCELLABLE, 0, ZF_TS_CANCELLED, 0,
                                &pattern);
}

//  Cancels a task, a shard, or a whole run.
int
zf_engine_cancel (zf_engine_t *self, const char *flow, zf_date_t date, const char *task,
                  int32_t shard, zf_engine_inflight_fn *fn, void *arg)
{
    assert (self);
    self->error[0] = 0;
    zf_run_t *run = NULL;
    int rc;
    if (task) {
        uint32_t t = 0;
        rc = s_target (self, flow, date, task, shard, &run, &t, &shard);
        if (rc) return rc;
        if (zf_core_count_shards (run, t, shard, S_CANCELLABLE, 0) == 0)
            return zf_core_fail (self, ZF_E_CONFLICT, "task %s is already %s", task,
                                 s_state_of (run, t, shard));
        zf_core_begin (self);
        rc = s_cancel_task (self, run, t, shard, fn, arg);
        zf_core_end (self);
        return rc < 0 ? rc : 0;
    }
    rc = zf_core_find (self, flow, date, NULL, NULL, &run, NULL);
    if (rc) return rc;
    if (run->state == ZF_RS_SUCCEEDED || run->state == ZF_RS_CANCELLED)
        return zf_core_fail (self, ZF_E_CONFLICT, "the run of %s is already %s", flow,
                             zf_run_state_name (run->state));
    zf_core_begin (self);
    rc = 0;
    for (uint32_t t = 0; t < run->ver->def->task_count && rc >= 0; t++)
        rc = s_cancel_task (self, run, t, ZF_SHARD_WHOLE, fn, arg);
    if (rc >= 0) {
        zf_event_t ev;
        zf_core_event_init (&ev, ZF_EV_RUN);
        ev.flow = run->flow->name;
        ev.version = run->ver->number;
        ev.date = run->date;
        ev.state = ZF_RS_CANCELLED;
        ev.value = run->begins;
        rc = zf_core_commit (self, &ev, NULL, 0);
    }
    zf_core_end (self);
    return rc < 0 ? rc : 0;
}

//  Pauses (value 1) or resumes (value 0) a flow.
static int
s_pause (zf_engine_t *self, const char *flow, bool paused)
{
    assert (self);
    self->error[0] = 0;
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s", flow ? flow : "(none)");
    if (entry->paused == paused)
        return zf_core_fail (self, ZF_E_CONFLICT, "flow %s is already %s", flow,
                             paused ? "paused" : "running");
    zf_core_begin (self);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_PAUSE);
    ev.flow = entry->name;
    ev.value = paused;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    zf_core_end (self);
    return rc;
}

//  Stops dispatching a flow's work.
int
zf_engine_pause (zf_engine_t *self, const char *flow)
{
    return s_pause (self, flow, true);
}

//  Dispatches a flow's work again.
int
zf_engine_resume (zf_engine_t *self, const char *flow)
{
    return s_pause (self, flow, false);
}

//  Counts the shards a success entry still holds as succeeded.
static uint32_t
s_unconfirmed (zf_engine_t *self, const zf_success_t *entry)
{
    zf_run_t *run = self->runs[entry->run];
    if (run->archived) return 0;
    return zf_core_count_shards (run, entry->task,
                                 zf_core_sharded (run, entry->task) ? entry->shard : ZF_SHARD_WHOLE,
                                 ZF_BIT (ZF_TS_SUCCEEDED), 0);
}

//  Confirms every success up to seq.
int
zf_engine_confirm (zf_engine_t *self, uint64_t seq)
{
    assert (self);
    self->error[0] = 0;
    if (seq > self->seq)
        return zf_core_fail (self, ZF_E_INVALID, "confirm of seq %llu, beyond the last event %llu",
                             (unsigned long long)seq, (unsigned long long)self->seq);
    uint64_t confirmed = 0;
    for (size_t i = 0; i < self->successes.count; i++) {
        const zf_success_t *entry = zf_ring_at (&self->successes, i);
        if (entry->seq > seq) break;
        confirmed += s_unconfirmed (self, entry);
    }
    //  No event when nothing changes: the archiver acknowledges CONFIRM
    //  events too, and must not be answered with yet another one. A run
    //  that succeeded after its last task's success becomes archivable only
    //  once the watermark passes its own RUN event: that is a change too.
    bool run_durable = self->keep_runs && self->last_success_seq > self->confirmed &&
                       self->last_success_seq <= seq;
    if (confirmed == 0 && !run_durable) return 0;
    zf_core_begin (self);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_CONFIRM);
    ev.value = (int64_t)seq;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    zf_core_end (self);
    return rc ? rc : (int)(confirmed > INT32_MAX ? INT32_MAX : confirmed);
}

//  Makes a new registry term, saying which registry took it and how.
int
zf_engine_set_epoch (zf_engine_t *self, uint64_t epoch, const char *registry, const char *detail)
{
    assert (self);
    self->error[0] = 0;
    if (epoch <= self->epoch || epoch > INT64_MAX)
        return zf_core_fail (self, ZF_E_STALE, "epoch %llu does not rise above %llu",
                             (unsigned long long)epoch, (unsigned long long)self->epoch);
    //  The event carries the name as a name: no subscriber could read it otherwise.
    if (registry && (!*registry || strlen (registry) > ZF_MAX_NAME))
        return zf_core_fail (self, ZF_E_INVALID, "registry name empty or longer than ZF_MAX_NAME");
    zf_core_begin (self);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_EPOCH);
    ev.value = (int64_t)epoch;
    ev.executor = registry;
    ev.detail = detail;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    zf_core_end (self);
    return rc;
}

//  Puts an error on the bus in sequence.
int
zf_engine_report_error (zf_engine_t *self, const char *service, const char *message)
{
    assert (self);
    zf_core_begin (self);
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_ERROR);
    ev.executor = service;
    ev.detail = message;
    int rc = zf_core_commit (self, &ev, NULL, 0);
    zf_core_end (self);
    return rc;
}

//  Asks the dispatcher about every in-flight shard of task t, marking the
//  lost ones; returns how many are lost and adds the live ones to *live.
static uint32_t
s_mark_lost (zf_run_t *run, uint32_t t, zf_engine_live_fn *is_live, void *arg, uint32_t *live)
{
    uint32_t count, lost = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    zf_task_key_t key = {run->flow->name, run->date, run->ver->def->tasks[t].id, 0, 0};
    for (uint32_t i = 0; i < count; i++) {
        if (!zf_core_in_flight (shards[i].state)) continue;
        key.shard = zf_core_key_shard (count, i);
        key.attempt = shards[i].attempt;
        if (is_live && is_live (&key, arg))
            (*live)++;
        else {
            shards[i].marks |= ZF_SH_PICKED;
            lost++;
        }
    }
    return lost;
}

//  Clears the transient marks recovery set on a task's shards.
static void
s_clear_marks (zf_run_t *run, uint32_t t)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    for (uint32_t i = 0; i < count; i++)
        shards[i].marks &= (uint8_t)~ZF_SH_PICKED;
}

//  Rolls back every in-flight shard of the first runs runs that is_live
//  does not report and queues it again at attempt + 1 with its rollback
//  flagged, adding to counts[r]. Returns the number rolled back, or a
//  ZF_E_* code. Runs inside a decision (begin/end by the caller).
static int
s_roll_back_lost (zf_engine_t *self, size_t runs, zf_engine_live_fn *is_live, void *live_arg,
                  zf_engine_recovery_t *counts)
{
    int rolled_back = 0;
    for (size_t r = 0; r < runs; r++) {
        zf_run_t *run = self->runs[r];
        if (run->archived || run->ssum[ZF_TS_DISPATCHED] + run->ssum[ZF_TS_RUNNING] == 0) continue;
        for (uint32_t t = 0; t < run->ver->def->task_count; t++) {
            zf_tinst_t *ti = &run->tasks[t];
            if (ti->counts[ZF_TS_DISPATCHED] + ti->counts[ZF_TS_RUNNING] == 0) continue;
            uint32_t lost = s_mark_lost (run, t, is_live, live_arg, &counts[r].live);
            int moved = 0;
            if (lost) {
                moved = zf_core_emit_shards (self, run, t, ZF_SHARD_WHOLE, S_IN_FLIGHT,
                                             ZF_SH_PICKED, ZF_TS_ROLLED_BACK, 0, NULL);
                if (moved >= 0)
                    moved = zf_core_emit_shards (self, run, t, ZF_SHARD_WHOLE,
                                                 ZF_BIT (ZF_TS_ROLLED_BACK), ZF_SH_PICKED,
                                                 ZF_TS_READY, 1, NULL);
                counts[r].rolled_back += lost;
                rolled_back += (int)lost;
            }
            s_clear_marks (run, t);
            if (moved < 0) return moved;
        }
    }
    return rolled_back;
}

//  Hands the counts of every run that had anything to recover to fn.
static void
s_report_counts (zf_engine_t *self, size_t runs, zf_engine_recovery_t *counts,
                 zf_engine_recovery_fn *fn, void *arg)
{
    for (size_t r = 0; r < runs && fn; r++) {
        zf_engine_recovery_t *entry = &counts[r];
        if (entry->rolled_back + entry->live + entry->confirmed == 0) continue;
        entry->flow = self->runs[r]->flow->name;
        entry->date = self->runs[r]->date;
        fn (entry, arg);
    }
}

//  Recovers after a cold restart from durable state.
int
zf_engine_recover (zf_engine_t *self, uint64_t durable, zf_engine_live_fn *is_live, void *live_arg,
                   zf_engine_recovery_fn *fn, void *arg)
{
    assert (self);
    self->error[0] = 0;
    //  Day rolls while settling may open runs; only these ones are reported.
    size_t runs = self->run_count;
    zf_engine_recovery_t *counts = calloc (runs + 1, sizeof (zf_engine_recovery_t));
    if (!counts) return zf_core_fail (self, ZF_E_LIMIT, "out of memory for recovery");
    zf_core_begin (self);
    //  What the archiver holds is durable; a newer copy's later successes
    //  wait for its ARCHIVED, as live ones do.
    uint64_t upto = durable < self->seq ? durable : self->seq;
    size_t held = 0;
    for (; held < self->successes.count; held++) {
        const zf_success_t *entry = zf_ring_at (&self->successes, held);
        if (entry->seq > upto) break;
        counts[entry->run].confirmed += s_unconfirmed (self, entry);
    }
    int rc = 0;
    if (held > 0) {
        zf_event_t ev;
        zf_core_event_init (&ev, ZF_EV_CONFIRM);
        ev.value = (int64_t)upto;
        rc = zf_core_commit (self, &ev, NULL, 0);
    }
    if (rc == 0) rc = s_roll_back_lost (self, runs, is_live, live_arg, counts);
    zf_core_settle_all (self);
    zf_core_end (self);
    s_report_counts (self, runs, counts, fn, arg);
    free (counts);
    return rc;
}

//  Queues again the in-flight work a restarted dispatcher no longer holds.
int
zf_engine_requeue_lost (zf_engine_t *self, zf_engine_live_fn *is_live, void *live_arg,
                        zf_engine_recovery_fn *fn, void *arg)
{
    assert (self);
    self->error[0] = 0;
    if (self->inflight_shards == 0) return 0;
    size_t runs = self->run_count;
    zf_engine_recovery_t *counts = calloc (runs + 1, sizeof (zf_engine_recovery_t));
    if (!counts) return zf_core_fail (self, ZF_E_LIMIT, "out of memory for requeue");
    zf_core_begin (self);
    int rc = s_roll_back_lost (self, runs, is_live, live_arg, counts);
    zf_core_end (self);
    s_report_counts (self, runs, counts, fn, arg);
    free (counts);
    return rc;
}
