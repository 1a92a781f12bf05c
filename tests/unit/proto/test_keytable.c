/*  Tests of zf_keytable: scopes, copies and borrowed keys, replacing, removing, walking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_proto.h"

//  Items freed by s_count_free.
static int s_freed;

static void
s_count_free (void *item)
{
    s_freed++;
    free (item);
}

//  A heap item holding n.
static int *
s_item (int n)
{
    int *item = malloc (sizeof (int));
    assert_non_null (item);
    *item = n;
    return item;
}

static void
test_attempt_scope (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    assert_non_null (table);
    int a = 1, b = 2;
    zf_task_key_t first = {"eod", 20416, "accrue", 3, 1};
    zf_task_key_t second = first;
    second.attempt = 2;
    assert_int_equal (zf_keytable_insert (table, &first, &a), 0);
    assert_int_equal (zf_keytable_insert (table, &second, &b), 0);
    assert_int_equal (zf_keytable_size (table), 2);
    assert_ptr_equal (zf_keytable_lookup (table, &first), &a);
    assert_ptr_equal (zf_keytable_lookup (table, &second), &b);
    //  A key that is there already is refused and the first item stays.
    assert_int_equal (zf_keytable_insert (table, &first, &b), -1);
    assert_ptr_equal (zf_keytable_lookup (table, &first), &a);
    //  The whole task, the sole shard and shard 0 are three keys.
    zf_task_key_t whole = {"eod", 20416, "accrue", ZF_SHARD_WHOLE, 1};
    zf_task_key_t sole = {"eod", 20416, "accrue", ZF_SHARD_SOLE, 1};
    zf_task_key_t zero = {"eod", 20416, "accrue", 0, 1};
    assert_null (zf_keytable_lookup (table, &whole));
    assert_int_equal (zf_keytable_insert (table, &whole, &a), 0);
    assert_int_equal (zf_keytable_insert (table, &sole, &b), 0);
    assert_int_equal (zf_keytable_insert (table, &zero, &a), 0);
    assert_ptr_equal (zf_keytable_lookup (table, &sole), &b);
    assert_int_equal (zf_keytable_size (table), 5);
    zf_keytable_destroy (&table);
    assert_null (table);
    zf_keytable_destroy (&table);
}

static void
test_shard_scope (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_SHARD);
    assert_non_null (table);
    int a = 1, b = 2;
    zf_task_key_t key = {"eod", 20416, "accrue", 3, 1};
    assert_int_equal (zf_keytable_insert (table, &key, &a), 0);
    //  Every attempt of the shard is the same entry.
    key.attempt = 7;
    assert_ptr_equal (zf_keytable_lookup (table, &key), &a);
    assert_int_equal (zf_keytable_insert (table, &key, &b), -1);
    assert_int_equal (zf_keytable_update (table, &key, &b), 0);
    assert_ptr_equal (zf_keytable_lookup (table, &key), &b);
    assert_int_equal (zf_keytable_size (table), 1);
    //  The table's copy of the key has no attempt.
    assert_ptr_equal (zf_keytable_first (table), &b);
    const zf_task_key_t *copy = zf_keytable_cursor (table);
    assert_int_equal (copy->attempt, 0);
    assert_int_equal (copy->shard, 3);
    //  Other shards, dates, flows and tasks are other entries.
    zf_task_key_t other = key;
    other.shard = 4;
    assert_null (zf_keytable_lookup (table, &other));
    other = key;
    other.date++;
    assert_null (zf_keytable_lookup (table, &other));
    other = key;
    other.task = "settle";
    assert_null (zf_keytable_lookup (table, &other));
    zf_keytable_destroy (&table);
}

static void
test_keys_are_copied (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    assert_non_null (table);
    char flow[16], task[16];
    strcpy (flow, "eod");
    strcpy (task, "report");
    int a = 1;
    zf_task_key_t key = {flow, 20416, task, ZF_SHARD_SOLE, 2};
    assert_int_equal (zf_keytable_insert (table, &key, &a), 0);
    //  The caller's strings change; the entry is still found by value.
    strcpy (flow, "xxx");
    strcpy (task, "xxxxxx");
    zf_task_key_t same = {"eod", 20416, "report", ZF_SHARD_SOLE, 2};
    assert_ptr_equal (zf_keytable_lookup (table, &same), &a);
    assert_ptr_equal (zf_keytable_first (table), &a);
    assert_string_equal (zf_keytable_cursor (table)->flow, "eod");
    assert_string_equal (zf_keytable_cursor (table)->task, "report");
    //  A key with no strings is a key too.
    zf_task_key_t bare = {NULL, ZF_DATE_NONE, NULL, ZF_SHARD_WHOLE, 0};
    assert_int_equal (zf_keytable_insert (table, &bare, &a), 0);
    assert_ptr_equal (zf_keytable_lookup (table, &bare), &a);
    zf_keytable_destroy (&table);
}

static void
test_remove_and_destructor (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    assert_non_null (table);
    zf_keytable_set_destructor (table, s_count_free);
    s_freed = 0;
    zf_task_key_t keys[4] = {
        {"eod", 20416, "a", 0, 1},
        {"eod", 20416, "b", 1, 1},
        {"eod", 20416, "c", ZF_SHARD_SOLE, 1},
        {"eod", 20416, "d", ZF_SHARD_SOLE, 1},
    };
    for (int i = 0; i < 4; i++)
        assert_int_equal (zf_keytable_insert (table, &keys[i], s_item (i)), 0);
    //  Take hands the item back without freeing it.
    int *taken = zf_keytable_take (table, &keys[0]);
    assert_non_null (taken);
    assert_int_equal (*taken, 0);
    assert_int_equal (s_freed, 0);
    free (taken);
    assert_null (zf_keytable_take (table, &keys[0]));
    //  Delete frees; deleting what is not there says so.
    assert_int_equal (zf_keytable_delete (table, &keys[1]), 0);
    assert_int_equal (s_freed, 1);
    assert_int_equal (zf_keytable_delete (table, &keys[1]), -1);
    //  Update frees the item it replaces.
    assert_int_equal (zf_keytable_update (table, &keys[2], s_item (20)), 0);
    assert_int_equal (s_freed, 2);
    assert_int_equal (*(int *)zf_keytable_lookup (table, &keys[2]), 20);
    //  The walk sees each entry once.
    int seen = 0;
    for (int *item = zf_keytable_first (table); item; item = zf_keytable_next (table)) {
        const zf_task_key_t *key = zf_keytable_cursor (table);
        assert_true ((*item == 20 && strcmp (key->task, "c") == 0) ||
                     (*item == 3 && strcmp (key->task, "d") == 0));
        seen++;
    }
    assert_int_equal (seen, 2);
    //  Purge and destroy free what is left.
    zf_keytable_purge (table);
    assert_int_equal (s_freed, 4);
    assert_int_equal (zf_keytable_size (table), 0);
    assert_int_equal (zf_keytable_insert (table, &keys[3], s_item (5)), 0);
    zf_keytable_destroy (&table);
    assert_int_equal (s_freed, 5);
}

static void
test_many (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    assert_non_null (table);
    static int item = 1;
    char names[50][8];
    for (int i = 0; i < 50; i++)
        snprintf (names[i], sizeof names[i], "t%d", i);
    for (int i = 0; i < 50; i++)
        for (int shard = -2; shard < 100; shard++) {
            zf_task_key_t key = {"eod", 20416, names[i], shard, 1};
            assert_int_equal (zf_keytable_insert (table, &key, &item), 0);
        }
    assert_int_equal (zf_keytable_size (table), 50 * 102);
    for (int i = 0; i < 50; i += 7) {
        zf_task_key_t key = {"eod", 20416, names[i], 42, 1};
        assert_int_equal (zf_keytable_delete (table, &key), 0);
    }
    assert_int_equal (zf_keytable_size (table), 50 * 102 - 8);
    zf_keytable_destroy (&table);
}

//  An item that carries its own key, as a borrowing table's items do.
typedef struct {
    zf_task_key_t key; //  the entry's key
    int value;         //  what the test checks
} s_keyed_t;

static void
test_borrowing (void **state)
{
    zf_keytable_t *table = zf_keytable_new_borrowing (ZF_KEYTABLE_SHARD);
    assert_non_null (table);
    s_keyed_t a = {{"eod", 20416, "accrue", 3, 1}, 1};
    s_keyed_t b = {{"eod", 20416, "accrue", 3, 2}, 2};
    s_keyed_t c = {{"eod", 20416, "accrue", ZF_SHARD_SOLE, 1}, 3};
    assert_int_equal (zf_keytable_insert (table, &a.key, &a), 0);
    assert_int_equal (zf_keytable_insert (table, &c.key, &c), 0);
    //  The scope still counts: b is another attempt of a's shard.
    assert_ptr_equal (zf_keytable_lookup (table, &b.key), &a);
    assert_int_equal (zf_keytable_insert (table, &b.key, &b), -1);
    //  The walk shows the caller's own key, attempt and all.
    for (s_keyed_t *item = zf_keytable_first (table); item; item = zf_keytable_next (table))
        assert_ptr_equal (zf_keytable_cursor (table), &item->key);
    //  Update makes the new item's key the entry's key.
    assert_int_equal (zf_keytable_update (table, &b.key, &b), 0);
    a.key.task = "gone";
    assert_ptr_equal (zf_keytable_lookup (table, &b.key), &b);
    bool found = false;
    for (s_keyed_t *item = zf_keytable_first (table); item; item = zf_keytable_next (table))
        if (item == &b) {
            assert_ptr_equal (zf_keytable_cursor (table), &b.key);
            found = true;
        }
    assert_true (found);
    //  An item may change its key once it is out of the table.
    assert_ptr_equal (zf_keytable_take (table, &b.key), &b);
    b.key.attempt = 3;
    assert_int_equal (zf_keytable_insert (table, &b.key, &b), 0);
    assert_int_equal (zf_keytable_size (table), 2);
    zf_keytable_destroy (&table);
}

static void
test_walk_while_growing (void **state)
{
    zf_keytable_t *table = zf_keytable_new (ZF_KEYTABLE_ATTEMPT);
    assert_non_null (table);
    //  Enough entries to grow the buckets several times; every one is
    //  found, and a walk sees each exactly once.
    enum { S_COUNT = 3000 };
    static int items[S_COUNT];
    static bool seen[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        items[i] = i;
        zf_task_key_t key = {"eod", 20416, "split", i, 1};
        assert_int_equal (zf_keytable_insert (table, &key, &items[i]), 0);
    }
    for (int i = 0; i < S_COUNT; i++) {
        zf_task_key_t key = {"eod", 20416, "split", i, 1};
        assert_ptr_equal (zf_keytable_lookup (table, &key), &items[i]);
    }
    int walked = 0;
    for (int *item = zf_keytable_first (table); item; item = zf_keytable_next (table)) {
        assert_false (seen[*item]);
        assert_int_equal (zf_keytable_cursor (table)->shard, *item);
        seen[*item] = true;
        walked++;
    }
    assert_int_equal (walked, S_COUNT);
    assert_null (zf_keytable_next (table));
    assert_null (zf_keytable_cursor (table));
    zf_keytable_destroy (&table);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_attempt_scope),
        cmocka_unit_test (test_shard_scope),
        cmocka_unit_test (test_keys_are_copied),
        cmocka_unit_test (test_remove_and_destructor),
        cmocka_unit_test (test_many),
        cmocka_unit_test (test_borrowing),
        cmocka_unit_test (test_walk_while_growing),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
