/*  Engine tests: replicas - the fold refuses gaps and events that do not fit,
    and a snapshot plus the later events rebuilds the same state. */
#include "core_harness.h"

#include <string.h>

static const char *s_flow = "flow: rep\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: 3\n"
                            "    retries: 1\n"
                            "    retry_delay: 1m\n"
                            "    run: ./b.sh\n"
                            "  - id: c\n"
                            "    after: [b, c@-1]\n"
                            "    not_before: \"18:00\"\n"
                            "    run: ./c.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    harness_t *h = h_new ("2026-11-24", 12, 0);
    h_submit (h, s_flow);
    assert_int_equal (zf_engine_start (h->engine, "rep", h_date ("2026-11-24")), 0);
    *state = h;
    return 0;
}

//  An event for the replica, as it might come off the bus.
static zf_event_t
s_task_event (harness_t *h, const char *task, int32_t shard, int state, uint32_t attempt)
{
    zf_event_t ev;
    memset (&ev, 0, sizeof (ev));
    ev.seq = zf_engine_seq (h->replica) + 1;
    ev.time = zf_clock_now (h->clock);
    ev.kind = ZF_EV_TASK;
    ev.state = (uint8_t)state;
    ev.flow = "rep";
    ev.date = h_date ("2026-11-24");
    ev.task = task;
    ev.shard = shard;
    ev.attempt = attempt;
    return ev;
}

static void
test_gap_and_misfits_change_nothing (void **state)
{
    harness_t *h = *state;
    uint64_t digest = zf_engine_digest (h->replica);
    uint64_t seq = zf_engine_seq (h->replica);
    zf_event_t ev = s_task_event (h, "a", ZF_SHARD_WHOLE, ZF_TS_DISPATCHED, 1);
    ev.seq = seq + 2;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_GAP);
    ev.seq = seq;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_GAP);
    ev.seq = seq + 1;
    ev.flow = "nope";
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_UNKNOWN_FLOW);
    ev.flow = "rep";
    ev.date = h_date ("2026-11-25");
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_UNKNOWN_RUN);
    ev.date = h_date ("2026-11-24");
    ev.task = "zz";
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_UNKNOWN_TASK);
    ev.task = "b";
    ev.shard = 3;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_UNKNOWN_TASK);
    //  b is waiting: it cannot be dispatched, run or succeed.
    ev.shard = 1;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.state = ZF_TS_SUCCEEDED;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.state = ZF_TS_CONFIRMED;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.state = 42;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.kind = 99;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    //  a is ready at attempt 1: dispatching attempt 2 does not fit.
    ev = s_task_event (h, "a", ZF_SHARD_WHOLE, ZF_TS_DISPATCHED, 2);
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.kind = ZF_EV_EPOCH;
    ev.value = 0;
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    ev.kind = ZF_EV_FLOW;
    ev.version = 1;
    ev.text = "flow: rep\n";
    ev.text_size = strlen (ev.text);
    assert_int_equal (zf_engine_apply (h->replica, &ev), ZF_E_INVALID);
    assert_int_equal (zf_engine_seq (h->replica), seq);
    assert_true (zf_engine_digest (h->replica) == digest);
    //  The replica still follows the engine.
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
}

//  Applies a snapshot event to another engine.
static int
s_apply_to (const zf_event_t *event, void *arg)
{
    assert_int_equal (zf_engine_apply (arg, event), 0);
    return 0;
}

static void
test_replica_applies_bus_events (void **state)
{
    harness_t *h = *state;
    //  The replica can be driven by hand with the engine's own rules.
    zf_engine_order_t a = h_order (h, "a");
    (void)a;
    zf_event_t ev = s_task_event (h, "a", ZF_SHARD_WHOLE, ZF_TS_RUNNING, 1);
    ev.executor = "n1";
    zf_engine_t *copy = zf_engine_new (h->clock);
    assert_int_equal (zf_engine_restore_begin (copy), 0);
    assert_true (zf_engine_snapshot (h->replica, s_apply_to, copy) >= 0);
    assert_int_equal (zf_engine_restore_end (copy, zf_engine_seq (h->replica)), 0);
    assert_true (zf_engine_digest (copy) == zf_engine_digest (h->replica));
    assert_int_equal (zf_engine_apply (copy, &ev), 0);
    assert_true (zf_engine_digest (copy) != zf_engine_digest (h->replica));
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (copy, "rep", h_date ("2026-11-24"), 0, 0, &info), 0);
    assert_int_equal (info.state, ZF_TS_RUNNING);
    assert_string_equal (info.executor, "n1");
    zf_engine_destroy (&copy);
    //  Errors reported through the engine travel in sequence too.
    assert_int_equal (zf_engine_report_error (h->engine, "dispatcher", "disk full"), 0);
    assert_int_equal (h->log[h->log_count - 1].kind, ZF_EV_ERROR);
    h_check (h);
}

