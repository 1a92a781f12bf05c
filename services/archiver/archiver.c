/*  archiver.c - the archiver actor: sockets, the loop, the pump.

    Every handler (events, connection events, requests, replies to
    ARCHIVED, timers, the pipe) does its own work and then runs the pump,
    which does what has become due in a fixed order and arms one timer for
    the earliest thing still ahead:

      1. batches: full ones at once, a partial one when its oldest event
         has waited batch_wait (never during a store backoff)
      2. catching up with the registry, one round per turn, once the
         queue is written out (or the snapshot that replaces it)
      3. a periodic snapshot, when due and caught up (less than a batch
         waiting)
      4. ARCHIVED for the watermark, if the registry has not got it

    Nothing polls: with nothing queued, nothing to catch up and nothing
    unacknowledged the loop sleeps until a message comes.
*/
#include "archiver_internal.h"
#include "zf_socket.h"
#include "zf_log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Socket buffers, in messages.
#define S_HWM 100000

//  Steps of a retention pass run for "RETAIN", at most.
#define S_RETAIN_STEPS 1000000

void
zf_archiver_config_defaults (zf_archiver_config_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof *cfg);
    cfg->registry = ZF_CLIENT_DEFAULT_ENDPOINT;
    cfg->store = "sqlite:./var/zflow.db";
    cfg->bind = "tcp://127.0.0.1:5574";
    cfg->batch = 1000;
    cfg->batch_wait_ms = 0;
    cfg->retention_ms = 30LL * 24 * 3600 * 1000;
    cfg->snapshot_every = 100000;
    cfg->retain_every_ms = ZF_ARCHIVER_RETAIN_EVERY_MS;
    cfg->queue_events = ZF_ARCHIVER_QUEUE_EVENTS;
}

//  ---------------------------------------------------------------------------
//  The pump

static int s_on_wake (zloop_t *loop, int timer_id, void *arg);

//  Arms the pump's timer for at (monotonic ms) unless it fires earlier.
static void
s_wake (zf_archiver_t *self, int64_t at)
{
    if (at == INT64_MAX) return;
    if (self->wake_timer >= 0 && self->wake_at <= at) return;
    if (self->wake_timer >= 0) zloop_timer_end (self->loop, self->wake_timer);
    int64_t delay = at - zclock_mono ();
    if (delay < 0) delay = 0;
    self->wake_timer = zloop_timer (self->loop, (size_t)delay, 1, s_on_wake, self);
    self->wake_at = at;
}

static int
s_on_wake (zloop_t *loop, int timer_id, void *arg)
{
    zf_archiver_t *self = arg;
    self->wake_timer = -1;
    zf_archiver_pump (self);
    return 0;
}

//  The earlier of two times.
static int64_t
s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

void
zf_archiver_pump (zf_archiver_t *self)
{
    int64_t now = zclock_mono ();
    int64_t next = INT64_MAX;
    //  1. Batches.
    if (now >= self->retry_at) {
        for (int i = 0;
             i < ZF_ARCHIVER_BATCHES_PER_TURN && zf_queue_count (self->queue) >= self->batch_max;
             i++)
            if (zf_batch_commit (self) != 0) break;
        const zf_item_t *oldest = zf_queue_at (self->queue, 0);
        if (oldest && now >= self->retry_at) {
            if (zf_queue_count (self->queue) >= self->batch_max)
                next = now;
            else if (oldest->arrived + self->batch_wait_ms <= now)
                zf_batch_commit (self);
            else
                next = oldest->arrived + self->batch_wait_ms;
        }
    }
    if (self->retry_at > now) next = s_min (next, self->retry_at);
    //  2. Catching up, once what is queued has gone out.
    bool behind = zf_follow_behind (self->follow);
    if (behind && zf_queue_count (self->queue) < self->batch_max && now >= self->retry_at) {
        if (now >= zf_follow_due (self->follow)) zf_intake_catch_up (self);
        behind = zf_follow_behind (self->follow);
        if (behind) {
            int64_t due = zf_follow_due (self->follow);
            next = s_min (next, due > now ? due : now);
        }
        if (zf_queue_count (self->queue) > 0) next = s_min (next, now + self->batch_wait_ms);
    }
    //  3. A periodic snapshot.
    if (self->pending && now - self->pending->arrived > ZF_ARCHIVER_PENDING_MS)
        zf_snap_destroy (&self->pending);
    if (!behind && self->synced && !self->pending &&
        zf_queue_count (self->queue) < self->batch_max && now >= self->retry_at &&
        now >= self->snapshot_retry_at &&
        (!self->snapshot_taken || self->since_snapshot >= self->snapshot_every))
        zf_intake_periodic (self);
    if (self->snapshot_retry_at > now && !zf_follow_behind (self->follow))
        next = s_min (next, self->snapshot_retry_at);
    //  4. Acknowledgements.
    zf_batch_ack (self);
    if (self->ack_sent > self->acked || self->ack_sent < self->durable)
        next =
            s_min (next, (self->ack_sent_at ? self->ack_sent_at : now) + ZF_ARCHIVER_ACK_RESEND_MS);
    s_wake (self, next);
}

