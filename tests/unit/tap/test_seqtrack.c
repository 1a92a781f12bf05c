/*  Tests of the tap's sequence tracker: first, next, gaps, old numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_seqtrack.h"

static void
test_stream (void **state)
{
    zf_seqtrack_t track = {0};
    uint64_t from = 0, to = 0;
    assert_int_equal (zf_seqtrack_check (&track, 5, &from, &to), ZF_SEQ_FIRST);
    assert_int_equal (zf_seqtrack_check (&track, 6, &from, &to), ZF_SEQ_NEXT);
    assert_int_equal (zf_seqtrack_check (&track, 9, &from, &to), ZF_SEQ_GAP);
    assert_int_equal (from, 7);
    assert_int_equal (to, 8);
    assert_int_equal (track.last, 9);
    //  Old numbers are not accepted: the last stays.
    assert_int_equal (zf_seqtrack_check (&track, 9, &from, &to), ZF_SEQ_OLD);
    assert_int_equal (zf_seqtrack_check (&track, 2, &from, &to), ZF_SEQ_OLD);
    assert_int_equal (track.last, 9);
    assert_int_equal (zf_seqtrack_check (&track, 10, NULL, NULL), ZF_SEQ_NEXT);
}

static void
test_reset (void **state)
{
    zf_seqtrack_t track = {0};
    //  After a snapshot at seq 10, 11 is next and 13 leaves a gap of one.
    zf_seqtrack_reset (&track, 10);
    uint64_t from = 0, to = 0;
    assert_int_equal (zf_seqtrack_check (&track, 10, &from, &to), ZF_SEQ_OLD);
    assert_int_equal (zf_seqtrack_check (&track, 11, &from, &to), ZF_SEQ_NEXT);
    assert_int_equal (zf_seqtrack_check (&track, 13, &from, &to), ZF_SEQ_GAP);
    assert_int_equal (from, 12);
    assert_int_equal (to, 12);
    //  A new history starts from scratch.
    zf_seqtrack_reset (&track, 0);
    assert_int_equal (zf_seqtrack_check (&track, 1, &from, &to), ZF_SEQ_FIRST);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_stream),
        cmocka_unit_test (test_reset),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
