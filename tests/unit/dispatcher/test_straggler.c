/*  Tests of the straggler rule: median of finished siblings, factor and minimum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fence.h"
#include "zf_limits.h"
#include "straggler.h"

static void
test_median (void **state)
{
    zf_straggler_t *s = zf_straggler_new (8);
    assert_non_null (s);
    assert_int_equal (zf_straggler_median (s), -1);
    assert_int_equal (zf_straggler_threshold (s, 3.0, 10000), -1);
    assert_false (zf_straggler_is_slow (s, 1000000, 3.0, 10000));
    assert_int_equal (zf_straggler_add (s, 500), 0);
    assert_int_equal (zf_straggler_median (s), 500);
    zf_straggler_add (s, 100);
    //  Even count: the mean of the middle two.
    assert_int_equal (zf_straggler_median (s), 300);
    zf_straggler_add (s, 900);
    assert_int_equal (zf_straggler_median (s), 500);
    zf_straggler_add (s, 50);
    zf_straggler_add (s, 70);
    //  50 70 100 500 900
    assert_int_equal (zf_straggler_median (s), 100);
    assert_int_equal (zf_straggler_count (s), 5);
    zf_straggler_destroy (&s);
    assert_null (s);
    zf_straggler_destroy (&s);
}

static void
test_median_many (void **state)
{
    //  Durations in a scrambled order with duplicates; the median of 0..999
    //  each twice is (499 + 500) / 2.
    zf_straggler_t *s = zf_straggler_new (2000);
    for (int i = 0; i < 1000; i++) {
        zf_straggler_add (s, (i * 7919) % 1000);
        zf_straggler_add (s, (i * 104729) % 1000);
    }
    assert_int_equal (zf_straggler_median (s), 499);
    //  Capacity is a hard bound.
    assert_int_equal (zf_straggler_add (s, 1), -1);
    assert_int_equal (zf_straggler_count (s), 2000);
    zf_straggler_destroy (&s);
}

static void
test_threshold (void **state)
{
    zf_straggler_t *s = zf_straggler_new (4);
    zf_straggler_add (s, 1000);
    zf_straggler_add (s, 1000);
    zf_straggler_add (s, 1000);
    //  3 x 1 s is below the 10 s minimum: the minimum rules.
    assert_int_equal (zf_straggler_threshold (s, 3.0, 10000), 10000);
    assert_false (zf_straggler_is_slow (s, 10000, 3.0, 10000));
    assert_true (zf_straggler_is_slow (s, 10001, 3.0, 10000));
    //  With a small minimum the factor rules.
    assert_int_equal (zf_straggler_threshold (s, 3.0, 100), 3000);
    assert_false (zf_straggler_is_slow (s, 2999, 3.0, 100));
    assert_true (zf_straggler_is_slow (s, 3001, 3.0, 100));
    zf_straggler_destroy (&s);
}

//  The moment a shard becomes a straggler is the first at which the rule
//  holds, in whole milliseconds of running time.
static void
test_due (void **state)
{
    zf_straggler_t *s = zf_straggler_new (4);
    assert_int_equal (zf_straggler_due_us (s, 5000, 3.0, 100), -1);
    zf_straggler_add (s, 1000);
    //  Threshold 3000 ms: slow from 3001 whole ms on.
    int64_t due = zf_straggler_due_us (s, 5000, 3.0, 100);
    assert_int_equal (due, 5000 + 3001 * 1000);
    assert_false (zf_straggler_is_slow (s, (due - 1 - 5000) / 1000, 3.0, 100));
    assert_true (zf_straggler_is_slow (s, (due - 5000) / 1000, 3.0, 100));
    //  A threshold past any clock is never due.
    assert_int_equal (zf_straggler_due_us (s, 5000, 1e30, 100), INT64_MAX);
    assert_int_equal (zf_straggler_due_us (s, 5000, 3.0, INT64_MAX / 1000), INT64_MAX);
    zf_straggler_destroy (&s);
}

static void
test_fence (void **state)
{
    zf_fence_t fence;
    zf_fence_init (&fence);
    //  Before any HELLO only term 0 is current for orders.
    assert_int_equal (zf_fence_order (&fence, 0), ZF_FENCE_CURRENT);
    assert_int_equal (zf_fence_order (&fence, 3), ZF_FENCE_UNSEEN);
    assert_int_equal (zf_fence_hello (&fence, 3), ZF_FENCE_CURRENT);
    //  Judging moves nothing; a taken HELLO does.
    assert_int_equal (fence.newest, 0);
    zf_fence_raise (&fence, 3);
    assert_int_equal (fence.newest, 3);
    assert_int_equal (zf_fence_order (&fence, 3), ZF_FENCE_CURRENT);
    assert_int_equal (zf_fence_order (&fence, 2), ZF_FENCE_STALE);
    assert_int_equal (zf_fence_hello (&fence, 2), ZF_FENCE_STALE);
    assert_int_equal (zf_fence_hello (&fence, 3), ZF_FENCE_CURRENT);
    //  Orders from a newer term than any HELLO never pass, nor raise it.
    assert_int_equal (zf_fence_order (&fence, 4), ZF_FENCE_UNSEEN);
    assert_int_equal (fence.newest, 3);
    //  Raising to a lower term leaves the newest as it was.
    zf_fence_raise (&fence, 5);
    zf_fence_raise (&fence, 4);
    assert_int_equal (fence.newest, 5);
    //  No registry's term lies past ZF_MAX_EPOCH; the largest one is fine.
    assert_int_equal (zf_fence_hello (&fence, ZF_MAX_EPOCH), ZF_FENCE_CURRENT);
    assert_int_equal (zf_fence_hello (&fence, ZF_MAX_EPOCH + 1), ZF_FENCE_INVALID);
    assert_int_equal (zf_fence_hello (&fence, UINT64_MAX), ZF_FENCE_INVALID);
    assert_int_equal (zf_fence_order (&fence, UINT64_MAX), ZF_FENCE_INVALID);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_median),    cmocka_unit_test (test_median_many),
        cmocka_unit_test (test_threshold), cmocka_unit_test (test_due),
        cmocka_unit_test (test_fence),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
