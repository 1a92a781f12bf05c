/*  Engine tests: confirmation, epochs, recovery after a cold restart, work
    lost with a restarted dispatcher, and taking over from a registry that
    died between two events. */
#include "core_harness.h"
#include "zf_limits.h"

#include <string.h>

static const char *s_flow = "flow: rec\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: ./a.sh\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: [x, y]\n"
                            "    run: ./b.sh\n"
                            "    rollback: ./b_undo.sh\n"
                            "  - id: c\n"
                            "    after: [a]\n"
                            "    run: ./c.sh\n";

//  A fresh fixture for each test.
static int
s_setup (void **state)
{
    harness_t *h = h_new ("2026-11-24", 12, 0);
    h_submit (h, s_flow);
    assert_int_equal (zf_engine_start (h->engine, "rec", h_date ("2026-11-24")), 0);
    *state = h;
    return 0;
}

static void
test_confirm_follows_the_watermark (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    uint64_t a_done = zf_engine_seq (h->engine) - 2; //  then b and c became ready
    assert_int_equal (h->log[a_done - 1].state, ZF_TS_SUCCEEDED);
    //  Successors go on success, before any confirmation.
    assert_int_equal (h_task_state (h, "rec", d, "b"), ZF_TS_READY);
    zf_engine_order_t b = h_order (h, "b");
    h_finish (h, &b, ZF_OUTCOME_SUCCEEDED);
    //  Up to a's success: only a is confirmed, in one event.
    size_t mark = h->log_count;
    assert_int_equal (zf_engine_confirm (h->engine, a_done), 1);
    h_check (h);
    assert_int_equal (h->log_count - mark, 1);
    assert_int_equal (h->log[mark].kind, ZF_EV_CONFIRM);
    assert_int_equal (h_task_state (h, "rec", d, "a"), ZF_TS_CONFIRMED);
    assert_int_equal (h_task_state (h, "rec", d, "b"), ZF_TS_SUCCEEDED);
    assert_int_equal (zf_engine_confirmed (h->engine), a_done);
    //  Nothing new to confirm: no event (the archiver acknowledges CONFIRMs too).
    assert_int_equal (zf_engine_confirm (h->engine, a_done), 0);
    assert_int_equal (zf_engine_confirm (h->engine, zf_engine_seq (h->engine)), 2);
    uint64_t seq = zf_engine_seq (h->engine);
    assert_int_equal (zf_engine_confirm (h->engine, seq), 0);
    assert_int_equal (zf_engine_seq (h->engine), seq);
    assert_int_equal (h_task_state (h, "rec", d, "b"), ZF_TS_CONFIRMED);
    assert_int_equal (zf_engine_confirm (h->engine, seq + 5), ZF_E_INVALID);
    //  Confirmed and skipped together summarise as confirmed.
    zf_engine_order_t c = h_order (h, "c");
    h_finish (h, &c, ZF_OUTCOME_FAILED);
    assert_int_equal (zf_engine_skip (h->engine, "rec", d, "c", ZF_SHARD_WHOLE), 0);
    assert_int_equal (h_run_state (h, "rec", d), ZF_RS_SUCCEEDED);
    zf_engine_stats_t stats;
    zf_engine_stats (h->engine, &stats);
    assert_int_equal (stats.unconfirmed, 0);
}

//  zf_engine_event_fn: counts a snapshot's EPOCH items and those that name
//  a registry or say how.
static int
s_snapshot_epoch (const zf_event_t *event, void *arg)
{
    int *counts = arg;
    if (event->kind != ZF_EV_EPOCH) return 0;
    counts[0]++;
    if (event->executor || event->detail) counts[1]++;
    return 0;
}