//  ---------------------------------------------------------------------------
//  The pipe

//  STATS: the counters, by name (docs/ARCHITECTURE.md lists them).
static void
s_send_stats (zf_archiver_t *self, zsock_t *pipe)
{
    zf_fields_t *stats = zf_fields_new ();
    zf_fields_add (stats, "received", self->received);
    zf_fields_add (stats, "written", self->written);
    zf_fields_add (stats, "batches", self->batches);
    zf_fields_add (stats, "failures", self->failures);
    zf_fields_add (stats, "durable", self->durable);
    zf_fields_add (stats, "acked", self->acked);
    zf_fields_add (stats, "repairs", zf_follow_repairs (self->follow));
    zf_fields_add (stats, "fallbacks", self->fallbacks);
    zf_fields_add (stats, "snapshots", self->snapshots);
    zf_fields_add (stats, "dropped", self->dropped + zf_follow_dropped (self->follow));
    zf_fields_add (stats, "bad_bodies", zf_follow_bad_messages (self->follow));
    zf_fields_add (stats, "requests", self->requests);
    zf_fields_add (stats, "bad_requests", self->bad_requests);
    zf_replier_add_stats (self->replier, stats);
    zf_fields_add (stats, "history", self->history);
    zf_fields_add (stats, "queued", zf_queue_count (self->queue));
    zf_fields_send (&stats, pipe);
}

