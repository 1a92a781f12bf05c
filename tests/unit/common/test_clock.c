/*  Tests of zf_clock: the fake moves only when told, the real one moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "zf_clock.h"

static void
test_fake (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (1000);
    assert_true (zf_clock_is_fake (clock));
    assert_int_equal (zf_clock_now (clock), 1000);
    assert_int_equal (zf_clock_mono_us (clock), 0);
    zf_clock_advance (clock, 250);
    assert_int_equal (zf_clock_now (clock), 1250);
    assert_int_equal (zf_clock_mono_us (clock), 250000);
    zf_clock_set (clock, 5000);
    assert_int_equal (zf_clock_now (clock), 5000);
    assert_int_equal (zf_clock_mono_us (clock), 4000000);
    //  Setting wall time back does not move monotonic time back.
    zf_clock_set (clock, 100);
    assert_int_equal (zf_clock_now (clock), 100);
    assert_int_equal (zf_clock_mono_us (clock), 4000000);
    zf_clock_destroy (&clock);
    assert_null (clock);
    zf_clock_destroy (&clock);
}

static void
test_real (void **state)
{
    zf_clock_t *clock = zf_clock_new_real ();
    assert_false (zf_clock_is_fake (clock));
    int64_t now = zf_clock_now (clock);
    int64_t expect = (int64_t)time (NULL) * 1000;
    assert_true (now > expect - 2000 && now < expect + 2000);
    int64_t a = zf_clock_mono_us (clock);
    struct timespec pause = {0, 2000000};
    nanosleep (&pause, NULL);
    int64_t b = zf_clock_mono_us (clock);
    assert_true (b - a >= 2000);
    zf_clock_destroy (&clock);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_fake),
        cmocka_unit_test (test_real),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
