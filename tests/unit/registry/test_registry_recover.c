/*  Registry tests of a cold start: the actor recovers from a fake archiver
    (a ROUTER in a thread answering SNAPSHOT with a snapshot and the journal
    after it), then settles what was in flight once the fake dispatcher has
    said what it holds (invariant 5). And the runs the engine archived: their
    STATUS comes from the archiver, their logs from the log folder. */
#include "reg_harness.h"
#include "zf_engine.h"
#include "zf_event_wire.h"
#include "zf_regapi.h"
#include "zf_limits.h"
#include "zf_replier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DATE       20416
#define S_MAX_EVENTS 256

static const char *s_flow = "flow: t\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: a\n"
                            "    after: [start]\n"
                            "    run: echo a\n"
                            "    rollback: echo undo\n"
                            "  - id: c\n"
                            "    after: [start]\n"
                            "    run: echo c\n"
                            "  - id: d\n"
                            "    after: [start]\n"
                            "    run: echo d\n"
                            "  - id: b\n"
                            "    after: [a, c, d]\n"
                            "    run: echo b\n";

//  Events the fake archiver serves: the snapshot's records, then the journal.
typedef struct {
    zf_event_t events[S_MAX_EVENTS]; //  shallow copies; strings live in the source engine
    size_t count;
    uint64_t seq_at;       //  the last journal event's seq
    bool journal;          //  the listener is recording the journal now
    size_t snapshot_count; //  events of the snapshot alone
    uint64_t snapshot_seq; //  the seq it holds at
    int status_mode;       //  STATUS: S_ANSWER, S_SILENT or S_WRONG_TYPE
    int statuses;          //  STATUS requests received
} s_history_t;

//  How the fake archiver treats STATUS.
#define S_ANSWER     0 //  one run with one task
#define S_SILENT     1 //  no answer
#define S_WRONG_TYPE 2 //  OK instead of STATUS_REPLY

//  Answers a STATUS as the fake archiver's mode says.
static void
s_archiver_status (s_history_t *history, zf_replier_t *replier, zframe_t *identity,
                   const zf_reg_request_t *req)
{
    history->statuses++;
    if (history->status_mode == S_SILENT) return;
    zf_task_status_t task = {.id = "a",
                             .state = ZF_TS_CONFIRMED,
                             .attempt = 2,
                             .started = 1000,
                             .ended = 2000,
                             .executor = "exec-9"};
    zf_run_status_t run = {.flow = req->flow,
                           .date = req->date,
                           .version = 1,
                           .state = ZF_RS_SUCCEEDED,
                           .started = 1000,
                           .ended = 3000,
                           .tasks = &task,
                           .task_count = 1};
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, history->status_mode == S_ANSWER ? ZF_BODY_STATUS_REPLY : ZF_BODY_OK,
                       req->req_id);
    reply.runs = &run;
    reply.run_count = history->status_mode == S_ANSWER ? 1 : 0;
    assert_int_equal (zf_replier_send (replier, identity, &reply), 0);
}

static int
s_take_snapshot (const zf_event_t *event, void *arg)
{
    s_history_t *history = arg;
    assert_true (history->count < S_MAX_EVENTS);
    history->events[history->count++] = *event;
    return 0;
}

static void
s_take_journal (const zf_event_t *event, void *arg)
{
    s_history_t *history = arg;
    if (!history->journal) return;
    assert_true (history->count < S_MAX_EVENTS);
    history->events[history->count++] = *event;
    history->seq_at = event->seq;
}

