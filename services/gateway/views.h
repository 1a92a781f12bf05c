/*  views.h - what browsers see of the engine: FLOWDEF, RUNVIEW, TASKVIEW.

    The WebSocket protocol (docs/GATEWAY.md) shows flows, runs and tasks as
    msgpack maps with string keys. This file builds them from the engine's
    views (zf_engine_flow_info, run_info, task_info) and keeps track of what
    a batch of events changed, so that only those views are built again:
    a task's TASKVIEW when one of its shards moved, a run's fields when the
    run moved or its flow was paused, a flow's FLOWDEF when a version came.

    A RUNVIEW goes out in pieces: its fields (zf_gw_run_fields key-value
    pairs without a map header) are built here, and the web thread adds the
    map header and the "tasks" list of whichever TASKVIEWs a message needs.

    An archived run (it succeeded and its tasks left the engine for the
    archive) has no tasks here: its RUNVIEW says "archived": true and lists
    none, and the browser asks for them with run_status when it shows it.
*/
#ifndef ZF_GW_VIEWS_H_INCLUDED
#define ZF_GW_VIEWS_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include "delta.h"
#include "zf_engine.h"
#include "zf_regapi.h"

//  Key-value pairs of a RUNVIEW before "tasks"; an archived run has one
//  more, "archived" (zf_gw_run_fields).
#define ZF_GW_RUN_FIELDS 7

//  Key-value pairs of an ERROR.
#define ZF_GW_ERROR_FIELDS 3

//  Key-value pairs of a FAILOVER.
#define ZF_GW_FAILOVER_FIELDS 4

//  Packs a string, or nil for NULL.
void zf_gw_pack_str (msgpack_packer *pk, const char *text);

//  Packs a string of size bytes.
void zf_gw_pack_strn (msgpack_packer *pk, const char *text, size_t size);

//  Packs a date as "YYYY-MM-DD".
void zf_gw_pack_date (msgpack_packer *pk, zf_date_t date);

//  Packs a TASKVIEW map.
void zf_gw_view_task (msgpack_packer *pk, const zf_engine_task_info_t *task);

//  Packs the RUNVIEW fields before "tasks" (no map header): ZF_GW_RUN_FIELDS
//  pairs, and "archived": true after them for an archived run.
void zf_gw_view_run_fields (msgpack_packer *pk, const zf_engine_run_info_t *run);

//  Key-value pairs zf_gw_view_run_fields packs for a run archived or not.
uint32_t zf_gw_run_fields (bool archived);

//  Packs a TASKVIEW map from a task of a STATUS_REPLY (the registry's or
//  the archive's view of a task): an unsharded task counts as one shard,
//  its shards_done and shards_failed follow its state; a sharded task's
//  running shards are not in STATUS, so shards_running counts only an
//  unsharded task that runs; due is 0.
void zf_gw_view_task_status (msgpack_packer *pk, const zf_task_status_t *task);

//  Packs a FLOWDEF map.
void zf_gw_view_flow (msgpack_packer *pk, const zf_engine_flow_info_t *flow);

//  Packs the ERROR fields (no map header): time, service, message.
void zf_gw_view_error (msgpack_packer *pk, int64_t time, const char *service, const char *message);

//  Packs the FAILOVER fields (no map header) of an EPOCH event that raised
//  the term: time, epoch, registry and detail (nil where the event names
//  none).
void zf_gw_view_failover (msgpack_packer *pk, const zf_event_t *epoch);

//  ---------------------------------------------------------------------------
//  What changed

typedef struct _zf_gw_changes_t zf_gw_changes_t;

zf_gw_changes_t *zf_gw_changes_new (void);

void zf_gw_changes_destroy (zf_gw_changes_t **self_p);

//  A flow's FLOWDEF changed (a version, a pause).
void zf_gw_changes_flow (zf_gw_changes_t *self, const char *flow);

//  A run's fields changed; with all_tasks, every task is new too.
void zf_gw_changes_run (zf_gw_changes_t *self, const char *flow, zf_date_t date, bool all_tasks);

//  A task of a run changed.
void zf_gw_changes_task (zf_gw_changes_t *self, const char *flow, zf_date_t date, uint32_t index);

//  Marks what one event, just applied to engine, changed: the task of a
//  TASK event, the run of a RUN event (all its tasks too if run_existed is
//  false: the run is new), the flow of a FLOW event, the flow and its runs
//  of a PAUSE event, the tasks of the successes a CONFIRM event covers.
//  Successes are remembered until confirmed, with the engine's strings.
void zf_gw_changes_event (zf_gw_changes_t *self, zf_engine_t *engine, const zf_event_t *event,
                          bool run_existed);

//  A snapshot item, just applied to the engine being restored: remembers
//  the success a record carries (its value is the success's seq).
void zf_gw_changes_snapshot_item (zf_gw_changes_t *self, zf_engine_t *engine,
                                  const zf_event_t *event);

//  The snapshot is complete: successes come in seq order from here.
void zf_gw_changes_snapshot_end (zf_gw_changes_t *self);

//  Forgets the marks and the successes (a new engine is coming).
void zf_gw_changes_reset (zf_gw_changes_t *self);

//  Successes remembered, not yet confirmed.
size_t zf_gw_changes_unconfirmed (zf_gw_changes_t *self);

//  True if nothing is marked.
bool zf_gw_changes_empty (zf_gw_changes_t *self);

//  Tasks marked (counting repeats), for tests and logs.
size_t zf_gw_changes_task_count (zf_gw_changes_t *self);

//  Forgets everything marked.
void zf_gw_changes_clear (zf_gw_changes_t *self);

//  True if a mark (or a success) found no memory since the last clear: the
//  marks are incomplete, and only a whole hand-over puts the views right.
bool zf_gw_changes_failed (zf_gw_changes_t *self);

//  Appends the views of everything marked to delta, each task once, then
//  forgets the marks. Marks the engine no longer knows are skipped, and so
//  are the tasks of an archived run: its RUN operation carries the flag
//  (delta.h) that tells the web thread to drop the views it held of them.
void zf_gw_views_write_changes (zf_engine_t *engine, zf_gw_changes_t *changes,
                                zf_gw_delta_t *delta);

//  Appends the views of every flow, run and task to delta (an archived
//  run: its fields only).
void zf_gw_views_write_all (zf_engine_t *engine, zf_gw_delta_t *delta);

#endif
