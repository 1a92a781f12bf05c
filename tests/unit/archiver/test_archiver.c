/*  Tests of the archiver actor in-process against a registry simulated in
    the test (tests/sim/sim_registry.h: a real engine behind a ROUTER and a
    PUB), with a SQLite store in a temporary folder.

    Events arrive, are written and acknowledged; a gap is repaired with
    EVENTS_SINCE; a range the registry no longer holds is replaced by a
    snapshot; a new registry history is recognised; store failures (a
    wrapped zf_store_write) and a full queue lose nothing; the recovery
    SNAPSHOT rebuilds an engine whose digest equals the registry's; the
    ROUTER answers history requests and refuses bad ones; retention.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>
#include <cmocka.h>

#include "archiver.h"
#include "sim_registry.h"
#include "zf_engine.h"
#include "zf_pipe.h"
#include "zf_regclient.h"
#include "zf_store.h"

//  Bounded waits.
#define S_WAIT_MS 15000

//  Writes of the store that fail before the real ones run again. Link-time
//  wrapping leaves no other place for this count than a file-level one.
static int s_write_failures;

int __real_zf_store_write (zf_store_t *self, const zf_store_batch_t *batch);
int __wrap_zf_store_write (zf_store_t *self, const zf_store_batch_t *batch);

int
__wrap_zf_store_write (zf_store_t *self, const zf_store_batch_t *batch)
{
    if (s_write_failures > 0) {
        s_write_failures--;
        return -1;
    }
    return __real_zf_store_write (self, batch);
}

//  A flow with a sharded task, and one whose middle task fails once.
static const char *s_flow = "flow: eod\n"
                            "tasks:\n"
                            "  - id: start\n"
                            "    type: start\n"
                            "  - id: load\n"
                            "    after: [start]\n"
                            "    service: noop\n"
                            "  - id: split\n"
                            "    after: [load]\n"
                            "    shards: 4\n"
                            "    service: noop\n"
                            "  - id: keyed\n"
                            "    after: [load]\n"
                            "    shards: [bonds, fx, equities]\n"
                            "    service: noop\n"
                            "    retries: 1\n"
                            "    retry_delay: 1s\n"
                            "  - id: report\n"
                            "    after: [split, keyed]\n"
                            "    service: noop\n";

typedef struct {
    char dir[64];             //  temporary folder
    char store[128];          //  the store's URI
    sim_registry_t *registry; //  the registry
    zf_archiver_config_t cfg; //  the archiver's settings
    zactor_t *archiver;       //  the archiver
    char endpoint[128];       //  its ROUTER
    zf_date_t date;           //  the run's date
} s_fixture_t;

//  The archiver's counters (STATS).
typedef struct {
    uint64_t received, written, batches, failures, durable, acked, repairs, fallbacks, snapshots,
        dropped, requests, bad_requests, history, queued;
} s_stats_t;

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof *fx);
    strcpy (fx->dir, "/tmp/zf-archiver-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    snprintf (fx->store, sizeof fx->store, "sqlite:%s/zflow.db", fx->dir);
    fx->registry = sim_registry_new ();
    fx->date = sim_registry_today (fx->registry) - 1;
    zf_archiver_config_defaults (&fx->cfg);
    fx->cfg.registry = sim_registry_endpoint (fx->registry);
    fx->cfg.store = fx->store;
    fx->cfg.bind = "tcp://127.0.0.1:*";
    fx->cfg.batch = 50;
    fx->cfg.batch_wait_ms = 5;
    fx->cfg.snapshot_every = 1000000;
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zactor_destroy (&fx->archiver);
    sim_registry_destroy (&fx->registry);
    s_write_failures = 0;
    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (command), 0);
    free (fx);
    return 0;
}

//  Starts the archiver with fx->cfg and waits for its subscription.
static void
s_start (s_fixture_t *fx)
{
    fx->archiver = zactor_new (zf_archiver_actor, &fx->cfg);
    assert_non_null (fx->archiver);
    assert_string_equal (fx->cfg.error, "");
    zf_fields_t *endpoints = zf_fields_ask (fx->archiver, ZF_PIPE_ENDPOINTS);
    assert_non_null (endpoints);
    assert_non_null (zf_fields_str (endpoints, "bind"));
    snprintf (fx->endpoint, sizeof fx->endpoint, "%s", zf_fields_str (endpoints, "bind"));
    zf_fields_destroy (&endpoints);
    assert_true (sim_registry_await_subscriber (fx->registry, S_WAIT_MS));
}

//  One field of an answer; the test fails if there is none of that name.
static uint64_t
s_field (zf_fields_t *fields, const char *name)
{
    uint64_t value = zf_fields_get (fields, name);
    if (value == ZF_FIELDS_ABSENT) fail_msg ("the archiver's answer has no %s", name);
    return value;
}

static void
s_stats (s_fixture_t *fx, s_stats_t *s)
{
    zf_fields_t *stats = zf_fields_ask (fx->archiver, ZF_PIPE_STATS);
    assert_non_null (stats);
    *s = (s_stats_t){
        s_field (stats, "received"), s_field (stats, "written"),   s_field (stats, "batches"),
        s_field (stats, "failures"), s_field (stats, "durable"),   s_field (stats, "acked"),
        s_field (stats, "repairs"),  s_field (stats, "fallbacks"), s_field (stats, "snapshots"),
        s_field (stats, "dropped"),  s_field (stats, "requests"),  s_field (stats, "bad_requests"),
        s_field (stats, "history"),  s_field (stats, "queued"),
    };
    zf_fields_destroy (&stats);
}

//  A retention pass now (RETAIN): journal rows and log files removed.
static void
s_retain (s_fixture_t *fx, uint64_t *rows, uint64_t *files)
{
    zf_fields_t *retained = zf_fields_ask (fx->archiver, "RETAIN");
    assert_non_null (retained);
    *rows = s_field (retained, "rows");
    *files = s_field (retained, "files");
    zf_fields_destroy (&retained);
}

//  Submits the flow and runs a date to its end; waits until the archive
//  has acknowledged every event.
static void
s_run (s_fixture_t *fx, zf_date_t date, const char *fail_task)
{
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    assert_true (sim_registry_start (fx->registry, "eod", date) >= 0);
    assert_true (sim_registry_run_all (fx->registry, fail_task) > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
}

//  A second connection to the archive, for checks.
static zf_store_t *
s_open_store (s_fixture_t *fx)
{
    char error[256];
    zf_store_t *store = zf_store_open (fx->store, error, sizeof error);
    assert_non_null (store);
    return store;
}

//  Counts journal rows.
static int
s_count_row (const zf_store_event_t *row, void *arg)
{
    (*(uint64_t *)arg)++;
    return 0;
}

//  Checks the journal holds every event from first to last.
static void
s_check_journal (zf_store_t *store, uint64_t first, uint64_t last)
{
    uint64_t low, high, count = 0;
    assert_int_equal (zf_store_journal_bounds (store, &low, &high), 0);
    assert_int_equal (low, first);
    assert_int_equal (high, last);
    assert_true (zf_store_journal_scan (store, first - 1, last, 0, false, s_count_row, &count) >=
                 0);
    assert_int_equal (count, last - first + 1);
}

//  Task rows read back: how many, and how many confirmed.
typedef struct {
    const char *task; //  the task counted
    int rows;         //  its rows
    int confirmed;    //  of them confirmed
    int failed;       //  of them that ended retrying or failed
} s_rows_t;

static int
s_count_task (const zf_store_task_t *row, void *arg)
{
    s_rows_t *rows = arg;
    if (strcmp (row->task, rows->task) != 0) return 0;
    rows->rows++;
    rows->confirmed += row->state == ZF_TS_CONFIRMED;
    rows->failed += row->state == ZF_TS_RETRYING || row->state == ZF_TS_FAILED;
    return 0;
}

static s_rows_t
s_task_rows (zf_store_t *store, zf_date_t date, const char *task)
{
    s_rows_t rows = {task, 0, 0, 0};
    assert_int_equal (zf_store_run_tasks (store, "eod", date, s_count_task, &rows), 0);
    return rows;
}

//  ---------------------------------------------------------------------------
//  Tests

//  Events arrive, are written with their rows, and ARCHIVED covers them all.
static void
test_events_archived (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    s_run (fx, fx->date, "keyed");
    uint64_t seq = sim_registry_seq (fx->registry);
    assert_int_equal (sim_registry_archived_seq (fx->registry), seq);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.durable, seq);
    assert_int_equal (stats.written, seq);
    assert_int_equal (stats.failures, 0);
    assert_int_equal (stats.queued, 0);

    zf_store_t *store = s_open_store (fx);
    s_check_journal (store, 1, seq);
    zf_store_run_t run;
    assert_int_equal (zf_store_run (store, "eod", fx->date, &run), 0);
    assert_int_equal (run.state, ZF_RS_SUCCEEDED);
    assert_true (run.started > 0 && run.ended >= run.started);
    //  A whole-task event became a row per shard; every success is confirmed.
    s_rows_t split = s_task_rows (store, fx->date, "split");
    assert_int_equal (split.rows, 4);
    assert_int_equal (split.confirmed, 4);
    //  keyed: attempt 1 of each shard failed (retrying), attempt 2 succeeded.
    s_rows_t keyed = s_task_rows (store, fx->date, "keyed");
    assert_int_equal (keyed.rows, 6);
    assert_int_equal (keyed.failed, 3);
    assert_int_equal (keyed.confirmed, 3);
    s_rows_t report = s_task_rows (store, fx->date, "report");
    assert_int_equal (report.rows, 1);
    char *text = NULL, *path = NULL;
    size_t size = 0;
    assert_int_equal (zf_store_flow_text (store, "eod", 1, &text, &size, &path), 0);
    assert_string_equal (text, s_flow);
    free (text);
    free (path);
    zf_store_destroy (&store);

    //  STATUS from the archive matches the run.
    zf_regclient_t *client = zf_regclient_new (fx->endpoint);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "eod";
    req.date = fx->date;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.run_count, 1);
    const zf_run_status_t *status = &reply.runs[0];
    assert_int_equal (status->state, ZF_RS_SUCCEEDED);
    assert_int_equal (status->task_count, 5);
    assert_string_equal (status->tasks[2].id, "split");
    assert_int_equal (status->tasks[2].state, ZF_TS_CONFIRMED);
    assert_int_equal (status->tasks[2].shards_total, 4);
    assert_int_equal (status->tasks[2].shards_done, 4);
    assert_string_equal (status->tasks[3].id, "keyed");
    assert_int_equal (status->tasks[3].attempt, 2);
    assert_int_equal (status->tasks[3].shards_done, 3);
    assert_int_equal (status->tasks[1].shards_total, 0);
    assert_string_equal (status->tasks[1].executor, "ex-1");
    assert_true (status->tasks[4].ended >= status->tasks[4].started);
    zf_regclient_destroy (&client);
}

//  Events kept off the bus are fetched with EVENTS_SINCE.
static void
test_gap_repaired (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    int asked = sim_registry_requests (fx->registry, ZF_BODY_EVENTS_SINCE);
    sim_registry_withhold (fx->registry, 3);
    assert_true (sim_registry_start (fx->registry, "eod", fx->date) >= 0);
    assert_true (sim_registry_run_all (fx->registry, NULL) > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    assert_true (sim_registry_requests (fx->registry, ZF_BODY_EVENTS_SINCE) > asked);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.fallbacks, 0);
    zf_store_t *store = s_open_store (fx);
    s_check_journal (store, 1, sim_registry_seq (fx->registry));
    zf_store_destroy (&store);
}

//  A gap the registry can no longer fill is replaced by a snapshot, whose
//  records give the rows; events after it follow as usual.
static void
test_unavailable_snapshot (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    uint64_t before = sim_registry_seq (fx->registry);
    //  A whole run off the bus, then forgotten by the registry's journal.
    sim_registry_withhold (fx->registry, 1000000);
    assert_true (sim_registry_start (fx->registry, "eod", fx->date) >= 0);
    assert_true (sim_registry_run_all (fx->registry, NULL) > 0);
    sim_registry_forget (fx->registry);
    sim_registry_withhold (fx->registry, 0);
    //  The next event shows the gap.
    assert_true (sim_registry_start (fx->registry, "eod", fx->date - 1) >= 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    assert_true (sim_registry_requests (fx->registry, ZF_BODY_SNAPSHOT) >= 1);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.fallbacks, 1);
    assert_int_equal (stats.history, 1);
    assert_int_equal (stats.durable, sim_registry_seq (fx->registry));
    zf_store_t *store = s_open_store (fx);
    zf_store_snapinfo_t snap;
    assert_int_equal (zf_store_snapshot_latest (store, &snap), 0);
    assert_true (snap.seq_at > before);
    //  The run that never came as events is there, from the snapshot.
    zf_store_run_t run;
    assert_int_equal (zf_store_run (store, "eod", fx->date, &run), 0);
    assert_int_equal (run.state, ZF_RS_SUCCEEDED);
    s_rows_t split = s_task_rows (store, fx->date, "split");
    assert_int_equal (split.rows, 4);
    //  The journal: what came before, and everything after the snapshot.
    uint64_t count = 0;
    assert_true (zf_store_journal_scan (store, 0, before, 0, false, s_count_row, &count) >= 0);
    assert_int_equal (count, before);
    count = 0;
    uint64_t seq = sim_registry_seq (fx->registry);
    assert_true (zf_store_journal_scan (store, snap.seq_at, seq, 0, false, s_count_row, &count) >=
                 0);
    assert_int_equal (count, seq - snap.seq_at);
    zf_store_destroy (&store);
}

//  A registry that lost its state (seq from 1 again) starts a new history.
static void
test_new_history (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    s_run (fx, fx->date, NULL);
    uint64_t old_seq = sim_registry_seq (fx->registry);
    sim_registry_restart (fx->registry);
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    assert_true (sim_registry_start (fx->registry, "eod", fx->date - 1) >= 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.history, 2);
    uint64_t seq = sim_registry_seq (fx->registry);
    assert_true (seq < old_seq);
    assert_int_equal (stats.durable, seq);
    zf_store_t *store = s_open_store (fx);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (store, &mark), 0);
    assert_int_equal (mark.history, 2);
    assert_int_equal (mark.seq, seq);
    uint64_t low, high;
    assert_int_equal (zf_store_journal_bounds (store, &low, &high), 0);
    assert_true (high == seq);
    //  The new history's run is there; the old run's rows stay as history.
    zf_store_run_t run;
    assert_int_equal (zf_store_run (store, "eod", fx->date - 1, &run), 0);
    assert_int_equal (zf_store_run (store, "eod", fx->date, &run), 0);
    zf_store_destroy (&store);
    //  And later events of the new history go on as usual.
    assert_true (sim_registry_run_all (fx->registry, NULL) > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
}

//  A store that fails is retried with backoff; nothing is lost.
static void
test_store_failure (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    s_write_failures = 3;
    s_run (fx, fx->date, NULL);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.failures, 3);
    assert_int_equal (stats.durable, sim_registry_seq (fx->registry));
    zf_store_t *store = s_open_store (fx);
    s_check_journal (store, 1, sim_registry_seq (fx->registry));
    zf_store_destroy (&store);
}

//  A full queue (the store failing meanwhile) drops what comes; it is
//  fetched again later and nothing is lost.
static void
test_queue_full (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.queue_events = 20;
    fx->cfg.batch = 10;
    s_start (fx);
    assert_int_equal (sim_registry_submit (fx->registry, s_flow), 1);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    s_write_failures = 4;
    assert_true (sim_registry_start (fx->registry, "eod", fx->date) >= 0);
    assert_true (sim_registry_run_all (fx->registry, "keyed") > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_true (stats.dropped > 0);
    assert_int_equal (stats.failures, 4);
    zf_store_t *store = s_open_store (fx);
    s_check_journal (store, 1, sim_registry_seq (fx->registry));
    zf_store_destroy (&store);
}

//  Folds a recovery SNAPSHOT from the archiver into a new engine, as a
//  registry restarting cold does; returns the engine.
static zf_engine_t *
s_recover (s_fixture_t *fx, zf_clock_t *clock, uint64_t *seq_at)
{
    zf_engine_t *engine = zf_engine_new (clock);
    assert_int_equal (zf_engine_restore_begin (engine), 0);
    zf_regclient_t *client = zf_regclient_new (fx->endpoint);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    int rc = zf_regclient_call (client, &req, &reply, S_WAIT_MS);
    bool restored = false;
    for (uint32_t part = 1; rc == 0; part++) {
        assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);
        assert_int_equal (reply.part, part);
        *seq_at = reply.seq;
        for (size_t i = 0; i < reply.event_count; i++) {
            const zf_event_t *event = &reply.events[i];
            if (event->seq == 0)
                assert_false (restored);
            else if (!restored) {
                assert_int_equal (zf_engine_restore_end (engine, event->seq - 1), 0);
                restored = true;
            }
            int applied = zf_engine_apply (engine, event);
            if (applied != 0)
                fail_msg ("apply seq %llu: %s", (unsigned long long)event->seq,
                          zf_engine_last_error (engine));
        }
        if (part == reply.parts) break;
        rc = zf_regclient_next (client, &reply, S_WAIT_MS);
    }
    assert_int_equal (rc, 0);
    if (!restored) assert_int_equal (zf_engine_restore_end (engine, *seq_at), 0);
    zf_regclient_destroy (&client);
    return engine;
}

//  The recovery SNAPSHOT (latest snapshot + journal after it) rebuilds the
//  registry's state exactly, before and after retention.
static void
test_recovery_snapshot (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.snapshot_every = 15;
    fx->cfg.retention_ms = 24 * 3600 * 1000;
    s_start (fx);
    s_run (fx, fx->date, "keyed");
    assert_true (sim_registry_start (fx->registry, "eod", fx->date - 1) >= 0);
    assert_true (sim_registry_run_all (fx->registry, NULL) > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_true (stats.snapshots >= 2);
    zf_clock_t *clock = zf_clock_new_fake (0);
    uint64_t seq_at = 0;
    zf_engine_t *engine = s_recover (fx, clock, &seq_at);
    assert_int_equal (seq_at, sim_registry_seq (fx->registry));
    assert_int_equal (zf_engine_seq (engine), seq_at);
    assert_true (zf_engine_digest (engine) == sim_registry_digest (fx->registry));
    zf_engine_destroy (&engine);

    //  Events are three days old: retention of one day removes the journal
    //  before the latest snapshot, and recovery still works.
    uint64_t rows = 0, files = 0;
    s_retain (fx, &rows, &files);
    assert_true (rows > 0);
    zf_store_t *store = s_open_store (fx);
    zf_store_snapinfo_t snap;
    assert_int_equal (zf_store_snapshot_latest (store, &snap), 0);
    uint64_t before = 0, after = 0, seq = sim_registry_seq (fx->registry);
    assert_true (zf_store_journal_scan (store, 0, snap.seq_at, 0, false, s_count_row, &before) >=
                 0);
    assert_true (zf_store_journal_scan (store, snap.seq_at, seq, 0, false, s_count_row, &after) >=
                 0);
    assert_int_equal (before, 0);
    assert_int_equal (after, seq - snap.seq_at);
    zf_store_destroy (&store);
    engine = s_recover (fx, clock, &seq_at);
    assert_true (zf_engine_digest (engine) == sim_registry_digest (fx->registry));
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

//  A registry restarting cold from the archive's recovery SNAPSHOT gets the
//  state it had, and goes on in the same history: no snapshot, no hole.
static void
test_cold_restart (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.snapshot_every = 20;
    s_start (fx);
    s_run (fx, fx->date, "keyed");
    uint64_t before = sim_registry_seq (fx->registry);
    assert_int_equal (sim_registry_recover (fx->registry, fx->endpoint), 1);
    assert_true (sim_registry_start (fx->registry, "eod", fx->date - 1) >= 0);
    assert_true (sim_registry_run_all (fx->registry, NULL) > 0);
    assert_true (sim_registry_await_archived (fx->registry, S_WAIT_MS));
    uint64_t seq = sim_registry_seq (fx->registry);
    assert_true (seq > before);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_int_equal (stats.history, 1);
    assert_int_equal (stats.fallbacks, 0);
    assert_int_equal (stats.durable, seq);
    zf_store_t *store = s_open_store (fx);
    uint64_t count = 0;
    assert_true (zf_store_journal_scan (store, 0, seq, 0, false, s_count_row, &count) >= 0);
    assert_int_equal (count, seq);
    zf_store_destroy (&store);
    //  And a second cold restart folds the new events too.
    assert_int_equal (sim_registry_recover (fx->registry, fx->endpoint), 1);
}

//  History requests on the ROUTER; bad ones get ERROR and change nothing.
static void
test_requests (void **state)
{
    s_fixture_t *fx = *state;
    s_start (fx);
    s_run (fx, fx->date, NULL);
    uint64_t seq = sim_registry_seq (fx->registry);
    zf_regclient_t *client = zf_regclient_new (fx->endpoint);
    zf_reg_request_t req;
    zf_reg_reply_t reply;

    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_int_equal (reply.number, (int64_t)seq);

    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
    req.seq = 3;
    req.max = 10;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);
    assert_int_equal (reply.seq, 13);
    assert_int_equal (reply.parts, 1);
    assert_int_equal (reply.event_count, 10);
    assert_int_equal (reply.events[0].seq, 4);
    assert_int_equal (reply.events[9].seq, 13);

    req.seq = seq + 5;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNAVAILABLE);

    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = s_flow;
    req.text_size = strlen (s_flow);
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_BAD_REQUEST);

    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = "eod";
    req.date = fx->date - 30;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_ERROR);
    assert_int_equal (reply.code, ZF_ERR_UNKNOWN_FLOW);
    req.date = ZF_DATE_NONE;
    assert_int_equal (zf_regclient_call (client, &req, &reply, S_WAIT_MS), 0);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    assert_int_equal (reply.runs[0].date, fx->date);
    zf_regclient_destroy (&client);

    //  Garbage: a body that does not decode, a message without a delimiter.
    zsock_t *dealer = zsock_new_dealer (fx->endpoint);
    zstr_sendx (dealer, "", "\x93\x01\x10\xcc", NULL);
    zstr_sendx (dealer, "nonsense", NULL);
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_reg_request_init (&req, ZF_BODY_PING, 77);
    zf_proto_error_t err;
    assert_int_equal (zf_reg_request_encode (enc, &req, &err), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, dealer);
    //  The ping after the garbage is answered: the archiver kept serving.
    zpoller_t *poller = zpoller_new (dealer, NULL);
    bool ponged = false;
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    for (int i = 0; i < 5 && !ponged && zpoller_wait (poller, S_WAIT_MS); i++) {
        msg = zmsg_recv (dealer);
        zframe_t *body = zmsg_last (msg);
        if (zf_reg_reply_decode (dec, zframe_data (body), zframe_size (body), &reply, &err) == 0 &&
            reply.req_id == 77)
            ponged = reply.type == ZF_BODY_OK;
        zmsg_destroy (&msg);
    }
    assert_true (ponged);
    zpoller_destroy (&poller);
    zf_proto_decoder_destroy (&dec);
    zf_proto_encoder_destroy (&enc);
    zsock_destroy (&dealer);
    s_stats_t stats;
    s_stats (fx, &stats);
    assert_true (stats.bad_requests >= 3);
}

//  Retention of task logs: old files go, new ones stay.
static void
test_log_retention (void **state)
{
    s_fixture_t *fx = *state;
    char logs[128], old_dir[160], path[256];
    snprintf (logs, sizeof logs, "%s/logs", fx->dir);
    snprintf (old_dir, sizeof old_dir, "%s/eod/old", logs);
    char command[512];
    snprintf (command, sizeof command, "mkdir -p '%s' '%s/eod/new'", old_dir, logs);
    assert_int_equal (system (command), 0);
    int64_t old_time = zclock_time () / 1000 - 3 * 24 * 3600;
    struct utimbuf old = {(time_t)old_time, (time_t)old_time};
    for (int i = 0; i < 5; i++) {
        snprintf (path, sizeof path, "%s/attempt-%d.log", old_dir, i);
        FILE *file = fopen (path, "w");
        fputs ("old output\n", file);
        fclose (file);
        assert_int_equal (utime (path, &old), 0);
        snprintf (path, sizeof path, "%s/eod/new/attempt-%d.log", logs, i);
        file = fopen (path, "w");
        fputs ("new output\n", file);
        fclose (file);
    }
    assert_int_equal (utime (old_dir, &old), 0);
    fx->cfg.log_dir = logs;
    fx->cfg.retention_ms = 24 * 3600 * 1000;
    s_start (fx);
    uint64_t rows = 0, files = 0;
    s_retain (fx, &rows, &files);
    assert_int_equal (files, 5);
    struct stat info;
    snprintf (path, sizeof path, "%s/attempt-0.log", old_dir);
    assert_int_not_equal (stat (path, &info), 0);
    snprintf (path, sizeof path, "%s/eod/new/attempt-0.log", logs);
    assert_int_equal (stat (path, &info), 0);
}

//  A store that cannot be opened stops the start with a reason.
static void
test_bad_store (void **state)
{
    s_fixture_t *fx = *state;
    fx->cfg.store = "sqlite:/proc/none/zflow.db";
    fx->archiver = zactor_new (zf_archiver_actor, &fx->cfg);
    assert_true (fx->archiver == NULL || fx->cfg.error[0]);
    assert_non_null (strstr (fx->cfg.error, "/proc/none"));
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_events_archived, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_gap_repaired, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unavailable_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_new_history, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_store_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_queue_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recovery_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cold_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_requests, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_log_retention, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_store, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("archiver", tests, NULL, NULL);
}
