/*  replica.c - the registry follower: snapshot, events, views, requests. */
#include "replica.h"
#include "executors.h"
#include "views.h"
#include "wsmsg.h"
#include "zf_common.h"
#include "zf_dispfollow.h"
#include "zf_engine.h"
#include "zf_evsub.h"
#include "zf_follow.h"
#include "zf_proto.h"
#include "zf_replier.h"
#include "zf_snapreply.h"
#include "zf_socket.h"
#include "zf_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  Entries in the dispatch-time table at most; past it the table starts over
//  (latencies of the shards then in flight are not measured).
#define S_MAX_DISPATCHED 1000000

//  The replica while it runs.
typedef struct {
    zf_gw_replica_config_t *cfg;  //  endpoints, hand-over, metrics
    zsock_t *pipe;                //  to the web thread's side
    zloop_t *loop;                //  the reactor
    zf_follow_t *follow;          //  the registry's events
    zf_clock_t *clock;            //  the engines' clock
    zf_engine_t *engine;          //  the replica, NULL before the first snapshot
    zf_engine_t *restoring;       //  the engine a snapshot is restoring, or NULL
    bool restore_failed;          //  an item of that snapshot was refused
    bool synced;                  //  engine is in step with the registry
    bool superseded;              //  a registry started a history after engine's
    bool need_snapshot;           //  take a snapshot once this message is handled
    bool lost;                    //  a delta was dropped: nothing more until RESEND
    int retry_timer;              //  zloop timer of the next snapshot attempt, or -1
    int retry_ms;                 //  the wait before the attempt after it
    zf_gw_changes_t *changes;     //  what this batch of events changed
    zf_gw_delta_t *delta;         //  this batch's delta (errors so far), or NULL
    zf_gw_executors_t *executors; //  the executors table
    zf_dispfollow_t *dispatcher;  //  the dispatcher's events, or NULL
    zsock_t *router;              //  serve: PING and SNAPSHOT, or NULL
    zf_replier_t *replier;        //  answers on it
    zf_proto_decoder_t *decoder;  //  its requests
    zf_keytable_t *dispatched;    //  shard or whole task -> int64_t time dispatched
    int resend_timer;             //  zloop timer of the next try to hand over everything, or -1
    uint64_t events;              //  registry events applied
    uint64_t refused;             //  of them refused (a snapshot followed)
    uint64_t snapshots;           //  snapshots taken
    uint64_t snapshot_failures;   //  snapshot attempts that failed
    uint64_t views_dropped;       //  batches of view changes not handed over
    uint64_t dispatcher_events;   //  dispatcher events applied
    uint64_t dispatcher_bad;      //  dispatcher messages that did not decode
    uint64_t bus_errors;          //  ERROR events seen on the registry's bus
    uint64_t failovers;           //  EPOCH events that raised the term, followed live
    uint64_t requests;            //  browser requests answered
} s_replica_t;

static int s_on_retry (zloop_t *loop, int timer_id, void *arg);
static int s_on_resend (zloop_t *loop, int timer_id, void *arg);

//  ---------------------------------------------------------------------------
//  Dispatch latency: dispatched event to running event of the same shard

//  Remembers when a shard (or a whole task) was dispatched. Out of memory,
//  its latency is not measured.
static void
s_dispatched (s_replica_t *self, const zf_event_t *event)
{
    if (zf_keytable_size (self->dispatched) >= S_MAX_DISPATCHED) {
        zf_log_warn ("dispatch times forgotten: the table is full limit=%d", S_MAX_DISPATCHED);
        zf_gw_metrics_limit (self->cfg->metrics, ZF_GW_LIMIT_DISPATCHED);
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_LATENCIES,
                               zf_keytable_size (self->dispatched));
        zf_keytable_purge (self->dispatched);
    }
    zf_task_key_t key = {event->flow, event->date, event->task, event->shard, 0};
    int64_t *time = malloc (sizeof *time);
    if (!time) {
        zf_log_error ("dispatch time not kept: out of memory");
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_LATENCIES, 1);
        return;
    }
    *time = event->time;
    if (zf_keytable_update (self->dispatched, &key, time) != 0) {
        free (time);
        zf_log_error ("dispatch time not kept: out of memory");
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_LATENCIES, 1);
    }
}

//  A shard went from dispatched to running: measures the latency. Events
//  name an unsharded task's one shard as the whole task.
static void
s_running (s_replica_t *self, const zf_event_t *event, int32_t shard)
{
    zf_task_key_t key = {event->flow, event->date, event->task,
                         shard == ZF_SHARD_SOLE ? ZF_SHARD_WHOLE : shard, 0};
    int64_t *time = zf_keytable_lookup (self->dispatched, &key);
    if (time)
        zf_gw_metrics_dispatch_latency (self->cfg->metrics, (double)(event->time - *time) / 1000);
    else if (key.shard != ZF_SHARD_WHOLE) {
        key.shard = ZF_SHARD_WHOLE;
        time = zf_keytable_lookup (self->dispatched, &key);
        if (time)
            zf_gw_metrics_dispatch_latency (self->cfg->metrics,
                                            (double)(event->time - *time) / 1000);
        return; //  the whole task's entry serves its other shards too
    }
    zf_keytable_delete (self->dispatched, &key);
}