//  Stops a snapshot after a few events.
static int
s_stop_early (const zf_event_t *event, void *arg)
{
    int *left = arg;
    return --*left <= 0;
}

static void
test_restore_rules (void **state)
{
    harness_t *h = *state;
    assert_int_equal (zf_engine_restore_begin (h->engine), ZF_E_CONFLICT);
    assert_int_equal (zf_engine_restore_end (h->engine, 5), ZF_E_CONFLICT);
    int left = 2;
    assert_true (zf_engine_snapshot (h->engine, s_stop_early, &left) < 0);
    zf_engine_t *fresh = zf_engine_new (h->clock);
    assert_int_equal (zf_engine_restore_begin (fresh), 0);
    zf_event_t ev;
    memset (&ev, 0, sizeof (ev));
    ev.seq = 1;
    ev.kind = ZF_EV_EPOCH;
    ev.value = 1;
    assert_int_equal (zf_engine_apply (fresh, &ev), ZF_E_INVALID);
    assert_int_equal (zf_engine_restore_end (fresh, 0), 0);
    zf_engine_destroy (&fresh);
}

static void
test_snapshot_at_any_point_rebuilds_the_state (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_set_epoch (h->engine, 7, "primary", "started empty"), 0);
    assert_int_equal (zf_engine_start (h->engine, "rep", d + 1), 0);
    h_restore (h);
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    h_restore (h);
    assert_int_equal (zf_engine_confirm (h->engine, zf_engine_seq (h->engine)), 1);
    zf_engine_order_t b = h_order (h, "b");
    zf_engine_shard_run_t shards[3];
    memcpy (shards, b.shards, sizeof (shards));
    for (int i = 0; i < 3; i++) {
        zf_task_key_t key = {"rep", d, "b", i, shards[i].attempt};
        assert_int_equal (zf_engine_running (h->engine, &key, i ? "n2" : "n1"), 0);
        if (i < 2)
            assert_int_equal (zf_engine_result (h->engine, &key,
                                                i ? ZF_OUTCOME_FAILED : ZF_OUTCOME_SUCCEEDED, i,
                                                "n", i ? "bad" : NULL),
                              0);
    }
    //  A retrying shard, a running one, a succeeded one; a paused flow.
    assert_int_equal (zf_engine_pause (h->engine, "rep"), 0);
    h_restore (h);
    h_goto (h, zf_clock_now (h->clock) + 60000);
    assert_int_equal (h_shard_state (h, "rep", d, "b", 1), ZF_TS_READY);
    assert_true (h_idle (h));
    assert_int_equal (zf_engine_resume (h->engine, "rep"), 0);
    h_restore (h);
    b = h_order (h, "b");
    h_finish (h, &b, ZF_OUTCOME_SUCCEEDED);
    zf_task_key_t key = {"rep", d, "b", 2, 1};
    assert_int_equal (zf_engine_result (h->engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "n2", NULL), 0);
    //  c waits for 18:00 (and on the 25th for the 24th's c).
    assert_int_equal (h_task_state (h, "rep", d, "c"), ZF_TS_WAITING);
    h_restore (h);
    h_goto (h, h_at ("UTC", "2026-11-24", 18, 0));
    zf_engine_order_t c = h_order (h, "c");
    h_finish (h, &c, ZF_OUTCOME_SUCCEEDED);
    h_restore (h);
    assert_int_equal (h_run_state (h, "rep", d), ZF_RS_SUCCEEDED);
    h_goto (h, h_at ("UTC", "2026-11-25", 0, 0));
    h_restore (h);
    h_drain (h);
    h_goto (h, h_at ("UTC", "2026-11-25", 18, 0));
    h_drain (h);
    assert_int_equal (h_run_state (h, "rep", d + 1), ZF_RS_SUCCEEDED);
    assert_int_equal (zf_engine_epoch (h->restored), 7);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_gap_and_misfits_change_nothing, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_replica_applies_bus_events, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_restore_rules, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_at_any_point_rebuilds_the_state, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
