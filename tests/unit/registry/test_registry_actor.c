/*  Registry tests of the actor in-process, against a fake dispatcher: a flow
    from submit to success with gap-free events and a true STATUS, history
    for replicas (SNAPSHOT, EVENTS_SINCE), bad requests, a dispatcher that
    restarts, refusals, time with a fake clock, operator actions and logs. */
#include "reg_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

//  A business date in the past, so runs begin at once on the real clock.
#define S_DATE 20416

static const char *s_flow = "flow: t\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: a\n"
                            "    after: [start]\n"
                            "    run: echo a\n"
                            "    rollback: echo undo\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: [x, y]\n"
                            "    run: echo b\n"
                            "  - id: c\n"
                            "    after: [a]\n"
                            "    service: noop\n";

static int
s_setup (void **state)
{
    *state = rh_new (NULL, 200);
    return 0;
}

static int
s_teardown (void **state)
{
    rh_t *h = *state;
    rh_destroy (&h);
    return 0;
}

//  A key of the test flow.
static zf_task_key_t
s_key (const char *task, int32_t shard, uint32_t attempt)
{
    zf_task_key_t key = {"t", S_DATE, task, shard, attempt};
    return key;
}

//  Waits for the ACK that names key; orders that come first are kept for
//  later.
static void
s_await_ack (rh_t *h, const zf_task_key_t *key)
{
    zlist_t *other = zlist_new ();
    for (int i = 0; i < 100; i++) {
        zf_mdp_msg_t mdp;
        zmsg_t *msg = rh_disp_recv (h, &mdp);
        bool found = false;
        if (mdp.command == ZF_MDPC_ACK) {
            zf_ack_t ack;
            zf_proto_error_t err;
            assert_int_equal (zf_ack_decode (h->decoder, zframe_data (mdp.body),
                                             zframe_size (mdp.body), &ack, &err),
                              0);
            for (size_t k = 0; k < ack.key_count; k++)
                found |= zf_task_key_eq (&ack.keys[k], key);
            zmsg_destroy (&msg);
        } else
            zlist_append (other, msg);
        if (found) {
            rh_disp_keep (h, other);
            zlist_destroy (&other);
            return;
        }
    }
    fail_msg ("no ACK for %s", key->task);
}

//  Takes one REQUEST and checks it holds a single order for task.
static void
s_expect_order (rh_t *h, const char *service, const char *task, uint32_t attempt)
{
    zf_dispatch_t dispatch;
    char got[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, got);
    assert_string_equal (got, service);
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, task);
    assert_int_equal (dispatch.orders[0].attempt, attempt);
}

//  Runs a's attempt: running, then an end with status.
static void
s_run_a (rh_t *h, uint32_t attempt, int status)
{
    zf_task_key_t a = s_key ("a", ZF_SHARD_SOLE, attempt);
    rh_disp_result (h, &a, ZF_JOB_RUNNING, false);
    rh_disp_result (h, &a, status, true);
    s_await_ack (h, &a);
}

//  Takes the orders for b and c (in either order) and succeeds them.
static void
s_finish_b_and_c (rh_t *h, uint32_t attempt)
{
    for (int i = 0; i < 2; i++) {
        zf_dispatch_t dispatch;
        char service[ZF_MAX_NAME + 1];
        rh_disp_orders (h, &dispatch, service);
        assert_int_equal (dispatch.order_count, 1);
        const zf_order_t *order = &dispatch.orders[0];
        if (strcmp (order->task, "b") == 0) {
            assert_string_equal (service, "shell");
            assert_int_equal (order->shard_count, 2);
            assert_string_equal (order->shard_keys[0], "x");
            assert_string_equal (order->shard_keys[1], "y");
            assert_int_equal (order->attempt, attempt);
            zf_result_t results[2];
            for (int s = 0; s < 2; s++)
                results[s] = (zf_result_t){.key = s_key ("b", s, attempt),
                                           .status = ZF_JOB_SUCCEEDED,
                                           .executor = s ? "exec-2" : "exec-1",
                                           .winner = true};
            rh_disp_results (h, false, &results[0], 1);
            rh_disp_results (h, true, &results[1], 1);
        } else {
            assert_string_equal (order->task, "c");
            assert_string_equal (service, "noop");
            assert_null (order->command);
            zf_task_key_t c = s_key ("c", ZF_SHARD_SOLE, attempt);
            rh_disp_result (h, &c, ZF_JOB_SUCCEEDED, true);
        }
    }
}

