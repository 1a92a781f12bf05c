/*  Archived runs in the gateway's pieces without sockets: the views an
    engine built here gives of a run that is archived (its fields with
    "archived", no task, also when tasks of it were marked in the same
    batch, also after a snapshot restore), the web thread's store dropping
    the run's task views and counts, snapshots and updates listing it
    without tasks (an update from before the archive too), the run_status
    message made from a STATUS_REPLY, the run_status request's decoding,
    history's flag, the relay's registry request and the metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "gateway.h"
#include "metrics.h"
#include "mp.h"
#include "store.h"
#include "views.h"
#include "views_harness.h"
#include "wsmsg.h"

//  Every date is a business date, so dates run one after another.
static const char *s_flow = "flow: arc\n"
                            "calendar:\n"
                            "  weekdays: [mon, tue, wed, thu, fri, sat, sun]\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: [x, y]\n"
                            "    run: ./b.sh\n";

//  The engines, the changes and the store.
typedef struct {
    views_harness_t *h;   //  clock (2026-11-24 12:00 UTC), engine, replica, changes
    zf_gw_store_t *store; //  the web thread's views
    zf_date_t day1, day2; //  2026-11-20 and 2026-11-21
} fixture_t;

//  Starts a date and runs every shard of it to success.
static void
s_run_date (fixture_t *fx, zf_date_t date)
{
    assert_int_equal (zf_engine_start (fx->h->engine, "arc", date), 0);
    zf_engine_order_t order;
    while (zf_engine_next_order (fx->h->engine, &order)) {
        for (size_t i = 0; i < order.shard_count; i++) {
            zf_task_key_t key = {order.flow_name, order.date, order.task_id, order.shards[i].shard,
                                 order.shards[i].attempt};
            assert_int_equal (zf_engine_running (fx->h->engine, &key, "ex1"), 0);
            assert_int_equal (
                zf_engine_result (fx->h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "ex1", NULL), 0);
        }
    }
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (fx->h->engine, "arc", date, &run), 0);
    assert_int_equal (run.state, ZF_RS_SUCCEEDED);
}

//  Writes the marked changes into a new delta (a reset one with reset).
static zf_gw_delta_t *
s_delta (fixture_t *fx, bool reset)
{
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    assert_non_null (delta);
    delta->synced = true;
    delta->reset = reset;
    if (reset) {
        zf_gw_changes_clear (fx->h->changes);
        zf_gw_views_write_all (fx->h->replica, delta);
    } else
        zf_gw_views_write_changes (fx->h->replica, fx->h->changes, delta);
    return delta;
}

//  Archives every durable success but the latest run.
static void
s_archive (fixture_t *fx)
{
    assert_true (zf_engine_confirm (fx->h->engine, zf_engine_seq (fx->h->engine)) > 0);
    zf_engine_set_keep_runs (fx->h->engine, 1);
    assert_int_equal (zf_engine_archive (fx->h->engine), 1);
}

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    fx->h = vh_new ("2026-11-24", 12);
    fx->store = zf_gw_store_new (1024);
    assert_non_null (fx->store);
    zf_date_parse ("2026-11-20", &fx->day1);
    zf_date_parse ("2026-11-21", &fx->day2);
    assert_int_equal (zf_engine_submit (fx->h->engine, s_flow, strlen (s_flow), "arc.yaml", NULL),
                      1);
    s_run_date (fx, fx->day1);
    s_run_date (fx, fx->day2);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    zf_gw_store_destroy (&fx->store);
    vh_destroy (&fx->h);
    free (fx);
    return 0;
}

//  What a delta holds: its runs' operations and how many task ones follow each.
typedef struct {
    int runs;              //  RUN operations
    zf_date_t date[4];     //  their dates
    bool archived[4];      //  their flag
    uint32_t count[4];     //  their task count
    int tasks[4];          //  TASK operations after each
    msgpack_unpacked f[4]; //  their fields, as a map
} s_ops_t;

static void
s_read (zf_gw_delta_t *delta, s_ops_t *ops)
{
    memset (ops, 0, sizeof *ops);
    size_t offset = 0;
    zf_gw_op_t op;
    while (zf_gw_delta_next (delta, &offset, &op)) {
        if (op.type == ZF_GW_OP_RUN) {
            assert_true (ops->runs < 4);
            int i = ops->runs++;
            ops->date[i] = op.date;
            ops->archived[i] = op.flag;
            ops->count[i] = op.index;
            vh_view (&op, &ops->f[i]);
        } else if (op.type == ZF_GW_OP_TASK) {
            assert_true (ops->runs > 0);
            ops->tasks[ops->runs - 1]++;
        }
    }
}

static void
s_free (s_ops_t *ops)
{
    for (int i = 0; i < ops->runs; i++)
        msgpack_unpacked_destroy (&ops->f[i]);
}

//  The run of date in a message's "runs", or NULL.
static const msgpack_object *
s_run_in (const msgpack_object *msg, const char *date)
{
    const msgpack_object *runs = mp_get (msg, "runs");
    for (uint32_t i = 0; runs && i < runs->via.array.size; i++)
        if (mp_key_is (&runs->via.array.ptr[i], "date", date)) return &runs->via.array.ptr[i];
    return NULL;
}

//  Tasks held by the store, all states together.
static uint64_t
s_tasks_held (fixture_t *fx)
{
    const uint64_t *states = zf_gw_store_task_states (fx->store);
    uint64_t total = 0;
    for (int i = 0; i <= ZF_TS_MAX; i++)
        total += states[i];
    return total;
}

static void
test_views_drop_the_tasks (void **state)
{
    fixture_t *fx = *state;
    //  The web thread holds both runs and their tasks.
    zf_gw_delta_t *delta = s_delta (fx, true);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (s_tasks_held (fx), 4);
    assert_int_equal (zf_gw_store_runs (fx->store), 2);
    assert_int_equal (zf_gw_store_runs_archived (fx->store), 0);
    uint64_t before = zf_gw_store_version (fx->store);

    //  One batch: the CONFIRM marks every task (they became confirmed),
    //  then the first run is archived. Its tasks' marks come to nothing.
    s_archive (fx);
    delta = s_delta (fx, false);
    s_ops_t ops;
    s_read (delta, &ops);
    assert_int_equal (ops.runs, 2);
    int old = ops.date[0] == fx->day1 ? 0 : 1, kept = 1 - old;
    assert_true (ops.archived[old]);
    assert_int_equal (ops.count[old], 0);
    assert_int_equal (ops.tasks[old], 0);
    assert_true (mp_has_keys (&ops.f[old].data, "flow", "date", "version", "state", "paused",
                              "started", "ended", "archived", NULL));
    assert_true (mp_bool (&ops.f[old].data, "archived", false));
    assert_true (mp_key_is (&ops.f[old].data, "state", "succeeded"));
    assert_false (ops.archived[kept]);
    assert_int_equal (ops.count[kept], 2);
    assert_int_equal (ops.tasks[kept], 2);
    assert_null (mp_get (&ops.f[kept].data, "archived"));
    s_free (&ops);

    //  The store drops the archived run's task views and their counts.
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (s_tasks_held (fx), 2);
    assert_int_equal (zf_gw_store_task_states (fx->store)[ZF_TS_CONFIRMED], 2);
    assert_int_equal (zf_gw_store_runs (fx->store), 2);
    assert_int_equal (zf_gw_store_runs_archived (fx->store), 1);

    //  A browser from before gets the run with its flag and no tasks.
    zf_gw_frame_t *frame = NULL;
    assert_int_equal (zf_gw_store_update (fx->store, before, &frame), 1);
    msgpack_unpacked msg;
    assert_true (mp_parse (frame->data, frame->size, &msg));
    const msgpack_object *run = s_run_in (&msg.data, "2026-11-20");
    assert_non_null (run);
    assert_true (mp_bool (run, "archived", false));
    assert_int_equal (mp_get (run, "tasks")->via.array.size, 0);
    run = s_run_in (&msg.data, "2026-11-21");
    assert_int_equal (mp_get (run, "tasks")->via.array.size, 2);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  So does a new browser.
    frame = zf_gw_store_snapshot (fx->store);
    assert_true (mp_parse (frame->data, frame->size, &msg));
    run = s_run_in (&msg.data, "2026-11-20");
    assert_true (mp_has_keys (run, "flow", "date", "version", "state", "paused", "started", "ended",
                              "archived", "tasks", NULL));
    assert_int_equal (mp_get (run, "tasks")->via.array.size, 0);
    assert_null (mp_get (s_run_in (&msg.data, "2026-11-21"), "archived"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  Marks on the archived run's tasks (late ones) write its fields only.
    zf_gw_changes_task (fx->h->changes, "arc", fx->day1, 0);
    zf_gw_changes_task (fx->h->changes, "arc", fx->day1, 1);
    delta = s_delta (fx, false);
    s_read (delta, &ops);
    assert_int_equal (ops.runs, 1);
    assert_true (ops.archived[0]);
    assert_int_equal (ops.tasks[0], 0);
    s_free (&ops);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (zf_gw_store_runs_archived (fx->store), 1);
}

static void
test_update_across_the_archive (void **state)
{
    fixture_t *fx = *state;
    zf_gw_delta_t *delta = s_delta (fx, true);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    uint64_t before = zf_gw_store_version (fx->store);
    //  The first run's tasks change (confirmed) and reach the store, and
    //  the log; then the run is archived in a later delta.
    assert_true (zf_engine_confirm (fx->h->engine, zf_engine_seq (fx->h->engine)) > 0);
    delta = s_delta (fx, false);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (zf_gw_store_task_states (fx->store)[ZF_TS_CONFIRMED], 4);
    zf_engine_set_keep_runs (fx->h->engine, 1);
    assert_int_equal (zf_engine_archive (fx->h->engine), 1);
    delta = s_delta (fx, false);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    //  The log still names the tasks dropped: the update skips them.
    zf_gw_frame_t *frame = NULL;
    assert_int_equal (zf_gw_store_update (fx->store, before, &frame), 1);
    msgpack_unpacked msg;
    assert_true (mp_parse (frame->data, frame->size, &msg));
    const msgpack_object *run = s_run_in (&msg.data, "2026-11-20");
    assert_true (mp_bool (run, "archived", false));
    assert_int_equal (mp_get (run, "tasks")->via.array.size, 0);
    assert_int_equal (mp_get (s_run_in (&msg.data, "2026-11-21"), "tasks")->via.array.size, 2);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    assert_int_equal (s_tasks_held (fx), 2);

    //  A reset after it: the archived run comes without tasks from the start.
    delta = s_delta (fx, true);
    s_ops_t ops;
    s_read (delta, &ops);
    assert_int_equal (ops.runs, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal (ops.tasks[i], ops.date[i] == fx->day1 ? 0 : 2);
    s_free (&ops);
    assert_int_equal (zf_gw_store_apply (fx->store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (s_tasks_held (fx), 2);
    assert_int_equal (zf_gw_store_runs_archived (fx->store), 1);
}

//  zf_engine_event_fn: applies a snapshot event to the engine restoring.
static int
s_restore_event (const zf_event_t *event, void *arg)
{
    return zf_engine_apply ((zf_engine_t *)arg, event);
}

static void
test_snapshot_restore (void **state)
{
    fixture_t *fx = *state;
    s_archive (fx);
    //  A replica restored from the registry's snapshot: the archived run
    //  is run events only, and its views say so.
    zf_engine_t *restored = zf_engine_new (fx->h->clock);
    zf_gw_changes_t *changes = zf_gw_changes_new ();
    assert_int_equal (zf_engine_restore_begin (restored), 0);
    int64_t seq = zf_engine_snapshot (fx->h->engine, s_restore_event, restored);
    assert_true (seq > 0);
    assert_int_equal (zf_engine_restore_end (restored, (uint64_t)seq), 0);
    zf_gw_changes_snapshot_end (changes);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (restored, "arc", fx->day1, &run), 0);
    assert_true (run.archived);
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    delta->reset = true;
    zf_gw_views_write_all (restored, delta);
    s_ops_t ops;
    s_read (delta, &ops);
    assert_int_equal (ops.runs, 2);
    for (int i = 0; i < 2; i++) {
        bool old = ops.date[i] == fx->day1;
        assert_int_equal (ops.archived[i], old);
        assert_int_equal (ops.tasks[i], old ? 0 : 2);
    }
    s_free (&ops);
    zf_gw_delta_destroy (&delta);
    zf_gw_changes_destroy (&changes);
    zf_engine_destroy (&restored);
}

static void
test_run_status_message (void **state)
{
    zf_date_t date;
    zf_date_parse ("2026-11-20", &date);
    zf_task_status_t tasks[] = {
        {"a", ZF_TS_CONFIRMED, 1, 0, 0, 0, 1000, 2000, "ex1", 0, NULL},
        {"b", ZF_TS_FAILED, 2, 3, 2, 1, 2000, 5000, "ex2", 3, "it broke"},
        {"c", ZF_TS_RUNNING, 1, 0, 0, 0, 6000, 0, "ex1", 0, NULL},
    };
    zf_run_status_t run = {"arc", date, 4, ZF_RS_FAILED, false, 1000, 5000, tasks, 3};
    zf_gw_frame_t *frame = zf_gw_msg_run_status (9, &run);
    msgpack_unpacked msg;
    assert_true (mp_parse (frame->data, frame->size, &msg));
    assert_true (mp_has_keys (&msg.data, "t", "id", "flow", "date", "run", NULL));
    assert_true (mp_key_is (&msg.data, "t", "run_status"));
    assert_int_equal (mp_int (&msg.data, "id", 0), 9);
    assert_true (mp_key_is (&msg.data, "date", "2026-11-20"));
    const msgpack_object *view = mp_get (&msg.data, "run");
    assert_true (mp_has_keys (view, "flow", "date", "version", "state", "paused", "started",
                              "ended", "tasks", NULL));
    assert_true (mp_key_is (view, "state", "failed"));
    assert_int_equal (mp_int (view, "version", 0), 4);
    const msgpack_object *list = mp_get (view, "tasks");
    assert_int_equal (list->via.array.size, 3);
    //  An unsharded task counts as one shard, done or failed by its state.
    const msgpack_object *a = &list->via.array.ptr[0];
    assert_true (mp_is_taskview (a));
    assert_true (mp_key_is (a, "state", "confirmed"));
    assert_int_equal (mp_int (a, "shards_total", 0), 1);
    assert_int_equal (mp_int (a, "shards_done", 0), 1);
    assert_int_equal (mp_int (a, "shards_failed", 1), 0);
    assert_int_equal (mp_int (a, "due", 1), 0);
    assert_true (mp_key_is (a, "executor", "ex1"));
    const msgpack_object *b = &list->via.array.ptr[1];
    assert_int_equal (mp_int (b, "shards_total", 0), 3);
    assert_int_equal (mp_int (b, "shards_done", 0), 2);
    assert_int_equal (mp_int (b, "shards_failed", 0), 1);
    assert_int_equal (mp_int (b, "shards_running", 1), 0);
    assert_int_equal (mp_int (b, "exit_status", 0), 3);
    char detail[32];
    assert_string_equal (mp_text (b, "detail", detail, sizeof detail), "it broke");
    const msgpack_object *c = &list->via.array.ptr[2];
    assert_int_equal (mp_int (c, "shards_running", 0), 1);
    assert_int_equal (mp_int (c, "shards_done", 1), 0);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  A run the archive calls archived: a success, flagged.
    run.state = ZF_RS_ARCHIVED;
    run.task_count = 0;
    frame = zf_gw_msg_run_status (10, &run);
    assert_true (mp_parse (frame->data, frame->size, &msg));
    view = mp_get (&msg.data, "run");
    assert_true (mp_key_is (view, "state", "succeeded"));
    assert_true (mp_bool (view, "archived", false));
    assert_int_equal (mp_get (view, "tasks")->via.array.size, 0);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
}

//  Decodes a message built from specs; returns the decoder's result.
static int
s_decode (zf_gw_request_t *req, char *why, size_t size, ...)
{
    char buf[512];
    va_list specs;
    va_start (specs, size);
    size_t used = mp_vbuild (buf, sizeof buf, specs);
    va_end (specs);
    return zf_gw_request_decode (buf, used, req, why, size);
}

static void
test_run_status_request (void **state)
{
    zf_gw_request_t req;
    char why[200];
    assert_int_equal (s_decode (&req, why, sizeof why, "t", "s:run_status", "id", "i:7", "flow",
                                "s:arc", "date", "s:2026-11-20", NULL),
                      0);
    assert_int_equal (req.type, ZF_GW_REQ_RUN_STATUS);
    assert_int_equal (req.id, 7);
    assert_string_equal (req.flow, "arc");
    zf_date_t date;
    zf_date_parse ("2026-11-20", &date);
    assert_int_equal (req.date, date);
    assert_false (req.has_task);

    //  The relay asks the registry's STATUS of that run.
    zf_reg_request_t out;
    assert_int_equal (zf_gw_actions_request (&req, &out), 0);
    assert_int_equal (out.type, ZF_BODY_STATUS);
    assert_string_equal (out.flow, "arc");
    assert_int_equal (out.date, date);

    //  Flow and date are needed; refusals echo the id.
    assert_int_equal (s_decode (&req, why, sizeof why, "t", "s:run_status", "id", "i:8", "date",
                                "s:2026-11-20", NULL),
                      -1);
    assert_string_equal (why, "flow: missing");
    assert_int_equal (req.id, 8);
    assert_int_equal (
        s_decode (&req, why, sizeof why, "t", "s:run_status", "id", "i:9", "flow", "s:arc", NULL),
        -1);
    assert_string_equal (why, "date: missing");
    assert_int_equal (req.id, 9);
    assert_int_equal (
        s_decode (&req, why, sizeof why, "t", "s:run_status", "flow", "s:arc", "date", "n", NULL),
        -1);
    assert_string_equal (why, "date: missing");
    assert_int_equal (s_decode (&req, why, sizeof why, "t", "s:run_status", "flow", "s:arc", "date",
                                "s:2026-13-40", NULL),
                      -1);
    assert_string_equal (why, "date: not a date YYYY-MM-DD");
    assert_int_equal (s_decode (&req, why, sizeof why, "t", "s:run_status", "flow", "i:3", "date",
                                "s:2026-11-20", NULL),
                      -1);
    assert_string_equal (why, "flow: expected a string, got an integer");
}

static void
test_history_and_metrics (void **state)
{
    fixture_t *fx = *state;
    s_archive (fx);
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    zf_gw_msg_history_begin (&pk, 3, "arc", 2);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (fx->h->replica, "arc", fx->day2, &run), 0);
    zf_gw_msg_history_run (&pk, &run);
    assert_int_equal (zf_engine_run_info (fx->h->replica, "arc", fx->day1, &run), 0);
    zf_gw_msg_history_run (&pk, &run);
    msgpack_unpacked msg;
    assert_true (mp_parse (buffer.data, buffer.size, &msg));
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_true (mp_has_keys (&runs->via.array.ptr[0], "date", "state", "started", "ended", NULL));
    assert_true (mp_has_keys (&runs->via.array.ptr[1], "date", "state", "started", "ended",
                              "archived", NULL));
    assert_true (mp_bool (&runs->via.array.ptr[1], "archived", false));
    assert_true (mp_key_is (&runs->via.array.ptr[1], "state", "succeeded"));
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&buffer);

    zf_gw_metrics_t *metrics = zf_gw_metrics_new ();
    zf_gw_metrics_runs (metrics, 5, 2);
    size_t size = 0;
    char *text = zf_gw_metrics_render (metrics, &size);
    assert_non_null (strstr (text, "\nzflow_runs 5\n"));
    assert_non_null (strstr (text, "# TYPE zflow_runs_archived gauge\nzflow_runs_archived 2\n"));
    free (text);
    zf_gw_metrics_destroy (&metrics);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_views_drop_the_tasks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_update_across_the_archive, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_restore, s_setup, s_teardown),
        cmocka_unit_test (test_run_status_message),
        cmocka_unit_test (test_run_status_request),
        cmocka_unit_test_setup_teardown (test_history_and_metrics, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
