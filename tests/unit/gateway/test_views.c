/*  Views from an engine built here: FLOWDEF, RUNVIEW and TASKVIEW fields,
    what each kind of event marks changed (each task once per batch), the
    successes a CONFIRM turns into changes (also after a snapshot), and the
    executors table. A deciding engine makes the events; a replica applies
    them as the gateway's would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executors.h"
#include "mp.h"
#include "views.h"
#include "views_harness.h"

//  The flow of these tests.
static const char *s_flow = "flow: demo\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: load\n"
                            "    after: [start]\n"
                            "    not_before: \"16:30\"\n"
                            "    run: ./load.sh\n"
                            "  - id: accrue\n"
                            "    after: [load]\n"
                            "    shards: [bonds, fx, equities]\n"
                            "    service: accrue\n"
                            "    speculative: true\n"
                            "  - id: report\n"
                            "    after: [accrue, report@-1]\n"
                            "    run: ./report.sh\n";

//  The engines and the changes, and the date of the runs.
typedef struct {
    views_harness_t *h; //  clock (2026-11-24 10:00 UTC), engine, replica, changes
    zf_date_t date;     //  2026-11-23, a date that has begun
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->h = vh_new ("2026-11-24", 10);
    zf_date_parse ("2026-11-23", &fx->date);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    vh_destroy (&fx->h);
    free (fx);
    return 0;
}

//  The operations of one delta, decoded.
typedef struct {
    int flows, runs, tasks;    //  operations by type
    msgpack_unpacked flow;     //  the last FLOWDEF
    msgpack_unpacked run;      //  the last run's fields, as a map
    msgpack_unpacked task[16]; //  TASKVIEWs, in order
    char task_ids[16][32];     //  their ids
} s_ops_t;

//  Writes the changes into a delta and decodes its operations.
static void
s_write (fixture_t *fx, s_ops_t *ops)
{
    memset (ops, 0, sizeof *ops);
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    zf_gw_views_write_changes (fx->h->replica, fx->h->changes, delta);
    assert_true (zf_gw_changes_empty (fx->h->changes));
    size_t offset = 0;
    zf_gw_op_t op;
    while (zf_gw_delta_next (delta, &offset, &op)) {
        if (op.type == ZF_GW_OP_FLOW) {
            if (ops->flows++) msgpack_unpacked_destroy (&ops->flow);
            vh_view (&op, &ops->flow);
        } else if (op.type == ZF_GW_OP_RUN) {
            if (ops->runs++) msgpack_unpacked_destroy (&ops->run);
            vh_view (&op, &ops->run);
        } else if (op.type == ZF_GW_OP_TASK) {
            assert_true (ops->tasks < 16);
            vh_view (&op, &ops->task[ops->tasks]);
            mp_text (&ops->task[ops->tasks].data, "id", ops->task_ids[ops->tasks], 32);
            char name[32];
            mp_text (&ops->task[ops->tasks].data, "state", name, sizeof name);
            assert_int_equal (zf_task_state_parse (name), op.state);
            ops->tasks++;
        }
    }
    zf_gw_delta_destroy (&delta);
}

//  Frees what s_write decoded.
static void
s_free (s_ops_t *ops)
{
    if (ops->flows) msgpack_unpacked_destroy (&ops->flow);
    if (ops->runs) msgpack_unpacked_destroy (&ops->run);
    for (int i = 0; i < ops->tasks; i++)
        msgpack_unpacked_destroy (&ops->task[i]);
}

//  The TASKVIEW of id among the operations, or NULL.
static const msgpack_object *
s_task (s_ops_t *ops, const char *id)
{
    for (int i = 0; i < ops->tasks; i++)
        if (strcmp (ops->task_ids[i], id) == 0) return &ops->task[i].data;
    return NULL;
}

//  Submits the flow and opens the run of fx->date.
static void
s_open (fixture_t *fx)
{
    assert_int_equal (zf_engine_submit (fx->h->engine, s_flow, strlen (s_flow), "demo.yaml", NULL),
                      1);
    assert_int_equal (zf_engine_start (fx->h->engine, "demo", fx->date), 0);
}

//  Takes the next order, which must be for task.
static void
s_order (fixture_t *fx, const char *task)
{
    zf_engine_order_t order;
    assert_int_equal (zf_engine_next_order (fx->h->engine, &order), 1);
    assert_string_equal (order.task_id, task);
}

//  Reports one attempt running and then its result.
static void
s_run (fixture_t *fx, const char *task, int32_t shard, zf_outcome_t outcome, int exit_status,
       const char *executor)
{
    zf_task_key_t key = {"demo", fx->date, task, shard, 1};
    assert_int_equal (zf_engine_running (fx->h->engine, &key, executor), 0);
    assert_int_equal (zf_engine_result (fx->h->engine, &key, outcome, exit_status, executor,
                                        outcome == ZF_OUTCOME_SUCCEEDED ? NULL : "it broke"),
                      0);
}

static void
test_flowdef (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (zf_engine_submit (fx->h->engine, s_flow, strlen (s_flow), "demo.yaml", NULL),
                      1);
    s_ops_t ops;
    s_write (fx, &ops);
    assert_int_equal (ops.flows, 1);
    assert_int_equal (ops.runs, 0);
    const msgpack_object *flow = &ops.flow.data;
    assert_true (mp_has_keys (flow, "name", "version", "paused", "timezone", "tasks", NULL));
    assert_true (mp_key_is (flow, "name", "demo"));
    assert_int_equal (mp_int (flow, "version", 0), 1);
    assert_false (mp_bool (flow, "paused", true));
    assert_true (mp_key_is (flow, "timezone", "UTC"));
    const msgpack_object *tasks = mp_get (flow, "tasks");
    assert_int_equal (tasks->via.array.size, 4);
    const msgpack_object *start = &tasks->via.array.ptr[0];
    assert_true (mp_has_keys (start, "id", "kind", "service", "after", "shards", "shard_keys",
                              "not_before", "speculative", NULL));
    assert_true (mp_key_is (start, "kind", "start"));
    assert_int_equal (mp_get (start, "service")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal (mp_get (start, "shard_keys")->type, MSGPACK_OBJECT_NIL);
    const msgpack_object *load = &tasks->via.array.ptr[1];
    assert_true (mp_key_is (load, "kind", "run"));
    assert_true (mp_key_is (load, "not_before", "16:30"));
    assert_int_equal (mp_int (load, "shards", -1), 0);
    const msgpack_object *accrue = &tasks->via.array.ptr[2];
    assert_true (mp_key_is (accrue, "kind", "service"));
    assert_true (mp_key_is (accrue, "service", "accrue"));
    assert_int_equal (mp_int (accrue, "shards", 0), 3);
    assert_true (mp_bool (accrue, "speculative", false));
    const msgpack_object *keys = mp_get (accrue, "shard_keys");
    assert_int_equal (keys->via.array.size, 3);
    assert_true (mp_str_is (&keys->via.array.ptr[1], "fx"));
    const msgpack_object *after = mp_get (&tasks->via.array.ptr[3], "after");
    assert_int_equal (after->via.array.size, 2);
    assert_true (mp_str_is (&after->via.array.ptr[0], "accrue"));
    assert_true (mp_str_is (&after->via.array.ptr[1], "report@-1"));
    s_free (&ops);
}

static void
test_run_and_tasks (void **state)
{
    fixture_t *fx = *state;
    s_open (fx);
    s_ops_t ops;
    s_write (fx, &ops);
    //  A new run: its fields and every task, each once.
    assert_int_equal (ops.runs, 1);
    assert_int_equal (ops.tasks, 4);
    const msgpack_object *run = &ops.run.data;
    assert_true (
        mp_has_keys (run, "flow", "date", "version", "state", "paused", "started", "ended", NULL));
    assert_true (mp_key_is (run, "date", "2026-11-23"));
    assert_true (mp_key_is (run, "state", "running"));
    assert_true (mp_int (run, "started", 0) > 0);
    const msgpack_object *start = s_task (&ops, "start");
    assert_true (mp_is_taskview (start));
    assert_true (mp_key_is (start, "state", "succeeded"));
    assert_int_equal (mp_int (start, "shards_total", 0), 1);
    assert_int_equal (mp_int (start, "shards_done", 0), 1);
    assert_int_equal (mp_get (start, "executor")->type, MSGPACK_OBJECT_NIL);
    //  load's time of day has passed on that date: it is ready at once.
    assert_true (mp_key_is (s_task (&ops, "load"), "state", "ready"));
    const msgpack_object *accrue = s_task (&ops, "accrue");
    assert_true (mp_key_is (accrue, "state", "waiting"));
    assert_int_equal (mp_int (accrue, "shards_total", 0), 3);
    s_free (&ops);

    //  Dispatch, running, success in one batch: one TASKVIEW, the latest.
    s_order (fx, "load");
    s_run (fx, "load", ZF_SHARD_SOLE, ZF_OUTCOME_SUCCEEDED, 0, "ex1");
    assert_true (zf_gw_changes_task_count (fx->h->changes) > 3);
    s_write (fx, &ops);
    assert_int_equal (ops.runs, 1);
    assert_int_equal (ops.tasks, 2);
    const msgpack_object *load = s_task (&ops, "load");
    assert_true (mp_key_is (load, "state", "succeeded"));
    assert_true (mp_key_is (load, "executor", "ex1"));
    assert_int_equal (mp_int (load, "attempt", 0), 1);
    assert_true (mp_int (load, "started", 0) > 0);
    assert_true (mp_int (load, "ended", 0) >= mp_int (load, "started", 0));
    assert_true (mp_key_is (s_task (&ops, "accrue"), "state", "ready"));
    s_free (&ops);

    //  A sharded task: one shard fails while the others are dispatched.
    s_order (fx, "accrue");
    s_run (fx, "accrue", 1, ZF_OUTCOME_FAILED, 3, "ex2");
    s_write (fx, &ops);
    assert_int_equal (ops.tasks, 1);
    accrue = s_task (&ops, "accrue");
    assert_true (mp_key_is (accrue, "state", "failed"));
    assert_int_equal (mp_int (accrue, "shards_failed", 0), 1);
    assert_int_equal (mp_int (accrue, "shards_running", 0), 2);
    assert_int_equal (mp_int (accrue, "exit_status", 0), 3);
    char detail[64];
    assert_string_equal (mp_text (accrue, "detail", detail, sizeof detail), "it broke");
    s_free (&ops);
}

static void
test_confirm_and_pause (void **state)
{
    fixture_t *fx = *state;
    s_open (fx);
    s_order (fx, "load");
    s_run (fx, "load", ZF_SHARD_SOLE, ZF_OUTCOME_SUCCEEDED, 0, "ex1");
    s_ops_t ops;
    s_write (fx, &ops);
    s_free (&ops);
    //  start and load succeeded and wait for the archiver.
    assert_int_equal (zf_gw_changes_unconfirmed (fx->h->changes), 2);
    assert_true (zf_engine_confirm (fx->h->engine, fx->h->last_success) > 0);
    assert_int_equal (zf_gw_changes_unconfirmed (fx->h->changes), 0);
    s_write (fx, &ops);
    assert_int_equal (ops.tasks, 2);
    assert_true (mp_key_is (s_task (&ops, "load"), "state", "confirmed"));
    assert_true (mp_key_is (s_task (&ops, "start"), "state", "confirmed"));
    s_free (&ops);

    //  A pause changes the flow and every run of it, no task.
    assert_int_equal (zf_engine_pause (fx->h->engine, "demo"), 0);
    s_write (fx, &ops);
    assert_int_equal (ops.flows, 1);
    assert_int_equal (ops.runs, 1);
    assert_int_equal (ops.tasks, 0);
    assert_true (mp_bool (&ops.flow.data, "paused", false));
    assert_true (mp_bool (&ops.run.data, "paused", false));
    s_free (&ops);
}

static void
test_due (void **state)
{
    fixture_t *fx = *state;
    assert_int_equal (zf_engine_submit (fx->h->engine, s_flow, strlen (s_flow), "demo.yaml", NULL),
                      1);
    zf_date_t today = fx->date + 1;
    assert_int_equal (zf_engine_start (fx->h->engine, "demo", today), 0);
    s_ops_t ops;
    s_write (fx, &ops);
    //  Today at 10:00: load waits for 16:30.
    const msgpack_object *load = s_task (&ops, "load");
    assert_true (mp_key_is (load, "state", "waiting"));
    assert_int_equal (mp_int (load, "due", 0), (int64_t)today * 86400000 + 16 * 3600000 + 1800000);
    s_free (&ops);
}

//  Feeds snapshot items to a restoring engine and the changes, as the replica does.
static int
s_restore_item (const zf_event_t *event, void *arg)
{
    fixture_t *fx = arg;
    assert_int_equal (zf_engine_apply (fx->h->replica, event), 0);
    zf_gw_changes_snapshot_item (fx->h->changes, fx->h->replica, event);
    return 0;
}

static void
test_snapshot_successes (void **state)
{
    fixture_t *fx = *state;
    s_open (fx);
    s_order (fx, "load");
    s_run (fx, "load", ZF_SHARD_SOLE, ZF_OUTCOME_SUCCEEDED, 0, "ex1");
    //  A new replica from a snapshot remembers the unconfirmed successes.
    zf_engine_destroy (&fx->h->replica);
    fx->h->replica = zf_engine_new (fx->h->clock);
    zf_gw_changes_reset (fx->h->changes);
    assert_int_equal (zf_engine_restore_begin (fx->h->replica), 0);
    int64_t seq_at = zf_engine_snapshot (fx->h->engine, s_restore_item, fx);
    assert_true (seq_at > 0);
    assert_int_equal (zf_engine_restore_end (fx->h->replica, (uint64_t)seq_at), 0);
    zf_gw_changes_snapshot_end (fx->h->changes);
    assert_true (zf_gw_changes_unconfirmed (fx->h->changes) >= 2);
    //  Everything at once, as after a snapshot.
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    zf_gw_views_write_all (fx->h->replica, delta);
    size_t offset = 0, count[6] = {0};
    zf_gw_op_t op;
    while (zf_gw_delta_next (delta, &offset, &op))
        count[op.type]++;
    assert_int_equal (count[ZF_GW_OP_FLOW], 1);
    assert_int_equal (count[ZF_GW_OP_RUN], 1);
    assert_int_equal (count[ZF_GW_OP_TASK], 4);
    zf_gw_delta_destroy (&delta);
    //  The confirmation marks the tasks the snapshot said were waiting for it.
    zf_engine_confirm (fx->h->engine, fx->h->last_success);
    assert_int_equal (zf_gw_changes_unconfirmed (fx->h->changes), 0);
    s_ops_t ops;
    s_write (fx, &ops);
    assert_int_equal (ops.tasks, 2);
    assert_true (mp_key_is (s_task (&ops, "load"), "state", "confirmed"));
    s_free (&ops);
}

//  Decodes the EXECUTOR views of the executors that changed.
static int
s_executors (zf_gw_executors_t *executors, msgpack_unpacked *views, int max, bool all)
{
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    zf_gw_executors_write (executors, delta, all);
    size_t offset = 0;
    zf_gw_op_t op;
    int count = 0;
    while (zf_gw_delta_next (delta, &offset, &op)) {
        assert_int_equal (op.type, ZF_GW_OP_EXECUTOR);
        assert_true (count < max);
        vh_view (&op, &views[count++]);
    }
    zf_gw_delta_destroy (&delta);
    return count;
}

static void
test_executors (void **state)
{
    zf_gw_executors_t *executors = zf_gw_executors_new ();
    zf_dispevent_t join = {.seq = 1,
                           .time = 1000,
                           .kind = ZF_DE_WORKER_JOIN,
                           .worker = "ex1",
                           .date = ZF_DATE_NONE,
                           .shard = ZF_SHARD_WHOLE,
                           .detail = "slots=4 services=2"};
    zf_gw_executors_event (executors, &join);
    zf_dispevent_t assign = join;
    assign.kind = ZF_DE_ASSIGN;
    assign.service = "settle";
    assign.detail = NULL;
    zf_gw_executors_event (executors, &assign);
    zf_gw_executors_event (executors, &assign);
    zf_gw_executors_running (executors, "ex1", 1);
    zf_gw_executors_running (executors, "ex1", 1);
    zf_gw_executors_running (executors, "ex1", -1);
    //  Known only from the registry's running shards.
    zf_gw_executors_running (executors, "ex2", 1);
    assert_true (zf_gw_executors_dirty (executors));
    msgpack_unpacked views[4];
    assert_int_equal (s_executors (executors, views, 4, false), 2);
    assert_false (zf_gw_executors_dirty (executors));
    const msgpack_object *ex1 = &views[0].data;
    assert_true (
        mp_has_keys (ex1, "name", "live", "services", "slots", "running", "joined", "lost", NULL));
    assert_true (mp_key_is (ex1, "name", "ex1"));
    assert_true (mp_bool (ex1, "live", false));
    assert_int_equal (mp_get (ex1, "services")->via.array.size, 1);
    assert_true (mp_str_is (&mp_get (ex1, "services")->via.array.ptr[0], "settle"));
    assert_int_equal (mp_int (ex1, "slots", 0), 4);
    assert_int_equal (mp_int (ex1, "running", 0), 1);
    assert_int_equal (mp_int (ex1, "joined", 0), 1000);
    assert_int_equal (mp_int (ex1, "lost", -1), 0);
    msgpack_unpacked_destroy (&views[0]);
    msgpack_unpacked_destroy (&views[1]);

    zf_dispevent_t lost = join;
    lost.kind = ZF_DE_WORKER_LOST;
    lost.time = 2000;
    lost.detail = NULL;
    zf_gw_executors_event (executors, &lost);
    size_t live = 0, gone = 0;
    zf_gw_executors_counts (executors, &live, &gone);
    assert_int_equal (live, 1);
    assert_int_equal (gone, 1);
    assert_int_equal (s_executors (executors, views, 4, false), 1);
    assert_false (mp_bool (&views[0].data, "live", true));
    assert_int_equal (mp_int (&views[0].data, "lost", 0), 2000);
    msgpack_unpacked_destroy (&views[0]);
    //  A new dispatcher: every executor is lost until it joins again.
    zf_gw_executors_restart (executors, 3000);
    zf_gw_executors_counts (executors, &live, &gone);
    assert_int_equal (live, 0);
    assert_int_equal (s_executors (executors, views, 4, true), 2);
    msgpack_unpacked_destroy (&views[0]);
    msgpack_unpacked_destroy (&views[1]);
    zf_gw_executors_destroy (&executors);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_flowdef, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_run_and_tasks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_confirm_and_pause, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_due, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_successes, s_setup, s_teardown),
        cmocka_unit_test (test_executors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
