/*  Engine tests: readiness - dependencies, built-ins, not_before across
    midnight and in zones, one timer heap. */
#include "core_harness.h"

#include <string.h>

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    *state = h_new ("2026-11-24", 12, 0);
    return 0;
}

static void
test_diamond_runs_in_dependency_order (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: d\ntasks:\n"
                 "  - id: a\n    run: ./a\n"
                 "  - id: b\n    after: [a]\n    run: ./b\n"
                 "  - id: c\n    after: [a]\n    run: ./c\n"
                 "  - id: e\n    after: [b, c]\n    run: ./e\n");
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "d", d), 0);
    zf_engine_order_t a = h_order (h, "a");
    assert_true (h_idle (h));
    assert_int_equal (h_task_state (h, "d", d, "b"), ZF_TS_WAITING);
    size_t mark = h->log_count;
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    //  running + succeeded for a, then b and c ready: nothing else moved.
    assert_int_equal (h->log_count - mark, 4);
    assert_int_equal (h_count (h, mark, ZF_EV_TASK, "e"), 0);
    zf_engine_order_t b = h_order (h, "b");
    zf_engine_order_t c = h_order (h, "c");
    assert_true (h_idle (h));
    h_finish (h, &c, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_task_state (h, "d", d, "e"), ZF_TS_WAITING);
    assert_true (h_idle (h));
    h_finish (h, &b, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t e = h_order (h, "e");
    assert_int_equal (h_run_state (h, "d", d), ZF_RS_RUNNING);
    h_finish (h, &e, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "d", d), ZF_RS_SUCCEEDED);
    zf_engine_task_info_t info;
    assert_int_equal (zf_engine_task_info (h->engine, "d", d, 3, &info), 0);
    assert_string_equal (info.id, "e");
    assert_int_equal (info.attempt, 1);
    assert_string_equal (info.executor, "exec-1");
    assert_true (info.started > 0 && info.ended >= info.started);
}

static void
test_not_before_across_midnight_in_shanghai (void **state)
{
    harness_t *h = *state;
    //  07:00 on the 25th in Shanghai is 23:00 UTC on the 24th.
    h_submit (h, "flow: cn\ntimezone: Asia/Shanghai\ntasks:\n"
                 "  - id: s\n    type: start\n"
                 "  - id: early\n    after: [s]\n    not_before: \"07:00\"\n    run: ./e\n"
                 "  - id: late\n    after: [early]\n    not_before: \"23:30\"\n    run: ./l\n");
    zf_date_t d = h_date ("2026-11-25");
    h_goto (h, h_at ("UTC", "2026-11-24", 17, 0));
    assert_int_equal (zf_engine_start (h->engine, "cn", d), 0);
    assert_int_equal (h_run_state (h, "cn", d), ZF_RS_RUNNING);
    assert_int_equal (h_task_state (h, "cn", d, "s"), ZF_TS_SUCCEEDED);
    assert_int_equal (h_task_state (h, "cn", d, "early"), ZF_TS_WAITING);
    int64_t due = h_at ("UTC", "2026-11-24", 23, 0);
    assert_true (zf_engine_next_deadline (h->engine) == due);
    zf_engine_task_info_t info;
    assert_int_equal (zf_engine_task_info (h->engine, "cn", d, 1, &info), 0);
    assert_true (info.due == due);
    h_goto (h, due - 60000);
    assert_true (h_idle (h));
    h_goto (h, due);
    zf_engine_order_t order = h_order (h, "early");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    //  late waits for 23:30 local on the 25th, 15:30 UTC on the 25th.
    assert_true (h_idle (h));
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-25", 15, 30));
    h_restore (h);
    h_goto (h, h_at ("UTC", "2026-11-25", 15, 30));
    order = h_order (h, "late");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "cn", d), ZF_RS_SUCCEEDED);
    assert_int_equal (zf_engine_next_deadline (h->engine), -1);
}

static void
test_not_before_in_new_york_and_start_held (void **state)
{
    harness_t *h = *state;
    //  The start task's own not_before holds the whole date.
    h_submit (h, "flow: ny\ntimezone: America/New_York\ntasks:\n"
                 "  - id: s\n    type: start\n    not_before: \"06:00\"\n"
                 "  - id: close\n    after: [s]\n    not_before: \"18:00\"\n    run: ./c\n");
    zf_date_t d = h_date ("2026-11-25");
    assert_int_equal (zf_engine_start (h->engine, "ny", d), 0);
    assert_int_equal (h_run_state (h, "ny", d), ZF_RS_WAITING);
    h_goto (h, h_at ("America/New_York", "2026-11-25", 0, 0));
    assert_int_equal (h_run_state (h, "ny", d), ZF_RS_RUNNING);
    assert_int_equal (h_task_state (h, "ny", d, "s"), ZF_TS_WAITING);
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-25", 11, 0));
    h_goto (h, h_at ("UTC", "2026-11-25", 11, 0));
    assert_int_equal (h_task_state (h, "ny", d, "s"), ZF_TS_SUCCEEDED);
    //  18:00 EST is 23:00 UTC.
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-25", 23, 0));
    assert_true (h_idle (h));
    h_goto (h, h_at ("UTC", "2026-11-25", 23, 0));
    zf_engine_order_t order = h_order (h, "close");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "ny", d), ZF_RS_SUCCEEDED);
}

static void
test_passed_not_before_needs_no_timer (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: p\ntasks:\n  - id: a\n    not_before: \"08:00\"\n    run: ./a\n");
    size_t mark = h->log_count;
    assert_int_equal (zf_engine_start (h->engine, "p", h_date ("2026-11-20")), 0);
    //  RUN running and TASK ready: no waiting event for a time long past.
    assert_int_equal (h->log_count - mark, 2);
    assert_int_equal (h_count (h, mark, ZF_EV_TASK, "a"), 1);
    assert_int_equal (h->log[h->log_count - 1].state, ZF_TS_READY);
    h_order (h, "a");
}

static void
test_one_heap_reports_only_the_earliest (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: t\ntasks:\n"
                 "  - id: a\n    not_before: \"14:00\"\n    run: ./a\n"
                 "  - id: b\n    not_before: \"13:00\"\n    run: ./b\n"
                 "  - id: c\n    not_before: \"15:00\"\n    run: ./c\n");
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "t", d), 0);
    assert_int_equal (zf_engine_start (h->engine, "t", d + 1), 0);
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-24", 13, 0));
    //  One tick past two deadlines handles both, in deadline order.
    zf_clock_set (h->clock, h_at ("UTC", "2026-11-24", 14, 30));
    assert_int_equal (zf_engine_tick (h->engine), 2);
    h_check (h);
    h_order (h, "b");
    h_order (h, "a");
    assert_true (h_idle (h));
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-24", 15, 0));
    //  The next run's date begins at midnight; its tasks wait for their times.
    h_goto (h, h_at ("UTC", "2026-11-25", 0, 0));
    assert_int_equal (h_run_state (h, "t", d + 1), ZF_RS_RUNNING);
    h_order (h, "c");
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-25", 13, 0));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_diamond_runs_in_dependency_order, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_not_before_across_midnight_in_shanghai, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_not_before_in_new_york_and_start_held, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_passed_not_before_needs_no_timer, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_one_heap_reports_only_the_earliest, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
