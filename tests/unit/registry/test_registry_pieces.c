/*  Registry tests of the pure pieces: batch splitting, the
    journal ring, topic batching in the publisher, orders built from the
    engine, results mapped to engine calls, the epoch file, the archiver's
    lag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "zf_batch.h"
#include "epoch.h"
#include "journal.h"
#include "lagwatch.h"
#include "orders.h"
#include "publisher.h"
#include "results.h"
#include "zf_event_wire.h"
#include "zf_limits.h"

//  ---------------------------------------------------------------------------
//  Batches

static void
test_batches_split_by_count_and_bytes (void **state)
{
    //  Count: ZF_MAX_BATCH small events to a body.
    zf_batch_plan_t plan = {0, 0, 0};
    for (int i = 0; i < 2 * ZF_MAX_BATCH + 1; i++)
        zf_batch_plan_add (&plan, 100);
    assert_int_equal (plan.parts, 3);
    //  Bytes: events of a third of the budget go two to a body; a single
    //  event larger than the budget still gets a body of its own.
    memset (&plan, 0, sizeof plan);
    for (int i = 0; i < 5; i++)
        zf_batch_plan_add (&plan, ZF_BATCH_BYTES / 3 + 1);
    assert_int_equal (plan.parts, 3);
    assert_true (zf_batch_room (0, 0, ZF_BATCH_BYTES + 1));
    assert_false (zf_batch_room (1, 10, ZF_BATCH_BYTES));
    assert_false (zf_batch_room (ZF_MAX_BATCH, 0, 1));

    //  A batch copies strings: the original may change at once.
    zf_batch_t *batch = zf_batch_new ();
    assert_non_null (batch);
    char flow[16] = "eod", detail[32] = "disk full";
    zf_event_t event = {.seq = 7,
                        .kind = ZF_EV_TASK,
                        .flow = flow,
                        .task = "load",
                        .detail = detail,
                        .shard = ZF_SHARD_WHOLE};
    assert_true (zf_batch_fits (batch, zf_event_encoded_max (&event)));
    assert_int_equal (zf_batch_add (batch, &event, zf_event_encoded_max (&event)), 0);
    strcpy (flow, "zzz");
    strcpy (detail, "overwritten");
    const zf_event_t *held = zf_batch_first (batch);
    assert_string_equal (held->flow, "eod");
    assert_string_equal (held->detail, "disk full");
    assert_int_equal (zf_batch_count (batch), 1);
    zf_batch_clear (batch);
    assert_null (zf_batch_first (batch));
    zf_batch_destroy (&batch);
}

//  ---------------------------------------------------------------------------
//  Journal

//  A fake body of size bytes whose first byte is tag.
static const char *
s_body (char *buf, size_t size, char tag)
{
    memset (buf, tag, size);
    return buf;
}

static void
test_journal_keeps_a_gap_free_window (void **state)
{
    //  Room for 10 events in 4 KiB.
    zf_journal_t *journal = zf_journal_new (10, 4096);
    assert_non_null (journal);
    char buf[4096];
    assert_int_equal (zf_journal_oldest (journal), 0);
    assert_int_equal (zf_journal_find (journal, 1), -1);
    //  Bodies of 3 events each: seqs 1-3, 4-6, 7-9, 10-12.
    for (int i = 0; i < 4; i++)
        assert_int_equal (zf_journal_append (journal, (uint64_t)(1 + 3 * i), 3,
                                             s_body (buf, 1000, 'a' + i), 1000),
                          0);
    //  The event budget dropped the first body.
    assert_int_equal (zf_journal_oldest (journal), 4);
    assert_int_equal (zf_journal_newest (journal), 12);
    assert_int_equal (zf_journal_events (journal), 9);
    assert_int_equal (zf_journal_find (journal, 3), -1);
    assert_int_equal (zf_journal_find (journal, 4), 0);
    assert_int_equal (zf_journal_find (journal, 8), 1);
    assert_int_equal (zf_journal_find (journal, 12), 2);
    assert_int_equal (zf_journal_find (journal, 13), -1);
    zf_journal_entry_t entry;
    assert_int_equal (zf_journal_entry (journal, 1, &entry), 0);
    assert_int_equal (entry.first, 7);
    assert_int_equal (entry.count, 3);
    assert_int_equal (entry.size, 1000);
    assert_int_equal (((const char *)entry.body)[0], 'c');
    assert_int_equal (zf_journal_entry (journal, 3, &entry), -1);

    //  The byte budget: big bodies push old ones out, and the buffer wraps
    //  without mixing bodies up.
    for (int i = 0; i < 20; i++) {
        uint64_t first = zf_journal_newest (journal) + 1;
        size_t size = 700 + (size_t)(i * 97) % 1500;
        assert_int_equal (zf_journal_append (journal, first, 1, s_body (buf, size, 'A' + i), size),
                          0);
        //  Every body held is intact and in order.
        size_t bytes = 0;
        uint64_t expect = zf_journal_oldest (journal);
        for (size_t k = 0; zf_journal_entry (journal, k, &entry) == 0; k++) {
            assert_int_equal (entry.first, expect);
            expect += entry.count;
            const char *data = entry.body;
            for (size_t b = 0; b < entry.size; b++)
                assert_int_equal (data[b], data[0]);
            bytes += entry.size;
        }
        assert_int_equal (expect - 1, zf_journal_newest (journal));
        assert_true (bytes <= 4096);
        assert_int_equal (((const char *)entry.body)[0], 'A' + i);
    }
    //  A body that does not follow the newest starts the journal afresh.
    assert_int_equal (zf_journal_append (journal, 500, 2, s_body (buf, 10, 'z'), 10), 0);
    assert_int_equal (zf_journal_oldest (journal), 500);
    assert_int_equal (zf_journal_size (journal), 1);
    //  One larger than the budget cannot be kept: the journal is empty.
    assert_int_equal (zf_journal_append (journal, 502, 1, s_body (buf, 4096, 'q'), 4096), 0);
    char huge[5000];
    assert_int_equal (zf_journal_append (journal, 503, 1, s_body (huge, 5000, 'h'), 5000), -1);
    assert_int_equal (zf_journal_size (journal), 0);
    assert_int_equal (zf_journal_newest (journal), 0);
    zf_journal_destroy (&journal);
    assert_null (journal);
}

//  ---------------------------------------------------------------------------
//  Publisher

//  One message the publisher sent.
typedef struct {
    char topic[ZF_EVENT_TOPIC_MAX];
    uint64_t first;
    size_t count;
} s_message_t;

//  What a test publisher saw.
typedef struct {
    s_message_t messages[64];
    size_t count;
    zf_proto_decoder_t *decoder;
} s_sink_t;

//  zf_publisher_send_fn: decodes and records each message.
static int
s_sink_send (void *arg, const char *topic, size_t topic_size, const void *body, size_t size)
{
    s_sink_t *sink = arg;
    assert_true (sink->count < 64);
    s_message_t *message = &sink->messages[sink->count++];
    assert_true (topic_size < sizeof message->topic);
    memcpy (message->topic, topic, topic_size);
    message->topic[topic_size] = 0;
    const zf_event_t *events;
    zf_proto_error_t err;
    assert_int_equal (zf_event_decode (sink->decoder, body, size, &events, &message->count, &err),
                      0);
    message->first = events[0].seq;
    //  Every event of a message has its topic, and seqs follow each other.
    for (size_t i = 0; i < message->count; i++) {
        char own[ZF_EVENT_TOPIC_MAX];
        zf_event_topic (&events[i], own, sizeof own);
        assert_string_equal (own, message->topic);
        assert_int_equal (events[i].seq, message->first + i);
    }
    return 0;
}

static void
test_publisher_batches_by_topic (void **state)
{
    s_sink_t sink = {.count = 0, .decoder = zf_proto_decoder_new ()};
    zf_journal_t *journal = zf_journal_new (100000, 64 * 1024 * 1024);
    zf_publisher_t *publisher = zf_publisher_new (journal, s_sink_send, &sink);
    assert_non_null (publisher);
    uint64_t seq = 0;
    zf_event_t task = {.kind = ZF_EV_TASK,
                       .flow = "eod",
                       .task = "a",
                       .shard = ZF_SHARD_WHOLE,
                       .date = 20000,
                       .attempt = 1};
    zf_event_t run = {.kind = ZF_EV_RUN, .flow = "eod", .date = 20000, .shard = ZF_SHARD_WHOLE};
    zf_event_t other = task;
    other.flow = "eod2";
    zf_event_t error = {.kind = ZF_EV_ERROR,
                        .executor = "dispatcher",
                        .detail = "refused",
                        .shard = ZF_SHARD_WHOLE,
                        .date = ZF_DATE_NONE};
    //  task.eod x3, run.eod, task.eod, task.eod2 x2, error.dispatcher
    const zf_event_t *stream[] = {&task, &task, &task, &run, &task, &other, &other, &error};
    for (size_t i = 0; i < 8; i++) {
        zf_event_t event = *stream[i];
        event.seq = ++seq;
        zf_publisher_listener (&event, publisher);
    }
    //  Nothing of the last topic goes before the end of the turn.
    assert_int_equal (sink.count, 4);
    assert_true (zf_publisher_pending (publisher));
    zf_publisher_flush (publisher);
    assert_false (zf_publisher_pending (publisher));
    zf_publisher_flush (publisher);
    assert_int_equal (sink.count, 5);
    const char *topics[] = {"task.eod", "run.eod", "task.eod", "task.eod2", "error.dispatcher"};
    size_t counts[] = {3, 1, 1, 2, 1};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal (sink.messages[i].topic, topics[i]);
        assert_int_equal (sink.messages[i].count, counts[i]);
    }
    //  ZF_MAX_BATCH events of one topic to a message.
    sink.count = 0;
    for (int i = 0; i < ZF_MAX_BATCH + 10; i++) {
        zf_event_t event = task;
        event.seq = ++seq;
        zf_publisher_add (publisher, &event);
    }
    zf_publisher_flush (publisher);
    assert_int_equal (sink.count, 2);
    assert_int_equal (sink.messages[0].count, ZF_MAX_BATCH);
    assert_int_equal (sink.messages[1].count, 10);
    //  The journal holds every body, gap-free, seq 1 to the last.
    assert_int_equal (zf_journal_oldest (journal), 1);
    assert_int_equal (zf_journal_newest (journal), seq);
    assert_int_equal (zf_journal_events (journal), seq);
    zf_publisher_stats_t stats;
    zf_publisher_stats (publisher, &stats);
    assert_int_equal (stats.events, seq);
    assert_int_equal (stats.messages, 7);
    assert_int_equal (stats.last_seq, seq);
    zf_publisher_destroy (&publisher);
    zf_journal_destroy (&journal);
    zf_proto_decoder_destroy (&sink.decoder);
}

//  ---------------------------------------------------------------------------
//  Orders

static const char *s_flow_text = "flow: ord\n"
                                 "tasks:\n"
                                 "  - id: start\n"
                                 "    type: start\n"
                                 "  - id: plain\n"
                                 "    after: [start]\n"
                                 "    run: ./plain.sh\n"
                                 "    timeout: 5m\n"
                                 "  - id: keyed\n"
                                 "    after: [start]\n"
                                 "    shards: [bonds, fx, equities]\n"
                                 "    run: ./keyed.sh\n"
                                 "    rollback: ./undo.sh\n"
                                 "  - id: svc\n"
                                 "    after: [start]\n"
                                 "    shards: 4\n"
                                 "    service: settle\n"
                                 "    speculative: true\n";

//  One captured request.
typedef struct {
    char service[ZF_MAX_NAME + 1];
    size_t orders;
} s_request_t;

//  What the orders batcher sent.
typedef struct {
    s_request_t requests[16];
    size_t count;
    zf_proto_decoder_t *decoder;
    zf_dispatch_t last;
    bool refuse; //  play a socket that takes nothing
} s_requests_t;

static int
s_capture_request (void *arg, const char *service, const void *body, size_t size)
{
    s_requests_t *out = arg;
    if (out->refuse) return -1;
    assert_true (out->count < 16);
    zf_proto_error_t err;
    assert_int_equal (zf_dispatch_decode (out->decoder, body, size, &out->last, &err), 0);
    snprintf (out->requests[out->count].service, ZF_MAX_NAME + 1, "%s", service);
    out->requests[out->count++].orders = out->last.order_count;
    return 0;
}

static void
test_orders_are_built_and_grouped_by_service (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (1795000000000LL);
    zf_engine_t *engine = zf_engine_new (clock);
    zf_flow_errors_t errors = {0};
    assert_int_equal (zf_engine_submit (engine, s_flow_text, strlen (s_flow_text),
                                        "/srv/flows/ord.yaml", &errors),
                      1);
    zf_date_t date = 20700;
    assert_int_equal (zf_engine_start (engine, "ord", date), 0);

    //  Built one by one: each task's shape.
    zf_engine_order_t order;
    zf_shard_run_t runs[8];
    int32_t rollbacks[8];
    int seen = 0;
    zf_engine_shard_run_t keyed_copy[3];
    while (zf_engine_next_order (engine, &order) == 1) {
        zf_order_t wire;
        zf_orders_build (&order, 60000, false, &wire, runs, rollbacks);
        assert_string_equal (wire.flow, "ord");
        assert_int_equal (wire.date, date);
        assert_int_equal (wire.version, 1);
        assert_int_equal (wire.attempt, 1);
        assert_string_equal (wire.cwd, "/srv/flows");
        assert_int_equal (wire.wait_ms, 60000);
        assert_int_equal (wire.shard_run_count, 0);
        assert_int_equal (wire.rollback_count, 0);
        if (strcmp (wire.task, "plain") == 0) {
            assert_string_equal (zf_orders_service (order.task), "shell");
            assert_string_equal (wire.command, "./plain.sh");
            assert_int_equal (wire.shard_count, 0);
            assert_null (wire.shard_keys);
            assert_int_equal (wire.timeout_ms, 300000);
        } else if (strcmp (wire.task, "keyed") == 0) {
            assert_int_equal (wire.shard_count, 3);
            assert_string_equal (wire.shard_keys[2], "equities");
            assert_string_equal (wire.rollback, "./undo.sh");
            memcpy (keyed_copy, order.shards, sizeof keyed_copy);
        } else {
            assert_string_equal (wire.task, "svc");
            assert_string_equal (zf_orders_service (order.task), "settle");
            assert_null (wire.command);
            assert_int_equal (wire.shard_count, 4);
            assert_null (wire.shard_keys);
            assert_true (wire.speculative);
        }
        seen++;
    }
    assert_int_equal (seen, 3);

    //  Shards at different attempts, one interrupted: listed one by one.
    zf_engine_order_t mixed = order;
    zf_engine_shard_run_t shards[2] = {{0, 2, true}, {2, 1, false}};
    const zf_flow_t *flow = zf_engine_flow (engine, "ord", 1);
    mixed.flow = flow;
    mixed.task = &flow->tasks[2];
    mixed.flow_name = "ord";
    mixed.task_id = "keyed";
    mixed.whole = false;
    mixed.shards = shards;
    mixed.shard_count = 2;
    zf_order_t wire;
    zf_orders_build (&mixed, 0, false, &wire, runs, rollbacks);
    assert_int_equal (wire.attempt, 2);
    assert_int_equal (wire.shard_run_count, 2);
    assert_int_equal (wire.shard_runs[0].shard, 0);
    assert_int_equal (wire.shard_runs[0].attempt, 2);
    assert_int_equal (wire.shard_runs[1].shard, 2);
    assert_int_equal (wire.shard_runs[1].attempt, 1);
    assert_int_equal (wire.rollback_count, 1);
    assert_int_equal (wire.rollback_shards[0], 0);
    assert_true (zf_orders_size (&wire) > strlen ("./keyed.sh") + strlen ("equities"));

    //  Batched: one request per service, sent at flush.
    s_requests_t out = {.count = 0, .decoder = zf_proto_decoder_new ()};
    zf_orders_t *orders = zf_orders_new (s_capture_request, &out);
    assert_non_null (orders);
    zf_orders_set_wait (orders, 1234);
    for (int i = 0; i < 3; i++)
        assert_int_equal (zf_orders_add (orders, &mixed), 0);
    zf_engine_order_t plain = mixed;
    zf_engine_shard_run_t one = {ZF_SHARD_SOLE, 1, false};
    plain.task = &flow->tasks[1];
    plain.task_id = "plain";
    plain.shards = &one;
    plain.shard_count = 1;
    plain.whole = true;
    assert_int_equal (zf_orders_add (orders, &plain), 0);
    assert_int_equal (out.count, 0);
    assert_int_equal (zf_orders_flush (orders), 0);
    assert_int_equal (out.count, 1);
    assert_string_equal (out.requests[0].service, "shell");
    assert_int_equal (out.requests[0].orders, 4);
    assert_int_equal (out.last.orders[3].wait_ms, 1234);
    assert_int_equal (out.last.orders[1].shard_run_count, 2);
    assert_int_equal (out.last.orders[1].rollback_count, 1);
    zf_orders_stats_t stats;
    zf_orders_stats (orders, &stats);
    assert_int_equal (stats.sent, 4);
    //  A built-in never goes to the dispatcher.
    zf_engine_order_t builtin = plain;
    builtin.task = &flow->tasks[0];
    builtin.task_id = "start";
    assert_int_equal (zf_orders_add (orders, &builtin), -1);
    //  More than ZF_MAX_BATCH orders go as several requests.
    for (int i = 0; i < ZF_MAX_BATCH + 5; i++)
        assert_int_equal (zf_orders_add (orders, &plain), 0);
    zf_orders_flush (orders);
    assert_int_equal (out.count, 3);
    assert_int_equal (out.requests[1].orders, ZF_MAX_BATCH);
    assert_int_equal (out.requests[2].orders, 5);
    zf_orders_destroy (&orders);
    zf_proto_decoder_destroy (&out.decoder);
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

static void
test_long_shard_lists_are_split (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (1795000000000LL);
    zf_engine_t *engine = zf_engine_new (clock);
    const char *text = "flow: wide\n"
                       "tasks:\n"
                       "  - id: w\n"
                       "    shards: 70000\n"
                       "    run: ./w.sh\n"
                       "    rollback: ./undo.sh\n";
    assert_int_equal (zf_engine_submit (engine, text, strlen (text), "/f/w.yaml", NULL), 1);
    const zf_flow_t *flow = zf_engine_flow (engine, "wide", 1);
    zf_engine_shard_run_t *shards = calloc (70000, sizeof *shards);
    for (int i = 0; i < 70000; i++)
        shards[i] = (zf_engine_shard_run_t){i, 1 + (i == 5), i % 2 == 0};
    zf_engine_order_t order = {flow, &flow->tasks[0], "wide", "w",  1, 20700,
                               3,    false,           shards, 70000};
    s_requests_t out = {.count = 0, .decoder = zf_proto_decoder_new ()};
    zf_orders_t *orders = zf_orders_new (s_capture_request, &out);
    assert_int_equal (zf_orders_add (orders, &order), 0);
    zf_orders_flush (orders);
    assert_int_equal (out.count, 1);
    assert_int_equal (out.last.epoch, 3);
    assert_int_equal (out.last.order_count, 2);
    const zf_order_t *first = &out.last.orders[0], *second = &out.last.orders[1];
    assert_int_equal (first->shard_run_count, ZF_ORDERS_MAX_RUNS);
    assert_int_equal (second->shard_run_count, 70000 - ZF_ORDERS_MAX_RUNS);
    assert_int_equal (first->shard_runs[5].attempt, 2);
    assert_int_equal (second->shard_runs[0].shard, ZF_ORDERS_MAX_RUNS);
    //  Each part lists the rollbacks among its own shards.
    assert_int_equal (first->rollback_count, ZF_ORDERS_MAX_RUNS / 2);
    assert_int_equal (second->rollback_count, (70000 - ZF_ORDERS_MAX_RUNS) / 2);
    assert_int_equal (second->rollback_shards[0], ZF_ORDERS_MAX_RUNS);
    zf_orders_destroy (&orders);
    zf_proto_decoder_destroy (&out.decoder);
    free (shards);
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

//  Records orders given up.
static void
s_given_up (void *arg, const zf_order_t *order, const char *reason)
{
    int *count = arg;
    assert_string_equal (order->task, "plain");
    assert_non_null (strstr (reason, "cwd"));
    (*count)++;
}

static void
test_orders_that_do_not_go_out_are_counted (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (1795000000000LL);
    zf_engine_t *engine = zf_engine_new (clock);
    assert_int_equal (
        zf_engine_submit (engine, s_flow_text, strlen (s_flow_text), "/f/ord.yaml", NULL), 1);
    const zf_flow_t *flow = zf_engine_flow (engine, "ord", 1);
    //  A working folder past ZF_MAX_COMMAND: the encoder refuses it.
    zf_flow_t odd = *flow;
    char *long_dir = malloc (ZF_MAX_COMMAND + 10);
    memset (long_dir, 'd', ZF_MAX_COMMAND + 9);
    long_dir[ZF_MAX_COMMAND + 9] = 0;
    odd.dir = long_dir;
    zf_engine_shard_run_t one = {ZF_SHARD_SOLE, 1, false};
    zf_engine_order_t good = {flow, &flow->tasks[1], "ord", "plain", 1, 20700, 1, true, &one, 1};
    zf_engine_order_t bad = good;
    bad.flow = &odd;
    s_requests_t out = {.count = 0, .decoder = zf_proto_decoder_new ()};
    zf_orders_t *orders = zf_orders_new (s_capture_request, &out);
    int given_up = 0;
    zf_orders_set_failed (orders, s_given_up, &given_up);
    assert_int_equal (zf_orders_add (orders, &good), 0);
    assert_int_equal (zf_orders_add (orders, &bad), 0);
    assert_int_equal (zf_orders_add (orders, &good), 0);
    assert_int_equal (zf_orders_flush (orders), 1);
    assert_int_equal (given_up, 1);
    //  The two good orders went, one request each.
    assert_int_equal (out.count, 2);
    zf_orders_stats_t stats;
    zf_orders_stats (orders, &stats);
    assert_int_equal (stats.sent, 2);
    assert_int_equal (stats.requests, 2);
    assert_int_equal (stats.failed, 1);
    assert_int_equal (stats.unsent, 0);
    //  A full batch goes out while orders are added: a socket that refuses
    //  it is reported there, not dropped.
    out.refuse = true;
    for (int i = 0; i < ZF_MAX_BATCH; i++)
        assert_int_equal (zf_orders_add (orders, &good), 0);
    assert_int_equal (zf_orders_add (orders, &good), -1);
    zf_orders_stats (orders, &stats);
    assert_int_equal (stats.unsent, ZF_MAX_BATCH);
    //  The last one goes at the flush, refused too.
    assert_int_equal (zf_orders_flush (orders), 1);
    zf_orders_stats (orders, &stats);
    assert_int_equal (stats.unsent, ZF_MAX_BATCH + 1);
    assert_int_equal (stats.sent, 2);
    //  Refused orders are not given up: a fresh session sends them again.
    assert_int_equal (given_up, 1);
    assert_int_equal (stats.failed, 1);
    zf_orders_destroy (&orders);
    zf_proto_decoder_destroy (&out.decoder);
    free (long_dir);
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

//  ---------------------------------------------------------------------------
//  Results

static void
test_results_map_to_engine_calls (void **state)
{
    char buf[ZF_RESULTS_DETAIL];
    zf_result_map_t map;
    zf_result_t result = {.key = {"eod", 20000, "load", ZF_SHARD_SOLE, 1}, .winner = true};

    result.status = ZF_JOB_RUNNING;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_RUNNING);
    assert_false (map.ack);

    result.status = ZF_JOB_SUCCEEDED;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_ENDED);
    assert_int_equal (map.outcome, ZF_OUTCOME_SUCCEEDED);
    assert_null (map.detail);
    assert_true (map.ack);

    result.status = ZF_JOB_FAILED;
    result.exit_status = 3;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.outcome, ZF_OUTCOME_FAILED);
    assert_int_equal (map.exit_status, 3);
    assert_string_equal (map.detail, "exit status 3");
    result.log_tail = "no such file";
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_string_equal (map.detail, "no such file");

    result.status = ZF_JOB_TIMED_OUT;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.outcome, ZF_OUTCOME_FAILED);
    assert_string_equal (map.detail, "timed out\nno such file");

    result.status = ZF_JOB_NO_WORKER;
    result.log_tail = NULL;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.outcome, ZF_OUTCOME_FAILED);
    assert_non_null (strstr (map.detail, "no worker"));

    result.status = ZF_JOB_CANCELLED;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_ENDED);
    assert_int_equal (map.outcome, ZF_OUTCOME_CANCELLED);

    //  The losing copy of a speculative pair changes nothing, but is acknowledged.
    result.winner = false;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_IGNORE);
    assert_true (map.ack);
    result.status = ZF_JOB_SUCCEEDED;
    result.copy = 1;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_IGNORE);

    //  Lost: the dispatcher runs it again itself.
    result.copy = 0;
    result.status = ZF_JOB_LOST;
    zf_results_map (&result, buf, sizeof buf, &map);
    assert_int_equal (map.action, ZF_RESULT_IGNORE);
    assert_true (map.ack);
}

//  ---------------------------------------------------------------------------
//  Epoch file

static void
test_epoch_file_is_read_and_written (void **state)
{
    char dir[64] = "/tmp/zf-epoch-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char sub[128], err[512], path[192];
    snprintf (sub, sizeof sub, "%s/var", dir);
    uint64_t epoch = 99;
    //  Missing: 0, and the folder is made on the first write.
    assert_int_equal (zf_epoch_load (sub, &epoch, err, sizeof err), 0);
    assert_int_equal (epoch, 0);
    assert_int_equal (zf_epoch_store (sub, 41, err, sizeof err), 0);
    assert_int_equal (zf_epoch_load (sub, &epoch, err, sizeof err), 0);
    assert_int_equal (epoch, 41);
    //  No temporary file is left behind.
    snprintf (path, sizeof path, "%s/%s.tmp", sub, ZF_EPOCH_FILE);
    assert_int_not_equal (access (path, F_OK), 0);
    //  Garbage is an error, not a zero.
    snprintf (path, sizeof path, "%s/%s", sub, ZF_EPOCH_FILE);
    FILE *file = fopen (path, "w");
    fputs ("12abc\n", file);
    fclose (file);
    assert_int_equal (zf_epoch_load (sub, &epoch, err, sizeof err), -1);
    assert_non_null (strstr (err, "does not hold an epoch"));
    char cmd[160];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

//  ---------------------------------------------------------------------------
//  The archiver's lag

//  Counts ERROR events.
static void
s_count_errors (const zf_event_t *event, void *arg)
{
    if (event->kind == ZF_EV_ERROR) (*(int *)arg)++;
}

static void
test_the_archiver_s_lag_is_said_once_a_minute (void **state)
{
    zf_clock_t *clock = zf_clock_new_fake (1795000000000LL);
    zf_engine_t *engine = zf_engine_new (clock);
    int errors = 0;
    zf_engine_set_listener (engine, s_count_errors, &errors);
    assert_int_equal (zf_engine_set_epoch (engine, 1, NULL, NULL), 0);
    zf_lagwatch_t *lag = zf_lagwatch_new (engine, clock, "tcp://127.0.0.1:5580", 300);
    assert_non_null (lag);
    assert_int_equal (zf_lagwatch_interval (lag), 300);
    //  What the engine held at start is durable: not behind.
    zf_clock_advance (clock, 1000);
    assert_false (zf_lagwatch_check (lag));
    //  Events wait; behind once nothing was acknowledged for warn_ms.
    zf_lagwatch_archived (lag, 1);
    assert_int_equal (
        zf_engine_submit (engine, s_flow_text, strlen (s_flow_text), "/f/ord.yaml", NULL), 1);
    assert_false (zf_lagwatch_check (lag));
    zf_clock_advance (clock, 299);
    assert_false (zf_lagwatch_check (lag));
    zf_clock_advance (clock, 1);
    assert_true (zf_lagwatch_check (lag));
    assert_int_equal (errors, 1);
    //  Said again only after ZF_LAG_REPEAT_MS.
    zf_clock_advance (clock, ZF_LAG_REPEAT_MS - 1);
    assert_false (zf_lagwatch_check (lag));
    zf_clock_advance (clock, 1);
    assert_true (zf_lagwatch_check (lag));
    assert_int_equal (errors, 2);
    //  Caught up: quiet again.
    zf_lagwatch_archived (lag, zf_engine_seq (engine));
    assert_false (zf_lagwatch_check (lag));
    zf_lagwatch_destroy (&lag);
    zf_lagwatch_destroy (&lag);
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

//  Terms rise past the newest known, are stored before use, and never
//  wrap: a term past ZF_MAX_EPOCH is neither taken nor read nor written.
static void
test_epoch_terms_never_wrap (void **state)
{
    char dir[64] = "/tmp/zf-epoch-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char err[512], path[192];
    uint64_t taken = 0, epoch = 0;
    //  A start after term 4; then a dispatcher that has seen 9.
    assert_int_equal (zf_epoch_take (dir, 4, 0, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 5);
    assert_int_equal (zf_epoch_take (dir, 5, 9, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 10);
    assert_int_equal (zf_epoch_load (dir, &epoch, err, sizeof err), 0);
    assert_int_equal (epoch, 10);
    //  The last term can be taken; none after it, whoever reports it, and
    //  the stored term stays as it was.
    assert_int_equal (zf_epoch_take (dir, 10, ZF_MAX_EPOCH - 1, &taken, err, sizeof err), 0);
    assert_true (taken == ZF_MAX_EPOCH);
    taken = 7;
    assert_int_equal (zf_epoch_take (dir, ZF_MAX_EPOCH, 0, &taken, err, sizeof err), -1);
    assert_non_null (strstr (err, "ZF_MAX_EPOCH"));
    assert_int_equal (zf_epoch_take (dir, 10, UINT64_MAX, &taken, err, sizeof err), -1);
    assert_int_equal (taken, 7);
    assert_int_equal (zf_epoch_load (dir, &epoch, err, sizeof err), 0);
    assert_true (epoch == ZF_MAX_EPOCH);
    //  In a pair, the primary's terms are odd and the backup's even.
    assert_int_equal (zf_epoch_take_in_pair (dir, true, 0, 0, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 1);
    assert_int_equal (zf_epoch_take_in_pair (dir, false, 0, 0, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 2);
    assert_int_equal (zf_epoch_take_in_pair (dir, true, 2, 4, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 5);
    assert_int_equal (zf_epoch_take_in_pair (dir, false, 5, 4, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 6);
    assert_int_equal (zf_epoch_take_in_pair (dir, true, 5, 7, &taken, err, sizeof err), 0);
    assert_int_equal (taken, 9);
    assert_int_equal (zf_epoch_load (dir, &epoch, err, sizeof err), 0);
    assert_int_equal (epoch, 9);
    //  Neither 0 nor a term past the end is ever written or read.
    assert_int_equal (zf_epoch_store (dir, 0, err, sizeof err), -1);
    assert_int_equal (zf_epoch_store (dir, ZF_MAX_EPOCH + 1, err, sizeof err), -1);
    snprintf (path, sizeof path, "%s/%s", dir, ZF_EPOCH_FILE);
    FILE *file = fopen (path, "w");
    fprintf (file, "%llu\n", (unsigned long long)ZF_MAX_EPOCH + 1);
    fclose (file);
    assert_int_equal (zf_epoch_load (dir, &epoch, err, sizeof err), -1);
    char cmd[160];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_batches_split_by_count_and_bytes),
        cmocka_unit_test (test_journal_keeps_a_gap_free_window),
        cmocka_unit_test (test_publisher_batches_by_topic),
        cmocka_unit_test (test_orders_are_built_and_grouped_by_service),
        cmocka_unit_test (test_long_shard_lists_are_split),
        cmocka_unit_test (test_orders_that_do_not_go_out_are_counted),
        cmocka_unit_test (test_results_map_to_engine_calls),
        cmocka_unit_test (test_epoch_file_is_read_and_written),
        cmocka_unit_test (test_the_archiver_s_lag_is_said_once_a_minute),
        cmocka_unit_test (test_epoch_terms_never_wrap),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
