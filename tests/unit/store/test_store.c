/*  Tests of the store (libs/store): the same list against SQLite (a file in
    a temporary folder) and PostgreSQL (a database on the "pg" fixture's
    server), chosen by the first argument: "sqlite" or "pg".

    Schema creation and migration from version 1, a batch written and read
    back, the same range written twice, merge rules of the upserts,
    histories, snapshots, journal ranges, retention, a failing statement
    and a lost connection (the next call reconnects).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "zf_pgtest.h"
#include "zf_store.h"

#define S_DATE        20416
#define S_PG_DATABASE "zf_test_store"

//  Steps of sqlite3_step that fail with an I/O error before the real one
//  runs again: the SQLite side of "the connection was lost". Link-time
//  wrapping leaves no other place for this count than a file-level one.
static int s_sqlite_failures;

int __real_sqlite3_step (sqlite3_stmt *stmt);
int __wrap_sqlite3_step (sqlite3_stmt *stmt);

int
__wrap_sqlite3_step (sqlite3_stmt *stmt)
{
    if (s_sqlite_failures > 0) {
        s_sqlite_failures--;
        return SQLITE_IOERR;
    }
    return __real_sqlite3_step (stmt);
}

//  Which store a run of this program tests.
typedef enum { S_SQLITE = 1, S_PG = 2 } s_backend_t;

typedef struct {
    s_backend_t backend; //  the store under test
    char dir[64];        //  temporary folder (SQLite)
    char uri[640];       //  the store's URI
    int stores;          //  SQLite files made in dir
    zf_store_t *store;   //  opened by the setup
} s_fixture_t;

//  Makes an empty store of the backend at fx->uri (not opened).
static void
s_fresh (s_fixture_t *fx)
{
    if (fx->backend == S_SQLITE) {
        if (!fx->dir[0]) {
            strcpy (fx->dir, "/tmp/zf-store-XXXXXX");
            assert_non_null (mkdtemp (fx->dir));
        }
        snprintf (fx->uri, sizeof fx->uri, "sqlite:%s/sub/zflow-%d.db", fx->dir, ++fx->stores);
    } else
        assert_int_equal (zf_pgtest_database (S_PG_DATABASE, fx->uri, sizeof fx->uri), 0);
}

static int
s_setup (void **state)
{
    s_fixture_t *fx = calloc (1, sizeof *fx);
    fx->backend = *(s_backend_t *)*state;
    s_fresh (fx);
    char error[512];
    fx->store = zf_store_open (fx->uri, error, sizeof error);
    if (!fx->store) fail_msg ("cannot open %s: %s", fx->uri, error);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_store_destroy (&fx->store);
    s_sqlite_failures = 0;
    if (fx->dir[0]) {
        char command[128];
        snprintf (command, sizeof command, "rm -rf '%s'", fx->dir);
        assert_int_equal (system (command), 0);
    }
    free (fx);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Rows for the tests

//  A journal row whose body is "body-<seq>".
typedef struct {
    zf_store_event_t rows[256];
    char bodies[256][32];
} s_events_t;

//  Fills count journal rows from seq first on, time = base + seq.
static void
s_events (s_events_t *ev, uint64_t first, size_t count, int64_t base)
{
    assert_true (count <= 256);
    for (size_t i = 0; i < count; i++) {
        uint64_t seq = first + i;
        snprintf (ev->bodies[i], sizeof ev->bodies[i], "body-%llu", (unsigned long long)seq);
        ev->rows[i] = (zf_store_event_t){
            .seq = seq,
            .time = base + (int64_t)seq,
            .kind = 3,
            .state = 4,
            .flow = "eod",
            .date = S_DATE,
            .task = "load",
            .shard = -1,
            .attempt = 1,
            .body = ev->bodies[i],
            .body_size = strlen (ev->bodies[i]),
        };
    }
}

//  A batch of journal rows only, with the watermark at the last.
static zf_store_batch_t
s_journal_batch (s_events_t *ev, uint64_t first, size_t count, int64_t base)
{
    s_events (ev, first, count, base);
    zf_store_batch_t batch = {
        .history = 1, .events = ev->rows, .event_count = count, .watermark = first + count - 1};
    return batch;
}

//  One task row.
static zf_store_task_t
s_task (const char *task, int32_t shard, uint32_t attempt, uint8_t state, uint64_t seq)
{
    zf_store_task_t row = {.flow = "eod",
                           .date = S_DATE,
                           .task = task,
                           .shard = shard,
                           .attempt = attempt,
                           .state = state,
                           .seq = seq};
    return row;
}

//  The rows of a run, copied for checks.
typedef struct {
    size_t count;
    struct {
        char task[32];
        int32_t shard;
        uint32_t attempt;
        uint8_t state;
        int64_t started, ended;
        char executor[32];
        int32_t exit_status;
        char log_tail[64];
        uint64_t seq;
    } rows[64];
} s_tasks_t;

//  zf_store_task_fn: collects rows.
static int
s_collect_task (const zf_store_task_t *row, void *arg)
{
    s_tasks_t *tasks = arg;
    if (tasks->count == 64) return 1;
    snprintf (tasks->rows[tasks->count].task, 32, "%s", row->task);
    tasks->rows[tasks->count].shard = row->shard;
    tasks->rows[tasks->count].attempt = row->attempt;
    tasks->rows[tasks->count].state = row->state;
    tasks->rows[tasks->count].started = row->started;
    tasks->rows[tasks->count].ended = row->ended;
    snprintf (tasks->rows[tasks->count].executor, 32, "%s", row->executor ? row->executor : "");
    tasks->rows[tasks->count].exit_status = row->exit_status;
    snprintf (tasks->rows[tasks->count].log_tail, 64, "%s", row->log_tail ? row->log_tail : "");
    tasks->rows[tasks->count].seq = row->seq;
    tasks->count++;
    return 0;
}

static void
s_read_tasks (s_fixture_t *fx, s_tasks_t *tasks)
{
    memset (tasks, 0, sizeof *tasks);
    assert_int_equal (zf_store_run_tasks (fx->store, "eod", S_DATE, s_collect_task, tasks), 0);
}

//  Journal rows read back: seqs, times, bodies.
typedef struct {
    size_t count;
    uint64_t seq[512];
    int64_t time[512];
    size_t size[512];
    char body[512][32];
} s_scan_t;

//  zf_store_event_fn: collects rows.
static int
s_collect_event (const zf_store_event_t *row, void *arg)
{
    s_scan_t *scan = arg;
    if (scan->count == 512) return 1;
    scan->seq[scan->count] = row->seq;
    scan->time[scan->count] = row->time;
    scan->size[scan->count] = row->body_size;
    if (row->body)
        snprintf (scan->body[scan->count], 32, "%.*s", (int)row->body_size,
                  (const char *)row->body);
    else
        scan->body[scan->count][0] = 0;
    scan->count++;
    return 0;
}

static long
s_scan (s_fixture_t *fx, uint64_t after, uint64_t until, size_t max, bool bodies, s_scan_t *scan)
{
    memset (scan, 0, sizeof *scan);
    return zf_store_journal_scan (fx->store, after, until, max, bodies, s_collect_event, scan);
}

//  ---------------------------------------------------------------------------
//  Tests

//  A new store: the current layout, watermark 0 of history 1, nothing held.
static void
test_schema_created (void **state)
{
    s_fixture_t *fx = *state;
    assert_int_equal (zf_store_schema_version (fx->store), ZF_STORE_SCHEMA_VERSION);
    assert_string_equal (zf_store_kind (fx->store),
                         fx->backend == S_SQLITE ? "sqlite" : "postgresql");
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.history, 1);
    assert_int_equal (mark.seq, 0);
    uint64_t first = 9, last = 9;
    assert_int_equal (zf_store_journal_bounds (fx->store, &first, &last), 0);
    assert_int_equal (first, 0);
    assert_int_equal (last, 0);
    zf_store_snapinfo_t snap;
    assert_int_equal (zf_store_snapshot_latest (fx->store, &snap), 1);
    zf_store_run_t run;
    assert_int_equal (zf_store_run (fx->store, "eod", S_DATE, &run), 1);
    //  Opening again finds the layout in place.
    zf_store_destroy (&fx->store);
    char error[512];
    fx->store = zf_store_open (fx->uri, error, sizeof error);
    assert_non_null (fx->store);
    assert_int_equal (zf_store_schema_version (fx->store), ZF_STORE_SCHEMA_VERSION);
}

//  A store written at version 1 is migrated, its rows kept, on open.
static void
test_migration (void **state)
{
    s_fixture_t *fx = *state;
    zf_store_destroy (&fx->store);
    s_fresh (fx);
    char error[512];
    fx->store = zf_store_open_at (fx->uri, 1, error, sizeof error);
    assert_non_null (fx->store);
    assert_int_equal (zf_store_schema_version (fx->store), 1);
    //  Version 1 knows no histories; writes of this code are refused.
    s_events_t ev;
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 1, 1000);
    assert_int_equal (zf_store_write (fx->store, &batch), -1);
    assert_non_null (strstr (zf_store_error (fx->store), "schema version 1"));
    const char *insert =
        fx->backend == S_SQLITE
            ? "INSERT INTO journal (seq, time, kind, state, flow, date, task, shard, attempt,"
              " body) VALUES (7, 1234, 3, 4, 'eod', '2025-11-24', 'load', -1, 1, X'6f6c64')"
            : "INSERT INTO journal (seq, time, kind, state, flow, date, task, shard, attempt,"
              " body) VALUES (7, 1234, 3, 4, 'eod', '2025-11-24', 'load', -1, 1, '\\x6f6c64')";
    assert_int_equal (zf_store_exec (fx->store, insert), 0);
    assert_int_equal (zf_store_exec (fx->store, "UPDATE watermark SET seq = 7"), 0);
    zf_store_destroy (&fx->store);

    fx->store = zf_store_open (fx->uri, error, sizeof error);
    assert_non_null (fx->store);
    assert_int_equal (zf_store_schema_version (fx->store), 2);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.history, 1);
    assert_int_equal (mark.seq, 7);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 100, 0, true, &scan), 1);
    assert_int_equal (scan.seq[0], 7);
    assert_int_equal (scan.time[0], 1234);
    assert_string_equal (scan.body[0], "old");
    //  And the migrated store takes batches.
    batch = s_journal_batch (&ev, 8, 3, 2000);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (s_scan (fx, 0, 100, 0, true, &scan), 4);
}

//  A batch of every kind of row, read back.
static void
test_batch_roundtrip (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    s_events (&ev, 1, 4, 1000);
    const char *text = "flow: eod\ntasks:\n  - id: start\n    type: start\n";
    zf_store_flow_t flow = {"eod", 1, 1001, "/flows/eod.yaml", text, strlen (text), 1};
    zf_store_run_t run = {"eod", S_DATE, 1, 1, 1002, 0, 2};
    zf_store_task_t tasks[3] = {s_task ("load", -1, 1, 3, 3), s_task ("split", 0, 1, 4, 4),
                                s_task ("split", 1, 2, 6, 4)};
    tasks[0].started = 1003;
    tasks[0].executor = "ex-1";
    tasks[2].ended = 1004;
    tasks[2].exit_status = 3;
    tasks[2].executor = "ex-2";
    tasks[2].log_tail = "no such file";
    zf_store_batch_t batch = {.history = 1,
                              .events = ev.rows,
                              .event_count = 4,
                              .flows = &flow,
                              .flow_count = 1,
                              .runs = &run,
                              .run_count = 1,
                              .tasks = tasks,
                              .task_count = 3,
                              .watermark = 4};
    assert_int_equal (zf_store_write (fx->store, &batch), 0);

    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.seq, 4);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 10, 0, true, &scan), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal (scan.seq[i], i + 1);
        assert_int_equal (scan.time[i], 1000 + (int64_t)i + 1);
        assert_string_equal (scan.body[i], ev.bodies[i]);
    }
    char *read_text = NULL, *path = NULL;
    size_t size = 0;
    assert_int_equal (zf_store_flow_text (fx->store, "eod", 1, &read_text, &size, &path), 0);
    assert_int_equal (size, strlen (text));
    assert_string_equal (read_text, text);
    assert_string_equal (path, "/flows/eod.yaml");
    free (read_text);
    free (path);
    assert_int_equal (zf_store_flow_text (fx->store, "eod", 2, &read_text, &size, &path), 1);

    zf_store_run_t got;
    assert_int_equal (zf_store_run (fx->store, "eod", S_DATE, &got), 0);
    assert_int_equal (got.version, 1);
    assert_int_equal (got.state, 1);
    assert_int_equal (got.started, 1002);
    assert_int_equal (zf_store_run (fx->store, "eod", ZF_STORE_NO_DATE, &got), 0);
    assert_int_equal (got.date, S_DATE);

    s_tasks_t read;
    s_read_tasks (fx, &read);
    assert_int_equal (read.count, 3);
    assert_string_equal (read.rows[0].task, "load");
    assert_int_equal (read.rows[0].shard, -1);
    assert_int_equal (read.rows[0].state, 3);
    assert_int_equal (read.rows[0].started, 1003);
    assert_string_equal (read.rows[0].executor, "ex-1");
    assert_string_equal (read.rows[2].task, "split");
    assert_int_equal (read.rows[2].shard, 1);
    assert_int_equal (read.rows[2].attempt, 2);
    assert_int_equal (read.rows[2].state, 6);
    assert_int_equal (read.rows[2].ended, 1004);
    assert_int_equal (read.rows[2].exit_status, 3);
    assert_string_equal (read.rows[2].log_tail, "no such file");

    zf_store_stats_t stats;
    zf_store_stats (fx->store, &stats);
    assert_int_equal (stats.batches, 1);
    assert_int_equal (stats.rows, 9);
    assert_int_equal (stats.failures, 0);
}

//  The same range written twice changes nothing; an older row never
//  replaces a newer one; the watermark never goes back.
static void
test_idempotent (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 50, 1000);
    zf_store_task_t task = s_task ("load", -1, 1, 4, 40);
    task.ended = 1040;
    batch.tasks = &task;
    batch.task_count = 1;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 1000, 0, false, &scan), 50);

    //  A replay of an older range: rows stay, the watermark stays at 50.
    zf_store_batch_t older = s_journal_batch (&ev, 11, 10, 1000);
    zf_store_task_t stale = s_task ("load", -1, 1, 3, 15);
    older.tasks = &stale;
    older.task_count = 1;
    assert_int_equal (zf_store_write (fx->store, &older), 0);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.seq, 50);
    s_tasks_t read;
    s_read_tasks (fx, &read);
    assert_int_equal (read.count, 1);
    assert_int_equal (read.rows[0].state, 4);
    assert_int_equal (read.rows[0].seq, 40);
    assert_int_equal (s_scan (fx, 0, 1000, 0, false, &scan), 50);
    //  Bodies were not replaced either.
    assert_int_equal (s_scan (fx, 10, 11, 0, true, &scan), 1);
    assert_string_equal (scan.body[0], "body-11");
}

//  Upserts keep the first start, take new ends, executors and tails, and
//  a confirmation confirms successes up to its seq only.
static void
test_merge_rules (void **state)
{
    s_fixture_t *fx = *state;
    zf_store_task_t first[2] = {s_task ("load", -1, 1, 3, 10), s_task ("calc", -1, 1, 3, 11)};
    first[0].started = 500;
    first[0].executor = "ex-1";
    first[1].started = 501;
    zf_store_batch_t batch = {.history = 1, .tasks = first, .task_count = 2, .watermark = 11};
    assert_int_equal (zf_store_write (fx->store, &batch), 0);

    zf_store_task_t later[2] = {s_task ("load", -1, 1, 4, 12), s_task ("calc", -1, 1, 4, 20)};
    later[0].started = 600; //  not the first start: ignored
    later[0].ended = 700;
    later[0].log_tail = "done";
    later[1].ended = 701;
    later[1].executor = "ex-2";
    later[1].exit_status = 0;
    zf_store_batch_t batch2 = {
        .history = 1, .tasks = later, .task_count = 2, .confirm = 15, .watermark = 20};
    assert_int_equal (zf_store_write (fx->store, &batch2), 0);
    s_tasks_t read;
    s_read_tasks (fx, &read);
    assert_int_equal (read.count, 2);
    //  Sorted by task: calc, then load.
    assert_string_equal (read.rows[0].task, "calc");
    assert_int_equal (read.rows[0].state, 4); //  seq 20 > 15: not yet confirmed
    assert_int_equal (read.rows[0].started, 501);
    assert_string_equal (read.rows[0].executor, "ex-2");
    assert_string_equal (read.rows[1].task, "load");
    assert_int_equal (read.rows[1].state, 5); //  confirmed
    assert_int_equal (read.rows[1].started, 500);
    assert_int_equal (read.rows[1].ended, 700);
    assert_string_equal (read.rows[1].executor, "ex-1");
    assert_string_equal (read.rows[1].log_tail, "done");

    //  Runs: the first start stays, a later end replaces the earlier one.
    zf_store_run_t runs[1] = {{"eod", S_DATE, 1, 1, 100, 0, 1}};
    zf_store_batch_t batch3 = {.history = 1, .runs = runs, .run_count = 1, .watermark = 21};
    assert_int_equal (zf_store_write (fx->store, &batch3), 0);
    runs[0] = (zf_store_run_t){"eod", S_DATE, 1, 3, 0, 200, 2};
    assert_int_equal (zf_store_write (fx->store, &batch3), 0);
    runs[0] = (zf_store_run_t){"eod", S_DATE, 1, 2, 150, 300, 3};
    assert_int_equal (zf_store_write (fx->store, &batch3), 0);
    zf_store_run_t got;
    assert_int_equal (zf_store_run (fx->store, "eod", S_DATE, &got), 0);
    assert_int_equal (got.state, 2);
    assert_int_equal (got.started, 100);
    assert_int_equal (got.ended, 300);
}

//  A new registry history: reads see only it, and its rows replace the old
//  history's even with smaller seqs.
static void
test_history (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 30, 1000);
    zf_store_task_t task = s_task ("load", -1, 1, 6, 30);
    batch.tasks = &task;
    batch.task_count = 1;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);

    zf_store_batch_t next = s_journal_batch (&ev, 1, 5, 5000);
    next.history = 2;
    zf_store_task_t again = s_task ("load", -1, 1, 3, 4);
    next.tasks = &again;
    next.task_count = 1;
    assert_int_equal (zf_store_write (fx->store, &next), 0);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.history, 2);
    assert_int_equal (mark.seq, 5);
    uint64_t first, last;
    assert_int_equal (zf_store_journal_bounds (fx->store, &first, &last), 0);
    assert_int_equal (first, 1);
    assert_int_equal (last, 5);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 100, 0, false, &scan), 5);
    assert_int_equal (scan.time[0], 5001);
    s_tasks_t read;
    s_read_tasks (fx, &read);
    assert_int_equal (read.rows[0].state, 3);
    assert_int_equal (read.rows[0].seq, 4);
    //  A reopened store stays in the new history.
    zf_store_destroy (&fx->store);
    char error[512];
    fx->store = zf_store_open (fx->uri, error, sizeof error);
    assert_int_equal (s_scan (fx, 0, 100, 0, false, &scan), 5);
}

//  zf_store_part_fn: collects parts as strings.
static int
s_collect_part (uint32_t part, const void *body, size_t size, void *arg)
{
    char (*parts)[32] = arg;
    if (part < 1 || part > 4) return 1;
    snprintf (parts[part - 1], 32, "%.*s", (int)size, (const char *)body);
    return 0;
}

//  Snapshots go in with a batch and come back part by part; the latest wins.
static void
test_snapshot (void **state)
{
    s_fixture_t *fx = *state;
    zf_store_part_t parts[3] = {{"one", 3}, {"two", 3}, {"three", 5}};
    zf_store_batch_t batch = {.history = 1,
                              .snapshot = parts,
                              .snapshot_parts = 3,
                              .snapshot_seq_at = 40,
                              .snapshot_taken = 777,
                              .watermark = 40};
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    zf_store_snapinfo_t info;
    assert_int_equal (zf_store_snapshot_latest (fx->store, &info), 0);
    assert_int_equal (info.seq_at, 40);
    assert_int_equal (info.parts, 3);
    assert_int_equal (info.taken, 777);
    char got[4][32] = {"", "", "", ""};
    assert_int_equal (zf_store_snapshot_parts (fx->store, 40, s_collect_part, got), 0);
    assert_string_equal (got[0], "one");
    assert_string_equal (got[1], "two");
    assert_string_equal (got[2], "three");
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.seq, 40);

    //  The same seq again replaces it whole; a later one becomes the latest.
    batch.snapshot_parts = 1;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (zf_store_snapshot_latest (fx->store, &info), 0);
    assert_int_equal (info.parts, 1);
    zf_store_part_t later[2] = {{"four", 4}, {"five", 4}};
    batch.snapshot = later;
    batch.snapshot_parts = 2;
    batch.snapshot_seq_at = 90;
    batch.watermark = 90;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (zf_store_snapshot_latest (fx->store, &info), 0);
    assert_int_equal (info.seq_at, 90);
    assert_int_equal (info.parts, 2);
    memset (got, 0, sizeof got);
    assert_int_equal (zf_store_snapshot_parts (fx->store, 90, s_collect_part, got), 0);
    assert_string_equal (got[0], "four");
    assert_string_equal (got[1], "five");
    assert_string_equal (got[2], "");
}

//  Ranges of the journal: bounds, limits, sizes without bodies.
static void
test_journal_range (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    for (uint64_t first = 1; first <= 300; first += 100) {
        zf_store_batch_t batch = s_journal_batch (&ev, first, 100, 1000);
        assert_int_equal (zf_store_write (fx->store, &batch), 0);
    }
    uint64_t first, last;
    assert_int_equal (zf_store_journal_bounds (fx->store, &first, &last), 0);
    assert_int_equal (first, 1);
    assert_int_equal (last, 300);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 10, 20, 0, true, &scan), 10);
    assert_int_equal (scan.seq[0], 11);
    assert_int_equal (scan.seq[9], 20);
    assert_string_equal (scan.body[9], "body-20");
    assert_int_equal (s_scan (fx, 10, 300, 5, true, &scan), 5);
    assert_int_equal (scan.seq[4], 15);
    assert_int_equal (s_scan (fx, 250, 1000, 0, false, &scan), 50);
    assert_int_equal (scan.size[0], strlen ("body-251"));
    assert_string_equal (scan.body[0], "");
    assert_int_equal (s_scan (fx, 300, 400, 0, true, &scan), 0);
    assert_int_equal (s_scan (fx, 20, 20, 0, true, &scan), 0);
}

//  Retention deletes only rows both old and before the latest snapshot, in
//  batches of the size asked, and keeps the two latest snapshots.
static void
test_retention (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    //  seq 1..100 at times 1001..1100, seq 101..200 at 5101..5200.
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 100, 1000);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    batch = s_journal_batch (&ev, 101, 100, 5000);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    //  Without a snapshot nothing goes, however old.
    assert_int_equal (zf_store_retain (fx->store, 1000000, 1000), 0);
    zf_store_part_t part = {"snap", 4};
    zf_store_batch_t snap = {.history = 1,
                             .snapshot = &part,
                             .snapshot_parts = 1,
                             .snapshot_taken = 1,
                             .watermark = 200};
    for (uint64_t seq_at = 20; seq_at <= 60; seq_at += 20) {
        snap.snapshot_seq_at = seq_at;
        assert_int_equal (zf_store_write (fx->store, &snap), 0);
    }
    //  Old rows are 1..100; the latest snapshot is at 60: 1..60 may go.
    assert_int_equal (zf_store_retain (fx->store, 5000, 25), 25);
    assert_int_equal (zf_store_retain (fx->store, 5000, 25), 25);
    assert_int_equal (zf_store_retain (fx->store, 5000, 25), 10);
    assert_int_equal (zf_store_retain (fx->store, 5000, 25), 0);
    uint64_t first, last;
    assert_int_equal (zf_store_journal_bounds (fx->store, &first, &last), 0);
    assert_int_equal (first, 61);
    assert_int_equal (last, 200);
    //  Snapshot at 20 is gone; 40 and 60 stay.
    char got[4][32] = {"", "", "", ""};
    assert_int_equal (zf_store_snapshot_parts (fx->store, 20, s_collect_part, got), 0);
    assert_string_equal (got[0], "");
    assert_int_equal (zf_store_snapshot_parts (fx->store, 40, s_collect_part, got), 0);
    assert_string_equal (got[0], "snap");
    //  Rows of an earlier history need only be old.
    batch = s_journal_batch (&ev, 1, 10, 9000);
    batch.history = 2;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (zf_store_retain (fx->store, 5150, 1000), 89);
    assert_int_equal (zf_store_retain (fx->store, 100000, 1000), 51);
    assert_int_equal (zf_store_journal_bounds (fx->store, &first, &last), 0);
    assert_int_equal (first, 1);
    assert_int_equal (last, 10);
}

//  A statement the database refuses (a CHECK constraint) fails the whole
//  batch: nothing of it is written, and the next batch goes in.
static void
test_failed_statement (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 10, 1000);
    zf_store_task_t bad = s_task ("load", -1, 1, 99, 5);
    batch.tasks = &bad;
    batch.task_count = 1;
    assert_int_equal (zf_store_write (fx->store, &batch), -1);
    assert_true (strlen (zf_store_error (fx->store)) > 0);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 100, 0, false, &scan), 0);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.seq, 0);
    bad.state = 4;
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    assert_int_equal (s_scan (fx, 0, 100, 0, false, &scan), 10);
    zf_store_stats_t stats;
    zf_store_stats (fx->store, &stats);
    assert_int_equal (stats.failures, 1);
    assert_int_equal (stats.reconnects, 0);
}

//  A lost connection fails the call; the next call reconnects and works.
static void
test_reconnect (void **state)
{
    s_fixture_t *fx = *state;
    s_events_t ev;
    zf_store_batch_t batch = s_journal_batch (&ev, 1, 10, 1000);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    if (fx->backend == S_SQLITE)
        s_sqlite_failures = 1;
    else
        assert_int_equal (zf_pgtest_disconnect (S_PG_DATABASE), 1);
    batch = s_journal_batch (&ev, 11, 10, 1000);
    assert_int_equal (zf_store_write (fx->store, &batch), -1);
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    zf_store_stats_t stats;
    zf_store_stats (fx->store, &stats);
    assert_int_equal (stats.reconnects, 1);
    assert_int_equal (stats.failures, 1);
    s_scan_t scan;
    assert_int_equal (s_scan (fx, 0, 100, 0, false, &scan), 20);
    zf_store_mark_t mark;
    assert_int_equal (zf_store_watermark (fx->store, &mark), 0);
    assert_int_equal (mark.seq, 20);
}

//  Text that is not UTF-8 goes in (PostgreSQL gets U+FFFD for bad bytes).
static void
test_odd_text (void **state)
{
    s_fixture_t *fx = *state;
    zf_store_task_t task = s_task ("load", -1, 1, 6, 1);
    task.log_tail = "bad \xff\xfe bytes \xc3";
    zf_store_batch_t batch = {.history = 1, .tasks = &task, .task_count = 1, .watermark = 1};
    assert_int_equal (zf_store_write (fx->store, &batch), 0);
    s_tasks_t read;
    s_read_tasks (fx, &read);
    assert_int_equal (read.count, 1);
    assert_int_equal (strncmp (read.rows[0].log_tail, "bad ", 4), 0);
}

//  Unknown stores are refused with a reason.
static void
test_bad_uri (void **state)
{
    char error[256];
    assert_null (zf_store_open ("mysql://somewhere", error, sizeof error));
    assert_non_null (strstr (error, "unknown store"));
    assert_null (zf_store_open ("sqlite:", error, sizeof error));
    assert_null (zf_store_open ("sqlite:/proc/no/such/place.db", error, sizeof error));
    assert_true (strlen (error) > 0);
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
        fprintf (stderr, "usage: test_store sqlite|pg\n");
        return 2;
    }
#define S_TEST(f) cmocka_unit_test_prestate_setup_teardown (f, s_setup, s_teardown, &backend)
    const struct CMUnitTest tests[] = {
        S_TEST (test_schema_created),    S_TEST (test_migration),     S_TEST (test_batch_roundtrip),
        S_TEST (test_idempotent),        S_TEST (test_merge_rules),   S_TEST (test_history),
        S_TEST (test_snapshot),          S_TEST (test_journal_range), S_TEST (test_retention),
        S_TEST (test_failed_statement),  S_TEST (test_reconnect),     S_TEST (test_odd_text),
        cmocka_unit_test (test_bad_uri),
    };
    return cmocka_run_group_tests_name (backend == S_SQLITE ? "store_sqlite" : "store_pg", tests,
                                        NULL, NULL);
}