//  ---------------------------------------------------------------------------

static void
test_a_flow_runs_from_submit_to_success (void **state)
{
    rh_t *h = *state;
    assert_int_equal (rh_submit (h, "t.yaml", s_flow), 1);
    //  Submitting the same text again makes no new version.
    assert_int_equal (rh_submit (h, "t.yaml", s_flow), 1);
    //  A flow without a run: an empty list, not an error.
    assert_int_equal (rh_state (h, "t", NULL), -1);
    assert_int_equal (rh_start (h, "t", S_DATE), S_DATE);

    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, service);
    assert_string_equal (service, "shell");
    assert_int_equal (dispatch.epoch, h->hello_epoch);
    assert_int_equal (dispatch.order_count, 1);
    const zf_order_t *order = &dispatch.orders[0];
    assert_string_equal (order->flow, "t");
    assert_int_equal (order->date, S_DATE);
    assert_string_equal (order->task, "a");
    assert_int_equal (order->attempt, 1);
    assert_int_equal (order->shard_count, 0);
    assert_string_equal (order->command, "echo a");
    assert_string_equal (order->rollback, "echo undo");
    assert_int_equal (order->rollback_count, 0);
    assert_string_equal (order->cwd, h->dir);
    assert_int_equal (order->wait_ms, 5000);

    s_run_a (h, 1, ZF_JOB_SUCCEEDED);
    s_finish_b_and_c (h, 1);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    assert_int_equal (h->gaps, 0);
    assert_int_equal (h->last_seq, rh_stat (h, "seq"));

    //  STATUS tells the same story.
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "t";
    req.date = S_DATE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    const zf_run_status_t *run = &reply.runs[0];
    assert_string_equal (run->flow, "t");
    assert_int_equal (run->state, ZF_RS_SUCCEEDED);
    assert_int_equal (run->version, 1);
    assert_int_equal (run->task_count, 4);
    assert_true (run->started > 0 && run->ended >= run->started);
    for (size_t i = 0; i < run->task_count; i++)
        assert_int_equal (run->tasks[i].state, ZF_TS_SUCCEEDED);
    assert_int_equal (run->tasks[1].attempt, 1);
    assert_string_equal (run->tasks[1].executor, "exec-1");
    assert_int_equal (run->tasks[2].shards_total, 2);
    assert_int_equal (run->tasks[2].shards_done, 2);
    assert_int_equal (run->tasks[1].shards_total, 0);
    //  All flows: the latest run of each flow that has one.
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    //  Results were counted; none was stale.
    assert_int_equal (rh_stat (h, "results"), 5);
    assert_int_equal (rh_stat (h, "stale"), 0);
}

//  Reads the parts of a multi-part reply to the last request; returns the
//  events in all and checks their seqs follow each other from first.
static size_t
s_read_parts (rh_t *h, uint64_t *seq_at, uint64_t first, bool numbered)
{
    zf_reg_reply_t reply;
    uint32_t parts = 0, part = 0;
    size_t events = 0;
    uint64_t expect = first;
    do {
        zmsg_t *msg = zmsg_recv (h->client);
        assert_non_null (msg);
        zframe_t *body = zmsg_last (msg);
        zf_proto_error_t err;
        assert_int_equal (
            zf_reg_reply_decode (h->decoder, zframe_data (body), zframe_size (body), &reply, &err),
            0);
        zmsg_destroy (&msg);
        assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);
        assert_int_equal (reply.req_id, h->req_id);
        assert_int_equal (reply.part, ++part);
        if (parts == 0) parts = reply.parts;
        assert_int_equal (reply.parts, parts);
        *seq_at = reply.seq;
        for (size_t i = 0; i < reply.event_count; i++) {
            if (numbered)
                assert_int_equal (reply.events[i].seq, expect++);
            else
                assert_int_equal (reply.events[i].seq, 0);
        }
        events += reply.event_count;
    } while (part < parts);
    return events;
}

