/*  archiver_internal.h - the archiver actor's state, shared by its files.

    archiver.c   the actor: sockets, the loop, the pump that decides what
                 to do next and arms the one timer
    intake.c     the registry's events into the queue: the follower's
                 callbacks (zf_follow, libs/client, follows and catches
                 up), the snapshots stored (after a gap that cannot be
                 repaired, and periodic ones)
    batch.c      batches to the store, backoff, ARCHIVED acknowledgements,
                 the lag statistics
    serve.c      the ROUTER: recovery SNAPSHOT, EVENTS_SINCE, PING
    status.c     STATUS replies from the store
    retention.c  old journal rows and task logs

    The pure pieces (queue.h, rows.h) know nothing of this struct.

    Sequence numbers the actor keeps, in order:
      acked <= durable <= zf_follow_seq (follow)
      acked    the registry has confirmed ARCHIVED up to here
      durable  every event up to here is in the store (the watermark)
      the follower's seq: every event up to here is durable or queued
*/
#ifndef ZF_ARCHIVER_INTERNAL_H_INCLUDED
#define ZF_ARCHIVER_INTERNAL_H_INCLUDED

#include <czmq.h>
#include "archiver.h"
#include "queue.h"
#include "rows.h"
#include "zf_client.h"
#include "zf_follow.h"
#include "zf_proto.h"
#include "zf_regclient.h"
#include "zf_replier.h"
#include "zf_store.h"

//  Messages read from one socket before the pump runs.
#define ZF_ARCHIVER_READS_PER_TURN 256

//  Full batches written in one turn before other sockets get a look in.
#define ZF_ARCHIVER_BATCHES_PER_TURN 8

//  An acknowledgement not answered within this long is sent again.
#define ZF_ARCHIVER_ACK_RESEND_MS 1000

//  A periodic snapshot the watermark has not reached within this long is
//  dropped (its registry is probably gone) and taken again later.
#define ZF_ARCHIVER_PENDING_MS 60000

//  Lag statistics: one bucket per millisecond up to this, then one more.
#define ZF_ARCHIVER_LAG_BUCKETS 10000

//  A registry snapshot: its parts as EVENTS bodies, and (when its rows are
//  wanted) its records as items.
typedef struct {
    uint64_t seq_at;        //  the seq it holds at
    int64_t taken;          //  wall ms when it arrived
    int64_t arrived;        //  monotonic ms when it arrived
    zf_store_part_t *parts; //  EVENTS bodies, owned
    size_t part_count;      //  entries in parts
    zf_item_t **records;    //  its events, owned, or NULL
    size_t record_count;    //  entries in records
} zf_snap_t;

//  The actor.
typedef struct {
    //  Settings (copied from the configuration)
    uint32_t batch_max;      //  events per transaction
    int64_t batch_wait_ms;   //  longest wait of an event for its batch
    int64_t retention_ms;    //  age past which history goes
    char *log_dir;           //  task logs, or NULL
    uint64_t snapshot_every; //  events between stored snapshots
    int64_t retain_every_ms; //  retention period

    //  Sockets and loop
    zsock_t *pipe;                            //  to the caller
    zsock_t *router;                          //  recovery and history requests
    zf_replier_t *replier;                    //  their replies, bounded per client
    zloop_t *loop;                            //  the reactor
    zf_follow_t *follow;                      //  the registry's events, catching up
    zsock_t *ackers[ZF_CLIENT_MAX_ENDPOINTS]; //  DEALERs that carry ARCHIVED
    int endpoint_count;                       //  registry endpoints
    int wake_timer;                           //  the pump's timer, or -1
    int64_t wake_at;                          //  when it fires (monotonic ms)
    int retain_timer;                         //  retention's timer

    //  Store and queue
    zf_store_t *store;   //  the archive
    zf_queue_t *queue;   //  events on their way to it
    zf_rows_t *rows;     //  the batch being built, and the catalog
    uint64_t history;    //  registry history being archived
    uint64_t durable;    //  the watermark
    uint64_t acked;      //  ARCHIVED confirmed by the registry
    uint64_t ack_sent;   //  ARCHIVED last sent
    int64_t ack_sent_at; //  when (monotonic ms)
    bool ack_unsent;     //  the last ARCHIVED found no registry to take it (logged once)
    int64_t backoff_ms;  //  the next wait after a failed batch
    int64_t retry_at;    //  no batch before this (monotonic ms)
    bool store_failing;  //  the last batch failed

    //  Snapshots
    bool synced;               //  caught up at least once
    bool snapshot_taken;       //  a snapshot was stored since the start
    int64_t snapshot_retry_at; //  the periodic snapshot failed: next try
    uint64_t since_snapshot;   //  events made durable since the last snapshot stored
    zf_snap_t *pending;        //  a periodic snapshot waiting for the watermark
    zf_snap_t *collecting;     //  the snapshot being fetched, or NULL
    bool collect_records;      //  keep its events as records too

    //  Codecs
    zf_proto_decoder_t *req_decoder; //  requests on the ROUTER, replies to ARCHIVED
    zf_proto_encoder_t *encoder;     //  items, replies, requests

    //  Retention
    void *retention; //  retention.c's walk of the log folder

    //  Counters
    uint64_t received;     //  events taken from the registry
    uint64_t written;      //  events made durable
    uint64_t batches;      //  transactions committed
    uint64_t failures;     //  batches that failed
    uint64_t fallbacks;    //  snapshots taken because a gap could not be repaired
    uint64_t snapshots;    //  snapshots stored
    uint64_t dropped;      //  live events refused while the queue was full (and
                           //  zf_follow_dropped: messages dropped unread)
    uint64_t requests;     //  requests answered on the ROUTER
    uint64_t bad_requests; //  requests that did not decode or are not served
    uint64_t lag[ZF_ARCHIVER_LAG_BUCKETS + 1]; //  events by ms of lag
    uint64_t lag_count;                        //  events counted in lag
    int64_t lag_max;                           //  the largest lag seen
} zf_archiver_t;