//  The fake archiver (or replica): answers PING with the seq it holds,
//  SNAPSHOT with the history in two parts, and STATUS, until $TERM.
static void
s_archiver (zsock_t *pipe, void *args)
{
    s_history_t *history = args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (router, "tcp://127.0.0.1:*") > 0);
    zsock_signal (pipe, 0);
    zstr_send (pipe, zsock_endpoint (router));
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    zf_replier_t *replier = zf_replier_new (router, ZF_PEER_QUEUE);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe || !which) break;
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (msg);
        zframe_t *empty = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        zf_reg_request_t req;
        zf_proto_error_t err;
        assert_int_equal (
            zf_reg_request_decode (dec, zframe_data (body), zframe_size (body), &req, &err), 0);
        if (req.type == ZF_BODY_STATUS || req.type == ZF_BODY_PING) {
            if (req.type == ZF_BODY_STATUS)
                s_archiver_status (history, replier, identity, &req);
            else {
                zf_reg_reply_t reply;
                zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
                reply.has_number = true;
                reply.number = (int64_t)history->seq_at;
                assert_int_equal (zf_replier_send (replier, identity, &reply), 0);
            }
            zframe_destroy (&identity);
            zframe_destroy (&empty);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
            continue;
        }
        assert_int_equal (req.type, ZF_BODY_SNAPSHOT);
        size_t half = history->count / 2;
        for (uint32_t part = 1; part <= 2; part++) {
            zf_reg_reply_t reply;
            zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req.req_id);
            reply.seq = history->seq_at;
            reply.part = part;
            reply.parts = 2;
            reply.events = part == 1 ? history->events : history->events + half;
            reply.event_count = part == 1 ? half : history->count - half;
            assert_int_equal (zf_replier_send (replier, identity, &reply), 0);
        }
        zframe_destroy (&identity);
        zframe_destroy (&empty);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zf_proto_decoder_destroy (&dec);
    zf_replier_destroy (&replier);
    zsock_destroy (&router);
}

//  A source engine's history: a snapshot after the run began and a, c and d
//  were dispatched, then a journal in which a and d run and c succeeds.
static zf_engine_t *
s_source (zf_clock_t *clock, s_history_t *history)
{
    zf_engine_t *engine = zf_engine_new (clock);
    zf_engine_set_listener (engine, s_take_journal, history);
    assert_int_equal (zf_engine_set_epoch (engine, 3, NULL, NULL), 0);
    assert_int_equal (zf_engine_submit (engine, s_flow, strlen (s_flow), "/tmp/t.yaml", NULL), 1);
    assert_int_equal (zf_engine_start (engine, "t", S_DATE), 0);
    zf_engine_tick (engine);
    zf_engine_order_t order;
    int orders = 0;
    while (zf_engine_next_order (engine, &order) == 1)
        orders++;
    assert_int_equal (orders, 3);
    assert_true (zf_engine_snapshot (engine, s_take_snapshot, history) > 0);
    history->seq_at = zf_engine_seq (engine);
    history->snapshot_count = history->count;
    history->snapshot_seq = history->seq_at;
    history->journal = true;
    zf_task_key_t a = {"t", S_DATE, "a", ZF_SHARD_SOLE, 1};
    zf_task_key_t c = {"t", S_DATE, "c", ZF_SHARD_SOLE, 1};
    zf_task_key_t d = {"t", S_DATE, "d", ZF_SHARD_SOLE, 1};
    assert_int_equal (zf_engine_running (engine, &a, "exec-1"), 0);
    assert_int_equal (zf_engine_running (engine, &c, "exec-1"), 0);
    assert_int_equal (zf_engine_running (engine, &d, "exec-2"), 0);
    assert_int_equal (zf_engine_result (engine, &c, ZF_OUTCOME_SUCCEEDED, 0, "exec-1", NULL), 0);
    return engine;
}

//  A registry recovering from the fake archiver, which serves the history
//  of a source engine.
typedef struct {
    zf_clock_t *clock;    //  real clock of the source
    s_history_t *history; //  what the archiver serves
    zf_engine_t *source;  //  the engine that made it
    zactor_t *archiver;   //  the fake archiver
    char *endpoint;       //  its endpoint
    rh_t *h;              //  the registry under test
} s_scene_t;

typedef zf_engine_t *(s_source_fn)(zf_clock_t *clock, s_history_t *history);

//  Makes the history with source, starts the archiver and a registry that
//  recovers from it; the dispatcher still holds the count attempts of live.
static void
s_scene_start (s_scene_t *scene, s_source_fn *source, const zf_inflight_t *live, size_t count)
{
    scene->clock = zf_clock_new_real ();
    scene->history = calloc (1, sizeof *scene->history);
    assert_non_null (scene->history);
    scene->source = source (scene->clock, scene->history);
    scene->archiver = zactor_new (s_archiver, scene->history);
    scene->endpoint = zstr_recv (scene->archiver);
    scene->h = rh_new_recovering (scene->endpoint, live, count);
}