static void
test_replicas_get_snapshots_and_history (void **state)
{
    rh_t *h = *state;
    rh_submit (h, "t.yaml", s_flow);
    rh_start (h, "t", S_DATE);
    s_expect_order (h, "shell", "a", 1);
    s_run_a (h, 1, ZF_JOB_SUCCEEDED);
    s_finish_b_and_c (h, 1);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    uint64_t last = rh_stat (h, "seq");

    //  The history begins with the term the registry took at its start,
    //  saying who took it and how.
    const zf_event_t *epoch = rh_event_at (h, 1);
    assert_int_equal (epoch->kind, ZF_EV_EPOCH);
    assert_int_equal (epoch->value, (int64_t)rh_stat (h, "epoch"));
    assert_string_equal (epoch->executor, "registry");
    assert_string_equal (epoch->detail, "started empty");

    //  Everything since the start, every event once, in order.
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, ++h->req_id);
    req.seq = 0;
    zf_proto_error_t err;
    assert_int_equal (zf_reg_request_encode (h->encoder, &req, &err), 0);
    rh_send_raw (h, zf_proto_encoder_data (h->encoder), zf_proto_encoder_size (h->encoder));
    uint64_t seq_at = 0;
    assert_int_equal (s_read_parts (h, &seq_at, 1, true), last);
    assert_int_equal (seq_at, last);
    //  A window: at most 3 after seq 5.
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, ++h->req_id);
    req.seq = 5;
    req.max = 3;
    assert_int_equal (zf_reg_request_encode (h->encoder, &req, &err), 0);
    rh_send_raw (h, zf_proto_encoder_data (h->encoder), zf_proto_encoder_size (h->encoder));
    assert_int_equal (s_read_parts (h, &seq_at, 6, true), 3);
    assert_int_equal (seq_at, 8);
    //  Nothing new: one empty part.
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
    req.seq = last;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);
    assert_int_equal (reply.event_count, 0);
    assert_int_equal (reply.seq, last);
    //  From the future: unavailable, take a snapshot.
    req.seq = last + 10;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNAVAILABLE);

    //  A snapshot at the current seq, rebuilding the same state.
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, ++h->req_id);
    assert_int_equal (zf_reg_request_encode (h->encoder, &req, &err), 0);
    rh_send_raw (h, zf_proto_encoder_data (h->encoder), zf_proto_encoder_size (h->encoder));
    size_t count = s_read_parts (h, &seq_at, 0, false);
    assert_int_equal (seq_at, last);
    assert_true (count > 5);
}

