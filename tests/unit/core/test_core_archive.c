/*  Engine tests: archiving runs that succeeded and are durable, so that
    finished business dates leave memory while their flow, date and times
    stay for cross-date rules, history and a start of the same date. */
#include "core_harness.h"

#include <string.h>

static const char *s_flow = "flow: arc\n"
                            "calendar:\n"
                            "  weekdays: [mon, tue, wed, thu, fri, sat, sun]\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a, b@-1]\n"
                            "    shards: [x, y]\n"
                            "    run: ./b.sh\n";

static int
s_setup (void **state)
{
    harness_t *h = h_new ("2026-11-24", 12, 0);
    h_submit (h, s_flow);
    *state = h;
    return 0;
}

//  Starts a date and runs it to success.
static void
s_run_date (harness_t *h, const char *date)
{
    assert_int_equal (zf_engine_start (h->engine, "arc", h_date (date)), 0);
    h_drain (h);
    assert_int_equal (h_run_state (h, "arc", h_date (date)), ZF_RS_SUCCEEDED);
}

//  Confirms everything made so far.
static void
s_confirm_all (harness_t *h)
{
    assert_true (zf_engine_confirm (h->engine, zf_engine_seq (h->engine)) >= 0);
}

static bool
s_archived (harness_t *h, const char *date)
{
    zf_engine_run_info_t info;
    assert_int_equal (zf_engine_run_info (h->engine, "arc", h_date (date), &info), 0);
    return info.archived;
}

static void
test_nothing_is_archived_by_default (void **state)
{
    harness_t *h = *state;
    s_run_date (h, "2026-11-20");
    s_run_date (h, "2026-11-21");
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 0);
    assert_false (s_archived (h, "2026-11-20"));
}

static void
test_old_durable_successes_are_archived (void **state)
{
    harness_t *h = *state;
    zf_engine_set_keep_runs (h->engine, 2);
    const char *dates[] = {"2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"};
    for (size_t i = 0; i < 4; i++)
        s_run_date (h, dates[i]);
    zf_engine_stats_t before;
    zf_engine_stats (h->engine, &before);
    //  Nothing is durable yet: nothing may go.
    assert_int_equal (zf_engine_archive (h->engine), 0);
    //  Durable up to the success of the second date's last task, not its
    //  RUN event: that run still stays.
    uint64_t at = 0;
    for (size_t i = 0; i < h->log_count; i++)
        if (h->log[i].kind == ZF_EV_RUN && h->log[i].state == ZF_RS_SUCCEEDED &&
            h->log[i].date == h_date ("2026-11-20"))
            at = h->log[i].seq - 1;
    assert_true (at > 0);
    assert_true (zf_engine_confirm (h->engine, at) > 0);
    size_t mark = h->log_count;
    assert_int_equal (zf_engine_archive (h->engine), 1);
    assert_true (s_archived (h, "2026-11-19"));
    assert_false (s_archived (h, "2026-11-20"));
    assert_int_equal (h_count (h, mark, ZF_EV_RUN, NULL), 1);
    assert_int_equal (h->log[mark].state, ZF_RS_ARCHIVED);
    assert_int_equal (h->log[mark].date, h_date ("2026-11-19"));
    //  Once everything is durable, all but the two latest go, once.
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 1);
    assert_int_equal (zf_engine_archive (h->engine), 0);
    assert_true (s_archived (h, "2026-11-20"));
    assert_false (s_archived (h, "2026-11-21"));
    assert_false (s_archived (h, "2026-11-22"));
    h_check (h);

    zf_engine_stats_t after;
    zf_engine_stats (h->engine, &after);
    assert_int_equal (after.archived, 2);
    assert_int_equal (after.runs, 4);
    assert_int_equal (after.shards, before.shards - 2 * 3);

    //  The run itself still answers; its tasks are in the archive.
    zf_date_t d = h_date ("2026-11-19");
    zf_engine_run_info_t info;
    assert_int_equal (zf_engine_run_info (h->engine, "arc", d, &info), 0);
    assert_int_equal (info.state, ZF_RS_SUCCEEDED);
    assert_int_equal (info.tasks_done, 2);
    assert_true (info.ended > 0);
    zf_engine_task_info_t task;
    assert_int_equal (zf_engine_task_info (h->engine, "arc", d, 0, &task), ZF_E_ARCHIVED);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "archived"));
    assert_string_equal (zf_engine_error_name (ZF_E_ARCHIVED), "archived");
    assert_int_equal (zf_engine_retry (h->engine, "arc", d, "a", ZF_SHARD_WHOLE), ZF_E_ARCHIVED);
    assert_int_equal (zf_engine_skip (h->engine, "arc", d, "a", ZF_SHARD_WHOLE), ZF_E_ARCHIVED);
    assert_int_equal (zf_engine_cancel (h->engine, "arc", d, NULL, ZF_SHARD_WHOLE, NULL, NULL),
                      ZF_E_ARCHIVED);
    //  Starting the date again finds it open; a late result changes nothing.
    assert_int_equal (zf_engine_start (h->engine, "arc", d), 1);
    zf_task_key_t key = {"arc", d, "a", ZF_SHARD_SOLE, 1};
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, NULL, NULL),
                      ZF_E_STALE);
    assert_int_equal (zf_engine_running (h->engine, &key, "e1"), ZF_E_STALE);

    //  A snapshot carries the archived runs as runs only.
    h_restore (h);
    h_check (h);
    //  A later date still sees the archived dates' work as done.
    s_run_date (h, "2026-11-23");
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 1);
    assert_true (s_archived (h, "2026-11-21"));
    h_check (h);
}

