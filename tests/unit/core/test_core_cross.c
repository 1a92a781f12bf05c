/*  Engine tests: dependencies on earlier business dates (x@-N). */
#include "core_harness.h"

#include <string.h>

static const char *s_flow = "flow: rep\n"
                            "calendar:\n"
                            "  weekdays: [mon, tue, wed, thu, fri]\n"
                            "tasks:\n"
                            "  - id: work\n"
                            "    run: ./work.sh\n"
                            "  - id: report\n"
                            "    after: [work, report@-1]\n"
                            "    run: ./report.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    *state = h_new ("2026-11-27", 12, 0);
    return 0;
}

static void
test_first_date_does_not_wait_for_history (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "rep", d), 0);
    zf_engine_order_t order = h_order (h, "work");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "report");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "rep", d), ZF_RS_SUCCEEDED);
}

static void
test_later_date_waits_for_earlier_report (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d1 = h_date ("2026-11-24"), d2 = h_date ("2026-11-25");
    assert_int_equal (zf_engine_start (h->engine, "rep", d1), 0);
    assert_int_equal (zf_engine_start (h->engine, "rep", d2), 0);
    zf_engine_order_t w1 = h_order (h, "work");
    zf_engine_order_t w2 = h_order (h, "work");
    assert_int_equal (w2.date, d2);
    h_finish (h, &w2, ZF_OUTCOME_SUCCEEDED);
    //  The 25th's report waits for the 24th's: its run is running, not stuck.
    assert_true (h_idle (h));
    assert_int_equal (h_task_state (h, "rep", d2, "report"), ZF_TS_WAITING);
    assert_int_equal (h_run_state (h, "rep", d2), ZF_RS_RUNNING);
    h_restore (h);
    h_finish (h, &w1, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t r1 = h_order (h, "report");
    assert_int_equal (r1.date, d1);
    assert_true (h_idle (h));
    size_t mark = h->log_count;
    h_finish (h, &r1, ZF_OUTCOME_SUCCEEDED);
    //  Only the waiting task of the later run was touched.
    assert_int_equal (h_count (h, mark, ZF_EV_TASK, "report"), 3);
    zf_engine_order_t r2 = h_order (h, "report");
    assert_int_equal (r2.date, d2);
    h_finish (h, &r2, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "rep", d1), ZF_RS_SUCCEEDED);
    assert_int_equal (h_run_state (h, "rep", d2), ZF_RS_SUCCEEDED);
}

static void
test_waits_for_a_date_opened_later (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d23 = h_date ("2026-11-23"), d24 = h_date ("2026-11-24"), d25 = h_date ("2026-11-25");
    //  The 23rd is the flow's first run; the 25th needs the 24th, not open yet.
    assert_int_equal (zf_engine_start (h->engine, "rep", d23), 0);
    assert_int_equal (zf_engine_start (h->engine, "rep", d25), 0);
    h_drain (h);
    assert_int_equal (h_run_state (h, "rep", d23), ZF_RS_SUCCEEDED);
    assert_int_equal (h_task_state (h, "rep", d25, "work"), ZF_TS_SUCCEEDED);
    assert_int_equal (h_task_state (h, "rep", d25, "report"), ZF_TS_WAITING);
    h_restore (h);
    //  Opening the 24th hands it the waiter; finishing it releases the 25th.
    assert_int_equal (zf_engine_start (h->engine, "rep", d24), 0);
    zf_engine_order_t order = h_order (h, "work");
    assert_int_equal (order.date, d24);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_task_state (h, "rep", d25, "report"), ZF_TS_WAITING);
    order = h_order (h, "report");
    assert_int_equal (order.date, d24);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "report");
    assert_int_equal (order.date, d25);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "rep", d25), ZF_RS_SUCCEEDED);
}

static void
test_offset_counts_business_dates (void **state)
{
    harness_t *h = *state;
    //  Monday's x@-2 is the Thursday before.
    h_submit (h, "flow: two\ncalendar:\n  weekdays: [mon, tue, wed, thu, fri]\ntasks:\n"
                 "  - id: x\n    after: [x@-2]\n    run: ./x\n");
    zf_date_t thu = h_date ("2026-11-19"), fri = h_date ("2026-11-20"), mon = h_date ("2026-11-23");
    assert_int_equal (zf_engine_start (h->engine, "rep", thu), ZF_E_UNKNOWN_FLOW);
    assert_int_equal (zf_engine_start (h->engine, "two", thu), 0);
    assert_int_equal (zf_engine_start (h->engine, "two", fri), 0);
    assert_int_equal (zf_engine_start (h->engine, "two", mon), 0);
    //  Thursday and Friday reach before the first run; Monday waits for Thursday.
    zf_engine_order_t a = h_order (h, "x");
    zf_engine_order_t b = h_order (h, "x");
    assert_int_equal (a.date, thu);
    assert_int_equal (b.date, fri);
    assert_true (h_idle (h));
    h_finish (h, &b, ZF_OUTCOME_SUCCEEDED);
    assert_true (h_idle (h));
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t c = h_order (h, "x");
    assert_int_equal (c.date, mon);
}

static void
test_skipped_earlier_task_releases_later (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_flow);
    zf_date_t d1 = h_date ("2026-11-24"), d2 = h_date ("2026-11-25");
    assert_int_equal (zf_engine_start (h->engine, "rep", d1), 0);
    assert_int_equal (zf_engine_start (h->engine, "rep", d2), 0);
    zf_engine_order_t w1 = h_order (h, "work");
    zf_engine_order_t w2 = h_order (h, "work");
    h_finish (h, &w2, ZF_OUTCOME_SUCCEEDED);
    h_finish (h, &w1, ZF_OUTCOME_FAILED);
    assert_int_equal (h_run_state (h, "rep", d1), ZF_RS_FAILED);
    //  Skipping the 24th's report lets the 25th's go.
    assert_int_equal (zf_engine_skip (h->engine, "rep", d1, "report", ZF_SHARD_WHOLE), 0);
    h_check (h);
    zf_engine_order_t r2 = h_order (h, "report");
    assert_int_equal (r2.date, d2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_first_date_does_not_wait_for_history, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_later_date_waits_for_earlier_report, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_waits_for_a_date_opened_later, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_offset_counts_business_dates, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_skipped_earlier_task_releases_later, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