static void
test_bad_requests_get_errors_and_the_registry_serves_on (void **state)
{
    rh_t *h = *state;
    //  Frames of the wrong shape, and bodies that are not requests: dropped.
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "not a delimiter");
    zmsg_addstr (msg, "x");
    zmsg_send (&msg, h->client);
    rh_send_raw (h, "\xff\x00garbage", 9);
    //  A request with a field of the wrong type: ERROR bad_request, echoing req_id.
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 5);
    msgpack_pack_uint64 (&pk, 1);
    msgpack_pack_uint64 (&pk, ZF_BODY_START);
    msgpack_pack_uint64 (&pk, 777);
    msgpack_pack_int (&pk, 5);
    msgpack_pack_nil (&pk);
    rh_send_raw (h, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zmsg_t *answer = NULL;
    zpoller_t *poller = zpoller_new (h->client, NULL);
    assert_true (zpoller_wait (poller, RH_WAIT_MS) == h->client);
    zpoller_destroy (&poller);
    answer = zmsg_recv (h->client);
    zf_reg_reply_t reply;
    zf_proto_error_t err;
    zframe_t *body = zmsg_last (answer);
    assert_int_equal (
        zf_reg_reply_decode (h->decoder, zframe_data (body), zframe_size (body), &reply, &err), 0);
    zmsg_destroy (&answer);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    assert_int_equal (reply.req_id, 777);
    assert_non_null (strstr (reply.text, "flow"));
    //  Still serving.
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_string_equal (reply.text, "pong");
    assert_int_equal (rh_stat (h, "bad_requests"), 3);
    //  The flood is on the bus.
    assert_true (rh_await_event (h, ZF_EV_ERROR, -1, NULL));

    //  Requests that make sense but cannot be done.
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "nosuch";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_FLOW);
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "nosuch";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_FLOW);
    //  Not a business date: a clear bad_request.
    rh_submit (h, "cal.yaml",
               "flow: cal\ncalendar:\n  weekdays: [mon]\ntasks:\n  - id: s\n    type: start\n");
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "cal";
    req.date = zf_date_weekday (S_DATE) == 0 ? S_DATE + 1 : S_DATE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    assert_true (strlen (reply.text) > 10);
    //  A bad flow: every error with file:line:col.
    const char *bad = "flow: bad\ntasks:\n  - id: a\n    after: [nothere]\n    run: x\n";
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = bad;
    req.text_size = strlen (bad);
    req.path = "bad.yaml";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_INVALID_FLOW);
    assert_true (reply.line_count >= 1);
    assert_non_null (strstr (reply.lines[0], "bad.yaml:4:"));
    req.type = ZF_BODY_VALIDATE;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_INVALID_FLOW);
    req.text = s_flow;
    req.text_size = strlen (s_flow);
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    //  Validating registers nothing.
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "t";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_FLOW);
    //  A log path may not leave the log folder.
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    req.flow = "..";
    req.task = "passwd";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    //  Archived beyond the last event.
    zf_reg_request_init (&req, ZF_BODY_ARCHIVED, 0);
    req.seq = 1000000;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    assert_int_equal (rh_stat (h, "bad_requests"), 3);
    //  Results from the dispatcher that do not decode are counted too.
    zframe_t *junk = zframe_new ("\xc1", 1);
    zmsg_t *junk_msg = zf_mdp_client_new (ZF_MDPC_FINAL, "shell", &junk);
    zframe_t *identity = zframe_dup (h->peer);
    zmsg_prepend (junk_msg, &identity);
    assert_int_equal (zmsg_send (&junk_msg, h->disp), 0);
    //  Each STATS is a round trip through the actor's loop.
    int64_t deadline = zclock_mono () + RH_WAIT_MS;
    while (rh_stat (h, "dispatcher_malformed") == 0 && zclock_mono () < deadline)
        ;
    assert_int_equal (rh_stat (h, "dispatcher_malformed"), 1);
    assert_int_equal (rh_stat (h, "results"), 0);
}

//  Closes the fake dispatcher and binds a new one on the same endpoint.
static void
s_restart_dispatcher (rh_t *h)
{
    zsock_set_linger (h->disp, 0);
    zsock_destroy (&h->disp);
    zframe_destroy (&h->peer);
    h->disp = zsock_new (ZMQ_ROUTER);
    assert_non_null (h->disp);
    //  The old listener closes in the background: the port comes free soon.
    for (int i = 0; i < 500; i++) {
        if (zsock_bind (h->disp, "%s", h->disp_endpoint) >= 0) return;
        zclock_sleep (10);
    }
    fail_msg ("cannot bind %s again", h->disp_endpoint);
}

static void
test_work_lost_with_the_dispatcher_runs_again (void **state)
{
    rh_t *h = *state;
    rh_submit (h, "t.yaml", s_flow);
    rh_start (h, "t", S_DATE);
    s_expect_order (h, "shell", "a", 1);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    rh_disp_result (h, &a1, ZF_JOB_RUNNING, false);
    assert_true (rh_await_event (h, ZF_EV_TASK, ZF_TS_RUNNING, "a"));

    //  The dispatcher dies and comes back knowing nothing.
    uint64_t epoch = h->hello_epoch;
    s_restart_dispatcher (h);
    rh_disp_hello (h, NULL, 0);
    assert_int_equal (h->hello_epoch, epoch);
    //  Its first heartbeat says every held result has come: a is lost and
    //  runs again at attempt 2, its rollback first.
    rh_disp_heartbeat (h);
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, service);
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (dispatch.orders[0].rollback_count, 1);
    assert_int_equal (dispatch.orders[0].rollback_shards[0], ZF_SHARD_SOLE);
    assert_true (rh_await_event (h, ZF_EV_TASK, ZF_TS_ROLLED_BACK, "a"));
    //  The late result of the lost attempt changes nothing.
    rh_disp_result (h, &a1, ZF_JOB_SUCCEEDED, true);
    s_await_ack (h, &a1);
    assert_int_equal (rh_stat (h, "stale"), 1);
    s_run_a (h, 2, ZF_JOB_SUCCEEDED);
    s_finish_b_and_c (h, 1);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    assert_true (rh_stat (h, "reconnects") >= 1);
    assert_int_equal (h->gaps, 0);
}

