/*  Tests of the registry's session with the dispatcher, without sockets: a
    real engine on a fake clock, and ops that record what the session asks
    for. Every transition of the table in session.h, the back-off doubling
    and its cap, resends of refused attempts still dispatched, order
    failures of a whole task and of single shards, a HELLO_REPLY cut short,
    stale epochs, the cold-start settle, acknowledgements, cancels, the
    in-flight limit and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session.h"
#include "zf_clock.h"

//  A business date (a Monday) well before the clock: its run starts at once.
#define S_DATE 20416

#define S_MAX  64
#define S_TEXT 256

//  a and c start at once; b (three shards) follows a.
static const char *s_flow = "flow: t\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    run: echo a\n"
                            "    rollback: echo undo\n"
                            "  - id: c\n"
                            "    service: noop\n"
                            "  - id: b\n"
                            "    after: [a]\n"
                            "    shards: [x, y, z]\n"
                            "    run: echo b\n";

//  One message the session sent.
typedef struct {
    uint8_t command;               //  ZF_MDPC_*
    char service[ZF_MAX_NAME + 1]; //  REQUEST's service
    void *body;                    //  a copy of the body, or NULL
    size_t size;                   //  its bytes
} s_msg_t;

typedef struct {
    zf_clock_t *clock;
    zf_engine_t *engine;
    zf_session_config_t cfg;
    zf_session_t *session;
    zf_proto_decoder_t *decoder;
    zf_proto_encoder_t *encoder;
    s_msg_t msgs[S_MAX];
    size_t count; //  messages sent
    size_t read;  //  messages looked at
    int connects;
    int connect_rc;
    bool watched;
    bool refuse_requests;
    bool refuse_all;
    char errors[S_MAX][S_TEXT];
    size_t error_count;
    uint64_t raised[S_MAX];
    size_t raise_count;
    int raise_rc;
    size_t bus_errors; //  ERROR events the engine made
} s_fixture_t;

//  ---------------------------------------------------------------------------
//  The ops

static int
s_connect (void *arg, bool *watched)
{
    s_fixture_t *fx = arg;
    fx->connects++;
    *watched = fx->watched;
    return fx->connect_rc;
}

static int
s_send (void *arg, uint8_t command, const char *service, const void *body, size_t size)
{
    s_fixture_t *fx = arg;
    if (fx->refuse_all || (fx->refuse_requests && command == ZF_MDPC_REQUEST)) return -1;
    assert_true (fx->count < S_MAX);
    s_msg_t *msg = &fx->msgs[fx->count++];
    msg->command = command;
    snprintf (msg->service, sizeof msg->service, "%s", service ? service : "");
    msg->body = body ? malloc (size) : NULL;
    if (body) memcpy (msg->body, body, size);
    msg->size = size;
    return 0;
}

static void
s_error (void *arg, const char *service, const char *text)
{
    s_fixture_t *fx = arg;
    assert_true (fx->error_count < S_MAX);
    snprintf (fx->errors[fx->error_count++], S_TEXT, "%s: %s", service, text);
}

//  Raises the term as the registry does, unless told to fail.
static int
s_raise_epoch (void *arg, uint64_t newest)
{
    s_fixture_t *fx = arg;
    fx->raised[fx->raise_count++] = newest;
    if (fx->raise_rc != 0) return fx->raise_rc;
    uint64_t current = zf_engine_epoch (fx->engine);
    zf_engine_set_epoch (fx->engine, (newest > current ? newest : current) + 1, "registry",
                         "raised");
    return 0;
}

static const zf_session_ops_t s_ops = {s_connect, s_send, s_error, s_raise_epoch};

static void
s_on_event (const zf_event_t *event, void *arg)
{
    s_fixture_t *fx = arg;
    if (event->kind == ZF_EV_ERROR) fx->bus_errors++;
}

//  ---------------------------------------------------------------------------
//  Fixture

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    fx->clock = zf_clock_new_fake (1795000000000LL);
    fx->engine = zf_engine_new (fx->clock);
    fx->decoder = zf_proto_decoder_new ();
    fx->encoder = zf_proto_encoder_new ();
    fx->watched = true;
    zf_engine_set_listener (fx->engine, s_on_event, fx);
    assert_int_equal (zf_engine_set_epoch (fx->engine, 7, NULL, NULL), 0);
    assert_int_equal (zf_engine_submit (fx->engine, s_flow, strlen (s_flow), "/f/t.yaml", NULL), 1);
    fx->cfg = (zf_session_config_t){.name = "registry",
                                    .endpoint = "tcp://127.0.0.1:5560",
                                    .heartbeat_ms = 1000,
                                    .liveness = 3,
                                    .max_in_flight = 1000,
                                    .wait_ms = 5000};
    fx->session = zf_session_new (&fx->cfg, fx->engine, fx->clock, &s_ops, fx);
    assert_non_null (fx->session);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_session_destroy (&fx->session);
    zf_engine_destroy (&fx->engine);
    zf_clock_destroy (&fx->clock);
    zf_proto_decoder_destroy (&fx->decoder);
    zf_proto_encoder_destroy (&fx->encoder);
    for (size_t i = 0; i < fx->count; i++)
        free (fx->msgs[i].body);
    free (fx);
    return 0;
}

//  Remakes the session with the fixture's configuration.
static void
s_remake (s_fixture_t *fx)
{
    zf_session_destroy (&fx->session);
    fx->session = zf_session_new (&fx->cfg, fx->engine, fx->clock, &s_ops, fx);
    assert_non_null (fx->session);
}

//  ---------------------------------------------------------------------------
//  What was sent

//  The next message sent with command since the last look, or NULL; the
//  messages before it are passed over.
static s_msg_t *
s_next (s_fixture_t *fx, uint8_t command)
{
    while (fx->read < fx->count) {
        s_msg_t *msg = &fx->msgs[fx->read++];
        if (msg->command == command) return msg;
    }
    return NULL;
}

//  Forgets what was sent so far.
static void
s_skip (s_fixture_t *fx)
{
    fx->read = fx->count;
}

//  Messages with command sent since the last look (not consumed).
static size_t
s_count (s_fixture_t *fx, uint8_t command)
{
    size_t count = 0;
    for (size_t i = fx->read; i < fx->count; i++)
        count += fx->msgs[i].command == command;
    return count;
}

//  The epoch of the next HELLO.
static uint64_t
s_hello (s_fixture_t *fx)
{
    s_msg_t *msg = s_next (fx, ZF_MDPC_HELLO);
    assert_non_null (msg);
    zf_hello_t hello;
    zf_proto_error_t err;
    assert_int_equal (zf_hello_decode (fx->decoder, msg->body, msg->size, &hello, &err), 0);
    assert_string_equal (hello.name, "registry");
    return hello.epoch;
}

//  The next REQUEST's orders (held by the decoder until the next decode).
static void
s_orders (s_fixture_t *fx, zf_dispatch_t *dispatch, const char *service)
{
    s_msg_t *msg = s_next (fx, ZF_MDPC_REQUEST);
    assert_non_null (msg);
    assert_string_equal (msg->service, service);
    zf_proto_error_t err;
    assert_int_equal (zf_dispatch_decode (fx->decoder, msg->body, msg->size, dispatch, &err), 0);
}

//  The next ACK, decoded into ack (held by the decoder until its next use).
static void
s_ack (s_fixture_t *fx, zf_ack_t *ack)
{
    s_msg_t *msg = s_next (fx, ZF_MDPC_ACK);
    assert_non_null (msg);
    zf_proto_error_t err;
    assert_int_equal (zf_ack_decode (fx->decoder, msg->body, msg->size, ack, &err), 0);
}

//  True if an error said so.
static bool
s_said (s_fixture_t *fx, const char *text)
{
    for (size_t i = 0; i < fx->error_count; i++)
        if (strstr (fx->errors[i], text)) return true;
    return false;
}

//  ---------------------------------------------------------------------------
//  Driving

static zf_task_key_t
s_key (const char *task, int32_t shard, uint32_t attempt)
{
    return (zf_task_key_t){"t", S_DATE, task, shard, attempt};
}

//  The dispatcher answers HELLO with the attempts it holds.
static void
s_reply (s_fixture_t *fx, uint64_t epoch, const zf_inflight_t *inflight, size_t count)
{
    zf_hello_reply_t reply = {epoch, inflight, count};
    zf_session_on_hello_reply (fx->session, &reply);
}

//  Starts the session and gets it ready with nothing held.
static void
s_ready (s_fixture_t *fx)
{
    assert_int_equal (zf_session_start (fx->session), 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_int_equal (s_hello (fx), zf_engine_epoch (fx->engine));
    s_reply (fx, zf_engine_epoch (fx->engine), NULL, 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
}

//  Opens the run and sends its first orders (a and c).
static void
s_run (s_fixture_t *fx)
{
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 1);
    s_orders (fx, &dispatch, "noop");
    assert_string_equal (dispatch.orders[0].task, "c");
}

//  A result from the dispatcher.
static void
s_result (s_fixture_t *fx, const zf_task_key_t *key, int status)
{
    zf_result_t result = {.key = *key,
                          .status = (uint8_t)status,
                          .executor = "exec-1",
                          .started = 1,
                          .ended = status == ZF_JOB_RUNNING ? 0 : 2,
                          .winner = status != ZF_JOB_RUNNING};
    zf_results_t results = {&result, 1};
    zf_session_on_results (fx->session, &results);
}

//  Gets the session ready, runs a to its success and sends b's shards.
static void
s_run_b (s_fixture_t *fx)
{
    s_ready (fx);
    s_run (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "b");
    assert_int_equal (dispatch.orders[0].shard_count, 3);
}

//  A refusal from the dispatcher.
static void
s_refuse (s_fixture_t *fx, int code, const zf_task_key_t *keys, size_t count)
{
    zf_refused_t refused = {(uint8_t)code, zf_engine_epoch (fx->engine), "no", keys, count};
    zf_session_on_refused (fx->session, "shell", &refused);
}

//  The state of one shard of the run.
static int
s_shard (s_fixture_t *fx, const char *task, int32_t shard, uint32_t *attempt)
{
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (fx->engine, "t", S_DATE, &run), 0);
    int32_t index = zf_flow_task_index (run.definition, task);
    assert_true (index >= 0);
    zf_engine_shard_info_t info;
    assert_int_equal (zf_engine_shard_info (fx->engine, "t", S_DATE, (uint32_t)index, shard, &info),
                      0);
    if (attempt) *attempt = info.attempt;
    return info.state;
}

//  Moves the clock.
static void
s_wait (s_fixture_t *fx, int64_t ms)
{
    zf_clock_advance (fx->clock, ms);
}

//  ---------------------------------------------------------------------------
//  Connections and HELLO

static void
test_off_until_a_connection_is_made (void **state)
{
    s_fixture_t *fx = *state;
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_OFF);
    //  off --start, no connection--> off
    fx->connect_rc = -1;
    assert_int_equal (zf_session_start (fx->session), -1);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_OFF);
    assert_int_equal (fx->count, 0);
    //  Orders and acknowledgements wait without a connection.
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    zf_task_key_t stray = s_key ("a", ZF_SHARD_SOLE, 9);
    s_result (fx, &stray, ZF_JOB_SUCCEEDED);
    zf_session_flush (fx->session);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.acks_lost, 1);
    //  off --interval, connection made--> hello
    fx->connect_rc = 0;
    zf_session_tick (fx->session);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_int_equal (s_hello (fx), 7);
    //  A reply in any other state than hello changes nothing.
    s_reply (fx, 7, NULL, 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    s_reply (fx, 7, NULL, 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    //  A HELLO the socket refuses leaves the session off.
    fx->refuse_all = true;
    zf_session_disconnected (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_OFF);
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.unsent, 1);
    assert_int_equal (stats.reconnects, 1);
}

static void
test_a_reply_with_nothing_in_flight_makes_it_ready (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    assert_int_equal (fx->connects, 1);
    s_run (fx);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.orders.sent, 2);
    assert_int_equal (stats.orders.requests, 2);
    assert_int_equal (fx->error_count, 0);
}

static void
test_lost_work_runs_again_after_the_first_heartbeat (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_RUNNING);
    //  any --connection closed--> hello, on a fresh connection
    zf_session_disconnected (fx->session);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_true (s_said (fx, "dispatcher session lost"));
    assert_int_equal (s_hello (fx), 7);
    //  hello --reply, work in flight--> sync: nothing is sent meanwhile.
    zf_inflight_t held = {s_key ("c", ZF_SHARD_SOLE, 1), "exec-2"};
    s_reply (fx, 7, &held, 1);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_SYNC);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    //  sync --heartbeat--> ready: a was lost and runs again with its
    //  rollback; c, which the dispatcher holds, does not.
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    assert_true (s_said (fx, "1 attempt lost with the dispatcher"));
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (dispatch.orders[0].rollback_count, 1);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    assert_int_equal (s_shard (fx, "c", ZF_SHARD_SOLE, NULL), ZF_TS_DISPATCHED);
    //  Later heartbeats change nothing.
    zf_session_on_heartbeat (fx->session);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
}

static void
test_a_newer_attempt_the_dispatcher_holds_counts_as_live (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_session_disconnected (fx->session);
    s_skip (fx);
    //  The dispatcher requeued a after losing a worker: it holds a#2 (and
    //  lists a#1 after it; the newest counts).
    zf_inflight_t held[3] = {{s_key ("a", ZF_SHARD_SOLE, 2), NULL},
                             {s_key ("a", ZF_SHARD_SOLE, 1), NULL},
                             {s_key ("c", ZF_SHARD_SOLE, 1), NULL}};
    s_reply (fx, 7, held, 3);
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    assert_false (s_said (fx, "lost with the dispatcher"));
}

static void
test_a_reply_cut_short_sends_unlisted_work_again (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_session_disconnected (fx->session);
    s_skip (fx);
    //  ZF_MAX_BATCH attempts, c among them, a not: the list may have been
    //  cut, so nothing counts as lost and a goes again as it is.
    zf_inflight_t *held = calloc (ZF_MAX_BATCH, sizeof *held);
    char (*tasks)[16] = calloc (ZF_MAX_BATCH, sizeof *tasks);
    for (size_t i = 0; i < ZF_MAX_BATCH; i++) {
        snprintf (tasks[i], sizeof tasks[i], "other%zu", i);
        held[i].key = (zf_task_key_t){"elsewhere", S_DATE, tasks[i], ZF_SHARD_SOLE, 1};
    }
    held[17].key = s_key ("c", ZF_SHARD_SOLE, 1);
    s_reply (fx, 7, held, ZF_MAX_BATCH);
    free (held);
    free (tasks);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.lists_cut, 1);
    //  hello --reply cut short--> ready
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 1);
    assert_int_equal (dispatch.orders[0].rollback_count, 0);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    assert_int_equal (s_shard (fx, "a", ZF_SHARD_SOLE, NULL), ZF_TS_DISPATCHED);
}

//  ---------------------------------------------------------------------------
//  Epochs

static void
test_a_stale_epoch_raises_the_term_and_starts_afresh (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    //  any --stale epoch--> hello, with a term above the dispatcher's
    zf_refused_t refused = {ZF_REFUSE_STALE_EPOCH, 12, "epoch is old", NULL, 0};
    zf_session_on_refused (fx->session, "*", &refused);
    assert_int_equal (fx->raise_count, 1);
    assert_int_equal (fx->raised[0], 12);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_int_equal (s_hello (fx), 13);
    assert_true (s_said (fx, "dispatcher refused epoch 7"));
    //  hello --reply with a newer epoch--> hello, the term raised again
    s_reply (fx, 20, NULL, 0);
    assert_int_equal (fx->raised[1], 20);
    assert_int_equal (fx->connects, 3);
    assert_int_equal (s_hello (fx), 21);
    s_reply (fx, 21, NULL, 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    //  A term that cannot be raised leaves the session as it is.
    fx->raise_rc = -1;
    refused.epoch = 30;
    zf_session_on_refused (fx->session, "*", &refused);
    assert_int_equal (fx->connects, 3);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.refusals, 2);
    assert_int_equal (stats.reconnects, 2);
}

//  ---------------------------------------------------------------------------
//  Back-off and resends

static void
test_the_back_off_doubles_up_to_its_cap (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    int64_t expected[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        //  ready --overloaded--> ready, backing off
        int64_t now = zf_clock_mono_us (fx->clock) / 1000;
        s_refuse (fx, ZF_REFUSE_OVERLOADED, &a1, 1);
        assert_int_equal (zf_session_backoff_end (fx->session) - now, expected[i]);
        //  A second refusal while backing off does not move the end.
        s_refuse (fx, ZF_REFUSE_OVERLOADED, &a1, 1);
        assert_int_equal (zf_session_backoff_end (fx->session) - now, expected[i]);
        //  Not before its end.
        s_wait (fx, expected[i] - 1);
        zf_session_backoff_over (fx->session);
        assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
        //  ready --back-off over--> ready, the refused attempt sent again
        s_wait (fx, 1);
        zf_session_backoff_over (fx->session);
        assert_int_equal (zf_session_backoff_end (fx->session), -1);
        zf_dispatch_t dispatch;
        s_orders (fx, &dispatch, "shell");
        assert_string_equal (dispatch.orders[0].task, "a");
        assert_int_equal (dispatch.orders[0].attempt, 1);
        //  Refused again soon after: the next wait doubles.
        s_wait (fx, 10);
    }
    //  A refusal long after the last resend starts from the minimum again.
    s_wait (fx, 2 * ZF_SESSION_BACKOFF_MAX_MS);
    int64_t now = zf_clock_mono_us (fx->clock) / 1000;
    s_refuse (fx, ZF_REFUSE_OVERLOADED, &a1, 1);
    assert_int_equal (zf_session_backoff_end (fx->session) - now, ZF_SESSION_BACKOFF_MIN_MS);
    assert_true (s_said (fx, "retry_in_ms=5000"));
}

static void
test_no_new_orders_while_backing_off (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_refuse (fx, ZF_REFUSE_OVERLOADED, &a1, 1);
    //  c becomes ready again meanwhile: it waits for the back-off.
    assert_int_equal (zf_engine_cancel (fx->engine, "t", S_DATE, "c", ZF_SHARD_SOLE, NULL, NULL),
                      0);
    assert_int_equal (zf_engine_retry (fx->engine, "t", S_DATE, "c", ZF_SHARD_SOLE), 0);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    s_wait (fx, ZF_SESSION_BACKOFF_MIN_MS);
    zf_session_backoff_over (fx->session);
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "a");
    s_orders (fx, &dispatch, "noop");
    assert_string_equal (dispatch.orders[0].task, "c");
    assert_int_equal (dispatch.orders[0].attempt, 2);
}

static void
test_only_attempts_still_dispatched_are_sent_again (void **state)
{
    s_fixture_t *fx = *state;
    s_run_b (fx);
    //  Every shard of b and c refused; then shard 1 of b starts running
    //  (another copy got through) and c is cancelled.
    zf_task_key_t refused[4] = {s_key ("b", 0, 1), s_key ("b", 1, 1), s_key ("b", 2, 1),
                                s_key ("c", ZF_SHARD_SOLE, 1)};
    s_refuse (fx, ZF_REFUSE_OVERLOADED, refused, 4);
    zf_task_key_t b1 = s_key ("b", 1, 1);
    s_result (fx, &b1, ZF_JOB_RUNNING);
    assert_int_equal (zf_engine_cancel (fx->engine, "t", S_DATE, "c", ZF_SHARD_SOLE, NULL, NULL),
                      0);
    s_wait (fx, ZF_SESSION_BACKOFF_MIN_MS);
    zf_session_backoff_over (fx->session);
    //  One order for b's shards 0 and 2, none for c.
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_int_equal (dispatch.order_count, 1);
    assert_string_equal (dispatch.orders[0].task, "b");
    assert_int_equal (dispatch.orders[0].shard_run_count, 2);
    assert_int_equal (dispatch.orders[0].shard_runs[0].shard, 0);
    assert_int_equal (dispatch.orders[0].shard_runs[1].shard, 2);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
}

static void
test_a_whole_request_refused_starts_afresh_after_the_back_off (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    s_refuse (fx, ZF_REFUSE_OVERLOADED, NULL, 0);
    assert_int_equal (fx->connects, 1);
    s_wait (fx, ZF_SESSION_BACKOFF_MIN_MS);
    //  any --back-off over, whole request refused--> hello
    zf_session_backoff_over (fx->session);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_int_equal (s_hello (fx), 7);
    assert_true (s_said (fx, "refused a whole request as overloaded"));
}

static void
test_orders_the_socket_refuses_start_afresh (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    fx->refuse_requests = true;
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    //  any --the socket refused orders--> hello
    zf_session_pump (fx->session);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_true (s_said (fx, "the socket to the dispatcher refused orders"));
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.orders.unsent, 2);
    assert_int_equal (stats.orders.sent, 0);
    //  The new session finds them missing and sends them again.
    fx->refuse_requests = false;
    assert_int_equal (s_hello (fx), 7);
    s_reply (fx, 7, NULL, 0);
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_int_equal (dispatch.orders[0].attempt, 2);
}

//  ---------------------------------------------------------------------------
//  Failures

static void
test_refused_orders_fail_the_whole_task_or_single_shards (void **state)
{
    s_fixture_t *fx = *state;
    s_run_b (fx);
    //  One shard: only that one fails, with the dispatcher's reason.
    zf_task_key_t b0 = s_key ("b", 0, 1);
    s_refuse (fx, ZF_REFUSE_BAD_REQUEST, &b0, 1);
    assert_int_equal (s_shard (fx, "b", 0, NULL), ZF_TS_FAILED);
    assert_int_equal (s_shard (fx, "b", 1, NULL), ZF_TS_DISPATCHED);
    assert_true (s_said (fx, "orders refused code=bad_request"));
    //  The whole task: every shard still in flight at that attempt fails.
    zf_task_key_t b1 = s_key ("b", 1, 1);
    s_result (fx, &b1, ZF_JOB_RUNNING);
    zf_task_key_t whole = s_key ("b", ZF_SHARD_WHOLE, 1);
    s_refuse (fx, ZF_REFUSE_NO_WORKER, &whole, 1);
    assert_int_equal (s_shard (fx, "b", 1, NULL), ZF_TS_FAILED);
    assert_int_equal (s_shard (fx, "b", 2, NULL), ZF_TS_FAILED);
    //  An unsharded task named whole fails its one shard.
    zf_task_key_t c_whole = s_key ("c", ZF_SHARD_WHOLE, 1);
    s_refuse (fx, ZF_REFUSE_NO_WORKER, &c_whole, 1);
    assert_int_equal (s_shard (fx, "c", ZF_SHARD_SOLE, NULL), ZF_TS_FAILED);
}

static void
test_an_order_that_cannot_be_encoded_fails_its_shards (void **state)
{
    s_fixture_t *fx = *state;
    //  A flow whose folder is longer than the wire takes.
    size_t length = ZF_MAX_COMMAND + 16;
    char *path = malloc (length + 16);
    path[0] = '/';
    memset (path + 1, 'd', length);
    strcpy (path + 1 + length, "/w.yaml");
    const char *text = "flow: w\n"
                       "tasks:\n"
                       "  - id: wide\n"
                       "    shards: 3\n"
                       "    run: echo w\n";
    assert_int_equal (zf_engine_submit (fx->engine, text, strlen (text), path, NULL), 1);
    free (path);
    s_ready (fx);
    assert_int_equal (zf_engine_start (fx->engine, "w", S_DATE), 0);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    //  Every shard of the whole order failed, saying why.
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (fx->engine, "w", S_DATE, &run), 0);
    for (int32_t shard = 0; shard < 3; shard++) {
        zf_engine_shard_info_t info;
        assert_int_equal (zf_engine_shard_info (fx->engine, "w", S_DATE, 0, shard, &info), 0);
        assert_int_equal (info.state, ZF_TS_FAILED);
        assert_non_null (strstr (info.detail, "the order could not be sent"));
    }
    assert_true (s_said (fx, "order not sent flow=w task=wide"));
    //  Shards at different attempts: the order names each with its own,
    //  and each fails at its attempt.
    assert_int_equal (zf_engine_retry (fx->engine, "w", S_DATE, "wide", 0), 0);
    zf_session_pump (fx->session);
    assert_int_equal (zf_engine_retry (fx->engine, "w", S_DATE, "wide", 0), 0);
    assert_int_equal (zf_engine_retry (fx->engine, "w", S_DATE, "wide", 1), 0);
    zf_session_pump (fx->session);
    uint32_t expected[3] = {3, 2, 1};
    for (int32_t shard = 0; shard < 3; shard++) {
        zf_engine_shard_info_t info;
        assert_int_equal (zf_engine_shard_info (fx->engine, "w", S_DATE, 0, shard, &info), 0);
        assert_int_equal (info.state, ZF_TS_FAILED);
        assert_int_equal (info.attempt, expected[shard]);
    }
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.orders.failed, 3);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
}

//  ---------------------------------------------------------------------------
//  Silence and heartbeats

static void
test_silence_past_liveness_starts_afresh (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    zf_session_connected (fx->session);
    //  A heartbeat once nothing was sent for an interval.
    s_wait (fx, 1000);
    zf_session_tick (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_HEARTBEAT), 1);
    //  Any message counts as life.
    zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_HEARTBEAT, NULL, NULL);
    s_wait (fx, 2500);
    zf_session_on_message (fx->session, msg);
    s_wait (fx, 2500);
    zf_session_tick (fx->session);
    assert_int_equal (fx->connects, 1);
    //  any --silence past liveness while connected--> hello
    s_wait (fx, 501);
    zf_session_tick (fx->session);
    assert_int_equal (fx->connects, 2);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_HELLO);
    assert_true (s_said (fx, "the dispatcher fell silent"));
    //  Not connected yet, with a monitor watching: HELLO waits in the
    //  socket, nothing starts over.
    s_wait (fx, 3001);
    zf_session_tick (fx->session);
    assert_int_equal (fx->connects, 2);
    //  Without a monitor, silence is all there is to go by.
    fx->watched = false;
    zf_session_disconnected (fx->session);
    assert_int_equal (fx->connects, 3);
    s_wait (fx, 3001);
    zf_session_tick (fx->session);
    assert_int_equal (fx->connects, 4);
    //  Only the first loss reached the bus; the session back says so.
    size_t lost = 0;
    for (size_t i = 0; i < fx->error_count; i++)
        lost += strstr (fx->errors[i], "dispatcher session lost") != NULL;
    assert_int_equal (lost, 1);
    s_skip (fx);
    zmsg_destroy (&msg);
}

//  ---------------------------------------------------------------------------
//  A cold start

static void
test_a_cold_start_settles_at_the_first_heartbeat (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    //  The registry restarts from the archiver with a and c in flight.
    zf_session_set_cold (fx->session, UINT64_MAX);
    zf_session_disconnected (fx->session);
    zf_inflight_t held = {s_key ("c", ZF_SHARD_SOLE, 1), "exec-2"};
    s_reply (fx, 7, &held, 1);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_SYNC);
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    //  a was interrupted by the restart: rolled back, then again.
    assert_true (s_said (fx, "interrupted by the restart"));
    uint32_t attempt = 0;
    s_shard (fx, "a", ZF_SHARD_SOLE, &attempt);
    assert_int_equal (attempt, 2);
    assert_int_equal (s_shard (fx, "c", ZF_SHARD_SOLE, NULL), ZF_TS_DISPATCHED);
    s_skip (fx);
    zf_session_pump (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (dispatch.orders[0].rollback_count, 1);
    //  Settled once: a later session requeues as usual.
    zf_session_disconnected (fx->session);
    s_reply (fx, 7, &held, 1);
    zf_session_on_heartbeat (fx->session);
    assert_true (s_said (fx, "1 attempt lost with the dispatcher"));
}

static void
test_a_cold_start_with_nothing_in_flight_settles_at_the_reply (void **state)
{
    s_fixture_t *fx = *state;
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    //  a succeeded before the restart, unconfirmed.
    zf_engine_order_t order;
    while (zf_engine_next_order (fx->engine, &order) == 1)
        ;
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    assert_int_equal (zf_engine_result (fx->engine, &a1, ZF_OUTCOME_SUCCEEDED, 0, "e", NULL), 0);
    zf_task_key_t c1 = s_key ("c", ZF_SHARD_SOLE, 1);
    assert_int_equal (zf_engine_result (fx->engine, &c1, ZF_OUTCOME_SUCCEEDED, 0, "e", NULL), 0);
    while (zf_engine_next_order (fx->engine, &order) == 1)
        ;
    for (int32_t shard = 0; shard < 3; shard++) {
        zf_task_key_t b = s_key ("b", shard, 1);
        assert_int_equal (zf_engine_result (fx->engine, &b, ZF_OUTCOME_SUCCEEDED, 0, "e", NULL), 0);
    }
    zf_session_set_cold (fx->session, UINT64_MAX);
    s_ready (fx);
    //  Every success came from the store: confirmed.
    assert_int_equal (s_shard (fx, "a", ZF_SHARD_SOLE, NULL), ZF_TS_CONFIRMED);
}

static void
test_a_cold_start_with_a_reply_cut_short_confirms_and_resends (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_task_key_t c1 = s_key ("c", ZF_SHARD_SOLE, 1);
    s_result (fx, &c1, ZF_JOB_SUCCEEDED);
    zf_session_set_cold (fx->session, UINT64_MAX);
    zf_session_disconnected (fx->session);
    s_skip (fx);
    zf_inflight_t *held = calloc (ZF_MAX_BATCH, sizeof *held);
    for (size_t i = 0; i < ZF_MAX_BATCH; i++)
        held[i].key = (zf_task_key_t){"elsewhere", S_DATE, "x", (int32_t)i, 1};
    s_reply (fx, 7, held, ZF_MAX_BATCH);
    free (held);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    assert_int_equal (s_shard (fx, "c", ZF_SHARD_SOLE, NULL), ZF_TS_CONFIRMED);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "a");
    assert_int_equal (dispatch.orders[0].attempt, 1);
}

//  ---------------------------------------------------------------------------
//  Acknowledgements, cancels, the in-flight limit

static void
test_results_are_acknowledged_once_per_turn (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    zf_task_key_t c1 = s_key ("c", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_RUNNING);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    s_result (fx, &c1, ZF_JOB_FAILED);
    //  A result for a run this registry does not hold is acknowledged too.
    zf_task_key_t stray = {"gone", S_DATE, "x", ZF_SHARD_SOLE, 1};
    s_result (fx, &stray, ZF_JOB_SUCCEEDED);
    zf_session_flush (fx->session);
    zf_ack_t ack;
    s_ack (fx, &ack);
    assert_int_equal (ack.key_count, 3);
    assert_null (s_next (fx, ZF_MDPC_ACK));
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.results, 5);
    assert_int_equal (stats.stale, 2);
    //  Nothing more to acknowledge: nothing sent.
    zf_session_flush (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_ACK), 0);
    //  More than ZF_MAX_BATCH keys go as several ACKs.
    zf_result_t *many = calloc (ZF_MAX_BATCH + 3, sizeof *many);
    for (size_t i = 0; i < ZF_MAX_BATCH + 3; i++)
        many[i] = (zf_result_t){.key = {"gone", S_DATE, "x", (int32_t)i, 1},
                                .status = ZF_JOB_SUCCEEDED,
                                .winner = true};
    zf_results_t results = {many, ZF_MAX_BATCH + 3};
    zf_session_on_results (fx->session, &results);
    free (many);
    zf_session_flush (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_ACK), 2);
}

static void
test_cancels_reach_the_dispatcher (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    assert_int_equal (zf_engine_cancel (fx->engine, "t", S_DATE, "a", ZF_SHARD_SOLE,
                                        zf_session_cancel, fx->session),
                      0);
    s_msg_t *msg = s_next (fx, ZF_MDPC_CANCEL);
    assert_non_null (msg);
    zf_cancel_t cancel;
    zf_proto_error_t err;
    assert_int_equal (zf_cancel_decode (fx->decoder, msg->body, msg->size, &cancel, &err), 0);
    assert_string_equal (cancel.task, "a");
    assert_int_equal (cancel.date, S_DATE);
    //  Without a connection a cancel is lost, and counted.
    fx->connect_rc = -1;
    zf_session_disconnected (fx->session);
    assert_int_equal (zf_engine_cancel (fx->engine, "t", S_DATE, "c", ZF_SHARD_SOLE,
                                        zf_session_cancel, fx->session),
                      0);
    assert_int_equal (s_count (fx, ZF_MDPC_CANCEL), 0);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.unsent, 1);
}

//  The cancelled task's name in the next CANCEL, or NULL if none was sent.
static const char *
s_cancelled (s_fixture_t *fx)
{
    s_msg_t *msg = s_next (fx, ZF_MDPC_CANCEL);
    if (!msg) return NULL;
    zf_cancel_t cancel;
    zf_proto_error_t err;
    assert_int_equal (zf_cancel_decode (fx->decoder, msg->body, msg->size, &cancel, &err), 0);
    return cancel.task;
}

static void
test_a_cancel_lost_while_away_goes_again_after_hello (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    //  The dispatcher is away when a is cancelled: the cancel is lost.
    zf_session_disconnected (fx->session);
    s_skip (fx);
    fx->connect_rc = -1;
    zf_session_disconnected (fx->session);
    assert_int_equal (zf_engine_cancel (fx->engine, "t", S_DATE, "a", ZF_SHARD_SOLE,
                                        zf_session_cancel, fx->session),
                      0);
    assert_int_equal (s_count (fx, ZF_MDPC_CANCEL), 0);
    //  Back, it still holds a#1 and c#1: a is cancelled again, c is not.
    fx->connect_rc = 0;
    zf_session_disconnected (fx->session);
    assert_int_equal (s_hello (fx), zf_engine_epoch (fx->engine));
    zf_inflight_t held[2] = {{s_key ("a", ZF_SHARD_SOLE, 1), "exec-1"},
                             {s_key ("c", ZF_SHARD_SOLE, 1), "exec-2"}};
    s_reply (fx, zf_engine_epoch (fx->engine), held, 2);
    const char *task = s_cancelled (fx);
    assert_non_null (task);
    assert_string_equal (task, "a");
    assert_null (s_cancelled (fx));
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.cancels_resent, 1);
    //  c stays in flight; nothing is lost.
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    assert_false (s_said (fx, "lost with the dispatcher"));
    assert_int_equal (s_shard (fx, "c", ZF_SHARD_SOLE, NULL), ZF_TS_DISPATCHED);
}

static void
test_an_attempt_newer_than_the_engine_is_not_cancelled (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    s_run (fx);
    zf_session_disconnected (fx->session);
    s_skip (fx);
    //  a#2 is newer than any attempt the engine made (a dispatch it never
    //  heard of): the dispatcher's copy is kept, not cancelled.
    zf_inflight_t held[2] = {{s_key ("a", ZF_SHARD_SOLE, 2), NULL},
                             {s_key ("c", ZF_SHARD_SOLE, 1), NULL}};
    s_reply (fx, zf_engine_epoch (fx->engine), held, 2);
    assert_null (s_cancelled (fx));
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.cancels_resent, 0);
}

static void
test_the_in_flight_limit_holds_ready_work_back (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.max_in_flight = 1;
    s_remake (fx);
    s_ready (fx);
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    //  a and c are ready; only one goes.
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 1);
    assert_int_equal (s_shard (fx, "a", ZF_SHARD_SOLE, NULL), ZF_TS_DISPATCHED);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 1);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.limit_hits, 1);
    //  A result makes room for the next order.
    s_skip (fx);
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 1);
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.limit_hits, 2);
}

//  ---------------------------------------------------------------------------
//  Malformed messages

static void
test_malformed_messages_are_counted_and_reported_once_a_second (void **state)
{
    s_fixture_t *fx = *state;
    s_ready (fx);
    size_t before = fx->bus_errors;
    //  Not Majordomo at all.
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "hello?");
    zf_session_on_message (fx->session, msg);
    zmsg_destroy (&msg);
    assert_int_equal (fx->bus_errors, before + 1);
    //  Majordomo, with bodies that do not decode: counted, not on the bus
    //  again within the second.
    uint8_t commands[] = {ZF_MDPC_HELLO, ZF_MDPC_FINAL, ZF_MDPC_ERROR};
    for (size_t i = 0; i < sizeof commands; i++) {
        zframe_t *body = zframe_new ("\xc1junk", 5);
        msg = zf_mdp_client_new (commands[i], commands[i] == ZF_MDPC_HELLO ? NULL : "shell", &body);
        zf_session_on_message (fx->session, msg);
        zmsg_destroy (&msg);
    }
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.malformed, 4);
    assert_int_equal (fx->bus_errors, before + 1);
    s_wait (fx, ZF_SESSION_REPORT_MS);
    msg = zmsg_new ();
    zmsg_addstr (msg, "");
    zf_session_on_message (fx->session, msg);
    zmsg_destroy (&msg);
    assert_int_equal (fx->bus_errors, before + 2);
    //  A well-formed message from the dispatcher still works.
    zf_result_t result = {.key = s_key ("a", ZF_SHARD_SOLE, 1), .status = ZF_JOB_RUNNING};
    zf_results_t one = {&result, 1};
    zf_proto_error_t err;
    assert_int_equal (zf_results_encode (fx->encoder, &one, &err), 0);
    zframe_t *body = zf_proto_encoder_frame (fx->encoder);
    msg = zf_mdp_client_new (ZF_MDPC_PARTIAL, "shell", &body);
    zf_session_on_message (fx->session, msg);
    zmsg_destroy (&msg);
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.results, 1);
    assert_int_equal (stats.malformed, 5);
}

//  ---------------------------------------------------------------------------
//  A session not started, and the acknowledgement gate

//  Before zf_session_start (a registry of a pair that is not active),
//  ticks connect nothing.
static void
test_ticks_do_nothing_before_the_start (void **state)
{
    s_fixture_t *fx = *state;
    for (int i = 0; i < 3; i++) {
        s_wait (fx, 1000);
        zf_session_tick (fx->session);
    }
    assert_int_equal (fx->connects, 0);
    assert_int_equal (fx->count, 0);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_OFF);
}

//  The gate's answer, set by the test.
static uint64_t s_safe;

static uint64_t
s_gate (void *arg)
{
    return s_safe;
}

//  With a gate, a turn's results are acknowledged once the gate reaches the
//  engine's seq at the end of that turn, oldest turn first.
static void
test_acks_wait_for_the_gate (void **state)
{
    s_fixture_t *fx = *state;
    s_safe = UINT64_MAX;
    zf_session_set_gate (fx->session, s_gate, NULL);
    s_ready (fx);
    s_run (fx);
    s_skip (fx);
    s_safe = 0;
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    zf_session_flush (fx->session);
    uint64_t first = (uint64_t)zf_engine_seq (fx->engine);
    assert_int_equal (s_count (fx, ZF_MDPC_ACK), 0);
    assert_int_equal (zf_session_acks_parked (fx->session), 1);
    zf_task_key_t c1 = s_key ("c", ZF_SHARD_SOLE, 1);
    s_result (fx, &c1, ZF_JOB_SUCCEEDED);
    zf_session_flush (fx->session);
    assert_true ((uint64_t)zf_engine_seq (fx->engine) > first);
    assert_int_equal (zf_session_acks_parked (fx->session), 2);
    //  One short of the first turn's seq: nothing yet.
    s_safe = first - 1;
    zf_session_flush (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_ACK), 0);
    //  The first turn is safe, the second not yet.
    s_safe = first;
    zf_session_flush (fx->session);
    zf_ack_t ack;
    s_ack (fx, &ack);
    assert_int_equal (ack.key_count, 1);
    assert_string_equal (ack.keys[0].task, "a");
    assert_int_equal (zf_session_acks_parked (fx->session), 1);
    //  Every event safe: the rest goes.
    s_safe = UINT64_MAX;
    zf_session_flush (fx->session);
    s_ack (fx, &ack);
    assert_string_equal (ack.keys[0].task, "c");
    assert_int_equal (zf_session_acks_parked (fx->session), 0);
    //  Without a gate, at once.
    zf_session_set_gate (fx->session, NULL, NULL);
    zf_task_key_t stray = s_key ("a", ZF_SHARD_SOLE, 9);
    s_result (fx, &stray, ZF_JOB_SUCCEEDED);
    zf_session_flush (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_ACK), 1);
}

//  With a gate, a DISPATCH request goes only once the events that made its
//  orders are safe, in the order made; a wait of S_HELD_REPORT_MS is said
//  on the bus once; a new session drops what is held and sends the
//  attempts again once the dispatcher says it lacks them.
static void
test_orders_wait_for_the_gate (void **state)
{
    s_fixture_t *fx = *state;
    s_safe = 0;
    zf_session_set_gate (fx->session, s_gate, NULL);
    s_ready (fx);
    s_skip (fx);
    assert_int_equal (zf_engine_start (fx->engine, "t", S_DATE), 0);
    zf_session_pump (fx->session);
    uint64_t made = (uint64_t)zf_engine_seq (fx->engine);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    assert_int_equal (zf_session_orders_held (fx->session), 2);
    //  One short of their events: still held.
    s_safe = made - 1;
    zf_session_flush (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    //  Safe: both go, in the order made.
    s_safe = made;
    zf_session_flush (fx->session);
    zf_dispatch_t dispatch;
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "a");
    s_orders (fx, &dispatch, "noop");
    assert_string_equal (dispatch.orders[0].task, "c");
    assert_int_equal (zf_session_orders_held (fx->session), 0);
    zf_session_stats_t stats;
    zf_session_stats (fx->session, &stats);
    assert_int_equal (stats.orders_held, 2);

    //  b's shards follow a's success; while an order is held, a later one
    //  waits behind it even if its own events were safe.
    zf_task_key_t a1 = s_key ("a", ZF_SHARD_SOLE, 1);
    s_result (fx, &a1, ZF_JOB_SUCCEEDED);
    zf_session_pump (fx->session);
    assert_int_equal (zf_session_orders_held (fx->session), 1);
    //  Held for S_HELD_REPORT_MS: said once. The dispatcher's heartbeats
    //  keep the session alive meanwhile.
    for (int i = 0; i < 5; i++) {
        s_wait (fx, 1000);
        zf_session_on_heartbeat (fx->session);
        zf_session_tick (fx->session);
    }
    assert_true (s_said (fx, "orders held for"));
    size_t said = fx->error_count;
    s_wait (fx, 1000);
    zf_session_on_heartbeat (fx->session);
    zf_session_tick (fx->session);
    assert_int_equal (fx->error_count, said);

    //  A new session drops them; the dispatcher lacks b's attempts (c's
    //  is held), so they run again as the next attempt, once safe.
    s_skip (fx);
    zf_session_disconnected (fx->session);
    assert_int_equal (zf_session_orders_held (fx->session), 0);
    assert_int_equal (s_hello (fx), zf_engine_epoch (fx->engine));
    zf_inflight_t held = {.key = s_key ("c", ZF_SHARD_SOLE, 1)};
    s_reply (fx, zf_engine_epoch (fx->engine), &held, 1);
    zf_session_on_heartbeat (fx->session);
    assert_int_equal (zf_session_state (fx->session), ZF_SESSION_READY);
    zf_session_pump (fx->session);
    assert_int_equal (s_count (fx, ZF_MDPC_REQUEST), 0);
    s_safe = UINT64_MAX;
    zf_session_flush (fx->session);
    s_orders (fx, &dispatch, "shell");
    assert_string_equal (dispatch.orders[0].task, "b");
    assert_int_equal (dispatch.orders[0].attempt, 2);
    assert_int_equal (zf_session_orders_held (fx->session), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_ticks_do_nothing_before_the_start, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_acks_wait_for_the_gate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_orders_wait_for_the_gate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_off_until_a_connection_is_made, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_reply_with_nothing_in_flight_makes_it_ready,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lost_work_runs_again_after_the_first_heartbeat,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_newer_attempt_the_dispatcher_holds_counts_as_live,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_reply_cut_short_sends_unlisted_work_again, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_stale_epoch_raises_the_term_and_starts_afresh,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_back_off_doubles_up_to_its_cap, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_no_new_orders_while_backing_off, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_only_attempts_still_dispatched_are_sent_again,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_whole_request_refused_starts_afresh_after_the_back_off, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_orders_the_socket_refuses_start_afresh, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_refused_orders_fail_the_whole_task_or_single_shards,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_order_that_cannot_be_encoded_fails_its_shards,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_silence_past_liveness_starts_afresh, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_cold_start_settles_at_the_first_heartbeat, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_cold_start_with_nothing_in_flight_settles_at_the_reply, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_cold_start_with_a_reply_cut_short_confirms_and_resends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_results_are_acknowledged_once_per_turn, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_cancels_reach_the_dispatcher, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_cancel_lost_while_away_goes_again_after_hello,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_attempt_newer_than_the_engine_is_not_cancelled,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_in_flight_limit_holds_ready_work_back, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_malformed_messages_are_counted_and_reported_once_a_second, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