static void
s_scene_stop (s_scene_t *scene)
{
    rh_destroy (&scene->h);
    zactor_destroy (&scene->archiver);
    zstr_free (&scene->endpoint);
    zf_engine_destroy (&scene->source);
    free (scene->history);
    zf_clock_destroy (&scene->clock);
}

static void
test_a_cold_start_recovers_confirms_and_reruns_lost_work (void **state)
{
    //  The dispatcher still runs d (attempt 1); a was lost with it.
    zf_inflight_t live = {{"t", S_DATE, "d", ZF_SHARD_SOLE, 1}, "exec-2"};
    s_scene_t scene;
    s_scene_start (&scene, s_source, &live, 1);
    rh_t *h = scene.h;
    uint64_t durable = scene.history->seq_at;
    //  The registry carries on numbering after the durable history, from
    //  its new term, which says where its state came from.
    assert_true (rh_stat (h, "seq") > durable);
    const zf_event_t *epoch = rh_event_at (h, durable + 1);
    assert_int_equal (epoch->kind, ZF_EV_EPOCH);
    //  Its folder holds no term yet: the term rises above the one the
    //  archived state was made under (3), so the old orders stay fenced.
    assert_int_equal (epoch->value, 4);
    assert_string_equal (epoch->executor, "registry");
    char how[128];
    snprintf (how, sizeof how, "started from=the archiver at seq %llu",
              (unsigned long long)durable);
    assert_string_equal (epoch->detail, how);
    assert_int_equal (rh_state (h, "t", "c"), ZF_TS_SUCCEEDED);
    assert_int_equal (rh_state (h, "t", "a"), ZF_TS_RUNNING);

    //  The first heartbeat after the hello: a is rolled back and runs again
    //  at attempt 2, its rollback first; d is left running; c is confirmed.
    rh_disp_heartbeat (h);
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, service);
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (dispatch.orders[0].rollback_count, 1);
    assert_int_equal (rh_state (h, "t", "c"), ZF_TS_CONFIRMED);
    assert_int_equal (rh_state (h, "t", "a"), ZF_TS_DISPATCHED);
    assert_int_equal (rh_state (h, "t", "d"), ZF_TS_RUNNING);

    //  The run completes from there.
    zf_task_key_t a2 = {"t", S_DATE, "a", ZF_SHARD_SOLE, 2};
    zf_task_key_t d1 = {"t", S_DATE, "d", ZF_SHARD_SOLE, 1};
    rh_disp_result (h, &a2, ZF_JOB_SUCCEEDED, true);
    rh_disp_result (h, &d1, ZF_JOB_SUCCEEDED, true);
    rh_disp_orders (h, &dispatch, service);
    assert_string_equal (dispatch.orders[0].task, "b");
    zf_task_key_t b1 = {"t", S_DATE, "b", ZF_SHARD_SOLE, 1};
    rh_disp_result (h, &b1, ZF_JOB_SUCCEEDED, true);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));

    s_scene_stop (&scene);
}