//  A task is no longer in flight: forgets its whole-task dispatch time.
static void
s_task_settled (s_replica_t *self, const zf_event_t *event)
{
    zf_task_key_t key = {event->flow, event->date, event->task, ZF_SHARD_WHOLE, 0};
    zf_keytable_delete (self->dispatched, &key);
}

//  ---------------------------------------------------------------------------
//  Applying events

//  Where a TASK event's shards ran before it, to count executors' work.
typedef struct {
    int32_t shard;        //  shard index, or ZF_SHARD_SOLE
    uint8_t state;        //  its state before the event
    const char *executor; //  its executor (the engine's string), or NULL
} s_before_t;

//  Applies a TASK event, keeping the executors' running counts and the
//  dispatch latencies up to date.
static int
s_apply_task (s_replica_t *self, const zf_event_t *event)
{
    zf_engine_t *engine = self->engine;
    zf_engine_run_info_t run;
    int32_t index = -1;
    if (event->flow && event->task &&
        zf_engine_run_info (engine, event->flow, event->date, &run) == 0)
        index = zf_flow_task_index (run.definition, event->task);
    zf_engine_task_info_t task;
    if (index < 0 ||
        zf_engine_task_info (engine, event->flow, event->date, (uint32_t)index, &task) != 0) {
        //  Refused, and it says why: no such run or task, or a run that is
        //  archived (ZF_E_ARCHIVED: the registry moves none of its tasks,
        //  so such an event means the replica differs from it).
        return zf_engine_apply (engine, event);
    }

    //  The shards the event may move, as they were.
    s_before_t one = {ZF_SHARD_SOLE, 0, NULL};
    s_before_t *before = &one;
    size_t count = 0;
    if (!task.sharded || event->shard != ZF_SHARD_WHOLE) {
        zf_engine_shard_info_t shard;
        int32_t which = task.sharded ? event->shard : ZF_SHARD_SOLE;
        if (zf_engine_shard_info (engine, event->flow, event->date, (uint32_t)index, which,
                                  &shard) == 0) {
            one = (s_before_t){which, shard.state, shard.executor};
            count = 1;
        }
    } else if (task.shards_running > 0) {
        //  A whole sharded task moves at once (a cancel): note its running shards.
        before = calloc (task.shard_count, sizeof *before);
        if (!before) {
            //  The event applies all the same; only the executors' counts
            //  miss it until the next snapshot.
            zf_log_error ("executors' running counts not kept: out of memory task=%s", event->task);
            before = &one;
        }
        for (uint32_t i = 0; before != &one && i < task.shard_count; i++) {
            zf_engine_shard_info_t shard;
            if (zf_engine_shard_info (engine, event->flow, event->date, (uint32_t)index, (int32_t)i,
                                      &shard) == 0 &&
                shard.state == ZF_TS_RUNNING)
                before[count++] = (s_before_t){(int32_t)i, shard.state, shard.executor};
        }
    }
    int rc = zf_engine_apply (engine, event);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        zf_engine_shard_info_t after;
        if (zf_engine_shard_info (engine, event->flow, event->date, (uint32_t)index,
                                  before[i].shard, &after) != 0)
            continue;
        bool was = before[i].state == ZF_TS_RUNNING && before[i].executor;
        bool is = after.state == ZF_TS_RUNNING && after.executor;
        if (was && !(is && strcmp (before[i].executor, after.executor) == 0))
            zf_gw_executors_running (self->executors, before[i].executor, -1);
        if (is && !(was && strcmp (before[i].executor, after.executor) == 0))
            zf_gw_executors_running (self->executors, after.executor, +1);
        if (before[i].state == ZF_TS_DISPATCHED && after.state == ZF_TS_RUNNING)
            s_running (self, event, before[i].shard);
    }
    if (before != &one) free (before);
    if (rc != 0) return rc;

    if (event->state == ZF_TS_DISPATCHED) s_dispatched (self, event);
    zf_engine_task_info_t now;
    if (zf_engine_task_info (engine, event->flow, event->date, (uint32_t)index, &now) == 0 &&
        now.shards_running == 0)
        s_task_settled (self, event);
    return 0;
}

//  View changes could not be handed over (no memory for a delta): the
//  browsers' views are incomplete, so nothing more goes until the web thread
//  asks for everything (RESEND), as after an overflow.
static void
s_views_lost (s_replica_t *self, const char *reason)
{
    self->views_dropped++;
    zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_VIEWS, 1);
    if (!self->lost) zf_log_error ("views dropped reason=\"%s\"", reason);
    self->lost = true;
    zf_gw_changes_clear (self->changes);
    zf_gw_handover_overflow (self->cfg->handover);
}