static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    char *command = zstr_recv (reader);
    if (!command) return -1;
    int rc = 0;
    if (streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (reader, zsock_endpoint (self->router), NULL);
    else if (streq (command, ZF_PIPE_STATS))
        s_send_stats (self, reader);
    else if (streq (command, "LAG")) {
        int64_t p50, p99, max;
        uint64_t count;
        zf_batch_lag (self, &p50, &p99, &max, &count);
        zf_fields_t *lag = zf_fields_new ();
        zf_fields_add (lag, "p50_ms", (uint64_t)p50);
        zf_fields_add (lag, "p99_ms", (uint64_t)p99);
        zf_fields_add (lag, "max_ms", (uint64_t)max);
        zf_fields_add (lag, "count", count);
        zf_fields_send (&lag, reader);
    } else if (streq (command, "RETAIN")) {
        uint64_t rows = 0, files = 0;
        for (int i = 0; i < S_RETAIN_STEPS && zf_retention_step (self, &rows, &files); i++)
            ;
        zf_fields_t *retained = zf_fields_new ();
        zf_fields_add (retained, "rows", rows);
        zf_fields_add (retained, "files", files);
        zf_fields_send (&retained, reader);
    } else
        zf_pipe_unknown ("archiver", command);
    zstr_free (&command);
    if (rc == 0) zf_archiver_pump (self);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Set-up

//  Frees what the actor made.
static void
s_teardown (zf_archiver_t *self)
{
    zf_retention_stop (self);
    zloop_destroy (&self->loop);
    for (int i = 0; i < ZF_CLIENT_MAX_ENDPOINTS; i++)
        zsock_destroy (&self->ackers[i]);
    zf_follow_destroy (&self->follow);
    zf_replier_destroy (&self->replier);
    zsock_destroy (&self->router);
    zf_snap_destroy (&self->pending);
    zf_rows_destroy (&self->rows);
    zf_queue_destroy (&self->queue);
    zf_store_destroy (&self->store);
    zf_proto_decoder_destroy (&self->req_decoder);
    zf_proto_encoder_destroy (&self->encoder);
    free (self->log_dir);
}

//  Connects the ARCHIVED DEALER of each registry endpoint.
static int
s_connect_ackers (zf_archiver_t *self, zf_archiver_config_t *cfg)
{
    char *list = strdup (cfg->registry);
    if (!list) return -1;
    char *save = NULL;
    int count = zf_follow_source_count (self->follow);
    for (char *item = strtok_r (list, ",", &save); item && self->endpoint_count < count;
         item = strtok_r (NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        int i = self->endpoint_count;
        self->ackers[i] = zf_socket_new (ZMQ_DEALER);
        if (!self->ackers[i]) {
            free (list);
            return -1;
        }
        //  Acknowledgements go only over a live connection; a registry that
        //  is away gets the next one.
        zsock_set_immediate (self->ackers[i], 1);
        //  A reply polled as ready goes with its connection when the
        //  registry does (ZMQ_IMMEDIATE drops such a pipe with what it
        //  holds): reading never waits, or the loop would wait for ever.
        zsock_set_rcvtimeo (self->ackers[i], 0);
        zsock_set_sndhwm (self->ackers[i], 1000);
        if (zsock_connect (self->ackers[i], "%s", item) != 0) {
            snprintf (cfg->error, sizeof cfg->error, "cannot connect to %s", item);
            free (list);
            return -1;
        }
        self->endpoint_count++;
    }
    free (list);
    return 0;
}

//  Copies the settings and makes everything but the loop. 0 or -1.
static int
s_setup (zf_archiver_t *self, zf_archiver_config_t *cfg)
{
    self->batch_max = cfg->batch ? cfg->batch : 1000;
    self->batch_wait_ms = cfg->batch_wait_ms >= 0 ? cfg->batch_wait_ms : 0;
    self->retention_ms = cfg->retention_ms > 0 ? cfg->retention_ms : 30LL * 24 * 3600 * 1000;
    self->snapshot_every = cfg->snapshot_every ? cfg->snapshot_every : 100000;
    self->retain_every_ms =
        cfg->retain_every_ms > 0 ? cfg->retain_every_ms : ZF_ARCHIVER_RETAIN_EVERY_MS;
    self->log_dir = cfg->log_dir ? strdup (cfg->log_dir) : NULL;
    self->backoff_ms = ZF_ARCHIVER_BACKOFF_MIN_MS;
    self->wake_timer = self->retain_timer = -1;
    self->store = zf_store_open (cfg->store, cfg->error, sizeof cfg->error);
    if (!self->store) return -1;
    self->queue = zf_queue_new (cfg->queue_events ? cfg->queue_events : ZF_ARCHIVER_QUEUE_EVENTS,
                                ZF_ARCHIVER_QUEUE_BYTES);
    self->rows = zf_rows_new (self->store);
    self->req_decoder = zf_proto_decoder_new ();
    self->encoder = zf_proto_encoder_new ();
    if (!self->queue || !self->rows || !self->req_decoder || !self->encoder ||
        zf_retention_start (self) != 0 || (cfg->log_dir && !self->log_dir)) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    if (zf_intake_start (self, cfg->registry, cfg->error, sizeof cfg->error) != 0) return -1;
    self->router = zf_socket_new (ZMQ_ROUTER);
    if (!self->router) {
        snprintf (cfg->error, sizeof cfg->error, "cannot make a socket");
        return -1;
    }
    zsock_set_sndhwm (self->router, S_HWM);
    zsock_set_rcvhwm (self->router, S_HWM);
    zsock_set_router_mandatory (self->router, 1);
    self->replier = zf_replier_new (self->router, ZF_PEER_QUEUE);
    if (!self->replier) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    if (zsock_bind (self->router, "%s", cfg->bind) < 0) {
        snprintf (cfg->error, sizeof cfg->error, "cannot bind %s: %s", cfg->bind,
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (s_connect_ackers (self, cfg) != 0) {
        if (!cfg->error[0]) snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    self->loop = zloop_new ();
    if (!self->loop) {
        snprintf (cfg->error, sizeof cfg->error, "out of memory");
        return -1;
    }
    return 0;
}

void
zf_archiver_actor (zsock_t *pipe, void *args)
{
    zf_archiver_config_t *cfg = args;
    assert (cfg);
    cfg->error[0] = 0;
    zf_archiver_t self;
    memset (&self, 0, sizeof self);
    self.pipe = pipe;
    if (s_setup (&self, cfg) != 0) {
        s_teardown (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zloop_set_nonstop (self.loop, true);
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    zloop_reader (self.loop, self.router, zf_serve_on_router, &self);
    for (int i = 0; i < zf_follow_source_count (self.follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self.follow, i);
        zloop_reader (self.loop, zf_evsub_sock (sub), zf_intake_on_sub, &self);
        zloop_reader (self.loop, (zsock_t *)zf_evsub_monitor (sub), zf_intake_on_monitor, &self);
    }
    for (int i = 0; i < self.endpoint_count; i++)
        zloop_reader (self.loop, self.ackers[i], zf_batch_on_ack, &self);
    self.retain_timer =
        zloop_timer (self.loop, (size_t)self.retain_every_ms, 1, zf_retention_on_timer, &self);
    zf_log_info ("archiver ready bind=%s registry=%s store=%s durable=%llu history=%llu",
                 zsock_endpoint (self.router), cfg->registry, zf_store_kind (self.store),
                 (unsigned long long)self.durable, (unsigned long long)self.history);
    zsock_signal (pipe, 0);
    zloop_start (self.loop);
    //  What is queued goes out before the end, if the store lets it.
    if (zf_queue_count (self.queue) && zf_batch_flush (&self) == 0) zf_batch_ack (&self);
    s_teardown (&self);
}
