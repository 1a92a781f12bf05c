/*  Tests of libs/worker: the output tail, the cache, tasks, handler threads,
    and a worker serving handlers next to an executor, both against a
    dispatcher actor started in-process on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "zf_dclient.h"
#include "dispatcher.h"
#include "executor.h"
#include "pool.h"
#include "zf_pipe.h"
#include "zf_worker.h"

static void
test_tail_text (void **state)
{
    zf_tail_t tail = {0};
    char text[ZF_LOG_TAIL + 1];
    assert_int_equal (zf_tail_text (&tail, text, sizeof text), 0);
    assert_string_equal (text, "");
    //  Nul bytes become '?'.
    zf_tail_add (&tail, "a\0b", 3);
    zf_tail_text (&tail, text, sizeof text);
    assert_string_equal (text, "a?b");
    //  A huge write keeps its end; a cut UTF-8 character at the start is dropped.
    char *big = malloc (3 * ZF_LOG_TAIL);
    memset (big, 'x', 3 * ZF_LOG_TAIL);
    memcpy (big + 2 * ZF_LOG_TAIL - 1, "\xe2\x82\xac", 3);
    zf_tail_add (&tail, big, 3 * ZF_LOG_TAIL);
    size_t len = zf_tail_text (&tail, text, sizeof text);
    assert_int_equal (len, ZF_LOG_TAIL - 2);
    assert_int_equal (text[0], 'x');
    free (big);
    char small[5];
    assert_int_equal (zf_tail_text (&tail, small, sizeof small), 4);
    assert_int_equal (small[4], 0);
}

static int s_freed;

static void
s_free_item (void *item)
{
    s_freed++;
    free (item);
}

static void
test_cache (void **state)
{
    s_freed = 0;
    zf_cache_t *cache = zf_cache_new (100);
    assert_null (zf_cache_acquire (cache, "bonds"));
    char *bonds = strdup ("bonds data");
    assert_ptr_equal (zf_cache_insert (cache, "bonds", bonds, 60, s_free_item), bonds);
    //  A second insert under the same key keeps the first and frees the new one.
    char *again = strdup ("other");
    assert_ptr_equal (zf_cache_insert (cache, "bonds", again, 60, s_free_item), bonds);
    assert_int_equal (s_freed, 1);
    zf_cache_release (cache, "bonds");
    zf_cache_release (cache, "bonds");
    //  Over capacity, the least recently used unpinned item goes.
    char *fx = strdup ("fx");
    zf_cache_insert (cache, "fx", fx, 30, s_free_item);
    zf_cache_release (cache, "fx");
    assert_ptr_equal (zf_cache_acquire (cache, "bonds"), bonds);
    zf_cache_release (cache, "bonds");
    char *repo = strdup ("repo");
    zf_cache_insert (cache, "repo", repo, 30, s_free_item);
    //  fx was used least recently: gone. bonds stays.
    assert_int_equal (s_freed, 2);
    assert_null (zf_cache_acquire (cache, "fx"));
    assert_int_equal (zf_cache_count (cache), 2);
    assert_int_equal (zf_cache_bytes (cache), 90);
    //  A pinned item survives pressure; it goes once released.
    char *huge = strdup ("huge");
    zf_cache_insert (cache, "huge", huge, 200, s_free_item);
    assert_non_null (zf_cache_acquire (cache, "huge"));
    zf_cache_release (cache, "repo");
    zf_cache_release (cache, "huge");
    assert_ptr_equal (zf_cache_acquire (cache, "huge"), huge);
    zf_cache_release (cache, "huge");
    zf_cache_release (cache, "huge");
    assert_int_equal (zf_cache_count (cache), 0);
    assert_int_equal (s_freed, 5);
    zf_cache_destroy (&cache);
    assert_null (cache);
}

static void
test_task (void **state)
{
    zf_cache_t *cache = zf_cache_new (1000);
    const char *env[] = {"RECORDS=500", "MODE=fast"};
    char flow[] = "eod";
    zf_job_t job = {
        .job_id = 9,
        .key = {flow, 20416, "settle", 2, 3},
        .shard_count = 8,
        .shard_key = "fx",
        .service = "settle",
        .env = env,
        .env_count = 2,
    };
    zf_task_t *task = zf_task_new (&job, "exec-1", cache);
    assert_non_null (task);
    //  The task owns copies.
    strcpy (flow, "new");
    assert_string_equal (zf_task_flow (task), "eod");
    assert_int_equal (zf_task_date (task), 20416);
    assert_string_equal (zf_task_id (task), "settle");
    assert_int_equal (zf_task_attempt (task), 3);
    assert_int_equal (zf_task_shard_index (task), 2);
    assert_int_equal (zf_task_shard_count (task), 8);
    assert_string_equal (zf_task_shard_key (task), "fx");
    assert_string_equal (zf_task_executor (task), "exec-1");
    assert_string_equal (zf_task_env (task, "RECORDS"), "500");
    assert_null (zf_task_env (task, "RECORD"));
    assert_null (zf_task_env (task, "NONE"));
    assert_ptr_equal (zf_task_cache (task), cache);
    assert_int_equal (zf_task_job (task)->job_id, 9);
    assert_false (zf_task_cancelled (task));
    zf_task_cancel (task);
    assert_true (zf_task_cancelled (task));
    zf_task_log (task, "line %d", 1);
    zf_task_log (task, "line %d", 2);
    char out[64];
    zf_task_output (task, out, sizeof out);
    assert_string_equal (out, "line 1\nline 2\n");
    zf_task_destroy (&task);
    assert_null (task);
    //  An unsharded task reads as shard 0 of 1.
    job.key.shard = ZF_SHARD_SOLE;
    job.shard_count = 0;
    job.shard_key = NULL;
    task = zf_task_new (&job, "exec-1", NULL);
    assert_int_equal (zf_task_shard_index (task), 0);
    assert_int_equal (zf_task_shard_count (task), 1);
    assert_null (zf_task_shard_key (task));
    zf_task_destroy (&task);
    zf_cache_destroy (&cache);
}

//  A handler that returns its shard index.
static int
s_index_handler (zf_task_t *task, void *arg)
{
    return (int)zf_task_shard_index (task);
}

//  A handler that holds until cancelled.
static int
s_hold_handler (zf_task_t *task, void *arg)
{
    atomic_int *holding = arg;
    atomic_fetch_add (holding, 1);
    struct pollfd none = {-1, 0, 0};
    while (!zf_task_cancelled (task))
        poll (&none, 0, 1);
    return 7;
}

//  Waits for the pool's eventfd, then takes one event.
static bool
s_pool_event (zf_pool_t *pool, zf_task_t **task, int *event, int *rc)
{
    for (int i = 0; i < 100; i++) {
        if (zf_pool_next (pool, task, event, rc)) return true;
        struct pollfd item = {zf_pool_fd (pool), POLLIN, 0};
        poll (&item, 1, 100);
    }
    return false;
}

static void
test_pool (void **state)
{
    zf_pool_t *pool = zf_pool_new (1);
    assert_non_null (pool);
    zf_job_t job = {.key = {"eod", 0, "t", 5, 1}, .shard_count = 8, .service = "s"};
    zf_task_t *first = zf_task_new (&job, "e", NULL);
    atomic_int holding = 0;
    job.key.shard = 6;
    zf_task_t *held = zf_task_new (&job, "e", NULL);
    zf_task_t *queued = zf_task_new (&job, "e", NULL);
    assert_int_equal (zf_pool_submit (pool, first, s_index_handler, NULL), 0);
    zf_task_t *task;
    int event, rc;
    assert_true (s_pool_event (pool, &task, &event, &rc));
    assert_ptr_equal (task, first);
    assert_int_equal (event, ZF_POOL_STARTED);
    assert_true (s_pool_event (pool, &task, &event, &rc));
    assert_int_equal (event, ZF_POOL_DONE);
    assert_int_equal (rc, 5);
    //  One thread: the second task holds it, the third waits and can be
    //  taken back.
    zf_pool_submit (pool, held, s_hold_handler, &holding);
    assert_true (s_pool_event (pool, &task, &event, &rc));
    assert_int_equal (event, ZF_POOL_STARTED);
    zf_pool_submit (pool, queued, s_index_handler, NULL);
    assert_true (zf_pool_withdraw (pool, queued));
    assert_false (zf_pool_withdraw (pool, queued));
    //  Cancelling ends the held handler.
    zf_task_cancel (held);
    assert_true (s_pool_event (pool, &task, &event, &rc));
    assert_ptr_equal (task, held);
    assert_int_equal (rc, 7);
    assert_false (zf_pool_next (pool, &task, &event, &rc));
    //  Destroying the pool cancels what runs and waits for it.
    zf_task_t *last = zf_task_new (&job, "e", NULL);
    zf_pool_submit (pool, last, s_hold_handler, &holding);
    assert_true (s_pool_event (pool, &task, &event, &rc));
    zf_pool_destroy (&pool);
    assert_null (pool);
    assert_true (zf_task_cancelled (last));
    assert_int_equal (atomic_load (&holding), 2);
    zf_task_destroy (&first);
    zf_task_destroy (&held);
    zf_task_destroy (&queued);
    zf_task_destroy (&last);
}

//  A handler that counts records for its shard key, keeping them in the
//  cache: the first task for a key makes them, later ones find them.
static int
s_count_handler (zf_task_t *task, void *arg)
{
    const char *key = zf_task_shard_key (task);
    zf_cache_t *cache = zf_task_cache (task);
    int *records = zf_cache_acquire (cache, key);
    bool cached = records != NULL;
    if (!records) {
        records = malloc (sizeof (int));
        *records = (int)strlen (key) * 100;
        records = zf_cache_insert (cache, key, records, sizeof (int), free);
    }
    zf_task_log (task, "%s %d %s", key, *records, cached ? "cached" : "made");
    zf_cache_release (cache, key);
    return 0;
}

//  One STATS counter of an actor; the test fails if it has none of that name.
static uint64_t
s_stat (zactor_t *actor, const char *name)
{
    zf_fields_t *stats = zf_fields_ask (actor, ZF_PIPE_STATS);
    assert_non_null (stats);
    uint64_t value = zf_fields_get (stats, name);
    zf_fields_destroy (&stats);
    if (value == ZF_FIELDS_ABSENT) fail_msg ("no STATS counter %s", name);
    return value;
}

//  The results of the last order, by status.
static size_t
s_count_status (zf_dclient_t *client, int status, const char *needle)
{
    size_t count, matches = 0;
    const zf_dresult_t *results = zf_dclient_results (client, &count);
    for (size_t i = 0; i < count; i++)
        if (results[i].status == status && (!needle || strstr (results[i].tail, needle))) matches++;
    return matches;
}

static void
test_worker_serves (void **state)
{
    zf_dispatcher_config_t dcfg;
    zf_dispatcher_config_defaults (&dcfg);
    dcfg.bind = "tcp://127.0.0.1:*";
    dcfg.events = NULL;
    dcfg.broker.heartbeat_ms = 100;
    dcfg.broker.liveness = 20;
    zactor_t *dispatcher = zactor_new (zf_dispatcher_actor, &dcfg);
    assert_non_null (dispatcher);
    zf_fields_t *endpoints = zf_fields_ask (dispatcher, ZF_PIPE_ENDPOINTS);
    assert_non_null (endpoints);
    assert_non_null (zf_fields_str (endpoints, "bind"));
    char *endpoint = strdup (zf_fields_str (endpoints, "bind"));
    assert_non_null (strstr (endpoint, "tcp://127.0.0.1:"));
    assert_null (zf_fields_str (endpoints, "events"));
    zf_fields_destroy (&endpoints);

    //  A worker with two handlers and one slot.
    zf_worker_config_t wcfg;
    zf_worker_config_defaults (&wcfg);
    wcfg.name = "handlers";
    wcfg.endpoint = endpoint;
    wcfg.slots = 1;
    wcfg.heartbeat_ms = 100;
    wcfg.liveness = 20;
    zf_worker_t *worker = zf_worker_new (&wcfg);
    atomic_int holding = 0;
    assert_int_equal (zf_worker_register (worker, "count", s_count_handler, NULL), 0);
    assert_int_equal (zf_worker_register (worker, "hold", s_hold_handler, &holding), 0);
    assert_int_equal (zf_worker_register (worker, "count", s_count_handler, NULL), -1);
    assert_int_equal (zf_worker_register (worker, ZF_WORKER_NOOP, s_count_handler, NULL), -1);
    zactor_t *serving = zactor_new (zf_worker_actor, worker);
    assert_non_null (serving);

    zf_dclient_t *client = zf_dclient_new (endpoint, "registry", 1);
    assert_true (zf_dclient_wait_hello (client, 5000));
    //  Keyed shards, twice: the second time every key is in the cache.
    const char *keys[] = {"bonds", "fx", "equities"};
    for (int round = 0; round < 2; round++) {
        zf_order_t order = {.flow = "eod",
                            .date = 20416 + round,
                            .task = "count",
                            .version = 1,
                            .attempt = 1,
                            .shard_count = 3,
                            .shard_keys = keys};
        zf_dclient_clear (client);
        assert_int_equal (zf_dclient_dispatch (client, "count", 1, &order, 1), 0);
        assert_int_equal (zf_dclient_wait (client, 3, 10000), 3);
        assert_int_equal (s_count_status (client, ZF_JOB_SUCCEEDED, round ? "cached" : "made"), 3);
    }
    //  A handler that runs past its timeout ends as timed out; one that is
    //  cancelled ends as cancelled; the slot is free again after each.
    zf_order_t slow = {.flow = "eod",
                       .date = 20416,
                       .task = "slow",
                       .version = 1,
                       .attempt = 1,
                       .timeout_ms = 200};
    zf_dclient_clear (client);
    assert_int_equal (zf_dclient_dispatch (client, "hold", 1, &slow, 1), 0);
    assert_int_equal (zf_dclient_wait (client, 1, 10000), 1);
    assert_int_equal (s_count_status (client, ZF_JOB_TIMED_OUT, NULL), 1);
    zf_order_t stuck = {.flow = "eod", .date = 20416, .task = "stuck", .version = 1, .attempt = 1};
    zf_dclient_clear (client);
    assert_int_equal (zf_dclient_dispatch (client, "hold", 1, &stuck, 1), 0);
    //  Its running notice says it started; then cancel it.
    size_t count = 0;
    for (int64_t deadline = zclock_mono () + 5000; zclock_mono () < deadline;) {
        zf_dclient_wait (client, 1, 50);
        if (zf_dclient_results (client, &count), count > 0) break;
    }
    assert_true (count > 0);
    assert_int_equal (s_count_status (client, ZF_JOB_RUNNING, NULL), 1);
    assert_int_equal (s_stat (serving, "running"), 1);
    assert_int_equal (zf_dclient_cancel (client, "eod", 20416, "stuck", ZF_SHARD_WHOLE), 0);
    assert_int_equal (zf_dclient_wait (client, 1, 10000), 1);
    assert_int_equal (s_count_status (client, ZF_JOB_CANCELLED, NULL), 1);
    assert_int_equal (s_stat (serving, "running"), 0);

    //  An executor next to it runs shell jobs; a service nobody offers fails
    //  fast with no_worker when the order allows only a short wait.
    zf_executor_config_t ecfg;
    zf_executor_config_defaults (&ecfg);
    ecfg.name = "shell-1";
    ecfg.dispatcher = endpoint;
    ecfg.log_dir = "/tmp/zf-test-worker-logs";
    ecfg.heartbeat_ms = 100;
    ecfg.liveness = 20;
    zactor_t *executor = zactor_new (zf_executor_actor, &ecfg);
    zf_order_t shell = {.flow = "eod",
                        .date = 20416,
                        .task = "echo",
                        .version = 1,
                        .attempt = 1,
                        .command = "echo from-shell",
                        .wait_ms = 5000};
    zf_order_t nobody = {
        .flow = "eod", .date = 20416, .task = "nobody", .version = 1, .attempt = 1, .wait_ms = 300};
    zf_dclient_clear (client);
    assert_int_equal (zf_dclient_dispatch (client, "shell", 1, &shell, 1), 0);
    assert_int_equal (zf_dclient_dispatch (client, "nobody", 1, &nobody, 1), 0);
    assert_int_equal (zf_dclient_wait (client, 2, 10000), 2);
    assert_int_equal (s_count_status (client, ZF_JOB_SUCCEEDED, "from-shell"), 1);
    assert_int_equal (s_count_status (client, ZF_JOB_NO_WORKER, NULL), 1);
    int code = 0;
    assert_int_equal (zf_dclient_refusals (client, &code), 1);
    assert_int_equal (code, ZF_REFUSE_NO_WORKER);
    //  Every result was acknowledged: the dispatcher holds none.
    assert_int_equal (s_stat (dispatcher, "workers"), 2);
    assert_int_equal (s_stat (dispatcher, "inflight"), 0);
    assert_true (s_stat (dispatcher, "results") >= 9);

    zf_dclient_destroy (&client);
    zactor_destroy (&executor);
    zactor_destroy (&serving);
    zf_worker_destroy (&worker);
    zactor_destroy (&dispatcher);
    free (endpoint);
    assert_int_equal (system ("rm -rf /tmp/zf-test-worker-logs"), 0);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_tail_text),     cmocka_unit_test (test_cache),
        cmocka_unit_test (test_task),          cmocka_unit_test (test_pool),
        cmocka_unit_test (test_worker_serves),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
