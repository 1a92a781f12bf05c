/*  Engine tests: results - idempotence on the key, stale and newer attempts,
    retries with their delay, and the run's end. */
#include "core_harness.h"

#include <string.h>

static const char *s_flow = "flow: r\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    retries: 2\n"
                            "    retry_delay: 10s\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    run: ./b.sh\n"
                            "  - id: s\n"
                            "    shards: 2\n"
                            "    run: ./s.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    harness_t *h = h_new ("2026-11-24", 12, 0);
    h_submit (h, s_flow);
    assert_int_equal (zf_engine_start (h->engine, "r", h_date ("2026-11-24")), 0);
    *state = h;
    return 0;
}

static void
test_result_is_idempotent_on_its_key (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t order = h_order (h, "a");
    zf_task_key_t key = h_key (&order, 0);
    assert_int_equal (key.shard, ZF_SHARD_SOLE);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "x", NULL), 0);
    size_t events = h->log_count;
    //  The same result again, a late start, a contradicting failure: nothing moves.
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "x", NULL),
                      ZF_E_STALE);
    assert_int_equal (zf_engine_running (h->engine, &key, "x"), ZF_E_STALE);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_FAILED, 1, "x", "late"),
                      ZF_E_STALE);
    assert_int_equal (h->log_count, events);
    assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_SUCCEEDED);
    //  Shard 0 of an unsharded task is the task.
    key.shard = 0;
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "x", NULL),
                      ZF_E_STALE);
}

static void
test_bad_keys_are_errors (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t order = h_order (h, "a");
    zf_task_key_t key = h_key (&order, 0);
    zf_task_key_t bad = key;
    bad.flow = "nope";
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_FLOW);
    bad = key;
    bad.date = d + 1;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_RUN);
    bad = key;
    bad.task = "zz";
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    bad = key;
    bad.shard = 1;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    //  A result names one shard: the sole one of an unsharded task, never
    //  the whole task.
    bad = key;
    bad.shard = ZF_SHARD_WHOLE;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    assert_int_equal (zf_engine_running (h->engine, &bad, "x"), ZF_E_UNKNOWN_TASK);
    bad = key;
    bad.attempt = 0;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_INVALID);
    assert_int_equal (zf_engine_result (h->engine, &key, (zf_outcome_t)9, 0, NULL, NULL),
                      ZF_E_INVALID);
    assert_int_equal (zf_engine_result (h->engine, NULL, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_INVALID);
    //  A sharded task's result must name its shard.
    zf_engine_order_t sharded = h_order (h, "s");
    bad = h_key (&sharded, 0);
    bad.shard = ZF_SHARD_WHOLE;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    bad.shard = ZF_SHARD_SOLE;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    bad.shard = 2;
    assert_int_equal (zf_engine_result (h->engine, &bad, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_DISPATCHED);
    assert_string_equal (zf_engine_error_name (ZF_E_UNKNOWN_TASK), "unknown_task");
    assert_non_null (strstr (zf_engine_last_error (h->engine), "shard 2"));
}

static void
test_requeued_attempt_is_accepted_and_is_no_failure (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t order = h_order (h, "a");
    h_order (h, "s");
    zf_task_key_t first = h_key (&order, 0);
    assert_int_equal (zf_engine_running (h->engine, &first, "dead-node"), 0);
    //  The dispatcher lost the worker and ran attempt 2 elsewhere.
    zf_task_key_t second = first;
    second.attempt = 2;
    assert_int_equal (zf_engine_running (h->engine, &second, "live-node"), 0);
    assert_int_equal (h_task_attempt (h, "r", d, "a"), 2);
    assert_int_equal (zf_engine_result (h->engine, &first, ZF_OUTCOME_FAILED, 9, "dead-node", NULL),
                      ZF_E_STALE);
    assert_int_equal (zf_engine_result (h->engine, &second, ZF_OUTCOME_FAILED, 1, "live-node", "x"),
                      0);
    //  One failure counted: two retries remain.
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (h->engine, "r", d, 0, ZF_SHARD_SOLE, &info), 0);
    assert_int_equal (info.failures, 1);
    assert_int_equal (info.state, ZF_TS_RETRYING);
    assert_string_equal (info.executor, "live-node");
    h_goto (h, info.due);
    order = h_order (h, "a");
    assert_int_equal (order.shards[0].attempt, 3);
}

static void
test_retries_wait_their_delay_then_fail (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t order = h_order (h, "a");
    h_order (h, "s");
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        assert_int_equal (order.shards[0].attempt, attempt);
        int64_t failed_at = zf_clock_now (h->clock);
        h_finish (h, &order, ZF_OUTCOME_FAILED);
        if (attempt == 3) break;
        assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_RETRYING);
        const h_event_t *last = &h->log[h->log_count - 1];
        assert_int_equal (last->state, ZF_TS_RETRYING);
        assert_true (last->value == failed_at + 10000);
        h_goto (h, failed_at + 9999);
        assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_RETRYING);
        assert_true (h_idle (h));
        h_goto (h, failed_at + 10000);
        assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_READY);
        order = h_order (h, "a");
    }
    assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_FAILED);
    //  The shards of s are still out: the run is not stuck yet.
    assert_int_equal (h_run_state (h, "r", d), ZF_RS_RUNNING);
}

static void
test_run_fails_when_nothing_else_can_go (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    zf_engine_order_t s = h_order (h, "s");
    h_finish (h, &s, ZF_OUTCOME_SUCCEEDED);
    //  The dispatcher killed it: cancelled, not retried.
    zf_task_key_t key = h_key (&a, 0);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_CANCELLED, -9, "x", "killed"),
                      0);
    h_check (h);
    assert_int_equal (h_task_state (h, "r", d, "a"), ZF_TS_CANCELLED);
    assert_int_equal (h_run_state (h, "r", d), ZF_RS_FAILED);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (h->engine, "r", d, &run), 0);
    assert_int_equal (run.tasks_done, 1);
    assert_int_equal (run.tasks_failed, 1);
    assert_true (run.ended > 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_result_is_idempotent_on_its_key, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_bad_keys_are_errors, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_requeued_attempt_is_accepted_and_is_no_failure,
                                         s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_retries_wait_their_delay_then_fail, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_run_fails_when_nothing_else_can_go, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