static void
test_work_the_dispatcher_still_holds_is_not_run_twice (void **state)
{
    rh_t *h = *state;
    rh_submit (h, "t.yaml", s_flow);
    rh_start (h, "t", S_DATE);
    s_expect_order (h, "shell", "a", 1);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    rh_disp_result (h, &a1, ZF_JOB_RUNNING, false);
    assert_true (rh_await_event (h, ZF_EV_TASK, ZF_TS_RUNNING, "a"));
    //  The connection drops, but the dispatcher still runs a.
    s_restart_dispatcher (h);
    zf_inflight_t inflight = {a1, "exec-1"};
    rh_disp_hello (h, &inflight, 1);
    rh_disp_heartbeat (h);
    //  Nothing is sent again: the next order is b or c, after a's result.
    zf_mdp_msg_t mdp;
    zmsg_t *msg = rh_disp_poll (h, &mdp, 300);
    if (msg) assert_int_not_equal (mdp.command, ZF_MDPC_REQUEST);
    zmsg_destroy (&msg);
    rh_disp_result (h, &a1, ZF_JOB_SUCCEEDED, true);
    s_await_ack (h, &a1);
    s_finish_b_and_c (h, 1);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    assert_int_equal (rh_stat (h, "stale"), 0);
}

static void
test_refusals_fail_retry_or_raise_the_epoch (void **state)
{
    rh_t *h = *state;
    rh_submit (h, "t.yaml", s_flow);
    rh_start (h, "t", S_DATE);
    //  Overloaded: the same attempt comes again after a backoff.
    s_expect_order (h, "shell", "a", 1);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    zf_refused_t refused = {ZF_REFUSE_OVERLOADED, h->hello_epoch, "backlog full", &a1, 1};
    zf_proto_error_t err;
    assert_int_equal (zf_refused_encode (h->encoder, &refused, &err), 0);
    rh_disp_send (h, ZF_MDPC_ERROR, "shell", true);
    s_expect_order (h, "shell", "a", 1);
    s_run_a (h, 1, ZF_JOB_SUCCEEDED);

    //  No worker for c: c fails with the dispatcher's reason, on the bus too.
    for (int i = 0; i < 2; i++) {
        zf_dispatch_t dispatch;
        char service[ZF_MAX_NAME + 1];
        rh_disp_orders (h, &dispatch, service);
        if (strcmp (service, "noop") == 0) {
            zf_task_key_t c1 = s_key ("c", ZF_SHARD_SOLE, 1);
            refused = (zf_refused_t){ZF_REFUSE_NO_WORKER, h->hello_epoch,
                                     "no worker offers service noop", &c1, 1};
            assert_int_equal (zf_refused_encode (h->encoder, &refused, &err), 0);
            rh_disp_send (h, ZF_MDPC_ERROR, "noop", true);
        } else {
            zf_result_t results[2];
            for (int s = 0; s < 2; s++)
                results[s] = (zf_result_t){
                    .key = s_key ("b", s, 1), .status = ZF_JOB_SUCCEEDED, .winner = true};
            rh_disp_results (h, true, results, 2);
        }
    }
    assert_true (rh_await_event (h, ZF_EV_TASK, ZF_TS_FAILED, "c"));
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_FAILED, NULL));
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "t";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.runs[0].tasks[3].state, ZF_TS_FAILED);
    assert_non_null (strstr (reply.runs[0].tasks[3].detail, "no worker"));

    //  A stale epoch: the registry takes a newer one, durably, and says
    //  HELLO again with it.
    refused = (zf_refused_t){ZF_REFUSE_STALE_EPOCH, h->hello_epoch + 5, "epoch is old", NULL, 0};
    assert_int_equal (zf_refused_encode (h->encoder, &refused, &err), 0);
    uint64_t old = h->hello_epoch;
    rh_disp_send (h, ZF_MDPC_ERROR, "shell", true);
    rh_disp_hello (h, NULL, 0);
    assert_int_equal (h->hello_epoch, old + 6);
    assert_int_equal (rh_stat (h, "epoch"), old + 6);
    char path[128];
    snprintf (path, sizeof path, "%s/registry.epoch", h->dir);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    unsigned long long stored = 0;
    assert_int_equal (fscanf (file, "%llu", &stored), 1);
    fclose (file);
    assert_int_equal (stored, old + 6);
    assert_true (rh_await_event (h, ZF_EV_EPOCH, -1, NULL));
    const zf_event_t *epoch = rh_event_at (h, h->found_seq);
    assert_int_equal (epoch->value, (int64_t)(old + 6));
    assert_string_equal (epoch->executor, "registry");
    char how[128];
    snprintf (how, sizeof how, "raised from term %llu: the dispatcher has seen term %llu",
              (unsigned long long)old, (unsigned long long)(old + 5));
    assert_string_equal (epoch->detail, how);
    //  Orders now carry the new epoch: retry c.
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = ZF_ACTION_RETRY;
    req.flow = "t";
    req.task = "c";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, service);
    assert_int_equal (dispatch.epoch, old + 6);
    assert_string_equal (dispatch.orders[0].task, "c");
    assert_int_equal (dispatch.orders[0].attempt, 2);
}

