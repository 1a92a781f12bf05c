/*  Tests of zf_task_key: ordering, equality, hashing, printing, log paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_proto.h"

static void
test_order (void **state)
{
    //  Sorted by flow, date, task, shard, attempt.
    const zf_task_key_t keys[] = {
        {NULL, 0, NULL, ZF_SHARD_WHOLE, 1},
        {"billing", 20416, "z", 9, 9},
        {"eod", 20415, "z", 9, 9},
        {"eod", 20416, "accrue", ZF_SHARD_SOLE, 1},
        {"eod", 20416, "accrue", ZF_SHARD_WHOLE, 1},
        {"eod", 20416, "accrue", 0, 1},
        {"eod", 20416, "accrue", 0, 2},
        {"eod", 20416, "accrue", 1, 1},
        {"eod", 20416, "settle", 0, 1},
    };
    size_t count = sizeof (keys) / sizeof (keys[0]);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < count; j++) {
            int rc = zf_task_key_cmp (&keys[i], &keys[j]);
            if (i < j)
                assert_true (rc < 0);
            else if (i > j)
                assert_true (rc > 0);
            else
                assert_int_equal (rc, 0);
            assert_int_equal (zf_task_key_eq (&keys[i], &keys[j]), i == j);
        }
}

static void
test_hash (void **state)
{
    //  Equal keys with different string storage hash alike.
    char flow[] = "eod", task[] = "accrue";
    zf_task_key_t a = {"eod", 20416, "accrue", 3, 2};
    zf_task_key_t b = {flow, 20416, task, 3, 2};
    assert_true (zf_task_key_hash (&a) == zf_task_key_hash (&b));
    //  The value is fixed across processes and hosts.
    assert_true (zf_task_key_hash (&a) == zf_task_key_hash (&a));
    //  Moving a character from one string to the other changes the hash.
    zf_task_key_t c = {"ab", 1, "c", 0, 1};
    zf_task_key_t d = {"a", 1, "bc", 0, 1};
    assert_true (zf_task_key_hash (&c) != zf_task_key_hash (&d));

    //  Every field counts, and a few thousand keys spread over 64 buckets.
    int buckets[64] = {0};
    char names[100][8];
    for (int i = 0; i < 100; i++)
        snprintf (names[i], sizeof (names[i]), "t%d", i);
    for (int i = 0; i < 100; i++)
        for (int shard = ZF_SHARD_SOLE; shard < 39; shard++) {
            zf_task_key_t key = {"eod", 20416, names[i], shard, 1};
            buckets[zf_task_key_hash (&key) % 64]++;
        }
    for (int i = 0; i < 64; i++)
        assert_true (buckets[i] > 4100 / 64 / 2 && buckets[i] < 4100 / 64 * 2);
    zf_task_key_t e = a;
    e.attempt = 3;
    assert_true (zf_task_key_hash (&e) != zf_task_key_hash (&a));
    e = a;
    e.date = 20417;
    assert_true (zf_task_key_hash (&e) != zf_task_key_hash (&a));
    //  The whole task and an unsharded task's sole shard are different keys.
    zf_task_key_t whole = {"eod", 20416, "accrue", ZF_SHARD_WHOLE, 1};
    zf_task_key_t sole = {"eod", 20416, "accrue", ZF_SHARD_SOLE, 1};
    assert_true (zf_task_key_hash (&whole) != zf_task_key_hash (&sole));
    assert_false (zf_task_key_eq (&whole, &sole));
}

static void
test_format (void **state)
{
    char buf[ZF_TASK_KEY_TEXT];
    zf_task_key_t a = {"eod", 20416, "accrue", 3, 2};
    assert_string_equal (zf_task_key_format (&a, buf, sizeof (buf)), "eod/2025-11-24/accrue[3]#2");
    zf_task_key_t b = {"eod", 0, "accrue", ZF_SHARD_WHOLE, 1};
    assert_string_equal (zf_task_key_format (&b, buf, sizeof (buf)), "eod/1970-01-01/accrue[*]#1");
    zf_task_key_t c = {NULL, ZF_DATE_NONE, NULL, ZF_SHARD_WHOLE, 0};
    assert_string_equal (zf_task_key_format (&c, buf, sizeof (buf)), "-/-/-[*]#0");
    zf_task_key_t d = {"eod", 0, "start", ZF_SHARD_SOLE, 1};
    assert_string_equal (zf_task_key_format (&d, buf, sizeof (buf)), "eod/1970-01-01/start#1");
    char small[8];
    assert_string_equal (zf_task_key_format (&a, small, sizeof (small)), "eod/202");
}

static void
test_log_path (void **state)
{
    char path[64];
    zf_task_key_t sole = {"eod", 20416, "accrue", ZF_SHARD_SOLE, 2};
    assert_int_equal (zf_task_key_log_path (&sole, "/var/log/zflow", false, path, sizeof path),
                      strlen ("/var/log/zflow/eod/2025-11-24/accrue.2.log"));
    assert_string_equal (path, "/var/log/zflow/eod/2025-11-24/accrue.2.log");
    zf_task_key_t shard = {"eod", 20416, "accrue", 3, 1};
    assert_true (zf_task_key_log_path (&shard, "logs", true, path, sizeof path) > 0);
    assert_string_equal (path, "logs/eod/2025-11-24/accrue.3.1.copy.log");
    //  A whole task has no one log; a path that does not fit is refused.
    zf_task_key_t whole = {"eod", 20416, "accrue", ZF_SHARD_WHOLE, 1};
    assert_int_equal (zf_task_key_log_path (&whole, "logs", false, path, sizeof path), -1);
    assert_int_equal (zf_task_key_log_path (&shard, "logs", false, path, 20), -1);
    zf_task_key_t undated = {"eod", ZF_DATE_NONE, "accrue", 3, 1};
    assert_int_equal (zf_task_key_log_path (&undated, "logs", false, path, sizeof path), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_order),
        cmocka_unit_test (test_hash),
        cmocka_unit_test (test_format),
        cmocka_unit_test (test_log_path),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
