/*  zf_store.h - where the archiver keeps the registry's history: one small
    interface, two implementations (SQLite, PostgreSQL).

    Tables (docs/ARCHIVER.md has every column):
      schema_version   the version of this layout; the store migrates older ones
      flow_versions    every flow version: text, path, when it was submitted
      runs             one row per flow and business date: version, state, times
      task_instances   one row per (flow, date, task, shard, attempt): state,
                       times, executor, exit status, log tail
      journal          every event: its key fields and the encoded EVENTS body
      snapshots        registry snapshots, in parts, at seq_at
      watermark        the registry history and the seq every event up to
                       which is durable

    The store is dumb on purpose: the archiver maps events to rows (shard
    expansion, merging) and hands over one batch at a time, which the store
    writes in one transaction, or not at all. Every write is idempotent:
    journal rows are keyed by (history, seq), and a row of runs,
    task_instances or flow_versions changes only for a batch row with a
    larger seq than the one it holds.

    A registry that lost its state starts a new history (its seq begins at 1
    again). The archiver then writes a batch with a larger history number:
    journal and snapshots of the old history stay as they are (until
    retention removes them) and reads see only the current history.

    Calls return 0 (or a count) on success and -1 on failure, with
    zf_store_error saying why. A failure that leaves the connection unusable
    (the server went away, an I/O error) makes the next call reconnect first.
    Nothing here logs: the caller decides what a failure means.
*/
#ifndef ZF_STORE_H_INCLUDED
#define ZF_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_attr.h"
#include "zf_time.h"

//  The layout this code writes; older layouts are migrated on open.
#define ZF_STORE_SCHEMA_VERSION 2

//  A date column that holds no date (journal rows of events without one).
#define ZF_STORE_NO_DATE (-1)

typedef struct _zf_store_t zf_store_t;

//  One journal row: an event's key fields and its encoded EVENTS body.
typedef struct {
    uint64_t seq;     //  its seq in the history
    int64_t time;     //  ms since the epoch, when the registry made it
    uint8_t kind;     //  zf_event_kind_t
    uint8_t state;    //  task or run state, else 0
    const char *flow; //  flow name, or NULL
    zf_date_t date;   //  business date, or ZF_STORE_NO_DATE
    const char *task; //  task id, or NULL
    int32_t shard;    //  shard index, or -1
    uint32_t attempt; //  attempt
    const void *body; //  EVENTS body holding this one event
    size_t body_size; //  its bytes
} zf_store_event_t;

//  One flow version.
typedef struct {
    const char *flow;  //  flow name
    uint32_t version;  //  from 1
    int64_t submitted; //  ms since the epoch, 0 if unknown
    const char *path;  //  the file it came from, or NULL
    const char *text;  //  the flow file's text
    size_t text_size;  //  its bytes
    uint64_t seq;      //  seq of the event that made it
} zf_store_flow_t;

//  One run. started/ended 0 mean "not known here": a write keeps the value
//  the row holds (started keeps its first non-zero value for ever).
typedef struct {
    const char *flow; //  flow name
    zf_date_t date;   //  business date
    uint32_t version; //  the version it pinned
    uint8_t state;    //  zf_run_state_t
    int64_t started;  //  when it began running, or 0
    int64_t ended;    //  when it last ended, or 0
    uint64_t seq;     //  seq of the last event that changed it
} zf_store_run_t;

//  One attempt of one shard. Like runs, zero and NULL fields keep what the
//  row holds: started keeps its first non-zero value, ended, executor and
//  log_tail take a new value when one is given, exit_status comes with the
//  executor that reported it.
typedef struct {
    const char *flow;     //  flow name
    zf_date_t date;       //  business date
    const char *task;     //  task id
    int32_t shard;        //  shard index, -1 for an unsharded task
    uint32_t attempt;     //  attempt, 0 before the first
    uint8_t state;        //  zf_task_state_t
    int64_t started;      //  when it started running, or 0
    int64_t ended;        //  when it ended, or 0
    const char *executor; //  the executor that ran it, or NULL
    int32_t exit_status;  //  its exit status (with executor)
    const char *log_tail; //  error or end of its output, or NULL
    uint64_t seq;         //  seq of the last event that changed it
} zf_store_task_t;

//  One part of a snapshot: an EVENTS body of seq-0 events.
typedef struct {
    const void *body; //  the EVENTS body
    size_t size;      //  its bytes
} zf_store_part_t;

//  Everything one transaction writes.
typedef struct {
    uint64_t history;               //  registry history these rows belong to (from 1)
    const zf_store_event_t *events; //  journal rows, in seq order
    size_t event_count;
    const zf_store_flow_t *flows; //  flow versions (one row per key)
    size_t flow_count;
    const zf_store_run_t *runs; //  runs (one row per key)
    size_t run_count;
    const zf_store_task_t *tasks; //  task instances (one row per key)
    size_t task_count;
    uint64_t confirm;                //  CONFIRM watermark: successes with seq up to
                                     //  it become confirmed (after the rows), 0 none
    const zf_store_part_t *snapshot; //  a snapshot to keep, or NULL
    size_t snapshot_parts;           //  its parts
    uint64_t snapshot_seq_at;        //  the seq it holds at
    int64_t snapshot_taken;          //  when it was taken (ms)
    uint64_t watermark;              //  every event up to it is durable afterwards
} zf_store_batch_t;

