/*  metrics.h - the gateway's numbers, and /metrics in Prometheus text format.

    Three threads write here: the replica (registry seq, the archiver's
    lag, dispatch latencies, executors, whether it is in step, ERROR events
    on the bus by service), the prober (whether the registry answers, and
    its last seq) and the web thread (tasks by state and runs in the views
    it holds, browsers, re-syncs, bad frames). The replica and the web
    thread count what the gateway drops and the limits it hits. One lock
    guards it all; each update is a few stores. The verdict on the
    gateway's health (probe.h) is taken from here, for /metrics and
    /healthz alike.
*/
#ifndef ZF_GW_METRICS_H_INCLUDED
#define ZF_GW_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "probe.h"
#include "zf_event.h"

//  Upper bounds of the dispatch latency histogram, seconds (then +Inf).
#define ZF_GW_LATENCY_BUCKETS 14

//  Services counted apart in zflow_bus_errors_total; ERROR events of
//  further services are counted as service="other".
#define ZF_GW_ERROR_SERVICES 16

//  What the gateway drops: zflow_gateway_dropped_total{what=...}.
typedef enum {
    ZF_GW_DROP_VIEWS = 0,  //  view changes the web thread had no room for
    ZF_GW_DROP_EVENTS,     //  registry events the replica refused (a snapshot follows)
    ZF_GW_DROP_DISPATCHER, //  dispatcher event messages that did not decode
    ZF_GW_DROP_REQUESTS,   //  browser requests refused (too many waiting)
    ZF_GW_DROP_ANSWERS,    //  answers and errors not queued for a browser
    ZF_GW_DROP_LATENCIES,  //  dispatch times forgotten: table full, or no memory
    ZF_GW_DROP_COUNT
} zf_gw_drop_t;

//  Limits the gateway hits: zflow_gateway_limit_hits_total{limit=...}.
typedef enum {
    ZF_GW_LIMIT_HANDOVER = 0,    //  ZF_GW_MAX_HANDOVER
    ZF_GW_LIMIT_REQUESTS,        //  ZF_GW_MAX_REQUESTS
    ZF_GW_LIMIT_CLIENT_REQUESTS, //  ZF_GW_MAX_CLIENT_REQUESTS
    ZF_GW_LIMIT_QUEUED,          //  ZF_GW_MAX_QUEUED
    ZF_GW_LIMIT_CLIENTS,         //  --max-clients
    ZF_GW_LIMIT_FRAME_IN,        //  ZF_GW_MAX_FRAME_IN
    ZF_GW_LIMIT_MESSAGE_IN,      //  ZF_GW_MAX_MESSAGE_IN
    ZF_GW_LIMIT_BAD_FRAMES,      //  ZF_GW_MAX_BAD_FRAMES
    ZF_GW_LIMIT_DISPATCHED,      //  the dispatch-time table's size
    ZF_GW_LIMIT_COUNT
} zf_gw_limit_t;

typedef struct _zf_gw_metrics_t zf_gw_metrics_t;

//  New metrics, with ZF_GW_MAX_LAG as the lag allowed.
zf_gw_metrics_t *zf_gw_metrics_new (void);

void zf_gw_metrics_destroy (zf_gw_metrics_t **self_p);

//  Replica: the seq applied, the confirm watermark, in step or not.
void zf_gw_metrics_replica (zf_gw_metrics_t *self, uint64_t seq, uint64_t confirmed, bool synced);

//  Prober: whether the registry answered the last probe, and its last seq
//  if an answer carried one (has_head).
void zf_gw_metrics_registry (zf_gw_metrics_t *self, bool answering, bool has_head, uint64_t head);

//  Events the replica may be behind the registry and still be healthy
//  (--max-lag).
void zf_gw_metrics_max_lag (zf_gw_metrics_t *self, uint64_t max_lag);

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

//  Either thread: count things dropped; one limit hit.
void zf_gw_metrics_dropped (zf_gw_metrics_t *self, zf_gw_drop_t what, uint64_t count);
void zf_gw_metrics_limit (zf_gw_metrics_t *self, zf_gw_limit_t limit);

//  Replica: an ERROR event on the bus from service (NULL: "unknown").
void zf_gw_metrics_bus_error (zf_gw_metrics_t *self, const char *service);

//  Where the gateway stands: its health, and the /healthz line in buf
//  (zf_gw_health_line). Returns the HTTP status, 200 or 503.
int zf_gw_metrics_health (zf_gw_metrics_t *self, char *buf, size_t size);

//  The text of /metrics (text format 0.0.4) in a new string with size
//  bytes; NULL if out of memory.
char *zf_gw_metrics_render (zf_gw_metrics_t *self, size_t *size);

#endif
