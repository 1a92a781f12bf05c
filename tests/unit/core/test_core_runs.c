/*  Engine tests: runs and business dates - calendars, zones, day rolls, catch-up. */
#include "core_harness.h"

#include <string.h>

//  A weekday calendar with Thanksgiving off; one job between start and day roll.
static const char *s_weekdays = "flow: eod\n"
                                "timezone: America/New_York\n"
                                "calendar:\n"
                                "  weekdays: [mon, tue, wed, thu, fri]\n"
                                "  holidays: [2026-11-26]\n"
                                "tasks:\n"
                                "  - id: start\n"
                                "    type: start\n"
                                "  - id: work\n"
                                "    after: [start]\n"
                                "    run: ./work.sh\n"
                                "  - id: next_day\n"
                                "    type: day_roll\n"
                                "    after: [work]\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    *state = h_new ("2026-11-24", 12, 0);
    return 0;
}

static void
test_start_checks_business_dates (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_weekdays);
    //  A Saturday and a holiday are not business dates.
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-28")), ZF_E_INVALID);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "2026-11-28"));
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-26")), ZF_E_INVALID);
    assert_int_equal (zf_engine_start (h->engine, "nope", h_date ("2026-11-24")),
                      ZF_E_UNKNOWN_FLOW);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-26")), -1);
    //  Opening twice is one run.
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-24")), 0);
    size_t events = h->log_count;
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-24")), 1);
    assert_int_equal (h->log_count, events);
}

static void
test_run_waits_for_its_date_in_its_zone (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_weekdays);
    zf_date_t wed = h_date ("2026-11-25");
    assert_int_equal (zf_engine_start (h->engine, "eod", wed), 0);
    assert_int_equal (h_run_state (h, "eod", wed), ZF_RS_WAITING);
    assert_true (h_idle (h));
    //  Midnight in New York is 05:00 UTC in November.
    int64_t begins = h_at ("America/New_York", "2026-11-25", 0, 0);
    assert_true (begins == h_at ("UTC", "2026-11-25", 5, 0));
    assert_true (zf_engine_next_deadline (h->engine) == begins);
    h_goto (h, begins - 1);
    assert_int_equal (h_run_state (h, "eod", wed), ZF_RS_WAITING);
    h_goto (h, begins);
    assert_int_equal (h_run_state (h, "eod", wed), ZF_RS_RUNNING);
    assert_int_equal (h_task_state (h, "eod", wed, "start"), ZF_TS_SUCCEEDED);
    assert_int_equal (h_task_state (h, "eod", wed, "work"), ZF_TS_READY);
}

static void
test_shanghai_begins_the_day_before_in_utc (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: cn\ntimezone: Asia/Shanghai\ntasks:\n  - id: a\n    run: ./a.sh\n");
    //  At 20:00 UTC it is already the 25th in Shanghai: "today" is the 25th.
    h_goto (h, h_at ("UTC", "2026-11-24", 20, 0));
    assert_int_equal (zf_engine_start (h->engine, "cn", ZF_DATE_NONE), 0);
    assert_int_equal (h_run_state (h, "cn", h_date ("2026-11-25")), ZF_RS_RUNNING);
    //  The 26th begins at 16:00 UTC on the 25th.
    assert_int_equal (zf_engine_start (h->engine, "cn", h_date ("2026-11-26")), 0);
    assert_int_equal (h_run_state (h, "cn", h_date ("2026-11-26")), ZF_RS_WAITING);
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-25", 16, 0));
    h_goto (h, h_at ("UTC", "2026-11-25", 16, 0));
    assert_int_equal (h_run_state (h, "cn", h_date ("2026-11-26")), ZF_RS_RUNNING);
    assert_int_equal (h_drain (h), 2);
}

static void
test_day_roll_skips_weekend_and_holiday (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_weekdays);
    //  Wednesday 25th; Thursday is a holiday, so its day roll opens Friday.
    h_goto (h, h_at ("UTC", "2026-11-25", 12, 0));
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-25")), 0);
    assert_int_equal (h_drain (h), 1);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-25")), ZF_RS_SUCCEEDED);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-26")), -1);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-27")), ZF_RS_WAITING);
    //  Friday's day roll opens Monday the 30th, over the weekend.
    h_goto (h, h_at ("America/New_York", "2026-11-27", 0, 0));
    assert_int_equal (h_drain (h), 1);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-28")), -1);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-29")), -1);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-30")), ZF_RS_WAITING);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (h->engine, "eod", ZF_DATE_NONE, &run), 0);
    assert_int_equal (run.date, h_date ("2026-11-30"));
}

static void
test_past_date_catches_up_date_by_date (void **state)
{
    harness_t *h = *state;
    h_submit (h, s_weekdays);
    //  Friday the 20th, on Tuesday the 24th: the 20th, 23rd and 24th run at
    //  once, one after the other; the 25th waits for its date.
    assert_int_equal (zf_engine_start (h->engine, "eod", h_date ("2026-11-20")), 0);
    zf_engine_order_t order = h_order (h, "work");
    assert_int_equal (order.date, h_date ("2026-11-20"));
    assert_true (h_idle (h));
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "work");
    assert_int_equal (order.date, h_date ("2026-11-23"));
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    order = h_order (h, "work");
    assert_int_equal (order.date, h_date ("2026-11-24"));
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_true (h_idle (h));
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-24")), ZF_RS_SUCCEEDED);
    assert_int_equal (h_run_state (h, "eod", h_date ("2026-11-25")), ZF_RS_WAITING);
}

static void
test_built_ins_alone_catch_up_to_today (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: tick\ntasks:\n  - id: s\n    type: start\n"
                 "  - id: roll\n    type: day_roll\n    after: [s]\n");
    assert_int_equal (zf_engine_start (h->engine, "tick", h_date ("2026-11-10")), 0);
    zf_date_t first = h_date ("2026-11-10"), today = h_date ("2026-11-24");
    for (zf_date_t date = first; date <= today; date++)
        assert_int_equal (h_run_state (h, "tick", date), ZF_RS_SUCCEEDED);
    assert_int_equal (h_run_state (h, "tick", today + 1), ZF_RS_WAITING);
    assert_int_equal (h_run_state (h, "tick", today + 2), -1);
    assert_true (h_idle (h));
    h_restore (h);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_start_checks_business_dates, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_run_waits_for_its_date_in_its_zone, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_shanghai_begins_the_day_before_in_utc, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_day_roll_skips_weekend_and_holiday, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_past_date_catches_up_date_by_date, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_built_ins_alone_catch_up_to_today, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