//  ---------------------------------------------------------------------------
//  archiver.c

//  Does what is due (batches, catching up, snapshots, acknowledgements)
//  and arms the timer for what comes next. Every handler ends with it.
void zf_archiver_pump (zf_archiver_t *self);

//  ---------------------------------------------------------------------------
//  intake.c

//  Makes the follower of the registry at endpoints (cfg->registry), and
//  resumes it from the watermark and what the store knows of its event.
int zf_intake_start (zf_archiver_t *self, const char *endpoints, char *error, size_t size);

//  zloop readers: events on a SUB, connection events on its monitor.
int zf_intake_on_sub (zloop_t *loop, zsock_t *reader, void *arg);
int zf_intake_on_monitor (zloop_t *loop, zsock_t *reader, void *arg);

//  Takes every event already received (a registry that died may have
//  published them just before) and writes out the queue. Returns 0, or -1
//  if the store failed.
int zf_intake_drain (zf_archiver_t *self);

//  One round of catching up (or the snapshot that replaces it).
void zf_intake_catch_up (zf_archiver_t *self);

//  Asks for a periodic snapshot, to be stored once the watermark reaches it.
void zf_intake_periodic (zf_archiver_t *self);

//  Destroys a snapshot; idempotent.
void zf_snap_destroy (zf_snap_t **self_p);

//  ---------------------------------------------------------------------------
//  batch.c

//  Writes one batch from the head of the queue. Returns 0, or -1 if the
//  store failed (the events stay queued, the backoff grows).
int zf_batch_commit (zf_archiver_t *self);

//  Writes every queued event. Returns 0 or -1.
int zf_batch_flush (zf_archiver_t *self);

//  Writes a snapshot: with rows (records) and the watermark moved to it
//  (after a gap that could not be repaired; in a new history with
//  new_history), or alone once the watermark has reached it. Returns 0 or -1.
int zf_batch_snapshot (zf_archiver_t *self, zf_snap_t *snap, bool with_rows, bool new_history);

//  Sends ARCHIVED for the watermark if the registry has not got it.
void zf_batch_ack (zf_archiver_t *self);

//  zloop reader: replies to ARCHIVED.
int zf_batch_on_ack (zloop_t *loop, zsock_t *reader, void *arg);

//  The lag statistics: p50, p99, max in ms and the count; then resets them.
void zf_batch_lag (zf_archiver_t *self, int64_t *p50, int64_t *p99, int64_t *max, uint64_t *count);

//  ---------------------------------------------------------------------------
//  serve.c, status.c

//  zloop reader: requests on the ROUTER.
int zf_serve_on_router (zloop_t *loop, zsock_t *reader, void *arg);

//  Replies go out through self->replier (zf_replier, libs/client).

//  Answers STATUS for one flow (and date) from the store.
void zf_status_reply (zf_archiver_t *self, zframe_t *identity, const zf_reg_request_t *req);

//  ---------------------------------------------------------------------------
//  retention.c

//  Sets up retention (the log folder walk); 0 or -1.
int zf_retention_start (zf_archiver_t *self);
void zf_retention_stop (zf_archiver_t *self);

//  One bounded step: a journal transaction and a slice of the log folder.
//  Adds what it deleted to *rows and *files; returns true if more is left.
bool zf_retention_step (zf_archiver_t *self, uint64_t *rows, uint64_t *files);

//  zloop timer: runs a step, and again soon while there is more.
int zf_retention_on_timer (zloop_t *loop, int timer_id, void *arg);

#endif
