/*  Engine tests: work the engine cannot schedule for want of memory fails
    with the reason instead of waiting for ever. zf_heap_push (timers) and
    zf_ring_push (the ready queue, the success list) are wrapped at link time
    so a test can make them fail. */
#include "core_harness.h"
#include "core_internal.h"

#include <string.h>

//  While set, the wrapped pushes fail as if out of memory.
static bool s_heap_fails;
static bool s_ring_fails;

int __real_zf_heap_push (zf_heap_t *self, const zf_timer_t *timer);
int __wrap_zf_heap_push (zf_heap_t *self, const zf_timer_t *timer);
int __real_zf_ring_push (zf_ring_t *self, const void *item);
int __wrap_zf_ring_push (zf_ring_t *self, const void *item);

int
__wrap_zf_heap_push (zf_heap_t *self, const zf_timer_t *timer)
{
    return s_heap_fails ? -1 : __real_zf_heap_push (self, timer);
}

int
__wrap_zf_ring_push (zf_ring_t *self, const void *item)
{
    return s_ring_fails ? -1 : __real_zf_ring_push (self, item);
}

static int
s_setup (void **state)
{
    s_heap_fails = s_ring_fails = false;
    *state = h_new ("2026-11-24", 12, 0);
    return 0;
}

static int
s_teardown (void **state)
{
    s_heap_fails = s_ring_fails = false;
    return h_teardown (state);
}

//  The detail of the shard of an unsharded task.
static const char *
s_detail (harness_t *h, const char *flow, zf_date_t date, uint32_t task)
{
    zf_engine_shard_info_t shard;
    assert_int_equal (zf_engine_shard_info (h->engine, flow, date, task, ZF_SHARD_SOLE, &shard), 0);
    return shard.detail ? shard.detail : "";
}

static void
test_not_before_timer_not_stored (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: nb\ntasks:\n"
                 "  - id: s\n    type: start\n"
                 "  - id: late\n    after: [s]\n    not_before: \"23:00\"\n    run: ./l\n");
    zf_date_t d = h_date ("2026-11-24");
    s_heap_fails = true;
    assert_int_equal (zf_engine_start (h->engine, "nb", d), 0);
    s_heap_fails = false;
    //  The task failed, saying why, and with nothing live the run failed.
    assert_int_equal (h_task_state (h, "nb", d, "late"), ZF_TS_FAILED);
    assert_non_null (strstr (s_detail (h, "nb", d, 1), "not scheduled: out of memory for timers"));
    assert_int_equal (h_run_state (h, "nb", d), ZF_RS_FAILED);
    assert_true (zf_engine_next_deadline (h->engine) == -1);
    h_check (h);
    //  An operator's retry schedules it again.
    assert_int_equal (zf_engine_retry (h->engine, "nb", d, "late", -1), 0);
    assert_int_equal (h_task_state (h, "nb", d, "late"), ZF_TS_WAITING);
    assert_true (zf_engine_next_deadline (h->engine) == h_at ("UTC", "2026-11-24", 23, 0));
    h_goto (h, h_at ("UTC", "2026-11-24", 23, 0));
    zf_engine_order_t order = h_order (h, "late");
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "nb", d), ZF_RS_SUCCEEDED);
}

static void
test_ready_queue_full (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: rq\ntasks:\n"
                 "  - id: a\n    run: ./a\n"
                 "  - id: b\n    after: [a]\n    run: ./b\n");
    zf_date_t d = h_date ("2026-11-24");
    s_ring_fails = true;
    assert_int_equal (zf_engine_start (h->engine, "rq", d), 0);
    s_ring_fails = false;
    assert_int_equal (h_task_state (h, "rq", d, "a"), ZF_TS_FAILED);
    assert_non_null (strstr (s_detail (h, "rq", d, 0), "out of memory for the ready queue"));
    assert_int_equal (h_task_state (h, "rq", d, "b"), ZF_TS_WAITING);
    assert_int_equal (h_run_state (h, "rq", d), ZF_RS_FAILED);
    assert_true (h_idle (h));
    h_check (h);
    assert_int_equal (zf_engine_retry (h->engine, "rq", d, "a", -1), 0);
    assert_int_equal (h_drain (h), 2);
    assert_int_equal (h_run_state (h, "rq", d), ZF_RS_SUCCEEDED);
}

static void
test_retry_not_queued (void **state)
{
    harness_t *h = *state;
    h_submit (h, "flow: rt\ntasks:\n"
                 "  - id: a\n    run: ./a\n    retries: 1\n    retry_delay: 1m\n");
    zf_date_t d = h_date ("2026-11-24");
    assert_int_equal (zf_engine_start (h->engine, "rt", d), 0);
    zf_engine_order_t order = h_order (h, "a");
    h_finish (h, &order, ZF_OUTCOME_FAILED);
    assert_int_equal (h_task_state (h, "rt", d, "a"), ZF_TS_RETRYING);
    //  The retry's time comes, and its place in the ready queue cannot be had.
    s_ring_fails = true;
    h_goto (h, h_at ("UTC", "2026-11-24", 12, 1));
    s_ring_fails = false;
    assert_int_equal (h_task_state (h, "rt", d, "a"), ZF_TS_FAILED);
    assert_int_equal (h_task_attempt (h, "rt", d, "a"), 1);
    assert_non_null (strstr (s_detail (h, "rt", d, 0), "not scheduled"));
    assert_int_equal (h_run_state (h, "rt", d), ZF_RS_FAILED);
    h_check (h);
    assert_int_equal (zf_engine_retry (h->engine, "rt", d, "a", -1), 0);
    order = h_order (h, "a");
    assert_int_equal (order.shards[0].attempt, 2);
    h_finish (h, &order, ZF_OUTCOME_SUCCEEDED);
    assert_int_equal (h_run_state (h, "rt", d), ZF_RS_SUCCEEDED);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_not_before_timer_not_stored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ready_queue_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retry_not_queued, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
