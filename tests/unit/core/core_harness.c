/*  core_harness.c - the engine test fixture: see core_harness.h. */
#include "core_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Applies every event the engine makes to the replicas, and logs it.
static void
s_listen (const zf_event_t *event, void *arg)
{
    harness_t *self = arg;
    assert_int_equal (zf_engine_apply (self->replica, event), 0);
    if (self->restored) assert_int_equal (zf_engine_apply (self->restored, event), 0);
    if (self->log_count == self->log_capacity) {
        self->log_capacity = self->log_capacity ? self->log_capacity * 2 : 256;
        self->log = realloc (self->log, self->log_capacity * sizeof (h_event_t));
        assert_non_null (self->log);
    }
    h_event_t *entry = &self->log[self->log_count++];
    memset (entry, 0, sizeof (*entry));
    entry->seq = event->seq;
    entry->kind = event->kind;
    entry->state = event->state;
    snprintf (entry->flow, sizeof (entry->flow), "%s", event->flow ? event->flow : "");
    snprintf (entry->task, sizeof (entry->task), "%s", event->task ? event->task : "");
    entry->date = event->date;
    entry->shard = event->shard;
    entry->attempt = event->attempt;
    entry->value = event->value;
    entry->time = event->time;
    snprintf (entry->executor, sizeof (entry->executor), "%s",
              event->executor ? event->executor : "");
    snprintf (entry->detail, sizeof (entry->detail), "%s", event->detail ? event->detail : "");
}

//  Days since the epoch of a date.
zf_date_t
h_date (const char *text)
{
    zf_date_t date;
    assert_int_equal (zf_date_parse (text, &date), 0);
    return date;
}

//  An instant from a local date and time in a zone.
int64_t
h_at (const char *tz, const char *date, int hour, int minute)
{
    return zf_tz_instant (tz, h_date (date), hour * 60 + minute);
}

//  Makes the fixture: a fake clock, the engine, its replica.
harness_t *
h_new (const char *date, int hour, int minute)
{
    harness_t *self = calloc (1, sizeof (harness_t));
    assert_non_null (self);
    self->clock = zf_clock_new_fake (h_at ("UTC", date, hour, minute));
    assert_non_null (self->clock);
    self->engine = zf_engine_new (self->clock);
    self->replica = zf_engine_new (self->clock);
    assert_non_null (self->engine);
    assert_non_null (self->replica);
    zf_engine_set_listener (self->engine, s_listen, self);
    return self;
}

//  Checks the replicas a last time and frees the fixture.
void
h_destroy (harness_t **self_p)
{
    harness_t *self = *self_p;
    if (!self) return;
    h_check (self);
    zf_engine_destroy (&self->engine);
    zf_engine_destroy (&self->replica);
    zf_engine_destroy (&self->restored);
    zf_clock_destroy (&self->clock);
    free (self->log);
    free (self);
    *self_p = NULL;
}

int
h_teardown (void **state)
{
    harness_t *h = *state;
    h_destroy (&h);
    return 0;
}

//  Submits a flow, printing the parser's messages if it fails.
int
h_submit (harness_t *self, const char *yaml)
{
    zf_flow_errors_t errors = {0};
    int version = zf_engine_submit (self->engine, yaml, strlen (yaml), "test.yaml", &errors);
    for (uint32_t i = 0; i < errors.count; i++)
        fprintf (stderr, "%s\n", errors.lines[i]);
    zf_flow_errors_clear (&errors);
    assert_true (version >= 1);
    return version;
}

//  Moves the clock and ticks.
void
h_goto (harness_t *self, int64_t instant)
{
    zf_clock_set (self->clock, instant);
    zf_engine_tick (self->engine);
    h_check (self);
}

//  Compares the replicas' digests with the engine's.
void
h_check (harness_t *self)
{
    uint64_t digest = zf_engine_digest (self->engine);
    assert_int_equal (zf_engine_seq (self->replica), zf_engine_seq (self->engine));
    assert_true (zf_engine_digest (self->replica) == digest);
    if (self->restored) assert_true (zf_engine_digest (self->restored) == digest);
}

//  Applies a snapshot event to the engine being restored.
static int
s_restore_one (const zf_event_t *event, void *arg)
{
    int rc = zf_engine_apply (arg, event);
    if (rc) fprintf (stderr, "restore: %s\n", zf_engine_last_error (arg));
    assert_int_equal (rc, 0);
    return 0;
}