static void
test_epoch_rises_and_orders_carry_it (void **state)
{
    harness_t *h = *state;
    assert_int_equal (zf_engine_epoch (h->engine), 0);
    assert_int_equal (zf_engine_set_epoch (h->engine, 3, "primary", "started empty"), 0);
    h_check (h);
    const h_event_t *epoch = &h->log[h->log_count - 1];
    assert_int_equal (epoch->kind, ZF_EV_EPOCH);
    assert_int_equal (epoch->value, 3);
    //  The event says who took the term and how; the fold takes the term only.
    assert_string_equal (epoch->executor, "primary");
    assert_string_equal (epoch->detail, "started empty");
    assert_int_equal (zf_engine_epoch (h->replica), 3);
    size_t events = h->log_count;
    assert_int_equal (zf_engine_set_epoch (h->engine, 3, NULL, NULL), ZF_E_STALE);
    assert_int_equal (zf_engine_set_epoch (h->engine, 2, NULL, NULL), ZF_E_STALE);
    //  A registry name no subscriber could read as a name: no term, no event.
    assert_int_equal (zf_engine_set_epoch (h->engine, 4, "", NULL), ZF_E_INVALID);
    char long_name[ZF_MAX_NAME + 2];
    memset (long_name, 'r', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_int_equal (zf_engine_set_epoch (h->engine, 4, long_name, NULL), ZF_E_INVALID);
    assert_non_null (strstr (zf_engine_last_error (h->engine), "ZF_MAX_NAME"));
    assert_int_equal (h->log_count, events);
    assert_int_equal (zf_engine_epoch (h->engine), 3);
    zf_engine_order_t a = h_order (h, "a");
    assert_int_equal (a.epoch, 3);
    h_restore (h);
    assert_int_equal (zf_engine_epoch (h->restored), 3);
    //  Neither is needed.
    assert_int_equal (zf_engine_set_epoch (h->engine, 4, NULL, NULL), 0);
    assert_string_equal (h->log[h->log_count - 1].executor, "");
    assert_string_equal (h->log[h->log_count - 1].detail, "");
    assert_int_equal (zf_engine_set_epoch (h->engine, 5, "backup",
                                           "took over from=the active's events reason=\"...\""),
                      0);
    h_check (h);
    assert_int_equal (zf_engine_epoch (h->replica), 5);
    assert_int_equal (zf_engine_epoch (h->restored), 5);
    //  A snapshot holds the term alone.
    int counts[2] = {0, 0};
    assert_true (zf_engine_snapshot (h->engine, s_snapshot_epoch, counts) >= 0);
    assert_int_equal (counts[0], 1);
    assert_int_equal (counts[1], 0);
}

//  The dispatcher's answer in recovery: only shard y of b is still running.
static bool
s_only_y_lives (const zf_task_key_t *key, void *arg)
{
    int *asked = arg;
    (*asked)++;
    return strcmp (key->task, "b") == 0 && key->shard == 1;
}

//  Receives recovery's counts.
static void
s_recovered (const zf_engine_recovery_t *counts, void *arg)
{
    zf_engine_recovery_t *out = arg;
    *out = *counts;
}

static void
test_recovery_rolls_back_lost_work (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t b = h_order (h, "b");
    zf_task_key_t y = h_key (&b, 1);
    assert_int_equal (zf_engine_running (h->engine, &y, "node-y"), 0);
    zf_engine_order_t c = h_order (h, "c");
    (void)c;
    //  The registry restarts from the archiver's snapshot.
    h_restore (h);
    int asked = 0;
    zf_engine_recovery_t counts = {0};
    int lost =
        zf_engine_recover (h->engine, UINT64_MAX, s_only_y_lives, &asked, s_recovered, &counts);
    h_check (h);
    assert_int_equal (lost, 2);
    assert_int_equal (asked, 3);
    assert_string_equal (counts.flow, "rec");
    assert_int_equal (counts.date, d);
    assert_int_equal (counts.rolled_back, 2);
    assert_int_equal (counts.live, 1);
    assert_int_equal (counts.confirmed, 1);
    assert_int_equal (h_task_state (h, "rec", d, "a"), ZF_TS_CONFIRMED);
    assert_int_equal (h_shard_state (h, "rec", d, "b", 0), ZF_TS_READY);
    assert_int_equal (h_shard_state (h, "rec", d, "b", 1), ZF_TS_RUNNING);
    //  The lost shard runs again with attempt 2, its rollback first.
    zf_engine_order_t again = h_order (h, "b");
    assert_int_equal (again.shard_count, 1);
    assert_int_equal (again.shards[0].shard, 0);
    assert_int_equal (again.shards[0].attempt, 2);
    assert_true (again.shards[0].rollback);
    h_finish (h, &again, ZF_OUTCOME_SUCCEEDED);
    //  c had no rollback command: it runs again without one.
    zf_engine_order_t c2 = h_order (h, "c");
    assert_int_equal (c2.shards[0].attempt, 2);
    assert_false (c2.shards[0].rollback);
    h_finish (h, &c2, ZF_OUTCOME_SUCCEEDED);
    //  The live shard's result is still welcome.
    assert_int_equal (zf_engine_result (h->engine, &y, ZF_OUTCOME_SUCCEEDED, 0, "node-y", NULL), 0);
    h_check (h);
    assert_int_equal (h_run_state (h, "rec", d), ZF_RS_SUCCEEDED);
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (h->engine, "rec", d, 1, 0, &info), 0);
    assert_false (info.rollback);
}

