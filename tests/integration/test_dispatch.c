/*  Integration tests of the dispatcher and executors as real processes on
    127.0.0.1: many subtasks complete once, a killed executor's shards finish
    elsewhere with none of its processes left, timeouts, speculative copies,
    locality, a worker speaking garbage, pools, monitoring events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "zf_dclient.h"
#include "zf_proc.h"
#include "zf_dispevent.h"
#include "zf_mdp.h"

#define S_EXECUTORS 4
#define S_FLOW      "eod"
#define S_DATE      20416
#define S_NAME      (ZF_MAX_NAME + 1)

typedef struct {
    char dir[64];                 //  temporary folder: logs, markers
    char endpoint[64];            //  the dispatcher's ROUTER
    char events[64];              //  its PUB
    pid_t dispatcher;             //  its process
    pid_t executors[S_EXECUTORS]; //  their processes
    char names[S_EXECUTORS][32];  //  their names
    size_t executor_count;        //  executors started
    zf_dclient_t *client;         //  the registry's side
    int probes;                   //  probe orders sent
} s_fixture_t;

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    strcpy (fx->dir, "/tmp/zf-dispatch-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_dclient_destroy (&fx->client);
    for (size_t i = 0; i < fx->executor_count; i++)
        zf_proc_stop (fx->executors[i], 3000);
    zf_proc_stop (fx->dispatcher, 3000);
    zf_proc_reap ();
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (cmd), 0);
    free (fx);
    return 0;
}

//  A path inside the test's folder.
static const char *
s_path (s_fixture_t *fx, const char *name, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%s", fx->dir, name);
    return buf;
}

//  An order of the test flow.
static zf_order_t
s_order (s_fixture_t *fx, const char *task, uint32_t shard_count, const char *command)
{
    zf_order_t order = {
        .flow = S_FLOW,
        .date = S_DATE,
        .task = task,
        .version = 1,
        .attempt = 1,
        .shard_count = shard_count,
        .command = command,
        .cwd = fx->dir,
    };
    return order;
}

//  Number of distinct executors among results.
static size_t
s_distinct_executors (const zf_dresult_t *results, size_t count, char seen[][S_NAME])
{
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++) {
        if (results[i].status == ZF_JOB_RUNNING || !results[i].executor[0]) continue;
        bool known = false;
        for (size_t k = 0; k < distinct && !known; k++)
            known = strcmp (seen[k], results[i].executor) == 0;
        if (!known && distinct < S_EXECUTORS + 1)
            snprintf (seen[distinct++], S_NAME, "%s", results[i].executor);
    }
    return distinct;
}

//  Waits until every executor has joined: probe orders with one noop shard
//  per executor go out until the results name them all (shards of one
//  order go to different executors first). Between probes it waits for the
//  next worker_join event, so a probe follows each join.
static void
s_await_executors (s_fixture_t *fx, zsock_t *joins)
{
    for (int round = 0; round < 100; round++) {
        char task[32];
        snprintf (task, sizeof task, "probe-%d", fx->probes++);
        zf_order_t order = s_order (fx, task, (uint32_t)fx->executor_count, NULL);
        zf_dclient_clear (fx->client);
        assert_int_equal (zf_dclient_dispatch (fx->client, "noop", 1, &order, 1), 0);
        zf_dclient_wait (fx->client, fx->executor_count, 5000);
        size_t count;
        const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
        char seen[S_EXECUTORS + 1][S_NAME];
        if (s_distinct_executors (results, count, seen) == fx->executor_count) {
            zf_dclient_clear (fx->client);
            return;
        }
        //  Not all have joined yet: the next join is worth another probe.
        zpoller_t *poller = zpoller_new (joins, NULL);
        if (zpoller_wait (poller, 200)) {
            zmsg_t *msg = zmsg_recv (joins);
            zmsg_destroy (&msg);
        }
        zpoller_destroy (&poller);
    }
    fail_msg ("executors did not all join");
}

//  Starts a dispatcher (with up to two extra arguments) and workers of the
//  given program with slots each, and waits until all of them serve.
static void
s_cluster_of (s_fixture_t *fx, const char *program, size_t executors, const char *slots,
              const char *extra1, const char *extra2)
{
    snprintf (fx->endpoint, sizeof fx->endpoint, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    snprintf (fx->events, sizeof fx->events, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    fx->dispatcher =
        zf_proc_spawn ("zflow-dispatcher", "--bind", fx->endpoint, "--events", fx->events,
                       "--heartbeat", "100ms", "--liveness", "10", extra1, extra2, NULL);
    assert_true (fx->dispatcher > 0);
    fx->client = zf_dclient_new (fx->endpoint, "registry", 1);
    assert_non_null (fx->client);
    assert_true (zf_dclient_wait_hello (fx->client, 10000));
    zsock_t *joins = zsock_new_sub (fx->events, "disp.worker_join");
    assert_non_null (joins);
    char logs[128];
    s_path (fx, "logs", logs, sizeof logs);
    for (size_t i = 0; i < executors; i++) {
        snprintf (fx->names[i], sizeof fx->names[i], "exec-%zu", i + 1);
        if (streq (program, "zflow-executor"))
            fx->executors[i] =
                zf_proc_spawn (program, "--dispatcher", fx->endpoint, "--name", fx->names[i],
                               "--slots", slots, "--log-dir", logs, "--heartbeat", "100ms",
                               "--liveness", "10", "--grace", "500ms", NULL);
        else
            fx->executors[i] =
                zf_proc_spawn (program, "--dispatcher", fx->endpoint, "--name", fx->names[i],
                               "--slots", slots, "--heartbeat", "100ms", "--liveness", "10", NULL);
        assert_true (fx->executors[i] > 0);
        fx->executor_count++;
    }
    s_await_executors (fx, joins);
    zsock_destroy (&joins);
}

//  Starts a dispatcher and executors.
static void
s_cluster (s_fixture_t *fx, size_t executors, const char *slots, const char *extra1,
           const char *extra2)
{
    s_cluster_of (fx, "zflow-executor", executors, slots, extra1, extra2);
}

//  The index of an executor by name, or -1.
static int
s_executor (s_fixture_t *fx, const char *name)
{
    for (size_t i = 0; i < fx->executor_count; i++)
        if (strcmp (fx->names[i], name) == 0) return (int)i;
    return -1;
}

//  Lines in a file, or -1 if it cannot be read.
static int
s_lines (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) return -1;
    int lines = 0, c;
    while ((c = fgetc (file)) != EOF)
        lines += c == '\n';
    fclose (file);
    return lines;
}

static void
test_ten_thousand_subtasks (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, S_EXECUTORS, "2", NULL, NULL);
    //  10,000 no-op shards of one task.
    zf_order_t order = s_order (fx, "wide", 10000, NULL);
    assert_int_equal (zf_dclient_dispatch (fx->client, "noop", 1, &order, 1), 0);
    assert_int_equal (zf_dclient_wait (fx->client, 10000, 60000), 10000);
    size_t count;
    const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
    uint8_t *seen = calloc (10000, 1);
    size_t finals = 0;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (results[i].status, ZF_JOB_SUCCEEDED);
        assert_in_range (results[i].shard, 0, 9999);
        assert_int_equal (seen[results[i].shard], 0);
        seen[results[i].shard] = 1;
        finals += results[i].final;
    }
    //  Each once, and one FINAL: the result that completed the task.
    assert_int_equal (count, 10000);
    assert_int_equal (finals, 1);
    assert_true (results[count - 1].final);
    free (seen);
    char names[S_EXECUTORS + 1][S_NAME];
    assert_int_equal (s_distinct_executors (results, count, names), S_EXECUTORS);

    //  And real processes: 400 shell shards, each appending its index to a
    //  file of its own, which must then hold exactly one line.
    char out[128];
    mkdir (s_path (fx, "out", out, sizeof out), 0755);
    zf_dclient_clear (fx->client);
    zf_order_t shell =
        s_order (fx, "shell-wide", 400, "echo \"$ZFLOW_SHARD_INDEX\" >> out/$ZFLOW_SHARD_INDEX");
    assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &shell, 1), 0);
    assert_int_equal (zf_dclient_wait (fx->client, 400, 60000), 400);
    results = zf_dclient_results (fx->client, &count);
    for (size_t i = 0; i < count; i++)
        if (results[i].status != ZF_JOB_RUNNING)
            assert_int_equal (results[i].status, ZF_JOB_SUCCEEDED);
    for (int i = 0; i < 400; i++) {
        char path[160];
        snprintf (path, sizeof path, "%s/out/%d", fx->dir, i);
        assert_int_equal (s_lines (path), 1);
    }
}

//  Reads "shard shell-pid sleep-pid executor" lines from a file.
typedef struct {
    int shard;
    pid_t shell;
    pid_t sleeper;
    char executor[32];
} s_started_t;

static size_t
s_read_started (const char *path, s_started_t *out, size_t max)
{
    FILE *file = fopen (path, "r");
    if (!file) return 0;
    size_t count = 0;
    while (count < max && fscanf (file, "%d %d %d %31s", &out[count].shard, &out[count].shell,
                                  &out[count].sleeper, out[count].executor) == 4)
        count++;
    fclose (file);
    return count;
}

static void
test_executor_killed (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, S_EXECUTORS, "2", NULL, NULL);
    //  Eight shards, two per executor. At attempt 1 each records its shell
    //  and a background sleep, then holds until the go file appears; a
    //  requeued attempt runs through at once. Rollback leaves a mark.
    const char *command = "if [ \"$ZFLOW_ATTEMPT\" = 1 ]; then "
                          "  sleep 60 & "
                          "  echo \"$ZFLOW_SHARD_INDEX $$ $! $ZFLOW_EXECUTOR\" >> started; "
                          "  while [ ! -e go ]; do sleep 0.05; done; "
                          "fi; echo \"shard $ZFLOW_SHARD_INDEX attempt $ZFLOW_ATTEMPT\"";
    zf_order_t order = s_order (fx, "accrue", 8, command);
    order.rollback = "echo \"$ZFLOW_SHARD_INDEX\" >> rolled-back";
    assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
    //  Wait until all eight have started: their running notices, then their
    //  lines (written just after), with a deadline.
    size_t notices = 0;
    for (int64_t deadline = zclock_mono () + 20000; notices < 8 && zclock_mono () < deadline;) {
        zf_dclient_wait (fx->client, 1, 100);
        size_t total;
        const zf_dresult_t *results = zf_dclient_results (fx->client, &total);
        notices = 0;
        for (size_t i = 0; i < total; i++)
            notices += results[i].status == ZF_JOB_RUNNING;
    }
    assert_int_equal (notices, 8);
    char path[160];
    s_started_t started[16];
    size_t count = 0;
    for (int64_t deadline = zclock_mono () + 10000; count < 8 && zclock_mono () < deadline;) {
        zf_dclient_wait (fx->client, 1, 20);
        count = s_read_started (s_path (fx, "started", path, sizeof path), started, 16);
    }
    assert_int_equal (count, 8);
    //  Kill -9 the executor of shard 0.
    int victim = s_executor (fx, started[0].executor);
    assert_true (victim >= 0);
    kill (fx->executors[victim], SIGKILL);
    assert_true (zf_proc_await_gone (fx->executors[victim], 5000));
    //  None of its processes is left: shells die with it, and the guard
    //  kills what they started.
    size_t its_shards = 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp (started[i].executor, fx->names[victim]) == 0) {
            its_shards++;
            assert_true (zf_proc_await_gone (started[i].shell, 5000));
            assert_true (zf_proc_await_gone (started[i].sleeper, 5000));
        }
    assert_true (its_shards >= 1);
    //  Let the others finish.
    FILE *go = fopen (s_path (fx, "go", path, sizeof path), "w");
    assert_non_null (go);
    fclose (go);
    zf_dclient_wait (fx->client, 8 + its_shards, 30000);
    size_t total;
    const zf_dresult_t *results = zf_dclient_results (fx->client, &total);
    size_t succeeded = 0, lost = 0;
    for (size_t i = 0; i < total; i++) {
        const zf_dresult_t *r = &results[i];
        if (r->status == ZF_JOB_LOST) {
            lost++;
            assert_int_equal (r->attempt, 1);
        }
        if (r->status != ZF_JOB_SUCCEEDED) continue;
        succeeded++;
        assert_string_not_equal (r->executor, fx->names[victim]);
        //  The dead executor's shards ran again at attempt 2, rollback first.
        bool was_victims = false;
        for (size_t k = 0; k < count; k++)
            was_victims = was_victims || (started[k].shard == r->shard &&
                                          strcmp (started[k].executor, fx->names[victim]) == 0);
        assert_int_equal (r->attempt, was_victims ? 2 : 1);
    }
    assert_int_equal (succeeded, 8);
    assert_int_equal (lost, its_shards);
    assert_int_equal (s_lines (s_path (fx, "rolled-back", path, sizeof path)), (int)its_shards);
    fx->executors[victim] = 0;
}

static void
test_hanging_shard_timed_out (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, 1, "2", NULL, NULL);
    zf_order_t order = s_order (fx, "hang", 0, "echo hanging; sleep 60");
    order.timeout_ms = 300;
    int64_t start = zclock_mono ();
    assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
    assert_int_equal (zf_dclient_wait (fx->client, 1, 20000), 1);
    assert_true (zclock_mono () - start < 10000);
    size_t count;
    const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
    const zf_dresult_t *last = &results[count - 1];
    assert_int_equal (last->status, ZF_JOB_TIMED_OUT);
    assert_true (last->final);
    assert_non_null (strstr (last->tail, "hanging"));
    assert_non_null (strstr (last->tail, "timed out"));
}

static void
test_speculative_copy_wins (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, S_EXECUTORS, "2", "--straggler-min", "300ms");
    //  Shard 3's first copy hangs (and says where); every other run is quick.
    const char *command = "if [ \"$ZFLOW_SHARD_INDEX\" = 3 ] && mkdir slow-taken 2>/dev/null; then "
                          "  echo $$ > slow.pid; sleep 60; "
                          "fi; echo \"done by $ZFLOW_EXECUTOR\"";
    zf_order_t order = s_order (fx, "settle", 4, command);
    order.speculative = true;
    assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
    assert_int_equal (zf_dclient_wait (fx->client, 4, 30000), 4);
    size_t count;
    const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
    const zf_dresult_t *shard3 = NULL;
    for (size_t i = 0; i < count; i++)
        if (results[i].status != ZF_JOB_RUNNING) {
            assert_int_equal (results[i].status, ZF_JOB_SUCCEEDED);
            if (results[i].shard == 3) shard3 = &results[i];
        }
    //  The copy won, and the result says so.
    assert_non_null (shard3);
    assert_int_equal (shard3->copy, 1);
    assert_true (shard3->winner);
    //  The losing copy was cancelled: its process is gone.
    char path[160];
    FILE *file = fopen (s_path (fx, "slow.pid", path, sizeof path), "r");
    assert_non_null (file);
    int pid = 0;
    assert_int_equal (fscanf (file, "%d", &pid), 1);
    fclose (file);
    assert_true (zf_proc_await_gone (pid, 5000));
}

static void
test_same_keys_same_executors (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, S_EXECUTORS, "4", NULL, NULL);
    const char *keys[] = {"bonds", "fx", "equities", "repo", "swaps", "loans", "cash", "gold"};
    char first[8][S_NAME], second[8][S_NAME];
    for (int round = 0; round < 2; round++) {
        zf_order_t order = s_order (fx, round ? "report" : "accrue", 8, "echo $ZFLOW_SHARD_KEY");
        order.date = S_DATE + round;
        order.shard_keys = keys;
        zf_dclient_clear (fx->client);
        assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
        assert_int_equal (zf_dclient_wait (fx->client, 8, 30000), 8);
        size_t count;
        const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
        for (size_t i = 0; i < count; i++)
            if (results[i].status == ZF_JOB_SUCCEEDED) {
                snprintf ((round ? second : first)[results[i].shard], S_NAME, "%s",
                          results[i].executor);
                assert_non_null (strstr (results[i].tail, keys[results[i].shard]));
            }
    }
    int distinct = 0;
    for (int i = 0; i < 8; i++) {
        assert_string_equal (first[i], second[i]);
        bool earlier = false;
        for (int k = 0; k < i; k++)
            earlier = earlier || strcmp (first[k], first[i]) == 0;
        distinct += !earlier;
    }
    assert_true (distinct >= 2);
}

//  Sends a worker-protocol message from a raw socket.
static void
s_raw_send (zsock_t *sock, uint8_t command, const char *service, zframe_t *body)
{
    zmsg_t *msg = zf_mdp_worker_new (command, service, NULL, &body);
    assert_non_null (msg);
    assert_int_equal (zmsg_send (&msg, sock), 0);
}

static void
test_garbage_worker_dropped (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, 1, "4", NULL, NULL);
    //  A worker that says READY properly, takes jobs, then speaks garbage.
    zsock_t *rogue = zsock_new_dealer (fx->endpoint);
    assert_non_null (rogue);
    zf_proto_encoder_t *encoder = zf_proto_encoder_new ();
    const char *services[] = {"shell"};
    zf_worker_ready_t ready = {"rogue", 1, 8, services, 1};
    zf_proto_error_t err;
    assert_int_equal (zf_worker_ready_encode (encoder, &ready, &err), 0);
    s_raw_send (rogue, ZF_MDPW_READY, "shell", zf_proto_encoder_frame (encoder));
    //  The first heartbeat from the dispatcher says the rogue is registered;
    //  it answers heartbeats from then on, like a live worker.
    zpoller_t *poller = zpoller_new (rogue, NULL);
    zf_mdp_msg_t mdp;
    bool registered = false, got_jobs = false;
    for (int64_t deadline = zclock_mono () + 10000; !got_jobs && zclock_mono () < deadline;) {
        if (!zpoller_wait (poller, 1000)) continue;
        zmsg_t *msg = zmsg_recv (rogue);
        assert_int_equal (zf_mdp_parse (msg, ZF_MDP_AT_WORKER, &mdp, &err), 0);
        zmsg_destroy (&msg);
        if (mdp.command == ZF_MDPW_HEARTBEAT) {
            s_raw_send (rogue, ZF_MDPW_HEARTBEAT, NULL, NULL);
            if (!registered) {
                //  Enough shards that the rogue, with more free slots, gets some.
                registered = true;
                zf_order_t order = s_order (fx, "split", 8, "echo ok");
                assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
            }
        }
        got_jobs = mdp.command == ZF_MDPW_REQUEST;
    }
    assert_true (got_jobs);
    //  Garbage: not even a Majordomo message.
    zstr_send (rogue, "this is not a protocol");
    //  It is told to go, and the others' work all completes, the rogue's
    //  shards on the real executor at attempt 2.
    bool disconnected = false;
    for (int i = 0; i < 20 && !disconnected; i++) {
        if (!zpoller_wait (poller, 1000)) continue;
        zmsg_t *msg = zmsg_recv (rogue);
        if (zf_mdp_parse (msg, ZF_MDP_AT_WORKER, &mdp, &err) == 0)
            disconnected = mdp.command == ZF_MDPW_DISCONNECT;
        zmsg_destroy (&msg);
    }
    assert_true (disconnected);
    size_t count;
    const zf_dresult_t *results = NULL;
    size_t finals = 0;
    for (int64_t deadline = zclock_mono () + 30000; finals == 0 && zclock_mono () < deadline;) {
        zf_dclient_wait (fx->client, zf_dclient_done (fx->client) + 1, 1000);
        results = zf_dclient_results (fx->client, &count);
        for (size_t i = 0; i < count; i++)
            finals += results[i].final;
    }
    assert_int_equal (finals, 1);
    size_t succeeded = 0, lost = 0;
    for (size_t i = 0; i < count; i++) {
        if (results[i].status == ZF_JOB_SUCCEEDED) {
            succeeded++;
            assert_string_equal (results[i].executor, fx->names[0]);
        }
        lost += results[i].status == ZF_JOB_LOST;
    }
    assert_int_equal (succeeded, 8);
    assert_true (lost >= 1);
    zpoller_destroy (&poller);
    zf_proto_encoder_destroy (&encoder);
    zsock_destroy (&rogue);
}

static void
test_pool_limit_holds (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, S_EXECUTORS, "2", "--pool", "shell=2");
    zf_order_t order = s_order (fx, "pooled", 8, "sleep 0.3");
    assert_int_equal (zf_dclient_dispatch (fx->client, "shell", 1, &order, 1), 0);
    assert_int_equal (zf_dclient_wait (fx->client, 8, 30000), 8);
    size_t count;
    const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
    //  The most shards running at any instant, from their start and end.
    int most = 0;
    for (size_t i = 0; i < count; i++) {
        if (results[i].status != ZF_JOB_SUCCEEDED) continue;
        int overlap = 0;
        for (size_t k = 0; k < count; k++)
            if (results[k].status == ZF_JOB_SUCCEEDED && results[k].started <= results[i].started &&
                results[k].ended > results[i].started)
                overlap++;
        most = overlap > most ? overlap : most;
    }
    assert_int_equal (most, 2);
}

//  Events from the dispatcher's events socket, decoded.
typedef struct {
    zsock_t *sub;                 //  the subscriber
    zpoller_t *poller;            //  on it
    zf_proto_decoder_t *decoder;  //  the last body
    char topic[64];               //  the last topic
    const zf_dispevent_t *events; //  its events (in the decoder)
    size_t count;                 //  how many
} s_events_t;

//  The next message within wait_ms, decoded into events; false if none came.
static bool
s_next_events (s_events_t *self, int wait_ms)
{
    if (!zpoller_wait (self->poller, wait_ms)) return false;
    char *topic = NULL;
    zframe_t *body = NULL;
    assert_int_equal (zsock_recv (self->sub, "sf", &topic, &body), 0);
    snprintf (self->topic, sizeof self->topic, "%s", topic);
    zf_proto_error_t err;
    assert_int_equal (zf_dispevent_decode (self->decoder, zframe_data (body), zframe_size (body),
                                           &self->events, &self->count, &err),
                      0);
    zstr_free (&topic);
    zframe_destroy (&body);
    return true;
}

static void
test_events_published (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster (fx, 1, "2", NULL, NULL);
    int64_t before_late = zclock_time ();
    s_events_t ev = {.sub = zsock_new_sub (fx->events, "disp."),
                     .decoder = zf_proto_decoder_new ()};
    assert_non_null (ev.sub);
    ev.poller = zpoller_new (ev.sub, NULL);
    //  A subscriber that came after the join still hears of it, with the
    //  worker's slots and the time it joined.
    bool joined = false;
    for (int i = 0; i < 50 && !joined; i++) {
        if (!s_next_events (&ev, 100) || !streq (ev.topic, "disp.worker_join")) continue;
        assert_string_equal (ev.events[0].worker, fx->names[0]);
        assert_non_null (strstr (ev.events[0].detail, "slots=2"));
        assert_true (ev.events[0].time > 0 && ev.events[0].time <= before_late);
        joined = true;
    }
    assert_true (joined);
    //  A subscription takes effect some time after connecting; orders go out
    //  until their events arrive.
    bool assigned = false;
    for (int round = 0; round < 50 && !assigned; round++) {
        char task[32];
        snprintf (task, sizeof task, "watched-%d", round);
        zf_order_t order = s_order (fx, task, 0, NULL);
        assert_int_equal (zf_dclient_dispatch (fx->client, "noop", 1, &order, 1), 0);
        while (s_next_events (&ev, 100)) {
            if (!streq (ev.topic, "disp.assign")) continue;
            assert_string_equal (ev.events[0].worker, fx->names[0]);
            assert_string_equal (ev.events[0].service, "noop");
            assigned = true;
        }
    }
    assert_true (assigned);
    //  A worker leaving is published too.
    zf_proc_stop (fx->executors[0], 3000);
    fx->executor_count = 0;
    bool lost = false;
    for (int i = 0; i < 50 && !lost; i++)
        lost = s_next_events (&ev, 100) && streq (ev.topic, "disp.worker_lost");
    assert_true (lost);
    zf_proto_decoder_destroy (&ev.decoder);
    zpoller_destroy (&ev.poller);
    zsock_destroy (&ev.sub);
}

//  The example worker program: keyed shards of a service: task, twice; the
//  second time every shard finds its records in its worker's cache,
//  because the same keys come back to the same workers.
static void
test_settle_worker_reuses_cache (void **state)
{
    s_fixture_t *fx = *state;
    s_cluster_of (fx, "zflow-settle", 2, "2", NULL, NULL);
    const char *keys[] = {"bonds", "fx", "equities", "repo"};
    const char *env[] = {"SETTLE_RECORDS=50000"};
    for (int round = 0; round < 2; round++) {
        zf_order_t order = s_order (fx, "settle", 4, NULL);
        order.date = S_DATE + round;
        order.shard_keys = keys;
        order.env = env;
        order.env_count = 1;
        zf_dclient_clear (fx->client);
        assert_int_equal (zf_dclient_dispatch (fx->client, "settle", 1, &order, 1), 0);
        assert_int_equal (zf_dclient_wait (fx->client, 4, 30000), 4);
        size_t count, settled = 0;
        const zf_dresult_t *results = zf_dclient_results (fx->client, &count);
        for (size_t i = 0; i < count; i++)
            if (results[i].status == ZF_JOB_SUCCEEDED) {
                settled++;
                assert_non_null (strstr (results[i].tail, keys[results[i].shard]));
                assert_non_null (strstr (results[i].tail, "50000 records"));
                assert_non_null (
                    strstr (results[i].tail, round ? "(cached records)" : "(new records)"));
            }
        assert_int_equal (settled, 4);
    }
}

int
main (void)
{
    zsys_init ();
    zsys_set_linger (0);
    zf_proc_subreaper ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_ten_thousand_subtasks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_executor_killed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hanging_shard_timed_out, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_speculative_copy_wins, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_same_keys_same_executors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_garbage_worker_dropped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pool_limit_holds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_events_published, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_settle_worker_reuses_cache, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
