/*  fleet.h - many browsers watching one run, for the load test and the benchmark.

    Each browser keeps the state of every task of one run (flow, date) and
    the run's state, as the dashboard would from the gateway's messages.
    A thousand browsers mostly receive the same frames (the gateway builds
    each update once for all who are at the same point), so a frame is
    decoded once, cached by its content, and each browser only applies the
    decoded changes. The browsers are rawws.h clients, which read frames in
    blocks, so that the test's side costs less than the gateway it
    measures. Each browser also timestamps when it first sees a task
    succeeded, against the task's "ended" time: the fan-out latency.
*/
#ifndef FLEET_H_INCLUDED
#define FLEET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rawws.h"
#include "zf_regapi.h"

typedef struct _fleet_t fleet_t;

//  Connects count browsers to the gateway on port, watching the run of
//  flow on date ("YYYY-MM-DD") with task_count tasks.
fleet_t *fleet_new (rw_pool_t *pool, int port, int count, const char *flow, const char *date,
                    uint32_t task_count);

void fleet_destroy (fleet_t **self_p);

//  True once every browser holds a snapshot (a condition for rw_pool_run).
bool fleet_ready (void *self);

//  True once every browser sees the run succeeded with every task done.
bool fleet_complete (void *self);

//  Browsers that hold a snapshot, that are complete, that were closed.
int fleet_ready_count (fleet_t *self);
int fleet_complete_count (fleet_t *self);
int fleet_closed_count (fleet_t *self);

//  Compares every browser with the registry's STATUS of the run: the run's
//  state and every task's state. Returns the number of browsers that
//  differ (the first differences are printed).
int fleet_compare (fleet_t *self, const zf_run_status_t *run);

//  What the browsers received, all together.
typedef struct {
    uint64_t messages;  //  messages
    uint64_t bytes;     //  their bytes
    uint64_t snapshots; //  snapshots (more than one per browser: re-syncs)
    uint64_t updates;   //  updates
    uint64_t decoded;   //  distinct frames decoded
    uint64_t errors;    //  messages that were not maps with "t", or not binary
    uint64_t samples;   //  fan-out latencies measured
    double p50_ms;      //  their median
    double p99_ms;      //  their 99th percentile
    double max_ms;      //  the largest
} fleet_stats_t;

void fleet_stats (fleet_t *self, fleet_stats_t *stats);

#endif