//  With a replica newer than the archiver (it holds the journal the archiver
//  has not stored yet), the registry restores from the replica, passing
//  over one that does not answer; the successes the archiver does not hold
//  are confirmed only once it says it holds them.
static void
test_a_cold_start_takes_the_newest_copy (void **state)
{
    zf_clock_t *clock = zf_clock_new_real ();
    s_history_t *full = calloc (1, sizeof *full);
    s_history_t *stored = calloc (1, sizeof *stored);
    assert_true (full && stored);
    zf_engine_t *source = s_source (clock, full);
    *stored = *full;
    stored->count = full->snapshot_count;
    stored->seq_at = full->snapshot_seq;
    assert_true (stored->seq_at < full->seq_at);
    zactor_t *archiver = zactor_new (s_archiver, stored);
    char *archiver_at = zstr_recv (archiver);
    zactor_t *replica = zactor_new (s_archiver, full);
    char *replica_at = zstr_recv (replica);
    zsock_t *silent = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (silent, "tcp://127.0.0.1:*") > 0);
    char replicas[256];
    snprintf (replicas, sizeof replicas, "%s,%s", zsock_endpoint (silent), replica_at);

    zf_inflight_t live = {{"t", S_DATE, "d", ZF_SHARD_SOLE, 1}, "exec-2"};
    rh_t *h = rh_new_recovering_from (archiver_at, replicas, &live, 1);
    //  The registry carries on after the replica's history, not the archiver's.
    assert_true (rh_stat (h, "seq") > full->seq_at);
    assert_int_equal (rh_state (h, "t", "c"), ZF_TS_SUCCEEDED);
    //  Settled: c's success is not one the archiver holds, so it stays
    //  unconfirmed; a runs again after its rollback.
    rh_disp_heartbeat (h);
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    //  (The fake dispatcher's wait for orders says ARCHIVED for what the
    //  registry holds, which confirms c: look before it.)
    assert_true (rh_await_event (h, ZF_EV_TASK, ZF_TS_ROLLED_BACK, "a"));
    assert_int_equal (rh_state (h, "t", "c"), ZF_TS_SUCCEEDED);
    rh_disp_orders (h, &dispatch, service);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (rh_state (h, "t", "c"), ZF_TS_CONFIRMED);

    rh_destroy (&h);
    zsock_destroy (&silent);
    zactor_destroy (&replica);
    zactor_destroy (&archiver);
    zstr_free (&replica_at);
    zstr_free (&archiver_at);
    zf_engine_destroy (&source);
    free (stored);
    free (full);
    zf_clock_destroy (&clock);
}

//  A registry whose archiver does not answer refuses to start empty.
static void
test_no_answer_from_the_archiver_stops_the_start (void **state)
{
    zsock_t *silent = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (silent, "tcp://127.0.0.1:*") > 0);
    zf_registry_config_t cfg;
    zf_registry_config_defaults (&cfg);
    char dir[] = "/tmp/zf-recover-XXXXXX";
    assert_non_null (mkdtemp (dir));
    cfg.bind = "tcp://127.0.0.1:*";
    cfg.events = "tcp://127.0.0.1:*";
    cfg.dispatcher = "tcp://127.0.0.1:1";
    cfg.dir = dir;
    cfg.archiver = zsock_endpoint (silent);
    //  The actor signals failure with the reason in cfg.error, as main()
    //  reads it, and ends.
    zactor_t *actor = zactor_new (zf_registry_actor, &cfg);
    assert_non_null (strstr (cfg.error, "did not answer"));
    zactor_destroy (&actor);
    char command[64];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal (system (command), 0);
    zsock_destroy (&silent);
}

//  A history in which the run of S_DATE succeeded and was archived, and the
//  next date's run is open.
static zf_engine_t *
s_archived_source (zf_clock_t *clock, s_history_t *history)
{
    zf_engine_t *engine = zf_engine_new (clock);
    assert_int_equal (zf_engine_set_epoch (engine, 3, NULL, NULL), 0);
    assert_int_equal (zf_engine_submit (engine, s_flow, strlen (s_flow), "/tmp/t.yaml", NULL), 1);
    zf_engine_set_keep_runs (engine, 1);
    assert_int_equal (zf_engine_start (engine, "t", S_DATE), 0);
    zf_engine_tick (engine);
    for (int round = 0; round < 5; round++) {
        zf_engine_order_t order;
        while (zf_engine_next_order (engine, &order) == 1) {
            zf_task_key_t key = {"t", S_DATE, order.task_id, ZF_SHARD_SOLE,
                                 order.shards[0].attempt};
            assert_int_equal (zf_engine_running (engine, &key, "exec-1"), 0);
            assert_int_equal (
                zf_engine_result (engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "exec-1", NULL), 0);
        }
    }
    assert_int_equal (zf_engine_start (engine, "t", S_DATE + 1), 0);
    assert_true (zf_engine_confirm (engine, zf_engine_seq (engine)) > 0);
    assert_int_equal (zf_engine_archive (engine), 1);
    assert_true (zf_engine_snapshot (engine, s_take_snapshot, history) > 0);
    history->seq_at = zf_engine_seq (engine);
    return engine;
}

