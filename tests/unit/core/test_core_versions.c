/*  Engine tests: flow versions - submitting, pinning, replicas parsing them. */
#include "core_harness.h"

#include <string.h>

static const char *s_v1 = "flow: eod\n"
                          "tasks:\n"
                          "  - id: start\n"
                          "    type: start\n"
                          "  - id: load\n"
                          "    after: [start]\n"
                          "    run: ./load.sh\n";

//  Version 2 adds a task.
static const char *s_v2 = "flow: eod\n"
                          "tasks:\n"
                          "  - id: start\n"
                          "    type: start\n"
                          "  - id: load\n"
                          "    after: [start]\n"
                          "    run: ./load.sh\n"
                          "  - id: report\n"
                          "    after: [load]\n"
                          "    run: ./report.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    *state = h_new ("2026-11-24", 12, 0);
    return 0;
}

static void
test_submit_makes_versions (void **state)
{
    harness_t *h = *state;
    assert_int_equal (h_submit (h, s_v1), 1);
    assert_int_equal (h_count (h, 0, ZF_EV_FLOW, NULL), 1);
    //  The same text again is the same version, and makes no event.
    assert_int_equal (h_submit (h, s_v1), 1);
    assert_int_equal (h_count (h, 0, ZF_EV_FLOW, NULL), 1);
    assert_int_equal (h_submit (h, s_v2), 2);
    assert_int_equal (h_count (h, 0, ZF_EV_FLOW, NULL), 2);
    zf_engine_flow_info_t info;
    assert_int_equal (zf_engine_flow_info (h->engine, "eod", &info), 0);
    assert_int_equal (info.version, 2);
    assert_int_equal (info.latest->task_count, 3);
    //  The replica parsed the text of each FLOW event into the same versions.
    assert_int_equal (zf_engine_flow_info (h->replica, "eod", &info), 0);
    assert_int_equal (info.version, 2);
    assert_non_null (zf_engine_flow (h->replica, "eod", 1));
    assert_int_equal (zf_engine_flow (h->replica, "eod", 1)->task_count, 2);
    assert_null (zf_engine_flow (h->replica, "eod", 3));
    h_check (h);
}

static void
test_bad_flow_is_refused_with_messages (void **state)
{
    harness_t *h = *state;
    const char *bad = "flow: eod\ntasks:\n  - id: a\n    after: [nope]\n    run: x\n";
    zf_flow_errors_t errors = {0};
    int rc = zf_engine_submit (h->engine, bad, strlen (bad), "bad.yaml", &errors);
    assert_int_equal (rc, ZF_E_INVALID);
    assert_true (errors.count >= 1);
    assert_non_null (strstr (errors.lines[0], "bad.yaml:"));
    zf_flow_errors_clear (&errors);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "bad.yaml"));
    assert_int_equal (zf_engine_seq (h->engine), 0);
    assert_int_equal (zf_engine_start (h->engine, "eod", ZF_DATE_NONE), ZF_E_UNKNOWN_FLOW);
}

static void
test_run_pins_its_version (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    h_submit (h, s_v1);
    assert_int_equal (zf_engine_start (h->engine, "eod", d), 0);
    //  An edit during the run does not change it.
    h_submit (h, s_v2);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (h->engine, "eod", d, &run), 0);
    assert_int_equal (run.version, 1);
    assert_int_equal (run.task_count, 2);
    zf_engine_order_t order = h_order (h, "load");
    assert_int_equal (order.version, 1);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_true (h_idle (h));
    assert_int_equal (h_run_state (h, "eod", d), ZF_RS_SUCCEEDED);
    //  A new date opens with the latest version.
    zf_date_t next = h_date ("2026-11-25");
    zf_clock_set (h->clock, h_at ("UTC", "2026-11-25", 1, 0));
    assert_int_equal (zf_engine_start (h->engine, "eod", next), 0);
    assert_int_equal (zf_engine_run_info (h->engine, "eod", next, &run), 0);
    assert_int_equal (run.version, 2);
    assert_int_equal (h_drain (h), 2);
    assert_int_equal (h_run_state (h, "eod", next), ZF_RS_SUCCEEDED);
}

static void
test_flow_of_another_name_is_another_flow (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_v1);
    const char *other = "flow: billing\ntasks:\n  - id: bill\n    run: ./bill.sh\n";
    assert_int_equal (h_submit (h, other), 1);
    size_t count = 0;
    zf_engine_stats_t stats;
    zf_engine_stats (h->engine, &stats);
    count = stats.flows;
    assert_int_equal (count, 2);
    assert_non_null (zf_engine_flow (h->engine, "billing", 0));
    assert_null (zf_engine_flow (h->engine, "nope", 0));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_submit_makes_versions, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_bad_flow_is_refused_with_messages, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_run_pins_its_version, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_flow_of_another_name_is_another_flow, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
