/*  The web thread's store: snapshots with every documented field, updates
    that coalesce a burst into one frame listing each changed task once with
    its latest view, frames shared between browsers at the same version,
    re-syncs when the log no longer reaches back or a reset came, errors
    and failovers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executors.h"
#include "gateway.h"
#include "mp.h"
#include "store.h"
#include "views.h"

//  Tasks of the run these tests build.
#define S_TASKS 10000

//  A task id.
static void
s_id (char *buf, size_t size, uint32_t index)
{
    snprintf (buf, size, "t%u", index);
}

//  Appends a flow with its FLOWDEF (no tasks listed: the store does not look).
static void
s_flow_op (zf_gw_delta_t *delta, const char *name)
{
    zf_engine_flow_info_t flow = {.name = name, .version = 1};
    zf_gw_delta_begin (delta, ZF_GW_OP_FLOW, name, 0, 0, 0, false);
    zf_gw_view_flow (zf_gw_delta_pk (delta), &flow);
    zf_gw_delta_end (delta);
}

//  Appends a run's fields.
static void
s_run_op (zf_gw_delta_t *delta, const char *flow, zf_date_t date, uint32_t tasks, uint8_t state)
{
    zf_engine_run_info_t run = {.flow = flow,
                                .date = date,
                                .version = 1,
                                .state = state,
                                .started = 1000,
                                .task_count = tasks};
    zf_gw_delta_begin (delta, ZF_GW_OP_RUN, flow, date, tasks, state, false);
    zf_gw_view_run_fields (zf_gw_delta_pk (delta), &run);
    zf_gw_delta_end (delta);
}

//  Appends a task's TASKVIEW in state, with attempt as a marker.
static void
s_task_op (zf_gw_delta_t *delta, uint32_t index, uint8_t state, uint32_t attempt)
{
    char id[32];
    s_id (id, sizeof id, index);
    zf_engine_task_info_t task = {
        .id = id, .index = index, .state = state, .attempt = attempt, .shard_count = 1};
    zf_gw_delta_begin (delta, ZF_GW_OP_TASK, NULL, 0, index, state, false);
    zf_gw_view_task (zf_gw_delta_pk (delta), &task);
    zf_gw_delta_end (delta);
}

//  A reset with one flow and one run of S_TASKS waiting tasks.
static zf_gw_delta_t *
s_reset (zf_date_t date)
{
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    delta->reset = true;
    delta->synced = true;
    delta->seq = 100;
    delta->epoch = 2;
    s_flow_op (delta, "w1");
    s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
    for (uint32_t i = 0; i < S_TASKS; i++)
        s_task_op (delta, i, ZF_TS_WAITING, 0);
    return delta;
}

//  Parses a frame.
static void
s_parse (zf_gw_frame_t *frame, msgpack_unpacked *out)
{
    assert_non_null (frame);
    assert_true (mp_parse (frame->data, frame->size, out));
}

static void
test_snapshot (void **state)
{
    zf_gw_store_t *store = zf_gw_store_new (ZF_GW_LOG_CHANGES);
    assert_false (zf_gw_store_has_state (store));
    zf_date_t date = 20000;
    zf_gw_delta_t *delta = s_reset (date);
    zf_gw_delta_begin (delta, ZF_GW_OP_EXECUTOR, "ex1", 0, 0, 0, true);
    const char *services[] = {"noop"};
    zf_gw_view_executor (zf_gw_delta_pk (delta), "ex1", true, services, 1, 4, 0, 5, 0);
    zf_gw_delta_end (delta);
    zf_gw_delta_begin (delta, ZF_GW_OP_ERROR, NULL, 0, 0, 0, false);
    zf_gw_view_error (zf_gw_delta_pk (delta), 77, "registry", "disk full");
    zf_gw_delta_end (delta);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_true (zf_gw_store_has_state (store));
    assert_int_equal (zf_gw_store_seq (store), 100);
    assert_int_equal (zf_gw_store_task_states (store)[ZF_TS_WAITING], S_TASKS);

    //  The error goes out on its own as well.
    zf_gw_frame_t *error = zf_gw_store_take_broadcast (store);
    msgpack_unpacked msg;
    s_parse (error, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "time", "service", "message", NULL));
    assert_true (mp_key_is (&msg.data, "t", "error"));
    assert_true (mp_key_is (&msg.data, "message", "disk full"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&error);
    assert_null (zf_gw_store_take_broadcast (store));

    zf_gw_frame_t *snapshot = zf_gw_store_snapshot (store);
    s_parse (snapshot, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "seq", "flows", "runs", "executors", "errors",
                              "failovers", NULL));
    assert_true (mp_key_is (&msg.data, "t", "snapshot"));
    assert_int_equal (mp_int (&msg.data, "seq", 0), 100);
    assert_int_equal (mp_get (&msg.data, "flows")->via.array.size, 1);
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_int_equal (runs->via.array.size, 1);
    const msgpack_object *run = &runs->via.array.ptr[0];
    assert_true (mp_has_keys (run, "flow", "date", "version", "state", "paused", "started", "ended",
                              "tasks", NULL));
    assert_int_equal (mp_get (run, "tasks")->via.array.size, S_TASKS);
    //  Tasks in flow order.
    assert_true (mp_key_is (&mp_get (run, "tasks")->via.array.ptr[17], "id", "t17"));
    const msgpack_object *executors = mp_get (&msg.data, "executors");
    assert_int_equal (executors->via.array.size, 1);
    assert_true (mp_key_is (&executors->via.array.ptr[0], "name", "ex1"));
    const msgpack_object *errors = mp_get (&msg.data, "errors");
    assert_int_equal (errors->via.array.size, 1);
    assert_true (mp_has_keys (&errors->via.array.ptr[0], "time", "service", "message", NULL));
    assert_int_equal (mp_int (&errors->via.array.ptr[0], "time", 0), 77);
    assert_int_equal (mp_get (&msg.data, "failovers")->via.array.size, 0);
    msgpack_unpacked_destroy (&msg);

    //  Nothing changed: browsers connecting now share the same frame.
    zf_gw_frame_t *again = zf_gw_store_snapshot (store);
    assert_ptr_equal (again, snapshot);
    zf_gw_frame_unref (&again);
    zf_gw_frame_unref (&snapshot);
    zf_gw_store_destroy (&store);
}

//  Appends a FAILOVER: the EPOCH event of term epoch at time, by registry
//  with detail (either may be NULL).
static void
s_failover_op (zf_gw_delta_t *delta, int64_t time, uint64_t epoch, const char *registry,
               const char *detail)
{
    zf_event_t event = {.time = time,
                        .kind = ZF_EV_EPOCH,
                        .date = ZF_DATE_NONE,
                        .shard = ZF_SHARD_WHOLE,
                        .value = (int64_t)epoch,
                        .executor = registry,
                        .detail = detail};
    zf_gw_delta_begin (delta, ZF_GW_OP_FAILOVER, NULL, 0, 0, 0, false);
    zf_gw_view_failover (zf_gw_delta_pk (delta), &event);
    zf_gw_delta_end (delta);
}

//  True if a FAILOVER map has exactly its fields, with these values (NULL:
//  nil).
static bool
s_is_failover (const msgpack_object *map, int64_t time, uint64_t epoch, const char *registry,
               const char *detail)
{
    if (!mp_has_keys (map, "time", "epoch", "registry", "detail", NULL)) return false;
    const msgpack_object *r = mp_get (map, "registry");
    const msgpack_object *d = mp_get (map, "detail");
    return mp_int (map, "time", 0) == time && mp_int (map, "epoch", 0) == (int64_t)epoch &&
           (registry ? mp_key_is (map, "registry", registry) : r->type == MSGPACK_OBJECT_NIL) &&
           (detail ? mp_key_is (map, "detail", detail) : d->type == MSGPACK_OBJECT_NIL);
}

//  A new term is a message of its own for the browsers that hold a
//  snapshot, in order with errors, and is kept (the latest
//  ZF_GW_FAILOVERS_KEPT) for the snapshots of later ones, across resets.
static void
test_failovers (void **state)
{
    zf_gw_store_t *store = zf_gw_store_new (ZF_GW_LOG_CHANGES);
    zf_gw_delta_t *delta = s_reset (20000);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    const char *how = "took over from=the active's events at seq 99 reason=\"the active peer "
                      "is silent and a client turned here\"";
    delta = zf_gw_delta_new ();
    delta->synced = true;
    delta->seq = 101;
    delta->epoch = 3;
    zf_gw_delta_begin (delta, ZF_GW_OP_ERROR, NULL, 0, 0, 0, false);
    zf_gw_view_error (zf_gw_delta_pk (delta), 88, "registry", "registry active epoch=3");
    zf_gw_delta_end (delta);
    s_failover_op (delta, 88, 3, "backup", how);
    s_failover_op (delta, 90, 4, NULL, NULL);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (zf_gw_store_epoch (store), 3);

    //  The messages go out in the order they came.
    msgpack_unpacked msg;
    zf_gw_frame_t *frame = zf_gw_store_take_broadcast (store);
    s_parse (frame, &msg);
    assert_true (mp_key_is (&msg.data, "t", "error"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    frame = zf_gw_store_take_broadcast (store);
    s_parse (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "time", "epoch", "registry", "detail", NULL));
    assert_true (mp_key_is (&msg.data, "t", "failover"));
    assert_int_equal (mp_int (&msg.data, "time", 0), 88);
    assert_int_equal (mp_int (&msg.data, "epoch", 0), 3);
    assert_true (mp_key_is (&msg.data, "registry", "backup"));
    assert_true (mp_key_is (&msg.data, "detail", how));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    //  A term whose event names nobody: nil, not a made-up name.
    frame = zf_gw_store_take_broadcast (store);
    s_parse (frame, &msg);
    assert_true (mp_key_is (&msg.data, "t", "failover"));
    assert_int_equal (mp_get (&msg.data, "registry")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal (mp_get (&msg.data, "detail")->type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    assert_null (zf_gw_store_take_broadcast (store));

    //  A new replica's reset replaces the views; the failovers stay, oldest first.
    delta = s_reset (20001);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    frame = zf_gw_store_snapshot (store);
    s_parse (frame, &msg);
    const msgpack_object *failovers = mp_get (&msg.data, "failovers");
    assert_int_equal (failovers->via.array.size, 2);
    assert_true (s_is_failover (&failovers->via.array.ptr[0], 88, 3, "backup", how));
    assert_true (s_is_failover (&failovers->via.array.ptr[1], 90, 4, NULL, NULL));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  Only the latest are kept.
    delta = zf_gw_delta_new ();
    for (uint64_t epoch = 5; epoch < 5 + ZF_GW_FAILOVERS_KEPT; epoch++)
        s_failover_op (delta, 100 + (int64_t)epoch, epoch, "primary", "took over");
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    while ((frame = zf_gw_store_take_broadcast (store)))
        zf_gw_frame_unref (&frame);
    frame = zf_gw_store_snapshot (store);
    s_parse (frame, &msg);
    failovers = mp_get (&msg.data, "failovers");
    assert_int_equal (failovers->via.array.size, ZF_GW_FAILOVERS_KEPT);
    assert_true (s_is_failover (&failovers->via.array.ptr[0], 105, 5, "primary", "took over"));
    assert_true (s_is_failover (&failovers->via.array.ptr[ZF_GW_FAILOVERS_KEPT - 1],
                                104 + ZF_GW_FAILOVERS_KEPT, 4 + ZF_GW_FAILOVERS_KEPT, "primary",
                                "took over"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    zf_gw_store_destroy (&store);
}

static void
test_coalescing (void **state)
{
    zf_gw_store_t *store = zf_gw_store_new (ZF_GW_LOG_CHANGES);
    zf_date_t date = 20000;
    zf_gw_delta_t *delta = s_reset (date);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    uint64_t start = zf_gw_store_version (store);
    zf_gw_frame_t *frame = NULL;
    assert_int_equal (zf_gw_store_update (store, start, &frame), 0);

    //  A burst: every task goes ready, dispatched, running, succeeded, in
    //  many small deltas, as the replica hands them over.
    const uint8_t steps[] = {ZF_TS_READY, ZF_TS_DISPATCHED, ZF_TS_RUNNING, ZF_TS_SUCCEEDED};
    uint64_t middle = 0;
    for (int step = 0; step < 4; step++) {
        for (uint32_t first = 0; first < S_TASKS; first += 500) {
            delta = zf_gw_delta_new ();
            delta->synced = true;
            delta->seq = 101 + (uint64_t)step * S_TASKS + first;
            s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
            for (uint32_t i = first; i < first + 500; i++)
                s_task_op (delta, i, steps[step], (uint32_t)step + 1);
            assert_int_equal (zf_gw_store_apply (store, delta), 0);
            zf_gw_delta_destroy (&delta);
        }
        if (step == 1) middle = zf_gw_store_version (store);
    }
    assert_int_equal (zf_gw_store_task_states (store)[ZF_TS_SUCCEEDED], S_TASKS);
    assert_int_equal (zf_gw_store_task_states (store)[ZF_TS_WAITING], 0);

    //  One update for all of it: every task once, in its latest state.
    assert_int_equal (zf_gw_store_update (store, start, &frame), 1);
    msgpack_unpacked msg;
    s_parse (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "seq", "flows", "runs", "executors", NULL));
    assert_true (mp_key_is (&msg.data, "t", "update"));
    assert_int_equal (mp_get (&msg.data, "flows")->via.array.size, 0);
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_int_equal (runs->via.array.size, 1);
    const msgpack_object *tasks = mp_get (&runs->via.array.ptr[0], "tasks");
    assert_int_equal (tasks->via.array.size, S_TASKS);
    char *seen = calloc (S_TASKS, 1);
    for (uint32_t i = 0; i < S_TASKS; i++) {
        const msgpack_object *task = &tasks->via.array.ptr[i];
        assert_true (mp_key_is (task, "state", "succeeded"));
        assert_int_equal (mp_int (task, "attempt", 0), 4);
        char id[32];
        mp_text (task, "id", id, sizeof id);
        uint32_t index = (uint32_t)atoi (id + 1);
        assert_false (seen[index]);
        seen[index] = 1;
    }
    free (seen);
    msgpack_unpacked_destroy (&msg);

    //  A browser at the same version gets the very same frame.
    zf_gw_frame_t *shared = NULL;
    assert_int_equal (zf_gw_store_update (store, start, &shared), 1);
    assert_ptr_equal (shared, frame);
    zf_gw_frame_unref (&shared);
    zf_gw_frame_unref (&frame);

    //  From halfway, the same tasks, each once too.
    assert_int_equal (zf_gw_store_update (store, middle, &frame), 1);
    s_parse (frame, &msg);
    runs = mp_get (&msg.data, "runs");
    assert_int_equal (mp_get (&runs->via.array.ptr[0], "tasks")->via.array.size, S_TASKS);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  A view that did not change is not a change.
    uint64_t now = zf_gw_store_version (store);
    delta = zf_gw_delta_new ();
    s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
    s_task_op (delta, 3, ZF_TS_SUCCEEDED, 4);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    assert_int_equal (zf_gw_store_update (store, now, &frame), 0);
    zf_gw_store_destroy (&store);
}

static void
test_resync (void **state)
{
    //  A log of 64 changes: a browser further behind gets a snapshot.
    zf_gw_store_t *store = zf_gw_store_new (64);
    zf_date_t date = 20000;
    zf_gw_delta_t *delta = s_reset (date);
    uint64_t before_reset = zf_gw_store_version (store);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    zf_gw_frame_t *frame = NULL;
    //  A reset: whoever held views before it must take a snapshot.
    assert_int_equal (zf_gw_store_update (store, before_reset, &frame), -1);
    uint64_t start = zf_gw_store_version (store);
    for (uint32_t i = 0; i < 40; i++) {
        delta = zf_gw_delta_new ();
        s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
        s_task_op (delta, i, ZF_TS_READY, 1);
        assert_int_equal (zf_gw_store_apply (store, delta), 0);
        zf_gw_delta_destroy (&delta);
    }
    uint64_t recent = zf_gw_store_version (store) - 5;
    assert_int_equal (zf_gw_store_update (store, start, &frame), 1);
    zf_gw_frame_unref (&frame);
    for (uint32_t i = 40; i < 100; i++) {
        delta = zf_gw_delta_new ();
        s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
        s_task_op (delta, i, ZF_TS_READY, 1);
        assert_int_equal (zf_gw_store_apply (store, delta), 0);
        zf_gw_delta_destroy (&delta);
    }
    assert_int_equal (zf_gw_store_update (store, start, &frame), -1);
    assert_null (frame);
    //  A browser close behind is still updated.
    recent = zf_gw_store_version (store) - 5;
    assert_int_equal (zf_gw_store_update (store, recent, &frame), 1);
    msgpack_unpacked msg;
    s_parse (frame, &msg);
    const msgpack_object *runs = mp_get (&msg.data, "runs");
    assert_int_equal (mp_get (&runs->via.array.ptr[0], "tasks")->via.array.size, 5);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
    zf_gw_store_destroy (&store);
}

static void
test_big_update (void **state)
{
    //  Views big enough that an update would pass ZF_GW_MAX_UPDATE.
    zf_gw_store_t *store = zf_gw_store_new (ZF_GW_LOG_CHANGES);
    zf_date_t date = 20000;
    zf_gw_delta_t *delta = s_reset (date);
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    uint64_t start = zf_gw_store_version (store);
    char *detail = malloc (4000);
    memset (detail, 'x', 3999);
    detail[3999] = 0;
    delta = zf_gw_delta_new ();
    s_run_op (delta, "w1", date, S_TASKS, ZF_RS_RUNNING);
    for (uint32_t i = 0; i < 2000; i++) {
        char id[32];
        s_id (id, sizeof id, i);
        zf_engine_task_info_t task = {
            .id = id, .state = ZF_TS_FAILED, .shard_count = 1, .detail = detail};
        zf_gw_delta_begin (delta, ZF_GW_OP_TASK, NULL, 0, i, ZF_TS_FAILED, false);
        zf_gw_view_task (zf_gw_delta_pk (delta), &task);
        zf_gw_delta_end (delta);
    }
    assert_int_equal (zf_gw_store_apply (store, delta), 0);
    zf_gw_delta_destroy (&delta);
    free (detail);
    zf_gw_frame_t *frame = NULL;
    assert_int_equal (zf_gw_store_update (store, start, &frame), -1);
    zf_gw_store_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_snapshot),   cmocka_unit_test (test_failovers),
        cmocka_unit_test (test_coalescing), cmocka_unit_test (test_resync),
        cmocka_unit_test (test_big_update),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
