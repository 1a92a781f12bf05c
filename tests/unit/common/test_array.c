/*  Tests of zf_array_grow: room doubles from ZF_ARRAY_MIN and keeps what
    the array held; a request already met changes nothing; sizes that
    overflow are refused with the array untouched; a ring keeps its order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "zf_array.h"

static void
test_room_doubles_and_keeps_items (void **state)
{
    uint64_t *items = NULL;
    size_t capacity = 0;
    //  Appends one at a time: the room goes 8, 16, 32... and stays a power of two.
    for (size_t count = 0; count < 1000; count++) {
        assert_int_equal (zf_array_grow ((void **)&items, &capacity, count + 1, sizeof *items), 0);
        assert_true (capacity >= count + 1);
        assert_true (capacity >= ZF_ARRAY_MIN);
        assert_int_equal (capacity & (capacity - 1), 0);
        assert_true (capacity < 2 * (count + 1) || capacity == ZF_ARRAY_MIN);
        items[count] = count * 7;
    }
    assert_int_equal (capacity, 1024);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal (items[i], i * 7);
    //  A request already met leaves the array where it is.
    uint64_t *before = items;
    assert_int_equal (zf_array_grow ((void **)&items, &capacity, 1024, sizeof *items), 0);
    assert_ptr_equal (items, before);
    assert_int_equal (capacity, 1024);
    //  A large jump doubles as often as needed at once.
    assert_int_equal (zf_array_grow ((void **)&items, &capacity, 5000, sizeof *items), 0);
    assert_int_equal (capacity, 8192);
    assert_int_equal (items[999], 999 * 7);
    free (items);
}

static void
test_first_room (void **state)
{
    char *bytes = NULL;
    size_t capacity = 0;
    assert_int_equal (zf_array_grow ((void **)&bytes, &capacity, 0, 1), 0);
    assert_null (bytes);
    assert_int_equal (capacity, 0);
    assert_int_equal (zf_array_grow ((void **)&bytes, &capacity, 1, 1), 0);
    assert_non_null (bytes);
    assert_int_equal (capacity, ZF_ARRAY_MIN);
    free (bytes);
    //  A room that was not a power of two doubles from where it is.
    bytes = malloc (3);
    capacity = 3;
    assert_int_equal (zf_array_grow ((void **)&bytes, &capacity, 4, 1), 0);
    assert_int_equal (capacity, 6);
    free (bytes);
}

static void
test_overflow_is_refused (void **state)
{
    uint64_t *items = NULL;
    size_t capacity = 0;
    assert_int_equal (zf_array_grow ((void **)&items, &capacity, 16, sizeof *items), 0);
    uint64_t *before = items;
    //  Bytes that do not fit a size_t, and a room that cannot double.
    assert_int_equal (zf_array_grow ((void **)&items, &capacity, SIZE_MAX / 4, sizeof *items), -1);
    assert_int_equal (zf_array_grow ((void **)&items, &capacity, SIZE_MAX, 1), -1);
    assert_ptr_equal (items, before);
    assert_int_equal (capacity, 16);
    free (items);
}

//  A ring of ints with its head at 5: the items keep their order from the
//  head as it grows, indexed by mask or by modulo.
static void
test_ring_keeps_order (void **state)
{
    int *ring = NULL;
    size_t capacity = 0, head = 0, count = 0;
    int next = 0, first = 0;
    for (int round = 0; round < 2000; round++) {
        //  Two in, one out: the ring fills, wraps round and grows.
        for (int k = 0; k < 2; k++) {
            if (count == capacity)
                assert_int_equal (zf_array_grow_ring ((void **)&ring, &capacity, head, count,
                                                      count + 1, sizeof *ring),
                                  0);
            assert_int_equal (capacity & (capacity - 1), 0);
            ring[(head + count++) & (capacity - 1)] = next++;
        }
        assert_int_equal (ring[head], first);
        head = (head + 1) & (capacity - 1);
        count--;
        first++;
        for (size_t i = 0; i < count; i++)
            assert_int_equal (ring[(head + i) & (capacity - 1)], first + (int)i);
    }
    free (ring);

    //  A room that is not a power of two, indexed modulo: 3 items from
    //  head 4 in a room of 5 (4, then 0 and 1 wrapped round).
    ring = malloc (5 * sizeof *ring);
    capacity = 5;
    ring[4] = 40;
    ring[0] = 41;
    ring[1] = 42;
    assert_int_equal (zf_array_grow_ring ((void **)&ring, &capacity, 4, 3, 6, sizeof *ring), 0);
    assert_int_equal (capacity, 10);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal (ring[(4 + i) % capacity], 40 + (int)i);
    //  Room enough already: nothing moves.
    assert_int_equal (zf_array_grow_ring ((void **)&ring, &capacity, 4, 3, 4, sizeof *ring), 0);
    assert_int_equal (capacity, 10);
    free (ring);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_room_doubles_and_keeps_items),
        cmocka_unit_test (test_first_room),
        cmocka_unit_test (test_overflow_is_refused),
        cmocka_unit_test (test_ring_keeps_order),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
