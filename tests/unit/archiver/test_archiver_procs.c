/*  Integration test of the archiver with real processes on 127.0.0.1:
    zflow-dispatcher, zflow-registry, zflow-executor and zflow-archiver on
    a SQLite file ("sqlite") or a PostgreSQL database on the "pg" fixture's
    server ("pg"), chosen by the first argument.

    A flow of a few hundred tasks runs; the archiver is killed with SIGKILL
    while the run is under way and started again. Afterwards the journal
    holds every event the registry made, without a hole, and the archive's
    STATUS of the run equals the registry's, task by task.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "zf_proc.h"
#include "zf_pgtest.h"
#include "zf_proto.h"
#include "zf_regclient.h"
#include "zf_store.h"

//  Bounded waits.
#define S_WAIT_MS 60000
#define S_CALL_MS 5000

//  Tasks of the flow: a wide first phase, a gate that takes a second, a
//  wide second phase with sharded tasks.
#define S_PHASE   150
#define S_SHARDED 20

typedef enum { S_SQLITE = 1, S_PG = 2 } s_backend_t;

typedef struct {
    s_backend_t backend;         //  the store
    char dir[64];                //  temporary folder
    char store[640];             //  the store's URI
    char registry[64];           //  its request endpoint
    char archiver[64];           //  the archiver's ROUTER
    char dispatcher[64];         //  the dispatcher
    pid_t pids[4];               //  dispatcher, registry, executor, archiver
    zf_regclient_t *to_registry; //  requests to the registry
    zf_regclient_t *to_archiver; //  requests to the archiver
    zsock_t *events;             //  the registry's run events
} s_fixture_t;

//  Ports used in a test: the registry's requests and events, the
//  dispatcher's and its events, the archiver's.
#define S_PORTS 5

//  A block of S_PORTS free ports in a row, below the range the kernel
//  hands out to client connections (so no connection of the test, the
//  store included, can take one before the services bind it). Returns the
//  first, or -1.
static int
s_port_block (void)
{
    for (int tries = 0; tries < 200; tries++) {
        int base = 20000 + (int)(random () % 12000);
        bool free_all = true;
        int fds[S_PORTS];
        for (int i = 0; i < S_PORTS; i++) {
            fds[i] = socket (AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons (base + i)};
            addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
            if (fds[i] < 0 || bind (fds[i], (struct sockaddr *)&addr, sizeof addr) != 0)
                free_all = false;
        }
        for (int i = 0; i < S_PORTS; i++)
            if (fds[i] >= 0) close (fds[i]);
        if (free_all) return base;
    }
    return -1;
}

//  The flow file, written into the test's folder. Returns its path.
static char *
s_write_flow (s_fixture_t *fx)
{
    char *path = zsys_sprintf ("%s/big.yaml", fx->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fprintf (file, "flow: big\ntasks:\n  - id: start\n    type: start\n");
    for (int i = 0; i < S_PHASE; i++)
        fprintf (file, "  - id: a%d\n    after: [start]\n    service: noop\n", i);
    fprintf (file, "  - id: gate\n    after: [");
    for (int i = 0; i < S_PHASE; i++)
        fprintf (file, "%sa%d", i ? ", " : "", i);
    fprintf (file, "]\n    run: sleep 1\n");
    for (int i = 0; i < S_PHASE; i++)
        fprintf (file, "  - id: b%d\n    after: [gate]\n    service: noop\n", i);
    for (int i = 0; i < S_SHARDED; i++)
        fprintf (file, "  - id: s%d\n    after: [gate]\n    shards: %d\n    service: noop\n", i,
                 2 + i % 4);
    fclose (file);
    return path;
}

//  Starts the archiver process.
static pid_t
s_start_archiver (s_fixture_t *fx)
{
    return zf_proc_spawn ("zflow-archiver", "--registry", fx->registry, "--store", fx->store,
                          "--bind", fx->archiver, "--batch", "100", "--batch-wait", "10ms",
                          "--snapshot-every", "300", NULL);
}

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof *fx);
    fx->backend = *(s_backend_t *)*state;
    strcpy (fx->dir, "/tmp/zf-arcprocs-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    if (fx->backend == S_SQLITE)
        snprintf (fx->store, sizeof fx->store, "sqlite:%s/zflow.db", fx->dir);
    else
        assert_int_equal (
            zf_pgtest_database ("zf_test_archiver_procs", fx->store, sizeof fx->store), 0);
    int port = s_port_block ();
    assert_true (port > 0);
    snprintf (fx->registry, sizeof fx->registry, "tcp://127.0.0.1:%d", port);
    char events[64], logs[128], disp_events[64];
    snprintf (events, sizeof events, "tcp://127.0.0.1:%d", port + 1);
    snprintf (fx->dispatcher, sizeof fx->dispatcher, "tcp://127.0.0.1:%d", port + 2);
    snprintf (disp_events, sizeof disp_events, "tcp://127.0.0.1:%d", port + 3);
    snprintf (fx->archiver, sizeof fx->archiver, "tcp://127.0.0.1:%d", port + 4);
    snprintf (logs, sizeof logs, "%s/logs", fx->dir);
    fx->pids[0] =
        zf_proc_spawn ("zflow-dispatcher", "--bind", fx->dispatcher, "--events", disp_events, NULL);
    fx->pids[1] = zf_proc_spawn ("zflow-registry", "--bind", fx->registry, "--events", events,
                                 "--dispatcher", fx->dispatcher, "--dir", fx->dir, NULL);
    fx->pids[2] = zf_proc_spawn ("zflow-executor", "--dispatcher", fx->dispatcher, "--name", "ex-1",
                                 "--log-dir", logs, "--slots", "8", NULL);
    fx->pids[3] = s_start_archiver (fx);
    for (int i = 0; i < 4; i++)
        assert_true (fx->pids[i] > 0);
    fx->to_registry = zf_regclient_new (fx->registry);
    fx->to_archiver = zf_regclient_new (fx->archiver);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_regclient_destroy (&fx->to_registry);
    zf_regclient_destroy (&fx->to_archiver);
    zsock_destroy (&fx->events);
    for (int i = 3; i >= 0; i--)
        zf_proc_stop (fx->pids[i], 5000);
    zf_proc_reap ();
    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (command), 0);
    free (fx);
    return 0;
}

//  PING's number (the registry's seq, the archiver's watermark), or -1
//  if it did not answer within its time.
static int64_t
s_ping (zf_regclient_t *client)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    if (zf_regclient_call (client, &req, &reply, S_CALL_MS) != 0 || reply.type != ZF_BODY_OK)
        return -1;
    return reply.number;
}

//  Waits until the archiver's watermark reaches at least seq.
static bool
s_await_durable (s_fixture_t *fx, int64_t seq, zsock_t *events)
{
    zpoller_t *poller = zpoller_new (events, NULL);
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    bool reached = false;
    while (!reached && zclock_mono () < deadline) {
        reached = s_ping (fx->to_archiver) >= seq;
        //  Between looks, wait for the next event (or a short while).
        if (!reached && zpoller_wait (poller, 100)) {
            zmsg_t *msg = zmsg_recv (events);
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
    return reached;
}

//  A copy of one run's STATUS.
typedef struct {
    uint8_t state;
    size_t task_count;
    zf_task_status_t tasks[S_PHASE * 2 + S_SHARDED + 2];
    char ids[S_PHASE * 2 + S_SHARDED + 2][16];
    char executors[S_PHASE * 2 + S_SHARDED + 2][32];
} s_status_t;

static void
s_status (zf_regclient_t *client, zf_date_t date, s_status_t *status)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "big";
    req.date = date;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_CALL_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    status->state = reply.runs[0].state;
    status->task_count = reply.runs[0].task_count;
    assert_int_equal (status->task_count, S_PHASE * 2 + S_SHARDED + 2);
    for (size_t i = 0; i < status->task_count; i++) {
        status->tasks[i] = reply.runs[0].tasks[i];
        snprintf (status->ids[i], 16, "%s", reply.runs[0].tasks[i].id);
        snprintf (status->executors[i], 32, "%s",
                  reply.runs[0].tasks[i].executor ? reply.runs[0].tasks[i].executor : "");
    }
}

//  Counts journal rows.
static int
s_count_row (const zf_store_event_t *row, void *arg)
{
    (*(uint64_t *)arg)++;
    return 0;
}

//  The run, the kill, the restart, and the comparison.
static void
test_kill_and_compare (void **state)
{
    s_fixture_t *fx = *state;
    //  The registry's events, to wait on instead of sleeping.
    char events_endpoint[64];
    int port = atoi (strrchr (fx->registry, ':') + 1);
    snprintf (events_endpoint, sizeof events_endpoint, "tcp://127.0.0.1:%d", port + 1);
    fx->events = zsock_new_sub (events_endpoint, "run.big");
    zsock_t *events = fx->events;
    assert_non_null (events);
    //  Everything up: the registry answers, the archiver answers.
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    while (s_ping (fx->to_registry) < 0 && zclock_mono () < deadline)
        ;
    while (s_ping (fx->to_archiver) < 0 && zclock_mono () < deadline)
        ;
    char *path = s_write_flow (fx);
    char *text = NULL;
    {
        FILE *file = fopen (path, "r");
        fseek (file, 0, SEEK_END);
        long size = ftell (file);
        rewind (file);
        text = calloc (1, (size_t)size + 1);
        assert_int_equal (fread (text, 1, (size_t)size, file), (size_t)size);
        fclose (file);
    }
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = path;
    assert_int_equal (zf_regclient_call (fx->to_registry, &req, &reply, S_CALL_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_OK);
    zf_date_t date = zf_tz_date_at ("UTC", zclock_time ()) - 1;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "big";
    req.date = date;
    assert_int_equal (zf_regclient_call (fx->to_registry, &req, &reply, S_CALL_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_OK);

    //  Mid-run (the first phase is archived, the gate is still sleeping):
    //  kill -9, start again.
    assert_true (s_await_durable (fx, S_PHASE, events));
    kill (fx->pids[3], SIGKILL);
    assert_true (zf_proc_await_gone (fx->pids[3], S_WAIT_MS));
    fx->pids[3] = s_start_archiver (fx);
    assert_true (fx->pids[3] > 0);

    //  The run ends.
    zpoller_t *poller = zpoller_new (events, NULL);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    bool ended = false;
    while (!ended && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, 1000)) continue;
        zmsg_t *msg = zmsg_recv (events);
        zframe_t *body = zmsg_last (msg);
        const zf_event_t *list;
        size_t count;
        zf_proto_error_t err;
        if (zf_event_decode (dec, zframe_data (body), zframe_size (body), &list, &count, &err) == 0)
            for (size_t i = 0; i < count; i++)
                if (list[i].kind == ZF_EV_RUN && list[i].date == date &&
                    list[i].state >= ZF_RS_SUCCEEDED)
                    ended = true;
        zmsg_destroy (&msg);
    }
    assert_true (ended);
    zf_proto_decoder_destroy (&dec);
    zpoller_destroy (&poller);

    //  The archive catches up with the registry, confirmations included.
    int64_t seq = -1;
    for (int round = 0; round < 20; round++) {
        int64_t now_seq = s_ping (fx->to_registry);
        assert_true (now_seq > 0);
        assert_true (s_await_durable (fx, now_seq, events));
        if (now_seq == seq) break;
        seq = now_seq;
    }
    assert_int_equal (s_ping (fx->to_registry), seq);

    //  Nothing is missing: the journal holds 1..seq.
    char error[256];
    zf_store_t *store = zf_store_open (fx->store, error, sizeof error);
    assert_non_null (store);
    uint64_t low, high, count = 0;
    assert_int_equal (zf_store_journal_bounds (store, &low, &high), 0);
    assert_int_equal (low, 1);
    assert_int_equal (high, (uint64_t)seq);
    assert_true (zf_store_journal_scan (store, 0, (uint64_t)seq, 0, false, s_count_row, &count) >=
                 0);
    assert_int_equal (count, (uint64_t)seq);
    zf_store_snapinfo_t snap;
    assert_int_equal (zf_store_snapshot_latest (store, &snap), 0);
    zf_store_destroy (&store);

    //  The archive's STATUS equals the registry's.
    s_status_t *live = calloc (1, sizeof *live);
    s_status_t *kept = calloc (1, sizeof *kept);
    s_status (fx->to_registry, date, live);
    s_status (fx->to_archiver, date, kept);
    assert_int_equal (live->state, ZF_RS_SUCCEEDED);
    assert_int_equal (kept->state, live->state);
    for (size_t i = 0; i < live->task_count; i++) {
        const zf_task_status_t *a = &live->tasks[i], *b = &kept->tasks[i];
        assert_string_equal (kept->ids[i], live->ids[i]);
        if (a->state != b->state || a->attempt != b->attempt ||
            a->shards_total != b->shards_total || a->shards_done != b->shards_done ||
            a->shards_failed != b->shards_failed || a->started != b->started ||
            a->ended != b->ended || a->exit_status != b->exit_status)
            fail_msg ("task %s differs: state %d/%d attempt %u/%u shards %u/%u done %u/%u "
                      "started %lld/%lld ended %lld/%lld",
                      live->ids[i], a->state, b->state, a->attempt, b->attempt, a->shards_total,
                      b->shards_total, a->shards_done, b->shards_done, (long long)a->started,
                      (long long)b->started, (long long)a->ended, (long long)b->ended);
        assert_string_equal (kept->executors[i], live->executors[i]);
    }
    free (live);
    free (kept);
    free (text);
    free (path);
}

int
main (int argc, char **argv)
{
    static s_backend_t backend;
    if (argc == 2 && strcmp (argv[1], "sqlite") == 0)
        backend = S_SQLITE;
    else if (argc == 2 && strcmp (argv[1], "pg") == 0)
        backend = S_PG;
    else {
        fprintf (stderr, "usage: test_archiver_procs sqlite|pg\n");
        return 2;
    }
    zsys_init ();
    srandom ((unsigned)getpid () ^ (unsigned)zclock_time ());
    zf_proc_subreaper ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown (test_kill_and_compare, s_setup, s_teardown,
                                                  &backend),
    };
    return cmocka_run_group_tests_name (
        backend == S_SQLITE ? "archiver_procs_sqlite" : "archiver_procs_pg", tests, NULL, NULL);
}
