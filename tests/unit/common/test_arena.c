/*  Tests of zf_arena: copies stay put and intact until a reset, memory is
    aligned, a reset settles on one chunk that fits the last batch, and a
    burst beyond ZF_ARENA_KEEP is given back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zf_arena.h"

static void
test_copies_stay_until_reset (void **state)
{
    zf_arena_t *arena = zf_arena_new ();
    assert_non_null (arena);
    assert_int_equal (zf_arena_capacity (arena), 0);
    const char *a = zf_arena_strdup (arena, "alpha");
    const char *b = zf_arena_strndup (arena, "gamma-delta", 5);
    const char *empty = zf_arena_strdup (arena, "");
    assert_null (zf_arena_strdup (arena, NULL));
    assert_null (zf_arena_strndup (arena, NULL, 3));
    //  Enough copies to need many chunks: the first ones do not move.
    const char *copies[5000];
    char text[32];
    for (int i = 0; i < 5000; i++) {
        snprintf (text, sizeof text, "copy number %d", i);
        copies[i] = zf_arena_strdup (arena, text);
        assert_non_null (copies[i]);
    }
    assert_string_equal (a, "alpha");
    assert_string_equal (b, "gamma");
    assert_string_equal (empty, "");
    for (int i = 0; i < 5000; i++) {
        snprintf (text, sizeof text, "copy number %d", i);
        assert_string_equal (copies[i], text);
    }
    //  Copies of bytes with a nul inside keep all of them.
    const char *bytes = zf_arena_strndup (arena, "a\0b", 3);
    assert_memory_equal (bytes, "a\0b\0", 4);
    zf_arena_destroy (&arena);
    zf_arena_destroy (&arena);
    assert_null (arena);
}

static void
test_alloc_is_aligned (void **state)
{
    zf_arena_t *arena = zf_arena_new ();
    assert_non_null (arena);
    for (int i = 0; i < 1000; i++) {
        //  A string of odd length in between shifts the cursor.
        assert_non_null (zf_arena_strdup (arena, "odd"));
        size_t size = (size_t)(i % 7) * 24 + 1;
        uint8_t *memory = zf_arena_alloc (arena, size);
        assert_non_null (memory);
        assert_int_equal ((uintptr_t)memory % _Alignof(max_align_t), 0);
        memset (memory, 0xab, size);
    }
    //  A request larger than any chunk gets one of its own.
    size_t big = 3 * ZF_ARENA_CHUNK_MIN;
    uint8_t *memory = zf_arena_alloc (arena, big);
    assert_non_null (memory);
    memset (memory, 1, big);
    //  A size that cannot be honoured is refused, not wrapped.
    assert_null (zf_arena_alloc (arena, SIZE_MAX));
    assert_null (zf_arena_strndup (arena, "x", SIZE_MAX));
    zf_arena_destroy (&arena);
}

static void
test_reset_settles_on_one_chunk (void **state)
{
    zf_arena_t *arena = zf_arena_new ();
    assert_non_null (arena);
    //  A batch of 200 KiB of copies needs several chunks at first.
    char text[100];
    memset (text, 'x', sizeof text - 1);
    text[sizeof text - 1] = 0;
    size_t capacity = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 2000; i++)
            assert_non_null (zf_arena_strdup (arena, text));
        for (int i = 0; i < 100; i++)
            assert_non_null (zf_arena_alloc (arena, 40));
        if (round == 0) assert_true (zf_arena_capacity (arena) > 2000 * sizeof text);
        //  From the second batch on, one chunk holds it all and is reused.
        if (round == 1) capacity = zf_arena_capacity (arena);
        if (round > 1) assert_int_equal (zf_arena_capacity (arena), capacity);
        zf_arena_reset (arena);
    }
    assert_true (capacity >= 2000 * sizeof text);
    assert_true (capacity < 4 * 2000 * sizeof text);
    //  An empty arena resets to nothing held.
    zf_arena_t *idle = zf_arena_new ();
    zf_arena_reset (idle);
    assert_int_equal (zf_arena_capacity (idle), 0);
    zf_arena_destroy (&idle);
    zf_arena_destroy (&arena);
}

static void
test_burst_is_given_back (void **state)
{
    zf_arena_t *arena = zf_arena_new ();
    assert_non_null (arena);
    //  One burst of 3 * ZF_ARENA_KEEP: a reset keeps only ZF_ARENA_KEEP.
    size_t piece = 256 * 1024;
    for (size_t held = 0; held < 3 * (size_t)ZF_ARENA_KEEP; held += piece)
        assert_non_null (zf_arena_alloc (arena, piece));
    assert_true (zf_arena_capacity (arena) >= 3 * (size_t)ZF_ARENA_KEEP);
    zf_arena_reset (arena);
    assert_int_equal (zf_arena_capacity (arena), ZF_ARENA_KEEP);
    //  A small batch after it fits the kept chunk.
    for (int i = 0; i < 1000; i++)
        assert_non_null (zf_arena_strdup (arena, "small"));
    assert_int_equal (zf_arena_capacity (arena), ZF_ARENA_KEEP);
    zf_arena_reset (arena);
    assert_int_equal (zf_arena_capacity (arena), ZF_ARENA_KEEP);
    zf_arena_destroy (&arena);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_copies_stay_until_reset),
        cmocka_unit_test (test_alloc_is_aligned),
        cmocka_unit_test (test_reset_settles_on_one_chunk),
        cmocka_unit_test (test_burst_is_given_back),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
