/*  Tests of the broker core with a fake clock: assignment, pools, liveness
    and requeue, locality, speculation, results until acknowledged, fencing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker.h"
#include "zf_clock.h"
#include "zf_limits.h"

#define S_MAX  4096
#define S_TEXT 48

//  A job the broker sent.
typedef struct {
    uint64_t job_id;
    char worker[S_TEXT];
    char client[S_TEXT];
    char task[S_TEXT];
    char shard_key[S_TEXT];
    char service[S_TEXT];
    zf_date_t date;
    int32_t shard;
    uint32_t attempt;
    uint8_t copy;
    bool rollback;
    uint64_t epoch;
} s_job_t;

//  A result the broker sent to a client.
typedef struct {
    char identity[S_TEXT];
    char task[S_TEXT];
    char executor[S_TEXT];
    int32_t shard;
    uint32_t attempt;
    uint8_t status;
    uint8_t copy;
    bool winner;
    bool final;
} s_result_t;

typedef struct {
    zf_clock_t *clock;
    zf_broker_t *broker;
    zf_broker_config_t cfg;
    s_job_t jobs[S_MAX];
    size_t job_count;
    uint64_t cancels[S_MAX];
    size_t cancel_count;
    size_t worker_acks;
    size_t heartbeats;
    size_t client_heartbeats;
    char disconnected[S_MAX][S_TEXT];
    size_t disconnect_count;
    s_result_t results[S_MAX];
    size_t result_count;
    int refused[S_MAX];
    size_t refused_count;
    size_t hello_inflight;
    size_t hello_count;
    int events[S_MAX];
    size_t event_count;
} s_fixture_t;

static void
s_copy (char *out, const void *text, size_t size)
{
    size_t n = size < S_TEXT - 1 ? size : S_TEXT - 1;
    if (text) memcpy (out, text, n);
    out[text ? n : 0] = 0;
}

static void
s_on_job (void *arg, zf_disp_worker_t *worker, const char *client, uint64_t epoch,
          const zf_job_t *job)
{
    s_fixture_t *fx = arg;
    assert_true (fx->job_count < S_MAX);
    s_job_t *rec = &fx->jobs[fx->job_count++];
    rec->job_id = job->job_id;
    s_copy (rec->worker, zf_disp_worker_name (worker), strlen (zf_disp_worker_name (worker)));
    s_copy (rec->client, client, strlen (client));
    s_copy (rec->task, job->key.task, strlen (job->key.task));
    s_copy (rec->service, job->service, strlen (job->service));
    s_copy (rec->shard_key, job->shard_key, job->shard_key ? strlen (job->shard_key) : 0);
    rec->date = job->key.date;
    rec->shard = job->key.shard;
    rec->attempt = job->key.attempt;
    rec->copy = job->copy;
    rec->rollback = job->rollback != NULL;
    rec->epoch = epoch;
}

static void
s_on_cancel (void *arg, zf_disp_worker_t *worker, uint64_t job_id)
{
    s_fixture_t *fx = arg;
    fx->cancels[fx->cancel_count++] = job_id;
}

static void
s_on_worker_ack (void *arg, zf_disp_worker_t *worker, const zf_task_key_t *key)
{
    ((s_fixture_t *)arg)->worker_acks++;
}

static void
s_on_heartbeat (void *arg, zf_disp_worker_t *worker)
{
    ((s_fixture_t *)arg)->heartbeats++;
}

static void
s_on_client_heartbeat (void *arg, const void *identity, size_t size)
{
    ((s_fixture_t *)arg)->client_heartbeats++;
}

static void
s_on_disconnect (void *arg, const void *identity, size_t size)
{
    s_fixture_t *fx = arg;
    s_copy (fx->disconnected[fx->disconnect_count++], identity, size);
}

static void
s_on_result (void *arg, const void *identity, size_t size, const char *service,
             const zf_result_t *result, bool final)
{
    s_fixture_t *fx = arg;
    assert_true (fx->result_count < S_MAX);
    s_result_t *rec = &fx->results[fx->result_count++];
    s_copy (rec->identity, identity, size);
    s_copy (rec->task, result->key.task, strlen (result->key.task));
    s_copy (rec->executor, result->executor, result->executor ? strlen (result->executor) : 0);
    rec->shard = result->key.shard;
    rec->attempt = result->key.attempt;
    rec->status = result->status;
    rec->copy = result->copy;
    rec->winner = result->winner;
    rec->final = final;
}

static void
s_on_refused (void *arg, const void *identity, size_t size, const char *service,
              const zf_refused_t *refused)
{
    s_fixture_t *fx = arg;
    fx->refused[fx->refused_count++] = refused->code;
}

static void
s_on_hello_reply (void *arg, const void *identity, size_t size, const zf_hello_reply_t *reply)
{
    s_fixture_t *fx = arg;
    fx->hello_count++;
    fx->hello_inflight = reply->inflight_count;
}

static void
s_on_event (void *arg, const zf_dispevent_t *event)
{
    s_fixture_t *fx = arg;
    assert_true (event->seq == fx->event_count + 1);
    fx->events[fx->event_count++] = event->kind;
}

static const zf_broker_ops_t s_ops = {
    .job = s_on_job,
    .cancel = s_on_cancel,
    .worker_ack = s_on_worker_ack,
    .heartbeat = s_on_heartbeat,
    .client_heartbeat = s_on_client_heartbeat,
    .disconnect = s_on_disconnect,
    .result = s_on_result,
    .refused = s_on_refused,
    .hello_reply = s_on_hello_reply,
    .event = s_on_event,
};

//  (Re)makes the broker with the fixture's configuration.
static void
s_start (s_fixture_t *fx)
{
    zf_broker_destroy (&fx->broker);
    fx->broker = zf_broker_new (&fx->cfg, fx->clock, &s_ops, fx);
    assert_non_null (fx->broker);
}

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    fx->clock = zf_clock_new_fake (1700000000000);
    zf_broker_config_defaults (&fx->cfg);
    fx->cfg.prefetch = 0;
    //  Tests of the repeat hold set their own.
    fx->cfg.repeat_hold_ms = 0;
    s_start (fx);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_broker_destroy (&fx->broker);
    zf_clock_destroy (&fx->clock);
    free (fx);
    return 0;
}

//  A worker named name (its identity is the name too) with slots, offering
//  the services in a comma-free list ending with NULL.
static int
s_ready (s_fixture_t *fx, const char *name, uint32_t slots, ...)
{
    const char *services[8];
    size_t count = 0;
    va_list args;
    va_start (args, slots);
    const char *service;
    while ((service = va_arg (args, const char *)) && count < 8)
        services[count++] = service;
    va_end (args);
    zf_worker_ready_t ready = {name, 1234, slots, services, count};
    return zf_broker_worker_ready (fx->broker, name, strlen (name), &ready);
}

//  An order of task at attempt 1 on date 20000.
static zf_order_t
s_order (const char *task, uint32_t shard_count)
{
    zf_order_t order = {
        .flow = "eod",
        .date = 20000,
        .task = task,
        .version = 1,
        .attempt = 1,
        .shard_count = shard_count,
        .command = "true",
        .cwd = "/tmp",
    };
    return order;
}

//  Sends orders for a service from client identity "reg", which never said
//  HELLO: at epoch 0, the one term current before any registry's HELLO.
static void
s_dispatch (s_fixture_t *fx, const char *service, const zf_order_t *orders, size_t count)
{
    zf_dispatch_t dispatch = {0, orders, count};
    zf_broker_dispatch (fx->broker, "reg", 3, service, &dispatch);
}

//  The worker of job index reports status for it.
static int
s_report (s_fixture_t *fx, size_t index, int status)
{
    s_job_t *job = &fx->jobs[index];
    zf_result_t result = {
        .job_id = job->job_id,
        .key = {"eod", job->date, job->task, job->shard, job->attempt},
        .copy = job->copy,
        .status = (uint8_t)status,
        .executor = job->worker,
    };
    zf_results_t results = {&result, 1};
    return zf_broker_worker_results (fx->broker, job->worker, strlen (job->worker), &results);
}

//  Jobs sent to a worker so far.
static size_t
s_jobs_on (s_fixture_t *fx, const char *worker)
{
    size_t count = 0;
    for (size_t i = 0; i < fx->job_count; i++)
        count += strcmp (fx->jobs[i].worker, worker) == 0;
    return count;
}

//  Number of events of a kind so far.
static size_t
s_events (s_fixture_t *fx, int kind)
{
    size_t count = 0;
    for (size_t i = 0; i < fx->event_count; i++)
        count += fx->events[i] == kind;
    return count;
}

static zf_broker_stats_t
s_stats (s_fixture_t *fx)
{
    zf_broker_stats_t stats;
    zf_broker_stats (fx->broker, &stats);
    return stats;
}

static void
test_least_loaded (void **state)
{
    s_fixture_t *fx = *state;
    assert_int_equal (s_ready (fx, "a", 2, "shell", NULL), 0);
    assert_int_equal (s_ready (fx, "b", 2, "shell", NULL), 0);
    assert_int_equal (s_events (fx, ZF_DE_WORKER_JOIN), 2);
    zf_order_t orders[5];
    char names[5][8];
    for (int i = 0; i < 5; i++) {
        snprintf (names[i], sizeof names[i], "t%d", i);
        orders[i] = s_order (names[i], 0);
    }
    s_dispatch (fx, "shell", orders, 5);
    //  Four go out, two each, alternating; the fifth waits.
    assert_int_equal (fx->job_count, 4);
    assert_string_not_equal (fx->jobs[0].worker, fx->jobs[1].worker);
    assert_int_equal (s_jobs_on (fx, "a"), 2);
    assert_int_equal (s_jobs_on (fx, "b"), 2);
    assert_int_equal (s_stats (fx).queued, 1);
    assert_int_equal (fx->jobs[0].shard, ZF_SHARD_SOLE);
    assert_string_equal (fx->jobs[0].client, "@726567");
    //  A finished job makes room: the waiting order goes to that worker.
    const char *freed = fx->jobs[1].worker;
    assert_int_equal (s_report (fx, 1, ZF_JOB_SUCCEEDED), 0);
    assert_int_equal (fx->job_count, 5);
    assert_string_equal (fx->jobs[4].worker, freed);
    //  An unsharded task's one result is its FINAL, sent to the client.
    assert_int_equal (fx->result_count, 1);
    assert_true (fx->results[0].final);
    assert_true (fx->results[0].winner);
    assert_string_equal (fx->results[0].identity, "reg");
    assert_int_equal (fx->results[0].status, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->worker_acks, 1);
    assert_int_equal (s_stats (fx).queued, 0);
}

static void
test_different_executors_first (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 8, "shell", NULL);
    s_ready (fx, "b", 2, "shell", NULL);
    //  b holds one job of another task first.
    zf_order_t other = s_order ("other", 0);
    s_dispatch (fx, "shell", &other, 1);
    assert_string_equal (fx->jobs[0].worker, "a");
    zf_order_t filler = s_order ("filler", 0);
    s_dispatch (fx, "shell", &filler, 1);
    assert_string_equal (fx->jobs[1].worker, "b");
    //  Two shards: the first goes to a (lower share in use), the second to b
    //  although a is less loaded, because a holds a shard of this task.
    zf_order_t order = s_order ("split", 2);
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 4);
    assert_string_equal (fx->jobs[2].worker, "a");
    assert_string_equal (fx->jobs[3].worker, "b");
    //  Further shards spread once every worker holds one.
    zf_order_t wide = s_order ("wide", 4);
    s_dispatch (fx, "shell", &wide, 1);
    //  b is full (2 slots), so the rest go to a.
    assert_int_equal (fx->job_count, 8);
    assert_int_equal (s_jobs_on (fx, "a"), 6);
}

static void
test_pool_limit (void **state)
{
    s_fixture_t *fx = *state;
    assert_int_equal (zf_broker_set_pool (fx->broker, "shell", 2), 0);
    s_ready (fx, "a", 2, "shell", NULL);
    s_ready (fx, "b", 2, "shell", NULL);
    s_ready (fx, "c", 2, "shell", NULL);
    zf_order_t order = s_order ("wide", 6);
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    //  Each finished shard lets exactly one more start; never more than 2.
    for (size_t done = 0; done < 6; done++) {
        assert_int_equal (s_report (fx, done, ZF_JOB_SUCCEEDED), 0);
        assert_int_equal (fx->job_count, done + 3 < 6 ? done + 3 : 6);
        assert_true (fx->job_count - (done + 1) <= 2);
    }
    assert_int_equal (fx->job_count, 6);
    //  Five PARTIALs, and the result that completes the order as its FINAL.
    assert_int_equal (fx->result_count, 6);
    for (size_t i = 0; i < 5; i++)
        assert_false (fx->results[i].final);
    assert_true (fx->results[5].final);
    assert_int_equal (fx->results[5].status, ZF_JOB_SUCCEEDED);
    //  Another service is not limited by shell's pool.
    s_ready (fx, "n", 4, "noop", NULL);
    zf_order_t noops = s_order ("noops", 4);
    s_dispatch (fx, "noop", &noops, 1);
    assert_int_equal (fx->job_count, 10);
}

//  Moves the fake clock by ms, worker b and client reg staying in touch,
//  and lets the broker see the time.
static void
s_pass (s_fixture_t *fx, int64_t ms)
{
    zf_clock_advance (fx->clock, ms);
    if (zf_broker_worker (fx->broker, "b"))
        assert_int_equal (zf_broker_worker_heartbeat (fx->broker, "b", 1), 0);
    zf_broker_client_heartbeat (fx->broker, "reg", 3);
    zf_broker_tick (fx->broker);
    zf_broker_expire (fx->broker);
}

static void
test_a_requeued_shard_waits_out_the_repeat_hold (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.repeat_hold_ms = 5000;
    s_start (fx);
    s_ready (fx, "a", 1, "shell", NULL);
    s_ready (fx, "b", 2, "shell", NULL);
    zf_order_t order = s_order ("accrue", 1);
    order.rollback = "./undo.sh";
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 1);
    assert_string_equal (fx->jobs[0].worker, "a");
    s_report (fx, 0, ZF_JOB_RUNNING);
    //  a falls silent and is buried; b has room, but the repeat waits: a
    //  may live on, cut off, until it notices and stops the attempt.
    int64_t lost_us = -1;
    for (int step = 0; step < 8 && lost_us < 0; step++) {
        s_pass (fx, 1000);
        if (!zf_broker_worker (fx->broker, "a")) lost_us = zf_clock_mono_us (fx->clock);
    }
    assert_true (lost_us >= 0);
    assert_int_equal (s_events (fx, ZF_DE_REQUEUE), 1);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (s_stats (fx).repeats_held, 1);
    assert_int_equal (s_stats (fx).queued, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), lost_us + 5000 * 1000);
    //  A moment before the hold ends nothing goes; at its end b takes it,
    //  attempt 2 with its rollback first.
    s_pass (fx, 4999);
    assert_int_equal (fx->job_count, 1);
    s_pass (fx, 1);
    assert_int_equal (fx->job_count, 2);
    assert_string_equal (fx->jobs[1].worker, "b");
    assert_int_equal (fx->jobs[1].attempt, 2);
    assert_true (fx->jobs[1].rollback);
    assert_int_equal (s_stats (fx).queued, 0);
}

static void
test_a_young_broker_holds_repeats_back (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.repeat_hold_ms = 5000;
    s_start (fx);
    s_ready (fx, "b", 4, "shell", NULL);
    //  Just after a start, a first attempt goes at once; a repeat may
    //  repeat one an earlier dispatcher sent, so it waits, and can be
    //  cancelled while it does.
    zf_order_t orders[3] = {s_order ("first", 1), s_order ("again", 1), s_order ("dropped", 1)};
    static const int32_t interrupted[] = {0};
    orders[1].attempt = 2;
    orders[1].rollback = "./undo.sh";
    orders[1].rollback_shards = interrupted;
    orders[1].rollback_count = 1;
    orders[2].attempt = 3;
    s_dispatch (fx, "shell", orders, 3);
    assert_int_equal (fx->job_count, 1);
    assert_string_equal (fx->jobs[0].task, "first");
    assert_int_equal (s_stats (fx).repeats_held, 2);
    zf_cancel_t cancel = {"eod", 20000, "dropped", ZF_SHARD_WHOLE, NULL, 0};
    zf_broker_cancel (fx->broker, "reg", 3, &cancel);
    assert_int_equal (s_stats (fx).queued, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 5000 * 1000);
    s_pass (fx, 5000);
    assert_int_equal (fx->job_count, 2);
    assert_string_equal (fx->jobs[1].task, "again");
    assert_int_equal (fx->jobs[1].attempt, 2);
    assert_true (fx->jobs[1].rollback);
    //  Later repeats go at once.
    zf_order_t late = s_order ("late", 1);
    late.attempt = 2;
    s_dispatch (fx, "shell", &late, 1);
    assert_int_equal (fx->job_count, 3);
    assert_int_equal (s_stats (fx).repeats_held, 2);
}

static void
test_lost_worker_requeue (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    s_ready (fx, "b", 1, "shell", NULL);
    zf_order_t order = s_order ("accrue", 2);
    order.rollback = "./undo.sh";
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    assert_false (fx->jobs[0].rollback);
    int on_a = strcmp (fx->jobs[0].worker, "a") == 0 ? 0 : 1;
    int32_t shard_a = fx->jobs[on_a].shard;
    //  Both started; b keeps sending heartbeats, a falls silent.
    for (int i = 0; i < 2; i++)
        s_report (fx, (size_t)i, ZF_JOB_RUNNING);
    for (int step = 0; step < 4; step++) {
        zf_clock_advance (fx->clock, 1000);
        assert_int_equal (zf_broker_worker_heartbeat (fx->broker, "b", 1), 0);
        zf_broker_client_heartbeat (fx->broker, "reg", 3);
        zf_broker_tick (fx->broker);
    }
    //  a was busy and is dead: its shard is reported LOST at attempt 1 and
    //  waits for b at attempt 2.
    assert_null (zf_broker_worker (fx->broker, "a"));
    assert_int_equal (s_events (fx, ZF_DE_WORKER_LOST), 1);
    assert_int_equal (s_events (fx, ZF_DE_REQUEUE), 1);
    bool lost_seen = false;
    for (size_t i = 0; i < fx->result_count; i++)
        if (fx->results[i].status == ZF_JOB_LOST) {
            assert_int_equal (fx->results[i].shard, shard_a);
            assert_int_equal (fx->results[i].attempt, 1);
            assert_false (fx->results[i].final);
            lost_seen = true;
        }
    assert_true (lost_seen);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (s_stats (fx).requeued, 1);
    //  b finishes its own shard and takes the requeued one, rollback first.
    s_report (fx, (size_t)(1 - on_a), ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 3);
    assert_string_equal (fx->jobs[2].worker, "b");
    assert_int_equal (fx->jobs[2].shard, shard_a);
    assert_int_equal (fx->jobs[2].attempt, 2);
    assert_true (fx->jobs[2].rollback);
    //  A late result from the dead worker's attempt changes nothing.
    zf_result_t late = {
        .job_id = fx->jobs[on_a].job_id,
        .key = {"eod", 20000, "accrue", shard_a, 1},
        .status = ZF_JOB_SUCCEEDED,
    };
    zf_results_t late_results = {&late, 1};
    assert_int_equal (zf_broker_worker_results (fx->broker, "a", 1, &late_results), -1);
    assert_int_equal (fx->disconnect_count, 1);
    assert_string_equal (fx->disconnected[0], "a");
    s_report (fx, 2, ZF_JOB_SUCCEEDED);
    s_result_t *final = &fx->results[fx->result_count - 1];
    assert_true (final->final);
    assert_int_equal (final->status, ZF_JOB_SUCCEEDED);
    assert_int_equal (s_stats (fx).inflight, 0);
}

static void
test_results_held_until_ack (void **state)
{
    s_fixture_t *fx = *state;
    zf_hello_t hello = {1, "registry"};
    zf_broker_hello (fx->broker, "r1", 2, &hello);
    assert_int_equal (fx->hello_count, 1);
    s_ready (fx, "a", 2, "shell", NULL);
    zf_order_t orders[2] = {s_order ("x", 0), s_order ("y", 0)};
    zf_dispatch_t dispatch = {1, orders, 2};
    zf_broker_dispatch (fx->broker, "r1", 2, "shell", &dispatch);
    assert_string_equal (fx->jobs[0].client, "registry");
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, 1);
    assert_string_equal (fx->results[0].identity, "r1");
    //  The registry restarts: a new identity, the same name. It hears what
    //  is in flight (y, and x, whose result it has not acknowledged) and
    //  gets the result of x again.
    zf_broker_hello (fx->broker, "r2", 2, &hello);
    assert_int_equal (fx->hello_count, 2);
    assert_int_equal (fx->hello_inflight, 2);
    assert_int_equal (fx->result_count, 2);
    assert_string_equal (fx->results[1].identity, "r2");
    assert_string_equal (fx->results[1].task, "x");
    //  Later results go to the new identity.
    s_report (fx, 1, ZF_JOB_SUCCEEDED);
    assert_string_equal (fx->results[2].identity, "r2");
    assert_int_equal (s_stats (fx).held, 2);
    //  Acknowledged results are gone for good; acking twice is harmless.
    zf_task_key_t keys[2] = {{"eod", 20000, "x", ZF_SHARD_SOLE, 1},
                             {"eod", 20000, "y", ZF_SHARD_SOLE, 1}};
    zf_ack_t ack = {keys, 2};
    zf_broker_ack (fx->broker, "r2", 2, &ack);
    zf_broker_ack (fx->broker, "r2", 2, &ack);
    assert_int_equal (s_stats (fx).held, 0);
    zf_broker_hello (fx->broker, "r3", 2, &hello);
    assert_int_equal (fx->result_count, 3);
    assert_int_equal (fx->hello_inflight, 0);
    //  A client that said HELLO hears heartbeats, once per interval.
    zf_broker_tick (fx->broker);
    size_t beats = fx->client_heartbeats;
    assert_int_equal (beats, 1);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->client_heartbeats, beats);
    zf_clock_advance (fx->clock, 1000);
    zf_broker_worker_heartbeat (fx->broker, "a", 1);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->client_heartbeats, beats + 1);
}

static void
test_duplicates_harmless (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 4, "shell", NULL);
    zf_order_t order = s_order ("once", 0);
    s_dispatch (fx, "shell", &order, 1);
    s_dispatch (fx, "shell", &order, 1);
    //  In flight: not started twice.
    assert_int_equal (fx->job_count, 1);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, 1);
    assert_int_equal (s_stats (fx).stale, 1);
    //  Held: the result is sent again instead.
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (fx->result_count, 2);
    assert_int_equal (fx->results[1].status, ZF_JOB_SUCCEEDED);
    //  The next attempt is new work.
    order.attempt = 2;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (fx->jobs[1].attempt, 2);
}

//  A registry restored from an older copy orders an attempt that already
//  ran here and was acknowledged: it runs at the next attempt, rollback
//  first, said as an ERROR event. One that orders an attempt older than
//  the one in flight starts nothing.
static void
test_an_attempt_that_ran_is_not_run_again (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 4, "shell", NULL);
    zf_order_t order = s_order ("post", 0);
    order.rollback = "undo";
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (fx->jobs[0].attempt, 1);
    assert_false (fx->jobs[0].rollback);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    zf_task_key_t key = {"eod", 20000, "post", ZF_SHARD_SOLE, 1};
    zf_ack_t ack = {&key, 1};
    zf_broker_ack (fx->broker, "reg", 3, &ack);
    assert_int_equal (s_stats (fx).held, 0);
    size_t errors = s_events (fx, ZF_DE_ERROR);

    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (fx->jobs[1].attempt, 2);
    assert_true (fx->jobs[1].rollback);
    assert_int_equal (s_stats (fx).attempts_raised, 1);
    assert_int_equal (s_events (fx, ZF_DE_ERROR), errors + 1);
    //  Asked again at 1, or at 2, while 2 runs: nothing new.
    s_dispatch (fx, "shell", &order, 1);
    order.attempt = 2;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    //  Its result is held: asked for at 1, it is sent again.
    s_report (fx, 1, ZF_JOB_SUCCEEDED);
    size_t results = fx->result_count;
    order.attempt = 1;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (fx->result_count, results + 1);
    assert_int_equal (fx->results[results].attempt, 2);
    //  A newer attempt than any that ran is new work, as ordered.
    order.attempt = 3;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 3);
    assert_int_equal (fx->jobs[2].attempt, 3);
    assert_false (fx->jobs[2].rollback);
    assert_int_equal (s_stats (fx).attempts_raised, 1);
}

static void
test_epoch_fence (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 4, "shell", NULL);
    zf_hello_t hello = {5, "registry"};
    zf_broker_hello (fx->broker, "new", 3, &hello);
    zf_order_t order = s_order ("t", 0);
    zf_dispatch_t old = {4, &order, 1};
    zf_broker_dispatch (fx->broker, "old", 3, "shell", &old);
    assert_int_equal (fx->job_count, 0);
    assert_int_equal (fx->refused_count, 1);
    assert_int_equal (fx->refused[0], ZF_REFUSE_STALE_EPOCH);
    //  An old registry's HELLO is refused too.
    zf_hello_t stale = {4, "registry"};
    zf_broker_hello (fx->broker, "old", 3, &stale);
    assert_int_equal (fx->refused_count, 2);
    assert_int_equal (fx->hello_count, 1);
    zf_dispatch_t current = {5, &order, 1};
    zf_broker_dispatch (fx->broker, "new", 3, "shell", &current);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (fx->jobs[0].epoch, 5);
}

//  A new term of the registry takes over what its name holds: jobs of its
//  orders not sent yet go out under the new term, not the old one that an
//  executor which has seen the new one would refuse.
static void
test_new_term_adopts_orders (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    zf_hello_t hello = {1, "registry"};
    zf_broker_hello (fx->broker, "r1", 2, &hello);
    zf_order_t orders[2] = {s_order ("x", 0), s_order ("y", 0)};
    zf_dispatch_t dispatch = {1, orders, 2};
    zf_broker_dispatch (fx->broker, "r1", 2, "shell", &dispatch);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (fx->jobs[0].epoch, 1);
    //  The other registry of the pair takes over, with a newer term.
    zf_hello_t takeover = {2, "registry"};
    zf_broker_hello (fx->broker, "r2", 2, &takeover);
    assert_int_equal (fx->hello_count, 2);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 2);
    assert_string_equal (fx->jobs[1].task, "y");
    assert_int_equal (fx->jobs[1].epoch, 2);
    //  A repeat after a lost worker goes out under the new term too.
    s_ready (fx, "b", 1, "shell", NULL);
    zf_broker_worker_gone (fx->broker, "a", 1, "test");
    assert_int_equal (fx->job_count, 3);
    assert_string_equal (fx->jobs[2].worker, "b");
    assert_int_equal (fx->jobs[2].attempt, 2);
    assert_int_equal (fx->jobs[2].epoch, 2);
}

//  Only a registry's HELLO that the broker takes moves the fence: not one it
//  refuses (too many clients, a term past ZF_MAX_EPOCH), and never orders.
static void
test_fence_only_by_hello (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 4, "shell", NULL);
    zf_hello_t hello = {3, "registry"};
    zf_broker_hello (fx->broker, "reg", 3, &hello);
    assert_int_equal (fx->hello_count, 1);
    //  A term past ZF_MAX_EPOCH is no registry's.
    zf_hello_t wild = {UINT64_MAX, "wild"};
    zf_broker_hello (fx->broker, "wild", 4, &wild);
    assert_int_equal (fx->hello_count, 1);
    assert_int_equal (fx->refused[fx->refused_count - 1], ZF_REFUSE_BAD_REQUEST);
    //  Orders from a term no registry said HELLO with pass neither.
    zf_order_t order = s_order ("t", 0);
    zf_dispatch_t ahead = {4, &order, 1};
    zf_broker_dispatch (fx->broker, "rogue", 5, "shell", &ahead);
    assert_int_equal (fx->job_count, 0);
    assert_int_equal (fx->refused[fx->refused_count - 1], ZF_REFUSE_BAD_REQUEST);
    //  The client table fills up; a HELLO that finds no room is refused and
    //  its term, however high, moves nothing.
    char id[16];
    size_t refused = fx->refused_count;
    for (int i = 0; fx->refused_count == refused; i++) {
        assert_true (i < 2000);
        snprintf (id, sizeof id, "c%d", i);
        zf_hello_t filler = {3, id};
        zf_broker_hello (fx->broker, id, strlen (id), &filler);
    }
    assert_int_equal (fx->refused[fx->refused_count - 1], ZF_REFUSE_OVERLOADED);
    zf_hello_t late = {ZF_MAX_EPOCH, "late"};
    zf_broker_hello (fx->broker, "late", 4, &late);
    assert_int_equal (fx->refused[fx->refused_count - 1], ZF_REFUSE_OVERLOADED);
    assert_int_equal (s_stats (fx).fenced, 2);
    //  The registry's orders at its term still run.
    zf_dispatch_t current = {3, &order, 1};
    zf_broker_dispatch (fx->broker, "reg", 3, "shell", &current);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (fx->jobs[0].epoch, 3);
}

//  Clients silent past liveness are forgotten: the table empties of them,
//  anonymous ones' work is cancelled and their results dropped, and a named
//  one finds everything it holds when it says HELLO again.
static void
test_quiet_clients_forgotten (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 2, "shell", NULL);
    zf_hello_t hello = {1, "registry"};
    zf_broker_hello (fx->broker, "r1", 2, &hello);
    zf_order_t orders[2] = {s_order ("x", 0), s_order ("y", 0)};
    zf_dispatch_t dispatch = {1, orders, 2};
    zf_broker_dispatch (fx->broker, "r1", 2, "shell", &dispatch);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, 1);
    //  An anonymous client whose order runs, and anonymous clients whose
    //  orders wait for a service no worker offers, until the table is full.
    zf_order_t mine = s_order ("mine", 0);
    zf_dispatch_t anonymous = {1, &mine, 1};
    zf_broker_dispatch (fx->broker, "anon", 4, "shell", &anonymous);
    assert_int_equal (fx->job_count, 3);
    char id[16], task[16];
    size_t refused = fx->refused_count;
    int clients = 0;
    for (; fx->refused_count == refused; clients++) {
        assert_true (clients < 2000);
        snprintf (id, sizeof id, "q%d", clients);
        snprintf (task, sizeof task, "t%d", clients);
        zf_order_t waiting = s_order (task, 0);
        zf_dispatch_t one = {1, &waiting, 1};
        zf_broker_dispatch (fx->broker, id, strlen (id), "settle", &one);
    }
    assert_int_equal (fx->refused[fx->refused_count - 1], ZF_REFUSE_OVERLOADED);
    assert_int_equal (clients - 1 + 2, 1024);
    //  Nobody says anything for longer than liveness; the worker does.
    for (int step = 0; step < 4; step++) {
        zf_clock_advance (fx->clock, 1000);
        zf_broker_worker_heartbeat (fx->broker, "a", 1);
        zf_broker_tick (fx->broker);
    }
    assert_int_equal (s_stats (fx).forgotten, 1024);
    //  The running anonymous shard is cancelled; its result reaches nobody.
    assert_int_equal (fx->cancel_count, 1);
    size_t results = fx->result_count;
    s_report (fx, 2, ZF_JOB_CANCELLED);
    assert_int_equal (fx->result_count, results);
    //  Each waiting order ended cancelled, and so did the running one.
    assert_int_equal (s_stats (fx).unclaimed, (clients - 1) + 1);
    //  The registry's shard ends while it is away: held, not sent.
    s_report (fx, 1, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, results);
    assert_int_equal (s_stats (fx).held, 2);
    //  There is room again.
    zf_order_t later = s_order ("later", 0);
    zf_dispatch_t fresh = {1, &later, 1};
    zf_broker_dispatch (fx->broker, "new", 3, "shell", &fresh);
    assert_int_equal (fx->refused_count, refused + 1);
    assert_int_equal (fx->job_count, 4);
    //  The registry comes back under a new identity: both its results.
    zf_broker_hello (fx->broker, "r2", 2, &hello);
    assert_int_equal (fx->hello_count, 2);
    assert_int_equal (fx->hello_inflight, 2);
    assert_int_equal (fx->result_count, results + 2);
    assert_string_equal (fx->results[results].identity, "r2");
    assert_string_equal (fx->results[results + 1].identity, "r2");
}

//  A named client silent past liveness that holds nothing is simply gone;
//  heartbeats and requests keep a client alive.
static void
test_live_clients_kept (void **state)
{
    s_fixture_t *fx = *state;
    zf_hello_t beating = {1, "beating"}, idle = {1, "idle"};
    zf_broker_hello (fx->broker, "b", 1, &beating);
    zf_broker_hello (fx->broker, "i", 1, &idle);
    for (int step = 0; step < 10; step++) {
        zf_clock_advance (fx->clock, 1000);
        zf_broker_client_heartbeat (fx->broker, "b", 1);
        zf_broker_tick (fx->broker);
    }
    assert_int_equal (s_stats (fx).forgotten, 1);
    //  Heartbeats go to the live one only.
    size_t beats = fx->client_heartbeats;
    zf_clock_advance (fx->clock, 1000);
    zf_broker_client_heartbeat (fx->broker, "b", 1);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->client_heartbeats, beats + 1);
}

//  A named client that was only slow (silent past liveness, then speaking
//  again from the same identity) is back, and gets what was held meanwhile.
static void
test_away_client_back (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    zf_hello_t hello = {1, "registry"};
    zf_broker_hello (fx->broker, "r1", 2, &hello);
    zf_order_t order = s_order ("slow", 0);
    zf_dispatch_t dispatch = {1, &order, 1};
    zf_broker_dispatch (fx->broker, "r1", 2, "shell", &dispatch);
    for (int step = 0; step < 4; step++) {
        zf_clock_advance (fx->clock, 1000);
        zf_broker_worker_heartbeat (fx->broker, "a", 1);
        zf_broker_tick (fx->broker);
    }
    assert_int_equal (s_stats (fx).forgotten, 1);
    size_t beats = fx->client_heartbeats;
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, 0);
    zf_clock_advance (fx->clock, 1000);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->client_heartbeats, beats);
    //  It speaks: the result comes, and heartbeats again.
    zf_broker_client_heartbeat (fx->broker, "r1", 2);
    assert_int_equal (fx->result_count, 1);
    assert_string_equal (fx->results[0].identity, "r1");
    assert_true (fx->results[0].final);
    zf_clock_advance (fx->clock, 1000);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->client_heartbeats, beats + 1);
    assert_int_equal (s_stats (fx).forgotten, 1);
}

static void
test_no_worker_wait (void **state)
{
    s_fixture_t *fx = *state;
    zf_order_t bounded = s_order ("bounded", 0);
    bounded.wait_ms = 2000;
    bounded.command = NULL;
    zf_order_t patient = s_order ("patient", 0);
    patient.command = NULL;
    zf_order_t orders[2] = {bounded, patient};
    s_dispatch (fx, "settle", orders, 2);
    //  The broker's deadline is the end of the bounded wait, 2 s from now.
    assert_int_equal (zf_broker_next_deadline (fx->broker), 2000 * 1000);
    zf_clock_advance (fx->clock, 1999);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->result_count, 0);
    zf_clock_advance (fx->clock, 1);
    zf_broker_expire (fx->broker);
    //  The bounded one fails with NO_WORKER; the other waits on, with no
    //  deadline.
    assert_int_equal (fx->result_count, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    assert_string_equal (fx->results[0].task, "bounded");
    assert_int_equal (fx->results[0].status, ZF_JOB_NO_WORKER);
    assert_true (fx->results[0].final);
    assert_int_equal (fx->refused_count, 1);
    assert_int_equal (fx->refused[0], ZF_REFUSE_NO_WORKER);
    zf_clock_advance (fx->clock, 3600 * 1000);
    zf_broker_client_heartbeat (fx->broker, "reg", 3);
    zf_broker_tick (fx->broker);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->result_count, 1);
    //  A worker offering the service arrives and takes it.
    s_ready (fx, "settler", 2, "settle", "noop", NULL);
    assert_int_equal (fx->job_count, 1);
    assert_string_equal (fx->jobs[0].task, "patient");
    assert_string_equal (fx->jobs[0].service, "settle");
}

//  An order queued behind busy workers does not wait for a worker; it does
//  once the service's last worker is gone, from when it was sent.
static void
test_no_worker_after_last_left (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "settle", NULL);
    zf_order_t orders[2] = {s_order ("first", 0), s_order ("second", 0)};
    orders[1].wait_ms = 2000;
    s_dispatch (fx, "settle", orders, 2);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    zf_clock_advance (fx->clock, 3000);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->result_count, 0);
    //  The worker leaves: the second has waited longer than it allowed; the
    //  first, requeued, waits for ever.
    zf_broker_worker_gone (fx->broker, "a", 1, NULL);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 2000 * 1000);
    zf_broker_expire (fx->broker);
    s_result_t *last = &fx->results[fx->result_count - 1];
    assert_string_equal (last->task, "second");
    assert_int_equal (last->status, ZF_JOB_NO_WORKER);
    assert_int_equal (fx->refused_count, 1);
    assert_int_equal (s_stats (fx).inflight, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

//  Runs an order of the given keys to the end and records where each key ran.
static void
s_run_keyed (s_fixture_t *fx, const char *task, zf_date_t date, const char *const *keys,
             uint32_t count, char where[][S_TEXT])
{
    zf_order_t order = s_order (task, count);
    order.date = date;
    order.shard_keys = keys;
    size_t first = fx->job_count;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count - first, count);
    for (size_t i = first; i < fx->job_count; i++) {
        strcpy (where[fx->jobs[i].shard], fx->jobs[i].worker);
        assert_string_equal (fx->jobs[i].shard_key, keys[fx->jobs[i].shard]);
    }
    for (size_t i = first; i < first + count; i++)
        s_report (fx, i, ZF_JOB_SUCCEEDED);
}

static void
test_locality (void **state)
{
    s_fixture_t *fx = *state;
    const char *names[] = {"exec-1", "exec-2", "exec-3", "exec-4"};
    for (int i = 0; i < 4; i++)
        s_ready (fx, names[i], 8, "shell", NULL);
    const char *keys[8] = {"bonds", "fx", "equities", "repo", "swaps", "loans", "cash", "gold"};
    char first[8][S_TEXT], second[8][S_TEXT], third[8][S_TEXT];
    s_run_keyed (fx, "accrue", 20000, keys, 8, first);
    //  Another task on another date: every key lands where it did.
    s_run_keyed (fx, "settle", 20001, keys, 8, second);
    for (int i = 0; i < 8; i++)
        assert_string_equal (first[i], second[i]);
    //  The keys are not all on one executor.
    int distinct = 0;
    for (int i = 0; i < 4; i++) {
        bool used = false;
        for (int k = 0; k < 8; k++)
            used = used || strcmp (first[k], names[i]) == 0;
        distinct += used;
    }
    assert_true (distinct >= 2);
    //  One executor leaves: only its keys move.
    const char *gone = first[0];
    char gone_name[S_TEXT];
    strcpy (gone_name, gone);
    zf_broker_worker_gone (fx->broker, gone_name, strlen (gone_name), "test");
    s_run_keyed (fx, "report", 20002, keys, 8, third);
    for (int i = 0; i < 8; i++) {
        if (strcmp (first[i], gone_name) == 0)
            assert_string_not_equal (third[i], gone_name);
        else
            assert_string_equal (third[i], first[i]);
    }
}

static void
test_locality_wait (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    s_ready (fx, "b", 1, "shell", NULL);
    const char *key[] = {"bonds"};
    zf_order_t first = s_order ("first", 1);
    first.shard_keys = key;
    s_dispatch (fx, "shell", &first, 1);
    char home[S_TEXT];
    strcpy (home, fx->jobs[0].worker);
    //  The same key again while its worker is full: it waits for it, and
    //  the idle worker does not take it yet.
    zf_order_t second = s_order ("second", 1);
    second.shard_keys = key;
    s_dispatch (fx, "shell", &second, 1);
    assert_int_equal (fx->job_count, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 1000 * 1000);
    zf_clock_advance (fx->clock, 999);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 1);
    //  At the end of the locality wait it goes to the other worker.
    zf_clock_advance (fx->clock, 1);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    assert_string_not_equal (fx->jobs[1].worker, home);
    //  Within the wait, its own worker coming free takes it.
    zf_order_t third = s_order ("third", 1);
    third.shard_keys = key;
    s_dispatch (fx, "shell", &third, 1);
    assert_int_equal (fx->job_count, 2);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 3);
    assert_string_equal (fx->jobs[2].worker, home);
}

//  A requeued keyed shard goes to the front of its worker's local queue with
//  a fresh wait, hiding one whose wait ends sooner; once it leaves, the
//  deadline is the hidden one's again.
static void
test_locality_uncovered (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    s_ready (fx, "b", 1, "shell", NULL);
    s_ready (fx, "c", 1, "shell", NULL);
    const char *key[] = {"bonds"};
    zf_order_t orders[3] = {s_order ("one", 1), s_order ("two", 1), s_order ("three", 1)};
    for (int i = 0; i < 3; i++)
        orders[i].shard_keys = key;
    //  One runs on the key's worker; two waits for it, then goes elsewhere.
    s_dispatch (fx, "shell", &orders[0], 1);
    char home[S_TEXT], away[S_TEXT];
    strcpy (home, fx->jobs[0].worker);
    s_dispatch (fx, "shell", &orders[1], 1);
    zf_clock_advance (fx->clock, 1000);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 2);
    strcpy (away, fx->jobs[1].worker);
    //  Three waits for home until 2000 ms; two's worker dies at 1500 ms and
    //  two goes first in line, waiting until 2500 ms.
    s_dispatch (fx, "shell", &orders[2], 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 2000 * 1000);
    zf_clock_advance (fx->clock, 500);
    zf_broker_worker_gone (fx->broker, away, strlen (away), "test");
    assert_int_equal (fx->job_count, 2);
    zf_clock_advance (fx->clock, 500);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 2);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 2500 * 1000);
    //  Home comes free and takes two: three is past its wait, and the
    //  deadline says so.
    zf_clock_advance (fx->clock, 100);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 3);
    assert_string_equal (fx->jobs[2].task, "two");
    assert_string_equal (fx->jobs[2].worker, home);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 2000 * 1000);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 4);
    assert_string_equal (fx->jobs[3].task, "three");
    assert_string_not_equal (fx->jobs[3].worker, home);
    assert_string_not_equal (fx->jobs[3].worker, away);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

//  Four workers of one slot, a to d, and a speculative order of three
//  shards sent to three of them.
static void
s_speculative_order (s_fixture_t *fx)
{
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        s_ready (fx, names[i], 1, "shell", NULL);
    zf_order_t order = s_order ("settle", 3);
    order.speculative = true;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 3);
}

static void
test_speculative (void **state)
{
    s_fixture_t *fx = *state;
    const char *names[] = {"a", "b", "c", "d"};
    s_speculative_order (fx);
    for (size_t i = 0; i < 3; i++)
        s_report (fx, i, ZF_JOB_RUNNING);
    //  The client hears each shard start.
    assert_int_equal (fx->result_count, 3);
    assert_int_equal (fx->results[0].status, ZF_JOB_RUNNING);
    //  Two shards finish after a second.
    zf_clock_advance (fx->clock, 1000);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    s_report (fx, 1, ZF_JOB_SUCCEEDED);
    //  3 x 1 s is under the 10 s minimum: at 9 s nothing happens.
    for (int step = 0; step < 9; step++) {
        zf_clock_advance (fx->clock, 1000);
        for (int i = 0; i < 4; i++)
            zf_broker_worker_heartbeat (fx->broker, names[i], 1);
        zf_broker_client_heartbeat (fx->broker, "reg", 3);
        zf_broker_tick (fx->broker);
        zf_broker_expire (fx->broker);
        if (step < 8) assert_int_equal (fx->job_count, 3);
    }
    //  At 10 s past its start (and a bit) the straggler gets a copy elsewhere.
    zf_clock_advance (fx->clock, 500);
    zf_broker_client_heartbeat (fx->broker, "reg", 3);
    zf_broker_tick (fx->broker);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 4);
    assert_int_equal (fx->jobs[3].copy, 1);
    assert_int_equal (fx->jobs[3].shard, fx->jobs[2].shard);
    assert_int_equal (fx->jobs[3].attempt, fx->jobs[2].attempt);
    assert_string_not_equal (fx->jobs[3].worker, fx->jobs[2].worker);
    assert_int_equal (s_events (fx, ZF_DE_SPECULATIVE), 1);
    //  Only one copy per shard, and nothing left to wait for.
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    for (int step = 0; step < 5; step++) {
        zf_clock_advance (fx->clock, 1000);
        for (int i = 0; i < 4; i++)
            zf_broker_worker_heartbeat (fx->broker, names[i], 1);
        zf_broker_client_heartbeat (fx->broker, "reg", 3);
        zf_broker_tick (fx->broker);
        zf_broker_expire (fx->broker);
    }
    assert_int_equal (fx->job_count, 4);
    //  The copy wins; the original is cancelled.
    s_report (fx, 3, ZF_JOB_RUNNING);
    s_report (fx, 3, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->cancel_count, 1);
    assert_true (fx->cancels[0] == fx->jobs[2].job_id);
    s_result_t *win = NULL;
    for (size_t i = 0; i < fx->result_count; i++)
        if (fx->results[i].status == ZF_JOB_SUCCEEDED && fx->results[i].shard == fx->jobs[2].shard)
            win = &fx->results[i];
    assert_non_null (win);
    assert_int_equal (win->copy, 1);
    assert_true (win->winner);
    assert_string_equal (win->executor, fx->jobs[3].worker);
    s_result_t *final = &fx->results[fx->result_count - 1];
    assert_true (final->final);
    assert_int_equal (final->status, ZF_JOB_SUCCEEDED);
    //  The loser's last word frees its slot and adds no result.
    size_t results = fx->result_count;
    assert_int_equal (s_report (fx, 2, ZF_JOB_CANCELLED), 0);
    assert_int_equal (fx->result_count, results);
    assert_int_equal (s_stats (fx).inflight, 0);
    assert_int_equal (zf_disp_worker_load (zf_broker_worker (fx->broker, fx->jobs[2].worker)), 0);
    assert_int_equal (s_stats (fx).speculative, 1);
}

static void
test_not_speculative (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 2, "shell", NULL);
    s_ready (fx, "b", 2, "shell", NULL);
    zf_order_t order = s_order ("plain", 3);
    s_dispatch (fx, "shell", &order, 1);
    for (size_t i = 0; i < 3; i++)
        s_report (fx, i, ZF_JOB_RUNNING);
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    //  Nothing speculative: nothing for the actor to arm.
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    for (int step = 0; step < 60; step++) {
        zf_clock_advance (fx->clock, 1000);
        zf_broker_worker_heartbeat (fx->broker, "a", 1);
        zf_broker_worker_heartbeat (fx->broker, "b", 1);
        zf_broker_client_heartbeat (fx->broker, "reg", 3);
        zf_broker_tick (fx->broker);
        zf_broker_expire (fx->broker);
    }
    assert_int_equal (fx->cancel_count, 0);
    assert_int_equal (fx->job_count, 3);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

//  Index of the job that runs the shard, copy 0.
static size_t
s_job_of (s_fixture_t *fx, int32_t shard)
{
    for (size_t i = 0; i < fx->job_count; i++)
        if (fx->jobs[i].shard == shard && fx->jobs[i].copy == 0) return i;
    fail_msg ("no job for shard %d", shard);
    return 0;
}

//  A speculative order of three shards, all running on their own workers
//  from time 0 (workers a, b, c; d idle), with shards 0 and 1 done after
//  1000 and 1500 ms. The threshold is then 3 x the median 1250 ms = 3750 ms.
static void
s_straggling (s_fixture_t *fx)
{
    fx->cfg.straggler_min_ms = 2000;
    s_start (fx);
    s_speculative_order (fx);
    //  Nothing runs yet, then nothing has finished: no deadline.
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    for (size_t i = 0; i < 3; i++)
        s_report (fx, i, ZF_JOB_RUNNING);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    //  The first sibling ends: 3 x 1000 ms is over the 2 s minimum, so a
    //  shard is a straggler once it has run more than 3000 ms, at 3001 ms.
    zf_clock_advance (fx->clock, 1000);
    s_report (fx, s_job_of (fx, 0), ZF_JOB_SUCCEEDED);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 3001 * 1000);
    //  The second moves the median to 1250 ms, and the deadline with it.
    zf_clock_advance (fx->clock, 500);
    s_report (fx, s_job_of (fx, 1), ZF_JOB_SUCCEEDED);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 3751 * 1000);
}

//  The order is over: its FINAL went out last, nothing is in flight, and
//  no deadline is left behind.
static void
s_assert_over (s_fixture_t *fx)
{
    assert_true (fx->results[fx->result_count - 1].final);
    assert_int_equal (s_stats (fx).inflight, 0);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

//  The copy is made at the very moment the shard becomes a straggler, and
//  the deadline the actor must arm is that moment.
static void
test_straggler_deadline (void **state)
{
    s_fixture_t *fx = *state;
    s_straggling (fx);
    size_t slow = s_job_of (fx, 2);
    //  One millisecond before: nothing, and the deadline stays.
    zf_clock_advance (fx->clock, 3750 - 1500);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 3);
    assert_int_equal (zf_broker_next_deadline (fx->broker), 3751 * 1000);
    //  At the moment: the copy, on a worker without a shard of the order.
    zf_clock_advance (fx->clock, 1);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 4);
    assert_int_equal (fx->jobs[3].copy, 1);
    assert_int_equal (fx->jobs[3].shard, 2);
    assert_string_not_equal (fx->jobs[3].worker, fx->jobs[slow].worker);
    assert_int_equal (s_stats (fx).speculative, 1);
    //  One copy per shard: nothing is left to wait for.
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    //  The order ends; still nothing.
    s_report (fx, slow, ZF_JOB_SUCCEEDED);
    s_report (fx, 3, ZF_JOB_CANCELLED);
    s_assert_over (fx);
}

//  A shard that ends before its deadline takes the deadline with it.
static void
test_straggler_finishes_first (void **state)
{
    s_fixture_t *fx = *state;
    s_straggling (fx);
    zf_clock_advance (fx->clock, 2000);
    s_report (fx, s_job_of (fx, 2), ZF_JOB_SUCCEEDED);
    s_assert_over (fx);
    zf_clock_advance (fx->clock, 60 * 1000);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 3);
}

//  A cancelled order leaves no deadline behind.
static void
test_straggler_cancelled (void **state)
{
    s_fixture_t *fx = *state;
    s_straggling (fx);
    zf_cancel_t cancel = {.flow = "eod", .date = 20000, .task = "settle", .shard = ZF_SHARD_WHOLE};
    zf_broker_cancel (fx->broker, "reg", 3, &cancel);
    assert_int_equal (fx->cancel_count, 1);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    zf_clock_advance (fx->clock, 60 * 1000);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 3);
    s_report (fx, s_job_of (fx, 2), ZF_JOB_CANCELLED);
    s_assert_over (fx);
}

//  A straggler whose worker dies is requeued: no deadline until its next
//  attempt runs, and then one from that start.
static void
test_straggler_worker_lost (void **state)
{
    s_fixture_t *fx = *state;
    s_straggling (fx);
    size_t slow = s_job_of (fx, 2);
    char worker[S_TEXT];
    strcpy (worker, fx->jobs[slow].worker);
    zf_broker_worker_gone (fx->broker, worker, strlen (worker), "test");
    assert_int_equal (s_stats (fx).requeued, 1);
    assert_int_equal (fx->job_count, 4);
    assert_int_equal (fx->jobs[3].attempt, 2);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    //  The next attempt starts at 2000 ms: a straggler from 5751 ms.
    zf_clock_advance (fx->clock, 500);
    s_report (fx, 3, ZF_JOB_RUNNING);
    assert_int_equal (zf_broker_next_deadline (fx->broker), (2000 + 3751) * 1000);
    zf_clock_advance (fx->clock, 3750);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 4);
    zf_clock_advance (fx->clock, 1);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 5);
    assert_int_equal (fx->jobs[4].copy, 1);
    assert_int_equal (fx->jobs[4].attempt, 2);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

//  A straggler that finds no worker with room gets its copy as soon as one
//  has room, without waiting for a deadline; meanwhile none is armed.
static void
test_straggler_waits_for_room (void **state)
{
    s_fixture_t *fx = *state;
    s_straggling (fx);
    //  Every worker other than the straggler's is busy.
    zf_order_t fillers[3] = {s_order ("f1", 0), s_order ("f2", 0), s_order ("f3", 0)};
    s_dispatch (fx, "shell", fillers, 3);
    assert_int_equal (fx->job_count, 6);
    zf_clock_advance (fx->clock, 3751 - 1500);
    zf_broker_expire (fx->broker);
    assert_int_equal (fx->job_count, 6);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
    //  A filler ends: its worker takes the copy at once.
    zf_clock_advance (fx->clock, 10);
    s_report (fx, 4, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 7);
    assert_int_equal (fx->jobs[6].copy, 1);
    assert_int_equal (fx->jobs[6].shard, 2);
    assert_string_equal (fx->jobs[6].worker, fx->jobs[4].worker);
    assert_int_equal (zf_broker_next_deadline (fx->broker), -1);
}

static void
test_cancel (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 1, "shell", NULL);
    zf_order_t order = s_order ("long", 2);
    s_dispatch (fx, "shell", &order, 1);
    //  Shard 0 runs, shard 1 waits.
    assert_int_equal (fx->job_count, 1);
    zf_cancel_t cancel = {.flow = "eod", .date = 20000, .task = "long", .shard = ZF_SHARD_WHOLE};
    zf_broker_cancel (fx->broker, "reg", 3, &cancel);
    //  The queued shard is cancelled at once; the running one gets a cancel.
    assert_int_equal (fx->cancel_count, 1);
    assert_int_equal (fx->result_count, 1);
    assert_int_equal (fx->results[0].status, ZF_JOB_CANCELLED);
    assert_int_equal (fx->results[0].shard, 1);
    assert_false (fx->results[0].final);
    s_report (fx, 0, ZF_JOB_CANCELLED);
    assert_int_equal (fx->result_count, 2);
    assert_int_equal (fx->results[1].status, ZF_JOB_CANCELLED);
    assert_int_equal (fx->results[1].shard, 0);
    assert_true (fx->results[1].final);
    assert_int_equal (s_stats (fx).inflight, 0);
    //  A cancel for another date touches nothing.
    zf_order_t next = s_order ("short", 0);
    s_dispatch (fx, "shell", &next, 1);
    assert_int_equal (fx->job_count, 2);
    cancel.date = 20001;
    cancel.task = NULL;
    zf_broker_cancel (fx->broker, "reg", 3, &cancel);
    assert_int_equal (fx->cancel_count, 1);
}

static void
test_bad_workers (void **state)
{
    s_fixture_t *fx = *state;
    //  Slots out of range: refused and told to disconnect.
    assert_int_equal (s_ready (fx, "zero", 0, "shell", NULL), -1);
    assert_int_equal (fx->disconnect_count, 1);
    assert_int_equal (s_ready (fx, "none", 1, NULL), -1);
    assert_int_equal (fx->disconnect_count, 2);
    //  Unknown workers sending heartbeats are told to start over.
    assert_int_equal (zf_broker_worker_heartbeat (fx->broker, "who", 3), -1);
    assert_int_equal (fx->disconnect_count, 3);
    //  A worker dropped for bad input has its work requeued elsewhere.
    s_ready (fx, "bad", 1, "shell", NULL);
    s_ready (fx, "good", 1, "shell", NULL);
    zf_order_t orders[2] = {s_order ("p", 0), s_order ("q", 0)};
    s_dispatch (fx, "shell", orders, 2);
    int on_bad = strcmp (fx->jobs[0].worker, "bad") == 0 ? 0 : 1;
    zf_broker_worker_gone (fx->broker, "bad", 3, "malformed message");
    assert_null (zf_broker_worker (fx->broker, "bad"));
    assert_non_null (zf_broker_worker (fx->broker, "good"));
    s_report (fx, (size_t)(1 - on_bad), ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->job_count, 3);
    assert_string_equal (fx->jobs[2].worker, "good");
    assert_int_equal (fx->jobs[2].attempt, 2);
    //  A restarted executor with the same name replaces the old one.
    zf_worker_ready_t ready = {"good", 99, 1, (const char *[]){"shell"}, 1};
    assert_int_equal (zf_broker_worker_ready (fx->broker, "good2", 5, &ready), 0);
    assert_int_equal (fx->job_count, 4);
    assert_string_equal (fx->jobs[3].worker, "good");
    assert_int_equal (fx->jobs[3].attempt, 3);
}

static void
test_backlog_and_heartbeats (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.backlog = 3;
    s_start (fx);
    s_ready (fx, "a", 1, "shell", NULL);
    s_ready (fx, "b", 1, "shell", NULL);
    zf_order_t wide = s_order ("wide", 4);
    s_dispatch (fx, "shell", &wide, 1);
    assert_int_equal (fx->refused_count, 1);
    assert_int_equal (fx->refused[0], ZF_REFUSE_OVERLOADED);
    assert_int_equal (fx->job_count, 0);
    zf_order_t narrow = s_order ("narrow", 3);
    s_dispatch (fx, "shell", &narrow, 1);
    assert_int_equal (fx->job_count, 2);
    //  Heartbeats go out once per interval to each worker.
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->heartbeats, 0);
    zf_clock_advance (fx->clock, 1000);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->heartbeats, 2);
    zf_broker_tick (fx->broker);
    assert_int_equal (fx->heartbeats, 2);
    //  A config without an interval is refused.
    zf_broker_config_t bad = fx->cfg;
    bad.heartbeat_ms = 0;
    assert_null (zf_broker_new (&bad, fx->clock, &s_ops, fx));
}

//  A failed shard is reported, and runs again alone at its next attempt.
static void
test_failed_shard_retried_alone (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx, "a", 4, "shell", NULL);
    zf_order_t order = s_order ("accrue", 4);
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 4);
    for (size_t i = 0; i < 4; i++)
        s_report (fx, i, fx->jobs[i].shard == 2 ? ZF_JOB_FAILED : ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->result_count, 4);
    size_t failed = 0;
    for (size_t i = 0; i < 4; i++)
        if (fx->results[i].status == ZF_JOB_FAILED) {
            assert_int_equal (fx->results[i].shard, 2);
            failed++;
        }
    assert_int_equal (failed, 1);
    assert_true (fx->results[3].final);
    //  The retry names shard 2 at attempt 2 only.
    zf_shard_run_t runs[] = {{2, 2}};
    order.shard_runs = runs;
    order.shard_run_count = 1;
    s_dispatch (fx, "shell", &order, 1);
    assert_int_equal (fx->job_count, 5);
    assert_int_equal (fx->jobs[4].shard, 2);
    assert_int_equal (fx->jobs[4].attempt, 2);
    s_report (fx, 4, ZF_JOB_SUCCEEDED);
    assert_int_equal (fx->results[4].status, ZF_JOB_SUCCEEDED);
    assert_true (fx->results[4].final);
}

//  Quick jobs may queue up at a worker beyond its slots; slow ones may not.
static void
test_prefetch_follows_duration (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.prefetch = 8;
    s_start (fx);
    s_ready (fx, "a", 1, "shell", NULL);
    zf_order_t orders[16];
    char names[16][8];
    for (int i = 0; i < 16; i++) {
        snprintf (names[i], sizeof names[i], "q%d", i);
        orders[i] = s_order (names[i], 0);
    }
    //  Nothing measured yet: one slot and one beyond it.
    s_dispatch (fx, "shell", orders, 1);
    s_dispatch (fx, "shell", orders + 1, 1);
    s_dispatch (fx, "shell", orders + 2, 1);
    assert_int_equal (fx->job_count, 2);
    //  Jobs that come back at once: the full prefetch.
    s_report (fx, 0, ZF_JOB_SUCCEEDED);
    s_dispatch (fx, "shell", orders + 3, 13);
    assert_int_equal (fx->job_count, 1 + 1 + 8);
    //  Jobs that take seconds: back to one beyond the slot. The worker holds
    //  nine; no new one goes until it is down to one.
    for (size_t i = 1; i <= 8; i++) {
        zf_clock_advance (fx->clock, 2000);
        zf_broker_worker_heartbeat (fx->broker, "a", 1);
        zf_broker_client_heartbeat (fx->broker, "reg", 3);
        s_report (fx, i, ZF_JOB_SUCCEEDED);
        if (i < 8) assert_int_equal (fx->job_count, 10);
    }
    assert_int_equal (fx->job_count, 11);
    assert_int_equal (zf_disp_worker_load (zf_broker_worker (fx->broker, "a")), 2);
    assert_int_equal (s_stats (fx).queued, 5);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_least_loaded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_different_executors_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pool_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lost_worker_requeue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_requeued_shard_waits_out_the_repeat_hold, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_young_broker_holds_repeats_back, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_results_held_until_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_duplicates_harmless, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_attempt_that_ran_is_not_run_again, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_epoch_fence, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_new_term_adopts_orders, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fence_only_by_hello, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quiet_clients_forgotten, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_live_clients_kept, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_away_client_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_worker_wait, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_worker_after_last_left, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_locality, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_locality_wait, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_locality_uncovered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_speculative, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_not_speculative, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_straggler_deadline, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_straggler_finishes_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_straggler_cancelled, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_straggler_worker_lost, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_straggler_waits_for_room, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cancel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_workers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_backlog_and_heartbeats, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prefetch_follows_duration, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_shard_retried_alone, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
