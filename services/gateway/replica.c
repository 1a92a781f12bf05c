/*  replica.c - the registry follower: snapshot, events, views, requests. */
#include "replica.h"
#include "executors.h"
#include "views.h"
#include "wsmsg.h"
#include "zf_common.h"
#include "zf_engine.h"
#include "zf_evsub.h"
#include "zf_follow.h"
#include "zf_proto.h"
#include "zf_seqtrack.h"

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
    bool need_snapshot;           //  take a snapshot once this message is handled
    bool lost;                    //  a delta was dropped: nothing more until RESEND
    int retry_timer;              //  zloop timer of the next snapshot attempt, or -1
    int retry_ms;                 //  the wait before the attempt after it
    zf_gw_changes_t *changes;     //  what this batch of events changed
    zf_gw_delta_t *delta;         //  this batch's delta (errors so far), or NULL
    zf_gw_executors_t *executors; //  the executors table
    zf_evsub_t *dispatcher;       //  the dispatcher's events, or NULL
    zf_seqtrack_t dispatcher_seq; //  their numbers, to see a restart
    zf_proto_decoder_t *dec;      //  DISP_EVENTS bodies
    zf_keytable_t *dispatched;    //  shard or whole task -> int64_t time dispatched
} s_replica_t;

static int s_on_retry (zloop_t *loop, int timer_id, void *arg);

//  ---------------------------------------------------------------------------
//  Dispatch latency: dispatched event to running event of the same shard