//  Writes a log file of the registry's log folder.
static void
s_write_log (rh_t *h, const char *name, const char *text)
{
    char path[256];
    snprintf (path, sizeof path, "mkdir -p '%s/logs/t/2025-11-24'", h->dir);
    assert_int_equal (system (path), 0);
    snprintf (path, sizeof path, "%s/logs/t/2025-11-24/%s", h->dir, name);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

static void
test_archived_runs_are_read_from_the_archiver (void **state)
{
    s_scene_t scene;
    s_scene_start (&scene, s_archived_source, NULL, 0);
    rh_t *h = scene.h;
    s_history_t *history = scene.history;

    //  The archive answers for the archived date, under the client's req_id.
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "t";
    req.date = S_DATE;
    zf_reg_reply_t reply;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    assert_int_equal (reply.runs[0].date, S_DATE);
    assert_int_equal (reply.runs[0].task_count, 1);
    assert_string_equal (reply.runs[0].tasks[0].executor, "exec-9");
    assert_false (reply.runs[0].paused);
    assert_int_equal (history->statuses, 1);
    //  The archive keeps no pauses: the run says whether its flow is paused now.
    zf_reg_request_t pause;
    zf_reg_request_init (&pause, ZF_BODY_ACTION, 0);
    pause.action = ZF_ACTION_PAUSE;
    pause.flow = "t";
    rh_call (h, &pause, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_true (reply.runs[0].paused);
    pause.action = ZF_ACTION_RESUME;
    rh_call (h, &pause, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    //  The open date comes from memory.
    req.date = S_DATE + 1;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.runs[0].task_count, 5);
    assert_int_equal (history->statuses, 2);

    //  An archive that answers nonsense, or nothing: a clear error.
    history->status_mode = S_WRONG_TYPE;
    req.date = S_DATE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_INTERNAL);
    assert_non_null (strstr (reply.text, "answered STATUS with"));
    history->status_mode = S_SILENT;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNAVAILABLE);
    assert_non_null (strstr (reply.text, "did not answer"));
    history->status_mode = S_ANSWER;

    //  Actions on an archived run are refused, saying why.
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = ZF_ACTION_RETRY;
    req.flow = "t";
    req.task = "a";
    req.date = S_DATE;
    req.shard = ZF_SHARD_WHOLE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_CONFLICT);
    assert_non_null (strstr (reply.text, "archived"));

    //  Logs: the highest attempt with a file, whatever else lies there.
    s_write_log (h, "a.1.log", "first\n");
    s_write_log (h, "a.2.log", "second\n");
    s_write_log (h, "a.2.log.tmp", "not a log\n");
    s_write_log (h, "a.x.log", "not a log\n");
    s_write_log (h, "ab.7.log", "another task\n");
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    req.flow = "t";
    req.task = "a";
    req.date = S_DATE;
    req.shard = ZF_SHARD_WHOLE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_LOGS_REPLY);
    assert_int_equal (reply.text_size, 7);
    assert_memory_equal (reply.text, "second\n", 7);
    req.task = "b";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_non_null (strstr (reply.text, "no log"));

    s_scene_stop (&scene);
}

//  An archiver that acknowledges nothing is reported on the bus; its
//  acknowledgement is taken.
static void
test_a_silent_archiver_is_reported (void **state)
{
    s_scene_t scene;
    s_scene_start (&scene, s_archived_source, NULL, 0);
    rh_t *h = scene.h;
    assert_int_equal (rh_submit (h, "t2", "flow: t2\ntasks:\n  - id: x\n    run: echo x\n"), 1);
    assert_true (rh_await_event (h, ZF_EV_ERROR, -1, NULL));
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    zf_reg_reply_t reply;
    rh_call (h, &req, &reply);
    uint64_t seq = (uint64_t)reply.number;
    zf_reg_request_init (&req, ZF_BODY_ARCHIVED, 0);
    req.seq = seq;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    s_scene_stop (&scene);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_cold_start_recovers_confirms_and_reruns_lost_work),
        cmocka_unit_test (test_a_cold_start_takes_the_newest_copy),
        cmocka_unit_test (test_no_answer_from_the_archiver_stops_the_start),
        cmocka_unit_test (test_archived_runs_are_read_from_the_archiver),
        cmocka_unit_test (test_a_silent_archiver_is_reported),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