static void
test_actions_cancel_retry_skip_and_pause (void **state)
{
    rh_t *h = *state;
    rh_submit (h, "t.yaml", s_flow);
    //  Paused: a run opens, nothing is dispatched until resume.
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = ZF_ACTION_PAUSE;
    req.flow = "t";
    rh_call (h, &req, &reply);
    assert_string_equal (reply.text, "paused");
    rh_start (h, "t", S_DATE);
    zf_mdp_msg_t mdp;
    zmsg_t *msg = rh_disp_poll (h, &mdp, 300);
    if (msg) assert_int_not_equal (mdp.command, ZF_MDPC_REQUEST);
    zmsg_destroy (&msg);
    req.action = ZF_ACTION_RESUME;
    rh_call (h, &req, &reply);
    assert_string_equal (reply.text, "resumed");
    s_expect_order (h, "shell", "a", 1);
    s_run_a (h, 1, ZF_JOB_SUCCEEDED);

    //  Cancel b while it is in flight: the dispatcher hears of each shard.
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    for (int i = 0; i < 2; i++) {
        rh_disp_orders (h, &dispatch, service);
        if (strcmp (service, "noop") == 0) {
            zf_task_key_t c = s_key ("c", ZF_SHARD_SOLE, 1);
            rh_disp_result (h, &c, ZF_JOB_SUCCEEDED, true);
        }
    }
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = ZF_ACTION_CANCEL;
    req.flow = "t";
    req.task = "b";
    req.shard_key = "y";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    for (;;) {
        msg = rh_disp_recv (h, &mdp);
        bool cancel = mdp.command == ZF_MDPC_CANCEL;
        if (cancel) {
            zf_cancel_t body;
            zf_proto_error_t err;
            assert_int_equal (zf_cancel_decode (h->decoder, zframe_data (mdp.body),
                                                zframe_size (mdp.body), &body, &err),
                              0);
            assert_string_equal (body.flow, "t");
            assert_int_equal (body.date, S_DATE);
            assert_string_equal (body.task, "b");
            assert_int_equal (body.shard, 1);
        }
        zmsg_destroy (&msg);
        if (cancel) break;
    }
    //  x succeeds; y was cancelled and its late result does not count.
    zf_result_t x = {.key = s_key ("b", 0, 1), .status = ZF_JOB_SUCCEEDED, .winner = true};
    zf_result_t y = {.key = s_key ("b", 1, 1), .status = ZF_JOB_SUCCEEDED, .winner = true};
    rh_disp_results (h, false, &x, 1);
    rh_disp_results (h, true, &y, 1);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_FAILED, NULL));
    assert_int_equal (rh_state (h, "t", "b"), ZF_TS_CANCELLED);
    //  Retry the shard: it runs alone at attempt 2.
    req.action = ZF_ACTION_RETRY;
    rh_call (h, &req, &reply);
    assert_string_equal (reply.text, "retried");
    rh_disp_orders (h, &dispatch, service);
    assert_string_equal (dispatch.orders[0].task, "b");
    assert_int_equal (dispatch.orders[0].shard_run_count, 1);
    assert_int_equal (dispatch.orders[0].shard_runs[0].shard, 1);
    assert_int_equal (dispatch.orders[0].shard_runs[0].attempt, 2);
    zf_task_key_t y2 = s_key ("b", 1, 2);
    rh_disp_result (h, &y2, ZF_JOB_FAILED, true);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_FAILED, NULL));
    //  Skip it: the run succeeds.
    req.action = ZF_ACTION_SKIP;
    rh_call (h, &req, &reply);
    assert_string_equal (reply.text, "skipped");
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    //  A shard key that does not exist.
    req.shard_key = "zz";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_TASK);
    //  Pause names a flow only.
    zf_reg_request_init (&req, ZF_BODY_ACTION, 0);
    req.action = ZF_ACTION_PAUSE;
    req.flow = "t";
    req.task = "a";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    //  The archiver's watermark confirms the successes.
    zf_reg_request_init (&req, ZF_BODY_ARCHIVED, 0);
    req.seq = rh_stat (h, "seq");
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_true (reply.number >= 4);
    assert_true (rh_await_event (h, ZF_EV_CONFIRM, -1, NULL));
}