//  The delta of this batch, made on first use; NULL if out of memory (the
//  views are lost then).
static zf_gw_delta_t *
s_delta (s_replica_t *self)
{
    if (!self->delta) {
        self->delta = zf_gw_delta_new ();
        if (!self->delta) s_views_lost (self, "out of memory for a delta");
    }
    return self->delta;
}

//  Adds a message of its own to this batch's delta: op with its view from
//  pack (an ERROR's or a FAILOVER's fields). Nothing while views are lost:
//  the snapshot that follows holds no trace of it either.
static void
s_announce (s_replica_t *self, zf_gw_op_type_t op, const zf_event_t *event,
            void (*pack) (msgpack_packer *pk, const zf_event_t *event))
{
    zf_gw_delta_t *delta = self->lost ? NULL : s_delta (self);
    if (!delta) return;
    zf_gw_delta_begin (delta, op, NULL, 0, 0, 0, false);
    pack (zf_gw_delta_pk (delta), event);
    zf_gw_delta_end (delta);
}

//  Packs an ERROR event's fields.
static void
s_pack_error (msgpack_packer *pk, const zf_event_t *event)
{
    zf_gw_view_error (pk, event->time, event->executor, event->detail);
}

//  Applies one live or repaired event to the replica and marks what changed.
static void
s_apply (s_replica_t *self, const zf_event_t *event)
{
    if (!self->engine || !self->synced || self->need_snapshot) return;
    zf_engine_t *engine = self->engine;
    int rc = 0;
    bool existed = false;
    zf_engine_run_info_t run;
    switch (event->kind) {
    case ZF_EV_TASK:
        rc = s_apply_task (self, event);
        break;
    case ZF_EV_RUN:
        existed = event->flow && zf_engine_run_info (engine, event->flow, event->date, &run) == 0;
        rc = zf_engine_apply (engine, event);
        break;
    case ZF_EV_ERROR:
        rc = zf_engine_apply (engine, event);
        self->bus_errors++;
        zf_gw_metrics_bus_error (self->cfg->metrics, event->executor);
        s_announce (self, ZF_GW_OP_ERROR, event, s_pack_error);
        break;
    case ZF_EV_EPOCH:
        //  The fold takes only a term above the one held: a registry
        //  became active (a takeover in a pair) or raised its term.
        rc = zf_engine_apply (engine, event);
        if (rc == 0) {
            self->failovers++;
            s_announce (self, ZF_GW_OP_FAILOVER, event, zf_gw_view_failover);
        }
        break;
    default:
        rc = zf_engine_apply (engine, event);
        break;
    }
    self->events++;
    if (rc == 0) zf_gw_changes_event (self->changes, engine, event, existed);
    if (rc != 0) {
        //  The replica no longer matches the registry: start again from a snapshot.
        self->refused++;
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_EVENTS, 1);
        zf_log_warn ("event refused, taking a snapshot seq=%" PRIu64 " kind=%s reason=\"%s\"",
                     event->seq, zf_event_kind_name (event->kind), zf_engine_last_error (engine));
        self->need_snapshot = true;
    }
}

//  ---------------------------------------------------------------------------
//  Handing views over

//  Tells the metrics where the replica stands.
static void
s_report (s_replica_t *self)
{
    uint64_t seq = self->engine ? zf_engine_seq (self->engine) : 0;
    uint64_t confirmed = self->engine ? zf_engine_confirmed (self->engine) : 0;
    zf_gw_metrics_replica (self->cfg->metrics, seq, confirmed, self->synced);
    size_t live = 0, lost = 0;
    zf_gw_executors_counts (self->executors, &live, &lost);
    zf_gw_metrics_executors (self->cfg->metrics, live, lost);
}

//  Stamps a delta with where the replica stands and hands it over.
static void
s_push (s_replica_t *self, zf_gw_delta_t **delta_p, bool force)
{
    zf_gw_delta_t *delta = *delta_p;
    if (delta->failed) {
        zf_gw_delta_destroy (delta_p);
        s_views_lost (self, "out of memory building views");
        return;
    }
    delta->synced = self->synced;
    delta->seq = self->engine ? zf_engine_seq (self->engine) : 0;
    delta->epoch = self->engine ? zf_engine_epoch (self->engine) : 0;
    int rc = zf_gw_handover_push_delta (self->cfg->handover, delta_p, force);
    if (rc == -2)
        s_views_lost (self, "out of memory handing views over");
    else if (rc != 0) {
        //  The web thread is far behind: send nothing more until it asks
        //  for everything (RESEND), so it never applies a later delta
        //  without the one that was dropped.
        zf_log_warn ("views dropped, the web thread is behind limit=ZF_GW_MAX_HANDOVER");
        self->views_dropped++;
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_VIEWS, 1);
        zf_gw_metrics_limit (self->cfg->metrics, ZF_GW_LIMIT_HANDOVER);
        self->lost = true;
    }
    *delta_p = NULL;
}

