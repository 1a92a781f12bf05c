/*  Tests of the archiver's pure pieces: the bounded queue of event copies,
    and events to rows (shard expansion from the flow's definition, merging
    within a batch, confirmation, snapshot records, timers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "queue.h"
#include "rows.h"

#define S_DATE 20416

static const char *s_flow = "flow: eod\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: split\n"
                            "    after: [start]\n"
                            "    shards: 3\n"
                            "    service: noop\n"
                            "  - id: one\n"
                            "    after: [start]\n"
                            "    service: noop\n";

//  Items made in a test, freed by the teardown.
typedef struct {
    zf_proto_encoder_t *enc;
    zf_queue_t *queue;
    zf_rows_t *rows;
} s_fixture_t;

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof *fx);
    fx->enc = zf_proto_encoder_new ();
    fx->queue = zf_queue_new (100, 1 << 20);
    fx->rows = zf_rows_new (NULL);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_rows_destroy (&fx->rows);
    zf_queue_destroy (&fx->queue);
    zf_proto_encoder_destroy (&fx->enc);
    free (fx);
    return 0;
}

//  Queues an event (asserts it fits) and adds it to the batch.
static void
s_add (s_fixture_t *fx, zf_event_t ev)
{
    zf_proto_error_t err;
    zf_item_t *item = zf_item_new (fx->enc, &ev, &err);
    assert_non_null (item);
    assert_int_equal (zf_queue_push (fx->queue, &item), 0);
    const zf_item_t *held = zf_queue_at (fx->queue, zf_queue_count (fx->queue) - 1);
    assert_int_equal (zf_rows_add_event (fx->rows, held), 0);
}

//  An event of a kind with the usual fields.
static zf_event_t
s_event (uint64_t seq, uint8_t kind, uint8_t state)
{
    zf_event_t ev = {.seq = seq,
                     .time = 1000 + (int64_t)seq,
                     .kind = kind,
                     .state = state,
                     .flow = "eod",
                     .version = 0,
                     .date = S_DATE,
                     .shard = ZF_SHARD_WHOLE};
    return ev;
}

static zf_event_t
s_task (uint64_t seq, const char *task, int32_t shard, uint8_t state, uint32_t attempt)
{
    zf_event_t ev = s_event (seq, ZF_EV_TASK, state);
    ev.task = task;
    ev.shard = shard;
    ev.attempt = attempt;
    return ev;
}

//  The flow and the run, so shards can be told.
static void
s_flow_and_run (s_fixture_t *fx)
{
    zf_event_t flow = s_event (1, ZF_EV_FLOW, 0);
    flow.version = 1;
    flow.date = ZF_DATE_NONE;
    flow.text = s_flow;
    flow.text_size = strlen (s_flow);
    flow.detail = "/flows/eod.yaml";
    s_add (fx, flow);
    zf_event_t run = s_event (2, ZF_EV_RUN, ZF_RS_RUNNING);
    run.version = 1;
    s_add (fx, run);
}

//  The task row of a key in a filled batch, or NULL.
static const zf_store_task_t *
s_find (const zf_store_batch_t *batch, const char *task, int32_t shard, uint32_t attempt)
{
    for (size_t i = 0; i < batch->task_count; i++)
        if (strcmp (batch->tasks[i].task, task) == 0 && batch->tasks[i].shard == shard &&
            batch->tasks[i].attempt == attempt)
            return &batch->tasks[i];
    return NULL;
}

//  The queue keeps copies, in order, within its bounds.
static void
test_queue (void **state)
{
    s_fixture_t *fx = *state;
    zf_queue_t *queue = zf_queue_new (3, 1 << 20);
    char detail[32];
    for (uint64_t seq = 1; seq <= 4; seq++) {
        snprintf (detail, sizeof detail, "detail %llu", (unsigned long long)seq);
        zf_event_t ev = s_task (seq, "one", ZF_SHARD_WHOLE, ZF_TS_FAILED, 1);
        ev.detail = detail;
        zf_proto_error_t err;
        zf_item_t *item = zf_item_new (fx->enc, &ev, &err);
        assert_non_null (item);
        assert_int_equal (zf_queue_push (queue, &item), seq <= 3 ? 0 : -1);
        assert_null (item);
    }
    assert_int_equal (zf_queue_count (queue), 3);
    assert_int_equal (zf_queue_room (queue), 0);
    assert_string_equal (zf_queue_at (queue, 2)->event.detail, "detail 3");
    //  The body is the event alone, encoded.
    const zf_item_t *first = zf_queue_at (queue, 0);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    const zf_event_t *events;
    size_t count;
    zf_proto_error_t err;
    assert_int_equal (zf_event_decode (dec, first->body, first->body_size, &events, &count, &err),
                      0);
    assert_int_equal (count, 1);
    assert_int_equal (events[0].seq, 1);
    assert_string_equal (events[0].detail, "detail 1");
    zf_proto_decoder_destroy (&dec);
    zf_queue_pop (queue, 2);
    assert_int_equal (zf_queue_at (queue, 0)->event.seq, 3);
    assert_int_equal (zf_queue_room (queue), 2);
    //  Many more than the first ring holds, across its wrap.
    zf_queue_destroy (&queue);
    queue = zf_queue_new (5000, 1 << 30);
    for (uint64_t seq = 1; seq <= 3000; seq++) {
        zf_event_t ev = s_task (seq, "one", ZF_SHARD_WHOLE, ZF_TS_READY, 1);
        zf_item_t *item = zf_item_new (fx->enc, &ev, &err);
        assert_int_equal (zf_queue_push (queue, &item), 0);
        if (seq % 700 == 0) zf_queue_pop (queue, 500);
    }
    assert_int_equal (zf_queue_count (queue), 3000 - 4 * 500);
    assert_int_equal (zf_queue_at (queue, 0)->event.seq, 2001);
    //  The byte bound: one item always fits an empty queue.
    zf_queue_destroy (&queue);
    queue = zf_queue_new (10, 10);
    zf_event_t ev = s_task (1, "one", ZF_SHARD_WHOLE, ZF_TS_READY, 1);
    zf_item_t *item = zf_item_new (fx->enc, &ev, &err);
    assert_int_equal (zf_queue_push (queue, &item), 0);
    item = zf_item_new (fx->enc, &ev, &err);
    assert_int_equal (zf_queue_push (queue, &item), -1);
    zf_queue_destroy (&queue);
}

//  A whole-task event on a sharded task is a row per shard; on an
//  unsharded one a single row with shard -1.
static void
test_shards (void **state)
{
    s_fixture_t *fx = *state;
    s_flow_and_run (fx);
    s_add (fx, s_task (3, "split", ZF_SHARD_WHOLE, ZF_TS_READY, 1));
    s_add (fx, s_task (4, "one", 0, ZF_TS_READY, 1));
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.event_count, 4);
    assert_int_equal (batch.flow_count, 1);
    assert_string_equal (batch.flows[0].path, "/flows/eod.yaml");
    assert_int_equal (batch.run_count, 1);
    assert_int_equal (batch.runs[0].started, 1002);
    assert_int_equal (batch.task_count, 4);
    for (int32_t shard = 0; shard < 3; shard++)
        assert_non_null (s_find (&batch, "split", shard, 1));
    assert_non_null (s_find (&batch, "one", ZF_SHARD_WHOLE, 1));
    assert_int_equal (zf_rows_unknown (fx->rows), 0);
    assert_non_null (zf_rows_flow (fx->rows, "eod", 1));
    assert_null (zf_rows_flow (fx->rows, "eod", 2));
}

//  Changes of one row within a batch merge: last state, first start,
//  executor with its exit status, the latest seq; CONFIRM sets the batch's
//  confirmation; a not_before timer makes no row.
static void
test_merge (void **state)
{
    s_fixture_t *fx = *state;
    s_flow_and_run (fx);
    zf_event_t timer = s_task (3, "one", ZF_SHARD_WHOLE, ZF_TS_WAITING, 0);
    timer.value = 99999;
    s_add (fx, timer);
    s_add (fx, s_task (4, "one", ZF_SHARD_WHOLE, ZF_TS_READY, 1));
    zf_event_t running = s_task (5, "one", ZF_SHARD_WHOLE, ZF_TS_RUNNING, 1);
    running.executor = "ex-1";
    s_add (fx, running);
    zf_event_t failed = s_task (6, "one", ZF_SHARD_WHOLE, ZF_TS_RETRYING, 1);
    failed.executor = "ex-2";
    failed.exit_status = 7;
    failed.detail = "bad";
    s_add (fx, failed);
    zf_event_t confirm = s_event (7, ZF_EV_CONFIRM, 0);
    confirm.value = 5;
    s_add (fx, confirm);
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.task_count, 1);
    const zf_store_task_t *row = s_find (&batch, "one", ZF_SHARD_WHOLE, 1);
    assert_non_null (row);
    assert_int_equal (row->state, ZF_TS_RETRYING);
    assert_int_equal (row->started, 1005);
    assert_int_equal (row->ended, 1006);
    assert_string_equal (row->executor, "ex-2");
    assert_int_equal (row->exit_status, 7);
    assert_string_equal (row->log_tail, "bad");
    assert_int_equal (row->seq, 6);
    assert_int_equal (batch.confirm, 5);
    //  A new batch starts empty; the catalog stays.
    zf_rows_reset (fx->rows);
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.task_count + batch.event_count + batch.confirm, 0);
    s_add (fx, s_task (8, "split", 2, ZF_TS_RUNNING, 1));
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.task_count, 1);
    assert_int_equal (batch.tasks[0].shard, 2);
}

//  A run the registry archived stays succeeded in the store: the archived
//  event goes to the journal and changes no runs row.
static void
test_archived_run (void **state)
{
    s_fixture_t *fx = *state;
    s_flow_and_run (fx);
    zf_event_t done = s_event (3, ZF_EV_RUN, ZF_RS_SUCCEEDED);
    done.version = 1;
    s_add (fx, done);
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.run_count, 1);
    assert_int_equal (batch.runs[0].state, ZF_RS_SUCCEEDED);
    assert_int_equal (batch.runs[0].ended, 1003);
    zf_rows_reset (fx->rows);
    zf_event_t archived = s_event (4, ZF_EV_RUN, ZF_RS_ARCHIVED);
    archived.version = 1;
    s_add (fx, archived);
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.run_count, 0);
    assert_int_equal (batch.event_count, 1);
    assert_int_equal (batch.events[0].state, ZF_RS_ARCHIVED);
}

//  Snapshot records: a running record gives the start, the state record
//  the end, a success the seq that made it.
static void
test_records (void **state)
{
    s_fixture_t *fx = *state;
    zf_event_t flow = s_event (0, ZF_EV_FLOW, 0);
    flow.version = 1;
    flow.time = 0;
    flow.text = s_flow;
    flow.text_size = strlen (s_flow);
    assert_int_equal (zf_rows_add_record (fx->rows, &flow, 50), 0);
    zf_event_t run = s_event (0, ZF_EV_RUN, ZF_RS_RUNNING);
    run.version = 1;
    run.time = 700;
    assert_int_equal (zf_rows_add_record (fx->rows, &run, 50), 0);
    zf_event_t started = s_task (0, "split", ZF_SHARD_WHOLE, ZF_TS_RUNNING, 1);
    started.value = 800;
    started.time = 0;
    assert_int_equal (zf_rows_add_record (fx->rows, &started, 50), 0);
    zf_event_t done = s_task (0, "split", 1, ZF_TS_SUCCEEDED, 1);
    done.time = 900;
    done.value = 42;
    assert_int_equal (zf_rows_add_record (fx->rows, &done, 50), 0);
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.event_count, 0);
    assert_int_equal (batch.flow_count, 1);
    assert_int_equal (batch.runs[0].started, 700);
    assert_int_equal (batch.task_count, 3);
    const zf_store_task_t *row = s_find (&batch, "split", 1, 1);
    assert_int_equal (row->state, ZF_TS_SUCCEEDED);
    assert_int_equal (row->started, 800);
    assert_int_equal (row->ended, 900);
    assert_int_equal (row->seq, 42);
    row = s_find (&batch, "split", 0, 1);
    assert_int_equal (row->state, ZF_TS_RUNNING);
    assert_int_equal (row->seq, 50);
}

//  Without the flow's definition the shard stays as the event says.
static void
test_unknown_flow (void **state)
{
    s_fixture_t *fx = *state;
    s_add (fx, s_task (1, "split", ZF_SHARD_WHOLE, ZF_TS_READY, 1));
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (fx->rows, &batch);
    assert_int_equal (batch.task_count, 1);
    assert_int_equal (batch.tasks[0].shard, ZF_SHARD_WHOLE);
    assert_int_equal (zf_rows_unknown (fx->rows), 1);
    zf_rows_forget (fx->rows);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_shards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_merge, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_archived_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_flow, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("archiver_rows", tests, NULL, NULL);
}