static void
test_failed_and_cancelled_runs_stay (void **state)
{
    harness_t *h = *state;
    zf_engine_set_keep_runs (h->engine, 1);
    zf_date_t failed = h_date ("2026-11-20"), cancelled = h_date ("2026-11-21");
    assert_int_equal (zf_engine_start (h->engine, "arc", failed), 0);
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_FAILED);
    assert_int_equal (h_run_state (h, "arc", failed), ZF_RS_FAILED);
    assert_int_equal (zf_engine_start (h->engine, "arc", cancelled), 0);
    assert_int_equal (
        zf_engine_cancel (h->engine, "arc", cancelled, NULL, ZF_SHARD_WHOLE, NULL, NULL), 0);
    assert_int_equal (zf_engine_start (h->engine, "arc", h_date ("2026-11-22")), 0);
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 0);
    //  A failure is never hidden in the archive: it stays until dealt with.
    assert_int_equal (zf_engine_retry (h->engine, "arc", failed, "a", ZF_SHARD_WHOLE), 0);
    h_drain (h);
    assert_int_equal (h_run_state (h, "arc", failed), ZF_RS_SUCCEEDED);
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 1);
    assert_false (s_archived (h, "2026-11-21"));
    h_check (h);
}

//  A run whose own RUN event is the last one made: confirming it makes a
//  CONFIRM event even though no task success is left to confirm, or the
//  run would wait for some later success to become archivable.
static void
test_a_run_durable_by_its_own_event (void **state)
{
    harness_t *h = *state;
    zf_engine_set_keep_runs (h->engine, 1);
    s_run_date (h, "2026-11-22");
    s_run_date (h, "2026-11-21");
    uint64_t ended = zf_engine_seq (h->engine);
    assert_int_equal (h->log[h->log_count - 1].kind, ZF_EV_RUN);
    assert_int_equal (h->log[h->log_count - 1].state, ZF_RS_SUCCEEDED);
    assert_true (zf_engine_confirm (h->engine, ended - 1) > 0);
    assert_int_equal (zf_engine_archive (h->engine), 0);
    size_t mark = h->log_count;
    assert_int_equal (zf_engine_confirm (h->engine, ended), 0);
    assert_int_equal (h_count (h, mark, ZF_EV_CONFIRM, NULL), 1);
    assert_int_equal (zf_engine_archive (h->engine), 1);
    assert_true (s_archived (h, "2026-11-21"));
    //  Acknowledging that CONFIRM makes no other.
    mark = h->log_count;
    assert_int_equal (zf_engine_confirm (h->engine, zf_engine_seq (h->engine)), 0);
    assert_int_equal (h->log_count, mark + 0);
    h_check (h);
}

//  A later date opened before an earlier one waits for it; the earlier one
//  succeeds and is archived. A snapshot opens the archived run afresh after
//  the later one filed its waiters: archiving it must release them.
static void
test_snapshot_releases_waiters_of_archived_runs (void **state)
{
    harness_t *h = *state;
    zf_engine_set_keep_runs (h->engine, 1);
    zf_date_t later = h_date ("2026-11-22"), middle = h_date ("2026-11-21");
    s_run_date (h, "2026-11-20");
    assert_int_equal (zf_engine_start (h->engine, "arc", later), 0);
    assert_int_equal (zf_engine_start (h->engine, "arc", middle), 0);
    //  Run everything but the later date's a.
    zf_task_key_t held = {0};
    bool holding = false;
    for (int round = 0; round < 10; round++) {
        zf_engine_order_t order;
        bool any = false;
        while (zf_engine_next_order (h->engine, &order) == 1) {
            any = true;
            if (order.date == later && strcmp (order.task_id, "a") == 0) {
                held = h_key (&order, 0);
                holding = true;
                continue;
            }
            h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
        }
        if (!any) break;
    }
    assert_true (holding);
    assert_int_equal (h_run_state (h, "arc", middle), ZF_RS_SUCCEEDED);
    s_confirm_all (h);
    assert_int_equal (zf_engine_archive (h->engine), 2);
    assert_true (s_archived (h, "2026-11-20"));
    assert_true (s_archived (h, "2026-11-21"));
    h_restore (h);
    h_check (h);
    //  The later date's b waits only for its a now, in both engines.
    assert_int_equal (zf_engine_running (h->engine, &held, "exec-1"), 0);
    assert_int_equal (zf_engine_result (h->engine, &held, ZF_OUTCOME_SUCCEEDED, 0, "exec-1", NULL),
                      0);
    assert_int_equal (h_task_state (h, "arc", later, "b"), ZF_TS_READY);
    h_drain (h);
    assert_int_equal (h_run_state (h, "arc", later), ZF_RS_SUCCEEDED);
    h_check (h);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_nothing_is_archived_by_default, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_old_durable_successes_are_archived, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_failed_and_cancelled_runs_stay, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_a_run_durable_by_its_own_event, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_releases_waiters_of_archived_runs, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