//  Writes a log file under the registry's log folder.
static void
s_write_log (rh_t *h, const char *name, const char *text)
{
    char path[256];
    snprintf (path, sizeof path, "%s/logs/t/2025-11-24", h->dir);
    assert_int_equal (zsys_dir_create ("%s", path), 0);
    snprintf (path, sizeof path, "%s/logs/t/2025-11-24/%s", h->dir, name);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

static void
test_logs_are_read_from_the_log_folder (void **state)
{
    rh_t *h = *state;
    char date[ZF_DATE_TEXT];
    assert_string_equal (zf_date_format (S_DATE, date, sizeof date), "2025-11-24");
    rh_submit (h, "t.yaml", s_flow);
    rh_start (h, "t", S_DATE);
    s_expect_order (h, "shell", "a", 1);
    s_run_a (h, 1, ZF_JOB_FAILED);
    s_write_log (h, "a.1.log", "first line\nit broke\n");
    s_write_log (h, "b.1.2.log", "shard y, attempt 2\n");
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    //  The latest run and attempt.
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    req.flow = "t";
    req.task = "a";
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_LOGS_REPLY);
    assert_string_equal (reply.text, "first line\nit broke\n");
    assert_false (reply.truncated);
    //  A shard by key and an attempt given, without the engine's help.
    req.task = "b";
    req.shard_key = "y";
    req.attempt = 2;
    rh_call (h, &req, &reply);
    assert_string_equal (reply.text, "shard y, attempt 2\n");
    //  A sharded task needs a shard; a missing file is unknown_task.
    req.shard_key = NULL;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);
    req.shard = 0;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_TASK);
    assert_non_null (strstr (reply.text, "no log for"));
    //  b never ran: no latest attempt.
    req.attempt = 0;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_TASK);
    //  A long log: its end, cut at a character.
    char *big = malloc (9 * 1024 * 1024);
    memset (big, 'z', 9 * 1024 * 1024 - 1);
    big[9 * 1024 * 1024 - 1] = 0;
    memcpy (big + 9 * 1024 * 1024 - 5, "END\n", 4);
    s_write_log (h, "a.1.log", big);
    free (big);
    zf_reg_request_init (&req, ZF_BODY_LOGS, 0);
    req.flow = "t";
    req.task = "a";
    rh_call (h, &req, &reply);
    assert_true (reply.truncated);
    assert_int_equal (reply.text_size, 8 * 1024 * 1024);
    assert_memory_equal (reply.text + reply.text_size - 4, "END\n", 4);
    //  An attempt that ran and left no file printed nothing: an empty log.
    char path[256];
    snprintf (path, sizeof path, "%s/logs/t/2025-11-24/a.1.log", h->dir);
    assert_int_equal (unlink (path), 0);
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_LOGS_REPLY);
    assert_int_equal (reply.text_size, 0);
    assert_false (reply.truncated);
    //  An attempt that never was still has no log.
    req.attempt = 2;
    rh_call (h, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_TASK);
}

