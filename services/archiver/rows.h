/*  rows.h - events as rows of the store: one batch's journal rows and
    upserts, and the catalog of flow versions they need.

    A TASK event for a whole sharded task (shard -1) stands for every one of
    its shards, so its rows need the task's shard count: that comes from the
    definition of the flow version the run pinned, parsed once (libs/flow)
    and kept in the catalog with the run's version. Rows of one batch with
    the same key are merged here, in event order, by the same rules the
    store's upserts follow (zf_store.h), so a batch writes each row once.

    Two kinds of input: live events (each also a journal row) and the
    records of a registry snapshot (seq 0, docs/CORE.md "Snapshots"), whose
    rows take the snapshot's seq. Strings of rows point into the events
    given, which must outlive the batch.
*/
#ifndef ZF_ARCHIVER_ROWS_H_INCLUDED
#define ZF_ARCHIVER_ROWS_H_INCLUDED

#include "queue.h"
#include "zf_flow.h"
#include "zf_store.h"

//  Flow versions kept parsed; past it the catalog starts over.
#define ZF_ROWS_FLOW_CACHE 64

//  Runs whose version is kept; past it the catalog starts over.
#define ZF_ROWS_RUN_CACHE 100000

typedef struct _zf_rows_t zf_rows_t;

//  A builder that looks up what it has not seen in store (not owned).
zf_rows_t *zf_rows_new (zf_store_t *store);

void zf_rows_destroy (zf_rows_t **self_p);

//  Starts a new batch (the catalog stays).
void zf_rows_reset (zf_rows_t *self);

//  Adds a live event and its journal row. Returns 0, or -1 if a lookup in
//  the store failed or memory ran out (zf_rows_error says which): the
//  batch cannot be written now.
int zf_rows_add_event (zf_rows_t *self, const zf_item_t *item);

//  Adds a snapshot record; seq is the snapshot's seq_at. Returns as above.
int zf_rows_add_record (zf_rows_t *self, const zf_event_t *record, uint64_t seq);

//  Task rows in the batch so far (a whole-task event may add thousands).
size_t zf_rows_task_count (zf_rows_t *self);

//  Points batch's row arrays and confirmation at this batch's rows.
void zf_rows_fill (zf_rows_t *self, zf_store_batch_t *batch);

//  The definition of a flow version, from the catalog or the store, or
//  NULL (unknown, or the store failed: zf_rows_error says).
const zf_flow_t *zf_rows_flow (zf_rows_t *self, const char *flow, uint32_t version);

//  Forgets the catalog (a new registry history reuses names and versions).
void zf_rows_forget (zf_rows_t *self);

//  Why the last call failed.
const char *zf_rows_error (zf_rows_t *self);

//  TASK events whose shards could not be told (unknown flow version).
uint64_t zf_rows_unknown (zf_rows_t *self);

#endif