//  After a batch: hands over the views of what changed.
static void
s_flush (s_replica_t *self)
{
    bool views = self->engine && self->synced && !self->need_snapshot;
    if (!self->lost && zf_gw_changes_failed (self->changes))
        s_views_lost (self, "out of memory marking changes");
    if (self->lost) {
        zf_gw_changes_clear (self->changes);
        zf_gw_delta_destroy (&self->delta);
        s_report (self);
        return;
    }
    if (!views) zf_gw_changes_clear (self->changes);
    if (zf_gw_changes_empty (self->changes) && !zf_gw_executors_dirty (self->executors) &&
        !self->delta) {
        s_report (self);
        return;
    }
    zf_gw_delta_t *delta = s_delta (self);
    if (!delta) {
        s_report (self);
        return;
    }
    self->delta = NULL;
    if (views) zf_gw_views_write_changes (self->engine, self->changes, delta);
    zf_gw_executors_write (self->executors, delta, false);
    //  Metrics first: whoever reads what the browsers got finds them current.
    s_report (self);
    s_push (self, &delta, false);
}

//  Hands over everything: a reset delta.
static void
s_send_all (s_replica_t *self)
{
    if (self->resend_timer >= 0) {
        zloop_timer_end (self->loop, self->resend_timer);
        self->resend_timer = -1;
    }
    zf_gw_delta_destroy (&self->delta);
    zf_gw_changes_clear (self->changes);
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    if (!delta) {
        //  Try again a little later; the views stay marked lost until then.
        self->views_dropped++;
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_VIEWS, 1);
        zf_log_error ("views not handed over reason=\"out of memory for a delta\"");
        self->lost = true;
        if (self->resend_timer < 0)
            self->resend_timer = zloop_timer (self->loop, ZF_GW_RETRY_MIN_MS, 1, s_on_resend, self);
        return;
    }
    delta->reset = self->engine && self->synced;
    if (delta->reset) zf_gw_views_write_all (self->engine, delta);
    zf_gw_executors_write (self->executors, delta, true);
    self->lost = false;
    s_report (self);
    s_push (self, &delta, true);
}

//  ---------------------------------------------------------------------------
//  Snapshots

//  Counts the running shards of one run per executor.
static void
s_count_run (const zf_engine_run_info_t *run, void *arg)
{
    s_replica_t *self = arg;
    //  An archived run succeeded: nothing of it runs, and its tasks are gone.
    if (run->archived) return;
    for (uint32_t t = 0; t < run->task_count; t++) {
        zf_engine_task_info_t task;
        if (zf_engine_task_info (self->engine, run->flow, run->date, t, &task) != 0 ||
            task.shards_running == 0)
            continue;
        for (uint32_t s = 0; s < task.shard_count; s++) {
            zf_engine_shard_info_t shard;
            if (zf_engine_shard_info (self->engine, run->flow, run->date, t,
                                      task.sharded ? (int32_t)s : ZF_SHARD_SOLE, &shard) == 0 &&
                shard.state == ZF_TS_RUNNING && shard.executor)
                zf_gw_executors_running (self->executors, shard.executor, +1);
        }
    }
}

//  Counts the running shards of every run of a flow.
static void
s_count_flow (const zf_engine_flow_info_t *flow, void *arg)
{
    s_replica_t *self = arg;
    zf_engine_runs (self->engine, flow->name, s_count_run, self);
}

//  Schedules the next snapshot attempt, waiting longer each time.
static void
s_retry_later (s_replica_t *self)
{
    if (self->retry_timer >= 0) return;
    self->retry_timer = zloop_timer (self->loop, (size_t)self->retry_ms, 1, s_on_retry, self);
    self->retry_ms =
        self->retry_ms * 2 > ZF_GW_RETRY_MAX_MS ? ZF_GW_RETRY_MAX_MS : self->retry_ms * 2;
}

