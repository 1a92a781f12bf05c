/*  Registry tests of a cold start: the actor recovers from a fake archiver
    (a ROUTER in a thread answering SNAPSHOT with a snapshot and the journal
    after it), then settles what was in flight once the fake dispatcher has
    said what it holds (invariant 5). */
#include "reg_harness.h"
#include "zf_engine.h"
#include "zf_event_wire.h"
#include "zf_regapi.h"

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
    uint64_t seq_at; //  the last journal event's seq
    bool journal;    //  the listener is recording the journal now
} s_history_t;

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

//  The fake archiver: answers one SNAPSHOT with the history in two parts,
//  then waits for $TERM.
static void
s_archiver (zsock_t *pipe, void *args)
{
    s_history_t *history = args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_true (zsock_bind (router, "tcp://127.0.0.1:*") > 0);
    zsock_signal (pipe, 0);
    zstr_send (pipe, zsock_endpoint (router));
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
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
            assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
            zmsg_t *out = zmsg_new ();
            zmsg_append (out, &(zframe_t *){zframe_dup (identity)});
            zmsg_addmem (out, "", 0);
            zmsg_addmem (out, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
            zmsg_send (&out, router);
        }
        zframe_destroy (&identity);
        zframe_destroy (&empty);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zf_proto_decoder_destroy (&dec);
    zf_proto_encoder_destroy (&enc);
    zsock_destroy (&router);
}

//  A source engine's history: a snapshot after the run began and a, c and d
//  were dispatched, then a journal in which a and d run and c succeeds.
static zf_engine_t *
s_source (zf_clock_t *clock, s_history_t *history)
{
    zf_engine_t *engine = zf_engine_new (clock);
    zf_engine_set_listener (engine, s_take_journal, history);
    assert_int_equal (zf_engine_set_epoch (engine, 3), 0);
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
    history->journal = true;
    zf_task_key_t a = {"t", S_DATE, "a", ZF_SHARD_ALL, 1};
    zf_task_key_t c = {"t", S_DATE, "c", ZF_SHARD_ALL, 1};
    zf_task_key_t d = {"t", S_DATE, "d", ZF_SHARD_ALL, 1};
    assert_int_equal (zf_engine_running (engine, &a, "exec-1"), 0);
    assert_int_equal (zf_engine_running (engine, &c, "exec-1"), 0);
    assert_int_equal (zf_engine_running (engine, &d, "exec-2"), 0);
    assert_int_equal (zf_engine_result (engine, &c, ZF_OUTCOME_SUCCEEDED, 0, "exec-1", NULL), 0);
    return engine;
}

static void
test_a_cold_start_recovers_confirms_and_reruns_lost_work (void **state)
{
    zf_clock_t *clock = zf_clock_new_real ();
    s_history_t *history = calloc (1, sizeof *history);
    zf_engine_t *source = s_source (clock, history);
    uint64_t durable = history->seq_at;

    zactor_t *archiver = zactor_new (s_archiver, history);
    char *endpoint = zstr_recv (archiver);
    //  The dispatcher still runs d (attempt 1); a was lost with it.
    zf_inflight_t live = {{"t", S_DATE, "d", ZF_SHARD_ALL, 1}, "exec-2"};
    rh_t *h = rh_new_recovering (endpoint, &live, 1);
    //  The registry carries on numbering after the durable history.
    assert_true (rh_stat (h, 7) > durable);
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
    zf_task_key_t a2 = {"t", S_DATE, "a", ZF_SHARD_ALL, 2};
    zf_task_key_t d1 = {"t", S_DATE, "d", ZF_SHARD_ALL, 1};
    rh_disp_result (h, &a2, ZF_JOB_SUCCEEDED, true);
    rh_disp_result (h, &d1, ZF_JOB_SUCCEEDED, true);
    rh_disp_orders (h, &dispatch, service);
    assert_string_equal (dispatch.orders[0].task, "b");
    zf_task_key_t b1 = {"t", S_DATE, "b", ZF_SHARD_ALL, 1};
    rh_disp_result (h, &b1, ZF_JOB_SUCCEEDED, true);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));

    rh_destroy (&h);
    zactor_destroy (&archiver);
    zstr_free (&endpoint);
    zf_engine_destroy (&source);
    free (history);
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

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_cold_start_recovers_confirms_and_reruns_lost_work),
        cmocka_unit_test (test_no_answer_from_the_archiver_stops_the_start),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
