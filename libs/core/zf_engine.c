/*  zf_engine.c - the engine's life cycle, errors and the shape of a decision.

    A decision (any zf_engine_* call that changes state) runs as:
    zf_core_begin takes the time; the decision commits its events one by one
    through zf_core_commit, which numbers each, applies it with the same
    zf_engine_apply replicas use and hands it to the listener; zf_core_end
    then decides what the fold found along the way - tasks that became
    eligible (their last dependency got done, their run began) and runs whose
    counts moved - which may commit more events and find more, until nothing
    is left. The fold only collects; every choice is made here, on the
    deciding engine, and travels to replicas as events.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Makes a new, empty engine.
zf_engine_t *
zf_engine_new (zf_clock_t *clock)
{
    assert (clock);
    zf_engine_t *self = calloc (1, sizeof (zf_engine_t));
    if (!self) return NULL;
    self->clock = clock;
    self->flow_names = zf_intern_new ();
    self->executors = zf_intern_new ();
    if (!self->flow_names || !self->executors) {
        zf_engine_destroy (&self);
        return NULL;
    }
    zf_ring_init (&self->ready, sizeof (zf_qentry_t));
    zf_ring_init (&self->successes, sizeof (zf_success_t));
    return self;
}

//  Destroys the engine and everything it holds.
void
zf_engine_destroy (zf_engine_t **self_p)
{
    assert (self_p);
    zf_engine_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->run_count; i++)
        zf_core_run_free (self->runs[i]);
    free (self->runs);
    for (size_t i = 0; i < self->flow_count; i++) {
        zf_flowent_t *flow = self->flows[i];
        for (uint32_t v = 0; v < flow->version_count; v++)
            zf_plan_destroy (&flow->versions[v]);
        free (flow->versions);
        free (flow->by_date);
        free (flow->pending);
        zf_ring_destroy (&flow->parked);
        free (flow);
    }
    free (self->flows);
    zf_ring_destroy (&self->ready);
    zf_ring_destroy (&self->successes);
    zf_heap_destroy (&self->timers);
    free (self->eligible);
    free (self->dirty);
    free (self->order_shards);
    zf_flow_destroy (&self->pending_flow);
    zf_intern_destroy (&self->flow_names);
    zf_intern_destroy (&self->executors);
    free (self);
    *self_p = NULL;
}

//  Sets the listener for events a decision applies.
void
zf_engine_set_listener (zf_engine_t *self, zf_engine_listener_fn *fn, void *arg)
{
    assert (self);
    self->listener = fn;
    self->listener_arg = arg;
}

//  Returns why the last call failed.
const char *
zf_engine_last_error (zf_engine_t *self)
{
    assert (self);
    return self->error;
}

//  Names an error code.
const char *
zf_engine_error_name (int code)
{
    static const char *names[] = {"ok",       "unknown_flow", "unknown_run", "unknown_task",
                                  "conflict", "invalid",      "gap",         "stale",
                                  "limit",    "archived"};
    return code <= 0 && code >= ZF_E_ARCHIVED ? names[-code] : "?";
}

//  Returns the seq of the last event applied.
uint64_t
zf_engine_seq (zf_engine_t *self)
{
    assert (self);
    return self->seq;
}

//  Returns the current epoch.
uint64_t
zf_engine_epoch (zf_engine_t *self)
{
    assert (self);
    return self->epoch;
}

//  Returns the confirm watermark.
uint64_t
zf_engine_confirmed (zf_engine_t *self)
{
    assert (self);
    return self->confirmed;
}

//  Fills counters for metrics.
void
zf_engine_stats (zf_engine_t *self, zf_engine_stats_t *stats)
{
    assert (self);
    assert (stats);
    memset (stats, 0, sizeof (*stats));
    stats->seq = self->seq;
    stats->epoch = self->epoch;
    stats->confirmed = self->confirmed;
    stats->flows = self->flow_count;
    stats->runs = self->run_count;
    stats->archived = self->archived_runs;
    stats->shards = self->shard_total;
    stats->ready = self->ready_shards;
    stats->in_flight = self->inflight_shards;
    stats->unconfirmed = self->unconfirmed;
    stats->timers = self->timers.count;
}

//  Records why a call fails.
int
zf_core_fail (zf_engine_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof (self->error), format, args);
    va_end (args);
    return code;
}

//  An event with every field absent.
void
zf_core_event_init (zf_event_t *event, int kind)
{
    memset (event, 0, sizeof (*event));
    event->kind = (uint8_t)kind;
    event->date = ZF_DATE_NONE;
    event->shard = ZF_SHARD_WHOLE;
}

//  Starts a decision.
void
zf_core_begin (zf_engine_t *self)
{
    assert (!self->deciding);
    assert (!self->restoring);
    self->deciding = true;
    self->now = zf_clock_now (self->clock);
    self->error[0] = 0;
}

//  Numbers, applies and publishes one event of a decision.
int
zf_core_commit (zf_engine_t *self, zf_event_t *event, zf_run_t *hint, uint32_t task)
{
    event->seq = self->seq + 1;
    event->time = self->now;
    self->hint_run = hint;
    self->hint_task = task;
    char error[sizeof (self->error)];
    memcpy (error, self->error, sizeof (error));
    int rc = zf_engine_apply (self, event);
    self->hint_run = NULL;
    if (rc == ZF_E_LIMIT) return rc;
    //  The decision made this event from the engine's own state; if the fold
    //  refuses it, the engine is wrong, not its input.
    assert (rc == 0);
    memcpy (self->error, error, sizeof (error));
    if (self->listener) self->listener (event, self->listener_arg);
    return 0;
}

//  Ends a decision: decides eligible tasks and checks dirty runs until
//  neither has anything left.
int
zf_core_end (zf_engine_t *self)
{
    uint64_t before = self->seq;
    size_t checked = 0;
    while (self->eligible_head < self->eligible_count || checked < self->dirty_count) {
        while (self->eligible_head < self->eligible_count) {
            zf_tref_t ref = self->eligible[self->eligible_head++];
            zf_run_t *run = self->runs[ref.run];
            if (run->archived) continue;
            run->tasks[ref.task].flags &= (uint8_t)~ZF_TI_ELIGIBLE;
            zf_core_decide_task (self, run, ref.task);
        }
        self->eligible_head = self->eligible_count = 0;
        while (checked < self->dirty_count && self->eligible_count == 0) {
            zf_run_t *run = self->runs[self->dirty[checked++]];
            run->dirty = false;
            zf_core_check_run (self, run);
        }
    }
    self->dirty_count = 0;
    self->deciding = false;
    return (int)(self->seq - before);
}
