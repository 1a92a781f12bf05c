/*  metrics.c - counters under one lock; Prometheus text format 0.0.4. */
#include "metrics.h"
#include "gateway.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Label values of zf_gw_drop_t and zf_gw_limit_t, in their order.
static const char *s_drops[ZF_GW_DROP_COUNT] = {"views",    "events",  "dispatcher_events",
                                                "requests", "answers", "latencies"};
static const char *s_limits[ZF_GW_LIMIT_COUNT] = {
    "ZF_GW_MAX_HANDOVER",   "ZF_GW_MAX_REQUESTS",   "ZF_GW_MAX_CLIENT_REQUESTS",
    "ZF_GW_MAX_QUEUED",     "max_clients",          "ZF_GW_MAX_FRAME_IN",
    "ZF_GW_MAX_MESSAGE_IN", "ZF_GW_MAX_BAD_FRAMES", "dispatch_times"};

//  Bytes of a service name kept as a label.
#define S_SERVICE_NAME 64

//  Bucket bounds of the dispatch latency, seconds.
static const double s_bounds[ZF_GW_LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25,  0.5,    1,     2.5,  5,     10,   30};

struct _zf_gw_metrics_t {
    pthread_mutex_t lock;                    //  guards everything below
    zf_gw_standing_t standing;               //  seq applied, in step, the registry's seq
    uint64_t confirmed;                      //  the archiver's confirm watermark
    uint64_t buckets[ZF_GW_LATENCY_BUCKETS]; //  latencies up to each bound
    uint64_t latency_count;                  //  latencies observed
    double latency_sum;                      //  their sum, seconds
    size_t executors_live;                   //  executors live
    size_t executors_lost;                   //  executors lost
    uint64_t tasks[ZF_TS_MAX + 1];           //  tasks held, by state
    size_t runs;                             //  runs held
    size_t runs_archived;                    //  of them archived
    size_t clients;                          //  browsers connected
    uint64_t resyncs;                        //  snapshots sent to browsers already holding one
    uint64_t bad_frames;                     //  browser frames refused
    uint64_t dropped[ZF_GW_DROP_COUNT];      //  things dropped, by what
    uint64_t limits[ZF_GW_LIMIT_COUNT];      //  limits hit, by limit
    char services[ZF_GW_ERROR_SERVICES][S_SERVICE_NAME]; //  services seen in ERROR events
    uint64_t errors[ZF_GW_ERROR_SERVICES];               //  their ERROR events
    size_t service_count;                                //  entries used in services
    uint64_t errors_other; //  ERROR events of services beyond the table
};

zf_gw_metrics_t *
zf_gw_metrics_new (void)
{
    zf_gw_metrics_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->standing.max_lag = ZF_GW_MAX_LAG;
    return self;
}

