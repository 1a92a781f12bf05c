/*  store.h - the views the browsers see, kept by the web thread.

    The replica hands over views (delta.h); the store keeps the latest of
    each: FLOWDEF per flow, RUNVIEW fields per run, TASKVIEW per task,
    EXECUTOR per executor, and the last ERRORs and FAILOVERs (each also a
    message of its own for the browsers that hold a snapshot). Every delta applied raises
    the store's version, and every task or run it touched goes into a log
    of changes with that version. A browser's state is one number, the
    version it has been sent up to (clients.c); its next update is built
    from the log: every run touched since, with the latest TASKVIEW of
    every task touched since, each once. Browsers at the same version share
    the same frame, built once; so do browsers connecting while nothing
    changes, for the snapshot.

    A run that is archived keeps its RUNVIEW fields and loses its tasks'
    views: snapshots and updates list it with "archived": true and no
    tasks, and a browser that held them drops them when it reads that.

    A browser so far behind that the log no longer reaches back to it, or
    whose update would pass ZF_GW_MAX_UPDATE, gets a snapshot instead. A
    reset (a new replica) moves the log's start past every browser, so all
    of them get a snapshot.
*/
#ifndef ZF_GW_STORE_H_INCLUDED
#define ZF_GW_STORE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "delta.h"
#include "handover.h"
#include "zf_event.h"

typedef struct _zf_gw_store_t zf_gw_store_t;

//  An empty store keeping at most log_changes changes for updates.
zf_gw_store_t *zf_gw_store_new (size_t log_changes);

void zf_gw_store_destroy (zf_gw_store_t **self_p);

//  Applies a delta; the version rises by one. Returns 0, or -1 if it found
//  no memory: the store then holds part of the delta, and only a reset
//  delta (everything again) puts it right.
ZF_MUST_USE int zf_gw_store_apply (zf_gw_store_t *self, const zf_gw_delta_t *delta);

//  The version: deltas applied.
uint64_t zf_gw_store_version (zf_gw_store_t *self);

//  The registry seq and epoch of the last delta.
uint64_t zf_gw_store_seq (zf_gw_store_t *self);
uint64_t zf_gw_store_epoch (zf_gw_store_t *self);

//  True once a reset came (there is a state to show).
bool zf_gw_store_has_state (zf_gw_store_t *self);

//  True if the last delta said the replica is in step with the registry.
bool zf_gw_store_synced (zf_gw_store_t *self);

//  Tasks held, by state (ZF_TS_MAX + 1 counts). An archived run holds none.
const uint64_t *zf_gw_store_task_states (zf_gw_store_t *self);

//  Runs held, and how many of them are archived.
size_t zf_gw_store_runs (zf_gw_store_t *self);
size_t zf_gw_store_runs_archived (zf_gw_store_t *self);

//  The snapshot message of the current version: a new reference, or NULL
//  if out of memory.
zf_gw_frame_t *zf_gw_store_snapshot (zf_gw_store_t *self);

//  The update message from version since to now. Returns 1 with *frame (a
//  new reference), 0 if nothing a browser sees changed since, -1 if since
//  is too far behind or the update finds no memory (send a snapshot instead).
int zf_gw_store_update (zf_gw_store_t *self, uint64_t since, zf_gw_frame_t **frame);

//  Takes the next message for every browser made by the deltas applied
//  ("error", "failover"), in the order they came, or NULL.
zf_gw_frame_t *zf_gw_store_take_broadcast (zf_gw_store_t *self);

#endif
