/*  Engine tests: sharded tasks - one order per task, per-shard results and
    retries, and the event volume that goes with them. */
#include "core_harness.h"

#include <stdio.h>
#include <string.h>

static const char *s_flow = "flow: sh\n"
                            "tasks:\n"
                            "  - id: accrue\n"
                            "    shards: [bonds, fx, equities]\n"
                            "    run: ./accrue.sh\n"
                            "  - id: settle\n"
                            "    after: [accrue]\n"
                            "    shards: 8\n"
                            "    retries: 1\n"
                            "    retry_delay: 5s\n"
                            "    service: settle\n"
                            "  - id: report\n"
                            "    after: [settle]\n"
                            "    run: ./report.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    *state = h_new ("2026-11-24", 12, 0);
    return 0;
}

static void
test_sharded_task_is_one_order (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "sh", d), 0);
    size_t mark = h->log_count;
    zf_engine_order_t order = h_order (h, "accrue");
    assert_true (order.whole);
    assert_int_equal (order.shard_count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal (order.shards[i].shard, i);
        assert_int_equal (order.shards[i].attempt, 1);
        assert_false (order.shards[i].rollback);
    }
    //  Every shard dispatched together: one event.
    assert_int_equal (h->log_count - mark, 1);
    assert_int_equal (h->log[mark].shard, ZF_SHARD_WHOLE);
    zf_task_key_t key = h_key (&order, 1);
    assert_int_equal (zf_engine_running (h->engine, &key, "node-a"), 0);
    assert_int_equal (h_task_state (h, "sh", d, "accrue"), ZF_TS_RUNNING);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "node-a", NULL),
                      0);
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (h->engine, "sh", d, 0, 1, &info), 0);
    assert_string_equal (info.key, "fx");
    assert_string_equal (info.executor, "node-a");
    assert_int_equal (info.state, ZF_TS_SUCCEEDED);
    assert_int_equal (zf_engine_shard_info (h->engine, "sh", d, 0, 3, &info), ZF_E_UNKNOWN_TASK);
    //  Successors wait for every shard.
    key = h_key (&order, 0);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "node-a", NULL),
                      0);
    assert_true (h_idle (h));
    key = h_key (&order, 2);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "node-b", NULL),
                      0);
    assert_int_equal (h_task_state (h, "sh", d, "accrue"), ZF_TS_SUCCEEDED);
    zf_engine_task_info_t task;
    assert_int_equal (zf_engine_task_info (h->engine, "sh", d, 0, &task), 0);
    assert_int_equal (task.shards_done, 3);
    assert_int_equal (task.shard_count, 3);
    assert_true (task.sharded);
    assert_string_equal (task.executor, "node-b");
    h_order (h, "settle");
}

static void
test_failed_shard_retries_alone (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "sh", d), 0);
    zf_engine_order_t order = h_order (h, "accrue");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "settle");
    assert_int_equal (order.shard_count, 8);
    zf_engine_shard_run_t shards[8];
    memcpy (shards, order.shards, sizeof (shards));
    for (int i = 0; i < 8; i++) {
        zf_task_key_t key = {"sh", d, "settle", i, shards[i].attempt};
        zf_outcome_t outcome = i == 3 ? ZF_OUTCOME_FAILED : ZF_OUTCOME_SUCCEEDED;
        assert_int_equal (zf_engine_result (h->engine, &key, outcome, i == 3 ? 2 : 0, "n", "boom"),
                          0);
    }
    assert_int_equal (h_shard_state (h, "sh", d, "settle", 3), ZF_TS_RETRYING);
    assert_int_equal (h_task_state (h, "sh", d, "settle"), ZF_TS_RETRYING);
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (h->engine, "sh", d, 1, 3, &info), 0);
    assert_string_equal (info.detail, "boom");
    assert_int_equal (info.exit_status, 2);
    assert_int_equal (info.failures, 1);
    int64_t due = zf_clock_now (h->clock) + 5000;
    assert_true (info.due == due);
    assert_true (zf_engine_next_deadline (h->engine) == due);
    assert_true (h_idle (h));
    h_goto (h, due);
    order = h_order (h, "settle");
    assert_false (order.whole);
    assert_int_equal (order.shard_count, 1);
    assert_int_equal (order.shards[0].shard, 3);
    assert_int_equal (order.shards[0].attempt, 2);
    //  Out of retries: the shard and so the task fail; the run is stuck.
    h_finish (h, &order, ZF_OUTCOME_FAILED);
    assert_int_equal (h_shard_state (h, "sh", d, "settle", 3), ZF_TS_FAILED);
    assert_int_equal (h_task_state (h, "sh", d, "settle"), ZF_TS_FAILED);
    assert_int_equal (h_run_state (h, "sh", d), ZF_RS_FAILED);
    //  An operator retries that one shard: a fresh budget, attempt 3.
    assert_int_equal (zf_engine_retry (h->engine, "sh", d, "settle", 3), 0);
    h_check (h);
    assert_int_equal (h_run_state (h, "sh", d), ZF_RS_RUNNING);
    order = h_order (h, "settle");
    assert_int_equal (order.shard_count, 1);
    assert_int_equal (order.shards[0].attempt, 3);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "report");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "sh", d), ZF_RS_SUCCEEDED);
}

static void
test_big_task_moves_in_few_events (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: big\ntasks:\n  - id: w\n    shards: 1000\n    service: noop\n");
    zf_date_t d = h_date ("2026-11-24");
    size_t mark = h->log_count;
    assert_int_equal (zf_engine_start (h->engine, "big", d), 0);
    zf_engine_order_t order = h_order (h, "w");
    assert_int_equal (order.shard_count, 1000);
    //  RUN running, TASK ready, TASK dispatched: three events for 1000 shards.
    assert_int_equal (h->log_count - mark, 3);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "big", d), ZF_RS_SUCCEEDED);
    zf_engine_stats_t stats;
    zf_engine_stats (h->engine, &stats);
    assert_int_equal (stats.shards, 1000);
    assert_int_equal (stats.unconfirmed, 1000);
}

static void
test_shard_lookup_by_key_or_index (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    const zf_flow_t *def = zf_engine_flow (h->engine, "sh", 0);
    assert_non_null (def);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[0], "equities"), 2);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[0], "1"), 1);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[0], "gold"), -1);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[1], "7"), 7);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[1], "8"), -1);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[1], "-1"), -1);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[1], "3x"), -1);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[2], "0"), 0);
    assert_int_equal (zf_engine_shard_lookup (&def->tasks[2], ""), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_sharded_task_is_one_order, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_failed_shard_retries_alone, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_big_task_moves_in_few_events, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_shard_lookup_by_key_or_index, s_setup, h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