//  Remembers when a shard (or a whole task) was dispatched. Out of memory,
//  its latency is not measured.
static void
s_dispatched (s_replica_t *self, const zf_event_t *event)
{
    if (zf_keytable_size (self->dispatched) >= S_MAX_DISPATCHED)
        zf_keytable_purge (self->dispatched);
    zf_task_key_t key = {event->flow, event->date, event->task, event->shard, 0};
    int64_t *time = malloc (sizeof *time);
    if (!time) return;
    *time = event->time;
    if (zf_keytable_update (self->dispatched, &key, time) != 0) free (time);
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
        assert (before);
        for (uint32_t i = 0; i < task.shard_count; i++) {
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

//  The delta of this batch, made on first use.
static zf_gw_delta_t *
s_delta (s_replica_t *self)
{
    if (!self->delta) {
        self->delta = zf_gw_delta_new ();
        assert (self->delta);
    }
    return self->delta;
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
    case ZF_EV_ERROR: {
        rc = zf_engine_apply (engine, event);
        zf_gw_delta_t *delta = s_delta (self);
        zf_gw_delta_begin (delta, ZF_GW_OP_ERROR, NULL, 0, 0, 0, false);
        zf_gw_view_error (zf_gw_delta_pk (delta), event->time, event->executor, event->detail);
        zf_gw_delta_end (delta);
        break;
    }
    default:
        rc = zf_engine_apply (engine, event);
        break;
    }
    if (rc == 0) zf_gw_changes_event (self->changes, engine, event, existed);
    if (rc != 0) {
        //  The replica no longer matches the registry: start again from a snapshot.
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
    delta->synced = self->synced;
    delta->seq = self->engine ? zf_engine_seq (self->engine) : 0;
    delta->epoch = self->engine ? zf_engine_epoch (self->engine) : 0;
    if (zf_gw_handover_push_delta (self->cfg->handover, delta_p, force) != 0) {
        //  The web thread is far behind: send nothing more until it asks
        //  for everything (RESEND), so it never applies a later delta
        //  without the one that was dropped.
        zf_log_warn ("views dropped, the web thread is behind limit=ZF_GW_MAX_HANDOVER");
        self->lost = true;
    }
    *delta_p = NULL;
}

//  After a batch: hands over the views of what changed.
static void
s_flush (s_replica_t *self)
{
    bool views = self->engine && self->synced && !self->need_snapshot;
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
    zf_gw_delta_destroy (&self->delta);
    zf_gw_changes_clear (self->changes);
    zf_gw_delta_t *delta = zf_gw_delta_new ();
    assert (delta);
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
    assert (self->restoring);
    zf_engine_restore_begin (self->restoring);
    self->restore_failed = false;
    zf_gw_changes_reset (self->changes);
    uint64_t seq_at = 0;
    char why[400] = "";
    int rc = zf_follow_snapshot (self->follow, &seq_at, why, sizeof why);
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
        zf_log_warn ("no snapshot, trying again registry=%s reason=\"%s\"", self->cfg->registry,
                     why);
        zf_engine_destroy (&self->restoring);
        //  The successes held were the old engine's and were dropped: its
        //  views may miss confirmations until the next snapshot.
        bool was = self->synced;
        self->synced = false;
        if (was) {
            zf_gw_delta_t *delta = zf_gw_delta_new ();
            assert (delta);
            s_push (self, &delta, true);
        }
        s_report (self);
        s_retry_later (self);
        return;
    }
    zf_engine_destroy (&self->engine);
    self->engine = self->restoring;
    self->restoring = NULL;
    self->synced = true;
    self->retry_ms = ZF_GW_RETRY_MIN_MS;
    zf_gw_changes_snapshot_end (self->changes);
    zf_keytable_purge (self->dispatched);
    zf_gw_executors_clear_running (self->executors);
    zf_engine_flows (self->engine, s_count_flow, self);
    zf_log_info ("snapshot taken registry=%s seq=%" PRIu64, self->cfg->registry, seq_at);
    s_send_all (self);
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

//  One event from the follower: a snapshot item or a live one.
static void
s_follow_event (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    s_replica_t *self = arg;
    if (origin != ZF_FOLLOW_SNAPSHOT) {
        s_apply (self, event);
        return;
    }
    if (!self->restoring || self->restore_failed) return;
    if (zf_engine_apply (self->restoring, event) != 0) {
        self->restore_failed = true;
        return;
    }
    zf_gw_changes_snapshot_item (self->changes, self->restoring, event);
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
    if (frame) zf_gw_handover_push_frame (self->cfg->handover, req->client, &frame);
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
} s_history_t;

//  Collects one run.
static void
s_history_run (const zf_engine_run_info_t *run, void *arg)
{
    s_history_t *history = arg;
    if (history->count == history->cap) {
        size_t cap = history->cap ? history->cap * 2 : 64;
        zf_engine_run_info_t *runs = realloc (history->runs, cap * sizeof *runs);
        assert (runs);
        history->runs = runs;
        history->cap = cap;
    }
    history->runs[history->count++] = *run;
}

//  The dates held of a flow, newest first.
static void
s_history (s_replica_t *self, const zf_gw_request_t *req)
{
    s_history_t history = {NULL, 0, 0};
    if (!self->engine || zf_engine_runs (self->engine, req->flow, s_history_run, &history) != 0) {
        s_refuse (self, req, "no such flow");
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

//  The pipe: requests, RESEND, $TERM.
static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    s_replica_t *self = arg;
    zmsg_t *msg = zmsg_recv (pipe);
    if (!msg) return -1;
    char *command = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
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
    }
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

//  The dispatcher's SUB socket or monitor.
static int
s_on_dispatcher (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_replica_t *self = arg;
    if (sock == (zsock_t *)zf_evsub_monitor (self->dispatcher)) {
        zf_evsub_on_monitor (self->dispatcher);
        return 0;
    }
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg) return 0;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    const zf_dispevent_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (!topic || !body || zmsg_size (msg) != 0)
        snprintf (err.text, sizeof err.text, "not [topic][body]");
    if (*err.text || zf_dispevent_decode (self->dec, zframe_data (body), zframe_size (body),
                                          &events, &count, &err) != 0)
        zf_log_warn ("dispatcher events did not decode topic=%s reason=%s", topic ? topic : "-",
                     err.text);
    else
        for (size_t i = 0; i < count; i++) {
            if (zf_seqtrack_check (&self->dispatcher_seq, events[i].seq, NULL, NULL) ==
                ZF_SEQ_OLD) {
                //  Numbers go back: a new dispatcher, which knows no executor yet.
                zf_seqtrack_reset (&self->dispatcher_seq, events[i].seq);
                zf_gw_executors_restart (self->executors, events[i].time);
            }
            zf_gw_executors_event (self->executors, &events[i]);
        }
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    s_flush (self);
    return 0;
}

//  Opens the follower and the dispatcher subscription. Returns 0 or -1.
static int
s_open (s_replica_t *self)
{
    zf_follow_fns_t fns = {s_follow_event, NULL, s_follow_repaired, s_follow_history};
    self->follow = zf_follow_new (self->cfg->registry, self->cfg->timeout_ms, &fns, self);
    if (!self->follow) return -1;
    zf_follow_subscribe (self->follow, "");
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        zloop_reader (self->loop, zf_evsub_sock (sub), s_on_registry, self);
        zloop_reader (self->loop, (zsock_t *)zf_evsub_monitor (sub), s_on_registry, self);
    }
    if (self->cfg->dispatcher_events) {
        self->dispatcher = zf_evsub_new (self->cfg->dispatcher_events);
        if (!self->dispatcher) return -1;
        zf_evsub_subscribe (self->dispatcher, "disp.");
        zloop_reader (self->loop, zf_evsub_sock (self->dispatcher), s_on_dispatcher, self);
        zloop_reader (self->loop, (zsock_t *)zf_evsub_monitor (self->dispatcher), s_on_dispatcher,
                      self);
    }
    return 0;
}

void
zf_gw_replica_actor (zsock_t *pipe, void *args)
{
    s_replica_t self = {
        .cfg = args, .pipe = pipe, .retry_timer = -1, .retry_ms = ZF_GW_RETRY_MIN_MS};
    self.loop = zloop_new ();
    self.clock = zf_clock_new_real ();
    self.changes = zf_gw_changes_new ();
    self.executors = zf_gw_executors_new ();
    self.dec = zf_proto_decoder_new ();
    self.dispatched = zf_keytable_new (ZF_KEYTABLE_SHARD);
    assert (self.loop && self.clock && self.changes && self.executors && self.dec &&
            self.dispatched);
    zf_keytable_set_destructor (self.dispatched, free);
    //  The parent stops the actor with $TERM; signals are the parent's.
    zloop_set_nonstop (self.loop, true);
    int rc = s_open (&self);
    self.cfg->failed = rc != 0;
    zsock_signal (pipe, rc == 0 ? 0 : 1);
    if (rc == 0) {
        zloop_reader (self.loop, pipe, s_on_pipe, &self);
        s_report (&self);
        zloop_start (self.loop);
    }
    zloop_destroy (&self.loop);
    zf_follow_destroy (&self.follow);
    zf_evsub_destroy (&self.dispatcher);
    zf_engine_destroy (&self.engine);
    zf_engine_destroy (&self.restoring);
    zf_gw_delta_destroy (&self.delta);
    zf_gw_changes_destroy (&self.changes);
    zf_gw_executors_destroy (&self.executors);
    zf_proto_decoder_destroy (&self.dec);
    zf_keytable_destroy (&self.dispatched);
    zf_clock_destroy (&self.clock);
}
