/*  Engine tests: operator actions - retry, skip, cancel, pause and resume,
    each with the errors for states it does not apply to. */
#include "core_harness.h"

#include <string.h>

static const char *s_flow = "flow: ops\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: [x, y]\n"
                            "    run: ./b.sh\n"
                            "  - id: c\n"
                            "    after: [b]\n"
                            "    run: ./c.sh\n";

//  Collects the keys an operator's cancel reports as in flight.
typedef struct {
    zf_task_key_t keys[8]; //  reported keys (strings borrowed for the call)
    char tasks[8][16];     //  their task ids, copied
    size_t count;          //  reported
} s_inflight_t;

//  Notes a key the cancel reports.
static void
s_inflight (const zf_task_key_t *key, void *arg)
{
    s_inflight_t *seen = arg;
    assert_true (seen->count < 8);
    seen->keys[seen->count] = *key;
    strncpy (seen->tasks[seen->count], key->task, 15);
    seen->count++;
}

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    harness_t *h = h_new ("2026-11-24", 12, 0);
    h_submit (h, s_flow);
    assert_int_equal (zf_engine_start (h->engine, "ops", h_date ("2026-11-24")), 0);
    *state = h;
    return 0;
}

static void
test_actions_name_what_is_wrong (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_retry (h->engine, "nope", d, "a", ZF_SHARD_WHOLE),
                      ZF_E_UNKNOWN_FLOW);
    assert_int_equal (zf_engine_retry (h->engine, "ops", d + 3, "a", ZF_SHARD_WHOLE),
                      ZF_E_UNKNOWN_RUN);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "2026-11-27"));
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "zz", ZF_SHARD_WHOLE),
                      ZF_E_UNKNOWN_TASK);
    assert_int_equal (zf_engine_cancel (h->engine, "ops", d, "b", 5, NULL, NULL),
                      ZF_E_UNKNOWN_TASK);
    //  Retry applies to failed, cancelled and rolled-back work only.
    assert_int_equal (zf_engine_retry (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), ZF_E_CONFLICT);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "ready"));
    zf_engine_order_t a = h_order (h, "a");
    size_t events = h->log_count;
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), ZF_E_CONFLICT);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "running"));
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    events = h->log_count;
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), ZF_E_CONFLICT);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "already succeeded"));
    assert_int_equal (zf_engine_cancel (h->engine, "ops", d, "a", ZF_SHARD_WHOLE, NULL, NULL),
                      ZF_E_CONFLICT);
    assert_int_equal (zf_engine_retry (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), ZF_E_CONFLICT);
    //  Errors change nothing.
    assert_int_equal (h->log_count, events);
    //  The latest run when no date is given.
    assert_int_equal (zf_engine_skip (h->engine, "ops", ZF_DATE_NONE, "c", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_task_state (h, "ops", d, "c"), ZF_TS_SKIPPED);
}

static void
test_skip_lets_successors_go (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_FAILED);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_FAILED);
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), 0);
    h_check (h);
    assert_int_equal (h_task_state (h, "ops", d, "a"), ZF_TS_SKIPPED);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_RUNNING);
    zf_engine_order_t b = h_order (h, "b");
    //  One shard failed, the other skipped: c goes once the task is done.
    zf_task_key_t key = h_key (&b, 0);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_FAILED, 1, "e", "no"), 0);
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "b", 1), ZF_E_CONFLICT);
    key = h_key (&b, 1);
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "e", NULL), 0);
    assert_int_equal (h_task_state (h, "ops", d, "b"), ZF_TS_FAILED);
    assert_int_equal (zf_engine_skip (h->engine, "ops", d, "b", 0), 0);
    assert_int_equal (h_task_state (h, "ops", d, "b"), ZF_TS_SUCCEEDED);
    zf_engine_order_t c = h_order (h, "c");
    h_finish (h, &c, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_SUCCEEDED);
}

static void
test_cancel_reports_in_flight_and_ignores_late_results (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    zf_task_key_t key = h_key (&a, 0);
    assert_int_equal (zf_engine_running (h->engine, &key, "e1"), 0);
    s_inflight_t seen = {0};
    assert_int_equal (
        zf_engine_cancel (h->engine, "ops", d, "a", ZF_SHARD_WHOLE, s_inflight, &seen), 0);
    h_check (h);
    assert_int_equal (seen.count, 1);
    assert_string_equal (seen.tasks[0], "a");
    assert_int_equal (seen.keys[0].attempt, 1);
    assert_int_equal (seen.keys[0].shard, ZF_SHARD_SOLE);
    assert_int_equal (h_task_state (h, "ops", d, "a"), ZF_TS_CANCELLED);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_FAILED);
    //  The killed attempt reports: ignored.
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "e1", NULL),
                      ZF_E_STALE);
    assert_int_equal (h_task_state (h, "ops", d, "a"), ZF_TS_CANCELLED);
    //  Retried, it runs again as attempt 2.
    assert_int_equal (zf_engine_retry (h->engine, "ops", d, "a", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_RUNNING);
    a = h_order (h, "a");
    assert_int_equal (a.shards[0].attempt, 2);
}

