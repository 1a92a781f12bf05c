/*  Integration tests of the registry with a real dispatcher and executors on
    127.0.0.1: a flow of shell tasks, shards by key, a no-op service task, a
    task that fails twice before it succeeds, a not_before gate, seen through
    STATUS, LOGS and a gap-free event stream; a dispatcher killed with
    SIGKILL mid-run and started again, after which the run completes with no
    task lost; ten thousand independent tasks, and a chain, timed. */
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

#include "zf_proc.h"
#include "zf_proto.h"

//  A past business date: runs begin at once and not_before has passed.
#define S_DATE_TEXT "2025-11-24"
#define S_EXECUTORS 2

typedef struct {
    char dir[64];                   //  temporary folder
    char disp[64], disp_events[64]; //  the dispatcher's endpoints
    char reg[64], reg_events[64];   //  the registry's endpoints
    pid_t dispatcher;               //  processes
    pid_t registry;
    pid_t executors[S_EXECUTORS];
    zsock_t *client;                //  DEALER to the registry
    zsock_t *sub;                   //  SUB to its events
    zf_proto_encoder_t *encoder;    //  requests
    zf_proto_decoder_t *decoder;    //  replies
    zf_proto_decoder_t *ev_decoder; //  events
    uint64_t req_id;                //  the last request's id
    uint64_t last_seq;              //  the last event's seq
    uint64_t events;                //  events received
    uint64_t gaps;                  //  seqs that did not follow the one before
} s_fixture_t;

//  A path in the test folder.
static const char *
s_path (s_fixture_t *fx, const char *name, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%s", fx->dir, name);
    return buf;
}