//  Takes a snapshot into a new engine; on success it replaces the replica
//  and everything is handed over. On failure the old views stay, marked
//  out of step, and an attempt is scheduled.
static void
s_snapshot (s_replica_t *self)
{
    if (self->retry_timer >= 0) {
        zloop_timer_end (self->loop, self->retry_timer);
        self->retry_timer = -1;
    }
    self->need_snapshot = false;
    self->restoring = zf_engine_new (self->clock);
    self->restore_failed = false;
    zf_gw_changes_reset (self->changes);
    uint64_t seq_at = 0;
    char why[400] = "";
    int rc = -1;
    if (!self->restoring)
        snprintf (why, sizeof why, "out of memory for an engine");
    else if (zf_engine_restore_begin (self->restoring) != 0)
        snprintf (why, sizeof why, "the restore did not begin: %s",
                  zf_engine_last_error (self->restoring));
    else
        rc = zf_follow_snapshot (self->follow, &seq_at, why, sizeof why);
    if (rc == 0 && self->restore_failed) {
        snprintf (why, sizeof why, "an item did not apply: %s",
                  zf_engine_last_error (self->restoring));
        rc = -1;
    }
    if (rc == 0 && zf_engine_restore_end (self->restoring, seq_at) != 0) {
        snprintf (why, sizeof why, "the restore did not end");
        rc = -1;
    }
    if (rc != 0) {
        self->snapshot_failures++;
        zf_log_warn ("no snapshot, trying again registry=%s reason=\"%s\"", self->cfg->registry,
                     why);
        zf_engine_destroy (&self->restoring);
        //  The successes held were the old engine's and were dropped: its
        //  views may miss confirmations until the next snapshot.
        bool was = self->synced;
        self->synced = false;
        if (was) {
            zf_gw_delta_t *delta = zf_gw_delta_new ();
            if (delta)
                s_push (self, &delta, true);
            else
                s_views_lost (self, "out of memory for a delta");
        }
        s_report (self);
        s_retry_later (self);
        return;
    }
    zf_engine_destroy (&self->engine);
    self->engine = self->restoring;
    self->restoring = NULL;
    self->synced = true;
    self->superseded = false;
    self->snapshots++;
    self->retry_ms = ZF_GW_RETRY_MIN_MS;
    zf_gw_changes_snapshot_end (self->changes);
    zf_keytable_purge (self->dispatched);
    zf_gw_executors_clear_running (self->executors);
    zf_engine_flows (self->engine, s_count_flow, self);
    zf_log_info ("snapshot taken registry=%s seq=%" PRIu64, self->cfg->registry, seq_at);
    s_send_all (self);
}

//  zloop timer: the next try to hand everything over, after one found no memory.
static int
s_on_resend (zloop_t *loop, int timer_id, void *arg)
{
    s_replica_t *self = arg;
    self->resend_timer = -1; //  a one-shot timer ends by itself
    s_send_all (self);
    return 0;
}