static void
test_cancel_whole_run_and_bring_it_back (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t b = h_order (h, "b");
    (void)b;
    s_inflight_t seen = {0};
    assert_int_equal (
        zf_engine_cancel (h->engine, "ops", d, NULL, ZF_SHARD_WHOLE, s_inflight, &seen), 0);
    h_check (h);
    assert_int_equal (seen.count, 2);
    assert_int_equal (seen.keys[0].shard, 0);
    assert_int_equal (seen.keys[1].shard, 1);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_CANCELLED);
    assert_int_equal (h_task_state (h, "ops", d, "a"), ZF_TS_SUCCEEDED);
    assert_int_equal (h_task_state (h, "ops", d, "b"), ZF_TS_CANCELLED);
    assert_int_equal (h_task_state (h, "ops", d, "c"), ZF_TS_CANCELLED);
    assert_int_equal (zf_engine_cancel (h->engine, "ops", d, NULL, ZF_SHARD_WHOLE, NULL, NULL),
                      ZF_E_CONFLICT);
    assert_true (h_idle (h));
    //  Retrying c puts it back to waiting for b; retrying b gets going again.
    assert_int_equal (zf_engine_retry (h->engine, "ops", d, "c", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_task_state (h, "ops", d, "c"), ZF_TS_WAITING);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_CANCELLED);
    assert_int_equal (zf_engine_retry (h->engine, "ops", d, "b", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_RUNNING);
    assert_int_equal (h_drain (h), 2);
    assert_int_equal (h_run_state (h, "ops", d), ZF_RS_SUCCEEDED);
    assert_int_equal (zf_engine_cancel (h->engine, "ops", d, NULL, ZF_SHARD_WHOLE, NULL, NULL),
                      ZF_E_CONFLICT);
}

static void
test_cancelled_before_its_date_waits_again_after_retry (void **state)
{
    harness_t *h = *state;
    zf_date_t next = h_date ("2026-11-25");
    assert_int_equal (zf_engine_start (h->engine, "ops", next), 0);
    assert_int_equal (zf_engine_cancel (h->engine, "ops", next, NULL, ZF_SHARD_WHOLE, NULL, NULL),
                      0);
    assert_int_equal (h_run_state (h, "ops", next), ZF_RS_CANCELLED);
    assert_int_equal (zf_engine_retry (h->engine, "ops", next, "a", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_run_state (h, "ops", next), ZF_RS_WAITING);
    h_goto (h, h_at ("UTC", "2026-11-25", 0, 0));
    assert_int_equal (h_run_state (h, "ops", next), ZF_RS_RUNNING);
    h_order (h, "a");
    zf_engine_order_t order = h_order (h, "a");
    assert_int_equal (order.date, next);
}

static void
test_pause_holds_ready_work_and_resume_releases_it (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    h_submit (h, "flow: other\ntasks:\n  - id: o\n    run: ./o.sh\n");
    zf_engine_order_t a = h_order (h, "a");
    assert_int_equal (zf_engine_pause (h->engine, "ops"), 0);
    assert_int_equal (zf_engine_pause (h->engine, "ops"), ZF_E_CONFLICT);
    assert_int_equal (zf_engine_pause (h->engine, "nope"), ZF_E_UNKNOWN_FLOW);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (h->engine, "ops", d, &run), 0);
    assert_true (run.paused);
    //  In-flight work finishes; its successor becomes ready but waits.
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_task_state (h, "ops", d, "b"), ZF_TS_READY);
    assert_true (h_idle (h));
    //  Other flows are not held.
    assert_int_equal (zf_engine_start (h->engine, "other", d), 0);
    h_order (h, "o");
    h_restore (h);
    assert_int_equal (zf_engine_resume (h->engine, "ops"), 0);
    assert_int_equal (zf_engine_resume (h->engine, "ops"), ZF_E_CONFLICT);
    zf_engine_order_t b = h_order (h, "b");
    assert_int_equal (b.shard_count, 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_actions_name_what_is_wrong, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_skip_lets_successors_go, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_cancel_reports_in_flight_and_ignores_late_results,
                                         s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_cancel_whole_run_and_bring_it_back, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_cancelled_before_its_date_waits_again_after_retry,
                                         s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_pause_holds_ready_work_and_resume_releases_it,
                                         s_setup, h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