//  Starts the dispatcher on the fixture's endpoints.
static void
s_start_dispatcher (s_fixture_t *fx)
{
    fx->dispatcher =
        zf_proc_spawn ("zflow-dispatcher", "--bind", fx->disp, "--events", fx->disp_events,
                       "--heartbeat", "100ms", "--liveness", "10", NULL);
    assert_true (fx->dispatcher > 0);
}

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    strcpy (fx->dir, "/tmp/zf-registry-it-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    char path[128], logs[128], var[128];
    assert_int_equal (mkdir (s_path (fx, "flows", path, sizeof path), 0755), 0);
    assert_int_equal (mkdir (s_path (fx, "flows/out", path, sizeof path), 0755), 0);
    s_path (fx, "logs", logs, sizeof logs);
    s_path (fx, "var", var, sizeof var);
    snprintf (fx->disp, sizeof fx->disp, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    snprintf (fx->disp_events, sizeof fx->disp_events, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    snprintf (fx->reg, sizeof fx->reg, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    snprintf (fx->reg_events, sizeof fx->reg_events, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    s_start_dispatcher (fx);
    for (int i = 0; i < S_EXECUTORS; i++) {
        char name[32];
        snprintf (name, sizeof name, "exec-%d", i + 1);
        fx->executors[i] = zf_proc_spawn ("zflow-executor", "--dispatcher", fx->disp, "--name",
                                          name, "--slots", "4", "--log-dir", logs, "--heartbeat",
                                          "100ms", "--liveness", "10", "--grace", "500ms", NULL);
        assert_true (fx->executors[i] > 0);
    }
    fx->registry =
        zf_proc_spawn ("zflow-registry", "--bind", fx->reg, "--events", fx->reg_events,
                       "--dispatcher", fx->disp, "--dir", var, "--log-dir", logs, "--heartbeat",
                       "100ms", "--liveness", "10", "--no-worker-wait", "30s", NULL);
    assert_true (fx->registry > 0);
    fx->client = zsock_new_dealer (fx->reg);
    fx->sub = zsock_new_sub (fx->reg_events, "");
    fx->encoder = zf_proto_encoder_new ();
    fx->decoder = zf_proto_decoder_new ();
    fx->ev_decoder = zf_proto_decoder_new ();
    assert_non_null (fx->client);
    assert_non_null (fx->sub);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zsock_destroy (&fx->client);
    zsock_destroy (&fx->sub);
    zf_proto_encoder_destroy (&fx->encoder);
    zf_proto_decoder_destroy (&fx->decoder);
    zf_proto_decoder_destroy (&fx->ev_decoder);
    int status = zf_proc_stop (fx->registry, 5000);
    //  The registry stops cleanly on SIGTERM.
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    for (int i = 0; i < S_EXECUTORS; i++)
        zf_proc_stop (fx->executors[i], 3000);
    zf_proc_stop (fx->dispatcher, 3000);
    zf_proc_reap ();
    //  ZF_TEST_KEEP=1 keeps the folder (logs, outputs) for a post-mortem.
    char cmd[128];
    snprintf (cmd, sizeof cmd, getenv ("ZF_TEST_KEEP") ? "true '%s'" : "rm -rf '%s'", fx->dir);
    assert_int_equal (system (cmd), 0);
    free (fx);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Talking to the registry

//  Waits up to timeout_ms for sock to be readable.
static bool
s_readable (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    bool ready = zpoller_wait (poller, timeout_ms) == sock;
    zpoller_destroy (&poller);
    return ready;
}

//  Sends a request and decodes its (first) reply into *reply.
static void
s_call (s_fixture_t *fx, zf_reg_request_t *req, zf_reg_reply_t *reply)
{
    req->req_id = ++fx->req_id;
    zf_proto_error_t err;
    assert_int_equal (zf_reg_request_encode (fx->encoder, req, &err), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, zf_proto_encoder_data (fx->encoder), zf_proto_encoder_size (fx->encoder));
    assert_int_equal (zmsg_send (&msg, fx->client), 0);
    for (;;) {
        //  The registry may still be starting: the request waits in the socket.
        assert_true (s_readable (fx->client, 20000));
        msg = zmsg_recv (fx->client);
        zframe_t *body = zmsg_last (msg);
        assert_int_equal (
            zf_reg_reply_decode (fx->decoder, zframe_data (body), zframe_size (body), reply, &err),
            0);
        zmsg_destroy (&msg);
        if (reply->req_id == req->req_id) return;
    }
}

//  Submits a flow file written into the folder; returns the version.
static int
s_submit (s_fixture_t *fx, const char *name, const char *text)
{
    char path[128];
    s_path (fx, name, path, sizeof path);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = path;
    s_call (fx, &req, &reply);
    for (size_t i = 0; reply.type == ZF_BODY_ERROR && i < reply.line_count; i++)
        fprintf (stderr, "%s\n", reply.lines[i]);
    assert_int_equal (reply.type, ZF_BODY_OK);
    return (int)reply.number;
}

//  Opens the run of flow on the test date.
static void
s_start (s_fixture_t *fx, const char *flow)
{
    zf_date_t date;
    assert_int_equal (zf_date_parse (S_DATE_TEXT, &date), 0);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    req.date = date;
    s_call (fx, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_string_equal (reply.text, "opened");
}

//  Something to watch for on the SUB.
typedef struct {
    int kind;         //  event kind
    int state;        //  its state, or -1 for any
    const char *flow; //  its flow, or NULL
    const char *task; //  its task, or NULL
} s_watch_t;

//  Receives events until one matches, checking seqs as they come; calls
//  each (if not NULL) with every event. True if one matched in timeout_ms.
static bool
s_await (s_fixture_t *fx, s_watch_t watch, int timeout_ms,
         void (*each) (s_fixture_t *, const zf_event_t *, void *), void *arg)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (!s_readable (fx->sub, (int)(deadline - zclock_mono ()))) return false;
        zmsg_t *msg = zmsg_recv (fx->sub);
        zframe_t *body = zmsg_last (msg);
        const zf_event_t *events;
        size_t count;
        zf_proto_error_t err;
        assert_int_equal (zf_event_decode (fx->ev_decoder, zframe_data (body), zframe_size (body),
                                           &events, &count, &err),
                          0);
        bool found = false;
        for (size_t i = 0; i < count; i++) {
            const zf_event_t *event = &events[i];
            if (fx->events && event->seq != fx->last_seq + 1) fx->gaps++;
            fx->last_seq = event->seq;
            fx->events++;
            if (each) each (fx, event, arg);
            if (event->kind == watch.kind && (watch.state < 0 || event->state == watch.state) &&
                (!watch.flow || (event->flow && strcmp (event->flow, watch.flow) == 0)) &&
                (!watch.task || (event->task && strcmp (event->task, watch.task) == 0)))
                found = true;
        }
        zmsg_destroy (&msg);
        if (found) return true;
    }
    return false;
}

//  Makes sure the SUB receives: flows are submitted until an event arrives.
static void
s_sync_sub (s_fixture_t *fx)
{
    for (int round = 0; round < 200; round++) {
        char text[128];
        snprintf (text, sizeof text, "flow: warm\ntasks:\n  - id: s\n    type: start\n# %d\n",
                  round);
        s_submit (fx, "warm.yaml", text);
        if (s_await (fx, (s_watch_t){ZF_EV_FLOW, -1, "warm", NULL}, 100, NULL, NULL)) return;
    }
    fail_msg ("no events on the SUB");
}

//  The latest run of a flow, by STATUS (held in the fixture's decoder).
static const zf_run_status_t *
s_status (s_fixture_t *fx, const char *flow)
{
    static zf_reg_reply_t reply;
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = flow;
    s_call (fx, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    return &reply.runs[0];
}

//  A task of a run by id.
static const zf_task_status_t *
s_task (const zf_run_status_t *run, const char *id)
{
    for (size_t i = 0; i < run->task_count; i++)
        if (strcmp (run->tasks[i].id, id) == 0) return &run->tasks[i];
    fail_msg ("no task %s", id);
    return NULL;
}

//  The first line of a file in the folder, or "" if there is none.
static const char *
s_line (s_fixture_t *fx, const char *name, char *buf, size_t size)
{
    char path[160];
    buf[0] = 0;
    FILE *file = fopen (s_path (fx, name, path, sizeof path), "r");
    if (!file) return buf;
    if (!fgets (buf, (int)size, file)) buf[0] = 0;
    fclose (file);
    buf[strcspn (buf, "\n")] = 0;
    return buf;
}

//  ---------------------------------------------------------------------------

static const char *s_flow =
    "flow: it\n"
    "timezone: UTC\n"
    "defaults: {timeout: 30s, retries: 0, retry_delay: 200ms}\n"
    "tasks:\n"
    "  - id: start\n"
    "    type: start\n"
    "  - id: prepare\n"
    "    after: [start]\n"
    "    not_before: \"00:01\"\n"
    "    run: echo \"$ZFLOW_DATE\" > out/prepare\n"
    "  - id: shard\n"
    "    after: [prepare]\n"
    "    shards: [alpha, beta, gamma]\n"
    "    run: echo \"$ZFLOW_SHARD_KEY $ZFLOW_ATTEMPT\" > out/shard.$ZFLOW_SHARD_KEY\n"
    "  - id: ping\n"
    "    after: [prepare]\n"
    "    service: noop\n"
    "  - id: flaky\n"
    "    after: [prepare]\n"
    "    retries: 2\n"
    "    run: 'echo \"try $ZFLOW_ATTEMPT\"; test \"$ZFLOW_ATTEMPT\" -ge 3'\n"
    "  - id: finish\n"
    "    after: [shard, ping, flaky]\n"
    "    run: echo done > out/finish\n";

static void
test_a_flow_runs_on_real_executors (void **state)
{
    s_fixture_t *fx = *state;
    s_sync_sub (fx);
    assert_int_equal (s_submit (fx, "flows/it.yaml", s_flow), 1);
    s_start (fx, "it");
    assert_true (
        s_await (fx, (s_watch_t){ZF_EV_RUN, ZF_RS_SUCCEEDED, "it", NULL}, 45000, NULL, NULL));
    assert_int_equal (fx->gaps, 0);

    const zf_run_status_t *run = s_status (fx, "it");
    assert_int_equal (run->state, ZF_RS_SUCCEEDED);
    for (size_t i = 0; i < run->task_count; i++)
        assert_int_equal (run->tasks[i].state, ZF_TS_SUCCEEDED);
    const zf_task_status_t *flaky = s_task (run, "flaky");
    assert_int_equal (flaky->attempt, 3);
    assert_int_equal (flaky->exit_status, 0);
    const zf_task_status_t *shard = s_task (run, "shard");
    assert_int_equal (shard->shards_total, 3);
    assert_int_equal (shard->shards_done, 3);
    assert_non_null (s_task (run, "ping")->executor);

    //  The shell tasks ran where the flow file is, with their parameters.
    char line[128];
    assert_string_equal (s_line (fx, "flows/out/prepare", line, sizeof line), S_DATE_TEXT);
    assert_string_equal (s_line (fx, "flows/out/shard.alpha", line, sizeof line), "alpha 1");
    assert_string_equal (s_line (fx, "flows/out/shard.gamma", line, sizeof line), "gamma 1");
    assert_string_equal (s_line (fx, "flows/out/finish", line, sizeof line), "done");

    //  Each failed attempt left its log; the latest is the third.
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    req.flow = "it";
    req.task = "flaky";
    req.attempt = 1;
    s_call (fx, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_LOGS_REPLY);
    assert_non_null (strstr (reply.text, "try 1"));
    req.attempt = 0;
    s_call (fx, &req, &reply);
    assert_non_null (strstr (reply.text, "try 3"));
    req.task = "shard";
    req.shard_key = "beta";
    s_call (fx, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_LOGS_REPLY);

    //  A run whose date has not begun waits.
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "it";
    req.date = zf_tz_date_at ("UTC", zclock_time ()) + 2;
    s_call (fx, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_int_equal (s_status (fx, "it")->state, ZF_RS_WAITING);
}

static const char *s_kill_flow =
    "flow: kill\n"
    "tasks:\n"
    "  - id: start\n"
    "    type: start\n"
    "  - id: slow\n"
    "    after: [start]\n"
    "    shards: 4\n"
    "    run: sleep 1; echo $ZFLOW_ATTEMPT >> out/slow.$ZFLOW_SHARD_INDEX\n"
    "    rollback: echo undone >> out/rollback.$ZFLOW_SHARD_INDEX\n"
    "  - id: after\n"
    "    after: [slow]\n"
    "    run: echo ok > out/after\n";

//  Counts running events of task slow.
static void
s_count_running (s_fixture_t *fx, const zf_event_t *event, void *arg)
{
    if (event->kind == ZF_EV_TASK && event->state == ZF_TS_RUNNING && event->task &&
        strcmp (event->task, "slow") == 0)
        (*(int *)arg)++;
}

static void
test_a_run_survives_a_dispatcher_killed_mid_run (void **state)
{
    s_fixture_t *fx = *state;
    s_sync_sub (fx);
    //  The dispatcher numbers jobs from 1 each time it starts, and an
    //  executor that outlives it tells jobs apart by number: a new job with
    //  the number of an old one still running there would be taken for it
    //  (docs/REGISTRY.md, open points). A first run moves the old
    //  dispatcher's numbers past the few the new one hands out here.
    char text[2048];
    size_t used = (size_t)snprintf (text, sizeof text, "flow: pre\ntasks:\n");
    for (int i = 0; i < 32; i++)
        used += (size_t)snprintf (text + used, sizeof text - used,
                                  "  - id: n%d\n    service: noop\n", i);
    s_submit (fx, "flows/pre.yaml", text);
    s_start (fx, "pre");
    assert_true (
        s_await (fx, (s_watch_t){ZF_EV_RUN, ZF_RS_SUCCEEDED, "pre", NULL}, 20000, NULL, NULL));
    s_submit (fx, "flows/kill.yaml", s_kill_flow);
    s_start (fx, "kill");
    //  Every shard of slow runs; then the dispatcher dies.
    int running = 0;
    while (running < 4)
        assert_true (s_await (fx, (s_watch_t){ZF_EV_TASK, ZF_TS_RUNNING, "kill", "slow"}, 20000,
                              s_count_running, &running));
    kill (fx->dispatcher, SIGKILL);
    assert_true (zf_proc_await_gone (fx->dispatcher, 5000));
    s_start_dispatcher (fx);
    //  The registry finds its work gone with the old dispatcher and runs it
    //  again, rollback first; the run completes.
    assert_true (
        s_await (fx, (s_watch_t){ZF_EV_RUN, ZF_RS_SUCCEEDED, "kill", NULL}, 45000, NULL, NULL));
    assert_int_equal (fx->gaps, 0);
    const zf_run_status_t *run = s_status (fx, "kill");
    assert_int_equal (run->state, ZF_RS_SUCCEEDED);
    const zf_task_status_t *slow = s_task (run, "slow");
    assert_int_equal (slow->shards_done, 4);
    assert_int_equal (slow->attempt, 2);
    assert_int_equal (s_task (run, "after")->state, ZF_TS_SUCCEEDED);
    char line[64], name[64];
    for (int i = 0; i < 4; i++) {
        snprintf (name, sizeof name, "flows/out/rollback.%d", i);
        assert_string_equal (s_line (fx, name, line, sizeof line), "undone");
    }
    assert_string_equal (s_line (fx, "flows/out/after", line, sizeof line), "ok");
}

//  Receives events until the run of flow succeeded; records when each
//  task's success arrived (µs) into arg's array, by the task's number.
typedef struct {
    int64_t *at;      //  arrival of each task's success
    size_t count;     //  tasks
    size_t succeeded; //  successes seen
} s_times_t;

static void
s_record (s_fixture_t *fx, const zf_event_t *event, void *arg)
{
    s_times_t *times = arg;
    if (event->kind != ZF_EV_TASK || event->state != ZF_TS_SUCCEEDED || !event->task) return;
    long index = strtol (event->task + 1, NULL, 10);
    if (event->task[0] == 't' && index >= 0 && (size_t)index < times->count) {
        times->at[index] = zclock_usecs ();
        times->succeeded++;
    }
}

//  Sorts int64s.
static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void
test_many_tasks_and_a_chain_are_timed (void **state)
{
    s_fixture_t *fx = *state;
    s_sync_sub (fx);
    //  10,000 independent no-op tasks.
    size_t wide = 10000;
    size_t size = 64 + wide * 64;
    char *text = malloc (size);
    size_t used = (size_t)snprintf (text, size, "flow: wide\ntasks:\n");
    for (size_t i = 0; i < wide; i++)
        used += (size_t)snprintf (text + used, size - used, "  - id: t%zu\n    service: noop\n", i);
    s_submit (fx, "flows/wide.yaml", text);
    s_times_t times = {calloc (wide, sizeof (int64_t)), wide, 0};
    int64_t began = zclock_usecs ();
    s_start (fx, "wide");
    assert_true (s_await (fx, (s_watch_t){ZF_EV_RUN, ZF_RS_SUCCEEDED, "wide", NULL}, 60000,
                          s_record, &times));
    double seconds = (double)(zclock_usecs () - began) / 1e6;
    assert_int_equal (times.succeeded, wide);
    assert_int_equal (fx->gaps, 0);
    printf ("system=zflow workload=registry-W1 tasks=%zu seconds=%.3f rate=%.1f executors=%d\n",
            wide, seconds, (double)wide / seconds, S_EXECUTORS);

    //  A chain of 300 no-op tasks: the time from one success to the next.
    size_t chain = 300;
    used = (size_t)snprintf (text, size, "flow: chain\ntasks:\n  - id: t0\n    service: noop\n");
    for (size_t i = 1; i < chain; i++)
        used += (size_t)snprintf (text + used, size - used,
                                  "  - id: t%zu\n    after: [t%zu]\n    service: noop\n", i, i - 1);
    s_submit (fx, "flows/chain.yaml", text);
    free (times.at);
    times = (s_times_t){calloc (chain, sizeof (int64_t)), chain, 0};
    s_start (fx, "chain");
    assert_true (s_await (fx, (s_watch_t){ZF_EV_RUN, ZF_RS_SUCCEEDED, "chain", NULL}, 60000,
                          s_record, &times));
    assert_int_equal (times.succeeded, chain);
    int64_t *hops = calloc (chain, sizeof (int64_t));
    for (size_t i = 1; i < chain; i++)
        hops[i - 1] = times.at[i] - times.at[i - 1];
    qsort (hops, chain - 1, sizeof (int64_t), s_compare);
    printf ("system=zflow workload=registry-chain hops=%zu p50_ms=%.3f p99_ms=%.3f executors=%d\n",
            chain - 1, (double)hops[(chain - 1) / 2] / 1000.0,
            (double)hops[(chain - 1) * 99 / 100] / 1000.0, S_EXECUTORS);
    free (hops);
    free (times.at);
    free (text);
}

int
main (void)
{
    zsys_init ();
    zsys_set_linger (0);
    zf_proc_subreaper ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_flow_runs_on_real_executors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_run_survives_a_dispatcher_killed_mid_run, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_many_tasks_and_a_chain_are_timed, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
