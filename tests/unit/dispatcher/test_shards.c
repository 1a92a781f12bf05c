/*  Tests of shard expansion: counts, keys, selected shards, rollback flags, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shards.h"
#include "zf_limits.h"

//  An order of task "accrue" at attempt 1.
static zf_order_t
s_order (uint32_t shard_count)
{
    zf_order_t order = {
        .flow = "eod",
        .date = 20000,
        .task = "accrue",
        .version = 1,
        .attempt = 1,
        .shard_count = shard_count,
        .command = "true",
    };
    return order;
}

static void
test_unsharded (void **state)
{
    zf_order_t order = s_order (0);
    zf_shard_plan_t *plans;
    size_t count;
    char err[160];
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_int_equal (count, 1);
    assert_int_equal (plans[0].shard, ZF_SHARD_SOLE);
    assert_int_equal (plans[0].attempt, 1);
    assert_false (plans[0].rollback);
    free (plans);
    //  Rollback applies only with a rollback command.
    int32_t interrupted = ZF_SHARD_SOLE;
    order.rollback_shards = &interrupted;
    order.rollback_count = 1;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_false (plans[0].rollback);
    free (plans);
    order.rollback = "undo";
    order.attempt = 3;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_true (plans[0].rollback);
    assert_int_equal (plans[0].attempt, 3);
    free (plans);
}

static void
test_by_count_and_keys (void **state)
{
    zf_order_t order = s_order (8);
    zf_shard_plan_t *plans;
    size_t count;
    char err[160];
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_int_equal (count, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal (plans[i].shard, i);
        assert_int_equal (plans[i].attempt, 1);
    }
    free (plans);
    const char *keys[] = {"bonds", "fx", "equities"};
    order = s_order (3);
    order.shard_keys = keys;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_int_equal (count, 3);
    assert_int_equal (plans[2].shard, 2);
    free (plans);
}

static void
test_selected_shards (void **state)
{
    //  A failed shard retried alone, another at a later attempt; the
    //  interrupted one runs its rollback first.
    zf_order_t order = s_order (8);
    zf_shard_run_t runs[] = {{5, 2}, {1, 4}};
    int32_t interrupted[] = {1, 7};
    order.shard_runs = runs;
    order.shard_run_count = 2;
    order.rollback = "undo";
    order.rollback_shards = interrupted;
    order.rollback_count = 2;
    zf_shard_plan_t *plans;
    size_t count;
    char err[160];
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), 0);
    assert_int_equal (count, 2);
    assert_int_equal (plans[0].shard, 5);
    assert_int_equal (plans[0].attempt, 2);
    assert_false (plans[0].rollback);
    assert_int_equal (plans[1].shard, 1);
    assert_int_equal (plans[1].attempt, 4);
    assert_true (plans[1].rollback);
    free (plans);
}

static void
test_errors (void **state)
{
    zf_shard_plan_t *plans = NULL;
    size_t count = 0;
    char err[160];
    zf_order_t order = s_order (4);
    zf_shard_run_t out_of_range[] = {{4, 1}};
    order.shard_runs = out_of_range;
    order.shard_run_count = 1;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    assert_non_null (strstr (err, "out of range"));
    zf_shard_run_t twice[] = {{1, 1}, {1, 2}};
    order.shard_runs = twice;
    order.shard_run_count = 2;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    assert_non_null (strstr (err, "twice"));
    zf_shard_run_t zero[] = {{1, 0}};
    order.shard_runs = zero;
    order.shard_run_count = 1;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    assert_non_null (strstr (err, "attempt 0"));
    //  An unsharded task has only ZF_SHARD_SOLE.
    order = s_order (0);
    zf_shard_run_t index[] = {{0, 1}};
    order.shard_runs = index;
    order.shard_run_count = 1;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    const char *keys[] = {"a"};
    order = s_order (0);
    order.shard_keys = keys;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    order = s_order (ZF_MAX_SHARDS + 1);
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    assert_non_null (strstr (err, "ZF_MAX_SHARDS"));
    order = s_order (2);
    order.attempt = 0;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    order = s_order (2);
    int32_t bad_rollback[] = {9};
    order.rollback = "undo";
    order.rollback_shards = bad_rollback;
    order.rollback_count = 1;
    assert_int_equal (zf_shards_expand (&order, &plans, &count, err, sizeof err), -1);
    //  Nothing was handed out on failure.
    assert_null (plans);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_unsharded),
        cmocka_unit_test (test_by_count_and_keys),
        cmocka_unit_test (test_selected_shards),
        cmocka_unit_test (test_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
