/*  metrics.h - the gateway's numbers, and /metrics in Prometheus text format.

    Both threads write here: the replica (registry seq, the archiver's lag,
    dispatch latencies, executors, whether it is in step) and the web
    thread (tasks by state and runs in the views it holds, browsers,
    re-syncs, bad frames). One lock guards it all; each update is a few stores.
*/
#ifndef ZF_GW_METRICS_H_INCLUDED
#define ZF_GW_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_event.h"

//  Upper bounds of the dispatch latency histogram, seconds (then +Inf).
#define ZF_GW_LATENCY_BUCKETS 14

typedef struct _zf_gw_metrics_t zf_gw_metrics_t;

zf_gw_metrics_t *zf_gw_metrics_new (void);

void zf_gw_metrics_destroy (zf_gw_metrics_t **self_p);

//  Replica: the seq applied, the confirm watermark, in step or not.
void zf_gw_metrics_replica (zf_gw_metrics_t *self, uint64_t seq, uint64_t confirmed, bool synced);

//  Replica: one shard went from dispatched to running after seconds.
void zf_gw_metrics_dispatch_latency (zf_gw_metrics_t *self, double seconds);

//  Replica: executors live and lost.
void zf_gw_metrics_executors (zf_gw_metrics_t *self, size_t live, size_t lost);

//  Web thread: tasks held per state (ZF_TS_MAX + 1 counts).
void zf_gw_metrics_tasks (zf_gw_metrics_t *self, const uint64_t *counts);

//  Web thread: runs held, and how many of them are archived (no tasks held).
void zf_gw_metrics_runs (zf_gw_metrics_t *self, size_t runs, size_t archived);

//  Web thread: browsers connected.
void zf_gw_metrics_clients (zf_gw_metrics_t *self, size_t clients);

//  Web thread: one more re-sync, one more bad frame.
void zf_gw_metrics_resync (zf_gw_metrics_t *self);
void zf_gw_metrics_bad_frame (zf_gw_metrics_t *self);

//  True while the replica is in step with the registry.
bool zf_gw_metrics_synced (zf_gw_metrics_t *self);

//  The text of /metrics (text format 0.0.4) in a new string with size
//  bytes; NULL if out of memory.
char *zf_gw_metrics_render (zf_gw_metrics_t *self, size_t *size);

#endif