//  Where the archive stands.
typedef struct {
    uint64_t history; //  current registry history (1 for a new store)
    uint64_t seq;     //  watermark: every event up to it is durable
} zf_store_mark_t;

//  The latest snapshot of the current history.
typedef struct {
    uint64_t seq_at; //  the seq it holds at
    uint32_t parts;  //  parts stored
    int64_t taken;   //  when it was taken (ms)
} zf_store_snapinfo_t;

//  Counters.
typedef struct {
    uint64_t batches;    //  transactions committed
    uint64_t failures;   //  calls that failed
    uint64_t reconnects; //  connections made after the first
    uint64_t rows;       //  rows written (journal and upserts)
} zf_store_stats_t;

//  Receives rows of a read; a non-zero return stops the read. Strings and
//  bodies are valid only during the call.
typedef int (zf_store_event_fn) (const zf_store_event_t *row, void *arg);
typedef int (zf_store_task_fn) (const zf_store_task_t *row, void *arg);
typedef int (zf_store_part_fn) (uint32_t part, const void *body, size_t size, void *arg);

//  Opens the store a URI names: "sqlite:PATH" (the file and its folder are
//  made if missing) or "postgresql://..." / "postgres://..." (libpq's URI).
//  Creates the tables or migrates an older layout to ZF_STORE_SCHEMA_VERSION.
//  NULL with the reason in error on failure.
zf_store_t *zf_store_open (const char *uri, char *error, size_t size);

//  As zf_store_open, but creates or migrates only up to version (tests of
//  migration, tools). A store at a newer version than this code knows is refused.
zf_store_t *zf_store_open_at (const char *uri, int version, char *error, size_t size);

//  Closes the connection; idempotent, NULLs the pointer.
void zf_store_destroy (zf_store_t **self_p);

//  "sqlite" or "postgresql".
const char *zf_store_kind (zf_store_t *self);

//  Why the last failed call failed.
const char *zf_store_error (zf_store_t *self);

//  The schema version the store is at.
int zf_store_schema_version (zf_store_t *self);

void zf_store_stats (zf_store_t *self, zf_store_stats_t *stats);

//  Writes a batch in one transaction: journal rows (an existing seq is left
//  alone), the upserts, the confirmation, the snapshot, the watermark. A
//  batch of a newer history than the store's makes it the current history
//  first (rows' seqs are reset, so the new history's rows replace them).
//  Returns 0, or -1 and nothing is written.
ZF_MUST_USE int zf_store_write (zf_store_t *self, const zf_store_batch_t *batch);

//  Reads the watermark. Returns 0 or -1.
ZF_MUST_USE int zf_store_watermark (zf_store_t *self, zf_store_mark_t *mark);

//  A flow version's text and path, copied (the caller frees both). Returns
//  0, 1 if there is no such version, or -1.
int zf_store_flow_text (zf_store_t *self, const char *flow, uint32_t version, char **text,
                        size_t *size, char **path);

//  The run of flow on date (ZF_STORE_NO_DATE: its latest); run->flow is the
//  flow given. Returns 0, 1 if there is none, or -1.
int zf_store_run (zf_store_t *self, const char *flow, zf_date_t date, zf_store_run_t *run);

//  Calls fn for every task instance of a run, by task, shard and attempt.
//  Returns 0 or -1.
int zf_store_run_tasks (zf_store_t *self, const char *flow, zf_date_t date, zf_store_task_fn *fn,
                        void *arg);

//  The latest snapshot of the current history. Returns 0, 1 if there is
//  none, or -1.
int zf_store_snapshot_latest (zf_store_t *self, zf_store_snapinfo_t *info);

//  Calls fn for each part of the snapshot at seq_at, in order. Returns 0 or -1.
int zf_store_snapshot_parts (zf_store_t *self, uint64_t seq_at, zf_store_part_fn *fn, void *arg);

//  The first and last seq of the current history's journal (both 0 if it
//  is empty). Returns 0 or -1.
int zf_store_journal_bounds (zf_store_t *self, uint64_t *first, uint64_t *last);

//  Calls fn for journal rows with after < seq <= until, in seq order, at
//  most max of them (0: no limit); with bodies false the rows come without
//  their bodies (body NULL, body_size still set). Returns the number of
//  rows read, or -1.
long zf_store_journal_scan (zf_store_t *self, uint64_t after, uint64_t until, size_t max,
                            bool bodies, zf_store_event_fn *fn, void *arg);

//  Retention, in one small transaction: deletes at most max_rows journal
//  rows older than cutoff (ms) that also lie at or before the latest
//  snapshot (rows of earlier histories need only be old), and snapshots
//  other than the two latest. Returns the journal rows deleted, or -1.
long zf_store_retain (zf_store_t *self, int64_t cutoff, size_t max_rows);

//  Runs SQL text without parameters (maintenance, tests). Returns 0 or -1.
ZF_MUST_USE int zf_store_exec (zf_store_t *self, const char *sql);

#endif