//  The dispatcher restarted: the live engine (no restore) requeues what the
//  new dispatcher does not hold, and confirms nothing.
static void
test_requeue_lost_after_a_dispatcher_restart (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_order_t a = h_order (h, "a");
    h_finish (h, &a, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t b = h_order (h, "b");
    zf_task_key_t y = h_key (&b, 1);
    assert_int_equal (zf_engine_running (h->engine, &y, "node-y"), 0);
    zf_engine_order_t c = h_order (h, "c");
    (void)c;
    uint64_t confirmed = zf_engine_confirmed (h->engine);
    size_t from = h->log_count;
    int asked = 0;
    zf_engine_recovery_t counts = {0};
    int lost = zf_engine_requeue_lost (h->engine, s_only_y_lives, &asked, s_recovered, &counts);
    h_check (h);
    assert_int_equal (lost, 2);
    assert_int_equal (asked, 3);
    assert_string_equal (counts.flow, "rec");
    assert_int_equal (counts.date, d);
    assert_int_equal (counts.rolled_back, 2);
    assert_int_equal (counts.live, 1);
    assert_int_equal (counts.confirmed, 0);
    //  Nothing confirmed: a's success is not durable yet.
    assert_int_equal (h_count (h, from, ZF_EV_CONFIRM, NULL), 0);
    assert_int_equal (zf_engine_confirmed (h->engine), confirmed);
    assert_int_equal (h_task_state (h, "rec", d, "a"), ZF_TS_SUCCEEDED);
    assert_int_equal (h_shard_state (h, "rec", d, "b", 0), ZF_TS_READY);
    assert_int_equal (h_shard_state (h, "rec", d, "b", 1), ZF_TS_RUNNING);
    assert_int_equal (h_task_state (h, "rec", d, "c"), ZF_TS_READY);
    //  The lost ones run again at attempt 2, with the rollback where there is one.
    zf_engine_order_t again = h_order (h, "b");
    assert_int_equal (again.shard_count, 1);
    assert_int_equal (again.shards[0].shard, 0);
    assert_int_equal (again.shards[0].attempt, 2);
    assert_true (again.shards[0].rollback);
    h_finish (h, &again, ZF_OUTCOME_SUCCEEDED);
    zf_engine_order_t c2 = h_order (h, "c");
    assert_int_equal (c2.shards[0].attempt, 2);
    assert_false (c2.shards[0].rollback);
    h_finish (h, &c2, ZF_OUTCOME_SUCCEEDED);
    //  A late result of a lost attempt changes nothing.
    zf_task_key_t old_c = {"rec", d, "c", ZF_SHARD_SOLE, 1};
    assert_int_equal (zf_engine_result (h->engine, &old_c, ZF_OUTCOME_FAILED, 1, "e", "x"),
                      ZF_E_STALE);
    assert_int_equal (zf_engine_result (h->engine, &y, ZF_OUTCOME_SUCCEEDED, 0, "node-y", NULL), 0);
    h_check (h);
    assert_int_equal (h_run_state (h, "rec", d), ZF_RS_SUCCEEDED);
    //  With nothing in flight there is nothing to ask.
    asked = 0;
    assert_int_equal (zf_engine_requeue_lost (h->engine, s_only_y_lives, &asked, NULL, NULL), 0);
    assert_int_equal (asked, 0);
    h_check (h);
}

//  Feeds a follower every event except the READY that follows a's success,
//  as if the registry making it died in between.
typedef struct {
    zf_engine_t *follower; //  the backup
    bool dropped;          //  the READY of b was dropped
    bool stop;             //  forward nothing more
} s_backup_t;

//  Passes an event to the backup unless the primary "died" before it.
static void
s_forward (const zf_event_t *event, void *arg)
{
    s_backup_t *backup = arg;
    if (event->kind == ZF_EV_TASK && event->state == ZF_TS_READY &&
        strcmp (event->task, "b") == 0) {
        backup->dropped = true;
        backup->stop = true;
    }
    if (!backup->stop) assert_int_equal (zf_engine_apply (backup->follower, event), 0);
}

static void
test_backup_settles_what_a_dead_registry_left (void **state)
{
    harness_t *h = *state;
    zf_date_t d = h_date ("2026-11-24");
    zf_engine_t *primary = zf_engine_new (h->clock);
    s_backup_t backup = {zf_engine_new (h->clock), false, false};
    zf_engine_set_listener (primary, s_forward, &backup);
    h_submit (h, s_flow);
    const zf_flow_t *def = zf_engine_flow (h->engine, "rec", 0);
    assert_int_equal (zf_engine_submit (primary, def->text, def->text_size, "rec.yaml", NULL), 1);
    assert_int_equal (zf_engine_start (primary, "rec", d), 0);
    zf_engine_order_t a;
    assert_int_equal (zf_engine_next_order (primary, &a), 1);
    zf_task_key_t key = h_key (&a, 0);
    assert_int_equal (zf_engine_result (primary, &key, ZF_OUTCOME_SUCCEEDED, 0, "e", NULL), 0);
    assert_true (backup.dropped);
    //  The backup saw a succeed but never b or c become ready.
    zf_engine_task_info_t info;
    assert_int_equal (zf_engine_task_info (backup.follower, "rec", d, 1, &info), 0);
    assert_int_equal (info.state, ZF_TS_WAITING);
    zf_engine_order_t order;
    assert_int_equal (zf_engine_next_order (backup.follower, &order), 0);
    assert_int_equal (zf_engine_settle (backup.follower), 2);
    assert_int_equal (zf_engine_task_info (backup.follower, "rec", d, 1, &info), 0);
    assert_int_equal (info.state, ZF_TS_READY);
    assert_int_equal (zf_engine_settle (backup.follower), 0);
    assert_int_equal (zf_engine_next_order (backup.follower, &order), 1);
    assert_string_equal (order.task_id, "b");
    zf_engine_destroy (&primary);
    zf_engine_destroy (&backup.follower);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_confirm_follows_the_watermark, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_epoch_rises_and_orders_carry_it, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_recovery_rolls_back_lost_work, s_setup, h_teardown),
        cmocka_unit_test_setup_teardown (test_requeue_lost_after_a_dispatcher_restart, s_setup,
                                         h_teardown),
        cmocka_unit_test_setup_teardown (test_backup_settles_what_a_dead_registry_left, s_setup,
                                         h_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