void
zf_gw_metrics_destroy (zf_gw_metrics_t **self_p)
{
    assert (self_p);
    zf_gw_metrics_t *self = *self_p;
    if (!self) return;
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
zf_gw_metrics_replica (zf_gw_metrics_t *self, uint64_t seq, uint64_t confirmed, bool synced)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->standing.applied = seq;
    self->confirmed = confirmed;
    self->standing.in_step = synced;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_registry (zf_gw_metrics_t *self, bool answering, bool has_head, uint64_t head)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->standing.answering = answering;
    self->standing.head_known = has_head;
    self->standing.head = has_head ? head : 0;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_max_lag (zf_gw_metrics_t *self, uint64_t max_lag)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->standing.max_lag = max_lag;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_dispatch_latency (zf_gw_metrics_t *self, double seconds)
{
    assert (self);
    if (seconds < 0) seconds = 0;
    pthread_mutex_lock (&self->lock);
    for (int i = 0; i < ZF_GW_LATENCY_BUCKETS; i++)
        if (seconds <= s_bounds[i]) self->buckets[i]++;
    self->latency_count++;
    self->latency_sum += seconds;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_executors (zf_gw_metrics_t *self, size_t live, size_t lost)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->executors_live = live;
    self->executors_lost = lost;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_tasks (zf_gw_metrics_t *self, const uint64_t *counts)
{
    assert (self && counts);
    pthread_mutex_lock (&self->lock);
    for (int i = 0; i <= ZF_TS_MAX; i++)
        self->tasks[i] = counts[i];
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_runs (zf_gw_metrics_t *self, size_t runs, size_t archived)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->runs = runs;
    self->runs_archived = archived;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_clients (zf_gw_metrics_t *self, size_t clients)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->clients = clients;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_resync (zf_gw_metrics_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->resyncs++;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_bad_frame (zf_gw_metrics_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    self->bad_frames++;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_dropped (zf_gw_metrics_t *self, zf_gw_drop_t what, uint64_t count)
{
    assert (self && what < ZF_GW_DROP_COUNT);
    pthread_mutex_lock (&self->lock);
    self->dropped[what] += count;
    pthread_mutex_unlock (&self->lock);
}

void
zf_gw_metrics_limit (zf_gw_metrics_t *self, zf_gw_limit_t limit)
{
    assert (self && limit < ZF_GW_LIMIT_COUNT);
    pthread_mutex_lock (&self->lock);
    self->limits[limit]++;
    pthread_mutex_unlock (&self->lock);
}

//  True if a service name makes a label as it is: short, and only letters,
//  digits and "-_." (no quote or backslash to escape).
static bool
s_plain (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length >= S_SERVICE_NAME || strcmp (name, "other") == 0) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

void
zf_gw_metrics_bus_error (zf_gw_metrics_t *self, const char *service)
{
    assert (self);
    if (!service || !*service) service = "unknown";
    pthread_mutex_lock (&self->lock);
    size_t i = 0;
    while (i < self->service_count && strcmp (self->services[i], service) != 0)
        i++;
    if (i == self->service_count && i < ZF_GW_ERROR_SERVICES && s_plain (service)) {
        snprintf (self->services[i], S_SERVICE_NAME, "%s", service);
        self->service_count++;
    }
    if (i < self->service_count)
        self->errors[i]++;
    else
        self->errors_other++;
    pthread_mutex_unlock (&self->lock);
}

int
zf_gw_metrics_health (zf_gw_metrics_t *self, char *buf, size_t size)
{
    assert (self && buf);
    pthread_mutex_lock (&self->lock);
    zf_gw_standing_t standing = self->standing;
    pthread_mutex_unlock (&self->lock);
    return zf_gw_health_line (&standing, buf, size);
}

//  Writes a HELP and a TYPE line.
static void
s_family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *
zf_gw_metrics_render (zf_gw_metrics_t *self, size_t *size)
{
    assert (self && size);
    char *text = NULL;
    FILE *out = open_memstream (&text, size);
    if (!out) return NULL;
    pthread_mutex_lock (&self->lock);
    s_family (out, "zflow_tasks", "gauge", "Tasks of the runs the gateway holds, by state.");
    for (int i = 0; i <= ZF_TS_MAX; i++)
        fprintf (out, "zflow_tasks{state=\"%s\"} %" PRIu64 "\n", zf_task_state_name (i),
                 self->tasks[i]);
    s_family (out, "zflow_runs", "gauge", "Runs the gateway holds, archived ones included.");
    fprintf (out, "zflow_runs %zu\n", self->runs);
    s_family (out, "zflow_runs_archived", "gauge",
              "Runs the gateway holds that are archived: succeeded, their tasks in the archive.");
    fprintf (out, "zflow_runs_archived %zu\n", self->runs_archived);
    s_family (out, "zflow_registry_seq", "gauge", "The last registry event the gateway applied.");
    fprintf (out, "zflow_registry_seq %" PRIu64 "\n", self->standing.applied);
    s_family (out, "zflow_dispatch_latency_seconds", "histogram",
              "Time from a shard's dispatched event to its running event.");
    for (int i = 0; i < ZF_GW_LATENCY_BUCKETS; i++)
        fprintf (out, "zflow_dispatch_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", s_bounds[i],
                 self->buckets[i]);
    fprintf (out, "zflow_dispatch_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
             self->latency_count);
    fprintf (out, "zflow_dispatch_latency_seconds_sum %.6f\n", self->latency_sum);
    fprintf (out, "zflow_dispatch_latency_seconds_count %" PRIu64 "\n", self->latency_count);
    s_family (out, "zflow_archiver_lag_events", "gauge",
              "Registry seq minus the archiver's confirm watermark.");
    uint64_t seq = self->standing.applied;
    fprintf (out, "zflow_archiver_lag_events %" PRIu64 "\n",
             seq > self->confirmed ? seq - self->confirmed : 0);
    s_family (out, "zflow_executors", "gauge", "Executors by state.");
    fprintf (out, "zflow_executors{state=\"live\"} %zu\n", self->executors_live);
    fprintf (out, "zflow_executors{state=\"lost\"} %zu\n", self->executors_lost);
    s_family (out, "zflow_gateway_synced", "gauge",
              "1 while the gateway is in step with the registry: its replica in step, the "
              "registry answering, at most --max-lag events behind.");
    fprintf (out, "zflow_gateway_synced %d\n",
             zf_gw_health (&self->standing) == ZF_GW_HEALTHY ? 1 : 0);
    s_family (out, "zflow_gateway_lag_events", "gauge",
              "The registry's last seq, as it last answered, minus the last one the gateway "
              "applied.");
    fprintf (out, "zflow_gateway_lag_events %" PRIu64 "\n", zf_gw_lag (&self->standing));
    s_family (out, "zflow_gateway_clients", "gauge", "WebSocket clients connected.");
    fprintf (out, "zflow_gateway_clients %zu\n", self->clients);
    s_family (out, "zflow_gateway_resyncs_total", "counter",
              "Snapshots sent again to clients that fell behind or after a new replica.");
    fprintf (out, "zflow_gateway_resyncs_total %" PRIu64 "\n", self->resyncs);
    s_family (out, "zflow_gateway_bad_frames_total", "counter",
              "Client frames refused as malformed, too large or unexpected.");
    fprintf (out, "zflow_gateway_bad_frames_total %" PRIu64 "\n", self->bad_frames);
    s_family (out, "zflow_gateway_dropped_total", "counter",
              "What the gateway dropped: view changes, refused events, undecodable dispatcher "
              "events, refused browser requests, undelivered answers, dispatch times.");
    for (int i = 0; i < ZF_GW_DROP_COUNT; i++)
        fprintf (out, "zflow_gateway_dropped_total{what=\"%s\"} %" PRIu64 "\n", s_drops[i],
                 self->dropped[i]);
    s_family (out, "zflow_gateway_limit_hits_total", "counter",
              "Times the gateway hit one of its limits.");
    for (int i = 0; i < ZF_GW_LIMIT_COUNT; i++)
        fprintf (out, "zflow_gateway_limit_hits_total{limit=\"%s\"} %" PRIu64 "\n", s_limits[i],
                 self->limits[i]);
    s_family (out, "zflow_bus_errors_total", "counter",
              "ERROR events seen on the registry's bus, by the service that reported them.");
    for (size_t i = 0; i < self->service_count; i++)
        fprintf (out, "zflow_bus_errors_total{service=\"%s\"} %" PRIu64 "\n", self->services[i],
                 self->errors[i]);
    if (self->errors_other)
        fprintf (out, "zflow_bus_errors_total{service=\"other\"} %" PRIu64 "\n",
                 self->errors_other);
    pthread_mutex_unlock (&self->lock);
    if (fclose (out) != 0) {
        free (text);
        return NULL;
    }
    return text;
}