//  zloop timer: another snapshot attempt.
static int
s_on_retry (zloop_t *loop, int timer_id, void *arg)
{
    s_replica_t *self = arg;
    self->retry_timer = -1;
    s_snapshot (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The follower's callbacks

//  One event from the follower: a snapshot item or a live one. Always
//  taken: one the engine refuses makes the replica take a snapshot.
static int
s_follow_event (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    s_replica_t *self = arg;
    if (origin != ZF_FOLLOW_SNAPSHOT) {
        s_apply (self, event);
        return 0;
    }
    if (!self->restoring || self->restore_failed) return 0;
    if (zf_engine_apply (self->restoring, event) != 0) {
        self->restore_failed = true;
        return 0;
    }
    zf_gw_changes_snapshot_item (self->changes, self->restoring, event);
    return 0;
}

//  A repair failed: the replica misses events and must start again.
static void
s_follow_repaired (uint64_t from, uint64_t to, uint64_t reached, const char *why, void *arg)
{
    s_replica_t *self = arg;
    if (why) {
        zf_log_warn ("events missed, taking a snapshot from=%" PRIu64 " to=%" PRIu64
                     " reason=\"%s\"",
                     reached + 1, to, why);
        self->need_snapshot = true;
    }
}

//  The registry started a new history: the replica is void.
static void
s_follow_history (const char *endpoint, uint64_t seq, uint64_t last, void *arg)
{
    s_replica_t *self = arg;
    zf_log_info ("new registry history, taking a snapshot endpoint=%s seq=%" PRIu64
                 " last=%" PRIu64,
                 endpoint, seq, last);
    self->need_snapshot = true;
    self->superseded = true;
}

//  ---------------------------------------------------------------------------
//  Requests from browsers

//  Packer over a new buffer for a reply.
typedef struct {
    msgpack_sbuffer buffer; //  the bytes
    msgpack_packer pk;      //  writes into buffer
} s_out_t;

//  Hands a reply frame to the web thread, for req's browser.
static void
s_reply_frame (s_replica_t *self, const zf_gw_request_t *req, zf_gw_frame_t *frame)
{
    self->requests++;
    if (!frame || zf_gw_handover_push_frame (self->cfg->handover, req->client, &frame) != 0) {
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_ANSWERS, 1);
        zf_log_error ("answer to a browser dropped: out of memory client=%" PRIu64, req->client);
    }
}

//  Answers with ok = false.
static void
s_refuse (s_replica_t *self, const zf_gw_request_t *req, const char *message)
{
    s_reply_frame (self, req, zf_gw_msg_reply (req->id, false, message));
}

//  The shards of a task.
static void
s_shards (s_replica_t *self, const zf_gw_request_t *req)
{
    zf_engine_run_info_t run;
    int32_t index = -1;
    if (!self->engine || zf_engine_run_info (self->engine, req->flow, req->date, &run) != 0) {
        s_refuse (self, req, "no such run");
        return;
    }
    index = zf_flow_task_index (run.definition, req->task);
    zf_engine_task_info_t task;
    int rc = index < 0
                 ? ZF_E_UNKNOWN_TASK
                 : zf_engine_task_info (self->engine, run.flow, run.date, (uint32_t)index, &task);
    if (rc == ZF_E_ARCHIVED) {
        //  Its shards left memory with it; run_status reads its tasks.
        s_refuse (self, req, "the run is archived: its shards are not held, ask run_status");
        return;
    }
    if (rc != 0) {
        s_refuse (self, req, "no such task");
        return;
    }
    uint32_t count = task.shard_count;
    if (count > ZF_GW_MAX_SHARDS_LISTED) count = ZF_GW_MAX_SHARDS_LISTED;
    s_out_t out;
    msgpack_sbuffer_init (&out.buffer);
    msgpack_packer_init (&out.pk, &out.buffer, msgpack_sbuffer_write);
    zf_gw_msg_shards_begin (&out.pk, req->id, run.flow, run.date, task.id, count, task.shard_count);
    for (uint32_t i = 0; i < count; i++) {
        zf_engine_shard_info_t shard;
        int32_t which = task.sharded ? (int32_t)i : ZF_SHARD_SOLE;
        if (zf_engine_shard_info (self->engine, run.flow, run.date, (uint32_t)index, which,
                                  &shard) != 0)
            memset (&shard, 0, sizeof shard);
        zf_gw_msg_shard (&out.pk, &shard);
    }
    s_reply_frame (self, req, zf_gw_frame_take (&out.buffer));
    msgpack_sbuffer_destroy (&out.buffer);
}

//  Collects the runs of a flow for a history message.
typedef struct {
    zf_engine_run_info_t *runs; //  in date order
    size_t count;               //  entries used
    size_t cap;                 //  room
    bool failed;                //  out of memory: the list is incomplete
} s_history_t;

//  Collects one run.
static void
s_history_run (const zf_engine_run_info_t *run, void *arg)
{
    s_history_t *history = arg;
    if (history->failed) return;
    if (history->count == history->cap) {
        if (zf_array_grow ((void **)&history->runs, &history->cap, history->count + 1,
                           sizeof *history->runs) != 0) {
            history->failed = true;
            return;
        }
    }
    history->runs[history->count++] = *run;
}

//  The dates held of a flow, newest first.
static void
s_history (s_replica_t *self, const zf_gw_request_t *req)
{
    s_history_t history = {NULL, 0, 0, false};
    if (!self->engine || zf_engine_runs (self->engine, req->flow, s_history_run, &history) != 0) {
        free (history.runs);
        s_refuse (self, req, "no such flow");
        return;
    }
    if (history.failed) {
        free (history.runs);
        zf_log_error ("history not listed: out of memory flow=%s", req->flow);
        s_refuse (self, req, "the gateway is out of memory");
        return;
    }
    s_out_t out;
    msgpack_sbuffer_init (&out.buffer);
    msgpack_packer_init (&out.pk, &out.buffer, msgpack_sbuffer_write);
    zf_gw_msg_history_begin (&out.pk, req->id, req->flow, (uint32_t)history.count);
    for (size_t i = history.count; i > 0; i--)
        zf_gw_msg_history_run (&out.pk, &history.runs[i - 1]);
    free (history.runs);
    s_reply_frame (self, req, zf_gw_frame_take (&out.buffer));
    msgpack_sbuffer_destroy (&out.buffer);
}

//  ---------------------------------------------------------------------------
//  The reactor

//  STATS: the counters, by name (docs/ARCHITECTURE.md lists them).
static void
s_send_stats (s_replica_t *self, zsock_t *pipe)
{
    zf_fields_t *stats = zf_fields_new ();
    zf_fields_add (stats, "events", self->events);
    zf_fields_add (stats, "refused", self->refused);
    zf_fields_add (stats, "snapshots", self->snapshots);
    zf_fields_add (stats, "snapshot_failures", self->snapshot_failures);
    zf_fields_add (stats, "views_dropped", self->views_dropped);
    zf_fields_add (stats, "dispatcher_events", self->dispatcher_events);
    zf_fields_add (stats, "dispatcher_bad", self->dispatcher_bad);
    zf_fields_add (stats, "bus_errors", self->bus_errors);
    zf_fields_add (stats, "failovers", self->failovers);
    zf_fields_add (stats, "requests", self->requests);
    zf_fields_add (stats, "seq", self->engine ? zf_engine_seq (self->engine) : 0);
    zf_fields_add (stats, "synced", self->synced);
    zf_fields_send (&stats, pipe);
}

//  The pipe: $TERM, ENDPOINTS (none: it binds nothing), STATS, RESEND, REQ.
static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    s_replica_t *self = arg;
    zmsg_t *msg = zmsg_recv (pipe);
    if (!msg) return -1;
    char *command = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (pipe, NULL, NULL);
    else if (streq (command, ZF_PIPE_STATS))
        s_send_stats (self, pipe);
    else if (streq (command, "RESEND"))
        s_send_all (self);
    else if (streq (command, "REQ")) {
        zframe_t *frame = zmsg_pop (msg);
        zf_gw_request_t *req = NULL;
        if (frame && zframe_size (frame) == sizeof req)
            memcpy (&req, zframe_data (frame), sizeof req);
        zframe_destroy (&frame);
        if (req && req->type == ZF_GW_REQ_SHARDS)
            s_shards (self, req);
        else if (req && req->type == ZF_GW_REQ_HISTORY)
            s_history (self, req);
        else if (req)
            s_refuse (self, req, "not a request for the replica");
        free (req);
    } else
        zf_pipe_unknown ("gateway replica", command);
    zstr_free (&command);
    zmsg_destroy (&msg);
    return rc;
}