//  ---------------------------------------------------------------------------
//  Time, with a fake clock

static void
test_not_before_and_retries_wait_for_the_clock (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (zf_tz_instant ("UTC", S_DATE, 60));
    rh_t *h = rh_new (clock, 200);
    const char *flow = "flow: t\n"
                       "tasks:\n"
                       "  - id: start\n"
                       "    type: start\n"
                       "  - id: a\n"
                       "    after: [start]\n"
                       "    not_before: \"10:00\"\n"
                       "    run: echo a\n"
                       "    retries: 1\n"
                       "    retry_delay: 30s\n";
    rh_submit (h, "t.yaml", flow);
    rh_start (h, "t", S_DATE);
    assert_int_equal (rh_state (h, "t", "start"), ZF_TS_SUCCEEDED);
    assert_int_equal (rh_state (h, "t", "a"), ZF_TS_WAITING);
    //  Ten o'clock has not come: nothing goes out, even when asked to tick.
    zstr_send (h->actor, "TICK");
    zf_mdp_msg_t mdp;
    zmsg_t *msg = rh_disp_poll (h, &mdp, 200);
    if (msg) assert_int_not_equal (mdp.command, ZF_MDPC_REQUEST);
    zmsg_destroy (&msg);
    zf_clock_set (clock, zf_tz_instant ("UTC", S_DATE, 10 * 60 + 1));
    zstr_send (h->actor, "TICK");
    s_expect_order (h, "shell", "a", 1);
    //  A failure is retried after its delay, not before.
    s_run_a (h, 1, ZF_JOB_FAILED);
    assert_int_equal (rh_state (h, "t", "a"), ZF_TS_RETRYING);
    zf_clock_advance (clock, 29000);
    zstr_send (h->actor, "TICK");
    msg = rh_disp_poll (h, &mdp, 200);
    if (msg) assert_int_not_equal (mdp.command, ZF_MDPC_REQUEST);
    zmsg_destroy (&msg);
    zf_clock_advance (clock, 2000);
    zstr_send (h->actor, "TICK");
    s_expect_order (h, "shell", "a", 2);
    s_run_a (h, 2, ZF_JOB_SUCCEEDED);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    rh_destroy (&h);
    zf_clock_destroy (&clock);
}

//  The real clock: the deadline timer itself fires when a retry is due.
static void
test_the_deadline_timer_fires_on_its_own (void **state)
{
    rh_t *h = *state;
    const char *flow = "flow: r\n"
                       "tasks:\n"
                       "  - id: a\n"
                       "    run: echo a\n"
                       "    retries: 1\n"
                       "    retry_delay: 300ms\n";
    rh_submit (h, "r.yaml", flow);
    rh_start (h, "r", S_DATE);
    zf_dispatch_t dispatch;
    char service[ZF_MAX_NAME + 1];
    rh_disp_orders (h, &dispatch, service);
    zf_task_key_t a = {"r", S_DATE, "a", ZF_SHARD_SOLE, 1};
    int64_t failed_at = zclock_mono ();
    rh_disp_result (h, &a, ZF_JOB_FAILED, true);
    rh_disp_orders (h, &dispatch, service);
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_true (zclock_mono () - failed_at >= 250);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_flow_runs_from_submit_to_success, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replicas_get_snapshots_and_history, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_requests_get_errors_and_the_registry_serves_on,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_work_lost_with_the_dispatcher_runs_again, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_work_the_dispatcher_still_holds_is_not_run_twice,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refusals_fail_retry_or_raise_the_epoch, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_actions_cancel_retry_skip_and_pause, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_logs_are_read_from_the_log_folder, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_not_before_and_retries_wait_for_the_clock),
        cmocka_unit_test_setup_teardown (test_the_deadline_timer_fires_on_its_own, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