//  Builds the restored engine from a snapshot of the engine.
void
h_restore (harness_t *self)
{
    zf_engine_destroy (&self->restored);
    self->restored = zf_engine_new (self->clock);
    assert_non_null (self->restored);
    assert_int_equal (zf_engine_restore_begin (self->restored), 0);
    int64_t seq = zf_engine_snapshot (self->engine, s_restore_one, self->restored);
    assert_true (seq >= 0);
    assert_int_equal (zf_engine_restore_end (self->restored, (uint64_t)seq), 0);
    h_check (self);
}

//  Index of a task in the run's version.
static uint32_t
s_index (harness_t *self, const char *flow, zf_date_t date, const char *task)
{
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (self->engine, flow, date, &run), 0);
    int32_t index = zf_flow_task_index (run.definition, task);
    assert_true (index >= 0);
    return (uint32_t)index;
}

//  Summary state of a task.
int
h_task_state (harness_t *self, const char *flow, zf_date_t date, const char *task)
{
    zf_engine_task_info_t info;
    assert_int_equal (
        zf_engine_task_info (self->engine, flow, date, s_index (self, flow, date, task), &info), 0);
    return info.state;
}

//  Highest attempt of a task's shards.
uint32_t
h_task_attempt (harness_t *self, const char *flow, zf_date_t date, const char *task)
{
    zf_engine_task_info_t info;
    assert_int_equal (
        zf_engine_task_info (self->engine, flow, date, s_index (self, flow, date, task), &info), 0);
    return info.attempt;
}

//  State of one shard.
int
h_shard_state (harness_t *self, const char *flow, zf_date_t date, const char *task, int32_t shard)
{
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (self->engine, flow, date,
                                            s_index (self, flow, date, task), shard, &info),
                      0);
    return info.state;
}

//  State of a run, or -1.
int
h_run_state (harness_t *self, const char *flow, zf_date_t date)
{
    zf_engine_run_info_t run;
    if (zf_engine_run_info (self->engine, flow, date, &run)) return -1;
    return run.state;
}

//  Takes the next order, which must exist (and be for task).
zf_engine_order_t
h_order (harness_t *self, const char *task)
{
    zf_engine_order_t order;
    int found = zf_engine_next_order (self->engine, &order);
    if (found != 1) fail_msg ("no order ready (wanted %s)", task ? task : "any");
    if (task) assert_string_equal (order.task_id, task);
    h_check (self);
    return order;
}

//  True if no order is ready.
bool
h_idle (harness_t *self)
{
    zf_engine_order_t order;
    int found = zf_engine_next_order (self->engine, &order);
    h_check (self);
    return found == 0;
}

//  The key of one shard of an order.
zf_task_key_t
h_key (const zf_engine_order_t *order, size_t i)
{
    zf_task_key_t key = {order->flow_name, order->date, order->task_id, order->shards[i].shard,
                         order->shards[i].attempt};
    return key;
}

//  Runs and ends every shard of an order.
void
h_finish (harness_t *self, const zf_engine_order_t *order, zf_outcome_t outcome)
{
    //  Copy the order: results change what the engine's view points at.
    size_t count = order->shard_count;
    zf_engine_shard_run_t *shards = malloc (count * sizeof (zf_engine_shard_run_t));
    assert_non_null (shards);
    memcpy (shards, order->shards, count * sizeof (zf_engine_shard_run_t));
    for (size_t i = 0; i < count; i++) {
        zf_task_key_t key = {order->flow_name, order->date, order->task_id, shards[i].shard,
                             shards[i].attempt};
        assert_int_equal (zf_engine_running (self->engine, &key, "exec-1"), 0);
        int rc =
            zf_engine_result (self->engine, &key, outcome, outcome == ZF_OUTCOME_SUCCEEDED ? 0 : 1,
                              "exec-1", outcome == ZF_OUTCOME_SUCCEEDED ? NULL : "exit 1");
        assert_int_equal (rc, 0);
    }
    free (shards);
    h_check (self);
}

//  Succeeds orders until none is ready.
int
h_drain (harness_t *self)
{
    int orders = 0;
    zf_engine_order_t order;
    while (zf_engine_next_order (self->engine, &order) == 1) {
        h_finish (self, &order, ZF_OUTCOME_SUCCEEDED);
        orders++;
        assert_true (orders < 100000);
    }
    h_check (self);
    return orders;
}

//  Counts logged events of a kind (and task).
size_t
h_count (harness_t *self, size_t from, int kind, const char *task)
{
    size_t count = 0;
    for (size_t i = from; i < self->log_count; i++)
        if (self->log[i].kind == kind && (!task || strcmp (self->log[i].task, task) == 0)) count++;
    return count;
}