//  A registry source's SUB socket or monitor.
static int
s_on_registry (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_replica_t *self = arg;
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        if (sock == zf_evsub_sock (sub))
            zf_follow_on_message (self->follow, i);
        else if (sock == (zsock_t *)zf_evsub_monitor (sub)) {
            bool first = !self->engine && self->retry_timer < 0;
            if (zf_follow_on_monitor (self->follow, i)) {
                //  Whatever was published while disconnected is gone, and no
                //  later event may come to show it.
                zf_log_info ("reconnected, taking a snapshot endpoint=%s", zf_evsub_endpoint (sub));
                self->need_snapshot = true;
            } else if (first && zf_follow_connected (self->follow))
                self->need_snapshot = true;
        }
    }
    if (self->need_snapshot) s_snapshot (self);
    s_flush (self);
    return 0;
}

//  One dispatcher event, into the executors table.
static void
s_dispatcher_event (const zf_dispevent_t *event, void *arg)
{
    s_replica_t *self = arg;
    self->dispatcher_events++;
    zf_gw_executors_event (self->executors, event);
}

//  A new dispatcher, which knows no executor yet.
static void
s_dispatcher_restart (const zf_dispevent_t *event, uint64_t last, void *arg)
{
    s_replica_t *self = arg;
    zf_gw_executors_restart (self->executors, event->time);
}

//  The dispatcher's SUB socket or monitor.
static int
s_on_dispatcher (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_replica_t *self = arg;
    zf_evsub_t *source = zf_dispfollow_source (self->dispatcher);
    if (sock == (zsock_t *)zf_evsub_monitor (source)) {
        zf_dispfollow_on_monitor (self->dispatcher);
        return 0;
    }
    zf_dispfollow_on_message (self->dispatcher);
    //  Bodies that did not decode were logged by the follower; they are
    //  drops of this gateway too.
    uint64_t bad = zf_dispfollow_bad_messages (self->dispatcher);
    if (bad > self->dispatcher_bad) {
        zf_gw_metrics_dropped (self->cfg->metrics, ZF_GW_DROP_DISPATCHER,
                               bad - self->dispatcher_bad);
        self->dispatcher_bad = bad;
    }
    s_flush (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Serving the copy

//  Requests on the serve ROUTER: PING and SNAPSHOT from the engine, a copy
//  of the registry's history up to the engine's seq. It is served while the
//  replica is not in step too (the registries are gone, or starting again:
//  that is when a registry starting cold asks), but not once a registry
//  has started a history after it: that copy must not be restored again.
static int
s_on_serve (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_replica_t *self = arg;
    for (int i = 0; i < ZF_GW_SERVE_READS; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        zf_reg_request_t req;
        zf_proto_error_t err;
        zframe_t *identity = zf_replier_parse (self->replier, msg, self->decoder, &req, &err);
        if (!identity)
            zf_log_warn ("malformed request on the serve socket dropped reason=\"%s\"", err.text);
        else if (req.type != ZF_BODY_PING && req.type != ZF_BODY_SNAPSHOT)
            zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_BAD_REQUEST,
                              "%s is not served by the gateway's replica: ask the registry",
                              zf_body_type_name (req.type));
        else if (!self->engine)
            zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_UNAVAILABLE,
                              "the gateway's replica holds no copy yet");
        else if (self->superseded)
            zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_UNAVAILABLE,
                              "the gateway's copy is of a history a registry has replaced");
        else if (req.type == ZF_BODY_PING) {
            zf_reg_reply_t reply;
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            reply.text = "gateway";
            reply.has_number = true;
            reply.number = zf_engine_seq (self->engine);
            zf_replier_send (self->replier, identity, &reply);
        } else if (zf_replier_admit (self->replier, identity, req.req_id)) {
            zf_log_info ("snapshot served seq=%" PRId64, zf_engine_seq (self->engine));
            zf_snapreply_send (self->engine, self->replier, identity, req.req_id);
        }
        zmsg_destroy (&msg);
    }
    return 0;
}

