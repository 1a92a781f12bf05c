/*  Tests of zf_held: copies, duplicates, age order, acknowledgements, extra space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_held.h"

//  What a holder keeps beside each result in these tests.
typedef struct {
    char *note;    //  a heap string the destructor frees
    bool pending;  //  a flag of the holder's
    int *released; //  counts the releases
} s_extra_t;

//  Releases an item's extra space and counts it.
static void
s_release (void *extra)
{
    s_extra_t *mine = extra;
    free (mine->note);
    mine->note = NULL;
    (*mine->released)++;
}

//  A result for shard of task at attempt, its strings on the stack of the caller.
static zf_result_t
s_result (const char *task, int32_t shard, uint32_t attempt)
{
    return (zf_result_t){.job_id = 7,
                         .key = {"eod", 20416, task, shard, attempt},
                         .status = ZF_JOB_SUCCEEDED,
                         .executor = "node-a",
                         .started = 1,
                         .ended = 2,
                         .log_tail = "done\n"};
}

static void
test_copies_and_duplicates (void **state)
{
    zf_held_t *held = zf_held_new (0);
    assert_non_null (held);
    char flow[] = "eod", task[] = "accrue", tail[] = "done\n";
    zf_result_t result = s_result ("accrue", 3, 1);
    result.key.flow = flow;
    result.key.task = task;
    result.log_tail = tail;
    bool duplicate = true;
    zf_held_item_t *item = zf_held_add (held, &result, "shell", true, &duplicate);
    assert_non_null (item);
    assert_false (duplicate);
    //  The store keeps its own copies: the caller's strings may change.
    flow[0] = task[0] = tail[0] = 'X';
    const zf_result_t *kept = zf_held_result (item);
    assert_string_equal (kept->key.flow, "eod");
    assert_string_equal (kept->key.task, "accrue");
    assert_string_equal (kept->log_tail, "done\n");
    assert_string_equal (kept->executor, "node-a");
    assert_int_equal (kept->key.shard, 3);
    assert_int_equal (kept->job_id, 7);
    assert_string_equal (zf_held_service (item), "shell");
    assert_true (zf_held_final (item));
    //  A second result under the same key is refused; the first stays.
    zf_result_t again = s_result ("accrue", 3, 1);
    again.status = ZF_JOB_FAILED;
    assert_null (zf_held_add (held, &again, NULL, false, &duplicate));
    assert_true (duplicate);
    assert_int_equal (zf_held_result (zf_held_find (held, &again.key))->status, ZF_JOB_SUCCEEDED);
    //  Another attempt, the sole shard and the whole task are other keys.
    zf_result_t next = s_result ("accrue", 3, 2);
    zf_result_t sole = s_result ("load", ZF_SHARD_SOLE, 1);
    zf_result_t whole = s_result ("load", ZF_SHARD_WHOLE, 1);
    whole.executor = NULL;
    whole.log_tail = NULL;
    assert_non_null (zf_held_add (held, &next, NULL, false, NULL));
    zf_held_item_t *sole_item = zf_held_add (held, &sole, NULL, false, NULL);
    zf_held_item_t *whole_item = zf_held_add (held, &whole, NULL, false, NULL);
    assert_non_null (sole_item);
    assert_non_null (whole_item);
    assert_true (sole_item != whole_item);
    assert_null (zf_held_service (whole_item));
    assert_null (zf_held_result (whole_item)->executor);
    assert_int_equal (zf_held_size (held), 4);
    assert_ptr_equal (zf_held_find (held, &sole.key), sole_item);
    zf_held_destroy (&held);
    assert_null (held);
    zf_held_destroy (&held);
}

static void
test_age_order_and_acks (void **state)
{
    zf_held_t *held = zf_held_new (0);
    assert_non_null (held);
    const char *tasks[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        zf_result_t result = s_result (tasks[i], ZF_SHARD_SOLE, 1);
        assert_non_null (zf_held_add (held, &result, NULL, i == 3, NULL));
    }
    //  Acknowledged ones go, wherever they are in the list.
    zf_task_key_t b = {"eod", 20416, "b", ZF_SHARD_SOLE, 1};
    assert_int_equal (zf_held_ack (held, &b), 0);
    assert_int_equal (zf_held_ack (held, &b), -1);
    zf_task_key_t other = b;
    other.attempt = 2;
    assert_int_equal (zf_held_ack (held, &other), -1);
    zf_task_key_t d = {"eod", 20416, "d", ZF_SHARD_SOLE, 1};
    assert_int_equal (zf_held_ack (held, &d), 0);
    //  The oldest first, then a newer one added after the acks.
    zf_result_t e = s_result ("e", 0, 1);
    assert_non_null (zf_held_add (held, &e, NULL, false, NULL));
    const char *expect[] = {"a", "c", "e"};
    size_t seen = 0;
    for (zf_held_item_t *item = zf_held_oldest (held); item; item = zf_held_newer (item)) {
        assert_true (seen < 3);
        assert_string_equal (zf_held_result (item)->key.task, expect[seen++]);
    }
    assert_int_equal (seen, 3);
    //  Dropping the oldest, as a holder over its limit does, and the one a
    //  walk is at once its successor is read.
    zf_held_drop (held, zf_held_oldest (held));
    zf_held_item_t *item = zf_held_oldest (held);
    assert_string_equal (zf_held_result (item)->key.task, "c");
    zf_held_item_t *newer = zf_held_newer (item);
    zf_held_drop (held, item);
    assert_ptr_equal (zf_held_oldest (held), newer);
    assert_null (zf_held_newer (newer));
    assert_int_equal (zf_held_size (held), 1);
    zf_held_purge (held);
    assert_int_equal (zf_held_size (held), 0);
    assert_null (zf_held_oldest (held));
    //  An emptied store takes results again.
    assert_non_null (zf_held_add (held, &e, NULL, false, NULL));
    assert_ptr_equal (zf_held_oldest (held), zf_held_find (held, &e.key));
    zf_held_destroy (&held);
}

static void
test_extra_space (void **state)
{
    zf_held_t *held = zf_held_new (sizeof (s_extra_t));
    assert_non_null (held);
    zf_held_set_destructor (held, s_release);
    int released = 0;
    zf_held_item_t *items[3];
    for (int i = 0; i < 3; i++) {
        zf_result_t result = s_result ("accrue", i, 1);
        items[i] = zf_held_add (held, &result, "shell", false, NULL);
        assert_non_null (items[i]);
        s_extra_t *extra = zf_held_extra (items[i]);
        //  Zeroed when made, aligned for any type, the holder's to fill.
        assert_null (extra->note);
        assert_false (extra->pending);
        assert_int_equal ((uintptr_t)extra % _Alignof(max_align_t), 0);
        extra->note = strdup ("note");
        extra->pending = i == 1;
        extra->released = &released;
    }
    //  Filling an item's extra space leaves its strings alone.
    assert_string_equal (zf_held_service (items[2]), "shell");
    assert_string_equal (zf_held_result (items[2])->key.flow, "eod");
    assert_true (((s_extra_t *)zf_held_extra (items[1]))->pending);
    //  Each way out releases the extra space once: ack, drop, destroy.
    zf_task_key_t first = {"eod", 20416, "accrue", 0, 1};
    assert_int_equal (zf_held_ack (held, &first), 0);
    assert_int_equal (released, 1);
    zf_held_drop (held, items[1]);
    assert_int_equal (released, 2);
    zf_held_destroy (&held);
    assert_int_equal (released, 3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_copies_and_duplicates),
        cmocka_unit_test (test_age_order_and_acks),
        cmocka_unit_test (test_extra_space),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
