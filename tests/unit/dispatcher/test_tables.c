/*  Tests of the broker's tables: queues, services and pools, workers and
    their liveness, in-flight subtasks and held results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "results.h"
#include "service.h"
#include "sub.h"
#include "worker.h"

static void
test_queue (void **state)
{
    zf_disp_sub_t subs[4];
    memset (subs, 0, sizeof subs);
    zf_disp_queue_t queue = {0};
    zf_disp_queue_push (&queue, &subs[0]);
    zf_disp_queue_push (&queue, &subs[1]);
    zf_disp_queue_push_front (&queue, &subs[2]);
    zf_disp_queue_push (&queue, &subs[3]);
    assert_int_equal (queue.count, 4);
    //  2 0 1 3; take 1 out of the middle.
    zf_disp_queue_remove (&subs[1]);
    assert_null (subs[1].queue);
    zf_disp_queue_remove (&subs[1]);
    assert_int_equal (queue.count, 3);
    assert_ptr_equal (zf_disp_queue_pop (&queue), &subs[2]);
    assert_ptr_equal (zf_disp_queue_pop (&queue), &subs[0]);
    assert_ptr_equal (zf_disp_queue_pop (&queue), &subs[3]);
    assert_null (zf_disp_queue_pop (&queue));
    assert_null (queue.head);
    assert_null (queue.tail);
}

static void
test_services_and_pools (void **state)
{
    zf_disp_services_t *services = zf_disp_services_new ();
    assert_null (zf_disp_services_find (services, "shell"));
    zf_disp_service_t *shell = zf_disp_services_require (services, "shell");
    assert_non_null (shell);
    assert_ptr_equal (zf_disp_services_require (services, "shell"), shell);
    assert_string_equal (zf_disp_service_name (shell), "shell");
    assert_int_equal (zf_disp_services_size (services), 1);
    //  No pool: always room.
    for (int i = 0; i < 100; i++)
        zf_disp_service_started (shell);
    assert_true (zf_disp_service_has_room (shell));
    for (int i = 0; i < 100; i++)
        zf_disp_service_finished (shell);
    //  A pool of 2 caps copies with workers.
    assert_int_equal (zf_disp_services_set_pool (services, "shell", 2), 0);
    zf_disp_service_started (shell);
    assert_true (zf_disp_service_has_room (shell));
    zf_disp_service_started (shell);
    assert_false (zf_disp_service_has_room (shell));
    assert_int_equal (zf_disp_service_running (shell), 2);
    zf_disp_service_finished (shell);
    assert_true (zf_disp_service_has_room (shell));
    //  The time copies take is followed as a moving average.
    assert_int_equal (zf_disp_service_duration (shell), -1);
    zf_disp_service_observe (shell, 8000);
    assert_int_equal (zf_disp_service_duration (shell), 8000);
    zf_disp_service_observe (shell, 16000);
    assert_int_equal (zf_disp_service_duration (shell), 9000);
    for (int i = 0; i < 100; i++)
        zf_disp_service_observe (shell, 100);
    assert_in_range (zf_disp_service_duration (shell), 100, 110);
    //  Setting a pool makes the service if needed.
    assert_int_equal (zf_disp_services_set_pool (services, "settle", 1), 0);
    assert_int_equal (zf_disp_service_pool (zf_disp_services_find (services, "settle")), 1);
    //  The table is bounded.
    for (int i = 0; i < ZF_DISP_MAX_SERVICES; i++) {
        char name[32];
        snprintf (name, sizeof name, "s%d", i);
        zf_disp_services_require (services, name);
    }
    assert_int_equal (zf_disp_services_size (services), ZF_DISP_MAX_SERVICES);
    assert_null (zf_disp_services_require (services, "one-too-many"));
    zf_disp_services_destroy (&services);
    assert_null (services);
}

static void
test_service_workers (void **state)
{
    zf_disp_services_t *services = zf_disp_services_new ();
    zf_disp_workers_t *workers = zf_disp_workers_new ();
    zf_disp_service_t *shell = zf_disp_services_require (services, "shell");
    zf_disp_worker_t *a = zf_disp_workers_add (workers, "A", 1, "a", 2, 1000);
    zf_disp_worker_t *b = zf_disp_workers_add (workers, "B", 1, "b", 2, 1000);
    assert_int_equal (zf_disp_service_add_worker (shell, a), 0);
    assert_int_equal (zf_disp_service_add_worker (shell, b), 0);
    assert_int_equal (zf_disp_service_add_worker (shell, a), 0);
    assert_int_equal (zf_disp_service_worker_count (shell), 2);
    zf_disp_service_remove_worker (shell, a);
    assert_int_equal (zf_disp_service_worker_count (shell), 1);
    assert_ptr_equal (zf_disp_service_worker (shell, 0), b);
    zf_disp_service_remove_worker (shell, a);
    assert_int_equal (zf_disp_service_worker_count (shell), 1);
    //  Local queues per offered service.
    assert_null (zf_disp_worker_local_for (b, shell));
    assert_int_equal (zf_disp_worker_add_service (b, shell), 0);
    assert_int_equal (zf_disp_worker_add_service (b, shell), 0);
    assert_int_equal (zf_disp_worker_service_count (b), 1);
    assert_ptr_equal (zf_disp_worker_local_for (b, shell), zf_disp_worker_local (b, 0));
    zf_disp_workers_destroy (&workers);
    zf_disp_services_destroy (&services);
}

static void
test_worker_table (void **state)
{
    zf_disp_workers_t *workers = zf_disp_workers_new ();
    uint8_t id1[5] = {0, 1, 2, 3, 4}, id2[5] = {0, 1, 2, 3, 5};
    zf_disp_worker_t *w1 = zf_disp_workers_add (workers, id1, 5, "exec-1", 4, 1000);
    assert_non_null (w1);
    assert_int_equal (zf_disp_worker_slots (w1), 4);
    //  Identities and names are unique among live workers.
    assert_null (zf_disp_workers_add (workers, id1, 5, "exec-2", 1, 1000));
    assert_null (zf_disp_workers_add (workers, id2, 5, "exec-1", 1, 1000));
    zf_disp_worker_t *w2 = zf_disp_workers_add (workers, id2, 5, "exec-2", 1, 1000);
    assert_ptr_equal (zf_disp_workers_find (workers, id1, 5), w1);
    assert_ptr_equal (zf_disp_workers_find (workers, id2, 5), w2);
    assert_null (zf_disp_workers_find (workers, id2, 4));
    assert_ptr_equal (zf_disp_workers_find_name (workers, "exec-2"), w2);
    assert_int_equal (zf_disp_workers_size (workers), 2);
    //  Room: slots plus what the caller allows beyond them.
    zf_disp_sub_t sub;
    memset (&sub, 0, sizeof sub);
    for (int c = 0; c < ZF_DISP_COPIES; c++)
        sub.copy[c].sub = &sub;
    assert_true (zf_disp_worker_has_room (w2, 0));
    zf_disp_worker_attach (w2, &sub.copy[0]);
    assert_false (zf_disp_worker_has_room (w2, 0));
    assert_true (zf_disp_worker_has_room (w2, 1));
    assert_int_equal (zf_disp_worker_load (w2), 1);
    zf_disp_worker_detach (w2, &sub.copy[0]);
    assert_true (zf_disp_worker_has_room (w2, 0));
    assert_null (sub.copy[0].worker);
    //  A killed worker leaves the lookups and waits on the dead list.
    zf_disp_workers_kill (workers, w1);
    assert_false (zf_disp_worker_alive (w1));
    assert_null (zf_disp_workers_find (workers, id1, 5));
    assert_null (zf_disp_workers_find_name (workers, "exec-1"));
    assert_int_equal (zf_disp_workers_size (workers), 1);
    //  Its name and identity are free again.
    zf_disp_worker_t *again = zf_disp_workers_add (workers, id1, 5, "exec-1", 1, 1000);
    assert_non_null (again);
    assert_ptr_equal (zf_disp_workers_pop_dead (workers), w1);
    assert_null (zf_disp_workers_pop_dead (workers));
    zf_disp_worker_destroy (&w1);
    assert_null (w1);
    zf_disp_workers_destroy (&workers);
}

//  Expiry looks at every worker: a dead one behind a live one, busy or idle,
//  is found, and its copies come back to the caller.
static void
test_worker_expiry (void **state)
{
    zf_disp_workers_t *workers = zf_disp_workers_new ();
    zf_disp_worker_t *a = zf_disp_workers_add (workers, "1", 1, "a", 2, 1000);
    zf_disp_worker_t *b = zf_disp_workers_add (workers, "2", 1, "b", 2, 9000);
    zf_disp_worker_t *c = zf_disp_workers_add (workers, "3", 1, "c", 2, 2000);
    zf_disp_worker_t *d = zf_disp_workers_add (workers, "4", 1, "d", 2, 5000);
    zf_disp_sub_t subs[3];
    memset (subs, 0, sizeof subs);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < ZF_DISP_COPIES; k++)
            subs[i].copy[k].sub = &subs[i];
    zf_disp_worker_attach (c, &subs[0].copy[0]);
    zf_disp_worker_attach (c, &subs[1].copy[1]);
    zf_disp_worker_attach (b, &subs[2].copy[0]);

    //  Nothing is due yet.
    assert_int_equal (zf_disp_workers_expire (workers, 999), 0);
    //  A message from a worker moves its expiry: a lives on, busy c dies
    //  although a and b before it live.
    zf_disp_worker_refresh (a, 2500);
    assert_int_equal (zf_disp_workers_expire (workers, 2000), 1);
    assert_ptr_equal (zf_disp_workers_pop_dead (workers), c);
    assert_null (zf_disp_workers_pop_dead (workers));
    //  Its copies come back oldest first.
    assert_ptr_equal (zf_disp_worker_pop_copy (c), &subs[0].copy[0]);
    assert_ptr_equal (zf_disp_worker_pop_copy (c), &subs[1].copy[1]);
    assert_null (zf_disp_worker_pop_copy (c));
    zf_disp_worker_destroy (&c);

    //  The first worker in the table lives while the two behind it, busy b
    //  and idle d, have fallen silent: one pass finds both.
    zf_disp_worker_refresh (a, 20000);
    assert_int_equal (zf_disp_workers_expire (workers, 9000), 2);
    zf_disp_worker_t *first = zf_disp_workers_pop_dead (workers);
    zf_disp_worker_t *second = zf_disp_workers_pop_dead (workers);
    assert_true ((first == b && second == d) || (first == d && second == b));
    assert_null (zf_disp_workers_pop_dead (workers));
    assert_ptr_equal (zf_disp_worker_pop_copy (b), &subs[2].copy[0]);
    assert_int_equal (zf_disp_workers_size (workers), 1);
    assert_ptr_equal (zf_disp_workers_at (workers, 0), a);
    zf_disp_worker_destroy (&first);
    zf_disp_worker_destroy (&second);
    zf_disp_workers_destroy (&workers);
}

//  A subtask keyed for the tables.
static void
s_sub (zf_disp_sub_t *sub, const char *task, int32_t shard, uint32_t attempt)
{
    memset (sub, 0, sizeof *sub);
    sub->key = (zf_task_key_t){"eod", 20000, task, shard, attempt};
}

static void
test_inflight (void **state)
{
    zf_disp_results_t *results = zf_disp_results_new ();
    zf_disp_sub_t a, b, same;
    s_sub (&a, "accrue", 0, 1);
    s_sub (&b, "accrue", 1, 1);
    s_sub (&same, "accrue", 0, 1);
    assert_int_equal (zf_disp_results_track (results, &a), 0);
    assert_int_equal (zf_disp_results_track (results, &b), 0);
    //  The same key cannot be in flight twice.
    assert_int_equal (zf_disp_results_track (results, &same), -1);
    zf_task_key_t key = {"eod", 20000, "accrue", 0, 1};
    assert_ptr_equal (zf_disp_results_inflight (results, &key), &a);
    key.attempt = 2;
    assert_null (zf_disp_results_inflight (results, &key));
    //  Untracking another subtask under the same key leaves the first.
    zf_disp_results_untrack (results, &same);
    assert_int_equal (zf_disp_results_inflight_count (results), 2);
    zf_disp_results_untrack (results, &a);
    assert_int_equal (zf_disp_results_inflight_count (results), 1);
    zf_disp_results_destroy (&results);
    assert_null (results);
}

//  The last attempt of each shard is remembered, for the most recent
//  ZF_DISP_ATTEMPTS_KEPT shards at least and twice that at most.
static void
test_attempts_used (void **state)
{
    zf_disp_results_t *results = zf_disp_results_new ();
    zf_task_key_t key = {"eod", 20000, "accrue", 0, 9};
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 0);
    zf_disp_sub_t a;
    s_sub (&a, "accrue", 0, 3);
    assert_int_equal (zf_disp_results_track (results, &a), 0);
    zf_disp_results_untrack (results, &a);
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 3);
    //  An older attempt tracked later does not lower it.
    s_sub (&a, "accrue", 0, 2);
    assert_int_equal (zf_disp_results_track (results, &a), 0);
    zf_disp_results_untrack (results, &a);
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 3);
    key.shard = 1;
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 0);
    //  As many other shards again: still remembered (the old table).
    char task[32];
    zf_disp_sub_t other;
    for (int i = 0; i < ZF_DISP_ATTEMPTS_KEPT; i++) {
        snprintf (task, sizeof task, "t%d", i);
        s_sub (&other, task, 0, 1);
        assert_int_equal (zf_disp_results_track (results, &other), 0);
        zf_disp_results_untrack (results, &other);
    }
    key.shard = 0;
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 3);
    //  Twice as many: forgotten, while the most recent are kept.
    for (int i = 0; i < ZF_DISP_ATTEMPTS_KEPT; i++) {
        snprintf (task, sizeof task, "u%d", i);
        s_sub (&other, task, 0, 2);
        assert_int_equal (zf_disp_results_track (results, &other), 0);
        zf_disp_results_untrack (results, &other);
    }
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 0);
    key.task = "u7";
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 2);
    key.task = task;
    assert_int_equal (zf_disp_results_last_attempt (results, &key), 2);
    zf_disp_results_destroy (&results);
}

static void
test_held_results (void **state)
{
    zf_disp_results_t *results = zf_disp_results_new ();
    int owner_a, owner_b;
    char flow[] = "eod", task[] = "settle", tail[] = "done";
    zf_result_t result = {
        .job_id = 7,
        .key = {flow, 20000, task, 3, 1},
        .status = ZF_JOB_SUCCEEDED,
        .executor = "exec-1",
        .log_tail = tail,
        .winner = true,
    };
    bool duplicate = true;
    zf_held_item_t *held =
        zf_disp_results_hold (results, &owner_a, "settle", &result, false, &duplicate);
    assert_non_null (held);
    assert_false (duplicate);
    //  The held copy owns its strings.
    strcpy (flow, "new");
    strcpy (tail, "gone");
    const zf_result_t *copy = zf_held_result (held);
    assert_string_equal (copy->key.flow, "eod");
    assert_string_equal (copy->log_tail, "done");
    assert_string_equal (copy->executor, "exec-1");
    assert_string_equal (zf_held_service (held), "settle");
    assert_false (zf_held_final (held));
    assert_ptr_equal (zf_disp_held_owner (held), &owner_a);
    //  The first result under a key stays; a second is a duplicate.
    strcpy (flow, "eod");
    result.status = ZF_JOB_FAILED;
    assert_null (zf_disp_results_hold (results, &owner_a, "settle", &result, false, &duplicate));
    assert_true (duplicate);
    assert_int_equal (zf_held_result (zf_disp_results_find (results, &result.key))->status,
                      ZF_JOB_SUCCEEDED);
    //  Another key, another owner; iteration is oldest first.
    result.key.shard = ZF_SHARD_SOLE;
    zf_held_item_t *final = zf_disp_results_hold (results, &owner_b, "settle", &result, true, NULL);
    assert_non_null (final);
    assert_int_equal (zf_disp_results_held (results), 2);
    assert_ptr_equal (zf_disp_results_next (results, NULL), held);
    assert_ptr_equal (zf_disp_results_next (results, held), final);
    assert_null (zf_disp_results_next (results, final));
    zf_disp_held_set_owner (final, &owner_a);
    assert_ptr_equal (zf_disp_held_owner (final), &owner_a);
    //  Acknowledged results are forgotten, once.
    zf_task_key_t key = {"eod", 20000, "settle", 3, 1};
    assert_int_equal (zf_disp_results_ack (results, &key), 0);
    assert_int_equal (zf_disp_results_ack (results, &key), -1);
    assert_null (zf_disp_results_find (results, &key));
    assert_ptr_equal (zf_disp_results_next (results, NULL), final);
    assert_int_equal (zf_disp_results_held (results), 1);
    zf_disp_results_destroy (&results);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_queue),           cmocka_unit_test (test_services_and_pools),
        cmocka_unit_test (test_service_workers), cmocka_unit_test (test_worker_table),
        cmocka_unit_test (test_worker_expiry),   cmocka_unit_test (test_inflight),
        cmocka_unit_test (test_attempts_used),   cmocka_unit_test (test_held_results),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