//  The serve ROUTER while a request to the registry holds the loop.
static void
s_serve_side (zsock_t *side, void *arg)
{
    s_on_serve (NULL, side, arg);
}

//  Binds the serve ROUTER. Returns 0, or -1 with the reason in the config.
static int
s_open_serve (s_replica_t *self)
{
    self->router = zf_socket_new (ZMQ_ROUTER);
    self->decoder = zf_proto_decoder_new ();
    if (!self->router || !self->decoder) {
        snprintf (self->cfg->error, sizeof self->cfg->error, "out of memory");
        return -1;
    }
    zsock_set_router_mandatory (self->router, 1);
    if (zsock_bind (self->router, "%s", self->cfg->serve) < 0) {
        snprintf (self->cfg->error, sizeof self->cfg->error, "cannot bind --serve %s: %s",
                  self->cfg->serve, zmq_strerror (zmq_errno ()));
        return -1;
    }
    self->replier = zf_replier_new (self->router, ZF_PEER_QUEUE);
    if (!self->replier || zloop_reader (self->loop, self->router, s_on_serve, self) != 0) {
        snprintf (self->cfg->error, sizeof self->cfg->error, "out of memory");
        return -1;
    }
    return 0;
}

//  Opens the follower and the dispatcher subscription. Returns 0 or -1.
static int
s_open (s_replica_t *self)
{
    if (self->cfg->serve && s_open_serve (self) != 0) return -1;
    zf_follow_fns_t fns = {s_follow_event, NULL, s_follow_repaired, s_follow_history, NULL, NULL};
    self->follow = zf_follow_new (self->cfg->registry, self->cfg->timeout_ms, &fns, self);
    if (!self->follow) return -1;
    if (self->router)
        zf_client_set_side (zf_regclient_client (zf_follow_client (self->follow)), self->router,
                            s_serve_side, self);
    zf_follow_subscribe (self->follow, "");
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        zloop_reader (self->loop, zf_evsub_sock (sub), s_on_registry, self);
        zloop_reader (self->loop, (zsock_t *)zf_evsub_monitor (sub), s_on_registry, self);
    }
    if (self->cfg->dispatcher_events) {
        zf_dispfollow_fns_t dfns = {s_dispatcher_event, NULL, s_dispatcher_restart};
        self->dispatcher = zf_dispfollow_new (self->cfg->dispatcher_events, &dfns, self);
        if (!self->dispatcher) return -1;
        zf_dispfollow_subscribe (self->dispatcher, "disp.");
        zf_evsub_t *source = zf_dispfollow_source (self->dispatcher);
        zloop_reader (self->loop, zf_evsub_sock (source), s_on_dispatcher, self);
        zloop_reader (self->loop, (zsock_t *)zf_evsub_monitor (source), s_on_dispatcher, self);
    }
    return 0;
}

void
zf_gw_replica_actor (zsock_t *pipe, void *args)
{
    s_replica_t self = {.cfg = args,
                        .pipe = pipe,
                        .retry_timer = -1,
                        .resend_timer = -1,
                        .retry_ms = ZF_GW_RETRY_MIN_MS};
    self.loop = zloop_new ();
    self.clock = zf_clock_new_real ();
    self.changes = zf_gw_changes_new ();
    self.executors = zf_gw_executors_new ();
    self.dispatched = zf_keytable_new (ZF_KEYTABLE_SHARD);
    int rc = -1;
    if (self.loop && self.clock && self.changes && self.executors && self.dispatched) {
        zf_keytable_set_destructor (self.dispatched, free);
        //  The parent stops the actor with $TERM; signals are the parent's.
        zloop_set_nonstop (self.loop, true);
        rc = s_open (&self);
    } else
        zf_log_error ("the replica cannot start: out of memory");
    self.cfg->failed = rc != 0;
    zsock_signal (pipe, rc == 0 ? 0 : 1);
    if (rc == 0) {
        zloop_reader (self.loop, pipe, s_on_pipe, &self);
        s_report (&self);
        zloop_start (self.loop);
    }
    zloop_destroy (&self.loop);
    zf_follow_destroy (&self.follow);
    zf_dispfollow_destroy (&self.dispatcher);
    zf_replier_destroy (&self.replier);
    zsock_destroy (&self.router);
    zf_proto_decoder_destroy (&self.decoder);
    zf_engine_destroy (&self.engine);
    zf_engine_destroy (&self.restoring);
    zf_gw_delta_destroy (&self.delta);
    zf_gw_changes_destroy (&self.changes);
    zf_gw_executors_destroy (&self.executors);
    zf_keytable_destroy (&self.dispatched);
    zf_clock_destroy (&self.clock);
}
